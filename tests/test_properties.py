"""The Marques 2021 V1 properties, recomputed from first principles in both modes."""

import numpy as np
import pytest
from scipy.interpolate import UnivariateSpline

from analysis.properties import (
    FiringRateMap,
    compute_property,
    fit_firing_rate_map,
    list_properties,
    marques_properties,
    score_properties,
)
from analysis.recording import Recording
from stimuli.protocols import MARQUES_DIAMETERS, MARQUES_SFS

THETA = np.arange(0, 180, 15.0)
PHASES = np.arange(0, 360, 45.0)
#: A map without offset: firing rates proportional to responses, so scale-free
#: properties of the two modes can be compared with the analytic values.
LINEAR = FiringRateMap(slope=100.0, offset=0.0, n_responsive=1, blank_measured=True)
MODES = ("ours", "brainscore")
NAMES_22 = (
    "circular_variance or_bandwidth orth_pref_ratio or_selective cv_bandwidth_ratio "
    "opr_cv_diff modulation_ratio max_dc preferred_orientation peak_sf sf_bandwidth "
    "sf_selective surround_suppression_index grating_summation_field surround_diameter "
    "texture_modulation_index abs_texture_modulation_index texture_selectivity "
    "texture_sparseness texture_variance_ratio max_texture max_noise").split()


def von_mises(theta, mu, kappa):
    return np.exp(kappa * (np.cos(np.deg2rad(2 * (theta - mu))) - 1))


def orientation_recording(curves, phases=PHASES, modulation=None):
    """Units (columns) with orientation curves ``curves (n_units, n_theta)`` × a phase profile."""
    th, ph = np.meshgrid(THETA, phases, indexing="ij")
    profile = np.ones_like(ph) if modulation is None else modulation(np.deg2rad(ph))
    r = np.stack([(c[:, None] * profile).ravel() for c in np.atleast_2d(curves)], axis=1)
    return Recording({"orientation": th.ravel(), "phase": ph.ravel()}, r)


def value(name, rec, method, **kw):
    kw.setdefault("rate_map", LINEAR)
    return compute_property(name, rec, method=method, **kw).values


# ------------------------------------------------------------------ registry

def test_list_properties_names_the_22_with_reference_status():
    tab = list_properties()
    assert tab["name"].tolist() == NAMES_22
    status = dict(zip(tab["name"].tolist(), tab["reference_status"].tolist(), strict=True))
    published = {"preferred_orientation", "peak_sf", "sf_bandwidth", "sf_selective",
                 "surround_suppression_index", "grating_summation_field", "surround_diameter"}
    assert {k for k, v in status.items() if v == "published"} == published
    assert status["circular_variance"] == status["max_dc"] == "approximate"
    assert status["texture_modulation_index"] == "none"
    assert all(m == "ours, brainscore" for m in tab["methods"])
    assert all(tab["ours"]) and all(tab["brainscore"]) and all(tab["source"])
    assert "surround_gsf_ratio" in list_properties(include_extra=True)["name"].tolist()


# ------------------------------------------------------------------ orientation

@pytest.mark.parametrize("kappa", [1.0, 2.0, 4.0])
def test_or_bandwidth_ours_recovers_the_von_mises_half_width(kappa):
    half = 0.5 * np.rad2deg(np.arccos(1 + np.log(1 / np.sqrt(2)) / kappa))
    rec = orientation_recording(von_mises(THETA, 30.0, kappa)[None])
    np.testing.assert_allclose(value("or_bandwidth", rec, "ours"), half, atol=0.5)


def _brainscore_bandwidth(curve, kernel, level):
    """Brain-Score's bandwidth recomputed with np.convolve and FITPACK (UnivariateSpline)."""
    x = np.concatenate([THETA - 180, THETA, THETA + 180])
    y = np.convolve(kernel / kernel.sum(), np.tile(curve, 3), mode="same")
    full = UnivariateSpline(x, y, s=0)(np.linspace(-180, 359, 540))
    pref = np.argmax(full[180:360])
    below = np.flatnonzero(full <= full[pref + 180] * level)
    width = below[below > pref + 180][0] - below[below < pref + 180][-1]
    return pref, (width / 2 if width <= 180 else np.nan)


@pytest.mark.parametrize("kappa", [0.7, 1.5, 3.0])
def test_or_bandwidth_brainscore_matches_an_independent_recomputation(kappa):
    curve = von_mises(THETA, 45.0, kappa)
    rec = orientation_recording(curve[None])
    _, expected = _brainscore_bandwidth(100 * curve, np.array([0, 2 / 5, 1, 2 / 5, 0]), 0.707)
    got = value("or_bandwidth", rec, "brainscore")
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # smoothing 15-degree samples widens the curve, never narrows it
    analytic = 0.5 * np.rad2deg(np.arccos(1 + np.log(0.707) / kappa))
    assert analytic - 1 <= got[0] <= analytic + 12


@pytest.mark.parametrize("method", MODES)
def test_flat_curve_is_not_orientation_selective(method):
    rec = orientation_recording(np.ones((1, len(THETA))))
    res = compute_property("or_bandwidth", rec, method=method, rate_map=LINEAR)
    assert np.isnan(res.values[0]) and "selective" in res.reasons[0]
    assert value("or_selective", rec, method) == 0.0
    np.testing.assert_allclose(value("circular_variance", rec, method), 1.0, atol=1e-12)


@pytest.mark.parametrize("method", MODES)
def test_delta_curve_has_zero_circular_variance_and_zero_orth_pref_ratio(method):
    curve = np.where(THETA == 60, 1.0, 0.0)
    rec = orientation_recording(curve[None])
    np.testing.assert_allclose(value("circular_variance", rec, method), 0.0, atol=1e-12)
    np.testing.assert_allclose(value("orth_pref_ratio", rec, method), 0.0, atol=1e-12)


@pytest.mark.parametrize("method", MODES)
def test_orth_pref_ratio_and_derived_properties_of_a_von_mises(method):
    kappa = 1.0
    curve = von_mises(THETA, 60.0, kappa)
    rec = orientation_recording(curve[None])
    opr = value("orth_pref_ratio", rec, method)[0]
    np.testing.assert_allclose(opr, np.exp(-2 * kappa), rtol=1e-6)
    cv = value("circular_variance", rec, method)[0]
    r = curve
    expected_cv = 1 - abs(np.sum(r * np.exp(2j * np.deg2rad(THETA)))) / r.sum()
    np.testing.assert_allclose(cv, expected_cv, rtol=1e-9)
    np.testing.assert_allclose(value("opr_cv_diff", rec, method), opr - cv, rtol=1e-9)
    bw = value("or_bandwidth", rec, method)[0]
    np.testing.assert_allclose(value("cv_bandwidth_ratio", rec, method), cv / bw, rtol=1e-9)
    assert value("or_selective", rec, method) == 1.0


@pytest.mark.parametrize("method", MODES)
def test_preferred_orientation_of_a_von_mises(method):
    rec = orientation_recording(von_mises(THETA, 37.0, 2.0)[None])
    got = value("preferred_orientation", rec, method)[0]
    # vector sum is exact for a von Mises; Brain-Score's 1-degree grid is within a degree
    np.testing.assert_allclose(got, 37.0, atol=1e-6 if method == "ours" else 1.0)


@pytest.mark.parametrize("method", MODES)
@pytest.mark.parametrize(("n_phases", "expected"), [
    (8, 0.5 / ((1 + np.sqrt(2)) / 8)),          # sampled: F1 = 1/2, F0 = (1 + √2)/8
    (360, np.pi / 2),                            # continuous half-wave rectified sine
], ids=["8-phases", "360-phases"])
def test_modulation_ratio_of_a_half_wave_rectified_sinusoid(method, n_phases, expected):
    phases = np.arange(n_phases) * 360.0 / n_phases
    rec = orientation_recording(von_mises(THETA, 90.0, 2.0)[None], phases=phases,
                                modulation=lambda p: np.maximum(np.cos(p), 0.0))
    np.testing.assert_allclose(value("modulation_ratio", rec, method), expected, rtol=1e-3)


def test_complex_cell_has_zero_modulation_ratio():
    rec = orientation_recording(von_mises(THETA, 90.0, 2.0)[None])
    for method in MODES:
        np.testing.assert_allclose(value("modulation_ratio", rec, method), 0.0, atol=1e-12)


def test_firing_rate_map_sends_medians_to_spontaneous_and_peak_rates():
    peaks = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    blank = np.array([0.1, 0.2, 0.3, 0.2, 0.1])
    rec = orientation_recording(np.outer(peaks, von_mises(THETA, 0.0, 2.0)))
    m = fit_firing_rate_map(rec, blank=blank)
    np.testing.assert_allclose(m(np.median(blank)), 0.82, rtol=1e-9)
    np.testing.assert_allclose(m(np.median(peaks)), 33.8, rtol=1e-9)
    assert m.blank_measured and m.n_responsive == 5
    max_dc = compute_property("max_dc", rec, method="ours", blank=blank).values
    np.testing.assert_allclose(max_dc, m(peaks), rtol=1e-9)
    assert np.all(m(np.array([-3.0, 0.0])) >= 0)


def test_weak_units_are_undefined_in_brainscore_mode_with_a_reason():
    rec = orientation_recording(np.outer([1.0, 0.01], von_mises(THETA, 0.0, 2.0)))
    res = compute_property("circular_variance", rec, method="brainscore", rate_map=LINEAR)
    assert np.isfinite(res.values[0]) and np.isnan(res.values[1])
    assert "5 spikes/s" in res.reasons[1] and res.reasons[0] == ""


# ------------------------------------------------------------------ spatial frequency

def sf_recording(curve, sfs=MARQUES_SFS):
    f, ph = np.meshgrid(np.asarray(sfs), PHASES, indexing="ij")
    r = np.repeat(np.asarray(curve)[:, None], len(PHASES), axis=1)
    return Recording({"sf": f.ravel(), "phase": ph.ravel()}, r.ravel()[:, None])


def log_gaussian(f, peak, sigma):
    return np.exp(-np.log2(f / peak) ** 2 / (2 * sigma ** 2))


@pytest.mark.parametrize("method", MODES)
@pytest.mark.parametrize("peak", [1.0, 2.8, 5.0])
def test_peak_sf_of_a_log_gaussian(method, peak):
    rec = sf_recording(log_gaussian(np.array(MARQUES_SFS), peak, 0.7))
    # the fit is exact; Brain-Score reads a 100-point grid (0.053 octave steps)
    np.testing.assert_allclose(value("peak_sf", rec, method), peak,
                               rtol=1e-3 if method == "ours" else 0.04)


def _brainscore_sf_bandwidth(curve, sfs):
    w = np.array([0, 1 / 5, 1, 1 / 5, 0])
    padded = np.r_[curve[0], curve[0], curve, curve[-1], curve[-1]]
    y = np.convolve(w / w.sum(), padded, mode="valid")
    grid = np.linspace(np.log2(sfs[0]), np.log2(sfs[-1]), 100)
    full = UnivariateSpline(np.log2(sfs), y, s=0)(grid)
    pk = np.argmax(full)
    below = np.flatnonzero(full <= 0.707 * full[pk])
    return 2 ** grid[below[below < pk][-1]] / 2 ** grid[below[below > pk][0]] * 100


@pytest.mark.parametrize("sigma", [0.5, 0.8, 1.2])
def test_sf_bandwidth_in_both_modes(sigma):
    f = np.array(MARQUES_SFS)
    rec = sf_recording(log_gaussian(f, 2.0, sigma))
    half = sigma * np.sqrt(2 * np.log(1 / 0.707))
    np.testing.assert_allclose(value("sf_bandwidth", rec, "ours"), 2 ** (-2 * half) * 100,
                               rtol=1e-3)
    np.testing.assert_allclose(value("sf_bandwidth", rec, "brainscore"),
                               _brainscore_sf_bandwidth(100 * log_gaussian(f, 2.0, sigma), f),
                               rtol=1e-9)
    for method in MODES:
        assert value("sf_selective", rec, method) == 1.0


@pytest.mark.parametrize("method", MODES)
def test_low_pass_curve_is_not_sf_selective(method):
    f = np.array(MARQUES_SFS)
    rec = sf_recording(1.0 / (1.0 + (f / 4.0) ** 4))
    res = compute_property("sf_bandwidth", rec, method=method, rate_map=LINEAR)
    assert np.isnan(res.values[0]) and "not SF selective" in res.reasons[0]
    assert value("sf_selective", rec, method) == 0.0


# ------------------------------------------------------------------ size

RADII = np.array(MARQUES_DIAMETERS) / 2
#: rises to 1 at radius index 4, falls to a 0.4 plateau from index 8
SIZE_CURVE = np.array([0.1, 0.25, 0.5, 0.8, 1.0, 0.85, 0.7, 0.55, 0.4, 0.4, 0.4, 0.4])


def size_recording(curve):
    rad, ph = np.meshgrid(RADII, PHASES, indexing="ij")
    r = np.repeat(np.asarray(curve)[:, None], len(PHASES), axis=1)
    return Recording({"radius": rad.ravel(), "phase": ph.ravel()}, r.ravel()[:, None])


@pytest.mark.parametrize("method", MODES)
def test_size_curve_with_a_known_plateau(method):
    rec = size_recording(SIZE_CURVE)
    np.testing.assert_allclose(value("surround_suppression_index", rec, method), 0.6, rtol=1e-9)
    np.testing.assert_allclose(value("grating_summation_field", rec, method), 2 * RADII[4])
    np.testing.assert_allclose(value("surround_diameter", rec, method), 2 * RADII[8])
    np.testing.assert_allclose(value("surround_gsf_ratio", rec, method), RADII[8] / RADII[4])


def test_gsf_definitions_differ_where_the_curve_nears_its_peak_early():
    curve = SIZE_CURVE.copy()
    curve[3] = 0.97                 # reaches 95% of the peak one size before the peak
    rec = size_recording(curve)
    np.testing.assert_allclose(value("grating_summation_field", rec, "ours"), 2 * RADII[4])
    np.testing.assert_allclose(value("grating_summation_field", rec, "brainscore"), 2 * RADII[3])


@pytest.mark.parametrize("method", MODES)
def test_unsuppressed_unit_has_no_gsf(method):
    rec = size_recording(np.minimum(RADII / RADII[5], 1.0))
    res = compute_property("grating_summation_field", rec, method=method, rate_map=LINEAR)
    assert np.isnan(res.values[0]) and "SSI <= 0.1" in res.reasons[0]
    np.testing.assert_allclose(value("surround_suppression_index", rec, method), 0.0, atol=1e-12)


# ------------------------------------------------------------------ texture

def texture_recording(texture, noise, n_samples=4, jitter=0.0):
    """Family means ``texture``, ``noise`` (n_families,) plus sample jitter."""
    kind, fam, smp = np.meshgrid(["noise", "texture"], np.arange(len(texture)),
                                 np.arange(n_samples), indexing="ij")
    means = np.stack([noise, texture])[:, :, None]
    r = means + jitter * (smp - smp.mean())
    return Recording({"image_type": kind.ravel(), "family": fam.ravel(),
                      "sample": smp.ravel()}, r.ravel()[:, None])


@pytest.mark.parametrize("method", MODES)
def test_texture_modulation_index_of_known_responses(method):
    tex = np.array([2.0, 4.0, 3.0])
    noise = np.array([1.0, 2.0, 3.0])
    rec = texture_recording(tex, noise)
    expected = np.mean((tex - noise) / (tex + noise))
    np.testing.assert_allclose(value("texture_modulation_index", rec, method), expected)
    np.testing.assert_allclose(value("abs_texture_modulation_index", rec, method), expected)
    sparse = (1 - tex.mean() ** 2 / (tex ** 2).mean()) / (1 - 1 / 3)
    np.testing.assert_allclose(value("texture_selectivity", rec, method), sparse, rtol=1e-9)
    np.testing.assert_allclose(value("max_texture", rec, method), 100 * 4.0)
    np.testing.assert_allclose(value("max_noise", rec, method), 100 * 3.0)


def test_families_whose_rates_cancel_are_left_out_of_the_modulation_index():
    # Brain-Score mode keeps rates below the blank, so texture + noise can be 0 with
    # texture != noise: x / 0 is no index (before, +inf and -inf families made the mean NaN
    # with a warning, which took a whole model out of compare)
    blank = np.array([0.2])                       # 20 spikes/s through LINEAR
    tex = np.array([0.3, 0.1, 0.5])               # 10, -10, 30 spikes/s above the blank
    noise = np.array([0.1, 0.3, 0.3])             # -10, 10, 10 spikes/s above the blank
    rec = texture_recording(tex, noise)
    res = compute_property("texture_modulation_index", rec, method="brainscore",
                           rate_map=LINEAR, blank=blank)
    np.testing.assert_allclose(res.values, [(3 - 1) / (3 + 1)])


@pytest.mark.parametrize("method", MODES)
def test_variance_ratio_without_sample_variance(method):
    rec = texture_recording(np.array([1.0, 2.0, 3.0]), np.ones(3))
    # no variance across samples of a family: (1 + 0.02) / (0 + 0.02)
    np.testing.assert_allclose(value("texture_variance_ratio", rec, method), 51.0, rtol=1e-9)


def test_variance_ratio_ours_from_the_nested_anova():
    rec = texture_recording(np.array([1.0, 2.0, 3.0]), np.ones(3), jitter=0.5)
    r = 1.0 + np.arange(3)[:, None] + 0.5 * (np.arange(4) - 1.5)
    sample_var = np.sum((r - r.mean(1, keepdims=True)) ** 2) / (3 * 3)
    family_var = (4 * np.sum((r.mean(1) - r.mean()) ** 2) / 2 - sample_var) / 4
    total = sample_var + family_var
    expected = (family_var / total + 0.02) / (sample_var / total + 0.02)
    np.testing.assert_allclose(value("texture_variance_ratio", rec, "ours"), expected, rtol=1e-9)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize(("call", "match"), [
    (lambda rec: compute_property("nonsense", rec), "unknown property 'nonsense'"),
    (lambda rec: compute_property("circular_variance", rec, method="mine"), "method must be"),
    (lambda rec: compute_property("modulation_ratio", rec.select_stimuli(
        rec.conditions["phase"] == 0)), "phase"),
    (lambda rec: compute_property("peak_sf", rec), "needs condition column.*'sf'"),
    (lambda rec: compute_property("texture_modulation_index", rec), "'image_type'"),
    (lambda rec: compute_property("surround_diameter", rec), "'radius'"),
    (lambda rec: marques_properties({"orientaton": rec}), "unknown recording key"),
    (lambda rec: compute_property("circular_variance", rec, blank=np.zeros(3)),
     r"blank must have shape \(1,\)"),
], ids=["unknown-property", "unknown-method", "no-phase", "no-sf", "no-image-type",
        "no-radius", "unknown-key", "blank-length"])
def test_bad_input_names_what_is_wrong(call, match):
    rec = orientation_recording(von_mises(THETA, 0.0, 2.0)[None])
    with pytest.raises(ValueError, match=match):
        call(rec)


def test_missing_phase_column_is_named():
    rec = Recording({"orientation": THETA}, von_mises(THETA, 0.0, 2.0)[:, None])
    with pytest.raises(ValueError, match="'phase'"):
        compute_property("modulation_ratio", rec)


def test_brainscore_mode_needs_a_rate_map_outside_the_orientation_group():
    rec = sf_recording(log_gaussian(np.array(MARQUES_SFS), 2.0, 0.7))
    with pytest.raises(ValueError, match="rate_map"):
        compute_property("peak_sf", rec, method="brainscore")


# ------------------------------------------------------------------ end to end

def test_marques_properties_and_score_properties_end_to_end():
    rng = np.random.default_rng(0)
    mus, kappas = rng.uniform(0, 180, 40), rng.uniform(0.5, 4, 40)
    curves = np.stack([von_mises(THETA, m, k) for m, k in zip(mus, kappas, strict=True)])
    rec = orientation_recording(curves, modulation=lambda p: 1 + 0.5 * np.cos(p))
    sizes = size_recording(SIZE_CURVE)
    for method in MODES:
        tab = marques_properties({"orientation": rec}, method=method)
        assert set(tab["property"].tolist()) == set(NAMES_22[:9])
        assert np.all((tab["reason"] == "") == np.isfinite(tab["value"]))
        scores = score_properties(tab, n_boot=100, rng=0)
        row = scores.row(scores["property"].tolist().index("preferred_orientation"))
        assert row["status"] == "published" and 0 < row["ceiling"] < 1
        np.testing.assert_allclose(row["ceiled"], row["raw"] / row["ceiling"])
        unscored = scores.row(scores["property"].tolist().index("orth_pref_ratio"))
        assert np.isnan(unscored["raw"]) and unscored["note"].startswith("not scored")
    with pytest.raises(ValueError, match="rate_map"):
        marques_properties({"size": sizes}, method="brainscore")
    tab = marques_properties({"size": sizes}, method="ours")
    assert len(tab) == 4


@pytest.mark.parametrize("method", MODES)
def test_sf_and_size_curves_are_read_at_the_preferred_orientation(method):
    """Two orientations: the weaker one has other tuning, which must not leak in."""
    f = np.array(MARQUES_SFS)
    curves = {0.0: log_gaussian(f, 2.0, 0.7), 90.0: 0.5 * log_gaussian(f, 8.0, 0.7)}
    ff, oo, ph = np.meshgrid(f, [0.0, 90.0], PHASES, indexing="ij")
    r = np.where(oo == 0.0, curves[0.0][:, None, None], curves[90.0][:, None, None])
    rec = Recording({"sf": ff.ravel(), "orientation": oo.ravel(), "phase": ph.ravel()},
                    r.ravel()[:, None])
    np.testing.assert_allclose(value("peak_sf", rec, method), 2.0, rtol=0.04)
    rr, oo, ph = np.meshgrid(RADII, [0.0, 90.0], PHASES, indexing="ij")
    monotonic = 0.5 * np.minimum(RADII / RADII[5], 1.0)
    r = np.where(oo == 0.0, SIZE_CURVE[:, None, None], monotonic[:, None, None])
    rec = Recording({"radius": rr.ravel(), "orientation": oo.ravel(), "phase": ph.ravel()},
                    r.ravel()[:, None])
    np.testing.assert_allclose(value("surround_suppression_index", rec, method), 0.6)
    np.testing.assert_allclose(value("grating_summation_field", rec, method), 2 * RADII[4])


def test_silent_layer_ours_mode_runs_without_a_rate_map():
    rec = orientation_recording(np.zeros((2, len(THETA))))
    res = compute_property("max_dc", rec, method="ours")
    assert np.all(np.isnan(res.values)) and all("silent" in r for r in res.reasons)
    with pytest.raises(ValueError, match="firing-rate map is undefined"):
        compute_property("max_dc", rec, method="brainscore")


def test_a_time_axis_is_averaged_to_a_mean_rate():
    static = orientation_recording(von_mises(THETA, 30.0, 2.0)[None])
    movie = np.repeat(static.responses[:, :, None], 5, axis=2) * np.linspace(0.5, 1.5, 5)
    temporal = Recording(static.conditions, movie, meta={"time_step": 0.01})
    for method in MODES:
        np.testing.assert_allclose(value("or_bandwidth", temporal, method),
                                   value("or_bandwidth", static, method), rtol=1e-9)


def test_score_properties_old_ks_method_uses_the_macaque_v1_references():
    rng = np.random.default_rng(1)
    curves = np.stack([von_mises(THETA, m, 2.0) for m in rng.uniform(0, 180, 30)])
    tab = marques_properties({"orientation": orientation_recording(curves)})
    scores = score_properties(tab, method="ks", n_boot=50, rng=0)
    by_name = {scores["property"][i]: scores.row(i) for i in range(len(scores))}
    cv = by_name["circular_variance"]
    assert 0 <= cv["raw"] <= 1 and np.isnan(cv["ceiled"]) and cv["n_defined"] == 30
    assert by_name["orth_pref_ratio"]["note"] == ("not scored: no 'macaque_v1' reference "
                                                  "in the same units")
    with pytest.raises(ValueError, match="method must be"):
        score_properties(tab, method="wasserstein")
