/**
 * "Load a dataset" as the training script does: every obs column, the uns embeddings the
 * rep keys name, and the representation fully in memory. The result is an in-memory
 * DatasetSource, so strategies run `loadDataset → prepareData(config, loaded)`.
 */
import type { DatasetSource, Embeddings, Matrix, ObsColumn } from '../core/data.js';
import { matrixBytes, memorySource, obsColumnBytes } from './source-memory.js';
import type { DataManagerConfig } from './config.js';

export interface LoadedDataset extends DatasetSource {
  /** Bytes held: obs columns, embeddings and the representation. */
  loadedBytes(): number;
  /** The representation as read. */
  readonly matrix: Matrix;
}

/** Read obs, the rep keys' embeddings and the representation of `source` into memory. */
export function loadDataset(source: DatasetSource, config: DataManagerConfig): LoadedDataset {
  const obs: ObsColumn[] = source.obsColumnNames().map((c) => source.readObsColumn(c));
  const uns: Record<string, Embeddings> = {};
  const available = source.unsKeys();
  for (const key of new Set(Object.values(config.rep_keys))) {
    // A missing key is reported by planGroups with the configuration's context.
    if (available.includes(key)) uns[key] = source.readEmbeddings(key);
  }
  const matrix = source.readMatrix(config.data_location);
  const loaded = memorySource({
    name: source.name,
    obs,
    nObs: source.nObs,
    index: source.readObsIndex(),
    matrices: { [config.data_location.join('/')]: matrix },
    uns,
  });
  let bytes = matrixBytes(matrix);
  for (const c of obs) bytes += obsColumnBytes(c);
  for (const e of Object.values(uns)) for (const v of e.values()) bytes += v.byteLength;
  return Object.assign(loaded, { matrix, loadedBytes: () => bytes });
}
