/**
 * The report format (report.json), as zod schemas with the types inferred from them: what the
 * harness writes and what every reader (compare, calibrate, simulate --report) checks a file
 * against. Snake_case keys: it is read by CI scripts and other languages. All *_bytes figures
 * measured here are net of the child's idle baseline; budgets compare at full scale, on the
 * projection from the scale ladder (`projected`).
 */
import { z } from 'zod';
import { EXECUTOR_NAMES, SPLITS, STRATEGY_NAMES, type ExecutorName, type Split, type StrategyName } from './names.js';

const num = z.number();
const opt = <T extends z.ZodType>(t: T) => t.exactOptional();
const executor = z.enum(EXECUTOR_NAMES as unknown as [ExecutorName, ...ExecutorName[]]);

/** How per-step peaks were measured; what each method's figures are, in words: METHOD_TEXT in ./methods.ts. */
export const measureMethodSchema = z.enum(['kernel-hwm', 'sampled-rss', 'kernel-hwm-command', 'ingested-log']);
export type MeasureMethod = z.infer<typeof measureMethodSchema>;

/** [low, high] at full scale. */
export const intervalSchema = z.tuple([num, num]);
export type Interval = z.infer<typeof intervalSchema>;

/** One figure's fit over the ladder: fixed + scale × proportional. */
export const figureFitSchema = z.object({
  fixed_bytes: num,
  proportional_bytes: num,
  /** rms of (reading − fit) over the rungs, relative to the top rung's figure. */
  residual: num,
  /** The slope was raised to that of the live bytes the figure holds (src/core/projection.ts). */
  constrained: z.boolean(),
});
export type FigureFit = z.infer<typeof figureFitSchema>;

/**
 * A figure set at full scale (docs/measurement.md#the-scale-ladder). `ladder`: fitted as fixed + scale × proportional
 * over the rungs; `measured`: the run is at scale 1; `single-rung`: one scale only (a command,
 * an ingested log, `ladder: off`), so the fixed part cannot be told apart: the figure is
 * measured ÷ scale, the interval the repeat noise ÷ scale, and outputs say so.
 */
export const projectionSchema = z.object({
  peak_bytes: num,
  /** The run's final figure; for a step, its end. */
  final_bytes: num,
  /** Bytes the pipeline still references (the run's final live bytes; a step's at its end). */
  kept_bytes: num,
  /** The peak's fixed part (what does not grow with the data). */
  fixed_bytes: num,
  /** The scales fitted, largest first. */
  scales: z.array(num),
  /** The largest relative residual of the peak, final and kept fits. */
  residual: num,
  interval: z.object({ peak: intervalSchema, final: intervalSchema, kept: intervalSchema }),
  method: z.enum(['ladder', 'measured', 'single-rung']),
  /** False when a fit's residual says the ladder is not a line; its figures are then not to be trusted. */
  linear: z.boolean(),
  fit: opt(z.object({ peak: figureFitSchema, final: figureFitSchema, kept: figureFitSchema })),
  /** Projected leak growth per repetition, when the scenario repeats. */
  leak_growth_bytes: opt(num),
  leak_interval: opt(intervalSchema),
});
export type Projection = z.infer<typeof projectionSchema>;

export const stepRecordSchema = z.object({
  /** Dataset the step acts on; null for whole-run steps. */
  dataset: z.string().nullable(),
  /** A StepName for the built-in strategies; a command's or a log's steps may have others. */
  name: z.string(),
  /** Human label for charts, e.g. "load dataset_2". */
  label: z.string(),
  /** Milliseconds since the run started. */
  start_ms: num,
  end_ms: num,
  /** Highest resident memory during the step, net of baseline. */
  peak_bytes: num,
  /** Resident memory at the end of the step, net of baseline. */
  end_bytes: num,
  /** V8 heap used / external / ArrayBuffers / WebAssembly memory at step end (absolute). */
  heap_used_bytes: num,
  external_bytes: num,
  array_buffers_bytes: num,
  wasm_bytes: num,
  /** Byte length of everything the pipeline still references at step end. */
  live_bytes: num,
  /** GCs during the step and their total pause. */
  gc_count: num,
  gc_pause_ms: num,
  /** Repetition index (0-based) when a scenario repeats. */
  repetition: opt(num),
  /** The simulator's prediction for this step, net of baseline. */
  predicted_peak_bytes: opt(num),
  predicted_end_bytes: opt(num),
  /** (predicted − measured) / measured, for the step's peak and end. */
  predicted_peak_error: opt(num),
  predicted_end_error: opt(num),
  /** This step at full scale, fitted over the ladder's rungs (`final_bytes` is the step's end). */
  projected: opt(projectionSchema),
});
export type StepRecord = z.infer<typeof stepRecordSchema>;

const runStatus = z.enum(['ok', 'died', 'error']);

/** What one rung of a ladder measured (a fresh child at that scale). */
export const rungRecordSchema = z.object({
  scale: num,
  status: runStatus,
  /** Which of `--runs N` it belongs to (0-based). */
  run: opt(num),
  peak_bytes: num,
  final_bytes: num,
  final_live_bytes: num,
  baseline_bytes: num,
  duration_ms: num,
  steps: z.array(z.object({ peak_bytes: num, end_bytes: num, live_bytes: num })),
  leak_growth_bytes: opt(num),
  failure: opt(z.string()),
  /** Where the rung was measured (as a run's `executor`, `job_id`, `node`, `requested_memory_bytes`). */
  executor: opt(executor),
  job_id: opt(z.string()),
  node: opt(z.string()),
  requested_memory_bytes: opt(num),
});
export type RungRecord = z.infer<typeof rungRecordSchema>;

/** The ladder behind a run's projection. */
export const ladderRecordSchema = z.object({
  /** Scales measured, largest first; the run's own figures are those at its `scale`. */
  scales: z.array(num),
  rungs: z.array(rungRecordSchema),
  /** Rungs the ladder left out or added, and why. */
  notes: opt(z.array(z.string())),
});
export type LadderRecord = z.infer<typeof ladderRecordSchema>;

export const budgetMetricSchema = z.enum(['peak', 'final', 'leak']);
export type BudgetMetric = z.infer<typeof budgetMetricSchema>;

export const budgetResultSchema = z.object({
  metric: budgetMetricSchema,
  /** Full-scale limit as written in the scenario or on the command line. */
  limit_bytes: num,
  /** Full-scale figure: the projection (`projected`). */
  actual_bytes: num,
  /** The projection's interval. */
  interval: opt(intervalSchema),
  /**
   * ok: the whole interval is within the limit; exceeded: all of it is over (exit 1);
   * uncertain: it straddles the limit, or the ladder is not linear (a warning; `--strict` fails).
   */
  verdict: opt(z.enum(['ok', 'exceeded', 'uncertain'])),
  /** False only when exceeded. */
  ok: z.boolean(),
  /** Step where the metric was reached, e.g. "prepare dataset_2". */
  step: opt(z.string()),
  message: opt(z.string()),
});
export type BudgetResult = z.infer<typeof budgetResultSchema>;

/** SHA-256 digests of each kept split, per dataset. */
export const retainedDigestsSchema = z.record(z.string(), z.partialRecord(z.enum(SPLITS as [Split, ...Split[]]), z.string()));
export type RetainedDigests = Record<string, Partial<Record<Split, string>>>;

const runStrategy = z.union([z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]]), z.literal('command')]);

export const runRecordSchema = z.object({
  scenario: z.string(),
  strategy: runStrategy,
  scale: num,
  method: measureMethodSchema,
  status: runStatus,
  /** When status is not ok: what happened, the step it happened in, the last figures seen. */
  failure: opt(
    z.object({
      reason: z.string(),
      step: opt(z.string()),
      signal: opt(z.string().nullable()),
      exit_code: opt(num.nullable()),
      stderr_tail: opt(z.string()),
      /** A cellbudget error code when the run failed on bad input (the CLI then exits 2). */
      code: opt(z.string()),
    }),
  ),
  baseline_bytes: num,
  peak_bytes: num,
  final_bytes: num,
  /** Live bytes at the end: what the pipeline keeps. */
  final_live_bytes: num,
  duration_ms: num,
  /** Processing order when it differs from the listed one (`order: auto`); the first listed dataset is the primary. */
  order: opt(z.array(z.string())),
  steps: z.array(stepRecordSchema),
  budgets: z.array(budgetResultSchema),
  retained: retainedDigestsSchema,
  /** RSS samples [ms since start, bytes net of baseline] for timelines. */
  samples: z.array(z.tuple([num, num])),
  /** Allocator/environment variables that were set for the child. */
  env: z.record(z.string(), z.string()),
  /** Leak check when repeat > 1. */
  leak: opt(
    z.object({
      repetitions: num,
      growth_per_repetition_bytes: num,
      limit_bytes: num,
      ok: z.boolean(),
      top_growing: opt(z.array(z.object({ what: z.string(), size_bytes: num, count: num }))),
    }),
  ),
  predicted_peak_bytes: opt(num),
  predicted_final_bytes: opt(num),
  /** (predicted − measured) / measured for the run's peak and final. */
  predicted_peak_error: opt(num),
  predicted_final_error: opt(num),
  /** Where the run was measured: a child of the harness (`local`) or a Slurm job (`slurm`). Absent in older reports: local. */
  executor: opt(executor),
  /** Slurm: the job's id (`123`, or `123_4` for an array task). */
  job_id: opt(z.string()),
  /** Slurm: the node the job ran on. */
  node: opt(z.string()),
  /** Slurm: the memory the job requested (`--mem`), bytes. */
  requested_memory_bytes: opt(num),
  /** The run at full scale (what budgets, tables and charts use). */
  projected: opt(projectionSchema),
  /** The rungs behind `projected`. */
  ladder: opt(ladderRecordSchema),
  /** Measured ÷ scale, for diagnosis only: it multiplies the fixed part by 1/scale. */
  naive_full_scale: opt(z.object({ peak_bytes: num, final_bytes: num })),
  /**
   * What the pipeline warned about that is not an error, each once, as `<dataset>: <text>`
   * (an empty test split, as the reference makes it), gathered over the run's rungs. Absent
   * in older reports and when there was nothing to say.
   */
  warnings: opt(z.array(z.string())),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

export const reportEnvironmentSchema = z.object({
  node: z.string(),
  platform: z.string(),
  kernel: z.string(),
  arch: z.string(),
  cpus: num,
  total_memory_bytes: num,
  method: measureMethodSchema,
  cellbudget: z.string(),
});
export type ReportEnvironment = z.infer<typeof reportEnvironmentSchema>;

export const scenarioSummarySchema = z.object({
  name: z.string(),
  scale: num,
  /** The scenario as written (YAML parsed). */
  definition: z.unknown(),
  /**
   * A built-in scenario as its runs saw it: defaults applied, its family expanded, `--scale`
   * and `--only-dataset` applied (src/scenario/model.ts `expandedScenario`); what the simulator
   * and `calibrate` read. Absent in older reports and for commands.
   */
  expanded: opt(z.record(z.string(), z.unknown())),
  /** For a family (N datasets), the family name and N. */
  family: opt(z.string()),
  n_datasets: num,
});
export type ScenarioSummary = z.infer<typeof scenarioSummarySchema>;

export const reportSchema = z.object({
  version: z.literal(1),
  created: z.string(),
  environment: reportEnvironmentSchema,
  /** The constants the runs' model predictions (`predicted_*`) used. */
  calibration: opt(z.string()),
  scenarios: z.array(scenarioSummarySchema),
  runs: z.array(runRecordSchema),
});
export type Report = z.infer<typeof reportSchema>;

/**
 * What `calibrate` (and `simulate --report`, and the shipped calibration's test fixture) read
 * of a report: each scenario as its runs saw it, each run's steps' peak and end (and their
 * projections), its rungs', where it ran and what was predicted. `calibrationView` keeps just
 * these fields: test/fixtures/simulator/measured-report.json is one.
 */
export const calibrationReportSchema = z.object({
  note: opt(z.string()),
  created: opt(z.string()),
  scenarios: z.array(
    scenarioSummarySchema.pick({ name: true, scale: true, definition: true, expanded: true, family: true, n_datasets: true }),
  ),
  runs: z.array(
    z.object({
      scenario: z.string(),
      strategy: runStrategy,
      scale: num,
      method: measureMethodSchema,
      status: runStatus,
      peak_bytes: num,
      final_bytes: num,
      order: opt(z.array(z.string())),
      steps: z.array(
        stepRecordSchema.pick({ dataset: true, name: true, label: true, peak_bytes: true, end_bytes: true, repetition: true }).extend({
          projected: opt(projectionSchema.pick({ peak_bytes: true, final_bytes: true })),
        }),
      ),
      ladder: opt(
        z.object({
          rungs: z.array(z.object({ scale: num, status: runStatus, steps: z.array(z.object({ peak_bytes: num, end_bytes: num })) })),
        }),
      ),
      projected: opt(projectionSchema.pick({ method: true, peak_bytes: true, final_bytes: true, scales: true })),
      predicted_peak_bytes: opt(num),
      predicted_final_bytes: opt(num),
      executor: opt(executor),
      job_id: opt(z.string()),
      node: opt(z.string()),
    }),
  ),
});
export type CalibrationReport = z.infer<typeof calibrationReportSchema>;

/** A report reduced to what calibration reads (zod drops every other field). */
export function calibrationView(report: unknown): CalibrationReport {
  return calibrationReportSchema.parse(report);
}
