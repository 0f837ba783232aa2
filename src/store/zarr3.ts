/**
 * Zarr format 3 through zarrita: zarrita writes every `zarr.json` (groups and arrays, with
 * their attributes) and the chunks of the small numeric arrays. What zarrita does not write:
 * - text arrays (zarrita has no vlen-utf8 encoder): zarrita declares them (`string`, codec
 *   `vlen-utf8`) and we write their chunks in numcodecs' VLenUTF8 layout, which zarrita's and
 *   zarr-python 3's decoders read;
 * - the distributions' rows: streamed by the row writer as raw little-endian chunks, the
 *   encoding of the `bytes` codec the array declares (no compressor, as scaleflow);
 * - shards: zarrita cannot write them, so arrays are chunked, unsharded.
 * docs/training-store.md#zarr-format-3
 */
import * as zarr from 'zarrita';
import type { ArrayNode, StoreNode } from './nodes.js';
import { encodeVlenUtf8 } from './nodes.js';
import type { StoreSink } from './sink.js';

/** The key of chunk `i` (first dimension) in zarr 3's default encoding: `c/i/0…`, `c` for a 0-d array. */
export function chunkKey3(path: string, i: number, ndim: number): string {
  if (ndim === 0) return `${path}/c`;
  return `${path}/c/${[i, ...Array<number>(ndim - 1).fill(0)].join('/')}`;
}

/** zarrita's view of a sink: writes go through, nothing is read back (every chunk is written whole, once). */
function storeOver(sink: StoreSink): { get(key: string): undefined; set(key: string, value: Uint8Array): void } {
  return {
    get: () => undefined,
    set: (key, value) => sink.set(key.replace(/^\//, ''), value),
  };
}

function typed(node: ArrayNode, values: ArrayLike<number>): zarr.Chunk<zarr.DataType>['data'] {
  switch (node.dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'int16':
      return Int16Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'uint8':
      return Uint8Array.from(values);
    case 'uint16':
      return Uint16Array.from(values);
    case 'uint32':
      return Uint32Array.from(values);
    case 'int64':
      return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'uint64':
      return BigUint64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'bool':
      return new zarr.BoolArray(Array.from(values, (v) => v !== 0));
    case 'string':
      throw new Error(`${node.path}: text is not numeric`);
  }
}

function scalarOf(node: ArrayNode, v: number): number | bigint | boolean {
  if (node.dtype === 'bool') return v !== 0;
  if (node.dtype === 'int64' || node.dtype === 'uint64') return BigInt(Math.trunc(v));
  return v;
}

function stridesOf(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = step;
    step *= shape[i]!;
  }
  return out;
}

/** Write every node's `zarr.json` (and a small array's chunks) in format 3. */
export async function writeNodes3(nodes: readonly StoreNode[], sink: StoreSink): Promise<void> {
  const root = zarr.root(storeOver(sink));
  for (const node of nodes) {
    const loc = node.path === '' ? root : root.resolve(node.path);
    if (node.kind === 'group') {
      await zarr.create(loc, { attributes: { ...node.attrs } });
      continue;
    }
    const text = node.dtype === 'string';
    const dtype: zarr.DataType = text ? 'string' : node.dtype;
    const fillValue: string | number | boolean = text ? '' : node.dtype === 'bool' ? false : 0;
    const arr = await zarr.create(loc, {
      shape: [...node.shape],
      chunkShape: [...node.chunks],
      dtype,
      codecs: text ? [{ name: 'vlen-utf8', configuration: {} }] : [{ name: 'bytes', configuration: { endian: 'little' } }],
      fillValue: fillValue as never,
      attributes: { ...node.attrs },
    });
    const v = node.values;
    // An empty array has no chunk to write.
    if (node.shape.some((n) => n === 0)) continue;
    if (v.kind === 'numbers') {
      // zarrita's set is typed per dtype; the node's dtype decides the typed array at run time.
      const set = zarr.set as (a: unknown, sel: null, value: unknown) => Promise<void>;
      if (node.shape.length === 0) await set(arr, null, scalarOf(node, v.values[0]!));
      else await set(arr, null, { data: typed(node, v.values), shape: [...node.shape], stride: stridesOf(node.shape) });
    } else if (v.kind === 'strings') {
      if (node.shape.length === 0) {
        sink.set(chunkKey3(node.path, 0, 0), encodeVlenUtf8([v.values[0] ?? '']));
        continue;
      }
      const n = node.shape[0]!;
      const c = node.chunks[0]!;
      for (let i = 0; i * c < n; i++) {
        const items = v.values.slice(i * c, Math.min(n, (i + 1) * c));
        while (items.length < c) items.push('');
        sink.set(chunkKey3(node.path, i, 1), encodeVlenUtf8(items));
      }
    }
  }
}
