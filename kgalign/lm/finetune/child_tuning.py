"""Child-Tuning: update only a "child network" of the weights at every step.

Source: R. Xu, F. Luo, Z. Zhang, C. Tan, B. Chang, S. Huang, F. Huang. "Raise a Child in
Large Language Model: Towards Effective and Generalizable Fine-tuning." EMNLP 2021.

* **Child-Tuning-F** (task-free): at every step each gradient entry is kept with probability
  ``p`` (a fresh Bernoulli mask) and the kept entries are rescaled by ``1/p``, so the masked
  gradient is an unbiased estimate of the full one.
* **Child-Tuning-D** (task-driven): a fixed mask keeps the ``p`` proportion of entries with
  the largest Fisher information ``F(w) = mean over batches of (dL/dw)^2`` on the training
  data, chosen with one global threshold over all masked parameters; no rescaling.

Both are available as an optimizer wrapper (:class:`ChildTuningOptimizer`, usable with any
model and any torch optimizer) and as a :class:`~kgalign.lm.finetune.trainer.TrainerHook`
(:class:`ChildTuningHook`). The mask is applied to the gradient before the optimizer sees it
(as in the authors' ``ChildTuningAdamW``), so with ``p = 1`` the wrapper is the inner
optimizer exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from kgalign.errors import InputError
from kgalign.lm.finetune._util import named_float_tensors, resolve_target, seed_everything
from kgalign.lm.finetune.trainer import Trainer, TrainerHook

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["ChildTuningOptimizer", "ChildTuningHook", "fisher_information", "fisher_mask"]

MODES = ("F", "D")


def _check(mode: str, reserve_p: float, masks) -> str:
    mode = str(mode).upper()
    if mode not in MODES:
        raise InputError(f"unknown Child-Tuning mode {mode!r}; use F or D")
    if not 0.0 < float(reserve_p) <= 1.0:
        raise InputError(f"reserve_p must be in (0, 1], got {reserve_p}")
    if mode == "D" and masks is None:
        raise InputError("Child-Tuning-D needs masks (see fisher_mask)")
    return mode


def _mask_grad(grad, mode: str, reserve_p: float, mask, generator) -> None:
    import torch

    if mode == "F":
        if reserve_p >= 1.0:
            return
        keep = torch.rand(grad.shape, generator=generator, device=grad.device) < reserve_p
        grad.mul_(keep.to(grad.dtype)).div_(reserve_p)
    elif mask is not None:
        grad.mul_(mask.to(grad.dtype))


def _generator(seed: int, device):
    import torch

    return torch.Generator(device=device).manual_seed(int(seed))


class ChildTuningOptimizer:
    """Wrap any torch optimizer so that it only updates a child network.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The inner optimizer (for instance ``torch.optim.AdamW``).
    mode : {"F", "D"}
        ``"F"``: fresh Bernoulli(``reserve_p``) gradient mask at every step, kept entries
        multiplied by ``1/reserve_p``. ``"D"``: the fixed ``masks``.
    reserve_p : float
        Keep probability (F) in (0, 1]. For D it is only recorded (the masks already hold
        the proportion).
    masks : Mapping, optional
        D only: ``torch.nn.Parameter`` -> ``bool`` tensor of its shape (true = updated).
        Parameters of the optimizer that have no mask are updated fully (the authors leave
        the task head unmasked). Build name-keyed masks with :func:`fisher_mask` and map them
        with :meth:`masks_by_param`.
    seed : int
        Seed of the Bernoulli masks (one generator per device).

    Raises
    ------
    InputError
        Unknown mode, ``reserve_p`` out of range, D without masks, or a mask whose shape
        differs from its parameter.

    Notes
    -----
    ``param_groups``, ``state``, ``zero_grad``, ``state_dict`` and ``load_state_dict`` are the
    inner optimizer's, so learning-rate schedules and :class:`Trainer` work unchanged.
    """

    def __init__(self, optimizer, *, mode: str = "F", reserve_p: float = 0.3, masks=None, seed: int = 0):
        self.mode = _check(mode, reserve_p, masks)
        self.reserve_p = float(reserve_p)
        self.optimizer = optimizer
        self.seed = int(seed)
        self._gens: dict = {}
        self.masks = {}
        if masks is not None:
            for p, m in masks.items():
                if tuple(m.shape) != tuple(p.shape):
                    raise InputError(f"mask shape {tuple(m.shape)} != parameter shape {tuple(p.shape)}")
                self.masks[p] = m.to(p.device, dtype=_bool())

    @staticmethod
    def masks_by_param(model, masks: Mapping[str, torch.Tensor]) -> dict:
        """Turn name-keyed masks into parameter-keyed masks for ``model``.

        Raises
        ------
        InputError
            A name is not a parameter of ``model``.
        """
        return {resolve_target(model, name): m for name, m in masks.items()}

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def state(self):
        return self.optimizer.state

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state) -> None:
        self.optimizer.load_state_dict(state)

    def _gen(self, device):
        key = str(device)
        if key not in self._gens:
            self._gens[key] = _generator(self.seed, device)
        return self._gens[key]

    def step(self, closure: Callable | None = None):
        """Mask the gradients in place, then take the inner optimizer's step."""
        import torch

        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                _mask_grad(p.grad, self.mode, self.reserve_p, self.masks.get(p), self._gen(p.device))
        self.optimizer.step()
        return loss


class ChildTuningHook(TrainerHook):
    """Child-Tuning as a :class:`~kgalign.lm.finetune.trainer.TrainerHook`.

    Parameters
    ----------
    mode : {"F", "D"}
        See :class:`ChildTuningOptimizer`.
    reserve_p : float
        Keep probability for F, in (0, 1].
    masks : Mapping[str, torch.Tensor], optional
        D only: parameter name -> ``bool`` mask (from :func:`fisher_mask`). Trainable
        parameters without a mask are updated fully.
    seed : int
        Seed of the Bernoulli masks.

    Examples
    --------
    >>> fisher = fisher_information(model, texts, tokenizer=tok)        # doctest: +SKIP
    >>> hook = ChildTuningHook(mode="D", masks=fisher_mask(fisher, 0.3))  # doctest: +SKIP
    >>> Trainer(model, tok, hooks=[hook], max_steps=100).train(texts)  # doctest: +SKIP
    """

    def __init__(self, mode: str = "F", reserve_p: float = 0.3, masks=None, seed: int = 0):
        self.mode = _check(mode, reserve_p, masks)
        self.reserve_p = float(reserve_p)
        self.named_masks = dict(masks) if masks is not None else {}
        self.seed = int(seed)
        self._masks: dict = {}
        self._gens: dict = {}

    def on_train_begin(self, trainer) -> None:
        self._masks = {}
        for name, m in self.named_masks.items():
            p = resolve_target(trainer.model, name)
            if tuple(m.shape) != tuple(p.shape):
                raise InputError(f"{name}: mask shape {tuple(m.shape)} != parameter shape {tuple(p.shape)}")
            self._masks[p] = m.to(p.device, dtype=_bool())
        self._gens = {}

    def before_optimizer_step(self, trainer) -> None:
        for p in trainer.trainable_parameters():
            if p.grad is None:
                continue
            key = str(p.device)
            if key not in self._gens:
                self._gens[key] = _generator(self.seed, p.device)
            _mask_grad(p.grad, self.mode, self.reserve_p, self._masks.get(p), self._gens[key])


def _bool():
    import torch

    return torch.bool


def fisher_information(
    model,
    data: Sequence,
    *,
    tokenizer=None,
    objective: str = "mlm",
    loss_fn: Callable | None = None,
    batch_size: int = 8,
    include: Callable[[str], bool] | None = None,
    device: str = "auto",
    seed: int = 0,
    max_batches: int | None = None,
) -> dict[str, torch.Tensor]:
    """Diagonal empirical Fisher information of the trainable weights on ``data``.

    ``F(w) = (1/B) * sum_b (dL_b/dw)^2`` over ``B`` batches, where ``L_b`` is the batch loss
    of the objective (Xu et al., 2021, eq. 4, estimated per batch as in their code).

    Parameters
    ----------
    model : torch.nn.Module
        A Hugging Face LM; its weights are not changed (gradients are cleared afterwards).
    data : sequence
        Examples as for :meth:`Trainer.train`.
    tokenizer, objective, loss_fn, batch_size, device, seed
        As for :class:`Trainer` (``seed`` fixes the MLM masking).
    include : callable, optional
        ``include(name) -> bool``: parameters to estimate (default every trainable one).
    max_batches : int, optional
        Use at most this many batches.

    Returns
    -------
    dict of str to torch.Tensor
        Name -> ``float32`` tensor of the parameter's shape (on CPU), units of loss^2/weight^2.

    Raises
    ------
    InputError
        Bad data or no parameter selected.
    """
    import torch

    seed_everything(seed)
    tr = Trainer(
        model,
        tokenizer,
        objective=objective,
        loss_fn=loss_fn,
        batch_size=batch_size,
        device=device,
        seed=seed,
        progress=False,
    )
    params = named_float_tensors(model, include=include, trainable_only=True)
    if not params:
        raise InputError("fisher_information: no trainable parameter selected")
    batches = tr._fixed_batches(data)
    if max_batches is not None:
        batches = batches[: max(1, int(max_batches))]
    model.to(tr.device)
    was_training = model.training
    model.eval()  # no dropout: the estimate is deterministic given the masking
    fisher = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params.items()}
    for batch in batches:
        batch = {k: v.to(tr.device) for k, v in batch.items()}
        model.zero_grad(set_to_none=True)
        tr._loss(batch).backward()
        for n, p in params.items():
            if p.grad is not None:
                fisher[n] += p.grad.detach().float() ** 2
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {n: (f / len(batches)).cpu() for n, f in fisher.items()}


def fisher_mask(fisher: Mapping[str, torch.Tensor], reserve_p: float) -> dict[str, torch.Tensor]:
    """Child-Tuning-D mask: keep the ``reserve_p`` proportion with the largest Fisher information.

    One global threshold over all given tensors (the ``1 - reserve_p`` percentile); exactly
    ``round(reserve_p * N)`` of the ``N`` entries are kept (ties broken by ``torch.topk``).

    Parameters
    ----------
    fisher : Mapping[str, torch.Tensor]
        From :func:`fisher_information`.
    reserve_p : float
        Proportion kept, in (0, 1].

    Returns
    -------
    dict of str to torch.Tensor
        Name -> ``bool`` mask of the parameter's shape.

    Raises
    ------
    InputError
        ``reserve_p`` out of range.
    """
    from kgalign.lm.finetune.sparse import select_top_k

    if not 0.0 < float(reserve_p) <= 1.0:
        raise InputError(f"reserve_p must be in (0, 1], got {reserve_p}")
    return select_top_k(fisher, density=float(reserve_p))
