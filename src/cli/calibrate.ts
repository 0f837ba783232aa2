/**
 * `cellbudget calibrate REPORT.json [--out calibration.json]`: fit the simulator's runtime
 * constants to a report's measured steps and write the calibration file.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Report } from '../../harness/report.js';
import { CellbudgetError } from '../errors.js';
import { formatBytes } from '../units.js';
import { fitConstants } from '../simulator/calibration.js';
import { observationsFromReport } from '../simulator/predict.js';
import { CONSTANT_NAMES } from '../simulator/simulate.js';
import type { CliContext, RegisterCommand } from './context.js';

/** Read a report.json (for calibrate and simulate --report). */
export function readReport(file: string): Report {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CellbudgetError('FILE_NOT_FOUND', `Report ${file} cannot be read.`, { file, hint: 'Give the report.json `cellbudget run` wrote (default reports/latest/report.json).' }, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CellbudgetError('CALIBRATION_INVALID', `Report ${file} is not JSON.`, { file, hint: 'Give the report.json `cellbudget run` wrote.' }, { cause: e });
  }
  const r = json as Partial<Report>;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.runs) || !Array.isArray(r.scenarios)) {
    throw new CellbudgetError('CALIBRATION_INVALID', `Report ${file} has no runs[] and scenarios[].`, { file, hint: 'Give the report.json `cellbudget run` wrote.' });
  }
  return r as Report;
}

interface CalibrateOptions {
  out: string;
  json?: boolean;
}

async function runCalibrate(file: string, o: CalibrateOptions, ctx: CliContext): Promise<void> {
  const report = readReport(file);
  const { observations, skipped } = observationsFromReport(report);
  const cal = fitConstants(observations, file);
  const text = `${JSON.stringify({ ...cal, created: new Date().toISOString(), skipped }, null, 2)}\n`;
  const tmp = `${o.out}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, o.out);
  if (o.json) {
    ctx.io.stdout.write(text);
    return;
  }
  const lines = [`Calibrated from ${file}: ${observations.length} figures (peak and end of every step), written to ${o.out}`];
  for (const k of CONSTANT_NAMES) {
    const v = cal.constants[k];
    const shown = k.endsWith('_bytes') ? formatBytes(v) : k.endsWith('per_cell') ? `${v.toFixed(1)} B/cell` : v.toFixed(3);
    const note = cal.fit?.unexercised.includes(k) ? '  (default: no step exercised it)' : cal.fit?.pinned.includes(k) ? '  (pinned at its bound: the data pulled it past)' : '';
    lines.push(`  ${k.padEnd(30)}${shown}${note}`);
  }
  if (cal.fit) lines.push(`  relative error: rms ${(cal.fit.rms_relative_error * 100).toFixed(1)}%, max ${(cal.fit.max_relative_error * 100).toFixed(1)}%`);
  for (const s of skipped) lines.push(`  skipped ${s.scenario}/${s.strategy}: ${s.reason}`);
  ctx.io.stdout.write(`${lines.join('\n')}\n`);
}

export const registerCalibrate: RegisterCommand = (program: Command, ctx: CliContext) => {
  program
    .command('calibrate')
    .description("Fit the simulator's runtime constants to a report's measured steps.")
    .argument('<report>', 'report.json written by `cellbudget run`')
    .option('--out <file>', 'calibration file to write', 'calibration.json')
    .option('--json', 'print the calibration as JSON')
    .action(async (file: string, o: CalibrateOptions) => runCalibrate(file, o, ctx));
};
