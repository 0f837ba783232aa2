/**
 * One reading of a process's memory, split into what RSS is made of, and the idle
 * baseline every figure is reported net of.
 */
import { forceGc } from './gc.js';
import { readProcStatus } from './proc.js';

/** Bytes of WebAssembly memory currently allocated (e.g. h5wasm's heap). */
export type WasmBytesFn = () => number;

export interface MemorySnapshot {
  /** Resident set size (kernel's VmRSS on Linux; libuv's figure elsewhere). */
  rssBytes: number;
  /** V8 heap in use. */
  heapUsedBytes: number;
  /** Memory V8 knows is held outside its heap by JS objects (includes arrayBuffers). */
  externalBytes: number;
  /** ArrayBuffer / typed-array / Buffer backing stores. */
  arrayBuffersBytes: number;
  /** WebAssembly memory, 0 when no callback was given. */
  wasmBytes: number;
}

/** Current resident set size, in bytes. */
export function currentRssBytes(): number {
  return readProcStatus('self')?.rssBytes ?? process.memoryUsage.rss();
}

/** Read all figures now (no GC). A throwing wasm callback reads as 0. */
export function takeSnapshot(wasmBytes?: WasmBytesFn): MemorySnapshot {
  const mu = process.memoryUsage();
  let wasm = 0;
  if (wasmBytes) {
    try {
      wasm = wasmBytes();
    } catch {
      wasm = 0;
    }
  }
  return {
    rssBytes: currentRssBytes(),
    heapUsedBytes: mu.heapUsed,
    externalBytes: mu.external,
    arrayBuffersBytes: mu.arrayBuffers,
    wasmBytes: wasm,
  };
}

/**
 * The idle baseline: figures after start-up, module loading and forced GCs. Every
 * reported RSS figure is net of `rssBytes`, so a scaled-down scenario is not dominated
 * by the runtime's fixed cost, which does not scale.
 */
export interface Baseline extends MemorySnapshot {
  /** performance.timeOrigin + performance.now() when it was taken: time zero of the run. */
  takenAtEpochMs: number;
}

/** Measure the baseline: call it once everything the run needs is imported. */
export function measureBaseline(wasmBytes?: WasmBytesFn): Baseline {
  forceGc(3);
  const snap = takeSnapshot(wasmBytes);
  return { ...snap, takenAtEpochMs: performance.timeOrigin + performance.now() };
}
