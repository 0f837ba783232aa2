/**
 * Preflight: everything `cellbudget run` can know before the first child starts, checked in
 * one pass, so a run never measures for minutes and then stops on a bad input.
 *
 * - Every scenario: the pipeline settings, every synthetic dataset at its scale (enough cells
 *   for its conditions), every `file:` dataset read as far as the plan goes (obs columns,
 *   representation shape, embeddings, split sizes) without its matrix, every command's
 *   program and folder.
 * - Where results go: the report folder (a folder, writable, room for the report) and the
 *   synthetic cache (writable, room for the datasets still to generate).
 * - What each run needs: the simulator's predicted peak at the run's scale (plus the measuring
 *   child's own runtime) against this machine's memory, and the bytes of the datasets to
 *   generate against the cache's free disk. A run that cannot fit is refused with the
 *   numbers and the largest scale that would.
 *
 * Cheap by design: no matrix is read and no dataset generated; it runs on every `run`.
 */
import {
  accessSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { totalmem } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { CellbudgetError, isCellbudgetError } from '../../src/core/errors.js';
import { representationBytes, resolveSynthSpec, synthSpecKey, type SynthSpec } from '../../src/h5ad/synth.js';
import { MEASURED_CALIBRATION, predictRun, type FileFacts } from '../../src/simulator/index.js';
import type { Calibration } from '../../src/simulator/calibration.js';
import type { StrategyName } from '../../src/core/names.js';
import { formatBytes } from '../../src/core/units.js';
import { fileFacts } from './facts.js';
import type { LadderSpec } from './ladder.js';
import { ladderOf, plannedRuns, synthOptionsFor } from './run.js';
import type { BuiltinScenario, CommandScenario, Scenario } from './scenarios.js';

/** RSS of a measuring child before its job (Node, modules, h5wasm): measured here at 60–90 MB. */
export const CHILD_RUNTIME_BYTES = 150e6;
/** Share of this machine's memory a run may be predicted to use. */
export const MEMORY_SHARE = 0.9;
/** Free disk kept in reserve beyond what a run writes. */
const DISK_RESERVE_BYTES = 50e6;
/** Report size: the fixed files and charts, then per run (steps and the 10 ms timeline). */
const REPORT_FIXED_BYTES = 10e6;
const REPORT_PER_RUN_BYTES = 2e6;
// Above the representation: obs columns, index strings, var, uns, HDF5 overhead.
const OBS_BYTES_PER_CELL = 40;
const FILE_FIXED_BYTES = 1e6;

export interface PreflightOptions {
  outDir: string;
  cacheDir: string;
  strategies?: readonly StrategyName[];
  calibration?: Calibration;
  /** This machine's memory (default os.totalmem()); tests pass a smaller one. */
  totalMemoryBytes?: number;
  /** Free bytes where the cache and the report go (default: statfs); tests pass less. */
  freeBytes?: (path: string) => number;
  /** Scenarios whose runs happen elsewhere (Slurm jobs): their memory is checked against the cluster's nodes, not this machine. */
  remote?: (s: Scenario) => boolean;
  /** Scale ladder replacing the scenarios' `ladder:` (`--ladder`): every rung's datasets and memory are checked. */
  ladder?: LadderSpec;
}

export interface RunEstimate {
  scenario: string;
  strategy: StrategyName;
  scale: number;
  /** Predicted peak at the run's scale, net of the child's baseline (undefined: the model cannot describe it). */
  predicted_peak_bytes?: number;
}

export interface PreflightResult {
  runs: RunEstimate[];
  /** Bytes of synthetic datasets still to generate (uncompressed upper bound). */
  generate_bytes: number;
  generate_files: number;
  /** Facts of `file:` datasets per scenario, reused by the run. */
  facts: Map<string, Record<string, FileFacts>>;
  memory_limit_bytes: number;
}

function freeBytesOf(path: string): number {
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  const s = statfsSync(p);
  return s.bavail * s.bsize;
}

/** The folder exists (or is created), is a folder and takes a file. */
export function checkWritableDir(dir: string, what: string, flag: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new CellbudgetError('OUTPUT_UNWRITABLE', `The ${what} ${dir} is a file, not a folder.`, {
      file: dir,
      hint: `Pass ${flag} a folder (it is created when missing).`,
    });
  }
  const probe = join(dir, `.cellbudget-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, 'ok');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'the file system is read-only'
          : code === 'ENOSPC'
            ? 'the disk is full'
            : code === 'ENOTDIR' || code === 'EEXIST'
              ? 'a parent of it is a file'
              : (e as Error).message;
    throw new CellbudgetError(
      'OUTPUT_UNWRITABLE',
      `Cannot write to the ${what} ${dir}: ${why}${code ? ` (${code})` : ''}.`,
      { file: dir, hint: `Pass ${flag} a folder you can write to.` },
      { cause: e },
    );
  } finally {
    try {
      rmSync(probe, { force: true });
    } catch {
      // ENOTDIR: the probe was never written
    }
  }
}

function onPath(program: string, cwd: string): boolean {
  if (program.includes('/')) {
    const p = isAbsolute(program) ? program : resolve(cwd, program);
    try {
      accessSync(p, fsConstants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), fsConstants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

function checkCommand(s: CommandScenario): void {
  if (!existsSync(s.cwd) || !statSync(s.cwd).isDirectory()) {
    throw new CellbudgetError('SCENARIO_INVALID', `${s.source}: command scenario '${s.name}' runs in ${s.cwd}, which is not a folder.`, {
      file: s.source,
      key: 'cwd',
      hint: 'Fix `cwd:` (relative paths are taken from the scenario file’s folder).',
    });
  }
  const program = s.command[0] ?? '';
  if (!onPath(program, s.cwd)) {
    throw new CellbudgetError(
      'SCENARIO_INVALID',
      `${s.source}: command scenario '${s.name}' runs '${program}', which is not an executable file${program.includes('/') ? ` (from ${s.cwd})` : ' on PATH'}.`,
      {
        file: s.source,
        key: 'command',
        hint: 'Fix the program name or path in `command:`, or install it.',
      },
    );
  }
}

/** A scale with one significant digit at most `x` (0.0137 → 0.01, 0.4 → 0.4). */
function niceScaleBelow(x: number): number {
  if (!(x > 0)) return 0;
  const p = 10 ** Math.floor(Math.log10(x));
  return Math.floor(x / p) * p;
}

/** Specs of a scenario's synthetic datasets at its scale (throws SCENARIO_IMPOSSIBLE / CONFIG_INVALID). */
/** The synthetic datasets of a scenario at every rung of its ladder. */
function syntheticSpecs(s: BuiltinScenario, scales: readonly number[]): SynthSpec[] {
  const specs: SynthSpec[] = [];
  for (const scale of scales) {
    const at = { ...s, scale };
    s.datasets.forEach((d, i) => {
      if (d.synthetic) specs.push(resolveSynthSpec(synthOptionsFor(at, i)));
    });
  }
  return specs;
}

/** Whether a cached entry for this spec already exists with its record (it may still be re-verified). */
function cached(cacheDir: string, spec: SynthSpec, present: ReadonlySet<string>): boolean {
  const key = synthSpecKey(spec);
  const file = join(cacheDir, `${key}.h5ad`);
  const record = join(cacheDir, `${key}.json`);
  if (!present.has(`${key}.h5ad`) || !present.has(`${key}.json`)) return false;
  try {
    return (JSON.parse(readFileSync(record, 'utf8')) as { bytes?: number }).bytes === statSync(file).size;
  } catch {
    return false;
  }
}

function fileBytes(spec: SynthSpec): number {
  return representationBytes(spec) + spec.cells * OBS_BYTES_PER_CELL + FILE_FIXED_BYTES;
}

/**
 * Validate every scenario, option and output location and estimate every run's memory and
 * disk, before anything is measured. Throws the first problem as a coded CellbudgetError
 * (exit 2); returns the estimates and the file facts it read.
 */
export async function preflight(scenarios: readonly Scenario[], opts: PreflightOptions): Promise<PreflightResult> {
  const free = opts.freeBytes ?? freeBytesOf;
  const memoryLimit = (opts.totalMemoryBytes ?? totalmem()) * MEMORY_SHARE;
  const calibration = opts.calibration ?? MEASURED_CALIBRATION;

  // 1. Every scenario, as far as it can be known without measuring.
  const facts = new Map<string, Record<string, FileFacts>>();
  const specs = new Map<string, SynthSpec>();
  const builtin: BuiltinScenario[] = [];
  const rungs = new Map<BuiltinScenario, number[]>();
  for (const s of scenarios) {
    if (s.kind === 'command') {
      checkCommand(s);
      continue;
    }
    rungs.set(s, ladderOf(s, opts.ladder !== undefined ? { ladder: opts.ladder } : {}).scales);
    for (const spec of syntheticSpecs(s, rungs.get(s)!)) specs.set(synthSpecKey(spec), spec);
    facts.set(s.name, await fileFacts(s));
    builtin.push(s);
  }

  // 2. Where results go.
  checkWritableDir(opts.outDir, 'report folder', '--out');
  const planned = plannedRuns(scenarios, opts.strategies);
  const runsCount = planned.reduce((n, p) => n + (p.scenario.kind === 'builtin' ? rungs.get(p.scenario)!.length : 1), 0);
  const reportBytes = REPORT_FIXED_BYTES + REPORT_PER_RUN_BYTES * runsCount;
  const outFree = free(opts.outDir);
  if (outFree < reportBytes) {
    throw new CellbudgetError(
      'RESOURCES_INSUFFICIENT',
      `The report folder ${opts.outDir} has ${formatBytes(outFree)} free; the report of ${runsCount} run(s) needs about ${formatBytes(reportBytes)}.`,
      {
        file: opts.outDir,
        hint: 'Free disk space there, or pass --out a folder on a disk with room.',
      },
    );
  }

  // 3. Disk for the datasets still to generate.
  // One listing of the cache, not a stat per dataset (a family may have 100,000).
  const present = new Set(existsSync(opts.cacheDir) ? readdirSync(opts.cacheDir) : []);
  const toGenerate = [...specs.values()].filter((spec) => !cached(opts.cacheDir, spec, present));
  const missing = new Set(toGenerate.map((spec) => synthSpecKey(spec)));
  const generateBytes = toGenerate.reduce((n, spec) => n + fileBytes(spec), 0);
  if (toGenerate.length > 0) {
    checkWritableDir(opts.cacheDir, 'dataset cache', '--cache');
    const cacheFree = free(opts.cacheDir);
    if (cacheFree < generateBytes + DISK_RESERVE_BYTES) {
      const biggest = builtin
        .map((s) => ({
          s,
          bytes: syntheticSpecs(s, rungs.get(s)!)
            .filter((x) => missing.has(synthSpecKey(x)))
            .reduce((n, x) => n + fileBytes(x), 0),
        }))
        .sort((a, b) => b.bytes - a.bytes)[0];
      const fit =
        biggest && biggest.bytes > 0 ? niceScaleBelow((biggest.s.scale * Math.max(0, cacheFree - DISK_RESERVE_BYTES)) / generateBytes) : 0;
      throw new CellbudgetError(
        'RESOURCES_INSUFFICIENT',
        `Generating ${toGenerate.length.toLocaleString('en-US')} synthetic dataset(s) needs about ${formatBytes(generateBytes)} in ${opts.cacheDir}, which has ${formatBytes(cacheFree)} free${biggest ? `; the largest share is '${biggest.s.name}' (${formatBytes(biggest.bytes)} at scale ${biggest.s.scale})` : ''}.`,
        {
          file: opts.cacheDir,
          value: { generate_bytes: generateBytes, free_bytes: cacheFree, files: toGenerate.length },
          hint: `${fit > 0 && biggest ? `Run at a smaller scale (scale: ${fit} in ${biggest.s.source} fits), ` : 'Use a smaller scale or fewer datasets (a family’s n), '}or pass --cache a folder on a larger disk.`,
        },
      );
    }
  }

  // 4. Memory: the simulator's peak for every run at its scale, against this machine.
  const runs: RunEstimate[] = [];
  for (const s of builtin) {
    // The ladder's largest rung needs the most memory (a rung may climb above the scenario's scale).
    const top = Math.max(...rungs.get(s)!);
    for (const { strategy } of planned.filter((p) => p.scenario === s)) {
      if (strategy === 'command') continue;
      let peak: number | undefined;
      try {
        const pred = predictRun({ scenario: { ...s, scale: top }, scale: top, facts: facts.get(s.name) ?? {} }, strategy, calibration);
        peak = pred.reduce((m, p) => Math.max(m, p.predicted_peak_bytes), 0);
      } catch (e) {
        // A scenario the model cannot describe is still run (and measured); it just has no estimate.
        if (!isCellbudgetError(e)) throw e;
      }
      runs.push({ scenario: s.name, strategy, scale: top, ...(peak !== undefined ? { predicted_peak_bytes: peak } : {}) });
      if (peak !== undefined && peak + CHILD_RUNTIME_BYTES > memoryLimit && !opts.remote?.(s)) {
        // Predicted memory is about proportional to the scale (its fixed part is small): the scale that fits.
        const fit = niceScaleBelow((s.scale * (memoryLimit - CHILD_RUNTIME_BYTES)) / peak);
        throw new CellbudgetError(
          'RESOURCES_INSUFFICIENT',
          `${s.source}: '${s.name}' / ${strategy} at scale ${top}${top !== s.scale ? ` (its ladder's top rung)` : ''} is predicted to peak at ${formatBytes(peak)} (plus ~${formatBytes(CHILD_RUNTIME_BYTES)} of runtime); this machine has ${formatBytes(memoryLimit / MEMORY_SHARE)} of memory, of which a run may use ${Math.round(MEMORY_SHARE * 100)}% (${formatBytes(memoryLimit)}).`,
          {
            file: s.source,
            key: 'scale',
            value: { predicted_peak_bytes: peak, memory_limit_bytes: memoryLimit, scale: s.scale },
            hint:
              fit > 0
                ? `Set scale: ${fit} (or smaller) in ${s.source}; budgets stay at full scale. Or leave out ${strategy} with --strategy.`
                : `Even the smallest scale does not fit; leave out ${strategy} with --strategy.`,
          },
        );
      }
    }
  }
  return { runs, generate_bytes: generateBytes, generate_files: toGenerate.length, facts, memory_limit_bytes: memoryLimit };
}

/** One line for --verbose: what the preflight checked and estimated. */
export function formatPreflight(r: PreflightResult): string {
  const known = r.runs.filter((x) => x.predicted_peak_bytes !== undefined);
  const top = known.reduce<RunEstimate | undefined>(
    (a, x) => (!a || (x.predicted_peak_bytes ?? 0) > (a.predicted_peak_bytes ?? 0) ? x : a),
    undefined,
  );
  return `preflight: ${r.runs.length} built-in run(s) checked${top ? `; highest predicted peak ${formatBytes(top.predicted_peak_bytes ?? 0)} (${top.scenario} / ${top.strategy}) of ${formatBytes(r.memory_limit_bytes)} usable` : ''}; ${r.generate_files} dataset(s) to generate (${formatBytes(r.generate_bytes)})`;
}
