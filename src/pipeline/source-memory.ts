/**
 * A DatasetSource over memory: obs columns, matrices and uns embeddings already in typed
 * arrays. Used by tests and for "loaded" datasets (what a training script holds in memory).
 */
import { CellbudgetError } from '../core/errors.js';
import { allocFloat, itemSize } from '../core/data.js';
import type { DatasetSource, DenseMatrix, Embeddings, FloatArray, Matrix, MatrixInfo, ObsColumn } from '../core/data.js';

export interface MemorySourceSpec {
  readonly name?: string;
  /** obs columns in column order; all of one length. */
  readonly obs: readonly ObsColumn[];
  /** Cell names; defaults to "0", "1", ... */
  readonly index?: readonly string[];
  /** Matrices by location joined with '/', e.g. 'obsm/X_pca', 'X'. */
  readonly matrices?: Readonly<Record<string, Matrix>>;
  /** uns embeddings by key. */
  readonly uns?: Readonly<Record<string, Embeddings>>;
  /** Number of cells when there are no obs columns. */
  readonly nObs?: number;
}

function columnLength(c: ObsColumn): number {
  return c.kind === 'categorical' ? c.codes.length : c.values.length;
}

/** Bytes a matrix holds. */
export function matrixBytes(m: Matrix): number {
  return m.format === 'dense' ? m.data.byteLength : m.data.byteLength + m.indices.byteLength + m.indptr.byteLength;
}

/** Approximate bytes of an obs column (strings at 2 bytes per UTF-16 unit). */
export function obsColumnBytes(c: ObsColumn): number {
  switch (c.kind) {
    case 'categorical':
      return c.codes.byteLength + c.categories.reduce((b: number, l) => b + (typeof l === 'string' ? 2 * l.length : 8), 0);
    case 'boolean':
      return c.values.byteLength;
    case 'numeric':
      return c.values.byteLength;
    case 'nullable-integer':
    case 'nullable-boolean':
      return c.values.byteLength + c.mask.byteLength;
    case 'string':
      return c.values.reduce((b, s) => b + 2 * s.length, 0);
    case 'nullable-string':
      return c.values.reduce((b, s) => b + 2 * s.length, 0) + c.mask.byteLength;
  }
}

/** A DatasetSource over in-memory columns, matrices and embeddings. Nothing is copied. */
export function memorySource(spec: MemorySourceSpec): DatasetSource {
  const name = spec.name ?? '<memory>';
  const first = spec.obs[0];
  const nObs = spec.nObs ?? (first ? columnLength(first) : 0);
  for (const c of spec.obs) {
    if (columnLength(c) !== nObs) throw new RangeError(`obs column '${c.name}' has ${columnLength(c)} rows, expected ${nObs}`);
  }
  const matrices = spec.matrices ?? {};
  const uns = spec.uns ?? {};
  const byName = new Map(spec.obs.map((c) => [c.name, c]));

  const matrix = (location: readonly string[]): Matrix => {
    const key = location.join('/');
    const m = matrices[key];
    if (!m) {
      throw new CellbudgetError(
        'H5AD_MISSING_KEY',
        `${name}: no matrix at ${key}; matrices are: ${Object.keys(matrices).join(', ') || '(none)'}.`,
        {
          file: name,
          key,
          hint: 'Fix data_location in the configuration.',
        },
      );
    }
    return m;
  };

  return {
    name,
    nObs,
    obsColumnNames: () => spec.obs.map((c) => c.name),
    readObsColumn(col: string): ObsColumn {
      const c = byName.get(col);
      if (!c) {
        throw new CellbudgetError(
          'OBS_MISSING_COLUMN',
          `${name}: obs has no column '${col}'; columns are: ${[...byName.keys()].join(', ') || '(none)'}.`,
          {
            file: name,
            key: `obs/${col}`,
            hint: 'Fix the key in the configuration, or add the column to the dataset.',
          },
        );
      }
      return c;
    },
    readObsIndex: () => spec.index ?? Array.from({ length: nObs }, (_, i) => String(i)),
    unsKeys: () => Object.keys(uns),
    readEmbeddings(key: string): Embeddings {
      const e = uns[key];
      if (!e) {
        throw new CellbudgetError(
          'UNS_MISSING_KEY',
          `${name}: uns has no key '${key}'; keys are: ${Object.keys(uns).join(', ') || '(none)'}.`,
          {
            file: name,
            key: `uns/${key}`,
            hint: 'Fix rep_keys, or store the embeddings under that uns key.',
          },
        );
      }
      return e;
    },
    matrixInfo(location: readonly string[]): MatrixInfo {
      const m = matrix(location);
      const bytes = matrixBytes(m);
      return {
        location: location.join('/'),
        format: m.format,
        shape: [m.rows, m.cols],
        dtype: m.dtype,
        nnz: m.format === 'dense' ? m.rows * m.cols : m.data.length,
        chunks: null,
        compression: [],
        diskBytes: bytes,
        memoryBytes: bytes,
        denseBytes: m.rows * m.cols * itemSize(m.dtype),
      };
    },
    readRows(location: readonly string[], start: number, end: number, out?: FloatArray): DenseMatrix {
      const m = matrix(location);
      if (!(start >= 0 && end >= start && end <= m.rows)) throw new RangeError(`rows [${start}, ${end}) outside [0, ${m.rows})`);
      const n = (end - start) * m.cols;
      const data =
        out && out.length >= n && out instanceof Float32Array === (m.dtype === 'float32') ? out.subarray(0, n) : allocFloat(m.dtype, n);
      if (m.format === 'dense') {
        data.set(m.data.subarray(start * m.cols, end * m.cols));
      } else {
        data.fill(0);
        for (let r = start; r < end; r++) {
          const o = (r - start) * m.cols;
          for (let k = m.indptr[r]!; k < m.indptr[r + 1]!; k++) data[o + m.indices[k]!] = m.data[k]!;
        }
      }
      return { format: 'dense', dtype: m.dtype, rows: end - start, cols: m.cols, data };
    },
    readMatrix: (location: readonly string[]): Matrix => matrix(location),
    close(): void {},
  };
}
