/**
 * The GroupedDistributionSplitter: assign the unique split_by tuples of the targets to
 * train / val / test (from labels alone), then cut a GroupedDistribution into splits that
 * reference its arrays. Semantics: docs/reference-semantics.md#splitting, with the intended behaviour of
 * force_training_values / holdout_combinations rather than the reference's defect
 * (docs/reference-semantics.md#where-we-differ-on-purpose).
 */
import { CellbudgetError } from '../core/errors.js';
import type { DenseMatrix, Label } from '../core/data.js';
import { SPLITS } from '../core/names.js';
import type { Split } from '../core/names.js';
import type { SplitConfig } from './config.js';
import type { DistributionCopy, GroupPlan, GroupedDistribution } from './grouping.js';
import { nSrc, nTgt } from './grouping.js';
import { RandomState } from './random.js';
import { roundShare } from './round.js';
import { digestPooled, SplitHasher } from './digest.js';
export { digestPooled } from './digest.js';
export type { PooledLayout } from './digest.js';

/** Which targets (and so sources) each split keeps. Depends on labels only. */
export interface SplitAssignment {
  /** The unique split_by tuples, in target-index order of first appearance. */
  readonly tuples: readonly (readonly Label[])[];
  /** Per target: index into `tuples`. */
  readonly tupleOfTgt: Int32Array;
  /** Per tuple: its split. */
  readonly tupleSplit: readonly Split[];
  /** Per tuple: 1 when forced into train (force_training_values / holdout_combinations). */
  readonly forced: Uint8Array;
  /** Number of tuples per split. */
  readonly sizes: Readonly<Record<Split, number>>;
  /** What the user should know about this split that is not an error (an empty test split, as the reference makes it). */
  readonly warnings: readonly string[];
  /** Per split: target indices ascending, source indices ascending, and the filtered src_to_tgt. */
  readonly tgt: Readonly<Record<Split, Int32Array>>;
  readonly src: Readonly<Record<Split, Int32Array>>;
  readonly srcToTgt: Readonly<Record<Split, ReadonlyArray<readonly [number, readonly number[]]>>>;
}

/** One split: indices into the GroupedDistribution and the arrays it keeps (shared, not copied). */
export interface DistributionSplit {
  readonly split: Split;
  readonly tgt: Int32Array;
  readonly src: Int32Array;
  readonly srcToTgt: ReadonlyArray<readonly [number, readonly number[]]>;
  /** tgtData[i] is the data of target tgt[i]. */
  readonly tgtData: readonly DenseMatrix[];
  /** srcData[i] is the data of source src[i]. */
  readonly srcData: readonly DenseMatrix[];
  readonly conditions: ReadonlyArray<Readonly<Record<string, Float64Array>>>;
}

function sameLabel(a: Label, b: Label): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

function matchesForced(value: Label, wanted: Label | readonly Label[]): boolean {
  return Array.isArray(wanted) ? wanted.some((w: Label) => sameLabel(value, w)) : sameLabel(value, wanted as Label);
}

/**
 * Sizes of train / val / test for n tuples, as the reference computes them: train =
 * round(r0·n), val = round(r1·n), test = n − train − val. The reference refuses when any of
 * round(r·n) is 0 (test's own round included) but not when the remainder for test is 0
 * (3 tuples at 0.5/0.25/0.25 → 2, 1, 0): that split comes back with a warning.
 */
export function splitSizes(n: number, ratios: readonly [number, number, number]): Record<Split, number> & { warnings: string[] } {
  const train = roundShare(ratios[0], n);
  const val = roundShare(ratios[1], n);
  const rounded = { train, val, test: roundShare(ratios[2], n) };
  for (const s of SPLITS) {
    if (rounded[s] === 0) {
      throw new CellbudgetError(
        'SPLIT_TOO_SMALL',
        `With ${n} unique split_by tuple(s) and ratios [${ratios.join(', ')}], the ${s} split would get 0 tuples (round(${ratios[SPLITS.indexOf(s)]}·${n}) = 0); the reference refuses this too.`,
        {
          key: 'split.ratios',
          value: { n, ratios },
          hint: "Split by finer keys (add a key to split_by so there are more unique tuples), or raise that split's ratio.",
        },
      );
    }
  }
  // round(r2·n) ≥ 1 means r2·n > 0.5, so train + val ≤ n and test is never negative.
  const test = n - train - val;
  const warnings =
    test === 0
      ? [
          `With ${n} unique split_by tuple(s) and ratios [${ratios.join(', ')}], the test split is empty (train ${train}, val ${val}, test ${n} − ${train} − ${val} = 0), as in the reference. Split by finer keys or change the ratios if you need a test split.`,
        ]
      : [];
  return { train, val, test, warnings };
}

/**
 * Assign targets to splits: unique split_by tuples in target order, sizes by Python's
 * round, order by numpy's RandomState(random_state).permutation; first train, then test,
 * then val. Forced tuples go to train first and count toward its size; the others are
 * permuted (permutation of their count) and fill the rest of train, then test, then val.
 */
export function assignSplits(plan: GroupPlan, split: SplitConfig): SplitAssignment {
  const keys = [...plan.srcKeys, ...plan.tgtKeys];
  const cols = split.split_by.map((k) => {
    const j = keys.indexOf(k);
    if (j < 0)
      throw new CellbudgetError(
        'CONFIG_INVALID',
        `split.split_by names '${k}', which is not a src or tgt key (keys: ${keys.join(', ')}).`,
        { key: 'split.split_by', value: k },
      );
    return j;
  });
  const nt = nTgt(plan);
  const tuples: Label[][] = [];
  const tupleOfTgt = new Int32Array(nt);
  const forced: number[] = [];
  const forceEntries = Object.entries(split.force_training_values).map(([k, v]) => {
    const j = keys.indexOf(k);
    if (j < 0 || !split.split_by.includes(k)) {
      throw new CellbudgetError(
        'CONFIG_INVALID',
        `split.force_training_values names '${k}', which is not a split_by key (split_by: ${split.split_by.join(', ')}).`,
        {
          key: `split.force_training_values.${k}`,
          value: k,
          hint: `force_training_values keys must be a subset of split_by, as in the reference: add '${k}' to split.split_by or remove it.`,
        },
      );
    }
    return [j, v] as const;
  });
  const holdoutCols = split.holdout_combinations
    ? cols.map((j, i) => [i, keys[j]!] as const).filter(([, k]) => plan.controlValue[k] !== undefined)
    : [];
  // A target's tuple is known by its split_by codes (one code per label of a key: the plan's
  // keyLabels), packed into one mixed-radix number when the combinations fit; whether a tuple
  // is forced depends on its labels only, so it is decided once, when the tuple first appears.
  const k = plan.keyLabels.length;
  const cards = cols.map((j) => Math.max(1, plan.keyLabels[j]!.length));
  const space = cards.reduce((a, c) => a * c, 1);
  // A table indexed by the packed codes when it is small (at most 4 MB), else a Map.
  const table = space <= 1 << 20 ? new Int32Array(space).fill(-1) : null;
  const packed = space <= Number.MAX_SAFE_INTEGER;
  const index = new Map<number | string, number>();
  const codes = plan.tgtCodes;
  const tupleCodes: number[] = new Array<number>(cols.length);
  for (let t = 0; t < nt; t++) {
    let key = 0;
    for (let c = 0; c < cols.length; c++) {
      const code = codes[t * k + cols[c]!]!;
      tupleCodes[c] = code;
      key = key * cards[c]! + code;
    }
    const id = table !== null || packed ? key : tupleCodes.join(',');
    let ti = table !== null ? table[key]! : (index.get(id) ?? -1);
    if (ti < 0) {
      ti = tuples.length;
      if (table !== null) table[key] = ti;
      else index.set(id, ti);
      const tuple = cols.map((j, c) => plan.keyLabels[j]![tupleCodes[c]!]!);
      tuples.push(tuple);
      // Forced when it carries a forced value (force keys are split_by keys), or, with
      // holdout_combinations, when it contains a control value.
      const labelOf = (j: number): Label => plan.keyLabels[j]![codes[t * k + j]!]!;
      forced.push(
        forceEntries.some(([j, v]) => matchesForced(labelOf(j), v)) ||
          holdoutCols.some(([i, name]) => sameLabel(tuple[i]!, plan.controlValue[name]!))
          ? 1
          : 0,
      );
    }
    tupleOfTgt[t] = ti;
  }

  const n = tuples.length;
  const sizes = splitSizes(n, split.ratios);
  const forcing = split.holdout_combinations || forceEntries.length > 0;
  const nForced = forced.reduce((a, f) => a + f, 0);
  if (forcing && nForced === 0) {
    // The reference raises here ("There must be at least one unique combination of split_by
    // keys after removing forced training combinations").
    const what =
      forceEntries.length > 0
        ? `force_training_values ${JSON.stringify(split.force_training_values)}`
        : 'holdout_combinations (a control value in a split_by key)';
    throw new CellbudgetError(
      'CONFIG_INVALID',
      `split: ${what} matches none of the ${n} split_by tuple(s); the reference refuses this too.`,
      {
        key: forceEntries.length > 0 ? 'split.force_training_values' : 'split.holdout_combinations',
        value: forceEntries.length > 0 ? split.force_training_values : true,
        hint: `Force values that occur among the targets' ${split.split_by.join(', ')} labels, or remove the setting.`,
      },
    );
  }
  if (forcing && n - nForced < (sizes.test > 0 ? 2 : 1)) {
    // The intended semantics exist so that val and test keep tuples; forcing everything
    // into train would hand training a split with nothing to validate on.
    throw new CellbudgetError(
      'SPLIT_TOO_SMALL',
      `split: ${nForced} of ${n} split_by tuple(s) are forced into train, leaving ${n - nForced} for val and test, which need ${sizes.test > 0 ? 'one each' : 'one for val'}.`,
      {
        key: forceEntries.length > 0 ? 'split.force_training_values' : 'split.holdout_combinations',
        value: { n, forced: nForced },
        hint: 'Force fewer values into train, or split by finer keys so more tuples remain.',
      },
    );
  }
  const tupleSplit: Split[] = new Array<Split>(n).fill('val');
  const forcedIdx: number[] = [];
  const free: number[] = [];
  for (let i = 0; i < n; i++) (forced[i] ? forcedIdx : free).push(i);
  for (const i of forcedIdx) tupleSplit[i] = 'train';
  const perm = new RandomState(split.random_state).permutation(free.length);
  const trainRest = Math.max(0, sizes.train - forcedIdx.length);
  // With more tuples forced than train's size, test comes first but val keeps at least one.
  const testCount = Math.min(sizes.test, Math.max(0, free.length - trainRest - 1));
  for (let p = 0; p < free.length; p++) {
    const i = free[perm[p]!]!;
    tupleSplit[i] = p < trainRest ? 'train' : p < trainRest + testCount ? 'test' : 'val';
  }
  const actual: Record<Split, number> = { train: 0, val: 0, test: 0 };
  for (const s of tupleSplit) actual[s]++;

  const tgtLists: Record<Split, number[]> = { train: [], val: [], test: [] };
  for (let t = 0; t < nt; t++) tgtLists[tupleSplit[tupleOfTgt[t]!]!].push(t);
  const mk = <T>(f: (s: Split) => T): Record<Split, T> => ({ train: f('train'), val: f('val'), test: f('test') });
  const tgt = mk((s) => Int32Array.from(tgtLists[s]));
  const srcToTgt = mk((s) => filterSrcToTgt(plan, tgt[s]));
  const src = mk((s) => Int32Array.from(srcToTgt[s], ([si]) => si));
  return { tuples, tupleOfTgt, tupleSplit, forced: Uint8Array.from(forced), sizes: actual, warnings: sizes.warnings, tgt, src, srcToTgt };
}

function filterSrcToTgt(plan: GroupPlan, tgt: Int32Array): Array<readonly [number, number[]]> {
  const keep = new Uint8Array(nTgt(plan));
  for (const t of tgt) keep[t] = 1;
  const out: Array<readonly [number, number[]]> = [];
  for (const [s, ts] of plan.srcToTgt) {
    const kept = ts.filter((t) => keep[t]);
    if (kept.length > 0) out.push([s, kept]);
  }
  return out;
}

/** Cut a GroupedDistribution into its three splits; each references the group arrays it keeps. */
export function splitGrouped(gd: GroupedDistribution, a: SplitAssignment): Record<Split, DistributionSplit> {
  if (a.tupleOfTgt.length !== gd.tgtData.length || nSrc(gd.plan) !== gd.srcData.length) {
    throw new RangeError('split assignment does not belong to this GroupedDistribution');
  }
  const one = (s: Split): DistributionSplit => ({
    split: s,
    tgt: a.tgt[s],
    src: a.src[s],
    srcToTgt: a.srcToTgt[s],
    tgtData: Array.from(a.tgt[s], (t) => gd.tgtData[t]!),
    srcData: Array.from(a.src[s], (si) => gd.srcData[si]!),
    conditions: Array.from(a.tgt[s], (t) => gd.plan.conditions[t]!),
  });
  return { train: one('train'), val: one('val'), test: one('test') };
}

/** Bytes of the data arrays a split keeps alive. */
export function splitBytes(s: DistributionSplit): number {
  let b = s.tgt.byteLength + s.src.byteLength;
  for (const m of s.tgtData) b += m.data.byteLength;
  for (const m of s.srcData) b += m.data.byteLength;
  return b;
}

/**
 * SHA-256 (hex) of a split, in this canonical order: the ASCII tag "cellbudget-split-v1";
 * the number of targets and the target indices, then the number of sources and the source
 * indices (all as little-endian int32); then for each target in `tgt` order, then each
 * source in `src` order: rows and cols as int32 LE, dtype as ASCII, and the data bytes
 * (little-endian, as the platform's typed arrays hold them).
 */
export function splitDigest(s: DistributionSplit): string {
  const h = new SplitHasher(s.tgt, s.src);
  for (const m of s.tgtData) h.add(m.rows, m.cols, m.dtype, m.data);
  for (const m of s.srcData) h.add(m.rows, m.cols, m.dtype, m.data);
  return h.hex();
}

/**
 * `splitDigest` and `splitBytes` of split `s` straight from a DistributionCopy: the same
 * digest as `splitDigest(splitGrouped(materialize(...), a)[s])`, without a matrix object
 * per distribution.
 */
export function copyDigest(c: DistributionCopy, a: SplitAssignment, s: Split): { sha256: string; bytes: number } {
  return digestPooled(
    { nSrc: nSrc(c.plan), dtype: c.dtype, cols: c.cols, pools: c.pools, poolOf: c.poolOf, elemAt: c.elemAt, rowsOf: (d) => c.rowsOf(d) },
    a.tgt[s],
    a.src[s],
  );
}
