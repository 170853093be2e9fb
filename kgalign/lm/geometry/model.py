"""Token-level hidden states of a Hugging Face model per layer, and language-modeling
perplexity with an affine map applied to one layer's output (Chang, Tu and Bergen, EMNLP 2022).

Layer ``l`` (1..L) is the output of the l-th transformer block, read and edited by a forward
hook on that block, so the representations the subspaces are fitted on are exactly those the
projections replace (for GPT-2 this is before the final layer norm).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kgalign.errors import InputError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

__all__ = ["GeometryModel", "load_model", "wrap_model", "token_states", "masked_batches", "perplexity", "lm_scores"]

KINDS = ("auto", "masked", "causal", "encoder")


@dataclass
class GeometryModel:
    """A model prepared for the geometry analysis.

    Attributes
    ----------
    model : transformers.PreTrainedModel
        In eval mode.
    tokenizer : transformers.PreTrainedTokenizerBase
    kind : {"masked", "causal", "encoder"}
        ``encoder`` (e.g. a sentence-transformers model) has no LM head: no perplexity.
    blocks : list of torch.nn.Module
        The transformer blocks, in order (layer ``l`` is the output of ``blocks[l - 1]``).
    name : str
    """

    model: Any  # a transformers / sentence-transformers model (imported lazily)
    tokenizer: Any
    kind: str
    blocks: list
    name: str = ""

    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    @property
    def device(self):
        return next(self.model.parameters()).device


def _find_blocks(model) -> list:
    """The ModuleList of transformer blocks (the one whose length is the model's layer count)."""
    import torch

    cfg = model.config
    n = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", None)
    for _name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and len(mod) == n and n:
            return list(mod)
    raise InputError(f"cannot find the {n} transformer blocks of {type(model).__name__}")


def wrap_model(model, tokenizer, kind: str = "auto", name: str = "") -> GeometryModel:
    """A ready model and tokenizer as a :class:`GeometryModel` (kind guessed from its class)."""
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "auto":
        cls = type(model).__name__
        kind = "masked" if "MaskedLM" in cls else "causal" if ("CausalLM" in cls or "LMHead" in cls) else "encoder"
    if kind == "masked" and tokenizer.mask_token_id is None:
        raise InputError(f"masked LM {name or type(model).__name__} has no mask token")
    model.eval()
    return GeometryModel(model=model, tokenizer=tokenizer, kind=kind, blocks=_find_blocks(model), name=name)


def load_model(name_or_path: str, kind: str = "auto", device: str = "cpu") -> GeometryModel:
    """Load a masked LM, causal LM or sentence-transformers model (hub id or local folder).

    Parameters
    ----------
    name_or_path : str
        Hub id or local directory; ``"default"`` is the offline default encoder of
        :mod:`kgalign.aligner.encode` (all-MiniLM-L6-v2, a sentence-transformers model).
    kind : {"auto", "masked", "causal", "encoder"}
        ``auto``: a sentence-transformers folder (``modules.json``) is an encoder; otherwise
        the architecture named in ``config.json`` decides.
    device : str

    Raises
    ------
    InputError
        When the model cannot be loaded (not found offline, unknown architecture, ...).
    """
    import os

    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    path = name_or_path
    if name_or_path in ("default", "all-minilm-l6-v2"):
        from kgalign.aligner.encode import default_model_path

        path = default_model_path()
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
    try:
        if kind == "auto":
            if os.path.isfile(os.path.join(path, "modules.json")):
                kind = "encoder"
            else:
                archs = " ".join(AutoConfig.from_pretrained(path).architectures or [])
                kind = (
                    "masked"
                    if "MaskedLM" in archs
                    else "causal"
                    if ("CausalLM" in archs or "LMHead" in archs)
                    else "encoder"
                )
        loader = {"masked": AutoModelForMaskedLM, "causal": AutoModelForCausalLM, "encoder": AutoModel}[kind]
        tok = AutoTokenizer.from_pretrained(path)
        model = loader.from_pretrained(path)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot load model {name_or_path!r} as a {kind} model: {exc}") from exc
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    model.to(device)
    return wrap_model(model, tok, kind, name=name_or_path)


def _encode(gm: GeometryModel, texts: Sequence[str], max_length: int) -> list[dict]:
    tok = gm.tokenizer
    out = []
    for t in texts:
        enc = tok(t, truncation=True, max_length=max_length, return_special_tokens_mask=True)
        if len(enc["input_ids"]):
            out.append({"input_ids": list(enc["input_ids"]), "special": list(enc["special_tokens_mask"])})
    return out


def _pad(gm: GeometryModel, rows: list[list[int]]):
    import torch

    pad = gm.tokenizer.pad_token_id if gm.tokenizer.pad_token_id is not None else 0
    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad, dtype=torch.long)
    att = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        att[i, : len(r)] = 1
    return ids.to(gm.device), att.to(gm.device)


def _block_output(out):
    return out[0] if isinstance(out, tuple) else out


def _replace_output(out, h):
    return (h,) + tuple(out[1:]) if isinstance(out, tuple) else h


def token_states(
    gm: GeometryModel,
    texts: Sequence[str],
    layers: Sequence[int] | None = None,
    *,
    batch_size: int = 16,
    max_length: int = 128,
    max_tokens: int | None = None,
    seed: int = 0,
) -> dict:
    """Hidden states of every non-special token of ``texts`` at each layer.

    Parameters
    ----------
    gm : GeometryModel
    texts : sequence of str
        Texts of one language.
    layers : sequence of int, optional
        Layers 1..L (default all).
    batch_size, max_length : int
        Texts per forward pass; tokens per text (longer texts are truncated).
    max_tokens : int, optional
        Keep a seeded random sample of at most this many tokens (the same tokens at every layer).
    seed : int

    Returns
    -------
    dict
        ``states``: layer -> ndarray of float32 (n_tokens, d); ``positions``: ndarray of int
        (n_tokens,), each token's position in its text (special tokens count);
        ``token_ids``: ndarray of int (n_tokens,).

    Raises
    ------
    InputError
        When no text yields a non-special token.
    """
    import torch

    layers = list(layers or range(1, gm.n_layers + 1))
    for layer in layers:
        if not 1 <= layer <= gm.n_layers:
            raise InputError(f"layer {layer} out of range 1..{gm.n_layers}")
    enc = _encode(gm, texts, max_length)
    captured: dict[int, torch.Tensor] = {}
    hooks = [
        gm.blocks[layer - 1].register_forward_hook(
            (lambda l: lambda _m, _i, out: captured.__setitem__(l, _block_output(out).detach()))(layer)
        )
        for layer in layers
    ]
    chunks: dict[int, list[np.ndarray]] = {layer: [] for layer in layers}
    pos_chunks: list[np.ndarray] = []
    id_chunks: list[np.ndarray] = []
    try:
        with torch.no_grad():
            for start in range(0, len(enc), batch_size):
                batch = enc[start : start + batch_size]
                ids, att = _pad(gm, [b["input_ids"] for b in batch])
                gm.model(input_ids=ids, attention_mask=att)
                keep = torch.zeros_like(att, dtype=torch.bool)
                for i, b in enumerate(batch):
                    keep[i, : len(b["special"])] = torch.tensor([s == 0 for s in b["special"]])
                for layer in layers:
                    chunks[layer].append(captured[layer][keep].float().cpu().numpy())
                pos = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
                pos_chunks.append(pos[keep].cpu().numpy())
                id_chunks.append(ids[keep].cpu().numpy())
    finally:
        for h in hooks:
            h.remove()
    if not pos_chunks or sum(len(p) for p in pos_chunks) == 0:
        raise InputError("no text yields a (non-special) token")
    states = {layer: np.concatenate(chunks[layer]) for layer in layers}
    positions = np.concatenate(pos_chunks)
    token_ids = np.concatenate(id_chunks)
    if max_tokens is not None and len(positions) > max_tokens:
        pick = np.sort(np.random.default_rng(seed).choice(len(positions), max_tokens, replace=False))
        states = {k: v[pick] for k, v in states.items()}
        positions, token_ids = positions[pick], token_ids[pick]
    return {"states": states, "positions": positions, "token_ids": token_ids}


def masked_batches(
    gm: GeometryModel, texts: Sequence[str], *, mask_share: float = 0.15, max_length: int = 128, seed: int = 0
) -> list[dict]:
    """The evaluation examples of one language, with their masks fixed once (seeded).

    Masked LM: ``mask_share`` of the non-special tokens of each text (at least one) are
    replaced by the mask token and are the positions scored. Causal LM: every next token
    (the labels are the inputs). Reusing the returned list makes every projection score
    the same positions.
    """
    rng = np.random.default_rng(seed)
    out = []
    for e in _encode(gm, texts, max_length):
        ids = e["input_ids"]
        if gm.kind == "masked":
            cand = [i for i, s in enumerate(e["special"]) if s == 0]
            if not cand:
                continue
            n = max(1, int(round(mask_share * len(cand))))
            pos = sorted(rng.choice(cand, size=min(n, len(cand)), replace=False).tolist())
            labels = [-100] * len(ids)
            masked = list(ids)
            for p in pos:
                labels[p] = ids[p]
                masked[p] = gm.tokenizer.mask_token_id
            out.append({"input_ids": masked, "labels": labels})
        elif gm.kind == "causal":
            if len(ids) < 2:
                continue
            out.append({"input_ids": list(ids), "labels": list(ids)})
        else:
            raise InputError(f"model {gm.name!r} has no language-modeling head: no perplexity")
    if not out:
        raise InputError("no text is long enough to score")
    return out


def perplexity(
    gm: GeometryModel, examples: list[dict], layer: int | None = None, transform=None, *, batch_size: int = 16
) -> float:
    """Language-modeling perplexity of ``examples`` (see :func:`lm_scores`)."""
    return lm_scores(gm, examples, layer, transform, batch_size=batch_size)["perplexity"]


def lm_scores(
    gm: GeometryModel,
    examples: list[dict],
    layer: int | None = None,
    transform=None,
    *,
    batch_size: int = 16,
    vocab: dict | None = None,
) -> dict:
    """Language-modeling perplexity of ``examples``, optionally with an affine map at one layer.

    Parameters
    ----------
    gm : GeometryModel
        A masked or causal LM.
    examples : list of dict
        From :func:`masked_batches`.
    layer : int, optional
        Layer (1..L) whose output is replaced by ``h @ M + c`` at every position.
    transform : (ndarray (d, d), ndarray (d,)), optional
        ``(M, c)`` from :func:`kgalign.lm.geometry.subspace.affine_map`.
    batch_size : int
    vocab : dict of str to set of int, optional
        Token ids exclusive to each language (seen in its texts only).

    Returns
    -------
    dict
        ``perplexity``: ``exp`` of the mean negative log-likelihood (nats) over the scored
        tokens; with ``vocab``, ``top1_in``: language -> share of the scored positions whose
        most probable token is exclusive to that language (the paper's test of whether a
        mean shift makes the model predict tokens of another language).
    """
    import torch
    import torch.nn.functional as F

    hook = None
    if layer is not None and transform is not None:
        M = torch.as_tensor(transform[0], dtype=torch.float32, device=gm.device)
        c = torch.as_tensor(transform[1], dtype=torch.float32, device=gm.device)

        def edit(_m, _i, out):
            h = _block_output(out)
            return _replace_output(out, (h.float() @ M + c).to(h.dtype))

        hook = gm.blocks[layer - 1].register_forward_hook(edit)
    total, count = 0.0, 0
    hits = {lang: 0 for lang in (vocab or {})}
    lookup = {lang: torch.tensor(sorted(ids), dtype=torch.long) for lang, ids in (vocab or {}).items()}
    try:
        with torch.no_grad():
            for start in range(0, len(examples), batch_size):
                batch = examples[start : start + batch_size]
                ids, att = _pad(gm, [b["input_ids"] for b in batch])
                labels = torch.full_like(ids, -100)
                for i, b in enumerate(batch):
                    labels[i, : len(b["labels"])] = torch.tensor(b["labels"])
                logits = gm.model(input_ids=ids, attention_mask=att).logits.float()
                if gm.kind == "causal":
                    logits, labels = logits[:, :-1], labels[:, 1:]
                    labels = labels.masked_fill(att[:, 1:] == 0, -100)
                nll = F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum"
                )
                total += float(nll)
                scored = labels != -100
                count += int(scored.sum())
                if lookup:
                    top = logits[scored].argmax(-1).cpu()
                    for lang, ids in lookup.items():
                        hits[lang] += int(torch.isin(top, ids).sum())
    finally:
        if hook is not None:
            hook.remove()
    out: dict[str, Any] = {"perplexity": float(np.exp(total / max(count, 1))), "n_scored": count}
    if vocab is not None:
        out["top1_in"] = {lang: h / max(count, 1) for lang, h in hits.items()}
    return out
