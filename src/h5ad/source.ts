/** `openH5ad`: a DatasetSource over an h5ad file, holding one h5wasm handle until close(). */
import { CellbudgetError } from '../core/errors.js';
import type { DatasetSource, DenseMatrix, DirectRegion, Embeddings, FloatArray, Matrix, MatrixInfo, ObsColumn } from '../core/data.js';
import { H5File } from './file.js';
import { directRegion, matrixInfo, readMatrix, readRows } from './matrix.js';
import { obsLayout, obsRowCount, readObsColumn, readObsIndex, readObsIndexRange } from './obs.js';
import { readEmbeddings, unsKeys } from './uns.js';

class H5adSource implements DatasetSource {
  readonly name: string;
  readonly nObs: number;
  private readonly columns: readonly string[];
  private file: H5File | null;

  constructor(file: H5File) {
    this.file = file;
    this.name = file.path;
    this.columns = obsLayout(file).columns;
    this.nObs = obsRowCount(file);
  }

  private f(): H5File {
    if (this.file === null) {
      throw new CellbudgetError('USAGE', `${this.name} was already closed.`, { file: this.name, hint: 'Open it again with openH5ad().' });
    }
    return this.file;
  }

  obsColumnNames(): readonly string[] {
    return this.columns;
  }

  readObsColumn(name: string): ObsColumn {
    return readObsColumn(this.f(), name);
  }

  readObsIndex(): readonly string[] {
    return readObsIndex(this.f());
  }

  readObsIndexRange(start: number, end: number): readonly string[] {
    return readObsIndexRange(this.f(), start, end);
  }

  unsKeys(): readonly string[] {
    return unsKeys(this.f());
  }

  readEmbeddings(key: string): Embeddings {
    return readEmbeddings(this.f(), key);
  }

  matrixInfo(location: readonly string[]): MatrixInfo {
    return matrixInfo(this.f(), location);
  }

  readRows(location: readonly string[], start: number, end: number, out?: FloatArray): DenseMatrix {
    return readRows(this.f(), location, start, end, out);
  }

  readMatrix(location: readonly string[]): Matrix {
    return readMatrix(this.f(), location);
  }

  directRegion(location: readonly string[]): DirectRegion | null {
    return directRegion(this.f(), location);
  }

  close(): void {
    this.file?.close();
    this.file = null;
  }
}

/**
 * Open an h5ad file as a DatasetSource. The file is validated first (exists, HDF5, not
 * truncated) and stays open until `close()`; call it in a finally.
 */
export function openH5ad(path: string): DatasetSource {
  const f = H5File.open(path);
  try {
    return new H5adSource(f);
  } catch (e) {
    f.close();
    throw e;
  }
}

/** Open `path` as a DatasetSource, run `fn`, and close it whatever happens. */
export function withH5ad<T>(path: string, fn: (src: DatasetSource) => T): T {
  const src = openH5ad(path);
  try {
    return fn(src);
  } finally {
    src.close();
  }
}
