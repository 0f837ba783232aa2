/**
 * The full-scale projection of a run from what the rungs of its scale ladder measured
 * (docs/measurement.md#the-scale-ladder), and how projected figures are written. The run's own
 * figures (`peak_bytes`, `final_bytes`, steps) are those of the scenario's `scale`, its
 * projection the fit over all rungs.
 */
import {
  fitAffine,
  INTERVAL_K,
  lowerMedian,
  NOISE_FLOOR_BYTES,
  NOISE_FLOOR_RELATIVE,
  type AffineFit,
  type Reading,
} from '../../src/core/projection.js';
import { formatBytes } from '../../src/core/units.js';
import type { FigureFit, Interval, LadderRecord, Projection, RungRecord, RunRecord, StepRecord } from '../../src/core/report.js';

/** A scale with four significant digits, as outputs print it. */
export function formatScale(x: number): string {
  return Number(x.toPrecision(4)).toString();
}

/** A rung's record from a run's measured fields. */
export function rungOf(
  run: Pick<
    RunRecord,
    | 'scale'
    | 'status'
    | 'peak_bytes'
    | 'final_bytes'
    | 'final_live_bytes'
    | 'baseline_bytes'
    | 'duration_ms'
    | 'steps'
    | 'failure'
    | 'leak'
    | 'executor'
    | 'job_id'
    | 'node'
    | 'requested_memory_bytes'
  >,
  index?: number,
): RungRecord {
  return {
    scale: run.scale,
    status: run.status,
    ...(index !== undefined ? { run: index } : {}),
    peak_bytes: run.peak_bytes,
    final_bytes: run.final_bytes,
    final_live_bytes: run.final_live_bytes,
    baseline_bytes: run.baseline_bytes,
    duration_ms: run.duration_ms,
    steps: run.steps.map((st) => ({ peak_bytes: st.peak_bytes, end_bytes: st.end_bytes, live_bytes: st.live_bytes })),
    ...(run.leak ? { leak_growth_bytes: run.leak.growth_per_repetition_bytes } : {}),
    ...(run.failure ? { failure: run.failure.reason } : {}),
    ...(run.executor !== undefined ? { executor: run.executor } : {}),
    ...(run.job_id !== undefined ? { job_id: run.job_id } : {}),
    ...(run.node !== undefined ? { node: run.node } : {}),
    ...(run.requested_memory_bytes !== undefined ? { requested_memory_bytes: run.requested_memory_bytes } : {}),
  };
}

/** What a figure holds that grows exactly with the data: the live bytes at its moment. */
interface Series {
  readings: Reading[];
  floor: Reading[];
}

function figureFit(f: AffineFit): FigureFit {
  return { fixed_bytes: f.fixed_bytes, proportional_bytes: f.proportional_bytes, residual: f.residual, constrained: f.constrained };
}

function measuredProjection(peak: number, final: number, kept: number): Projection {
  return {
    peak_bytes: peak,
    final_bytes: final,
    kept_bytes: kept,
    fixed_bytes: 0,
    scales: [1],
    residual: 0,
    interval: { peak: [peak, peak], final: [final, final], kept: [kept, kept] },
    method: 'measured',
    linear: true,
  };
}

/**
 * One rung below scale 1 (a command, an ingested log, `ladder: off`): the fixed part cannot be
 * told apart, so the figure is measured ÷ scale, as the baseline's subtraction leaves it, with
 * the repeat noise ÷ scale as its interval. Every output labels it so (method `single-rung`).
 */
function singleRungProjection(scale: number, peak: number, final: number, kept: number): Projection {
  const one = (y: number): { value: number; interval: Interval } => {
    const noise = (INTERVAL_K * Math.max(NOISE_FLOOR_BYTES, NOISE_FLOOR_RELATIVE * y)) / scale;
    return { value: y / scale, interval: [y / scale - noise, y / scale + noise] };
  };
  const p = one(peak);
  const f = one(final);
  const k = one(kept);
  return {
    peak_bytes: p.value,
    final_bytes: f.value,
    kept_bytes: k.value,
    fixed_bytes: 0,
    scales: [scale],
    residual: 0,
    interval: { peak: p.interval, final: f.interval, kept: k.interval },
    method: 'single-rung',
    linear: true,
  };
}

function project(scales: number[], peak: Series, final: Series, kept: Reading[]): Projection {
  const distinct = new Set(peak.readings.map((r) => r.scale));
  if (distinct.size === 1 && [...distinct][0] === 1) {
    const med = (xs: Reading[]): number => lowerMedian(xs.map((r) => r.bytes));
    return measuredProjection(med(peak.readings), med(final.readings), med(kept));
  }
  if (distinct.size < 2) {
    const med = (xs: Reading[]): number => lowerMedian(xs.map((r) => r.bytes));
    return singleRungProjection(scales[0] ?? 1, med(peak.readings), med(final.readings), med(kept));
  }
  const p = fitAffine(peak.readings, { floor: peak.floor });
  const f = fitAffine(final.readings, { floor: final.floor });
  const k = fitAffine(kept);
  return {
    peak_bytes: p.projected_bytes,
    final_bytes: f.projected_bytes,
    kept_bytes: k.projected_bytes,
    fixed_bytes: p.fixed_bytes,
    scales: p.scales.slice(),
    residual: Math.max(p.residual, f.residual, k.residual),
    interval: { peak: [...p.interval], final: [...f.interval], kept: [...k.interval] },
    method: 'ladder',
    linear: p.linear && f.linear && k.linear,
    fit: { peak: figureFit(p), final: figureFit(f), kept: figureFit(k) },
  };
}

/** The lower bound of live bytes during a step: it starts with the previous step's and ends with its own. */
function stepPeakFloor(steps: RungRecord['steps'], i: number): number {
  return Math.max(steps[i]?.live_bytes ?? 0, i > 0 ? (steps[i - 1]?.live_bytes ?? 0) : 0);
}

/**
 * The projection of a run and of each of its steps from its rungs (those that finished and
 * have the same steps as the run). Returns the run with `projected`, steps' `projected`,
 * `ladder` and `naive_full_scale` set.
 */
export function withProjection<R extends RunRecord>(run: R, rungs: readonly RungRecord[], notes: readonly string[] = []): R {
  const usable = rungs.filter((r) => r.status === 'ok' && r.steps.length === run.steps.length);
  const scales = [...new Set(usable.map((r) => r.scale))].sort((a, b) => b - a);
  const naive = { peak_bytes: run.peak_bytes / run.scale, final_bytes: run.final_bytes / run.scale };
  const ladder: LadderRecord = {
    scales: [...new Set(rungs.map((r) => r.scale))].sort((a, b) => b - a),
    rungs: [...rungs],
    ...(notes.length ? { notes: [...notes] } : {}),
  };
  if (run.status !== 'ok' || usable.length === 0) return { ...run, ladder, naive_full_scale: naive };
  const at = (f: (r: RungRecord) => number): Reading[] => usable.map((r) => ({ scale: r.scale, bytes: f(r) }));
  const runPeakFloor = (r: RungRecord): number => Math.max(0, ...r.steps.map((_, i) => stepPeakFloor(r.steps, i)));
  const projected = project(
    scales,
    { readings: at((r) => r.peak_bytes), floor: at(runPeakFloor) },
    { readings: at((r) => r.final_bytes), floor: at((r) => r.final_live_bytes) },
    at((r) => r.final_live_bytes),
  );
  const leakRungs = usable.filter((r) => r.leak_growth_bytes !== undefined);
  if (leakRungs.length > 0) {
    const readings = leakRungs.map((r) => ({ scale: r.scale, bytes: r.leak_growth_bytes! }));
    if (new Set(readings.map((r) => r.scale)).size >= 2) {
      const l = fitAffine(readings);
      projected.leak_growth_bytes = l.projected_bytes;
      projected.leak_interval = [...l.interval];
    } else {
      const r = readings[0]!;
      const noise = (INTERVAL_K * NOISE_FLOOR_BYTES) / r.scale;
      projected.leak_growth_bytes = r.bytes / r.scale;
      projected.leak_interval = [r.bytes / r.scale - noise, r.bytes / r.scale + noise];
    }
  }
  const steps: StepRecord[] = run.steps.map((st, i) => {
    const p = project(
      scales,
      { readings: at((r) => r.steps[i]!.peak_bytes), floor: at((r) => stepPeakFloor(r.steps, i)) },
      { readings: at((r) => r.steps[i]!.end_bytes), floor: at((r) => r.steps[i]!.live_bytes) },
      at((r) => r.steps[i]!.live_bytes),
    );
    return { ...st, projected: p };
  });
  return { ...run, steps, projected, ladder, naive_full_scale: naive };
}

/**
 * A run's full-scale figures whatever produced it: its projection, or for a run without one
 * (a command, an ingested log, an older report) the measured figures at scale 1 and a
 * single-rung estimate otherwise.
 */
export function projectionOf(
  run: Pick<RunRecord, 'projected' | 'scale' | 'peak_bytes' | 'final_bytes' | 'final_live_bytes' | 'steps'>,
): Projection {
  if (run.projected) return run.projected;
  if (run.scale === 1) return measuredProjection(run.peak_bytes, run.final_bytes, run.final_live_bytes);
  return singleRungProjection(run.scale, run.peak_bytes, run.final_bytes, run.final_live_bytes);
}

/** A step's full-scale figures (its projection, or measured at scale 1, or ÷ scale). */
export function stepProjectionOf(
  step: Pick<StepRecord, 'projected' | 'peak_bytes' | 'end_bytes' | 'live_bytes'>,
  scale: number,
): Projection {
  if (step.projected) return step.projected;
  if (scale === 1) return measuredProjection(step.peak_bytes, step.end_bytes, step.live_bytes);
  return singleRungProjection(scale, step.peak_bytes, step.end_bytes, step.live_bytes);
}

/** "401 GB (395–408 GB)", or just the figure when the interval is a point. */
export function formatProjected(value: number, interval?: Interval): string {
  if (!interval || interval[1] - interval[0] <= 1e-9 * Math.abs(value)) return formatBytes(value);
  return `${formatBytes(value)} (${formatBytes(Math.max(0, interval[0]))}–${formatBytes(interval[1])})`;
}

/** "±1.8%" of the interval's half-width relative to the figure. */
export function formatSpread(value: number, interval: Interval): string {
  const half = (interval[1] - interval[0]) / 2;
  if (!(value > 0) || half <= 0) return '';
  return `±${((half / value) * 100).toFixed(half / value < 0.1 ? 1 : 0)}%`;
}

/** The scales of a projection as "0.001, 0.0005, 0.00025". */
export function formatScales(p: Pick<Projection, 'scales'>): string {
  return p.scales.map(formatScale).join(', ');
}

/** Scales as fractions where they are 1/n ("1/32, 1/64, 1/128"), else as numbers. */
export function ladderScalesText(scales: readonly number[]): string {
  return scales
    .map((s) => {
      const n = 1 / s;
      return Math.abs(n - Math.round(n)) < 1e-6 * n && n >= 2 ? `1/${Math.round(n)}` : formatScale(s);
    })
    .join(', ');
}
