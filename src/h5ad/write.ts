/**
 * Writing AnnData (.h5ad) files over h5wasm: the element encodings anndata 0.8 reads
 * (dataframe, categorical, bool, string-array, dict, dense array, csr_matrix), matrices
 * written in row windows so WebAssembly memory stays bounded, and real HDF5 bool columns.
 *
 * Bool columns: h5wasm cannot create HDF5 enum types, and anndata only sees a bool where
 * h5py does, i.e. an enum {FALSE=0, TRUE=1} over int8. So bools are written with a
 * 1-byte compound placeholder type carrying a unique member name, and after the file is
 * closed `patchBoolPlaceholders` rewrites each placeholder datatype, in place, into the
 * exact enum datatype h5py writes. The file is created with the earliest format
 * (superblock 0, version-1 object headers), whose messages carry no checksums and whose
 * placeholder encoding is longer than the enum's, so the enum fits where the placeholder
 * was; the rest of the message stays as zero padding (adding a NULL message would change
 * the object header's message count, which HDF5 checks).
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { Dataset, File as H5wasmFile, Group, ready } from 'h5wasm/node';
import type { Dtype } from 'h5wasm/node';
import { CellbudgetError, isCellbudgetError } from '../core/errors.js';
import { allocFloat, itemSize, type FloatArray, type FloatDtype } from '../core/data.js';

const H5 = await ready;

/** HDF5's H5S_UNLIMITED: a dimension that may grow. */
const UNLIMITED = 18446744073709551615n;

/**
 * A dataset or attribute to create, as the writer's raw calls take it: what an HDF5 element's
 * type (class, size, sign, string kind) and layout (shape, growable dimensions, chunks, one
 * filter) say. Bools (`bool: true`, an int8 enum in the file) go through the placeholder
 * described above.
 */
export interface RawElementSpec {
  /** HDF5 type class: INTEGER 0, FLOAT 1, STRING 3. */
  readonly type: number;
  /** Bytes per element (a variable-length string's pointer: 4). */
  readonly size: number;
  readonly signed?: boolean;
  /** Variable-length string. */
  readonly vlen?: boolean;
  /** String character set: 0 ASCII, 1 UTF-8. */
  readonly cset?: number;
  readonly bool?: boolean;
  readonly shape: readonly number[];
  /** Per dimension: true when it may grow (H5S_UNLIMITED); fixed at `shape` otherwise. */
  readonly growable?: readonly boolean[];
  readonly chunks?: readonly number[] | null;
  /** One HDF5 filter (h5wasm sets one per dataset): its id (1 deflate) and parameters. */
  readonly filter?: { readonly id: number; readonly values: readonly number[] } | null;
}

function rawMetadata(spec: RawElementSpec): Record<string, unknown> {
  const base = spec.bool
    ? {
        type: H5.H5T_class_t.H5T_COMPOUND.value,
        size: 1,
        signed: false,
        vlen: false,
        littleEndian: true,
        compound_type: {
          nmembers: 1,
          members: [
            {
              name: BOOL_PLACEHOLDER,
              offset: 0,
              type: H5.H5T_class_t.H5T_INTEGER.value,
              size: 1,
              signed: true,
              vlen: false,
              littleEndian: true,
            },
          ],
        },
      }
    : {
        type: spec.type,
        size: spec.size,
        signed: spec.signed ?? false,
        vlen: spec.vlen ?? false,
        cset: spec.cset ?? 1,
        littleEndian: true,
      };
  return {
    ...base,
    shape: spec.shape.map((d) => BigInt(d)),
    maxshape: spec.shape.map((d, i) => (spec.growable?.[i] ? UNLIMITED : BigInt(d))),
    chunks: spec.chunks ? spec.chunks.map((d) => BigInt(d)) : null,
    compression: spec.filter?.id ?? 0,
    compression_opts: [...(spec.filter?.values ?? [])],
    track_order: false,
  };
}

/**
 * Strings as HDF5 takes them for `spec`: one C string each, NUL-terminated, back to back
 * (vlen; `vlenOffsets` gives where each starts), or `size` bytes each, zero-padded. Encoded
 * into one buffer, no allocation per string.
 */
function encodeStrings(values: readonly string[], spec: RawElementSpec): { bytes: Uint8Array; vlenOffsets: Uint32Array | null } {
  const latin1 = spec.cset === 0;
  if (!spec.vlen) {
    const bytes = Buffer.alloc(values.length * spec.size);
    const one = Buffer.alloc(4 * spec.size + 4);
    values.forEach((v, i) => {
      const n = one.write(v, 0, latin1 ? 'latin1' : 'utf8');
      one.copy(bytes, i * spec.size, 0, Math.min(n, spec.size));
    });
    return { bytes, vlenOffsets: null };
  }
  let cap = 0;
  for (const v of values) cap += 3 * v.length + 1;
  const bytes = Buffer.alloc(Math.max(1, cap));
  const offsets = new Uint32Array(values.length);
  let total = 0;
  values.forEach((v, i) => {
    offsets[i] = total;
    total += bytes.write(v, total, latin1 ? 'latin1' : 'utf8');
    bytes[total++] = 0;
  });
  return { bytes: bytes.subarray(0, Math.max(1, total)), vlenOffsets: offsets };
}

/** Unique member name of the placeholder type that `patchBoolPlaceholders` turns into bool. */
export const BOOL_PLACEHOLDER = 'cellbudget_bool_placeholder_v1';
const BOOL_PLACEHOLDER_DTYPE: Dtype = [[BOOL_PLACEHOLDER, '<b']];

/** The enum {FALSE=0, TRUE=1} over little-endian int8, as h5py encodes numpy bool (datatype message v1). */
const BOOL_ENUM_DTYPE = Uint8Array.from([
  0x18,
  0x02,
  0x00,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00, // version 1, class enum, 2 members, size 1
  0x10,
  0x08,
  0x00,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x08,
  0x00, // base: signed int8
  0x46,
  0x41,
  0x4c,
  0x53,
  0x45,
  0x00,
  0x00,
  0x00, // "FALSE" padded to 8
  0x54,
  0x52,
  0x55,
  0x45,
  0x00,
  0x00,
  0x00,
  0x00, // "TRUE" padded to 8
  0x00,
  0x01, // values
]);

const pad8 = (n: number): number => Math.ceil(n / 8) * 8;

/** Encoded size of the placeholder compound datatype (version 1: 8-byte aligned fields). */
const PLACEHOLDER_DTYPE_BYTES = 8 + pad8(BOOL_PLACEHOLDER.length + 1) + 4 + 4 + 4 + 4 + 16 + 12;

export type MatrixCompression = 'gzip' | 'none';

export interface MatrixWriteOptions {
  /** Rows per HDF5 chunk. Datasets are always chunked: that is what lets them be filled in windows. */
  readonly chunkRows: number;
  readonly compression: MatrixCompression;
  /** gzip level 0-9 (default 4, h5py's). */
  readonly gzipLevel?: number;
  /** Rows generated and written per window; rounded to whole chunks. */
  readonly windowRows?: number;
  /** Called after each window with the number of rows written so far. */
  readonly onRows?: (rowsDone: number) => void;
}

/** Fills `out` (row-major, (end-start) x cols) with rows [start, end). */
export type DenseRowFill = (start: number, end: number, out: FloatArray) => void;

/** Fills rows [start, end) of a CSR matrix with exactly `nnzPerRow` entries per row. */
export type CsrRowFill = (start: number, end: number, data: FloatArray, indices: Int32Array) => void;

/** Bytes one write window may take in WebAssembly memory (and again in JS). */
export const WRITE_WINDOW_BYTES = 8 * 1024 * 1024;

function fail(file: string, key: string, what: string, e: unknown): CellbudgetError {
  if (isCellbudgetError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CellbudgetError(
    'H5AD_WRITE_FAILED',
    `Failed while ${what} '${key}' in ${file}: ${msg}.`,
    {
      file,
      key,
      hint: 'Check that the directory is writable and the disk has space; run again with a new output path.',
    },
    { cause: e },
  );
}

/**
 * An h5ad file open for writing. Create with `H5adWriter.create` (truncates) or
 * `H5adWriter.append`, and `close()` in a finally.
 */
export class H5adWriter {
  readonly path: string;
  private readonly file: H5wasmFile;
  private closed = false;

  private constructor(path: string, file: H5wasmFile) {
    this.path = path;
    this.file = file;
  }

  /** Create (or truncate) `path` in the earliest HDF5 format, which `patchBoolPlaceholders` relies on. */
  static create(path: string): H5adWriter {
    const abs = resolve(path);
    let file: H5wasmFile;
    try {
      file = new H5wasmFile(abs, 'w', { libver: ['earliest', 'latest'] });
    } catch (e) {
      throw fail(path, '/', 'creating the file', e);
    }
    if (!(file.file_id > 0n)) {
      throw new CellbudgetError('H5AD_WRITE_FAILED', `HDF5 could not create ${path}.`, {
        file: path,
        hint: 'Check that the directory exists and is writable.',
      });
    }
    return new H5adWriter(path, file);
  }

  /** Open an existing file written by `create` to add elements. */
  static append(path: string): H5adWriter {
    const abs = resolve(path);
    let file: H5wasmFile;
    try {
      file = new H5wasmFile(abs, 'a', { libver: ['earliest', 'latest'] });
    } catch (e) {
      throw fail(path, '/', 'reopening the file', e);
    }
    if (!(file.file_id > 0n)) {
      throw new CellbudgetError('H5AD_WRITE_FAILED', `HDF5 could not reopen ${path} for writing.`, {
        file: path,
        hint: 'Check that the file is writable.',
      });
    }
    return new H5adWriter(path, file);
  }

  private guard<T>(key: string, what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw fail(this.path, key, what, e);
    }
  }

  private node(path: string): Group | Dataset {
    const e = this.guard(path, 'looking up', () => (path === '/' || path === '' ? this.file : this.file.get(path)));
    if (e instanceof Group || e instanceof Dataset) return e;
    throw new CellbudgetError('H5AD_WRITE_FAILED', `Cannot write attributes on '${path}' in ${this.path}: it does not exist.`, {
      file: this.path,
      key: path,
    });
  }

  /** HDF5 type class of a dataset (e.g. to check that a bool column became an enum). */
  typeClass(path: string): number {
    return this.guard(path, 'reading the type of', () => H5.get_dataset_metadata(this.file.file_id, '/' + path.replace(/^\//, '')).type);
  }

  /** Set string attributes (scalar variable-length UTF-8, as h5py writes Python str). */
  attrs(path: string, values: Readonly<Record<string, string>>): void {
    const n = this.node(path);
    for (const [k, v] of Object.entries(values)) this.guard(path, `writing attribute ${k} on`, () => n.create_attribute(k, v));
  }

  /** A string-array attribute; an empty one is written as an empty float64 array, as anndata does. */
  stringListAttr(path: string, name: string, values: readonly string[]): void {
    const n = this.node(path);
    this.guard(path, `writing attribute ${name} on`, () =>
      values.length === 0 ? n.create_attribute(name, [], [0], '<d') : n.create_attribute(name, [...values]),
    );
  }

  /** An int64 array attribute (e.g. csr_matrix `shape`). */
  int64ListAttr(path: string, name: string, values: readonly number[]): void {
    const n = this.node(path);
    this.guard(path, `writing attribute ${name} on`, () => n.create_attribute(name, BigInt64Array.from(values.map((v) => BigInt(v)))));
  }

  /** Replace (or add) an int64 array attribute, e.g. to rewrite a csr_matrix `shape`. */
  replaceInt64ListAttr(path: string, name: string, values: readonly number[]): void {
    const n = this.node(path);
    if (this.guard(path, `reading attributes of`, () => Object.keys(n.attrs).includes(name)))
      this.guard(path, `deleting attribute ${name} on`, () => n.delete_attribute(name));
    this.int64ListAttr(path, name, values);
  }

  /**
   * A numeric `array` dataset that declares `shape` but stores only `values` (its first
   * rows; HDF5 reads never-written chunks as 0). A few kilobytes can so declare 10^12 rows,
   * as a corrupt or hand-edited file does; the reader's shape checks are tested with it.
   */
  declaredArray(path: string, values: Int8Array | Int32Array | Float32Array | Float64Array, shape: readonly number[]): void {
    const rest = shape.slice(1);
    const rowElems = rest.reduce((a, b) => a * b, 1);
    const stored = [Math.floor(values.length / Math.max(1, rowElems)), ...rest];
    const chunks = [Math.max(1, Math.min(stored[0] ?? 1, 1024)), ...rest.map((d) => Math.max(1, d))];
    const ds = this.guard(path, 'writing', () =>
      this.file.create_dataset({
        name: path.replace(/^\//, ''),
        data: values.subarray(0, (stored[0] ?? 0) * rowElems),
        shape: stored,
        maxshape: shape.map(() => null),
        chunks,
      }),
    );
    if (!(ds instanceof Dataset))
      throw new CellbudgetError('H5AD_WRITE_FAILED', `Could not create '${path}' in ${this.path}.`, { file: this.path, key: path });
    this.guard(path, 'resizing', () => ds.resize([...shape]));
    this.attrs(path, { 'encoding-type': 'array', 'encoding-version': '0.2.0' });
  }

  /** A scalar bool attribute (a placeholder until `patchBoolPlaceholders`). */
  boolAttr(path: string, name: string, value: boolean): void {
    const n = this.node(path);
    this.guard(path, `writing attribute ${name} on`, () =>
      n.create_attribute(name, new Map([[BOOL_PLACEHOLDER, Int8Array.of(value ? 1 : 0)]]), [], BOOL_PLACEHOLDER_DTYPE),
    );
  }

  /** A group with anndata encoding attributes. */
  group(path: string, encodingType: string, encodingVersion: string): void {
    this.guard(path, 'creating group', () => this.file.create_group(path.replace(/^\//, '')));
    this.attrs(path, { 'encoding-type': encodingType, 'encoding-version': encodingVersion });
  }

  /** An empty `dict` group (anndata's obsm, layers, uns, ...). */
  dict(path: string): void {
    this.group(path, 'dict', '0.1.0');
  }

  /** A `string-array` element. Variable-length strings go whole: h5wasm cannot write them in pieces. */
  strings(path: string, values: readonly string[]): void {
    this.guard(path, 'writing strings', () =>
      this.file.create_dataset({ name: path.replace(/^\//, ''), data: [...values], shape: [values.length] }),
    );
    this.attrs(path, { 'encoding-type': 'string-array', 'encoding-version': '0.2.0' });
  }

  /**
   * A `string-array` of `n` strings produced by `nameAt`, written in windows. h5wasm's
   * high-level API takes variable-length strings only whole (one JS array and a copy of
   * every string in WebAssembly memory); its raw `create_dataset` / `set_dataset_data`
   * take a buffer of C string pointers, so the dataset is created contiguous (as h5py
   * writes it) with every element pointing at one empty string, then overwritten window by
   * window. WebAssembly memory: 4 bytes per element once, plus one window of strings.
   */
  stringsWindowed(path: string, n: number, nameAt: (i: number) => string, windowRows = 65536): void {
    const abs = '/' + path.replace(/^\//, '');
    const enc = new TextEncoder();
    const malloc = (bytes: number): number => {
      const p = H5._malloc(Math.max(1, bytes));
      if (p === 0)
        throw new CellbudgetError(
          'H5AD_WRITE_FAILED',
          `Cannot allocate ${bytes} bytes of WebAssembly memory to write '${path}' in ${this.path}.`,
          { file: this.path, key: path, hint: 'Free memory, or write a smaller dataset.' },
        );
      return p;
    };
    // Pointers are 32-bit in h5wasm's wasm32 build.
    const empty = malloc(1);
    const ptrs = malloc(4 * Math.max(1, n));
    try {
      H5.HEAPU8[empty] = 0;
      new Uint32Array(H5.HEAPU8.buffer, ptrs, n).fill(empty);
      const meta = {
        type: H5.H5T_class_t.H5T_STRING.value,
        size: 4,
        vlen: true,
        cset: 1,
        signed: false,
        littleEndian: true,
        shape: [BigInt(n)],
        maxshape: [BigInt(n)],
        chunks: null,
        compression: 0,
        compression_opts: [],
        track_order: false,
      };
      this.guard(path, 'creating', () =>
        H5.create_dataset(this.file.file_id, abs, BigInt(ptrs), meta as unknown as Parameters<typeof H5.create_dataset>[3]),
      );
      let scratch = new Uint8Array(1 << 16);
      const offsets = new Uint32Array(windowRows);
      for (let a = 0; a < n; a += windowRows) {
        const b = Math.min(n, a + windowRows);
        // Encode the window into one reused buffer: no per-string allocations.
        let total = 0;
        for (let i = a; i < b; i++) {
          const str = nameAt(i);
          if (scratch.length - total < 3 * str.length + 1) {
            const grown = new Uint8Array(Math.max(2 * scratch.length, total + 3 * str.length + 1));
            grown.set(scratch.subarray(0, total));
            scratch = grown;
          }
          offsets[i - a] = total;
          total += enc.encodeInto(str, scratch.subarray(total)).written;
          scratch[total++] = 0;
        }
        const buf = malloc(total);
        try {
          // Views after malloc: growing the heap replaces its buffer.
          const heap = H5.HEAPU8;
          heap.set(scratch.subarray(0, total), buf);
          const ptr32 = new Uint32Array(heap.buffer, ptrs, b - a);
          for (let k = 0; k < b - a; k++) ptr32[k] = buf + (offsets[k] ?? 0);
          const status = this.guard(path, `writing strings [${a}, ${b}) of`, () =>
            H5.set_dataset_data(this.file.file_id, abs, [BigInt(b - a)], [BigInt(a)], [1n], BigInt(ptrs)),
          );
          if (status < 0)
            throw new CellbudgetError('H5AD_WRITE_FAILED', `HDF5 could not write strings [${a}, ${b}) of '${path}' in ${this.path}.`, {
              file: this.path,
              key: path,
              hint: 'Check the disk space and permissions of the output directory.',
            });
        } finally {
          H5._free(buf);
        }
      }
    } finally {
      H5._free(ptrs);
      H5._free(empty);
    }
    this.attrs(path, { 'encoding-type': 'string-array', 'encoding-version': '0.2.0' });
  }

  /** A numeric `array` element from a typed array (its type is the stored dtype). */
  numeric(path: string, values: Int8Array | Int16Array | Int32Array | Float32Array | Float64Array): void {
    this.guard(path, 'writing', () => this.file.create_dataset({ name: path.replace(/^\//, ''), data: values, shape: [values.length] }));
    this.attrs(path, { 'encoding-type': 'array', 'encoding-version': '0.2.0' });
  }

  /** A bool `array` element (0/1 bytes); a placeholder until `patchBoolPlaceholders`. */
  bool(path: string, values: Uint8Array): void {
    const data = new Int8Array(values.buffer, values.byteOffset, values.length);
    this.guard(path, 'writing', () =>
      this.file.create_dataset({
        name: path.replace(/^\//, ''),
        data: new Map([[BOOL_PLACEHOLDER, data]]),
        shape: [values.length],
        dtype: BOOL_PLACEHOLDER_DTYPE,
      }),
    );
    this.attrs(path, { 'encoding-type': 'array', 'encoding-version': '0.2.0' });
  }

  /** A `categorical` element (codes + categories, `ordered` as a bool attribute). */
  categorical(path: string, codes: Int8Array | Int16Array | Int32Array, categories: readonly string[], ordered = false): void {
    this.group(path, 'categorical', '0.2.0');
    this.boolAttr(path, 'ordered', ordered);
    this.numeric(`${path}/codes`, codes);
    this.strings(`${path}/categories`, categories);
  }

  /**
   * A `dataframe` group: the index as `_index` (given whole, or as a count and a name per
   * row, written in windows), then the columns, which `writeColumns` writes under `path`.
   */
  dataframe(
    path: string,
    index: readonly string[] | { readonly n: number; readonly nameAt: (i: number) => string },
    columnOrder: readonly string[],
    writeColumns: () => void,
  ): void {
    this.group(path, 'dataframe', '0.2.0');
    this.attrs(path, { _index: '_index' });
    this.stringListAttr(path, 'column-order', columnOrder);
    if ('nameAt' in index) this.stringsWindowed(`${path}/_index`, index.n, index.nameAt);
    else this.strings(`${path}/_index`, index);
    writeColumns();
  }

  /**
   * A dense 2-D `array` of `rows` x `cols`, chunked by rows, generated and written in
   * windows of whole chunks: neither JS nor WebAssembly ever holds more than one window.
   */
  denseMatrix(path: string, rows: number, cols: number, dtype: FloatDtype, opts: MatrixWriteOptions, fill: DenseRowFill): void {
    const name = path.replace(/^\//, '');
    const item = itemSize(dtype);
    const chunkRows = Math.max(1, Math.min(opts.chunkRows, Math.max(rows, 1)));
    const windowRows = windowRowsFor(opts.windowRows, chunkRows, cols * item);
    const alloc = (n: number): FloatArray => allocFloat(dtype, n);
    const first = Math.min(rows, windowRows);
    const buf = alloc(windowRows * cols);
    fill(0, first, buf);
    // Created with the first window only and resized to full size: create_dataset copies
    // all its data through WebAssembly memory at once.
    const compression = opts.compression === 'gzip' ? { compression: 'gzip' as const, compression_opts: opts.gzipLevel ?? 4 } : {};
    const ds = this.guard(path, 'creating', () =>
      this.file.create_dataset({
        name,
        data: buf.subarray(0, first * cols),
        shape: [first, cols],
        maxshape: [rows, cols],
        chunks: [chunkRows, cols],
        ...compression,
      }),
    );
    this.attrs(path, { 'encoding-type': 'array', 'encoding-version': '0.2.0' });
    opts.onRows?.(first);
    if (first < rows) {
      this.guard(path, 'resizing', () => ds.resize([rows, cols]));
      for (let a = first; a < rows; a += windowRows) {
        const b = Math.min(rows, a + windowRows);
        const view = buf.subarray(0, (b - a) * cols);
        fill(a, b, view);
        this.guard(path, `writing rows [${a}, ${b}) of`, () => ds.write_slice([[a, b], []], view));
        opts.onRows?.(b);
      }
    }
  }

  /**
   * A `csr_matrix` group of `rows` x `cols` with exactly `nnzPerRow` entries per row
   * (so every dataset's size is known up front), written in row windows.
   */
  csrMatrix(
    path: string,
    rows: number,
    cols: number,
    nnzPerRow: number,
    dtype: FloatDtype,
    opts: MatrixWriteOptions,
    fill: CsrRowFill,
  ): void {
    this.group(path, 'csr_matrix', '0.1.0');
    this.int64ListAttr(path, 'shape', [rows, cols]);
    const nnz = rows * nnzPerRow;
    const item = itemSize(dtype);
    const chunkElems = Math.max(1, Math.min(Math.max(nnz, 1), opts.chunkRows * Math.max(nnzPerRow, 1)));
    const windowRows = windowRowsFor(opts.windowRows, opts.chunkRows, Math.max(nnzPerRow, 1) * (item + 4));
    const compression = opts.compression === 'gzip' ? { compression: 'gzip' as const, compression_opts: opts.gzipLevel ?? 4 } : {};
    const dataBuf: FloatArray = allocFloat(dtype, windowRows * nnzPerRow);
    const idxBuf = new Int32Array(windowRows * nnzPerRow);

    const first = Math.min(rows, windowRows);
    fill(0, first, dataBuf.subarray(0, first * nnzPerRow), idxBuf.subarray(0, first * nnzPerRow));
    const mk = (sub: string, data: FloatArray | Int32Array | BigInt64Array, total: number, chunk: number): Dataset =>
      this.guard(`${path}/${sub}`, 'creating', () =>
        this.file.create_dataset({
          name: `${path.replace(/^\//, '')}/${sub}`,
          data,
          shape: [data.length],
          maxshape: [total],
          chunks: [Math.max(1, Math.min(chunk, Math.max(total, 1)))],
          ...compression,
        }),
      );
    const dData = mk('data', dataBuf.subarray(0, first * nnzPerRow), nnz, chunkElems);
    const dIdx = mk('indices', idxBuf.subarray(0, first * nnzPerRow), nnz, chunkElems);
    // indptr is arithmetic (row * nnzPerRow); int64 as scipy uses for large matrices.
    const ptrBuf = new BigInt64Array(windowRows + 1);
    const fillPtr = (a: number, b: number): BigInt64Array => {
      const v = ptrBuf.subarray(0, b - a);
      for (let r = a; r < b; r++) v[r - a] = BigInt(r * nnzPerRow);
      return v;
    };
    const dPtr = mk('indptr', fillPtr(0, Math.min(rows + 1, windowRows)), rows + 1, Math.max(1, opts.chunkRows));
    opts.onRows?.(first);
    if (dData.shape?.[0] !== nnz) {
      this.guard(path, 'resizing', () => {
        dData.resize([nnz]);
        dIdx.resize([nnz]);
      });
    }
    const ptrFirst = Math.min(rows + 1, windowRows);
    if (ptrFirst < rows + 1) {
      this.guard(`${path}/indptr`, 'resizing', () => dPtr.resize([rows + 1]));
      for (let a = ptrFirst; a < rows + 1; a += windowRows) {
        const b = Math.min(rows + 1, a + windowRows);
        const v = fillPtr(a, b);
        this.guard(`${path}/indptr`, 'writing', () => dPtr.write_slice([[a, b]], v));
      }
    }
    for (let a = first; a < rows; a += windowRows) {
      const b = Math.min(rows, a + windowRows);
      const d = dataBuf.subarray(0, (b - a) * nnzPerRow);
      const ix = idxBuf.subarray(0, (b - a) * nnzPerRow);
      fill(a, b, d, ix);
      this.guard(`${path}/data`, `writing rows [${a}, ${b}) of`, () => dData.write_slice([[a * nnzPerRow, b * nnzPerRow]], d));
      this.guard(`${path}/indices`, `writing rows [${a}, ${b}) of`, () => dIdx.write_slice([[a * nnzPerRow, b * nnzPerRow]], ix));
      opts.onRows?.(b);
    }
  }

  // -------------------------------------------------------------------------------------
  // Raw elements: any shape, type, chunking and filter, filled window by window. Used to copy
  // a file's elements (src/h5ad/subset.ts).

  /** A group with no attributes (the caller copies them). */
  plainGroup(path: string): void {
    this.guard(path, 'creating group', () => this.file.create_group(path.replace(/^\//, '')));
  }

  /**
   * Create a dataset without writing its data: HDF5 allocates storage as windows are written
   * (`rawRows`, `rawStrings`), so a contiguous dataset stays contiguous however large, and a
   * chunked one keeps its chunks and filter. h5wasm's create call always writes a buffer; given
   * none, HDF5 refuses that write (and prints why) after creating the dataset, which is all we
   * want: its stderr goes nowhere meanwhile.
   */
  rawDataset(path: string, spec: RawElementSpec): void {
    const abs = '/' + path.replace(/^\//, '');
    const meta = rawMetadata(spec);
    silenced(() =>
      this.guard(path, 'creating', () =>
        H5.create_dataset(this.file.file_id, abs, 0n, meta as unknown as Parameters<typeof H5.create_dataset>[3]),
      ),
    );
    if (this.guard(path, 'looking up', () => H5.get_type(this.file.file_id, abs)) !== H5.H5G_DATASET) {
      throw new CellbudgetError('H5AD_WRITE_FAILED', `HDF5 could not create '${path}' in ${this.path} (${JSON.stringify(spec)}).`, {
        file: this.path,
        key: path,
        hint: 'Check the disk space and permissions of the output directory; if they are fine, this is a bug in cellbudget: please report it.',
      });
    }
  }

  /**
   * Write `bytes` (little-endian values of the dataset's type, row-major) as rows
   * [start, start + rows) of a dataset made by `rawDataset`; `rest` is its shape past the first
   * dimension. WebAssembly memory: one copy of `bytes`, reused across calls.
   */
  rawRows(path: string, start: number, rows: number, rest: readonly number[], bytes: Uint8Array): void {
    if (rows === 0) return;
    const ptr = this.scratch(bytes.length);
    H5.HEAPU8.set(bytes, ptr);
    this.setData(path, start, rows, rest, ptr);
  }

  /** Write `values` at rows [start, start + values.length) of a 1-D string dataset made by `rawDataset` with `spec`. */
  rawStrings(path: string, start: number, values: readonly string[], spec: RawElementSpec): void {
    if (values.length === 0) return;
    const { bytes, vlenOffsets } = encodeStrings(values, spec);
    if (vlenOffsets === null) {
      this.rawRows(path, start, values.length, [], bytes);
      return;
    }
    const ptrs = this.scratch(4 * values.length + bytes.length);
    const at = ptrs + 4 * values.length;
    const heap = H5.HEAPU8;
    heap.set(bytes, at);
    const p32 = new Uint32Array(heap.buffer, ptrs, values.length);
    for (let i = 0; i < values.length; i++) p32[i] = at + vlenOffsets[i]!;
    this.setData(path, start, values.length, [], ptrs);
  }

  /** Write the whole of a dataset made by `rawDataset` (a scalar, say): `value` its bytes, or its strings. */
  rawWhole(path: string, value: Uint8Array | readonly string[], spec: RawElementSpec): void {
    const abs = '/' + path.replace(/^\//, '');
    let ptr: number;
    if (Array.isArray(value)) {
      const { bytes, vlenOffsets } = encodeStrings(value as readonly string[], spec);
      const n = vlenOffsets?.length ?? 0;
      ptr = this.scratch(4 * n + bytes.length);
      const heap = H5.HEAPU8;
      if (vlenOffsets === null) heap.set(bytes, ptr);
      else {
        heap.set(bytes, ptr + 4 * n);
        const p32 = new Uint32Array(heap.buffer, ptr, n);
        for (let i = 0; i < n; i++) p32[i] = ptr + 4 * n + vlenOffsets[i]!;
      }
    } else {
      const bytes = value as Uint8Array;
      ptr = this.scratch(Math.max(1, bytes.length));
      H5.HEAPU8.set(bytes, ptr);
    }
    const status = this.guard(path, 'writing', () => H5.set_dataset_data(this.file.file_id, abs, null, null, null, BigInt(ptr)));
    if (status < 0) {
      throw new CellbudgetError('H5AD_WRITE_FAILED', `HDF5 could not write '${path}' in ${this.path}.`, {
        file: this.path,
        key: path,
        hint: 'Check the disk space and permissions of the output directory.',
      });
    }
  }

  /** An attribute of any supported type and shape (`value`: the stored typed array, or strings). */
  rawAttr(path: string, name: string, spec: RawElementSpec, value: ArrayBufferView | readonly string[]): void {
    const abs = '/' + path.replace(/^\//, '');
    let bytes: Uint8Array;
    let vlenOffsets: Uint32Array | null = null;
    if (Array.isArray(value)) ({ bytes, vlenOffsets } = encodeStrings(value as readonly string[], spec));
    else {
      const v = value as ArrayBufferView;
      bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    }
    const n = vlenOffsets?.length ?? 0;
    const ptr = this.scratch(Math.max(1, 4 * n + bytes.length));
    const heap = H5.HEAPU8;
    if (vlenOffsets === null) heap.set(bytes, ptr);
    else {
      const at = ptr + 4 * n;
      heap.set(bytes, at);
      const p32 = new Uint32Array(heap.buffer, ptr, n);
      for (let i = 0; i < n; i++) p32[i] = at + vlenOffsets[i]!;
    }
    const meta = rawMetadata({ ...spec, chunks: null, filter: null, growable: [] });
    const status = this.guard(path, `writing attribute ${name} on`, () =>
      H5.create_attribute(this.file.file_id, abs, name, BigInt(ptr), meta as unknown as Parameters<typeof H5.create_attribute>[4]),
    );
    if (status < 0) {
      throw new CellbudgetError('H5AD_WRITE_FAILED', `HDF5 could not write attribute '${name}' on '${path}' in ${this.path}.`, {
        file: this.path,
        key: path,
        hint: 'Check the disk space and permissions of the output directory.',
      });
    }
  }

  private scratchPtr = 0;
  private scratchBytes = 0;

  /** A WebAssembly buffer of at least `bytes`, kept for the next call (freed by close). */
  private scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchPtr) H5._free(this.scratchPtr);
      this.scratchPtr = 0;
      this.scratchBytes = 0;
      const p = H5._malloc(bytes);
      if (!p) {
        throw new CellbudgetError('H5AD_WRITE_FAILED', `Cannot allocate ${bytes} bytes of WebAssembly memory to write ${this.path}.`, {
          file: this.path,
          hint: 'Free memory, or write in smaller windows.',
        });
      }
      this.scratchPtr = p;
      this.scratchBytes = bytes;
    }
    return this.scratchPtr;
  }

  private setData(path: string, start: number, rows: number, rest: readonly number[], ptr: number): void {
    const abs = '/' + path.replace(/^\//, '');
    const status = this.guard(path, `writing rows [${start}, ${start + rows}) of`, () =>
      H5.set_dataset_data(
        this.file.file_id,
        abs,
        [BigInt(rows), ...rest.map((d) => BigInt(d))],
        [BigInt(start), ...rest.map(() => 0n)],
        [1n, ...rest.map(() => 1n)],
        BigInt(ptr),
      ),
    );
    if (status < 0) {
      throw new CellbudgetError(
        'H5AD_WRITE_FAILED',
        `HDF5 could not write rows [${start}, ${start + rows}) of '${path}' in ${this.path}.`,
        {
          file: this.path,
          key: path,
          hint: 'Check the disk space and permissions of the output directory.',
        },
      );
    }
  }

  /** Flush and close. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.scratchPtr) H5._free(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchBytes = 0;
    try {
      this.file.close();
    } catch (e) {
      throw fail(this.path, '/', 'closing', e);
    }
  }
}

/**
 * Run `fn` with the writer instance's stderr (HDF5's error stack) sent to /dev/null: for the
 * one call whose refusal is expected (rawDataset). Any other failure still throws.
 */
function silenced<T>(fn: () => T): T {
  const fsys = (H5 as unknown as { FS?: { getStream(fd: number): { nfd?: number } | null } }).FS;
  const stream = fsys?.getStream(2);
  if (!stream || typeof stream.nfd !== 'number' || process.env['CELLBUDGET_DEBUG']) return fn();
  const saved = stream.nfd;
  const devnull = openSync('/dev/null', 'w');
  stream.nfd = devnull;
  try {
    return fn();
  } finally {
    stream.nfd = saved;
    closeSync(devnull);
  }
}

function windowRowsFor(requested: number | undefined, chunkRows: number, rowBytes: number): number {
  const fit = Math.max(1, Math.floor(WRITE_WINDOW_BYTES / Math.max(1, rowBytes)));
  const rows = requested ?? fit;
  // Whole chunks per window: a compressed chunk written in two pieces is compressed twice.
  return Math.max(chunkRows, Math.floor(rows / chunkRows) * chunkRows);
}

// ---------------------------------------------------------------------------------------
// Turning bool placeholders into HDF5 enums, in place.

const HEADER_V1 = 8; // version-1 object header message: type u16, size u16, flags u8, 3 reserved
const MSG_DATATYPE = 0x0003;
const MSG_ATTRIBUTE = 0x000c;

/**
 * Rewrite every bool placeholder datatype in `path` (datasets and attributes) into the
 * enum {FALSE=0, TRUE=1} over int8 that h5py writes for numpy bool. The file must be closed
 * and written by `H5adWriter.create`. Returns the number of placeholders rewritten.
 */
export function patchBoolPlaceholders(path: string): number {
  const needle = Buffer.from(BOOL_PLACEHOLDER + '\0', 'latin1');
  const fd = openSync(path, 'r+');
  try {
    const hits = scan(fd, needle);
    for (const pos of hits) patchAt(fd, path, pos);
    return hits.length;
  } finally {
    closeSync(fd);
  }
}

function scan(fd: number, needle: Buffer): number[] {
  // Blocks of up to 8 MiB; a smaller file (the metadata a writer patches first) needs no more than its size.
  const block = Math.max(64 * 1024, Math.min(8 * 1024 * 1024, fstatSync(fd).size));
  const buf = Buffer.alloc(block + needle.length);
  const hits: number[] = [];
  let pos = 0;
  let carry = 0;
  for (;;) {
    const n = readSync(fd, buf, carry, block, pos);
    if (n <= 0) break;
    const len = carry + n;
    const base = pos - carry;
    let i = buf.indexOf(needle, 0);
    while (i >= 0 && i + needle.length <= len) {
      hits.push(base + i);
      i = buf.indexOf(needle, i + 1);
    }
    pos += n;
    // Keep the tail so that a name split between two blocks is still found.
    carry = Math.min(needle.length - 1, len);
    buf.copy(buf, 0, len - carry, len);
    buf.fill(0, carry);
  }
  return [...new Set(hits)].sort((a, b) => a - b);
}

function patchAt(fd: number, file: string, namePos: number): void {
  const before = 128;
  const start = Math.max(0, namePos - before);
  const region = Buffer.alloc(before + 256);
  const got = readSync(fd, region, 0, region.length, start);
  const at = (abs: number): number => abs - start;
  const dt = namePos - 8; // the first member name follows the 8-byte datatype header
  const bad = (why: string): CellbudgetError =>
    new CellbudgetError(
      'H5AD_WRITE_FAILED',
      `Could not turn the bool placeholder at byte ${namePos} of ${file} into an HDF5 bool: ${why}.`,
      {
        file,
        hint: "This is a bug in cellbudget's writer; please report it. Files written before it are unaffected.",
      },
    );
  if (got < at(namePos) + 64 || dt - HEADER_V1 < start) throw bad('the file ends too early');
  if (region[at(dt)] !== 0x16 || region.readUInt16LE(at(dt) + 1) !== 1 || region.readUInt32LE(at(dt) + 4) !== 1) {
    throw bad('it is not the version-1 compound type the writer creates');
  }

  // An attribute message: version 1, reserved, name size, datatype size, dataspace size, name (padded), datatype, ...
  for (let k = 1; k <= 8; k++) {
    const a = dt - 8 * k - 8;
    const hdr = a - HEADER_V1;
    if (hdr < start) break;
    const nameSize = region.readUInt16LE(at(a) + 2);
    if (
      region[at(a)] === 1 &&
      region[at(a) + 1] === 0 &&
      pad8(nameSize) === 8 * k &&
      region.readUInt16LE(at(a) + 4) === PLACEHOLDER_DTYPE_BYTES &&
      region.readUInt16LE(at(hdr)) === MSG_ATTRIBUTE
    ) {
      patchAttribute(fd, region, start, hdr, bad);
      return;
    }
  }
  const hdr = dt - HEADER_V1;
  if (region.readUInt16LE(at(hdr)) === MSG_DATATYPE && region.readUInt16LE(at(hdr) + 2) >= pad8(PLACEHOLDER_DTYPE_BYTES)) {
    const size = region.readUInt16LE(at(hdr) + 2);
    const out = Buffer.alloc(HEADER_V1 + size);
    region.copy(out, 0, at(hdr), at(hdr) + HEADER_V1);
    out.set(BOOL_ENUM_DTYPE, HEADER_V1);
    writeSync(fd, out, 0, out.length, hdr);
    return;
  }
  throw bad('it is neither in a datatype message nor in an attribute message');
}

function patchAttribute(fd: number, region: Buffer, start: number, hdr: number, bad: (why: string) => CellbudgetError): void {
  const at = (abs: number): number => abs - start;
  const size = region.readUInt16LE(at(hdr) + 2);
  const a = hdr + HEADER_V1;
  const nameSize = region.readUInt16LE(at(a) + 2);
  const dtSize = region.readUInt16LE(at(a) + 4);
  const dsSize = region.readUInt16LE(at(a) + 6);
  const nameAt = at(a) + 8;
  const dsAt = nameAt + pad8(nameSize) + pad8(dtSize);
  const dataAt = dsAt + pad8(dsSize);
  // Dataspace v1: version, rank, flags, 5 reserved, then rank 8-byte dimensions.
  const rank = region[dsAt + 1] ?? 0;
  let count = 1;
  for (let i = 0; i < rank; i++) count *= Number(region.readBigUInt64LE(dsAt + 8 + 8 * i));
  if (dataAt + count > region.length || dataAt - at(a) + count > size) throw bad('the attribute holds more values than expected');

  const body: number[] = [];
  const push = (bytes: ArrayLike<number>, padded: number): void => {
    for (let i = 0; i < padded; i++) body.push(i < bytes.length ? (bytes[i] ?? 0) : 0);
  };
  push([1, 0, nameSize & 0xff, nameSize >> 8, BOOL_ENUM_DTYPE.length, 0, dsSize & 0xff, dsSize >> 8], 8);
  push(region.subarray(nameAt, nameAt + pad8(nameSize)), pad8(nameSize));
  push(BOOL_ENUM_DTYPE, pad8(BOOL_ENUM_DTYPE.length));
  push(region.subarray(dsAt, dsAt + pad8(dsSize)), pad8(dsSize));
  push(region.subarray(dataAt, dataAt + count), pad8(count));
  if (body.length > size) throw bad('the enum attribute is larger than the placeholder');
  const out = Buffer.alloc(HEADER_V1 + size);
  region.copy(out, 0, at(hdr), at(hdr) + HEADER_V1);
  out.set(body, HEADER_V1);
  writeSync(fd, out, 0, out.length, hdr);
}

// ---------------------------------------------------------------------------------------
// Reproducible bytes: HDF5 stamps every object header with its modification time, the only
// thing that differs between two files written from the same spec.

/**
 * Set the object modification times HDF5 recorded while `path` was written (between
 * `fromSeconds` and `toSeconds`, Unix time) to `stampSeconds`, so that equal content gives
 * equal bytes. A modification-time message in a version-1 object header is 16 bytes:
 * type 0x0012, size 8, flags, 3 reserved, version 1, 3 reserved, u32 seconds; only those
 * with a time inside the write's interval are touched. Returns how many were set.
 */
export function stampModificationTimes(path: string, fromSeconds: number, toSeconds: number, stampSeconds = 0): number {
  const fd = openSync(path, 'r+');
  try {
    const head = Buffer.from([0x12, 0x00, 0x08, 0x00]);
    const stamp = Buffer.alloc(4);
    stamp.writeUInt32LE(stampSeconds >>> 0);
    let n = 0;
    forEachMatch(fd, head, 16, (pos, bytes) => {
      const flags = bytes[4] ?? 0xff;
      if (flags > 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) return;
      if (bytes[8] !== 1 || bytes[9] !== 0 || bytes[10] !== 0 || bytes[11] !== 0) return;
      const t = bytes.readUInt32LE(12);
      if (t < fromSeconds || t > toSeconds) return;
      writeSync(fd, stamp, 0, 4, pos + 12);
      n++;
    });
    return n;
  } finally {
    closeSync(fd);
  }
}

/** Call `fn(position, bytes)` for every occurrence of `needle`, with `span` bytes from there. */
function forEachMatch(fd: number, needle: Buffer, span: number, fn: (pos: number, bytes: Buffer) => void): void {
  const block = 8 * 1024 * 1024;
  const buf = Buffer.alloc(block + span);
  let pos = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, block + span, pos);
    if (n <= 0) break;
    // Matches starting in this block; the `span` overlap lets the next block start fresh.
    const limit = Math.min(n, block);
    let i = buf.indexOf(needle, 0);
    while (i >= 0 && i < limit) {
      if (i + span <= n) fn(pos + i, buf.subarray(i, i + span));
      i = buf.indexOf(needle, i + 1);
    }
    if (n < block + span) break;
    pos += block;
  }
}

/**
 * Byte length of the WebAssembly memory of the h5wasm instance the writer uses (it grows
 * and never shrinks). The reader (file.ts) runs its own instance, with its own memory.
 */
export function writerWasmHeapBytes(): number {
  return H5.HEAPU8.buffer.byteLength;
}

/** HDF5 type class number of enums, to check a patched column. */
export const H5T_ENUM_CLASS: number = H5.H5T_class_t.H5T_ENUM.value;
