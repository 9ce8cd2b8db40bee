"""Spatial-frequency metrics of tuning curves given as arrays.

Log-Gaussian fits, the SF bandwidth (full width at half height, in octaves, of a
Gaussian fitted on a Box-Cox frequency axis) and the low-pass test; frequencies
in cycles/degree, responses non-negative.  Import them from
:mod:`analysis.tuning` (or :mod:`analysis`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from analysis import _fitting
from analysis.orientation_metrics import (
    MIN_FIT_POINTS,
    Bandwidth,
    _check_curves,
    _check_distinct,
    _check_responsive,
    _out,
)
from stimuli._shared.validation import (
    check_array,
    check_range,
    check_real,
)

#: An SF fit is trusted (``fit_ok``) only with at least this R² (and a peak near the
#: sampled one, see :func:`sf_tuning`).
SF_FIT_MIN_R2 = 0.9


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


