/**
 * Obs columns turned into sort codes: per-row integer codes whose order is the
 * reference's sort order (categoricals by category order, numbers numerically, False
 * before True, strings by code point), and the label of each code. Combining several
 * columns gives dense codes in lexicographic tuple order, by counting, never by sorting rows.
 */
import type { CodeArray, Label, ObsColumn } from '../core/data.js';
import { CellbudgetError } from '../core/errors.js';

export interface KeyColumn {
  readonly name: string;
  /** Per row: the code of its value in sort order, or -1 when missing (a categorical's own codes, not copied). */
  readonly codes: CodeArray;
  /** Label of each code. */
  readonly labels: readonly Label[];
}

function compareCodePoints(a: string, b: string): number {
  // Python compares str by code point; JS `<` compares UTF-16 units, which differs only
  // for astral characters, so fall back to the slow path only when surrogates are present.
  if (!/[\ud800-\udfff]/.test(a) && !/[\ud800-\udfff]/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const ai = [...a];
  const bi = [...b];
  const n = Math.min(ai.length, bi.length);
  for (let i = 0; i < n; i++) {
    const d = ai[i]!.codePointAt(0)! - bi[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ai.length - bi.length;
}

// Numeric keys hold a handful of distinct values in practice (doses, counts): a linear scan
// over them beats a Map lookup per row; past this many values the Map takes over.
const SCAN_LIMIT = 16;

function numericKey(name: string, values: ArrayLike<number | bigint>, mask: Uint8Array | null): KeyColumn {
  const n = values.length;
  // Per row first the id of its value in first-seen order, then (in place) its rank.
  const codes = new Int32Array(n);
  const seen: number[] = [];
  if (values instanceof Float64Array && mask === null) firstSeenIdsF64(values, codes, seen);
  else firstSeenIds(values, mask, codes, seen);
  const uniq = Float64Array.from(seen).sort();
  const rankOf = new Map<number, number>();
  uniq.forEach((v, r) => rankOf.set(v, r));
  const rank = Int32Array.from(seen, (v) => rankOf.get(v)!);
  for (let i = 0; i < n; i++) {
    const id = codes[i]!;
    if (id >= 0) codes[i] = rank[id]!;
  }
  return { name, codes, labels: Array.from(uniq) };
}

/** The id (index into `seen`) of `v`, adding it when new; a Map takes over past SCAN_LIMIT values. */
class ValueIds {
  private ids: Map<number, number> | null = null;
  private lastValue = Number.NaN;
  private lastId = -1;
  constructor(private readonly seen: number[]) {}

  id(v: number): number {
    if (v === this.lastValue) return this.lastId;
    const seen = this.seen;
    let id = -1;
    if (this.ids === null) {
      for (let k = 0; k < seen.length; k++) {
        if (seen[k] === v) {
          id = k;
          break;
        }
      }
      if (id < 0) {
        id = seen.length;
        seen.push(v);
        if (seen.length > SCAN_LIMIT) this.ids = new Map(seen.map((x, k) => [x, k]));
      }
    } else {
      const got = this.ids.get(v);
      if (got === undefined) {
        id = seen.length;
        seen.push(v);
        this.ids.set(v, id);
      } else id = got;
    }
    this.lastValue = v;
    this.lastId = id;
    return id;
  }
}

// The common case (a float64 dose column, no mask): its own loop, monomorphic, no call per
// row. A value finds its id through a small hash table on its bits rather than by scanning
// the few distinct values: in shuffled data which value comes next is random, and a scan's
// branches mispredict (measured on 1M cells: 40-48 ms scanning, cold, against ~10 ms).
const TABLE_BITS = 6;

function firstSeenIdsF64(values: Float64Array, codes: Int32Array, seen: number[]): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  const few = new Float64Array(SCAN_LIMIT);
  // Slot -> id + 1 of the value hashed there first (0: empty).
  const table = new Int32Array(1 << TABLE_BITS);
  let n = 0;
  const len = values.length;
  for (let i = 0; i < len; i++) {
    const v = values[i]!;
    const slot = Math.imul(bits[2 * i]! ^ bits[2 * i + 1]!, 0x9e3779b1) >>> (32 - TABLE_BITS);
    const hit = table[slot]! - 1;
    if (hit >= 0 && few[hit] === v) {
      codes[i] = hit;
      continue;
    }
    // Rare: a new value, a collision, NaN (missing) or -0 (the label 0, as in pandas).
    if (Number.isNaN(v)) {
      codes[i] = -1;
      continue;
    }
    let id = -1;
    for (let k = 0; k < n; k++) {
      if (few[k] === v) {
        id = k;
        break;
      }
    }
    if (id < 0) {
      if (n === SCAN_LIMIT) {
        // Many distinct values: the general path (a Map) for the rest.
        firstSeenIds(values.subarray(i), null, codes.subarray(i), seen);
        return;
      }
      id = n;
      few[n++] = v === 0 ? 0 : v;
      seen.push(v === 0 ? 0 : v);
    }
    if (hit < 0) table[slot] = id + 1;
    codes[i] = id;
  }
}

function firstSeenIds(values: ArrayLike<number | bigint>, mask: Uint8Array | null, codes: Int32Array, seen: number[]): void {
  const ids = new ValueIds(seen);
  const big = values instanceof BigInt64Array || values instanceof BigUint64Array;
  for (let i = 0; i < values.length; i++) {
    const v = big ? Number(values[i] as bigint) : (values[i] as number);
    codes[i] = mask?.[i] || Number.isNaN(v) ? -1 : ids.id(v === 0 ? 0 : v);
  }
}

function stringKey(name: string, values: readonly string[], mask: Uint8Array | null): KeyColumn {
  const n = values.length;
  const tmp = new Map<string, number>();
  const raw = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (mask?.[i] || v === undefined) {
      raw[i] = -1;
      continue;
    }
    let id = tmp.get(v);
    if (id === undefined) {
      id = tmp.size;
      tmp.set(v, id);
    }
    raw[i] = id;
  }
  const firstSeen = [...tmp.keys()];
  const order = firstSeen.map((_, i) => i).sort((a, b) => compareCodePoints(firstSeen[a]!, firstSeen[b]!));
  const rank = new Int32Array(order.length);
  order.forEach((id, r) => (rank[id] = r));
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) codes[i] = raw[i]! < 0 ? -1 : rank[raw[i]!]!;
  return { name, codes, labels: order.map((id) => firstSeen[id]!) };
}

/** Sort codes of one obs column. */
export function keyColumn(col: ObsColumn): KeyColumn {
  switch (col.kind) {
    case 'categorical':
      return { name: col.name, codes: col.codes, labels: col.categories };
    case 'boolean': {
      const codes = new Int8Array(col.values.length);
      for (let i = 0; i < codes.length; i++) codes[i] = col.values[i] ? 1 : 0;
      return { name: col.name, codes, labels: [false, true] };
    }
    case 'nullable-boolean': {
      const codes = new Int8Array(col.values.length);
      for (let i = 0; i < codes.length; i++) codes[i] = col.mask[i] ? -1 : col.values[i] ? 1 : 0;
      return { name: col.name, codes, labels: [false, true] };
    }
    case 'numeric':
      return numericKey(col.name, col.values, null);
    case 'nullable-integer':
      return numericKey(col.name, col.values, col.mask);
    case 'string':
      return stringKey(col.name, col.values, null);
    case 'nullable-string':
      return stringKey(col.name, col.values, col.mask);
  }
}

/** Dense codes of several columns combined, over the rows a state array includes. */
export interface CombinedKey {
  /** Per row: dense tuple code in lexicographic order of the columns' sort codes, or -1. */
  readonly codes: Int32Array;
  readonly count: number;
  /** For each tuple code, the first row carrying it (its labels are read from there). */
  readonly firstRow: Int32Array;
}

// Ranges up to this size are densified with a presence table; larger ones by sorting keys.
const COUNTING_LIMIT = 1 << 24;

/** Dense ranks of the non-negative keys (in key order); -1 stays -1. */
function densifyTable(keys: Int32Array, range: number): number {
  const table = new Int32Array(range).fill(-1);
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (k >= 0) table[k] = 0;
  }
  let count = 0;
  for (let k = 0; k < range; k++) if (table[k] === 0) table[k] = count++;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (k >= 0) keys[i] = table[k]!;
  }
  return count;
}

function densifySorted(keys: Float64Array, out: Int32Array): number {
  const present = keys.filter((k) => k >= 0).sort();
  const index = new Map<number, number>();
  for (const k of present) if (!index.has(k)) index.set(k, index.size);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out[i] = k >= 0 ? index.get(k)! : -1;
  }
  return index.size;
}

/**
 * Number the distinct tuples of `cols` among rows with `state[row] >= 0` (all rows when
 * absent), densely, in lexicographic order of the columns' codes. Rows with a missing value
 * get -1 (pandas' groupby drops missing keys too).
 */
export function combineKeys(cols: readonly KeyColumn[], nRows: number, state?: Int8Array): CombinedKey {
  const codes = new Int32Array(nRows);
  if (state) for (let i = 0; i < nRows; i++) codes[i] = state[i]! < 0 ? -1 : 0;
  let count = 1;
  for (const col of cols) {
    const card = Math.max(1, col.labels.length);
    const cc = col.codes;
    if (count * card <= COUNTING_LIMIT) {
      // Mixed radix keeps lexicographic order; re-densify after each column so keys stay small.
      for (let i = 0; i < nRows; i++) {
        const prev = codes[i]!;
        const c = cc[i]!;
        codes[i] = prev < 0 || c < 0 ? -1 : prev * card + c;
      }
      count = densifyTable(codes, count * card);
    } else {
      const wide = new Float64Array(nRows);
      for (let i = 0; i < nRows; i++) {
        const prev = codes[i]!;
        const c = cc[i]!;
        wide[i] = prev < 0 || c < 0 ? -1 : prev * card + c;
      }
      count = densifySorted(wide, codes);
    }
  }
  if (cols.length === 0) count = codes.some((c) => c >= 0) ? 1 : 0;
  const firstRow = new Int32Array(count).fill(-1);
  for (let i = 0; i < nRows; i++) {
    const c = codes[i]!;
    if (c >= 0 && firstRow[c] === -1) firstRow[c] = i;
  }
  return { codes, count, firstRow };
}

/** Per-row keys of the tuples of several columns, ordered like the tuples (lexicographically). */
export interface TupleKeys {
  /** Per row: the key of its tuple in [0, range), or -1 when excluded or a value is missing. */
  readonly codes: Int32Array;
  /** Keys lie in [0, range); not every key in it need occur. */
  readonly range: number;
}

/** Append one column's codes to mixed-radix keys; returns a row whose code is not a label, or -1. */
function addDigit(keys: Int32Array, codes: CodeArray, card: number, labels: number): number {
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    if (c >= labels) return i;
    const k = keys[i]!;
    keys[i] = k < 0 || c < 0 ? -1 : k * card + c;
  }
  return -1;
}

function firstBadCode(codes: CodeArray, labels: number): number {
  for (let i = 0; i < codes.length; i++) if (codes[i]! >= labels) return i;
  return -1;
}

function badCode(col: KeyColumn, row: number): CellbudgetError {
  return new CellbudgetError(
    'H5AD_INVALID',
    `obs column '${col.name}' has code ${col.codes[row]!} at row ${row}, but only ${col.labels.length} categories.`,
    {
      key: `obs/${col.name}`,
      value: col.codes[row],
      hint: 'The file is corrupt or was not written by anndata; re-export it.',
    },
  );
}

/**
 * Keys of the tuples of `cols` for rows with `state[row] >= 0`: plain mixed-radix numbers
 * (one pass per column, no table) when all combinations fit a small range, dense codes
 * (`combineKeys`) otherwise. Either way key order is the tuples' lexicographic order.
 */
export function tupleKeys(cols: readonly KeyColumn[], nRows: number, state: Int8Array): TupleKeys {
  let range = 1;
  for (const c of cols) range *= Math.max(1, c.labels.length);
  // Tables indexed by key cost a few bytes per key: keep them within a few per row.
  if (range <= Math.max(1 << 16, Math.min(nRows, 1 << 24))) {
    const codes = new Int32Array(nRows);
    for (let i = 0; i < nRows; i++) codes[i] = state[i]! < 0 ? -1 : 0;
    for (const c of cols) {
      const bad = addDigit(codes, c.codes, Math.max(1, c.labels.length), c.labels.length);
      if (bad >= 0) throw badCode(c, bad);
    }
    return { codes, range };
  }
  for (const c of cols) {
    const bad = firstBadCode(c.codes, c.labels.length);
    if (bad >= 0) throw badCode(c, bad);
  }
  const k = combineKeys(cols, nRows, state);
  return { codes: k.codes, range: k.count };
}

/** The label tuple of `row` over `cols`. */
export function tupleAt(cols: readonly KeyColumn[], row: number): Label[] {
  return cols.map((c) => c.labels[c.codes[row]!]!);
}
