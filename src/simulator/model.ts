/**
 * The simulator's inputs: what is known of one dataset (sizes, dtype, obs, the
 * distribution/split structure), and the byte figures every strategy step is built from.
 * Pure: no I/O. Inputs come from a scenario (synthetic spec or documented `model:`),
 * from `inspect` of a real file, or from the command line.
 */
import { CellbudgetError } from '../core/errors.js';
import { roundShare } from '../pipeline/round.js';
import type { Split } from '../core/names.js';
import { SPLITS } from '../core/names.js';

/**
 * How a dataset's GroupedDistribution divides between its splits, as shares of the
 * GroupedDistribution's array bytes. Perturbed arrays belong to one split each; control
 * (source) arrays are shared by every split whose targets reference them.
 */
export interface SplitStructure {
  /** Share of the grouped bytes in each split's perturbed (target) arrays; disjoint. */
  readonly perturbed: Readonly<Record<Split, number>>;
  /** Share of the grouped bytes in the control arrays each split references. */
  readonly sources: Readonly<Record<Split, number>>;
  /** Share of the grouped bytes in control arrays referenced by at least one split. */
  readonly sourcesUnion: number;
}

/** Everything the simulator needs about one dataset, at the size being simulated. */
export interface DatasetModel {
  readonly name: string;
  readonly cells: number;
  readonly features: number;
  /** Bytes per value of the representation (4 float32, 8 float64). */
  readonly itemsize: number;
  /** Bytes of the representation once loaded (dense: cells × features × itemsize; CSR: data+indices+indptr). */
  readonly representationBytes: number;
  /**
   * obs bytes per cell in memory when known (documented or measured); undefined means
   * "use the calibrated runtime constant" (`obs_bytes_per_cell`).
   */
  readonly obsBytesPerCell?: number;
  /** Bytes of uns (embeddings) once loaded; small for most data. */
  readonly unsBytes: number;
  readonly controlFraction: number;
  /** Fraction of the cells copied into a distribution (control rows of a source, perturbed rows of a target). */
  readonly groupedFraction: number;
  readonly structure: SplitStructure;
}

/** Split ratios and the columns the split is by, as the pipeline config has them. */
export interface SplitSpec {
  readonly split_by: readonly string[];
  readonly ratios: readonly [number, number, number];
}

/** A synthetic dataset as the generator builds it (at the size being simulated). */
export interface SyntheticShape {
  readonly cells: number;
  readonly features: number;
  readonly cell_lines: number;
  readonly drugs: number;
  readonly doses: number;
  readonly control_fraction: number;
  readonly itemsize: number;
  /** CSR density; undefined for dense. */
  readonly density?: number | undefined;
}

/** Bytes of one row of a dense copy (what grouping allocates per cell). */
export function rowBytes(d: Pick<DatasetModel, 'features' | 'itemsize'>): number {
  return d.features * d.itemsize;
}

/** Bytes of the GroupedDistribution's arrays: a dense copy of every grouped row. */
export function groupedBytes(d: DatasetModel): number {
  return d.cells * d.groupedFraction * rowBytes(d);
}

/**
 * Bytes referenced by a set of kept splits. The sources of several splits overlap; for
 * all three the union is known, for a single split it is that split's sources, and for
 * two (no strategy keeps exactly two) the larger of the two is a lower bound we accept.
 */
export function keptBytes(d: DatasetModel, kept: ReadonlySet<Split>): number {
  if (kept.size === 0) return 0;
  const s = d.structure;
  let share = 0;
  for (const k of kept) share += s.perturbed[k];
  if (kept.size === SPLITS.length) share += s.sourcesUnion;
  else share += Math.max(...[...kept].map((k) => s.sources[k]));
  return groupedBytes(d) * share;
}

/**
 * The split structure of a synthetic dataset: cells spread evenly over cell line × drug ×
 * dose; split_by tuples are assigned by counts (`round(r·n)` half to even, test the rest).
 * A split's share of perturbed cells is its share of tuples; a cell line's controls are
 * referenced by a split when the split owns at least one of that cell line's tuples.
 */
export function syntheticStructure(shape: SyntheticShape, split: SplitSpec): SplitStructure {
  const axes = split.split_by.map((col) => axisSize(col, shape));
  const n = axes.reduce((a, b) => a * b, 1);
  const byCellLine = split.split_by.some(isCellLineColumn);
  const train = roundShare(split.ratios[0], n);
  const val = roundShare(split.ratios[1], n);
  const counts: Record<Split, number> = { train, val, test: n - train - val };
  const c = shape.control_fraction;
  const perturbed = {} as Record<Split, number>;
  const sources = {} as Record<Split, number>;
  for (const k of SPLITS) {
    const m = Math.max(0, counts[k]);
    perturbed[k] = (1 - c) * (m / n);
    // Probability that a given cell line owns at least one of the split's m tuples.
    const refFraction = m === 0 ? 0 : byCellLine ? 1 - hypergeomNone(n, n / shape.cell_lines, m) : 1;
    sources[k] = c * refFraction;
  }
  // With split_by on cell lines the splits partition the tuples, so together they reach every cell line.
  return { perturbed, sources, sourcesUnion: c };
}

/** P(no success) drawing m of n items, of which `good` are successes, without replacement. */
function hypergeomNone(n: number, good: number, m: number): number {
  let p = 1;
  for (let i = 0; i < m; i++) {
    p *= Math.max(0, n - good - i) / (n - i);
    if (p === 0) break;
  }
  return p;
}

function isCellLineColumn(col: string): boolean {
  return /cell|line/i.test(col);
}

function axisSize(col: string, shape: SyntheticShape): number {
  if (isCellLineColumn(col)) return shape.cell_lines;
  if (/dos/i.test(col)) return shape.doses;
  // The synthetic data's remaining split key is the drug (or its SMILES, a 1:1 label).
  return shape.drugs;
}

/** A dataset model for a synthetic shape. */
export function syntheticDataset(name: string, shape: SyntheticShape, split: SplitSpec): DatasetModel {
  const dense = shape.cells * shape.features * shape.itemsize;
  const representationBytes =
    shape.density === undefined ? dense : shape.cells * shape.features * shape.density * (shape.itemsize + 4) + (shape.cells + 1) * 8;
  return {
    name,
    cells: shape.cells,
    features: shape.features,
    itemsize: shape.itemsize,
    representationBytes,
    unsBytes: 0,
    controlFraction: shape.control_fraction,
    groupedFraction: 1,
    structure: syntheticStructure(shape, split),
  };
}

/**
 * Documented structure (a scenario's `model:` section, or `--dataset` keys), as byte
 * shares of the GroupedDistribution: `kept_fraction` of it is referenced by any split,
 * `test_fraction` by the test split; train/val share the rest of `kept` by their ratios.
 * Unknown control/perturbed composition is modelled as all-perturbed (no shared sources).
 */
export function documentedStructure(kept: number, test: number, ratios: readonly [number, number, number]): SplitStructure {
  const rest = Math.max(0, kept - test);
  const tv = ratios[0] + ratios[1];
  return {
    perturbed: { train: tv > 0 ? (rest * ratios[0]) / tv : 0, val: tv > 0 ? (rest * ratios[1]) / tv : 0, test },
    sources: { train: 0, val: 0, test: 0 },
    sourcesUnion: 0,
  };
}

/** Reject impossible inputs with a message naming the input. */
export function validateDataset(d: DatasetModel): DatasetModel {
  const where = `dataset '${d.name}'`;
  const nonNeg = (v: number, key: string): void => {
    if (!Number.isFinite(v) || v < 0) {
      throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `${where}: ${key} must be a non-negative number, got ${v}.`, {
        key: `${d.name}.${key}`,
        value: v,
        hint: 'Sizes and counts cannot be negative; fix the value.',
      });
    }
  };
  const frac = (v: number, key: string): void => {
    if (!Number.isFinite(v) || v < 0 || v > 1) {
      throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `${where}: ${key} must be a fraction between 0 and 1, got ${v}.`, {
        key: `${d.name}.${key}`,
        value: v,
        hint: 'Write fractions as 0–1 (e.g. 0.15), not percentages.',
      });
    }
  };
  nonNeg(d.cells, 'cells');
  nonNeg(d.features, 'features');
  nonNeg(d.representationBytes, 'size');
  nonNeg(d.unsBytes, 'uns bytes');
  if (d.obsBytesPerCell !== undefined) nonNeg(d.obsBytesPerCell, 'obs_bytes_per_cell');
  if (d.itemsize !== 4 && d.itemsize !== 8) {
    throw new CellbudgetError('SCENARIO_IMPOSSIBLE', `${where}: dtype item size must be 4 (float32) or 8 (float64), got ${d.itemsize}.`, {
      key: `${d.name}.dtype`,
      value: d.itemsize,
      hint: 'Use dtype float32 or float64.',
    });
  }
  frac(d.controlFraction, 'control fraction');
  frac(d.groupedFraction, 'grouped_fraction');
  const s = d.structure;
  for (const k of SPLITS) {
    frac(s.perturbed[k], `${k} perturbed share`);
    frac(s.sources[k], `${k} sources share`);
  }
  frac(s.sourcesUnion, 'sources union share');
  const total = SPLITS.reduce((a, k) => a + s.perturbed[k], 0) + s.sourcesUnion;
  if (total > 1 + 1e-9) {
    throw new CellbudgetError(
      'SCENARIO_IMPOSSIBLE',
      `${where}: the splits reference ${(total * 100).toFixed(1)}% of the GroupedDistribution, more than all of it.`,
      {
        key: `${d.name}.model`,
        value: total,
        hint: 'The test fraction cannot exceed the kept fraction, and the kept fraction cannot exceed 1.',
      },
    );
  }
  return d;
}
