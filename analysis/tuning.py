"""Orientation, direction and spatial-frequency tuning metrics.

Two levels:

* **curve functions** take plain arrays, one tuning curve ``(n_conditions,)``
  or many ``(n_curves, n_conditions)``, with the sampled angles or spatial
  frequencies, so they work on any curve (a model's, a paper's, a hand-made
  one): :func:`circular_variance`, :func:`preferred_orientation`,
  :func:`osi`, :func:`orientation_bandwidth`, :func:`fit_von_mises`,
  :func:`dsi`, :func:`fit_log_gaussian`, ...
* **recording functions** take an :class:`analysis.recording.Recording`,
  average its responses into tuning curves (:func:`tuning_curves`) and return a
  per-unit :class:`stimuli.table.Table` (:func:`orientation_tuning`,
  :func:`sf_tuning`).

Definitions (as in Ringach, Shapley & Hawken 2002 and Marques, Schrimpf & DiCarlo 2021):

* circular variance ``CV = 1 - |sum r_k exp(2i theta_k)| / sum r_k``
  (Ringach, Shapley & Hawken 2002); **global OSI** = ``1 - CV``;
* **two-point OSI** = ``(R_pref - R_orth) / (R_pref + R_orth)`` (Allen Brain
  Observatory) — a different number from the global OSI; tables and figures
  always name which one they show;
* orientation **bandwidth** = half-width at ``1/sqrt(2)`` of the peak
  (Ringach et al. 2002);
* ``DSI = (R_pref - R_null) / (R_pref + R_null)``; global DSI =
  ``|sum r_k exp(i phi_k)| / sum r_k``;
* SF peak and bandwidth (:func:`sf_tuning`, :func:`sf_bandwidth`) come from a
  Gaussian fitted on a Box-Cox frequency axis ``u = (f^lam − 1) / lam`` (in
  units referred to the samples' geometric mean): its exponent ``lam`` moves
  between a Gaussian on a log2 axis (``lam = 0``, the log-Gaussian usual for
  cells) and one on a linear axis (``lam = 1``, the shape of a Gabor filter's
  curve), so skewed curves do not bias the peak;
  bandwidth = full width at half height, in octaves, of that curve.

Metric functions need non-negative responses (firing rates): a curve with
negative values raises rather than giving a circular variance outside [0, 1].
A curve that is zero everywhere (a silent unit) raises in the curve functions;
the recording functions mark such units in a ``responsive`` column instead.
Angles are in degrees throughout; orientations are taken modulo 180° and
directions modulo 360°.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse

from analysis import _fitting
from analysis._peaks import first_peak
from analysis.orientation_metrics import (
    DIRECTION_PERIOD,
    HALF_HEIGHT_ORIENTATION,
    MIN_FIT_POINTS,
    ORIENTATION_PERIOD,
    Bandwidth,
    DoubleVonMisesFit,
    VonMisesFit,
    _sampled_half_width,
    _two_point_index,
    _unresolved_width,
    _von_mises_half_width,
    _von_mises_result,
    _wrap,
    circular_variance,
    double_von_mises,
    dsi,
    fit_double_von_mises,
    fit_von_mises,
    global_dsi,
    global_osi,
    orientation_bandwidth,
    osi,
    preferred_direction,
    preferred_orientation,
    preferred_orientation_argmax,
    von_mises,
)
from analysis.recording import Recording, _time_average
from analysis.sf_metrics import (
    SF_FIT_MIN_R2,
    LogGaussianFit,
    _fit_sf_curves,
    fit_log_gaussian,
    is_low_pass,
    log_gaussian,
    sf_bandwidth,
)
from stimuli._shared.validation import (
    check_array,
    check_bool,
    check_choice,
    check_range,
    check_strings,
)
from stimuli.table import Table

__all__ = [
    # recording functions (this module)
    "DEFAULT_AVERAGE", "TuningCurves", "curve_levels", "orientation_tuning", "sf_tuning",
    "tuning_curves",
    # orientation and direction curve functions (analysis.orientation_metrics)
    "DIRECTION_PERIOD", "HALF_HEIGHT_ORIENTATION", "MIN_FIT_POINTS", "ORIENTATION_PERIOD",
    "Bandwidth", "DoubleVonMisesFit", "VonMisesFit", "circular_variance", "double_von_mises",
    "dsi", "fit_double_von_mises", "fit_von_mises", "global_dsi", "global_osi",
    "orientation_bandwidth", "osi", "preferred_direction", "preferred_orientation",
    "preferred_orientation_argmax", "von_mises",
    # spatial-frequency curve functions (analysis.sf_metrics)
    "SF_FIT_MIN_R2", "LogGaussianFit", "fit_log_gaussian", "is_low_pass", "log_gaussian",
    "sf_bandwidth",
]

DEFAULT_AVERAGE = ("phase", "repeat")
_UNIT_CHUNK = 4096  # units averaged per step in tuning_curves (bounds float64 copies)


class TuningCurves(NamedTuple):
    """Averaged tuning curves of every unit of a recording.

    ``values (n_values,)`` the sorted stimulus values; ``mean (n_units, n_values)``;
    ``sem (n_units, n_values)`` the standard error over the averaged stimuli
    (phases, repeats, ...) or None when each point is a single stimulus.
    """

    values: np.ndarray
    mean: np.ndarray
    sem: np.ndarray | None


# ============================================================ recordings


@dataclass
class _Averaged:
    """Curves of every unit plus how they were made (private)."""

    values: np.ndarray  # (n_values,)
    mean: np.ndarray  # (n_units, n_values)
    sem: np.ndarray | None
    selected: dict[str, np.ndarray]  # column -> (n_units,) level used per unit
    averaged: list[str]  # columns averaged over


def _check_recording(recording: Any) -> tuple[Table, np.ndarray]:
    """Conditions and the validated responses ``(n_stimuli, n_units[, n_time])``, not copied."""
    if not isinstance(recording, Recording):
        raise TypeError(
            f"recording must be an analysis.recording.Recording, got {type(recording).__name__}"
        )
    responses = check_array(
        "recording.responses", recording.responses, ndim=(2, 3),
        shape_doc="(n_stimuli, n_units) or (n_stimuli, n_units, n_time)",
    )
    if responses.shape[0] != len(recording.conditions):
        raise ValueError(
            f"recording.conditions has {len(recording.conditions)} rows but "
            f"recording.responses has {responses.shape[0]} stimuli"
        )
    return recording.conditions, responses


def _stimulus_values(conditions: Table, by: str) -> np.ndarray:
    names = conditions.names
    if by == "orientation" and "orientation" not in names and "direction" in names:
        column = conditions["direction"]
        source = "direction"
    elif by not in names:
        hint = " (or 'direction')" if by == "orientation" else ""
        raise ValueError(
            f"by: recording.conditions has no {by!r}{hint} column; its columns are "
            f"{', '.join(names) or '(none)'}"
        )
    else:
        column = conditions[by]
        source = by
    values = check_array(f"recording.conditions[{source!r}]", column, dtype=np.float64)
    if by == "orientation":
        values = _wrap(values, ORIENTATION_PERIOD)
    elif by == "direction":
        values = _wrap(values, DIRECTION_PERIOD)
    return np.round(values, 9)  # merge values that differ only by rounding of the modulo


def _codes(column: np.ndarray) -> np.ndarray:
    return np.unique(column, return_inverse=True)[1].ravel()


def _average_curves(
    recording: Any, by: str, average: Sequence[str] | str
) -> _Averaged:
    average = check_strings("average", average)
    if by in average:
        raise ValueError(f"average must not contain the tuning variable {by!r}, got {average}")
    conditions, responses = _check_recording(recording)
    values_per_stim = _stimulus_values(conditions, by)
    values, value_idx = np.unique(values_per_stim, return_inverse=True)
    value_idx = value_idx.ravel()
    unknown = [c for c in average if c not in conditions.names and c not in DEFAULT_AVERAGE]
    if unknown:
        raise ValueError(f"average names {unknown[0]!r}, which is not a condition column "
                         f"({', '.join(conditions.names)}) nor one of the default nuisance "
                         f"columns {DEFAULT_AVERAGE}")
    averaged = [c for c in average if c in conditions.names]
    if by == "orientation" and "direction" in conditions.names:
        averaged.append("direction")  # pool the two directions of each orientation
    others = []
    for name in conditions.names:
        if name in averaged or name == by:
            continue
        codes = _codes(conditions[name])
        if codes.max(initial=0) == 0:
            continue  # constant column
        pairs = np.unique(np.stack([value_idx, codes], axis=1), axis=0)
        if len(pairs) == len(values):
            continue  # determined by the tuning variable (e.g. orientation for direction)
        others.append(name)
    if others:
        combo_codes = np.stack([_codes(conditions[c]) for c in others], axis=1)
        combos, combo_idx = np.unique(combo_codes, axis=0, return_inverse=True)
        combo_idx = combo_idx.ravel()
        n_combos = len(combos)
    else:
        combo_idx = np.zeros(len(conditions), dtype=np.intp)
        n_combos = 1
    n_values, n_units = len(values), responses.shape[1]
    cell = combo_idx * n_values + value_idx
    n_cells = n_combos * n_values
    counts = np.bincount(cell, minlength=n_cells)
    if np.any(counts == 0):
        raise ValueError(
            f"recording.conditions do not cover every combination of {by!r} with "
            f"{', '.join(map(repr, others))}: {int(np.sum(counts == 0))} of {n_cells} "
            "combinations are missing. Select stimuli (Recording.select_stimuli) or list "
            "columns to average over in `average`"
        )
    pool = scipy.sparse.csr_array(
        (np.ones(len(cell)), (cell, np.arange(len(cell)))), shape=(n_cells, len(cell))
    )
    counts_2d = counts.reshape(n_combos, n_values)
    curves = np.empty((n_units, n_values))
    variance = np.empty((n_units, n_values))
    best = np.empty(n_units, dtype=np.intp)
    columns = np.arange(n_values)[None, :]
    # Units in chunks, so a recording of every map position never needs a float64
    # copy of all its responses at once.
    for start in range(0, n_units, _UNIT_CHUNK):
        units = slice(start, min(start + _UNIT_CHUNK, n_units))
        resp = _time_average(responses[:, units])
        mean = (pool @ resp) / counts[:, None]
        dev = resp - mean[cell]
        var = (pool @ (dev * dev)) / np.maximum(counts - 1, 1)[:, None]
        mean = mean.reshape(n_combos, n_values, -1)
        # Per unit, the combination of the other columns holding its largest mean response.
        chunk_best = np.argmax(mean.max(axis=1), axis=0)
        rows = np.arange(mean.shape[2])[:, None]
        curves[units] = mean[chunk_best[:, None], columns, rows]
        variance[units] = var.reshape(n_combos, n_values, -1)[chunk_best[:, None], columns, rows]
        best[units] = chunk_best
    selected_counts = counts_2d[best]  # (n_units, n_values)
    sem = np.sqrt(variance / selected_counts) if selected_counts.min() >= 2 else None
    selected = {}
    if others:
        first_row = np.zeros(n_combos, dtype=np.intp)
        first_row[combo_idx] = np.arange(len(combo_idx))  # a row of each combination
        for name in others:
            selected[name] = conditions[name][first_row[best]]
    return _Averaged(values, curves, sem, selected, averaged)


def tuning_curves(
    recording: Recording, by: str = "orientation", *, average: Sequence[str] = DEFAULT_AVERAGE
) -> TuningCurves:
    """Every unit's mean response as a function of one stimulus variable.

    Responses are averaged over the time axis (mean rate) when there is one, then
    over the condition columns in ``average`` that the recording has (phases and
    repeats by default; for ``by="orientation"`` also the two drift directions of
    each orientation).  For every other condition column that varies (``sf``,
    ``contrast``, ...) each unit's curve is taken at the combination of values
    containing that unit's largest mean response — e.g. the orientation curve at
    the unit's preferred sampled sf.  Columns that are a function of ``by``
    (``orientation`` when ``by="direction"``) are ignored.

    Parameters
    ----------
    recording : Recording
    by : str
        The condition column to tune along (``"orientation"``, ``"direction"``,
        ``"sf"``, ``"contrast"``, ...).  ``"orientation"`` falls back to
        ``direction mod 180`` when the conditions have only directions.
    average : sequence of str
        Columns to average over when present; default ``("phase", "repeat")``.

    Returns
    -------
    TuningCurves
        ``(values (n_values,), mean (n_units, n_values), sem (n_units, n_values) or
        None)``; ``sem`` is the standard error over the averaged stimuli, None when
        a point rests on a single stimulus.

    Raises
    ------
    ValueError
        If the conditions lack ``by``, the responses hold NaN, ``average``
        contains ``by``, or the conditions are not a full factorial design over
        ``by`` and the other varying columns.
    TypeError
        If ``recording`` is not a Recording.

    Examples
    --------
    >>> rec = Recording({"orientation": [0.0, 0.0, 90.0, 90.0], "phase": [0.0, 180.0] * 2},
    ...                 [[2.0], [0.0], [1.0], [1.0]])
    >>> values, mean, sem = tuning_curves(rec)
    >>> values.tolist(), mean.tolist(), sem.tolist()
    ([0.0, 90.0], [[1.0, 1.0]], [[1.0, 0.0]])
    """
    curves = _average_curves(recording, by, average)
    return TuningCurves(curves.values, curves.mean, curves.sem)


def _shift_negative(r: np.ndarray, negative: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    low = r.min(axis=1)
    shifted = low < 0
    if np.any(shifted) and negative == "raise":
        raise ValueError(
            f"{int(shifted.sum())} of {len(r)} units have negative mean responses in their "
            f"{what} curves (minimum {low.min():g}); these metrics need non-negative rates. "
            "Pass negative='shift' to subtract each such unit's minimum"
        )
    return np.where(shifted[:, None], r - low[:, None], r), shifted


def _nan_unless(mask: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(len(mask), np.nan)
    out[rows] = values
    return out


def _unit_columns(recording: Recording, selected: dict[str, np.ndarray]) -> dict[str, Any]:
    cols: dict[str, Any] = {f"at_{name}": value for name, value in selected.items()}
    for key, value in recording.unit_info.items():
        cols[f"unit_{key}"] = np.asarray(value)
    return cols


def orientation_tuning(
    recording: Recording,
    *,
    average: Sequence[str] = DEFAULT_AVERAGE,
    negative: str = "raise",
    fit: bool = True,
) -> Table:
    """Per-unit orientation (and direction) tuning metrics of a recording.

    Curves come from :func:`tuning_curves` (mean over time, phases, repeats and
    both directions of an orientation; other varying columns such as ``sf`` at
    the unit's preferred sampled value, reported in ``at_<column>``).

    Parameters
    ----------
    recording : Recording
        Conditions with an ``orientation`` (or ``direction``) column.
    average : sequence of str
        Condition columns averaged over; default ``("phase", "repeat")``.
    negative : {"raise", "shift"}
        Units whose mean curve dips below zero: raise (default), or subtract each
        such unit's minimum so its curve starts at zero (marked in ``shifted``).
    fit : bool
        Fit von Mises curves (needs at least 5 orientations).  If False, the
        ``von_mises_*``, ``fit_ok`` and ``bandwidth``/``bandwidth_defined``
        columns are left out.

    Returns
    -------
    Table
        One row per unit; columns

        - ``unit``: index into the recording's units;
        - ``responsive``: False for units silent at every orientation; their
          metric columns are NaN (the only NaN in the table outside failed fits);
        - ``preferred_orientation`` (deg, vector sum), ``preferred_orientation_argmax``;
        - ``circular_variance``, ``global_osi`` (``1 - CV``), ``osi`` (two-point);
        - ``bandwidth`` (deg): half-width at 1/√2 of the peak of the **fitted** von
          Mises curve, 90 where undefined; ``bandwidth_defined``;
          ``bandwidth_upper_bound``: True where the curve is narrower than the
          sampling resolves (both samples next to the peak below 1/√2 of it and
          either no fitted width or those samples at the curve's floor), and
          ``bandwidth`` then holds an upper bound, the sampling step (see
          :func:`orientation_bandwidth`) — formerly 90 with ``bandwidth_defined``
          False, as if untuned;
        - ``bandwidth_sampled``, ``bandwidth_sampled_defined``,
          ``bandwidth_sampled_upper_bound``: the same on the linearly
          interpolated sampled curve;
        - ``von_mises_mu`` (deg), ``von_mises_kappa``, ``von_mises_amplitude``,
          ``von_mises_baseline``, ``von_mises_r2``, ``fit_ok``; the ``von_mises_*``
          columns are NaN exactly where ``fit_ok`` is False;
        - ``shifted`` (with ``negative="shift"``);
        - with a ``direction`` column: ``preferred_direction`` (deg, vector sum),
          ``dsi`` (two-point), ``global_dsi``;
        - ``at_<column>``: the level of each other varying condition column used;
        - ``unit_<key>``: the recording's ``unit_info`` (e.g. the model's own
          ``unit_orientation``), for comparison.

    Raises
    ------
    ValueError
        If the conditions lack an orientation/direction column, there are fewer
        than 2 orientations (5 with ``fit=True``), responses are negative with
        ``negative="raise"``, or as :func:`tuning_curves`.
    TypeError
        If ``recording`` is not a Recording.

    Examples
    --------
    >>> theta = np.arange(0, 180, 15.0)
    >>> rates = np.stack([von_mises(theta, mu=30.0, kappa=2.0, amplitude=1.0),
    ...                   von_mises(theta, mu=120.0, kappa=1.0, amplitude=2.0)], axis=1)
    >>> tab = orientation_tuning(Recording({"orientation": theta}, rates))
    >>> tab["preferred_orientation"].round(3).tolist(), tab["fit_ok"].tolist()
    ([30.0, 120.0], [True, True])
    """
    check_choice("negative", negative, ("raise", "shift"))
    fit = check_bool("fit", fit)
    curves = _average_curves(recording, "orientation", average)
    theta = curves.values
    if len(theta) < 2:
        raise ValueError(f"orientation tuning needs at least 2 orientations, got {len(theta)}")
    if fit and len(theta) < MIN_FIT_POINTS["von_mises"]:
        raise ValueError(
            f"a von Mises fit needs at least {MIN_FIT_POINTS['von_mises']} orientations, got "
            f"{len(theta)}; pass fit=False for the fit-free metrics"
        )
    r, shifted = _shift_negative(curves.mean, negative, "orientation")
    responsive = np.any(r > 0, axis=1)
    direction = None
    if "direction" in recording.conditions.names:
        direction = _average_curves(recording, "direction", average)
        r_dir, shifted_dir = _shift_negative(direction.mean, negative, "direction")
        shifted = shifted | shifted_dir
        responsive &= np.any(r_dir > 0, axis=1)
    rows = np.flatnonzero(responsive)
    n = len(r)
    m = _orientation_metrics(r[rows], theta)
    cols: dict[str, Any] = {"unit": np.arange(n), "responsive": responsive}
    cols["preferred_orientation"] = _nan_unless(responsive, rows, m["preferred"])
    argmax = _wrap(theta[first_peak(r, axis=1)], ORIENTATION_PERIOD)
    cols["preferred_orientation_argmax"] = np.where(responsive, argmax, np.nan)
    cols["circular_variance"] = _nan_unless(responsive, rows, m["circular_variance"])
    cols["global_osi"] = 1.0 - cols["circular_variance"]
    cols["osi"] = _nan_unless(responsive, rows, m["osi"])
    if fit:
        bandwidth_cols, von_mises_cols = _von_mises_columns(theta, r[rows], rows, n, m)
        cols.update(bandwidth_cols)
    cols["bandwidth_sampled"] = np.full(n, ORIENTATION_PERIOD / 2.0)
    cols["bandwidth_sampled"][rows] = m["bandwidth_sampled"]
    cols["bandwidth_sampled_defined"] = np.zeros(n, dtype=bool)
    cols["bandwidth_sampled_defined"][rows] = m["bandwidth_sampled_defined"]
    cols["bandwidth_sampled_upper_bound"] = np.zeros(n, dtype=bool)
    cols["bandwidth_sampled_upper_bound"][rows] = m["sharp"]
    if fit:
        cols.update(von_mises_cols)
    if negative == "shift":
        cols["shifted"] = shifted
    if direction is not None:
        cols.update(_direction_columns(r_dir[rows], direction.values, responsive, rows))
    cols.update(_unit_columns(recording, curves.selected))
    return Table(cols)


def _orientation_metrics(r: np.ndarray, theta: np.ndarray) -> dict[str, np.ndarray]:
    """The fit-free orientation metrics of responsive units' curves ``r`` (k, n_theta).

    Preferred orientation, circular variance, two-point OSI and the sampled
    half-width at half height; where the curve is too sharp for the sampling, the
    width is the bound ``bound`` (``sharp``), ``floor`` marking curves that reach
    their floor within one step.
    """
    if not len(r):
        empty, no = np.empty(0), np.empty(0, dtype=bool)
        return {"preferred": empty, "circular_variance": empty, "osi": empty,
                "bandwidth_sampled": empty, "bandwidth_sampled_defined": no, "bound": empty,
                "sharp": no, "floor": no}
    bw_s, bw_s_ok = _sampled_half_width(r, theta, HALF_HEIGHT_ORIENTATION, ORIENTATION_PERIOD)
    bound, sharp, floor = _unresolved_width(r, theta, HALF_HEIGHT_ORIENTATION,
                                            ORIENTATION_PERIOD)
    return {"preferred": preferred_orientation(r, theta),
            "circular_variance": circular_variance(r, theta),
            "osi": _two_point_index(r, theta, ORIENTATION_PERIOD),
            "bandwidth_sampled": np.where(sharp, bound, bw_s),
            "bandwidth_sampled_defined": bw_s_ok | sharp,
            "bound": bound, "sharp": sharp, "floor": floor}


def _von_mises_columns(theta: np.ndarray, r: np.ndarray, rows: np.ndarray, n: int,
                       metrics: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """The bandwidth columns and the von Mises parameter columns of ``n`` units.

    ``r`` are the curves of the responsive units ``rows``; a fitted width that is
    undefined (or at the floor) where the sampled curve is too sharp becomes the
    sampled bound, flagged ``bandwidth_upper_bound``.
    """
    p = np.full((n, 4), np.nan)
    r2 = np.full(n, np.nan)
    fit_ok = np.zeros(n, dtype=bool)
    if rows.size:
        p[rows], r2[rows], fit_ok[rows] = _fitting.fit_von_mises_batch(np.deg2rad(theta), r)
    bw, bw_ok = _von_mises_half_width(np.nan_to_num(p), fit_ok, HALF_HEIGHT_ORIENTATION)
    upper = np.zeros(n, dtype=bool)
    upper[rows] = metrics["sharp"] & (~bw_ok[rows] | metrics["floor"])
    bw[rows] = np.where(upper[rows], metrics["bound"], bw[rows])
    bandwidth = {"bandwidth": bw, "bandwidth_defined": bw_ok | upper,
                 "bandwidth_upper_bound": upper}
    fitted = _von_mises_result(p, r2, fit_ok, squeeze=False)
    fit_cols = {"von_mises_mu": fitted.mu, "von_mises_kappa": fitted.kappa,
                 "von_mises_amplitude": fitted.amplitude,
                 "von_mises_baseline": fitted.baseline, "von_mises_r2": fitted.r2,
                 "fit_ok": fit_ok}
    return bandwidth, fit_cols


def _direction_columns(r: np.ndarray, phi: np.ndarray, responsive: np.ndarray,
                       rows: np.ndarray) -> dict[str, np.ndarray]:
    """Preferred direction, two-point DSI and global DSI (NaN for unresponsive units)."""
    if not rows.size:
        return {name: np.full(len(responsive), np.nan)
                for name in ("preferred_direction", "dsi", "global_dsi")}
    return {"preferred_direction": _nan_unless(responsive, rows, preferred_direction(r, phi)),
            "dsi": _nan_unless(responsive, rows, _two_point_index(r, phi, DIRECTION_PERIOD)),
            "global_dsi": _nan_unless(responsive, rows, global_dsi(r, phi))}


def sf_tuning(
    recording: Recording,
    *,
    average: Sequence[str] = DEFAULT_AVERAGE,
    negative: str = "raise",
    low_pass_fraction: float = 0.5,
) -> Table:
    """Per-unit spatial-frequency tuning of a recording.

    Curves come from :func:`tuning_curves` with ``by="sf"`` (orientation and any
    other varying column at the unit's preferred sampled value, reported in
    ``at_<column>``).  Each curve is fitted by a Gaussian on a Box-Cox frequency
    axis, ``r = b + a exp(−(u_lam(f) − m)² / 2σ²)`` with ``u_lam = (f^lam − 1) /
    lam`` on frequencies referred to the samples' geometric mean and ``lam`` in
    [0, 1]: ``lam = 0`` is the log-Gaussian usual for cells, ``lam = 1`` a
    Gaussian in linear SF, the shape of a Gabor filter's curve.  A symmetric
    log-Gaussian put the peak of such skewed curves up to 0.2 octave (broad cells)
    too low; the fitted exponent removes that bias (the peak of Gabor cells'
    curves is recovered to within 0.1 octave for nx from 0.2 to 1).

    Parameters
    ----------
    recording : Recording
        Conditions with an ``sf`` column (c/deg) holding at least 5 frequencies
        (with exactly 5 the five-parameter fit passes through every point, so
        ``r2`` says nothing; the Marques protocol has up to 22).
    average : sequence of str
        Condition columns averaged over; default ``("phase", "repeat")``.
    negative : {"raise", "shift"}
        As in :func:`orientation_tuning`.
    low_pass_fraction : float
        A unit is low-pass when its response at the lowest sampled sf is at least
        this fraction of its peak sampled response (default 1/2, see
        :func:`is_low_pass`); otherwise band-pass.

    Returns
    -------
    Table
        One row per unit; columns ``unit``, ``responsive`` (False for silent
        units, whose metric columns are NaN), ``peak_sf`` (c/deg, the fitted
        curve's maximum; may lie outside the sampled range for low-pass units,
        and is 0 for a fitted curve that keeps rising towards 0 c/deg),
        ``peak_in_range`` (fitted peak within the sampled range),
        ``peak_sf_sampled`` (argmax), ``bandwidth_octaves`` (full width at half
        height of the fitted curve, ``inf`` where undefined), ``bandwidth_defined``,
        ``low_pass``, ``fit_lambda`` (the Box-Cox exponent), ``fit_sigma`` (width
        on the ``u`` axis; octaves when ``fit_lambda`` is 0), ``fit_amplitude``,
        ``fit_baseline``, ``r2``, ``fit_ok`` (fit columns are NaN exactly where it
        is False: a fit that did not converge, has R² below
        :data:`SF_FIT_MIN_R2`, or puts a within-range peak more than one sampling
        interval from the sampled maximum), optionally ``shifted``, then
        ``at_<column>`` and ``unit_<key>`` as in :func:`orientation_tuning`.

    Raises
    ------
    ValueError
        If the conditions lack ``sf``, have fewer than 5 frequencies or a
        non-positive one, responses are negative with ``negative="raise"``, or as
        :func:`tuning_curves`.
    TypeError
        If ``recording`` is not a Recording.

    Examples
    --------
    >>> f = 2.0 ** np.arange(-1, 4.5, 0.5)
    >>> rates = log_gaussian(f, peak_sf=2.0, sigma_octaves=0.7, amplitude=1.0)[:, None]
    >>> tab = sf_tuning(Recording({"sf": f}, rates))
    >>> row = tab.row(0)
    >>> round(row["peak_sf"], 3), round(row["bandwidth_octaves"], 3), row["low_pass"]
    (2.0, 1.648, False)
    """
    check_choice("negative", negative, ("raise", "shift"))
    low_pass_fraction = check_range("low_pass_fraction", low_pass_fraction, 0.0, 1.0,
                                    closed="right")
    curves = _average_curves(recording, "sf", average)
    f = curves.values
    if np.any(f <= 0):
        raise ValueError(f"recording.conditions['sf'] must be positive (c/deg), got {f.min():g}")
    if len(f) < MIN_FIT_POINTS["sf_curve"]:
        raise ValueError(
            f"SF tuning needs at least {MIN_FIT_POINTS['sf_curve']} spatial frequencies, "
            f"got {len(f)}"
        )
    r, shifted = _shift_negative(curves.mean, negative, "sf")
    responsive = np.any(r > 0, axis=1)
    rows = np.flatnonzero(responsive)
    n = len(r)
    fits = _fit_sf_curves(f, r[rows])

    def full(values, fill):
        out = np.full(n, fill, dtype=values.dtype)
        out[rows] = values
        return out

    peak = full(fits.peak_sf, np.nan)
    fit_ok = full(fits.ok, False)
    peak_sampled = np.where(responsive, f[np.argmax(r, axis=1)], np.nan)
    lowest = r[:, np.argmin(f)]
    cols: dict[str, Any] = {
        "unit": np.arange(n),
        "responsive": responsive,
        "peak_sf": peak,
        "peak_in_range": fit_ok & (np.nan_to_num(peak) >= f.min())
        & (np.nan_to_num(peak) <= f.max()),
        "peak_sf_sampled": peak_sampled,
        "bandwidth_octaves": full(fits.width, np.inf),
        "bandwidth_defined": full(fits.width_ok, False),
        "low_pass": responsive & (lowest >= low_pass_fraction * r.max(axis=1)),
        "fit_lambda": full(fits.lam, np.nan),
        "fit_sigma": full(fits.sigma, np.nan),
        "fit_amplitude": full(fits.amplitude, np.nan),
        "fit_baseline": full(fits.baseline, np.nan),
        "r2": full(fits.r2, np.nan),
        "fit_ok": fit_ok,
    }
    if negative == "shift":
        cols["shifted"] = shifted
    cols.update(_unit_columns(recording, curves.selected))
    return Table(cols)


def curve_levels(
    recording: Recording, by: str = "orientation", *, average: Sequence[str] = DEFAULT_AVERAGE
) -> dict[str, np.ndarray]:
    """Per unit, the levels of the other varying columns its tuning curve was read at.

    :func:`tuning_curves` takes each unit's curve at the combination of the other
    varying condition columns holding its largest mean response (e.g. the size
    curve at the preferred sampled orientation and sf); this returns that
    combination, the same ``at_<column>`` values the tables of
    :func:`orientation_tuning` and :func:`sf_tuning` carry.

    Parameters
    ----------
    recording : Recording
    by : str
        The condition column the curves run along.
    average : sequence of str
        Columns averaged over, as in :func:`tuning_curves`.

    Returns
    -------
    dict of str to ndarray
        ``at_<column>`` → ``(n_units,)`` level per unit; empty when no other column
        varies.

    Raises
    ------
    ValueError, TypeError
        As :func:`tuning_curves`.

    Examples
    --------
    >>> rec = Recording({"radius": [1.0, 2.0, 1.0, 2.0], "sf": [1.0, 1.0, 4.0, 4.0]},
    ...                 [[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 1.0]])
    >>> curve_levels(rec, "radius")["at_sf"].tolist()
    [1.0, 4.0]
    """
    selected = _average_curves(recording, by, average).selected
    return {f"at_{name}": np.asarray(value) for name, value in selected.items()}

