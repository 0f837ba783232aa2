// Leak checks in a fresh child (HeapDiff snapshots a small heap there, not vitest's).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakPayload } from '../../../harness/process/jobs/leak.js';
import { runChild } from '../../../harness/process/spawn.js';
import type { LeakResult } from '../../../src/memory/leak.js';

const JOB = resolve('dist/harness/process/jobs/leak.js');

function run(leak: boolean) {
  if (!existsSync(JOB)) throw new Error('dist/harness/process/jobs/leak.js is missing: run `npx tsc -p tsconfig.build.json` first');
  const payload: LeakPayload = { repetitions: 4, limit_bytes: 100 * 1024, rows: 20_000, leak };
  return runChild<LeakResult>({ job: { module: JOB, payload }, timeoutMs: 60_000 });
}

describe('leak check over repetitions in one child', () => {
  it('passes a job that drops what each repetition made', async () => {
    const r = await run(false);
    expect(r.status).toBe('ok');
    expect(r.result!.ok).toBe(true);
    expect(Math.abs(r.result!.growth_per_repetition_bytes)).toBeLessThan(100 * 1024);
    expect(r.steps.map((s) => s.repetition)).toEqual([0, 1, 2, 3]);
  });

  it('fails a job that keeps them, and names the type that grew', async () => {
    const r = await run(true);
    expect(r.status).toBe('ok');
    const leak = r.result!;
    expect(leak.ok).toBe(false);
    // 20,000 objects of 40 bytes plus their strings per repetition.
    expect(leak.growth_per_repetition_bytes).toBeGreaterThan(800_000);
    expect(leak.top_growing![0]).toEqual({ what: 'LeakyRow', size_bytes: 800_000, count: 20_000 });
    expect(r.events).toEqual([{ name: 'leak', data: leak }]);
  });
});
