// Comparing reports: growth in tiers at full scale, medians of repeats, and `cellbudget compare`,
// which exits 1 when nothing matches or a scale changed and 2 on a report that is nonsense.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareReports, medianRuns, type Tier } from '../../../harness/report/compare.js';
import type { Report } from '../../../src/core/report.js';
import { main } from '../../../src/cli/main.js';
import { MAIN, reproject, sampleReport, scaleRun } from '../../helpers/report-fixtures.js';
import { capture, runCli as cli } from '../../helpers/cli.js';

describe('compare and median', () => {
  const tierOf = (factor: number, opts = { warn: 0.05, fail: 0.1 }): Tier => {
    const base = sampleReport();
    const next = scaleRun(base, MAIN, 'sequential', factor);
    const row = compareReports(base, next, opts).rows.find((x) => x.scenario === MAIN && x.strategy === 'sequential');
    return row?.tier ?? 'ok';
  };

  it('puts peak/final growth into ok, warn and fail tiers, and drops into improved', () => {
    expect(tierOf(1.03)).toBe('ok');
    expect(tierOf(1.07)).toBe('warn');
    expect(tierOf(1.12)).toBe('fail');
    expect(tierOf(0.9)).toBe('improved');
    expect(tierOf(1.07, { warn: 0.1, fail: 0.2 })).toBe('ok');
  });

  it('compares at full scale, refuses to compare across scales, ignores sub-threshold noise, and flags runs that die', () => {
    const base = sampleReport();
    // Measured ÷ scale at another scale differs by the fixed runtime cost ÷ scale: no comparison.
    const rescaled = structuredClone(base);
    for (const r of rescaled.runs) {
      r.scale *= 2;
      r.peak_bytes *= 2;
      r.final_bytes *= 2;
    }
    const across = compareReports(base, rescaled, { warn: 0.05, fail: 0.1 });
    expect(across.rows.filter((r) => r.note?.includes('scale changed')).length).toBe(base.runs.length - 1); // all but the run that died in both
    expect(across.problems.join(' ')).toMatch(/another scale than their baseline/);
    const same = compareReports(base, structuredClone(base), { warn: 0.05, fail: 0.1 });
    expect(same.failures).toBe(1); // only the run that died in both
    expect(same.rows.filter((r) => r.peak).every((r) => Math.abs(r.peak?.ratio ?? 1) < 1e-12)).toBe(true);

    const tiny = structuredClone(base);
    const t = tiny.runs.find((r) => r.scenario === MAIN && r.strategy === 'streaming');
    if (!t) throw new Error('fixture');
    t.final_bytes += 500_000; // +0.5 MB measured: noise under the default 1 MB floor
    for (const g of t.ladder?.rungs ?? []) g.final_bytes += 500_000 * (g.scale / t.scale);
    tiny.runs = tiny.runs.map((r) => (r === t ? reproject(r) : r));
    expect(compareReports(base, tiny).rows.find((r) => r.scenario === MAIN && r.strategy === 'streaming')?.final?.tier).toBe('ok');
    expect(
      compareReports(base, tiny, { warn: 0.001, fail: 0.002, min_delta_bytes: 0 }).rows.find(
        (r) => r.scenario === MAIN && r.strategy === 'streaming',
      )?.final?.tier,
    ).toBe('fail');

    const died = structuredClone(base);
    const d = died.runs.find((r) => r.scenario === MAIN && r.strategy === 'eager');
    if (!d) throw new Error('fixture');
    d.status = 'died';
    const c = compareReports(base, died);
    expect(c.rows.find((r) => r.scenario === MAIN && r.strategy === 'eager')).toMatchObject({
      tier: 'fail',
      note: expect.stringContaining('died'),
    });

    const fewer = structuredClone(base);
    fewer.runs = fewer.runs.filter((r) => r.strategy !== 'streaming');
    expect(compareReports(base, fewer).rows.find((r) => r.strategy === 'streaming')).toMatchObject({ presence: 'base-only', tier: 'warn' });
    expect(compareReports(fewer, base).rows.find((r) => r.strategy === 'streaming')).toMatchObject({ presence: 'next-only', tier: 'ok' });
  });

  it('merges repeated runs by the median and re-checks budgets on it', () => {
    const a = sampleReport();
    const b = scaleRun(a, MAIN, 'sequential', 1.3);
    const c = scaleRun(a, MAIN, 'sequential', 0.9);
    const m = medianRuns([b, a, c]);
    const seq = m.runs.find((r) => r.scenario === MAIN && r.strategy === 'sequential');
    const orig = a.runs.find((r) => r.scenario === MAIN && r.strategy === 'sequential');
    expect(seq?.peak_bytes).toBe(orig?.peak_bytes);
    expect(seq?.steps[5]?.peak_bytes).toBe(orig?.steps[5]?.peak_bytes);
    expect(seq?.budgets.find((x) => x.metric === 'peak')).toMatchObject({ ok: true, message: expect.stringContaining('median of 3 runs') });
    // Three runs over budget and close together: exceeded. Two of three over, one far below: the
    // median is over budget, but the runs' spread is noise the interval carries, so it is uncertain.
    const over = medianRuns([
      scaleRun(a, MAIN, 'sequential', 1.3),
      scaleRun(a, MAIN, 'sequential', 1.28),
      scaleRun(a, MAIN, 'sequential', 1.29),
    ]);
    expect(
      over.runs.find((r) => r.scenario === MAIN && r.strategy === 'sequential')?.budgets.find((x) => x.metric === 'peak'),
    ).toMatchObject({ ok: false, verdict: 'exceeded' });
    const spread = medianRuns([scaleRun(a, MAIN, 'sequential', 1.3), scaleRun(a, MAIN, 'sequential', 1.25), a]);
    const sp = spread.runs.find((r) => r.scenario === MAIN && r.strategy === 'sequential');
    expect(sp?.projected?.peak_bytes).toBeCloseTo(1.25 * 332e9, -6);
    expect(sp?.budgets.find((x) => x.metric === 'peak')).toMatchObject({ ok: true, verdict: 'uncertain' });
    // A death is never averaged away.
    const dead = structuredClone(a);
    const d = dead.runs.find((r) => r.scenario === MAIN && r.strategy === 'streaming');
    if (d) d.status = 'died';
    const md = medianRuns([a, dead, a]).runs.find((r) => r.scenario === MAIN && r.strategy === 'streaming');
    expect(md?.status).toBe('died');
    expect(md?.failure?.reason).toContain('(1 of 3 runs)');
  });
});

describe('cellbudget compare', () => {
  let dir: string;
  let basePath: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-compare-'));
    basePath = join(dir, 'base.json');
    await writeFile(basePath, JSON.stringify(sampleReport()));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const write = async (name: string, r: Report | string): Promise<string> => {
    const p = join(dir, name);
    await writeFile(p, typeof r === 'string' ? r : JSON.stringify(r));
    return p;
  };

  it('exits 0 within thresholds, 1 on a fail-tier regression, and prints a table', async () => {
    const ok = await write('ok.json', scaleRun(sampleReport(), MAIN, 'sequential', 1.07));
    const cap = capture();
    // The died run in the family fails in both; compare only the main scenario's runs.
    const only = (r: Report): Report => ({ ...r, runs: r.runs.filter((x) => x.scenario === MAIN) });
    await writeFile(basePath, JSON.stringify(only(sampleReport())));
    await writeFile(ok, JSON.stringify(only(scaleRun(sampleReport(), MAIN, 'sequential', 1.07))));
    expect(await main(['node', 'cellbudget', 'compare', basePath, ok], cap.io)).toBe(0);
    expect(cap.out()).toMatch(/sequential\s+332 GB ±[\d.]+% → 355\.2\d GB ±[\d.]+% \(\+7\.0%\)/);
    expect(cap.out()).toContain('WARN');

    const bad = await write('bad.json', only(scaleRun(sampleReport(), MAIN, 'sequential', 1.12)));
    const cap2 = capture();
    expect(await main(['node', 'cellbudget', 'compare', basePath, bad], cap2.io)).toBe(1);
    expect(cap2.out()).toContain('FAIL');
    const cap3 = capture();
    expect(await main(['node', 'cellbudget', 'compare', basePath, bad, '--fail', '15%', '--warn', '5%'], cap3.io)).toBe(0);

    const cap4 = capture();
    expect(await main(['node', 'cellbudget', 'compare', basePath, bad, '--json'], cap4.io)).toBe(1);
    const json = JSON.parse(cap4.out()) as { failures: number; rows: Array<{ strategy: string; tier: string }> };
    expect(json.failures).toBe(1);
    expect(json.rows.find((r) => r.strategy === 'sequential')?.tier).toBe('fail');
  });

  it('exits 2 on missing or invalid files and bad thresholds', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['node', 'cellbudget', 'compare', basePath, join(dir, 'nope.json')], /FILE_NOT_FOUND/],
      [['node', 'cellbudget', 'compare', basePath, await write('garbage.json', '{ not json')], /REPORT_INVALID.*not JSON/],
      [
        ['node', 'cellbudget', 'compare', basePath, await write('other.json', JSON.stringify({ version: 2, runs: [] }))],
        /REPORT_INVALID.*version/,
      ],
      [['node', 'cellbudget', 'compare', basePath, basePath, '--warn', '20%', '--fail', '10%'], /USAGE/],
      [['node', 'cellbudget', 'compare', basePath, basePath, '--warn', 'lots'], /USAGE/],
    ];
    for (const [argv, message] of cases) {
      const cap = capture();
      expect(await main(argv, cap.io), argv.join(' ')).toBe(2);
      expect(cap.err()).toMatch(message);
    }
  });
});

const dir = mkdtempSync(join(tmpdir(), 'cb-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let nth = 0;
function reportFile(r: Report): string {
  const p = join(dir, `report-${nth++}.json`);
  writeFileSync(p, JSON.stringify(r));
  return p;
}

describe('compare fails when nothing matches, scales differ, or a report is nonsense', () => {
  it('exits 1 naming what did not match: a renamed scenario, an empty report, a changed scale', async () => {
    const base = sampleReport();
    const renamed = structuredClone(base);
    for (const r of renamed.runs) r.scenario = `${r.scenario}-v2`;
    let r = await cli(['compare', reportFile(base), reportFile(renamed)]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Nothing to compare: no scenario × strategy is in both reports/);
    expect(r.out).toMatch(/tahoe-sciplex-2x132GB-v2 \/ eager/);

    r = await cli(['compare', reportFile(base), reportFile({ ...base, runs: [] })]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/new: no runs/);

    const rescaled = structuredClone(base);
    for (const run of rescaled.runs) run.scale = 0.5;
    r = await cli(['compare', reportFile(base), reportFile(rescaled)]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/scale changed from 0.001 to 0.5: not comparable/);
    expect(r.out).not.toMatch(/improved/);

    // A report of finished runs against itself still passes.
    const finished = { ...base, runs: base.runs.filter((x) => x.status === 'ok') };
    expect((await cli(['compare', reportFile(finished), reportFile(finished)])).code).toBe(0);
  });

  it('refuses reports with negative or zero peaks and duplicate runs (exit 2, REPORT_INVALID)', async () => {
    const base = sampleReport();
    const negative = structuredClone(base);
    negative.runs[0]!.peak_bytes = -5;
    const zero = structuredClone(base);
    zero.runs[0]!.peak_bytes = 0;
    const dup = structuredClone(base);
    dup.runs.push(structuredClone(dup.runs[0]!));
    for (const bad of [negative, zero, dup]) {
      const r = await cli(['compare', reportFile(base), reportFile(bad)]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/REPORT_INVALID/);
    }
  });
});
