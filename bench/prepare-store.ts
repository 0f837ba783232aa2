/**
 * `cellbudget prepare` (the training store) against the matrix's size and against the
 * selective and streaming strategies on the same file: 0.5 / 1 / 2 / 4 GB representations,
 * dense contiguous, gzip-chunked and CSR, generated with `cellbudget synth`.
 *
 * Every figure comes from a fresh measuring child (the harness's: the same warm-up, allocator
 * and V8 settings as a scenario's run), as the kernel high-water mark net of the child's idle
 * baseline: `prepare` through bench/jobs/prepare-store.ts, the strategies through their job on
 * a one-dataset scenario (the primary: it keeps train/val/test). Beside them:
 *   read floor   seconds to read every row of the matrix through the same reader, in the same
 *                windows, doing nothing with it (this process, best of 2, page cache warm)
 *   write floor  seconds to write the matrix's bytes to one file in 16 MB writes (this process)
 *   write        the store's stream step: rows read, gathered and written, MB/s of rows
 *   store        bytes of the store's files (chunk padding, metadata, obs index included)
 * Files: ~1,700 cells per (cell line, drug, dose), as Tahoe (real per-distribution sizes): 10 cell lines × 3
 * doses × (size-dependent) drugs. Dense: 342 float32 features at obsm/X_pca; CSR: 2,000 genes at
 * X, density 0.1, its "size" the dense rows the store holds (the CSR itself is ~20% of it).
 * Each input and store is deleted after its row (--keep keeps the inputs).
 *
 *   node --expose-gc dist/bench/prepare-store.js [--sizes 0.5GB,1GB,2GB,4GB] [--layouts dense,gzip,csr]
 *        [--strategies selective,streaming] [--dir DIR] [--keep]
 *
 * Prints figures; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocFloat, itemSize, readDtype } from '../src/core/data.js';
import { formatTable } from '../src/core/table.js';
import { formatBytes, parseBytes } from '../src/core/units.js';
import { h5Ready } from '../src/h5ad/file.js';
import { withH5ad } from '../src/h5ad/source.js';
import type { PipelineConfig } from '../src/pipeline/config.js';
import { sourceRows, windowRows } from '../src/pipeline/grouping.js';
import { STORE_WINDOW_BYTES, type PreparedStore } from '../src/store/prepare.js';
import { runChild, type ChildRunResult } from '../harness/process/spawn.js';
import { MEASUREMENT_ENV, MEASUREMENT_NODE_ARGS } from '../harness/run/run.js';
import type { PrepareStoreJobPayload } from './jobs/prepare-store.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '..', '..');
const BIN = join(ROOT, 'bin', 'cellbudget.js');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const sizes = (arg('sizes') ?? '0.5GB,1GB,2GB,4GB').split(',').map((s) => ({ label: s, bytes: parseBytes(s, '--sizes') }));
const layouts = (arg('layouts') ?? 'dense,gzip,csr').split(',') as Array<'dense' | 'gzip' | 'csr'>;
const strategies = (arg('strategies') ?? 'selective,streaming').split(',').filter(Boolean);
const dir = resolve(arg('dir') ?? '/tmp/cellbudget-bench/prepare-store');
const keep = process.argv.includes('--keep');

const DENSE_FEATURES = 342;
const CSR_FEATURES = 2000;
const CELLS_PER_CONDITION = 1700;

function configFor(layout: string): PipelineConfig {
  return {
    dist_flag_key: 'control',
    src_dist_keys: ['cell_line'],
    tgt_dist_keys: ['drug', 'dosage'],
    rep_keys: { cell_line: 'cell_line_embeddings', drug: 'drug_embeddings' },
    data_location: layout === 'csr' ? ['X'] : ['obsm', 'X_pca'],
    split: { split_by: ['drug'], ratios: [0.6, 0.2, 0.2], random_state: 42, holdout_combinations: false, force_training_values: {} },
  };
}

/** Generate the input with `cellbudget synth` (reused when present). */
function input(layout: 'dense' | 'gzip' | 'csr', bytes: number, label: string): { file: string; cells: number } {
  const features = layout === 'csr' ? CSR_FEATURES : DENSE_FEATURES;
  const cells = Math.floor(bytes / (features * 4));
  const drugs = Math.max(5, Math.round(cells / (CELLS_PER_CONDITION * 10 * 3)));
  const file = join(dir, `${layout}-${label}.h5ad`);
  if (!existsSync(file)) {
    const args = [
      'synth',
      '--out',
      file,
      '--cells',
      String(cells),
      '--features',
      String(features),
      '--cell-lines',
      '10',
      '--drugs',
      String(drugs),
    ];
    if (layout === 'gzip') args.push('--compression', 'gzip');
    if (layout === 'csr') args.push('--format', 'csr', '--location', 'X', '--density', '0.1');
    process.stdout.write(`generating ${file} (${cells.toLocaleString('en-US')} cells, ${drugs} drugs) ...\n`);
    const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`cellbudget synth failed for ${file}`);
  }
  return { file, cells };
}

/** Seconds to read every row as prepare reads them (same windows, into one buffer); best of 2. */
function readFloor(file: string, location: readonly string[]): number {
  return withH5ad(file, (src) => {
    const info = src.matrixInfo(location);
    const dtype = readDtype(info.dtype);
    const cols = info.shape[1];
    const window = windowRows(cols * itemSize(dtype), sourceRows(src, location).chunkRows, STORE_WINDOW_BYTES);
    const buffer = allocFloat(dtype, window * cols);
    let best = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 2; run++) {
      const t = performance.now();
      for (let a = 0; a < info.shape[0]; a += window) {
        const b = Math.min(info.shape[0], a + window);
        src.readRows(location, a, b, buffer.subarray(0, (b - a) * cols));
      }
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    return best;
  });
}

/** Seconds to write `bytes` to one new file in 16 MB writes (the file system's own pace, page cache included). */
function writeFloor(bytes: number): number {
  const path = join(dir, 'write-floor.tmp');
  const block = new Uint8Array(STORE_WINDOW_BYTES).fill(1);
  const t = performance.now();
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - done));
  } finally {
    closeSync(fd);
  }
  const s = (performance.now() - t) / 1000;
  rmSync(path, { force: true });
  return s;
}

async function measure<R>(module: string, payload: unknown): Promise<ChildRunResult<R>> {
  const r = await runChild<R>({ job: { module, payload }, env: { ...MEASUREMENT_ENV }, nodeArgs: [...MEASUREMENT_NODE_ARGS] });
  if (r.status !== 'ok') throw new Error(`${module}: ${r.status} ${r.failure?.reason ?? ''} ${r.failure?.stderr_tail ?? ''}`);
  return r;
}

const mb = (b: number): string => formatBytes(b);
const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)}%`;

await h5Ready();
mkdirSync(dir, { recursive: true });
const PREPARE_JOB = join(here, 'jobs', 'prepare-store.js');
const STRATEGY_JOB = join(ROOT, 'dist', 'harness', 'process', 'jobs', 'strategy.js');

process.stdout.write(
  `prepare-store: ${layouts.join(', ')} at ${sizes.map((s) => s.label).join(', ')}; figures are kernel high-water marks net of each child's idle baseline; ` +
    `the machine is shared (2 cores), so times are indicative\n`,
);
for (const layout of layouts) {
  const rows: string[][] = [];
  for (const size of sizes) {
    const { file, cells } = input(layout, size.bytes, size.label);
    const config = configFor(layout);
    const out = join(dir, `${layout}-${size.label}.zarr`);
    const matrixBytes =
      Math.floor(size.bytes / ((layout === 'csr' ? CSR_FEATURES : DENSE_FEATURES) * 4)) *
      (layout === 'csr' ? CSR_FEATURES : DENSE_FEATURES) *
      4;
    const floor = readFloor(file, config.data_location);
    const wfloor = writeFloor(matrixBytes);
    const payload: PrepareStoreJobPayload = { file, pipeline: config, out };
    const p = await measure<PreparedStore>(PREPARE_JOB, payload);
    const stream = p.steps.find((s) => s.name === 'stream')!;
    const streamSeconds = (stream.end_ms - stream.start_ms) / 1000;
    const store = p.result!;
    rmSync(out, { recursive: true, force: true });
    const strat: string[] = [];
    for (const s of strategies) {
      try {
        const r = await measure(STRATEGY_JOB, {
          scenario: 'prepare-store',
          strategy: s,
          datasets: [{ name: 'data', file }],
          pipeline: config,
          repeat: 1,
        });
        strat.push(`${mb(r.peak_bytes)} / ${mb(r.final_bytes)}`);
      } catch (e) {
        // A strategy that fails is a finding of its own: say so in its column, measure the rest.
        process.stdout.write(`${layout} ${size.label} ${s} failed: ${(e as Error).message.split('\n')[0]}\n`);
        strat.push('failed');
      }
    }
    rows.push([
      size.label,
      cells.toLocaleString('en-US'),
      String(store.targets),
      mb(statSync(file).size),
      mb(p.peak_bytes),
      mb(p.final_bytes),
      pct(p.peak_bytes, matrixBytes),
      ...strat,
      `${streamSeconds.toFixed(1)} s`,
      `${(store.dataBytes / 1e6 / streamSeconds).toFixed(0)} MB/s`,
      `${floor.toFixed(2)} s (${(matrixBytes / 1e6 / floor).toFixed(0)} MB/s)`,
      `${wfloor.toFixed(2)} s (${(matrixBytes / 1e6 / wfloor).toFixed(0)} MB/s)`,
      `${(p.duration_ms / 1000).toFixed(1)} s`,
      `${mb(store.storeBytes)} (${pct(store.storeBytes, matrixBytes)})`,
      mb(p.baseline?.rss_bytes ?? 0),
    ]);
    process.stdout.write(`${layout} ${size.label}: ${rows.at(-1)!.join(' | ')}\n`);
    if (!keep) rmSync(file, { force: true });
  }
  process.stdout.write(
    `\n${layout}${layout === 'csr' ? ' (size = the dense rows the store holds; the CSR is ~20% of it)' : ''}:\n${formatTable(rows, {
      head: [
        'matrix',
        'cells',
        'targets',
        'file',
        'prepare peak',
        'prepare final',
        'peak/matrix',
        ...strategies.map((s) => `${s} peak / final`),
        'stream step',
        'rows written',
        'read floor',
        'write floor',
        'prepare (process)',
        'store (of matrix)',
        'idle baseline',
      ],
      rule: true,
    })}\n`,
  );
}
