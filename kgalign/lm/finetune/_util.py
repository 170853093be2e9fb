"""Helpers shared by the fine-tuning methods: device, seeding, parameter walks, safe files.

Nothing here unpickles: tensors are written and read with :mod:`safetensors` only.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kgalign.errors import InputError, OutputExistsError

if TYPE_CHECKING:  # pragma: no cover
    import torch

FORMAT_VERSION = 1


def resolve_device(spec: str | None = "auto") -> str:
    """Concrete torch device for ``spec`` (``"auto"`` picks cuda, then mps, then cpu)."""
    from kgalign.device import resolve_device as _resolve

    return _resolve(spec)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (all devices)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def named_float_tensors(
    model_or_state,
    *,
    include: Callable[[str], bool] | None = None,
    trainable_only: bool = False,
) -> dict[str, torch.Tensor]:
    """Floating-point parameters (and float buffers) of a model, one name per storage.

    Parameters
    ----------
    model_or_state : torch.nn.Module or Mapping[str, torch.Tensor]
        A model, or a state dict (then every floating tensor is taken, in key order).
    include : callable, optional
        ``include(name) -> bool`` keeps only the names it accepts.
    trainable_only : bool
        For a model, keep only parameters with ``requires_grad``; buffers are then left out.

    Returns
    -------
    dict of str to torch.Tensor
        The live tensors (not copies). Tied weights (for instance BERT's decoder and word
        embeddings) appear once, under the first name :meth:`~torch.nn.Module.named_parameters`
        gives them, so that a delta is never added twice to one storage.
    """
    import torch

    out: dict[str, torch.Tensor] = {}
    items: list[tuple[str, torch.Tensor]]
    if isinstance(model_or_state, torch.nn.Module):
        items = list(model_or_state.named_parameters())
        if trainable_only:
            items = [(n, p) for n, p in items if p.requires_grad]
        else:
            items += list(model_or_state.named_buffers())
    elif isinstance(model_or_state, Mapping):
        items = list(model_or_state.items())
    else:
        raise InputError(f"expected a torch.nn.Module or a state dict, got {type(model_or_state).__name__}")
    seen: set = set()
    for name, tensor in items:
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            continue
        if include is not None and not include(name):
            continue
        key = (tensor.device.type, tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()))
        if key in seen:
            continue
        seen.add(key)
        out[name] = tensor
    return out


def resolve_target(model, name: str):
    """The live parameter or buffer called ``name`` in ``model`` (tied aliases accepted).

    Raises
    ------
    InputError
        When the model has no floating tensor of that name.
    """
    table = _name_table(model)
    try:
        return table[name]
    except KeyError:
        raise InputError(f"the model has no parameter or buffer named {name!r}") from None


def _name_table(model) -> dict:
    table = dict(model.named_parameters(remove_duplicate=False))
    table.update(dict(model.named_buffers(remove_duplicate=False)))
    return table


def write_safetensors_dir(
    path: str | os.PathLike,
    tensors: Mapping[str, torch.Tensor],
    config: dict,
    *,
    stem: str,
    force: bool = False,
) -> Path:
    """Write ``<path>/<stem>.safetensors`` and ``<path>/<stem>.json`` atomically.

    Raises
    ------
    OutputExistsError
        When either file exists and ``force`` is false.
    """
    from safetensors.torch import save_file

    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{stem}.safetensors"
    cfg = directory / f"{stem}.json"
    if not force:
        for target in (weights, cfg):
            if target.exists():
                raise OutputExistsError(target)
    config = dict(config, format_version=FORMAT_VERSION)
    contiguous = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".safetensors.tmp")
    os.close(fd)
    try:
        save_file(contiguous, tmp, metadata={"kgalign": stem})
        os.replace(tmp, weights)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(config, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, cfg)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return directory


def read_safetensors_dir(path: str | os.PathLike, *, stem: str, kind: str) -> tuple[dict, dict]:
    """Read what :func:`write_safetensors_dir` wrote; returns ``(tensors, config)``.

    Raises
    ------
    InputError
        Missing files, unreadable JSON, a config of another kind or version, or a corrupt
        safetensors file; the message names the file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(path)
    weights = directory / f"{stem}.safetensors"
    cfg = directory / f"{stem}.json"
    for target in (weights, cfg):
        if not target.is_file():
            raise InputError(f"no {target.name} in {directory} (not a saved {kind})", target)
    try:
        with open(cfg, encoding="utf-8") as fh:
            config = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", cfg, exc.lineno) from None
    if not isinstance(config, dict) or config.get("kind") != kind:
        raise InputError(
            f"not a {kind} config (kind={config.get('kind') if isinstance(config, dict) else None!r})", cfg
        )
    if config.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"format_version {config.get('format_version')!r} is not supported (expected {FORMAT_VERSION})",
            cfg,
        )
    try:
        tensors = load_file(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"cannot read safetensors file: {exc}", weights) from None
    return tensors, config


def iter_chunks(seq, size: int) -> Iterator[list]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
