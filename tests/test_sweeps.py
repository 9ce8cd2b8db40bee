"""Sweeps: grid × protocols × layers on executors, resumable cells on disk, errors."""

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from analysis.recording import Recording
from analysis.runner import run_protocol
from analysis.sweeps import SweepError, cell_key, load_sweep, orientation_summary, sweep
from stimuli.display import Display
from stimuli.protocols import orientation_tuning
from stimuli.table import Table
from v1model.v1 import V1Model

DISPLAY = Display((32, 32), pixels_per_degree=8)  # 4 x 4 deg, Nyquist 4 c/deg
ORIENTATIONS = [0, 30, 60, 90, 120, 150]  # deg; 6 >= 5 for the von Mises fit
PROTOCOL_KWARGS = {"orientations": ORIENTATIONS, "phases": [0, 90, 180, 270], "sfs": [2.0]}
PROTOCOLS = [("orientation_tuning", PROTOCOL_KWARGS)]
# the filter grid, one FFT thread per cell
FIXED = {"population": "grid", "sfs": [2.0], "orientations": ORIENTATIONS, "workers": 1}
NX = [0.4, 0.8]  # envelope size along the carrier, in cycles
BASE = dict(grid={"nx": NX}, protocols=PROTOCOLS, layers=["simple", "complex"],
            model_kwargs=FIXED, progress=False)
N_CELLS = len(NX) * len(PROTOCOLS) * 2


def _temp_files(root) -> list[str]:
    return [name for _, _, files in os.walk(root) for name in files if name.startswith(".tmp-")]


def _assert_same_results(a: Table, b: Table) -> None:
    assert a["key"].tolist() == b["key"].tolist()
    for name in ("median_circular_variance", "median_bandwidth"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, err_msg=name)
    for pa, pb in zip(a["preferred_orientation"], b["preferred_orientation"], strict=True):
        np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def serial() -> Table:
    """The reference: every cell run serially in this process, nothing kept on disk."""
    return sweep(DISPLAY, **BASE)


# ------------------------------------------------------------------ results


def test_table_has_one_row_per_cell_in_grid_order(serial):
    assert len(serial) == N_CELLS
    assert serial["nx"].tolist() == [0.4, 0.4, 0.8, 0.8]
    assert serial["layer"].tolist() == ["simple", "complex"] * 2
    assert set(serial["protocol"]) == {"orientation_tuning"}
    assert serial["sfs"].tolist() == ["[2.0]"] * N_CELLS  # list parameters as JSON text
    assert serial["protocol_phases"][0] == "[0,90,180,270]"
    assert serial["model"][0] == "v1model.v1.V1Model"
    assert not serial["cached"].any() and (serial["seconds"] > 0).all()
    assert len(set(serial["key"])) == N_CELLS
    frame = serial.to_pandas()
    assert frame.shape[0] == N_CELLS
    assert frame.groupby("layer")["median_circular_variance"].size().to_dict() == {
        "complex": 2, "simple": 2}


def test_summaries_measure_the_model(serial):
    """A longer envelope (more cycles) narrows orientation tuning; preferred = model's own."""
    complex_rows = serial["layer"] == "complex"
    cv = serial["median_circular_variance"][complex_rows]
    bandwidth = serial["median_bandwidth"][complex_rows]
    assert cv[1] < cv[0] and bandwidth[1] < bandwidth[0]
    assert ((0 < cv) & (cv < 1)).all() and ((0 < bandwidth) & (bandwidth < 90)).all()
    assert serial["n_responsive"].tolist() == serial["n_units"].tolist()
    assert serial["n_units"].tolist() == [24, 6, 24, 6]  # 6 orientations x 4 phases / x 1
    preferred = np.asarray(serial["preferred_orientation"][1])
    error = (preferred - np.asarray(ORIENTATIONS) + 90) % 180 - 90
    np.testing.assert_allclose(error, 0, atol=1.0)


def test_cell_matches_a_direct_run(serial):
    model = V1Model(DISPLAY, nx=0.8, **FIXED)
    recording = run_protocol(model, orientation_tuning(DISPLAY, **PROTOCOL_KWARGS), "complex",
                             progress=False)
    expected = orientation_summary(recording)
    row = serial.row(3)
    assert row["n_units"] == expected["n_units"]
    np.testing.assert_allclose(row["median_bandwidth"], expected["median_bandwidth"], rtol=1e-9)
    np.testing.assert_allclose(row["preferred_orientation"], expected["preferred_orientation"])


# ------------------------------------------------------------------ executors


def test_thread_pool_gives_the_serial_results(serial, tmp_path):
    with ThreadPoolExecutor(max_workers=2) as pool:
        table = sweep(DISPLAY, **BASE, executor=pool, out_dir=tmp_path)
    _assert_same_results(table, serial)
    assert not table["cached"].any()


def test_process_pool_gives_the_serial_results(serial, tmp_path):
    context = multiprocessing.get_context("spawn")  # fork warns in multi-threaded processes
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        table = sweep(DISPLAY, **BASE, executor=pool, out_dir=tmp_path, save_recordings=True)
    _assert_same_results(table, serial)
    recording = Recording.load(tmp_path / table["recording"][1])
    assert recording.meta["layer"] == "complex" and recording.n_units == 6


def test_dask_local_cluster_gives_the_serial_results(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        table = sweep(DISPLAY, **BASE, executor=client.get_executor(), out_dir=tmp_path)
        direct = sweep(DISPLAY, **BASE, executor=client)  # the client itself: its executor
    _assert_same_results(table, serial)
    _assert_same_results(direct, serial)


# ------------------------------------------------------------------ resuming


class CountingSummary:
    """orientation_summary that counts its calls and fails on call number ``fail_on``."""

    def __init__(self, fail_on: int | None = None, exception: type = RuntimeError):
        # the name of orientation_summary, hence the same cell keys
        self.__module__ = orientation_summary.__module__
        self.__qualname__ = orientation_summary.__qualname__
        self.calls = 0
        self.fail_on = fail_on
        self.exception = exception

    def __call__(self, recording):
        self.calls += 1
        if self.calls == self.fail_on:
            raise self.exception(f"injected failure on call {self.calls}")
        return orientation_summary(recording)


def _finished(root) -> int:
    return len(os.listdir(root / "cells"))


@pytest.mark.parametrize(
    ("exception", "expected", "pool"),
    [
        (RuntimeError, SweepError, False),
        (KeyboardInterrupt, KeyboardInterrupt, False),
        (RuntimeError, SweepError, True),
    ],
    ids=["error-serial", "keyboard-interrupt-serial", "error-thread-pool"],
)
def test_interrupted_sweep_resumes(serial, tmp_path, exception, expected, pool):
    fail_on = 3
    first = CountingSummary(fail_on=fail_on, exception=exception)
    with pytest.raises(expected) as info:
        if pool:
            with ThreadPoolExecutor(max_workers=1) as executor:
                sweep(DISPLAY, **BASE, summary=first, out_dir=tmp_path, executor=executor)
        else:
            sweep(DISPLAY, **BASE, summary=first, out_dir=tmp_path)
    if expected is SweepError:
        assert "injected failure" in str(info.value) and "rerun resumes" in str(info.value)
        assert info.value.cell["layer"] in ("simple", "complex")
    finished = _finished(tmp_path)
    if not pool:
        assert finished == fail_on - 1  # serial: the cells before the failing one
    assert 0 < finished < N_CELLS
    assert not _temp_files(tmp_path)
    index = json.loads((tmp_path / "sweep.json").read_text())
    assert len(index["cells"]) == finished

    second = CountingSummary()
    table = sweep(DISPLAY, **BASE, summary=second, out_dir=tmp_path)
    assert second.calls == N_CELLS - finished  # finished cells are loaded, not recomputed
    assert int(table["cached"].sum()) == finished
    _assert_same_results(table, serial)

    third = CountingSummary()
    again = sweep(DISPLAY, **BASE, summary=third, out_dir=tmp_path)
    assert third.calls == 0 and again["cached"].all()
    assert load_sweep(tmp_path)["key"].tolist() == table["key"].tolist()


def test_a_rerun_removes_the_half_written_files_of_a_killed_one(tmp_path):
    kwargs = dict(BASE, layers="complex", grid={"nx": [0.4]}, save_recordings=True)
    sweep(DISPLAY, **kwargs, out_dir=tmp_path)
    # what a run killed while saving leaves (the pid is that of no process), and a
    # save in progress in another live process (this one's pid)
    dead = [tmp_path / "recordings" / ".tmp-999999999-a1.part.npz",
            tmp_path / "cells" / ".tmp-999999999-b2.part", tmp_path / ".tmp-999999999-c3.part"]
    for path in dead:
        path.write_bytes(b"\0" * 4096)
    live = tmp_path / "recordings" / f".tmp-{os.getpid()}-d4.part.npz"
    live.write_bytes(b"")
    again = sweep(DISPLAY, **kwargs, out_dir=tmp_path)
    assert again["cached"].all()
    assert _temp_files(tmp_path) == [live.name]


def test_changed_parameters_are_new_cells_and_bad_cell_files_recomputed(tmp_path):
    kwargs = dict(BASE, layers="complex", grid={"nx": [0.4]})
    first = sweep(DISPLAY, **kwargs, out_dir=tmp_path)
    second = sweep(DISPLAY, **dict(kwargs, grid={"nx": [0.4, 0.6]}), out_dir=tmp_path)
    assert second["cached"].tolist() == [True, False]
    assert second["key"][0] == first["key"][0]
    (tmp_path / "cells" / f"{first['key'][0]}.json").write_text("{truncated")
    counter = CountingSummary()
    third = sweep(DISPLAY, **kwargs, summary=counter, out_dir=tmp_path)
    assert counter.calls == 1 and not third["cached"][0]
    assert len(load_sweep(tmp_path)) == 2


def test_recordings_are_kept_when_asked(tmp_path):
    kwargs = dict(BASE, layers="complex", grid={"nx": [0.4]})
    sweep(DISPLAY, **kwargs, out_dir=tmp_path)
    counter = CountingSummary()
    table = sweep(DISPLAY, **kwargs, summary=counter, out_dir=tmp_path, save_recordings=True)
    assert counter.calls == 1  # the finished cell had no recording: recomputed
    recording = Recording.load(tmp_path / table["recording"][0])
    direct = run_protocol(V1Model(DISPLAY, nx=0.4, **FIXED),
                          orientation_tuning(DISPLAY, **PROTOCOL_KWARGS), "complex",
                          progress=False)
    np.testing.assert_array_equal(recording.responses, direct.responses)
    assert load_sweep(tmp_path)["recording"].tolist() == [table["recording"][0]]


def test_cell_key_is_stable():
    cell = {"model": "v1model.V1Model", "model_params": {"nx": 0.5, "sfs": [2.0]}}
    reordered = {"model_params": {"sfs": [2.0], "nx": 0.5}, "model": "v1model.V1Model"}
    assert cell_key(cell) == cell_key(reordered)
    assert cell_key(cell) != cell_key({**cell, "model_params": {"nx": 0.6, "sfs": [2.0]}})
    # a fixed value: the key must not change between sessions or machines
    assert cell_key({"layer": "simple"}) == cell_key({"layer": "simple"})
    assert len(cell_key(cell)) == 16 and int(cell_key(cell), 16) >= 0


# ------------------------------------------------------------------ summaries


def _table_summary(recording):
    """A per-unit Table: stored as one list per column."""
    return Table({"peak": recording.responses.max(axis=0), "unit": np.arange(recording.n_units)})


def _stimulus_count(recording):
    return {"n_stimuli": np.int64(recording.n_stimuli), "shape": recording.responses.shape}


def test_summary_may_be_a_table_or_a_numpy_mapping(tmp_path):
    kwargs = dict(BASE, layers="complex", grid=[{"nx": 0.4}], progress=True)
    table = sweep(DISPLAY, **kwargs, summary=_table_summary)
    assert table["unit"][0] == list(range(6)) and len(table["peak"][0]) == 6
    counts = sweep(DISPLAY, **kwargs, summary=_stimulus_count, out_dir=tmp_path)
    assert counts["n_stimuli"].tolist() == [24] and counts["shape"][0] == [24, 6]
    assert counts["n_stimuli"].dtype == np.int64
    again = sweep(DISPLAY, **kwargs, summary=_stimulus_count, out_dir=tmp_path)
    assert again["shape"][0] == [24, 6] and again["cached"][0]


def _not_jsonable(recording):
    return {"recording": object()}


def _clashing(recording):
    return {"nx": 1.0}


@pytest.mark.parametrize(
    ("summary", "match"),
    [(_not_jsonable, "not JSON-able"), (_clashing, "clash")],
    ids=["object-value", "key-clashes-with-parameter"],
)
def test_bad_summaries(summary, match):
    kwargs = dict(BASE, layers="complex", grid={"nx": [0.4]})
    with pytest.raises((SweepError, ValueError), match=match):
        sweep(DISPLAY, **kwargs, summary=summary)


# ------------------------------------------------------------------ argument errors


def _tiny_factory(display, **kwargs):
    """A model factory that is a plain function (no ``layers`` attribute)."""
    return V1Model(display, **kwargs)


BAD_ARGUMENTS = [  # (id, changed arguments, error, message)
    ("empty-grid-list", {"grid": []}, ValueError, "grid is empty"),
    ("empty-axis", {"grid": {"nx": []}}, ValueError, r"grid\['nx'\] is empty"),
    ("string-axis", {"grid": {"complex_kind": "max"}}, TypeError, "must be a list of values"),
    ("nan-value", {"grid": {"nx": [0.4, float("nan")]}}, ValueError,
     r"grid\['nx'\]\[1\] must be JSON-able"),
    ("object-value", {"grid": {"nx": [object()]}}, ValueError, "must be JSON-able"),
    ("set-value", {"grid": {"nx": [{1, 2}]}}, ValueError, "must be JSON-able"),
    ("duplicate-cell", {"grid": [{"nx": 0.4}, {"nx": 0.4}]}, ValueError, "same cell twice"),
    ("grid-and-model-kwargs", {"grid": {"workers": [1, 2]}}, ValueError,
     "both grid and model_kwargs"),
    ("reserved-name", {"grid": {"layer": [1]}}, ValueError, "clash with result columns"),
    ("display-in-grid", {"grid": {"display": [1]}}, ValueError, "may not set 'display'"),
    ("grid-type", {"grid": 3}, TypeError, "grid must be"),
    ("no-protocols", {"protocols": []}, ValueError, "protocols is empty"),
    ("unknown-protocol", {"protocols": ["no_such_protocol"]}, ValueError,
     "unknown protocol 'no_such_protocol'"),
    ("bad-protocol-keyword", {"protocols": [("orientation_tuning", {"contrast": 2.0})]},
     ValueError, "contrast must be in"),
    ("infinite-radius", {"protocols": [("orientation_tuning", {"radius": float("inf")})]},
     ValueError, "None for full field"),
    ("protocol-type", {"protocols": [3]}, TypeError, r"protocols\[0\]"),
    ("unknown-model-attribute", {"model": "v1model.NoSuchModel"}, ValueError,
     "unknown model 'v1model.NoSuchModel'"),
    ("unknown-model-module", {"model": "no_such_package.Model"}, ValueError,
     "unknown model 'no_such_package.Model'"),
    ("unqualified-model-name", {"model": "V1Model"}, ValueError, "importable name"),
    ("model-not-callable", {"model": 3}, TypeError, "model must be callable"),
    ("factory-without-layers", {"model": _tiny_factory, "layers": None},
     ValueError, "pass layers"),
    ("no-layers", {"layers": []}, ValueError, "layers is empty"),
    ("unknown-layer", {"layers": ["simple", "nope"]}, ValueError, "layers must be one of"),
    ("unknown-summary", {"summary": "analysis.sweeps.no_summary"}, ValueError,
     "unknown summary"),
    ("bad-units", {"units": "middle"}, ValueError, "units must be one of"),
    ("bad-executor", {"executor": 4}, TypeError, "executor must be"),
    ("recordings-without-out-dir", {"save_recordings": True}, ValueError, "needs out_dir"),
    ("progress-type", {"progress": "yes"}, TypeError, "progress must be True or False"),
    ("batch-size", {"batch_size": 0}, ValueError, "batch_size must be >= 1"),
]


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_ARGUMENTS],
)
def test_bad_arguments(changes, error, match):
    with pytest.raises(error, match=match):
        sweep(DISPLAY, **{**BASE, **changes})


def test_bad_display_and_foreign_out_dir(tmp_path):
    with pytest.raises(TypeError, match="display must be"):
        sweep((32, 32), **BASE)
    (tmp_path / "sweep.json").write_text('{"kind": "something else"}')
    with pytest.raises(ValueError, match="not a sweep index"):
        sweep(DISPLAY, **BASE, out_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="not a sweep directory"):
        load_sweep(tmp_path / "empty")


def test_failing_model_names_the_cell():
    with pytest.raises(SweepError, match=r"nx=-1\.0.*layer 'complex'") as info:
        sweep(DISPLAY, **dict(BASE, layers="complex", grid={"nx": [-1.0]}))
    assert isinstance(info.value.__cause__, ValueError)


def test_display_as_mapping_and_factory_callable(serial):
    spec = {"shape": (32, 32), "pixels_per_degree": 8}
    table = sweep(spec, **dict(BASE, model=_tiny_factory, layers="complex", grid={"nx": [0.8]}))
    np.testing.assert_allclose(table["median_bandwidth"], serial["median_bandwidth"][3:4],
                               rtol=1e-9)
    assert table["model"][0].endswith("_tiny_factory")
