"""Neural-network layers, a loss and optimisers, written on numpy.

Each layer maps a batch forward and its gradient backward::

    y = layer.forward(x, training=True)      # caches what backward needs
    dx = layer.backward(dy)                  # fills layer.grads, returns dL/dx

Activations are ``(n, channels, rows, cols)`` for spatial layers and
``(n, features)`` for dense ones.  Parameters live in ``layer.params`` (a dict
of arrays) and their gradients in ``layer.grads`` under the same keys; an
optimiser updates ``params`` in place.  Parameters are float32 by default and
float64 when exactness matters (gradient checks): :meth:`Layer.astype`.

Convolution is im2col + one matrix product: the input's ``k × k`` patches are
gathered with :func:`numpy.lib.stride_tricks.sliding_window_view` into a
``(n·rows'·cols', k·k·channels)`` matrix and multiplied by the kernels; the
backward pass is two more products.  ``benchmarks/bench_cnn.py`` times both
routes on the default network's shapes (2 shared CPU cores): the FFT usually wins
for the one-channel 9×9 first layer (forward 2–4× faster), im2col for the
16-channel 5×5 second layer (about 2× faster), which dominates a training step.
One im2col path keeps the code short; a whole training step measured 0.6–1.2×
PyTorch's time on the same machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_range,
)

__all__ = [
    "AvgPool2d",
    "Adam",
    "Conv2d",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "LocalResponseNorm",
    "MaxPool2d",
    "ReLU",
    "SGD",
    "layer_from_spec",
    "softmax",
    "softmax_cross_entropy",
]


class Layer:
    """Base class: a parameter-free identity.  Subclasses override the steps they change.

    Attributes
    ----------
    kind : str
        Name of the layer type in a network specification (``"conv2d"``, ...).
    params, grads : dict of str to ndarray
        Trainable arrays and, after :meth:`backward`, their gradients (same keys).
    needs_input_grad : bool
        If False, :meth:`backward` only computes parameter gradients and returns
        None (set on a network's first layer, whose input is the data).
    kernel_size, stride, padding : int
        Spatial geometry (1, 1, 0 for layers that act per pixel).
    """

    kind = "identity"
    kernel_size = 1
    stride = 1
    padding = 0

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.needs_input_grad = True
        self._cache: Any = None

    def forward(self, x: np.ndarray, *, training: bool = False,
                rng: np.random.Generator | None = None) -> np.ndarray:
        """Map a batch ``x`` forward; with ``training=True`` keep what :meth:`backward` needs."""
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Gradient of the loss with respect to the last ``forward``'s input."""
        return grad

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Per-sample output shape for a per-sample input ``shape`` (no batch axis)."""
        return tuple(shape)

    def config(self) -> dict:
        """Constructor arguments as a JSON-serialisable dict."""
        return {}

    def spec(self) -> dict:
        """``{"type": kind, **config}``, enough to rebuild the layer (:func:`layer_from_spec`)."""
        return {"type": self.kind, **self.config()}

    def astype(self, dtype) -> Layer:
        """Cast parameters to ``dtype`` in place and return the layer."""
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}
        self.grads = {}
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    def _check_input(self, x: np.ndarray, ndim: int, doc: str) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim != ndim:
            shape = getattr(x, "shape", None)
            raise ValueError(f"{self!r} expects input of shape {doc}, got {shape}")
        return x


def _spatial_out(size: int, kernel: int, stride: int, padding: int, layer: Layer) -> int:
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"{layer!r}: input of {size} px is too small for a {kernel} px kernel "
                         f"with padding {padding}")
    return out


def _offsets(k: int, stride: int, rows: int, cols: int):
    """For each window offset ``(u, v)``, the slices picking that element of every window.

    ``x[:, :, rs, cs]`` is then ``(n, c, rows, cols)``: element ``(u, v)`` of each of the
    ``rows × cols`` windows of side ``k`` moved by ``stride``.
    """
    for u in range(k):
        for v in range(k):
            yield (u * k + v, slice(u, u + stride * (rows - 1) + 1, stride),
                   slice(v, v + stride * (cols - 1) + 1, stride))


class Conv2d(Layer):
    """2-D cross-correlation of ``(n, in_channels, rows, cols)`` with ``out_channels`` kernels.

    ``y[n, o, r, c] = b[o] + Σ_{i, u, v} W[o, i, u, v] · x[n, i, r·s + u − p, c·s + v − p]``
    with zeros outside the input (zero is mean grey in contrast units).

    Parameters
    ----------
    in_channels, out_channels : int
        Input and output channels, >= 1.
    kernel_size : int
        Square kernel side in pixels, >= 1.
    stride : int
        Step between output pixels, >= 1.
    padding : int
        Zeros added on every side, >= 0.
    rng : None, int or numpy.random.Generator
        For the He initialisation ``W ~ N(0, 2 / (in_channels·k²))``; biases start at 0.
    dtype : numpy dtype
        Parameter precision, float32 by default.

    Raises
    ------
    TypeError, ValueError
        If a size is not an integer in range.

    Examples
    --------
    >>> conv = Conv2d(1, 4, 3, padding=1, rng=0)
    >>> conv.forward(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, 4, 8, 8)
    """

    kind = "conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1,
                 padding: int = 0, rng: RngLike = None, dtype=np.float32) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        self.stride = check_int("stride", stride, minimum=1)
        self.padding = check_int("padding", padding, minimum=0)
        fan_in = in_channels * kernel_size**2
        weight = as_rng(rng).standard_normal((out_channels, in_channels, kernel_size, kernel_size))
        self.params = {"weight": (weight * np.sqrt(2.0 / fan_in)).astype(dtype),
                       "bias": np.zeros(out_channels, dtype=dtype)}

    def config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}

    def output_shape(self, shape):
        c, rows, cols = shape
        if c != self.in_channels:
            raise ValueError(f"{self!r} expects {self.in_channels} input channel(s), got {c}")
        k, s, p = self.kernel_size, self.stride, self.padding
        return (self.out_channels, _spatial_out(rows, k, s, p, self),
                _spatial_out(cols, k, s, p, self))

    def _matrix(self) -> np.ndarray:
        """Kernels as ``(out_channels, k·k·in_channels)``, columns ordered (u, v, channel)."""
        return self.params["weight"].transpose(0, 2, 3, 1).reshape(self.out_channels, -1)

    def forward(self, x, *, training=False, rng=None):
        x = self._check_input(x, 4, f"(n, {self.in_channels}, rows, cols)")
        n = x.shape[0]
        _, rows, cols = self.output_shape(x.shape[1:])
        k, s, p = self.kernel_size, self.stride, self.padding
        dtype = self.params["weight"].dtype
        # im2col in channels-last order: one row per output pixel, (u, v, channel) columns
        padded = np.zeros((n, x.shape[2] + 2 * p, x.shape[3] + 2 * p, self.in_channels), dtype)
        padded[:, p:p + x.shape[2], p:p + x.shape[3]] = x.transpose(0, 2, 3, 1)
        windows = sliding_window_view(padded, (k, k), axis=(1, 2))[:, ::s, ::s]
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * rows * cols, -1)  # copies
        out = patches @ self._matrix().T
        out += self.params["bias"]
        if training:
            self._cache = (x.shape, patches)
        return np.ascontiguousarray(out.reshape(n, rows, cols, self.out_channels)
                                    .transpose(0, 3, 1, 2))

    def backward(self, grad):
        shape, patches = self._cache
        k, s, p = self.kernel_size, self.stride, self.padding
        n, c_out, rows, cols = grad.shape
        g = grad.transpose(0, 2, 3, 1).reshape(-1, c_out)
        # (patchesᵀ g)ᵀ, not gᵀ patches: OpenBLAS was up to 10× slower on the latter here
        dweight = (patches.T @ g).T.reshape(c_out, k, k, self.in_channels)
        self.grads["weight"] = dweight.transpose(0, 3, 1, 2).copy()
        self.grads["bias"] = g.sum(axis=0)
        if not self.needs_input_grad:
            return None
        # col2im: patch gradients (u, v, channel, n, row, col) added back at their offsets
        dpatches = (self._matrix().T @ g.T).reshape(k, k, self.in_channels, n, rows, cols)
        _, c_in, height, width = shape
        out = np.zeros((c_in, n, height + 2 * p, width + 2 * p), dtype=grad.dtype)
        for offset, rs, cs in _offsets(k, s, rows, cols):
            out[:, :, rs, cs] += dpatches[offset // k, offset % k]
        return out[:, :, p:p + height, p:p + width].transpose(1, 0, 2, 3)


class ReLU(Layer):
    """Half-wave rectification ``max(x, 0)`` (any shape).

    Examples
    --------
    >>> ReLU().forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    """

    kind = "relu"

    def forward(self, x, *, training=False, rng=None):
        if training:
            self._cache = x > 0
        return np.maximum(x, 0)

    def backward(self, grad):
        return grad * self._cache


class _Pool2d(Layer):
    """Shared geometry of the pooling layers (no padding; incomplete windows are dropped)."""

    def __init__(self, kernel_size: int = 2, *, stride: int | None = None) -> None:
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        self.stride = self.kernel_size if stride is None else check_int("stride", stride, minimum=1)

    def config(self) -> dict:
        return {"kernel_size": self.kernel_size, "stride": self.stride}

    def output_shape(self, shape):
        c, rows, cols = shape
        k, s = self.kernel_size, self.stride
        return (c, _spatial_out(rows, k, s, 0, self), _spatial_out(cols, k, s, 0, self))

    def _offsets(self, x):
        x = self._check_input(x, 4, "(n, channels, rows, cols)")
        _, rows, cols = self.output_shape(x.shape[1:])
        return _offsets(self.kernel_size, self.stride, rows, cols)


class MaxPool2d(_Pool2d):
    """Maximum over ``kernel_size × kernel_size`` windows moved by ``stride`` pixels.

    The gradient goes to the (first) maximal input of each window.

    Parameters
    ----------
    kernel_size : int
        Window side in pixels, >= 1.
    stride : int, optional
        Step in pixels; default ``kernel_size`` (non-overlapping windows).

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive integer.

    Examples
    --------
    >>> MaxPool2d(2).forward(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    kind = "maxpool2d"

    def forward(self, x, *, training=False, rng=None):
        out = None
        for _, rs, cs in self._offsets(x):
            out = x[:, :, rs, cs].copy() if out is None else np.maximum(out, x[:, :, rs, cs],
                                                                         out=out)
        if training:
            self._cache = (x, out)
        return out

    def backward(self, grad):
        x, out = self._cache
        dx = np.zeros(x.shape, dtype=grad.dtype)
        unclaimed = np.ones(out.shape, dtype=bool)  # windows whose maximum is not yet found
        overlapping = self.stride < self.kernel_size
        for _, rs, cs in _offsets(self.kernel_size, self.stride, *grad.shape[2:]):
            first = x[:, :, rs, cs] == out
            first &= unclaimed
            unclaimed ^= first
            if overlapping:
                dx[:, :, rs, cs] += grad * first
            else:
                np.multiply(grad, first, out=dx[:, :, rs, cs])
        return dx


class AvgPool2d(_Pool2d):
    """Mean over ``kernel_size × kernel_size`` windows moved by ``stride`` pixels.

    Parameters
    ----------
    kernel_size : int
        Window side in pixels, >= 1.
    stride : int, optional
        Step in pixels; default ``kernel_size``.

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive integer.

    Examples
    --------
    >>> AvgPool2d(2).forward(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    kind = "avgpool2d"

    def forward(self, x, *, training=False, rng=None):
        out = sum(x[:, :, rs, cs] for _, rs, cs in self._offsets(x)) / self.kernel_size**2
        if training:
            self._cache = x.shape
        return out.astype(x.dtype, copy=False)

    def backward(self, grad):
        out = np.zeros(self._cache, dtype=grad.dtype)
        share = grad / self.kernel_size**2
        for _, rs, cs in _offsets(self.kernel_size, self.stride, *grad.shape[2:]):
            out[:, :, rs, cs] += share
        return out


def _channel_window_sum(a: np.ndarray, size: int) -> np.ndarray:
    """Sum over the ``size`` channels centred on each channel (axis 1, zero beyond the ends)."""
    half = size // 2
    padded = np.pad(a, ((0, 0), (half + 1, half)) + ((0, 0),) * (a.ndim - 2))
    cums = np.cumsum(padded, axis=1)
    return cums[:, size:] - cums[:, :-size]


class LocalResponseNorm(Layer):
    """Divisive normalisation across neighbouring channels (Krizhevsky et al. 2012).

    ``y_c = x_c / (bias + alpha / size · Σ_{|c' − c| ≤ size // 2} x_{c'}²) ** beta``:
    each unit is divided by the pooled energy of units at the same position with
    nearby channel index, a model of the normalisation pool of V1 cells.

    Parameters
    ----------
    size : int
        Odd number of channels in the pool, >= 1.
    alpha, beta, bias : float
        Pool gain (>= 0), exponent (>= 0) and constant (> 0).

    Raises
    ------
    TypeError, ValueError
        If ``size`` is not an odd positive integer or a constant is out of range.

    Examples
    --------
    >>> lrn = LocalResponseNorm(3, alpha=3.0, beta=1.0, bias=1.0)
    >>> float(lrn.forward(np.full((1, 1, 1, 1), 2.0))[0, 0, 0, 0])
    0.4
    """

    kind = "lrn"

    def __init__(self, size: int = 5, *, alpha: float = 1e-4, beta: float = 0.75,
                 bias: float = 2.0) -> None:
        super().__init__()
        self.size = check_int("size", size, minimum=1)
        if self.size % 2 == 0:
            raise ValueError(f"size must be odd, got {size}")
        self.alpha = check_nonnegative("alpha", alpha)
        self.beta = check_nonnegative("beta", beta)
        self.bias = check_positive("bias", bias)

    def config(self) -> dict:
        return {"size": self.size, "alpha": self.alpha, "beta": self.beta, "bias": self.bias}

    def forward(self, x, *, training=False, rng=None):
        x = self._check_input(x, 4, "(n, channels, rows, cols)")
        denom = self.bias + self.alpha / self.size * _channel_window_sum(x * x, self.size)
        scale = denom ** -self.beta
        if training:
            self._cache = (x, denom, scale)
        return x * scale

    def backward(self, grad):
        x, denom, scale = self._cache
        pooled = _channel_window_sum(grad * x * scale / denom, self.size)
        return grad * scale - (2 * self.alpha * self.beta / self.size) * x * pooled


class Flatten(Layer):
    """``(n, ...)`` → ``(n, features)``, row-major.

    Examples
    --------
    >>> Flatten().forward(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    kind = "flatten"

    def output_shape(self, shape):
        return (int(np.prod(shape)),)

    def forward(self, x, *, training=False, rng=None):
        if training:
            self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return grad.reshape(self._cache)


class Dense(Layer):
    """Fully connected layer ``y = x Wᵀ + b`` with ``W`` of shape ``(out_features, in_features)``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes, >= 1.
    rng : None, int or numpy.random.Generator
        For the He initialisation ``W ~ N(0, 2 / in_features)``; biases start at 0.
    dtype : numpy dtype
        Parameter precision, float32 by default.

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive integer.

    Examples
    --------
    >>> Dense(3, 2, rng=0).forward(np.zeros((5, 3), np.float32)).shape
    (5, 2)
    """

    kind = "dense"

    def __init__(self, in_features: int, out_features: int, *, rng: RngLike = None,
                 dtype=np.float32) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, minimum=1)
        self.out_features = check_int("out_features", out_features, minimum=1)
        weight = as_rng(rng).standard_normal((out_features, in_features))
        self.params = {"weight": (weight * np.sqrt(2.0 / in_features)).astype(dtype),
                       "bias": np.zeros(out_features, dtype=dtype)}

    def config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features}

    def output_shape(self, shape):
        if tuple(shape) != (self.in_features,):
            raise ValueError(f"{self!r} expects {self.in_features} input features, got shape "
                             f"{tuple(shape)}")
        return (self.out_features,)

    def forward(self, x, *, training=False, rng=None):
        x = self._check_input(x, 2, f"(n, {self.in_features})")
        self.output_shape(x.shape[1:])
        x = x.astype(self.params["weight"].dtype, copy=False)
        if training:
            self._cache = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, grad):
        self.grads["weight"] = grad.T @ self._cache
        self.grads["bias"] = grad.sum(axis=0)
        if not self.needs_input_grad:
            return None
        return grad @ self.params["weight"]


class Dropout(Layer):
    """During training, zero each input with probability ``p`` and scale the rest by ``1/(1 − p)``.

    At evaluation (``training=False``) it is the identity.  Training draws the mask from
    the ``rng`` passed to :meth:`forward`, so a seeded run is repeatable.

    Parameters
    ----------
    p : float
        Drop probability in [0, 1).

    Raises
    ------
    ValueError
        If ``p`` is outside [0, 1), or (in ``forward``) training without an ``rng``.

    Examples
    --------
    >>> x = np.ones((1, 1000))
    >>> y = Dropout(0.5).forward(x, training=True, rng=np.random.default_rng(0))
    >>> sorted(set(y.ravel().tolist()))
    [0.0, 2.0]
    """

    kind = "dropout"

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_range("p", p, 0.0, 1.0, closed="left")

    def config(self) -> dict:
        return {"p": self.p}

    def forward(self, x, *, training=False, rng=None):
        if not training or self.p == 0:
            self._cache = None
            return x
        if rng is None:
            raise ValueError("Dropout needs an rng (numpy Generator) when training")
        mask = (rng.random(x.shape) >= self.p).astype(x.dtype) / x.dtype.type(1 - self.p)
        self._cache = mask
        return x * mask

    def backward(self, grad):
        return grad if self._cache is None else grad * self._cache


_LAYER_TYPES = {cls.kind: cls for cls in
                (Conv2d, ReLU, MaxPool2d, AvgPool2d, LocalResponseNorm, Flatten, Dense, Dropout)}


def layer_from_spec(spec: dict, *, rng: RngLike = None, dtype=np.float32) -> Layer:
    """Build a layer from ``{"type": kind, **arguments}`` (the output of :meth:`Layer.spec`).

    Parameters
    ----------
    spec : dict
        ``"type"`` is one of conv2d, relu, maxpool2d, avgpool2d, lrn, flatten, dense,
        dropout; the other keys are the constructor's arguments.
    rng : None, int or numpy.random.Generator
        Initialises trainable layers.
    dtype : numpy dtype
        Parameter precision.

    Returns
    -------
    Layer

    Raises
    ------
    ValueError
        If the type is unknown or an argument does not fit it.

    Examples
    --------
    >>> layer_from_spec({"type": "maxpool2d", "kernel_size": 2, "stride": 2})
    MaxPool2d(kernel_size=2, stride=2)
    """
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in _LAYER_TYPES:
        raise ValueError(f"unknown layer type {kind!r}; known: {', '.join(sorted(_LAYER_TYPES))}")
    cls = _LAYER_TYPES[kind]
    if cls in (Conv2d, Dense):
        spec.update(rng=rng, dtype=dtype)
    try:
        return cls(**spec)
    except TypeError as exc:
        raise ValueError(f"bad arguments for a {kind} layer: {exc}") from exc


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities from logits ``(n, classes)``, computed stably.

    Examples
    --------
    >>> softmax(np.array([[0.0, 0.0]]))
    array([[0.5, 0.5]])
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    Parameters
    ----------
    logits : ndarray of shape (n, classes)
    labels : ndarray of int, shape (n,)
        Class indices in ``[0, classes)``.

    Returns
    -------
    loss : float
        ``−mean(log softmax(logits)[i, labels[i]])`` in nats.
    grad : ndarray of shape (n, classes)
        ``d loss / d logits = (softmax(logits) − onehot(labels)) / n``.

    Raises
    ------
    ValueError
        If shapes disagree or a label is out of range.

    Examples
    --------
    >>> loss, grad = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
    >>> round(loss, 4), grad.shape
    (1.3863, (2, 4))
    """
    logits = check_array("logits", logits, ndim=2, shape_doc="(n, classes)")
    labels = np.asarray(labels)
    if labels.shape != logits.shape[:1] or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape ({logits.shape[0]},), got "
                         f"{labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must be in [0, {logits.shape[1]}), got range "
                         f"[{labels.min()}, {labels.max()}]")
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_prob[np.arange(n), labels].mean())
    grad = np.exp(log_prob)
    grad[np.arange(n), labels] -= 1
    return loss, grad / n


class _Optimizer:
    """Updates named parameters in place from their gradients.

    ``weight_decay`` adds ``weight_decay · w`` to the gradient of every parameter with
    more than one dimension (weights, not biases): L2 regularisation.
    """

    def __init__(self, lr: float, weight_decay: float) -> None:
        self.lr = check_positive("lr", lr)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def config(self) -> dict:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place using ``grads`` (same keys)."""
        for name, param in params.items():
            grad = grads[name]
            if self.weight_decay and param.ndim > 1:
                grad = grad + self.weight_decay * param
            self._update(name, param, grad.astype(param.dtype, copy=False))

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError


class SGD(_Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``v ← momentum · v + g``; ``w ← w − lr · v``.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        In [0, 1).
    weight_decay : float
        L2 coefficient for weights (not biases), >= 0.

    Raises
    ------
    ValueError
        If a coefficient is out of range.

    Examples
    --------
    >>> w = {"w": np.array([1.0])}
    >>> SGD(lr=0.5, momentum=0.0).step(w, {"w": np.array([2.0])})
    >>> w["w"]
    array([0.])
    """

    def __init__(self, lr: float = 0.01, *, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.momentum = check_range("momentum", momentum, 0.0, 1.0, closed="left")

    def config(self) -> dict:
        return {**super().config(), "momentum": self.momentum}

    def _update(self, name, param, grad):
        if self.momentum:
            velocity = self.state.setdefault(name, {"v": np.zeros_like(param)})["v"]
            velocity *= self.momentum
            velocity += grad
            grad = velocity
        param -= self.lr * grad


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2015) with bias-corrected moment estimates.

    Parameters
    ----------
    lr : float
        Step size, > 0.
    betas : tuple of float
        Decay rates of the first and second moment estimates, each in [0, 1).
    eps : float
        Added to the root second moment, > 0.
    weight_decay : float
        L2 coefficient for weights (not biases), >= 0.

    Raises
    ------
    ValueError
        If a coefficient is out of range.

    Examples
    --------
    >>> w = {"w": np.array([1.0])}
    >>> Adam(lr=0.1).step(w, {"w": np.array([5.0])})
    >>> w["w"].round(6)
    array([0.9])
    """

    def __init__(self, lr: float = 1e-3, *, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.betas = (check_range("betas[0]", betas[0], 0.0, 1.0, closed="left"),
                      check_range("betas[1]", betas[1], 0.0, 1.0, closed="left"))
        self.eps = check_positive("eps", eps)

    def config(self) -> dict:
        return {**super().config(), "betas": list(self.betas), "eps": self.eps}

    def _update(self, name, param, grad):
        b1, b2 = self.betas
        state = self.state.setdefault(
            name, {"m": np.zeros_like(param), "v": np.zeros_like(param), "t": np.zeros(())})
        state["t"] += 1
        t = float(state["t"])
        state["m"] *= b1
        state["m"] += (1 - b1) * grad
        state["v"] *= b2
        state["v"] += (1 - b2) * grad * grad
        m_hat = state["m"] / (1 - b1**t)
        v_hat = state["v"] / (1 - b2**t)
        param -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(param.dtype, copy=False)
