"""Merging a user's section of the configuration with its defaults (shared validation)."""

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
