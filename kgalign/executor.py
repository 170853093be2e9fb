"""Executors: where the sharded stages run (this process, or a Ray cluster).

An :class:`Executor` maps a function over shards and returns the results in shard order. The
stages that shard their work (loading both graphs, chunked encoding
(:mod:`kgalign.aligner.chunked`), candidate search and block matching
(:mod:`kgalign.aligner.scale`)) take an ``executor=`` argument; each shard is a pure function
of its inputs, so every executor gives the same result as :class:`LocalExecutor` on the same
input and seed.

- :class:`LocalExecutor` (the default) runs the shards one after the other in this process.
- :class:`RayExecutor` runs them as Ray tasks (Moritz et al., "Ray: A Distributed Framework for
  Emerging AI Applications", OSDI 2018; optional extra ``pip install kgalign[ray]``): on this
  machine (``ray.init(num_cpus=...)``) or on a cluster (``address="ray://head:10001"`` or
  ``"auto"`` inside a cluster; see the README).

Large read-only inputs shared by every shard (the candidate-side embeddings, a faiss index)
are passed as ``shared`` arguments: Ray stores them once in its object store instead of once
per task.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "get_executor"]


class Executor:
    """Interface: run ``fn(shard, *shared)`` for every shard, results in shard order."""

    #: workers that run shards at the same time (used to size waves of shards)
    n_workers: int = 1
    name: str = "executor"

    def map(self, fn: Callable[..., Any], shards: Iterable[Any], *shared: Any) -> list[Any]:
        """``[fn(shard, *shared) for shard in shards]``, possibly in parallel.

        Parameters
        ----------
        fn : callable
            A module-level function (it is pickled for remote workers).
        shards : iterable
            One item per task.
        *shared
            Read-only arguments passed to every call (sent to each worker once).

        Returns
        -------
        list
            One result per shard, in shard order.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers (no-op for local execution)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalExecutor(Executor):
    """Run every shard in this process, in order (the default)."""

    name = "local"

    def map(self, fn, shards, *shared):
        return [fn(shard, *shared) for shard in shards]

    def __repr__(self) -> str:
        return "LocalExecutor()"


class RayExecutor(Executor):
    """Run shards as Ray tasks.

    Parameters
    ----------
    address : str, optional
        A running cluster: ``"auto"`` (on a cluster node), ``"ray://HEAD:10001"`` (Ray client)
        or ``"HEAD:6379"``. None starts (or joins) a local Ray instance on this machine.
    num_cpus : int, optional
        CPUs of a local instance (ignored with ``address``); default: all cores.
    cpus_per_task : float, default 1
        Ray resources each task asks for (tasks run ``num_cpus / cpus_per_task`` at a time).
    init_kwargs
        Further arguments of ``ray.init`` (e.g. ``runtime_env``).

    Raises
    ------
    KgalignError
        When ray is not installed.

    Notes
    -----
    When this object started Ray, :meth:`close` shuts it down; a Ray instance that was already
    running is left alone.
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, *, num_cpus: int | None = None, cpus_per_task: float = 1.0, **init_kwargs: Any
    ) -> None:
        try:
            import ray
        except ImportError as exc:
            from kgalign.errors import KgalignError

            raise KgalignError("the Ray executor needs the optional package ray (pip install kgalign[ray])") from exc
        self._ray = ray
        self._owns = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            kwargs.update(init_kwargs)
            if address is None and "runtime_env" not in kwargs:
                # local workers import this kgalign even when it is not installed (a source checkout)
                root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
                path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            if address is not None:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)
            self._owns = True
        self.cpus_per_task = float(cpus_per_task)
        cpus = ray.cluster_resources().get("CPU", 1.0)
        self.n_workers = max(1, int(cpus // self.cpus_per_task))
        self._remote: dict[Callable, Any] = {}

    def map(self, fn, shards, *shared):
        ray = self._ray
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = ray.remote(num_cpus=self.cpus_per_task)(fn)
        refs = [ray.put(x) for x in shared]  # stored once, passed by reference to every task
        futures = [remote.remote(shard, *refs) for shard in shards]
        return ray.get(futures)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False

    def __repr__(self) -> str:
        return f"RayExecutor(n_workers={self.n_workers})"


def get_executor(spec: str | Executor | None = None, **kwargs: Any) -> Executor:
    """An executor from a name: ``None``/``"local"``, ``"ray"`` (local Ray) or ``"ray://HOST:PORT"``.

    Raises
    ------
    InputError
        For another name.
    """
    if isinstance(spec, Executor):
        return spec
    if spec is None or spec == "local":
        return LocalExecutor()
    if spec == "ray":
        return RayExecutor(**kwargs)
    if isinstance(spec, str) and (spec.startswith("ray://") or spec == "auto"):
        return RayExecutor(address=spec, **kwargs)
    from kgalign.errors import InputError

    raise InputError(f"unknown executor {spec!r}; use local, ray, or ray://HOST:PORT")


def shard_ranges(n: int, size: int) -> Sequence[tuple[int, int]]:
    """``[(0, size), (size, 2 size), ..., (.., n)]``: the row ranges of shards of ``size`` rows."""
    size = max(1, int(size))
    return [(s, min(n, s + size)) for s in range(0, n, size)]
