"""Read a store `cellbudget prepare` wrote, element by element, the way zarr and anndata read it,
and compare it with the source file (read by anndata) and with what is expected of it.

    python3 check_store.py STORE H5AD EXPECTED.json [EXPECTED2.json ...]

Each EXPECTED file holds `config` (the DataManager + split settings) and `expected` (the fields
of `cellbudget split --rows --json`, or of a golden file's `expected`): n_obs, src_rows,
tgt_rows, src_labels, tgt_labels, conditions, src_to_tgt, splits (optional).

The splits are computed here from the store's own annotation (src_tgt_dist_df and
default_values), by a small splitter written for this check from the semantics in the
project's docs (numpy's RandomState for the order), not by scaleflow's code.

Prints one JSON object: {"checked": [...], "failures": [...], "splits": {...}}; exit 0.
"""
import json
import sys

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp
import zarr
from anndata._io.specs import read_elem

store_path, h5ad_path, *expected_paths = sys.argv[1:]
failures = []
checked = []


def check(name, ok, detail=""):
    checked.append(name)
    if not ok:
        failures.append(f"{name}: {detail}")


g = zarr.open_group(store_path, mode="r")
adata = anndata.read_h5ad(h5ad_path)

cases = []
for p in expected_paths:
    with open(p) as f:
        cases.append(json.load(f))
config = cases[0]["config"]
loc = config["data_location"]
if loc[0] == "X":
    M = adata.X
elif loc[0] == "obsm":
    M = adata.obsm[loc[1]]
else:
    M = adata.layers[loc[1]]
dense = M.toarray() if sp.issparse(M) else np.asarray(M)

# --- data/src_data, data/tgt_data: rows, dtype, chunking
def check_arrays(kind, rows_of):
    grp = g["data"][kind]
    keys = sorted(grp.array_keys(), key=int)
    want = sorted((k for k, rows in rows_of.items() if len(rows) > 0), key=int)
    check(f"{kind} keys", keys == want, f"{keys[:10]} vs {want[:10]}")
    for k in want:
        a = grp[k]
        rows = rows_of[k]
        ok = (
            a.dtype == dense.dtype
            and a.shape == (len(rows), dense.shape[1])
            and a.chunks[1] == dense.shape[1]
            and a.compressor is None
        )
        check(f"{kind}/{k} layout", ok, f"{a.dtype} {a.shape} {a.chunks} {a.compressor} vs {dense.dtype} {(len(rows), dense.shape[1])}")
        got = a[...]
        check(f"{kind}/{k} rows", np.array_equal(got.view(np.uint8), dense[np.asarray(rows, dtype=np.int64)].view(np.uint8)), "values differ")


for case in cases:
    e = case["expected"]
    check("n_obs", e["n_obs"] == adata.n_obs)
    check_arrays("src_data", e["src_rows"])
    check_arrays("tgt_data", e["tgt_rows"])

    # --- data/src_to_tgt_dist_map (an anndata dict of int arrays)
    m = g["data"]["src_to_tgt_dist_map"]
    got = sorted([[int(k), [int(x) for x in np.asarray(m[k])]] for k in m.array_keys()])
    check("src_to_tgt_dist_map", got == [[s, list(ts)] for s, ts in e["src_to_tgt"]], f"{got[:3]} vs {e['src_to_tgt'][:3]}")
    check("src_to_tgt_dist_map as anndata reads it", sorted(read_elem(m).keys(), key=int) == [str(s) for s, _ in e["src_to_tgt"]])

    # --- data/conditions: concatenated columns, dist_ids and indptr_<col> attributes
    c = g["data"]["conditions"]
    ids = list(c.attrs["dist_ids"])
    nt = len(e["tgt_labels"])
    check("conditions dist_ids", ids == list(range(nt)), str(ids[:5]))
    cols = sorted(c.array_keys())
    check("conditions columns", cols == sorted(e["conditions"]["0"].keys()), str(cols))
    for col in cols:
        arr = np.asarray(c[col])
        indptr = list(c.attrs[f"indptr_{col}"])
        check(f"conditions/{col} shape", arr.ndim == 3 and arr.shape[0] == nt and arr.shape[1] == 1 and len(indptr) == nt + 1, str(arr.shape))
        emb_key = config["rep_keys"].get(col)
        if emb_key is not None:
            first = next(iter(adata.uns[emb_key].values()))
            check(f"conditions/{col} dtype", arr.dtype == np.asarray(first).dtype, f"{arr.dtype} vs {np.asarray(first).dtype}")
        worst = 0.0
        for t, i in enumerate(ids):
            got = arr[indptr[t] : indptr[t + 1]].reshape(-1).astype(np.float64)
            want = np.asarray(e["conditions"][str(i)][col], dtype=np.float64)
            if got.shape != want.shape:
                worst = float("inf")
                break
            worst = max(worst, float(np.max(np.abs(got - want))) if want.size else 0.0)
        check(f"conditions/{col} values", worst <= 1e-9, f"max difference {worst}")

    # --- annotation/{src,tgt}_dist_idx_to_labels: indices int64, json_labels text
    for kind, labels, rows in (("src", e["src_labels"], e["src_rows"]), ("tgt", e["tgt_labels"], e["tgt_rows"])):
        lg = g["annotation"][f"{kind}_dist_idx_to_labels"]
        idx = np.asarray(lg["indices"])
        texts = np.asarray(lg["json_labels"]).astype(object)
        want = sorted((int(k) for k in labels if len(rows[k]) > 0))
        check(f"{kind} label indices", idx.dtype == np.int64 and list(idx) == want, f"{idx.dtype} {list(idx)[:5]}")
        got = {int(i): json.loads(t) for i, t in zip(idx, texts)}
        check(f"{kind} labels", all(got[i] == labels[str(i)] for i in want), f"{list(got.items())[:2]} vs {[labels[str(i)] for i in want[:2]]}")

# --- annotation/metadata, as anndata reads it
meta = read_elem(g["annotation"]["metadata"])
check("metadata keys", sorted(meta.keys()) == sorted(
    ["old_obs_index", "src_tgt_dist_df", "default_values", "tgt_dist_keys", "src_dist_keys", "dist_flag_key", "data_location"]
), str(sorted(meta.keys())))
check("old_obs_index", list(meta["old_obs_index"]) == list(adata.obs_names), f"{list(meta['old_obs_index'][:3])}")
check("tgt_dist_keys", list(meta["tgt_dist_keys"]) == config["tgt_dist_keys"])
check("src_dist_keys", list(meta["src_dist_keys"]) == config["src_dist_keys"])
flag = config["dist_flag_key"] if isinstance(config["dist_flag_key"], str) else config["dist_flag_key"]["column"]
check("dist_flag_key", meta["dist_flag_key"] == flag, repr(meta["dist_flag_key"]))
ops = [["getattr", loc[0]]] + [["getitem", p] for p in loc[1:]]
check("data_location", json.loads(meta["data_location"]) == ops, meta["data_location"])

# The annotation the reference semantics give, computed here with pandas from the file's obs:
# rows sorted (stably) by flag, src keys, tgt keys; one row per target in target order.
src_keys, tgt_keys = config["src_dist_keys"], config["tgt_dist_keys"]
keys = [*src_keys, *tgt_keys]
if isinstance(config["dist_flag_key"], str):
    obs = adata.obs[[flag, *keys]].copy()
else:
    obs = adata.obs[keys].copy()
    obs[flag + "__flag"] = (adata.obs[flag] == config["dist_flag_key"]["equals"]).to_numpy()
    flag = flag + "__flag"
    obs = obs[[flag, *keys]]
obs.reset_index(drop=True, inplace=True)
obs = obs.dropna()
obs.sort_values([flag, *keys], inplace=True, kind="stable")
obs["src_dist_idx"] = obs.groupby(src_keys, observed=True).ngroup().astype(np.int32)
pert = obs[~obs[flag].astype(bool)]
ref = pert.copy()
ref["tgt_dist_idx"] = pert.groupby(keys, observed=True).ngroup().astype(np.int32)
ref = ref[["src_dist_idx", "tgt_dist_idx", *keys]].drop_duplicates()
df = meta["src_tgt_dist_df"]
try:
    pd.testing.assert_frame_equal(df, ref, check_index_type=True)
    check("src_tgt_dist_df", True)
except AssertionError as err:
    check("src_tgt_dist_df", False, str(err)[:400])
ctl = obs[obs[flag].astype(bool)][tgt_keys].drop_duplicates().iloc[0].to_dict()
dv = meta["default_values"]
check("default_values", dv == ctl and all(type(dv[k]) == type(ctl[k]) or isinstance(dv[k], type(ctl[k])) for k in ctl), f"{dv!r} vs {ctl!r}")


# --- the splits, from the store's annotation alone
def split_store(df, defaults, split):
    by = split["split_by"]
    r_train, r_val, r_test = split["ratios"]
    uniq = df.drop_duplicates(subset=by)[by]
    tuples = [tuple(x) for x in uniq.itertuples(index=False, name=None)]
    n = len(tuples)
    train, val = round(r_train * n), round(r_val * n)
    test = n - train - val
    force = split.get("force_training_values") or {}

    def forced(t):
        row = dict(zip(by, t))
        hit = any(k in row and row[k] == v for k, v in force.items())
        if split.get("holdout_combinations"):
            hit = hit or any(k in row and (row[k] == v or pd.isna(row[k])) for k, v in defaults.items())
        return hit

    is_forced = [forced(t) for t in tuples]
    others = [t for t, f in zip(tuples, is_forced) if not f]
    order = np.random.RandomState(split["random_state"]).permutation(len(others))
    shuffled = [others[i] for i in order]
    where = {t: "train" for t, f in zip(tuples, is_forced) if f}
    left_train = max(0, train - len(where))
    for i, t in enumerate(shuffled):
        where[t] = "train" if i < left_train else "test" if i < left_train + test else "val"
    out = {}
    for s in ("train", "val", "test"):
        rows = df[[where[tuple(x)] == s for x in df[by].itertuples(index=False, name=None)]]
        tgt = sorted(int(x) for x in rows["tgt_dist_idx"])
        src = sorted({int(x) for x in rows["src_dist_idx"]})
        s2t = [[si, sorted(int(t) for t in rows.loc[rows["src_dist_idx"] == si, "tgt_dist_idx"])] for si in src]
        out[s] = {"tgt": tgt, "src": src, "src_to_tgt": s2t}
    return out


splits = split_store(df, dv, config["split"])
for case in cases:
    want = case["expected"].get("splits")
    if want is not None and not case.get("reference_defect"):
        check("splits from the store", splits == want, f"{json.dumps(splits)[:300]} vs {json.dumps(want)[:300]}")

print(json.dumps({"checked": checked, "failures": failures, "splits": splits}))
