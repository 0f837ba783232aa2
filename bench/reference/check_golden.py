#!/usr/bin/env python3
"""Is bench/reference/prepare_split.py faithful? Compare it with every golden answer.

    check_golden.py GOLDEN_DIR

For each NAME.json beside NAME.h5ad in GOLDEN_DIR, run the reference on NAME.h5ad with
NAME.json's config and compare every field of ``expected`` (rows included; conditions to
1e-9; splits exactly, also the recorded defect of forced.json, since this program stands
for the reference). Prints one line per case; exit 1 when any case differs.
"""
from __future__ import annotations

import json
import os
import sys

import anndata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prepare_split  # noqa: E402


def differences(got: dict, want: dict) -> list[str]:
    out = []
    for key in want:
        if key not in got:
            out.append(f"missing {key}")
        elif key == "conditions":
            if sorted(got[key]) != sorted(want[key]):
                out.append("conditions: different targets")
                continue
            for t, cond in want[key].items():
                g = got[key][t]
                if list(g) != list(cond):
                    out.append(f"conditions[{t}]: covariates {list(g)} != {list(cond)}")
                    continue
                for col, vec in cond.items():
                    if len(g[col]) != len(vec) or any(abs(a - b) > 1e-9 for a, b in zip(g[col], vec)):
                        out.append(f"conditions[{t}][{col}] differs")
        elif got[key] != want[key]:
            out.append(f"{key} differs")
    extra = sorted(set(got) - set(want))
    if extra:
        out.append(f"extra fields {extra}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    root = argv[0]
    names = sorted(n[:-5] for n in os.listdir(root) if n.endswith(".json") and os.path.exists(os.path.join(root, n[:-5] + ".h5ad")))
    if not names:
        sys.stderr.write(f"no NAME.json + NAME.h5ad pairs in {root}\n")
        return 2
    failed = 0
    for name in names:
        with open(os.path.join(root, name + ".json"), encoding="utf8") as fh:
            case = json.load(fh)
        cfg = prepare_split.read_config(os.path.join(root, name + ".json"))
        adata = anndata.read_h5ad(os.path.join(root, name + ".h5ad"))
        gd = prepare_split.prepare_data(cfg, adata)
        got = prepare_split.manifest(gd, prepare_split.split(gd, cfg["split"]), rows="src_rows" in case["expected"])
        diff = differences(got, case["expected"])
        # Every distribution holds its rows, copied in order.
        arr = prepare_split.representation(adata, list(cfg["data_location"]))
        for kind, data, rows in (("src", gd.src_data, gd.src_rows), ("tgt", gd.tgt_data, gd.tgt_rows)):
            for k, block in data.items():
                if not (block == prepare_split.take_rows(arr, rows[k])).all():
                    diff.append(f"{kind}_data[{k}] is not the rows {kind}_rows[{k}]")
        failed += 1 if diff else 0
        print(f"{name}: {'ok' if not diff else 'DIFFERS: ' + '; '.join(diff[:6])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
