"""The dataset registry: file:// downloads over ../shared/datasets, checksums, atomicity,
resolution order, and clear errors when data is missing (no test touches the network)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import DATASETS, need

from kgalign import datasets as kd
from kgalign.datasets import paths as kpaths
from kgalign.datasets.registry import REGISTRY, Dataset, Resource

FR_EN = DATASETS / "dbp15k" / "fr_en"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry, so test entries never leak."""
    monkeypatch.setattr("kgalign.datasets.registry.REGISTRY", dict(REGISTRY))
    from kgalign.datasets import registry as reg

    return reg.REGISTRY


@pytest.fixture
def no_checkout(monkeypatch):
    monkeypatch.setattr(kpaths, "_checkout_shared", lambda: None)
    monkeypatch.delenv(kd.ENV_DATA_DIR, raising=False)


def small_tarball(tmp_path: Path) -> Path:
    """A tar.gz of a small subset of DBP15K fr_en, members under a top folder 'fr_en/'."""
    need(FR_EN)
    tgz = tmp_path / "subset.tar.gz"
    with tarfile.open(tgz, "w:gz") as t:
        for name in ("ent_ids_1", "ref_ent_ids"):
            t.add(FR_EN / name, arcname=f"fr_en/{name}")
    return tgz


def test_archive_fetch_is_verified_and_unpacked(tmp_path, registry):
    tgz = small_tarball(tmp_path)
    kd.register(
        Dataset(
            "subset",
            "t",
            "l",
            "c",
            "h",
            "layout",
            (Resource(tgz.as_uri(), "", sha(tgz), archive=True, rename=(("fr_en/", ""),)),),
            marker="ent_ids_1",
        )
    )
    lines = []
    out = kd.fetch("subset", tmp_path / "data", progress=False, echo=lines.append)
    assert out == tmp_path / "data" / "subset"
    for name in ("ent_ids_1", "ref_ent_ids"):
        assert (out / name).read_bytes() == (FR_EN / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["subset"]  # no temp left
    assert any(sha(tgz) in line and "verified" in line for line in lines)


def test_checksum_mismatch_keeps_nothing(tmp_path, registry):
    tgz = small_tarball(tmp_path)
    wrong = hashlib.sha256(b"something else").hexdigest()
    kd.register(
        Dataset(
            "subset",
            "t",
            "l",
            "c",
            "h",
            "layout",
            (Resource(tgz.as_uri(), "", wrong, archive=True),),
            marker="fr_en/ent_ids_1",
        )
    )
    with pytest.raises(kd.ChecksumError, match=sha(tgz)):
        kd.fetch("subset", tmp_path / "data", progress=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_unknown_checksum_is_accepted_with_its_sha256_logged(tmp_path, registry, caplog):
    src = need(FR_EN / "ref_ent_ids")
    kd.register(
        Dataset(
            "links", "t", "l", "c", "h", "layout", (Resource(src.as_uri(), "ref_ent_ids", None),), marker="ref_ent_ids"
        )
    )
    with caplog.at_level(logging.WARNING, logger="kgalign.datasets.fetch"):
        out = kd.fetch("links", tmp_path, progress=False)
    assert (out / "ref_ent_ids").read_bytes() == src.read_bytes()
    assert sha(src) in caplog.text and "not yet known" in caplog.text


def test_existing_copy_is_kept_without_force_and_replaced_with_it(tmp_path, registry):
    src = need(FR_EN / "ref_ent_ids")
    kd.register(
        Dataset(
            "links",
            "t",
            "l",
            "c",
            "h",
            "layout",
            (Resource(src.as_uri(), "ref_ent_ids", sha(src)),),
            marker="ref_ent_ids",
        )
    )
    out = kd.fetch("links", tmp_path, progress=False)
    (out / "ref_ent_ids").write_text("edited\n")
    assert kd.fetch("links", tmp_path, progress=False) == out
    assert (out / "ref_ent_ids").read_text() == "edited\n"
    kd.fetch("links", tmp_path, progress=False, force=True)
    assert (out / "ref_ent_ids").read_bytes() == src.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["links"]
    # a directory that is not a complete copy is never overwritten silently
    (tmp_path / "links2").mkdir()
    kd.register(dataclasses.replace(kd.get("links"), name="links2"))
    from kgalign.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        kd.fetch("links2", tmp_path, progress=False)


def test_archive_member_outside_the_directory_is_refused(tmp_path, registry):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../escape.txt", "x")
        zf.writestr("ok.txt", "y")
    kd.register(
        Dataset(
            "evil", "t", "l", "c", "h", "layout", (Resource(z.as_uri(), "", sha(z), archive=True),), marker="ok.txt"
        )
    )
    from kgalign.errors import InputError

    with pytest.raises(InputError, match="outside"):
        kd.fetch("evil", tmp_path / "data", progress=False)
    assert not (tmp_path / "escape.txt").exists() and list((tmp_path / "data").iterdir()) == []


@pytest.mark.parametrize("name, source", [("silknow", DATASETS / "silknow"), ("dbp15k-fr_en", FR_EN)])
def test_registry_checksums_match_the_reference_copies(tmp_path, registry, name, source):
    """The real entries, with their URLs pointed at the reference copies (file://): every
    published checksum must verify, and the result must have the registered layout."""
    need(source)
    ds = kd.get(name)
    local = tuple(dataclasses.replace(r, url=(source / r.target).as_uri()) if r.url else r for r in ds.resources)
    kd.register(dataclasses.replace(ds, resources=local), replace=True)
    out = kd.fetch(name, tmp_path, progress=False)
    assert (out / ds.marker).is_file()
    for r in ds.resources:
        if r.url:
            assert sha(out / r.target) == r.sha256
    assert kd.locate(name, tmp_path) == out


def test_multifarm_layout_matches_the_reference_copy():
    ds = kd.get("multifarm-dev")
    root = need(DATASETS / "multifarm")
    assert (root / ds.marker).is_file()
    pairs = sorted(p.name for p in (root / "ref").iterdir())
    assert pairs == sorted(r.rename[1][1].split("/")[1] for r in ds.resources)


def test_resolution_order(tmp_path, monkeypatch, no_checkout):
    need(FR_EN)
    name = "dbp15k-fr_en"

    def make(root: Path) -> Path:
        d = root / name
        d.mkdir(parents=True)
        (d / "ent_ids_1").write_text("0\tx\n")
        return d

    home = kd.datasets_home()
    with pytest.raises(kd.DatasetNotFoundError, match=r"kgalign datasets fetch dbp15k-fr_en"):
        kd.locate(name)
    in_home = make(home)
    assert kd.locate(name) == in_home
    in_env = make(tmp_path / "env")
    monkeypatch.setenv(kd.ENV_DATA_DIR, str(tmp_path / "env"))
    assert kd.locate(name) == in_env
    explicit = make(tmp_path / "explicit")
    assert kd.locate(name, tmp_path / "explicit") == explicit
    assert kd.locate(name, explicit) == explicit  # the dataset directory itself
    with pytest.raises(kd.DatasetNotFoundError, match="--data-dir"):
        kd.locate(name, tmp_path / "nowhere")  # explicit: nothing else is tried


def test_checkout_fallback_is_last(monkeypatch):
    monkeypatch.delenv(kd.ENV_DATA_DIR, raising=False)
    roots = [origin for origin, _ in kd.search_roots()]
    assert roots[0] == "$KGALIGN_HOME/datasets"
    if len(roots) > 1:
        assert roots[-1] == "development checkout"


def test_benchmark_and_demo_say_how_to_fetch_when_data_is_missing(tmp_path, no_checkout):
    from kgalign.cli import main
    from kgalign.evaluation.dbp15k import run_dbp15k
    from kgalign.lm.probing.demo import pair_dir

    with pytest.raises(kd.DatasetNotFoundError, match=r"kgalign datasets fetch dbp15k-fr_en"):
        run_dbp15k(pairs=["fr_en"], protocols=["closed"], isolate=False)
    with pytest.raises(kd.DatasetNotFoundError, match=r"kgalign datasets fetch dbp15k-ja_en"):
        pair_dir("ja_en")
    rc = main(["benchmark", "dbp15k", "--pair", "zh_en", "--output-dir", str(tmp_path / "out"), "--no-isolate"])
    assert rc == 2


def test_cli_list_and_fetch(tmp_path, registry, capsys):
    from kgalign.cli import main

    assert main(["datasets", "list"]) == 0
    listed = capsys.readouterr().out
    for name in ("dbp15k-zh_en", "dbp15k-ja_en", "dbp15k-fr_en", "silknow", "multifarm-dev"):
        assert name in listed
    src = need(FR_EN / "ref_ent_ids")
    kd.register(
        Dataset(
            "links",
            "t",
            "l",
            "c",
            "h",
            "layout",
            (Resource(src.as_uri(), "ref_ent_ids", sha(src)),),
            marker="ref_ent_ids",
        )
    )
    assert main(["datasets", "fetch", "links", "--data-dir", str(tmp_path), "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "links")
    assert main(["datasets", "fetch", "no-such-dataset"]) == 2
    assert "unknown dataset" in capsys.readouterr().err


def test_datasets_imports_only_base_modules():
    code = (
        "import sys, kgalign.datasets; "
        "print(sorted(m for m in sys.modules if m.startswith('kgalign.') and not m.startswith('kgalign.datasets')))"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True).stdout
    loaded = set(eval(out))  # noqa: S307 - our own printed list
    assert loaded <= {"kgalign._version", "kgalign._lazy", "kgalign._compat", "kgalign.errors", "kgalign.home"}
