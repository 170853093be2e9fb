"""Time and peak memory of the schema stage (``kgalign.aligner.schema.refine_alignment``) by size.

A random ontology (a class tree, object properties with a domain and a range, disjoint pairs)
and a permuted copy of it (the same structure, symmetric triples written either way round);
the name similarity is noise plus a weak signal on the true pairs, so the names alone match
few entities. Reports, per size, the accuracy of the name-only matching and after the schema
stage, the structural agreement, wall seconds and peak RSS.

Usage: ``python benchmarks/schema_scale.py --sizes 1000 3000 10000`` (JSON lines on stdout).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np


def ontology(n: int, seed: int):
    from kgalign.kg import CLASS, OBJECT_PROPERTY

    rng = np.random.default_rng(seed)
    n_cls, n_prop = int(n * 0.8), n - int(n * 0.8)
    kinds = np.array([CLASS] * n_cls + [OBJECT_PROPERTY] * n_prop, np.int8)
    tr = [(c, 0, int(rng.integers(0, c))) for c in range(1, n_cls)]
    for p in range(n_cls, n):
        tr += [(p, 1, int(rng.integers(0, n_cls))), (p, 2, int(rng.integers(0, n_cls)))]
    for _ in range(n // 10):
        a, b = rng.choice(n_cls, 2, replace=False)
        tr.append((int(a), 3, int(b)))
    return kinds, np.array(tr, np.int64)


def main() -> None:
    from kgalign.aligner import schema
    from kgalign.aligner.stages import match
    from kgalign.config import MatchingConfig
    from kgalign.kg import KnowledgeGraph

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rels = [
        "http://www.w3.org/2000/01/rdf-schema#subClassOf",
        "http://www.w3.org/2000/01/rdf-schema#domain",
        "http://www.w3.org/2000/01/rdf-schema#range",
        "http://www.w3.org/2002/07/owl#disjointWith",
    ]
    for n in args.sizes:
        rng = np.random.default_rng(args.seed)
        kinds, tr = ontology(n, args.seed)
        perm = rng.permutation(n)
        tr2 = tr.copy()
        tr2[:, 0], tr2[:, 2] = perm[tr[:, 0]], perm[tr[:, 2]]
        flip = (tr2[:, 1] == 3) & (rng.random(len(tr2)) < 0.5)
        tr2[flip, 0], tr2[flip, 2] = tr2[flip, 2].copy(), tr2[flip, 0].copy()
        k2 = np.empty(n, np.int8)
        k2[perm] = kinds
        a = KnowledgeGraph(entities=[f"a{i}" for i in range(n)], triples=tr, relations=rels, kinds=kinds)
        b = KnowledgeGraph(entities=[f"b{i}" for i in range(n)], triples=tr2, relations=rels, kinds=k2)
        sim = rng.normal(0, 0.1, (n, n)).astype(np.float32)
        sim[np.arange(n), perm] += 0.1
        forbidden = kinds[:, None] != k2[None, :]
        sim[forbidden] = -2.0
        cfg = MatchingConfig()
        r0, c0 = match(sim, cfg)
        t0 = time.perf_counter()
        S, (r, c), info = schema.refine_alignment(
            a, b, sim, np.arange(n), np.arange(n), (r0, c0), lambda S, cfg=cfg: match(S, cfg), forbidden=forbidden
        )
        secs = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(
            json.dumps(
                {
                    "n": n,
                    "names_only_accuracy": round(float(np.mean(c0 == perm[r0])), 4),
                    "accuracy": round(float(np.mean(c == perm[r])), 4),
                    "seconds": round(secs, 2),
                    "peak_rss_gb": round(rss, 2),
                    **info,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
