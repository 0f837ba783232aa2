/**
 * Reusable fast-check arbitraries for the pipeline: random obs tables (categorical with
 * shuffled category order, numeric, string key columns; a boolean control flag whose cells
 * share one target tuple), a dense representation whose values name their row, uns
 * embeddings, and pipeline configs over them.
 */
import fc from 'fast-check';
import type { DatasetSource, Embeddings, Label, ObsColumn } from '../../src/core/data.js';
import type { PipelineConfig } from '../../src/pipeline/config.js';
import { memorySource } from '../../src/pipeline/source-memory.js';

export type KeyKind = 'categorical' | 'numeric' | 'string';

export interface KeySpec {
  readonly name: string;
  readonly kind: KeyKind;
  /** Values in the order of the categorical's categories (other kinds: any order). */
  readonly values: readonly Label[];
}

export interface ObsTable {
  readonly nObs: number;
  readonly src: readonly KeySpec[];
  readonly tgt: readonly KeySpec[];
  /** Per column name: the value index of each row (into KeySpec.values). */
  readonly cells: Readonly<Record<string, Int32Array>>;
  readonly control: Uint8Array;
  readonly cols: number;
}

export interface Dataset {
  readonly table: ObsTable;
  readonly source: DatasetSource;
  readonly config: PipelineConfig;
}

/** Matrix value of (row, col): recoverable, so a test can tell which row a copied row came from. */
export function cellValue(row: number, col: number): number {
  return row * 8 + col;
}

const keySpec = (name: string, isTgt: boolean): fc.Arbitrary<KeySpec> =>
  fc.constantFrom<KeyKind>('categorical', 'numeric', 'string').chain((kind) =>
    fc.integer({ min: 1, max: 5 }).chain((k) => {
      // Value 0 of a target key is its control value.
      const values: Label[] =
        kind === 'numeric'
          ? Array.from({ length: k + (isTgt ? 1 : 0) }, (_, i) => (i === 0 && isTgt ? 0 : [0.1, 1, 2.5, 10, 100, 7][i % 6]!))
          : Array.from({ length: k + (isTgt ? 1 : 0) }, (_, i) => (i === 0 && isTgt ? 'ctl' : `${name}_v${i}`));
      const uniq = [...new Set(values)];
      // Category order deliberately not alphabetical.
      return fc
        .shuffledSubarray(uniq, { minLength: uniq.length, maxLength: uniq.length })
        .map((order) => ({ name, kind, values: kind === 'categorical' ? order : uniq }));
    }),
  );

/** An obs table: 1–2 source keys, 1–2 target keys, 2–120 cells, at least one control. */
export const obsTableArb: fc.Arbitrary<ObsTable> = fc
  .record({
    nSrc: fc.integer({ min: 1, max: 2 }),
    nTgt: fc.integer({ min: 1, max: 2 }),
    nObs: fc.integer({ min: 2, max: 120 }),
    cols: fc.integer({ min: 1, max: 4 }),
  })
  .chain(({ nSrc, nTgt, nObs, cols }) =>
    fc
      .record({
        src: fc.tuple(...Array.from({ length: nSrc }, (_, i) => keySpec(`s${i}`, false))),
        tgt: fc.tuple(...Array.from({ length: nTgt }, (_, i) => keySpec(`t${i}`, true))),
        control: fc.uint8Array({ minLength: nObs, maxLength: nObs, min: 0, max: 3 }).map((a) => {
          const c = a.map((v) => (v === 0 ? 1 : 0));
          c[0] = 1;
          return c;
        }),
        seeds: fc.array(fc.integer({ min: 0, max: 1e6 }), { minLength: nObs * 4, maxLength: nObs * 4 }),
      })
      .map(({ src, tgt, control, seeds }) => {
        const cells: Record<string, Int32Array> = {};
        let k = 0;
        for (const spec of [...src, ...tgt]) {
          const isTgt = tgt.includes(spec);
          const ctlIdx = isTgt ? spec.values.indexOf(spec.kind === 'numeric' ? 0 : 'ctl') : -1;
          cells[spec.name] = Int32Array.from({ length: nObs }, (_, r) =>
            isTgt && control[r] ? ctlIdx : seeds[k++ % seeds.length]! % spec.values.length,
          );
        }
        return { nObs, src, tgt, cells, control, cols };
      }),
  );

function column(spec: KeySpec, idx: Int32Array): ObsColumn {
  switch (spec.kind) {
    case 'categorical':
      return { kind: 'categorical', name: spec.name, codes: Int8Array.from(idx), categories: spec.values, ordered: false };
    case 'numeric':
      return { kind: 'numeric', name: spec.name, dtype: 'float64', values: Float64Array.from(idx, (i) => spec.values[i] as number) };
    case 'string':
      return { kind: 'string', name: spec.name, values: Array.from(idx, (i) => spec.values[i] as string) };
  }
}

/** The table as an in-memory DatasetSource (flag 'control', matrix at obsm/X_pca, embeddings in uns). */
export function tableSource(t: ObsTable): DatasetSource {
  const obs: ObsColumn[] = [...t.src, ...t.tgt].map((s) => column(s, t.cells[s.name]!));
  obs.push({ kind: 'boolean', name: 'control', values: t.control });
  const data = new Float32Array(t.nObs * t.cols);
  for (let r = 0; r < t.nObs; r++) for (let c = 0; c < t.cols; c++) data[r * t.cols + c] = cellValue(r, c);
  const uns: Record<string, Embeddings> = {};
  for (const s of [...t.src, ...t.tgt]) {
    if (s.kind === 'numeric') continue;
    uns[`${s.name}_emb`] = new Map(s.values.map((v, i) => [String(v), Float64Array.of(i, i * 0.5)]));
  }
  return memorySource({
    name: 'arb',
    obs,
    matrices: { 'obsm/X_pca': { format: 'dense', dtype: 'float32', rows: t.nObs, cols: t.cols, data } },
    uns,
  });
}

const RATIOS: ReadonlyArray<[number, number, number]> = [
  [0.6, 0.2, 0.2],
  [0.7, 0.15, 0.15],
  [0.5, 0.25, 0.25],
  [0.34, 0.33, 0.33],
  [0.8, 0.1, 0.1],
];

/** A pipeline config over a table: split_by a non-empty subset of its keys, optional forced values. */
export function configArb(t: ObsTable): fc.Arbitrary<PipelineConfig> {
  const keys = [...t.src, ...t.tgt];
  return fc
    .record({
      splitBy: fc.shuffledSubarray(
        keys.map((k) => k.name),
        { minLength: 1 },
      ),
      ratios: fc.constantFrom(...RATIOS),
      seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      force: fc.option(fc.record({ key: fc.nat(), pick: fc.nat() }), { nil: undefined }),
    })
    .map(({ splitBy, ratios, seed, force: f }) => {
      // The reference accepts force keys only from split_by.
      const force = f ? { key: keys.find((k) => k.name === splitBy[f.key % splitBy.length])!, pick: f.pick } : undefined;
      return {
        dist_flag_key: 'control',
        src_dist_keys: t.src.map((s) => s.name),
        tgt_dist_keys: t.tgt.map((s) => s.name),
        rep_keys: Object.fromEntries(keys.filter((k) => k.kind !== 'numeric').map((k) => [k.name, `${k.name}_emb`])),
        data_location: ['obsm', 'X_pca'],
        split: {
          split_by: splitBy,
          ratios,
          random_state: seed,
          holdout_combinations: false,
          force_training_values: force ? { [force.key.name]: force.key.values[force.pick % force.key.values.length]! } : {},
        },
      };
    });
}

/** A table, its source and a config. */
export const datasetArb: fc.Arbitrary<Dataset> = obsTableArb.chain((table) =>
  configArb(table).map((config) => ({ table, source: tableSource(table), config })),
);

/** The label tuple of a row over the given keys. */
export function rowTuple(t: ObsTable, keys: readonly KeySpec[], row: number): Label[] {
  return keys.map((k) => k.values[t.cells[k.name]![row]!]!);
}

/** A corruption of a file's bytes at a relative position `at` in [0, 1): flip bits, overwrite, or cut the file there. */
export type Corruption =
  | { readonly op: 'flip'; readonly at: number; readonly len: number; readonly bit: number }
  | { readonly op: 'overwrite'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'truncate'; readonly at: number };

/** Corruptions at positions `position` draws; `truncate` too unless told not to. */
export function corruptionArb(
  position: fc.Arbitrary<number>,
  o: { maxFlip: number; maxOverwrite: number; truncate: boolean },
): fc.Arbitrary<Corruption> {
  const kinds: fc.Arbitrary<Corruption>[] = [
    fc.record({
      op: fc.constant('flip' as const),
      at: position,
      len: fc.integer({ min: 1, max: o.maxFlip }),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
    fc.record({ op: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: o.maxOverwrite }) }),
  ];
  if (o.truncate) kinds.push(fc.record({ op: fc.constant('truncate' as const), at: position }));
  return fc.oneof(...kinds);
}

/** `bytes` with `ops` applied in order (a copy; the original is left as is). */
export function applyCorruptions(bytes: Uint8Array, ops: readonly Corruption[]): Buffer {
  let b = Buffer.from(bytes);
  for (const o of ops) {
    const pos = Math.floor(o.at * b.length);
    if (o.op === 'flip') for (let i = pos; i < Math.min(b.length, pos + o.len); i++) b[i] = b[i]! ^ (1 << o.bit);
    else if (o.op === 'overwrite') b.set(o.bytes.subarray(0, b.length - pos), pos);
    else b = b.subarray(0, pos);
  }
  return b;
}
