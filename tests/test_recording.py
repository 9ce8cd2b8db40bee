"""Recording: validation, unit selection, exact save/load round trip, safe files."""

import os
import zipfile

import numpy as np
import pytest

from analysis.recording import Recording
from stimuli._shared import io as _io
from stimuli.table import Table


def _recording(time: bool = True) -> Recording:
    rng = np.random.default_rng(0)
    conditions = Table({
        "orientation": np.array([0.0, 45.0, 90.0]),
        "repeat": np.array([0, 1, 2], dtype=np.int64),
        "polarity": np.array([1, -1, 1], dtype=np.int8),
        "blank": np.array([False, True, False]),
        "label": np.array(["a", "bb", "ccc"]),
        "radius": np.array([np.inf, 1.0, 2.0]),
    })
    shape = (3, 4, 5) if time else (3, 4)
    responses = rng.normal(size=shape).astype(np.float32)
    unit_info = {
        "orientation": np.array([0.0, 45.0, 90.0, 135.0]),
        "channel": np.arange(4, dtype=np.int32),
        "kind": np.array(["simple", "simple", "complex", "complex"]),
    }
    meta = {"model": "Tiny", "layer": "simple", "protocol": "orientation_tuning",
            "protocol_params": {"orientations": (0.0, 45.0, 90.0), "radius": None},
            "nested": {"values": np.arange(3), "scalar": np.float32(0.5)}}
    if time:
        meta["time_step"] = 0.025
    return Recording(conditions, responses, unit_info, meta)


def _assert_equal(a: Recording, b: Recording) -> None:
    assert a.conditions.names == b.conditions.names
    for name in a.conditions.names:
        assert a.conditions[name].dtype == b.conditions[name].dtype, name
        np.testing.assert_array_equal(a.conditions[name], b.conditions[name])
    assert a.responses.dtype == b.responses.dtype
    np.testing.assert_array_equal(a.responses, b.responses)
    assert list(a.unit_info) == list(b.unit_info)
    for key in a.unit_info:
        assert a.unit_info[key].dtype == b.unit_info[key].dtype, key
        np.testing.assert_array_equal(a.unit_info[key], b.unit_info[key])
    assert a.meta == b.meta


@pytest.mark.parametrize("time", [True, False], ids=["with-time", "no-time"])
def test_round_trip_is_exact(tmp_path, time):
    rec = _recording(time)
    path = tmp_path / "rec.npz"
    rec.save(path)
    loaded = Recording.load(path)
    _assert_equal(rec, loaded)
    assert loaded.has_time is time
    assert loaded.meta["protocol_params"]["orientations"] == [0.0, 45.0, 90.0]
    assert os.listdir(tmp_path) == ["rec.npz"]  # no temporary files left behind
    with np.load(path, allow_pickle=False) as data:  # loadable without pickle
        assert "responses" in data.files


def test_properties_and_defaults():
    rec = _recording()
    assert (rec.n_stimuli, rec.n_units, rec.has_time, rec.n_time) == (3, 4, True, 5)
    np.testing.assert_allclose(rec.times, [0.0, 0.025, 0.05, 0.075, 0.1])
    plain = Recording({"sf": [1.0, 2.0]}, np.array([[1, 2], [3, 4]]))
    assert plain.responses.dtype == np.float64  # integers become float64
    assert plain.meta == {"model": None, "layer": None, "protocol": None,
                          "protocol_params": {}}
    assert plain.unit_info == {} and plain.times is None
    assert "layer=None" in repr(plain) and "2x2" in repr(plain)


def test_select_units_and_stimuli():
    rec = _recording()
    sub = rec.select_units([3, 0])
    np.testing.assert_array_equal(sub.responses, rec.responses[:, [3, 0]])
    assert sub.unit_info["kind"].tolist() == ["complex", "simple"]
    assert sub.meta == rec.meta and sub.conditions is rec.conditions
    masked = rec.select_units(rec.unit_info["kind"] == "complex")
    assert masked.n_units == 2 and masked.unit_info["orientation"].tolist() == [90.0, 135.0]
    assert rec.select_units(-1).unit_info["channel"].tolist() == [3]
    rows = rec.select_stimuli(rec.conditions["orientation"] > 0)
    assert rows.n_stimuli == 2 and rows.conditions["label"].tolist() == ["bb", "ccc"]
    with pytest.raises(IndexError, match="index value 4 is out of range for 4 units"):
        rec.select_units([4])
    with pytest.raises(ValueError, match="selects no units"):
        rec.select_units([])
    with pytest.raises(ValueError, match="boolean mask must have length 4"):
        rec.select_units([True, False])
    with pytest.raises(TypeError, match="integers or a boolean mask"):
        rec.select_units([0.5])


def test_truncated_and_foreign_files_raise_value_error(tmp_path):
    path = tmp_path / "rec.npz"
    _recording().save(path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or foreign"):
        Recording.load(truncated)
    text = tmp_path / "text.npz"
    text.write_text("not a recording")
    with pytest.raises(ValueError, match="truncated or foreign"):
        Recording.load(text)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ValueError, match="no metadata"):
        Recording.load(foreign)
    other_kind = tmp_path / "model.npz"
    _io.save_npz(other_kind, {"w": np.ones(2)}, {"kind": "model"})
    with pytest.raises(ValueError, match="not a 'recording'"):
        Recording.load(other_kind)
    missing = tmp_path / "missing.npz"
    _io.save_npz(missing, {"condition_0": np.ones(2)},
                 {"kind": "recording", "format_version": 1, "condition_names": ["a"],
                  "unit_info_names": [], "meta": {}})
    with pytest.raises(ValueError, match="not a valid recording file.*responses"):
        Recording.load(missing)
    with pytest.raises(FileNotFoundError):
        Recording.load(tmp_path / "absent.npz")


def test_corrupted_member_raises_value_error(tmp_path):
    path = tmp_path / "rec.npz"
    _recording().save(path)
    corrupt = tmp_path / "corrupt.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(corrupt, "w") as dst:
        for item in src.infolist():
            payload = src.read(item)
            if item.filename == "responses.npy":
                payload = payload[:-8]  # drop the last values: shape no longer matches
            dst.writestr(item, payload)
    with pytest.raises(ValueError):
        Recording.load(corrupt)


def test_interrupted_save_keeps_the_earlier_file(tmp_path, monkeypatch):
    path = tmp_path / "rec.npz"
    first = _recording(time=False)
    first.save(path)
    before = path.read_bytes()

    def fail(file, **arrays):
        with open(file, "wb") as fh:  # write part of a file, then die
            fh.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt("simulated interruption")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(KeyboardInterrupt):
        _recording(time=True).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["rec.npz"]
    monkeypatch.undo()
    _assert_equal(Recording.load(path), first)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"responses": np.array([[1.0, np.nan]])}, ValueError, "responses must be finite"),
        ({"responses": np.ones(3)}, ValueError, r"responses must have shape \(n_stimuli"),
        ({"responses": np.ones((1, 2, 3, 4))}, ValueError, "responses must have shape"),
        ({"responses": np.array([["a", "b"]])}, TypeError, "responses must be a numeric"),
        ({"responses": np.ones((2, 2))}, ValueError, "conditions has 1 rows but responses has 2"),
        ({"unit_info": {"orientation": [0.0]}}, ValueError,
         r"unit_info\['orientation'\] must have shape \(2,\)"),
        ({"unit_info": {"tag": np.array([None, 1], dtype=object)}}, TypeError, "dtype object"),
        ({"conditions": {"x": np.array([object()], dtype=object)}}, TypeError,
         "conditions column 'x' has dtype object"),
        ({"conditions": [1.0]}, TypeError, "conditions must be a Table"),
        ({"meta": {"f": print}}, TypeError, "meta must be JSON-serialisable"),
        ({"meta": "simple"}, TypeError, "meta must be a mapping"),
        ({"responses": np.ones((1, 2, 3))}, ValueError, r"meta\['time_step'\].*required"),
        ({"responses": np.ones((1, 2, 3)), "meta": {"time_step": -1.0}}, ValueError,
         r"meta\['time_step'\] must be positive"),
    ],
    ids=["nan", "1d", "4d", "strings", "rows", "unit-info-length", "unit-info-object",
         "object-column", "conditions-type", "meta-json", "meta-type", "no-time-step",
         "negative-time-step"],
)
def test_bad_input_names_the_parameter(kwargs, error, match):
    args = {"conditions": {"sf": [1.0]}, "responses": np.ones((1, 2))} | kwargs
    with pytest.raises(error, match=match):
        Recording(**args)


def test_rates_average_over_time_and_copy_static_responses():
    rng = np.random.default_rng(0)
    counts = rng.poisson(3.0, (4, 2, 10))
    rec = Recording({"contrast": np.arange(4.0)}, counts, meta={"time_step": 0.01})
    np.testing.assert_allclose(rec.rates(), counts.mean(axis=2), rtol=0, atol=1e-12)
    static = Recording({"contrast": np.arange(4.0)}, counts[:, :, 0].astype(np.float32))
    rates = static.rates()
    assert rates.dtype == np.float64 and rates.shape == (4, 2)
    rates[0, 0] = -1.0
    assert static.responses[0, 0] != -1.0      # a copy, never a view
