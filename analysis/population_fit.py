"""Fit the population hyper-parameters of the default V1 model to macaque V1 distributions.

:class:`v1model.v1.V1Model`'s default population has a few free hyper-parameters:
the normalisation pool (semi-saturation ``sigma``, ``exponent``, orientation and
sf widths), the surround (``extent`` in carrier cycles, ``weight``), the
distribution of the simple → complex mixing weight (Beta ``a``, ``b``), the mean
weight of the untuned (orientation-independent) component and the spontaneous
rate.  Rather than setting them by hand, :func:`fit_population` chooses them to
maximise the mean similarity of the model's property distributions to the macaque
references, measured exactly as ``v1model compare`` measures them (the same
protocols as its default battery, :data:`FIT_BATTERY`, and the same definitions
and unit selection), on a population drawn with a *training* seed, and reports
the score of a population drawn with a *held-out* seed (a different draw of units
from the same histograms).

What is fitted and what is not
------------------------------
* The objective (``method="brainscore"``, the default since the shipped fit):
  :func:`brainscore_population_score` — each layer's Marques et al. (2021)
  properties computed with Brain-Score's definitions
  (:func:`analysis.properties.marques_properties`, ``method="brainscore"``, on the
  orientation, sf and size protocols of :data:`FIT_BATTERY` and the blank screen,
  exactly as ``v1model compare`` computes them by default) and scored by
  :func:`analysis.properties.score_properties`; the mean of the **ceiled** scores of
  every property with a published or approximate reference, over both layers, plus
  F1/F0 of the two layers pooled (the Skottun et al. 1991 reference describes the
  whole population; a layer holding one class cannot match a bimodal distribution,
  so the pooled score is what rewards a bimodal split), plus the **bimodality** of
  the pooled F1/F0 (:func:`f1f0_bimodality`: how deep the density dips around
  Skottun et al.'s split at 1 below both modes, relative to the reference's dip).
  The KS-type score of a histogram hardly sees a missing dip (a flat F1/F0 over
  0–1.75 scores ≈ 0.75 against the bimodal reference), so the dip is scored on its
  own.  Bootstraps use a fixed
  seed, so the objective is deterministic.  Note the Brain-Score names and units
  (``or_bandwidth`` in degrees, ``sf_bandwidth`` as a cut-off ratio × 100; see
  ``docs/marques_properties.rst``).
* ``method="ks"``: the earlier objective, :func:`population_score` with the
  package's own definitions and ``score`` (default
  :func:`analysis.reference.similarity_score`, 1 − KS).
* nx and ny are drawn from Ringach 2002's histogram and no hyper-parameter moves
  them, so they are not part of the objective.
* Optimiser: a small Latin-hypercube search over the bounds (:data:`BOUNDS`), then
  Nelder–Mead (:func:`scipy.optimize.minimize`) from the best point with an initial
  simplex of :data:`SIMPLEX_STEP` of each range, in a transformed space (each
  parameter mapped to [0, 1], logarithmically for scale parameters) clipped to the
  bounds.  The
  objective is piecewise constant in fine steps (KS distances of finite samples),
  which is why the search starts from several points rather than from one.

The model package never imports :mod:`analysis`: the fit lives here and writes
the JSON (``v1model/data/v1_population.json``) that the model reads.
``benchmarks/fit_v1_population.py`` reruns it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from analysis.modulation import modulation_ratio
from analysis.recording import Recording
from analysis.reference import similarity_score
from analysis.response_functions import size_tuning
from analysis.tuning import orientation_tuning, sf_tuning, tuning_curves
from stimuli import protocols as P
from stimuli._shared.io import atomic_open, jsonable
from stimuli._shared.validation import as_rng, check_choice, check_count, check_int
from stimuli.display import Display
from stimuli.table import Table

__all__ = ["BOUNDS", "F1F0_MODES", "F1F0_VALLEY", "FIT_BATTERY", "FIT_METHODS", "FitResult",
           "brainscore_layer_properties", "brainscore_population_score", "f1f0_bimodality",
           "f1f0_valley_depth", "fit_population", "layer_properties", "population_score",
           "save_fit"]

#: The protocols of ``v1model compare``'s default battery that the fit measures
#: (angles in degrees, sfs in c/deg); a test checks they match the job's.
FIT_BATTERY = {
    "orientations": tuple(float(v) for v in np.arange(0, 180, 15)),
    "phases": tuple(float(v) for v in np.arange(0, 360, 45)),
    "sfs": (1.0, 2.0, 4.0),
    "sf_values": tuple(round(float(f), 4) for f in P.MARQUES_SFS[::2] if f < 8.0),
    "sf_orientations": tuple(float(v) for v in np.arange(0, 180, 30)),
    "sf_phases": (0.0, 90.0, 180.0, 270.0),
    "size_orientations": (0.0, 45.0, 90.0, 135.0),
    "size_sfs": (1.0, 2.0, 4.0),
    "size_phases": (0.0, 90.0, 180.0, 270.0),
}
#: Units whose size curve was read more than this far from their preferred orientation
#: (deg) or sf (octaves) are left out of SSI and GSF, as in the compare job.
SIZE_ORIENTATION_TOLERANCE = 15.0
SIZE_SF_TOLERANCE = 0.5
#: Properties scored per layer (the reference names of :mod:`analysis.reference`).
LAYER_PROPERTIES = ("preferred_orientation", "circular_variance", "orientation_bandwidth",
                    "peak_sf", "sf_bandwidth", "surround_suppression_index",
                    "grating_summation_field")
#: The fitted hyper-parameters: (stage, key) → (low, high, log-scaled).
BOUNDS = {
    ("normalization", "sigma"): (0.02, 1.0, True),
    ("normalization", "exponent"): (1.0, 3.0, False),
    # broader than the units' own tuning: a pool tuned as sharply as the unit divides
    # its preferred response most and gives it flank peaks
    # (a pool narrower than ≈ 20° gives flank peaks; 45°, the earlier bound, held the fit
    # at its edge with orientation bandwidths below Ringach's)
    ("normalization", "orientation_width"): (20.0, 180.0, True),
    ("normalization", "sf_width"): (0.3, 3.0, True),
    ("surround", "extent"): (0.6, 4.0, True),
    ("surround", "weight"): (0.05, 50.0, True),
    ("complexity", "a"): (0.2, 5.0, True),
    ("complexity", "b"): (0.2, 5.0, True),
    ("output", "spontaneous"): (0.0, 15.0, False),
    # mean per-unit weight of the orientation-independent component (0: none)
    ("untuned", "weight"): (0.0, 4.0, False),
}
#: The valley of the F1/F0 distribution around Skottun et al. (1991)'s split at 1, and
#: the windows of its complex and simple modes (:func:`f1f0_valley_depth`).  Values above
#: 2 (rare: a thresholded sinusoid) count in the simple mode.
F1F0_VALLEY = (0.75, 1.25)
F1F0_MODES = ((0.0, 0.75), (1.25, 2.0))
#: Scoring modes of :func:`fit_population`.
FIT_METHODS = ("brainscore", "ks")
_STAGES = ("normalization", "surround", "complexity", "output", "untuned")
#: Most bootstrap resamples per score (as :func:`analysis.reference.similarity_score`).
MAX_BOOT = 10**6
#: Nelder–Mead's initial simplex: one step of this fraction of each parameter's range.
SIMPLEX_STEP = 0.2
ScoreFunction = Callable[..., Any]


def f1f0_valley_depth(values: Any) -> float:
    """Depth of the dip of an F1/F0 distribution around the simple/complex split at 1.

    ``D = 1 − ρ_valley / min(ρ_complex, ρ_simple)``: the density (fraction of values
    per unit of F1/F0) in the valley :data:`F1F0_VALLEY` relative to the density in the
    *weaker* of the two mode windows :data:`F1F0_MODES`, clipped to [0, 1].  0 when the
    valley is as dense as the weaker mode (a flat or unimodal distribution) or a mode
    is empty; 1 when no value falls in the valley while both modes are populated.
    Unlike Hartigan's dip it uses the known location of the split (Skottun et al.
    1991), so it also tells *where* the population divides.

    Parameters
    ----------
    values : array_like
        F1/F0 ratios (>= 0); non-finite values are not allowed.

    Returns
    -------
    float
        The depth in [0, 1].

    Raises
    ------
    ValueError
        If ``values`` is empty, not one-dimensional, negative or not finite.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> two = np.r_[rng.normal(0.35, 0.2, 500), rng.normal(1.5, 0.25, 500)].clip(0, 2)
    >>> round(f1f0_valley_depth(two), 1)
    0.7
    >>> f1f0_valley_depth(rng.uniform(0, 2, 1000)) < 0.2
    True
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"values must be a non-empty 1-D array of finite F1/F0 ratios >= 0, "
                         f"got shape {v.shape}")
    lo, hi = F1F0_VALLEY
    valley = np.mean((v >= lo) & (v < hi)) / (hi - lo)
    (c0, c1), (s0, s1) = F1F0_MODES
    modes = min(np.mean((v >= c0) & (v < c1)) / (c1 - c0), np.mean(v >= s0) / (s1 - s0))
    if modes <= 0:
        return 0.0
    return float(np.clip(1.0 - valley / modes, 0.0, 1.0))


@lru_cache(maxsize=1)
def _reference_valley_depth() -> float:
    """:func:`f1f0_valley_depth` of the bundled F1/F0 reference (its normal mixture,
    truncated to its bounds), computed from the densities rather than a sample."""
    from scipy import stats

    from analysis.reference import reference_distribution

    ref = reference_distribution("modulation_ratio", collection="marques2021").params
    lo_b, hi_b = ref["bounds"]

    def mass(a: float, b: float) -> float:
        a, b = max(a, lo_b), min(b, hi_b)
        return float(sum(w * (stats.norm.cdf(b, m, s) - stats.norm.cdf(a, m, s))
                         for w, m, s in zip(ref["weights"], ref["means"], ref["sds"],
                                            strict=True)))

    total = mass(lo_b, hi_b)
    lo, hi = F1F0_VALLEY
    (c0, c1), (s0, s1) = F1F0_MODES
    valley = mass(lo, hi) / total / (hi - lo)
    modes = min(mass(c0, c1) / total / (c1 - c0), mass(s0, np.inf) / total / (s1 - s0))
    return float(np.clip(1.0 - valley / modes, 0.0, 1.0))


def f1f0_bimodality(values: Any) -> float:
    """Score of the bimodality of a population's F1/F0: ``min(1, D / D_ref)``.

    ``D`` is :func:`f1f0_valley_depth` of ``values`` and ``D_ref`` that of the bundled
    macaque reference (Skottun et al. 1991's shape, ≈ 0.67): 1 for a dip at least as
    deep as macaque V1's, 0 for none (flat, unimodal, or one mode empty).  A term of
    :func:`brainscore_population_score` and :func:`population_score`.

    Parameters
    ----------
    values : array_like
        F1/F0 ratios of the whole population (both layers); empty scores 0.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        As :func:`f1f0_valley_depth` (except for empty input).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> two = np.r_[rng.normal(0.3, 0.15, 300), rng.normal(1.55, 0.15, 300)].clip(0, 2)
    >>> f1f0_bimodality(two)
    1.0
    >>> f1f0_bimodality(rng.normal(1.0, 0.3, 600).clip(0, 2))
    0.0
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return 0.0
    return float(min(1.0, f1f0_valley_depth(v) / _reference_valley_depth()))


def _render(protocol) -> tuple[Table, np.ndarray]:
    return protocol.conditions, protocol.stimuli(np.arange(len(protocol)))


class _Stimuli:
    """The battery's protocols rendered once (a fit evaluates many models on them)."""

    def __init__(self, display: Display, battery: Mapping[str, Sequence[float]]):
        b = battery
        nyquist = display.nyquist_cpd

        def sfs(values):
            return tuple(f for f in values if f < nyquist)

        self.orientation = _render(P.orientation_tuning(
            display, orientations=b["orientations"], phases=b["phases"], sfs=sfs(b["sfs"])))
        self.sf = _render(P.sf_tuning(display, sfs=sfs(b["sf_values"]),
                                      orientations=b["sf_orientations"], phases=b["sf_phases"]))
        parts = [_render(P.size_tuning(display, orientation=o, sf=f, phases=b["size_phases"]))
                 for o in b["size_orientations"] for f in sfs(b["size_sfs"])]
        names = parts[0][0].names
        self.size = (Table({k: np.concatenate([np.asarray(t[k]) for t, _ in parts])
                            for k in names}),
                     np.concatenate([s for _, s in parts]))


def _record(model: Any, layer: str, rendered: tuple[Table, np.ndarray]) -> Recording:
    """The centre unit of every channel, as ``run_protocol(units="centre")`` records it."""
    conditions, images = rendered
    x, y = model.map_coordinates(layer)
    col, row = int(np.argmin(np.abs(x))), int(np.argmin(np.abs(y)))
    out = np.concatenate([model.responses(images[i:i + 64], layer)[:, :, row, col]
                          for i in range(0, len(images), 64)])
    return Recording(conditions, out.astype(np.float64))


def _best_levels(recording: Recording, by: str, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Per unit, the levels of ``columns`` whose curve along ``by`` has the highest point."""
    cond = recording.conditions
    resp = np.asarray(recording.responses, dtype=np.float64)
    _, value = np.unique(np.asarray(cond[by]), return_inverse=True)
    keys = np.stack([np.asarray(cond[c], dtype=np.float64) for c in columns], axis=1)
    combos, combo = np.unique(keys, axis=0, return_inverse=True)
    n_values = int(value.max()) + 1
    cell = combo.ravel() * n_values + value.ravel()
    sums = np.zeros((len(combos) * n_values, resp.shape[1]))
    np.add.at(sums, cell, resp)
    means = sums / np.maximum(np.bincount(cell, minlength=len(sums)), 1)[:, None]
    best = np.argmax(means.reshape(len(combos), n_values, -1).max(axis=1), axis=0)
    return {f"at_{c}": combos[best, i] for i, c in enumerate(columns)}


def _check_model_like(model: Any) -> None:
    if not (hasattr(model, "display") and hasattr(model, "layers")
            and callable(getattr(model, "responses", None))):
        raise TypeError(f"model must be a v1model model (display, layers, responses), got "
                        f"{type(model).__name__}")


def layer_properties(model: Any, layer: str, *, display: Display | None = None,
                     battery: Mapping[str, Sequence[float]] | None = None,
                     _stimuli: _Stimuli | None = None) -> dict[str, np.ndarray]:
    """A static layer's property values, measured as ``v1model compare`` measures them.

    Orientation tuning (preferred orientation, circular variance, bandwidth of the
    responsive units), sf tuning (peak sf of well-fitted units peaking inside the
    range, bandwidth where defined and not low-pass), size tuning at each unit's
    best orientation and sf (SSI and GSF of units read within
    :data:`SIZE_ORIENTATION_TOLERANCE` and :data:`SIZE_SF_TOLERANCE` of their
    preference) and F1/F0 over phase at the preferred condition.

    Parameters
    ----------
    model : model
        A static model (the interface of :mod:`v1model.base`) with a retinotopic map.
    layer : str
        Which layer.
    display : Display, optional
        Default ``model.display``.
    battery : mapping, optional
        Protocol values; default :data:`FIT_BATTERY`.

    Returns
    -------
    dict of str to ndarray
        Finite values per reference name (:data:`LAYER_PROPERTIES` and
        ``modulation_ratio``).

    Raises
    ------
    ValueError
        For an unknown layer or a model whose responses the analysis rejects.

    Examples
    --------
    >>> from v1model.v1 import V1Model
    >>> model = V1Model(Display((32, 32), 16), n_units=24, stride=32)
    >>> props = layer_properties(model, "complex")
    >>> sorted(props)[:2]
    ['circular_variance', 'grating_summation_field']
    """
    _check_model_like(model)
    if display is not None and not isinstance(display, Display):
        raise TypeError(f"display must be a stimuli.Display or None, got {type(display).__name__}")
    if battery is not None and not isinstance(battery, Mapping):
        raise TypeError(f"battery must be a mapping of stimulus level lists or None, got "
                        f"{type(battery).__name__}")
    display = model.display if display is None else display
    stim = _stimuli if _stimuli is not None else _Stimuli(display, battery or FIT_BATTERY)
    values: dict[str, np.ndarray] = {}
    rec = _record(model, layer, stim.orientation)
    tab = orientation_tuning(rec)
    ok = np.asarray(tab["responsive"], dtype=bool)
    values["preferred_orientation"] = tab["preferred_orientation"][ok]
    values["circular_variance"] = tab["circular_variance"][ok]
    values["orientation_bandwidth"] = tab["bandwidth"][ok]
    preferred = np.asarray(tab["preferred_orientation"])
    mod = modulation_ratio(rec)
    ratio = np.asarray(mod["modulation_ratio"], dtype=np.float64)
    values["modulation_ratio"] = ratio[np.asarray(mod["f0_positive"], bool) & np.isfinite(ratio)]

    stab = sf_tuning(_record(model, layer, stim.sf))
    fit = np.asarray(stab["fit_ok"], dtype=bool) & np.asarray(stab["peak_in_range"], bool)
    values["peak_sf"] = stab["peak_sf"][fit]
    bw = (np.asarray(stab["bandwidth_defined"], bool) & ~np.asarray(stab["low_pass"], bool)
          & np.isfinite(stab["bandwidth_octaves"]))
    values["sf_bandwidth"] = stab["bandwidth_octaves"][bw]

    srec = _record(model, layer, stim.size)
    curves = tuning_curves(srec, "radius")
    ztab = size_tuning(Recording({"radius": curves.values}, curves.mean.T))
    at = _best_levels(srec, "radius", ("orientation", "sf"))
    offset = np.abs((preferred - at["at_orientation"] + 90.0) % 180.0 - 90.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        octaves = np.abs(np.log2(np.asarray(stab["peak_sf_sampled"]) / at["at_sf"]))
    keep = (np.asarray(ztab["responsive"], bool) & np.isfinite(offset)
            & (offset <= SIZE_ORIENTATION_TOLERANCE) & np.isfinite(octaves)
            & (octaves <= SIZE_SF_TOLERANCE))
    values["surround_suppression_index"] = ztab["ssi"][keep]
    values["grating_summation_field"] = ztab["gsf_diameter"][keep]
    out = {}
    for key, vals in values.items():
        vals = np.asarray(vals, dtype=np.float64)
        out[key] = vals[np.isfinite(vals)]
    return out


def _blank(model: Any, layer: str) -> np.ndarray:
    """Each centre unit's response to the mean-grey screen, ``(units,)``."""
    x, y = model.map_coordinates(layer)
    col, row = int(np.argmin(np.abs(x))), int(np.argmin(np.abs(y)))
    return np.asarray(model.responses(np.zeros((1, *model.display.shape)), layer)[0, :, row, col],
                      dtype=np.float64)


def brainscore_layer_properties(model: Any, layer: str, *,
                                _stimuli: _Stimuli | None = None) -> Table:
    """A static layer's Marques et al. (2021) properties with Brain-Score's definitions.

    The recordings of :func:`layer_properties` (orientation, sf and size protocols of
    :data:`FIT_BATTERY`, the centre unit of every channel) and the blank screen,
    passed to :func:`analysis.properties.marques_properties` with
    ``method="brainscore"`` — as ``v1model compare`` computes them by default.

    Parameters
    ----------
    model : model
        A static model with a retinotopic map.
    layer : str
        Which layer.

    Returns
    -------
    Table
        The long table of :func:`analysis.properties.marques_properties`.

    Raises
    ------
    ValueError
        For an unknown layer or a layer with no responsive unit.

    Examples
    --------
    >>> from v1model.v1 import V1Model
    >>> model = V1Model(Display((32, 32), 16), n_units=24, stride=32)
    >>> tab = brainscore_layer_properties(model, "complex")
    >>> "surround_suppression_index" in set(tab["property"].tolist())
    True
    """
    from analysis.properties import marques_properties

    _check_model_like(model)
    stim = _stimuli if _stimuli is not None else _Stimuli(model.display, FIT_BATTERY)
    recs = {"orientation": _record(model, layer, stim.orientation),
            "sf": _record(model, layer, stim.sf), "size": _record(model, layer, stim.size)}
    return marques_properties(recs, method="brainscore", blank=_blank(model, layer),
                              include_extra=False)


def brainscore_population_score(model: Any, *, n_boot: int = 50, rng: int = 0,
                                _stimuli: _Stimuli | None = None) -> dict[str, Any]:
    """Mean ceiled Brain-Score similarity of a two-layer V1 model to macaque V1.

    Each layer's properties (:func:`brainscore_layer_properties`) are scored by
    :func:`analysis.properties.score_properties` (``method="brainscore"``); the
    objective averages the **ceiled** scores of every property with a published or
    approximate reference over both layers, plus F1/F0 of the two layers pooled
    (Skottun et al.'s bimodal distribution describes the whole population; a layer
    holding one class cannot match it, so the pooled score is what rewards a bimodal
    split).  A property no unit defines scores 0 (penalised, not skipped).

    Parameters
    ----------
    model : V1Model
        A static model with layers ``"simple"`` and ``"complex"``.
    n_boot : int
        Bootstrap resamples per score.
    rng : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``mean``, ``layers`` (layer → property → ceiled score, plus ``"mean"``),
        ``modulation_ratio`` (pooled F1/F0, ceiled), ``values`` (layer → property →
        defined values) and ``medians``.

    Raises
    ------
    ValueError
        As :func:`brainscore_layer_properties`.

    Examples
    --------
    >>> from v1model.v1 import V1Model
    >>> model = V1Model(Display((32, 32), 16), n_units=24, stride=32)
    >>> 0.0 <= brainscore_population_score(model, n_boot=5)["mean"] <= 1.5
    True
    """
    from analysis.properties import score_properties

    n_boot = check_count("n_boot", n_boot, maximum=MAX_BOOT)
    as_rng(rng)
    _check_model_like(model)
    stim = _stimuli if _stimuli is not None else _Stimuli(model.display, FIT_BATTERY)
    layers: dict[str, dict[str, float]] = {}
    values: dict[str, dict[str, np.ndarray]] = {}
    scores: list[float] = []
    for layer in model.layers:
        tab = brainscore_layer_properties(model, layer, _stimuli=stim)
        names = [str(n) for n in np.asarray(tab["property"]).astype(str)]
        vals = np.asarray(tab["value"], dtype=np.float64)
        arr = np.asarray(names)
        values[layer] = {n: vals[(arr == n) & ~np.isnan(vals)] for n in dict.fromkeys(names)}
        scored = score_properties(tab, method="brainscore", n_boot=n_boot, rng=rng)
        row = {}
        for r in range(len(scored)):
            rec = scored.row(r)
            if rec["status"] not in ("published", "approximate"):
                continue
            ceiled = float(rec["ceiled"])
            row[str(rec["property"])] = ceiled if np.isfinite(ceiled) else 0.0
        row["mean"] = float(np.mean(list(row.values())))
        scores += [v for k, v in row.items() if k != "mean"]
        layers[layer] = row
    pooled_f1f0 = np.concatenate([v.get("modulation_ratio", np.zeros(0)) for v in values.values()])
    pooled = (float(similarity_score(pooled_f1f0, "modulation_ratio", method="brainscore",
                                     n_boot=n_boot, rng=rng).ceiled)
              if len(pooled_f1f0) else 0.0)
    bimodality = f1f0_bimodality(pooled_f1f0)
    scores += [pooled, bimodality]
    medians = {layer: {k: float(np.median(v)) if len(v) else None for k, v in vals.items()}
               for layer, vals in values.items()}
    return {"mean": float(np.mean(scores)), "layers": layers, "modulation_ratio": pooled,
            "f1f0_bimodality": bimodality, "values": values, "medians": medians}


def population_score(model: Any, *, score: ScoreFunction = similarity_score, n_boot: int = 50,
                     rng: int = 0, _stimuli: _Stimuli | None = None) -> dict[str, Any]:
    """Mean similarity of a two-layer V1 model to the macaque references (1 − KS).

    Parameters
    ----------
    model : V1Model
        A static model with layers ``"simple"`` and ``"complex"``.
    score : callable
        ``score(values, reference_name, n_boot=, rng=)`` returning an object with a
        ``score`` attribute; default :func:`analysis.reference.similarity_score`.
    n_boot : int
        Bootstrap resamples per score.
    rng : int
        Seed of the bootstrap (fixed, so the same model gives the same score).

    Returns
    -------
    dict
        ``mean`` (mean of every score below), ``layers`` (layer → property → score,
        each layer's mean under ``"mean"``), ``modulation_ratio`` (F1/F0 of both
        layers pooled), ``values`` (the property values) and ``medians``.
        Properties without any value score 0 (a model that yields none is penalised,
        not skipped).

    Raises
    ------
    ValueError
        As :func:`layer_properties`.

    Examples
    --------
    >>> from v1model.v1 import V1Model
    >>> model = V1Model(Display((32, 32), 16), n_units=24, stride=32)
    >>> 0.0 <= population_score(model, n_boot=5)["mean"] <= 1.0
    True
    """
    # validated before the (seconds-long) measurement, as similarity_score would
    n_boot = check_count("n_boot", n_boot, maximum=MAX_BOOT)
    as_rng(rng)
    _check_model_like(model)
    if not callable(score):
        raise TypeError(f"score must be a callable like analysis.similarity_score, got "
                        f"{type(score).__name__}")
    stim = _stimuli if _stimuli is not None else _Stimuli(model.display, FIT_BATTERY)
    values = {layer: layer_properties(model, layer, _stimuli=stim) for layer in model.layers}

    def one(vals: np.ndarray, name: str) -> float:
        return float(score(vals, name, n_boot=n_boot, rng=rng).score) if len(vals) else 0.0

    layers = {}
    for layer, vals in values.items():
        row = {name: one(vals[name], name) for name in LAYER_PROPERTIES}
        row["modulation_ratio"] = one(vals["modulation_ratio"], "modulation_ratio")
        row["mean"] = float(np.mean([row[k] for k in LAYER_PROPERTIES]
                                    + [row["modulation_ratio"]]))
        layers[layer] = row
    pooled_f1f0 = np.concatenate([v["modulation_ratio"] for v in values.values()])
    pooled = one(pooled_f1f0, "modulation_ratio")
    bimodality = f1f0_bimodality(pooled_f1f0)
    scores = [layers[layer][k] for layer in layers for k in LAYER_PROPERTIES] + [pooled,
                                                                                 bimodality]
    medians = {layer: {k: float(np.median(v)) if len(v) else None for k, v in vals.items()}
               for layer, vals in values.items()}
    return {"mean": float(np.mean(scores)), "layers": layers, "modulation_ratio": pooled,
            "f1f0_bimodality": bimodality, "values": values, "medians": medians}


def _settings(x: np.ndarray, fixed: Mapping[str, Mapping[str, float]]) -> dict[str, dict]:
    """Stage settings from a point of the unit cube (one coordinate per :data:`BOUNDS`)."""
    out = {stage: dict(values) for stage, values in fixed.items()}
    for (stage, key), u in zip(BOUNDS, np.clip(x, 0.0, 1.0), strict=True):
        low, high, log = BOUNDS[(stage, key)]
        value = np.exp(np.log(low) + u * (np.log(high) - np.log(low))) if log else \
            low + u * (high - low)
        out.setdefault(stage, {})[key] = float(value)
    return out


def _to_cube(settings: Mapping[str, Mapping[str, float]]) -> np.ndarray:
    x = []
    for (stage, key), (low, high, log) in BOUNDS.items():
        v = float(np.clip(settings[stage][key], low, high))
        x.append((np.log(v) - np.log(low)) / (np.log(high) - np.log(low)) if log
                 else (v - low) / (high - low))
    return np.array(x)


@dataclass
class FitResult:
    """Outcome of :func:`fit_population`.

    Attributes
    ----------
    settings : dict
        Fitted stage settings (``normalization``, ``surround``, ``complexity``,
        ``output``), the keywords of :class:`v1model.v1.V1Model`.
    train_score, test_score : float
        Mean similarity (:func:`population_score`) on the training and held-out seeds.
    train, test : dict
        The full :func:`population_score` results (without the raw values).
    start_score : float
        Training score of the starting settings.
    evaluations : int
        Objective evaluations.
    seconds : float
        Wall time of the fit.
    config : dict
        Seeds, display, ``n_units``, optimiser settings: enough to rerun it.
    history : list of float
        Training score of every evaluation, in order.
    """

    settings: dict
    train_score: float
    test_score: float
    train: dict
    test: dict
    start_score: float
    evaluations: int
    seconds: float
    config: dict
    history: list = field(default_factory=list)


def _strip(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "values"}


def fit_population(
    display: Display | None = None,
    *,
    n_units: int = 160,
    train_seed: int = 0,
    test_seed: int = 1,
    start: Mapping[str, Mapping[str, float]] | None = None,
    n_search: int = 16,
    max_evaluations: int = 80,
    score: ScoreFunction = similarity_score,
    method: str = "brainscore",
    n_boot: int = 30,
    rng: int = 0,
    progress: bool = False,
) -> FitResult:
    """Fit the default V1 population's hyper-parameters (:data:`BOUNDS`) to macaque data.

    Maximises :func:`population_score` of ``V1Model(display, n_units=n_units,
    rng=train_seed, **settings)`` (units recorded at the display centre), first over
    ``n_search`` Latin-hypercube points (seeded by ``rng``) plus ``start``, then by
    Nelder–Mead from the best, for at most ``max_evaluations`` evaluations in all;
    then scores the best settings on a population drawn with ``test_seed``.

    Parameters
    ----------
    display : Display, optional
        Default: the compare job's 64 × 64 px display at 16 px/deg.
    n_units : int
        Units per population (both layers).
    train_seed, test_seed : int
        Seeds of the training and held-out populations (must differ).
    start : mapping, optional
        Starting stage settings; default the shipped ones
        (:func:`v1model.v1.fitted_parameters`).
    n_search : int
        Latin-hypercube points before Nelder–Mead (>= 0).
    max_evaluations : int
        Total objective evaluations (>= 1).
    score : callable
        ``method="ks"`` only: scoring function, see :func:`population_score`.
    method : {"brainscore", "ks"}
        ``"brainscore"`` (default): maximise :func:`brainscore_population_score`, the
        mean ceiled Brain-Score similarity with the properties computed as
        ``v1model compare`` computes them by default.  ``"ks"``: the earlier
        objective, :func:`population_score` with ``score``.
    n_boot : int
        Bootstrap resamples per property score.
    rng : int
        Seed of the search points and of the bootstrap.
    progress : bool
        Print one line per improvement (score and settings).

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        If the seeds are equal or a count is out of range.

    Examples
    --------
    >>> res = fit_population(Display((32, 32), 16), n_units=24, n_search=0,
    ...                      max_evaluations=1, n_boot=5)
    >>> res.evaluations, sorted(res.settings)
    (1, ['complexity', 'normalization', 'output', 'surround', 'untuned'])
    """
    from v1model.v1 import V1Model, fitted_parameters

    display = Display((64, 64), 16.0) if display is None else display
    n_units = check_int("n_units", n_units, minimum=2)
    n_search = check_int("n_search", n_search, minimum=0)
    max_evaluations = check_int("max_evaluations", max_evaluations, minimum=1)
    if int(train_seed) == int(test_seed):
        raise ValueError(f"test_seed must differ from train_seed, got {test_seed} for both")
    method = check_choice("method", method, FIT_METHODS)
    shipped = fitted_parameters()
    base = {stage: dict(shipped.get(stage, {"weight": 0.0})) for stage in _STAGES}
    if start is not None:
        for stage, values in start.items():
            base[stage].update(values)
    stim = _Stimuli(display, FIT_BATTERY)
    stride = max(display.shape)
    t0 = time.perf_counter()
    history: list[float] = []
    best = {"score": -np.inf, "x": None}

    def evaluate(x: np.ndarray, seed: int) -> dict:
        model = V1Model(display, n_units=n_units, rng=seed, stride=stride,
                        **_settings(x, base))
        if method == "brainscore":
            return brainscore_population_score(model, n_boot=n_boot, rng=rng, _stimuli=stim)
        return population_score(model, score=score, n_boot=n_boot, rng=rng, _stimuli=stim)

    class _Done(Exception):
        pass

    def objective(x: np.ndarray) -> float:
        if len(history) >= max_evaluations:
            raise _Done
        try:
            value = evaluate(x, train_seed)["mean"]
        except ValueError:  # e.g. an empty layer: the worst score
            value = 0.0
        history.append(value)
        if value > best["score"]:
            best.update(score=value, x=np.clip(x, 0, 1).copy())
            if progress:
                print(f"[fit] evaluation {len(history)}: mean similarity {value:.4f} "
                      f"{json.dumps(_settings(x, base))}", flush=True)
        return -value

    x0 = _to_cube(base)
    try:
        start_score = -objective(x0)
        if n_search:
            points = qmc.LatinHypercube(d=len(BOUNDS), seed=rng).random(n_search)
            for x in points:
                objective(x)
        # scipy's default simplex moves each coordinate by 5% of its value: far too
        # little on this piecewise-constant objective; take steps of SIMPLEX_STEP of
        # each range instead (towards the middle of the cube)
        x_best = best["x"]
        simplex = [x_best] + [x_best + np.where(np.arange(len(x_best)) == i,
                                                 SIMPLEX_STEP * np.where(x_best > 0.5, -1, 1), 0)
                              for i in range(len(x_best))]
        optimize.minimize(lambda x: objective(np.clip(x, 0, 1)), x_best,
                          method="Nelder-Mead",
                          options={"maxfev": max_evaluations, "initial_simplex": simplex,
                                   "xatol": 1e-3, "fatol": 1e-4})
    except _Done:
        pass
    settings = _settings(best["x"], base)
    train = evaluate(best["x"], train_seed)
    test = evaluate(best["x"], test_seed)
    config = {"display": {"shape": list(display.shape),
                          "pixels_per_degree": display.pixels_per_degree},
              "n_units": n_units, "train_seed": int(train_seed), "test_seed": int(test_seed),
              "n_search": n_search, "max_evaluations": max_evaluations, "n_boot": n_boot,
              "rng": rng, "method": method,
              "score": ("brainscore_population_score (ceiled, analysis.properties "
                        "method='brainscore')" if method == "brainscore"
                        else getattr(score, "__name__", repr(score))),
              "bounds": {f"{s}.{k}": list(v[:2]) for (s, k), v in BOUNDS.items()}}
    return FitResult(settings=settings, train_score=train["mean"], test_score=test["mean"],
                     train=_strip(train), test=_strip(test), start_score=start_score,
                     evaluations=len(history), seconds=time.perf_counter() - t0,
                     config=config, history=history)


def save_fit(result: FitResult, path: str, *, seed: int | None = None,
             n_units: int | None = None, command: str | None = None) -> None:
    """Write a fit as the parameter file :class:`v1model.v1.V1Model` loads (atomically).

    Parameters
    ----------
    result : FitResult
        From :func:`fit_population`.
    path : str
        Destination, normally ``v1model/data/v1_population.json``.
    seed, n_units : int, optional
        The default model's seed and size; default the fit's training seed and
        ``n_units``.
    command : str, optional
        The command line that ran the fit (recorded as provenance).

    Raises
    ------
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import json, os, tempfile
    >>> res = fit_population(Display((32, 32), 16), n_units=24, n_search=0,
    ...                      max_evaluations=1, n_boot=5)
    >>> path = os.path.join(tempfile.mkdtemp(), "fit.json")
    >>> save_fit(res, path)
    >>> with open(path) as fh:
    ...     sorted(json.load(fh))[:3]
    ['complexity', 'fit', 'n_units']
    """
    doc = {
        "n_units": int(result.config["n_units"] if n_units is None else n_units),
        "seed": int(result.config["train_seed"] if seed is None else seed),
        **{k: {kk: round(float(vv), 6) for kk, vv in v.items()}
           for k, v in result.settings.items()},
        "fit": jsonable({
            "routine": "analysis.population_fit.fit_population",
            "command": command,
            "train_score": result.train_score, "test_score": result.test_score,
            "start_score": result.start_score, "evaluations": result.evaluations,
            "seconds": result.seconds, "config": result.config,
            "train": result.train, "test": result.test,
        }),
    }
    with atomic_open(path, "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.write("\n")
