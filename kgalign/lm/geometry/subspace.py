"""Affine language subspaces, projections onto them, principal angles and subspace distances.

Chang, Tu and Bergen: "The Geometry of Multilingual Language Model Representations", EMNLP
2022 (arXiv:2205.10964). Each language A at a layer is an affine subspace: its mean
``mu_A`` plus the span ``V_A`` of the top principal axes of its mean-centred token
representations that keep a share of the variance (0.9 in the paper). A representation
``x`` is moved by the general map ``V_P V_P^T (x - mu_a) + mu_b``; the paper's projections are

- own subspace: ``P = a = b = A``;
- another language's subspace with its mean (closest point of the affine subspace B):
  ``P = a = b = B``;
- another language's subspace, keeping the own mean: ``P = B``, ``a = b = A``;
- mean shift only (no projection): ``V_P V_P^T = I``, ``a = A``, ``b = B``.

Pure numpy/scipy: nothing here needs a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LanguageSubspace", "fit_subspace", "subspace_dim", "affine_map", "principal_angles", "subspace_distances"]


@dataclass
class LanguageSubspace:
    """The affine subspace of one language at one layer.

    Attributes
    ----------
    mean : ndarray of float64, shape (d,)
        Mean representation (zeros when fitted with ``center=False``).
    axes : ndarray of float64, shape (d, r)
        Orthonormal principal axes (columns), by decreasing variance; ``r <= min(n, d)``.
    variances : ndarray of float64, shape (r,)
        Variance along each axis (squared singular value / (n - 1)).
    k : int
        Dimension kept: the fewest leading axes whose variance reaches ``share`` of the total
        (``d``, the whole space, when ``share >= 1``).
    share : float
        Variance share the subspace keeps.
    n_tokens : int
        Representations it was fitted on.
    """

    mean: np.ndarray
    axes: np.ndarray
    variances: np.ndarray
    k: int
    share: float
    n_tokens: int

    @property
    def dim(self) -> int:
        """Dimension ``d`` of the representation space."""
        return int(self.mean.shape[0])

    @property
    def full(self) -> bool:
        """True when the subspace is the whole space (its projection is the identity)."""
        return self.k >= self.dim

    def basis(self, k: int | None = None) -> np.ndarray:
        """The first ``k`` (default :attr:`k`) axes, shape (d, k); the identity when :attr:`full`."""
        k = self.k if k is None else int(k)
        if k >= self.dim:
            return np.eye(self.dim)
        return self.axes[:, :k]

    def projector(self) -> np.ndarray:
        """``V V^T``, shape (d, d): orthogonal projection onto the (linear) subspace."""
        if self.full:
            return np.eye(self.dim)
        V = self.basis()
        return V @ V.T

    def summary(self) -> dict:
        """JSON-ready description: k, share, tokens, total variance and kept variance share."""
        total = float(self.variances.sum())
        kept = float(self.variances[: min(self.k, len(self.variances))].sum())
        return {
            "k": int(self.k),
            "dim": self.dim,
            "share": float(self.share),
            "n_tokens": int(self.n_tokens),
            "total_variance": total,
            "kept_variance_share": kept / total if total > 0 else 1.0,
            "mean_norm": float(np.linalg.norm(self.mean)),
        }


def subspace_dim(variances, share: float) -> int:
    """Fewest leading principal axes whose variance reaches ``share`` of the total.

    Parameters
    ----------
    variances : array-like of float, shape (r,)
        Variances along the principal axes, in decreasing order.
    share : float
        In (0, 1]. ``share >= 1`` means the whole space and returns ``len(variances)``
        (callers treat it as no projection, as the paper's code does).

    Returns
    -------
    int
        ``k`` with ``sum(variances[:k]) >= share * sum(variances)`` and ``k`` minimal (at least 1).

    Raises
    ------
    ValueError
        When ``share`` is not in (0, 1].
    """
    if not (0.0 < float(share) <= 1.0):
        raise ValueError(f"variance share must be in (0, 1], got {share!r}")
    v = np.asarray(variances, dtype=np.float64)
    if share >= 1.0 or v.size == 0:
        return int(v.size)
    total = v.sum()
    if total <= 0:
        return 1
    cum = np.cumsum(v)
    # relative tolerance: a share met exactly in exact arithmetic is not missed by rounding
    k = int(np.searchsorted(cum, share * total * (1 - 1e-9), side="left")) + 1
    return max(1, min(k, int(v.size)))


def fit_subspace(X, share: float = 0.9, center: bool = True) -> LanguageSubspace:
    """The affine subspace of one language: mean and principal axes keeping ``share`` of the variance.

    Parameters
    ----------
    X : array-like of float, shape (n, d)
        Token representations of one language at one layer (n >= 2).
    share : float
        Variance share to keep, in (0, 1]; 1 keeps the whole space (the projection is the
        identity).
    center : bool
        Subtract the mean before the SVD (the paper's affine subspaces). False fits the linear
        span of the raw representations (its "mean" is zero), which mixes the mean direction
        into the axes.

    Returns
    -------
    LanguageSubspace

    Raises
    ------
    ValueError
        For fewer than two representations or a non-2-D input.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"need at least two representations (n, d), got shape {X.shape}")
    n, d = X.shape
    mean = X.mean(axis=0) if center else np.zeros(d)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    variances = s**2 / (n - 1)
    k = d if share >= 1.0 else subspace_dim(variances, share)
    return LanguageSubspace(
        mean=mean, axes=vt.T.copy(), variances=variances, k=int(k), share=float(share), n_tokens=int(n)
    )


def affine_map(subspace: LanguageSubspace | None, mean_a, mean_b) -> tuple[np.ndarray, np.ndarray]:
    """``x -> V V^T (x - mean_a) + mean_b`` as a matrix and offset: ``x @ M + c``.

    Parameters
    ----------
    subspace : LanguageSubspace or None
        The subspace projected onto (None: no projection, only the mean shift).
    mean_a, mean_b : ndarray of float, shape (d,)
        Mean removed before and added after the projection.

    Returns
    -------
    M : ndarray of float64, shape (d, d)
        Symmetric (``V V^T`` or the identity).
    c : ndarray of float64, shape (d,)
        ``mean_b - mean_a @ M``.
    """
    mean_a = np.asarray(mean_a, dtype=np.float64)
    mean_b = np.asarray(mean_b, dtype=np.float64)
    M = np.eye(mean_a.shape[0]) if subspace is None else subspace.projector()
    return M, mean_b - mean_a @ M


def principal_angles(a: LanguageSubspace, b: LanguageSubspace, k: int | None = None) -> np.ndarray:
    """Principal angles (radians, increasing) between the linear parts of two subspaces.

    Parameters
    ----------
    a, b : LanguageSubspace
    k : int, optional
        Use the first ``k`` axes of both (default each one's own ``k``); there are
        ``min(k_a, k_b)`` angles.

    Returns
    -------
    ndarray of float64, shape (min(k_a, k_b),)
        Angles in [0, pi/2] (scipy.linalg.subspace_angles, Knyazev and Argentati 2002).
    """
    from scipy.linalg import subspace_angles

    A, B = a.basis(k), b.basis(k)
    return np.sort(subspace_angles(A, B))


def _riemann_fixed_rank(a: LanguageSubspace, b: LanguageSubspace, k: int) -> float:
    """Distance between the rank-k covariance ellipsoids ``V diag(var) V^T`` of a and b.

    Bonnabel and Sepulchre: "Riemannian metric and geometric mean for positive semidefinite
    matrices of fixed rank", SIAM J. Matrix Anal. Appl. 2009 (their eq. 15, weight 1):
    ``d^2 = sum(theta_i^2) + sum(log^2 lambda_i(R_a R_b^-1))`` where ``theta`` are the principal
    angles and ``R_a, R_b`` the two covariances written in the bases of principal vectors.
    With ``k = d`` it is the affine-invariant distance between covariance matrices. The
    distance Chang et al. (2022) report between language subspaces.
    """
    k = int(min(k, a.axes.shape[1], b.axes.shape[1]))
    Va, Vb = a.axes[:, :k], b.axes[:, :k]
    U, cos, Wt = np.linalg.svd(Va.T @ Vb)
    theta = np.arccos(np.clip(cos, -1.0, 1.0))
    Pa, Pb = Va @ U, Vb @ Wt.T  # principal vectors of a and b
    Ca = Pa.T @ (Va * a.variances[:k]) @ (Va.T @ Pa)  # Pa^T (Va diag(var_a) Va^T) Pa
    Cb = Pb.T @ (Vb * b.variances[:k]) @ (Vb.T @ Pb)
    from scipy.linalg import eigh

    try:
        lam = eigh(Ca, Cb, eigvals_only=True)
    except np.linalg.LinAlgError:
        return float("nan")
    lam = lam[lam > 0]
    return float(np.sqrt(np.sum(theta**2) + np.sum(np.log(lam) ** 2)))


def subspace_distances(a: LanguageSubspace, b: LanguageSubspace) -> dict:
    """Distances between two language subspaces (linear parts; means are compared separately).

    Returns
    -------
    dict
        ``mean_principal_angle`` (radians, over ``min(k_a, k_b)`` angles),
        ``geodesic`` (Grassmann distance ``sqrt(sum theta^2)``, Zuccon et al. 2009),
        ``riemann`` (variance-aware distance of Bonnabel and Sepulchre 2009, on the first
        ``min(k_a, k_b)`` axes of both, as in Chang et al. 2022),
        ``mean_distance`` (Euclidean distance between the means) and ``k`` (angles used).
    """
    theta = principal_angles(a, b)
    k = int(min(a.k, b.k, a.axes.shape[1], b.axes.shape[1]))
    return {
        "k": int(theta.size),
        "mean_principal_angle": float(theta.mean()) if theta.size else 0.0,
        "geodesic": float(np.sqrt(np.sum(theta**2))),
        "riemann": _riemann_fixed_rank(a, b, k),
        "mean_distance": float(np.linalg.norm(a.mean - b.mean)),
    }
