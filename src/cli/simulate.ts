/**
 * `cellbudget simulate SCENARIO [--json] [--out DIR] [--report REPORT.json]`: the predicted
 * full-scale timeline of every strategy, drawn with the same chart code as measured runs;
 * with a report, measured-vs-predicted overlays and a per-step error table.
 */
import { mkdirSync } from 'node:fs';
import { writeAtomic } from '../io/files.js';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  renderChartPng,
  slug,
  timelineSeriesFromRun,
  timelineSpec,
  type TimelinePoint,
  type TimelineSeries,
} from '../../harness/report/charts.js';
import type { Report, RunRecord } from '../core/report.js';
import type { BuiltinScenario } from '../../harness/run/scenarios.js';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import { isStrategyName, type StrategyName } from '../core/names.js';
import type { Calibration } from '../simulator/calibration.js';
import { measuredRealData, predictRun, scenarioOfRun } from '../simulator/predict.js';
import { simulate, type SimResult } from '../simulator/simulate.js';
import { loadReport } from '../../harness/report/compare.js';
import type { CliContext, RegisterCommand } from './context.js';
import { strategiesOption } from './options.js';
import { builtinScenarios, calibrationLabel, fullScaleDatasets, isDocumented, readCalibration } from './plan.js';
import { fileFacts } from '../../harness/run/facts.js';

interface SimulateOptions {
  json?: boolean;
  out?: string;
  report?: string;
  calibration?: string;
  strategy?: StrategyName[];
  primary?: string;
}

/** A prediction as a timeline series: one unit of x per step (there is no time in a model). */
export function predictedSeries(r: SimResult): TimelineSeries {
  const points: TimelinePoint[] = [];
  let prev = 0;
  r.steps.forEach((s, i) => {
    const t = i * 1000;
    points.push({ t_ms: t, bytes: prev, kind: 'step', step: s.label });
    points.push({ t_ms: t + 500, bytes: s.peak_bytes, kind: 'peak', step: s.label });
    points.push({ t_ms: t + 1000, bytes: s.end_bytes, kind: 'end', step: s.label });
    prev = s.end_bytes;
  });
  return {
    label: `${r.strategy} (predicted)`,
    strategy: r.strategy,
    predicted: true,
    points,
    steps: r.steps.map((s, i) => ({ label: s.label, start_ms: i * 1000, end_ms: (i + 1) * 1000 })),
  };
}

/** A measured run with the model's figures beside every step. */
export function withPredictions(
  report: Report,
  run: RunRecord,
  calibration: Calibration,
  facts: Awaited<ReturnType<typeof fileFacts>>,
): RunRecord {
  const scenario = scenarioOfRun(report, run);
  if (!scenario || !isStrategyName(run.strategy)) return run;
  const pred = predictRun({ scenario, scale: run.scale, facts, documented: measuredRealData(run) }, run.strategy, calibration, {
    steps: run.steps,
  });
  const steps = run.steps.map((s, i) => ({
    ...s,
    predicted_peak_bytes: pred[i]!.predicted_peak_bytes,
    predicted_end_bytes: pred[i]!.predicted_end_bytes,
  }));
  const peak = Math.max(...pred.map((p) => p.predicted_peak_bytes));
  const final = pred[pred.length - 1]?.predicted_end_bytes ?? 0;
  return { ...run, steps, predicted_peak_bytes: peak, predicted_final_bytes: final };
}

async function runSimulate(arg: string, o: SimulateOptions, ctx: CliContext): Promise<void> {
  const calibration = readCalibration(o.calibration);
  const only = o.strategy;
  const report = o.report ? await loadReport(o.report) : undefined;
  const out: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  for (const s of builtinScenarios(arg)) {
    const datasets = await fullScaleDatasets(s, isDocumented(o.calibration));
    const strategies = only ?? s.strategies;
    const results = strategies.map((name) =>
      simulate(datasets, name, { constants: calibration.constants, ...(o.primary !== undefined ? { primary: o.primary } : {}) }),
    );
    text.push(`${s.name} (full scale, predicted; constants: ${calibrationLabel(o.calibration)})`);
    for (const r of results) {
      text.push(`  ${r.strategy}: peak ${formatBytes(r.peak_bytes)} at ${r.peak_step}, final ${formatBytes(r.final_bytes)}`);
      text.push(
        formatTable(
          r.steps.map((st) => [st.label, `peak ${formatBytes(st.peak_bytes)}`, `end ${formatBytes(st.end_bytes)}`]),
          { indent: '    ' },
        ),
      );
    }
    const entry: Record<string, unknown> = {
      scenario: s.name,
      scale: 1,
      calibration: calibrationLabel(o.calibration),
      constants: calibration.constants,
      strategies: results.map((r) => ({
        name: r.strategy,
        order: r.order,
        primary: r.primary,
        peak_bytes: Math.round(r.peak_bytes),
        final_bytes: Math.round(r.final_bytes),
        peak_step: r.peak_step,
        steps: r.steps.map((st) => ({
          dataset: st.dataset,
          name: st.name,
          label: st.label,
          peak_bytes: Math.round(st.peak_bytes),
          end_bytes: Math.round(st.end_bytes),
          live_bytes: Math.round(st.live_bytes),
        })),
      })),
    };
    let measured: RunRecord[] = [];
    if (report) {
      const facts = await fileFacts(s);
      measured = report.runs
        .filter((r) => r.scenario === s.name && r.status === 'ok')
        .map((r) => withPredictions(report, r, calibration, facts));
      entry['measured_vs_predicted'] = measured.map((r) => ({
        strategy: r.strategy,
        scale: r.scale,
        peak_bytes: r.peak_bytes,
        predicted_peak_bytes: r.predicted_peak_bytes,
        final_bytes: r.final_bytes,
        predicted_final_bytes: r.predicted_final_bytes,
        peak_error: relErr(r.predicted_peak_bytes, r.peak_bytes),
        final_error: relErr(r.predicted_final_bytes, r.final_bytes),
        steps: r.steps.map((st) => ({
          label: st.label,
          peak_bytes: st.peak_bytes,
          predicted_peak_bytes: st.predicted_peak_bytes,
          end_bytes: st.end_bytes,
          predicted_end_bytes: st.predicted_end_bytes,
        })),
      }));
      for (const r of measured) {
        text.push(
          `  measured ${r.strategy} at scale ${r.scale}: peak ${formatBytes(r.peak_bytes)} vs predicted ${formatBytes(r.predicted_peak_bytes ?? 0)} (${pct(relErr(r.predicted_peak_bytes, r.peak_bytes))}), final ${formatBytes(r.final_bytes)} vs ${formatBytes(r.predicted_final_bytes ?? 0)} (${pct(relErr(r.predicted_final_bytes, r.final_bytes))})`,
        );
      }
    }
    if (o.out) entry['charts'] = await writeCharts(o.out, s, results, measured);
    out.push(entry);
  }
  if (o.out) {
    mkdirSync(o.out, { recursive: true });
    await writeAtomic(join(o.out, 'simulation.json'), `${JSON.stringify(out.length === 1 ? out[0] : { scenarios: out }, null, 2)}\n`);
  }
  if (o.json) ctx.io.stdout.write(`${JSON.stringify(out.length === 1 ? out[0] : { scenarios: out }, null, 2)}\n`);
  else ctx.io.stdout.write(`${text.join('\n')}\n`);
}

function relErr(pred: number | undefined, measured: number): number | null {
  if (pred === undefined || measured === 0) return null;
  return (pred - measured) / Math.abs(measured);
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

async function writeCharts(
  dir: string,
  s: BuiltinScenario,
  results: readonly SimResult[],
  measured: readonly RunRecord[],
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const budgets = [
    ...(s.budgets.peakBytes !== undefined ? [{ metric: 'peak' as const, limit_bytes: s.budgets.peakBytes }] : []),
    ...(s.budgets.finalBytes !== undefined ? [{ metric: 'final' as const, limit_bytes: s.budgets.finalBytes }] : []),
  ];
  const predicted = timelineSpec(
    {
      title: `${s.name}: predicted memory per step (full scale)`,
      scale: 1,
      series: results.map(predictedSeries),
      budgets,
      x_label: 'step (one unit per step; a prediction has no time axis)',
    },
    `${slug(s.name)}-predicted`,
  );
  const path = join(dir, `${slug(s.name)}-predicted.png`);
  await writeAtomic(path, await renderChartPng(predicted));
  written.push(path);
  for (const run of measured) {
    const spec = timelineSpec(
      {
        title: `${s.name} / ${run.strategy}: measured vs predicted`,
        subtitle: `measured at scale ${run.scale}${run.projected?.method === 'ladder' ? ' and below, projected to full scale per step' : ''}`,
        scale: run.scale,
        series: timelineSeriesFromRun(run),
        budgets,
      },
      `${slug(s.name)}-${run.strategy}-overlay`,
    );
    const p = join(dir, `${slug(s.name)}-${run.strategy}-overlay.png`);
    await writeAtomic(p, await renderChartPng(spec));
    written.push(p);
  }
  return written;
}

export const registerSimulate: RegisterCommand = (program: Command, ctx: CliContext) => {
  program
    .command('simulate')
    .description('Predict each strategy’s memory step by step at full scale; with --report, overlay measured runs.')
    .argument('<scenario>', 'scenario file or shipped scenario name')
    .option('--json', 'machine-readable output')
    .option('--out <dir>', 'write simulation.json and PNG charts here')
    .option('--report <file>', 'report.json of measured runs to overlay')
    .option(
      '--calibration <name|file>',
      'runtime constants: measured (default; the shipped ladder fit), documented (the original fix’s constants and data), or a file from `cellbudget calibrate`',
    )
    .addOption(
      strategiesOption('-s, --strategy <names>', 'strategies to simulate (default: the scenario’s); repeatable or comma-separated'),
    )
    .option('--primary <name>', 'the dataset that keeps train/val/test (default: the first)')
    .action(async (scenario: string, o: SimulateOptions) => runSimulate(scenario, o, ctx));
};
