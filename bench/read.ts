/**
 * h5ad read throughput: a 200 MB+ dense float32 representation, contiguous and chunked
 * gzip, read whole through `openH5ad().readRows` into one preallocated array, cold (page
 * cache dropped, when root) and warm. Prints MB/s and the process's peak RSS (VmHWM, reset
 * before each read) against the matrix's own size. Figures only; nothing is asserted.
 *
 *   node dist/bench/read.js [--rows N] [--cols N] [--dir DIR]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openH5ad, wasmHeapBytes, WINDOW_BYTES } from '../src/h5ad/index.js';
import { h5Ready } from '../src/h5ad/file.js';
import { readProcStatus, resetHighWaterMark } from '../src/memory/proc.js';

const PY = '/usr/bin/python3';
const MB = 1e6;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

const rows = Number(arg('rows', '1100000'));
const cols = Number(arg('cols', '50'));
const dir = arg('dir', '/tmp/cellbudget-bench');

const MAKE = `
import sys, numpy as np, h5py
path, rows, cols, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
def enc(o, t, v='0.2.0'):
    o.attrs['encoding-type'] = t; o.attrs['encoding-version'] = v
with h5py.File(path, 'w') as f:
    enc(f, 'anndata', '0.1.0')
    obs = f.create_group('obs'); enc(obs, 'dataframe'); obs.attrs['_index'] = '_index'
    obs.attrs['column-order'] = np.array([], dtype='float64')
    enc(obs.create_dataset('_index', data=np.char.add('c', np.arange(rows).astype(str)).astype(object), dtype=h5py.string_dtype()), 'string-array')
    obsm = f.create_group('obsm'); enc(obsm, 'dict', '0.1.0')
    kw = dict(chunks=(16384, cols), compression='gzip') if mode == 'gzip' else {}
    d = obsm.create_dataset('X_pca', shape=(rows, cols), dtype='float32', **kw)
    step = 100000
    for a in range(0, rows, step):
        b = min(rows, a + step)
        d[a:b] = rng.standard_normal((b - a, cols)).astype('float32')
    enc(d, 'array')
`;

// HDF5 (WebAssembly) loads on first use; every read below is synchronous.
await h5Ready();

function ensureFile(mode: 'contiguous' | 'gzip'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `read-${rows}x${cols}-${mode}.h5ad`);
  if (!existsSync(path)) {
    process.stdout.write(`writing ${path} with h5py ...\n`);
    const r = spawnSync(PY, ['-c', MAKE, path, String(rows), String(cols), mode], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`could not write ${path} (needs ${PY} with h5py)`);
  }
  return path;
}

function dropCaches(): boolean {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

function readOnce(path: string, out: Float32Array): { seconds: number; peakBytes: number; baseBytes: number } {
  const base = readProcStatus()?.rssBytes ?? 0;
  resetHighWaterMark();
  const t0 = process.hrtime.bigint();
  const src = openH5ad(path);
  try {
    src.readRows(['obsm', 'X_pca'], 0, src.nObs, out);
  } finally {
    src.close();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, peakBytes: readProcStatus()?.hwmBytes ?? 0, baseBytes: base };
}

const fmt = (b: number): string => `${(b / MB).toFixed(1)} MB`;

const matrixBytes = rows * cols * 4;
process.stdout.write(`matrix: ${rows} x ${cols} float32 = ${fmt(matrixBytes)}\n`);
const paths = { contiguous: ensureFile('contiguous'), gzip: ensureFile('gzip') };
const idle = readProcStatus()?.rssBytes ?? 0;
// One output array for every read, written once so its pages are resident before measuring:
// what a read adds above idle + matrix is then the reader's own cost.
const out = new Float32Array(rows * cols);
out.fill(1);
process.stdout.write(
  `idle RSS (runtime + modules): ${fmt(idle)}; with the output array resident: ${fmt(readProcStatus()?.rssBytes ?? 0)}\n`,
);
for (const mode of ['contiguous', 'gzip'] as const) {
  const path = paths[mode];
  const heapBefore = wasmHeapBytes();
  const dropped = dropCaches();
  const cold = readOnce(path, out);
  const warm = readOnce(path, out);
  const peak = Math.max(cold.peakBytes, warm.peakBytes);
  process.stdout.write(
    [
      `${mode}: file ${fmt(statSync(path).size)} on disk`,
      `  cold: ${dropped ? `${(matrixBytes / MB / cold.seconds).toFixed(0)} MB/s (${cold.seconds.toFixed(2)} s, page cache dropped)` : 'n/a (cannot drop caches: not root)'}`,
      `  warm: ${(matrixBytes / MB / warm.seconds).toFixed(0)} MB/s (${warm.seconds.toFixed(2)} s)`,
      `  peak RSS while reading (VmHWM): cold ${fmt(cold.peakBytes)}, warm ${fmt(warm.peakBytes)}; matrix ${fmt(matrixBytes)}; peak - idle = ${fmt(peak - idle)} = ${((peak - idle) / matrixBytes).toFixed(2)} x matrix`,
      `  WebAssembly heap: ${fmt(heapBefore)} before, ${fmt(wasmHeapBytes())} after (read window ${fmt(WINDOW_BYTES)})`,
      '',
    ].join('\n'),
  );
}
