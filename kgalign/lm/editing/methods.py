"""Apply fact edits to a masked LM through the fine-tuning engine, as reversible objects.

Training signal: every :class:`~kgalign.lm.editing.facts.FactEdit` gives one cloze example
per chosen language (the relation's template filled with the subject, as many masks as the
new object has sub-tokens, labels on the masks). ``languages=[source]`` trains in the
source language only; ``languages=[source, target]`` also trains the fact as named in the
target language through the entity alignment, which is what carries the edit across.

Methods (``method=``):

``ft-child``
    Constrained fine-tuning: full-model gradient steps under a Child-Tuning-D mask (the
    ``reserve_p`` share of weights with the largest Fisher information on the edit
    examples; Xu et al., EMNLP 2021), so only those weights can move.
``lt-sft``
    A sparse diff of exactly ``k`` weights by lottery-ticket sparse fine-tuning (Ansell
    et al., ACL 2022).
``lora``
    An adapter: a LoRA adapter (Hu et al., ICLR 2022; AdapterHub ``adapters``) on the
    attention and feed-forward projections, trained with the base frozen, then merged into
    the weights so that the edit is a weight difference like the others.
``ft-kl``
    Constrained fine-tuning with a locality term: cross-entropy of the edit plus the KL
    divergence to the *pre-edit* output distribution on the ``preserve`` prompts (MEND's
    locality loss, Mitchell et al. 2022; editable training, Sinitsin et al. 2020), optionally
    restricted to the feed-forward weights, an L-infinity ball (Zhu et al. 2020) and a
    Child-Tuning-D mask (:mod:`kgalign.lm.editing.constrained`).
``rome``
    Locate-then-edit: closed-form update of one MLP output matrix
    (:mod:`kgalign.lm.editing.rome`; Meng et al., NeurIPS 2022).

Every method returns an :class:`~kgalign.lm.editing.applied.AppliedEdit`: ``revert``
restores every weight bit for bit, ``negate`` subtracts the difference.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from kgalign.errors import InputError

METHODS = ("ft-child", "ft-kl", "lt-sft", "lora", "rome")

#: Default hyper-parameters per method (tuned on the demo's tiny BERT; ``ft-kl`` on the demo's
#: validation setting ``edit_seed=1``; see benchmarks/README.md).
DEFAULTS: dict[str, dict[str, Any]] = {
    "ft-child": {"reserve_p": 0.02, "lr": 2e-3, "steps": 40},
    "lt-sft": {"k": 20000, "lr": 1e-2, "full_steps": 40, "sparse_steps": 40},
    "lora": {"r": 8, "alpha": 16, "lr": 5e-3, "steps": 60},
    "ft-kl": {"lr": 1e-3, "steps": 60, "kl": 20.0, "scope": "all", "max_change": 0.0, "reserve_p": 0.0, "kl_batch": 64},
    "rome": {"layer": 0, "steps": 60, "lr": 0.5, "l2": 3e-3, "ridge": 1e-3, "positions": "last"},
}


def edit_examples(prober, fact_edits, languages: Sequence[str]) -> list[dict]:
    """Cloze training examples (``input_ids``, ``labels``) of the edits in ``languages``."""
    out = []
    for fe in fact_edits:
        for lang in languages:
            if lang not in fe.template or lang not in fe.new_object:
                continue
            gold = prober.tokens(fe.new_object[lang])
            ids, pos = prober.query_ids(fe.template[lang], fe.subject[lang], len(gold))
            labels = [-100] * len(ids)
            for p, t in zip(pos, gold):
                labels[p] = t
            out.append({"input_ids": list(ids), "labels": labels})
    if not out:
        raise InputError(f"no edit has a prompt in {', '.join(languages)}")
    return out


def edit_requests(fact_edits, languages: Sequence[str]) -> list[tuple]:
    """``(template, subject, new_object)`` triples of the edits in ``languages`` (for ROME)."""
    return [
        (fe.template[lang], fe.subject[lang], fe.new_object[lang])
        for fe in fact_edits
        for lang in languages
        if lang in fe.template and lang in fe.new_object
    ]


def _trainer_kwargs(lr: float, steps: int, n: int, seed: int) -> dict:
    return dict(
        objective="labels",
        lr=lr,
        max_steps=steps,
        batch_size=max(1, min(n, 32)),
        device="cpu",
        seed=seed,
        progress=False,
    )


def preserve_examples(prober, prompts: Sequence[tuple]) -> list[dict]:
    """Examples that keep the model's current predictions on ``(template, subject, n_masks)`` prompts.

    The labels are the model's own arg-max tokens before the edit (self-distillation of
    unrelated facts, the locality term of constrained fine-tuning); they need no gold.
    """
    from kgalign.lm.editing.metrics import predict_tokens

    preds = predict_tokens(prober, prompts)
    out = []
    for (tpl, subj, n), pred in zip(prompts, preds):
        ids, pos = prober.query_ids(tpl, subj, n)
        labels = [-100] * len(ids)
        for p, t in zip(pos, pred):
            labels[p] = t
        out.append({"input_ids": list(ids), "labels": labels})
    return out


def apply_edits(
    model,
    prober,
    fact_edits,
    method: str = "rome",
    languages: Sequence[str] = (),
    *,
    seed: int = 0,
    texts: Sequence[str] | None = None,
    cov=None,
    preserve: Sequence[tuple] = (),
    **options,
):
    """Write ``fact_edits`` into ``model`` (in place) and return the reversible edit.

    Parameters
    ----------
    model : ``*ForMaskedLM``
    prober : MaskedLMProber
        Wraps ``model`` and its tokenizer.
    fact_edits : sequence of FactEdit
    method : {"ft-child", "ft-kl", "lt-sft", "lora", "rome"}
    languages : sequence of str
        Languages whose prompts are trained (default each edit's ``source_lang``).
    seed : int
    texts : sequence of str, optional
        ROME: corpus for the key covariance.
    cov : torch.Tensor, optional
        ROME: a precomputed key covariance (reused across edits).
    preserve : sequence of (Template, str, int), optional
        Gradient methods: prompts of unrelated facts whose current predictions are trained
        alongside the edit (:func:`preserve_examples`; ``ft-kl``: whose output distributions
        are kept by the KL term); keep them disjoint from any prompt used to measure locality.
    **options
        Method hyper-parameters, overriding :data:`DEFAULTS`.

    Returns
    -------
    AppliedEdit

    Raises
    ------
    InputError
        Unknown method or option, no prompt in ``languages``.
    """
    from kgalign.lm.editing.applied import AppliedEdit

    if method not in METHODS:
        raise InputError(f"unknown edit method {method!r}; use one of {', '.join(METHODS)}")
    opts = dict(DEFAULTS[method])
    unknown = set(options) - set(opts)
    if unknown:
        raise InputError(f"unknown option(s) for {method}: {', '.join(sorted(unknown))}")
    opts.update(options)
    langs = list(languages) or sorted({fe.source_lang for fe in fact_edits})
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    t = time.perf_counter()
    info: dict = {}
    was_training = model.training
    if method == "rome":
        info = _rome(model, prober, fact_edits, langs, opts, texts, cov)
    elif method == "ft-kl":
        info = _ft_kl(model, prober, fact_edits, langs, list(preserve), opts, seed)
    else:
        data = edit_examples(prober, fact_edits, langs)
        if preserve:
            model.eval()
            data = data + preserve_examples(prober, list(preserve))
        if method == "ft-child":
            info = _ft_child(model, prober, data, opts, seed)
        elif method == "lt-sft":
            info = _lt_sft(model, prober, data, opts, seed)
        else:
            info = _lora(model, prober, data, opts, seed)
    model.train(was_training)
    model.eval()
    meta = {
        "method": method,
        "languages": langs,
        "options": opts,
        "n_edits": len(fact_edits),
        "n_preserve": len(preserve) if method != "rome" else 0,
        "seconds": round(time.perf_counter() - t, 3),
        "info": info,
        "edits": [
            {
                "key": list(fe.key) if isinstance(fe.key, tuple) else fe.key,
                "subject": fe.subject,
                "new_object": fe.new_object,
            }
            for fe in fact_edits
        ],
    }
    return AppliedEdit.from_states(before, model, meta)


def _ft_child(model, prober, data, opts, seed):
    from kgalign.lm.finetune import ChildTuningHook, Trainer, fisher_information, fisher_mask

    fisher = fisher_information(
        model,
        data,
        tokenizer=prober.tokenizer,
        objective="labels",
        batch_size=max(1, min(len(data), 32)),
        device="cpu",
        seed=seed,
    )
    masks = fisher_mask(fisher, opts["reserve_p"])
    model.train()
    res = Trainer(
        model,
        prober.tokenizer,
        hooks=[ChildTuningHook("D", masks=masks)],
        **_trainer_kwargs(opts["lr"], opts["steps"], len(data), seed),
    ).train(data)
    return {"final_loss": float(res.train_losses[-1]), "examples": len(data)}


def _ft_kl(model, prober, fact_edits, langs, preserve, opts, seed):
    from kgalign.lm.editing.constrained import kl_finetune

    rows = []
    for ex in edit_examples(prober, fact_edits, langs):
        pos = [i for i, t in enumerate(ex["labels"]) if t != -100]
        rows.append((ex["input_ids"], pos, [ex["labels"][i] for i in pos]))
    loc_rows = [prober.query_ids(t, s, n) for t, s, n in preserve]
    masks = None
    if opts["reserve_p"]:
        from kgalign.lm.finetune import fisher_information, fisher_mask

        data = [{"input_ids": ids, "labels": [tg[pos.index(i)] if i in pos else -100 for i in range(len(ids))]}
                for ids, pos, tg in rows]  # fmt: skip
        fisher = fisher_information(
            model, data, tokenizer=prober.tokenizer, objective="labels", batch_size=max(1, min(len(data), 32)),
            device="cpu", seed=seed,
        )  # fmt: skip
        masks = fisher_mask(fisher, opts["reserve_p"])
    info = kl_finetune(
        model,
        prober,
        rows,
        loc_rows,
        steps=int(opts["steps"]),
        lr=float(opts["lr"]),
        kl=float(opts["kl"]),
        scope=str(opts["scope"]),
        max_change=float(opts["max_change"]) or None,
        masks=masks,
        kl_batch=int(opts["kl_batch"]),
        seed=seed,
    )
    return {**info, "examples": len(rows), "locality_prompts": len(loc_rows)}


def _lt_sft(model, prober, data, opts, seed):
    from kgalign.lm.finetune import lt_sft

    model.train()
    diff = lt_sft(
        model,
        data,
        k=opts["k"],
        tokenizer=prober.tokenizer,
        full_steps=opts["full_steps"],
        sparse_steps=opts["sparse_steps"],
        trainer_kwargs=_trainer_kwargs(opts["lr"], opts["sparse_steps"], len(data), seed),
    )
    return {"nnz": diff.nnz, "examples": len(data)}


def _lora(model, prober, data, opts, seed):
    """Train a LoRA adapter on a copy, merge it there and copy the merged weights back."""
    import copy

    import adapters
    import torch
    from adapters import LoRAConfig

    from kgalign.lm.finetune import Trainer

    work = copy.deepcopy(model)
    adapters.init(work)
    name = "kgalign_edit"
    work.add_adapter(
        name,
        config=LoRAConfig(
            r=int(opts["r"]), alpha=int(opts["alpha"]), selfattn_lora=True, intermediate_lora=True, output_lora=True
        ),
    )
    work.train_adapter(name)
    work.train()
    res = Trainer(work, prober.tokenizer, **_trainer_kwargs(opts["lr"], opts["steps"], len(data), seed)).train(data)
    work.merge_adapter(name)
    merged = dict(work.named_parameters())
    changed = 0
    with torch.no_grad():
        for n, p in model.named_parameters():
            q = merged.get(n)
            if q is not None and q.shape == p.shape and not torch.equal(q, p):
                p.copy_(q)
                changed += 1
    if not changed:
        raise InputError("LoRA: the merged adapter changed no weight of the model (parameter names differ?)")
    return {"final_loss": float(res.train_losses[-1]), "examples": len(data), "tensors": changed}


def _rome(model, prober, fact_edits, langs, opts, texts, cov):
    from kgalign.lm.editing.rome import key_covariance, rome_edit

    reqs = edit_requests(fact_edits, langs)
    if not reqs:
        raise InputError(f"no edit has a prompt in {', '.join(langs)}")
    if cov is None and texts:
        cov = key_covariance(model, prober, list(texts), opts["layer"], ridge=opts["ridge"])
    return rome_edit(
        model,
        prober,
        reqs,
        layer=opts["layer"],
        cov=cov,
        steps=opts["steps"],
        lr=opts["lr"],
        l2=opts["l2"],
        ridge=opts["ridge"],
        positions=opts["positions"],
    )
