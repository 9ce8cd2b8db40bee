"""Two-dimensional Gabor fits to receptive fields and filters (Jones & Palmer 1987).

The fitted function, in the package's coordinates (origin at the image centre,
x rightwards, y *up*, orientation θ = direction of the wave vector), is

.. math::

    g(x, y) = A \\exp\\left(-\\frac{x'^2}{2\\sigma_x^2} - \\frac{y'^2}{2\\sigma_y^2}\\right)
              \\cos(2\\pi f x' + \\varphi) + c

with ``x' = (x - x0)·cosθ + (y - y0)·sinθ`` (across the bars) and
``y' = -(x - x0)·sinθ + (y - y0)·cosθ`` (along the bars).  ``σx`` is therefore the
envelope width *across* the bars and ``σy`` *along* them, so that
``nx = σx·f`` and ``ny = σy·f`` are Ringach's (2002) receptive-field shape
numbers (envelope widths in carrier cycles).

Jones & Palmer (1987, J Neurophysiol 58:1233) showed that such fits to cat
simple-cell receptive fields leave residuals indistinguishable from noise; the
same fit is used here on reverse-correlation maps and on CNN first-layer
kernels.

Fitting is a bounded non-linear least-squares problem, solved for all maps of
one size at once by a batched Levenberg–Marquardt with Marquardt scaling and an
analytic Jacobian (:func:`analysis._fitting.batch_least_squares`; it reaches
scipy's trust-region-reflective fits to within optimiser tolerance at a fraction
of the cost of a Python loop over maps), each start from a deterministic
estimate: orientation and spatial frequency from the peak of the zero-padded
Fourier spectrum, envelope centre and widths from the moments of the
demodulated (one-sided-spectrum) envelope, phase from the demodulated signal at
the centre, and amplitude and offset by linear least squares.  No hand tuning is
needed and no randomness is involved.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import least_squares
from tqdm.auto import tqdm

from analysis._fitting import batch_least_squares
from stimuli._shared.validation import (
    check_array,
    check_bool,
    check_int,
    check_positive,
    check_range,
)
from stimuli.table import Table

__all__ = ["GaborFit", "fit_gabor", "fit_gabors"]

#: Number of free parameters: amplitude, x0, y0, θ, f, φ, σx, σy, offset.
N_PARAMETERS = 9

#: A start whose fit reaches this R² is kept without trying the other starts.
_GOOD_R2 = 0.9

_FIELDS = ("x", "y", "orientation", "sf", "phase", "sigma_x", "sigma_y", "nx", "ny",
           "amplitude", "offset", "r2")


@dataclass(frozen=True)
class GaborFit:
    """The result of :func:`fit_gabor`.

    Lengths and positions are in degrees (``sf`` in cycles/degree) when the fit
    was given ``pixels_per_degree``, otherwise in pixels (``sf`` in cycles/pixel);
    ``units`` says which.

    Attributes
    ----------
    x, y : float
        Envelope centre relative to the image centre, y up.
    orientation : float
        Direction of the carrier's wave vector in degrees, in [0, 180); 0 means
        vertical bars.
    sf : float
        Carrier spatial frequency.
    phase : float
        Carrier phase at the envelope centre in degrees, in [0, 360): 0 is a bright
        (ON) bar through the centre, 180 a dark one, 90/270 odd-symmetric.
    sigma_x, sigma_y : float
        Gaussian envelope standard deviations across and along the bars.
    nx, ny : float
        ``sigma_x * sf`` and ``sigma_y * sf`` (Ringach 2002), dimensionless.
    amplitude : float
        Peak amplitude ``A > 0`` of the Gabor, in the image's units.
    offset : float
        Constant ``c`` added to the Gabor, in the image's units.
    r2 : float
        Coefficient of determination ``1 - SS_res / SS_tot`` of the fit (NaN only
        when it is undefined, i.e. the image is flat or no fit was made).
    success : bool
        True when the optimiser converged and ``r2 >= min_r2``.
    message : str
        Why the fit failed, or ``"ok"``.
    units : str
        ``"deg"`` or ``"px"``.
    pixels_per_degree : float or None
        The scale given to :func:`fit_gabor`.
    """

    x: float
    y: float
    orientation: float
    sf: float
    phase: float
    sigma_x: float
    sigma_y: float
    nx: float
    ny: float
    amplitude: float
    offset: float
    r2: float
    success: bool
    message: str
    units: str
    pixels_per_degree: float | None

    def as_dict(self) -> dict:
        """The fields as a plain dict (JSON-friendly: floats, bool, str)."""
        return asdict(self)

    def image(self, shape: tuple[int, int]) -> np.ndarray:
        """Render the fitted Gabor on a ``(rows, cols)`` pixel grid.

        Parameters
        ----------
        shape : tuple of int
            ``(rows, cols)`` of the image to draw; the fit's coordinates are
            relative to that image's centre.

        Returns
        -------
        ndarray of shape (rows, cols), float64

        Raises
        ------
        ValueError
            If the fit has no parameters (a flat or too-small image).

        Examples
        --------
        >>> y, x = np.mgrid[7:-8:-1, -7:8]
        >>> img = np.exp(-(x**2 + y**2) / 12.5) * np.cos(2 * np.pi * 0.2 * x)
        >>> fit = fit_gabor(img)
        >>> bool(np.allclose(fit.image(img.shape), img, atol=1e-6))
        True
        """
        if not np.isfinite(self.sf):
            raise ValueError(f"this fit has no parameters to draw ({self.message})")
        scale = 1.0 if self.pixels_per_degree is None else self.pixels_per_degree
        params = (self.amplitude, self.x * scale, self.y * scale, np.deg2rad(self.orientation),
                  self.sf / scale, np.deg2rad(self.phase), self.sigma_x * scale,
                  self.sigma_y * scale, self.offset)
        return _gabor_pixels(tuple(shape), params)


def _pixel_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x right, y up, origin at the image centre)."""
    rows, cols = shape
    xs = np.arange(cols, dtype=np.float64) - (cols - 1) / 2
    ys = (rows - 1) / 2 - np.arange(rows, dtype=np.float64)
    return np.meshgrid(xs, ys)


def _gabor_pixels(shape: tuple[int, int], params) -> np.ndarray:
    """The Gabor ``params = (A, x0, y0, θ [rad], f [c/px], φ [rad], σx, σy, c)`` in pixels."""
    x, y = _pixel_grid(shape)
    return _gabor(params, x, y)


def _gabor(p, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    amp, x0, y0, theta, f, phi, sx, sy, c = p
    dx, dy = x - x0, y - y0
    ct, st = np.cos(theta), np.sin(theta)
    xp = dx * ct + dy * st
    yp = -dx * st + dy * ct
    env = np.exp(-0.5 * (xp * xp / (sx * sx) + yp * yp / (sy * sy)))
    return amp * env * np.cos(2 * np.pi * f * xp + phi) + c


class _Problem:
    """Residuals and analytic Jacobian of the Gabor model on a fixed pixel grid."""

    #: Switch off to time scipy's finite differences in the reference path instead.
    analytic_jacobian = True

    def __init__(self, data: np.ndarray):
        x, y = _pixel_grid(data.shape)
        self.x = x.ravel()
        self.y = y.ravel()
        self.data = data.ravel()
        self._cache_key: bytes | None = None

    def _terms(self, p):
        key = p.tobytes()
        if key != self._cache_key:
            amp, x0, y0, theta, f, phi, sx, sy, _ = p
            dx, dy = self.x - x0, self.y - y0
            ct, st = np.cos(theta), np.sin(theta)
            xp = dx * ct + dy * st
            yp = -dx * st + dy * ct
            env = np.exp(-0.5 * (xp * xp / (sx * sx) + yp * yp / (sy * sy)))
            arg = 2 * np.pi * f * xp + phi
            self._terms_value = (xp, yp, ct, st, env, np.cos(arg), np.sin(arg))
            self._cache_key = key
        return self._terms_value

    def residuals(self, p):
        _, _, _, _, env, cos, _ = self._terms(p)
        return p[0] * env * cos + p[8] - self.data

    def jacobian(self, p):
        amp, _, _, _, f, _, sx, sy, _ = p
        xp, yp, ct, st, env, cos, sin = self._terms(p)
        ec = env * cos
        aec = amp * ec
        d_xp = amp * env * (-xp / (sx * sx) * cos - 2 * np.pi * f * sin)
        d_yp = -aec * yp / (sy * sy)
        jac = np.empty((self.data.size, N_PARAMETERS))
        jac[:, 0] = ec
        jac[:, 1] = -ct * d_xp + st * d_yp          # x0
        jac[:, 2] = -st * d_xp - ct * d_yp          # y0
        jac[:, 3] = yp * d_xp - xp * d_yp           # θ
        jac[:, 4] = -amp * env * sin * 2 * np.pi * xp
        jac[:, 5] = -amp * env * sin                # φ
        jac[:, 6] = aec * xp * xp / (sx ** 3)
        jac[:, 7] = aec * yp * yp / (sy ** 3)
        jac[:, 8] = 1.0
        return jac


def _initial_guesses(data: np.ndarray) -> list[np.ndarray]:
    """Deterministic starts: Fourier peak → θ, f; demodulated envelope → centre, σ, φ.

    The first start uses the peak of the power spectrum.  For small, broadband
    receptive fields (low ``nx``) that peak can sit near DC, so further starts use
    the peaks of the spectrum weighted by ``|k|`` and ``|k|²`` (only those that
    differ from earlier ones).
    """
    rows, cols = data.shape
    centred = data - data.mean()
    # zero-pad for a finer frequency grid (at least 4x the image, at least 64 samples)
    pr = max(64, 4 * rows)
    pc = max(64, 4 * cols)
    spec = np.fft.fft2(centred, s=(pr, pc))
    kx, ky = np.meshgrid(np.fft.fftfreq(pc), -np.fft.fftfreq(pr))   # ky: c/px upwards
    power = np.abs(spec) ** 2
    power[0, 0] = 0.0
    radius = np.hypot(kx, ky)
    x, y = _pixel_grid(data.shape)
    starts: list[np.ndarray] = []
    peaks: list[tuple[int, int]] = []
    for weight in (None, radius, radius * radius):
        weighted = power if weight is None else power * weight
        peak = np.unravel_index(np.argmax(weighted), power.shape)
        if any(abs(peak[0] - q[0]) + abs(peak[1] - q[1]) <= 2 for q in peaks):
            continue
        peaks.append(peak)
        starts.append(_start_from_peak(data, spec, kx, ky, peak, x, y))
    return starts


def _start_from_peak(data, spec, kx, ky, peak, x, y) -> np.ndarray:
    rows, cols = data.shape
    kx0, ky0 = kx[peak], ky[peak]
    f0 = float(np.hypot(kx0, ky0))
    theta0 = float(np.arctan2(ky0, kx0))
    # one-sided spectrum along the peak's wave vector: the analytic signal
    side = (kx * kx0 + ky * ky0) > 0
    analytic = np.fft.ifft2(2 * spec * side)[:rows, :cols]
    env2 = np.abs(analytic) ** 2
    total = env2.sum()
    if not total > 0:
        x0 = y0 = phi = 0.0
        sx = sy = max(rows, cols) / 4
    else:
        w = env2 / total
        x0 = float((w * x).sum())
        y0 = float((w * y).sum())
        ct, st = np.cos(theta0), np.sin(theta0)
        xp = (x - x0) * ct + (y - y0) * st
        yp = -(x - x0) * st + (y - y0) * ct
        # weights env² have variance σ²/2 for a Gaussian envelope
        sx = float(np.sqrt(2 * (w * xp * xp).sum()))
        sy = float(np.sqrt(2 * (w * yp * yp).sum()))
        phi = float(np.angle((w * analytic * np.exp(-2j * np.pi * f0 * xp)).sum()))
    p = np.array([1.0, x0, y0, theta0, f0, phi, max(sx, 0.5), max(sy, 0.5), 0.0])
    # amplitude and offset by linear least squares given the rest
    basis = _gabor(p, x, y) - p[8]
    design = np.column_stack([basis.ravel(), np.ones(basis.size)])
    (amp, off), *_ = np.linalg.lstsq(design, data.ravel(), rcond=None)
    p[0], p[8] = amp, off
    return p


def _bounds(shape: tuple[int, int], theta0: float):
    rows, cols = shape
    half_c, half_r = cols / 2, rows / 2
    big = float(2 * max(rows, cols))
    lower = np.array([-np.inf, -half_c, -half_r, theta0 - np.pi / 2, 0.0, -np.inf,
                      0.25, 0.25, -np.inf])
    upper = np.array([np.inf, half_c, half_r, theta0 + np.pi / 2, np.sqrt(0.5), np.inf,
                      big, big, np.inf])
    return lower, upper


def _canonical(p) -> tuple[float, ...]:
    """Map parameters to amplitude > 0, orientation in [0, 180), phase in [0, 360) degrees."""
    amp, x0, y0, theta, f, phi, sx, sy, c = (float(v) for v in p)
    if amp < 0:
        amp, phi = -amp, phi + np.pi
    theta_deg = np.rad2deg(theta) % 360.0
    phi_deg = np.rad2deg(phi)
    if theta_deg >= 180.0:
        # the wave vector reversed: same carrier with the phase negated
        theta_deg -= 180.0
        phi_deg = -phi_deg
    theta_deg = theta_deg % 180.0
    phi_deg = phi_deg % 360.0
    # rounding can land exactly on the open ends
    theta_deg = 0.0 if theta_deg >= 180.0 else theta_deg
    phi_deg = 0.0 if phi_deg >= 360.0 else phi_deg
    return amp, x0, y0, float(theta_deg), f, float(phi_deg), sx, sy, c


def _same_basin(start: np.ndarray, fitted: np.ndarray) -> bool:
    """True if a further start begins at the carrier an earlier fit already reached.

    Such a start would descend to the same fit, so it is skipped: within 25% in
    frequency and 20° in orientation (modulo 180°).
    """
    f0, f1 = start[4], fitted[4]
    dtheta = abs((np.rad2deg(start[3] - fitted[3]) + 90.0) % 180.0 - 90.0)
    return abs(f0 - f1) <= 0.25 * max(f1, 1e-12) and dtheta <= 20.0


def _failure(message: str, units: str, ppd: float | None, r2: float = np.nan) -> GaborFit:
    nan = float("nan")
    return GaborFit(x=nan, y=nan, orientation=nan, sf=nan, phase=nan, sigma_x=nan, sigma_y=nan,
                    nx=nan, ny=nan, amplitude=nan, offset=nan, r2=r2, success=False,
                    message=message, units=units, pixels_per_degree=ppd)


def _prepare(image: np.ndarray) -> tuple[str | None, np.ndarray, float, float]:
    """``(reason no fit is possible or None, map scaled to unit peak deviation, scale, SS_tot)``."""
    if image.size <= N_PARAMETERS:
        return (f"image has {image.size} pixels; a Gabor fit needs more than {N_PARAMETERS}",
                image, 1.0, np.nan)
    data = np.asarray(image, dtype=np.float64)
    deviation = data - data.mean()
    scale = float(np.abs(deviation).max())
    if scale == 0.0 or scale <= 1e-12 * float(np.abs(data).max()):
        return "image is flat (no variation to fit)", data, 1.0, np.nan
    data = data / scale
    return None, data, scale, float(((data - data.mean()) ** 2).sum())


#: Starting frequencies are kept this far below the sampling limit 0.5 c/px.
_NYQUIST_START = 0.5 * (1.0 - 2e-3)


def _start_in_bounds(p0: np.ndarray, shape: tuple[int, int]):
    """A start moved just inside its box, and the box ``(p0, lower, upper)``.

    A spectral peak can sit exactly at the sampling limit (0.5 c/px).  There, with
    an axis-aligned carrier on the pixel grid, the derivatives with respect to the
    frequency and orientation vanish by symmetry: a saddle that a least-squares
    optimiser either stops at (reporting a wrong fit) or leaves only slowly.  Such
    a start is moved just below the limit.
    """
    lower, upper = _bounds(shape, p0[3])
    margin = 1e-6 * (1.0 + np.abs(p0))
    p0 = np.array(p0, dtype=np.float64)
    p0[4] = min(p0[4], _NYQUIST_START)
    return np.minimum(np.maximum(p0, lower + margin), upper - margin), lower, upper


def _result(p, r2: float, converged: bool, why: str, scale: float, ppd: float | None,
            min_r2: float) -> GaborFit:
    """The fit in the caller's units from optimiser parameters on the unit-scaled map."""
    units = "px" if ppd is None else "deg"
    amp, x0, y0, theta, f, phi, sx, sy, c = _canonical(p)
    amp, c = amp * scale, c * scale
    to_deg = 1.0 if ppd is None else 1.0 / ppd
    if not converged:
        success, message = False, f"optimiser did not converge: {why}"
    elif r2 < min_r2:
        success, message = False, f"r2 {r2:.3f} is below min_r2 {min_r2}: no Gabor-like structure"
    else:
        success, message = True, "ok"
    return GaborFit(x=x0 * to_deg, y=y0 * to_deg, orientation=theta, sf=f / to_deg, phase=phi,
                    sigma_x=sx * to_deg, sigma_y=sy * to_deg, nx=sx * f, ny=sy * f,
                    amplitude=amp, offset=c, r2=r2, success=success, message=message,
                    units=units, pixels_per_degree=ppd)


def _fit_one_trf(image: np.ndarray, ppd: float | None, min_r2: float,
                 max_nfev: int) -> GaborFit:
    """Reference path: one map, scipy's trust-region reflective per start.

    The same starts, basin test, early exit and result rules as :func:`_fit_stack`;
    kept for the benchmark and the tests that compare the batched fit with it.
    """
    units = "px" if ppd is None else "deg"
    reason, data, scale, ss_tot = _prepare(image)
    if reason is not None:
        return _failure(reason, units, ppd)
    problem = _Problem(data)
    best = None
    for p0 in _initial_guesses(data):
        if best is not None and _same_basin(p0, best[0].x):
            continue
        p0, lower, upper = _start_in_bounds(p0, data.shape)
        jac = problem.jacobian if problem.analytic_jacobian else "2-point"
        result = least_squares(problem.residuals, p0, jac=jac,
                               bounds=(lower, upper), method="trf", x_scale="jac",
                               max_nfev=max_nfev)
        r2 = 1.0 - float((result.fun ** 2).sum()) / ss_tot
        if best is None or (result.status > 0, r2) > (best[0].status > 0, best[1]):
            best = (result, r2)
        if result.status > 0 and r2 >= _GOOD_R2:
            break
    result, r2 = best
    return _result(result.x, r2, result.status > 0, result.message, scale, ppd, min_r2)


def _batch_terms(xy: np.ndarray, p: np.ndarray, with_sin: bool = True):
    """Rotated coordinates, envelope and carrier of the Gabors ``p (m, 9)`` at ``xy``."""
    amp, x0, y0, theta, f, phi, sx, sy, c = (p[:, i, None] for i in range(N_PARAMETERS))
    dx, dy = xy[0] - x0, xy[1] - y0
    ct, st = np.cos(theta), np.sin(theta)
    xp = dx * ct + dy * st
    yp = -dx * st + dy * ct
    env = np.exp(-0.5 * (xp * xp / (sx * sx) + yp * yp / (sy * sy)))
    arg = 2 * np.pi * f * xp + phi
    return xp, yp, ct, st, env, np.cos(arg), np.sin(arg) if with_sin else None


def _batch_model(xy: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The Gabor at pixel coordinates ``xy (2, n)`` for parameters ``p (m, 9)`` → ``(m, n)``."""
    _, _, _, _, env, cos, _ = _batch_terms(xy, p, with_sin=False)
    return p[:, 0, None] * env * cos + p[:, 8, None]


def _batch_jacobian(xy: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Derivative of :func:`_batch_model` with respect to each parameter, ``(m, n, 9)``."""
    amp, f, sx, sy = p[:, 0, None], p[:, 4, None], p[:, 6, None], p[:, 7, None]
    xp, yp, ct, st, env, cos, sin = _batch_terms(xy, p)
    ec = env * cos
    aec = amp * ec
    d_xp = amp * env * (-xp / (sx * sx) * cos - 2 * np.pi * f * sin)
    d_yp = -aec * yp / (sy * sy)
    jac = np.empty(xp.shape + (N_PARAMETERS,))
    jac[..., 0] = ec
    jac[..., 1] = -ct * d_xp + st * d_yp          # x0
    jac[..., 2] = -st * d_xp - ct * d_yp          # y0
    jac[..., 3] = yp * d_xp - xp * d_yp           # θ
    jac[..., 4] = -amp * env * sin * 2 * np.pi * xp
    jac[..., 5] = -amp * env * sin                # φ
    jac[..., 6] = aec * xp * xp / (sx ** 3)
    jac[..., 7] = aec * yp * yp / (sy ** 3)
    jac[..., 8] = 1.0
    return jac


#: A batched fit has converged when an accepted step lowers the residual sum of
#: squares by less than this fraction (scipy's ``ftol``) ...
_RTOL = 1e-8
#: ... or moves the parameters by less than this relative amount (scipy's ``xtol``).
_XTOL = 1e-8


def _fit_stack(stack: np.ndarray, ppd: float | None, min_r2: float, max_nfev: int,
               progress: bool = False) -> list[GaborFit]:
    """Fit every map of ``stack (n, rows, cols)`` with one batched Levenberg–Marquardt
    per start (:func:`analysis._fitting.batch_least_squares`).

    Start ``s`` runs, all maps at once, for the maps that have an ``s``-th start,
    whose best fit so far is not yet good (converged with R² >= ``_GOOD_R2``) and
    whose start is not in that fit's basin: the rules of a loop over starts per
    map.  Each iteration evaluates the residuals and the Jacobian once, so
    ``max_nfev`` is the number of iterations per start.
    """
    units = "px" if ppd is None else "deg"
    n, rows, cols = stack.shape
    fits: list[GaborFit | None] = [None] * n
    todo, data, scales, ss_tot, starts = [], [], [], [], []
    for i, image in enumerate(tqdm(stack, desc="Gabor fits (starts)", unit="map",
                                   disable=not progress, leave=False)):
        reason, d, scale, ss = _prepare(image)
        if reason is not None:
            fits[i] = _failure(reason, units, ppd)
            continue
        todo.append(i)
        data.append(d.ravel())
        scales.append(scale)
        ss_tot.append(ss)
        starts.append(_initial_guesses(d))
    if todo:
        x, y = _pixel_grid((rows, cols))
        xy = np.stack([x.ravel(), y.ravel()])
        data_arr, ss_arr = np.array(data), np.array(ss_tot)
        m = len(todo)
        best_p = np.full((m, N_PARAMETERS), np.nan)
        best_r2 = np.full(m, -np.inf)
        best_ok = np.zeros(m, dtype=bool)
        tried = np.zeros(m, dtype=bool)
        for s in range(max(len(st) for st in starts)):
            good = best_ok & (best_r2 >= _GOOD_R2)
            run = [j for j in range(m) if len(starts[j]) > s and not good[j]
                   and not (tried[j] and _same_basin(starts[j][s], best_p[j]))]
            if not run:
                continue
            boxes = [_start_in_bounds(starts[j][s], (rows, cols)) for j in run]
            p, sse, ok = batch_least_squares(
                _batch_model, _batch_jacobian, xy, data_arr[run],
                np.array([b[0] for b in boxes]), lower=np.array([b[1] for b in boxes]),
                upper=np.array([b[2] for b in boxes]), max_iter=max_nfev, rtol=_RTOL, xtol=_XTOL,
                reflect=True)
            r2 = 1.0 - sse / ss_arr[run]
            # a converged fit first, then the higher R² (an earlier start on ties)
            take = ~tried[run] | (ok & ~best_ok[run]) | ((ok == best_ok[run]) & (r2 > best_r2[run]))
            sel = np.asarray(run)[take]
            best_p[sel], best_r2[sel], best_ok[sel] = p[take], r2[take], ok[take]
            tried[run] = True
        why = f"no convergence within max_nfev={max_nfev} iterations"
        for j, i in enumerate(todo):
            fits[i] = _result(best_p[j], float(best_r2[j]), bool(best_ok[j]), why, scales[j],
                              ppd, min_r2)
    return fits


def _check_common(pixels_per_degree, min_r2, max_nfev) -> tuple[float | None, float, int]:
    ppd = None if pixels_per_degree is None else check_positive(
        "pixels_per_degree", pixels_per_degree)
    min_r2 = check_range("min_r2", min_r2, -np.inf, 1.0)
    return ppd, min_r2, check_int("max_nfev", max_nfev, minimum=1)


def fit_gabor(image, pixels_per_degree: float | None = None, *, min_r2: float = 0.5,
              max_nfev: int = 200) -> GaborFit:
    """Fit a 2D Gabor (Jones & Palmer 1987) to one receptive-field map or filter.

    Parameters
    ----------
    image : array_like of shape (rows, cols)
        The map, e.g. a reverse-correlation receptive field or a CNN kernel, in
        display orientation (row 0 at the top).  Must be finite.
    pixels_per_degree : float, optional
        If given, positions and widths are returned in degrees and ``sf`` in
        cycles/degree; otherwise in pixels and cycles/pixel.
    min_r2 : float
        Fits with ``r2`` below this are reported with ``success=False`` (default
        0.5): a noise-only map still yields numbers, but not a Gabor.
    max_nfev : int
        Maximum number of Levenberg–Marquardt iterations per start; each
        iteration evaluates the residuals and the Jacobian once, so this bounds
        the residual evaluations much as ``max_nfev`` of
        ``scipy.optimize.least_squares`` does.
        A start that runs out is not converged (``success=False`` if it is the
        best start).

    Returns
    -------
    GaborFit
        Centre ``x, y``, ``orientation`` (deg, [0, 180)), ``sf``, ``phase``
        (deg), ``sigma_x`` (across the bars), ``sigma_y`` (along the bars),
        ``nx``, ``ny`` (Ringach 2002), ``amplitude``, ``offset``, ``r2``,
        ``success`` and ``message``.  A flat image, or one with no more pixels
        than the model's 9 parameters, gives ``success=False``, NaN parameters
        and ``r2 = nan`` (R² is undefined there) with the reason in ``message``.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, is empty or contains NaN or infinity, or an
        option is out of range.
    TypeError
        If ``image`` is not numeric.

    Examples
    --------
    A Gabor with vertical bars (orientation 0), 0.125 cycles/pixel, drawn at
    8 pixels/degree, is recovered in degrees and cycles/degree:

    >>> y, x = np.mgrid[15.5:-16:-1, -15.5:16]
    >>> img = np.exp(-(x**2 + y**2) / (2 * 4.0**2)) * np.cos(2 * np.pi * x / 8)
    >>> fit = fit_gabor(img, pixels_per_degree=8)
    >>> fit.success, round(fit.orientation % 180, 1), round(fit.sf, 3), round(fit.r2, 3)
    (True, 0.0, 1.0, 1.0)
    >>> fit_gabor(np.zeros((8, 8))).message
    'image is flat (no variation to fit)'
    """
    image = check_array("image", image, ndim=2, shape_doc="(rows, cols)", dtype=np.float64)
    ppd, min_r2, max_nfev = _check_common(pixels_per_degree, min_r2, max_nfev)
    return _fit_stack(image[None], ppd, min_r2, max_nfev)[0]


def fit_gabors(stack, pixels_per_degree: float | None = None, *, min_r2: float = 0.5,
               max_nfev: int = 200, progress: bool = False) -> Table:
    """Fit a Gabor to each map of a stack; one row per map.

    Parameters
    ----------
    stack : array_like of shape (n, rows, cols)
        Maps or kernels (e.g. ``ReceptiveFields.maps`` or CNN conv1 weights averaged
        over input channels).  Must be finite.
    pixels_per_degree : float, optional
        As in :func:`fit_gabor`.
    min_r2, max_nfev
        As in :func:`fit_gabor`.
    progress : bool
        Show a progress bar on stderr over the maps as their starts are computed
        (the fits themselves then run for all maps at once).

    Returns
    -------
    Table
        Columns ``x, y, orientation, sf, phase, sigma_x, sigma_y, nx, ny, amplitude,
        offset, r2`` (float64), ``success`` (bool) and ``message`` (str), ``n`` rows.

    Raises
    ------
    ValueError
        If ``stack`` is not 3-D, is empty or holds NaN or infinity.

    Examples
    --------
    >>> y, x = np.mgrid[7.5:-8:-1, -7.5:8]
    >>> maps = np.stack([np.exp(-(x**2 + y**2) / 18) * np.cos(2 * np.pi * y / 6),
    ...                  np.zeros((16, 16))])
    >>> tab = fit_gabors(maps)
    >>> tab["success"].tolist(), round(float(tab["orientation"][0]), 1)
    ([True, False], 90.0)
    """
    stack = check_array("stack", stack, ndim=3, shape_doc="(n, rows, cols)", dtype=np.float64)
    ppd, min_r2, max_nfev = _check_common(pixels_per_degree, min_r2, max_nfev)
    fits = _fit_stack(stack, ppd, min_r2, max_nfev, check_bool("progress", progress))
    columns: dict[str, np.ndarray] = {
        name: np.array([getattr(fit, name) for fit in fits], dtype=np.float64) for name in _FIELDS
    }
    columns["success"] = np.array([fit.success for fit in fits], dtype=bool)
    columns["message"] = np.array([fit.message for fit in fits], dtype=str)
    return Table(columns)
