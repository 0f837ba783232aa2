/**
 * How well the harness measures: a calibration job allocates known amounts per step in a
 * fresh child; the table shows each step's measured peak against what it allocated, for
 * both methods. Then allocator retention (docs/measurement.md#live-bytes-and-allocator-retention): 200 MB in arrays of 3.4 KB, 66 KB
 * and 660 KB, dropped, and what RSS keeps afterwards, with and without a fixed mmap
 * threshold. Prints figures; asserts nothing.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AllocateStep } from '../harness/process/jobs/allocate.js';
import { runChild } from '../harness/process/spawn.js';
import { kernelHwmAvailable } from '../src/memory/proc.js';

const MB = 1e6;
const JOB = join(dirname(fileURLToPath(import.meta.url)), '..', 'harness', 'process', 'jobs', 'allocate.js');
const MMAP_ENV = { MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '0' };
const fmt = (b: number): string => (b / MB).toFixed(2).padStart(8);

async function calibration(): Promise<void> {
  const sizes = [40, 120, 80, 10, 400, 25];
  const steps: AllocateStep[] = sizes.map((mb, i) => ({ name: i % 2 ? 'prepare' : 'load', dataset: `s${i}`, bytes: mb * MB, hold_ms: 50 }));
  const methods = kernelHwmAvailable() ? (['kernel-hwm', 'sampled-rss'] as const) : (['sampled-rss'] as const);
  process.stdout.write('per-step peak (MB, net of baseline) vs allocated; arrays of 8 MiB held 50 ms; MALLOC_MMAP_THRESHOLD_=65536\n');
  process.stdout.write(`${'method'.padEnd(12)} ${'baseline'.padStart(8)} ${sizes.map((s) => `${s} MB`.padStart(16)).join('')}\n`);
  for (const method of methods) {
    for (let run = 0; run < 3; run++) {
      const r = await runChild({ job: { module: JOB, payload: { steps }, method }, env: MMAP_ENV, timeoutMs: 120_000 });
      if (r.status !== 'ok') {
        process.stdout.write(`${method}: ${r.failure?.reason}\n`);
        continue;
      }
      const cells = r.steps.map((s, i) => {
        const err = ((s.peak_bytes - sizes[i]! * MB) / (sizes[i]! * MB)) * 100;
        return `${fmt(s.peak_bytes)} (${err >= 0 ? '+' : ''}${err.toFixed(1)}%)`.padStart(16);
      });
      process.stdout.write(`${method.padEnd(12)} ${fmt(r.baseline!.rss_bytes)} ${cells.join('')}\n`);
    }
  }
}

async function retention(): Promise<void> {
  process.stdout.write(
    '\nallocator retention: 200 MB in arrays of the given size, all dropped + forced GC; RSS (MB, net) at the end of the next, empty step\n',
  );
  process.stdout.write(`${'array size'.padEnd(12)} ${'default malloc'.padStart(16)} ${'mmap 64 KiB'.padStart(16)}\n`);
  for (const chunk of [3400, 66_000, 660_000]) {
    const cells: string[] = [];
    for (const env of [{}, MMAP_ENV]) {
      const steps: AllocateStep[] = [
        { name: 'load', dataset: 'a', bytes: 200 * MB, chunk_bytes: chunk },
        { name: 'delete-raw', dataset: 'a', bytes: 0 },
      ];
      const r = await runChild({ job: { module: JOB, payload: { steps } }, env, timeoutMs: 120_000 });
      cells.push(r.status === 'ok' ? fmt(r.steps[1]!.end_bytes).padStart(16) : 'died'.padStart(16));
    }
    process.stdout.write(`${`${chunk / 1000} kB`.padEnd(12)} ${cells.join(' ')}\n`);
  }
}

await calibration();
await retention();
