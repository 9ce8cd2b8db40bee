"""The 22 V1 properties of Marques, Schrimpf & DiCarlo (2021), in two definition modes.

Every property takes a :class:`analysis.recording.Recording` and returns one value
per unit (:class:`PropertyValues`), NaN with a reason where it is undefined.  One
switch, ``method``, picks the definition:

``"ours"``
    The package's estimators: vector-sum preferred orientation and circular
    variance, von Mises bandwidth (:func:`analysis.tuning.orientation_tuning`),
    log-Gaussian SF fits (:func:`analysis.tuning.sf_tuning`), F1/F0 at the
    condition with the largest ``F0 + F1`` (:func:`analysis.modulation.modulation_ratio`),
    size read-outs of :func:`analysis.response_functions.size_tuning`.
``"brainscore"``
    Brain-Score's benchmark definitions (the ``marques2020`` benchmarks): responses
    mapped to firing rates first (:func:`fit_firing_rate_map`), curves smoothed and
    spline-interpolated, bandwidth NaN = not selective, SF and size curves the larger
    of the baseline-subtracted F0 and F1 at the preferred condition, GSF at 95% of the
    peak only where SSI > 0.1, F1/F0 at the condition with the largest mean response,
    and only units responding more than 5 spikes/s above baseline kept.

Each property's docstring states both definitions; :func:`list_properties` lists
them with the protocol each needs and the status of its bundled reference
(``analysis/data/marques2021_v1.json``, see :mod:`analysis.reference`).
:func:`marques_properties` computes every property a set of recordings allows and
:func:`score_properties` scores them (Brain-Score's ceiled score by default).

Recordings (static images; a time axis, as from the spiking layer, is averaged to
a mean rate; one ``phase`` column of >= 3 equally spaced phases for the grating
protocols):

==============  ===============================================  ==========================
group           conditions                                       protocol
==============  ===============================================  ==========================
orientation     ``orientation`` × ``phase`` (× ``sf`` ...)       ``orientation_tuning``
sf              ``sf`` (>= 5) × ``phase`` (× ``orientation``)    ``sf_tuning``
size            ``radius`` (>= 3, finite) × ``phase`` (× ...)    ``size_tuning``
texture         ``image_type`` × ``family`` × ``sample``         ``texture_families``
==============  ===============================================  ==========================

(the protocols are those of :mod:`stimuli.protocols`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis import _fitting, _marques, tuning
from analysis.modulation import _phase_f0_f1
from analysis.modulation import modulation_ratio as _modulation_table
from analysis.recording import Recording
from analysis.reference import reference_distribution, similarity_score
from analysis.response_functions import size_tuning as _size_table
from stimuli._shared.validation import check_array, check_choice, check_int
from stimuli.table import Table

__all__ = [
    "METHODS",
    "FiringRateMap",
    "PropertyValues",
    "compute_property",
    "fit_firing_rate_map",
    "list_properties",
    "marques_properties",
    "score_properties",
]

#: The two definition modes.
METHODS = ("ours", "brainscore")
#: Recording keys accepted by :func:`marques_properties`.
GROUPS = ("orientation", "sf", "size", "texture")
_LEVEL = 1.0 / np.sqrt(2.0)          # Ringach et al. 2002: bandwidth at 1/sqrt(2) of the peak


# ============================================================ results and registry

@dataclass(frozen=True, eq=False)
class PropertyValues:
    """One property for every unit of a recording.

    Attributes
    ----------
    name : str
        Property name (see :func:`list_properties`).
    method : str
        ``"ours"`` or ``"brainscore"``.
    values : ndarray of shape (n_units,), float64
        The property, NaN where undefined.
    reasons : ndarray of shape (n_units,), str
        Empty where the value is defined; otherwise why it is NaN.
    units : str
        Units of the values.
    """

    name: str
    method: str
    values: np.ndarray
    reasons: np.ndarray
    units: str

    @property
    def defined(self) -> np.ndarray:
        """Boolean mask of the units with a value."""
        return ~np.isnan(self.values)


@dataclass(frozen=True)
class _Spec:
    group: str
    needs: str
    units: str
    ours: str
    brainscore: str
    marques: bool = True


_SPECS: dict[str, _Spec] = {
    "circular_variance": _Spec(
        "orientation", "orientation, phase", "",
        "1 − |Σ r_k e^{2iθ_k}| / Σ r_k of the phase-averaged orientation curve at the unit's "
        "preferred sampled sf (negative curves shifted to start at 0).",
        "The same formula on the firing-rate curve at the condition of the largest mean rate."),
    "or_bandwidth": _Spec(
        "orientation", "orientation, phase", "deg",
        "Half-width at 1/√2 of the peak of a fitted von Mises curve (closed form); NaN where "
        "the fit fails or never falls to 1/√2 (not selective).  Better than reading a "
        "smoothed 15°-sampled curve: the fit uses every point and its width is not "
        "quantised by the sampling.",
        "Half of the full width at 0.707 of the peak of the Hanning-smoothed, "
        "spline-interpolated curve (1° grid); NaN (not selective) where the full width "
        "exceeds 180° or the level is not reached."),
    "orth_pref_ratio": _Spec(
        "orientation", "orientation, phase", "",
        "Response 90° from the vector-sum preferred orientation over the response at it, "
        "both read from the periodic linear interpolation of the curve.",
        "Sampled response at the orientation opposite (n/2 steps from) the sampled "
        "maximum over that maximum."),
    "or_selective": _Spec(
        "orientation", "orientation, phase", "fraction",
        "1 where or_bandwidth (ours) is defined, else 0.",
        "1 where Brain-Score's bandwidth is defined, else 0."),
    "cv_bandwidth_ratio": _Spec(
        "orientation", "orientation, phase", "1/deg",
        "circular_variance / or_bandwidth (ours); NaN where the bandwidth is.",
        "circular_variance / or_bandwidth (Brain-Score's); NaN where the bandwidth is."),
    "opr_cv_diff": _Spec(
        "orientation", "orientation, phase", "",
        "orth_pref_ratio − circular_variance (ours).",
        "orth_pref_ratio − circular_variance (Brain-Score's)."),
    "modulation_ratio": _Spec(
        "orientation", "orientation, phase", "",
        "F1/F0 over phase at the condition with the largest F0 + F1 (the peak of the "
        "fundamental, which also works for linear units whose mean is 0); NaN where F0 <= 0.",
        "F1/F0 of the firing rates at the condition with the largest F0 (mean rate)."),
    "max_dc": _Spec(
        "orientation", "orientation, phase", "spikes/s",
        "Largest phase-averaged firing rate after the firing-rate map (same as Brain-Score).",
        "Largest phase-averaged firing rate after the firing-rate map."),
    "preferred_orientation": _Spec(
        "orientation", "orientation, phase", "deg",
        "Vector-sum preferred orientation (angle of Σ r_k e^{2iθ_k} / 2), not quantised by "
        "the sampling.",
        "Maximum of the 'smooth'-filtered ([0, 1/5, 1, 1/5, 0]), spline-interpolated "
        "curve on a 1° grid."),
    "peak_sf": _Spec(
        "sf", "sf, phase", "c/deg",
        "Peak of a log-Gaussian fitted to the phase-averaged SF curve at the preferred "
        "orientation; NaN where the fit fails or its peak lies outside the sampled range.",
        "Maximum (100-point log grid) of the smoothed, spline-interpolated curve of the "
        "larger of F0 − baseline and F1 at the preferred orientation and component."),
    "sf_bandwidth": _Spec(
        "sf", "sf, phase", "percent",
        "Low/high cut-off ratio × 100 at 0.707 of the peak of the fitted log-Gaussian "
        "(baseline included); NaN (not selective) where a cut-off falls outside the "
        "sampled range.  The fit is robust to the coarse 22-point sampling.",
        "Low/high cut-off ratio × 100 at 0.707 of the peak of the smoothed, "
        "spline-interpolated phase-averaged rate curve (Schiller 1976 benchmark uses F0, "
        "not max(F0, F1)); NaN (not selective) where a cut-off is not reached."),
    "sf_selective": _Spec(
        "sf", "sf, phase", "fraction",
        "1 where sf_bandwidth (ours) is defined, else 0.",
        "1 where Brain-Score's sf_bandwidth is defined, else 0."),
    "surround_suppression_index": _Spec(
        "size", "radius, phase", "",
        "(peak − plateau) / peak of the baseline-subtracted phase-averaged size curve "
        "(analysis.response_functions.size_tuning); NaN where the peak <= 0.",
        "(max − last) / max of the larger of F0 − baseline and F1 at the preferred "
        "condition and component."),
    "grating_summation_field": _Spec(
        "size", "radius, phase", "deg",
        "Diameter at the peak of the size curve (Cavanaugh et al.'s definition); only "
        "where SSI > 0.1, the cells the reference holds.",
        "2 × the first radius reaching 95% of the peak; only where SSI > 0.1."),
    "surround_diameter": _Spec(
        "size", "radius, phase", "deg",
        "Smallest diameter beyond the GSF where the response is within 5% of the "
        "suppression depth (peak − plateau) of the plateau; only where SSI > 0.1.  "
        "Scale-free, unlike a criterion relative to the plateau, which is never met "
        "by a curve that settles exactly at 0 from above.",
        "2 × the first radius beyond the preferred one with response <= plateau + "
        "0.05 |plateau|; only where SSI > 0.1."),
    "surround_gsf_ratio": _Spec(
        "size", "radius, phase", "",
        "surround_diameter / grating_summation_field (ours).",
        "surround_diameter / grating_summation_field (Brain-Score's).", marques=False),
    "texture_modulation_index": _Spec(
        "texture", "image_type, family, sample", "",
        "Mean over families of (T − N)/(T + N) of family-mean responses above baseline, "
        "rectified at 0 as Freeman, Ziemba et al. treat the recorded cells, so the index "
        "stays in [−1, 1]; families with T + N = 0 are left out.",
        "Mean over families of (T − N)/(T + N) of baseline-subtracted family-mean rates "
        "(not rectified, as Brain-Score's model side)."),
    "abs_texture_modulation_index": _Spec(
        "texture", "image_type, family, sample", "",
        "|texture_modulation_index| (ours).", "|texture_modulation_index| (Brain-Score's)."),
    "texture_selectivity": _Spec(
        "texture", "image_type, family, sample", "",
        "Sparseness across families of the rectified family-mean texture responses.",
        "Sparseness across families of baseline-subtracted family-mean texture rates."),
    "texture_sparseness": _Spec(
        "texture", "image_type, family, sample", "",
        "Sparseness across every texture image of the rectified responses.",
        "Sparseness across every texture image of baseline-subtracted rates."),
    "texture_variance_ratio": _Spec(
        "texture", "image_type, family, sample", "",
        "Across-family / across-sample variance (nested ANOVA, + 0.02 regulariser) of the "
        "rectified texture responses; no spike-count stabilising transform, which is for "
        "Poisson counts and a noise-free model unit has none.",
        "The same ANOVA on sqrt(x) + sqrt(x + 1) of the rates / 10 (spike counts in "
        "100 ms, variance-stabilised)."),
    "max_texture": _Spec(
        "texture", "image_type, family, sample", "spikes/s",
        "Largest response to a texture above the blank response, in spikes/s after the "
        "firing-rate map (same as Brain-Score).",
        "Largest baseline-subtracted texture rate."),
    "max_noise": _Spec(
        "texture", "image_type, family, sample", "spikes/s",
        "Largest response to a noise image above the blank response, in spikes/s (same "
        "as Brain-Score).",
        "Largest baseline-subtracted noise rate."),
}
MARQUES_PROPERTIES: tuple[str, ...] = tuple(k for k, v in _SPECS.items() if v.marques)


def list_properties(*, include_extra: bool = False) -> Table:
    """The Marques et al. (2021) V1 properties: definitions, protocols and references.

    Parameters
    ----------
    include_extra : bool
        Also list ``surround_gsf_ratio`` (Cavanaugh 2002, published, but not one of
        the 22 benchmarks).

    Returns
    -------
    Table
        One row per property: ``name``, ``group`` (the recording it needs, a key of
        :func:`marques_properties`), ``needs`` (condition columns), ``units``,
        ``methods`` (``"ours, brainscore"``), ``ours`` and ``brainscore`` (the two
        definitions), ``source`` (reference citation), ``reference_status``
        (``published``, ``approximate`` or ``none``), ``approximate`` (bool),
        ``scored`` (a reference with numbers is bundled), ``marques2021`` (one of the 22).

    Raises
    ------
    TypeError
        If ``include_extra`` is not a bool.

    Examples
    --------
    >>> tab = list_properties()
    >>> len(tab), int(tab["approximate"].sum()) < len(tab)
    (22, True)
    >>> tab.row(list(tab["name"]).index("peak_sf"))["reference_status"]
    'published'
    """
    if not isinstance(include_extra, bool):
        raise TypeError(f"include_extra must be a bool, got {include_extra!r}")
    names = [k for k, v in _SPECS.items() if v.marques or include_extra]
    refs = [reference_distribution(n, collection="marques2021") for n in names]
    return Table({
        "name": np.array(names),
        "group": np.array([_SPECS[n].group for n in names]),
        "needs": np.array([_SPECS[n].needs for n in names]),
        "units": np.array([_SPECS[n].units for n in names]),
        "methods": np.array([", ".join(METHODS)] * len(names)),
        "ours": np.array([_SPECS[n].ours for n in names]),
        "brainscore": np.array([_SPECS[n].brainscore for n in names]),
        "source": np.array([r.source for r in refs]),
        "reference_status": np.array([r.status for r in refs]),
        "approximate": np.array([r.approximate for r in refs]),
        "scored": np.array([r.kind != "none" for r in refs]),
        "marques2021": np.array([_SPECS[n].marques for n in names]),
    })


# ============================================================ firing-rate map

@dataclass(frozen=True)
class FiringRateMap:
    """Affine map from model responses to firing rates (Brain-Score's, Marques et al. 2021).

    ``rate = max(0, slope · max(0, response) + offset)``.  Fitted by
    :func:`fit_firing_rate_map` so that, over the responsive units, the median blank
    response maps to 0.82 spikes/s (median spontaneous rate) and the median peak
    grating response to 33.8 spikes/s (median peak rate of Ringach et al. 2002 cells).

    Attributes
    ----------
    slope, offset : float
        Spikes/s per response unit, and spikes/s.
    n_responsive : int
        Units the map was fitted on.
    blank_measured : bool
        False when no blank response was given and 0 was assumed.
    """

    slope: float
    offset: float
    n_responsive: int
    blank_measured: bool

    def __call__(self, responses: Any) -> np.ndarray:
        """Map responses (any shape) to firing rates in spikes/s, float64."""
        r = np.maximum(np.asarray(responses, dtype=np.float64), 0.0)
        return np.maximum(self.slope * r + self.offset, 0.0)


def _check_rate_map(rate_map: Any) -> None:
    if rate_map is not None and not isinstance(rate_map, FiringRateMap):
        raise TypeError(f"rate_map must be a FiringRateMap (fit_firing_rate_map) or None, got "
                        f"{type(rate_map).__name__}")


def fit_firing_rate_map(recording: Recording, *, blank: Any = None) -> FiringRateMap:
    """Fit Brain-Score's response → firing-rate map on an orientation recording.

    Responses are clipped at 0; each unit's peak is its largest phase-averaged
    response over the conditions; units whose peak exceeds their blank response by
    more than 5/243.1 of the largest such excess (Brain-Score's threshold: 5 spikes/s
    of a 243.1 spikes/s cell) are responsive.  Slope and offset then map the median
    blank response of those units to 0.82 spikes/s and their median peak to 33.8
    spikes/s.

    Parameters
    ----------
    recording : Recording
        Static responses with a ``phase`` column (e.g. ``orientation_tuning``).
    blank : Recording, array_like of shape (n_units,) or None
        Each unit's response to a blank (mean grey) screen: a recording (responses
        averaged over its stimuli) or the values; None assumes 0.

    Returns
    -------
    FiringRateMap

    Raises
    ------
    ValueError
        If the recording has no phase column, ``blank`` has the wrong length, or no
        unit responds above its blank (the map is undefined).

    Examples
    --------
    >>> phase = np.arange(0, 360, 90.0)
    >>> rec = Recording({"phase": phase}, np.array([[1.0, 2.0]] * 4))
    >>> m = fit_firing_rate_map(rec)
    >>> round(m.slope, 3), round(m.offset, 2)
    (21.987, 0.82)
    """
    f0, _, _ = _phase_f0_f1(_static(recording, "the firing-rate map"))
    base = np.maximum(_blank(blank, recording.n_units), 0.0)
    peak = np.maximum(f0, 0.0).max(axis=0)
    excess = peak - base
    responsive = excess > (_marques.RESPONSE_THRESHOLD / _marques.SINGLE_MAX_RATE) * excess.max()
    if not np.any(responsive) or excess.max() <= 0:
        raise ValueError("no unit of the recording responds above its blank response; "
                         "the firing-rate map is undefined")
    med_base = float(np.median(base[responsive]))
    med_peak = float(np.median(peak[responsive]))
    if med_peak <= med_base:
        raise ValueError(f"the median peak response ({med_peak:g}) does not exceed the median "
                         f"blank response ({med_base:g}); the firing-rate map is undefined")
    slope = (_marques.MEDIAN_MAX_RATE - _marques.MEDIAN_SPONTANEOUS_RATE) / (med_peak - med_base)
    offset = _marques.MEDIAN_SPONTANEOUS_RATE - slope * med_base
    return FiringRateMap(slope=slope, offset=offset, n_responsive=int(responsive.sum()),
                         blank_measured=blank is not None)


def _fit_map(recording: Recording, blank: Any, method: str) -> FiringRateMap | None:
    """The layer's firing-rate map; ``"ours"`` goes on without one if none can be fitted."""
    try:
        return fit_firing_rate_map(recording, blank=blank)
    except ValueError:
        if method == "brainscore":
            raise
        return None        # max_dc, max_texture, max_noise are then NaN with a reason


# ============================================================ input helpers

def _static(recording: Any, what: str) -> Recording:
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be an analysis.recording.Recording, "
                        f"got {type(recording).__name__}")
    if recording.has_time:          # a temporal model shown static images: its mean rate
        return Recording(recording.conditions,
                         np.asarray(recording.responses, dtype=np.float64).mean(axis=2),
                         recording.unit_info, recording.meta)
    return recording


def _require(recording: Recording, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in recording.conditions.names]
    if missing:
        raise ValueError(
            f"property {name!r} needs condition column(s) {', '.join(map(repr, missing))}; "
            f"the recording has {', '.join(recording.conditions.names) or '(none)'}")


def _blank(blank: Any, n_units: int) -> np.ndarray:
    if blank is None:
        return np.zeros(n_units)
    if isinstance(blank, Recording):
        if blank.n_units != n_units:
            raise ValueError(f"blank recording has {blank.n_units} units, expected {n_units}")
        r = np.asarray(blank.responses, dtype=np.float64)
        return r.mean(axis=tuple(i for i in range(r.ndim) if i != 1))
    arr = check_array("blank", blank, ndim=1, shape_doc=f"({n_units},)", dtype=np.float64)
    if arr.shape != (n_units,):
        raise ValueError(f"blank must have shape ({n_units},) (one value per unit), "
                         f"got {arr.shape}")
    return arr


def _grid(groups: Table, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Levels of ``column`` and ``index[key, level]`` into the groups of a full factorial."""
    levels, level_idx = np.unique(np.asarray(groups[column], dtype=np.float64),
                                  return_inverse=True)
    others = [n for n in groups.names if n != column]
    if others:
        codes = np.stack([np.unique(np.asarray(groups[n]), return_inverse=True)[1].ravel()
                          for n in others], axis=1)
        _, key_idx = np.unique(codes, axis=0, return_inverse=True)
        key_idx = key_idx.ravel()
    else:
        key_idx = np.zeros(len(level_idx), dtype=np.intp)
    n_keys = key_idx.max() + 1
    index = np.full((n_keys, len(levels)), -1)
    index[key_idx, level_idx.ravel()] = np.arange(len(level_idx))
    if np.any(index < 0):
        raise ValueError(f"the conditions are not a full factorial of {column!r} with "
                         f"{', '.join(map(repr, others))}: {int(np.sum(index < 0))} "
                         "combinations are missing")
    return levels, index


def _components(recording: Recording, column: str, rates: FiringRateMap | None):
    """``levels, f0 (n_keys, n_levels, n_units), f1 (...)`` over phase, rates if mapped."""
    if rates is not None:
        recording = Recording(recording.conditions, rates(recording.responses))
    f0, f1, groups = _phase_f0_f1(recording)
    if column not in groups.names:
        raise ValueError(f"the recording's phase-averaged conditions have no {column!r} column")
    levels, index = _grid(groups, column)
    return levels, f0[index], f1[index]


def _at_preferred(grid: np.ndarray) -> np.ndarray:
    """Per unit, the curve ``(n_units, n_levels)`` of the key holding the unit's maximum."""
    n_keys, n_levels, n_units = grid.shape
    best_key = np.argmax(grid.max(axis=1), axis=0)
    return grid[best_key, :, np.arange(n_units)]


def _need_map(rates: FiringRateMap | None, name: str) -> FiringRateMap:
    if rates is None:
        raise ValueError(f"property {name!r} needs rate_map (a FiringRateMap from "
                         "fit_firing_rate_map on an orientation recording) to express "
                         "responses in spikes/s")
    return rates


def _reasons(n: int) -> np.ndarray:
    return np.full(n, "", dtype=object)


def _set(values: np.ndarray, reasons: np.ndarray, mask: np.ndarray, why: str) -> None:
    """NaN and a reason where ``mask`` and no earlier reason was given."""
    fresh = mask & (reasons == "")
    reasons[fresh] = why
    values[mask] = np.nan


# ============================================================ the four groups

def _orientation_group(rec: Recording, method: str, rates: FiringRateMap | None,
                       blank: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rec = _static(rec, "orientation properties")
    _require(rec, ("orientation", "phase"), "orientation properties")
    n = rec.n_units
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if rates is not None and method == "ours":
        _, f0, _ = _components(rec, "orientation", rates)
        max_dc = f0.max(axis=(0, 1))
    if method == "brainscore":
        rates = _need_map(rates, "orientation properties")
        theta, f0, f1 = _components(rec, "orientation", rates)
        flat_f0 = f0.reshape(-1, n)
        best = np.argmax(flat_f0, axis=0)
        max_dc = flat_f0[best, np.arange(n)]
        with np.errstate(divide="ignore", invalid="ignore"):
            mr = f1.reshape(-1, n)[best, np.arange(n)] / max_dc
        curve = _at_preferred(f0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cv = 1.0 - np.abs(curve @ np.exp(2j * np.deg2rad(theta))) / np.abs(curve).sum(axis=1)
        _, width = _marques.bs_orientation_readout(curve, theta, kernel="hanning", level=0.707)
        bw = width / 2.0
        pref, _ = _marques.bs_orientation_readout(curve, theta, kernel="smooth", level=0.5)
        top = np.argmax(curve, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            opr = curve[np.arange(n), (top + len(theta) // 2) % len(theta)] / curve.max(axis=1)
        selective = np.where(np.isnan(bw), 0.0, 1.0)
        weak = ~(max_dc > rates(blank) + _marques.RESPONSE_THRESHOLD)
        weak_why = "weak response: max_dc <= blank rate + 5 spikes/s (Brain-Score's criterion)"
        undefined_bw = "not orientation selective: smoothed curve never falls to 0.707 of its peak"
    else:
        tab = tuning.orientation_tuning(rec, negative="shift")
        curves = tuning.tuning_curves(rec, "orientation")
        theta = curves.values
        r = curves.mean - np.minimum(curves.mean.min(axis=1, keepdims=True), 0.0)
        cv = np.asarray(tab["circular_variance"], dtype=float)
        pref = np.asarray(tab["preferred_orientation"], dtype=float)
        defined = np.asarray(tab["bandwidth_defined"], bool) & np.asarray(tab["fit_ok"], bool)
        bw = np.where(defined, np.asarray(tab["bandwidth"], float), np.nan)
        selective = np.where(defined, 1.0, 0.0)
        opr = np.full(n, np.nan)
        for u in np.flatnonzero(np.isfinite(pref)):
            at = np.interp([pref[u], pref[u] + 90.0], theta, r[u], period=180.0)
            opr[u] = at[1] / at[0] if at[0] > 0 else np.nan
        mod = _modulation_table(rec)
        mr = np.where(np.asarray(mod["f0_positive"], bool),
                      np.asarray(mod["modulation_ratio"], float), np.nan)
        weak = ~np.asarray(tab["responsive"], bool)
        weak_why = "silent unit: no positive response at any orientation"
        undefined_bw = "not orientation selective or von Mises fit failed (no bandwidth)"
    values = {
        "circular_variance": cv, "or_bandwidth": bw, "orth_pref_ratio": opr,
        "or_selective": selective, "cv_bandwidth_ratio": cv / bw, "opr_cv_diff": opr - cv,
        "modulation_ratio": mr, "preferred_orientation": pref,
        "max_dc": max_dc if rates is not None else np.full(n, np.nan),
    }
    for name, v in values.items():
        v = np.array(v, dtype=np.float64)
        why = _reasons(n)
        _set(v, why, weak, weak_why)
        if name in ("or_bandwidth", "cv_bandwidth_ratio"):
            _set(v, why, np.isnan(bw), undefined_bw)
        if name == "max_dc" and rates is None:
            _set(v, why, np.ones(n, bool), "no firing-rate map (pass rate_map or an "
                 "orientation recording to marques_properties)")
        _set(v, why, np.isnan(v), "F0 <= 0 at the preferred condition" if name ==
             "modulation_ratio" else "undefined (zero or non-finite response)")
        out[name] = (v, why)
    return out


def _sf_group(rec: Recording, method: str, rates: FiringRateMap | None,
              blank: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rec = _static(rec, "SF properties")
    _require(rec, ("sf", "phase"), "SF properties")
    n = rec.n_units
    if method == "brainscore":
        rates = _need_map(rates, "SF properties")
        f, f0, f1 = _components(rec, "sf", rates)
        if np.any(f <= 0) or len(f) < 5:
            raise ValueError(f"SF properties need >= 5 positive sfs, got {f.tolist()}")
        base = rates(blank)
        both = np.stack([f0 - base, f1], axis=0)                # (2, keys, levels, units)
        flat = both.reshape(-1, len(f), n)                       # (2*keys, levels, units)
        peak_curve = _at_preferred(flat)
        peak, _ = _marques.bs_sf_readout(peak_curve, f)
        _, bw = _marques.bs_sf_readout(_at_preferred(f0), f)
        weak_peak = ~(flat.max(axis=(0, 1)) > _marques.RESPONSE_THRESHOLD)
        weak_bw = ~(f0.max(axis=(0, 1)) > base + _marques.RESPONSE_THRESHOLD)
        why_peak = "weak response: max(F0 − blank, F1) <= 5 spikes/s (Brain-Score's criterion)"
        why_bw = "weak response: max F0 <= blank rate + 5 spikes/s (Brain-Score's criterion)"
        no_bw = "not SF selective: smoothed curve does not fall to 0.707 of its peak on both sides"
    else:
        tab = tuning.sf_tuning(rec, negative="shift")
        f = np.unique(np.asarray(rec.conditions["sf"], dtype=float))
        ok = np.asarray(tab["fit_ok"], bool)
        peak = np.where(ok & np.asarray(tab["peak_in_range"], bool),
                        np.asarray(tab["peak_sf"], float), np.nan)
        # the fitted curve is a Gaussian on a Box-Cox frequency axis (tuning.sf_tuning):
        # rebuild its parameters and read the cut-offs at 0.707 of the peak from it
        lam = np.asarray(tab["fit_lambda"], float)
        sigma = np.asarray(tab["fit_sigma"], float)
        amp = np.asarray(tab["fit_amplitude"], float)
        b = np.asarray(tab["fit_baseline"], float)
        ref = float(np.mean(np.log2(f)))
        with np.errstate(divide="ignore", invalid="ignore"):
            x_peak = np.log2(np.where(np.isfinite(peak), peak, 1.0)) - ref
            m = _fitting.boxcox_axis(x_peak, np.nan_to_num(lam)[:, None]).diagonal()
            target = (0.707 * (amp + b) - b) / amp
            width = sigma * np.sqrt(2.0 * np.log(1.0 / target))     # units of the axis
        reach = ok & (amp > 0) & (target > 0) & (target < 1) & np.isfinite(peak)
        params = np.stack([b, amp, m, sigma, lam], axis=1)
        lo_x, hi_x = _fitting.boxcox_crossings(np.nan_to_num(params),
                                               np.where(reach, width, 0.0))
        lo, hi = 2.0 ** (lo_x + ref), 2.0 ** (hi_x + ref)
        inside = reach & np.isfinite(lo) & np.isfinite(hi) & (lo >= f.min()) & (hi <= f.max())
        with np.errstate(divide="ignore", invalid="ignore"):
            bw = np.where(inside, lo / hi * 100.0, np.nan)
        weak_peak = weak_bw = ~np.asarray(tab["responsive"], bool)
        why_peak = why_bw = "silent unit: no positive response at any sf"
        no_bw = "not SF selective: a 0.707 cut-off of the fit lies outside the sampled range"
    out = {}
    for name, v, weak, why_weak in (("peak_sf", peak, weak_peak, why_peak),
                                    ("sf_bandwidth", bw, weak_bw, why_bw),
                                    ("sf_selective", np.where(np.isnan(bw), 0.0, 1.0), weak_bw,
                                     why_bw)):
        v = np.array(v, dtype=np.float64)
        why = _reasons(n)
        _set(v, why, weak, why_weak)
        _set(v, why, np.isnan(v), no_bw if name == "sf_bandwidth" else
             "SF fit failed or its peak is outside the sampled range")
        out[name] = (v, why)
    return out


def _size_group(rec: Recording, method: str, rates: FiringRateMap | None,
                blank: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rec = _static(rec, "size properties")
    _require(rec, ("radius", "phase"), "size properties")
    radius = np.asarray(rec.conditions["radius"], dtype=float)
    if not np.all(np.isfinite(radius)) or np.any(radius <= 0):
        raise ValueError("size properties need finite positive radii (deg); drop the "
                         "full-field (inf) condition, got "
                         f"{np.unique(radius).tolist()}")
    n = rec.n_units
    if method == "brainscore":
        rates = _need_map(rates, "size properties")
        radii, f0, f1 = _components(rec, "radius", rates)
        both = np.stack([f0 - rates(blank), f1], axis=0)
        flat = both.reshape(-1, len(radii), n)
        res = _marques.bs_size_readout(_at_preferred(flat), radii)
        weak = ~(flat.max(axis=(0, 1)) > _marques.RESPONSE_THRESHOLD)
        why_weak = "weak response: max(F0 − blank, F1) <= 5 spikes/s (Brain-Score's criterion)"
    else:
        radii, f0, _ = _components(rec, "radius", None)
        curves = _at_preferred(f0 - blank)                    # (units, radii)
        tab = _size_table(Recording({"radius": radii}, curves.T))
        ssi = np.asarray(tab["ssi"], float)
        gsf = np.asarray(tab["gsf_diameter"], float)
        peak, plateau = np.asarray(tab["peak"], float), np.asarray(tab["plateau"], float)
        surround = np.full(n, np.nan)
        for u in range(n):
            near = curves[u] <= plateau[u] + 0.05 * (peak[u] - plateau[u])
            beyond = (radii > gsf[u] / 2) & near
            if np.any(beyond):
                surround[u] = 2.0 * radii[np.flatnonzero(beyond)[0]]
        suppressed = ssi > 0.1
        res = {"surround_suppression_index": ssi,
               "grating_summation_field": np.where(suppressed, gsf, np.nan),
               "surround_diameter": np.where(suppressed, surround, np.nan)}
        res["surround_gsf_ratio"] = res["surround_diameter"] / res["grating_summation_field"]
        weak = ~np.asarray(tab["responsive"], bool)
        why_weak = "no response above the blank at any size"
    out = {}
    ssi_for = res["surround_suppression_index"]
    for name, v in res.items():
        v = np.array(v, dtype=np.float64)
        why = _reasons(n)
        _set(v, why, weak, why_weak)
        if name != "surround_suppression_index":
            _set(v, why, ~(ssi_for > 0.1), "SSI <= 0.1: not suppressed (the reference holds "
                 "only cells with > 10% suppression)")
        _set(v, why, np.isnan(v), "undefined (peak <= 0)")
        out[name] = (v, why)
    return out


def _texture_grid(rec: Recording) -> np.ndarray:
    """Responses as ``(2, n_families, n_samples, n_units)``: noise first, then texture."""
    cond = rec.conditions
    kinds = np.asarray(cond["image_type"]).astype(str)
    bad = sorted(set(kinds) - {"noise", "texture"})
    if bad:
        raise ValueError(f"image_type must be 'noise' or 'texture', got {bad}")
    fam_levels, fam = np.unique(np.asarray(cond["family"]), return_inverse=True)
    smp_levels, smp = np.unique(np.asarray(cond["sample"]), return_inverse=True)
    kind = (kinds == "texture").astype(int)
    n_f, n_s = len(fam_levels), len(smp_levels)
    if n_f < 2 or n_s < 2:
        raise ValueError(f"texture properties need >= 2 families and >= 2 samples, got "
                         f"{n_f} families and {n_s} samples")
    cell = (kind * n_f + fam.ravel()) * n_s + smp.ravel()
    counts = np.bincount(cell, minlength=2 * n_f * n_s)
    if np.any(counts == 0):
        raise ValueError("the texture recording is not a full factorial of image_type "
                         f"(noise, texture) × {n_f} families × {n_s} samples: "
                         f"{int(np.sum(counts == 0))} combinations are missing")
    resp = np.asarray(rec.responses, dtype=np.float64)
    total = np.zeros((2 * n_f * n_s, rec.n_units))
    np.add.at(total, cell, resp)                            # repeats averaged
    return (total / counts[:, None]).reshape(2, n_f, n_s, rec.n_units)


def _texture_group(rec: Recording, method: str, rates: FiringRateMap | None,
                   blank: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rec = _static(rec, "texture properties")
    _require(rec, ("image_type", "family", "sample"), "texture properties")
    n = rec.n_units
    if method == "brainscore":
        rates = _need_map(rates, "texture properties")
        grid = np.moveaxis(_texture_grid(Recording(rec.conditions, rates(rec.responses))), 3, 0)
        spikes = np.sqrt(grid[:, 1] / 10.0) + np.sqrt(grid[:, 1] / 10.0 + 1.0)
        r = grid - rates(blank)[:, None, None, None]            # (units, 2, fam, smp)
        vr = _marques.variance_ratio(spikes)
        weak = ~(r.reshape(n, -1).max(axis=1) > _marques.RESPONSE_THRESHOLD)
        why_weak = "weak response: max rate − blank <= 5 spikes/s (Brain-Score's criterion)"
        max_r = r
    else:
        grid = np.moveaxis(_texture_grid(rec), 3, 0)
        r = np.maximum(grid - blank[:, None, None, None], 0.0)
        vr = _marques.variance_ratio(r[:, 1])
        weak = ~(r.reshape(n, -1).max(axis=1) > 0)
        why_weak = "no response above the blank to any image"
        max_r = None
        if rates is not None:
            mapped = np.moveaxis(_texture_grid(Recording(rec.conditions, rates(rec.responses))),
                                 3, 0)
            max_r = mapped - rates(blank)[:, None, None, None]
    fam = r.mean(axis=3)                                       # (units, 2, fam)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_family = (fam[:, 1] - fam[:, 0]) / (fam[:, 1] + fam[:, 0])
    if method == "ours":
        per_family[(fam[:, 1] + fam[:, 0]) <= 0] = np.nan
    # a family whose texture and noise rates cancel (x / 0) has no index: it is left out
    # of the unit's mean, like a 0 / 0 one, instead of making the mean inf or inf − inf
    per_family[~np.isfinite(per_family)] = np.nan
    usable = np.any(np.isfinite(per_family), axis=1)
    tmi = np.full(n, np.nan)
    tmi[usable] = np.nanmean(per_family[usable], axis=1)
    res = {"texture_modulation_index": tmi, "abs_texture_modulation_index": np.abs(tmi),
           "texture_selectivity": _marques.sparseness(fam[:, 1]),
           "texture_sparseness": _marques.sparseness(r[:, 1].reshape(n, -1)),
           "texture_variance_ratio": vr}
    if max_r is not None:
        res["max_texture"] = max_r[:, 1].reshape(n, -1).max(axis=1)
        res["max_noise"] = max_r[:, 0].reshape(n, -1).max(axis=1)
    else:
        res["max_texture"] = res["max_noise"] = np.full(n, np.nan)
    out = {}
    for name, v in res.items():
        v = np.array(v, dtype=np.float64)
        why = _reasons(n)
        _set(v, why, weak, why_weak)
        if name.startswith("max_") and max_r is None:
            _set(v, why, np.ones(n, bool), "no firing-rate map (pass rate_map or an "
                 "orientation recording to marques_properties)")
        _set(v, why, np.isnan(v), "undefined (responses do not vary or sum to 0)")
        out[name] = (v, why)
    return out


_GROUPS: dict[str, Callable[..., dict]] = {
    "orientation": _orientation_group, "sf": _sf_group, "size": _size_group,
    "texture": _texture_group,
}


def _result(name: str, method: str, pair: tuple[np.ndarray, np.ndarray]) -> PropertyValues:
    values, reasons = pair
    return PropertyValues(name=name, method=method, values=values,
                          reasons=reasons.astype(str), units=_SPECS[name].units)


# ============================================================ public computation

def compute_property(name: str, recording: Recording, *, method: str = "ours",
                     rate_map: FiringRateMap | None = None, blank: Any = None) -> PropertyValues:
    """One Marques et al. (2021) property for every unit of a recording.

    ``list_properties()`` gives each property's two definitions (``ours`` and
    ``brainscore`` columns) and the recording it needs.  Properties of one group are
    computed together; to get many, :func:`marques_properties` computes each group
    once.

    Parameters
    ----------
    name : str
        A property of :func:`list_properties` (``include_extra=True`` for
        ``surround_gsf_ratio``).
    recording : Recording
        Static responses of the property's protocol (see the module docstring):
        orientation × phase, sf × phase, radius × phase, or the texture families.
    method : {"ours", "brainscore"}
        Definition mode.
    rate_map : FiringRateMap, optional
        Response → firing-rate map (:func:`fit_firing_rate_map`).  Needed by every
        ``"brainscore"`` property and by ``max_dc``, ``max_texture``, ``max_noise``;
        for orientation properties it is fitted on the recording itself when omitted.
    blank : Recording, array_like of shape (n_units,) or None
        Each unit's response to a blank screen (None: 0).

    Returns
    -------
    PropertyValues
        ``values`` (n_units,) with NaN where undefined and ``reasons`` saying why.

    Raises
    ------
    ValueError
        If ``name`` or ``method`` is unknown, the recording lacks a column the
        property needs (the message names it), the conditions are not a full
        factorial, or a needed ``rate_map`` is missing.
    TypeError
        If ``recording`` is not a Recording.

    Examples
    --------
    A unit whose response is ``1 + cos(phase)`` at 0° and 0 elsewhere is a perfectly
    selective simple cell (F1/F0 = 1, circular variance 0).  Brain-Score's definition
    works on firing rates, where the map adds the 0.82 spikes/s spontaneous rate at
    every orientation, so its circular variance is above 0:

    >>> theta, phase = np.meshgrid(np.arange(0, 180, 15.0), np.arange(0, 360, 45.0),
    ...                            indexing="ij")
    >>> r = np.where(theta == 0, 1 + np.cos(np.deg2rad(phase)), 0.0).ravel()[:, None]
    >>> rec = Recording({"orientation": theta.ravel(), "phase": phase.ravel()}, r)
    >>> float(compute_property("modulation_ratio", rec).values[0])
    1.0
    >>> float(compute_property("circular_variance", rec).values[0])
    0.0
    >>> round(float(compute_property("circular_variance", rec, method="brainscore").values[0]), 2)
    0.23
    """
    if not isinstance(name, str) or name not in _SPECS:
        raise ValueError(f"name: unknown property {name!r}; known: {', '.join(_SPECS)}")
    check_choice("method", method, METHODS)
    _check_rate_map(rate_map)
    spec = _SPECS[name]
    recording = _static(recording, f"property {name!r}")
    base = _blank(blank, recording.n_units)
    if rate_map is None and spec.group == "orientation":
        _require(recording, ("orientation", "phase"), name)
        rate_map = _fit_map(recording, blank, method)
    if spec.group != "orientation":
        _require(recording, tuple(c.strip() for c in spec.needs.split(",")), name)
    return _result(name, method, _GROUPS[spec.group](recording, method, rate_map, base)[name])


def marques_properties(recordings: Mapping[str, Recording], *, method: str = "ours",
                       blank: Any = None, rate_map: FiringRateMap | None = None,
                       include_extra: bool = True) -> Table:
    """Every Marques et al. (2021) property the given recordings allow, per unit.

    Parameters
    ----------
    recordings : mapping of str to Recording
        Keys among ``"orientation"``, ``"sf"``, ``"size"``, ``"texture"`` (see the
        module docstring for the columns).  The units of one layer: all recordings
        should hold the same units in the same order for per-unit comparisons, but
        each property only uses its own recording.
    method : {"ours", "brainscore"}
        Definition mode.
    blank : Recording, array_like of shape (n_units,) or None
        Each unit's response to a blank screen (None: 0).
    rate_map : FiringRateMap, optional
        Default: fitted on ``recordings["orientation"]`` (:func:`fit_firing_rate_map`).
        Without either, ``"brainscore"`` raises for the other groups and ``"ours"``
        leaves ``max_texture``/``max_noise`` NaN with a reason.
    include_extra : bool
        Also compute ``surround_gsf_ratio``.

    Returns
    -------
    Table
        Long format, one row per (property, unit): ``property``, ``group``, ``unit``,
        ``value`` (NaN where undefined), ``reason`` (empty where defined), ``method``.

    Raises
    ------
    ValueError
        If a key is unknown, ``method`` is unknown, no recording is given, or a
        recording lacks a needed column.
    TypeError
        If a value is not a Recording.

    Examples
    --------
    >>> theta, phase = np.meshgrid(np.arange(0, 180, 15.0), np.arange(0, 360, 45.0),
    ...                            indexing="ij")
    >>> r = np.where(theta == 0, 1 + np.cos(np.deg2rad(phase)), 0.0).ravel()[:, None]
    >>> rec = Recording({"orientation": theta.ravel(), "phase": phase.ravel()}, r)
    >>> tab = marques_properties({"orientation": rec})
    >>> sorted(set(tab["property"].tolist()))[:3]
    ['circular_variance', 'cv_bandwidth_ratio', 'max_dc']
    """
    check_choice("method", method, METHODS)
    _check_rate_map(rate_map)
    if not isinstance(include_extra, bool):
        raise TypeError(f"include_extra must be a bool, got {include_extra!r:.60}")
    if not isinstance(recordings, Mapping) or not recordings:
        raise ValueError("recordings must be a non-empty mapping of group name to Recording, "
                         f"with keys among {', '.join(GROUPS)}")
    unknown = [k for k in recordings if k not in GROUPS]
    if unknown:
        raise ValueError(f"unknown recording key(s) {unknown}; expected keys among "
                         f"{', '.join(GROUPS)}")
    for key, rec in recordings.items():
        if not isinstance(rec, Recording):
            raise TypeError(f"recordings[{key!r}] must be a Recording, got {type(rec).__name__}")
    if rate_map is None and "orientation" in recordings:
        rate_map = _fit_map(_static(recordings["orientation"], "the firing-rate map"), blank,
                            method)
    cols: dict[str, list] = {k: [] for k in ("property", "group", "unit", "value", "reason")}
    for group, rec in recordings.items():
        base = _blank(blank, rec.n_units)
        for name, (values, reasons) in _GROUPS[group](rec, method, rate_map, base).items():
            if not (_SPECS[name].marques or include_extra):
                continue
            cols["property"] += [name] * len(values)
            cols["group"] += [group] * len(values)
            cols["unit"] += list(range(len(values)))
            cols["value"] += list(values)
            cols["reason"] += list(reasons)
    n = len(cols["value"])
    return Table({"property": np.array(cols["property"], dtype=str),
                  "group": np.array(cols["group"], dtype=str),
                  "unit": np.array(cols["unit"], dtype=np.int64),
                  "value": np.array(cols["value"], dtype=np.float64),
                  "reason": np.array(cols["reason"], dtype=str),
                  "method": np.array([method] * n, dtype=str)})


#: Properties scored against the ``"macaque_v1"`` references by ``method="ks"`` (same units).
_KS_REFERENCES = {"preferred_orientation": "preferred_orientation", "peak_sf": "peak_sf",
                  "circular_variance": "circular_variance",
                  "or_bandwidth": "orientation_bandwidth",
                  "surround_suppression_index": "surround_suppression_index",
                  "grating_summation_field": "grating_summation_field",
                  "modulation_ratio": "modulation_ratio"}


def score_properties(table: Table, *, method: str = "brainscore", n_boot: int = 1000,
                     rng=None, ceiling: str = "bootstrap") -> Table:
    """Score a :func:`marques_properties` table against the bundled references.

    Parameters
    ----------
    table : Table
        Output of :func:`marques_properties` (one layer).
    method : {"brainscore", "ks"}
        ``"brainscore"`` (default): :func:`analysis.reference.similarity_score` with
        ``method="brainscore"`` on the ``"marques2021"`` references — raw score,
        the data's ceiling and the ceiled score.  ``"ks"``: the package's original
        ``1 − KS`` on the ``"macaque_v1"`` references, for the properties that have
        one in the same units (undefined units dropped first).
    n_boot : int
        Bootstrap resamples.
    rng : None, int or numpy.random.Generator
        Source of the resampling.
    ceiling : {"bootstrap", "split_half"}
        The ``"brainscore"`` ceiling (see :func:`analysis.reference.similarity_score`).

    Returns
    -------
    Table
        One row per property: ``property``, ``n_units``, ``n_defined``, ``raw``,
        ``ci_low``, ``ci_high``, ``ceiling``, ``ceiled`` (NaN for ``"ks"``),
        ``approximate``, ``status``, ``source``, ``cells``, ``count_used``, ``note``
        (why a property is not scored, or the reference's caveat).

    Raises
    ------
    ValueError
        If ``table`` lacks the columns of :func:`marques_properties` or ``method`` is
        unknown.

    Examples
    --------
    >>> from analysis.reference import reference_distribution
    >>> ssi = reference_distribution("surround_suppression_index",
    ...                              collection="marques2021").sample(300, rng=0)
    >>> tab = Table({"property": ["surround_suppression_index"] * 300, "unit": np.arange(300),
    ...              "value": ssi, "reason": [""] * 300})
    >>> row = score_properties(tab, n_boot=200, rng=0).row(0)
    >>> row["status"], bool(row["ceiled"] > 0.9)
    ('published', True)
    """
    check_choice("method", method, ("brainscore", "ks"))
    n_boot = check_int("n_boot", n_boot, minimum=1)
    if not isinstance(table, Table) or not {"property", "value"} <= set(table.names):
        raise ValueError("table must be a Table from marques_properties, with columns "
                         "'property' and 'value'")
    names = list(dict.fromkeys(np.asarray(table["property"]).astype(str)))
    rows: dict[str, list] = {k: [] for k in (
        "property", "n_units", "n_defined", "raw", "ci_low", "ci_high", "ceiling", "ceiled",
        "approximate", "status", "source", "cells", "count_used", "note")}
    for name in names:
        values = np.asarray(table["value"], float)[np.asarray(table["property"]) == name]
        defined = np.isfinite(values) if method == "ks" else ~np.isnan(values)
        ref = reference_distribution(name, collection="marques2021")
        row = {"property": name, "n_units": values.size, "n_defined": int(defined.sum()),
               "raw": np.nan, "ci_low": np.nan, "ci_high": np.nan, "ceiling": np.nan,
               "ceiled": np.nan, "approximate": ref.approximate, "status": ref.status,
               "source": ref.source, "cells": ref.cells, "count_used": ref.count_used,
               "note": ref.note}
        target = name if method == "brainscore" else _KS_REFERENCES.get(name)
        if method == "brainscore" and ref.kind == "none":
            row["note"] = "not scored: " + ref.note
        elif target is None:
            row["note"] = "not scored: no 'macaque_v1' reference in the same units"
        elif not defined.any():
            row["note"] = "not scored: no unit has a defined value"
        else:
            s = similarity_score(values if method == "brainscore" else values[defined], target,
                                 method=method, n_boot=n_boot, rng=rng, ceiling=ceiling)
            row.update(raw=s.score, ci_low=s.ci_low, ci_high=s.ci_high, ceiling=s.ceiling,
                       ceiled=s.ceiled, approximate=s.approximate)
            if s.provenance.get("warning"):
                row["note"] = s.provenance["warning"] + "; " + row["note"]
        for key, value in row.items():
            rows[key].append(value)
    return Table({k: np.array(v, dtype=str if isinstance(v[0], str) else None)
                  if v else np.array([]) for k, v in rows.items()})


# ============================================================ one function per property

_EXAMPLES = {
    "orientation": '''
    >>> theta, phase = np.meshgrid(np.arange(0, 180, 15.0), np.arange(0, 360, 45.0),
    ...                            indexing="ij")
    >>> r = (np.exp(2 * (np.cos(np.deg2rad(2 * (theta - 30))) - 1))
    ...      * (1 + np.cos(np.deg2rad(phase)))).ravel()[:, None]
    >>> rec = Recording({"orientation": theta.ravel(), "phase": phase.ravel()}, r)
    >>> res = {name}(rec)
    >>> res.values.shape, res.units == list_properties(include_extra=True).row(
    ...     list_properties(include_extra=True)["name"].tolist().index("{name}"))["units"]
    ((1,), True)''',
    "sf": '''
    >>> f, phase = np.meshgrid(2.0 ** np.arange(-1, 4.25, 0.25), np.arange(0, 360, 90.0),
    ...                        indexing="ij")
    >>> r = (np.exp(-np.log2(f / 2.0) ** 2 / (2 * 0.6 ** 2))
    ...      * (1 + 0.5 * np.cos(np.deg2rad(phase))))
    >>> rec = Recording({"sf": f.ravel(), "phase": phase.ravel()}, r.ravel()[:, None])
    >>> res = {name}(rec)
    >>> res.values.shape, res.name
    ((1,), '{name}')''',
    "size": '''
    >>> rad, phase = np.meshgrid(np.geomspace(0.1, 4.75, 12), np.arange(0, 360, 90.0),
    ...                          indexing="ij")
    >>> curve = np.minimum(rad / 0.5, 1.0) - 0.5 * np.clip((rad - 0.5) / 1.5, 0, 1)
    >>> rec = Recording({"radius": rad.ravel(), "phase": phase.ravel()}, curve.ravel()[:, None])
    >>> res = {name}(rec)
    >>> res.values.shape, res.name
    ((1,), '{name}')''',
    "texture": '''
    >>> kind, fam, smp = np.meshgrid(["noise", "texture"], np.arange(3), np.arange(4),
    ...                              indexing="ij")
    >>> r = np.where(kind == "texture", 2.0, 1.0) * (1 + fam) + 0.1 * smp
    >>> rec = Recording({"image_type": kind.ravel(), "family": fam.ravel(),
    ...                  "sample": smp.ravel()}, r.ravel()[:, None])
    >>> res = {name}(rec, rate_map=FiringRateMap(10.0, 0.82, 1, False))
    >>> res.values.shape, res.name
    ((1,), '{name}')''',
}

_TEMPLATE = '''{title} of every unit (Marques et al. 2021; reference: {source}).

``method="ours"``: {ours}

``method="brainscore"``: {brainscore}

Parameters
----------
recording : Recording
    Static responses; needs condition columns {needs}.
method : {{"ours", "brainscore"}}
    Definition mode.
rate_map : FiringRateMap, optional
    Response → firing-rate map (:func:`fit_firing_rate_map`); see :func:`compute_property`.
blank : Recording, array_like of shape (n_units,) or None
    Each unit's response to a blank screen (None: 0).

Returns
-------
PropertyValues
    Values in {units} (NaN where undefined, with ``reasons``).

Raises
------
ValueError
    If the recording lacks {needs} (the message names the missing column), ``method``
    is unknown, or as :func:`compute_property`.
TypeError
    If ``recording`` is not a Recording.

Examples
--------
{example}
'''


def _property_function(name: str) -> Callable[..., PropertyValues]:
    spec = _SPECS[name]

    def prop(recording: Recording, *, method: str = "ours",
             rate_map: FiringRateMap | None = None, blank: Any = None) -> PropertyValues:
        return compute_property(name, recording, method=method, rate_map=rate_map, blank=blank)

    prop.__name__ = prop.__qualname__ = name
    prop.__module__ = __name__
    source = reference_distribution(name, collection="marques2021").source
    prop.__doc__ = _TEMPLATE.format(
        title=name.replace("_", " ").capitalize(), source=source, ours=spec.ours,
        brainscore=spec.brainscore, needs=", ".join(f"``{c.strip()}``" for c in
                                                    spec.needs.split(",")),
        units=spec.units or "dimensionless units",
        example=textwrap.dedent(_EXAMPLES[spec.group].replace("{name}", name)).strip("\n"))
    return prop


circular_variance = _property_function("circular_variance")
or_bandwidth = _property_function("or_bandwidth")
orth_pref_ratio = _property_function("orth_pref_ratio")
or_selective = _property_function("or_selective")
cv_bandwidth_ratio = _property_function("cv_bandwidth_ratio")
opr_cv_diff = _property_function("opr_cv_diff")
modulation_ratio = _property_function("modulation_ratio")
max_dc = _property_function("max_dc")
preferred_orientation = _property_function("preferred_orientation")
peak_sf = _property_function("peak_sf")
sf_bandwidth = _property_function("sf_bandwidth")
sf_selective = _property_function("sf_selective")
surround_suppression_index = _property_function("surround_suppression_index")
grating_summation_field = _property_function("grating_summation_field")
surround_diameter = _property_function("surround_diameter")
surround_gsf_ratio = _property_function("surround_gsf_ratio")
texture_modulation_index = _property_function("texture_modulation_index")
abs_texture_modulation_index = _property_function("abs_texture_modulation_index")
texture_selectivity = _property_function("texture_selectivity")
texture_sparseness = _property_function("texture_sparseness")
texture_variance_ratio = _property_function("texture_variance_ratio")
max_texture = _property_function("max_texture")
max_noise = _property_function("max_noise")
__all__ += list(_SPECS)
