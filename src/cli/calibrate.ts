/**
 * `cellbudget calibrate REPORT.json… [--out calibration.json]`: fit the simulator's runtime
 * constants to the measured steps of one or more reports — scaled runs, ladder rungs and
 * full-size (scale 1) runs from a cluster alike — and write the calibration file. Full-size
 * runs are also kept in it as such (`full_size`), with how far earlier predictions were, so
 * `plan` can use them and say which figures were measured.
 */
import type { Command } from 'commander';
import { calibrationReportSchema, type CalibrationReport } from '../core/report.js';
import { readJsonFile, writeAtomic } from '../io/files.js';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import { fitConstants } from '../simulator/calibration.js';
import { fullSizeMeasurements, observationsFromReport } from '../simulator/predict.js';
import { CONSTANT_NAMES } from '../simulator/simulate.js';
import type { CliContext, RegisterCommand } from './context.js';

/** Read a report.json for calibrate and simulate --report: what calibration reads of it (REPORT_INVALID when it is not a report). */
export function readReport(file: string): CalibrationReport {
  return readJsonFile(file, calibrationReportSchema, 'REPORT_INVALID', {
    what: 'cellbudget report',
    hint: 'Give the report.json `cellbudget run` wrote (default reports/latest/report.json).',
  });
}

interface CalibrateOptions {
  out: string;
  json?: boolean;
}

async function runCalibrate(files: string[], o: CalibrateOptions, ctx: CliContext): Promise<void> {
  const reports = files.map((file) => ({ file, report: readReport(file) }));
  const observations = [];
  const skipped = [];
  for (const { file, report } of reports) {
    const r = observationsFromReport(report);
    observations.push(...r.observations);
    skipped.push(...r.skipped.map((x) => (files.length > 1 ? { ...x, report: file } : x)));
  }
  const fullSize = fullSizeMeasurements(reports);
  const cal = fitConstants(observations, files.join(', '));
  const text = `${JSON.stringify({ ...cal, created: new Date().toISOString(), skipped, ...(fullSize.length ? { full_size: fullSize } : {}) }, null, 2)}\n`;
  await writeAtomic(o.out, text);
  if (o.json) {
    ctx.io.stdout.write(text);
    return;
  }
  const lines = [`Calibrated from ${files.join(', ')}: ${observations.length} figures (peak and end of every step), written to ${o.out}`];
  const constants = CONSTANT_NAMES.map((k) => {
    const v = cal.constants[k];
    const shown = k.endsWith('_bytes') ? formatBytes(v) : k.endsWith('per_cell') ? `${v.toFixed(1)} B/cell` : v.toFixed(3);
    const note = cal.fit?.unexercised.includes(k)
      ? '(default: no step exercised it)'
      : cal.fit?.pinned.includes(k)
        ? '(pinned at its bound: the data pulled it past)'
        : '';
    return [k, shown, note];
  });
  lines.push(formatTable(constants, { indent: '  ' }));
  if (cal.fit)
    lines.push(
      `  relative error: rms ${(cal.fit.rms_relative_error * 100).toFixed(1)}%, max ${(cal.fit.max_relative_error * 100).toFixed(1)}%`,
    );
  if (fullSize.length > 0) {
    lines.push(`  Measured at full size (scale 1), kept for \`plan\`:`);
    for (const m of fullSize) {
      const where = m.executor === 'slurm' ? ` (Slurm job ${m.job_id ?? '?'} on ${m.node ?? '?'})` : '';
      lines.push(
        `    ${m.scenario} / ${m.strategy}: peak ${formatBytes(m.peak_bytes)} at '${m.peak_step}', final ${formatBytes(m.final_bytes)}${where}`,
      );
      for (const e of m.earlier)
        lines.push(
          `      earlier: ${e.source}: peak ${formatBytes(e.peak_bytes)} (${signedPct(e.peak_error)})${e.final_bytes !== undefined ? `, final ${formatBytes(e.final_bytes)} (${signedPct(e.final_error ?? 0)})` : ''}`,
        );
    }
  }
  for (const s of skipped) lines.push(`  skipped ${s.scenario}/${s.strategy}: ${s.reason}`);
  ctx.io.stdout.write(`${lines.join('\n')}\n`);
}

/** +5.2% / −3.0%: an earlier figure's error against the measured one. */
export function signedPct(e: number): string {
  return `${e >= 0 ? '+' : '−'}${Math.abs(e * 100).toFixed(1)}%`;
}

export const registerCalibrate: RegisterCommand = (program: Command, ctx: CliContext) => {
  program
    .command('calibrate')
    .description("Fit the simulator's runtime constants to reports' measured steps; full-size (scale 1) runs are kept for `plan`.")
    .argument('<report...>', 'report.json files written by `cellbudget run` (scaled, ladder and full-size runs alike)')
    .option('--out <file>', 'calibration file to write', 'calibration.json')
    .option('--json', 'print the calibration as JSON')
    .action(async (files: string[], o: CalibrateOptions) => runCalibrate(files, o, ctx));
};
