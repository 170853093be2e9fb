"""One version source, and the language-model toolkit as an extra (pyproject.toml)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _names(requirements) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_core_version_is_the_package_version():
    core = pytest.importorskip("kgalign._core")
    import kgalign
    from kgalign._version import __version__

    assert kgalign.__version__ == __version__
    assert core.__version__ == kgalign.__version__


def test_pyproject_reads_the_version_from_version_py():
    meta = _pyproject()
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    sk = meta["tool"]["scikit-build"]["metadata"]["version"]
    assert sk["provider"] == "scikit_build_core.metadata.regex"
    assert (ROOT / sk["input"]).resolve() == (ROOT / "kgalign" / "_version.py").resolve()
    # scikit-build-core's default regex must find the string
    text = (ROOT / sk["input"]).read_text(encoding="utf-8")
    assert re.search(r"""(?i)^(__version__|VERSION)(?: ?: ?str)? *= *(['"])v?(?P<value>.+?)\2""", text, re.M)


def test_plain_install_does_not_pull_adapters_and_lm_extra_does():
    meta = _pyproject()
    base = _names(meta["project"]["dependencies"])
    lm = meta["project"]["optional-dependencies"]["lm"]
    assert "adapters" not in base
    assert "adapters==1.3.0" in lm
    assert {"torch", "transformers", "sentence-transformers"} <= base
    # base ranges stay loose: no exact pins outside the extra
    assert not [r for r in meta["project"]["dependencies"] if "==" in r]


def test_makefile_installs_the_extras_the_test_suite_needs():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(r'-e "\.\[([^\]]+)\]"', text)
    assert m and {"test", "plots", "lm"} <= set(m.group(1).split(","))


def test_missing_adapters_names_the_extra(monkeypatch):
    from kgalign.errors import KgalignError
    from kgalign.lm._extra import require

    monkeypatch.setitem(sys.modules, "adapters", None)  # import adapters -> ImportError
    with pytest.raises(KgalignError, match=r"pip install 'kgalign\[lm\]'"):
        require("adapters")


def test_madx_fails_clearly_without_adapters(monkeypatch):
    pytest.importorskip("torch")
    from kgalign.errors import KgalignError
    from kgalign.lm.finetune import madx

    monkeypatch.setitem(sys.modules, "adapters", None)
    with pytest.raises(KgalignError, match=r"kgalign\[lm\]"):
        madx.init_adapters(object())
