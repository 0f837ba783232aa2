// The pipeline's public surface (re-exported by src/index.ts).
export { parsePipelineConfig, parseDataManagerConfig, flagColumn } from './config.js';
export type { DataManagerConfig, SplitConfig, PipelineConfig, DerivedFlag } from './config.js';
export { RandomState } from './random.js';
export { pyRound, roundShare } from './round.js';
export { planGroups, materialize, copyDistributions, sourceRows, prepareData, groupedBytes, planBytes, nSrc, nTgt } from './grouping.js';
export type { GroupPlan, GroupedDistribution, DistributionCopy, RowReader, MaterializeSelect, MaterializeOptions } from './grouping.js';
export { assignSplits, splitGrouped, splitDigest, copyDigest, splitBytes, splitSizes } from './splitter.js';
export type { SplitAssignment, DistributionSplit } from './splitter.js';
export { buildManifest } from './manifest.js';
export type { SplitManifest, SplitManifestEntry } from './manifest.js';
export { loadDataset } from './load.js';
export type { LoadedDataset } from './load.js';
export { memorySource, matrixBytes, obsColumnBytes } from './source-memory.js';
export type { MemorySourceSpec } from './source-memory.js';
