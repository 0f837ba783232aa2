/**
 * Baselines: compare two reports per scenario × strategy, and merge repeated runs by the
 * median. Figures compare at full scale (the projections), and only at the same scale: a
 * projection from other rungs carries other fit errors, so runs at different scales are
 * refused as a failure, as is a comparison in which nothing matches.
 */
import { CellbudgetError } from '../../src/core/errors.js';
import { formatBytes } from '../../src/core/units.js';
import { formatTable } from '../../src/core/table.js';
import { evaluateBudgets } from './budgets.js';
import { formatSpread, projectionOf, withProjection } from './projection.js';
import type { Budgets } from '../../src/scenario/model.js';
import { reportSchema, type Interval, type Report, type RunRecord, type StepRecord } from '../../src/core/report.js';
import { readJsonFile } from '../../src/io/files.js';
import { z } from 'zod';

/** ok: within ±warn; improved: fell by more than warn; warn / fail: grew by more than warn / fail. */
export type Tier = 'ok' | 'improved' | 'warn' | 'fail';

export interface CompareOptions {
  /** Relative growth that warns (0.05 = 5%). */
  warn: number;
  /** Relative growth that fails. */
  fail: number;
  /**
   * Changes smaller than this many *measured* bytes are noise whatever their ratio (a final
   * figure of 1 MB measured moving to 1.2 MB is allocator noise, not a 20% regression).
   */
  min_delta_bytes?: number;
}

export const DEFAULT_COMPARE: Required<CompareOptions> = { warn: 0.05, fail: 0.1, min_delta_bytes: 1_000_000 };

export interface MetricDelta {
  /** Full-scale figures (projections). */
  base_bytes: number;
  next_bytes: number;
  /** The projections' intervals. */
  base_interval?: Interval;
  next_interval?: Interval;
  delta_bytes: number;
  /** delta / base; Infinity when base is 0 and next is not. */
  ratio: number;
  tier: Tier;
}

export interface ComparisonRow {
  scenario: string;
  strategy: string;
  /** 'both' when in both reports; otherwise which one has it. */
  presence: 'both' | 'base-only' | 'next-only';
  peak: MetricDelta | null;
  final: MetricDelta | null;
  /** The worse of peak and final; 'fail' also when the new run did not finish. */
  tier: Tier;
  note?: string;
}

export interface Comparison {
  warn: number;
  fail: number;
  rows: ComparisonRow[];
  /** Scenario × strategy pairs present in both reports with figures compared. */
  matched: number;
  /**
   * Why the comparison as a whole cannot pass: nothing matched (a renamed scenario, an
   * empty report), runs compared across scales. Each one counts as a failure.
   */
  problems: string[];
  /** Rows at the fail tier plus problems: the CLI exits 1 when there is any. */
  failures: number;
  warnings: number;
}

const RANK: Record<Tier, number> = { improved: 0, ok: 1, warn: 2, fail: 3 };

function worse(a: Tier, b: Tier): Tier {
  return RANK[a] >= RANK[b] ? a : b;
}

function delta(
  base: number,
  next: number,
  scale: number,
  o: Required<CompareOptions>,
  intervals?: { base: Interval; next: Interval },
): MetricDelta {
  const d = next - base;
  const ratio = base === 0 ? (d === 0 ? 0 : d > 0 ? Infinity : -Infinity) : d / base;
  let tier: Tier = 'ok';
  if (Math.abs(d * scale) >= o.min_delta_bytes) {
    if (ratio > o.fail) tier = 'fail';
    else if (ratio > o.warn) tier = 'warn';
    else if (ratio < -o.warn) tier = 'improved';
  }
  return {
    base_bytes: base,
    next_bytes: next,
    ...(intervals ? { base_interval: intervals.base, next_interval: intervals.next } : {}),
    delta_bytes: d,
    ratio,
    tier,
  };
}

function key(r: Pick<RunRecord, 'scenario' | 'strategy'>): string {
  return `${r.scenario}\u0000${r.strategy}`;
}

/** Per scenario × strategy: peak and final deltas at full scale, with warn and fail tiers. */
export function compareReports(base: Report, next: Report, options: CompareOptions = DEFAULT_COMPARE): Comparison {
  const o: Required<CompareOptions> = { ...DEFAULT_COMPARE, ...options };
  if (!(o.warn >= 0) || !(o.fail >= o.warn)) {
    throw new CellbudgetError('USAGE', `Thresholds must satisfy 0 ≤ warn ≤ fail; got warn ${o.warn}, fail ${o.fail}.`, {
      hint: 'E.g. --warn 5% --fail 10%.',
    });
  }
  const baseRuns = new Map(base.runs.map((r) => [key(r), r]));
  const nextKeys = new Set<string>();
  const scaleChanges: string[] = [];
  const rows: ComparisonRow[] = [];
  for (const n of next.runs) {
    nextKeys.add(key(n));
    const b = baseRuns.get(key(n));
    if (!b) {
      rows.push({
        scenario: n.scenario,
        strategy: n.strategy,
        presence: 'next-only',
        peak: null,
        final: null,
        tier: n.status === 'ok' ? 'ok' : 'fail',
        note: n.status === 'ok' ? 'new: no baseline' : `new, and it ${n.status}`,
      });
      continue;
    }
    if (n.status !== 'ok' || b.status !== 'ok') {
      const note =
        n.status !== 'ok'
          ? `${n.status}${n.failure?.step ? ` in '${n.failure.step}'` : ''}${b.status === 'ok' ? ' (baseline finished)' : ' (baseline too)'}`
          : `baseline ${b.status}; no figures to compare`;
      rows.push({
        scenario: n.scenario,
        strategy: n.strategy,
        presence: 'both',
        peak: null,
        final: null,
        tier: n.status !== 'ok' ? 'fail' : 'ok',
        note,
      });
      continue;
    }
    if (b.scale !== n.scale) {
      // The runtime's fixed cost does not shrink with the scale (docs/measurement.md#why-measured--scale-is-not-a-full-scale-figure): measured ÷ scale
      // at two scales differs by that cost ÷ scale, which is no regression and no improvement.
      rows.push({
        scenario: n.scenario,
        strategy: n.strategy,
        presence: 'both',
        peak: null,
        final: null,
        tier: 'fail',
        note: `scale changed from ${b.scale} to ${n.scale}: not comparable`,
      });
      scaleChanges.push(`${n.scenario} / ${n.strategy} (${b.scale} → ${n.scale})`);
      continue;
    }
    const pb = projectionOf(b);
    const pn = projectionOf(n);
    const peak = delta(pb.peak_bytes, pn.peak_bytes, n.scale, o, { base: pb.interval.peak, next: pn.interval.peak });
    const final = delta(pb.final_bytes, pn.final_bytes, n.scale, o, { base: pb.interval.final, next: pn.interval.final });
    rows.push({ scenario: n.scenario, strategy: n.strategy, presence: 'both', peak, final, tier: worse(peak.tier, final.tier) });
  }
  for (const b of base.runs) {
    if (nextKeys.has(key(b))) continue;
    // A baseline run the new report lacks is a gate that silently stopped measuring.
    rows.push({
      scenario: b.scenario,
      strategy: b.strategy,
      presence: 'base-only',
      peak: null,
      final: null,
      tier: 'warn',
      note: 'not in the new report',
    });
  }
  const matched = rows.filter((r) => r.presence === 'both' && r.peak !== null).length;
  const problems: string[] = [];
  if (scaleChanges.length > 0) {
    problems.push(
      `${scaleChanges.length} run(s) were measured at another scale than their baseline: ${scaleChanges.join(', ')}. Compare reports taken at the same scale (or re-take the baseline).`,
    );
  }
  const inBoth = rows.filter((r) => r.presence === 'both').length;
  if (inBoth === 0) {
    const names = (runs: readonly RunRecord[]): string =>
      runs.length === 0
        ? 'no runs'
        : [...new Set(runs.map((r) => `${r.scenario} / ${r.strategy}`))].slice(0, 8).join(', ') + (runs.length > 8 ? ', …' : '');
    problems.push(
      `Nothing to compare: no scenario × strategy is in both reports (baseline: ${names(base.runs)}; new: ${names(next.runs)}). Was a scenario renamed, or did the run measure nothing?`,
    );
  }
  return {
    warn: o.warn,
    fail: o.fail,
    rows,
    matched,
    problems,
    failures: rows.filter((r) => r.tier === 'fail').length + problems.length,
    warnings: rows.filter((r) => r.tier === 'warn').length,
  };
}

/** "+12.3%", "−4.0%", "new". */
export function formatRatio(ratio: number): string {
  if (ratio === Infinity) return '+∞';
  if (ratio === -Infinity) return '−∞';
  const p = ratio * 100;
  const s = Math.abs(p) < 0.05 ? '0.0' : Math.abs(p).toFixed(1);
  return p > 0.05 ? `+${s}%` : p < -0.05 ? `−${s}%` : `${s}%`;
}

const TIER_WORD: Record<Tier, string> = { ok: 'ok', improved: 'improved', warn: 'WARN', fail: 'FAIL' };

function metricCell(d: MetricDelta | null): string {
  if (!d) return '—';
  const one = (v: number, i?: Interval): string => `${formatBytes(v)}${i ? ` ${formatSpread(v, i)}` : ''}`.trimEnd();
  return `${one(d.base_bytes, d.base_interval)} → ${one(d.next_bytes, d.next_interval)} (${formatRatio(d.ratio)})`;
}

/** A plain-text table for the terminal. */
export function formatComparison(c: Comparison): string {
  const head = ['scenario', 'strategy', 'peak (full scale, projected)', 'final (full scale, projected)', 'verdict'];
  const rows = c.rows.map((r) => [
    r.scenario,
    r.strategy,
    metricCell(r.peak),
    metricCell(r.final),
    `${TIER_WORD[r.tier]}${r.note ? ` — ${r.note}` : ''}`,
  ]);
  const out = [formatTable(rows, { head, rule: true })];
  const overFail = c.rows.filter((r) => r.tier === 'fail').length;
  out.push(
    '',
    `${c.matched} of ${c.rows.length} compared; ${overFail} over the fail threshold (+${(c.fail * 100).toFixed(1)}%), ${c.warnings} over the warn threshold (+${(c.warn * 100).toFixed(1)}%).`,
  );
  for (const p of c.problems) out.push(`FAIL: ${p}`);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------
// Reading reports

const REPORT_KIND = {
  what: 'cellbudget report',
  hint: 'Pass the report.json a `cellbudget run` wrote (version 1), e.g. reports/latest/report.json.',
} as const;

/** Read and check a report.json (the format's schema, then `checkReport`); bad input is a CellbudgetError (exit 2). */
export async function loadReport(path: string): Promise<Report> {
  return checkReport(readJsonFile(path, z.unknown(), 'REPORT_INVALID', REPORT_KIND), path);
}

/**
 * Check a report: the format (core/report.ts's schema), then what the renderers and
 * comparisons rely on beyond it — scales in (0, 1], no negative peak, no finished built-in run
 * with a zero peak, one run per scenario × strategy. REPORT_INVALID otherwise.
 */
export function checkReport(data: unknown, file = 'report'): Report {
  const bad = (what: string): never => {
    throw new CellbudgetError('REPORT_INVALID', `${file} is not a cellbudget report: ${what}.`, { file, hint: REPORT_KIND.hint });
  };
  const parsed = reportSchema.safeParse(data);
  if (!parsed.success) {
    return bad(
      parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`)
        .join('; '),
    );
  }
  const r = parsed.data;
  const seen = new Map<string, number>();
  for (const [i, run] of r.runs.entries()) {
    if (!(run.scale > 0 && run.scale <= 1)) bad(`runs[${i}].scale must be in (0, 1], got ${run.scale}`);
    // A negative peak is impossible; a finished built-in run loads datasets, so a peak of 0
    // is no measurement (a command may genuinely allocate nothing beyond its baseline).
    const builtin = run.method === 'kernel-hwm' || run.method === 'sampled-rss';
    if (run.peak_bytes < 0 || (builtin && run.strategy !== 'command' && run.status === 'ok' && run.peak_bytes === 0))
      bad(`runs[${i}] (${run.scenario} / ${run.strategy}) has a peak of ${run.peak_bytes} bytes`);
    const k = key(run);
    const first = seen.get(k);
    if (first !== undefined)
      bad(
        `runs[${first}] and runs[${i}] are both ${run.scenario} / ${run.strategy}; a report holds one run per scenario × strategy (merge repetitions with --runs)`,
      );
    seen.set(k, i);
  }
  // The file's own data, checked: fields beyond the format (a command's `command`, a log's `ingested`) stay.
  return data as Report;
}

// ---------------------------------------------------------------------------------------
// Median of repeated runs (--runs N)

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  if (v.length === 0) return 0;
  return v.length % 2 === 1 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

const STEP_FIGURES = [
  'peak_bytes',
  'end_bytes',
  'heap_used_bytes',
  'external_bytes',
  'array_buffers_bytes',
  'wasm_bytes',
  'live_bytes',
  'gc_count',
  'gc_pause_ms',
  'start_ms',
  'end_ms',
] as const satisfies ReadonlyArray<keyof StepRecord>;

function mergeRuns(runs: RunRecord[]): RunRecord {
  const first = runs[0] as RunRecord;
  // A death is not noise: a run that did not finish in any repetition is reported as such.
  const failed = runs.find((r) => r.status !== 'ok');
  if (failed) {
    const n = runs.filter((r) => r.status !== 'ok').length;
    return {
      ...failed,
      failure: {
        ...(failed.failure ?? { reason: failed.status }),
        reason: `${failed.failure?.reason ?? failed.status} (${n} of ${runs.length} runs)`,
      },
    };
  }
  const med = (f: (r: RunRecord) => number): number => median(runs.map(f));
  const peak = med((r) => r.peak_bytes);
  // Samples cannot be averaged point by point; keep the timeline of the run nearest the median peak.
  const representative = runs.reduce((best, r) => (Math.abs(r.peak_bytes - peak) < Math.abs(best.peak_bytes - peak) ? r : best), first);
  const sameSteps = runs.every((r) => r.steps.length === first.steps.length && r.steps.every((s, i) => s.label === first.steps[i]?.label));
  const steps = sameSteps
    ? representative.steps.map((s, i) => {
        const out: StepRecord = { ...s };
        for (const k of STEP_FIGURES) out[k] = median(runs.map((r) => (r.steps[i] as StepRecord)[k]));
        return out;
      })
    : representative.steps;
  const merged: RunRecord = {
    ...representative,
    baseline_bytes: med((r) => r.baseline_bytes),
    peak_bytes: peak,
    final_bytes: med((r) => r.final_bytes),
    final_live_bytes: med((r) => r.final_live_bytes),
    duration_ms: med((r) => r.duration_ms),
    steps,
  };
  const warnings = [...new Set(runs.flatMap((r) => r.warnings ?? []))];
  if (warnings.length > 0) merged.warnings = warnings;
  if (first.leak && runs.every((r) => r.leak)) {
    merged.leak = { ...first.leak, growth_per_repetition_bytes: med((r) => r.leak?.growth_per_repetition_bytes ?? 0) };
  }
  // The projection is fitted again over every run's rungs: their spread is the repeat noise.
  const rungs = runs.flatMap((r, i) => (r.ladder?.rungs ?? []).map((g) => ({ ...g, run: i })));
  const projected = rungs.length > 0 ? withProjection(merged, rungs, first.ladder?.notes ?? []) : merged;
  merged.steps = projected.steps;
  if (projected.projected) merged.projected = projected.projected;
  if (projected.ladder) merged.ladder = projected.ladder;
  if (projected.naive_full_scale) merged.naive_full_scale = projected.naive_full_scale;
  const budgets: Budgets = {};
  for (const b of first.budgets) {
    if (b.metric === 'peak') budgets.peakBytes = b.limit_bytes;
    else if (b.metric === 'final') budgets.finalBytes = b.limit_bytes;
    else budgets.leakBytes = b.limit_bytes;
  }
  merged.budgets = evaluateBudgets(merged, budgets).map((b) => ({
    ...b,
    ...(b.message ? { message: `${b.message} (median of ${runs.length} runs)` } : {}),
  }));
  if (merged.leak) merged.leak.ok = merged.budgets.find((b) => b.metric === 'leak')?.ok ?? merged.leak.ok;
  return merged;
}

/**
 * Merge N reports of the same scenarios (`--runs N`) into one: per scenario × strategy the
 * median of each figure, budgets re-checked on the medians, the timeline of the run nearest
 * the median peak. A run that failed in any repetition stays failed.
 */
export function medianRuns(reports: Report[]): Report {
  const first = reports[0];
  if (!first) throw new CellbudgetError('USAGE', 'medianRuns needs at least one report.', { hint: 'Use --runs 1 or more.' });
  if (reports.length === 1) return first;
  const groups = new Map<string, RunRecord[]>();
  for (const rep of reports) {
    for (const r of rep.runs) {
      const list = groups.get(key(r)) ?? [];
      list.push(r);
      groups.set(key(r), list);
    }
  }
  return { ...first, runs: first.runs.map((r) => mergeRuns(groups.get(key(r)) ?? [r])) };
}
