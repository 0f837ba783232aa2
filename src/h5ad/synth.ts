/**
 * Synthetic perturbation datasets, deterministic for a seed: cells spread evenly over
 * every (cell line, drug, dose) condition plus one control condition per cell line,
 * shuffled; a representation whose rows depend on their condition; drug and cell-line
 * embeddings in `uns`. Written as an h5ad that Python anndata 0.8 reads, in row windows.
 *
 * Scaling down shrinks the number of conditions, not the cells per condition
 * (docs/measurement.md#rungs-stay-realistic): the caller picks cell lines, drugs and doses, and the cell count
 * (given, or derived from a target size) is spread over them.
 */
import { createHash } from 'node:crypto';
import { renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CellbudgetError } from '../core/errors.js';
import { allocFloat, type FloatArray, type FloatDtype } from '../core/data.js';
import { parseBytes } from '../core/units.js';
import {
  cellsForBytes,
  nnzPerRow,
  representationRowBytes,
  SYNTHETIC_DEFAULTS,
  type ScaledSynthetic,
  type SynthFormat,
} from '../scenario/synthetic.js';
// The writer instantiates h5wasm when it loads: imported by synthesize, on first use.
import type { H5adWriter, MatrixCompression } from './write.js';

/** Where the representation goes: `obsm/X_pca` (what the training script reads) or `X`. */
export type SynthLocation = 'obsm/X_pca' | 'X';
export type { SynthFormat };

/** A fully resolved synthetic dataset description. `resolveSynthSpec` builds one from options. */
export interface SynthSpec {
  readonly cells: number;
  /** Columns of the representation (PCA components, or genes for X). */
  readonly features: number;
  readonly cellLines: number;
  /** Perturbing drugs, not counting the control drug. */
  readonly drugs: number;
  /** Doses each drug is given at (every drug at every dose). */
  readonly doses: readonly number[];
  /** Fraction of cells that are controls, in [0, 1). */
  readonly controlFraction: number;
  /** The control drug's label (in the drug categories and embeddings). */
  readonly controlDrug: string;
  readonly dtype: FloatDtype;
  readonly compression: MatrixCompression;
  readonly gzipLevel: number;
  /** Rows per HDF5 chunk of the representation. */
  readonly chunkRows: number;
  readonly dataLocation: SynthLocation;
  readonly format: SynthFormat;
  /** Fraction of stored values per row for CSR (each row has round(density x features) entries). */
  readonly density: number;
  readonly embeddingDim: number;
  readonly embeddingDtype: FloatDtype;
  readonly seed: number;
}

/** What a caller may give: everything optional but exactly one of `cells` / `size`. */
export interface SynthOptions {
  readonly cells?: number;
  /**
   * Target in-memory size of the representation ("132MB", or bytes): dense
   * cells x features x itemsize; CSR data + int32 indices + int64 indptr. The cell count is
   * the largest that fits.
   */
  readonly size?: string | number;
  readonly features?: number;
  readonly cellLines?: number;
  readonly drugs?: number;
  readonly doses?: readonly number[];
  readonly controlFraction?: number;
  readonly controlDrug?: string;
  readonly dtype?: string;
  readonly compression?: string;
  readonly gzipLevel?: number;
  readonly chunkRows?: number;
  readonly dataLocation?: string;
  readonly format?: string;
  readonly density?: number;
  readonly embeddingDim?: number;
  readonly embeddingDtype?: string;
  readonly seed?: number;
}

/** The generator's defaults: the synthetic spec's (src/scenario/synthetic.ts), plus what only the file layout needs. */
export const SYNTH_DEFAULTS = {
  features: SYNTHETIC_DEFAULTS.features,
  cellLines: SYNTHETIC_DEFAULTS.cell_lines,
  drugs: SYNTHETIC_DEFAULTS.drugs,
  doses: SYNTHETIC_DEFAULTS.doses,
  controlFraction: SYNTHETIC_DEFAULTS.control_fraction,
  controlDrug: 'DMSO_TF',
  dtype: SYNTHETIC_DEFAULTS.dtype,
  compression: SYNTHETIC_DEFAULTS.compression as MatrixCompression,
  gzipLevel: 4,
  dataLocation: 'obsm/X_pca' as SynthLocation,
  format: SYNTHETIC_DEFAULTS.representation,
  density: SYNTHETIC_DEFAULTS.density,
  embeddingDim: 16,
  embeddingDtype: 'float32' as FloatDtype,
  seed: SYNTHETIC_DEFAULTS.seed,
} as const;

/**
 * Generator options for a scenario's synthetic dataset at its scale (the scaled spec) with the
 * representation at `dataLocation` (e.g. "obsm/X_pca"): the one conversion between the two.
 */
export function synthOptionsOf(s: ScaledSynthetic, dataLocation: string): SynthOptions {
  return {
    cells: s.cells,
    features: s.features,
    cellLines: s.cell_lines,
    drugs: s.drugs,
    doses: s.doses,
    controlFraction: s.control_fraction,
    dtype: s.dtype,
    compression: s.compression,
    format: s.representation,
    density: s.density,
    dataLocation,
    seed: s.seed,
  };
}

/** Bumped whenever the same spec would produce different bytes: part of `synthSpecKey`. */
export const SYNTH_FORMAT_VERSION = 1;

/** Chunks of about this size by default (HDF5's default chunk cache is 1 MiB). */
const TARGET_CHUNK_BYTES = 1 << 20;

function invalid(key: string, value: unknown, message: string, hint: string): CellbudgetError {
  return new CellbudgetError('CONFIG_INVALID', message, { key, value, hint });
}

function intIn(key: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(
      key,
      v,
      `${key} must be a whole number between ${min} and ${max}, got ${String(v)}.`,
      `Pass e.g. --${kebab(key)} ${Math.max(min, 1)}.`,
    );
  }
  return v;
}

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw invalid(key, v, `${key} '${String(v)}' is not supported.`, `Use one of: ${allowed.join(', ')}.`);
  }
  return v as T;
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * The number of cells whose representation takes at most `size` bytes in memory:
 * dense floor(size / (features x itemsize)); CSR counts data, int32 indices and int64 indptr.
 */
export function cellsForSize(
  size: string | number,
  features: number,
  dtype: FloatDtype = 'float32',
  format: SynthFormat = 'dense',
  density: number = SYNTH_DEFAULTS.density,
): number {
  return cellsForBytes(parseBytes(size, 'size'), intIn('features', features, 1), dtype, format, density);
}

/** In-memory bytes of a spec's representation (what `size` targets). */
export function representationBytes(spec: SynthSpec): number {
  const { perRow, fixed } = representationRowBytes(spec.features, spec.dtype, spec.format, spec.density);
  return spec.cells * perRow + fixed;
}

/** Validate options, apply defaults and derive the cell count. Throws CONFIG_INVALID. */
export function resolveSynthSpec(opts: SynthOptions): SynthSpec {
  const features = intIn('features', opts.features ?? SYNTH_DEFAULTS.features, 1, 1_000_000);
  const dtype = oneOf<FloatDtype>('dtype', opts.dtype ?? SYNTH_DEFAULTS.dtype, ['float32', 'float64']);
  const format = oneOf<SynthFormat>('format', opts.format ?? SYNTH_DEFAULTS.format, ['dense', 'csr']);
  const density = opts.density ?? SYNTH_DEFAULTS.density;
  if (typeof density !== 'number' || !(density > 0 && density <= 1)) {
    throw invalid(
      'density',
      density,
      `density must be in (0, 1], got ${String(density)}.`,
      'Pass e.g. --density 0.1 (10% of each row stored).',
    );
  }
  let cells: number;
  if (opts.cells !== undefined && opts.size !== undefined) {
    throw invalid(
      'cells',
      opts.cells,
      'Give either cells or size, not both.',
      'Use --cells N for a cell count or --size 132MB for a target in-memory size.',
    );
  } else if (opts.cells !== undefined) {
    cells = intIn('cells', opts.cells, 1, 2 ** 31 - 1);
  } else if (opts.size !== undefined) {
    cells = cellsForSize(opts.size, features, dtype, format, density);
    if (cells < 1) {
      throw invalid(
        'size',
        opts.size,
        `size ${String(opts.size)} is smaller than one cell's representation.`,
        'Ask for a larger size or fewer features.',
      );
    }
    intIn('cells', cells, 1, 2 ** 31 - 1);
  } else {
    throw invalid('cells', undefined, 'Say how large the dataset is: cells or size.', 'Use --cells N or --size 132MB.');
  }
  const cellLines = intIn('cellLines', opts.cellLines ?? SYNTH_DEFAULTS.cellLines, 1, 32767);
  const drugs = intIn('drugs', opts.drugs ?? SYNTH_DEFAULTS.drugs, 1, 32766);
  const doses = [...(opts.doses ?? SYNTH_DEFAULTS.doses)];
  if (
    doses.length === 0 ||
    doses.some((d) => typeof d !== 'number' || !Number.isFinite(d) || d <= 0) ||
    new Set(doses).size !== doses.length
  ) {
    throw invalid(
      'doses',
      doses,
      `doses must be distinct positive numbers, got [${doses.join(', ')}].`,
      'Pass e.g. --doses 0.1,1,10 (controls get dosage 0).',
    );
  }
  const controlFraction = opts.controlFraction ?? SYNTH_DEFAULTS.controlFraction;
  if (typeof controlFraction !== 'number' || !(controlFraction >= 0 && controlFraction < 1)) {
    throw invalid(
      'controlFraction',
      controlFraction,
      `controlFraction must be in [0, 1), got ${String(controlFraction)}.`,
      'Pass e.g. --control-fraction 0.05 (5% control cells).',
    );
  }
  const controlDrug = opts.controlDrug ?? SYNTH_DEFAULTS.controlDrug;
  if (typeof controlDrug !== 'string' || controlDrug.length === 0 || /^drug\d+$/.test(controlDrug)) {
    throw invalid(
      'controlDrug',
      controlDrug,
      `controlDrug '${String(controlDrug)}' is not usable as the control label.`,
      "Use a name that is not 'drugNNN', e.g. DMSO_TF.",
    );
  }
  const compression = oneOf<MatrixCompression>('compression', opts.compression ?? SYNTH_DEFAULTS.compression, ['gzip', 'none']);
  const gzipLevel = intIn('gzipLevel', opts.gzipLevel ?? SYNTH_DEFAULTS.gzipLevel, 0, 9);
  const dataLocation = oneOf<SynthLocation>('dataLocation', opts.dataLocation ?? SYNTH_DEFAULTS.dataLocation, ['obsm/X_pca', 'X']);
  const embeddingDim = intIn('embeddingDim', opts.embeddingDim ?? SYNTH_DEFAULTS.embeddingDim, 1, 100_000);
  const embeddingDtype = oneOf<FloatDtype>('embeddingDtype', opts.embeddingDtype ?? SYNTH_DEFAULTS.embeddingDtype, ['float32', 'float64']);
  const seed = intIn('seed', opts.seed ?? SYNTH_DEFAULTS.seed, 0, 2 ** 32 - 1);
  const { perRow } = representationRowBytes(features, dtype, format, density);
  const chunkRows =
    opts.chunkRows !== undefined
      ? intIn('chunkRows', opts.chunkRows, 1)
      : Math.max(1, Math.min(cells, Math.floor(TARGET_CHUNK_BYTES / perRow)));

  const nControl = controlCount(cells, controlFraction);
  const nPerturbed = cells - nControl;
  const perturbedConditions = cellLines * drugs * doses.length;
  if (!coversConditions(cells, controlFraction, cellLines, perturbedConditions)) {
    let need = Math.max(
      cells + 1,
      Math.ceil(perturbedConditions / (1 - controlFraction)),
      controlFraction > 0 ? Math.ceil((cellLines - 0.5) / controlFraction) : 0,
    );
    while (!coversConditions(need, controlFraction, cellLines, perturbedConditions)) need++;
    throw invalid(
      'cells',
      cells,
      `${cells} cells cannot cover every condition: ${cellLines} cell lines x ${drugs} drugs x ${doses.length} doses = ${perturbedConditions} perturbed conditions${controlFraction > 0 ? ` plus ${cellLines} control conditions` : ''}, with ${nPerturbed} perturbed and ${nControl} control cells.`,
      `Ask for at least ${need} cells, or fewer cell lines, drugs or doses (scale a dataset down by dropping conditions, not cells per condition).`,
    );
  }
  return {
    cells,
    features,
    cellLines,
    drugs,
    doses,
    controlFraction,
    controlDrug,
    dtype,
    compression,
    gzipLevel,
    chunkRows,
    dataLocation,
    format,
    density,
    embeddingDim,
    embeddingDtype,
    seed,
  };
}

function controlCount(cells: number, controlFraction: number): number {
  return Math.round(cells * controlFraction);
}

/** Whether `cells` give every perturbed condition, and every cell line's control, at least one cell. */
function coversConditions(cells: number, controlFraction: number, cellLines: number, perturbedConditions: number): boolean {
  const nControl = controlCount(cells, controlFraction);
  return (controlFraction === 0 || nControl >= cellLines) && cells - nControl >= perturbedConditions;
}

/** A stable hash of everything that determines a file's content, for caching generated files. */
export function synthSpecKey(spec: SynthSpec): string {
  const canonical = [
    SYNTH_FORMAT_VERSION,
    spec.cells,
    spec.features,
    spec.cellLines,
    spec.drugs,
    spec.doses,
    spec.controlFraction,
    spec.controlDrug,
    spec.dtype,
    spec.compression,
    spec.compression === 'gzip' ? spec.gzipLevel : null,
    spec.chunkRows,
    spec.dataLocation,
    spec.format,
    spec.format === 'csr' ? spec.density : null,
    spec.embeddingDim,
    spec.embeddingDtype,
    spec.seed,
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness: counter-based hashing, so any row can be generated on its own.

/** murmur3's 32-bit finalizer over a running hash. */
function mix32(h: number, v: number): number {
  h = Math.imul(h ^ (v >>> 0), 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = mix32(h, p);
  return h;
}

/** mulberry32: small, fast and good enough for synthetic data. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Next uint32. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

const STREAM_ASSIGN = 1;
const STREAM_CENTER = 2;
const STREAM_ROW = 3;
const STREAM_DRUG_EMB = 4;
const STREAM_LINE_EMB = 5;
const STREAM_COLUMNS = 6;

// ---------------------------------------------------------------------------------------
// The dataset's content.

/** The obs table of a synthetic dataset, as typed-array columns. */
export interface SynthObs {
  /** The obs index (cell names), generated per row so that it never has to be held whole. */
  readonly cellName: (row: number) => string;
  readonly cellLineCategories: readonly string[];
  readonly drugCategories: readonly string[];
  readonly cellLineCodes: Int8Array | Int16Array;
  readonly drugCodes: Int8Array | Int16Array;
  readonly dosage: Float64Array;
  /** 1 for control cells. */
  readonly control: Uint8Array;
  /**
   * Condition of each row: 0..cellLines-1 control of that line, then
   * cellLines + (line x drugs + drug) x doses + dose for perturbed cells.
   */
  readonly condition: Int32Array;
}

function padNames(prefix: string, n: number): string[] {
  const width = String(Math.max(0, n - 1)).length;
  return Array.from({ length: n }, (_, i) => prefix + String(i).padStart(width, '0'));
}

function codeArray(n: number, categories: number): Int8Array | Int16Array {
  // pandas' choice: int8 codes below 128 categories.
  return categories < 128 ? new Int8Array(n) : new Int16Array(n);
}

/** Generates a spec's obs, representation rows and embeddings, each on demand. */
export class SynthGenerator {
  readonly spec: SynthSpec;
  readonly obs: SynthObs;
  readonly nnzPerRow: number;
  private readonly centers: Float64Array;
  private readonly colScratch: Int32Array;

  constructor(spec: SynthSpec) {
    this.spec = spec;
    this.obs = this.makeObs();
    this.nnzPerRow = nnzPerRow(spec.features, spec.density);
    const nConditions = spec.cellLines * (1 + spec.drugs * spec.doses.length);
    const f = spec.features;
    this.centers = new Float64Array(nConditions * f);
    const rnd = new SeededRandom(hash32(spec.seed, STREAM_CENTER));
    // A cell line sets the base profile; a drug and its dose shift it, more at higher doses.
    const lineBase = Float64Array.from({ length: spec.cellLines * f }, () => 4 * (rnd.next() - 0.5));
    const drugShift = Float64Array.from({ length: spec.drugs * f }, () => 2 * (rnd.next() - 0.5));
    for (let l = 0; l < spec.cellLines; l++) {
      for (let j = 0; j < f; j++) this.centers[l * f + j] = lineBase[l * f + j] ?? 0;
      for (let d = 0; d < spec.drugs; d++) {
        for (let k = 0; k < spec.doses.length; k++) {
          const cond = spec.cellLines + (l * spec.drugs + d) * spec.doses.length + k;
          const scale = (k + 1) / spec.doses.length;
          for (let j = 0; j < f; j++) this.centers[cond * f + j] = (lineBase[l * f + j] ?? 0) + scale * (drugShift[d * f + j] ?? 0);
        }
      }
    }
    this.colScratch = Int32Array.from({ length: f }, (_, j) => j);
  }

  private makeObs(): SynthObs {
    const s = this.spec;
    const n = s.cells;
    const nControl = controlCount(n, s.controlFraction);
    const K = s.doses.length;
    const perturbed = s.cellLines * s.drugs * K;
    // Balanced: control cells cycle over cell lines, perturbed cells over all conditions;
    // then one seeded shuffle puts them in file order.
    const condition = new Int32Array(n);
    for (let i = 0; i < nControl; i++) condition[i] = i % s.cellLines;
    for (let i = nControl; i < n; i++) condition[i] = s.cellLines + ((i - nControl) % perturbed);
    const rnd = new SeededRandom(hash32(s.seed, STREAM_ASSIGN));
    for (let i = n - 1; i > 0; i--) {
      const j = rnd.int(i + 1);
      const t = condition[i] ?? 0;
      condition[i] = condition[j] ?? 0;
      condition[j] = t;
    }
    const cellLineCategories = padNames('line', s.cellLines);
    const drugNames = padNames('drug', s.drugs);
    const drugCategories = [s.controlDrug, ...drugNames].sort();
    const controlCode = drugCategories.indexOf(s.controlDrug);
    const drugCode = drugNames.map((d) => drugCategories.indexOf(d));
    const cellLineCodes = codeArray(n, cellLineCategories.length);
    const drugCodes = codeArray(n, drugCategories.length);
    const dosage = new Float64Array(n);
    const control = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = condition[i] ?? 0;
      if (c < s.cellLines) {
        cellLineCodes[i] = c;
        drugCodes[i] = controlCode;
        dosage[i] = 0;
        control[i] = 1;
      } else {
        const p = c - s.cellLines;
        const k = p % K;
        const d = Math.floor(p / K) % s.drugs;
        const l = Math.floor(p / K / s.drugs);
        cellLineCodes[i] = l;
        drugCodes[i] = drugCode[d] ?? 0;
        dosage[i] = s.doses[k] ?? 0;
      }
    }
    const width = String(Math.max(0, n - 1)).length;
    const cellName = (row: number): string => 'cell' + String(row).padStart(width, '0');
    return { cellName, cellLineCategories, drugCategories, cellLineCodes, drugCodes, dosage, control, condition };
  }

  /** Dense rows [start, end) into `out`: the row's condition centre plus seeded noise. */
  fillDense(start: number, end: number, out: FloatArray): void {
    const f = this.spec.features;
    const seed = this.spec.seed;
    for (let r = start; r < end; r++) {
      const c = this.obs.condition[r] ?? 0;
      const rnd = new SeededRandom(hash32(seed, STREAM_ROW, r));
      const o = (r - start) * f;
      const base = c * f;
      for (let j = 0; j < f; j++) out[o + j] = (this.centers[base + j] ?? 0) + 0.5 * (rnd.next() - 0.5);
    }
  }

  /** CSR rows [start, end): `nnzPerRow` seeded columns per row (sorted), values as in `fillDense`. */
  fillCsr(start: number, end: number, data: FloatArray, indices: Int32Array): void {
    const f = this.spec.features;
    const k = this.nnzPerRow;
    const cols = this.colScratch;
    const seed = this.spec.seed;
    for (let r = start; r < end; r++) {
      const c = this.obs.condition[r] ?? 0;
      const pick = new SeededRandom(hash32(seed, STREAM_COLUMNS, r));
      // Partial Fisher-Yates over the column list, undone afterwards.
      const swaps: number[] = [];
      for (let i = 0; i < k; i++) {
        const j = i + pick.int(f - i);
        swaps.push(j);
        const t = cols[i] ?? 0;
        cols[i] = cols[j] ?? 0;
        cols[j] = t;
      }
      const chosen = Array.from(cols.subarray(0, k)).sort((a, b) => a - b);
      for (let i = k - 1; i >= 0; i--) {
        const j = swaps[i] ?? i;
        const t = cols[i] ?? 0;
        cols[i] = cols[j] ?? 0;
        cols[j] = t;
      }
      const rnd = new SeededRandom(hash32(seed, STREAM_ROW, r));
      const o = (r - start) * k;
      for (let i = 0; i < k; i++) {
        const j = chosen[i] ?? 0;
        indices[o + i] = j;
        data[o + i] = (this.centers[c * f + j] ?? 0) + 0.5 * (rnd.next() - 0.5);
      }
    }
  }

  /** `uns/drug_embeddings`: one vector per drug category, control included. */
  drugEmbeddings(): Map<string, FloatArray> {
    return this.embeddings(this.obs.drugCategories, STREAM_DRUG_EMB);
  }

  /** `uns/cell_line_embeddings`: one vector per cell line. */
  cellLineEmbeddings(): Map<string, FloatArray> {
    return this.embeddings(this.obs.cellLineCategories, STREAM_LINE_EMB);
  }

  private embeddings(labels: readonly string[], stream: number): Map<string, FloatArray> {
    const dim = this.spec.embeddingDim;
    const out = new Map<string, FloatArray>();
    labels.forEach((label, i) => {
      const rnd = new SeededRandom(hash32(this.spec.seed, stream, i));
      const v = allocFloat(this.spec.embeddingDtype, dim);
      for (let j = 0; j < dim; j++) v[j] = 2 * rnd.next() - 1;
      out.set(label, v);
    });
    return out;
  }
}

// ---------------------------------------------------------------------------------------
// Writing.

export type SynthPhase = 'obs' | 'matrix' | 'done';

export interface SynthProgress {
  readonly phase: SynthPhase;
  /** Representation rows written so far. */
  readonly rowsDone: number;
  readonly rows: number;
}

export interface SynthResult {
  /** Absolute path of the written file. */
  readonly path: string;
  readonly spec: SynthSpec;
  readonly key: string;
  /** Where the representation is, e.g. ['obsm', 'X_pca'] (what a DataManager config names). */
  readonly dataLocation: readonly string[];
  readonly representationBytes: number;
  readonly fileBytes: number;
  /** Control conditions (one per cell line) and perturbed conditions (line x drug x dose). */
  readonly controlConditions: number;
  readonly perturbedConditions: number;
  readonly minCellsPerCondition: number;
  readonly maxCellsPerCondition: number;
  readonly seconds: number;
}

/**
 * Generate a dataset and write it to `outPath` as an h5ad anndata 0.8 reads: obs
 * (`cell_line`, `drug` categoricals, `dosage` float64, `control` bool), var, the
 * representation at `obsm/X_pca` or `X` (dense or CSR), embeddings in `uns`. Writes to a
 * temporary file in the same directory and renames it, so `outPath` is whole or absent.
 * Memory stays bounded: the representation is generated and written in row windows.
 */
export async function synthesize(
  specOrOptions: SynthSpec | SynthOptions,
  outPath: string,
  onProgress?: (p: SynthProgress) => void,
): Promise<SynthResult> {
  const t0 = performance.now();
  // A resolved spec is valid options too: resolving it again re-validates it.
  const spec = resolveSynthSpec(specOrOptions);
  const out = resolve(outPath);
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  checkOutputDir(out);
  const startSeconds = Date.now() / 1000;
  const gen = new SynthGenerator(spec);
  const rows = spec.cells;
  const { H5adWriter, H5T_ENUM_CLASS, patchBoolPlaceholders, stampModificationTimes } = await import('./write.js');
  onProgress?.({ phase: 'obs', rowsDone: 0, rows });
  try {
    writeMetadata(H5adWriter.create(tmp), spec, gen);
    const patched = patchBoolPlaceholders(tmp);
    if (patched !== 3) {
      throw new CellbudgetError('H5AD_WRITE_FAILED', `Expected to turn 3 bool placeholders into HDF5 bools in ${tmp}, found ${patched}.`, {
        file: out,
        hint: "This is a bug in cellbudget's writer; please report it.",
      });
    }
    onProgress?.({ phase: 'matrix', rowsDone: 0, rows });
    // Yield once so a caller's progress display can draw before the long synchronous part.
    await new Promise((r) => setImmediate(r));
    const w = H5adWriter.append(tmp);
    try {
      if (w.typeClass('obs/control') !== H5T_ENUM_CLASS) {
        throw new CellbudgetError('H5AD_WRITE_FAILED', `obs/control in ${tmp} did not become an HDF5 bool.`, {
          file: out,
          hint: "This is a bug in cellbudget's writer; please report it.",
        });
      }
      writeRepresentation(w, spec, gen, (rowsDone) => onProgress?.({ phase: 'matrix', rowsDone, rows }));
    } finally {
      w.close();
    }
    // Equal specs give byte-identical files: HDF5's object timestamps are the only difference.
    stampModificationTimes(tmp, Math.floor(startSeconds) - 1, Math.ceil(Date.now() / 1000) + 1, 0);
    renameSync(tmp, out);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written, or it is already gone
    }
    throw e;
  }
  onProgress?.({ phase: 'done', rowsDone: rows, rows });
  const counts = new Map<number, number>();
  for (const c of gen.obs.condition) counts.set(c, (counts.get(c) ?? 0) + 1);
  const values = [...counts.values()];
  const controlConditions = spec.controlFraction > 0 ? spec.cellLines : 0;
  return {
    path: out,
    spec,
    key: synthSpecKey(spec),
    dataLocation: spec.dataLocation === 'X' ? ['X'] : ['obsm', 'X_pca'],
    representationBytes: representationBytes(spec),
    fileBytes: statSync(out).size,
    controlConditions,
    perturbedConditions: spec.cellLines * spec.drugs * spec.doses.length,
    // A loop, not Math.min(...values): a spread of ~100k+ conditions overflows the call stack.
    minCellsPerCondition: values.reduce((a, b) => Math.min(a, b), Infinity),
    maxCellsPerCondition: values.reduce((a, b) => Math.max(a, b), -Infinity),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Refuse an output whose directory is missing, before HDF5 prints its own error stack. */
function checkOutputDir(out: string): void {
  const dir = dirname(out);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new CellbudgetError('FILE_NOT_FOUND', `Cannot write ${out}: the directory ${dir} does not exist.`, {
      file: out,
      hint: 'Create the directory first, or pick another output path.',
    });
  }
}

function writeMetadata(w: H5adWriter, spec: SynthSpec, gen: SynthGenerator): void {
  try {
    w.attrs('/', { 'encoding-type': 'anndata', 'encoding-version': '0.1.0' });
    const o = gen.obs;
    w.dataframe('obs', { n: spec.cells, nameAt: o.cellName }, ['cell_line', 'drug', 'dosage', 'control'], () => {
      w.categorical('obs/cell_line', o.cellLineCodes, o.cellLineCategories);
      w.categorical('obs/drug', o.drugCodes, o.drugCategories);
      w.numeric('obs/dosage', o.dosage);
      w.bool('obs/control', o.control);
    });
    const varNames = spec.dataLocation === 'X' ? padNames('gene', spec.features) : padNames('PC', spec.features);
    w.dataframe('var', varNames, [], () => undefined);
    for (const g of ['obsm', 'obsp', 'varm', 'varp', 'layers']) w.dict(g);
    w.dict('uns');
    for (const [key, emb] of [
      ['drug_embeddings', gen.drugEmbeddings()],
      ['cell_line_embeddings', gen.cellLineEmbeddings()],
    ] as const) {
      w.dict(`uns/${key}`);
      for (const [label, v] of emb) w.numeric(`uns/${key}/${label}`, v);
    }
  } finally {
    w.close();
  }
}

function writeRepresentation(w: H5adWriter, spec: SynthSpec, gen: SynthGenerator, onRows: (rowsDone: number) => void): void {
  const path = spec.dataLocation === 'X' ? 'X' : 'obsm/X_pca';
  const opts = { chunkRows: spec.chunkRows, compression: spec.compression, gzipLevel: spec.gzipLevel, onRows };
  if (spec.format === 'dense') {
    w.denseMatrix(path, spec.cells, spec.features, spec.dtype, opts, (a, b, out) => gen.fillDense(a, b, out));
  } else {
    w.csrMatrix(path, spec.cells, spec.features, gen.nnzPerRow, spec.dtype, opts, (a, b, data, idx) => gen.fillCsr(a, b, data, idx));
  }
}
