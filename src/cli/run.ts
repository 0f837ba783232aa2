import { resolve } from 'node:path';
import type { RegisterCommand } from './context.js';
import { CellbudgetError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import { EXECUTOR_NAMES, ORDER_MODES, type OrderMode, type StrategyName } from '../core/names.js';
import {
  choiceOption,
  listOption,
  percent,
  positiveDuration,
  positiveInteger,
  positiveSize,
  repeatedOption,
  scale,
  strategiesOption,
  thresholds,
  valueOption,
} from './options.js';
import { calibrationLabel, readCalibration } from './plan.js';
import { loadScenarios } from '../../harness/run/scenarios.js';
import { parseBudgetFlag, withBudgetFlags, type BudgetFlag } from '../../harness/report/budgets.js';
import { runScenarios, defaultCacheDir, plannedRuns, executorOf } from '../../harness/run/run.js';
import { executorSettings, loadSettings, SETTINGS_FILE, type ExecutorFlags } from '../../harness/api/settings.js';
import { slurmExecutor, slurmPreflight } from '../../harness/slurm/executor.js';
import type { Scenario } from '../../harness/run/scenarios.js';
import { createProgress } from '../../harness/run/progress.js';
import { compareReports, loadReport, medianRuns, formatComparison } from '../../harness/report/compare.js';
import { writeReportDir } from '../../harness/report/write-report.js';
import { checkWritableDir, formatPreflight, preflight } from '../../harness/run/preflight.js';
import type { Report, RunRecord } from '../core/report.js';
import { parseLadderFlag, type LadderSpec } from '../../harness/run/ladder.js';
import { formatScales, formatSpread, projectionOf, stepProjectionOf } from '../../harness/report/projection.js';
import { slurmTime } from '../../harness/slurm/slurm.js';
import { NONLINEAR_RESIDUAL } from '../core/projection.js';
import { baselineNote, peakMeaning } from '../core/methods.js';
import { scenarioWarnings } from '../core/figures.js';

/** What commander hands the action: every value already parsed by src/cli/options.ts. */
interface RunOpts extends ExecutorFlags {
  out: string;
  strategy?: StrategyName[];
  budget?: BudgetFlag[];
  json?: boolean;
  verbose?: boolean;
  baseline?: string;
  warn: number;
  fail: number;
  runs: number;
  cache?: string;
  calibration?: string;
  timeout?: number;
  charts: boolean;
  reportOnly?: boolean;
  order?: OrderMode;
  scale?: number;
  onlyDataset?: string[];
  config?: string;
  ladder?: LadderSpec;
  strict?: boolean;
  jobs?: number;
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * --only-dataset: each built-in scenario with only these datasets (the first left becomes the
 * primary), named `<scenario>@<datasets>`: one dataset per task of a job array.
 */
function onlyDatasets(scenarios: Scenario[], names: string[] | undefined): Scenario[] {
  if (!names || names.length === 0) return scenarios;
  return scenarios.map((s) => {
    if (s.kind === 'command') {
      throw new CellbudgetError(
        'USAGE',
        `--only-dataset picks datasets of built-in scenarios, and '${s.name}' (${s.source}) is a command scenario.`,
        { key: '--only-dataset', hint: 'Leave the command scenario out, or run without --only-dataset.' },
      );
    }
    const unknown = names.filter((n) => !s.datasets.some((d) => d.name === n));
    if (unknown.length > 0) {
      throw new CellbudgetError(
        'USAGE',
        `--only-dataset ${unknown.join(', ')}: '${s.name}' has no such dataset; its datasets are ${s.datasets.map((d) => d.name).join(', ')}.`,
        {
          key: '--only-dataset',
          value: unknown.join(','),
          hint: 'Name datasets as the scenario lists them.',
        },
      );
    }
    return { ...s, name: `${s.name}@${names.join('+')}`, datasets: s.datasets.filter((d) => names.includes(d.name)) };
  });
}

/** --scale: every scenario at this scale (e.g. 1, full size, on a cluster node). */
function withScale(scenarios: Scenario[], scale: number | undefined): Scenario[] {
  return scale === undefined ? scenarios : scenarios.map((s) => ({ ...s, scale }));
}

export const registerRun: RegisterCommand = (program, ctx) => {
  program
    .command('run')
    .description(
      'Replay scenarios against the real pipeline, one fresh child per scenario × strategy; measure per-step peaks and check budgets (exit 1 when one breaks)',
    )
    .argument('<scenario...>', 'scenario YAML files or shipped names (default, original-fix, n-datasets, golden)')
    .option('-o, --out <dir>', 'report directory', 'reports/latest')
    .addOption(strategiesOption('-s, --strategy <names>', 'only these strategies; repeatable or comma-separated'))
    .addOption(
      listOption(
        '-b, --budget <metric=size>',
        'full-scale budget replacing the scenario’s, e.g. peak=400GB; repeatable or comma-separated (peak=400GB,final=140GB)',
        parseBudgetFlag,
      ),
    )
    .option('--baseline <report.json>', 'compare with an earlier report; exit 1 on a fail-tier regression')
    .addOption(valueOption('--warn <percent>', 'growth against the baseline that warns', percent).default(0.05, '5%'))
    .addOption(valueOption('--fail <percent>', 'growth against the baseline that fails', percent).default(0.1, '10%'))
    .addOption(valueOption('--runs <n>', 'run everything N times and report the median per step', positiveInteger).default(1))
    .option('--cache <dir>', 'where synthetic datasets are generated once and reused')
    .option(
      '--calibration <name|file>',
      'constants for the model column: measured (default), documented, or a file from `cellbudget calibrate`',
    )
    .addOption(valueOption('--timeout <duration>', 'kill a run after this long, e.g. 10m', positiveDuration))
    .addOption(
      choiceOption(
        '--order <mode>',
        'processing order: given (as listed) or auto (the planner’s lowest-peak order; the first dataset stays the primary)',
        ORDER_MODES,
        'an order mode',
      ),
    )
    .addOption(
      valueOption(
        '--ladder <rungs>',
        'scale ladder for the full-scale projection: N rungs (the scale, half, a quarter…; default 3), a list of scales, or off',
        parseLadderFlag,
      ),
    )
    .option('--strict', 'fail (exit 1) when a budget is uncertain: its projected interval straddles the limit')
    .addOption(valueOption('-j, --jobs <n>', 'measuring children at once (default 2 on two or more cores)', positiveInteger))
    .option('--no-charts', 'skip the PNG charts')
    .option('--report-only', 'report broken budgets but exit 0 for them (dead runs and bad input still fail); what `npm start` uses')
    .option('--json', 'print report.json to stdout instead of the table')
    .option('-v, --verbose', 'print a [MEMORY step] line per step from each child on stderr')
    .addOption(
      valueOption('--scale <s>', 'run every scenario at this scale instead of its own, e.g. 1 for full size on a cluster node', scale),
    )
    .addOption(
      listOption(
        '--only-dataset <name>',
        'run each built-in scenario with only this dataset (its own primary); repeatable or comma-separated: one dataset per array task',
        (name) => name,
      ),
    )
    .addOption(
      choiceOption(
        '--executor <name>',
        'where runs happen: local (a child here, one after another) or slurm (one Slurm job per run); default: each scenario’s executor:, else the settings file’s, else local',
        EXECUTOR_NAMES,
        'an executor',
      ),
    )
    .option('--config <file>', `settings file (executor, slurm: partition, account, work_dir, …); default ./${SETTINGS_FILE} when present`)
    .option('--work-dir <dir>', 'Slurm: folder shared with the compute nodes where jobs write their records (default <out>/slurm-jobs)')
    .option('--partition <name>', 'Slurm: partition to submit to (default: the cluster’s default)')
    .option('--account <name>', 'Slurm: account to charge')
    .addOption(valueOption('--time <limit>', 'Slurm: time limit per job, e.g. 4:00:00 or 4h', slurmTime))
    .addOption(
      valueOption(
        '--slurm-mem <size>',
        'Slurm: memory per job (default: each run’s predicted peak + 25%, plus what the job needs to start)',
        positiveSize,
      ),
    )
    .addOption(
      repeatedOption('--sbatch-arg <arg>', 'Slurm: extra sbatch argument for site specifics, repeatable (e.g. --sbatch-arg=--qos=long)'),
    )
    .addOption(
      valueOption(
        '--queue-timeout <duration>',
        'Slurm: cancel and report a job still pending after this long (default 1h)',
        positiveDuration,
      ),
    )
    .action(async (args: string[], opts: RunOpts) => {
      // Every option was judged as it was read; every scenario is judged before anything is measured.
      const compare = thresholds(opts);
      const scenarios = onlyDatasets(
        withScale(
          args.flatMap((a) => loadScenarios(a)),
          opts.scale,
        ),
        opts.onlyDataset,
      );
      const strategies = opts.strategy;
      // Refuse what cannot run (or would measure nothing) before the first child starts.
      plannedRuns(scenarios, strategies);
      const budgets = opts.budget ? withBudgetFlags(opts.budget) : undefined;
      const baseline = opts.baseline ? await loadReport(opts.baseline) : undefined;
      const calibration = opts.calibration ? readCalibration(opts.calibration) : undefined;
      const { timeout: timeoutMs, order, ladder, jobs } = opts;
      const outDir = resolve(opts.out);
      const cacheDir = opts.cache ? resolve(opts.cache) : defaultCacheDir();
      const choice = executorSettings(opts, loadSettings(opts.config), outDir);
      const remote = (s: Scenario): boolean => executorOf(s, choice) === 'slurm';
      const checked = await preflight(scenarios, {
        outDir,
        cacheDir,
        remote,
        ...(strategies ? { strategies } : {}),
        ...(calibration ? { calibration } : {}),
        ...(ladder !== undefined ? { ladder } : {}),
      });
      const onSlurm = scenarios.filter(remote);
      if (onSlurm.length > 0) {
        checkWritableDir(choice.slurm.workDir, 'Slurm work folder', '--work-dir');
        const estimates = plannedRuns(onSlurm, strategies).map((p) => {
          const s = p.scenario;
          const est = checked.runs.find((r) => r.scenario === s.name && r.strategy === p.strategy);
          const budget = (budgets ?? s.budgets).peakBytes;
          const peak = s.kind === 'command' ? (budget !== undefined ? budget * s.scale : undefined) : est?.predicted_peak_bytes;
          return {
            kind: s.kind,
            scenario: s.name,
            strategy: p.strategy,
            scale: s.scale,
            ...(peak !== undefined ? { predictedPeakBytes: peak } : {}),
          };
        });
        await slurmPreflight(estimates, choice.slurm);
      }
      if (opts.verbose) ctx.io.stderr.write(`${formatPreflight(checked)}\n`);
      const progress = createProgress({ stream: ctx.io.stderr });
      const reports: Report[] = [];
      // Interrupting the harness cancels its Slurm jobs (scancel) and still writes what they recorded; a second signal ends it at once.
      const abort = new AbortController();
      let interrupted: NodeJS.Signals | undefined;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (interrupted) {
          removeSignalHandlers();
          process.kill(process.pid, sig);
          return;
        }
        interrupted = sig;
        ctx.io.stderr.write(`\ncellbudget: ${sig}: cancelling the Slurm jobs (again to quit at once)\n`);
        abort.abort(new Error(`cellbudget was interrupted (${sig})`));
      };
      const removeSignalHandlers = (): void => {
        for (const sig of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) process.removeListener(sig, onSignal);
      };
      if (onSlurm.length > 0) for (const sig of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) process.on(sig, onSignal);
      try {
        for (let i = 0; i < opts.runs && !abort.signal.aborted; i++) {
          reports.push(
            await runScenarios(scenarios, {
              ...(choice.executor ? { executor: choice.executor } : {}),
              ...(choice.defaultExecutor ? { defaultExecutor: choice.defaultExecutor } : {}),
              ...(onSlurm.length > 0 ? { executors: { slurm: slurmExecutor(choice.slurm) } } : {}),
              signal: abort.signal,
              ...(strategies ? { strategies } : {}),
              ...(budgets ? { budgets } : {}),
              ...(opts.verbose ? { verbose: true, onOutput: (t: string) => ctx.io.stderr.write(t) } : {}),
              cacheDir,
              outDir,
              facts: checked.facts,
              progress,
              ...(calibration ? { calibration } : {}),
              ...(timeoutMs !== undefined ? { timeoutMs } : {}),
              ...(order ? { order } : {}),
              ...(ladder !== undefined ? { ladder } : {}),
              ...(jobs !== undefined ? { jobs } : {}),
            }),
          );
        }
      } finally {
        removeSignalHandlers();
        progress.stop();
      }
      const report = reports.length === 1 ? reports[0]! : medianRuns(reports);
      report.calibration = calibrationLabel(opts.calibration);
      // What the pipeline warned about inside the children (an empty test split), once per scenario and dataset; not a failure.
      for (const [scenario, warnings] of scenarioWarnings(report.runs))
        for (const w of warnings) ctx.io.stderr.write(`cellbudget: warning: ${scenario} / ${w}\n`);
      const comparison = baseline ? compareReports(baseline, report, compare) : undefined;
      // What was measured is shown even when the report cannot be written (a disk that filled up).
      let writeError: unknown;
      try {
        await writeReportDir(report, outDir, { ...(comparison ? { comparison } : {}), charts: opts.charts });
      } catch (e) {
        writeError = e;
      }

      if (opts.json) ctx.io.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
      else {
        ctx.io.stdout.write(formatRunTable(report.runs));
        ctx.io.stdout.write(
          `Model column: the simulator at each run's own scale against what was measured there; constants: ${report.calibration}.\n`,
        );
        ctx.io.stdout.write(
          `\n${formatVerdicts(report.runs, { reportOnly: opts.reportOnly === true, verbose: opts.verbose === true, outDir })}`,
        );
        if (comparison) ctx.io.stdout.write(`\n${formatComparison(comparison)}`);
        if (writeError === undefined)
          ctx.io.stdout.write(`\nReport: ${outDir}/report.html (also report.json, report.md, junit.xml, PNG charts)\n`);
      }
      if (writeError !== undefined) throw writeError;
      const broken = report.runs.flatMap((r) => r.budgets.filter((b) => !b.ok));
      // A failing gate says why in full (step, overshoot); under --report-only (the demo) the
      // verdict lines above say which budgets broke, and --verbose adds every message.
      if (opts.verbose || opts.json || !opts.reportOnly)
        for (const b of broken) ctx.io.stderr.write(`cellbudget: budget exceeded [BUDGET_EXCEEDED]: ${b.message ?? ''}\n`);
      const uncertain = report.runs.flatMap((r) => r.budgets.filter((b) => b.verdict === 'uncertain'));
      if (opts.verbose || opts.json || !opts.reportOnly)
        for (const b of uncertain)
          ctx.io.stderr.write(
            `cellbudget: ${opts.strict ? 'budget uncertain' : 'warning: budget uncertain'} [BUDGET_UNCERTAIN]: ${b.message ?? ''}\n`,
          );
      const userErrors = report.runs.filter((r) => r.failure?.code !== undefined);
      for (const r of report.runs.filter((x) => x.status !== 'ok')) {
        ctx.io.stderr.write(
          `cellbudget: ${r.scenario} / ${r.strategy} ${r.status === 'died' ? 'died' : 'failed'}${r.failure?.step ? ` in step '${r.failure.step}'` : ''}: ${r.failure?.reason ?? ''}\n`,
        );
      }
      if (interrupted) ctx.exitCode = SIGNAL_EXIT[interrupted] ?? 130;
      else if (userErrors.length > 0) ctx.exitCode = 2;
      else if (
        ((broken.length > 0 || (opts.strict && uncertain.length > 0)) && !opts.reportOnly) ||
        report.runs.some((r) => r.status !== 'ok') ||
        (comparison && comparison.failures > 0)
      )
        ctx.exitCode = 1;
    });
};

/**
 * One verdict line per scenario after the table: which budgets broke and for which
 * strategies, or that all held; then the count and where the full messages are.
 */
export function formatVerdicts(runs: readonly RunRecord[], opts: { reportOnly: boolean; verbose: boolean; outDir: string }): string {
  const scenarios = [...new Set(runs.map((r) => r.scenario))];
  const lines = scenarios.map((name): [string, string] => {
    const mine = runs.filter((r) => r.scenario === name);
    const failed = mine.filter((r) => r.status !== 'ok').map((r) => `${r.strategy} ${r.status === 'died' ? 'died' : 'failed'}`);
    const byBudget = new Map<string, string[]>();
    const unsure = new Map<string, string[]>();
    for (const r of mine) {
      for (const b of r.budgets) {
        const into = !b.ok ? byBudget : b.verdict === 'uncertain' ? unsure : undefined;
        const key = `${b.metric} ${formatBytes(b.limit_bytes)}`;
        into?.set(key, [...(into.get(key) ?? []), r.strategy]);
      }
    }
    const checks = mine.reduce((n, r) => n + r.budgets.length, 0);
    const uncertainText = [...unsure].map(([budget, who]) => `${budget} uncertain for ${who.join(', ')} (the interval straddles it)`);
    const verdict =
      failed.length === 0 && byBudget.size === 0
        ? unsure.size > 0
          ? `? ${uncertainText.join('; ')}`
          : `✓ ${checks > 0 ? `every budget held (${mine.length} run${mine.length > 1 ? 's' : ''})` : `measured (${mine.length} run${mine.length > 1 ? 's' : ''}, no budgets)`}`
        : `✗ ${[...failed, ...[...byBudget].map(([budget, who]) => `${budget} broken by ${who.join(', ')}`), ...uncertainText].join('; ')}`;
    return [name, verdict];
  });
  const checks = runs.reduce((n, r) => n + r.budgets.length, 0);
  const broken = runs.reduce((n, r) => n + r.budgets.filter((b) => !b.ok).length, 0);
  const tail =
    broken === 0
      ? ''
      : `${broken} of ${checks} budget checks failed${opts.reportOnly ? ' (--report-only: they do not fail this run)' : ''}. Every message is in ${opts.outDir}/report.md${opts.reportOnly && !opts.verbose ? ' (or run with --verbose)' : ' and below'}.\n`;
  return `Verdicts (full scale):\n${formatTable(lines)}\n${tail ? `\n${tail}` : ''}`;
}

/** The simulator's error against this run, e.g. "+0.8% / −1.2%", or – without a prediction. */
function modelError(r: RunRecord): string {
  const pct = (e: number | undefined): string => (e === undefined ? '–' : `${e >= 0 ? '+' : '−'}${Math.abs(e * 100).toFixed(1)}%`);
  return r.predicted_peak_error === undefined && r.predicted_final_error === undefined
    ? '–'
    : `${pct(r.predicted_peak_error)} / ${pct(r.predicted_final_error)}`;
}

/** "401.2 GB ±1.9%": a projected figure with the half-width of its interval. */
function projectedCell(value: number, interval: readonly [number, number], linear: boolean): string {
  const spread = formatSpread(value, [interval[0], interval[1]]);
  return `${formatBytes(value)}${spread ? ` ${spread}` : ''}${linear ? '' : ' (?)'}`;
}

const VERDICT_MARK: Record<string, string> = { ok: '✓', exceeded: '✗', uncertain: '?' };

/** The table `cellbudget run` prints: measured here, projected to full scale with its interval, budgets ✓/✗/?. */
export function formatRunTable(runs: readonly RunRecord[]): string {
  const header = [
    'scenario',
    'strategy',
    'peak (here)',
    'final (here)',
    'peak (full scale)',
    'final (full scale)',
    'peak step',
    'model peak/final',
    'budgets',
  ];
  const rows = runs.map((r) => {
    const p = projectionOf(r);
    const peakStep = r.steps.reduce<RunRecord['steps'][number] | undefined>(
      (a, s) => (!a || stepProjectionOf(s, r.scale).peak_bytes > stepProjectionOf(a, r.scale).peak_bytes ? s : a),
      undefined,
    );
    // A run that died did so in a step it never finished: that step, not the last finished one.
    const stepCell = r.status !== 'ok' && r.failure?.step ? `${r.failure.step} (${r.status})` : (peakStep?.label ?? '–');
    const budgets =
      r.status !== 'ok'
        ? `✗ ${r.status}`
        : r.budgets.length === 0
          ? '–'
          : r.budgets.map((b) => `${b.metric} ${VERDICT_MARK[b.verdict ?? (b.ok ? 'ok' : 'exceeded')] ?? '?'}`).join(' ');
    const ok = r.status === 'ok';
    return [
      r.scenario,
      r.strategy,
      formatBytes(r.peak_bytes),
      formatBytes(r.final_bytes),
      ok ? projectedCell(p.peak_bytes, p.interval.peak, p.linear) : '–',
      ok ? projectedCell(p.final_bytes, p.interval.final, p.linear) : '–',
      stepCell,
      modelError(r),
      budgets,
    ];
  });
  const methods = [...new Set(runs.map((r) => r.method))].map((m) => `${m}: peak = ${peakMeaning(m)}, ${baselineNote(m)}`);
  // Scenarios measured on the same scales share one entry (a family's members all do).
  const byBasis = new Map<string, string[]>();
  for (const [name, p] of new Map(runs.map((r) => [r.scenario, projectionOf(r)] as const))) {
    if (p.method === 'measured') continue;
    const basis = p.method === 'ladder' ? `from scales ${formatScales(p)}` : `from scale ${formatScales(p)} only (÷ scale; no ladder)`;
    byBasis.set(basis, [...(byBasis.get(basis) ?? []), name]);
  }
  const ladders = [...byBasis].map(([basis, names]) => `${names.join(', ')} ${basis}`);
  const notLinear = runs
    .filter((r) => r.status === 'ok' && !projectionOf(r).linear && projectionOf(r).method === 'ladder')
    .map((r) => `${r.scenario} / ${r.strategy}`);
  const projection = ladders.length
    ? `Full scale: each figure fitted as fixed + scale × proportional over its ladder (${ladders.join('; ')}), ± the interval of the fit at scale 1; "here" is the scenario's own scale. Budgets: ✓ within, ✗ over, ? uncertain (the interval straddles the limit).`
    : 'Full scale: measured at scale 1.';
  const warn = notLinear.length
    ? `\nNot linear (residual over ${(NONLINEAR_RESIDUAL * 100).toFixed(0)}%): ${notLinear.join(', ')}; their full-scale figures are marked (?) and their budgets uncertain.`
    : '';
  return `${formatTable(rows, { head: header, rule: true })}\n\nFigures are resident memory net of the baseline. ${methods.join('; ')}.\n${projection}${warn}\n`;
}
