"""Shared validation of user values: configuration sections merged with their defaults, counts."""

from __future__ import annotations

from kgalign.errors import InputError


def merge_options(section: str, given, defaults: dict) -> dict:
    """``defaults`` updated with ``given``, refusing what is not a mapping of known keys.

    Parameters
    ----------
    section : str
        Name of the configuration section, used in messages (``"similarity"``).
    given : dict or None
        The user's settings (None: the defaults).
    defaults : dict
        Every known key with its default value.

    Returns
    -------
    dict
        A new dict.

    Raises
    ------
    InputError
        ``given`` is not a mapping, or has a key that ``defaults`` lacks (the message lists the
        known keys).
    """
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise InputError(f"{section} must be a mapping of options, got {given!r}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise InputError(f"unknown {section} option(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(defaults))}")
    return {**defaults, **given}


def as_int(value, what: str, *, minimum: int | None = None) -> int:
    """``value`` as an ``int``, refusing what is not a whole number.

    Integral numbers (``int``, numpy integers) and integral reals (``3.0``) are accepted, as
    ``range`` and scipy accept ``operator.index``-like counts; ``True``/``False`` are refused.

    Parameters
    ----------
    value : object
        The user's value.
    what : str
        Its name in messages (``"k"``).
    minimum : int, optional
        Smallest allowed value.

    Returns
    -------
    int

    Raises
    ------
    InputError
        ``value`` is a bool, not a real number, not whole, or below ``minimum``.
    """
    import numbers

    whole = isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and float(value).is_integer())
    if isinstance(value, bool) or not whole:
        raise InputError(f"{what} must be an integer, got {value!r}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise InputError(f"{what} must be >= {minimum}, got {out}")
    return out
