"""Recordings and spike trains to and from Neurodata Without Borders (NWB) files.

NWB (Rübel et al. 2022, *eLife* 11:e78362) is the format experimentalists share
physiology in (the DANDI archive holds it).  A model's recording is written the
way an experiment would be:

- ``trials``: one row per stimulus presentation, with the condition columns
  (orientation, sf, contrast...).  Presentations are laid end to end on the
  session clock: presentation ``i`` runs from ``i * duration`` to
  ``(i + 1) * duration``, where ``duration`` is the spike trains' presentation
  length, else ``n_time * time_step`` for a recording with a time axis, else a
  nominal 1 s (a static model has no time).
- ``units``: one row per recorded unit, with the ``unit_info`` columns
  (preferred orientation, RF centre...) and, when spike trains are given, each
  unit's ``spike_times`` on the session clock.  Two extra ragged columns keep
  each spike's presentation and its time from presentation onset, so that
  reading gives back the exact float64 spike times (session times are a sum
  that rounds).
- ``processing/v1model/responses``: a ``TimeSeries`` of the responses,
  ``(n_stimuli * n_time, n_units)`` sampled every ``time_step`` (or one sample per
  presentation), with the recording's metadata and column dtypes as JSON in its
  ``comments``.

:func:`read_nwb` and :func:`read_nwb_spike_trains` invert :func:`write_nwb`
exactly.  :func:`read_nwb_spike_trains` also reads spike trains aligned to the
trials of NWB files written by other tools.  pynwb is an optional dependency:
``pip install 'v1model[nwb]'``.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np

from analysis.recording import Recording
from stimuli._shared.io import atomic_path
from stimuli._shared.validation import check_path, check_positive
from v1model.spiking import SpikeTrains

__all__ = ["read_nwb", "read_nwb_spike_trains", "write_nwb"]

_KIND = "v1model-recording"
_FORMAT_VERSION = 1
_MODULE = "v1model"
_SERIES = "responses"
_ONSET_COLUMN = "spike_times_from_onset"
_PRESENTATION_COLUMN = "spike_presentation"
_STATIC_DURATION = 1.0
_RESERVED_TRIALS = ("id", "start_time", "stop_time", "tags", "timeseries")
_RESERVED_UNITS = ("id", "spike_times", "obs_intervals", "electrodes", "electrode_group",
                   "waveform_mean", "waveform_sd", "waveforms", _ONSET_COLUMN,
                   _PRESENTATION_COLUMN)


def _import_pynwb():
    try:
        import pynwb
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise ImportError("NWB export needs pynwb: pip install 'v1model[nwb]'") from exc
    return pynwb


def write_nwb(
    recording: Recording,
    path: str | os.PathLike,
    *,
    spike_trains: SpikeTrains | None = None,
    session_description: str | None = None,
    identifier: str | None = None,
    session_start_time: datetime | None = None,
) -> None:
    """Write a recording, and optionally its spike trains, to one NWB file, atomically.

    See the module docstring for where each part goes.  The file is written to a
    temporary name beside ``path`` and renamed over it when complete.

    Parameters
    ----------
    recording : Recording
        The responses, condition table, unit metadata and model metadata.
    path : str or path-like
        Destination, conventionally ending in ``.nwb``.
    spike_trains : SpikeTrains, optional
        Spikes of the same units to the same stimuli (e.g.
        :meth:`v1model.SpikingV1.spike_trains`): ``n_conditions`` must equal
        ``recording.n_stimuli`` and ``n_units`` ``recording.n_units``.
    session_description : str, optional
        Default: ``"<model> <layer> responses to <protocol> (v1model)"``.
    identifier : str, optional
        Unique file identifier; default a random UUID.
    session_start_time : datetime, optional
        Timezone-aware; default now (UTC).  Presentation times count from it.

    Raises
    ------
    TypeError
        If ``recording`` is not a Recording, ``spike_trains`` not SpikeTrains, or
        ``session_start_time`` is not a timezone-aware datetime.
    ValueError
        If the spike trains do not match the recording's shape or time axis, or a
        column name is one NWB reserves (``start_time``, ``spike_times``...).
    FileNotFoundError
        If the destination directory does not exist.
    ImportError
        If pynwb is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> rec = Recording({"orientation": [0.0, 90.0]}, [[1.0, 0.0], [0.0, 2.0]],
    ...                 unit_info={"orientation": [0.0, 90.0]}, meta={"layer": "simple"})
    >>> path = os.path.join(tempfile.mkdtemp(), "rec.nwb")
    >>> write_nwb(rec, path)
    >>> read_nwb(path).responses.tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    pynwb = _import_pynwb()
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be an analysis.Recording, got {type(recording).__name__}")
    duration = _presentation_duration(recording, spike_trains)
    for name in recording.conditions.names:
        if name in _RESERVED_TRIALS:
            raise ValueError(f"conditions column {name!r} is reserved by NWB's trials table")
    for name in recording.unit_info:
        if name in _RESERVED_UNITS:
            raise ValueError(f"unit_info[{name!r}] is reserved by NWB's units table")
    if session_start_time is None:
        session_start_time = datetime.now(UTC)
    if not isinstance(session_start_time, datetime) or session_start_time.tzinfo is None:
        raise TypeError(
            f"session_start_time must be a timezone-aware datetime, got {session_start_time!r}"
        )
    for label, text in (("session_description", session_description),
                        ("identifier", identifier)):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"{label} must be a str or None, got {type(text).__name__}")
    meta = recording.meta
    if session_description is None:
        session_description = (f"{meta['model']} {meta['layer']} responses to "
                               f"{meta['protocol']} (v1model)")
    nwbfile = pynwb.NWBFile(
        session_description=str(session_description),
        identifier=str(identifier) if identifier is not None else str(uuid.uuid4()),
        session_start_time=session_start_time,
    )
    _add_trials(nwbfile, recording, duration)
    _add_units(nwbfile, recording, spike_trains, duration)
    header = {
        "kind": _KIND,
        "format_version": _FORMAT_VERSION,
        "condition_names": list(recording.conditions.names),
        "condition_dtypes": [recording.conditions[n].dtype.str for n in recording.conditions],
        "unit_info_names": list(recording.unit_info),
        "unit_info_dtypes": [v.dtype.str for v in recording.unit_info.values()],
        "n_time": recording.n_time,
        "duration": duration,
        "meta": meta,
        "spike_trains": None if spike_trains is None else {
            "duration": spike_trains.duration, "resolution": spike_trains.resolution},
    }
    responses = recording.responses
    if recording.has_time:  # (stimuli, units, time) -> (stimuli * time, units)
        data = responses.transpose(0, 2, 1).reshape(-1, recording.n_units)
        rate = 1.0 / meta["time_step"]
    else:
        data, rate = responses, 1.0 / duration
    module = nwbfile.create_processing_module(_MODULE, "model responses written by v1model")
    module.add(pynwb.TimeSeries(
        name=_SERIES, data=np.ascontiguousarray(data), unit="a.u.", rate=rate,
        starting_time=0.0, description=f"responses of layer {meta['layer']!r} of model "
        f"{meta['model']!r}: (presentations x time bins, units)",
        comments=json.dumps(header),
    ))
    with atomic_path(path, suffix=".nwb") as tmp, pynwb.NWBHDF5IO(tmp, "w") as io:
        io.write(nwbfile)


def _presentation_duration(recording: Recording, spike_trains: SpikeTrains | None) -> float:
    """Seconds between presentation onsets on the session clock."""
    recorded = (recording.n_time * recording.meta["time_step"]) if recording.has_time else None
    if spike_trains is None:
        return recorded if recorded is not None else _STATIC_DURATION
    if not isinstance(spike_trains, SpikeTrains):
        raise TypeError(
            f"spike_trains must be v1model.spiking.SpikeTrains, got {type(spike_trains).__name__}"
        )
    if (spike_trains.n_conditions, spike_trains.n_units) != (recording.n_stimuli,
                                                            recording.n_units):
        raise ValueError(
            f"spike_trains has {spike_trains.n_conditions} conditions x {spike_trains.n_units} "
            f"units but the recording {recording.n_stimuli} stimuli x {recording.n_units} units"
        )
    if recorded is not None and not np.isclose(recorded, spike_trains.duration, rtol=1e-6):
        raise ValueError(
            f"spike_trains.duration is {spike_trains.duration} s but the recording's time axis "
            f"covers {recorded} s"
        )
    return float(spike_trains.duration)


def _add_trials(nwbfile, recording: Recording, duration: float) -> None:
    conditions = recording.conditions
    for name in conditions.names:
        nwbfile.add_trial_column(name=name, description=f"stimulus condition {name!r}")
    for i in range(recording.n_stimuli):
        nwbfile.add_trial(start_time=i * duration, stop_time=(i + 1) * duration,
                          **conditions.row(i))


def _add_units(nwbfile, recording: Recording, spike_trains: SpikeTrains | None,
               duration: float) -> None:
    for name in recording.unit_info:
        nwbfile.add_unit_column(name=name, description=f"unit metadata {name!r}")
    if spike_trains is not None:
        nwbfile.add_unit_column(name=_ONSET_COLUMN, index=True,
                                description="spike times from presentation onset (s)")
        nwbfile.add_unit_column(name=_PRESENTATION_COLUMN, index=True,
                                description="presentation (trial) index of each spike")
    elif not recording.unit_info:
        return
    for unit in range(recording.n_units):
        row = {name: values[unit].item() for name, values in recording.unit_info.items()}
        if spike_trains is not None:
            mine = spike_trains.unit == unit
            onset = spike_trains.times[mine]
            presentation = spike_trains.condition[mine]
            row["spike_times"] = presentation * duration + onset
            row[_ONSET_COLUMN] = onset
            row[_PRESENTATION_COLUMN] = presentation
        nwbfile.add_unit(**row)


def _check_hdf5(name: str, path: str) -> None:
    """An NWB file is an HDF5 file: say so by name before h5py's own error does."""
    import h5py  # installed with pynwb

    if not h5py.is_hdf5(path):
        raise ValueError(f"{name} {path!r} is not an NWB (HDF5) file")


def read_nwb(path: str | os.PathLike) -> Recording:
    """Read the recording of an NWB file written by :func:`write_nwb`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Recording
        Equal to the written one: values, dtypes, column order and metadata.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file has no v1model responses (``processing/v1model/responses``) or
        their header is not valid.
    ImportError
        If pynwb is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rec.nwb")
    >>> write_nwb(Recording({"sf": [2.0]}, [[1.0, 2.0]], meta={"model": "v1"}), path)
    >>> read_nwb(path).meta["model"]
    'v1'
    """
    pynwb = _import_pynwb()
    path = check_path("path", path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no NWB file at {path!r}")
    _check_hdf5("path", path)
    with pynwb.NWBHDF5IO(path, "r") as io:
        nwbfile = io.read()
        series, header = _v1model_series(nwbfile, path)
        data = np.asarray(series.data[:])
        try:
            conditions = _read_columns(nwbfile.trials, header["condition_names"],
                                       header["condition_dtypes"])
            unit_info = _read_columns(nwbfile.units, header["unit_info_names"],
                                      header["unit_info_dtypes"])
            n_time = header["n_time"]
            meta = header["meta"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path!r} has an invalid v1model header: {exc}") from exc
    if n_time is not None:  # (stimuli * time, units) -> (stimuli, units, time)
        data = data.reshape(-1, n_time, data.shape[1]).transpose(0, 2, 1)
    return Recording(conditions, data, unit_info, meta)


def _v1model_series(nwbfile, path: str):
    try:
        series = nwbfile.processing[_MODULE][_SERIES]
    except KeyError:
        raise ValueError(
            f"{path!r} has no processing/{_MODULE}/{_SERIES} time series: not written by "
            "v1model.analysis.write_nwb (use read_nwb_spike_trains for spikes of other files)"
        ) from None
    try:
        header = json.loads(series.comments)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path!r}: the v1model header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict) or header.get("kind") != _KIND:
        raise ValueError(f"{path!r}: the responses carry no v1model header")
    if header.get("format_version") != _FORMAT_VERSION:
        raise ValueError(
            f"{path!r}: unsupported v1model NWB format version {header.get('format_version')!r}"
        )
    return series, header


def _read_columns(table, names: list[str], dtypes: list[str]) -> dict[str, np.ndarray]:
    if len(names) != len(dtypes):
        raise ValueError("column names and dtypes differ in number")
    if not names:
        return {}
    return {name: np.asarray(table[name].data[:]).astype(np.dtype(dtype), copy=False)
            for name, dtype in zip(names, dtypes, strict=True)}


def read_nwb_spike_trains(path: str | os.PathLike, *,
                          resolution: float | None = None) -> SpikeTrains:
    """Spike trains of an NWB file's units, aligned to its trials.

    For a file written by :func:`write_nwb` with spike trains, the result equals
    the written :class:`~v1model.spiking.SpikeTrains` exactly.  For other files,
    every trial is a presentation: spike ``t`` of a unit belongs to the trial with
    ``start_time <= t < stop_time`` and is kept as ``t - start_time``; spikes
    outside every trial (inter-trial intervals) are not part of any presentation
    and are left out.

    Parameters
    ----------
    path : str or path-like
    resolution : float, optional
        Sampling step of the spike times in seconds (e.g. ``1 / 30000`` for a
        30 kHz recording).  Read from the file when v1model wrote it (a value
        given then must match it); required otherwise.

    Returns
    -------
    SpikeTrains
        ``n_conditions`` = number of trials, ``n_units`` = number of units.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file has no units with spike times or no trials, trials differ in
        length (more than 1 µs) or overlap, or ``resolution`` is needed and missing,
        is not a positive number, or differs from the one v1model stored.
    ImportError
        If pynwb is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> st = SpikeTrains(np.array([0.1, 0.3]), np.array([0, 1]), np.array([1, 0]),
    ...                  n_conditions=2, n_units=2, duration=0.5, resolution=1e-3)
    >>> path = os.path.join(tempfile.mkdtemp(), "spikes.nwb")
    >>> write_nwb(Recording({"sf": [1.0, 2.0]}, st.rates()), path, spike_trains=st)
    >>> read_nwb_spike_trains(path).train(1, 0).tolist()
    [0.3]
    """
    pynwb = _import_pynwb()
    path = check_path("path", path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no NWB file at {path!r}")
    _check_hdf5("path", path)
    with pynwb.NWBHDF5IO(path, "r") as io:
        nwbfile = io.read()
        units, trials = nwbfile.units, nwbfile.trials
        if units is None or "spike_times" not in units.colnames:
            raise ValueError(f"{path!r} has no units with spike times")
        if trials is None or len(trials) == 0:
            raise ValueError(f"{path!r} has no trials to align the spikes to")
        n_units, n_trials = len(units), len(trials)
        stored = None
        if _MODULE in nwbfile.processing and _ONSET_COLUMN in units.colnames:
            stored = _v1model_series(nwbfile, path)[1].get("spike_trains")
        if resolution is not None:
            resolution = check_positive("resolution", resolution)
        if stored is not None:
            per_unit = [(units[_ONSET_COLUMN][u], units[_PRESENTATION_COLUMN][u])
                        for u in range(n_units)]
            if resolution is not None and not np.isclose(resolution, stored["resolution"],
                                                         rtol=1e-9, atol=0):
                raise ValueError(f"resolution {resolution:g} s differs from the "
                                 f"{stored['resolution']:g} s stored in {path!r}")
            duration, resolution = stored["duration"], stored["resolution"]
        else:
            if resolution is None:
                raise ValueError(
                    f"resolution (seconds per sample of the spike times) is required for "
                    f"{path!r}, which v1model did not write"
                )
            start = np.asarray(trials["start_time"].data[:], dtype=np.float64)
            stop = np.asarray(trials["stop_time"].data[:], dtype=np.float64)
            duration = _common_duration(start, stop, path)
            per_unit = [_align(np.asarray(units["spike_times"][u], dtype=np.float64),
                               start, stop) for u in range(n_units)]
    times = np.concatenate([np.asarray(t, dtype=np.float64) for t, _ in per_unit] or [[]])
    condition = np.concatenate([np.asarray(c, dtype=np.int64) for _, c in per_unit] or [[]])
    unit = np.repeat(np.arange(n_units), [len(t) for t, _ in per_unit])
    return SpikeTrains(times, condition, unit, n_conditions=n_trials, n_units=n_units,
                       duration=float(duration), resolution=float(resolution))


def _common_duration(start: np.ndarray, stop: np.ndarray, path: str) -> float:
    lengths = stop - start
    if np.any(lengths <= 0) or np.ptp(lengths) > 1e-6:
        raise ValueError(
            f"{path!r}: trials must all last the same positive time (within 1 µs), got "
            f"lengths from {lengths.min():g} to {lengths.max():g} s"
        )
    order = np.argsort(start)
    if np.any(start[order][1:] < stop[order][:-1]):
        raise ValueError(f"{path!r}: trials overlap, so a spike could belong to two of them")
    return float(lengths.max())


def _align(spikes: np.ndarray, start: np.ndarray, stop: np.ndarray) -> tuple[Any, Any]:
    """Trial-relative times and trial indices of the spikes that fall in a trial."""
    order = np.argsort(start)
    slot = np.searchsorted(start[order], spikes, side="right") - 1
    valid = slot >= 0
    trial = order[np.clip(slot, 0, None)]
    valid &= spikes < stop[trial]
    return spikes[valid] - start[trial[valid]], trial[valid]
