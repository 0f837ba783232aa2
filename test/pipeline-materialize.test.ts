import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CsrMatrix, DenseMatrix } from '../src/data.js';
import { withH5ad } from '../src/h5ad/source.js';
import { parsePipelineConfig } from '../src/pipeline/config.js';
import { groupedBytes, materialize, planGroups, prepareData } from '../src/pipeline/grouping.js';
import { loadDataset } from '../src/pipeline/load.js';
import { assignSplits, splitBytes, splitDigest, splitGrouped } from '../src/pipeline/splitter.js';
import { readFileSync } from 'node:fs';
import { SPLITS } from '../src/strategies/types.js';
import { datasetArb } from './arbitraries.js';
import { DATASETS } from './h5ad/fixtures.js';

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
  return { format: 'csr', dtype: m.dtype, rows: m.rows, cols: m.cols, data: Float32Array.from(data), indices: Int32Array.from(indices), indptr: Float64Array.from(indptr) };
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
