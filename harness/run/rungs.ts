/**
 * Rungs of real files (`file:` datasets below scale 1), cached: `rungFile` returns the rung of a
 * dataset at a scale (whole conditions, src/scenario/subsample.ts; written by src/h5ad/rung.ts),
 * generating it once. An entry is `<stem>-<key>.h5ad` with `<stem>-<key>.json` beside it; the key
 * is the source's absolute path and the selection (condition keys, scale, seed), so a changed
 * source replaces its entries rather than piling new ones up. The record carries:
 *
 * - the source's identity when the rung was written: size, mtime, and a SHA-256 of sampled
 *   regions (its first and last MiB and 32 blocks of 64 KiB spread evenly: ~3 MiB read, ms,
 *   whatever the file's size). Any difference means the source changed and the rung is written
 *   again. A full hash of a 100 GB file would cost minutes at every run; size + mtime is what
 *   make and rsync trust, and the samples catch a same-size file put in place with its old
 *   mtime (a copy with `cp -p`, a restore) in most cases;
 * - a SHA-256 of the rows the rung kept (what the selection read from obs decided them), for
 *   reports to name the exact rung;
 * - the rung file's size and SHA-256, checked as the synthetic cache checks its files (size
 *   always, the hash again when the file's mtime moved): a truncated or edited rung is written
 *   again;
 * - what the selection reached (cells, scale, conditions, split shares, notes), so a reused
 *   rung answers without reading its source.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { CellbudgetError } from '../../src/core/errors.js';
import { h5Ready } from '../../src/h5ad/file.js';
import { withH5ad } from '../../src/h5ad/source.js';
import { writeRung, type RungProgress } from '../../src/h5ad/rung.js';
import { writeAtomic } from '../../src/io/files.js';
import type { PipelineConfig } from '../../src/pipeline/config.js';
import type { DatasetDef } from '../../src/scenario/model.js';
import { conditionKeys, type AxisSelection, type ConditionKeys, type ConditionSelection } from '../../src/scenario/subsample.js';
import { removeStaleCacheTemporaries, sha256File, type CacheOutcome } from './cache.js';

/** Bumped whenever the same selection would be written differently: part of the key. */
export const RUNG_FORMAT_VERSION = 1;

/** A `file:` dataset and what says what its conditions are. */
export interface RungRequest {
  /** The dataset; `file` resolved (relative paths from the current directory). */
  readonly dataset: Pick<DatasetDef, 'name' | 'file' | 'subsample'>;
  /** The scenario's pipeline, when it has one: its keys make the conditions unless `subsample.by` is given. */
  readonly pipeline?: PipelineConfig;
  /** The scenario (file) for messages. */
  readonly where?: string;
}

/** What identifies a source file's content cheaply (see the module comment). */
export interface SourceIdentity {
  readonly path: string;
  readonly bytes: number;
  readonly mtime_ms: number;
  readonly sample_sha256: string;
}

/** What a rung holds, as recorded beside it. */
export interface RungSummary {
  readonly cells: number;
  readonly totalCells: number;
  readonly requestedScale: number;
  readonly reachedScale: number;
  readonly reachedBytesScale: number;
  readonly conditions: ConditionSelection['conditions'];
  readonly controlCells: number;
  readonly axes: readonly AxisSelection[];
  readonly split?: ConditionSelection['split'];
  readonly notes: readonly string[];
}

export interface RungRecord {
  version: 1;
  kind: 'rung';
  key: string;
  source: SourceIdentity;
  keys: ConditionKeys;
  scale: number;
  /** SHA-256 of the kept row numbers (int32, little-endian). */
  rows_sha256: string;
  summary: RungSummary;
  bytes: number;
  sha256: string;
  verified_mtime_ms: number;
  created: string;
}

export interface RungFileResult extends RungSummary {
  /** The rung's path (the source itself at scale 1). */
  readonly file: string;
  readonly outcome: CacheOutcome;
  readonly source: SourceIdentity;
  readonly keys: ConditionKeys;
}

export interface RungHooks {
  /** Told before a rung is written, with the reason ("not generated yet", "the source changed: ..."). */
  readonly onGenerate?: (reason: string) => void;
  readonly onProgress?: (p: RungProgress) => void;
  /** Read/write window of the writer (default 8 MiB). */
  readonly windowBytes?: number;
}

const SAMPLE_EDGE = 1 << 20;
const SAMPLE_BLOCK = 64 * 1024;
const SAMPLE_BLOCKS = 32;

/** Size, mtime and a SHA-256 of sampled regions of `path` (the whole file when it is under 4 MiB). */
export function sourceIdentity(path: string): SourceIdentity {
  const abs = resolve(path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(abs);
  } catch (e) {
    throw new CellbudgetError(
      'FILE_NOT_FOUND',
      `File not found: ${path}.`,
      { file: path, hint: 'Check the dataset’s `file:` path (relative paths are resolved from the scenario file).' },
      { cause: e },
    );
  }
  const h = createHash('sha256');
  h.update(`${st.size}\n`);
  const fd = openSync(abs, 'r');
  try {
    const read = (pos: number, len: number): void => {
      const buf = Buffer.alloc(len);
      const n = readSync(fd, buf, 0, len, pos);
      h.update(buf.subarray(0, n));
    };
    if (st.size <= 4 * SAMPLE_EDGE) read(0, st.size);
    else {
      read(0, SAMPLE_EDGE);
      const span = st.size - 2 * SAMPLE_EDGE - SAMPLE_BLOCK;
      for (let i = 0; i < SAMPLE_BLOCKS; i++) read(SAMPLE_EDGE + Math.floor((span * i) / (SAMPLE_BLOCKS - 1)), SAMPLE_BLOCK);
      read(st.size - SAMPLE_EDGE, SAMPLE_EDGE);
    }
  } finally {
    closeSync(fd);
  }
  return { path: abs, bytes: st.size, mtime_ms: st.mtimeMs, sample_sha256: h.digest('hex') };
}

/** The cache key of a rung: the source's path and the selection. */
export function rungKey(sourcePath: string, keys: ConditionKeys, scale: number): string {
  return createHash('sha256')
    .update(JSON.stringify([RUNG_FORMAT_VERSION, resolve(sourcePath), keys, scale]))
    .digest('hex')
    .slice(0, 16);
}

function readRecord(path: string): RungRecord | null {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as RungRecord;
    return r.version === 1 && r.kind === 'rung' && typeof r.sha256 === 'string' && typeof r.bytes === 'number' ? r : null;
  } catch {
    return null;
  }
}

/** Why the entry cannot be used, or null when it checks out (then its record). */
async function damage(
  file: string,
  recordPath: string,
  key: string,
  source: SourceIdentity,
): Promise<{ reason: string } | { record: RungRecord }> {
  if (!existsSync(file)) return { reason: 'not generated yet' };
  const record = readRecord(recordPath);
  if (!record) return { reason: 'it has no checksum record (its record is missing or damaged)' };
  if (record.key !== key) return { reason: 'its record belongs to another selection' };
  const was = record.source;
  if (was.bytes !== source.bytes)
    return {
      reason: `the source changed: it is ${source.bytes.toLocaleString('en-US')} bytes, it was ${was.bytes.toLocaleString('en-US')}`,
    };
  if (was.mtime_ms !== source.mtime_ms)
    return {
      reason: `the source changed: modified ${new Date(source.mtime_ms).toISOString()}, it was ${new Date(was.mtime_ms).toISOString()}`,
    };
  if (was.sample_sha256 !== source.sample_sha256)
    return { reason: 'the source changed: its sampled content no longer matches (same size and mtime)' };
  const st = statSync(file);
  if (st.size !== record.bytes)
    return {
      reason: `it is ${st.size.toLocaleString('en-US')} bytes, its record says ${record.bytes.toLocaleString('en-US')} (truncated or overwritten)`,
    };
  if (st.mtimeMs !== record.verified_mtime_ms) {
    if ((await sha256File(file)) !== record.sha256) return { reason: 'its SHA-256 no longer matches its record (the file was modified)' };
    const updated = { ...record, verified_mtime_ms: st.mtimeMs };
    await writeAtomic(recordPath, `${JSON.stringify(updated, null, 1)}\n`);
    return { record: updated };
  }
  return { record };
}

function summaryOf(selection: ConditionSelection, reachedBytesScale: number, notes: readonly string[]): RungSummary {
  return {
    cells: selection.cells,
    totalCells: selection.totalCells,
    requestedScale: selection.requestedScale,
    reachedScale: selection.reachedScale,
    reachedBytesScale,
    conditions: selection.conditions,
    controlCells: selection.controlCells,
    axes: selection.axes,
    ...(selection.split ? { split: selection.split } : {}),
    notes: [...selection.notes, ...notes],
  };
}

/**
 * The rung of a `file:` dataset at `scale`, from `cacheDir` or written there first (see the
 * module comment). At scale 1 it is the file itself. Throws SCENARIO_INVALID when nothing says
 * what the file's conditions are, SCENARIO_IMPOSSIBLE when the scale cannot keep whole
 * conditions (with the scales that can), and the reader's and writer's errors.
 */
export async function rungFile(request: RungRequest, scale: number, cacheDir: string, hooks: RungHooks = {}): Promise<RungFileResult> {
  const { dataset } = request;
  const where = request.where ?? 'scenario';
  if (dataset.file === undefined) {
    throw new CellbudgetError(
      'USAGE',
      `${where}: dataset '${dataset.name}' is not a file: only \`file:\` datasets have rungs of real rows.`,
      {
        hint: 'Synthetic datasets are generated at each scale (harness/run/cache.ts).',
      },
    );
  }
  const keys = conditionKeys(dataset, request.pipeline, where);
  const source = sourceIdentity(dataset.file);
  if (scale >= 1) {
    await h5Ready();
    const n = withH5ad(source.path, (s) => s.nObs);
    return {
      file: source.path,
      outcome: { action: 'reused' },
      source,
      keys,
      cells: n,
      totalCells: n,
      requestedScale: 1,
      reachedScale: 1,
      reachedBytesScale: 1,
      conditions: { kept: 0, total: 0 },
      controlCells: 0,
      axes: [],
      notes: ['scale 1: the file itself'],
    };
  }
  mkdirSync(cacheDir, { recursive: true });
  removeStaleCacheTemporaries(cacheDir);
  const key = rungKey(source.path, keys, scale);
  const stem = basename(source.path, extname(source.path)).replace(/[^A-Za-z0-9_.-]/g, '_');
  const file = join(cacheDir, `${stem}-${key}.h5ad`);
  const recordPath = join(cacheDir, `${stem}-${key}.json`);
  const check = await damage(file, recordPath, key, source);
  if ('record' in check) return { file, outcome: { action: 'reused' }, source, keys, ...check.record.summary };
  hooks.onGenerate?.(check.reason);
  rmSync(recordPath, { force: true });
  const r = await writeRung(
    source.path,
    keys,
    scale,
    file,
    hooks.onProgress,
    hooks.windowBytes !== undefined ? { windowBytes: hooks.windowBytes } : {},
  );
  const after = sourceIdentity(source.path);
  if (after.bytes !== source.bytes || after.mtime_ms !== source.mtime_ms || after.sample_sha256 !== source.sample_sha256) {
    rmSync(file, { force: true });
    throw new CellbudgetError('FILE_UNREADABLE', `${source.path} changed while its rung at scale ${scale} was being written.`, {
      file: source.path,
      hint: 'Run again once the file is no longer being written.',
    });
  }
  const st = statSync(file);
  const summary = summaryOf(r.selection, r.reachedBytesScale, r.written.notes);
  const rows = r.selection.rows;
  const record: RungRecord = {
    version: 1,
    kind: 'rung',
    key,
    source,
    keys,
    scale,
    rows_sha256: createHash('sha256')
      .update(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength))
      .digest('hex'),
    summary,
    bytes: st.size,
    sha256: await sha256File(file),
    verified_mtime_ms: st.mtimeMs,
    created: new Date().toISOString(),
  };
  await writeAtomic(recordPath, `${JSON.stringify(record, null, 1)}\n`);
  return { file, outcome: { action: 'generated', reason: check.reason }, source, keys, ...summary };
}
