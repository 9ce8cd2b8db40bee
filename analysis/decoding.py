"""Linear decoding of features: L2-regularised multinomial logistic regression.

Written on numpy and scipy (L-BFGS), so classifying model features — HMAX C2
units, V1 responses, CNN activations — needs no further dependency.  Features
are standardised with the training set's mean and standard deviation; the fit
starts from zero weights and is deterministic.  :func:`evaluate` reports test
accuracy with a 95% Wilson score interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import scipy.special
import scipy.stats

from stimuli._shared.validation import check_array, check_int, check_nonnegative, check_range


@dataclass(frozen=True)
class LinearClassifier:
    """A fitted multinomial logistic-regression classifier.

    Attributes
    ----------
    classes : ndarray of shape (k,)
        The labels, sorted; column ``j`` of probabilities belongs to ``classes[j]``.
    weights : ndarray of shape (features, k)
        Weights on standardised features, float64.
    bias : ndarray of shape (k,)
    mean, scale : ndarray of shape (features,)
        Standardisation: ``z = (x − mean) / scale`` (``scale`` is 1 for constant features).
    l2 : float
        The L2 penalty used in the fit.
    converged : bool
        Whether L-BFGS met its tolerance.
    n_iter : int
        L-BFGS iterations.
    """

    classes: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    l2: float
    converged: bool
    n_iter: int

    @property
    def n_features(self) -> int:
        return int(self.weights.shape[0])

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores (logits) ``(n, k)`` for features ``X (n, features)``.

        Raises
        ------
        ValueError
            If ``X`` is not a finite 2-D array with ``n_features`` columns.
        """
        X = _check_features("X", X, self.n_features)
        return ((X - self.mean) / self.scale) @ self.weights + self.bias

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, k)``; rows sum to 1."""
        return scipy.special.softmax(self.decision_function(X), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable label per row, ``(n,)`` (ties go to the first class)."""
        return self.classes[np.argmax(self.decision_function(X), axis=1)]

    def score(self, X: Any, y: Any) -> float:
        """Fraction of rows of ``X`` whose predicted label equals ``y``."""
        y = _check_labels("y", y, len(np.asarray(X)))
        return float(np.mean(self.predict(X) == y))


def _check_features(name: str, X: Any, n_features: int | None = None) -> np.ndarray:
    X = check_array(name, X, ndim=2, shape_doc="(n_samples, n_features)", dtype=np.float64)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} features (columns), got {X.shape[1]}")
    return X


def _check_labels(name: str, y: Any, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per sample), got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels but there are {n} samples")
    if y.dtype.kind not in "biufUS":
        raise TypeError(f"{name} must hold integer, float or string labels, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name} must not contain NaN or infinite labels")
    return y


def _loss_and_grad(params: np.ndarray, Z: np.ndarray, Y: np.ndarray, l2: float
                   ) -> tuple[float, np.ndarray]:
    """Mean cross-entropy + (l2 / 2)·‖W‖² and its gradient (bias unpenalised)."""
    d, k = Z.shape[1], Y.shape[1]
    W = params[:d * k].reshape(d, k)
    b = params[d * k:]
    logits = Z @ W + b
    log_p = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
    n = Z.shape[0]
    loss = -np.sum(Y * log_p) / n + 0.5 * l2 * np.sum(W * W)
    err = (np.exp(log_p) - Y) / n
    grad_w = Z.T @ err + l2 * W
    grad_b = err.sum(axis=0)
    return float(loss), np.concatenate([grad_w.ravel(), grad_b])


def fit_linear_classifier(X_train: Any, y_train: Any, *, l2: float = 1e-2,
                          max_iter: int = 1000, tol: float = 1e-6) -> LinearClassifier:
    """Fit an L2-regularised multinomial logistic regression.

    Minimises ``mean_i −log p(y_i | z_i) + (l2 / 2)·‖W‖²`` over weights ``W`` and an
    unpenalised bias, with ``z = (x − mean) / std`` standardised on the training set
    (constant features get std 1), by L-BFGS from zero weights — deterministic.

    Parameters
    ----------
    X_train : ndarray of shape (n, features)
        Finite features.
    y_train : ndarray of shape (n,)
        Labels (any sortable type); at least two classes.
    l2 : float
        Penalty on the squared weights, >= 0.  Default 1e-2.
    max_iter : int
        L-BFGS iteration limit.  Default 1000.
    tol : float
        Gradient tolerance for L-BFGS.  Default 1e-6.

    Returns
    -------
    LinearClassifier

    Raises
    ------
    ValueError
        If ``X_train`` is not finite and 2-D, labels do not match its rows, there are
        fewer than two classes, or ``l2`` is negative.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> clf = fit_linear_classifier(X, [0, 0, 1, 1], l2=1e-3)
    >>> clf.predict([[0.5], [2.5]]).tolist()
    [0, 1]
    """
    X = _check_features("X_train", X_train)
    y = _check_labels("y_train", y_train, X.shape[0])
    l2 = check_nonnegative("l2", l2)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    tol = check_range("tol", tol, 0.0, 1.0, closed="right")
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"y_train must contain at least two classes, got {classes.tolist()}")
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Z = (X - mean) / scale
    Y = np.zeros((len(y), len(classes)))
    Y[np.arange(len(y)), codes] = 1.0
    d, k = Z.shape[1], len(classes)
    result = scipy.optimize.minimize(
        _loss_and_grad, np.zeros(d * k + k), args=(Z, Y, l2), jac=True, method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-12},
    )
    params = result.x
    return LinearClassifier(
        classes=classes, weights=params[:d * k].reshape(d, k), bias=params[d * k:],
        mean=mean, scale=scale, l2=l2, converged=bool(result.success), n_iter=int(result.nit),
    )


@dataclass(frozen=True)
class Evaluation:
    """Test-set accuracy with its confidence interval.

    Attributes
    ----------
    accuracy : float
        Fraction correct.
    ci_low, ci_high : float
        Wilson score interval at ``confidence``.
    confidence : float
    n_test, n_correct : int
    chance : float
        Accuracy of always guessing the most frequent test class.
    """

    accuracy: float
    ci_low: float
    ci_high: float
    confidence: float
    n_test: int
    n_correct: int
    chance: float

    def __str__(self) -> str:
        pct = round(100 * self.confidence)
        return (f"accuracy {self.accuracy:.3f} ({pct}% CI {self.ci_low:.3f}-{self.ci_high:.3f}, "
                f"{self.n_correct}/{self.n_test}; chance {self.chance:.3f})")


def wilson_interval(n_correct: int, n_total: int, *, confidence: float = 0.95
                    ) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927, *JASA* 22:209–212).

    A thin wrapper of ``scipy.stats.binomtest(n_correct, n_total)
    .proportion_ci(confidence, method="wilson")`` that validates its arguments and
    returns plain floats.

    Parameters
    ----------
    n_correct : int
        Successes, ``0 <= n_correct <= n_total``.
    n_total : int
        Trials, >= 1.
    confidence : float
        In (0, 1).  Default 0.95.

    Returns
    -------
    low, high : float
        Bounds in [0, 1]; ``low`` is 0 when ``n_correct == 0`` and ``high`` is 1 when
        ``n_correct == n_total``.

    Raises
    ------
    ValueError
        If the counts are inconsistent or ``confidence`` is outside (0, 1).

    Examples
    --------
    >>> [round(v, 4) for v in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    n_total = check_int("n_total", n_total, minimum=1)
    n_correct = check_int("n_correct", n_correct, minimum=0)
    if n_correct > n_total:
        raise ValueError(f"n_correct ({n_correct}) must not exceed n_total ({n_total})")
    confidence = check_range("confidence", confidence, 0.0, 1.0, closed="neither")
    ci = scipy.stats.binomtest(n_correct, n_total).proportion_ci(
        confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def evaluate(classifier: LinearClassifier, X_test: Any, y_test: Any, *,
             confidence: float = 0.95) -> Evaluation:
    """Accuracy of ``classifier`` on a test set, with a Wilson interval.

    Parameters
    ----------
    classifier : LinearClassifier
    X_test : ndarray of shape (n, features)
    y_test : ndarray of shape (n,)
    confidence : float
        Interval coverage.  Default 0.95.

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        If shapes do not match the classifier or each other, or values are not finite.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> clf = fit_linear_classifier(X, [0, 0, 1, 1])
    >>> evaluate(clf, X, [0, 0, 1, 1]).accuracy
    1.0
    """
    if not isinstance(classifier, LinearClassifier):
        raise TypeError(f"classifier must be a LinearClassifier, got {type(classifier).__name__}")
    X = _check_features("X_test", X_test, classifier.n_features)
    y = _check_labels("y_test", y_test, X.shape[0])
    correct = int(np.sum(classifier.predict(X) == y))
    low, high = wilson_interval(correct, len(y), confidence=confidence)
    _, counts = np.unique(y, return_counts=True)
    return Evaluation(accuracy=correct / len(y), ci_low=low, ci_high=high,
                      confidence=confidence, n_test=len(y), n_correct=correct,
                      chance=float(counts.max() / len(y)))


def decode(X_train: Any, y_train: Any, X_test: Any, y_test: Any, *, l2: float = 1e-2,
           confidence: float = 0.95) -> Evaluation:
    """Fit on the training set and evaluate on the test set in one call.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-2, 1, (20, 2)), rng.normal(2, 1, (20, 2))]
    >>> y = np.r_[np.zeros(20), np.ones(20)]
    >>> decode(X[::2], y[::2], X[1::2], y[1::2]).accuracy >= 0.9
    True
    """
    clf = fit_linear_classifier(X_train, y_train, l2=l2)
    return evaluate(clf, X_test, y_test, confidence=confidence)
