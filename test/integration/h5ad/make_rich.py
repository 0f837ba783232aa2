"""Write a small AnnData file with every obs-aligned element a rung copies, with anndata 0.8.

    make_rich.py OUT.h5ad [gzip|none]

obs: categoricals (category order not alphabetical), float64, bool control, int32, float32,
an ordered categorical; X csr float32; layers: dense int32, csc float64; obsm: dense float32,
a dataframe; obsp: csr float32 and dense float32 (cell x cell); varm; raw (X csr, var); uns
with nested dicts, strings, numbers, a bool and embeddings. Seeded: the same bytes each time.
"""
import sys

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp

out = sys.argv[1]
compression = None if len(sys.argv) < 3 or sys.argv[2] == "none" else sys.argv[2]
rng = np.random.RandomState(7)
lines = ["line2", "line0", "line3", "line1"]
drugs = [f"drug{i:02d}" for i in range(10)]
doses = [0.1, 1.0, 10.0]
rows = []
for li, line in enumerate(lines):
    for _ in range(15):
        rows.append((line, "DMSO", 0.0, True))
    for d in drugs:
        for dose in doses:
            for _ in range(rng.randint(3, 7)):
                rows.append((line, d, dose, False))
order = rng.permutation(len(rows))
rows = [rows[i] for i in order]
n = len(rows)
obs = pd.DataFrame(
    {
        "cell_line": pd.Categorical([r[0] for r in rows], categories=lines),
        "drug": pd.Categorical([r[1] for r in rows], categories=["drug05", "DMSO"] + [d for d in drugs if d != "drug05"]),
        "dosage": np.array([r[2] for r in rows], dtype=np.float64),
        "control": np.array([r[3] for r in rows], dtype=bool),
        "n_genes": rng.randint(100, 5000, size=n).astype(np.int32),
        "score": rng.rand(n).astype(np.float32),
        "phase": pd.Categorical(rng.choice(["G1", "S", "G2M"], size=n), categories=["G1", "S", "G2M"], ordered=True),
    },
    index=[f"cell{i:05d}" for i in range(n)],
)
n_var = 30
var = pd.DataFrame({"gene_ids": [f"ENSG{i:08d}" for i in range(n_var)], "mean": rng.rand(n_var)}, index=[f"g{i}" for i in range(n_var)])
X = sp.random(n, n_var, density=0.2, format="csr", dtype=np.float32, random_state=rng)
a = anndata.AnnData(X=X, obs=obs, var=var)
a.raw = a.copy()
a.layers["counts"] = rng.randint(0, 50, size=(n, n_var)).astype(np.int32)
a.layers["csc"] = sp.random(n, n_var, density=0.1, format="csc", dtype=np.float64, random_state=rng)
a.obsm["X_pca"] = rng.randn(n, 8).astype(np.float32)
a.obsm["meta"] = pd.DataFrame({"depth": rng.rand(n), "batch": pd.Categorical(rng.choice(["b1", "b2"], size=n))}, index=obs.index)
a.obsp["connectivities"] = sp.random(n, n, density=0.01, format="csr", dtype=np.float32, random_state=rng)
a.obsp["distances"] = rng.rand(n, n).astype(np.float32)
a.varm["PCs"] = rng.randn(n_var, 5)
a.uns["drug_embeddings"] = {d: rng.randn(4).astype(np.float32) for d in ["DMSO"] + drugs}
a.uns["cell_line_embeddings"] = {l: rng.randn(4).astype(np.float32) for l in lines}
a.uns["params"] = {"n_pcs": 8, "method": "umap", "flag": True, "scale": 0.5, "list": np.arange(5)}
a.uns["names"] = np.array(["alpha", "beta", "gamma"], dtype=object)
a.write_h5ad(out, compression=compression)
print(n)
