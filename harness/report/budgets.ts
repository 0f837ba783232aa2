/**
 * Budgets are written at full scale; a run is measured at a ladder of scales and projected
 * to full scale (harness/run/ladder.ts, docs/measurement.md#budgets-on-the-interval). A budget is judged on the projection's
 * interval: ok when all of it is within the limit, exceeded when all of it is over, and
 * uncertain when it straddles the limit or the ladder is not linear.
 */
import { CellbudgetError } from '../../src/core/errors.js';
import { judge } from '../../src/core/projection.js';
import { formatBytes, hasUnit, parseBytes } from '../../src/core/units.js';
import { formatProjected, formatScales, projectionOf, stepProjectionOf } from './projection.js';
import type { Budgets } from '../../src/scenario/model.js';
import type { BudgetResult, Interval, Projection, RunRecord, StepRecord } from '../../src/core/report.js';

/** The step where a run's peak happened, as "prepare dataset_2": the highest full-scale peak. */
export function peakStep(steps: readonly StepRecord[], scale = 1): StepRecord | undefined {
  let best: StepRecord | undefined;
  let bestPeak = -Infinity;
  for (const s of steps) {
    const p = stepProjectionOf(s, scale).peak_bytes;
    if (!best || p > bestPeak) {
      best = s;
      bestPeak = p;
    }
  }
  return best;
}

/** How a projection came about, for messages: "projected from scales 0.001, 0.0005, 0.00025". */
export function projectionBasis(p: Projection): string {
  switch (p.method) {
    case 'measured':
      return 'measured at full scale';
    case 'single-rung':
      return `measured at scale ${formatScales(p)} only, ÷ scale: with one scale the fixed part cannot be separated`;
    default:
      return `projected from scales ${formatScales(p)}${p.linear ? '' : `, but the ladder is not linear (residual ${(p.residual * 100).toFixed(1)}%)`}`;
  }
}

type BudgetRun = Pick<
  RunRecord,
  'scenario' | 'strategy' | 'scale' | 'peak_bytes' | 'final_bytes' | 'final_live_bytes' | 'steps' | 'leak' | 'projected'
>;

function verdictMessage(
  who: string,
  what: string,
  value: number,
  interval: Interval,
  limit: number,
  verdict: 'ok' | 'exceeded' | 'uncertain',
  basis: string,
  where: string,
): string {
  const fig = `${what} ${formatProjected(value, interval)} (full scale, ${basis})`;
  if (verdict === 'ok') return `${who}: ${fig} within ${formatBytes(limit)}${where.replace(/^ at step /, ', reached at ')}.`;
  if (verdict === 'exceeded')
    return `${who}: ${fig} exceeds the budget of ${formatBytes(limit)} by ${formatBytes(value - limit)} (${pct(value, limit)})${where}.`;
  return `${who}: ${fig} is uncertain against the budget of ${formatBytes(limit)}: ${
    interval[0] <= limit && interval[1] > limit ? 'its interval straddles the limit' : 'the ladder does not fit a line'
  }${where}; add rungs or --runs, or raise the top rung's scale, to settle it.`;
}

/** Check a run against full-scale budgets on its projection; each result says by how much it broke. */
export function evaluateBudgets(run: BudgetRun, budgets: Budgets): BudgetResult[] {
  const out: BudgetResult[] = [];
  const p = projectionOf(run);
  const basis = projectionBasis(p);
  const who = `${run.scenario} / ${run.strategy}`;
  if (budgets.peakBytes !== undefined) {
    const at = peakStep(run.steps, run.scale);
    const step = at ? at.label : undefined;
    const verdict = judge(p.interval.peak, budgets.peakBytes, p.linear);
    out.push({
      metric: 'peak',
      limit_bytes: budgets.peakBytes,
      actual_bytes: p.peak_bytes,
      interval: p.interval.peak,
      verdict,
      ok: verdict !== 'exceeded',
      ...(step !== undefined ? { step } : {}),
      message: verdictMessage(
        who,
        'peak',
        p.peak_bytes,
        p.interval.peak,
        budgets.peakBytes,
        verdict,
        basis,
        step ? ` at step '${step}'` : '',
      ),
    });
  }
  if (budgets.finalBytes !== undefined) {
    const last = run.steps[run.steps.length - 1];
    const verdict = judge(p.interval.final, budgets.finalBytes, p.linear);
    out.push({
      metric: 'final',
      limit_bytes: budgets.finalBytes,
      actual_bytes: p.final_bytes,
      interval: p.interval.final,
      verdict,
      ok: verdict !== 'exceeded',
      ...(last ? { step: last.label } : {}),
      message: verdictMessage(
        who,
        'final',
        p.final_bytes,
        p.interval.final,
        budgets.finalBytes,
        verdict,
        basis,
        last ? ` after step '${last.label}'` : '',
      ),
    });
  }
  if (budgets.leakBytes !== undefined && run.leak) {
    const actual = p.leak_growth_bytes ?? run.leak.growth_per_repetition_bytes / run.scale;
    const interval: Interval = p.leak_interval ?? [actual, actual];
    const verdict = judge(interval, budgets.leakBytes);
    const top = run.leak.top_growing
      ?.slice(0, 3)
      .map((t) => `${t.what} +${formatBytes(t.size_bytes)}`)
      .join(', ');
    out.push({
      metric: 'leak',
      limit_bytes: budgets.leakBytes,
      actual_bytes: actual,
      interval,
      verdict,
      ok: verdict !== 'exceeded',
      message:
        verdict === 'ok'
          ? `${who}: retained growth ${formatProjected(actual, interval)} per repetition (full scale) within ${formatBytes(budgets.leakBytes)}.`
          : verdict === 'exceeded'
            ? `${who}: retained heap+external grows ${formatProjected(actual, interval)} per repetition (full scale), over the leak budget of ${formatBytes(budgets.leakBytes)}${top ? `; top growing: ${top}` : ''}.`
            : `${who}: retained growth ${formatProjected(actual, interval)} per repetition (full scale) is uncertain against the leak budget of ${formatBytes(budgets.leakBytes)}${top ? `; top growing: ${top}` : ''}.`,
    });
  }
  return out;
}

function pct(actual: number, limit: number): string {
  return `+${(((actual - limit) / limit) * 100).toFixed(1)}%`;
}

/** One `--budget METRIC=SIZE` (full scale). */
export interface BudgetFlag {
  readonly metric: 'peak' | 'final' | 'leak';
  readonly bytes: number;
}

const BUDGET_KEYS = { peak: 'peakBytes', final: 'finalBytes', leak: 'leakBytes' } as const;

/** Parse one `--budget` item: `peak=400GB`, `final=140GB` or `leak=1MB`; the unit is required. */
export function parseBudgetFlag(f: string): BudgetFlag {
  const m = /^\s*(peak|final|leak)\s*=\s*(.+)$/.exec(f);
  if (!m) {
    throw new CellbudgetError('USAGE', `--budget '${f}' is not METRIC=SIZE.`, {
      key: '--budget',
      value: f,
      hint: 'Write e.g. --budget peak=400GB --budget final=140GB (or --budget peak=400GB,final=140GB).',
    });
  }
  const metric = m[1] as BudgetFlag['metric'];
  const size = m[2]!.trim();
  if (!hasUnit(size)) {
    throw new CellbudgetError('USAGE', `--budget '${f}' has no unit; it would mean ${size} bytes.`, {
      key: '--budget',
      value: f,
      hint: `Write the unit, e.g. --budget ${metric}=${size}GB (full scale).`,
    });
  }
  return { metric, bytes: parseBytes(size, `--budget ${metric}`) };
}

/** Budgets with `--budget` flags over `base` (a scenario's own): a later flag for a metric wins. */
export function withBudgetFlags(flags: readonly BudgetFlag[], base: Budgets = {}): Budgets {
  const out: Budgets = { ...base };
  for (const f of flags) out[BUDGET_KEYS[f.metric]] = f.bytes;
  return out;
}

/** Parse repeated `--budget peak=400GB` / `final=…` / `leak=…` flags (full scale) over `base`. */
export function parseBudgetFlags(flags: readonly string[], base: Budgets = {}): Budgets {
  return withBudgetFlags(flags.map(parseBudgetFlag), base);
}
