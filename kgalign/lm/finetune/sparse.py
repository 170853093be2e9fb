"""Sparse weight differences and lottery-ticket sparse fine-tuning (LT-SFT).

Source: A. Ansell, E. M. Ponti, A. Korhonen, I. Vulić. "Composable Sparse Fine-Tuning for
Cross-Lingual Transfer." ACL 2022. LT-SFT follows the Lottery Ticket Hypothesis (Frankle &
Carbin, ICLR 2019): fine-tune fully, keep the ``K`` weights that moved most, reset to the
pre-trained values and fine-tune only those ``K``. The result is a :class:`SparseDiff`;
a language diff and a task diff compose by addition.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kgalign.errors import InputError
from kgalign.lm.finetune._util import named_float_tensors, read_safetensors_dir, resolve_target, write_safetensors_dir
from kgalign.lm.finetune.trainer import Trainer, TrainerHook

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "SparseDiff",
    "select_top_k",
    "GradientMaskHook",
    "L1TowardsInitHook",
    "lt_sft",
    "frozen_by",
    "DEFAULT_FREEZE",
]

_STEM = "sparse_diff"


class SparseDiff:
    """A weight difference stored as (flat indices, values) per tensor.

    Parameters
    ----------
    entries : Mapping[str, tuple of (torch.Tensor, torch.Tensor)]
        Name -> ``(indices, values)``: ``indices`` ``int64`` of shape ``(n,)`` into the
        flattened (row-major) tensor, ``values`` floating point of shape ``(n,)``.
        Duplicate indices are summed; indices are stored sorted.
    shapes : Mapping[str, tuple of int]
        Name -> full shape of the tensor the diff applies to.

    Raises
    ------
    InputError
        Index and value lengths differ, an index is out of range, or a name has no shape.

    Notes
    -----
    :meth:`apply` adds the values to the model's weights and :meth:`revert` subtracts them.
    In floating point ``(w + v) - v`` equals ``w`` up to one rounding of ``w + v``
    (relative error at most one unit in the last place); exactly when ``v`` is exactly
    representable at the scale of ``w``.
    """

    def __init__(self, entries, shapes):
        import torch

        self.entries: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        for name, (idx, val) in entries.items():
            if name not in shapes:
                raise InputError(f"sparse diff entry {name!r} has no shape")
            shape = tuple(int(s) for s in shapes[name])
            idx = torch.as_tensor(idx).detach().to("cpu", torch.long).reshape(-1)
            val = torch.as_tensor(val).detach().to("cpu").reshape(-1)
            if not val.is_floating_point():
                raise InputError(f"{name}: values must be floating point, got {val.dtype}")
            if idx.numel() != val.numel():
                raise InputError(f"{name}: {idx.numel()} indices but {val.numel()} values")
            numel = 1
            for s in shape:
                numel *= s
            if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= numel):
                raise InputError(f"{name}: index out of range for shape {shape}")
            uniq, inverse = torch.unique(idx, sorted=True, return_inverse=True)
            if uniq.numel() != idx.numel():
                summed = torch.zeros(uniq.numel(), dtype=val.dtype).index_add_(0, inverse, val)
                idx, val = uniq, summed
            else:
                order = torch.argsort(idx)
                idx, val = idx[order], val[order].clone()
            self.entries[name] = (idx, val)
            self.shapes[name] = shape

    # ---------------------------------------------------------------- builders
    @classmethod
    def from_dense(
        cls,
        dense: Mapping[str, torch.Tensor],
        mask: Mapping[str, torch.Tensor] | None = None,
    ) -> SparseDiff:
        """Keep the entries of dense differences where ``mask`` is true (default: non-zero).

        Parameters
        ----------
        dense : Mapping[str, torch.Tensor]
            Name -> difference tensor.
        mask : Mapping[str, torch.Tensor], optional
            Name -> ``bool`` tensor of the same shape; names missing from ``mask`` are left
            out. Selected entries are kept even when their difference is zero.
        """

        entries, shapes = {}, {}
        for name, d in dense.items():
            d = d.detach().to("cpu")
            if mask is None:
                sel = d.reshape(-1) != 0
            else:
                if name not in mask:
                    continue
                m = mask[name].to("cpu")
                if m.shape != d.shape:
                    raise InputError(f"{name}: mask shape {tuple(m.shape)} != tensor shape {tuple(d.shape)}")
                sel = m.reshape(-1).bool()
            idx = sel.nonzero().flatten()
            if idx.numel() == 0:
                continue
            entries[name] = (idx, d.reshape(-1)[idx])
            shapes[name] = tuple(d.shape)
        return cls(entries, shapes)

    @classmethod
    def from_models(
        cls,
        base,
        tuned,
        *,
        mask: Mapping[str, torch.Tensor] | None = None,
        include: Callable[[str], bool] | None = None,
    ) -> SparseDiff:
        """The difference ``tuned - base`` restricted to ``mask`` (default: where it is non-zero).

        Parameters
        ----------
        base, tuned : torch.nn.Module or Mapping[str, torch.Tensor]
            Same architecture.
        mask : Mapping[str, torch.Tensor], optional
            See :meth:`from_dense`.
        include : callable, optional
            ``include(name) -> bool`` restricts the parameters considered.
        """
        from kgalign.lm.finetune.task_vector import TaskVector

        return cls.from_dense(TaskVector.from_models(base, tuned, include=include).vector, mask)

    # ---------------------------------------------------------------- use
    def _targets(self, model):
        out = []
        for name, (idx, val) in self.entries.items():
            target = resolve_target(model, name)
            if tuple(target.shape) != self.shapes[name]:
                raise InputError(f"{name}: model shape {tuple(target.shape)} != diff shape {self.shapes[name]}")
            out.append((name, target, idx, val))
        return out

    def apply(self, model, scale: float = 1.0):
        """Add ``scale * values`` at the stored indices of the model's weights, in place.

        Parameters
        ----------
        model : torch.nn.Module
            Same architecture as the diff's source (any device/dtype).
        scale : float
            Multiplier of the values (1 applies, -1 reverts).

        Returns
        -------
        torch.nn.Module
            ``model``.

        Raises
        ------
        InputError
            A name is missing from the model or a shape differs (checked before any write).
        """
        import torch

        seen = set()
        with torch.no_grad():
            for _name, target, idx, val in self._targets(model):
                if id(target) in seen:
                    continue
                seen.add(id(target))
                flat = target.view(-1) if target.is_contiguous() else None
                if flat is None:
                    tmp = target.reshape(-1).clone()
                    tmp.index_add_(0, idx.to(tmp.device), val.to(tmp.device, tmp.dtype), alpha=scale)
                    target.copy_(tmp.view_as(target))
                else:
                    flat.index_add_(0, idx.to(flat.device), val.to(flat.device, flat.dtype), alpha=scale)
        return model

    def revert(self, model, scale: float = 1.0):
        """Undo :meth:`apply` with the same ``scale`` (subtracts ``scale * values``)."""
        return self.apply(model, -scale)

    def dense(self) -> dict[str, torch.Tensor]:
        """Name -> dense difference tensor (zeros outside the stored indices)."""
        import torch

        out = {}
        for name, (idx, val) in self.entries.items():
            t = torch.zeros(self.shapes[name], dtype=val.dtype)
            t.view(-1)[idx] = val
            out[name] = t
        return out

    def mask(self) -> dict[str, torch.Tensor]:
        """Name -> ``bool`` tensor, true at the stored indices."""
        import torch

        out = {}
        for name, (idx, _val) in self.entries.items():
            m = torch.zeros(self.shapes[name], dtype=torch.bool)
            m.view(-1)[idx] = True
            out[name] = m
        return out

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return sum(int(idx.numel()) for idx, _ in self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"SparseDiff({len(self.entries)} tensors, {self.nnz} entries)"

    # ---------------------------------------------------------------- algebra
    def __add__(self, other: SparseDiff) -> SparseDiff:
        """Compose two diffs: union of indices, values summed where both hold one."""
        import torch

        if isinstance(other, (int, float)) and other == 0:
            return SparseDiff(self.entries, self.shapes)
        if not isinstance(other, SparseDiff):
            return NotImplemented
        entries, shapes = {}, dict(self.shapes)
        for name, shape in other.shapes.items():
            if name in shapes and shapes[name] != shape:
                raise InputError(f"{name}: shapes {shapes[name]} and {shape} differ")
            shapes[name] = shape
        for name in shapes:
            parts = [d.entries[name] for d in (self, other) if name in d.entries]
            idx = torch.cat([p[0] for p in parts])
            dtype = torch.promote_types(*[p[1].dtype for p in parts]) if len(parts) > 1 else parts[0][1].dtype
            val = torch.cat([p[1].to(dtype) for p in parts])
            entries[name] = (idx, val)
        return SparseDiff(entries, shapes)

    __radd__ = __add__

    def __neg__(self) -> SparseDiff:
        return SparseDiff({k: (i, -v) for k, (i, v) in self.entries.items()}, self.shapes)

    def __sub__(self, other: SparseDiff) -> SparseDiff:
        return self + (-other)

    def __mul__(self, coef: float) -> SparseDiff:
        if not isinstance(coef, (int, float)):
            return NotImplemented
        return SparseDiff({k: (i, v * float(coef)) for k, (i, v) in self.entries.items()}, self.shapes)

    __rmul__ = __mul__

    def to_task_vector(self):
        """The dense :class:`~kgalign.lm.finetune.task_vector.TaskVector` of this diff."""
        from kgalign.lm.finetune.task_vector import TaskVector

        return TaskVector(self.dense())

    # ---------------------------------------------------------------- files
    def save(self, path: str | os.PathLike, *, force: bool = False):
        """Write ``<path>/sparse_diff.safetensors`` (``<name>.indices``, ``<name>.values``)
        and ``<path>/sparse_diff.json`` (names and shapes).

        Raises
        ------
        kgalign.errors.OutputExistsError
            The files exist and ``force`` is false.
        """
        tensors = {}
        for name, (idx, val) in self.entries.items():
            tensors[f"{name}.indices"] = idx
            tensors[f"{name}.values"] = val
        config = {
            "kind": "sparse_diff",
            "shapes": {name: list(shape) for name, shape in self.shapes.items()},
        }
        return write_safetensors_dir(path, tensors, config, stem=_STEM, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SparseDiff:
        """Read a diff written by :meth:`save` (safetensors only; nothing is unpickled).

        Raises
        ------
        InputError
            Missing or corrupt files, a config of another kind, or tensors that do not match
            the config.
        """
        tensors, config = read_safetensors_dir(path, stem=_STEM, kind="sparse_diff")
        shapes = config.get("shapes")
        if not isinstance(shapes, dict):
            raise InputError("config has no 'shapes' table", os.path.join(path, f"{_STEM}.json"))
        entries = {}
        for name in shapes:
            try:
                entries[name] = (tensors[f"{name}.indices"], tensors[f"{name}.values"])
            except KeyError:
                raise InputError(
                    f"tensors for {name!r} are missing", os.path.join(path, f"{_STEM}.safetensors")
                ) from None
        return cls(entries, shapes)


def select_top_k(
    tensors: Mapping[str, torch.Tensor],
    *,
    k: int | None = None,
    density: float | None = None,
) -> dict[str, torch.Tensor]:
    """Global top-``k`` by magnitude over several tensors.

    Parameters
    ----------
    tensors : Mapping[str, torch.Tensor]
        Name -> scores (for LT-SFT the weight change, for Child-Tuning-D the Fisher
        information); the magnitude ``|x|`` is ranked.
    k : int, optional
        Number of entries to keep, ``0 <= k <= total``.
    density : float, optional
        Proportion to keep instead, in [0, 1]; ``k = round(density * total)``.

    Returns
    -------
    dict of str to torch.Tensor
        Name -> ``bool`` mask of the tensor's shape (on CPU). Exactly ``k`` entries are true
        over all tensors (ties at the threshold are broken by ``torch.topk``).

    Raises
    ------
    InputError
        Neither or both of ``k`` and ``density`` given, or out of range.
    """
    import torch

    if (k is None) == (density is None):
        raise InputError("give exactly one of k and density")
    names = list(tensors)
    sizes = [int(tensors[n].numel()) for n in names]
    total = sum(sizes)
    if density is not None:
        if not 0.0 <= density <= 1.0:
            raise InputError(f"density must be in [0, 1], got {density}")
        k = int(round(density * total))
    assert k is not None  # exactly one of k and density was given
    if not 0 <= int(k) <= total:
        raise InputError(f"k must be in [0, {total}], got {k}")
    k = int(k)
    flat = torch.cat([tensors[n].detach().reshape(-1).abs().float().cpu() for n in names]) if names else torch.zeros(0)
    chosen = torch.zeros(total, dtype=torch.bool)
    if k:
        chosen[torch.topk(flat, k, sorted=False).indices] = True
    out, start = {}, 0
    for n, size in zip(names, sizes):
        out[n] = chosen[start : start + size].view(tensors[n].shape)
        start += size
    return out


class GradientMaskHook(TrainerHook):
    """Train only the masked entries: gradients are zeroed outside the mask and the other
    entries are restored after every optimizer step (so weight decay and optimizer momentum
    cannot move them either).

    Parameters
    ----------
    masks : Mapping[str, torch.Tensor]
        Parameter name -> ``bool`` tensor of its shape; true = trainable. Parameters not
        named are not touched by the hook.
    """

    def __init__(self, masks: Mapping[str, torch.Tensor]):
        self.masks = dict(masks)
        self._bound: list = []

    def on_train_begin(self, trainer) -> None:
        import torch

        self._bound = []
        seen = set()
        for name, mask in self.masks.items():
            p = resolve_target(trainer.model, name)
            if id(p) in seen:
                continue
            seen.add(id(p))
            if tuple(p.shape) != tuple(mask.shape):
                raise InputError(f"{name}: mask shape {tuple(mask.shape)} != parameter shape {tuple(p.shape)}")
            m = mask.to(p.device, torch.bool)
            self._bound.append((p, m, p.detach().clone()))

    def before_optimizer_step(self, trainer) -> None:
        for p, m, _ref in self._bound:
            if p.grad is not None:
                p.grad.mul_(m)

    def after_optimizer_step(self, trainer) -> None:
        import torch

        with torch.no_grad():
            for p, m, ref in self._bound:
                p.copy_(torch.where(m, p, ref))

    def on_train_end(self, trainer) -> None:
        self._bound = []


class L1TowardsInitHook(TrainerHook):
    """L1 regularisation towards the starting weights, as a gradient term.

    Adds ``reg / N * sign(theta - theta_start)`` to each gradient before the optimizer step,
    the (sub)gradient of ``reg * sum |theta - theta_start| / N`` (Ansell et al., 2022, eq. 3:
    it keeps the fine-tuning difference small and so makes the ticket sparser). As in the
    reference implementation (cambridgeltl/composable-sft), ``N`` is the number of the
    model's parameters, so ``reg`` means the same for models of any size.

    Parameters
    ----------
    reg : float
        Coefficient (loss units per unit of mean absolute weight change), >= 0.
    include : callable, optional
        ``include(name) -> bool``: parameters regularised (default every trainable one).
    normalize : bool
        Divide by ``N`` (default); False gives ``reg * sum |theta - theta_start|``.
    """

    def __init__(self, reg: float, include: Callable[[str], bool] | None = None, normalize: bool = True):
        if reg < 0:
            raise InputError(f"the L1 coefficient must be >= 0, got {reg}")
        self.reg = float(reg)
        self.include = include
        self.normalize = bool(normalize)
        self._bound: list = []
        self._scale = self.reg

    def on_train_begin(self, trainer) -> None:
        params = named_float_tensors(trainer.model, include=self.include, trainable_only=True)
        self._bound = [(p, p.detach().clone()) for p in params.values()]
        n = sum(p.numel() for p in trainer.model.parameters()) if self.normalize else 1
        self._scale = self.reg / max(n, 1)

    def before_optimizer_step(self, trainer) -> None:
        import torch

        if not self.reg:
            return
        with torch.no_grad():
            for p, start in self._bound:
                term = torch.sign(p - start) * self._scale
                if p.grad is None:
                    p.grad = term
                else:
                    p.grad.add_(term)

    def on_train_end(self, trainer) -> None:
        self._bound = []


#: parameter groups :func:`lt_sft` holds fixed by default (composable-sft's scripts)
DEFAULT_FREEZE = ("embeddings", "head", "layer_norm")
_LAYER_NORM = ("layernorm", "layer_norm", "ln_", ".ln.", "norm.")


def lt_sft(
    model,
    data: Sequence,
    *,
    k: int | None = None,
    density: float | None = None,
    tokenizer=None,
    include: Callable[[str], bool] | None = None,
    full_steps: int | None = None,
    sparse_steps: int | None = None,
    l1_reg: float = 0.0,
    trainer_kwargs: Mapping[str, Any] | None = None,
    sparse_lr: float | None = None,
    freeze: Sequence[str] = DEFAULT_FREEZE,
    dense: Callable[[str], bool] | None = None,
) -> SparseDiff:
    """Lottery-ticket sparse fine-tuning (Ansell et al., 2022, section 3).

    1. Fine-tune all eligible weights ``theta_0 -> theta_1`` (full fine-tuning).
    2. Select the ``k`` entries (or ``density`` proportion) with the largest
       ``|theta_1 - theta_0|``, globally over the eligible parameters.
    3. Reset every trainable weight to ``theta_0``.
    4. Fine-tune again with all other entries held at ``theta_0`` (masked fine-tuning),
       giving ``theta_2``.

    Parameters
    ----------
    model : torch.nn.Module
        A Hugging Face LM (see :class:`~kgalign.lm.finetune.trainer.Trainer`). Changed in place:
        it ends at ``theta_2``; call ``diff.revert(model)`` to get ``theta_0`` back.
    data : sequence
        Training examples (strings or dicts), as for :meth:`Trainer.train`.
    k, density : int or float
        Size of the ticket: exactly one of them.
    tokenizer : transformers.PreTrainedTokenizerBase, optional
        Passed to the trainer.
    include : callable, optional
        ``include(name) -> bool``: eligible parameters (default every trainable float
        parameter). Ineligible trainable parameters are frozen in phase 2 and reset, so they
        end unchanged.
    full_steps, sparse_steps : int, optional
        ``max_steps`` of phase 1 and phase 2 (default: the trainer's ``max_steps``/``epochs``).
    l1_reg : float
        L1 regularisation of ``|theta - theta_0|`` in both phases (see
        :class:`L1TowardsInitHook`); 0 turns it off. ``l1_reg`` is divided by the number of
        model parameters, as in the reference implementation.
    trainer_kwargs : Mapping, optional
        Keyword arguments of :class:`Trainer` used by both phases (``objective``, ``lr``,
        ``batch_size``, ``seed``, ``device``...). ``hooks`` given here run in both phases.
    sparse_lr : float, optional
        Learning rate of phase 2 (default: the trainer's ``lr``, as in phase 1). Ansell et al.
        use the same rate in both phases; a different one helps when the ticket is very sparse.
    freeze : sequence of {"embeddings", "head", "layer_norm"}
        Parameter groups held fixed in both phases and never in the ticket (see
        :func:`frozen_by`). Default all three, as the reference scripts do
        (``--freeze_layer_norm --freeze_decoder`` for language SFTs, and the embeddings of a
        model with tied input/output embeddings are its decoder); ``()`` trains everything.
    dense : callable, optional
        ``dense(name) -> bool``: parameters fine-tuned fully in both phases instead of
        sparsely (a task model's new classification head, as the reference's "abs"
        parameters). They are never in the ticket, are reset with the rest before phase 2,
        and the diff holds their whole change (every entry). ``dense`` wins over ``freeze``.

    Returns
    -------
    SparseDiff
        ``theta_2 - theta_0`` at exactly the selected entries (``nnz == k``, plus every entry
        of the ``dense`` parameters). The model ends at exactly ``theta_0 + diff`` (the
        rounding of the subtraction, at most one unit in the last place, is folded into the
        weights), so applying the diff to a copy of ``theta_0`` reproduces it bit for bit.

    Raises
    ------
    InputError
        Bad ``k``/``density``, no eligible parameter, or bad trainer arguments/data.
    """
    kwargs = dict(trainer_kwargs or {})
    if sparse_lr is not None and not (float(sparse_lr) > 0 and math.isfinite(float(sparse_lr))):
        raise InputError(f"lt_sft: sparse_lr must be a positive number, got {sparse_lr}")
    base_hooks = list(kwargs.pop("hooks", ()))
    is_frozen = frozen_by(model, freeze)
    is_dense = dense if dense is not None else (lambda _n: False)
    held = [p for n, p in named_float_tensors(model, trainable_only=True).items() if is_frozen(n) and not is_dense(n)]
    for p in held:
        p.requires_grad_(False)
    try:
        return _lt_sft(
            model,
            data,
            k,
            density,
            tokenizer,
            include,
            full_steps,
            sparse_steps,
            l1_reg,
            kwargs,
            sparse_lr,
            base_hooks,
            is_dense,
        )
    finally:
        for p in held:
            p.requires_grad_(True)


def frozen_by(model, groups: Sequence[str]) -> Callable[[str], bool]:
    """``name -> bool``: whether a parameter belongs to one of the frozen ``groups``.

    Groups: ``"embeddings"`` (input embeddings: names with ``embeddings``, GPT-2 ``wte``/``wpe``,
    and every parameter shared with the input embedding matrix), ``"head"`` (parameters outside
    ``model.base_model``, e.g. ``cls.predictions`` or an ``adapters`` flexible head), and
    ``"layer_norm"`` (LayerNorm weights and biases).

    Raises
    ------
    InputError
        An unknown group.
    """
    unknown = set(groups) - set(DEFAULT_FREEZE)
    if unknown:
        raise InputError(f"unknown freeze group(s) {sorted(unknown)}; use {', '.join(DEFAULT_FREEZE)}")
    wanted = set(groups)
    prefix = getattr(model, "base_model_prefix", "") or ""
    has_base = bool(prefix) and any(n.startswith(prefix + ".") for n, _ in model.named_parameters())
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    emb_ids = {id(p) for p in emb.parameters()} if emb is not None else set()
    shared = {n for n, p in model.named_parameters(remove_duplicate=False) if id(p) in emb_ids}

    def check(name: str) -> bool:
        low = name.lower()
        if "embeddings" in wanted and (name in shared or "embeddings" in low or ".wte." in low or ".wpe." in low):
            return True
        if "head" in wanted and has_base and not name.startswith(prefix + "."):
            return True
        return "layer_norm" in wanted and any(t in low for t in _LAYER_NORM)

    return check


def _lt_sft(
    model,
    data,
    k,
    density,
    tokenizer,
    include,
    full_steps,
    sparse_steps,
    l1_reg,
    kwargs,
    sparse_lr,
    base_hooks,
    is_dense,
) -> SparseDiff:
    import torch

    trainable = {n: p for n, p in named_float_tensors(model, trainable_only=True).items()}
    full = {n for n in trainable if is_dense(n)}
    eligible = {n: p for n, p in trainable.items() if (include is None or include(n)) and n not in full}
    if not eligible:
        raise InputError("lt_sft: no eligible trainable parameter")
    theta0 = {n: p.detach().clone() for n, p in trainable.items()}

    # phase 1: full fine-tuning
    reg = [L1TowardsInitHook(l1_reg, include=lambda n: n in eligible)] if l1_reg else []
    Trainer(model, tokenizer, hooks=reg + base_hooks, **_steps(kwargs, full_steps)).train(data)
    delta = {n: (p.detach() - theta0[n].to(p.device)).cpu() for n, p in eligible.items()}
    mask = select_top_k(delta, k=k, density=density)
    del delta

    # reset to theta_0
    with torch.no_grad():
        for n, p in trainable.items():
            p.copy_(theta0[n].to(p.device))

    # phase 2: masked fine-tuning of the selected entries only
    active = {n: m for n, m in mask.items() if bool(m.any())}
    frozen = [p for n, p in trainable.items() if n not in active and n not in full]
    for p in frozen:
        p.requires_grad_(False)
    try:
        reg = [L1TowardsInitHook(l1_reg, include=lambda n: n in active)] if l1_reg else []
        hooks = reg + [GradientMaskHook(active)] + base_hooks
        kw2 = _steps(kwargs, sparse_steps)
        if sparse_lr is not None:
            kw2["lr"] = float(sparse_lr)
        Trainer(model, tokenizer, hooks=hooks, **kw2).train(data)
    finally:
        for p in frozen:
            p.requires_grad_(True)
    kept = dict(active)
    kept.update({n: torch.ones(trainable[n].shape, dtype=torch.bool) for n in full})
    dense = {n: (trainable[n].detach().cpu() - theta0[n].cpu()) for n in kept}
    diff = SparseDiff.from_dense(dense, kept)
    with torch.no_grad():  # fold the subtraction's rounding in: the model is theta_0 + diff exactly
        for n in kept:
            p = trainable[n]
            exact = theta0[n].cpu().clone().reshape(-1)
            idx, val = diff.entries.get(n, (torch.zeros(0, dtype=torch.long), torch.zeros(0)))
            exact.index_add_(0, idx, val.to(exact.dtype))
            p.copy_(exact.view_as(p).to(p.device))
    return diff


def _steps(kwargs: dict, steps: int | None) -> dict:
    out = dict(kwargs)
    if steps is not None:
        out["max_steps"] = steps
    return out
