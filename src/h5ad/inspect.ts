/** What `cellbudget inspect` reports about an h5ad file, read from metadata only. */
import { statSync } from 'node:fs';
import { formatBytes } from '../core/units.js';
import { formatTable } from '../core/table.js';
import type { MatrixInfo } from '../core/data.js';
import { withH5 } from './file.js';
import type { H5File } from './file.js';
import { listMatrixLocations, matrixInfo } from './matrix.js';
import { obsLayout, obsRowCount, summarizeObsColumn } from './obs.js';
import type { ObsColumnSummary } from './obs.js';
import { unsKeys } from './uns.js';

export interface InspectMatrix {
  readonly location: string;
  readonly format: MatrixInfo['format'];
  readonly shape: readonly [number, number];
  readonly dtype: string;
  readonly nnz: number;
  readonly chunks: readonly number[] | null;
  readonly compression: readonly string[];
  /** Bytes once read into memory (dense: rows*cols*itemsize; CSR: data+indices+indptr). */
  readonly bytes: number;
  /** Bytes on disk, or null when unknown (compressed data: h5wasm cannot report it). */
  readonly diskBytes: number | null;
  readonly denseBytes: number;
  /** Set when the element could not be described (e.g. an unsupported filter). */
  readonly error?: { readonly code: string; readonly message: string };
}

export interface InspectReport {
  readonly file: string;
  readonly fileBytes: number;
  /** Root encoding-type/version, e.g. "anndata 0.1.0", or "none" (pre-0.7 files). */
  readonly layout: string;
  readonly n_obs: number;
  readonly obs: {
    readonly encoding: string;
    readonly index: string | null;
    readonly columns: readonly (
      | ObsColumnSummary
      | { readonly name: string; readonly kind: 'unsupported'; readonly dtype: string; readonly encoding: string; readonly error: string }
    )[];
  };
  readonly matrices: readonly InspectMatrix[];
  readonly uns: readonly string[];
}

function describeMatrix(f: H5File, location: readonly string[]): InspectMatrix {
  try {
    const i = matrixInfo(f, location);
    return {
      location: i.location,
      format: i.format,
      shape: i.shape,
      dtype: i.dtype,
      nnz: i.nnz,
      chunks: i.chunks,
      compression: i.compression,
      bytes: i.memoryBytes,
      diskBytes: Number.isFinite(i.diskBytes) ? i.diskBytes : null,
      denseBytes: i.denseBytes,
    };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (typeof err.code !== 'string') throw e;
    return {
      location: location.join('/'),
      format: 'dense',
      shape: [0, 0],
      dtype: 'unknown',
      nnz: 0,
      chunks: null,
      compression: [],
      bytes: 0,
      diskBytes: null,
      denseBytes: 0,
      error: { code: err.code, message: err.message ?? '' },
    };
  }
}

/** Describe an h5ad file: layout, n_obs, obs columns, every representation, uns keys. */
export function inspectH5ad(path: string): InspectReport {
  return withH5(path, (f) => {
    const rootEnc = f.encoding('/');
    const layout = rootEnc ? `${rootEnc} ${f.strAttr('/', 'encoding-version') ?? ''}`.trim() : 'none (pre-0.7 anndata)';
    const obs = obsLayout(f);
    const columns = obs.columns.map((name) => {
      try {
        return summarizeObsColumn(f, name);
      } catch (e) {
        const err = e as { code?: string; message?: string };
        if (typeof err.code !== 'string') throw e;
        return {
          name,
          kind: 'unsupported' as const,
          dtype: 'unknown',
          encoding: f.encoding(`/obs/${name}`) ?? 'none',
          error: err.message ?? '',
        };
      }
    });
    return {
      file: f.path,
      fileBytes: statSync(path).size,
      layout,
      n_obs: obsRowCount(f),
      obs: { encoding: obs.encoding === 'none' ? 'none' : `${obs.encoding} ${obs.version}`, index: obs.indexKey ?? null, columns },
      matrices: listMatrixLocations(f).map((loc) => describeMatrix(f, loc)),
      uns: unsKeys(f),
    };
  });
}

function table(rows: readonly (readonly string[])[]): string {
  return formatTable(rows, { indent: '  ' });
}

/** Human-readable rendering of an inspect report. */
export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  lines.push(`${r.file} (${formatBytes(r.fileBytes)})`);
  lines.push(`layout: ${r.layout}`);
  lines.push(`n_obs: ${r.n_obs}`);
  lines.push('');
  lines.push(`obs (${r.obs.encoding}, index: ${r.obs.index ?? 'none'}, ${r.obs.columns.length} columns)`);
  lines.push(
    table([
      ['column', 'kind', 'dtype', 'encoding', 'details'],
      ...r.obs.columns.map((c) => {
        let details = '';
        if ('error' in c) details = c.error;
        else if (c.kind === 'categorical') details = `${c.nCategories ?? 0} categories${c.ordered ? ', ordered' : ''}`;
        return [c.name, c.kind, c.dtype, c.encoding, details];
      }),
    ]),
  );
  lines.push('');
  lines.push(`representations (${r.matrices.length})`);
  if (r.matrices.length > 0) {
    lines.push(
      table([
        ['location', 'format', 'shape', 'dtype', 'compression', 'chunks', 'on disk', 'in memory', 'dense'],
        ...r.matrices.map((m) =>
          m.error
            ? [m.location, `error [${m.error.code}]`, '', '', '', '', '', '', '']
            : [
                m.location,
                m.format,
                `${m.shape[0]} x ${m.shape[1]}`,
                m.dtype,
                m.compression.length ? m.compression.join('+') : 'none',
                m.chunks ? m.chunks.join(' x ') : 'contiguous',
                m.diskBytes === null ? 'n/a' : formatBytes(m.diskBytes),
                formatBytes(m.bytes),
                formatBytes(m.denseBytes),
              ],
        ),
      ]),
    );
    for (const m of r.matrices) if (m.error) lines.push(`  ${m.location}: ${m.error.message}`);
  }
  lines.push('');
  lines.push(`uns: ${r.uns.length ? r.uns.join(', ') : '(empty)'}`);
  return lines.join('\n') + '\n';
}
