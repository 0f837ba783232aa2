/**
 * The report format (report.json). Snake_case keys: it is read by CI scripts and other
 * languages. All *_bytes figures measured here are net of the child's idle baseline;
 * budgets compare at full scale, on the projection from the scale ladder (`projected`).
 */
import type { Split, StepName, StrategyName } from './names.js';

/** How per-step peaks were measured. */
export type MeasureMethod =
  /** Linux: `5` → /proc/<pid>/clear_refs at step start, VmHWM at step end. */
  | 'kernel-hwm'
  /** Elsewhere: RSS sampled every ~10 ms; spikes between samples can be missed. */
  | 'sampled-rss'
  /** issue 8: a command's own figures (VmHWM of the process; children summed as an upper bound). */
  | 'kernel-hwm-command'
  /** issue 8: `cellbudget ingest` of a script's memory log: the "Used" figure printed at each marker (a sample, not a kernel peak). */
  | 'ingested-log';

export interface StepRecord {
  /** Dataset the step acts on; null for whole-run steps. */
  dataset: string | null;
  name: StepName | string;
  /** Human label for charts, e.g. "load dataset_2". */
  label: string;
  /** Milliseconds since the run started. */
  start_ms: number;
  end_ms: number;
  /** Highest resident memory during the step, net of baseline. */
  peak_bytes: number;
  /** Resident memory at the end of the step, net of baseline. */
  end_bytes: number;
  /** V8 heap used / external / ArrayBuffers / WebAssembly memory at step end (absolute). */
  heap_used_bytes: number;
  external_bytes: number;
  array_buffers_bytes: number;
  wasm_bytes: number;
  /** Byte length of everything the pipeline still references at step end. */
  live_bytes: number;
  /** GCs during the step (node-memwatch stats) and their total pause. */
  gc_count: number;
  gc_pause_ms: number;
  /** Repetition index (0-based) when a scenario repeats. */
  repetition?: number;
  /** The simulator's prediction for this step (issue 6), net of baseline. */
  predicted_peak_bytes?: number;
  predicted_end_bytes?: number;
  /** (predicted − measured) / measured, for the step's peak and end. */
  predicted_peak_error?: number;
  predicted_end_error?: number;
  /** This step at full scale, fitted over the ladder's rungs (`final_bytes` is the step's end). */
  projected?: Projection;
}

/** [low, high] at full scale. */
export type Interval = [number, number];

/** One figure's fit over the ladder: fixed + scale × proportional. */
export interface FigureFit {
  fixed_bytes: number;
  proportional_bytes: number;
  /** rms of (reading − fit) over the rungs, relative to the top rung's figure. */
  residual: number;
  /** The slope was raised to that of the live bytes the figure holds (src/projection.ts). */
  constrained: boolean;
}

/**
 * A figure set at full scale (DESIGN §7). `ladder`: fitted as fixed + scale × proportional
 * over the rungs; `measured`: the run is at scale 1; `single-rung`: one scale only (a command,
 * an ingested log, `ladder: off`), so the fixed part cannot be told apart: the figure is
 * measured ÷ scale, the interval the repeat noise ÷ scale, and outputs say so.
 */
export interface Projection {
  peak_bytes: number;
  /** The run's final figure; for a step, its end. */
  final_bytes: number;
  /** Bytes the pipeline still references (the run's final live bytes; a step's at its end). */
  kept_bytes: number;
  /** The peak's fixed part (what does not grow with the data). */
  fixed_bytes: number;
  /** The scales fitted, largest first. */
  scales: number[];
  /** The largest relative residual of the peak, final and kept fits. */
  residual: number;
  interval: { peak: Interval; final: Interval; kept: Interval };
  method: 'ladder' | 'measured' | 'single-rung';
  /** False when a fit's residual says the ladder is not a line; its figures are then not to be trusted. */
  linear: boolean;
  fit?: { peak: FigureFit; final: FigureFit; kept: FigureFit };
  /** Projected leak growth per repetition, when the scenario repeats. */
  leak_growth_bytes?: number;
  leak_interval?: Interval;
}

/** What one rung of a ladder measured (a fresh child at that scale). */
export interface RungRecord {
  scale: number;
  status: 'ok' | 'died' | 'error';
  /** Which of `--runs N` it belongs to (0-based). */
  run?: number;
  peak_bytes: number;
  final_bytes: number;
  final_live_bytes: number;
  baseline_bytes: number;
  duration_ms: number;
  steps: Array<{ peak_bytes: number; end_bytes: number; live_bytes: number }>;
  leak_growth_bytes?: number;
  failure?: string;
  /** Where the rung was measured (as a run's `executor`, `job_id`, `node`, `requested_memory_bytes`). */
  executor?: 'local' | 'slurm';
  job_id?: string;
  node?: string;
  requested_memory_bytes?: number;
}

/** The ladder behind a run's projection. */
export interface LadderRecord {
  /** Scales measured, largest first; the run's own figures are those at its `scale`. */
  scales: number[];
  rungs: RungRecord[];
  /** Rungs the ladder left out or added, and why. */
  notes?: string[];
}

/**
 * The in-process figures of a step seen from outside the process (a command, a log):
 * heap, external, ArrayBuffers, wasm, live bytes and GCs are not observable there.
 */
export const NO_IN_PROCESS_FIGURES = {
  heap_used_bytes: 0,
  external_bytes: 0,
  array_buffers_bytes: 0,
  wasm_bytes: 0,
  live_bytes: 0,
  gc_count: 0,
  gc_pause_ms: 0,
} as const satisfies Partial<StepRecord>;

/** Whether a run knows its live bytes: only the in-process strategies do, not commands or logs. */
export function liveBytesKnown(run: Pick<RunRecord, 'method'>): boolean {
  return run.method === 'kernel-hwm' || run.method === 'sampled-rss';
}

/** (predicted − measured) / measured; undefined when nothing was measured. */
export function relativeError(predicted: number, measured: number): number | undefined {
  return measured === 0 ? undefined : (predicted - measured) / Math.abs(measured);
}

export type BudgetMetric = 'peak' | 'final' | 'leak';

export interface BudgetResult {
  metric: BudgetMetric;
  /** Full-scale limit as written in the scenario or on the command line. */
  limit_bytes: number;
  /** Full-scale figure: the projection (`projected`). */
  actual_bytes: number;
  /** The projection's interval. */
  interval?: Interval;
  /**
   * ok: the whole interval is within the limit; exceeded: all of it is over (exit 1);
   * uncertain: it straddles the limit, or the ladder is not linear (a warning; `--strict` fails).
   */
  verdict?: 'ok' | 'exceeded' | 'uncertain';
  /** False only when exceeded. */
  ok: boolean;
  /** Step where the metric was reached, e.g. "prepare dataset_2". */
  step?: string;
  message?: string;
}

/** SHA-256 digests of each kept split, per dataset. */
export type RetainedDigests = Record<string, Partial<Record<Split, string>>>;

export interface RunRecord {
  scenario: string;
  strategy: StrategyName | 'command';
  scale: number;
  method: MeasureMethod;
  status: 'ok' | 'died' | 'error';
  /** When status is not ok: what happened, the step it happened in, the last figures seen. */
  failure?: {
    reason: string;
    step?: string;
    signal?: string | null;
    exit_code?: number | null;
    stderr_tail?: string;
    /** A cellbudget error code when the run failed on bad input (the CLI then exits 2). */
    code?: string;
  };
  baseline_bytes: number;
  peak_bytes: number;
  final_bytes: number;
  /** Live bytes at the end: what the pipeline keeps. */
  final_live_bytes: number;
  duration_ms: number;
  /** Processing order when it differs from the listed one (`order: auto`); the first listed dataset is the primary. */
  order?: string[];
  steps: StepRecord[];
  budgets: BudgetResult[];
  retained: RetainedDigests;
  /** RSS samples [ms since start, bytes net of baseline] for timelines. */
  samples: Array<[number, number]>;
  /** Allocator/environment variables that were set for the child. */
  env: Record<string, string>;
  /** Leak check when repeat > 1. */
  leak?: { repetitions: number; growth_per_repetition_bytes: number; limit_bytes: number; ok: boolean; top_growing?: Array<{ what: string; size_bytes: number; count: number }> };
  predicted_peak_bytes?: number;
  predicted_final_bytes?: number;
  /** (predicted − measured) / measured for the run's peak and final. */
  predicted_peak_error?: number;
  predicted_final_error?: number;
  /** Where the run was measured: a child of the harness (`local`) or a Slurm job (`slurm`). Absent in older reports: local. */
  executor?: 'local' | 'slurm';
  /** Slurm: the job's id (`123`, or `123_4` for an array task). */
  job_id?: string;
  /** Slurm: the node the job ran on. */
  node?: string;
  /** Slurm: the memory the job requested (`--mem`), bytes. */
  requested_memory_bytes?: number;
  /** The run at full scale (what budgets, tables and charts use). */
  projected?: Projection;
  /** The rungs behind `projected`. */
  ladder?: LadderRecord;
  /** Measured ÷ scale, for diagnosis only: it multiplies the fixed part by 1/scale. */
  naive_full_scale?: { peak_bytes: number; final_bytes: number };
}

export interface ReportEnvironment {
  node: string;
  platform: string;
  kernel: string;
  arch: string;
  cpus: number;
  total_memory_bytes: number;
  method: MeasureMethod;
  cellbudget: string;
}

export interface ScenarioSummary {
  name: string;
  scale: number;
  /** The scenario as written (YAML parsed). */
  definition: unknown;
  /**
   * A built-in scenario as its runs saw it: defaults applied, its family expanded, `--scale`
   * and `--only-dataset` applied (src/scenario/model.ts `expandedScenario`); what the simulator
   * and `calibrate` read. Absent in older reports and for commands.
   */
  expanded?: Record<string, unknown>;
  /** For a family (N datasets), the family name and N. */
  family?: string;
  n_datasets: number;
}

export interface Report {
  version: 1;
  created: string;
  environment: ReportEnvironment;
  /** The constants the runs' model predictions (`predicted_*`) used. */
  calibration?: string;
  scenarios: ScenarioSummary[];
  runs: RunRecord[];
}
