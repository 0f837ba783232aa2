/**
 * The DataManager: group cells into source (control) and target (perturbed) distributions
 * from obs alone (`planGroups`), then copy each distribution's rows out of the
 * representation (`materialize`). Semantics: shared/DESIGN.md §3.
 */
import { CellbudgetError } from '../errors.js';
import { allocFloat, itemSize } from '../data.js';
import type { DatasetSource, DenseMatrix, Embeddings, FloatArray, FloatDtype, Label, Matrix, ObsColumn } from '../data.js';
import { flagColumn } from './config.js';
import type { DataManagerConfig } from './config.js';
import { combineKeys, keyColumn, tupleAt } from './keys.js';
import type { KeyColumn } from './keys.js';

/** Which distributions exist, which rows they hold, and their conditions: everything but the data. */
export interface GroupPlan {
  readonly nObs: number;
  readonly srcKeys: readonly string[];
  readonly tgtKeys: readonly string[];
  /** Per source index: its src-key label tuple. */
  readonly srcLabels: readonly (readonly Label[])[];
  /** Per target index: src-key labels, then tgt-key labels. */
  readonly tgtLabels: readonly (readonly Label[])[];
  /** Row positions of the control cells of each source, in file order; source s is srcRows[srcOffsets[s] .. srcOffsets[s+1]). */
  readonly srcRows: Int32Array;
  readonly srcOffsets: Int32Array;
  /** Row positions of the perturbed cells of each target, in file order. */
  readonly tgtRows: Int32Array;
  readonly tgtOffsets: Int32Array;
  /** The source of each target. */
  readonly tgtToSrc: Int32Array;
  /** Sources that have targets, ascending, each with its targets ascending. */
  readonly srcToTgt: ReadonlyArray<readonly [number, readonly number[]]>;
  /** Per target: covariate (src then tgt keys) → embedding, or [label] for numeric labels without a rep key. */
  readonly conditions: ReadonlyArray<Readonly<Record<string, Float64Array>>>;
  /** The single target-key tuple the control cells carry. */
  readonly controlValue: Readonly<Record<string, Label>>;
  /** Cells in no distribution because a key value is missing. */
  readonly droppedCells: number;
}

/** A materialized GroupedDistribution: one dense row block per distribution. */
export interface GroupedDistribution {
  readonly plan: GroupPlan;
  /** Per source index; a source left out by `select` has a 0-row matrix and `srcSelected[s] = 0`. */
  readonly srcData: DenseMatrix[];
  readonly tgtData: DenseMatrix[];
  readonly srcSelected: Uint8Array;
  readonly tgtSelected: Uint8Array;
}

/** Anything that can read row windows of the representation. */
export interface RowReader {
  readRows(start: number, end: number, out?: FloatArray): DenseMatrix;
}

/** Which distributions `materialize` copies; absent lists mean all. */
export interface MaterializeSelect {
  readonly src?: readonly number[];
  readonly tgt?: readonly number[];
}

export function nSrc(plan: GroupPlan): number {
  return plan.srcOffsets.length - 1;
}
export function nTgt(plan: GroupPlan): number {
  return plan.tgtOffsets.length - 1;
}

function readColumn(source: DatasetSource, name: string): ObsColumn {
  const names = source.obsColumnNames();
  if (!names.includes(name)) {
    throw new CellbudgetError('OBS_MISSING_COLUMN', `${source.name}: obs has no column '${name}'; columns are: ${names.join(', ') || '(none)'}.`, {
      file: source.name,
      key: `obs/${name}`,
      value: name,
      hint: 'Fix the key in the configuration, or add the column to the dataset.',
    });
  }
  return source.readObsColumn(name);
}

function flagValues(config: DataManagerConfig, source: DatasetSource): { flag: Uint8Array; valid: Uint8Array } {
  const n = source.nObs;
  const name = flagColumn(config);
  const col = readColumn(source, name);
  const flag = new Uint8Array(n);
  const valid = new Uint8Array(n).fill(1);
  if (typeof config.dist_flag_key !== 'string') {
    const want = config.dist_flag_key.equals;
    const k = keyColumn(col);
    const code = k.labels.findIndex((l) => l === want);
    for (let i = 0; i < n; i++) {
      const c = k.codes[i]!;
      if (c < 0) valid[i] = 0;
      else flag[i] = c === code ? 1 : 0;
    }
    return { flag, valid };
  }
  if (col.kind === 'boolean') {
    for (let i = 0; i < n; i++) flag[i] = col.values[i] ? 1 : 0;
    return { flag, valid };
  }
  if (col.kind === 'nullable-boolean' && !col.mask.some((m) => m !== 0)) {
    for (let i = 0; i < n; i++) flag[i] = col.values[i] ? 1 : 0;
    return { flag, valid };
  }
  throw new CellbudgetError('OBS_FLAG_NOT_BOOLEAN', `${source.name}: the flag column obs/${name} is ${col.kind}, not boolean.`, {
    file: source.name,
    key: `obs/${name}`,
    value: col.kind,
    hint: `Store a boolean column marking control cells, or derive the flag from a value: "dist_flag_key": {"column": "${name}", "equals": "<control value>"}.`,
  });
}

function groupRows(codes: Int32Array, count: number): { rows: Int32Array; offsets: Int32Array } {
  const offsets = new Int32Array(count + 1);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c >= 0) offsets[c + 1]!++;
  }
  for (let c = 0; c < count; c++) offsets[c + 1]! += offsets[c]!;
  const rows = new Int32Array(offsets[count]!);
  const fill = offsets.slice(0, count);
  // A forward scan keeps file order within a group: the stable sort of the reference.
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c >= 0) rows[fill[c]!++] = i;
  }
  return { rows, offsets };
}

/** Python's str() of a label, as the embedding dicts are keyed. */
function embeddingKeys(label: Label): string[] {
  if (typeof label === 'boolean') return [label ? 'True' : 'False'];
  if (typeof label === 'number') return Number.isInteger(label) ? [String(label), `${label}.0`] : [String(label)];
  return [label];
}

function formatLabel(l: Label): string {
  return typeof l === 'string' ? `'${l}'` : String(l);
}

/**
 * Group the cells of `source` from obs alone: reads the flag, src and tgt columns and the
 * uns embeddings named in `rep_keys`. No matrix is read.
 */
export function planGroups(config: DataManagerConfig, source: DatasetSource): GroupPlan {
  const n = source.nObs;
  checkRepresentation(config, source);
  const { flag, valid } = flagValues(config, source);
  const srcCols: KeyColumn[] = config.src_dist_keys.map((k) => keyColumn(readColumn(source, k)));
  const tgtCols: KeyColumn[] = config.tgt_dist_keys.map((k) => keyColumn(readColumn(source, k)));
  const allCols = [...srcCols, ...tgtCols];
  for (const c of allCols) for (let i = 0; i < n; i++) if (c.codes[i]! < 0) valid[i] = 0;

  let nControl = 0;
  const control = new Uint8Array(n);
  const perturbed = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue;
    if (flag[i]) {
      control[i] = 1;
      nControl++;
    } else perturbed[i] = 1;
  }
  const flagName = flagColumn(config);
  if (nControl === 0) {
    const rule = typeof config.dist_flag_key === 'string' ? `obs/${flagName} is never true` : `no cell has ${flagName} == ${formatLabel(config.dist_flag_key.equals)}`;
    throw new CellbudgetError('NO_CONTROL_CELLS', `${source.name}: no cell is a control (${rule}).`, {
      file: source.name,
      key: `obs/${flagName}`,
      hint: 'Every source distribution is made of control cells; check dist_flag_key.',
    });
  }

  const ctl = combineKeys(tgtCols, n, control);
  if (ctl.count !== 1) {
    const found = Array.from(ctl.firstRow, (r) => `(${tupleAt(tgtCols, r).map(formatLabel).join(', ')})`);
    throw new CellbudgetError('CONTROL_VALUE_NOT_UNIQUE', `${source.name}: There should be exactly one control value. The control cells carry ${ctl.count} target-key tuples over (${config.tgt_dist_keys.join(', ')}): ${found.slice(0, 10).join(', ')}${found.length > 10 ? ', ...' : ''}.`, {
      file: source.name,
      key: config.tgt_dist_keys.join(','),
      value: found,
      hint: 'Control cells must all carry the same target values (e.g. drug = DMSO, dose = 0); fix the data or the flag.',
    });
  }
  const controlRow = ctl.firstRow[0]!;
  const controlValue: Record<string, Label> = {};
  tgtCols.forEach((c) => (controlValue[c.name] = c.labels[c.codes[controlRow]!]!));

  const src = combineKeys(srcCols, n, valid);
  const tgt = combineKeys(allCols, n, perturbed);
  const srcLabels = Array.from(src.firstRow, (r) => tupleAt(srcCols, r));
  const tgtLabels = Array.from(tgt.firstRow, (r) => tupleAt(allCols, r));
  const tgtToSrc = Int32Array.from(tgt.firstRow, (r) => src.codes[r]!);

  const srcCodesControl = new Int32Array(n);
  for (let i = 0; i < n; i++) srcCodesControl[i] = control[i] ? src.codes[i]! : -1;
  const srcGroups = groupRows(srcCodesControl, src.count);
  const tgtGroups = groupRows(tgt.codes, tgt.count);

  const srcToTgt: Array<readonly [number, number[]]> = [];
  for (let t = 0; t < tgt.count; t++) {
    const s = tgtToSrc[t]!;
    const last = srcToTgt[srcToTgt.length - 1];
    if (last && last[0] === s) last[1].push(t);
    else srcToTgt.push([s, [t]]);
  }

  const conditions = buildConditions(config, source, allCols, tgtLabels);
  let dropped = 0;
  for (let i = 0; i < n; i++) if (!valid[i]) dropped++;

  return {
    nObs: n,
    srcKeys: [...config.src_dist_keys],
    tgtKeys: [...config.tgt_dist_keys],
    srcLabels,
    tgtLabels,
    srcRows: srcGroups.rows,
    srcOffsets: srcGroups.offsets,
    tgtRows: tgtGroups.rows,
    tgtOffsets: tgtGroups.offsets,
    tgtToSrc,
    srcToTgt,
    conditions,
    controlValue,
    droppedCells: dropped,
  };
}

/**
 * The representation must exist and hold one row per cell, even where the plan reads no
 * matrix (split without --digest, streaming's planning pass): a wrong data_location or a
 * matrix of another length is found before anything is measured or copied.
 */
function checkRepresentation(config: DataManagerConfig, source: DatasetSource): void {
  const info = source.matrixInfo(config.data_location);
  const rows = info.shape[0];
  if (rows !== source.nObs) {
    throw new CellbudgetError('H5AD_INVALID', `${source.name}: ${config.data_location.join('/')} has ${rows.toLocaleString('en-US')} rows but obs has ${source.nObs.toLocaleString('en-US')} cells; a representation holds one row per cell.`, {
      file: source.name,
      key: config.data_location.join('/'),
      value: { rows, n_obs: source.nObs },
      hint: 'The file is inconsistent (written by a broken exporter, or truncated): re-export it with anndata, or point data_location at a representation of the same cells.',
    });
  }
}

function buildConditions(
  config: DataManagerConfig,
  source: DatasetSource,
  cols: readonly KeyColumn[],
  tgtLabels: readonly (readonly Label[])[],
): Record<string, Float64Array>[] {
  const unsKeys = source.unsKeys();
  const embeddings = new Map<string, Embeddings>();
  for (const c of cols) {
    const rep = config.rep_keys[c.name];
    if (rep === undefined || embeddings.has(rep)) continue;
    if (!unsKeys.includes(rep)) {
      throw new CellbudgetError('UNS_MISSING_KEY', `${source.name}: rep_keys.${c.name} names uns/${rep}, which the file lacks; uns keys are: ${unsKeys.join(', ') || '(none)'}.`, {
        file: source.name,
        key: `uns/${rep}`,
        hint: 'Fix rep_keys, or store the embeddings under that uns key.',
      });
    }
    embeddings.set(rep, source.readEmbeddings(rep));
  }
  // Targets share labels heavily: one vector per (column, label), referenced by every target.
  const cache = new Map<string, Float64Array>();
  // Conditions are stacked per key in training: every embedding of one uns key must have one length.
  const lengthOf = new Map<string, { n: number; label: Label }>();
  return tgtLabels.map((labels) => {
    const cond: Record<string, Float64Array> = {};
    cols.forEach((c, j) => {
      const label = labels[j]!;
      const cacheKey = `${j}\u0000${typeof label}\u0000${String(label)}`;
      let vec = cache.get(cacheKey);
      if (!vec) {
        const rep = config.rep_keys[c.name];
        if (rep !== undefined) {
          const emb = embeddings.get(rep)!;
          const found = embeddingKeys(label).map((k) => emb.get(k)).find((v) => v !== undefined);
          if (!found) {
            throw new CellbudgetError('UNS_MISSING_KEY', `${source.name}: uns/${rep} has no embedding for ${c.name} = ${formatLabel(label)}.`, {
              file: source.name,
              key: `uns/${rep}/${String(label)}`,
              hint: `Every ${c.name} value of a perturbed cell needs an embedding under uns/${rep}.`,
            });
          }
          vec = Float64Array.from(found);
          const seen = lengthOf.get(rep);
          if (seen === undefined) lengthOf.set(rep, { n: vec.length, label });
          else if (seen.n !== vec.length) {
            throw new CellbudgetError('H5AD_INVALID', `${source.name}: the embeddings in uns/${rep} differ in length: ${formatLabel(seen.label)} has ${seen.n} values, ${formatLabel(label)} has ${vec.length}.`, {
              file: source.name,
              key: `uns/${rep}/${String(label)}`,
              value: { [String(seen.label)]: seen.n, [String(label)]: vec.length },
              hint: `Every vector under uns/${rep} must have the same length (one embedding space); re-export the embeddings.`,
            });
          }
        } else if (typeof label === 'number' || typeof label === 'boolean') {
          vec = Float64Array.of(Number(label));
        } else {
          throw new CellbudgetError('CONFIG_INVALID', `${c.name} has text labels (e.g. ${formatLabel(label)}) but no entry in rep_keys, so it has no numeric condition.`, {
            key: `rep_keys.${c.name}`,
            value: label,
            hint: `Add "rep_keys": {"${c.name}": "<uns key with its embeddings>"}; only numeric keys (e.g. a dose) may go without one.`,
          });
        }
        cache.set(cacheKey, vec);
      }
      cond[c.name] = vec;
    });
    return cond;
  });
}

function isMatrix(x: RowReader | Matrix): x is Matrix {
  return 'format' in x;
}

// Window read per call from a RowReader. Small enough that the transient (the JS window,
// h5wasm's copy of it, WebAssembly heap growth that never shrinks) stays a few MB, large
// enough that per-call overhead does not dominate: ~4 MB.
export const MATERIALIZE_WINDOW_BYTES = 4 * 1024 * 1024;

export interface MaterializeOptions {
  /** Bytes per window read from a RowReader (default MATERIALIZE_WINDOW_BYTES). */
  readonly windowBytes?: number;
}

/**
 * Copy each distribution's rows out of the representation into its own dense array
 * (dtype preserved; CSR rows densified, as the reference does). `select` limits which
 * distributions are copied. Reads the representation once, in row order.
 */
export function materialize(plan: GroupPlan, rows: RowReader | Matrix, select?: MaterializeSelect, options: MaterializeOptions = {}): GroupedDistribution {
  const ns = nSrc(plan);
  const nt = nTgt(plan);
  const srcSelected = new Uint8Array(ns);
  const tgtSelected = new Uint8Array(nt);
  if (select?.src) for (const s of select.src) srcSelected[s] = 1;
  else srcSelected.fill(1);
  if (select?.tgt) for (const t of select.tgt) tgtSelected[t] = 1;
  else tgtSelected.fill(1);

  // Per row: destination distribution (sources first, then targets) and position in it.
  const dest = new Int32Array(plan.nObs).fill(-1);
  const pos = new Int32Array(plan.nObs);
  let firstRow = plan.nObs;
  let lastRow = -1;
  const mark = (rowsArr: Int32Array, offsets: Int32Array, d: number, base: number): void => {
    for (let k = offsets[d]!; k < offsets[d + 1]!; k++) {
      const r = rowsArr[k]!;
      dest[r] = base + d;
      pos[r] = k - offsets[d]!;
      if (r < firstRow) firstRow = r;
      if (r > lastRow) lastRow = r;
    }
  };
  for (let s = 0; s < ns; s++) if (srcSelected[s]) mark(plan.srcRows, plan.srcOffsets, s, 0);
  for (let t = 0; t < nt; t++) if (tgtSelected[t]) mark(plan.tgtRows, plan.tgtOffsets, t, ns);

  let dtype: FloatDtype;
  let cols: number;
  let firstWindow: DenseMatrix | null = null;
  let window = 1;
  if (isMatrix(rows)) {
    dtype = rows.dtype;
    cols = rows.cols;
  } else {
    // The reader tells its dtype and width only by reading: read the first window now.
    const probeEnd = Math.min(plan.nObs, Math.max(firstRow, 0) + 1);
    const probe = rows.readRows(Math.max(firstRow, 0), probeEnd);
    dtype = probe.dtype;
    cols = probe.cols;
    window = Math.max(1, Math.floor((options.windowBytes ?? MATERIALIZE_WINDOW_BYTES) / Math.max(1, cols * itemSize(dtype))));
    if (lastRow >= 0) firstWindow = rows.readRows(firstRow, Math.min(lastRow + 1, firstRow + window));
  }

  const alloc = (n: number): DenseMatrix => ({ format: 'dense', dtype, rows: n, cols, data: allocFloat(dtype, n * cols) });
  const srcData = Array.from({ length: ns }, (_, s) => alloc(srcSelected[s] ? plan.srcOffsets[s + 1]! - plan.srcOffsets[s]! : 0));
  const tgtData = Array.from({ length: nt }, (_, t) => alloc(tgtSelected[t] ? plan.tgtOffsets[t + 1]! - plan.tgtOffsets[t]! : 0));
  const targets: FloatArray[] = [...srcData.map((m) => m.data), ...tgtData.map((m) => m.data)];

  const scatterDense = (block: FloatArray, start: number, end: number): void => {
    for (let r = start; r < end; r++) {
      const d = dest[r]!;
      if (d < 0) continue;
      const b = (r - start) * cols;
      // set() copies at memcpy speed (source and target share the dtype); measured faster than a JS loop.
      targets[d]!.set(block.subarray(b, b + cols), pos[r]! * cols);
    }
  };

  if (lastRow < 0) return { plan, srcData, tgtData, srcSelected, tgtSelected };
  if (isMatrix(rows)) {
    if (rows.format === 'dense') {
      scatterDense(rows.data.subarray(firstRow * cols, (lastRow + 1) * cols), firstRow, lastRow + 1);
    } else {
      for (let r = firstRow; r <= lastRow; r++) {
        const d = dest[r]!;
        if (d < 0) continue;
        const out = targets[d]!;
        const o = pos[r]! * cols;
        for (let k = rows.indptr[r]!; k < rows.indptr[r + 1]!; k++) out[o + rows.indices[k]!] = rows.data[k]!;
      }
    }
  } else {
    let start = firstRow;
    let block: DenseMatrix | null = firstWindow;
    let buffer: FloatArray | undefined;
    const anyKept = (a: number, b: number): boolean => {
      for (let r = a; r < b; r++) if (dest[r]! >= 0) return true;
      return false;
    };
    while (start <= lastRow) {
      const end = Math.min(lastRow + 1, start + window);
      // A window with no kept row is never read (secondaries keep only their test cells).
      if (!block && !anyKept(start, end)) {
        start = end;
        continue;
      }
      if (!block) {
        buffer ??= allocFloat(dtype, window * cols);
        block = rows.readRows(start, end, buffer);
      }
      scatterDense(block.data, start, end);
      block = null;
      start = end;
    }
  }
  return { plan, srcData, tgtData, srcSelected, tgtSelected };
}

/** Bytes of the plan's own arrays (row positions, offsets, conditions). */
export function planBytes(plan: GroupPlan): number {
  let b = plan.srcRows.byteLength + plan.srcOffsets.byteLength + plan.tgtRows.byteLength + plan.tgtOffsets.byteLength + plan.tgtToSrc.byteLength;
  const seen = new Set<Float64Array>();
  for (const c of plan.conditions) for (const v of Object.values(c)) if (!seen.has(v)) {
    seen.add(v);
    b += v.byteLength;
  }
  return b;
}

/** Live bytes of a GroupedDistribution: its data arrays plus the plan's arrays. */
export function groupedBytes(gd: GroupedDistribution): number {
  let b = planBytes(gd.plan);
  for (const m of gd.srcData) b += m.data.byteLength;
  for (const m of gd.tgtData) b += m.data.byteLength;
  return b;
}

/** `DataManager.prepare_data`: plan from obs, then copy every distribution out of the representation. */
export function prepareData(config: DataManagerConfig, source: DatasetSource): GroupedDistribution {
  const plan = planGroups(config, source);
  return materialize(plan, source.readMatrix(config.data_location));
}
