"""Bottleneck adapters and MAD-X through AdapterHub's ``adapters`` library.

Sources:

* N. Houlsby et al. "Parameter-Efficient Transfer Learning for NLP." ICML 2019
  (two bottleneck adapters per layer: ``"houlsby"``).
* J. Pfeiffer, A. Kamath, A. Rücklé, K. Cho, I. Gurevych. "AdapterFusion." EACL 2021
  (one bottleneck adapter after the feed-forward block: ``"pfeiffer"``).
* J. Pfeiffer, I. Vulić, I. Gurevych, S. Ruder. "MAD-X: An Adapter-Based Framework for
  Multi-Task Cross-Lingual Transfer." EMNLP 2020 (invertible adapters on the embeddings,
  language adapters trained with MLM on a frozen base, a task adapter stacked on the
  source-language adapter, zero-shot transfer by swapping in the target-language adapter).
  Language adapters use reduction factor 2, task adapters 16 (sec. 4); MAD-X 2.0 (the
  AdapterHub recipe) drops the language adapter of the last layer (``leave_out``).

The invertible adapter is applied to the input embeddings and its inverse to the last hidden
state before the (tied) output embeddings. ``adapters`` runs the inverse only in its flexible
prediction heads, so MAD-X language adapters need a model from :func:`lm_adapter_model`
(``AutoAdapterModel`` with a masked-LM or causal-LM head); on a plain ``*ForMaskedLM`` the
output side of the invertible adapter is silently missing, and this module refuses it.

The adapter layers are the ``adapters`` library's (Poth et al., EMNLP 2023 demo); this module
only wires them to :class:`~kgalign.lm.finetune.trainer.Trainer` and keeps files safe: adapters
are saved and loaded as safetensors only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kgalign.errors import InputError, OutputExistsError
from kgalign.lm._extra import require
from kgalign.lm.finetune.trainer import Trainer, TrainResult

__all__ = [
    "ADAPTER_KINDS",
    "LANGUAGE_REDUCTION_FACTOR",
    "TASK_REDUCTION_FACTOR",
    "lm_adapter_model",
    "has_flex_lm_head",
    "init_adapters",
    "add_adapter",
    "train_language_adapter",
    "train_task_adapter",
    "activate",
    "save_adapter",
    "load_adapter",
    "trainable_summary",
]

# kgalign name -> adapters config name
ADAPTER_KINDS = {
    "pfeiffer": "seq_bn",
    "houlsby": "double_seq_bn",
    "pfeiffer+inv": "seq_bn_inv",
    "houlsby+inv": "double_seq_bn_inv",
}
#: MAD-X (Pfeiffer et al., 2020, sec. 4): language adapters 2, task adapters 16.
LANGUAGE_REDUCTION_FACTOR = 2
TASK_REDUCTION_FACTOR = 16


def has_flex_lm_head(model) -> bool:
    """Whether ``model`` is an ``adapters`` flexible-head model whose active head is a LM head."""
    heads = getattr(model, "heads", None)
    active = getattr(model, "active_head", None)
    if heads is None or active is None or active not in heads:
        return False
    return type(heads[active]).__name__ in ("BertStyleMaskedLMHead", "CausalLMHead")


def lm_adapter_model(model):
    """The same language model as an ``adapters`` flexible-head model (``AutoAdapterModel``).

    The weights of ``model`` (base and static LM head, e.g. ``BertForMaskedLM.cls``) are
    written to a temporary folder as safetensors and read back by
    ``adapters.AutoAdapterModel.from_pretrained``, which converts the static head into a
    flexible ``masked_lm`` or ``causal_lm`` head. The flexible head applies the inverse of the
    active invertible adapter before the output embeddings, as MAD-X requires.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A masked LM (``BertForMaskedLM``, ``XLMRobertaForMaskedLM``, ...) or causal LM
        (``GPT2LMHeadModel``, ...). A model that already has a flexible LM head is returned
        unchanged.

    Returns
    -------
    adapters model
        ``*AdapterModel`` in the mode (train/eval) of ``model``, with the same logits as
        ``model`` while no adapter is active.

    Raises
    ------
    InputError
        ``adapters`` does not support the architecture or found no LM head to convert.
    """
    if has_flex_lm_head(model):
        return model
    adapters = require("adapters")
    import logging

    training = model.training
    with tempfile.TemporaryDirectory(prefix="kgalign-madx-") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        quiet = logging.getLogger("transformers.modeling_utils")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # the unused pooler is "newly initialised"
        try:
            flex = adapters.AutoAdapterModel.from_pretrained(tmp, use_safetensors=True)
        except (ValueError, KeyError, OSError) as exc:
            raise InputError(f"adapters cannot load {type(model).__name__} with a flexible head: {exc}") from None
        finally:
            quiet.setLevel(level)
    if not has_flex_lm_head(flex):
        raise InputError(f"{type(model).__name__} has no masked-LM or causal-LM head to convert")
    flex.train(training)
    return flex


def init_adapters(model):
    """Give a Hugging Face model adapter support (``adapters.init``), once.

    Returns
    -------
    transformers.PreTrainedModel
        ``model`` itself (changed in place).

    Raises
    ------
    InputError
        The architecture is not supported by ``adapters``.
    """
    adapters = require("adapters")

    if not hasattr(model, "adapters_config"):
        try:
            adapters.init(model)
        except (ValueError, KeyError, AttributeError) as exc:
            raise InputError(f"adapters does not support {type(model).__name__}: {exc}") from None
    return model


def add_adapter(
    model,
    name: str,
    kind: str = "pfeiffer",
    *,
    reduction_factor: int = 16,
    non_linearity: str = "relu",
    leave_out: Sequence[int] = (),
    overwrite: bool = False,
) -> str:
    """Add a bottleneck adapter to every transformer layer.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Any model ``adapters`` supports (BERT, XLM-R, GPT-2, ...); :func:`init_adapters` is
        called for you.
    name : str
        Adapter name (for instance a language code ``"en"`` or a task ``"facts"``).
    kind : {"pfeiffer", "houlsby", "pfeiffer+inv", "houlsby+inv"}
        Pfeiffer (one bottleneck per layer, after the feed-forward block), Houlsby (two:
        after attention and after the feed-forward block); ``+inv`` adds an invertible
        adapter on the input embeddings (MAD-X language adapters).
    reduction_factor : int
        Hidden size divided by the bottleneck size.
    non_linearity : str
        Bottleneck activation.
    leave_out : sequence of int
        Layer indices (0-based) that get no bottleneck adapter (MAD-X 2.0 leaves out the
        last layer's language adapter: ``leave_out=[n_layers - 1]``).
    overwrite : bool
        Replace an existing adapter of that name.

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    InputError
        Unknown kind, a layer index out of range, or the name exists and ``overwrite`` is
        false.
    """
    adapters = require("adapters")

    if kind not in ADAPTER_KINDS:
        raise InputError(f"unknown adapter kind {kind!r}; use one of {', '.join(ADAPTER_KINDS)}")
    if int(reduction_factor) < 1:
        raise InputError(f"reduction_factor must be >= 1, got {reduction_factor}")
    init_adapters(model)
    if name in model.adapters_config and not overwrite:
        raise InputError(f"the model already has an adapter named {name!r}")
    n_layers = getattr(model.config, "num_hidden_layers", None) or getattr(model.config, "n_layer", None)
    leave_out = sorted({int(i) for i in leave_out})
    if n_layers is not None and any(not 0 <= i < n_layers for i in leave_out):
        raise InputError(f"leave_out {leave_out} names layers outside 0..{n_layers - 1}")
    config = adapters.AdapterConfig.load(
        ADAPTER_KINDS[kind],
        reduction_factor=int(reduction_factor),
        non_linearity=non_linearity,
        leave_out=leave_out,
    )
    model.add_adapter(name, config=config, overwrite_ok=overwrite)
    return name


def _check_names(model, *names: str) -> None:
    init_adapters(model)
    for n in names:
        if n not in model.adapters_config:
            raise InputError(f"the model has no adapter named {n!r}")


def _freeze_all_but(model, name: str, *, train_head: bool = False) -> None:
    """Only the adapter ``name`` (and, with ``train_head``, the output head) stays trainable.

    On a flexible-head model that has a head named ``name``, only that head is the output
    head (the LM head and other tasks' heads stay frozen).

    ``model.train_adapter`` freezes the base model but not a static Hugging Face head such as
    ``cls.predictions``; MAD-X trains language adapters on a fully frozen model.
    """
    AdapterLoader = require("adapters.loading").AdapterLoader

    keep = AdapterLoader(model).filter_func(name)
    base_prefix = getattr(model, "base_model_prefix", "")
    flex = getattr(model, "heads", None) is not None and name in model.heads
    for pname, p in model.named_parameters():
        if flex:  # a flexible-head model: only the head of the same name (not the LM head)
            is_head = pname.startswith(f"heads.{name}.")
        else:
            is_head = bool(base_prefix) and not pname.startswith(base_prefix + ".")
        p.requires_grad_(bool(keep(pname)) or (train_head and is_head))


def trainable_summary(model) -> dict:
    """Counts of trainable and frozen parameters: ``{"trainable": int, "frozen": int}``."""
    out = {"trainable": 0, "frozen": 0}
    for p in model.parameters():
        out["trainable" if p.requires_grad else "frozen"] += p.numel()
    return out


def train_language_adapter(
    model,
    tokenizer,
    data: Sequence,
    language: str,
    *,
    kind: str = "pfeiffer+inv",
    reduction_factor: int = LANGUAGE_REDUCTION_FACTOR,
    leave_out: Sequence[int] = (),
    objective: str = "mlm",
    **trainer_kwargs: Any,
) -> TrainResult:
    """Train a MAD-X language adapter with MLM (or causal LM) on a frozen base model.

    Adds the adapter if the model has none of that name, freezes every other weight (the
    LM head included) and trains on ``data`` with :class:`Trainer`.

    Parameters
    ----------
    model : adapters model or transformers.PreTrainedModel
        From :func:`lm_adapter_model` (masked-LM head for ``objective="mlm"``, causal-LM
        head for ``"clm"``). A plain Hugging Face LM is accepted only for kinds without an
        invertible adapter.
    tokenizer : transformers.PreTrainedTokenizerBase
        Tokenizer of the model.
    data : sequence of str or of mapping
        Monolingual text of the language.
    language : str
        Adapter name.
    kind, reduction_factor, leave_out
        See :func:`add_adapter`. MAD-X: Pfeiffer + invertible adapters, reduction factor 2
        (task adapters: 16); MAD-X 2.0: ``leave_out=[last layer]``.
    objective : {"mlm", "clm"}
        Training objective.
    **trainer_kwargs
        Further :class:`Trainer` options (``lr``, ``max_steps``, ``seed``, ``device``...).

    Returns
    -------
    TrainResult
        From :meth:`Trainer.train`. Afterwards only ``language`` is active.

    Raises
    ------
    InputError
        An invertible kind on a model without a flexible LM head (the inverse would never
        run at the output; convert with :func:`lm_adapter_model`).
    """
    if kind.endswith("+inv") and not has_flex_lm_head(model):
        raise InputError(
            f"{type(model).__name__} has a static LM head, which skips the invertible adapter's inverse "
            "at the output; convert it with kgalign.lm.finetune.madx.lm_adapter_model(model)"
        )
    init_adapters(model)
    if language not in model.adapters_config:
        add_adapter(model, language, kind, reduction_factor=reduction_factor, leave_out=leave_out)
    model.train_adapter(language)
    _freeze_all_but(model, language)
    result = Trainer(model, tokenizer, objective=objective, **trainer_kwargs).train(data)
    model.set_active_adapters(language)
    return result


def train_task_adapter(
    model,
    tokenizer,
    data: Sequence,
    task: str,
    language: str | None,
    *,
    kind: str = "pfeiffer",
    reduction_factor: int = TASK_REDUCTION_FACTOR,
    objective: str = "labels",
    train_head: bool = False,
    **trainer_kwargs: Any,
) -> TrainResult:
    """Train a MAD-X task adapter stacked on a frozen source-language adapter.

    The active setup during training is ``Stack(language, task)``: the language adapter
    runs first and stays frozen, only the task adapter learns (Pfeiffer et al., 2020, §2.3).

    Parameters
    ----------
    model, tokenizer
        As for :func:`train_language_adapter`; ``language`` must already exist.
    data : sequence
        Task examples in the source language (dicts with ``labels`` for ``objective="labels"``,
        or anything a custom ``loss_fn`` understands).
    task : str
        Task adapter name (added when missing).
    language : str or None
        Source-language adapter name; None trains the task adapter alone (no language
        adapter: the baseline MAD-X is compared with).
    kind, reduction_factor
        See :func:`add_adapter`.
    objective : {"labels", "mlm", "clm"}
        Training objective; pass ``loss_fn=`` for a task head.
    train_head : bool
        Also train the model's own output head (parameters outside ``model.base_model``),
        for instance a classification head; the base model stays frozen. On a
        flexible-head model with a head named ``task`` (``add_classification_head(task,
        ...)``), only that head.
    **trainer_kwargs
        Further :class:`Trainer` options.

    Returns
    -------
    TrainResult
        Afterwards ``Stack(language, task)`` (or ``task`` alone) is active.

    Raises
    ------
    InputError
        ``language`` is not an adapter of the model.
    """
    Stack = require("adapters.composition").Stack

    if language is not None:
        _check_names(model, language)
    init_adapters(model)
    if task not in model.adapters_config:
        add_adapter(model, task, kind, reduction_factor=reduction_factor)
    model.train_adapter(task)  # freezes the base and every other adapter
    _freeze_all_but(model, task, train_head=train_head)
    setup = Stack(language, task) if language is not None else task
    model.set_active_adapters(setup)
    result = Trainer(model, tokenizer, objective=objective, **trainer_kwargs).train(data)
    model.set_active_adapters(setup)
    return result


def activate(model, *, language: str | None = None, task: str | None = None):
    """Choose the adapters used in the forward pass (zero-shot transfer: swap ``language``).

    Parameters
    ----------
    model : transformers.PreTrainedModel
        With adapters.
    language, task : str, optional
        ``Stack(language, task)`` when both are given, the one given otherwise, and no
        adapter (the bare base model) when neither is.

    Returns
    -------
    transformers.PreTrainedModel
        ``model``.

    Raises
    ------
    InputError
        An unknown adapter name.
    """
    Stack = require("adapters.composition").Stack

    names = [n for n in (language, task) if n is not None]
    _check_names(model, *names)
    if not names:
        model.set_active_adapters(None)
    elif len(names) == 1:
        model.set_active_adapters(names[0])
    else:
        model.set_active_adapters(Stack(*names))
    return model


_WEIGHTS = "adapter.safetensors"  # adapters.utils.SAFE_WEIGHTS_NAME


def save_adapter(model, name: str, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Save one adapter (weights as safetensors, config as JSON) into the folder ``path``.

    The folder is written in a temporary sibling and moved into place.

    Raises
    ------
    InputError
        Unknown adapter.
    OutputExistsError
        ``path`` exists and ``force`` is false.
    """
    _check_names(model, name)
    target = Path(path)
    if target.exists() and not force:
        raise OutputExistsError(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        model.save_adapter(str(tmp), name, with_head=False, use_safetensors=True)
        if not (tmp / _WEIGHTS).is_file():  # pragma: no cover - library contract
            raise InputError(f"adapters did not write {_WEIGHTS}", tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_adapter(model, path: str | os.PathLike, *, load_as: str | None = None) -> str:
    """Load an adapter saved by :func:`save_adapter` (safetensors only; nothing is unpickled).

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Same architecture as the adapter's model.
    path : str or os.PathLike
        The adapter folder.
    load_as : str, optional
        Name under which to load it (default: its saved name).

    Returns
    -------
    str
        The adapter's name in the model.

    Raises
    ------
    InputError
        The folder holds no ``adapter.safetensors`` (a pickled ``pytorch_adapter.bin`` is
        refused: ``adapters`` itself would fall back to ``torch.load``) or no ``adapter_config.json``.
    """
    folder = Path(path)
    if not (folder / _WEIGHTS).is_file():
        raise InputError(f"no {_WEIGHTS} (only safetensors adapters are loaded)", folder)
    if not (folder / "adapter_config.json").is_file():
        raise InputError("no adapter_config.json", folder)
    init_adapters(model)
    return model.load_adapter(str(folder), load_as=load_as, with_head=False, use_safetensors=True)
