"""Representational comparison of two layers on the same stimuli: linear CKA and RSA.

Both take response arrays whose first axis is the stimulus: ``X (n, p)`` from one
layer (of one model) and ``Y (n, q)`` from another, with row ``i`` of each the
response to the same stimulus ``i``.  Trailing axes are flattened, so a
retinotopic layer's ``(n, channels, rows, cols)`` responses can be passed as is.

- Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019, ICML):
  ``CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` with column-centred
  ``Xc, Yc``.  It is 1 for identical representations and invariant to orthogonal
  transforms and isotropic scaling of either, but not to arbitrary invertible
  linear maps.
- Representational similarity analysis (Kriegeskorte, Mur & Bandettini 2008,
  Front Syst Neurosci 2:4): the Spearman rank correlation between the upper
  triangles of the two representational dissimilarity matrices (RDMs).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

from stimuli._shared.validation import check_array, check_choice

__all__ = ["cka", "cka_matrix", "rdm", "rsa"]

_METRICS = ("correlation", "euclidean", "cosine")


def _as_samples(name: str, value, *, minimum: int = 2) -> np.ndarray:
    """A finite float64 array ``(n, features)``; trailing axes flattened."""
    arr = check_array(name, value, dtype=np.float64)
    if arr.ndim < 2:
        raise ValueError(f"{name} must have shape (n_stimuli, features...), got {arr.shape}")
    if arr.shape[0] < minimum:
        raise ValueError(f"{name} needs at least {minimum} stimuli (rows), got {arr.shape[0]}")
    return arr.reshape(arr.shape[0], -1)


def _check_same_n(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and Y must hold responses to the same stimuli: X has {x.shape[0]} rows, "
            f"Y has {y.shape[0]}"
        )


def cka(X, Y) -> float:
    """Linear centred kernel alignment between two representations of the same stimuli.

    Parameters
    ----------
    X : array_like of shape (n, p, ...)
        Responses of one layer to ``n`` stimuli (trailing axes are flattened).
    Y : array_like of shape (n, q, ...)
        Responses of another layer to the same ``n`` stimuli.

    Returns
    -------
    float
        Linear CKA in [0, 1] (Kornblith et al. 2019): 1 when ``Y`` is an orthogonal
        transform and/or isotropic scaling of ``X`` (after centring).

    Raises
    ------
    ValueError
        If ``n`` differs between ``X`` and ``Y``, ``n < 2``, an array holds NaN or
        infinity, or a representation is constant across stimuli (CKA undefined).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 10))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    >>> round(cka(X, 3.0 * X @ Q), 6)
    1.0
    """
    x = _as_samples("X", X)
    y = _as_samples("Y", Y)
    _check_same_n(x, y)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    for name, arr in (("X", x), ("Y", y)):
        if not np.any(arr):
            raise ValueError(f"{name} is constant across stimuli: CKA is undefined")
    # scale for numerical range (CKA is scale-invariant)
    x /= np.abs(x).max()
    y /= np.abs(y).max()
    n = x.shape[0]
    if n < max(x.shape[1], y.shape[1]):
        # Gram-matrix form: n x n kernels are cheaper than p x q cross-covariances
        k, l_ = x @ x.T, y @ y.T
        hsic_xy = float(np.sum(k * l_))
        hsic_xx = float(np.sum(k * k))
        hsic_yy = float(np.sum(l_ * l_))
    else:
        hsic_xy = float(np.sum((y.T @ x) ** 2))
        hsic_xx = float(np.sum((x.T @ x) ** 2))
        hsic_yy = float(np.sum((y.T @ y) ** 2))
    value = hsic_xy / np.sqrt(hsic_xx * hsic_yy)
    # mathematically in [0, 1]; only rounding can step outside
    return float(min(max(value, 0.0), 1.0))


def cka_matrix(xs: Mapping[str, object], ys: Mapping[str, object] | None = None) -> np.ndarray:
    """Linear CKA between every pair of representations (e.g. layers of two models).

    Parameters
    ----------
    xs : mapping of str to array_like of shape (n, ...)
        Named representations of the same ``n`` stimuli (e.g. ``{"simple": ..., "complex":
        ...}``); the names label rows in :func:`analysis.figures.representations.plot_cka_matrix`.
    ys : mapping of str to array_like of shape (n, ...), optional
        A second set (e.g. another model's layers); default ``xs`` itself.

    Returns
    -------
    ndarray of shape (len(xs), len(ys))
        ``out[i, j] = cka(xs[i], ys[j])`` in mapping order.

    Raises
    ------
    ValueError
        If a mapping is empty or any pair fails :func:`cka`'s checks.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=(30, 5))
    >>> m = cka_matrix({"a": a, "b": rng.normal(size=(30, 8))})
    >>> m.shape, round(float(m[0, 0]), 6), bool(np.allclose(m, m.T))
    ((2, 2), 1.0, True)
    """
    if not isinstance(xs, Mapping) or len(xs) == 0:
        raise ValueError("xs must be a non-empty mapping of name to responses")
    ys = xs if ys is None else ys
    if not isinstance(ys, Mapping) or len(ys) == 0:
        raise ValueError("ys must be a non-empty mapping of name to responses")
    out = np.empty((len(xs), len(ys)))
    for i, a in enumerate(xs.values()):
        for j, b in enumerate(ys.values()):
            out[i, j] = cka(a, b)
    return out


def rdm(X, *, metric: str = "correlation") -> np.ndarray:
    """Representational dissimilarity matrix of responses to ``n`` stimuli.

    Parameters
    ----------
    X : array_like of shape (n, p, ...)
        Responses; trailing axes are flattened.
    metric : {"correlation", "euclidean", "cosine"}
        Dissimilarity between two stimuli's response patterns: ``1 − Pearson r``
        (default), Euclidean distance, or ``1 − cosine similarity``.

    Returns
    -------
    ndarray of shape (n, n)
        Symmetric, zero on the diagonal.

    Raises
    ------
    ValueError
        If ``X`` holds NaN or infinity, ``n < 2``, or a response pattern is constant
        (correlation) or all zero (cosine), where the dissimilarity is undefined.

    Examples
    --------
    >>> rdm([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [2.0, 4.0, 6.0]]).round(6).tolist()
    [[0.0, 2.0, 0.0], [2.0, 0.0, 2.0], [0.0, 2.0, 0.0]]
    """
    x = _as_samples("X", X)
    metric = check_choice("metric", metric, _METRICS)
    if metric == "correlation":
        bad = np.flatnonzero(np.ptp(x, axis=1) == 0)
        if bad.size:
            raise ValueError(
                f"X row {int(bad[0])} is constant across features: its correlation distance "
                f"is undefined ({bad.size} such row(s)); use metric='euclidean'"
            )
    elif metric == "cosine":
        bad = np.flatnonzero(~np.any(x, axis=1))
        if bad.size:
            raise ValueError(
                f"X row {int(bad[0])} is all zero: its cosine distance is undefined "
                f"({bad.size} such row(s)); use metric='euclidean'"
            )
    d = squareform(pdist(x, metric=metric))
    np.fill_diagonal(d, 0.0)
    return d


def rsa(X, Y, *, metric: str = "correlation") -> float:
    """Spearman correlation between the RDMs of two representations of the same stimuli.

    Parameters
    ----------
    X : array_like of shape (n, p, ...)
    Y : array_like of shape (n, q, ...)
        Responses to the same ``n >= 3`` stimuli (row ``i`` is stimulus ``i`` in both).
    metric : {"correlation", "euclidean", "cosine"}
        Dissimilarity used for both RDMs (see :func:`rdm`).

    Returns
    -------
    float
        Spearman's rho between the ``n (n − 1) / 2`` upper-triangle entries, in
        [−1, 1] (Kriegeskorte et al. 2008).

    Raises
    ------
    ValueError
        If ``n`` differs, ``n < 3``, inputs are not finite, an RDM is undefined (see
        :func:`rdm`) or all its dissimilarities are equal (rank correlation undefined).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> X = rng.normal(size=(20, 6))
    >>> round(rsa(X, np.exp(X @ rng.normal(size=(6, 6))), metric="euclidean"), 2) < 1.0
    True
    >>> rsa(X, 2 * X + 1)
    1.0
    """
    x = _as_samples("X", X, minimum=3)
    y = _as_samples("Y", Y, minimum=3)
    _check_same_n(x, y)
    upper = np.triu_indices(x.shape[0], k=1)
    dx = rdm(x, metric=metric)[upper]
    dy = rdm(y, metric=metric)[upper]
    for name, d in (("X", dx), ("Y", dy)):
        if np.ptp(d) == 0:
            raise ValueError(
                f"all dissimilarities of {name} are equal: the rank correlation is undefined"
            )
    return float(spearmanr(dx, dy).statistic)
