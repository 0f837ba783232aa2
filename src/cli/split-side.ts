/**
 * One side of `split --digest` on two threads (split-copy.ts): copy one half of the rows from
 * the file into the pools, then, once the other half is in too, hash this side's splits. What the helper thread loads: this, the scatter loop and the
 * digest, nothing else (no config schemas, no HDF5).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { CellbudgetError, isCellbudgetError } from '../core/errors.js';
import { itemSize } from '../core/data.js';
import type { DirectRegion, FloatArray, FloatDtype } from '../core/data.js';
import type { Split } from '../core/names.js';
import { anyCopied, scatterRows } from '../pipeline/scatter.js';
import { digestPooled } from '../pipeline/digest.js';

/** Bytes of one thread's read window. */
const WINDOW_BYTES = 1024 * 1024;

/** A split to hash: its targets and sources (indices into the plan). */
export interface DigestJob {
  readonly split: Split;
  readonly tgt: Int32Array;
  readonly src: Int32Array;
}

export type SplitDigest = { sha256: string; bytes: number };

/** What one side (this thread or the helper) does: plain data, SharedArrayBuffers inside. */
export interface CopySide {
  readonly region: DirectRegion;
  readonly dtype: FloatDtype;
  readonly cols: number;
  readonly words: number;
  readonly nSrc: number;
  readonly dest: Int32Array;
  readonly pos: Int32Array | null;
  readonly poolOf: Int32Array;
  readonly elemAt: Float64Array;
  readonly rows: Int32Array;
  readonly pools: readonly FloatArray[];
  /** Every pool a view of one buffer, cursors in its words (ScatterLayout). */
  readonly oneBuffer: boolean;
  /** This side's rows of the representation: [from, to). */
  readonly from: number;
  readonly to: number;
  /** Where this side's first row of each distribution goes (words into its pool), advanced as rows are copied. */
  readonly at: Float64Array;
  readonly digests: readonly DigestJob[];
  /** sync[role]: 0 while this side fills, 1 once filled, 2 when it failed; the other side's is sync[1 - role]. */
  readonly sync: Int32Array;
  readonly role: 0 | 1;
}

/** Raised by a side whose fill failed: the other side stops waiting and the failure is reported once. */
export const FILL_FAILED = 2;

/** Fill this side's rows into the pools, then say so (also when it fails). */
export function fillSide(side: CopySide): void {
  let state = FILL_FAILED;
  try {
    fillRows(side);
    state = 1;
  } finally {
    Atomics.store(side.sync, side.role, state);
    Atomics.notify(side.sync, side.role);
  }
}

function fillRows(side: CopySide): void {
  const rowBytes = side.cols * itemSize(side.dtype);
  const windowRows = Math.max(1, Math.floor(WINDOW_BYTES / rowBytes));
  const window = side.dtype === 'float32' ? new Float32Array(windowRows * side.cols) : new Float64Array(windowRows * side.cols);
  const bytes = new Uint8Array(window.buffer);
  const fd = openSync(side.region.file, 'r');
  try {
    for (let a = side.from; a < side.to; a += windowRows) {
      const b = Math.min(side.to, a + windowRows);
      if (!anyCopied(side, a, b)) continue;
      const want = (b - a) * rowBytes;
      let done = 0;
      while (done < want) {
        const n = readSync(fd, bytes, done, want - done, side.region.offset + a * rowBytes + done);
        if (n <= 0) break;
        done += n;
      }
      if (done !== want) {
        throw new CellbudgetError(
          'FILE_TRUNCATED',
          `${side.region.file} ended while rows ${a}..${b} of the representation were read: ${want - done} bytes are missing.`,
          {
            file: side.region.file,
            hint: 'The file was cut short or changed while it was read; copy it again.',
          },
        );
      }
      scatterRows(side, window, a, b, side.at);
    }
  } finally {
    closeSync(fd);
  }
}

/** Hash this side's splits once the other side has filled its rows; null when the other side failed (it reports why). */
export function digestSide(side: CopySide, patienceMs = Infinity): Record<string, SplitDigest> | null {
  const other = 1 - side.role;
  const deadline = Date.now() + patienceMs;
  while (Atomics.load(side.sync, other) === 0) {
    // A thread that died cannot say so: give up on it after far longer than its share takes.
    if (Date.now() > deadline)
      throw new Error(`the other thread of split --digest did not finish its rows within ${Math.round(patienceMs / 1000)} s`);
    Atomics.wait(side.sync, other, 0, 1000);
  }
  if (Atomics.load(side.sync, other) === FILL_FAILED) return null;
  const layout = {
    nSrc: side.nSrc,
    dtype: side.dtype,
    cols: side.cols,
    pools: side.pools,
    poolOf: side.poolOf,
    elemAt: side.elemAt,
    rowsOf: (d: number) => side.rows[d]!,
  };
  const out: Record<string, SplitDigest> = {};
  for (const j of side.digests) out[j.split] = digestPooled(layout, j.tgt, j.src);
  return out;
}

export interface HelperReply {
  readonly digests?: Record<string, SplitDigest>;
  readonly error?: { readonly code?: string; readonly message: string };
}

/** The helper's side of it (src/cli/split-copy-worker.ts): one side, then its reply and `done`. */
export function serveCopyHelper(port: MessagePort, done: Int32Array, side: CopySide): void {
  let reply: HelperReply;
  try {
    fillSide(side);
    // null: this thread's fill failed; it reports its own error.
    reply = { digests: digestSide(side) ?? {} };
  } catch (e) {
    // A CellbudgetError's message already ends with its hint.
    reply = isCellbudgetError(e)
      ? { error: { code: e.code, message: e.message } }
      : { error: { message: e instanceof Error ? e.message : String(e) } };
  }
  port.postMessage(reply);
  Atomics.store(done, 1, 1);
  Atomics.notify(done, 1);
}

/** Called by the helper once loaded (see helperStarted). */
export function announceHelper(done: Int32Array): void {
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
}
