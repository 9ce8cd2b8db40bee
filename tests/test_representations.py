"""Linear CKA and RSA: identities, invariances, and errors on mismatched input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.representations import cka, cka_matrix, rdm, rsa


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(40, 12))


def orthogonal(k, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(k, k)))
    return q


@pytest.mark.parametrize("shape", [(40, 12), (10, 200)], ids=["n>p", "n<p-gram"])
def test_cka_of_itself_is_one(shape):
    X = np.random.default_rng(1).normal(size=shape)
    assert cka(X, X) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "transform",
    [
        lambda X: X @ orthogonal(X.shape[1], 3),
        lambda X: 7.5 * X,
        lambda X: 0.01 * X @ orthogonal(X.shape[1], 4) + 3.0,   # + a constant: centring
        lambda X: X[:, ::-1],                                    # permutation is orthogonal
    ],
    ids=["orthogonal", "isotropic-scale", "orthogonal-scale-shift", "permute-features"],
)
def test_cka_invariances(X, transform):
    assert cka(X, transform(X)) == pytest.approx(1.0, abs=1e-10)


def test_cka_not_invariant_to_anisotropic_scaling(X):
    scaled = X * np.r_[10.0, np.ones(X.shape[1] - 1)]
    assert cka(X, scaled) < 0.95


def test_cka_independent_noise_is_low_and_symmetric():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(500, 5)), rng.normal(size=(500, 5))
    assert cka(X, Y) < 0.05
    assert cka(X, Y) == pytest.approx(cka(Y, X), rel=1e-12)


def test_cka_feature_and_gram_forms_agree():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(30, 20)), rng.normal(size=(30, 25))
    Y[:, :20] += X
    wide = cka(np.hstack([X, np.zeros((30, 20))]), Y)       # n < p → Gram form
    assert cka(X, Y) == pytest.approx(wide, rel=1e-10)


def test_cka_flattens_retinotopic_responses(X):
    maps = X.reshape(40, 3, 2, 2)
    assert cka(maps, X) == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.floats(1e-3, 1e3))
def test_cka_in_unit_interval_and_scale_free(seed, scale):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(15, 4)), rng.normal(size=(15, 6))
    value = cka(X, Y)
    assert 0.0 <= value <= 1.0
    assert cka(X, scale * Y) == pytest.approx(value, rel=1e-9)


def test_cka_matrix_symmetric_with_unit_diagonal(X):
    rng = np.random.default_rng(7)
    layers = {"a": X, "b": np.tanh(X @ rng.normal(size=(12, 8))), "c": rng.normal(size=(40, 3))}
    m = cka_matrix(layers)
    assert m.shape == (3, 3)
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-12)
    np.testing.assert_allclose(m, m.T, atol=1e-12)
    assert cka_matrix(layers, {"x": X}).shape == (3, 1)


def test_rdm_properties(X):
    d = rdm(X)
    assert d.shape == (40, 40)
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_array_equal(np.diag(d), 0.0)
    # correlation distance 1 - r: hand-computed on two rows
    r = np.corrcoef(X[0], X[1])[0, 1]
    assert d[0, 1] == pytest.approx(1 - r)
    np.testing.assert_allclose(rdm(X, metric="euclidean")[0, 1], np.linalg.norm(X[0] - X[1]))


def test_rsa_identities(X):
    assert rsa(X, X) == pytest.approx(1.0)
    # RDM of correlation distance is unchanged by per-stimulus affine maps
    assert rsa(X, 3 * X + 2) == pytest.approx(1.0)
    # monotone change of Euclidean distances keeps the ranks: rotation + scale
    assert rsa(X, 5 * X @ orthogonal(12, 8), metric="euclidean") == pytest.approx(1.0)
    noise = np.random.default_rng(9).normal(size=(40, 12))
    assert abs(rsa(X, noise)) < 0.2


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda X: cka(X, X[:-1]), ValueError, "same stimuli: X has 40 rows, Y has 39"),
        (lambda X: rsa(X, X[:-1]), ValueError, "same stimuli"),
        (lambda X: cka(X, np.ones((40, 3))), ValueError, "Y is constant"),
        (lambda X: cka(np.where(X > 2, np.nan, X), X), ValueError, "X must be finite"),
        (lambda X: cka(X[:, 0], X), ValueError, r"X must have shape \(n_stimuli"),
        (lambda X: cka(X[:1], X[:1]), ValueError, "at least 2 stimuli"),
        (lambda X: rsa(X[:2], X[:2]), ValueError, "at least 3 stimuli"),
        (lambda X: rdm(np.vstack([X[:3], np.ones((1, 12))])), ValueError, "row 3 is constant"),
        (lambda X: rdm(np.vstack([X[:3], np.zeros((1, 12))]), metric="cosine"), ValueError,
         "row 3 is all zero"),
        (lambda X: rdm(X, metric="spearman"), ValueError, "metric must be one of"),
        (lambda X: cka_matrix({}), ValueError, "non-empty"),
    ],
    ids=["cka-n-mismatch", "rsa-n-mismatch", "constant", "nan", "1d", "one-stimulus",
         "rsa-two-stimuli", "constant-row", "zero-row-cosine", "bad-metric", "empty-mapping"],
)
def test_bad_input(X, call, error, match):
    with pytest.raises(error, match=match):
        call(X)
