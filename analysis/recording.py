"""Recordings: a protocol's condition table plus the responses of chosen units.

A :class:`Recording` is what :func:`analysis.runner.run_protocol` returns and
what every metric takes.  It saves to one ``.npz`` file without pickle and loads
back exactly (values, dtypes, column order and metadata).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from stimuli._shared import html as _html
from stimuli._shared.io import expect_arrays, json_default, load_npz, save_npz
from stimuli._shared.validation import check_array, check_index, check_positive
from stimuli.table import Table, _import_xarray

_KIND = "recording"
_FORMAT_VERSION = 1
_STANDARD_META = ("model", "layer", "protocol", "protocol_params")


class Recording:
    """Responses of ``n_units`` units to the ``n_stimuli`` stimuli of a protocol.

    Parameters
    ----------
    conditions : Table or mapping of str to 1-D array
        One row per stimulus (``orientation`` in degrees, ``sf`` in c/deg, ...; see
        the table of condition columns in the documentation's Concepts page).
        Columns must be numeric, boolean or fixed-width strings (no ``object``
        arrays, which cannot be saved without pickle).
    responses : array_like of shape (n_stimuli, n_units) or (n_stimuli, n_units, n_time)
        Finite responses.  Floating-point arrays keep their dtype (float32 stays
        float32); integer or boolean arrays are converted to float64.
    unit_info : mapping of str to 1-D array, optional
        Per-unit metadata for the recorded units, each of length ``n_units``
        (``orientation`` [deg], ``sf`` [c/deg], ``phase`` [deg], ``rf_size`` [deg],
        ``x``, ``y`` [deg], ...).
    meta : mapping, optional
        JSON-serialisable metadata.  Missing standard keys ``model``, ``layer``,
        ``protocol`` (``None``) and ``protocol_params`` (``{}``) are filled in.  When
        the responses have a time axis, ``meta["time_step"]`` (seconds per time bin)
        is required.  The stored copy is normalised through JSON (tuples become
        lists, numpy scalars Python numbers) so that a saved and re-loaded recording
        compares equal.

    Attributes
    ----------
    conditions : Table
    responses : ndarray
    unit_info : dict of str to ndarray
    meta : dict

    Raises
    ------
    ValueError
        If the responses are not 2-D or 3-D, contain NaN or infinity, the number of
        condition rows differs from ``n_stimuli``, a ``unit_info`` array does not have
        length ``n_units``, or ``time_step`` is missing or not positive for a time axis.
    TypeError
        If a column or ``unit_info`` array has dtype object or ``meta`` is not
        JSON-serialisable.

    Examples
    --------
    >>> rec = Recording(Table({"orientation": [0.0, 90.0]}), [[1.0, 0.0], [0.0, 2.0]],
    ...                 unit_info={"orientation": [0.0, 90.0]}, meta={"layer": "simple"})
    >>> rec.n_stimuli, rec.n_units, rec.has_time
    (2, 2, False)
    >>> rec.select_units([1]).responses[:, 0].tolist()
    [0.0, 2.0]
    """

    def __init__(
        self,
        conditions: Table | Mapping[str, Any],
        responses: Any,
        unit_info: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        responses = check_array(
            "responses", responses, ndim=(2, 3),
            shape_doc="(n_stimuli, n_units) or (n_stimuli, n_units, n_time)",
        )
        if not np.issubdtype(responses.dtype, np.floating):
            responses = responses.astype(np.float64)
        if not isinstance(conditions, Table):
            if not isinstance(conditions, Mapping):
                raise TypeError(
                    f"conditions must be a Table or a mapping of column name to 1-D array, "
                    f"got {type(conditions).__name__}"
                )
            conditions = Table(conditions)
        for name in conditions.names:
            _check_storable(f"conditions column {name!r}", conditions[name])
        if len(conditions) != responses.shape[0]:
            raise ValueError(
                f"conditions has {len(conditions)} rows but responses has "
                f"{responses.shape[0]} stimuli (responses.shape = {responses.shape})"
            )
        n_units = responses.shape[1]
        info: dict[str, np.ndarray] = {}
        if unit_info is not None:
            if not isinstance(unit_info, Mapping):
                raise TypeError(
                    f"unit_info must be a mapping of name to 1-D array, "
                    f"got {type(unit_info).__name__}"
                )
            for key, value in unit_info.items():
                if not isinstance(key, str):
                    raise TypeError(f"unit_info keys must be strings, got {key!r}")
                arr = np.asarray(value)
                if arr.ndim != 1 or len(arr) != n_units:
                    raise ValueError(
                        f"unit_info[{key!r}] must have shape ({n_units},) (one value per "
                        f"unit), got {arr.shape}"
                    )
                _check_storable(f"unit_info[{key!r}]", arr)
                info[key] = arr
        meta = _normalise_meta(meta)
        if responses.ndim == 3:
            if meta.get("time_step") is None:
                raise ValueError(
                    "meta['time_step'] (seconds per time bin) is required when responses "
                    f"have a time axis, got responses.shape = {responses.shape}"
                )
            meta["time_step"] = check_positive("meta['time_step']", meta["time_step"])
        self.conditions = conditions
        self.responses = responses
        self.unit_info = info
        self.meta = meta

    # ------------------------------------------------------------------ properties
    @property
    def n_stimuli(self) -> int:
        """Number of stimuli (rows of the condition table)."""
        return int(self.responses.shape[0])

    @property
    def n_units(self) -> int:
        """Number of recorded units."""
        return int(self.responses.shape[1])

    @property
    def has_time(self) -> bool:
        """True if the responses have a time axis ``(n_stimuli, n_units, n_time)``."""
        return self.responses.ndim == 3

    @property
    def n_time(self) -> int | None:
        """Number of time bins, or ``None`` without a time axis."""
        return int(self.responses.shape[2]) if self.has_time else None

    @property
    def times(self) -> np.ndarray | None:
        """Start time of each bin in seconds, ``arange(n_time) * time_step``, or ``None``."""
        if not self.has_time:
            return None
        return np.arange(self.n_time) * self.meta["time_step"]

    def rates(self) -> np.ndarray:
        """The time-averaged response of every unit to every stimulus.

        The one time average of the package: the mean over the time axis when the
        responses have one (spike counts per bin become the mean count per bin),
        the responses themselves otherwise.

        Returns
        -------
        ndarray of shape (n_stimuli, n_units), float64
            A new array (never a view of ``responses``).

        Examples
        --------
        >>> rec = Recording({"contrast": [0.5, 1.0]}, np.array([[[0, 2]], [[3, 5]]]),
        ...                 meta={"time_step": 0.1})
        >>> rec.rates().tolist()
        [[1.0], [4.0]]
        >>> Recording({"contrast": [1.0]}, np.array([[2, 3]])).rates().dtype
        dtype('float64')
        """
        return _time_average(self.responses)

    # ------------------------------------------------------------------ selection
    def select_units(self, index: Any) -> Recording:
        """A recording of a subset of the units.

        Parameters
        ----------
        index : int, array_like of int, or array_like of bool
            Unit indices (negative values count from the end) or a boolean mask of
            length ``n_units``.

        Returns
        -------
        Recording
            Same conditions and metadata; responses and ``unit_info`` restricted to
            the selected units, in the given order.

        Raises
        ------
        IndexError
            If an index is out of range.
        ValueError, TypeError
            If the index is empty, not integer/boolean, or a mask of the wrong length.

        Examples
        --------
        >>> rec = Recording({"sf": [1.0, 2.0]}, np.arange(6.0).reshape(2, 3))
        >>> rec.select_units([True, False, True]).responses.tolist()
        [[0.0, 2.0], [3.0, 5.0]]
        """
        idx = check_index("index", index, self.n_units, "units")
        return Recording(
            self.conditions,
            self.responses[:, idx],
            {k: v[idx] for k, v in self.unit_info.items()},
            self.meta,
        )

    def select_stimuli(self, index: Any) -> Recording:
        """A recording of a subset of the stimuli (rows of conditions and responses).

        Parameters
        ----------
        index : int, array_like of int, or array_like of bool
            Stimulus indices or a boolean mask of length ``n_stimuli``, e.g.
            ``rec.conditions["contrast"] == 1``.

        Returns
        -------
        Recording

        Raises
        ------
        IndexError
            If an index is out of range.
        ValueError, TypeError
            If the index is empty, not integer/boolean, or a mask of the wrong length.

        Examples
        --------
        >>> rec = Recording({"sf": [1.0, 2.0, 4.0]}, np.eye(3))
        >>> rec.select_stimuli(rec.conditions["sf"] > 1).n_stimuli
        2
        """
        idx = check_index("index", index, self.n_stimuli, "stimuli")
        return Recording(self.conditions.take(idx), self.responses[idx], self.unit_info, self.meta)

    # ------------------------------------------------------------------ input/output
    def save(self, path: str | os.PathLike) -> None:
        """Write the recording to one ``.npz`` file, atomically and without pickle.

        The file is written to a temporary name beside ``path`` and renamed over it
        only when complete, so an interrupted save leaves an existing file intact.

        Parameters
        ----------
        path : str or path-like
            Destination; used as given (no suffix is added).

        Raises
        ------
        FileNotFoundError
            If the destination directory does not exist.

        Examples
        --------
        >>> import os, tempfile
        >>> rec = Recording({"sf": [1.0, 2.0]}, np.ones((2, 3), dtype=np.float32))
        >>> path = os.path.join(tempfile.mkdtemp(), "rec.npz")
        >>> rec.save(path)
        >>> Recording.load(path).responses.dtype
        dtype('float32')
        """
        arrays: dict[str, np.ndarray] = {"responses": self.responses}
        for i, name in enumerate(self.conditions.names):
            arrays[f"condition_{i}"] = self.conditions[name]
        for i, (_, value) in enumerate(self.unit_info.items()):
            arrays[f"unit_info_{i}"] = value
        header = {
            "kind": _KIND,
            "format_version": _FORMAT_VERSION,
            "condition_names": list(self.conditions.names),
            "unit_info_names": list(self.unit_info),
            "meta": self.meta,
        }
        save_npz(path, arrays, header)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Recording:
        """Read a recording written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        Recording
            Equal to the saved one: values, dtypes, column order and metadata.

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        ValueError
            If the file is truncated, corrupt, not an ``.npz`` or not a recording.

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "rec.npz")
        >>> Recording({"sf": [2.0]}, [[1.0, 2.0]], meta={"layer": "c1"}).save(path)
        >>> Recording.load(path).meta["layer"]
        'c1'
        """
        where = repr(os.fspath(path))
        arrays, header = load_npz(path, _KIND, check=lambda headers, meta: _check_headers(
            where, headers, meta))
        try:
            version = header["format_version"]
            if version != _FORMAT_VERSION:
                raise ValueError(f"unsupported recording format version {version!r}")
            cond_names = header["condition_names"]
            info_names = header["unit_info_names"]
            conditions = Table(
                {name: arrays[f"condition_{i}"] for i, name in enumerate(cond_names)}
            )
            unit_info = {name: arrays[f"unit_info_{i}"] for i, name in enumerate(info_names)}
            return cls(conditions, arrays["responses"], unit_info, header["meta"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where} is not a valid recording file (corrupt): {exc}") from exc

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        shape = "x".join(map(str, self.responses.shape))
        time = f", time_step={self.meta['time_step']:g} s" if self.has_time else ""
        return (
            f"Recording(model={self.meta['model']!r}, layer={self.meta['layer']!r}, "
            f"protocol={self.meta['protocol']!r}, responses {shape} {self.responses.dtype}"
            f"{time}; conditions: {', '.join(self.conditions.names) or '(none)'}; "
            f"unit_info: {', '.join(self.unit_info) or '(none)'})"
        )

    # ------------------------------------------------------------------ interchange
    def to_xarray(self):
        """The recording as an ``xarray.DataArray`` laid out like a Brain-Score assembly.

        Dimensions are ``("presentation", "neuroid")``, plus ``"time_bin"`` when the
        responses have a time axis: the layout of Brain-Score's ``NeuroidAssembly``
        (Schrimpf et al. 2018, *Brain-Score*, bioRxiv 407007).  Each condition column
        becomes a coordinate along ``presentation`` under its own name (select with
        ``da.sel(presentation=da.orientation == 90)`` or ``da.where``), and a
        ``stimulus_id`` coordinate numbers the rows (unless a column has that
        name).  Each ``unit_info`` array becomes a coordinate along ``neuroid``
        named ``unit_<key>`` (conditions and units often share names such as
        ``orientation``), beside a ``neuroid_id`` coordinate ``"<layer>.<index>"``.
        With a time axis, ``time_bin_start`` and ``time_bin_end`` give each bin's
        edges in milliseconds, as in Brain-Score.

        The attributes hold ``model``, ``layer`` and ``protocol`` (when set),
        ``time_step`` in seconds (time axis only) and, under ``"v1model"``, a JSON
        string with the full metadata and the original column names, so that
        :meth:`from_xarray` gives back an equal recording.

        Returns
        -------
        xarray.DataArray
            Shares the response values (same dtype); coordinates keep the column
            dtypes.

        Raises
        ------
        ValueError
            If a condition column is named like a dimension, ``neuroid_id``,
            ``time_bin_start``, ``time_bin_end`` or ``unit_<key>`` for a key of
            ``unit_info``: the coordinates would collide.
        ImportError
            If xarray is not installed (``pip install 'v1model[xarray]'``).

        Examples
        --------
        >>> rec = Recording({"orientation": [0.0, 90.0]}, [[1.0, 0.0], [0.0, 2.0]],
        ...                 unit_info={"orientation": [0.0, 90.0]}, meta={"layer": "simple"})
        >>> da = rec.to_xarray()
        >>> da.dims, da.unit_orientation.values.tolist()
        (('presentation', 'neuroid'), [0.0, 90.0])
        >>> Recording.from_xarray(da).meta == rec.meta
        True
        """
        xr = _import_xarray("Recording.to_xarray")
        reserved = {"presentation", "neuroid", "time_bin", "neuroid_id", "time_bin_start",
                    "time_bin_end"} | {f"unit_{key}" for key in self.unit_info}
        clash = [name for name in self.conditions.names if name in reserved]
        if clash:
            raise ValueError(
                f"conditions column {clash[0]!r} would collide with a coordinate of the "
                "assembly (its dims, neuroid_id, time_bin_start/end or a unit_<key> of "
                "unit_info); rename it, e.g. rec.conditions.with_columns(...)"
            )
        coords: dict[str, Any] = {}
        for name in self.conditions.names:
            coords[name] = ("presentation", self.conditions[name])
        if "stimulus_id" not in coords:
            coords["stimulus_id"] = ("presentation", np.arange(self.n_stimuli))
        prefix = f"{self.meta['layer']}." if self.meta["layer"] is not None else ""
        coords["neuroid_id"] = ("neuroid", np.array(
            [f"{prefix}{i}" for i in range(self.n_units)], dtype=str))
        for key, value in self.unit_info.items():
            coords[f"unit_{key}"] = ("neuroid", value)
        dims = ("presentation", "neuroid")
        attrs: dict[str, Any] = {}
        for key in ("model", "layer", "protocol"):
            if self.meta[key] is not None:
                attrs[key] = str(self.meta[key])
        if self.has_time:
            dims += ("time_bin",)
            step_ms = 1e3 * self.meta["time_step"]
            coords["time_bin_start"] = ("time_bin", np.arange(self.n_time) * step_ms)
            coords["time_bin_end"] = ("time_bin", np.arange(1, self.n_time + 1) * step_ms)
            attrs["time_step"] = self.meta["time_step"]
        attrs["v1model"] = json.dumps({
            "kind": _KIND,
            "format_version": _FORMAT_VERSION,
            "condition_names": list(self.conditions.names),
            "unit_info_names": list(self.unit_info),
            "meta": self.meta,
        })
        return xr.DataArray(self.responses, dims=dims, coords=coords, attrs=attrs,
                            name="responses")

    @classmethod
    def from_xarray(cls, array) -> Recording:
        """A recording from an ``xarray.DataArray`` with dims presentation × neuroid [× time_bin].

        An array written by :meth:`to_xarray` comes back equal (values, dtypes,
        column order, metadata).  Other arrays in that layout, e.g. a Brain-Score
        assembly, are read as follows: every 1-D coordinate along ``presentation``
        becomes a condition column (``stimulus_id`` included; the levels of a
        MultiIndex count, the MultiIndex itself does not); every 1-D coordinate
        along ``neuroid`` except ``neuroid_id`` becomes ``unit_info`` (a ``unit_``
        prefix is removed); the ``model``, ``layer`` and ``protocol`` attributes
        become metadata; and for a ``time_bin`` dimension the bin width is taken
        from the ``time_step`` attribute (seconds) or else from ``time_bin_start``
        and ``time_bin_end`` (milliseconds, equal widths required).  Object-dtype
        string coordinates are converted to fixed-width strings.

        Parameters
        ----------
        array : xarray.DataArray
            Dimensions ``("presentation", "neuroid")`` or
            ``("presentation", "neuroid", "time_bin")``, in that order.

        Returns
        -------
        Recording

        Raises
        ------
        TypeError
            If ``array`` is not a DataArray.
        ValueError
            If the dimensions differ from the layout above, the time bins are not
            equal, or the values are not finite (see :class:`Recording`).
        ImportError
            If xarray is not installed.

        Examples
        --------
        >>> import xarray as xr
        >>> da = xr.DataArray([[1.0, 2.0]], dims=("presentation", "neuroid"),
        ...                   coords={"sf": ("presentation", [2.0])})
        >>> Recording.from_xarray(da).conditions.names
        ('sf',)
        """
        xr = _import_xarray("Recording.from_xarray")
        if not isinstance(array, xr.DataArray):
            raise TypeError(f"array must be an xarray.DataArray, got {type(array).__name__}")
        dims = tuple(array.dims)
        if dims not in (("presentation", "neuroid"), ("presentation", "neuroid", "time_bin")):
            raise ValueError(
                "array must have dims ('presentation', 'neuroid') or ('presentation', "
                f"'neuroid', 'time_bin'), got {dims}"
            )
        stored = array.attrs.get("v1model")
        if stored is not None:
            try:
                header = json.loads(stored)
                conditions = {name: _coord_values(array, name)
                              for name in header["condition_names"]}
                unit_info = {name: _coord_values(array, f"unit_{name}")
                             for name in header["unit_info_names"]}
                meta = header["meta"]
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"array.attrs['v1model'] is not valid: {exc}") from exc
            return cls(conditions, array.values, unit_info, meta)
        conditions = {}
        unit_info = {}
        for name, coord in array.coords.items():
            if name in array.dims:  # a dimension's own index (e.g. a brainio MultiIndex)
                continue
            if coord.dims == ("presentation",):
                conditions[str(name)] = _coord_values(array, name)
            elif coord.dims == ("neuroid",) and name != "neuroid_id":
                key = str(name).removeprefix("unit_")
                unit_info[key] = _coord_values(array, name)
        meta = {key: array.attrs[key] for key in ("model", "layer", "protocol")
                if key in array.attrs}
        if "time_bin" in dims:
            meta["time_step"] = _time_step_of(array)
        return cls(conditions, array.values, unit_info, meta)


    # ------------------------------------------------------------------ notebook display
    def _repr_html_(self) -> str:
        """Notebook view: model, layer, protocol and shapes, then the first rows of the
        condition table and of the unit metadata, with units and dtypes."""
        shape = " × ".join(map(str, self.responses.shape))
        details = [f"{key} {self.meta[key]}" for key in ("model", "layer", "protocol")
                   if self.meta[key] is not None]
        details.append(f"responses {shape} ({self.responses.dtype})")
        if self.has_time:
            details.append(f"time_step {self.meta['time_step']:g} s")
        parts = [_html.title("Recording", details),
                 _html.columns_table(self.conditions.to_dict(),
                                     caption=f"conditions: {self.n_stimuli} stimuli")]
        if self.unit_info:
            parts.append(_html.columns_table(self.unit_info,
                                             caption=f"unit_info: {self.n_units} units"))
        return _html.block(*parts)

def _names(where: str, meta: dict, key: str) -> list[str]:
    names = meta.get(key)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{where} is not a valid recording file (corrupt): {key} must be a "
                         f"list of strings, got {names!r}")
    return names


def _check_headers(where: str, headers: dict, meta: dict) -> None:
    """Keys, shapes and dtypes of a stored recording, from the file's directory alone."""
    conditions = _names(where, meta, "condition_names")
    infos = _names(where, meta, "unit_info_names")
    response = headers.get("responses")
    if response is None:
        raise ValueError(f"{where} is not a valid recording file (incomplete): it has no array "
                         f"'responses'")
    shape = response[0]
    if len(shape) not in (2, 3):
        raise ValueError(f"{where}: responses must have shape (n_stimuli, n_units[, n_time]), "
                         f"got {shape}")
    numeric = "biuf"
    expect_arrays(
        f"{where} is not a valid recording file:", headers, required={"responses": (None, numeric),
                                  **{f"condition_{i}": ((shape[0],), numeric + "US")
                                     for i in range(len(conditions))},
                                  **{f"unit_info_{i}": ((shape[1],), numeric + "US")
                                     for i in range(len(infos))}})


def _check_storable(name: str, arr: np.ndarray) -> None:
    """Reject arrays that cannot be written to ``.npz`` without pickle."""
    if arr.dtype.hasobject:
        raise TypeError(
            f"{name} has dtype object, which cannot be saved without pickle; use numbers, "
            f"booleans or fixed-width strings (e.g. np.array(values, dtype=str))"
        )


def _time_average(responses: np.ndarray) -> np.ndarray:
    """float64 ``(n_stimuli, n_units)``: the mean over the time axis when there is one.

    The one time average of the package (:meth:`Recording.rates` is this of the
    recording's responses); code that reads the responses in chunks of units
    applies it to each chunk.  Always a new array.

    Examples
    --------
    >>> _time_average(np.array([[[0, 2]], [[3, 5]]])).tolist()
    [[1.0], [4.0]]
    """
    chunk = np.asarray(responses).astype(np.float64)
    return chunk.mean(axis=2) if chunk.ndim == 3 else chunk


def _normalise_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON round-tripped copy of ``meta`` with the standard keys present."""
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a mapping, got {type(meta).__name__}")
    try:
        out = json.loads(json.dumps(dict(meta), default=json_default))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"meta must be JSON-serialisable: {exc}") from exc
    if not isinstance(out, dict) or not all(isinstance(k, str) for k in meta):
        raise TypeError("meta keys must be strings")
    for key in _STANDARD_META:
        out.setdefault(key, {} if key == "protocol_params" else None)
    return out


def _coord_values(array, name) -> np.ndarray:
    """A coordinate's values as a storable array (object strings become fixed width)."""
    values = np.asarray(array.coords[name].values)
    if values.dtype.hasobject:
        values = values.astype(str)
    return values


def _time_step_of(array) -> float:
    """Seconds per time bin of an assembly without a ``time_step`` attribute."""
    if "time_step" in array.attrs:
        return float(array.attrs["time_step"])
    if "time_bin_start" not in array.coords or "time_bin_end" not in array.coords:
        raise ValueError(
            "an array with a 'time_bin' dimension needs attrs['time_step'] (seconds) or "
            "'time_bin_start' and 'time_bin_end' coordinates (milliseconds)"
        )
    widths = (np.asarray(array.coords["time_bin_end"].values, dtype=np.float64)
              - np.asarray(array.coords["time_bin_start"].values, dtype=np.float64))
    if not np.allclose(widths, widths[0], rtol=1e-9, atol=0.0):
        raise ValueError(f"time bins must all have the same width, got widths {widths} ms")
    return float(widths[0]) / 1e3
