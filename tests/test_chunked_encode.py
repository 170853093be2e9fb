"""Out-of-core encoding (kgalign.aligner.chunked): chunked memmap writing, resumption after a kill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kgalign.aligner.chunked import encode_chunked, progress_path
from kgalign.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def toy_encode(texts):
    """Deterministic 8-dim vectors from the bytes of each text (no model)."""
    out = np.zeros((len(texts), 8), dtype=np.float32)
    for i, t in enumerate(texts):
        b = np.frombuffer(t.encode("utf-8").ljust(8, b"\0")[:8], dtype=np.uint8)
        out[i] = b.astype(np.float32) + len(t)
    return out


TEXTS = [f"name {i} {'x' * (i % 7)}" for i in range(103)]

# the child: encodes TEXTS slowly, logging every chunk it starts, until it is killed
CHILD = r"""
import sys, time
sys.path.insert(0, {repo!r})
sys.path.insert(0, {tests!r})
from test_chunked_encode import TEXTS, toy_encode
from kgalign.aligner.chunked import encode_chunked

def slow(texts):
    with open({log!r}, "a") as fh:
        fh.write(texts[0] + "\n")
    time.sleep(0.15)
    return toy_encode(texts)

encode_chunked(TEXTS, slow, {out!r}, chunk_size=10, key="toy")
"""


def test_whole_run_matches_direct_encoding(tmp_path):
    out = encode_chunked(TEXTS, toy_encode, tmp_path / "e.npy", chunk_size=10, key="toy")
    assert isinstance(out, np.memmap) and out.shape == (103, 8)
    np.testing.assert_array_equal(out, toy_encode(TEXTS))
    state = json.loads(progress_path(tmp_path / "e.npy").read_text())
    assert state["done"] == 11 and state["complete"]
    # a finished file is reused without encoding anything
    calls = []
    again = encode_chunked(
        TEXTS, lambda t: calls.append(t) or toy_encode(t), tmp_path / "e.npy", chunk_size=10, key="toy"
    )
    assert calls == [] and np.array_equal(again, out)


def test_killed_run_resumes_from_last_finished_chunk(tmp_path):
    out, log = tmp_path / "e.npy", tmp_path / "started.log"
    script = CHILD.format(repo=str(REPO), tests=str(REPO / "tests"), log=str(log), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script])
    prog = progress_path(out)
    deadline = time.time() + 60
    while time.time() < deadline:
        if prog.exists():
            try:
                if json.loads(prog.read_text())["done"] >= 3:
                    break
            except ValueError:  # replaced while reading
                pass
        if proc.poll() is not None:
            pytest.fail("the child finished before it could be killed")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads(prog.read_text())["done"]
    assert 3 <= done < 11, "killed mid-run"
    # resume in this process: only chunks from `done` on are encoded
    starts = []

    def counting(texts):
        starts.append(TEXTS.index(texts[0]) // 10)
        return toy_encode(texts)

    result = encode_chunked(TEXTS, counting, out, chunk_size=10, key="toy")
    assert starts == list(range(done, 11))
    np.testing.assert_array_equal(result, toy_encode(TEXTS))  # nothing corrupted
    child_started = [TEXTS.index(t) // 10 for t in log.read_text().splitlines()]
    assert set(child_started) >= set(range(done)) and not set(starts) & set(range(done))


def test_other_texts_or_encoder_are_refused(tmp_path):
    out = tmp_path / "e.npy"
    encode_chunked(TEXTS[:30], toy_encode, out, chunk_size=10, key="toy")
    with pytest.raises(InputError, match="another encoding"):
        encode_chunked(TEXTS[:31], toy_encode, out, chunk_size=10, key="toy")
    with pytest.raises(InputError, match="another encoding"):
        encode_chunked(TEXTS[:30], toy_encode, out, chunk_size=10, key="other-model")
    res = encode_chunked(TEXTS[:31], toy_encode, out, chunk_size=10, key="toy", force=True)
    np.testing.assert_array_equal(res, toy_encode(TEXTS[:31]))
    plain = tmp_path / "plain.npy"
    np.save(plain, np.zeros((2, 2)))
    with pytest.raises(InputError, match="not a resumable"):
        encode_chunked(TEXTS[:2], toy_encode, plain, key="toy")
