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

Definitions (see REFERENCE.md):

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
from analysis.recording import Recording, _time_average
from stimuli._shared.validation import (
    check_array,
    check_bool,
    check_choice,
    check_range,
    check_real,
    check_strings,
)
from stimuli.table import Table

ORIENTATION_PERIOD = 180.0
DIRECTION_PERIOD = 360.0
HALF_HEIGHT_ORIENTATION = 1.0 / np.sqrt(2.0)  # Ringach et al. 2002
MIN_FIT_POINTS = {"von_mises": 5, "double_von_mises": 6, "log_gaussian": 5, "sf_curve": 5}
#: An SF fit is trusted (``fit_ok``) only with at least this R² (and a peak near the
#: sampled one, see :func:`sf_tuning`).
SF_FIT_MIN_R2 = 0.9
DEFAULT_AVERAGE = ("phase", "repeat")
_UNIT_CHUNK = 4096  # units averaged per step in tuning_curves (bounds float64 copies)


class Bandwidth(NamedTuple):
    """A tuning width, whether it is defined, and whether it is only an upper bound.

    ``width`` is never NaN: where the curve does not fall to the criterion level
    it holds the largest possible value (90° half-width for orientation,
    ``inf`` octaves for spatial frequency) and ``defined`` is False.  Where the
    curve is narrower than its sampling resolves (orientation: both samples next
    to the peak already below the criterion, and no resolved fit), ``width``
    holds an upper bound — the true width is smaller — ``defined`` is True and
    ``upper_bound`` is True.
    """

    width: Any
    defined: Any
    upper_bound: Any = False


class VonMisesFit(NamedTuple):
    """Fit of ``baseline + amplitude * exp(kappa * (cos 2(theta - mu) - 1))``.

    ``mu`` in degrees [0, 180); ``kappa`` dimensionless; ``amplitude`` and
    ``baseline`` in response units; ``r2`` the coefficient of determination.
    Every field is NaN exactly where ``ok`` is False.
    """

    mu: Any
    kappa: Any
    amplitude: Any
    baseline: Any
    r2: Any
    ok: Any


class DoubleVonMisesFit(NamedTuple):
    """Fit of ``b + a_pref exp(k (cos(phi - mu) - 1)) + a_null exp(k (cos(phi - mu - 180°) - 1))``.

    ``mu`` is the preferred direction in degrees [0, 360) and
    ``amplitude_pref >= amplitude_null``.  NaN exactly where ``ok`` is False.
    """

    mu: Any
    kappa: Any
    amplitude_pref: Any
    amplitude_null: Any
    baseline: Any
    r2: Any
    ok: Any


class LogGaussianFit(NamedTuple):
    """Fit of ``baseline + amplitude * exp(-(log2(f / peak_sf))**2 / (2 sigma_octaves**2))``.

    ``peak_sf`` in c/deg, ``sigma_octaves`` in octaves.  NaN exactly where ``ok``
    is False.
    """

    peak_sf: Any
    sigma_octaves: Any
    amplitude: Any
    baseline: Any
    r2: Any
    ok: Any


class TuningCurves(NamedTuple):
    """Averaged tuning curves of every unit of a recording.

    ``values (n_values,)`` the sorted stimulus values; ``mean (n_units, n_values)``;
    ``sem (n_units, n_values)`` the standard error over the averaged stimuli
    (phases, repeats, ...) or None when each point is a single stimulus.
    """

    values: np.ndarray
    mean: np.ndarray
    sem: np.ndarray | None


# ============================================================ input checks


def _check_curves(
    responses: Any,
    samples: Any,
    *,
    samples_name: str,
    nonnegative: bool = True,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``responses`` as float64 ``(m, n)``, ``samples`` as ``(n,)``, and whether input was 1-D."""
    r = check_array(
        "responses", responses, ndim=(1, 2),
        shape_doc="(n_conditions,) or (n_curves, n_conditions)", dtype=np.float64,
    )
    s = check_array(samples_name, samples, ndim=1, shape_doc="(n_conditions,)", dtype=np.float64)
    if r.shape[-1] != s.shape[0]:
        raise ValueError(
            f"{samples_name} has {s.shape[0]} values but responses has {r.shape[-1]} "
            f"along its last axis (responses.shape = {r.shape})"
        )
    if nonnegative and np.any(r < 0):
        raise ValueError(
            f"responses must be non-negative (firing rates), got minimum {r.min():g}; "
            "subtract a baseline or shift the curve before computing this metric"
        )
    squeeze = r.ndim == 1
    return np.atleast_2d(r), s, squeeze


def _check_responsive(r: np.ndarray, metric: str) -> None:
    silent = ~np.any(r > 0, axis=1)
    if np.any(silent):
        raise ValueError(
            f"{int(silent.sum())} of {len(r)} response curve(s) are zero everywhere "
            f"(silent units); {metric} is undefined for them. Remove them, or use "
            "orientation_tuning / sf_tuning, which flag them in a 'responsive' column"
        )


def _check_distinct(name: str, values: np.ndarray, period: float | None, minimum: int) -> None:
    wrapped = np.mod(values, period) if period is not None else values
    if len(np.unique(wrapped)) != len(wrapped):
        extra = f" modulo {period:g}°" if period is not None else ""
        raise ValueError(f"{name} must be distinct{extra}, got {values.tolist()}")
    if len(values) < minimum:
        raise ValueError(f"{name} must have at least {minimum} values, got {len(values)}")


def _out(x: np.ndarray, squeeze: bool):
    """A 1-row result as a Python scalar, otherwise the array."""
    if squeeze:
        return x[0].item()
    return x


def _wrap(angle: np.ndarray, period: float) -> np.ndarray:
    """``angle mod period`` in ``[0, period)`` (``np.mod`` can round up to ``period``)."""
    out = np.mod(angle, period)
    return np.where(out >= period, out - period, out)


def _periodic_interp(r: np.ndarray, angles: np.ndarray, query: np.ndarray, period: float):
    """Linear interpolation of each row of ``r (m, n)`` at its own ``query (m,)``, periodic."""
    order = np.argsort(_wrap(angles, period))
    a = _wrap(angles, period)[order]
    r = r[:, order]
    q = _wrap(query, period)
    n = len(a)
    hi = np.searchsorted(a, q, side="right")
    lo = hi - 1
    a_lo = np.where(lo < 0, a[lo % n] - period, a[lo % n])
    a_hi = np.where(hi >= n, a[hi % n] + period, a[hi % n])
    w = (q - a_lo) / (a_hi - a_lo)
    rows = np.arange(len(r))
    return r[rows, lo % n] * (1.0 - w) + r[rows, hi % n] * w


# ============================================================ orientation metrics


def circular_variance(responses: Any, orientations: Any) -> float | np.ndarray:
    """Circular variance of orientation tuning curves (Ringach, Shapley & Hawken 2002).

    ``CV = 1 - |sum_k r_k exp(2i theta_k)| / sum_k r_k``: 0 for a curve that
    responds at one orientation only, 1 for a flat curve.  Assumes the
    orientations sample [0°, 180°) evenly.

    Parameters
    ----------
    responses : array_like of shape (n_orientations,) or (n_curves, n_orientations)
        Non-negative responses (e.g. mean firing rates).
    orientations : array_like of shape (n_orientations,)
        Grating orientations in degrees.

    Returns
    -------
    float or ndarray of shape (n_curves,)
        Circular variance in [0, 1] (rounding below 0 or above 1 is clipped).

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a response is
        negative, or a curve is zero everywhere.

    Examples
    --------
    >>> circular_variance([0.0, 1.0, 0.0, 0.0], [0, 45, 90, 135])
    0.0
    >>> circular_variance([2.0, 2.0, 2.0, 2.0], [0, 45, 90, 135])
    1.0
    """
    r, theta, squeeze = _check_curves(responses, orientations, samples_name="orientations")
    _check_responsive(r, "circular variance")
    resultant = np.abs(r @ np.exp(2j * np.deg2rad(theta)))
    cv = np.clip(1.0 - resultant / r.sum(axis=1), 0.0, 1.0)
    return _out(cv, squeeze)


def global_osi(responses: Any, orientations: Any) -> float | np.ndarray:
    """Global orientation selectivity index, ``1 - circular variance``.

    Not the two-point :func:`osi`; the two differ systematically.

    Parameters
    ----------
    responses : array_like of shape (n_orientations,) or (n_curves, n_orientations)
        Non-negative responses.
    orientations : array_like of shape (n_orientations,)
        Orientations in degrees.

    Returns
    -------
    float or ndarray of shape (n_curves,)
        Global OSI in [0, 1].

    Raises
    ------
    ValueError
        As :func:`circular_variance`.

    Examples
    --------
    >>> round(global_osi([1.0, 0.0, 0.0, 0.0], [0, 45, 90, 135]), 6)
    1.0
    """
    cv = circular_variance(responses, orientations)
    return 1.0 - cv


def preferred_orientation(responses: Any, orientations: Any) -> float | np.ndarray:
    """Preferred orientation by the vector sum on the doubled angle.

    ``theta_pref = arg(sum_k r_k exp(2i theta_k)) / 2``, in [0°, 180°).  It falls
    between samples, so it resolves preferences finer than the protocol step.
    For an untuned curve (circular variance 1) the vector sum vanishes and the
    angle is meaningless: check :func:`circular_variance`.

    Parameters
    ----------
    responses : array_like of shape (n_orientations,) or (n_curves, n_orientations)
        Non-negative responses.
    orientations : array_like of shape (n_orientations,)
        Orientations in degrees.

    Returns
    -------
    float or ndarray of shape (n_curves,)
        Preferred orientation in degrees, [0, 180).

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a response is
        negative, or a curve is zero everywhere.

    Examples
    --------
    >>> round(preferred_orientation([1.0, 1.0, 0.0, 0.0], [0, 45, 90, 135]), 6)
    22.5
    """
    r, theta, squeeze = _check_curves(responses, orientations, samples_name="orientations")
    _check_responsive(r, "the preferred orientation")
    vector = r @ np.exp(2j * np.deg2rad(theta))
    pref = _wrap(np.rad2deg(np.angle(vector)) / 2.0, ORIENTATION_PERIOD)
    return _out(pref, squeeze)


def preferred_orientation_argmax(responses: Any, orientations: Any) -> float | np.ndarray:
    """Preferred orientation as the sampled orientation with the largest response.

    Ties and near-ties (responses within a relative 1e-4 of the maximum, see
    :func:`analysis._peaks.first_peak`) go to the first such orientation in the order
    given, so rounding noise never decides the preference.

    Parameters
    ----------
    responses : array_like of shape (n_orientations,) or (n_curves, n_orientations)
        Responses (any sign).
    orientations : array_like of shape (n_orientations,)
        Orientations in degrees.

    Returns
    -------
    float or ndarray of shape (n_curves,)
        One of ``orientations`` modulo 180°, in degrees.

    Raises
    ------
    ValueError
        If the shapes disagree or a value is NaN or infinite.

    Examples
    --------
    >>> preferred_orientation_argmax([0.2, 0.9, 0.1], [0, 60, 120])
    60.0
    """
    r, theta, squeeze = _check_curves(
        responses, orientations, samples_name="orientations", nonnegative=False
    )
    pref = _wrap(theta[first_peak(r, axis=1)], ORIENTATION_PERIOD)
    return _out(pref, squeeze)


def osi(responses: Any, orientations: Any) -> float | np.ndarray:
    """Two-point orientation selectivity index, ``(R_pref - R_orth) / (R_pref + R_orth)``.

    ``R_pref`` is the largest sampled response; ``R_orth`` the response 90° away
    from that orientation, linearly interpolated (periodically) between samples
    when 90° away was not sampled.  Not the global OSI (``1 - CV``, see
    :func:`global_osi`).

    Parameters
    ----------
    responses : array_like of shape (n_orientations,) or (n_curves, n_orientations)
        Non-negative responses.
    orientations : array_like of shape (n_orientations,)
        Distinct orientations (modulo 180°) in degrees, at least 2.

    Returns
    -------
    float or ndarray of shape (n_curves,)
        Two-point OSI in [0, 1].

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a response is
        negative, orientations repeat, or a curve is zero everywhere.

    Examples
    --------
    >>> osi([3.0, 2.0, 1.0, 2.0], [0, 45, 90, 135])
    0.5
    """
    r, theta, squeeze = _check_curves(responses, orientations, samples_name="orientations")
    _check_distinct("orientations", theta, ORIENTATION_PERIOD, 2)
    _check_responsive(r, "the OSI")
    return _out(_two_point_index(r, theta, ORIENTATION_PERIOD), squeeze)


def _two_point_index(r: np.ndarray, angles: np.ndarray, period: float) -> np.ndarray:
    peak = np.argmax(r, axis=1)
    r_pref = r[np.arange(len(r)), peak]
    r_opposite = _periodic_interp(r, angles, angles[peak] + period / 2.0, period)
    return (r_pref - r_opposite) / (r_pref + r_opposite)


def orientation_bandwidth(
    responses: Any,
    orientations: Any,
    *,
    level: float = HALF_HEIGHT_ORIENTATION,
    method: str = "sampled",
) -> Bandwidth:
    """Half-width of orientation tuning at ``level`` times the peak (Ringach et al. 2002).

    The criterion is ``level * peak`` on the response itself (not above a
    baseline): a curve with a high floor may never fall that low, and then the
    bandwidth is undefined.

    ``method="sampled"``: on the sampled curve, linearly interpolated between
    samples; the peak is the largest sample, the crossings are the first
    samples below the criterion on either side, and the half-width is the mean
    of the two sides' distances.  Accurate when the sampling is fine compared
    with the width.
    ``method="von_mises"``: on the fitted curve of :func:`fit_von_mises`, in
    closed form; fitted widths below about half the sampling step rest on the
    shape assumed by the fit more than on the data.

    **Curves narrower than the sampling resolves.**  When both samples next to
    the peak are already below the criterion — and, for "von_mises", the fit
    gives no width or those two samples are at the curve's floor (within 1 % of
    its range of its minimum), so that nothing but the fit's assumed shape sets
    the width, as for curves much narrower than half the step — the half-width of
    a unimodal curve is less than the mean distance to those two samples (the
    sampling step, for even sampling):
    that distance is returned as ``width`` with ``upper_bound`` True and
    ``defined`` True — a very sharp curve, not an untuned one.

    Parameters
    ----------
    responses : array_like of shape (n_orientations,) or (n_curves, n_orientations)
        Non-negative responses.
    orientations : array_like of shape (n_orientations,)
        Distinct orientations (modulo 180°) in degrees: at least 2 for
        "sampled", 5 for "von_mises".
    level : float
        Criterion as a fraction of the peak, in (0, 1); default ``1/sqrt(2)``.
    method : {"sampled", "von_mises"}

    Returns
    -------
    Bandwidth
        ``width``: half-width in degrees (float or ``(n_curves,)``), 90° where
        undefined, an upper bound where ``upper_bound``; ``defined``: bool, False
        where the curve never falls below the criterion (or the fit failed);
        ``upper_bound``: bool, True where the curve is narrower than the sampling
        resolves.

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a response is
        negative, orientations repeat or are too few, or a curve is zero
        everywhere.

    Examples
    --------
    >>> theta = np.arange(0, 180, 1.0)
    >>> curve = np.cos(np.deg2rad(theta - 90)) ** 2
    >>> bw = orientation_bandwidth(curve, theta)
    >>> round(bw.width, 1), bw.defined   # arccos(2**-0.25) = 32.8 deg
    (32.8, True)
    >>> sharp = orientation_bandwidth(np.eye(12)[3], np.arange(0, 180, 15.0), method="von_mises")
    >>> float(sharp.width), sharp.defined, sharp.upper_bound   # below one 15-deg step
    (15.0, True, True)
    """
    check_choice("method", method, ("sampled", "von_mises"))
    level = check_range("level", level, 0.0, 1.0, closed="neither")
    r, theta, squeeze = _check_curves(responses, orientations, samples_name="orientations")
    minimum = 2 if method == "sampled" else MIN_FIT_POINTS["von_mises"]
    _check_distinct("orientations", theta, ORIENTATION_PERIOD, minimum)
    _check_responsive(r, "the bandwidth")
    bound, sharp, floor = _unresolved_width(r, theta, level, ORIENTATION_PERIOD)
    if method == "sampled":
        width, defined = _sampled_half_width(r, theta, level, ORIENTATION_PERIOD)
        upper = sharp
    else:
        p, _, ok = _fitting.fit_von_mises_batch(np.deg2rad(theta), r)
        width, defined = _von_mises_half_width(p, ok, level)
        upper = sharp & (~defined | floor)
    width = np.where(upper, bound, width)
    defined = defined | upper
    return Bandwidth(_out(width, squeeze), _out(defined, squeeze), _out(upper, squeeze))


#: Neighbours of the peak within this fraction of the peak-to-floor range of the
#: curve's minimum carry no information on the width (see orientation_bandwidth).
_FLOOR_FRACTION = 0.01


def _unresolved_width(
    r: np.ndarray, angles: np.ndarray, level: float, period: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper bound on the half-width (the mean distance to the two samples next to the
    peak), where it applies (both below ``level * peak``), and where those two samples
    are at the curve's floor (within ``_FLOOR_FRACTION`` of its range)."""
    wrapped = _wrap(angles, period)
    order = np.argsort(wrapped)
    a = wrapped[order]
    r = r[:, order]
    m, n = r.shape
    rows = np.arange(m)
    peak = np.argmax(r, axis=1)
    left, right = (peak - 1) % n, (peak + 1) % n
    top = r[rows, peak]
    criterion = level * top
    r_left, r_right = r[rows, left], r[rows, right]
    sharp = (r_left < criterion) & (r_right < criterion)
    low = r.min(axis=1)
    floor = np.maximum(r_left, r_right) <= low + _FLOOR_FRACTION * (top - low)
    d_left = _wrap(a[peak] - a[left], period)
    d_right = _wrap(a[right] - a[peak], period)
    d_left = np.where(d_left == 0, period, d_left)      # two samples: the other is both
    d_right = np.where(d_right == 0, period, d_right)
    return 0.5 * (d_left + d_right), sharp, floor


def _sampled_half_width(
    r: np.ndarray, angles: np.ndarray, level: float, period: float
) -> tuple[np.ndarray, np.ndarray]:
    """Half-width at ``level * max`` of each row, interpolated linearly; period/2 if undefined."""
    order = np.argsort(_wrap(angles, period))
    a = _wrap(angles, period)[order]
    r = r[:, order]
    m, n = r.shape
    rows = np.arange(m)[:, None]
    peak = np.argmax(r, axis=1)
    criterion = level * r[np.arange(m), peak]
    steps = np.arange(n)
    sides = []
    for sign in (1, -1):
        idx = (peak[:, None] + sign * steps[None, :]) % n
        dist = _wrap(sign * (a[idx] - a[peak][:, None]), period)
        vals = r[rows, idx]
        below = vals < criterion[:, None]
        below[:, 0] = False
        first = np.argmax(below, axis=1)
        j0 = np.maximum(first - 1, 0)
        v0, v1 = vals[np.arange(m), j0], vals[np.arange(m), first]
        d0, d1 = dist[np.arange(m), j0], dist[np.arange(m), first]
        frac = (v0 - criterion) / np.where(v0 > v1, v0 - v1, 1.0)
        sides.append(d0 + frac * (d1 - d0))
    defined = np.any(r < criterion[:, None], axis=1)
    width = np.where(defined, 0.5 * (sides[0] + sides[1]), period / 2.0)
    return width, defined


def _von_mises_half_width(
    p: np.ndarray, ok: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form half-width (deg) of fitted von Mises curves at ``level`` x their peak.

    ``b + a E = level (b + a)`` with ``E = exp(kappa (cos 2d - 1))`` in
    ``[exp(-2 kappa), 1]`` gives ``cos 2d = 1 + ln(E) / kappa``.
    """
    b, a, kappa = p[:, 0], p[:, 1], p[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        target = (level * (b + a) - b) / a
        reachable = ok & (a > 0) & (kappa > 0) & (target > np.exp(-2.0 * kappa)) & (target < 1)
        cos2d = 1.0 + np.log(np.where(reachable, target, 1.0)) / np.where(reachable, kappa, 1.0)
    half = np.rad2deg(0.5 * np.arccos(np.clip(cos2d, -1.0, 1.0)))
    return np.where(reachable, half, ORIENTATION_PERIOD / 2.0), reachable


def von_mises(
    orientations: Any, *, mu: float, kappa: float, amplitude: float, baseline: float = 0.0
) -> np.ndarray:
    """The orientation von Mises curve ``baseline + amplitude exp(kappa (cos 2(theta - mu) - 1))``.

    Parameters
    ----------
    orientations : array_like
        Orientations in degrees, any shape.
    mu : float
        Preferred orientation in degrees.
    kappa : float
        Concentration (>= 0); larger is narrower.
    amplitude, baseline : float
        Peak height above baseline, and the baseline, in response units.

    Returns
    -------
    ndarray
        Same shape as ``orientations``, float64.

    Raises
    ------
    ValueError
        If an argument is NaN or infinite or ``kappa`` is negative.

    Examples
    --------
    >>> von_mises([0.0, 90.0], mu=0.0, kappa=1.0, amplitude=2.0, baseline=1.0).round(3).tolist()
    [3.0, 1.271]
    """
    theta = check_array("orientations", orientations, dtype=np.float64, nonempty=False)
    kappa = check_range("kappa", kappa, 0.0, np.inf, closed="left")
    p = np.array([[check_real("baseline", baseline), check_real("amplitude", amplitude),
                   np.deg2rad(check_real("mu", mu)), kappa]])
    flat = np.deg2rad(theta.ravel())
    return _fitting.von_mises_model(flat, p)[0].reshape(theta.shape)


def fit_von_mises(responses: Any, orientations: Any) -> VonMisesFit:
    """Least-squares fit of an orientation von Mises curve to each tuning curve.

    Model: ``r(theta) = baseline + amplitude * exp(kappa * (cos 2(theta - mu) - 1))``
    with ``amplitude >= 0`` and ``0.1 <= kappa <= 500`` (below 0.1 the bump is a
    sinusoid and amplitude and baseline trade off without bound; 500 is a
    half-width of about 1°, finer than any protocol resolves).  Fitted by
    Levenberg–Marquardt on all curves at once, from several starting widths and
    the vector-sum and argmax preferences; the lowest residual wins.

    Parameters
    ----------
    responses : array_like of shape (n_orientations,) or (n_curves, n_orientations)
        Responses (any sign).
    orientations : array_like of shape (n_orientations,)
        At least 5 distinct orientations (modulo 180°) in degrees.

    Returns
    -------
    VonMisesFit
        Fields ``mu`` (deg, [0, 180)), ``kappa``, ``amplitude``, ``baseline``,
        ``r2``, ``ok``; floats for one curve, ``(n_curves,)`` arrays for many.
        ``ok`` is False (and the other fields NaN) for a flat curve, where the
        preference is undefined, or if the optimiser did not converge.

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, or there are fewer
        than 5 distinct orientations.

    Examples
    --------
    >>> theta = np.arange(0, 180, 15.0)
    >>> curve = von_mises(theta, mu=60.0, kappa=2.0, amplitude=3.0, baseline=0.5)
    >>> fit = fit_von_mises(curve, theta)
    >>> round(fit.mu, 3), round(fit.kappa, 3), round(fit.amplitude, 3), fit.ok
    (60.0, 2.0, 3.0, True)
    """
    r, theta, squeeze = _check_curves(
        responses, orientations, samples_name="orientations", nonnegative=False
    )
    _check_distinct("orientations", theta, ORIENTATION_PERIOD, MIN_FIT_POINTS["von_mises"])
    p, r2, ok = _fitting.fit_von_mises_batch(np.deg2rad(theta), r)
    return _von_mises_result(p, r2, ok, squeeze)


def _von_mises_result(p: np.ndarray, r2: np.ndarray, ok: np.ndarray, squeeze: bool):
    def col(x):
        return _out(np.where(ok, x, np.nan), squeeze)

    return VonMisesFit(
        mu=col(np.rad2deg(p[:, 2])), kappa=col(p[:, 3]), amplitude=col(p[:, 1]),
        baseline=col(p[:, 0]), r2=col(r2), ok=_out(ok, squeeze),
    )


# ============================================================ direction metrics


def preferred_direction(responses: Any, directions: Any) -> float | np.ndarray:
    """Preferred direction by the vector sum, ``arg(sum_k r_k exp(i phi_k))``, in [0°, 360°).

    Parameters
    ----------
    responses : array_like of shape (n_directions,) or (n_curves, n_directions)
        Non-negative responses.
    directions : array_like of shape (n_directions,)
        Drift directions in degrees.

    Returns
    -------
    float or ndarray of shape (n_curves,)
        Degrees in [0, 360); meaningless when the global DSI is 0.

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a response is
        negative, or a curve is zero everywhere.

    Examples
    --------
    >>> round(preferred_direction([0.0, 1.0, 0.0, 0.0], [0, 90, 180, 270]), 6)
    90.0
    """
    r, phi, squeeze = _check_curves(responses, directions, samples_name="directions")
    _check_responsive(r, "the preferred direction")
    vector = r @ np.exp(1j * np.deg2rad(phi))
    return _out(_wrap(np.rad2deg(np.angle(vector)), DIRECTION_PERIOD), squeeze)


def dsi(responses: Any, directions: Any) -> float | np.ndarray:
    """Direction selectivity index, ``(R_pref - R_null) / (R_pref + R_null)``.

    ``R_pref`` is the largest sampled response, ``R_null`` the response 180°
    away, linearly interpolated (periodically) when not sampled.

    Parameters
    ----------
    responses : array_like of shape (n_directions,) or (n_curves, n_directions)
        Non-negative responses.
    directions : array_like of shape (n_directions,)
        Distinct directions (modulo 360°) in degrees, at least 2.

    Returns
    -------
    float or ndarray of shape (n_curves,)
        DSI in [0, 1].

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a response is
        negative, directions repeat, or a curve is zero everywhere.

    Examples
    --------
    >>> dsi([0.0, 4.0, 0.0, 0.0], [0, 90, 180, 270])
    1.0
    """
    r, phi, squeeze = _check_curves(responses, directions, samples_name="directions")
    _check_distinct("directions", phi, DIRECTION_PERIOD, 2)
    _check_responsive(r, "the DSI")
    return _out(_two_point_index(r, phi, DIRECTION_PERIOD), squeeze)


def global_dsi(responses: Any, directions: Any) -> float | np.ndarray:
    """Global direction selectivity, ``|sum_k r_k exp(i phi_k)| / sum_k r_k``.

    One minus the circular variance on the (undoubled) direction circle: 1 for a
    response to one direction only, 0 for a flat curve or equal responses to
    opposite directions.

    Parameters
    ----------
    responses : array_like of shape (n_directions,) or (n_curves, n_directions)
        Non-negative responses.
    directions : array_like of shape (n_directions,)
        Directions in degrees, evenly sampling [0, 360).

    Returns
    -------
    float or ndarray of shape (n_curves,)
        Global DSI in [0, 1].

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a response is
        negative, or a curve is zero everywhere.

    Examples
    --------
    >>> round(global_dsi([1.0, 0.0, 1.0, 0.0], [0, 90, 180, 270]), 6)
    0.0
    """
    r, phi, squeeze = _check_curves(responses, directions, samples_name="directions")
    _check_responsive(r, "the global DSI")
    resultant = np.abs(r @ np.exp(1j * np.deg2rad(phi)))
    return _out(np.clip(resultant / r.sum(axis=1), 0.0, 1.0), squeeze)


def double_von_mises(
    directions: Any,
    *,
    mu: float,
    kappa: float,
    amplitude_pref: float,
    amplitude_null: float,
    baseline: float = 0.0,
) -> np.ndarray:
    """Two von Mises bumps 180° apart with a shared width, for direction tuning.

    ``b + a_pref exp(k (cos(phi - mu) - 1)) + a_null exp(k (cos(phi - mu - 180°) - 1))``.

    Parameters
    ----------
    directions : array_like
        Directions in degrees, any shape.
    mu : float
        Preferred direction in degrees.
    kappa : float
        Concentration (>= 0).
    amplitude_pref, amplitude_null, baseline : float
        Heights of the preferred and opposite bumps, and the baseline.

    Returns
    -------
    ndarray
        Same shape as ``directions``, float64.

    Raises
    ------
    ValueError
        If an argument is NaN or infinite or ``kappa`` is negative.

    Examples
    --------
    >>> double_von_mises([0.0, 180.0], mu=0.0, kappa=2.0, amplitude_pref=2.0,
    ...                  amplitude_null=1.0).round(3).tolist()
    [2.018, 1.037]
    """
    phi = check_array("directions", directions, dtype=np.float64, nonempty=False)
    kappa = check_range("kappa", kappa, 0.0, np.inf, closed="left")
    p = np.array([[check_real("baseline", baseline), check_real("amplitude_pref", amplitude_pref),
                   check_real("amplitude_null", amplitude_null), np.deg2rad(check_real("mu", mu)),
                   kappa]])
    return _fitting.double_von_mises_model(np.deg2rad(phi.ravel()), p)[0].reshape(phi.shape)


def fit_double_von_mises(responses: Any, directions: Any) -> DoubleVonMisesFit:
    """Least-squares fit of :func:`double_von_mises` to direction tuning curves.

    Amplitudes are constrained >= 0 and ``kappa`` to [0.1, 500]; after the fit the
    larger bump is the preferred one.

    Parameters
    ----------
    responses : array_like of shape (n_directions,) or (n_curves, n_directions)
        Responses (any sign).
    directions : array_like of shape (n_directions,)
        At least 6 distinct directions (modulo 360°) in degrees.

    Returns
    -------
    DoubleVonMisesFit
        ``mu`` (deg, [0, 360)), ``kappa``, ``amplitude_pref``, ``amplitude_null``,
        ``baseline``, ``r2``, ``ok``; NaN exactly where ``ok`` is False.

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, or there are fewer
        than 6 distinct directions.

    Examples
    --------
    >>> phi = np.arange(0, 360, 30.0)
    >>> curve = double_von_mises(phi, mu=120.0, kappa=3.0, amplitude_pref=2.0,
    ...                          amplitude_null=0.5, baseline=0.1)
    >>> fit = fit_double_von_mises(curve, phi)
    >>> round(fit.mu, 3), round(fit.amplitude_null, 3), fit.ok
    (120.0, 0.5, True)
    """
    r, phi, squeeze = _check_curves(
        responses, directions, samples_name="directions", nonnegative=False
    )
    _check_distinct("directions", phi, DIRECTION_PERIOD, MIN_FIT_POINTS["double_von_mises"])
    p, r2, ok = _fitting.fit_double_von_mises_batch(np.deg2rad(phi), r)

    def col(x):
        return _out(np.where(ok, x, np.nan), squeeze)

    return DoubleVonMisesFit(
        mu=col(np.rad2deg(p[:, 3])), kappa=col(p[:, 4]), amplitude_pref=col(p[:, 1]),
        amplitude_null=col(p[:, 2]), baseline=col(p[:, 0]), r2=col(r2), ok=_out(ok, squeeze),
    )


# ============================================================ spatial frequency


def log_gaussian(
    sf: Any, *, peak_sf: float, sigma_octaves: float, amplitude: float, baseline: float = 0.0
) -> np.ndarray:
    """Spatial-frequency tuning as a Gaussian on a log2 axis.

    ``baseline + amplitude * exp(-(log2(sf / peak_sf))**2 / (2 sigma_octaves**2))``;
    with zero baseline its full width at half height is
    ``2 sqrt(2 ln 2) sigma_octaves`` octaves.

    Parameters
    ----------
    sf : array_like
        Spatial frequencies in c/deg (> 0), any shape.
    peak_sf : float
        Peak frequency in c/deg (> 0).
    sigma_octaves : float
        Standard deviation in octaves (> 0).
    amplitude, baseline : float
        Height above baseline, and the baseline.

    Returns
    -------
    ndarray
        Same shape as ``sf``, float64.

    Raises
    ------
    ValueError
        If an argument is NaN or infinite, or ``sf``, ``peak_sf`` or
        ``sigma_octaves`` is not positive.

    Examples
    --------
    >>> log_gaussian([1.0, 2.0, 4.0], peak_sf=2.0, sigma_octaves=1.0, amplitude=1.0).round(3)
    array([0.607, 1.   , 0.607])
    """
    f = check_array("sf", sf, dtype=np.float64, nonempty=False)
    if np.any(f <= 0):
        raise ValueError(f"sf must be positive (c/deg), got minimum {f.min():g}")
    peak = check_range("peak_sf", peak_sf, 0.0, np.inf, closed="neither")
    sigma = check_range("sigma_octaves", sigma_octaves, 0.0, np.inf, closed="neither")
    p = np.array([[check_real("baseline", baseline), check_real("amplitude", amplitude),
                   np.log2(peak), sigma]])
    return _fitting.log_gaussian_model(np.log2(f.ravel()), p)[0].reshape(f.shape)


def _check_sf_curves(responses: Any, sfs: Any, *, nonnegative: bool):
    r, f, squeeze = _check_curves(responses, sfs, samples_name="sfs", nonnegative=nonnegative)
    if np.any(f <= 0):
        raise ValueError(f"sfs must be positive (c/deg), got minimum {f.min():g}")
    return r, f, squeeze


def fit_log_gaussian(responses: Any, sfs: Any) -> LogGaussianFit:
    """Least-squares fit of :func:`log_gaussian` to spatial-frequency tuning curves.

    Constraints: ``amplitude >= 0``, ``sigma_octaves`` in [0.05, 8], and the peak
    within two octaves of the sampled range (a low-pass curve's fitted peak may
    lie below the lowest sampled frequency).

    Parameters
    ----------
    responses : array_like of shape (n_sf,) or (n_curves, n_sf)
        Responses (any sign).
    sfs : array_like of shape (n_sf,)
        At least 5 distinct spatial frequencies in c/deg (> 0).

    Returns
    -------
    LogGaussianFit
        ``peak_sf`` (c/deg), ``sigma_octaves``, ``amplitude``, ``baseline``,
        ``r2``, ``ok``; NaN exactly where ``ok`` is False.

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a frequency is not
        positive, or there are fewer than 5 distinct frequencies.

    Examples
    --------
    >>> f = 2.0 ** np.arange(-2, 4.5, 0.5)
    >>> fit = fit_log_gaussian(log_gaussian(f, peak_sf=3.0, sigma_octaves=0.8, amplitude=1.0), f)
    >>> round(fit.peak_sf, 3), round(fit.sigma_octaves, 3), fit.ok
    (3.0, 0.8, True)
    """
    r, f, squeeze = _check_sf_curves(responses, sfs, nonnegative=False)
    _check_distinct("sfs", f, None, MIN_FIT_POINTS["log_gaussian"])
    p, r2, ok = _fitting.fit_log_gaussian_batch(np.log2(f), r)
    return _log_gaussian_result(p, r2, ok, squeeze)


def _log_gaussian_result(p, r2, ok, squeeze) -> LogGaussianFit:
    def col(x):
        return _out(np.where(ok, x, np.nan), squeeze)

    return LogGaussianFit(
        peak_sf=col(2.0 ** p[:, 2]), sigma_octaves=col(p[:, 3]), amplitude=col(p[:, 1]),
        baseline=col(p[:, 0]), r2=col(r2), ok=_out(ok, squeeze),
    )


def _log_gaussian_full_width(p: np.ndarray, ok: np.ndarray, level: float = 0.5):
    """Full width (octaves) of fitted log-Gaussians at ``level`` x peak; inf if undefined."""
    b, a, sigma = p[:, 0], p[:, 1], p[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        target = (level * (b + a) - b) / a
        defined = ok & (a > 0) & (target > 0) & (target < 1)
        half = sigma * np.sqrt(-2.0 * np.log(np.where(defined, target, 0.5)))
    return np.where(defined, 2.0 * half, np.inf), defined


class _SFFits(NamedTuple):
    """Box-Cox Gaussian fits of SF curves (one value per curve); NaN where not ``ok``."""

    peak_sf: np.ndarray        # c/deg; 0 where the curve has no interior peak (low-pass to DC)
    width: np.ndarray          # full width at half height, octaves; inf where undefined
    width_ok: np.ndarray
    lam: np.ndarray
    sigma: np.ndarray
    amplitude: np.ndarray
    baseline: np.ndarray
    r2: np.ndarray
    ok: np.ndarray


def _fit_sf_curves(f: np.ndarray, r: np.ndarray) -> _SFFits:
    """Fit ``r (m, n)`` at ``f (n,)`` c/deg by the Box-Cox Gaussian (see the module docstring).

    ``ok``: converged, R² >= :data:`SF_FIT_MIN_R2`, and a fitted peak inside the
    sampled range lies within one sampling interval of the sampled maximum (a fit
    that puts the peak elsewhere describes the curve badly where it matters).
    """
    x = np.log2(f)
    p, r2, converged, ref = _fitting.fit_boxcox_gaussian_batch(x, r)
    peak = _fitting.boxcox_peak(p) + ref
    order = np.sort(x)
    gaps = np.diff(order)
    k = np.searchsorted(order, x[np.argmax(r, axis=1)])
    left = np.where(k > 0, gaps[np.maximum(k - 1, 0)], np.inf)
    right = np.where(k < len(order) - 1, gaps[np.minimum(k, len(gaps) - 1)], np.inf)
    sampled = x[np.argmax(r, axis=1)]
    inside = (peak >= order[0]) & (peak <= order[-1])
    near = np.where(peak < sampled, sampled - peak <= left, peak - sampled <= right)
    ok = converged & (np.nan_to_num(r2) >= SF_FIT_MIN_R2) & (~inside | near)
    b, a, sigma = p[:, 0], p[:, 1], p[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        target = (0.5 * (b + a) - b) / a
        reach = ok & np.isfinite(peak) & (a > 0) & (target > 0) & (target < 1)
        w = sigma * np.sqrt(-2.0 * np.log(np.where(reach, target, 0.5)))
    lo, hi = _fitting.boxcox_crossings(p, w)
    width_ok = reach & np.isfinite(lo) & np.isfinite(hi)
    width = np.where(width_ok, hi - lo, np.inf)

    def col(v):
        return np.where(ok, v, np.nan)

    peak_sf = np.where(np.isfinite(peak), 2.0 ** np.where(np.isfinite(peak), peak, 0.0), 0.0)
    return _SFFits(peak_sf=col(peak_sf), width=width, width_ok=width_ok, lam=col(p[:, 4]),
                   sigma=col(sigma), amplitude=col(a), baseline=col(b), r2=col(r2), ok=ok)


def sf_bandwidth(responses: Any, sfs: Any) -> Bandwidth:
    """Spatial-frequency bandwidth: full width at half height, in octaves, of a fitted curve.

    The curve is a Gaussian on a Box-Cox frequency axis (a log-Gaussian when the
    data are symmetric on a log axis, down to a Gaussian in linear SF for a
    Gabor's skewed curve; see the module docstring), as in :func:`sf_tuning`.
    The width is measured where the fitted curve crosses half of its own peak.

    Parameters
    ----------
    responses : array_like of shape (n_sf,) or (n_curves, n_sf)
        Non-negative responses.
    sfs : array_like of shape (n_sf,)
        At least 5 distinct spatial frequencies in c/deg.

    Returns
    -------
    Bandwidth
        ``width`` in octaves (``inf`` where undefined: a fit not trusted (R² below
        :data:`SF_FIT_MIN_R2`), a baseline above half the peak, or a curve that
        does not fall to half height on its low side even at 0 c/deg);
        ``defined`` bool.

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a frequency is not
        positive, there are fewer than 5 distinct frequencies, a response is
        negative or a curve is zero everywhere.

    Examples
    --------
    >>> f = 2.0 ** np.arange(-2, 4.5, 0.5)
    >>> bw = sf_bandwidth(log_gaussian(f, peak_sf=2.0, sigma_octaves=0.6, amplitude=1.0), f)
    >>> round(bw.width, 3), bw.defined   # 2 sqrt(2 ln 2) * 0.6
    (1.413, True)
    """
    r, f, squeeze = _check_sf_curves(responses, sfs, nonnegative=True)
    _check_distinct("sfs", f, None, MIN_FIT_POINTS["sf_curve"])
    _check_responsive(r, "the SF bandwidth")
    fits = _fit_sf_curves(f, r)
    return Bandwidth(_out(fits.width, squeeze), _out(fits.width_ok, squeeze),
                     _out(np.zeros(len(r), dtype=bool), squeeze))


def is_low_pass(responses: Any, sfs: Any, *, fraction: float = 0.5) -> bool | np.ndarray:
    """Whether a spatial-frequency curve is low-pass.

    Low-pass: the response at the lowest sampled frequency is at least
    ``fraction`` of the largest sampled response (the curve does not fall to
    half height on its low side within the sampled range).  Otherwise band-pass.

    Parameters
    ----------
    responses : array_like of shape (n_sf,) or (n_curves, n_sf)
        Non-negative responses.
    sfs : array_like of shape (n_sf,)
        Spatial frequencies in c/deg (> 0).
    fraction : float
        Criterion in (0, 1]; default 1/2.

    Returns
    -------
    bool or ndarray of bool, shape (n_curves,)

    Raises
    ------
    ValueError
        If the shapes disagree, a value is NaN or infinite, a response is
        negative, or a curve is zero everywhere.

    Examples
    --------
    >>> is_low_pass([[1.0, 0.9, 0.2], [0.1, 1.0, 0.2]], [0.5, 1.0, 2.0]).tolist()
    [True, False]
    """
    fraction = check_range("fraction", fraction, 0.0, 1.0, closed="right")
    r, f, squeeze = _check_sf_curves(responses, sfs, nonnegative=True)
    _check_responsive(r, "low-pass classification")
    lowest = r[:, np.argmin(f)]
    return _out(lowest >= fraction * r.max(axis=1), squeeze)


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
    von_mises = {"von_mises_mu": fitted.mu, "von_mises_kappa": fitted.kappa,
                 "von_mises_amplitude": fitted.amplitude,
                 "von_mises_baseline": fitted.baseline, "von_mises_r2": fitted.r2,
                 "fit_ok": fit_ok}
    return bandwidth, von_mises


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

