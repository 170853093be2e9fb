"""A cache of trained demo models under ``$KGALIGN_HOME/demo_models/`` (safetensors).

The demo model is a deterministic function of its configuration and its training data, so
its weights are stored under a key that hashes both (the configuration fields that change
training, the tokenizer vocabulary, every training example, and the torch / transformers
versions): a later run with the same key loads the weights instead of training again. The
tensors are safetensors (nothing is unpickled); files are written atomically.
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


def cache_key(cfg_fields: dict, tokenizer, data: list) -> str:
    """SHA-256 (hex) of the training-relevant configuration, vocabulary and examples."""
    import torch
    import transformers

    h = hashlib.sha256()
    keep = {k: v for k, v in sorted(cfg_fields.items()) if k not in _IGNORED}
    h.update(json.dumps(keep, sort_keys=True, default=str).encode())
    h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    h.update(json.dumps(data, sort_keys=True, default=str).encode())
    h.update(f"torch {torch.__version__} transformers {transformers.__version__}".encode())
    return h.hexdigest()


def cache_dir() -> Path:
    """``$KGALIGN_HOME/demo_models`` (not created here)."""
    from kgalign.home import kgalign_home

    return kgalign_home() / "demo_models"


def load_weights(model, key: str) -> dict[str, Any] | None:
    """Load cached weights into ``model``; return the stored training record, or None on a miss."""
    from safetensors.torch import load_file

    d = cache_dir() / key[:32]
    try:
        record = json.loads((d / "train.json").read_text(encoding="utf-8"))
        state = load_file(str(d / "model.safetensors"))
    except (OSError, ValueError) as exc:
        if (d / "train.json").exists():
            logger.warning("demo model cache %s unreadable (%s): training again", d, exc)
        return None
    if record.get("key") != key:
        return None
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if m not in record.get("tied", [])]:
        logger.warning("demo model cache %s does not fit the model: training again", d)
        return None
    return record


def save_weights(model, key: str, record: dict) -> Path | None:
    """Store ``model``'s weights and ``record`` under ``key`` (atomic; a failure only logs)."""
    import os
    import tempfile

    from safetensors.torch import save_file

    from kgalign.io.atomic import dump_json

    d = cache_dir() / key[:32]
    try:
        d.mkdir(parents=True, exist_ok=True)
        state, seen, tied = {}, {}, []
        for name, t in model.state_dict().items():
            ptr = t.data_ptr()
            if ptr in seen:  # tied weights (decoder = embeddings): stored once
                tied.append(name)
                continue
            seen[ptr] = name
            state[name] = t.detach().contiguous().clone()
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        os.close(fd)
        save_file(state, tmp)
        os.replace(tmp, d / "model.safetensors")
        dump_json(d / "train.json", {**record, "key": key, "tied": tied}, force=True)
        return d
    except OSError as exc:
        logger.warning("cannot cache the demo model in %s: %s", d, exc)
        return None
