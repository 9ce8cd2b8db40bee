"""Geometric transforms: direction conventions, exactness, interpolation and borders."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stimuli.display import Display
from stimuli.transforms import rotate, scale, translate


def blob(display, x, y, sigma=1.0):
    """A Gaussian blob of peak 1 centred at (x, y) degrees."""
    gx, gy = display.coordinates()
    return np.exp(-((gx - x) ** 2 + (gy - y) ** 2) / (2 * sigma**2)).astype(np.float32)


def centroid(display, image):
    """Luminance-weighted centre (x, y) in degrees."""
    gx, gy = display.coordinates()
    w = image / image.sum()
    return float((gx * w).sum()), float((gy * w).sum())


def disk(n, radius, centre=None):
    r0, c0 = ((n - 1) / 2, (n - 1) / 2) if centre is None else centre
    r, c = np.mgrid[:n, :n]
    return (np.hypot(r - r0, c - c0) <= radius).astype(np.float32)


# --------------------------------------------------------------------------- translate


def test_whole_pixel_shift_is_exact_and_plus_dy_moves_up():
    d = Display((20, 30), pixels_per_degree=4)
    img = np.random.default_rng(0).uniform(-1, 1, (2, 20, 30)).astype(np.float32)
    out = translate(img, d, shift=(0.75, 0.5), order=3)  # 3 px right, 2 px up
    np.testing.assert_array_equal(out[:, :-2, 3:], img[:, 2:, :-3])
    np.testing.assert_array_equal(out[:, -2:, :], 0.0)  # uncovered rows are mean grey
    np.testing.assert_array_equal(out[:, :, :3], 0.0)


@pytest.mark.parametrize(
    ("shift", "moved"),
    [((0, 1), (0, 1)), ((1, 0), (1, 0)), ((-1, -1), (-1, -1))],
    ids=["up", "right", "down-left"],
)
def test_translate_direction(shift, moved):
    d = Display((21, 21), pixels_per_degree=2)
    out = translate(blob(d, 0, 0), d, shift=shift)
    assert centroid(d, out) == pytest.approx(moved, abs=1e-3)


def test_fractional_shift_moves_centroid_by_that_amount():
    d = Display((41, 41), pixels_per_degree=4)
    out = translate(blob(d, 0.0, 0.0, sigma=1.0), d, shift=(0.3, -0.15))
    assert centroid(d, out) == pytest.approx((0.3, -0.15), abs=2e-3)


def test_shift_out_of_frame_gives_grey():
    d = Display((8, 8), pixels_per_degree=1)
    out = translate(np.ones((8, 8)), d, shift=(8, 0))
    np.testing.assert_array_equal(out, 0.0)


@settings(max_examples=30, deadline=None)
@given(dx=st.integers(-6, 6), dy=st.integers(-6, 6), seed=st.integers(0, 1000))
def test_whole_pixel_shift_and_back_restores_the_interior(dx, dy, seed):
    d = Display((16, 16), pixels_per_degree=1)
    img = np.random.default_rng(seed).uniform(-1, 1, (16, 16)).astype(np.float32)
    back = translate(translate(img, d, shift=(dx, dy)), d, shift=(-dx, -dy))
    # pixel (r, c) went to (r - dy, c + dx); keep those that stayed in the frame
    rows = slice(max(0, dy), 16 + min(0, dy))
    cols = slice(max(0, -dx), 16 - max(0, dx))
    np.testing.assert_array_equal(back[rows, cols], img[rows, cols])


# --------------------------------------------------------------------------- rotate


@pytest.mark.parametrize("order", [0, 1, 3])
def test_rotate_90_matches_rot90(order):
    img = np.random.default_rng(1).uniform(-1, 1, (3, 15, 15)).astype(np.float32)
    out = rotate(img, angle=90, order=order)
    np.testing.assert_allclose(
        out[:, 1:-1, 1:-1], np.rot90(img, axes=(1, 2))[:, 1:-1, 1:-1], atol=1e-6
    )


def test_rotate_full_turn_is_identity_and_minus_90_is_clockwise():
    img = np.random.default_rng(2).uniform(-1, 1, (12, 12)).astype(np.float32)
    np.testing.assert_array_equal(rotate(img, angle=360), img)
    np.testing.assert_array_equal(rotate(img, angle=-90), np.rot90(img, k=-1))


def test_rotate_is_counter_clockwise_on_screen():
    d = Display((41, 41), pixels_per_degree=2)
    out = rotate(blob(d, 6.0, 0.0), angle=30)  # a blob right of centre swings up
    expected = (6 * np.cos(np.deg2rad(30)), 6 * np.sin(np.deg2rad(30)))
    assert centroid(d, out) == pytest.approx(expected, abs=0.02)


def test_rotate_about_a_centre_in_degrees_keeps_it_fixed():
    d = Display((41, 41), pixels_per_degree=2)
    img = blob(d, 3.0, -2.0)
    out = rotate(img, d, angle=73, center=(3.0, -2.0))
    assert centroid(d, out) == pytest.approx((3.0, -2.0), abs=0.02)


def test_bilinear_stays_in_input_range_and_batch_is_not_mixed():
    img = np.random.default_rng(3).uniform(-1, 1, (4, 16, 16)).astype(np.float32)
    for order in (1, 3):
        out = rotate(img, angle=33, order=order)
        for i in range(4):
            np.testing.assert_allclose(out[i], rotate(img[i], angle=33, order=order), atol=1e-6)
    out = rotate(img, angle=33)
    assert out.min() >= img.min() and out.max() <= img.max()


# --------------------------------------------------------------------------- scale


def test_scale_2x_doubles_a_disk():
    img = disk(65, radius=8)

    def radius(image):  # radius of the disk with the same area (sum of a 0..1 image)
        return np.sqrt(image.sum(dtype=np.float64) / np.pi)

    assert radius(scale(img, factor=2.0)) == pytest.approx(2 * radius(img), rel=1e-3)
    assert radius(scale(img, factor=0.5)) == pytest.approx(0.5 * radius(img), rel=0.05)


def test_scale_about_a_centre_keeps_it_fixed():
    d = Display((61, 61), pixels_per_degree=2)
    out = scale(blob(d, 4.0, 5.0), d, factor=1.7, center=(4.0, 5.0))
    assert centroid(d, out) == pytest.approx((4.0, 5.0), abs=0.02)


def test_scale_one_is_identity_and_dtype_is_float32():
    img = np.random.default_rng(4).uniform(-1, 1, (9, 11))
    out = scale(img, factor=1.0)
    assert out.shape == (9, 11) and out.dtype == np.float32
    np.testing.assert_array_equal(out, img.astype(np.float32))


# --------------------------------------------------------------------------- errors

D = Display((8, 8), pixels_per_degree=2)
GOOD = np.zeros((8, 8), np.float32)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: translate(np.zeros(8), D, shift=(0, 0)), ValueError, "images must have shape"),
        (lambda: translate(np.zeros((1, 1, 8, 8)), D, shift=(0, 0)), ValueError, "images"),
        (
            lambda: translate(np.full((8, 8), np.nan), D, shift=(0, 0)),
            ValueError,
            "images must be finite",
        ),
        (lambda: translate(np.zeros((8, 9)), D, shift=(0, 0)), ValueError, "match the display"),
        (lambda: translate(GOOD, (8, 8), shift=(0, 0)), TypeError, "display must be a Display"),
        (lambda: translate(GOOD, D, shift=(1,)), ValueError, "shift must be a pair"),
        (lambda: translate(GOOD, D, shift=(np.nan, 0)), ValueError, r"shift\[0\] \(x\)"),
        (lambda: translate(GOOD, D, shift=(0, 0), order=6), ValueError, "order must be in 0-5"),
        (lambda: translate(GOOD, D, shift=(0, 0), order=1.0), TypeError, "order"),
        (lambda: rotate(GOOD, angle=np.inf), ValueError, "angle must be finite"),
        (lambda: rotate(GOOD, angle=10, center=(1, 1)), ValueError, "center .* needs a display"),
        (lambda: rotate(GOOD, D, angle=10, center=(1, np.nan)), ValueError, r"center\[1\]"),
        (lambda: scale(GOOD, factor=0), ValueError, "factor must be positive"),
        (lambda: scale(GOOD, factor=-2), ValueError, "factor"),
        (lambda: scale(GOOD, D, factor=2, center="middle"), ValueError, "center must be a pair"),
        (lambda: scale(GOOD, Display((4, 4), 1), factor=2), ValueError, "match the display"),
    ],
    ids=[
        "1d",
        "4d",
        "nan",
        "display-shape",
        "not-display",
        "shift-length",
        "shift-nan",
        "order-6",
        "order-float",
        "angle-inf",
        "center-no-display",
        "center-nan",
        "factor-0",
        "factor-negative",
        "center-string",
        "scale-display-shape",
    ],
)
def test_transforms_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
