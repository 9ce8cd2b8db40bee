"""``v1model compare`` with its models run on worker processes.

The registered models go through the battery on the executor's workers (longest
first); the report and summary must not depend on it, nor on the order in which
the workers finish, and a model that fails in a worker is skipped with the reason
it has when run here.
"""

import dataclasses
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import v1model.app.compare as job
from v1model import V1Model
from v1model.app import battery, registry
from v1model.app.registry import get_model
from v1model.hmax import HMAX

#: Smaller than QUICK_BATTERY (as in test_compare_job): enough stimuli for every fit.
TINY = dataclasses.replace(
    battery.QUICK_BATTERY, name="tiny", size=40,
    orientations=(0.0, 30.0, 60.0, 90.0, 120.0, 150.0), phases=(0.0, 90.0, 180.0, 270.0),
    sfs=(2.0,), sf_values=(0.5, 1.0, 2.0, 4.0, 6.0),
    sf_orientations=(0.0, 90.0), size_orientations=(0.0,), size_sfs=(2.0,), rf_grid=8,
    rf_extent=1.25, n_natural=12, n_invariance=2, shifts=(0.0, 0.5), n_boot=20, curve_units=2,
    mosaic_units=4)

#: Keys of summary.json that hold times, pids or paths, not results.
_NOT_RESULTS = {"seconds", "timing", "cpu_s", "wall_s", "recordings", "figures", "job"}


def _small_hmax(display, *, seed):
    """HMAX with its four smallest S1 sizes (two C1 bands): same code, less work."""
    return HMAX(display, s1={"sizes": (7, 9, 11, 13)},
                c1={"pool_sizes": (8, 10), "pool_steps": (4, 5)})


def _broken(display, *, seed):
    raise RuntimeError("this factory always fails")


def _fails_in_battery(display, *, seed):
    """A V1 model that answers the contract check (2 images) but no real protocol."""
    model = V1Model(display, stride=8)
    original = model.responses_at

    def responses_at(stimuli, layer, rows, cols):
        if len(stimuli) > 2:
            raise RuntimeError("too many images for this model")
        return original(stimuli, layer, rows, cols)

    model.responses_at = responses_at
    return model


def _results(summary):
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in _NOT_RESULTS}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip(summary)


@pytest.fixture()
def small_registry(monkeypatch):
    """v1, a small HMAX, and two models that fail (one in its factory, one in the battery)."""
    monkeypatch.setitem(registry._REGISTRY, "hmax",
                        dataclasses.replace(get_model("hmax"), factory=_small_hmax))
    for name, factory in (("broken", _broken), ("failing", _fails_in_battery)):
        monkeypatch.setitem(registry._REGISTRY, name, dataclasses.replace(
            get_model("v1"), name=name, title=name, factory=factory, layers=("simple",),
            default_layers=("simple",), rf_layers=()))
    monkeypatch.setattr(battery, "QUICK_BATTERY", TINY)


def _run(tmp_path, name, executor, models, layers=("simple", "S1")):
    written = job.run_compare_job(str(tmp_path / name), quick=True, progress=False, seed=3,
                                  models=models, layers=list(layers), executor=executor)
    with open(written["summary"], encoding="utf-8") as fh:
        return written, json.load(fh)


@pytest.mark.slow
def test_models_on_workers_give_the_summary_of_models_run_here(tmp_path, small_registry):
    models = ["broken", "v1", "failing", "hmax"]
    here, serial = _run(tmp_path, "here", None, models)
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        there, parallel = _run(tmp_path, "pool", pool, models)
    # the same numbers, models and layers in the same (selection) order
    assert _results(parallel) == _results(serial)
    assert list(parallel["models"]) == ["v1", "hmax"]
    v1 = parallel["models"]["v1"]["layers"]["simple"]
    assert v1["n_units"] > 0 and np.isfinite(v1["similarity_to_macaque"][
        "preferred_orientation"]["ceiled"])
    # failures in a worker are skipped with the reason they have here, in selection order
    reasons = {"broken": "RuntimeError: this factory always fails",
               "failing": "the battery failed on it: RuntimeError: too many images for this "
                          "model"}
    assert parallel["skipped"] == serial["skipped"] == reasons
    assert list(parallel["skipped"]) == ["broken", "failing"]
    assert there["skipped"] == here["skipped"] == reasons
    # the timing says what ran where: per model as measured in its worker, plus the
    # wall time of the models side by side
    timing = parallel["timing"]
    assert "models_in_parallel" in timing and "models_in_parallel" not in serial["timing"]
    for name in ("v1", "hmax"):
        assert 0 < timing[f"model:{name}"]["wall_s"] <= timing["models_in_parallel"]["wall_s"]
        assert timing[f"model:{name}"]["cpu_s"] > 0
    # figures and their order do not depend on where the models ran
    assert [f["name"] for f in parallel["figures"]] == [f["name"] for f in serial["figures"]]


def test_a_model_failing_in_a_worker_is_skipped_with_its_reason(tmp_path, small_registry):
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        written, summary = _run(tmp_path, "pool", pool, ["failing", "v1", "broken"],
                                layers=["simple"])
    assert summary["skipped"] == written["skipped"] == {
        "failing": "the battery failed on it: RuntimeError: too many images for this model",
        "broken": "RuntimeError: this factory always fails"}
    assert list(summary["models"]) == ["v1"]
    assert summary["models"]["v1"]["layers"]["simple"]["n_responsive"] > 0
    report = (tmp_path / "pool" / "compare" / "report.html").read_text()
    assert "this factory always fails" in report and "too many images" in report


def test_longest_models_go_first_and_unpicklable_entries_stay_here(small_registry):
    expected = sorted(["cnn", "v1", "hmax", "spiking"],
                      key=lambda n: -job._EXPECTED_COST[n])
    assert expected == ["spiking", "v1", "hmax", "cnn"]
    assert job._sendable(get_model("v1"))
    local = dataclasses.replace(get_model("v1"), factory=lambda display, *, seed: None)
    assert not job._sendable(local)
