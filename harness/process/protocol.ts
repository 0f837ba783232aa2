/**
 * What a measuring child and its parent say to each other. The parent hands the child a
 * job (JSON file named on its command line); the child writes one JSON object per line to
 * fd 3, synchronously, so every line written before a crash reaches the parent.
 *
 * A job module (the `module` of a ChildJob) exports:
 *   export function runJob(payload, observer: StepRecorder, ctx: JobContext): R | Promise<R>
 *   export function wasmBytes(): number      // optional: WebAssembly memory in use
 *   export function warmUp(payload): void    // optional: runs before the idle baseline
 * `runJob`'s return value (JSON-serialisable) comes back as the run's `result`.
 */
import type { StepRecord } from '../../src/core/report.js';
import type { MethodChoice } from '../../src/memory/probe.js';
import type { Baseline } from '../../src/memory/snapshot.js';
import type { StepRecorder, StepStart } from '../../src/memory/recorder.js';

/** The job given to a child. */
export interface ChildJob<P = unknown> {
  /** Path (absolute, or relative to the child's cwd) or file: URL of the job module. */
  module: string;
  /** Name of the job function in that module; default 'runJob'. */
  export?: string;
  /** Handed to the job function as its first argument. */
  payload: P;
  /** How per-step peaks are measured; default 'auto'. */
  method?: MethodChoice;
  /** Print a `[MEMORY <step>] …` line per step on the child's stderr. */
  verbose?: boolean;
  /** Sampled method only: stream RSS samples over fd 3 (the parent cannot read /proc). */
  timelineFromChild?: boolean;
}

/** The third argument of a job function. */
export interface JobContext {
  /** The whole job as the parent sent it. */
  job: ChildJob;
  /** The observer again (also the second argument), for jobs that set `repetition`. */
  recorder: StepRecorder;
  baseline: Baseline;
  /** Full forced GC: call after deletes ("aggressive gc"). */
  forceGc(): void;
  /** Send an extra record to the parent (it arrives in the result's `events`). */
  emit(type: string, data: unknown): void;
}

export type JobFunction<P = unknown, R = unknown> = (payload: P, observer: StepRecorder, ctx: JobContext) => R | Promise<R>;

/** Baseline as sent over the wire (absolute bytes). */
export interface BaselineRecord {
  rss_bytes: number;
  heap_used_bytes: number;
  external_bytes: number;
  array_buffers_bytes: number;
  wasm_bytes: number;
}

export interface ErrorRecord {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/** Lines the child writes to fd 3. */
export type ChildMessage =
  | { type: 'hello'; pid: number; node: string }
  | { type: 'baseline'; method: 'kernel-hwm' | 'sampled-rss'; t0_epoch_ms: number; baseline: BaselineRecord }
  | ({ type: 'step-start' } & StepStart)
  | { type: 'step'; record: StepRecord }
  | { type: 'sample'; epoch_ms: number; rss_bytes: number }
  | { type: 'event'; name: string; data: unknown }
  | { type: 'result'; value: unknown }
  | { type: 'error'; error: ErrorRecord; step: string | null };

/** Where the child writes its records unless CELLBUDGET_RECORD_FD says otherwise. */
export const RECORD_FD = 3;
