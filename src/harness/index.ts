// The harness's public surface (`cellbudget/harness`): scenarios replayed in measuring
// children, commands and logs measured, budgets, the projection, reports. A named export
// list; importing it starts nothing (no process, no WebAssembly, no file).
export { loadScenarios, resolveScenarioPath, shippedScenarioNames, scenariosDir } from './scenario.js';
export type { Budgets, BuiltinScenario, CommandScenario, DatasetDef, Scenario } from './scenario.js';
export { runScenarios, plannedRuns, defaultCacheDir, MEASUREMENT_ENV, MEASUREMENT_NODE_ARGS, DEFAULT_JOBS } from './run.js';
export type { RunScenariosOptions, PlannedRun } from './run.js';
export { preflight, formatPreflight } from './preflight.js';
export type { PreflightOptions, PreflightResult, RunEstimate } from './preflight.js';
export { evaluateBudgets, parseBudgetFlags, peakStep } from './budgets.js';
export { planLadder, withProjection, projectionOf, stepProjectionOf, parseLadderFlag, DEFAULT_LADDER } from './ladder.js';
export type { LadderSpec, LadderPlan } from './ladder.js';
export { localExecutor } from './executor.js';
export type { Executor, ExecutorHooks, ChildRunSpec, ChildRunOutcome } from './executor.js';
export { slurmExecutor } from './slurm-executor.js';
export type { SlurmSettings } from './slurm-executor.js';
export { loadSettings, SETTINGS_FILE } from './settings.js';
export { runCommandScenario } from './command.js';
export type { CommandSpec, CommandRunOptions, CommandRunRecord, CommandStepRecord, CommandBaseline } from './command.js';
export { ingestLog, ingestReport } from './ingest.js';
export type { IngestOptions, IngestedRunRecord, IngestedStepRecord } from './ingest.js';
export { parseMarker } from './markers.js';
export type { Marker, MemoryMarker, StepMarker } from './markers.js';
export { runChild, defaultChildEntry, measuredRunFields } from './spawn.js';
export type { RunChildOptions, ChildRunResult, ChildFailure, FailureKind, MemoryCap } from './spawn.js';
export type { ChildJob, JobContext, JobFunction, ChildMessage, BaselineRecord } from './protocol.js';
export { renderCharts, renderChartPng, reportChartSpecs, timelineSpec, timelineSeriesFromRun, scenarioTimelineSpec, peakFinalSpec, familySpecs, chartConfigFromSpec, strategyColor } from './charts.js';
export type { ChartSpec, LinesSpec, BarsSpec, TimelineInput, TimelineSeries, TimelinePoint } from './charts.js';
export { renderHtml } from './html.js';
export { renderMarkdown } from './markdown.js';
export { renderJunit } from './junit.js';
export { compareReports, formatComparison, loadReport, checkReport, medianRuns } from './compare.js';
export type { Comparison, ComparisonRow, CompareOptions, MetricDelta, Tier } from './compare.js';
export { writeReportDir, writeFileAtomic } from './write-report.js';
export type { WriteReportOptions, WrittenReport } from './write-report.js';
export { createProgress, progressWanted } from './progress.js';
export type { Progress, ProgressState, ProgressOptions } from './progress.js';
