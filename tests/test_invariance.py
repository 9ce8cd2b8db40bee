"""Tolerance curves through the model interface: identity at zero, pooling buys tolerance."""

import numpy as np
import pytest

from analysis.invariance import tolerance_correlations, tolerance_curve, transform_images
from stimuli.display import Display
from v1model.hmax import HMAX


class Pixels:
    """The simplest model: one non-retinotopic layer, the pixels themselves."""

    def __init__(self, shape=(32, 32)):
        self.display = Display(shape, pixels_per_degree=8)
        self.layers = ("pixels",)
        self.temporal = False

    def responses(self, stimuli, layer):
        return np.asarray(stimuli, dtype=np.float32).reshape(len(stimuli), -1)


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).uniform(-1, 1, size=(3, 32, 32)).astype(np.float32)


@pytest.mark.parametrize("transform, identity", [("translate", 0.0), ("scale", 1.0),
                                                  ("rotate", 0.0)])
def test_zero_transform_gives_correlation_one(transform, identity, noise):
    r = tolerance_correlations(Pixels(), "pixels", noise, transform=transform, amounts=[identity])
    np.testing.assert_allclose(r, 1.0, atol=1e-12)


def test_white_noise_decorrelates_after_one_pixel(noise):
    tab = tolerance_curve(Pixels(), "pixels", noise, amounts=[0.0, 1 / 8, 2 / 8])
    assert tab["correlation"][0] == pytest.approx(1.0)
    assert np.all(np.abs(tab["correlation"][1:]) < 0.2)
    assert tab.names == ("amount", "correlation", "std", "sem", "low", "high", "n_images",
                         "transform", "unit", "layer", "baseline")
    assert abs(tab["baseline"][0]) < 0.2  # independent noise images are uncorrelated
    assert tab["n_images"].tolist() == [3, 3, 3]
    assert tab["unit"][0] == "deg"


def test_rotation_by_90_of_rotation_symmetric_content(noise):
    img = noise[:1] + np.rot90(noise[:1], axes=(1, 2))
    img = img + np.rot90(img, 2, axes=(1, 2))
    r = tolerance_correlations(Pixels(), "pixels", img, transform="rotate", amounts=[90.0])
    assert r[0, 0] == pytest.approx(1.0)


def test_translate_direction_moves_content_up():
    model = Pixels((8, 8))
    img = np.zeros((1, 8, 8), np.float32)
    img[0, 4, 4] = 1
    up = transform_images(img, model.display, "translate", 1 / 8, direction=90.0)
    assert np.argwhere(up[0] == 1).tolist() == [[3, 4]]


def test_c1_is_more_translation_tolerant_than_s1():
    display = Display((64, 64), pixels_per_degree=32)
    model = HMAX(display)
    rng = np.random.default_rng(1)
    img = np.zeros((2, 64, 64), np.float32)
    img[:, 16:48, 16:48] = rng.uniform(-1, 1, (2, 32, 32))
    shifts = np.array([0.0, 1.0, 2.0, 3.0]) / 32
    s1 = tolerance_curve(model, "S1", img, amounts=shifts)
    c1 = tolerance_curve(model, "C1", img, amounts=shifts)
    np.testing.assert_allclose(s1["correlation"][0], 1.0, atol=1e-6)
    np.testing.assert_allclose(c1["correlation"][0], 1.0, atol=1e-6)
    assert np.all(c1["correlation"][1:] > s1["correlation"][1:] + 0.1)
    assert np.all(np.diff(s1["correlation"]) < 0)  # S1 falls as the shift grows


@pytest.mark.parametrize("kwargs, error, match", [
    ({"transform": "shear", "amounts": [0.0]}, ValueError, "transform must be one of"),
    ({"transform": "scale", "amounts": [0.0]}, ValueError, "positive"),
    ({"transform": "rotate", "amounts": [np.nan]}, ValueError, "finite"),
    ({"transform": "rotate", "amounts": []}, ValueError, "empty"),
    ({"transform": "rotate", "amounts": [0.0], "batch_size": 0}, ValueError, "batch_size"),
], ids=["transform", "scale", "nan", "empty", "batch"])
def test_bad_arguments(kwargs, error, match, noise):
    with pytest.raises(error, match=match):
        tolerance_correlations(Pixels(), "pixels", noise, **kwargs)


def test_bad_images_and_layer(noise):
    with pytest.raises(ValueError, match="layer must be one of"):
        tolerance_curve(Pixels(), "V1", noise)
    with pytest.raises(ValueError, match="match the display"):
        tolerance_curve(Pixels(), "pixels", noise[:, :16])
    with pytest.raises(ValueError, match="undefined"):
        tolerance_curve(Pixels(), "pixels", np.zeros((1, 32, 32)), amounts=[0.0])
    assert "baseline" not in tolerance_curve(Pixels(), "pixels", noise[:1], amounts=[0.0])


def test_batching_does_not_change_results(noise):
    one = tolerance_curve(Pixels(), "pixels", noise, transform="rotate", amounts=[0.0, 30.0],
                          batch_size=1)
    all_ = tolerance_curve(Pixels(), "pixels", noise, transform="rotate", amounts=[0.0, 30.0])
    for name in ("correlation", "std", "baseline"):
        np.testing.assert_allclose(one[name], all_[name])
