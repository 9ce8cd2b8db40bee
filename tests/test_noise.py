"""Properties of the white, sparse and pink noise generators."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import truncnorm

from stimuli.display import Display
from stimuli.noise import pink_noise, sparse_noise, white_noise

FAST = settings(max_examples=25, deadline=None)


# ------------------------------------------------------------------------- white noise
@pytest.mark.parametrize("kind", ["gaussian", "binary"])
@pytest.mark.parametrize("contrast", [0.3, 1.0])
def test_white_noise_shape_dtype_and_range(kind, contrast):
    images = white_noise(Display((20, 30), 8.0), 5, kind=kind, contrast=contrast, rng=0)
    assert images.shape == (5, 20, 30) and images.dtype == np.float32
    assert np.abs(images).max() <= np.float32(contrast)


def test_binary_white_noise_values_and_balance():
    images = white_noise(Display((64, 64), 8.0), 10, kind="binary", contrast=0.4, rng=1)
    assert sorted(np.unique(images).tolist()) == pytest.approx([-0.4, 0.4])
    n = images.size
    # Fraction of light checks within 5 binomial standard deviations of 1/2.
    assert np.mean(images > 0) == pytest.approx(0.5, abs=5 * math.sqrt(0.25 / n))


@pytest.mark.parametrize("truncation", [1.0, 3.0, 5.0])
def test_gaussian_white_noise_is_a_truncated_normal_not_clipped(truncation):
    contrast = 0.9
    images = white_noise(Display((64, 64), 8.0), 12, contrast=contrast, truncation=truncation,
                         rng=2)
    values = images.astype(np.float64).ravel()
    sd = contrast / truncation * truncnorm.std(-truncation, truncation)
    assert values.std() == pytest.approx(sd, rel=0.02)
    assert abs(values.mean()) <= 5 * sd / math.sqrt(values.size)
    assert np.abs(values).max() <= contrast
    # Clipping would pile values up on the bound; a truncated density puts none there.
    assert np.count_nonzero(np.abs(values) >= np.float32(contrast)) == 0
    # Kolmogorov distance to the truncated normal is small.
    sorted_z = np.sort(values) * truncation / contrast
    cdf = truncnorm.cdf(sorted_z, -truncation, truncation)
    empirical = np.arange(1, len(cdf) + 1) / len(cdf)
    assert np.abs(cdf - empirical).max() < 0.01


@pytest.mark.parametrize("kind", ["gaussian", "binary"])
def test_white_noise_checks_are_whole_pixel_blocks(kind):
    display = Display((10, 13), 4.0)  # check_size 0.5 deg = 2 px; partial checks at edges
    images = white_noise(display, 3, kind=kind, check_size=0.5, rng=3)
    blocks = images[:, :10, :12].reshape(3, 5, 2, 6, 2)
    assert np.all(blocks == blocks[:, :, :1, :, :1])
    last = images[:, :, 12]  # a partial check one pixel wide
    np.testing.assert_array_equal(last[:, 0::2], last[:, 1::2])
    assert np.any(images[:, :, 0] != images[:, :, 2])


# -------------------------------------------------------------------------- sparse noise
@FAST
@given(density=st.floats(0.05, 1.0), contrast=st.floats(0.1, 1.0), seed=st.integers(0, 2**32))
def test_sparse_noise_has_requested_density_and_polarity_balance(density, contrast, seed):
    display = Display((64, 64), 8.0)
    images, squares = sparse_noise(display, 40, square_size=0.5, density=density,
                                   contrast=contrast, rng=seed)
    n_grid = 40 * 16 * 16
    sd = math.sqrt(density * (1 - density) / n_grid)
    assert len(squares) / n_grid == pytest.approx(density, abs=5 * sd + 1e-12)
    on = np.count_nonzero(squares["polarity"] == 1)
    assert on / len(squares) == pytest.approx(0.5, abs=5 * math.sqrt(0.25 / len(squares)))
    assert set(np.unique(images).tolist()) <= {-np.float32(contrast), 0.0, np.float32(contrast)}


def test_sparse_noise_table_matches_images():
    display = Display((30, 44), 4.0)  # 0.75 deg = 3 px squares, 10 x 14 grid, 1 px margins
    images, squares = sparse_noise(display, 6, square_size=0.75, density=0.2, contrast=0.5,
                                   rng=4)
    assert squares.names == ("image", "x", "y", "polarity")
    assert np.count_nonzero(images) == 9 * len(squares)
    rebuilt = np.zeros_like(images)
    for i in range(len(squares)):
        row = squares.row(i)
        r, c = display.position_to_pixel(row["x"], row["y"])
        assert r == int(r) and c == int(c)  # odd-sized squares centre on a pixel
        rebuilt[row["image"], int(r) - 1:int(r) + 2, int(c) - 1:int(c) + 2] = 0.5 * row["polarity"]
    np.testing.assert_array_equal(rebuilt, images)
    assert np.all(np.diff(squares["image"]) >= 0)


def test_sparse_noise_grid_is_centred():
    display = Display((34, 34), 4.0)  # 8 x 8 grid of 4 px squares, 1 px margin each side
    _, squares = sparse_noise(display, 1, square_size=1.0, density=1.0, rng=5)
    assert len(squares) == 64
    assert np.mean(squares["x"]) == pytest.approx(0.0) and np.mean(squares["y"]) == 0.0
    assert sorted(set(np.round(squares["x"], 9))) == pytest.approx(np.arange(-3.5, 4, 1.0))


# ---------------------------------------------------------------------------- pink noise
def radial_slope(images: np.ndarray, ppd: float) -> float:
    """Slope of log power against log spatial frequency, radially averaged."""
    rows, cols = images.shape[1:]
    power = np.mean(np.abs(np.fft.fft2(images)) ** 2, axis=0)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(cols), np.fft.fftfreq(rows))) * ppd
    edges = np.geomspace(2 * ppd / rows, 0.4 * ppd, 12)
    centres, means = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        ring = (f >= lo) & (f < hi)
        centres.append(np.exp(np.mean(np.log(f[ring]))))
        means.append(np.mean(power[ring]))
    return float(np.polyfit(np.log(centres), np.log(means), 1)[0])


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0], ids=["white", "pink", "brown"])
def test_pink_noise_power_spectrum_slope(exponent):
    images = pink_noise(Display((128, 128), 16.0), 8, exponent=exponent, rng=6)
    assert radial_slope(images.astype(np.float64), 16.0) == pytest.approx(-2 * exponent,
                                                                          abs=0.15)


@pytest.mark.parametrize("contrast", [0.0, 0.25, 1.0])
def test_pink_noise_peak_contrast_and_zero_mean(contrast):
    images = pink_noise(Display((31, 40), 8.0), 4, contrast=contrast, rng=7)
    assert images.dtype == np.float32 and images.shape == (4, 31, 40)
    np.testing.assert_allclose(np.abs(images).max(axis=(1, 2)), contrast, rtol=1e-6)
    np.testing.assert_allclose(images.mean(axis=(1, 2), dtype=np.float64), 0.0, atol=1e-6)


# ------------------------------------------------------------------------ reproducibility
CALLS = {
    "white-gaussian": lambda d, rng: white_noise(d, 3, rng=rng),
    "white-binary": lambda d, rng: white_noise(d, 3, kind="binary", check_size=0.25, rng=rng),
    "sparse": lambda d, rng: sparse_noise(d, 3, square_size=0.5, density=0.3, rng=rng)[0],
    "pink": lambda d, rng: pink_noise(d, 3, exponent=1.5, rng=rng),
}


@pytest.mark.parametrize("make", CALLS.values(), ids=CALLS.keys())
def test_same_rng_gives_identical_arrays(make):
    display = Display((16, 24), 8.0)
    first = make(display, 42)
    np.testing.assert_array_equal(first, make(display, 42))
    np.testing.assert_array_equal(first, make(display, np.random.default_rng(42)))
    assert not np.array_equal(first, make(display, 43))


def test_sparse_noise_table_is_reproducible():
    display = Display((16, 16), 8.0)
    _, a = sparse_noise(display, 4, square_size=0.5, density=0.3, rng=9)
    _, b = sparse_noise(display, 4, square_size=0.5, density=0.3, rng=9)
    for name in a.names:
        np.testing.assert_array_equal(a[name], b[name])


def test_generator_state_advances():
    rng = np.random.default_rng(0)
    display = Display((8, 8), 8.0)
    assert not np.array_equal(white_noise(display, 1, rng=rng), white_noise(display, 1, rng=rng))


# ------------------------------------------------------------------------- bad arguments
D = Display((32, 32), 16.0)

BAD = [
    (white_noise, {"n": 0}, ValueError, "n must be >= 1"),
    (white_noise, {"n": 2.0}, TypeError, "n must be an integer"),
    (white_noise, {"n": True}, TypeError, "n must be an integer"),
    (white_noise, {"kind": "uniform"}, ValueError, "kind must be one of"),
    (white_noise, {"contrast": 1.2}, ValueError, r"contrast must be in \[0.0, 1.0\]"),
    (white_noise, {"contrast": math.nan}, ValueError, "contrast must be finite"),
    (white_noise, {"check_size": 0.1}, ValueError, "check_size must be a whole number of pixels"),
    (white_noise, {"check_size": 0.0}, ValueError, "check_size must be positive"),
    (white_noise, {"check_size": math.inf}, ValueError, "check_size must be finite"),
    (white_noise, {"kind": "binary", "truncation": 3.0}, ValueError, "truncation applies"),
    (white_noise, {"truncation": 0.5}, ValueError, r"truncation must be in \[1.0, 8.0\]"),
    (white_noise, {"truncation": 10.0}, ValueError, r"truncation must be in \[1.0, 8.0\]"),
    (white_noise, {"rng": "seed"}, TypeError, "rng must be None, an int seed"),
    (sparse_noise, {"n": -1}, ValueError, "n must be >= 1"),
    (sparse_noise, {"square_size": 0.3}, ValueError, "square_size must be a whole number"),
    (sparse_noise, {"square_size": -1.0}, ValueError, "square_size must be positive"),
    (sparse_noise, {"square_size": 4.0}, ValueError, "square_size must fit on the display"),
    (sparse_noise, {"density": 0.0}, ValueError, r"density must be in \(0.0, 1.0\]"),
    (sparse_noise, {"density": 1.5}, ValueError, r"density must be in \(0.0, 1.0\]"),
    (sparse_noise, {"density": math.nan}, ValueError, "density must be finite"),
    (sparse_noise, {"contrast": -0.5}, ValueError, "contrast must be in"),
    (pink_noise, {"n": 1.5}, TypeError, "n must be an integer"),
    (pink_noise, {"exponent": math.nan}, ValueError, "exponent must be finite"),
    (pink_noise, {"exponent": "pink"}, TypeError, "exponent must be a real number"),
    (pink_noise, {"contrast": 2.0}, ValueError, "contrast must be in"),
    (pink_noise, {"display": Display((1, 1), 1.0)}, ValueError, "at least 2 pixels"),
]


def _case_id(func, kwargs) -> str:
    return f"{func.__name__}-{'-'.join(f'{k}={v!r}' for k, v in kwargs.items())}"


@pytest.mark.parametrize(("func", "kwargs", "error", "match"), BAD,
                         ids=[_case_id(f, kw) for f, kw, _, _ in BAD])
def test_bad_arguments_name_the_parameter(func, kwargs, error, match):
    kwargs = {"display": D, "n": 2, **kwargs}
    display, n = kwargs.pop("display"), kwargs.pop("n")
    with pytest.raises(error, match=match):
        func(display, n, **kwargs)


@pytest.mark.parametrize("func", [white_noise, sparse_noise, pink_noise],
                         ids=lambda f: f.__name__)
def test_display_must_be_a_display(func):
    with pytest.raises(TypeError, match="display must be a stimuli.display.Display"):
        func((32, 32), 2)
