"""Claims 1-4 and 7 measure the network they are given: the science of the designs that
need no training (rotated copies against a shuffled null, all first-layer units against
the macaque histograms, pooling against its own convolution), any model, any display."""

import json

import numpy as np
import pytest

from analysis.claims import claim_first_layer, claim_pooling, claim_rotation
from analysis.claims._common import _layer_kinds, _model, _model_pool_pairs
from analysis.claims.first_layer import V1_LIKE, KernelBank, _population_bank
from analysis.claims.rotation import rotated_copies
from analysis.gabor_fit import fit_gabors
from stimuli.display import Display

PPD = 16.0
SHAPES = [(sf, phase) for sf in (3.0, 4.5, 6.0, 7.0) for phase in (0.0, 90.0)]


def _crop(kernel, side=9):
    c, h = kernel.shape[0] // 2, side // 2
    return kernel[c - h:c + h + 1, c - h:c + h + 1]


def _gabor_bank(orientations):
    """Eight shapes (sf × phase), each at the orientations ``orientations(shape index)``."""
    from v1model.gabor import gabor_kernel

    return np.stack([_crop(gabor_kernel(PPD, orientation=float(o), sf=sf, phase=phase,
                                        sigma_x=0.45 / sf, sigma_y=0.6 / sf))
                     for i, (sf, phase) in enumerate(SHAPES) for o in orientations(i)])


def _fits(kernels):
    table = fit_gabors(kernels, PPD, min_r2=0.5)
    ok = np.asarray(table["success"], dtype=bool)
    assert ok.sum() == len(kernels)
    return {k: np.asarray(table[k])[ok] for k in ("orientation", "sf", "phase", "nx", "ny")}


def _cnn_with_conv1(kernels, *, rng=0):
    from v1model.cnn import CNN, DEFAULT_DISPLAY, Network, default_cnn_spec

    spec = default_cnn_spec(3, conv1_channels=len(kernels), conv2_channels=8, fc_units=16)
    model = CNN(Network.from_spec(spec, rng=rng), DEFAULT_DISPLAY)
    model.network.parameters()["conv1.0.weight"][:, 0] = kernels
    return model


# ----------------------------------------------------------------------------- claim 4


def test_rotated_copies_beat_the_orientation_shuffled_null():
    copies = _gabor_bank(lambda i: (0.0, 45.0, 90.0, 135.0))      # 8 shapes x 4 orientations
    out = rotated_copies(_fits(copies), n_shuffles=1000, rng=0)
    assert out["p_value"] <= 0.01
    assert out["percentile"] >= 99
    assert out["excess"] >= 8.0                                   # degrees above the null
    low, high = out["excess_interval"]
    assert low > 0 and low <= out["excess"] <= high
    assert out["n_matched_filters"] >= 24


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_orientations_do_not_beat_the_null(seed):
    gen = np.random.default_rng(seed)
    bank = _gabor_bank(lambda i: gen.uniform(0, 180, 4))
    out = rotated_copies(_fits(bank), n_shuffles=1000, rng=0)
    assert out["percentile"] < 95
    assert out["p_value"] > 0.05


def test_rotated_copies_reject_too_few_filters():
    with pytest.raises(ValueError, match="at least 3 filters"):
        rotated_copies({k: np.ones(2) for k in ("orientation", "sf", "phase", "nx", "ny")})


def test_claim_rotation_finds_the_copies_in_a_wide_first_layer():
    model = _cnn_with_conv1(_gabor_bank(lambda i: (0.0, 45.0, 90.0, 135.0)))
    result = claim_rotation(model, n_images=8, n_boot=50, n_shuffles=500, rng=0)
    checks = {c.name: c for c in result.checks}
    assert result.gates[0].passed                                  # 32 fitted filters
    assert checks["rotated_copies"].passed and checks["rotated_copies"].value >= 99
    assert checks["orientation_coverage"].value == pytest.approx(45, abs=3)
    assert checks["no_builtin_invariance"].interval is not None
    json.dumps(result.to_dict())


def test_claim_rotation_on_sixteen_filters_is_underpowered():
    model = _cnn_with_conv1(_gabor_bank(lambda i: (0.0, 90.0)))   # 16 filters
    result = claim_rotation(model, n_images=8, n_boot=50, n_shuffles=200, rng=0)
    assert result.verdict == "inconclusive"
    assert "rotated-copies test needs 32" in result.reason


# ----------------------------------------------------------------------------- claim 2


def test_v1_sampled_gabors_score_v1_like_and_noise_kernels_do_not():
    display = Display((32, 32), PPD)
    v1 = claim_first_layer(_population_bank(64, "macaque", display, 5), first_layer="units",
                           n_v1=64, n_boot=100, rng=0)
    noise = KernelBank(np.random.default_rng(0).normal(size=(64, 9, 9)), display)
    rnd = claim_first_layer(noise, n_v1=64, n_boot=100, rng=0)
    v1_checks = {c.name: c for c in v1.checks}
    rnd_checks = {c.name: c for c in rnd.checks}
    assert v1_checks["gabor_like"].value > 0.9
    assert v1_checks["v1_like"].value >= V1_LIKE
    assert v1.numbers["network"]["scores"]["n_units"] == 64       # every unit scored
    assert v1.verdict == "supported"
    print(v1_checks["v1_like"], rnd_checks["v1_like"])
    assert rnd_checks["v1_like"].value < V1_LIKE
    assert rnd_checks["v1_like"].value < v1_checks["v1_like"].value - 0.05
    assert rnd_checks["gabor_like"].value < 0.5
    assert rnd.verdict == "not supported"
    low, high = v1_checks["v1_like"].interval
    assert low < v1_checks["v1_like"].value < high                 # a bootstrap interval


# ----------------------------------------------------------------------------- claim 3


def test_pooling_buys_tolerance_over_its_own_convolution_in_the_shipped_network():
    from v1model.cnn import load_pretrained_cnn

    result = claim_pooling(load_pretrained_cnn(), n_images=16, n_boot=200, rng=0)
    checks = {c.name: c for c in result.checks}
    for pool in ("pool1", "pool2"):
        check = checks[f"cnn_{pool}"]
        assert check.value >= 0.05 and check.interval[0] > 0       # max > subsampling alone
    assert checks["hmax_c1"].value > 0.2
    assert result.numbers["grid_step"] == {"pool1": 2, "pool2": 2}


def test_pooling_of_a_network_without_pooling_is_not_measured():
    from v1model.cnn import CNN, DEFAULT_DISPLAY, Network

    spec = {"input_shape": [1, 32, 32], "stages": [
        {"name": "conv1", "layers": [{"type": "conv2d", "in_channels": 1, "out_channels": 4,
                                      "kernel_size": 5, "padding": 2}, {"type": "relu"}]},
        {"name": "conv2", "layers": [{"type": "conv2d", "in_channels": 4, "out_channels": 4,
                                      "kernel_size": 3, "padding": 1}, {"type": "relu"}]}]}
    model = CNN(Network.from_spec(spec, rng=0), DEFAULT_DISPLAY)
    result = claim_pooling(model, n_images=6, n_boot=20, rng=0)
    check = {c.name: c for c in result.checks}["cnn_pooling"]
    assert check.status == "not measured"


# ----------------------------------------------------------------------------- any model


class Wrapped:
    """A user's model: the shipped CNN behind the bare model interface (no filters())."""

    temporal = False

    def __init__(self, cnn):
        self._cnn = cnn
        self.meta = cnn.meta               # says the network saw whitened images
        self.display = cnn.display
        self.layers = ("edges", "pooled", "features", "deep", "code")

    def _name(self, layer):
        if layer not in self.layers:
            raise ValueError(f"unknown layer {layer!r}")
        return {"edges": "conv1", "pooled": "pool1", "features": "conv2", "deep": "pool2",
                "code": "fc"}[layer]

    def responses(self, stimuli, layer):
        return self._cnn.responses(stimuli, self._name(layer))

    def unit_info(self, layer):
        info = self._cnn.unit_info(self._name(layer))
        return {k: v for k, v in info.items() if k in ("channel", "unit", "rf_size")}

    def map_coordinates(self, layer):
        return self._cnn.map_coordinates(self._name(layer))


@pytest.fixture(scope="module")
def wrapped():
    from v1model.cnn import load_pretrained_cnn

    return Wrapped(load_pretrained_cnn())


def test_layer_heuristics_of_a_user_model(wrapped):
    assert _model(wrapped) is wrapped
    assert _layer_kinds(wrapped) == {"edges": "conv", "pooled": "pool", "features": "conv",
                                     "deep": "pool", "code": "dense"}
    assert _model_pool_pairs(wrapped, None) == [("edges", "pooled"), ("features", "deep")]
    assert _model_pool_pairs(wrapped, [("features", "deep")]) == [("features", "deep")]
    with pytest.raises(ValueError, match="pool_pairs"):
        _model_pool_pairs(wrapped, [("features", "nope")])
    with pytest.raises(TypeError, match="lacks"):
        _model(object())


def test_user_model_through_pooling_and_first_layer(wrapped):
    from v1model.cnn import load_pretrained_cnn

    pooled = claim_pooling(wrapped, n_images=8, n_boot=50, rng=0)
    same = claim_pooling(load_pretrained_cnn(), n_images=8, n_boot=50, rng=0)
    mine = {c.name: c.value for c in pooled.checks}
    theirs = {c.name: c.value for c in same.checks}
    assert mine["cnn_pooled"] == pytest.approx(theirs["cnn_pool1"], abs=1e-9)
    first = claim_first_layer(wrapped, n_v1=32, n_boot=50, n_noise=3000, rng=0)
    assert first.numbers["layer"] == "edges"
    assert "spike-triggered" in first.numbers["kernel_source"]
    # the STA of a conv-ReLU unit recovers its Gabor-like kernel
    assert first.numbers["network"]["r2_median"] > 0.5
    assert first.numbers["network"]["scores"]["n_units"] == 16


# ----------------------------------------------------------------------------- 64 x 64


@pytest.fixture(scope="module")
def wide():
    """A stand-in for the wide architecture: 64 x 64 px, 32 conv1 filters, three conv
    stages, random weights (the tests are about mechanics)."""
    from v1model.cnn import CNN, Network

    def conv(name, c_in, c_out, k):
        return {"name": name, "layers": [{"type": "conv2d", "in_channels": c_in,
                                          "out_channels": c_out, "kernel_size": k,
                                          "padding": k // 2}, {"type": "relu"}]}

    def pool(name):
        return {"name": name, "layers": [{"type": "maxpool2d", "kernel_size": 2}]}

    spec = {"input_shape": [1, 64, 64], "stages": [
        conv("conv1", 1, 32, 9), pool("pool1"), conv("conv2", 32, 16, 3), pool("pool2"),
        conv("conv3", 16, 16, 3), pool("pool3"),
        {"name": "fc", "layers": [{"type": "flatten"}, {"type": "dense", "in_features": 1024,
                                                        "out_features": 32}, {"type": "relu"}]},
        {"name": "logits", "layers": [{"type": "dense", "in_features": 32, "out_features": 3}]}]}
    return CNN(Network.from_spec(spec, rng=0), Display((64, 64), 16.0))


def test_claims_run_on_a_wide_network(wide):
    pooled = claim_pooling(wide, n_images=6, n_boot=20, rng=0)
    assert [c.name for c in pooled.checks] == ["hmax_c1", "cnn_pool1", "cnn_pool2", "cnn_pool3"]
    rotation = claim_rotation(wide, n_images=6, n_boot=20, n_shuffles=50, rng=0)
    assert rotation.numbers["layer"] == "fc"
    first = claim_first_layer(wide, n_v1=16, n_boot=20, rng=0)
    assert first.numbers["network"]["scores"]["n_units"] == 32
    for result in (pooled, rotation, first):
        json.dumps(result.to_dict())


@pytest.mark.slow
def test_user_model_through_hierarchy_rotation_and_hubel_wiesel(wrapped):
    from analysis.claims import claim_hierarchy, claim_hubel_wiesel
    from v1model.spiking import SpikingV1

    hierarchy = claim_hierarchy(wrapped, n_units=2, n_images=400, n_patches=20, n_top=2)
    assert hierarchy.numbers["CNN"]["layers"] == list(wrapped.layers)
    rf = hierarchy.numbers["CNN"]["rf_size_deg"]
    assert rf == sorted(rf) and rf[-1] / rf[0] > 2
    rotation = claim_rotation(wrapped, n_images=6, n_boot=20, n_shuffles=50, n_noise=500)
    assert rotation.numbers["layer"] == "code" and rotation.numbers["first_layer"] == "edges"
    assert "spike-triggered" in rotation.numbers["kernel_source"]
    assert rotation.verdict == "inconclusive"                     # 16 filters: no power
    spiking = SpikingV1(Display((32, 32), 16),
                        v1={"population": "grid", "orientations": [0, 90], "sfs": [2]}, rng=0)
    hw = claim_hubel_wiesel(wrapped, spiking=spiking, directions=2, duration=0.5)
    assert set(hw.settings["cnn_layers"]) == set(wrapped.layers)
    assert hw.numbers["cnn_sfs"] == [1.0, 2.0]                    # Nyquist / 4 and half
    for result in (hierarchy, rotation, hw):
        json.dumps(result.to_dict())
