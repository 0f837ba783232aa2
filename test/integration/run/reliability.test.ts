// Issue 16: a green run can be trusted. One block per numbered reproduction of the issue
// (each failed before its fix), plus the reference's own split checks.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCommandScenario } from '../../../harness/command/command.js';
import { preflight } from '../../../harness/run/preflight.js';
import { materializeDatasets } from '../../../harness/run/run.js';
import { loadScenarios, type BuiltinScenario } from '../../../harness/run/scenarios.js';
import { writeReportDir } from '../../../harness/report/write-report.js';
import { formatRunTable } from '../../../src/cli/run.js';
import { processStartTime } from '../../../src/memory/proc.js';
import { DATASETS } from '../../helpers/fixtures.js';
import { synthesize } from '../../../src/h5ad/synth.js';
import { H5adWriter } from '../../../src/h5ad/write.js';
import { ingestLog, ingestReport } from '../../../harness/command/ingest.js';
import type { Report } from '../../../src/core/report.js';
import { runCli as cli } from '../../helpers/cli.js';
import { PIPELINE, writeTwoDatasetScenario } from '../../helpers/scenarios.js';
import { sampleReport } from '../../helpers/report-fixtures.js';
import type { DatasetSource, ObsColumn } from '../../../src/core/data.js';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import { planGroups } from '../../../src/pipeline/grouping.js';
import { assignSplits } from '../../../src/pipeline/splitter.js';
import { memorySource } from '../../../src/pipeline/source-memory.js';
import { runStrategy } from '../../../src/strategies/index.js';
import { STRATEGY_NAMES } from '../../../src/core/names.js';

function codeOf(fn: () => unknown): { code: string; message: string; key?: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (isCellbudgetError(e)) return { code: e.code, message: e.message, key: e.key };
    throw e;
  }
  throw new Error('expected an error');
}

const cat = (name: string, codes: number[], categories: string[]): ObsColumn => ({
  kind: 'categorical',
  name,
  codes: Int8Array.from(codes),
  categories,
  ordered: false,
});
const bool = (name: string, v: number[]): ObsColumn => ({ kind: 'boolean', name, values: Uint8Array.from(v) });

/** One cell line, a control and `drugs` perturbations with two doses each. */
function drugSource(drugs: number, opts: { rows?: number; embeddingLength?: (d: number) => number } = {}): DatasetSource {
  const names = ['ctl', ...Array.from({ length: drugs }, (_, i) => `d${i}`)];
  const drug: number[] = [0];
  const dose: number[] = [0];
  for (let d = 1; d <= drugs; d++) for (const x of [0, 1]) drug.push(d), dose.push(x);
  const n = drug.length;
  const emb = new Map(names.map((nm, i) => [nm, new Float64Array(opts.embeddingLength?.(i) ?? 2).fill(i)] as const));
  return memorySource({
    name: 'mem',
    obs: [
      cat('line', Array(n).fill(0), ['a']),
      cat('drug', drug, names),
      cat('dose', dose, ['lo', 'hi']),
      bool('control', [1, ...Array(n - 1).fill(0)]),
    ],
    uns: {
      drug_emb: emb,
      line_emb: new Map([['a', Float64Array.of(1, 2)]]),
      dose_emb: new Map([
        ['lo', Float64Array.of(0)],
        ['hi', Float64Array.of(1)],
      ]),
    },
    matrices: { X: { format: 'dense', dtype: 'float64', rows: opts.rows ?? n, cols: 1, data: new Float64Array(opts.rows ?? n) } },
  });
}

const config = (split: Record<string, unknown>): ReturnType<typeof parsePipelineConfig> =>
  parsePipelineConfig({
    dist_flag_key: 'control',
    src_dist_keys: ['line'],
    tgt_dist_keys: ['drug', 'dose'],
    rep_keys: { line: 'line_emb', drug: 'drug_emb', dose: 'dose_emb' },
    data_location: ['X'],
    split: { split_by: ['drug'], ratios: [0.5, 0.25, 0.25], random_state: 0, ...split },
  });

describe("fidelity to the reference's split checks", () => {
  it('refuses force_training_values on a key outside split_by, as the reference does', () => {
    const e = codeOf(() => config({ force_training_values: { dose: 'hi' } }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.key).toBe('split.force_training_values.dose');
    expect(e.message).toMatch(/subset of split_by/);
    // Also when the config did not come through the parser.
    const c = config({});
    const plan = planGroups(c, drugSource(8));
    expect(codeOf(() => assignSplits(plan, { ...c.split, force_training_values: { dose: 'hi' } })).code).toBe('CONFIG_INVALID');
  });

  it("gives the reference's empty test split (3 tuples at 0.5/0.25/0.25 → 2/1/0) with a warning", () => {
    const c = config({});
    const a = assignSplits(planGroups(c, drugSource(3)), c.split);
    expect(a.sizes).toEqual({ train: 2, val: 1, test: 0 });
    expect(a.warnings.join(' ')).toMatch(/test split is empty/);
  });

  it('every strategy hands on that warning, once, naming the dataset whose split it is', () => {
    const c = config({});
    const inputs = [
      { name: 'three', open: () => drugSource(3) },
      { name: 'eight', open: () => drugSource(8) },
    ];
    for (const strategy of STRATEGY_NAMES) {
      const r = runStrategy(strategy, inputs, c, { step: (_d, _n, fn) => fn() }, { gc: () => {} });
      expect(r.warnings, strategy).toEqual([expect.stringMatching(/^three: With 3 unique split_by tuple\(s\) .*the test split is empty/)]);
    }
  });

  it('refuses where the reference raises: a round(r·n) of 0, or forced values matching no tuple', () => {
    const c = config({ ratios: [0.8, 0.1, 0.1] });
    expect(codeOf(() => assignSplits(planGroups(c, drugSource(3)), c.split)).code).toBe('SPLIT_TOO_SMALL');
    const f = config({ force_training_values: { drug: 'nothing-like-this' } });
    expect(codeOf(() => assignSplits(planGroups(f, drugSource(8)), f.split)).code).toBe('CONFIG_INVALID');
  });

  it('refuses forcing every tuple into train, which would leave val and test empty', () => {
    const all = Array.from({ length: 8 }, (_, i) => `d${i}`);
    const c = config({ force_training_values: { drug: all } });
    const e = codeOf(() => assignSplits(planGroups(c, drugSource(8)), c.split));
    expect(e.code).toBe('SPLIT_TOO_SMALL');
    expect(e.message).toMatch(/8 of 8 split_by tuple\(s\) are forced/);
  });
});

const dir = mkdtempSync(join(tmpdir(), 'cb-reliability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let nth = 0;
function reportFile(r: Report): string {
  const p = join(dir, `report-${nth++}.json`);
  writeFileSync(p, JSON.stringify(r));
  return p;
}

describe('1. compare fails when nothing matches, scales differ, or a report is nonsense', () => {
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

describe('7. ingest reads every marker line or says which it could not, in linear time', () => {
  const GB = 1e9;
  const line = (label: string, used: string): string => `[MEMORY ${label}] Used: ${used} | Available: 10.00 GB | Total: 400.00 GB`;

  it('refuses a log with an unreadable [MEMORY] line (exit 2, naming the line), or lists it with --lenient', async () => {
    const log = join(dir, 'garbage.log');
    writeFileSync(
      log,
      [
        line('After loading dataset_1', '100.00 GB'),
        '[MEMORY After preparing dataset_1] Used: lots',
        line('After deleting raw dataset_1', '50.00 GB'),
      ].join('\n'),
    );
    let r = await cli(['ingest', log, '--out', join(dir, 'ing-strict'), '--budget', 'peak=120GB', '--no-charts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/LOG_INVALID.*1 \[MEMORY\] line\(s\) that cannot be read: line 2: 'lots' is not a finite number/);
    r = await cli(['ingest', log, '--out', join(dir, 'ing-lenient'), '--budget', 'peak=120GB', '--no-charts', '--lenient']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/garbage.log:2: unreadable \[MEMORY\] line skipped/);
  });

  it('reads thousands separators, and refuses numbers that are no finite figure', () => {
    expect(ingestLog(line('x', '1,234.5 GB')).peak_bytes).toBe(1234.5 * GB);
    expect(() => ingestLog(line('x', '1e999 GB'))).toThrow(/not a finite number/);
    expect(() => ingestLog(line('x', '12,34 GB'))).toThrow(/cannot be read/);
  });

  it('takes 130,000 markers without overflowing the stack', () => {
    const text = Array.from({ length: 130_000 }, (_, i) => line(`step ${i}`, `${(i % 1000) + 1}.00 GB`)).join('\n');
    const report = ingestReport(text);
    expect(report.runs[0]!.steps.length).toBe(130_000);
    expect(report.runs[0]!.peak_bytes).toBe(1000 * GB);
  });
});

describe('9. absurd shapes are input errors, checked against obs and against memory', () => {
  const CELLS = 400;
  const dense = join(dir, 'shapes-dense.h5ad');
  const csr = join(dir, 'shapes-csr.h5ad');
  const cfg = (location: string[]): string => {
    const p = join(dir, `cfg-${location.join('-')}.json`);
    writeFileSync(
      p,
      JSON.stringify({
        dist_flag_key: 'control',
        src_dist_keys: ['cell_line'],
        tgt_dist_keys: ['drug', 'dosage'],
        rep_keys: { cell_line: 'cell_line_embeddings', drug: 'drug_embeddings' },
        data_location: location,
        split: { split_by: ['drug'], ratios: [0.6, 0.2, 0.2], random_state: 0 },
      }),
    );
    return p;
  };
  const variant = (from: string, name: string, edit: (w: H5adWriter) => void): string => {
    const p = join(dir, `${name}.h5ad`);
    copyFileSync(from, p);
    const w = H5adWriter.append(p);
    try {
      edit(w);
    } finally {
      w.close();
    }
    return p;
  };
  beforeAll(async () => {
    const common = { cells: CELLS, features: 4, cellLines: 2, drugs: 10, doses: [1], seed: 5 };
    await synthesize({ ...common, format: 'dense', dataLocation: 'obsm/X_pca' }, dense);
    await synthesize({ ...common, format: 'csr', dataLocation: 'X' }, csr);
  });

  it('an obsm with 10^12 rows beside 400 cells: split (no --digest) exits 2 with H5AD_INVALID', async () => {
    const f = variant(dense, 'huge-obsm', (w) => w.declaredArray('/obsm/X_big', new Float32Array(8 * 4), [1e12, 4]));
    const r = await cli(['split', f, '--config', cfg(['obsm', 'X_big'])]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_INVALID.*obsm\/X_big.*1,000,000,000,000 rows but obs has 400 cells/);
  });

  it('an obsm shorter than obs is an input error, not USAGE', async () => {
    const f = variant(dense, 'short-obsm', (w) => w.declaredArray('/obsm/X_short', new Float32Array((CELLS - 20) * 4), [CELLS - 20, 4]));
    const r = await cli(['split', f, '--config', cfg(['obsm', 'X_short']), '--digest']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_INVALID.*380 rows but obs has 400 cells/);
  });

  it('a CSR matrix declaring 10^12 columns exits 2 under --digest (a row would not fit in memory)', async () => {
    const f = variant(csr, 'wide-csr', (w) => w.replaceInt64ListAttr('/X', 'shape', [CELLS, 1e12]));
    const r = await cli(['split', f, '--config', cfg(['X']), '--digest']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_INVALID.*1,000,000,000,000 columns in one row.*more than this machine's/);
  });

  it('an obs declaring 10^12 rows exits 2 instead of an invalid typed array length', async () => {
    const p = join(dir, 'huge-obs.h5ad');
    const w = H5adWriter.create(p);
    try {
      w.attrs('/', { 'encoding-type': 'anndata', 'encoding-version': '0.1.0' });
      w.group('/obs', 'dataframe', '0.2.0');
      w.attrs('/obs', { _index: 'cell' });
      w.stringListAttr('/obs', 'column-order', ['control']);
      w.declaredArray('/obs/cell', new Int32Array(8), [1e12]);
      w.declaredArray('/obs/control', new Int8Array(8), [1e12]);
      w.group('/obsm', 'dict', '0.1.0');
      w.declaredArray('/obsm/X_pca', new Float32Array(8 * 4), [1e12, 4]);
    } finally {
      w.close();
    }
    const r = await cli(['split', p, '--config', cfg(['obsm', 'X_pca'])]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_INVALID.*declares 1,000,000,000,000/);
  });

  it('a YAML alias bomb is SCENARIO_INVALID (exit 2), not an internal error', async () => {
    const p = join(dir, 'bomb.yaml');
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [x, y] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ] as const)
      lines.push(`${x}: &${x} [${Array(9).fill(`*${y}`).join(',')}]`);
    writeFileSync(p, `${lines.join('\n')}\nname: bomb\n`);
    const r = await cli(['run', p, '--out', join(dir, 'bomb-out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCENARIO_INVALID.*expands too far/);
  });
});

// ---------------------------------------------------------------------------------------
// Items that run the harness: tiny scenarios, a private cache.

const cache = join(dir, 'cache');
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
const deadPid = (): number => {
  const r = spawnSync('true');
  return r.pid!;
};

describe('2. the report location is checked before measuring, and a failed write loses nothing', () => {
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

  it.skipIf(!canMountTmpfs())('a full disk: refused before measuring, and a write that fails keeps the old report whole', async () => {
    const mnt = mkdtempSync(join(tmpdir(), 'cb-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    try {
      const out = join(mnt, 'report');
      const first = sampleReport();
      await writeReportDir(first, out, { charts: false });
      const before = Object.fromEntries(readdirSync(out).map((n) => [n, readFileSync(join(out, n), 'utf8')]));
      // Fill the disk to within a few kilobytes.
      try {
        writeFileSync(join(mnt, 'filler'), Buffer.alloc(4 * 1024 * 1024));
      } catch {
        // ENOSPC: the filler took what there was
      }
      const second = { ...sampleReport(), created: '2027-01-01T00:00:00.000Z' };
      await expect(writeReportDir(second, out, { charts: true })).rejects.toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
      const after = Object.fromEntries(readdirSync(out).map((n) => [n, readFileSync(join(out, n), 'utf8')]));
      expect(after).toEqual(before);

      const r = await cli(['run', scenarioFile('full-disk'), '--out', out, '--cache', cache]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/OUTPUT_UNWRITABLE.*the disk is full|RESOURCES_INSUFFICIENT.*report folder .* free/);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('3. the report folder is one unit; stale temporaries are removed', () => {
  it('SIGTERM between two writes leaves report.json, report.md, report.html, junit.xml and charts of one report', async () => {
    const out = join(dir, 'sigterm');
    const src = join(dir, 'sigterm-report.json');
    writeFileSync(src, JSON.stringify(sampleReport()));
    // The child writes report A, then report B with SIGTERM delivered the moment B's report.md
    // is in place (node:fs/promises patched before the writer is loaded): the old writer died
    // there with B's junit.xml, report.md and charts beside A's report.json and report.html.
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
const base = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rename = fsp.rename;
let armed = false;
fsp.rename = async (a, b) => {
  await rename(a, b);
  if (armed && String(b).endsWith('report.md')) process.kill(process.pid, 'SIGTERM');
};
syncBuiltinESMExports();
const { writeReportDir } = await import(${JSON.stringify(join(process.cwd(), 'dist/harness/report/write-report.js'))});
await writeReportDir({ ...base, created: '2027-01-01T00:00:01.000Z' }, process.argv[3], { charts: true });
const first = readFileSync(process.argv[3] + '/timeline-tahoe-sciplex-2x132gb.png');
armed = true;
const second = structuredClone(base);
second.runs[0].peak_bytes *= 3;
for (const st of second.runs[0].steps) st.peak_bytes *= 3;
await writeReportDir({ ...second, created: '2027-01-01T00:00:02.000Z' }, process.argv[3], { charts: true });
`,
    );
    const child = spawnSync(process.execPath, [script, src, out], { encoding: 'utf8' });
    expect(child.signal === 'SIGTERM' || child.status === 0, child.stderr).toBe(true);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    for (const f of ['report.md', 'report.html']) expect(readFileSync(join(out, f), 'utf8'), f).toContain(report.created);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain(report.created.slice(0, 19));
    // The charts belong to the same report: re-rendered from report.json they are byte-identical.
    const again = join(dir, 'sigterm-again');
    await writeReportDir(report, again, { charts: true });
    for (const png of readdirSync(out).filter((n) => n.endsWith('.png')))
      expect(readFileSync(join(out, png)).equals(readFileSync(join(again, png))), png).toBe(true);
    // The next writer removes what a killed one left half-written.
    writeFileSync(join(out, `report.html.${deadPid()}.abc123.tmp`), 'stale');
    writeFileSync(join(out, `.junit.xml.cellbudget-${deadPid()}-abc123.tmp`), 'stale');
    await writeReportDir(sampleReport(), out, { charts: false });
    expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('job folders and cache temporaries of dead processes are removed by the next run', async () => {
    const pid = deadPid();
    const job = join(tmpdir(), `cellbudget-job-${pid}-abc123`);
    mkdirSync(job, { recursive: true });
    mkdirSync(cache, { recursive: true });
    const partial = join(cache, `.0123abcd.h5ad.${pid}.kq1x2.tmp`);
    writeFileSync(partial, Buffer.alloc(1024));
    const r = await cli(['run', scenarioFile('sweep'), '--out', join(dir, 'sweep-out'), '--cache', cache, '--report-only', '--no-charts']);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(job)).toBe(false);
    expect(existsSync(partial)).toBe(false);
  }, 60_000);
});

describe('4. a damaged cache entry is regenerated, not an error forever', () => {
  it('a truncated cached file is detected by its record and generated again', async () => {
    const s = loadScenarios(scenarioFile('cache-truncate'))[0] as BuiltinScenario;
    const [first] = await materializeDatasets(s, cache);
    const whole = readFileSync(first!.file);
    truncateSync(first!.file, Math.floor(whole.length / 2));
    const [again] = await materializeDatasets(s, cache);
    expect(again!.file).toBe(first!.file);
    expect(readFileSync(again!.file).equals(whole)).toBe(true);
    // A byte changed in place (same size) is caught by the checksum.
    const fd = openSync(first!.file, 'r+');
    writeSync(fd, Buffer.from([whole[whole.length - 10]! ^ 0xff]), 0, 1, whole.length - 10);
    closeSync(fd);
    utimesSync(first!.file, new Date(), new Date(Date.now() + 5000));
    const r = await cli([
      'run',
      scenarioFile('cache-truncate'),
      '--out',
      join(dir, 'cache-out'),
      '--cache',
      cache,
      '--report-only',
      '--no-charts',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(first!.file).equals(whole)).toBe(true);
  }, 60_000);
});

describe('5. resources are checked before anything is generated', () => {
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

describe('6. a command leaves nothing running', () => {
  it('forked and setsid children are ended when the command exits', async () => {
    const pids: number[] = [];
    const rec = await runCommandScenario(
      { name: 'forks', command: ['sh', '-c', 'sleep 300 & echo "pid $!"; setsid sleep 300 & echo "pid $!"; sleep 0.3; echo ::step end'] },
      { onLine: (_s, line) => void (/^pid (\d+)$/.test(line) && pids.push(Number(/^pid (\d+)$/.exec(line)![1]))) },
    );
    expect(rec.status).toBe('ok');
    expect(pids.length).toBe(2);
    for (const p of pids) expect(processStartTime(p), `pid ${p} still running`).toBeNull();
    expect(rec.command.notes.join(' ')).toMatch(/2 process\(es\) the command left running were ended/);
  });
});

describe('8. every scenario and option is judged before the first run', () => {
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
});

describe('10. smaller ones', () => {
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

  it("a died run's peak step is the step it died in", () => {
    const report = sampleReport();
    const died = report.runs.find((x) => x.status !== 'ok')!;
    expect(died.failure?.step).toBeTruthy();
    const row = formatRunTable([died]).split('\n')[2]!;
    expect(row).toContain(`${died.failure!.step!} (${died.status})`);
  });

  it("a failed command's message names its log", async () => {
    const p = join(dir, 'fails.yaml');
    writeFileSync(p, 'name: fails\nkind: command\ncommand: [sh, -c, "echo boom >&2; exit 3"]\n');
    const out = join(dir, 'fails-out');
    const r = await cli(['run', p, '--out', out, '--no-charts']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`exited with code 3; its output is in ${join(out, 'fails.command.log')}`);
    expect(readFileSync(join(out, 'fails.command.log'), 'utf8')).toContain('boom');
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

  it('plan exits 1 when no node fits (a finding, not bad input)', async () => {
    const r = await cli(['plan', '--dataset', 'a=900GB', '--node-memory', '100GB']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/NO_NODE_FITS/);
  });

  it('split without --digest refuses a wrong data_location', async () => {
    const cfgPath = join(dir, 'wrong-location.json');
    const config = JSON.parse(readFileSync(`${DATASETS}/tiny.config.json`, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...config, data_location: ['obsm', 'X_umap'] }));
    const r = await cli(['split', `${DATASETS}/tiny.h5ad`, '--config', cfgPath]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/H5AD_MISSING_KEY.*obsm\/X_umap/);
  });

  it('embeddings of different lengths are refused', () => {
    const c = config({});
    const e = codeOf(() => planGroups(c, drugSource(4, { embeddingLength: (d) => (d === 3 ? 5 : 2) })));
    expect(e.code).toBe('H5AD_INVALID');
    expect(e.message).toMatch(/embeddings in uns\/drug_emb differ in length/);
  });

  it("a corrupt string does not leak Emscripten's UTF-8 warning to stderr", async () => {
    const b = Buffer.from(readFileSync(`${DATASETS}/strings.h5ad`));
    // The global heap's object 'dosage' (a column name): make its first byte an invalid UTF-8 lead.
    let at = b.indexOf('GCOL') + 16;
    for (let k = 0; k < 64; k++) {
      const size = Number(b.readBigUInt64LE(at + 8));
      if (b.toString('utf8', at + 16, at + 16 + size) === 'dosage') break;
      at += 16 + Math.ceil(size / 8) * 8;
    }
    b[at + 16] = 0xf8;
    const p = join(dir, 'bad-utf8.h5ad');
    writeFileSync(p, b);
    const leaked: string[] = [];
    const spies = [
      vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void leaked.push(a.join(' '))),
      vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void leaked.push(a.join(' '))),
    ];
    const write = process.stderr.write.bind(process.stderr);
    const capture = (s: string | Uint8Array): boolean => {
      leaked.push(String(s));
      return write(s);
    };
    process.stderr.write = capture as typeof process.stderr.write;
    try {
      const r = await cli(['split', p, '--config', `${DATASETS}/strings.config.json`]);
      expect(r.code).toBe(2);
      expect(r.err).not.toMatch(/Invalid UTF-8/);
    } finally {
      process.stderr.write = write;
      for (const s of spies) s.mockRestore();
    }
    expect(leaked.join('\n')).not.toMatch(/Invalid UTF-8/);
  });
});

function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'cb-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
