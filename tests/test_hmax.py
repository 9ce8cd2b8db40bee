"""HMAX: Serre et al.'s (2007) S1 bank, C1 pooling geometry, S2/C2 templates, composition."""

import numpy as np
import pytest
from scipy.ndimage import correlate

from analysis.decoding import evaluate, fit_linear_classifier
from stimuli.display import Display
from stimuli.transforms import translate
from v1model.hmax import (
    HMAX,
    C1Stage,
    C2Stage,
    S1Stage,
    S2Stage,
    hmax_gabor,
    imprint_prototypes,
    serre_gabor_parameters,
)

# Serre, Wolf, Bileschi, Riesenhuber & Poggio 2007, Table 1: (size, sigma, lambda) per scale.
TABLE_1 = [
    (7, 2.8, 3.5), (9, 3.6, 4.6), (11, 4.5, 5.6), (13, 5.4, 6.8), (15, 6.3, 7.9),
    (17, 7.3, 9.1), (19, 8.2, 10.3), (21, 9.2, 11.5), (23, 10.2, 12.7), (25, 11.3, 14.1),
    (27, 12.3, 15.4), (29, 13.4, 16.8), (31, 14.6, 18.2), (33, 15.8, 19.7), (35, 17.0, 21.2),
    (37, 18.2, 22.8),
]
TABLE_1_POOLING = [(8, 4), (10, 5), (12, 6), (14, 7), (16, 8), (18, 9), (20, 10), (22, 11)]


@pytest.fixture(scope="module")
def small_model():
    """S1 → C1 on a 64 × 64 display with the full Serre bank."""
    return HMAX(Display((64, 64), pixels_per_degree=32))


@pytest.fixture(scope="module")
def textures():
    """Four smooth random textures, 64 × 64, in [-1, 1]."""
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(4, 64, 64))
    freq = np.hypot(*np.meshgrid(np.fft.fftfreq(64), np.fft.fftfreq(64)))
    spec = np.fft.fft2(noise) / (1 + 20 * freq)
    img = np.real(np.fft.ifft2(spec))
    return (img / np.abs(img).max(axis=(1, 2), keepdims=True)).astype(np.float32)


def _rel_change(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


# ----------------------------------------------------------------------------- S1


@pytest.mark.parametrize("k, row", list(enumerate(TABLE_1)), ids=[f"size{r[0]}" for r in TABLE_1])
def test_s1_parameters_match_table_1(k, row):
    size, sigma, lam = row
    s1 = S1Stage()
    assert s1.sizes[k] == size
    # The table gives one decimal, rounded — except λ = 12.7 for size 23, where the rule gives
    # 12.78 (truncated; the table's own σ = 10.2 = 0.8 · 12.75 agrees with the rule).
    for value, printed in ((s1.wavelengths[k], lam), (s1.sigmas[k], sigma)):
        assert any(abs(printed - c) < 1e-9 for c in (round(value, 1), np.floor(value * 10) / 10))


def test_default_pooling_matches_table_1():
    c1 = C1Stage()
    assert list(zip(c1.pool_sizes, c1.pool_steps, strict=True)) == TABLE_1_POOLING
    assert c1.scales_per_band == 2


def test_serre_parameters_rule():
    lam, sig = serre_gabor_parameters((7, 9))
    np.testing.assert_allclose(lam, [14 / 4.0, 18 / 3.95])
    np.testing.assert_allclose(sig, 0.8 * lam)


@pytest.mark.parametrize("sizes", [(7, 37), (37,), (37, 7), (21, 23, 25), (9, 35, 15)],
                         ids=lambda s: "-".join(map(str, s)))
def test_serre_parameters_depend_on_size_not_position(sizes):
    """Any subset or order of sizes gets Table 1's λ and σ for those sizes."""
    table = {size: (sigma, lam) for size, sigma, lam in TABLE_1}
    lam, sig = serre_gabor_parameters(sizes)
    for size, value_lam, value_sig in zip(sizes, lam, sig, strict=True):
        sigma, printed_lam = table[size]
        # one decimal as printed (size 23's λ = 12.78 is printed truncated, see above)
        assert abs(value_lam - printed_lam) <= 0.1 and abs(value_sig - sigma) <= 0.05 + 1e-9
    full_lam, _ = serre_gabor_parameters()
    np.testing.assert_allclose(lam, [full_lam[(s - 7) // 2] for s in sizes], rtol=1e-12)


@pytest.mark.parametrize("orientation", [0.0, 45.0, 90.0, 135.0])
@pytest.mark.parametrize("size", [7, 21, 37])
def test_kernels_zero_mean_over_the_square_unit_norm(size, orientation):
    lam, sig = serre_gabor_parameters((size,))
    g = hmax_gabor(size, wavelength=lam[0], sigma=sig[0], orientation=orientation)
    assert g.shape == (size, size)
    assert abs(g.sum()) < 1e-10
    assert (g**2).sum() == pytest.approx(1.0, rel=1e-12)
    # Serre's code removes the mean over the whole square: outside the disk every pixel
    # holds the same constant (minus the disk Gabor's mean over the square)
    half = size // 2
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    outside = np.hypot(xx, yy) > size / 2
    assert outside.any()
    np.testing.assert_allclose(g[outside], g[0, 0], atol=1e-15)
    assert abs(g[0, 0]) > 1e-6   # non-zero: a disk-only mean removal would leave 0 here


def _grating(shape, orientation, wavelength_px, phase=0.0):
    rows, cols = shape
    x = np.arange(cols) - (cols - 1) / 2
    y = (rows - 1) / 2 - np.arange(rows)
    th = np.deg2rad(orientation)
    xp = x[None, :] * np.cos(th) + y[:, None] * np.sin(th)
    return np.cos(2 * np.pi * xp / wavelength_px + np.deg2rad(phase)).astype(np.float32)


@pytest.mark.parametrize("orientation", [0.0, 45.0, 90.0, 135.0])
def test_s1_prefers_grating_of_its_orientation(orientation):
    s1 = S1Stage(sizes=(15,))
    img = _grating((63, 63), orientation, s1.wavelengths[0])[None]
    resp = s1(img)[0, 0, :, 31, 31]  # (orientations,) at the centre
    assert s1.orientations[int(np.argmax(resp))] == orientation


def test_s1_bounded_and_blank(textures):
    s1 = S1Stage()
    r = s1(textures)
    assert r.dtype == np.float32 and r.shape == (4, 16, 4, 64, 64)
    assert r.min() >= 0 and r.max() <= 1 + 1e-5  # Cauchy-Schwarz with unit-norm filters
    assert np.abs(s1(np.zeros((1, 64, 64)))).max() == 0
    black = s1(-np.ones((1, 64, 64)))[..., 26:38, 26:38]  # filters inside the image
    assert np.isfinite(black).all() and np.abs(black).max() < 1e-3  # ≈ 0 (FFT round-off), not 0/0


def test_s1_rises_with_contrast_as_in_serre():
    """Normalised by the luminance energy, S1 to an optimal grating grows with contrast."""
    s1 = S1Stage(sizes=(15,))
    grating = _grating((63, 63), 0.0, s1.wavelengths[0])
    contrasts = np.array([0.02, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0])
    resp = s1(contrasts[:, None, None] * grating[None])[:, 0, 0, 31, 31]
    assert np.all(np.diff(resp) > 0)
    assert resp[2] == pytest.approx(0.06, abs=0.01)          # 10 %
    assert resp[-1] == pytest.approx(0.5, abs=0.05)          # 100 %
    # ≈ a · C / √(1 + C²/2) (normalised by Σ(1 + C cos)²): linear at low contrast,
    # compressed by ≈ √1.5 at full contrast
    gain = resp / contrasts
    assert gain[0] / gain[2] == pytest.approx(1.0, abs=0.01)
    assert gain[0] / gain[-1] == pytest.approx(np.sqrt(1.5), rel=0.05)


def test_s1_mean_luminance_scale_cancels_and_zero_is_contrast_invariant(textures):
    """Only the mean relative to the contrast units matters (cd/m² cancel)."""
    base = S1Stage(sizes=(7, 21))(textures)
    scaled = S1Stage(sizes=(7, 21), mean_luminance=3.0)(3.0 * textures)
    np.testing.assert_allclose(scaled, base, atol=2e-6)
    s1 = S1Stage(sizes=(7, 21), mean_luminance=0.0)
    np.testing.assert_allclose(s1(0.25 * textures), s1(textures), atol=2e-5)
    assert np.all(base <= s1(textures) + 1e-6)     # the mean only ever adds energy


def test_s1_equals_direct_correlation(textures):
    s1 = S1Stage(sizes=(7, 13), orientations=(0.0, 60.0))
    img = textures[:1].astype(np.float64)
    got = s1(img)[0]
    for i, size in enumerate(s1.sizes):
        half = size // 2
        luminance = 1.0 + np.pad(img[0], half)  # mean grey beyond the image
        energy = correlate(luminance**2, np.ones((size, size)), mode="constant")
        energy = energy[half:-half, half:-half]
        norm = np.maximum(np.sqrt(np.maximum(energy, 0)), s1.min_contrast * size)
        for j, k in enumerate(s1.kernels(i)):
            want = np.abs(correlate(img[0], k, mode="constant")) / norm
            np.testing.assert_allclose(got[i, j], want, atol=2e-6)


# ----------------------------------------------------------------------------- C1


def test_c1_is_max_over_scales_and_window(small_model, textures):
    model = small_model
    c1 = model.responses(textures, "C1")
    s1 = model.responses(textures, "S1").reshape(4, 16, 4, 64, 64)
    x_all, y_all = model.band_coordinates("C1")
    valid = model.valid_mask("C1")
    info = model.unit_info("C1")
    ppd = model.display.pixels_per_degree
    for ch in (0, 5, 14, 31):  # bands 0, 1, 3, 7
        band, ori = int(info["band"][ch]), ch % 4
        n_pool = C1Stage().pool_sizes[band]
        both = s1[:, 2 * band:2 * band + 2, ori].max(axis=1)
        rows, cols = np.nonzero(valid[ch])
        for r, c in zip(rows[::7], cols[::7], strict=True):
            # window centre in pixels from the element's position in degrees
            rc = (63 / 2 - y_all[ch, r] * ppd) - (n_pool - 1) / 2
            cc = (x_all[ch, c] * ppd + 63 / 2) - (n_pool - 1) / 2
            r0, c0 = int(round(rc)), int(round(cc))
            want = both[:, r0:r0 + n_pool, c0:c0 + n_pool].max(axis=(1, 2))
            np.testing.assert_allclose(c1[:, ch, r, c], want, rtol=1e-6)
        assert np.all(c1[:, ch][:, ~valid[ch]] == 0)


def test_c1_bands_are_centred_with_their_own_steps(small_model):
    info = small_model.unit_info("C1")
    x, y = small_model.band_coordinates("C1")
    mx, my = small_model.map_coordinates("C1")
    centre = x.shape[1] // 2
    ppd = small_model.display.pixels_per_degree
    assert np.all(np.abs(x[:, centre]) <= 0.5 / ppd + 1e-12)
    assert np.all(np.abs(y[:, centre]) <= 0.5 / ppd + 1e-12)
    steps = np.diff(x, axis=1)
    np.testing.assert_allclose(steps, np.broadcast_to(info["step"][:, None], steps.shape))
    np.testing.assert_allclose(info["step"][::4] * ppd, [s for _, s in TABLE_1_POOLING])
    np.testing.assert_allclose(mx, x[0])
    np.testing.assert_allclose(my, y[0])
    valid = small_model.valid_mask("C1")
    np.testing.assert_array_equal(valid, valid[:, ::-1, ::-1])  # symmetric about the centre


def test_c1_serre_grid_matches_direct_pooling(textures):
    """grid="serre": S1 borders zeroed, windows from pixel 0 by ΔS, the last cut by the edge."""
    display = Display((64, 64), pixels_per_degree=32)
    model = HMAX(display, c1={"grid": "serre"})
    c1 = model.responses(textures, "C1")
    s1 = model.responses(textures, "S1").reshape(4, 16, 4, 64, 64)
    info, valid = model.unit_info("C1"), model.valid_mask("C1")
    sizes = S1Stage().sizes
    x, _ = model.band_coordinates("C1")
    for band, (n_pool, step) in enumerate(TABLE_1_POOLING):
        n_win = -(-64 // step)
        ch = band * 4
        assert valid[ch].sum() == n_win**2 and valid[ch, :n_win, :n_win].all()
        assert info["step"][ch] * 32 == step
        assert x[ch, 0] * 32 + 63 / 2 == pytest.approx((n_pool - 1) / 2)
        zeroed = []
        for k in (2 * band, 2 * band + 1):
            h = sizes[k] // 2
            z = np.zeros_like(s1[:, k])
            z[..., h:64 - h, h:64 - h] = s1[:, k, ..., h:64 - h, h:64 - h]
            zeroed.append(z)
        both = np.maximum(*zeroed)
        for i in range(n_win):
            for j in (0, n_win // 2, n_win - 1):
                want = both[:, :, i * step:i * step + n_pool, j * step:j * step + n_pool]
                np.testing.assert_allclose(c1[:, ch:ch + 4, i, j], want.max(axis=(2, 3)),
                                           rtol=1e-6)
    assert C1Stage().grid == "centred"


def test_shift_below_pooling_step_changes_c1_much_less_than_s1(small_model, textures):
    shifted = translate(textures, small_model.display, shift=(2 / 32, 0.0))  # 2 px < ΔS = 4
    s1_change = _rel_change(small_model.responses(textures, "S1"),
                            small_model.responses(shifted, "S1"))
    c1_change = _rel_change(small_model.responses(textures, "C1"),
                            small_model.responses(shifted, "C1"))
    assert c1_change < 0.5 * s1_change


# ----------------------------------------------------------------------------- S2, C2


@pytest.fixture(scope="module")
def model_with_prototypes(small_model, textures):
    protos, sources = imprint_prototypes(small_model, textures, n_per_size=4, sizes=(4, 8, 12),
                                         rng=3)
    return small_model.with_prototypes(protos, beta=2.0), protos, sources


def test_s2_at_prototype_source_responds_one(model_with_prototypes, textures):
    model, protos, sources = model_with_prototypes
    s2 = model.responses(textures, "S2")
    n_k = sum(len(p) for p in protos)
    assert s2.shape[1] == 8 * n_k
    assert s2.max() <= 1.0
    for k in range(len(sources)):
        row = sources.row(k)
        value = s2[row["image"], row["band"] * n_k + k, row["row"], row["col"]]
        assert value == pytest.approx(1.0, abs=1e-4)
    c2 = model.responses(textures, "C2")
    assert c2.shape == (4, n_k)
    np.testing.assert_allclose(c2[sources["image"], np.arange(n_k)], 1.0, atol=1e-4)


def test_s2_matches_direct_distance(model_with_prototypes, textures):
    model, protos, _ = model_with_prototypes
    c1 = model.responses(textures[:1], "C1")[0].reshape(8, 4, 15, 15)
    s2 = model.responses(textures[:1], "S2")[0].reshape(8, -1, 15, 15)
    valid = model.valid_mask("S2").reshape(8, -1, 15, 15)
    k, n = 5, protos[1].shape[-1]  # second group: size 8
    p = protos[1][1]
    for band in (0, 1):
        for r, c in zip(*np.nonzero(valid[band, k]), strict=True):
            patch = c1[band, :, r - n // 2:r - n // 2 + n, c - n // 2:c - n // 2 + n]
            want = np.exp(-2.0 * np.sum((patch.astype(np.float64) - p) ** 2))
            assert s2[band, k, r, c] == pytest.approx(want, rel=1e-3, abs=1e-6)


def test_c2_invariant_to_whole_content_shifts_by_pooling_steps():
    # one band: shifts by multiples of ΔS = 4 px move C1 by whole cells, so C2 is exact
    display = Display((96, 96), pixels_per_degree=32)
    stages = [("S1", S1Stage(sizes=(7, 9))), ("C1", C1Stage(pool_sizes=(8,), pool_steps=(4,)))]
    base = HMAX(display, stages=stages)
    rng = np.random.default_rng(5)
    img = np.zeros((2, 96, 96), np.float32)
    img[:, 36:60, 36:60] = rng.uniform(-1, 1, (2, 24, 24))
    protos, _ = imprint_prototypes(base, img, n_per_size=6, sizes=(3, 5), rng=0)
    model = HMAX(display, stages=stages + [("S2", S2Stage(protos)), ("C2", C2Stage())])
    c2 = model.responses(img, "C2")
    for dx, dy in [(8, 0), (0, -12), (-16, 8)]:
        moved = translate(img, display, shift=(dx / 32, dy / 32))
        np.testing.assert_allclose(model.responses(moved, "C2"), c2, atol=1e-5)


def test_c2_tolerates_arbitrary_shifts_far_more_than_c1(model_with_prototypes):
    model, _, _ = model_with_prototypes
    display = model.display
    rng = np.random.default_rng(6)
    img = np.zeros((3, 64, 64), np.float32)
    img[:, 20:44, 20:44] = rng.uniform(-1, 1, (3, 24, 24))
    moved = translate(img, display, shift=(3 / 32, -5 / 32))
    c1_change = _rel_change(model.responses(img, "C1"), model.responses(moved, "C1"))
    c2_change = _rel_change(model.responses(img, "C2"), model.responses(moved, "C2"))
    assert c2_change < 0.2
    assert c2_change < 0.5 * c1_change


def test_unit_info_lengths_and_receptive_fields(model_with_prototypes):
    model, protos, _ = model_with_prototypes
    n_channels = {"S1": 64, "C1": 32, "S2": 8 * 12, "C2": 12}
    for layer, n in n_channels.items():
        info = model.unit_info(layer)
        assert all(len(v) == n for v in info.values()), layer
    s1, c1, s2 = (model.unit_info(name) for name in ("S1", "C1", "S2"))
    ppd = model.display.pixels_per_degree
    np.testing.assert_allclose(s1["rf_size"][::4] * ppd, [r[0] for r in TABLE_1])
    np.testing.assert_array_equal(s1["band"][::8], np.arange(8))
    np.testing.assert_allclose(s1["sf"][::4], ppd / S1Stage().wavelengths)
    # C1 band b: N − 1 + the larger filter; S2 adds (n − 1) pooling steps
    np.testing.assert_allclose(c1["rf_size"][::4] * ppd,
                               [n - 1 + r[0] for (n, _), r in zip(TABLE_1_POOLING, TABLE_1[1::2],
                                                                  strict=True)])
    assert np.all(np.diff(c1["rf_size"][::4]) > 0)
    band0 = s2["band"] == 0
    np.testing.assert_allclose(s2["rf_size"][band0],
                               (s2["prototype_size"][band0] - 1) * 4 / ppd + c1["rf_size"][0])
    assert model.unit_info("C2")["prototype_size"].tolist() == [4] * 4 + [8] * 4 + [12] * 4


def test_save_and_load_roundtrip(model_with_prototypes, textures, tmp_path):
    model, _, _ = model_with_prototypes
    path = tmp_path / "hmax.npz"
    model.save(path)
    loaded = HMAX.load(path)
    assert loaded.layers == model.layers
    np.testing.assert_array_equal(loaded.responses(textures, "C2"), model.responses(textures, "C2"))
    with np.load(path, allow_pickle=False) as data:  # readable without pickle
        assert "S2/prototypes/0" in data.files


def test_save_load_keeps_grid_and_mean_and_reads_version_1(tmp_path, textures):
    from stimuli._shared.io import load_npz, save_npz

    model = HMAX(Display((64, 64), 32), s1={"mean_luminance": 0.5}, c1={"grid": "serre"})
    model.save(tmp_path / "m.npz")
    back = HMAX.load(tmp_path / "m.npz")
    assert back.stages[0][1].mean_luminance == 0.5 and back.stages[1][1].grid == "serre"
    np.testing.assert_array_equal(back.responses(textures, "C1"), model.responses(textures, "C1"))
    # a version-1 file (contrast-energy normalisation) keeps computing what it computed
    arrays, meta = load_npz(tmp_path / "m.npz", "hmax")
    meta["version"] = 1
    for entry in meta["stages"]:
        entry["params"].pop("mean_luminance", None)
        entry["params"].pop("grid", None)
    save_npz(tmp_path / "old.npz", arrays, meta)
    old = HMAX.load(tmp_path / "old.npz")
    assert old.stages[0][1].mean_luminance == 0.0 and old.stages[1][1].grid == "centred"


def test_stack_composes_to_s3_c3(model_with_prototypes, textures):
    model, protos, _ = model_with_prototypes
    stages = list(model.stages[:2]) + [("S2", S2Stage(protos[0])),  # the four 4 × 4 prototypes
                                       ("C2", C2Stage(pool_size=3, pool_step=2))]
    partial = HMAX(model.display, stages=stages)
    p3, _ = imprint_prototypes(partial, textures, n_per_size=3, sizes=(2,), layer="C2", rng=0)
    assert p3[0].shape == (3, 4, 2, 2)  # features of S3 prototypes = S2 prototypes
    full = HMAX(model.display, stages=stages + [("S3", S2Stage(p3)), ("C3", C2Stage())])
    assert full.layers == ("S1", "C1", "S2", "C2", "S3", "C3")
    c3 = full.responses(textures, "C3")
    assert c3.shape == (4, 3) and np.all((c3 > 0) & (c3 <= 1))
    assert full.responses(textures, "S3").shape[1] == 8 * 3
    assert len(full.unit_info("S3")["rf_size"]) == 8 * 3


def test_classification_far_above_chance_on_shapes():
    from stimuli.datasets import shapes_dataset

    ds = shapes_dataset(36, size=64, classes=("disk", "square", "cross", "bar"), noise=0.05,
                        rng=0)
    model = HMAX(Display((64, 64), pixels_per_degree=32))
    protos, _ = imprint_prototypes(model, ds.x_train[:40], n_per_size=15, sizes=(4, 8), rng=0)
    model = model.with_prototypes(protos)
    train = -np.log(model.responses(ds.x_train, "C2"))  # monotone: min distance · β
    test = -np.log(model.responses(ds.x_test, "C2"))
    result = evaluate(fit_linear_classifier(train, ds.y_train, l2=1e-2), test, ds.y_test)
    assert result.chance == pytest.approx(0.25)
    assert result.ci_low > 0.5, result


# ----------------------------------------------------------------------------- errors


def _bad_model_calls():
    display = Display((64, 64), pixels_per_degree=32)
    good = np.zeros((1, 64, 64), np.float32)
    nan = good.copy()
    nan[0, 3, 3] = np.nan
    return [
        ("small", lambda: HMAX(Display((32, 32), 32)).responses(np.zeros((1, 32, 32)), "S1"),
         ValueError, "smaller than the largest S1 filter"),
        ("nan", lambda: HMAX(display).responses(nan, "C1"), ValueError, "stimuli must be finite"),
        ("2d", lambda: HMAX(display).responses(good[0], "C1"), ValueError, r"\(n, rows, cols\)"),
        ("display", lambda: HMAX(display).responses(np.zeros((1, 64, 65)), "C1"), ValueError,
         "match the display"),
        ("unknown-s1", lambda: HMAX(display, s1={"bogus": 1}), ValueError,
         "unknown S1 parameter.*'bogus'"),
        ("unknown-c1", lambda: HMAX(display, c1={"pool_size": 3}), ValueError,
         "unknown C1 parameter.*'pool_size'.*pool_sizes"),
        ("layer", lambda: HMAX(display).responses(good, "V4"), ValueError, "layer must be one of"),
        ("no-prototypes", lambda: HMAX(display).responses(good, "C2"), ValueError,
         "no prototypes"),
        ("features", lambda: HMAX(display, prototypes=np.zeros((2, 3, 4, 4))).responses(good, "S2"),
         ValueError, "3 features but the input has 4"),
        ("beta", lambda: S2Stage(np.zeros((1, 4, 2, 2)), beta=0.0), ValueError,
         "beta must be positive"),
        ("proto-nan", lambda: S2Stage(np.full((1, 4, 2, 2), np.nan)), ValueError,
         "prototypes.*finite"),
        ("even-size", lambda: S1Stage(sizes=(8,)), ValueError, "sizes must be odd"),
        ("huge-size", lambda: serre_gabor_parameters((7, 167)), ValueError,
         r"sizes\[1\] must be < 167"),
        ("mean", lambda: S1Stage(mean_luminance=-1.0), ValueError, "mean_luminance"),
        ("grid", lambda: C1Stage(grid="middle"), ValueError, "grid must be one of"),
        ("lengths", lambda: C1Stage(pool_sizes=(8, 10), pool_steps=(4,)), ValueError,
         "same length"),
        ("c2-half", lambda: C2Stage(pool_size=3), ValueError, "both pool_size and pool_step"),
        ("conflict", lambda: HMAX(display, stages=[("S1", S1Stage())], beta=5.0), ValueError,
         "either stages"),
        ("first-stage", lambda: HMAX(display, stages=[("C1", C1Stage())]), ValueError,
         "first stage"),
        ("bands", lambda: HMAX(display, stages=[("S1", S1Stage()),
                                                ("C1", C1Stage(pool_sizes=(8,), pool_steps=(4,)))]
                               ).responses(good, "C1"), ValueError, "needs 2 input bands"),
        ("window", lambda: HMAX(display, c1={"pool_sizes": (80,) * 8}).responses(good, "C1"),
         ValueError, "no pooling window fits"),
        ("prototype-too-big", lambda: HMAX(display, prototypes=np.zeros((1, 4, 40, 40))
                                           ).responses(good, "C2"), ValueError,
         "no valid position"),
    ]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in _bad_model_calls()],
                         ids=[c[0] for c in _bad_model_calls()])
def test_bad_input_raises_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_load_rejects_foreign_files(tmp_path):
    from stimuli._shared.io import save_npz

    path = tmp_path / "other.npz"
    save_npz(path, {"a": np.zeros(2)}, {"kind": "recording"})
    with pytest.raises(ValueError, match="not a 'hmax'"):
        HMAX.load(path)
    save_npz(path, {}, {"kind": "hmax", "display": {"shape": [64, 64], "pixels_per_degree": 32,
                                                    "frame_rate": 60},
                        "stages": [{"name": "S1", "type": "S1Stage", "params": {"bogus": 1}}]})
    with pytest.raises(ValueError, match="unknown S1Stage parameter"):
        HMAX.load(path)


def test_prototypes_file_roundtrip(model_with_prototypes, tmp_path):
    from v1model.hmax import load_prototypes, save_prototypes

    _, protos, sources = model_with_prototypes
    path = tmp_path / "protos.npz"
    save_prototypes(path, protos, sources)
    loaded, src = load_prototypes(path)
    assert len(loaded) == len(protos)
    for a, b in zip(loaded, protos, strict=True):
        np.testing.assert_array_equal(a, b)
    assert src.names == sources.names
    np.testing.assert_array_equal(src["band"], sources["band"])
    model_with_prototypes[0].save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="not a 'hmax-prototypes'"):
        load_prototypes(tmp_path / "model.npz")


@pytest.mark.parametrize(("rows", "cols"), [
    (np.arange(20, 30), np.arange(0, 12)),          # a block at the left edge
    ([-3, -2, -1], [40, 41]),                        # a block in the corner, negative rows
    ([5], [33]),                                     # one pixel as a grid
    ([0, 10, 47], [2, 3, 30]),                       # not a block: the FFT / patch routes
])
def test_s1_at_on_a_grid_equals_the_full_maps(textures, rows, cols):
    s1 = S1Stage(sizes=(7, 9, 17, 37), orientations=(0, 45, 90, 135))
    x = np.ascontiguousarray(textures[:, :48, :48])
    full = s1(x)
    got = s1.at(x, rows, cols, grid=True)
    expected = full[:, :, :, np.asarray(rows)][:, :, :, :, np.asarray(cols)]
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5 * float(np.abs(full).max()), rtol=0)
    assert float(np.abs(expected).max()) > 0.01
