/**
 * Leak checks: run the same work K times in one process and watch what stays behind.
 * Judged on V8 heap used + external memory after forced GCs (not RSS, which allocator
 * retention keeps high); repetition 0 is a warm-up (code, caches, one-time buffers).
 * When the growth per repetition is over the budget, one more repetition runs under
 * node-memwatch's HeapDiff to name the object types that grew.
 */
import { createRequire } from 'node:module';
import { forceGc } from './gc.js';

export interface RetainedReading {
  heapUsedBytes: number;
  externalBytes: number;
  /** heapUsed + external: what JS still holds, on and off the V8 heap. */
  totalBytes: number;
}

/** What JS retains now, after forced GCs. */
export function retainedBytes(): RetainedReading {
  forceGc(2);
  const mu = process.memoryUsage();
  return { heapUsedBytes: mu.heapUsed, externalBytes: mu.external, totalBytes: mu.heapUsed + mu.external };
}

/**
 * Growth per repetition from retained figures taken after each repetition: the
 * least-squares slope over repetitions 1..K-1 (repetition 0 is a warm-up); with two
 * repetitions, the difference between them; with fewer, 0 (nothing to compare).
 */
export function growthPerRepetition(retained: readonly number[]): number {
  const k = retained.length;
  if (k < 2) return 0;
  if (k === 2) return (retained[1] as number) - (retained[0] as number);
  const ys = retained.slice(1);
  const n = ys.length;
  const meanX = (n - 1) / 2;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return num / den;
}

export interface GrowingType {
  /** V8's name for the objects ("Object", "Array", "Native" for off-heap backing stores, a class name). */
  what: string;
  /** Net growth in bytes. */
  size_bytes: number;
  /** Net change in the number of objects. */
  count: number;
}

interface HeapDiffChange {
  change: { details: Array<{ what: string; size_bytes: number; '+': number; '-': number }> };
}
interface HeapDiffInstance {
  end(): HeapDiffChange;
}
interface Memwatch {
  HeapDiff: new () => HeapDiffInstance;
}

let memwatch: Memwatch | undefined;
function loadMemwatch(): Memwatch {
  // Loaded on demand: the addon hooks every GC, which a normal run should not pay for.
  memwatch ??= createRequire(import.meta.url)('@airbnb/node-memwatch') as Memwatch;
  return memwatch;
}

/** Run `fn` between two heap snapshots and return the object types that grew most. */
export async function topGrowingTypes(fn: () => void | Promise<void>, top = 10): Promise<GrowingType[]> {
  const { HeapDiff } = loadMemwatch();
  const diff = new HeapDiff();
  await fn();
  forceGc(2);
  const details = diff.end().change.details;
  return details
    .filter((d) => d.size_bytes > 0)
    .sort((a, b) => b.size_bytes - a.size_bytes)
    .slice(0, top)
    .map((d) => ({ what: d.what, size_bytes: d.size_bytes, count: d['+'] - d['-'] }));
}

/** The `leak` entry of a report.json run, plus the retained series it was judged on. */
export interface LeakResult {
  repetitions: number;
  growth_per_repetition_bytes: number;
  limit_bytes: number;
  ok: boolean;
  /** heapUsed + external after forced GCs, after each repetition. */
  retained_bytes: number[];
  top_growing?: GrowingType[];
}

export interface CheckLeakOptions {
  /** K, including the warm-up repetition 0. */
  repetitions: number;
  /** Allowed growth per repetition, bytes. */
  limitBytes: number;
  /** One repetition of the work; must drop everything it made before returning. */
  run: (repetition: number) => void | Promise<void>;
  /** Name growing types with HeapDiff when over the limit (one extra repetition, index K); default true. */
  heapDiff?: boolean;
  /** How many types to name (default 10). */
  top?: number;
}

/** Run `run` K times and judge the growth of retained memory per repetition against the limit. */
export async function checkLeak(opts: CheckLeakOptions): Promise<LeakResult> {
  const retained: number[] = [];
  for (let rep = 0; rep < opts.repetitions; rep++) {
    await opts.run(rep);
    retained.push(retainedBytes().totalBytes);
  }
  const growth = growthPerRepetition(retained);
  const ok = growth <= opts.limitBytes;
  const result: LeakResult = {
    repetitions: opts.repetitions,
    growth_per_repetition_bytes: growth,
    limit_bytes: opts.limitBytes,
    ok,
    retained_bytes: retained,
  };
  if (!ok && (opts.heapDiff ?? true)) {
    result.top_growing = await topGrowingTypes(() => opts.run(opts.repetitions), opts.top ?? 10);
  }
  return result;
}
