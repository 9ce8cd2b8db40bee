"""A convolutional network on numpy: the network, its training loop, files, and the model wrapper.

A :class:`Network` is a sequence of named *stages*, each a short list of
:mod:`v1model.layers` layers (``conv1`` = convolution + ReLU, ``pool1`` =
max-pooling, ``fc`` = flatten + dense + ReLU + dropout, ...).  Stage names are
the layers the common model interface exposes; a stage's response is its last
layer's output (so ``conv1`` is rectified, like a firing rate).

:class:`CNN` puts a network in front of a :class:`~stimuli.display.Display` so
it answers the package's model interface (``responses``, ``unit_info``,
``map_coordinates``) in degrees of visual angle.

Files are one ``.npz`` (arrays) with the architecture, display and training
record as JSON metadata, written atomically and read without pickle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from stimuli._shared.io import load_npz, save_npz
from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_array,
    check_count,
    check_images,
    check_index,
    check_int,
    check_mapping,
    check_range,
    check_strings,
)
from stimuli.display import Display
from v1model._repr import model_repr_html
from v1model.base import check_layer
from v1model.layers import (
    Adam,
    Conv2d,
    Layer,
    _Optimizer,
    layer_from_spec,
    softmax,
    softmax_cross_entropy,
)

__all__ = [
    "CNN",
    "DEFAULT_DISPLAY",
    "Network",
    "default_cnn_spec",
    "default_training_data",
    "load_pretrained_cnn",
    "train",
    "train_default_cnn",
]

#: Layer kinds that act element by element at evaluation (``responses_at`` applies them
#: to the positions it computes).
_POINTWISE = ("relu", "dropout", "identity")
#: File kind written into the metadata of saved networks.
FILE_KIND = "v1model.cnn"

#: Where the shipped pretrained weights live: member ``small-s0`` of the shipped ensemble
#: (:mod:`v1model.ensemble`).
PRETRAINED_PATH = os.path.join(os.path.dirname(__file__), "data", "ensemble", "small_seed0.npz")

#: The default network's input: 32 × 32 pixels at 16 pixels per degree, a 2° × 2°
#: patch of the visual field.  Its 9-pixel conv1 kernels then span 0.56° and a
#: 4-pixel period is 4 c/deg, near the middle of macaque V1's range of preferred
#: spatial frequencies (De Valois, Albrecht & Thorell 1982: median ≈ 2.8 c/deg).
DEFAULT_DISPLAY = Display((32, 32), pixels_per_degree=16.0)


class Network:
    """A feed-forward stack of named stages, each a list of layers.

    Parameters
    ----------
    stages : sequence of (str, sequence of Layer)
        Stage names (unique, non-empty) with their layers in order.
    input_shape : tuple of int
        Per-sample input ``(channels, rows, cols)`` (or ``(features,)`` for a net that
        starts with a dense layer).

    Raises
    ------
    ValueError
        If names repeat or a layer's input does not fit the previous output.

    Examples
    --------
    >>> from v1model.layers import Dense, ReLU, Flatten
    >>> net = Network([("fc", [Flatten(), Dense(16, 8, rng=0), ReLU()]),
    ...                ("logits", [Dense(8, 3, rng=1)])], input_shape=(1, 4, 4))
    >>> net.forward(np.zeros((5, 1, 4, 4), np.float32)).shape
    (5, 3)
    >>> net.n_parameters
    163
    """

    def __init__(self, stages: Sequence[tuple[str, Sequence[Layer]]],
                 input_shape: Sequence[int]) -> None:
        if not isinstance(stages, Sequence) or not all(
                isinstance(s, Sequence) and len(s) == 2 and isinstance(s[1], Sequence)
                for s in stages):
            raise TypeError(f"stages must be a sequence of (name, [layers]) pairs, got "
                            f"{stages!r:.80}")
        if not isinstance(input_shape, Sequence) or not input_shape:
            raise TypeError(f"input_shape must be a non-empty sequence of integers, got "
                            f"{input_shape!r}")
        self.stages = [(str(name), list(layers)) for name, layers in stages]
        self.names = tuple(name for name, _ in self.stages)
        if not self.names:
            raise ValueError("a network needs at least one stage")
        if len(set(self.names)) != len(self.names) or "" in self.names:
            raise ValueError(f"stage names must be unique and non-empty, got {self.names}")
        self.input_shape = tuple(check_int("input_shape", s, minimum=1) for s in input_shape)
        self.shapes: dict[str, tuple[int, ...]] = {}
        shape = self.input_shape
        for name, layers in self.stages:
            for layer in layers:
                try:
                    shape = layer.output_shape(shape)
                except ValueError as exc:
                    raise ValueError(f"stage {name!r}: {exc}") from None
            self.shapes[name] = tuple(int(s) for s in shape)
        # the data needs no gradient: stop backpropagation at the first trainable layer
        for layer in self.all_layers():
            if layer.params:
                layer.needs_input_grad = False
                break

    # -- building -------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: dict, *, rng: RngLike = None, dtype=np.float32) -> Network:
        """Build a freshly initialised network from :meth:`spec` output.

        Parameters
        ----------
        spec : dict
            ``{"input_shape": [...], "stages": [{"name": str, "layers": [layer spec, ...]}]}``.
        rng : None, int or numpy.random.Generator
            Initial weights (He initialisation), drawn layer by layer in order.
        dtype : numpy dtype
            Parameter precision.

        Returns
        -------
        Network

        Raises
        ------
        ValueError
            If the specification is malformed.

        Examples
        --------
        >>> net = Network.from_spec(default_cnn_spec(4), rng=0)
        >>> net.names
        ('conv1', 'pool1', 'conv2', 'pool2', 'fc', 'logits')
        """
        if not isinstance(spec, dict) or "stages" not in spec or "input_shape" not in spec:
            raise ValueError("spec must be a dict with 'input_shape' and 'stages'")
        rng = as_rng(rng)
        stages = [(s["name"], [layer_from_spec(ls, rng=rng, dtype=dtype) for ls in s["layers"]])
                  for s in spec["stages"]]
        return cls(stages, spec["input_shape"])

    def spec(self) -> dict:
        """JSON-serialisable architecture: ``{"input_shape", "stages"}`` (no weights)."""
        return {"input_shape": list(self.input_shape),
                "stages": [{"name": name, "layers": [layer.spec() for layer in layers]}
                           for name, layers in self.stages]}

    def all_layers(self) -> list[Layer]:
        """Every layer in processing order."""
        return [layer for _, layers in self.stages for layer in layers]

    def stage(self, name: str) -> list[Layer]:
        """The layers of stage ``name``."""
        return self.stages[self.names.index(check_layer(self, name))][1]

    @property
    def layers(self) -> tuple[str, ...]:
        return self.names

    def astype(self, dtype) -> Network:
        """Cast all parameters to ``dtype`` in place; return the network."""
        for layer in self.all_layers():
            layer.astype(dtype)
        return self

    @property
    def dtype(self) -> np.dtype:
        params = self.parameters()
        return next(iter(params.values())).dtype if params else np.dtype(np.float32)

    # -- parameters -------------------------------------------------------------------

    def parameters(self) -> dict[str, np.ndarray]:
        """Trainable arrays by name ``"<stage>.<layer index>.<param>"`` (live references)."""
        return {f"{name}.{i}.{key}": value
                for name, layers in self.stages for i, layer in enumerate(layers)
                for key, value in layer.params.items()}

    def gradients(self) -> dict[str, np.ndarray]:
        """Gradients from the last :meth:`backward`, keyed like :meth:`parameters`."""
        return {f"{name}.{i}.{key}": value
                for name, layers in self.stages for i, layer in enumerate(layers)
                for key, value in layer.grads.items()}

    @property
    def n_parameters(self) -> int:
        """Number of trainable scalars."""
        return int(sum(p.size for p in self.parameters().values()))

    def set_parameters(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy ``arrays`` (keyed like :meth:`parameters`) into the network.

        Raises
        ------
        ValueError
            Naming the first parameter that is missing, unexpected or of the wrong shape.
        """
        own = self.parameters()
        missing = sorted(set(own) - set(arrays))
        extra = sorted(set(arrays) - set(own))
        if missing or extra:
            raise ValueError(f"weights do not fit this architecture: missing {missing}, "
                             f"unexpected {extra}")
        for key, target in own.items():
            value = np.asarray(arrays[key])
            if value.shape != target.shape:
                raise ValueError(f"weights do not fit this architecture: layer {key} has shape "
                                 f"{value.shape} in the weights but {target.shape} in the network")
        for key, target in own.items():
            target[...] = check_array(key, arrays[key], nonempty=False)

    # -- computing ----------------------------------------------------------------------

    def forward(self, x: np.ndarray, *, training: bool = False, rng: RngLike = None,
                until: str | None = None) -> np.ndarray:
        """Run a batch ``(n, *input_shape)`` through the stages, up to and including ``until``.

        ``rng`` drives dropout when ``training``; evaluation is deterministic.
        """
        x = np.asarray(x)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"input must have shape (n, {', '.join(map(str, self.input_shape))}),"
                             f" got {x.shape}")
        if until is not None:
            check_layer(self, until)
        generator = as_rng(rng) if training else None
        x = x.astype(self.dtype, copy=False)
        for name, layers in self.stages:
            for layer in layers:
                x = layer.forward(x, training=training, rng=generator)
            if name == until:
                break
        return x

    def backward(self, grad: np.ndarray) -> None:
        """Backpropagate ``d loss / d output`` of the last training ``forward`` through all stages.

        Fills every layer's ``grads``; the gradient with respect to the data is not computed.
        """
        for layer in reversed(self.all_layers()):
            grad = layer.backward(grad)
            if grad is None:
                return

    def predict_proba(self, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``(n, classes)`` (softmax of the output), in batches."""
        out = [softmax(self.forward(x[i:i + batch_size]).astype(np.float64))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out)

    def accuracy(self, x: np.ndarray, labels: np.ndarray, *, batch_size: int = 256) -> float:
        """Fraction of ``x`` whose most probable class is ``labels``."""
        return float(np.mean(self.predict_proba(x, batch_size=batch_size).argmax(1) == labels))

    def geometry(self, name: str) -> tuple[float, float, float]:
        """Receptive-field arithmetic of a stage, in input pixels.

        Returns
        -------
        rf_size : float
            Side of the square patch of input pixels that can affect one unit.
        jump : float
            Input pixels between neighbouring units of the map.
        start : float
            Input pixel coordinate (row or column index) of unit 0's centre.
        """
        check_layer(self, name)
        rf, jump, start = 1.0, 1.0, 0.0
        for stage_name, layers in self.stages:
            for layer in layers:
                k, s, p = layer.kernel_size, layer.stride, layer.padding
                start += ((k - 1) / 2 - p) * jump
                rf += (k - 1) * jump
                jump *= s
            if stage_name == name:
                return rf, jump, start
        raise AssertionError("unreachable")  # pragma: no cover

    def __repr__(self) -> str:
        lines = [f"Network(input_shape={self.input_shape}, parameters={self.n_parameters})"]
        for name, layers in self.stages:
            lines.append(f"  {name} -> {self.shapes[name]}: {', '.join(map(repr, layers))}")
        return "\n".join(lines)


def default_cnn_spec(n_classes: int, *, input_size: int = 32, conv1_channels: int = 16,
                     conv1_size: int = 9, conv2_channels: int = 32, fc_units: int = 64,
                     dropout: float = 0.25) -> dict:
    """The default architecture: two conv–pool stages, a hidden dense layer and logits.

    ``conv1`` (``conv1_channels`` kernels of ``conv1_size`` px, 'same' padding, ReLU) →
    ``pool1`` (2×2 max) → ``conv2`` (5×5, ReLU) → ``pool2`` (2×2 max) → ``fc``
    (flatten, dense, ReLU, dropout) → ``logits``.  One grayscale input channel.

    Parameters
    ----------
    n_classes : int
        Output classes, >= 2.
    input_size : int
        Side of the square input in pixels, a multiple of 4.
    conv1_channels, conv1_size, conv2_channels, fc_units : int
        Widths and the first kernel size (odd).
    dropout : float
        Drop probability after ``fc``.

    Returns
    -------
    dict
        A specification for :meth:`Network.from_spec`.

    Raises
    ------
    ValueError
        If a size is out of range.

    Examples
    --------
    >>> spec = default_cnn_spec(10)
    >>> [s["name"] for s in spec["stages"]]
    ['conv1', 'pool1', 'conv2', 'pool2', 'fc', 'logits']
    """
    n_classes = check_int("n_classes", n_classes, minimum=2)
    input_size = check_int("input_size", input_size, minimum=4)
    if input_size % 4:
        raise ValueError(f"input_size must be a multiple of 4, got {input_size}")
    k1 = check_int("conv1_size", conv1_size, minimum=1)
    if k1 % 2 == 0:
        raise ValueError(f"conv1_size must be odd, got {conv1_size}")
    c1 = check_int("conv1_channels", conv1_channels, minimum=1)
    c2 = check_int("conv2_channels", conv2_channels, minimum=1)
    fc = check_int("fc_units", fc_units, minimum=1)
    dropout = check_range("dropout", dropout, 0.0, 1.0, closed="left")
    flat = c2 * (input_size // 4) ** 2
    return {
        "input_shape": [1, input_size, input_size],
        "stages": [
            {"name": "conv1", "layers": [
                {"type": "conv2d", "in_channels": 1, "out_channels": c1, "kernel_size": k1,
                 "stride": 1, "padding": k1 // 2},
                {"type": "relu"}]},
            {"name": "pool1", "layers": [{"type": "maxpool2d", "kernel_size": 2, "stride": 2}]},
            {"name": "conv2", "layers": [
                {"type": "conv2d", "in_channels": c1, "out_channels": c2, "kernel_size": 5,
                 "stride": 1, "padding": 2},
                {"type": "relu"}]},
            {"name": "pool2", "layers": [{"type": "maxpool2d", "kernel_size": 2, "stride": 2}]},
            {"name": "fc", "layers": [
                {"type": "flatten"}, {"type": "dense", "in_features": flat, "out_features": fc},
                {"type": "relu"}, {"type": "dropout", "p": dropout}]},
            {"name": "logits", "layers": [
                {"type": "dense", "in_features": fc, "out_features": n_classes}]},
        ],
    }


def _as_network_input(network: Network, images: np.ndarray, name: str) -> np.ndarray:
    """Images ``(n, rows, cols)`` (one-channel nets) or ``(n, *input_shape)`` → network input."""
    arr = check_array(name, images, ndim=(3, 4), shape_doc="(n, rows, cols)")
    if arr.ndim == 3 and len(network.input_shape) == 3 and network.input_shape[0] == 1:
        arr = arr[:, None]
    elif arr.ndim == 3 and len(network.input_shape) == 1:
        arr = arr.reshape(len(arr), -1)
    if arr.shape[1:] != network.input_shape:
        raise ValueError(f"{name} must match the network input {network.input_shape}, got "
                         f"per-sample shape {arr.shape[1:]}")
    return arr


#: Upper bound on training epochs (the shipped network trains for 20).
MAX_EPOCHS = 10_000


def train(network: Network, images: np.ndarray, labels: np.ndarray, *, epochs: int = 10,
          batch_size: int = 64, optimizer: _Optimizer | None = None, rng: RngLike = None,
          validation: tuple[np.ndarray, np.ndarray] | None = None, lr_decay: float = 1.0,
          progress: bool = True) -> dict[str, list[float]]:
    """Train ``network`` in place by mini-batch gradient descent on softmax cross-entropy.

    Each epoch visits the training set once in an order drawn from ``rng``, which also
    drives dropout, so the same network, data and seed give bit-identical weights.

    Parameters
    ----------
    network : Network
        Trained in place.
    images : ndarray of shape (n, rows, cols) or (n, channels, rows, cols)
        Training inputs in contrast units.
    labels : ndarray of int, shape (n,)
        Class indices.
    epochs, batch_size : int
        Passes over the data and samples per update, >= 1.
    optimizer : SGD or Adam, optional
        Default ``Adam(lr=1e-3)``.
    rng : None, int or numpy.random.Generator
        Sample order and dropout masks.
    validation : (images, labels), optional
        Evaluated after each epoch.
    lr_decay : float
        After each epoch the optimiser's learning rate is multiplied by this, in (0, 1]
        (the optimiser is changed in place).
    progress : bool
        Show a tqdm bar over epochs.

    Returns
    -------
    dict of str to list of float
        Per epoch: ``loss`` (mean training loss), ``accuracy`` (training, with dropout),
        ``val_accuracy`` (if ``validation``), ``seconds``.

    Raises
    ------
    ValueError
        If shapes or labels do not fit the network.

    Examples
    --------
    >>> net = Network.from_spec(default_cnn_spec(2, input_size=8, conv1_channels=2,
    ...                         conv1_size=3, conv2_channels=2, fc_units=4), rng=0)
    >>> x = np.random.default_rng(0).normal(size=(8, 8, 8)).astype(np.float32)
    >>> history = train(net, x, np.arange(8) % 2, epochs=2, rng=0, progress=False)
    >>> len(history["loss"])
    2
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a v1model.cnn.Network, got {type(network).__name__}")
    if optimizer is not None and not isinstance(optimizer, _Optimizer):
        raise TypeError(f"optimizer must be a v1model.layers.SGD or Adam, got {optimizer!r}")
    if validation is not None and (not isinstance(validation, Sequence)
                                   or len(validation) != 2):
        raise TypeError(f"validation must be an (images, labels) pair, got {validation!r}")
    epochs = check_count("epochs", epochs, maximum=MAX_EPOCHS)
    x = _as_network_input(network, images, "images")
    y = np.asarray(labels)
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape ({len(x)},), got {y.dtype} {y.shape}")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    optimizer = Adam() if optimizer is None else optimizer
    lr_decay = check_range("lr_decay", lr_decay, 0.0, 1.0, closed="right")
    if validation is not None:
        x_val = _as_network_input(network, validation[0], "validation images")
        y_val = np.asarray(validation[1])
    rng = as_rng(rng)
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "seconds": []}
    if validation is not None:
        history["val_accuracy"] = []
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    for _ in bar:
        start = time.perf_counter()
        order = rng.permutation(len(x))
        total_loss, correct = 0.0, 0
        for i in range(0, len(x), batch_size):
            batch = order[i:i + batch_size]
            out = network.forward(x[batch], training=True, rng=rng)
            loss, grad = softmax_cross_entropy(out, y[batch])
            network.backward(grad.astype(out.dtype, copy=False))
            optimizer.step(network.parameters(), network.gradients())
            total_loss += loss * len(batch)
            correct += int(np.sum(out.argmax(axis=1) == y[batch]))
        history["loss"].append(total_loss / len(x))
        history["accuracy"].append(correct / len(x))
        history["seconds"].append(time.perf_counter() - start)
        postfix = {"loss": f"{history['loss'][-1]:.3f}", "acc": f"{history['accuracy'][-1]:.3f}"}
        if validation is not None:
            history["val_accuracy"].append(network.accuracy(x_val, y_val))
            postfix["val"] = f"{history['val_accuracy'][-1]:.3f}"
        bar.set_postfix(postfix)
        optimizer.lr *= lr_decay
    return history


def _kernel_tuning(kernels: np.ndarray, pixels_per_degree: float) -> tuple[np.ndarray, np.ndarray]:
    """Orientation (deg) and spatial frequency (c/deg) at each kernel's amplitude-spectrum peak.

    ``kernels`` is ``(k, rows, cols)``; the peak is searched over non-zero frequencies of a
    64 × 64 (or larger) zero-padded spectrum.  Rows run down, so the upward frequency is
    minus the row frequency.
    """
    size = max(64, 4 * max(kernels.shape[1:]))
    spectrum = np.abs(np.fft.fft2(kernels - kernels.mean(axis=(1, 2), keepdims=True),
                                  s=(size, size)))
    spectrum[:, 0, 0] = -1.0  # never the DC term
    peak = spectrum.reshape(len(kernels), -1).argmax(axis=1)
    f_row, f_col = np.fft.fftfreq(size)[peak // size], np.fft.fftfreq(size)[peak % size]
    orientation = np.degrees(np.arctan2(-f_row, f_col)) % 180.0
    sf = np.hypot(f_row, f_col) * pixels_per_degree
    return orientation, sf


class CNN:
    """A :class:`Network` looking at a :class:`~stimuli.display.Display`: the model interface.

    Parameters
    ----------
    network : Network
        A network whose input is one grayscale image of the display's shape
        (``input_shape == (1, rows, cols)``) or its flattened pixels (an MLP).
    display : stimuli.Display
        The input geometry: pixels and ``pixels_per_degree``.
    class_names : sequence of str, optional
        Names of the output classes.
    meta : dict, optional
        JSON-serialisable record (training data, accuracy, ...), kept in saved files.

    Attributes
    ----------
    layers : tuple of str
        The network's stage names, e.g. ``("conv1", "pool1", "conv2", "pool2", "fc", "logits")``.
    temporal : bool
        False: images in, one response per image.

    Raises
    ------
    ValueError
        If the display does not match the network input.

    Examples
    --------
    >>> model = CNN(Network.from_spec(default_cnn_spec(3), rng=0), DEFAULT_DISPLAY)
    >>> model.responses(np.zeros((2, 32, 32)), "conv2").shape
    (2, 32, 16, 16)
    >>> x, y = model.map_coordinates("pool2")
    >>> x.shape, float(x[0])
    ((8,), -0.875)
    """

    temporal = False
    _repr_html_ = model_repr_html

    def __init__(self, network: Network, display: Display, *,
                 class_names: Sequence[str] | None = None, meta: dict | None = None) -> None:
        if not isinstance(network, Network):
            raise TypeError(f"network must be a v1model.cnn.Network, got {type(network).__name__}")
        if not isinstance(display, Display):
            raise TypeError(f"display must be a stimuli.Display, got {type(display).__name__}")
        rows, cols = display.shape
        if network.input_shape not in ((1, rows, cols), (rows * cols,)):
            raise ValueError(f"network input {network.input_shape} does not match the display "
                             f"{display.shape}: expected (1, {rows}, {cols}) or ({rows * cols},)")
        self.network = network
        self.display = display
        n_out = network.shapes[network.names[-1]]
        if class_names is not None:
            class_names = check_strings("class_names", class_names)
        meta = check_mapping("meta", meta, optional=True)
        self.class_names = tuple(class_names) if class_names is not None else None
        if self.class_names is not None and (len(n_out) != 1 or len(self.class_names) != n_out[0]):
            raise ValueError(f"class_names has {len(self.class_names)} names but the network "
                             f"has {n_out} outputs")
        self.meta = dict(meta or {})

    @property
    def layers(self) -> tuple[str, ...]:
        return self.network.names

    @property
    def sampled_layers(self) -> tuple[str, ...]:
        """Layers :meth:`responses_at` computes at given positions: convolutions followed by
        pointwise layers only (the model interface's optional part, used by
        :func:`analysis.runner.run_protocol` for the recorded positions).

        Examples
        --------
        >>> CNN(Network.from_spec(default_cnn_spec(3), rng=0), DEFAULT_DISPLAY).sampled_layers
        ('conv1', 'conv2')
        """
        out = []
        for name, stage in self.network.stages:
            if isinstance(stage[0], Conv2d) and all(x.kind in _POINTWISE for x in stage[1:]):
                out.append(name)
        return tuple(out)

    def __repr__(self) -> str:
        return (f"CNN(layers={self.layers}, display={self.display}, "
                f"parameters={self.network.n_parameters})")

    def _retinotopic(self, layer: str) -> bool:
        return len(self.network.shapes[check_layer(self, layer)]) == 3

    def responses(self, stimuli: np.ndarray, layer: str, *, batch_size: int = 256) -> np.ndarray:
        """Responses of ``layer`` to images, in batches.

        Parameters
        ----------
        stimuli : ndarray of shape (n, rows, cols)
            Images in contrast units, the display's size.
        layer : str
            One of :attr:`layers`.
        batch_size : int
            Images per forward pass (memory only; results do not depend on it).

        Returns
        -------
        ndarray, float32
            ``(n, channels, rows', cols')`` for conv and pool stages, ``(n, units)`` for
            dense ones (``logits`` are pre-softmax).

        Raises
        ------
        ValueError
            If ``layer`` is unknown or the images do not match the display.
        """
        check_layer(self, layer)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        images = check_images("stimuli", stimuli, self.display)
        x = _as_network_input(self.network, images, "stimuli")
        out = [self.network.forward(x[i:i + batch_size], until=layer)
               for i in range(0, len(x), batch_size)]
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)

    def responses_at(self, stimuli: np.ndarray, layer: str, rows, cols, *,
                     batch_size: int = 256) -> np.ndarray:
        """Responses of a convolutional ``layer`` at some map positions only.

        Equal to ``self.responses(stimuli, layer)[:, :, rows, cols]`` (pairs of map
        rows and columns), but the stage's convolution is computed at those positions
        only: one float32 BLAS product of the input patches there (gathered through a
        cached index array) with the stage's kernels, then the stage's pointwise
        layers (ReLU, dropout at evaluation).  Earlier stages run whole, as in
        :meth:`responses`.  For ``conv1`` at a few positions this is the arithmetic of
        the recorded units alone.

        Parameters
        ----------
        stimuli : ndarray of shape (n, rows, cols)
            Images in contrast units, the display's size.
        layer : str
            A stage that is a convolution followed by pointwise layers only.
        rows, cols : array_like of int
            Map rows and columns of equal length, one position per pair (negative
            counted from the end).
        batch_size : int
            Images per pass (memory only).

        Returns
        -------
        ndarray of shape (n, channels, positions), float32

        Raises
        ------
        ValueError
            If the layer is unknown or not a convolution followed by pointwise layers,
            the images do not match the display, or ``rows`` and ``cols`` differ in
            length.
        IndexError
            If a position is outside the map.

        Examples
        --------
        >>> cnn = CNN(Network.from_spec(default_cnn_spec(3), rng=0), DEFAULT_DISPLAY)
        >>> x = np.random.default_rng(0).normal(size=(2, 32, 32))
        >>> full = cnn.responses(x, "conv1")
        >>> np.allclose(cnn.responses_at(x, "conv1", [0, 15], [31, 16]),
        ...             full[:, :, [0, 15], [31, 16]], atol=1e-5)
        True
        """
        check_layer(self, layer)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        stage = self.network.stage(layer)
        conv, rest = stage[0], stage[1:]
        if not isinstance(conv, Conv2d) or any(x.kind not in _POINTWISE for x in rest):
            raise ValueError(f"layer {layer!r} is not a convolution followed by pointwise "
                             f"layers; use responses()")
        _, map_rows, map_cols = self.network.shapes[layer]
        rows = check_index("rows", rows, map_rows, "map rows")
        cols = check_index("cols", cols, map_cols, "map columns")
        if len(rows) != len(cols):
            raise ValueError(f"rows and cols must have equal lengths, got {len(rows)} and "
                             f"{len(cols)}")
        images = check_images("stimuli", stimuli, self.display)
        x = _as_network_input(self.network, images, "stimuli")
        names = [name for name, _ in self.network.stages]
        previous = names[names.index(layer) - 1] if names.index(layer) > 0 else None
        p = conv.padding
        weights = conv._matrix().T                                  # (k·k·c_in, c_out)
        out = []
        for start in range(0, len(x), batch_size):
            block = x[start:start + batch_size].astype(self.network.dtype, copy=False)
            if previous is not None:
                block = self.network.forward(block, until=previous)
            n, c_in, height, width = block.shape
            padded = np.zeros((n, height + 2 * p, width + 2 * p, c_in), dtype=block.dtype)
            padded[:, p:p + height, p:p + width] = block.transpose(0, 2, 3, 1)
            index = self._patch_index(layer, padded.shape[1:], rows, cols)
            patches = np.take(padded.reshape(n, -1), index, axis=1)   # (n, P, k·k·c_in)
            y = (patches.reshape(-1, index.shape[1]) @ weights + conv.params["bias"])
            y = y.reshape(n, len(rows), -1).transpose(0, 2, 1)
            for pointwise in rest:
                y = pointwise.forward(y)
            out.append(y)
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)

    def _patch_index(self, layer: str, padded_shape, rows: np.ndarray,
                     cols: np.ndarray) -> np.ndarray:
        """Cached flat indices ``(positions, k·k·c_in)`` of each patch (channels last)."""
        key = (layer, tuple(padded_shape), rows.tobytes(), cols.tobytes())
        cache = self.__dict__.setdefault("_patch_cache", {})
        if key not in cache:
            conv = self.network.stage(layer)[0]
            k, s = conv.kernel_size, conv.stride
            _, width, c_in = padded_shape
            u, v, c = np.meshgrid(np.arange(k), np.arange(k), np.arange(c_in), indexing="ij")
            offsets = ((u * width + v) * c_in + c).ravel()         # (u, v, channel) order
            corner = (rows * s * width + cols * s) * c_in
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            cache[key] = corner[:, None] + offsets[None]
        return cache[key]

    def map_coordinates(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Visual-field positions (degrees) of a retinotopic layer's columns and rows.

        From the receptive-field arithmetic of kernels, strides and padding: unit
        ``(r, c)`` is centred on input pixel ``start + jump · (r, c)``.

        Returns
        -------
        x : ndarray of shape (cols',)
            Column centres, degrees right of the display centre.
        y : ndarray of shape (rows',)
            Row centres, degrees above the display centre (decreasing with row index).

        Raises
        ------
        ValueError
            If the layer is unknown or not retinotopic (dense).
        """
        if not self._retinotopic(layer):
            raise ValueError(f"layer {layer!r} is not retinotopic: it has no map coordinates")
        _, rows, cols = self.network.shapes[layer]
        _, jump, start = self.network.geometry(layer)
        ppd = self.display.pixels_per_degree
        x = (start + jump * np.arange(cols) - (self.display.cols - 1) / 2) / ppd
        y = ((self.display.rows - 1) / 2 - (start + jump * np.arange(rows))) / ppd
        return x, y

    def unit_info(self, layer: str) -> dict[str, np.ndarray]:
        """What the model knows about a layer's channels (retinotopic) or units (dense).

        Returns
        -------
        dict of str to ndarray
            ``channel`` or ``unit`` (index), ``rf_size`` (degrees: the side of the input
            patch that can affect a unit, from the architecture).  Retinotopic layers add
            ``kernel_size`` (pixels of the stage's own kernel) and ``stride`` (degrees
            between map positions).  The first convolution on the image adds
            ``orientation`` (degrees) and ``sf`` (c/deg) at the peak of each kernel's
            amplitude spectrum.  Dense layers add the RF centre ``x``, ``y`` (0: the
            display centre).

        Raises
        ------
        ValueError
            If the layer is unknown.
        """
        check_layer(self, layer)
        ppd = self.display.pixels_per_degree
        shape = self.network.shapes[layer]
        rf, jump, _ = self.network.geometry(layer)
        if not self._retinotopic(layer):
            n = shape[0]
            size = max(self.display.size_degrees)
            return {"unit": np.arange(n), "rf_size": np.full(n, size),
                    "x": np.zeros(n), "y": np.zeros(n)}
        n = shape[0]
        kernel = max(layer_.kernel_size for layer_ in self.network.stage(layer))
        info = {"channel": np.arange(n), "rf_size": np.full(n, rf / ppd),
                "kernel_size": np.full(n, kernel), "stride": np.full(n, jump / ppd)}
        first = self.network.stage(layer)[0]
        if isinstance(first, Conv2d) and self.network.stages[0][1][0] is first:
            weights = first.params["weight"].astype(np.float64)
            info["orientation"], info["sf"] = _kernel_tuning(weights[:, 0], ppd)
        return info

    def filters(self, layer: str) -> np.ndarray:
        """A convolutional stage's kernels ``(out_channels, in_channels, k, k)`` (a copy).

        Raises
        ------
        ValueError
            If the layer is unknown or has no convolution.

        Examples
        --------
        >>> CNN(Network.from_spec(default_cnn_spec(3), rng=0), DEFAULT_DISPLAY).filters(
        ...     "conv1").shape
        (16, 1, 9, 9)
        """
        for layer_ in self.network.stage(layer):
            if isinstance(layer_, Conv2d):
                return layer_.params["weight"].copy()
        raise ValueError(f"layer {layer!r} has no convolution kernels")

    def predict(self, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Most probable class index ``(n,)`` for images ``(n, rows, cols)``."""
        images = check_images("images", images, self.display)
        x = _as_network_input(self.network, images, "images")
        return self.network.predict_proba(x, batch_size=batch_size).argmax(axis=1)

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        """Fraction of ``images`` classified as ``labels``."""
        return float(np.mean(self.predict(images) == np.asarray(labels)))

    # -- files ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write weights, architecture, display, class names and ``meta`` to one ``.npz``.

        Atomic (a partial file never replaces ``path``) and pickle-free.

        Raises
        ------
        FileNotFoundError
            If the folder does not exist.
        """
        meta = {"kind": FILE_KIND, "spec": self.network.spec(),
                "display": {"shape": list(self.display.shape),
                            "pixels_per_degree": self.display.pixels_per_degree,
                            "frame_rate": self.display.frame_rate},
                "class_names": list(self.class_names) if self.class_names else None,
                "meta": self.meta}
        save_npz(path, self.network.parameters(), meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> CNN:
        """Rebuild a model written by :meth:`save`.

        Returns
        -------
        CNN

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        ValueError
            If the file is not a saved network, its metadata lacks the architecture
            (``spec``) or display, or its weights do not fit its architecture (checked
            from the file's directory, before the weights are decompressed).
        """
        where = repr(os.fspath(path))
        built: dict[str, Any] = {}

        def check(headers: dict, meta: dict) -> None:
            for key in ("spec", "display"):
                if key not in meta:
                    raise ValueError(f"{where} is an incomplete CNN file: its metadata has no "
                                     f"{key!r}")
            try:
                built["network"] = Network.from_spec(meta["spec"], rng=0)
                d = meta["display"]
                built["display"] = Display(tuple(d["shape"]), d["pixels_per_degree"],
                                           d["frame_rate"])
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                raise ValueError(f"{where} has an invalid CNN architecture or display: "
                                 f"{type(exc).__name__}: {exc}") from exc
            _check_weight_headers(where, headers, built["network"])

        arrays, meta = load_npz(path, FILE_KIND, check=check)
        network = built["network"]
        network.set_parameters(arrays)
        class_names = meta.get("class_names")
        if class_names is not None and (not isinstance(class_names, list) or not all(
                isinstance(c, str) for c in class_names)):
            raise ValueError(f"{where} has invalid class_names: {class_names!r}")
        extra = meta.get("meta")
        if extra is not None and not isinstance(extra, dict):
            raise ValueError(f"{where} has invalid meta: expected an object, got "
                             f"{type(extra).__name__}")
        return cls(network, built["display"], class_names=class_names, meta=extra)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Load the weights of a saved network into this model's architecture.

        Raises
        ------
        ValueError
            If a layer is missing or has another shape (the message names it).
        """
        where = repr(os.fspath(path))
        arrays, _ = load_npz(path, FILE_KIND, check=lambda headers, meta: _check_weight_headers(
            where, headers, self.network))
        self.network.set_parameters(arrays)


def _check_weight_headers(where: str, headers: dict, network: Network) -> None:
    """Stored weight names, shapes and dtypes must fit ``network`` (before any is read)."""
    own = network.parameters()
    missing = sorted(set(own) - set(headers))
    extra = sorted(set(headers) - set(own))
    if missing or extra:
        raise ValueError(f"{where}: weights do not fit this architecture: missing {missing}, "
                         f"unexpected {extra}")
    for key, (shape, dtype) in headers.items():
        if tuple(shape) != own[key].shape:
            raise ValueError(f"{where}: weights do not fit this architecture: layer {key} has "
                             f"shape {tuple(shape)} in the weights but {own[key].shape} in the "
                             f"network")
        if dtype.kind != "f":
            raise ValueError(f"{where}: layer {key} has dtype {dtype}, expected floating point")


def load_pretrained_cnn() -> CNN:
    """The default CNN trained by :func:`train_default_cnn` (seed 0), shipped with the package.

    It is member ``small-s0`` of the shipped ensemble (:func:`v1model.ensemble.load_ensemble`).
    Its training data, curves, test accuracy, training time and the command that
    reproduces it are in ``model.meta`` (and in ``v1model/data/ensemble/small_seed0.json``).

    Returns
    -------
    CNN

    Raises
    ------
    FileNotFoundError
        If the package data is missing.

    Examples
    --------
    >>> model = load_pretrained_cnn()
    >>> model.filters("conv1").shape[0] >= 16
    True
    """
    return CNN.load(PRETRAINED_PATH)


#: Settings of the shipped network (``train_default_cnn`` defaults).
DEFAULT_TRAINING = {
    "n_per_class": 600,
    "whiten": True,
    "epochs": 8,
    "batch_size": 64,
    "lr": 2e-3,
    "lr_decay": 0.8,
    "weight_decay": 2e-3,
    "conv1_init_scale": 0.1,
}


def default_training_data(seed: int = 0, *, n_per_class: int = DEFAULT_TRAINING["n_per_class"],
                          whiten: bool = DEFAULT_TRAINING["whiten"]):
    """The default network's data: natural-image patches and shapes, one 11-class problem.

    Classes 0–4 are 32 × 32 patches of five natural textures and photographs
    (:func:`stimuli.datasets.natural_patches_dataset`, labelled by source image,
    cut from whitened images when ``whiten``); classes 5–10 are the six shapes of
    :func:`stimuli.datasets.shapes_dataset`.  Both are drawn from one generator
    seeded with ``seed``, patches first.

    Parameters
    ----------
    seed : int
        Seed of the generator that draws both datasets.
    n_per_class : int
        Images per class (train + test; a quarter are held out), >= 4.
    whiten : bool
        Cut the patches from whitened images (flat spectrum, as the retina and LGN
        roughly deliver them), which favours localised, oriented first-layer filters.

    Returns
    -------
    stimuli.datasets.Dataset
        ``name="patches+shapes"``, class names ``"patch:<source>"`` and ``"shape:<kind>"``.

    Raises
    ------
    ValueError, TypeError
        If an argument is out of range.

    Examples
    --------
    >>> ds = default_training_data(0, n_per_class=4)
    >>> ds.n_classes, ds.x_train.shape
    (11, (33, 32, 32))
    """
    from stimuli.datasets import Dataset, natural_patches_dataset, shapes_dataset

    seed = check_int("seed", seed, minimum=0)
    n_per_class = check_int("n_per_class", n_per_class, minimum=4)
    rng = np.random.default_rng(seed)
    size = DEFAULT_DISPLAY.rows
    patches = natural_patches_dataset(n_per_class, size=size, rng=rng, whiten=whiten)
    shapes = shapes_dataset(n_per_class, size=size, rng=rng)
    k = patches.n_classes
    names = ([f"patch:{c}" for c in patches.class_names]
             + [f"shape:{c}" for c in shapes.class_names])
    return Dataset(
        x_train=np.concatenate([patches.x_train, shapes.x_train]),
        y_train=np.concatenate([patches.y_train, shapes.y_train + k]),
        x_test=np.concatenate([patches.x_test, shapes.x_test]),
        y_test=np.concatenate([patches.y_test, shapes.y_test + k]),
        class_names=tuple(names), name="patches+shapes",
        params={"seed": seed, "n_per_class": n_per_class, "whiten": whiten})


def train_default_cnn(seed: int = 0, *, n_per_class: int = DEFAULT_TRAINING["n_per_class"],
                      epochs: int = DEFAULT_TRAINING["epochs"],
                      whiten: bool = DEFAULT_TRAINING["whiten"], path: str | None = None,
                      progress: bool = True) -> CNN:
    """Train the default architecture on :func:`default_training_data`; what ships as pretrained.

    ``train_default_cnn(seed, ...)`` is ``v1model.ensemble.train_cnn("small", seed, ...)``
    (the ``small`` members of the shipped ensemble).

    Deterministic given ``seed``: one generator draws the data, another (seeded from
    ``seed`` too) the initial weights, the batch order and the dropout masks.  The
    settings are :data:`DEFAULT_TRAINING`: Adam (learning rate 2e-3, multiplied by 0.8
    after each epoch; L2 weight decay 2e-3 on weights), batches of 64.  conv1's
    He-initialised kernels are scaled by 0.1 so that what is learned, not the random
    start, dominates the small first-layer kernels; with the weight decay this leaves
    smooth, localised, oriented kernels.  The training curve, the held-out accuracy
    (with its 95% Wilson interval) and the training time are stored in ``model.meta``
    (see :func:`v1model.ensemble.train_cnn`).

    Parameters
    ----------
    seed : int
        Seed for everything random.
    n_per_class : int
        Images per class (75% train, 25% test).
    epochs : int
        Passes over the training set.
    whiten : bool
        Whitened natural patches (see :func:`default_training_data`).
    path : str, optional
        If given, save the model there (``.npz``) and its metadata beside it as
        ``.json`` (the shipped files are ``v1model/data/ensemble/small_seed{S}.npz``/``.json``).
    progress : bool
        Show a progress bar over epochs.

    Returns
    -------
    CNN
        The trained model on :data:`DEFAULT_DISPLAY`.

    Raises
    ------
    ValueError, TypeError
        If an argument is out of range.

    Examples
    --------
    >>> model = train_default_cnn(0, n_per_class=8, epochs=1, progress=False)
    >>> model.layers, model.meta["n_test"]
    (('conv1', 'pool1', 'conv2', 'pool2', 'fc', 'logits'), 22)
    """
    from v1model.ensemble import train_cnn

    return train_cnn("small", seed, path=path, progress=progress,
                     **{key: value for key, value in (("n_per_class", n_per_class),
                                                      ("epochs", epochs), ("whiten", whiten))
                        if value != DEFAULT_TRAINING[key]})
