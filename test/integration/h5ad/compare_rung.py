"""Judge a rung file against its source, with the reference tools (anndata 0.8, h5py).

    compare_rung.py SOURCE RUNG ROWS_JSON [--no-anndata]

Values: anndata's own subsetting of the source (adata[rows], obsp by rows and columns, raw
too) must equal what anndata reads from the rung: obs (dtypes and categories included), var,
uns, X, obsm, layers, obsp, varm, varp, raw. With --no-anndata (files anndata 0.8 cannot read),
the obs datasets are compared row by row with h5py instead.
Storage: every group, dataset and attribute of the source is in the rung and nothing else;
each dataset keeps its dtype (byte order aside), chunk shape (clipped to the new extent) and
gzip level; attributes are equal (a sparse matrix's shape aside).
Prints {"problems": [...], "allowed": [...]} as JSON; "allowed" lists the documented limits met.
"""
import json
import sys

import h5py
import numpy as np

src_path, dst_path, rows_path = sys.argv[1:4]
use_anndata = "--no-anndata" not in sys.argv
rows = np.asarray(json.load(open(rows_path)), dtype=np.int64)
problems = []
allowed = []


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def same(a, b):
    if isinstance(a, (bytes, str)) or isinstance(b, (bytes, str)):
        return text(a) == text(b)
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "OSU" or b.dtype.kind in "OSU":
        return a.shape == b.shape and all(text(x) == text(y) for x, y in zip(a.ravel(), b.ravel()))
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def is_string(d):
    return h5py.check_string_dtype(d.dtype) is not None


S = h5py.File(src_path, "r")
D = h5py.File(dst_path, "r")
obs_index = text(S["obs"].attrs["_index"])
n_obs = S["obs"][obs_index].shape[0]


def aligned_matrix_group(path):
    parts = path.strip("/").split("/")
    return parts[0] in ("X",) or (parts[0] in ("obsm", "layers", "obsp") and len(parts) == 2) or parts[:2] == ["raw", "X"]


def visit(name, s):
    path = "/" + name
    if path not in D:
        problems.append(f"{path}: missing from the rung")
        return
    d = D[path]
    sparse_group = isinstance(s, h5py.Group) and text(s.attrs.get("encoding-type")) in ("csr_matrix", "csc_matrix")
    for k in s.attrs.keys():
        if k not in d.attrs:
            problems.append(f"{path}: attribute {k} missing")
            continue
        if sparse_group and aligned_matrix_group(path) and k == "shape":
            continue
        if not same(s.attrs[k], d.attrs[k]):
            problems.append(f"{path}: attribute {k} is {d.attrs[k]!r}, was {s.attrs[k]!r}")
        if s.attrs.get_id(k).dtype != d.attrs.get_id(k).dtype and not (s.attrs.get_id(k).dtype.kind in "OS" and d.attrs.get_id(k).dtype.kind in "OS"):
            problems.append(f"{path}: attribute {k} has dtype {d.attrs.get_id(k).dtype}, was {s.attrs.get_id(k).dtype}")
    for k in d.attrs.keys():
        if k not in s.attrs:
            problems.append(f"{path}: attribute {k} was not in the source")
    if isinstance(s, h5py.Dataset):
        if not isinstance(d, h5py.Dataset):
            problems.append(f"{path}: not a dataset in the rung")
            return
        if is_string(s):
            if not is_string(d):
                problems.append(f"{path}: strings became {d.dtype}")
            if s.compression or s.chunks:
                allowed.append(f"{path}: strings written contiguous and uncompressed")
            return
        if s.dtype.newbyteorder("<") != d.dtype.newbyteorder("<") or (s.dtype.kind != d.dtype.kind):
            problems.append(f"{path}: dtype {d.dtype}, was {s.dtype}")
        if s.dtype.byteorder == ">":
            allowed.append(f"{path}: big-endian written little-endian")
        if s.chunks is None:
            if d.chunks is not None:
                problems.append(f"{path}: chunked {d.chunks}, was contiguous")
        elif 0 not in d.shape:
            want = tuple(max(1, min(c, n)) if (s.maxshape[i] is not None) else c for i, (c, n) in enumerate(zip(s.chunks, d.shape)))
            if d.chunks != want:
                problems.append(f"{path}: chunks {d.chunks}, want {want} (source {s.chunks})")
            if s.compression != d.compression or s.compression_opts != d.compression_opts:
                problems.append(f"{path}: compression {d.compression} {d.compression_opts}, was {s.compression} {s.compression_opts}")
            if s.shuffle and not d.shuffle:
                allowed.append(f"{path}: shuffle dropped")
            if s.fletcher32 and not d.fletcher32:
                allowed.append(f"{path}: fletcher32 dropped")


S.visititems(visit)
for k in S["/"].attrs.keys():
    if not same(S["/"].attrs[k], D["/"].attrs[k]):
        problems.append(f"/: attribute {k} differs")


def extra(name, d):
    if "/" + name not in S:
        problems.append(f"/{name}: in the rung, not in the source")


D.visititems(extra)

# Values.
if use_anndata:
    import anndata
    import pandas as pd
    import scipy.sparse as sp

    a = anndata.read_h5ad(src_path)
    b = anndata.read_h5ad(dst_path)

    def sub(x, r, cols=False):
        """Rows `r` of x (and the same columns when `cols`), by numpy/scipy/pandas; categories kept."""
        if x is None:
            return None
        if isinstance(x, pd.DataFrame):
            return x.iloc[r]
        if sp.issparse(x):
            # scipy refuses fancy indexing on int64 indptr beside int32 indices: one index dtype.
            x = x.copy()
            x.indices = x.indices.astype(np.int64)
            x.indptr = x.indptr.astype(np.int64)
            y = x[r][:, r] if cols else x[r]
            return y.asformat(x.format)
        x = np.asarray(x)
        return x[r][:, r] if cols else x[r]

    def cmp_matrix(where, x, y):
        if x is None or y is None:
            if (x is None) != (y is None):
                problems.append(f"{where}: present in one file only")
            return
        if isinstance(x, pd.DataFrame):
            try:
                pd.testing.assert_frame_equal(x, y)
            except AssertionError as e:
                problems.append(f"{where}: {str(e).splitlines()[0]}")
            return
        if sp.issparse(x) != sp.issparse(y) or (sp.issparse(x) and x.format != y.format):
            problems.append(f"{where}: {type(y).__name__}, expected {type(x).__name__}")
            return
        if (x.dtype.kind, x.dtype.itemsize) != (y.dtype.kind, y.dtype.itemsize):
            problems.append(f"{where}: dtype {y.dtype}, expected {x.dtype}")
        xd = x.toarray() if sp.issparse(x) else np.asarray(x)
        yd = y.toarray() if sp.issparse(y) else np.asarray(y)
        if xd.shape != yd.shape or not np.array_equal(xd, yd, equal_nan=xd.dtype.kind == "f"):
            problems.append(f"{where}: values differ")

    def cmp_tree(where, x, y):
        if isinstance(x, dict):
            if not isinstance(y, dict) or set(x) != set(y):
                problems.append(f"{where}: keys {sorted(y) if isinstance(y, dict) else type(y)} != {sorted(x)}")
                return
            for k in x:
                cmp_tree(f"{where}/{k}", x[k], y[k])
        elif isinstance(x, pd.DataFrame):
            cmp_matrix(where, x, y)
        elif sp.issparse(x) or isinstance(x, np.ndarray):
            cmp_matrix(where, x, y)
        elif not same(x, y):
            problems.append(f"{where}: {y!r} != {x!r}")

    try:
        # Every category list whole, as in the source (anndata's own a[rows] would drop unused ones).
        pd.testing.assert_frame_equal(a.obs.iloc[rows], b.obs)
    except AssertionError as e:
        problems.append(f"obs: {str(e).splitlines()[0]}")
    try:
        pd.testing.assert_frame_equal(a.var, b.var)
    except AssertionError as e:
        problems.append(f"var: {str(e).splitlines()[0]}")
    cmp_matrix("X", sub(a.X, rows), b.X)
    for attr in ("obsm", "layers", "obsp"):
        xs, ys = getattr(a, attr), getattr(b, attr)
        if set(xs.keys()) != set(ys.keys()):
            problems.append(f"{attr}: keys {sorted(ys.keys())} != {sorted(xs.keys())}")
        for k in xs.keys():
            cmp_matrix(f"{attr}/{k}", sub(xs[k], rows, cols=attr == "obsp"), ys[k])
    for attr in ("varm", "varp"):
        xs, ys = getattr(a, attr), getattr(b, attr)
        for k in xs.keys():
            cmp_matrix(f"{attr}/{k}", xs[k], ys[k])
    cmp_tree("uns", dict(a.uns), dict(b.uns))
    if (a.raw is None) != (b.raw is None):
        problems.append("raw: present in one file only")
    elif a.raw is not None:
        cmp_matrix("raw/X", sub(a.raw.X, rows), b.raw.X)
        try:
            pd.testing.assert_frame_equal(a.raw.var, b.raw.var)
        except AssertionError as e:
            problems.append(f"raw/var: {str(e).splitlines()[0]}")
else:
    # obs datasets row by row with h5py.
    def obs_values(name, s):
        if not isinstance(s, h5py.Dataset) or "__categories" in name or name.endswith("/categories"):
            return
        d = D["obs/" + name]
        if s.shape[0] != n_obs:
            return
        if not same(s[()][rows], d[()]):
            problems.append(f"obs/{name}: values differ")

    S["obs"].visititems(obs_values)

print(json.dumps({"problems": problems, "allowed": sorted(set(allowed)), "rows": int(len(rows))}))
