"""Is a Hugging Face model at hand? Answered in seconds, before any graph is loaded.

Loading a model that is neither a local folder nor in the Hugging Face cache, with the hub
unreachable, makes ``transformers`` / ``sentence-transformers`` retry for a minute or more
before failing. :func:`ensure_available` answers first, from the local cache
(``huggingface_hub.try_to_load_from_cache``, no network) and, when the model is not cached,
one TCP connection to the hub endpoint bounded by a timeout (none at all when
``HF_HUB_OFFLINE`` is set).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

from kgalign.errors import InputError

__all__ = ["is_cached", "hub_reachable", "ensure_available"]

log = logging.getLogger(__name__)

#: Files one of which every transformers / sentence-transformers model repository holds.
_MARKERS = ("config.json", "modules.json", "config_sentence_transformers.json")


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def is_cached(model_id: str) -> bool:
    """True when ``model_id`` is a local folder or a repository in the Hugging Face cache.

    Parameters
    ----------
    model_id : str
        A hub id (``org/name``; a bare name is also looked up under ``sentence-transformers/``)
        or a path.
    """
    if Path(model_id).expanduser().exists():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - installed with transformers
        return False
    ids = [model_id] + ([f"sentence-transformers/{model_id}"] if "/" not in model_id else [])
    for repo in ids:
        for name in _MARKERS:
            try:
                hit = try_to_load_from_cache(repo, name)
            except Exception:  # an id that is not a valid repo id: not cached
                hit = None
            if isinstance(hit, str):
                return True
    return False


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub endpoint (``HF_ENDPOINT``) opens within ``timeout`` s.

    False at once when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set. Name
    resolution runs in a helper thread, so a hanging DNS lookup also ends after ``timeout``.
    """
    if _offline():
        return False
    import socket

    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    box: dict = {}

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            box["ok"] = True
        except OSError:
            box["ok"] = False

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return bool(box.get("ok"))


def ensure_available(model_id: str, what: str = "model", timeout: float = 3.0) -> None:
    """Raise :class:`InputError` within seconds when ``model_id`` cannot be loaded offline.

    Parameters
    ----------
    model_id : str
        Hub id or local path.
    what : str
        For the message (``"encoder"``, ``"MT model"``, ...).
    timeout : float
        Seconds allowed for the connection test (s).

    Raises
    ------
    InputError
        The model is not a local folder, not in the Hugging Face cache, and the hub is
        unreachable (or ``HF_HUB_OFFLINE`` is set).
    """
    if is_cached(model_id):
        return
    if hub_reachable(timeout):
        log.info("%s %s is not cached; it will be downloaded from the hub", what, model_id)
        return
    reason = "HF_HUB_OFFLINE is set" if _offline() else "the hub cannot be reached"
    from huggingface_hub.constants import HF_HUB_CACHE

    raise InputError(
        f"{what} {model_id!r} is neither a local folder nor in the Hugging Face cache "
        f"({HF_HUB_CACHE}), and {reason}: download it once with network access "
        f"(`huggingface-cli download {model_id}`) or pass a local folder"
    )
