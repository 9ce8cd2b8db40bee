"""The population fit measures what the compare job measures, and is reproducible."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from analysis.population_fit import (
    BOUNDS,
    FIT_BATTERY,
    LAYER_PROPERTIES,
    brainscore_population_score,
    f1f0_bimodality,
    f1f0_valley_depth,
    fit_population,
    population_score,
    save_fit,
)
from stimuli.display import Display
from v1model.app.battery import DEFAULT_BATTERY
from v1model.v1 import STAGE_KEYS, V1Model, fitted_parameters

TINY = Display((32, 32), 16)


def test_fit_battery_is_the_compare_jobs_default_battery():
    for name, values in FIT_BATTERY.items():
        assert tuple(getattr(DEFAULT_BATTERY, name)) == pytest.approx(values), name


def test_bounds_cover_every_stage_key_but_the_gain():
    fitted = {(stage, key) for stage, keys in STAGE_KEYS.items() for key in keys}
    assert set(BOUNDS) == fitted - {("output", "gain")}
    assert all(low < high for low, high, _ in BOUNDS.values())


def test_population_score_uses_the_given_scoring_function():
    calls = []

    def fake(values, name, n_boot, rng):
        calls.append(name)
        return SimpleNamespace(score=0.5)

    model = V1Model(TINY, n_units=24, stride=32)
    result = population_score(model, score=fake, n_boot=3)
    # the scores of the properties, plus the bimodality of the pooled F1/F0
    pooled = np.concatenate([v["modulation_ratio"] for v in result["values"].values()])
    assert result["f1f0_bimodality"] == f1f0_bimodality(pooled)
    n = 2 * len(LAYER_PROPERTIES) + 1
    assert result["mean"] == pytest.approx((0.5 * n + result["f1f0_bimodality"]) / (n + 1))
    # every layer property for both layers, F1/F0 per layer and pooled
    assert sorted(set(calls)) == sorted([*LAYER_PROPERTIES, "modulation_ratio"])
    assert calls.count("modulation_ratio") == 3
    assert set(result["layers"]) == {"simple", "complex"}


@pytest.fixture(scope="module")
def tiny_fit():  # ≈ 15 s on 2 idle cores: the tests using it are marked slow
    return fit_population(TINY, n_units=24, n_search=2, max_evaluations=4, n_boot=5)


@pytest.mark.slow
def test_fit_is_reproducible_and_never_worse_than_its_start(tiny_fit):
    again = fit_population(TINY, n_units=24, n_search=2, max_evaluations=4, n_boot=5)
    assert again.settings == tiny_fit.settings
    assert again.history == tiny_fit.history
    assert tiny_fit.evaluations == 4
    assert tiny_fit.train_score >= tiny_fit.start_score - 1e-12
    assert tiny_fit.train_score == pytest.approx(max(tiny_fit.history))
    for (stage, key), (low, high, _) in BOUNDS.items():
        assert low - 1e-9 <= tiny_fit.settings[stage][key] <= high + 1e-9


@pytest.mark.slow
def test_save_fit_writes_what_the_model_reads(tiny_fit, tmp_path):
    path = tmp_path / "fit.json"
    save_fit(tiny_fit, str(path))
    doc = json.loads(path.read_text())
    assert doc["seed"] == 0 and doc["n_units"] == 24
    assert set(doc) >= set(STAGE_KEYS) | {"fit"}
    for stage, keys in STAGE_KEYS.items():
        assert set(doc[stage]) == set(keys)
    model = V1Model(TINY, n_units=24, stride=32, **{s: doc[s] for s in STAGE_KEYS})
    assert model.params["surround"] == pytest.approx(doc["surround"])
    assert doc["fit"]["test_score"] == pytest.approx(tiny_fit.test_score)
    assert np.isfinite(doc["fit"]["train_score"])


def test_fit_rejects_equal_seeds():
    with pytest.raises(ValueError, match="test_seed must differ"):
        fit_population(TINY, train_seed=3, test_seed=3, max_evaluations=1)


def test_the_shipped_fit_is_a_brainscore_fit_with_its_provenance():
    fit = fitted_parameters()["fit"]
    cfg = fit["config"]
    assert cfg["method"] == "brainscore"
    assert fit["command"].startswith("python benchmarks/fit_v1_population.py")
    assert "--method brainscore" in fit["command"]
    assert cfg["train_seed"] != cfg["test_seed"]
    assert fit["evaluations"] <= cfg["max_evaluations"]
    assert abs(fit["train_score"] - fit["test_score"]) <= 0.05
    assert set(fit["train"]["layers"]) == {"simple", "complex"}


@pytest.mark.slow
def test_the_shipped_parameters_reproduce_the_recorded_training_score():
    """The default model on the fit's display and training seed scores what the fit
    recorded (the objective is deterministic: fixed units, fixed bootstrap seed)."""
    doc = fitted_parameters()
    fit, cfg = doc["fit"], doc["fit"]["config"]
    display = Display(tuple(cfg["display"]["shape"]), cfg["display"]["pixels_per_degree"])
    model = V1Model(display, n_units=cfg["n_units"], rng=cfg["train_seed"],
                    stride=max(display.shape))
    res = brainscore_population_score(model, n_boot=cfg["n_boot"], rng=cfg["rng"])
    assert res["mean"] == pytest.approx(fit["train_score"], abs=0.01)
    for layer, row in fit["train"]["layers"].items():
        assert res["layers"][layer]["mean"] == pytest.approx(row["mean"], abs=0.02)


def test_valley_depth_tells_a_bimodal_f1_f0_from_a_unimodal_or_flat_one():
    rng = np.random.default_rng(3)
    # Skottun et al.'s shape: complex mode ≈ 0.35, simple mode ≈ 1.5, split at 1
    bimodal = np.r_[rng.normal(0.35, 0.2, 2000), rng.normal(1.5, 0.25, 2000)].clip(0, 2)
    assert f1f0_valley_depth(bimodal) == pytest.approx(0.67, abs=0.06)
    assert f1f0_bimodality(bimodal) > 0.9
    unimodal = rng.normal(1.0, 0.35, 4000).clip(0, 2)
    flat = rng.uniform(0, 1.75, 4000)                 # the earlier default's F1/F0
    one_class = rng.normal(0.35, 0.2, 4000).clip(0, 2)
    for sample in (unimodal, flat, one_class):
        assert f1f0_valley_depth(sample) < 0.15
        assert f1f0_bimodality(sample) < 0.25
    # two modes split away from 1 (a dip at 1.6) are not Skottun's bimodality
    shifted = np.r_[rng.normal(1.0, 0.2, 2000), rng.normal(1.9, 0.05, 2000)].clip(0, 2)
    assert f1f0_bimodality(shifted) < 0.25
    assert f1f0_bimodality([]) == 0.0
    with pytest.raises(ValueError, match="values must be"):
        f1f0_valley_depth([0.5, np.nan])
    with pytest.raises(ValueError, match="values must be"):
        f1f0_valley_depth([])
