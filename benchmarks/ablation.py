"""Ablation of the multi-view similarity on DBP15K (closed protocol, no gold used but for scoring).

Loads one DBP15K pair, computes the translated-name embeddings once (the encoder cache makes
re-runs cheap), then evaluates the default configuration of :mod:`kgalign.aligner.similarity` with each
view / step removed in turn. Per variant it reports Hits@1, Hits@10 and MRR ranked by the fused
similarity (pessimistic ties) and, with ``--lsa``, the 1-to-1 accuracy of the exact assignment
(:func:`kgalign.matching.linear_sum_assignment`) on that similarity.

Protocol: sources are the 15,000 linked entities of KG1 in file order, targets the linked
entities of KG2 shuffled with ``--seed``; the full graphs feed the structure views. A permutation
check re-runs the default configuration with targets shuffled by ``--seed + 1`` and sources
reversed, and fails (exit 3) when the argmax partners differ beyond ties + 0.1 %.

Usage::

    python benchmarks/ablation.py --pair zh_en [--lsa full,no_selftrain] [--variants full,no_strings]

Writes ``benchmarks/results/ablation_<pair>.json`` (atomically; ``--force`` to overwrite).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "dbp15k"

#: variant name -> overrides of the default :class:`kgalign.config.AlignConfig`; the first
#: group removes one view or step of the default each, the second varies a setting.
VARIANTS: dict[str, dict] = {
    "full": {},
    "no_selftrain": {"selftrain": {"enabled": False}},
    "no_structure": {"similarity": {"structure": []}},
    "no_strings": {"similarity": {"strings": 0.0}},
    "no_centering": {"similarity": {"center": False}},
    "no_attributes": {"similarity": {"attributes": 0.0}},
    "no_names_hop0": {"similarity": {"names": 0.0}},
    "no_hop1": {"similarity": {"structure": [0.0, 1.0]}},
    "hop1_only": {"similarity": {"structure": [1.0]}},
    "selftrain_1round": {"selftrain": {"rounds": 1}},
    "irf_relations": {"similarity": {"relation_weighting": "irf"}},
    "csls10": {"similarity": {"csls": 10}},
    "selftrain_2hop": {"selftrain": {"hop_weights": [1.0, 0.5]}},
    "no_selftrain_idf": {"selftrain": {"idf": False}},
    "names_only": {"similarity": {"structure": [], "strings": 0.0, "center": False}, "selftrain": {"enabled": False}},
}


def prepare(pair_dir: Path, batch_size: int = 256):
    """Load a pair; get translated names and embeddings exactly as :func:`kgalign.align` does.

    Runs the pipeline's own stages (:mod:`kgalign.aligner.stages`) up to the similarity, so
    translation, label selection and the encoder cache are the pipeline's.
    """
    from kgalign.aligner import stages
    from kgalign.config import AlignConfig
    from kgalign.io import load_pair

    pair = load_pair(pair_dir)
    cfg = AlignConfig(device="cpu", batch_size=batch_size, show_progress=False)
    run = stages.resolve_run(pair.kg1, pair.kg2, cfg, translations=pair.translations)
    names1, names2 = stages.translate(run, pair.kg1, pair.kg2)
    emb1, emb2 = stages.encode(run, names1, names2)
    return pair, names1, names2, emb1, emb2


def ranks_of(S: np.ndarray, gold_col: np.ndarray) -> np.ndarray:
    """0-based pessimistic rank of the gold column in each row (ties count against it)."""
    true = S[np.arange(len(S)), gold_col]
    return (S >= true[:, None]).sum(axis=1) - 1


def evaluate(S, gold_col, lsa: bool) -> dict:
    r = ranks_of(S, gold_col)
    out = {"hits@1": float((r == 0).mean()), "hits@10": float((r < 10).mean()), "mrr": float((1.0 / (r + 1)).mean())}
    if lsa:
        from kgalign.matching import linear_sum_assignment

        t = time.perf_counter()
        rows, cols = linear_sum_assignment(S, maximize=True)
        out["accuracy_1to1"] = float((cols == gold_col[rows]).sum() / len(gold_col))
        out["lsa_seconds"] = time.perf_counter() - t
    return out


def _write(record: dict, out_path: Path) -> None:
    """Write ``record`` as JSON atomically (temporary file + ``os.replace``)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=1, default=float)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600
    os.replace(tmp, out_path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pair", default="zh_en")
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument(
        "--lsa", default="full", help="variants that also get the exact assignment ('' for none, 'all' for every one)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-permutation-check", action="store_true")
    ap.add_argument("--output", default=None)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)

    from kgalign.aligner.similarity import compute_similarity
    from kgalign.config import AlignConfig
    from kgalign.profiling import StageTimer

    out_path = Path(args.output or ROOT / "benchmarks" / "results" / f"ablation_{args.pair}.json")
    if out_path.exists() and not args.force:
        print(f"{out_path} exists; use --force", file=sys.stderr)
        return 2
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        print(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    lsa_for = set(variants) if args.lsa == "all" else set(v for v in args.lsa.split(",") if v)

    t0 = time.perf_counter()
    pair, names1, names2, emb1, emb2 = prepare(Path(args.data_dir) / args.pair)
    prep_s = time.perf_counter() - t0
    links = np.asarray(pair.links, dtype=np.int64)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(links))
    sources, targets = links[:, 0], links[perm, 1]
    gold_col = np.argsort(perm)  # the column of row i's gold partner

    record = {
        "pair": args.pair,
        "protocol": "closed",
        "seed": args.seed,
        "n_links": int(len(links)),
        "ranking": "fused similarity, pessimistic ties; accuracy_1to1 from exact assignment",
        "prepare_seconds": prep_s,
        "command": "python benchmarks/ablation.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "load_average_start": list(os.getloadavg()),
        "note": "wall seconds on a 2-core machine; see load_average_* (other jobs share the CPU)",
        "variants": {},
    }
    print(f"{'variant':16s} {'H@1':>7s} {'H@10':>7s} {'MRR':>7s} {'1to1':>7s} {'sim s':>7s}  self-training")
    for name in variants:
        cfg = AlignConfig.from_dict(VARIANTS[name])  # the defaults with the variant's overrides
        timer = StageTimer()
        t = time.perf_counter()
        S, info = compute_similarity(
            pair.kg1, pair.kg2, emb1, emb2, names1, names2, sources, targets, cfg, timer, return_info=True
        )
        sim_s = time.perf_counter() - t
        m = evaluate(S, gold_col, name in lsa_for)
        m.update(
            similarity_seconds=sim_s,
            stages=timer.as_dict(),
            info=info,
            config={"similarity": {}, "selftrain": {}, **VARIANTS[name]},  # the overrides, as before
            load_average=list(os.getloadavg()),
        )
        record["variants"][name] = m
        acc = m.get("accuracy_1to1")
        print(
            f"{name:16s} {m['hits@1']:7.4f} {m['hits@10']:7.4f} {m['mrr']:7.4f} "
            f"{'' if acc is None else f'{acc:.4f}':>7s} {sim_s:7.1f}  {info.get('selftrain', {}).get('confident', '')}",
            flush=True,
        )
        if name == "full" and not args.no_permutation_check:
            # second presentation: other target shuffle, reversed sources
            perm2 = np.random.default_rng(args.seed + 1).permutation(len(links))
            rev = np.arange(len(links))[::-1]
            S2 = compute_similarity(pair.kg1, pair.kg2, emb1, emb2, names1, names2, sources[rev], links[perm2, 1], cfg)
            p1 = targets[S.argmax(1)]  # kg2 positions of the argmax partner, row order = links
            p2 = links[perm2, 1][S2.argmax(1)][rev]
            top = S.max(1, keepdims=True)
            tied = (S >= top - 1e-6 * np.maximum(1, np.abs(top))).sum(1) >= 2
            disagree = float((p1 != p2).mean())
            allowed = 0.001 + float(tied.mean())
            record["permutation_check"] = {
                "disagreement": disagree,
                "tied_fraction": float(tied.mean()),
                "allowed": allowed,
                "passed": disagree <= allowed,
            }
            print(f"permutation check: partners differ for {disagree:.4%} (allowed {allowed:.4%})", flush=True)
            if disagree > allowed:
                print("PERMUTATION CHECK FAILED: the similarity depends on presentation order", file=sys.stderr)
                return 3
            del S2
        del S
        _write(record, out_path)  # after every variant, so that a long run leaves partial results

    record["load_average_end"] = list(os.getloadavg())
    _write(record, out_path)
    print()
    print(markdown_table(record))
    print(f"wrote {out_path}")
    return 0


def markdown_table(record: dict) -> str:
    """The variants of an ablation record as a Markdown table (accuracy blank when not run)."""
    lines = [
        f"{record['pair']} ({record['protocol']} protocol)",
        "",
        "| variant | Hits@1 (similarity) | Hits@10 | MRR | 1-to-1 accuracy | similarity s |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in record["variants"].items():
        acc = m.get("accuracy_1to1")
        lines.append(
            f"| {name} | {m['hits@1']:.4f} | {m['hits@10']:.4f} | {m['mrr']:.4f} | "
            f"{'' if acc is None else f'{acc:.4f}'} | {m['similarity_seconds']:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
