"""Tests of analysis.claims (verdict logic, helpers, small experiments) and the claims job."""

import inspect
import json
import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from analysis import claims
from analysis.claims import (
    CLAIMS,
    VERDICTS,
    Check,
    ClaimResult,
    _common,
    claim_fc_layers,
    claim_first_layer,
    fc_layers,
    verdict,
    verdict_from_checks,
)
from stimuli.datasets import shapes_dataset
from stimuli.display import Display
from stimuli.table import Table


def _check(name, value, threshold=0.5, direction=">="):
    return Check(name, f"measured {name}", value, threshold, direction)


# ----------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("value", "direction", "passed", "status"),
    [(0.6, ">=", True, "pass"), (0.5, ">=", True, "pass"), (0.4, ">=", False, "fail"),
     (0.4, "<=", True, "pass"), (0.6, "<=", False, "fail"),
     (float("nan"), ">=", False, "not measured")],
    ids=["above", "at", "below", "le-below", "le-above", "nan"],
)
def test_check_compares_value_with_threshold(value, direction, passed, status):
    c = _check("x", value, 0.5, direction)
    assert c.passed is passed
    assert c.status == status
    assert c.as_dict()["status"] == status
    assert (c.as_dict()["value"] is None) is (status == "not measured")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"direction": ">"}, "direction"), ({"threshold": float("nan")}, "threshold")],
    ids=["direction", "nan-threshold"],
)
def test_check_rejects_bad_arguments(kwargs, match):
    args = {"name": "x", "description": "x", "value": 1.0, "threshold": 0.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        Check(**args)


@pytest.mark.parametrize(
    ("values", "required", "gate", "verdict"),
    [
        ((1, 1, 1, 1), (), None, "supported"),
        ((1, 1, 1, 0), (), None, "partly supported"),
        ((1, 1, 0, 0), (), None, "partly supported"),     # half pass
        ((1, 0, 0, 0), (), None, "not supported"),        # fewer than half
        ((0, 1, 1, 1), ("a",), None, "not supported"),    # a required check fails
        ((1, 0, 1, 1), ("a",), None, "partly supported"),
        ((1, 1, 1, 1), (), 0, "inconclusive"),             # a control fails
        ((1, 1, 1, 1), (), 1, "supported"),
    ],
    ids=["all", "three", "half", "one", "required-fails", "required-passes", "gate-fails",
         "gate-passes"],
)
def test_verdict_rule(values, required, gate, verdict):
    checks = [_check(name, float(v)) for name, v in zip("abcd", values, strict=True)]
    gates = [] if gate is None else [_check("g", float(gate))]
    got, reason = verdict_from_checks(checks, required=required, gates=gates)
    assert got == verdict
    assert got in VERDICTS
    assert reason.lower().startswith(verdict)
    for c in checks:                 # every failed check is named with its value
        if not c.passed and got != "inconclusive":
            assert c.description in reason


def test_verdict_rule_not_measured_counts_as_failed():
    got, reason = verdict_from_checks([_check("a", float("nan"))])
    assert got == "not supported"
    assert "not measured" in reason


@pytest.mark.parametrize(("kwargs", "match"),
                         [({"checks": []}, "empty"),
                          ({"checks": [_check("a", 1.0)], "required": ["b"]}, "unknown")],
                         ids=["empty", "unknown-required"])
def test_verdict_rule_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        verdict_from_checks(**kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "match"),
    [("first_layer", {"cnn": object()}, TypeError, "cnn must implement the model interface"),
     ("first_layer", {"n_v1": 2}, ValueError, "n_v1"),
     ("hierarchy", {"n_top": 5, "n_patches": 2}, ValueError, "n_top"),
     ("rotation", {"angles": (0, 60)}, ValueError, "angles must be rotations in"),
     ("weight_sharing", {"fractions": (0.0,)}, ValueError, "fractions"),
     ("weight_sharing", {"cnn_widths": ((4, 8),)}, ValueError, "triples"),
     ("hubel_wiesel", {"driven": 0.0}, ValueError, "driven"),
     ("fc_layers", {"l2": -1.0}, ValueError, "l2")],
    ids=["cnn-type", "n_v1", "n_top", "angles", "fractions", "widths", "driven", "l2"],
)
def test_claims_validate_arguments(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        CLAIMS[name](**kwargs)


# ----------------------------------------------------------------------------- helpers


def test_tolerance_index_is_one_for_invariance_and_zero_at_baseline():
    amounts = np.array([0.0, 0.1, 0.2])
    same = Table({"amount": amounts, "correlation": np.ones(3), "baseline": np.full(3, 0.4)})
    other = Table({"amount": amounts, "correlation": np.array([1.0, 0.4, 0.4]),
                   "baseline": np.full(3, 0.4)})
    assert _common._tolerance_index(same) == pytest.approx(1.0)
    assert _common._tolerance_index(other) == pytest.approx(0.0)


def test_downsample_averages_blocks():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    np.testing.assert_allclose(_common._downsample(x, 2)[0], [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError, match="downsample"):
        _common._downsample(np.zeros((1, 5, 5), np.float32), 2)


def test_without_pooling_keeps_maps_and_parameters():
    from v1model.cnn import Network, default_cnn_spec

    spec = default_cnn_spec(3)
    folded = _common._without_pooling(spec)
    pooled, strided = Network.from_spec(spec, rng=0), Network.from_spec(folded, rng=0)
    assert strided.names == ("conv1", "conv2", "fc", "logits")
    assert strided.n_parameters == pooled.n_parameters
    assert strided.shapes["conv1"] == pooled.shapes["pool1"]
    assert strided.shapes["conv2"] == pooled.shapes["pool2"]
    assert spec["stages"][0]["layers"][0]["stride"] == 1          # the input is not changed


def test_principal_components_preserve_training_geometry():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(20, 50)), rng.normal(size=(5, 50))
    z_train, z_test = fc_layers._principal_components(train, test, 100)
    z = (train - train.mean(0)) / train.std(0)
    d_full = np.linalg.norm(z[:, None] - z[None], axis=2)
    d_pc = np.linalg.norm(z_train[:, None] - z_train[None], axis=2)
    np.testing.assert_allclose(d_pc, d_full, atol=1e-8)
    assert z_train.shape == (20, 19) and z_test.shape == (5, 19)   # rank n - 1


def test_cached_model_runs_each_batch_once():
    class Counting:
        display, layers, temporal = Display((4, 4), 2), ("a",), False
        calls = 0

        def responses(self, stimuli, layer):
            Counting.calls += 1
            return np.asarray(stimuli).reshape(len(stimuli), -1)

        def unit_info(self, layer):
            return {}

    cached = _common._CachedModel(Counting())
    x = np.zeros((3, 4, 4), np.float32)
    first = cached.responses(x, "a")
    np.testing.assert_array_equal(cached.responses(x.copy(), "a"), first)
    cached.responses(x + 1, "a")
    assert Counting.calls == 2


# ----------------------------------------------------------------------------- small experiments


def _cnn(n_classes=3, *, conv1_channels=8, rng=0):
    from v1model.cnn import CNN, DEFAULT_DISPLAY, Network, default_cnn_spec

    spec = default_cnn_spec(n_classes, conv1_channels=conv1_channels, conv2_channels=4,
                            fc_units=8)
    return CNN(Network.from_spec(spec, rng=rng), DEFAULT_DISPLAY)


def _set_conv1(model, kernels):
    model.network.parameters()["conv1.0.weight"][:, 0] = kernels


@pytest.fixture(scope="module")
def gabor_cnn():
    """A CNN whose first layer holds macaque-like Gabors (4 orientations x 2 shapes)."""
    from v1model.gabor import gabor_kernel

    model = _cnn()
    kernels = [gabor_kernel(16.0, orientation=o, sf=sf, phase=90.0, sigma_x=0.4 / sf,
                            sigma_y=0.45 / sf)
               for sf in (4.0, 5.6) for o in (0.0, 45.0, 90.0, 135.0)]
    # the central 9 x 9 pixels (the network's kernel size)
    _set_conv1(model, np.stack([k[k.shape[0] // 2 - 4:k.shape[0] // 2 + 5,
                                  k.shape[1] // 2 - 4:k.shape[1] // 2 + 5] for k in kernels]))
    return model


def test_first_layer_gabor_filters_are_gabor_like(gabor_cnn):
    result = claim_first_layer(gabor_cnn, n_v1=64, n_boot=50, rng=0)
    assert isinstance(result, ClaimResult) and result.number == 2
    checks = {c.name: c for c in result.checks}
    assert checks["gabor_like"].value > 0.95
    assert result.numbers["network"]["n_success"] == 8
    assert result.numbers["network"]["scores"]["n_units"] == 8     # every conv1 channel
    assert result.verdict in ("supported", "partly supported")
    assert isinstance(result.figure, Figure)
    json.dumps(result.to_dict())       # everything but the figure is JSON-able


def test_first_layer_noise_filters_are_not_supported():
    model = _cnn()
    _set_conv1(model, np.random.default_rng(1).normal(size=(8, 9, 9)))
    result = claim_first_layer(model, n_v1=64, n_boot=50, rng=0)
    assert result.verdict == "not supported"
    assert {c.name: c for c in result.checks}["gabor_like"].value < 0.5


def test_fc_layers_of_an_untrained_network_are_inconclusive():
    data = shapes_dataset(12, size=32, classes=("disk", "bar", "cross"), rng=0)
    result = claim_fc_layers(_cnn(), data=data, n_components=8)
    assert result.verdict == "inconclusive"            # chance-level network: no judgement
    numbers = result.numbers
    assert set(numbers) >= {"conv", "pooled", "fc", "network"}
    assert numbers["conv"]["n_components"] == 8 and numbers["fc"]["n_components"] == 8
    assert len(result.figure.axes[0].patches) == 4      # three read-outs and the network


@pytest.mark.slow
def test_hierarchy_small():
    result = claims.claim_hierarchy(_cnn(), n_units=1, n_images=300, n_patches=20, n_top=2)
    assert result.verdict in VERDICTS
    assert [c.name for c in result.checks] == ["rf_growth_hmax", "rf_growth_cnn",
                                               "complexity_hmax", "complexity_cnn"]
    rf = result.numbers["CNN"]["rf_size_deg"]
    assert rf == sorted(rf)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["weight_sharing"])
def test_training_claims_small(name):
    kwargs = {"weight_sharing": {"n_per_class": 8, "epochs": 1, "downsample": 4,
                                 "cnn_widths": ((2, 2, 4),), "mlp_widths": ((8,),),
                                 "fractions": (0.5,)}}[name]
    result = CLAIMS[name](**kwargs)
    assert result.verdict in VERDICTS
    assert result.key == name
    json.dumps(result.to_dict())


@pytest.mark.slow
def test_hubel_wiesel_small():
    from v1model.spiking import SpikingV1

    spiking = SpikingV1(Display((32, 32), 16),
                        v1={"population": "grid", "orientations": [0, 90], "sfs": [2]}, rng=0)
    result = claims.claim_hubel_wiesel(_cnn(), spiking=spiking, directions=2, duration=0.5)
    assert result.verdict in VERDICTS
    assert "spiking simple" in result.numbers["layers"]


# ----------------------------------------------------------------------------- the job


def test_quick_settings_name_real_parameters():
    from v1model.app.claims import QUICK, QUICK_BY_ARCH

    assert list(QUICK) == list(CLAIMS)
    per_arch = [(f"{arch}/{key}", key, o) for arch, claims_ in QUICK_BY_ARCH.items()
                for key, o in claims_.items()]
    for label, key, overrides in [(k, k, o) for k, o in QUICK.items()] + per_arch:
        params = inspect.signature(CLAIMS[key]).parameters
        assert set(overrides) <= set(params), label
        for name, value in overrides.items():        # each override changes something
            assert params[name].default != value, (label, name)


def _fake_claim(number, key, verdict_value):
    def claim(cnn=None, *, rng=0, size=10):
        fig = Figure()
        fig.subplots().plot([0, 1], [0, size])
        return verdict._result(number, key, [Check("a", "effect", verdict_value, 0.5)],
                              {"size": size, "nan": float("nan")}, fig, {"size": size}, 0.0)
    return claim


def test_job_writes_pages_index_and_summary(tmp_path, monkeypatch):
    from v1model.app import claims as claims_job

    def broken(cnn=None, *, rng=0):
        raise RuntimeError("brian2 is not installed")

    fake = {"hierarchy": _fake_claim(1, "hierarchy", 1.0),
            "first_layer": _fake_claim(2, "first_layer", 0.0),
            "pooling": broken}
    monkeypatch.setattr(claims, "CLAIMS", fake)
    monkeypatch.setattr(claims_job, "QUICK", {"hierarchy": {"size": 2}, "first_layer": {},
                                               "pooling": {}})
    stand_in = _cnn()
    stand_in.meta["name"] = "stand-in"
    out = claims_job.run_claims_job(str(tmp_path), quick=True, progress=False, seed=3,
                                    networks=[stand_in])
    assert out["verdicts"] == {"hierarchy": "supported", "first_layer": "not supported",
                               "pooling": "not run"}
    assert out["failed"] == {"pooling": ["stand-in"]}
    assert sorted(os.listdir(out["folder"])) == sorted(
        ["index.html", "summary.json", "claim_1_hierarchy.html", "claim_2_first_layer.html",
         "claim_3_pooling.html", "figures"])
    page = Path(out["pages"]["hierarchy"]).read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
    assert "size: 10 → 2" in page                      # what quick mode changed
    assert "the networks given to run_claims_job" in page and "stand-in" in page
    failed = Path(out["pages"]["pooling"]).read_text(encoding="utf-8")
    assert "brian2 is not installed" in failed
    index = Path(out["index"]).read_text(encoding="utf-8")
    assert index.count("<tr>") == 4 and "not run" in index
    summary = json.loads(Path(out["summary"]).read_text(encoding="utf-8"))
    assert summary["quick"] is True and summary["seed"] == 3
    assert [c["verdict"] for c in summary["claims"]] == ["supported", "not supported",
                                                         "not run"]
    assert summary["claims"][0]["per_network"][0]["numbers"]["nan"] is None
