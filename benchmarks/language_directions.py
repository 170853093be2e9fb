"""What removing language-sensitive directions of the name embeddings changes (issue 16).

``similarity.remove_language_directions: n`` mean-centres each graph's name embeddings and
projects out the ``n`` LDA directions that separate the two graphs' embeddings
(:func:`kgalign.aligner.views.names.remove_language_directions`; Chang, Tu, Bergen, EMNLP 2022;
iterated as in Ravfogel et al., ACL 2020). No gold link is used but for scoring.

DBP15K (closed protocol, as ``benchmarks/ablation.py``: the 15,000 linked entities, targets
shuffled with ``--seed``; Hits@1/10 and MRR of the fused similarity, pessimistic ties):
each pair with its shipped translations, and zh_en with ``--translator identity`` (names not
translated). Two configurations: ``names_only`` (name cosine only, centred) and the default
(all views, self-training), with ``n`` in ``--directions`` and ``--default-directions``.

MultiFarm (a few pairs, ``--multifarm``): the whole pipeline (:func:`kgalign.align`, 1-to-1,
identity translator: there are no shipped translations) scored by P/R/F1 against the OAEI
reference.

Usage::

    python benchmarks/language_directions.py [--pairs zh_en,ja_en,fr_en] [--directions 0,1,4,16] \\
        [--default-directions 0,4]

Writes ``benchmarks/results/language_directions.json`` (atomically; ``--force`` to overwrite)
and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = ROOT.parent / "shared" / "datasets"
MULTIFARM = ("de-en:edas-edas", "en-ru:ekaw-ekaw", "de-en:conference-ekaw")


class _Captured(Exception):
    pass


def prepare(pair_dir: Path, translator: str | None):
    """Names and embeddings exactly as :func:`kgalign.align` computes them (its similarity
    stage is intercepted), with the given translator (None: the pair's shipped translations)."""
    import kgalign.aligner.similarity as simmod
    from kgalign.aligner.pipeline import align
    from kgalign.io import load_pair

    pair = load_pair(pair_dir)
    got = {}
    original = simmod.compute_similarity

    def capture(kg1, kg2, emb1, emb2, names1, names2, *rest, **kw):
        got.update(names1=names1, names2=names2, emb1=emb1, emb2=emb2)
        raise _Captured

    simmod.compute_similarity = capture
    try:
        align(
            pair.kg1, pair.kg2, translations=pair.translations, translator=translator, device="cpu", show_progress=False
        )
    except _Captured:
        pass
    finally:
        simmod.compute_similarity = original
    return pair, got["names1"], got["names2"], got["emb1"], got["emb2"]


def ranking(S: np.ndarray, gold_col: np.ndarray) -> dict:
    true = S[np.arange(len(S)), gold_col]
    r = (S >= true[:, None]).sum(axis=1) - 1  # pessimistic ties
    return {"hits@1": float((r == 0).mean()), "hits@10": float((r < 10).mean()), "mrr": float((1.0 / (r + 1)).mean())}


CONFIGS = {
    "names_only": {
        "similarity": {"structure": [], "strings": 0.0, "attributes": 0.0, "center": True},
        "selftrain": {"enabled": False},
    },
    "default": {},
}


def run_dbp15k(pair: str, translator: str | None, directions: dict[str, list[int]], seed: int) -> dict:
    from kgalign.aligner.similarity import compute_similarity
    from kgalign.config import AlignConfig

    t = time.perf_counter()
    kgp, names1, names2, emb1, emb2 = prepare(DATA / "dbp15k" / pair, translator)
    out = {"prepare_seconds": round(time.perf_counter() - t, 1), "variants": {}}
    links = np.asarray(kgp.links, dtype=np.int64)
    perm = np.random.default_rng(seed).permutation(len(links))
    sources, targets, gold_col = links[:, 0], links[perm, 1], np.argsort(perm)
    for cname, ns in directions.items():
        for n in ns:
            cfg = {k: dict(v) for k, v in CONFIGS[cname].items()}
            cfg.setdefault("similarity", {})["remove_language_directions"] = n
            t = time.perf_counter()
            S = compute_similarity(
                kgp.kg1, kgp.kg2, emb1, emb2, names1, names2, sources, targets, AlignConfig.build(cfg)
            )
            m = ranking(S, gold_col)
            m["seconds"] = round(time.perf_counter() - t, 1)
            out["variants"][f"{cname}/n={n}"] = m
            print(
                f"  {pair} {translator or 'shipped'} {cname:10s} n={n:<3d} H@1 {m['hits@1']:.4f} "
                f"H@10 {m['hits@10']:.4f} MRR {m['mrr']:.4f} ({m['seconds']} s)",
                flush=True,
            )
            del S
    return out


def vocabulary_kg(path: Path):
    """A MultiFarm ontology's vocabulary (classes, object and datatype properties) as a graph.

    :func:`kgalign.load_kg` treats classes and properties as vocabulary, never as entities,
    but the MultiFarm references align exactly those, so they are read here with rdflib:
    entities are the IRIs typed owl:Class / owl:ObjectProperty / owl:DatatypeProperty, labels
    their rdfs:label, relations rdfs:subClassOf, rdfs:domain and rdfs:range between them.
    """
    import rdflib
    from rdflib.namespace import OWL, RDF, RDFS

    from kgalign.kg import KnowledgeGraph

    g = rdflib.Graph()
    g.parse(str(path), format="xml")
    ents = sorted(
        {
            str(s)
            for t in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
            for s in g.subjects(RDF.type, t)
            if isinstance(s, rdflib.URIRef)
        }
    )
    index = {e: i for i, e in enumerate(ents)}
    labels = [[] for _ in ents]
    for e, i in index.items():
        for lit in g.objects(rdflib.URIRef(e), RDFS.label):
            if str(lit).strip():
                labels[i].append(((lit.language or "").lower(), str(lit).strip(), 0))
    rels = [str(RDFS.subClassOf), str(RDFS.domain), str(RDFS.range)]
    triples = [
        (index[str(s)], r, index[str(o)])
        for r, p in enumerate((RDFS.subClassOf, RDFS.domain, RDFS.range))
        for s, o in g.subject_objects(p)
        if str(s) in index and str(o) in index
    ]
    return KnowledgeGraph(
        entities=ents,
        labels=labels,
        triples=np.asarray(triples, dtype=np.int64).reshape(-1, 3),
        relations=rels,
        source=str(path),
    )


def run_multifarm(spec: str, directions: list[int]) -> dict:
    from kgalign.aligner.pipeline import align
    from kgalign.evaluation.metrics import evaluate_alignment
    from kgalign.io.readers import read_alignment
    from kgalign.io.writers import write_alignment

    langs, ontos = spec.split(":")
    l1, l2 = langs.split("-")
    o1, o2 = ontos.split("-")
    kg1 = vocabulary_kg(DATA / "multifarm" / "ont" / f"{o1}-{l1}.owl")
    kg2 = vocabulary_kg(DATA / "multifarm" / "ont" / f"{o2}-{l2}.owl")
    gold = read_alignment(DATA / "multifarm" / "ref" / langs / f"{o1}-{o2}-{l1}-{l2}.rdf")
    out = {"variants": {}, "n_entities": [kg1.n_entities, kg2.n_entities], "n_gold": len(gold)}
    for n in directions:
        t = time.perf_counter()
        res = align(
            kg1,
            kg2,
            translator="identity",
            device="cpu",
            show_progress=False,
            lang1=l1,
            lang2=l2,
            config={"similarity": {"remove_language_directions": n}},
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "pred.tsv"
            write_alignment(res, path)
            m = evaluate_alignment(read_alignment(path), gold)
        row = {k: m[k] for k in ("precision", "recall", "f1", "n_pred", "n_gold", "n_correct")}
        row["seconds"] = round(time.perf_counter() - t, 1)
        out["variants"][f"default/n={n}"] = row
        print(
            f"  multifarm {spec} n={n:<3d} P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}",
            flush=True,
        )
    return out


def markdown(record: dict) -> str:
    lines = [
        "| data | translation | configuration | removed directions | Hits@1 | Hits@10 | MRR |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in record["dbp15k"].items():
        pair, tr = key.split("/")
        for v, m in r["variants"].items():
            c, n = v.split("/n=")
            lines.append(
                f"| DBP15K {pair} | {tr} | {c} | {n} | {m['hits@1']:.4f} | {m['hits@10']:.4f} | {m['mrr']:.4f} |"
            )
    if record["multifarm"]:
        lines += ["", "| MultiFarm pair | removed directions | precision | recall | F1 |", "|---|---|---|---|---|"]
        for key, r in record["multifarm"].items():
            for v, m in r["variants"].items():
                n = v.split("/n=")[1]
                lines.append(f"| {key} | {n} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", default="zh_en,ja_en,fr_en")
    ap.add_argument("--identity-pairs", default="zh_en", help="DBP15K pairs also run with the identity translator")
    ap.add_argument("--directions", default="0,1,4,16", help="removed directions, names_only configuration")
    ap.add_argument("--default-directions", default="0,4", help="removed directions, default configuration")
    ap.add_argument("--multifarm", default=",".join(MULTIFARM), help="LANGS:ONTO1-ONTO2 specs ('' for none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "language_directions.json"))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)

    from kgalign.io.atomic import check_writable, dump_json

    out = Path(args.output)
    check_writable(out, force=args.force)
    directions = [int(v) for v in args.directions.split(",") if v]
    per_config = {"names_only": directions, "default": [int(v) for v in args.default_directions.split(",") if v]}
    t0 = time.perf_counter()
    record = {
        "command": "python benchmarks/language_directions.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "seed": args.seed,
        "directions": directions,
        "load_average_start": list(os.getloadavg()),
        "protocol": "DBP15K closed (15,000 links, targets shuffled), ranking by fused similarity, pessimistic "
        "ties; MultiFarm: kgalign.align 1-to-1 vs the OAEI reference",
        "dbp15k": {},
        "multifarm": {},
    }
    runs = [(p, "identity") for p in args.identity_pairs.split(",") if p] + [
        (p, None) for p in args.pairs.split(",") if p
    ]
    for pair, tr in runs:
        record["dbp15k"][f"{pair}/{tr or 'shipped'}"] = run_dbp15k(pair, tr, per_config, args.seed)
        dump_json(out, record, force=True)  # partial results survive an interrupted run
    for spec in [s for s in args.multifarm.split(",") if s]:
        record["multifarm"][spec] = run_multifarm(spec, per_config["default"])
        dump_json(out, record, force=True)
    record["seconds"] = round(time.perf_counter() - t0, 1)
    record["load_average_end"] = list(os.getloadavg())
    dump_json(out, record, force=True)
    print(markdown(record))
    print(f"wrote {out} in {record['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
