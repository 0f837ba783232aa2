/**
 * Obs columns turned into sort codes: per-row integer codes whose order is the
 * reference's sort order (categoricals by category order, numbers numerically, False
 * before True, strings by code point), and the label of each code. Combining several
 * columns gives dense codes in lexicographic tuple order, by counting, never by sorting rows.
 */
import type { Label, ObsColumn } from '../data.js';

export interface KeyColumn {
  readonly name: string;
  /** Per row: the code of its value in sort order, or -1 when missing. */
  readonly codes: Int32Array;
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

function numericKey(name: string, values: ArrayLike<number | bigint>, mask: Uint8Array | null): KeyColumn {
  const n = values.length;
  // Few distinct values in practice (doses, counts): collect them through a Map, sort only those.
  const ids = new Map<number, number>();
  const raw = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    let v = typeof x === 'bigint' ? Number(x) : x;
    if ((mask && mask[i]) || Number.isNaN(v)) {
      raw[i] = -1;
      continue;
    }
    if (v === 0) v = 0; // -0 and 0 are one label, as in pandas
    let id = ids.get(v);
    if (id === undefined) {
      id = ids.size;
      ids.set(v, id);
    }
    raw[i] = id;
  }
  const uniq = Float64Array.from(ids.keys()).sort();
  const rank = new Int32Array(uniq.length);
  uniq.forEach((v, r) => (rank[ids.get(v)!] = r));
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = raw[i]!;
    codes[i] = id < 0 ? -1 : rank[id]!;
  }
  return { name, codes, labels: Array.from(uniq) };
}

function stringKey(name: string, values: readonly string[], mask: Uint8Array | null): KeyColumn {
  const n = values.length;
  const tmp = new Map<string, number>();
  const raw = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if ((mask && mask[i]) || v === undefined) {
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
      return { name: col.name, codes: new Int32Array(col.codes), labels: col.categories };
    case 'boolean': {
      const codes = new Int32Array(col.values.length);
      for (let i = 0; i < codes.length; i++) codes[i] = col.values[i] ? 1 : 0;
      return { name: col.name, codes, labels: [false, true] };
    }
    case 'nullable-boolean': {
      const codes = new Int32Array(col.values.length);
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

/** Dense codes of several columns combined, over the rows where `include` is set. */
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
 * Number the distinct tuples of `cols` among rows with `include[row] !== 0`, densely, in
 * lexicographic order of the columns' codes. Rows with a missing value get -1 (pandas'
 * groupby drops missing keys too).
 */
export function combineKeys(cols: readonly KeyColumn[], nRows: number, include?: Uint8Array): CombinedKey {
  const codes = new Int32Array(nRows);
  if (include) for (let i = 0; i < nRows; i++) codes[i] = include[i] ? 0 : -1;
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

/** The label tuple of `row` over `cols`. */
export function tupleAt(cols: readonly KeyColumn[], row: number): Label[] {
  return cols.map((c) => c.labels[c.codes[row]!]!);
}
