"""The ``v1model rf`` job: maps recover the model's own filters; files, notes and errors."""

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.receptive_fields import ReceptiveFields
from stimuli.table import Table
from v1model.app.registry import get_model, register_model
from v1model.app.rf import run_rf_job
from v1model.v1 import V1Model


@pytest.fixture(scope="module", autouse=True)
def grid_v1():
    """The job's mapping is checked against the V1 filter grid: linear-rectified Gabors
    whose filters are known exactly (the default macaque population mixes pathways and
    normalises, so its maps are not its filters)."""
    original = get_model("v1")
    fields = {f.name: getattr(original, f.name) for f in dataclasses.fields(original)
              if f.name not in ("name", "factory")}

    def grid(display, *, seed, stride=1):
        return V1Model.grid(display, stride=stride)

    register_model("v1", grid, replace=True, **fields)
    yield
    register_model("v1", original.factory, replace=True, **fields)


@pytest.fixture(scope="module")
def v1_simple(tmp_path_factory):
    out = tmp_path_factory.mktemp("rf")
    written = run_rf_job(str(out), model="v1", layer="simple", n_images=3000, size=32,
                         progress=False)
    return written


def test_white_noise_fits_recover_the_v1_filters(v1_simple):
    # the V1 simple cells are linear-rectified Gabors: reverse correlation plus a Gabor
    # fit must give back each unit's own orientation and sf
    summary = json.loads(Path(v1_simple["summary"]).read_text())
    fits = summary["gabor_fits"]
    assert summary["n_units"] == 144 and summary["n_responsive"] == 144
    assert fits["n_success"] >= 100
    assert fits["median_orientation_error_deg"] < 3.0
    assert abs(fits["median_sf_ratio"] - 1.0) < 0.1
    assert set(fits["similarity_to_macaque"]) == {"ringach_nx", "ringach_ny"}
    assert "note" not in summary


def test_files_reload_and_tables_hold_one_row_per_unit(v1_simple):
    files = {f.rsplit("_", 1)[-1]: f for f in v1_simple["files"]}
    rf = ReceptiveFields.load(files["maps.npz"])
    assert rf.maps.shape == (144, 32, 32) and rf.method == "white_noise"
    with open(files["fits.csv"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 144
    assert {"unit_orientation", "orientation", "nx", "ny", "r2", "split_half_r"} <= set(rows[0])
    table = json.loads(Path(files["fits.json"]).read_text())
    assert len(Table(table) if isinstance(table, dict) else table) == 144
    for name in ("maps.png", "convergence.png", "fit.png", "ny.png"):
        assert name in files


def test_energy_complex_cells_get_a_note_not_fits(tmp_path):
    written = run_rf_job(str(tmp_path), layer="complex", n_images=400, size=24,
                         progress=False)
    summary = json.loads(Path(written["summary"]).read_text())
    assert summary["gabor_fits"]["n_success"] == 0
    assert "--method gratings" in summary["note"]


def test_gratings_find_complex_cell_centres(tmp_path):
    written = run_rf_job(str(tmp_path), layer="complex", method="gratings", grid=5, size=32,
                         progress=False)
    summary = json.loads(Path(written["summary"]).read_text())
    assert summary["n_success"] >= 0.8 * summary["n_units"]
    assert summary["median_abs_centre_deg"] < 0.2       # the recorded units sit at the centre


def test_sparse_noise_maps_have_on_and_off(tmp_path):
    written = run_rf_job(str(tmp_path), method="sparse_noise", n_images=500, size=24,
                         progress=False)
    rf = ReceptiveFields.load(next(f for f in written["files"] if f.endswith(".npz")))
    assert rf.on_maps is not None and np.allclose(rf.maps, rf.on_maps - rf.off_maps)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "alexnet"}, ValueError, "model must be one of 'v1', 'hmax'"),
        ({"layer": "S1"}, ValueError, "layer must be one of 'simple', 'complex'; got 'S1'"),
        ({"method": "stc"}, ValueError, "method must be one of"),
        ({"units": "some"}, ValueError, "units must be one of"),
        ({"n_images": 2}, ValueError, "n_images must be"),
        ({"method": "gratings", "n_images": 100}, ValueError, "n_images applies to the noise"),
        ({"method": "gratings", "grid": 2}, ValueError, "grid must be"),
        ({"min_r2": 1.0}, ValueError, "min_r2"),
        ({"model": "cnn", "size": 48}, ValueError, "fixed display"),
        ({"progress": "yes"}, TypeError, "progress must be True or False"),
    ],
    ids=["model", "layer", "method", "units", "few-images", "images-for-gratings", "grid",
         "min-r2", "cnn-size", "progress"],
)
def test_bad_arguments_name_the_parameter(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        run_rf_job(str(tmp_path), **kwargs)
    assert not (tmp_path / "rf").exists()          # nothing written before the checks pass
