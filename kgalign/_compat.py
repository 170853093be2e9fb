"""Old module paths (before the layout by ownership, docs/ARCHITECTURE.md) as aliases of their new homes.

``import kgalign.finetune`` keeps working and gives the very module object
``kgalign.lm.finetune``; a :class:`DeprecationWarning` names the new path. Only the
import system is touched, lazily: nothing is imported until an old name is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old module path -> new module path (a package maps its submodules too)
MOVED: dict[str, str] = {
    "kgalign.pipeline": "kgalign.aligner.pipeline",
    "kgalign.translate": "kgalign.aligner.translate",
    "kgalign.encode": "kgalign.aligner.encode",
    "kgalign.cache": "kgalign.aligner.cache",
    "kgalign.views": "kgalign.aligner.views",
    "kgalign.similarity": "kgalign.aligner.similarity",
    "kgalign.selftrain": "kgalign.aligner.selftrain",
    "kgalign.dangling": "kgalign.aligner.dangling",
    "kgalign.readers": "kgalign.io.readers",
    "kgalign.writers": "kgalign.io.writers",
    "kgalign.oaei": "kgalign.io.oaei",
    "kgalign.evaluate": "kgalign.evaluation.metrics",
    "kgalign.benchmark": "kgalign.evaluation",
    "kgalign.plots": "kgalign.evaluation.plots",
    "kgalign.finetune": "kgalign.lm.finetune",
    "kgalign.probing": "kgalign.lm.probing",
}


def new_name(old: str) -> str | None:
    """The current path of module ``old`` (None when it did not move)."""
    for prefix in sorted(MOVED, key=len, reverse=True):
        if old == prefix or old.startswith(prefix + "."):
            return MOVED[prefix] + old[len(prefix) :]
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:  # already executed under its new name
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        new = new_name(fullname)
        if new is None:
            return None
        warnings.warn(
            f"{fullname} moved to {new}; the old path will be removed in a later release",
            DeprecationWarning,
            stacklevel=3,
        )
        spec = importlib.util.spec_from_loader(fullname, _AliasLoader(new))
        return spec


def install() -> None:
    """Register the alias finder once (called by ``kgalign/__init__``)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
