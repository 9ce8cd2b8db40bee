"""Claims 5 and 6 on shipped, trained networks: nothing is trained in the claims run."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from analysis.claims.fc_layers import claim_fc_layers
from analysis.claims.weight_sharing import (
    GRID_KIND,
    GRID_SEEDS,
    SHIPPED_GRID,
    claim_weight_sharing,
    grid_path,
    shipped_grids,
    train_weight_sharing_grid,
)
from stimuli._shared.io import load_npz
from v1model.cnn import CNN
from v1model.ensemble import member_path

TINY = dict(n_per_class=8, epochs=1, downsample=4, cnn_widths=((2, 2, 4), (2, 4, 4)),
            mlp_widths=((8,),), fractions=(0.5,))


# ------------------------------------------------------------------ claim 5: weight sharing

def test_every_shipped_grid_scores_without_training():
    assert [g["seed"] for g in shipped_grids()] == list(GRID_SEEDS)
    for grid in shipped_grids():
        _, meta = load_npz(grid["path"], GRID_KIND)
        start = time.perf_counter()
        result = claim_weight_sharing(**SHIPPED_GRID, rng=grid["seed"], weights="shipped")
        assert time.perf_counter() - start < 30
        numbers = result.numbers
        assert not numbers["trained_here"] and numbers["weights"] == grid["path"]
        # the accuracies recomputed on the regenerated test set are the recorded ones
        recorded = [r["record"]["test_accuracy"] for r in meta["runs"]]
        assert [r["test_accuracy"] for r in numbers["runs"]] == recorded
        # the claim's science on 16 x 16 px: the CNNs beat the MLPs
        best_cnn = max(r["test_accuracy"] for r in numbers["runs"] if r["kind"] == "cnn")
        best_mlp = max(r["test_accuracy"] for r in numbers["runs"] if r["kind"] == "mlp")
        assert best_cnn > best_mlp + 0.05, numbers["runs"]


def test_a_saved_grid_scores_like_the_grid_trained_in_the_claim(tmp_path):
    path = train_weight_sharing_grid(3, path=tmp_path / "grid.npz", **TINY)
    trained = claim_weight_sharing(**TINY, rng=3)
    loaded = claim_weight_sharing(**TINY, rng=3, weights=path)
    assert trained.numbers["trained_here"] and not loaded.numbers["trained_here"]
    for a, b in zip(trained.numbers["runs"], loaded.numbers["runs"], strict=True):
        assert (a["model"], a["fraction"], a["test_accuracy"], a["ci"]) == (
            b["model"], b["fraction"], b["test_accuracy"], b["ci"])
    assert [c.value for c in trained.checks] == [c.value for c in loaded.checks]
    with pytest.raises(ValueError, match="epochs=1 \\(asked 2\\)"):
        claim_weight_sharing(**{**TINY, "epochs": 2}, rng=3, weights=path)
    with pytest.raises(ValueError, match="seed 3, not of rng=4"):
        claim_weight_sharing(**TINY, rng=4, weights=path)
    with pytest.raises(TypeError, match="rng"):
        claim_weight_sharing(**TINY, rng=np.random.default_rng(3), weights=path)
    with pytest.raises(FileNotFoundError, match="train_weight_sharing_grid"):
        claim_weight_sharing(**TINY, rng=3, weights=tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="unknown grid setting"):
        train_weight_sharing_grid(0, path=tmp_path / "x.npz", width=3)


@pytest.mark.slow
def test_retraining_a_shipped_grid_reproduces_it_bit_for_bit(tmp_path):
    path = train_weight_sharing_grid(1, path=tmp_path / "grid.npz")
    new, _ = load_npz(path, GRID_KIND)
    shipped, _ = load_npz(grid_path(1), GRID_KIND)
    assert sorted(new) == sorted(shipped)
    assert all(new[k].tobytes() == shipped[k].tobytes() for k in new)


def test_shipped_grids_are_small():
    total = sum(os.path.getsize(grid_path(s)) for s in GRID_SEEDS)
    assert total < 4 * 2**20


# ---------------------------------------------------------------------- claim 6: fc layers

@pytest.mark.slow
@pytest.mark.parametrize("arch", ["small", "wide"])
def test_fc_layers_reads_out_the_last_stages_of_each_architecture(arch):
    cnn = CNN.load(member_path(arch, 1))
    result = claim_fc_layers(cnn, n_train=1000, n_components=64, l2=(1e-2,))
    numbers = result.numbers
    last = {"small": ("conv2", "pool2"), "wide": ("conv3", "pool3")}[arch]
    assert (numbers["conv"]["layer"], numbers["pooled"]["layer"]) == last
    # the network is scored on its own regenerated test set: its recorded accuracy
    assert numbers["network"]["accuracy"] == cnn.meta["test_accuracy"]
    assert numbers["n_test"] == cnn.meta["n_test"]
