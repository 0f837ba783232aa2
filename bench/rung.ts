/**
 * Rungs of a real file: the time to choose whole conditions and write a rung, and the peak RSS
 * of the process doing it, per scale. The source is `--from FILE` with `--config` (a pipeline
 * config; default: the synthetic datasets' keys, split by drug 0.7/0.15/0.15), or a synthetic
 * Tahoe-like file written first (`--size 2GB`, 342 features, 50 cell lines x 380 drugs x 3
 * doses) into a temporary directory and deleted after. Each scale runs in its own child
 * process (fresh baseline, measured after HDF5 is loaded); the rung goes to the temporary
 * directory. Also times a cached rung's reuse (the source's identity check). Prints figures;
 * asserts nothing.
 *
 *   node --expose-gc dist/bench/rung.js [--from FILE --config CONFIG.json] [--size 2GB] [--scales 0.03125,0.0625]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rungFile } from '../harness/run/rungs.js';
import { formatBytes } from '../src/core/units.js';
import { h5Ready, wasmHeapBytes } from '../src/h5ad/file.js';
import { openH5ad } from '../src/h5ad/source.js';
import { writeRowSubset } from '../src/h5ad/subset.js';
import { synthesize } from '../src/h5ad/synth.js';
import { writerWasmHeapBytes } from '../src/h5ad/write.js';
import { readProcStatus } from '../src/memory/proc.js';
import { parsePipelineConfig, type PipelineConfig } from '../src/pipeline/config.js';
import { conditionKeys, selectConditions } from '../src/scenario/subsample.js';

const DEFAULT_PIPELINE = {
  dist_flag_key: 'control',
  src_dist_keys: ['cell_line'],
  tgt_dist_keys: ['drug', 'dosage'],
  data_location: ['obsm', 'X_pca'],
  split: { split_by: ['drug'], ratios: [0.7, 0.15, 0.15] },
};

interface RungFigures {
  scale: number;
  reachedScale: number;
  bytesScale: number;
  cells: number;
  conditions: string;
  selectSeconds: number;
  writeSeconds: number;
  fileBytes: number;
  baselineRssBytes: number | null;
  peakRssBytes: number | null;
  readerWasmBytes: number;
  writerWasmBytes: number;
}

/** One rung in this process: select, then write; VmHWM of the whole process after. */
async function measureRung(source: string, pipeline: PipelineConfig, scale: number, out: string): Promise<RungFigures> {
  await h5Ready();
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = readProcStatus()?.rssBytes ?? null;
  const t0 = performance.now();
  const src = openH5ad(source);
  let selection: ReturnType<typeof selectConditions>;
  try {
    selection = selectConditions(src, conditionKeys({ name: 'bench' }, pipeline, 'bench'), scale);
  } finally {
    src.close();
  }
  const t1 = performance.now();
  const written = await writeRowSubset(source, selection.rows, out);
  const t2 = performance.now();
  const full = written.matrices.reduce((a, m) => a + m.fullBytes, 0);
  const kept = written.matrices.reduce((a, m) => a + m.keptBytes, 0);
  return {
    scale,
    reachedScale: selection.reachedScale,
    bytesScale: full > 0 ? kept / full : selection.reachedScale,
    cells: selection.cells,
    conditions: `${selection.conditions.kept}/${selection.conditions.total} (${selection.axes.map((a) => `${a.kept} ${a.columns.join('+')}`).join(' x ')})`,
    selectSeconds: (t1 - t0) / 1000,
    writeSeconds: (t2 - t1) / 1000,
    fileBytes: written.fileBytes,
    baselineRssBytes: baseline,
    peakRssBytes: readProcStatus()?.hwmBytes ?? null,
    readerWasmBytes: wasmHeapBytes(),
    writerWasmBytes: writerWasmHeapBytes(),
  };
}

const fmt = (b: number | null): string => (b === null ? '?' : formatBytes(b));

export async function runRungBench(opts: { from?: string; config?: string; size?: string; scales?: number[] }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cellbudget-bench-rung-'));
  const self = fileURLToPath(import.meta.url);
  try {
    let source = opts.from;
    if (source === undefined) {
      source = join(dir, 'source.h5ad');
      const size = opts.size ?? '2GB';
      process.stdout.write(`writing a synthetic source: ${size}, 342 features, 50 cell lines x 380 drugs x 3 doses ...\n`);
      const s = await synthesize({ size, features: 342, cellLines: 50, drugs: 380 }, source);
      process.stdout.write(
        `  ${s.spec.cells.toLocaleString('en-US')} cells, ${formatBytes(s.fileBytes)} on disk, ${s.seconds.toFixed(1)} s\n`,
      );
    }
    const configPath = opts.config;
    const pipelineJson = configPath ? readFileSync(configPath, 'utf8') : JSON.stringify(DEFAULT_PIPELINE);
    process.stdout.write(`rung benchmark: ${source}\n`);
    process.stdout.write(
      `  ${'scale'.padEnd(8)} ${'reached'.padStart(8)} ${'bytes'.padStart(8)} ${'cells'.padStart(10)} ${'select s'.padStart(8)} ${'write s'.padStart(8)} ${'file'.padStart(9)} ${'baseline'.padStart(9)} ${'peak RSS'.padStart(9)} ${'wasm r/w'.padStart(17)}  conditions\n`,
    );
    for (const scale of opts.scales ?? [1 / 32, 1 / 16]) {
      const out = join(dir, `rung-${scale}.h5ad`);
      const child = spawnSync(process.execPath, ['--expose-gc', self, '--child', source, String(scale), out], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        input: pipelineJson,
      });
      if (child.status !== 0) {
        process.stdout.write(`  ${scale}: child failed (${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
        continue;
      }
      const f = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as RungFigures;
      process.stdout.write(
        `  ${String(+scale.toPrecision(4)).padEnd(8)} ${f.reachedScale.toFixed(4).padStart(8)} ${f.bytesScale.toFixed(4).padStart(8)} ${f.cells.toLocaleString('en-US').padStart(10)} ${f.selectSeconds.toFixed(2).padStart(8)} ${f.writeSeconds.toFixed(2).padStart(8)} ${fmt(f.fileBytes).padStart(9)} ${fmt(f.baselineRssBytes).padStart(9)} ${fmt(f.peakRssBytes).padStart(9)} ${`${fmt(f.readerWasmBytes)}/${fmt(f.writerWasmBytes)}`.padStart(17)}  ${f.conditions}\n`,
      );
      rmSync(out, { force: true });
    }
    // A cached rung: written once, then found again (size, mtime and sampled SHA-256 of the source).
    const cache = join(dir, 'cache');
    const pipeline = parsePipelineConfig(JSON.parse(pipelineJson));
    const request = { dataset: { name: 'bench', file: source }, pipeline };
    const scale = (opts.scales ?? [1 / 32])[0]!;
    const t0 = performance.now();
    await rungFile(request, scale, cache);
    const t1 = performance.now();
    const again = await rungFile(request, scale, cache);
    const t2 = performance.now();
    process.stdout.write(
      `  cache at ${+scale.toPrecision(4)}: written (with its SHA-256) in ${((t1 - t0) / 1000).toFixed(2)} s, ${again.outcome.action} in ${((t2 - t1) / 1000).toFixed(3)} s\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const childAt = args.indexOf('--child');
  if (childAt >= 0) {
    const [source, scale, out] = args.slice(childAt + 1);
    const pipeline = parsePipelineConfig(JSON.parse(readFileSync(0, 'utf8')));
    const f = await measureRung(source!, pipeline, Number(scale), out!);
    process.stdout.write(`${JSON.stringify(f)}\n`);
  } else {
    const at = (flag: string): string | undefined => {
      const i = args.indexOf(flag);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const from = at('--from');
    const config = at('--config');
    const size = at('--size');
    const scales = at('--scales');
    await runRungBench({
      ...(from ? { from } : {}),
      ...(config ? { config } : {}),
      ...(size ? { size } : {}),
      ...(scales ? { scales: scales.split(',').map(Number) } : {}),
    });
  }
}
