"""Batched curve fits: all starts in one batch fit exactly as one run per start."""

import numpy as np
import pytest

from analysis import _fitting


def _one_run_per_start(model, jacobian, x, y, starts, *, lower, upper):
    """The previous ``best_of_starts``: one ``batch_least_squares`` run per start."""
    best_p = best_sse = best_ok = None
    for p0 in starts:
        p, sse, ok = _fitting.batch_least_squares(model, jacobian, x, y, p0,
                                                  lower=lower, upper=upper)
        if best_p is None:
            best_p, best_sse, best_ok = p, sse, ok
            continue
        take = (ok & ~best_ok) | ((ok == best_ok) & (sse < best_sse))
        best_p[take], best_sse[take], best_ok[take] = p[take], sse[take], ok[take]
    return best_p, best_sse, best_ok


def _curves(rng, m):
    """Noisy SF curves at 8 log-spaced sfs (log2 c/deg), some flat and some zero."""
    x = np.log2([0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6])
    peak, sigma, amp = rng.uniform(-1.5, 2.5, m), rng.uniform(0.3, 2.0, m), rng.uniform(0, 3, m)
    y = 0.1 * rng.random((m, 1)) + amp[:, None] * np.exp(
        -(x - peak[:, None]) ** 2 / (2 * sigma[:, None] ** 2))
    y = np.maximum(y + rng.normal(0.0, 0.1, y.shape) * rng.random((m, 1)), 0.0)
    y[:3] = 0.0
    y[3:6] = 1.0
    return x, y


@pytest.mark.parametrize("family", ["boxcox", "log_gaussian", "von_mises"])
def test_all_starts_in_one_batch_match_one_run_per_start(family):
    """Same parameters, residuals and convergence flags as the per-start loop.

    Every curve of a batch is fitted independently, so the documented tolerance is
    round-off (1e-12 relative); in practice the numbers are identical.
    """
    rng = np.random.default_rng(7)
    x, y = _curves(rng, 60)
    yn = y / np.maximum(np.abs(y).max(axis=1, keepdims=True), 1e-300)
    low = yn.min(axis=1)
    amp = np.maximum(yn.max(axis=1) - low, 1e-3)
    if family == "boxcox":
        model, jac = _fitting.boxcox_gaussian_model, _fitting.boxcox_gaussian_jacobian
        lower = np.array([-np.inf, 0.0, -20.0, 0.02, 0.0])
        upper = np.array([np.inf, np.inf, 20.0, 20.0, 1.0])
        x0 = (x - x.mean())[np.argmax(yn, axis=1)]
        starts = [np.stack([low, amp, x0, np.full_like(low, s), np.full_like(low, lam)], axis=1)
                  for lam in (0.0, 0.5, 1.0) for s in (0.5, 2.0)]
        x = x - x.mean()
    elif family == "log_gaussian":
        model, jac = _fitting.log_gaussian_model, _fitting.log_gaussian_jacobian
        lower = np.array([-np.inf, 0.0, x.min() - 2.0, 0.05])
        upper = np.array([np.inf, np.inf, x.max() + 2.0, 8.0])
        starts = [np.stack([low, amp, x[np.argmax(yn, axis=1)], np.full_like(low, s)], axis=1)
                  for s in (0.5, 1.0, 2.0)]
    else:
        model, jac = _fitting.von_mises_model, _fitting.von_mises_jacobian
        lower, upper = _fitting.VON_MISES_LOWER, _fitting.VON_MISES_UPPER
        x = np.deg2rad(np.arange(0.0, 180.0, 22.5))
        mu = rng.uniform(0, np.pi, len(yn))
        yn = np.exp(2.0 * (np.cos(2 * (x - mu[:, None])) - 1)) + rng.normal(0, 0.1, (len(mu), 8))
        starts = [np.stack([np.zeros(len(mu)), np.ones(len(mu)), mu + d, np.full(len(mu), k)],
                           axis=1) for d, k in ((0.0, 0.5), (0.3, 2.0), (-0.5, 8.0))]
    expected = _one_run_per_start(model, jac, x, yn, starts, lower=lower, upper=upper)
    got = _fitting.best_of_starts(model, jac, x, yn, starts, lower=lower, upper=upper)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(got[2], expected[2])
    assert got[2].mean() > 0.8      # the test fits real curves, most converge


def test_public_sf_fit_recovers_peak_and_bandwidth():
    """The public SF fit (all starts batched) still recovers a known log-Gaussian."""
    from analysis.tuning import log_gaussian, sf_bandwidth

    f = 2.0 ** np.arange(-2.0, 4.01, 0.5)
    curve = log_gaussian(f, peak_sf=3.0, sigma_octaves=0.8, amplitude=2.0)
    bw = sf_bandwidth(curve, f)
    fwhm = 2.0 * np.sqrt(2.0 * np.log(2.0)) * 0.8
    assert bool(bw.defined)
    assert float(bw.width) == pytest.approx(fwhm, abs=0.02)


def test_per_curve_bounds_match_one_run_per_bound():
    """Bounds of shape (m, k) act row by row: the same as a run per row with (k,) bounds,
    and shared bounds tiled to (m, k) give exactly the shared-bounds result."""
    rng = np.random.default_rng(3)
    x = np.deg2rad(np.arange(0.0, 180.0, 22.5))
    mu = rng.uniform(0, np.pi, 12)
    y = np.exp(2.0 * (np.cos(2 * (x - mu[:, None])) - 1)) + rng.normal(0, 0.05, (12, 8))
    p0 = np.stack([np.zeros(12), np.ones(12), mu + 0.2, np.full(12, 2.0)], axis=1)
    lower = np.tile(_fitting.VON_MISES_LOWER, (12, 1))
    upper = np.tile(_fitting.VON_MISES_UPPER, (12, 1))
    lower[:, 2], upper[:, 2] = mu - 0.05, mu + 0.05        # a narrow window per curve
    model, jac = _fitting.von_mises_model, _fitting.von_mises_jacobian
    got = _fitting.batch_least_squares(model, jac, x, y, p0, lower=lower, upper=upper)
    for i in range(12):
        one = _fitting.batch_least_squares(model, jac, x, y[i:i + 1], p0[i:i + 1],
                                           lower=lower[i], upper=upper[i])
        np.testing.assert_allclose(got[0][i], one[0][0], rtol=1e-12, atol=1e-12)
        assert got[2][i] == one[2][0]
    assert np.all((got[0][:, 2] >= mu - 0.05) & (got[0][:, 2] <= mu + 0.05))
    shared = _fitting.batch_least_squares(model, jac, x, y, p0, lower=_fitting.VON_MISES_LOWER,
                                          upper=_fitting.VON_MISES_UPPER)
    tiled = _fitting.batch_least_squares(model, jac, x, y, p0,
                                         lower=np.tile(_fitting.VON_MISES_LOWER, (12, 1)),
                                         upper=np.tile(_fitting.VON_MISES_UPPER, (12, 1)))
    for a, b in zip(shared, tiled, strict=True):
        np.testing.assert_array_equal(a, b)


def test_xtol_stops_on_a_short_step_and_is_off_by_default():
    """With xtol a curve stops once its accepted step is negligible; xtol=0 changes nothing."""
    rng = np.random.default_rng(5)
    x, y = _curves(rng, 30)
    yn = y[6:] / np.abs(y[6:]).max(axis=1, keepdims=True)
    p0 = np.stack([yn.min(axis=1), np.ones(len(yn)), x[np.argmax(yn, axis=1)],
                   np.ones(len(yn))], axis=1)
    lower = np.array([-np.inf, 0.0, x.min() - 2.0, 0.05])
    upper = np.array([np.inf, np.inf, x.max() + 2.0, 8.0])
    model, jac = _fitting.log_gaussian_model, _fitting.log_gaussian_jacobian
    default = _fitting.batch_least_squares(model, jac, x, yn, p0, lower=lower, upper=upper)
    off = _fitting.batch_least_squares(model, jac, x, yn, p0, lower=lower, upper=upper, xtol=0.0)
    loose = _fitting.batch_least_squares(model, jac, x, yn, p0, lower=lower, upper=upper,
                                         rtol=0.0, xtol=1e-3, max_iter=20)
    neither = _fitting.batch_least_squares(model, jac, x, yn, p0, lower=lower, upper=upper,
                                           rtol=0.0, max_iter=20)
    for a, b in zip(default, off, strict=True):
        np.testing.assert_array_equal(a, b)
    assert loose[2].all()             # rtol off: the step rule stops every curve in 20 ...
    assert not neither[2].any()       # ... where without it none has stopped yet
    # a step of 1e-3 relative costs at most ~1e-3 of the optimum's residual
    assert np.all(loose[1] <= default[1] * 1.01 + 1e-6)


def test_reflected_steps_stay_in_the_box_and_reach_the_same_interior_optimum():
    """reflect=True mirrors steps that cross a bound; interior optima are unchanged."""
    rng = np.random.default_rng(9)
    x = np.deg2rad(np.arange(0.0, 180.0, 22.5))
    mu = rng.uniform(0, np.pi, 20)
    y = 0.2 + np.exp(3.0 * (np.cos(2 * (x - mu[:, None])) - 1)) + rng.normal(0, 0.02, (20, 8))
    p0 = np.stack([np.zeros(20), np.ones(20), mu + 0.2, np.full(20, 0.5)], axis=1)
    model, jac = _fitting.von_mises_model, _fitting.von_mises_jacobian
    lower, upper = _fitting.VON_MISES_LOWER, _fitting.VON_MISES_UPPER
    plain = _fitting.batch_least_squares(model, jac, x, y, p0, lower=lower, upper=upper)
    mirrored = _fitting.batch_least_squares(model, jac, x, y, p0, lower=lower, upper=upper,
                                            reflect=True)
    assert np.all((mirrored[0] >= lower) & (mirrored[0] <= upper))
    assert mirrored[2].all() and plain[2].all()
    np.testing.assert_allclose(mirrored[1], plain[1], rtol=1e-6)
    np.testing.assert_allclose(np.mod(mirrored[0][:, 2], np.pi), np.mod(plain[0][:, 2], np.pi),
                               atol=1e-4)
