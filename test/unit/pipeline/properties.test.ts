import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DatasetSource, Label } from '../../../src/core/data.js';
import { isCellbudgetError } from '../../../src/core/errors.js';
import { nSrc, nTgt, planGroups, prepareData } from '../../../src/pipeline/grouping.js';
import { pyRound } from '../../../src/pipeline/round.js';
import { assignSplits, splitGrouped } from '../../../src/pipeline/splitter.js';
import type { SplitAssignment } from '../../../src/pipeline/splitter.js';
import { SPLITS } from '../../../src/core/names.js';
import { cellValue, datasetArb, rowTuple, tableSource, configArb, obsTableArb } from '../../helpers/arbitraries.js';
import type { Dataset, KeySpec } from '../../helpers/arbitraries.js';

const RUNS = { seed: 42, numRuns: 150 };
const key = (l: readonly Label[]): string => JSON.stringify(l);

function compareLabel(spec: KeySpec, a: Label, b: Label): number {
  if (spec.kind === 'categorical') return spec.values.indexOf(a) - spec.values.indexOf(b);
  if (spec.kind === 'numeric') return (a as number) - (b as number);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Splits, or null when the rounding rule says a split would be empty (then SPLIT_TOO_SMALL is required). */
function trySplit(d: Dataset): { a: SplitAssignment; gd: ReturnType<typeof prepareData> } | null {
  const gd = prepareData(d.config, d.source);
  const keys = [...d.table.src, ...d.table.tgt];
  const cols = d.config.split.split_by.map((k) => keys.findIndex((s) => s.name === k));
  const n = new Set(gd.plan.tgtLabels.map((l) => key(cols.map((c) => l[c]!)))).size;
  const r = d.config.split.ratios;
  // The reference's rules: any round(r·n) of 0 is refused; a remainder of 0 for test is not.
  const tooSmall = r.some((x) => pyRound(x * n) === 0);
  const testSize = n - pyRound(r[0] * n) - pyRound(r[1] * n);
  const force = Object.entries(d.config.split.force_training_values);
  const tuples = new Map(gd.plan.tgtLabels.map((l) => [key(cols.map((c) => l[c]!)), l] as const));
  const nForced = [...tuples.values()].filter((l) => force.some(([k, v]) => l[keys.findIndex((s) => s.name === k)] === v)).length;
  const expected = tooSmall
    ? 'SPLIT_TOO_SMALL'
    : force.length > 0 && nForced === 0
      ? 'CONFIG_INVALID'
      : force.length > 0 && n - nForced < (testSize > 0 ? 2 : 1)
        ? 'SPLIT_TOO_SMALL'
        : null;
  if (expected) {
    let code: string | undefined;
    try {
      assignSplits(gd.plan, d.config.split);
    } catch (e) {
      code = isCellbudgetError(e) ? e.code : String(e);
    }
    expect(code).toBe(expected);
    return null;
  }
  const a = assignSplits(gd.plan, d.config.split);
  expect(a.warnings.length > 0).toBe(testSize === 0);
  return { a, gd };
}

describe('grouping properties', () => {
  it("a distribution's rows are exactly the cells with its labels, in file order; indices follow the sort order", () => {
    fc.assert(
      fc.property(datasetArb, (d) => {
        const t = d.table;
        const gd = prepareData(d.config, d.source);
        const p = gd.plan;
        const all = [...t.src, ...t.tgt];
        for (let ti = 0; ti < nTgt(p); ti++) {
          const want: number[] = [];
          for (let r = 0; r < t.nObs; r++) if (!t.control[r] && key(rowTuple(t, all, r)) === key(p.tgtLabels[ti]!)) want.push(r);
          expect(Array.from(p.tgtRows.subarray(p.tgtOffsets[ti]!, p.tgtOffsets[ti + 1]!))).toEqual(want);
          const m = gd.tgtData[ti]!;
          want.forEach((r, i) => expect(m.data[i * t.cols]).toBe(cellValue(r, 0)));
        }
        for (let s = 0; s < nSrc(p); s++) {
          const want: number[] = [];
          for (let r = 0; r < t.nObs; r++) if (t.control[r] && key(rowTuple(t, t.src, r)) === key(p.srcLabels[s]!)) want.push(r);
          expect(Array.from(p.srcRows.subarray(p.srcOffsets[s]!, p.srcOffsets[s + 1]!))).toEqual(want);
        }
        expect(p.tgtRows.length).toBe(t.control.reduce((n, c) => n + (c ? 0 : 1), 0));
        expect(p.srcRows.length).toBe(t.control.reduce((n, c) => n + c, 0));
        const increasing = (labels: readonly (readonly Label[])[], specs: readonly KeySpec[]): void => {
          for (let i = 1; i < labels.length; i++) {
            const c = specs.map((s, j) => compareLabel(s, labels[i - 1]![j]!, labels[i]![j]!)).find((x) => x !== 0);
            expect(c).toBeLessThan(0);
          }
        };
        increasing(p.tgtLabels, all);
        increasing(p.srcLabels, t.src);
      }),
      RUNS,
    );
  });
});

describe('grouping over wide key ranges', () => {
  it('categoricals padded with ~70,000 unused categories (too many combinations for plain mixed-radix keys) group exactly alike', () => {
    fc.assert(
      fc.property(
        datasetArb.filter((d) => [...d.table.src, ...d.table.tgt].some((k) => k.kind === 'categorical')),
        (d) => {
          const padded: DatasetSource = {
            ...d.source,
            readObsColumn: (name: string) => {
              const c = d.source.readObsColumn(name);
              if (c.kind !== 'categorical') return c;
              // Codes unchanged: the extra categories are never observed.
              const extra = Array.from({ length: 70_000 }, (_, i) => `${name}_unused_${i}`);
              return { ...c, categories: [...c.categories, ...extra] };
            },
          };
          const a = planGroups(d.config, d.source);
          const b = planGroups(d.config, padded);
          expect(b.srcLabels).toEqual(a.srcLabels);
          expect(b.tgtLabels).toEqual(a.tgtLabels);
          expect(Array.from(b.srcRows)).toEqual(Array.from(a.srcRows));
          expect(Array.from(b.srcOffsets)).toEqual(Array.from(a.srcOffsets));
          expect(Array.from(b.tgtRows)).toEqual(Array.from(a.tgtRows));
          expect(Array.from(b.tgtOffsets)).toEqual(Array.from(a.tgtOffsets));
          expect(b.srcToTgt).toEqual(a.srcToTgt);
        },
      ),
      { seed: 21, numRuns: 25 },
    );
  });
});

describe('split properties', () => {
  it('partition the split_by tuples, cells and sources as the rules say', () => {
    fc.assert(
      fc.property(datasetArb, (d) => {
        const r = trySplit(d);
        if (!r) return;
        const { a, gd } = r;
        const p = gd.plan;
        // Each tuple in exactly one split, each target in the split of its tuple.
        const seen = new Map<number, string>();
        for (const s of SPLITS)
          for (const t of a.tgt[s]) {
            expect(seen.has(t)).toBe(false);
            seen.set(t, s);
            expect(a.tupleSplit[a.tupleOfTgt[t]!]).toBe(s);
          }
        expect(seen.size).toBe(nTgt(p));
        const tupleSplits = new Map<string, Set<string>>();
        for (const [t, s] of seen) {
          const k = key(a.tuples[a.tupleOfTgt[t]!]!);
          if (!tupleSplits.has(k)) tupleSplits.set(k, new Set());
          tupleSplits.get(k)!.add(s);
        }
        for (const ss of tupleSplits.values()) expect(ss.size).toBe(1);
        // Every perturbed cell lands in exactly one split's target data.
        const splits = splitGrouped(gd, a);
        const cellCount = new Int32Array(d.table.nObs);
        for (const s of SPLITS) for (const m of splits[s].tgtData) for (let i = 0; i < m.rows; i++) cellCount[m.data[i * m.cols]! / 8]!++;
        for (let row = 0; row < d.table.nObs; row++) expect(cellCount[row]).toBe(d.table.control[row] ? 0 : 1);
        // A split's sources are exactly those its targets reference; src_to_tgt filtered.
        for (const s of SPLITS) {
          const want = [...new Set(Array.from(a.tgt[s], (t) => p.tgtToSrc[t]!))].sort((x, y) => x - y);
          expect(Array.from(a.src[s])).toEqual(want);
          expect(a.srcToTgt[s].flatMap(([, ts]) => ts)).toEqual(Array.from(a.tgt[s]));
          for (const [si, ts] of a.srcToTgt[s]) for (const t of ts) expect(p.tgtToSrc[t]).toBe(si);
        }
        // Sizes follow the rounding rule; forced tuples are in train and count toward it.
        const n = a.tuples.length;
        const [r0, r1] = d.config.split.ratios;
        const nForced = a.forced.reduce((x, f) => x + f, 0);
        a.forced.forEach((f, i) => f && expect(a.tupleSplit[i]).toBe('train'));
        if (nForced <= pyRound(r0 * n)) {
          expect(a.sizes).toEqual({ train: pyRound(r0 * n), val: pyRound(r1 * n), test: n - pyRound(r0 * n) - pyRound(r1 * n) });
        } else {
          expect(a.sizes.train).toBe(nForced);
        }
        // Forced: every tuple whose targets carry a forced value.
        const force = Object.entries(d.config.split.force_training_values);
        const all = [...d.table.src, ...d.table.tgt];
        for (let t = 0; t < nTgt(p); t++) {
          const hit = force.some(([k, v]) => p.tgtLabels[t]![all.findIndex((s) => s.name === k)] === v);
          if (hit) expect(seen.get(t)).toBe('train');
        }
      }),
      RUNS,
    );
  });

  it('same seed gives the same splits', () => {
    fc.assert(
      fc.property(datasetArb, (d) => {
        const r = trySplit(d);
        if (!r) return;
        const again = assignSplits(prepareData(d.config, tableSource(d.table)).plan, d.config.split);
        expect(again.tupleSplit).toEqual(r.a.tupleSplit);
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it('different seeds give different splits in general', () => {
    // A table with many split_by tuples: 40 seeds must not all agree.
    const [table] = fc.sample(
      obsTableArb.filter((t) => t.tgt.length === 2 && t.nObs > 100),
      { seed: 3, numRuns: 1 },
    );
    const [config] = fc.sample(configArb(table!), { seed: 3, numRuns: 1 });
    const cfg = {
      ...config!,
      split: { ...config!.split, split_by: [...config!.src_dist_keys, ...config!.tgt_dist_keys], force_training_values: {} },
    };
    const plan = prepareData(cfg, tableSource(table!)).plan;
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) outcomes.add(JSON.stringify(assignSplits(plan, { ...cfg.split, random_state: seed }).tupleSplit));
    expect(outcomes.size).toBeGreaterThan(1);
  });
});
