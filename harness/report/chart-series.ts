/**
 * A run as timeline series: its RSS samples, each step's high-water mark and end, and a dashed
 * prediction when the steps carry one, all at full scale. Pure; the caller (the report's
 * timeline, the simulator's CLI) turns series into a chart spec with `timelineSpec`.
 */
import type { RunRecord, StepRecord } from '../../src/core/report.js';
import { stepProjectionOf } from './projection.js';

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
  for (let i = 1; i < steps.length; i++)
    if (steps[i]!.start_ms < steps[i - 1]!.start_ms || steps[i]!.end_ms < steps[i - 1]!.end_ms) return false;
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
    else
      run.steps.forEach((s, i) => {
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
