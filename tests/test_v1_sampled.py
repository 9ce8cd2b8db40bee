"""V1Model at recorded positions (``responses_at``) and several layers in one pass.

The fast paths must give the full maps' values at the same positions (float32:
within 1e-5 of the largest response), in the macaque population and in grids and
tables, at any stride, on odd and even displays and at positions on the border; and
the science read from them — each unit's preferred orientation and sf — must be the
same through both routes of ``run_protocol``.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.runner import run_protocol, run_protocol_layers
from analysis.tuning import orientation_tuning as orientation_summary
from stimuli.display import Display
from stimuli.protocols import orientation_tuning, sf_tuning
from v1model.base import check_model, responses_at_many, responses_many
from v1model.population import sample_population
from v1model.v1 import V1Model

TOL = 1e-5  # of the largest response: float32 patch products against float32 FFT maps


def _images(display, n=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, *display.shape)).astype(np.float32)


def _positions(model):
    x, y = model.map_coordinates("simple")
    r, c = len(y), len(x)
    # centre, the four corners and an edge midpoint
    rows = np.array([(r - 1) // 2, 0, 0, r - 1, r - 1, (r - 1) // 2])
    cols = np.array([(c - 1) // 2, 0, c - 1, 0, c - 1, c - 1])
    return rows, cols


MODELS = {
    "macaque-even-s8": lambda: V1Model(Display((64, 64), 16), stride=8),
    "macaque-odd-s3": lambda: V1Model(Display((33, 41), 16), n_units=40, rng=3, stride=3),
    "macaque-s1-no-surround": lambda: V1Model(Display((24, 24), 16), n_units=20, stride=1,
                                              surround=False),
    "macaque-stages-off": lambda: V1Model(Display((31, 30), 16), n_units=20, stride=2,
                                          normalization=False, complexity=False, output=False),
    "grid-s4": lambda: V1Model.grid(Display((32, 32), 16), orientations=[0, 45, 90],
                                    sfs=[2.0, 4.0], stride=4),
    "grid-odd-normalized": lambda: V1Model.grid(Display((27, 35), 16), orientations=[0, 90],
                                                sfs=[2.0], stride=2, normalization=True),
    "table": lambda: V1Model.from_population(
        Display((40, 40), 16), sample_population(12, rng=2).take(np.arange(12)), stride=5),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_responses_at_equals_full_maps(name):
    model = MODELS[name]()
    assert set(model.sampled_layers) == set(model.layers)
    x = _images(model.display)
    rows, cols = _positions(model)
    full = model.responses_many(x)
    at = model.responses_at_many(x, None, rows, cols)
    for layer in model.layers:
        ref = full[layer][:, :, rows, cols]
        scale = float(np.abs(full[layer]).max())
        assert at[layer].shape == ref.shape and at[layer].dtype == np.float32
        assert np.abs(at[layer] - ref).max() <= TOL * scale
        one = model.responses_at(x, layer, rows, cols)
        assert np.abs(one - ref).max() <= TOL * scale
        np.testing.assert_array_equal(model.responses(x, layer), full[layer])
    check_model(model)


def test_a_unit_does_not_depend_on_the_other_positions_asked_for():
    """The surround of one pixel is the same alone and among a whole map."""
    model = V1Model(Display((48, 48), 16), n_units=30, stride=1)
    x = _images(model.display, n=2)
    alone = model.responses_at(x, "complex", [23], [23])[:, :, 0]
    for rows, cols in (([0, 5, 23, 40], [47, 5, 23, 2]), ([23, 0, 47], [23, 47, 0])):
        together = model.responses_at(x, "complex", rows, cols)[:, :, rows.index(23)]
        assert np.abs(alone - together).max() <= TOL * np.abs(alone).max()
    full = model.responses(x, "complex")[:, :, 23, 23]
    assert np.abs(alone - full).max() <= TOL * np.abs(alone).max()


def test_max_pooling_and_spatial_pools_are_not_sampled():
    display = Display((32, 32), 16)
    pooled = V1Model.grid(display, orientations=[0], sfs=[2.0], complex_kind="max")
    assert pooled.sampled_layers == ("simple",)
    spatial = V1Model.grid(display, orientations=[0], sfs=[2.0],
                           normalization={"pool_sigma": 0.2})
    assert spatial.sampled_layers == ()
    with pytest.raises(ValueError, match="cannot be computed at positions alone"):
        pooled.responses_at(np.zeros((1, 32, 32)), "complex", [0], [0])
    rec = run_protocol(pooled, orientation_tuning(display, sfs=(2.0,)), "complex",
                       progress=False)
    assert rec.meta["route"] == "responses"


@pytest.mark.parametrize("rows, cols, error, match", [
    ([1, 2], [3], ValueError, "equal lengths"),
    ([8], [0], IndexError, "rows value 8"),
    ([0], [-9], IndexError, "cols value -9"),
    ([0.5], [0], TypeError, "rows must be integers"),
    ([], [], ValueError, "rows selects no map rows"),
])
def test_responses_at_rejects_bad_positions_by_name(rows, cols, error, match):
    model = V1Model(Display((32, 32), 16), n_units=8, stride=4)
    with pytest.raises(error, match=match):
        model.responses_at(np.zeros((1, 32, 32)), "simple", rows, cols)


def test_layer_lists_are_checked():
    model = V1Model(Display((32, 32), 16), n_units=8, stride=4)
    x = np.zeros((1, 32, 32))
    with pytest.raises(TypeError, match="sequence of layer names"):
        model.responses_many(x, "simple")
    with pytest.raises(ValueError, match="layer"):
        model.responses_many(x, ["simple", "V4"])
    with pytest.raises(ValueError, match="at least one layer"):
        model.responses_at_many(x, [], [0], [0])
    with pytest.raises(TypeError, match="sequence of layer names"):
        responses_many(model, x, "simple")


class _OneLayerAtATime:
    """Wraps a model, hiding its several-layer methods and counting the calls."""

    temporal = False

    def __init__(self, model):
        self.m, self.calls = model, []
        self.display, self.layers, self.sampled_layers = (model.display, model.layers,
                                                          model.sampled_layers)

    def responses(self, stimuli, layer):
        self.calls.append(("responses", layer))
        return self.m.responses(stimuli, layer)

    def responses_at(self, stimuli, layer, rows, cols):
        self.calls.append(("responses_at", layer))
        return self.m.responses_at(stimuli, layer, rows, cols)

    def unit_info(self, layer):
        return self.m.unit_info(layer)

    def map_coordinates(self, layer):
        return self.m.map_coordinates(layer)


def test_generic_fallbacks_loop_over_layers():
    model = V1Model.grid(Display((16, 16), 16), orientations=[0], sfs=[4.0], stride=4)
    wrapped = _OneLayerAtATime(model)
    x = _images(model.display, n=2)
    out = responses_many(wrapped, x, ["complex", "simple"])
    assert list(out) == ["complex", "simple"]
    assert wrapped.calls == [("responses", "complex"), ("responses", "simple")]
    at = responses_at_many(wrapped, x, ["simple", "complex"], [1], [2])
    np.testing.assert_allclose(at["complex"], model.responses(x, "complex")[:, :, [1], [2]],
                               atol=TOL)


def test_run_protocol_layers_renders_once_and_equals_run_protocol():
    display = Display((32, 32), 16)
    model = V1Model(display, n_units=16, stride=4)
    protocol = orientation_tuning(display, orientations=(0.0, 60.0, 120.0), phases=(0.0, 90.0),
                                  sfs=(2.0,))
    rendered = []
    batches = protocol.batches

    def counting(size):
        for start, x in batches(size):
            rendered.append(len(x))
            yield start, x

    protocol.batches = counting
    recs = run_protocol_layers(model, protocol, progress=False, batch_size=4)
    assert sum(rendered) == len(protocol)
    protocol.batches = batches
    for layer, rec in recs.items():
        one = run_protocol(model, protocol, layer, progress=False, batch_size=4)
        np.testing.assert_array_equal(rec.responses, one.responses)
        assert rec.meta == one.meta and rec.meta["route"] == "responses_at"
    wrapped = _OneLayerAtATime(model)
    run_protocol_layers(wrapped, protocol, progress=False, batch_size=len(protocol))
    assert [c for c in wrapped.calls if c[0] == "responses_at"][-2:] == [
        ("responses_at", "simple"), ("responses_at", "complex")]
    with pytest.raises(ValueError, match="repeat"):
        run_protocol_layers(model, protocol, ["simple", "simple"], progress=False)
    with pytest.raises(TypeError, match="run_protocol for one layer"):
        run_protocol_layers(model, protocol, "simple", progress=False)


def test_preferred_orientation_and_sf_identical_through_both_routes():
    """The science: each centre unit's preferred orientation and sf, fast vs full maps."""
    display = Display((40, 40), 16)
    model = V1Model(display, n_units=40, rng=1, stride=8)
    ori = orientation_tuning(display, orientations=tuple(np.arange(0.0, 180.0, 15.0)),
                             phases=(0.0, 90.0, 180.0, 270.0), sfs=(1.0, 2.5))
    sf = sf_tuning(display, sfs=(0.5, 1.0, 2.0, 3.0, 4.0, 6.0), orientations=tuple(
        np.arange(0.0, 180.0, 45.0)), phases=(0.0, 90.0, 180.0, 270.0))
    for layer in model.layers:
        info = model.unit_info(layer)
        fast = run_protocol(model, ori, layer, progress=False)
        slow = run_protocol(model, ori, layer, progress=False, at_positions=False)
        assert (fast.meta["route"], slow.meta["route"]) == ("responses_at", "responses")
        scale = np.abs(slow.responses).max()
        assert np.abs(fast.responses - slow.responses).max() <= TOL * scale
        tab_fast, tab_slow = orientation_summary(fast, fit=False), orientation_summary(
            slow, fit=False)
        np.testing.assert_array_equal(tab_fast["preferred_orientation_argmax"],
                                      tab_slow["preferred_orientation_argmax"])
        pref_fast = tab_fast["preferred_orientation"]
        np.testing.assert_allclose(pref_fast, tab_slow["preferred_orientation"], atol=1e-3)
        # and it is the units' own orientation (the recovered parameter)
        err = np.abs((pref_fast - info["orientation"] + 90.0) % 180.0 - 90.0)
        assert np.nanmedian(err) <= 10.0
        fast_sf = run_protocol(model, sf, layer, progress=False)
        slow_sf = run_protocol(model, sf, layer, progress=False, at_positions=False)
        peak_fast = _peak_sf(fast_sf)
        np.testing.assert_array_equal(peak_fast, _peak_sf(slow_sf))
        assert np.median(np.abs(np.log2(peak_fast / info["sf"]))) <= 0.6


def _peak_sf(rec):
    sfs = np.asarray(rec.conditions["sf"])
    values = np.unique(sfs)
    mean = np.stack([rec.responses[sfs == f].max(axis=0) for f in values])
    return values[np.argmax(mean, axis=0)]
