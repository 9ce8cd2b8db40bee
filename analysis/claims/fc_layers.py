"""Claim 6: the fully connected layers matter."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from analysis.claims._common import (
    _accuracy_gate,
    _cnn_data,
    _last_hidden,
    _pretrained,
    _seed,
    _stage_kinds,
)
from analysis.claims.verdict import Check, ClaimResult, _result
from analysis.decoding import evaluate, fit_linear_classifier, wilson_interval
from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_int,
    check_range,
)


def claim_fc_layers(cnn: Any = None, *, data: Any = None, n_train: int | None = None,
                    n_components: int | None = 512,
                    l2: float | Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0),
                    rng: RngLike = 0) -> ClaimResult:
    """Claim 6: the fully connected layers add accuracy beyond a linear read-out.

    On the data the CNN was trained on (regenerated from ``cnn.meta``, or ``data``),
    an L2-regularised multinomial logistic regression
    (:func:`analysis.decoding.fit_linear_classifier`) is fit on the
    training images' responses of the last convolution
    (``conv2``: *conv features*), the last pooling (``pool2``: *pooled features*) and
    the last hidden layer (``fc``, for reference), and scored on the test images
    with 95% Wilson intervals; the full network (with its FC layers) is scored on the
    same test images.  Features are standardised on the training set and, when there
    are more than ``n_components``, projected on their first ``n_components``
    principal components (of the training set) before the fit — a linear read-out
    still, and one that L-BFGS fits in seconds rather than minutes.  The penalty is
    chosen among ``l2`` by accuracy on a validation fifth of the training images, then
    the read-out is refit on all of them.  The read-outs learn from the same training
    images as the network (all of them unless ``n_train`` says otherwise, which
    favours the network).

    Checks:

    - ``fc_gain`` (required): network accuracy − the best read-out of conv or pooled
      features ``>= 0.05``;
    - ``fc_gain_significant``: network's interval low − that read-out's interval high
      ``>= 0`` (intervals do not overlap).

    Gate: the network beats chance by 0.1.  A network no better than a linear
    read-out of its own features (gain < 0.05) does not support the claim.

    Parameters
    ----------
    cnn : v1model.cnn.CNN, optional
        Default: the shipped pretrained network.
    data : stimuli.datasets.Dataset, optional
        Train/test images for the CNN's display; default its own training data.
    n_train : int, optional
        Use only the first ``n_train`` training images for the read-outs (quick runs).
    n_components : int or None
        Principal components kept per read-out; None keeps every feature.
    l2 : float or sequence of float
        Read-out penalty, or candidates chosen by validation accuracy.
    rng : None, int or numpy.random.Generator
        Probes of the randomised principal-component analysis (the fits themselves are
        deterministic).

    Returns
    -------
    ClaimResult
        ``numbers``: per read-out (``conv``, ``pooled``, ``fc``) and ``network``: the
        layer, feature count, accuracy and interval.

    Raises
    ------
    ValueError
        If the CNN lacks a convolution or pooling stage, or an argument is out of range.
    TypeError
        If ``cnn`` is not a :class:`v1model.cnn.CNN`.
    FileNotFoundError
        If ``cnn`` is None and the pretrained weights are missing.

    Examples
    --------
    >>> claim_fc_layers(n_train=200).verdict in VERDICTS  # doctest: +SKIP
    True
    """
    start = time.perf_counter()
    penalties = [check_range("l2", v, 0.0, np.inf) for v in np.atleast_1d(l2).tolist()]
    if not penalties:
        raise ValueError("l2 must name at least one penalty")
    gen = as_rng(rng)
    seed = _seed(gen)
    if n_components is not None:
        n_components = check_int("n_components", n_components, minimum=1)
    cnn = _pretrained(cnn)
    data = _cnn_data(cnn, data)
    x_train, y_train = data.x_train, data.y_train
    if n_train is not None:
        n_train = check_int("n_train", n_train, minimum=2 * data.n_classes)
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    kinds = _stage_kinds(cnn)
    convs = [n for n in cnn.layers if kinds[n] == "conv"]
    pools = [n for n in cnn.layers if kinds[n] == "pool"]
    if not convs or not pools:
        raise ValueError(f"the CNN needs a convolution and a pooling stage, got {kinds}")
    readouts = {"conv": convs[-1], "pooled": pools[-1], "fc": _last_hidden(cnn)}
    numbers: dict[str, Any] = {"n_train": len(x_train), "n_test": len(data.x_test),
                               "n_classes": data.n_classes}
    validation = gen.permutation(len(x_train)) < len(x_train) // 5
    train_features = _stage_responses(cnn, x_train, list(readouts.values()))
    test_features = _stage_responses(cnn, data.x_test, list(readouts.values()))
    for label, layer in readouts.items():
        f_train, f_test = train_features[layer], test_features[layer]
        n_features = f_train.shape[1]
        if n_components is not None and n_features > n_components:
            f_train, f_test = _principal_components(f_train, f_test, n_components, rng=seed)
        best_l2, scores = _choose_l2(f_train, y_train, validation, penalties)
        clf = fit_linear_classifier(f_train, y_train, l2=best_l2)
        ev = evaluate(clf, f_test, data.y_test)
        numbers[label] = {"layer": layer, "n_features": int(n_features),
                          "n_components": int(f_train.shape[1]),
                          "accuracy": ev.accuracy, "ci": [ev.ci_low, ev.ci_high],
                          "l2": best_l2, "validation_accuracy": scores,
                          "converged": clf.converged, "n_iter": clf.n_iter,
                          "train_accuracy": clf.score(f_train, y_train)}
    correct = int(np.sum(cnn.predict(data.x_test) == data.y_test))
    low, high = wilson_interval(correct, len(data.y_test))
    numbers["network"] = {"layer": cnn.layers[-1], "accuracy": correct / len(data.y_test),
                          "ci": [low, high]}
    best = max(("conv", "pooled"), key=lambda k: numbers[k]["accuracy"])
    gain = numbers["network"]["accuracy"] - numbers[best]["accuracy"]
    separation = numbers["network"]["ci"][0] - numbers[best]["ci"][1]
    gates = [_accuracy_gate("network_accuracy", numbers["network"]["accuracy"], data.n_classes)]
    checks = [Check("fc_gain", f"network accuracy − linear read-out of {best} features "
                    f"({numbers[best]['layer']})", gain, 0.05),
              Check("fc_gain_significant", "network CI low − read-out CI high", separation, 0.0)]
    fig = _fc_figure(numbers, list(readouts))
    settings = {"n_train": len(x_train), "n_components": n_components, "l2": penalties,
                "readouts": readouts,
                "data": dict(getattr(data, "params", {}))}
    return _result(6, "fc_layers", checks, numbers, fig, settings, start,
                   required=("fc_gain",), gates=gates)


def _choose_l2(features: np.ndarray, labels: np.ndarray, validation: np.ndarray,
               penalties: Sequence[float]) -> tuple[float, dict[str, float]]:
    """The penalty with the best accuracy on the ``validation`` rows (fit on the others)."""
    if len(penalties) == 1:
        return float(penalties[0]), {}
    scores = {}
    for value in penalties:
        clf = fit_linear_classifier(features[~validation], labels[~validation], l2=value)
        scores[f"{value:g}"] = clf.score(features[validation], labels[validation])
    best = max(penalties, key=lambda v: scores[f"{v:g}"])
    return float(best), scores


def _stage_responses(cnn: Any, images: np.ndarray, layers: Sequence[str], *,
                     batch_size: int = 256) -> dict[str, np.ndarray]:
    """Flattened responses ``(n, features)`` of several stages from one pass through the net.

    Equal to ``cnn.responses(images, layer)`` for each layer (checked on the first
    batch), without running the early stages once per layer.
    """
    wanted = set(layers)
    last = max(cnn.layers.index(name) for name in wanted)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in wanted}
    for start in range(0, len(images), batch_size):
        batch = np.asarray(images[start:start + batch_size])
        x = batch.reshape((len(batch), *cnn.network.input_shape)).astype(cnn.network.dtype)
        for name, stage in cnn.network.stages[:last + 1]:
            for layer in stage:
                x = layer.forward(x)
            if name in wanted:
                parts[name].append(x.reshape(len(x), -1))
        if start == 0:
            for name in wanted:
                ref = cnn.responses(images[:2], name).reshape(2, -1)
                if not np.allclose(parts[name][0][:2], ref, rtol=1e-4, atol=1e-5):
                    raise RuntimeError(f"one-pass responses of {name!r} differ from "
                                       f"cnn.responses")
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def _principal_components(train: np.ndarray, test: np.ndarray, k: int, *,
                          rng: RngLike = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standardise on ``train`` and project both sets on its first ``k`` principal components.

    Exact (a thin SVD) when the smaller side of the training matrix is at most ``2 k``;
    otherwise the randomised range finder of Halko, Martinsson & Tropp (2011, SIAM Rev
    53:217) with ``k + 10`` probes and two power iterations, which finds the leading
    components of large feature matrices in a fraction of the time.  Components of
    (numerically) zero variance are dropped.
    """
    train = np.asarray(train)
    n, d = train.shape
    exact = min(n, d) <= 2 * k
    # the randomised branch works in float32 throughout (standardising a large float32
    # matrix in float64 alone took longer than the whole range finder)
    dtype = np.float64 if exact else np.float32
    mean = train.mean(axis=0, dtype=np.float64)
    scale = train.std(axis=0, dtype=np.float64)
    scale = np.where(scale > 0, scale, 1.0)
    z = (train.astype(dtype, copy=False) - mean.astype(dtype)) / scale.astype(dtype)
    if exact:
        _, sv, vt = np.linalg.svd(z, full_matrices=False)
    else:               # float32 products: the subspace, not the digits, matters here
        from scipy.linalg import qr

        y = z @ as_rng(rng).standard_normal((d, k + 10), dtype=np.float32)
        for _ in range(2):
            q = qr(y.astype(np.float64), mode="economic")[0].astype(np.float32)
            y = z @ (z.T @ q)
        q = qr(y.astype(np.float64), mode="economic")[0].astype(np.float32)
        _, sv, vt = np.linalg.svd((q.T @ z).astype(np.float64), full_matrices=False)
    keep = np.flatnonzero(sv[:k] > 1e-6 * max(sv[0], 1e-300))
    components = vt[keep].T.astype(dtype)                             # (d, k), orthonormal
    test_z = ((np.asarray(test).astype(dtype, copy=False) - mean.astype(dtype))
              / scale.astype(dtype))
    return (z @ components).astype(np.float64), (test_z @ components).astype(np.float64)


def _fc_figure(numbers: dict, labels: list[str]) -> Figure:
    fig = plt.figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    names = [*labels, "network"]
    acc = [numbers[k]["accuracy"] for k in names]
    err = np.array([[numbers[k]["accuracy"] - numbers[k]["ci"][0],
                     numbers[k]["ci"][1] - numbers[k]["accuracy"]] for k in names]).T
    colors = ["C0"] * len(labels) + ["C3"]
    ax.bar(range(len(names)), acc, yerr=err, color=colors, capsize=4)
    ticks = [f"linear on {numbers[k]['layer']}\n({numbers[k]['n_features']} features, "
             f"{numbers[k]['n_components']} PCs)" for k in labels]
    ticks.append(f"network\n(with FC, {numbers['network']['layer']})")
    ax.set_xticks(range(len(names)), ticks, fontsize=8)
    ax.axhline(1 / numbers["n_classes"], color="0.6", linestyle=":", label="chance")
    ax.set_ylabel("test accuracy (95% Wilson CI)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return fig
