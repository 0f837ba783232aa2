/**
 * anndata's element encodings as store nodes: what `anndata.experimental.write_elem` writes
 * into a zarr group for a dict, a str, a number, a list of str, a numpy array, a categorical and
 * a DataFrame (encoding-type / encoding-version attributes, the layout of each), so that
 * `read_elem` reads them back as those Python objects. Checked against anndata 0.8's own
 * writing and reading (test/integration/store).
 */
import type { ArrayNode, Attrs, GroupNode, NumericDtype, StoreNode } from './nodes.js';
import { chunkLength, dtypeBytes } from './nodes.js';

/** Small arrays are one chunk up to this size; larger ones are cut along their first dimension. */
export const SMALL_CHUNK_BYTES = 16 * 1024 * 1024;
/** Strings per chunk of a string array. */
export const STRING_CHUNK = 1 << 16;

function enc(type: string, version: string, extra: Attrs = {}): Attrs {
  return { 'encoding-type': type, 'encoding-version': version, ...extra };
}

export function join(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).join('/');
}

/** A dict: a group whose members are its elements. */
export function dictGroup(path: string): GroupNode {
  return { kind: 'group', path, attrs: enc('dict', '0.1.0') };
}

/** A str: a 0-d text array. */
export function stringScalar(path: string, value: string): ArrayNode {
  return {
    kind: 'array',
    path,
    dtype: 'string',
    shape: [],
    chunks: [],
    attrs: enc('string', '0.2.0'),
    values: { kind: 'strings', values: [value] },
  };
}

/** A Python int, float or bool: a 0-d numeric array (int64, float64, bool). */
export function numericScalar(path: string, dtype: 'int64' | 'float64' | 'bool', value: number): ArrayNode {
  return {
    kind: 'array',
    path,
    dtype,
    shape: [],
    chunks: [],
    attrs: enc('numeric-scalar', '0.2.0'),
    values: { kind: 'numbers', values: [value] },
  };
}

/** A list or array of str (`string-array`); `stream` when the row writer fills it. */
export function stringArray(path: string, values: readonly string[] | { readonly length: number; readonly stream: true }): ArrayNode {
  const n = values.length;
  return {
    kind: 'array',
    path,
    dtype: 'string',
    shape: [n],
    chunks: [Math.max(1, Math.min(n, STRING_CHUNK))],
    attrs: enc('string-array', '0.2.0'),
    values: 'stream' in values ? { kind: 'stream' } : { kind: 'strings', values },
  };
}

/** A 1-D numeric or bool numpy array (`array`). */
export function numericArray(
  path: string,
  dtype: NumericDtype | 'bool',
  values: ArrayLike<number>,
  attrs: Attrs = enc('array', '0.2.0'),
): ArrayNode {
  const n = values.length;
  return {
    kind: 'array',
    path,
    dtype,
    shape: [n],
    chunks: [chunkLength(n, dtypeBytes(dtype), SMALL_CHUNK_BYTES)],
    attrs,
    values: { kind: 'numbers', values },
  };
}

/** The same array without anndata's attributes (a plain zarr array, as scaleflow writes its label indices). */
export function plainArray(path: string, dtype: NumericDtype | 'bool', values: ArrayLike<number>): ArrayNode {
  return numericArray(path, dtype, values, {});
}

/** Categories of a categorical or values of a column: numbers, booleans or text. */
export type ColumnValues =
  | { readonly dtype: NumericDtype | 'bool'; readonly values: ArrayLike<number> }
  | { readonly dtype: 'string'; readonly values: readonly string[] };

function column(path: string, c: ColumnValues): ArrayNode {
  return c.dtype === 'string' ? stringArray(path, c.values) : numericArray(path, c.dtype, c.values);
}

/** pandas' dtype for the codes of `n` categories (`coerce_indexer_dtype`): int8 below 127, then int16, int32. */
export function codesDtype(n: number): 'int8' | 'int16' | 'int32' | 'int64' {
  return n < 127 ? 'int8' : n < 32767 ? 'int16' : n < 2147483647 ? 'int32' : 'int64';
}

/** A pandas Categorical: codes (-1 missing) and categories, `ordered`. */
export function categorical(path: string, codes: ArrayLike<number>, categories: ColumnValues, ordered: boolean): StoreNode[] {
  return [
    { kind: 'group', path, attrs: enc('categorical', '0.2.0', { ordered }) },
    numericArray(join(path, 'codes'), codesDtype(categories.values.length), codes),
    column(join(path, 'categories'), categories),
  ];
}

/** A pandas nullable integer or boolean array: values and a mask (true = missing). */
export function nullable(
  path: string,
  kind: 'nullable-integer' | 'nullable-boolean',
  values: ColumnValues,
  mask: ArrayLike<number>,
): StoreNode[] {
  return [
    { kind: 'group', path, attrs: enc(kind, '0.1.0') },
    column(join(path, 'values'), values),
    numericArray(join(path, 'mask'), 'bool', mask),
  ];
}

/** A DataFrame column: its nodes under `path`. */
export type DataFrameColumn = (path: string) => StoreNode[];

export function plainColumn(values: ColumnValues): DataFrameColumn {
  return (path) => [column(path, values)];
}

/** A DataFrame: `_index` and one element per column, in order. */
export function dataframe(path: string, index: ColumnValues, columns: ReadonlyArray<readonly [string, DataFrameColumn]>): StoreNode[] {
  const nodes: StoreNode[] = [
    { kind: 'group', path, attrs: enc('dataframe', '0.2.0', { _index: '_index', 'column-order': columns.map(([name]) => name) }) },
    column(join(path, '_index'), index),
  ];
  for (const [name, make] of columns) nodes.push(...make(join(path, name)));
  return nodes;
}
