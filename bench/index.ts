/**
 * `npm run bench`: every benchmark, each in its own node process (fresh baseline). A
 * benchmark prints its figures; none asserts a time. `npm run bench -- pipeline read`
 * runs only those; options after the names go to each (`npm run bench -- prepare --runs 3`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const BENCHES: Array<{ name: string; file: string; about: string }> = [
  { name: 'read', file: 'read.js', about: 'h5ad read throughput (cold/warm) and peak RSS vs matrix size' },
  { name: 'synth', file: 'synth-write.js', about: 'synthetic h5ad write throughput and peak RSS' },
  {
    name: 'rung',
    file: 'rung.js',
    about: 'rungs of a real file (whole conditions): select and write time, peak RSS, cached reuse; 2 GB Tahoe-like source',
  },
  { name: 'pipeline', file: 'pipeline.js', about: 'read / plan / group / split throughput and per-stage peak RSS, 100k–4M cells' },
  {
    name: 'prepare',
    file: 'prepare.js',
    about: 'split --digest vs the Python reference on equal work; read floor vs h5py; 100k/1M/4M scaling; harness overhead',
  },
  { name: 'streaming', file: 'streaming.js', about: 'streaming vs selective: peak, final and time' },
  {
    name: 'prepare-store',
    file: 'prepare-store.js',
    about:
      '`cellbudget prepare` (the training store) on 0.5-4 GB dense/gzip/CSR matrices: peak, final, write throughput vs read floor, store size; beside selective and streaming',
  },
  {
    name: 'memory',
    file: 'memory-calibration.js',
    about: 'measured step peaks vs known allocations (both methods); allocator retention by array size',
  },
  { name: 'command', file: 'command-vs-builtin.js', about: 'a scenario run as the built-in strategy and as a command, side by side' },
  {
    name: 'ingest',
    file: 'ingest.js',
    about: '`cellbudget ingest` of 10k / 100k / 200k [MEMORY] markers: wall time and µs per marker (linear)',
  },
  {
    name: 'projection',
    file: 'projection.js',
    about: 'full-scale projection from ladders (top rungs 1/16, 1/32, 1/64) vs a real scale-1 run of two 2 GB datasets',
  },
];

// `npm run bench -- prepare read --runs 3`: names first, then options, which go to each benchmark.
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
const forwarded = firstOption < 0 ? [] : args.slice(firstOption);
const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${BENCHES.map((b) => b.name).join(', ')}\n`);
  process.exitCode = 2;
} else {
  let failed = 0;
  for (const b of BENCHES) {
    if (wanted.length > 0 && !wanted.includes(b.name)) continue;
    const file = join(here, b.file);
    if (!existsSync(file)) continue;
    process.stdout.write(`\n=== ${b.name}: ${b.about} ===\n`);
    const r = spawnSync(process.execPath, ['--expose-gc', file, ...forwarded], { stdio: 'inherit' });
    if (r.status !== 0) {
      failed++;
      process.stderr.write(`benchmark ${b.name} exited with ${r.status ?? r.signal}\n`);
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}
