/**
 * From a ladder of scales to full scale (docs/measurement.md#the-fit-and-its-interval). A figure measured at scale s is
 * `fixed + s × proportional`: the runtime's own memory does not shrink with the data. Each
 * figure is fitted by least squares over the rungs and the projection is the fit at s = 1.
 * Pure: numbers in, numbers out.
 *
 * Three things the measurements taught (2 × 2 GB datasets, every strategy, rungs 1/128 … 1/16
 * projected onto a real scale-1 run):
 * - Repeats at one scale scatter by about ±2 MB, with occasional excursions of several MB (a
 *   block the allocator or V8 happened to keep). A rung's figure is the lower median of its
 *   repeats, so one excursion does not tilt the fit.
 * - Memory the process holds cannot grow more slowly than the bytes the pipeline references.
 *   Small per-array and V8 overheads (≈2.5% of the data at full scale) drown in that ±1 MB at
 *   1/32, and a fit that reads noise as a slope below the live bytes' slope projected 5–8%
 *   low; the slope is therefore never below the live bytes' own (exactly proportional) slope.
 * - The interval must carry the extrapolation: from rungs s, s/2, s/4 the fit's value at 1 has
 *   ≈58× the noise of one rung when s = 1/32. It is the fit's standard error at s = 1 with the
 *   noise taken as the larger of the rungs' own scatter and the floor measured here.
 */

/** One measured value of a figure at one scale. */
export interface Reading {
  readonly scale: number;
  readonly bytes: number;
}

/**
 * The repeat noise of one rung, measured on this machine: the default suite's 168 rung
 * figures (13 MB … 1 GB) three times each had a standard deviation of 1.4–1.9 MB (rms) at
 * every size, up to 6.5 MB at worst. The larger of 2 MB and 0.3% counts.
 */
export const NOISE_FLOOR_BYTES = 2e6;
export const NOISE_FLOOR_RELATIVE = 0.003;

/**
 * A ladder is reported as not linear when the rms of its residuals is above this share of the
 * top rung's figure and above NONLINEAR_NOISE times the noise floor (below that it is noise).
 * Measured: linear ladders here (2 × 2 GB at 1/16 … 1/128, the default suite) left rms
 * residuals within 1.5× the noise floor; a ladder whose small rungs fell into another
 * allocator regime (matrices under glibc's 32 MiB mmap ceiling, default malloc settings) left
 * 10–60 MB, 9–40% of its top rung.
 */
export const NONLINEAR_RESIDUAL = 0.03;
export const NONLINEAR_NOISE = 3;

/** Coverage factor of the interval (≈95% for normal noise). */
export const INTERVAL_K = 2;

export interface AffineFit {
  /** The fixed part (bytes at scale → 0). */
  readonly fixed_bytes: number;
  /** Bytes per unit of scale: the full-scale size of what grows with the data. */
  readonly proportional_bytes: number;
  /** The fit at scale 1. */
  readonly projected_bytes: number;
  /** [lo, hi] at scale 1: projected ± k × the fit's standard error there. */
  readonly interval: readonly [number, number];
  /** rms of (reading − fit) over the rungs, relative to the top rung's figure (0 with two rungs: a line fits any two points). */
  readonly residual: number;
  /** The distinct scales fitted, largest first. */
  readonly scales: readonly number[];
  /** True when the slope was raised to the floor's (the unconstrained fit fell below it). */
  readonly constrained: boolean;
  /** False when the residual is above NONLINEAR_RESIDUAL and beyond the noise (NONLINEAR_NOISE). */
  readonly linear: boolean;
}

/** Lower median: the middle value, or the lower of the two middle ones. */
export function lowerMedian(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const v = [...values].sort((a, b) => a - b);
  return v[(v.length - 1) >> 1]!;
}

/** Readings grouped by scale (repeats together), largest scale first. */
export function byScale(readings: readonly Reading[]): Array<{ scale: number; values: number[] }> {
  const groups: Array<{ scale: number; values: number[] }> = [];
  for (const r of readings) {
    const g = groups.find((x) => sameScale(x.scale, r.scale));
    if (g) g.values.push(r.bytes);
    else groups.push({ scale: r.scale, values: [r.bytes] });
  }
  return groups.sort((a, b) => b.scale - a.scale);
}

/** Scales equal up to float noise (1/3 computed two ways). */
export function sameScale(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function line(points: ReadonlyArray<readonly [number, number]>): { a: number; b: number; mean: number; sxx: number } {
  const n = points.length;
  const mean = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mean) ** 2;
    sxy += (x - mean) * (y - my);
  }
  const b = sxx > 0 ? sxy / sxx : 0;
  return { a: my - b * mean, b, mean, sxx };
}

export interface FitOptions {
  /**
   * Readings of a quantity the figure contains and that is exactly proportional to the data
   * (the live bytes behind it), at the same scales: the figure's slope is never below this
   * quantity's slope.
   */
  readonly floor?: readonly Reading[];
  readonly noiseFloorBytes?: number;
  readonly noiseFloorRelative?: number;
}

/**
 * Fit `fixed + scale × proportional` to readings at two or more scales and project it to
 * scale 1. Repeats at one scale are combined by their lower median; their spread counts as
 * noise. Throws RangeError with fewer than two distinct scales (the caller decides what a
 * single rung means).
 */
export function fitAffine(readings: readonly Reading[], opts: FitOptions = {}): AffineFit {
  const rungs = byScale(readings.filter((r) => Number.isFinite(r.bytes) && r.scale > 0));
  if (rungs.length < 2) throw new RangeError(`an affine fit needs readings at two or more scales, got ${rungs.length}`);
  const points = rungs.map((g) => [g.scale, lowerMedian(g.values)] as const);
  let { a, b } = line(points);
  const { mean, sxx } = line(points);
  let constrained = false;
  if (opts.floor && opts.floor.length > 0) {
    const floorRungs = byScale(opts.floor);
    if (floorRungs.length >= 2) {
      const f = line(floorRungs.map((g) => [g.scale, lowerMedian(g.values)] as const));
      if (b < f.b) {
        b = f.b;
        a = points.reduce((s, [x, y]) => s + y - b * x, 0) / points.length;
        constrained = true;
      }
    }
  }
  const fitted = (x: number): number => a + b * x;
  const n = points.length;
  const resid = points.map(([x, y]) => y - fitted(x));
  const top = Math.abs(points[0]![1]);
  const rms = n > 2 ? Math.sqrt(resid.reduce((s, r) => s + r * r, 0) / n) : 0;
  const residual = rms / Math.max(top, 1);
  // Noise: the floor, the rungs' scatter about the line (n − 2 degrees of freedom; one more
  // with the slope pinned), and the repeats' scatter about their rung's median.
  const floor = Math.max(opts.noiseFloorBytes ?? NOISE_FLOOR_BYTES, (opts.noiseFloorRelative ?? NOISE_FLOOR_RELATIVE) * top);
  let sigma = floor;
  const dof = n - (constrained ? 1 : 2);
  if (dof > 0) sigma = Math.max(sigma, Math.sqrt(resid.reduce((s, r) => s + r * r, 0) / dof));
  const spread: number[] = [];
  for (const g of rungs) {
    if (g.values.length < 2) continue;
    const m = lowerMedian(g.values);
    for (const v of g.values) spread.push(v - m);
  }
  if (spread.length > 0) sigma = Math.max(sigma, Math.sqrt(spread.reduce((s, d) => s + d * d, 0) / spread.length));
  // Raising the slope to the floor's moves the projection, not its uncertainty: the data at
  // these scales could not tell the slope any better than the unconstrained fit's error says.
  const se = sigma * Math.sqrt(1 / n + (1 - mean) ** 2 / sxx);
  const projected = fitted(1);
  return {
    fixed_bytes: a,
    proportional_bytes: b,
    projected_bytes: projected,
    interval: [projected - INTERVAL_K * se, projected + INTERVAL_K * se],
    residual,
    scales: points.map(([x]) => x),
    constrained,
    linear: !(residual > NONLINEAR_RESIDUAL && rms > NONLINEAR_NOISE * floor),
  };
}

/** Whether an interval is entirely at or under a limit, entirely over it, or straddles it. */
export function judge(interval: readonly [number, number], limit: number, linear = true): 'ok' | 'exceeded' | 'uncertain' {
  if (!linear) return 'uncertain';
  if (interval[1] <= limit) return 'ok';
  if (interval[0] > limit) return 'exceeded';
  return 'uncertain';
}
