"""Public datasets without a development checkout: a registry (published URLs, sha256,
licence, citation, layout), ``fetch`` into ``$KGALIGN_HOME/datasets`` and ``locate``.

``kgalign datasets list`` / ``kgalign datasets fetch NAME [--data-dir DIR] [--force]``.
This package imports only kgalign's base modules.
"""

from __future__ import annotations

from kgalign.datasets.fetch import ChecksumError, fetch, sha256_file
from kgalign.datasets.paths import ENV_DATA_DIR, DatasetNotFoundError, datasets_home, locate, search_roots
from kgalign.datasets.registry import DBP15K_FILES, REGISTRY, Dataset, Resource, get, names, register

__all__ = [
    "ChecksumError",
    "DBP15K_FILES",
    "Dataset",
    "DatasetNotFoundError",
    "ENV_DATA_DIR",
    "REGISTRY",
    "Resource",
    "datasets_home",
    "fetch",
    "get",
    "locate",
    "names",
    "register",
    "search_roots",
    "sha256_file",
]
