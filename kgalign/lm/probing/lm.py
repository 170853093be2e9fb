"""Cloze probing of masked and causal language models.

Two ways of handling multi-token objects are implemented, as in the literature:

* **typed ranking** (mLAMA; Kassner, Dufter & Schütze, EACL 2021): every candidate object of
  the relation is scored by filling ``[Y]`` with as many mask tokens as the candidate has
  sub-tokens and averaging the log-probabilities of its sub-tokens at those positions (one
  forward pass per distinct length scores all candidates of that length);
* **untyped full-match decoding** (X-FACTR, Jiang et al., EMNLP 2020; used by Zhao,
  Yoshinaga & Oba, EACL 2024): ``[Y]`` is filled with 1..L masks, each filling is
  decoded (independently, or confidence-first re-predicting after every filled mask), the
  filling with the best mean log-probability wins, and the prediction is correct only when
  its token ids equal the object's token ids.

Causal LMs are probed by ranking the same candidates by the log-likelihood of the filled
sentence (:class:`CausalLMProber`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from kgalign.errors import InputError
from kgalign.lm.probing.templates import Template

if TYPE_CHECKING:  # pragma: no cover
    import torch


def _resolve_device(device):
    try:
        from kgalign.lm.finetune._util import resolve_device

        return resolve_device(device)
    except ImportError:  # pragma: no cover - engine not installed
        import torch

        if device in (None, "auto"):
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(device)


def load_masked_lm(name_or_path: str, device: str = "auto"):
    """Load a Hugging Face masked LM and its tokenizer (by hub id or local directory).

    Raises
    ------
    InputError
        When the model cannot be loaded (offline and not cached, not a masked LM, ...).
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name_or_path)
        model = AutoModelForMaskedLM.from_pretrained(name_or_path)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot load masked LM {name_or_path!r}: {exc}") from exc
    if tok.mask_token_id is None:
        raise InputError(f"{name_or_path!r}: the tokenizer has no mask token; not a masked LM")
    model.eval()
    return model.to(_resolve_device(device)), tok


def load_causal_lm(name_or_path: str, device: str = "auto"):
    """Load a Hugging Face causal LM and its tokenizer (by hub id or local directory).

    Raises
    ------
    InputError
        When the model cannot be loaded.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name_or_path)
        model = AutoModelForCausalLM.from_pretrained(name_or_path)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot load causal LM {name_or_path!r}: {exc}") from exc
    model.eval()
    return model.to(_resolve_device(device)), tok


@dataclass
class Decoded:
    """An untyped prediction (full-match decoding).

    Attributes
    ----------
    token_ids : list of int
        The decoded object tokens.
    text : str
        ``tokenizer.decode(token_ids)``.
    score : float
        Mean log-probability (nats) of the decoded tokens.
    n_masks : int
        Number of masks of the winning filling.
    """

    token_ids: list[int]
    text: str
    score: float
    n_masks: int


class _Base:
    def __init__(self, model, tokenizer, batch_size: int = 32, device=None):
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        if device is None:
            try:
                device = next(model.parameters()).device
            except StopIteration:  # pragma: no cover
                device = "cpu"
        self.device = device
        self._cache: dict[str, list[int]] = {}
        self.prefix, self.suffix = special_wrapper(tokenizer)

    def tokens(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens (cached)."""
        ids = self._cache.get(text)
        if ids is None:
            text = text.strip()
            ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []
            self._cache[text] = ids
        return ids

    def object_tokens(self, names: Sequence[str]) -> list[list[int]]:
        """Token ids of candidate object names (one list per name).

        Raises
        ------
        InputError
            When a name has no token (empty after normalisation).
        """
        out = []
        for name in names:
            ids = self.tokens(name)
            if not ids:
                raise InputError(f"object name {name!r} has no token for this tokenizer")
            out.append(ids)
        return out

    def wrap(self, body: list[int]) -> tuple[list[int], int]:
        """``body`` with the tokenizer's special tokens around it, and the body's offset."""
        return self.prefix + list(body) + self.suffix, len(self.prefix)

    def _pad_id(self) -> int:
        tok = self.tokenizer
        for v in (tok.pad_token_id, tok.eos_token_id, 0):
            if v is not None:
                return int(v)
        return 0  # pragma: no cover


class MaskedLMProber(_Base):
    """Probe a masked LM with cloze templates.

    Parameters
    ----------
    model : transformers ``*ForMaskedLM``
        In eval mode; left where it is (its device is used).
    tokenizer : transformers tokenizer with a mask token
    batch_size : int
        Queries per forward pass.

    Notes
    -----
    Queries are tokenised piecewise (text left of ``[Y]``, the masks, text right of
    ``[Y]``) so that the object's sub-tokens are exactly those of the object name tokenised
    alone, whatever the script (no space before the object in Chinese or Japanese).
    """

    def __init__(self, model, tokenizer, batch_size: int = 32, device=None):
        super().__init__(model, tokenizer, batch_size, device)
        if tokenizer.mask_token_id is None:
            raise InputError("the tokenizer has no mask token; use CausalLMProber for causal LMs")
        self.mask_id = int(tokenizer.mask_token_id)
        self.max_length = int(getattr(model.config, "max_position_embeddings", 512) or 512)

    @classmethod
    def from_pretrained(cls, name_or_path: str, device: str = "auto", batch_size: int = 32) -> MaskedLMProber:
        """Load ``name_or_path`` (hub id or local directory) with :func:`load_masked_lm`."""
        model, tok = load_masked_lm(name_or_path, device)
        return cls(model, tok, batch_size=batch_size)

    # ------------------------------------------------------------------ queries
    def query_ids(self, template: Template, subject: str, n_masks: int) -> tuple[list[int], list[int]]:
        """Token ids of the query with ``n_masks`` masks in place of ``[Y]``.

        Returns
        -------
        (list of int, list of int)
            The full input ids (with the model's special tokens) and the positions of the
            masks in it.
        """
        left, right = template.split(subject)
        left_ids, right_ids = self.tokens(left), self.tokens(right)
        body = left_ids + [self.mask_id] * n_masks + right_ids
        full, offset = self.wrap(body)
        pos = list(range(offset + len(left_ids), offset + len(left_ids) + n_masks))
        return full, pos

    def _forward_logprobs(self, batch: list[tuple[list[int], list[int]]]) -> list[torch.Tensor]:
        """Log-softmax over the vocabulary at the mask positions of each query."""
        import torch

        out = []
        for start in range(0, len(batch), self.batch_size):
            chunk = batch[start : start + self.batch_size]
            width = max(len(ids) for ids, _ in chunk)
            if width > self.max_length:
                raise InputError(f"a query has {width} tokens, more than the model's {self.max_length}")
            ids = torch.full((len(chunk), width), self._pad_id(), dtype=torch.long)
            att = torch.zeros((len(chunk), width), dtype=torch.long)
            for i, (q, _) in enumerate(chunk):
                ids[i, : len(q)] = torch.tensor(q)
                att[i, : len(q)] = 1
            with torch.no_grad():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=att.to(self.device)).logits
            for i, (_, pos) in enumerate(chunk):
                out.append(torch.log_softmax(logits[i, pos].float(), dim=-1).cpu())
        return out

    # ------------------------------------------------------------------ typed ranking
    def rank_candidates(
        self,
        template: Template,
        subjects: Sequence[str],
        candidates: Sequence[Sequence[int]] | Sequence[str],
    ) -> np.ndarray:
        """Typed ranking: mean log-probability of every candidate object for every subject.

        Parameters
        ----------
        template : Template
        subjects : sequence of str, length q
            Subject names (one query each).
        candidates : sequence of str or of token-id lists, length c
            The relation's candidate objects (mLAMA's typed candidate set).

        Returns
        -------
        ndarray of float64, shape (q, c)
            ``score[i, j]`` = mean over the sub-tokens ``t_k`` of candidate j of
            ``log P(t_k | query_i with len(j) masks)`` (nats). All masks are predicted in the
            same forward pass (Kassner et al., 2021).
        """
        import torch

        if len(candidates) and isinstance(candidates[0], str):
            candidates = self.object_tokens(candidates)  # type: ignore[arg-type]
        cand = [list(c) for c in candidates]
        scores = np.full((len(subjects), len(cand)), -np.inf, dtype=np.float64)
        by_len: dict[int, list[int]] = {}
        for j, c in enumerate(cand):
            if not c:
                raise InputError(f"candidate #{j} has no token")
            by_len.setdefault(len(c), []).append(j)
        for k, js in sorted(by_len.items()):
            queries = [self.query_ids(template, s, k) for s in subjects]
            logps = self._forward_logprobs(queries)
            tok = torch.tensor([cand[j] for j in js], dtype=torch.long)  # (c_k, k)
            for i, lp in enumerate(logps):  # lp: (k, V)
                picked = lp[torch.arange(k).unsqueeze(0), tok]  # (c_k, k)
                scores[i, js] = picked.mean(dim=1).double().numpy()
        return scores

    # ------------------------------------------------------------------ untyped decoding
    def decode(
        self,
        template: Template,
        subjects: Sequence[str],
        max_masks: int = 5,
        strategy: str = "independent",
    ) -> list[Decoded]:
        """Untyped full-match decoding with 1..``max_masks`` masks (Jiang et al., 2020).

        Parameters
        ----------
        template : Template
        subjects : sequence of str
        max_masks : int
            Largest number of masks tried (the longest object in tokens is a good choice).
        strategy : {"independent", "confidence"}
            ``independent``: every mask takes its arg-max in one forward pass.
            ``confidence``: fill the single most confident mask, re-run, repeat.

        Returns
        -------
        list of Decoded
            One per subject: the filling with the highest mean log-probability.

        Raises
        ------
        InputError
            For an unknown strategy or ``max_masks < 1``.
        """
        if strategy not in ("independent", "confidence"):
            raise InputError(f"unknown decoding strategy {strategy!r}; use independent or confidence")
        if max_masks < 1:
            raise InputError(f"max_masks must be >= 1, got {max_masks}")
        best: list[Decoded | None] = [None] * len(subjects)
        for k in range(1, max_masks + 1):
            queries = [self.query_ids(template, s, k) for s in subjects]
            if strategy == "independent":
                logps = self._forward_logprobs(queries)
                results = []
                for lp in logps:
                    val, idx = lp.max(dim=-1)
                    results.append((idx.tolist(), float(val.mean())))
            else:
                results = self._confidence_decode(queries)
            for i, (ids, score) in enumerate(results):
                if best[i] is None or score > best[i].score:  # type: ignore[union-attr]
                    best[i] = Decoded(ids, self.tokenizer.decode(ids).strip(), score, k)
        return best  # type: ignore[return-value]

    def _confidence_decode(self, queries):
        state = [(list(ids), list(pos), {}) for ids, pos in queries]
        k = len(queries[0][1]) if queries else 0
        for _ in range(k):
            todo = [(ids, [p for p in pos if p not in filled]) for ids, pos, filled in state]
            logps = self._forward_logprobs(todo)
            for (ids, _pos, filled), (_, open_pos), lp in zip(state, todo, logps):
                val, idx = lp.max(dim=-1)
                j = int(val.argmax())
                p = open_pos[j]
                ids[p] = int(idx[j])
                filled[p] = float(val[j])
        return [([ids[p] for p in pos], float(np.mean([filled[p] for p in pos]))) for ids, pos, filled in state]

    # ------------------------------------------------------------------ activations
    def ffn_activations(
        self, template: Template, subjects: Sequence[str], n_masks: Sequence[int] | int = 1
    ) -> np.ndarray:
        """Feed-forward (intermediate) activations at the first mask position.

        Parameters
        ----------
        template : Template
        subjects : sequence of str, length q
        n_masks : int or sequence of int
            Masks per query (the gold object's token count, as in probing).

        Returns
        -------
        ndarray of float32, shape (q, n_layers * d_ff)
            Post-activation values of every FFN neuron (layer-major), i.e. the input of the
            FFN's output projection, at the first mask of each query.

        Raises
        ------
        InputError
            When no FFN module is recognised in the model.
        """
        import torch

        modules = ffn_modules(self.model)
        if not modules:
            raise InputError(f"no feed-forward modules found in {type(self.model).__name__}")
        if isinstance(n_masks, int):
            n_masks = [n_masks] * len(subjects)
        captured: list[torch.Tensor] = []

        def hook(_mod, _inp, out):
            captured.append(out.detach())

        handles = [m.register_forward_hook(hook) for m in modules]
        rows = []
        try:
            queries = [self.query_ids(template, s, k) for s, k in zip(subjects, n_masks)]
            for start in range(0, len(queries), self.batch_size):
                chunk = queries[start : start + self.batch_size]
                width = max(len(q) for q, _ in chunk)
                ids = torch.full((len(chunk), width), self._pad_id(), dtype=torch.long)
                att = torch.zeros((len(chunk), width), dtype=torch.long)
                for i, (q, _) in enumerate(chunk):
                    ids[i, : len(q)] = torch.tensor(q)
                    att[i, : len(q)] = 1
                captured.clear()
                with torch.no_grad():
                    self.model(input_ids=ids.to(self.device), attention_mask=att.to(self.device))
                first = torch.tensor([pos[0] for _, pos in chunk])
                per_layer = [c[torch.arange(len(chunk)), first].float().cpu() for c in captured]
                rows.append(torch.cat(per_layer, dim=1).numpy())
        finally:
            for h in handles:
                h.remove()
        return np.concatenate(rows, axis=0).astype(np.float32)


def ffn_modules(model) -> list:
    """The modules whose output is the FFN's post-activation hidden layer, in layer order.

    Recognises BERT/RoBERTa/XLM-R (``*.intermediate``), DistilBERT (``*.ffn.activation``)
    and GPT-2-style (``*.mlp.act``) blocks.
    """
    found = []
    for name, mod in model.named_modules():
        if name.endswith(".intermediate") and hasattr(mod, "dense"):
            found.append(mod)
        elif name.endswith(".ffn.activation") or name.endswith(".mlp.act"):
            found.append(mod)
    return found


def special_wrapper(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a single sequence.

    Found by tokenising a probe text with and without special tokens (works for slow and
    fast tokenizers, whatever post-processor they use): ``[CLS]``/``[SEP]`` for BERT,
    ``<s>``/``</s>`` for XLM-R, nothing for GPT-2.
    """
    for probe in ("a", "the", "x y"):
        with_sp = list(tokenizer(probe)["input_ids"])
        without = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
        m = len(without)
        for i in range(len(with_sp) - m + 1):
            if m and with_sp[i : i + m] == without:
                return with_sp[:i], with_sp[i + m :]
    return [], []  # pragma: no cover - a tokenizer that rewrites the body


class CausalLMProber(_Base):
    """Rank candidate objects with a causal LM by the log-likelihood of the filled sentence.

    The score of candidate ``c`` is ``sum_t log P(w_t | w_<t)`` over the tokens of the
    sentence with ``[Y] = c`` (tokenised piecewise like :class:`MaskedLMProber`, wrapped in
    the tokenizer's special tokens, or preceded by BOS when the tokenizer adds none), or
    that sum divided by the number of scored tokens with ``reduction="mean"``. The tokens left of the object
    are shared by all candidates, so the ranking depends on the object and what follows it.
    """

    @classmethod
    def from_pretrained(cls, name_or_path: str, device: str = "auto", batch_size: int = 32) -> CausalLMProber:
        """Load ``name_or_path`` with :func:`load_causal_lm`."""
        model, tok = load_causal_lm(name_or_path, device)
        return cls(model, tok, batch_size=batch_size)

    def _sentence_ids(self, template: Template, subject: str, obj_ids: list[int]) -> list[int]:
        left, right = template.split(subject)
        ids = self.tokens(left) + list(obj_ids) + self.tokens(right)
        prefix = self.prefix
        if not prefix and self.tokenizer.bos_token_id is not None:
            prefix = [int(self.tokenizer.bos_token_id)]  # GPT-2: condition the first token on BOS
        return prefix + ids + self.suffix

    def rank_candidates(
        self,
        template: Template,
        subjects: Sequence[str],
        candidates: Sequence[Sequence[int]] | Sequence[str],
        reduction: str = "sum",
    ) -> np.ndarray:
        """Log-likelihood of every filled sentence.

        Parameters
        ----------
        template : Template
        subjects : sequence of str, length q
        candidates : sequence of str or of token-id lists, length c
        reduction : {"sum", "mean"}

        Returns
        -------
        ndarray of float64, shape (q, c)
            Sentence log-probabilities in nats (higher is better).
        """
        import torch

        if reduction not in ("sum", "mean"):
            raise InputError(f"unknown reduction {reduction!r}; use sum or mean")
        if len(candidates) and isinstance(candidates[0], str):
            candidates = self.object_tokens(candidates)  # type: ignore[arg-type]
        # token-id lists from here on (mypy cannot narrow the union by its first element)
        cand_ids = cast("Sequence[Sequence[int]]", candidates)
        sents = [
            (i, j, self._sentence_ids(template, s, list(c)))
            for i, s in enumerate(subjects)
            for j, c in enumerate(cand_ids)
        ]
        scores = np.full((len(subjects), len(candidates)), -np.inf, dtype=np.float64)
        for start in range(0, len(sents), self.batch_size):
            chunk = sents[start : start + self.batch_size]
            width = max(len(x) for _, _, x in chunk)
            ids = torch.full((len(chunk), width), self._pad_id(), dtype=torch.long)
            att = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, (_, _, x) in enumerate(chunk):
                ids[r, : len(x)] = torch.tensor(x)
                att[r, : len(x)] = 1
            with torch.no_grad():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=att.to(self.device)).logits
            lp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            tgt = ids[:, 1:].to(lp.device)
            tok_lp = lp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1) * att[:, 1:].to(lp.device)
            tot = tok_lp.sum(dim=1).cpu().double()
            cnt = att[:, 1:].sum(dim=1).double()
            vals = tot / cnt if reduction == "mean" else tot
            for r, (i, j, _) in enumerate(chunk):
                scores[i, j] = float(vals[r])
        return scores
