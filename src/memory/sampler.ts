/**
 * Sampled RSS, for where the kernel high-water mark is unavailable (not Linux, or
 * /proc/<pid>/clear_refs not writable).
 *
 * A timer on the main thread cannot fire while a synchronous step runs, so the sampling
 * happens on a worker thread: `process.memoryUsage.rss()` is process-wide there too. The
 * worker publishes the running maximum through a SharedArrayBuffer, so the main thread
 * reads it synchronously at a step end without turning the event loop. Spikes shorter
 * than the sampling interval can be missed: figures from this sampler are labelled
 * 'sampled-rss'.
 */
import { Worker } from 'node:worker_threads';

// Slot 0 holds the running maximum tagged with an epoch in its top 16 bits; a reset bumps
// the epoch, so a sample read before the reset can never land after it (its CAS fails).
// Slot 1: last sample (bytes); slot 2: stop flag; slot 3: number of samples taken.
const EPOCH_SHIFT = 48n;
const VALUE_MASK = (1n << EPOCH_SHIFT) - 1n;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const a = new BigInt64Array(workerData.state);
const sleepCell = new Int32Array(workerData.sleep);
const SHIFT = ${EPOCH_SHIFT}n, MASK = ${VALUE_MASK}n;
const fd = workerData.timelineFd;
while (Atomics.load(a, 2) === 0n) {
  const before = Atomics.load(a, 0);
  const epoch = before >> SHIFT;
  const r = BigInt(process.memoryUsage.rss());
  Atomics.store(a, 1, r);
  let cur = before;
  while ((cur >> SHIFT) === epoch && r > (cur & MASK)) {
    const seen = Atomics.compareExchange(a, 0, cur, (epoch << SHIFT) | r);
    if (seen === cur) break;
    cur = seen;
  }
  Atomics.add(a, 3, 1n);
  if (fd !== null) {
    try {
      writeSync(fd, '{"type":"sample","epoch_ms":' + (performance.timeOrigin + performance.now()) + ',"rss_bytes":' + r + '}\\n');
    } catch {}
  }
  Atomics.wait(sleepCell, 0, 0, workerData.intervalMs);
}
`;

export interface RssSamplerOptions {
  /** Sampling period, ms (default 10). */
  intervalMs?: number;
  /**
   * Also write every sample as a JSON line `{"type":"sample","epoch_ms","rss_bytes"}` to
   * this file descriptor (the child's record pipe), for timelines where the parent cannot
   * read the child's /proc.
   */
  timelineFd?: number;
}

/** RSS sampled on a worker thread; `peakSinceReset()` is readable synchronously. */
export class RssSampler {
  readonly intervalMs: number;
  readonly ready: Promise<void>;
  readonly #state: BigInt64Array;
  readonly #sleep: Int32Array;
  readonly #worker: Worker;
  #epoch = 0n;

  constructor(opts: RssSamplerOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 10;
    const state = new SharedArrayBuffer(4 * 8);
    const sleep = new SharedArrayBuffer(4);
    this.#state = new BigInt64Array(state);
    this.#sleep = new Int32Array(sleep);
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { state, sleep, intervalMs: this.intervalMs, timelineFd: opts.timelineFd ?? null },
      // The sampler must never keep a process alive or inherit its stdin.
      stdin: false,
    });
    this.#worker.unref();
    this.ready = new Promise<void>((resolve, reject) => {
      const poll = (): void => {
        if (Atomics.load(this.#state, 3) > 0n) resolve();
        else setTimeout(poll, 1);
      };
      this.#worker.once('error', reject);
      poll();
    });
  }

  /** Start a new measurement window at the current RSS. */
  reset(): void {
    this.#epoch = (this.#epoch + 1n) & 0xffffn;
    Atomics.store(this.#state, 0, (this.#epoch << EPOCH_SHIFT) | BigInt(process.memoryUsage.rss()));
  }

  /** Highest RSS seen since the last reset, including a reading taken now. */
  peakSinceReset(): number {
    const sampled = Number(Atomics.load(this.#state, 0) & VALUE_MASK);
    return Math.max(sampled, process.memoryUsage.rss());
  }

  /** Samples taken so far (for tests and diagnostics). */
  get sampleCount(): number {
    return Number(Atomics.load(this.#state, 3));
  }

  /** Stop the worker. */
  async close(): Promise<void> {
    Atomics.store(this.#state, 2, 1n);
    Atomics.notify(this.#sleep, 0);
    await this.#worker.terminate();
  }
}
