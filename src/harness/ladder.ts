/**
 * The scale ladder (DESIGN §7): which scales a scenario is measured at, and the full-scale
 * projection of a run from what its rungs measured. Every rung runs in its own fresh child;
 * the run's own figures (`peak_bytes`, `final_bytes`, steps) are those of the scenario's
 * `scale`, its projection the fit over all rungs.
 */
import { CellbudgetError } from '../core/errors.js';
import { fitAffine, INTERVAL_K, lowerMedian, NOISE_FLOOR_BYTES, NOISE_FLOOR_RELATIVE, type AffineFit, type Reading } from '../core/projection.js';
import { formatBytes } from '../core/units.js';
import type { FigureFit, Interval, LadderRecord, Projection, RungRecord, RunRecord, StepRecord } from '../core/report.js';
import { representationRowBytes, scaleSynthetic } from '../scenario/synthetic.js';
import type { BuiltinScenario } from '../scenario/model.js';

/** `ladder:` in a scenario or `--ladder`: off, a number of rungs (halving), or explicit scales. */
export type LadderSpec = 'off' | number | readonly number[];

/** Rungs when a scenario says nothing: its scale, half and a quarter of it. */
export const DEFAULT_LADDER = 3;

/**
 * The smallest representation a rung may have: glibc's mmap threshold as the harness pins it
 * (MEASUREMENT_ENV). A smaller matrix is allocated from the heap and stays resident after it
 * is deleted, which never happens to a full-scale matrix (measured: sequential final 40% off
 * when the small rungs crossed it).
 */
export function mmapFloorBytes(env: Readonly<Record<string, string>>): number {
  const v = Number(env['MALLOC_MMAP_THRESHOLD_']);
  return Number.isFinite(v) && v > 0 ? v : 32 * 1024 * 1024;
}

/** Parse `--ladder N|off|S1,S2,…`. */
export function parseLadderFlag(text: string): LadderSpec {
  const t = text.trim();
  if (t === 'off' || t === '1') return 'off';
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n >= 2 && n <= 8) return n;
  } else {
    const parts = t.split(',').map((x) => Number(x.trim()));
    if (parts.length >= 2 && parts.every((x) => Number.isFinite(x) && x > 0 && x <= 1)) return parts;
  }
  throw new CellbudgetError('USAGE', `--ladder '${text}' is not off, a number of rungs (2–8) or a list of scales.`, {
    key: '--ladder',
    value: text,
    hint: 'Write e.g. --ladder 3 (the scale, half and a quarter of it), --ladder 0.001,0.0005,0.00025, or --ladder off.',
  });
}

export interface LadderPlan {
  /** Scales to measure, largest first; includes the scenario's own. */
  scales: number[];
  notes: string[];
}

/** The smallest representation among a scenario's synthetic datasets at `scale` (Infinity without any). */
function smallestMatrixBytes(s: BuiltinScenario, scale: number): number {
  let min = Infinity;
  for (const [i, d] of s.datasets.entries()) {
    if (!d.synthetic) continue;
    const x = scaleSynthetic(d.synthetic, scale, `${s.source}: datasets[${i}] (${d.name}).synthetic`, s.pipeline.split);
    const { perRow, fixed } = representationRowBytes(x.features, x.dtype, x.representation, x.density);
    min = Math.min(min, x.cells * perRow + fixed);
  }
  return min;
}

/** Whether a rung can be generated at all (enough cells for the conditions). */
function rungPossible(s: BuiltinScenario, scale: number): string | undefined {
  try {
    smallestMatrixBytes(s, scale);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * The rungs of a scenario. At scale 1 there is nothing to project: one rung. A rung whose
 * synthetic matrices fall under the mmap floor, or which cannot hold the conditions, is left
 * out and replaced by one above the largest so far (up to scale 1), so a ladder keeps its
 * number of rungs where the machine allows.
 */
export function planLadder(s: BuiltinScenario, spec: LadderSpec = s.ladder ?? DEFAULT_LADDER, env: Readonly<Record<string, string>> = {}): LadderPlan {
  if (s.scale >= 1 || spec === 'off') return { scales: [s.scale], notes: [] };
  const floor = mmapFloorBytes(env);
  const hasSynthetic = s.datasets.some((d) => d.synthetic);
  const wanted = typeof spec === 'number' ? Array.from({ length: spec }, (_, i) => s.scale / 2 ** i) : [...new Set([s.scale, ...spec])];
  const count = wanted.length;
  const notes: string[] = [];
  const ok = (x: number): string | undefined => {
    const impossible = rungPossible(s, x);
    if (impossible) return `cannot be generated (${impossible})`;
    if (!hasSynthetic) return undefined;
    const m = smallestMatrixBytes(s, x);
    return m < floor ? `its smallest matrix would be ${formatBytes(m)}, under the ${formatBytes(floor)} mmap threshold: allocated from the heap, it would stay resident when deleted, unlike at full scale` : undefined;
  };
  const kept: number[] = [];
  const mainWhy = ok(s.scale);
  if (mainWhy) notes.push(`the scenario's own scale ${fmt(s.scale)} is measured although ${mainWhy.replace(/^its/, 'its')}; raise \`scale\` for a projection the other rungs agree with`);
  for (const x of wanted) {
    const why = x === s.scale ? undefined : ok(x);
    if (why) notes.push(`rung ${fmt(x)} left out: ${why}`);
    else kept.push(x);
  }
  // Upward where the machine allows: double the largest rung until the count is back.
  let up = Math.max(...kept);
  while (kept.length < count && up < 1) {
    up = Math.min(1, up * 2);
    if (kept.some((k) => Math.abs(k - up) <= 1e-12 * up)) continue;
    kept.push(up);
    notes.push(`rung ${fmt(up)} added above the scenario's scale ${fmt(s.scale)} to keep ${count} rungs`);
  }
  return { scales: [...new Set(kept)].sort((a, b) => b - a), notes };
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}

/** A rung's record from a run's measured fields. */
export function rungOf(
  run: Pick<RunRecord, 'scale' | 'status' | 'peak_bytes' | 'final_bytes' | 'final_live_bytes' | 'baseline_bytes' | 'duration_ms' | 'steps' | 'failure' | 'leak' | 'executor' | 'job_id' | 'node' | 'requested_memory_bytes'>,
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
  const ladder: LadderRecord = { scales: [...new Set(rungs.map((r) => r.scale))].sort((a, b) => b - a), rungs: [...rungs], ...(notes.length ? { notes: [...notes] } : {}) };
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
export function projectionOf(run: Pick<RunRecord, 'projected' | 'scale' | 'peak_bytes' | 'final_bytes' | 'final_live_bytes' | 'steps'>): Projection {
  if (run.projected) return run.projected;
  if (run.scale === 1) return measuredProjection(run.peak_bytes, run.final_bytes, run.final_live_bytes);
  return singleRungProjection(run.scale, run.peak_bytes, run.final_bytes, run.final_live_bytes);
}

/** A step's full-scale figures (its projection, or measured at scale 1, or ÷ scale). */
export function stepProjectionOf(step: Pick<StepRecord, 'projected' | 'peak_bytes' | 'end_bytes' | 'live_bytes'>, scale: number): Projection {
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
  return p.scales.map(fmt).join(', ');
}

/** Scales as fractions where they are 1/n ("1/32, 1/64, 1/128"), else as numbers. */
export function ladderScalesText(scales: readonly number[]): string {
  return scales
    .map((s) => {
      const n = 1 / s;
      return Math.abs(n - Math.round(n)) < 1e-6 * n && n >= 2 ? `1/${Math.round(n)}` : fmt(s);
    })
    .join(', ');
}
