"""Fault injection while writing every output kind (issue 14).

A forked child writes all outputs of one run (the six alignment formats, the candidates TSV,
the ``--save-dir`` folder) the way ``kgalign align`` does (:func:`commit_together`) and is
killed with SIGKILL at the k-th file-system event (a write, flush, fsync, rename, unlink), for
every k. After each kill the folder must hold, for every output, either nothing or the
complete file; a rerun must succeed and leave no temporary file. A second test makes the disk
full (ENOSPC from the k-th write, and a 64 KiB tmpfs when the test may mount one).
"""

from __future__ import annotations

import builtins
import errno
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import HashingEncoder

EN = """@prefix ex: <http://en.ex/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:paris rdfs:label "Paris"@en ; ex:in ex:france .
ex:france rdfs:label "France"@en .
ex:lyon rdfs:label "Lyon"@en ; ex:in ex:france .
ex:rome rdfs:label "Rome"@en ; ex:in ex:italy .
ex:italy rdfs:label "Italie"@en .
ex:bete rdfs:label "Bête"@en .
"""
FORMATS = ("tsv", "json", "sssom", "turtle", "nt", "oaei")
TARGETS = [f"o.{f}" for f in FORMATS] + ["cands.tsv", "run"]

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
#: Every event when set (benchmarks/README.md); else every rename/fsync/flush/unlink event and
#: a seeded sample of SAMPLE of the (many, alike) write events.
ALL = bool(os.environ.get("KGALIGN_FAULTS_ALL"))
SAMPLE = 16


def fault_points(kinds: list[str]) -> list[int]:
    import random

    writes = [k for k, kind in enumerate(kinds, 1) if kind == "write"]
    other = [k for k, kind in enumerate(kinds, 1) if kind != "write"]
    if ALL:
        return list(range(1, len(kinds) + 1))
    return sorted(other + random.Random(0).sample(writes, min(SAMPLE, len(writes))))


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    import kgalign
    from kgalign.io import load_kg

    d = tmp_path_factory.mktemp("graphs")
    (d / "en.ttl").write_text(EN, encoding="utf-8")
    (d / "fr.ttl").write_text(EN.replace("en.ex", "fr.ex").replace("@en", "@fr"), encoding="utf-8")
    return kgalign.align(load_kg(d / "en.ttl"), load_kg(d / "fr.ttl"), encoder=HashingEncoder(dim=32))


def write_all(res, out: Path, force: bool = False) -> None:
    """Every output kind of one run, committed together (as ``kgalign align`` does)."""
    from kgalign.io.atomic import commit_together
    from kgalign.io.writers import write_alignment, write_candidates

    with commit_together():
        for fmt in FORMATS:
            write_alignment(res, out / f"o.{fmt}", fmt=fmt, force=force)
        write_candidates(res, out / "cands.tsv", 3, force=force)
        res.save(out / "run", force=force)


class Faults:
    """Counts file-system events; at event ``at`` calls ``action`` (kill, or raise ENOSPC)."""

    def __init__(self, at: int | None, action):
        self.n, self.at, self.action, self.kinds = 0, at, action, []

    def event(self, kind: str) -> None:
        self.n += 1
        if self.at is None:
            self.kinds.append(kind)
        if self.at is not None and self.n == self.at:
            self.action(kind)

    def install(self, monkeypatch) -> None:
        real_fdopen, real_open = os.fdopen, builtins.open
        real = {name: getattr(os, name) for name in ("replace", "fsync", "unlink", "rename")}
        faults = self

        def wrap(fh):
            write, flush = fh.write, fh.flush

            def w(data):
                faults.event("write")
                return write(data)

            def f():
                faults.event("flush")
                return flush()

            try:
                fh.write, fh.flush = w, f
            except AttributeError:  # pragma: no cover
                pass
            return fh

        monkeypatch.setattr(os, "fdopen", lambda *a, **k: wrap(real_fdopen(*a, **k)))
        monkeypatch.setattr(
            builtins,
            "open",
            lambda f, mode="r", *a, **k: (
                wrap(real_open(f, mode, *a, **k)) if any(c in mode for c in "wax") else real_open(f, mode, *a, **k)
            ),
        )
        for name, fn in real.items():
            monkeypatch.setattr(
                os,
                name,
                (lambda fn, name: lambda *a, **k: (faults.event(name), fn(*a, **k))[1])(fn, name),  # noqa: B023 (bound by the arguments)
            )


def _state(out: Path, reference: Path) -> str:
    """'none', 'all' or a failure description: every output absent or byte-identical."""
    present = []
    for name in TARGETS:
        p, ref = out / name, reference / name
        if not p.exists():
            continue
        if name == "run":
            assert sorted(x.name for x in p.iterdir()) == sorted(x.name for x in ref.iterdir()), name
            for f in ref.iterdir():
                if f.name != "metadata.json":
                    assert (p / f.name).read_bytes() == f.read_bytes(), f
        else:
            assert p.read_bytes() == ref.read_bytes(), f"{name} is partial or corrupt"
        present.append(name)
    if not present:
        return "none"
    assert len(present) == len(TARGETS), f"only {present} committed"
    return "all"


def kill_at(res, out: Path, k: int, monkeypatch) -> int:
    pid = os.fork()
    if pid == 0:  # child: die at the k-th event
        try:
            Faults(k, lambda kind: os.kill(os.getpid(), signal.SIGKILL)).install(monkeypatch)
            write_all(res, out)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


def test_kill_at_every_write_event_leaves_all_or_nothing_and_a_rerun_succeeds(result, tmp_path, monkeypatch):
    from kgalign.errors import OutputExistsError

    reference = tmp_path / "reference"
    reference.mkdir()
    write_all(result, reference)
    with monkeypatch.context() as m:  # count the events of one complete run
        counter = Faults(None, None)
        counter.install(m)
        probe = tmp_path / "probe"
        probe.mkdir()
        write_all(result, probe)
    n_events = counter.n
    assert n_events > 30 and counter.kinds.count("replace") >= len(TARGETS)
    points = fault_points(counter.kinds)
    outcomes = Counter()
    for k in points:
        out = tmp_path / f"k{k}"
        out.mkdir()
        status = kill_at(result, out, k, monkeypatch)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, k
        try:  # the rerun: finishes a journaled commit, sweeps temporaries, then writes
            write_all(result, out)
            outcomes["killed before commit; rerun wrote all"] += 1
        except OutputExistsError:
            outcomes["killed during commit; rerun completed it, outputs exist"] += 1
        assert _state(out, reference) == "all", k
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")], k
    print(dict(outcomes), "kills:", len(points), "of events:", n_events)
    assert sum(outcomes.values()) == len(points)
    assert outcomes["killed during commit; rerun completed it, outputs exist"] > 0


def test_disk_full_at_every_write_leaves_nothing_and_a_rerun_succeeds(result, tmp_path, monkeypatch):
    from kgalign.errors import OutputError

    def enospc(kind):
        if kind in ("write", "flush", "fsync"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as m:
        counter = Faults(None, None)
        counter.install(m)
        probe = tmp_path / "probe"
        probe.mkdir()
        write_all(result, probe)
    n = 0
    for k in fault_points(counter.kinds):
        out = tmp_path / f"d{k}"
        out.mkdir()
        with monkeypatch.context() as m:
            Faults(k, enospc).install(m)
            try:
                write_all(result, out)
                continue  # event k was a rename/unlink: no ENOSPC there
            except OutputError as exc:
                assert "No space left" in str(exc)
        n += 1
        assert list(out.iterdir()) == []  # nothing committed, no temporary left
        write_all(result, out)
    print("disk-full faults:", n)
    assert n > 10


def test_disk_full_on_a_tiny_tmpfs(result, tmp_path):
    from kgalign.errors import OutputError

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here")
    try:
        (mnt / "filler").write_bytes(b"\0" * 60_000)
        with pytest.raises(OutputError, match="No space left"):
            write_all(result, mnt)
        assert sorted(p.name for p in mnt.iterdir()) == ["filler"]
        (mnt / "filler").unlink()
        write_all(result, mnt)
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
