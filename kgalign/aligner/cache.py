"""On-disk embedding cache, one entry per unique text (and a translation cache, :class:`TranslationCache`).

Layout: ``<root>/<namespace>/chunk-<random>.npy`` where ``root`` defaults to
``$KGALIGN_HOME/embeddings`` (``~/.cache/kgalign/embeddings``) and the namespace is a hash of
the model identity and the translator's ``cache_key``. Each chunk is one ``.npy`` file holding
a structured array with fields ``key`` (uint8 (32,), the SHA-256 of the exact source text) and
``vec`` (float32 (d,)). Chunks are written atomically (temporary file + ``os.replace``) and read
with ``allow_pickle=False``; a chunk that cannot be read, has an unexpected layout or holds a
non-finite vector is ignored (and removed), so its texts are simply recomputed. Because the
cache is per text, two calls whose text sets overlap share the work on the overlap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kgalign.home import kgalign_home  # re-exported: the home moved to a base module

__all__ = [
    "default_cache_dir",
    "kgalign_home",
    "text_key",
    "model_fingerprint",
    "EmbeddingCache",
    "TranslationCache",
    "default_translation_dir",
]

log = logging.getLogger(__name__)

#: merge a namespace's chunks into one file when it holds more than this many
MAX_CHUNKS = 16
_CHUNK_PREFIX = "chunk-"


def default_cache_dir() -> Path:
    """The default embedding-cache root, ``kgalign_home() / "embeddings"``."""
    return kgalign_home() / "embeddings"


def text_key(text: str) -> bytes:
    """SHA-256 digest (32 bytes) of ``text`` encoded as UTF-8 (lone surrogates kept)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def model_fingerprint(name_or_path: str) -> str:
    """A string that changes when the model behind ``name_or_path`` changes.

    For a local directory: the resolved path plus, for every file under it, its relative path,
    its size and a SHA-256 of its first and last 64 KiB (cheap even for GB-sized weights; a
    retrained model in the same directory gets a new fingerprint). For anything else (a hub
    id) the name itself.
    """
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        return str(name_or_path)
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or rel.lower().startswith("readme"):
            continue
        size = file.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with open(file, "rb") as fh:
            h.update(fh.read(65536))
            if size > 131072:
                fh.seek(-65536, os.SEEK_END)
                h.update(fh.read(65536))
    return f"{path.resolve()}#{h.hexdigest()[:16]}"


def _atomic_save(path: Path, array: np.ndarray) -> None:
    from kgalign.io.atomic import atomic_write

    with atomic_write(path, force=True, mode="wb") as fh:
        np.save(fh, array, allow_pickle=False)


class EmbeddingCache:
    """Per-text embedding store shared by every :class:`kgalign.aligner.encode.Encoder`.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Directory of the cache; default :func:`default_cache_dir`. Created on first write.

    Notes
    -----
    The cache never raises because of its own files: unreadable chunks are skipped and an
    unwritable directory only gives one warning. Writers running at the same time may both
    store a text; duplicates are harmless (equal keys, first one read wins).
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self._write_failed = False

    # ------------------------------------------------------------------ naming
    @staticmethod
    def namespace(model_key: str, translator_key: str) -> str:
        """Directory name for one (model, translator) combination: 32 hex digits."""
        blob = json.dumps({"model": model_key, "translator": translator_key}, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]

    def _dir(self, model_key: str, translator_key: str) -> Path:
        return self.root / self.namespace(model_key, translator_key)

    # ------------------------------------------------------------------ reading
    def _chunks(self, ns_dir: Path) -> list[Path]:
        if not ns_dir.is_dir():
            return []
        return sorted(p for p in ns_dir.glob(_CHUNK_PREFIX + "*.npy") if p.is_file())

    @staticmethod
    def _read_chunk(path: Path, dim: int | None) -> np.ndarray | None:
        """The chunk's structured array, or None (and the file removed) when it is unusable."""
        try:
            arr = np.load(path, allow_pickle=False)
            layout_ok = (
                arr.ndim == 1
                and (arr.dtype.names or ()) == ("key", "vec")
                and arr.dtype["key"] == np.dtype(("u1", (32,)))
                and arr.dtype["vec"].base == np.float32
                and len(arr.dtype["vec"].shape) == 1
                and bool(np.isfinite(arr["vec"]).all())
            )
        except Exception as exc:  # truncated, garbage, wrong format: recompute
            log.warning("ignoring unreadable embedding-cache file %s: %s", path, exc)
            layout_ok = False
        if not layout_ok:
            try:
                path.unlink()
            except OSError:
                pass
            return None
        if dim is not None and arr.dtype["vec"].shape[0] != dim:
            return None  # a sound chunk of another width: skip it, keep the file
        return arr

    def lookup(
        self, model_key: str, translator_key: str, texts: Sequence[str], dim: int | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Find cached vectors for ``texts``.

        Parameters
        ----------
        model_key, translator_key : str
            Identity of the encoder and of the translator applied before encoding.
        texts : sequence of str, length n
            Exact source texts.
        dim : int, optional
            Expected vector width; chunks of another width are ignored.

        Returns
        -------
        found : ndarray of bool, shape (n,)
        vectors : ndarray of float32, shape (n, d), or None
            Rows where ``found`` is False are zero. None when nothing was found.
        """
        n = len(texts)
        found = np.zeros(n, dtype=bool)
        chunks = self._chunks(self._dir(model_key, translator_key))
        if not chunks or n == 0:
            return found, None
        wanted: dict[bytes, list[int]] = {}
        for i, t in enumerate(texts):
            wanted.setdefault(text_key(t), []).append(i)
        out: np.ndarray | None = None
        for path in chunks:
            arr = self._read_chunk(path, dim if out is None else out.shape[1])
            if arr is None or len(arr) == 0:
                continue
            keys = arr["key"]
            for row, kb in enumerate(map(bytes, keys)):
                idx = wanted.get(kb)
                if idx is None or found[idx[0]]:
                    continue
                if out is None:
                    out = np.zeros((n, arr.dtype["vec"].shape[0]), dtype=np.float32)
                out[idx] = arr["vec"][row]
                found[idx] = True
            if found.all():
                break
        return found, out

    # ------------------------------------------------------------------ writing
    def store(self, model_key: str, translator_key: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Add ``vectors[i]`` as the embedding of ``texts[i]`` (float32, shape (n, d), finite).

        Failures to write (read-only disk, full disk) give one warning and are otherwise ignored.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(texts) == 0 or self._write_failed:
            return
        if vectors.ndim != 2 or vectors.shape[0] != len(texts) or not np.isfinite(vectors).all():
            raise ValueError("store() needs finite vectors of shape (len(texts), d)")
        dtype = np.dtype([("key", "u1", (32,)), ("vec", "<f4", (vectors.shape[1],))])
        arr = np.zeros(len(texts), dtype=dtype)
        arr["key"] = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=np.uint8).reshape(-1, 32)
        arr["vec"] = vectors
        ns_dir = self._dir(model_key, translator_key)
        try:
            ns_dir.mkdir(parents=True, exist_ok=True)
            meta = ns_dir / "meta.json"
            if not meta.exists():
                from kgalign.io.atomic import atomic_write

                with atomic_write(meta, force=True) as fh:
                    json.dump({"model": model_key, "translator": translator_key, "dim": int(vectors.shape[1])}, fh)
            _atomic_save(ns_dir / f"{_CHUNK_PREFIX}{uuid.uuid4().hex}.npy", arr)
            chunks = self._chunks(ns_dir)
            if len(chunks) > MAX_CHUNKS:
                self._compact(ns_dir, chunks, vectors.shape[1])
        except OSError as exc:
            self._write_failed = True
            warnings.warn(f"embedding cache {self.root} is not writable ({exc}); continuing without it", stacklevel=3)

    def _compact(self, ns_dir: Path, chunks: list[Path], dim: int) -> None:
        """Merge ``chunks`` into one file (deduplicated by key), then remove them."""
        parts = [a for a in (self._read_chunk(p, dim) for p in chunks) if a is not None]
        if not parts:
            return
        merged = np.concatenate(parts)
        _, first = np.unique(merged["key"], axis=0, return_index=True)
        merged = merged[np.sort(first)]
        _atomic_save(ns_dir / f"{_CHUNK_PREFIX}{uuid.uuid4().hex}.npy", merged)
        for p in chunks:
            try:
                p.unlink()
            except OSError:
                pass

    def clear(self) -> None:
        """Delete every cached embedding under :attr:`root` (only the namespace folders)."""
        import re
        import shutil

        if self.root.is_dir():
            for sub in self.root.iterdir():
                if sub.is_dir() and re.fullmatch(r"[0-9a-f]{32}", sub.name):
                    shutil.rmtree(sub)


# ---------------------------------------------------------------------------- translations
def default_translation_dir() -> Path:
    """The default translation-cache root, ``kgalign_home() / "translations"``."""
    return kgalign_home() / "translations"


class TranslationCache:
    """Per-text store of translations, keyed by the translator's ``cache_key``.

    Machine translation is the slowest step of a run after encoding; with this cache a second
    run over the same texts with the same translator translates nothing. Layout:
    ``<root>/<sha256(cache_key)[:32]>/chunk-<random>.json`` holding
    ``{"translator": cache_key, "pairs": {source: translation}}``, written atomically; a
    namespace of more than :data:`MAX_CHUNKS` chunks is merged into one. An unreadable chunk is
    ignored (its texts are translated again), an unwritable directory gives one warning.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Default :func:`default_translation_dir`.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_translation_dir()
        self._write_failed = False

    @staticmethod
    def enabled() -> bool:
        """False when the environment variable ``KGALIGN_NO_CACHE`` is set (not ``0``)."""
        return os.environ.get("KGALIGN_NO_CACHE", "").strip() in ("", "0")

    def _dir(self, key: str) -> Path:
        return self.root / hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    def _read(self, ns_dir: Path, key: str, used: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
        """The cached translations of namespace ``key``; ``used`` receives, per text, the
        resources recorded with its chunk (``"used"``, absent in chunks of older versions)."""
        out: dict[str, str] = {}
        if not ns_dir.is_dir():
            return out
        for path in sorted(ns_dir.glob(_CHUNK_PREFIX + "*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                pairs = data["pairs"] if data.get("translator") == key else {}
                if not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()):
                    raise ValueError("entries are not text")
                res = tuple(str(x) for x in data.get("used", ()))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("ignoring unreadable translation-cache file %s: %s", path, exc)
                continue
            for k, v in pairs.items():
                if k not in out:
                    out[k] = v
                    if used is not None:
                        used[k] = res
        return out

    def _write(self, ns_dir: Path, key: str, pairs: dict[str, str], used: Iterable[str] = ()) -> None:
        from kgalign.io.atomic import atomic_write

        record: dict[str, Any] = {"translator": key, "pairs": pairs}
        if used:
            record["used"] = sorted(set(used))
        with atomic_write(ns_dir / f"{_CHUNK_PREFIX}{uuid.uuid4().hex}.json", force=True) as fh:
            json.dump(record, fh, ensure_ascii=False)

    def translate(self, translator, texts: Sequence[str], used: set | None = None) -> list[str]:
        """``translator.translate(texts)``, with the texts translated before read from disk.

        Parameters
        ----------
        translator : Translator
            Anything with ``translate(list of str) -> list of str`` and a ``cache_key``. When it
            has a ``resources`` attribute (a set, read after ``translate``: the dictionaries or
            tools that produced that batch), it is stored with the batch.
        texts : sequence of str, length n
        used : set, optional
            Receives the resources stored with the texts served from the cache, so that a
            run served from the cache records the same resources as the run that translated.

        Returns
        -------
        list of str, length n
            Only the unique texts missing from the cache are passed to ``translator``, once.
        """
        texts = list(texts)
        key = translator.cache_key
        ns_dir = self._dir(key)
        stored: dict[str, tuple[str, ...]] = {}
        known = self._read(ns_dir, key, stored)
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if used is not None:
            for t in set(texts) - set(todo):
                used.update(stored.get(t, ()))
        if todo:
            got = translator.translate(todo)
            if len(got) != len(todo):
                from kgalign.errors import KgalignError

                raise KgalignError(f"translator {translator!r} returned {len(got)} texts for {len(todo)}")
            new = dict(zip(todo, got))
            known.update(new)
            if not self._write_failed:
                try:
                    ns_dir.mkdir(parents=True, exist_ok=True)
                    self._write(ns_dir, key, new, getattr(translator, "resources", ()))
                    chunks = sorted(ns_dir.glob(_CHUNK_PREFIX + "*.json"))
                    if len(chunks) > MAX_CHUNKS:  # merged: the union of the chunks' resources
                        every: dict[str, tuple[str, ...]] = {}
                        merged = self._read(ns_dir, key, every)
                        self._write(ns_dir, key, merged, {r for rs in every.values() for r in rs})
                        for p in chunks:
                            p.unlink(missing_ok=True)
                except OSError as exc:
                    self._write_failed = True
                    warnings.warn(
                        f"translation cache {self.root} is not writable ({exc}); continuing without it", stacklevel=2
                    )
        log.info("translations: %d of %d unique texts from the cache", len(set(texts)) - len(todo), len(set(texts)))
        return [known[t] for t in texts]
