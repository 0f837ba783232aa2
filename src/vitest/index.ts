/**
 * Memory assertions for test suites (vitest, or any runner that awaits a promise): the
 * counterpart of pytest-memray's `limit_memory`.
 *
 *   import { expectMemory } from 'cellbudget/vitest';
 *   await expectMemory(() => prepare(dataset)).toPeakBelow('24 MB');
 *
 * The peak is the kernel's resident high-water mark around the call (reset before, read
 * after; Linux), or RSS sampled every 10 ms on a worker thread elsewhere, net of the RSS
 * measured just before the call after forced GCs. Measurements in one process must not
 * overlap: do not use it in `test.concurrent`.
 */
// Type-only: brings vitest's declarations in for the Matchers augmentation at the end; no runtime import.
import type {} from 'vitest';
import { CellbudgetError } from '../core/errors.js';
import { forceGc } from '../memory/gc.js';
import { GcMeter } from '../memory/gcstats.js';
import { createPeakProbe, type MethodChoice } from '../memory/probe.js';
import { currentRssBytes, takeSnapshot, type WasmBytesFn } from '../memory/snapshot.js';
import { formatBytes, parseBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import { methodText } from '../core/methods.js';

export interface MemoryOptions {
  /** 'auto' (default): kernel high-water mark where available, sampled RSS otherwise. */
  method?: MethodChoice;
  /** WebAssembly memory in use, to attribute it (e.g. `wasmHeapBytes` of cellbudget's h5ad reader). */
  wasmBytes?: WasmBytesFn;
}

/** What one call cost. RSS figures are net of `baselineBytes`; deltas are changes during the call. */
export interface MemoryMeasurement<T = unknown> {
  method: 'kernel-hwm' | 'sampled-rss';
  /** RSS just before the call, after forced GCs (absolute). */
  baselineBytes: number;
  /** Highest RSS during the call, net of baseline. */
  peakBytes: number;
  /** RSS when the call returned (before any GC), net of baseline. */
  endBytes: number;
  /** RSS after the call and forced GCs, with its return value still referenced, net of baseline. */
  retainedBytes: number;
  /** Changes from before the call to its return (before GC); external excludes arrayBuffers here. */
  deltas: { heapUsedBytes: number; externalBytes: number; arrayBuffersBytes: number; wasmBytes: number };
  /** Highest V8 heap / external seen just before a GC during the call, net of their values before it. */
  peaksAtGc: { heapUsedBytes: number; externalBytes: number };
  gcCount: number;
  durationMs: number;
  /** The call's return value. */
  value: T;
}

/** Thrown when a memory limit is broken; carries the measurement. */
export class MemoryLimitError extends CellbudgetError {
  readonly measurement: MemoryMeasurement;
  readonly limitBytes: number;

  constructor(message: string, measurement: MemoryMeasurement, limitBytes: number) {
    super('BUDGET_EXCEEDED', message, { value: measurement.peakBytes });
    this.measurement = measurement;
    this.limitBytes = limitBytes;
  }
}

/** Run `fn` (sync or async) once and measure its memory. */
export async function measureMemory<T>(fn: () => T | Promise<T>, opts: MemoryOptions = {}): Promise<MemoryMeasurement<T>> {
  const probe = createPeakProbe({ method: opts.method ?? 'auto' });
  try {
    await probe.ready;
    forceGc(2);
    const before = takeSnapshot(opts.wasmBytes);
    const meter = new GcMeter();
    meter.start();
    const t0 = performance.now();
    probe.begin();
    let value: T;
    try {
      value = await fn();
    } catch (e) {
      meter.stop();
      throw e;
    }
    const reading = probe.end();
    const durationMs = performance.now() - t0;
    const gc = meter.stop();
    const after = takeSnapshot(opts.wasmBytes);
    forceGc(2);
    const retained = currentRssBytes();
    const otherExternal = (s: typeof before): number => s.externalBytes - s.arrayBuffersBytes;
    return {
      method: probe.method,
      baselineBytes: before.rssBytes,
      peakBytes: reading.peakBytes - before.rssBytes,
      endBytes: reading.rssBytes - before.rssBytes,
      retainedBytes: retained - before.rssBytes,
      deltas: {
        heapUsedBytes: after.heapUsedBytes - before.heapUsedBytes,
        externalBytes: otherExternal(after) - otherExternal(before),
        arrayBuffersBytes: after.arrayBuffersBytes - before.arrayBuffersBytes,
        wasmBytes: after.wasmBytes - before.wasmBytes,
      },
      peaksAtGc: {
        heapUsedBytes: gc.count ? Math.max(0, gc.heapUsedPeakBytes - before.heapUsedBytes) : 0,
        externalBytes: gc.count ? Math.max(0, gc.externalPeakBytes - before.externalBytes) : 0,
      },
      gcCount: gc.count,
      durationMs,
      value,
    };
  } finally {
    await probe.close();
  }
}

/** The failure text: the figure, the baseline, and the parts the memory went to. */
export function describeMeasurement(m: MemoryMeasurement, headline: string): string {
  const signed = (b: number): string => formatBytes(b, { signed: true });
  const parts: Array<[string, number, string]> = [
    ['arrayBuffers', m.deltas.arrayBuffersBytes, '(typed arrays, Buffers)'],
    [
      'V8 heap',
      m.deltas.heapUsedBytes,
      m.peaksAtGc.heapUsedBytes > m.deltas.heapUsedBytes ? `(up to ${signed(m.peaksAtGc.heapUsedBytes)} before a GC)` : '',
    ],
    ['other external', m.deltas.externalBytes, ''],
    ['wasm', m.deltas.wasmBytes, '(WebAssembly memory)'],
  ];
  parts.sort((a, b) => Math.max(b[1], 0) - Math.max(a[1], 0));
  const attributed = parts.reduce((n, [, b]) => n + Math.max(b, 0), 0);
  const lines = [
    headline,
    `  method:   ${methodText(m.method).name}`,
    `  baseline: ${formatBytes(m.baselineBytes)} RSS before the call, after GC (subtracted from every figure)`,
    `  peak:     ${signed(m.peakBytes)}   (${formatBytes(m.baselineBytes + m.peakBytes)} RSS)`,
    `  at return ${signed(m.endBytes)};  after GC, value still held: ${signed(m.retainedBytes)}`,
    `  biggest contributors (change from before the call to its return, before GC):`,
    formatTable(
      [
        ...parts.map(([name, b, note]) => [name, signed(b), note]),
        [
          'unattributed',
          signed(m.peakBytes - attributed),
          '(peak minus the above: native/allocator memory, or memory freed before the call returned)',
        ],
      ],
      { indent: '    ', gap: ' ', align: ['left', 'right', 'left'] },
    ),
    `  ${m.gcCount} GCs during the call, ${m.durationMs.toFixed(0)} ms`,
  ];
  return lines.join('\n');
}

export interface MemoryExpectation<T> {
  /** Fails unless the call's peak RSS, net of baseline, stays below `limit` ("24 MB", "1.5GiB", bytes). */
  toPeakBelow(limit: string | number): Promise<MemoryMeasurement<T>>;
  /** Fails unless what the call leaves resident (after GC, its value still held), net of baseline, stays below `limit`. */
  toEndBelow(limit: string | number): Promise<MemoryMeasurement<T>>;
}

/**
 * Assert on the memory of a call: `await expectMemory(fn).toPeakBelow('24 MB')`.
 * Each matcher runs `fn` once and resolves with the measurement (for further checks).
 */
export function expectMemory<T>(fn: () => T | Promise<T>, opts: MemoryOptions = {}): MemoryExpectation<T> {
  const check = async (limit: string | number, which: 'peak' | 'end'): Promise<MemoryMeasurement<T>> => {
    const limitBytes = parseBytes(limit, which === 'peak' ? 'toPeakBelow limit' : 'toEndBelow limit');
    const m = await measureMemory(fn, opts);
    const actual = which === 'peak' ? m.peakBytes : m.retainedBytes;
    if (actual >= limitBytes) {
      const headline =
        which === 'peak'
          ? `expected the call to peak below ${formatBytes(limitBytes)} of memory (RSS net of baseline), it peaked at ${formatBytes(actual)}`
          : `expected the call to leave less than ${formatBytes(limitBytes)} resident (RSS net of baseline, after GC), it left ${formatBytes(actual)}`;
      throw new MemoryLimitError(describeMeasurement(m, headline), m, limitBytes);
    }
    return m;
  };
  return {
    toPeakBelow: (limit) => check(limit, 'peak'),
    toEndBelow: (limit) => check(limit, 'end'),
  };
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
  actual?: unknown;
  expected?: unknown;
}

async function matchLimit(
  received: unknown,
  limit: string | number,
  which: 'peak' | 'end',
  opts: MemoryOptions = {},
): Promise<MatcherResult> {
  if (typeof received !== 'function') {
    return {
      pass: false,
      message: () => `expect(fn).${which === 'peak' ? 'toPeakBelow' : 'toEndBelow'}(limit) needs a function, got ${typeof received}`,
    };
  }
  const limitBytes = parseBytes(limit, which === 'peak' ? 'toPeakBelow limit' : 'toEndBelow limit');
  const m = await measureMemory(received as () => unknown, opts);
  const actual = which === 'peak' ? m.peakBytes : m.retainedBytes;
  const pass = actual < limitBytes;
  const what = which === 'peak' ? 'peak' : 'leave resident';
  return {
    pass,
    actual,
    expected: limitBytes,
    message: () =>
      describeMeasurement(
        m,
        pass
          ? `expected the call not to ${what} below ${formatBytes(limitBytes)}, it did: ${formatBytes(actual)}`
          : `expected the call to ${what} below ${formatBytes(limitBytes)} (RSS net of baseline), it reached ${formatBytes(actual)}`,
      ),
  };
}

/**
 * The same checks as `expect` matchers:
 *
 *   import { expect } from 'vitest';
 *   import { memoryMatchers } from 'cellbudget/vitest';
 *   expect.extend(memoryMatchers);
 *   await expect(() => prepare(dataset)).toPeakBelow('24 MB');
 */
export const memoryMatchers = {
  toPeakBelow(received: unknown, limit: string | number, opts?: MemoryOptions): Promise<MatcherResult> {
    return matchLimit(received, limit, 'peak', opts);
  },
  toEndBelow(received: unknown, limit: string | number, opts?: MemoryOptions): Promise<MatcherResult> {
    return matchLimit(received, limit, 'end', opts);
  },
};

declare module 'vitest' {
  // The type parameter must repeat vitest's own declaration (`T = any`) to merge with it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  // biome-ignore lint/suspicious/noExplicitAny: the declaration merges with vitest's own, which has this default.
  interface Matchers<T = any> {
    /** After `expect.extend(memoryMatchers)`: the call's peak RSS, net of baseline, stays below `limit`. Await it. */
    toPeakBelow(limit: string | number, opts?: MemoryOptions): Promise<T>;
    /** After `expect.extend(memoryMatchers)`: what the call leaves resident stays below `limit`. Await it. */
    toEndBelow(limit: string | number, opts?: MemoryOptions): Promise<T>;
  }
}
