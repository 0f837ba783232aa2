#!/usr/bin/env python3
"""The Python reference pipeline, for benchmarks: what a training script does with anndata.

    prepare_split.py FILE --config CONFIG.json [--json] [--rows] [--digest] [--steps]

Reads the whole file with ``anndata.read_h5ad`` (obs, var, uns, obsm), then groups and
splits it the way scaleflow's ``DataManager.prepare_data`` and
``GroupedDistributionSplitter.split`` do (docs/reference-semantics.md): pandas sorts obs by
the flag and key columns, ``groupby(...).ngroup()`` numbers the distributions, and every
distribution's rows are copied out of the representation with numpy fancy indexing. The
splitter draws ``DataFrame.sample(frac=1, random_state=...)`` over the unique split_by
tuples. The reference's ``force_training_values`` defect (only the forced tuples survive
the shuffle) is reproduced on purpose: this program stands for the reference, defects
included (``golden/forced.json`` records that output).

Written for this benchmark from the algorithm's description; not scaleflow's code.

Without ``--json`` it prints a one-line summary. ``--json`` prints exactly the fields of the
golden files' ``expected`` (``--rows`` adds src_rows/tgt_rows); ``--digest`` adds each split's
bytes and SHA-256 in cellbudget's canonical order
(docs/reference-semantics.md#the-split-digest-canonical-order), so the bytes this program
copies can be compared with ``cellbudget split --digest --json``. ``--steps`` prints
the seconds of each stage to stderr.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import struct
import sys
import time
from typing import Any

import anndata
import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def read_config(path: str) -> dict[str, Any]:
    with open(path, encoding="utf8") as fh:
        cfg = json.load(fh)
    if "dist_flag_key" not in cfg and "config" in cfg:
        cfg = cfg["config"]
    split = dict(cfg.get("split", {}))
    split.setdefault("holdout_combinations", False)
    split.setdefault("force_training_values", {})
    cfg["split"] = split
    return cfg


def representation(adata: anndata.AnnData, location: list[str]) -> np.ndarray:
    """The array at ``location`` (``["obsm", "X_pca"]``, ``["X"]``, ``["layers", key]``)."""
    if location[0] == "X":
        arr = adata.X
    elif location[0] == "obsm":
        arr = adata.obsm[location[1]]
    elif location[0] == "layers":
        arr = adata.layers[location[1]]
    else:
        raise ValueError(f"unsupported data_location {location}")
    if hasattr(arr, "toarray"):
        # Rows of a sparse representation come out dense, as the training data is.
        return arr
    return np.asarray(arr)


def take_rows(arr: Any, rows: np.ndarray) -> np.ndarray:
    part = arr[rows]
    return part.toarray() if hasattr(part, "toarray") else part


class GroupedDistribution:
    """Data (one array per distribution), conditions and the annotation the splitter needs."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def prepare_data(cfg: dict[str, Any], adata: anndata.AnnData) -> GroupedDistribution:
    """DataManager.prepare_data: sort obs, number distributions, copy each one's rows."""
    flag = cfg["dist_flag_key"]
    src_keys = list(cfg["src_dist_keys"])
    tgt_keys = list(cfg["tgt_dist_keys"])
    rep_keys = dict(cfg.get("rep_keys") or {})
    keys = [*src_keys, *tgt_keys]
    for rep in rep_keys.values():
        if rep not in adata.uns:
            raise ValueError(f"Representation key {rep} not found in adata.uns.")

    cols = [flag, *keys]
    obs = adata.obs[cols].copy()
    obs.reset_index(drop=True, inplace=True)
    if not pd.api.types.is_bool_dtype(obs[flag]):
        raise ValueError("Distribution flag key must be a boolean column.")
    obs.sort_values(cols, inplace=True)

    obs["src_dist_idx"] = obs.groupby(src_keys, observed=False).ngroup()
    perturbed = ~obs[flag]
    obs.loc[perturbed, "tgt_dist_idx"] = obs.loc[perturbed].groupby(keys, observed=False).ngroup()
    obs["src_dist_idx"] = obs["src_dist_idx"].fillna(-1).astype(np.int32)
    obs["tgt_dist_idx"] = obs["tgt_dist_idx"].fillna(-1).astype(np.int32)

    pairs = obs.loc[~obs[flag], ["src_dist_idx", "tgt_dist_idx", *keys]].drop_duplicates()

    controls = obs.loc[obs[flag], tgt_keys].drop_duplicates()
    if len(controls) != 1:
        raise ValueError("There should be exactly one control value.")
    default_values = controls.iloc[0].to_dict()

    src_to_tgt = pairs[["src_dist_idx", "tgt_dist_idx"]].groupby("src_dist_idx")["tgt_dist_idx"].apply(list).to_dict()

    def labels_by_index(frame: pd.DataFrame, index_col: str) -> dict[int, tuple]:
        frame = frame.drop_duplicates().set_index(index_col)
        return dict(zip(frame.index, frame.itertuples(index=False, name=None)))

    src_labels = labels_by_index(obs.loc[obs[flag], [*src_keys, "src_dist_idx"]], "src_dist_idx")
    tgt_labels = labels_by_index(obs.loc[~obs[flag], [*tgt_keys, "tgt_dist_idx"]], "tgt_dist_idx")
    # The annotation's labels carry the source keys too, one tuple per target.
    tgt_full_labels = labels_by_index(obs.loc[~obs[flag], [*keys, "tgt_dist_idx"]], "tgt_dist_idx")

    embeddings = {col: adata.uns[rep] for col, rep in rep_keys.items()}

    def covariate(col: str, label: Any) -> np.ndarray:
        if col not in embeddings:
            if isinstance(label, float):
                return np.array([label])
            raise ValueError(f"Column {col} has no rep key and a non-numeric label {label!r}.")
        if label not in embeddings[col]:
            raise ValueError(f"Label {label} not found in uns[{rep_keys[col]}].")
        return embeddings[col][label]

    conditions: dict[int, dict[str, np.ndarray]] = {}
    for s, targets in src_to_tgt.items():
        s_label = src_labels[s]
        for t in targets:
            cond = {col: covariate(col, lab)[None, None, :] for col, lab in zip(src_keys, s_label)}
            cond.update({col: covariate(col, lab)[None, None, :] for col, lab in zip(tgt_keys, tgt_labels[t])})
            conditions[t] = cond

    arr = representation(adata, list(cfg["data_location"]))
    src_groups = obs[obs[flag]].groupby("src_dist_idx", observed=False).groups
    tgt_groups = obs[~obs[flag]].groupby("tgt_dist_idx", observed=False).groups
    src_rows = {int(k): v.to_numpy() for k, v in src_groups.items()}
    tgt_rows = {int(k): v.to_numpy() for k, v in tgt_groups.items()}
    tgt_data = {k: take_rows(arr, v) for k, v in tgt_rows.items()}
    src_data = {k: take_rows(arr, v) for k, v in src_rows.items()}

    return GroupedDistribution(
        n_obs=adata.n_obs,
        src_keys=src_keys,
        tgt_keys=tgt_keys,
        pairs=pairs,
        default_values=default_values,
        src_to_tgt=src_to_tgt,
        src_labels=src_labels,
        tgt_labels=tgt_full_labels,
        conditions=conditions,
        src_rows=src_rows,
        tgt_rows=tgt_rows,
        src_data=src_data,
        tgt_data=tgt_data,
    )


def split_sizes(n: int, ratios: list[float]) -> tuple[int, int, int]:
    train, val, test = (round(r * n) for r in ratios)
    if train == 0 or val == 0 or test == 0:
        raise ValueError(f"round(ratio x {n}) is 0 for one of the splits (ratios {ratios}).")
    return train, val, n - train - val


def mark_values(unique: pd.DataFrame, split_by: list[str], values: dict[str, Any], column: str, accept_nan: bool) -> None:
    if column not in unique.columns:
        unique[column] = False
    for key, value in values.items():
        if key not in split_by:
            continue
        mask = unique[key] == value
        if accept_nan:
            mask = mask | pd.isna(unique[key])
        unique[column] = unique[column] | mask


def split(gd: GroupedDistribution, split_cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """GroupedDistributionSplitter.split: which targets and sources each split keeps (no copies)."""
    split_by = list(split_cfg["split_by"])
    ratios = list(split_cfg["ratios"])
    seed = split_cfg["random_state"]
    if len(ratios) != 3 or not np.isclose(sum(ratios), 1.0) or not all(0 < r < 1 for r in ratios):
        raise ValueError("ratios must be three values in (0, 1) summing to 1")
    unique = gd.pairs.drop_duplicates(subset=split_by).copy()
    train_size, _val_size, test_size = split_sizes(len(unique), ratios)

    forced_key = None
    if split_cfg["holdout_combinations"]:
        forced_key = "forced_in_train"
        mark_values(unique, split_by, gd.default_values, forced_key, accept_nan=True)
    if split_cfg["force_training_values"]:
        forced_key = "forced_in_train"
        mark_values(unique, split_by, split_cfg["force_training_values"], forced_key, accept_nan=False)

    unique.loc[:, "split"] = "test_val"
    if forced_key is not None:
        # The reference's defect, kept: the mask keeps the forced tuples instead of dropping them.
        unique = unique[unique[forced_key]]
    if len(unique) == 0:
        raise ValueError("no unique split_by tuple is left after removing forced ones")
    unique = unique.sample(frac=1, random_state=seed).reset_index(drop=True)
    unique.loc[: train_size - 1, "split"] = "train"

    rest_mask = unique["split"] == "test_val"
    rest = unique[rest_mask].copy().sample(frac=1, random_state=seed).reset_index(drop=True)
    rest.loc[: test_size - 1, "split"] = "test"
    rest.loc[test_size:, "split"] = "val"
    unique.loc[rest_mask, "split"] = rest["split"].values

    merged = gd.pairs.merge(unique[[*split_by, "split"]], on=split_by, how="left")
    out: dict[str, dict[str, Any]] = {}
    for name in SPLITS:
        part = merged[merged["split"] == name]
        tgt = sorted(int(t) for t in part["tgt_dist_idx"].unique())
        src = sorted(int(s) for s in part["src_dist_idx"].unique())
        keep = set(tgt)
        src_to_tgt = []
        for s in src:
            kept = [int(t) for t in gd.src_to_tgt.get(s, []) if t in keep]
            if kept:
                src_to_tgt.append([s, kept])
        out[name] = {
            "tgt": tgt,
            "src": src,
            "src_to_tgt": src_to_tgt,
            "tgt_data": [gd.tgt_data[t] for t in tgt],
            "src_data": [gd.src_data[s] for s in src],
        }
    return out


def plain(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def manifest(gd: GroupedDistribution, splits: dict[str, dict[str, Any]], rows: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n_obs": int(gd.n_obs),
        "src_to_tgt": [[int(s), [int(t) for t in ts]] for s, ts in sorted(gd.src_to_tgt.items())],
    }
    if rows:
        out["src_rows"] = {str(k): [int(r) for r in v] for k, v in sorted(gd.src_rows.items())}
        out["tgt_rows"] = {str(k): [int(r) for r in v] for k, v in sorted(gd.tgt_rows.items())}
    out["src_labels"] = {str(int(k)): [plain(x) for x in v] for k, v in sorted(gd.src_labels.items())}
    out["tgt_labels"] = {str(int(k)): [plain(x) for x in v] for k, v in sorted(gd.tgt_labels.items())}
    out["conditions"] = {
        str(int(t)): {col: [float(x) for x in np.asarray(v).ravel()] for col, v in cond.items()}
        for t, cond in sorted(gd.conditions.items())
    }
    out["splits"] = {name: {k: splits[name][k] for k in ("tgt", "src", "src_to_tgt")} for name in SPLITS}
    return out


def digest(part: dict[str, Any]) -> dict[str, Any]:
    """SHA-256 and the bytes kept, in cellbudget's canonical order.

    The order: docs/reference-semantics.md#the-split-digest-canonical-order.
    """
    h = hashlib.sha256(b"cellbudget-split-v1")

    def i32(values: list[int]) -> None:
        h.update(struct.pack(f"<{len(values)}i", *values))

    i32([len(part["tgt"])])
    i32(part["tgt"])
    i32([len(part["src"])])
    i32(part["src"])
    nbytes = 4 * (len(part["tgt"]) + len(part["src"]))
    for block in [*part["tgt_data"], *part["src_data"]]:
        block = np.ascontiguousarray(block)
        i32([block.shape[0], block.shape[1] if block.ndim > 1 else 1])
        h.update(str(block.dtype).encode("ascii"))
        h.update(block.astype(block.dtype.newbyteorder("<"), copy=False).tobytes())
        nbytes += block.nbytes
    return {"sha256": h.hexdigest(), "bytes": nbytes}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--config", required=True)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rows", action="store_true")
    ap.add_argument("--digest", action="store_true")
    ap.add_argument("--steps", action="store_true")
    args = ap.parse_args(argv)
    cfg = read_config(args.config)
    times: list[tuple[str, float]] = []
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        times.append((name, now - t))
        t = now

    adata = anndata.read_h5ad(args.file)
    lap("load")
    gd = prepare_data(cfg, adata)
    lap("prepare")
    # The original fix deletes the raw dataset before splitting.
    del adata
    gc.collect()
    lap("delete-raw")
    splits = split(gd, cfg["split"])
    lap("split")
    if args.json:
        out = manifest(gd, splits, args.rows)
        if args.digest:
            out["digests"] = {name: digest(splits[name]) for name in SPLITS}
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        counts = " ".join(f"{n}={len(splits[n]['tgt'])}" for n in SPLITS)
        extra = ""
        if args.digest:
            extra = " " + " ".join(f"{n}:{digest(splits[n])['sha256'][:16]}" for n in SPLITS)
        sys.stdout.write(f"{args.file}: {gd.n_obs} cells, {len(gd.src_data)} sources, {len(gd.tgt_data)} targets; targets {counts}{extra}\n")
    if args.steps:
        sys.stderr.write(" ".join(f"{n}={s:.3f}" for n, s in times) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
