"""Language-sensitive and language-neutral axes of token representations.

Chang, Tu and Bergen (EMNLP 2022, section 5) find language-sensitive axes with linear
discriminant analysis over languages and show that other axes (token position, part of speech)
carry no language information. Here the language-sensitive axes are the LDA axes
(scikit-learn, Ledoit-Wolf shrinkage, ``n_languages - 1`` of them at most); the language-neutral axes are the leading
principal axes of the per-language mean-centred representations within the orthogonal
complement of the language-sensitive span (the LDA axes and the differences of the language
means), so that the language means coincide along them. How much language information an
axis carries is measured by its Fisher ratio (between-language over within-language variance
of the projected tokens), which should be near zero for neutral axes on held-out tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LanguageAxes", "language_axes", "fisher_ratio"]


@dataclass
class LanguageAxes:
    """Language-sensitive and language-neutral unit directions of one layer.

    Attributes
    ----------
    sensitive : ndarray of float64, shape (d, s)
        Unit LDA directions (``s <= n_languages - 1``), most discriminative first.
    neutral : ndarray of float64, shape (d, m)
        Orthonormal directions orthogonal to ``sensitive`` and to the language-mean differences.
    center : ndarray of float64, shape (d,)
        Mean of the language means; projections are ``(X - center) @ axes``.
    languages : list of str
    """

    sensitive: np.ndarray
    neutral: np.ndarray
    center: np.ndarray
    languages: list

    def project(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of ``X`` (n, d) on the sensitive and neutral axes: (n, s), (n, m)."""
        Xc = np.asarray(X, dtype=np.float64) - self.center
        return Xc @ self.sensitive, Xc @ self.neutral


def _orthonormal(A: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    if A.size == 0:
        return A.reshape(A.shape[0], 0)
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    return U[:, s > tol * max(1.0, s.max())]


def language_axes(X, labels, n_neutral: int = 2) -> LanguageAxes:
    """Fit the language-sensitive (LDA) and language-neutral axes of one layer.

    Parameters
    ----------
    X : array-like of float, shape (n, d)
        Token representations of all languages.
    labels : array-like of str, shape (n,)
        The language of each row (at least two languages).
    n_neutral : int
        Language-neutral axes to return.

    Returns
    -------
    LanguageAxes

    Raises
    ------
    ValueError
        For fewer than two languages.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    langs = sorted(set(labels.tolist()))
    if len(langs) < 2:
        raise ValueError("language axes need at least two languages")
    means = np.stack([X[labels == lang].mean(axis=0) for lang in langs])
    center = means.mean(axis=0)
    # eigen solver with Ledoit-Wolf shrinkage: well defined with fewer tokens than dimensions
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(X, labels)
    s = min(len(langs) - 1, lda.scalings_.shape[1])
    W = np.asarray(lda.scalings_[:, :s], dtype=np.float64)
    sensitive = W / np.maximum(np.linalg.norm(W, axis=0, keepdims=True), 1e-300)
    # neutral: within-language variance in the complement of the sensitive span and mean differences
    block = _orthonormal(np.concatenate([sensitive, (means[1:] - means[0]).T], axis=1))
    Xw = X - means[np.searchsorted(langs, labels)]
    Xw = Xw - (Xw @ block) @ block.T
    _, _, vt = np.linalg.svd(Xw, full_matrices=False)
    neutral = vt[: max(0, int(n_neutral))].T
    return LanguageAxes(sensitive=sensitive, neutral=neutral, center=center, languages=langs)


def fisher_ratio(coords, labels) -> np.ndarray:
    """Between-language over within-language variance of each projected coordinate.

    Parameters
    ----------
    coords : array-like of float, shape (n, m)
    labels : array-like, shape (n,)

    Returns
    -------
    ndarray of float64, shape (m,)
        0 when the language means coincide along a coordinate; large when languages separate.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim == 1:
        coords = coords[:, None]
    labels = np.asarray(labels)
    grand = coords.mean(axis=0)
    between = np.zeros(coords.shape[1])
    within = np.zeros(coords.shape[1])
    for lang in set(labels.tolist()):
        c = coords[labels == lang]
        between += len(c) * (c.mean(axis=0) - grand) ** 2
        within += ((c - c.mean(axis=0)) ** 2).sum(axis=0)
    return between / np.maximum(within, 1e-300)
