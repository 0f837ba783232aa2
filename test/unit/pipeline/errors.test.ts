import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DatasetSource, ObsColumn } from '../../../src/core/data.js';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { main } from '../../../src/cli/main.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import { planGroups, prepareData } from '../../../src/pipeline/grouping.js';
import { assignSplits } from '../../../src/pipeline/splitter.js';
import { memorySource } from '../../../src/pipeline/source-memory.js';

import { DATASETS, describeGolden, GOLDEN } from '../../helpers/fixtures.js';
import { capture } from '../../helpers/cli.js';
const tinyConfig = JSON.parse(readFileSync(`${DATASETS}/tiny.config.json`, 'utf8')) as Record<string, unknown>;

function codeOf(fn: () => unknown): { code: string; message: string; key?: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (isCellbudgetError(e)) return { code: e.code, message: e.message, key: e.key };
    throw e;
  }
  throw new Error('expected an error');
}

const withConfig = (patch: Record<string, unknown>, split?: Record<string, unknown>): unknown => ({
  ...tinyConfig,
  ...patch,
  split: { ...(tinyConfig['split'] as Record<string, unknown>), ...split },
});

describe('config validation', () => {
  it("accepts the shipped datasets' configs", () => {
    for (const n of ['tiny', 'by_line', 'combos', 'strings', 'forced']) {
      expect(() => parsePipelineConfig(JSON.parse(readFileSync(`${DATASETS}/${n}.config.json`, 'utf8')) as unknown)).not.toThrow();
    }
  });
  it.each([
    [{ src_dist_keys: [] }, undefined, 'src_dist_keys'],
    [{ tgt_dist_keys: ['drug', 'drug'] }, undefined, 'tgt_dist_keys'],
    [{ tgt_dist_keys: ['drug', 'cell_line'] }, undefined, 'tgt_dist_keys'],
    [{ rep_keys: { batch: 'batch_emb' } }, undefined, 'rep_keys.batch'],
    [{ data_location: [] }, undefined, 'data_location'],
    [{ dist_flag_key: 7 }, undefined, 'dist_flag_key'],
    [{ extra: 1 }, undefined, '(root)'],
    [{}, { split_by: ['batch'] }, 'split.split_by'],
    [{}, { random_state: -1 }, 'split.random_state'],
    [{}, { force_training_values: { batch: 'x' } }, 'split.force_training_values.batch'],
  ])('rejects %j / split %j naming %s', (patch, split, key) => {
    const e = codeOf(() => parsePipelineConfig(withConfig(patch, split)));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain(key);
  });
  it.each([[[0.5, 0.5]], [[0.6, 0.3, 0.3]], [[1, 0, 0]], [[0.5, 0.6, -0.1]]])('rejects ratios %j with RATIOS_INVALID', (ratios) => {
    expect(codeOf(() => parsePipelineConfig(withConfig({}, { ratios }))).code).toBe('RATIOS_INVALID');
  });
  it('accepts a derived flag', () => {
    const c = parsePipelineConfig(withConfig({ dist_flag_key: { column: 'drug_x', equals: 'DMSO_TF' } }));
    expect(c.dist_flag_key).toEqual({ column: 'drug_x', equals: 'DMSO_TF' });
  });
});

function source(cols: ObsColumn[], uns: Record<string, Map<string, Float64Array>> = {}): DatasetSource {
  const n = cols[0] ? ('codes' in cols[0] ? cols[0].codes.length : cols[0].values.length) : 0;
  return memorySource({
    name: 'mem',
    obs: cols,
    uns,
    matrices: { X: { format: 'dense', dtype: 'float64', rows: n, cols: 1, data: Float64Array.from({ length: n }, (_, i) => i) } },
  });
}
const cat = (name: string, codes: number[], categories: string[]): ObsColumn => ({
  kind: 'categorical',
  name,
  codes: Int8Array.from(codes),
  categories,
  ordered: false,
});
const bool = (name: string, v: number[]): ObsColumn => ({ kind: 'boolean', name, values: Uint8Array.from(v) });
const num = (name: string, v: number[]): ObsColumn => ({ kind: 'numeric', name, dtype: 'float64', values: Float64Array.from(v) });
const emb = (labels: string[]): Map<string, Float64Array> => new Map(labels.map((l, i) => [l, Float64Array.of(i)]));
const dm = (over: Record<string, unknown> = {}): Parameters<typeof planGroups>[0] =>
  ({
    dist_flag_key: 'control',
    src_dist_keys: ['line'],
    tgt_dist_keys: ['drug', 'dose'],
    rep_keys: { drug: 'drug_emb', line: 'line_emb' },
    data_location: ['X'],
    ...over,
  }) as Parameters<typeof planGroups>[0];

const base = (): ObsColumn[] => [
  cat('line', [0, 0, 1, 1, 0, 1], ['a', 'b']),
  cat('drug', [0, 1, 0, 2, 2, 1], ['ctl', 'd1', 'd2']),
  num('dose', [0, 1, 0, 5, 5, 1]),
  bool('control', [1, 0, 1, 0, 0, 0]),
];
const uns = { drug_emb: emb(['ctl', 'd1', 'd2']), line_emb: emb(['a', 'b']) };

describe('data errors', () => {
  it('groups a valid in-memory table', () => {
    const gd = prepareData(dm(), source(base(), uns));
    expect(gd.plan.srcLabels).toEqual([['a'], ['b']]);
    expect(gd.plan.tgtLabels).toEqual([
      ['a', 'd1', 1],
      ['a', 'd2', 5],
      ['b', 'd1', 1],
      ['b', 'd2', 5],
    ]);
    expect(gd.plan.controlValue).toEqual({ drug: 'ctl', dose: 0 });
    expect(Array.from(gd.tgtData[1]!.data)).toEqual([4]);
  });
  it('OBS_FLAG_NOT_BOOLEAN when the flag is not boolean', () => {
    const cols = base().map((c) => (c.name === 'control' ? num('control', [1, 0, 1, 0, 0, 0]) : c));
    const e = codeOf(() => planGroups(dm(), source(cols, uns)));
    expect(e.code).toBe('OBS_FLAG_NOT_BOOLEAN');
    expect(e.message).toMatch(/equals/);
  });
  it('OBS_MISSING_COLUMN lists the columns', () => {
    const e = codeOf(() => planGroups(dm({ tgt_dist_keys: ['drug', 'dosage'] }), source(base(), uns)));
    expect(e.code).toBe('OBS_MISSING_COLUMN');
    expect(e.message).toContain("'dosage'");
    expect(e.message).toContain('line, drug, dose, control');
  });
  it('UNS_MISSING_KEY for a missing rep key and for a missing label', () => {
    expect(codeOf(() => planGroups(dm(), source(base(), {}))).code).toBe('UNS_MISSING_KEY');
    expect(codeOf(() => planGroups(dm(), source(base(), { ...uns, drug_emb: emb(['ctl', 'd1']) }))).key).toBe('uns/drug_emb/d2');
  });
  it('CONTROL_VALUE_NOT_UNIQUE names the values found', () => {
    const cols = base().map((c) => (c.name === 'dose' ? num('dose', [0, 1, 3, 5, 5, 1]) : c));
    const e = codeOf(() => planGroups(dm(), source(cols, uns)));
    expect(e.code).toBe('CONTROL_VALUE_NOT_UNIQUE');
    expect(e.message).toContain('There should be exactly one control value.');
    expect(e.message).toContain("('ctl', 0)");
    expect(e.message).toContain("('ctl', 3)");
  });
  it('H5AD_INVALID when a categorical code names no category', () => {
    const cols = base().map((c) => (c.name === 'drug' ? cat('drug', [0, 1, 0, 3, 2, 1], ['ctl', 'd1', 'd2']) : c));
    const e = codeOf(() => planGroups(dm(), source(cols, uns)));
    expect(e.code).toBe('H5AD_INVALID');
    expect(e.key).toBe('obs/drug');
    expect(e.message).toContain('code 3 at row 3');
  });
  it('NO_CONTROL_CELLS', () => {
    const cols = base().map((c) => (c.name === 'control' ? bool('control', [0, 0, 0, 0, 0, 0]) : c));
    expect(codeOf(() => planGroups(dm(), source(cols, uns))).code).toBe('NO_CONTROL_CELLS');
  });
  it('NO_CONTROL_CELLS names the derived rule when no cell matches it', () => {
    const e = codeOf(() =>
      planGroups(dm({ dist_flag_key: { column: 'drug', equals: 'DMSO_TF' }, tgt_dist_keys: ['dose'] }), source(base(), uns)),
    );
    expect(e.code).toBe('NO_CONTROL_CELLS');
    expect(e.message).toContain("drug == 'DMSO_TF'");
  });
  it('CONFIG_INVALID for text labels without a rep key', () => {
    expect(codeOf(() => planGroups(dm({ rep_keys: { line: 'line_emb' } }), source(base(), uns))).key).toBe('rep_keys.drug');
  });
  it('SPLIT_TOO_SMALL with advice', () => {
    const plan = planGroups(dm(), source(base(), uns));
    const e = codeOf(() =>
      assignSplits(plan, {
        split_by: ['drug'],
        ratios: [0.6, 0.2, 0.2],
        random_state: 0,
        holdout_combinations: false,
        force_training_values: {},
      }),
    );
    expect(e.code).toBe('SPLIT_TOO_SMALL');
    expect(e.message).toMatch(/split_by/);
  });
  it('a derived flag equals the boolean one', () => {
    const cols = base().filter((c) => c.name !== 'control');
    cols.push(cat('kind', [0, 1, 0, 1, 1, 1], ['DMSO_TF', 'treated']));
    const a = planGroups(dm({ dist_flag_key: { column: 'kind', equals: 'DMSO_TF' } }), source(cols, uns));
    const b = planGroups(dm(), source(base(), uns));
    expect(a.tgtLabels).toEqual(b.tgtLabels);
    expect(Array.from(a.srcRows)).toEqual(Array.from(b.srcRows));
  });
  it('holdout_combinations keeps tuples with a control value in train', () => {
    const plan = planGroups(
      dm({ tgt_dist_keys: ['drug', 'drug2'], rep_keys: { drug: 'drug_emb', drug2: 'drug_emb', line: 'line_emb' } }),
      source(
        [
          cat('line', Array(12).fill(0), ['a']),
          cat('drug', [0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1], ['ctl', 'd1', 'd2']),
          cat('drug2', [0, 0, 0, 1, 1, 2, 2, 1, 2, 0, 1, 2], ['ctl', 'd1', 'd2']),
          bool('control', [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ],
        uns,
      ),
    );
    const a = assignSplits(plan, {
      split_by: ['drug', 'drug2'],
      ratios: [0.5, 0.25, 0.25],
      random_state: 1,
      holdout_combinations: true,
      force_training_values: {},
    });
    a.tuples.forEach((t, i) => {
      if (t.includes('ctl')) expect(a.tupleSplit[i]).toBe('train');
    });
    expect(a.sizes.val + a.sizes.test).toBeGreaterThan(0);
  });
  it('split_by keys with more label combinations than a lookup table holds split the same', () => {
    // 1,100 categories per key (1.21M combinations): tuples are numbered through a Map, not a
    // table; unused categories appended change no code, so the assignment must not change.
    const wide = (c: ObsColumn): ObsColumn =>
      c.kind === 'categorical'
        ? { ...c, categories: [...c.categories, ...Array.from({ length: 1100 - c.categories.length }, (_, i) => `unused${i}`)] }
        : c;
    const config = {
      split_by: ['line', 'drug'],
      ratios: [0.5, 0.25, 0.25] as [number, number, number],
      random_state: 3,
      holdout_combinations: false,
      force_training_values: { drug: 'd1' },
    };
    // Six targets, four (line, drug) tuples: two doses share each of two tuples.
    const cols = (): ObsColumn[] => [
      cat('line', [0, 0, 1, 1, 0, 1, 0, 1], ['a', 'b']),
      cat('drug', [0, 1, 0, 2, 2, 1, 1, 2], ['ctl', 'd1', 'd2']),
      num('dose', [0, 1, 0, 5, 5, 1, 5, 1]),
      bool('control', [1, 0, 1, 0, 0, 0, 0, 0]),
    ];
    const narrow = assignSplits(planGroups(dm(), source(cols(), uns)), config);
    const broad = assignSplits(planGroups(dm(), source(cols().map(wide), uns)), config);
    expect(broad.tuples).toEqual(narrow.tuples);
    expect(Array.from(broad.tupleOfTgt)).toEqual(Array.from(narrow.tupleOfTgt));
    expect(broad.tupleSplit).toEqual(narrow.tupleSplit);
    expect(Array.from(broad.forced)).toEqual(Array.from(narrow.forced));
    expect(narrow.tuples).toEqual([
      ['a', 'd1'],
      ['a', 'd2'],
      ['b', 'd1'],
      ['b', 'd2'],
    ]);
    expect(Array.from(narrow.tupleOfTgt)).toEqual([0, 0, 1, 2, 3, 3]);
    expect(Array.from(narrow.forced)).toEqual([1, 0, 1, 0]);
  });
});

describeGolden('cellbudget split on the reference files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cb-split-'));
  it('prints the golden manifest as JSON', async () => {
    const c = capture();
    const code = await main(
      ['node', 'cellbudget', 'split', `${GOLDEN}/by_line.h5ad`, '--config', `${GOLDEN}/by_line.json`, '--json'],
      c.io,
    );
    expect(code).toBe(0);
    const got = JSON.parse(c.out()) as Record<string, unknown>;
    const {
      src_rows: _a,
      tgt_rows: _b,
      conditions: _c,
      ...expected
    } = (JSON.parse(readFileSync(`${GOLDEN}/by_line.json`, 'utf8')) as { expected: Record<string, unknown> }).expected;
    expect(Object.keys(got)).toEqual(['n_obs', 'src_to_tgt', 'src_labels', 'tgt_labels', 'conditions', 'splits']);
    for (const [k, v] of Object.entries(expected)) expect(got[k]).toEqual(v);
  });
  it('prints a readable summary with --digest', async () => {
    const cfg = join(dir, 'tiny-config.json');
    writeFileSync(cfg, JSON.stringify((JSON.parse(readFileSync(`${GOLDEN}/tiny.json`, 'utf8')) as { config: unknown }).config));
    const c = capture();
    expect(await main(['node', 'cellbudget', 'split', `${GOLDEN}/tiny.h5ad`, '--config', cfg, '--digest'], c.io)).toBe(0);
    expect(c.out()).toMatch(/24, 234 perturbed cells/);
    expect(c.out()).toMatch(/train: drug05, drug04, drug03, drug00/);
    expect(c.out()).toMatch(/sha256 [0-9a-f]{16}/);
  });
});

describe('cellbudget split', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cb-split-'));
  it.each([
    ['a bad config', `${DATASETS}/tiny.h5ad`, { ...tinyConfig, src_dist_keys: [] }, 'CONFIG_INVALID'],
    [
      'bad ratios',
      `${DATASETS}/tiny.h5ad`,
      { ...tinyConfig, split: { ...(tinyConfig['split'] as object), ratios: [0.9, 0.2, 0.1] } },
      'RATIOS_INVALID',
    ],
    ['a missing column', `${DATASETS}/tiny.h5ad`, { ...tinyConfig, tgt_dist_keys: ['drug', 'dose'] }, 'OBS_MISSING_COLUMN'],
    ['a missing file', join(dir, 'nope.h5ad'), tinyConfig, 'FILE_NOT_FOUND'],
    ['a file that is not HDF5', `${DATASETS}/tiny.config.json`, tinyConfig, 'FILE_NOT_HDF5'],
  ])('exits 2 on %s', async (_what, file, config, code) => {
    const cfg = join(dir, `c-${code}.json`);
    writeFileSync(cfg, JSON.stringify(config));
    const c = capture();
    expect(await main(['node', 'cellbudget', 'split', file, '--config', cfg], c.io)).toBe(2);
    expect(c.err()).toContain(`[${code}]`);
  });
  it('exits 2 on a config that is not JSON', async () => {
    const cfg = join(dir, 'broken.json');
    writeFileSync(cfg, '{ nope');
    const c = capture();
    expect(await main(['node', 'cellbudget', 'split', `${DATASETS}/tiny.h5ad`, '--config', cfg], c.io)).toBe(2);
    expect(c.err()).toContain('[CONFIG_INVALID]');
  });
});
