"""The common trainer: masked-LM, causal-LM or custom objectives over Hugging Face models.

Every fine-tuning method of :mod:`kgalign.lm.finetune` plugs into :class:`Trainer` through
:class:`TrainerHook` callbacks (Child-Tuning masks gradients before the optimizer step,
LT-SFT keeps unselected weights fixed after it) or through the optimizer factory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kgalign.errors import InputError
from kgalign.lm.finetune._util import resolve_device, seed_everything

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Trainer", "TrainerHook", "TrainResult", "collate_examples", "mask_tokens"]

OBJECTIVES = ("mlm", "clm", "labels")


class TrainerHook:
    """Callbacks a fine-tuning method registers with :class:`Trainer`.

    Subclass and override what you need; every method receives the running trainer, whose
    ``model``, ``optimizer``, ``step`` (optimizer steps done so far) and ``device`` are set.
    Call order per step: forward, backward, optional gradient clipping,
    :meth:`before_optimizer_step`, ``optimizer.step()``, :meth:`after_optimizer_step`.
    """

    def on_train_begin(self, trainer: Trainer) -> None:
        """Called once, after the model is on its device and the optimizer exists."""

    def before_optimizer_step(self, trainer: Trainer) -> None:
        """Gradients are in ``param.grad``; change them in place here (masking, rescaling)."""

    def after_optimizer_step(self, trainer: Trainer) -> None:
        """Parameters were updated; restore or project them here."""

    def on_evaluate(self, trainer: Trainer, loss: float) -> None:
        """Called after each evaluation with the mean evaluation loss (nats per token)."""

    def on_train_end(self, trainer: Trainer) -> None:
        """Called once, after the last step (also after early stopping)."""


@dataclass
class TrainResult:
    """What :meth:`Trainer.train` did.

    Attributes
    ----------
    steps : int
        Optimizer steps taken.
    epochs : float
        Passes over the training data (fractional when stopped inside an epoch).
    train_losses : list of float
        Mean loss of every step (cross-entropy in nats per predicted token for ``mlm``/``clm``).
    eval_losses : list of (int, float)
        ``(step, loss)`` after each evaluation.
    best_eval_loss : float or None
        Lowest evaluation loss seen (None when nothing was evaluated).
    best_step : int or None
        Step at which ``best_eval_loss`` was reached.
    stopped_early : bool
        True when early stopping ended training.
    """

    steps: int = 0
    epochs: float = 0.0
    train_losses: list = field(default_factory=list)
    eval_losses: list = field(default_factory=list)
    best_eval_loss: float | None = None
    best_step: int | None = None
    stopped_early: bool = False


class Trainer:
    """Fine-tune a Hugging Face language model on text with an MLM or causal-LM objective.

    Parameters
    ----------
    model : torch.nn.Module
        A ``transformers`` model whose forward takes ``input_ids``, ``attention_mask`` and
        ``labels`` and returns an output with ``.loss`` (``*ForMaskedLM``, ``*ForCausalLM``,
        ``GPT2LMHeadModel``, an ``adapters``-enabled model, ...). Only parameters with
        ``requires_grad=True`` are optimised (freeze the base yourself, or let a method do it).
    tokenizer : transformers.PreTrainedTokenizerBase, optional
        Needed when training data are strings, and for ``mlm`` masking (``mask_token_id``,
        special-token ids) and padding (``pad_token_id``; for ``clm`` the EOS token is used
        when there is no pad token).
    objective : {"mlm", "clm", "labels"}
        ``"mlm"``: BERT masking (``mlm_probability`` of the non-special tokens are chosen; of
        those 80 % become the mask token, 10 % a random token, 10 % stay) and the loss is
        cross-entropy on the chosen positions (Devlin et al., 2019). ``"clm"``: next-token
        cross-entropy with ``labels = input_ids`` (padding ignored). ``"labels"``: the examples
        carry their own ``labels`` (-100 = ignored), for instance a masked fact whose only
        label is the object token. Examples that carry ``labels`` keep them under every
        objective.
    loss_fn : callable, optional
        Task-head hook: ``loss_fn(model, batch) -> torch.Tensor`` (scalar) replaces
        ``model(**batch).loss``. ``batch`` is a dict of tensors on the trainer's device.
    lr : float
        Learning rate of the default AdamW optimizer.
    weight_decay : float
        Decoupled weight decay of the default AdamW (Loshchilov & Hutter, 2019).
    batch_size : int
        Examples per step.
    max_steps : int, optional
        Total optimizer steps; when given, ``epochs`` is ignored and the data are cycled
        (reshuffled each pass) as often as needed.
    epochs : int
        Passes over the training data when ``max_steps`` is None.
    mlm_probability : float
        Proportion of tokens chosen for the MLM loss, in (0, 1].
    max_length : int
        Strings are truncated to this many tokens.
    max_grad_norm : float, optional
        Clip the global gradient L2 norm to this value before the hooks run.
    warmup_steps : int
        Linear learning-rate warm-up from 0 over this many steps; then constant, or linear
        decay to 0 at ``max_steps`` when ``schedule="linear"``.
    schedule : {"constant", "linear"}
        Learning-rate schedule after warm-up.
    optimizer_factory : callable, optional
        ``optimizer_factory(params) -> torch.optim.Optimizer`` for a list of trainable
        parameters; default ``torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)``.
        Child-Tuning passes its optimizer wrapper here.
    hooks : sequence of TrainerHook
        Method callbacks, called in order.
    eval_data : sequence, optional
        Held-out examples (same forms as training data). Masking of evaluation examples is
        drawn once, from ``seed``, so every evaluation sees the same masked tokens.
    eval_every : int, optional
        Evaluate every this many steps; default once per epoch.
    patience : int, optional
        Early stopping: stop after this many evaluations without an improvement of at least
        ``min_delta``. Without ``eval_data`` the mean training loss of each epoch is
        monitored instead.
    min_delta : float
        Smallest loss decrease (nats) that counts as an improvement.
    restore_best : bool
        After early stopping, load the trainable weights of the best evaluation back.
    device : str
        ``"auto"`` (cuda, then mps, then cpu), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        The model is moved there.
    seed : int
        Seeds Python, NumPy and torch, the shuffling and the masking; two runs with the
        same seed on the same device give the same weights.
    shuffle : bool
        Shuffle training examples every epoch.
    progress : bool
        Show a tqdm progress bar with the running loss.

    Raises
    ------
    InputError
        Unknown objective, out-of-range numbers, a tokenizer missing what the objective
        needs, or (at :meth:`train`) empty or malformed training data.
    kgalign.device.DeviceError
        ``device`` does not exist on this machine.

    Examples
    --------
    >>> trainer = Trainer(model, tokenizer, objective="mlm", lr=1e-3, max_steps=50)  # doctest: +SKIP
    >>> result = trainer.train(["paris is the capital of france", ...])  # doctest: +SKIP
    """

    def __init__(
        self,
        model,
        tokenizer=None,
        *,
        objective: str = "mlm",
        loss_fn: Callable[[Any, dict], torch.Tensor] | None = None,
        lr: float = 5e-5,
        weight_decay: float = 0.0,
        batch_size: int = 8,
        max_steps: int | None = None,
        epochs: int = 1,
        mlm_probability: float = 0.15,
        max_length: int = 128,
        max_grad_norm: float | None = None,
        warmup_steps: int = 0,
        schedule: str = "constant",
        optimizer_factory: Callable[[list], Any] | None = None,
        hooks: Sequence[TrainerHook] = (),
        eval_data: Sequence | None = None,
        eval_every: int | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
        restore_best: bool = False,
        device: str = "auto",
        seed: int = 0,
        shuffle: bool = True,
        progress: bool = True,
    ):
        if objective not in OBJECTIVES:
            raise InputError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
        if not 0.0 < mlm_probability <= 1.0:
            raise InputError(f"mlm_probability must be in (0, 1], got {mlm_probability}")
        for name, value in (("batch_size", batch_size), ("epochs", epochs), ("max_length", max_length)):
            if int(value) < 1:
                raise InputError(f"{name} must be >= 1, got {value}")
        if max_steps is not None and max_steps < 1:
            raise InputError(f"max_steps must be >= 1, got {max_steps}")
        if lr <= 0:
            raise InputError(f"lr must be > 0, got {lr}")
        if schedule not in ("constant", "linear"):
            raise InputError(f"unknown schedule {schedule!r}; use constant or linear")
        if patience is not None and patience < 1:
            raise InputError(f"patience must be >= 1, got {patience}")
        if eval_every is not None and eval_every < 1:
            raise InputError(f"eval_every must be >= 1, got {eval_every}")
        if objective == "mlm" and tokenizer is not None and tokenizer.mask_token_id is None:
            raise InputError("objective 'mlm' needs a tokenizer with a mask token")
        self.model = model
        self.tokenizer = tokenizer
        self.objective = objective
        self.loss_fn = loss_fn
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.batch_size = int(batch_size)
        self.max_steps = max_steps
        self.epochs = int(epochs)
        self.mlm_probability = float(mlm_probability)
        self.max_length = int(max_length)
        self.max_grad_norm = max_grad_norm
        self.warmup_steps = int(warmup_steps)
        self.schedule = schedule
        self.optimizer_factory = optimizer_factory
        self.hooks = list(hooks)
        self.eval_data = eval_data
        self.eval_every = eval_every
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best = restore_best
        self.device = resolve_device(device)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.progress = progress
        # a torch.optim.Optimizer, or what ``optimizer_factory`` returns (possibly a duck-typed
        # wrapper such as ChildTuningOptimizer); None until train() builds it
        self.optimizer: Any = None
        self.step = 0
        self.result: TrainResult | None = None

    # ------------------------------------------------------------------ data
    def encode(self, data: Sequence) -> list[dict]:
        """Turn training data into examples: dicts of 1-D ``int64`` tensors.

        Parameters
        ----------
        data : sequence of str or of mapping
            Strings are tokenised (with special tokens, truncated to ``max_length``).
            Mappings must hold ``input_ids`` (list or 1-D tensor of token ids) and may hold
            ``attention_mask`` and ``labels`` (same length; -100 = no loss).

        Returns
        -------
        list of dict
            One dict per example with ``input_ids`` and, when given, ``attention_mask`` and
            ``labels``, each a ``torch.int64`` tensor of shape ``(length,)``.

        Raises
        ------
        InputError
            Empty data, strings without a tokenizer, an example without ``input_ids`` or with
            fields of different lengths (the message names the example index).
        """
        import torch

        if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
            raise InputError("training data must be a sequence of strings or of examples (dicts)")
        data = list(data)
        if not data:
            raise InputError("training data is empty")
        examples: list[dict] = []
        strings = [i for i, item in enumerate(data) if isinstance(item, str)]
        if strings:
            if self.tokenizer is None:
                raise InputError("string training data need a tokenizer")
            enc = self.tokenizer([data[i] for i in strings], truncation=True, max_length=self.max_length)
            by_index = {i: enc["input_ids"][j] for j, i in enumerate(strings)}
        for i, item in enumerate(data):
            if isinstance(item, str):
                ids = by_index[i]
                if len(ids) == 0:
                    raise InputError(f"example {i}: the text {item!r} has no tokens")
                examples.append({"input_ids": torch.as_tensor(ids, dtype=torch.long)})
                continue
            if not isinstance(item, Mapping) or "input_ids" not in item:
                raise InputError(f"example {i}: expected a string or a dict with 'input_ids'")
            ex = {}
            for key in ("input_ids", "attention_mask", "labels"):
                if key in item:
                    t = torch.as_tensor(item[key], dtype=torch.long).reshape(-1)
                    ex[key] = t
            n = ex["input_ids"].numel()
            if n == 0:
                raise InputError(f"example {i}: input_ids is empty")
            for key, t in ex.items():
                if t.numel() != n:
                    raise InputError(f"example {i}: {key} has {t.numel()} entries but input_ids has {n}")
            examples.append(ex)
        return examples

    def _pad_id(self) -> int:
        tok = self.tokenizer
        if tok is None:
            return 0
        if tok.pad_token_id is not None:
            return int(tok.pad_token_id)
        if tok.eos_token_id is not None:
            return int(tok.eos_token_id)
        return 0

    def collate(self, examples: list[dict], generator=None) -> dict:
        """Pad examples into a batch and build labels for the objective.

        Parameters
        ----------
        examples : list of dict
            As returned by :meth:`encode`.
        generator : torch.Generator, optional
            Source of the MLM masking randomness.

        Returns
        -------
        dict of str to torch.Tensor
            ``input_ids``, ``attention_mask``, ``labels``, each ``int64`` of shape
            ``(batch, max_len)``.
        """
        batch = collate_examples(examples, pad_id=self._pad_id())
        need = ~batch.pop("has_labels")
        if not bool(need.any()):
            return batch
        if self.objective == "labels":
            raise InputError("objective 'labels' needs every example to carry 'labels'")
        if self.objective == "mlm":
            if self.tokenizer is None:
                raise InputError("objective 'mlm' needs a tokenizer (mask token, special tokens)")
            ids, labels = mask_tokens(
                batch["input_ids"],
                batch["attention_mask"],
                mask_token_id=self.tokenizer.mask_token_id,
                vocab_size=len(self.tokenizer),
                special_ids=self.tokenizer.all_special_ids,
                probability=self.mlm_probability,
                generator=generator,
            )
        else:  # clm: the model shifts labels itself
            ids = batch["input_ids"]
            labels = ids.masked_fill(batch["attention_mask"] == 0, -100)
        rows = need.nonzero().flatten()
        batch["input_ids"][rows] = ids[rows]
        batch["labels"][rows] = labels[rows]
        return batch

    # ------------------------------------------------------------------ loop
    def trainable_parameters(self) -> list:
        """Parameters with ``requires_grad=True``, ties counted once, in model order."""
        seen, params = set(), []
        for p in self.model.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                params.append(p)
        return params

    def _lr_factor(self, step: int, total: int | None) -> float:
        if self.warmup_steps and step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.schedule == "linear" and total:
            rest = max(1, total - self.warmup_steps)
            return max(0.0, (total - step) / rest)
        return 1.0

    def _loss(self, batch: dict):
        if self.loss_fn is not None:
            return self.loss_fn(self.model, batch)
        out = self.model(**batch)
        loss = getattr(out, "loss", None)
        if loss is None:
            raise InputError(f"{type(self.model).__name__} returned no loss; pass loss_fn= for a task head")
        return loss

    def evaluate(self, data: Sequence | None = None) -> float:
        """Mean loss over ``data`` (default ``eval_data``), weighted by predicted tokens.

        Returns
        -------
        float
            Cross-entropy in nats per predicted token (``mlm``/``clm``/``labels``); for a
            custom ``loss_fn`` the mean of the per-batch losses weighted by batch size.

        Raises
        ------
        InputError
            When there is nothing to evaluate.
        """
        if data is None:
            data = self.eval_data
        if data is None:
            raise InputError("nothing to evaluate: pass data or eval_data=")
        batches = self._fixed_batches(data)
        return self._evaluate_batches(batches)

    def _fixed_batches(self, data) -> list[dict]:
        import torch

        examples = self.encode(data)
        gen = torch.Generator().manual_seed(self.seed + 1_000_003)
        return [self.collate(chunk, gen) for chunk in _chunks(examples, self.batch_size)]

    def _evaluate_batches(self, batches: list[dict]) -> float:
        import torch

        was_training = self.model.training
        self.model.to(self.device)
        self.model.eval()
        total, weight = 0.0, 0
        with torch.no_grad():
            for batch in batches:
                batch = {k: v.to(self.device) for k, v in batch.items()}
                loss = float(self._loss(batch))
                if self.loss_fn is None:
                    labels = batch["labels"]
                    if self.objective == "clm":  # the model predicts token t+1 from t
                        labels = labels[:, 1:]
                    w = int((labels != -100).sum())
                else:
                    w = int(batch["input_ids"].shape[0])
                total += loss * max(w, 1)
                weight += max(w, 1)
        self.model.train(was_training)
        return total / weight

    def train(self, data: Sequence) -> TrainResult:
        """Run the training loop.

        Parameters
        ----------
        data : sequence of str or of mapping
            Training examples; see :meth:`encode`.

        Returns
        -------
        TrainResult
            Losses, steps, evaluation history and whether training stopped early; also kept
            as ``self.result``. The model is left in ``eval()`` mode on ``self.device``.

        Raises
        ------
        InputError
            Bad data, or a model with no trainable parameter.
        FloatingPointError
            The loss became NaN or infinite (the message gives the step); lower ``lr`` or set
            ``max_grad_norm``.
        """
        import torch
        from tqdm.auto import tqdm

        seed_everything(self.seed)
        examples = self.encode(data)
        eval_batches = self._fixed_batches(self.eval_data) if self.eval_data is not None else None
        self.model.to(self.device)
        params = self.trainable_parameters()
        if not params:
            raise InputError("the model has no trainable parameter (all requires_grad=False)")
        if self.optimizer_factory is not None:
            self.optimizer = self.optimizer_factory(params)
        else:
            self.optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        steps_per_epoch = math.ceil(len(examples) / self.batch_size)
        total = steps_per_epoch * self.epochs if self.max_steps is None else self.max_steps
        epochs = math.ceil(total / steps_per_epoch)
        order_gen = torch.Generator().manual_seed(self.seed)
        mask_gen = torch.Generator().manual_seed(self.seed + 1)
        result = TrainResult()
        self.result = result
        self.step = 0
        best_state = None
        bad_evals = 0
        monitor_train = eval_batches is None and self.patience is not None
        for hook in self.hooks:
            hook.on_train_begin(self)
        self.model.train()
        bar = tqdm(total=total, disable=not self.progress, desc="fine-tune", leave=False)
        try:
            for epoch in range(epochs):
                if self.shuffle:
                    order = torch.randperm(len(examples), generator=order_gen).tolist()
                else:
                    order = list(range(len(examples)))
                epoch_losses = []
                for chunk_idx, chunk in enumerate(_chunks(order, self.batch_size)):
                    if self.step >= total:
                        break
                    batch = self.collate([examples[i] for i in chunk], mask_gen)
                    batch = {k: v.to(self.device) for k, v in batch.items()}
                    factor = self._lr_factor(self.step, total)
                    for g, lr0 in zip(self.optimizer.param_groups, base_lrs):
                        g["lr"] = lr0 * factor
                    self.optimizer.zero_grad(set_to_none=True)
                    loss = self._loss(batch)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"non-finite loss {float(loss)} at step {self.step}")
                    loss.backward()
                    if self.max_grad_norm is not None:
                        torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
                    for hook in self.hooks:
                        hook.before_optimizer_step(self)
                    self.optimizer.step()
                    for hook in self.hooks:
                        hook.after_optimizer_step(self)
                    self.step += 1
                    value = float(loss.detach())
                    result.train_losses.append(value)
                    epoch_losses.append(value)
                    result.steps = self.step
                    result.epochs = epoch + (chunk_idx + 1) / steps_per_epoch
                    bar.update(1)
                    bar.set_postfix(loss=f"{value:.4f}")
                    due = (self.eval_every is not None and self.step % self.eval_every == 0) or (
                        self.eval_every is None and (chunk_idx + 1) == steps_per_epoch
                    )
                    if eval_batches is not None and due:
                        ev = self._evaluate_batches(eval_batches)
                        stop, bad_evals, best_state = self._record(result, ev, bad_evals, best_state)
                        if stop:
                            result.stopped_early = True
                            break
                if result.stopped_early or self.step >= total:
                    break
                if monitor_train and epoch_losses:
                    ev = sum(epoch_losses) / len(epoch_losses)
                    stop, bad_evals, best_state = self._record(result, ev, bad_evals, best_state)
                    if stop:
                        result.stopped_early = True
                        break
        finally:
            bar.close()
        if result.stopped_early and self.restore_best and best_state is not None:
            with torch.no_grad():
                for p, saved in zip(params, best_state):
                    p.copy_(saved)
        self.model.eval()
        for hook in self.hooks:
            hook.on_train_end(self)
        return result

    def _record(self, result: TrainResult, loss: float, bad: int, best_state):
        result.eval_losses.append((self.step, loss))
        for hook in self.hooks:
            hook.on_evaluate(self, loss)
        if result.best_eval_loss is None or loss < result.best_eval_loss - self.min_delta:
            result.best_eval_loss = loss
            result.best_step = self.step
            if self.restore_best:
                best_state = [p.detach().clone() for p in self.trainable_parameters()]
            return False, 0, best_state
        bad += 1
        return (self.patience is not None and bad >= self.patience), bad, best_state


def _chunks(seq, size):
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def collate_examples(examples: list[dict], *, pad_id: int = 0) -> dict:
    """Right-pad examples to one length.

    Parameters
    ----------
    examples : list of dict
        Each with a 1-D ``input_ids`` tensor and optionally ``attention_mask`` and ``labels``.
    pad_id : int
        Token id written into padding.

    Returns
    -------
    dict
        ``input_ids`` and ``attention_mask`` (``int64``, shape ``(batch, max_len)``),
        ``labels`` (``int64``, -100 at padding and for examples without labels) and
        ``has_labels`` (``bool``, shape ``(batch,)``).
    """
    import torch

    n = len(examples)
    width = max(int(ex["input_ids"].numel()) for ex in examples)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    att = torch.zeros((n, width), dtype=torch.long)
    labels = torch.full((n, width), -100, dtype=torch.long)
    has = torch.zeros(n, dtype=torch.bool)
    for i, ex in enumerate(examples):
        k = int(ex["input_ids"].numel())
        ids[i, :k] = ex["input_ids"]
        att[i, :k] = ex["attention_mask"] if "attention_mask" in ex else 1
        if "labels" in ex:
            labels[i, :k] = ex["labels"]
            has[i] = True
    return {"input_ids": ids, "attention_mask": att, "labels": labels, "has_labels": has}


def mask_tokens(
    input_ids,
    attention_mask,
    *,
    mask_token_id: int,
    vocab_size: int,
    special_ids: Sequence[int] = (),
    probability: float = 0.15,
    generator=None,
):
    """BERT masking (Devlin et al., 2019): choose tokens for the MLM loss and corrupt them.

    Parameters
    ----------
    input_ids, attention_mask : torch.Tensor
        ``int64``, shape ``(batch, length)``.
    mask_token_id : int
        Id of the mask token.
    vocab_size : int
        Random replacements are drawn uniformly from ``[0, vocab_size)``.
    special_ids : sequence of int
        Token ids never chosen (CLS, SEP, PAD, ...).
    probability : float
        Chance that a non-special, non-padding token is chosen.
    generator : torch.Generator, optional
        Randomness source (CPU).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Corrupted ``input_ids`` (80 % of chosen tokens -> mask, 10 % -> random, 10 % kept)
        and ``labels`` (the original id at chosen positions, -100 elsewhere), both of shape
        ``(batch, length)``. Each row with a candidate token gets at least one chosen token,
        so no batch row is without loss.
    """
    import torch

    ids = input_ids.clone()
    candidate = attention_mask.bool().clone()
    for sid in set(int(s) for s in special_ids):
        candidate &= ids != sid
    draw = torch.rand(ids.shape, generator=generator)
    chosen = (draw < probability) & candidate
    # guarantee one chosen token per row that has a candidate
    empty = ~chosen.any(dim=1) & candidate.any(dim=1)
    if empty.any():
        scores = torch.where(candidate, draw, torch.full_like(draw, 2.0))
        first = scores.argmin(dim=1)
        rows = empty.nonzero().flatten()
        chosen[rows, first[rows]] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    action = torch.rand(ids.shape, generator=generator)
    to_mask = chosen & (action < 0.8)
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    ids[to_mask] = mask_token_id
    randoms = torch.randint(vocab_size, ids.shape, generator=generator)
    ids[to_random] = randoms[to_random]
    return ids, labels
