/**
 * Peak resident memory over a stretch of code: the kernel high-water mark on Linux,
 * sampled RSS elsewhere. Both are read synchronously, so a synchronous step is covered.
 */
import type { MeasureMethod } from '../core/report.js';
import { CellbudgetError } from '../core/errors.js';
import { kernelHwmAvailable, readProcStatus, resetHighWaterMark } from './proc.js';
import { RssSampler, type RssSamplerOptions } from './sampler.js';

export type { MeasureMethod };

/** 'auto' picks 'kernel-hwm' where it works and 'sampled-rss' otherwise. */
export type MethodChoice = 'auto' | 'kernel-hwm' | 'sampled-rss';

export interface PeakReading {
  /** Highest RSS between `begin()` and `end()`, absolute bytes. */
  peakBytes: number;
  /** RSS at `end()`, absolute bytes. */
  rssBytes: number;
}

export interface PeakProbe {
  readonly method: Extract<MeasureMethod, 'kernel-hwm' | 'sampled-rss'>;
  /** Resolves once the probe measures (the sampler's worker has taken its first sample). */
  readonly ready: Promise<void>;
  /** Start a window: the peak restarts from the current RSS. */
  begin(): void;
  /** Close the window. */
  end(): PeakReading;
  /** Release the sampler thread, if any. */
  close(): Promise<void>;
}

class KernelHwmProbe implements PeakProbe {
  readonly method = 'kernel-hwm' as const;
  readonly ready = Promise.resolve();

  begin(): void {
    resetHighWaterMark('self');
  }

  end(): PeakReading {
    const s = readProcStatus('self');
    if (!s) {
      throw new CellbudgetError('MEASUREMENT_UNAVAILABLE', '/proc/self/status became unreadable during a measurement.', {
        hint: 'Measure with method "sampled-rss" on this system.',
      });
    }
    return { peakBytes: Math.max(s.hwmBytes, s.rssBytes), rssBytes: s.rssBytes };
  }

  async close(): Promise<void> {}
}

class SampledRssProbe implements PeakProbe {
  readonly method = 'sampled-rss' as const;
  readonly ready: Promise<void>;
  readonly #sampler: RssSampler;

  constructor(opts: RssSamplerOptions) {
    this.#sampler = new RssSampler(opts);
    this.ready = this.#sampler.ready;
  }

  begin(): void {
    this.#sampler.reset();
  }

  end(): PeakReading {
    const rssBytes = process.memoryUsage.rss();
    return { peakBytes: Math.max(this.#sampler.peakSinceReset(), rssBytes), rssBytes };
  }

  close(): Promise<void> {
    return this.#sampler.close();
  }
}

/**
 * A peak probe for this process. `method: 'auto'` (default) uses the kernel high-water
 * mark when /proc/self/clear_refs is writable; forcing 'kernel-hwm' where it is not
 * throws. Await `probe.ready` before the first window; `close()` when done.
 */
export function createPeakProbe(opts: { method?: MethodChoice } & RssSamplerOptions = {}): PeakProbe {
  const choice = opts.method ?? 'auto';
  const { method: _ignored, ...samplerOpts } = opts;
  if (choice === 'kernel-hwm' || (choice === 'auto' && kernelHwmAvailable())) {
    if (!kernelHwmAvailable()) {
      throw new CellbudgetError(
        'MEASUREMENT_UNAVAILABLE',
        'Kernel high-water marks need Linux with a writable /proc/self/clear_refs, which this system does not have.',
        {
          value: process.platform,
          hint: 'Use method "sampled-rss" (or "auto"), whose figures are labelled as sampled.',
        },
      );
    }
    return new KernelHwmProbe();
  }
  return new SampledRssProbe(samplerOpts);
}
