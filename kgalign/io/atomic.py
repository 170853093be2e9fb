"""Atomic file output: a file appears complete or not at all, and is never replaced silently.

Every file kgalign writes (alignments, candidates, metrics, benchmark records, embedding-cache
chunks) goes through :func:`atomic_write`: the data goes to a temporary file in the target's
folder, is flushed and fsync'ed, and is moved into place with :func:`os.replace` (atomic on
POSIX and Windows within one file system). An existing file is replaced only with ``force``.

This module imports only the standard library and :mod:`kgalign.errors`, so that any layer
(and every format module of :mod:`kgalign.io`) may use it.
"""

from __future__ import annotations

import contextvars
import errno
import json
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from kgalign.errors import OutputError, OutputExistsError

__all__ = [
    "atomic_write",
    "check_target",
    "check_writable",
    "commit_together",
    "stage_step",
    "written_directly",
    "dump_json",
    "json_default",
    "sweep_stale",
]


#: Errors of the device or file system while writing: reported as OutputError, never raw.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM}
_TMP_TAG = ".kgalign-"
_staged: contextvars.ContextVar[list | None] = contextvars.ContextVar("kgalign_staged_outputs", default=None)


def check_target(path: str | os.PathLike, *, force: bool = False, inputs=()) -> None:
    """Check that ``path`` may be (re)placed by an output file, before anything is written.

    kgalign only ever creates or replaces *regular files*: a symbolic link, a FIFO, a device,
    a socket or a folder at ``path`` is refused even with ``force`` (``-o /dev/null --force``
    must not replace the system's ``/dev/null``), and so is any file among ``inputs`` (an
    output must never overwrite the graph it was computed from).

    Parameters
    ----------
    path : str or os.PathLike
    force : bool
        Allow replacing an existing regular file.
    inputs : iterable of str or os.PathLike
        Input files or folders of the run; ``path`` may be none of them nor lie inside a folder
        among them.

    Raises
    ------
    OutputExistsError
        ``path`` is an existing regular file and ``force`` is False.
    OutputError
        ``path`` is not a regular file, or is (inside) an input.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    for inp in inputs:
        if inp is None:
            continue
        inp = Path(inp)
        try:
            same = (
                st is not None
                and inp.exists()
                and (os.path.samefile(path, inp) or (inp.is_dir() and path.resolve().is_relative_to(inp.resolve())))
            )
            inside = st is None and inp.is_dir() and path.resolve().is_relative_to(inp.resolve())
        except OSError:
            same = inside = False
        if same or inside:
            raise OutputError(f"refusing to write {path}: it is (inside) the input {inp}; choose another output path")
    if st is None:
        return
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(
            f"refusing to replace {path}: it is a symbolic link (kgalign replaces only regular "
            f"files; name the link's target, {os.path.realpath(path)}, to replace that file)"
        )
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a folder"
            if stat.S_ISDIR(st.st_mode)
            else "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        raise OutputError(f"refusing to replace {path}: it is {kind}, not a regular file (even with --force)")
    if not force:
        raise OutputExistsError(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_stale(path: str | os.PathLike) -> int:
    """Remove temporary files that a killed kgalign process left next to ``path``.

    Temporary files are named ``.<name>.kgalign-<pid>.<random>.tmp``; one whose process no
    longer runs is removed. Returns the number removed.
    """
    path = Path(path)
    n = 0
    try:
        names = os.listdir(path.parent) if path.parent.is_dir() else []
    except OSError:
        return 0
    for name in names:  # first finish the commits that a killed run had started
        if name.startswith(_JOURNAL) and name.endswith(".json.part"):
            pid = name[len(_JOURNAL) : -len(".json.part")]
            if pid.isdigit() and not _pid_alive(int(pid)):
                try:
                    os.unlink(path.parent / name)
                except OSError:
                    pass
        elif name.startswith(_JOURNAL) and name.endswith(".json"):
            pid = name[len(_JOURNAL) : -len(".json")]
            if pid.isdigit() and not _pid_alive(int(pid)):
                _roll_forward(path.parent / name)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return 0
    prefix = f".{path.name}{_TMP_TAG}"
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            pid = name[len(prefix) :].split(".", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                try:
                    p = path.parent / name
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else os.unlink(p)
                    n += 1
                except OSError:
                    pass
    return n


_JOURNAL = ".kgalign-commit-"


def _roll_forward(journal: Path) -> None:
    """Complete the moves listed in a commit journal of a killed process, then drop it.

    Every temporary file named there was complete (written, fsync'ed) before the journal was
    written, so finishing the moves gives exactly the outputs of that run.
    """
    try:
        steps = json.loads(journal.read_text(encoding="utf-8"))["steps"]
    except (OSError, ValueError, KeyError):
        steps = []  # an unfinished journal: the commit had not begun, the temporaries are swept
    for tmp, target in steps:
        tmp, target = Path(tmp), Path(target)
        try:
            if tmp.is_dir() and not tmp.is_symlink():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(tmp, target)
            elif tmp.exists():
                os.replace(tmp, target)
        except OSError:
            pass
    for copy in json.loads(journal.read_text(encoding="utf-8")).get("copies", [journal]) if steps else [journal]:
        try:
            os.unlink(copy)
        except OSError:
            pass


def _write_journal(staged) -> list[Path]:
    """Write the commit journal into every target folder (fsync'ed); returns the copies."""
    folders = list(dict.fromkeys(step.path.resolve().parent for step in staged))
    copies = [f / f"{_JOURNAL}{os.getpid()}.json" for f in folders]
    data = json.dumps(
        {
            "steps": [[os.fspath(Path(step.tmp).resolve()), os.fspath(step.path.resolve())] for step in staged],
            "copies": [os.fspath(c) for c in copies],
        }
    )
    for c in copies:
        part = c.with_name(c.name + ".part")
        with open(part, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, c)
    return copies


def temp_name(path: Path) -> str:
    """Prefix of the temporary files of ``path`` (see :func:`sweep_stale`)."""
    return f".{path.name}{_TMP_TAG}{os.getpid()}."


class _Step:
    __slots__ = ("path", "force", "commit", "abort", "check", "tmp")

    def __init__(self, path, force, commit, abort, check, tmp):
        self.path, self.force, self.commit, self.abort, self.tmp = Path(path), force, commit, abort, tmp
        self.check = check or (lambda: check_target(path, force=force))


def stage_step(path: Path, force: bool, commit, abort, check=None, tmp=None) -> bool:
    """Register an output with the open :func:`commit_together` block; False when none is open.

    ``commit()`` moves it into place, ``abort()`` removes its temporary copy, ``check()``
    (default :func:`check_target`) runs for every output before any is committed; ``tmp`` is
    the complete temporary file or folder that ``commit()`` moves to ``path`` (for the journal).
    """
    staged = _staged.get()
    if staged is None:
        return False
    staged.append(_Step(path, force, commit, abort, check, tmp))
    return True


@contextmanager
def commit_together():
    """Commit every output written inside the block together, or none of them.

    Inside the block :func:`atomic_write` (and :meth:`AlignmentResult.save`) write complete
    temporary files but do not move them into place. When the block ends without an error,
    every target is checked again (:func:`check_target`), then all are moved into place in
    one go with SIGINT/SIGTERM held back, after a journal of the moves is written (fsync'ed)
    next to them; when it raises (or a check fails), every temporary file is removed and no
    target is touched. A process killed (SIGKILL, power loss) before the journal leaves only
    hidden temporary files, which the next run removes; one killed during the moves leaves the
    journal, and the next run finishes the moves first (:func:`sweep_stale`), so the outputs
    of a run are all there or none.
    """
    staged: list[_Step] = []
    token = _staged.set(staged)
    try:
        yield
    except BaseException:
        _staged.reset(token)
        for step in staged:
            step.abort()
        raise
    _staged.reset(token)
    try:
        for step in staged:
            step.check()
    except BaseException:
        for step in staged:
            step.abort()
        raise
    blocked = _block_signals()
    try:
        try:
            journal = _write_journal(staged) if len(staged) > 1 and all(st.tmp for st in staged) else []
        except BaseException as exc:
            for step in staged:
                step.abort()
            for f in {step.path.resolve().parent for step in staged}:
                for name in (f"{_JOURNAL}{os.getpid()}.json", f"{_JOURNAL}{os.getpid()}.json.part"):
                    try:
                        os.unlink(f / name)
                    except OSError:
                        pass
            if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
                raise OutputError(
                    f"cannot write {staged[0].path.parent}: {exc.strerror or exc}; nothing was written"
                ) from None
            raise
        done = 0
        try:
            for step in staged:
                step.commit()
                done += 1
        except BaseException:
            for step in staged[done:]:
                step.abort()
            raise
        finally:
            for c in journal:
                try:
                    os.unlink(c)
                except OSError:
                    pass
    finally:
        _unblock_signals(blocked)


@contextmanager
def written_directly():
    """Inside :func:`commit_together`, write without staging (files inside a staged folder)."""
    token = _staged.set(None)
    try:
        yield
    finally:
        _staged.reset(token)


def _block_signals():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def _unblock_signals(old) -> None:
    if old is not None:
        import signal

        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def atomic_write(path: str | os.PathLike, *, force: bool = False, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary file next to ``path`` and move it into place on success.

    Inside a :func:`commit_together` block the complete file is only staged; the block moves
    it into place together with the run's other outputs.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create; missing parent folders are created.
    force : bool
        Replace an existing regular file (never a link, FIFO, device or folder:
        :func:`check_target`).
    mode : {"w", "wb"}
        Text (newlines written as given, ``newline=""``) or binary.
    encoding : str or None
        Text encoding (ignored in binary mode).

    Yields
    ------
    file object
        The open temporary file. If the ``with`` block raises, the temporary file is removed
        and ``path`` is left as it was.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``force`` is false (checked before anything is written).
    OutputError
        When ``path`` is not a regular file, or the folder cannot be created or written
        (disk full, read-only, ...).
    """
    path = Path(path)
    sweep_stale(path)  # first finish or clear what a killed run left here
    check_target(path, force=force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_name(path), suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    # mkstemp creates 0600; give the file the permissions a plain open() would (0666 & ~umask)
    umask = os.umask(0)
    os.umask(umask)

    def abort() -> None:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass

    try:
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(
            fd, mode, encoding=encoding if "b" not in mode else None, newline="" if "b" not in mode else None
        ) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if not stage_step(path, force, lambda: os.replace(tmp, path), abort, tmp=tmp):
            check_target(path, force=force)
            os.replace(tmp, path)
    except OSError as exc:
        abort()
        if exc.errno in _WRITE_ERRNOS and not isinstance(exc, OutputError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}; nothing was written") from None
        raise
    except BaseException:
        abort()
        raise


def json_default(o):
    """``json.dump(default=...)`` for numpy scalars and arrays and paths.

    Raises
    ------
    TypeError
        For any other type (as ``json`` itself does).
    """
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    if type(o).__module__ == "numpy":  # numpy is imported only when a numpy object comes
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dump_json(path: str | os.PathLike, obj, *, force: bool = False) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` through :func:`atomic_write`.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``force`` is False.
    """
    with atomic_write(path, force=force) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1, default=json_default)
        fh.write("\n")


def check_writable(path: str | os.PathLike, *, force: bool = False, inputs=(), create_parents: bool = False) -> None:
    """Fail early when ``path`` may not be written: the command line's check before any work.

    Parameters
    ----------
    path : str or os.PathLike
    force : bool
        Allow replacing an existing regular file.
    inputs : iterable of path
        The run's input files and folders (see :func:`check_target`).
    create_parents : bool
        Accept a missing folder (it will be created). False (the command line): a missing
        folder is an error, so that a typo in a folder name does not silently create one.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``force`` is False.
    OutputError
        ``path`` is not a regular file or is an input; its folder is missing (unless
        ``create_parents``), not a folder, or a file cannot be created there.
    """
    path = Path(path)
    sweep_stale(path)
    check_target(path, force=force, inputs=inputs)
    parent = path.parent
    if not create_parents and not parent.exists():
        raise OutputError(f"cannot write {path}: the folder {parent} does not exist (create it first)")
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is not a folder")
    try:  # the real test: can a file be created there (permissions, read-only or special fs)?
        fd, probe = tempfile.mkstemp(prefix=".kgalign-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
