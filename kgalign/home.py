"""kgalign's per-user home directory (embedding cache, downloaded datasets)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["kgalign_home"]


def kgalign_home() -> Path:
    """``$KGALIGN_HOME`` when set, else ``~/.cache/kgalign`` (not created here).

    Returns
    -------
    pathlib.Path
        Holds ``embeddings/`` (:mod:`kgalign.aligner.cache`) and ``datasets/``
        (:mod:`kgalign.datasets`).
    """
    home = os.environ.get("KGALIGN_HOME")
    return Path(home).expanduser() if home else Path("~/.cache/kgalign").expanduser()
