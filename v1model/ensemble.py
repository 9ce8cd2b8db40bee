"""An ensemble of trained CNNs: two architectures × several training seeds, shipped.

A statement about "CNNs" measured on one network is an anecdote.  This module
defines the architectures of the shipped ensemble (:data:`ARCHITECTURES`), trains
any member deterministically (:func:`train_cnn`, bit-for-bit identical weights
on rerun), regenerates a member's data from its record (:func:`ensemble_data`)
and lists or loads the shipped members (:func:`ensemble_members`,
:func:`load_ensemble`).

``small``
    The default network of :mod:`v1model.cnn` (two conv–pool stages, 16 conv1
    kernels, 32 × 32 px at 16 px/deg) on natural patches and shapes.
``wide``
    A 64 × 64 px display at 16 px/deg (4° × 4°), 32 conv1 kernels of 9 px (the
    same angular size as the small net's) applied with stride 2, three
    conv–pool stages down to 4 × 4 before a small dense layer, trained on
    natural patches, shapes and faces with augmentation (random shifts,
    horizontal flips and contrast jitter drawn afresh each epoch).

Each member is saved as ``v1model/data/ensemble/{arch}_seed{S}.npz`` with a JSON
record beside it (architecture, data, training settings, per-epoch curves,
test accuracy with its 95% Wilson interval, training time, the command that
reproduces it).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from stimuli._shared.io import atomic_open
from stimuli._shared.validation import check_bool, check_int, check_mapping
from stimuli.display import Display
from v1model.cnn import (
    CNN,
    DEFAULT_DISPLAY,
    DEFAULT_TRAINING,
    Network,
    default_cnn_spec,
    default_training_data,
    train,
)
from v1model.layers import Adam

__all__ = [
    "ARCHITECTURES",
    "ENSEMBLE_DIR",
    "ENSEMBLE_SEEDS",
    "ensemble_data",
    "ensemble_members",
    "load_ensemble",
    "member_path",
    "train_cnn",
]

#: Folder of the shipped members' ``.npz``/``.json`` files.
ENSEMBLE_DIR = os.path.join(os.path.dirname(__file__), "data", "ensemble")

#: Training seeds shipped for every architecture.
ENSEMBLE_SEEDS = (0, 1, 2, 3, 4)

#: Largest accepted training seed (the CLI's limit too).
_MAX_SEED = 2**32 - 1


def _wide_spec(n_classes: int) -> dict:
    """Three conv–pool stages on 64 × 64 px: conv1 32 × 9 px stride 2 → 32², pool → 16²,
    conv2 48 × 3 px → pool → 8², conv3 64 × 3 px → pool → 4², fc 64, logits."""
    def conv(c_in, c_out, k, stride=1):
        return {"type": "conv2d", "in_channels": c_in, "out_channels": c_out,
                "kernel_size": k, "stride": stride, "padding": (k - 1) // 2}

    pool = {"type": "maxpool2d", "kernel_size": 2, "stride": 2}
    relu = {"type": "relu"}
    return {"input_shape": [1, 64, 64], "stages": [
        {"name": "conv1", "layers": [conv(1, 32, 9, stride=2), relu]},
        {"name": "pool1", "layers": [pool]},
        {"name": "conv2", "layers": [conv(32, 48, 3), relu]},
        {"name": "pool2", "layers": [pool]},
        {"name": "conv3", "layers": [conv(48, 64, 3), relu]},
        {"name": "pool3", "layers": [pool]},
        {"name": "fc", "layers": [{"type": "flatten"},
                                  {"type": "dense", "in_features": 64 * 4 * 4,
                                   "out_features": 64},
                                  relu, {"type": "dropout", "p": 0.25}]},
        {"name": "logits", "layers": [{"type": "dense", "in_features": 64,
                                       "out_features": n_classes}]},
    ]}


#: The ensemble's architectures: display, network, data and training recipe of each.
#:
#: ``display``: ``shape`` (rows, cols) in pixels and ``pixels_per_degree``.
#: ``spec``: the :meth:`v1model.cnn.Network.from_spec` architecture.
#: ``data``: the dataset (``kind``) and its parameters (images per class, whitened
#: natural patches).  ``training``: Adam's learning rate (multiplied by ``lr_decay``
#: after each epoch) and L2 ``weight_decay``, ``epochs``, ``batch_size``,
#: ``conv1_init_scale`` (the He-initialised conv1 kernels are multiplied by it so
#: that what is learned dominates the small first-layer kernels) and ``augment``
#: (None, or the per-epoch augmentation: ``max_shift`` pixels, ``flip``
#: probability, ``contrast`` range of a multiplicative gain).
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "small": {
        "description": "the default network of v1model.cnn: 2 conv-pool stages, 16 conv1 "
                       "kernels of 9 px, fc 64; natural patches + shapes (11 classes)",
        "display": {"shape": list(DEFAULT_DISPLAY.shape),
                    "pixels_per_degree": DEFAULT_DISPLAY.pixels_per_degree},
        "spec": default_cnn_spec(11),
        "data": {"kind": "patches+shapes", "n_per_class": DEFAULT_TRAINING["n_per_class"],
                 "whiten": DEFAULT_TRAINING["whiten"]},
        "training": {k: v for k, v in DEFAULT_TRAINING.items()
                     if k not in ("n_per_class", "whiten")} | {"augment": None},
    },
    "wide": {
        "description": "64 x 64 px (4 deg), 3 conv-pool stages (32 conv1 kernels of 9 px, "
                       "stride 2; 48; 64 channels) down to 4 x 4, fc 64; natural patches + "
                       "shapes + faces (13 classes), shifted, flipped and contrast-jittered "
                       "afresh each epoch",
        "display": {"shape": [64, 64], "pixels_per_degree": 16.0},
        "spec": _wide_spec(13),
        "data": {"kind": "patches+shapes+faces", "n_per_class": 320, "whiten": True},
        "training": {"epochs": 10, "batch_size": 64, "lr": 2e-3, "lr_decay": 0.85,
                     "weight_decay": 2e-3, "conv1_init_scale": 0.1,
                     "augment": {"max_shift": 6, "flip": 0.5, "contrast": [0.6, 1.0]}},
    },
}

#: Class-name prefix → the group named in ``meta["test_accuracy_<group>"]``.
_GROUPS = {"patch": "patches", "shape": "shapes", "face": "faces"}

#: Settings :func:`train_cnn` accepts as overrides (data and training).
_DATA_KEYS = ("n_per_class", "whiten")
_TRAINING_KEYS = ("epochs", "batch_size", "lr", "lr_decay", "weight_decay", "conv1_init_scale")


def _check_arch(arch: Any) -> str:
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
    return arch


def _check_seed(seed: Any) -> int:
    seed = check_int("seed", seed, minimum=0)
    if seed > _MAX_SEED:
        raise ValueError(f"seed must be in [0, {_MAX_SEED}], got {seed}")
    return seed


def _display(arch: str) -> Display:
    d = ARCHITECTURES[arch]["display"]
    return Display(tuple(d["shape"]), pixels_per_degree=d["pixels_per_degree"])


def _wide_data(seed: int, *, n_per_class: int, whiten: bool):
    """Natural patches (5 classes), shapes (6) and faces vs non-faces (2) at 64 × 64 px.

    One generator seeded with ``seed`` draws the patches, then the shapes, then the
    faces' train/test split.  Faces come from 200 crops of 25 × 25 px resized to 64 ×
    64 (75 train + 25 test per class whatever ``n_per_class``).
    """
    from stimuli.datasets import Dataset, faces_dataset, natural_patches_dataset, shapes_dataset

    rng = np.random.default_rng(seed)
    size = ARCHITECTURES["wide"]["display"]["shape"][0]
    patches = natural_patches_dataset(n_per_class, size=size, rng=rng, whiten=whiten)
    shapes = shapes_dataset(n_per_class, size=size, rng=rng)
    faces = faces_dataset(size=size, rng=rng)
    parts = [("patch", patches), ("shape", shapes), ("face", faces)]
    names, offset, xs, ys = [], 0, {"train": [], "test": []}, {"train": [], "test": []}
    for prefix, ds in parts:
        names += [f"{prefix}:{c}" for c in ds.class_names]
        for split in ("train", "test"):
            xs[split].append(getattr(ds, f"x_{split}"))
            ys[split].append(getattr(ds, f"y_{split}") + offset)
        offset += ds.n_classes
    return Dataset(x_train=np.concatenate(xs["train"]), y_train=np.concatenate(ys["train"]),
                   x_test=np.concatenate(xs["test"]), y_test=np.concatenate(ys["test"]),
                   class_names=tuple(names), name="patches+shapes+faces",
                   params={"seed": seed, "n_per_class": n_per_class, "whiten": whiten})


def _data(arch: str, seed: int, *, n_per_class: int, whiten: bool):
    if ARCHITECTURES[arch]["data"]["kind"] == "patches+shapes":
        return default_training_data(seed, n_per_class=n_per_class, whiten=whiten)
    return _wide_data(seed, n_per_class=n_per_class, whiten=whiten)


def ensemble_data(meta_or_model: Any):
    """Regenerate the train/test data of a member from its record.

    Parameters
    ----------
    meta_or_model : CNN or dict
        A trained member (its ``meta``) or the ``meta`` dict itself (also the JSON
        record beside a shipped file).  It must hold ``data`` with ``seed`` (and
        optionally ``n_per_class``, ``whiten``); ``arch`` defaults to ``"small"``
        (networks trained by :func:`v1model.cnn.train_default_cnn` before the
        ensemble existed).

    Returns
    -------
    stimuli.datasets.Dataset
        The un-augmented dataset the member was trained and tested on.

    Raises
    ------
    ValueError
        If the record has no data seed or names an unknown architecture.
    TypeError
        If ``meta_or_model`` is neither a CNN nor a dict.

    Examples
    --------
    >>> ds = ensemble_data({"arch": "wide", "data": {"seed": 0, "n_per_class": 8}})
    >>> ds.n_classes, ds.x_train.shape[1:], ds.name
    (13, (64, 64), 'patches+shapes+faces')
    """
    meta = meta_or_model.meta if isinstance(meta_or_model, CNN) else meta_or_model
    meta = check_mapping("meta_or_model", meta)
    arch = _check_arch(meta.get("arch", "small"))
    params = dict(meta.get("data") or {})
    if "seed" not in params:
        raise ValueError("meta_or_model does not record its training data (no data.seed); "
                         "pass the data explicitly")
    defaults = ARCHITECTURES[arch]["data"]
    return _data(arch, _check_seed(params["seed"]),
                 n_per_class=check_int("n_per_class",
                                       params.get("n_per_class", defaults["n_per_class"]),
                                       minimum=4),
                 whiten=check_bool("whiten", params.get("whiten", defaults["whiten"])))


def _augment(images: np.ndarray, rng: np.random.Generator, *, max_shift: int, flip: float,
             contrast: tuple[float, float]) -> np.ndarray:
    """Each image shifted by up to ``max_shift`` px (mean grey fills in), mirrored left–right
    with probability ``flip`` and multiplied by a gain uniform in ``contrast``."""
    n, rows, cols = images.shape
    m = max_shift
    padded = np.zeros((n, rows + 2 * m, cols + 2 * m), dtype=images.dtype)
    padded[:, m:m + rows, m:m + cols] = images
    dr, dc = rng.integers(0, 2 * m + 1, size=(2, n))
    r = dr[:, None] + np.arange(rows)[None]
    c = dc[:, None] + np.arange(cols)[None]
    out = padded[np.arange(n)[:, None, None], r[:, :, None], c[:, None, :]]
    mirror = rng.random(n) < flip
    out[mirror] = out[mirror, :, ::-1]
    gain = rng.uniform(contrast[0], contrast[1], size=n).astype(images.dtype)
    return out * gain[:, None, None]


def _balanced(labels: np.ndarray) -> np.ndarray:
    """Indices that repeat the images of under-represented classes up to the largest count
    (whole repeats, then the first images again), so each class weighs alike."""
    counts = np.bincount(labels)
    target = counts.max()
    index = []
    for k in range(len(counts)):
        own = np.flatnonzero(labels == k)
        index.append(np.resize(own, target))
    return np.concatenate(index)


def _wilson(correct: int, total: int) -> list[float]:
    """95% Wilson score interval (as :func:`analysis.decoding.wilson_interval`)."""
    from scipy.stats import binomtest

    ci = binomtest(int(correct), int(total)).proportion_ci(0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def member_path(arch: str, seed: int, folder: str | os.PathLike | None = None) -> str:
    """Path of member ``arch``/``seed``: ``{folder}/{arch}_seed{seed}.npz``.

    Parameters
    ----------
    arch : str
        A key of :data:`ARCHITECTURES`.
    seed : int
        Training seed, >= 0.
    folder : str, optional
        Default :data:`ENSEMBLE_DIR` (the shipped files).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``arch`` is unknown or ``seed`` negative.

    Examples
    --------
    >>> os.path.basename(member_path("wide", 3))
    'wide_seed3.npz'
    """
    arch = _check_arch(arch)
    seed = _check_seed(seed)
    folder = ENSEMBLE_DIR if folder is None else os.fspath(folder)
    return os.path.join(folder, f"{arch}_seed{seed}.npz")


def train_cnn(arch: str, seed: int, *, path: str | os.PathLike | None = None,
              progress: bool = True, **overrides: Any) -> CNN:
    """Train one member of the ensemble: architecture ``arch`` from training seed ``seed``.

    Deterministic: one generator (seeded ``seed``) draws the data, another
    (``[seed, 1]``) the initial weights, the batch order and the dropout masks, and a
    third (``[seed, 2]``) the augmentation, so the same ``arch``, ``seed`` and
    overrides give bit-for-bit identical weights (float32, on any number of BLAS
    threads; checked by ``benchmarks/train_ensemble.py``).  ``train_cnn("small",
    seed)`` is :func:`v1model.cnn.train_default_cnn`.

    The recipe is :data:`ARCHITECTURES` ``[arch]``: Adam with L2 weight decay,
    learning rate multiplied by ``lr_decay`` after each epoch; conv1's initial
    kernels scaled by ``conv1_init_scale``.  With augmentation (``wide``) every epoch
    sees each training image once, freshly shifted, flipped and contrast-scaled, and
    classes with fewer images (faces: 75 per class) are repeated up to the others'
    count.  The test set is never augmented.

    Parameters
    ----------
    arch : str
        A key of :data:`ARCHITECTURES` (``"small"``, ``"wide"``).
    seed : int
        Training seed, 0 to 2**32 − 1.
    path : str, optional
        Save the model there (``.npz``, atomically) with its record beside it as
        ``.json``.
    progress : bool
        Show a progress bar over epochs.
    **overrides
        Data settings ``n_per_class`` (>= 4), ``whiten`` and training settings
        ``epochs``, ``batch_size``, ``lr``, ``lr_decay``, ``weight_decay``,
        ``conv1_init_scale`` replacing the recipe's (for quick experiments; the
        shipped members use none).

    Returns
    -------
    CNN
        ``meta``: ``name`` (e.g. ``"wide-s3"``), ``arch``, ``seed``, ``data``,
        ``training`` (the settings used), ``curve`` (per epoch: ``loss``,
        ``train_accuracy`` — with dropout and augmentation —, ``test_accuracy``,
        ``seconds``), ``n_train``, ``n_test``, ``test_accuracy`` with its 95% Wilson
        interval ``accuracy_ci``, per-group accuracies ``test_accuracy_<group>``
        (patches, shapes, faces), ``n_parameters``, ``training_seconds``,
        ``command`` (the CLI call that reproduces it) and ``numpy`` (version).

    Raises
    ------
    ValueError
        If ``arch`` is unknown, ``seed`` out of range or an override unknown or out of
        range (the message names it and the choices).

    Examples
    --------
    >>> model = train_cnn("small", 0, n_per_class=8, epochs=1, progress=False)
    >>> model.meta["name"], model.meta["n_test"], len(model.meta["curve"]["loss"])
    ('small-s0', 22, 1)
    """
    arch = _check_arch(arch)
    seed = _check_seed(seed)
    progress = check_bool("progress", progress)
    unknown = sorted(set(overrides) - set(_DATA_KEYS) - set(_TRAINING_KEYS))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown} for train_cnn; allowed: "
                         f"{sorted(_DATA_KEYS + _TRAINING_KEYS)}")
    recipe = ARCHITECTURES[arch]
    data_params = {k: overrides.get(k, recipe["data"][k]) for k in _DATA_KEYS}
    settings = dict(recipe["training"])
    settings.update({k: overrides[k] for k in _TRAINING_KEYS if k in overrides})
    epochs = check_int("epochs", settings["epochs"], minimum=1)
    batch_size = check_int("batch_size", settings["batch_size"], minimum=1)
    start = time.perf_counter()
    data = ensemble_data({"arch": arch, "data": {"seed": seed, **data_params}})
    rng = np.random.default_rng([seed, 1])
    network = Network.from_spec(recipe["spec"], rng=rng)
    network.parameters()["conv1.0.weight"][...] *= settings["conv1_init_scale"]
    optimizer = Adam(settings["lr"], weight_decay=settings["weight_decay"])
    augment = settings.get("augment")
    x, y = data.x_train, data.y_train
    if augment:
        order = _balanced(y)
        x, y = x[order], y[order]
        aug_rng = np.random.default_rng([seed, 2])
    curve: dict[str, list[float]] = {"loss": [], "train_accuracy": [], "test_accuracy": [],
                                     "seconds": []}
    for _ in tqdm(range(epochs), desc=f"{arch}-s{seed}", unit="epoch", disable=not progress):
        x_epoch = x if not augment else _augment(
            x, aug_rng, max_shift=augment["max_shift"], flip=augment["flip"],
            contrast=tuple(augment["contrast"]))
        history = train(network, x_epoch, y, epochs=1, batch_size=batch_size,
                        optimizer=optimizer, rng=rng, validation=(data.x_test, data.y_test),
                        lr_decay=settings["lr_decay"], progress=False)
        curve["loss"].append(history["loss"][0])
        curve["train_accuracy"].append(history["accuracy"][0])
        curve["test_accuracy"].append(history["val_accuracy"][0])
        curve["seconds"].append(round(history["seconds"][0], 2))
    seconds = time.perf_counter() - start
    model = CNN(network, _display(arch), class_names=data.class_names)
    predicted = model.predict(data.x_test)
    correct = int(np.sum(predicted == data.y_test))
    groups = np.asarray([c.split(":")[0] for c in data.class_names])[data.y_test]
    command = f"v1model train-cnn --arch {arch} --seed {seed}"
    for key in ("epochs", "n_per_class"):
        if key in overrides:
            command += f" --{key.replace('_', '-')} {overrides[key]}"
    model.meta = {
        "name": f"{arch}-s{seed}",
        "arch": arch,
        "seed": seed,
        "data": dict(data.params),
        "training": {**settings, "epochs": epochs, "optimizer": repr(optimizer)},
        "overrides": {k: overrides[k] for k in sorted(overrides)},
        "curve": curve,
        "n_train": len(data.x_train), "n_test": len(data.x_test),
        "test_accuracy": correct / len(data.y_test),
        "accuracy_ci": _wilson(correct, len(data.y_test)),
        **{f"test_accuracy_{_GROUPS[g]}": float(np.mean(predicted[groups == g]
                                                        == data.y_test[groups == g]))
           for g in dict.fromkeys(groups)},
        "final_train_loss": curve["loss"][-1],
        "n_parameters": network.n_parameters,
        "training_seconds": round(seconds, 1),
        "command": command,
        "numpy": np.__version__,
    }
    if path is not None:
        save_member(model, path)
    return model


def save_member(model: CNN, path: str | os.PathLike) -> None:
    """Write a trained member to ``path`` (``.npz``) and its record to the ``.json`` beside it.

    Both atomically.  The JSON holds ``architecture`` (the network spec) and every
    entry of ``model.meta``.

    Parameters
    ----------
    model : CNN
        A network from :func:`train_cnn`.
    path : str
        Destination ending in ``.npz``.

    Raises
    ------
    ValueError
        If ``path`` does not end in ``.npz``.
    TypeError
        If ``model`` is not a CNN.

    Examples
    --------
    >>> import tempfile
    >>> model = train_cnn("small", 0, n_per_class=4, epochs=1, progress=False)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_member(model, os.path.join(folder, "small_seed0.npz"))
    ...     sorted(os.listdir(folder))
    ['small_seed0.json', 'small_seed0.npz']
    """
    if not isinstance(model, CNN):
        raise TypeError(f"model must be a v1model.cnn.CNN, got {type(model).__name__}")
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"path must end in .npz, got {path!r}")
    model.save(path)
    with atomic_open(path[:-4] + ".json") as fh:
        json.dump({"architecture": model.network.spec(), **model.meta}, fh, indent=1)


def ensemble_members(arch: str | None = None) -> list[dict[str, Any]]:
    """The shipped members, read from their JSON records (no weights are loaded).

    Parameters
    ----------
    arch : str, optional
        Only this architecture; default all, ``small`` first.

    Returns
    -------
    list of dict
        Per member, ordered by architecture then seed: ``name``, ``arch``, ``seed``,
        ``path`` (the ``.npz``), ``test_accuracy``, ``accuracy_ci`` (95% Wilson),
        ``n_parameters``.

    Raises
    ------
    ValueError
        If ``arch`` is unknown.
    FileNotFoundError
        If a member's files are missing (the package data is incomplete).

    Examples
    --------
    >>> members = ensemble_members("wide")
    >>> [m["name"] for m in members][:2], members[0]["n_parameters"] > 50_000
    (['wide-s0', 'wide-s1'], True)
    """
    archs = list(ARCHITECTURES) if arch is None else [_check_arch(arch)]
    out = []
    for name in archs:
        for seed in ENSEMBLE_SEEDS:
            path = member_path(name, seed)
            record = path[:-4] + ".json"
            if not (os.path.exists(path) and os.path.exists(record)):
                raise FileNotFoundError(
                    f"the shipped ensemble member {name}-s{seed} is missing ({path}); "
                    f"reinstall v1model or retrain it with `v1model train-cnn --arch {name} "
                    f"--seed {seed} --out {ENSEMBLE_DIR}`")
            with open(record, encoding="utf-8") as fh:
                meta = json.load(fh)
            out.append({"name": meta["name"], "arch": meta["arch"], "seed": meta["seed"],
                        "path": path, "test_accuracy": meta["test_accuracy"],
                        "accuracy_ci": meta["accuracy_ci"],
                        "n_parameters": meta["n_parameters"]})
    return out


def load_ensemble(arch: str | None = None) -> list[CNN]:
    """Load the shipped members: ``small`` first, seeds ascending.

    Parameters
    ----------
    arch : str, optional
        Only this architecture.

    Returns
    -------
    list of CNN
        Each with its training record in ``meta`` (``name``, ``arch``, ``seed``, ...).

    Raises
    ------
    ValueError
        If ``arch`` is unknown.
    FileNotFoundError
        If a member is missing.

    Examples
    --------
    >>> [m.meta["name"] for m in load_ensemble("small")]
    ['small-s0', 'small-s1', 'small-s2', 'small-s3', 'small-s4']
    """
    return [CNN.load(m["path"]) for m in ensemble_members(arch)]
