/**
 * StepRecorder: the harness's StepObserver. Each step gets its own peak (kernel
 * high-water mark reset at the step start, read at its end; sampled RSS where that is
 * unavailable), its end RSS, the parts RSS is made of, the GCs it ran, and what the
 * pipeline still references (live bytes). RSS figures are net of the idle baseline.
 */
import { writeSync } from 'node:fs';
import type { StepRecord } from '../core/report.js';
import type { StepName, StepObserver } from '../core/names.js';
import { formatBytes } from '../core/units.js';
import { GcMeter } from './gcstats.js';
import { createPeakProbe, type MethodChoice, type PeakProbe } from './probe.js';
import { measureBaseline, takeSnapshot, type Baseline, type WasmBytesFn } from './snapshot.js';

/** Sent when a step starts, before any of its work: a child that dies leaves this behind. */
export interface StepStart {
  dataset: string | null;
  name: StepName | string;
  label: string;
  start_ms: number;
  repetition?: number;
}

export interface StepRecorderOptions {
  /** WebAssembly memory in use (e.g. `wasmHeapBytes` from src/h5ad/file.ts). */
  wasmBytes?: WasmBytesFn;
  /** Print a `[MEMORY <step>] Used: …` line per step: true → stderr, or a line sink. */
  verbose?: boolean | ((line: string) => void);
  /** Called when a step starts (the child streams it, so a death names its step). */
  onStepStart?: (start: StepStart) => void;
  /** Called with each finished step's record. */
  onStep?: (record: StepRecord) => void;
}

export interface CreateStepRecorderOptions extends StepRecorderOptions {
  /** 'auto' (default): kernel high-water mark on Linux, sampled RSS elsewhere. */
  method?: MethodChoice;
  /** Use this baseline instead of measuring one now. */
  baseline?: Baseline;
  /** Sampled method only: also stream every RSS sample as a JSON line to this fd (see RssSampler). */
  timelineFd?: number;
}

/** Label used in charts and logs: "load tahoe", or the bare name for whole-run steps. */
export function stepLabel(dataset: string | null, name: string): string {
  return dataset === null || dataset === '' ? name : `${name} ${dataset}`;
}

/** The `print_memory_usage`-style line of the original fix, with the parts of RSS. */
export function memoryLine(r: StepRecord): string {
  const gb = (b: number): string => `${(b / 1e9).toFixed(3)} GB`;
  return (
    `[MEMORY ${r.label}] Used: ${gb(r.end_bytes)} | Peak: ${gb(r.peak_bytes)} | ` +
    `Heap: ${formatBytes(r.heap_used_bytes)} | External: ${formatBytes(r.external_bytes)} | ` +
    `ArrayBuffers: ${formatBytes(r.array_buffers_bytes)} | Wasm: ${formatBytes(r.wasm_bytes)} | ` +
    `Live: ${formatBytes(r.live_bytes)} | GC: ${r.gc_count} (${r.gc_pause_ms.toFixed(1)} ms)`
  );
}

/**
 * Records every step a strategy runs. Create it with `StepRecorder.create()` once the
 * modules the run needs are loaded (the baseline is measured then), pass it as the
 * strategy's observer, read `records`, and `close()` it at the end.
 *
 * RSS figures (`peak_bytes`, `end_bytes`) are net of `baseline.rssBytes`; heap, external,
 * arrayBuffers and wasm are absolute, as report.json documents. A net figure can be
 * slightly negative when RSS falls below the idle baseline; it is not clamped.
 */
export class StepRecorder implements StepObserver {
  readonly baseline: Baseline;
  readonly records: StepRecord[] = [];
  /** Tag subsequent records with this repetition index (leak runs). */
  repetition: number | undefined;
  readonly #probe: PeakProbe;
  readonly #opts: StepRecorderOptions;
  #current: StepStart | null = null;

  constructor(probe: PeakProbe, baseline: Baseline, opts: StepRecorderOptions = {}) {
    this.#probe = probe;
    this.baseline = baseline;
    this.#opts = opts;
  }

  /** Make a probe, wait for it, then measure the baseline (forced GCs) unless one is given. */
  static async create(opts: CreateStepRecorderOptions = {}): Promise<StepRecorder> {
    const { method, baseline, timelineFd, ...rest } = opts;
    const probe = createPeakProbe({ method: method ?? 'auto', ...(timelineFd !== undefined ? { timelineFd } : {}) });
    await probe.ready;
    return new StepRecorder(probe, baseline ?? measureBaseline(opts.wasmBytes), rest);
  }

  get method(): PeakProbe['method'] {
    return this.#probe.method;
  }

  /** The step running now (started, not ended), if any. */
  get currentStep(): StepStart | null {
    return this.#current;
  }

  /** Milliseconds since the baseline was taken. */
  elapsedMs(): number {
    return performance.timeOrigin + performance.now() - this.baseline.takenAtEpochMs;
  }

  step<T>(dataset: string, name: StepName, fn: () => T, liveBytes: () => number): T {
    const meter = this.#begin(dataset, name);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      meter.stop();
      throw e;
    }
    if (isThenable(result)) {
      meter.stop();
      throw new TypeError(`step '${stepLabel(dataset, name)}' returned a promise; use stepAsync for asynchronous steps`);
    }
    this.#finish(meter, liveBytes);
    return result;
  }

  /** As `step`, for an asynchronous step (the peak then also covers whatever else ran meanwhile). */
  async stepAsync<T>(dataset: string | null, name: StepName | string, fn: () => T | Promise<T>, liveBytes: () => number): Promise<T> {
    const meter = this.#begin(dataset, name);
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      meter.stop();
      throw e;
    }
    this.#finish(meter, liveBytes);
    return result;
  }

  /** Release the probe (its sampler thread, if any). */
  close(): Promise<void> {
    return this.#probe.close();
  }

  #begin(dataset: string | null, name: string): GcMeter {
    const start: StepStart = {
      dataset,
      name,
      label: stepLabel(dataset, name),
      start_ms: this.elapsedMs(),
      ...(this.repetition !== undefined ? { repetition: this.repetition } : {}),
    };
    this.#current = start;
    this.#opts.onStepStart?.(start);
    const meter = new GcMeter();
    meter.start();
    // Reset last: nothing of the bookkeeping above counts toward the step's peak.
    this.#probe.begin();
    return meter;
  }

  #finish(meter: GcMeter, liveBytes: () => number): void {
    const reading = this.#probe.end();
    const end_ms = this.elapsedMs();
    const gc = meter.stop();
    const snap = takeSnapshot(this.#opts.wasmBytes);
    const start = this.#current;
    this.#current = null;
    if (!start) throw new Error('step finished without a start');
    const record: StepRecord = {
      dataset: start.dataset,
      name: start.name,
      label: start.label,
      start_ms: start.start_ms,
      end_ms,
      peak_bytes: reading.peakBytes - this.baseline.rssBytes,
      end_bytes: reading.rssBytes - this.baseline.rssBytes,
      heap_used_bytes: snap.heapUsedBytes,
      external_bytes: snap.externalBytes,
      array_buffers_bytes: snap.arrayBuffersBytes,
      wasm_bytes: snap.wasmBytes,
      live_bytes: liveBytes(),
      gc_count: gc.count,
      gc_pause_ms: gc.pauseMs,
      ...(start.repetition !== undefined ? { repetition: start.repetition } : {}),
    };
    this.records.push(record);
    const verbose = this.#opts.verbose;
    if (verbose) {
      const line = memoryLine(record);
      if (typeof verbose === 'function') verbose(line);
      else writeSync(2, `${line}\n`);
    }
    this.#opts.onStep?.(record);
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
