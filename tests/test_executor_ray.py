"""Executors (kgalign.executor): the Ray backend gives exactly the local results.

Ray is started on this machine with 2 local workers (no external cluster); skipped when ray
is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from kgalign.aligner.candidates import search_candidates
from kgalign.aligner.chunked import encode_chunked
from kgalign.aligner.sharded import load_graphs, match_blocks
from kgalign.errors import InputError
from kgalign.executor import LocalExecutor, get_executor


def toy_encode(texts):
    out = np.zeros((len(texts), 8), dtype=np.float32)
    for i, t in enumerate(texts):
        b = np.frombuffer(t.encode("utf-8").ljust(8, b"\0")[:8], dtype=np.uint8)
        out[i] = b.astype(np.float32) / 255.0 + 0.01 * len(t)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_local_executor_and_names():
    ex = get_executor("local")
    assert isinstance(ex, LocalExecutor)
    assert ex.map(lambda x, y: x * y, [1, 2, 3], 10) == [10, 20, 30]
    with pytest.raises(InputError, match="unknown executor"):
        get_executor("spark")


@pytest.fixture(scope="module")
def ray_executor():
    pytest.importorskip("ray")
    import sys

    import ray

    from kgalign.executor import RayExecutor

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    ex = RayExecutor(num_cpus=2)
    yield ex
    ex.close()


def test_ray_matches_local(ray_executor, tmp_path):
    assert ray_executor.n_workers == 2
    texts = [f"entity {i} {'ab' * (i % 5)}" for i in range(230)]
    local = encode_chunked(texts, toy_encode, tmp_path / "l.npy", chunk_size=40, key="toy")
    remote = encode_chunked(texts, toy_encode, tmp_path / "r.npy", chunk_size=40, key="toy", executor=ray_executor)
    assert np.array_equal(local, remote)

    A, B = np.asarray(local[:120]), np.asarray(local[100:])
    for method in ("exact", "ivf"):
        if method == "ivf":
            pytest.importorskip("faiss")
        S_l = search_candidates(A, B, 5, method=method, shard_rows=32, nlist=4, nprobe=2)
        S_r = search_candidates(A, B, 5, method=method, shard_rows=32, nlist=4, nprobe=2, executor=ray_executor)
        assert S_l.nnz > 0 and (S_l != S_r).nnz == 0
        r_l = match_blocks(S_l, n_blocks=4)
        r_r = match_blocks(S_r, n_blocks=4, executor=ray_executor)
        assert np.array_equal(r_l[0], r_r[0]) and np.array_equal(r_l[1], r_r[1]) and len(r_l[0]) > 20

    nt = tmp_path / "g.nt"
    nt.write_text(
        "<http://a.ex/a> <http://a.ex/p> <http://a.ex/b> .\n"
        '<http://a.ex/b> <http://www.w3.org/2000/01/rdf-schema#label> "B"@en .\n',
        encoding="utf-8",
    )
    g_l = load_graphs([nt, nt])
    g_r = load_graphs([nt, nt], executor=ray_executor)
    assert [g.entities for g in g_l] == [g.entities for g in g_r] == [["http://a.ex/a", "http://a.ex/b"]] * 2
    assert g_l[0].labels == g_r[1].labels
