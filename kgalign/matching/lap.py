"""Dense linear sum assignment backed by the C++ core (Jonker-Volgenant + shortest paths)."""

from __future__ import annotations

import numpy as np

from kgalign.errors import InputError
from kgalign.matching._status import check
from kgalign.matching._validate import (
    as_array,
    assignment_arrays,
    check_names,
    core,
    name_pair,
    per_row,
)


def linear_sum_assignment(cost, maximize: bool = False, *, unmatched_cost=None, row_names=None, col_names=None):
    """Solve the (rectangular, partial) linear sum assignment problem exactly.

    Drop-in for :func:`scipy.optimize.linear_sum_assignment`, solved by the C++ core
    (Jonker-Volgenant initialisation and shortest augmenting paths) with the GIL released,
    plus forbidden cells that never make the problem fail and optional abstention.

    Parameters
    ----------
    cost : array_like, shape (n1, n2)
        Real costs (or similarities with ``maximize=True``); float32 is solved without a copy
        when minimising. ``+inf`` marks a forbidden pair when minimising, ``-inf`` when
        maximising.
    maximize : bool, default False
        Maximise the total instead of minimising it.
    unmatched_cost : float or array_like of shape (n1,), optional
        Cost (with ``maximize=True``: value) of leaving each row unmatched. A row is matched
        only when that beats abstaining in the optimum. Without it, the result is a
        maximum-cardinality matching of optimal total (a full matching of the smaller side
        when every cell is allowed, exactly scipy's answer).
    row_names, col_names : sequence of str, optional
        Entity names used in error messages.

    Returns
    -------
    rows, cols : ndarray of int64
        Matched pairs, ``rows`` ascending, like scipy.

    Raises
    ------
    InputError
        Not 2-D, not real numbers, a NaN (the message names the row and column), the
        forbidden infinity of the wrong sign, a non-finite ``unmatched_cost``.
    SolverError
        The C++ core reported a failure.

    Notes
    -----
    R. Jonker, A. Volgenant, Computing 38 (1987) 325-340; D. F. Crouse, IEEE TAES 52 (2016)
    1679-1696. Rows whose every cell is forbidden stay unmatched, e.g.
    ``[[1, inf], [2, inf]]`` gives the single pair (0, 0).
    """
    arr = as_array(cost, "cost matrix")
    if arr.ndim != 2:
        raise InputError(f"expected a matrix (2-D array), got a {arr.ndim}-D array")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise InputError(f"expected a matrix containing real numbers, got dtype {arr.dtype}")
    n1, n2 = arr.shape
    row_names = check_names(row_names, n1, "row_names")
    col_names = check_names(col_names, n2, "col_names")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    empty = np.empty(0, dtype=np.int64)
    unmatched = per_row(unmatched_cost, n1, "unmatched_cost")
    if arr.size == 0:
        return empty, empty.copy()
    arr = np.ascontiguousarray(arr)
    out = np.full(n1, -1, dtype=np.int64)
    solve = core().lap_dense_f32 if arr.dtype == np.float32 else core().lap_dense_f64

    def invalid_value(bad: int) -> str:
        i, j = divmod(bad, n2)
        value = arr[i, j]
        where = name_pair(i, j, row_names, col_names)
        if np.isnan(value):
            return f"cost matrix contains NaN at {where}"
        return (
            f"cost matrix contains {value} at {where}; only {-value} (forbidden pair) is allowed "
            f"when {'maximising' if maximize else 'minimising'}"
        )

    check(solve(arr, bool(maximize), unmatched, out), "linear_sum_assignment", invalid_value=invalid_value)
    return assignment_arrays(out)
