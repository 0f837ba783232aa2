/**
 * `cellbudget ingest LOG [--budget peak=…] [--budget final=…] [--scale S] [--out DIR] [--json]`:
 * turn a memory log of the original training script into a report (issue 8).
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { ingestReport, type IngestedRunRecord, type IngestedStepRecord } from '../../harness/ingest.js';
import { loadScenarios, type Budgets } from '../../harness/scenario.js';
import { parseBudgetFlags } from '../../harness/budgets.js';
import { writeReportDir } from '../../harness/write-report.js';
import { CellbudgetError } from '../errors.js';
import { STRATEGY_NAMES, type StrategyName } from '../strategies/types.js';
import { formatBytes } from '../units.js';
import type { CliContext, RegisterCommand } from './context.js';

interface IngestFlags {
  budget: string[];
  scale?: string;
  out: string;
  json?: boolean;
  name?: string;
  strategy?: string;
  scenario?: string;
  binaryGb?: boolean;
  charts?: boolean;
}

function parseScale(s: string | undefined): number {
  if (s === undefined) return 1;
  const v = Number(s);
  if (!(v > 0 && v <= 1)) {
    throw new CellbudgetError('USAGE', `--scale '${s}' must be a fraction in (0, 1].`, { key: '--scale', value: s, hint: 'A real run is --scale 1 (the default); a run at 1/1000 of full size is --scale 0.001.' });
  }
  return v;
}

function table(run: IngestedRunRecord): string {
  const full = (b: number): string => formatBytes(b / run.scale);
  const rows = run.steps.map((s: IngestedStepRecord, i) => [String(i + 1), s.dataset ?? '', String(s.name), s.label, formatBytes(s.end_bytes), run.scale === 1 ? '' : full(s.end_bytes)]);
  // A log is one scale only: the fixed part cannot be separated, so this is used ÷ scale (an upper bound when the fixed part is positive).
  const head = ['#', 'dataset', 'step', 'label', 'used', run.scale === 1 ? '' : 'used ÷ scale (one scale: no ladder)'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const fmt = (r: string[]): string => r.map((v, c) => v.padEnd(widths[c] as number)).join('  ').trimEnd();
  const lines = [fmt(head), ...rows.map(fmt)];
  lines.push('', `peak ${formatBytes(run.peak_bytes)}, final ${formatBytes(run.final_bytes)} (as printed at the markers: samples, not kernel peaks)`);
  if (run.status !== 'ok' && run.failure) lines.push(`the run did not finish: ${run.failure.reason}, after '${run.failure.step ?? '?'}'`);
  for (const b of run.budgets) lines.push(`${b.verdict === 'uncertain' ? '?' : b.ok ? '✓' : '✗'} ${b.message ?? `${b.metric} ${formatBytes(b.actual_bytes)} / ${formatBytes(b.limit_bytes)}`}`);
  return `${lines.join('\n')}\n`;
}

async function runIngest(log: string, f: IngestFlags, ctx: CliContext): Promise<void> {
  let text: string;
  try {
    text = readFileSync(log, 'utf8');
  } catch (e) {
    throw new CellbudgetError('FILE_NOT_FOUND', `Log ${log} cannot be read.`, { file: log, hint: 'Give the output file of a training run (e.g. the SLURM .out file).' }, { cause: e });
  }
  let strategy: StrategyName | undefined;
  if (f.strategy !== undefined) {
    if (!(STRATEGY_NAMES as readonly string[]).includes(f.strategy)) {
      throw new CellbudgetError('USAGE', `--strategy '${f.strategy}' is not a strategy.`, { key: '--strategy', value: f.strategy, hint: `Use one of: ${STRATEGY_NAMES.join(', ')} (the original fix is 'selective').` });
    }
    strategy = f.strategy as StrategyName;
  }
  let definition: unknown;
  let scenarioBudgets: Budgets = {};
  if (f.scenario !== undefined) {
    const loaded = loadScenarios(f.scenario);
    const first = loaded[0];
    if (loaded.length !== 1 || !first || first.kind !== 'builtin') {
      throw new CellbudgetError('USAGE', `--scenario '${f.scenario}' must be one scenario with datasets (not a suite, family or command).`, {
        key: '--scenario',
        value: f.scenario,
        hint: 'Give the YAML that describes the logged run, e.g. scenarios/original-fix.yaml.',
      });
    }
    definition = first.definition;
    scenarioBudgets = first.budgets;
  }
  const report = ingestReport(text, {
    name: f.name ?? basename(log, extname(log)),
    source: log,
    scale: parseScale(f.scale),
    budgets: parseBudgetFlags(f.budget, scenarioBudgets),
    ...(strategy !== undefined ? { strategy } : {}),
    ...(definition !== undefined ? { definition } : {}),
    markers: { binaryGb: f.binaryGb ?? false },
  });
  const written = await writeReportDir(report, f.out, { charts: f.charts ?? true });
  const run = report.runs[0] as IngestedRunRecord;
  if (run.budgets.some((b) => !b.ok)) ctx.exitCode = 1;
  if (f.json) {
    ctx.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  ctx.io.stdout.write(`${log}: ${run.steps.length} [MEMORY] markers\n${table(run)}wrote ${written.files.length} files to ${f.out} (report.json, report.md, report.html, junit.xml${f.charts === false ? '' : ', charts'})\n`);
}

export const registerIngest: RegisterCommand = (program: Command, ctx: CliContext) => {
  program
    .command('ingest')
    .description("Turn a training script's memory log ([MEMORY …] Used: … GB lines) into a report, with budgets.")
    .argument('<log>', 'output of a run that printed [MEMORY <label>] Used: X GB | Available: Y GB | Total: Z GB lines')
    .option('--budget <metric=size>', 'full-scale budget, e.g. peak=400GB or final=140GB (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--scale <fraction>', 'fraction of full scale the logged run was (default 1)')
    .option('--out <dir>', 'report directory (report.json, report.md, report.html, junit.xml, charts)', 'reports/ingest')
    .option('--json', 'print the report as JSON')
    .option('--name <name>', 'scenario name in the report (default: the log file name)')
    .option('--strategy <name>', "the strategy the logged script implements ('selective' for the original fix), for calibrate")
    .option('--scenario <file>', 'scenario YAML describing the logged datasets (gives calibrate the sizes; its budgets apply unless --budget)')
    .option('--no-charts', 'skip the PNG charts')
    .option('--binary-gb', 'read "GB" in the log as 2^30 bytes (scripts that divide by 1024**3)')
    .action(async (log: string, f: IngestFlags) => runIngest(log, f, ctx));
};
