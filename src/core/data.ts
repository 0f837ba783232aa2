/**
 * The pure data model: obs columns as typed arrays, matrices as one typed array with a
 * shape, and the small interface the pipeline reads datasets through. Nothing here does
 * I/O; `src/h5ad/` implements `DatasetSource` over h5wasm and `memorySource()` over memory.
 */

export type FloatDtype = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;
export type IntArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
export type NumericArray = FloatArray | IntArray | BigInt64Array | BigUint64Array;
export type CodeArray = Int8Array | Int16Array | Int32Array;

/** A category label as anndata stores it: strings, or numbers for numeric categories. */
export type Label = string | number | boolean;

export type ObsColumn =
  | {
      readonly kind: 'categorical';
      readonly name: string;
      readonly codes: CodeArray;
      readonly categories: readonly Label[];
      readonly ordered: boolean;
      /** numpy-style dtype of the stored categories (`string`, `int64`, `float64`, `bool`…), when the reader knows it. */
      readonly categoriesDtype?: string;
    }
  | { readonly kind: 'boolean'; readonly name: string; readonly values: Uint8Array }
  | { readonly kind: 'numeric'; readonly name: string; readonly dtype: string; readonly values: NumericArray }
  | { readonly kind: 'string'; readonly name: string; readonly values: readonly string[] }
  | {
      readonly kind: 'nullable-integer';
      readonly name: string;
      readonly dtype: string;
      readonly values: NumericArray;
      readonly mask: Uint8Array;
    }
  | { readonly kind: 'nullable-boolean'; readonly name: string; readonly values: Uint8Array; readonly mask: Uint8Array }
  | { readonly kind: 'nullable-string'; readonly name: string; readonly values: readonly string[]; readonly mask: Uint8Array };

export type ObsColumnKind = ObsColumn['kind'];

/** A dense row-major matrix: one typed array and a shape. */
export interface DenseMatrix {
  readonly format: 'dense';
  readonly dtype: FloatDtype;
  readonly rows: number;
  readonly cols: number;
  readonly data: FloatArray;
}

/** A CSR matrix. `indptr` is a Float64Array so that nnz beyond 2^31 stays exact. */
export interface CsrMatrix {
  readonly format: 'csr';
  readonly dtype: FloatDtype;
  readonly rows: number;
  readonly cols: number;
  readonly data: FloatArray;
  readonly indices: Int32Array;
  readonly indptr: Float64Array;
}

export type Matrix = DenseMatrix | CsrMatrix;

/** What is known of a stored matrix without reading it. */
export interface MatrixInfo {
  /** e.g. `obsm/X_pca`, `X`, `layers/counts`. */
  readonly location: string;
  readonly format: 'dense' | 'csr' | 'csc';
  readonly shape: readonly [number, number];
  readonly dtype: FloatDtype | string;
  /** Stored (non-zero) values: rows*cols for dense. */
  readonly nnz: number;
  /** Chunk shape of the main dataset, or null when contiguous. */
  readonly chunks: readonly number[] | null;
  /** Compression filter names, e.g. ['gzip'], or [] for none. */
  readonly compression: readonly string[];
  /** Bytes the matrix takes on disk (storage size of its datasets). */
  readonly diskBytes: number;
  /** Bytes the matrix takes in memory once read (data + indices + indptr for CSR). */
  readonly memoryBytes: number;
  /** Bytes a dense copy of it takes (rows*cols*itemsize): what grouping allocates. */
  readonly denseBytes: number;
}

/** Embeddings under `uns/<key>`: label → vector. */
export type Embeddings = ReadonlyMap<string, FloatArray>;

/**
 * A dataset the pipeline can read. Implemented over h5ad files (src/h5ad) and over
 * memory (memorySource). Readers are cheap to open; every method reads only what it says.
 */
export interface DatasetSource {
  /** A name for messages: the file path, or a given name. */
  readonly name: string;
  readonly nObs: number;
  /** obs column names in the file's column order. */
  obsColumnNames(): readonly string[];
  /** One obs column, fully; throws OBS_MISSING_COLUMN when absent. */
  readObsColumn(name: string): ObsColumn;
  /** The obs index (cell names). */
  readObsIndex(): readonly string[];
  /** Names of cells [start, end) of the obs index, without reading the rest (sources that cannot, leave it out). */
  readObsIndexRange?(start: number, end: number): readonly string[];
  /** Keys under `uns` (top level). */
  unsKeys(): readonly string[];
  /** `uns/<key>/<label>` vectors; throws UNS_MISSING_KEY when absent. */
  readEmbeddings(key: string): Embeddings;
  /** Shape/dtype/format of the matrix at `location` (e.g. ['obsm','X_pca']) without reading it. */
  matrixInfo(location: readonly string[]): MatrixInfo;
  /**
   * Rows [start, end) of the matrix as a dense row-major block (CSR rows densified),
   * written into `out` when given (length >= (end-start)*cols), read in bounded,
   * chunk-aligned windows.
   */
  readRows(location: readonly string[], start: number, end: number, out?: FloatArray): DenseMatrix;
  /** The whole matrix in its stored format (dense, or CSR as CSR). */
  readMatrix(location: readonly string[]): Matrix;
  /**
   * Where the matrix's rows lie in a file when they can be read as stored, without a library
   * in between (dense floats, uncompressed, contiguous, in the platform's byte order, the file
   * long enough), else null. Sources that cannot tell leave it out.
   */
  directRegion?(location: readonly string[]): DirectRegion | null;
  /** Release file handles. Idempotent. */
  close(): void;
}

/** Rows of a dense float matrix stored as is in a file: row r is `rows × cols` values from `offset + r × cols × itemSize(dtype)`. */
export interface DirectRegion {
  readonly file: string;
  readonly offset: number;
  readonly rows: number;
  readonly cols: number;
  readonly dtype: FloatDtype;
}

/** Allocate a typed array of a float dtype. */
export function allocFloat(dtype: FloatDtype, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

/** Bytes per element of a float dtype. */
export function itemSize(dtype: FloatDtype): number {
  return dtype === 'float32' ? 4 : 8;
}

/**
 * The float dtype rows of a matrix stored as `stored` (a MatrixInfo's dtype: 'float32',
 * 'int16', …) are read as: floats as stored, integers of up to 16 bits as float32 (exact),
 * wider ones as float64 — what the h5ad reader does from the HDF5 metadata.
 */
export function readDtype(stored: FloatDtype | string): FloatDtype {
  if (stored === 'float32' || stored === 'float64') return stored;
  const bits = Number(/(\d+)$/.exec(stored)?.[1]);
  return bits <= 16 ? 'float32' : 'float64';
}

/** The label of row `row` of a column, as the pipeline compares it. */
export function labelAt(col: ObsColumn, row: number): Label | null {
  switch (col.kind) {
    case 'categorical': {
      const c = col.codes[row] ?? -1;
      return c < 0 ? null : (col.categories[c] ?? null);
    }
    case 'boolean':
      return (col.values[row] ?? 0) !== 0;
    case 'numeric': {
      const v = col.values[row];
      return typeof v === 'bigint' ? Number(v) : (v ?? null);
    }
    case 'string':
      return col.values[row] ?? null;
    case 'nullable-integer': {
      if (col.mask[row]) return null;
      const v = col.values[row];
      return typeof v === 'bigint' ? Number(v) : (v ?? null);
    }
    case 'nullable-boolean':
      return col.mask[row] ? null : (col.values[row] ?? 0) !== 0;
    case 'nullable-string':
      return col.mask[row] ? null : (col.values[row] ?? null);
  }
}
