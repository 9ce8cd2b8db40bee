"""Batched least-squares curve fits for tuning curves (private).

Tuning analyses fit the same small model (4–5 parameters, 8–40 samples) to
thousands of units.  A Python loop over ``scipy.optimize.curve_fit`` costs a
few milliseconds per unit; :func:`batch_least_squares` runs Levenberg–Marquardt
on every curve at once with array operations instead.  The models and their
Jacobians live here too, so :mod:`analysis.tuning` only validates and tabulates.

Angles here are in **radians**; the public functions in ``analysis.tuning``
convert from degrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

ModelFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
JacobianFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

KAPPA_MAX = 500.0  # von Mises concentration cap: half-width ~1 deg, finer than any protocol
# Below ~0.1 the von Mises bump is indistinguishable from a sinusoid; without a floor
# the least-squares optimum of a broad noisy curve runs off to kappa -> 0 with
# amplitude -> inf and baseline -> -inf, and never converges.
KAPPA_MIN = 0.1


def batch_least_squares(
    model: ModelFn,
    jacobian: JacobianFn,
    x: np.ndarray,
    y: np.ndarray,
    p0: np.ndarray,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    max_iter: int = 200,
    rtol: float = 1e-10,
    xtol: float = 0.0,
    reflect: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levenberg–Marquardt on many independent curves sharing the sample points ``x``.

    Parameters
    ----------
    model : callable
        ``model(x, p)`` with ``x (n,)`` and ``p (m, k)`` returns ``(m, n)``.
    jacobian : callable
        ``jacobian(x, p)`` returns ``(m, n, k)``, the derivative of the model
        with respect to each parameter.
    x : ndarray
        The sample points, shape ``(n,)`` (or e.g. ``(2, n)`` for a 2-D grid),
        passed unchanged to ``model`` and ``jacobian``.
    y : ndarray of shape (m, n)
        The curves, float64.
    p0 : ndarray of shape (m, k)
        Starting parameters.
    lower, upper : ndarray of shape (k,) or (m, k)
        Box bounds (``±inf`` for none), shared by all curves or one row per
        curve; steps are projected onto the box.
    max_iter : int
        Iterations per curve.
    rtol : float
        A curve stops when an accepted step lowers its sum of squares by less
        than this fraction.
    xtol : float
        A curve also stops when an accepted step is shorter than
        ``xtol * (xtol + |p|)`` (Euclidean norms; scipy's ``xtol`` rule).  The
        default 0 switches this rule off.
    reflect : bool
        If True, a step that crosses a bound is mirrored back into the box (as in
        scipy's trust-region-reflective method) rather than stopped at the bound,
        so that a long first step does not pin a parameter to its bound.

    Returns
    -------
    p : ndarray of shape (m, k)
    sse : ndarray of shape (m,)
        Residual sum of squares at ``p``.
    converged : ndarray of bool, shape (m,)
        False where ``max_iter`` ran out before the stopping rule held.
    """
    p = np.array(p0, dtype=np.float64)
    lower = np.broadcast_to(np.asarray(lower, dtype=np.float64), p.shape)
    upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), p.shape)
    p = np.clip(p, lower, upper)
    m, k = p.shape
    resid = y - model(x, p)
    sse = np.einsum("mn,mn->m", resid, resid)
    lam = np.full(m, 1e-3)
    active = np.ones(m, dtype=bool)
    converged = np.zeros(m, dtype=bool)
    eye = np.eye(k)
    scale_y = np.einsum("mn,mn->m", y, y) + 1e-300
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        pa, ra, lo, hi = p[idx], resid[idx], lower[idx], upper[idx]
        jac = jacobian(x, pa)
        grad = (ra[:, None, :] @ jac)[:, 0, :]
        # Parameters on a bound that the descent direction pushes outward are held
        # fixed for this step (an active set); merely clipping the joint step
        # instead makes convergence at a bound crawl.
        frozen = ((pa <= lo) & (grad < 0)) | ((pa >= hi) & (grad > 0))
        jac = jac * ~frozen[:, None, :]
        grad = np.where(frozen, 0.0, grad)
        jtj = jac.transpose(0, 2, 1) @ jac
        diag = np.einsum("mkk->mk", jtj)
        # Marquardt scaling plus a small ridge so degenerate directions
        # (e.g. kappa when the amplitude is 0) never make the system singular.
        ridge = 1e-9 * (diag.mean(axis=1, keepdims=True) + 1e-300)
        damp = lam[idx, None] * (diag + ridge) + frozen
        system = jtj + damp[:, :, None] * eye
        step = np.linalg.solve(system, grad[:, :, None])[:, :, 0]
        trial = pa + step
        if reflect:
            # a step through a bound is mirrored back into the box (as in a
            # trust-region-reflective method) instead of stopping at the bound
            trial = np.where(trial < lo, 2 * lo - trial, trial)
            trial = np.where(trial > hi, 2 * hi - trial, trial)
        trial = np.clip(trial, lo, hi)
        trial_resid = y[idx] - model(x, trial)
        trial_sse = np.einsum("mn,mn->m", trial_resid, trial_resid)
        better = np.isfinite(trial_sse) & (trial_sse < sse[idx])
        gain = (sse[idx] - trial_sse) / np.maximum(sse[idx], 1e-300)
        accepted = idx[better]
        p[accepted] = trial[better]
        resid[accepted] = trial_resid[better]
        sse[accepted] = trial_sse[better]
        lam[idx] = np.where(better, np.maximum(lam[idx] / 3.0, 1e-12), lam[idx] * 4.0)
        small = np.sqrt(np.einsum("mk,mk->m", trial - pa, trial - pa)) <= xtol * (
            xtol + np.sqrt(np.einsum("mk,mk->m", pa, pa)))
        done = (
            (better & ((gain < rtol) | (small & (xtol > 0))))
            | (sse[idx] <= 1e-16 * scale_y[idx])  # exact fit (to ~1e-8 relative rms)
            | (lam[idx] > 1e12)  # no step lowers the cost: a (local) minimum
        )
        converged[idx[done]] = True
        active[idx[done]] = False
    return p, sse, converged


def best_of_starts(
    model: ModelFn,
    jacobian: JacobianFn,
    x: np.ndarray,
    y: np.ndarray,
    starts: Sequence[np.ndarray],
    *,
    lower: np.ndarray,
    upper: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run :func:`batch_least_squares` from each start; keep each curve's lowest cost.

    All starts run as one batch (each curve once per start): every row of
    :func:`batch_least_squares` is fitted independently, so the result is the same
    as one run per start, without the per-iteration overhead of a run per start.
    Among the starts a converged fit is preferred, then the lower residual, then
    the earlier start.
    """
    starts = [np.asarray(p0, dtype=np.float64) for p0 in starts]
    m = y.shape[0]
    n_starts = len(starts)
    p, sse, ok = batch_least_squares(model, jacobian, x, np.tile(y, (n_starts, 1)),
                                     np.concatenate(starts, axis=0), lower=lower, upper=upper)
    p = p.reshape(n_starts, m, -1)
    sse, ok = sse.reshape(n_starts, m), ok.reshape(n_starts, m)
    best_p, best_sse, best_ok = p[0].copy(), sse[0].copy(), ok[0].copy()
    for s in range(1, n_starts):
        # Prefer a converged fit; among equals, the lower residual.
        take = (ok[s] & ~best_ok) | ((ok[s] == best_ok) & (sse[s] < best_sse))
        best_p[take], best_sse[take], best_ok[take] = p[s][take], sse[s][take], ok[s][take]
    return best_p, best_sse, best_ok


def r_squared(y: np.ndarray, sse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient of determination per curve, and whether it is defined (curve not flat)."""
    ss_tot = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2, axis=1)
    scale = np.sum(y * y, axis=1)
    defined = ss_tot > 1e-20 * np.maximum(scale, 1e-300)
    r2 = np.where(defined, 1.0 - sse / np.where(defined, ss_tot, 1.0), np.nan)
    return r2, defined


# -- orientation: von Mises on the doubled angle ------------------------------
# p = (baseline, amplitude, mu, kappa); r(t) = b + a exp(kappa (cos 2(t - mu) - 1))


def von_mises_model(theta: np.ndarray, p: np.ndarray) -> np.ndarray:
    b, a, mu, kappa = (p[:, i, None] for i in range(4))
    return b + a * np.exp(kappa * (np.cos(2.0 * (theta - mu)) - 1.0))


def von_mises_jacobian(theta: np.ndarray, p: np.ndarray) -> np.ndarray:
    _, a, mu, kappa = (p[:, i, None] for i in range(4))
    u = 2.0 * (theta - mu)
    e = np.exp(kappa * (np.cos(u) - 1.0))
    return np.stack(
        [np.ones_like(e), e, 2.0 * a * kappa * e * np.sin(u), a * e * (np.cos(u) - 1.0)], axis=-1
    )


VON_MISES_LOWER = np.array([-np.inf, 0.0, -np.inf, KAPPA_MIN])
VON_MISES_UPPER = np.array([np.inf, np.inf, np.inf, KAPPA_MAX])


def _unit_peak(y: np.ndarray):
    """Curves ``(m, n)`` scaled to unit peak magnitude for the optimiser, with the
    starting values shared by the circular fits: ``(scale (m, 1), yn, peak index,
    minimum, amplitude above the minimum)``."""
    scale = np.max(np.abs(y), axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    yn = y / scale
    low = yn.min(axis=1)
    return scale, yn, np.argmax(yn, axis=1), low, np.maximum(yn.max(axis=1) - low, 1e-3)


def fit_von_mises_batch(theta: np.ndarray, y: np.ndarray):
    """Fit ``b + a exp(kappa (cos 2(theta - mu) - 1))`` to each row of ``y``.

    ``theta`` in radians ``(n,)``, ``y (m, n)``.  Curves are scaled to unit peak
    magnitude for the optimiser and scaled back.  Returns ``(p (m, 4), r2, ok)``
    with ``mu`` wrapped to ``[0, pi)``.
    """
    scale, yn, peak, low, amp = _unit_peak(y)
    # Starting orientation: the vector sum of the baseline-subtracted curve
    # (robust to noise), and the sampled peak; several widths.
    weights = yn - low[:, None]
    vec = weights @ np.exp(2j * theta)
    mu_vs = np.where(np.abs(vec) > 0, np.angle(vec) / 2.0, theta[peak])
    starts = [
        np.stack([low, amp, mu, np.full_like(low, kappa)], axis=1)
        for mu, kappa in ((mu_vs, 0.5), (mu_vs, 2.0), (mu_vs, 8.0), (theta[peak], 2.0))
    ]
    p, sse, converged = best_of_starts(
        von_mises_model, von_mises_jacobian, theta, yn, starts,
        lower=VON_MISES_LOWER, upper=VON_MISES_UPPER,
    )
    r2, defined = r_squared(yn, sse)
    p[:, 0] *= scale[:, 0]
    p[:, 1] *= scale[:, 0]
    p[:, 2] = np.mod(p[:, 2], np.pi)
    ok = converged & defined & np.all(np.isfinite(p), axis=1) & (p[:, 1] > 0)
    return p, r2, ok


# -- direction: two von Mises bumps 180 deg apart, shared width --------------
# p = (baseline, a_pref, a_null, mu, kappa)
# r(d) = b + a1 exp(k (cos(d - mu) - 1)) + a2 exp(k (-cos(d - mu) - 1))


def double_von_mises_model(phi: np.ndarray, p: np.ndarray) -> np.ndarray:
    b, a1, a2, mu, kappa = (p[:, i, None] for i in range(5))
    c = np.cos(phi - mu)
    return b + a1 * np.exp(kappa * (c - 1.0)) + a2 * np.exp(kappa * (-c - 1.0))


def double_von_mises_jacobian(phi: np.ndarray, p: np.ndarray) -> np.ndarray:
    _, a1, a2, mu, kappa = (p[:, i, None] for i in range(5))
    c, s = np.cos(phi - mu), np.sin(phi - mu)
    e1 = np.exp(kappa * (c - 1.0))
    e2 = np.exp(kappa * (-c - 1.0))
    d_mu = kappa * s * (a1 * e1 - a2 * e2)
    d_kappa = a1 * e1 * (c - 1.0) + a2 * e2 * (-c - 1.0)
    return np.stack([np.ones_like(e1), e1, e2, d_mu, d_kappa], axis=-1)


DOUBLE_LOWER = np.array([-np.inf, 0.0, 0.0, -np.inf, KAPPA_MIN])
DOUBLE_UPPER = np.array([np.inf, np.inf, np.inf, np.inf, KAPPA_MAX])


def fit_double_von_mises_batch(phi: np.ndarray, y: np.ndarray):
    """Fit the two-bump direction model to each row of ``y`` (``phi`` in radians).

    Returns ``(p (m, 5), r2, ok)``; ``mu`` is the larger bump's direction in
    ``[0, 2 pi)`` and ``a_pref >= a_null``.
    """
    scale, yn, peak, low, amp = _unit_peak(y)
    mu0 = phi[peak]
    # Response nearest the opposite direction, as a start for the null bump.
    opposite = np.argmin(np.abs(np.angle(np.exp(1j * (phi[None, :] - mu0[:, None] - np.pi)))),
                         axis=1)
    a_null = np.maximum(yn[np.arange(len(yn)), opposite] - low, 0.0)
    starts = [
        np.stack([low, amp, a_null, mu0, np.full_like(low, kappa)], axis=1)
        for kappa in (0.5, 2.0, 8.0)
    ]
    p, sse, converged = best_of_starts(
        double_von_mises_model, double_von_mises_jacobian, phi, yn, starts,
        lower=DOUBLE_LOWER, upper=DOUBLE_UPPER,
    )
    r2, defined = r_squared(yn, sse)
    swap = p[:, 2] > p[:, 1]
    p[swap, 1], p[swap, 2] = p[swap, 2], p[swap, 1].copy()
    p[swap, 3] += np.pi
    p[:, 3] = np.mod(p[:, 3], 2.0 * np.pi)
    p[:, :3] *= scale
    ok = converged & defined & np.all(np.isfinite(p), axis=1) & (p[:, 1] > 0)
    return p, r2, ok


# -- spatial frequency: Gaussian on a log2 axis --------------------------------
# p = (baseline, amplitude, log2 peak sf, sigma in octaves)
# r(f) = b + a exp(-(log2 f - m)^2 / (2 sigma^2))


def log_gaussian_model(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    b, a, m, sigma = (p[:, i, None] for i in range(4))
    return b + a * np.exp(-((x - m) ** 2) / (2.0 * sigma**2))


def log_gaussian_jacobian(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    _, a, m, sigma = (p[:, i, None] for i in range(4))
    d = x - m
    e = np.exp(-(d**2) / (2.0 * sigma**2))
    return np.stack(
        [np.ones_like(e), e, a * e * d / sigma**2, a * e * d**2 / sigma**3], axis=-1
    )


def fit_log_gaussian_batch(log2_sf: np.ndarray, y: np.ndarray):
    """Fit the log-Gaussian to each row of ``y`` sampled at ``log2_sf (n,)``.

    The peak is kept within two octaves of the sampled range and sigma within
    [0.05, 8] octaves.  Returns ``(p (m, 4), r2, ok)``.
    """
    scale = np.max(np.abs(y), axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    yn = y / scale
    low = yn.min(axis=1)
    amp = np.maximum(yn.max(axis=1) - low, 1e-3)
    m0 = log2_sf[np.argmax(yn, axis=1)]
    lower = np.array([-np.inf, 0.0, log2_sf.min() - 2.0, 0.05])
    upper = np.array([np.inf, np.inf, log2_sf.max() + 2.0, 8.0])
    # Baseline at the curve's minimum, or at zero with the amplitude at its maximum.
    floors = ((low, amp), (np.zeros_like(low), amp + low))
    starts = [
        np.stack([b0, a0, m0, np.full_like(low, sigma)], axis=1)
        for b0, a0 in floors
        for sigma in (0.5, 1.0, 2.0)
    ]
    p, sse, converged = best_of_starts(
        log_gaussian_model, log_gaussian_jacobian, log2_sf, yn, starts,
        lower=lower, upper=upper,
    )
    r2, defined = r_squared(yn, sse)
    p[:, :2] *= scale
    ok = converged & defined & np.all(np.isfinite(p), axis=1) & (p[:, 1] > 0)
    return p, r2, ok


# -- spatial frequency: Gaussian on a Box-Cox frequency axis ---------------------
# x = log2(f / f_ref); u_lam(x) = (2**(lam x) - 1) / (lam ln 2)  (u_0 = x: octaves)
# p = (baseline, amplitude, m, sigma, lam); r = b + a exp(-(u_lam(x) - m)^2 / (2 sigma^2))
# lam = 0 is the log-Gaussian, lam = 1 a Gaussian in linear SF (a Gabor's curve).

LN2 = float(np.log(2.0))


def boxcox_axis(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``u_lam(x)`` for ``x (n,)`` and ``lam (m, 1)`` → ``(m, n)``; continuous at lam = 0."""
    z = lam * x * LN2
    small = np.abs(z) < 1e-8
    safe = np.where(small, 1.0, lam)
    return np.where(small, x * (1.0 + z / 2.0), np.expm1(z) / (safe * LN2))


def boxcox_gaussian_model(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    b, a, m, sigma, lam = (p[:, i, None] for i in range(5))
    u = boxcox_axis(x, lam)
    return b + a * np.exp(-((u - m) ** 2) / (2.0 * sigma**2))


def boxcox_gaussian_jacobian(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    _, a, m, sigma, lam = (p[:, i, None] for i in range(5))
    u = boxcox_axis(x, lam)
    d = u - m
    e = np.exp(-(d**2) / (2.0 * sigma**2))
    h = 1e-6
    du = (boxcox_axis(x, lam + h) - boxcox_axis(x, lam - h)) / (2 * h)
    return np.stack([np.ones_like(e), e, a * e * d / sigma**2, a * e * d**2 / sigma**3,
                     -a * e * d / sigma**2 * du], axis=-1)


def boxcox_peak(p: np.ndarray) -> np.ndarray:
    """log2(peak / f_ref) of fitted curves; -inf where the curve has no interior peak
    (``1 + lam m ln 2 <= 0``: monotone falling from f = 0, i.e. low-pass)."""
    m, lam = p[:, 2], p[:, 4]
    arg = 1.0 + lam * m * LN2
    with np.errstate(divide="ignore", invalid="ignore"):
        peak = np.where(np.abs(lam) < 1e-8, m, np.log2(np.maximum(arg, 0.0)) / lam)
    return np.where(arg > 0, peak, -np.inf)


def boxcox_crossings(p: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log2(f / f_ref) where ``u = m ∓ width``: the low and high crossings (NaN if none)."""
    m, lam = p[:, 2], p[:, 4]
    out = []
    for sign in (-1.0, 1.0):
        arg = 1.0 + lam * (m + sign * width) * LN2
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(np.abs(lam) < 1e-8, m + sign * width,
                         np.log2(np.maximum(arg, 1e-300)) / lam)
        out.append(np.where(arg > 0, x, np.nan))
    return out[0], out[1]


def fit_boxcox_gaussian_batch(log2_sf: np.ndarray, y: np.ndarray):
    """Fit the Box-Cox Gaussian to each row of ``y`` sampled at ``log2_sf (n,)``.

    Frequencies are referred to the geometric mean of the samples, ``x = log2(f /
    f_ref)``; lam is kept in [0, 1], sigma in [0.02, 20] and m within [-20, 20]
    (units of u).  Returns ``(p (m, 5), r2, converged, log2_ref)``.
    """
    ref = float(np.mean(log2_sf))
    x = log2_sf - ref
    scale = np.max(np.abs(y), axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    yn = y / scale
    low = yn.min(axis=1)
    amp = np.maximum(yn.max(axis=1) - low, 1e-3)
    x0 = x[np.argmax(yn, axis=1)]
    lower = np.array([-np.inf, 0.0, -20.0, 0.02, 0.0])
    upper = np.array([np.inf, np.inf, 20.0, 20.0, 1.0])
    floors = ((low, amp), (np.zeros_like(low), amp + low))
    starts = []
    for lam in (0.0, 0.5, 1.0):
        m0 = boxcox_axis(x0, np.array([[lam]]))[0]
        for b0, a0 in floors:
            for sigma in (0.5, 1.0, 2.0):
                starts.append(np.stack([b0, a0, m0, np.full_like(low, sigma),
                                        np.full_like(low, lam)], axis=1))
    p, sse, converged = best_of_starts(
        boxcox_gaussian_model, boxcox_gaussian_jacobian, x, yn, starts,
        lower=lower, upper=upper,
    )
    r2, defined = r_squared(yn, sse)
    p[:, :2] *= scale
    ok = converged & defined & np.all(np.isfinite(p), axis=1) & (p[:, 1] > 0)
    return p, r2, ok, ref
