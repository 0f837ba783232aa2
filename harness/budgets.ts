/**
 * Budgets are written at full scale; a run is measured at `scale`. A figure measured here
 * stands for measured / scale at full scale (the fixed runtime cost is already removed
 * with the baseline, DESIGN §4).
 */
import { CellbudgetError } from '../src/errors.js';
import { formatBytes, hasUnit, parseBytes } from '../src/units.js';
import type { Budgets } from './scenario.js';
import type { BudgetResult, RunRecord, StepRecord } from './report.js';

/** The step where a run's peak happened, as "prepare dataset_2". */
export function peakStep(steps: readonly StepRecord[]): StepRecord | undefined {
  let best: StepRecord | undefined;
  for (const s of steps) if (!best || s.peak_bytes > best.peak_bytes) best = s;
  return best;
}

/** Check a run against full-scale budgets; each result says by how much it broke. */
export function evaluateBudgets(run: Pick<RunRecord, 'scenario' | 'strategy' | 'scale' | 'peak_bytes' | 'final_bytes' | 'steps' | 'leak'>, budgets: Budgets): BudgetResult[] {
  const out: BudgetResult[] = [];
  const full = (b: number): number => b / run.scale;
  const who = `${run.scenario} / ${run.strategy}`;
  if (budgets.peakBytes !== undefined) {
    const actual = full(run.peak_bytes);
    const at = peakStep(run.steps);
    const step = at ? at.label : undefined;
    const ok = actual <= budgets.peakBytes;
    out.push({
      metric: 'peak',
      limit_bytes: budgets.peakBytes,
      actual_bytes: actual,
      ok,
      ...(step !== undefined ? { step } : {}),
      message: ok
        ? `${who}: peak ${formatBytes(actual)} (full scale) within ${formatBytes(budgets.peakBytes)}${step ? `, reached at '${step}'` : ''}.`
        : `${who}: peak ${formatBytes(actual)} (full scale) exceeds the budget of ${formatBytes(budgets.peakBytes)} by ${formatBytes(actual - budgets.peakBytes)} (${pct(actual, budgets.peakBytes)}) at step '${step ?? '?'}'.`,
    });
  }
  if (budgets.finalBytes !== undefined) {
    const actual = full(run.final_bytes);
    const last = run.steps[run.steps.length - 1];
    const ok = actual <= budgets.finalBytes;
    out.push({
      metric: 'final',
      limit_bytes: budgets.finalBytes,
      actual_bytes: actual,
      ok,
      ...(last ? { step: last.label } : {}),
      message: ok
        ? `${who}: final ${formatBytes(actual)} (full scale) within ${formatBytes(budgets.finalBytes)}.`
        : `${who}: final ${formatBytes(actual)} (full scale) exceeds the budget of ${formatBytes(budgets.finalBytes)} by ${formatBytes(actual - budgets.finalBytes)} (${pct(actual, budgets.finalBytes)}) after step '${last?.label ?? '?'}'.`,
    });
  }
  if (budgets.leakBytes !== undefined && run.leak) {
    const actual = full(run.leak.growth_per_repetition_bytes);
    const ok = actual <= budgets.leakBytes;
    const top = run.leak.top_growing?.slice(0, 3).map((t) => `${t.what} +${formatBytes(t.size_bytes)}`).join(', ');
    out.push({
      metric: 'leak',
      limit_bytes: budgets.leakBytes,
      actual_bytes: actual,
      ok,
      message: ok
        ? `${who}: retained growth ${formatBytes(actual)} per repetition (full scale) within ${formatBytes(budgets.leakBytes)}.`
        : `${who}: retained heap+external grows ${formatBytes(actual)} per repetition (full scale), over the leak budget of ${formatBytes(budgets.leakBytes)}${top ? `; top growing: ${top}` : ''}.`,
    });
  }
  return out;
}

function pct(actual: number, limit: number): string {
  return `+${(((actual - limit) / limit) * 100).toFixed(1)}%`;
}

/** Parse repeated `--budget peak=400GB` / `final=…` / `leak=…` flags (full scale). */
export function parseBudgetFlags(flags: readonly string[], base: Budgets = {}): Budgets {
  const out: Budgets = { ...base };
  for (const f of flags) {
    const m = /^\s*(peak|final|leak)\s*=\s*(.+)$/.exec(f);
    if (!m) {
      throw new CellbudgetError('USAGE', `--budget '${f}' is not METRIC=SIZE.`, { key: '--budget', value: f, hint: 'Write e.g. --budget peak=400GB --budget final=140GB.' });
    }
    if (!hasUnit(m[2] as string)) {
      throw new CellbudgetError('USAGE', `--budget '${f}' has no unit; it would mean ${m[2]} bytes.`, { key: '--budget', value: f, hint: `Write the unit, e.g. --budget ${m[1]}=${(m[2] as string).trim()}GB (full scale).` });
    }
    const bytes = parseBytes(m[2] as string, `--budget ${m[1]}`);
    if (m[1] === 'peak') out.peakBytes = bytes;
    else if (m[1] === 'final') out.finalBytes = bytes;
    else out.leakBytes = bytes;
  }
  return out;
}
