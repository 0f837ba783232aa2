// The public surface of cellbudget: a named export list of the library (src/), plus the
// harness's own public surface (`cellbudget/harness`) re-exported whole at the end.
export { CellbudgetError, isCellbudgetError } from './core/errors.js';
export type { ErrorCode, ErrorDetails } from './core/errors.js';
export { parseBytes, formatBytes, parsePercent } from './core/units.js';
export type {
  DatasetSource,
  DenseMatrix,
  CsrMatrix,
  Matrix,
  MatrixInfo,
  ObsColumn,
  ObsColumnKind,
  Label,
  Embeddings,
  FloatArray,
  FloatDtype,
} from './core/data.js';
export { VERSION } from '../harness/report/version.js';
export { reportSchema, calibrationReportSchema, calibrationView } from './core/report.js';
export type {
  Report,
  RunRecord,
  StepRecord,
  BudgetResult,
  Projection,
  ScenarioSummary,
  CalibrationReport,
  MeasureMethod,
} from './core/report.js';
export { scenarioModel, expandedScenario, builtinScenarioSchema, datasetSchema, syntheticSchema } from './scenario/model.js';
export type { ScenarioModel, BuiltinScenario, CommandScenario, Scenario, DatasetDef, Budgets } from './scenario/model.js';
export { scaleSynthetic, SYNTHETIC_DEFAULTS } from './scenario/synthetic.js';
export type { SyntheticSpec, ScaledSynthetic } from './scenario/synthetic.js';
export { openH5ad, withH5ad, withH5, H5File, wasmHeapBytes, inspectH5ad, h5Ready, h5Loaded } from './h5ad/index.js';
export {
  parsePipelineConfig,
  parseDataManagerConfig,
  RandomState,
  pyRound,
  planGroups,
  materialize,
  prepareData,
  groupedBytes,
  planBytes,
  assignSplits,
  splitGrouped,
  splitDigest,
  splitBytes,
  splitSizes,
  buildManifest,
  loadDataset,
  memorySource,
} from './pipeline/index.js';
export type {
  DataManagerConfig,
  SplitConfig,
  PipelineConfig,
  DerivedFlag,
  GroupPlan,
  GroupedDistribution,
  RowReader,
  MaterializeSelect,
  SplitAssignment,
  DistributionSplit,
  SplitManifest,
  LoadedDataset,
  MemorySourceSpec,
} from './pipeline/index.js';
export {
  synthesize,
  resolveSynthSpec,
  cellsForSize,
  representationBytes,
  synthSpecKey,
  synthOptionsOf,
  SynthGenerator,
  SYNTH_DEFAULTS,
  SYNTH_FORMAT_VERSION,
} from './h5ad/synth.js';
export { nnzPerRow } from './scenario/synthetic.js';
export type {
  SynthSpec,
  SynthOptions,
  SynthProgress,
  SynthResult,
  SynthLocation,
  SynthFormat,
  SynthObs,
  SynthPhase,
} from './h5ad/synth.js';
export {
  simulate,
  strategySteps,
  keepSet,
  evaluate,
  DEFAULT_CONSTANTS,
  CONSTANT_NAMES,
  syntheticDataset,
  syntheticStructure,
  documentedStructure,
  validateDataset,
  rowBytes,
  modelGroupedBytes,
  modelKeptBytes,
  datasetsFromScenario,
  datasetFromSpec,
  structureFromCounts,
  structureFromPlan,
  ratioStructure,
  fromFacts,
  splitSpecOf,
  modelSectionSchema,
  predictRun,
  simulateForRun,
  observationsFromReport,
  scenarioOfRun,
  measuredRealData,
  fitConstants,
  parseCalibration,
  defaultCalibration,
  MEASURED_CALIBRATION,
  DOCUMENTED_CALIBRATION,
  planNodes,
  bestOrder,
  sbatchMem,
  requiredWithHeadroom,
  assertSomethingFits,
} from './simulator/index.js';
export type {
  RuntimeConstants,
  Features,
  SimStep,
  SimResult,
  SimOptions,
  DatasetModel,
  SplitStructure,
  SplitSpec,
  SyntheticShape,
  FileFacts,
  ScenarioLike,
  ModelSection,
  DatasetsOptions,
  PredictedStep,
  PredictInput,
  PredictOptions,
  ReportObservations,
  Calibration,
  Observation,
  Plan,
  PlanOptions,
  StrategyPlan,
  NodeFit,
} from './simulator/index.js';
export {
  StepRecorder,
  stepLabel,
  memoryLine,
  createPeakProbe,
  RssSampler,
  GcMeter,
  forceGc,
  gcExposed,
  takeSnapshot,
  measureBaseline,
  checkLeak,
  growthPerRepetition,
  retainedBytes,
  topGrowingTypes,
  kernelHwmAvailable,
} from './memory/index.js';
export type {
  StepRecorderOptions,
  CreateStepRecorderOptions,
  StepStart,
  PeakProbe,
  PeakReading,
  MethodChoice,
  MemorySnapshot,
  Baseline,
  WasmBytesFn,
  GcSummary,
  CheckLeakOptions,
  LeakResult,
  GrowingType,
} from './memory/index.js';
// The harness's names, as `cellbudget/harness` lists them: that entry's list is the one copy. A
// wholesale re-export is safe here because what it re-exports is itself a curated, named list
// (harness/index.ts), not a module's internals; a name this list also gives (the scenario types)
// is the same declaration, and the explicit export takes precedence over the star.
export * from '../harness/index.js';
