"""ON/OFF maps from a recorded grid of single squares (analysis.rf_grid)."""

import numpy as np
import pytest

from analysis import Recording, grid_on_off_maps, run_protocol
from stimuli import Display, protocols
from v1model.base import check_layer


class Linear:
    """A unit with a known weight map, half-wave ("simple") or full-wave rectified."""

    temporal = False
    layers = ("simple", "rectified")

    def __init__(self, display, weights):
        self.display, self.weights = display, weights

    def responses(self, stimuli, layer):
        drive = np.tensordot(np.asarray(stimuli, np.float64), self.weights, axes=2)[:, None]
        return np.maximum(drive, 0) if check_layer(self, layer) == "simple" else np.abs(drive)

    def unit_info(self, layer):
        return {}


DISPLAY = Display((32, 32), pixels_per_degree=8)


@pytest.fixture(scope="module")
def unit():
    x, y = DISPLAY.coordinates()
    weights = np.exp(-(x**2 + y**2) / (2 * 0.6**2)) * np.cos(2 * np.pi * 0.6 * x)
    return Linear(DISPLAY, weights), weights


def test_on_minus_off_of_a_half_wave_unit_recovers_its_linear_receptive_field(unit):
    model, weights = unit
    protocol = protocols.rf_mapping(DISPLAY, method="sparse_noise", grid=(8, 8),
                                    extent=(4.0, 4.0))
    grid = grid_on_off_maps(run_protocol(model, protocol, "simple", progress=False))
    assert grid.maps.shape == (1, 8, 8)
    assert grid.pixels_per_degree == pytest.approx(2.0)            # 0.5 deg spacing
    # the map is the weights summed over each square: compare at the square centres
    sampled = weights.reshape(8, 4, 8, 4).sum(axis=(1, 3))
    r = np.corrcoef(grid.maps[0].ravel(), sampled.ravel())[0, 1]
    assert r > 0.99
    assert grid.signed_fraction[0] == pytest.approx(1.0, abs=1e-9)  # ON and OFF never overlap


def test_a_rectified_unit_has_no_signed_map(unit):
    model, _ = unit
    protocol = protocols.rf_mapping(DISPLAY, method="sparse_noise", grid=(8, 8),
                                    extent=(4.0, 4.0))
    grid = grid_on_off_maps(run_protocol(model, protocol, "rectified", progress=False))
    np.testing.assert_allclose(grid.maps, 0.0, atol=1e-9)
    assert grid.signed_fraction[0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("recording", "error", "match"),
    [(np.zeros((2, 1)), TypeError, "must be an analysis.Recording"),
     (Recording({"x": [0.0, 1.0]}, np.zeros((2, 1))), ValueError,
      r"missing \['y', 'polarity'\]")],
    ids=["not-a-recording", "missing-columns"],
)
def test_bad_input(recording, error, match):
    with pytest.raises(error, match=match):
        grid_on_off_maps(recording)
