// The simulator's public surface (re-exported by src/index.ts).
export { simulate, strategySteps, keepSet, evaluate, DEFAULT_CONSTANTS, CONSTANT_NAMES } from './simulate.js';
export type { RuntimeConstants, Features, SimStep, SimResult, SimOptions } from './simulate.js';
export {
  syntheticDataset,
  syntheticStructure,
  documentedStructure,
  validateDataset,
  rowBytes,
  groupedBytes as modelGroupedBytes,
  keptBytes as modelKeptBytes,
} from './model.js';
export type { DatasetModel, SplitStructure, SplitSpec, SyntheticShape } from './model.js';
export {
  datasetsFromScenario,
  datasetFromSpec,
  structureFromCounts,
  structureFromPlan,
  ratioStructure,
  fromFacts,
  splitSpecOf,
  modelSectionSchema,
} from './inputs.js';
export type { FileFacts, ScenarioLike, ModelSection, DatasetsOptions } from './inputs.js';
export { predictRun, simulateForRun, observationsFromReport, scenarioOfRun, measuredRealData, fullSizeMeasurements } from './predict.js';
export type { PredictedStep, PredictInput, PredictOptions, ReportObservations } from './predict.js';
export { fitConstants, parseCalibration, defaultCalibration, MEASURED_CALIBRATION, DOCUMENTED_CALIBRATION } from './calibration.js';
export type { Calibration, Observation, FullSizeMeasurement, EarlierPrediction } from './calibration.js';
export { plan as planNodes, bestOrder, sbatchMem, requiredWithHeadroom, assertSomethingFits } from './planner.js';
export type { Plan, PlanOptions, StrategyPlan, NodeFit } from './planner.js';
