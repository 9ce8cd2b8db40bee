"""Claim 3: pooling buys translation tolerance."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from analysis.claims._common import (
    _accuracy,
    _architecture,
    _axes_off,
    _check_hmax,
    _display_for,
    _downsample,
    _downsampled,
    _pool_pairs,
    _pretrained,
    _seed,
    _stage_kinds,
    _tolerance,
    _train_network,
    _training_arguments,
    _without_pooling,
)
from analysis.claims.verdict import LEARNED_MARGIN, Check, ClaimResult, _result
from analysis.figures.representations import plot_invariance
from analysis.invariance import transform_images
from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_int,
)


def claim_pooling(cnn: Any = None, *, hmax: Any = None, n_images: int = 32,
                  n_per_class: int = 200, epochs: int = 8, downsample: int = 1,
                  architecture: Mapping[str, int] | None = None, rng: RngLike = 0,
                  progress: bool = False) -> ClaimResult:
    """Claim 3: max-pooling makes responses tolerant to small shifts.

    Translation tolerance curves (:func:`analysis.invariance.tolerance_curve`: Pearson r
    over units between responses to shifted and original images) on ``n_images`` test
    images of the default training data (natural-image patches and shapes), shifted
    rightwards by 0–6 pixels.  Each curve is summarised by its **tolerance index**:
    the mean over non-zero shifts of ``(r − b) / (1 − b)``, ``b`` the curve's
    correlation between different images (1: the shift changes nothing; 0: it
    changes the pattern as much as another image would).

    Compared: HMAX S1 → C1 (a small HMAX on the CNN's display); each convolution →
    pooling pair of the pretrained CNN (``conv1 → pool1``, ``conv2 → pool2``); and two
    networks trained alike from the same seed for ``epochs`` epochs on
    ``n_per_class`` images per class — the default architecture, and the same with
    every 2×2 max-pool folded into a stride-2 convolution (same map sizes and
    parameters, subsampling without the max; Springenberg et al. 2015).  For those the
    last map (``pool2`` vs ``conv2``) is compared, and their test accuracy on shifted
    images is reported.

    Checks (each a difference of tolerance indices):

    - ``hmax_c1``: C1 − S1 ``>= 0.05``;
    - ``cnn_<pool>``: pool − conv ``>= 0.05`` for each pair of the pretrained CNN;
    - ``trained_without_pooling``: pooled network − network without pooling
      ``>= 0.05`` (not measured if either network fails to beat chance by 0.1).

    Verdict by :func:`verdict_from_checks` (no required check, no gate).

    Parameters
    ----------
    cnn : v1model.cnn.CNN, optional
        Default: the shipped pretrained network.
    hmax : HMAX, optional
        A model on the CNN's display; default S1/C1 with Serre et al.'s first two bands.
    n_images : int
        Test images per tolerance curve.
    n_per_class, epochs : int
        Training data and epochs of the two matched networks.
    downsample : int
        Average the matched networks' images over ``downsample²`` pixel blocks (quick
        runs); their display has ``16 / downsample`` pixels per degree.
    architecture : mapping, optional
        Widths for :func:`v1model.cnn.default_cnn_spec` (``conv1_channels``,
        ``conv1_size``, ``conv2_channels``, ``fc_units``); default the shipped ones.
    rng : None, int or numpy.random.Generator
        Data, initial weights, training order.
    progress : bool
        Progress bars while training.

    Returns
    -------
    ClaimResult
        ``numbers``: ``curves`` (amounts in degrees, correlations, baselines, images
        used per layer), ``tolerance`` (indices; NaN where a curve is undefined, e.g. a
        layer silent for the images), ``matched`` (training records, accuracy vs shift).

    Raises
    ------
    ValueError
        If an argument is out of range.
    TypeError
        If ``cnn`` is not a :class:`v1model.cnn.CNN` (or ``hmax`` not an HMAX).
    FileNotFoundError
        If ``cnn`` is None and the pretrained weights are missing.

    Examples
    --------
    >>> claim_pooling(n_per_class=20, epochs=1).verdict in VERDICTS  # doctest: +SKIP
    True
    """
    start = time.perf_counter()
    n_images = check_int("n_images", n_images, minimum=2)
    n_per_class, epochs, downsample = _training_arguments(n_per_class, epochs, downsample)
    gen = as_rng(rng)
    from v1model.cnn import default_training_data

    cnn = _pretrained(cnn)
    display = cnn.display
    ppd = float(display.pixels_per_degree)
    data = default_training_data(_seed(gen), n_per_class=n_per_class)
    pick = gen.choice(len(data.x_test), size=min(n_images, len(data.x_test)), replace=False)
    images = data.x_test[np.sort(pick)]
    if images.shape[1:] != display.shape:
        raise ValueError(f"the CNN's display {display.shape} must match the training images "
                         f"{images.shape[1:]}")
    shifts_px = np.array([0.0, 1, 2, 3, 4, 6])
    amounts = shifts_px / ppd
    hmax = _pooling_hmax(hmax, display)

    curves: dict[str, Any] = {}
    tolerance: dict[str, float] = {}

    def measure(label: str, model: Any, layer: str, imgs: np.ndarray, amts: np.ndarray):
        curves[label] = _tolerance(model, layer, imgs, "translate", amts)
        tolerance[label] = curves[label]["index"]

    measure("HMAX S1", hmax, "S1", images, amounts)
    measure("HMAX C1", hmax, "C1", images, amounts)
    pairs = _pool_pairs(cnn)
    for conv, pool in pairs:
        measure(f"CNN {conv}", cnn, conv, images, amounts)
        measure(f"CNN {pool}", cnn, pool, images, amounts)
    matched = _MatchedPair(data, downsample, ppd, architecture, epochs, _seed(gen), progress)
    matched.measure(images, measure)
    checks = [Check("hmax_c1", "HMAX: tolerance index C1 − S1",
                    tolerance["HMAX C1"] - tolerance["HMAX S1"], 0.05)]
    for conv, pool in pairs:
        checks.append(Check(f"cnn_{pool}", f"CNN: tolerance index {pool} − {conv}",
                            tolerance[f"CNN {pool}"] - tolerance[f"CNN {conv}"], 0.05))
    checks.append(matched.check(tolerance))
    numbers = {"curves": curves, "tolerance": tolerance, "matched": matched.records,
               "shifts_px": shifts_px, "matched_learned": matched.learned}
    fig = _pooling_figure(curves, tolerance, matched.records)
    settings = {"n_images": n_images, "n_per_class": n_per_class, "epochs": epochs,
                "downsample": downsample, "architecture": matched.architecture,
                "matched_display": {"shape": list(matched.display.shape),
                                    "pixels_per_degree": matched.display.pixels_per_degree}}
    return _result(3, "pooling", checks, numbers, fig, settings, start)


def _pooling_hmax(hmax: Any, display: Any) -> Any:
    """``hmax`` checked to have S1 and C1 on ``display``; default Serre et al.'s first bands."""
    from v1model.hmax import HMAX

    if hmax is None:
        hmax = HMAX(display, s1={"sizes": (7, 9, 11, 13)},
                    c1={"pool_sizes": (8, 10), "pool_steps": (4, 5)})
    hmax = _check_hmax(hmax, display)
    if not {"S1", "C1"} <= set(hmax.layers):
        raise ValueError(f"hmax needs layers S1 and C1, got {hmax.layers}")
    return hmax


class _MatchedPair:
    """Two networks trained alike from one seed, with and without max-pooling.

    Built (and trained) from the claim's training data reduced ``downsample``-fold;
    :meth:`measure` records their last map's tolerance curve and their accuracy on
    shifted test images, :meth:`check` compares the two tolerance indices.
    """

    def __init__(self, data: Any, downsample: int, ppd: float,
                 architecture: Mapping[str, int] | None, epochs: int, seed: int,
                 progress: bool) -> None:
        from v1model.cnn import default_cnn_spec

        self.downsample = downsample
        self.small = _downsampled(data, downsample)
        self.display = _display_for(self.small, ppd / downsample)
        size = self.small.x_train.shape[1]
        self.architecture = _architecture(architecture, size)
        spec = default_cnn_spec(self.small.n_classes, input_size=size, **self.architecture)
        specs = {"with pooling": spec, "without pooling": _without_pooling(spec)}
        self.models: dict[str, Any] = {}
        self.records: dict[str, Any] = {}
        for label, s in specs.items():
            self.models[label], self.records[label] = _train_network(
                s, self.small, display=self.display, epochs=epochs, seed=seed,
                progress=progress)
        self.last_map: dict[str, str] = {}

    def measure(self, images: np.ndarray, measure: Any) -> None:
        """Tolerance of each network's last map (``measure``) and accuracy vs shift."""
        pair_images = _downsample(images, self.downsample)
        pair_shifts = np.arange(4.0)
        pair_amounts = pair_shifts / self.display.pixels_per_degree
        small = self.small
        for label, model in self.models.items():
            kinds = _stage_kinds(model)
            last = [n for n in model.layers if kinds[n] in ("conv", "pool")][-1]
            self.last_map[label] = last
            measure(f"{label}: {last}", model, last, pair_images, pair_amounts)
            record = self.records[label]
            record["shift_px"] = pair_shifts
            record["accuracy_vs_shift"] = [
                _accuracy(model, transform_images(small.x_test, self.display, "translate",
                                                  float(a)), small.y_test)
                for a in pair_amounts]
            record["last_map"] = last

    @property
    def learned(self) -> bool:
        """Both networks beat chance by :data:`LEARNED_MARGIN`."""
        return all(r["test_accuracy"] - 1 / self.small.n_classes >= LEARNED_MARGIN
                   for r in self.records.values())

    def check(self, tolerance: Mapping[str, float]) -> Check:
        """Tolerance index with − without pooling (NaN unless both networks learned)."""
        with_map, without_map = self.last_map["with pooling"], self.last_map["without pooling"]
        diff = (tolerance[f"with pooling: {with_map}"]
                - tolerance[f"without pooling: {without_map}"])
        return Check("trained_without_pooling",
                     f"tolerance index, trained with − without pooling "
                     f"({with_map} vs {without_map})",
                     diff if self.learned else float("nan"), 0.05)


def _pooling_figure(curves: dict, tolerance: dict, matched: dict) -> Figure:
    fig = plt.figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 4)
    groups = [("HMAX", [k for k in curves if k.startswith("HMAX")]),
              ("pretrained CNN", [k for k in curves if k.startswith("CNN")]),
              ("trained with / without pooling",
               [k for k in curves if k.startswith(("with", "without"))])]
    for ax, (title, keys) in zip(axes[:3], groups, strict=True):
        keys = [k for k in keys if np.all(np.isfinite(curves[k]["correlation"]))]
        if not keys:
            ax.text(0.5, 0.5, "no defined curve", ha="center")
            _axes_off(ax)
            continue
        amounts = curves[keys[0]]["amount"]
        plot_invariance(amounts, {f"{k} (T={tolerance[k]:.2f})": curves[k]["correlation"]
                                  for k in keys}, transform="shift", units="deg", ax=ax)
        for i, k in enumerate(keys):
            ax.axhline(curves[k]["baseline"], color=f"C{i}", linestyle=":", linewidth=0.8)
        ax.set_title(f"{title} (dotted: different images)", fontsize=9)
    ax = axes[3]
    for label, rec in matched.items():
        ax.plot(rec["shift_px"], rec["accuracy_vs_shift"], marker="o",
                label=f"{label} ({rec['parameters']} params)")
    ax.set_xlabel("shift of the test images (px)")
    ax.set_ylabel("test accuracy")
    ax.set_title("accuracy on shifted images", fontsize=9)
    ax.legend(fontsize=7)
    return fig
