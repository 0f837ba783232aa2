/**
 * Representations (X, obsm/<key>, layers/<key>): dense 2-D datasets or CSR groups. Shapes
 * and dtypes come from metadata; data is read in bounded, chunk-aligned windows into
 * preallocated typed arrays, so WebAssembly memory stays at one window whatever the size.
 */
import { CellbudgetError } from '../core/errors.js';
import { obsRowCount } from './obs.js';
import { allocFloat, itemSize } from '../core/data.js';
import type { CsrMatrix, DenseMatrix, DirectRegion, FloatArray, FloatDtype, Matrix, MatrixInfo } from '../core/data.js';
import { describeDtype, T, WINDOW_BYTES } from './file.js';
import type { H5File, Metadata } from './file.js';

/** Non-zeros scattered per block when densifying CSR rows: bounds the temporaries. */
const CSR_BLOCK = 1 << 22;

/** Tuning for tests and benchmarks: the WebAssembly bytes one read window may take. */
export interface ReadOptions {
  readonly windowBytes?: number;
}

type Layout =
  | { readonly format: 'dense'; readonly path: string; readonly meta: Metadata; readonly rows: number; readonly cols: number }
  | {
      readonly format: 'csr' | 'csc';
      readonly path: string;
      readonly rows: number;
      readonly cols: number;
      readonly data: Metadata;
      readonly indices: Metadata;
      readonly indptr: Metadata;
    };

/** `obsm/X_pca` style name of a location. */
export function locationName(location: readonly string[]): string {
  return location.filter((p) => p.length > 0).join('/');
}

/** The in-memory float dtype a stored numeric dtype is read as. */
export function floatDtypeFor(meta: Metadata): FloatDtype {
  if (meta.type === T.FLOAT) return meta.size === 4 ? 'float32' : 'float64';
  // Small integers fit exactly in float32; wider ones need float64.
  return meta.size <= 2 ? 'float32' : 'float64';
}

function checkNumeric(f: H5File, path: string, meta: Metadata): void {
  const t = meta.type;
  if (t !== T.FLOAT && t !== T.INTEGER) {
    throw new CellbudgetError('H5AD_UNSUPPORTED_DTYPE', `'${path.slice(1)}' in ${f.path} holds ${describeDtype(meta)}, not numbers.`, {
      file: f.path,
      key: path.slice(1),
      hint: 'Use a representation stored as float32/float64 (e.g. obsm/X_pca).',
    });
  }
  if (t === T.FLOAT && meta.size !== 4 && meta.size !== 8) {
    throw new CellbudgetError(
      'H5AD_UNSUPPORTED_DTYPE',
      `'${path.slice(1)}' in ${f.path} is float${meta.size * 8}; only float32 and float64 are read.`,
      {
        file: f.path,
        key: path.slice(1),
        hint: "Convert it in Python: adata.obsm[key] = adata.obsm[key].astype('float32').",
      },
    );
  }
}

function layout(f: H5File, location: readonly string[]): Layout {
  const name = locationName(location);
  if (name.length === 0) {
    throw new CellbudgetError('USAGE', 'Empty matrix location.', {
      file: f.path,
      hint: "Give a location such as ['obsm','X_pca'] or ['X'].",
    });
  }
  const path = '/' + name;
  const kind = f.kind(path);
  if (kind === null) throw f.missing(path, 'matrix');
  if (kind === 'group') {
    const enc = f.encoding(path) ?? f.strAttr(path, 'h5sparse_format');
    const format = enc === 'csr_matrix' || enc === 'csr' ? 'csr' : enc === 'csc_matrix' || enc === 'csc' ? 'csc' : undefined;
    if (format === undefined) {
      throw new CellbudgetError(
        'H5AD_UNSUPPORTED_ENCODING',
        `'${name}' in ${f.path} is a group with encoding '${enc ?? 'none'}', not a matrix.`,
        {
          file: f.path,
          key: name,
          value: enc ?? 'none',
          hint: 'Point the location at a dense array or a csr_matrix (e.g. obsm/X_pca, X, layers/<key>).',
        },
      );
    }
    const shapeAttr = f.attr(path, 'shape') ?? f.attr(path, 'h5sparse_shape');
    const shape =
      ArrayBuffer.isView(shapeAttr) || Array.isArray(shapeAttr) ? Array.from(shapeAttr as ArrayLike<number | bigint>, Number) : [];
    const [rows, cols] = shape;
    if (shape.length !== 2 || rows === undefined || cols === undefined) {
      throw new CellbudgetError('H5AD_INVALID', `Sparse matrix '${name}' in ${f.path} has no valid 'shape' attribute.`, {
        file: f.path,
        key: name,
        hint: 'Re-export the file with anndata.',
      });
    }
    for (const part of ['data', 'indices', 'indptr']) if (!f.has(`${path}/${part}`)) throw f.missing(`${path}/${part}`, 'sparse component');
    const data = f.metadata(`${path}/data`);
    checkNumeric(f, `${path}/data`, data);
    const indices = f.metadata(`${path}/indices`);
    const indptr = f.metadata(`${path}/indptr`);
    const nnz = data.shape?.[0] ?? 0;
    const major = format === 'csr' ? rows : cols;
    if (!(Number.isSafeInteger(rows) && rows >= 0 && Number.isSafeInteger(cols) && cols >= 0)) {
      throw new CellbudgetError(
        'H5AD_INVALID',
        `Sparse matrix '${name}' in ${f.path} declares an impossible shape [${shape.join(', ')}].`,
        { file: f.path, key: name, value: shape, hint: 'Re-export the file with anndata.' },
      );
    }
    if ((indices.shape?.[0] ?? -1) !== nnz || (indptr.shape?.[0] ?? -1) !== major + 1) {
      throw new CellbudgetError(
        'H5AD_INVALID',
        `Sparse matrix '${name}' in ${f.path} is inconsistent: shape [${rows}, ${cols}] needs ${major + 1} indptr entries and as many indices as values; it has ${indptr.shape?.[0] ?? 0} indptr entries, ${indices.shape?.[0] ?? 0} indices and ${nnz} values.`,
        {
          file: f.path,
          key: name,
          hint: 'The file is corrupt (or its shape attribute was edited); re-export it with anndata.',
        },
      );
    }
    checkCellRows(f, name, rows, cols, floatDtypeFor(data));
    return { format, path, rows, cols, data, indices, indptr };
  }
  const enc = f.encoding(path);
  if (enc !== undefined && enc !== 'array') {
    throw new CellbudgetError('H5AD_UNSUPPORTED_ENCODING', `'${name}' in ${f.path} has encoding '${enc}', not a dense array.`, {
      file: f.path,
      key: name,
      value: enc,
      hint: 'Use a dense array or csr_matrix representation.',
    });
  }
  const meta = f.metadata(path);
  checkNumeric(f, path, meta);
  const shape = meta.shape ?? [];
  if (shape.length !== 1 && shape.length !== 2) {
    throw new CellbudgetError('H5AD_INVALID', `'${name}' in ${f.path} has ${shape.length} dimensions; a representation has 2.`, {
      file: f.path,
      key: name,
    });
  }
  const rows = shape[0] ?? 0;
  const cols = shape.length === 2 ? (shape[1] ?? 0) : 1;
  checkCellRows(f, name, rows, cols, floatDtypeFor(meta));
  return { format: 'dense', path, meta, rows, cols };
}

/**
 * A representation holds one row per cell, and a row (densified for a distribution) must fit
 * in memory: checked on the shape alone, before anything is allocated or read.
 */
function checkCellRows(f: H5File, name: string, rows: number, cols: number, dtype: FloatDtype): void {
  // A bare HDF5 matrix (no obs at all, as the writer's own tests make) has nothing to match.
  const nObs = f.has('/obs') ? obsRowCount(f) : rows;
  if (rows !== nObs) {
    throw new CellbudgetError(
      'H5AD_INVALID',
      `'${name}' in ${f.path} has ${rows.toLocaleString('en-US')} rows but obs has ${nObs.toLocaleString('en-US')} cells; a representation holds one row per cell.`,
      {
        file: f.path,
        key: name,
        value: { rows, n_obs: nObs },
        hint: 'The file is inconsistent (a broken export, or a hand-edited shape): re-export it with anndata, or point data_location at a representation of the same cells.',
      },
    );
  }
  f.checkFits(name, cols, itemSize(dtype), 'columns in one row');
}

/**
 * Bytes on disk: the storage size of the datasets, read from their chunk index (see
 * storage.ts); NaN when a layout we do not parse hides it.
 */
function diskBytesOf(f: H5File, paths: readonly string[]): number {
  let total = 0;
  for (const p of paths) {
    const b = f.storageBytes(p);
    if (b === null) return Number.NaN;
    total += b;
  }
  return total;
}

/** Shape, dtype, format, chunking, filters and byte counts of a matrix, without reading it. */
export function matrixInfo(f: H5File, location: readonly string[]): MatrixInfo {
  const l = layout(f, location);
  const name = locationName(location);
  if (l.format === 'dense') {
    const compression = f.checkFilters(l.path);
    const dt = floatDtypeFor(l.meta);
    const dense = l.rows * l.cols * itemSize(dt);
    return {
      location: name,
      format: 'dense',
      shape: [l.rows, l.cols],
      dtype: describeDtype(l.meta),
      nnz: l.rows * l.cols,
      chunks: l.meta.chunks,
      compression: compression.filter((c) => c !== 'fletcher32'),
      diskBytes: diskBytesOf(f, [l.path]),
      memoryBytes: dense,
      denseBytes: dense,
    };
  }
  const compression = [
    ...new Set([...f.checkFilters(`${l.path}/data`), ...f.checkFilters(`${l.path}/indices`), ...f.checkFilters(`${l.path}/indptr`)]),
  ];
  const nnz = l.data.shape?.[0] ?? 0;
  const dt = floatDtypeFor(l.data);
  return {
    location: name,
    format: l.format,
    shape: [l.rows, l.cols],
    dtype: describeDtype(l.data),
    nnz,
    chunks: l.data.chunks,
    compression: compression.filter((c) => c !== 'fletcher32'),
    diskBytes: diskBytesOf(f, [`${l.path}/data`, `${l.path}/indices`, `${l.path}/indptr`]),
    memoryBytes: nnz * itemSize(dt) + nnz * 4 + ((l.format === 'csr' ? l.rows : l.cols) + 1) * 8,
    denseBytes: l.rows * l.cols * itemSize(dt),
  };
}

function refuseCsc(f: H5File, name: string): CellbudgetError {
  return new CellbudgetError(
    'H5AD_UNSUPPORTED_ENCODING',
    `'${name}' in ${f.path} is a csc_matrix; reading cell rows from column-compressed storage would read the whole matrix for every window.`,
    {
      file: f.path,
      key: name,
      value: 'csc_matrix',
      hint: 'Convert it to CSR in Python: adata.X = adata.X.tocsr() (or adata.layers[key] = adata.layers[key].tocsr()), then write_h5ad again.',
    },
  );
}

function checkWindow(f: H5File, name: string, rows: number, start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > rows || start > end) {
    throw new CellbudgetError('USAGE', `Row window [${start}, ${end}) is outside '${name}' in ${f.path}, which has ${rows} rows.`, {
      file: f.path,
      key: name,
      hint: `Ask for integer rows within [0, ${rows}].`,
    });
  }
}

function prepareOut(f: H5File, name: string, dtype: FloatDtype, length: number, out: FloatArray | undefined): FloatArray {
  if (out === undefined) return allocFloat(dtype, length);
  if (out.length < length) {
    throw new CellbudgetError('USAGE', `Output array for '${name}' has ${out.length} elements; the window needs ${length}.`, {
      file: f.path,
      key: name,
      hint: 'Pass a larger array or none.',
    });
  }
  return out;
}

/**
 * Rows [start, end) of the matrix at `location` as a dense row-major block (CSR rows
 * densified), into `out` when given. The block's dtype is `out`'s when `out` is given.
 */
export function readRows(
  f: H5File,
  location: readonly string[],
  start: number,
  end: number,
  out?: FloatArray,
  opts: ReadOptions = {},
): DenseMatrix {
  const wb = opts.windowBytes ?? WINDOW_BYTES;
  const l = layout(f, location);
  const name = locationName(location);
  checkWindow(f, name, l.rows, start, end);
  const n = end - start;
  if (l.format === 'csc') throw refuseCsc(f, name);
  if (l.format === 'dense') {
    f.checkFilters(l.path);
    const dt = out ? (out instanceof Float32Array ? 'float32' : 'float64') : floatDtypeFor(l.meta);
    const data = prepareOut(f, name, dt, n * l.cols, out);
    f.readRowsInto(l.path, l.meta, start, end, data, 0, wb);
    return { format: 'dense', dtype: dt, rows: n, cols: l.cols, data };
  }
  for (const part of ['data', 'indices', 'indptr']) f.checkFilters(`${l.path}/${part}`);
  const dt = out ? (out instanceof Float32Array ? 'float32' : 'float64') : floatDtypeFor(l.data);
  const data = prepareOut(f, name, dt, n * l.cols, out);
  data.fill(0, 0, n * l.cols);
  if (n === 0) return { format: 'dense', dtype: dt, rows: 0, cols: l.cols, data };
  const indptr = new Float64Array(n + 1);
  f.readRowsInto(`${l.path}/indptr`, l.indptr, start, end + 1, indptr, 0, wb);
  const p0 = indptr[0] ?? 0;
  const p1 = indptr[n] ?? 0;
  const nnzTotal = l.data.shape?.[0] ?? 0;
  if (p0 < 0 || p1 < p0 || p1 > nnzTotal) {
    throw new CellbudgetError(
      'H5AD_INVALID',
      `CSR indptr of '${name}' in ${f.path} is inconsistent (rows ${start}..${end} point at ${p0}..${p1} of ${nnzTotal} values).`,
      { file: f.path, key: name, hint: 'The file is corrupt; re-export it.' },
    );
  }
  const block = Math.max(1, Math.min(CSR_BLOCK, Math.floor(wb / 8), p1 - p0));
  const vals = allocFloat(dt, block);
  const idx = new Int32Array(block);
  let row = 0;
  for (let a = p0; a < p1; a += block) {
    const b = Math.min(p1, a + block);
    f.readRowsInto(`${l.path}/data`, l.data, a, b, vals, 0, wb);
    f.readRowsInto(`${l.path}/indices`, l.indices, a, b, idx, 0, wb);
    for (let k = a; k < b; k++) {
      while (k >= (indptr[row + 1] ?? p1)) row++;
      const c = idx[k - a] ?? -1;
      if (c < 0 || c >= l.cols) {
        throw new CellbudgetError('H5AD_INVALID', `CSR column index ${c} in '${name}' of ${f.path} is outside [0, ${l.cols}).`, {
          file: f.path,
          key: name,
          hint: 'The file is corrupt; re-export it.',
        });
      }
      data[row * l.cols + c] = vals[k - a] ?? 0;
    }
  }
  return { format: 'dense', dtype: dt, rows: n, cols: l.cols, data };
}

/** The whole matrix at `location` in its stored format (dense, or CSR as CSR). */
export function readMatrix(f: H5File, location: readonly string[], opts: ReadOptions = {}): Matrix {
  const wb = opts.windowBytes ?? WINDOW_BYTES;
  const l = layout(f, location);
  const name = locationName(location);
  if (l.format === 'dense') return readRows(f, location, 0, l.rows, undefined, opts);
  if (l.format === 'csc') throw refuseCsc(f, name);
  for (const part of ['data', 'indices', 'indptr']) f.checkFilters(`${l.path}/${part}`);
  const nnz = l.data.shape?.[0] ?? 0;
  if ((l.indices.shape?.[0] ?? -1) !== nnz || (l.indptr.shape?.[0] ?? -1) !== l.rows + 1) {
    throw new CellbudgetError('H5AD_INVALID', `CSR matrix '${name}' in ${f.path} has inconsistent data/indices/indptr lengths.`, {
      file: f.path,
      key: name,
      hint: 'The file is corrupt; re-export it.',
    });
  }
  const dt = floatDtypeFor(l.data);
  const data = allocFloat(dt, nnz);
  const indices = new Int32Array(nnz);
  const indptr = new Float64Array(l.rows + 1);
  f.readRowsInto(`${l.path}/data`, l.data, 0, nnz, data, 0, wb);
  f.readRowsInto(`${l.path}/indices`, l.indices, 0, nnz, indices, 0, wb);
  f.readRowsInto(`${l.path}/indptr`, l.indptr, 0, l.rows + 1, indptr, 0, wb);
  const m: CsrMatrix = { format: 'csr', dtype: dt, rows: l.rows, cols: l.cols, data, indices, indptr };
  return m;
}

/** Where a dense float matrix's rows lie in the file, when they can be read as stored (DatasetSource.directRegion). */
export function directRegion(f: H5File, location: readonly string[]): DirectRegion | null {
  const l = layout(f, location);
  if (l.format !== 'dense' || l.meta.type !== T.FLOAT || (l.meta.size !== 4 && l.meta.size !== 8)) return null;
  const at = f.directRegion(l.path, l.meta);
  return at === null ? null : { file: at.file, offset: at.offset, rows: l.rows, cols: l.cols, dtype: floatDtypeFor(l.meta) };
}

/** Representations in a file: X, obsm/*, layers/* (locations as path parts). */
export function listMatrixLocations(f: H5File): string[][] {
  const out: string[][] = [];
  if (f.has('/X')) out.push(['X']);
  for (const g of ['obsm', 'layers']) {
    if (f.isGroup(`/${g}`)) for (const k of f.keys(`/${g}`)) out.push([g, k]);
  }
  return out;
}
