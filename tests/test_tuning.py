"""Tuning metrics: hand-computable curves, fits on noisy samples, recording-level tables."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.recording import Recording
from analysis.tuning import (
    circular_variance,
    double_von_mises,
    dsi,
    fit_double_von_mises,
    fit_log_gaussian,
    fit_von_mises,
    global_dsi,
    global_osi,
    is_low_pass,
    log_gaussian,
    orientation_bandwidth,
    orientation_tuning,
    osi,
    preferred_direction,
    preferred_orientation,
    preferred_orientation_argmax,
    sf_bandwidth,
    sf_tuning,
    tuning_curves,
    von_mises,
)
from stimuli.table import Table

THETA12 = np.arange(0.0, 180.0, 15.0)  # the usual 12-orientation protocol
DIRS12 = np.arange(0.0, 360.0, 30.0)
SF = 2.0 ** np.arange(-2.0, 4.01, 0.5)  # 0.25 .. 16 c/deg in half-octave steps


def angular_error(a, b, period=180.0):
    return np.abs((np.asarray(a) - b + period / 2) % period - period / 2)


# ============================================================ circular variance, preference


@pytest.mark.parametrize("n", [4, 12, 36], ids=lambda n: f"{n}-orientations")
@pytest.mark.parametrize("where", [0, 1, -1], ids=["first", "second", "last"])
def test_circular_variance_of_a_delta_is_zero(n, where):
    theta = np.arange(n) * 180.0 / n
    curve = np.zeros(n)
    curve[where] = 3.0
    assert circular_variance(curve, theta) == pytest.approx(0.0, abs=1e-12)
    assert global_osi(curve, theta) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("n", [4, 12, 36], ids=lambda n: f"{n}-orientations")
def test_circular_variance_of_a_flat_curve_is_one(n):
    theta = np.arange(n) * 180.0 / n
    assert circular_variance(np.full(n, 0.7), theta) == pytest.approx(1.0, abs=1e-12)


def test_circular_variance_of_cos_squared_is_one_half():
    # cos^2(t) = (1 + cos 2t) / 2: resultant 1/4 per unit mean 1/2 -> CV = 1 - 1/2.
    curve = np.cos(np.deg2rad(THETA12 - 30.0)) ** 2
    assert circular_variance(curve, THETA12) == pytest.approx(0.5, abs=1e-12)


def test_curve_functions_accept_many_curves():
    curves = np.stack([np.eye(12)[3], np.ones(12)])
    np.testing.assert_allclose(circular_variance(curves, THETA12), [0.0, 1.0], atol=1e-12)
    assert preferred_orientation_argmax(curves, THETA12)[0] == 45.0


@pytest.mark.parametrize("mu", [0.0, 37.3, 90.0, 171.0], ids=lambda m: f"mu={m}")
@pytest.mark.parametrize("power", [1, 2], ids=["cos^2", "cos^4"])
def test_preferred_orientation_recovers_a_shifted_cos_power(mu, power):
    # The vector sum is exact for curves whose harmonics do not alias on the grid.
    curve = np.cos(np.deg2rad(THETA12 - mu)) ** (2 * power)
    assert angular_error(preferred_orientation(curve, THETA12), mu) < 1e-9
    assert 0.0 <= preferred_orientation(curve, THETA12) < 180.0


def test_argmax_preference_is_a_sampled_orientation():
    curve = np.cos(np.deg2rad(THETA12 - 37.3)) ** 2
    assert preferred_orientation_argmax(curve, THETA12) == 30.0


def test_orientations_are_taken_modulo_180():
    curve = np.cos(np.deg2rad(THETA12 - 20.0)) ** 2
    assert preferred_orientation(curve, THETA12 + 180.0) == pytest.approx(20.0, abs=1e-9)


# ============================================================ two-point OSI, bandwidth


def test_osi_is_the_two_point_index():
    # R_pref = 3 at 0 deg, R_orth = 1 at 90 deg.
    assert osi([3.0, 2.0, 1.0, 2.0], [0, 45, 90, 135]) == pytest.approx(0.5)


def test_osi_interpolates_an_unsampled_orthogonal():
    # Orthogonal to 0 deg is 90 deg, halfway between samples at 60 and 120 deg.
    assert osi([4.0, 1.0, 3.0], [0, 60, 120]) == pytest.approx((4 - 2) / (4 + 2))


@pytest.mark.parametrize("n", [1, 2, 4, 8], ids=lambda n: f"cos^{2 * n}")
def test_bandwidth_of_cos_power_matches_closed_form(n):
    # cos^(2n)(d) = 1/sqrt(2)  <=>  d = arccos(2^(-1/(4n))): a half-width in
    # orientation (the curve has period 180 deg in theta, no doubling needed).
    theta = np.arange(0.0, 180.0, 0.25)
    curve = np.cos(np.deg2rad(theta - 90.0)) ** (2 * n)
    expected = np.rad2deg(np.arccos(2.0 ** (-1.0 / (4 * n))))
    bw = orientation_bandwidth(curve, theta)
    assert bw.defined
    assert bw.width == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("kappa", [0.7, 2.0, 6.0], ids=lambda k: f"kappa={k}")
def test_fitted_bandwidth_of_von_mises_matches_closed_form(kappa):
    # exp(kappa (cos 2d - 1)) = 1/sqrt(2)  <=>  d = arccos(1 - ln 2 / (2 kappa)) / 2.
    curve = von_mises(THETA12, mu=50.0, kappa=kappa, amplitude=1.0)
    expected = np.rad2deg(0.5 * np.arccos(1.0 - np.log(2.0) / (2.0 * kappa)))
    bw = orientation_bandwidth(curve, THETA12, method="von_mises")
    assert bw.defined
    assert bw.width == pytest.approx(expected, rel=1e-6)


def test_bandwidth_undefined_is_explicit_not_nan():
    # A high floor: the curve never falls to 1/sqrt(2) of its peak.
    curve = 1.0 + 0.1 * np.cos(np.deg2rad(2 * THETA12))
    for method in ("sampled", "von_mises"):
        bw = orientation_bandwidth(curve, THETA12, method=method)
        assert (bw.width, bw.defined) == (90.0, False)


# ============================================================ von Mises fits


@pytest.mark.parametrize(
    ("mu", "kappa", "amplitude", "baseline"),
    [(20.0, 1.0, 1.0, 0.1), (95.5, 3.0, 2.0, 0.0), (170.0, 8.0, 1.0, 0.5)],
    ids=["broad", "medium", "narrow-wrapping"],
)
def test_von_mises_fit_recovers_parameters_from_noisy_samples(mu, kappa, amplitude, baseline):
    rng = np.random.default_rng(1)
    theta = np.arange(0.0, 180.0, 5.0)
    clean = von_mises(theta, mu=mu, kappa=kappa, amplitude=amplitude, baseline=baseline)
    fit = fit_von_mises(clean + rng.normal(0.0, 0.05 * amplitude, theta.size), theta)
    assert fit.ok
    assert angular_error(fit.mu, mu) < 2.0
    assert fit.kappa == pytest.approx(kappa, rel=0.3)
    assert fit.amplitude == pytest.approx(amplitude, rel=0.12)
    assert fit.baseline == pytest.approx(baseline, abs=0.1 * amplitude)
    assert 0.9 < fit.r2 <= 1.0


def test_von_mises_fit_is_exact_on_noiseless_curves_in_batch():
    rng = np.random.default_rng(2)
    mu, kappa = rng.uniform(0, 180, 200), rng.uniform(0.5, 10, 200)
    curves = np.stack([von_mises(THETA12, mu=m, kappa=k, amplitude=1.0, baseline=0.2)
                       for m, k in zip(mu, kappa, strict=True)])
    fit = fit_von_mises(curves, THETA12)
    assert fit.ok.all()
    assert angular_error(fit.mu, mu).max() < 1e-4
    np.testing.assert_allclose(fit.kappa, kappa, rtol=1e-4)
    np.testing.assert_allclose(fit.r2, 1.0, atol=1e-9)


def test_von_mises_fit_of_a_flat_curve_fails_explicitly():
    fit = fit_von_mises(np.full(12, 2.0), THETA12)
    assert fit.ok is False
    assert np.isnan([fit.mu, fit.kappa, fit.amplitude, fit.baseline, fit.r2]).all()


# ============================================================ direction


def test_dsi_of_a_one_direction_response_is_one():
    curve = np.zeros(12)
    curve[4] = 5.0
    assert dsi(curve, DIRS12) == pytest.approx(1.0)
    assert global_dsi(curve, DIRS12) == pytest.approx(1.0)
    assert preferred_direction(curve, DIRS12) == pytest.approx(120.0)


def test_dsi_of_equal_opposite_responses_is_zero():
    curve = np.cos(np.deg2rad(DIRS12 - 60.0)) ** 2  # same response to d and d + 180
    assert dsi(curve, DIRS12) == pytest.approx(0.0, abs=1e-12)
    assert global_dsi(curve, DIRS12) == pytest.approx(0.0, abs=1e-12)


def test_double_von_mises_fit_recovers_direction_and_null_bump():
    curve = double_von_mises(DIRS12, mu=250.0, kappa=3.0, amplitude_pref=2.0,
                             amplitude_null=0.6, baseline=0.1)
    fit = fit_double_von_mises(curve, DIRS12)
    assert fit.ok
    assert angular_error(fit.mu, 250.0, period=360.0) < 1e-4
    assert (fit.amplitude_pref, fit.amplitude_null) == pytest.approx((2.0, 0.6), rel=1e-4)


# ============================================================ spatial frequency


@pytest.mark.parametrize(("peak", "sigma"), [(1.5, 0.6), (4.0, 1.0)],
                         ids=["1.5cpd-narrow", "4cpd-broad"])
def test_log_gaussian_fit_recovers_peak_and_bandwidth(peak, sigma):
    curve = log_gaussian(SF, peak_sf=peak, sigma_octaves=sigma, amplitude=3.0)
    fit = fit_log_gaussian(curve, SF)
    assert fit.ok
    assert fit.peak_sf == pytest.approx(peak, rel=1e-5)
    bw = sf_bandwidth(curve, SF)
    assert bw.defined
    assert bw.width == pytest.approx(2.0 * np.sqrt(2.0 * np.log(2.0)) * sigma, rel=1e-5)


def test_low_pass_classification():
    low_pass = log_gaussian(SF, peak_sf=0.3, sigma_octaves=2.0, amplitude=1.0)
    band_pass = log_gaussian(SF, peak_sf=3.0, sigma_octaves=0.8, amplitude=1.0)
    assert is_low_pass(np.stack([low_pass, band_pass]), SF).tolist() == [True, False]


# ============================================================ recordings


def grid(**columns):
    """A full factorial condition table over the given column values."""
    mesh = np.meshgrid(*columns.values(), indexing="ij")
    return {name: m.ravel() for name, m in zip(columns, mesh, strict=True)}


def simple_cell_recording(n_phases=8):
    """Units tuned to orientation (von Mises), sf (log-Gaussian) and phase (rectified cosine)."""
    cond = grid(orientation=THETA12, phase=np.arange(0.0, 360.0, 360.0 / n_phases),
                sf=np.array([1.0, 2.0, 4.0]))
    mu = np.array([10.0, 50.0, 100.0, 170.0])
    unit_phase = np.array([0.0, 90.0, 30.0, 200.0])
    unit_sf = np.array([1.0, 2.0, 4.0, 2.0])
    orient = np.stack([von_mises(cond["orientation"], mu=m, kappa=2.0, amplitude=1.0)
                       for m in mu], axis=1)
    phase = np.maximum(np.cos(np.deg2rad(cond["phase"][:, None] - unit_phase)), 0.0)
    sf = np.exp(-np.log2(cond["sf"][:, None] / unit_sf) ** 2)
    rec = Recording(cond, (orient * phase * sf).astype(np.float32),
                    unit_info={"orientation": mu, "sf": unit_sf}, meta={"layer": "simple"})
    return rec, mu, unit_phase, unit_sf


def test_tuning_curves_average_a_rectified_cosine_over_phase():
    rec, mu, unit_phase, _ = simple_cell_recording()
    values, mean, sem = tuning_curves(rec)
    np.testing.assert_array_equal(values, THETA12)
    phases = np.arange(0.0, 360.0, 45.0)
    rect = np.maximum(np.cos(np.deg2rad(phases[:, None] - unit_phase)), 0.0)  # (8, units)
    for u in range(len(mu)):
        tuning = von_mises(THETA12, mu=mu[u], kappa=2.0, amplitude=1.0)
        np.testing.assert_allclose(mean[u], tuning * rect[:, u].mean(), rtol=1e-5)
        expected_sem = tuning * rect[:, u].std(ddof=1) / np.sqrt(8)
        np.testing.assert_allclose(sem[u], expected_sem, rtol=1e-4)


def test_orientation_tuning_of_phase_averaged_simple_cells():
    rec, mu, _, unit_sf = simple_cell_recording()
    tab = orientation_tuning(rec)
    assert len(tab) == rec.n_units
    np.testing.assert_array_equal(tab["unit"], np.arange(rec.n_units))
    assert tab["responsive"].all() and tab["fit_ok"].all()
    assert angular_error(tab["preferred_orientation"], mu).max() < 1e-3
    assert angular_error(tab["von_mises_mu"], mu).max() < 1e-3
    np.testing.assert_allclose(tab["von_mises_kappa"], 2.0, rtol=1e-4)
    # Phase averaging only scales each curve, so CV is that of the von Mises itself.
    cv = circular_variance(von_mises(THETA12, mu=0.0, kappa=2.0, amplitude=1.0), THETA12)
    np.testing.assert_allclose(tab["circular_variance"], cv, rtol=1e-5)
    np.testing.assert_allclose(tab["global_osi"], 1.0 - tab["circular_variance"])
    # Measured at each unit's preferred sampled sf; ground truth travels with it.
    np.testing.assert_array_equal(tab["at_sf"], unit_sf)
    np.testing.assert_array_equal(tab["unit_orientation"], mu)
    assert not any(np.isnan(tab[name]).any() for name in tab.names
                   if np.issubdtype(tab[name].dtype, np.floating))


def test_orientation_tuning_takes_the_mean_rate_over_time():
    cond = grid(orientation=THETA12, repeat=np.arange(3))
    rates = von_mises(cond["orientation"], mu=70.0, kappa=1.5, amplitude=2.0, baseline=0.2)
    t = np.arange(20) / 20.0
    modulation = 1.0 + np.sin(2 * np.pi * 2.0 * t)  # two full cycles: mean 1
    responses = rates[:, None, None] * modulation[None, None, :]
    rec = Recording(cond, responses, meta={"time_step": 0.05})
    values, mean, sem = tuning_curves(rec)
    np.testing.assert_allclose(mean[0], von_mises(values, mu=70.0, kappa=1.5, amplitude=2.0,
                                                  baseline=0.2), rtol=1e-9)
    np.testing.assert_allclose(sem, 0.0, atol=1e-12)  # repeats are identical
    assert orientation_tuning(rec)["preferred_orientation"][0] == pytest.approx(70.0, abs=1e-3)


def test_orientation_tuning_of_drifting_gratings_has_direction_columns():
    cond = grid(direction=DIRS12, tf=np.array([2.0]))
    cond["orientation"] = cond["direction"] % 180.0
    curve = double_von_mises(cond["direction"], mu=60.0, kappa=2.0, amplitude_pref=2.0,
                             amplitude_null=0.5)
    rec = Recording(cond, np.stack([curve, np.roll(curve, 6)], axis=1))
    tab = orientation_tuning(rec)
    np.testing.assert_allclose(tab["preferred_direction"], [60.0, 240.0], atol=1e-6)
    assert tab["dsi"][0] == pytest.approx(tab["dsi"][1])
    assert 0.5 < tab["dsi"][0] < 1.0 and 0.0 < tab["global_dsi"][0] < tab["dsi"][0]
    # Both directions of an orientation are pooled: preferred orientation 60.
    np.testing.assert_allclose(tab["preferred_orientation"], 60.0, atol=1e-6)


def test_orientation_falls_back_to_direction_mod_180():
    cond = grid(direction=DIRS12)
    curve = double_von_mises(cond["direction"], mu=300.0, kappa=2.0, amplitude_pref=1.0,
                             amplitude_null=1.0)
    values, mean, _ = tuning_curves(Recording(cond, curve[:, None]))
    np.testing.assert_array_equal(values, np.arange(0.0, 180.0, 30.0))
    assert preferred_orientation(mean[0], values) == pytest.approx(120.0, abs=1e-6)


def test_silent_units_are_flagged_not_nan_everywhere():
    cond = grid(orientation=THETA12)
    responses = np.stack([von_mises(THETA12, mu=30.0, kappa=2.0, amplitude=1.0),
                          np.zeros(12)], axis=1)
    tab = orientation_tuning(Recording(cond, responses))
    assert tab["responsive"].tolist() == [True, False]
    assert tab["fit_ok"].tolist() == [True, False]
    assert np.isnan(tab["circular_variance"][1]) and np.isnan(tab["von_mises_mu"][1])
    assert (tab["bandwidth"][1], tab["bandwidth_defined"][1]) == (90.0, False)
    assert (tab["bandwidth_sampled"][1], tab["bandwidth_sampled_defined"][1]) == (90.0, False)


def test_negative_responses_raise_or_shift():
    cond = grid(orientation=THETA12)
    curve = von_mises(THETA12, mu=30.0, kappa=2.0, amplitude=1.0, baseline=-0.5)
    rec = Recording(cond, np.stack([curve, curve + 1.0], axis=1))
    with pytest.raises(ValueError, match="negative='shift'"):
        orientation_tuning(rec)
    tab = orientation_tuning(rec, negative="shift")
    assert tab["shifted"].tolist() == [True, False]
    assert tab["circular_variance"][0] < tab["circular_variance"][1]


def test_fit_free_orientation_tuning_with_four_orientations():
    cond = grid(orientation=np.array([0.0, 45.0, 90.0, 135.0]))
    tab = orientation_tuning(Recording(cond, np.eye(4)), fit=False)
    np.testing.assert_allclose(tab["circular_variance"], 0.0, atol=1e-12)
    assert "von_mises_mu" not in tab.names and "bandwidth_sampled" in tab.names


def test_sf_tuning_recovers_peak_and_bandwidth_of_log_gaussians():
    cond = grid(sf=SF, orientation=np.array([0.0, 90.0]), phase=np.array([0.0, 180.0]))
    peaks, sigmas = np.array([1.0, 2.8, 0.3]), np.array([0.7, 1.0, 2.0])
    pref = cond["orientation"][:, None] == np.array([0.0, 90.0, 0.0])  # unit 1 prefers 90 deg
    responses = np.stack([log_gaussian(cond["sf"], peak_sf=p, sigma_octaves=s, amplitude=1.0)
                          for p, s in zip(peaks, sigmas, strict=True)], axis=1)
    responses = responses * np.where(pref, 1.0, 0.2)
    tab = sf_tuning(Recording(cond, responses))
    assert tab["fit_ok"].all()
    np.testing.assert_allclose(tab["peak_sf"], peaks, rtol=1e-4)
    fwhm = 2.0 * np.sqrt(2.0 * np.log(2.0)) * sigmas
    np.testing.assert_allclose(tab["bandwidth_octaves"], fwhm, rtol=1e-4)
    assert tab["low_pass"].tolist() == [False, False, True]
    np.testing.assert_array_equal(tab["at_orientation"], [0.0, 90.0, 0.0])
    assert tab["peak_in_range"].tolist() == [True, True, True]


def test_tables_export_to_pandas():
    pd = pytest.importorskip("pandas")
    rec, *_ = simple_cell_recording(n_phases=4)
    frame = orientation_tuning(rec).to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == rec.n_units
    assert {"circular_variance", "osi", "global_osi", "bandwidth", "fit_ok"} <= set(frame)
    assert frame["fit_ok"].dtype == bool


def test_result_is_a_table_indexed_by_field_name():
    rec, *_ = simple_cell_recording(n_phases=4)
    tab = orientation_tuning(rec)
    assert isinstance(tab, Table)
    assert tab["circular_variance"].shape == (rec.n_units,)


# ============================================================ bad input


def _rec(cond, responses=None):
    n = len(next(iter(cond.values())))
    return Recording(cond, np.ones((n, 2)) if responses is None else responses)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: orientation_tuning(_rec({"sf": SF})), ValueError, "no 'orientation'"),
        (lambda: sf_tuning(_rec({"orientation": THETA12})), ValueError, "no 'sf'"),
        (lambda: orientation_tuning(np.ones((12, 2))), TypeError, "Recording"),
        (lambda: orientation_tuning(_rec({"orientation": THETA12[:4]})), ValueError,
         "at least 5 orientations"),
        (lambda: orientation_tuning(_rec({"orientation": np.r_[THETA12, np.nan]})), ValueError,
         "must be finite"),
        (lambda: orientation_tuning(_rec({k: v[1:] for k, v in grid(
            orientation=THETA12, sf=np.array([1.0, 2.0])).items()})),
         ValueError, "every combination"),
        (lambda: tuning_curves(_rec({"orientation": THETA12}), average=("orientation",)),
         ValueError, "must not contain"),
        (lambda: orientation_tuning(_rec({"orientation": THETA12}), negative="clip"),
         ValueError, "negative must be one of"),
        (lambda: sf_tuning(_rec({"sf": np.array([0.0, 1, 2, 3, 4])})), ValueError, "positive"),
        (lambda: circular_variance([1.0, 2.0], [0.0, 45.0, 90.0]), ValueError,
         "orientations has 3 values but responses has 2"),
        (lambda: circular_variance([1.0, np.nan], [0.0, 90.0]), ValueError, "finite"),
        (lambda: circular_variance([1.0, -1.0], [0.0, 90.0]), ValueError, "non-negative"),
        (lambda: circular_variance([0.0, 0.0], [0.0, 90.0]), ValueError, "silent"),
        (lambda: circular_variance(np.ones((2, 2, 2)), [0.0, 90.0]), ValueError, "shape"),
        (lambda: osi([1.0, 2.0], [0.0, 180.0]), ValueError, "distinct modulo 180"),
        (lambda: fit_von_mises(np.ones(4), THETA12[:4]), ValueError, "at least 5"),
        (lambda: orientation_bandwidth(np.ones(12), THETA12, method="spline"), ValueError,
         "method must be one of"),
        (lambda: orientation_bandwidth(np.ones(12), THETA12, level=1.0), ValueError, "level"),
        (lambda: fit_log_gaussian(np.ones(5), [-1.0, 1, 2, 3, 4]), ValueError, "positive"),
        (lambda: von_mises(THETA12, mu=0.0, kappa=-1.0, amplitude=1.0), ValueError, "kappa"),
    ],
    ids=[
        "no-orientation-column", "no-sf-column", "not-a-recording", "too-few-for-fit",
        "nan-condition", "not-factorial", "average-by", "bad-negative-option", "zero-sf",
        "length-mismatch", "nan-response", "negative-response", "silent-curve", "3d-responses",
        "duplicate-orientations", "fit-too-few", "bad-method", "bad-level", "negative-sf",
        "negative-kappa",
    ],
)
def test_bad_input_raises_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_nan_responses_are_rejected_at_the_recording_boundary():
    with pytest.raises(ValueError, match="finite"):
        Recording({"orientation": THETA12}, np.full((12, 1), np.nan))


# ============================================================ properties (hypothesis)

curves12 = st.lists(st.floats(0.0, 1e3), min_size=12, max_size=12).filter(lambda r: sum(r) > 1e-6)


@settings(max_examples=60, deadline=None)
@given(curve=curves12, scale=st.floats(1e-3, 1e3))
def test_circular_variance_is_bounded_and_scale_invariant(curve, scale):
    curve = np.asarray(curve)
    cv = circular_variance(curve, THETA12)
    assert 0.0 <= cv <= 1.0
    assert circular_variance(scale * curve, THETA12) == pytest.approx(cv, abs=1e-9)
    assert 0.0 <= osi(curve, THETA12) <= 1.0


@settings(max_examples=60, deadline=None)
@given(curve=curves12, shift=st.integers(0, 11))
def test_preferred_orientation_rotates_with_the_curve(curve, shift):
    curve = np.asarray(curve)
    if circular_variance(curve, THETA12) > 1.0 - 1e-6:
        return  # untuned: the vector-sum angle is undefined
    rotated = preferred_orientation(np.roll(curve, shift), THETA12)
    expected = preferred_orientation(curve, THETA12) + 15.0 * shift
    assert angular_error(rotated, expected) < 1e-6


def test_units_are_averaged_in_chunks_with_the_same_result(monkeypatch):
    import analysis.tuning

    rec, *_ = simple_cell_recording()
    whole = tuning_curves(rec)
    monkeypatch.setattr(analysis.tuning, "_UNIT_CHUNK", 3)
    chunked = tuning_curves(rec)
    np.testing.assert_array_equal(chunked.mean, whole.mean)
    np.testing.assert_array_equal(chunked.sem, whole.sem)


# ============================================================ SF peak of Gabor cells


def _gabor_cell_sf(nx: float, carrier: float):
    """SF tuning of a V1 simple and complex Gabor cell (the package's own Gabor code),
    on the default Marques SF protocol and on a dense one (0.02-octave steps)."""
    from analysis.runner import run_protocol
    from analysis.tuning import tuning_curves
    from stimuli.display import Display
    from stimuli.protocols import sf_tuning as sf_protocol
    from v1model.v1 import V1Model

    display = Display((64, 64), pixels_per_degree=32)
    model = V1Model.grid(display, orientations=[0.0], sfs=[carrier], phases=[0.0, 90.0], nx=nx,
                    ny=nx, stride=64)
    dense = carrier * 2.0 ** np.arange(-1.5, 1.21, 0.02)
    out = {}
    for layer in ("simple", "complex"):
        rec = run_protocol(model, sf_protocol(display, orientations=(0.0,)), layer,
                           progress=False)
        curve = tuning_curves(run_protocol(model, sf_protocol(display, sfs=dense,
                                                              orientations=(0.0,)),
                                           layer, progress=False), by="sf")
        mode = curve.values[np.argmax(curve.mean[0])]
        out[layer] = (sf_tuning(rec), tuning_curves(rec, by="sf"), mode)
    return out


@pytest.mark.parametrize("nx", [0.2, 0.3, 0.5, 0.7, 1.0], ids=lambda v: f"nx{v}")
def test_sf_peak_of_gabor_cells_within_a_tenth_of_an_octave(nx):
    """peak_sf tracks the peak of Gabor cells' skewed curves (no low bias).

    The package's Gabors are DC-free; for nx below ≈ 0.3 removing the DC moves the
    curve's own maximum above the carrier (by ≈ 0.3 octave at nx = 0.2), so there the
    reference is the curve's maximum on a dense sampling, elsewhere the carrier.
    """
    carrier = 3.0
    for layer, (tab, curves, mode) in _gabor_cell_sf(nx, carrier).items():
        row = tab.row(0)
        assert row["fit_ok"] and row["peak_in_range"] and row["r2"] > 0.99, (layer, row)
        error_mode = abs(np.log2(row["peak_sf"] / mode))
        assert error_mode <= 0.1, (layer, row["peak_sf"], mode)
        if nx >= 0.3:
            assert abs(np.log2(row["peak_sf"] / carrier)) <= 0.1, (layer, row["peak_sf"])
        else:
            assert np.log2(mode / carrier) > 0.15   # the curve itself peaks above the carrier
        # the symmetric log-Gaussian this replaces was biased low for mid nx
        if 0.3 <= nx <= 0.5:
            old = fit_log_gaussian(curves.mean[0], curves.values)
            assert np.log2(old.peak_sf / carrier) < -0.09


def test_sf_fit_ok_rejects_curves_the_model_cannot_describe():
    """Two separate bumps: the fit's R² is poor, so it is not trusted (NaN, not a number)."""
    two_bumps = (log_gaussian(SF, peak_sf=0.5, sigma_octaves=0.3, amplitude=1.0)
                 + log_gaussian(SF, peak_sf=8.0, sigma_octaves=0.3, amplitude=0.9))
    good = log_gaussian(SF, peak_sf=2.0, sigma_octaves=0.8, amplitude=1.0)
    tab = sf_tuning(Recording({"sf": SF}, np.stack([two_bumps, good], axis=1)))
    assert tab["fit_ok"].tolist() == [False, True]
    assert np.isnan(tab["peak_sf"][0]) and not tab["peak_in_range"][0]
    assert np.isinf(tab["bandwidth_octaves"][0]) and not tab["bandwidth_defined"][0]
    assert tab["r2"][1] > 0.999 and tab["fit_lambda"][1] == pytest.approx(0.0, abs=1e-3)


def test_sf_tuning_needs_five_frequencies():
    with pytest.raises(ValueError, match="at least 5 spatial frequencies"):
        sf_tuning(Recording({"sf": SF[:4]}, np.ones((4, 1))))


# ============================================================ bandwidth below the sampling


def _kappa_for_half_width(width_deg):
    """kappa of a von Mises (no baseline) whose half-width at 1/sqrt(2) is ``width_deg``."""
    return np.log(2.0) / (2.0 * (1.0 - np.cos(np.deg2rad(2.0 * width_deg))))


@pytest.mark.parametrize("true_width", [1.0, 1.5, 3.0], ids=lambda w: f"{w}deg")
def test_sharper_than_sampling_is_an_upper_bound_not_untuned(true_width):
    """At 15-deg sampling a 1-3 deg half-width is reported as "< 15 deg", not 90/undefined.

    (The neighbours of the peak are then at the floor: nothing but the fit's shape
    would set the width.)"""
    curve = von_mises(THETA12, mu=45.0, kappa=_kappa_for_half_width(true_width), amplitude=1.0)
    for method in ("sampled", "von_mises"):
        bw = orientation_bandwidth(curve, THETA12, method=method)
        assert (bw.defined, bw.upper_bound) == (True, True), method
        assert bw.width == pytest.approx(15.0) and true_width < bw.width
    tab = orientation_tuning(Recording({"orientation": THETA12}, curve[:, None]))
    row = tab.row(0)
    assert row["bandwidth_upper_bound"] and row["bandwidth_defined"]
    assert row["bandwidth"] == pytest.approx(15.0)
    assert row["bandwidth_sampled_upper_bound"] and row["bandwidth_sampled"] == pytest.approx(15.0)


def test_resolved_and_untuned_curves_are_not_upper_bounds():
    # half-width 6 deg: both neighbours (15 deg away) are below 1/sqrt(2), but at 12 % of
    # the peak, so the fit resolves the width from their values; interpolating cannot
    resolved = von_mises(THETA12, mu=45.0, kappa=_kappa_for_half_width(6.0), amplitude=1.0)
    broad = von_mises(THETA12, mu=45.0, kappa=_kappa_for_half_width(30.0), amplitude=1.0)
    flat = 1.0 + 0.1 * np.cos(np.deg2rad(2 * THETA12))
    tab = orientation_tuning(Recording({"orientation": THETA12},
                                       np.stack([resolved, broad, flat], axis=1)))
    assert tab["bandwidth_upper_bound"].tolist() == [False, False, False]
    np.testing.assert_allclose(tab["bandwidth"][:2], [6.0, 30.0], rtol=1e-4)
    assert tab["bandwidth_defined"].tolist() == [True, True, False]
    assert tab["bandwidth"][2] == 90.0
    assert tab["bandwidth_sampled_upper_bound"].tolist() == [True, False, False]
