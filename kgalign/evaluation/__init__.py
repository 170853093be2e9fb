"""Benchmarks: evaluation protocols with a permutation self-check, and the DBP15K runner.

>>> from kgalign.evaluation import run_protocol, run_dbp15k      # doctest: +SKIP
"""

from __future__ import annotations

from kgalign.evaluation.dbp15k import PAIRS, download_dbp15k, markdown_table, run_dbp15k, verify_pair, write_outputs
from kgalign.evaluation.protocol import (
    PROTOCOLS,
    PermutationCheckError,
    present,
    run_once,
    run_protocol,
    subsample_pair,
)

__all__ = [
    "PAIRS",
    "PROTOCOLS",
    "PermutationCheckError",
    "present",
    "run_once",
    "run_protocol",
    "subsample_pair",
    "download_dbp15k",
    "markdown_table",
    "run_dbp15k",
    "verify_pair",
    "write_outputs",
]
