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
