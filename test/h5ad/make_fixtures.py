"""Fixtures for the h5ad reader tests, written by h5py / anndata (the reference tools).
Usage: make_fixtures.py OUTDIR"""
import sys, os
import numpy as np
import h5py

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
str_dt = h5py.string_dtype('utf-8')


def enc(obj, t, v='0.2.0'):
    obj.attrs['encoding-type'] = t
    obj.attrs['encoding-version'] = v


def obs_frame(f, n, cols=()):
    g = f.create_group('obs')
    enc(g, 'dataframe')
    g.attrs['_index'] = '_index'
    g.attrs['column-order'] = np.array(list(cols), dtype=object) if cols else np.array([], dtype='float64')
    d = g.create_dataset('_index', data=np.array([f'cell{i}' for i in range(n)], dtype=object), dtype=str_dt)
    enc(d, 'string-array')
    return g


def csr(parent, name, m, fmt='csr', dtype='float32', idx='int32', **kw):
    import scipy.sparse as sp
    mat = sp.csr_matrix(m) if fmt == 'csr' else sp.csc_matrix(m)
    g = parent.create_group(name)
    enc(g, fmt + '_matrix', '0.1.0')
    g.attrs['shape'] = np.array(m.shape, dtype='int64')
    g.create_dataset('data', data=mat.data.astype(dtype), **kw)
    g.create_dataset('indices', data=mat.indices.astype(idx), **kw)
    g.create_dataset('indptr', data=mat.indptr.astype(idx), **kw)


# 1. Row windows: one matrix per chunking/compression.
n = 203
with h5py.File(os.path.join(out, 'windows.h5ad'), 'w') as f:
    enc(f, 'anndata', '0.1.0')
    obs_frame(f, n)
    obsm = f.create_group('obsm'); enc(obsm, 'dict', '0.1.0')
    layers = f.create_group('layers'); enc(layers, 'dict', '0.1.0')
    a = rng.standard_normal((n, 7)).astype('float32')
    for name, kw in {
        'contig': {},
        'c1': dict(chunks=(1, 7)),
        'c13gz': dict(chunks=(13, 4), compression='gzip'),
        'c64sh': dict(chunks=(64, 7), compression='gzip', shuffle=True),
        'c50fl': dict(chunks=(50, 3), fletcher32=True),
    }.items():
        enc(obsm.create_dataset(name, data=a, **kw), 'array')
    enc(obsm.create_dataset('f64gz', data=a.astype('float64'), chunks=(17, 7), compression='gzip'), 'array')
    enc(obsm.create_dataset('i16', data=(a * 100).astype('int16'), chunks=(10, 7)), 'array')
    enc(obsm.create_dataset('vec', data=a[:, 0]), 'array')
    # Big-endian and contiguous float64: read by HDF5 (converted) or straight from disk.
    enc(obsm.create_dataset('contig_be', data=a.astype('>f4')), 'array')
    enc(obsm.create_dataset('contig64', data=a.astype('float64')), 'array')
    s = rng.standard_normal((n, 11)) * (rng.random((n, 11)) < 0.3)
    s[5] = 0; s[100:110] = 0  # empty rows
    csr(f, 'X', s)
    csr(layers, 'csr_gz', s, dtype='float64', chunks=(17,), compression='gzip')
    csr(layers, 'csr_i64', s, idx='int64', chunks=(5,), compression='gzip', shuffle=True)
    csr(layers, 'csc', s, fmt='csc')

# 2. Every obs kind anndata 0.8 writes, plus hand-written nullable columns.
import anndata as ad
import pandas as pd
m = 40
obs = pd.DataFrame({
    'cat': pd.Categorical(rng.choice(['b', 'a', 'c'], m), categories=['b', 'a', 'c']),
    'ordcat': pd.Categorical(rng.choice(['lo', 'hi'], m), categories=['lo', 'hi'], ordered=True),
    'numcat': pd.Categorical(rng.choice([1.5, 2.5], m)),
    'flag': rng.random(m) < 0.5,
    'i32': rng.integers(-5, 5, m).astype('int32'),
    'u8': rng.integers(0, 255, m).astype('uint8'),
    'i64': rng.integers(-5, 5, m).astype('int64'),
    'f32': rng.standard_normal(m).astype('float32'),
    'strs': np.array([f's{i % 7}' for i in range(m)], dtype=object),
    'nint': pd.array([None if i % 5 == 0 else i for i in range(m)], dtype='Int32'),
    'nbool': pd.array([None if i % 4 == 0 else bool(i % 2) for i in range(m)], dtype='boolean'),
}, index=[f'c{i}' for i in range(m)])
obs.loc[obs.index[3], 'cat'] = np.nan
adata = ad.AnnData(obs=obs, obsm={'X_pca': rng.standard_normal((m, 3)).astype('float32')})
adata.uns['emb'] = {'a': np.arange(3.0), 'b': np.arange(3, dtype='float32')}
adata.write_h5ad(os.path.join(out, 'kinds.h5ad'))
import json
expected = {'index': list(obs.index), 'columns': {}}
for c in obs.columns:
    col = obs[c]
    if isinstance(col.dtype, pd.CategoricalDtype):
        expected['columns'][c] = {'codes': col.cat.codes.tolist(), 'categories': col.cat.categories.tolist(), 'ordered': bool(col.cat.ordered)}
    elif isinstance(col.dtype, (pd.Int32Dtype, pd.BooleanDtype)):
        expected['columns'][c] = {'mask': col.isna().tolist(), 'values': [None if v is pd.NA else (bool(v) if isinstance(v, (bool, np.bool_)) else int(v)) for v in col]}
    else:
        expected['columns'][c] = {'values': [v.item() if hasattr(v, 'item') else v for v in col]}
with open(os.path.join(out, 'kinds.json'), 'w') as fh:
    json.dump(expected, fh)
with h5py.File(os.path.join(out, 'kinds.h5ad'), 'a') as f:
    g = f['obs'].create_group('nstr')
    enc(g, 'nullable-string-array', '0.1.0')
    g.create_dataset('values', data=np.array([f'v{i}' for i in range(m)], dtype=object), dtype=str_dt)
    g.create_dataset('mask', data=np.array([i % 3 == 0 for i in range(m)]))
    co = list(f['obs'].attrs['column-order']) + ['nstr']
    f['obs'].attrs['column-order'] = np.array(co, dtype=object)
    g = f['obs'].create_group('weird')
    enc(g, 'awkward-array', '0.1.0')
    f['obs'].create_dataset('cplx', data=np.zeros(m, dtype='complex64'))

# 3. anndata 0.7 (dataframe 0.1.0): categories in obs/__categories, linked by object reference.
k = 25
codes = rng.integers(0, 3, k).astype('int8')
with h5py.File(os.path.join(out, 'legacy07.h5ad'), 'w') as f:
    f.attrs['encoding-type'] = 'anndata'; f.attrs['encoding-version'] = '0.1.0'
    g = f.create_group('obs')
    g.attrs['encoding-type'] = 'dataframe'; g.attrs['encoding-version'] = '0.1.0'
    g.attrs['_index'] = 'index'
    g.attrs['column-order'] = np.array(['drug', 'dose', 'control'], dtype=object)
    g.create_dataset('index', data=np.array([f'c{i}' for i in range(k)], dtype=object), dtype=str_dt)
    cats = g.create_group('__categories')
    cd = cats.create_dataset('drug', data=np.array(['z', 'DMSO', 'a'], dtype=object), dtype=str_dt)
    cd.attrs['ordered'] = False
    d = g.create_dataset('drug', data=codes)
    d.attrs['categories'] = cd.ref
    g.create_dataset('dose', data=np.linspace(0, 1, k))
    g.create_dataset('control', data=codes == 1)
    f.create_dataset('X', data=rng.standard_normal((k, 4)).astype('float32'))
    u = f.create_group('uns').create_group('drug_embeddings')
    for c in ['z', 'DMSO', 'a']:
        u.create_dataset(c, data=rng.standard_normal(2))

# 4. pre-0.7: no encoding attributes at all, categories by reference.
with h5py.File(os.path.join(out, 'pre07.h5ad'), 'w') as f:
    g = f.create_group('obs')
    g.create_dataset('index', data=np.array([f'c{i}' for i in range(k)], dtype=object), dtype=str_dt)
    cats = g.create_group('__categories')
    cd = cats.create_dataset('drug', data=np.array(['z', 'DMSO', 'a'], dtype=object), dtype=str_dt)
    d = g.create_dataset('drug', data=codes)
    d.attrs['categories'] = cd.ref
    g.create_dataset('dose', data=np.linspace(0, 1, k))
    g.create_dataset('control', data=codes == 1)
    g.create_dataset('name', data=np.array([f'n{i}' for i in range(k)], dtype=object), dtype=str_dt)
    f.create_dataset('X', data=rng.standard_normal((k, 4)).astype('float32'))

# 5. A compression filter h5wasm cannot decode.
with h5py.File(os.path.join(out, 'lzf.h5ad'), 'w') as f:
    enc(f, 'anndata', '0.1.0')
    obs_frame(f, 30)
    obsm = f.create_group('obsm'); enc(obsm, 'dict', '0.1.0')
    enc(obsm.create_dataset('X_pca', data=np.ones((30, 4), dtype='float32'), chunks=(10, 4), compression='lzf'), 'array')
print('ok')

# Storage sizes as HDF5 itself reports them, for the on-disk byte counts.
with h5py.File(os.path.join(out, 'windows.h5ad'), 'r') as f:
    sizes = {}
    for loc in ['X', 'layers/csr_gz', 'layers/csr_i64', 'layers/csc']:
        sizes[loc] = sum(f[loc][p].id.get_storage_size() for p in ['data', 'indices', 'indptr'])
    for k in f['obsm']:
        sizes['obsm/' + k] = f['obsm'][k].id.get_storage_size()
with open(os.path.join(out, 'storage.json'), 'w') as fh:
    json.dump(sizes, fh)
