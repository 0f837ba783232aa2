import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CsrMatrix, DatasetSource, ObsColumn } from '../../../src/core/data.js';
import { openH5ad } from '../../../src/h5ad/source.js';
import { resolveSynthSpec, SynthGenerator, synthesize } from '../../../src/h5ad/synth.js';
import type { SynthOptions } from '../../../src/h5ad/synth.js';
import { h5Ready } from '../../../src/h5ad/file.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-synth-rt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: SynthOptions = {
  cells: 3000,
  features: 12,
  cellLines: 3,
  drugs: 5,
  doses: [0.5, 5],
  controlFraction: 0.08,
  seed: 11,
  chunkRows: 128,
};

function withSource<T>(path: string, fn: (s: DatasetSource) => T): T {
  const s = openH5ad(path);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

function expectObsMatches(src: DatasetSource, gen: SynthGenerator): void {
  const o = gen.obs;
  expect(src.nObs).toBe(gen.spec.cells);
  expect(src.obsColumnNames()).toEqual(['cell_line', 'drug', 'dosage', 'control']);
  expect(src.readObsIndex()).toEqual(Array.from({ length: gen.spec.cells }, (_, i) => o.cellName(i)));
  const line = src.readObsColumn('cell_line') as Extract<ObsColumn, { kind: 'categorical' }>;
  expect(line.kind).toBe('categorical');
  expect(line.categories).toEqual(o.cellLineCategories);
  expect(Array.from(line.codes)).toEqual(Array.from(o.cellLineCodes));
  expect(line.ordered).toBe(false);
  const drug = src.readObsColumn('drug') as Extract<ObsColumn, { kind: 'categorical' }>;
  expect(drug.categories).toEqual(o.drugCategories);
  expect(Array.from(drug.codes)).toEqual(Array.from(o.drugCodes));
  const dosage = src.readObsColumn('dosage');
  expect(dosage.kind).toBe('numeric');
  expect(Array.from((dosage as Extract<ObsColumn, { kind: 'numeric' }>).values as Float64Array)).toEqual(Array.from(o.dosage));
  const control = src.readObsColumn('control');
  expect(control.kind).toBe('boolean');
  expect(Array.from((control as Extract<ObsColumn, { kind: 'boolean' }>).values)).toEqual(Array.from(o.control));
}

describe('synth → read back with the h5ad reader', () => {
  it.each([
    ['float32, uncompressed', { dtype: 'float32', compression: 'none' }],
    ['float64, gzip', { dtype: 'float64', compression: 'gzip' }],
  ] as const)('dense obsm/X_pca, %s: identical obs, matrix and embeddings', async (_name, extra) => {
    const out = join(dir, `dense-${extra.dtype}-${extra.compression}.h5ad`);
    const r = await synthesize({ ...base, ...extra }, out);
    const gen = new SynthGenerator(resolveSynthSpec({ ...base, ...extra }));
    expect(r.dataLocation).toEqual(['obsm', 'X_pca']);
    withSource(out, (src) => {
      expectObsMatches(src, gen);
      const info = src.matrixInfo(['obsm', 'X_pca']);
      expect(info.shape).toEqual([3000, 12]);
      expect(info.dtype).toBe(extra.dtype);
      expect(info.format).toBe('dense');
      expect(info.chunks).toEqual([128, 12]);
      expect(info.compression).toEqual(extra.compression === 'gzip' ? ['gzip'] : []);
      const got = src.readRows(['obsm', 'X_pca'], 0, 3000);
      const want = extra.dtype === 'float32' ? new Float32Array(3000 * 12) : new Float64Array(3000 * 12);
      gen.fillDense(0, 3000, want);
      expect(got.dtype).toBe(extra.dtype);
      expect(got.data).toEqual(want);
      expect(src.unsKeys()).toEqual(expect.arrayContaining(['drug_embeddings', 'cell_line_embeddings']));
      const drugs = src.readEmbeddings('drug_embeddings');
      for (const [label, v] of gen.drugEmbeddings()) expect(drugs.get(label)).toEqual(v);
      const lines = src.readEmbeddings('cell_line_embeddings');
      for (const [label, v] of gen.cellLineEmbeddings()) expect(lines.get(label)).toEqual(v);
    });
  });

  it('CSR at X: identical structure and values', async () => {
    const opts: SynthOptions = { ...base, dataLocation: 'X', format: 'csr', density: 0.25, compression: 'gzip' };
    const out = join(dir, 'csr.h5ad');
    const r = await synthesize(opts, out);
    expect(r.dataLocation).toEqual(['X']);
    const gen = new SynthGenerator(resolveSynthSpec(opts));
    withSource(out, (src) => {
      expectObsMatches(src, gen);
      const m = src.readMatrix(['X']) as CsrMatrix;
      expect(m.format).toBe('csr');
      expect([m.rows, m.cols]).toEqual([3000, 12]);
      const k = gen.nnzPerRow;
      expect(k).toBe(3);
      const data = new Float32Array(3000 * k);
      const indices = new Int32Array(3000 * k);
      gen.fillCsr(0, 3000, data, indices);
      expect(m.data).toEqual(data);
      expect(m.indices).toEqual(indices);
      expect(Array.from(m.indptr)).toEqual(Array.from({ length: 3001 }, (_, i) => i * k));
      // Within a row, columns are distinct and sorted; the dense read agrees with CSR.
      const dense = src.readRows(['X'], 100, 110);
      for (let r = 100; r < 110; r++) {
        for (let i = 1; i < k; i++) expect(indices[r * k + i]!).toBeGreaterThan(indices[r * k + i - 1]!);
        for (let i = 0; i < k; i++) expect(dense.data[(r - 100) * 12 + indices[r * k + i]!]).toBe(data[r * k + i]);
      }
    });
  });

  it('writes atomically: no temporary files left, and a failed write leaves no file', async () => {
    const out = join(dir, 'atomic.h5ad');
    await synthesize(base, out);
    await expect(synthesize(base, join(dir, 'no-such-dir', 'x.h5ad'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('the same seed gives the same content and bytes; another seed another', async () => {
    const a = join(dir, 'seed-a.h5ad');
    const b = join(dir, 'seed-b.h5ad');
    const c = join(dir, 'seed-c.h5ad');
    await synthesize(base, a);
    await synthesize(base, b);
    await synthesize({ ...base, seed: 12 }, c);
    const read = (p: string): [readonly number[], Float32Array | Float64Array] =>
      withSource(p, (s) => [
        Array.from((s.readObsColumn('drug') as Extract<ObsColumn, { kind: 'categorical' }>).codes),
        s.readRows(['obsm', 'X_pca'], 0, 3000).data,
      ]);
    const [da, ma] = read(a);
    const [db, mb] = read(b);
    const [dc, mc] = read(c);
    expect(db).toEqual(da);
    expect(mb).toEqual(ma);
    expect(dc).not.toEqual(da);
    expect(mc).not.toEqual(ma);
    // Byte for byte, too: HDF5's object timestamps are stamped to a constant.
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
  });

  it('reports progress up to every row', async () => {
    const seen: number[] = [];
    await synthesize({ ...base, chunkRows: 64 }, join(dir, 'progress.h5ad'), (p) => seen.push(p.rowsDone));
    expect(seen.at(-1)).toBe(3000);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
  });
});
