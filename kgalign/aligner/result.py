"""The result of :func:`kgalign.align`: the pairs, the similarity, and the record of the run.

An :class:`AlignmentResult` records the resolved configuration (every automatic choice made),
the kgalign version, fingerprints of the inputs and the time of each stage, and saves itself
to a directory (:meth:`AlignmentResult.save`, in the manner of PyKEEN's
``PipelineResult.save_to_directory``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kgalign.config import AlignConfig
from kgalign.errors import InputError, OutputError, OutputExistsError
from kgalign.kg import KnowledgeGraph

__all__ = ["AlignmentResult", "topk_rows", "input_fingerprint"]

log = logging.getLogger(__name__)

#: Files written by :meth:`AlignmentResult.save`.
SAVED_FILES = ("config.json", "metadata.json", "alignment.tsv", "alignment.sssom.tsv")


def _version() -> str:
    from kgalign import __version__

    return __version__


def input_fingerprint(kg: KnowledgeGraph) -> dict:
    """SHA-256 of a graph's input: its source file(s), else its entity list.

    Parameters
    ----------
    kg : KnowledgeGraph
        When ``kg.source`` names an existing file, that file's bytes are hashed; a directory:
        every file under it, by relative path and bytes, in sorted order. Otherwise (a graph
        built in memory) the entity IRIs, one per line, in order.

    Returns
    -------
    dict
        ``{"source": str or None, "kind": "file" | "directory" | "entities", "sha256": hex str,
        "entities": int}``.
    """
    h = hashlib.sha256()
    src = Path(kg.source) if kg.source else None
    if src is not None and src.is_file():
        kind = "file"
        with open(src, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    elif src is not None and src.is_dir():
        kind = "directory"
        for f in sorted(p for p in src.rglob("*") if p.is_file()):
            h.update(f.relative_to(src).as_posix().encode() + b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    else:
        kind = "entities"
        for iri in kg.entities:
            h.update(iri.encode("utf-8", "surrogatepass") + b"\n")
    return {
        "source": os.fspath(src) if src is not None else None,
        "kind": kind,
        "sha256": h.hexdigest(),
        "entities": int(kg.n_entities),
    }


@dataclass
class AlignmentResult:
    """The output of :func:`kgalign.align`.

    Attributes
    ----------
    kg1, kg2 : KnowledgeGraph
    sources, targets : ndarray of int64, shape (n_s,), (n_t,)
        Entity positions that were matched (row and column order of ``similarity``).
    rows, cols : ndarray of int64, shape (p,)
        The aligned pairs as positions in ``kg1`` and ``kg2``.
    scores : ndarray of float32, shape (p,)
        Similarity of each pair.
    similarity : ndarray of float32 (n_s, n_t) or scipy.sparse.csr_matrix
        The (fused) similarity the assignment was solved on.
    stages : dict
        ``{stage: {"seconds": float, "peak_rss_mb": float}}``.
    config : AlignConfig
        The resolved configuration: ``lang1``/``lang2``, ``encoder``, ``translator`` and
        ``device`` hold the choices this run made (see ``choices``).
    device : str
        Device used for encoding.
    names1, names2 : list of str
        Translated display names of all entities of each graph.
    assignment : (ndarray, ndarray)
        Rows and columns into ``similarity`` of the 1-to-1 assignment, before threshold and
        abstention.
    info : dict
        What the similarity and abstention stages did (views, self-training rounds, counts).
    choices : dict
        The resolved choices with their detail: languages (and whether detected), encoder
        name and path, translator of each side, device.
    fingerprints : dict
        ``{"kg1": ..., "kg2": ...}`` from :func:`input_fingerprint`.
    version : str
        ``kgalign.__version__`` that produced the result.
    created : str
        ISO 8601 UTC time the run finished.
    """

    kg1: KnowledgeGraph
    kg2: KnowledgeGraph
    sources: np.ndarray
    targets: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    similarity: Any
    stages: dict = field(default_factory=dict)
    config: AlignConfig = field(default_factory=AlignConfig)
    device: str = "cpu"
    names1: list[str] | None = None
    names2: list[str] | None = None
    assignment: tuple | None = None  # (rows, cols) into ``similarity`` before threshold and abstention
    info: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)
    fingerprints: dict = field(default_factory=dict)
    version: str = field(default_factory=_version)
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    def __len__(self) -> int:
        return len(self.rows)

    def pairs(self) -> list[tuple[str, str, float]]:
        """``(IRI1, IRI2, score)`` for every aligned pair, in source order."""
        e1, e2 = self.kg1.entities, self.kg2.entities
        return [
            (e1[i], e2[j], float(s)) for i, j, s in zip(self.rows.tolist(), self.cols.tolist(), self.scores.tolist())
        ]

    def ranking(self, k: int = 10, method: str = "reexchange") -> np.ndarray:
        """Top-``k`` candidates per source.

        Parameters
        ----------
        k : int
        method : {"reexchange", "similarity"}
            ``"reexchange"`` (default): the assigned partner first, then candidates by the
            re-exchange gain of swapping into them (UDCEA's least-regret list,
            :func:`kgalign.matching.rank_alternatives`), so Hits@1 equals the 1-to-1 accuracy
            of the global matching. ``"similarity"``: by decreasing fused similarity, ties
            broken by the lower column of ``similarity`` (the given target order, which
            evaluation shuffles).

        Returns
        -------
        ndarray of int64, shape (len(sources), k)
            Positions in ``kg2``; ``-1`` pads rows with fewer than ``k`` candidates.
        """
        if method == "similarity" or self.assignment is None:
            return topk_rows(self.similarity, self.targets, k)
        if method != "reexchange":
            raise InputError(f"unknown ranking method {method!r} (reexchange, similarity)")
        from kgalign.matching import rank_alternatives

        cols = rank_alternatives(self.similarity, self.assignment[0], self.assignment[1], k)
        out = np.full(cols.shape, -1, dtype=np.int64)
        ok = cols >= 0
        out[ok] = self.targets[cols[ok]]
        return out

    # ------------------------------------------------------------------ record
    def metadata(self) -> dict:
        """What :meth:`save` writes to ``metadata.json``: version, creation time, input
        fingerprints, resolved choices, stage times, sizes and the stages' info."""
        return {
            "kgalign_version": self.version,
            "created": self.created,
            "fingerprints": self.fingerprints,
            "resolved": self.choices,
            "device": self.device,
            "stages": self.stages,
            "entities": {"kg1": int(self.kg1.n_entities), "kg2": int(self.kg2.n_entities)},
            "matched": {"sources": int(len(self.sources)), "targets": int(len(self.targets))},
            "pairs": int(len(self)),
            "info": self.info,
            "files": {"config": "config.json", "alignment": "alignment.tsv", "sssom": "alignment.sssom.tsv"},
        }

    def save(self, directory: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the run to ``directory``: config, metadata and the alignment.

        Files: ``config.json`` (the resolved configuration, readable by
        :func:`kgalign.config.load_config`), ``metadata.json`` (:meth:`metadata`),
        ``alignment.tsv`` and ``alignment.sssom.tsv`` (through
        :func:`kgalign.io.writers.write_alignment`). The graphs and the similarity are not
        saved.

        The directory is built next to its destination and moved into place, so it appears
        complete or not at all.

        Parameters
        ----------
        directory : str or os.PathLike
        force : bool
            Replace an existing non-empty directory.

        Returns
        -------
        Path
            ``directory``.

        Raises
        ------
        OutputExistsError
            ``directory`` exists, is not empty and ``force`` is False (checked before writing).
        OutputError
            ``directory`` is a file, or cannot be written.
        """
        from kgalign.io.atomic import dump_json, stage_step, sweep_stale, temp_name, written_directly
        from kgalign.io.writers import write_alignment

        dest = Path(directory)
        sweep_stale(dest)
        if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
            raise OutputError(f"cannot save to {dest}: it is a file or a link, not a folder")
        if dest.is_dir() and any(dest.iterdir()) and not force:
            raise OutputExistsError(dest)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=temp_name(dest), suffix=".tmp", dir=dest.parent))
        except OSError as exc:
            raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from None

        def abort() -> None:
            shutil.rmtree(tmp, ignore_errors=True)

        def commit() -> None:
            old = None
            try:
                if dest.exists():
                    if any(dest.iterdir()):
                        if not force:
                            raise OutputExistsError(dest)
                        old = dest.with_name(f"{temp_name(dest)}old.tmp")
                        os.replace(dest, old)
                    else:
                        dest.rmdir()
                os.replace(tmp, dest)
            except BaseException:
                abort()
                if old is not None and not dest.exists():
                    os.replace(old, dest)
                raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)

        try:
            os.chmod(tmp, 0o777 & ~_umask())
            with written_directly():
                dump_json(tmp / "config.json", self.config.to_dict())
                dump_json(tmp / "metadata.json", self.metadata())
                write_alignment(self, tmp / "alignment.tsv", fmt="tsv")
                write_alignment(self, tmp / "alignment.sssom.tsv", fmt="sssom")
        except BaseException:
            abort()
            raise

        def check() -> None:
            if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
                raise OutputError(f"cannot save to {dest}: it is a file or a link, not a folder")
            if dest.is_dir() and any(dest.iterdir()) and not force:
                raise OutputExistsError(dest)

        if not stage_step(
            dest, True, commit, abort, check, tmp=tmp
        ):  # inside commit_together: moved with the other outputs
            commit()
        log.info("saved the alignment run to %s", dest)
        return dest


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def topk_rows(sim, targets: np.ndarray, k: int) -> np.ndarray:
    """Top-``k`` target positions per row of a dense or CSR similarity.

    Parameters
    ----------
    sim : ndarray of float (n, m) or scipy.sparse matrix
    targets : ndarray of int64, shape (m,)
        The kg2 position of each column.
    k : int

    Returns
    -------
    ndarray of int64, shape (n, k)
        By decreasing similarity, ties to the smaller column; ``-1`` pads short rows.
    """
    import scipy.sparse as sp

    n = sim.shape[0]
    out = np.full((n, k), -1, dtype=np.int64)
    if n == 0 or sim.shape[1] == 0 or k <= 0:
        return out
    if sp.issparse(sim):
        sim = sim.tocsr()
        for i in range(n):
            lo, hi = sim.indptr[i], sim.indptr[i + 1]
            idx, val = sim.indices[lo:hi], sim.data[lo:hi]
            order = np.lexsort((idx, -val))[:k]
            out[i, : len(order)] = targets[idx[order]]
        return out
    from kgalign.matching.topk import _select_topk_cpp

    kk = min(k, sim.shape[1])
    for start in range(0, n, 2048):
        block = np.asarray(sim[start : start + 2048])
        if block.dtype not in (np.float32, np.float64):
            block = block.astype(np.float64)
        # exact, ties to the smaller column (C++), best first
        cols, _ = _select_topk_cpp(np.ascontiguousarray(block), kk, row_offset=start)
        out[start : start + len(block), :kk] = targets[cols]
    return out
