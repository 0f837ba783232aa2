// The harness's public surface (`cellbudget/harness`): scenarios replayed in measuring
// children, commands and logs measured, budgets, the projection, reports. A named export
// list; importing it starts nothing (no process, no WebAssembly, no file).
export { loadScenarios, resolveScenarioPath, shippedScenarioNames, scenariosDir } from './run/scenarios.js';
export type { Budgets, BuiltinScenario, CommandScenario, DatasetDef, Scenario } from './run/scenarios.js';
export { runScenarios, plannedRuns, defaultCacheDir, MEASUREMENT_ENV, MEASUREMENT_NODE_ARGS, DEFAULT_JOBS } from './run/run.js';
export type { RunScenariosOptions, PlannedRun } from './run/run.js';
export { preflight, formatPreflight } from './run/preflight.js';
export type { PreflightOptions, PreflightResult, RunEstimate } from './run/preflight.js';
export { evaluateBudgets, parseBudgetFlags, peakStep } from './report/budgets.js';
export { planLadder, parseLadderFlag, DEFAULT_LADDER } from './run/ladder.js';
export { withProjection, projectionOf, stepProjectionOf } from './report/projection.js';
export type { LadderSpec, LadderPlan } from './run/ladder.js';
export { localExecutor } from './run/executor.js';
export type { Executor, ExecutorHooks, ChildRunSpec, ChildRunOutcome } from './run/executor.js';
export { slurmExecutor } from './slurm/executor.js';
export type { SlurmSettings } from './slurm/executor.js';
export { loadSettings, SETTINGS_FILE } from './api/settings.js';
export { runCommandScenario } from './command/command.js';
export type { CommandSpec, CommandRunOptions, CommandRunRecord, CommandStepRecord, CommandBaseline } from './command/command.js';
export { ingestLog, ingestReport } from './command/ingest.js';
export type { IngestOptions, IngestedRunRecord, IngestedStepRecord } from './command/ingest.js';
export { parseMarker } from './command/markers.js';
export type { Marker, MemoryMarker, StepMarker } from './command/markers.js';
export { runChild, defaultChildEntry, measuredRunFields } from './process/spawn.js';
export type { RunChildOptions, ChildRunResult, ChildFailure, FailureKind, MemoryCap } from './process/spawn.js';
export type { ChildJob, JobContext, JobFunction, ChildMessage, BaselineRecord } from './process/protocol.js';
export {
  renderCharts,
  renderChartPng,
  reportChartSpecs,
  timelineSpec,
  timelineSeriesFromRun,
  scenarioTimelineSpec,
  peakFinalSpec,
  familySpecs,
  chartConfigFromSpec,
  strategyColor,
} from './report/charts.js';
export type { ChartSpec, LinesSpec, BarsSpec, TimelineInput, TimelineSeries, TimelinePoint } from './report/charts.js';
export { renderHtml } from './report/html.js';
export { renderMarkdown } from './report/markdown.js';
export { renderJunit } from './report/junit.js';
export { compareReports, formatComparison, loadReport, checkReport, medianRuns } from './report/compare.js';
export type { Comparison, ComparisonRow, CompareOptions, MetricDelta, Tier } from './report/compare.js';
export { writeReportDir, writeFileAtomic } from './report/write-report.js';
export type { WriteReportOptions, WrittenReport } from './report/write-report.js';
export { createProgress, progressWanted } from './run/progress.js';
export type { Progress, ProgressState, ProgressOptions } from './run/progress.js';
