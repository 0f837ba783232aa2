import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CsrMatrix, DenseMatrix } from '../../../src/core/data.js';
import { withH5ad } from '../../../src/h5ad/source.js';
import { parsePipelineConfig } from '../../../src/pipeline/config.js';
import { copyDistributions, groupedBytes, materialize, planGroups, prepareData } from '../../../src/pipeline/grouping.js';
import { loadDataset } from '../../../src/pipeline/load.js';
import { assignSplits, copyDigest, splitBytes, splitDigest, splitGrouped } from '../../../src/pipeline/splitter.js';
import { readFileSync } from 'node:fs';
import { SPLITS } from '../../../src/core/names.js';
import { cellValue, datasetArb } from '../../helpers/arbitraries.js';
import { memorySource } from '../../../src/pipeline/source-memory.js';
import { DATASETS } from '../../helpers/fixtures.js';
import { h5Ready } from '../../../src/h5ad/file.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

function toCsr(m: DenseMatrix): CsrMatrix {
  const data: number[] = [];
  const indices: number[] = [];
  const indptr = [0];
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const v = m.data[r * m.cols + c]!;
      if (v !== 0) {
        data.push(v);
        indices.push(c);
      }
    }
    indptr.push(data.length);
  }
  return {
    format: 'csr',
    dtype: m.dtype,
    rows: m.rows,
    cols: m.cols,
    data: Float32Array.from(data),
    indices: Int32Array.from(indices),
    indptr: Float64Array.from(indptr),
  };
}

describe('materialize', () => {
  it('gives the same arrays from a dense matrix, its CSR form, and a windowed row reader', () => {
    fc.assert(
      fc.property(datasetArb, (d) => {
        const plan = planGroups(d.config, d.source);
        const dense = d.source.readMatrix(d.config.data_location) as DenseMatrix;
        const a = materialize(plan, dense);
        const b = materialize(plan, toCsr(dense));
        const c = materialize(plan, { readRows: (s, e, out) => d.source.readRows(d.config.data_location, s, e, out) });
        for (const other of [b, c]) {
          expect(other.tgtData.map((m) => Array.from(m.data))).toEqual(a.tgtData.map((m) => Array.from(m.data)));
          expect(other.srcData.map((m) => Array.from(m.data))).toEqual(a.srcData.map((m) => Array.from(m.data)));
          expect(other.tgtData.every((m) => m.dtype === 'float32')).toBe(true);
        }
      }),
      { seed: 11, numRuns: 60 },
    );
  });

  it('copies only the selected distributions', () => {
    fc.assert(
      fc.property(datasetArb, (d) => {
        const plan = planGroups(d.config, d.source);
        const full = prepareData(d.config, d.source);
        const tgt = full.tgtData.map((_, i) => i).filter((i) => i % 2 === 0);
        const part = materialize(plan, d.source.readMatrix(d.config.data_location), { tgt, src: [] });
        full.tgtData.forEach((m, i) => {
          if (i % 2 === 0) expect(Array.from(part.tgtData[i]!.data)).toEqual(Array.from(m.data));
          else expect(part.tgtData[i]!.rows).toBe(0);
          expect(part.tgtSelected[i]).toBe(i % 2 === 0 ? 1 : 0);
        });
        expect(part.srcData.every((m) => m.rows === 0)).toBe(true);
        expect(groupedBytes(part)).toBeLessThanOrEqual(groupedBytes(full));
      }),
      { seed: 12, numRuns: 40 },
    );
  });
});

describe('materialize: pools, chunk-aligned windows, rows out of order', () => {
  const arrays = (g: ReturnType<typeof materialize>): number[][] => [...g.srcData, ...g.tgtData].map((m) => Array.from(m.data));

  it('gives the same arrays whatever the pooling, chunking and window; a pool is one buffer of exactly its members', () => {
    fc.assert(
      fc.property(
        datasetArb,
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 64, maxLength: 64 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 64 }),
        (d, poolIds, chunkRows, windowBytes) => {
          const plan = planGroups(d.config, d.source);
          const plain = materialize(plan, d.source.readMatrix(d.config.data_location));
          const pools = {
            src: Array.from(plan.srcLabels, (_, s) => poolIds[s % 64]!),
            tgt: Array.from(plan.tgtLabels, (_, t) => poolIds[(t + 17) % 64]!),
          };
          const reader = {
            readRows: (s: number, e: number, out?: Float32Array | Float64Array) => d.source.readRows(d.config.data_location, s, e, out),
            chunkRows,
          };
          for (const g of [
            materialize(plan, d.source.readMatrix(d.config.data_location), undefined, { pools }),
            materialize(plan, reader, undefined, { pools, windowBytes }),
            materialize(plan, { ...reader, cols: d.table.cols, dtype: 'float32' as const }, undefined, {
              pools,
              windowBytes: windowBytes * 3,
            }),
          ]) {
            expect(arrays(g)).toEqual(arrays(plain));
            const all = [...g.srcData.map((m, s) => [pools.src[s]!, m] as const), ...g.tgtData.map((m, t) => [pools.tgt[t]!, m] as const)];
            for (const p of new Set(all.map(([id]) => id))) {
              const members = all.filter(([id]) => id === p).map(([, m]) => m.data);
              expect(new Set(members.map((m) => m.buffer)).size).toBe(1);
              expect(members[0]!.buffer.byteLength).toBe(members.reduce((b, m) => b + m.byteLength, 0));
            }
          }
        },
      ),
      { seed: 13, numRuns: 60 },
    );
  });

  it('hashes a pooled copy exactly like the splits of the materialized distributions', () => {
    fc.assert(
      fc.property(
        datasetArb,
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 32, maxLength: 32 }),
        fc.boolean(),
        (d, poolIds, pooled) => {
          const plan = planGroups(d.config, d.source);
          let a: ReturnType<typeof assignSplits>;
          try {
            a = assignSplits(plan, d.config.split);
          } catch {
            return; // too few tuples for these ratios: nothing to hash
          }
          const options = pooled
            ? { pools: { src: plan.srcLabels.map((_, s) => poolIds[s % 32]!), tgt: plan.tgtLabels.map((_, t) => poolIds[(t + 5) % 32]!) } }
            : {};
          const reader = {
            readRows: (s: number, e: number, out?: Float32Array | Float64Array) => d.source.readRows(d.config.data_location, s, e, out),
          };
          const splits = splitGrouped(materialize(plan, reader), a);
          const copy = copyDistributions(plan, reader, undefined, options);
          for (const s of SPLITS) expect(copyDigest(copy, a, s)).toEqual({ sha256: splitDigest(splits[s]), bytes: splitBytes(splits[s]) });
        },
      ),
      { seed: 15, numRuns: 60 },
    );
  });

  it("keeps a plan's row order even when it is not file order", () => {
    fc.assert(
      fc.property(datasetArb, fc.boolean(), (d, windowed) => {
        const p = planGroups(d.config, d.source);
        const reverse = (rows: Int32Array, offsets: Int32Array): Int32Array => {
          const out = rows.slice();
          for (let g = 0; g + 1 < offsets.length; g++) out.subarray(offsets[g]!, offsets[g + 1]!).reverse();
          return out;
        };
        const plan = { ...p, srcRows: reverse(p.srcRows, p.srcOffsets), tgtRows: reverse(p.tgtRows, p.tgtOffsets) };
        const m = d.source.readMatrix(d.config.data_location);
        const g = materialize(
          plan,
          windowed ? { readRows: (s, e, out) => d.source.readRows(d.config.data_location, s, e, out) } : m,
          undefined,
          { windowBytes: 8 },
        );
        const check = (data: Float32Array | Float64Array, rows: Int32Array): void =>
          rows.forEach((r, i) => expect(data[i * d.table.cols]).toBe(cellValue(r, 0)));
        g.tgtData.forEach((t, i) => check(t.data, plan.tgtRows.subarray(plan.tgtOffsets[i]!, plan.tgtOffsets[i + 1]!)));
        g.srcData.forEach((t, i) => check(t.data, plan.srcRows.subarray(plan.srcOffsets[i]!, plan.srcOffsets[i + 1]!)));
      }),
      { seed: 14, numRuns: 40 },
    );
  });

  it('copies values bit for bit, NaN payloads included', () => {
    const rows = 6;
    const cols = 3;
    const words = new Uint32Array(rows * cols).map((_, i) => (i % 2 ? 0x7f800001 + i : 0xffc00000 + i)); // signalling and quiet NaNs
    const data = new Float32Array(words.buffer);
    const src = memorySource({
      obs: [
        { kind: 'boolean', name: 'control', values: Uint8Array.of(1, 0, 0, 1, 0, 0) },
        { kind: 'categorical', name: 'line', codes: Int8Array.of(0, 0, 0, 0, 0, 0), categories: ['a'], ordered: false },
        { kind: 'categorical', name: 'drug', codes: Int8Array.of(0, 1, 2, 0, 1, 2), categories: ['ctl', 'x', 'y'], ordered: false },
      ],
      matrices: { X: { format: 'dense', dtype: 'float32', rows, cols, data } },
      uns: {
        emb: new Map([
          ['a', Float64Array.of(1)],
          ['ctl', Float64Array.of(0)],
          ['x', Float64Array.of(2)],
          ['y', Float64Array.of(3)],
        ]),
      },
    });
    const config = parsePipelineConfig({
      dist_flag_key: 'control',
      src_dist_keys: ['line'],
      tgt_dist_keys: ['drug'],
      rep_keys: { line: 'emb', drug: 'emb' },
      data_location: ['X'],
      split: { split_by: ['drug'], ratios: [0.4, 0.3, 0.3], random_state: 0 },
    });
    const plan = planGroups(config, src);
    const bits = (g: ReturnType<typeof materialize>): number[][] =>
      [...g.srcData, ...g.tgtData].map((m) => Array.from(new Uint32Array(m.data.buffer, m.data.byteOffset, m.data.length)));
    const want = [
      [0, 3],
      [1, 4],
      [2, 5],
    ].map((rs) => rs.flatMap((r) => Array.from(words.subarray(r * cols, (r + 1) * cols))));
    expect(bits(materialize(plan, src.readMatrix(['X'])))).toEqual(want);
    expect(
      bits(
        materialize(plan, { readRows: (s, e, out) => src.readRows(['X'], s, e, out) }, undefined, {
          windowBytes: 12,
          pools: { src: [0], tgt: [1, 1] },
        }),
      ),
    ).toEqual(want);
  });
});

describe('splits and loaded datasets', () => {
  const g = JSON.parse(readFileSync(`${DATASETS}/combos.config.json`, 'utf8')) as unknown;
  const config = parsePipelineConfig(g);

  it('a loaded dataset groups and splits exactly like the file it came from, with the same digests', () => {
    withH5ad(`${DATASETS}/combos.h5ad`, (src) => {
      const direct = prepareData(config, src);
      const loaded = loadDataset(src, config);
      expect(loaded.loadedBytes()).toBeGreaterThanOrEqual(src.matrixInfo(config.data_location).memoryBytes);
      const viaLoaded = prepareData(config, loaded);
      // Row windows straight from the (gzip, chunked) file give the same arrays as the loaded matrix.
      const windowed = materialize(direct.plan, { readRows: (s, e, out) => src.readRows(config.data_location, s, e, out) });
      expect(windowed.tgtData.map((m) => Array.from(m.data))).toEqual(direct.tgtData.map((m) => Array.from(m.data)));
      expect(windowed.srcData.map((m) => Array.from(m.data))).toEqual(direct.srcData.map((m) => Array.from(m.data)));
      expect(viaLoaded.plan.tgtLabels).toEqual(direct.plan.tgtLabels);
      const a = assignSplits(direct.plan, config.split);
      const s1 = splitGrouped(direct, a);
      const s2 = splitGrouped(viaLoaded, assignSplits(viaLoaded.plan, config.split));
      for (const s of SPLITS) {
        expect(splitDigest(s1[s])).toBe(splitDigest(s2[s]));
        expect(splitBytes(s1[s])).toBeGreaterThan(0);
      }
      expect(new Set(SPLITS.map((s) => splitDigest(s1[s]))).size).toBe(3);
      // Splits share the group arrays: their bytes add up to no more than the grouped data.
      const dataBytes = [...direct.srcData, ...direct.tgtData].reduce((b, m) => b + m.data.byteLength, 0);
      expect(SPLITS.reduce((b, s) => b + s1[s].tgtData.reduce((x, m) => x + m.data.byteLength, 0), 0)).toBeLessThanOrEqual(dataBytes);
    });
  });
});
