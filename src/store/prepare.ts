/**
 * `cellbudget prepare`: the real pipeline on a dataset, written as scaleflow's
 * GroupedDistribution store. Two steps a memory recorder can observe:
 * - `plan`: group the cells from obs alone (planGroups, the plan `split` and `streaming` use)
 *   and lay the store out (every group, array and small value);
 * - `stream`: write the layout, the obs index chunk by chunk, then read the representation once
 *   in windows and put each window's rows into their distributions' chunks (RowWriter).
 * The matrix is never held: memory is the runtime, the obs plan, one read window and one gather
 * buffer, whatever the matrix's size. The store is written beside its target and renamed into
 * place once complete (fs.ts). docs/training-store.md
 */
import { basename, dirname, resolve } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { allocFloat, itemSize, readDtype } from '../core/data.js';
import type { DatasetSource, FloatArray } from '../core/data.js';
import { CellbudgetError } from '../core/errors.js';
import type { StepObserver } from '../core/names.js';
import { h5Ready } from '../h5ad/file.js';
import { openH5ad } from '../h5ad/source.js';
import type { DataManagerConfig } from '../pipeline/config.js';
import { nSrc, nTgt, planBytes, planGroups, sourceRows, windowRows } from '../pipeline/grouping.js';
import type { GroupPlan } from '../pipeline/grouping.js';
import { checkTarget, commitStore, DirectorySink, directoryBytes, partialDirFor, removeStalePartials, writeMarker } from './fs.js';
import { storeLayout } from './layout.js';
import type { StoreLayout } from './layout.js';
import { RowWriter, writeStringChunks } from './rows.js';
import type { ChunkKey } from './rows.js';
import type { StoreSink } from './sink.js';
import { chunkKey2, writeNodes2 } from './zarr2.js';
import { chunkKey3, writeNodes3 } from './zarr3.js';

export type ZarrFormat = 2 | 3;

/**
 * Bytes per window read from the representation (a chunk larger than this is read whole, up to
 * 64 MB). The gather buffer is as large again; larger windows mean fewer, larger writes (each
 * window writes once per distribution it holds rows of).
 */
export const STORE_WINDOW_BYTES = 16 * 1024 * 1024;

export interface WriteStoreOptions {
  readonly zarrFormat?: ZarrFormat;
  /** Rows per chunk of a distribution's array (default 4096, scaleflow's chunk_size). */
  readonly chunkRows?: number;
  /** Bytes per read window (default STORE_WINDOW_BYTES). */
  readonly windowBytes?: number;
  /** Observes the `plan` and `stream` steps (the harness's StepRecorder). */
  readonly observer?: StepObserver;
  /** The dataset's name in the observer's steps (default: the source's name). */
  readonly name?: string;
}

export interface PrepareStoreOptions extends WriteStoreOptions {
  /** Replace an existing store at the target (default: refuse, STORE_EXISTS). */
  readonly force?: boolean;
}

/** What a prepared store holds. */
export interface PreparedStore {
  readonly path: string;
  readonly zarrFormat: ZarrFormat;
  readonly source: string;
  readonly dataLocation: string;
  readonly nObs: number;
  /** Source distributions with an array (sources with control cells). */
  readonly sources: number;
  readonly targets: number;
  /** Cells written (in some distribution); the others have a missing key value. */
  readonly cells: number;
  readonly droppedCells: number;
  readonly cols: number;
  readonly dtype: string;
  /** Bytes of the distributions' rows. */
  readonly dataBytes: number;
  /** Bytes of every file of the store (chunk padding and metadata included). */
  readonly storeBytes: number;
  readonly seconds: number;
  /** An existing store was replaced (--force). */
  readonly replaced: boolean;
}

const NO_OBSERVER: StepObserver = { step: (_d, _n, fn) => fn() };

function chunkKeyOf(format: ZarrFormat): ChunkKey {
  return format === 3 ? chunkKey3 : chunkKey2;
}

/** The representation's row dtype and width as read (integers of ≤16 bits as float32, wider as float64). */
function representationOf(source: DatasetSource, location: readonly string[]): { dtype: 'float32' | 'float64'; cols: number } {
  const info = source.matrixInfo(location);
  if (info.format === 'csc') {
    throw new CellbudgetError(
      'H5AD_UNSUPPORTED_ENCODING',
      `${source.name}: ${location.join('/')} is a csc_matrix; a store holds rows, and reading rows of column-compressed storage would read the whole matrix for every window.`,
      {
        file: source.name,
        key: location.join('/'),
        value: 'csc_matrix',
        hint: 'Convert it to CSR in Python (adata.X = adata.X.tocsr()) and write the file again.',
      },
    );
  }
  return { dtype: readDtype(info.dtype), cols: info.shape[1] };
}

/** The obs index, in pieces when the source can read them (else read once and sliced). */
function obsIndexReader(source: DatasetSource): (a: number, b: number) => readonly string[] {
  if (source.readObsIndexRange) return (a, b) => source.readObsIndexRange!(a, b);
  let all: readonly string[] | null = null;
  return (a, b) => (all ??= source.readObsIndex()).slice(a, b);
}

/**
 * Stream the representation's rows into the store: windows on the chunk grid, in file order,
 * windows without a row the store holds skipped. Returns the rows' bytes.
 */
export function streamRows(
  source: DatasetSource,
  location: readonly string[],
  writer: RowWriter,
  dtype: 'float32' | 'float64',
  cols: number,
  windowBytes = STORE_WINDOW_BYTES,
): void {
  if (writer.lastRow < 0) return;
  const window = windowRows(Math.max(1, cols * itemSize(dtype)), sourceRows(source, location).chunkRows, windowBytes);
  const buffer: FloatArray = allocFloat(dtype, Math.min(window, writer.lastRow + 1 - writer.firstRow) * cols);
  for (let g = Math.floor(writer.firstRow / window) * window; g <= writer.lastRow; g += window) {
    const a = Math.max(g, writer.firstRow);
    const b = Math.min(writer.lastRow + 1, g + window);
    if (!writer.wants(a, b)) continue;
    const block = source.readRows(location, a, b, buffer.subarray(0, (b - a) * cols)).data;
    writer.write(block, a, b);
  }
}

/** What the `plan` step leaves for the `stream` step. */
export interface PlannedStore {
  readonly plan: GroupPlan;
  readonly layout: StoreLayout;
  readonly rep: { readonly dtype: 'float32' | 'float64'; readonly cols: number };
}

/** The `plan` step: group the cells from obs alone and lay the store out (no matrix read, nothing written). */
export function planStore(source: DatasetSource, config: DataManagerConfig, options: WriteStoreOptions = {}): PlannedStore {
  const observer = options.observer ?? NO_OBSERVER;
  let planned: PlannedStore | undefined;
  observer.step(
    options.name ?? source.name,
    'plan',
    () => {
      const plan = planGroups(config, source);
      const rep = representationOf(source, config.data_location);
      const layout = storeLayout(plan, config, rep, options.chunkRows !== undefined ? { chunkRows: options.chunkRows } : {});
      planned = { plan, layout, rep };
    },
    () => (planned ? planBytes(planned.plan) : 0),
  );
  return planned!;
}

/**
 * The `stream` step: the layout's documents (format 2; format 3's are written by
 * `writeNodes3` before, zarrita being asynchronous), the obs index, then every row of the
 * representation into its distribution's chunks. Synchronous.
 */
export function streamStore(
  source: DatasetSource,
  config: DataManagerConfig,
  sink: StoreSink,
  planned: PlannedStore,
  options: WriteStoreOptions = {},
): void {
  const observer = options.observer ?? NO_OBSERVER;
  const format = options.zarrFormat ?? 2;
  const chunkKey = chunkKeyOf(format);
  const { plan, layout, rep } = planned;
  observer.step(
    options.name ?? source.name,
    'stream',
    () => {
      if (format === 2) writeNodes2(layout.nodes, sink);
      writeStringChunks(layout.obsIndex, sink, chunkKey, obsIndexReader(source));
      const writer = new RowWriter(plan, layout.distributions, sink, chunkKey);
      streamRows(source, config.data_location, writer, rep.dtype, rep.cols, options.windowBytes);
      writer.finish();
    },
    () => planBytes(plan),
  );
}

/**
 * Plan and write the store for `source` into `sink` (an empty place): `planStore`, the format 3
 * documents when asked, `streamStore`. In format 2 both steps are synchronous and can be called
 * on their own (a strategy's steps are).
 */
export async function writeStore(
  source: DatasetSource,
  config: DataManagerConfig,
  sink: StoreSink,
  options: WriteStoreOptions = {},
): Promise<PlannedStore> {
  const planned = planStore(source, config, options);
  if ((options.zarrFormat ?? 2) === 3) await writeNodes3(planned.layout.nodes, sink);
  streamStore(source, config, sink, planned, options);
  return planned;
}

/** What the completion marker says of a store. */
export interface StoreSummary {
  readonly cellbudget_store: 1;
  readonly zarr_format: ZarrFormat;
  readonly layout: string;
  readonly source: string;
  readonly data_location: readonly string[];
  readonly n_obs: number;
  readonly sources: number;
  readonly targets: number;
  readonly cells: number;
  readonly dropped_cells: number;
  readonly cols: number;
  readonly dtype: string;
  readonly data_bytes: number;
  readonly written_at: string;
}

/** The marker's summary of a written store. */
export function storeSummary(file: string, config: DataManagerConfig, planned: PlannedStore, format: ZarrFormat): StoreSummary {
  const { plan, layout } = planned;
  return {
    cellbudget_store: 1,
    zarr_format: format,
    layout: 'scaleflow GroupedDistribution',
    source: file,
    data_location: config.data_location,
    n_obs: plan.nObs,
    sources: layout.distributions.paths.slice(0, nSrc(plan)).filter((p) => p !== null).length,
    targets: nTgt(plan),
    cells: plan.srcRows.length + plan.tgtRows.length,
    dropped_cells: plan.droppedCells,
    cols: layout.distributions.cols,
    dtype: layout.distributions.dtype,
    data_bytes: layout.dataBytes,
    written_at: new Date().toISOString(),
  };
}

/**
 * `cellbudget prepare FILE --config CONFIG --out STORE`: write the GroupedDistribution of the
 * h5ad file at `file` as a zarr store at `out`, atomically (a partial store never appears at
 * `out`). STORE_EXISTS when `out` exists and `force` is not set.
 */
export async function prepareStore(
  file: string,
  config: DataManagerConfig,
  out: string,
  options: PrepareStoreOptions = {},
): Promise<PreparedStore> {
  const started = performance.now();
  const target = resolve(out);
  const force = options.force === true;
  checkTarget(target, force);
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (e) {
    throw new CellbudgetError(
      'OUTPUT_UNWRITABLE',
      `Cannot create the folder ${dirname(target)} for the store.`,
      {
        file: dirname(target),
        hint: 'Choose an --out in a writable folder.',
      },
      { cause: e },
    );
  }
  removeStalePartials(dirname(target));
  await h5Ready();
  const source = openH5ad(file);
  const format = options.zarrFormat ?? 2;
  let partial: string | null = null;
  let sink: DirectorySink | null = null;
  try {
    partial = partialDirFor(target);
    sink = new DirectorySink(partial);
    const planned = await writeStore(source, config, sink, { ...options, name: options.name ?? basename(file) });
    sink.close();
    const { plan, layout } = planned;
    const summary = storeSummary(resolve(file), config, planned, format);
    writeMarker(partial, { ...summary });
    const storeBytes = directoryBytes(partial);
    const { replaced } = commitStore(partial, target, force);
    partial = null;
    return {
      path: target,
      zarrFormat: format,
      source: resolve(file),
      dataLocation: config.data_location.join('/'),
      nObs: plan.nObs,
      sources: summary.sources,
      targets: summary.targets,
      cells: summary.cells,
      droppedCells: plan.droppedCells,
      cols: summary.cols,
      dtype: summary.dtype,
      dataBytes: layout.dataBytes,
      storeBytes,
      seconds: (performance.now() - started) / 1000,
      replaced,
    };
  } finally {
    sink?.close();
    source.close();
    if (partial !== null) rmSync(partial, { recursive: true, force: true });
  }
}
