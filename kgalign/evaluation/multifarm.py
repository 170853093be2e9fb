"""The OAEI MultiFarm benchmark: multilingual ontology matching of classes and properties.

MultiFarm (Meilicke, Garcia-Castro, Freitas, van Hage, Montiel-Ponsoda, Ribeiro de Azevedo,
Stuckenschmidt, Svab-Zamazal, Svatek, Tamilin, Trojahn, Wang: "MultiFarm: A benchmark for
multilingual ontology matching", Journal of Web Semantics 15, 2012) translates the OntoFarm
conference ontologies (cmt, confOf, conference, edas, ekaw, iasted, sigkdd) into several
languages. A task matches ``<o1>`` in language ``l1`` with ``<o2>`` in ``l2``; tasks with
``o1 == o2`` (*same ontology*, e.g. edas-edas) align two translations of one ontology, the
others (*different ontologies*) two ontologies whose reference is partial.

Layout read (``--data-dir``)::

    ont/<onto>-<lang>.owl                      RDF/XML ontologies
    ref/<l1>-<l2>/<o1>-<o2>-<la>-<lb>.rdf      Alignment API references (entity1 in <o1>-<la>)

Protocol: the entity kinds of the MultiFarm references (classes, object and datatype
properties; ``kinds``) are aligned one kind against the same kind; both graphs are presented
under a seeded permutation of their entity order (:func:`kgalign.evaluation.protocol.present`),
so no order can leak; precision, recall and F1 of the output pairs are computed against the
reference's equivalence cells. Reference cells naming an entity that is not an entity of the
loaded ontologies are counted (``ref_missing``) and left out of the score.
Aggregates: per task, per language pair and per ontology relation (same / different), each
micro (pooled counts) and macro (mean of the task scores).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kgalign.errors import InputError

log = logging.getLogger(__name__)

#: Kinds aligned by default: what MultiFarm's references hold.
MULTIFARM_KINDS = "classes,properties"
_REF_NAME = re.compile(r"^([^-]+)-([^-]+)-([^-]+)-([^-]+)\.rdf$")


def find_tasks(data_dir: str | os.PathLike, pairs: Sequence[str] | None = None) -> list[dict]:
    """The tasks of a MultiFarm-layout folder, sorted by language pair and name.

    Parameters
    ----------
    data_dir : str or PathLike
        Holds ``ont/`` and ``ref/`` (see the module notes).
    pairs : sequence of str, optional
        Language-pair folders to keep (``["de-en"]``); default all under ``ref/``.

    Returns
    -------
    list of dict
        ``name``, ``pair``, ``onto1``, ``onto2``, ``lang1``, ``lang2``, ``same`` (bool),
        ``ref``, ``ont1``, ``ont2`` (paths).

    Raises
    ------
    InputError
        When the folder lacks ``ref/`` or ``ont/``, a reference name does not follow
        ``<o1>-<o2>-<l1>-<l2>.rdf``, a requested pair is absent, or an ontology is missing.
    """
    root = Path(data_dir)
    ref_dir, ont_dir = root / "ref", root / "ont"
    for d in (ref_dir, ont_dir):
        if not d.is_dir():
            raise InputError(f"not a MultiFarm folder: {d.name}/ is missing", root)
    available = sorted(p.name for p in ref_dir.iterdir() if p.is_dir())
    wanted = list(pairs) if pairs else available
    for p in wanted:
        if p not in available:
            raise InputError(f"language pair {p!r} not found; available: {', '.join(available)}", ref_dir)
    tasks = []
    for pair in wanted:
        for ref in sorted((ref_dir / pair).glob("*.rdf")):
            m = _REF_NAME.match(ref.name)
            if m is None:
                raise InputError("reference name must be <onto1>-<onto2>-<lang1>-<lang2>.rdf", ref)
            o1, o2, l1, l2 = m.groups()
            ont1, ont2 = ont_dir / f"{o1}-{l1}.owl", ont_dir / f"{o2}-{l2}.owl"
            for o in (ont1, ont2):
                if not o.is_file():
                    raise InputError(f"ontology {o.name} named by this reference is missing from {ont_dir}", ref)
            tasks.append(
                {
                    "name": ref.stem,
                    "pair": pair,
                    "onto1": o1,
                    "onto2": o2,
                    "lang1": l1,
                    "lang2": l2,
                    "same": o1 == o2,
                    "ref": str(ref),
                    "ont1": str(ont1),
                    "ont2": str(ont2),
                }
            )
    return tasks


def reference_links(kg1, kg2, ref_path: str | os.PathLike) -> tuple[set[tuple[str, str]], list[tuple[str, str]]]:
    """The reference's equivalence pairs split into those naming entities of the graphs and the rest.

    The Alignment API reader matches element local names, so the MultiFarm quirks (a default
    namespace without its trailing ``#``; ``rdf:datatype="xsd:float"`` left unexpanded) read
    as usual.

    Returns
    -------
    (set of (str, str), list of (str, str))
        Scored pairs (both IRIs are entities of ``kg1`` / ``kg2``), and the missing pairs.
    """
    from kgalign.io.readers import read_alignment

    al = read_alignment(ref_path, format="oaei").equivalences()
    present, missing = set(), []
    for a, b in al.pairs:
        (present.add((a, b)) if a in kg1.index and b in kg2.index else missing.append((a, b)))
    return present, missing


def run_task(
    task: dict,
    kg1,
    kg2,
    *,
    aligner: Callable,
    config: dict | None,
    seed: int,
    encoder=None,
    kinds: str = MULTIFARM_KINDS,
) -> dict:
    """Align one task under a seeded presentation and score it against its reference.

    Returns
    -------
    dict
        The task fields plus ``precision``, ``recall``, ``f1``, ``n_correct``, ``n_pred``,
        ``n_gold``, ``ref_missing``, ``seconds``, ``pairs`` (predicted ``[IRI1, IRI2, score]``)
        and ``kinds`` (per kind aligned: sources, targets, pairs).
    """
    from kgalign.evaluation.metrics import prf
    from kgalign.evaluation.protocol import present as present_pair
    from kgalign.profiling import StageTimer

    gold, missing = reference_links(kg1, kg2, task["ref"])
    pres = present_pair(kg1, kg2, np.arange(kg1.n_entities), np.arange(kg2.n_entities), seed)
    t0 = time.perf_counter()
    res = aligner(
        pres.kg1,
        pres.kg2,
        sources=pres.sources,
        targets=pres.targets,
        translations=None,
        config=config,
        timer=StageTimer(),
        encoder=encoder,
        kinds=kinds,
        show_progress=False,
    )
    seconds = time.perf_counter() - t0
    pred = [
        (kg1.entities[pres.perm1[i]], kg2.entities[pres.perm2[j]], float(s))
        for i, j, s in zip(res.rows.tolist(), res.cols.tolist(), res.scores.tolist())
    ]
    pred.sort()
    n_correct = sum((a, b) in gold for a, b, _ in pred)
    out = {k: v for k, v in task.items()}
    out.update(prf(n_correct, len(pred), len(gold)))
    out.update(
        ref_missing=len(missing),
        seconds=round(seconds, 3),
        pairs=[list(p) for p in pred],
        kinds={
            k: {"sources": v["sources"], "targets": v["targets"], "pairs": v["pairs"]}
            for k, v in (res.info or {}).get("kinds", {}).items()
        },
    )
    return out


def aggregate(tasks: list[dict]) -> dict:
    """Micro and macro P/R/F1 of a list of task results (see :func:`run_task`)."""
    from kgalign.evaluation.metrics import prf

    if not tasks:
        return {"tasks": 0}
    micro = prf(sum(t["n_correct"] for t in tasks), sum(t["n_pred"] for t in tasks), sum(t["n_gold"] for t in tasks))
    return {
        "tasks": len(tasks),
        "micro": {k: micro[k] for k in ("precision", "recall", "f1")},
        "macro": {k: float(np.mean([t[k] for t in tasks])) for k in ("precision", "recall", "f1")},
        "n_correct": micro["n_correct"],
        "n_pred": micro["n_pred"],
        "n_gold": micro["n_gold"],
        "ref_missing": int(sum(t["ref_missing"] for t in tasks)),
        "max_seconds": float(max(t["seconds"] for t in tasks)),
    }


def summarize(tasks: list[dict]) -> dict:
    """Aggregates per language pair x {same, different}, per relation and overall."""
    out: dict = {
        "overall": aggregate(tasks),
        "same": aggregate([t for t in tasks if t["same"]]),
        "different": aggregate([t for t in tasks if not t["same"]]),
        "pairs": {},
    }
    for pair in sorted({t["pair"] for t in tasks}):
        sub = [t for t in tasks if t["pair"] == pair]
        out["pairs"][pair] = {
            "all": aggregate(sub),
            "same": aggregate([t for t in sub if t["same"]]),
            "different": aggregate([t for t in sub if not t["same"]]),
        }
    return out


def run_multifarm(
    data_dir: str | os.PathLike,
    *,
    pairs: Sequence[str] | None = None,
    config: dict | None = None,
    seed: int = 0,
    aligner: Callable | None = None,
    kinds: str = MULTIFARM_KINDS,
    permutation_check: bool = False,
    log_fn: Callable[[str], None] | None = None,
) -> dict:
    """Run every task of a MultiFarm-layout folder.

    Parameters
    ----------
    data_dir : str or PathLike
    pairs : sequence of str, optional
        Language pairs (folders of ``ref/``); default all.
    config : dict, optional
        Aligner configuration.
    seed : int
        Presentation seed (the permutation check uses ``seed + 1`` too).
    aligner : callable, optional
        With :func:`kgalign.aligner.pipeline.align`'s signature (default: it).
    kinds : str
        Entity kinds to align (:func:`kgalign.aligner.kinds.parse_kinds`).
    permutation_check : bool
        Run every task a second time under another presentation and record the F1 difference
        and the number of pairs that differ (``permutation`` per task).
    log_fn : callable, optional
        Receives one progress line per task.

    Returns
    -------
    dict
        ``tasks`` (per task results), ``summary`` (:func:`summarize`), ``config``, ``kinds``,
        ``seed``, ``data_dir``, ``seconds``; with ``permutation_check`` also
        ``permutation_check`` (:func:`permutation_summary`).
    """
    from kgalign.aligner.encode import Encoder
    from kgalign.aligner.pipeline import align
    from kgalign.config import AlignConfig
    from kgalign.io import load_kg

    aligner = aligner or align
    cfg = AlignConfig.build(config, show_progress=False, kinds=kinds)  # validated before any work
    tasks = find_tasks(data_dir, pairs)
    # a given encoder is loaded once; without one each task's automatic choice runs (and is
    # recorded as automatic: a multilingual encoder in the local cache is then used)
    encoder = (
        Encoder(cfg.encoder, device=cfg.device, batch_size=cfg.batch_size, show_progress=False) if cfg.encoder else None
    )
    graphs: dict[str, object] = {}

    def graph(path: str):
        if path not in graphs:
            graphs[path] = load_kg(path)
        return graphs[path]

    t0 = time.perf_counter()
    results = []
    for task in tasks:
        kg1, kg2 = graph(task["ont1"]), graph(task["ont2"])
        r = run_task(task, kg1, kg2, aligner=aligner, config=config, seed=seed, encoder=encoder, kinds=kinds)
        if permutation_check:
            r2 = run_task(task, kg1, kg2, aligner=aligner, config=config, seed=seed + 1, encoder=encoder, kinds=kinds)
            a = {(x, y) for x, y, _ in r["pairs"]}
            b = {(x, y) for x, y, _ in r2["pairs"]}
            r["permutation"] = {"seed": seed + 1, "pairs_differing": len(a ^ b), "f1": r2["f1"]}
        results.append(r)
        if log_fn:
            perm = r.get("permutation")
            log_fn(
                f"{task['pair']} {task['name']}: P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} "
                f"({r['n_pred']} pairs, {r['n_gold']} reference, {r['ref_missing']} missing) {r['seconds']:.1f}s"
                + (f"; seed {perm['seed']}: {perm['pairs_differing']} pairs differ" if perm else "")
            )
    from kgalign.evaluation.dbp15k import git_commit, machine, versions

    return {
        "benchmark": "multifarm",
        "data_dir": os.fspath(data_dir),
        "kinds": kinds,
        "seed": seed,
        "config": config or {},
        "commit": git_commit(),
        "versions": versions(),
        "machine": machine(),
        "seconds": round(time.perf_counter() - t0, 2),
        "tasks": results,
        "summary": summarize(results),
        **({"permutation_check": permutation_summary(results, seed + 1)} if permutation_check else {}),
    }


def permutation_summary(tasks: list[dict], seed: int) -> dict:
    """The permutation check over ``tasks`` (those run with ``permutation_check``).

    Returns
    -------
    dict
        ``seed`` (the second presentation), ``tasks`` (checked), ``differing`` (names of the
        tasks whose pairs changed with the entity order) and ``passed`` (none changed).
    """
    checked = [t for t in tasks if "permutation" in t]
    differing = [t["name"] for t in checked if t["permutation"]["pairs_differing"]]
    return {"seed": seed, "tasks": len(checked), "differing": differing, "passed": not differing}


def _f(x: float) -> str:
    return f"{x:.3f}"


def markdown_table(record: dict) -> str:
    """Markdown: per-task P/R/F1 and the aggregates (micro and macro)."""
    lines = [
        "| pair | task | relation | P | R | F1 | pairs | reference | missing | s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in record["tasks"]:
        lines.append(
            f"| {t['pair']} | {t['name']} | {'same' if t['same'] else 'different'} | {_f(t['precision'])} | "
            f"{_f(t['recall'])} | {_f(t['f1'])} | {t['n_pred']} | {t['n_gold']} | {t['ref_missing']} | "
            f"{t['seconds']:.1f} |"
        )
    lines += [
        "",
        "| pair | relation | tasks | micro P | micro R | micro F1 | macro P | macro R | macro F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    s = record["summary"]
    rows = [(p, rel, s["pairs"][p][rel]) for p in s["pairs"] for rel in ("same", "different", "all")]
    rows += [("all", rel, s[rel]) for rel in ("same", "different", "overall")]
    for pair, rel, a in rows:
        if not a.get("tasks"):
            continue
        mi, ma = a["micro"], a["macro"]
        lines.append(
            f"| {pair} | {rel} | {a['tasks']} | {_f(mi['precision'])} | {_f(mi['recall'])} | {_f(mi['f1'])} | "
            f"{_f(ma['precision'])} | {_f(ma['recall'])} | {_f(ma['f1'])} |"
        )
    pc = record.get("permutation_check")
    if pc:
        lines += [
            "",
            f"Permutation check (entity order of seed {record.get('seed', 0)} vs {pc['seed']}): "
            + (
                f"the pairs of all {pc['tasks']} tasks are identical."
                if pc["passed"]
                else f"the pairs changed in {len(pc['differing'])} of {pc['tasks']} tasks: "
                + ", ".join(pc["differing"])
                + "."
            ),
        ]
    return "\n".join(lines) + "\n"


def plot_multifarm(record: dict, path: str | os.PathLike) -> Path:
    """Bar chart of macro F1 per language pair, same vs different ontologies (PNG, atomic)."""
    from kgalign.io.figures import pyplot as _pyplot
    from kgalign.io.figures import save_figure as _atomic_savefig

    plt = _pyplot()
    s = record["summary"]["pairs"]
    names = list(s)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(names) + 2), 3.4))
    for off, rel in ((-0.2, "same"), (0.2, "different")):
        vals = [s[p][rel]["macro"]["f1"] if s[p][rel].get("tasks") else 0.0 for p in names]
        ax.bar(x + off, vals, width=0.4, label=f"{rel} ontology")
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("macro F1")
    ax.set_title("MultiFarm: F1 per language pair")
    ax.legend(loc="upper right", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_savefig(fig, path)
    plt.close(fig)
    return path


def write_outputs(record: dict, output_dir: str | os.PathLike, *, force: bool = False, plots: bool = True) -> dict:
    """Write ``results.json``, ``results.md`` and ``f1_by_pair.png`` (atomic; no overwrite without ``force``)."""
    from kgalign.io.atomic import atomic_write, dump_json

    out = Path(output_dir)
    dump_json(out / "results.json", record, force=force)
    with atomic_write(out / "results.md", force=force) as fh:
        fh.write(markdown_table(record))
    png = plot_multifarm(record, out / "f1_by_pair.png") if plots else None
    return {"json": out / "results.json", "md": out / "results.md", "plot": png}
