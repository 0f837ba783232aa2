/**
 * The DataManager: group cells into source (control) and target (perturbed) distributions
 * from obs alone (`planGroups`), then copy each distribution's rows out of the
 * representation (`materialize`). Semantics: docs/reference-semantics.md#grouping.
 */
import { CellbudgetError } from '../core/errors.js';
import { allocFloat, itemSize } from '../core/data.js';
import type {
  DatasetSource,
  DenseMatrix,
  Embeddings,
  FloatArray,
  FloatDtype,
  Label,
  Matrix,
  ObsColumn,
  ObsColumnKind,
} from '../core/data.js';
import { flagColumn } from './config.js';
import type { DataManagerConfig } from './config.js';
import { keyColumn, tupleAt, tupleKeys } from './keys.js';
import { anyCopied, copyCursors, scatterRows, wordsOf } from './scatter.js';
export { anyCopied, copyCursors, cursorsAt, scatterRows } from './scatter.js';
export type { ScatterLayout } from './scatter.js';
import type { KeyColumn } from './keys.js';

/** How a key's obs column is stored: what a GroupedDistribution store writes its values as. */
export interface KeyType {
  readonly kind: ObsColumnKind;
  /** numpy-style dtype of its values (a categorical's: of its categories): `string`, `bool`, `int64`, `float64`… */
  readonly dtype: string;
  /** A categorical's `ordered` flag (false for other kinds). */
  readonly ordered: boolean;
}

/** Which distributions exist, which rows they hold, and their conditions: everything but the data. */
export interface GroupPlan {
  readonly nObs: number;
  readonly srcKeys: readonly string[];
  readonly tgtKeys: readonly string[];
  /** Per source index: its src-key label tuple. */
  readonly srcLabels: readonly (readonly Label[])[];
  /** Per target index: src-key labels, then tgt-key labels (made on first use from keyLabels and tgtCodes). */
  readonly tgtLabels: readonly (readonly Label[])[];
  /** Per key (src keys, then tgt keys): its labels in sort order. */
  readonly keyLabels: readonly (readonly Label[])[];
  /** Per target and key, row-major: the index of the target's label in keyLabels (target t, key j at t × keys + j). */
  readonly tgtCodes: Int32Array;
  /** Row positions of the control cells of each source, in file order; source s is srcRows[srcOffsets[s] .. srcOffsets[s+1]). */
  readonly srcRows: Int32Array;
  readonly srcOffsets: Int32Array;
  /** Row positions of the perturbed cells of each target, in file order. */
  readonly tgtRows: Int32Array;
  readonly tgtOffsets: Int32Array;
  /** The source of each target. */
  readonly tgtToSrc: Int32Array;
  /** Sources that have targets, ascending, each with its targets ascending. */
  readonly srcToTgt: ReadonlyArray<readonly [number, readonly number[]]>;
  /** Per target: covariate (src then tgt keys) → embedding, or [label] for numeric labels without a rep key. */
  readonly conditions: ReadonlyArray<Readonly<Record<string, Float64Array>>>;
  /** Per key (src keys, then tgt keys): how its column is stored. */
  readonly keyTypes: readonly KeyType[];
  /** Per condition covariate: the dtype of its vectors as stored (an embedding's; float64 for a numeric label). */
  readonly conditionDtypes: Readonly<Record<string, FloatDtype>>;
  /** The single target-key tuple the control cells carry. */
  readonly controlValue: Readonly<Record<string, Label>>;
  /** Cells in no distribution because a key value is missing. */
  readonly droppedCells: number;
}

/** A materialized GroupedDistribution: one dense row block per distribution. */
export interface GroupedDistribution {
  readonly plan: GroupPlan;
  /** Per source index; a source left out by `select` has a 0-row matrix and `srcSelected[s] = 0`. */
  readonly srcData: DenseMatrix[];
  readonly tgtData: DenseMatrix[];
  readonly srcSelected: Uint8Array;
  readonly tgtSelected: Uint8Array;
}

/** Anything that can read row windows of the representation. */
export interface RowReader {
  readRows(start: number, end: number, out?: FloatArray): DenseMatrix;
  /** Rows per storage chunk, when chunked: windows are cut on multiples of it (a cut chunk is inflated twice). */
  readonly chunkRows?: number;
  /** Columns and dtype of what readRows returns, when known without reading (saves a probe read). */
  readonly cols?: number;
  readonly dtype?: FloatDtype;
}

/** A RowReader over `location` of `source`, with its chunking and shape from the file's metadata. */
export function sourceRows(source: DatasetSource, location: readonly string[]): RowReader {
  const info = source.matrixInfo(location);
  const dtype = info.dtype === 'float32' || info.dtype === 'float64' ? info.dtype : undefined;
  const chunkRows = info.format === 'dense' ? info.chunks?.[0] : undefined;
  return {
    readRows: (start, end, out) => source.readRows(location, start, end, out),
    ...(chunkRows !== undefined ? { chunkRows } : {}),
    ...(info.format === 'dense' ? { cols: info.shape[1] } : {}),
    ...(dtype !== undefined && info.format === 'dense' ? { dtype } : {}),
  };
}

/** Which distributions `materialize` copies; absent lists mean all. */
export interface MaterializeSelect {
  readonly src?: readonly number[];
  readonly tgt?: readonly number[];
}

export function nSrc(plan: GroupPlan): number {
  return plan.srcOffsets.length - 1;
}
export function nTgt(plan: GroupPlan): number {
  return plan.tgtOffsets.length - 1;
}

function readColumn(source: DatasetSource, name: string): ObsColumn {
  const names = source.obsColumnNames();
  if (!names.includes(name)) {
    throw new CellbudgetError(
      'OBS_MISSING_COLUMN',
      `${source.name}: obs has no column '${name}'; columns are: ${names.join(', ') || '(none)'}.`,
      {
        file: source.name,
        key: `obs/${name}`,
        value: name,
        hint: 'Fix the key in the configuration, or add the column to the dataset.',
      },
    );
  }
  return source.readObsColumn(name);
}

/** Per row: 1 control, 0 perturbed, -1 in no distribution (the flag is missing). */
function flagStates(config: DataManagerConfig, source: DatasetSource): Int8Array {
  const n = source.nObs;
  const name = flagColumn(config);
  const col = readColumn(source, name);
  const state = new Int8Array(n);
  if (typeof config.dist_flag_key !== 'string') {
    const want = config.dist_flag_key.equals;
    const k = keyColumn(col);
    const code = k.labels.indexOf(want);
    for (let i = 0; i < n; i++) {
      const c = k.codes[i]!;
      state[i] = c < 0 ? -1 : c === code ? 1 : 0;
    }
    return state;
  }
  if (col.kind === 'boolean' || (col.kind === 'nullable-boolean' && !col.mask.some((m) => m !== 0))) {
    const v = col.values;
    for (let i = 0; i < n; i++) state[i] = v[i] ? 1 : 0;
    return state;
  }
  throw new CellbudgetError('OBS_FLAG_NOT_BOOLEAN', `${source.name}: the flag column obs/${name} is ${col.kind}, not boolean.`, {
    file: source.name,
    key: `obs/${name}`,
    value: col.kind,
    hint: `Store a boolean column marking control cells, or derive the flag from a value: "dist_flag_key": {"column": "${name}", "equals": "<control value>"}.`,
  });
}

/** Python's str() of a label, as the embedding dicts are keyed. */
function embeddingKeys(label: Label): string[] {
  if (typeof label === 'boolean') return [label ? 'True' : 'False'];
  if (typeof label === 'number') return Number.isInteger(label) ? [String(label), `${label}.0`] : [String(label)];
  return [label];
}

function formatLabel(l: Label): string {
  return typeof l === 'string' ? `'${l}'` : String(l);
}

function sameCodes(cols: readonly KeyColumn[], a: number, b: number): boolean {
  for (const c of cols) if (c.codes[a] !== c.codes[b]) return false;
  return true;
}

// The row passes of planGroups, each a small function of its own: the JIT compiles (and
// on-stack-replaces) a short loop sooner than one long function with many loops.

function scanTuples(tuple: Int32Array, state: Int8Array, seen: Uint8Array, rep: Int32Array): { nControl: number; dropped: number } {
  let nControl = 0;
  let dropped = 0;
  const n = tuple.length;
  for (let i = 0; i < n; i++) {
    const u = tuple[i]!;
    if (u < 0) {
      dropped++;
      continue;
    }
    if (seen[u] === 0) rep[u] = i;
    if (state[i] === 1) {
      seen[u]! |= 1;
      nControl++;
    } else seen[u]! |= 2;
  }
  return { nControl, dropped };
}

function countRows(
  tuple: Int32Array,
  state: Int8Array,
  srcOf: Int32Array,
  tgtOf: Int32Array,
  srcCounts: Int32Array,
  tgtCounts: Int32Array,
): void {
  const n = tuple.length;
  for (let i = 0; i < n; i++) {
    const u = tuple[i]!;
    if (u < 0) continue;
    if (state[i] === 1) srcCounts[srcOf[u]! + 1]!++;
    else tgtCounts[tgtOf[u]! + 1]!++;
  }
}

// A forward scan keeps file order within a group: the stable sort of the reference.
function placeRows(
  tuple: Int32Array,
  state: Int8Array,
  srcOf: Int32Array,
  tgtOf: Int32Array,
  srcFill: Int32Array,
  tgtFill: Int32Array,
  srcRows: Int32Array,
  tgtRows: Int32Array,
): void {
  const n = tuple.length;
  for (let i = 0; i < n; i++) {
    const u = tuple[i]!;
    if (u < 0) continue;
    if (state[i] === 1) srcRows[srcFill[srcOf[u]!]!++] = i;
    else tgtRows[tgtFill[tgtOf[u]!]!++] = i;
  }
}

/**
 * Group the cells of `source` from obs alone: reads the flag, src and tgt columns and the
 * uns embeddings named in `rep_keys`. No matrix is read.
 *
 * One key per full (src keys + tgt keys) tuple, ordered like the tuples, over every valid
 * cell gives both: sources are the runs of equal src-key prefixes among the keys that occur
 * (numbered over all cells), targets the keys perturbed cells carry. Rows are then bucketed
 * by counting, in file order (the reference's stable sort). No row-level sort anywhere.
 */
export function planGroups(config: DataManagerConfig, source: DatasetSource): GroupPlan {
  const n = source.nObs;
  checkRepresentation(config, source);
  const state = flagStates(config, source);
  const keyTypes: KeyType[] = [];
  const key = (name: string): KeyColumn => {
    const col = readColumn(source, name);
    keyTypes.push(keyTypeOf(col));
    return keyColumn(col);
  };
  const srcCols: KeyColumn[] = config.src_dist_keys.map(key);
  const tgtCols: KeyColumn[] = config.tgt_dist_keys.map(key);
  const allCols = [...srcCols, ...tgtCols];

  // Per row: the key of its full tuple (-1 when the flag or any key is missing).
  const { codes: tuple, range: nTuples } = tupleKeys(allCols, n, state);
  // Per tuple key: 1 when control cells carry it, 2 when perturbed cells do; rep: its first row.
  const seen = new Uint8Array(nTuples);
  const rep = new Int32Array(nTuples);
  const { nControl, dropped } = scanTuples(tuple, state, seen, rep);
  const flagName = flagColumn(config);
  if (nControl === 0) {
    const rule =
      typeof config.dist_flag_key === 'string'
        ? `obs/${flagName} is never true`
        : `no cell has ${flagName} == ${formatLabel(config.dist_flag_key.equals)}`;
    throw new CellbudgetError('NO_CONTROL_CELLS', `${source.name}: no cell is a control (${rule}).`, {
      file: source.name,
      key: `obs/${flagName}`,
      hint: 'Every source distribution is made of control cells; check dist_flag_key.',
    });
  }

  // The target-key tuples control cells carry: exactly one (the reference's default value).
  let controlRow = -1;
  let controlTuples = 0;
  const others: number[] = [];
  for (let u = 0; u < nTuples; u++) {
    if (!(seen[u]! & 1)) continue;
    const r = rep[u]!;
    if (controlRow < 0) {
      controlRow = r;
      controlTuples = 1;
    } else if (!sameCodes(tgtCols, r, controlRow) && !others.some((o) => sameCodes(tgtCols, r, o))) {
      others.push(r);
      controlTuples++;
    }
  }
  if (controlTuples !== 1) {
    const rows = [controlRow, ...others].sort((a, b) => {
      for (const c of tgtCols) if (c.codes[a] !== c.codes[b]) return c.codes[a]! - c.codes[b]!;
      return 0;
    });
    const found = rows.map((r) => `(${tupleAt(tgtCols, r).map(formatLabel).join(', ')})`);
    throw new CellbudgetError(
      'CONTROL_VALUE_NOT_UNIQUE',
      `${source.name}: There should be exactly one control value. The control cells carry ${controlTuples} target-key tuples over (${config.tgt_dist_keys.join(', ')}): ${found.slice(0, 10).join(', ')}${found.length > 10 ? ', ...' : ''}.`,
      {
        file: source.name,
        key: config.tgt_dist_keys.join(','),
        value: found,
        hint: 'Control cells must all carry the same target values (e.g. drug = DMSO, dose = 0); fix the data or the flag.',
      },
    );
  }
  const controlValue: Record<string, Label> = {};
  tgtCols.forEach((c) => (controlValue[c.name] = c.labels[c.codes[controlRow]!]!));

  // Sources: runs of equal src-key prefix in tuple order; targets: tuples of perturbed cells.
  const srcOf = new Int32Array(nTuples);
  const tgtOf = new Int32Array(nTuples).fill(-1);
  const srcRep: number[] = [];
  const tgtRep: number[] = [];
  const tgtSrc: number[] = [];
  let prev = -1;
  for (let u = 0; u < nTuples; u++) {
    if (seen[u] === 0) continue;
    const r = rep[u]!;
    if (prev < 0 || !sameCodes(srcCols, r, prev)) srcRep.push(r);
    prev = r;
    srcOf[u] = srcRep.length - 1;
    if (seen[u]! & 2) {
      tgtOf[u] = tgtRep.length;
      tgtRep.push(r);
      tgtSrc.push(srcOf[u]!);
    }
  }
  const ns = srcRep.length;
  const nt = tgtRep.length;
  const srcOffsets = new Int32Array(ns + 1);
  const tgtOffsets = new Int32Array(nt + 1);
  countRows(tuple, state, srcOf, tgtOf, srcOffsets, tgtOffsets);
  for (let s = 0; s < ns; s++) srcOffsets[s + 1]! += srcOffsets[s]!;
  for (let t = 0; t < nt; t++) tgtOffsets[t + 1]! += tgtOffsets[t]!;
  const srcRows = new Int32Array(srcOffsets[ns]!);
  const tgtRows = new Int32Array(tgtOffsets[nt]!);
  placeRows(tuple, state, srcOf, tgtOf, srcOffsets.slice(0, ns), tgtOffsets.slice(0, nt), srcRows, tgtRows);

  const tgtToSrc = Int32Array.from(tgtSrc);
  const srcToTgt: Array<readonly [number, number[]]> = [];
  for (let t = 0; t < nt; t++) {
    const s = tgtToSrc[t]!;
    const last = srcToTgt[srcToTgt.length - 1];
    if (last && last[0] === s) last[1].push(t);
    else srcToTgt.push([s, [t]]);
  }

  const tgtCodes = targetCodes(allCols, tgtRep);
  const keyLabels = allCols.map((c) => c.labels);
  const { records: conditions, dtypes: conditionDtypes } = buildConditions(config, source, allCols, tgtCodes);
  const plan = {
    nObs: n,
    srcKeys: [...config.src_dist_keys],
    tgtKeys: [...config.tgt_dist_keys],
    srcLabels: srcRep.map((r) => tupleAt(srcCols, r)),
    keyLabels,
    tgtCodes,
    srcRows,
    srcOffsets,
    tgtRows,
    tgtOffsets,
    tgtToSrc,
    srcToTgt,
    keyTypes,
    conditionDtypes,
    controlValue,
    droppedCells: dropped,
  };
  // The getter is made outside this function: a closure made here would share this scope's
  // context, and keep the source (a loaded dataset) and every obs column alive with the plan.
  // ~10^5 small arrays that only a manifest reads: made when first asked for.
  Object.defineProperty(plan, 'tgtLabels', lazyValue(labelTuples(keyLabels, tgtCodes)));
  return Object.defineProperty(plan, 'conditions', lazyValue(conditions)) as typeof plan & {
    readonly conditions: Record<string, Float64Array>[];
    readonly tgtLabels: Label[][];
  };
}

/** How `col` is stored; a categorical whose reader did not say infers its categories' dtype from the labels. */
function keyTypeOf(col: ObsColumn): KeyType {
  switch (col.kind) {
    case 'categorical': {
      const first = col.categories[0];
      const inferred =
        typeof first === 'string'
          ? 'string'
          : typeof first === 'boolean'
            ? 'bool'
            : col.categories.every((c) => Number.isInteger(c))
              ? 'int64'
              : 'float64';
      return { kind: col.kind, dtype: col.categoriesDtype ?? inferred, ordered: col.ordered };
    }
    case 'numeric':
    case 'nullable-integer':
      return { kind: col.kind, dtype: col.dtype, ordered: false };
    case 'boolean':
    case 'nullable-boolean':
      return { kind: col.kind, dtype: 'bool', ordered: false };
    case 'string':
    case 'nullable-string':
      return { kind: col.kind, dtype: 'string', ordered: false };
  }
}

/** Per target and key: the target's code (row-major), from its representative row. */
function targetCodes(cols: readonly KeyColumn[], tgtRep: readonly number[]): Int32Array {
  const k = cols.length;
  const nt = tgtRep.length;
  const codes = new Int32Array(nt * k);
  for (let j = 0; j < k; j++) {
    const cc = cols[j]!.codes;
    for (let t = 0; t < nt; t++) codes[t * k + j] = cc[tgtRep[t]!]!;
  }
  return codes;
}

/** The label tuples of the targets, made from codes alone (outside planGroups' scope: see conditionRecords). */
function labelTuples(keyLabels: readonly (readonly Label[])[], codes: Int32Array): () => Label[][] {
  const k = keyLabels.length;
  return () => Array.from({ length: k === 0 ? 0 : codes.length / k }, (_, t) => keyLabels.map((labels, j) => labels[codes[t * k + j]!]!));
}

/** A getter that makes its value on first use, then holds only the value. */
function lazyValue<T>(make: () => T): PropertyDescriptor {
  let value: T | undefined;
  let pending: (() => T) | undefined = make;
  return {
    enumerable: true,
    get(): T {
      if (pending) {
        value = pending();
        pending = undefined;
      }
      return value as T;
    },
  };
}

/**
 * The representation must exist and hold one row per cell, even where the plan reads no
 * matrix (split without --digest, streaming's planning pass): a wrong data_location or a
 * matrix of another length is found before anything is measured or copied.
 */
function checkRepresentation(config: DataManagerConfig, source: DatasetSource): void {
  const info = source.matrixInfo(config.data_location);
  const rows = info.shape[0];
  if (rows !== source.nObs) {
    throw new CellbudgetError(
      'H5AD_INVALID',
      `${source.name}: ${config.data_location.join('/')} has ${rows.toLocaleString('en-US')} rows but obs has ${source.nObs.toLocaleString('en-US')} cells; a representation holds one row per cell.`,
      {
        file: source.name,
        key: config.data_location.join('/'),
        value: { rows, n_obs: source.nObs },
        hint: 'The file is inconsistent (written by a broken exporter, or truncated): re-export it with anndata, or point data_location at a representation of the same cells.',
      },
    );
  }
}

function buildConditions(
  config: DataManagerConfig,
  source: DatasetSource,
  cols: readonly KeyColumn[],
  codes: Int32Array,
): { records: () => Record<string, Float64Array>[]; dtypes: Record<string, FloatDtype> } {
  const unsKeys = source.unsKeys();
  const dtypes: Record<string, FloatDtype> = {};
  const embeddings = new Map<string, Embeddings>();
  for (const c of cols) {
    const rep = config.rep_keys[c.name];
    if (rep === undefined || embeddings.has(rep)) continue;
    if (!unsKeys.includes(rep)) {
      throw new CellbudgetError(
        'UNS_MISSING_KEY',
        `${source.name}: rep_keys.${c.name} names uns/${rep}, which the file lacks; uns keys are: ${unsKeys.join(', ') || '(none)'}.`,
        {
          file: source.name,
          key: `uns/${rep}`,
          hint: 'Fix rep_keys, or store the embeddings under that uns key.',
        },
      );
    }
    embeddings.set(rep, source.readEmbeddings(rep));
  }
  // Targets share labels heavily: one vector per (column, code), referenced by every target.
  const cache: Array<Array<Float64Array | undefined>> = cols.map(() => []);
  // Conditions are stacked per key in training: every embedding of one uns key must have one length.
  const lengthOf = new Map<string, { n: number; label: Label }>();
  const vector = (j: number, code: number): Float64Array => {
    const hit = cache[j]![code];
    if (hit) return hit;
    const c = cols[j]!;
    const label = c.labels[code]!;
    const rep = config.rep_keys[c.name];
    let vec: Float64Array;
    if (rep !== undefined) {
      const emb = embeddings.get(rep)!;
      const found = embeddingKeys(label)
        .map((k) => emb.get(k))
        .find((v) => v !== undefined);
      if (!found) {
        throw new CellbudgetError('UNS_MISSING_KEY', `${source.name}: uns/${rep} has no embedding for ${c.name} = ${formatLabel(label)}.`, {
          file: source.name,
          key: `uns/${rep}/${String(label)}`,
          hint: `Every ${c.name} value of a perturbed cell needs an embedding under uns/${rep}.`,
        });
      }
      vec = Float64Array.from(found);
      dtypes[c.name] ??= found instanceof Float32Array ? 'float32' : 'float64';
      const seen = lengthOf.get(rep);
      if (seen === undefined) lengthOf.set(rep, { n: vec.length, label });
      else if (seen.n !== vec.length) {
        throw new CellbudgetError(
          'H5AD_INVALID',
          `${source.name}: the embeddings in uns/${rep} differ in length: ${formatLabel(seen.label)} has ${seen.n} values, ${formatLabel(label)} has ${vec.length}.`,
          {
            file: source.name,
            key: `uns/${rep}/${String(label)}`,
            value: { [String(seen.label)]: seen.n, [String(label)]: vec.length },
            hint: `Every vector under uns/${rep} must have the same length (one embedding space); re-export the embeddings.`,
          },
        );
      }
    } else if (typeof label === 'number' || typeof label === 'boolean') {
      vec = Float64Array.of(Number(label));
      dtypes[c.name] ??= 'float64';
    } else {
      throw new CellbudgetError(
        'CONFIG_INVALID',
        `${c.name} has text labels (e.g. ${formatLabel(label)}) but no entry in rep_keys, so it has no numeric condition.`,
        {
          key: `rep_keys.${c.name}`,
          value: label,
          hint: `Add "rep_keys": {"${c.name}": "<uns key with its embeddings>"}; only numeric keys (e.g. a dose) may go without one.`,
        },
      );
    }
    cache[j]![code] = vec;
    return vec;
  };
  // Every vector now (a missing embedding is an error of planGroups); the per-target records,
  // ~10^5 small objects that a digest never reads, only when first asked for.
  const k = cols.length;
  const nt = k === 0 ? 0 : codes.length / k;
  for (let t = 0; t < nt; t++) {
    for (let j = 0; j < k; j++) vector(j, codes[t * k + j]!);
  }
  return {
    records: conditionRecords(
      cache,
      codes,
      cols.map((c) => c.name),
      nt,
    ),
    dtypes,
  };
}

/**
 * The per-target condition records, made on first use from the vectors and codes alone: made
 * here, not in buildConditions, so the thunk does not share that scope's context (the source,
 * its embeddings and obs columns).
 */
function conditionRecords(
  cache: ReadonlyArray<ReadonlyArray<Float64Array | undefined>>,
  codes: Int32Array,
  names: readonly string[],
  count: number,
): () => Record<string, Float64Array>[] {
  const k = names.length;
  return () =>
    Array.from({ length: count }, (_, t) => {
      const cond: Record<string, Float64Array> = {};
      for (let j = 0; j < k; j++) cond[names[j]!] = cache[j]![codes[t * k + j]!]!;
      return cond;
    });
}

function isMatrix(x: RowReader | Matrix): x is Matrix {
  return 'format' in x;
}

// Window read per call from a RowReader. Small enough that the transient (the JS window,
// h5wasm's copy of it, WebAssembly heap growth that never shrinks) stays a few MB, large
// enough that per-call overhead does not dominate: ~4 MB.
export const MATERIALIZE_WINDOW_BYTES = 4 * 1024 * 1024;
// A chunk larger than the window is still read whole (cutting it would inflate it once per
// window), up to this size.
const MAX_CHUNK_WINDOW_BYTES = 64 * 1024 * 1024;

export interface MaterializeOptions {
  /** Bytes per window read from a RowReader (default MATERIALIZE_WINDOW_BYTES). */
  readonly windowBytes?: number;
  /**
   * Which buffer each distribution lives in: distributions with the same pool id are views
   * into one ArrayBuffer, freed together (e.g. one pool per split). Default: every
   * distribution has an ArrayBuffer of its own, as the reference's numpy arrays.
   */
  readonly pools?: { readonly src: ArrayLike<number>; readonly tgt: ArrayLike<number> };
}

/**
 * Rows per read window: about `windowBytes` (default MATERIALIZE_WINDOW_BYTES), a multiple of
 * the chunk rows when chunked (a whole chunk when one chunk is larger, up to 64 MB).
 */
export function windowRows(rowBytes: number, chunkRows?: number, windowBytes = MATERIALIZE_WINDOW_BYTES): number {
  let window = Math.max(1, Math.floor(windowBytes / rowBytes));
  if (chunkRows !== undefined && chunkRows > 1) {
    if (window >= chunkRows) window = Math.floor(window / chunkRows) * chunkRows;
    else if (chunkRows * rowBytes <= MAX_CHUNK_WINDOW_BYTES) window = chunkRows;
  }
  return window;
}

/**
 * Every copied distribution's rows, in pooled buffers: distribution `d` (sources first, then
 * targets) holds `rowsOf(d)` rows of `cols` values at element `elemAt[d]` of `pools[poolOf[d]]`.
 * What `materialize` returns views of; `split --digest` hashes it without building them.
 */
export interface DistributionCopy {
  readonly plan: GroupPlan;
  readonly dtype: FloatDtype;
  readonly cols: number;
  readonly pools: readonly FloatArray[];
  readonly poolOf: Int32Array;
  readonly elemAt: Float64Array;
  readonly srcSelected: Uint8Array;
  readonly tgtSelected: Uint8Array;
  /** Rows distribution `d` holds (0 when not selected). */
  rowsOf(d: number): number;
}

/**
 * Where each row of the representation goes: what `copyDistributions` fills, laid out before
 * any row is read. Plain data (typed arrays, shared when asked), so another thread can copy
 * some of the rows (`cursorsAt` gives where its rows go).
 */
export interface CopyLayout extends DistributionCopy {
  /** Per row: its distribution (sources first, then targets), or -1 when not copied. */
  readonly dest: Int32Array;
  /** Per row: its place in its distribution, or null when every distribution's rows are in file order. */
  readonly pos: Int32Array | null;
  /** First and last row copied (lastRow < 0: none). */
  readonly firstRow: number;
  readonly lastRow: number;
  /** 32-bit words per row. */
  readonly words: number;
  /** Every pool is a view of one buffer, cursors in its words (ScatterLayout). */
  readonly oneBuffer: boolean;
}

export interface CopyLayoutOptions extends Pick<MaterializeOptions, 'pools'> {
  /** Put the pools and the row arrays in SharedArrayBuffers (for a helper thread). */
  readonly shared?: boolean;
  /** With `shared`: every pool a view of one SharedArrayBuffer (see ScatterLayout's oneBuffer); they are then freed together. */
  readonly oneBuffer?: boolean;
}

function allocShared<T extends Int32Array | Float32Array | Float64Array>(
  Ctor: { new (b: ArrayBufferLike): T; readonly BYTES_PER_ELEMENT: number },
  n: number,
): T {
  return new Ctor(new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT));
}

/** The dtype and width of a representation's rows. */
export interface RowShape {
  readonly dtype: FloatDtype;
  readonly cols: number;
}

/**
 * Lay out the copy of `plan`'s selected distributions of rows of `shape`: destination and place
 * of every row, one buffer per pool (zero-filled, not yet written). `shape` may be asked for once
 * the first copied row is known (a reader that tells its shape only by reading one).
 */
export function layoutCopy(
  plan: GroupPlan,
  shape: RowShape | ((firstRow: number) => RowShape),
  select?: MaterializeSelect,
  options: CopyLayoutOptions = {},
): CopyLayout {
  const ns = nSrc(plan);
  const nt = nTgt(plan);
  const nd = ns + nt;
  const shared = options.shared === true;
  const srcSelected = new Uint8Array(ns);
  const tgtSelected = new Uint8Array(nt);
  if (select?.src) for (const s of select.src) srcSelected[s] = 1;
  else srcSelected.fill(1);
  if (select?.tgt) for (const t of select.tgt) tgtSelected[t] = 1;
  else tgtSelected.fill(1);

  // Per row: destination distribution (sources first, then targets), or -1.
  const dest = (shared ? allocShared(Int32Array, plan.nObs) : new Int32Array(plan.nObs)).fill(-1);
  let firstRow = plan.nObs;
  let lastRow = -1;
  // A distribution's rows are in file order (planGroups makes them so), and rows are read in
  // file order: each row's place is then the next free one. Otherwise `pos` holds it.
  let ascending = true;
  const mark = (rowsArr: Int32Array, offsets: Int32Array, d: number, base: number): void => {
    const a = offsets[d]!;
    const b = offsets[d + 1]!;
    for (let k = a; k < b; k++) {
      const r = rowsArr[k]!;
      dest[r] = base + d;
      if (k > a && r <= rowsArr[k - 1]!) ascending = false;
    }
    if (b > a) {
      firstRow = Math.min(firstRow, rowsArr[a]!, rowsArr[b - 1]!);
      lastRow = Math.max(lastRow, rowsArr[a]!, rowsArr[b - 1]!);
    }
  };
  for (let s = 0; s < ns; s++) if (srcSelected[s]) mark(plan.srcRows, plan.srcOffsets, s, 0);
  for (let t = 0; t < nt; t++) if (tgtSelected[t]) mark(plan.tgtRows, plan.tgtOffsets, t, ns);
  if (!ascending) {
    // Rows out of order: recompute the bounds and remember every row's place.
    firstRow = plan.nObs;
    lastRow = -1;
    for (let r = 0; r < plan.nObs; r++) {
      if (dest[r]! < 0) continue;
      if (r < firstRow) firstRow = r;
      lastRow = r;
    }
  }
  let pos: Int32Array | null = null;
  if (!ascending) {
    const p = shared ? allocShared(Int32Array, plan.nObs) : new Int32Array(plan.nObs);
    const place = (rowsArr: Int32Array, offsets: Int32Array, d: number): void => {
      for (let k = offsets[d]!; k < offsets[d + 1]!; k++) p[rowsArr[k]!] = k - offsets[d]!;
    };
    for (let s = 0; s < ns; s++) if (srcSelected[s]) place(plan.srcRows, plan.srcOffsets, s);
    for (let t = 0; t < nt; t++) if (tgtSelected[t]) place(plan.tgtRows, plan.tgtOffsets, t);
    pos = p;
  }

  const { dtype, cols } = typeof shape === 'function' ? shape(firstRow) : shape;
  // Buffers: one per pool; each distribution is a view at its offset in its pool.
  const sizeOf = (d: number): number => {
    if (d < ns) return srcSelected[d] ? plan.srcOffsets[d + 1]! - plan.srcOffsets[d]! : 0;
    const t = d - ns;
    return tgtSelected[t] ? plan.tgtOffsets[t + 1]! - plan.tgtOffsets[t]! : 0;
  };
  const poolOf = shared ? allocShared(Int32Array, nd) : new Int32Array(nd);
  let nPools: number;
  if (options.pools) {
    nPools = 0;
    for (let d = 0; d < nd; d++) {
      const p = d < ns ? options.pools.src[d]! : options.pools.tgt[d - ns]!;
      if (!Number.isInteger(p) || p < 0) throw new RangeError(`pool id ${p} of distribution ${d} is not a non-negative integer`);
      poolOf[d] = p;
      if (p >= nPools) nPools = p + 1;
    }
  } else {
    for (let d = 0; d < nd; d++) poolOf[d] = d;
    nPools = nd;
  }
  const poolElems = new Float64Array(nPools);
  const elemAt = shared ? allocShared(Float64Array, nd) : new Float64Array(nd);
  for (let d = 0; d < nd; d++) {
    const p = poolOf[d]!;
    elemAt[d] = poolElems[p]!;
    poolElems[p]! += sizeOf(d) * cols;
  }
  const oneBuffer = shared && options.oneBuffer === true;
  const item = itemSize(dtype);
  const whole = oneBuffer ? new SharedArrayBuffer(poolElems.reduce((a, n) => a + n, 0) * item) : null;
  let wholeAt = 0;
  const alloc = (n: number): FloatArray => {
    if (whole !== null) {
      const view = dtype === 'float32' ? new Float32Array(whole, wholeAt, n) : new Float64Array(whole, wholeAt, n);
      wholeAt += n * item;
      return view;
    }
    return shared ? (dtype === 'float32' ? allocShared(Float32Array, n) : allocShared(Float64Array, n)) : allocFloat(dtype, n);
  };
  const pools: FloatArray[] = Array.from(poolElems, alloc);
  const words = (cols * item) >> 2;
  return {
    plan,
    dtype,
    cols,
    pools,
    poolOf,
    elemAt,
    srcSelected,
    tgtSelected,
    rowsOf: sizeOf,
    dest,
    pos,
    firstRow,
    lastRow,
    words,
    oneBuffer,
  };
}

/**
 * Copy each distribution's rows out of the representation into its own dense array
 * (dtype preserved; CSR rows densified, as the reference does). `select` limits which
 * distributions are copied. Reads the representation once, in row order, in windows cut
 * on the reader's chunk grid.
 */
export function materialize(
  plan: GroupPlan,
  rows: RowReader | Matrix,
  select?: MaterializeSelect,
  options: MaterializeOptions = {},
): GroupedDistribution {
  const c = copyDistributions(plan, rows, select, options);
  const ns = nSrc(plan);
  const view = (d: number): DenseMatrix => {
    const n = c.rowsOf(d);
    const data = options.pools ? c.pools[c.poolOf[d]!]!.subarray(c.elemAt[d]!, c.elemAt[d]! + n * c.cols) : c.pools[d]!;
    return { format: 'dense', dtype: c.dtype, rows: n, cols: c.cols, data };
  };
  const srcData = Array.from({ length: ns }, (_, s) => view(s));
  const tgtData = Array.from({ length: nTgt(plan) }, (_, t) => view(ns + t));
  return { plan, srcData, tgtData, srcSelected: c.srcSelected, tgtSelected: c.tgtSelected };
}

/** The shape of the rows `rows` gives; a reader that does not say is asked for the row at `firstRow`. */
function rowShape(plan: GroupPlan, rows: RowReader | Matrix, firstRow: number): RowShape {
  if (isMatrix(rows)) return { dtype: rows.dtype, cols: rows.cols };
  if (rows.cols !== undefined && rows.dtype !== undefined) return { dtype: rows.dtype, cols: rows.cols };
  // The reader tells its dtype and width only by reading: read one row now.
  const at = Math.max(firstRow, 0);
  const probe = rows.readRows(at, Math.min(plan.nObs, at + 1));
  return { dtype: probe.dtype, cols: probe.cols };
}

/** The copying half of `materialize`: the rows in pooled buffers, without a matrix object per distribution. */
export function copyDistributions(
  plan: GroupPlan,
  rows: RowReader | Matrix,
  select?: MaterializeSelect,
  options: MaterializeOptions = {},
): DistributionCopy {
  const layout = layoutCopy(plan, (first) => rowShape(plan, rows, first), select, options.pools ? { pools: options.pools } : {});
  const { dtype, cols, firstRow, lastRow } = layout;
  // What is returned holds the pools, not the per-row arrays (4 bytes per cell each).
  const copy = copyOf(layout);
  if (lastRow < 0) return copy;

  const wordsPerElem = itemSize(dtype) >> 2;
  const words = layout.words;
  const at = copyCursors(layout);
  const poolWords = layout.pools.map(wordsOf);

  if (isMatrix(rows)) {
    if (rows.format === 'dense') {
      scatterRows(layout, rows.data.subarray(firstRow * cols, (lastRow + 1) * cols), firstRow, lastRow + 1, at, poolWords);
    } else {
      const { dest, poolOf, pos } = layout;
      for (let r = firstRow; r <= lastRow; r++) {
        const d = dest[r]!;
        if (d < 0) continue;
        const out = layout.pools[poolOf[d]!]!;
        let o: number;
        if (pos === null) {
          o = at[d]! / wordsPerElem;
          at[d]! += words;
        } else o = at[d]! / wordsPerElem + pos[r]! * cols;
        for (let k = rows.indptr[r]!; k < rows.indptr[r + 1]!; k++) out[o + rows.indices[k]!] = rows.data[k]!;
      }
    }
    return copy;
  }

  const window = windowRows(Math.max(1, cols * itemSize(dtype)), rows.chunkRows, options.windowBytes);
  const buffer = allocFloat(dtype, Math.min(window, lastRow + 1 - firstRow) * cols);
  // Windows on the grid of multiples of `window` (so on chunk boundaries), clipped to the rows kept.
  for (let g = Math.floor(firstRow / window) * window; g <= lastRow; g += window) {
    const a = Math.max(g, firstRow);
    const b = Math.min(lastRow + 1, g + window);
    // A window with no kept row is never read (secondaries keep only their test cells).
    if (!anyCopied(layout, a, b)) continue;
    let block = rows.readRows(a, b, buffer.subarray(0, (b - a) * cols)).data;
    if (block.buffer !== buffer.buffer || block.byteOffset !== buffer.byteOffset) {
      // A reader that ignored `out`: take its block as is, or converted when the dtype differs.
      if (block instanceof Float32Array !== (dtype === 'float32')) {
        buffer.set(block.subarray(0, (b - a) * cols));
        block = buffer;
      }
    }
    scatterRows(layout, block, a, b, at, poolWords);
  }
  return copy;
}

/** The pools of a layout, without its per-row arrays. */
export function copyOf(l: CopyLayout): DistributionCopy {
  return {
    plan: l.plan,
    dtype: l.dtype,
    cols: l.cols,
    pools: l.pools,
    poolOf: l.poolOf,
    elemAt: l.elemAt,
    srcSelected: l.srcSelected,
    tgtSelected: l.tgtSelected,
    rowsOf: l.rowsOf,
  };
}

/** Bytes of the plan's own arrays (row positions, offsets, conditions). */
export function planBytes(plan: GroupPlan): number {
  let b =
    plan.srcRows.byteLength + plan.srcOffsets.byteLength + plan.tgtRows.byteLength + plan.tgtOffsets.byteLength + plan.tgtToSrc.byteLength;
  const seen = new Set<Float64Array>();
  for (const c of plan.conditions)
    for (const v of Object.values(c))
      if (!seen.has(v)) {
        seen.add(v);
        b += v.byteLength;
      }
  return b;
}

/** Live bytes of a GroupedDistribution: its data arrays plus the plan's arrays. */
export function groupedBytes(gd: GroupedDistribution): number {
  let b = planBytes(gd.plan);
  for (const m of gd.srcData) b += m.data.byteLength;
  for (const m of gd.tgtData) b += m.data.byteLength;
  return b;
}

/** `DataManager.prepare_data`: plan from obs, then copy every distribution out of the representation. */
export function prepareData(config: DataManagerConfig, source: DatasetSource): GroupedDistribution {
  const plan = planGroups(config, source);
  return materialize(plan, source.readMatrix(config.data_location));
}
