"""Orientation and direction metrics of tuning curves given as arrays.

The curve functions of :mod:`analysis.tuning` for orientation (circular
variance, global and two-point OSI, preferred orientation, half-width at
``1/sqrt(2)`` height, von Mises fits) and direction (DSI, global DSI, preferred
direction, double von Mises fits), with the input checks and the
:class:`Bandwidth` result shared with :mod:`analysis.sf_metrics`.  They take one
curve ``(n_conditions,)`` or many ``(n_curves, n_conditions)`` with the sampled
angles in degrees (orientations modulo 180°, directions modulo 360°) and need
non-negative responses; definitions in the docstring of :mod:`analysis.tuning`.
Import them from :mod:`analysis.tuning` (or :mod:`analysis`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from analysis import _fitting
from analysis._peaks import first_peak
from stimuli._shared.validation import (
    check_array,
    check_choice,
    check_range,
    check_real,
)

ORIENTATION_PERIOD = 180.0
DIRECTION_PERIOD = 360.0
HALF_HEIGHT_ORIENTATION = 1.0 / np.sqrt(2.0)  # Ringach et al. 2002
MIN_FIT_POINTS = {"von_mises": 5, "double_von_mises": 6, "log_gaussian": 5, "sf_curve": 5}


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


