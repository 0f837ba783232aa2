/**
 * Forced garbage collection, the "aggressive gc" of the original fix: strategies call it
 * after each delete, and the harness calls it before measuring a baseline or a leak.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CellbudgetError } from '../core/errors.js';

type GcFn = () => void;

let cached: GcFn | undefined;

function resolveGc(): GcFn {
  const exposed = (globalThis as { gc?: GcFn }).gc;
  if (typeof exposed === 'function') return exposed;
  // Without --expose-gc (e.g. inside a vitest worker) the flag can still be turned on at
  // run time; a fresh context then sees `gc`. V8 documents setFlagsFromString as
  // "behaviour after start-up is undefined", but this flag is read when a context is made.
  setFlagsFromString('--expose-gc');
  const fn = runInNewContext('gc') as unknown;
  if (typeof fn !== 'function') {
    throw new CellbudgetError('MEASUREMENT_UNAVAILABLE', 'Cannot force a garbage collection in this process.', {
      hint: 'Run node with --expose-gc.',
    });
  }
  return fn as GcFn;
}

/** True when node was started with --expose-gc (the harness's children always are). */
export function gcExposed(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

/**
 * Run full, synchronous garbage collections, by default two. V8 sweeps ArrayBuffer
 * backing stores on a background thread after a GC (--concurrent-array-buffer-sweeping),
 * so after one gc() a dropped 120 MB Buffer can still be resident; the second GC first
 * waits for that sweep to finish. Measured on Node 20: one pass, RSS stays 80 MB above
 * baseline; two passes, it is back at baseline.
 */
export function forceGc(times = 2): void {
  cached ??= resolveGc();
  for (let i = 0; i < times; i++) cached();
}
