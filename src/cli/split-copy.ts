/**
 * `split --digest` on two threads: the copy and the hashing of an uncompressed contiguous
 * representation, shared with one helper thread.
 *
 * Each thread reads half of the rows straight from the file and copies them to their places
 * (the helper's cursors start where this thread's rows of each distribution end: `cursorsAt`).
 * Once both halves are in, the helper hashes the largest split and this thread the others.
 * Same bytes, same digests as one thread.
 *
 * Measured on 1M cells × 50 float32 (200 MB kept; 2 cores): the copy and the hashing take
 * ~255 ms on two threads against ~480 ms on one; the helper costs ~31 ms to start (while obs is
 * planned) and ~10 MB. `npm run bench -- prepare` measures both (`--threads 1`).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { CellbudgetError } from '../core/errors.js';
import type { ErrorCode } from '../core/errors.js';
import type { DirectRegion } from '../core/data.js';
import { SPLITS } from '../core/names.js';
import type { Split } from '../core/names.js';
import type { CopyLayout } from '../pipeline/grouping.js';
import { copyCursors, cursorsAt } from '../pipeline/scatter.js';
import { digestSide, fillSide } from './split-side.js';
import type { CopySide, DigestJob, HelperReply, SplitDigest } from './split-side.js';

export type { DigestJob, SplitDigest } from './split-side.js';

/** Below this many bytes kept, one thread: the helper's start-up and memory would not pay. */
export const HELPER_MIN_BYTES = 32e6;

/** A started helper thread, waiting for its side of the work. */
export interface CopyHelper {
  readonly worker: Worker;
  /** Where its reply comes (read synchronously, with receiveMessageOnPort). */
  readonly port: MessagePort;
  /** [0] = 1 once its module is loaded; [1] = 1 once its reply is posted. */
  readonly done: Int32Array;
}

/** Wait (at most `ms`) until the helper has loaded: a helper that cannot start is not waited for later. */
export function helperStarted(h: CopyHelper, ms = 5000): boolean {
  if (Atomics.load(h.done, 0) === 0) Atomics.wait(h.done, 0, 0, ms);
  return Atomics.load(h.done, 0) === 1;
}

/** The helper's built module: a sibling in dist/src/cli; from sources (vitest), the built copy (npm test builds first). */
function workerEntry(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, 'split-copy-worker.js'), resolve(here, '..', '..', 'dist', 'src', 'cli', 'split-copy-worker.js')]) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** Start the helper now (it boots while obs is read and planned), or null when threads are unavailable. */
export function startCopyHelper(): CopyHelper | null {
  try {
    const { port1, port2 } = new MessageChannel();
    const done = new Int32Array(new SharedArrayBuffer(8));
    const entry = workerEntry();
    if (entry === null) return null;
    const worker = new Worker(entry, {
      workerData: { port: port2, done },
      transferList: [port2],
      // It allocates only a read window: keep its heap small.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32 },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    // Its errors are not events anyone waits for (this thread blocks while it works): one that
    // never starts is not used (helperStarted), one that dies is given up on (digestShared).
    worker.on('error', () => {});
    return { worker, port: port1, done };
  } catch {
    return null;
  }
}

/** Stop a helper that will not be used. */
export function stopCopyHelper(h: CopyHelper | null): void {
  if (h === null) return;
  void h.worker.terminate();
  h.port.close();
}

/** Work shared with the helper, between its two halves (`fillShared`, then `digestShared`). */
export interface SharedCopy {
  readonly helper: CopyHelper;
  readonly mine: CopySide;
  readonly region: DirectRegion;
  /** When this thread started its side (ms, performance.now()). */
  readonly started: number;
}

/**
 * Start the copy of `layout` (made with `shared: true`) from `region`: hand the helper the
 * second half of the rows (and, for later, the digests of `helperSplits`) and copy the first
 * half here. Then call `digestShared`.
 */
export function fillShared(
  helper: CopyHelper,
  layout: CopyLayout,
  region: DirectRegion,
  jobs: readonly DigestJob[],
  helperSplits: readonly Split[],
): SharedCopy {
  const rows = new Int32Array(new SharedArrayBuffer(4 * layout.poolOf.length));
  for (let d = 0; d < rows.length; d++) rows[d] = layout.rowsOf(d);
  const sync = new Int32Array(new SharedArrayBuffer(8));
  const from = Math.max(0, layout.firstRow);
  const to = layout.lastRow + 1;
  const mid = from + Math.floor((to - from) / 2);
  const shared = (n: number): Float64Array => new Float64Array(new SharedArrayBuffer(8 * n));
  const common = {
    region,
    dtype: layout.dtype,
    cols: layout.cols,
    words: layout.words,
    nSrc: layout.plan.srcOffsets.length - 1,
    dest: layout.dest,
    pos: layout.pos,
    poolOf: layout.poolOf,
    elemAt: layout.elemAt,
    rows,
    pools: layout.pools,
    oneBuffer: layout.oneBuffer,
    sync,
  };
  const started = performance.now();
  const theirs: CopySide = {
    ...common,
    from: mid,
    to,
    at: cursorsAt(layout, mid, copyCursors(layout, shared(layout.elemAt.length))),
    digests: jobs.filter((j) => helperSplits.includes(j.split)),
    role: 1,
  };
  helper.worker.postMessage(theirs);
  const mine: CopySide = {
    ...common,
    from,
    to: mid,
    at: copyCursors(layout),
    digests: jobs.filter((j) => !helperSplits.includes(j.split)),
    role: 0,
  };
  try {
    fillSide(mine);
  } catch (e) {
    // fillSide has told the helper (it stops waiting); stop it and report this side's error.
    stopCopyHelper(helper);
    throw e;
  }
  return { helper, mine, region, started };
}

/** Hash this thread's splits (once the helper's rows are in), wait for the helper's digests, and stop it; `patienceMs`: how long to wait for a helper that may have died (default: 30 s + 20× this thread's share). */
export function digestShared(s: SharedCopy, patienceMs?: number): Record<Split, SplitDigest> {
  // The helper does the same work as this thread: one that takes far longer has died.
  const patience = patienceMs ?? 30_000 + 20 * (performance.now() - s.started);
  let mine: Record<string, SplitDigest> | null;
  try {
    mine = digestSide(s.mine, patience);
  } catch (e) {
    stopCopyHelper(s.helper);
    throw e;
  }
  const theirs = awaitHelper(s.helper, s.region, patience);
  // null: the helper's fill failed, and awaitHelper has thrown its error.
  if (mine === null) throw new Error('the split helper thread failed without saying why');
  // In split order (train, val, test), whoever hashed which: the JSON reads the same either way.
  const out = {} as Record<Split, SplitDigest>;
  for (const split of SPLITS) {
    const d = mine[split] ?? theirs[split];
    if (d === undefined) throw new Error(`no digest for split ${split}`);
    out[split] = d;
  }
  return out;
}

function awaitHelper(helper: CopyHelper, region: DirectRegion, patienceMs: number): Record<string, SplitDigest> {
  // The helper posts its reply, then raises done[1].
  const deadline = Date.now() + patienceMs;
  while (Atomics.load(helper.done, 1) === 0 && Date.now() < deadline) Atomics.wait(helper.done, 1, 0, 1000);
  if (Atomics.load(helper.done, 1) === 0) {
    stopCopyHelper(helper);
    throw new Error(`the split helper thread gave no answer within ${Math.round(patienceMs / 1000)} s`);
  }
  const reply = receiveMessageOnPort(helper.port)?.message as HelperReply | undefined;
  stopCopyHelper(helper);
  if (reply?.error) {
    const e = reply.error;
    if (e.code === undefined) throw new Error(`the split helper thread failed: ${e.message}`);
    throw new CellbudgetError(e.code as ErrorCode, e.message, { file: region.file });
  }
  if (!reply?.digests) throw new Error('the split helper thread ended without an answer');
  return reply.digests;
}
