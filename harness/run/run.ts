/**
 * `cellbudget run`: replay scenarios against the real pipeline. Every scenario × strategy
 * runs at each rung of its scale ladder in a fresh child (`--expose-gc`), measured per step;
 * the report gathers the runs projected to full scale, budgets judged on the projection, the
 * model's predictions and the retained digests.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus, homedir, release, totalmem } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CellbudgetError, isCellbudgetError } from '../../src/core/errors.js';
import { formatBytes } from '../../src/core/units.js';
import { resolveSynthSpec, synthOptionsOf, type SynthOptions } from '../../src/h5ad/synth.js';
import { kernelHwmAvailable } from '../../src/memory/proc.js';
import { datasetsFromScenario, MEASURED_CALIBRATION, predictRun, type FileFacts } from '../../src/simulator/index.js';
import { chooseOrder } from '../../src/simulator/order.js';
import type { OrderMode } from '../../src/core/names.js';
import { fileFacts } from './facts.js';
import type { Calibration } from '../../src/simulator/calibration.js';
import type { StrategyName } from '../../src/core/names.js';
import { VERSION } from '../report/version.js';
import { evaluateBudgets } from '../report/budgets.js';
import { cachedSynthetic, cachedSyntheticPath } from './cache.js';
import {
  localExecutor,
  runOnExecutors,
  type ChildRunOutcome,
  type ChildRunSpec,
  type DatasetToGenerate,
  type Executor,
  type ExecutorName,
  type RunPlace,
} from './executor.js';
import type { StrategyJobPayload, StrategyJobResult } from '../process/jobs/strategy.js';
import { DEFAULT_LADDER, planLadder, type LadderPlan, type LadderSpec } from './ladder.js';
import { projectionOf, rungOf, withProjection } from '../report/projection.js';
import type { Progress } from './progress.js';
import { relativeError } from '../../src/core/figures.js';
import type { Report, ReportEnvironment, RunRecord, ScenarioSummary } from '../../src/core/report.js';
import { scaleSynthetic } from '../../src/scenario/synthetic.js';
import { expandedScenario, type Budgets, type BuiltinScenario, type CommandScenario, type Scenario } from '../../src/scenario/model.js';
import { measuredRunFields, type ChildRunResult } from '../process/spawn.js';

export interface RunScenariosOptions {
  /** Run these strategies instead of the ones each scenario lists (`--strategy`). */
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
  /** File facts per scenario name, as the preflight read them (read again when absent). */
  facts?: ReadonlyMap<string, Record<string, FileFacts>>;
  /** Run every scenario here (`local`) or as Slurm jobs (`slurm`), whatever the scenarios say (`--executor`). */
  executor?: ExecutorName;
  /** For scenarios without `executor:` (a config file's `executor`); default local. */
  defaultExecutor?: ExecutorName;
  /** The executors to use (default: local only; `slurm` must be given when a run asks for it). */
  executors?: Partial<Record<ExecutorName, Executor>>;
  /** Abort: no further local run starts; Slurm cancels its jobs and gathers what they wrote. */
  signal?: AbortSignal;
  /** Scale ladder replacing the scenarios' `ladder:` (harness/run/ladder.ts). */
  ladder?: LadderSpec;
  /** Local measuring children running at once (default DEFAULT_JOBS). */
  jobs?: number;
}

/**
 * Allocator settings every built-in run's child gets unless its scenario's `env:` sets them
 * (docs/measurement.md#the-measurement-protocol). They make a small rung's allocator behave as a full-scale run's does, which is
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
 * V8 settings of every built-in run's child (docs/measurement.md#the-measurement-protocol). The young generation is fixed at its
 * Node 20 maximum (2 × 16 MiB), warmed up before the baseline (harness/process/jobs/strategy.ts): a
 * memory-reducing GC, which external memory pressure triggers at some scales and not others,
 * could otherwise shrink it mid-run and move a figure by 16 MB. Garbage collection runs on
 * the main thread only: concurrent sweeping frees ArrayBuffers on a helper thread, and when
 * the machine is busy that thread lags, so a step's peak held garbage it would not hold on an
 * idle machine (measured: the same rung came out 104 or 119 MB; single-threaded, 98–102 MB,
 * also with two children side by side).
 */
export const MEASUREMENT_NODE_ARGS: readonly string[] = Object.freeze([
  '--single-threaded-gc',
  '--min-semi-space-size=16',
  '--max-semi-space-size=16',
]);

/**
 * Measuring children at once by default: two where there are two cores. Each child measures
 * only itself (kernel high-water marks are per process), and with GC on the main thread
 * (MEASUREMENT_NODE_ARGS) two side by side measured as one alone did (the default suite's
 * projections three times, one or two at a time: the same within their intervals).
 */
export const DEFAULT_JOBS = Math.max(1, Math.min(2, availableParallelism()));

/** Where a scenario's runs happen: `--executor`, else the scenario's `executor:`, else the default. */
export function executorOf(s: Scenario, opts: Pick<RunScenariosOptions, 'executor' | 'defaultExecutor'>): ExecutorName {
  return opts.executor ?? s.executor ?? opts.defaultExecutor ?? 'local';
}

/** The package root (works from harness/run sources and from dist/harness/run). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/**
 * Where synthetic datasets are generated once and reused: CELLBUDGET_CACHE, else the
 * checkout's .cache/synthetic, or — installed as a dependency, where node_modules is no
 * place to write — the user's cache folder (XDG_CACHE_HOME or ~/.cache)/cellbudget.
 */
export function defaultCacheDir(): string {
  const set = process.env['CELLBUDGET_CACHE'];
  if (set) return set;
  const root = packageRoot();
  if (!root.split(sep).includes('node_modules')) return join(root, '.cache', 'synthetic');
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'cellbudget', 'synthetic');
}

function strategyJobModule(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const built = join(here, '..', 'process', 'jobs', 'strategy.js');
  return existsSync(built) ? built : resolve(packageRoot(), 'dist', 'harness', 'process', 'jobs', 'strategy.js');
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
  const s = scaleSynthetic(
    d.synthetic!,
    scenario.scale,
    `${scenario.source}: datasets[${index}] (${d.name}).synthetic`,
    scenario.pipeline.split,
  );
  return synthOptionsOf(s, scenario.pipeline.data_location.join('/'));
}

/** Generate (once, cached by spec) every synthetic dataset of a scenario; returns the file per dataset. */
export async function materializeDatasets(
  scenario: BuiltinScenario,
  cacheDir: string,
  progress?: Progress,
): Promise<Array<{ name: string; file: string }>> {
  const out: Array<{ name: string; file: string }> = [];
  for (const [i, d] of scenario.datasets.entries()) {
    if (d.file !== undefined) {
      out.push({ name: d.name, file: d.file });
      continue;
    }
    const spec = resolveSynthSpec(synthOptionsFor(scenario, i));
    const { file } = await cachedSynthetic(spec, cacheDir, (reason) => {
      progress?.step(
        `generating ${d.name} (${spec.cells.toLocaleString('en-US')} cells)${reason === 'not generated yet' ? '' : `: the cached copy is unusable, ${reason}`}`,
      );
    });
    out.push({ name: d.name, file });
  }
  return out;
}

function summaryOf(s: Scenario): ScenarioSummary {
  return {
    name: s.name,
    scale: s.scale,
    definition: s.definition,
    ...(s.kind === 'builtin' ? { expanded: expandedScenario(s) } : {}),
    n_datasets: s.kind === 'builtin' ? s.datasets.length : 0,
    ...(s.kind === 'builtin' && s.family ? { family: s.family.name } : {}),
  };
}

/** The rungs a built-in scenario is measured at under these options. */
export function ladderOf(s: BuiltinScenario, opts: Pick<RunScenariosOptions, 'ladder'> = {}): LadderPlan {
  return planLadder(s, opts.ladder ?? s.ladder ?? DEFAULT_LADDER, { ...MEASUREMENT_ENV, ...s.env });
}

/**
 * What a run of these scenarios will measure: scenario × strategy, `--strategy` replacing
 * each built-in scenario's list. Refuses (exit 2) what cannot run — a built-in strategy
 * asked of a command scenario — and a selection that would measure nothing.
 */
export interface PlannedRun {
  scenario: Scenario;
  strategy: StrategyName | 'command';
}

export function plannedRuns(scenarios: readonly Scenario[], strategies?: readonly StrategyName[]): PlannedRun[] {
  const planned = scenarios.flatMap((s): PlannedRun[] => {
    if (s.kind === 'builtin') return (strategies ?? s.strategies).map((strategy) => ({ scenario: s, strategy }));
    if (strategies && strategies.length > 0) {
      throw new CellbudgetError(
        'USAGE',
        `--strategy ${strategies.join(',')} asks for built-in strategies, but '${s.name}' (${s.source}) is a command scenario: it measures its own command, not the built-in pipeline.`,
        {
          key: '--strategy',
          value: strategies.join(','),
          hint: `Run '${s.name}' without --strategy, or run the built-in scenarios on their own with it.`,
        },
      );
    }
    return [{ scenario: s, strategy: 'command' }];
  });
  if (planned.length === 0) {
    throw new CellbudgetError('NOTHING_TO_RUN', 'Nothing would be measured: no scenario was given, or none has a strategy to run.', {
      hint: 'Name at least one scenario (e.g. `cellbudget run quick`); `--strategy` picks which strategies run.',
    });
  }
  return planned;
}

/**
 * A child run to do: the spec an executor runs (plain data), and what turning its outcome
 * into a report record needs.
 */
export interface PlannedChildRun {
  spec: ChildRunSpec;
  scenario: Scenario;
  budgets: Budgets;
  /** Built-in runs: the file facts (for the predictions) and the processing order, when not as listed. */
  facts?: Record<string, FileFacts>;
  order?: string[];
  /**
   * Built-in runs: the scale ladder this rung belongs to and the run it makes up with the other
   * rungs (`group`: the index of the first rung's child run), at the scenario's own scale.
   */
  ladder?: { plan: LadderPlan; group: number; ownScale: number };
}

/**
 * Run every scenario × strategy; never throws for a run that died (it is reported).
 *
 * Three phases, the seam between the run loop and where runs happen: plan the child runs,
 * one per rung of each scenario × strategy's ladder (`planChildRuns`), hand them to the
 * executors (`runOnExecutors`: local ones here, `jobs` at a time, Slurm ones as jobs), and
 * assemble each outcome into its rung's record (`assembleRun`) as it finishes; once a run's
 * rungs are all in, they make one record projected to full scale (`projectRungs`).
 */
export async function runScenarios(scenarios: readonly Scenario[], opts: RunScenariosOptions = {}): Promise<Report> {
  const planned = await planChildRuns(scenarios, opts);
  const runs = await executeChildRuns(planned, opts);
  opts.progress?.stop();
  return {
    version: 1,
    created: new Date().toISOString(),
    environment: environment(),
    scenarios: scenarios.map(summaryOf),
    runs,
  };
}

/** Every child run of these scenarios, in report order (scenario by scenario, strategy by strategy). */
export async function planChildRuns(scenarios: readonly Scenario[], opts: RunScenariosOptions = {}): Promise<PlannedChildRun[]> {
  plannedRuns(scenarios, opts.strategies);
  const planned: PlannedChildRun[] = [];
  for (const scenario of scenarios) {
    const executor = executorOf(scenario, opts);
    const budgets = opts.budgets ?? scenario.budgets;
    if (scenario.kind === 'command') {
      planned.push({ spec: commandSpec(scenario, planned.length, executor, budgets, opts), scenario, budgets });
      continue;
    }
    const pipeline = scenario.pipeline;
    const ladder = ladderOf(scenario, opts);
    const rungs = ladder.scales.map((scale) => {
      const at: BuiltinScenario = { ...scenario, scale };
      const generate = datasetsToGenerate(at, opts.cacheDir ?? defaultCacheDir());
      return {
        at,
        generate,
        files: scenario.datasets.map((d) => ({ name: d.name, file: d.file ?? generate.find((g) => g.name === d.name)!.file })),
      };
    });
    const facts = opts.facts?.get(scenario.name) ?? (await fileFacts(scenario));
    for (const strategy of strategiesOf(scenario, opts)) {
      // One processing order for every rung (the scenario's own scale's), so their steps line up.
      const order = processingOrder(scenario, strategy, facts, opts);
      const group = planned.length;
      for (const { at, generate, files } of rungs) {
        const payload: StrategyJobPayload = {
          scenario: scenario.name,
          strategy,
          datasets: files,
          pipeline,
          repeat: scenario.repeat,
          ...(budgets.leakBytes !== undefined ? { leak_limit_bytes: budgets.leakBytes * at.scale } : {}),
          ...(scenario.windowRows !== undefined ? { window_rows: scenario.windowRows } : {}),
          ...(order ? { order } : {}),
        };
        const predictedPeak = predictedPeakOf(at, strategy, facts, opts);
        const index = planned.length;
        planned.push({
          scenario: at,
          budgets,
          facts,
          ...(order ? { order } : {}),
          ladder: { plan: ladder, group, ownScale: scenario.scale },
          spec: {
            kind: 'builtin',
            index,
            id: runId(index, scenario.name, ladder.scales.length > 1 ? `${strategy}-${at.scale}` : strategy),
            scenario: scenario.name,
            strategy,
            scale: at.scale,
            executor,
            generate,
            child: {
              job: { module: strategyJobModule(), payload, ...(opts.verbose ? { verbose: true } : {}) },
              env: { ...MEASUREMENT_ENV, ...scenario.env },
              nodeArgs: [...MEASUREMENT_NODE_ARGS],
              ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
              ...(scenario.nodeMemoryBytes !== undefined ? { memoryCap: { netRssBytes: scenario.nodeMemoryBytes * at.scale } } : {}),
            },
            ...(predictedPeak !== undefined ? { predictedPeakBytes: predictedPeak } : {}),
          },
        });
      }
    }
  }
  return planned;
}

/**
 * Run the planned child runs on their executors; one record per scenario × strategy that ran
 * (its rungs projected to full scale), in report order.
 */
export async function executeChildRuns(planned: readonly PlannedChildRun[], opts: RunScenariosOptions = {}): Promise<RunRecord[]> {
  const rungRecords: Array<RunRecord | undefined> = new Array(planned.length).fill(undefined);
  const runs = new Map<number, RunRecord>();
  const groupOf = (i: number): number => planned[i]!.ladder?.group ?? i;
  const members = new Map<number, number[]>();
  planned.forEach((_, i) => members.set(groupOf(i), [...(members.get(groupOf(i)) ?? []), i]));
  const total = members.size;
  let finished = 0;
  await runOnExecutors(
    planned.map((p) => p.spec),
    { local: localExecutor({ jobs: opts.jobs ?? DEFAULT_JOBS }), ...opts.executors },
    {
      onStart: (spec) => {
        const rungs = planned[spec.index]!.ladder?.plan.scales.length ?? 1;
        opts.progress?.startRun({
          scenario: spec.scenario,
          strategy: rungs > 1 ? `${spec.strategy} @ ${spec.scale}` : spec.strategy,
          run: spec.index + 1,
          runs: planned.length,
        });
      },
      onStep: (_spec, label) => opts.progress?.step(label),
      onGenerate: (_spec, name, cells, reason) =>
        opts.progress?.step(
          `generating ${name} (${cells.toLocaleString('en-US')} cells)${reason === 'not generated yet' ? '' : `: the cached copy is unusable, ${reason}`}`,
        ),
      onNote: (text) => opts.progress?.log(text),
      ...(opts.verbose && opts.onOutput ? { onOutput: opts.onOutput } : {}),
      onDone: (spec, outcome) => {
        rungRecords[spec.index] = assembleRun(planned[spec.index]!, outcome, opts);
        const group = groupOf(spec.index);
        const rungs = members.get(group)!.map((i) => rungRecords[i]);
        if (rungs.some((r) => r === undefined)) return;
        const run = projectRungs(planned[group]!, rungs as RunRecord[]);
        runs.set(group, run);
        finished++;
        opts.progress?.log(`[${finished}/${total}] ${finishedRunLine(run)}`);
      },
    },
    opts.signal,
  );
  // Runs whose rungs did not all run (an abort) still report the rungs that did.
  for (const [group, idx] of members) {
    if (runs.has(group)) continue;
    const done = idx.map((i) => rungRecords[i]).filter((r): r is RunRecord => r !== undefined);
    if (done.length > 0) runs.set(group, projectRungs(planned[group]!, done));
  }
  return [...runs.keys()].sort((a, b) => a - b).map((g) => runs.get(g)!);
}

/**
 * One run from its rungs: the record of the rung at the scenario's own scale (always measured;
 * else the first), projected to full scale from every rung, with budgets judged on the projection.
 */
function projectRungs(first: PlannedChildRun, rungs: readonly RunRecord[]): RunRecord {
  if (first.scenario.kind === 'command' || !first.ladder) return rungs[0]!;
  const main = rungs.find((r) => r.scale === first.ladder!.ownScale) ?? rungs[0]!;
  const run = withProjection(
    main,
    rungs.map((r) => rungOf(r)),
    first.ladder.plan.notes,
  );
  run.budgets = run.status === 'ok' ? evaluateBudgets(run, first.budgets) : [];
  // A rung's datasets have their own number of split_by tuples: what any rung warned about is the run's.
  const warnings = [...new Set(rungs.flatMap((r) => r.warnings ?? []))];
  if (warnings.length > 0) run.warnings = warnings;
  return run;
}

/** `007-quick-eager`: the position and names, safe as a file name. */
function runId(index: number, scenario: string, strategy: string): string {
  return `${String(index + 1).padStart(3, '0')}-${scenario}-${strategy}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** The synthetic datasets of a scenario at its scale, with where the cache keeps each. */
function datasetsToGenerate(scenario: BuiltinScenario, cacheDir: string): DatasetToGenerate[] {
  return scenario.datasets.flatMap((d, i) => {
    if (d.file !== undefined) return [];
    const spec = resolveSynthSpec(synthOptionsFor(scenario, i));
    return [{ name: d.name, spec, cacheDir, file: cachedSyntheticPath(spec, cacheDir) }];
  });
}

/** The simulator's peak for a run at its scale, net of baseline; undefined when the model cannot describe it. */
function predictedPeakOf(
  scenario: BuiltinScenario,
  strategy: StrategyName,
  facts: Record<string, FileFacts>,
  opts: RunScenariosOptions,
): number | undefined {
  try {
    const pred = predictRun({ scenario, scale: scenario.scale, facts }, strategy, opts.calibration ?? MEASURED_CALIBRATION);
    return pred.reduce((m, p) => Math.max(m, p.predicted_peak_bytes), 0);
  } catch (e) {
    if (!isCellbudgetError(e)) throw e;
    return undefined;
  }
}

function commandSpec(
  scenario: CommandScenario,
  index: number,
  executor: ExecutorName,
  budgets: Budgets,
  opts: RunScenariosOptions,
): ChildRunSpec {
  const logPath = opts.outDir ? join(opts.outDir, `${scenario.name}.command.log`) : undefined;
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  return {
    kind: 'command',
    index,
    id: runId(index, scenario.name, 'command'),
    scenario: scenario.name,
    strategy: 'command',
    scale: scenario.scale,
    executor,
    command: {
      name: scenario.name,
      command: scenario.command,
      cwd: scenario.cwd,
      env: scenario.env,
      scale: scenario.scale,
      budgets,
      baseline: scenario.baseline,
      ...(scenario.timeoutMs !== undefined ? { timeout_ms: scenario.timeoutMs } : {}),
    },
    ...(logPath ? { logPath } : {}),
    // A command has no model: its peak budget (at its scale) is what it is expected to need.
    ...(budgets.peakBytes !== undefined ? { predictedPeakBytes: budgets.peakBytes * scenario.scale } : {}),
  };
}

/** The report record of a finished child run. */
export function assembleRun(p: PlannedChildRun, outcome: ChildRunOutcome, opts: RunScenariosOptions): RunRecord {
  const record = outcome.kind === 'command' ? outcome.record : builtinRecord(p, outcome.child, opts);
  return withPlace(record, outcome.place);
}

/** The executor's fields on a record; a failure the user must fix gets its code (the CLI exits 2). */
function withPlace(record: RunRecord, place: RunPlace): RunRecord {
  const out: RunRecord = {
    ...record,
    executor: place.executor,
    ...(place.job_id !== undefined ? { job_id: place.job_id } : {}),
    ...(place.node !== undefined ? { node: place.node } : {}),
    ...(place.requested_memory_bytes !== undefined ? { requested_memory_bytes: place.requested_memory_bytes } : {}),
  };
  if (place.code !== undefined && out.failure && out.failure.code === undefined)
    out.failure = { ...out.failure, reason: `[${place.code}] ${out.failure.reason}`, code: place.code };
  return out;
}

/** One plain line for a finished run: scenario, strategy, peak (projected to full scale), verdict. */
export function finishedRunLine(run: RunRecord): string {
  const p = projectionOf(run);
  const peak = `peak ${formatBytes(p.peak_bytes)}${run.scale !== 1 ? ` full scale (${formatBytes(run.peak_bytes)} measured at ${run.scale})` : ''}`;
  const broken = run.budgets.filter((b) => !b.ok).map((b) => b.metric);
  const uncertain = run.budgets.filter((b) => b.ok && b.verdict === 'uncertain').map((b) => b.metric);
  const verdict =
    run.status !== 'ok'
      ? `✗ ${run.status}${run.failure?.step ? ` in '${run.failure.step}'` : ''}: ${run.failure?.reason ?? ''}`
      : broken.length > 0
        ? `✗ over budget: ${broken.join(', ')}`
        : uncertain.length > 0
          ? `? uncertain: ${uncertain.join(', ')}`
          : run.budgets.length > 0
            ? '✓ budgets met'
            : '✓';
  return `${run.scenario} / ${run.strategy}: ${peak} — ${verdict}`;
}

function strategiesOf(s: BuiltinScenario, opts: RunScenariosOptions): readonly StrategyName[] {
  return opts.strategies ?? s.strategies;
}

function builtinRecord(p: PlannedChildRun, child: ChildRunResult<StrategyJobResult>, opts: RunScenariosOptions): RunRecord {
  const scenario = p.scenario as BuiltinScenario;
  const strategy = p.spec.strategy as StrategyName;
  const facts = p.facts ?? {};
  const order = p.order;
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
    if (pred.length > 0)
      predicted = { peak: Math.max(...pred.map((p) => p.predicted_peak_bytes)), final: pred[pred.length - 1]!.predicted_end_bytes };
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
    ...(measured.failure && jobError
      ? { failure: { ...measured.failure, reason: `[${jobError.code}] ${jobError.message}`, code: jobError.code! } }
      : {}),
    ...(order ? { order } : {}),
    steps,
    budgets: [],
    retained: result?.retained ?? {},
    ...(result?.warnings && result.warnings.length > 0 ? { warnings: [...result.warnings] } : {}),
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
  // Budgets are judged once the rungs are projected (projectRungs), not on one rung.
  return record;
}

/** The order `auto` picks (the planner's, at the run's scale), or undefined when processing as listed. */
function processingOrder(
  scenario: BuiltinScenario,
  strategy: StrategyName,
  facts: Record<string, FileFacts>,
  opts: RunScenariosOptions,
): string[] | undefined {
  if ((opts.order ?? scenario.order ?? 'given') !== 'auto') return undefined;
  const models = datasetsFromScenario(scenario, { scale: scenario.scale, documented: false, facts });
  const order = chooseOrder('auto', models, strategy, { constants: (opts.calibration ?? MEASURED_CALIBRATION).constants });
  return order.every((n, i) => n === scenario.datasets[i]?.name) ? undefined : order;
}

function runErrors(
  predicted: { peak: number; final: number },
  peak: number,
  final: number,
): Pick<RunRecord, 'predicted_peak_error' | 'predicted_final_error'> {
  const p = relativeError(predicted.peak, peak);
  const f = relativeError(predicted.final, final);
  return { ...(p !== undefined ? { predicted_peak_error: p } : {}), ...(f !== undefined ? { predicted_final_error: f } : {}) };
}
