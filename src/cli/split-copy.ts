/**
 * `split --digest` on two threads: the copy and the hashing of an uncompressed contiguous
 * representation, shared with one helper thread.
 *
 * Both threads read every row window straight from the file (the kernel's page-cache copy is
 * cheap next to the scatter); each copies only the rows of the pools it owns and then hashes
 * its own splits. The helper owns the largest split's targets; this thread the sources and the
 * other splits. A split's digest also covers its sources, so the helper hashes only once this
 * thread has filled them (one shared flag). Same bytes, same digests as one thread: the rows of
 * each distribution are still copied in file order, each pool by one thread.
 *
 * Measured on 1M cells × 50 float32 (200 MB kept; 2 cores): the copy and the hashing took
 * 360–390 ms on one thread and 220–240 ms on two (micro-benchmark of this scheme), for a
 * helper that costs ~25 ms to start (while obs is read and planned) and ~10 MB.
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
    // A helper that fails to start (or dies) raises `done` with no reply: the caller says so.
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

function signalFilled(sync: Int32Array): void {
  Atomics.store(sync, 0, 1);
  Atomics.notify(sync, 0);
}

/**
 * Start the copy of `layout` (made with `shared: true`) from `region`: hand the helper its
 * side (the pools in `helperPools`, then the digests of `helperSplits`) and fill this thread's
 * pools. Then call `digestShared`.
 */
export function fillShared(helper: CopyHelper, layout: CopyLayout, region: DirectRegion, jobs: readonly DigestJob[], helperPools: readonly number[], helperSplits: readonly Split[]): SharedCopy {
  const nPools = layout.pools.length;
  const mine = new Uint8Array(nPools).fill(1);
  const theirs = new Uint8Array(nPools);
  for (const p of helperPools) {
    mine[p] = 0;
    theirs[p] = 1;
  }
  const rows = new Int32Array(new SharedArrayBuffer(4 * layout.poolOf.length));
  for (let d = 0; d < rows.length; d++) rows[d] = layout.rowsOf(d);
  const sync = new Int32Array(new SharedArrayBuffer(8));
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
    firstRow: layout.firstRow,
    lastRow: layout.lastRow,
    sync,
  };
  const side: CopySide = { ...common, owned: mine, digests: jobs.filter((j) => !helperSplits.includes(j.split)), waitForSources: false };
  const started = performance.now();
  helper.worker.postMessage({ ...common, owned: theirs, digests: jobs.filter((j) => helperSplits.includes(j.split)), waitForSources: true } satisfies CopySide);
  try {
    fillSide(side);
  } catch (e) {
    // The helper waits for the sources: release it, and stop it.
    signalFilled(sync);
    stopCopyHelper(helper);
    throw e;
  }
  signalFilled(sync);
  return { helper, mine: side, region, started };
}

/** Hash this thread's splits, wait for the helper's, and stop it. */
export function digestShared(s: SharedCopy): Record<Split, SplitDigest> {
  const mine = digestSide(s.mine);
  const theirs = awaitHelper(s.helper, s.region, 30_000 + 20 * (performance.now() - s.started));
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
  // The helper posts its reply, then raises done[1]. It does the same work as this thread:
  // one that takes far longer has died (a thread cannot be watched while this one blocks).
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

