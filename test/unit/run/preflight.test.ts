// What `run` refuses before it measures anything (exit 2, no report): every scenario and option
// judged first, the report location checked, memory and disk the scenarios need compared with
// what the machine has, a selection that would measure nothing, a file that is not HDF5.
import { mkdtempSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, afterAll } from 'vitest';
import { plannedRuns } from '../../../harness/run/run.js';
import { loadScenarios } from '../../../harness/run/scenarios.js';
import { runCli as cli } from '../../helpers/cli.js';
import { PIPELINE, writeTwoDatasetScenario } from '../../helpers/scenarios.js';
import { preflight } from '../../../harness/run/preflight.js';

const dir = mkdtempSync(join(tmpdir(), 'cb-preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'cache');

function scenario(name: string, extra = ''): string {
  return writeTwoDatasetScenario(join(dir, `${name}.yaml`), name, { extra });
}

function scenarioFile(
  name: string,
  body: { scale?: number; extra?: string; pipeline?: string; size?: string; features?: number } = {},
): string {
  return writeTwoDatasetScenario(join(dir, `${name}.yaml`), name, {
    scale: body.scale ?? 0.00002,
    features: body.features ?? 10,
    strategies: '[selective]',
    ...(body.size !== undefined ? { size: body.size } : {}),
    ...(body.pipeline !== undefined ? { pipeline: body.pipeline } : {}),
    ...(body.extra !== undefined ? { extra: body.extra } : {}),
  });
}

describe('every scenario and option is judged before the first run', () => {
  it('run quick-like bad.yaml: exit 2 before measuring the good one, no report', async () => {
    const good = scenarioFile('good-first');
    const bad = scenarioFile('bad-second', { pipeline: PIPELINE.replace('rep_keys: {', 'rep_keys: { batch: batch_emb,') });
    const out = join(dir, 'lazy-out');
    const r = await cli(['run', good, bad, '--out', out, '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CONFIG_INVALID.*rep_keys\.batch/);
    expect(r.out).toBe('');
    expect(existsSync(join(out, 'report.json'))).toBe(false);
  });

  it('--warn above --fail is refused before measuring', async () => {
    const out = join(dir, 'warnfail-out');
    const r = await cli(['run', scenarioFile('warnfail'), '--warn', '20%', '--fail', '10%', '--out', out, '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--fail \(10%\) is below --warn \(20%\)/);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
  });

  it('a budget without a unit is refused (it meant bytes)', async () => {
    let r = await cli([
      'run',
      scenarioFile('unitless', { extra: 'budgets: { peak: 400 }\n' }),
      '--out',
      join(dir, 'u-out'),
      '--cache',
      cache,
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCENARIO_INVALID.*budgets\.peak 400 has no unit.*peak: 400GB/);
    r = await cli(['run', scenarioFile('unitless-flag'), '--budget', 'peak=400', '--out', join(dir, 'u-out'), '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/USAGE.*--budget 'peak=400' has no unit/);
  });

  it('timeout 0 means the same everywhere: refused', async () => {
    const p = join(dir, 'zero.yaml');
    writeFileSync(p, 'name: zero\nkind: command\ncommand: ["true"]\ntimeout: 0s\n');
    let r = await cli(['run', p, '--out', join(dir, 'zero-out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCENARIO_INVALID.*not a positive duration/);
    r = await cli(['run', scenarioFile('zero-flag'), '--timeout', '0', '--out', join(dir, 'zero-out'), '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/USAGE.*--timeout '0' is not a positive duration/);
  });

  it('a selection that would measure nothing is refused, not reported as a success', () => {
    expect(() => plannedRuns([])).toThrow(expect.objectContaining({ code: 'NOTHING_TO_RUN', exitCode: 2 }));
    expect(plannedRuns(loadScenarios(scenario('planned')), ['streaming']).map((p) => p.strategy)).toEqual(['streaming']);
  });

  it('a built-in strategy asked of a command scenario is exit 2 with the reason, before anything runs', async () => {
    const path = join(dir, 'cmd.yaml');
    writeFileSync(path, 'name: cmd\ncommand: [node, -e, "1"]\n');
    const out = join(dir, 'cmd-out');
    const r = await cli(['run', scenario('first'), path, '--strategy', 'selective', '--out', out, '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[USAGE\].*'cmd'.*is a command scenario/);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
  });

  it('a bad file is the user’s to fix: the run fails with the error code and the CLI exits 2', async () => {
    const bad = join(dir, 'not-hdf5.h5ad');
    writeFileSync(bad, 'this is not an HDF5 file\n');
    const path = join(dir, 'badfile.yaml');
    writeFileSync(path, `name: badfile\ndatasets:\n  - name: a\n    file: ${bad}\n${PIPELINE}strategies: [selective]\n`);
    const out = join(dir, 'badfile');
    const r = await cli(['run', path, '--out', out, '--no-charts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/FILE_NOT_HDF5/);
  }, 60_000);
});

describe('the report location is checked before measuring', () => {
  it('--out that is a file, or under a file: exit 2 OUTPUT_UNWRITABLE before any run', async () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    for (const out of [file, join(file, 'sub')]) {
      const t = performance.now();
      const r = await cli(['run', scenarioFile('out-file'), '--out', out, '--cache', join(dir, 'unused-cache')]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/OUTPUT_UNWRITABLE/);
      expect(performance.now() - t).toBeLessThan(5000);
      expect(existsSync(join(dir, 'unused-cache'))).toBe(false);
    }
  });
});

describe('resources are checked before anything is generated', () => {
  it('2 × 132 GB at scale 1 on this machine: refused with the numbers and a scale that fits', async () => {
    const s = loadScenarios(scenarioFile('too-big', { scale: 1, features: 50 }));
    const err = await preflight(s, {
      outDir: join(dir, 'pf-out'),
      cacheDir: join(dir, 'pf-cache'),
      totalMemoryBytes: 24e9,
      freeBytes: () => 1e15,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RESOURCES_INSUFFICIENT', key: 'scale' });
    expect((err as Error).message).toMatch(/predicted to peak at [\d.]+ GB .* this machine has 24 GB of memory/);
    expect((err as Error).message).toMatch(/Set scale: 0\.\d+/);
    const fit = Number(/Set scale: ([\d.]+)/.exec((err as Error).message)![1]);
    await expect(
      preflight(loadScenarios(scenarioFile('fits', { scale: fit, features: 50 })), {
        outDir: join(dir, 'pf-out'),
        cacheDir: join(dir, 'pf-cache'),
        totalMemoryBytes: 24e9,
        freeBytes: () => 1e15,
      }),
    ).resolves.toBeTruthy();
  });

  it('a family of 100,000 datasets: refused for disk before one file is written', async () => {
    const p = scenarioFile('huge-family', { scale: 0.001, extra: 'family: { n: [100000] }\n' });
    const fresh = join(dir, 'family-cache');
    // One rung (--ladder off): the refusal is about the family's size; a ladder triples it.
    const r = await cli(['run', p, '--ladder', 'off', '--out', join(dir, 'family-out'), '--cache', fresh]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/RESOURCES_INSUFFICIENT.*Generating 100,000 synthetic dataset\(s\) needs about [\d.]+ TB/);
    expect(existsSync(fresh) ? readdirSync(fresh).filter((n) => n.endsWith('.h5ad')) : []).toEqual([]);
  });
});
