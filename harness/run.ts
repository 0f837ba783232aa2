/**
 * `cellbudget run`: replay scenarios against the real pipeline. Every scenario × strategy
 * runs in a fresh child (`--expose-gc`), measured per step; the report gathers the runs,
 * budgets at full scale, the model's predictions and the retained digests.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CellbudgetError, isCellbudgetError } from '../src/errors.js';
import { resolveSynthSpec, synthSpecKey, synthesize, type SynthOptions } from '../src/h5ad/synth.js';
import { kernelHwmAvailable } from '../src/memory/proc.js';
import { parsePipelineConfig, type PipelineConfig } from '../src/pipeline/config.js';
import { datasetsFromScenario, MEASURED_CALIBRATION, predictRun, type FileFacts } from '../src/simulator/index.js';
import { chooseOrder, type OrderMode } from '../src/strategies/order.js';
import { fileFacts } from './facts.js';
import type { Calibration } from '../src/simulator/calibration.js';
import type { StrategyName } from '../src/strategies/types.js';
import { VERSION } from '../src/version.js';
import { evaluateBudgets } from './budgets.js';
import { runCommandScenario } from './command.js';
import type { StrategyJobPayload, StrategyJobResult } from './jobs/strategy.js';
import { DEFAULT_LADDER, planLadder, rungOf, withProjection, type LadderSpec } from './ladder.js';
import type { Progress } from './progress.js';
import { relativeError, type Report, type ReportEnvironment, type RunRecord, type ScenarioSummary } from './report.js';
import { scaleSynthetic } from './scaling.js';
import type { Budgets, BuiltinScenario, CommandScenario, Scenario } from './scenario.js';
import { measuredRunFields, runChild } from './spawn.js';

export interface RunScenariosOptions {
  /** Restrict to these strategies (those a scenario does not list are skipped). */
  strategies?: StrategyName[];
  /** Budgets from the command line; they replace the scenario's. */
  budgets?: Budgets;
  verbose?: boolean;
  /** Where synthetic datasets are generated once and reused. */
  cacheDir?: string;
  /** Where command scenarios' output logs go (the report directory). */
  outDir?: string;
  progress?: Progress;
  /** Echo child output (verbose lines) here. */
  onOutput?: (text: string) => void;
  calibration?: Calibration;
  /** Kill a child after this long. */
  timeoutMs?: number;
  /** Processing order mode replacing the scenarios' `order:` (auto: the planner's lowest-peak order). */
  order?: OrderMode;
  /** Scale ladder replacing the scenarios' `ladder:` (harness/ladder.ts). */
  ladder?: LadderSpec;
  /** Measuring children running at once (default DEFAULT_JOBS). */
  jobs?: number;
}

/**
 * Allocator settings every built-in run's child gets unless its scenario's `env:` sets them
 * (DESIGN §7). They make a small rung's allocator behave as a full-scale run's does, which is
 * what a projection from small rungs needs. Measured on two 2 GB datasets at scales 1/256 … 1
 * and on original-fix at 0.00025 … 0.001:
 * - glibc raises its mmap threshold to the size of a freed mmapped block up to 32 MiB, so in
 *   a rung whose raw matrix is under 32 MiB the second dataset's matrix came from the heap and
 *   stayed resident when deleted (sequential final 40% off from a 1/64 rung); a full-scale
 *   matrix is always mmapped and returned. Pinned at 8 MiB, every rung whose matrices are over
 *   8 MiB behaves as full scale does, and group-sized arrays stay on the heap as they do
 *   there. Where the default already behaved so (1/16, 1/8) the figures moved by under 1%.
 * - glibc returns the top of its heap once more than the trim threshold is free there. In a
 *   small rung that top is a large share of what a step freed, and whether it is free at that
 *   moment varies: original-fix/selective's final at 0.001 came out 240 or 271 MB from run to
 *   run (a 13% swing in its projection). At full scale the top is a negligible share. Never
 *   trimming keeps the heap as full scale does: the same run gave 265–268 MB, three times.
 * - per-thread arenas (V8's worker threads) added 10–20 MB that varied ±5 MB from run to run
 *   at the same scale; with one arena the repeat noise fell to about ±1 MB.
 */
export const MEASUREMENT_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: '1',
  MALLOC_MMAP_THRESHOLD_: String(8 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 40),
});

/**
 * V8 settings of every built-in run's child (DESIGN §7). The young generation is fixed at its
 * Node 20 maximum (2 × 16 MiB), warmed up before the baseline (harness/jobs/strategy.ts): a
 * memory-reducing GC, which external memory pressure triggers at some scales and not others,
 * could otherwise shrink it mid-run and move a figure by 16 MB. Garbage collection runs on
 * the main thread only: concurrent sweeping frees ArrayBuffers on a helper thread, and when
 * the machine is busy that thread lags, so a step's peak held garbage it would not hold on an
 * idle machine (measured: the same rung came out 104 or 119 MB; single-threaded, 98–102 MB,
 * also with two children side by side).
 */
export const MEASUREMENT_NODE_ARGS: readonly string[] = Object.freeze(['--single-threaded-gc', '--min-semi-space-size=16', '--max-semi-space-size=16']);

/**
 * Measuring children at once by default: two where there are two cores. Each child measures
 * only itself (kernel high-water marks are per process), and with GC on the main thread
 * (MEASUREMENT_NODE_ARGS) two side by side measured as one alone did (the default suite's
 * projections three times, one or two at a time: the same within their intervals).
 */
export const DEFAULT_JOBS = Math.max(1, Math.min(2, availableParallelism()));

/** The package root (works from harness/ sources and from dist/harness). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export function defaultCacheDir(): string {
  return process.env['CELLBUDGET_CACHE'] ?? join(packageRoot(), '.cache', 'synthetic');
}

function strategyJobModule(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'jobs', 'strategy.js');
  return existsSync(sibling) ? sibling : resolve(packageRoot(), 'dist', 'harness', 'jobs', 'strategy.js');
}

export function environment(): ReportEnvironment {
  return {
    node: process.version,
    platform: process.platform,
    kernel: release(),
    arch: process.arch,
    cpus: cpus().length,
    total_memory_bytes: totalmem(),
    method: kernelHwmAvailable() ? 'kernel-hwm' : 'sampled-rss',
    cellbudget: VERSION,
  };
}

/** Generator options for a scenario's synthetic dataset at the scenario's scale. */
export function synthOptionsFor(scenario: BuiltinScenario, index: number): SynthOptions {
  const d = scenario.datasets[index]!;
  const s = scaleSynthetic(d.synthetic!, scenario.scale, `${scenario.source}: datasets[${index}] (${d.name}).synthetic`, scenario.pipeline.split);
  return {
    cells: s.cells,
    features: s.features,
    cellLines: s.cell_lines,
    drugs: s.drugs,
    doses: s.doses,
    controlFraction: s.control_fraction,
    dtype: s.dtype,
    compression: s.compression,
    format: s.representation,
    ...(s.density !== undefined ? { density: s.density } : {}),
    dataLocation: scenario.pipeline.data_location.join('/'),
    seed: s.seed,
  };
}

/** Generate (once, cached by spec) every synthetic dataset of a scenario; returns the file per dataset. */
export async function materializeDatasets(scenario: BuiltinScenario, cacheDir: string, progress?: Progress): Promise<Array<{ name: string; file: string }>> {
  const out: Array<{ name: string; file: string }> = [];
  for (const [i, d] of scenario.datasets.entries()) {
    if (d.file !== undefined) {
      out.push({ name: d.name, file: d.file });
      continue;
    }
    const spec = resolveSynthSpec(synthOptionsFor(scenario, i));
    const file = join(cacheDir, `${synthSpecKey(spec)}.h5ad`);
    if (!existsSync(file)) {
      mkdirSync(cacheDir, { recursive: true });
      progress?.step(`generating ${d.name} (${spec.cells.toLocaleString('en-US')} cells)`);
      await synthesize(spec, file);
    }
    out.push({ name: d.name, file });
  }
  return out;
}

function summaryOf(s: Scenario): ScenarioSummary {
  return {
    name: s.name,
    scale: s.scale,
    definition: s.definition,
    n_datasets: s.kind === 'builtin' ? s.datasets.length : 0,
    ...(s.kind === 'builtin' && s.family ? { family: s.family.name } : {}),
  };
}

/** The rungs a built-in scenario is measured at under these options. */
export function ladderOf(s: BuiltinScenario, opts: Pick<RunScenariosOptions, 'ladder'> = {}): ReturnType<typeof planLadder> {
  return planLadder(s, opts.ladder ?? s.ladder ?? DEFAULT_LADDER, { ...MEASUREMENT_ENV, ...s.env });
}

/** Run every scenario × strategy at every rung of its ladder; never throws for a run that died (it is reported). */
export async function runScenarios(scenarios: readonly Scenario[], opts: RunScenariosOptions = {}): Promise<Report> {
  const runs: RunRecord[] = [];
  const ladders = new Map(scenarios.map((s) => [s, s.kind === 'builtin' ? ladderOf(s, opts) : { scales: [s.scale], notes: [] }]));
  const total = scenarios.reduce((n, s) => n + (s.kind === 'builtin' ? strategiesOf(s, opts).length * ladders.get(s)!.scales.length : 1), 0);
  let index = 0;
  for (const scenario of scenarios) {
    if (scenario.kind === 'command') {
      index++;
      opts.progress?.startRun({ scenario: scenario.name, strategy: 'command', run: index, runs: total });
      runs.push(await runCommand(scenario, opts));
      continue;
    }
    const pipeline = parsePipelineConfig(scenario.pipeline, `${scenario.source}: pipeline`);
    const ladder = ladders.get(scenario)!;
    opts.progress?.startRun({ scenario: scenario.name, strategy: 'datasets', run: index + 1, runs: total });
    const filesAt = new Map<number, Array<{ name: string; file: string }>>();
    for (const scale of ladder.scales) filesAt.set(scale, await materializeDatasets({ ...scenario, scale }, opts.cacheDir ?? defaultCacheDir(), opts.progress));
    const facts = await fileFacts(scenario);
    const strategies = strategiesOf(scenario, opts);
    // One processing order for every rung (the main rung's), so their steps line up.
    const orders = new Map(strategies.map((st) => [st, processingOrder(scenario, st, facts, opts)]));
    const tasks = strategies.flatMap((strategy) => ladder.scales.map((scale) => ({ strategy, scale })));
    const done = await pool(tasks, opts.jobs ?? DEFAULT_JOBS, (t) => {
      index++;
      opts.progress?.startRun({ scenario: scenario.name, strategy: ladder.scales.length > 1 ? `${t.strategy} @ ${t.scale}` : t.strategy, run: index, runs: total });
      return runBuiltin({ ...scenario, scale: t.scale }, t.strategy, pipeline, filesAt.get(t.scale)!, facts, opts, orders.get(t.strategy));
    });
    for (const strategy of strategies) {
      const rungs = done.filter((_, i) => tasks[i]!.strategy === strategy);
      const main = rungs.find((r) => r.scale === scenario.scale) ?? rungs[0]!;
      const run = withProjection(main, rungs.map((r) => rungOf(r)), ladder.notes);
      run.budgets = run.status === 'ok' ? evaluateBudgets(run, opts.budgets ?? scenario.budgets) : [];
      runs.push(run);
      const verdict = run.status !== 'ok' ? `✗ ${run.status}: ${run.failure?.reason ?? ''}` : run.budgets.some((b) => !b.ok) ? '✗ budget' : run.budgets.some((b) => b.verdict === 'uncertain') ? '? budget uncertain' : '✓';
      opts.progress?.log(`${scenario.name} / ${strategy}: ${verdict}`);
    }
  }
  opts.progress?.stop();
  return {
    version: 1,
    created: new Date().toISOString(),
    environment: environment(),
    scenarios: scenarios.map(summaryOf),
    runs,
  };
}

/**
 * Run `fn` over `items` with at most `jobs` at a time; results in item order. Each task is a
 * child of its own, so concurrent children measure themselves only (kernel high-water marks
 * are per process).
 */
async function pool<T, R>(items: readonly T[], jobs: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

function strategiesOf(s: BuiltinScenario, opts: RunScenariosOptions): StrategyName[] {
  return opts.strategies ? s.strategies.filter((x) => opts.strategies!.includes(x)) : s.strategies;
}

async function runBuiltin(
  scenario: BuiltinScenario,
  strategy: StrategyName,
  pipeline: PipelineConfig,
  files: Array<{ name: string; file: string }>,
  facts: Record<string, FileFacts>,
  opts: RunScenariosOptions,
  order: string[] | undefined = processingOrder(scenario, strategy, facts, opts),
): Promise<RunRecord> {
  const budgets = opts.budgets ?? scenario.budgets;
  const payload: StrategyJobPayload = {
    scenario: scenario.name,
    strategy,
    datasets: files,
    pipeline,
    repeat: scenario.repeat,
    ...(budgets.leakBytes !== undefined ? { leak_limit_bytes: budgets.leakBytes * scenario.scale } : {}),
    ...(scenario.windowRows !== undefined ? { window_rows: scenario.windowRows } : {}),
    ...(order ? { order } : {}),
  };
  const child = await runChild<StrategyJobResult>({
    job: { module: strategyJobModule(), payload, ...(opts.verbose ? { verbose: true } : {}) },
    env: { ...MEASUREMENT_ENV, ...scenario.env },
    nodeArgs: [...MEASUREMENT_NODE_ARGS],
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(scenario.nodeMemoryBytes !== undefined ? { memoryCap: { netRssBytes: scenario.nodeMemoryBytes * scenario.scale } } : {}),
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    onMessage: (m) => {
      if (m.type === 'step-start') opts.progress?.step(m.label);
    },
  });
  const result = child.result;
  let steps = child.steps;
  let predicted: { peak: number; final: number } | undefined;
  try {
    const pred = predictRun({ scenario, scale: scenario.scale, facts }, strategy, opts.calibration ?? MEASURED_CALIBRATION, { steps });
    steps = steps.map((s, i) => {
      const p = pred[i]!;
      const peakErr = relativeError(p.predicted_peak_bytes, s.peak_bytes);
      const endErr = relativeError(p.predicted_end_bytes, s.end_bytes);
      return {
        ...s,
        predicted_peak_bytes: p.predicted_peak_bytes,
        predicted_end_bytes: p.predicted_end_bytes,
        ...(peakErr !== undefined ? { predicted_peak_error: peakErr } : {}),
        ...(endErr !== undefined ? { predicted_end_error: endErr } : {}),
      };
    });
    if (pred.length > 0) predicted = { peak: Math.max(...pred.map((p) => p.predicted_peak_bytes)), final: pred[pred.length - 1]!.predicted_end_bytes };
  } catch (e) {
    // A scenario the model cannot describe still gets measured; the report just lacks predictions.
    if (!isCellbudgetError(e)) throw e;
  }
  const measured = measuredRunFields(child);
  // A job that threw one of our errors (a bad file, a config the data contradicts) is the
  // user's to fix: keep its code so the CLI can exit 2.
  const jobError = child.failure?.error?.code ? child.failure.error : undefined;
  const record: RunRecord = {
    scenario: scenario.name,
    strategy,
    scale: scenario.scale,
    ...measured,
    ...(measured.failure && jobError ? { failure: { ...measured.failure, reason: `[${jobError.code}] ${jobError.message}`, code: jobError.code! } } : {}),
    ...(order ? { order } : {}),
    steps,
    budgets: [],
    retained: result?.retained ?? {},
    ...(result?.leak
      ? {
          leak: {
            repetitions: result.leak.repetitions,
            growth_per_repetition_bytes: result.leak.growth_per_repetition_bytes,
            limit_bytes: result.leak.limit_bytes,
            ok: result.leak.ok,
            ...(result.leak.top_growing ? { top_growing: result.leak.top_growing } : {}),
          },
        }
      : {}),
    ...(predicted ? { predicted_peak_bytes: predicted.peak, predicted_final_bytes: predicted.final } : {}),
    ...(predicted && child.status === 'ok' ? runErrors(predicted, measured.peak_bytes, measured.final_bytes) : {}),
  };
  record.budgets = child.status === 'ok' ? evaluateBudgets(record, budgets) : [];
  return record;
}

/** The order `auto` picks (the planner's, at the run's scale), or undefined when processing as listed. */
function processingOrder(scenario: BuiltinScenario, strategy: StrategyName, facts: Record<string, FileFacts>, opts: RunScenariosOptions): string[] | undefined {
  if ((opts.order ?? scenario.order ?? 'given') !== 'auto') return undefined;
  const models = datasetsFromScenario(scenario, { scale: scenario.scale, documented: false, facts });
  const order = chooseOrder('auto', models, strategy, { constants: (opts.calibration ?? MEASURED_CALIBRATION).constants });
  return order.every((n, i) => n === scenario.datasets[i]?.name) ? undefined : order;
}

async function runCommand(scenario: CommandScenario, opts: RunScenariosOptions): Promise<RunRecord> {
  const budgets = opts.budgets ?? scenario.budgets;
  const logPath = opts.outDir ? join(opts.outDir, `${scenario.name}.command.log`) : undefined;
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  return runCommandScenario(
    {
      name: scenario.name,
      command: scenario.command,
      cwd: scenario.cwd,
      env: scenario.env,
      scale: scenario.scale,
      budgets,
      baseline: scenario.baseline,
      ...(scenario.timeoutMs !== undefined ? { timeout_ms: scenario.timeoutMs } : {}),
    },
    {
      ...(logPath ? { logPath } : {}),
      onStep: (s) => opts.progress?.step(s.label),
      ...(opts.verbose && opts.onOutput ? { onLine: (_stream: 'stdout' | 'stderr', line: string) => opts.onOutput!(`${line}\n`) } : {}),
    },
  );
}

function runErrors(predicted: { peak: number; final: number }, peak: number, final: number): Pick<RunRecord, 'predicted_peak_error' | 'predicted_final_error'> {
  const p = relativeError(predicted.peak, peak);
  const f = relativeError(predicted.final, final);
  return { ...(p !== undefined ? { predicted_peak_error: p } : {}), ...(f !== undefined ? { predicted_final_error: f } : {}) };
}
