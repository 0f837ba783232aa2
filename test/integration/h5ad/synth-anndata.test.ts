import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSynthSpec, SynthGenerator, synthesize } from '../../../src/h5ad/synth.js';
import type { SynthOptions } from '../../../src/h5ad/synth.js';

const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import anndata, h5py, scipy'], { encoding: 'utf8' });
const missing = probe.status === 0 ? null : `${PY} with anndata, h5py and scipy is not available (install Debian's python3-anndata)`;
if (missing) console.warn(`skipping synth → anndata tests: ${missing}`);

const dir = mkdtempSync(join(tmpdir(), 'cellbudget-synth-py-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Reads the file with anndata and prints what a user of anndata would see.
const READ = `
import sys, json, anndata, h5py, numpy as np, scipy.sparse as sp
a = anndata.read_h5ad(sys.argv[1])
loc = sys.argv[2]
m = a.X if loc == 'X' else a.obsm['X_pca']
dense = m.toarray() if sp.issparse(m) else np.asarray(m)
with h5py.File(sys.argv[1], 'r') as f:
    control_h5 = str(f['obs/control'].dtype)
    # The exact HDF5 type h5py itself writes for numpy bool (H5Tequal).
    same_type_as_h5py = f['obs/control'].id.get_type() == h5py.h5t.py_create(np.dtype(bool))
    ordered_same_type = f['obs/drug'].attrs.get_id('ordered').get_type() == h5py.h5t.py_create(np.dtype(bool))
    ordered_type = type(f['obs/drug'].attrs['ordered']).__name__
print(json.dumps({
  'shape': list(a.shape),
  'dtypes': {k: str(v) for k, v in a.obs.dtypes.items()},
  'control_h5': control_h5,
  'ordered_type': ordered_type,
  'same_type_as_h5py': bool(same_type_as_h5py),
  'ordered_same_type': bool(ordered_same_type),
  'ordered': bool(a.obs['drug'].cat.ordered),
  'index0': a.obs_names[0],
  'index_last': a.obs_names[-1],
  'index_unique': bool(a.obs_names.is_unique),
  'cell_line_categories': list(a.obs['cell_line'].cat.categories),
  'drug_categories': list(a.obs['drug'].cat.categories),
  'control_sum': int(a.obs['control'].sum()),
  'control_dosage_max': float(a.obs.loc[a.obs['control'], 'dosage'].max()),
  'control_drugs': sorted(set(a.obs.loc[a.obs['control'], 'drug'].astype(str))),
  'dosage_sum': float(a.obs['dosage'].sum()),
  'matrix_type': 'csr' if sp.isspmatrix_csr(m) else type(m).__name__,
  'matrix_dtype': str(m.dtype),
  'matrix_shape': list(m.shape),
  'row7': [float(x) for x in dense[7]],
  'uns': sorted(a.uns.keys()),
  'drug_emb_keys': sorted(a.uns['drug_embeddings'].keys()),
  'drug_emb_dtype': str(a.uns['drug_embeddings'][a.obs['drug'].cat.categories[0]].dtype),
  'var_names0': a.var_names[0],
}))
`;

function readWithAnndata(path: string, loc: string): Record<string, unknown> {
  const r = spawnSync(PY, ['-c', READ, path, loc], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`anndata could not read ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const base: SynthOptions = { cells: 2500, features: 10, cellLines: 4, drugs: 6, doses: [0.1, 1, 10], controlFraction: 0.1, seed: 3 };

describe.skipIf(missing !== null)('synth → Python anndata 0.8 reads it with the right dtypes', () => {
  it.each([
    ['obsm/X_pca dense float32 gzip', { dtype: 'float32', compression: 'gzip' }, 'obsm/X_pca', 'ndarray'],
    ['obsm/X_pca dense float64', { dtype: 'float64', compression: 'none' }, 'obsm/X_pca', 'ndarray'],
    ['X csr float32 gzip', { dtype: 'float32', compression: 'gzip', dataLocation: 'X', format: 'csr', density: 0.3 }, 'X', 'csr'],
    ['X dense float32', { dtype: 'float32', compression: 'none', dataLocation: 'X' }, 'X', 'ndarray'],
  ] as const)('%s', async (_name, extra, loc, matrixType) => {
    const opts = { ...base, ...extra };
    const out = join(dir, `${_name.replace(/\W+/g, '_')}.h5ad`);
    await synthesize(opts, out);
    const got = readWithAnndata(out, loc);
    const gen = new SynthGenerator(resolveSynthSpec(opts));
    expect(got['shape']).toEqual([2500, 10]);
    expect(got['dtypes']).toEqual({ cell_line: 'category', drug: 'category', dosage: 'float64', control: 'bool' });
    expect(got['control_h5']).toBe('bool');
    expect(got['ordered_type']).toBe('bool_');
    expect(got['same_type_as_h5py']).toBe(true);
    expect(got['ordered_same_type']).toBe(true);
    expect(got['ordered']).toBe(false);
    expect(got['index0']).toBe(gen.obs.cellName(0));
    expect(got['index_last']).toBe(gen.obs.cellName(2499));
    expect(got['index_unique']).toBe(true);
    expect(got['cell_line_categories']).toEqual(gen.obs.cellLineCategories);
    expect(got['drug_categories']).toEqual(gen.obs.drugCategories);
    expect(got['control_sum']).toBe(250);
    expect(got['control_dosage_max']).toBe(0);
    expect(got['control_drugs']).toEqual(['DMSO_TF']);
    expect(got['dosage_sum']).toBeCloseTo(
      gen.obs.dosage.reduce((a, b) => a + b, 0),
      6,
    );
    expect(got['matrix_type']).toBe(matrixType);
    expect(got['matrix_dtype']).toBe(opts.dtype);
    expect(got['matrix_shape']).toEqual([2500, 10]);
    const row7 = opts.dtype === 'float32' ? new Float32Array(10) : new Float64Array(10);
    if ('format' in extra) {
      const k = gen.nnzPerRow;
      const data = new Float32Array(k);
      const idx = new Int32Array(k);
      gen.fillCsr(7, 8, data, idx);
      idx.forEach((j, i) => (row7[j] = data[i]!));
    } else {
      gen.fillDense(7, 8, row7);
    }
    expect(got['row7']).toEqual(Array.from(row7));
    expect(got['uns']).toEqual(['cell_line_embeddings', 'drug_embeddings']);
    expect(got['drug_emb_keys']).toEqual([...gen.obs.drugCategories].sort());
    expect(got['drug_emb_dtype']).toBe('float32');
    expect(got['var_names0']).toBe(loc === 'X' ? 'gene0' : 'PC0');
  });
});
