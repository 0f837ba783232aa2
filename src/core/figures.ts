/**
 * Small facts about a run's figures, apart from the report's zod schemas (./report.ts) so that
 * code that only writes records (a Slurm job's entry, whose own RSS counts against its --mem)
 * does not load zod.
 */
import type { RunRecord, StepRecord } from './report.js';

/**
 * The in-process figures of a step seen from outside the process (a command, a log):
 * heap, external, ArrayBuffers, wasm, live bytes and GCs are not observable there.
 */
export const NO_IN_PROCESS_FIGURES = {
  heap_used_bytes: 0,
  external_bytes: 0,
  array_buffers_bytes: 0,
  wasm_bytes: 0,
  live_bytes: 0,
  gc_count: 0,
  gc_pause_ms: 0,
} as const satisfies Partial<StepRecord>;

/** Whether a run knows its live bytes: only the in-process strategies do, not commands or logs. */
export function liveBytesKnown(run: Pick<RunRecord, 'method'>): boolean {
  return run.method === 'kernel-hwm' || run.method === 'sampled-rss';
}

/** (predicted − measured) / measured; undefined when nothing was measured. */
export function relativeError(predicted: number, measured: number): number | undefined {
  return measured === 0 ? undefined : (predicted - measured) / Math.abs(measured);
}

/**
 * The distinct warnings of each scenario's runs (`<dataset>: <text>`), in report order: a
 * dataset's split warns alike for every strategy and rung, and is said once per scenario.
 */
export function scenarioWarnings(runs: readonly Pick<RunRecord, 'scenario' | 'warnings'>[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of runs) {
    for (const w of r.warnings ?? []) {
      const seen = out.get(r.scenario) ?? [];
      if (!seen.includes(w)) seen.push(w);
      out.set(r.scenario, seen);
    }
  }
  return out;
}
