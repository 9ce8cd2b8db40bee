"""Natural images: offline loading, contrast units, patches and whitening."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stimuli.display import Display
from stimuli.natural import (
    PATCH_SOURCES,
    natural_image,
    natural_image_names,
    random_patches,
    whiten,
)

EXPECTED_NAMES = (
    "camera",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "coins",
    "moon",
    "horse",
    "brick",
    "grass",
    "gravel",
    "clock",
    "hubble_deep_field",
    "retina",
    "cat",
    "text",
    "page",
    "cell",
)


def spectral_slope(image, low=0.02, high=0.15):
    """Slope of log radially-averaged amplitude vs log frequency (cycles/pixel), Hann-windowed."""
    rows, cols = image.shape
    window = np.outer(np.hanning(rows), np.hanning(cols))
    amplitude = np.abs(np.fft.fft2((image - image.mean()) * window)).ravel()
    f = np.hypot(np.fft.fftfreq(rows)[:, None], np.fft.fftfreq(cols)[None, :]).ravel()
    edges = np.geomspace(low, high, 12)
    which = np.digitize(f, edges)
    centres = [f[which == k].mean() for k in range(1, len(edges))]
    means = [amplitude[which == k].mean() for k in range(1, len(edges))]
    return np.polyfit(np.log(centres), np.log(means), 1)[0]


def pink_noise(n, rng):
    """An n x n image whose amplitude spectrum is exactly 1/f (random phases)."""
    f = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.fftfreq(n)[None, :])
    f[0, 0] = 1.0
    spectrum = np.exp(2j * np.pi * rng.random((n, n))) / f
    spectrum[0, 0] = 0.0
    image = np.real(np.fft.ifft2(spectrum))
    return image / np.abs(image).max()


# --------------------------------------------------------------------------- images


def test_names_are_the_explicit_list():
    assert natural_image_names() == EXPECTED_NAMES
    assert set(PATCH_SOURCES) <= set(EXPECTED_NAMES)


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_every_image_loads_offline_in_contrast_units(name):
    img = natural_image(name)
    assert img.ndim == 2 and img.dtype == np.float32 and min(img.shape) >= 100
    assert np.all(np.isfinite(img))
    assert np.abs(img).max() == 1.0, "peak excursion reaches exactly -1 or +1, nothing clipped"
    assert abs(float(img.mean(dtype=np.float64))) < 1e-6, "mean grey is 0"


@pytest.mark.parametrize("name", ["astronaut", "moon", "horse"])
def test_linear_luminance_is_also_in_range_and_differs(name):
    lin = natural_image(name, linear=True)
    assert np.abs(lin).max() == 1.0 and abs(float(lin.mean(dtype=np.float64))) < 1e-6
    if name != "horse":  # a binary image is unchanged by the transfer curve
        assert not np.allclose(lin, natural_image(name), atol=1e-3)
    else:
        np.testing.assert_array_equal(lin, natural_image(name))


def test_colour_image_is_luma_of_rgb():
    import skimage.data

    rgb = skimage.data.astronaut().astype(np.float64) / 255
    grey = rgb @ np.array([0.2125, 0.7154, 0.0721])
    grey -= grey.mean()
    np.testing.assert_allclose(natural_image("astronaut"), grey / np.abs(grey).max(), atol=1e-6)


def test_cached_image_is_returned_as_a_copy():
    first = natural_image("coins")
    first[:] = 5.0
    again = natural_image("coins")
    assert np.abs(again).max() == 1.0 and again.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "lena"}, ValueError, "name must be one of camera, astronaut"),
        ({"name": 3}, ValueError, "name must be one of"),
        ({"name": "camera", "linear": "yes"}, TypeError, "linear"),
    ],
    ids=["unknown", "not-a-string", "linear-not-bool"],
)
def test_natural_image_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        natural_image(**kwargs)


# --------------------------------------------------------------------------- patches


def test_patches_shape_units_and_determinism():
    a = random_patches(50, (16, 24), rng=3)
    b = random_patches(50, (16, 24), rng=3)
    c = random_patches(50, (16, 24), rng=4)
    assert a.shape == (50, 16, 24) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_allclose(a.mean(axis=(1, 2)), 0.0, atol=1e-6)
    peaks = np.abs(a).max(axis=(1, 2))
    assert np.all((peaks == 1.0) | (peaks == 0.0)), "each patch re-normalised to peak 1"


def test_patches_accept_a_display_and_a_generator():
    d = Display((12, 10), pixels_per_degree=4)
    p = random_patches(4, d, names=["brick"], rng=np.random.default_rng(0))
    assert p.shape == (4, 12, 10)


def test_whole_image_patch_is_the_image():
    p = random_patches(1, (303, 384), names=("coins",), rng=0)
    img = natural_image("coins")
    expected = img - img.mean(dtype=np.float64)
    np.testing.assert_allclose(p[0], expected / np.abs(expected).max(), atol=1e-6)


def test_min_std_rejects_flat_patches():
    # horse is a binary silhouette: about half of its 16 x 16 patches are constant
    loose = random_patches(200, (16, 16), names=("horse",), rng=0)
    assert np.any(np.all(loose == 0, axis=(1, 2))), "flat patches stay all zero"
    strict = random_patches(200, (16, 16), names=("horse",), rng=0, min_std=0.1)
    assert not np.any(np.all(strict == 0, axis=(1, 2)))


def test_whitened_patches_in_range():
    p = random_patches(20, (32, 32), names=("grass", "brick"), rng=1, whiten=True)
    assert p.shape == (20, 32, 32) and np.all(np.abs(p) <= 1.0) and np.all(np.isfinite(p))
    assert not np.array_equal(p, random_patches(20, (32, 32), names=("grass", "brick"), rng=1))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5),
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_patches_property_contrast_units(n, rows, cols, seed):
    p = random_patches(n, (rows, cols), names=("camera", "gravel"), rng=seed)
    assert p.shape == (n, rows, cols) and p.dtype == np.float32
    assert np.all(np.abs(p) <= 1.0)
    np.testing.assert_allclose(p.mean(axis=(1, 2), dtype=np.float64), 0.0, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be >= 1"),
        ({"n": 2.0}, TypeError, "n must be an integer"),
        ({"shape": (0, 8)}, ValueError, r"shape\[0\] \(rows\)"),
        ({"shape": (8,)}, ValueError, "shape must be"),
        ({"shape": (600, 8)}, ValueError, "shape .* is larger than image"),
        ({"names": ("nope",)}, ValueError, "names entry must be one of"),
        ({"names": ("brick", "brick")}, ValueError, "names must not repeat"),
        ({"names": "brick"}, TypeError, "names must be a tuple or list"),
        ({"names": ()}, ValueError, "names must name at least one"),
        ({"rng": "seed"}, TypeError, "rng"),
        ({"min_std": -1.0}, ValueError, "min_std"),
        ({"min_std": 5.0}, ValueError, "min_std=5.0 is too high"),
        ({"whiten": 1}, TypeError, "whiten"),
    ],
    ids=[
        "n-zero",
        "n-float",
        "rows-zero",
        "shape-1d",
        "shape-too-big",
        "unknown-name",
        "repeated-name",
        "names-string",
        "names-empty",
        "rng-string",
        "min-std-negative",
        "min-std-unreachable",
        "whiten-int",
    ],
)
def test_random_patches_rejects_bad_input(kwargs, error, match):
    args = {"n": 2, "shape": (8, 8), "names": ("brick",), "rng": 0} | kwargs
    with pytest.raises(error, match=match):
        random_patches(args.pop("n"), args.pop("shape"), **args)


# --------------------------------------------------------------------------- whitening


def test_whitening_flattens_a_one_over_f_spectrum():
    pink = pink_noise(256, np.random.default_rng(0))
    before, after = spectral_slope(pink), spectral_slope(whiten(pink))
    assert before == pytest.approx(-1.0, abs=0.15)
    assert after == pytest.approx(0.0, abs=0.15)


@pytest.mark.parametrize("name", ["camera", "brick", "gravel"])
def test_whitening_natural_image_raises_slope_by_one(name):
    img = natural_image(name)
    before, after = spectral_slope(img), spectral_slope(whiten(img))
    assert -1.4 < before < -0.6, "natural images have roughly 1/f amplitude spectra"
    assert after - before == pytest.approx(1.0, abs=0.15)
    assert abs(after) < 0.35


def test_whiten_batch_equals_each_image_and_is_in_range():
    rng = np.random.default_rng(1)
    batch = rng.standard_normal((3, 20, 30))
    out = whiten(batch)
    assert out.shape == (3, 20, 30) and out.dtype == np.float32
    for i in range(3):
        np.testing.assert_allclose(out[i], whiten(batch[i]), atol=1e-6)
    np.testing.assert_allclose(np.abs(out).max(axis=(1, 2)), 1.0)
    np.testing.assert_allclose(out.mean(axis=(1, 2), dtype=np.float64), 0.0, atol=1e-6)


def test_whiten_constant_image_gives_zeros_not_nan():
    out = whiten(np.full((8, 8), 0.3))
    np.testing.assert_array_equal(out, 0.0)


def test_lower_cutoff_removes_more_high_frequencies():
    pink = pink_noise(128, np.random.default_rng(2))
    high = np.abs(np.fft.fft2(whiten(pink, cutoff=1.0)))[40:88, 40:88].mean()
    low = np.abs(np.fft.fft2(whiten(pink, cutoff=0.3)))[40:88, 40:88].mean()
    assert low < 0.1 * high


@pytest.mark.parametrize(
    ("images", "kwargs", "error", "match"),
    [
        (np.zeros(5), {}, ValueError, r"images must have shape \(rows, cols\) or"),
        (np.zeros((1, 2, 3, 4)), {}, ValueError, "images must have shape"),
        (np.full((4, 4), np.nan), {}, ValueError, "images must be finite"),
        (np.zeros((4, 4)), {"cutoff": 0.0}, ValueError, r"cutoff must be in \(0.0, 1.0\]"),
        (np.zeros((4, 4)), {"cutoff": 1.5}, ValueError, "cutoff"),
        (np.array([["a"]]), {}, TypeError, "images must be a numeric array"),
    ],
    ids=["1d", "4d", "nan", "cutoff-0", "cutoff-big", "strings"],
)
def test_whiten_rejects_bad_input(images, kwargs, error, match):
    with pytest.raises(error, match=match):
        whiten(images, **kwargs)
