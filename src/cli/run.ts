import { resolve } from 'node:path';
import type { RegisterCommand } from './context.js';
import { CellbudgetError } from '../errors.js';
import { formatBytes, parseBytes, parseDuration, parsePercent } from '../units.js';
import { STRATEGY_NAMES, parseStrategies } from '../strategies/types.js';
import { parseOrderMode } from '../strategies/order.js';
import { calibrationLabel, readCalibration } from './plan.js';
import { loadScenarios } from '../../harness/scenario.js';
import { parseBudgetFlags } from '../../harness/budgets.js';
import { runScenarios, defaultCacheDir } from '../../harness/run.js';
import { createProgress } from '../../harness/progress.js';
import { compareReports, loadReport, medianRuns, formatComparison } from '../../harness/compare.js';
import { writeReportDir } from '../../harness/write-report.js';
import type { Report, RunRecord } from '../../harness/report.js';
import { formatScales, formatSpread, parseLadderFlag, projectionOf, stepProjectionOf } from '../../harness/ladder.js';
import { NONLINEAR_RESIDUAL } from '../projection.js';

interface RunOpts {
  out: string;
  strategy?: string[];
  budget?: string[];
  json?: boolean;
  verbose?: boolean;
  baseline?: string;
  warn: string;
  fail: string;
  runs: string;
  cache?: string;
  calibration?: string;
  timeout?: string;
  charts: boolean;
  reportOnly?: boolean;
  order?: string;
  ladder?: string;
  strict?: boolean;
  jobs?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export const registerRun: RegisterCommand = (program, ctx) => {
  program
    .command('run')
    .description('Replay scenarios against the real pipeline, one fresh child per scenario × strategy; measure per-step peaks and check budgets (exit 1 when one breaks)')
    .argument('<scenario...>', 'scenario YAML files or shipped names (default, original-fix, n-datasets, golden)')
    .option('-o, --out <dir>', 'report directory', 'reports/latest')
    .option('-s, --strategy <name>', `only these strategies (${STRATEGY_NAMES.join(', ')}); repeatable`, collect)
    .option('-b, --budget <metric=size>', 'full-scale budget replacing the scenario’s, e.g. peak=400GB; repeatable', collect)
    .option('--baseline <report.json>', 'compare with an earlier report; exit 1 on a fail-tier regression')
    .option('--warn <percent>', 'growth against the baseline that warns', '5%')
    .option('--fail <percent>', 'growth against the baseline that fails', '10%')
    .option('--runs <n>', 'run everything N times and report the median per step', '1')
    .option('--cache <dir>', 'where synthetic datasets are generated once and reused')
    .option('--calibration <name|file>', 'constants for the model column: measured (default), documented, or a file from `cellbudget calibrate`')
    .option('--timeout <duration>', 'kill a run after this long, e.g. 10m')
    .option('--order <mode>', 'processing order: given (as listed) or auto (the planner’s lowest-peak order; the first dataset stays the primary)')
    .option('--ladder <rungs>', 'scale ladder for the full-scale projection: N rungs (the scale, half, a quarter…; default 3), a list of scales, or off')
    .option('--strict', 'fail (exit 1) when a budget is uncertain: its projected interval straddles the limit')
    .option('-j, --jobs <n>', 'measuring children at once (default 2 on two or more cores)')
    .option('--no-charts', 'skip the PNG charts')
    .option('--report-only', 'report broken budgets but exit 0 for them (dead runs and bad input still fail); what `npm start` uses')
    .option('--json', 'print report.json to stdout instead of the table')
    .option('-v, --verbose', 'print a [MEMORY step] line per step from each child on stderr')
    .action(async (args: string[], opts: RunOpts) => {
      const runsN = Number(opts.runs);
      if (!Number.isInteger(runsN) || runsN < 1) throw new CellbudgetError('USAGE', `--runs '${opts.runs}' is not a positive integer.`, { hint: 'Write e.g. --runs 3.' });
      const scenarios = args.flatMap((a) => loadScenarios(a));
      const strategies = parseStrategies(opts.strategy);
      const budgets = opts.budget ? parseBudgetFlags(opts.budget) : undefined;
      const baseline = opts.baseline ? await loadReport(opts.baseline) : undefined;
      const calibration = opts.calibration ? readCalibration(opts.calibration) : undefined;
      const timeoutMs = opts.timeout ? parseDuration(opts.timeout, '--timeout') : undefined;
      const order = opts.order !== undefined ? parseOrderMode(opts.order) : undefined;
      const ladder = opts.ladder !== undefined ? parseLadderFlag(opts.ladder) : undefined;
      const jobs = opts.jobs !== undefined ? Number(opts.jobs) : undefined;
      if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) throw new CellbudgetError('USAGE', `--jobs '${opts.jobs}' is not a positive integer.`, { key: '--jobs', value: opts.jobs, hint: 'Write e.g. --jobs 1 to measure one child at a time.' });
      const outDir = resolve(opts.out);
      const progress = createProgress({ stream: ctx.io.stderr });
      const reports: Report[] = [];
      try {
        for (let i = 0; i < runsN; i++) {
          reports.push(
            await runScenarios(scenarios, {
              ...(strategies ? { strategies } : {}),
              ...(budgets ? { budgets } : {}),
              ...(opts.verbose ? { verbose: true, onOutput: (t: string) => ctx.io.stderr.write(t) } : {}),
              cacheDir: opts.cache ? resolve(opts.cache) : defaultCacheDir(),
              outDir,
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
        progress.stop();
      }
      const report = reports.length === 1 ? reports[0]! : medianRuns(reports);
      report.calibration = calibrationLabel(opts.calibration);
      const compare = { warn: parsePercent(opts.warn, '--warn'), fail: parsePercent(opts.fail, '--fail') };
      const comparison = baseline ? compareReports(baseline, report, compare) : undefined;
      await writeReportDir(report, outDir, { ...(comparison ? { comparison } : {}), charts: opts.charts });

      if (opts.json) ctx.io.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
      else {
        ctx.io.stdout.write(formatRunTable(report.runs));
        ctx.io.stdout.write(`Model column: the simulator at each run's own scale against what was measured there; constants: ${report.calibration}.\n`);
        if (comparison) ctx.io.stdout.write(`\n${formatComparison(comparison)}`);
        ctx.io.stdout.write(`\nReport: ${outDir}/report.html (also report.json, report.md, junit.xml, PNG charts)\n`);
      }
      const broken = report.runs.flatMap((r) => r.budgets.filter((b) => !b.ok));
      for (const b of broken) ctx.io.stderr.write(`cellbudget: budget exceeded [BUDGET_EXCEEDED]: ${b.message ?? ''}\n`);
      const uncertain = report.runs.flatMap((r) => r.budgets.filter((b) => b.verdict === 'uncertain'));
      for (const b of uncertain) ctx.io.stderr.write(`cellbudget: ${opts.strict ? 'budget uncertain' : 'warning: budget uncertain'} [BUDGET_UNCERTAIN]: ${b.message ?? ''}\n`);
      const userErrors = report.runs.filter((r) => r.failure?.code !== undefined);
      for (const r of report.runs.filter((x) => x.status !== 'ok')) {
        ctx.io.stderr.write(`cellbudget: ${r.scenario} / ${r.strategy} ${r.status === 'died' ? 'died' : 'failed'}${r.failure?.step ? ` in step '${r.failure.step}'` : ''}: ${r.failure?.reason ?? ''}\n`);
      }
      if (userErrors.length > 0) ctx.exitCode = 2;
      else if (((broken.length > 0 || (opts.strict && uncertain.length > 0)) && !opts.reportOnly) || report.runs.some((r) => r.status !== 'ok') || (comparison && comparison.failures > 0)) ctx.exitCode = 1;
    });
};

const METHOD_TEXT: Record<string, string> = {
  'kernel-hwm': "peak = kernel high-water mark per step (VmHWM after clear_refs), baseline = the child's idle RSS",
  'sampled-rss': "peak = RSS sampled every ~10 ms (short spikes can be missed), baseline = the child's idle RSS",
  'kernel-hwm-command': "peak = the command's own VmHWM between its markers (children summed as an upper bound), baseline = its RSS at the first marker or at start",
  'ingested-log': 'figures = the Used values the log printed at each marker, not kernel peaks',
};

/** The simulator's error against this run, e.g. "+0.8% / −1.2%", or – without a prediction. */
function modelError(r: RunRecord): string {
  const pct = (e: number | undefined): string => (e === undefined ? '–' : `${e >= 0 ? '+' : '−'}${Math.abs(e * 100).toFixed(1)}%`);
  return r.predicted_peak_error === undefined && r.predicted_final_error === undefined ? '–' : `${pct(r.predicted_peak_error)} / ${pct(r.predicted_final_error)}`;
}

/** "401.2 GB ±1.9%": a projected figure with the half-width of its interval. */
function projectedCell(value: number, interval: readonly [number, number], linear: boolean): string {
  const spread = formatSpread(value, [interval[0], interval[1]]);
  return `${formatBytes(value)}${spread ? ` ${spread}` : ''}${linear ? '' : ' (?)'}`;
}

const VERDICT_MARK: Record<string, string> = { ok: '✓', exceeded: '✗', uncertain: '?' };

/** The table `cellbudget run` prints: measured here, projected to full scale with its interval, budgets ✓/✗/?. */
export function formatRunTable(runs: readonly RunRecord[]): string {
  const header = ['scenario', 'strategy', 'peak (here)', 'final (here)', 'peak (full scale)', 'final (full scale)', 'peak step', 'model peak/final', 'budgets'];
  const rows = runs.map((r) => {
    const p = projectionOf(r);
    const peakStep = r.steps.reduce<RunRecord['steps'][number] | undefined>((a, s) => (!a || stepProjectionOf(s, r.scale).peak_bytes > stepProjectionOf(a, r.scale).peak_bytes ? s : a), undefined);
    const budgets = r.status !== 'ok' ? `✗ ${r.status}` : r.budgets.length === 0 ? '–' : r.budgets.map((b) => `${b.metric} ${VERDICT_MARK[b.verdict ?? (b.ok ? 'ok' : 'exceeded')] ?? '?'}`).join(' ');
    const ok = r.status === 'ok';
    return [
      r.scenario,
      r.strategy,
      formatBytes(r.peak_bytes),
      formatBytes(r.final_bytes),
      ok ? projectedCell(p.peak_bytes, p.interval.peak, p.linear) : '–',
      ok ? projectedCell(p.final_bytes, p.interval.final, p.linear) : '–',
      peakStep?.label ?? '–',
      modelError(r),
      budgets,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const methods = [...new Set(runs.map((r) => r.method))].map((m) => `${m}: ${METHOD_TEXT[m] ?? m}`);
  const ladders = [...new Map(runs.map((r) => [r.scenario, projectionOf(r)] as const)).entries()]
    .filter(([, p]) => p.method !== 'measured')
    .map(([name, p]) => `${name} ${p.method === 'ladder' ? `from scales ${formatScales(p)}` : `from scale ${formatScales(p)} only (÷ scale; no ladder)`}`);
  const notLinear = runs.filter((r) => r.status === 'ok' && !projectionOf(r).linear && projectionOf(r).method === 'ladder').map((r) => `${r.scenario} / ${r.strategy}`);
  const projection = ladders.length
    ? `Full scale: each figure fitted as fixed + scale × proportional over its ladder (${ladders.join('; ')}), ± the interval of the fit at scale 1; "here" is the scenario's own scale. Budgets: ✓ within, ✗ over, ? uncertain (the interval straddles the limit).`
    : 'Full scale: measured at scale 1.';
  const warn = notLinear.length ? `\nNot linear (residual over ${(NONLINEAR_RESIDUAL * 100).toFixed(0)}%): ${notLinear.join(', ')}; their full-scale figures are marked (?) and their budgets uncertain.` : '';
  return `${line(header)}\n${line(widths.map((w) => '─'.repeat(w)))}\n${rows.map(line).join('\n')}\n\nFigures are resident memory net of the baseline. ${methods.join('; ')}.\n${projection}${warn}\n`;
}
