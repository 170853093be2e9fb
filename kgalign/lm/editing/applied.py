"""A stored, reversible model edit: the changed weights' new-minus-old values and old values.

:meth:`AppliedEdit.revert` writes the stored old values back, so every weight is restored
bit for bit (not ``(w + d) - d``, which can differ from ``w`` in the last place);
:meth:`AppliedEdit.negate` subtracts the difference (task-vector negation, Ilharco et al.,
ICLR 2023), which removes the edit up to rounding and composes with other edits made later.
Both parts are :class:`~kgalign.lm.finetune.SparseDiff` objects saved as safetensors.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kgalign.errors import InputError

if TYPE_CHECKING:
    from kgalign.lm.finetune import SparseDiff


@dataclass
class AppliedEdit:
    """One applied edit of a model.

    Attributes
    ----------
    delta : SparseDiff
        ``theta_edited - theta_before`` at every entry the edit changed.
    original : SparseDiff
        ``theta_before`` at the same entries (values, not differences).
    meta : dict
        Method, languages, edited facts, hyper-parameters (JSON-ready).
    """

    delta: SparseDiff
    original: SparseDiff
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_states(cls, before: dict, model, meta: dict | None = None) -> AppliedEdit:
        """Compare a copy of the weights taken before the edit with the model now.

        Parameters
        ----------
        before : dict of str to torch.Tensor
            ``{name: tensor.clone()}`` of the parameters (any subset) before the edit.
        model : torch.nn.Module
            The edited model.
        """
        from kgalign.lm.finetune import SparseDiff

        params = dict(model.named_parameters())
        d_entries, o_entries, shapes = {}, {}, {}
        for name, old in before.items():
            new = params[name].detach().cpu()
            changed = (new != old.cpu()).reshape(-1)
            idx = changed.nonzero().flatten()
            if idx.numel() == 0:
                continue
            flat_old = old.cpu().reshape(-1)[idx]
            d_entries[name] = (idx, new.reshape(-1)[idx] - flat_old)
            o_entries[name] = (idx, flat_old.clone())
            shapes[name] = tuple(old.shape)
        return cls(SparseDiff(d_entries, shapes), SparseDiff(o_entries, shapes), dict(meta or {}))

    @property
    def nnz(self) -> int:
        """Number of weights the edit changed."""
        return self.delta.nnz

    def revert(self, model):
        """Write the stored pre-edit values back (exact); returns ``model``.

        Reverting edits applied in sequence must go in reverse order (latest first).
        """
        import torch

        from kgalign.lm.finetune._util import resolve_target

        with torch.no_grad():
            for name, (idx, val) in self.original.entries.items():
                target = resolve_target(model, name)
                if tuple(target.shape) != self.original.shapes[name]:
                    raise InputError(
                        f"{name}: model shape {tuple(target.shape)} != edit shape {self.original.shapes[name]}"
                    )
                flat = target.view(-1)
                flat[idx.to(flat.device)] = val.to(flat.device, flat.dtype)
        return model

    def negate(self, model, scale: float = 1.0):
        """Subtract ``scale * delta`` (task-vector negation); returns ``model``."""
        return self.delta.revert(model, scale)

    def reapply(self, model, scale: float = 1.0):
        """Add ``scale * delta`` again (after :meth:`revert`); returns ``model``."""
        return self.delta.apply(model, scale)

    def save(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write ``<path>/delta/``, ``<path>/original/`` (safetensors) and ``<path>/edit.json``."""
        from kgalign.io.atomic import check_writable, dump_json

        path = Path(path)
        check_writable(path / "edit.json", force=force, create_parents=True)  # the edit folder is created here
        self.delta.save(path / "delta", force=force)
        self.original.save(path / "original", force=force)
        dump_json(path / "edit.json", {"kind": "kgalign-edit/1", "nnz": self.nnz, "meta": self.meta}, force=force)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> AppliedEdit:
        """Read an edit written by :meth:`save` (nothing is unpickled).

        Raises
        ------
        InputError
            Missing or corrupt files.
        """
        from kgalign.lm.finetune import SparseDiff

        path = Path(path)
        try:
            meta = json.loads((path / "edit.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read edit: {exc}", path / "edit.json") from exc
        if meta.get("kind") != "kgalign-edit/1":
            raise InputError("not a kgalign edit (kind != kgalign-edit/1)", path / "edit.json")
        delta, orig = SparseDiff.load(path / "delta"), SparseDiff.load(path / "original")
        if set(delta.entries) != set(orig.entries):
            raise InputError("delta and original name different tensors", path)
        return cls(delta, orig, meta.get("meta", {}))
