"""Composable sparse fine-tuning for zero-shot cross-lingual transfer.

Source: A. Ansell, E. M. Ponti, A. Korhonen, I. Vulić. "Composable Sparse Fine-Tuning for
Cross-Lingual Transfer." ACL 2022, section 3 and figure 1; reference code
cambridgeltl/composable-sft (``SFT.apply``/``revert``, ``run_mlm.py``,
``run_token_classification.py``). The recipe:

1. a language SFT ``phi_L`` per language: LT-SFT with masked language modelling on that
   language's unlabelled text (:func:`train_language_sft`);
2. a task SFT ``phi_T`` trained on top of the source language's SFT: ``phi_S`` is applied
   and ``phi_T`` is learned from ``theta + phi_S`` (it stores only its own change;
   :func:`train_task_sft`);
3. zero-shot transfer: ``theta + phi_T + phi_L`` for a target language ``L``, i.e. the
   source SFT swapped for the target one (:func:`cross_lingual_transfer`).

A task model's new head is fine-tuned densely and stored as a diff of every entry (the
reference stores it as fully specified "abs" parameters; both compose the same way because
the head's starting weights are part of ``theta``).
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from kgalign.errors import InputError
from kgalign.lm.finetune.sparse import SparseDiff, lt_sft

__all__ = [
    "applied",
    "compose",
    "untie_output_embeddings",
    "with_task_head",
    "train_language_sft",
    "train_task_sft",
    "token_accuracy",
    "cross_lingual_transfer",
    "LANGUAGE_FREEZE",
    "TASK_FREEZE",
]

logger = logging.getLogger(__name__)

#: groups held fixed for a language SFT: the (untied) MLM decoder and LayerNorm, as
#: ``run_mlm.py --freeze_decoder --freeze_layer_norm``; the input embeddings are trained
LANGUAGE_FREEZE = ("head", "layer_norm")
#: groups held fixed for a task SFT: LayerNorm (``--freeze_layer_norm``); the head is dense
TASK_FREEZE = ("layer_norm",)


def compose(model, *diffs: SparseDiff):
    """Apply sparse diffs to ``model`` in place, one after the other.

    Parameters
    ----------
    model : torch.nn.Module
        Same architecture as the diffs' source (only the named tensors are touched).
    *diffs : SparseDiff
        Applied in the given order. The order matters only for floating-point rounding:
        applying ``phi_S`` then ``phi_T`` reproduces a task SFT trained on top of ``phi_S``
        bit for bit (see :func:`train_task_sft`).

    Returns
    -------
    torch.nn.Module
        ``model``.

    Raises
    ------
    InputError
        A diff names a tensor the model lacks or has another shape (checked before any write).
    """
    for d in diffs:
        d._targets(model)  # check every diff before writing anything
    for d in diffs:
        d.apply(model)
    return model


@contextlib.contextmanager
def applied(model, *diffs: SparseDiff) -> Iterator:
    """Context manager: the model with ``diffs`` applied (in order), restored exactly on exit.

    The entries the diffs touch are saved before applying and written back on exit (also
    when the body raises), so every weight is restored bit for bit; subtracting the diffs
    again would be exact only up to rounding.

    Parameters
    ----------
    model : torch.nn.Module
        Changed in place inside the block.
    *diffs : SparseDiff
        Applied with :func:`compose`.

    Yields
    ------
    torch.nn.Module
        ``model``.

    Examples
    --------
    >>> with applied(task_model, phi_target, phi_task):  # doctest: +SKIP
    ...     accuracy = token_accuracy(task_model, target_test)
    """
    import torch

    saved: dict[int, tuple[Any, Any, Any]] = {}
    for d in diffs:
        for _name, target, idx, _val in d._targets(model):
            key = id(target)
            prev = saved.get(key)
            idx = idx if prev is None else torch.unique(torch.cat([prev[1], idx]))
            saved[key] = (target, idx, None)
    with torch.no_grad():
        for key, (target, idx, _) in list(saved.items()):
            saved[key] = (target, idx, target.detach().reshape(-1)[idx.to(target.device)].clone())
    compose(model, *diffs)
    try:
        yield model
    finally:
        with torch.no_grad():
            for target, idx, values in saved.values():
                if target.is_contiguous():
                    target.view(-1)[idx.to(target.device)] = values
                else:
                    flat = target.reshape(-1).clone()
                    flat[idx.to(target.device)] = values
                    target.copy_(flat.view_as(target))


def untie_output_embeddings(model):
    """Give the MLM decoder its own frozen copy of the input embeddings (in place).

    As ``run_mlm.py --freeze_decoder`` of the reference: the output projection keeps the
    pre-trained embeddings and is held fixed, while the input embeddings stay trainable, so a
    language SFT may change them. The model's config records ``tie_word_embeddings=False``.

    Returns
    -------
    torch.nn.Module
        ``model``.
    """
    import torch

    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if out is None or emb is None or out.weight is not emb.weight:
        return model
    out.weight = torch.nn.Parameter(emb.weight.detach().clone(), requires_grad=False)
    model.config.tie_word_embeddings = False
    return model


def with_task_head(lm_model, model_class, *, seed: int = 0, **config):
    """A task model (``model_class``) whose base model has the LM's weights.

    Parameters
    ----------
    lm_model : transformers.PreTrainedModel
        The pre-trained (masked) language model, ``theta``.
    model_class : type
        A ``transformers`` task class of the same architecture, e.g.
        ``XLMRobertaForTokenClassification``; its base model must have no new parameters
        (the head is new and randomly initialised from ``seed``).
    seed : int
        Seeds torch before the head is drawn.
    **config
        Config overrides (``num_labels=...``).

    Returns
    -------
    transformers.PreTrainedModel
        In ``eval()`` mode, same device and dtype as ``lm_model``.

    Raises
    ------
    InputError
        The task model's base model has parameters the LM lacks.
    """
    import torch

    cfg = copy.deepcopy(lm_model.config)
    for key, value in config.items():
        setattr(cfg, key, value)
    torch.manual_seed(seed)
    task = model_class(cfg)
    missing, _unexpected = task.base_model.load_state_dict(lm_model.base_model.state_dict(), strict=False)
    if missing:
        raise InputError(f"{model_class.__name__}: base-model weights missing from the LM: {missing[:5]}")
    task.to(next(lm_model.parameters()).device)
    task.eval()
    return task


def _head(model) -> Callable[[str], bool]:
    prefix = getattr(model, "base_model_prefix", "") or ""
    return lambda name: not name.startswith(prefix + ".")


def train_language_sft(
    lm_model,
    texts: Sequence[str],
    *,
    tokenizer,
    k: int | None = None,
    density: float | None = None,
    freeze: Sequence[str] = LANGUAGE_FREEZE,
    **lt_sft_kwargs,
) -> SparseDiff:
    """A language SFT ``phi_L``: LT-SFT with masked language modelling on one language's text.

    Works on a copy: ``lm_model`` is not changed. The copy's decoder is untied from the
    input embeddings and frozen (:func:`untie_output_embeddings`), so ``phi_L`` holds
    input-embedding and Transformer-body entries only and applies to any model with the same
    base model (a task model).

    Parameters
    ----------
    lm_model : transformers.PreTrainedModel
        A masked LM, ``theta``.
    texts : sequence of str
        Unlabelled text of the language.
    tokenizer : transformers.PreTrainedTokenizerBase
        With a mask token.
    k, density : int or float
        Ticket size, exactly one (see :func:`~kgalign.lm.finetune.sparse.lt_sft`).
    freeze : sequence of str
        Groups held fixed (default decoder/head and LayerNorm, as the reference's language
        SFTs).
    **lt_sft_kwargs
        Other :func:`~kgalign.lm.finetune.sparse.lt_sft` arguments (``full_steps``,
        ``sparse_steps``, ``l1_reg``, ``trainer_kwargs``...; the objective is ``"mlm"``).

    Returns
    -------
    SparseDiff
        ``phi_L`` with ``nnz == k``.
    """
    model = untie_output_embeddings(copy.deepcopy(lm_model))
    kw = dict(lt_sft_kwargs.pop("trainer_kwargs", None) or {})
    kw["objective"] = "mlm"
    return lt_sft(
        model, list(texts), k=k, density=density, tokenizer=tokenizer, freeze=freeze, trainer_kwargs=kw, **lt_sft_kwargs
    )


def train_task_sft(
    task_model,
    data: Sequence,
    *,
    language_sft: SparseDiff | None = None,
    k: int | None = None,
    density: float | None = None,
    freeze: Sequence[str] = TASK_FREEZE,
    dense: Callable[[str], bool] | None = None,
    tokenizer=None,
    **lt_sft_kwargs,
) -> SparseDiff:
    """A task SFT ``phi_T`` trained on top of a language SFT (Ansell et al., 2022, sec. 3.2).

    ``language_sft`` is applied to ``task_model`` first, then LT-SFT learns the task from
    ``theta + phi_S``. ``phi_T`` stores only its own change: the model ends at
    ``theta + phi_S + phi_T`` and ``compose(theta, phi_S, phi_T)`` reproduces it bit for bit.

    Parameters
    ----------
    task_model : transformers.PreTrainedModel
        ``theta`` with a task head (see :func:`with_task_head`). Changed in place.
    data : sequence
        Labelled examples in the source language (dicts with ``input_ids`` and ``labels``
        of the same length, -100 = ignored), as for the ``"labels"`` objective.
    language_sft : SparseDiff, optional
        ``phi_S``, the source language's SFT; None trains on ``theta`` alone.
    k, density : int or float
        Ticket size of the body, exactly one.
    freeze : sequence of str
        Groups held fixed (default LayerNorm, as the reference's task scripts).
    dense : callable, optional
        ``dense(name) -> bool``: parameters trained fully; default the head (every
        parameter outside ``task_model.base_model``).
    tokenizer : transformers.PreTrainedTokenizerBase, optional
        For padding.
    **lt_sft_kwargs
        Other :func:`~kgalign.lm.finetune.sparse.lt_sft` arguments; ``trainer_kwargs``
        default to the ``"labels"`` objective.

    Returns
    -------
    SparseDiff
        ``phi_T``: ``k`` body entries plus every head entry.
    """
    if language_sft is not None:
        compose(task_model, language_sft)
    kw = dict(lt_sft_kwargs.pop("trainer_kwargs", None) or {})
    kw.setdefault("objective", "labels")
    return lt_sft(
        task_model,
        data,
        k=k,
        density=density,
        tokenizer=tokenizer,
        freeze=freeze,
        dense=dense if dense is not None else _head(task_model),
        trainer_kwargs=kw,
        **lt_sft_kwargs,
    )


def token_accuracy(model, data: Sequence[Mapping], *, batch_size: int = 64) -> float:
    """Proportion of labelled tokens whose arg-max tag is the gold tag.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A token-classification model (logits of shape ``(batch, length, num_labels)``).
    data : sequence of mapping
        ``input_ids`` and ``labels`` (same length; -100 = not scored).
    batch_size : int
        Examples per forward pass.

    Returns
    -------
    float
        In [0, 1]. Ties between tags count as errors unless the gold tag is the only maximum.

    Raises
    ------
    InputError
        No labelled token.
    """
    import torch

    from kgalign.lm.finetune.trainer import collate_examples

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    right = total = 0
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            chunk = [
                {k: torch.as_tensor(ex[k], dtype=torch.long) for k in ("input_ids", "labels")}
                for ex in data[start : start + batch_size]
            ]
            batch = collate_examples(chunk, pad_id=0)
            labels = batch["labels"].to(device)
            logits = model(
                input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)
            ).logits
            scored = labels != -100
            gold = logits.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            others = logits.scatter(-1, labels.clamp(min=0).unsqueeze(-1), float("-inf")).amax(-1)
            right += int(((gold > others) & scored).sum())  # pessimistic ties
            total += int(scored.sum())
    model.train(was_training)
    if not total:
        raise InputError("token_accuracy: no labelled token")
    return right / total


def cross_lingual_transfer(
    lm_model,
    task_model,
    *,
    tokenizer,
    source: str,
    target: str,
    texts: Mapping[str, Sequence[str]],
    task_train: Sequence,
    task_test: Mapping[str, Sequence],
    language_kwargs: Mapping[str, Any],
    task_kwargs: Mapping[str, Any],
    score: Callable[[Any, Sequence], float] = token_accuracy,
) -> dict:
    """Run the composable-SFT recipe and its controls for one source/target language pair.

    Trains ``phi_source`` and ``phi_target`` (:func:`train_language_sft`), the task SFT
    ``phi_T`` on top of ``phi_source`` and a bare task SFT ``phi_T0`` on ``theta`` alone
    (:func:`train_task_sft`), then scores, each under :func:`applied` on ``task_model``:

    * ``source_in_language``: ``theta + phi_source + phi_T`` on the source test set (the
      upper reference);
    * ``target_swapped``: ``theta + phi_target + phi_T`` on the target test set (the recipe);
    * ``target_source_sft_kept``: ``theta + phi_source + phi_T`` on the target test set;
    * ``target_bare_task_sft``: ``theta + phi_T0`` on the target test set;
    * ``source_bare_task_sft``: ``theta + phi_T0`` on the source test set.

    Parameters
    ----------
    lm_model : transformers.PreTrainedModel
        Masked LM ``theta`` (not changed).
    task_model : transformers.PreTrainedModel
        ``theta`` with the task head (:func:`with_task_head`); not changed (bit for bit).
    tokenizer : transformers.PreTrainedTokenizerBase
        Shared by both languages.
    source, target : str
        Keys of ``texts`` and ``task_test``.
    texts : Mapping[str, sequence of str]
        Unlabelled text per language.
    task_train : sequence
        Labelled source-language examples.
    task_test : Mapping[str, sequence]
        Labelled test examples per language.
    language_kwargs, task_kwargs : Mapping
        Keyword arguments of :func:`train_language_sft` and :func:`train_task_sft` (ticket
        size, steps, ``trainer_kwargs``).
    score : callable
        ``score(model, examples) -> float`` (default :func:`token_accuracy`).

    Returns
    -------
    dict
        ``scores`` (the five numbers above), ``diffs`` (``{"source", "target", "task",
        "bare_task"}`` -> SparseDiff) and ``nnz`` per diff.

    Raises
    ------
    InputError
        ``source`` or ``target`` missing from ``texts`` or ``task_test``, or equal.
    """
    for lang in (source, target):
        if lang not in texts or lang not in task_test:
            raise InputError(f"cross_lingual_transfer: language {lang!r} has no text or no test set")
    if source == target:
        raise InputError("cross_lingual_transfer: source and target are the same language")
    phi = {
        lang: train_language_sft(lm_model, texts[lang], tokenizer=tokenizer, **language_kwargs)
        for lang in (source, target)
    }
    task = train_task_sft(
        copy.deepcopy(task_model), task_train, language_sft=phi[source], tokenizer=tokenizer, **task_kwargs
    )
    bare = train_task_sft(copy.deepcopy(task_model), task_train, tokenizer=tokenizer, **task_kwargs)
    runs = {
        "source_in_language": ((phi[source], task), source),
        "target_swapped": ((phi[target], task), target),
        "target_source_sft_kept": ((phi[source], task), target),
        "target_bare_task_sft": ((bare,), target),
        "source_bare_task_sft": ((bare,), source),
    }
    scores = {}
    for key, (diffs, lang) in runs.items():
        with applied(task_model, *diffs):
            scores[key] = float(score(task_model, task_test[lang]))
        logger.info("composable SFT %s (%s): %.4f", key, lang, scores[key])
    out = {"source": phi[source], "target": phi[target], "task": task, "bare_task": bare}
    return {"scores": scores, "diffs": out, "nnz": {k: d.nnz for k, d in out.items()}}
