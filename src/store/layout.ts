/**
 * scaleflow's GroupedDistribution store, planned from a GroupPlan (obs alone): every group,
 * every array's dtype, shape and chunks, and the values of the small ones (maps, conditions,
 * labels, the annotation). The distributions' rows and the obs index are left to the row
 * writer (`stream`). Pure: no matrix, no file. Layout: docs/training-store.md#layout.
 */
import type { FloatDtype, Label } from '../core/data.js';
import { itemSize } from '../core/data.js';
import { flagColumn } from '../pipeline/config.js';
import type { DataManagerConfig } from '../pipeline/config.js';
import { nSrc, nTgt } from '../pipeline/grouping.js';
import type { GroupPlan, KeyType } from '../pipeline/grouping.js';
import {
  categorical,
  dataframe,
  dictGroup,
  join,
  nullable,
  numericArray,
  numericScalar,
  plainArray,
  plainColumn,
  SMALL_CHUNK_BYTES,
  STRING_CHUNK,
  stringArray,
  stringScalar,
} from './anndata.js';
import type { ColumnValues, DataFrameColumn } from './anndata.js';
import type { ArrayNode, NumericDtype, StoreNode } from './nodes.js';
import { chunkLength, isIntegerDtype } from './nodes.js';
import { dataLocationJson, pyJsonList } from './pyjson.js';
import type { PyScalar } from './pyjson.js';

/** scaleflow's `chunk_size`: rows per chunk of a distribution's array. */
export const DEFAULT_CHUNK_ROWS = 4096;

/** The representation whose rows the store holds. */
export interface RepresentationInfo {
  readonly dtype: FloatDtype;
  readonly cols: number;
}

export interface StoreLayoutOptions {
  /** Rows per chunk of a distribution's array (default 4096; a smaller distribution is one chunk). */
  readonly chunkRows?: number;
}

/** The per-distribution arrays the row writer fills: distribution d is a source for d < nSrc, else target d − nSrc. */
export interface DistributionArrays {
  readonly dtype: FloatDtype;
  readonly cols: number;
  /** Per distribution: its array's path, or null when it has no rows (a source seen only in perturbed cells). */
  readonly paths: readonly (string | null)[];
  readonly rows: Int32Array;
  readonly chunkRows: Int32Array;
}

export interface StoreLayout {
  /** Every node, parents before children; distribution arrays and the obs index carry `stream`. */
  readonly nodes: readonly StoreNode[];
  readonly distributions: DistributionArrays;
  /** `annotation/metadata/old_obs_index`: the obs index, written in chunks as it is read. */
  readonly obsIndex: ArrayNode;
  /** Bytes of the distributions' rows (rows × cols × itemsize), without padding of their last chunks. */
  readonly dataBytes: number;
}

function group(path: string, attrs: Record<string, unknown> = {}): StoreNode {
  return { kind: 'group', path, attrs };
}

/** A label as its column holds it in Python: an int for integer dtypes, a float for float ones. */
function pyLabel(label: Label, type: KeyType): PyScalar {
  if (typeof label === 'number') return { value: label, integer: isIntegerDtype(type.dtype) };
  return { value: label };
}

function numericDtypeOf(d: string): NumericDtype | 'bool' {
  if (d === 'bool') return 'bool';
  if (/^(u?int(8|16|32|64)|float(32|64))$/.test(d)) return d as NumericDtype;
  // float16 and other numpy types: written as float64, which holds them exactly.
  return 'float64';
}

function labelValues(labels: readonly Label[], dtype: string): ColumnValues {
  if (dtype === 'string') return { dtype: 'string', values: labels.map(String) };
  return { dtype: numericDtypeOf(dtype), values: labels.map((l) => (typeof l === 'boolean' ? (l ? 1 : 0) : Number(l))) };
}

/** The DataFrame column of key `j` over the targets (one row per target, its value). */
function keyColumnOf(plan: GroupPlan, j: number): DataFrameColumn {
  const k = plan.keyLabels.length;
  const nt = nTgt(plan);
  const type = plan.keyTypes[j]!;
  const labels = plan.keyLabels[j]!;
  const codes = Int32Array.from({ length: nt }, (_, t) => plan.tgtCodes[t * k + j]!);
  const values = (): Label[] => Array.from(codes, (c) => labels[c]!);
  switch (type.kind) {
    case 'categorical':
      return (path) => categorical(path, codes, labelValues(labels, type.dtype), type.ordered);
    case 'nullable-integer':
    case 'nullable-boolean':
      return (path) =>
        nullable(path, type.kind as 'nullable-integer' | 'nullable-boolean', labelValues(values(), type.dtype), new Uint8Array(nt));
    // anndata 0.8 has no encoding for pandas' nullable strings: written as plain strings.
    default:
      return plainColumn(labelValues(values(), type.dtype));
  }
}

/**
 * `default_values` as `temp_df.iloc[0].to_dict()` gives it: the control's tgt-key values as
 * Python objects. When every tgt key is a plain number column and one is a float, pandas makes
 * the row float64, so integers come out as floats.
 */
function defaultValueNodes(plan: GroupPlan, path: string): StoreNode[] {
  const ns = plan.srcKeys.length;
  const types = plan.tgtKeys.map((_, i) => plan.keyTypes[ns + i]!);
  const plainNumbers = types.every((t) => t.kind === 'numeric' && t.dtype !== 'bool');
  const anyFloat = plainNumbers && types.some((t) => !isIntegerDtype(t.dtype));
  const nodes: StoreNode[] = [dictGroup(path)];
  plan.tgtKeys.forEach((key, i) => {
    const v = plan.controlValue[key]!;
    const p = join(path, key);
    if (typeof v === 'string') nodes.push(stringScalar(p, v));
    else if (typeof v === 'boolean') nodes.push(numericScalar(p, 'bool', v ? 1 : 0));
    else nodes.push(numericScalar(p, isIntegerDtype(types[i]!.dtype) && !anyFloat ? 'int64' : 'float64', v));
  });
  return nodes;
}

/** scaleflow's `CSRLabelMapping.write_zarr`: `indices` (int64) and `json_labels` (one JSON list per distribution). */
function labelMapping(path: string, indices: readonly number[], labels: readonly string[]): StoreNode[] {
  const n = labels.length;
  return [
    group(path),
    plainArray(join(path, 'indices'), 'int64', indices),
    {
      kind: 'array',
      path: join(path, 'json_labels'),
      dtype: 'string',
      shape: [n],
      chunks: [Math.max(1, Math.min(n, STRING_CHUNK))],
      attrs: {},
      values: { kind: 'strings', values: labels },
    },
  ];
}

/**
 * `data/conditions`: per covariate one array of every target's vector, concatenated (shape
 * targets × 1 × dim, scaleflow's `emb[None, None, :]`), with the group attributes `dist_ids`
 * and `indptr_<col>` that say where each target's rows are.
 */
function conditionNodes(plan: GroupPlan, path: string): StoreNode[] {
  const nt = nTgt(plan);
  if (nt === 0) return [group(path)];
  const cols = Object.keys(plan.conditions[0]!).sort();
  const attrs: Record<string, unknown> = { dist_ids: Array.from({ length: nt }, (_, t) => t) };
  const nodes: StoreNode[] = [];
  for (const col of cols) {
    const dim = plan.conditions[0]![col]!.length;
    const dtype = plan.conditionDtypes[col] ?? 'float64';
    const values = new Float64Array(nt * dim);
    for (let t = 0; t < nt; t++) values.set(plan.conditions[t]![col]!, t * dim);
    attrs[`indptr_${col}`] = Array.from({ length: nt + 1 }, (_, t) => t);
    nodes.push({
      kind: 'array',
      path: join(path, col),
      dtype,
      shape: [nt, 1, dim],
      chunks: [chunkLength(nt, dim * itemSize(dtype), SMALL_CHUNK_BYTES), 1, dim],
      attrs: {},
      values: { kind: 'numbers', values },
    });
  }
  return [group(path, attrs), ...nodes];
}

/**
 * Every node of the store for `plan`, in scaleflow's layout (docs/training-store.md#layout):
 * `data/{src_data,tgt_data}/<k>` (streamed), `data/src_to_tgt_dist_map`, `data/conditions`,
 * `annotation/{src,tgt}_dist_idx_to_labels` and `annotation/metadata`.
 */
export function storeLayout(
  plan: GroupPlan,
  config: DataManagerConfig,
  rep: RepresentationInfo,
  options: StoreLayoutOptions = {},
): StoreLayout {
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunkRows must be a positive integer, not ${chunkRows}`);
  const ns = nSrc(plan);
  const nt = nTgt(plan);
  const nd = ns + nt;
  const rows = new Int32Array(nd);
  const chunks = new Int32Array(nd);
  const paths: (string | null)[] = new Array<string | null>(nd).fill(null);
  const nodes: StoreNode[] = [group(''), group('data'), group('data/src_data'), group('data/tgt_data')];
  let dataBytes = 0;
  const rowBytes = rep.cols * itemSize(rep.dtype);
  for (let d = 0; d < nd; d++) {
    const n = d < ns ? plan.srcOffsets[d + 1]! - plan.srcOffsets[d]! : plan.tgtOffsets[d - ns + 1]! - plan.tgtOffsets[d - ns]!;
    rows[d] = n;
    // scaleflow stores a source only where control cells are (its groupby over control cells).
    if (n === 0) continue;
    const path = d < ns ? `data/src_data/${d}` : `data/tgt_data/${d - ns}`;
    paths[d] = path;
    chunks[d] = Math.min(n, chunkRows);
    dataBytes += n * rowBytes;
    nodes.push({
      kind: 'array',
      path,
      dtype: rep.dtype,
      shape: [n, rep.cols],
      chunks: [chunks[d]!, rep.cols],
      attrs: {},
      values: { kind: 'stream' },
    });
  }

  nodes.push(dictGroup('data/src_to_tgt_dist_map'));
  for (const [s, tgts] of plan.srcToTgt) nodes.push(numericArray(`data/src_to_tgt_dist_map/${s}`, 'int32', tgts));
  nodes.push(...conditionNodes(plan, 'data/conditions'));

  nodes.push(group('annotation'));
  const srcWithCells = Array.from({ length: ns }, (_, s) => s).filter((s) => rows[s]! > 0);
  const srcTypes = plan.keyTypes.slice(0, plan.srcKeys.length);
  nodes.push(
    ...labelMapping(
      'annotation/src_dist_idx_to_labels',
      srcWithCells,
      srcWithCells.map((s) => pyJsonList(plan.srcLabels[s]!.map((l, j) => pyLabel(l, srcTypes[j]!)))),
    ),
  );
  const k = plan.keyLabels.length;
  nodes.push(
    ...labelMapping(
      'annotation/tgt_dist_idx_to_labels',
      Array.from({ length: nt }, (_, t) => t),
      Array.from({ length: nt }, (_, t) =>
        pyJsonList(plan.keyLabels.map((labels, j) => pyLabel(labels[plan.tgtCodes[t * k + j]!]!, plan.keyTypes[j]!))),
      ),
    ),
  );

  const meta = 'annotation/metadata';
  nodes.push(dictGroup(meta));
  const obsIndex = stringArray(join(meta, 'old_obs_index'), { length: plan.nObs, stream: true });
  nodes.push(obsIndex);
  // One row per target, in target order: its first cell's row (the index), indices, key values.
  const firstRows = Array.from({ length: nt }, (_, t) => plan.tgtRows[plan.tgtOffsets[t]!]!);
  const keys = [...plan.srcKeys, ...plan.tgtKeys];
  nodes.push(
    ...dataframe(join(meta, 'src_tgt_dist_df'), { dtype: 'int64', values: firstRows }, [
      ['src_dist_idx', plainColumn({ dtype: 'int32', values: plan.tgtToSrc })],
      ['tgt_dist_idx', plainColumn({ dtype: 'int32', values: Int32Array.from({ length: nt }, (_, t) => t) })],
      ...keys.map((key, j) => [key, keyColumnOf(plan, j)] as const),
    ]),
  );
  nodes.push(...defaultValueNodes(plan, join(meta, 'default_values')));
  nodes.push(stringArray(join(meta, 'tgt_dist_keys'), plan.tgtKeys));
  nodes.push(stringArray(join(meta, 'src_dist_keys'), plan.srcKeys));
  nodes.push(stringScalar(join(meta, 'dist_flag_key'), flagColumn(config)));
  nodes.push(stringScalar(join(meta, 'data_location'), dataLocationJson(config.data_location)));

  return { nodes, distributions: { dtype: rep.dtype, cols: rep.cols, paths, rows, chunkRows: chunks }, obsIndex, dataBytes };
}
