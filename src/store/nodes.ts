/**
 * A store as a list of nodes, independent of the zarr format that writes it: groups with
 * attributes, and arrays with a dtype, shape, chunk shape, attributes and either their values
 * (small arrays, written whole) or `stream` (written window by window by the row writer).
 * Plain data: the format writers (zarr2.ts, zarr3.ts) and the tests read it.
 */

export type NumericDtype = 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64';
/** `string`: UTF-8 text, variable length (a 0-d `string` is one text value). */
export type StoreDtype = NumericDtype | 'bool' | 'string';

export type Attrs = Readonly<Record<string, unknown>>;

export interface GroupNode {
  readonly kind: 'group';
  /** '' for the root, else slash-separated without a leading slash. */
  readonly path: string;
  readonly attrs: Attrs;
}

export type ArrayValues =
  /** Numbers in C order (booleans as 0/1; int64 exact up to 2^53). */
  | { readonly kind: 'numbers'; readonly values: ArrayLike<number> }
  | { readonly kind: 'strings'; readonly values: readonly string[] }
  /** Written by the row writer (a distribution's rows, the obs index), chunk by chunk. */
  | { readonly kind: 'stream' };

export interface ArrayNode {
  readonly kind: 'array';
  readonly path: string;
  readonly dtype: StoreDtype;
  readonly shape: readonly number[];
  /** Chunk shape (same length as shape; [] for a 0-d array). Chunks split the first dimension only. */
  readonly chunks: readonly number[];
  readonly attrs: Attrs;
  readonly values: ArrayValues;
}

export type StoreNode = GroupNode | ArrayNode;

/** Bytes per element of a numeric or bool dtype. */
export function dtypeBytes(d: Exclude<StoreDtype, 'string'>): number {
  switch (d) {
    case 'int8':
    case 'uint8':
    case 'bool':
      return 1;
    case 'int16':
    case 'uint16':
      return 2;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 4;
    case 'int64':
    case 'uint64':
    case 'float64':
      return 8;
  }
}

/** Whether a numpy-style dtype name is an integer type (`int64`, `uint8`…). */
export function isIntegerDtype(d: string): boolean {
  return /^u?int(8|16|32|64)$/.test(d);
}

/** `values` as the little-endian bytes of `dtype` (booleans as 0/1 bytes). */
export function numericBytes(dtype: Exclude<StoreDtype, 'string'>, values: ArrayLike<number>, from = 0, to = values.length): Uint8Array {
  const n = to - from;
  const out = new Uint8Array(n * dtypeBytes(dtype));
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[from + i]!;
    switch (dtype) {
      case 'bool':
        out[i] = v ? 1 : 0;
        break;
      case 'int8':
        view.setInt8(i, v);
        break;
      case 'uint8':
        view.setUint8(i, v);
        break;
      case 'int16':
        view.setInt16(i * 2, v, true);
        break;
      case 'uint16':
        view.setUint16(i * 2, v, true);
        break;
      case 'int32':
        view.setInt32(i * 4, v, true);
        break;
      case 'uint32':
        view.setUint32(i * 4, v, true);
        break;
      case 'int64':
        view.setBigInt64(i * 8, BigInt(Math.trunc(v)), true);
        break;
      case 'uint64':
        view.setBigUint64(i * 8, BigInt(Math.trunc(v)), true);
        break;
      case 'float32':
        view.setFloat32(i * 4, v, true);
        break;
      case 'float64':
        view.setFloat64(i * 8, v, true);
        break;
    }
  }
  return out;
}

/** numcodecs' VLenUTF8 layout: item count (uint32 LE), then per item its byte length (uint32 LE) and UTF-8 bytes. */
export function encodeVlenUtf8(values: readonly string[]): Uint8Array {
  // One buffer for all (at most 3 UTF-8 bytes per UTF-16 unit), each string encoded in place:
  // no array per string (an obs index has one string per cell).
  let bound = 4;
  for (const v of values) bound += 4 + 3 * v.length;
  const out = new Uint8Array(bound);
  const view = new DataView(out.buffer);
  const enc = new TextEncoder();
  view.setUint32(0, values.length, true);
  let at = 4;
  for (const v of values) {
    const { written } = enc.encodeInto(v, out.subarray(at + 4));
    view.setUint32(at, written, true);
    at += 4 + written;
  }
  return out.slice(0, at);
}

/** The inverse of encodeVlenUtf8 (for tests and our own readers). */
export function decodeVlenUtf8(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder();
  const n = view.getUint32(0, true);
  const out: string[] = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    const len = view.getUint32(at, true);
    out.push(dec.decode(bytes.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return out;
}

/** Code points of `s` (a numpy `<U` string's length). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** numpy's fixed-width unicode `<U{width}`: UTF-32 LE, zero-padded. */
export function encodeUtf32(s: string, width: number): Uint8Array {
  const out = new Uint8Array(width * 4);
  const view = new DataView(out.buffer);
  let i = 0;
  for (const ch of s) view.setUint32(4 * i++, ch.codePointAt(0)!, true);
  return out;
}

/** Elements per chunk along the first dimension: about `targetBytes`, at least 1, at most the length. */
export function chunkLength(length: number, rowBytes: number, targetBytes: number): number {
  return Math.max(1, Math.min(length, Math.floor(targetBytes / Math.max(1, rowBytes))));
}
