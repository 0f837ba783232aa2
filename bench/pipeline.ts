/**
 * Pipeline throughput and per-stage peak RSS on synthetic files of 100k, 1M and 4M cells
 * × 50 float32 features (generated once into .cache/bench/ with `synthesize()`).
 *
 * Each size runs in its own child process (fresh baseline). Stages, in order:
 *   read      source.readMatrix (the whole representation into memory: "load")
 *   group     planGroups (obs only) + materialize from the in-memory matrix (the copy)
 *   split     assignSplits + splitGrouped (references, no copies)
 *   digest    splitDigest of each split (hashing every kept byte)
 * and, in a second child, `windowed`: planGroups + materialize through row windows, without
 * loading the matrix (what a streaming strategy can do). Peak RSS per stage is the kernel high-water mark (VmHWM) after a reset at the stage start.
 * Prints figures; asserts nothing.
 *
 *   node --expose-gc dist/bench/pipeline.js [--sizes 100k,1M,4M] [--cache .cache/bench]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withH5ad } from '../src/h5ad/source.js';
import { h5Ready } from '../src/h5ad/file.js';
import { synthesize } from '../src/h5ad/synth.js';
import { readProcStatus, resetHighWaterMark } from '../src/memory/proc.js';
import type { PipelineConfig } from '../src/pipeline/config.js';
import { materialize, planGroups } from '../src/pipeline/grouping.js';
import { assignSplits, splitDigest, splitGrouped } from '../src/pipeline/splitter.js';
import { SPLITS } from '../src/core/names.js';
import { formatBytes } from '../src/core/units.js';
import { formatTable } from '../src/core/table.js';

// HDF5 (WebAssembly) loads on first use; every read below is synchronous.
await h5Ready();

const FEATURES = 50;

/** The DataManager/split config for synthesize()'d files. */
export const SYNTH_PIPELINE_CONFIG: PipelineConfig = {
  dist_flag_key: 'control',
  src_dist_keys: ['cell_line'],
  tgt_dist_keys: ['drug', 'dosage'],
  rep_keys: { drug: 'drug_embeddings', cell_line: 'cell_line_embeddings' },
  data_location: ['obsm', 'X_pca'],
  split: { split_by: ['drug'], ratios: [0.6, 0.2, 0.2], random_state: 0, holdout_combinations: false, force_training_values: {} },
};

function parseCells(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}`);
  return Math.round(Number(m[1]) * (m[2]?.toLowerCase() === 'k' ? 1e3 : m[2]?.toLowerCase() === 'm' ? 1e6 : 1));
}

/** The cached synthetic file for `cells` cells, generated when absent. */
export async function benchFile(cacheDir: string, cells: number): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `pipeline-${cells}x${FEATURES}-f32.h5ad`);
  if (!existsSync(path)) {
    const t0 = performance.now();
    const r = await synthesize({ cells, features: FEATURES, dtype: 'float32', seed: 1 }, path);
    process.stdout.write(`generated ${path}: ${formatBytes(r.fileBytes)} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  return path;
}

interface StageFigure {
  stage: string;
  seconds: number;
  peakRssBytes: number | null;
  rssAfterBytes: number | null;
}

function stage<T>(name: string, figures: StageFigure[], fn: () => T): T {
  (globalThis as { gc?: () => void }).gc?.();
  const hwm = resetHighWaterMark();
  const t0 = performance.now();
  const out = fn();
  const seconds = (performance.now() - t0) / 1000;
  const st = readProcStatus();
  figures.push({ stage: name, seconds, peakRssBytes: hwm && st ? st.hwmBytes : null, rssAfterBytes: st ? st.rssBytes : null });
  return out;
}

/** Run the stages on one file in this process; returns the figures as JSON-able data. */
export function measureFile(
  path: string,
  mode: 'full' | 'windowed' = 'full',
): { cells: number; matrixBytes: number; baselineRssBytes: number | null; figures: StageFigure[] } {
  const config = SYNTH_PIPELINE_CONFIG;
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = readProcStatus()?.rssBytes ?? null;
  const figures: StageFigure[] = [];
  return withH5ad(path, (src) => {
    const info = src.matrixInfo(config.data_location);
    if (mode === 'windowed') {
      stage('windowed', figures, () =>
        materialize(planGroups(config, src), { readRows: (s, e, out) => src.readRows(config.data_location, s, e, out) }),
      );
      return { cells: src.nObs, matrixBytes: info.memoryBytes, baselineRssBytes: baseline, figures };
    }
    const matrix = stage('read', figures, () => src.readMatrix(config.data_location));
    const plan = stage('plan', figures, () => planGroups(config, src));
    const gd = stage('group', figures, () => materialize(plan, matrix));
    const splits = stage('split', figures, () => splitGrouped(gd, assignSplits(plan, config.split)));
    stage('digest', figures, () => SPLITS.map((s) => splitDigest(splits[s])));
    return { cells: src.nObs, matrixBytes: info.memoryBytes, baselineRssBytes: baseline, figures };
  });
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0);
}

/** Generate (if needed) and measure each size, each in a child process; print a table. */
export async function runPipelineBench(opts: { sizes?: readonly number[]; cacheDir?: string } = {}): Promise<void> {
  const sizes = opts.sizes ?? [100_000, 1_000_000, 4_000_000];
  const cacheDir = resolve(opts.cacheDir ?? '.cache/bench');
  const self = fileURLToPath(import.meta.url);
  process.stdout.write(
    `pipeline benchmark: ${sizes.join(', ')} cells x ${FEATURES} float32 (peak RSS = VmHWM per stage, includes the process baseline)\n`,
  );
  for (const cells of sizes) {
    const path = await benchFile(cacheDir, cells);
    const runs: ReturnType<typeof measureFile>[] = [];
    for (const mode of ['full', 'windowed']) {
      const child = spawnSync(process.execPath, ['--expose-gc', self, '--child', path, mode], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (child.status !== 0) {
        process.stdout.write(
          `  ${cells} cells (${mode}): child failed (${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}\n`,
        );
        continue;
      }
      runs.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as ReturnType<typeof measureFile>);
    }
    const r = runs[0];
    if (!r) continue;
    for (const extra of runs.slice(1)) r.figures.push(...extra.figures);
    process.stdout.write(
      `\n${r.cells} cells, matrix ${formatBytes(r.matrixBytes)}, baseline RSS ${r.baselineRssBytes === null ? '?' : formatBytes(r.baselineRssBytes)}\n`,
    );
    const rows = r.figures.map((f) => [
      f.stage,
      f.seconds.toFixed(3),
      fmtRate(r.cells / f.seconds),
      (r.matrixBytes / 1e6 / f.seconds).toFixed(0),
      f.peakRssBytes === null ? '?' : formatBytes(f.peakRssBytes),
      f.rssAfterBytes === null ? '?' : formatBytes(f.rssAfterBytes),
    ]);
    const head = ['stage', 'seconds', 'cells/s', 'MB/s', 'peak RSS', 'RSS after'];
    process.stdout.write(
      `${formatTable(rows, { head, indent: '  ', gap: ' ', align: head.map((_, i) => (i === 0 ? 'left' : 'right')) })}\n`,
    );
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const childAt = args.indexOf('--child');
  if (childAt >= 0) {
    process.stdout.write(JSON.stringify(measureFile(args[childAt + 1]!, args[childAt + 2] === 'windowed' ? 'windowed' : 'full')) + '\n');
  } else {
    const sizesAt = args.indexOf('--sizes');
    const cacheAt = args.indexOf('--cache');
    await runPipelineBench({
      ...(sizesAt >= 0 ? { sizes: args[sizesAt + 1]!.split(',').map(parseCells) } : {}),
      ...(cacheAt >= 0 ? { cacheDir: args[cacheAt + 1]! } : {}),
    });
  }
}
