// Measuring children: per-step peaks match what each step allocated, and a child that
// dies is reported with the step it died in. Needs the build (npm test builds first).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AllocatePayload, AllocateStep } from '../../../harness/process/jobs/allocate.js';
import { defaultChildEntry, measuredRunFields, runChild, type RunChildOptions } from '../../../harness/process/spawn.js';
import { kernelHwmAvailable } from '../../../src/memory/proc.js';

const MB = 1e6;
const JOB = resolve('dist/harness/process/jobs/allocate.js');
// A fixed mmap threshold makes glibc hand every freed buffer back to the OS, so a step's
// peak depends on that step alone; without it, memory freed by one step may stay resident
// and be reused by the next (docs/measurement.md#live-bytes-and-allocator-retention) — true, but not what this tests.
const ALLOCATOR_ENV = { MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '0' };

function run(steps: AllocateStep[], extra: Partial<RunChildOptions> & { method?: 'kernel-hwm' | 'sampled-rss' } = {}) {
  const { method, ...rest } = extra;
  const payload: AllocatePayload = { steps };
  return runChild({ job: { module: JOB, payload, ...(method ? { method } : {}) }, env: ALLOCATOR_ENV, timeoutMs: 30_000, ...rest });
}

beforeAll(() => {
  if (!existsSync(JOB) || !existsSync(defaultChildEntry())) {
    throw new Error('dist/harness is missing: run `npx tsc -p tsconfig.build.json` (npm test does it) before these tests');
  }
});

const CALIBRATION: AllocateStep[] = [
  { name: 'load', dataset: 'a', bytes: 40 * MB },
  { name: 'prepare', dataset: 'a', bytes: 120 * MB },
  { name: 'split', dataset: 'a', bytes: 80 * MB },
  { name: 'delete-raw', dataset: 'a', bytes: 10 * MB },
];

describe.skipIf(!kernelHwmAvailable())('kernel high-water marks in a child', () => {
  it('measures each step peak within 5% of what the step allocated, independent of the step before', async () => {
    const r = await run(CALIBRATION);
    expect(r.status).toBe('ok');
    expect(r.method).toBe('kernel-hwm');
    expect(r.steps.map((s) => s.label)).toEqual(['load a', 'prepare a', 'split a', 'delete-raw a']);
    r.steps.slice(0, 3).forEach((s, i) => {
      const allocated = CALIBRATION[i]!.bytes;
      expect(Math.abs(s.peak_bytes - allocated) / allocated, `${s.label}: peak ${s.peak_bytes} vs ${allocated}`).toBeLessThan(0.05);
    });
    // The 10 MB step after the 80 MB one reports about 10 MB, not the earlier peak. (Within
    // ±2 MB: RSS drifts around the baseline by about a megabyte, 10% of so small a step.)
    expect(Math.abs(r.steps[3]!.peak_bytes - 10 * MB)).toBeLessThan(2 * MB);
    expect(r.baseline!.rss_bytes).toBeGreaterThan(10 * MB);
    expect(r.env).toEqual(ALLOCATOR_ENV);
    // The parent's timeline saw the 120 MB step, net of baseline.
    expect(Math.max(...r.samples.map(([, b]) => b))).toBeGreaterThan(100 * MB);
  });

  it('counts kept memory in end and live bytes', async () => {
    const r = await run([
      { name: 'load', dataset: 'a', bytes: 30 * MB, keep: true },
      { name: 'prepare', dataset: 'a', bytes: 20 * MB },
    ]);
    expect(r.status).toBe('ok');
    const [load, prepare] = r.steps;
    expect(load!.live_bytes).toBe(30 * MB);
    expect(load!.end_bytes).toBeGreaterThan(29 * MB);
    expect(load!.array_buffers_bytes).toBeGreaterThan(30 * MB);
    // The second step's peak sits on top of what the first kept.
    expect(prepare!.peak_bytes).toBeGreaterThan(48 * MB);
    expect(prepare!.peak_bytes).toBeLessThan(53 * MB);
    expect(r.final_live_bytes).toBe(30 * MB);
    expect(r.result).toEqual({ live_bytes: 30 * MB });
  });
});

describe('a child that dies', () => {
  it('is reported as died in the step it was killed in, with the last figures', async () => {
    const r = await run([
      { name: 'load', dataset: 'a', bytes: 20 * MB, keep: true },
      { name: 'prepare', dataset: 'a', bytes: 30 * MB, hold_ms: 100, die: 'sigkill' },
    ]);
    expect(r.status).toBe('died');
    expect(r.failure).toMatchObject({ kind: 'signal', step: 'prepare a', signal: 'SIGKILL' });
    expect(r.failure!.last_step!.label).toBe('load a');
    expect(r.failure!.last_step!.live_bytes).toBe(20 * MB);
    expect(r.steps).toHaveLength(1);
    expect(r.failure!.step_peak_rss_bytes).toBeGreaterThan(40 * MB);
    // As a report.json run: the reason carries the step and the last figures.
    const record = measuredRunFields(r);
    expect(record.status).toBe('died');
    expect(record.failure).toMatchObject({ step: 'prepare a', signal: 'SIGKILL', exit_code: null });
    expect(record.failure!.reason).toMatch(
      /SIGKILL.*in step 'prepare a'.*RSS reached \d+(\.\d+)? MB above baseline in that step.*last finished step 'load a' ended at 2\d(\.\d+)? MB/,
    );
  });

  it('is reported as out of memory when its V8 heap cap is reached', async () => {
    const r = await run(
      [
        { name: 'load', dataset: 'a', bytes: 10 * MB },
        { name: 'prepare', dataset: 'b', bytes: 0, die: 'heap-oom' },
      ],
      {
        memoryCap: { maxOldSpaceMb: 48 },
      },
    );
    expect(r.status).toBe('died');
    expect(r.failure).toMatchObject({ kind: 'oom', step: 'prepare b' });
    expect(r.failure!.reason).toMatch(/out of memory/);
    expect(r.failure!.stderr_tail).toMatch(/heap out of memory/);
  });

  it('is killed by the harness when its RSS passes the memory cap', async () => {
    const r = await run([{ name: 'load', dataset: 'a', bytes: 0, die: 'grow' }], { memoryCap: { rssBytes: 300 * MB } });
    expect(r.status).toBe('died');
    expect(r.failure).toMatchObject({ kind: 'memory-cap', step: 'load a', signal: 'SIGKILL' });
    expect(r.failure!.last_rss_bytes).toBeGreaterThan(150 * MB);
  });

  it('is reported as out of memory when an address-space cap (ulimit -v) makes allocations fail', async () => {
    const r = await run([{ name: 'prepare', dataset: 'a', bytes: 0, die: 'grow' }], { memoryCap: { addressSpaceBytes: 1.5e9 } });
    expect(r.status).toBe('died');
    expect(r.failure).toMatchObject({ kind: 'oom', step: 'prepare a' });
    expect(r.failure!.reason).toMatch(/Array buffer allocation failed/);
  });

  it('is reported with the job error when the job throws', async () => {
    const r = await run([{ name: 'split', dataset: 'x', bytes: MB, die: 'throw' }]);
    expect(r.status).toBe('error');
    expect(r.failure).toMatchObject({ kind: 'job-error', step: 'split x', exit_code: 1 });
    expect(r.failure!.error!.message).toBe('the job failed on purpose');
  });

  it('is killed and reported on timeout', async () => {
    const r = await run([{ name: 'load', dataset: 'a', bytes: MB, hold_ms: 10_000 }], { timeoutMs: 600 });
    expect(r.status).toBe('died');
    expect(r.failure).toMatchObject({ kind: 'timeout', step: 'load a' });
  });

  it('is reported, not thrown, when the job module does not exist', async () => {
    const r = await runChild({ job: { module: resolve('dist/no-such-job.js'), payload: null }, timeoutMs: 10_000 });
    expect(r.status).toBe('error');
    expect(r.failure!.kind).toBe('job-error');
    expect(r.failure!.step).toBeUndefined();
    expect(r.failure!.reason).toMatch(/no-such-job/);
  });
});

describe('sampled RSS in a child (the fallback method)', () => {
  it('labels its figures and still sees each step when the step holds its memory', async () => {
    const steps: AllocateStep[] = [
      { name: 'load', dataset: 'a', bytes: 60 * MB, hold_ms: 50 },
      { name: 'prepare', dataset: 'a', bytes: 20 * MB, hold_ms: 50 },
    ];
    const r = await run(steps, { method: 'sampled-rss' });
    expect(r.status).toBe('ok');
    expect(r.method).toBe('sampled-rss');
    r.steps.forEach((s, i) => {
      const allocated = steps[i]!.bytes;
      expect(Math.abs(s.peak_bytes - allocated) / allocated, `${s.label}: peak ${s.peak_bytes} vs ${allocated}`).toBeLessThan(0.1);
    });
  });

  it('streams the timeline from the child when the parent cannot read /proc', async () => {
    const r = await run([{ name: 'load', dataset: 'a', bytes: 30 * MB, hold_ms: 100 }], { method: 'sampled-rss', timelineFrom: 'child' });
    expect(r.status).toBe('ok');
    expect(r.samples.length).toBeGreaterThan(5);
    expect(Math.max(...r.samples.map(([, b]) => b))).toBeGreaterThan(25 * MB);
    // Sample times are ms since the baseline, in order.
    const times = r.samples.map(([t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(0);
  });
});
