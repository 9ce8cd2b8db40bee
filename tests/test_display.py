import numpy as np
import pytest

from stimuli.display import Display


def test_conversions_round_trip():
    d = Display((48, 64), pixels_per_degree=16, frame_rate=100)
    assert d.size_degrees == (3.0, 4.0)
    assert d.deg_to_px(2.5) == 40.0
    assert d.px_to_deg(8) == 0.5
    assert d.cpd_to_cpp(4.0) == 0.25
    assert d.cpp_to_cpd(d.cpd_to_cpp(3.3)) == pytest.approx(3.3, rel=1e-12)
    np.testing.assert_allclose(d.deg_to_px(np.array([1.0, 2.0])), [16.0, 32.0])
    assert d.nyquist_cpd == 8.0
    assert d.n_frames(0.5) == 50


def test_coordinates_origin_centre_and_y_up():
    d = Display((4, 6), pixels_per_degree=2)
    x, y = d.coordinates()
    assert x.shape == y.shape == (4, 6)
    assert x.mean() == pytest.approx(0.0) and y.mean() == pytest.approx(0.0)
    assert np.all(np.diff(x, axis=1) > 0), "x grows rightwards"
    assert np.all(np.diff(y, axis=0) < 0), "y grows upwards (row 0 is the top)"
    row, col = d.position_to_pixel(x[1, 4], y[1, 4])
    assert (row, col) == pytest.approx((1.0, 4.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(shape=(0, 4), pixels_per_degree=1), ValueError, "rows"),
        (dict(shape=(4, 4.5), pixels_per_degree=1), TypeError, "cols"),
        (dict(shape=(4,), pixels_per_degree=1), ValueError, "shape"),
        (dict(shape=(4, 4), pixels_per_degree=-1), ValueError, "pixels_per_degree"),
        (dict(shape=(4, 4), pixels_per_degree=float("nan")), ValueError, "pixels_per_degree"),
        (dict(shape=(4, 4), pixels_per_degree=1, frame_rate=0), ValueError, "frame_rate"),
        (dict(shape=(4, 4), pixels_per_degree=1, frame_rate=np.inf), ValueError, "frame_rate"),
    ],
    ids=["zero-rows", "fractional-cols", "one-dim", "negative-ppd", "nan-ppd", "zero-rate",
         "inf-rate"],
)
def test_rejects_bad_geometry(kwargs, error, match):
    with pytest.raises(error, match=match):
        Display(**kwargs)


def test_duration_shorter_than_a_frame():
    d = Display((4, 4), pixels_per_degree=1, frame_rate=10)
    with pytest.raises(ValueError, match="duration"):
        d.n_frames(0.01)
