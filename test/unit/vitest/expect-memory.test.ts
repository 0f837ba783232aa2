// The vitest helper: expectMemory(fn).toPeakBelow(limit), the limit_memory counterpart.
import { describe, expect, it } from 'vitest';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { kernelHwmAvailable } from '../../../src/memory/proc.js';
import { expectMemory, MemoryLimitError, measureMemory, memoryMatchers } from '../../../src/vitest/index.js';

expect.extend(memoryMatchers);

const MB = 1e6;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const hold = (ms: number): void => void Atomics.wait(sleepCell, 0, 0, ms);
const filled = (bytes: number): Buffer => Buffer.allocUnsafe(bytes).fill(1);

describe('expectMemory', () => {
  it('passes a small allocation and resolves with the measurement', async () => {
    const m = await expectMemory(() => filled(2 * MB).length).toPeakBelow('24 MB');
    expect(m.value).toBe(2 * MB);
    expect(m.method).toBe(kernelHwmAvailable() ? 'kernel-hwm' : 'sampled-rss');
    expect(m.peakBytes).toBeLessThan(24 * MB);
    expect(m.baselineBytes).toBeGreaterThan(10 * MB);
  });

  it('fails a big allocation with peak, baseline and the biggest contributor', async () => {
    const err = await expectMemory(() => {
      const b = filled(100 * MB);
      return b.length;
    })
      .toPeakBelow('24 MB')
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(MemoryLimitError);
    expect(isCellbudgetError(err)).toBe(true);
    const e = err as MemoryLimitError;
    expect(e.code).toBe('BUDGET_EXCEEDED');
    expect(e.measurement.peakBytes).toBeGreaterThan(95 * MB);
    expect(e.message).toMatch(/expected the call to peak below 24 MB .* it peaked at 10\d(\.\d+)? MB/);
    expect(e.message).toMatch(/baseline: \d+(\.\d+)? MB RSS before the call/);
    // arrayBuffers is named first, with about 100 MB.
    expect(e.message).toMatch(/contributors[^\n]*\n\s+arrayBuffers\s+\+(99|100)(\.\d+)? MB/);
  });

  it('measures async functions across awaits', async () => {
    const m = await measureMemory(async () => {
      const b = filled(40 * MB);
      await new Promise((r) => setTimeout(r, 20));
      return b.length;
    });
    expect(m.peakBytes).toBeGreaterThan(38 * MB);
    expect(m.durationMs).toBeGreaterThanOrEqual(19);
  });

  it('toEndBelow judges what stays resident with the value still held', async () => {
    await expect(expectMemory(() => filled(50 * MB)).toEndBelow('10 MB')).rejects.toThrow(/leave less than 10 MB resident/);
    await expectMemory(() => filled(50 * MB).length).toEndBelow('10 MB');
  });

  it('works with the sampled method (the fallback) when the call holds its memory', async () => {
    const err = await expectMemory(
      () => {
        const b = filled(60 * MB);
        hold(40);
        return b.length;
      },
      { method: 'sampled-rss' },
    )
      .toPeakBelow('20MB')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemoryLimitError);
    expect((err as MemoryLimitError).message).toMatch(/RSS sampled every ~10 ms/);
  });

  it('rejects a limit that is not a size', async () => {
    await expect(expectMemory(() => 0).toPeakBelow('lots')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('passes errors of the function through', async () => {
    await expect(
      expectMemory(() => {
        throw new Error('inner');
      }).toPeakBelow('1 GB'),
    ).rejects.toThrow('inner');
  });
});

describe('memoryMatchers (expect.extend)', () => {
  it('passes and fails like expectMemory', async () => {
    await expect(() => filled(MB).length).toPeakBelow('24 MB');
    await expect(expect(() => filled(60 * MB).length).toPeakBelow('24 MB')).rejects.toThrow(
      /peak below 24 MB .* it reached \d+(\.\d+)? MB[\s\S]*arrayBuffers/,
    );
    await expect(() => filled(60 * MB).length).not.toPeakBelow('24 MB');
    await expect(() => filled(30 * MB)).not.toEndBelow('10 MB');
  });
});
