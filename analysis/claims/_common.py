"""Helpers the claim experiments share: seeds, pretrained models, small training
runs, pooling surgery, tolerance indices and figure panels.  Private to
:mod:`analysis.claims`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from analysis.claims.verdict import LEARNED_MARGIN, Check
from analysis.decoding import wilson_interval
from analysis.invariance import tolerance_curve
from stimuli._shared.validation import check_int
from stimuli.display import Display


def _seed(gen: np.random.Generator) -> int:
    """A fresh integer seed drawn from ``gen``."""
    return int(gen.integers(2**31 - 1))


def _training_arguments(n_per_class: Any, epochs: Any, downsample: Any) -> tuple[int, int, int]:
    """The checked ``n_per_class`` (>= 4), ``epochs`` and ``downsample`` (>= 1) of a claim
    that trains networks."""
    return (check_int("n_per_class", n_per_class, minimum=4),
            check_int("epochs", epochs, minimum=1),
            check_int("downsample", downsample, minimum=1))


def _spread(n: int, k: int) -> np.ndarray:
    """Up to ``k`` indices spread evenly over ``range(n)``."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int))


def _pretrained(cnn: Any) -> Any:
    """``cnn`` or, when None, the shipped network (:func:`v1model.cnn.load_pretrained_cnn`)."""
    from v1model.cnn import CNN, load_pretrained_cnn

    if cnn is None:
        return load_pretrained_cnn()
    if not isinstance(cnn, CNN):
        raise TypeError(f"cnn must be a v1model.cnn.CNN (the claims read its stages and "
                        f"kernels), got {type(cnn).__name__}")
    return cnn


def _check_hmax(hmax: Any, display: Display) -> Any:
    from v1model.hmax import HMAX

    if not isinstance(hmax, HMAX):
        raise TypeError(f"hmax must be a v1model.hmax.HMAX, got {type(hmax).__name__}")
    if tuple(hmax.display.shape) != tuple(display.shape):
        raise ValueError(f"hmax must look at the CNN's display {display.shape}, got "
                         f"{hmax.display.shape}")
    return hmax


def _cnn_data(cnn: Any, data: Any) -> Any:
    """``data`` or the dataset the CNN was trained on, regenerated from ``cnn.meta``
    (:func:`v1model.ensemble.ensemble_data`: any architecture of the ensemble; a record
    without ``arch`` is the default, ``small``, network's)."""
    if data is not None:
        return data
    meta = getattr(cnn, "meta", None) or {}
    if "seed" not in dict(meta.get("data") or {}):
        raise ValueError("the CNN's meta does not record its training data; pass data=")
    from v1model.ensemble import ensemble_data

    return ensemble_data(meta)


def _accuracy_gate(name: str, accuracy: float, n_classes: int) -> Check:
    chance = 1.0 / n_classes
    return Check(name, f"{name.replace('_', ' ')} minus chance ({chance:.2f})",
                 accuracy - chance, LEARNED_MARGIN)


def _downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor × factor`` pixel blocks: ``(n, rows, cols)`` → ``(n, rows/f, cols/f)``."""
    if factor == 1:
        return np.asarray(images, dtype=np.float32)
    n, rows, cols = images.shape
    if rows % factor or cols % factor:
        raise ValueError(f"downsample={factor} must divide the image size {rows}x{cols}")
    blocks = images.reshape(n, rows // factor, factor, cols // factor, factor)
    return blocks.mean(axis=(2, 4)).astype(np.float32)


def _downsampled(data: Any, factor: int) -> Any:
    if factor == 1:
        return data
    return replace(data, x_train=_downsample(data.x_train, factor),
                   x_test=_downsample(data.x_test, factor),
                   params={**data.params, "downsample": factor})


def _display_for(data: Any, pixels_per_degree: float) -> Display:
    rows, cols = data.x_train.shape[1:]
    return Display((rows, cols), pixels_per_degree=pixels_per_degree)


def _architecture(architecture: Mapping[str, int] | None, image_size: int) -> dict[str, int]:
    """Keyword arguments of :func:`v1model.cnn.default_cnn_spec`, checked."""
    allowed = ("conv1_channels", "conv1_size", "conv2_channels", "fc_units")
    arch = dict(architecture or {})
    unknown = sorted(set(arch) - set(allowed))
    if unknown:
        raise ValueError(f"architecture has unknown keys {unknown}; allowed: {list(allowed)}")
    if "conv1_size" not in arch:
        arch["conv1_size"] = 9 if image_size >= 32 else 5
    return arch


def _train_network(spec: dict, data: Any, *, display: Display, epochs: int, seed: int,
                   n_train: int | None = None, x_train: np.ndarray | None = None,
                   progress: bool = False) -> tuple[Any, dict]:
    """Train a network from ``spec`` with the shipped network's optimiser settings.

    Adam at the default learning rate and weight decay of
    :data:`v1model.cnn.DEFAULT_TRAINING`; a first convolution has its initial kernels
    scaled like the shipped network's.  Returns the :class:`v1model.cnn.CNN` model and
    a record (parameters, test accuracy with Wilson interval, training seconds).
    """
    from v1model.cnn import CNN, DEFAULT_TRAINING, Network, train
    from v1model.layers import Adam

    gen = np.random.default_rng(seed)
    network = Network.from_spec(spec, rng=gen)
    first = network.parameters().get(f"{network.names[0]}.0.weight")
    if first is not None and first.ndim == 4:
        first[...] *= DEFAULT_TRAINING["conv1_init_scale"]
    x = data.x_train if x_train is None else x_train
    y = data.y_train
    if n_train is not None:
        x, y = x[:n_train], y[:n_train]
    optimizer = Adam(DEFAULT_TRAINING["lr"], weight_decay=DEFAULT_TRAINING["weight_decay"])
    start = time.perf_counter()
    history = train(network, x, y, epochs=epochs, batch_size=DEFAULT_TRAINING["batch_size"],
                    optimizer=optimizer, rng=gen, progress=progress)
    seconds = time.perf_counter() - start
    model = CNN(network, display, class_names=data.class_names)
    correct = int(np.sum(model.predict(data.x_test) == data.y_test))
    low, high = wilson_interval(correct, len(data.y_test))
    return model, {"parameters": network.n_parameters, "n_train": len(x),
                   "test_accuracy": correct / len(data.y_test), "ci": [low, high],
                   "final_loss": history["loss"][-1], "seconds": round(seconds, 1)}


def _accuracy(model: Any, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(model.predict(images) == labels))


def _last_hidden(cnn: Any) -> str:
    """The last layer before the output (logits)."""
    if len(cnn.layers) < 2:
        raise ValueError(f"the CNN needs at least two layers, got {cnn.layers}")
    return cnn.layers[-2]


def _stage_kinds(cnn: Any) -> dict[str, str]:
    """Each stage of a :class:`v1model.cnn.CNN` as ``"conv"``, ``"pool"`` or ``"dense"``."""
    from v1model.layers import AvgPool2d, Conv2d, Dense, MaxPool2d

    kinds = {}
    for name in cnn.layers:
        layers = cnn.network.stage(name)
        if any(isinstance(x, Conv2d) for x in layers):
            kinds[name] = "conv"
        elif any(isinstance(x, (MaxPool2d, AvgPool2d)) for x in layers):
            kinds[name] = "pool"
        elif any(isinstance(x, Dense) for x in layers):
            kinds[name] = "dense"
        else:
            kinds[name] = "other"
    return kinds


def _pool_pairs(cnn: Any) -> list[tuple[str, str]]:
    """(convolution stage, pooling stage right after it) pairs."""
    kinds = _stage_kinds(cnn)
    names = list(cnn.layers)
    return [(names[i - 1], name) for i, name in enumerate(names)
            if i > 0 and kinds[name] == "pool" and kinds[names[i - 1]] == "conv"]


def _first_conv(cnn: Any) -> str:
    kinds = _stage_kinds(cnn)
    for name in cnn.layers:
        if kinds[name] == "conv":
            return name
    raise ValueError(f"the network has no convolution stage: {cnn.layers}")


def _without_pooling(spec: dict) -> dict:
    """The same network with each pooling stage folded into the preceding convolution's stride.

    A 2×2/stride-2 max-pool after a stride-1 convolution becomes a stride-2 convolution
    (Springenberg et al. 2015, "all convolutional net"): the same map sizes and number of
    parameters, subsampling without the max.
    """
    stages = []
    for stage in spec["stages"]:
        layers = stage["layers"]
        pools = [x for x in layers if x["type"] in ("maxpool2d", "avgpool2d")]
        if pools and len(layers) == 1:
            if not stages:
                raise ValueError("a pooling stage cannot come first")
            convs = [x for x in stages[-1]["layers"] if x["type"] == "conv2d"]
            if not convs:
                raise ValueError(f"pooling stage {stage['name']!r} does not follow a convolution")
            pool = pools[0]
            stride = pool.get("stride") or pool["kernel_size"]
            if pool["kernel_size"] != stride:
                raise ValueError("only non-overlapping pooling can be folded into a stride")
            convs[-1]["stride"] = convs[-1].get("stride", 1) * stride
            continue
        stages.append({"name": stage["name"], "layers": [dict(x) for x in layers]})
    return {"input_shape": list(spec["input_shape"]), "stages": stages}


def _tolerance_index(curve: Any, neutral: float = 0.0) -> float:
    """Mean over non-neutral amounts of ``(r − baseline) / (1 − baseline)``.

    ``baseline`` is the curve's correlation between different images (0 if absent): 1
    means the transform leaves the response pattern unchanged, 0 that it changes it as
    much as a different image would.
    """
    amounts = np.asarray(curve["amount"], dtype=np.float64)
    r = np.asarray(curve["correlation"], dtype=np.float64)
    base = float(curve["baseline"][0]) if "baseline" in curve.names else 0.0
    moved = ~np.isclose(amounts, neutral)
    if not np.any(moved) or base >= 1:
        return float("nan")
    return float(np.mean((r[moved] - base) / (1.0 - base)))


def _tolerance(model: Any, layer: str, images: np.ndarray, transform: str,
               amounts: np.ndarray) -> dict[str, Any]:
    """A tolerance curve and its index, over the images that drive the layer.

    Images to which every unit of the layer responds alike (e.g. all silent) have no
    defined correlation and are left out (their number is recorded); if fewer than two
    remain, or a transformed image drives nothing, the curve is NaN with the reason.
    """
    resp = np.asarray(model.responses(images, layer)).reshape(len(images), -1)
    keep = resp.std(axis=1) > 0
    out = {"amount": np.asarray(amounts, dtype=np.float64), "n_images": int(keep.sum()),
           "n_left_out": int((~keep).sum()), "note": None}
    try:
        if keep.sum() < 2:
            raise ValueError(f"only {int(keep.sum())} image(s) drive layer {layer!r}")
        curve = tolerance_curve(model, layer, images[keep], transform=transform,
                                amounts=amounts)
    except ValueError as exc:
        nan = np.full(len(amounts), np.nan)
        return {**out, "correlation": nan, "sem": nan, "baseline": float("nan"),
                "index": float("nan"), "note": str(exc)}
    return {**out, "correlation": np.asarray(curve["correlation"]),
            "sem": np.asarray(curve["sem"]), "baseline": float(curve["baseline"][0]),
            "index": _tolerance_index(curve)}


class _CachedModel:
    """A model proxy that remembers the responses to the batches it has seen.

    :func:`analysis.receptive_fields.spike_triggered_covariance` analyses one unit per
    call; called for several units with the same noise seed, the proxy answers every
    call after the first from memory, so the model runs once per layer.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.display = model.display
        self.layers = model.layers
        self.temporal = bool(model.temporal)
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def unit_info(self, layer: str) -> dict[str, np.ndarray]:
        return self.model.unit_info(layer)

    def map_coordinates(self, layer: str):
        return self.model.map_coordinates(layer)

    def responses(self, stimuli: np.ndarray, layer: str) -> np.ndarray:
        arr = np.ascontiguousarray(stimuli)
        key = (layer, hashlib.sha1(arr.tobytes()).hexdigest() + str(arr.shape))
        if key not in self._cache:
            self._cache[key] = np.asarray(self.model.responses(arr, layer))
        return self._cache[key]

    def clear(self) -> None:
        self._cache.clear()


def _n_channels(model: Any, layer: str) -> int:
    info = model.unit_info(layer)
    return len(next(iter(info.values())))


def _axes_off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _show_image(ax, image: np.ndarray, title: str | None = None) -> None:
    lim = float(np.max(np.abs(image))) or 1.0
    ax.imshow(image, cmap="RdBu_r", vmin=-lim, vmax=lim)
    _axes_off(ax)
    if title:
        ax.set_title(title, fontsize=7)


def _montage(kernels: np.ndarray, ncols: int) -> np.ndarray:
    """Kernels ``(n, k, k)``, each scaled to peak |1|, tiled with one-pixel gaps (NaN)."""
    n, kh, kw = kernels.shape
    nrows = -(-n // ncols)
    out = np.full((nrows * (kh + 1) - 1, ncols * (kw + 1) - 1), np.nan)
    for i, k in enumerate(kernels):
        r, c = divmod(i, ncols)
        peak = float(np.max(np.abs(k))) or 1.0
        out[r * (kh + 1):r * (kh + 1) + kh, c * (kw + 1):c * (kw + 1) + kw] = k / peak
    return out
