"""Download a registered dataset: stream each resource (urllib, tqdm progress), verify its
sha256, unpack archives, and move the finished directory into place in one rename."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, cast

from kgalign.datasets.paths import datasets_home
from kgalign.datasets.registry import Dataset, Resource, get
from kgalign.errors import InputError, KgalignError, OutputExistsError

__all__ = ["ChecksumError", "fetch", "sha256_file"]

log = logging.getLogger(__name__)


class ChecksumError(KgalignError):
    """A download's sha256 differs from the registry's (nothing is kept)."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(url: str, out: Path, *, progress: bool, timeout: float) -> str:
    """Stream ``url`` into ``out``; return its sha256."""
    import urllib.error
    import urllib.request

    from tqdm.auto import tqdm

    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(out, "wb") as fh:  # noqa: S310
            total = resp.headers.get("Content-Length")
            with tqdm(
                total=int(total) if total else None,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=PurePosixPath(url).name[:40],
                disable=not progress,
                leave=False,
            ) as bar:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    fh.write(block)
                    h.update(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise KgalignError(f"cannot download {url}: {getattr(exc, 'reason', None) or exc}") from None
    return h.hexdigest()


def _member_target(name: str, r: Resource) -> str | None:
    """Where archive member ``name`` goes (relative to the resource's target), None to skip."""
    if name.endswith("/") or name in r.skip:
        return None
    for src, dst in r.rename:
        if name.startswith(src):
            return dst + name[len(src) :]
    return name


def _safe_join(base: Path, rel: str, archive: str) -> Path:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts:
        raise InputError(f"archive member {rel!r} would be written outside the dataset directory", archive)
    return base.joinpath(*p.parts)


def _unpack(blob: Path, base: Path, r: Resource, url: str) -> int:
    """Unpack a zip or tar archive into ``base``; return the number of files written."""
    import tarfile
    import zipfile

    n = 0
    if zipfile.is_zipfile(blob):
        with zipfile.ZipFile(blob) as z:
            for info in z.infolist():
                rel = _member_target(info.filename, r)
                if rel is None or info.is_dir():
                    continue
                out = _safe_join(base, rel, url)
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                n += 1
        return n
    if tarfile.is_tarfile(blob):
        with tarfile.open(blob) as t:
            for m in t.getmembers():
                if not m.isfile():
                    continue  # links and devices are never unpacked
                rel = _member_target(m.name, r)
                if rel is None:
                    continue
                out = _safe_join(base, rel, url)
                out.parent.mkdir(parents=True, exist_ok=True)
                # extractfile returns None only for non-regular members, skipped above
                with cast(IO[bytes], t.extractfile(m)) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                n += 1
        return n
    raise InputError("resource is marked as an archive but is neither zip nor tar", url)


def fetch(
    name: str | Dataset,
    data_dir: str | os.PathLike | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    timeout: float = 60.0,
    echo: Callable[[str], None] | None = None,
) -> Path:
    """Download, verify and unpack a registered dataset into ``DATA_DIR/NAME``.

    Parameters
    ----------
    name : str or Dataset
        Registry name (:func:`kgalign.datasets.names`) or a :class:`Dataset`.
    data_dir : str or PathLike, optional
        Datasets root; default ``$KGALIGN_HOME/datasets`` (``~/.cache/kgalign/datasets``).
    force : bool
        Replace an existing copy (the old one is removed only after the new one is complete).
    progress : bool
        tqdm progress bars.
    timeout : float
        Seconds per network operation.
    echo : callable, optional
        Receives one line per resource (URL, sha256, size); the CLI prints them.

    Returns
    -------
    pathlib.Path
        The dataset directory. An existing complete copy is returned as it is without
        ``force``.

    Raises
    ------
    ChecksumError
        A download's sha256 differs from the registry (message: URL, expected, got).
    OutputExistsError
        ``DATA_DIR/NAME`` exists but is not a complete copy, and ``force`` is false.
    KgalignError
        Network error, or the unpacked files lack the dataset's marker file.

    Notes
    -----
    Atomic: everything is downloaded, verified and unpacked in a temporary directory next
    to the target, which is then renamed into place; on any failure it is removed. A
    resource whose checksum is not yet known (``sha256=None``) is accepted and its sha256
    logged as a warning. Optional resources without URL are skipped with a note.
    """
    ds = get(name) if isinstance(name, str) else name
    say = echo or (lambda msg: None)
    dest = Path(data_dir).expanduser() if data_dir is not None else datasets_home()
    dest = dest / ds.name
    if dest.exists() and not force:
        if (dest / ds.marker).is_file():
            say(f"{ds.name}: already present in {dest} (use --force to download again)")
            return dest
        raise OutputExistsError(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{ds.name}.", suffix=".part", dir=dest.parent))
    except OSError as exc:
        raise KgalignError(f"cannot write under {dest.parent}: {exc.strerror or exc}") from None
    try:
        downloads = tmp / ".downloads"
        downloads.mkdir()
        for i, r in enumerate(ds.resources):
            if r.url is None:
                say(f"{ds.name}: {r.target} has no published direct link; skipped (optional, place it by hand)")
                continue
            blob = downloads / f"{i}-{PurePosixPath(r.url).name or 'resource'}"
            digest = _download(r.url, blob, progress=progress, timeout=timeout)
            size = blob.stat().st_size
            if r.sha256 is None:
                log.warning(
                    "%s: sha256 of %s is not yet known; accepted download has sha256 %s", ds.name, r.url, digest
                )
            elif digest != r.sha256.lower():
                raise ChecksumError(f"{r.url}: sha256 {digest} differs from the expected {r.sha256}; nothing was kept")
            say(
                f"{ds.name}: {r.url} ({size} bytes) sha256 {digest}"
                + (" (not yet known: unverified)" if r.sha256 is None else " verified")
            )
            if r.archive:
                base = _safe_join(tmp, r.target, r.url) if r.target else tmp
                _unpack(blob, base, r, r.url)
                blob.unlink()
            else:
                out = _safe_join(tmp, r.target, r.url)
                out.parent.mkdir(parents=True, exist_ok=True)
                os.replace(blob, out)
        shutil.rmtree(downloads)
        if not (tmp / ds.marker).is_file():
            raise KgalignError(f"{ds.name}: the downloaded files lack {ds.marker}; the registry entry is wrong")
        old = None
        if dest.exists():  # force: keep the old copy until the new one is in place
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
