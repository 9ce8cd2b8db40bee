"""Recordings and spike trains to NWB and back, exactly; spike trains of other NWB files."""

from datetime import UTC, datetime

import numpy as np
import pytest

from analysis.recording import Recording
from v1model.spiking import SpikeTrains

pynwb = pytest.importorskip("pynwb")
from analysis.nwb import read_nwb, read_nwb_spike_trains, write_nwb  # noqa: E402

START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def _recording(time: bool) -> Recording:
    rng = np.random.default_rng(1)
    conditions = {
        "orientation": np.repeat(np.array([0.0, 45.0, 90.0], dtype=np.float32), 2),
        "phase": np.tile(np.array([0, 180], dtype=np.int64), 3),
        "blank": np.array([False, True] * 3),
        "kind": np.array(["grating", "bar"] * 3, dtype="<U12"),
    }
    unit_info = {"orientation": np.array([0.0, 60.0, 120.0]),
                 "cell": np.array(["simple", "complex", "simple"])}
    meta = {"model": "spiking_v1", "layer": "simple", "protocol": "orientation_tuning",
            "protocol_params": {"contrast": 1.0, "sfs": [1.5, 3.0]}}
    if time:
        meta["time_step"] = 0.025
        responses = rng.poisson(2.0, size=(6, 3, 8)).astype(np.float32)
    else:
        responses = rng.random((6, 3))
    return Recording(conditions, responses, unit_info, meta)


def _spikes(n_conditions=6, n_units=3, duration=0.2) -> SpikeTrains:
    rng = np.random.default_rng(2)
    n = 200
    # times that are not multiples of anything: the session-clock sum would round them
    return SpikeTrains(rng.uniform(0, duration, n), rng.integers(0, n_conditions, n),
                       rng.integers(0, n_units, n), n_conditions=n_conditions,
                       n_units=n_units, duration=duration, resolution=1e-4)


def _assert_same(a: Recording, b: Recording) -> None:
    assert a.responses.dtype == b.responses.dtype
    np.testing.assert_array_equal(a.responses, b.responses)
    assert a.conditions.names == b.conditions.names
    for name in a.conditions.names:
        assert a.conditions[name].dtype == b.conditions[name].dtype, name
        np.testing.assert_array_equal(a.conditions[name], b.conditions[name])
    assert list(a.unit_info) == list(b.unit_info)
    for key in a.unit_info:
        assert a.unit_info[key].dtype == b.unit_info[key].dtype, key
        np.testing.assert_array_equal(a.unit_info[key], b.unit_info[key])
    assert a.meta == b.meta


@pytest.mark.parametrize("time", [False, True], ids=["rates", "time-bins"])
def test_recording_round_trip_is_exact(tmp_path, time):
    rec = _recording(time)
    path = tmp_path / "rec.nwb"
    write_nwb(rec, path, session_start_time=START, identifier="test")
    _assert_same(read_nwb(path), rec)


def test_file_reads_as_an_experiment(tmp_path):
    """Trials carry the conditions, units the unit metadata, on the session clock."""
    rec = _recording(time=True)
    spikes = _spikes(duration=0.2)
    path = tmp_path / "rec.nwb"
    write_nwb(rec, path, spike_trains=spikes, session_start_time=START)
    assert pynwb.validate(path=str(path)) == []  # compliant with the NWB schema
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        trials = nwbfile.trials.to_dataframe()
        np.testing.assert_allclose(trials["start_time"], np.arange(6) * 0.2, rtol=1e-12)
        np.testing.assert_allclose(trials["stop_time"] - trials["start_time"], 0.2, rtol=1e-12)
        assert trials["kind"].tolist() == rec.conditions["kind"].tolist()
        units = nwbfile.units
        assert units["cell"].data[:].tolist() == ["simple", "complex", "simple"]
        session = np.asarray(units["spike_times"][1])
        mine = spikes.unit == 1
        np.testing.assert_allclose(session, spikes.condition[mine] * 0.2 + spikes.times[mine],
                                   rtol=0, atol=1e-12)
        series = nwbfile.processing["v1model"]["responses"]
        assert series.data.shape == (6 * 8, 3)
        assert series.rate == pytest.approx(40.0)


def test_spike_trains_round_trip_is_exact(tmp_path):
    spikes = _spikes()
    path = tmp_path / "spikes.nwb"
    write_nwb(_recording(time=False), path, spike_trains=spikes)
    back = read_nwb_spike_trains(path)
    for field in ("times", "condition", "unit"):
        np.testing.assert_array_equal(getattr(back, field), getattr(spikes, field))
    assert (back.n_conditions, back.n_units) == (spikes.n_conditions, spikes.n_units)
    assert (back.duration, back.resolution) == (spikes.duration, spikes.resolution)


def _foreign_file(path, spike_times, trials):
    nwbfile = pynwb.NWBFile(session_description="lab recording", identifier="lab",
                            session_start_time=START)
    for start, stop in trials:
        nwbfile.add_trial(start_time=start, stop_time=stop)
    for times in spike_times:
        nwbfile.add_unit(spike_times=times)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)


def test_spikes_of_another_lab_are_aligned_to_trials(tmp_path):
    path = tmp_path / "lab.nwb"
    # two 0.5 s trials with a 1 s gap; spikes before, inside and between trials
    _foreign_file(path, [[0.5, 1.25, 1.75, 2.0, 3.1], [2.5, 2.75]],
                  [(1.0, 1.5), (2.5, 3.0)])
    st = read_nwb_spike_trains(path, resolution=1 / 30000)
    assert (st.n_conditions, st.n_units, st.duration) == (2, 2, 0.5)
    np.testing.assert_allclose(st.train(0, 0), [0.25], atol=1e-12)
    assert st.train(1, 0).size == 0          # 1.75 and 2.0 fall between trials
    np.testing.assert_allclose(st.train(1, 1), [0.0, 0.25], atol=1e-12)
    np.testing.assert_allclose(st.rates(), [[2.0, 0.0], [0.0, 4.0]])


@pytest.mark.parametrize("trials, match", [
    ([(0.0, 0.5), (1.0, 2.0)], "same positive time"),
    ([(0.0, 1.0), (0.5, 1.5)], "overlap"),
], ids=["unequal-trials", "overlapping-trials"])
def test_foreign_trials_must_be_regular(tmp_path, trials, match):
    path = tmp_path / "lab.nwb"
    _foreign_file(path, [[0.1]], trials)
    with pytest.raises(ValueError, match=match):
        read_nwb_spike_trains(path, resolution=1e-3)


def test_foreign_file_needs_resolution_and_is_no_recording(tmp_path):
    path = tmp_path / "lab.nwb"
    _foreign_file(path, [[0.1]], [(0.0, 1.0)])
    with pytest.raises(ValueError, match="resolution"):
        read_nwb_spike_trains(path)
    with pytest.raises(ValueError, match="not written by"):
        read_nwb(path)


@pytest.mark.parametrize("read", [read_nwb, read_nwb_spike_trains])
def test_a_file_that_is_not_hdf5_is_a_value_error_naming_path(tmp_path, read):
    path = tmp_path / "notes.nwb"
    path.write_text("not an NWB file")
    with pytest.raises(ValueError, match="path .*notes.nwb.* is not an NWB"):
        read(path)


@pytest.mark.parametrize("resolution, error, match", [
    ("1e-3", TypeError, "resolution"), (float("nan"), ValueError, "resolution"),
    (-1e-3, ValueError, "resolution"), (1e-3, ValueError, "differs from the 0.0001 s stored"),
], ids=["string", "nan", "negative", "not-the-stored-one"])
def test_resolution_is_checked_for_v1model_files_too(tmp_path, resolution, error, match):
    path = tmp_path / "spikes.nwb"
    write_nwb(_recording(time=False), path, spike_trains=_spikes())
    assert read_nwb_spike_trains(path, resolution=_spikes().resolution).n_units == 3
    with pytest.raises(error, match=match):
        read_nwb_spike_trains(path, resolution=resolution)


@pytest.mark.parametrize("make, error, match", [
    (lambda p: write_nwb({"sf": [1.0]}, p), TypeError, "recording must be"),
    (lambda p: write_nwb(_recording(False), p, spike_trains=np.zeros(3)), TypeError,
     "spike_trains must be"),
    (lambda p: write_nwb(_recording(False), p, spike_trains=_spikes(n_units=4)), ValueError,
     "4 units"),
    (lambda p: write_nwb(_recording(True), p, spike_trains=_spikes(duration=0.5)), ValueError,
     "duration"),
    (lambda p: write_nwb(Recording({"start_time": [0.0]}, [[1.0]]), p), ValueError,
     "reserved"),
    (lambda p: write_nwb(Recording({"sf": [1.0]}, [[1.0]], unit_info={"spike_times": [1.0]}),
                         p), ValueError, "reserved"),
    (lambda p: write_nwb(_recording(False), p, session_start_time=datetime(2024, 1, 1)),
     TypeError, "timezone-aware"),
    (lambda p: write_nwb(_recording(False), p.parent / "missing" / "x.nwb"), FileNotFoundError,
     "does not exist"),
    (lambda p: read_nwb(p.parent / "missing.nwb"), FileNotFoundError, "no NWB file"),
], ids=["not-recording", "not-spikes", "unit-mismatch", "duration-mismatch",
        "reserved-trial-column", "reserved-unit-column", "naive-datetime", "no-dir",
        "no-file"])
def test_bad_input(tmp_path, make, error, match):
    with pytest.raises(error, match=match):
        make(tmp_path / "out.nwb")
    assert not list(tmp_path.glob("*.part*"))  # nothing half-written left behind


@pytest.mark.slow
def test_spiking_v1_recording_and_spikes_through_nwb(tmp_path):
    """The real pipeline: SpikingV1 counts and spikes to NWB and back, still consistent."""
    from analysis.runner import run_protocol
    from stimuli import Display, orientation_tuning
    from v1model import SpikingV1

    display = Display((32, 32), 16)
    model = SpikingV1(display, v1={"population": "grid", "orientations": [0, 90], "sfs": [2]},
                      static_duration=0.2, rng=0)
    protocol = orientation_tuning(display, orientations=(0.0, 90.0), phases=(0.0,), sfs=(2.0,))
    rec = run_protocol(model, protocol, "simple", progress=False)
    spikes = model.spike_trains(protocol.stimuli(np.arange(len(protocol))), "simple")
    path = tmp_path / "spiking.nwb"
    write_nwb(rec, path, spike_trains=spikes)
    back, back_spikes = read_nwb(path), read_nwb_spike_trains(path)
    _assert_same(back, rec)
    np.testing.assert_array_equal(back_spikes.times, spikes.times)
    # the binned spikes read back are the recording's responses
    np.testing.assert_array_equal(back_spikes.counts(rec.meta["time_step"]), back.responses)
