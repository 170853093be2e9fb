"""The C++ core's one status vocabulary and its one mapping to exceptions (_status.check)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from kgalign.errors import InputError, SolverError
from kgalign.matching import _status
from kgalign.matching._status import Status, check

core = pytest.importorskip("kgalign._core")


def test_python_table_equals_the_cores():
    assert dict(core.STATUS) == {s.name: int(s) for s in Status}


@pytest.mark.parametrize(
    "code, exc",
    [
        (Status.INFEASIBLE, SolverError),
        (Status.INVALID_VALUE, InputError),
        (Status.INVALID_MATCHING, InputError),
        (Status.INVALID_ARGUMENT, SolverError),
        (Status.ITERATION_LIMIT, SolverError),
        (99, SolverError),
    ],
)
def test_each_status_maps_to_one_exception(code, exc):
    with pytest.raises(exc) as info:
        check((int(code), 7, None), "solver")
    assert "solver" in str(info.value)
    # InputError is a SolverError nowhere: the two families stay apart
    assert isinstance(info.value, InputError) != isinstance(info.value, SolverError)


def test_ok_returns_the_result_and_callbacks_word_the_message():
    sentinel = object()
    assert check((0, -1, sentinel), "x") is sentinel
    with pytest.raises(InputError, match="cell 5"):
        check((int(Status.INVALID_VALUE), 5, None), "x", invalid_value=lambda w: f"cell {w}")
    with pytest.raises(InputError, match="row 3"):
        check((int(Status.INVALID_MATCHING), 3, None), "x", invalid_matching=lambda w: f"row {w}")


def test_every_binding_returns_status_where_result():
    a = np.array([[1.0, 2.0], [3.0, 0.5]])
    c4r = np.array([0, 1], dtype=np.int32)
    S = sp.csr_matrix(a)
    parts = (2, 2, S.indptr.astype(np.int64), S.indices.astype(np.int32), S.data.astype(np.float64))
    replies = [
        core.lap_dense_f64(a, False, None, np.empty(2, np.int64)),
        core.lap_dense_f32(a.astype(np.float32), False, None, np.empty(2, np.int64)),
        core.auction_csr(*parts, np.zeros(2), 1e-6, 20.0, -1.0, -1, 1),
        core.refine_csr(*parts, None, c4r.copy(), -1, 1e-12),
        core.refine_dense_f64(a, None, c4r.copy(), -1, 1e-12),
        core.refine_dense_f32(a.astype(np.float32), None, c4r.copy(), -1, 1e-12),
        core.rank_csr(*parts, c4r, 2, np.empty(4, np.int64)),
        core.rank_dense_f64(a, c4r, 2, np.empty(4, np.int64)),
        core.rank_dense_f32(a.astype(np.float32), c4r, 2, np.empty(4, np.int64)),
        core.topk_rows_f32(a.astype(np.float32), 1, np.empty(2, np.int32), np.empty(2, np.float32), 1),
        core.topk_rows_f64(a, 1, np.empty(2, np.int32), np.empty(2, np.float64), 1),
        core.baseline_csr("greedy", *parts, np.empty(2, np.int32)),
        core.baseline_dense_f64("mutual", a, np.empty(2, np.int32)),
        core.baseline_dense_f32("greedy", a.astype(np.float32), np.empty(2, np.int32)),
    ]
    for r in replies:
        assert isinstance(r, tuple) and len(r) == 3
        assert r[0] == Status.OK and r[1] == -1


# ------------------------------------------------------------------ end to end, per status
def test_invalid_value_names_row_and_column():
    from kgalign.matching import linear_sum_assignment, topk_rows

    a = np.ones((3, 4))
    a[2, 1] = np.nan
    with pytest.raises(InputError, match=r"row 2 / column 1"):
        linear_sum_assignment(a)
    with pytest.raises(InputError, match=r"row 2 / column 1"):
        topk_rows(a, 2)
    assert core.lap_dense_f64(a, False, None, np.empty(3, np.int64))[:2] == (Status.INVALID_VALUE, 2 * 4 + 1)


def test_invalid_matching_names_the_row():
    from kgalign.matching import refine

    S = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]]))  # (0, 1) is not stored
    S.eliminate_zeros()
    with pytest.raises(InputError, match="row 0"):
        refine(S, [0, 1], [1, 0])
    x = np.array([0, 0], dtype=np.int32)  # column 0 used twice (bypassing Python's check)
    r = core.rank_dense_f64(np.eye(2), x, 1, np.empty(2, np.int64))
    assert r[:2] == (Status.INVALID_MATCHING, 1)


def test_iteration_limit_is_a_solver_error():
    from kgalign.matching import auction

    rng = np.random.default_rng(0)
    with pytest.raises(SolverError, match="iteration cap"):
        auction(rng.random((30, 30)), max_bids=3)


def test_invalid_argument_reports_the_position_and_is_a_solver_error():
    a = np.ones((2, 2))
    r = core.lap_dense_f64(a, False, None, np.empty(5, np.int64))  # out has the wrong size
    assert r[:2] == (Status.INVALID_ARGUMENT, 3)
    r = core.topk_rows_f64(a, 3, np.empty(6, np.int32), np.empty(6), 1)  # k > n_cols
    assert r[:2] == (Status.INVALID_ARGUMENT, 1)
    with pytest.raises(SolverError, match="argument 1"):
        check(r, "topk_rows")


def test_infeasible_maps_to_solver_error():
    # the dense solver adds per-row dummies, so INFEASIBLE is unreachable from valid input;
    # the mapping is still the one table's
    with pytest.raises(SolverError, match="no feasible assignment"):
        check((int(Status.INFEASIBLE), -1, None), "linear_sum_assignment")
    assert _status.Status.INFEASIBLE == core.STATUS["INFEASIBLE"]


def test_type_stub_lists_every_binding():
    import ast
    from pathlib import Path

    import kgalign

    stub = Path(kgalign.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    stubbed = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    bound = {n for n in dir(core) if callable(getattr(core, n)) and not n.startswith("_")}
    assert stubbed == bound
