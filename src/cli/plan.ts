/**
 * `cellbudget plan`: full-scale peaks per strategy, node fits, the best order, and a
 * ready `#SBATCH --mem` line. Also the I/O helpers `simulate` and `calibrate` share:
 * loading a scenario into dataset models (inspecting real files' obs) and a calibration file.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fileFacts } from '../../harness/facts.js';
import { loadScenarios, type BuiltinScenario } from '../../harness/scenario.js';
import { CellbudgetError } from '../errors.js';
import type { StrategyName } from '../strategies/types.js';
import { parseStrategies } from '../strategies/types.js';
import { formatBytes, parseBytes, parsePercent } from '../units.js';
import { DOCUMENTED_CALIBRATION, MEASURED_CALIBRATION, parseCalibration, type Calibration } from '../simulator/calibration.js';
import { datasetFromSpec, datasetsFromScenario } from '../simulator/inputs.js';
import type { DatasetModel } from '../simulator/model.js';
import { assertSomethingFits, plan, type Plan } from '../simulator/planner.js';
import type { CliContext, RegisterCommand } from './context.js';

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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CellbudgetError('FILE_NOT_FOUND', `Calibration file ${file} cannot be read.`, { file, hint: 'Give the file `cellbudget calibrate … --out` wrote.' }, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CellbudgetError('CALIBRATION_INVALID', `Calibration file ${file} is not JSON.`, { file, hint: 'Regenerate it with `cellbudget calibrate`.' }, { cause: e });
  }
  return parseCalibration(json, file);
}

/** What the figures are, in words, for output headers. */
export function calibrationLabel(file: string | undefined): string {
  if (file === 'documented') return "documented: the original fix's constants (live bytes, no allocator retention) and its documented data";
  if (file === undefined || file === 'measured') return `measured: ${MEASURED_CALIBRATION.fit?.source ?? 'the shipped ladder fit'} (RSS incl. allocator retention), data as the harness generates it`;
  return `calibrated from ${file}, data as the harness generates it`;
}

interface PlanCliOptions {
  dataset: string[];
  primary?: string;
  nodeMemory: string;
  headroom: string;
  strategy?: string[];
  calibration?: string;
  json?: boolean;
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
    })),
    recommended: { ...p.recommended, peak_bytes: Math.round(p.recommended.peak_bytes) },
    recommended_order: p.recommended.order,
  };
}

function planText(name: string, p: Plan, constantsLabel: string): string {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lines: string[] = [];
  lines.push(`${name}: ${p.given_order.length} dataset(s) in order ${p.given_order.join(' → ')}, primary ${p.primary}, headroom ${Math.round(p.headroom * 100)}% (full scale; constants: ${constantsLabel})`);
  const nodeCols = p.nodes.map((n) => formatBytes(n));
  lines.push(`  ${pad('strategy', 11)}${pad('peak', 11)}${pad('final', 11)}${pad('peak at', 24)}${nodeCols.map((c) => pad(c, 9)).join('')}`);
  for (const s of p.strategies) {
    lines.push(
      `  ${pad(s.name, 11)}${pad(formatBytes(s.peak_bytes), 11)}${pad(formatBytes(s.final_bytes), 11)}${pad(s.peak_step, 24)}${s.fits.map((f) => pad(f.fits ? 'fits' : 'no', 9)).join('')}`,
    );
  }
  lines.push('  Best order (lowest peak):');
  for (const s of p.strategies) {
    const gain = s.saving_bytes > 0 ? `${formatBytes(s.saving_bytes)} lower than the given order (${formatBytes(s.peak_bytes)})` : 'same as the given order';
    const fitsNow = s.best_fits.filter((f, i) => f.fits && !s.fits[i]!.fits).map((f) => formatBytes(f.node_bytes));
    lines.push(`    ${pad(s.name, 11)}${s.best_order.join(' → ')}: peak ${formatBytes(s.best_peak_bytes)} at ${s.best_peak_step}, ${gain}${fitsNow.length ? `; now fits ${fitsNow.join(', ')}` : ''}`);
  }
  const r = p.recommended;
  lines.push(
    `  Recommended: ${r.strategy}, order ${r.order.join(' → ')}, peak ${formatBytes(r.peak_bytes)}; smallest node that fits: ${r.node_bytes === null ? 'none of those given' : formatBytes(r.node_bytes)}`,
  );
  lines.push(`  ${r.sbatch}`);
  return `${lines.join('\n')}\n`;
}

async function runPlan(scenarioArg: string | undefined, o: PlanCliOptions, ctx: CliContext): Promise<void> {
  if ((scenarioArg === undefined) === (o.dataset.length === 0)) {
    throw new CellbudgetError('USAGE', scenarioArg === undefined ? 'plan needs a scenario or at least one --dataset.' : 'Give a scenario or --dataset options, not both.', {
      hint: 'e.g. `cellbudget plan scenarios/original-fix.yaml` or `cellbudget plan --dataset a=132GB --dataset b=132GB`.',
    });
  }
  const nodes = o.nodeMemory.split(',').filter((x) => x.trim() !== '').map((x) => parseBytes(x, '--node-memory'));
  const headroom = parsePercent(o.headroom, '--headroom');
  const calibration = readCalibration(o.calibration);
  const strategies = parseStrategies(o.strategy);
  const inputs: Array<{ name: string; datasets: DatasetModel[] }> = [];
  if (scenarioArg) for (const s of builtinScenarios(scenarioArg)) inputs.push({ name: s.name, datasets: await fullScaleDatasets(s, isDocumented(o.calibration)) });
  else inputs.push({ name: 'datasets', datasets: o.dataset.map(datasetFromSpec) });
  const plans = inputs.map(({ name, datasets }) => {
    const names = new Set<string>();
    for (const d of datasets) {
      if (names.has(d.name)) throw new CellbudgetError('USAGE', `Dataset '${d.name}' is given twice.`, { key: '--dataset', value: d.name, hint: 'Give every dataset its own name.' });
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
      }),
    };
  });
  if (o.json) {
    const out = plans.map((x) => ({ ...planJson(x.name, x.plan), calibration: calibrationLabel(o.calibration), constants: calibration.constants }));
    ctx.io.stdout.write(`${JSON.stringify(out.length === 1 ? out[0] : { plans: out }, null, 2)}\n`);
  } else {
    for (const x of plans) ctx.io.stdout.write(planText(x.name, x.plan, calibrationLabel(o.calibration)));
  }
  for (const x of plans) assertSomethingFits(x.plan);
}

export const registerPlan: RegisterCommand = (program: Command, ctx: CliContext) => {
  program
    .command('plan')
    .description('Predict full-scale peak/final memory per strategy, the best dataset order, and the node size to book.')
    .argument('[scenario]', 'scenario file or shipped scenario name')
    .option('--dataset <spec>', 'NAME=SIZE[,features=N,dtype=float32,control=F,test=F,val=F,obs=B,grouped=F,kept=F,kept_test=F] (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--primary <name>', 'the dataset that keeps train/val/test (default: the first)')
    .option('--node-memory <sizes>', 'node memory sizes to check, comma-separated', '400GB,512GB,1TB')
    .option('--headroom <percent>', 'memory to keep free on the node', '10%')
    .option('--strategy <names...>', 'strategies to plan (default: all)')
    .option('--calibration <name|file>', 'runtime constants: measured (default; the shipped ladder fit, RSS incl. allocator retention), documented (the original fix’s constants and data), or a file from `cellbudget calibrate`')
    .option('--json', 'machine-readable output')
    .action(async (scenario: string | undefined, o: PlanCliOptions) => runPlan(scenario, o, ctx));
};
