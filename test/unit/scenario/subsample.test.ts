// Choosing a rung's conditions (src/scenario/subsample.ts) on obs tables in memory: whole
// conditions with their controls, the split shares of the full file, the reached scale, seeded
// choices, and refusals with a way forward.
import { describe, expect, it } from 'vitest';
import type { ObsColumn } from '../../../src/core/data.js';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { parsePipelineConfig, type PipelineConfig } from '../../../src/pipeline/config.js';
import { memorySource } from '../../../src/pipeline/source-memory.js';
import { datasetSchema } from '../../../src/scenario/model.js';
import { splitShares } from '../../../src/scenario/synthetic.js';
import { conditionKeys, minSplitValues, selectConditions, type ConditionKeys } from '../../../src/scenario/subsample.js';

interface Design {
  lines: number;
  drugs: number;
  doses: number;
  /** Cells of condition (line, drug, dose): varied so that conditions differ in size. */
  cells: (l: number, d: number, k: number) => number;
  controlsPerLine: number;
  /** Cells with no flag value (nullable flag masked), appended. */
  seed?: number;
}

const made = new Map<Design, { columns: ObsColumn[]; n: number }>();

/** An obs table: rows shuffled deterministically; drug 0 is the control drug (DMSO). Made once per design. */
function obsOf(d: Design): { columns: ObsColumn[]; n: number } {
  let hit = made.get(d);
  if (!hit) made.set(d, (hit = makeObs(d)));
  return hit;
}

function makeObs(d: Design): { columns: ObsColumn[]; n: number } {
  const rows: Array<[number, number, number, boolean]> = [];
  for (let l = 0; l < d.lines; l++) {
    for (let c = 0; c < d.controlsPerLine; c++) rows.push([l, 0, 0, true]);
    for (let g = 1; g <= d.drugs; g++)
      for (let k = 0; k < d.doses; k++) for (let c = 0; c < d.cells(l, g, k); c++) rows.push([l, g, k + 1, false]);
  }
  let s = d.seed ?? 1;
  for (let i = rows.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  const n = rows.length;
  const doseValues = [0, 0.1, 1, 10, 100];
  return {
    n,
    columns: [
      {
        kind: 'categorical',
        name: 'cell_line',
        codes: Int16Array.from(rows, (r) => r[0]),
        categories: Array.from({ length: d.lines }, (_, i) => `line${i}`),
        ordered: false,
      },
      {
        kind: 'categorical',
        name: 'drug',
        codes: Int16Array.from(rows, (r) => r[1]),
        categories: ['DMSO', ...Array.from({ length: d.drugs }, (_, i) => `drug${i}`)],
        ordered: false,
      },
      { kind: 'numeric', name: 'dosage', dtype: 'float64', values: Float64Array.from(rows, (r) => doseValues[r[2]]!) },
      { kind: 'boolean', name: 'control', values: Uint8Array.from(rows, (r) => (r[3] ? 1 : 0)) },
    ],
  };
}

const PIPELINE: PipelineConfig = parsePipelineConfig({
  dist_flag_key: 'control',
  src_dist_keys: ['cell_line'],
  tgt_dist_keys: ['drug', 'dosage'],
  data_location: ['obsm', 'X_pca'],
  split: { split_by: ['drug'], ratios: [0.7, 0.15, 0.15] },
});

const keysOf = (pipeline: PipelineConfig = PIPELINE, seed = 0): ConditionKeys =>
  conditionKeys({ name: 'd', subsample: { seed } }, pipeline, 'test');

/** Per kept row, its (line, drug, dose) and control flag; then every check of "whole conditions". */
function checkWhole(columns: readonly ObsColumn[], rows: Int32Array): { conditions: Set<number>; lines: Set<number> } {
  const [line, drug, dose, control] = columns as [
    Extract<ObsColumn, { kind: 'categorical' }>,
    Extract<ObsColumn, { kind: 'categorical' }>,
    Extract<ObsColumn, { kind: 'numeric' }>,
    Extract<ObsColumn, { kind: 'boolean' }>,
  ];
  const kept = new Uint8Array(line.codes.length);
  for (const r of rows) kept[r] = 1;
  const key = (i: number): number => line.codes[i]! * 1e7 + drug.codes[i]! * 1e3 + Math.round(Number(dose.values[i]!) * 10);
  const conditions = new Set<number>();
  const lines = new Set<number>();
  for (const r of rows) {
    if (!control.values[r]) {
      conditions.add(key(r));
      lines.add(line.codes[r]!);
    }
  }
  const wrong: string[] = [];
  for (let i = 0; i < kept.length && wrong.length < 5; i++) {
    const want = control.values[i] ? lines.has(line.codes[i]!) : conditions.has(key(i));
    if (!!kept[i] !== want) wrong.push(`${control.values[i] ? 'control' : 'cell'} ${i} of ${key(i)}: ${kept[i] ? 'kept' : 'dropped'}`);
  }
  expect(wrong).toEqual([]);
  return { conditions, lines };
}

const tahoeLike: Design = { lines: 50, drugs: 380, doses: 3, cells: (l, g, k) => 2 + ((l * 7 + g * 3 + k) % 5), controlsPerLine: 40 };

describe('choosing the conditions of a rung', () => {
  it('keeps whole conditions: every cell of a kept (line, drug, dose), the controls of its line, nothing else', () => {
    const { columns, n } = obsOf(tahoeLike);
    const src = memorySource({ obs: columns });
    for (const scale of [1 / 32, 1 / 16, 0.3]) {
      const s = selectConditions(src, keysOf(), scale);
      const { conditions, lines } = checkWhole(columns, s.rows);
      expect(s.conditions.kept).toBe(conditions.size);
      expect(s.axes[0]!.kept).toBe(lines.size);
      expect(s.cells).toBe(s.rows.length);
      expect(s.totalCells).toBe(n);
      // Rows ascend (file order).
      for (let i = 1; i < s.rows.length; i++) expect(s.rows[i]!).toBeGreaterThan(s.rows[i - 1]!);
    }
  });

  it('a kept drug keeps all its doses, and the split axis keeps the full file’s split shares', () => {
    const { columns } = obsOf(tahoeLike);
    const src = memorySource({ obs: columns });
    const full = splitShares([0.7, 0.15, 0.15], 380);
    for (const scale of [1 / 32, 1 / 16, 1 / 8]) {
      const s = selectConditions(src, keysOf(), scale);
      // (line, drug) kept => all 3 doses kept: conditions = lines x drugs x 3.
      expect(s.conditions.kept).toBe(s.axes[0]!.kept * s.axes[1]!.kept * 3);
      expect(s.split!.kept).toBe(s.axes[1]!.kept);
      s.split!.shares.forEach((v, i) => expect(Math.abs(v - full[i]!), `scale ${scale}`).toBeLessThanOrEqual(0.005));
      expect(s.split!.fullShares).toEqual(full);
    }
  });

  it('reports the scale it reached, near the one asked, and a byte-free cell count', () => {
    const { columns } = obsOf(tahoeLike);
    const src = memorySource({ obs: columns });
    for (const scale of [1 / 32, 1 / 16, 1 / 4]) {
      const s = selectConditions(src, keysOf(), scale);
      expect(s.requestedScale).toBe(scale);
      expect(s.reachedScale).toBe(s.cells / s.totalCells);
      expect(Math.abs(s.reachedScale / scale - 1), `scale ${scale}`).toBeLessThan(0.15);
    }
  });

  it('is deterministic for a seed, and another seed keeps other values', () => {
    const { columns } = obsOf(tahoeLike);
    const src = memorySource({ obs: columns });
    const a = selectConditions(src, keysOf(PIPELINE, 3), 1 / 16);
    const b = selectConditions(src, keysOf(PIPELINE, 3), 1 / 16);
    const c = selectConditions(src, keysOf(PIPELINE, 4), 1 / 16);
    expect(Array.from(b.rows)).toEqual(Array.from(a.rows));
    expect(c.axes[1]!.keptValues).not.toEqual(a.axes[1]!.keptValues);
  });

  it('splits by cell line: the cell-line axis keeps the shares, drugs fill the cells', () => {
    const design: Design = { lines: 40, drugs: 30, doses: 2, cells: () => 4, controlsPerLine: 10 };
    const { columns } = obsOf(design);
    const byLine = parsePipelineConfig({ ...PIPELINE, split: { split_by: ['cell_line'], ratios: [0.6, 0.2, 0.2] } });
    const s = selectConditions(memorySource({ obs: columns }), keysOf(byLine), 0.1);
    checkWhole(columns, s.rows);
    expect(s.split!.by).toEqual(['cell_line']);
    expect(s.split!.shares).toEqual(splitShares([0.6, 0.2, 0.2], s.axes[0]!.kept));
    s.split!.shares.forEach((v, i) => expect(Math.abs(v - s.split!.fullShares[i]!)).toBeLessThanOrEqual(0.005));
  });

  it('refuses a scale too small for one whole condition per split, naming the smallest that works; that one works', () => {
    const { columns } = obsOf(tahoeLike);
    const src = memorySource({ obs: columns });
    let smallest = 0;
    try {
      selectConditions(src, keysOf(), 1e-5);
      expect.unreachable('a scale of 1e-5 keeps about 2 cells');
    } catch (e) {
      expect(isCellbudgetError(e) && e.code).toBe('SCENARIO_IMPOSSIBLE');
      expect((e as Error).message).toMatch(/smallest rung of whole conditions/);
      expect((e as Error).message).toMatch(/at least one drug value in each of train, val and test/);
      smallest = (e as { value: { smallest_scale: number } }).value.smallest_scale;
    }
    expect(smallest).toBeGreaterThan(1e-5);
    const s = selectConditions(src, keysOf(), smallest);
    expect(s.split!.kept).toBeGreaterThanOrEqual(minSplitValues([0.7, 0.15, 0.15], 380)!);
    expect(s.reachedScale).toBeLessThanOrEqual(smallest * 2);
  });

  it('refuses a file whose split values cannot fill train, val and test at any scale', () => {
    const { columns } = obsOf({ lines: 3, drugs: 2, doses: 1, cells: () => 5, controlsPerLine: 3 });
    expect(() => selectConditions(memorySource({ obs: columns }), keysOf(), 0.5)).toThrow(/cannot be split/);
  });

  it('with `by` and a derived control: control-only values (DMSO) are kept with the cell lines they belong to', () => {
    const { columns } = obsOf(tahoeLike);
    const keys = conditionKeys(
      {
        name: 'd',
        subsample: {
          by: ['cell_line', 'drug'],
          control: { column: 'drug', equals: 'DMSO' },
          split_by: ['drug'],
          ratios: [0.7, 0.15, 0.15],
          seed: 0,
        },
      },
      undefined,
      'test',
    );
    const s = selectConditions(memorySource({ obs: columns }), keys, 1 / 16);
    checkWhole(columns, s.rows);
    expect(s.controlCells).toBe(s.axes[0]!.kept * 40);
    expect(s.axes[1]!.total).toBe(380);
    expect(s.notes).toEqual([]);
  });

  it('with `by` and no control: a note says controls are a condition like any other', () => {
    const { columns } = obsOf(tahoeLike);
    const keys = conditionKeys({ name: 'd', subsample: { by: ['cell_line', 'drug'], seed: 0 } }, undefined, 'test');
    const s = selectConditions(memorySource({ obs: columns }), keys, 1 / 8);
    expect(s.axes[1]!.total).toBe(381);
    expect(s.notes.join(' ')).toMatch(/no control flag given/);
  });

  it('cells in no condition (a control cell line without perturbed cells) are in no rung, and said so', () => {
    const design: Design = { lines: 6, drugs: 40, doses: 1, cells: (l) => (l === 5 ? 0 : 5), controlsPerLine: 8 };
    const { columns } = obsOf(design);
    const s = selectConditions(memorySource({ obs: columns }), keysOf(), 0.3);
    expect(s.notes.join(' ')).toMatch(/8 control cells share no value with a perturbed cell/);
    checkWhole(columns, s.rows);
  });

  it('needs condition keys: a file dataset without a pipeline or subsample.by is refused with the key to add', () => {
    try {
      conditionKeys({ name: 'tahoe' }, undefined, 'scenarios/mine.yaml');
      expect.unreachable();
    } catch (e) {
      expect(isCellbudgetError(e) && e.code).toBe('SCENARIO_INVALID');
      expect((e as Error).message).toMatch(/scenarios\/mine\.yaml: dataset 'tahoe' is a file/);
      expect((e as Error).message).toMatch(/subsample: \{ by: \[cell_line, drug\]/);
    }
  });

  it('the pipeline keys: a source axis (src keys) and the split tgt keys as the perturbation axis', () => {
    expect(keysOf().axes).toEqual([['cell_line'], ['drug']]);
    expect(keysOf().conditionColumns).toEqual(['cell_line', 'drug', 'dosage']);
    const combos = parsePipelineConfig({ ...PIPELINE, split: { split_by: ['drug', 'dosage'], ratios: [0.7, 0.15, 0.15] } });
    expect(keysOf(combos).axes).toEqual([['cell_line'], ['drug', 'dosage']]);
    const byLine = parsePipelineConfig({ ...PIPELINE, split: { split_by: ['cell_line'], ratios: [0.7, 0.15, 0.15] } });
    expect(keysOf(byLine).axes).toEqual([['cell_line'], ['drug']]);
  });
});

describe('the dataset schema’s subsample section', () => {
  const parse = (d: unknown): ReturnType<typeof datasetSchema.safeParse> => datasetSchema.safeParse(d);
  it('is for file datasets; split_by names columns of by; ratios go with split_by and sum to 1', () => {
    expect(
      parse({ name: 'a', file: 'a.h5ad', subsample: { by: ['cell_line', 'drug'], split_by: ['drug'], ratios: [0.7, 0.15, 0.15] } }).success,
    ).toBe(true);
    expect(parse({ name: 'a', file: 'a.h5ad', subsample: { seed: 3 } }).success).toBe(true);
    expect(parse({ name: 'a', synthetic: { cells: 10 }, subsample: { by: ['x'] } }).success).toBe(false);
    expect(
      parse({ name: 'a', file: 'a.h5ad', subsample: { by: ['cell_line'], split_by: ['drug'], ratios: [0.7, 0.15, 0.15] } }).success,
    ).toBe(false);
    expect(parse({ name: 'a', file: 'a.h5ad', subsample: { by: ['drug'], split_by: ['drug'] } }).success).toBe(false);
    expect(parse({ name: 'a', file: 'a.h5ad', subsample: { by: ['drug'], split_by: ['drug'], ratios: [0.5, 0.3, 0.3] } }).success).toBe(
      false,
    );
    expect(parse({ name: 'a', file: 'a.h5ad', subsample: { control: 'control' } }).success).toBe(false);
  });
});
