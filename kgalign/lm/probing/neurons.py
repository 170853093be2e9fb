"""Neuron analysis: are the two languages' versions of a fact carried by the same FFN neurons?

Zhao, Yoshinaga & Oba (EACL 2024) rank neurons per relation and object with PROBELESS
(Antverg & Belinkov, ICLR 2022) and compare the top neurons across languages:
:func:`probeless_scores`, :func:`probeless_sharing` (null within the same relation and
template, spread over seeds), :func:`ablate` (a causal check: switch neurons off) and
:func:`patch` (activation patching: write another run's activations into neurons).

:func:`neuron_overlap` is an earlier, simpler statistic kept for compatibility: the top-N
activations at the mask of each fact, against one derangement of facts across relations.
It is not the paper's method and its "shared" share depends on the draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kgalign.errors import InputError


@dataclass
class NeuronOverlap:
    """Result of :func:`neuron_overlap`.

    Attributes
    ----------
    overlap : ndarray of float64, shape (q,)
        ``|top_N(a1[i]) ∩ top_N(a2[i])| / N`` per fact, in [0, 1].
    null : ndarray of float64, shape (q,)
        The same statistic for mismatched facts (i in language 1, perm(i) in language 2).
    threshold : float
        ``quantile`` of ``null``; facts with overlap strictly above it are *shared*.
    shared : ndarray of bool, shape (q,)
    top_n : int
    quantile : float
    centered : bool
        Whether activations were centred per language (the mean over the probed facts
        subtracted) before ranking, so always-on neurons do not dominate the top-N.
    top1, top2 : ndarray of int64, shape (q, top_n)
        Neuron ids (layer-major flat index) of each fact's top-N in each language.
    """

    overlap: np.ndarray
    null: np.ndarray
    threshold: float
    shared: np.ndarray
    top_n: int
    quantile: float
    centered: bool
    top1: np.ndarray = field(repr=False)
    top2: np.ndarray = field(repr=False)

    def summary(self) -> dict:
        return {
            "statistic": "top-N neuron overlap |A∩B|/N at the mask position",
            "top_n": self.top_n,
            "threshold": float(self.threshold),
            "threshold_rule": f"{self.quantile:.2f} quantile of the overlap of mismatched facts",
            "centered": self.centered,
            "n_facts": int(len(self.overlap)),
            "mean_overlap": float(self.overlap.mean()) if len(self.overlap) else float("nan"),
            "mean_null_overlap": float(self.null.mean()) if len(self.null) else float("nan"),
            "shared": int(self.shared.sum()),
            "independent": int((~self.shared).sum()),
        }


def top_neurons(acts: np.ndarray, top_n: int) -> np.ndarray:
    """Indices of the ``top_n`` largest values per row, shape (q, top_n), int64 (unordered)."""
    acts = np.asarray(acts)
    if top_n < 1 or top_n > acts.shape[1]:
        raise InputError(f"top_n must be in 1..{acts.shape[1]}, got {top_n}")
    return np.argpartition(-acts, top_n - 1, axis=1)[:, :top_n].astype(np.int64)


def set_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise ``|a_i ∩ b_i| / width`` for two (q, width) index arrays."""
    return np.array(
        [len(np.intersect1d(x, y, assume_unique=True)) / a.shape[1] for x, y in zip(a, b)], dtype=np.float64
    )


def neuron_overlap(
    acts1: np.ndarray,
    acts2: np.ndarray,
    top_n: int = 50,
    quantile: float = 0.95,
    center: bool = True,
    seed: int = 0,
) -> NeuronOverlap:
    """Classify facts as cross-lingually shared or language-independent.

    Parameters
    ----------
    acts1, acts2 : ndarray, shape (q, n_neurons)
        FFN activations of the same q facts in language 1 and language 2
        (:meth:`kgalign.lm.probing.lm.MaskedLMProber.ffn_activations`).
    top_n : int
        Neurons per fact and language.
    quantile : float
        Quantile of the mismatched-fact overlap used as threshold, in (0, 1).
    center : bool
        Subtract each language's mean activation over the q facts before ranking.
    seed : int
        Seeds the derangement used for the mismatched pairs.

    Returns
    -------
    NeuronOverlap

    Raises
    ------
    InputError
        Shapes differ, fewer than 2 facts, or parameters out of range.
    """
    a1, a2 = np.asarray(acts1, dtype=np.float64), np.asarray(acts2, dtype=np.float64)
    if a1.shape != a2.shape or a1.ndim != 2:
        raise InputError(f"activation arrays must have the same (q, n) shape, got {a1.shape} and {a2.shape}")
    if len(a1) < 2:
        raise InputError("neuron overlap needs at least 2 facts (the threshold compares mismatched facts)")
    if not 0.0 < quantile < 1.0:
        raise InputError(f"quantile must be in (0, 1), got {quantile}")
    if center:
        a1 = a1 - a1.mean(axis=0, keepdims=True)
        a2 = a2 - a2.mean(axis=0, keepdims=True)
    t1, t2 = top_neurons(a1, top_n), top_neurons(a2, top_n)
    ov = set_overlap(t1, t2)
    rng = np.random.default_rng(seed)
    q = len(a1)
    perm = (np.arange(q) + rng.integers(1, q)) % q  # a random cyclic shift: perm(i) != i
    null = set_overlap(t1, t2[perm])
    thr = float(np.quantile(null, quantile))
    return NeuronOverlap(ov, null, thr, ov > thr, top_n, quantile, center, t1, t2)


# ---------------------------------------------------------------------------- PROBELESS
# Zhao, Yoshinaga & Oba (EACL 2024, sec. 4) rank neurons per relation and object with
# PROBELESS (Antverg & Belinkov, ICLR 2022): with q(z) the mean activation vector of the
# queries whose label is z, a neuron's score for z is the mean over the other labels z' of
# |q(z) - q(z')|. A fact's language-specific neurons are the top-N of that score in each
# language; sharing is the overlap of the two top-N sets.


def probeless_scores(acts: np.ndarray, labels) -> tuple[list, np.ndarray]:
    """Tag-wise PROBELESS scores of every neuron for every label.

    Parameters
    ----------
    acts : ndarray, shape (q, n_neurons)
        Activations of q queries.
    labels : sequence of hashable, length q
        Label of each query (in the paper: the object of a relation's fact).

    Returns
    -------
    (list, ndarray of float64, shape (L, n_neurons))
        The L distinct labels (first-seen order) and, per label z, the mean over the other
        labels z' of ``|q(z) - q(z')|`` (all zeros when L == 1).

    Raises
    ------
    InputError
        Lengths differ or no query is given.
    """
    a = np.asarray(acts, dtype=np.float64)
    labels = list(labels)
    if a.ndim != 2 or len(a) != len(labels) or not len(a):
        raise InputError(f"need (q, n) activations and q labels, got {a.shape} and {len(labels)}")
    order = list(dict.fromkeys(labels))
    index = {z: i for i, z in enumerate(order)}
    idx = np.array([index[z] for z in labels])
    means = np.stack([a[idx == i].mean(axis=0) for i in range(len(order))])
    if len(order) == 1:
        return order, np.zeros_like(means)
    scores = np.stack([np.abs(means[i] - means).sum(axis=0) / (len(order) - 1) for i in range(len(order))])
    return order, scores


@dataclass
class SharedNeurons:
    """Result of :func:`probeless_sharing`.

    Attributes
    ----------
    labels : list
        Labels ranked in both languages (``(relation, object)`` keys).
    overlap : ndarray of float64, shape (L,)
        ``|top_N^1(z) ∩ top_N^2(z)| / N`` per label.
    null : ndarray of float64, shape (S, L)
        Per seed, the overlap of z in language 1 with a random other label z' of the same
        relation in language 2 (NaN where the relation has a single label).
    shared : ndarray of bool, shape (S, L)
        Per seed, overlap above the ``quantile`` of that seed's null.
    share : ndarray of float64, shape (S,)
        Per seed, the share of labels called shared.
    top1, top2 : dict
        Label -> top-N neuron ids in each language.
    """

    labels: list
    overlap: np.ndarray
    null: np.ndarray
    shared: np.ndarray
    share: np.ndarray
    top_n: int
    quantile: float
    seeds: tuple
    top1: dict = field(repr=False)
    top2: dict = field(repr=False)

    def summary(self) -> dict:
        return {
            "method": "PROBELESS top-N per (relation, object) in each language (Zhao et al., EACL 2024); "
            "null: another object of the same relation and template",
            "top_n": self.top_n,
            "quantile": self.quantile,
            "n_labels": len(self.labels),
            "mean_overlap": float(np.mean(self.overlap)) if len(self.overlap) else float("nan"),
            "mean_null_overlap": float(np.nanmean(self.null)) if np.isfinite(self.null).any() else float("nan"),
            "shared_share_by_seed": [float(x) for x in self.share],
            "shared_share_mean": float(np.mean(self.share)) if len(self.share) else float("nan"),
            "shared_share_std": float(np.std(self.share)) if len(self.share) else float("nan"),
            "seeds": list(self.seeds),
        }


def probeless_sharing(
    acts1: np.ndarray,
    labels1,
    acts2: np.ndarray,
    labels2,
    group=lambda label: label[0],
    top_n: int = 50,
    quantile: float = 0.95,
    seeds=tuple(range(10)),
) -> SharedNeurons:
    """Cross-lingual sharing of PROBELESS neurons, against a null within the same relation.

    Parameters
    ----------
    acts1, acts2 : ndarray, shape (q1, n) and (q2, n)
        Activations at the mask of the queries in language 1 and 2.
    labels1, labels2 : sequence of hashable
        Label per query, e.g. ``(relation_id, object_key)`` with an object key shared by
        the two languages (the fact index of the object, not its name).
    group : callable
        ``group(label)`` -> the relation (and template) a label belongs to; the null pairs a
        label only with other labels of its group, so relation and template are held fixed.
    top_n : int
        Neurons per label and language.
    quantile : float
        Quantile of the null overlap above which a label is *shared*.
    seeds : sequence of int
        One null draw per seed; report the spread of the shared share over them.

    Returns
    -------
    SharedNeurons

    Raises
    ------
    InputError
        Widths differ, no label is in both languages, or parameters out of range.
    """
    a1, a2 = np.asarray(acts1, dtype=np.float64), np.asarray(acts2, dtype=np.float64)
    if a1.ndim != 2 or a2.ndim != 2 or a1.shape[1] != a2.shape[1]:
        raise InputError(f"activation arrays must have the same width, got {a1.shape} and {a2.shape}")
    if not 0.0 < quantile < 1.0:
        raise InputError(f"quantile must be in (0, 1), got {quantile}")
    seeds = tuple(int(s) for s in seeds) or (0,)
    # PROBELESS is computed within each relation (the labels of one relation compete)
    l1, l2 = list(labels1), list(labels2)
    top1: dict = {}
    top2: dict = {}
    for acts, labs, top in ((a1, l1, top1), (a2, l2, top2)):
        groups: dict = {}
        for i, z in enumerate(labs):
            groups.setdefault(group(z), []).append(i)
        for _, idx in groups.items():
            order, scores = probeless_scores(acts[idx], [labs[i] for i in idx])
            tops = top_neurons(scores, top_n)
            for z, t in zip(order, tops):
                top[z] = t
    common = [z for z in top1 if z in top2]
    if not common:
        raise InputError("no label is ranked in both languages")
    ov = np.array([len(np.intersect1d(top1[z], top2[z])) / top_n for z in common])
    by_group: dict = {}
    for j, z in enumerate(common):
        by_group.setdefault(group(z), []).append(j)
    null = np.full((len(seeds), len(common)), np.nan)
    for s_i, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        for js in by_group.values():
            if len(js) < 2:
                continue
            perm = (np.arange(len(js)) + rng.integers(1, len(js))) % len(js)  # a derangement
            for a, b in zip(js, perm):
                null[s_i, a] = len(np.intersect1d(top1[common[a]], top2[common[js[b]]])) / top_n
    shared = np.zeros_like(null, dtype=bool)
    share = np.zeros(len(seeds))
    for s_i in range(len(seeds)):
        finite = null[s_i][np.isfinite(null[s_i])]
        thr = float(np.quantile(finite, quantile)) if len(finite) else np.inf
        shared[s_i] = ov > thr
        share[s_i] = shared[s_i].mean()
    return SharedNeurons(common, ov, null, shared, share, top_n, quantile, seeds, top1, top2)


def ablate(model, neurons):
    """Context manager: zero the given FFN neurons (layer-major flat ids) in every forward pass.

    Parameters
    ----------
    model : torch.nn.Module
        A model whose FFN modules :func:`kgalign.lm.probing.lm.ffn_modules` recognises.
    neurons : array-like of int
        Flat ids as in :meth:`MaskedLMProber.ffn_activations` (``layer * d_ff + unit``).

    Raises
    ------
    InputError
        No FFN module.
    """
    import contextlib

    from kgalign.lm.probing.lm import ffn_modules

    modules = ffn_modules(model)
    if not modules:
        raise InputError(f"no feed-forward modules found in {type(model).__name__}")

    @contextlib.contextmanager
    def ctx():
        ids = np.asarray(neurons, dtype=np.int64).reshape(-1)
        handles = []
        widths: list[int] = []

        def make(layer):
            def hook(_mod, _inp, out):
                d = out.shape[-1]
                sel = ids[(ids >= layer * d) & (ids < (layer + 1) * d)] - layer * d
                if len(sel):
                    out = out.clone()
                    out[..., sel] = 0.0
                return out

            return hook

        try:
            handles = [m.register_forward_hook(make(k)) for k, m in enumerate(modules)]
            yield widths
        finally:
            for h in handles:
                h.remove()

    return ctx()


def patch(model, neurons, values, positions=None):
    """Context manager: overwrite FFN neurons with given activations (activation patching).

    Inside the context every forward pass writes ``values`` into the chosen neurons of the
    feed-forward post-activation layer (the input of the FFN's output projection), at the
    chosen token positions, before the rest of the network runs. The values are typically
    the same neurons' activations from another run (:meth:`MaskedLMProber.ffn_activations`):
    the same fact asked in another language, or another fact as the control. Used for the
    causal check of Zhao, Yoshinaga & Oba (EACL 2024, "Tracing the roots of facts in
    multilingual language models: independent, shared, and transferred knowledge"); the
    technique is the activation patching of Meng et al. (NeurIPS 2022) on single neurons.

    Parameters
    ----------
    model : torch.nn.Module
        A model whose FFN modules :func:`kgalign.lm.probing.lm.ffn_modules` recognises.
    neurons : array-like of int, shape (k,)
        Flat ids as in :meth:`MaskedLMProber.ffn_activations` (``layer * d_ff + unit``).
    values : array-like of float, shape (..., k)
        The activations to write, last axis aligned with ``neurons``. With ``positions``
        given: shape ``(k,)`` (every row of the batch) or ``(batch, k)``. With ``positions``
        None (every position): ``(k,)``, ``(length, k)`` or ``(batch, length, k)``.
    positions : int or array-like of int, shape (batch,), optional
        Token position patched in each row (e.g. the first mask); None patches every
        position.

    Returns
    -------
    context manager

    Raises
    ------
    InputError
        No FFN module, ``values`` whose last axis is not ``len(neurons)``, or a neuron id
        outside the model.
    """
    import contextlib

    import torch

    from kgalign.lm.probing.lm import ffn_modules

    modules = ffn_modules(model)
    if not modules:
        raise InputError(f"no feed-forward modules found in {type(model).__name__}")
    ids = np.asarray(neurons, dtype=np.int64).reshape(-1)
    vals = np.asarray(values, dtype=np.float32)
    if vals.ndim == 0 or vals.shape[-1] != len(ids):
        raise InputError(f"values must end in an axis of {len(ids)} (one per neuron), got shape {vals.shape}")

    @contextlib.contextmanager
    def ctx():
        handles = []

        def make(layer):
            def hook(_mod, _inp, out):
                d = out.shape[-1]
                if len(ids) and (ids.min() < 0 or ids.max() >= len(modules) * d):
                    raise InputError(f"neuron ids must be in 0..{len(modules) * d - 1}")
                cols = np.nonzero((ids >= layer * d) & (ids < (layer + 1) * d))[0]
                if not len(cols):
                    return out
                units = torch.as_tensor(ids[cols] - layer * d, device=out.device)
                v = torch.as_tensor(vals[..., cols], dtype=out.dtype, device=out.device)
                out = out.clone()
                if positions is None:
                    region = out[..., units]
                    out[..., units] = v.expand_as(region)
                else:
                    pos = torch.as_tensor(
                        np.broadcast_to(np.asarray(positions), (out.shape[0],)).copy(), device=out.device
                    )
                    rows = torch.arange(out.shape[0], device=out.device)
                    region = out[rows[:, None], pos[:, None], units[None, :]]
                    out[rows[:, None], pos[:, None], units[None, :]] = v.expand_as(region)
                return out

            return hook

        try:
            handles = [m.register_forward_hook(make(k)) for k, m in enumerate(modules)]
            yield
        finally:
            for h in handles:
                h.remove()

    return ctx()
