"""Optional dependencies of the language-model toolkit (``pip install 'kgalign[lm]'``)."""

from __future__ import annotations

import importlib
from types import ModuleType

from kgalign.errors import KgalignError

__all__ = ["MissingExtraError", "require"]

#: importable module -> (distribution, extra that installs it)
_EXTRAS = {
    "adapters": ("adapters", "lm"),
}


class MissingExtraError(KgalignError, ImportError):
    """An optional dependency of a kgalign extra is not installed."""


def require(module: str) -> ModuleType:
    """Import ``module`` or raise a :class:`MissingExtraError` that names the extra to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"adapters"`` or ``"adapters.composition"``.

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingExtraError
        The module (or its top-level package) cannot be imported; the message names
        ``pip install 'kgalign[EXTRA]'``.
    """
    top = module.split(".", 1)[0]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        dist, extra = _EXTRAS.get(top, (top, "lm"))
        raise MissingExtraError(
            f"this needs the optional package {dist!r} ({exc}); install it with pip install 'kgalign[{extra}]'"
        ) from None
