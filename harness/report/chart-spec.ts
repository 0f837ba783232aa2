/**
 * Chart specs: a report (or timeline series) → declarative ChartSpec, all numbers in display
 * units and all tooltip text formatted. Pure data, JSON-safe: the HTML report embeds the
 * specs as they are, and `chartConfigFromSpec` (chart-config.ts) turns one into Chart.js
 * options for the page and for the PNGs alike.
 */
import { decimalUnit, formatBytes, type DecimalUnit } from '../../src/core/units.js';
import type { BudgetMetric, Report, RunRecord, ScenarioSummary } from '../../src/core/report.js';
import { baselineNote, methodText, peakMeaning } from '../../src/core/methods.js';
import { liveBytesKnown } from '../../src/core/figures.js';
import { formatSpread, projectionOf } from './projection.js';
import { timelineSeriesFromRun, type TimelineSeries } from './chart-series.js';

/** What a timeline is drawn from: any mix of measured and predicted series. */
export interface TimelineInput {
  title: string;
  subtitle?: string;
  /** Scale the runs were measured at; 1 (e.g. a pure prediction) hides the measured axis. */
  scale: number;
  series: TimelineSeries[];
  /** Full-scale budgets to draw as horizontal lines. */
  budgets: Array<{ metric: BudgetMetric; limit_bytes: number }>;
  x_label?: string;
  /** What the figures are net of, after the unit on the memory axis (default: net of the idle baseline). */
  y_note?: string;
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
  groups: Array<{
    label: string;
    color: string;
    values: Array<number | null>;
    over: boolean[];
    valueLabels: string[];
    tips: string[][];
    intervals?: Array<[number, number] | null>;
  }>;
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

type Unit = DecimalUnit;

/** The decimal unit in which `maxBytes` reads as 1–999. */
export function pickUnit(maxBytes: number): Unit {
  return decimalUnit(maxBytes);
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
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'scenario'
  );
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
        tip = [
          s.predicted ? `predicted at the end of '${p.step ?? '?'}'` : `end of '${p.step ?? '?'}'`,
          s.predicted ? formatBytes(p.bytes) + ' at full scale' : value,
        ];
        if (p.breakdown) {
          const b = p.breakdown;
          tip.push(
            `V8 heap ${formatBytes(b.heap_used_bytes)} · external ${formatBytes(b.external_bytes)} (ArrayBuffers ${formatBytes(b.array_buffers_bytes)}) · wasm ${formatBytes(b.wasm_bytes)} (measured, absolute)`,
            `still referenced by the pipeline: ${formatBytes(b.live_bytes)} measured`,
          );
        }
      } else {
        tip = [
          s.predicted ? `predicted peak of '${p.step ?? '?'}'` : `'${p.step ?? '?'}'`,
          formatBytes(p.bytes) + (s.predicted ? ' at full scale' : ''),
        ];
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
      steps: (s.steps ?? []).map((st) => ({
        label: st.label,
        short: shortStep(st.label),
        start: st.start_ms / 1000,
        end: st.end_ms / 1000,
      })),
    }));

  const seen = new Set<string>();
  const budgets: LinesSpec['budgets'] = [];
  for (const b of input.budgets) {
    if (b.metric === 'leak') continue;
    const key = `${b.metric}:${b.limit_bytes}`;
    if (seen.has(key)) continue;
    seen.add(key);
    budgets.push({
      label: `${b.metric} budget ${formatBytes(b.limit_bytes)}`,
      color: BUDGET_COLORS[b.metric],
      y: b.limit_bytes / unit.factor,
    });
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
    yLabel: `memory at full scale (${unit.name}), ${input.y_note ?? 'net of the idle baseline'}`,
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

// Subtitles: what the figures are, in the words of core/methods.ts.

function peaksNote(report: Report): string {
  return `peak: ${peakMeaning(report.environment.method)}; final: RSS at the end; still referenced: bytes the pipeline keeps (the gap to final is allocator retention); whiskers: the projection's interval; ✓ within budget, ✗ over, ? uncertain`;
}

function familyNote(report: Report): string {
  return `one point per run; peak: ${peakMeaning(report.environment.method)}; final: RSS at the end; ${baselineNote(report.environment.method)}; a run that died leaves a gap`;
}

function timelineNote(report: Report, scale: number): string {
  const t = methodText(report.environment.method);
  const projected = scale !== 1;
  return `line: ${t.line}${projected ? ', carried to full scale step by step' : ''}; markers: ${t.stepPeak}${projected ? ', projected' : ''}; ${baselineNote(report.environment.method)}`;
}

/** Timeline of one scenario, every strategy overlaid. */
export function scenarioTimelineSpec(report: Report, scenario: ScenarioSummary): LinesSpec {
  const runs = scenarioRuns(report, scenario.name);
  const scale = scenarioScale(report, scenario);
  return timelineSpec(
    {
      title: `${scenario.name} — memory over time (${scaleText(scale)})`,
      subtitle: timelineNote(report, scale),
      scale,
      series: runs.flatMap((r) => timelineSeriesFromRun(r)),
      budgets: runs.flatMap((r) => r.budgets.map((b) => ({ metric: b.metric, limit_bytes: b.limit_bytes }))),
      y_note: baselineNote(report.environment.method),
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
      const interval =
        r.status !== 'ok' ? undefined : metric === 'peak' ? p.interval.peak : metric === 'final' ? p.interval.final : p.interval.kept;
      const b = metric === 'live' ? undefined : budgetOf(r, metric);
      const isOver = b ? !b.ok : false;
      const mark = b ? (b.verdict === 'uncertain' ? ' ?' : b.ok ? ' ✓' : ' ✗') : '';
      values.push(fullBytes / unit.factor);
      over.push(isOver);
      intervals.push(interval && interval[1] > interval[0] ? [Math.max(0, interval[0]) / unit.factor, interval[1] / unit.factor] : null);
      valueLabels.push(
        `${compactBytes(fullBytes)}${interval ? ` ${formatSpread(fullBytes, interval)}` : ''}${r.status !== 'ok' ? ` so far (at ${formatScale(r.scale)})` : ''}${mark}`,
      );
      const tip = [
        `${label}${r.status !== 'ok' ? ' until the run stopped' : ''}: ${r.status !== 'ok' ? `${formatBytes(measured)} measured at scale ${formatScale(r.scale)}` : fullAndMeasured(fullBytes, r.scale, measured, interval)}`,
      ];
      if (b)
        tip.push(
          `${b.metric} budget ${formatBytes(b.limit_bytes)}: ${b.verdict === 'uncertain' ? 'UNCERTAIN (the interval straddles it)' : b.ok ? 'within' : 'EXCEEDED'}`,
        );
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
      categoryBudgets.push({
        label: `${metric} budget${only !== undefined ? ` ${formatBytes(only)}` : ' (per strategy)'}`,
        color: BUDGET_COLORS[metric],
        values,
      });
    }
  }
  return {
    kind: 'bars',
    id: `peaks-${slug(scenario.name)}`,
    title: `${scenario.name} — peak and final memory per strategy vs budgets (${scaleText(scale)})`,
    subtitle: peaksNote(report),
    categories: runs.map((r) => r.strategy),
    notes: runs.map((r) => (r.status === 'ok' ? null : `${r.status}${r.failure?.step ? ` in '${r.failure.step}'` : ''}: no final figure`)),
    yLabel: `memory at full scale (${unit.name}), ${baselineNote(report.environment.method)}`,
    yMax: niceCeil((max * 1.15) / unit.factor),
    budgets: [],
    groups: [
      group('peak', '#1f77b4', 'peak'),
      group('final (RSS)', '#2ca02c', 'final'),
      group('final, still referenced', '#a8dba0', 'live'),
    ],
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
            if (metric === 'peak')
              notes.push({
                x: m.n_datasets,
                text: `${strategy} ${r.status}${r.failure?.step ? ` in '${r.failure.step}'` : ''}`,
                color: strategyColor(strategy),
              });
            points.push({
              x: m.n_datasets,
              y: null,
              tip: [`N=${m.n_datasets}: ${r.status}${r.failure?.step ? ` in '${r.failure.step}'` : ''}`],
            });
            continue;
          }
          const p = projectionOf(r);
          const bytes = metric === 'peak' ? p.peak_bytes : p.final_bytes;
          const interval = metric === 'peak' ? p.interval.peak : p.interval.final;
          points.push({
            x: m.n_datasets,
            y: bytes / unit.factor,
            marker: true,
            tip: [
              `${m.name} (N=${m.n_datasets})`,
              `${metric}: ${fullAndMeasured(bytes, r.scale, metric === 'peak' ? r.peak_bytes : r.final_bytes, interval)}`,
            ],
          });
        }
        datasets.push({
          label: `${strategy} ${metric}`,
          color: strategyColor(strategy),
          ...(metric === 'final' ? { dashed: true } : {}),
          points,
        });
      }
    }
    // A budget may grow with N; draw it as a grey stepped line.
    const budgetDatasets: SpecLineDataset[] = [];
    for (const metric of ['peak', 'final'] as const) {
      const pts: SpecPoint[] = [];
      for (const m of members) {
        const b = scenarioRuns(report, m.name)[0]?.budgets.find((x) => x.metric === metric);
        if (b)
          pts.push({
            x: m.n_datasets,
            y: b.limit_bytes / unit.factor,
            tip: [`${metric} budget at N=${m.n_datasets}: ${formatBytes(b.limit_bytes)}`],
          });
      }
      if (pts.length > 0)
        budgetDatasets.push({
          label: `${metric} budget`,
          color: BUDGET_COLORS[metric],
          dashed: true,
          stepped: true,
          width: 2,
          points: pts,
        });
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
      yLabel: `memory at full scale (${unit.name}), ${baselineNote(report.environment.method)}`,
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
