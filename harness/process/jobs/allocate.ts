/**
 * A calibration job: each step allocates a known number of bytes (filled, so every page
 * is resident), optionally keeps them, and the job frees what it does not keep with a
 * forced GC between steps. Used to check that measured step peaks match what a step
 * allocated, and to make children die in known ways.
 */
import type { StepName } from '../../../src/core/names.js';
import type { JobContext } from '../protocol.js';
import type { StepRecorder } from '../../../src/memory/recorder.js';

export interface AllocateStep {
  name: StepName;
  dataset: string;
  /** Bytes to allocate in this step (in typed arrays of `chunk_bytes`, each filled). */
  bytes: number;
  /** Size of each array; default 8 MiB. Small chunks come from the malloc heap (docs/measurement.md#live-bytes-and-allocator-retention). */
  chunk_bytes?: number;
  /** Keep the buffers after the step (they count as live bytes); default false. */
  keep?: boolean;
  /** Stay this long in the step after allocating, holding the memory (for samplers). */
  hold_ms?: number;
  /** Die inside this step, after allocating. */
  die?: 'sigkill' | 'heap-oom' | 'grow' | 'throw';
}

export interface AllocatePayload {
  steps: AllocateStep[];
  /** Repeat the whole sequence; records carry the repetition index. */
  repeat?: number;
}

const CHUNK = 8 * 2 ** 20;

function allocate(bytes: number, chunk = CHUNK): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let left = bytes; left > 0; left -= chunk) {
    // The fill writes every page, so the memory is resident. Plain typed arrays, as the
    // pipeline uses (Buffer.allocUnsafe would slice small ones out of a shared pool).
    const b = new Uint8Array(Math.min(chunk, left));
    b.fill(0x5a);
    out.push(b);
  }
  return out;
}

function die(how: NonNullable<AllocateStep['die']>): void {
  switch (how) {
    case 'sigkill':
      process.kill(process.pid, 'SIGKILL');
      break;
    case 'throw':
      throw new Error('the job failed on purpose');
    case 'heap-oom': {
      // Grows the V8 heap until --max-old-space-size stops it (fatal, not catchable).
      const hoard: Array<{ i: number; s: string }> = [];
      for (let i = 0; ; i++) hoard.push({ i, s: `row ${i}` });
    }
    case 'grow': {
      // Grows resident memory until something (a cap, the OOM killer) stops the process.
      const hoard: Uint8Array[] = [];
      for (;;) hoard.push(...allocate(64 * 2 ** 20));
    }
  }
}

// Blocks the thread without running JS: a spinning loop would get JIT-compiled on the
// spot, and the compiler's own memory (~5 MB) would land in the step being calibrated.
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function hold(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export function runJob(payload: AllocatePayload, observer: StepRecorder, ctx: JobContext): { live_bytes: number } {
  let kept: Uint8Array[] = [];
  const liveBytes = (): number => kept.reduce((n, b) => n + b.length, 0);
  const reps = payload.repeat ?? 1;
  for (let rep = 0; rep < reps; rep++) {
    if (reps > 1) observer.repetition = rep;
    for (const s of payload.steps) {
      observer.step(
        s.dataset,
        s.name,
        () => {
          let bufs: Uint8Array[] | null = allocate(s.bytes, s.chunk_bytes);
          if (s.hold_ms) hold(s.hold_ms);
          if (s.die) die(s.die);
          if (s.keep) kept = kept.concat(bufs);
          bufs = null;
        },
        liveBytes,
      );
      ctx.forceGc();
    }
    if (reps > 1) kept = [];
  }
  return { live_bytes: liveBytes() };
}
