/**
 * Memory charts. Node side: report → declarative ChartSpec (all numbers in display units,
 * all tooltip text formatted) → Chart.js config → PNG through @napi-rs/canvas. The HTML
 * report embeds the same specs and the same `chartConfigFromSpec` (its source text), so the
 * PNGs and the interactive charts cannot drift apart.
 */
import { mkdir } from 'node:fs/promises';
import { writeAtomic } from '../io/files.js';
import { join } from 'node:path';
import type { ChartConfiguration } from 'chart.js';
import { formatBytes } from '../core/units.js';
import type { BudgetMetric, MeasureMethod, Report, RunRecord, ScenarioSummary, StepRecord } from '../core/report.js';
import { liveBytesKnown } from '../core/figures.js';
import { formatSpread, projectionOf, stepProjectionOf } from './ladder.js';

// ---------------------------------------------------------------------------------------
// Inputs a caller (the report, or the simulator) builds timelines from

/** One point of a memory timeline. `bytes` is at full scale (projected from the run's ladder). */
export interface TimelinePoint {
  t_ms: number;
  bytes: number;
  /** sample: an RSS sample; peak: a step's high-water mark; end: RSS at a step's end; step: a predicted step figure. */
  kind: 'sample' | 'peak' | 'end' | 'step';
  /** Label of the step the point belongs to. */
  step?: string;
  /** The figure as measured (scaled-down run), when there is one. */
  measured_bytes?: number;
  /** The projection's interval at full scale, for a step's peak or end. */
  interval?: readonly [number, number];
  /** Attribution at a step's end, absolute (not net of baseline), as measured. */
  breakdown?: { heap_used_bytes: number; external_bytes: number; array_buffers_bytes: number; wasm_bytes: number; live_bytes: number };
}

/**
 * A line on a timeline: a measured run (samples + step points) or a prediction (step points
 * only, drawn dashed). `steps` gives the boundaries drawn under the chart.
 */
export interface TimelineSeries {
  label: string;
  /** Strategy name: picks the colour so a run and its prediction match. */
  strategy?: string;
  predicted?: boolean;
  points: TimelinePoint[];
  steps?: Array<{ label: string; start_ms: number; end_ms: number }>;
  /** Drawn where the series ends, e.g. "died in 'prepare d3'". */
  end_note?: string;
}

export interface TimelineInput {
  title: string;
  subtitle?: string;
  /** Scale the runs were measured at; 1 (e.g. a pure prediction) hides the measured axis. */
  scale: number;
  series: TimelineSeries[];
  /** Full-scale budgets to draw as horizontal lines. */
  budgets: Array<{ metric: BudgetMetric; limit_bytes: number }>;
  x_label?: string;
}

// ---------------------------------------------------------------------------------------
// Declarative chart specs (JSON: embedded as-is in the HTML report)

export interface SpecPoint {
  x: number;
  y: number | null;
  /** Tooltip lines. */
  tip?: string[];
  /** Draw a marker here (step peaks). */
  marker?: boolean;
}

export interface SpecLineDataset {
  label: string;
  color: string;
  dashed?: boolean;
  /** Drawn lighter (predictions), so measured lines stay in front. */
  faint?: boolean;
  stepped?: boolean;
  width?: number;
  points: SpecPoint[];
}

export interface SpecLane {
  label: string;
  color: string;
  steps: Array<{ label: string; short: string; start: number; end: number }>;
}

interface SpecCommon {
  id: string;
  title: string;
  subtitle?: string;
  yLabel: string;
  yMax: number;
  /** Secondary axis: value = primary value × factor. */
  y2?: { label: string; factor: number };
  budgets: Array<{ label: string; color: string; y: number }>;
}

export interface LinesSpec extends SpecCommon {
  kind: 'lines';
  xLabel: string;
  xMin?: number;
  xMax?: number;
  /** Integer x ticks only (N datasets). */
  xIntegers?: boolean;
  datasets: SpecLineDataset[];
  lanes: SpecLane[];
  /** Text marks at an x position near the top, e.g. where a run died. */
  notes?: Array<{ x: number; text: string; color: string }>;
}

export interface BarsSpec extends SpecCommon {
  kind: 'bars';
  categories: string[];
  /** A note under a category, e.g. "died in prepare tahoe". */
  notes: Array<string | null>;
  groups: Array<{ label: string; color: string; values: Array<number | null>; over: boolean[]; valueLabels: string[]; tips: string[][]; intervals?: Array<[number, number] | null> }>;
  /** Per-category budget marks (a budget may differ per strategy). */
  categoryBudgets: Array<{ label: string; color: string; values: Array<number | null> }>;
}

export type ChartSpec = LinesSpec | BarsSpec;

export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 600;

const STRATEGY_COLORS: Record<string, string> = {
  eager: '#d95f02',
  sequential: '#1b9e77',
  selective: '#7570b3',
  streaming: '#1f78b4',
  command: '#444444',
};
const EXTRA_COLORS = ['#e7298a', '#66a61e', '#a6761d', '#17becf', '#bcbd22'];
const BUDGET_COLORS: Record<BudgetMetric, string> = { peak: '#d62728', final: '#6b6b6b', leak: '#9467bd' };

/** A stable colour per strategy (predictions use their strategy's colour, dashed). */
export function strategyColor(name: string): string {
  const known = STRATEGY_COLORS[name];
  if (known) return known;
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return EXTRA_COLORS[h % EXTRA_COLORS.length] ?? '#444444';
}

interface Unit { name: string; factor: number }
const UNITS: Unit[] = [
  { name: 'B', factor: 1 },
  { name: 'kB', factor: 1e3 },
  { name: 'MB', factor: 1e6 },
  { name: 'GB', factor: 1e9 },
  { name: 'TB', factor: 1e12 },
  { name: 'PB', factor: 1e15 },
];

/** The decimal unit in which `maxBytes` reads as 1–999. */
export function pickUnit(maxBytes: number): Unit {
  let best = UNITS[0] as Unit;
  for (const u of UNITS) if (maxBytes >= u.factor) best = u;
  return best;
}

/** A round axis maximum at or above `v`: a multiple of a 1/2/2.5/5 × 10^k step giving ~8 ticks. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const raw = v / 8;
  const base = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * base >= raw) ?? 10) * base;
  return Number((Math.ceil(v / step - 1e-9) * step).toPrecision(12));
}

function scaleText(scale: number): string {
  return scale === 1 ? 'full scale' : `measured at a ladder of scales up to ${formatScale(scale)}, projected to full scale`;
}

function formatScale(scale: number): string {
  return Number(scale.toPrecision(3)).toString();
}

/** File-name-safe form of a scenario name. */
export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'scenario';
}

/** Three significant digits ("869 GB", "1.18 TB"): bar labels must fit over a bar. */
export function compactBytes(bytes: number): string {
  const u = pickUnit(bytes);
  return `${Number((bytes / u.factor).toPrecision(3))} ${u.name}`;
}

function fullAndMeasured(full: number, scale: number, measured?: number, interval?: readonly [number, number]): string {
  if (scale === 1) return formatBytes(full);
  const range = interval && interval[1] > interval[0] ? ` (${formatBytes(Math.max(0, interval[0]))}–${formatBytes(interval[1])})` : '';
  return `${formatBytes(full)}${range} at full scale, projected${measured !== undefined ? ` (${formatBytes(measured)} measured at scale ${formatScale(scale)})` : ''}`;
}

/**
 * Each step's figures at full scale as the ladder projected them, and a map from a figure
 * measured during that step to full scale: the step's own fit, fixed + (measured − fixed) / scale,
 * which sends the step's peak to its projected peak (up to the fit's residual).
 */
function stepMaps(run: RunRecord): Array<{ project: (measured: number) => number; p: ReturnType<typeof stepProjectionOf> }> {
  return run.steps.map((st) => {
    const p = stepProjectionOf(st, run.scale);
    const fixed = p.fit?.peak.fixed_bytes ?? 0;
    return { p, project: (m: number) => (run.scale === 1 ? m : fixed + (m - fixed) / run.scale) };
  });
}

// ---------------------------------------------------------------------------------------
// Runs → timeline series

/** Keep the shape of a long sample list: per bucket its lowest and highest sample, in time order. */
function decimate(samples: ReadonlyArray<readonly [number, number]>, maxPoints: number): Array<[number, number]> {
  if (samples.length <= maxPoints) return samples.map(([t, b]) => [t, b]);
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const per = samples.length / buckets;
  const out: Array<[number, number]> = [];
  for (let i = 0; i < buckets; i++) {
    const from = Math.floor(i * per);
    const to = Math.min(samples.length, Math.floor((i + 1) * per));
    let lo: readonly [number, number] | undefined;
    let hi: readonly [number, number] | undefined;
    for (let j = from; j < to; j++) {
      const s = samples[j];
      if (!s) continue;
      if (!lo || s[1] < lo[1]) lo = s;
      if (!hi || s[1] > hi[1]) hi = s;
    }
    if (!lo || !hi) continue;
    const pair = lo[0] <= hi[0] ? [lo, hi] : [hi, lo];
    for (const p of pair) if (out[out.length - 1]?.[0] !== p[0]) out.push([p[0], p[1]]);
  }
  return out;
}

function stepAt(steps: readonly StepRecord[], t: number, sorted = false): StepRecord | undefined {
  if (!sorted) {
    for (const s of steps) if (t >= s.start_ms && t <= s.end_ms) return s;
    return undefined;
  }
  // Steps in time order: the first whose end is ≥ t is the first that can contain t.
  const j = lowerBound(steps.length, (i) => steps[i]!.end_ms >= t);
  const s = steps[j];
  return s && s.start_ms <= t ? s : undefined;
}

/** The first index in [0, n) where `ok` holds, for a predicate false then true; n when none. */
function lowerBound(n: number, ok: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ok(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function inTimeOrder(steps: readonly StepRecord[]): boolean {
  for (let i = 1; i < steps.length; i++) if (steps[i]!.start_ms < steps[i - 1]!.start_ms || steps[i]!.end_ms < steps[i - 1]!.end_ms) return false;
  return true;
}

/**
 * A run as timeline series: its RSS samples, each step's high-water mark (placed at the
 * step's highest sample, or its middle: the kernel says how high, not when) and each step's
 * end with the heap/external/wasm breakdown; plus a dashed prediction when the steps carry
 * predicted_* figures.
 */
export function timelineSeriesFromRun(run: RunRecord, maxSamples = 1500): TimelineSeries[] {
  const maps = stepMaps(run);
  const points: TimelinePoint[] = [];
  const samples = decimate(run.samples, maxSamples);
  // Binary searches, not scans: a long log has as many samples as steps (O(n²) otherwise).
  const sortedSteps = inTimeOrder(run.steps);
  // A sample outside every step (before the first, between two) maps with the step before it.
  const mapAt = (t: number): ((m: number) => number) => {
    let k = 0;
    if (sortedSteps) k = Math.max(0, lowerBound(run.steps.length, (i) => run.steps[i]!.start_ms > t) - 1);
    else run.steps.forEach((s, i) => {
      if (s.start_ms <= t) k = i;
    });
    return maps[k]?.project ?? ((m: number) => m / run.scale);
  };
  let sortedSamples = true;
  for (let i = 1; i < run.samples.length; i++) if (run.samples[i]![0] < run.samples[i - 1]![0]) sortedSamples = false;
  for (const [t, b] of samples) {
    const s = stepAt(run.steps, t, sortedSteps);
    points.push({ t_ms: t, bytes: mapAt(t)(b), kind: 'sample', measured_bytes: b, ...(s ? { step: s.label } : {}) });
  }
  // A chart is ~1,000 pixels wide: past maxSamples steps (a long ingested log), per-step points
  // and lane bands would be sub-pixel and cost seconds to draw. Keep the highest peak's step,
  // the last step and an even subset; merge lane bands into at most maxSamples.
  const many = run.steps.length > maxSamples;
  const every = many ? Math.ceil(run.steps.length / maxSamples) : 1;
  let peakIndex = 0;
  run.steps.forEach((s, i) => {
    if (s.peak_bytes > run.steps[peakIndex]!.peak_bytes) peakIndex = i;
  });
  for (const [si, s] of run.steps.entries()) {
    if (many && si % every !== 0 && si !== peakIndex && si !== run.steps.length - 1) continue;
    const sp = maps[si]!.p;
    let at = (s.start_ms + s.end_ms) / 2;
    let best = -Infinity;
    const from = sortedSamples ? lowerBound(run.samples.length, (i) => run.samples[i]![0] >= s.start_ms) : 0;
    for (let i = from; i < run.samples.length; i++) {
      const [t, b] = run.samples[i]!;
      if (sortedSamples && t > s.end_ms) break;
      if (t >= s.start_ms && t <= s.end_ms && b > best) {
        best = b;
        at = t;
      }
    }
    points.push({ t_ms: at, bytes: sp.peak_bytes, kind: 'peak', step: s.label, measured_bytes: s.peak_bytes, interval: sp.interval.peak });
    points.push({
      t_ms: s.end_ms,
      bytes: sp.final_bytes,
      interval: sp.interval.final,
      kind: 'end',
      step: s.label,
      measured_bytes: s.end_bytes,
      breakdown: {
        heap_used_bytes: s.heap_used_bytes,
        external_bytes: s.external_bytes,
        array_buffers_bytes: s.array_buffers_bytes,
        wasm_bytes: s.wasm_bytes,
        live_bytes: s.live_bytes,
      },
    });
  }
  // Stable sort: at equal times a sample precedes the step's peak and end points.
  const order: Record<TimelinePoint['kind'], number> = { sample: 0, step: 1, peak: 1, end: 2 };
  points.sort((a, b) => a.t_ms - b.t_ms || order[a.kind] - order[b.kind]);
  const steps = many
    ? Array.from({ length: Math.ceil(run.steps.length / every) }, (_, k) => {
        const a = run.steps[k * every]!;
        const j = Math.min(run.steps.length, (k + 1) * every) - 1;
        const b = run.steps[j]!;
        return { label: `steps ${k * every + 1}–${j + 1}`, start_ms: a.start_ms, end_ms: b.end_ms };
      })
    : run.steps.map((s) => ({ label: s.label, start_ms: s.start_ms, end_ms: s.end_ms }));
  const label = run.status === 'ok' ? run.strategy : `${run.strategy} (${run.status})`;
  const endNote = run.status === 'ok' ? undefined : `${run.strategy} ${run.status}${run.failure?.step ? ` in '${run.failure.step}'` : ''}`;
  const out: TimelineSeries[] = [{ label, strategy: run.strategy, points, steps, ...(endNote ? { end_note: endNote } : {}) }];

  if (run.steps.some((s) => s.predicted_peak_bytes !== undefined || s.predicted_end_bytes !== undefined)) {
    const pred: TimelinePoint[] = [];
    let prev = 0;
    // A prediction says how high a step goes, not when: draw it as a ceiling over the step.
    // It is made at the run's scale; the step's fit carries it to full scale like a measurement.
    for (const [i, s] of run.steps.entries()) {
      const full = maps[i]!.project;
      const peak = s.predicted_peak_bytes ?? s.predicted_end_bytes ?? prev;
      const end = s.predicted_end_bytes ?? peak;
      pred.push({ t_ms: s.start_ms, bytes: full(peak), kind: 'peak', step: s.label });
      pred.push({ t_ms: s.end_ms, bytes: full(peak), kind: 'step', step: s.label });
      pred.push({ t_ms: s.end_ms, bytes: full(end), kind: 'end', step: s.label });
      prev = end;
    }
    out.push({ label: `${run.strategy} (predicted)`, strategy: run.strategy, predicted: true, points: pred });
  }
  return out;
}

function shortStep(label: string): string {
  return label.split(' ')[0] ?? label;
}

/** Build the spec of a timeline: any mix of measured and predicted series. */
export function timelineSpec(input: TimelineInput, id = 'timeline'): LinesSpec {
  const scale = input.scale;
  let max = 0;
  for (const s of input.series) for (const p of s.points) max = Math.max(max, p.bytes);
  for (const b of input.budgets) if (b.metric !== 'leak') max = Math.max(max, b.limit_bytes);
  const unit = pickUnit(max * 1.1);
  const yMax = niceCeil((max * 1.1) / unit.factor);

  const datasets: SpecLineDataset[] = input.series.map((s) => {
    const color = strategyColor(s.strategy ?? s.label);
    const points: SpecPoint[] = s.points.map((p) => {
      const value = fullAndMeasured(p.bytes, scale, p.measured_bytes, p.interval);
      let tip: string[];
      if (p.kind === 'sample') {
        tip = [`RSS sample at ${(p.t_ms / 1000).toFixed(2)} s${p.step ? `, during '${p.step}'` : ''}`, value];
      } else if (p.kind === 'peak') {
        tip = [
          s.predicted ? `predicted peak of '${p.step ?? '?'}'` : `peak of '${p.step ?? '?'}' (high-water mark during the step)`,
          s.predicted ? formatBytes(p.bytes) + ' at full scale' : value,
        ];
      } else if (p.kind === 'end') {
        tip = [s.predicted ? `predicted at the end of '${p.step ?? '?'}'` : `end of '${p.step ?? '?'}'`, s.predicted ? formatBytes(p.bytes) + ' at full scale' : value];
        if (p.breakdown) {
          const b = p.breakdown;
          tip.push(
            `V8 heap ${formatBytes(b.heap_used_bytes)} · external ${formatBytes(b.external_bytes)} (ArrayBuffers ${formatBytes(b.array_buffers_bytes)}) · wasm ${formatBytes(b.wasm_bytes)} (measured, absolute)`,
            `still referenced by the pipeline: ${formatBytes(b.live_bytes)} measured`,
          );
        }
      } else {
        tip = [s.predicted ? `predicted peak of '${p.step ?? '?'}'` : `'${p.step ?? '?'}'`, formatBytes(p.bytes) + (s.predicted ? ' at full scale' : '')];
      }
      return { x: p.t_ms / 1000, y: p.bytes / unit.factor, tip, ...(p.kind === 'peak' && !s.predicted ? { marker: true } : {}) };
    });
    return { label: s.label, color, ...(s.predicted ? { dashed: true, faint: true, width: 1.5 } : {}), points };
  });

  const lanes: SpecLane[] = input.series
    .filter((s) => s.steps && s.steps.length > 0 && !s.predicted)
    .map((s) => ({
      label: s.label,
      color: strategyColor(s.strategy ?? s.label),
      steps: (s.steps ?? []).map((st) => ({ label: st.label, short: shortStep(st.label), start: st.start_ms / 1000, end: st.end_ms / 1000 })),
    }));

  const seen = new Set<string>();
  const budgets: LinesSpec['budgets'] = [];
  for (const b of input.budgets) {
    if (b.metric === 'leak') continue;
    const key = `${b.metric}:${b.limit_bytes}`;
    if (seen.has(key)) continue;
    seen.add(key);
    budgets.push({ label: `${b.metric} budget ${formatBytes(b.limit_bytes)}`, color: BUDGET_COLORS[b.metric], y: b.limit_bytes / unit.factor });
  }

  const notes: NonNullable<LinesSpec['notes']> = [];
  for (const s of input.series) {
    if (!s.end_note) continue;
    const last = s.points[s.points.length - 1]?.t_ms ?? s.steps?.[s.steps.length - 1]?.end_ms ?? 0;
    notes.push({ x: last / 1000, text: s.end_note, color: strategyColor(s.strategy ?? s.label) });
  }

  let xMax = 0;
  for (const d of datasets) for (const p of d.points) xMax = Math.max(xMax, p.x);
  for (const l of lanes) for (const st of l.steps) xMax = Math.max(xMax, st.end);

  return {
    kind: 'lines',
    id,
    title: input.title,
    ...(input.subtitle !== undefined ? { subtitle: input.subtitle } : {}),
    xLabel: input.x_label ?? 'elapsed time (s)',
    xMin: 0,
    xMax: xMax > 0 ? xMax : 1,
    yLabel: `memory at full scale (${unit.name}), net of the idle baseline`,
    yMax,
    budgets,
    datasets,
    lanes,
    notes,
  };
}

function scenarioRuns(report: Report, scenario: string): RunRecord[] {
  return report.runs.filter((r) => r.scenario === scenario);
}

function scenarioScale(report: Report, s: ScenarioSummary): number {
  return s.scale || scenarioRuns(report, s.name)[0]?.scale || 1;
}

/** What "peak" means under a measurement method, in a few words. */
export function peakMeaning(method: MeasureMethod): string {
  switch (method) {
    case 'kernel-hwm':
      return 'kernel high-water mark per step';
    case 'kernel-hwm-command':
      return "the command's kernel high-water mark (children summed)";
    case 'sampled-rss':
      return 'highest RSS sample (every ~10 ms; spikes can be missed)';
    case 'ingested-log':
      return "highest figure in the script's memory log (samples at markers)";
    default:
      return String(method);
  }
}

function peaksNote(report: Report): string {
  const how = report.environment.method === 'sampled-rss' || report.environment.method === 'ingested-log' ? 'highest figure sampled in any step' : 'highest per-step kernel high-water mark';
  return `peak: ${how}; final: RSS at the end; still referenced: bytes the pipeline keeps (the gap to final is allocator retention); whiskers: the projection's interval; ✓ within budget, ✗ over, ? uncertain`;
}

function familyNote(report: Report): string {
  const how = report.environment.method === 'sampled-rss' || report.environment.method === 'ingested-log' ? 'highest sampled figure' : 'highest per-step kernel high-water mark';
  return `one point per run; peak: ${how}; final: RSS at the end; net of the idle baseline; a run that died leaves a gap`;
}

function methodNote(report: Report): string {
  switch (report.environment.method) {
    case 'kernel-hwm':
      return 'line: RSS samples, each step carried to full scale by its own ladder fit; markers: per-step peaks from the kernel high-water mark (VmHWM), projected; all net of the idle baseline';
    case 'sampled-rss':
      return 'line: RSS sampled every ~10 ms (short spikes can be missed); markers: per-step peaks of the samples; net of the idle baseline';
    case 'kernel-hwm-command':
      return "a command's own figures (kernel high-water mark; children summed as an upper bound); net of the idle baseline";
    case 'ingested-log':
      return "figures a script printed in its memory log at each marker (samples, not kernel peaks)";
    default:
      return 'net of the idle baseline';
  }
}

/** Timeline of one scenario, every strategy overlaid. */
export function scenarioTimelineSpec(report: Report, scenario: ScenarioSummary): LinesSpec {
  const runs = scenarioRuns(report, scenario.name);
  const scale = scenarioScale(report, scenario);
  return timelineSpec(
    {
      title: `${scenario.name} — memory over time (${scaleText(scale)})`,
      subtitle: methodNote(report),
      scale,
      series: runs.flatMap((r) => timelineSeriesFromRun(r)),
      budgets: runs.flatMap((r) => r.budgets.map((b) => ({ metric: b.metric, limit_bytes: b.limit_bytes }))),
    },
    `timeline-${slug(scenario.name)}`,
  );
}

/** Peak, final and final-live per strategy as bars, with each budget as a mark over its bar group. */
export function peakFinalSpec(report: Report, scenario: ScenarioSummary): BarsSpec {
  const runs = scenarioRuns(report, scenario.name);
  const scale = scenarioScale(report, scenario);
  let max = 0;
  for (const r of runs) {
    const p = projectionOf(r);
    max = Math.max(max, r.status === 'ok' ? Math.max(p.interval.peak[1], p.interval.final[1]) : r.peak_bytes / r.scale);
    for (const b of r.budgets) if (b.metric !== 'leak') max = Math.max(max, b.limit_bytes);
  }
  const unit = pickUnit(max * 1.15);
  const budgetOf = (r: RunRecord, m: BudgetMetric) => r.budgets.find((b) => b.metric === m);
  const group = (label: string, color: string, metric: 'peak' | 'final' | 'live') => {
    const values: Array<number | null> = [];
    const over: boolean[] = [];
    const valueLabels: string[] = [];
    const tips: string[][] = [];
    const intervals: Array<[number, number] | null> = [];
    for (const r of runs) {
      if ((r.status !== 'ok' && metric !== 'peak') || (metric === 'live' && !liveBytesKnown(r))) {
        // A run that died has no final figure; its last reading would pass for one. A
        // command's or a log's live bytes are unknown, not zero.
        values.push(null);
        over.push(false);
        valueLabels.push('');
        tips.push([`${r.status}: no ${label} figure`]);
        intervals.push(null);
        continue;
      }
      const measured = metric === 'peak' ? r.peak_bytes : metric === 'final' ? r.final_bytes : r.final_live_bytes;
      const p = projectionOf(r);
      // A run that died has no projection: its last reading stands as it is, at its own scale.
      const fullBytes = r.status !== 'ok' ? measured : metric === 'peak' ? p.peak_bytes : metric === 'final' ? p.final_bytes : p.kept_bytes;
      const interval = r.status !== 'ok' ? undefined : metric === 'peak' ? p.interval.peak : metric === 'final' ? p.interval.final : p.interval.kept;
      const b = metric === 'live' ? undefined : budgetOf(r, metric);
      const isOver = b ? !b.ok : false;
      const mark = b ? (b.verdict === 'uncertain' ? ' ?' : b.ok ? ' ✓' : ' ✗') : '';
      values.push(fullBytes / unit.factor);
      over.push(isOver);
      intervals.push(interval && interval[1] > interval[0] ? [Math.max(0, interval[0]) / unit.factor, interval[1] / unit.factor] : null);
      valueLabels.push(`${compactBytes(fullBytes)}${interval ? ` ${formatSpread(fullBytes, interval)}` : ''}${r.status !== 'ok' ? ` so far (at ${formatScale(r.scale)})` : ''}${mark}`);
      const tip = [`${label}${r.status !== 'ok' ? ' until the run stopped' : ''}: ${r.status !== 'ok' ? `${formatBytes(measured)} measured at scale ${formatScale(r.scale)}` : fullAndMeasured(fullBytes, r.scale, measured, interval)}`];
      if (b) tip.push(`${b.metric} budget ${formatBytes(b.limit_bytes)}: ${b.verdict === 'uncertain' ? 'UNCERTAIN (the interval straddles it)' : b.ok ? 'within' : 'EXCEEDED'}`);
      if (metric === 'peak') {
        const at = r.budgets.find((x) => x.metric === 'peak')?.step;
        if (at) tip.push(`reached at '${at}'`);
      }
      if (metric === 'live') tip.push('bytes the pipeline still references; the gap to final RSS is allocator retention');
      tips.push(tip);
    }
    return { label, color, values, over, valueLabels, tips, intervals };
  };
  const categoryBudgets: BarsSpec['categoryBudgets'] = [];
  for (const metric of ['peak', 'final'] as const) {
    const values = runs.map((r) => {
      const b = budgetOf(r, metric);
      return b ? b.limit_bytes / unit.factor : null;
    });
    if (values.some((v) => v !== null)) {
      const limits = new Set(runs.map((r) => budgetOf(r, metric)?.limit_bytes).filter((v) => v !== undefined));
      const only = limits.size === 1 ? [...limits][0] : undefined;
      categoryBudgets.push({ label: `${metric} budget${only !== undefined ? ` ${formatBytes(only)}` : ' (per strategy)'}`, color: BUDGET_COLORS[metric], values });
    }
  }
  return {
    kind: 'bars',
    id: `peaks-${slug(scenario.name)}`,
    title: `${scenario.name} — peak and final memory per strategy vs budgets (${scaleText(scale)})`,
    subtitle: peaksNote(report),
    categories: runs.map((r) => r.strategy),
    notes: runs.map((r) => (r.status === 'ok' ? null : `${r.status}${r.failure?.step ? ` in '${r.failure.step}'` : ''}: no final figure`)),
    yLabel: `memory at full scale (${unit.name}), net of the idle baseline`,
    yMax: niceCeil((max * 1.15) / unit.factor),
    budgets: [],
    groups: [group('peak', '#1f77b4', 'peak'), group('final (RSS)', '#2ca02c', 'final'), group('final, still referenced', '#a8dba0', 'live')],
    categoryBudgets,
  };
}

/** Families (scenarios expanded over N datasets): peak and final vs N per strategy. */
export function familySpecs(report: Report): LinesSpec[] {
  const families = new Map<string, ScenarioSummary[]>();
  for (const s of report.scenarios) {
    if (!s.family) continue;
    const list = families.get(s.family) ?? [];
    list.push(s);
    families.set(s.family, list);
  }
  const out: LinesSpec[] = [];
  for (const [family, members] of families) {
    if (members.length < 2) continue;
    members.sort((a, b) => a.n_datasets - b.n_datasets);
    const runs = members.flatMap((m) => scenarioRuns(report, m.name).map((r) => ({ n: m.n_datasets, r })));
    const strategies = [...new Set(runs.map((x) => x.r.strategy))];
    let max = 0;
    for (const { r } of runs) {
      if (r.status === 'ok') max = Math.max(max, projectionOf(r).interval.peak[1]);
      for (const b of r.budgets) if (b.metric === 'peak') max = Math.max(max, b.limit_bytes);
    }
    const unit = pickUnit(max * 1.1);
    const datasets: SpecLineDataset[] = [];
    const notes: NonNullable<LinesSpec['notes']> = [];
    for (const strategy of strategies) {
      for (const metric of ['peak', 'final'] as const) {
        const points: SpecPoint[] = [];
        for (const m of members) {
          const r = runs.find((x) => x.n === m.n_datasets && x.r.strategy === strategy)?.r;
          if (!r) continue;
          if (r.status !== 'ok') {
            if (metric === 'peak') notes.push({ x: m.n_datasets, text: `${strategy} ${r.status}${r.failure?.step ? ` in '${r.failure.step}'` : ''}`, color: strategyColor(strategy) });
            points.push({ x: m.n_datasets, y: null, tip: [`N=${m.n_datasets}: ${r.status}${r.failure?.step ? ` in '${r.failure.step}'` : ''}`] });
            continue;
          }
          const p = projectionOf(r);
          const bytes = metric === 'peak' ? p.peak_bytes : p.final_bytes;
          const interval = metric === 'peak' ? p.interval.peak : p.interval.final;
          points.push({ x: m.n_datasets, y: bytes / unit.factor, marker: true, tip: [`${m.name} (N=${m.n_datasets})`, `${metric}: ${fullAndMeasured(bytes, r.scale, metric === 'peak' ? r.peak_bytes : r.final_bytes, interval)}`] });
        }
        datasets.push({ label: `${strategy} ${metric}`, color: strategyColor(strategy), ...(metric === 'final' ? { dashed: true } : {}), points });
      }
    }
    // A budget may grow with N; draw it as a grey stepped line.
    const budgetDatasets: SpecLineDataset[] = [];
    for (const metric of ['peak', 'final'] as const) {
      const pts: SpecPoint[] = [];
      for (const m of members) {
        const b = scenarioRuns(report, m.name)[0]?.budgets.find((x) => x.metric === metric);
        if (b) pts.push({ x: m.n_datasets, y: b.limit_bytes / unit.factor, tip: [`${metric} budget at N=${m.n_datasets}: ${formatBytes(b.limit_bytes)}`] });
      }
      if (pts.length > 0) budgetDatasets.push({ label: `${metric} budget`, color: BUDGET_COLORS[metric], dashed: true, stepped: true, width: 2, points: pts });
    }
    const scale = members[0] ? scenarioScale(report, members[0]) : 1;
    const ns = members.map((m) => m.n_datasets);
    out.push({
      kind: 'lines',
      id: `family-${slug(family)}`,
      title: `${family} — peak (solid) and final (dashed) memory vs number of datasets (${scaleText(scale)})`,
      subtitle: familyNote(report),
      xLabel: 'number of datasets N',
      // Half a step of room either side so the end markers are not cut by the frame.
      xMin: Math.min(...ns) - 0.25,
      xMax: Math.max(...ns) + 0.25,
      xIntegers: true,
      yLabel: `memory at full scale (${unit.name}), net of the idle baseline`,
      yMax: niceCeil((max * 1.1) / unit.factor),
      budgets: [],
      datasets: [...datasets, ...budgetDatasets],
      lanes: [],
      notes,
    });
  }
  return out;
}

/** Every chart of a report, with the PNG file name it is written to. */
export function reportChartSpecs(report: Report): Array<{ file: string; spec: ChartSpec }> {
  const out: Array<{ file: string; spec: ChartSpec }> = [];
  for (const s of report.scenarios) {
    if (scenarioRuns(report, s.name).length === 0) continue;
    const t = scenarioTimelineSpec(report, s);
    out.push({ file: `${t.id}.png`, spec: t });
    const b = peakFinalSpec(report, s);
    out.push({ file: `${b.id}.png`, spec: b });
  }
  for (const f of familySpecs(report)) out.push({ file: `${f.id}.png`, spec: f });
  return out;
}

// ---------------------------------------------------------------------------------------
// Spec → Chart.js config. SELF-CONTAINED: html.ts embeds this function's source text in the
// page, so it may not reference anything outside its own body.

/**
 * The Chart.js configuration of a spec. `interactive` adds tooltips and resizing (HTML);
 * without it the chart is a fixed-size static image (PNG).
 */
export function chartConfigFromSpec(spec: ChartSpec, interactive: boolean): ChartConfiguration {
  const FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
  const font = (size: number, weight?: string) => ({ family: FONT, size, ...(weight ? { weight } : {}) });
  const LANE_H = 22;
  type Ctx = {
    save(): void; restore(): void; beginPath(): void; moveTo(x: number, y: number): void; lineTo(x: number, y: number): void; stroke(): void;
    fillRect(x: number, y: number, w: number, h: number): void; fillText(t: string, x: number, y: number): void; measureText(t: string): { width: number };
    setLineDash(d: number[]): void; rect(x: number, y: number, w: number, h: number): void; clip(): void;
    fillStyle: string; strokeStyle: string; lineWidth: number; font: string; textAlign: string; textBaseline: string; globalAlpha: number;
  };
  type Area = { left: number; right: number; top: number; bottom: number };
  type ChartLike = { ctx: Ctx; width: number; height: number; chartArea: Area; scales: Record<string, { getPixelForValue(v: number): number; left: number; right: number; top: number; bottom: number } | undefined> };
  const px = (size: number, weight = 'normal') => `${weight} ${size}px ${FONT}`;
  const alpha = (hex: string, a: number) => {
    const m = /^#([0-9a-f]{6})$/i.exec(hex);
    if (!m || !m[1]) return hex;
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  };
  const fit = (g: Ctx, text: string, width: number) => {
    if (g.measureText(text).width <= width) return text;
    let t = text;
    while (t.length > 1 && g.measureText(t + '…').width > width) t = t.slice(0, -1);
    return t.length > 1 ? t + '…' : '';
  };

  const background = {
    id: 'cbBackground',
    beforeDraw(chart: ChartLike) {
      const g = chart.ctx;
      g.save();
      g.fillStyle = '#ffffff';
      g.fillRect(0, 0, chart.width, chart.height);
      g.restore();
    },
  };

  // Horizontal budget lines with their label at the right end.
  const budgetLines = {
    id: 'cbBudgets',
    afterDatasetsDraw(chart: ChartLike) {
      const y = chart.scales['y'];
      if (!y) return;
      const a = chart.chartArea;
      const g = chart.ctx;
      g.save();
      for (const b of spec.budgets) {
        const py = y.getPixelForValue(b.y);
        if (py < a.top - 1 || py > a.bottom + 1) continue;
        g.strokeStyle = b.color;
        g.lineWidth = 2;
        g.setLineDash([8, 5]);
        g.beginPath();
        g.moveTo(a.left, py);
        g.lineTo(a.right, py);
        g.stroke();
        g.setLineDash([]);
        g.font = px(14, 'bold');
        // At the left end: memory starts low, so the label rarely sits on a line there.
        g.textAlign = 'left';
        g.textBaseline = 'bottom';
        g.fillStyle = 'rgba(255, 255, 255, 0.8)';
        g.fillRect(a.left + 5, py - 20, g.measureText(b.label).width + 6, 17);
        g.fillStyle = b.color;
        g.fillText(b.label, a.left + 8, py - 3);
      }
      if (spec.kind === 'lines' && spec.notes) {
        const x = chart.scales['x'];
        spec.notes.forEach((n, i) => {
          if (!x) return;
          g.font = px(14, 'bold');
          g.fillStyle = n.color;
          g.textAlign = 'center';
          g.textBaseline = 'top';
          const p = Math.min(a.right - 80, Math.max(a.left + 80, x.getPixelForValue(n.x)));
          g.fillText(`✗ ${n.text}`, p, a.top + 8 + i * 20);
        });
      }
      g.restore();
    },
  };

  // Step boundaries: a lane per run under the x axis, dotted lines up through the plot.
  const lanesPlugin = {
    id: 'cbLanes',
    beforeDatasetsDraw(chart: ChartLike) {
      if (spec.kind !== 'lines' || spec.lanes.length === 0) return;
      const x = chart.scales['x'];
      if (!x) return;
      const a = chart.chartArea;
      const g = chart.ctx;
      g.save();
      g.lineWidth = 1;
      g.setLineDash([2, 4]);
      for (const lane of spec.lanes) {
        g.strokeStyle = alpha(lane.color, 0.45);
        for (const st of lane.steps) {
          const p = x.getPixelForValue(st.start);
          g.beginPath();
          g.moveTo(p, a.top);
          g.lineTo(p, a.bottom);
          g.stroke();
        }
      }
      g.restore();
    },
    afterDraw(chart: ChartLike) {
      if (spec.kind !== 'lines' || spec.lanes.length === 0) return;
      const x = chart.scales['x'];
      if (!x) return;
      const a = chart.chartArea;
      const g = chart.ctx;
      const top0 = chart.height - spec.lanes.length * LANE_H - 6;
      g.save();
      spec.lanes.forEach((lane, li) => {
        const top = top0 + li * LANE_H;
        g.font = px(13, 'bold');
        g.fillStyle = lane.color;
        g.textAlign = 'right';
        g.textBaseline = 'middle';
        g.fillText(fit(g, lane.label, a.left - 10), a.left - 8, top + LANE_H / 2);
        lane.steps.forEach((st, si) => {
          const x0 = Math.max(a.left, x.getPixelForValue(st.start));
          const x1 = Math.min(a.right, x.getPixelForValue(st.end));
          const w = Math.max(1, x1 - x0);
          g.fillStyle = alpha(lane.color, si % 2 === 0 ? 0.22 : 0.1);
          g.fillRect(x0, top + 2, w, LANE_H - 4);
          g.fillStyle = alpha(lane.color, 0.9);
          g.fillRect(x0, top + 2, 1.5, LANE_H - 4);
          g.font = px(12);
          g.fillStyle = '#222222';
          g.textAlign = 'left';
          const text = w - 6 >= g.measureText(st.label).width ? st.label : w - 6 >= g.measureText(st.short).width ? st.short : '';
          if (text) g.fillText(text, x0 + 4, top + LANE_H / 2);
        });
      });
      g.restore();
    },
  };

  // Bars: value labels on top, budget marks over each group, notes for failed runs.
  const barMarks = {
    id: 'cbBarMarks',
    afterDatasetsDraw(chart: ChartLike & { getDatasetMeta(i: number): { data: Array<{ x: number; y: number; width?: number }>; hidden?: boolean } }) {
      if (spec.kind !== 'bars') return;
      const y = chart.scales['y'];
      const x = chart.scales['x'];
      if (!y || !x) return;
      const g = chart.ctx;
      const a = chart.chartArea;
      const n = spec.categories.length;
      const slot = (a.right - a.left) / Math.max(1, n);
      g.save();
      for (const b of spec.categoryBudgets) {
        b.values.forEach((v, ci) => {
          if (v === null || v === undefined) return;
          const py = y.getPixelForValue(v);
          const x0 = a.left + slot * ci + slot * 0.06;
          const x1 = a.left + slot * (ci + 1) - slot * 0.06;
          g.strokeStyle = b.color;
          g.lineWidth = 2.5;
          g.setLineDash([8, 5]);
          g.beginPath();
          g.moveTo(x0, py);
          g.lineTo(x1, py);
          g.stroke();
          g.setLineDash([]);
        });
      }
      spec.groups.forEach((grp, gi) => {
        const meta = chart.getDatasetMeta(gi);
        if (meta.hidden) return;
        meta.data.forEach((el, ci) => {
          const v = grp.values[ci];
          if (v === null || v === undefined) return;
          const bar = el as { x: number; y: number; width?: number; base?: number };
          if (grp.over[ci] && bar.width !== undefined && bar.base !== undefined) {
            g.strokeStyle = '#c00000';
            g.lineWidth = 3;
            g.setLineDash([]);
            g.beginPath();
            g.rect(bar.x - bar.width / 2, bar.y, bar.width, bar.base - bar.y);
            g.stroke();
          }
          // The projection's interval as a whisker; the label goes above whichever is higher.
          let top = el.y;
          const iv = grp.intervals?.[ci];
          if (iv) {
            const lo = y.getPixelForValue(iv[0]);
            const hi = y.getPixelForValue(iv[1]);
            const half = Math.min(8, (bar.width ?? 16) / 4);
            g.strokeStyle = '#333333';
            g.lineWidth = 1.5;
            g.setLineDash([]);
            g.beginPath();
            g.moveTo(el.x, lo);
            g.lineTo(el.x, hi);
            g.moveTo(el.x - half, lo);
            g.lineTo(el.x + half, lo);
            g.moveTo(el.x - half, hi);
            g.lineTo(el.x + half, hi);
            g.stroke();
            top = Math.min(top, hi);
          }
          const text = grp.valueLabels[ci] ?? '';
          g.font = px(12, grp.over[ci] ? 'bold' : 'normal');
          // A white plate keeps the label readable where a budget mark crosses it.
          const w = g.measureText(text).width;
          g.fillStyle = 'rgba(255, 255, 255, 0.85)';
          g.fillRect(el.x - w / 2 - 2, top - 19, w + 4, 16);
          g.fillStyle = grp.over[ci] ? '#c00000' : '#222222';
          g.textAlign = 'center';
          g.textBaseline = 'bottom';
          g.fillText(text, el.x, top - 3);
        });
      });
      spec.notes.forEach((note, ci) => {
        if (!note) return;
        g.font = px(14, 'bold');
        g.fillStyle = '#c00000';
        g.textAlign = 'center';
        g.textBaseline = 'top';
        g.fillText(note, a.left + slot * (ci + 0.5), a.top + 8);
      });
      g.restore();
    },
  };

  const tooltip = interactive
    ? {
        enabled: true,
        titleFont: font(14, 'bold'),
        bodyFont: font(13),
        callbacks: {
          title: (items: Array<{ dataset: { label?: string } }>) => items[0]?.dataset.label ?? '',
          label: (item: { raw: unknown; dataIndex: number; datasetIndex: number }) => {
            if (spec.kind === 'bars') return spec.groups[item.datasetIndex]?.tips[item.dataIndex] ?? '';
            const raw = item.raw as { tip?: string[] } | null;
            return raw && raw.tip ? raw.tip : '';
          },
        },
      }
    : { enabled: false };

  const y2 = spec.y2;
  const yScales: Record<string, unknown> = {
    y: {
      type: 'linear',
      position: 'left',
      min: 0,
      max: spec.yMax,
      title: { display: true, text: spec.yLabel, font: font(14), color: '#222' },
      ticks: { font: font(14), color: '#222' },
      grid: { color: '#e6e6e6' },
    },
  };
  if (y2) {
    yScales['y2'] = {
      type: 'linear',
      position: 'right',
      min: 0,
      max: spec.yMax * y2.factor,
      title: { display: true, text: y2.label, font: font(14), color: '#555' },
      ticks: { font: font(13), color: '#555' },
      grid: { drawOnChartArea: false },
    };
  }
  const plugins = {
    title: { display: true, text: spec.title, font: font(16, 'bold'), color: '#111', padding: { top: 6, bottom: spec.subtitle ? 2 : 8 } },
    subtitle: { display: !!spec.subtitle, text: spec.subtitle ?? '', font: font(13), color: '#555', padding: { bottom: 6 } },
    legend: { display: true, position: 'top', labels: { font: font(14), color: '#222', usePointStyle: false, boxWidth: 28 } },
    tooltip,
  };
  const common = {
    responsive: interactive,
    maintainAspectRatio: true,
    aspectRatio: 2,
    animation: false,
    ...(interactive ? {} : { devicePixelRatio: 1, events: [] as string[] }),
  };

  if (spec.kind === 'bars') {
    return {
      type: 'bar',
      data: {
        labels: spec.categories,
        datasets: spec.groups.map((grp) => ({
          label: grp.label,
          data: grp.values,
          backgroundColor: grp.color,
          borderColor: grp.color,
          borderWidth: 1,
          yAxisID: 'y',
        })),
      },
      options: {
        ...common,
        layout: { padding: { left: 8, right: 12, top: 0, bottom: 4 } },
        scales: {
          x: { ticks: { font: font(15, 'bold'), color: '#222' }, grid: { display: false } },
          ...yScales,
        },
        plugins: {
          ...plugins,
          legend: {
            ...plugins.legend,
            // Budget marks are drawn by a plugin; list them in the legend too, dashed.
            labels: {
              ...plugins.legend.labels,
              generateLabels: (chart: { isDatasetVisible(i: number): boolean }) => [
                ...spec.groups.map((grp, i) => ({ text: grp.label, fillStyle: grp.color, strokeStyle: grp.color, lineWidth: 1, hidden: !chart.isDatasetVisible(i), datasetIndex: i, fontColor: '#222' })),
                ...spec.categoryBudgets.map((b) => ({ text: b.label, fillStyle: '#ffffff', strokeStyle: b.color, lineWidth: 2.5, lineDash: [5, 3], hidden: false, fontColor: '#222' })),
              ],
            },
            onClick: (_e: unknown, item: { datasetIndex?: number }, legend: { chart: { isDatasetVisible(i: number): boolean; setDatasetVisibility(i: number, v: boolean): void; update(): void } }) => {
              if (item.datasetIndex === undefined) return;
              legend.chart.setDatasetVisibility(item.datasetIndex, !legend.chart.isDatasetVisible(item.datasetIndex));
              legend.chart.update();
            },
          },
        },
      },
      plugins: [background, barMarks],
    } as unknown as ChartConfiguration;
  }

  return {
    type: 'line',
    data: {
      datasets: spec.datasets.map((d) => ({
        label: d.label,
        data: d.points,
        parsing: { xAxisKey: 'x', yAxisKey: 'y' },
        borderColor: d.faint ? alpha(d.color, 0.6) : d.color,
        backgroundColor: d.color,
        borderWidth: d.width ?? (d.dashed ? 2 : 2.5),
        borderDash: d.dashed ? [9, 6] : [],
        stepped: d.stepped ? 'after' : false,
        pointRadius: d.points.map((p) => (p.marker ? 4.5 : 0)),
        pointHoverRadius: interactive ? 6 : 0,
        pointHitRadius: interactive ? 6 : 0,
        pointStyle: 'triangle',
        spanGaps: false,
        tension: 0,
        yAxisID: 'y',
      })),
    },
    options: {
      ...common,
      // Room left of the y axis for the lane names (the axis itself is ~75 px wide).
      layout: { padding: { left: Math.max(8, Math.max(0, ...spec.lanes.map((l) => l.label.length)) * 9.5 + 20 - 60), right: 12, top: 0, bottom: spec.lanes.length > 0 ? spec.lanes.length * LANE_H + 10 : 4 } },
      interaction: { mode: 'nearest', intersect: false, axis: 'xy' },
      scales: {
        x: {
          type: 'linear',
          ...(spec.xMin !== undefined ? { min: spec.xMin } : {}),
          ...(spec.xMax !== undefined ? { max: spec.xMax } : {}),
          title: { display: true, text: spec.xLabel, font: font(14), color: '#222' },
          ticks: { font: font(14), color: '#222', ...(spec.xIntegers ? { stepSize: 1, precision: 0 } : {}) },
          ...(spec.xIntegers ? { afterBuildTicks: (axis: { ticks: Array<{ value: number }> }) => { axis.ticks = axis.ticks.filter((t) => Number.isInteger(t.value)); } } : {}),
          grid: { color: '#eeeeee' },
        },
        ...yScales,
      },
      // Legend entries as short line samples, so dashed (predicted, final) series read as dashed.
      plugins: {
        ...plugins,
        legend: {
          ...plugins.legend,
          labels: {
            ...plugins.legend.labels,
            usePointStyle: true,
            pointStyleWidth: 40,
            // Chart.js takes a point-style legend's look from the point, which has no dash.
            generateLabels: (chart: { isDatasetVisible(i: number): boolean }) =>
              spec.datasets.map((d, i) => ({ text: d.label, fillStyle: d.color, strokeStyle: d.color, lineWidth: 2.5, lineDash: d.dashed ? [6, 4] : [], pointStyle: 'line', hidden: !chart.isDatasetVisible(i), datasetIndex: i, fontColor: '#222' })),
          },
        },
      },
    },
    plugins: [background, lanesPlugin, budgetLines],
  } as unknown as ChartConfiguration;
}

// ---------------------------------------------------------------------------------------
// PNG rendering (Node)

let registered: Promise<typeof import('chart.js')> | undefined;
function chartJs(): Promise<typeof import('chart.js')> {
  registered ??= import('chart.js').then((m) => {
    m.Chart.register(...m.registerables);
    return m;
  });
  return registered;
}

/** Render one spec to a PNG (1200×600 unless told otherwise). */
export async function renderChartPng(spec: ChartSpec, size: { width: number; height: number } = { width: CHART_WIDTH, height: CHART_HEIGHT }): Promise<Buffer> {
  const [{ Chart }, { createCanvas }] = await Promise.all([chartJs(), import('@napi-rs/canvas')]);
  const canvas = createCanvas(size.width, size.height);
  const config = chartConfigFromSpec(spec, false);
  // Chart.js accepts a 2D context whose `.canvas` it sizes; @napi-rs/canvas provides one.
  const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2DLike, config);
  try {
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}
type CanvasRenderingContext2DLike = ConstructorParameters<typeof import('chart.js').Chart>[0];

/**
 * Render every chart of a report into `dir` as PNGs (tmp file + rename, so a reader never
 * sees half a file). Returns the paths written.
 */
export async function renderCharts(report: Report, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { file, spec } of reportChartSpecs(report)) {
    const png = await renderChartPng(spec);
    const path = join(dir, file);
    await writeAtomic(path, png);
    written.push(path);
  }
  return written;
}
