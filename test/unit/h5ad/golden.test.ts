import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { labelAt } from '../../../src/core/data.js';
import type { Label } from '../../../src/core/data.js';
import { withH5ad } from '../../../src/h5ad/source.js';
import { describeGolden, GOLDEN } from '../../helpers/fixtures.js';
import { h5Ready } from '../../../src/h5ad/file.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

const CASES = ['tiny', 'by_line', 'combos', 'strings', 'forced'] as const;

interface Golden {
  config: {
    dist_flag_key: string;
    src_dist_keys: string[];
    tgt_dist_keys: string[];
    rep_keys: Record<string, string>;
    data_location: string[];
  };
  expected: {
    n_obs: number;
    src_rows: Record<string, number[]>;
    tgt_rows: Record<string, number[]>;
    src_labels: Record<string, Label[]>;
    tgt_labels: Record<string, Label[]>;
  };
}

describeGolden.each(CASES)('reading golden file %s.h5ad', (name) => {
  const g = JSON.parse(readFileSync(`${GOLDEN}/${name}.json`, 'utf8')) as Golden;
  const { config: c, expected: e } = g;

  it('has n_obs rows and the labels the reference grouped by, on the rows it grouped', () => {
    withH5ad(`${GOLDEN}/${name}.h5ad`, (src) => {
      expect(src.nObs).toBe(e.n_obs);
      expect(src.readObsIndex()).toHaveLength(e.n_obs);
      const flag = src.readObsColumn(c.dist_flag_key);
      expect(flag.kind).toBe('boolean');
      const srcCols = c.src_dist_keys.map((k) => src.readObsColumn(k));
      const tgtCols = [...c.src_dist_keys, ...c.tgt_dist_keys].map((k) => src.readObsColumn(k));
      for (const col of [flag, ...srcCols, ...tgtCols])
        expect(col.kind === 'categorical' ? col.codes.length : col.values.length).toBe(e.n_obs);
      for (const [s, rows] of Object.entries(e.src_rows)) {
        const want = e.src_labels[s]!;
        for (const r of rows) {
          expect(labelAt(flag, r), `src ${s} row ${r} is control`).toBe(true);
          expect(
            srcCols.map((col) => labelAt(col, r)),
            `src ${s} row ${r}`,
          ).toEqual(want);
        }
      }
      let covered = 0;
      for (const [t, rows] of Object.entries(e.tgt_rows)) {
        const want = e.tgt_labels[t]!;
        covered += rows.length;
        for (const r of rows) {
          expect(labelAt(flag, r), `tgt ${t} row ${r} is perturbed`).toBe(false);
          expect(
            tgtCols.map((col) => labelAt(col, r)),
            `tgt ${t} row ${r}`,
          ).toEqual(want);
        }
      }
      const controls = Object.values(e.src_rows).reduce((a, r) => a + r.length, 0);
      expect(covered + controls).toBe(e.n_obs);
    });
  });

  it('has the representation with n_obs rows and an embedding for every label', () => {
    withH5ad(`${GOLDEN}/${name}.h5ad`, (src) => {
      const info = src.matrixInfo(c.data_location);
      expect(info.shape[0]).toBe(e.n_obs);
      const full = src.readMatrix(c.data_location);
      expect(full.format).toBe('dense');
      expect(full.data.length).toBe(info.shape[0] * info.shape[1]);
      expect(full.data.every((v) => Number.isFinite(v))).toBe(true);
      for (const [col, key] of Object.entries(c.rep_keys)) {
        const emb = src.readEmbeddings(key);
        const pos = [...c.src_dist_keys, ...c.tgt_dist_keys].indexOf(col);
        for (const labels of Object.values(e.tgt_labels)) {
          const v = emb.get(String(labels[pos]));
          expect(v, `${key}/${String(labels[pos])}`).toBeDefined();
          expect(v!.length).toBeGreaterThan(0);
        }
      }
    });
  });
});
