"""Helpers the claim experiments share: seeds, pretrained models, small training
runs (claims 5-6), any model's layers and first-layer kernels, per-image tolerance
data with bootstrap intervals, and figure panels.  Private to :mod:`analysis.claims`.
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


# ----------------------------------------------------------------------------- any model

#: The methods and attributes a claim needs of a model (:class:`v1model.base.Model`).
_MODEL_ATTRIBUTES = ("display", "layers", "responses", "unit_info")


def _model(cnn: Any, name: str = "cnn") -> Any:
    """``cnn`` if it implements the static model interface; the shipped network if None.

    Any object with ``display``, ``layers``, ``responses`` and ``unit_info`` (the
    interface of :class:`v1model.base.Model`, checked in full by
    :func:`v1model.base.check_model`) is accepted, not only :class:`v1model.cnn.CNN`.
    """
    from stimuli.display import Display as _Display
    from v1model.cnn import load_pretrained_cnn

    if cnn is None:
        return load_pretrained_cnn()
    missing = [a for a in _MODEL_ATTRIBUTES if not hasattr(cnn, a)]
    if missing:
        raise TypeError(f"{name} must implement the model interface (v1model.base.Model: "
                        f"display, layers, responses, unit_info); {type(cnn).__name__} lacks "
                        f"{missing}")
    if not isinstance(cnn.display, _Display):
        raise TypeError(f"{name}.display must be a stimuli.Display, got "
                        f"{type(cnn.display).__name__}")
    if bool(getattr(cnn, "temporal", False)):
        raise ValueError(f"{name} must be a static (image) model: the claims show it images, "
                         f"but {type(cnn).__name__}.temporal is True")
    if len(tuple(cnn.layers)) == 0:
        raise ValueError(f"{name} has no layers")
    return cnn


def _is_cnn(model: Any) -> bool:
    from v1model.cnn import CNN

    return isinstance(model, CNN)


def _whiten(model: Any) -> bool:
    """Whether the model was trained on whitened images (its ``meta``; False if unknown)."""
    meta = getattr(model, "meta", None)
    return bool(meta.get("data", {}).get("whiten", False)) if isinstance(meta, Mapping) \
        else False


def _check_layer_name(model: Any, name: str, layer: Any) -> str:
    if not isinstance(layer, str) or layer not in tuple(model.layers):
        raise ValueError(f"{name} must be one of the model's layers {tuple(model.layers)}, "
                         f"got {layer!r}")
    return layer


def _response_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """Each layer's response shape to one image (without the image axis)."""
    probe = np.zeros((1, *model.display.shape), dtype=np.float32)
    probe[0, 0, 0] = 1.0
    return {layer: tuple(np.asarray(model.responses(probe, layer)).shape[1:])
            for layer in model.layers}


def _layer_kinds(model: Any) -> dict[str, str]:
    """Each layer as ``"conv"``, ``"pool"``, ``"dense"`` or ``"other"``.

    A :class:`v1model.cnn.CNN` says what each stage is.  For any other model the
    kinds follow from the layers' order and response shapes (a documented heuristic):
    a retinotopic layer ``(channels, rows, cols)`` is a *pool* when it follows a
    retinotopic layer with the same number of channels on a map at least twice as
    coarse (pooling keeps the channels and subsamples the map), else a *conv*; a
    ``(units,)`` layer is *dense*.
    """
    if _is_cnn(model):
        return _stage_kinds(model)
    shapes = _response_shapes(model)
    kinds: dict[str, str] = {}
    previous = None
    for layer in model.layers:
        shape = shapes[layer]
        if len(shape) == 3:
            pooled = (previous is not None and len(previous) == 3 and previous[0] == shape[0]
                      and previous[1] >= 2 * shape[1])
            kinds[layer] = "pool" if pooled else "conv"
        elif len(shape) == 1:
            kinds[layer] = "dense"
        else:
            kinds[layer] = "other"
        previous = shape
    return kinds


def _first_layer(model: Any, first_layer: str | None) -> str:
    """``first_layer`` (checked) or the model's first convolution-like layer."""
    if first_layer is not None:
        return _check_layer_name(model, "first_layer", first_layer)
    kinds = _layer_kinds(model)
    for name in model.layers:
        if kinds[name] == "conv":
            return name
    raise ValueError(f"the model has no retinotopic (convolution-like) layer: {model.layers}; "
                     f"pass first_layer=")


def _model_pool_pairs(model: Any, pool_pairs: Any) -> list[tuple[str, str]]:
    """``pool_pairs`` (checked) or each (conv, pool) pair found by :func:`_layer_kinds`."""
    if pool_pairs is None:
        kinds = _layer_kinds(model)
        names = list(model.layers)
        return [(names[i - 1], name) for i, name in enumerate(names)
                if i > 0 and kinds[name] == "pool" and kinds[names[i - 1]] == "conv"]
    pairs = []
    for pair in pool_pairs:
        if isinstance(pair, str) or len(tuple(pair)) != 2:
            raise ValueError(f"pool_pairs must hold (conv layer, pool layer) pairs, got "
                             f"{pair!r}")
        conv, pool = tuple(pair)
        pairs.append((_check_layer_name(model, "pool_pairs", conv),
                      _check_layer_name(model, "pool_pairs", pool)))
    return pairs


def _deepest_layer(model: Any, layer: str | None) -> str:
    """``layer`` (checked) or the deepest hidden layer: the CNN's last before its output,
    any other model's last layer."""
    if layer is not None:
        return _check_layer_name(model, "layer", layer)
    if _is_cnn(model):
        return _last_hidden(model)
    return tuple(model.layers)[-1]


def _first_layer_kernels(model: Any, layer: str, *, n_images: int, seed: int
                         ) -> tuple[np.ndarray | None, str]:
    """The first layer's spatial kernels ``(channels, k, k)`` and how they were obtained.

    The model's own ``filters(layer)`` (averaged over input channels) when it has them;
    otherwise each channel's spike-triggered average at the map position nearest the
    display centre, to ``n_images`` Gaussian white-noise images, in a square window of
    the channels' median ``rf_size`` (the whole display if unknown) — for a
    linear-rectified unit the STA is proportional to its kernel (Chichilnisky 2001).
    ``(None, reason)`` if neither is possible (e.g. a layer silent to noise).
    """
    filters = getattr(model, "filters", None)
    if callable(filters):
        try:
            k = np.asarray(filters(layer), dtype=np.float64)
        except (ValueError, TypeError):
            k = None
        if k is not None and k.ndim in (3, 4):
            return (k.mean(axis=1) if k.ndim == 4 else k), "the model's filters()"
    display = model.display
    rows, cols = display.shape
    ppd = float(display.pixels_per_degree)
    gen = np.random.default_rng(seed)
    sums, total = None, None
    for start in range(0, n_images, 500):
        noise = gen.standard_normal((min(500, n_images - start), rows, cols)).astype(np.float32)
        resp = np.asarray(model.responses(noise, layer), dtype=np.float64)
        if resp.ndim == 4:
            try:
                x, y = model.map_coordinates(layer)
                r, c = int(np.argmin(np.abs(y))), int(np.argmin(np.abs(x)))
            except (AttributeError, ValueError):
                r, c = resp.shape[2] // 2, resp.shape[3] // 2
            resp = resp[:, :, r, c]
        elif resp.ndim != 2:
            return None, f"no kernels: responses of {layer!r} have shape {resp.shape[1:]}"
        resp = np.maximum(resp, 0.0)
        part = resp.T @ noise.reshape(len(noise), -1).astype(np.float64)
        sums = part if sums is None else sums + part
        total = resp.sum(axis=0) if total is None else total + resp.sum(axis=0)
    silent = np.flatnonzero(total <= 0)
    if silent.size:
        return None, (f"no kernels: channel(s) {silent[:5].tolist()} of {layer!r} never "
                      f"respond to white noise")
    sta = (sums / total[:, None]).reshape(-1, rows, cols)
    info = model.unit_info(layer)
    side_px = min(rows, cols)
    if "rf_size" in info:
        side_px = int(np.clip(round(float(np.median(info["rf_size"])) * ppd), 5, side_px))
    side_px -= 1 - side_px % 2                       # odd, centred
    r0, c0 = (rows - side_px) // 2, (cols - side_px) // 2
    return (sta[:, r0:r0 + side_px, c0:c0 + side_px],
            f"spike-triggered averages ({n_images} noise images)")


# ----------------------------------------------------------------------------- uncertainty


def _interval(samples: np.ndarray, value: float, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap ``samples``, widened to contain ``value``."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0 or not np.isfinite(value):
        return (float("nan"), float("nan"))
    tail = 50.0 * (1.0 - level)
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return (float(min(low, value)), float(max(high, value)))


def _check_interval(interval: tuple[float, float]) -> tuple[float, float] | None:
    """``interval`` when finite (for :class:`Check`), else None."""
    return interval if np.all(np.isfinite(interval)) else None


def _bootstrap_median(values: np.ndarray, *, n_boot: int, gen: np.random.Generator
                      ) -> tuple[float, tuple[float, float]]:
    """Median of ``values`` and its bootstrap interval (resampling values)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), (float("nan"), float("nan"))
    med = float(np.median(values))
    idx = gen.integers(0, values.size, size=(n_boot, values.size))
    return med, _interval(np.median(values[idx], axis=1), med)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching rows (NaN where either row is constant)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=1) / np.where(denom > 0, denom, 1), np.nan)


def _correlation_matrix(x: np.ndarray) -> np.ndarray:
    """Pearson r between every pair of rows (NaN for constant rows)."""
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt((x * x).sum(axis=1))
    ok = norm > 0
    z = x / np.where(ok, norm, 1.0)[:, None]
    out = z @ z.T
    out[~ok] = np.nan
    out[:, ~ok] = np.nan
    return out


def _tolerance_samples(model: Any, readouts: Mapping[str, tuple[str, Any]], images: np.ndarray,
                       transform: str, amounts: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Per-image tolerance data of several read-outs of one model, from shared responses.

    ``readouts`` maps a label to ``(layer, post)``: the read-out is ``post`` applied to
    ``model.responses(images, layer)`` (``post`` None: the responses themselves), so a
    layer's maps run once and feed several read-outs (e.g. a convolution's full map and
    the same map on a coarser grid).  Per read-out: ``r`` ``(n_images, n_amounts)``,
    the Pearson r over units between responses to transformed and original images
    (NaN where undefined), and ``between`` ``(n_images, n_images)``, r between the
    responses to different original images.
    """
    from analysis.invariance import transform_images

    layers = sorted({layer for layer, _ in readouts.values()})
    moved = [images] + [transform_images(images, model.display, transform, float(a))
                        for a in amounts]
    raw = {layer: [np.asarray(model.responses(x, layer), dtype=np.float64) for x in moved]
           for layer in layers}
    out = {}
    n = len(images)
    for label, (layer, post) in readouts.items():
        resp = [(post(x) if post is not None else x).reshape(n, -1) for x in raw[layer]]
        r = np.stack([_pearson_rows(resp[0], y) for y in resp[1:]], axis=1)
        out[label] = {"r": r, "between": _correlation_matrix(resp[0])}
    return out


def _tolerance_value(sample: Mapping[str, np.ndarray], amounts: np.ndarray,
                     idx: np.ndarray | None = None) -> float:
    """Tolerance index (see :func:`_tolerance_index`) of the images ``idx`` (all if None).

    Mean over non-zero amounts of ``(r̄ − b) / (1 − b)``, ``r̄`` the mean over images and
    ``b`` the mean correlation between different images among them.
    """
    r, between = sample["r"], sample["between"]
    if idx is None:
        idx = np.arange(len(r))
    moved = ~np.isclose(np.asarray(amounts, dtype=np.float64), 0.0)
    rr = r[idx][:, moved]
    pairs = between[np.ix_(idx, idx)]
    distinct = idx[:, None] != idx[None, :]
    b = pairs[distinct]
    if not np.any(moved) or rr.size == 0 or b.size == 0:
        return float("nan")
    b_mean = float(np.nanmean(b)) if np.any(np.isfinite(b)) else float("nan")
    if not np.isfinite(b_mean) or b_mean >= 1 or np.any(~np.isfinite(rr)):
        return float("nan")
    return float(np.mean((rr.mean(axis=0) - b_mean) / (1.0 - b_mean)))


def _defined_images(samples: Mapping[str, Mapping[str, np.ndarray]]) -> np.ndarray:
    """Indices of the images every read-out's correlations are defined for."""
    ok = None
    for s in samples.values():
        good = np.all(np.isfinite(s["r"]), axis=1) & np.isfinite(np.diag(s["between"]))
        ok = good if ok is None else ok & good
    return np.flatnonzero(ok)


def _tolerance_summary(samples: Mapping[str, Mapping[str, np.ndarray]], amounts: np.ndarray,
                       differences: Mapping[str, tuple[str, str]], *, n_boot: int,
                       gen: np.random.Generator) -> dict[str, Any]:
    """Tolerance index of each read-out and of each difference, with bootstrap intervals.

    Images are resampled with replacement (the same resample for every read-out, so a
    difference's interval is paired); only images for which every read-out is defined
    count.  ``differences`` maps a name to ``(a, b)``: index of ``a`` − index of ``b``.
    """
    keep = _defined_images(samples)
    out: dict[str, Any] = {"n_images": int(keep.size), "index": {}, "interval": {},
                           "difference": {}, "difference_interval": {}, "curve": {}}
    if keep.size < 3:
        nan2 = (float("nan"), float("nan"))
        for label in samples:
            out["index"][label], out["interval"][label] = float("nan"), nan2
            out["curve"][label] = np.full(len(amounts), np.nan)
        for name in differences:
            out["difference"][name], out["difference_interval"][name] = float("nan"), nan2
        out["note"] = f"only {keep.size} image(s) give defined correlations for every read-out"
        return out
    boots = gen.choice(keep, size=(n_boot, keep.size), replace=True)
    values = {label: _tolerance_value(s, amounts, keep) for label, s in samples.items()}
    draws = {label: np.array([_tolerance_value(s, amounts, b) for b in boots])
             for label, s in samples.items()}
    for label, s in samples.items():
        out["index"][label] = values[label]
        out["interval"][label] = _interval(draws[label], values[label])
        out["curve"][label] = s["r"][keep].mean(axis=0)
        out.setdefault("baseline", {})[label] = float(np.nanmean(
            s["between"][np.ix_(keep, keep)][~np.eye(keep.size, dtype=bool)]))
    for name, (a, b) in differences.items():
        value = values[a] - values[b]
        out["difference"][name] = value
        out["difference_interval"][name] = _interval(draws[a] - draws[b], value)
    return out
