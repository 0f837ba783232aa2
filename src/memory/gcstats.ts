/**
 * Garbage collections during a synchronous stretch of code.
 *
 * Why not @airbnb/node-memwatch's `stats` event: it fires only after a full mark-sweep
 * and is delivered later through the event loop (uv_queue_work), so during a synchronous
 * step it never arrives and cannot be attributed to the step. node:v8's GCProfiler records
 * every GC synchronously (type, pause, heap before/after), which is what a step needs.
 * node-memwatch is still used for HeapDiff (see leak.ts). Measured: five forced GCs in a
 * synchronous loop gave 0 memwatch events during the loop and 5 once the event loop turned.
 *
 * Cost: the profiler keeps about 3 KB per GC until the step ends (2.4 GB of short-lived
 * objects: 472 GCs, 1.4 MB), which lands in that step's peak.
 */
import { GCProfiler } from 'node:v8';

export interface GcSummary {
  /** Collections of any kind (scavenges, mark-sweeps, incremental marking steps). */
  count: number;
  /** Full (mark-sweep-compact) collections among them. */
  majorCount: number;
  /** Sum of their pauses, milliseconds. */
  pauseMs: number;
  /** Highest V8 heap used seen just before a GC (the heap's peak between collections), bytes. */
  heapUsedPeakBytes: number;
  /** Highest external memory V8 knew of at a GC, bytes. */
  externalPeakBytes: number;
}

/** Counts GCs between `start()` and `stop()`; one meter per measured stretch. */
export class GcMeter {
  #profiler: GCProfiler | null = null;

  start(): void {
    this.#profiler = new GCProfiler();
    this.#profiler.start();
  }

  stop(): GcSummary {
    const profiler = this.#profiler;
    this.#profiler = null;
    const summary: GcSummary = { count: 0, majorCount: 0, pauseMs: 0, heapUsedPeakBytes: 0, externalPeakBytes: 0 };
    if (!profiler) return summary;
    const result = profiler.stop();
    for (const s of result.statistics) {
      summary.count++;
      if (s.gcType === 'MarkSweepCompact') summary.majorCount++;
      // GCProfiler's cost is in microseconds.
      summary.pauseMs += s.cost / 1000;
      summary.heapUsedPeakBytes = Math.max(summary.heapUsedPeakBytes, s.beforeGC.heapStatistics.usedHeapSize);
      summary.externalPeakBytes = Math.max(summary.externalPeakBytes, s.beforeGC.heapStatistics.externalMemory);
    }
    return summary;
  }
}
