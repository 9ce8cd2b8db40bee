"""Linear decoding: logistic regression on numpy/scipy, Wilson intervals."""

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from analysis.decoding import (
    LinearClassifier,
    _loss_and_grad,
    decode,
    evaluate,
    fit_linear_classifier,
    wilson_interval,
)


def _blobs(n_per_class=40, n_classes=3, dim=5, spread=1.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_classes, dim))
    X = np.concatenate([c + spread * rng.normal(size=(n_per_class, dim)) for c in centres])
    y = np.repeat(np.arange(n_classes), n_per_class)
    return X, y


def test_separable_classes_are_decoded():
    X, y = _blobs()
    result = decode(X[::2], y[::2], X[1::2], y[1::2])
    assert result.accuracy >= 0.95
    assert result.ci_low <= result.accuracy <= result.ci_high
    assert result.chance == pytest.approx(1 / 3)
    assert "accuracy" in str(result)


def test_fit_is_deterministic_and_converges():
    X, y = _blobs(seed=1)
    a = fit_linear_classifier(X, y, l2=1e-2)
    b = fit_linear_classifier(X, y, l2=1e-2)
    assert a.converged
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.bias, b.bias)


def test_probabilities_and_string_labels():
    X, y = _blobs(n_classes=2, seed=2)
    labels = np.array(["face", "non-face"])[y]
    clf = fit_linear_classifier(X, labels)
    p = clf.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert clf.classes.tolist() == ["face", "non-face"]
    assert set(clf.predict(X)) <= {"face", "non-face"}
    np.testing.assert_array_equal(clf.predict(X), clf.classes[np.argmax(p, axis=1)])


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(20, 4))
    Y = np.eye(3)[rng.integers(0, 3, 20)]
    params = rng.normal(size=4 * 3 + 3)
    err = scipy.optimize.check_grad(lambda p: _loss_and_grad(p, Z, Y, 0.3)[0],
                                    lambda p: _loss_and_grad(p, Z, Y, 0.3)[1], params)
    assert err < 1e-5


def test_larger_penalty_shrinks_weights():
    X, y = _blobs(seed=4)
    norms = [np.linalg.norm(fit_linear_classifier(X, y, l2=l2).weights) for l2 in (1e-3, 1e-1, 10)]
    assert norms[0] > norms[1] > norms[2]


def test_standardisation_makes_feature_scale_irrelevant():
    X, y = _blobs(seed=5)
    scale = np.array([1e-3, 1.0, 1e3, 5.0, 1e-2])
    a = fit_linear_classifier(X, y, l2=1e-2)
    b = fit_linear_classifier(X * scale, y, l2=1e-2)
    np.testing.assert_allclose(a.decision_function(X), b.decision_function(X * scale), atol=1e-4)


def test_constant_feature_is_harmless():
    X, y = _blobs(seed=6)
    X = np.c_[X, np.full(len(X), 7.0)]
    clf = fit_linear_classifier(X, y)
    assert clf.scale[-1] == 1.0 and np.all(np.isfinite(clf.weights))


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (50, 200)])
def test_wilson_interval_properties(k, n):
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    # symmetric under relabelling successes and failures
    low2, high2 = wilson_interval(n - k, n)
    assert low == pytest.approx(1 - high2) and high == pytest.approx(1 - low2)
    # wider at higher confidence, narrower with more trials
    low99, high99 = wilson_interval(k, n, confidence=0.99)
    assert low99 <= low and high99 >= high
    low4, high4 = wilson_interval(4 * k, 4 * n)
    assert high4 - low4 < high - low


@pytest.mark.parametrize("k, n, confidence", [(8, 10, 0.95), (1, 30, 0.9), (57, 60, 0.99),
                                               (17, 40, 0.5)])
def test_wilson_interval_is_wilsons_formula(k, n, confidence):
    """Wilson (1927): (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    z = scipy.stats.norm.ppf(0.5 + confidence / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert wilson_interval(k, n, confidence=confidence) == pytest.approx(
        (centre - half, centre + half), rel=1e-9)


def test_wilson_interval_always_holds_the_observed_proportion():
    for n in range(1, 61):
        for k in range(n + 1):
            low, high = wilson_interval(k, n)
            assert 0.0 <= low <= k / n <= high <= 1.0
            assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)


def test_wilson_interval_covers_about_95_percent():
    rng = np.random.default_rng(7)
    p, n = 0.3, 60
    k = rng.binomial(n, p, size=4000)
    covered = np.mean([lo <= p <= hi for lo, hi in (wilson_interval(int(c), n) for c in k)])
    assert 0.93 <= covered <= 0.97


def test_evaluate_counts():
    X, y = _blobs(n_classes=2, seed=8)
    clf = fit_linear_classifier(X, y)
    result = evaluate(clf, X, y)
    assert result.n_test == len(y)
    assert result.n_correct == int(np.sum(clf.predict(X) == y))
    assert result.accuracy == pytest.approx(clf.score(X, y))


@pytest.mark.parametrize("call, error, match", [
    (lambda: fit_linear_classifier(np.zeros((4, 2)), [1, 1, 1, 1]), ValueError, "two classes"),
    (lambda: fit_linear_classifier(np.zeros(4), [0, 1, 0, 1]), ValueError, "n_samples"),
    (lambda: fit_linear_classifier([[0.0], [np.nan]], [0, 1]), ValueError, "finite"),
    (lambda: fit_linear_classifier(np.zeros((4, 2)), [0, 1]), ValueError, "2 labels but"),
    (lambda: fit_linear_classifier(np.zeros((2, 2)), [0, 1], l2=-1), ValueError, "non-negative"),
    (lambda: evaluate(fit_linear_classifier(np.eye(2), [0, 1]), np.eye(3), [0, 1, 0]),
     ValueError, "2 features"),
    (lambda: evaluate("clf", np.eye(2), [0, 1]), TypeError, "LinearClassifier"),
    (lambda: wilson_interval(5, 4), ValueError, "must not exceed"),
    (lambda: wilson_interval(1, 4, confidence=1.0), ValueError, "confidence"),
], ids=["one-class", "1d", "nan", "lengths", "l2", "features", "type", "counts", "confidence"])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_classifier_is_a_frozen_record():
    clf = fit_linear_classifier(np.eye(2), [0, 1])
    assert isinstance(clf, LinearClassifier)
    with pytest.raises(AttributeError):
        clf.l2 = 3.0
