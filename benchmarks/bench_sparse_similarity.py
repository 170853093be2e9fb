"""Dense vs sparse (candidate-graph) similarity on DBP15K, side by side in one run.

Runs the DBP15K benchmark (:func:`kgalign.evaluation.dbp15k.run_dbp15k`, closed protocol by
default, each run in its own process) once per similarity mode, in the order given, and
prints accuracy (1-to-1), Hits@1, total and similarity-stage seconds and peak RSS of each,
plus the dense/sparse ratios. Warm: the embedding cache is filled by a first run (pass
``--warmup``), so both modes read cached embeddings.

Usage::

    nice -n 5 python benchmarks/bench_sparse_similarity.py --pair zh_en --modes dense,sparse \
        --out benchmarks/results/sparse_similarity.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    from kgalign.evaluation.dbp15k import run_dbp15k

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "dbp15k"))
    ap.add_argument("--pair", default="zh_en")
    ap.add_argument("--protocol", default="closed")
    ap.add_argument("--modes", default="dense,sparse")
    ap.add_argument("--limit", type=int, default=None, help="subsample the pair (quick check)")
    ap.add_argument("--warmup", action="store_true", help="one unrecorded sparse run first (fills caches)")
    ap.add_argument(
        "--dense-work",
        type=float,
        default=0.0,
        help="matching.dense_work of the dense run (0: always exact JV, the dense path before the work budget)",
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    modes = args.modes.split(",")
    if args.warmup:
        run_dbp15k(
            args.data_dir,
            pairs=[args.pair],
            protocols=[args.protocol],
            limit=args.limit,
            config={"similarity": {"mode": "sparse"}},
            isolate=True,
        )
    rows = {}
    for mode in modes:
        t0 = time.time()
        cfg = {"similarity": {"mode": mode}}
        if mode == "dense":
            cfg["matching"] = {"dense_work": args.dense_work}
        rec = run_dbp15k(
            args.data_dir, pairs=[args.pair], protocols=[args.protocol], limit=args.limit, config=cfg, isolate=True
        )
        res = rec["results"][args.pair][args.protocol]
        st = res.get("stages", {})
        rows[mode] = {
            "accuracy": res["accuracy"],
            "hits@1": res["hits@1"],
            "hits@10": res["hits@10"],
            "mrr": res["mrr"],
            "f1": res["f1"],
            "seconds_total": res["seconds_total"],
            "peak_rss_mb": res["peak_rss_mb"],
            "stages": {k: (v.get("seconds") if isinstance(v, dict) else v) for k, v in st.items()},
            "wall_s": time.time() - t0,
        }
        print(mode, json.dumps(rows[mode]), flush=True)
    if "dense" in rows and "sparse" in rows:
        d, s = rows["dense"], rows["sparse"]
        ratio = {
            "total": d["seconds_total"] / s["seconds_total"],
            "accuracy_points": 100 * (s["accuracy"] - d["accuracy"]),
        }
        if d["stages"].get("similarity") and s["stages"].get("similarity"):
            ratio["similarity"] = d["stages"]["similarity"] / s["stages"]["similarity"]
        rows["ratio_dense_over_sparse"] = ratio
        print("ratio", json.dumps(ratio))
    if args.out:
        Path(args.out).write_text(
            json.dumps({"pair": args.pair, "protocol": args.protocol, "limit": args.limit, "results": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
