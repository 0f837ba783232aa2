/**
 * A rung of a real h5ad file: the whole conditions `selectConditions` chooses from its obs
 * (src/scenario/subsample.ts), written as a new h5ad by `writeRowSubset` (./subset.ts).
 * docs/your-own-files.md tells the user's side of it.
 */
import { selectConditions, type ConditionKeys, type ConditionSelection } from '../scenario/subsample.js';
import { h5Ready } from './file.js';
import { openH5ad } from './source.js';
import { writeRowSubset, type SubsetProgress, type SubsetResult } from './subset.js';

export interface RungProgress extends Omit<SubsetProgress, 'phase'> {
  /** `select`: reading obs and choosing the conditions; then the writer's phases. */
  readonly phase: 'select' | SubsetProgress['phase'];
}

export interface RungWriteResult {
  readonly selection: ConditionSelection;
  readonly written: SubsetResult;
  /**
   * Kept / all bytes of the file's obs-aligned matrices once loaded (X, obsm, layers, obsp,
   * raw/X; dense rows x columns x item size, sparse data + indices + indptr): the byte
   * counterpart of `selection.reachedScale`.
   */
  readonly reachedBytesScale: number;
}

/** Kept bytes / all bytes over `matrices`; the cell fraction when there is none. */
export function bytesScale(written: Pick<SubsetResult, 'matrices'>, cellsScale: number): number {
  const full = written.matrices.reduce((a, m) => a + m.fullBytes, 0);
  const kept = written.matrices.reduce((a, m) => a + m.keptBytes, 0);
  return full > 0 ? kept / full : cellsScale;
}

/**
 * Choose the rows of a rung of `sourcePath` at `scale` (whole conditions by `keys`) and write
 * them to `outPath`. obs's key columns are read whole (they decide the rows); the matrices are
 * streamed in bounded windows.
 */
export async function writeRung(
  sourcePath: string,
  keys: ConditionKeys,
  scale: number,
  outPath: string,
  onProgress?: (p: RungProgress) => void,
  opts: { windowBytes?: number } = {},
): Promise<RungWriteResult> {
  await h5Ready();
  onProgress?.({ phase: 'select', done: 0, total: 0 });
  const source = openH5ad(sourcePath);
  let selection: ConditionSelection;
  try {
    selection = selectConditions(source, keys, scale);
  } finally {
    source.close();
  }
  const written = await writeRowSubset(sourcePath, selection.rows, outPath, {
    ...(opts.windowBytes !== undefined ? { windowBytes: opts.windowBytes } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  return { selection, written, reachedBytesScale: bytesScale(written, selection.reachedScale) };
}
