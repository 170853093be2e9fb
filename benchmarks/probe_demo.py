"""Benchmark: the offline cross-lingual transfer experiment of ``kgalign probe --demo``.

Trains a small BERT from scratch (WordPiece tokenizer trained on the verbalised facts) on
DBP15K facts verbalised in two languages, with a share of facts held out of the target
language, then reports typed-ranking P@1 on seen / transfer / unseen facts, per seed.

    nice -n 10 python benchmarks/probe_demo.py --pair fr_en --seeds 0 1 \
        --out benchmarks/results/probe_demo.json --plot benchmarks/results/probe_demo.png
    python benchmarks/probe_demo.py --from-json benchmarks/results/probe_demo.json \
        --plot benchmarks/results/probe_demo.png      # redraw without re-running

Expected: P@1(seen) > P@1(transfer) >= P@1(unseen) ~ majority baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path


def main(argv=None) -> int:
    from kgalign.lm.probing.demo import DemoConfig, run_demo

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", default="fr_en")
    ap.add_argument("--data", default=None, help="directory holding the DBP15K pairs")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--facts", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-aligner", action="store_true", help="skip the probing with kgalign's own links")
    ap.add_argument("--out", default=None, help="write all summaries to this JSON file")
    ap.add_argument(
        "--plot", default=None, help="also draw the first run as a PNG here (with --from-json: without re-running)"
    )
    ap.add_argument("--from-json", default=None, help="read the runs from this JSON instead of running")
    args = ap.parse_args(argv)
    if args.from_json:
        runs = json.loads(Path(args.from_json).read_text())["runs"]
        if args.plot:
            from kgalign.lm.probing.plots import plot_probe_summary

            print("wrote", plot_probe_summary(runs[0], args.plot))
        return 0
    runs = []
    for seed in args.seeds:
        cfg = DemoConfig(pair=args.pair, data_dir=args.data, seed=seed, threads=args.threads, progress=False)
        if args.epochs:
            cfg.epochs = args.epochs
        if args.facts:
            cfg.n_facts = args.facts
        if args.no_aligner:
            cfg.compare_aligner = False
        t = time.perf_counter()
        cpu = time.process_time()
        s = run_demo(cfg)
        s["wall_seconds"] = round(time.perf_counter() - t, 1)
        s["cpu_seconds"] = round(time.process_time() - cpu, 1)
        s.pop("per_relation", None)
        runs.append(s)
    result = {"benchmark": "probe_demo", "machine": platform.platform(), "cpus": os.cpu_count(), "runs": runs}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(args.out + ".tmp")
        tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False))
        os.replace(tmp, args.out)
    if args.plot:
        from kgalign.lm.probing.plots import plot_probe_summary

        print("wrote", plot_probe_summary(runs[0], args.plot))
    for s in runs:
        print(
            f"seed {s['config']['seed']}: "
            + ", ".join(f"{g} {s['p_at_1'][g]:.3f}" for g in s["p_at_1"])
            + f"  (majority {s['majority']['unseen']:.3f}, chance {s['chance']['unseen']:.3f}; "
            f"wall {s['wall_seconds']} s, cpu {s['cpu_seconds']} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
