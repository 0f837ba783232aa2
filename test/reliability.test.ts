// Issue 16: a green run can be trusted. One block per numbered reproduction of the issue
// (each failed before its fix), plus the reference's own split checks.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../src/h5ad/synth.js';
import { H5adWriter } from '../src/h5ad/write.js';
import { ingestLog, ingestReport } from '../harness/ingest.js';
import type { Report } from '../harness/report.js';
import { runCli as cli } from './helpers/cli.js';
import { sampleReport } from './report-fixtures.js';
import type { DatasetSource, ObsColumn } from '../src/data.js';
import { isCellbudgetError } from '../src/errors.js';
import { parsePipelineConfig } from '../src/pipeline/config.js';
import { planGroups } from '../src/pipeline/grouping.js';
import { assignSplits } from '../src/pipeline/splitter.js';
import { memorySource } from '../src/source-memory.js';

function codeOf(fn: () => unknown): { code: string; message: string; key?: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (isCellbudgetError(e)) return { code: e.code, message: e.message, key: e.key };
    throw e;
  }
  throw new Error('expected an error');
}

const cat = (name: string, codes: number[], categories: string[]): ObsColumn => ({ kind: 'categorical', name, codes: Int8Array.from(codes), categories, ordered: false });
const bool = (name: string, v: number[]): ObsColumn => ({ kind: 'boolean', name, values: Uint8Array.from(v) });

/** One cell line, a control and `drugs` perturbations with two doses each. */
function drugSource(drugs: number, opts: { rows?: number; embeddingLength?: (d: number) => number } = {}): DatasetSource {
  const names = ['ctl', ...Array.from({ length: drugs }, (_, i) => `d${i}`)];
  const drug: number[] = [0];
  const dose: number[] = [0];
  for (let d = 1; d <= drugs; d++) for (const x of [0, 1]) (drug.push(d), dose.push(x));
  const n = drug.length;
  const emb = new Map(names.map((nm, i) => [nm, new Float64Array(opts.embeddingLength?.(i) ?? 2).fill(i)] as const));
  return memorySource({
    name: 'mem',
    obs: [cat('line', Array(n).fill(0), ['a']), cat('drug', drug, names), cat('dose', dose, ['lo', 'hi']), bool('control', [1, ...Array(n - 1).fill(0)])],
    uns: { drug_emb: emb, line_emb: new Map([['a', Float64Array.of(1, 2)]]), dose_emb: new Map([['lo', Float64Array.of(0)], ['hi', Float64Array.of(1)]]) },
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
    writeFileSync(log, [line('After loading dataset_1', '100.00 GB'), '[MEMORY After preparing dataset_1] Used: lots', line('After deleting raw dataset_1', '50.00 GB')].join('\n'));
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
    writeFileSync(p, JSON.stringify({
      dist_flag_key: 'control',
      src_dist_keys: ['cell_line'],
      tgt_dist_keys: ['drug', 'dosage'],
      rep_keys: { cell_line: 'cell_line_embeddings', drug: 'drug_embeddings' },
      data_location: location,
      split: { split_by: ['drug'], ratios: [0.6, 0.2, 0.2], random_state: 0 },
    }));
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
    for (const [x, y] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']] as const) lines.push(`${x}: &${x} [${Array(9).fill(`*${y}`).join(',')}]`);
    writeFileSync(p, `${lines.join('\n')}\nname: bomb\n`);
    const r = await cli(['run', p, '--out', join(dir, 'bomb-out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCENARIO_INVALID.*expands too far/);
  });
});
