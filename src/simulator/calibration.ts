/**
 * Calibration: fit the runtime constants to measured steps (least squares, relative
 * weights, non-negative, retention ≤ 1), and the calibration file format.
 */
import { z } from 'zod';
import { CellbudgetError } from '../core/errors.js';
import { CONSTANT_NAMES, DEFAULT_CONSTANTS, evaluate, type Features, type RuntimeConstants } from './simulate.js';
import { MEASURED_FIT } from './measured-calibration.js';

/** Where a figure that came before a full-size measurement came from, and how far off it was. */
export interface EarlierPrediction {
  /** e.g. "the model when the run was measured", "measured ÷ scale at scale 0.001", "ladder projection (report …)". */
  readonly source: string;
  readonly peak_bytes: number;
  readonly final_bytes?: number;
  /** (earlier − measured) / measured. */
  readonly peak_error: number;
  readonly final_error?: number;
}

/** A built-in run measured at full size (scale 1): kept in a calibration so `plan` can use it and say so. */
export interface FullSizeMeasurement {
  readonly scenario: string;
  readonly strategy: string;
  /** The run's datasets as listed (the first is the primary). */
  readonly datasets: readonly string[];
  /** Processing order when not as listed. */
  readonly order?: readonly string[];
  readonly peak_bytes: number;
  readonly final_bytes: number;
  readonly peak_step: string;
  /** The report it came from. */
  readonly report: string;
  readonly executor?: string;
  readonly job_id?: string;
  readonly node?: string;
  readonly earlier: readonly EarlierPrediction[];
}

export interface Calibration {
  readonly version: 1;
  readonly constants: RuntimeConstants;
  /** Runs measured at full size among the calibration's reports. */
  readonly full_size?: readonly FullSizeMeasurement[];
  /** How the constants were obtained. */
  readonly fit?: {
    readonly source: string;
    readonly observations: number;
    /** Constants fitted from data. */
    readonly fitted: ReadonlyArray<keyof RuntimeConstants>;
    /** Constants no step exercised: they keep their defaults. */
    readonly unexercised: ReadonlyArray<keyof RuntimeConstants>;
    /** Constants the fit wanted below 0 (or retention above 1), pinned at the bound. */
    readonly pinned: ReadonlyArray<keyof RuntimeConstants>;
    readonly rms_relative_error: number;
    readonly max_relative_error: number;
  };
}

/** The uncalibrated defaults. */
export function defaultCalibration(): Calibration {
  return { version: 1, constants: { ...DEFAULT_CONSTANTS } };
}

const constantsSchema = z
  .object(Object.fromEntries(CONSTANT_NAMES.map((k) => [k, z.number().finite().min(0)])) as Record<keyof RuntimeConstants, z.ZodNumber>)
  .partial()
  .strict();

const calibrationSchema = z
  .object({
    version: z.literal(1),
    constants: constantsSchema,
    fit: z.record(z.string(), z.unknown()).optional(),
    created: z.string().optional(),
    skipped: z.array(z.unknown()).optional(),
    full_size: z
      .array(
        z
          .object({
            scenario: z.string(),
            strategy: z.string(),
            datasets: z.array(z.string()),
            order: z.array(z.string()).optional(),
            peak_bytes: z.number().finite(),
            final_bytes: z.number().finite(),
            peak_step: z.string(),
            report: z.string(),
            executor: z.string().optional(),
            job_id: z.string().optional(),
            node: z.string().optional(),
            earlier: z.array(
              z
                .object({
                  source: z.string(),
                  peak_bytes: z.number().finite(),
                  final_bytes: z.number().finite().optional(),
                  peak_error: z.number().finite(),
                  final_error: z.number().finite().optional(),
                })
                .strict(),
            ),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

/** Validate a parsed calibration file; missing constants take their defaults. */
export function parseCalibration(value: unknown, file = 'calibration'): Calibration {
  const r = calibrationSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CellbudgetError('CALIBRATION_INVALID', `${file}: ${i ? `${i.path.join('.') || '(top level)'}: ${i.message}` : 'invalid'}.`, {
      file,
      hint: 'Write it with `cellbudget calibrate REPORT.json --out FILE`, or fix the key named above.',
    });
  }
  const constants = { ...DEFAULT_CONSTANTS, ...r.data.constants } as RuntimeConstants;
  if (constants.retention > 1) {
    throw new CellbudgetError('CALIBRATION_INVALID', `${file}: constants.retention ${constants.retention} is above 1.`, {
      file,
      key: 'constants.retention',
      hint: 'Retention is the fraction of freed bytes kept resident: 0–1.',
    });
  }
  return {
    version: 1,
    constants,
    ...(r.data.fit ? { fit: r.data.fit as unknown as NonNullable<Calibration['fit']> } : {}),
    ...(r.data.full_size ? { full_size: r.data.full_size as readonly FullSizeMeasurement[] } : {}),
  };
}

/** One measured figure and the model features behind it. */
export interface Observation {
  readonly features: Features;
  readonly measured_bytes: number;
  /** Relative weight in the fit (default 1). */
  readonly weight?: number;
}

/**
 * Figures under this many bytes weigh as if they were this large: a figure of a few MB is
 * mostly repeat noise (±2 MB, src/core/projection.ts), and a relative weight would let it steer
 * constants that matter at hundreds of GB.
 */
export const WEIGHT_FLOOR_BYTES = 10e6;

/**
 * Least squares over observations, weighted by 1/measured so small and large steps count
 * alike (the acceptance is a relative error). Constants never exercised keep their
 * defaults; negative fits are pinned at 0 and retention at most 1 (active set). A tiny
 * ridge toward the defaults keeps collinear columns (e.g. obs and prepare bytes per cell
 * when every dataset has the same shape) solvable.
 */
export function fitConstants(obs: readonly Observation[], source = 'report'): Calibration {
  if (obs.length === 0) {
    throw new CellbudgetError('CALIBRATION_INVALID', `${source}: no measured steps to fit.`, {
      file: source,
      hint: 'Calibrate from a report whose runs finished (status ok) on built-in scenarios.',
    });
  }
  const pinned = new Map<keyof RuntimeConstants, number>();
  for (const k of CONSTANT_NAMES) {
    if (obs.every((o) => o.features[k] === 0)) pinned.set(k, DEFAULT_CONSTANTS[k]);
  }
  const unexercised = [...pinned.keys()];
  const fitted = (): Array<keyof RuntimeConstants> => CONSTANT_NAMES.filter((k) => !pinned.has(k));
  let theta: RuntimeConstants = { ...DEFAULT_CONSTANTS };
  for (let iter = 0; iter <= CONSTANT_NAMES.length; iter++) {
    const free = fitted();
    const solved = solveWeighted(obs, free, pinned);
    theta = { ...DEFAULT_CONSTANTS };
    for (const [k, v] of pinned) theta[k] = v;
    free.forEach((k, i) => (theta[k] = solved[i]!));
    const negative = free.filter((k) => theta[k] < 0).sort((a, b) => theta[a] - theta[b])[0];
    if (negative !== undefined) {
      pinned.set(negative, 0);
      continue;
    }
    if (theta.retention > 1 && free.includes('retention')) {
      pinned.set('retention', 1);
      continue;
    }
    break;
  }
  const rel = obs.map(
    (o) => Math.abs(evaluate(o.features, theta) - o.measured_bytes) / Math.max(Math.abs(o.measured_bytes), WEIGHT_FLOOR_BYTES),
  );
  return {
    version: 1,
    constants: theta,
    fit: {
      source,
      observations: obs.length,
      fitted: fitted(),
      unexercised,
      pinned: [...pinned.keys()].filter((k) => !unexercised.includes(k)),
      rms_relative_error: Math.sqrt(rel.reduce((a, b) => a + b * b, 0) / rel.length),
      max_relative_error: Math.max(...rel),
    },
  };
}

function solveWeighted(
  obs: readonly Observation[],
  free: ReadonlyArray<keyof RuntimeConstants>,
  pinned: ReadonlyMap<keyof RuntimeConstants, number>,
): number[] {
  const n = free.length;
  if (n === 0) return [];
  const A: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const b = new Array<number>(n).fill(0);
  // Columns are in very different units (bytes vs cells vs 1): normalise to keep the normal equations conditioned.
  const scale = free.map((k) => Math.max(1e-300, Math.sqrt(obs.reduce((a, o) => a + o.features[k] ** 2, 0) / obs.length)));
  for (const o of obs) {
    const w = (o.weight ?? 1) / Math.max(Math.abs(o.measured_bytes), WEIGHT_FLOOR_BYTES);
    let y = o.measured_bytes;
    for (const [k, v] of pinned) y -= o.features[k] * v;
    const x = free.map((k, i) => o.features[k] / scale[i]!);
    for (let i = 0; i < n; i++) {
      b[i]! += w * w * x[i]! * y;
      for (let j = 0; j < n; j++) A[i]![j]! += w * w * x[i]! * x[j]!;
    }
  }
  for (let i = 0; i < n; i++) {
    const ridge = 1e-10 * Math.max(A[i]![i]!, 1e-300);
    A[i]![i]! += ridge;
    b[i]! += ridge * (DEFAULT_CONSTANTS[free[i]!] * scale[i]!);
  }
  const sol = gauss(A, b);
  return sol.map((v, i) => v / scale[i]!);
}

function gauss(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    const piv = M[c]![c]!;
    if (piv === 0) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / piv;
      if (f === 0) continue;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => (row[i]! === 0 ? 0 : row[n]! / row[i]!));
}

/**
 * Constants fitted on this project's machine (Linux, Node 20, the harness's measurement
 * protocol: harness/run/run.ts MEASUREMENT_ENV and MEASUREMENT_NODE_ARGS, kernel high-water
 * marks) on a ladder report of original-fix, n-datasets N=1–6 and golden: every rung of every
 * run, and each step's projection to full scale (src/simulator/predict.ts). The numbers live in
 * src/simulator/measured-calibration.ts, which `npm run refit-calibration` rewrites together
 * with its test fixture. Selected with `--calibration measured`, the default of `plan` and
 * `simulate` and what `run` predicts with.
 */
export const MEASURED_CALIBRATION: Calibration = Object.freeze({
  version: 1,
  constants: Object.freeze({ ...DEFAULT_CONSTANTS, ...MEASURED_FIT.constants }),
  fit: Object.freeze({
    source: `${MEASURED_FIT.source} (measured ${MEASURED_FIT.measured.slice(0, 10)}, ${String(MEASURED_FIT.runs)} run(s) per rung)`,
    observations: MEASURED_FIT.observations,
    fitted: [...MEASURED_FIT.fitted] as Array<keyof RuntimeConstants>,
    unexercised: [...MEASURED_FIT.unexercised] as Array<keyof RuntimeConstants>,
    pinned: [...MEASURED_FIT.pinned] as Array<keyof RuntimeConstants>,
    rms_relative_error: MEASURED_FIT.rms_relative_error,
    max_relative_error: MEASURED_FIT.max_relative_error,
  }),
}) as Calibration;

/** The documented constants: live bytes, no allocator retention; with the documented data they reproduce the original fix's table. */
export const DOCUMENTED_CALIBRATION: Calibration = Object.freeze({
  version: 1,
  constants: Object.freeze({ ...DEFAULT_CONSTANTS }),
}) as Calibration;
