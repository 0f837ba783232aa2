// The reference's split checks, as the reference makes them: force_training_values only on
// split_by keys, its empty test split (with a warning every strategy hands on), the rounds that
// leave a split empty refused, and embeddings of one key all of one length.
import { describe, expect, it } from 'vitest';
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

  it('embeddings of different lengths are refused', () => {
    const c = config({});
    const e = codeOf(() => planGroups(c, drugSource(4, { embeddingLength: (d) => (d === 3 ? 5 : 2) })));
    expect(e.code).toBe('H5AD_INVALID');
    expect(e.message).toMatch(/embeddings in uns\/drug_emb differ in length/);
  });
});
