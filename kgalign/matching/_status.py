"""The one table that turns the C++ core's status codes into exceptions.

Every entry point of :mod:`kgalign._core` returns ``(status, where, result)`` (see
``csrc/bindings.cpp``); the codes are ``csrc/status.hpp``'s ``kgalign::Status``, each with one
meaning. :func:`check` is the only place that decodes them, in the manner of scipy's
``optimize/_lsap.py`` wrapping its C solver: the solver wrappers pass a callback that words an
:class:`~kgalign.errors.InputError` for the entity at ``where`` and get ``result`` back.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from kgalign.errors import InputError, SolverError

__all__ = ["Status", "check"]


class Status(enum.IntEnum):
    """Status codes of the C++ core (``csrc/status.hpp``; ``kgalign._core.STATUS``)."""

    #: success
    OK = 0
    #: no augmenting path although a row must be matched (defensive; SolverError)
    INFEASIBLE = 1
    #: NaN or an infinity of the forbidden sign; ``where`` = flat index of the first one
    INVALID_VALUE = 2
    #: the given matching is not one (column out of range or used twice, pair not stored);
    #: ``where`` = the row
    INVALID_MATCHING = 3
    #: arguments inconsistent with each other; ``where`` = 0-based argument position
    INVALID_ARGUMENT = 4
    #: the caller's iteration cap was reached before convergence
    ITERATION_LIMIT = 5


def check(
    reply,
    what: str,
    *,
    invalid_value: Callable[[int], str] | None = None,
    invalid_matching: Callable[[int], str] | None = None,
) -> Any:
    """Return the result of a core call or raise the exception its status stands for.

    Parameters
    ----------
    reply : tuple (int, int, object)
        ``(status, where, result)`` as returned by every :mod:`kgalign._core` function.
    what : str
        The public function's name, used in messages.
    invalid_value, invalid_matching : callable of int to str, optional
        Word the message for ``INVALID_VALUE`` / ``INVALID_MATCHING`` from ``where`` (naming
        the row and column or entity); defaults name the index.

    Returns
    -------
    object
        ``result`` when the status is ``OK``.

    Raises
    ------
    InputError
        ``INVALID_VALUE`` (a value the solver cannot use) or ``INVALID_MATCHING`` (the given
        matching is not one).
    SolverError
        ``INFEASIBLE``, ``ITERATION_LIMIT``, ``INVALID_ARGUMENT`` (a kgalign wrapper passed
        inconsistent arrays: a bug, reported as such) or a code this table does not know.
    """
    status, where, result = reply
    where = int(where)
    try:
        code = Status(int(status))
    except ValueError:
        raise SolverError(
            f"{what} failed: unknown status {status} from the C++ core (kgalign._core is out of date; rebuild it)"
        ) from None
    if code is Status.OK:
        return result
    if code is Status.INVALID_VALUE:
        raise InputError(
            invalid_value(where)
            if invalid_value
            else f"{what}: invalid value (NaN or forbidden infinity) at flat index {where}"
        )
    if code is Status.INVALID_MATCHING:
        raise InputError(
            invalid_matching(where)
            if invalid_matching
            else f"{what}: the matching of row {where} is invalid (column out of range or "
            "used twice, or a pair not stored in the matrix)"
        )
    if code is Status.INFEASIBLE:
        raise SolverError(f"{what} failed: no feasible assignment (no augmenting path left)")
    if code is Status.ITERATION_LIMIT:
        raise SolverError(f"{what} failed: iteration cap reached before convergence")
    raise SolverError(
        f"{what} failed: argument {where} of the C++ call is inconsistent with the "
        "others (internal error in kgalign.matching; please report it)"
    )
