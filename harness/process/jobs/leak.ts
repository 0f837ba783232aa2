/**
 * A leak-check calibration job: each repetition makes `rows` small objects and, when
 * `leak` is set, keeps them. Shows how a job runs `checkLeak` in a child and returns the
 * verdict (the `leak` entry of a report run).
 */
import { checkLeak, type LeakResult } from '../../../src/memory/leak.js';
import type { StepRecorder } from '../../../src/memory/recorder.js';
import type { JobContext } from '../protocol.js';

export interface LeakPayload {
  repetitions: number;
  limit_bytes: number;
  rows: number;
  leak: boolean;
}

class LeakyRow {
  constructor(
    readonly i: number,
    readonly label: string,
  ) {}
}

export async function runJob(payload: LeakPayload, observer: StepRecorder, ctx: JobContext): Promise<LeakResult> {
  const hoard: LeakyRow[] = [];
  const result = await checkLeak({
    repetitions: payload.repetitions,
    limitBytes: payload.limit_bytes,
    run: (rep) => {
      observer.repetition = rep;
      observer.step(
        'rows',
        'load',
        () => {
          const rows = Array.from({ length: payload.rows }, (_, i) => new LeakyRow(i, `row ${rep}/${i}`));
          if (payload.leak) hoard.push(...rows);
        },
        () => 0,
      );
    },
  });
  ctx.emit('leak', result);
  return result;
}
