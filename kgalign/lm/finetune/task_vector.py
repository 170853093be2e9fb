"""Task vectors and task arithmetic.

Source: G. Ilharco, M. T. Ribeiro, M. Wortsman, S. Gururangan, L. Schmidt, H. Hajishirzi,
A. Farhadi. "Editing Models with Task Arithmetic." ICLR 2023.

A task vector is ``tau = theta_finetuned - theta_pretrained`` over all floating-point weights.
Adding ``lambda * tau`` to a model adds the task, negating it (``-tau``) removes it, and
analogies combine vectors (``tau_C + (tau_B - tau_A)``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

from kgalign.errors import InputError
from kgalign.lm.finetune._util import named_float_tensors, read_safetensors_dir, resolve_target, write_safetensors_dir

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kgalign.lm.finetune.sparse import SparseDiff

__all__ = ["TaskVector"]

_STEM = "task_vector"


class TaskVector:
    """A dense weight difference between a fine-tuned and a pre-trained model.

    Parameters
    ----------
    deltas : Mapping[str, torch.Tensor]
        Parameter name -> difference tensor (floating point, same shape as the parameter).
        Tensors are detached and copied to CPU.

    Notes
    -----
    Arithmetic (``+``, ``-``, ``*``) needs both operands to hold the same names and shapes;
    otherwise :class:`~kgalign.errors.InputError` is raised. Tied weights are stored once
    (under the first name the model gives them) and applied once.
    """

    def __init__(self, deltas: Mapping[str, torch.Tensor]):
        import torch

        self.vector: dict[str, torch.Tensor] = {}
        for name, t in deltas.items():
            if not isinstance(t, torch.Tensor) or not t.is_floating_point():
                raise InputError(f"task vector entry {name!r} is not a floating-point tensor")
            self.vector[name] = t.detach().to("cpu").clone()

    # ---------------------------------------------------------------- builders
    @classmethod
    def from_models(
        cls,
        pretrained,
        finetuned,
        *,
        include: Callable[[str], bool] | None = None,
    ) -> TaskVector:
        """``tau = finetuned - pretrained`` over floating-point parameters and buffers.

        Parameters
        ----------
        pretrained, finetuned : torch.nn.Module or Mapping[str, torch.Tensor]
            Models (or state dicts) of the same architecture.
        include : callable, optional
            ``include(name) -> bool`` restricts the vector to some parameters.

        Returns
        -------
        TaskVector

        Raises
        ------
        InputError
            A parameter of ``pretrained`` is missing from ``finetuned`` or has another shape.
        """
        base = named_float_tensors(pretrained, include=include)
        tuned_all = finetuned if isinstance(finetuned, Mapping) else None
        deltas = {}
        for name, p0 in base.items():
            if tuned_all is not None:
                p1 = tuned_all.get(name)
                if p1 is None:
                    raise InputError(f"the fine-tuned state has no entry {name!r}")
            else:
                p1 = resolve_target(finetuned, name)
            if p1.shape != p0.shape:
                raise InputError(f"{name}: fine-tuned shape {tuple(p1.shape)} != pre-trained shape {tuple(p0.shape)}")
            deltas[name] = p1.detach().to("cpu", p0.dtype) - p0.detach().to("cpu")
        return cls(deltas)

    @classmethod
    def from_sparse_diff(cls, diff: SparseDiff) -> TaskVector:
        """Densify a :class:`~kgalign.lm.finetune.sparse.SparseDiff` (zeros outside its indices)."""
        return cls(diff.dense())

    # ---------------------------------------------------------------- arithmetic
    def _check(self, other: TaskVector) -> None:
        if not isinstance(other, TaskVector):
            raise TypeError(f"cannot combine a TaskVector with {type(other).__name__}")
        if self.vector.keys() != other.vector.keys():
            missing = sorted(set(self.vector) ^ set(other.vector))[:3]
            raise InputError(f"task vectors cover different parameters (e.g. {missing})")
        for name, t in self.vector.items():
            if t.shape != other.vector[name].shape:
                raise InputError(f"{name}: shapes {tuple(t.shape)} and {tuple(other.vector[name].shape)} differ")

    def __add__(self, other: TaskVector) -> TaskVector:
        if isinstance(other, (int, float)) and other == 0:  # lets sum() start at 0
            return TaskVector(self.vector)
        self._check(other)
        return TaskVector({k: v + other.vector[k] for k, v in self.vector.items()})

    __radd__ = __add__

    def __neg__(self) -> TaskVector:
        return TaskVector({k: -v for k, v in self.vector.items()})

    def __sub__(self, other: TaskVector) -> TaskVector:
        self._check(other)
        return TaskVector({k: v - other.vector[k] for k, v in self.vector.items()})

    def __mul__(self, coef: float) -> TaskVector:
        if not isinstance(coef, (int, float)):
            return NotImplemented
        return TaskVector({k: v * float(coef) for k, v in self.vector.items()})

    __rmul__ = __mul__

    @staticmethod
    def analogy(tau_a: TaskVector, tau_b: TaskVector, tau_c: TaskVector) -> TaskVector:
        """Task analogy "A is to B as C is to D": ``tau_D = tau_C + (tau_B - tau_A)``."""
        return tau_c + (tau_b - tau_a)

    def norm(self) -> float:
        """Global L2 norm over all entries (same units as the weights)."""
        import torch

        # sum() over tensors is a tensor (an empty vector gives the int 0, which torch.sqrt rejects)
        squares = cast("torch.Tensor", sum((v.double() ** 2).sum() for v in self.vector.values()))
        return float(torch.sqrt(squares))

    def __len__(self) -> int:
        return len(self.vector)

    def __repr__(self) -> str:
        n = sum(v.numel() for v in self.vector.values())
        return f"TaskVector({len(self.vector)} tensors, {n} entries)"

    # ---------------------------------------------------------------- use
    def apply_to(self, model, scaling_coef: float = 1.0):
        """Add ``scaling_coef * tau`` to the model's weights in place.

        Parameters
        ----------
        model : torch.nn.Module
            Same architecture as the models the vector came from (any device/dtype).
        scaling_coef : float
            ``lambda``; 0 leaves the weights unchanged, -1 negates the task.

        Returns
        -------
        torch.nn.Module
            ``model`` itself. Applying ``tau`` with coefficient ``lambda`` to the pre-trained
            model gives ``theta_pre + lambda * tau`` (Ilharco et al., eq. 1).

        Raises
        ------
        InputError
            A name of the vector is not in the model, or shapes differ. Nothing is changed
            then (names are checked before any weight is written).
        """
        import torch

        targets = []
        for name, delta in self.vector.items():
            target = resolve_target(model, name)
            if target.shape != delta.shape:
                raise InputError(f"{name}: model shape {tuple(target.shape)} != vector shape {tuple(delta.shape)}")
            targets.append((target, delta))
        seen = set()
        with torch.no_grad():
            for target, delta in targets:
                if id(target) in seen:
                    continue
                seen.add(id(target))
                if scaling_coef != 0:
                    target.add_(delta.to(target.device, target.dtype), alpha=float(scaling_coef))
        return model

    def select_scaling_coef(
        self,
        pretrained,
        score,
        coefs=None,
        *,
        control=None,
        keep: float = 0.95,
        sign: float = 1.0,
    ) -> tuple[float, list[dict]]:
        """Choose ``lambda`` on held-out data, as Ilharco et al. (ICLR 2023, sec. 2) do.

        For every ``lambda`` in ``coefs``, ``theta_pre + sign * lambda * tau`` is built on a
        copy of ``pretrained`` and scored. Addition (``sign=+1``): the best validation
        ``score``. Negation (``sign=-1``, forgetting): the lowest ``score`` on the task to
        forget among the ``lambda`` whose ``control`` score stays at least ``keep`` times the
        pre-trained model's (the paper keeps 95 % of the control accuracy).

        Parameters
        ----------
        pretrained : torch.nn.Module
            ``theta_pre`` (not changed).
        score : callable
            ``score(model) -> float`` on the validation split of the task, higher is better.
        coefs : sequence of float, optional
            Candidate ``lambda`` (default 0, 0.05, ..., 1.0 as in the paper).
        control : callable, optional
            ``control(model) -> float`` on a control task (negation only).
        keep : float
            Share of the pre-trained control score that must be kept.
        sign : {1.0, -1.0}
            Add or subtract the vector.

        Returns
        -------
        (float, list of dict)
            The chosen ``lambda`` and one record ``{"coef", "score"[, "control"]}`` per candidate.

        Raises
        ------
        InputError
            No candidate, a bad sign, or negation without ``control``.
        """
        import copy

        coefs = [round(0.05 * i, 2) for i in range(21)] if coefs is None else [float(c) for c in coefs]
        if not coefs:
            raise InputError("select_scaling_coef needs at least one candidate coefficient")
        if sign not in (1.0, -1.0, 1, -1):
            raise InputError(f"sign must be +1 or -1, got {sign}")
        if sign < 0 and control is None:
            raise InputError("choosing a negation coefficient needs a control task score")
        base_control = float(control(pretrained)) if control is not None else None
        records = []
        for c in coefs:
            model = self.apply_to(copy.deepcopy(pretrained), scaling_coef=sign * c)
            rec = {"coef": c, "score": float(score(model))}
            if control is not None:
                rec["control"] = float(control(model))
            records.append(rec)
        if sign > 0:
            best = max(records, key=lambda r: (r["score"], -r["coef"]))
        else:
            assert base_control is not None  # sign < 0 without control was rejected above
            ok = [r for r in records if r["control"] >= keep * base_control] or [records[0]]
            best = min(ok, key=lambda r: (r["score"], r["coef"]))
        return best["coef"], records

    def to_sparse(self, *, k: int | None = None, density: float | None = None) -> SparseDiff:
        """Keep the ``k`` (or ``density`` proportion of) entries of largest magnitude.

        Returns
        -------
        kgalign.lm.finetune.sparse.SparseDiff
        """
        from kgalign.lm.finetune.sparse import SparseDiff, select_top_k

        mask = select_top_k(self.vector, k=k, density=density)
        return SparseDiff.from_dense(self.vector, mask)

    # ---------------------------------------------------------------- files
    def save(self, path: str | os.PathLike, *, force: bool = False):
        """Write ``<path>/task_vector.safetensors`` and ``<path>/task_vector.json``.

        Raises
        ------
        kgalign.errors.OutputExistsError
            The files exist and ``force`` is false.
        """
        return write_safetensors_dir(
            path, self.vector, {"kind": "task_vector", "names": list(self.vector)}, stem=_STEM, force=force
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> TaskVector:
        """Read a task vector written by :meth:`save` (safetensors only; nothing is unpickled).

        Raises
        ------
        InputError
            Missing or corrupt files, or a config of another kind.
        """
        tensors, config = read_safetensors_dir(path, stem=_STEM, kind="task_vector")
        names = config.get("names", list(tensors))
        missing = [n for n in names if n not in tensors]
        if missing:
            raise InputError(f"tensors listed in the config are missing: {missing[:3]}", path)
        return cls({n: tensors[n] for n in names})
