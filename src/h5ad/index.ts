// Public API of the h5ad reader.
export { H5File, withH5, validateHdf5File, wasmHeapBytes, reserveWasmHeap, WINDOW_BYTES } from './file.js';
export { openH5ad, withH5ad } from './source.js';
export { matrixInfo, readRows, readMatrix, listMatrixLocations, locationName } from './matrix.js';
export type { ReadOptions } from './matrix.js';
export { readObsColumn, readObsIndex, summarizeObsColumn, obsLayout, obsRowCount } from './obs.js';
export type { ObsColumnSummary } from './obs.js';
export { readEmbeddings, unsKeys } from './uns.js';
export { inspectH5ad, formatInspect } from './inspect.js';
export type { InspectReport, InspectMatrix } from './inspect.js';
