// In-process measurement: the StepRecorder, the sampled fallback, forced GC, leak checks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forceGc } from '../../../src/memory/gc.js';
import { checkLeak, growthPerRepetition } from '../../../src/memory/leak.js';
import { kernelHwmAvailable } from '../../../src/memory/proc.js';
import { memoryLine, StepRecorder } from '../../../src/memory/recorder.js';
import { RssSampler } from '../../../src/memory/sampler.js';

const MB = 1e6;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Block the thread (no JS runs, no timers fire) while holding memory. */
const hold = (ms: number): void => void Atomics.wait(sleepCell, 0, 0, ms);
const filled = (bytes: number): Buffer => Buffer.allocUnsafe(bytes).fill(0x5a);

describe.each([
  ['kernel-hwm', kernelHwmAvailable()],
  ['sampled-rss', true],
] as const)('StepRecorder (%s)', (method, available) => {
  it.skipIf(!available)('records a step: peak of what it allocated, end after it freed, parts, live bytes', async () => {
    const lines: string[] = [];
    const rec = await StepRecorder.create({ method, verbose: (l) => lines.push(l) });
    try {
      expect(rec.method).toBe(method);
      const out = rec.step(
        'tahoe',
        'load',
        () => {
          let b: Buffer | null = filled(60 * MB);
          hold(40);
          const n = b.length;
          b = null;
          return n;
        },
        () => 123,
      );
      expect(out).toBe(60 * MB);
      forceGc();
      rec.step(
        'tahoe',
        'split',
        () => hold(30),
        () => 0,
      );
      const [load, split] = rec.records;
      expect(load).toMatchObject({ dataset: 'tahoe', name: 'load', label: 'load tahoe', live_bytes: 123 });
      expect(load!.peak_bytes).toBeGreaterThan(57 * MB);
      expect(load!.peak_bytes).toBeLessThan(66 * MB);
      expect(load!.array_buffers_bytes).toBeGreaterThanOrEqual(60 * MB);
      expect(load!.end_ms).toBeGreaterThanOrEqual(load!.start_ms + 40);
      // The next step does not inherit the 60 MB peak.
      expect(split!.peak_bytes).toBeLessThan(10 * MB);
      expect(lines[0]).toMatch(
        /^\[MEMORY load tahoe\] Used: -?\d+\.\d{3} GB \| Peak: 0\.0[56]\d GB \| Heap: .* \| External: .* \| ArrayBuffers: .* \| Wasm: 0 B \| Live: 123 B \| GC: \d+ \(/,
      );
      expect(lines).toHaveLength(2);
    } finally {
      await rec.close();
    }
  });
});

describe('StepRecorder', () => {
  it('leaves a failed step as the current step and rethrows', async () => {
    const rec = await StepRecorder.create({ method: 'sampled-rss' });
    try {
      expect(() =>
        rec.step(
          'a',
          'prepare',
          () => {
            throw new Error('boom');
          },
          () => 0,
        ),
      ).toThrow('boom');
      expect(rec.currentStep?.label).toBe('prepare a');
      expect(rec.records).toHaveLength(0);
    } finally {
      await rec.close();
    }
  });

  it('refuses a promise from a synchronous step and measures async steps with stepAsync', async () => {
    const rec = await StepRecorder.create({ method: 'sampled-rss', wasmBytes: () => 4096 });
    try {
      expect(() =>
        rec.step(
          'a',
          'load',
          () => Promise.resolve(1),
          () => 0,
        ),
      ).toThrow(/stepAsync/);
      const v = await rec.stepAsync(
        null,
        'retain',
        async () => 7,
        () => 0,
      );
      expect(v).toBe(7);
      expect(rec.records.at(-1)).toMatchObject({ label: 'retain', dataset: null, wasm_bytes: 4096 });
    } finally {
      await rec.close();
    }
  });

  it('tags records with the repetition', async () => {
    const rec = await StepRecorder.create({ method: 'sampled-rss' });
    try {
      rec.repetition = 2;
      rec.step(
        'a',
        'load',
        () => 0,
        () => 0,
      );
      expect(rec.records[0]!.repetition).toBe(2);
    } finally {
      await rec.close();
    }
  });

  it('formats the print_memory_usage line', () => {
    const line = memoryLine({
      dataset: 'sciplex',
      name: 'prepare',
      label: 'prepare sciplex',
      start_ms: 0,
      end_ms: 1,
      peak_bytes: 262e6,
      end_bytes: 132e6,
      heap_used_bytes: 12e6,
      external_bytes: 120e6,
      array_buffers_bytes: 119e6,
      wasm_bytes: 16e6,
      live_bytes: 130e6,
      gc_count: 3,
      gc_pause_ms: 4.12,
    });
    expect(line).toBe(
      '[MEMORY prepare sciplex] Used: 0.132 GB | Peak: 0.262 GB | Heap: 12 MB | External: 120 MB | ArrayBuffers: 119 MB | Wasm: 16 MB | Live: 130 MB | GC: 3 (4.1 ms)',
    );
  });
});

describe('RssSampler (the fallback off Linux)', () => {
  it('sees a spike inside synchronous work, and a reset forgets it', async () => {
    const s = new RssSampler({ intervalMs: 5 });
    try {
      await s.ready;
      s.reset();
      const r0 = process.memoryUsage.rss();
      let b: Buffer | null = filled(50 * MB);
      // Long enough for the sampler thread to be scheduled on a busy machine.
      hold(150);
      b = null;
      expect(b).toBeNull();
      forceGc();
      // The spike is gone from RSS but not from the sampled peak.
      expect(process.memoryUsage.rss() - r0).toBeLessThan(20 * MB);
      expect(s.peakSinceReset() - r0).toBeGreaterThan(45 * MB);
      s.reset();
      hold(20);
      expect(s.peakSinceReset() - process.memoryUsage.rss()).toBeLessThan(5 * MB);
      expect(s.sampleCount).toBeGreaterThan(5);
    } finally {
      await s.close();
    }
  });
});

describe('forceGc', () => {
  it('returns a dropped buffer to the OS before it returns', () => {
    forceGc();
    const r0 = process.memoryUsage.rss();
    let b: Buffer | null = filled(80 * MB);
    expect(process.memoryUsage.rss() - r0).toBeGreaterThan(75 * MB);
    b = null;
    expect(b).toBeNull();
    forceGc();
    expect(process.memoryUsage.rss() - r0).toBeLessThan(20 * MB);
  });
});

describe('leaks', () => {
  it('growth per repetition is the slope after the warm-up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: -1e9, max: 1e9 }),
        fc.integer({ min: -1e6, max: 1e6 }),
        fc.integer({ min: 3, max: 12 }),
        (base, warmup, slope, k) => {
          const series = Array.from({ length: k }, (_, i) => (i === 0 ? base + warmup : base + slope * i));
          expect(growthPerRepetition(series)).toBeCloseTo(slope, 3);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
    expect(growthPerRepetition([5])).toBe(0);
    expect(growthPerRepetition([5, 12])).toBe(7);
  });

  it('passes work that drops what it made', async () => {
    const r = await checkLeak({
      repetitions: 4,
      limitBytes: 512 * 1024,
      run: () => {
        const rows = Array.from({ length: 20_000 }, (_, i) => ({ i }));
        expect(rows).toHaveLength(20_000);
      },
    });
    expect(r.ok).toBe(true);
    expect(r.retained_bytes).toHaveLength(4);
    expect(r.top_growing).toBeUndefined();
  });

  it('flags work that keeps what it made (HeapDiff naming is tested in a child: test/integration/process/leak.test.ts)', async () => {
    const hoard: Array<{ i: number; s: string }> = [];
    const r = await checkLeak({
      repetitions: 4,
      limitBytes: 100 * 1024,
      heapDiff: false,
      run: (rep) => {
        for (let i = 0; i < 20_000; i++) hoard.push({ i, s: `row ${rep}/${i}` });
      },
    });
    expect(r.ok).toBe(false);
    expect(r.growth_per_repetition_bytes).toBeGreaterThan(500 * 1024);
    expect(r.top_growing).toBeUndefined();
  });
});
