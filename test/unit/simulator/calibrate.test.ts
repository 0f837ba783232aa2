import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Report, RunRecord, StepRecord } from '../../../src/core/report.js';
import { fitConstants, parseCalibration } from '../../../src/simulator/calibration.js';
import { observationsFromReport, predictRun } from '../../../src/simulator/predict.js';
import { CONSTANT_NAMES, type RuntimeConstants } from '../../../src/simulator/simulate.js';
import { STRATEGY_NAMES } from '../../../src/core/names.js';
import { scenarioModel } from '../../../src/scenario/model.js';
import { main } from '../../../src/cli/main.js';

// Known constants a synthetic report is generated with; the fitter must find them again.
const TRUTH: RuntimeConstants = {
  fixed_bytes: 41e6,
  first_read_bytes: 17e6,
  data_factor: 1.07,
  obs_bytes_per_cell: 63,
  prepare_bytes_per_cell: 13,
  plan_bytes_per_cell: 25,
  read_window_bytes: 27e6,
  stream_window_bytes: 51e6,
  retention: 0.35,
  // Physically at most what was freed (obs or plan bytes per cell).
  obs_retained_bytes_per_cell: 12,
};

const definition = (name: string, features: number, size: string, drugs: number) => ({
  name,
  scale: 0.001,
  datasets: [
    { name: 'a', synthetic: { size, features, cell_lines: 4, drugs, doses: [1, 10], control_fraction: 0.08, seed: 1 } },
    { name: 'b', synthetic: { size, features, cell_lines: 4, drugs, doses: [1, 10], control_fraction: 0.08, seed: 2 } },
  ],
  pipeline: {
    dist_flag_key: 'control',
    src_dist_keys: ['cell_line'],
    tgt_dist_keys: ['drug', 'dosage'],
    data_location: ['obsm', 'X_pca'],
    split: { split_by: ['drug'], ratios: [0.7, 0.15, 0.15], random_state: 0 },
  },
});

function syntheticReport(): Report {
  const scenarios = [definition('narrow', 20, '40GB', 40), definition('wide', 400, '120GB', 60)];
  const runs: RunRecord[] = [];
  for (const def of scenarios) {
    for (const strategy of STRATEGY_NAMES) {
      const pred = predictRun({ scenario: scenarioModel(def)!, scale: def.scale }, strategy, { version: 1, constants: TRUTH });
      const steps = pred.map((p, i) => ({
        dataset: p.dataset,
        name: p.name,
        label: p.label,
        start_ms: i * 10,
        end_ms: i * 10 + 10,
        peak_bytes: p.predicted_peak_bytes,
        end_bytes: p.predicted_end_bytes,
        heap_used_bytes: 0,
        external_bytes: 0,
        array_buffers_bytes: 0,
        wasm_bytes: 0,
        live_bytes: 0,
        gc_count: 0,
        gc_pause_ms: 0,
      })) as StepRecord[];
      const peak = Math.max(...steps.map((st) => st.peak_bytes));
      runs.push({
        scenario: def.name,
        strategy,
        scale: def.scale,
        method: 'kernel-hwm',
        status: 'ok',
        peak_bytes: peak,
        final_bytes: steps.at(-1)!.end_bytes,
        steps,
      } as unknown as RunRecord);
    }
  }
  return {
    version: 1,
    scenarios: scenarios.map((d) => ({ name: d.name, scale: d.scale, definition: d, n_datasets: 2 })),
    runs,
  } as unknown as Report;
}

describe('calibrate', () => {
  test('round trip: fitting a report generated from known constants recovers them', () => {
    const { observations, skipped } = observationsFromReport(syntheticReport());
    expect(skipped).toEqual([]);
    const cal = fitConstants(observations);
    for (const k of CONSTANT_NAMES) expect(cal.constants[k], k).toBeCloseTo(TRUTH[k], k.endsWith('bytes') ? -3 : 4);
    expect(cal.fit!.max_relative_error).toBeLessThan(1e-6);
  });

  test('runs that died are skipped, not fitted', () => {
    const r = syntheticReport();
    r.runs[0] = { ...r.runs[0]!, status: 'died' };
    const { skipped } = observationsFromReport(r);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.reason).toMatch(/died/);
  });

  test('the CLI writes a calibration file the simulator reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-cal-'));
    writeFileSync(join(dir, 'report.json'), JSON.stringify(syntheticReport()));
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
    const code = await main(['node', 'cellbudget', 'calibrate', join(dir, 'report.json'), '--out', join(dir, 'cal.json')], io);
    expect(code, out.join('')).toBe(0);
    const cal = parseCalibration(JSON.parse(readFileSync(join(dir, 'cal.json'), 'utf8')));
    expect(cal.constants.obs_bytes_per_cell).toBeCloseTo(TRUTH.obs_bytes_per_cell, 3);
  });

  test('a malformed calibration file is refused with its key', () => {
    expect(() => parseCalibration({ version: 1, constants: { retention: -1 } }, 'c.json')).toThrow(/retention/);
    expect(() => parseCalibration({ version: 1, constants: { bogus: 1 } }, 'c.json')).toThrow(/CALIBRATION|bogus|Unrecognized/i);
  });

  test('every command reads a report the same way: unreadable is FILE_NOT_FOUND, not a report is REPORT_INVALID', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-cal-bad-'));
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, '{ not json');
    const good = join(dir, 'report.json');
    writeFileSync(good, JSON.stringify(syntheticReport()));
    const run = async (...args: string[]): Promise<string> => {
      const out: string[] = [];
      const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) } };
      expect(await main(['node', 'cellbudget', ...args], io), args.join(' ')).toBe(2);
      return out.join('');
    };
    for (const argv of [
      ['calibrate', garbage, '--out', join(dir, 'c.json')],
      ['compare', garbage, garbage],
      ['simulate', 'original-fix', '--report', garbage],
    ]) {
      expect(await run(...argv)).toMatch(/\[REPORT_INVALID\].*not JSON/);
    }
    for (const argv of [
      ['calibrate', join(dir, 'nope.json'), '--out', join(dir, 'c.json')],
      ['compare', join(dir, 'nope.json'), good],
    ]) {
      expect(await run(...argv)).toMatch(/\[FILE_NOT_FOUND\]/);
    }
  });
});
