"""Layers, loss and optimisers: forward values against direct formulas, numerical gradients."""

import numpy as np
import pytest
from scipy.signal import correlate

from v1model.layers import (
    SGD,
    Adam,
    AvgPool2d,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    layer_from_spec,
    softmax,
    softmax_cross_entropy,
)

# Gradient checks: central differences in float64, step 1e-6.  The error is
# ||numerical − analytic|| / (||numerical|| + ||analytic||), required below 1e-5.
STEP = 1e-6
TOL = 1e-5


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-30)


def numerical_gradient(f, x):
    """d f / d x by central differences, perturbing ``x`` in place."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + STEP
        up = f()
        x[idx] = old - STEP
        down = f()
        x[idx] = old
        grad[idx] = (up - down) / (2 * STEP)
    return grad


LAYERS = {
    "conv": (lambda: Conv2d(2, 3, 3, rng=0), (2, 2, 6, 5)),
    "conv-stride-pad": (lambda: Conv2d(2, 3, 4, stride=2, padding=2, rng=1), (2, 2, 7, 6)),
    "relu": (ReLU, (2, 3, 4, 4)),
    "maxpool": (lambda: MaxPool2d(2), (2, 2, 6, 6)),
    "maxpool-overlap": (lambda: MaxPool2d(3, stride=2), (2, 2, 7, 6)),
    "avgpool": (lambda: AvgPool2d(2), (2, 2, 5, 6)),
    "avgpool-overlap": (lambda: AvgPool2d(3, stride=2), (1, 2, 7, 7)),
    "lrn": (lambda: LocalResponseNorm(3, alpha=0.5, beta=0.75, bias=1.0), (2, 5, 3, 3)),
    "flatten": (Flatten, (2, 3, 2, 2)),
    "dense": (lambda: Dense(7, 4, rng=2), (3, 7)),
    "dropout": (lambda: Dropout(0.3), (3, 10)),
}


@pytest.mark.parametrize("name", list(LAYERS), ids=list(LAYERS))
def test_gradients_match_finite_differences(name):
    make, shape = LAYERS[name]
    layer = make().astype(np.float64)
    data_rng = np.random.default_rng(3)
    x = data_rng.normal(size=shape)
    y = layer.forward(x, training=True, rng=np.random.default_rng(4))
    weights = data_rng.normal(size=y.shape)  # loss = Σ weights · y

    def loss():
        out = layer.forward(x, training=True, rng=np.random.default_rng(4))
        return float(np.sum(weights * out))

    layer.forward(x, training=True, rng=np.random.default_rng(4))
    dx = layer.backward(weights)
    assert relative_error(numerical_gradient(loss, x), dx) < TOL
    for key, param in layer.params.items():
        layer.forward(x, training=True, rng=np.random.default_rng(4))
        layer.backward(weights)
        analytic = layer.grads[key].copy()
        assert relative_error(numerical_gradient(loss, param), analytic) < TOL, key


def test_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(4, 6))
    labels = np.array([0, 5, 2, 2])
    _, grad = softmax_cross_entropy(logits, labels)
    numerical = numerical_gradient(lambda: softmax_cross_entropy(logits, labels)[0], logits)
    assert relative_error(numerical, grad) < TOL


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (1, 2), (2, 1), (3, 0)],
                         ids=["plain", "padded", "strided", "stride3"])
def test_conv_is_cross_correlation(stride, padding):
    rng = np.random.default_rng(6)
    conv = Conv2d(2, 3, 3, stride=stride, padding=padding, rng=0).astype(np.float64)
    conv.params["bias"][:] = [0.5, -1.0, 2.0]
    x = rng.normal(size=(2, 2, 9, 8))
    out = conv.forward(x)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    for n in range(2):
        for o in range(3):
            full = sum(correlate(xp[n, i], conv.params["weight"][o, i], mode="valid")
                       for i in range(2))
            expected = full[::stride, ::stride] + conv.params["bias"][o]
            np.testing.assert_allclose(out[n, o], expected, atol=1e-12)
    assert out.shape[1:] == conv.output_shape(x.shape[1:])


def test_lrn_matches_formula():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, 6, 2, 2))
    lrn = LocalResponseNorm(3, alpha=0.3, beta=0.6, bias=1.5)
    expected = np.empty_like(x)
    for c in range(6):
        pool = (x[:, max(c - 1, 0):c + 2] ** 2).sum(axis=1)
        expected[:, c] = x[:, c] / (1.5 + 0.3 / 3 * pool) ** 0.6
    np.testing.assert_allclose(lrn.forward(x), expected, rtol=1e-12)


def test_float32_layers_keep_float32():
    x = np.random.default_rng(8).normal(size=(2, 1, 8, 8)).astype(np.float32)
    for layer in (Conv2d(1, 2, 3, rng=0), ReLU(), MaxPool2d(2), AvgPool2d(2),
                  LocalResponseNorm(3)):
        x = layer.forward(x)
        assert x.dtype == np.float32, layer


def test_dropout_identity_at_evaluation_and_repeatable_in_training():
    x = np.ones((4, 50), np.float32)
    drop = Dropout(0.5)
    np.testing.assert_array_equal(drop.forward(x), x)
    a = drop.forward(x, training=True, rng=np.random.default_rng(1))
    b = drop.forward(x, training=True, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert 0.3 < (a == 0).mean() < 0.7
    with pytest.raises(ValueError, match="needs an rng"):
        drop.forward(x, training=True)


def test_softmax_is_stable_and_normalised():
    p = softmax(np.array([[1000.0, 0.0], [-5.0, -5.0]]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], [0.5, 0.5])


@pytest.mark.parametrize(
    ("optimizer", "steps"),
    [(SGD(lr=0.1, momentum=0.9), 200), (SGD(lr=0.1, momentum=0.0), 200), (Adam(lr=0.05), 600)],
    ids=["sgd-momentum", "sgd", "adam"],
)
def test_optimizers_minimise_a_quadratic(optimizer, steps):
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    params = {"w": np.zeros((2, 2))}
    for _ in range(steps):
        optimizer.step(params, {"w": params["w"] - target})
    np.testing.assert_allclose(params["w"], target, atol=1e-3)


def test_weight_decay_shrinks_weights_not_biases():
    params = {"weight": np.ones((2, 2)), "bias": np.ones(2)}
    SGD(lr=0.1, momentum=0.0, weight_decay=1.0).step(
        params, {"weight": np.zeros((2, 2)), "bias": np.zeros(2)})
    np.testing.assert_allclose(params["weight"], 0.9)
    np.testing.assert_allclose(params["bias"], 1.0)


def test_spec_round_trip():
    for layer in (Conv2d(2, 3, 5, stride=2, padding=1), MaxPool2d(3, stride=2), Dense(4, 2),
                  LocalResponseNorm(5), Dropout(0.2), Flatten(), ReLU(), AvgPool2d(2)):
        assert layer_from_spec(layer.spec()).spec() == layer.spec()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: Conv2d(1, 2, 3).forward(np.zeros((1, 2, 5, 5))), ValueError, "1 input channel"),
        (lambda: Conv2d(1, 2, 7).forward(np.zeros((1, 1, 5, 5))), ValueError, "too small"),
        (lambda: Conv2d(1, 2, 3).forward(np.zeros((5, 5))), ValueError, "expects input of shape"),
        (lambda: Dense(3, 2).forward(np.zeros((1, 4))), ValueError, "3 input features"),
        (lambda: Conv2d(1, 2, 0), ValueError, "kernel_size must be >= 1"),
        (lambda: Conv2d(1, 2, 3.0), TypeError, "kernel_size must be an integer"),
        (lambda: Dropout(1.0), ValueError, "p must be in"),
        (lambda: LocalResponseNorm(4), ValueError, "size must be odd"),
        (lambda: SGD(lr=-1), ValueError, "lr must be positive"),
        (lambda: layer_from_spec({"type": "conv3d"}), ValueError, "unknown layer type"),
        (lambda: layer_from_spec({"type": "relu", "k": 1}), ValueError, "bad arguments"),
        (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError,
         r"labels must be in \[0, 3\)"),
        (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), ValueError,
         "labels must be integers"),
    ],
    ids=["channels", "too-small", "ndim", "features", "kernel0", "kernel-float", "dropout-p",
         "lrn-even", "lr", "unknown", "bad-arg", "label-range", "label-dtype"],
)
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()
