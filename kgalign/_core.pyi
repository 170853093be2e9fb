"""Type stub of the C++ matching core ``kgalign._core`` (``csrc/bindings.cpp``).

Every function returns ``(status, where, result)``: ``status`` a code of
:class:`kgalign.matching._status.Status` (0 = OK), ``where`` the index it applies to (-1 when
none), ``result`` the function's own result or None when it only fills the ``out`` arrays.
Use :mod:`kgalign.matching`, which validates input and maps statuses to exceptions.
"""

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__version__: str
has_openmp: bool
STATUS: dict[str, int]

_F64 = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]
_I32 = npt.NDArray[np.int32]
_Reply = tuple[int, int, None]

def lap_dense_f64(cost: _F64, maximize: bool, unmatched: _F64 | None, out: _I64, max_work: int = -1) -> _Reply: ...
def lap_dense_f32(cost: _F32, maximize: bool, unmatched: _F64 | None, out: _I64, max_work: int = -1) -> _Reply: ...
def auction_csr(
    n_rows: int,
    n_cols: int,
    indptr: _I64,
    indices: _I32,
    data: _F64,
    unmatched: _F64 | None,
    eps_final: float,
    eps_factor: float,
    eps_start: float,
    max_bids: int,
    n_threads: int,
) -> tuple[int, int, dict[str, Any] | None]:
    """result: {"col4row": int32 (n_rows,), "prices": float64 (n_cols,), "primal", "dual", "eps": float,
    "n_bids", "n_reverse", "n_phases": int}; None unless status is OK."""

def refine_csr(
    n_rows: int,
    n_cols: int,
    indptr: _I64,
    indices: _I32,
    data: _F64,
    unmatched: _F64 | None,
    col4row: _I32,
    max_rounds: int,
    tol: float,
) -> tuple[int, int, int]:
    """result: the number of moves applied; col4row is updated in place."""

def refine_dense_f64(
    S: _F64, unmatched: _F64 | None, col4row: _I32, max_rounds: int, tol: float
) -> tuple[int, int, int]: ...
def refine_dense_f32(
    S: _F32, unmatched: _F64 | None, col4row: _I32, max_rounds: int, tol: float
) -> tuple[int, int, int]: ...
def rank_csr(
    n_rows: int, n_cols: int, indptr: _I64, indices: _I32, data: _F64, col4row: _I32, k: int, out: _I64
) -> _Reply: ...
def rank_dense_f64(S: _F64, col4row: _I32, k: int, out: _I64) -> _Reply: ...
def rank_dense_f32(S: _F32, col4row: _I32, k: int, out: _I64) -> _Reply: ...
def topk_rows_f32(a: _F32, k: int, cols: _I32, vals: _F32, n_threads: int, by_column: bool = False) -> _Reply: ...
def topk_rows_f64(a: _F64, k: int, cols: _I32, vals: _F64, n_threads: int, by_column: bool = False) -> _Reply: ...
def topk_cols_update_f32(
    block: _F32, row_offset: int, k: int, vals: _F32, rows: _I64, size: _I64, thr: _F32, n_threads: int
) -> _Reply: ...
def topk_cols_update_f64(
    block: _F64, row_offset: int, k: int, vals: _F64, rows: _I64, size: _I64, thr: _F64, n_threads: int
) -> _Reply: ...
def topk_cols_finish_f32(k: int, vals: _F32, rows: _I64, size: _I64, rows_out: _I64, vals_out: _F32) -> _Reply: ...
def topk_cols_finish_f64(k: int, vals: _F64, rows: _I64, size: _I64, rows_out: _I64, vals_out: _F64) -> _Reply: ...
def baseline_csr(
    which: Literal["greedy", "mutual"], n_rows: int, n_cols: int, indptr: _I64, indices: _I32, data: _F64, out: _I32
) -> _Reply: ...
def baseline_dense_f64(which: Literal["greedy", "mutual"], S: _F64, out: _I32) -> _Reply: ...
def baseline_dense_f32(which: Literal["greedy", "mutual"], S: _F32, out: _I32) -> _Reply: ...
