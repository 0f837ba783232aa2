/**
 * Preparation at the speed of the disk: `cellbudget split --digest` against the
 * Python reference (bench/reference/prepare_split.py: anndata + pandas + numpy, as
 * scaleflow's DataManager.prepare_data + GroupedDistributionSplitter.split) on equal work.
 *
 * Files are anndata-written (our synthetic data, read and written again by Python anndata):
 * 50 cell lines, drugs + a DMSO control at 5%, 3 doses, 50 float32 features at obsm/X_pca;
 * 1M cells has 380 drugs, other sizes scale the drugs so every distribution keeps ~17 cells.
 * Config: split by drug, ratios 0.6/0.2/0.2, seed 42. Cached in .cache/bench/.
 *
 * Sections (all printed; nothing asserted):
 *   check    the reference reproduces the golden answers, and on the 1M file both programs
 *            produce the same manifest and the same split digests (else the comparison is void)
 *   equal    whole processes: wall time (spawn to reap) and peak RSS (ru_maxrss from wait4,
 *            the kernel high-water mark) of each program; "idle" is the same program on a
 *            2,000-cell file (runtime + modules); ratios are taken pair by pair in this run;
 *            `split --digest --threads 1` (the copy on one thread) is measured alongside
 *   floor    reads: the seconds split --digest --threads 1 spends in readRows on the 1M file, and the
 *            whole-matrix windowed read, against h5py reading the matrix whole, contiguous
 *            and gzip-chunked (anndata's default chunks)
 *   scaling  100k / 1M / 4M cells: whole-process time and peak, net of idle, per million
 *            cells, and each stage's seconds per million cells
 *   harness  the harness's measuring (StepRecorder: clear_refs + VmHWM per step, GC meter,
 *            snapshots, live bytes; or the RSS sampler thread) against a no-op observer, on
 *            the same strategy run in one process, alternating
 *
 *   node --expose-gc dist/bench/prepare.js [--runs 3] [--sizes 100k,1M,4M] [--only check,equal,floor,scaling,harness] [--cache DIR]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocFloat, itemSize, readDtype, type DatasetSource } from '../src/core/data.js';
import { openH5ad, withH5ad } from '../src/h5ad/source.js';
import { h5Ready } from '../src/h5ad/file.js';
import { synthesize } from '../src/h5ad/synth.js';
import { forceGc } from '../src/memory/gc.js';
import { readProcStatus, resetHighWaterMark } from '../src/memory/proc.js';
import { StepRecorder } from '../src/memory/recorder.js';
import { runSplit, type SplitStage } from '../src/cli/split.js';
import type { PipelineConfig } from '../src/pipeline/config.js';
import { planGroups, sourceRows, windowRows } from '../src/pipeline/grouping.js';
import { assignSplits } from '../src/pipeline/splitter.js';
import { runStrategy } from '../src/strategies/index.js';
import type { StepObserver, StrategyName } from '../src/core/names.js';
import { parseStrategyName, SPLITS } from '../src/core/names.js';
import { formatTable } from '../src/core/table.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '..', '..');
const BIN = join(ROOT, 'bin', 'cellbudget.js');
const PY = '/usr/bin/python3';
const REF = join(ROOT, 'bench', 'reference');
const MB = 1e6;

const CONFIG: PipelineConfig = {
  dist_flag_key: 'control',
  src_dist_keys: ['cell_line'],
  tgt_dist_keys: ['drug', 'dosage'],
  rep_keys: { drug: 'drug_embeddings', cell_line: 'cell_line_embeddings' },
  data_location: ['obsm', 'X_pca'],
  split: { split_by: ['drug'], ratios: [0.6, 0.2, 0.2], random_state: 42, holdout_combinations: false, force_training_values: {} },
};

// ---------------------------------------------------------------- small helpers

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseCells(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}`);
  const unit = m[2]?.toLowerCase();
  return Math.round(Number(m[1]) * (unit === 'k' ? 1e3 : unit === 'm' ? 1e6 : 1));
}

function cellsName(n: number): string {
  return n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function range(xs: readonly number[], f: (x: number) => string): string {
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

const sec = (x: number): string => `${x.toFixed(2)} s`;
const mb = (x: number): string => `${(x / MB).toFixed(0)} MB`;
const ratio = (x: number): string => `${x.toFixed(2)}×`;

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function table(rows: string[][]): void {
  out(formatTable(rows, { indent: '  ', align: rows[0]!.map((_, j) => (j === 0 ? 'left' : 'right')) }));
}

function pythonMissing(): string | null {
  const r = spawnSync(PY, ['-c', 'import anndata, h5py, pandas, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PY} with anndata, h5py, pandas and numpy is needed (Debian's python3-anndata, python3-h5py)`;
}

// ---------------------------------------------------------------- files

interface BenchFile {
  cells: number;
  drugs: number;
  compression: 'none' | 'gzip';
  path: string;
}

/** Drugs for `cells` cells: 380 at 1M, scaled so every distribution keeps ~17 cells (docs/measurement.md#rungs-stay-realistic). */
function drugsFor(cells: number): number {
  return Math.max(5, Math.round((380 * cells) / 1e6));
}

async function ensureFile(
  cache: string,
  cells: number,
  compression: 'none' | 'gzip',
  cellLines = 50,
  drugs = drugsFor(cells),
): Promise<BenchFile> {
  const path = join(cache, `prep-${cellsName(cells)}-${cellLines}l-${drugs}d-${compression === 'gzip' ? 'gzip' : 'contiguous'}.h5ad`);
  if (!existsSync(path)) {
    const t0 = performance.now();
    const tmp = `${path}.synth.h5ad`;
    await synthesize({ cells, features: 50, cellLines, drugs, doses: [0.05, 0.5, 5], controlFraction: 0.05, seed: 1 }, tmp);
    // Written again by anndata itself: the layout, dtypes and chunking a user's file has.
    const script =
      'import sys, anndata\na = anndata.read_h5ad(sys.argv[1])\na.write_h5ad(sys.argv[2], **({"compression": "gzip"} if sys.argv[3] == "gzip" else {}))\n';
    const r = spawnSync(PY, ['-c', script, tmp, `${path}.part`, compression], { encoding: 'utf8' });
    rmSync(tmp, { force: true });
    if (r.status !== 0) throw new Error(`anndata could not rewrite ${tmp}: ${r.stderr}`);
    renameSync(`${path}.part`, path);
    out(`  wrote ${path} (${mb(statSync(path).size)}) in ${sec((performance.now() - t0) / 1000)}`);
  }
  return { cells, drugs, compression, path };
}

// ---------------------------------------------------------------- whole processes

interface ProcessFigure {
  seconds: number;
  maxRssBytes: number;
}

function measureProcess(cmd: readonly string[], stdoutFile: string): ProcessFigure {
  const r = spawnSync(PY, [join(REF, 'rusage.py'), stdoutFile, '--', ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`rusage.py failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; max_rss_bytes: number; status: number };
  if (j.status !== 0) throw new Error(`${cmd.join(' ')} exited with ${j.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return { seconds: j.seconds, maxRssBytes: j.max_rss_bytes };
}

const ours = (file: string, cfg: string, extra: string[] = []): string[] => [
  process.execPath,
  BIN,
  'split',
  file,
  '--config',
  cfg,
  '--digest',
  ...extra,
];
const reference = (file: string, cfg: string, extra: string[] = []): string[] => [
  PY,
  join(REF, 'prepare_split.py'),
  file,
  '--config',
  cfg,
  ...extra,
];

/** Bytes every split together keeps (each distribution once) and the obs columns the pipeline reads, as stored. */
function keptAndObsBytes(file: string): { keptBytes: number; obsBytes: number } {
  return withH5ad(file, (src) => {
    const plan = planGroups(CONFIG, src);
    const a = assignSplits(plan, CONFIG.split);
    const info = src.matrixInfo(CONFIG.data_location);
    const rowBytes = info.shape[1] * itemSize(readDtype(info.dtype));
    const tgt = new Set<number>();
    const srcs = new Set<number>();
    for (const s of SPLITS) {
      a.tgt[s].forEach((t) => tgt.add(t));
      a.src[s].forEach((i) => srcs.add(i));
    }
    let rows = 0;
    for (const t of tgt) rows += plan.tgtOffsets[t + 1]! - plan.tgtOffsets[t]!;
    for (const s of srcs) rows += plan.srcOffsets[s + 1]! - plan.srcOffsets[s]!;
    let obsBytes = 0;
    for (const name of [CONFIG.dist_flag_key as string, ...CONFIG.src_dist_keys, ...CONFIG.tgt_dist_keys]) {
      const col = src.readObsColumn(name);
      obsBytes +=
        col.kind === 'categorical' ? col.codes.byteLength : 'values' in col && ArrayBuffer.isView(col.values) ? col.values.byteLength : 0;
    }
    return { keptBytes: rows * rowBytes, obsBytes };
  });
}

// ---------------------------------------------------------------- children (in-process figures)

/** A source whose readRows is timed: the seconds the pipeline spends reading. */
function timedSource(src: DatasetSource, onRead: (seconds: number) => void): DatasetSource {
  return new Proxy(src, {
    get(target, prop, receiver) {
      if (prop === 'readRows') {
        return (...args: Parameters<DatasetSource['readRows']>) => {
          const t0 = performance.now();
          const r = target.readRows(...args);
          onRead((performance.now() - t0) / 1000);
          return r;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface StageRun {
  stages: Record<string, { seconds: number; peakBytes: number }>;
  /** Seconds in the reader's readRows (0 with two threads: each reads the file itself). */
  readSeconds: number;
  idleRssBytes: number;
  threads: 1 | 2;
}

/** One `split --digest` in this process with per-stage seconds and VmHWM (reset per stage); `threads` as split's --threads. */
function stagesOnce(file: string, threads?: 1 | 2): StageRun {
  forceGc();
  const idle = readProcStatus()?.rssBytes ?? 0;
  const stages: StageRun['stages'] = {};
  let readSeconds = 0;
  const stage: SplitStage = (name, fn) => {
    resetHighWaterMark();
    const t0 = performance.now();
    const r = fn();
    stages[name] = { seconds: (performance.now() - t0) / 1000, peakBytes: readProcStatus()?.hwmBytes ?? 0 };
    return r;
  };
  const src = openH5ad(file);
  let used: 1 | 2 = 1;
  try {
    used =
      runSplit(
        timedSource(src, (s) => (readSeconds += s)),
        CONFIG,
        { digest: true, ...(threads ? { threads } : {}) },
        stage,
      ).digests?.threads ?? 1;
  } finally {
    src.close();
  }
  return { stages, readSeconds, idleRssBytes: idle, threads: used };
}

/** The whole matrix read in the pipeline's windows (size, chunk alignment) into one reused buffer. */
function windowedReadOnce(file: string): number {
  const t0 = performance.now();
  withH5ad(file, (src) => {
    const reader = sourceRows(src, CONFIG.data_location);
    const cols = reader.cols ?? 1;
    const dtype = reader.dtype ?? 'float32';
    const window = windowRows(cols * itemSize(dtype), reader.chunkRows);
    const buf = allocFloat(dtype, window * cols);
    for (let a = 0; a < src.nObs; a += window) reader.readRows(a, Math.min(src.nObs, a + window), buf);
  });
  return (performance.now() - t0) / 1000;
}

interface HarnessTimes {
  /** Wall seconds of each run, per `strategy:mode`. */
  wall: Record<string, number[]>;
  /** Seconds spent in the recorder around the steps (begin/end reads, snapshots, live bytes), per `strategy:mode`. */
  steps: Record<string, number[]>;
  /** Seconds spent creating (baseline with forced GCs, sampler thread) and closing it. */
  setup: Record<string, number[]>;
}

async function harnessChild(file: string, reps: number, strategies: readonly StrategyName[]): Promise<HarnessTimes> {
  const input = [{ name: 'ds', open: () => openH5ad(file) }];
  const noop: StepObserver = { step: (_d, _n, fn) => fn() };
  const wall: Record<string, number[]> = {};
  const steps: Record<string, number[]> = {};
  const setup: Record<string, number[]> = {};
  const once = async (strategy: StrategyName, mode: 'none' | 'kernel-hwm' | 'sampled-rss'): Promise<void> => {
    forceGc();
    const t0 = performance.now();
    // Creating the recorder (its baseline with forced GCs, the sampler's thread) is part of measuring.
    const rec = mode === 'none' ? null : await StepRecorder.create({ method: mode });
    const created = performance.now() - t0;
    // The time inside each step's work; what the recorder adds around it is the rest.
    let inside = 0;
    let outside = 0;
    const observer: StepObserver = rec
      ? {
          step: (d, n, fn, live) => {
            const a = performance.now();
            const r = rec.step(
              d ?? '',
              n,
              () => {
                const b = performance.now();
                try {
                  return fn();
                } finally {
                  inside += performance.now() - b;
                }
              },
              live,
            );
            outside += performance.now() - a;
            return r;
          },
        }
      : noop;
    runStrategy(strategy, input, CONFIG, observer, { gc: forceGc });
    const c0 = performance.now();
    await rec?.close();
    const closed = performance.now() - c0;
    const key = `${strategy}:${mode}`;
    (wall[key] ??= []).push((performance.now() - t0) / 1000);
    (steps[key] ??= []).push((outside - inside) / 1000);
    (setup[key] ??= []).push((created + closed) / 1000);
  };
  const modes = ['none', 'kernel-hwm', 'sampled-rss'] as const;
  for (const strategy of strategies) {
    await once(strategy, 'none'); // warm-up: page cache, JIT
    wall[`${strategy}:none`] = [];
    steps[`${strategy}:none`] = [];
    setup[`${strategy}:none`] = [];
    for (let r = 0; r < reps; r++) {
      // Rotate the order so that drift (other jobs on the machine) falls on every mode alike.
      for (let k = 0; k < modes.length; k++) await once(strategy, modes[(r + k) % modes.length]!);
    }
  }
  return { wall, steps, setup };
}

function runChild(args: string[]): unknown {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// ---------------------------------------------------------------- sections

function goldenDir(): string | null {
  const dir = process.env['CELLBUDGET_GOLDEN'] ?? resolve(ROOT, '..', 'shared', 'golden');
  return existsSync(dir) ? dir : null;
}

interface Manifest {
  conditions: Record<string, Record<string, number[]>>;
  digests: Record<string, { sha256: string; bytes: number }>;
  [k: string]: unknown;
}

function sameManifest(a: Manifest, b: Manifest): string[] {
  const diffs: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (k === 'conditions') {
      const ca = a.conditions;
      const cb = b.conditions;
      const bad = Object.keys(cb).some((t) =>
        Object.entries(cb[t]!).some(([col, v]) => {
          const g = ca[t]?.[col];
          return !g || g.length !== v.length || v.some((x, i) => Math.abs(g[i]! - x) > 1e-9);
        }),
      );
      if (bad || Object.keys(ca).length !== Object.keys(cb).length) diffs.push('conditions');
    } else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) diffs.push(k);
  }
  return diffs;
}

function sectionCheck(cache: string, file: BenchFile, cfg: string): boolean {
  out('\n## check: is the reference faithful, and is the work equal?');
  const golden = goldenDir();
  if (golden) {
    const r = spawnSync(PY, [join(REF, 'check_golden.py'), golden], { encoding: 'utf8' });
    out(`  reference vs golden answers (${golden}): ${r.status === 0 ? 'all equal' : 'DIFFERENT'}`);
    for (const l of r.stdout.trim().split('\n')) out(`    ${l}`);
    if (r.status !== 0) return false;
  } else {
    out('  golden answers not found (set CELLBUDGET_GOLDEN): reference not checked against them');
  }
  const a = join(cache, 'check-ours.json');
  const b = join(cache, 'check-reference.json');
  measureProcess(ours(file.path, cfg, ['--json']), a);
  measureProcess(reference(file.path, cfg, ['--json', '--digest']), b);
  const diffs = sameManifest(JSON.parse(readFileSync(a, 'utf8')) as Manifest, JSON.parse(readFileSync(b, 'utf8')) as Manifest);
  out(
    `  ${file.path}: split --digest --json vs reference --json --digest: ${diffs.length === 0 ? 'same manifest, same digests (identical bytes in every split)' : `DIFFERENT: ${diffs.join(', ')}`}`,
  );
  return diffs.length === 0;
}

function sectionEqual(file: BenchFile, idle: BenchFile, cfg: string, runs: number, scratch: string): void {
  out(`\n## equal work: ${cellsName(file.cells)} cells x 50 float32, ${file.drugs} drugs, contiguous; ${runs} runs each, alternating`);
  const sizes = keptAndObsBytes(file.path);
  const idleOurs: ProcessFigure[] = [];
  const idleRef: ProcessFigure[] = [];
  const o: ProcessFigure[] = [];
  const p: ProcessFigure[] = [];
  const one: ProcessFigure[] = [];
  measureProcess(ours(file.path, cfg), scratch); // warm-up: page cache
  measureProcess(reference(file.path, cfg), scratch);
  for (let i = 0; i < runs; i++) {
    idleOurs.push(measureProcess(ours(idle.path, cfg), scratch));
    idleRef.push(measureProcess(reference(idle.path, cfg), scratch));
    o.push(measureProcess(ours(file.path, cfg), scratch));
    p.push(measureProcess(reference(file.path, cfg), scratch));
    one.push(measureProcess(ours(file.path, cfg, ['--threads', '1']), scratch));
  }
  const t = (xs: ProcessFigure[]): number[] => xs.map((x) => x.seconds);
  const m = (xs: ProcessFigure[]): number[] => xs.map((x) => x.maxRssBytes);
  const pair = (f: (i: number) => number): number[] => o.map((_, i) => f(i));
  const netOurs = pair((i) => o[i]!.maxRssBytes - idleOurs[i]!.maxRssBytes);
  const netRef = pair((i) => p[i]!.maxRssBytes - idleRef[i]!.maxRssBytes);
  const base = sizes.keptBytes + sizes.obsBytes;
  table([
    ['', 'cellbudget split --digest', 'Python reference', 'ratio (pairwise)', 'goal'],
    [
      'wall time',
      range(t(o), sec),
      range(t(p), sec),
      range(
        pair((i) => o[i]!.seconds / p[i]!.seconds),
        ratio,
      ),
      '≤ 0.35×',
    ],
    [
      'peak RSS',
      range(m(o), mb),
      range(m(p), mb),
      range(
        pair((i) => o[i]!.maxRssBytes / p[i]!.maxRssBytes),
        ratio,
      ),
      '≤ 0.50×',
    ],
    [
      'idle (2k-cell file)',
      `${range(t(idleOurs), sec)}, ${range(m(idleOurs), mb)}`,
      `${range(t(idleRef), sec)}, ${range(m(idleRef), mb)}`,
      '',
      '',
    ],
    [
      'peak − idle',
      range(netOurs, mb),
      range(netRef, mb),
      range(
        pair((i) => netOurs[i]! / netRef[i]!),
        ratio,
      ),
      '',
    ],
    [
      '(peak − idle) / (kept + obs)',
      range(
        netOurs.map((x) => x / base),
        ratio,
      ),
      range(
        netRef.map((x) => x / base),
        ratio,
      ),
      '',
      '≤ 1.30×',
    ],
    [
      '--threads 1: wall time',
      range(t(one), sec),
      '',
      range(
        pair((i) => one[i]!.seconds / p[i]!.seconds),
        ratio,
      ),
      '',
    ],
    [
      '--threads 1: peak RSS',
      range(m(one), mb),
      '',
      range(
        pair((i) => one[i]!.maxRssBytes / p[i]!.maxRssBytes),
        ratio,
      ),
      '',
    ],
  ]);
  out(`  kept bytes (every distribution once) ${mb(sizes.keptBytes)}, obs columns read ${mb(sizes.obsBytes)}`);
  out(
    `  per run (ours | reference | ours --threads 1): ${o.map((x, i) => `${sec(x.seconds)} ${mb(x.maxRssBytes)} | ${sec(p[i]!.seconds)} ${mb(p[i]!.maxRssBytes)} | ${sec(one[i]!.seconds)} ${mb(one[i]!.maxRssBytes)}`).join(';  ')}`,
  );
}

const H5PY_FLOOR = `
import sys, time, json, h5py
path, key, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def once():
    t = time.perf_counter()
    with h5py.File(path, 'r') as f:
        a = f[key][...]
    return time.perf_counter() - t, a.nbytes
once()  # warm-up: page cache
res = [once() for _ in range(runs)]
print(json.dumps({"seconds": [r[0] for r in res], "bytes": res[0][1]}))
`;

// HDF5 (WebAssembly) loads on first use; every read below is synchronous.
await h5Ready();

function sectionFloor(files: BenchFile[], runs: number): void {
  out(`\n## floor: reads against h5py reading the matrix whole (same machine, same run; median of ${runs})`);
  const rows: string[][] = [['file', 'h5py whole', 'split --digest reads', 'ratio floor/ours', 'windowed read alone', 'ratio', 'goal']];
  for (const f of files) {
    const py = spawnSync(PY, ['-c', H5PY_FLOOR, f.path, CONFIG.data_location.join('/'), String(runs)], { encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`h5py floor failed: ${py.stderr}`);
    const floor = median((JSON.parse(py.stdout) as { seconds: number[] }).seconds);
    const child = runChild(['floor', f.path, String(runs)]) as { read: number[]; windowed: number[] };
    const read = median(child.read);
    const windowed = median(child.windowed);
    rows.push([
      `${cellsName(f.cells)} ${f.compression === 'gzip' ? 'gzip-chunked' : 'contiguous'}`,
      sec(floor),
      sec(read),
      ratio(floor / read),
      sec(windowed),
      ratio(floor / windowed),
      '≥ 0.50×',
    ]);
  }
  table(rows);
}

function sectionScaling(files: BenchFile[], idle: BenchFile, cfg: string, runs: number, scratch: string): void {
  out(`\n## scaling: split --digest, whole process and stages (median of ${runs}; per million cells, net of the idle run)`);
  const idleRuns = Array.from({ length: runs }, () => measureProcess(ours(idle.path, cfg), scratch));
  const idleT = median(idleRuns.map((r) => r.seconds));
  const idleM = median(idleRuns.map((r) => r.maxRssBytes));
  const rows: string[][] = [
    ['cells', 'drugs', 'time', 'peak', 's / M cells', 'MB / M cells', 'plan', 'assign', 'materialize', '(reads)', 'digest', 'threads'],
  ];
  for (const f of files) {
    measureProcess(ours(f.path, cfg), scratch); // warm-up
    const whole = Array.from({ length: runs }, () => measureProcess(ours(f.path, cfg), scratch));
    const stageRuns = Array.from({ length: runs }, () => runChild(['stages', f.path]) as StageRun);
    const t = median(whole.map((r) => r.seconds));
    const m = median(whole.map((r) => r.maxRssBytes));
    const perM = f.cells / 1e6;
    const st = (name: string): string => {
      const xs = stageRuns.map((r) => r.stages[name]?.seconds ?? NaN);
      return `${(median(xs) / perM).toFixed(3)}`;
    };
    const reads = stageRuns.some((r) => r.threads === 2) ? 'both threads' : (median(stageRuns.map((r) => r.readSeconds)) / perM).toFixed(3);
    rows.push([
      cellsName(f.cells),
      String(f.drugs),
      sec(t),
      mb(m),
      ((t - idleT) / perM).toFixed(2),
      ((m - idleM) / MB / perM).toFixed(0),
      st('plan'),
      st('assign'),
      st('materialize'),
      reads,
      st('digest'),
      String(stageRuns[0]?.threads ?? 1),
    ]);
  }
  out(`  idle run (2k cells): ${sec(idleT)}, ${mb(idleM)}; stage columns are seconds per million cells`);
  table(rows);
}

function sectionHarness(file: BenchFile, runs: number): void {
  const strategies: StrategyName[] = ['selective', 'streaming'];
  const reps = Math.max(5, runs);
  out(
    `\n## harness: measuring overhead on a run's wall time (${cellsName(file.cells)} cells, one process, ${reps} rotations of the three modes)`,
  );
  out(
    '  per step = seconds inside the recorder around the steps (clear_refs + VmHWM or sampler reads, snapshots, GC meter, live bytes) / wall time;',
  );
  out('  + setup = also creating it (idle baseline after forced GCs, the sampler thread) and closing it, once per child;');
  out('  wall Δ = median wall time against the no-observer runs (noisy on a shared machine: GC and scheduling luck too)');
  const t = runChild(['harness', file.path, String(reps), strategies.join(',')]) as HarnessTimes;
  const rows: string[][] = [
    [
      'strategy',
      'no observer',
      'kernel-hwm: wall',
      'per step',
      '+ setup',
      'wall Δ',
      'sampled-rss: wall',
      'per step',
      '+ setup',
      'wall Δ',
      'goal',
    ],
  ];
  for (const s of strategies) {
    const none = t.wall[`${s}:none`]!;
    const cell = (mode: string): string[] => {
      const w = t.wall[`${s}:${mode}`]!;
      const st = t.steps[`${s}:${mode}`]!;
      const su = t.setup[`${s}:${mode}`]!;
      const pct = (xs: number[]): string => `${median(xs.map((x, i) => (x / w[i]!) * 100)).toFixed(2)}%`;
      return [range(w, sec), pct(st), pct(st.map((x, i) => x + su[i]!)), `${((median(w) / median(none) - 1) * 100).toFixed(1)}%`];
    };
    rows.push([s, range(none, sec), ...cell('kernel-hwm'), ...cell('sampled-rss'), '≤ 3%']);
  }
  table(rows);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const [, kind, file, n, extra] = argv;
    let result: unknown;
    if (kind === 'stages') result = stagesOnce(file!);
    else if (kind === 'floor') {
      const runs = Number(n);
      // The reader's own speed: one thread, every window through readRows.
      stagesOnce(file!, 1); // warm-up
      const read: number[] = [];
      const windowed: number[] = [];
      for (let i = 0; i < runs; i++) {
        read.push(stagesOnce(file!, 1).readSeconds);
        windowed.push(windowedReadOnce(file!));
      }
      result = { read, windowed };
    } else if (kind === 'harness')
      result = await harnessChild(
        file!,
        Number(n),
        (extra ?? 'selective').split(',').map((name) => parseStrategyName(name, 'strategy')),
      );
    else throw new Error(`unknown child ${kind}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const missing = pythonMissing();
  if (missing) {
    out(`prepare benchmark skipped: ${missing}`);
    return;
  }
  const runs = Number(arg('runs') ?? '3');
  const sizes = (arg('sizes') ?? '100k,1M,4M').split(',').map(parseCells);
  const only = new Set((arg('only') ?? 'check,equal,floor,scaling,harness').split(','));
  const cache = resolve(arg('cache') ?? join(ROOT, '.cache', 'bench'));
  mkdirSync(cache, { recursive: true });
  const cfg = join(cache, 'prepare-config.json');
  writeFileSync(cfg, JSON.stringify(CONFIG));
  const scratch = join(cache, 'prepare-stdout.txt');
  out(
    `prepare benchmark (issue #15): node ${process.version}, ${runs} runs; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (shared machine: compare ratios taken within this run)`,
  );
  const main1M = await ensureFile(cache, 1_000_000, 'none');
  const gzip1M = await ensureFile(cache, 1_000_000, 'gzip');
  const idle = await ensureFile(cache, 2000, 'none', 2, 5);
  if (only.has('check') && !sectionCheck(cache, main1M, cfg)) {
    out('the reference does not match: the comparison would mean nothing; stopping');
    process.exitCode = 1;
    return;
  }
  if (only.has('equal')) sectionEqual(main1M, idle, cfg, runs, scratch);
  if (only.has('floor')) sectionFloor([main1M, gzip1M], runs);
  if (only.has('scaling')) {
    const files: BenchFile[] = [];
    for (const c of sizes) files.push(c === 1_000_000 ? main1M : await ensureFile(cache, c, 'none'));
    sectionScaling(files, idle, cfg, runs, scratch);
  }
  if (only.has('harness')) sectionHarness(main1M, runs);
  out(`\nload average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
}

await main();
