/**
 * The row writer: windows of the representation, read in file order, go straight into the
 * distributions' chunks. A distribution's rows are in file order (planGroups makes them so),
 * so within one window the rows of distribution d are its next rows: they are gathered into one
 * block and written with one positioned write per chunk they touch. Nothing but the window and
 * that gather buffer is held, whatever the size of the matrix; chunks are uncompressed, so a
 * chunk is filled piece by piece and padded to its full size at the end (zarr's regular grid).
 */
import type { FloatArray } from '../core/data.js';
import { itemSize } from '../core/data.js';
import { nSrc } from '../pipeline/grouping.js';
import type { GroupPlan } from '../pipeline/grouping.js';
import type { DistributionArrays } from './layout.js';
import { encodeVlenUtf8 } from './nodes.js';
import type { ArrayNode } from './nodes.js';
import type { StoreSink } from './sink.js';

/** The key of chunk `i` along the first dimension of the array at `path` with `ndim` dimensions. */
export type ChunkKey = (path: string, i: number, ndim: number) => string;

export class RowWriter {
  readonly #arrays: DistributionArrays;
  readonly #sink: StoreSink;
  readonly #chunkKey: ChunkKey;
  /** Per row: its distribution (sources first), or -1 when the store does not hold it. */
  readonly #dest: Int32Array;
  /** Per distribution: rows written so far. */
  readonly #written: Int32Array;
  /** Per distribution: rows in the current window, then (during the gather) the next free row of its block. */
  readonly #count: Int32Array;
  readonly #start: Int32Array;
  readonly #touched: Int32Array;
  readonly #rowBytes: number;
  #gather: Uint8Array = new Uint8Array(0);
  /** First and last row the store holds (lastRow < 0: none). */
  readonly firstRow: number;
  readonly lastRow: number;
  /** Bytes written into chunks so far (rows only, not the padding). */
  bytesWritten = 0;
  /** Positioned writes issued (one per distribution and chunk a window touches). */
  writes = 0;

  constructor(plan: GroupPlan, arrays: DistributionArrays, sink: StoreSink, chunkKey: ChunkKey) {
    this.#arrays = arrays;
    this.#sink = sink;
    this.#chunkKey = chunkKey;
    const nd = arrays.paths.length;
    const ns = nSrc(plan);
    this.#dest = new Int32Array(plan.nObs).fill(-1);
    let first = plan.nObs;
    let last = -1;
    const mark = (rows: Int32Array, offsets: Int32Array, k: number, d: number): void => {
      const a = offsets[k]!;
      const b = offsets[k + 1]!;
      for (let i = a; i < b; i++) {
        const r = rows[i]!;
        // The positioned writes rely on it: a distribution's rows are its file rows in order.
        if (i > a && r <= rows[i - 1]!) throw new Error(`distribution ${d}: rows are not in file order (row ${r} after ${rows[i - 1]})`);
        this.#dest[r] = d;
      }
      if (b > a) {
        first = Math.min(first, rows[a]!);
        last = Math.max(last, rows[b - 1]!);
      }
    };
    for (let d = 0; d < nd; d++) {
      if (d < ns) mark(plan.srcRows, plan.srcOffsets, d, d);
      else mark(plan.tgtRows, plan.tgtOffsets, d - ns, d);
    }
    this.firstRow = first;
    this.lastRow = last;
    this.#written = new Int32Array(nd);
    this.#count = new Int32Array(nd);
    this.#start = new Int32Array(nd);
    this.#touched = new Int32Array(nd);
    this.#rowBytes = arrays.cols * itemSize(arrays.dtype);
  }

  /** Whether any row in [a, b) goes into the store (a window without one need not be read). */
  wants(a: number, b: number): boolean {
    for (let r = a; r < b; r++) if (this.#dest[r]! >= 0) return true;
    return false;
  }

  /** Rows [a, b) of the representation, row-major in `block` (the arrays' dtype and width), in file order. */
  write(block: FloatArray, a: number, b: number): void {
    const dest = this.#dest;
    const count = this.#count;
    const start = this.#start;
    const touched = this.#touched;
    let nTouched = 0;
    let rows = 0;
    for (let r = a; r < b; r++) {
      const d = dest[r]!;
      if (d < 0) continue;
      if (count[d] === 0) touched[nTouched++] = d;
      count[d]!++;
      rows++;
    }
    if (rows === 0) return;
    const rowBytes = this.#rowBytes;
    if (this.#gather.length < rows * rowBytes) this.#gather = new Uint8Array(rows * rowBytes);
    // Each touched distribution's rows become one block, in the order the window first meets them.
    let at = 0;
    for (let i = 0; i < nTouched; i++) {
      const d = touched[i]!;
      start[d] = at;
      at += count[d]!;
    }
    const words = rowBytes >> 2;
    const src = new Int32Array(block.buffer, block.byteOffset, (b - a) * words);
    const out = new Int32Array(this.#gather.buffer, 0, rows * words);
    const next = count; // reused: the next free row of each block
    for (let i = 0; i < nTouched; i++) next[touched[i]!] = start[touched[i]!]!;
    gatherRows(src, a, b, words, dest, next, out);
    for (let i = 0; i < nTouched; i++) {
      const d = touched[i]!;
      const n = next[d]! - start[d]!;
      this.#put(d, this.#gather.subarray(start[d]! * rowBytes, (start[d]! + n) * rowBytes), n);
      next[d] = 0;
    }
  }

  /** Write `n` rows of distribution `d` after its rows so far, cut at its chunk boundaries. */
  #put(d: number, bytes: Uint8Array, n: number): void {
    const path = this.#arrays.paths[d]!;
    const chunkRows = this.#arrays.chunkRows[d]!;
    const rowBytes = this.#rowBytes;
    let pos = this.#written[d]!;
    let done = 0;
    while (done < n) {
      const chunk = Math.floor(pos / chunkRows);
      const inChunk = pos - chunk * chunkRows;
      const take = Math.min(n - done, chunkRows - inChunk);
      this.#sink.writeAt(this.#chunkKey(path, chunk, 2), inChunk * rowBytes, bytes.subarray(done * rowBytes, (done + take) * rowBytes));
      this.writes++;
      pos += take;
      done += take;
    }
    this.#written[d] = pos;
    this.bytesWritten += n * rowBytes;
  }

  /** Pad every distribution's last chunk to full size; throws when a distribution did not get all its rows. */
  finish(): void {
    const { paths, rows, chunkRows } = this.#arrays;
    for (let d = 0; d < paths.length; d++) {
      const path = paths[d];
      if (path === null || path === undefined) continue;
      if (this.#written[d] !== rows[d]) throw new Error(`${path}: ${this.#written[d]} of its ${rows[d]} rows were written`);
      const c = chunkRows[d]!;
      const last = Math.ceil(rows[d]! / c) - 1;
      if (rows[d]! % c !== 0) this.#sink.resize(this.#chunkKey(path, last, 2), c * this.#rowBytes);
    }
  }
}

// Rows this wide are copied with set() (a memcpy); narrower ones word by word, where the call costs more than the copy.
const SET_MIN_WORDS = 64;

// The inner loop on its own, monomorphic: each kept row's words to the next free row of its block.
function gatherRows(src: Int32Array, a: number, b: number, words: number, dest: Int32Array, next: Int32Array, out: Int32Array): void {
  if (words >= SET_MIN_WORDS) {
    for (let r = a; r < b; r++) {
      const d = dest[r]!;
      if (d < 0) continue;
      const s = (r - a) * words;
      out.set(src.subarray(s, s + words), next[d]!++ * words);
    }
    return;
  }
  for (let r = a; r < b; r++) {
    const d = dest[r]!;
    if (d < 0) continue;
    const o = next[d]!++ * words;
    const s = (r - a) * words;
    for (let k = 0; k < words; k++) out[o + k] = src[s + k]!;
  }
}

/**
 * Write a 1-D text array whose values are read in pieces (the obs index): chunk by chunk,
 * `read(a, b)` giving values [a, b), the last chunk padded with ''.
 */
export function writeStringChunks(
  node: ArrayNode,
  sink: StoreSink,
  chunkKey: ChunkKey,
  read: (a: number, b: number) => readonly string[],
): void {
  const n = node.shape[0] ?? 0;
  const c = node.chunks[0] ?? 1;
  for (let i = 0; i * c < n; i++) {
    const a = i * c;
    const b = Math.min(n, a + c);
    const part = read(a, b);
    if (part.length !== b - a) throw new Error(`${node.path}: asked for ${b - a} values, got ${part.length}`);
    const items = b - a === c ? part : [...part, ...Array<string>(c - (b - a)).fill('')];
    sink.set(chunkKey(node.path, i, 1), encodeVlenUtf8(items));
  }
}
