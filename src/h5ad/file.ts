/**
 * Opening h5ad files: validation before h5wasm sees the bytes, one helper that always
 * closes, and the mapping of h5wasm failures to CellbudgetError. The only module (with its
 * siblings in src/h5ad) that imports h5wasm.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Attribute, Dataset, File as H5wasmFile, Group, ready } from 'h5wasm/node';
import type { Module as H5ModuleValue } from 'h5wasm/node';
import type { Entity, Filter, Metadata, OutputData } from 'h5wasm/node';
import { CellbudgetError, isCellbudgetError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

/** The instantiated h5wasm module (its heap, its raw C bindings). */
export const H5: typeof H5ModuleValue = await ready;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** WebAssembly memory one read window may take. */
export const WINDOW_BYTES = 32 * 1024 * 1024;

/** Filters h5wasm's build can decode (HDF5 ids): deflate, shuffle, fletcher32. */
const SUPPORTED_FILTERS = new Map<number, string>([
  [1, 'gzip'],
  [2, 'shuffle'],
  [3, 'fletcher32'],
]);
const KNOWN_FILTER_NAMES = new Map<number, string>([
  [4, 'szip'],
  [5, 'nbit'],
  [6, 'scaleoffset'],
  [32000, 'lzf'],
  [32001, 'blosc'],
  [32004, 'lz4'],
  [32008, 'bitshuffle'],
  [32015, 'zstd'],
  [32026, 'blosc2'],
]);

/** Current byte length of h5wasm's WebAssembly memory (it grows and never shrinks). */
export function wasmHeapBytes(): number {
  return H5.HEAPU8.buffer.byteLength;
}

/** Whether a WebAssembly abort has left the h5wasm instance unusable. */
let poisoned: unknown = null;

function isWasmAbort(e: unknown): boolean {
  if (e instanceof Error && e.name === 'RuntimeError') return true;
  const msg = e instanceof Error ? e.message : String(e);
  return /^Aborted\(|RuntimeError|unreachable|memory access out of bounds/.test(msg);
}

/**
 * Run an h5wasm call and turn whatever it throws into a CellbudgetError. WebAssembly
 * aborts are remembered: after one, the module's state is not trustworthy.
 */
export function guard<T>(file: string, key: string, what: string, fn: () => T, code: ErrorCode = 'H5AD_INVALID'): T {
  if (poisoned !== null) {
    throw new CellbudgetError(
      'FILE_UNREADABLE',
      `Cannot read ${file}: the HDF5 library aborted earlier in this process on a corrupt file and cannot be used again.`,
      { file, key, hint: 'Start a new process; check or re-export the corrupt file first.' },
      { cause: poisoned },
    );
  }
  try {
    return fn();
  } catch (e) {
    if (isCellbudgetError(e)) throw e;
    if (isWasmAbort(e)) {
      poisoned = e;
      throw new CellbudgetError(
        'FILE_UNREADABLE',
        `The HDF5 library aborted while ${what} in ${file}: the file is probably corrupt.`,
        { file, key, hint: 'Re-export the file (e.g. with anndata write_h5ad) and check it with h5py.' },
        { cause: e },
      );
    }
    const msg = e instanceof Error ? e.message : String(e);
    throw new CellbudgetError(
      code,
      `Failed while ${what} at '${key}' in ${file}: ${msg}.`,
      { file, key, hint: 'The file may be corrupt or not written by anndata; open it with h5py to check.' },
      { cause: e },
    );
  }
}

function readBytes(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  return buf.subarray(0, n);
}

function readUint(buf: Buffer, offset: number, size: number): number | null {
  if (offset + size > buf.length) return null;
  let v = 0;
  let all = true;
  for (let i = size - 1; i >= 0; i--) {
    const b = buf[offset + i] ?? 0;
    if (b !== 0xff) all = false;
    v = v * 256 + b;
  }
  return all ? null : v; // all 0xff is HDF5's "undefined address"
}

/**
 * Check that `path` exists, starts with an HDF5 superblock (at 0, 512, 1024, ...) and is not
 * shorter than the end-of-file address the superblock records, so that h5wasm never opens
 * a file it would abort on for these reasons. Returns the absolute path.
 */
export function validateHdf5File(path: string): string {
  const abs = resolve(path);
  let size: number;
  try {
    const st = statSync(abs);
    if (!st.isFile()) {
      throw new CellbudgetError('FILE_NOT_FOUND', `${path} is not a regular file.`, { file: path, hint: 'Pass the path of an .h5ad file.' });
    }
    size = st.size;
  } catch (e) {
    if (isCellbudgetError(e)) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CellbudgetError('FILE_NOT_FOUND', `File not found: ${path}.`, { file: path, hint: 'Check the path (relative paths are resolved from the current directory).' });
    }
    throw new CellbudgetError('FILE_UNREADABLE', `Cannot read ${path}: ${(e as Error).message}.`, { file: path, hint: 'Check its permissions.' }, { cause: e });
  }
  let fd: number;
  try {
    fd = openSync(abs, 'r');
  } catch (e) {
    throw new CellbudgetError('FILE_UNREADABLE', `Cannot open ${path}: ${(e as Error).message}.`, { file: path, hint: 'Check its permissions.' }, { cause: e });
  }
  try {
    let base = -1;
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      const sig = readBytes(fd, off, 8);
      if (HDF5_SIGNATURE.every((b, i) => sig[i] === b)) {
        base = off;
        break;
      }
    }
    if (base < 0) {
      throw new CellbudgetError('FILE_NOT_HDF5', `${path} is not an HDF5 file (no HDF5 signature found), so it cannot be an .h5ad file.`, {
        file: path,
        hint: 'Pass a file written by anndata (write_h5ad) or by `cellbudget synth`.',
      });
    }
    const sb = readBytes(fd, base, 128);
    const version = sb[8];
    let eofOffset: number;
    let offsetSize: number | undefined;
    let baseOffset: number;
    if (version === 0 || version === 1) {
      offsetSize = sb[13];
      baseOffset = version === 0 ? 24 : 28;
      eofOffset = baseOffset + 2 * (offsetSize ?? 0);
    } else if (version === 2 || version === 3) {
      offsetSize = sb[9];
      baseOffset = 12;
      eofOffset = 12 + 2 * (offsetSize ?? 0);
    } else {
      throw new CellbudgetError('FILE_UNREADABLE', `${path} has an HDF5 superblock of unknown version ${String(version)}: corrupt or written by an unsupported HDF5.`, {
        file: path,
        hint: 'Re-export the file with anndata or h5py.',
      });
    }
    if (offsetSize !== 2 && offsetSize !== 4 && offsetSize !== 8) {
      throw new CellbudgetError('FILE_UNREADABLE', `${path} has a corrupt HDF5 superblock (offset size ${String(offsetSize)}).`, {
        file: path,
        hint: 'Re-export the file with anndata or h5py.',
      });
    }
    const baseAddr = readUint(sb, baseOffset, offsetSize) ?? 0;
    const eof = readUint(sb, eofOffset, offsetSize);
    if (eof === null) {
      throw new CellbudgetError('FILE_TRUNCATED', `${path} is incomplete: its HDF5 superblock records no end of file (it was not closed after writing).`, {
        file: path,
        hint: 'Write the file again and let the writer finish.',
      });
    }
    const needed = baseAddr + eof;
    if (size < needed) {
      throw new CellbudgetError('FILE_TRUNCATED', `${path} is truncated: it has ${size} bytes but its HDF5 superblock says ${needed}.`, {
        file: path,
        value: { size, expected: needed },
        hint: 'The copy or download was cut short; copy the file again.',
      });
    }
  } finally {
    closeSync(fd);
  }
  return abs;
}

/** Join path parts into an absolute HDF5 path. */
export function h5path(parts: readonly string[]): string {
  return '/' + parts.filter((p) => p.length > 0).join('/');
}

/**
 * An open h5ad file. Obtain one with `withH5` (closes for you) or `H5File.open` (then
 * call `close()` in a finally).
 */
export class H5File {
  readonly path: string;
  readonly file: H5wasmFile;
  private closed = false;

  private constructor(path: string, file: H5wasmFile) {
    this.path = path;
    this.file = file;
  }

  /** Validate and open `path` read-only. */
  static open(path: string): H5File {
    const abs = validateHdf5File(path);
    const file = guard(path, '/', 'opening the file', () => new H5wasmFile(abs, 'r'), 'FILE_UNREADABLE');
    if (!(file.file_id > 0n)) {
      throw new CellbudgetError('FILE_UNREADABLE', `HDF5 could not open ${path}.`, { file: path, hint: 'The file may be corrupt; open it with h5py to check.' });
    }
    return new H5File(path, file);
  }

  /** Run `fn` on the open file and close it afterwards, also when `fn` throws. */
  with<T>(fn: (f: H5File) => T): T {
    try {
      return fn(this);
    } finally {
      this.close();
    }
  }

  get fileId(): bigint {
    return this.file.file_id;
  }

  /** The entity at a path, or null when absent. */
  tryGet(path: string): Entity | null {
    return guard(this.path, path, 'looking up an element', () => this.file.get(path));
  }

  /** Whether `path` exists. */
  has(path: string): boolean {
    return this.tryGet(path) !== null;
  }

  /** Names under a group. */
  keys(path: string): string[] {
    const g = this.group(path);
    return guard(this.path, path, 'listing a group', () => g.keys());
  }

  /** The group at `path`; H5AD_MISSING_KEY naming the existing siblings when absent. */
  group(path: string): Group {
    const e = this.tryGet(path);
    if (e === null) throw this.missing(path);
    if (!(e instanceof Group)) {
      throw new CellbudgetError('H5AD_INVALID', `'${path}' in ${this.path} is not a group.`, { file: this.path, key: path, hint: 'The file does not follow the AnnData layout.' });
    }
    return e;
  }

  /** The dataset at `path`; H5AD_MISSING_KEY naming the existing siblings when absent. */
  dataset(path: string): Dataset {
    const e = this.tryGet(path);
    if (e === null) throw this.missing(path);
    if (!(e instanceof Dataset)) {
      throw new CellbudgetError('H5AD_INVALID', `'${path}' in ${this.path} is not a dataset.`, { file: this.path, key: path, hint: 'The file does not follow the AnnData layout.' });
    }
    return e;
  }

  /** An H5AD_MISSING_KEY error for `path`, listing what its parent holds. */
  missing(path: string, what = 'element'): CellbudgetError {
    const parts = path.split('/').filter((p) => p.length > 0);
    // Walk up to the deepest existing ancestor, to say what exists there.
    let depth = parts.length - 1;
    let parent = '/';
    for (; depth >= 0; depth--) {
      const candidate = '/' + parts.slice(0, depth).join('/');
      const e = depth === 0 ? this.file : this.tryGetQuiet(candidate);
      if (e instanceof Group) {
        parent = candidate;
        break;
      }
    }
    let siblings: string[] = [];
    try {
      siblings = (this.tryGetQuiet(parent) as Group | null)?.keys() ?? [];
    } catch {
      siblings = [];
    }
    const rel = path.replace(/^\//, '');
    return new CellbudgetError('H5AD_MISSING_KEY', `${this.path} has no ${what} '${rel}'.`, {
      file: this.path,
      key: rel,
      hint: `'${parent}' holds: ${siblings.length ? siblings.join(', ') : '(nothing)'}.`,
    });
  }

  private tryGetQuiet(path: string): Entity | null {
    try {
      return this.file.get(path);
    } catch {
      return null;
    }
  }

  /** Attribute names of an object. */
  attrNames(path: string): string[] {
    return guard(this.path, path, 'listing attributes', () => H5.get_attribute_names(this.fileId, path));
  }

  /** An attribute's value, or undefined when absent. */
  attr(path: string, name: string): OutputData | null | undefined {
    const names = this.attrNames(path);
    if (!names.includes(name)) return undefined;
    return guard(this.path, `${path}@${name}`, 'reading an attribute', () => {
      const a = new Attribute(this.fileId, path, name);
      return a.value;
    });
  }

  /** A string attribute (e.g. `encoding-type`), or undefined. */
  strAttr(path: string, name: string): string | undefined {
    const v = this.attr(path, name);
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
    return undefined;
  }

  /** `encoding-type` of an element, or undefined (pre-0.7 files have none). */
  encoding(path: string): string | undefined {
    return this.strAttr(path, 'encoding-type');
  }

  /** Dataset metadata (shape, type, chunks) without reading data. */
  metadata(path: string): Metadata {
    return guard(this.path, path, 'reading dataset metadata', () => H5.get_dataset_metadata(this.fileId, path));
  }

  /** Filters of a dataset; throws H5AD_UNSUPPORTED_FILTER for ones h5wasm cannot decode. */
  filters(path: string): Filter[] {
    return guard(this.path, path, 'reading dataset filters', () => H5.get_dataset_filters(this.fileId, path));
  }

  /** Refuse datasets compressed with filters h5wasm's build lacks (lzf, blosc, ...). */
  checkFilters(path: string): string[] {
    const names: string[] = [];
    for (const f of this.filters(path)) {
      const known = SUPPORTED_FILTERS.get(f.id);
      if (known === undefined) {
        const name = KNOWN_FILTER_NAMES.get(f.id) ?? (f.name || `filter ${f.id}`);
        throw new CellbudgetError(
          'H5AD_UNSUPPORTED_FILTER',
          `'${path.replace(/^\//, '')}' in ${this.path} is compressed with ${name} (HDF5 filter ${f.id}), which cellbudget cannot decode (gzip/deflate, shuffle and fletcher32 are supported).`,
          {
            file: this.path,
            key: path.replace(/^\//, ''),
            value: name,
            hint: "Rewrite the file with gzip or no compression, e.g. in Python: `ad = anndata.read_h5ad(path); ad.write_h5ad(out, compression='gzip')`.",
          },
        );
      }
      names.push(known);
    }
    return names;
  }

  /**
   * Read rows [start, end) of a 1-D or 2-D numeric dataset into `out` (from `outOffset`),
   * in windows of at most `maxWindowBytes` of WebAssembly memory aligned to the chunk rows.
   * `out` may have another numeric type than the file: values are converted.
   */
  readRowsInto(path: string, meta: Metadata, start: number, end: number, out: NumericOut, outOffset = 0, maxWindowBytes = WINDOW_BYTES): void {
    const shape = meta.shape ?? [];
    const nRows = shape[0] ?? 0;
    if (start < 0 || end > nRows || start > end) {
      throw new CellbudgetError('USAGE', `Row window [${start}, ${end}) is outside '${path}' in ${this.path}, which has ${nRows} rows.`, {
        file: this.path,
        key: path,
        hint: `Ask for rows within [0, ${nRows}).`,
      });
    }
    if (start === end) return;
    const Stored = storedArrayType(meta, this.path, path);
    const rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = Math.max(1, rowElems * meta.size);
    const chunkRows = meta.chunks?.[0] ?? 1;
    // Windows aligned to the chunk grid: each get_dataset_data call reopens the dataset, and
    // a window that cuts a compressed chunk makes HDF5 inflate that chunk twice.
    let step = Math.floor(maxWindowBytes / rowBytes / chunkRows) * chunkRows;
    if (step < 1) step = Math.max(1, Math.min(chunkRows, Math.floor(maxWindowBytes / rowBytes)) || 1);
    const cap = Math.min(end - start, step) * rowBytes;
    const ptr = guard(this.path, path, 'allocating a read buffer', () => H5._malloc(cap));
    if (ptr === 0) {
      throw new CellbudgetError('FILE_UNREADABLE', `Cannot allocate ${cap} bytes of WebAssembly memory to read '${path}' in ${this.path}.`, { file: this.path, key: path, hint: 'Free memory or read smaller windows.' });
    }
    try {
      let a = start;
      while (a < end) {
        const b = Math.min(end, (Math.floor(a / step) + 1) * step);
        const count = [BigInt(b - a), ...shape.slice(1).map((d) => BigInt(d))];
        const offset = [BigInt(a), ...shape.slice(1).map(() => 0n)];
        const strides = shape.map(() => 1n);
        const status = guard(this.path, path, 'reading data', () => H5.get_dataset_data(this.fileId, path, count, offset, strides, BigInt(ptr)));
        if (status < 0) {
          throw new CellbudgetError('H5AD_INVALID', `HDF5 could not read rows [${a}, ${b}) of '${path.replace(/^\//, '')}' in ${this.path}: the data is corrupt or uses an unsupported filter.`, {
            file: this.path,
            key: path.replace(/^\//, ''),
            hint: 'Check the file with h5py; re-export it with anndata if it reads there.',
          });
        }
        const n = (b - a) * rowElems;
        // View the heap only now: a malloc may have grown (and replaced) its buffer.
        const view = new Stored(H5.HEAPU8.buffer, ptr, n);
        const at = outOffset + (a - start) * rowElems;
        copyInto(out, at, view);
        a = b;
      }
    } finally {
      H5._free(ptr);
    }
  }

  /** A whole 1-D numeric dataset as its own typed array type, read in bounded windows. */
  readNumeric1D(path: string, meta: Metadata = this.metadata(path)): NumericOut {
    const Stored = storedArrayType(meta, this.path, path);
    const n = (meta.shape ?? []).reduce((a, b) => a * b, 1);
    const out = new Stored(n);
    if ((meta.shape ?? []).length === 0) {
      // scalar
      this.readScalarInto(path, out);
      return out;
    }
    this.readRowsInto(path, meta, 0, meta.shape?.[0] ?? 0, out);
    return out;
  }

  private readScalarInto(path: string, out: NumericOut): void {
    const v = guard(this.path, path, 'reading a scalar', () => this.dataset(path).value);
    if (typeof v === 'number' || typeof v === 'bigint') (out as { [i: number]: number | bigint })[0] = v;
  }

  /** A string dataset (variable or fixed length), read in windows of rows. */
  readStrings(path: string, meta: Metadata = this.metadata(path)): string[] {
    if (meta.type !== H5.H5T_class_t.H5T_STRING.value) {
      throw new CellbudgetError('H5AD_UNSUPPORTED_DTYPE', `'${path.replace(/^\//, '')}' in ${this.path} is not a string dataset.`, { file: this.path, key: path, hint: 'The file does not follow the AnnData layout.' });
    }
    const ds = this.dataset(path);
    const n = meta.shape?.[0] ?? 1;
    if ((meta.shape ?? []).length === 0) {
      const v = guard(this.path, path, 'reading strings', () => ds.value);
      return [String(v)];
    }
    const out: string[] = new Array<string>(n);
    const step = 1 << 16;
    for (let a = 0; a < n; a += step) {
      const b = Math.min(n, a + step);
      const part = guard(this.path, path, 'reading strings', () => ds.slice([[a, b]]));
      if (!Array.isArray(part)) throw new CellbudgetError('H5AD_INVALID', `Unexpected string data in '${path}' of ${this.path}.`, { file: this.path, key: path });
      for (let i = 0; i < part.length; i++) out[a + i] = String(part[i]);
    }
    return out;
  }

  /** Close the file. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.file.close();
    } catch {
      // A failed close after an abort leaves nothing to release that we could reach.
    }
  }
}

/** Open `path`, run `fn`, and close the file whatever happens. */
export function withH5<T>(path: string, fn: (f: H5File) => T): T {
  return H5File.open(path).with(fn);
}


export type NumericOut =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

type NumericCtor = {
  new (length: number): NumericOut;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericOut;
};

/** The typed array type of a numeric (or enum-over-integer) dataset. */
export function storedArrayType(meta: Metadata, file: string, key: string): NumericCtor {
  const cls = H5.H5T_class_t;
  let type = meta.type;
  if (type === cls.H5T_ENUM.value) type = meta.enum_type?.type ?? cls.H5T_INTEGER.value;
  if (type === cls.H5T_INTEGER.value) {
    switch (meta.size) {
      case 1:
        return meta.signed ? Int8Array : Uint8Array;
      case 2:
        return meta.signed ? Int16Array : Uint16Array;
      case 4:
        return meta.signed ? Int32Array : Uint32Array;
      case 8:
        return meta.signed ? BigInt64Array : BigUint64Array;
    }
  } else if (type === cls.H5T_FLOAT.value) {
    if (meta.size === 4) return Float32Array;
    if (meta.size === 8) return Float64Array;
  }
  throw new CellbudgetError('H5AD_UNSUPPORTED_DTYPE', `'${key.replace(/^\//, '')}' in ${file} has a datatype cellbudget cannot read as numbers (${describeDtype(meta)}).`, {
    file,
    key: key.replace(/^\//, ''),
    hint: 'Convert it to float32/float64 or an integer type, e.g. with anndata.',
  });
}

/** numpy-style name of a dataset's type: float32, int8, bool, string, ... */
export function describeDtype(meta: Metadata): string {
  const cls = H5.H5T_class_t;
  if (meta.type === cls.H5T_ENUM.value) {
    const names = Object.keys(meta.enum_type?.members ?? {});
    return names.length === 2 && names.includes('FALSE') && names.includes('TRUE') ? 'bool' : `enum(${names.join(',')})`;
  }
  if (meta.type === cls.H5T_INTEGER.value) return `${meta.signed ? 'int' : 'uint'}${meta.size * 8}`;
  if (meta.type === cls.H5T_FLOAT.value) return `float${meta.size * 8}`;
  if (meta.type === cls.H5T_STRING.value) return meta.vlen ? 'string' : `string${meta.size}`;
  if (meta.type === cls.H5T_COMPOUND.value) return 'compound';
  if (meta.type === cls.H5T_REFERENCE.value) return 'reference';
  return `hdf5-class-${meta.type}`;
}

function copyInto(out: NumericOut, at: number, view: NumericOut): void {
  const outBig = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const viewBig = view instanceof BigInt64Array || view instanceof BigUint64Array;
  if (outBig === viewBig) {
    (out as Float64Array).set(view as unknown as Float64Array, at);
    return;
  }
  if (viewBig) {
    const o = out as Float64Array;
    for (let i = 0; i < view.length; i++) o[at + i] = Number(view[i] as bigint);
  } else {
    const o = out as BigInt64Array;
    for (let i = 0; i < view.length; i++) o[at + i] = BigInt(Math.trunc(view[i] as number));
  }
}
