import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { Report } from '../harness/report.js';
import { fitConstants, type Calibration } from '../src/simulator/calibration.js';
import { observationsFromReport, predictRun, scenarioOfRun } from '../src/simulator/predict.js';
import type { StrategyName } from '../src/strategies/types.js';

// Real measurements (kernel high-water marks of src/strategies runs; see the fixture's `note`).
const report = JSON.parse(readFileSync('test/fixtures/simulator/measured-report.json', 'utf8')) as Report;

function errors(cal: Calibration, scenario?: string): Array<{ run: string; peak: number; final: number }> {
  return report.runs
    .filter((r) => scenario === undefined || r.scenario === scenario)
    .map((run) => {
      const pred = predictRun({ scenario: scenarioOfRun(report, run)!, scale: run.scale }, run.strategy as StrategyName, cal, { steps: run.steps });
      const peak = Math.max(...pred.map((p) => p.predicted_peak_bytes));
      const final = pred[pred.length - 1]!.predicted_end_bytes;
      return { run: `${run.scenario}/${run.strategy}`, peak: (peak - run.peak_bytes) / run.peak_bytes, final: (final - run.final_bytes) / run.final_bytes };
    });
}

const only = (name: string): Report => ({ ...report, scenarios: report.scenarios.filter((s) => s.name === name), runs: report.runs.filter((r) => r.scenario === name) });

describe('the model against measured runs', () => {
  test('calibrated on all runs: every predicted peak within 10%, every final within 15%', () => {
    const cal = fitConstants(observationsFromReport(report).observations);
    for (const e of errors(cal)) {
      expect(Math.abs(e.peak), `${e.run} peak`).toBeLessThan(0.1);
      expect(Math.abs(e.final), `${e.run} final`).toBeLessThan(0.15);
    }
  });

  test('out of sample: calibrated on n-datasets, original-fix peaks and finals within 10%', () => {
    const cal = fitConstants(observationsFromReport(only('n-datasets-N2')).observations);
    for (const e of errors(cal, 'original-fix')) {
      expect(Math.abs(e.peak), `${e.run} peak`).toBeLessThan(0.1);
      expect(Math.abs(e.final), `${e.run} final`).toBeLessThan(0.1);
    }
  });
});
