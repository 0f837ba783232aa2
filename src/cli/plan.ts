/**
 * `cellbudget plan`: full-scale peaks per strategy, node fits, the best order, a ready
 * `#SBATCH --mem` line, and with `--sbatch FILE` a ready job script. Figures measured at full
 * size (a calibration made from full-size reports) replace the model's and say so. Also the I/O helpers `simulate` and `calibrate` share:
 * loading a scenario into dataset models (inspecting real files' obs) and a calibration file.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { readJsonFile, writeAtomic } from '../io/files.js';
import { fileFacts } from '../../harness/run/facts.js';
import { loadScenarios, type BuiltinScenario } from '../../harness/run/scenarios.js';
import { CellbudgetError } from '../core/errors.js';
import type { StrategyName } from '../core/names.js';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import { DOCUMENTED_CALIBRATION, MEASURED_CALIBRATION, parseCalibration, type Calibration } from '../simulator/calibration.js';
import { datasetFromSpec, datasetsFromScenario } from '../simulator/inputs.js';
import type { DatasetModel } from '../simulator/model.js';
import { assertSomethingFits, plan, requiredWithHeadroom, sbatchMem, type Plan, type StrategyPlan } from '../simulator/planner.js';
import { simulate } from '../simulator/simulate.js';
import type { FullSizeMeasurement } from '../simulator/calibration.js';
import { packageRoot } from '../../harness/run/run.js';
import { slurmTime } from '../../harness/slurm/slurm.js';
import { CHILD_RUNTIME_BYTES } from '../../harness/run/preflight.js';
import { signedPct } from './calibrate.js';
import type { CliContext, RegisterCommand } from './context.js';
import { listOption, percent, positiveSize, repeatedOption, strategiesOption, valueOption } from './options.js';

/** Built-in scenarios named by a CLI argument (a suite or family gives several). */
export function builtinScenarios(arg: string): BuiltinScenario[] {
  const all = loadScenarios(arg);
  const builtin = all.filter((s): s is BuiltinScenario => s.kind === 'builtin');
  if (builtin.length === 0) {
    throw new CellbudgetError('USAGE', `Scenario '${arg}' runs a command; the simulator models only the built-in strategies.`, {
      value: arg,
      hint: 'Give a scenario with `datasets:` and `pipeline:`.',
    });
  }
  return builtin;
}

/**
 * Dataset models at full scale for a scenario. With the documented constants the scenario's
 * documented `model:` structure applies (the original fix's own description of its data);
 * with measured constants the data is modelled as the harness generates it, which is what
 * those constants were fitted on and what `run` projects, so the three agree.
 */
export async function fullScaleDatasets(s: BuiltinScenario, documented = true): Promise<DatasetModel[]> {
  return datasetsFromScenario(s, { scale: 1, documented, facts: await fileFacts(s) });
}

/** Whether a `--calibration` choice is the documented constants (and so the documented data). */
export function isDocumented(choice: string | undefined): boolean {
  return choice === 'documented';
}

/**
 * A calibration by name or file: `measured` (the default: the ladder fit shipped in
 * src/simulator/measured-calibration.ts), `documented` (the constants that reproduce the
 * original fix's table for its Python script), or a file `cellbudget calibrate` wrote.
 */
export function readCalibration(file: string | undefined): Calibration {
  if (file === undefined || file === 'measured') return MEASURED_CALIBRATION;
  if (file === 'documented') return DOCUMENTED_CALIBRATION;
  return parseCalibration(
    readJsonFile(file, z.unknown(), 'CALIBRATION_INVALID', {
      what: 'calibration file',
      hint: 'Give the file `cellbudget calibrate … --out` wrote.',
    }),
    file,
  );
}

/** What the figures are, in words, for output headers. */
export function calibrationLabel(file: string | undefined): string {
  if (file === 'documented') return "documented: the original fix's constants (live bytes, no allocator retention) and its documented data";
  if (file === undefined || file === 'measured')
    return `measured: ${MEASURED_CALIBRATION.fit?.source ?? 'the shipped ladder fit'} (RSS incl. allocator retention), data as the harness generates it`;
  return `calibrated from ${file}, data as the harness generates it`;
}

/** What commander hands the action: every value already parsed by src/cli/options.ts. */
interface PlanCliOptions {
  dataset: string[];
  primary?: string;
  nodeMemory: number[];
  headroom: number;
  strategy?: StrategyName[];
  calibration?: string;
  json?: boolean;
  sbatch?: string;
  sbatchArray?: boolean;
  partition?: string;
  account?: string;
  time?: string;
  sbatchArg?: string[];
}

/** The plan as JSON (full-scale bytes). */
export function planJson(name: string, p: Plan): Record<string, unknown> {
  return {
    scenario: name,
    primary: p.primary,
    given_order: p.given_order,
    headroom: p.headroom,
    nodes_bytes: p.nodes,
    strategies: p.strategies.map((s) => ({
      name: s.name,
      peak_bytes: Math.round(s.peak_bytes),
      final_bytes: Math.round(s.final_bytes),
      peak_step: s.peak_step,
      fits: s.fits,
      best_fits: s.best_fits,
      best_order: s.best_order,
      best_peak_bytes: Math.round(s.best_peak_bytes),
      best_peak_step: s.best_peak_step,
      saving_bytes: Math.round(s.saving_bytes),
      required_bytes: Math.round(s.required_bytes),
      smallest_node_bytes: s.smallest_node_bytes,
      source: s.source,
      best_source: s.best_source,
      ...(s.measured ? { measured_full_size: s.measured } : {}),
    })),
    recommended: { ...p.recommended, peak_bytes: Math.round(p.recommended.peak_bytes) },
    recommended_order: p.recommended.order,
  };
}

function planText(name: string, p: Plan, constantsLabel: string): string {
  const lines: string[] = [];
  lines.push(
    `${name}: ${p.given_order.length} dataset(s) in order ${p.given_order.join(' → ')}, primary ${p.primary}, headroom ${Math.round(p.headroom * 100)}% (full scale; constants: ${constantsLabel})`,
  );
  const star = (st: StrategyPlan, v: string): string => (st.source === 'measured' ? `${v}*` : v);
  lines.push(
    formatTable(
      p.strategies.map((s) => [
        s.name,
        star(s, formatBytes(s.peak_bytes)),
        star(s, formatBytes(s.final_bytes)),
        s.peak_step,
        ...s.fits.map((f) => (f.fits ? 'fits' : 'no')),
      ]),
      { head: ['strategy', 'peak', 'final', 'peak at', ...p.nodes.map((n) => formatBytes(n))], indent: '  ' },
    ),
  );
  const measured = p.strategies.filter((s) => s.measured);
  if (measured.length > 0) {
    lines.push(`  * measured at full size; the other figures are the model's. Full-size measurements (from the calibration's reports):`);
    const rows = measured.flatMap((s) => {
      const m = s.measured!;
      const where = m.executor === 'slurm' ? `Slurm job ${m.job_id ?? '?'} on ${m.node ?? '?'}, ` : '';
      return [
        [
          s.name,
          `peak ${formatBytes(m.peak_bytes)} at '${m.peak_step}', final ${formatBytes(m.final_bytes)} (${where}${m.report}${m.order ? `, order ${m.order.join(' → ')}` : ''})`,
        ],
        [
          '',
          `this model predicts ${formatBytes(m.model_peak_bytes)} (${signedPct((m.model_peak_bytes - m.peak_bytes) / m.peak_bytes)}), final ${formatBytes(m.model_final_bytes)} (${signedPct((m.model_final_bytes - m.final_bytes) / m.final_bytes)})`,
        ],
        ...m.earlier.map((e) => [
          '',
          `earlier: ${e.source}: ${formatBytes(e.peak_bytes)} (${signedPct(e.peak_error)})${e.final_bytes !== undefined ? `, final ${formatBytes(e.final_bytes)} (${signedPct(e.final_error ?? 0)})` : ''}`,
        ]),
      ];
    });
    lines.push(formatTable(rows, { indent: '    ' }));
  }
  lines.push('  Best order (lowest peak):');
  const best = p.strategies.map((s) => {
    const gain =
      s.saving_bytes > 0
        ? `${formatBytes(s.saving_bytes)} lower than the given order (${formatBytes(s.peak_bytes)})`
        : 'same as the given order';
    const fitsNow = s.best_fits.filter((f, i) => f.fits && !s.fits[i]!.fits).map((f) => formatBytes(f.node_bytes));
    return [
      s.name,
      `${s.best_order.join(' → ')}: peak ${formatBytes(s.best_peak_bytes)} at ${s.best_peak_step}, ${gain}${fitsNow.length ? `; now fits ${fitsNow.join(', ')}` : ''}`,
    ];
  });
  lines.push(formatTable(best, { indent: '    ' }));
  const r = p.recommended;
  lines.push(
    `  Recommended: ${r.strategy}, order ${r.order.join(' → ')}, peak ${formatBytes(r.peak_bytes)}; smallest node that fits: ${r.node_bytes === null ? 'none of those given' : formatBytes(r.node_bytes)}`,
  );
  lines.push(`  ${r.sbatch}`);
  return `${lines.join('\n')}\n`;
}

async function runPlan(scenarioArg: string | undefined, o: PlanCliOptions, ctx: CliContext): Promise<void> {
  if ((scenarioArg === undefined) === (o.dataset.length === 0)) {
    throw new CellbudgetError(
      'USAGE',
      scenarioArg === undefined ? 'plan needs a scenario or at least one --dataset.' : 'Give a scenario or --dataset options, not both.',
      {
        hint: 'e.g. `cellbudget plan scenarios/original-fix.yaml` or `cellbudget plan --dataset a=132GB --dataset b=132GB`.',
      },
    );
  }
  const { nodeMemory: nodes, headroom, strategy: strategies } = o;
  const calibration = readCalibration(o.calibration);
  if (o.sbatch !== undefined && scenarioArg === undefined) {
    throw new CellbudgetError('USAGE', '--sbatch writes a job script that runs a scenario at full size, and --dataset gives none.', {
      key: '--sbatch',
      hint: 'Give a scenario file (`cellbudget plan my.yaml --sbatch job.sh`); for your own program, take the `#SBATCH --mem` line printed below.',
    });
  }
  const inputs: Array<{ name: string; datasets: DatasetModel[]; scenario?: BuiltinScenario }> = [];
  if (scenarioArg)
    for (const s of builtinScenarios(scenarioArg))
      inputs.push({ name: s.name, datasets: await fullScaleDatasets(s, isDocumented(o.calibration)), scenario: s });
  else inputs.push({ name: 'datasets', datasets: o.dataset.map(datasetFromSpec) });
  if (o.sbatch !== undefined && inputs.length > 1) {
    throw new CellbudgetError(
      'USAGE',
      `--sbatch writes one job script, and '${scenarioArg}' holds ${inputs.length} scenarios (${inputs.map((x) => x.name).join(', ')}).`,
      { key: '--sbatch', hint: 'Plan one scenario file at a time with --sbatch.' },
    );
  }
  const measuredOf = (name: string): FullSizeMeasurement[] => (calibration.full_size ?? []).filter((m) => m.scenario === name);
  const plans = inputs.map(({ name, datasets }) => {
    const names = new Set<string>();
    for (const d of datasets) {
      if (names.has(d.name))
        throw new CellbudgetError('USAGE', `Dataset '${d.name}' is given twice.`, {
          key: '--dataset',
          value: d.name,
          hint: 'Give every dataset its own name.',
        });
      names.add(d.name);
    }
    return {
      name,
      plan: plan(datasets, {
        nodes,
        headroom,
        constants: calibration.constants,
        ...(o.primary !== undefined ? { primary: o.primary } : {}),
        ...(strategies ? { strategies } : {}),
        measured: measuredOf(name),
      }),
    };
  });
  if (o.json) {
    const out = plans.map((x) => ({
      ...planJson(x.name, x.plan),
      calibration: calibrationLabel(o.calibration),
      constants: calibration.constants,
    }));
    ctx.io.stdout.write(`${JSON.stringify(out.length === 1 ? out[0] : { plans: out }, null, 2)}\n`);
  } else {
    for (const x of plans) ctx.io.stdout.write(planText(x.name, x.plan, calibrationLabel(o.calibration)));
  }
  if (o.sbatch !== undefined) {
    const x = plans[0]!;
    const scenario = inputs[0]!.scenario!;
    const text = planJobScript({
      scenario,
      datasets: inputs[0]!.datasets,
      plan: x.plan,
      strategy: strategies?.length === 1 ? strategies[0]! : undefined,
      array: o.sbatchArray === true,
      calibrationFile: o.calibration,
      constantsLabel: calibrationLabel(o.calibration),
      constants: calibration.constants,
      ...(o.partition ? { partition: o.partition } : {}),
      ...(o.account ? { account: o.account } : {}),
      ...(o.time ? { time: o.time } : {}),
      sbatchArgs: o.sbatchArg ?? [],
    });
    const file = resolve(o.sbatch);
    try {
      await writeAtomic(file, text, { mode: 0o755 });
    } catch (e) {
      throw new CellbudgetError(
        'OUTPUT_UNWRITABLE',
        `Cannot write the job script ${file}: ${(e as Error).message}.`,
        { file, hint: 'Give --sbatch a path in a folder you can write to.' },
        { cause: e },
      );
    }
    ctx.io.stderr.write(`Job script written to ${file}: submit it with \`sbatch ${o.sbatch}\`.\n`);
  }
  for (const x of plans) assertSomethingFits(x.plan);
}

/**
 * RSS a full-size `cellbudget run` needs beside the run's own peak: the harness process
 * (Node, the CLI, the report writers: its VmHWM measured here at 148 MB, 216 MB when it first
 * generated an 8 MB synthetic dataset itself) and the measuring child's baseline (preflight's
 * allowance). A full-size synthetic dataset generated in the job grows the harness further
 * (h5wasm's heap does not shrink; bounded by its write windows).
 */
export const RUN_START_BYTES = 200e6 + CHILD_RUNTIME_BYTES;

export interface JobScriptInput {
  scenario: BuiltinScenario;
  datasets: readonly DatasetModel[];
  plan: Plan;
  /** The strategy to run (default: the plan's recommendation). */
  strategy?: StrategyName | undefined;
  /** One array task per dataset (not for eager: it holds every dataset at once). */
  array: boolean;
  calibrationFile?: string | undefined;
  constantsLabel: string;
  constants: Calibration['constants'];
  partition?: string;
  account?: string;
  time?: string;
  sbatchArgs: readonly string[];
}

/**
 * A ready batch script running the scenario at full size on one node with the planned
 * `--mem`: `cellbudget run SCENARIO --scale 1` (the report lands in reports/full-size-<job>),
 * or with `array` one task per dataset, each asking for the largest single-dataset peak.
 */
export function planJobScript(i: JobScriptInput): string {
  const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
  const st = i.plan.strategies.find((x) => x.name === (i.strategy ?? i.plan.recommended.strategy));
  if (!st) {
    throw new CellbudgetError('USAGE', `--strategy ${i.strategy} is not among the planned strategies.`, {
      key: '--strategy',
      hint: 'Plan the strategy you want in the job script.',
    });
  }
  const cli = `${q(process.execPath)} ${q(resolve(packageRoot(), 'bin', 'cellbudget.js'))}`;
  const common = [
    `--scale 1`,
    `--strategy ${st.name}`,
    ...(i.calibrationFile && i.calibrationFile !== 'measured'
      ? [`--calibration ${q(resolve(i.calibrationFile))}`]
      : i.calibrationFile === 'measured'
        ? ['--calibration measured']
        : []),
    '--executor local',
  ];
  const site = [
    ...(i.partition ? [`#SBATCH --partition=${i.partition}`] : []),
    ...(i.account ? [`#SBATCH --account=${i.account}`] : []),
    ...(i.time ? [`#SBATCH --time=${i.time}`] : []),
    ...i.sbatchArgs.map((a) => `#SBATCH ${a}`),
  ];
  const head = [
    '#!/bin/bash',
    `# Written by \`cellbudget plan\` on ${new Date().toISOString()}: ${i.scenario.name} (${i.scenario.source}) at full size with ${st.name}.`,
    `# Constants: ${i.constantsLabel}; headroom ${Math.round(i.plan.headroom * 100)}%, plus ${formatBytes(RUN_START_BYTES)} for cellbudget and its measuring child.`,
  ];
  if (i.array) {
    if (st.name === 'eager') {
      throw new CellbudgetError('USAGE', 'eager loads every dataset before processing any, so it cannot run one dataset per array task.', {
        key: '--sbatch-array',
        hint: 'Choose sequential, selective or streaming (--strategy), or leave out --sbatch-array for one job.',
      });
    }
    const per = i.datasets.map((d) => ({ name: d.name, peak: simulate([d], st.name, { primary: d.name, constants: i.constants }) }));
    const top = per.reduce((a, b) => (b.peak.peak_bytes > a.peak.peak_bytes ? b : a));
    const mem = requiredWithHeadroom(top.peak.peak_bytes, i.plan.headroom) + RUN_START_BYTES;
    return [
      ...head,
      `# One task per dataset, each prepared on its own (it is its own primary); predicted peaks (the model's):`,
      ...per.map((p, k) => `#   task ${k}: ${p.name}: ${formatBytes(p.peak.peak_bytes)} at '${p.peak.peak_step}'`),
      `# Every task asks for the largest (${top.name}). Submit with: sbatch THIS_FILE; reports go to reports/full-size-<array job>/<dataset>/.`,
      `#SBATCH --job-name=cellbudget-${i.scenario.name}-${st.name}`,
      `#SBATCH --array=0-${per.length - 1}`,
      sbatchMem(mem),
      '#SBATCH --nodes=1',
      '#SBATCH --ntasks=1',
      '#SBATCH --cpus-per-task=1',
      '#SBATCH --output=cellbudget-%A_%a.out',
      ...site,
      'set -euo pipefail',
      `datasets=(${per.map((p) => q(p.name)).join(' ')})`,
      'dataset="${datasets[$SLURM_ARRAY_TASK_ID]}"',
      `exec ${cli} run ${q(i.scenario.source)} --only-dataset "$dataset" ${common.join(' ')} --out "reports/full-size-\${SLURM_ARRAY_JOB_ID}/\${dataset}"`,
      '',
    ].join('\n');
  }
  const order = st.best_order.join('\0') !== i.plan.given_order.join('\0') ? st.best_order : undefined;
  const peak = order ? st.best_peak_bytes : st.peak_bytes;
  const source = (order ? st.best_source : st.source) === 'measured' ? 'measured at full size' : "the model's prediction";
  const mem = requiredWithHeadroom(peak, i.plan.headroom) + RUN_START_BYTES;
  return [
    ...head,
    `# Peak ${formatBytes(peak)} at '${order ? st.best_peak_step : st.peak_step}' (${source}), order ${(order ?? i.plan.given_order).join(' → ')}.`,
    '# Submit with: sbatch THIS_FILE; the report goes to reports/full-size-<job id>/ (report.json, report.html, …).',
    `#SBATCH --job-name=cellbudget-${i.scenario.name}-${st.name}`,
    sbatchMem(mem),
    '#SBATCH --nodes=1',
    '#SBATCH --ntasks=1',
    '#SBATCH --cpus-per-task=1',
    '#SBATCH --output=cellbudget-%j.out',
    ...site,
    'set -euo pipefail',
    `exec ${cli} run ${q(i.scenario.source)} ${[...common, ...(order ? ['--order auto'] : [])].join(' ')} --out "reports/full-size-\${SLURM_JOB_ID}"`,
    '',
  ].join('\n');
}

export const registerPlan: RegisterCommand = (program: Command, ctx: CliContext) => {
  program
    .command('plan')
    .description('Predict full-scale peak/final memory per strategy, the best dataset order, and the node size to book.')
    .argument('[scenario]', 'scenario file or shipped scenario name')
    .addOption(
      repeatedOption(
        '--dataset <spec>',
        'NAME=SIZE[,features=N,dtype=float32,control=F,test=F,val=F,obs=B,grouped=F,kept=F,kept_test=F] (repeatable)',
      ).default([]),
    )
    .option('--primary <name>', 'the dataset that keeps train/val/test (default: the first)')
    .addOption(
      listOption('--node-memory <sizes>', 'node memory sizes to check; repeatable or comma-separated', positiveSize).default(
        [400e9, 512e9, 1e12],
        '400GB,512GB,1TB',
      ),
    )
    .addOption(valueOption('--headroom <percent>', 'memory to keep free on the node', percent).default(0.1, '10%'))
    .addOption(strategiesOption('-s, --strategy <names>', 'strategies to plan (default: all); repeatable or comma-separated'))
    .option(
      '--calibration <name|file>',
      'runtime constants: measured (default; the shipped ladder fit, RSS incl. allocator retention), documented (the original fix’s constants and data), or a file from `cellbudget calibrate`',
    )
    .option('--json', 'machine-readable output')
    .option('--sbatch <file>', 'write a ready Slurm job script running the scenario at full size with the planned --mem')
    .option('--sbatch-array', 'with --sbatch: one array task per dataset (sequential, selective, streaming)')
    .option('--partition <name>', 'with --sbatch: the partition to ask for')
    .option('--account <name>', 'with --sbatch: the account to charge')
    .addOption(valueOption('--time <limit>', 'with --sbatch: the time limit, e.g. 12:00:00 or 12h', slurmTime))
    .addOption(repeatedOption('--sbatch-arg <arg>', 'with --sbatch: an extra #SBATCH line, repeatable (e.g. --sbatch-arg=--qos=long)'))
    .action(async (scenario: string | undefined, o: PlanCliOptions) => runPlan(scenario, o, ctx));
};
