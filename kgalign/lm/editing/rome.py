"""Locate-then-edit: a closed-form update of one MLP output matrix (ROME; Meng et al. 2022).

ROME (Meng, Bau, Andonian & Belinkov, "Locating and editing factual associations in GPT",
NeurIPS 2022) treats the MLP output projection ``W`` of a layer as a linear associative
memory: the key ``k`` is the MLP's hidden activation at the subject's last token, the value
``W k`` is what the layer writes into the residual stream. An edit

1. computes the key ``k*`` of the edited subject (here on the edit prompt);
2. finds the value change ``delta`` that makes the model give the new object, by gradient
   descent on ``-log P(new object | prompt)`` with ``delta`` added to the layer's output at
   the subject position (plus an L2 penalty on ``delta``);
3. updates ``W`` in closed form so that ``W' k* = W k* + delta`` while changing the output
   for other keys as little as possible in the metric of the key covariance
   ``C = E[k k^T]`` (estimated on a corpus):
   ``Delta W = delta (C^-1 k*)^T / (k*^T C^-1 k*)`` (ROME, eq. 2).

Several edits, or one edit in several languages (one key per subject name), are written at
once with the same constrained least-squares problem for a key matrix ``K`` and residuals
``R``: ``Delta W = R (K^T C^-1 K)^-1 K^T C^-1`` (every key hits its target exactly; with
one key it is ROME's rank-one update). MEMIT (Meng et al., ICLR 2023) spreads batches over
several layers with a soft constraint; this module edits one layer.

Implemented for BERT-style masked LMs (``model.bert.encoder.layer[i].output.dense``) and
for any model where ``layer_module`` names the projection.
"""

from __future__ import annotations

from collections.abc import Sequence

from kgalign.errors import InputError


def mlp_out_name(model, layer: int) -> str:
    """Parameter-name prefix of the MLP output projection of ``layer`` (BERT, RoBERTa, XLM-R)."""
    base = getattr(model, "base_model_prefix", "bert")
    enc = getattr(getattr(model, base, None), "encoder", None)
    if enc is None or not hasattr(enc, "layer"):
        raise InputError(f"ROME here supports BERT-style encoders; {type(model).__name__} has none")
    n = len(enc.layer)
    if not -n <= layer < n:
        raise InputError(f"layer {layer} out of range for a {n}-layer model")
    return f"{base}.encoder.layer.{layer % n}.output.dense"


def _module(model, name: str):
    mod = model
    for part in name.split("."):
        mod = getattr(mod, part)
    return mod


def _keys(model, module, batch: Sequence[tuple[list[int], list[int]]], positions: Sequence[int] | None):
    """Inputs of ``module`` at ``positions`` (one per prompt), or at every real token."""
    import torch

    grabbed = []

    def hook(_m, inp, _out):
        grabbed.append(inp[0].detach())

    h = module.register_forward_hook(hook)
    try:
        width = max(len(ids) for ids, _ in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        att = torch.zeros_like(ids)
        for i, (q, _) in enumerate(batch):
            ids[i, : len(q)] = torch.tensor(q)
            att[i, : len(q)] = 1
        dev = next(model.parameters()).device
        with torch.no_grad():
            model(input_ids=ids.to(dev), attention_mask=att.to(dev))
    finally:
        h.remove()
    acts = grabbed[0]  # (b, L, d_ff)
    if positions is None:
        return acts[att.to(acts.device).bool()]
    return acts[torch.arange(len(batch)), torch.tensor(list(positions))]


def key_covariance(model, prober, texts: Sequence[str], layer: int, ridge: float = 1e-2, batch_size: int = 64):
    """Second moment ``C = K^T K / n + ridge * mean(diag) * I`` of the layer's MLP keys on ``texts``.

    Returns
    -------
    torch.Tensor, float64, shape (d_ff, d_ff)
    """
    import torch

    module = _module(model, mlp_out_name(model, layer))
    rows = []
    for start in range(0, len(texts), batch_size):
        chunk = [prober.wrap(prober.tokens(t))[0] for t in texts[start : start + batch_size]]
        chunk = [(c[: prober.max_length], []) for c in chunk]
        rows.append(_keys(model, module, chunk, None).double().cpu())
    if not rows:
        raise InputError("ROME needs texts to estimate the key covariance")
    k = torch.cat(rows)
    c = k.T @ k / len(k)
    return c + ridge * float(c.diagonal().mean()) * torch.eye(c.shape[0], dtype=c.dtype)


def rome_edit(
    model,
    prober,
    requests: Sequence[tuple],
    *,
    layer: int = 0,
    cov=None,
    texts=None,
    steps: int = 40,
    lr: float = 0.5,
    l2: float = 1e-3,
    ridge: float = 1e-2,
    positions: str = "last",
):
    """Write facts into one MLP output matrix in closed form (ROME; several keys at once).

    Parameters
    ----------
    model : ``*ForMaskedLM`` (BERT-style)
        Edited in place.
    prober : MaskedLMProber
        Tokenises prompts for ``model``.
    requests : sequence of (Template, str, str)
        ``(template, subject, new_object)``; one key per request (a fact in two languages
        is two requests).
    layer : int
        The edited layer (negative counts from the end).
    cov : torch.Tensor, optional
        Key covariance from :func:`key_covariance`; computed from ``texts`` when omitted.
    texts : sequence of str, optional
        Corpus for the covariance (default the filled edit prompts themselves, which is a
        poor estimate: pass real text).
    steps, lr, l2 : value optimisation (Adam steps, learning rate, L2 weight on ``delta``).
    positions : {"last", "all"}
        ``"last"``: one key at the subject's last token (ROME); ``"all"``: one key and one
        value change per subject token (more capacity when a single position cannot carry
        the new object, as in very shallow models; every key is still hit exactly).

    Returns
    -------
    dict
        ``keys`` (count), ``mean_delta_norm``, ``final_nll`` (mean over requests).
    """
    import torch

    from kgalign.lm.editing.metrics import subject_last_position

    if positions not in ("last", "all"):
        raise InputError(f"ROME positions must be 'last' or 'all', got {positions!r}")
    if not requests:
        raise InputError("ROME: no edit request")
    name = mlp_out_name(model, layer)
    module = _module(model, name)
    # BertOutput.dense is the MLP output projection; its input is the FFN activation (the key)
    dev = next(model.parameters()).device
    prompts, targets, spos = [], [], []
    for tpl, subj, obj in requests:
        gold = prober.tokens(obj)
        ids, pos = prober.query_ids(tpl, subj, len(gold))
        prompts.append((ids, pos))
        targets.append(gold)
        last = subject_last_position(prober, ids, subj)
        n_sub = len(prober.tokens(subj)) if positions == "all" else 1
        spos.append(list(range(last - n_sub + 1, last + 1)))
    if cov is None:
        texts = list(texts) if texts else [tpl.fill(s, o) for tpl, s, o in requests]
        cov = key_covariance(model, prober, texts, layer, ridge=ridge)
    K = torch.cat([_keys(model, module, [p] * len(sp), sp) for p, sp in zip(prompts, spos)]).double().cpu()  # (m, d_ff)

    # value optimisation, one delta per request
    was_training = model.training
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    deltas, nlls = [], []
    try:
        for (ids, pos), gold, sp in zip(prompts, targets, spos):
            delta = torch.zeros((len(sp), module.out_features), device=dev, requires_grad=True)
            opt = torch.optim.Adam([delta], lr=lr)

            def hook(_m, _inp, out, sp=sp, delta=delta):
                out = out.clone()
                out[0, sp] = out[0, sp] + delta
                return out

            h = module.register_forward_hook(hook)
            x = torch.tensor([ids], device=dev)
            tgt = torch.tensor(gold, device=dev)
            try:
                for _ in range(steps):
                    opt.zero_grad()
                    logits = model(input_ids=x).logits[0, pos]
                    nll = torch.nn.functional.cross_entropy(logits, tgt)
                    loss = nll + l2 * delta.pow(2).sum()
                    loss.backward()
                    opt.step()
            finally:
                h.remove()
            deltas.append(delta.detach().double().cpu())
            nlls.append(float(nll.detach()))
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
        model.train(was_training)
    R = torch.cat(deltas)  # (m, d): one row per key
    # Delta W = R^T (K C^-1 K^T)^-1 K C^-1   (W: (d, d_ff), keys as rows of K)
    cinv_k = torch.linalg.solve(cov, K.T)  # (d_ff, m)
    gram = K @ cinv_k  # (m, m)
    gram = gram + 1e-8 * float(gram.diagonal().mean()) * torch.eye(len(gram), dtype=gram.dtype)
    upd = R.T @ torch.linalg.solve(gram, cinv_k.T)  # (d, d_ff)
    with torch.no_grad():
        module.weight.add_(upd.to(module.weight.device, module.weight.dtype))
    return {
        "keys": len(K),
        "requests": len(requests),
        "mean_delta_norm": float(R.norm(dim=1).mean()),
        "final_nll": float(sum(nlls) / len(nlls)),
        "layer": name,
    }
