"""Where a dataset is found: an explicit directory, ``$KGALIGN_DATA_DIR``,
``$KGALIGN_HOME/datasets`` and, last, a development checkout's ``../shared/datasets``."""

from __future__ import annotations

import os
from pathlib import Path

from kgalign.datasets.registry import Dataset, get
from kgalign.errors import InputError
from kgalign.home import kgalign_home

__all__ = ["ENV_DATA_DIR", "DatasetNotFoundError", "datasets_home", "search_roots", "locate", "find_in"]

#: environment variable naming a datasets root (tried after an explicit directory)
ENV_DATA_DIR = "KGALIGN_DATA_DIR"


class DatasetNotFoundError(InputError):
    """A dataset is not on disk; the message says how to fetch it."""


def datasets_home() -> Path:
    """``$KGALIGN_HOME/datasets`` (default ``~/.cache/kgalign/datasets``), where ``fetch`` writes."""
    return kgalign_home() / "datasets"


def _checkout_shared() -> Path | None:
    """``<checkout>/../shared/datasets`` when kgalign runs from a development checkout."""
    root = Path(__file__).resolve().parents[2]
    if not ((root / "pyproject.toml").is_file() and (root / "csrc").is_dir()):
        return None  # an installed package: no checkout around it
    shared = root.parent / "shared" / "datasets"
    return shared if shared.is_dir() else None


def search_roots() -> list[tuple[str, Path]]:
    """The datasets roots tried without an explicit directory, in order, with their origin."""
    roots = []
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        roots.append((ENV_DATA_DIR, Path(env).expanduser()))
    roots.append(("$KGALIGN_HOME/datasets", datasets_home()))
    shared = _checkout_shared()
    if shared is not None:
        roots.append(("development checkout", shared))
    return roots


def find_in(dataset: Dataset, root: Path, *, itself: bool = False) -> Path | None:
    """``root/NAME`` or ``root/ALIAS`` (or ``root`` itself when ``itself``) holding the marker."""
    cands = [root / dataset.name] + [root / a for a in dataset.aliases] + ([root] if itself else [])
    for c in cands:
        if (c / dataset.marker).is_file():
            return c
    return None


def locate(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The directory of dataset ``name`` on disk.

    Parameters
    ----------
    name : str
        Registry name (``kgalign datasets list``), e.g. ``"dbp15k-fr_en"``.
    data_dir : str or PathLike, optional
        Explicit location: a datasets root holding ``NAME/`` (or an alias such as ``fr_en/``)
        or the dataset directory itself. When given, nothing else is tried.

    Returns
    -------
    pathlib.Path
        A directory holding the dataset's marker file. Without ``data_dir`` the order is
        ``$KGALIGN_DATA_DIR``, ``$KGALIGN_HOME/datasets`` and, for a development checkout
        only, ``../shared/datasets`` beside the repository.

    Raises
    ------
    DatasetNotFoundError
        Not found; the message lists where it looked and says ``kgalign datasets fetch NAME``.
    InputError
        Unknown name.
    """
    ds = get(name)
    hint = f"download it with: kgalign datasets fetch {name}"
    if data_dir is not None:
        found = find_in(ds, Path(data_dir).expanduser(), itself=True)
        if found is None:
            raise DatasetNotFoundError(
                f"dataset {name!r} not found under {data_dir} (no {ds.marker}); {hint} --data-dir {data_dir}"
            )
        return found
    looked = []
    for origin, root in search_roots():
        found = find_in(ds, root)
        if found is not None:
            return found
        looked.append(f"{root} ({origin})")
    raise DatasetNotFoundError(f"dataset {name!r} not found (looked in {'; '.join(looked)}); {hint}")
