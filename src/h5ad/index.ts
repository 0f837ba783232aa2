// The h5ad reader and writer (`cellbudget/h5ad`): HDF5's WebAssembly module loads on the
// first `await h5Ready()` (the writer's, on the first `synthesize`), not on import.
export { H5File, withH5, validateHdf5File, wasmHeapBytes, reserveWasmHeap, WINDOW_BYTES, h5Ready, h5Loaded, h5wasmBinary } from './file.js';
export { openH5ad, withH5ad } from './source.js';
export { matrixInfo, readRows, readMatrix, listMatrixLocations, locationName } from './matrix.js';
export type { ReadOptions } from './matrix.js';
export { readObsColumn, readObsIndex, summarizeObsColumn, obsLayout, obsRowCount } from './obs.js';
export type { ObsColumnSummary } from './obs.js';
export { readEmbeddings, unsKeys } from './uns.js';
export { inspectH5ad, formatInspect } from './inspect.js';
export type { InspectReport, InspectMatrix } from './inspect.js';
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
} from './synth.js';
export type { SynthSpec, SynthOptions, SynthProgress, SynthResult, SynthLocation, SynthObs, SynthPhase } from './synth.js';
