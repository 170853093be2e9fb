"""Shared test fixtures: offline settings, the shared data path, a tiny deterministic encoder."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CASES = SHARED / "cases"
DATASETS = SHARED / "datasets"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own KGALIGN_HOME so no cache crosses tests or touches ~/.cache."""
    monkeypatch.setenv("KGALIGN_HOME", str(tmp_path_factory.mktemp("kgalign_home")))


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path


class HashingEncoder:
    """Character-trigram hashing encoder: deterministic, no model, L2-normalised float32."""

    name = "hashing-trigram"
    device = "cpu"
    multilingual = True

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            t = f"  {t.lower()}  "
            for k in range(len(t) - 2):
                h = int.from_bytes(hashlib.md5(t[k : k + 3].encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


@pytest.fixture
def hashing_encoder():
    return HashingEncoder()


@pytest.fixture(autouse=True, scope="session")
def _diff_oxigraph():
    """``KGALIGN_DIFF_OXIGRAPH=1``: every N-Triples/Turtle/RDF/XML load of the suite also runs the
    pyoxigraph engine and fails unless both give the same graph or the same error (file, line)."""
    if os.environ.get("KGALIGN_DIFF_OXIGRAPH") != "1":
        yield
        return
    import kgalign.io.rdf as rdf
    from kgalign.errors import KgalignError
    from kgalign.io import registry
    from kgalign.io.oxigraph import load_oxigraph

    original = rdf.load_rdf

    def run(loader, path, fmt, encoding):
        try:
            kg = loader(path, fmt, encoding)
        except KgalignError as exc:
            return None, (type(exc).__name__, getattr(exc, "line", None), exc)
        return kg, (kg.entities, kg.labels, kg.kinds.tolist(), kg.relations, kg.triples.tolist(), kg.attributes)

    def checked(path, fmt, encoding="utf-8"):
        kg, a = run(original, path, fmt, encoding)
        if fmt in ("nt", "turtle", "xml"):
            _, b = run(load_oxigraph, path, fmt, encoding)
            same = a[:2] == b[:2] if kg is None else a == b
            assert same, f"oxigraph engine differs from rdflib on {path}: {a[:2]} vs {b[:2]}"
        if kg is None:
            raise a[2]
        return kg

    rdf.load_rdf = checked
    for entry in registry.entries("graph"):
        entry._cache.clear()
    yield
    rdf.load_rdf = original
    for entry in registry.entries("graph"):
        entry._cache.clear()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models: intra-op threads only add contention on shared CI cores; restored afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def hash_encoder():
    from kgalign.aligner.encode import Encoder  # noqa: F401 (interface reference)

    class Hash:
        """A deterministic bag-of-character-trigrams encoder (no model download)."""

        multilingual = False
        device = "cpu"
        name = "hash"

        def encode(self, texts):
            out = np.zeros((len(texts), 64), np.float32)
            for i, t in enumerate(texts):
                t = f"  {t.lower()} "
                for k in range(len(t) - 2):
                    out[i, zlib.crc32(t[k : k + 3].encode()) % 64] += 1
            n = np.linalg.norm(out, axis=1, keepdims=True)
            return out / np.where(n == 0, 1, n)

    return Hash()


@pytest.fixture
def dicts(tmp_path, monkeypatch):
    """A folder of tiny FreeDict dictionaries (write them with ``test_freedict.write_dict``),
    the only place searched."""
    from kgalign.aligner import freedict

    folder = tmp_path / "dictd"
    folder.mkdir()
    monkeypatch.setattr(freedict, "search_dirs", lambda: [folder])
    freedict.glossary.cache_clear()
    yield folder
    freedict.glossary.cache_clear()
