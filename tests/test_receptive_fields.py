"""Receptive-field mapping on models with known filters: V1 simple and complex cells, and a
tiny linear model built on FourierFilters (whose reverse-correlation map must be its kernel)."""

import numpy as np
import pytest

from analysis.gabor_fit import fit_gabor
from analysis.receptive_fields import (
    ReceptiveFields,
    grating_rf_mapping,
    reverse_correlation,
    sparse_noise_maps,
    spike_triggered_covariance,
)
from stimuli.display import Display
from v1model._fft import FourierFilters
from v1model.v1 import V1Model

DISPLAY = Display((16, 16), pixels_per_degree=8)
ORIENTATIONS = [0.0, 45.0, 90.0, 135.0]
SF = 1.5


@pytest.fixture(scope="module")
def v1():
    # stride 16 keeps only the map position nearest the centre: fast, same units
    return V1Model.grid(DISPLAY, orientations=ORIENTATIONS, sfs=[SF], phases=[0.0, 90.0], stride=16)


@pytest.fixture(scope="module")
def simple_rf(v1):
    return reverse_correlation(v1, "simple", n_images=5000, batch_size=1000, rng=0)


def angle_diff(a, b, period=180.0):
    return np.abs((np.asarray(a) - b + period / 2) % period - period / 2)


class Linear:
    """A one-layer linear model: r = kernel ⋆ image at every position (FourierFilters)."""

    layers = ("linear",)
    temporal = False

    def __init__(self, kernels, display=DISPLAY, nan=False):
        self.display = display
        self.filters = FourierFilters(kernels, dtype=np.float64)
        self.nan = nan

    def responses(self, stimuli, layer):
        out = self.filters(stimuli)
        if self.nan:
            out[0] = np.nan
        return out

    def unit_info(self, layer):
        return {"orientation": np.zeros(self.filters.n_filters)}

    def map_coordinates(self, layer):
        x, y = self.display.coordinates()
        return x[0], y[:, 0]


def test_white_noise_recovers_v1_simple_cells(v1, simple_rf):
    """Reverse correlation + Gabor fit: θ within 5°, sf within 10 %, R² >= 0.9."""
    info = v1.unit_info("simple")
    tab = simple_rf.fit_gabors()
    assert simple_rf.maps.shape == (8, 16, 16) and simple_rf.maps.dtype == np.float32
    assert tab["success"].all()
    assert angle_diff(tab["orientation"], info["orientation"]).max() < 5.0
    np.testing.assert_allclose(tab["sf"], info["sf"], rtol=0.10)
    assert tab["r2"].min() >= 0.9
    # the fitted centre is the recorded unit's map position (y up), within a pixel
    np.testing.assert_allclose(tab["x"], simple_rf.unit_info["x"], atol=1 / 8)
    np.testing.assert_allclose(tab["y"], simple_rf.unit_info["y"], atol=1 / 8)
    # phases 0 and 90 recovered within 20° (a fit at θ + 180 carries phase −φ)
    assert phase_error(tab, info).max() < 20.0


def phase_error(tab, info):
    reversed_ = np.abs(tab["orientation"] - info["orientation"]) > 90
    phase = np.where(reversed_, -tab["phase"], tab["phase"])
    return angle_diff(phase, info["phase"], 360.0)


def test_convergence_is_reported_and_high(simple_rf):
    conv = simple_rf.convergence
    assert conv["n_images"][-1] == 5000
    assert conv.names == ("n_images", "n_first", "median_r", "q10_r")
    assert np.all(conv["n_first"] < conv["n_images"]) and simple_rf.meta["split_at"] == 3000
    assert conv["median_r"][-1] > 0.95
    assert np.all(np.diff(conv["n_images"]) > 0)
    assert simple_rf.responsive.all()
    assert np.median(simple_rf.split_half_r) > 0.8
    assert "5000 images" in repr(simple_rf)


def test_linear_unit_map_is_its_kernel():
    """For r = Σ k·s the map estimates k itself (slope 1), with binary noise too."""
    y, x = np.mgrid[3:-4:-1, -3:4].astype(float)
    kernel = np.exp(-(x**2 + y**2) / 8) * np.cos(2 * np.pi * (x + y) / 6)
    model = Linear(kernel[None])
    rf = reverse_correlation(model, "linear", n_images=3000, kind="binary", rng=1)
    m = rf.maps[0]
    row, col = 7, 7                                  # centre unit of a 16 x 16 map
    patch = m[row - 3:row + 4, col - 3:col + 4]
    slope = (patch * kernel).sum() / (kernel * kernel).sum()
    assert slope == pytest.approx(1.0, rel=0.05)
    outside = m.copy()
    outside[row - 3:row + 4, col - 3:col + 4] = 0
    assert np.abs(outside).max() < 0.15 * np.abs(kernel).max()
    assert rf.unit_info["map_row"].tolist() == [row]


def test_same_seed_same_maps(v1):
    a = reverse_correlation(v1, "simple", n_images=200, batch_size=100, rng=3)
    b = reverse_correlation(v1, "simple", n_images=200, batch_size=100, rng=3)
    np.testing.assert_array_equal(a.maps, b.maps)


def test_sparse_noise_on_off_subregions(v1):
    """An even (phase 0) simple cell: ON-centre; the dark centre lowers its response."""
    rf = sparse_noise_maps(v1, "simple", units=np.array([0]), n_images=4000, density=0.2,
                           rng=2, batch_size=1000)
    on, off = rf.on_maps[0], rf.off_maps[0]
    info_row, info_col = 7, 7
    assert on[info_row, info_col] > 0 and off[info_row, info_col] < 0
    fit = fit_gabor(rf.maps[0], DISPLAY.pixels_per_degree)
    assert fit.success and angle_diff(fit.orientation, 0.0) < 5.0
    assert rf.method == "sparse_noise" and rf.convergence["median_r"][-1] > 0.8


def test_maps_save_and_load_exactly(v1, tmp_path):
    rf = sparse_noise_maps(v1, "simple", n_images=200, density=0.2, rng=2, batch_size=50)
    path = tmp_path / "rf.npz"
    rf.save(path)
    back = ReceptiveFields.load(path)
    for name in ("maps", "on_maps", "off_maps", "responsive", "split_half_r"):
        np.testing.assert_array_equal(getattr(back, name), getattr(rf, name))
    assert back.display == rf.display and back.meta == rf.meta
    assert back.n_images == rf.n_images and back.convergence.names == rf.convergence.names
    for key, value in rf.unit_info.items():
        np.testing.assert_array_equal(back.unit_info[key], value)
    path.write_bytes(path.read_bytes()[:100])      # a truncated file is refused
    with pytest.raises(ValueError, match="rf.npz"):
        ReceptiveFields.load(path)


def test_stc_of_energy_cell_is_a_quadrature_pair(v1):
    stc = spike_triggered_covariance(v1, "complex", 1, n_images=6000, batch_size=1000,
                                     size=1.5, rng=4)
    assert stc.unit_info["orientation"] == 45.0
    assert stc.eigenvectors.shape == (144, 12, 12) and stc.window[2:] == (12, 12)
    # two excitatory directions, far above the shuffled control; the rest are not
    assert stc.eigenvalues[1] > 2 * stc.null_eigenvalues.max()
    assert stc.eigenvalues[2] < 1.2 * stc.null_eigenvalues.max()
    assert set(stc.significant()[:2]) == {0, 1}
    fits = [fit_gabor(stc.eigenvectors[k], DISPLAY.pixels_per_degree) for k in (0, 1)]
    assert all(f.success for f in fits)
    for f in fits:
        assert angle_diff(f.orientation, 45.0) < 5.0
        assert f.sf == pytest.approx(SF, rel=0.1)
    sign = -1 if (fits[0].orientation > 90) != (fits[1].orientation > 90) else 1
    dphase = angle_diff(sign * fits[1].phase - fits[0].phase, 90.0, 180.0)
    assert dphase < 20.0                                # 90° apart (either order)
    # the STA of an energy cell is small compared with its eigenvectors' structure
    assert np.abs(stc.sta).max() < 0.1


def test_grating_rf_mapping_finds_centres(v1):
    tab = grating_rf_mapping(v1, "complex", grid=(5, 5), radius=0.25, sf=SF)
    assert len(tab) == 4 and tab["success"].all()
    np.testing.assert_allclose(tab["x"], -1 / 16, atol=0.15)   # centre pixel (7, 7)
    np.testing.assert_allclose(tab["y"], 1 / 16, atol=0.15)
    assert np.all(tab["rf_diameter"] > 0)


def test_unresponsive_unit_is_flagged_not_nan():
    kernels = np.zeros((2, 3, 3))
    kernels[0, 1, 1] = 1.0                   # channel 1 never responds
    rf = reverse_correlation(Linear(kernels), "linear", n_images=400, rng=0)
    assert rf.responsive.tolist() == [True, False]
    assert np.all(rf.maps[1] == 0) and np.isnan(rf.split_half_r[1])
    assert np.all(np.isfinite(rf.maps))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m: reverse_correlation(m, "nope"), ValueError, "layer must be one of"),
        (lambda m: reverse_correlation(m, "linear", kind="pink"), ValueError, "kind must be"),
        (lambda m: reverse_correlation(m, "linear", contrast=0.0), ValueError, "contrast must"),
        (lambda m: reverse_correlation(m, "linear", n_images=3), ValueError, "n_images must be"),
        (lambda m: reverse_correlation(Linear(np.ones((1, 3, 3)), nan=True), "linear",
                                       n_images=10), ValueError, "NaN"),
        (lambda m: sparse_noise_maps(m, "linear", density=0), ValueError, "density must be"),
        (lambda m: spike_triggered_covariance(m, "linear", 5, n_images=10), IndexError,
         "unit 5 is out of range"),
        (lambda m: spike_triggered_covariance(m, "linear", n_images=10), ValueError,
         "non-negative"),
        (lambda m: spike_triggered_covariance(m, "linear", n_images=10, size=20.0), ValueError,
         "at most 4096"),
        (lambda m: reverse_correlation(object(), "linear"), TypeError, "v1model interface"),
        (lambda m: grating_rf_mapping(m, "linear", grid=(2, 5)), ValueError, "at least 3"),
    ],
    ids=["layer", "kind", "contrast", "n-images", "nan-responses", "density", "unit-range",
         "negative-responses", "window", "not-a-model", "grid"],
)
def test_bad_input(call, error, match):
    model = Linear(np.random.default_rng(0).normal(size=(1, 3, 3)))
    with pytest.raises(error, match=match):
        call(model)


def test_wrong_response_count_is_an_error():
    class Broken(Linear):
        def responses(self, stimuli, layer):
            return super().responses(stimuli, layer)[:-1]

    with pytest.raises(ValueError, match="responses"):
        reverse_correlation(Broken(np.ones((1, 3, 3))), "linear", n_images=10)


# ----------------------------------------------------------------------------- STC significance

STC_DISPLAY = Display((8, 8), pixels_per_degree=8)


@pytest.fixture(scope="module")
def energy_cell():
    """A V1 energy complex cell (quadrature pair of Gabors): two relevant dimensions."""
    return V1Model.grid(STC_DISPLAY, orientations=[45.0], sfs=[2.0], phases=[0.0, 90.0], stride=8)


@pytest.mark.slow
def test_stc_nested_test_false_positive_rate_over_seeds(energy_cell):
    """Rust et al. (2005) nested test: extra dimensions in at most alpha of the runs.

    With one shuffled control as the threshold, 16 of the first 20 seeds reported
    more than the two relevant dimensions; the nested test with 199 shuffles at
    alpha = 0.05 must find both true axes every time and extras in <= 5 % of 40 runs.
    """
    alpha, n_seeds = 0.05, 40
    extra = 0
    for seed in range(n_seeds):
        stc = spike_triggered_covariance(energy_cell, "complex", 0, n_images=4000,
                                         batch_size=4000, rng=seed)
        found = stc.significant(alpha=alpha, n_shuffles=199).tolist()
        assert found[:2] == [0, 1], (seed, found)          # power: both true axes
        extra += len(found) > 2
    assert extra / n_seeds <= alpha, f"{extra} of {n_seeds} runs had extra dimensions"


def test_stc_nested_test_on_unrelated_responses_finds_nothing(energy_cell):
    """Responses independent of the stimulus: no dimension is significant."""
    class Unrelated:
        display, layers, temporal = STC_DISPLAY, ("u",), False

        def __init__(self):
            self.rng = np.random.default_rng(1)

        def responses(self, stimuli, layer):
            return self.rng.exponential(size=(len(stimuli), 1))

        def unit_info(self, layer):
            return {}

    found = [spike_triggered_covariance(Unrelated(), "u", n_images=1000, rng=seed)
             .significant(n_shuffles=39).size for seed in range(4)]
    assert sum(found) <= 1, found


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 0.7}, "alpha"),
    ({"alpha": 0.01, "n_shuffles": 50}, "n_shuffles must be"),
], ids=["alpha-zero", "alpha-large", "too-few-shuffles"])
def test_stc_significant_bad_input(energy_cell, kwargs, match):
    stc = spike_triggered_covariance(energy_cell, "complex", 0, n_images=200, rng=0)
    with pytest.raises(ValueError, match=match):
        stc.significant(**kwargs)


def test_reverse_correlation_float32_sums_survive_a_large_response_offset():
    # r = 1000 + k·s: the centred float32 product must still recover k (in response
    # units per unit contrast) although Σ r·s is dominated by the offset
    from analysis.receptive_fields import reverse_correlation
    from stimuli.display import Display

    kernel = np.random.default_rng(9).normal(size=(8, 8))

    class Linear:
        display, layers, temporal = Display((8, 8), pixels_per_degree=4), ("lin",), False

        def responses(self, s, layer):
            return 1000.0 + s.reshape(len(s), -1) @ kernel.reshape(-1, 1)

        def unit_info(self, layer):
            return {}

    rf = reverse_correlation(Linear(), "lin", n_images=4000, batch_size=700, rng=1)
    # sampling error of cov/var with 4000 images: ≈ ‖k‖ / sqrt(4000) ≈ 0.13 per pixel
    np.testing.assert_allclose(rf.maps[0], kernel, atol=0.5)
    assert np.corrcoef(rf.maps[0].ravel(), kernel.ravel())[0, 1] > 0.98
