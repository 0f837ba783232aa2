/**
 * `cellbudget ingest LOG [--budget peak=…] [--budget final=…] [--scale S] [--out DIR] [--json]`:
 * turn a memory log of the original training script into a report (docs/measurement.md#commands-and-logs).
 */
import { createReadStream, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ingestReport, LogIngester, type IngestedRunRecord, type IngestedStepRecord } from '../../harness/command/ingest.js';
import { loadScenarios, type Budgets } from '../../harness/run/scenarios.js';
import { parseBudgetFlag, withBudgetFlags, type BudgetFlag } from '../../harness/report/budgets.js';
import { writeReportDir } from '../../harness/report/write-report.js';
import { CellbudgetError } from '../core/errors.js';
import type { StrategyName } from '../core/names.js';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import type { CliContext, RegisterCommand } from './context.js';
import { listOption, scale, strategyOption, valueOption } from './options.js';

/** What commander hands the action: every value already parsed by src/cli/options.ts. */
interface IngestFlags {
  budget?: BudgetFlag[];
  scale: number;
  out: string;
  json?: boolean;
  name?: string;
  strategy?: StrategyName;
  scenario?: string;
  binaryGb?: boolean;
  charts?: boolean;
  lenient?: boolean;
}

function table(run: IngestedRunRecord): string {
  const full = (b: number): string => formatBytes(b / run.scale);
  // A person reads the first and last markers; every one is in the report files.
  const SHOWN = 30;
  const row = (s: IngestedStepRecord, i: number): string[] => [
    String(i + 1),
    s.dataset ?? '',
    String(s.name),
    s.label,
    formatBytes(s.end_bytes),
    run.scale === 1 ? '' : full(s.end_bytes),
  ];
  const n = run.steps.length;
  const rows =
    n <= 2 * SHOWN
      ? run.steps.map(row)
      : [
          ...run.steps.slice(0, SHOWN).map(row),
          ['…', '', '', `(${n - 2 * SHOWN} more markers: every one is in report.json and report.md)`, '', ''],
          ...run.steps.slice(n - SHOWN).map((s, i) => row(s, n - SHOWN + i)),
        ];
  // A log is one scale only: the fixed part cannot be separated, so this is used ÷ scale (an upper bound when the fixed part is positive).
  const head = ['#', 'dataset', 'step', 'label', 'used', run.scale === 1 ? '' : 'used ÷ scale (one scale: no ladder)'];
  const lines = [formatTable(rows, { head })];
  lines.push(
    '',
    `peak ${formatBytes(run.peak_bytes)}, final ${formatBytes(run.final_bytes)} (as printed at the markers: samples, not kernel peaks)`,
  );
  if (run.status !== 'ok' && run.failure) lines.push(`the run did not finish: ${run.failure.reason}, after '${run.failure.step ?? '?'}'`);
  for (const b of run.budgets)
    lines.push(
      `${b.verdict === 'uncertain' ? '?' : b.ok ? '✓' : '✗'} ${b.message ?? `${b.metric} ${formatBytes(b.actual_bytes)} / ${formatBytes(b.limit_bytes)}`}`,
    );
  return `${lines.join('\n')}\n`;
}

async function runIngest(log: string, f: IngestFlags, ctx: CliContext): Promise<void> {
  let why: string | undefined;
  let cause: unknown;
  try {
    const st = statSync(log);
    if (st.isDirectory()) why = 'is a folder';
    else if (!st.isFile()) why = 'is not a regular file (a device, pipe or socket: save the output to a file first)';
  } catch (e) {
    cause = e;
    why =
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'does not exist'
        : `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (why !== undefined) {
    throw new CellbudgetError(
      'FILE_NOT_FOUND',
      `Log ${log} ${why}.`,
      { file: log, hint: 'Give the output file of a training run (e.g. the SLURM .out file).' },
      { cause },
    );
  }
  const strategy = f.strategy;
  let definition: unknown;
  let scenarioBudgets: Budgets = {};
  if (f.scenario !== undefined) {
    const loaded = loadScenarios(f.scenario);
    const first = loaded[0];
    if (loaded.length !== 1 || !first || first.kind !== 'builtin') {
      throw new CellbudgetError(
        'USAGE',
        `--scenario '${f.scenario}' must be one scenario with datasets (not a suite, family or command).`,
        {
          key: '--scenario',
          value: f.scenario,
          hint: 'Give the YAML that describes the logged run, e.g. scenarios/original-fix.yaml.',
        },
      );
    }
    definition = first.definition;
    scenarioBudgets = first.budgets;
  }
  const opts = {
    name: f.name ?? basename(log, extname(log)),
    source: log,
    scale: f.scale,
    budgets: withBudgetFlags(f.budget ?? [], scenarioBudgets),
    ...(strategy !== undefined ? { strategy } : {}),
    ...(definition !== undefined ? { definition } : {}),
    markers: { binaryGb: f.binaryGb ?? false },
    lenient: f.lenient ?? false,
  };
  // Streamed: a log of any length is read once, line by line, never held whole.
  const ingester = new LogIngester(opts);
  const lines = createInterface({ input: createReadStream(log, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) ingester.push(line);
  const report = ingestReport(ingester.finish(), opts);
  const unreadable = (report.runs[0] as IngestedRunRecord).ingested.unreadable ?? [];
  for (const u of unreadable)
    ctx.io.stderr.write(`cellbudget: warning: ${log}:${u.line}: unreadable [MEMORY] line skipped (--lenient): ${u.reason}\n`);
  const written = await writeReportDir(report, f.out, { charts: f.charts ?? true });
  const run = report.runs[0] as IngestedRunRecord;
  if (run.budgets.some((b) => !b.ok)) ctx.exitCode = 1;
  if (f.json) {
    ctx.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  ctx.io.stdout.write(
    `${log}: ${run.steps.length} [MEMORY] markers\n${table(run)}wrote ${written.files.length} files to ${f.out} (report.json, report.md, report.html, junit.xml${f.charts === false ? '' : ', charts'})\n`,
  );
}

export const registerIngest: RegisterCommand = (program: Command, ctx: CliContext) => {
  program
    .command('ingest')
    .description("Turn a training script's memory log ([MEMORY …] Used: … GB lines) into a report, with budgets.")
    .argument('<log>', 'output of a run that printed [MEMORY <label>] Used: X GB | Available: Y GB | Total: Z GB lines')
    .addOption(
      listOption(
        '-b, --budget <metric=size>',
        'full-scale budget, e.g. peak=400GB; repeatable or comma-separated (peak=400GB,final=140GB)',
        parseBudgetFlag,
      ),
    )
    .addOption(valueOption('--scale <fraction>', 'fraction of full scale the logged run was', scale).default(1))
    .option('--out <dir>', 'report directory (report.json, report.md, report.html, junit.xml, charts)', 'reports/ingest')
    .option('--json', 'print the report as JSON')
    .option('--name <name>', 'scenario name in the report (default: the log file name)')
    .addOption(
      strategyOption(
        '-s, --strategy <name>',
        "the strategy the logged script implements ('selective' for the original fix), for calibrate",
      ),
    )
    .option(
      '--scenario <file>',
      'scenario YAML describing the logged datasets (gives calibrate the sizes; its budgets apply unless --budget)',
    )
    .option('--no-charts', 'skip the PNG charts')
    .option('--binary-gb', 'read "GB" in the log as 2^30 bytes (scripts that divide by 1024**3)')
    .option('--lenient', 'ingest the readable markers and list unreadable [MEMORY] lines as warnings, instead of exit 2')
    .action(async (log: string, f: IngestFlags) => runIngest(log, f, ctx));
};
