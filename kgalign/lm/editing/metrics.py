"""Knowledge-editing metrics (Wang et al. 2023, computed as EasyEdit does).

For a masked LM the prompt gets as many masks as the gold answer has sub-tokens and the
prediction is the arg-max token at every mask (teacher-forced length, as EasyEdit's
``compute_rewrite_quality`` evaluates causal LMs token by token). On the predicted and gold
sub-token sequences:

* **token F1**: F1 of the multiset overlap of sub-tokens (SQuAD-style, on sub-token ids);
* **EM**: the whole sequence equals the gold sequence (all tokens right);
* **locality** (EasyEdit): the share of mask positions whose post-edit arg-max equals the
  pre-edit arg-max (gold-free: an unrelated fact must keep its prediction, right or wrong).

Metrics of Wang et al., "Cross-lingual knowledge editing in large language models" (2023):
*reliability* (the edited prompt in the source language gives the new object),
*generality* (a paraphrase in the source language, and the fact in the target language:
the cross-lingual part), *locality* (other facts keep their predictions, both languages),
*portability* (one-hop facts that follow from the edit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np


def token_f1(pred: Sequence[int], gold: Sequence[int]) -> float:
    """F1 of the sub-token multiset overlap between ``pred`` and ``gold`` (0 when either is empty)."""
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if not pred or not gold or same == 0:
        return 0.0
    p, r = same / len(pred), same / len(gold)
    return 2 * p * r / (p + r)


def subject_last_position(prober, ids: Sequence[int], subject: str) -> int:
    """Position of the subject's last sub-token in ``ids`` (last occurrence).

    Raises
    ------
    kgalign.errors.InputError
        When the subject's tokens do not occur in the prompt.
    """
    from kgalign.errors import InputError

    sub = prober.tokens(subject)
    n = len(sub)
    for start in range(len(ids) - n, -1, -1):
        if list(ids[start : start + n]) == sub:
            return start + n - 1
    raise InputError(f"subject {subject!r} not found in its prompt tokens")


def predict_tokens(prober, items: Sequence[tuple]) -> list[list[int]]:
    """Arg-max sub-tokens at the masks of ``(template, subject, n_masks)`` prompts.

    Returns
    -------
    list of list of int
        One list of ``n_masks`` token ids per prompt.
    """
    batch = [prober.query_ids(t, s, n) for t, s, n in items]
    if not batch:
        return []
    return [lp.argmax(dim=-1).tolist() for lp in prober._forward_logprobs(batch)]


def score_answers(prober, items: Sequence[tuple]) -> dict:
    """Mean token F1 and EM of ``(template, subject, gold_name)`` prompts.

    Returns
    -------
    dict
        ``f1``, ``em`` (means in [0, 1]; NaN when ``items`` is empty) and ``n``.
    """
    golds = [prober.tokens(g) for _, _, g in items]
    preds = predict_tokens(prober, [(t, s, len(g)) for (t, s, _), g in zip(items, golds)])
    f1 = [token_f1(p, g) for p, g in zip(preds, golds)]
    em = [float(p == g) for p, g in zip(preds, golds)]
    return {
        "f1": float(np.mean(f1)) if f1 else float("nan"),
        "em": float(np.mean(em)) if em else float("nan"),
        "n": len(items),
    }


def locality_score(prober, items: Sequence[tuple], before: Sequence[Sequence[int]]) -> dict:
    """EasyEdit locality: share of mask positions whose arg-max is unchanged by the edit.

    Parameters
    ----------
    items : sequence of (template, subject, n_masks)
    before : sequence of list of int
        :func:`predict_tokens` on ``items`` before the edit.

    Returns
    -------
    dict
        ``token`` (mean per-prompt share of unchanged positions), ``em`` (share of prompts
        whose whole prediction is unchanged), ``n``.
    """
    after = predict_tokens(prober, items)
    tok = [float(np.mean([a == b for a, b in zip(x, y)])) for x, y in zip(after, before)]
    em = [float(list(x) == list(y)) for x, y in zip(after, before)]
    return {
        "token": float(np.mean(tok)) if tok else float("nan"),
        "em": float(np.mean(em)) if em else float("nan"),
        "n": len(items),
    }


def edit_metrics(
    prober, fact_edits, source_lang: str, target_lang: str, locality_items=None, locality_before=None
) -> dict:
    """Reliability, generality (paraphrase and cross-lingual), locality and portability.

    Parameters
    ----------
    prober : MaskedLMProber
        Wraps the edited model.
    fact_edits : sequence of FactEdit
    source_lang, target_lang : str
    locality_items : dict of str to list of (template, subject, n_masks), optional
        Per language, prompts of facts that were not edited.
    locality_before : dict of str to list of list of int, optional
        Their pre-edit predictions (:func:`predict_tokens`).

    Returns
    -------
    dict
        ``reliability``, ``generality_paraphrase``, ``generality_crosslingual``,
        ``paraphrase_crosslingual`` (target-language paraphrase), ``portability`` (each
        ``{"f1", "em", "n"}``), ``locality`` (``{lang: {"token", "em", "n"}}`` and
        ``"mean"``: the token locality averaged over the languages).
    """

    def items(lang, which):
        out = []
        for fe in fact_edits:
            if lang in fe.template and lang in fe.new_object:
                tpl = fe.template[lang] if which == "template" else fe.paraphrase.get(lang)
                if tpl is not None:
                    out.append((tpl, fe.subject[lang], fe.new_object[lang]))
        return out

    res = {
        "reliability": score_answers(prober, items(source_lang, "template")),
        "generality_paraphrase": score_answers(prober, items(source_lang, "paraphrase")),
        "generality_crosslingual": score_answers(prober, items(target_lang, "template")),
        "paraphrase_crosslingual": score_answers(prober, items(target_lang, "paraphrase")),
        "portability": score_answers(
            prober, [(p["template"], p["subject"], p["object"]) for fe in fact_edits for p in fe.portability]
        ),
    }
    loc: dict[str, Any] = {}
    if locality_items:
        for lang, its in locality_items.items():
            loc[lang] = locality_score(prober, its, locality_before[lang])
        vals = [v["token"] for v in loc.values() if v["n"]]
        loc["mean"] = float(np.mean(vals)) if vals else float("nan")
    res["locality"] = loc
    return res
