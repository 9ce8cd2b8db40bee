import json
import os

import numpy as np
import pytest

from stimuli._shared import io as _io
from stimuli.table import Table


def test_table_columns_rows_and_exports(tmp_path):
    t = Table({"orientation": np.array([0.0, 45.0, 90.0]), "unit": np.arange(3)})
    assert len(t) == 3 and t.names == ("orientation", "unit")
    assert t.row(2) == {"orientation": 90.0, "unit": 2}
    assert len(t.take(t["orientation"] > 10)) == 2
    t.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "orientation,unit"
    t.with_columns(cv=np.array([0.1, np.nan, 1.0])).to_json(tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text())[1]["cv"] is None
    pd = pytest.importorskip("pandas")
    assert isinstance(t.to_pandas(), pd.DataFrame)


def test_table_rejects_ragged_columns():
    with pytest.raises(ValueError, match="'b' has 2 rows"):
        Table({"a": [1, 2, 3], "b": [1, 2]})
    with pytest.raises(KeyError, match="columns are a"):
        Table({"a": [1]})["nope"]


def test_npz_round_trip_and_errors(tmp_path):
    path = tmp_path / "x.npz"
    _io.save_npz(path, {"a": np.arange(5, dtype=np.int16)}, {"kind": "thing", "p": (1, 2)})
    arrays, meta = _io.load_npz(path, "thing")
    assert arrays["a"].dtype == np.int16 and meta["p"] == [1, 2]
    with pytest.raises(ValueError, match="holds a 'thing'"):
        _io.load_npz(path, "other")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="truncated or foreign"):
        _io.load_npz(path, "thing")


def test_interrupted_write_keeps_old_file(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), _io.atomic_open(path) as fh:
        fh.write("partial")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_atomic_files_get_ordinary_permissions(tmp_path):
    path = tmp_path / "perm.txt"
    with _io.atomic_open(path) as fh:
        fh.write("x")
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~mask
