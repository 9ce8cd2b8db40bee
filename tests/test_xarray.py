"""Recordings and tables to and from xarray (Brain-Score's presentation x neuroid layout)."""

import numpy as np
import pytest

from analysis.recording import Recording
from stimuli.table import Table

xr = pytest.importorskip("xarray")


def _assert_same(a: Recording, b: Recording) -> None:
    assert a.responses.dtype == b.responses.dtype
    np.testing.assert_array_equal(a.responses, b.responses)
    assert a.conditions.names == b.conditions.names
    for name in a.conditions.names:
        assert a.conditions[name].dtype == b.conditions[name].dtype, name
        np.testing.assert_array_equal(a.conditions[name], b.conditions[name])
    assert list(a.unit_info) == list(b.unit_info)
    for key, value in a.unit_info.items():
        assert value.dtype == b.unit_info[key].dtype, key
        np.testing.assert_array_equal(value, b.unit_info[key])
    assert a.meta == b.meta


def _recording(time: bool) -> Recording:
    rng = np.random.default_rng(0)
    shape = (6, 4, 5) if time else (6, 4)
    conditions = {
        "orientation": np.repeat([0.0, 90.0], 3),
        "phase": np.tile(np.array([0, 120, 240], dtype=np.int64), 2),
        "blank": np.array([False, False, True] * 2),
        "kind": np.array(["grating", "bar", "blank"] * 2),
    }
    unit_info = {"orientation": np.array([0.0, 45.0, 90.0, 135.0], dtype=np.float32),
                 "cell": np.array(["simple", "complex", "simple", "complex"])}
    meta = {"model": "v1", "layer": "complex", "protocol": "orientation_tuning",
            "protocol_params": {"sfs": [2.0]}}
    if time:
        meta["time_step"] = 0.01
    return Recording(conditions, rng.random(shape).astype(np.float32), unit_info, meta)


@pytest.mark.parametrize("time", [False, True], ids=["rates", "time-bins"])
def test_recording_round_trip_is_exact(time):
    rec = _recording(time)
    da = rec.to_xarray()
    _assert_same(Recording.from_xarray(da), rec)


def test_assembly_layout_matches_brain_score():
    rec = _recording(time=True)
    da = rec.to_xarray()
    assert da.dims == ("presentation", "neuroid", "time_bin")
    assert da.attrs["model"] == "v1" and da.attrs["layer"] == "complex"
    assert da.attrs["protocol"] == "orientation_tuning"
    # stimulus metadata along presentation, unit metadata along neuroid
    np.testing.assert_array_equal(da["orientation"].values, rec.conditions["orientation"])
    np.testing.assert_array_equal(da["unit_orientation"].values, rec.unit_info["orientation"])
    assert da["neuroid_id"].values.tolist() == [f"complex.{i}" for i in range(4)]
    assert da["stimulus_id"].values.tolist() == list(range(6))
    # 10 ms bins in milliseconds, as Brain-Score's time_bin_start / time_bin_end
    np.testing.assert_allclose(da["time_bin_start"].values, [0, 10, 20, 30, 40], atol=1e-9)
    np.testing.assert_allclose(da["time_bin_end"].values, [10, 20, 30, 40, 50], atol=1e-9)
    # selection by a stimulus coordinate picks the same rows as the Recording
    sub = da.where(da.orientation == 90, drop=True)
    np.testing.assert_array_equal(sub.values, rec.responses[3:])


def test_foreign_assembly_is_read_from_its_coordinates():
    da = xr.DataArray(
        np.arange(12.0).reshape(3, 2, 2),
        dims=("presentation", "neuroid", "time_bin"),
        coords={"stimulus_id": ("presentation", np.array(["a", "b", "c"], dtype=object)),
                "sf": ("presentation", [1.0, 2.0, 4.0]),
                "neuroid_id": ("neuroid", ["n1", "n2"]),
                "region": ("neuroid", ["V1", "V1"]),
                "time_bin_start": ("time_bin", [70, 120]),
                "time_bin_end": ("time_bin", [120, 170])},
        attrs={"model": "monkey"},
    )
    rec = Recording.from_xarray(da)
    assert rec.conditions.names == ("stimulus_id", "sf")
    assert rec.conditions["stimulus_id"].dtype.kind == "U"
    assert rec.unit_info["region"].tolist() == ["V1", "V1"]
    assert rec.meta["model"] == "monkey"
    assert rec.meta["time_step"] == pytest.approx(0.05, rel=1e-12)


def test_brainio_style_multiindex_assembly():
    """Brain-Score's brainio keeps presentation and neuroid coordinates in MultiIndexes."""
    pd = pytest.importorskip("pandas")
    presentation = pd.MultiIndex.from_arrays([["a", "b", "c"], [1.0, 2.0, 4.0]],
                                             names=["stimulus_id", "sf"])
    neuroid = pd.MultiIndex.from_arrays([["n1", "n2"], ["V1", "V1"]],
                                        names=["neuroid_id", "region"])
    coords = xr.Coordinates.from_pandas_multiindex(presentation, "presentation").merge(
        xr.Coordinates.from_pandas_multiindex(neuroid, "neuroid")).coords
    da = xr.DataArray(np.arange(6.0).reshape(3, 2), dims=("presentation", "neuroid"),
                      coords=coords)
    rec = Recording.from_xarray(da)
    assert rec.conditions.names == ("stimulus_id", "sf")
    assert rec.conditions["sf"].tolist() == [1.0, 2.0, 4.0]
    assert list(rec.unit_info) == ["region"]
    np.testing.assert_array_equal(rec.responses, da.values)


@pytest.mark.parametrize("make, error, match", [
    (lambda: Recording.from_xarray(np.zeros((2, 2))), TypeError, "DataArray"),
    (lambda: Recording.from_xarray(xr.DataArray(np.zeros((2, 2)), dims=("neuroid", "x"))),
     ValueError, "dims"),
    (lambda: Recording.from_xarray(xr.DataArray(
        np.zeros((1, 1, 2)), dims=("presentation", "neuroid", "time_bin"),
        coords={"time_bin_start": ("time_bin", [0, 10]), "time_bin_end": ("time_bin", [10, 30])})),
     ValueError, "same width"),
    (lambda: Recording.from_xarray(xr.DataArray(
        np.zeros((1, 1, 2)), dims=("presentation", "neuroid", "time_bin"))),
     ValueError, "time_step"),
    (lambda: Recording.from_xarray(xr.DataArray(
        [[np.nan]], dims=("presentation", "neuroid"))), ValueError, "finite"),
], ids=["not-xarray", "wrong-dims", "unequal-bins", "no-bin-width", "nan"])
def test_from_xarray_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("conditions, unit_info", [
    ({"neuroid_id": [1.0]}, {}),
    ({"unit_x": [1.0]}, {"x": [2.0]}),
    ({"neuroid": [1.0]}, {}),
    ({"time_bin_end": [1.0]}, {}),
], ids=["neuroid_id", "unit-prefix", "dim-name", "time-bin-edge"])
def test_condition_names_that_would_collide_are_refused(conditions, unit_info):
    rec = Recording(conditions, [[1.0]], unit_info=unit_info)
    with pytest.raises(ValueError, match=f"conditions column {next(iter(conditions))!r}"):
        rec.to_xarray()


def test_table_round_trip_is_exact():
    t = Table({"osi": np.array([0.1, 0.9], dtype=np.float32), "n": np.array([3, 4]),
               "ok": np.array([True, False]), "cell": np.array(["simple", "complex"])})
    ds = t.to_xarray(dim="neuroid")
    assert ds.sizes == {"neuroid": 2}
    back = Table.from_xarray(ds)
    assert back.names == t.names
    for name in t.names:
        assert back[name].dtype == t[name].dtype
        np.testing.assert_array_equal(back[name], t[name])


@pytest.mark.parametrize("make, error, match", [
    (lambda: Table({"row": [1.0]}).to_xarray(), ValueError, "dim must differ"),
    (lambda: Table({"a": [1.0]}).to_xarray(dim=""), ValueError, "dim"),
    (lambda: Table.from_xarray({"a": [1.0]}), TypeError, "Dataset"),
    (lambda: Table.from_xarray(xr.Dataset({"a": (("r", "c"), [[1.0]])})), ValueError, "1-D"),
    (lambda: Table.from_xarray(xr.Dataset({"a": ("r", [1.0]), "b": ("s", [2.0])})),
     ValueError, "one dimension"),
], ids=["dim-is-column", "empty-dim", "not-dataset", "2-d", "two-dims"])
def test_table_xarray_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()
