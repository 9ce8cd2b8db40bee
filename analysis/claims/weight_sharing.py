"""Claim 5: locality and weight sharing cut parameters."""

from __future__ import annotations

import time
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from analysis.claims._common import (
    _accuracy_gate,
    _architecture,
    _display_for,
    _downsampled,
    _seed,
    _train_network,
    _training_arguments,
)
from analysis.claims.verdict import Check, ClaimResult, _result
from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_int,
    check_range,
)


def claim_weight_sharing(*, n_per_class: int = 200, epochs: int = 8, downsample: int = 1,
                         cnn_widths: Sequence[Sequence[int]] = ((8, 16, 16), (16, 32, 32),
                                                                (16, 32, 64)),
                         mlp_widths: Sequence[Sequence[int]] = ((64,), (256,), (1024,)),
                         fractions: Sequence[float] = (0.25, 0.5, 1.0), rng: RngLike = 0,
                         progress: bool = False) -> ClaimResult:
    """Claim 5: a CNN matches an MLP with fewer parameters and fewer training images.

    CNNs of the default architecture (widths ``(conv1_channels, conv2_channels,
    fc_units)`` in ``cnn_widths``) and one-hidden-layer MLPs
    (:func:`v1model.mlp.mlp_spec`, hidden widths ``mlp_widths``) are trained alike
    (the shipped network's optimiser, ``epochs`` epochs, one seed) on the default
    training data (natural-image patches and shapes, 11 classes, ``n_per_class`` per
    class) and scored on its held-out test set — the grid of
    ``benchmarks/cnn_vs_mlp.py``.  Then the middle CNN and the largest MLP are
    trained on each fraction of the training set in ``fractions``, for
    ``round(epochs / fraction)`` epochs so that every run takes the same number of
    gradient steps (a smaller set is not also a shorter training).

    Checks:

    - ``parameter_efficiency``: parameters of the most accurate MLP / those of the
      smallest CNN at least as accurate (within 0.01) ``>= 2`` (0 if no CNN is);
    - ``data_efficiency``: CNN − MLP accuracy at the smallest fraction ``>= 0.05``.

    Gate: the most accurate network beats chance by 0.1.  Verdict by
    :func:`verdict_from_checks`: both → supported, one → partly, none → not supported.

    Parameters
    ----------
    n_per_class, epochs : int
        Images per class (a quarter held out) and training epochs.
    downsample : int
        Average the images over ``downsample²`` pixel blocks (quick runs).
    cnn_widths : sequence of (int, int, int)
        CNN widths, at least one.
    mlp_widths : sequence of sequence of int
        Hidden-layer widths of each MLP, at least one.
    fractions : sequence of float
        Fractions of the training set in (0, 1].
    rng : None, int or numpy.random.Generator
        Data, initial weights, training order.
    progress : bool
        Progress bars while training.

    Returns
    -------
    ClaimResult
        ``numbers``: ``runs`` (one record per trained network: ``model``, ``kind``,
        ``parameters``, ``n_train``, ``test_accuracy``, ``ci``, ``seconds``).

    Raises
    ------
    ValueError
        If a width list is empty or a fraction is outside (0, 1].

    Examples
    --------
    >>> claim_weight_sharing(n_per_class=8, epochs=1).verdict in VERDICTS  # doctest: +SKIP
    True
    """
    start = time.perf_counter()
    n_per_class, epochs, downsample = _training_arguments(n_per_class, epochs, downsample)
    cnn_widths = [tuple(check_int("cnn_widths", w, minimum=1) for w in ws) for ws in cnn_widths]
    mlp_widths = [tuple(check_int("mlp_widths", w, minimum=1) for w in ws) for ws in mlp_widths]
    if not cnn_widths or not mlp_widths or any(len(w) != 3 for w in cnn_widths):
        raise ValueError("cnn_widths must list (conv1, conv2, fc) triples and mlp_widths at "
                         "least one hidden-layer tuple")
    fractions = sorted({check_range("fractions", f, 0.0, 1.0, closed="right")
                        for f in fractions} | {1.0})
    gen = as_rng(rng)
    from v1model.cnn import default_cnn_spec, default_training_data
    from v1model.mlp import mlp_spec

    data = _downsampled(default_training_data(_seed(gen), n_per_class=n_per_class), downsample)
    display = _display_for(data, 16.0 / downsample)
    size = data.x_train.shape[1]
    seed = _seed(gen)

    def spec_of(kind: str, widths: tuple[int, ...]) -> dict:
        if kind == "cnn":
            c1, c2, fc = widths
            return default_cnn_spec(data.n_classes, input_size=size,
                                    **_architecture({"conv1_channels": c1, "conv2_channels": c2,
                                                     "fc_units": fc}, size))
        return mlp_spec(data.n_classes, input_size=size, hidden=widths)

    runs = []

    def run(kind: str, widths: tuple[int, ...], fraction: float) -> None:
        n_train = max(data.n_classes, int(round(fraction * len(data.x_train))))
        steps = max(1, int(round(epochs / fraction)))
        _, record = _train_network(spec_of(kind, widths), data, display=display, epochs=steps,
                                   seed=seed, n_train=n_train, progress=progress)
        record["epochs"] = steps
        runs.append({"model": f"{kind}-{'-'.join(map(str, widths))}", "kind": kind,
                     "fraction": fraction, **record})

    for widths in cnn_widths:
        run("cnn", widths, 1.0)
    for widths in mlp_widths:
        run("mlp", widths, 1.0)
    full_cnn = [r for r in runs if r["kind"] == "cnn"]
    full_mlp = [r for r in runs if r["kind"] == "mlp"]
    cnn_mid = cnn_widths[int(np.argsort([r["parameters"] for r in full_cnn])[len(full_cnn) // 2])]
    mlp_big = mlp_widths[int(np.argmax([r["parameters"] for r in full_mlp]))]
    for fraction in fractions[:-1]:
        run("cnn", cnn_mid, fraction)
        run("mlp", mlp_big, fraction)

    best_mlp = max(full_mlp, key=lambda r: r["test_accuracy"])
    matching = [r for r in full_cnn if r["test_accuracy"] >= best_mlp["test_accuracy"] - 0.01]
    efficiency = (best_mlp["parameters"] / min(r["parameters"] for r in matching)
                  if matching else 0.0)
    low = fractions[0]
    cnn_name = f"cnn-{'-'.join(map(str, cnn_mid))}"
    mlp_name = f"mlp-{'-'.join(map(str, mlp_big))}"
    acc_at = {r["model"]: r["test_accuracy"] for r in runs if r["fraction"] == low}
    gap = acc_at[cnn_name] - acc_at[mlp_name]
    best = max(r["test_accuracy"] for r in runs)
    gates = [_accuracy_gate("best_accuracy", best, data.n_classes)]
    checks = [Check("parameter_efficiency",
                    f"parameters of the best MLP ({best_mlp['model']}) / smallest CNN as "
                    f"accurate", efficiency, 2.0),
              Check("data_efficiency", f"accuracy {cnn_name} − {mlp_name} with "
                    f"{low:.0%} of the training set", gap, 0.05)]
    numbers = {"runs": runs, "best_mlp": best_mlp["model"],
               "matching_cnns": [r["model"] for r in matching], "n_classes": data.n_classes,
               "n_train": len(data.x_train), "n_test": len(data.x_test),
               "data_curve_models": [cnn_name, mlp_name]}
    fig = _weight_sharing_figure(runs, fractions, cnn_name, mlp_name, data.n_classes)
    settings = {"n_per_class": n_per_class, "epochs": epochs, "downsample": downsample,
                "cnn_widths": cnn_widths, "mlp_widths": mlp_widths, "fractions": fractions}
    return _result(5, "weight_sharing", checks, numbers, fig, settings, start, gates=gates)


def _weight_sharing_figure(runs, fractions, cnn_name, mlp_name, n_classes) -> Figure:
    fig = plt.figure(figsize=(10, 4), layout="constrained")
    ax_p, ax_n = fig.subplots(1, 2)
    for i, kind in enumerate(("cnn", "mlp")):
        rows = sorted((r for r in runs if r["kind"] == kind and r["fraction"] == 1.0),
                      key=lambda r: r["parameters"])
        x = [r["parameters"] for r in rows]
        y = [r["test_accuracy"] for r in rows]
        err = np.array([[r["test_accuracy"] - r["ci"][0], r["ci"][1] - r["test_accuracy"]]
                        for r in rows]).T
        ax_p.errorbar(x, y, yerr=err, marker="o", color=f"C{i}", label=kind.upper(), capsize=3)
        for r in rows:
            ax_p.annotate(r["model"], (r["parameters"], r["test_accuracy"]), fontsize=6)
    ax_p.set_xscale("log")
    ax_p.set_xlabel("trainable parameters")
    ax_p.set_ylabel("test accuracy (95% Wilson CI)")
    ax_p.axhline(1 / n_classes, color="0.6", linestyle=":", label="chance")
    ax_p.legend(fontsize=7)
    for i, name in enumerate((cnn_name, mlp_name)):
        rows = sorted((r for r in runs if r["model"] == name), key=lambda r: r["n_train"])
        ax_n.plot([r["n_train"] for r in rows], [r["test_accuracy"] for r in rows], marker="o",
                  color=f"C{i}", label=f"{name} ({rows[0]['parameters']} params)")
    ax_n.set_xlabel("training images")
    ax_n.set_ylabel("test accuracy")
    ax_n.axhline(1 / n_classes, color="0.6", linestyle=":")
    ax_n.legend(fontsize=7)
    return fig
