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


# every route of FourierFilters.at against the float64 full FFT maps, edges included
ROUTE_CASES = [
    # (kernel shape, image shape, rows, cols)
    ((7, 7), (20, 23), np.arange(0, 20, 3), np.arange(1, 23, 4)),      # strided from 0 / 1
    ((6, 9), (21, 18), np.arange(2, 21, 2), np.arange(0, 18, 5)),      # even kernel side
    ((41, 41), (20, 23), np.arange(0, 20, 4), np.arange(0, 23, 4)),    # kernel > image
    ((5, 5), (16, 16), np.arange(16), np.arange(16)),                  # step 1: every pixel
    ((9, 9), (17, 19), np.array([16]), np.arange(0, 19, 6)),           # one row: last one
]


@pytest.mark.parametrize("method", ["patches", "image", "strided", "fft"])
@pytest.mark.parametrize(("kshape", "ishape", "rows", "cols"), ROUTE_CASES,
                         ids=["odd", "even-odd", "wide", "every-pixel", "last-row"])
def test_every_route_equals_full_maps_float64(method, kshape, ishape, rows, cols):
    rng = np.random.default_rng(5)
    f = FourierFilters(rng.normal(size=(4, *kshape)), dtype=np.float64, max_batch_bytes=20000)
    images = rng.normal(size=(5, *ishape))
    expected = f(images)[:, :, rows][:, :, :, cols]
    np.testing.assert_allclose(f.at(images, rows, cols, method=method), expected, atol=1e-10)


@pytest.mark.parametrize("method", ["patches", "image", "strided", "fft"])
def test_every_route_float32_within_documented_tolerance(method):
    # float32 BLAS products / FFTs agree with the float64 maps to 1e-5 of the largest response
    rng = np.random.default_rng(6)
    kernels = rng.normal(size=(6, 25, 25))
    images = rng.uniform(-1, 1, size=(7, 32, 30))
    rows, cols = np.arange(1, 32, 4), np.arange(0, 30, 4)
    exact = FourierFilters(kernels, dtype=np.float64)(images)[:, :, rows][:, :, :, cols]
    got = FourierFilters(kernels).at(images, rows, cols, method=method)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, atol=1e-5 * np.abs(exact).max())


@pytest.mark.parametrize("method", ["patches", "image", "fft"])
def test_pairs_every_route(method):
    rng = np.random.default_rng(7)
    f = FourierFilters(rng.normal(size=(3, 11, 11)), dtype=np.float64)
    images = rng.normal(size=(4, 12, 15))
    r, c = [0, 11, 5, 5], [14, 0, 7, 7]
    np.testing.assert_allclose(f.at(images, r, c, grid=False, method=method),
                               f(images)[:, :, r, c], atol=1e-10)


def test_strided_route_costs_a_fraction_of_full_maps():
    # stride 4 on 128-px images: the decimated route must beat full maps read at 1/16 pixels
    import time

    rng = np.random.default_rng(8)
    f = FourierFilters(rng.normal(size=(32, 31, 31)))
    images = rng.normal(size=(16, 128, 128)).astype(np.float32)
    idx = np.arange(0, 128, 4)
    times = {}
    for method in ("strided", "fft"):
        f.at(images[:1], idx, idx, method=method)                   # fill the caches
        t0 = time.perf_counter()
        for _ in range(3):
            f.at(images, idx, idx, method=method)
        times[method] = time.perf_counter() - t0
    assert times["strided"] < 0.7 * times["fft"], times


def test_auto_routes_and_caches():
    f = FourierFilters(np.ones((2, 5, 5)))
    assert f._choose(64, 64, 1, True, ((32, 1, 1), (32, 1, 1))) == "patches"
    big = FourierFilters(np.ones((2, 63, 63)))
    assert big._choose(16, 16, 1, True, ((8, 1, 1), (8, 1, 1))) == "image"
    wide = FourierFilters(np.ones((64, 31, 31)))
    assert wide._choose(128, 128, 32 * 32, True, ((0, 4, 32), (0, 4, 32))) == "strided"
    images = np.ones((2, 16, 16))
    f.at(images, [3, 4], [5, 6], method="patches")
    f.at(images, [3, 4], [5, 6], method="patches")
    assert len(f._cache) == 1                                       # index array built once


def test_strided_rejects_irregular_positions():
    f = FourierFilters(np.ones((1, 3, 3)))
    with pytest.raises(ValueError, match="method='strided' needs"):
        f.at(np.zeros((1, 8, 8)), [0, 1, 3], [0], method="strided")
    with pytest.raises(ValueError, match="method must be one of"):
        f.at(np.zeros((1, 8, 8)), [0], [0], method="bogus")


# contiguous blocks for the "block" route: interior, touching two edges, larger than the
# kernel-free image (kernel wider than the image), a single pixel, an even kernel
BLOCK_CASES = [
    ((7, 7), (20, 23), np.arange(5, 12), np.arange(8, 19)),
    ((9, 9), (17, 19), np.arange(10, 17), np.arange(0, 6)),
    ((41, 41), (20, 23), np.arange(0, 20), np.arange(3, 20)),
    ((5, 5), (16, 16), np.array([15]), np.array([0])),
    ((6, 9), (21, 18), np.arange(0, 4), np.arange(14, 18)),
]


@pytest.mark.parametrize(("kshape", "ishape", "rows", "cols"), BLOCK_CASES,
                         ids=["interior", "corner", "wide", "pixel", "even"])
def test_block_route_equals_full_maps(kshape, ishape, rows, cols):
    rng = np.random.default_rng(9)
    kernels = rng.normal(size=(4, *kshape))
    images = rng.normal(size=(5, *ishape))
    # float64 to round-off; chunks of one image (max_batch_bytes) give the same answer
    f = FourierFilters(kernels, dtype=np.float64, max_batch_bytes=20000)
    expected = f(images)[:, :, rows][:, :, :, cols]
    np.testing.assert_allclose(f.at(images, rows, cols, method="block"), expected, atol=1e-10)
    # float32 within the documented 1e-5 of the largest response
    got = FourierFilters(kernels).at(images, rows, cols, method="block")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max())


def test_block_route_rejects_positions_that_are_not_a_block():
    f = FourierFilters(np.ones((1, 3, 3)))
    for rows, cols, grid in (([0, 2], [0, 1], True), ([0, 1], [0, 1], False)):
        with pytest.raises(ValueError, match="method='block' needs"):
            f.at(np.zeros((1, 8, 8)), rows, cols, grid=grid, method="block")


def test_block_route_costs_what_the_block_costs():
    # a 12 x 12 block with 31-px kernels: a 45-point transform (42 padded), vs 158 for a
    # 128-px image
    f = FourierFilters(np.ones((2, 31, 31)))
    assert f.block_cost(12, 12) < 0.1 * f.block_cost(128, 128)
    assert f._block_shape(12, 12) == (45, 45)
