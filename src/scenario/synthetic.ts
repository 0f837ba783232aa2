/**
 * Mapping a full-scale synthetic dataset onto this machine. DESIGN §4: shrink the number
 * of conditions (cell lines × drugs × doses), not the cells per distribution, so the
 * allocator sees group arrays of realistic size.
 */
import { CellbudgetError } from '../core/errors.js';
import { roundShare } from '../pipeline/round.js';
import { parseBytes } from '../core/units.js';
import type { SyntheticDef } from '../harness/scenario.js';

/** The split a scaled dataset is cut by: which columns, which ratios. */
export interface ScalingSplit {
  readonly split_by: readonly string[];
  readonly ratios: readonly [number, number, number];
}

/** Shares of train / val / test among n split_by values, as the splitter sizes them. */
function splitShares(ratios: readonly [number, number, number], n: number): [number, number, number] {
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
  const start = Math.max(min, Math.round(target));
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
  representation: 'dense' | 'csr';
  density?: number;
  seed: number;
  /** Full-scale figures this dataset stands for. */
  full: { cells: number; conditions: number; representation_bytes: number };
}

// Enough split_by values that ratios like 0.7/0.15/0.15 give every split at least one.
const MIN_DRUGS = 10;
const MIN_CELL_LINES = 2;

/** Cells of a dataset whose dense representation takes `bytes` (the meaning of `size:`). */
export function cellsForSize(bytes: number, features: number, dtype: 'float32' | 'float64'): number {
  return Math.floor(bytes / (features * (dtype === 'float32' ? 4 : 8)));
}

/**
 * A synthetic dataset at `scale`. With `split`, the axis the split is by (drugs or cell lines)
 * takes a size whose split shares match the full dataset's (see matchingAxis).
 */
// A family's members differ only in seed and name: scaling one answers for all (a family of
// 100,000 datasets × 3 rungs is planned in the preflight before anything runs).
const scaled = new Map<string, ScaledSynthetic>();

export function scaleSynthetic(def: SyntheticDef, scale: number, where = 'synthetic', split?: ScalingSplit): ScaledSynthetic {
  const key = JSON.stringify([{ ...def, seed: 0 }, scale, split ?? null]);
  const hit = scaled.get(key);
  if (hit) return { ...hit, seed: def.seed };
  const out = scaleSyntheticOnce(def, scale, where, split);
  if (scaled.size > 1000) scaled.clear();
  scaled.set(key, out);
  return out;
}

function scaleSyntheticOnce(def: SyntheticDef, scale: number, where: string, split?: ScalingSplit): ScaledSynthetic {
  const itemsize = def.dtype === 'float32' ? 4 : 8;
  const fullCells = def.cells ?? cellsForSize(parseBytes(def.size ?? 0, `${where}.size`), def.features, def.dtype);
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
    ...(def.density !== undefined ? { density: def.density } : {}),
    seed: def.seed,
    full: { cells: fullCells, conditions: fullConditions, representation_bytes: fullCells * def.features * itemsize },
  };
}
