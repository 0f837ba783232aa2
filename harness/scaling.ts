/**
 * Mapping a full-scale synthetic dataset onto this machine. DESIGN §4: shrink the number
 * of conditions (cell lines × drugs × doses), not the cells per distribution, so the
 * allocator sees group arrays of realistic size.
 */
import { CellbudgetError } from '../src/errors.js';
import { parseBytes } from '../src/units.js';
import type { SyntheticDef } from './scenario.js';

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

export function scaleSynthetic(def: SyntheticDef, scale: number, where = 'synthetic'): ScaledSynthetic {
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
