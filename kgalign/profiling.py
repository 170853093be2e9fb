"""Wall time and peak resident memory per pipeline stage."""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (``getrusage``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


@dataclass
class StageTimer:
    """Collects ``{stage: {"seconds": float, "peak_rss_mb": float}}``.

    Use ``with timer.stage("encode"): ...``; a stage entered twice accumulates its seconds.
    ``peak_rss_mb`` is the process's peak RSS when the stage ended (a high-water mark, so it
    never decreases from one stage to the next).
    """

    stages: dict = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            entry = self.stages.setdefault(name, {"seconds": 0.0, "peak_rss_mb": 0.0})
            entry["seconds"] += time.perf_counter() - start
            entry["peak_rss_mb"] = max(entry["peak_rss_mb"], peak_rss_mb())

    def as_dict(self) -> dict:
        return {k: dict(v) for k, v in self.stages.items()}

    def summary(self) -> str:
        return ", ".join(f"{k} {v['seconds']:.2f}s" for k, v in self.stages.items())
