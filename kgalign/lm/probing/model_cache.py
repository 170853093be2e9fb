"""A cache of trained demo models under ``$KGALIGN_HOME/demo_models/``.

The demo model is a function of its configuration, its text and its tokenizer. The
WordPiece trainer numbers equally frequent pieces differently from one process to the next,
so the cache stores the tokenizer (``tokenizer.json``) with the weights
(``model.safetensors``; nothing is unpickled) under a key that hashes the configuration
fields that change training, the tokenizer's training text and the torch / transformers /
tokenizers versions. A later run with the same key loads both instead of training again, and
so reproduces the same model. Files are written atomically; a cache failure only logs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: DemoConfig fields that do not change the trained weights.
_IGNORED = ("threads", "progress", "compare_aligner", "neuron_seeds", "data_dir")


def cache_key(cfg_fields: dict, text: list[str]) -> str:
    """SHA-256 (hex) of the training-relevant configuration, the text and the library versions."""
    import tokenizers
    import torch
    import transformers

    h = hashlib.sha256()
    keep = {k: v for k, v in sorted(cfg_fields.items()) if k not in _IGNORED}
    h.update(json.dumps(keep, sort_keys=True, default=str).encode())
    h.update(json.dumps(list(text)).encode())
    versions = (torch.__version__, transformers.__version__, tokenizers.__version__)
    h.update(json.dumps(versions).encode())
    return h.hexdigest()


def cache_dir() -> Path:
    """``$KGALIGN_HOME/demo_models`` (not created here)."""
    from kgalign.home import kgalign_home

    return kgalign_home() / "demo_models"


def load(key: str) -> tuple[Any, dict, dict] | None:
    """``(tokenizers.Tokenizer, state dict, training record)`` stored under ``key``, or None."""
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    d = cache_dir() / key[:32]
    if not (d / "train.json").exists():
        return None
    try:
        record = json.loads((d / "train.json").read_text(encoding="utf-8"))
        tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        state = load_file(str(d / "model.safetensors"))
    except Exception as exc:  # noqa: BLE001 - any unreadable cache entry means: train again
        logger.warning("demo model cache %s unreadable (%s): training again", d, exc)
        return None
    return (tok, state, record) if record.get("key") == key else None


def save(model, tokenizer, key: str, record: dict) -> Path | None:
    """Store ``model``'s weights, its fast ``tokenizer`` and ``record`` under ``key``."""
    import os
    import tempfile

    from safetensors.torch import save_file

    from kgalign.io.atomic import dump_json

    d = cache_dir() / key[:32]
    try:
        d.mkdir(parents=True, exist_ok=True)
        state, seen = {}, set()
        for name, t in model.state_dict().items():
            if t.data_ptr() in seen:  # tied weights (decoder = embeddings): stored once
                continue
            seen.add(t.data_ptr())
            state[name] = t.detach().contiguous().clone()
        for name, write in (
            ("model.safetensors", lambda p: save_file(state, p)),
            ("tokenizer.json", lambda p: tokenizer.backend_tokenizer.save(p)),
        ):
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
            os.close(fd)
            write(tmp)
            os.replace(tmp, d / name)
        dump_json(d / "train.json", {**record, "key": key}, force=True)  # last: marks the entry complete
        return d
    except OSError as exc:
        logger.warning("cannot cache the demo model in %s: %s", d, exc)
        return None
