"""The shipped CNN ensemble: deterministic training, honest records, Gabor-like conv1."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from v1model.cnn import CNN, PRETRAINED_PATH, Network, load_pretrained_cnn, train_default_cnn
from v1model.ensemble import (
    ARCHITECTURES,
    ENSEMBLE_SEEDS,
    _augment,
    ensemble_data,
    ensemble_members,
    load_ensemble,
    member_path,
    train_cnn,
)


def _same_weights(a: CNN, b: CNN) -> bool:
    pa, pb = a.network.parameters(), b.network.parameters()
    return sorted(pa) == sorted(pb) and all(pa[k].tobytes() == pb[k].tobytes() for k in pa)


def _gabor_r2(model: CNN) -> np.ndarray:
    from analysis.gabor_fit import fit_gabors

    kernels = model.filters("conv1").mean(axis=1).astype(np.float64)
    fits = fit_gabors(kernels, model.display.pixels_per_degree, min_r2=0.0)
    return np.nan_to_num(np.asarray(fits["r2"], dtype=np.float64), nan=0.0)


# ------------------------------------------------------------------ training is reproducible

def test_training_twice_gives_identical_weights_and_small_is_the_default_cnn():
    a = train_cnn("small", 3, n_per_class=8, epochs=2, progress=False)
    b = train_cnn("small", 3, n_per_class=8, epochs=2, progress=False)
    assert _same_weights(a, b)
    assert a.meta["curve"] == {**b.meta["curve"], "seconds": a.meta["curve"]["seconds"]}
    # the default network's trainer is the small architecture's
    assert _same_weights(a, train_default_cnn(3, n_per_class=8, epochs=2, progress=False))
    # another seed is another network
    c = train_cnn("small", 4, n_per_class=8, epochs=2, progress=False)
    assert not _same_weights(a, c)


def test_augmentation_is_seeded_and_keeps_images_in_range():
    x = np.random.default_rng(0).uniform(-1, 1, size=(20, 16, 16)).astype(np.float32)
    kw = dict(max_shift=3, flip=0.5, contrast=(0.6, 1.0))
    a = _augment(x, np.random.default_rng(5), **kw)
    b = _augment(x, np.random.default_rng(5), **kw)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.array_equal(a, _augment(x, np.random.default_rng(6), **kw))
    # a shift moves content, mean grey (0) fills in, the gain only lowers contrast
    assert np.max(np.abs(a)) <= np.max(np.abs(x)) + 1e-6
    unshifted = _augment(x, np.random.default_rng(1), max_shift=0, flip=0.0, contrast=(1, 1))
    assert np.array_equal(unshifted, x)
    mirrored = _augment(x, np.random.default_rng(1), max_shift=0, flip=1.0, contrast=(1, 1))
    assert np.array_equal(mirrored, x[:, :, ::-1])


@pytest.mark.slow
def test_wide_training_twice_gives_identical_weights():
    a = train_cnn("wide", 1, n_per_class=8, epochs=1, progress=False)
    b = train_cnn("wide", 1, n_per_class=8, epochs=1, progress=False)
    assert _same_weights(a, b)
    assert a.meta["n_test"] == 5 * 2 + 6 * 2 + 2 * 25   # faces keep their 25 test images


@pytest.mark.slow
def test_retraining_a_shipped_member_reproduces_it_bit_for_bit():
    """``v1model train-cnn --arch small --seed 1`` gives the shipped weights (about 2–3 min)."""
    shipped = CNN.load(member_path("small", 1))
    assert _same_weights(train_cnn("small", 1, progress=False), shipped)


# ------------------------------------------------------------------------ shipped members

def test_every_member_ships_with_its_record():
    members = ensemble_members()
    assert [m["name"] for m in members] == ([f"small-s{s}" for s in ENSEMBLE_SEEDS]
                                            + [f"wide-s{s}" for s in ENSEMBLE_SEEDS])
    total = 0
    for m in members:
        total += os.path.getsize(m["path"])
        low, high = m["accuracy_ci"]
        assert low < m["test_accuracy"] < high
        assert m["test_accuracy"] >= 0.75, m          # 11 or 13 classes: chance < 0.1
        with open(m["path"][:-4] + ".json") as fh:
            record = json.load(fh)
        assert record["command"] == f"v1model train-cnn --arch {m['arch']} --seed {m['seed']}"
        assert len(record["curve"]["test_accuracy"]) == ARCHITECTURES[m["arch"]]["training"][
            "epochs"]
        assert record["curve"]["test_accuracy"][-1] == m["test_accuracy"]
        # the network learned: training loss fell over the epochs
        assert record["curve"]["loss"][-1] < 0.5 * record["curve"]["loss"][0]
    assert total < 6 * 2**20                           # "a few MB"
    assert [m["arch"] for m in ensemble_members("wide")] == ["wide"] * len(ENSEMBLE_SEEDS)


def test_load_pretrained_cnn_is_the_first_small_member():
    assert PRETRAINED_PATH == member_path("small", 0)
    model = load_pretrained_cnn()
    assert model.meta["name"] == "small-s0" and model.meta["arch"] == "small"


@pytest.mark.parametrize("arch, seed", [("small", 1), ("wide", 2)])
def test_recorded_accuracy_recomputes_from_the_regenerated_test_set(arch, seed):
    model = CNN.load(member_path(arch, seed))
    data = ensemble_data(model)
    assert data.n_classes == len(model.class_names) == {"small": 11, "wide": 13}[arch]
    assert data.x_test.shape[1:] == model.display.shape
    correct = int(np.sum(model.predict(data.x_test) == data.y_test))
    assert correct / len(data.y_test) == model.meta["test_accuracy"]
    from analysis.decoding import wilson_interval

    assert model.meta["accuracy_ci"] == pytest.approx(wilson_interval(correct, len(data.y_test)),
                                                      abs=1e-12)


@pytest.mark.slow
def test_every_recorded_accuracy_recomputes():
    for model in load_ensemble():
        data = ensemble_data(model.meta)
        assert model.accuracy(data.x_test, data.y_test) == model.meta["test_accuracy"]


def test_load_ensemble_orders_members_and_keeps_their_records():
    models = load_ensemble("wide")
    assert [m.meta["seed"] for m in models] == list(ENSEMBLE_SEEDS)
    assert all(m.meta["arch"] == "wide" for m in models)
    first = models[0]
    assert first.display.shape == (64, 64) and first.display.pixels_per_degree == 16.0
    assert first.layers == ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "fc",
                            "logits")
    assert first.network.shapes["pool3"] == (64, 4, 4)      # a small fc after 4 x 4


def test_wide_conv1_has_many_gabor_like_kernels():
    """≥ 32 kernels, and Gabor fits far better than for the random start (R² ≈ 0.2)."""
    model = CNN.load(member_path("wide", 0))
    assert model.filters("conv1").shape[:2] == (32, 1)
    trained = _gabor_r2(model)
    start = Network.from_spec(model.network.spec(), rng=np.random.default_rng([0, 1]))
    untrained = _gabor_r2(CNN(start, model.display))
    assert np.median(untrained) < 0.35
    assert np.median(trained) > np.median(untrained) + 0.3, (np.median(trained),
                                                            np.median(untrained))
    assert np.mean(trained >= 0.7) >= 0.3


# -------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("call, match", [
    (lambda: train_cnn("huge", 0), r"arch must be one of \['small', 'wide'\]"),
    (lambda: train_cnn("small", -1), "seed"),
    (lambda: train_cnn("small", 0, momentum=0.9), r"unknown setting.*momentum.*allowed"),
    (lambda: train_cnn("small", 0, epochs=0, progress=False), "epochs"),
    (lambda: ensemble_members("tiny"), "arch"),
    (lambda: load_ensemble("tiny"), "arch"),
    (lambda: member_path("wide", -3), "seed"),
    (lambda: ensemble_data({"arch": "wide"}), "data.seed"),
    (lambda: ensemble_data({"arch": "deep", "data": {"seed": 0}}), "arch"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_ensemble_data_needs_a_record():
    with pytest.raises(TypeError, match="meta_or_model"):
        ensemble_data(3)
