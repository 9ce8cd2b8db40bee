"""The default V1Model: a macaque-like population whose stages each do what they claim."""

import numpy as np
import pytest
from scipy import stats

from stimuli.display import Display
from stimuli.gratings import grating
from v1model.cells import (
    firing_rate,
    mix_pathways,
    mixture_modulation_ratio,
    normalize,
    pool_weights,
)
from v1model.population import (
    ORIENTATION_COUNTS,
    PEAK_SF_COUNTS,
    PEAK_SF_EDGES,
    RINGACH_COUNTS,
    RINGACH_EDGES,
    display_sf_range,
    sample_v1_population,
)
from v1model.v1 import STAGE_KEYS, V1Model, fitted_parameters, mixed_unit_modulation_ratio

DISPLAY = Display((64, 64), pixels_per_degree=16)   # the compare job's display
SMALL = Display((48, 48), pixels_per_degree=16)
N = 4000


def _angle_diff(a, b, period=180.0):
    d = np.mod(np.asarray(a) - np.asarray(b), period)
    return np.minimum(d, period - d)


# ---------------------------------------------------------------- sampling


@pytest.mark.parametrize(("shape", "ppd", "expected"), [
    ((64, 64), 16, (0.5, 8 / np.sqrt(2))),
    ((64, 32), 16, (1.0, 8 / np.sqrt(2))),
    ((128, 128), 32, (0.5, 16 / np.sqrt(2))),
], ids=["compare-display", "narrow", "finer"])
def test_display_sf_range_is_two_cycles_to_half_an_octave_below_nyquist(shape, ppd, expected):
    np.testing.assert_allclose(display_sf_range(Display(shape, ppd)), expected)


def test_display_sf_range_rejects_a_display_too_small():
    with pytest.raises(ValueError, match="too small"):
        display_sf_range(Display((4, 4), 2))
    with pytest.raises(TypeError, match="display must be"):
        display_sf_range((64, 64))


@pytest.fixture(scope="module")
def population():
    return sample_v1_population(N, DISPLAY, complexity=(2.0, 3.0), rng=11)


def test_peak_sf_is_the_summed_histogram_truncated_to_the_display(population):
    low, high = display_sf_range(DISPLAY)
    sf = population["sf"]
    assert sf.min() >= low and sf.max() <= high
    assert sum(PEAK_SF_COUNTS) == 363
    # inside the range the relative counts are De Valois's: compare the full bins inside
    edges = np.asarray(PEAK_SF_EDGES)
    inside = np.flatnonzero((edges[:-1] >= low - 1e-9) & (edges[1:] <= high + 1e-9))
    observed = np.histogram(sf, bins=edges)[0][inside]
    expected = np.asarray(PEAK_SF_COUNTS, float)[inside]
    expected = expected / expected.sum() * observed.sum()
    assert stats.chisquare(observed, expected).pvalue > 0.01
    # nothing piles up at the limits (a clip would put mass exactly there)
    assert np.mean(np.isclose(sf, low)) < 0.01 and np.mean(np.isclose(sf, high)) < 0.01


def test_orientation_and_ringach_nx_ny_follow_the_published_counts(population):
    shifted = np.mod(population["orientation"] + 22.5, 180.0)
    observed = np.histogram(shifted, bins=np.arange(0.0, 181.0, 45.0))[0]
    expected = np.asarray(ORIENTATION_COUNTS, float) / sum(ORIENTATION_COUNTS) * N
    assert stats.chisquare(observed, expected).pvalue > 0.01
    joint = np.histogram2d(population["nx"], population["ny"], bins=[RINGACH_EDGES] * 2)[0]
    counts = np.asarray(RINGACH_COUNTS, float)
    keep = counts > 0
    expected = counts[keep] / counts.sum() * N
    assert joint[~keep].sum() == 0                 # empty cells stay empty
    assert stats.chisquare(joint[keep], expected).pvalue > 0.01
    np.testing.assert_allclose(population["sigma_x"], population["nx"] / population["sf"])


def test_complexity_is_beta_and_moves_smoothly_with_its_parameters(population):
    assert stats.kstest(population["complexity"], stats.beta(2.0, 3.0).cdf).pvalue > 0.01
    other = sample_v1_population(N, DISPLAY, complexity=(2.0, 3.5), rng=11)
    for name in ("orientation", "sf", "nx", "ny", "phase"):
        np.testing.assert_array_equal(other[name], population[name])
    # the same quantile of a slightly different Beta: every unit moves a little, down
    delta = other["complexity"] - population["complexity"]
    assert np.all(delta <= 1e-12) and np.max(np.abs(delta)) < 0.1


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n": 0}, ValueError, "n must be >= 1"),
    ({"complexity": (0.0, 1.0)}, ValueError, "complexity must be two positive"),
    ({"complexity": 2.0}, TypeError, "complexity must be a pair"),
], ids=["n", "beta-zero", "beta-scalar"])
def test_sample_v1_population_rejects_bad_arguments(kwargs, error, match):
    args = {"n": 10, "rng": 0, **kwargs}
    with pytest.raises(error, match=match):
        sample_v1_population(args.pop("n"), DISPLAY, **args)


# ---------------------------------------------------------------- cells stages


def test_mixture_modulation_ratio_spans_simple_to_complex():
    c = np.linspace(0.0, 1.0, 21)
    ratio = mixture_modulation_ratio(c)
    assert ratio[0] == pytest.approx(np.pi / 2, rel=1e-4) and ratio[-1] == pytest.approx(0.0)
    assert np.all(np.diff(ratio) < 0)
    # the mix equals the half-wave and energy models at its ends
    lin, quad = np.array([[-0.5, 0.3]]), np.array([[0.4, -0.4]])
    np.testing.assert_allclose(mix_pathways(lin, quad, [0.0, 0.0]), [[0.0, 0.3]])
    np.testing.assert_allclose(mix_pathways(lin, quad, [1.0, 1.0]),
                               np.hypot(lin, quad))


def test_rectified_sum_of_pathways_gives_a_bimodal_f1_f0_from_a_flat_complexity():
    """Mechler & Ringach 2002: the output nonlinearity after the linear + energy sum
    turns a flat (unimodal) distribution of the energy weight into a bimodal F1/F0."""
    c = np.linspace(0.0, 1.0, 201)
    ratio = mixed_unit_modulation_ratio(c)
    assert ratio[0] == pytest.approx(np.pi / 2, rel=1e-4) and ratio[-1] == pytest.approx(0.0)
    assert mixed_unit_modulation_ratio(0.5) == pytest.approx(1.0, rel=1e-3)   # the split
    assert np.all(np.diff(ratio) < 0)
    # an expansive exponent pushes a rectified sinusoid above π/2 (towards 2)
    assert mixed_unit_modulation_ratio(0.0, exponent=2.0) == pytest.approx(1.6977, rel=1e-3)
    # uniform c: the density of F1/F0 dips near the split (its lowest 0.25 bin below
    # 1.75, the most an exponent of 1.77 reaches, lies in 0.5-1.25) and rises on both
    # sides, most into the simple mode 1.25-2 (where a flat F1/F0 would put 3/8 of the
    # units); the old rectify-then-sum mix puts a quarter there
    u = np.random.default_rng(0).uniform(0, 1, 4000)
    bins = np.arange(0.0, 2.01, 0.25)
    counts = np.histogram(mixed_unit_modulation_ratio(u, exponent=1.77), bins=bins)[0]
    low = int(np.argmin(counts[:7]))
    assert 2 <= low <= 4 and counts[0] > 1.3 * counts[low], counts
    assert counts[5:].sum() > 0.45 * counts.sum() and counts[5:].max() > 2 * counts[low]
    old = np.histogram(mixture_modulation_ratio(u, exponent=1.77), bins=bins)[0]
    assert old[5:].sum() < 0.3 * old.sum(), old
    with pytest.raises(ValueError, match="complexity"):
        mixed_unit_modulation_ratio([1.5])
    with pytest.raises(ValueError, match="baseline"):
        mixed_unit_modulation_ratio([0.5], baseline=-0.1)


def test_pool_weights_are_tuned_around_each_unit_and_sum_to_one():
    pool_o = np.tile(np.arange(0.0, 180.0, 30.0), 4)
    pool_f = np.repeat([0.5, 1.0, 2.0, 4.0], 6)
    w = pool_weights([30.0, 170.0], [2.0, 0.7], pool_o, pool_f, orientation_width=20.0,
                     sf_width=0.5)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    best = np.argmax(w, axis=1)
    assert pool_o[best[0]] == 30.0 and pool_f[best[0]] == 2.0
    assert pool_o[best[1]] == 0.0 and pool_f[best[1]] == 0.5   # 170° wraps to 0°
    flat = pool_weights([30.0], [2.0], pool_o, pool_f, orientation_width=np.inf,
                        sf_width=np.inf)
    np.testing.assert_allclose(flat, 1 / 24)


def test_normalize_saturates_and_the_surround_divides():
    contrast = np.array([0.05, 0.1, 0.2, 0.4, 0.8, 1.0])[:, None]
    r = normalize(contrast, classical=contrast**2, sigma=0.2, exponent=2.0)
    assert r[-1, 0] == pytest.approx(1.0)                     # pool == drive: 1 at full
    half = 0.2**2 * (1 + 0.2**2) / (2 * 0.2**2)               # c = sigma: half of (1 + σ²)
    assert r[2, 0] == pytest.approx(half)
    assert np.all(np.diff(r[:, 0]) > 0) and r[-2, 0] > 0.9 * r[-1, 0]   # saturation
    d = np.ones((1, 1))
    np.testing.assert_allclose(normalize(d, surround=3 * d, surround_weight=0.5), 0.4)
    np.testing.assert_allclose(normalize(d, exponent=1.0), 1.0)
    np.testing.assert_allclose(firing_rate(np.array([0.0, 0.5]), spontaneous=4.0, gain=20.0),
                               [4.0, 14.0])
    with pytest.raises(ValueError, match="surround must have the shape"):
        normalize(d, surround=np.ones((2, 1)))
    with pytest.raises(ValueError, match="response must be non-negative"):
        firing_rate(-d, spontaneous=1.0, gain=1.0)


# ---------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def model():
    return V1Model(DISPLAY, stride=64)


def test_default_is_the_fitted_macaque_population(model):
    fitted = fitted_parameters()
    params = model.params
    assert params["source"] == "macaque" and params["n_units"] == fitted["n_units"]
    for stage in STAGE_KEYS:
        assert params[stage] == {k: pytest.approx(float(v)) for k, v in fitted[stage].items()}
    assert params["n_simple"] + params["n_complex"] == fitted["n_units"]
    # the layers split at F1/F0 = 1 of each unit's own pathway mix (Skottun's criterion)
    assert np.all(model.unit_info("simple")["modulation_ratio"] > 1)
    assert np.all(model.unit_info("complex")["modulation_ratio"] <= 1)
    assert 0.2 < params["simple_fraction"] < 0.8
    same = V1Model(DISPLAY, stride=64)
    np.testing.assert_array_equal(same.unit_info("complex")["sf"], model.unit_info("complex")["sf"])


def test_the_shipped_fit_generalises_to_a_held_out_draw():
    fit = fitted_parameters()["fit"]
    assert fit["config"]["train_seed"] != fit["config"]["test_seed"]
    assert abs(fit["train_score"] - fit["test_score"]) <= 0.05
    assert fit["train_score"] >= fit["start_score"]


@pytest.fixture(scope="module")
def tuning(model):
    """Centre responses to gratings: orientation (7.5°) × sf (8, log) × phase (4)."""
    oris = np.arange(0.0, 180.0, 7.5)
    sfs = np.geomspace(0.5, 5.6, 10)
    phases = np.arange(0.0, 360.0, 90.0)
    images = np.stack([grating(DISPLAY, orientation=o, sf=f, phase=p)
                       for o in oris for f in sfs for p in phases])
    out = {layer: model.responses(images, layer)[:, :, 0, 0].reshape(
        len(oris), len(sfs), len(phases), -1) for layer in model.layers}
    return oris, sfs, phases, out


@pytest.mark.parametrize("layer", ["simple", "complex"])
def test_every_unit_prefers_its_own_orientation_and_sf(model, tuning, layer):
    oris, sfs, _, out = tuning
    mean = out[layer].mean(axis=2)                                # (ori, sf, units)
    info = model.unit_info(layer)
    o, f = np.unravel_index(mean.reshape(-1, mean.shape[-1]).argmax(axis=0), mean.shape[:2])
    # preferred orientation as the analysis defines it: the vector sum of the curve at
    # the best sf (units with round, short envelopes are broadly tuned, so the argmax
    # of a 7.5° grid can sit a step or two away)
    curve = mean[:, f, np.arange(mean.shape[-1])]
    vector = np.angle((curve * np.exp(2j * np.deg2rad(oris))[:, None]).sum(axis=0))
    ori_err = _angle_diff(np.rad2deg(vector) / 2 % 180, info["orientation"])
    sf_err = np.abs(np.log2(sfs[f] / info["sf"]))
    # units the untuned stage leaves orientation selective (circular variance < 0.8;
    # a nearly flat curve has no preference to recover — macaque V1 has such cells)
    # prefer their own orientation
    cv = 1 - np.abs((curve * np.exp(2j * np.deg2rad(oris))[:, None]).sum(0)) / curve.sum(0)
    selective = cv < 0.8
    # most units (the approximate Ringach et al. reference puts 75% below 0.8; the fitted
    # population ≈ 70% on this 7.5° protocol)
    assert np.mean(selective) >= 0.6
    assert np.mean(ori_err[selective] <= 7.5) >= 0.95, np.sort(ori_err[selective])[-5:]
    assert np.mean(_angle_diff(oris[o], info["orientation"])[selective] <= 15.0) >= 0.9
    assert np.mean(sf_err <= 0.55) >= 0.9, np.sort(sf_err)[-5:]
    assert np.median(sf_err) <= 0.3


def test_f1_f0_over_phase_is_bimodal_across_the_population(model, tuning):
    _, _, phases, out = tuning
    ratios = {}
    for layer, r in out.items():
        best = r.mean(axis=2).reshape(-1, r.shape[-1]).argmax(axis=0)
        curves = r.reshape(-1, len(phases), r.shape[-1])[best, :, np.arange(r.shape[-1])]
        f0 = curves.mean(axis=1)
        f1 = 2 * np.abs((curves * np.exp(-1j * np.deg2rad(phases))).mean(axis=1))
        ratios[layer] = f1 / f0
    assert np.mean(ratios["simple"] > 1) >= 0.8
    assert np.mean(ratios["complex"] < 1) >= 0.9
    counts = np.histogram(np.concatenate(list(ratios.values())), bins=[0, 0.5, 1, 1.5, 2])[0]
    assert counts[0] > 0.2 * counts.sum() and counts[2:].sum() > 0.2 * counts.sum()


def _size_curve(model, layer, unit):
    info = model.unit_info(layer)
    radii = np.array([0.1, 0.2, 0.3, 0.45, 0.65, 0.9, 1.3, 2.0])
    x, y = DISPLAY.coordinates()
    images = []
    for r in radii:
        for p in (0.0, 90.0, 180.0, 270.0):
            g = grating(DISPLAY, orientation=info["orientation"][unit], sf=info["sf"][unit],
                        phase=p)
            images.append(np.where(np.hypot(x, y) <= r, g, 0.0))
    out = model.responses(np.stack(images), layer)[:, unit, 0, 0]
    return out.reshape(len(radii), 4).mean(axis=1)


def test_surround_suppression_is_the_surround_stage():
    with_surround = V1Model(DISPLAY, stride=64, output=False,
                            surround={"weight": 4.0, "extent": 1.0})
    without = V1Model(DISPLAY, stride=64, output=False, surround=False)
    info = with_surround.unit_info("complex")
    units = np.flatnonzero((info["sf"] > 1.5) & (info["sf"] < 4))[:6]
    ssi = []
    for model in (with_surround, without):
        curves = np.stack([_size_curve(model, "complex", u) for u in units])
        ssi.append(1 - curves[:, -1] / curves.max(axis=1))
    assert np.median(ssi[0]) > 0.1
    assert np.all(ssi[1] < 0.05)
    assert np.all(ssi[0] > ssi[1])


def test_normalization_saturates_contrast_and_can_be_switched_off():
    normed = V1Model(DISPLAY, stride=64, output=False, surround=False)
    linear = V1Model(DISPLAY, stride=64, output=False, surround=False, normalization=False)
    info = normed.unit_info("complex")
    unit = int(np.argmin(np.abs(np.log2(info["sf"] / 2.0))))
    contrasts = np.array([0.03, 0.1, 0.3, 1.0])
    images = np.stack([c * grating(DISPLAY, orientation=info["orientation"][unit],
                                   sf=info["sf"][unit]) for c in contrasts])
    r_norm = normed.responses(images, "complex")[:, unit, 0, 0]
    r_lin = linear.responses(images, "complex")[:, unit, 0, 0]
    # without normalisation the response grows with contrast (homogeneous of degree 1)
    np.testing.assert_allclose(r_lin / r_lin[-1], contrasts / contrasts[-1], rtol=0.05)
    # with it, from 0.3 to 1.0 the response grows far less than the drive raised to the
    # exponent (3.3 ** n, ≈ 10-fold)
    exponent = normed.params["normalization"]["exponent"]
    assert r_norm[-1] / r_norm[-2] < 0.5 * (1.0 / 0.3) ** exponent
    assert np.all(np.diff(r_norm) > 0)
    strong = V1Model(DISPLAY, stride=64, output=False, surround=False,
                     normalization={"sigma": 0.02})
    r_strong = strong.responses(images, "complex")[:, unit, 0, 0]
    assert r_strong[-1] / r_strong[-2] < 1.2


def test_spontaneous_rate_and_output_stage(model):
    blank = np.zeros((2, *DISPLAY.shape))
    fitted = fitted_parameters()["output"]
    for layer in model.layers:
        np.testing.assert_allclose(model.responses(blank, layer), fitted["spontaneous"],
                                   rtol=1e-4)
    silent = V1Model(DISPLAY, stride=64, output=False)
    assert np.all(silent.responses(blank, "simple") == 0)
    quiet = V1Model(DISPLAY, stride=64, output={"spontaneous": 0.0})
    louder = V1Model(DISPLAY, stride=64, output={"gain": 2 * fitted["gain"],
                                                 "spontaneous": 0.0})
    g = grating(DISPLAY, sf=2.0)[None]
    np.testing.assert_allclose(louder.responses(g, "simple"), 2 * quiet.responses(g, "simple"),
                               rtol=1e-4, atol=1e-4)
    # without a maintained discharge the rate is gain × the normalised response
    np.testing.assert_allclose(quiet.responses(g, "complex"),
                               fitted["gain"] * silent.responses(g, "complex"), rtol=1e-4)


def test_simple_units_are_suppressed_below_their_spontaneous_rate_at_the_null_phase(model):
    """The maintained discharge is a baseline drive before the rectification, so the
    anti-preferred phase of a simple unit's optimal grating silences it (as in macaque
    simple cells) and its F1/F0 stays well above 1; an added constant would not."""
    info = model.unit_info("simple")
    spont = fitted_parameters()["output"]["spontaneous"]
    units = np.flatnonzero(info["complexity"] < 0.2)[:8]
    assert len(units) >= 3
    ratios = []
    for u in units:
        phases = np.arange(0.0, 360.0, 45.0)
        images = np.stack([grating(DISPLAY, orientation=info["orientation"][u],
                                   sf=info["sf"][u], phase=p) for p in phases])
        r = model.responses(images, "simple")[:, u, 0, 0]
        assert r.min() < 0.5 * spont and r.max() > 3 * spont
        ratios.append(2 * np.abs(np.mean(r * np.exp(-1j * np.deg2rad(phases)))) / r.mean())
    assert np.median(ratios) > 1.3


def test_complexity_off_makes_units_purely_linear_or_energy():
    model = V1Model(SMALL, stride=48, complexity=False, n_units=40)
    assert set(model.unit_info("simple")["complexity"]) == {0.0}
    assert set(model.unit_info("complex")["complexity"]) == {1.0}
    assert model.params["complexity"] is None


def test_strided_maps_are_the_gabor_bank_at_the_kept_pixels():
    model = V1Model(SMALL, stride=8, n_units=30, output=False, normalization=False,
                    surround=False, complexity=False, untuned=False)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(3, *SMALL.shape)).astype(np.float32)
    lin = model.bank.at(images, model._rows, model._cols)
    simple = model.unit_info("simple")
    expected = np.maximum(lin[:, 0::2][:, model._layer_units["simple"]], 0)
    np.testing.assert_allclose(model.responses(images, "simple"), expected, rtol=1e-4,
                               atol=1e-5)
    assert len(simple["sf"]) == model.n_channels("simple")
    # the second layer on the same stimuli comes from the remembered batch
    again = V1Model(SMALL, stride=8, n_units=30, output=False, normalization=False,
                    surround=False, complexity=False, untuned=False)
    np.testing.assert_array_equal(again.responses(images, "complex"),
                                  model.responses(images, "complex"))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"sfs": [2.0]}, ValueError, "population='grid'"),
    ({"complex_kind": "max"}, ValueError, "energy complex pathways only"),
    ({"simple_nonlinearity": {"gain": 2}}, ValueError, "population='grid'"),
    ({"surround": {"radius": 2}}, ValueError, "unknown key.*'radius'"),
    ({"normalization": {"sigma": 0.1, "pool_sigma": 1}}, ValueError, "unknown key"),
    ({"output": {"gain": -1}}, ValueError, "gain'\\] must be positive"),
    ({"complexity": "yes"}, TypeError, "complexity must be a bool or a mapping"),
    ({"n_units": 1}, ValueError, "n_units must be >= 2"),
    ({"population": "mouse"}, ValueError, "population must be one of"),
    ({"population": "grid", "surround": False}, ValueError, "population='macaque' only"),
    ({"population": None}, TypeError, "population must be"),
], ids=["grid-arg", "max", "nonlinearity", "surround-key", "norm-key", "gain", "complexity-type",
        "n-units", "population-name", "grid-with-stage", "population-none"])
def test_constructor_rejects_arguments_of_another_population(kwargs, error, match):
    with pytest.raises(error, match=match):
        V1Model(SMALL, **kwargs)
