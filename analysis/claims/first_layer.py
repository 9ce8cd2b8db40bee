"""Claim 2: the first layer learns V1-like edge detectors."""

from __future__ import annotations

import time
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from analysis.claims._common import (
    _axes_off,
    _bootstrap_median,
    _check_interval,
    _first_layer,
    _first_layer_kernels,
    _model,
    _montage,
    _seed,
)
from analysis.claims.verdict import Check, ClaimResult, _result
from analysis.gabor_fit import fit_gabors
from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_int,
    check_range,
)

#: The Marques et al. (2021) properties claim 2 scores: orientation bandwidth and
#: circular variance (Ringach et al. 2002), peak sf (De Valois et al. 1982b) and sf
#: bandwidth (Schiller et al. 1976).
V1_PROPERTIES = ("or_bandwidth", "circular_variance", "peak_sf", "sf_bandwidth")

#: Mean ceiled similarity a V1-like first layer must reach.
V1_LIKE = 0.72

#: Scores of the control banks by display, size and seeds (the same for every network of
#: an ensemble on one display, so an ensemble run scores them once).
_CONTROL_CACHE: dict[tuple, dict[str, Any]] = {}


class KernelBank:
    """A first layer made of given kernels, seen at the display centre: a tiny model.

    Each unit is one kernel's dot product with the central patch of the image,
    rectified (a convolution unit with a ReLU, at one position).  The claims use it
    for their V1 control populations; it is also a minimal example of the model
    interface (:class:`v1model.base.Model`).

    Parameters
    ----------
    kernels : ndarray of shape (n, k, k)
        Odd ``k`` no larger than the display.
    display : stimuli.Display
        The screen.

    Raises
    ------
    ValueError
        If the kernels are not ``(n, k, k)`` with odd ``k`` fitting the display, or hold
        NaN.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> bank = KernelBank(np.ones((2, 3, 3)), Display((8, 8), 4))
    >>> bank.responses(np.ones((1, 8, 8)), "units").shape
    (1, 2, 1, 1)
    """

    temporal = False
    layers = ("units",)

    def __init__(self, kernels: np.ndarray, display: Any) -> None:
        k = np.asarray(kernels, dtype=np.float64)
        if k.ndim != 3 or k.shape[1] != k.shape[2] or k.shape[1] % 2 == 0:
            raise ValueError(f"kernels must be (n, k, k) with odd k, got {k.shape}")
        if k.shape[1] > min(display.shape) or not np.all(np.isfinite(k)):
            raise ValueError(f"kernels must be finite and fit the display {display.shape}, "
                             f"got side {k.shape[1]}")
        self.kernels = k
        self.display = display
        rows, cols = display.shape
        side = k.shape[1]
        self._r0, self._c0 = (rows - side) // 2, (cols - side) // 2

    def responses(self, stimuli: np.ndarray, layer: str) -> np.ndarray:
        if layer not in self.layers:
            raise ValueError(f"unknown layer {layer!r}; layers are {self.layers}")
        x = np.asarray(stimuli, dtype=np.float64)
        side = self.kernels.shape[1]
        patch = x[:, self._r0:self._r0 + side, self._c0:self._c0 + side].reshape(len(x), -1)
        out = np.maximum(patch @ self.kernels.reshape(len(self.kernels), -1).T, 0.0)
        return out[:, :, None, None].astype(np.float32)

    def unit_info(self, layer: str) -> dict[str, np.ndarray]:
        n = len(self.kernels)
        side = self.kernels.shape[1] / self.display.pixels_per_degree
        return {"channel": np.arange(n), "rf_size": np.full(n, side)}

    def map_coordinates(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(1), np.zeros(1)

    def filters(self, layer: str) -> np.ndarray:
        return self.kernels[:, None].copy()


def _population_bank(n: int, source: str, display: Any, seed: int) -> KernelBank:
    """A V1 model's simple-cell filters (:func:`v1model.population.sample_population`)
    drawn at the display's resolution (sf below 0.45 × its sampling rate), cropped to
    the display."""
    from v1model.gabor import gabor_kernel
    from v1model.population import sample_population

    table = sample_population(n, source=source, rng=seed)
    ppd = float(display.pixels_per_degree)
    side = min(display.shape) - (1 - min(display.shape) % 2)
    kernels = []
    for i in range(len(table)):
        sf = float(min(table["sf"][i], 0.45 * ppd))
        scale = float(table["sf"][i]) / sf
        k = gabor_kernel(ppd, orientation=float(table["orientation"][i]), sf=sf,
                         phase=float(table["phase"][i]),
                         sigma_x=float(table["sigma_x"][i]) * scale,
                         sigma_y=float(table["sigma_y"][i]) * scale)
        kernels.append(_fit_side(k, side))
    return KernelBank(np.stack(kernels), display)


def _fit_side(kernel: np.ndarray, side: int) -> np.ndarray:
    """``kernel`` cropped (centre) or zero-padded to ``side × side`` (odd)."""
    k = kernel.shape[0]
    if k >= side:
        a = (k - side) // 2
        return kernel[a:a + side, a:a + side]
    out = np.zeros((side, side))
    a = (side - k) // 2
    out[a:a + k, a:a + k] = kernel
    return out


def _property_scores(model: Any, layer: str, *, n_boot: int, seed: int) -> dict[str, Any]:
    """Marques properties of every channel of ``layer`` at the display centre, scored.

    Orientation and sf protocols (:func:`stimuli.protocols.orientation_tuning`,
    :func:`stimuli.protocols.sf_tuning`, Marques et al.'s layouts) and a blank screen
    run through the layer (``units="centre"``: each channel at the map position nearest
    the display centre); :func:`analysis.properties.marques_properties` with
    Brain-Score's definitions and :func:`analysis.properties.score_properties` against
    the published macaque histograms.  Per property of :data:`V1_PROPERTIES`: raw
    score, bootstrap interval, ceiling, and the ceiled score and interval.
    """
    from analysis.properties import marques_properties, score_properties
    from analysis.runner import run_protocol
    from stimuli.image_protocols import blank_screen
    from stimuli.protocols import orientation_tuning, sf_tuning

    display = model.display
    recordings = {"orientation": run_protocol(model, orientation_tuning(display), layer,
                                              units="centre", progress=False),
                  "sf": run_protocol(model, sf_tuning(display), layer, units="centre",
                                     progress=False)}
    blank = run_protocol(model, blank_screen(display), layer, units="centre", progress=False)
    out: dict[str, Any] = {"n_units": int(recordings["orientation"].n_units)}
    try:
        table = marques_properties(recordings, method="brainscore", blank=blank)
    except ValueError as exc:        # e.g. a layer silent to every grating
        out["note"] = str(exc)
        table = None
    scored = score_properties(table, n_boot=n_boot, rng=seed) if table is not None else None
    rows = {} if scored is None else {scored["property"][i]: scored.row(i)
                                      for i in range(len(scored))}
    ceiled, lows, highs = [], [], []
    for name in V1_PROPERTIES:
        row = rows.get(name)
        if row is None or not np.isfinite(row["ceiled"]) or not row["ceiling"] > 0:
            out[name] = {"ceiled": None, "n_defined": None if row is None
                         else int(row["n_defined"])}
            ceiled.append(np.nan)
            continue
        c = float(row["ceiling"])
        value = float(row["ceiled"])
        low, high = float(row["ci_low"]) / c, float(row["ci_high"]) / c
        out[name] = {"raw": float(row["raw"]), "ceiling": c, "ceiled": value,
                     "ci_ceiled": [min(low, value), max(high, value)],
                     "n_defined": int(row["n_defined"]), "status": str(row["status"]),
                     "source": str(row["source"])}
        ceiled.append(value)
        lows.append(min(low, value))
        highs.append(max(high, value))
    if np.all(np.isfinite(ceiled)):
        out["mean_ceiled"] = float(np.mean(ceiled))
        # the properties' intervals averaged: exact if their errors are perfectly
        # correlated, conservative otherwise
        out["interval"] = [float(np.mean(lows)), float(np.mean(highs))]
    else:
        out["mean_ceiled"] = float("nan")
        out["interval"] = [float("nan"), float("nan")]
    return out


def claim_first_layer(cnn: Any = None, *, n_v1: int = 64, min_r2: float = 0.5,
                      n_boot: int = 500, first_layer: str | None = None, n_noise: int = 4000,
                      rng: RngLike = 0) -> ClaimResult:
    """Claim 2: every first-layer filter is Gabor-like and the population is V1-like.

    **All first-layer units, measured like V1 neurons.**  Every channel of the first
    layer (``first_layer``; default the first convolution-like layer) is recorded at
    the display centre under Marques et al.'s (2021) orientation and sf protocols and
    a blank screen; orientation bandwidth, circular variance, peak sf and sf bandwidth
    are computed with Brain-Score's definitions and scored against the published
    macaque histograms the package ships (``analysis/data/marques2021_v1.json``:
    :func:`analysis.properties.marques_properties`, :func:`analysis.properties.score_properties`,
    i.e. :func:`analysis.reference.similarity_score` with ``method="brainscore"``).
    Each score is divided by its ceiling (the reference scored against resamples of
    itself) and carries a bootstrap interval over units — wide for the 16 units of a
    small network, narrower for a wide one.

    **Gabor-likeness.**  Every kernel (the model's ``filters()``, averaged over input
    channels, or for models without them each channel's spike-triggered average to
    ``n_noise`` noise images) is fit by a 2-D Gabor (:func:`analysis.gabor_fit.fit_gabors`,
    Jones & Palmer 1987); the median R² carries a bootstrap interval over filters.

    **Controls.**  The same protocol pipeline scores two banks of ``n_v1`` Gabor
    filters at the display's resolution (:class:`KernelBank`): one sampled from the
    macaque distributions (:func:`v1model.population.sample_population`), which must
    score V1-like, and the uniform control population, reported for comparison.  The
    banks depend only on the display and the seed and are scored once per ensemble.

    Checks:

    - ``gabor_like`` (required): median Gabor-fit R² of the kernels ``>= 0.7``;
    - ``v1_like``: mean ceiled similarity of the four properties ``>= 0.72`` (interval:
      the mean of the properties' ceiled bootstrap intervals).  Calibrated on this
      pipeline at 16 px/deg: macaque-sampled banks of 32–64 Gabors score 0.74–0.79,
      uniform-control banks 0.60–0.75, banks of white-noise kernels 0.55–0.69 (rectified
      linear Gabors are more sharply orientation-tuned than macaque cells, which caps
      the orientation scores of any Gabor bank near 0.5–0.7).

    Gate: the macaque-sampled bank's mean ceiled similarity ``>= 0.72`` (the pipeline
    recognises V1-distributed filters on this display).  The uniform bank is reported,
    not gated: on these four properties it is not a reliable negative control (32-unit
    banks score 0.60–0.77 depending on the draw, sometimes above a macaque-sampled
    bank) — the score separates V1-like filters from non-Gabor ones (white noise),
    less well from Gabors with other parameter distributions.
    Verdict by :func:`verdict_from_checks`: both checks pass → supported; Gabor-like
    but not V1-distributed → partly supported; not Gabor-like → not supported.

    Parameters
    ----------
    cnn : model, optional
        Any static model of the package's interface (:class:`v1model.base.Model`);
        default the shipped pretrained network.
    n_v1 : int
        Filters of each control bank.
    min_r2 : float
        Gabor fits below this R² count as failed (reported).
    n_boot : int
        Bootstrap resamples of the scores and of the median R².
    first_layer : str, optional
        The layer measured; default the first convolution-like layer.
    n_noise : int
        Noise images per unit for spike-triggered averages (models without filters()).
    rng : None, int or numpy.random.Generator
        Control banks and bootstrap.

    Returns
    -------
    ClaimResult
        ``numbers``: per population (``network``, ``v1_macaque``, ``v1_uniform``) the
        property ``scores`` (per property raw, ceiling, ceiled and interval; their mean),
        and for the network the Gabor fits (``r2``, medians), ``kernel_source``.

    Raises
    ------
    ValueError
        If an argument is out of range or names an unknown layer.
    TypeError
        If ``cnn`` does not implement the model interface.
    FileNotFoundError
        If ``cnn`` is None and the pretrained weights are missing.

    Examples
    --------
    >>> claim_first_layer(n_v1=16, n_boot=50).verdict in VERDICTS  # doctest: +SKIP
    True
    """
    start = time.perf_counter()
    n_v1 = check_int("n_v1", n_v1, minimum=3)
    min_r2 = check_range("min_r2", min_r2, 0.0, 1.0)
    n_boot = check_int("n_boot", n_boot, minimum=10)
    n_noise = check_int("n_noise", n_noise, minimum=100)
    gen = as_rng(rng)

    model = _model(cnn)
    layer = _first_layer(model, first_layer)
    display = model.display
    ppd = float(display.pixels_per_degree)
    numbers: dict[str, Any] = {"layer": layer}
    numbers["network"] = {"scores": _property_scores(model, layer, n_boot=n_boot,
                                                     seed=_seed(gen))}
    kernels, source = _first_layer_kernels(model, layer, n_images=n_noise, seed=_seed(gen))
    numbers["kernel_source"] = source
    fits = None
    r2_median, r2_interval = float("nan"), (float("nan"), float("nan"))
    if kernels is not None:
        fits = fit_gabors(kernels, ppd, min_r2=min_r2)
        r2 = np.nan_to_num(np.asarray(fits["r2"], dtype=np.float64), nan=0.0)
        r2_median, r2_interval = _bootstrap_median(r2, n_boot=n_boot, gen=gen)
        ok = np.asarray(fits["success"], dtype=bool)
        numbers["network"].update({
            "n_kernels": int(len(kernels)), "n_success": int(ok.sum()), "r2": r2,
            "r2_median": r2_median, "r2_interval": list(r2_interval),
            "median": {k: (float(np.median(np.asarray(fits[k])[ok])) if ok.any() else None)
                       for k in ("orientation", "sf", "nx", "ny")}})
    for source_name in ("macaque", "uniform"):
        bank_seed, score_seed = _seed(gen), _seed(gen)
        key = (tuple(display.shape), ppd, source_name, n_v1, n_boot, bank_seed, score_seed)
        if key not in _CONTROL_CACHE:
            bank = _population_bank(n_v1, source_name, display, bank_seed)
            if len(_CONTROL_CACHE) >= 8:
                _CONTROL_CACHE.pop(next(iter(_CONTROL_CACHE)))
            _CONTROL_CACHE[key] = _property_scores(bank, "units", n_boot=n_boot,
                                                   seed=score_seed)
        numbers[f"v1_{source_name}"] = {"scores": _CONTROL_CACHE[key]}

    net = numbers["network"]["scores"]
    checks = [Check("gabor_like", f"median Gabor-fit R² of the {layer} kernels ({source})",
                    r2_median, 0.7, interval=_check_interval(r2_interval)),
              Check("v1_like", f"{layer}: mean ceiled similarity to macaque V1 of "
                    f"{', '.join(V1_PROPERTIES)}", net["mean_ceiled"], V1_LIKE,
                    interval=_check_interval(tuple(net["interval"])))]
    gates = [Check("v1_control", "macaque-sampled Gabor bank: mean ceiled similarity",
                   numbers["v1_macaque"]["scores"]["mean_ceiled"], V1_LIKE)]
    fig = _first_layer_figure(kernels, fits, numbers, layer)
    settings = {"n_v1": n_v1, "min_r2": min_r2, "n_boot": n_boot, "layer": layer,
                "pixels_per_degree": ppd, "properties": list(V1_PROPERTIES),
                "model": type(model).__name__}
    return _result(2, "first_layer", checks, numbers, fig, settings, start,
                   required=("gabor_like",), gates=gates)


def _first_layer_figure(kernels, fits, numbers, layer) -> Figure:
    fig = plt.figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    if kernels is not None:
        ncols = int(np.ceil(np.sqrt(len(kernels))))
        axes[0].imshow(_montage(kernels, ncols), cmap="RdBu_r", vmin=-1, vmax=1)
        axes[0].set_title(f"{layer} kernels ({numbers['kernel_source']})", fontsize=8)
        r2 = np.sort(numbers["network"]["r2"])
        axes[1].step(r2, np.arange(1, r2.size + 1) / r2.size, where="post", color="C0",
                     label=f"median {numbers['network']['r2_median']:.2f}")
        axes[1].axvline(0.7, color="0.5", linestyle=":")
        axes[1].set_xlim(0, 1.02)
        axes[1].set_xlabel("Gabor-fit R²")
        axes[1].set_ylabel("cumulative fraction of filters")
        axes[1].legend(fontsize=7)
    else:
        for ax in axes[:2]:
            ax.text(0.5, 0.5, numbers["kernel_source"], ha="center", wrap=True, fontsize=7)
    _axes_off(axes[0])
    width = 0.27
    x = np.arange(len(V1_PROPERTIES))
    for i, (name, title) in enumerate((("network", layer), ("v1_macaque", "macaque-sampled"),
                                       ("v1_uniform", "uniform control"))):
        scores = numbers[name]["scores"]
        vals = np.array([scores[p]["ceiled"] if scores[p]["ceiled"] is not None else np.nan
                         for p in V1_PROPERTIES])
        ci = np.array([scores[p].get("ci_ceiled", [np.nan, np.nan]) for p in V1_PROPERTIES])
        err = np.abs(np.stack([vals - ci[:, 0], ci[:, 1] - vals]))
        axes[2].bar(x + (i - 1) * width, np.nan_to_num(vals), width, color=f"C{i}",
                    yerr=np.nan_to_num(err), capsize=2,
                    label=f"{title} (mean {scores['mean_ceiled']:.2f}, {scores['n_units']} units)")
    axes[2].axhline(V1_LIKE, color="0.5", linestyle=":")
    axes[2].set_xticks(x, [p.replace("_", " ") for p in V1_PROPERTIES], fontsize=7)
    axes[2].set_ylabel("ceiled similarity to macaque V1")
    axes[2].legend(fontsize=6)
    return fig
