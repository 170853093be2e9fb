"""Out-of-core encoding: embeddings written chunk by chunk to a memory-mapped ``.npy`` file,
resumable after an interruption.

:func:`encode_chunked` splits the texts into chunks of ``chunk_size`` rows, encodes them
(waves of ``executor.n_workers`` chunks, see :mod:`kgalign.executor`) and writes each chunk
into a ``.npy`` file opened with :func:`numpy.lib.format.open_memmap`, so the embeddings never
need to fit in memory. Progress is a small JSON file beside it (``<path>.progress.json``):
the number of finished chunks and a fingerprint of the texts and the encoder. Its protocol:

1. the chunk's rows are written and flushed to disk (``msync``);
2. only then the progress file is replaced atomically (temporary file, ``fsync``, ``os.replace``).

A run killed at any point therefore restarts from the last finished chunk: finished chunks are
never recomputed, and a chunk that was half written when the run died is written again in
full. A progress file whose fingerprint does not match the texts or encoder is refused
(``force=True`` starts afresh).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kgalign.errors import InputError
from kgalign.executor import Executor, LocalExecutor, shard_ranges

log = logging.getLogger(__name__)

__all__ = ["encode_chunked", "progress_path", "texts_fingerprint"]


def progress_path(path: str | os.PathLike) -> Path:
    """The progress file of the embeddings file ``path``."""
    return Path(os.fspath(path) + ".progress.json")


def texts_fingerprint(texts: Sequence[str], key: str = "") -> str:
    """SHA-256 over ``key`` and the texts (length-prefixed UTF-8), hex."""
    h = hashlib.sha256(key.encode("utf-8") + b"\0")
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _write_progress(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _encode_shard(shard: tuple[int, int, list[str]], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    start, end, texts = shard
    out = np.asarray(encode(texts), dtype=np.float32)
    if out.shape[0] != end - start:
        raise InputError(f"the encoder returned {out.shape[0]} rows for {end - start} texts (rows {start}..{end})")
    return out


def encode_chunked(
    texts: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
    path: str | os.PathLike,
    *,
    chunk_size: int = 8192,
    key: str = "",
    executor: Executor | None = None,
    force: bool = False,
) -> np.ndarray:
    """Encode ``texts`` into a memory-mapped ``.npy`` file, resuming an interrupted run.

    Parameters
    ----------
    texts : sequence of str, length n
    encode : callable
        ``encode(list of str) -> array (len, dim)``, deterministic (e.g.
        :meth:`kgalign.aligner.encode.Encoder.encode`). With a Ray executor it must be picklable.
    path : str or os.PathLike
        The ``.npy`` file (float32, shape (n, dim)); its progress file is :func:`progress_path`.
    chunk_size : int, default 8192
        Rows per chunk: the unit of work, of writing and of resumption.
    key : str
        Identifies the encoder (model and translator) in the fingerprint, e.g.
        ``Encoder.model_key``; a resumed run must use the same.
    executor : Executor, optional
        Where chunks are encoded (default: this process). Chunks are written in order.
    force : bool
        Start afresh when ``path`` holds other embeddings (otherwise an error).

    Returns
    -------
    numpy.memmap of float32, shape (n, dim)
        Read-only view of the finished file.

    Raises
    ------
    InputError
        ``path`` exists without a matching progress file (and not ``force``), a progress file
        of other texts or another encoder (and not ``force``), or an encoder giving the wrong
        number of rows or a changing dimension.
    """
    path = Path(path)
    texts = list(texts)
    n = len(texts)
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    executor = executor or LocalExecutor()
    prog = progress_path(path)
    fp = texts_fingerprint(texts, key)
    n_chunks = (n + chunk_size - 1) // chunk_size
    state = None
    if prog.exists():
        try:
            state = json.loads(prog.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = None
        if (
            state is None
            or state.get("fingerprint") != fp
            or state.get("chunk_size") != chunk_size
            or state.get("n") != n
            or (state.get("done", 0) > 0 and not path.exists())
        ):
            if not force:
                raise InputError(
                    "holds the progress of another encoding (other texts, encoder or chunk size); "
                    "pass force=True to start afresh",
                    prog,
                )
            state = None
    elif path.exists() and not force:
        raise InputError("exists and is not a resumable encoding; pass force=True to overwrite it", path)

    mm = None
    done = 0
    if state is not None and int(state.get("done", 0)) > 0:
        done = int(state["done"])
        mm = np.lib.format.open_memmap(path, mode="r+")
        if mm.shape[0] != n:
            raise InputError(f"holds {mm.shape[0]} rows, expected {n}", path)
        log.info("resuming %s at chunk %d of %d", path, done, n_chunks)
    ranges = shard_ranges(n, chunk_size)
    wave = max(1, executor.n_workers)
    while done < n_chunks:
        batch = ranges[done : done + wave]
        shards = [(s, e, texts[s:e]) for s, e in batch]
        results = executor.map(_encode_shard, shards, encode)
        for (s, e), rows in zip(batch, results):
            if mm is None:
                dim = rows.shape[1]
                path.parent.mkdir(parents=True, exist_ok=True)
                # the progress file first: a run killed right after creating the array resumes it
                _write_progress(
                    prog,
                    {"n": n, "dim": dim, "chunk_size": chunk_size, "fingerprint": fp, "done": 0, "complete": False},
                )
                mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
            if rows.ndim != 2 or rows.shape[1] != mm.shape[1]:
                raise InputError(
                    f"the encoder changed dimension ({rows.shape} for rows {s}..{e}, file has {mm.shape[1]})"
                )
            mm[s:e] = rows
            mm.flush()
            done += 1
            _write_progress(
                prog,
                {
                    "n": n,
                    "dim": int(mm.shape[1]),
                    "chunk_size": chunk_size,
                    "fingerprint": fp,
                    "done": done,
                    "complete": done == n_chunks,
                },
            )
    if mm is None:  # no texts
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(0, 0))
        _write_progress(
            prog, {"n": 0, "dim": 0, "chunk_size": chunk_size, "fingerprint": fp, "done": 0, "complete": True}
        )
    del mm
    return np.load(path, mmap_mode="r")
