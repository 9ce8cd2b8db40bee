import numpy as np
import pytest
from scipy.signal import correlate

from v1model._fft import FourierFilters


@pytest.mark.parametrize("kshape", [(7, 7), (6, 9)], ids=["odd", "even-odd"])
def test_matches_direct_correlation(kshape):
    rng = np.random.default_rng(1)
    kernels = rng.normal(size=(3, *kshape))
    images = rng.normal(size=(2, 20, 23))
    out = FourierFilters(kernels, dtype=np.float64)(images)
    expected = np.stack([[correlate(im, k, mode="same") for k in kernels] for im in images])
    np.testing.assert_allclose(out, expected, atol=1e-10)


def test_float32_chunking_and_cache():
    rng = np.random.default_rng(2)
    f = FourierFilters(rng.normal(size=(4, 5, 5)), max_batch_bytes=1)
    images = rng.normal(size=(3, 16, 16)).astype(np.float32)
    out = f(images)
    assert out.dtype == np.float32 and out.shape == (3, 4, 16, 16)
    np.testing.assert_allclose(out[1:2], f(images[1:2]), atol=1e-5)
    assert list(f._spectra) == [(16, 16)]


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((8, 8)), r"images must have shape \(n, rows, cols\)"),
        (np.full((1, 8, 8), np.nan), "images must be finite"),
        (np.zeros((0, 8, 8)), "images must not be empty"),
    ],
    ids=["2d", "nan", "empty"],
)
def test_rejects_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        FourierFilters(np.ones((1, 3, 3)))(images)


@pytest.mark.parametrize("route", ["direct", "fft"])
@pytest.mark.parametrize("kshape", [(7, 7), (6, 9), (41, 41)], ids=["odd", "even-odd", "wide"])
def test_at_equals_full_maps_read_at_the_pixels(monkeypatch, route, kshape):
    # both routes (forced) give the full maps at the chosen pixels, edges included
    import v1model._fft as fft_module

    monkeypatch.setattr(fft_module, "_DIRECT_ADVANTAGE", np.inf if route == "direct" else 0.0)
    rng = np.random.default_rng(3)
    f = FourierFilters(rng.normal(size=(3, *kshape)), dtype=np.float64, max_batch_bytes=4096)
    images = rng.normal(size=(5, 20, 23))
    full = f(images)
    rows, cols = [0, 10, 19], [-1, 0, 7, 22]
    np.testing.assert_allclose(f.at(images, rows, cols), full[:, :, rows][:, :, :, cols],
                               atol=1e-10)
    pairs = f.at(images, [0, 19, 5], [22, 0, 5], grid=False)
    np.testing.assert_allclose(pairs, full[:, :, [0, 19, 5], [22, 0, 5]], atol=1e-10)


def test_at_picks_direct_dot_products_for_few_positions(monkeypatch):
    # the direct route never calls the FFT path
    f = FourierFilters(np.ones((2, 5, 5)))
    monkeypatch.setattr(FourierFilters, "__call__", lambda *a, **k: pytest.fail("FFT used"))
    assert f.at(np.ones((1, 64, 64)), [32], [32]).shape == (1, 2, 1, 1)


@pytest.mark.parametrize(
    ("rows", "cols", "grid", "error", "match"),
    [
        ([0, 1], [0], False, ValueError, "rows and cols must have equal lengths"),
        ([], [0], True, ValueError, "rows selects no image rows"),
        ([0], [8], True, IndexError, "cols value 8 is out of range for 8 image columns"),
    ],
    ids=["unequal-pairs", "empty", "out-of-range"],
)
def test_at_rejects_bad_positions(rows, cols, grid, error, match):
    with pytest.raises(error, match=match):
        FourierFilters(np.ones((1, 3, 3))).at(np.zeros((1, 8, 8)), rows, cols, grid=grid)
