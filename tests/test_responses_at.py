"""The runner's position path (``responses_at``) against full maps, for every model offering it."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.runner import run_protocol
from stimuli.display import Display
from stimuli.protocols import orientation_tuning
from v1model.cnn import CNN, DEFAULT_DISPLAY, Network, default_cnn_spec
from v1model.hmax import HMAX

#: documented float32 tolerance of the position path, relative to the largest response
TOL = 1e-5


def _both(model, layer, protocol, units="centre"):
    fast = run_protocol(model, protocol, layer, units=units, progress=False, batch_size=7)
    slow = run_protocol(model, protocol, layer, units=units, progress=False, batch_size=7,
                        at_positions=False)
    return fast, slow


def _assert_same(fast, slow):
    assert fast.meta["route"] == "responses_at" and slow.meta["route"] == "responses"
    assert fast.responses.shape == slow.responses.shape
    scale = np.abs(slow.responses).max()
    assert scale > 0
    np.testing.assert_allclose(fast.responses, slow.responses, atol=TOL * scale, rtol=0)
    for key in ("channel", "map_row", "map_col", "x", "y", "unit", "orientation"):
        if key in slow.unit_info:
            np.testing.assert_array_equal(fast.unit_info[key], slow.unit_info[key])


@pytest.fixture(scope="module")
def hmax_display():
    return Display((48, 48), pixels_per_degree=24.0)


@pytest.mark.parametrize("layer", ["S1", "C1"])
@pytest.mark.parametrize("c1", [{}, {"grid": "serre"}])
def test_hmax_centre_units_match_full_maps(hmax_display, layer, c1):
    model = HMAX(hmax_display, s1={"sizes": (7, 9, 11, 13)},
                 c1={"pool_sizes": (6, 8), "pool_steps": (3, 4), **c1})
    protocol = orientation_tuning(hmax_display, orientations=[0, 45, 90, 135],
                                  phases=[0, 90], sfs=[2.0, 4.0])
    _assert_same(*_both(model, layer, protocol))


def test_hmax_s1_index_units_and_contrast_invariant_variant(hmax_display):
    model = HMAX(hmax_display, s1={"sizes": (7, 9), "mean_luminance": 0.0},
                 c1={"pool_sizes": (6,), "pool_steps": (3,)})
    protocol = orientation_tuning(hmax_display, orientations=[0, 90], phases=[0, 90], sfs=[3.0])
    # channels 0..7 at three positions, one of them at the border
    units = np.ravel_multi_index(([0, 3, 5, 7], [0, 24, 47, 10], [0, 20, 47, 33]),
                                 (8, 48, 48))
    _assert_same(*_both(model, "S1", protocol, units=units))


@pytest.mark.parametrize("layer", ["conv1", "conv2"])
def test_cnn_conv_layers_match_full_maps(layer):
    model = CNN(Network.from_spec(default_cnn_spec(3), rng=0), DEFAULT_DISPLAY)
    protocol = orientation_tuning(DEFAULT_DISPLAY, orientations=[0, 60, 120], phases=[0, 180],
                                  sfs=[2.0])
    _assert_same(*_both(model, layer, protocol))
    assert model.sampled_layers == ("conv1", "conv2")


def test_layers_without_positions_and_all_units_use_full_maps(hmax_display):
    model = CNN(Network.from_spec(default_cnn_spec(3), rng=0), DEFAULT_DISPLAY)
    protocol = orientation_tuning(DEFAULT_DISPLAY, orientations=[0, 90], phases=[0], sfs=[2.0])
    pool = run_protocol(model, protocol, "pool1", progress=False)
    assert pool.meta["route"] == "responses"
    everything = run_protocol(model, protocol, "conv1", units="all", progress=False)
    assert everything.meta["route"] == "responses"
    assert everything.responses.shape == (2, 16 * 32 * 32)
    # many positions (more than 1/8 of the map): full maps, same units
    many = np.arange(0, 16 * 32 * 32, 3)
    rec = run_protocol(model, protocol, "conv1", units=many, progress=False)
    assert rec.meta["route"] == "responses"
    np.testing.assert_array_equal(rec.responses, everything.responses[:, many])


class _Centre:
    """A model whose responses_at is a plain slice of its full maps (or wrong on request)."""

    temporal = False
    layers = ("map",)
    sampled_layers = ("map",)

    def __init__(self, bad=False):
        self.display = Display((8, 8), pixels_per_degree=4.0)
        self.bad = bad
        self.calls = []

    def responses(self, stimuli, layer):
        if layer not in self.layers:
            raise ValueError(f"layer must be one of {self.layers}")
        self.calls.append("responses")
        return np.stack([stimuli, -stimuli], axis=1)

    def responses_at(self, stimuli, layer, rows, cols):
        self.calls.append("responses_at")
        out = self.responses(stimuli, layer)[:, :, rows, cols]
        return out[:, :, :1] if self.bad else out

    def unit_info(self, layer):
        return {"orientation": np.array([0.0, 90.0])}

    def map_coordinates(self, layer):
        return (np.arange(8) - 3.5) / 4.0, (3.5 - np.arange(8)) / 4.0


def test_runner_takes_the_recorded_positions_and_checks_the_shape():
    model = _Centre()
    protocol = orientation_tuning(model.display, orientations=[0, 90], phases=[0], sfs=[1.0])
    units = np.ravel_multi_index(([1, 0, 1], [2, 5, 2], [3, 6, 4]), (2, 8, 8))
    fast = run_protocol(model, protocol, "map", units=units, progress=False)
    assert fast.meta["route"] == "responses_at"
    slow = run_protocol(model, protocol, "map", units=units, progress=False, at_positions=False)
    np.testing.assert_array_equal(fast.responses, slow.responses)
    np.testing.assert_array_equal(fast.unit_info["orientation"], [90.0, 0.0, 90.0])
    with pytest.raises(ValueError, match=r"responses_at must return shape \(n, channels, "):
        run_protocol(_Centre(bad=True), protocol, "map", units=units, progress=False)
    with pytest.raises(IndexError, match="out of range"):
        run_protocol(model, protocol, "map", units=[128], progress=False)
    with pytest.raises(TypeError, match="at_positions"):
        run_protocol(model, protocol, "map", progress=False, at_positions="yes")


def test_check_model_checks_responses_at():
    from v1model.base import check_model

    shapes = check_model(_Centre(), n_images=2)
    assert shapes == {"map": (2, 2, 8, 8)}
    with pytest.raises(ValueError, match="responses_at.*must return an array of shape"):
        check_model(_Centre(bad=True))

    class Wrong(_Centre):
        def responses_at(self, stimuli, layer, rows, cols):
            return super().responses_at(stimuli, layer, rows, cols) * 1.01

    with pytest.raises(ValueError, match="differs from responses"):
        check_model(Wrong())
    cnn = CNN(Network.from_spec(default_cnn_spec(3), rng=0), DEFAULT_DISPLAY)
    assert check_model(cnn, layers=["conv1", "conv2"])["conv2"] == (2, 32, 16, 16)
    hmax = HMAX(Display((40, 40), pixels_per_degree=16.0))
    assert check_model(hmax, layers=["S1", "C1"])["S1"] == (2, 64, 40, 40)


def test_hmax_responses_many_equals_separate_calls(hmax_display):
    model = HMAX(hmax_display, s1={"sizes": (7, 9, 11, 13)},
                 c1={"pool_sizes": (6, 8), "pool_steps": (3, 4)})
    x = np.random.default_rng(1).uniform(-1, 1, (3, 48, 48)).astype(np.float32)
    both = model.responses_many(x, ["C1", "S1"])
    assert list(both) == ["C1", "S1"]
    np.testing.assert_array_equal(both["S1"], model.responses(x, "S1"))
    # C1 from the kept S1 maps equals the fused band-by-band pooling exactly
    np.testing.assert_array_equal(both["C1"], model.responses(x, "C1"))
    np.testing.assert_array_equal(model.responses_many(x, "C1")["C1"], both["C1"])
    with pytest.raises(ValueError, match="distinct"):
        model.responses_many(x, ["S1", "S1"])
    with pytest.raises(ValueError, match="layer"):
        model.responses_many(x, ["V4"])


def test_executor_batches_use_the_same_positions(hmax_display):
    from concurrent.futures import ThreadPoolExecutor

    model = HMAX(hmax_display, s1={"sizes": (7, 9)}, c1={"pool_sizes": (6,), "pool_steps": (3,)})
    protocol = orientation_tuning(hmax_display, orientations=[0, 90], phases=[0, 90, 180],
                                  sfs=[2.0, 3.0])
    serial = run_protocol(model, protocol, "C1", progress=False, batch_size=5)
    with ThreadPoolExecutor(2) as pool:
        spread = run_protocol(model, protocol, "C1", progress=False, batch_size=5,
                              executor=pool)
    assert spread.meta["route"] == serial.meta["route"] == "responses_at"
    np.testing.assert_array_equal(spread.responses, serial.responses)


def test_hmax_responses_at_rejects_bad_input_by_name(hmax_display):
    model = HMAX(hmax_display, s1={"sizes": (7, 9)}, c1={"pool_sizes": (6,), "pool_steps": (3,)})
    x = np.zeros((1, 48, 48), np.float32)
    assert model.sampled_layers == ("S1", "C1")
    with pytest.raises(ValueError, match="rows and cols must have equal lengths"):
        model.responses_at(x, "S1", [1, 2], [3])
    with pytest.raises(IndexError, match="rows"):
        model.responses_at(x, "S1", [48], [0])
    with pytest.raises(ValueError, match="cannot be computed at positions alone"):
        model.responses_at(x, "S2", [0], [0])
    with pytest.raises(ValueError, match="stimuli"):
        model.responses_at(np.zeros((1, 40, 40)), "S1", [0], [0])


@pytest.mark.parametrize("c1", [{}, {"grid": "serre"}])
def test_hmax_responses_at_many_one_s1_pass_matches_full_maps(hmax_display, c1):
    # Serre's six S1 scales pooled in three bands; positions chosen so that S1 is read
    # from C1's S1 blocks ([7, 8] lies in every band's block around map element 7) or
    # sampled on its own ([0, 47]: outside them), and at the map border
    model = HMAX(hmax_display, s1={"sizes": (7, 9, 11, 13, 15, 17)},
                 c1={"pool_sizes": (6, 8, 10), "pool_steps": (3, 4, 5), **c1})
    x = np.random.default_rng(2).uniform(-1, 1, (5, 48, 48)).astype(np.float32)
    full = model.responses_many(x, ["S1", "C1"])
    for rows, cols in (([7, 8], [8, 7]), ([0, 7], [2, 8]), ([-1], [0])):
        got = model.responses_at_many(x, ["C1", "S1"], rows, cols)
        assert list(got) == ["C1", "S1"]
        for layer in ("S1", "C1"):
            expected = full[layer][:, :, rows, cols]
            assert got[layer].shape == expected.shape and got[layer].dtype == np.float32
            np.testing.assert_allclose(got[layer], expected,
                                       atol=TOL * np.abs(full[layer]).max(), rtol=0)
            single = model.responses_at(x, layer, rows, cols)
            np.testing.assert_allclose(got[layer], single,
                                       atol=TOL * np.abs(full[layer]).max(), rtol=0)


def test_hmax_s1_read_from_the_c1_blocks_when_they_cover_the_positions(hmax_display):
    # Serre's layout: C1 element (0, 0) of every band pools from pixel (0, 0), so S1 at
    # pixel (0, 0) comes out of C1's S1 pass; pixel (7, 7) lies in no band-1 window of
    # element (7, 7) (it starts at pixel 28) and is sampled on its own
    model = HMAX(hmax_display, s1={"sizes": (7, 9, 11, 13)},
                 c1={"pool_sizes": (6, 8), "pool_steps": (3, 4), "grid": "serre"})
    x = np.random.default_rng(3).uniform(-1, 1, (2, 48, 48)).astype(np.float32)
    full = model.responses_many(x, ["S1", "C1"])
    calls = []
    s1 = model.stages[0][1]
    original = s1.at
    s1.at = lambda *a, **k: calls.append(1) or original(*a, **k)
    for where, sampled in ((0, []), (7, [1])):
        got = model.responses_at_many(x, ["S1", "C1"], [where], [where])
        assert calls == sampled
        for layer in ("S1", "C1"):
            np.testing.assert_allclose(got[layer], full[layer][:, :, [where], [where]],
                                       atol=TOL * np.abs(full[layer]).max(), rtol=0)


def test_hmax_responses_at_many_rejects_bad_layers_by_name(hmax_display):
    model = HMAX(hmax_display, s1={"sizes": (7, 9)}, c1={"pool_sizes": (6,), "pool_steps": (3,)})
    x = np.zeros((1, 48, 48), np.float32)
    with pytest.raises(ValueError, match="distinct"):
        model.responses_at_many(x, ["S1", "S1"], [0], [0])
    with pytest.raises(ValueError, match="distinct"):
        model.responses_at_many(x, [], [0], [0])
    with pytest.raises(ValueError, match="'S2' cannot be computed at positions alone"):
        model.responses_at_many(x, ["S1", "S2"], [0], [0])
    with pytest.raises(IndexError, match="rows"):
        model.responses_at_many(x, ["S1", "C1"], [40], [0])    # inside S1's map, not C1's
