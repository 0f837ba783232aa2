/**
 * A copy of an h5ad file that keeps some of its cells: the rows of every obs-aligned element
 * (obs columns, X, obsm/*, layers/*, raw/X; obsp/* by rows and columns) in file order, and
 * everything else (var, varm, varp, uns, raw/var) as it is. Each element keeps its encoding,
 * dtype, layout (dense, CSR, CSC), chunk shape (clipped to the new extent) and gzip filter;
 * categoricals keep their full category list and their codes. Streamed: read in chunk-aligned
 * windows of at most `windowBytes`, written in windows of the same size, so neither JavaScript
 * nor either WebAssembly heap ever holds an element whole.
 *
 * Limits (docs/your-own-files.md#limits): strings are written uncompressed and contiguous
 * (HDF5 in h5wasm refuses filters on variable-length strings); of a dataset's filters only
 * gzip is kept (h5wasm sets one filter; shuffle and fletcher32 are dropped, the values are the
 * same); big-endian numbers are written little-endian; object references (anndata < 0.8
 * categoricals), compound, opaque and other HDF5 types are refused.
 */
import { renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Filter } from 'h5wasm/node';
import { CellbudgetError } from '../core/errors.js';
import { H5File, storedArrayType, T, WINDOW_BYTES, type Metadata, type NumericOut } from './file.js';
import { obsRowCount } from './obs.js';
// The writer instantiates h5wasm when it loads: imported by writeRowSubset, on first use.
import type { H5adWriter, RawElementSpec } from './write.js';

export interface SubsetOptions {
  /** Bytes one read or write window may take (default 8 MiB). */
  readonly windowBytes?: number;
  readonly onProgress?: (p: SubsetProgress) => void;
}

export interface SubsetProgress {
  /** `layout`: reading the file's structure and counting sparse entries; `obs`: obs and the small elements; `matrix`: one matrix. */
  readonly phase: 'layout' | 'obs' | 'matrix' | 'done';
  readonly element?: string;
  /** Rows (or major entries) of `element` written so far, and its total. */
  readonly done: number;
  readonly total: number;
}

/** An obs-aligned matrix of the copy: its bytes in memory once loaded, in the file and in the copy. */
export interface SubsetMatrix {
  readonly location: string;
  readonly format: 'dense' | 'csr' | 'csc';
  readonly fullBytes: number;
  readonly keptBytes: number;
}

export interface SubsetResult {
  readonly path: string;
  readonly rows: number;
  readonly fileBytes: number;
  readonly matrices: readonly SubsetMatrix[];
  /** What the copy could not keep as it was (a dropped filter, a byte order). */
  readonly notes: readonly string[];
  readonly seconds: number;
}

/** Kept rows as a bitmap with a rank per 32-bit word: 1/4 byte per row of the file, whatever is kept. */
class RowSet {
  readonly count: number;
  private readonly bits: Uint32Array;
  private readonly rank: Int32Array;

  constructor(
    readonly rows: Int32Array,
    readonly size: number,
  ) {
    this.bits = new Uint32Array(Math.ceil(size / 32));
    let prev = -1;
    for (const r of rows) {
      if (r <= prev || r >= size) throw new RangeError(`rows must ascend within [0, ${size}); got ${r} after ${prev}`);
      this.bits[r >>> 5]! |= 1 << (r & 31);
      prev = r;
    }
    this.rank = new Int32Array(this.bits.length);
    let acc = 0;
    for (let w = 0; w < this.bits.length; w++) {
      this.rank[w] = acc;
      acc += popcount(this.bits[w]!);
    }
    this.count = rows.length;
  }

  /** The row's index among the kept ones, or -1. */
  index(i: number): number {
    const w = i >>> 5;
    const word = this.bits[w]!;
    const bit = 1 << (i & 31);
    if ((word & bit) === 0) return -1;
    return this.rank[w]! + popcount(word & (bit - 1));
  }

  /** Index in `rows` of the first kept row >= i. */
  lowerBound(i: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

type Selection = RowSet | null;

/** What to do with one dataset. */
interface DatasetJob {
  readonly kind: 'dataset';
  readonly path: string;
  readonly meta: Metadata;
  /** Rows kept (null: all) and, for a cell x cell matrix, columns kept. */
  readonly rows: Selection;
  readonly cols: Selection;
  readonly spec: RawElementSpec;
  /** A matrix (filled in the second phase) or a small element (obs, var, uns). */
  readonly big: boolean;
  readonly matrix?: string;
}

/** A sparse matrix group: its major axis (rows for CSR) and minor axis, each kept or not. */
interface SparseJob {
  readonly kind: 'sparse';
  readonly path: string;
  readonly format: 'csr' | 'csc';
  readonly major: Selection;
  readonly minor: Selection;
  readonly data: Metadata;
  readonly indices: Metadata;
  readonly indptr: Metadata;
  /** Entries the copy keeps (counted in the first phase). */
  nnz: number;
  readonly location: string;
}

type Job = DatasetJob | SparseJob;

interface Ctx {
  readonly src: H5File;
  readonly file: string;
  readonly nObs: number;
  readonly kept: RowSet;
  readonly windowBytes: number;
  readonly notes: string[];
  readonly jobs: Job[];
  readonly groups: Array<{ path: string; attrsFrom: string; shape?: readonly number[] }>;
  readonly matrices: SubsetMatrix[];
  bools: number;
  readonly onProgress: ((p: SubsetProgress) => void) | undefined;
}

function unsupported(ctx: Ctx, path: string, what: string, hint: string): CellbudgetError {
  return new CellbudgetError('H5AD_UNSUPPORTED_ENCODING', `Cannot copy '${path.replace(/^\//, '')}' of ${ctx.file} into a rung: ${what}.`, {
    file: ctx.file,
    key: path.replace(/^\//, ''),
    hint,
  });
}

const REEXPORT = 'Re-export the file with anndata >= 0.8 (`anndata.read_h5ad(path).write_h5ad(out)`) and point the scenario at it.';

function child(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** The type part of a writer spec for `meta`, or a refusal. */
function typeSpec(ctx: Ctx, path: string, meta: Metadata): Pick<RawElementSpec, 'type' | 'size' | 'signed' | 'vlen' | 'cset' | 'bool'> {
  if (meta.type === T.ENUM) {
    const names = Object.keys(meta.enum_type?.members ?? {});
    if (meta.size === 1 && names.length === 2 && names.includes('FALSE') && names.includes('TRUE'))
      return { type: T.INTEGER, size: 1, bool: true };
    throw unsupported(ctx, path, `it holds an HDF5 enum (${names.join(', ')}) other than bool`, REEXPORT);
  }
  if (meta.type === T.INTEGER || meta.type === T.FLOAT) {
    if (meta.type === T.FLOAT && meta.size !== 4 && meta.size !== 8)
      throw unsupported(ctx, path, `it holds ${meta.size * 8}-bit floats`, REEXPORT);
    return { type: meta.type, size: meta.size, signed: meta.signed };
  }
  if (meta.type === T.STRING) return { type: T.STRING, size: meta.vlen ? 4 : meta.size, vlen: meta.vlen, cset: meta.cset ?? 1 };
  const kind =
    meta.type === T.REFERENCE
      ? 'object references (anndata < 0.8 categoricals)'
      : meta.type === T.COMPOUND
        ? 'a compound (record) type'
        : `HDF5 type class ${meta.type}`;
  throw unsupported(ctx, path, `it holds ${kind}`, REEXPORT);
}

/** A writer spec keeping `meta`'s type, chunks (clipped to `shape`) and gzip filter. */
function datasetSpec(ctx: Ctx, path: string, meta: Metadata, shape: readonly number[]): RawElementSpec {
  const type = typeSpec(ctx, path, meta);
  const rel = path.replace(/^\//, '');
  if (!meta.littleEndian && meta.size > 1 && type.type !== T.STRING) ctx.notes.push(`${rel}: big-endian values written little-endian`);
  const srcShape = meta.shape ?? [];
  const growable = srcShape.map((d, i) => (meta.maxshape?.[i] ?? d) > d);
  const filters: Filter[] = ctx.src.filters(path);
  ctx.src.checkFilters(path);
  const empty = shape.some((d) => d === 0);
  if (type.vlen) {
    if (filters.length > 0 || meta.chunks)
      ctx.notes.push(`${rel}: strings written contiguous and uncompressed (HDF5 in h5wasm refuses filters on variable-length strings)`);
    return { ...type, shape, growable };
  }
  if (!meta.chunks || empty) return { ...type, shape, growable };
  const chunks = meta.chunks.map((c, i) => Math.max(1, Math.min(c, growable[i] ? c : (shape[i] ?? 1))));
  const gzip = filters.find((f) => f.id === 1);
  const dropped = filters.filter((f) => f.id !== 1).map((f) => (f.id === 2 ? 'shuffle' : f.id === 3 ? 'fletcher32' : `filter ${f.id}`));
  if (dropped.length > 0)
    ctx.notes.push(`${rel}: ${dropped.join(' and ')} not kept (h5wasm writes one filter per dataset)${gzip ? '; gzip kept' : ''}`);
  return { ...type, shape, growable, chunks, filter: gzip ? { id: 1, values: [...(gzip.cd_values ?? [4])] } : null };
}

function addDataset(ctx: Ctx, path: string, rows: Selection, cols: Selection, big: boolean, matrix?: string): void {
  const meta = ctx.src.metadata(path);
  const shape = [...(meta.shape ?? [])];
  if (rows) shape[0] = rows.count;
  if (cols) shape[1] = cols.count;
  ctx.jobs.push({ kind: 'dataset', path, meta, rows, cols, spec: datasetSpec(ctx, path, meta, shape), big, ...(matrix ? { matrix } : {}) });
}

/** Copy a group and everything under it as it is. */
function planCopy(ctx: Ctx, path: string): void {
  for (const name of ctx.src.keys(path)) {
    const p = child(path, name);
    const kind = ctx.src.kind(p);
    if (kind === 'group') {
      ctx.groups.push({ path: p, attrsFrom: p });
      planCopy(ctx, p);
    } else if (kind === 'dataset') addDataset(ctx, p, null, null, false);
    else throw unsupported(ctx, p, 'it is neither a group nor a dataset (a link or a named type)', REEXPORT);
  }
}

/** An obs-aligned dataframe (obs, or one in obsm): every column's rows, categories whole. */
function planDataframe(ctx: Ctx, path: string): void {
  const enc = ctx.src.encoding(path);
  if (enc !== 'dataframe') throw unsupported(ctx, path, `it is a group with encoding '${enc ?? 'none'}', not a dataframe`, REEXPORT);
  for (const name of ctx.src.keys(path)) {
    const p = child(path, name);
    const kind = ctx.src.kind(p);
    if (name === '__categories') {
      throw unsupported(
        ctx,
        p,
        'the file has the anndata < 0.8 layout (categories in __categories, linked to their codes by object references)',
        REEXPORT,
      );
    }
    if (kind === 'dataset') {
      addObsAligned(ctx, p);
      continue;
    }
    if (kind !== 'group') throw unsupported(ctx, p, 'it is neither a group nor a dataset', REEXPORT);
    const e = ctx.src.encoding(p);
    ctx.groups.push({ path: p, attrsFrom: p });
    if (e === 'categorical') {
      addObsAligned(ctx, `${p}/codes`);
      addDataset(ctx, `${p}/categories`, null, null, false);
    } else if (e === 'nullable-integer' || e === 'nullable-boolean' || e === 'nullable-string-array') {
      addObsAligned(ctx, `${p}/values`);
      addObsAligned(ctx, `${p}/mask`);
    } else throw unsupported(ctx, p, `an obs column with encoding '${e ?? 'none'}'`, REEXPORT);
  }
}

function addObsAligned(ctx: Ctx, path: string): void {
  const rows = ctx.src.metadata(path).shape?.[0];
  if (rows !== ctx.nObs) {
    throw unsupported(
      ctx,
      path,
      `it has ${rows ?? 0} rows where obs has ${ctx.nObs}`,
      'The file is inconsistent: re-export it with anndata.',
    );
  }
  addDataset(ctx, path, ctx.kept, null, false);
}

/** An obs-aligned matrix (X, obsm/k, layers/k, raw/X), or, `square`, a cell x cell one (obsp/k). */
function planMatrix(ctx: Ctx, path: string, square: boolean): void {
  const location = path.replace(/^\//, '');
  const kind = ctx.src.kind(path);
  if (kind === 'dataset') {
    const meta = ctx.src.metadata(path);
    const shape = meta.shape ?? [];
    if (shape[0] !== ctx.nObs || (square && shape[1] !== ctx.nObs)) {
      throw unsupported(
        ctx,
        path,
        `its shape [${shape.join(', ')}] does not have one row${square ? ' and one column' : ''} per cell (${ctx.nObs})`,
        'The file is inconsistent: re-export it with anndata.',
      );
    }
    addDataset(ctx, path, ctx.kept, square ? ctx.kept : null, true, location);
    const rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
    const keptElems = square ? ctx.kept.count : rowElems;
    ctx.matrices.push({
      location,
      format: 'dense',
      fullBytes: ctx.nObs * rowElems * meta.size,
      keptBytes: ctx.kept.count * keptElems * meta.size,
    });
    return;
  }
  if (kind !== 'group') throw unsupported(ctx, path, 'it is neither a group nor a dataset', REEXPORT);
  const enc = ctx.src.encoding(path) ?? ctx.src.strAttr(path, 'h5sparse_format');
  if (enc === 'dataframe') {
    ctx.groups.push({ path, attrsFrom: path });
    planDataframe(ctx, path);
    return;
  }
  const format = enc === 'csr_matrix' || enc === 'csr' ? 'csr' : enc === 'csc_matrix' || enc === 'csc' ? 'csc' : null;
  if (format === null)
    throw unsupported(
      ctx,
      path,
      `an obs-aligned element with encoding '${enc ?? 'none'}'`,
      'Rungs copy dense arrays, csr_matrix, csc_matrix and dataframes row by row; remove the element or convert it, then write the file again.',
    );
  const shapeAttr = ctx.src.attr(path, 'shape') ?? ctx.src.attr(path, 'h5sparse_shape');
  const shape =
    ArrayBuffer.isView(shapeAttr) || Array.isArray(shapeAttr) ? Array.from(shapeAttr as ArrayLike<number | bigint>, Number) : [];
  if (shape[0] !== ctx.nObs || (square && shape[1] !== ctx.nObs)) {
    throw unsupported(
      ctx,
      path,
      `its shape [${shape.join(', ')}] does not have one row${square ? ' and one column' : ''} per cell (${ctx.nObs})`,
      'The file is inconsistent: re-export it with anndata.',
    );
  }
  const byRows = format === 'csr';
  const major = square || byRows ? ctx.kept : null;
  const minor = square || !byRows ? ctx.kept : null;
  const newShape = [ctx.kept.count, square ? ctx.kept.count : shape[1]!];
  ctx.groups.push({ path, attrsFrom: path, shape: newShape });
  for (const part of ['data', 'indices', 'indptr'])
    if (!ctx.src.has(`${path}/${part}`)) throw ctx.src.missing(`${path}/${part}`, 'sparse component');
  const extra = ctx.src.keys(path).filter((k) => !['data', 'indices', 'indptr'].includes(k));
  if (extra.length > 0)
    throw unsupported(ctx, path, `the sparse matrix holds more than data, indices and indptr (${extra.join(', ')})`, REEXPORT);
  ctx.jobs.push({
    kind: 'sparse',
    path,
    format,
    major,
    minor,
    data: ctx.src.metadata(`${path}/data`),
    indices: ctx.src.metadata(`${path}/indices`),
    indptr: ctx.src.metadata(`${path}/indptr`),
    nnz: 0,
    location,
  });
}

function planTree(ctx: Ctx): void {
  const src = ctx.src;
  for (const name of src.keys('/')) {
    const p = `/${name}`;
    const kind = src.kind(p);
    if (name === 'obs') {
      ctx.groups.push({ path: p, attrsFrom: p });
      planDataframe(ctx, p);
    } else if (name === 'X') planMatrix(ctx, p, false);
    else if ((name === 'obsm' || name === 'layers' || name === 'obsp') && kind === 'group') {
      ctx.groups.push({ path: p, attrsFrom: p });
      for (const k of src.keys(p)) planMatrix(ctx, child(p, k), name === 'obsp');
    } else if (name === 'raw' && kind === 'group') {
      ctx.groups.push({ path: p, attrsFrom: p });
      for (const k of src.keys(p)) {
        const q = child(p, k);
        if (k === 'X') planMatrix(ctx, q, false);
        else if (src.kind(q) === 'group') {
          ctx.groups.push({ path: q, attrsFrom: q });
          planCopy(ctx, q);
        } else addDataset(ctx, q, null, null, false);
      }
    } else if (kind === 'group') {
      ctx.groups.push({ path: p, attrsFrom: p });
      planCopy(ctx, p);
    } else if (kind === 'dataset') addDataset(ctx, p, null, null, false);
    else throw unsupported(ctx, p, 'it is neither a group nor a dataset', REEXPORT);
  }
}

/** Copy every attribute of `from` onto `to`; `shape` replaces a sparse group's shape. */
function copyAttrs(ctx: Ctx, w: H5adWriter, from: string, to: string, shape?: readonly number[]): void {
  const src = ctx.src;
  for (const name of src.attrNames(from)) {
    const meta = src.attrMetadata(from, name)!;
    if (meta.shape === null) throw unsupported(ctx, from, `its attribute '${name}' has an empty (null) dataspace`, REEXPORT);
    const type = typeSpec(ctx, `${from}@${name}`, meta);
    const dims = meta.shape;
    let value: ArrayBufferView | readonly string[];
    const v = (name === 'shape' || name === 'h5sparse_shape') && shape ? null : src.attr(from, name);
    if (v === null) {
      const Ctor = storedArrayType(meta, ctx.file, `${from}@${name}`);
      const arr = new Ctor(shape!.length);
      shape!.forEach(
        (d, i) =>
          ((arr as { [i: number]: number | bigint })[i] = arr instanceof BigInt64Array || arr instanceof BigUint64Array ? BigInt(d) : d),
      );
      value = arr;
    } else if (typeof v === 'string') value = [v];
    else if (Array.isArray(v)) value = v as string[];
    else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') {
      const Ctor = storedArrayType(meta, ctx.file, `${from}@${name}`);
      const arr = new Ctor(1);
      (arr as { [i: number]: number | bigint })[0] =
        arr instanceof BigInt64Array || arr instanceof BigUint64Array ? BigInt(v as number) : Number(v);
      value = arr;
    } else if (ArrayBuffer.isView(v)) value = v;
    else throw unsupported(ctx, from, `its attribute '${name}' cannot be copied`, REEXPORT);
    if (type.bool) ctx.bools++;
    w.rawAttr(to, name, { ...type, shape: dims }, value);
  }
}

/** Rows [lo, hi) of a numeric dataset into `buf` (the stored type). */
function readRows(ctx: Ctx, job: DatasetJob, lo: number, hi: number, buf: NumericOut): void {
  ctx.src.readRowsInto(job.path, job.meta, lo, hi, buf, 0, ctx.windowBytes);
}

/** Write a dense numeric (or bool) dataset's kept rows (and columns), window by window. */
function fillDense(ctx: Ctx, w: H5adWriter, job: DatasetJob): void {
  const shape = job.meta.shape ?? [];
  const item = job.meta.size;
  if (shape.length === 0) {
    const v = ctx.src.readSmall(job.path, job.meta) as NumericOut | number | bigint;
    const Ctor = storedArrayType(job.meta, ctx.file, job.path);
    const arr = ArrayBuffer.isView(v) ? v : new Ctor(1);
    if (!ArrayBuffer.isView(v)) (arr as { [i: number]: number | bigint })[0] = v;
    w.rawWhole(job.path, new Uint8Array(arr.buffer, arr.byteOffset, item), job.spec);
    return;
  }
  const n = shape[0]!;
  if (n === 0) return;
  const rest = shape.slice(1);
  const rowElems = rest.reduce((a, b) => a * b, 1);
  const rowBytes = Math.max(1, rowElems * item);
  const outRest = job.cols ? [job.cols.count, ...rest.slice(1)] : rest;
  const outRowBytes = Math.max(1, outRest.reduce((a, b) => a * b, 1) * item);
  const chunkRows = job.meta.chunks?.[0] ?? 1;
  let step = Math.max(1, Math.floor(ctx.windowBytes / rowBytes));
  if (step >= chunkRows) step = Math.floor(step / chunkRows) * chunkRows;
  const Ctor = storedArrayType(job.meta, ctx.file, job.path);
  const buf = new Ctor(Math.min(step, n) * rowElems);
  // Buffer.copy moves bytes between the two without a view object per row (garbage that, for
  // scattered rows, grew the heap by more than the window itself).
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const outChunk = job.spec.chunks?.[0] ?? 1;
  let outRows = Math.max(1, Math.floor(ctx.windowBytes / outRowBytes));
  if (outRows >= outChunk) outRows = Math.floor(outRows / outChunk) * outChunk;
  const total = job.rows ? job.rows.count : n;
  const out = Buffer.alloc(Math.min(outRows, total) * outRowBytes);
  let fill = 0;
  let written = 0;
  const flush = (): void => {
    if (fill === 0) return;
    w.rawRows(job.path, written, fill, outRest, out.subarray(0, fill * outRowBytes));
    written += fill;
    fill = 0;
    if (job.big) ctx.onProgress?.({ phase: 'matrix', element: job.matrix ?? job.path, done: written, total });
  };
  const colBytes = job.cols ? rowBytes / (shape[1] ?? 1) : 0;
  for (let a = 0; a < n; a += step) {
    const b = Math.min(n, a + step);
    let i0 = 0;
    let i1 = 0;
    let lo = a;
    let hi = b;
    if (job.rows) {
      i0 = job.rows.lowerBound(a);
      i1 = job.rows.lowerBound(b);
      if (i0 === i1) continue;
      lo = job.rows.rows[i0]!;
      hi = job.rows.rows[i1 - 1]! + 1;
    }
    readRows(ctx, job, lo, hi, buf);
    // Row by row: runs of consecutive kept rows go in one copy.
    let r = job.rows ? i0 : lo;
    const end = job.rows ? i1 : hi;
    while (r < end) {
      const row = job.rows ? job.rows.rows[r]! : r;
      let run = 1;
      if (!job.cols) {
        while (r + run < end && (job.rows ? job.rows.rows[r + run]! : r + run) === row + run && fill + run < outRows) run++;
        bytes.copy(out, fill * outRowBytes, (row - lo) * rowBytes, (row - lo + run) * rowBytes);
      } else {
        const cols = job.cols.rows;
        const base = (row - lo) * rowBytes;
        for (let c = 0; c < cols.length; c++) {
          const at = base + cols[c]! * colBytes;
          bytes.copy(out, fill * outRowBytes + c * colBytes, at, at + colBytes);
        }
      }
      fill += run;
      r += run;
      if (fill === outRows) flush();
    }
  }
  flush();
}

const STRING_WINDOW = 1 << 16;

/** Write a string dataset's kept rows, window by window. */
function fillStrings(ctx: Ctx, w: H5adWriter, job: DatasetJob): void {
  const shape = job.meta.shape ?? [];
  if (shape.length === 0) {
    const v = ctx.src.readSmall(job.path, job.meta);
    w.rawWhole(job.path, [String(v)], job.spec);
    return;
  }
  if (shape.length !== 1) throw unsupported(ctx, job.path, `a ${shape.length}-dimensional string array`, REEXPORT);
  const n = shape[0]!;
  let written = 0;
  for (let a = 0; a < n; a += STRING_WINDOW) {
    const b = Math.min(n, a + STRING_WINDOW);
    let lo = a;
    let hi = b;
    let i0 = 0;
    let i1 = 0;
    if (job.rows) {
      i0 = job.rows.lowerBound(a);
      i1 = job.rows.lowerBound(b);
      if (i0 === i1) continue;
      lo = job.rows.rows[i0]!;
      hi = job.rows.rows[i1 - 1]! + 1;
    }
    const values = ctx.src.readStringRange(job.path, job.meta, lo, hi);
    const kept = job.rows ? Array.from(job.rows.rows.subarray(i0, i1), (r) => values[r - lo]!) : values;
    w.rawStrings(job.path, written, kept, job.spec);
    written += kept.length;
  }
}

/** Reads a 1-D dataset forward in chunk-aligned windows of at most `cap` elements; hands out pieces of [s, e). */
class SpanReader {
  private start = 0;
  private end = 0;
  readonly buf: NumericOut;
  private readonly cap: number;
  private readonly chunk: number;

  constructor(
    private readonly ctx: Ctx,
    private readonly path: string,
    private readonly meta: Metadata,
  ) {
    const Ctor = storedArrayType(meta, ctx.file, path);
    const total = meta.shape?.[0] ?? 0;
    this.chunk = meta.chunks?.[0] ?? 1;
    let cap = Math.max(1, Math.floor(ctx.windowBytes / meta.size));
    if (cap >= this.chunk) cap = Math.floor(cap / this.chunk) * this.chunk;
    this.cap = Math.min(cap, Math.max(1, total));
    this.buf = new Ctor(this.cap);
  }

  /** Make [s, ...) available from the buffer; returns the buffer offset of s and how many follow it (at most e - s). */
  at(s: number, e: number): { offset: number; count: number } {
    if (s < this.start || s >= this.end) {
      const total = this.meta.shape?.[0] ?? 0;
      const a = Math.floor(s / this.chunk) * this.chunk;
      const start = a + this.cap > s ? a : s;
      const end = Math.min(total, start + this.cap);
      this.ctx.src.readRowsInto(this.path, this.meta, start, end, this.buf, 0, this.ctx.windowBytes);
      this.start = start;
      this.end = end;
    }
    return { offset: s - this.start, count: Math.min(e, this.end) - s };
  }
}

const toNumber = (v: number | bigint): number => (typeof v === 'bigint' ? Number(v) : v);

/** Kept entries per kept major of a sparse job, streamed: calls `each(major, newMajor, s, e)` for kept majors in order. */
function forEachMajor(ctx: Ctx, job: SparseJob, each: (major: number, s: number, e: number) => void): void {
  const nMajor = (job.indptr.shape?.[0] ?? 1) - 1;
  const ptrStep = Math.max(2, Math.floor(ctx.windowBytes / 8));
  const ptr = new Float64Array(Math.min(ptrStep, nMajor) + 1);
  for (let a = 0; a < nMajor; a += ptrStep) {
    const b = Math.min(nMajor, a + ptrStep);
    let i0 = a;
    let i1 = b;
    if (job.major) {
      i0 = job.major.lowerBound(a);
      i1 = job.major.lowerBound(b);
      if (i0 === i1) continue;
    }
    const lo = job.major ? job.major.rows[i0]! : a;
    const hi = job.major ? job.major.rows[i1 - 1]! + 1 : b;
    ctx.src.readRowsInto(`${job.path}/indptr`, job.indptr, lo, hi + 1, ptr, 0, ctx.windowBytes);
    for (let k = i0; k < i1; k++) {
      const r = job.major ? job.major.rows[k]! : k;
      each(r, ptr[r - lo]!, ptr[r - lo + 1]!);
    }
  }
}

/** Count the entries a sparse job keeps (its minor filter applied). */
function countSparse(ctx: Ctx, job: SparseJob): number {
  let nnz = 0;
  if (job.minor === null) {
    forEachMajor(ctx, job, (_r, s, e) => (nnz += e - s));
    return nnz;
  }
  const minor = job.minor;
  const idx = new SpanReader(ctx, `${job.path}/indices`, job.indices);
  forEachMajor(ctx, job, (_r, s, e) => {
    let p = s;
    while (p < e) {
      const { offset, count } = idx.at(p, e);
      const v = idx.buf;
      for (let q = 0; q < count; q++) if (minor.index(toNumber(v[offset + q]!)) >= 0) nnz++;
      p += count;
    }
  });
  return nnz;
}

/** Write a sparse job's indptr, data and indices, window by window. */
function fillSparse(ctx: Ctx, w: H5adWriter, job: SparseJob): void {
  const data = new SpanReader(ctx, `${job.path}/data`, job.data);
  const idx = new SpanReader(ctx, `${job.path}/indices`, job.indices);
  const dataItem = job.data.size;
  const idxCtor = storedArrayType(job.indices, ctx.file, `${job.path}/indices`);
  const ptrCtor = storedArrayType(job.indptr, ctx.file, `${job.path}/indptr`);
  const outCap = Math.max(1, Math.floor(ctx.windowBytes / Math.max(dataItem, job.indices.size)));
  const outChunk = Math.max(1, job.data.chunks?.[0] ?? 1);
  const cap = outCap >= outChunk ? Math.floor(outCap / outChunk) * outChunk : outCap;
  const dataCtor = storedArrayType(job.data, ctx.file, `${job.path}/data`);
  const outData = new dataCtor(Math.min(cap, Math.max(1, job.nnz)));
  const outDataBytes = new Uint8Array(outData.buffer);
  const outIdx = new idxCtor(Math.min(cap, Math.max(1, job.nnz)));
  const outIdxBytes = new Uint8Array(outIdx.buffer);
  const ptrCap = Math.max(1, Math.floor(ctx.windowBytes / job.indptr.size));
  const outPtr = new ptrCtor(ptrCap);
  const outPtrBytes = new Uint8Array(outPtr.buffer);
  const bigIdx = outIdx instanceof BigInt64Array || outIdx instanceof BigUint64Array;
  const bigPtr = outPtr instanceof BigInt64Array || outPtr instanceof BigUint64Array;
  let fill = 0;
  let nnzWritten = 0;
  let ptrFill = 0;
  let ptrWritten = 0;
  let majorsDone = 0;
  const totalMajors = job.major ? job.major.count : (job.indptr.shape?.[0] ?? 1) - 1;
  const flushEntries = (): void => {
    if (fill === 0) return;
    w.rawRows(`${job.path}/data`, nnzWritten, fill, [], outDataBytes.subarray(0, fill * dataItem));
    w.rawRows(`${job.path}/indices`, nnzWritten, fill, [], outIdxBytes.subarray(0, fill * job.indices.size));
    nnzWritten += fill;
    fill = 0;
  };
  const pushPtr = (v: number): void => {
    (outPtr as { [i: number]: number | bigint })[ptrFill++] = bigPtr ? BigInt(v) : v;
    if (ptrFill === ptrCap) {
      w.rawRows(`${job.path}/indptr`, ptrWritten, ptrFill, [], outPtrBytes.subarray(0, ptrFill * job.indptr.size));
      ptrWritten += ptrFill;
      ptrFill = 0;
    }
  };
  let kept = 0;
  pushPtr(0);
  forEachMajor(ctx, job, (_r, s, e) => {
    let p = s;
    while (p < e) {
      const d = data.at(p, e);
      const x = idx.at(p, p + d.count);
      const count = x.count;
      const values = data.buf as { [i: number]: number | bigint };
      const into = outData as { [i: number]: number | bigint };
      for (let q = 0; q < count; q++) {
        let c = toNumber(idx.buf[x.offset + q]!);
        if (job.minor) {
          c = job.minor.index(c);
          if (c < 0) continue;
        }
        into[fill] = values[d.offset + q]!;
        (outIdx as { [i: number]: number | bigint })[fill] = bigIdx ? BigInt(c) : c;
        fill++;
        kept++;
        if (fill === outIdx.length) flushEntries();
      }
      p += count;
    }
    pushPtr(kept);
    majorsDone++;
    if (majorsDone % 65536 === 0) ctx.onProgress?.({ phase: 'matrix', element: job.location, done: majorsDone, total: totalMajors });
  });
  flushEntries();
  if (ptrFill > 0) w.rawRows(`${job.path}/indptr`, ptrWritten, ptrFill, [], outPtrBytes.subarray(0, ptrFill * job.indptr.size));
  if (kept !== job.nnz) throw new Error(`${job.path}: counted ${job.nnz} entries to keep, wrote ${kept}`);
  ctx.onProgress?.({ phase: 'matrix', element: job.location, done: totalMajors, total: totalMajors });
}

function sparseSpecs(ctx: Ctx, job: SparseJob): Array<{ path: string; spec: RawElementSpec }> {
  const nMajorOut = job.major ? job.major.count : (job.indptr.shape?.[0] ?? 1) - 1;
  return [
    { path: `${job.path}/data`, spec: datasetSpec(ctx, `${job.path}/data`, job.data, [job.nnz]) },
    { path: `${job.path}/indices`, spec: datasetSpec(ctx, `${job.path}/indices`, job.indices, [job.nnz]) },
    { path: `${job.path}/indptr`, spec: datasetSpec(ctx, `${job.path}/indptr`, job.indptr, [nMajorOut + 1]) },
  ];
}

/**
 * Write to `outPath` a copy of the h5ad `sourcePath` holding only `rows` (ascending row
 * numbers of obs) — see the module comment. Written to a temporary file beside `outPath` and
 * renamed, so `outPath` is whole or absent. HDF5 must be loaded (`await h5Ready()`).
 */
export async function writeRowSubset(
  sourcePath: string,
  rows: Int32Array,
  outPath: string,
  opts: SubsetOptions = {},
): Promise<SubsetResult> {
  const t0 = performance.now();
  const out = resolve(outPath);
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const { H5adWriter, patchBoolPlaceholders } = await import('./write.js');
  const src = H5File.open(sourcePath);
  let ctx: Ctx;
  try {
    const nObs = obsRowCount(src);
    ctx = {
      src,
      file: src.path,
      nObs,
      kept: new RowSet(rows, nObs),
      windowBytes: opts.windowBytes ?? WINDOW_BYTES,
      notes: [],
      jobs: [],
      groups: [],
      matrices: [],
      bools: 0,
      onProgress: opts.onProgress,
    };
    opts.onProgress?.({ phase: 'layout', done: 0, total: 0 });
    planTree(ctx);
    for (const job of ctx.jobs) {
      if (job.kind !== 'sparse') continue;
      job.nnz = countSparse(ctx, job);
      const full = job.data.shape?.[0] ?? 0;
      const ptrEntries = (job.indptr.shape?.[0] ?? 1) - 1;
      const per = job.data.size + job.indices.size;
      ctx.matrices.push({
        location: job.location,
        format: job.format,
        fullBytes: full * per + (ptrEntries + 1) * job.indptr.size,
        keptBytes: job.nnz * per + ((job.major ? job.major.count : ptrEntries) + 1) * job.indptr.size,
      });
    }
    // Phase 1: every group, attribute and dataset created (matrices empty), obs and the small
    // elements filled; then the bool placeholders patched while the file is small.
    const w = H5adWriter.create(tmp);
    try {
      copyAttrs(ctx, w, '/', '/');
      for (const g of ctx.groups) {
        w.plainGroup(g.path);
        copyAttrs(ctx, w, g.attrsFrom, g.path, g.shape);
      }
      for (const job of ctx.jobs) {
        if (job.kind === 'sparse') {
          for (const s of sparseSpecs(ctx, job)) w.rawDataset(s.path, s.spec);
          continue;
        }
        w.rawDataset(job.path, job.spec);
        if (job.spec.bool) ctx.bools++;
        copyAttrs(ctx, w, job.path, job.path);
      }
      let done = 0;
      const small = ctx.jobs.filter((j): j is DatasetJob => j.kind === 'dataset' && !j.big);
      for (const job of small) {
        if (job.meta.type === T.STRING) fillStrings(ctx, w, job);
        else fillDense(ctx, w, job);
        opts.onProgress?.({ phase: 'obs', element: job.path.replace(/^\//, ''), done: ++done, total: small.length });
      }
    } finally {
      w.close();
    }
    const patched = patchBoolPlaceholders(tmp);
    if (patched !== ctx.bools) {
      throw new CellbudgetError(
        'H5AD_WRITE_FAILED',
        `Expected to turn ${ctx.bools} bool placeholders into HDF5 bools in ${tmp}, found ${patched}.`,
        {
          file: out,
          hint: "This is a bug in cellbudget's writer; please report it.",
        },
      );
    }
    // Phase 2: the matrices.
    await new Promise((r) => setImmediate(r));
    const w2 = H5adWriter.append(tmp);
    try {
      for (const job of ctx.jobs) {
        if (job.kind === 'sparse') fillSparse(ctx, w2, job);
        else if (job.big) fillDense(ctx, w2, job);
      }
    } finally {
      w2.close();
    }
    renameSync(tmp, out);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written, or it is already gone
    }
    throw e;
  } finally {
    src.close();
  }
  opts.onProgress?.({ phase: 'done', done: rows.length, total: rows.length });
  return {
    path: out,
    rows: rows.length,
    fileBytes: statSync(out).size,
    matrices: ctx.matrices,
    notes: [...new Set(ctx.notes)],
    seconds: (performance.now() - t0) / 1000,
  };
}
