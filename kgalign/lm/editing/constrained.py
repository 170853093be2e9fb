"""Constrained fine-tuning with a KL locality term (``ft-kl``).

The edit examples are trained with the cross-entropy of the new object at the masks, and a
*locality* term keeps the model's output distribution on unrelated prompts where it was
before the edit: ``KL(p_before(. | x) || p_theta(. | x))`` at the mask positions of every
locality prompt ``x``, the locality loss of MEND (Mitchell et al., ICLR 2022, eq. 3) and of
editable training (Sinitsin et al., ICLR 2020). The pre-edit distributions are computed once,
so the term needs no gold answer. The trained weights can be limited to the feed-forward
(MLP) matrices and every weight kept within ``max_change`` of its pre-edit value (the
L-infinity constraint of Zhu et al. 2020, "Modifying memories in transformer models",
applied by projection after each step), and optionally masked by Child-Tuning-D.

Loss per step: ``mean CE(edit) + kl * mean KL(locality)`` (all edit prompts, ``kl_batch``
locality prompts sampled per step; Adam).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kgalign.errors import InputError

logger = logging.getLogger(__name__)


def _batch(prober, rows: Sequence[tuple[list[int], list[int]]]):
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), prober._pad_id(), dtype=torch.long)
    att = torch.zeros_like(ids)
    for i, (q, _) in enumerate(rows):
        ids[i, : len(q)] = torch.tensor(q)
        att[i, : len(q)] = 1
    rr = torch.cat([torch.full((len(p),), i, dtype=torch.long) for i, (_, p) in enumerate(rows)])
    cc = torch.cat([torch.tensor(p, dtype=torch.long) for _, p in rows])
    return ids, att, rr, cc


def _param_filter(scope: str):
    if scope == "all":
        return lambda n: True
    if scope == "ffn":
        return lambda n: ".intermediate.dense." in n or (".output.dense." in n and ".attention." not in n)
    raise InputError(f"ft-kl scope must be 'all' or 'ffn', got {scope!r}")


def kl_finetune(
    model,
    prober,
    edit_rows: Sequence[tuple[list[int], list[int], list[int]]],
    locality_rows: Sequence[tuple[list[int], list[int]]],
    *,
    steps: int = 60,
    lr: float = 1e-3,
    kl: float = 1.0,
    scope: str = "all",
    max_change: float | None = None,
    masks=None,
    kl_batch: int = 64,
    seed: int = 0,
) -> dict:
    """Fine-tune ``model`` in place on edit cloze rows with a KL locality term.

    Parameters
    ----------
    model : ``*ForMaskedLM``
    prober : MaskedLMProber
        Wraps ``model`` (padding id, device).
    edit_rows : sequence of (input_ids, mask_positions, target_ids)
        The edit prompts; ``target_ids[j]`` is the gold sub-token at ``mask_positions[j]``.
    locality_rows : sequence of (input_ids, mask_positions)
        Unrelated prompts whose pre-edit distributions at the masks are kept (may be empty:
        then it is plain fine-tuning).
    steps, lr : Adam steps (full batch) and learning rate.
    kl : float
        Weight of the locality term (nats per mask position, mean).
    scope : {"all", "ffn"}
        Trained weights: every parameter, or the feed-forward matrices and biases only.
    max_change : float, optional
        Every trained weight stays within ``+- max_change`` of its pre-edit value.
    masks : dict of str to torch.Tensor (bool), optional
        Child-Tuning-D masks: only masked-in entries receive updates.
    kl_batch : int
        Locality prompts sampled (without replacement) per step for the KL term (all when
        there are fewer; MEND samples locality inputs per step too).
    seed : int
        Seed of that sampling.

    Returns
    -------
    dict
        ``final_ce``, ``final_kl`` (nats), ``trained`` (number of trainable entries).
    """
    import torch

    if not edit_rows:
        raise InputError("ft-kl: no edit example")
    keep = _param_filter(scope)
    params = {n: p for n, p in model.named_parameters() if keep(n)}
    if not params:
        raise InputError(f"ft-kl: no parameter in scope {scope!r}")
    frozen = [p for n, p in model.named_parameters() if n not in params]
    for p in frozen:
        p.requires_grad_(False)
    start = {n: p.detach().clone() for n, p in params.items()} if max_change else {}
    dev = next(model.parameters()).device
    e_ids, e_att, e_r, e_c = _batch(prober, [(ids, pos) for ids, pos, _ in edit_rows])
    e_tgt = torch.tensor([t for _, _, tg in edit_rows for t in tg], dtype=torch.long, device=dev)
    model.eval()  # no dropout: the pre-edit reference and the trained model see the same function
    refs: list[tuple] = []  # per locality prompt: (ids, positions, pre-edit log-probs at the masks)
    for first in range(0, len(locality_rows), 256):
        chunk = list(locality_rows[first : first + 256])
        l_ids, l_att, l_r, l_c = _batch(prober, chunk)
        with torch.no_grad():
            lp = torch.log_softmax(model(input_ids=l_ids.to(dev), attention_mask=l_att.to(dev)).logits[l_r, l_c], -1)
        lp_split = lp.split([len(p) for _, p in chunk])
        refs.extend((ids, pos, ref) for (ids, pos), ref in zip(chunk, lp_split))
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(list(params.values()), lr=lr)
    trained = sum(int(masks[n].sum()) if masks is not None and n in masks else p.numel() for n, p in params.items())
    ce_v = kl_v = float("nan")
    try:
        for _ in range(steps):
            opt.zero_grad()
            logits = model(input_ids=e_ids.to(dev), attention_mask=e_att.to(dev)).logits[e_r, e_c]
            ce = torch.nn.functional.cross_entropy(logits, e_tgt)
            loss = ce
            if refs:
                pick = torch.randperm(len(refs), generator=gen)[: max(1, kl_batch)].tolist()
                ids, att, r, c = _batch(prober, [(refs[i][0], refs[i][1]) for i in pick])
                ref = torch.cat([refs[i][2] for i in pick])
                lp = torch.log_softmax(model(input_ids=ids.to(dev), attention_mask=att.to(dev)).logits[r, c], -1)
                klv = torch.nn.functional.kl_div(lp, ref, log_target=True, reduction="batchmean")
                loss = loss + kl * klv
                kl_v = float(klv.detach())
            loss.backward()
            if masks is not None:
                for n, p in params.items():
                    if n in masks and p.grad is not None:
                        p.grad.mul_(masks[n].to(p.grad.device, p.grad.dtype))
            opt.step()
            # masked-out entries: zero gradients keep Adam's moments at zero, so they never move
            with torch.no_grad():
                if max_change:
                    for n, p in params.items():
                        p.copy_(torch.maximum(torch.minimum(p, start[n] + max_change), start[n] - max_change))
            ce_v = float(ce.detach())
    finally:
        for p in frozen:
            p.requires_grad_(True)
    logger.debug("ft-kl: final CE %.4f, KL %.5f", ce_v, kl_v)
    return {"final_ce": ce_v, "final_kl": kl_v, "trained": trained}
