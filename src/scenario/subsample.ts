/**
 * A rung of a real file: which rows to keep so that the rung holds about `scale` of the file's
 * cells in *whole conditions* (docs/your-own-files.md). Conditions are tuples of obs values on
 * a few axes (a cell line; a drug with all its doses): a rung keeps a subset of each axis's
 * values, every cell of every kept combination, and the control cells of what it keeps. So
 * per-distribution array sizes stay those of the full file, as the synthetic datasets' rungs
 * keep them (./synthetic.ts), and the axis the program splits by keeps the full file's
 * train/val/test shares. Which values are kept is seeded. Pure: it reads obs through the
 * DatasetSource interface.
 */
import type { DatasetSource, Label } from '../core/data.js';
import { CellbudgetError } from '../core/errors.js';
import type { DerivedFlag, PipelineConfig } from '../pipeline/config.js';
import { combineKeys, keyColumn, type KeyColumn } from '../pipeline/keys.js';
import { RandomState } from '../pipeline/random.js';
import { roundShare } from '../pipeline/round.js';
import type { DatasetDef } from './model.js';
import { matchingAxis, splitShares } from './synthetic.js';

/** What makes a condition in a file, and how a rung keeps them. */
export interface ConditionKeys {
  /** Where the keys come from: the scenario's pipeline, or the dataset's `subsample.by`. */
  readonly from: 'pipeline' | 'by';
  /** The axes; each a list of obs columns whose value tuples a rung keeps a subset of. */
  readonly axes: readonly (readonly string[])[];
  /** The columns whose value tuples are the conditions counted (the pipeline's src + tgt keys: its targets). */
  readonly conditionColumns: readonly string[];
  /**
   * Per axis, whether control cells are judged on it. The pipeline's controls belong to their
   * source (its src keys), whatever their target values; with `by`, every axis judges a control
   * on the values it shares with perturbed cells (a control-only value such as DMSO is not one).
   */
  readonly controlAxes: readonly boolean[] | 'shared-values';
  /** Control cells: a boolean column or a derived flag; none: every cell is a condition's. */
  readonly control?: string | DerivedFlag;
  /** The columns train/val/test are split by, and the ratios: a rung keeps the shares. */
  readonly split?: { readonly by: readonly string[]; readonly ratios: readonly [number, number, number] };
  readonly seed: number;
}

/**
 * The condition keys of a `file:` dataset: its `subsample.by` when given, else the pipeline's
 * keys (source axis: src_dist_keys; perturbation axis: the tgt keys the split is by, else the
 * first tgt key, so a kept drug keeps all its doses). Throws SCENARIO_INVALID when neither is known.
 */
export function conditionKeys(
  dataset: Pick<DatasetDef, 'name' | 'subsample'>,
  pipeline: PipelineConfig | undefined,
  where: string,
): ConditionKeys {
  const sub = dataset.subsample;
  const seed = sub?.seed ?? 0;
  if (sub?.by !== undefined) {
    return {
      from: 'by',
      axes: sub.by.map((c) => [c]),
      conditionColumns: sub.by,
      controlAxes: 'shared-values',
      ...(sub.control !== undefined ? { control: sub.control } : {}),
      ...(sub.split_by !== undefined && sub.ratios !== undefined ? { split: { by: sub.split_by, ratios: sub.ratios } } : {}),
      seed,
    };
  }
  if (pipeline === undefined) {
    throw new CellbudgetError(
      'SCENARIO_INVALID',
      `${where}: dataset '${dataset.name}' is a file, and below scale 1 a rung keeps whole conditions of it; which obs columns make a condition is not known (the scenario has no pipeline).`,
      {
        key: `datasets.${dataset.name}.subsample`,
        hint: 'Say it on the dataset, e.g. `subsample: { by: [cell_line, drug], control: { column: drug, equals: DMSO_TF }, split_by: [drug], ratios: [0.7, 0.15, 0.15] }` (control, split_by and ratios are optional).',
      },
    );
  }
  const tgtSplit = pipeline.tgt_dist_keys.filter((k) => pipeline.split.split_by.includes(k));
  const perturbation = tgtSplit.length > 0 ? tgtSplit : [pipeline.tgt_dist_keys[0]!];
  return {
    from: 'pipeline',
    axes: [pipeline.src_dist_keys, perturbation],
    conditionColumns: [...pipeline.src_dist_keys, ...pipeline.tgt_dist_keys],
    controlAxes: [true, false],
    control: pipeline.dist_flag_key,
    split: { by: pipeline.split.split_by, ratios: pipeline.split.ratios },
    seed,
  };
}

/** One axis of a selection: its columns, how many of its values were kept, the kept value tuples. */
export interface AxisSelection {
  readonly columns: readonly string[];
  readonly kept: number;
  /** Values carried by perturbed cells (the ones a rung chooses among). */
  readonly total: number;
  readonly keptValues: readonly (readonly Label[])[];
}

/** The rows a rung keeps and what they add up to. */
export interface ConditionSelection {
  /** Kept rows of the file, ascending (the rung's rows, in file order). */
  readonly rows: Int32Array;
  readonly cells: number;
  readonly totalCells: number;
  readonly requestedScale: number;
  /** cells / totalCells: conditions are discrete, so this is what a ladder fits on. */
  readonly reachedScale: number;
  /** Distinct perturbed conditions (value tuples of the condition columns), kept and in the file. */
  readonly conditions: { readonly kept: number; readonly total: number };
  readonly controlCells: number;
  readonly axes: readonly AxisSelection[];
  /** The split's tuples among kept perturbed cells and the shares they give, beside the file's. */
  readonly split?: {
    readonly by: readonly string[];
    readonly kept: number;
    readonly total: number;
    readonly shares: readonly [number, number, number];
    readonly fullShares: readonly [number, number, number];
  };
  readonly notes: readonly string[];
}

/** What the selection reads of a file: obs columns. */
export type ObsReader = Pick<DatasetSource, 'name' | 'nObs' | 'obsColumnNames' | 'readObsColumn'>;

// A rung whose smallest whole-condition selection is more than this many times the cells asked
// for is refused: its figures would stand for another scale than the one asked.
export const OVERSHOOT_LIMIT = 2;

// Split shares within half a percent of the full file's count as kept (see matchingAxis).
const SHARE_TOLERANCE = 0.005;

function readColumn(source: ObsReader, name: string, cache: Map<string, KeyColumn>): KeyColumn {
  let col = cache.get(name);
  if (col === undefined) {
    const names = source.obsColumnNames();
    if (!names.includes(name)) {
      throw new CellbudgetError(
        'OBS_MISSING_COLUMN',
        `${source.name}: obs has no column '${name}'; columns are: ${names.join(', ') || '(none)'}.`,
        {
          file: source.name,
          key: `obs/${name}`,
          hint: 'Fix the condition keys (the pipeline keys, or the dataset’s subsample.by), or add the column to the file.',
        },
      );
    }
    col = keyColumn(source.readObsColumn(name));
    cache.set(name, col);
  }
  return col;
}

/** Per row: 1 control, 0 perturbed, -1 flag missing (in no condition). */
function controlStates(source: ObsReader, flag: string | DerivedFlag | undefined, cache: Map<string, KeyColumn>): Int8Array {
  const n = source.nObs;
  const state = new Int8Array(n);
  if (flag === undefined) return state;
  const name = typeof flag === 'string' ? flag : flag.column;
  const k = readColumn(source, name, cache);
  if (typeof flag === 'string') {
    const isBool = k.labels.length <= 2 && k.labels.every((l) => typeof l === 'boolean');
    if (!isBool) {
      throw new CellbudgetError('OBS_FLAG_NOT_BOOLEAN', `${source.name}: the control column obs/${name} is not boolean.`, {
        file: source.name,
        key: `obs/${name}`,
        hint: `Name a boolean column, or derive the flag from a value: control: { column: ${name}, equals: <control value> }.`,
      });
    }
  }
  const want = typeof flag === 'string' ? k.labels.indexOf(true) : k.labels.indexOf(flag.equals);
  for (let i = 0; i < n; i++) {
    const c = k.codes[i]!;
    state[i] = c < 0 ? -1 : c === want ? 1 : 0;
  }
  return state;
}

interface Axis {
  readonly columns: readonly string[];
  readonly cols: readonly KeyColumn[];
  /** Per row: the index of its value among the pickable ones, -1 when missing, -2 when not pickable (2 bytes a row while that fits). */
  readonly value: Int16Array | Int32Array;
  /** Pickable values (carried by a perturbed cell), as a first row carrying each. */
  readonly firstRow: Int32Array;
}

function buildAxis(columns: readonly string[], cols: readonly KeyColumn[], state: Int8Array): Axis {
  const n = state.length;
  const key = combineKeys(cols, n);
  const pickable = new Int32Array(key.count).fill(-1);
  for (let i = 0; i < n; i++) if (state[i] === 0 && key.codes[i]! >= 0) pickable[key.codes[i]!] = 0;
  let count = 0;
  const firstRow: number[] = [];
  for (let c = 0; c < key.count; c++) {
    if (pickable[c] === 0) {
      pickable[c] = count++;
      firstRow.push(key.firstRow[c]!);
    }
  }
  const value = count < 0x7fff ? new Int16Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = key.codes[i]!;
    value[i] = c < 0 ? -1 : pickable[c]! < 0 ? -2 : pickable[c]!;
  }
  return { columns, cols, value, firstRow: Int32Array.from(firstRow) };
}

/** Combinations of axis values and their cells; a digit of -1 is a wildcard (controls only). */
interface Tally {
  readonly digits: Int32Array[];
  readonly cells: Float64Array;
}

// Up to this many possible combinations are counted in a table, beyond it in a Map.
const TABLE_LIMIT = 1 << 22;

/** Counts of digit tuples (each digit in [-1, radix - 1]) keyed by a mixed-radix number. */
class Tallier {
  private readonly radix: number[];
  private readonly table: Float64Array | null;
  private readonly map = new Map<number, number>();

  constructor(sizes: readonly number[]) {
    // Digits shifted by one: 0 is the wildcard.
    this.radix = sizes.map((s) => s + 1);
    const range = this.radix.reduce((a, b) => a * b, 1);
    this.table = range <= TABLE_LIMIT ? new Float64Array(range) : null;
  }

  add(digits: readonly number[]): void {
    let k = 0;
    for (let a = 0; a < digits.length; a++) k = k * this.radix[a]! + digits[a]! + 1;
    if (this.table) this.table[k]!++;
    else this.map.set(k, (this.map.get(k) ?? 0) + 1);
  }

  result(): Tally {
    const entries: Array<[number, number]> = [];
    if (this.table) this.table.forEach((c, k) => c > 0 && entries.push([k, c]));
    else entries.push(...this.map.entries());
    const digits = this.radix.map(() => new Int32Array(entries.length));
    const cells = new Float64Array(entries.length);
    entries.forEach(([key, c], j) => {
      let k = key;
      for (let a = this.radix.length - 1; a >= 0; a--) {
        digits[a]![j] = (k % this.radix[a]!) - 1;
        k = Math.floor(k / this.radix[a]!);
      }
      cells[j] = c;
    });
    return { digits, cells };
  }
}

/** Cells of a tally whose digits are kept (or wildcards), per value of axis `f` (others judged), plus the wildcard-on-f part. */
function contributions(t: Tally, kept: readonly Uint8Array[], f: number, nF: number): { perValue: Float64Array; constant: number } {
  const perValue = new Float64Array(nF);
  let constant = 0;
  const m = t.cells.length;
  outer: for (let j = 0; j < m; j++) {
    for (let a = 0; a < kept.length; a++) {
      if (a === f) continue;
      const d = t.digits[a]![j]!;
      if (d >= 0 && kept[a]![d] === 0) continue outer;
    }
    const d = t.digits[f]![j]!;
    if (d < 0) constant += t.cells[j]!;
    else perValue[d]! += t.cells[j]!;
  }
  return { perValue, constant };
}

/** Smallest number of split values that gives train, val and test at least one each, or null. */
export function minSplitValues(ratios: readonly [number, number, number], max: number): number | null {
  for (let n = 3; n <= max; n++) {
    const train = roundShare(ratios[0], n);
    const val = roundShare(ratios[1], n);
    if (train >= 1 && val >= 1 && n - train - val >= 1) return n;
  }
  return null;
}

function shareError(ratios: readonly [number, number, number], n: number, full: number): number {
  const want = splitShares(ratios, full);
  const got = splitShares(ratios, n);
  return Math.max(...got.map((v, i) => Math.abs(v - want[i]!)));
}

const fmtScale = (s: number): string => (s >= 0.01 ? s.toFixed(3) : s.toPrecision(2));

/**
 * The rows a rung at `scale` keeps (see the module comment). Below scale 1: the split axis
 * (the axis whose columns are the split's) takes a size whose split shares match the file's;
 * the other axes shrink by the same factor; then the axis with the most values ("fill") takes
 * the count whose cells come closest to `scale` of the file. Every value is kept whole. Refuses
 * (SCENARIO_IMPOSSIBLE) a scale at which even the smallest such selection keeps more than
 * OVERSHOOT_LIMIT times the cells asked for, or a file whose split cannot give every split a
 * condition.
 */
export function selectConditions(source: ObsReader, keys: ConditionKeys, scale: number): ConditionSelection {
  if (!(scale > 0 && scale <= 1)) {
    throw new CellbudgetError('USAGE', `A rung's scale must be in (0, 1], got ${scale}.`, {
      value: scale,
      hint: 'Pass e.g. 0.03125 (1/32).',
    });
  }
  const n = source.nObs;
  const cache = new Map<string, KeyColumn>();
  const state = controlStates(source, keys.control, cache);
  const axes: Axis[] = keys.axes.map((columns) =>
    buildAxis(
      columns,
      columns.map((c) => readColumn(source, c, cache)),
      state,
    ),
  );
  const sizes = axes.map((a) => a.firstRow.length);
  const nAxes = axes.length;
  const notes: string[] = [];
  if (sizes.some((s) => s === 0)) {
    throw new CellbudgetError(
      'SCENARIO_IMPOSSIBLE',
      `${source.name}: no perturbed cell carries a value of ${keys.axes.map((a) => a.join('+')).join(', ')}: there is no condition to keep.`,
      {
        file: source.name,
        hint: 'Check the condition keys and the control flag.',
      },
    );
  }
  const controlAxes = keys.controlAxes === 'shared-values' ? axes.map(() => true) : keys.controlAxes;

  // Tally perturbed cells per value combination and control cells per pattern (wildcards where
  // an axis does not judge them, or their value is control-only).
  const perturbed = new Tallier(sizes);
  const controls = new Tallier(sizes);
  let missing = 0;
  let orphans = 0;
  const digit = new Array<number>(nAxes);
  for (let i = 0; i < n; i++) {
    const s = state[i]!;
    if (s < 0) {
      missing++;
      continue;
    }
    // Why the row is in no condition: 1 a missing key, 2 a control sharing no value with a perturbed cell.
    let out = 0;
    let anyJudged = false;
    for (let a = 0; a < nAxes; a++) {
      const v = axes[a]!.value[i]!;
      if (s === 0) {
        if (v < 0) out = 1;
        digit[a] = v;
      } else if (!controlAxes[a] || (keys.controlAxes === 'shared-values' && v === -2)) digit[a] = -1;
      else if (v < 0) out = out || (v === -2 ? 2 : 1);
      else {
        digit[a] = v;
        anyJudged = true;
      }
    }
    if (out === 0 && s === 1 && !anyJudged) out = 2;
    if (out === 1) missing++;
    if (out === 2) orphans++;
    if (out !== 0) continue;
    (s === 0 ? perturbed : controls).add(digit);
  }
  if (keys.control === undefined && keys.from === 'by') {
    notes.push('no control flag given (subsample.control): control cells, if any, are kept or dropped as a condition of their own');
  }
  if (missing > 0)
    notes.push(`${missing.toLocaleString('en-US')} cells with a missing key or flag belong to no condition and are not in any rung`);
  if (orphans > 0)
    notes.push(`${orphans.toLocaleString('en-US')} control cells share no value with a perturbed cell and are not in any rung`);
  const pert = perturbed.result();
  const ctrl = controls.result();

  // Split axis: the axis whose columns are the split's.
  const split = keys.split;
  const splitAxis = split
    ? axes.findIndex((a) => a.columns.length === split.by.length && split.by.every((c) => a.columns.includes(c)))
    : -1;
  let minSplit = 1;
  if (split && splitAxis >= 0) {
    const m = minSplitValues(split.ratios, sizes[splitAxis]!);
    if (m === null) {
      throw new CellbudgetError(
        'SCENARIO_IMPOSSIBLE',
        `${source.name}: its ${sizes[splitAxis]} value(s) of ${split.by.join('+')} cannot be split [${split.ratios.join(', ')}] with at least one in each of train, val and test, at any scale.`,
        { file: source.name, hint: 'Split by another key, or change the ratios.' },
      );
    }
    minSplit = m;
  }

  const rs = new RandomState(keys.seed);
  const perms = sizes.map((s) => rs.permutation(s));
  const mins = sizes.map((_, a) => (a === splitAxis ? minSplit : 1));
  const target = scale * n;

  const keptSets = (counts: readonly number[]): Uint8Array[] =>
    counts.map((c, a) => {
      const k = new Uint8Array(sizes[a]!);
      for (let r = 0; r < c; r++) k[perms[a]![r]!] = 1;
      return k;
    });

  // The fill axis: the non-split axis with the most values (the split axis when it is alone).
  let fill = -1;
  for (let a = 0; a < nAxes; a++) if (a !== splitAxis && (fill < 0 || sizes[a]! > sizes[fill]!)) fill = a;
  if (fill < 0) fill = splitAxis;

  /** With the other axes at `counts`, the fill axis's count closest to the target, and the cells it gives. */
  const fillTo = (counts: number[]): { counts: number[]; cells: number } => {
    const kept = keptSets(counts);
    const p = contributions(pert, kept, fill, sizes[fill]!);
    const c = contributions(ctrl, kept, fill, sizes[fill]!);
    let cells = p.constant + c.constant;
    let best = -1;
    let bestCells = Infinity;
    const full = sizes[fill]!;
    for (let r = 0; r < full; r++) {
      const v = perms[fill]![r]!;
      cells += p.perValue[v]! + c.perValue[v]!;
      const count = r + 1;
      if (count < mins[fill]!) continue;
      if (fill === splitAxis && split && shareError(split.ratios, count, full) > SHARE_TOLERANCE && count !== full) continue;
      if (best < 0 || Math.abs(cells - target) < Math.abs(bestCells - target)) {
        best = count;
        bestCells = cells;
      }
    }
    if (best < 0) {
      // No count keeps the shares: the smallest count that splits at all.
      best = mins[fill]!;
      bestCells = countCells(pert, ctrl, keptSets(counts.map((x, a) => (a === fill ? best : x))));
    }
    const out = [...counts];
    out[fill] = best;
    return { counts: out, cells: bestCells };
  };

  let chosen: { counts: number[]; cells: number };
  if (scale >= 1) chosen = { counts: [...sizes], cells: countCells(pert, ctrl, keptSets(sizes)) };
  else {
    const k = scale ** (1 / nAxes);
    const start = sizes.map((s, a) => Math.min(s, Math.max(mins[a]!, Math.round(s * k))));
    if (split && splitAxis >= 0 && splitAxis !== fill)
      start[splitAxis] = matchingAxis(start[splitAxis]!, minSplit, sizes[splitAxis]!, split.ratios);
    chosen = fillTo(start);
    if (chosen.cells > OVERSHOOT_LIMIT * target) {
      // Too many even with one fill value: the other axes at their smallest (the split axis at
      // a share-keeping size first, then at the smallest that splits at all).
      const small = sizes.map((s, a) => (a === fill ? s : mins[a]!));
      if (split && splitAxis >= 0 && splitAxis !== fill)
        small[splitAxis] = matchingAxis(minSplit, minSplit, sizes[splitAxis]!, split.ratios);
      let again = fillTo(small);
      if (again.cells > OVERSHOOT_LIMIT * target && splitAxis >= 0 && splitAxis !== fill) {
        small[splitAxis] = minSplit;
        const bare = fillTo(small);
        if (bare.cells < again.cells) again = bare;
      }
      if (again.cells < chosen.cells) chosen = again;
    }
    if (chosen.cells > OVERSHOOT_LIMIT * target) {
      const smallest = chosen.cells / n;
      throw new CellbudgetError(
        'SCENARIO_IMPOSSIBLE',
        `${source.name}: at scale ${fmtScale(scale)} a rung would hold about ${Math.round(target).toLocaleString('en-US')} of its ${n.toLocaleString('en-US')} cells, but the smallest rung of whole conditions (${describeCounts(axes, chosen.counts)}${split ? `, at least one ${split.by.join('+')} value in each of train, val and test` : ''}${keys.control !== undefined ? ', with their controls' : ''}) holds ${chosen.cells.toLocaleString('en-US')} cells (scale ${fmtScale(smallest)}).`,
        {
          file: source.name,
          value: { scale, smallest_scale: smallest },
          hint: `Use scales of at least ${fmtScale(smallest / OVERSHOOT_LIMIT)} for this file (each rung holds at most ${OVERSHOOT_LIMIT} times the cells asked for), or condition keys with smaller conditions.`,
        },
      );
    }
  }

  // The rows, in file order.
  const kept = keptSets(chosen.counts);
  const rows = new Int32Array(Math.round(chosen.cells));
  let r = 0;
  let controlCells = 0;
  rowLoop: for (let i = 0; i < n; i++) {
    const s = state[i]!;
    if (s < 0) continue;
    let judged = false;
    for (let a = 0; a < nAxes; a++) {
      const v = axes[a]!.value[i]!;
      if (s === 1 && (!controlAxes[a] || (keys.controlAxes === 'shared-values' && v === -2))) continue;
      if (v < 0 || kept[a]![v] === 0) continue rowLoop;
      judged = true;
    }
    if (s === 1 && !judged) continue;
    if (s === 1) controlCells++;
    rows[r++] = i;
  }
  if (r !== rows.length) throw new Error(`selectConditions: counted ${rows.length} cells but found ${r}`);

  // What the rung holds: conditions (tuples of the condition columns) and the split's tuples
  // among perturbed cells, in the file and in the rung. One pass of codes each, not two.
  const axisSummary = axes.map((a, i) => ({
    columns: a.columns,
    kept: chosen.counts[i]!,
    total: sizes[i]!,
    keptValues: Array.from(perms[i]!.subarray(0, chosen.counts[i]!))
      .sort((x, y) => x - y)
      .map((v) => a.cols.map((c) => c.labels[c.codes[a.firstRow[v]!]!]!)),
  }));
  axes.length = 0;
  for (let i = 0; i < n; i++) if (state[i] !== 0) state[i] = -1;
  const distinct = (columns: readonly string[]): { total: number; kept: number } => {
    const k = combineKeys(
      columns.map((c) => readColumn(source, c, cache)),
      n,
      state,
    );
    const seen = new Uint8Array(k.count);
    let kept = 0;
    for (const row of rows) {
      const c = k.codes[row]!;
      if (c >= 0 && seen[c] === 0) {
        seen[c] = 1;
        kept++;
      }
    }
    return { total: k.count, kept };
  };
  const conditions = distinct(keys.conditionColumns);

  let splitOut: ConditionSelection['split'];
  if (split) {
    const { total, kept: keptCount } = distinct(split.by);
    const m = minSplitValues(split.ratios, keptCount);
    if (scale < 1 && m === null) {
      throw new CellbudgetError(
        'SCENARIO_IMPOSSIBLE',
        `${source.name}: at scale ${fmtScale(scale)} the rung's perturbed cells carry ${keptCount} value(s) of ${split.by.join('+')}, too few to give train, val and test one each.`,
        { file: source.name, hint: 'Raise the scale, or subsample by the split columns (`subsample.by`).' },
      );
    }
    const shares = splitShares(split.ratios, Math.max(keptCount, 1));
    const fullShares = splitShares(split.ratios, total);
    if (scale < 1 && Math.max(...shares.map((v, i) => Math.abs(v - fullShares[i]!))) > SHARE_TOLERANCE) {
      notes.push(
        `the rung's ${keptCount} ${split.by.join('+')} values split ${shares.map((v) => v.toFixed(3)).join('/')}, the file's ${total} split ${fullShares.map((v) => v.toFixed(3)).join('/')}`,
      );
    }
    splitOut = { by: split.by, kept: keptCount, total, shares, fullShares };
  }

  return {
    rows,
    cells: rows.length,
    totalCells: n,
    requestedScale: scale,
    reachedScale: n === 0 ? 0 : rows.length / n,
    conditions,
    controlCells,
    axes: axisSummary,
    ...(splitOut ? { split: splitOut } : {}),
    notes,
  };
}

function countCells(pert: Tally, ctrl: Tally, kept: readonly Uint8Array[]): number {
  let cells = 0;
  for (const t of [pert, ctrl]) {
    outer: for (let j = 0; j < t.cells.length; j++) {
      for (let a = 0; a < kept.length; a++) {
        const d = t.digits[a]![j]!;
        if (d >= 0 && kept[a]![d] === 0) continue outer;
      }
      cells += t.cells[j]!;
    }
  }
  return cells;
}

function describeCounts(axes: readonly Axis[], counts: readonly number[]): string {
  return axes.map((a, i) => `${counts[i]} ${a.columns.join('+')}`).join(' x ');
}
