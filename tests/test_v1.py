"""V1Model: tuning matches the units' own parameters, complex-cell invariance, normalisation,
the model interface and its errors."""

import numpy as np
import pytest

from stimuli.display import Display
from stimuli.gratings import grating
from v1model.base import Model
from v1model.cells import divisive_normalization, energy, half_wave, max_pool, window_pixels
from v1model.population import sample_population
from v1model.v1 import V1Model

# 33 px at 16 px/deg: a 2° screen whose centre pixel is the origin
DISPLAY = Display((33, 33), pixels_per_degree=16)
SFS = (2.0, 4.0)
ORI_STEP, PHASE_STEP, SF_STEP_OCT = 7.5, 45.0, 0.25


@pytest.fixture(scope="module")
def model():
    """12 orientations × 2 sfs × 4 phases, responses at the centre pixel only."""
    return V1Model.grid(DISPLAY, sfs=SFS, stride=33)


def _centre(model, images, layer):
    return model.responses(images, layer)[:, :, 0, 0]


def _angle_diff(a, b, period):
    d = np.mod(np.asarray(a) - np.asarray(b), period)
    return np.minimum(d, period - d)


def test_is_a_model_with_the_centre_pixel_at_the_origin(model):
    assert isinstance(model, Model)
    assert model.layers == ("simple", "complex") and model.temporal is False
    x, y = model.map_coordinates("simple")
    assert x.tolist() == [0.0] and y.tolist() == [0.0]


@pytest.mark.parametrize("sf", SFS)
def test_every_simple_unit_prefers_its_own_orientation_and_phase(sf):
    model = V1Model.grid(DISPLAY, sfs=[sf], stride=33)  # 12 orientations × 4 phases
    oris = np.arange(0.0, 180.0, ORI_STEP)
    phases = np.arange(0.0, 360.0, PHASE_STEP)
    images = np.stack([grating(DISPLAY, orientation=o, sf=sf, phase=p)
                       for o in oris for p in phases])
    r = _centre(model, images, "simple")
    best = r.argmax(axis=0)
    pref_ori, pref_phase = oris[best // len(phases)], phases[best % len(phases)]
    info = model.unit_info("simple")
    assert len(info["sf"]) == 48
    assert np.all(_angle_diff(pref_ori, info["orientation"], 180) <= ORI_STEP)
    assert np.all(_angle_diff(pref_phase, info["phase"], 360) <= PHASE_STEP)


def test_every_complex_unit_prefers_its_own_orientation(model):
    oris = np.arange(0.0, 180.0, ORI_STEP)
    info = model.unit_info("complex")
    for sf in SFS:
        images = np.stack([grating(DISPLAY, orientation=o, sf=sf) for o in oris])
        r = _centre(model, images, "complex")
        units = np.flatnonzero(info["sf"] == sf)
        pref = oris[r[:, units].argmax(axis=0)]
        assert np.all(_angle_diff(pref, info["orientation"][units], 180) <= ORI_STEP)


@pytest.mark.parametrize("layer", ["simple", "complex"])
def test_every_unit_prefers_its_own_spatial_frequency(model, layer):
    sfs = 2.0 ** np.arange(0.25, 2.51, SF_STEP_OCT)  # 1.2 to 5.7 c/deg, quarter octaves
    oris = np.unique(model.unit_info("complex")["orientation"])
    # simple cells need their own phase; energy complex cells are phase-invariant
    phases = np.arange(0.0, 360.0, 90.0) if layer == "simple" else np.array([0.0])
    images = np.stack([grating(DISPLAY, orientation=o, sf=f, phase=p)
                       for f in sfs for o in oris for p in phases])
    info = model.unit_info(layer)
    r = _centre(model, images, layer).reshape(len(sfs), len(oris), len(phases), -1)
    own = np.searchsorted(oris, info["orientation"])       # the unit's own orientation
    tuning = r[:, own, :, np.arange(len(own))].max(axis=-1)  # (units, sfs), best phase
    pref = sfs[tuning.argmax(axis=1)]
    assert np.all(np.abs(np.log2(pref / info["sf"])) <= SF_STEP_OCT + 1e-9)


@pytest.mark.parametrize("kind", ["energy", "max"])
@pytest.mark.parametrize(("orientation", "sf"), [(0.0, 2.0), (30.0, 2.0), (45.0, 4.0),
                                                 (150.0, 4.0)])
def test_complex_cells_are_phase_invariant(kind, orientation, sf):
    model = V1Model.grid(DISPLAY, orientations=[orientation], sfs=[sf], complex_kind=kind,
                    stride=33)
    phases = np.arange(0.0, 360.0, 22.5)
    images = np.stack([grating(DISPLAY, orientation=orientation, sf=sf, phase=p)
                       for p in phases])
    r = _centre(model, images, "complex")[:, 0]
    if kind == "energy":
        assert (r.max() - r.min()) < 0.05 * r.mean()
    else:
        # the window's maximum samples the grating at whole pixels, up to half a pixel
        # of phase (180° / pixels per cycle) from the peak
        half_pixel = np.pi * sf / DISPLAY.pixels_per_degree
        assert (r.max() - r.min()) < (1 - np.cos(half_pixel) + 0.01) * r.max()


@pytest.mark.parametrize(("orientation", "sf"), [(0.0, 2.0), (75.0, 4.0)])
def test_simple_cells_are_rectified_sinusoids_of_phase(orientation, sf):
    model = V1Model.grid(DISPLAY, orientations=[orientation], sfs=[sf], stride=33)
    phases = np.arange(0.0, 360.0, 22.5)
    images = np.stack([grating(DISPLAY, orientation=orientation, sf=sf, phase=p, contrast=0.8)
                       for p in phases])
    r = _centre(model, images, "simple")
    for j, phi in enumerate(model.unit_info("simple")["phase"]):
        # filters respond 1 to their optimal unit-contrast grating: amplitude = contrast
        expected = np.maximum(0.8 * np.cos(np.deg2rad(phases - phi)), 0.0)
        np.testing.assert_allclose(r[:, j], expected, atol=0.01)
    assert np.all(r.min(axis=0) == 0.0)


def test_simple_nonlinearity_threshold_gain_exponent():
    kwargs = dict(orientations=[0.0], sfs=[2.0], phases=[0.0], stride=33)
    linear = V1Model.grid(DISPLAY, **kwargs)
    shaped = V1Model.grid(DISPLAY, simple_nonlinearity={"threshold": 0.1, "gain": 3.0,
                                                   "exponent": 2.0}, **kwargs)
    images = np.stack([grating(DISPLAY, sf=2.0, contrast=c) for c in (0.05, 0.5)])
    r0 = _centre(linear, images, "simple")[:, 0]
    np.testing.assert_allclose(_centre(shaped, images, "simple")[:, 0],
                               3.0 * np.maximum(r0 - 0.1, 0) ** 2, rtol=1e-5)


@pytest.mark.parametrize("layer", ["simple", "complex"])
def test_normalization_makes_contrast_responses_saturate(layer):
    contrasts = np.array([0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0])
    images = np.stack([grating(DISPLAY, orientation=30.0, sf=2.0, contrast=c)
                       for c in contrasts])
    plain = V1Model.grid(DISPLAY, sfs=[2.0], stride=33)
    normed = V1Model.grid(DISPLAY, sfs=[2.0], stride=33, normalization=True)
    info = plain.unit_info(layer)
    unit = np.flatnonzero((info["orientation"] == 30.0) & (info.get("phase", 0.0) == 0.0))[0]
    r_plain = _centre(plain, images, layer)[:, unit]
    r_norm = _centre(normed, images, layer)[:, unit]
    np.testing.assert_allclose(r_plain, contrasts, rtol=1e-3)  # linear in contrast
    assert np.all(np.diff(r_norm) > 0)
    # 0.8 → 1.0 raises a linear response by 25% and a squared one by 56%
    assert r_norm[-1] / r_norm[-2] < 1.12                     # high contrast: saturating
    assert r_norm[1] / r_norm[0] > 0.8 * (0.05 / 0.02) ** 2    # low contrast: expansive


def test_normalization_parameters_and_pool_blur():
    images = grating(DISPLAY, sf=2.0, contrast=0.5)[None]
    kw = dict(orientations=[0.0, 90.0], sfs=[2.0], stride=33)
    weak = V1Model.grid(DISPLAY, normalization={"sigma": 1.0}, **kw)
    strong = V1Model.grid(DISPLAY, normalization={"sigma": 0.01}, **kw)
    blurred = V1Model.grid(DISPLAY, normalization={"sigma": 0.01, "pool_sigma": 0.25}, **kw)
    r = [_centre(m, images, "complex")[0, 0] for m in (weak, strong, blurred)]
    assert r[0] < r[1]                       # a larger semi-saturation constant suppresses
    assert np.isfinite(r[2]) and r[2] > 0
    assert weak.params["normalization"]["sigma"] == 1.0


def test_default_model_and_full_resolution_maps():
    model = V1Model.grid(Display((24, 20), 16))
    assert model.n_channels("simple") == 12 * 3 * 4
    assert model.n_channels("complex") == 12 * 3
    assert model.bank.n_filters == 12 * 3 * 2  # phases modulo 180°
    out = model.responses(np.zeros((2, 24, 20)), "complex")
    assert out.shape == (2, 36, 24, 20) and out.dtype == np.float32
    x, y = model.map_coordinates("complex")
    assert x.shape == (20,) and y.shape == (24,)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) < 0)


@pytest.mark.parametrize("stride", [1, 2, 5])
def test_stride_keeps_the_centre_pixel(stride):
    display = Display((21, 20), 16)
    model = V1Model.grid(display, orientations=[0.0], sfs=[4.0], stride=stride)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(2, 21, 20))
    full = V1Model.grid(display, orientations=[0.0], sfs=[4.0]).responses(images, "simple")
    sub = model.responses(images, "simple")
    x, y = model.map_coordinates("simple")
    assert sub.shape[2:] == (len(y), len(x))
    cx, cy = display.coordinates()
    centre_row, centre_col = 10, 9  # (rows - 1) // 2, (cols - 1) // 2
    assert cy[centre_row, 0] in y and cx[0, centre_col] in x
    rows = [r for r in range(21) if cy[r, 0] in y]
    cols = [c for c in range(20) if cx[0, c] in x]
    # the strided map may be computed by direct dot products: equal to float32 rounding
    np.testing.assert_allclose(sub, full[:, :, rows][:, :, :, cols], rtol=1e-5, atol=1e-6)


def test_unit_info_describes_each_channel():
    model = V1Model.grid(DISPLAY, orientations=[0.0, 45.0], sfs=[2.0], phases=[0.0, 90.0],
                    complex_kind="max")
    simple, cells = model.unit_info("simple"), model.unit_info("complex")
    assert set(simple) >= {"orientation", "sf", "phase", "sigma_x", "sigma_y", "nx", "ny",
                           "rf_size"}
    assert "phase" not in cells and "pool_window" in cells
    assert all(len(v) == 4 for v in simple.values())
    assert all(len(v) == 2 for v in cells.values())
    assert all(np.all(np.isfinite(v)) for v in (*simple.values(), *cells.values()))
    np.testing.assert_allclose(simple["rf_size"], 4 * 0.5 / 2.0)
    # max pooling over one carrier period (0.5 deg → 9 px at 16 px/deg)
    np.testing.assert_allclose(cells["pool_window"], 9 / 16)
    np.testing.assert_allclose(cells["rf_size"], 1.0 + 9 / 16)


def test_energy_uses_a_quadrature_partner_even_if_not_in_the_grid():
    model = V1Model.grid(DISPLAY, orientations=[0.0], sfs=[2.0], phases=[0.0], stride=33)
    images = np.stack([grating(DISPLAY, sf=2.0, phase=p) for p in (0.0, 90.0, 200.0)])
    np.testing.assert_allclose(_centre(model, images, "complex")[:, 0], 1.0, atol=1e-3)
    assert model.n_channels("simple") == 1


def test_from_population_matches_the_table():
    display = Display((33, 33), 32)
    pop = sample_population(20, rng=5)
    for kind in ("energy", "max"):
        model = V1Model.from_population(display, pop, complex_kind=kind, stride=11)
        simple = model.unit_info("simple")
        for name in ("orientation", "sf", "phase", "nx", "ny", "sigma_x", "sigma_y"):
            np.testing.assert_allclose(simple[name], pop[name])
        np.testing.assert_allclose(model.unit_info("complex")["sf"], pop["sf"])
        out = model.responses(np.zeros((1, 33, 33)), "complex")
        assert out.shape == (1, 20, 3, 3)
        # phases φ + 180° reuse the φ filter with a sign flip: two filters per unit
        assert model.bank.n_filters == 2 * 20
        assert model.params["source"] == "population" and model.params["n_complex"] == 20


def test_population_unit_prefers_its_own_orientation_and_phase():
    display = Display((33, 33), 32)
    pop = {"orientation": [37.0, 112.0], "sf": [3.0, 2.0], "phase": [60.0, 250.0],
           "nx": [0.4, 0.3], "ny": [0.6, 0.5]}
    model = V1Model.from_population(display, pop, stride=33)
    oris = np.arange(0.0, 180.0, ORI_STEP)
    phases = np.arange(0.0, 360.0, 30.0)
    for j in range(2):
        images = np.stack([grating(display, orientation=o, sf=pop["sf"][j], phase=p)
                           for o in oris for p in phases])
        r = _centre(model, images, "simple")[:, j].reshape(len(oris), len(phases))
        o, p = np.unravel_index(r.argmax(), r.shape)
        assert _angle_diff(oris[o], pop["orientation"][j], 180) <= ORI_STEP
        assert _angle_diff(phases[p], pop["phase"][j], 360) <= 30.0


@pytest.mark.parametrize(
    ("layer", "images", "match"),
    [
        ("v4", np.zeros((1, 33, 33)), "layer must be one of 'simple', 'complex'"),
        ("simple", np.zeros((1, 32, 33)), r"stimuli must have shape \(n, 33, 33\)"),
        ("simple", np.zeros((33, 33)), r"stimuli must have shape \(n, rows, cols\)"),
        ("complex", np.full((2, 33, 33), np.nan), "stimuli must be finite"),
        ("complex", np.zeros((0, 33, 33)), "stimuli must not be empty"),
    ],
    ids=["unknown-layer", "wrong-shape", "single-image", "nan", "empty"],
)
def test_responses_reject_bad_input(model, layer, images, match):
    with pytest.raises(ValueError, match=match):
        model.responses(images, layer)


@pytest.mark.parametrize("method", ["unit_info", "map_coordinates", "n_channels"])
def test_metadata_rejects_unknown_layer(model, method):
    with pytest.raises(ValueError, match="layer must be one of"):
        getattr(model, method)("C1")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(sigma_x=0.2, nx=0.4), ValueError, "not both"),
        (dict(population={"orientation": [0], "sf": [2], "phase": [0], "nx": [.5],
                          "ny": [.5]}, sfs=[2]), ValueError, "not both"),
        (dict(complex_kind="sum"), ValueError, "complex_kind must be one of"),
        (dict(pool_window=0.5), ValueError, "pool_window applies to complex_kind='max'"),
        (dict(complex_kind="max", pool_window=-1), ValueError, "pool_window must be positive"),
        (dict(normalization={"sigma": 0.1, "beta": 2}), ValueError, "unknown key.*'beta'"),
        (dict(normalization={"sigma": 0.0}), ValueError, "sigma'\\] must be positive"),
        (dict(normalization="yes"), TypeError, "normalization must be a mapping"),
        (dict(simple_nonlinearity={"exponent": np.nan}), ValueError, "must be finite"),
        (dict(stride=0), ValueError, "stride must be >= 1"),
        (dict(sfs=[9.0]), ValueError, "Nyquist"),
    ],
    ids=["sigma-and-nx", "population-and-grid", "kind", "window-energy", "window-negative",
         "norm-key", "norm-sigma", "norm-type", "nan-exponent", "stride", "nyquist"],
)
def test_constructor_rejects_bad_parameters(kwargs, error, match):
    kwargs = {"population": "grid", **kwargs}
    with pytest.raises(error, match=match):
        V1Model(DISPLAY, **kwargs)


def test_constructor_rejects_a_non_display():
    with pytest.raises(TypeError, match="display must be"):
        V1Model((33, 33))


# cells.py functions directly


def test_cells_functions_on_hand_computed_values():
    np.testing.assert_allclose(half_wave(np.array([-1.0, 0.2, 1.0]), threshold=0.2, gain=2.0,
                                         exponent=2.0), [0.0, 0.0, 1.28])
    np.testing.assert_allclose(energy(np.array([0.6]), np.array([-0.8])), [1.0])
    assert window_pixels(0.5, 16) == 9 and window_pixels(0.01, 16) == 1
    drive = np.zeros((1, 4, 1, 1))
    drive[0, :, 0, 0] = [1.0, 1.0, 0.0, 0.0]
    r = divisive_normalization(drive, sigma=1.0, exponent=2.0, gain=2.0)
    np.testing.assert_allclose(r[0, :, 0, 0], [2.0 / 1.5, 2.0 / 1.5, 0.0, 0.0])


def test_max_pool_window_and_phases():
    simple = np.zeros((1, 2, 3, 9, 9))
    simple[0, 0, 2, 4, 4] = 1.0
    simple[0, 1, 0, 0, 0] = 0.5
    out = max_pool(simple, window=[3.0, 1.0], pixels_per_degree=1.0)
    assert out.shape == (1, 2, 9, 9)
    assert out[0, 0].sum() == 9.0 and out[0, 0, 3:6, 3:6].min() == 1.0
    assert out[0, 1].sum() == 0.5


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: half_wave(np.array([1.0]), exponent=0), r"exponent must be in \(0.0, 16.0\]"),
        (lambda: half_wave(np.array([np.nan])), "linear must be finite"),
        (lambda: energy(np.ones(2), np.ones(3)), "same shape"),
        (lambda: max_pool(-np.ones((1, 1, 1, 3, 3)), window=1, pixels_per_degree=1),
         "non-negative"),
        (lambda: max_pool(np.ones((1, 3, 3)), window=1, pixels_per_degree=1),
         r"simple must have shape \(n, channels, phases, rows, cols\)"),
        (lambda: divisive_normalization(-np.ones((1, 1, 2, 2))), "non-negative"),
        (lambda: divisive_normalization(np.ones((1, 2, 2, 2)), weights=[1.0]),
         "weights must have length 2"),
        (lambda: divisive_normalization(np.ones((1, 1, 2, 2)), pool_sigma=1.0),
         "needs pixels_per_degree"),
    ],
    ids=["exponent", "nan", "energy-shapes", "negative-simple", "simple-ndim",
         "negative-drive", "weights-length", "blur-ppd"],
)
def test_cells_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
