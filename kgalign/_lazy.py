"""Lazy re-exports: a package names its public objects without importing heavy modules."""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, table: dict[str, str]):
    """``(__getattr__, __dir__)`` for a package whose public names live in submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    table : dict of str to str
        Public name -> module that defines it; the module is imported on first access and the
        value cached in the package namespace.
    """
    names = sorted(table)

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return names

    return __getattr__, __dir__
