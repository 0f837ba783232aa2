/**
 * Zarr format 2, written by hand (no maintained JavaScript library writes it): `.zgroup`,
 * `.zarray` and `.zattrs` documents as zarr-python 2 writes them (sorted keys, 4-space indent),
 * chunks uncompressed and little-endian, text arrays as numcodecs' VLenUTF8 (`|O` with the
 * `vlen-utf8` filter) and a 0-d text value as numpy's fixed-width `<U{n}`, as anndata 0.8 writes a
 * str. Spec: https://zarr-specs.readthedocs.io/en/latest/v2/v2.0.html
 */
import type { ArrayNode, StoreNode } from './nodes.js';
import { codePoints, dtypeBytes, encodeUtf32, encodeVlenUtf8, numericBytes } from './nodes.js';
import type { StoreSink } from './sink.js';

const V2_DTYPES: Readonly<Record<string, string>> = {
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  bool: '|b1',
};

/** JSON with sorted keys and a 4-space indent, as zarr-python 2's `json_dumps`. */
export function zarrJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, sort(o[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 4);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Width of the `<U{n}` a 0-d text value is stored as (numpy gives '' the width 1). */
function textWidth(node: ArrayNode): number {
  return node.values.kind === 'strings' ? Math.max(1, codePoints(node.values.values[0] ?? '')) : 1;
}

/** The `.zarray` document of an array node. */
export function zarrayOf(node: ArrayNode): Record<string, unknown> {
  const text = node.dtype === 'string';
  const scalarText = text && node.shape.length === 0;
  return {
    chunks: node.chunks,
    compressor: null,
    dtype: scalarText ? `<U${textWidth(node)}` : text ? '|O' : V2_DTYPES[node.dtype],
    fill_value: scalarText ? '' : node.dtype === 'bool' ? false : 0,
    filters: text && !scalarText ? [{ id: 'vlen-utf8' }] : null,
    order: 'C',
    shape: node.shape,
    zarr_format: 2,
  };
}

/** The key of chunk `i` (along the first dimension) of an array of `ndim` dimensions. */
export function chunkKey2(path: string, i: number, ndim: number): string {
  if (ndim === 0) return `${path}/0`;
  return `${path}/${[i, ...Array<number>(ndim - 1).fill(0)].join('.')}`;
}

function key(path: string, name: string): string {
  return path === '' ? name : `${path}/${name}`;
}

/** The encoded chunks of a small array (values given): every chunk full size, the last padded (0, or '' for text). */
export function encodedChunks2(node: ArrayNode): Array<[string, Uint8Array]> {
  const v = node.values;
  if (v.kind === 'stream') return [];
  if (node.shape.length === 0) {
    const bytes =
      v.kind === 'strings'
        ? encodeUtf32(v.values[0] ?? '', textWidth(node))
        : numericBytes(node.dtype as Exclude<typeof node.dtype, 'string'>, v.values);
    return [[chunkKey2(node.path, 0, 0), bytes]];
  }
  const n = node.shape[0]!;
  const rowElems = node.shape.slice(1).reduce((a, b) => a * b, 1);
  const c = node.chunks[0]!;
  const out: Array<[string, Uint8Array]> = [];
  for (let i = 0; i * c < n; i++) {
    const from = i * c * rowElems;
    const to = Math.min(n, (i + 1) * c) * rowElems;
    const full = c * rowElems;
    let bytes: Uint8Array;
    if (v.kind === 'strings') {
      const items = v.values.slice(from, to);
      while (items.length < full) items.push('');
      bytes = encodeVlenUtf8(items);
    } else {
      const dtype = node.dtype as Exclude<typeof node.dtype, 'string'>;
      bytes = padTo(numericBytes(dtype, v.values, from, to), full * dtypeBytes(dtype));
    }
    out.push([chunkKey2(node.path, i, node.shape.length), bytes]);
  }
  return out;
}

function padTo(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length === size) return bytes;
  const out = new Uint8Array(size);
  out.set(bytes);
  return out;
}

/** Write every node's documents (and a small array's chunks) in format 2. */
export function writeNodes2(nodes: readonly StoreNode[], sink: StoreSink): void {
  for (const node of nodes) {
    if (node.kind === 'group') {
      sink.set(key(node.path, '.zgroup'), utf8(zarrJson({ zarr_format: 2 })));
    } else {
      sink.set(key(node.path, '.zarray'), utf8(zarrJson(zarrayOf(node))));
      for (const [k, bytes] of encodedChunks2(node)) sink.set(k, bytes);
    }
    if (Object.keys(node.attrs).length > 0) sink.set(key(node.path, '.zattrs'), utf8(zarrJson(node.attrs)));
  }
}
