/**
 * The synthetic dataset spec, in one place: what a scenario's `synthetic:` may say, its one set
 * of defaults, the size arithmetic behind `size:`, and how a full-scale spec maps onto this
 * machine (its zod schema is in ./model.ts). Scaling shrinks the number of conditions (cell lines × drugs × doses),
 * not the cells per distribution, so the allocator sees group arrays of realistic size
 * (docs/measurement.md#rungs-stay-realistic). The
 * generator (src/h5ad/synth.ts) and the simulator take their defaults from here. Pure.
 */
import { itemSize, type FloatDtype } from '../core/data.js';
import { CellbudgetError } from '../core/errors.js';
import { parseBytes } from '../core/units.js';
import { roundShare } from '../pipeline/round.js';

export type SynthFormat = 'dense' | 'csr';

/** The defaults of every synthetic dataset (a scenario's `synthetic:`, `cellbudget synth`, the simulator). */
export const SYNTHETIC_DEFAULTS = {
  features: 50,
  cell_lines: 5,
  drugs: 20,
  doses: [0.1, 1, 10] as readonly number[],
  control_fraction: 0.05,
  dtype: 'float32' as FloatDtype,
  compression: 'none' as 'gzip' | 'none',
  representation: 'dense' as SynthFormat,
  /** CSR only: the share of each row stored. */
  density: 0.1,
  seed: 0,
  keep_conditions: false,
} as const;

const D = SYNTHETIC_DEFAULTS;
/**
 * A synthetic dataset as a scenario describes it, defaults applied (full scale): the output of
 * src/scenario/model.ts `syntheticSchema`, which checks it matches. Kept free of zod so the
 * generator (and `cellbudget/h5ad`) can use the spec without loading the schemas.
 */
export interface SyntheticSpec {
  /** The dense representation's bytes at full scale ("132GB"); exactly one of size / cells. */
  size?: string | number;
  cells?: number;
  features: number;
  cell_lines: number;
  drugs: number;
  doses: number[];
  control_fraction: number;
  dtype: FloatDtype;
  compression: 'gzip' | 'none';
  representation: SynthFormat;
  density: number;
  seed: number;
  /** Keep the condition count as written instead of shrinking it with the scale. */
  keep_conditions: boolean;
}

/** Stored entries per CSR row: round(density × features), at least 1. */
export function nnzPerRow(features: number, density: number): number {
  return Math.max(1, Math.min(features, Math.round(density * features)));
}

/** Representation bytes per cell, and the fixed part (CSR's extra indptr entry): data + int32 indices + int64 indptr. */
export function representationRowBytes(
  features: number,
  dtype: FloatDtype,
  format: SynthFormat,
  density: number,
): { perRow: number; fixed: number } {
  const item = itemSize(dtype);
  if (format === 'dense') return { perRow: features * item, fixed: 0 };
  return { perRow: nnzPerRow(features, density) * (item + 4) + 8, fixed: 8 };
}

/**
 * The number of cells whose representation takes at most `bytes` in memory in `format`.
 * A scenario's `size:` is the dense size (what the dataset stands for at full scale, however
 * it is stored); `cellbudget synth --size` counts the format's own bytes.
 */
export function cellsForBytes(
  bytes: number,
  features: number,
  dtype: FloatDtype,
  format: SynthFormat = 'dense',
  density: number = D.density,
): number {
  const { perRow, fixed } = representationRowBytes(features, dtype, format, density);
  return Math.max(0, Math.floor((bytes - fixed) / perRow));
}

/** The split a scaled dataset is cut by: which columns, which ratios. */
export interface ScalingSplit {
  readonly split_by: readonly string[];
  readonly ratios: readonly [number, number, number];
}

/** Shares of train / val / test among n split_by values, as the splitter sizes them. */
export function splitShares(ratios: readonly [number, number, number], n: number): [number, number, number] {
  const train = roundShare(ratios[0], n);
  const val = roundShare(ratios[1], n);
  return [train / n, val / n, (n - train - val) / n];
}

/**
 * A split_by axis size near `target` (and at least `min`) whose split shares match the full
 * dataset's within half a percent, searching upward. The split shares decide what a strategy
 * keeps: with the 10 drugs of a floored rung a 0.7/0.15/0.15 split keeps 1 test drug in 10,
 * against 57 in 380 at full scale, so a secondary's test split was 14.5% of its data at the
 * rungs and 19.25% at full scale, and every figure after it projected 4% low.
 */
export function matchingAxis(target: number, min: number, full: number, ratios: readonly [number, number, number]): number {
  const want = splitShares(ratios, full);
  const err = (n: number): number => Math.max(...splitShares(ratios, n).map((v, i) => Math.abs(v - want[i]!)));
  // Never more values than the full dataset has: below the floor, its own count is the match
  // (3 drugs scaled to 10 would give the rungs a test split the full dataset does not have).
  const start = Math.min(full, Math.max(min, Math.round(target)));
  let best = start;
  for (let n = start; n <= Math.max(start * 4, start + 40) && n <= full; n++) {
    const e = err(n);
    if (e <= 0.005) return n;
    if (e < err(best)) best = n;
  }
  return best;
}

/** The concrete generator parameters of a dataset at a given scale. */
export interface ScaledSynthetic {
  cells: number;
  features: number;
  cell_lines: number;
  drugs: number;
  doses: number[];
  control_fraction: number;
  dtype: 'float32' | 'float64';
  compression: 'gzip' | 'none';
  representation: SynthFormat;
  density: number;
  seed: number;
  /** Full-scale figures this dataset stands for. */
  full: { cells: number; conditions: number; representation_bytes: number };
}

// Enough split_by values that ratios like 0.7/0.15/0.15 give every split at least one.
const MIN_DRUGS = 10;
const MIN_CELL_LINES = 2;

/**
 * A synthetic dataset at `scale`. With `split`, the axis the split is by (drugs or cell lines)
 * takes a size whose split shares match the full dataset's (see matchingAxis).
 */
// A family's members differ only in seed and name: scaling one answers for all (a family of
// 100,000 datasets × 3 rungs is planned in the preflight before anything runs).
const scaled = new Map<string, ScaledSynthetic>();

export function scaleSynthetic(def: SyntheticSpec, scale: number, where = 'synthetic', split?: ScalingSplit): ScaledSynthetic {
  const key = JSON.stringify([{ ...def, seed: 0 }, scale, split ?? null]);
  const hit = scaled.get(key);
  if (hit) return { ...hit, seed: def.seed };
  const out = scaleSyntheticOnce(def, scale, where, split);
  if (scaled.size > 1000) scaled.clear();
  scaled.set(key, out);
  return out;
}

function scaleSyntheticOnce(def: SyntheticSpec, scale: number, where: string, split?: ScalingSplit): ScaledSynthetic {
  const fullCells = def.cells ?? cellsForBytes(parseBytes(def.size ?? 0, `${where}.size`), def.features, def.dtype);
  const cells = Math.max(1, Math.round(fullCells * scale));
  const doses = def.doses.length;
  const fullConditions = def.cell_lines * def.drugs * doses;
  let cellLines = def.cell_lines;
  let drugs = def.drugs;
  if (!def.keep_conditions && scale < 1) {
    const target = Math.max(1, fullConditions * scale);
    // Shrink both axes by the same factor, keep the minimums, then fill drugs to the target.
    const k = Math.sqrt(target / fullConditions);
    cellLines = Math.min(def.cell_lines, Math.max(MIN_CELL_LINES, Math.round(def.cell_lines * k)));
    drugs = Math.min(def.drugs, Math.max(MIN_DRUGS, Math.round(target / (cellLines * doses))));
    const by = split?.split_by ?? [];
    if (split && by.length === 1 && /drug|smiles/i.test(by[0]!)) {
      drugs = matchingAxis(drugs, MIN_DRUGS, def.drugs, split.ratios);
      cellLines = Math.min(def.cell_lines, Math.max(MIN_CELL_LINES, Math.round(target / (drugs * doses))));
    } else if (split && by.length === 1 && /cell|line/i.test(by[0]!)) {
      cellLines = matchingAxis(cellLines, MIN_CELL_LINES, def.cell_lines, split.ratios);
      drugs = Math.min(def.drugs, Math.max(MIN_DRUGS, Math.round(target / (cellLines * doses))));
    }
  }
  const perturbedCells = Math.floor(cells * (1 - def.control_fraction));
  if (perturbedCells < cellLines * drugs * doses || Math.floor(cells * def.control_fraction) < cellLines) {
    throw new CellbudgetError(
      'SCENARIO_IMPOSSIBLE',
      `${where}: at scale ${scale} the dataset has ${cells} cells, too few for ${cellLines} cell lines × ${drugs} drugs × ${doses} doses with control fraction ${def.control_fraction}.`,
      { key: where, hint: 'Raise `scale` or the dataset size, or lower the number of conditions.' },
    );
  }
  return {
    cells,
    features: def.features,
    cell_lines: cellLines,
    drugs,
    doses: def.doses,
    control_fraction: def.control_fraction,
    dtype: def.dtype,
    compression: def.compression,
    representation: def.representation,
    density: def.density,
    seed: def.seed,
    full: { cells: fullCells, conditions: fullConditions, representation_bytes: fullCells * def.features * itemSize(def.dtype) },
  };
}
