"""Neuron analysis: are the two languages' versions of a fact carried by the same FFN neurons?

Following the neuron investigation of Zhao, Yoshinaga & Oba (EACL 2024), every fact is
represented, per language, by the top-N feed-forward neurons active at the mask position of
its cloze query. A fact known in both languages is *cross-lingually shared* when the two
top-N sets overlap clearly more than the top-N sets of two *different* facts do, and
*language-independent* otherwise. The threshold is therefore not a free constant: it is the
``quantile`` of the overlap between mismatched facts (fact i in language 1 with fact
``perm(i) != i`` in language 2), which is reported with the statistic.
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
    return np.array([len(np.intersect1d(x, y, assume_unique=True)) / a.shape[1] for x, y in zip(a, b)],
                    dtype=np.float64)


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
