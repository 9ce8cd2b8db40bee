"""Parameter sweeps: a grid of model parameters × protocols × layers, resumable.

:func:`sweep` runs every *cell* of a grid — one model parameter set, one
protocol, one layer — on any :class:`concurrent.futures.Executor` (a thread or
process pool, or ``dask.distributed.Client.get_executor()``), or serially in
this process.  Workers receive small picklable parameter sets (the model
factory, its keyword arguments, a display specification, a protocol name and
keywords, a layer, a summary function), build the model and the protocol
themselves, and send back a small JSON-able summary of the recording, not
simulator objects.

With ``out_dir`` every finished cell is written at once, atomically, to
``out_dir/cells/<key>.json``, where ``key`` is a stable hash of the cell's
parameters; ``out_dir/sweep.json`` indexes them.  Running the same sweep again
loads the finished cells instead of recomputing them, so an interrupted sweep
resumes where it stopped.  :func:`load_sweep` reads a directory back without
running anything.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from analysis.recording import Recording
from analysis.runner import run_protocol
from analysis.tuning import orientation_tuning
from stimuli._shared.io import atomic_open, jsonable, remove_stale_temporaries
from stimuli._shared.validation import check_bool, check_choice, check_int, check_path
from stimuli.display import Display
from stimuli.protocols import list_protocols
from stimuli.table import Table

__all__ = ["SweepError", "cell_key", "load_sweep", "orientation_summary", "sweep"]

_CELL_KIND = "v1model.sweep_cell"
_MANIFEST_KIND = "v1model.sweep"
_FORMAT_VERSION = 1
_MANIFEST = "sweep.json"
_CELLS = "cells"
_RECORDINGS = "recordings"
_KEY_LENGTH = 16  # hex digits of sha256 kept in keys and file names (64 bits)
#: Columns of the result table that are not parameters or summary values.
_FIXED_COLUMNS = ("key", "model", "protocol", "layer", "cached", "seconds", "recording")
_PROTOCOL_PREFIX = "protocol_"
_MISSING = object()


class SweepError(RuntimeError):
    """A cell of a sweep failed; finished cells are kept and a rerun resumes.

    Attributes
    ----------
    key : str
        The failed cell's key (see :func:`cell_key`).
    cell : dict
        The failed cell's parameters.
    """

    def __init__(self, message: str, key: str, cell: dict[str, Any]) -> None:
        super().__init__(message)
        self.key = key
        self.cell = cell


# ============================================================================ summaries


def orientation_summary(recording: Recording, *, negative: str = "raise") -> dict[str, Any]:
    """Population orientation-tuning summary of a recording (the default of :func:`sweep`).

    Per-unit metrics come from :func:`analysis.tuning.orientation_tuning`
    (circular variance; von Mises half-width at ``1/sqrt(2)`` of the peak).

    Parameters
    ----------
    recording : Recording
        Conditions with an ``orientation`` (or ``direction``) column and at least 5
        orientations (for the von Mises fit).
    negative : {"raise", "shift"}
        Passed to :func:`analysis.tuning.orientation_tuning`: units whose mean
        curve dips below zero raise, or have their minimum subtracted.

    Returns
    -------
    dict
        ``n_units``; ``n_responsive`` (units not silent at every orientation);
        ``median_circular_variance`` over responsive units (dimensionless, [0, 1]);
        ``n_bandwidth_defined`` (responsive units whose fitted curve falls to
        ``1/sqrt(2)`` of its peak) and ``median_bandwidth`` over them (degrees);
        ``preferred_orientation``, a list of ``n_units`` preferred orientations
        (degrees, vector sum).  A median is NaN exactly when its count is 0, and a
        preferred orientation is NaN exactly for a silent unit.

    Raises
    ------
    ValueError, TypeError
        As :func:`analysis.tuning.orientation_tuning`.

    Examples
    --------
    >>> from analysis.tuning import von_mises
    >>> theta = np.arange(0, 180, 15.0)
    >>> rates = np.stack([von_mises(theta, mu=30.0, kappa=2.0, amplitude=1.0),
    ...                   np.zeros_like(theta)], axis=1)
    >>> s = orientation_summary(Recording({"orientation": theta}, rates))
    >>> s["n_units"], s["n_responsive"], round(s["preferred_orientation"][0], 3)
    (2, 1, 30.0)
    """
    table = orientation_tuning(recording, negative=negative)
    responsive = np.asarray(table["responsive"], dtype=bool)
    defined = responsive & np.asarray(table["bandwidth_defined"], dtype=bool)
    cv = np.asarray(table["circular_variance"], dtype=np.float64)
    bandwidth = np.asarray(table["bandwidth"], dtype=np.float64)
    return {
        "n_units": len(table),
        "n_responsive": int(responsive.sum()),
        "median_circular_variance": _median(cv[responsive]),
        "n_bandwidth_defined": int(defined.sum()),
        "median_bandwidth": _median(bandwidth[defined]),
        "preferred_orientation": np.asarray(table["preferred_orientation"],
                                            dtype=np.float64).tolist(),
    }


def _median(values: np.ndarray) -> float:
    """The median, NaN for an empty array (documented by the callers' counts)."""
    return float(np.median(values)) if values.size else math.nan


# ============================================================================ sweep


def sweep(
    display: Display | Mapping[str, Any],
    *,
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]] | None = None,
    protocols: Any = "orientation_tuning",
    layers: str | Sequence[str] | None = None,
    model: str | Callable[..., Any] = "v1model.V1Model",
    model_kwargs: Mapping[str, Any] | None = None,
    summary: str | Callable[[Recording], Any] = orientation_summary,
    out_dir: str | os.PathLike | None = None,
    executor: Executor | None = None,
    save_recordings: bool = False,
    units: str | Sequence[int] = "centre",
    batch_size: int = 64,
    progress: bool = True,
) -> Table:
    """Run a grid of model parameters × protocols × layers and summarise every cell.

    Each cell builds ``model(display, **model_kwargs, **params)``, runs one
    protocol through it with :func:`analysis.runner.run_protocol`, and reduces the
    recording with ``summary``.  Cells run on ``executor`` (serially in this
    process if None); the result table is in grid order whatever the order of
    completion.

    Parameters
    ----------
    display : Display or mapping
        The screen, or its specification ``{"shape": (rows, cols),
        "pixels_per_degree": ..., "frame_rate": ...}``.  Workers rebuild it.
    grid : mapping of str to sequence, or sequence of mappings, optional
        Model keyword arguments to vary.  A mapping gives the Cartesian product of
        its value lists (``{"nx": [0.3, 0.6], "complex_kind": ["energy", "max"]}``
        → 4 parameter sets, last key fastest); a sequence of mappings lists the
        parameter sets explicitly.  Default: one set, the model's defaults.
        Values must be JSON-able: finite numbers, strings, booleans, None, and
        lists or str-keyed dicts of them (numpy scalars and arrays are converted;
        tuples become lists).
    protocols : str, sequence or mapping
        Protocol names from :func:`stimuli.protocols.list_protocols` (or importable
        ``"module.function"`` names of functions called as
        ``function(display, **keywords)``): one name, a sequence whose items are a
        name or a ``(name, keywords)`` pair, or a mapping of name to keywords.
        Keywords must be JSON-able; ``radius`` and friends take ``None`` for
        "full field" as in the protocol functions.
    layers : str or sequence of str, optional
        Layers to record; default every layer of ``model.layers`` (the factory's
        class attribute, which must then exist).
    model : str or callable
        The model factory, called as ``model(display, **params)``: an importable
        name (``"v1model.V1Model"``, ``"package.module:function"``) or a picklable
        callable (a class or module-level function, or a ``functools.partial`` of
        one with JSON-able arguments).  Default the Hubel–Wiesel V1 model.
    model_kwargs : mapping, optional
        Keyword arguments given unchanged to every cell (e.g. ``{"workers": 1}``
        so that parallel cells do not each start one FFT thread per core).  A key
        may not also be a grid key.
    summary : str or callable
        ``summary(recording)`` → a mapping of str to JSON-able values (numbers,
        strings, booleans, None, lists; numpy values are converted), or a
        :class:`~stimuli.table.Table` (stored as one list per column).  Runs in the
        worker.  Default :func:`orientation_summary`.
    out_dir : str or path-like, optional
        Directory (created if needed) where finished cells are kept; rerunning
        with the same directory loads them instead of recomputing.  A directory
        may hold cells of many sweeps.  None: keep nothing, resume nothing.
    executor : concurrent.futures.Executor, optional
        Where cells run; None runs them one after another in this process.  For
        process pools and clusters the model factory and summary must be picklable.
        A ``dask.distributed.Client`` given here is replaced by its
        ``get_executor()``.
    save_recordings : bool
        Also keep each cell's raw recording in ``out_dir/recordings/<key>.npz``
        (:meth:`Recording.load` reads it); needs ``out_dir``.  Finished cells
        without a saved recording are recomputed.
    units : {"centre", "all"} or sequence of int
        Units to record, as in :func:`analysis.runner.run_protocol`.
    batch_size : int
        Stimuli per call to the model, as in :func:`analysis.runner.run_protocol`.
    progress : bool
        Show a tqdm progress bar of cells (finished cells loaded from ``out_dir``
        count as done from the start).

    Returns
    -------
    Table
        One row per cell, in grid order (parameter sets, then protocols, then
        layers).  Columns: ``key`` (the cell's hash, its file name in ``out_dir``),
        ``model`` (the factory's importable name), one column per model parameter
        (grid keys and ``model_kwargs``), ``protocol``, ``protocol_<keyword>`` per
        protocol keyword given, ``layer``, one column per summary key, ``cached``
        (True if loaded from ``out_dir``), ``seconds`` (time to compute the cell,
        s) and, with ``save_recordings``, ``recording`` (path relative to
        ``out_dir``).  List- or dict-valued *parameters* appear as compact JSON
        text (so they can be grouped on); list-valued *summary* entries stay lists.
        A value missing from some cells (a parameter set without that key, a
        summary key one protocol lacks) is None there.  ``table.to_pandas()``
        gives a DataFrame.

    Raises
    ------
    ValueError
        For an empty grid, protocol list or layer list, an empty value list, a
        value that is not JSON-able (NaN, infinity), an unknown model or protocol
        name, a layer the model does not have, a grid key that is also in
        ``model_kwargs``, two identical cells, a parameter name that clashes with a
        result column, ``save_recordings`` without ``out_dir``, or an ``out_dir``
        holding a ``sweep.json`` that is not a sweep index.
    TypeError
        For arguments of the wrong type (a string where a list of values is
        expected, a non-callable model, an executor without ``submit``, ...).
    SweepError
        If a cell fails (building the model or protocol, running it, summarising
        it, or a summary that is not JSON-able).  Raised from the original
        exception; cells finished before it are kept in ``out_dir``, and a rerun
        resumes.  ``KeyboardInterrupt`` passes through unchanged, again after
        keeping the finished cells.

    Notes
    -----
    A cell's key is a SHA-256 hash of its canonical JSON description: model name
    and parameters, display, protocol name and keywords, layer, units and the
    summary's name.  Changing any of them gives a new cell; changing the *code* of
    a model or summary does not, so use a new ``out_dir`` (or delete
    ``out_dir/cells``) after editing either.  A cell file that cannot be read or
    does not describe its cell is recomputed and overwritten.  Cell files are JSON
    as Python writes it: a NaN or infinite summary value appears as ``NaN`` or
    ``Infinity``.  Two sweeps must not write to the same ``out_dir`` at the same
    time.

    With the ``dask`` extra (``pip install "v1model[dask]"``), a dask cluster runs
    the cells: start a scheduler and workers that have this package installed
    (``dask scheduler``; ``dask worker tcp://scheduler-host:8786`` on each
    machine), then::

        from dask.distributed import Client

        with Client("tcp://scheduler-host:8786") as client:
            table = sweep(display, grid={"nx": [0.3, 0.5, 1.0]},
                          protocols=["orientation_tuning", "sf_tuning"],
                          model_kwargs={"workers": 1},
                          executor=client.get_executor(), out_dir="sweep-nx")

    ``Client(LocalCluster(...))`` does the same on one machine.  ``out_dir`` is
    written by the calling process only, so workers need no shared file system.

    Examples
    --------
    >>> import tempfile
    >>> from stimuli.display import Display
    >>> display = Display((32, 32), pixels_per_degree=8)
    >>> protocol = ("orientation_tuning", {"orientations": [0, 30, 60, 90, 120, 150],
    ...                                    "phases": [0, 90, 180, 270], "sfs": [2.0]})
    >>> out = tempfile.mkdtemp()
    >>> table = sweep(display, grid={"nx": [0.4, 0.8]}, protocols=[protocol],
    ...               layers="complex", model_kwargs={"population": "grid", "sfs": [2.0],
    ...                             "workers": 1},
    ...               out_dir=out, progress=False)
    >>> len(table), table["nx"].tolist(), table["cached"].tolist()
    (2, [0.4, 0.8], [False, False])
    >>> bool(table["median_bandwidth"][1] < table["median_bandwidth"][0])
    True
    >>> again = sweep(display, grid={"nx": [0.4, 0.8]}, protocols=[protocol],
    ...               layers="complex", model_kwargs={"population": "grid", "sfs": [2.0],
    ...                             "workers": 1},
    ...               out_dir=out, progress=False)
    >>> again["cached"].tolist()
    [True, True]
    """
    display_spec = _display_spec(display)
    factory, model_name = _resolve_callable("model", model)
    param_sets = _param_sets(grid, model_kwargs)
    protocol_items = _protocol_items(protocols, Display(**display_spec))
    layer_list = _layers(layers, factory, model_name)
    summary_fn, summary_name = _resolve_callable("summary", summary)
    units_spec = _units(units)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_bool("save_recordings", save_recordings)
    check_bool("progress", progress)
    executor = _check_executor(executor)
    if save_recordings and out_dir is None:
        raise ValueError("save_recordings=True needs out_dir, where the recordings are kept")
    _check_parameter_names(param_sets, protocol_items)
    common = {"model": model_name, "display": display_spec, "units": units_spec,
              "summary": summary_name}
    cells = _cells(param_sets, protocol_items, layer_list, common)
    seen = dict(cells)
    store = None if out_dir is None else _Store(out_dir, save_recordings)
    results = {} if store is None else store.load_all(cells)
    pending = [(key, spec) for key, spec in cells if key not in results]
    protocol_factories = {name: _resolve_protocol(name) for name, _ in protocol_items}
    tasks = {
        key: _CellTask(
            factory=factory, model_params=spec["model_params"], display=display_spec,
            protocol=protocol_factories[spec["protocol"]], protocol_name=spec["protocol"],
            protocol_params=spec["protocol_params"], layer=spec["layer"],
            units=units_spec, batch_size=batch_size, summary=summary_fn,
            keep_recording=save_recordings,
        )
        for key, spec in pending
    }

    def finish(key: str, output: dict[str, Any]) -> None:
        spec = seen[key]
        summary_values = _canonical_summary(output["summary"], key, spec)
        record = {"summary": summary_values, "seconds": float(output["seconds"]),
                  "cached": False, "recording": None}
        if store is not None:
            record["recording"] = store.save(key, spec, summary_values, record["seconds"],
                                             output.get("recording"))
        results[key] = record
        bar.update(1)

    with tqdm(total=len(cells), initial=len(cells) - len(pending), desc="sweep", unit="cell",
              disable=not progress) as bar:
        try:
            if executor is None:
                _run_serially(tasks, seen, finish, results, len(cells), out_dir)
            else:
                _run_on_executor(executor, tasks, seen, finish, results, len(cells), out_dir)
        finally:
            if store is not None:
                store.write_manifest()
    return _table([(key, spec, results[key]) for key, spec in cells], save_recordings)


def _check_executor(executor: Any) -> Executor | None:
    """``executor`` as something with ``submit`` (a dask Client gives its executor)."""
    if (executor is not None and not isinstance(executor, Executor)
            and callable(getattr(executor, "get_executor", None))):
        executor = executor.get_executor()  # a dask.distributed.Client given directly
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor (with submit), got {executor!r}"
        )
    return executor


def _cells(param_sets: list[dict[str, Any]], protocol_items: list[tuple[str, dict[str, Any]]],
           layer_list: list[str], common: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(key, spec)`` of every cell, parameters × protocols × layers; a repeat raises."""
    cells: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for params in param_sets:
        for protocol_name, protocol_params in protocol_items:
            for layer in layer_list:
                spec = {
                    "model": common["model"],
                    "model_params": params,
                    "display": common["display"],
                    "protocol": protocol_name,
                    "protocol_params": protocol_params,
                    "layer": layer,
                    "units": common["units"],
                    "summary": common["summary"],
                }
                key = cell_key(spec)
                if key in seen:
                    raise ValueError(f"the sweep lists the same cell twice: {_describe(spec)}")
                seen.add(key)
                cells.append((key, spec))
    return cells


def _run_serially(tasks: dict[str, _CellTask], specs: dict[str, dict],
                  finish: Callable[[str, dict], None], results: dict[str, dict],
                  n_cells: int, out_dir: Any) -> None:
    for key, task in tasks.items():
        try:
            output = _run_cell(task)
        except Exception as exc:
            raise _cell_error(key, specs[key], exc, len(results), n_cells, out_dir) from exc
        finish(key, output)


def _run_on_executor(executor: Any, tasks: dict[str, _CellTask], specs: dict[str, dict],
                     finish: Callable[[str, dict], None], results: dict[str, dict],
                     n_cells: int, out_dir: Any) -> None:
    """Submit every pending cell, keep results as they arrive; on failure keep what is done."""
    futures: dict[Future, str] = {}
    try:
        for key, task in tasks.items():
            futures[executor.submit(_run_cell, task)] = key
        for future in as_completed(futures):
            key = futures[future]
            try:
                output = future.result()
            except Exception as exc:
                raise _cell_error(key, specs[key], exc, len(results), n_cells, out_dir) from exc
            finish(key, output)
    finally:
        for future in futures:
            future.cancel()
        # keep cells that finished while we were stopping
        for future, key in futures.items():
            if key in results or not future.done() or future.cancelled():
                continue
            if future.exception() is None:
                # best effort while another error propagates: a cell not kept is recomputed
                with contextlib.suppress(SweepError, OSError):
                    finish(key, future.result())


def _cell_error(key: str, spec: dict[str, Any], exc: BaseException, n_done: int,
                n_cells: int, out_dir: Any) -> SweepError:
    kept = ("; they are kept in " + repr(os.fspath(out_dir)) + " and a rerun resumes"
            if out_dir is not None else "")
    return SweepError(
        f"sweep cell {key} ({_describe(spec)}) failed with {type(exc).__name__}: {exc}. "
        f"{n_done} of {n_cells} cells had finished{kept}",
        key, spec,
    )


def _describe(spec: Mapping[str, Any]) -> str:
    params = ", ".join(f"{k}={_compact(v)}" for k, v in spec["model_params"].items())
    protocol = ", ".join(f"{k}={_compact(v)}" for k, v in spec["protocol_params"].items())
    return (f"model {spec['model']}({params}), protocol {spec['protocol']}({protocol}), "
            f"layer {spec['layer']!r}")


# ============================================================================ keys


def cell_key(cell: Mapping[str, Any]) -> str:
    """The stable hash naming a sweep cell: 16 hex digits of SHA-256 of canonical JSON.

    The same description gives the same key in every process, on every machine
    and in every Python session (dict order does not matter).

    Parameters
    ----------
    cell : mapping
        A JSON-able description of the cell (what :func:`sweep` stores in
        ``out_dir/cells/<key>.json`` under ``"cell"``).

    Returns
    -------
    str
        16 lowercase hexadecimal digits.

    Raises
    ------
    ValueError
        If ``cell`` is not JSON-able (NaN, infinity, sets, objects, ...).

    Examples
    --------
    >>> cell_key({"layer": "simple", "nx": 0.5}) == cell_key({"nx": 0.5, "layer": "simple"})
    True
    >>> len(cell_key({"layer": "simple"}))
    16
    """
    if not isinstance(cell, Mapping):
        raise TypeError(f"cell must be a mapping describing a sweep cell, got "
                        f"{type(cell).__name__}")
    canonical = jsonable(cell, strict=True, name="cell")
    text = json.dumps({"format_version": _FORMAT_VERSION, "cell": canonical}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_KEY_LENGTH]


# ============================================================================ workers


@dataclass(frozen=True)
class _CellTask:
    """Everything one worker needs for one cell: small and picklable."""

    factory: Callable[..., Any]
    model_params: dict[str, Any]
    display: dict[str, Any]
    protocol: Callable[..., Any]
    protocol_name: str
    protocol_params: dict[str, Any]
    layer: str
    units: Any
    batch_size: int
    summary: Callable[[Recording], Any]
    keep_recording: bool


def _run_cell(task: _CellTask) -> dict[str, Any]:
    """Build the model and protocol, run, summarise: executed by the workers."""
    start = time.perf_counter()
    display = Display(**task.display)
    model = task.factory(display, **task.model_params)
    protocol = task.protocol(display, **task.protocol_params)
    recording = run_protocol(model, protocol, task.layer, units=task.units,
                             batch_size=task.batch_size, progress=False)
    summary = _summary_values(task.summary(recording))
    return {"summary": summary, "seconds": time.perf_counter() - start,
            "recording": recording if task.keep_recording else None}


def _summary_values(value: Any) -> dict[str, Any]:
    """A summary mapping or Table as a dict of JSON-able Python values (NaN allowed)."""
    if isinstance(value, Table):
        return {name: _summary_value(f"summary[{name!r}]", value[name]) for name in value.names}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"summary must return a mapping of str to JSON-able values or a Table, "
            f"got {type(value).__name__}"
        )
    out = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"summary keys must be strings, got {key!r}")
        out[key] = _summary_value(f"summary[{key!r}]", item)
    return out


def _summary_value(name: str, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"{name} is an object array, which is not JSON-able")
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_summary_value(f"{name}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{name} must have string keys")
        return {k: _summary_value(f"{name}[{k!r}]", v) for k, v in value.items()}
    raise TypeError(f"{name} of type {type(value).__name__} is not JSON-able")


def _canonical_summary(summary: Any, key: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The summary as it reads back from disk (tuples → lists, ...), checked again."""
    try:
        values = _summary_values(summary)
        return json.loads(json.dumps(values))
    except (TypeError, ValueError) as exc:
        raise SweepError(f"sweep cell {key} ({_describe(spec)}): {exc}", key, spec) from exc


# ============================================================================ storage


class _Store:
    """Cell files, recordings and the index under one output directory."""

    def __init__(self, out_dir: str | os.PathLike, save_recordings: bool) -> None:
        if not isinstance(out_dir, str | os.PathLike):
            raise TypeError(f"out_dir must be a path, got {type(out_dir).__name__}")
        self.root = os.fspath(out_dir)
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise ValueError(f"out_dir {self.root!r} exists and is not a directory")
        self.save_recordings = save_recordings
        self.entries = _read_manifest(self.root)  # key -> entry, in insertion order
        os.makedirs(os.path.join(self.root, _CELLS), exist_ok=True)
        if save_recordings:
            os.makedirs(os.path.join(self.root, _RECORDINGS), exist_ok=True)
        # half-written files of runs killed while saving (an interrupt removes its own)
        for folder in (self.root, os.path.join(self.root, _CELLS),
                       os.path.join(self.root, _RECORDINGS)):
            remove_stale_temporaries(folder)

    def load(self, key: str, spec: dict[str, Any]) -> dict[str, Any] | None:
        """The stored result of a cell, or None if it must be (re)computed."""
        stored = _read_cell(os.path.join(self.root, _CELLS, key + ".json"))
        if stored is None or stored.get("key") != key or stored.get("cell") != spec:
            return None
        recording = stored.get("recording")
        if self.save_recordings and (
                not isinstance(recording, str)
                or not os.path.isfile(os.path.join(self.root, recording))):
            return None
        self.entries[key] = _entry(key, stored)
        return {"summary": stored["summary"], "seconds": float(stored["seconds"]),
                "cached": True, "recording": recording}

    def load_all(self, cells: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        """The stored results of those ``(key, spec)`` cells that need no recomputing."""
        results = {}
        for key, spec in cells:
            found = self.load(key, spec)
            if found is not None:
                results[key] = found
        return results

    def save(self, key: str, spec: dict[str, Any], summary: dict[str, Any], seconds: float,
             recording: Recording | None) -> str | None:
        """Write the recording (if kept) then the cell file; return the recording's path."""
        relative = None
        if self.save_recordings:
            if recording is None:  # pragma: no cover - workers always send it when asked
                raise RuntimeError(f"the worker returned no recording for cell {key}")
            relative = f"{_RECORDINGS}/{key}.npz"
            recording.save(os.path.join(self.root, relative))
        record = {"kind": _CELL_KIND, "format_version": _FORMAT_VERSION, "key": key,
                  "cell": spec, "summary": summary, "seconds": seconds, "recording": relative}
        with atomic_open(os.path.join(self.root, _CELLS, key + ".json")) as fh:
            json.dump(record, fh, indent=1)
        self.entries[key] = _entry(key, record)
        self.write_manifest()
        return relative

    def write_manifest(self) -> None:
        manifest = {"kind": _MANIFEST_KIND, "format_version": _FORMAT_VERSION,
                    "cells": list(self.entries.values())}
        with atomic_open(os.path.join(self.root, _MANIFEST)) as fh:
            json.dump(manifest, fh, indent=1)


def _entry(key: str, record: Mapping[str, Any]) -> dict[str, Any]:
    cell = record["cell"]
    return {"key": key, "file": f"{_CELLS}/{key}.json", "recording": record.get("recording"),
            "model": cell["model"], "protocol": cell["protocol"], "layer": cell["layer"]}


def _read_manifest(root: str) -> dict[str, dict[str, Any]]:
    """Index entries of an existing ``sweep.json`` whose cell file still exists."""
    path = os.path.join(root, _MANIFEST)
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path!r} is not a readable sweep index: {exc}; "
                         f"choose another out_dir") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != _MANIFEST_KIND:
        raise ValueError(f"{path!r} is not a sweep index (written by analysis.sweeps.sweep); "
                         f"choose another out_dir")
    entries = {}
    for entry in manifest.get("cells", []):
        key = entry.get("key") if isinstance(entry, dict) else None
        if isinstance(key, str) and os.path.isfile(os.path.join(root, _CELLS, key + ".json")):
            entries[key] = entry
    return entries


def _read_cell(path: str) -> dict[str, Any] | None:
    """A cell file's content, or None if it is missing, unreadable or foreign."""
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
    except (OSError, ValueError):
        return None
    if (not isinstance(record, dict) or record.get("kind") != _CELL_KIND
            or record.get("format_version") != _FORMAT_VERSION
            or not isinstance(record.get("summary"), dict)
            or not isinstance(record.get("seconds"), int | float)
            or not isinstance(record.get("cell"), dict)):
        return None
    return record


def load_sweep(out_dir: str | os.PathLike) -> Table:
    """Every finished cell kept in a sweep directory, without running anything.

    Parameters
    ----------
    out_dir : str or path-like
        A directory written by :func:`sweep`.

    Returns
    -------
    Table
        The columns of :func:`sweep`'s table (``cached`` is True throughout;
        ``recording`` is present when any cell kept its recording, None where one
        did not), one row per cell: those in the index ``sweep.json`` first, in the
        order they finished, then any cell file the index missed (an interruption
        between writing a cell and the index), by key.

    Raises
    ------
    FileNotFoundError
        If ``out_dir`` has no ``sweep.json``.
    ValueError
        If ``sweep.json`` or a cell file is not one written by :func:`sweep`.

    Examples
    --------
    >>> import tempfile
    >>> from stimuli.display import Display
    >>> out = tempfile.mkdtemp()
    >>> protocol = ("orientation_tuning", {"orientations": [0, 30, 60, 90, 120, 150],
    ...                                    "phases": [0, 90], "sfs": [2.0]})
    >>> _ = sweep(Display((32, 32), 8), protocols=[protocol], layers="complex",
    ...           model_kwargs={"population": "grid", "sfs": [2.0],
    ...                             "workers": 1}, out_dir=out, progress=False)
    >>> load_sweep(out)["layer"].tolist()
    ['complex']
    """
    root = check_path("out_dir", out_dir)
    if not os.path.isfile(os.path.join(root, _MANIFEST)):
        raise FileNotFoundError(f"{root!r} has no {_MANIFEST}: it is not a sweep directory")
    keys = list(_read_manifest(root))
    cell_dir = os.path.join(root, _CELLS)
    on_disk = sorted(name[:-5] for name in os.listdir(cell_dir)
                     if name.endswith(".json") and not name.startswith("."))
    keys += [key for key in on_disk if key not in keys]
    rows = []
    for key in keys:
        path = os.path.join(cell_dir, key + ".json")
        record = _read_cell(path)
        if record is None or record.get("key") != key:
            raise ValueError(f"{path!r} is not a sweep cell file")
        rows.append((key, record["cell"], {"summary": record["summary"],
                                           "seconds": float(record["seconds"]),
                                           "cached": True,
                                           "recording": record.get("recording")}))
    keep_recordings = any(result["recording"] is not None for _, _, result in rows)
    return _table(rows, keep_recordings)


# ============================================================================ result table


def _table(rows: list[tuple[str, dict[str, Any], dict[str, Any]]], recordings: bool) -> Table:
    """One row per cell: fixed columns, parameters (JSON text if nested), summary values."""
    param_names = _union(row[1]["model_params"] for row in rows)
    protocol_names = _union(row[1]["protocol_params"] for row in rows)
    summary_names = _union(row[2]["summary"] for row in rows)
    param_columns = list(param_names) + [_PROTOCOL_PREFIX + p for p in protocol_names]
    clashes = sorted(set(summary_names) & set(param_columns + list(_FIXED_COLUMNS)))
    if clashes:
        raise ValueError(
            f"summary key(s) {', '.join(map(repr, clashes))} clash with parameter or result "
            f"columns; rename them in the summary function"
        )
    columns: dict[str, list[Any]] = {"key": [], "model": []}
    columns.update({name: [] for name in param_names})
    columns["protocol"] = []
    columns.update({_PROTOCOL_PREFIX + name: [] for name in protocol_names})
    columns["layer"] = []
    columns.update({name: [] for name in summary_names})
    columns["cached"] = []
    columns["seconds"] = []
    if recordings:
        columns["recording"] = []
    for key, spec, result in rows:
        columns["key"].append(key)
        columns["model"].append(spec["model"])
        for name in param_names:
            columns[name].append(_as_text(spec["model_params"].get(name, _MISSING)))
        columns["protocol"].append(spec["protocol"])
        for name in protocol_names:
            columns[_PROTOCOL_PREFIX + name].append(
                _as_text(spec["protocol_params"].get(name, _MISSING)))
        columns["layer"].append(spec["layer"])
        for name in summary_names:
            columns[name].append(result["summary"].get(name, _MISSING))
        columns["cached"].append(result["cached"])
        columns["seconds"].append(result["seconds"])
        if recordings:
            columns["recording"].append(result["recording"])
    return Table({name: _column(values) for name, values in columns.items()})


def _union(dicts: Iterable[Mapping[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for d in dicts:
        names.update(dict.fromkeys(d))
    return list(names)


def _as_text(value: Any) -> Any:
    """Lists and dicts as compact JSON text; scalars unchanged."""
    if isinstance(value, list | dict):
        return _compact(value)
    return value


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _column(values: list[Any]) -> np.ndarray:
    """A typed column when every value is a scalar of one kind, else an object column."""
    n = len(values)
    if n and all(v is not _MISSING for v in values):
        if all(isinstance(v, bool) for v in values):
            return np.array(values, dtype=bool)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            try:
                return np.array(values, dtype=np.int64)
            except OverflowError:
                pass
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return np.array(values, dtype=np.float64)
        elif all(isinstance(v, str) for v in values):
            return np.array(values, dtype=str)
    out = np.empty(n, dtype=object)
    for i, value in enumerate(values):
        out[i] = None if value is _MISSING else value
    return out


# ============================================================================ argument checks


def _display_spec(display: Any) -> dict[str, Any]:
    if isinstance(display, Mapping):
        try:
            display = Display(**display)
        except TypeError as exc:
            raise TypeError(
                f"display as a mapping takes keys 'shape', 'pixels_per_degree' and "
                f"'frame_rate': {exc}"
            ) from exc
    if not isinstance(display, Display):
        raise TypeError(
            f"display must be a stimuli.display.Display or a mapping, got {type(display).__name__}"
        )
    return {"shape": list(display.shape), "pixels_per_degree": float(display.pixels_per_degree),
            "frame_rate": float(display.frame_rate)}


def _param_sets(grid: Any, model_kwargs: Any) -> list[dict[str, Any]]:
    fixed: dict[str, Any] = {}
    if model_kwargs is not None:
        if not isinstance(model_kwargs, Mapping):
            raise TypeError(f"model_kwargs must be a mapping, got {type(model_kwargs).__name__}")
        fixed = {_param_name("model_kwargs", k):
                 jsonable(v, strict=True, name=f"model_kwargs[{k!r}]")
                 for k, v in model_kwargs.items()}
    if grid is None:
        sets = [{}]
    elif isinstance(grid, Mapping):
        axes = []
        for key, values in grid.items():
            key = _param_name("grid", key)
            if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
                raise TypeError(
                    f"grid[{key!r}] must be a list of values to try, got {values!r}; write "
                    f"[{values!r}] for one value or pass it in model_kwargs"
                )
            if len(values) == 0:
                raise ValueError(f"grid[{key!r}] is empty: give at least one value")
            axes.append([(key, jsonable(v, strict=True, name=f"grid[{key!r}][{i}]"))
                         for i, v in enumerate(values)])
        sets = [{}]
        for axis in axes:
            sets = [{**s, k: v} for s in sets for k, v in axis]
    elif isinstance(grid, Sequence) and not isinstance(grid, str | bytes):
        if len(grid) == 0:
            raise ValueError("grid is empty: give at least one parameter set (or None for the "
                             "model's defaults)")
        sets = []
        for i, params in enumerate(grid):
            if not isinstance(params, Mapping):
                raise TypeError(f"grid[{i}] must be a mapping of model keyword arguments, "
                                f"got {type(params).__name__}")
            sets.append({_param_name(f"grid[{i}]", k):
                         jsonable(v, strict=True, name=f"grid[{i}][{k!r}]")
                         for k, v in params.items()})
    else:
        raise TypeError(
            f"grid must be a mapping of parameter name to values or a list of parameter "
            f"mappings, got {type(grid).__name__}"
        )
    out = []
    for params in sets:
        both = sorted(set(params) & set(fixed))
        if both:
            raise ValueError(
                f"parameter(s) {', '.join(map(repr, both))} are in both grid and model_kwargs; "
                f"give each in one place"
            )
        out.append({**fixed, **params})
    return out


def _param_name(where: str, key: Any) -> str:
    if not isinstance(key, str) or not key.isidentifier():
        raise ValueError(f"{where} keys must be keyword-argument names, got {key!r}")
    if key == "display":
        raise ValueError(f"{where} may not set 'display'; pass the display to sweep itself")
    return key


def _protocol_items(protocols: Any, display: Display) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(protocols, str):
        raw: list[Any] = [protocols]
    elif isinstance(protocols, Mapping):
        raw = list(protocols.items())
    elif isinstance(protocols, Sequence):
        raw = list(protocols)
    else:
        raise TypeError(f"protocols must be a name, a sequence or a mapping of name to "
                        f"keywords, got {type(protocols).__name__}")
    if not raw:
        raise ValueError("protocols is empty: give at least one protocol name")
    items = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            name, kwargs = item, {}
        elif (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)
              and (item[1] is None or isinstance(item[1], Mapping))):
            name, kwargs = item[0], dict(item[1] or {})
        else:
            raise TypeError(f"protocols[{i}] must be a name or a (name, keywords) pair, "
                            f"got {item!r}")
        params = {_param_name(f"keywords of protocol {name!r}", k):
                  jsonable(v, strict=True, name=f"protocol {name!r} keyword {k!r}")
                  for k, v in kwargs.items()}
        function = _resolve_protocol(name)
        try:  # protocols are lazy: building one checks its keywords cheaply
            function(display, **params)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"protocol {name!r} with keywords {params}: {exc}") from exc
        items.append((name, params))
    return items


def _resolve_protocol(name: str) -> Callable[..., Any]:
    registry = list_protocols()
    if name in registry:
        return registry[name]
    if "." in name or ":" in name:
        return _import_name("protocol", name)
    raise ValueError(
        f"unknown protocol {name!r}; built-in protocols are {', '.join(sorted(registry))} "
        f"(or give an importable 'module.function' name)"
    )


def _layers(layers: Any, factory: Any, model_name: str) -> list[str]:
    known = getattr(factory, "layers", None)
    known = tuple(known) if isinstance(known, tuple | list) and all(
        isinstance(v, str) for v in known) else None
    if layers is None:
        if not known:
            raise ValueError(f"model {model_name} has no class attribute 'layers'; "
                             f"pass layers=[...]")
        return list(known)
    if isinstance(layers, str):
        layers = [layers]
    if not isinstance(layers, Sequence) or not all(isinstance(v, str) for v in layers):
        raise TypeError(f"layers must be a layer name or a sequence of them, got {layers!r}")
    if len(layers) == 0:
        raise ValueError("layers is empty: give at least one layer (or None for all)")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers lists a layer twice: {list(layers)}")
    if known:
        for layer in layers:
            check_choice("layers", layer, known)
    return list(layers)


def _units(units: Any) -> Any:
    if isinstance(units, str):
        return check_choice("units", units, ("centre", "all"))
    values = jsonable(units, strict=True, name="units")
    if (not isinstance(values, list) or not values
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
        raise TypeError(f"units must be 'centre', 'all' or a non-empty list of integers, "
                        f"got {units!r}")
    return values


def _check_parameter_names(param_sets: list[dict], protocols: list[tuple[str, dict]]) -> None:
    names = _union(param_sets)
    clashes = sorted(set(names) & set(_FIXED_COLUMNS))
    clashes += sorted(n for n in names if n.startswith(_PROTOCOL_PREFIX))
    if clashes:
        raise ValueError(
            f"model parameter name(s) {', '.join(map(repr, clashes))} clash with result "
            f"columns ({', '.join(_FIXED_COLUMNS)}, {_PROTOCOL_PREFIX}*)"
        )


# ============================================================================ callables


def _resolve_callable(what: str, obj: Any) -> tuple[Callable[..., Any], str]:
    """The callable and its stable name (importable name, with partial arguments)."""
    if isinstance(obj, str):
        obj = _import_name(what, obj)
    if not callable(obj):
        raise TypeError(f"{what} must be callable or an importable name, got {obj!r}")
    return obj, _callable_name(what, obj)


def _callable_name(what: str, obj: Any) -> str:
    if isinstance(obj, functools.partial):
        args = jsonable(list(obj.args), strict=True, name=f"arguments of the {what} partial")
        keywords = jsonable(dict(obj.keywords), strict=True, name=f"keywords of the {what} partial")
        return (f"{_callable_name(what, obj.func)}"
                f"(*{_compact(args)}, **{_compact(keywords)})")
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise TypeError(
            f"{what} must be a class, a function or a functools.partial of one (something "
            f"with a stable name), got {type(obj).__name__}"
        )
    return f"{module}.{qualname}"


def _import_name(what: str, name: str) -> Any:
    """Import ``"package.module.attribute"`` or ``"package.module:attribute"``."""
    if ":" in name:
        module_name, _, attr_path = name.partition(":")
        candidates = [(module_name, attr_path.split("."))]
    else:
        parts = name.split(".")
        candidates = [(".".join(parts[:i]), parts[i:]) for i in range(len(parts) - 1, 0, -1)]
    if not candidates or not all(candidates[0]) or not all(candidates[0][1]):
        raise ValueError(f"unknown {what} {name!r}: give an importable name such as "
                         f"'package.module.attribute'")
    missing = None
    for module_name, attrs in candidates:
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # only a missing *name* of ours means "try a shorter module path"
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                missing = exc
                continue
            raise
        for attr in attrs:
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                raise ValueError(
                    f"unknown {what} {name!r}: {getattr(obj, '__name__', module_name)!r} has "
                    f"no attribute {attr!r}"
                ) from None
        return obj
    raise ValueError(f"unknown {what} {name!r}: {missing}") from missing
