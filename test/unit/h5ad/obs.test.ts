import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labelAt } from '../../../src/core/data.js';
import type { Label } from '../../../src/core/data.js';
import { withH5ad } from '../../../src/h5ad/source.js';
import { inspectH5ad } from '../../../src/h5ad/inspect.js';
import { fixtureDir } from '../../helpers/fixtures.js';
import { h5Ready } from '../../../src/h5ad/file.js';

// HDF5 (WebAssembly) loads on first use, not on import.
await h5Ready();

interface Expected {
  index: string[];
  columns: Record<string, { codes?: number[]; categories?: Label[]; ordered?: boolean; values?: (Label | null)[]; mask?: boolean[] }>;
}

describe('obs columns', () => {
  it('decodes every kind anndata 0.8 writes as pandas had it', () => {
    const dir = fixtureDir();
    const exp = JSON.parse(readFileSync(`${dir}/kinds.json`, 'utf8')) as Expected;
    withH5ad(`${dir}/kinds.h5ad`, (src) => {
      expect(src.nObs).toBe(exp.index.length);
      expect(src.readObsIndex()).toEqual(exp.index);
      for (const [name, e] of Object.entries(exp.columns)) {
        const col = src.readObsColumn(name);
        for (let r = 0; r < exp.index.length; r++) {
          const want = e.codes ? (e.codes[r]! < 0 ? null : e.categories![e.codes[r]!]!) : e.mask?.[r] ? null : e.values![r]!;
          expect(labelAt(col, r), `${name}[${r}]`).toEqual(want);
        }
        if (e.ordered !== undefined && col.kind === 'categorical') expect(col.ordered, name).toBe(e.ordered);
      }
      const kinds = Object.fromEntries(src.obsColumnNames().map((n) => [n, src.readObsColumn(n).kind]));
      expect(kinds).toMatchObject({
        cat: 'categorical',
        flag: 'boolean',
        i64: 'numeric',
        f32: 'numeric',
        nint: 'nullable-integer',
        nbool: 'nullable-boolean',
        nstr: 'nullable-string',
      });
      const nstr = src.readObsColumn('nstr');
      expect(labelAt(nstr, 0)).toBeNull();
      expect(labelAt(nstr, 1)).toBe('v1');
    });
  });

  it('reads anndata 0.7 and pre-0.7 categoricals through the object reference to obs/__categories', () => {
    const dir = fixtureDir();
    for (const name of ['legacy07', 'pre07']) {
      withH5ad(`${dir}/${name}.h5ad`, (src) => {
        expect(src.nObs).toBe(25);
        expect(src.obsColumnNames()).toEqual(expect.arrayContaining(['drug', 'dose', 'control']));
        const drug = src.readObsColumn('drug');
        expect(drug.kind).toBe('categorical');
        if (drug.kind !== 'categorical') return;
        expect(drug.categories).toEqual(['z', 'DMSO', 'a']);
        const control = src.readObsColumn('control');
        expect(control.kind).toBe('boolean');
        // control was written as codes == 1 (DMSO)
        for (let r = 0; r < 25; r++) expect(labelAt(control, r)).toBe(labelAt(drug, r) === 'DMSO');
        expect(src.readObsIndex()[24]).toBe('c24');
        expect(src.matrixInfo(['X']).shape).toEqual([25, 4]);
      });
    }
    withH5ad(`${dir}/pre07.h5ad`, (src) => expect(src.readObsColumn('name').kind).toBe('string'));
  });

  it('names the columns that exist, and refuses unknown encodings and dtypes with codes', () => {
    const dir = fixtureDir();
    withH5ad(`${dir}/kinds.h5ad`, (src) => {
      expect(() => src.readObsColumn('drug')).toThrow(
        expect.objectContaining({ code: 'OBS_MISSING_COLUMN', message: expect.stringContaining('cat, ordcat') }),
      );
      expect(() => src.readObsColumn('weird')).toThrow(expect.objectContaining({ code: 'H5AD_UNSUPPORTED_ENCODING' }));
      expect(() => src.readObsColumn('cplx')).toThrow(expect.objectContaining({ code: 'H5AD_UNSUPPORTED_DTYPE' }));
      expect(() => src.readEmbeddings('nope')).toThrow(
        expect.objectContaining({ code: 'UNS_MISSING_KEY', message: expect.stringContaining('emb') }),
      );
      const emb = src.readEmbeddings('emb');
      expect(Array.from(emb.get('a')!)).toEqual([0, 1, 2]);
      expect(emb.get('b')).toBeInstanceOf(Float32Array);
    });
  });

  it('inspect reports kinds, dtypes and categories from metadata', () => {
    const r = inspectH5ad(`${fixtureDir()}/kinds.h5ad`);
    expect(r.n_obs).toBe(40);
    const cols = Object.fromEntries(r.obs.columns.map((c) => [c.name, c]));
    expect(cols['cat']).toMatchObject({ kind: 'categorical', dtype: 'int8', nCategories: 3 });
    expect(cols['ordcat']).toMatchObject({ ordered: true });
    expect(cols['flag']).toMatchObject({ kind: 'boolean', dtype: 'bool' });
    expect(cols['i64']).toMatchObject({ kind: 'numeric', dtype: 'int64' });
    expect(r.matrices).toEqual([expect.objectContaining({ location: 'obsm/X_pca', shape: [40, 3], dtype: 'float32', bytes: 480 })]);
    expect(r.uns).toEqual(['emb']);
  });
});
