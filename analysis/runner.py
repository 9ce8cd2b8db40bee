"""Run a stimulus protocol through a model and record the responses.

:func:`run_protocol` is the one place where protocols meet models: it asks the
model for a layer's responses batch by batch (see the model interface in
``v1model/base.py``), picks the units to keep, and returns a
:class:`~analysis.recording.Recording`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from analysis.recording import Recording
from stimuli._shared.validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_strings,
)
from v1model.base import check_layer, responses_at_many, responses_many

_MODEL_ATTRIBUTES = ("display", "layers", "temporal", "responses", "unit_info")
_PROTOCOL_ATTRIBUTES = ("name", "display", "conditions", "params", "kind", "stimuli", "batches")


def run_protocol(
    model: Any,
    protocol: Any,
    layer: str,
    *,
    units: str | Sequence[int] | np.ndarray = "centre",
    batch_size: int = 64,
    progress: bool = True,
    executor: Executor | None = None,
    at_positions: bool = True,
) -> Recording:
    """Present every stimulus of ``protocol`` to ``model`` and record ``layer``.

    Stimuli are generated lazily, one batch at a time, so a protocol never needs
    all its images in memory.  Static models (``model.temporal`` False) shown a
    movie protocol respond frame by frame: the recording gets a time axis with
    ``meta["time_step"] = 1 / frame_rate`` seconds.  Temporal models receive the
    movies (or images) whole; if they return ``(n, units, time_bins)`` the bin width
    is ``model.time_step`` (seconds) when the model defines it, else one frame.

    Parameters
    ----------
    model : object
        Anything with the v1model interface (``display``, ``layers``, ``temporal``,
        ``responses(stimuli, layer)``, ``unit_info(layer)`` and, for retinotopic
        layers, ``map_coordinates(layer)``).
    protocol : stimuli.protocols.Protocol
        Or any object with the same attributes (``name``, ``display``,
        ``conditions``, ``params``, ``kind``, ``len``, ``batches``, ``stimuli``).
        Its display must have the model's shape and pixels per degree (and frame
        rate, for movies shown to temporal models).
    layer : str
        One of ``model.layers``.
    units : {"centre", "all"} or array_like of int
        Which units to record.  For a retinotopic layer with output
        ``(n, channels, rows', cols')``: ``"centre"`` keeps every channel at the map
        position nearest the display centre (ties go to the first row / column),
        ``"all"`` keeps every channel at every position, and an index array selects
        units of the flattened ``(channels, rows', cols')`` map in C order.  For
        ``(n, units)`` outputs ``"centre"`` and ``"all"`` both keep every unit and an
        index array selects units.
    batch_size : int
        Stimuli per call to ``model.responses``; for static models shown movies a
        movie counts as its frames (at least one movie per batch, at most
        ``batch_size`` frames per call).
    progress : bool
        Show a tqdm progress bar (stimuli done out of the total) on stderr.
    executor : concurrent.futures.Executor, optional
        Map batches over an executor (a thread or process pool, or
        ``dask.distributed.Client.get_executor()``).  Workers receive the model, the
        protocol and a range of stimulus indices and render the stimuli themselves;
        for process pools and clusters the model and protocol must therefore be
        picklable (the built-in protocols are).  The first batch runs in the calling
        process to find the layer's output shape.  Results are reassembled in order,
        so the recording equals the serial one.
    at_positions : bool
        Let models that can compute a layer at chosen map positions do so (the
        optional ``responses_at`` / ``sampled_layers`` part of the model interface,
        :class:`v1model.base.Model`): for ``units="centre"`` or an index array on a
        retinotopic layer listed in ``model.sampled_layers``, the runner asks for the
        recorded positions only instead of full maps, when they are at most
        ``1/8`` of the map.  The responses equal the full-map ones to the model's
        documented float32 tolerance (``1e-5`` of the largest response for the
        built-in models).  False always computes full maps (the reference path).

    Returns
    -------
    Recording
        ``conditions`` is the protocol's table; ``responses`` has shape
        ``(n_stimuli, n_units)`` or ``(n_stimuli, n_units, n_time)``; ``unit_info``
        holds the model's per-unit metadata for the recorded units, plus for
        retinotopic layers ``channel``, ``map_row``, ``map_col`` and the map position
        ``x``, ``y`` in degrees (which replace any per-channel ``x``, ``y``), and
        ``unit``, the index into the flattened layer output.  ``meta`` records
        ``model`` (class name), ``layer``, ``protocol``, ``protocol_params``,
        ``protocol_kind``, ``units``, ``display``, ``route`` (``"responses_at"`` when
        the recorded positions were computed alone, ``"responses"`` for full maps)
        and ``time_step`` (s) when there is a time axis.

    Raises
    ------
    TypeError
        If ``model`` or ``protocol`` lacks part of its interface, or an argument
        has the wrong type.
    ValueError
        If ``layer`` is unknown, the protocol is empty, the displays differ, the
        model returns a wrong number of responses, an unexpected shape, NaN or
        infinite values, or per-unit metadata of the wrong length.
    IndexError
        If a unit index is out of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> from stimuli.protocols import contrast_response
    >>> class Mean:  # a one-unit model: the mean luminance of the image
    ...     display, layers, temporal = Display((16, 16), pixels_per_degree=8), ("mean",), False
    ...     def responses(self, stimuli, layer):
    ...         return stimuli.mean(axis=(1, 2))[:, None]
    ...     def unit_info(self, layer):
    ...         return {}
    >>> protocol = contrast_response(Mean.display, contrasts=(0.5, 1.0), phases=(0.0,))
    >>> rec = run_protocol(Mean(), protocol, "mean", progress=False)
    >>> rec.responses.shape
    (2, 1)
    """
    _check_interface("model", model, _MODEL_ATTRIBUTES)
    return _run(model, protocol, (check_layer(model, layer),), units=units,
                batch_size=batch_size, progress=progress, executor=executor,
                at_positions=at_positions)[layer]


def run_protocol_layers(
    model: Any,
    protocol: Any,
    layers: Sequence[str] | None = None,
    *,
    units: str | Sequence[int] | np.ndarray = "centre",
    batch_size: int = 64,
    progress: bool = True,
    executor: Executor | None = None,
    at_positions: bool = True,
) -> dict[str, Recording]:
    """:func:`run_protocol` for several layers at once: each stimulus rendered once.

    Every batch of stimuli is rendered once and passed to the model once for all
    the layers: through the model's ``responses_at_many`` / ``responses_many`` when
    it offers them (layers that share a filtering pass, e.g. the V1 model's simple
    and complex cells, then cost one pass), else one ``responses`` /
    ``responses_at`` call per layer on the same images
    (:func:`v1model.base.responses_many`).  The recordings equal those of
    :func:`run_protocol` for each layer.

    Parameters
    ----------
    model, protocol
        As :func:`run_protocol`.
    layers : sequence of str, optional
        Layers to record, each one of ``model.layers``; default all of them.
    units, batch_size, progress, executor, at_positions
        As :func:`run_protocol` (``units`` applies to every layer).

    Returns
    -------
    dict of str to Recording
        Layer name → its recording, in the order given.

    Raises
    ------
    TypeError, ValueError, IndexError
        As :func:`run_protocol`; ``ValueError`` also if ``layers`` is empty or names
        a layer twice.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> from stimuli.protocols import contrast_response
    >>> class Two:  # two one-unit layers: the mean and the mean square of the image
    ...     display, layers, temporal = Display((16, 16), pixels_per_degree=8), ("m", "s"), False
    ...     def responses(self, stimuli, layer):
    ...         x = stimuli if layer == "m" else stimuli ** 2
    ...         return x.mean(axis=(1, 2))[:, None]
    ...     def unit_info(self, layer):
    ...         return {}
    >>> protocol = contrast_response(Two.display, contrasts=(0.5, 1.0), phases=(0.0,))
    >>> recs = run_protocol_layers(Two(), protocol, progress=False)
    >>> {k: v.responses.shape for k, v in recs.items()}
    {'m': (2, 1), 's': (2, 1)}
    """
    _check_interface("model", model, _MODEL_ATTRIBUTES)
    if layers is None:
        layers = tuple(model.layers)
    elif isinstance(layers, str):
        raise TypeError(f"layers must be a sequence of layer names, got the string {layers!r}; "
                        f"use run_protocol for one layer")
    names = check_strings("layers", layers, allow_empty=False)
    names = tuple(check_choice("layers", layer, tuple(model.layers)) for layer in names)
    if len(set(names)) != len(names):
        raise ValueError(f"layers must not repeat a layer, got {list(names)}")
    return _run(model, protocol, names, units=units, batch_size=batch_size,
                progress=progress, executor=executor, at_positions=at_positions)


def _run(model: Any, protocol: Any, layers: tuple[str, ...], *, units: Any, batch_size: int,
         progress: bool, executor: Executor | None, at_positions: bool) -> dict[str, Recording]:
    """The runner of :func:`run_protocol` and :func:`run_protocol_layers`."""
    _check_interface("model", model, _MODEL_ATTRIBUTES)
    _check_interface("protocol", protocol, _PROTOCOL_ATTRIBUTES)
    n_stimuli = len(protocol)
    if n_stimuli == 0:
        raise ValueError(f"protocol {protocol.name!r} has no stimuli")
    kind = check_choice("protocol.kind", protocol.kind, ("image", "movie"))
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_bool("progress", progress)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor (with submit), got {executor!r}"
        )
    if isinstance(units, str):
        unit_mode = check_choice("units", units, ("centre", "all"))
        unit_index = None
    else:
        unit_mode = "index"
        unit_index = check_array("units", units, ndim=1, shape_doc="(n_units,)")
        if not np.issubdtype(unit_index.dtype, np.integer):
            raise TypeError(f"units must be 'centre', 'all' or integers, got {unit_index.dtype}")
    frame_by_frame = kind == "movie" and not bool(model.temporal)
    _check_displays(model.display, protocol.display, check_rate=kind == "movie" and not
                    frame_by_frame)

    per_batch = batch_size
    if frame_by_frame:
        per_batch = max(1, batch_size // _n_frames(protocol))
    bounds = [(start, min(start + per_batch, n_stimuli))
              for start in range(0, n_stimuli, per_batch)]
    check_bool("at_positions", at_positions)
    job = _Job(model, protocol, layers, frame_by_frame, batch_size, unit_mode, unit_index,
               at_positions)

    results: list[dict[str, np.ndarray]] = []
    desc = f"{protocol.name} -> {', '.join(layers)}"
    with tqdm(total=n_stimuli, desc=desc, unit="stim", disable=not progress) as bar:
        if executor is None:
            done = 0
            for start, stimuli in protocol.batches(per_batch):
                if start != done:
                    raise ValueError(
                        f"protocol {protocol.name!r} yielded a batch starting at stimulus "
                        f"{start}, expected {done}"
                    )
                results.append(job.run(start, stimuli))
                done += len(results[-1][layers[0]])
                bar.update(len(results[-1][layers[0]]))
        else:
            results.append(job(bounds[0]))
            bar.update(len(results[-1][layers[0]]))
            futures = [executor.submit(job, b) for b in bounds[1:]]
            for future in futures:
                results.append(future.result())
                bar.update(len(results[-1][layers[0]]))

    out = {}
    for layer in layers:
        parts = [r[layer] for r in results]
        for part in parts[1:]:
            if part.shape[1:] != parts[0].shape[1:]:
                raise ValueError(
                    f"model returned responses of shape (n, "
                    f"{', '.join(map(str, part.shape[1:]))}) for some batches and (n, "
                    f"{', '.join(map(str, parts[0].shape[1:]))}) for others")
        responses = np.concatenate(parts, axis=0)
        if responses.shape[0] != n_stimuli:
            raise ValueError(
                f"protocol {protocol.name!r} produced {responses.shape[0]} stimuli in batches "
                f"but has {n_stimuli} condition rows"
            )
        meta = {
            "model": type(model).__name__,
            "layer": layer,
            "protocol": protocol.name,
            "protocol_params": protocol.params,
            "protocol_kind": kind,
            "units": unit_mode,
            "route": "responses_at" if job.sampled[layer] else "responses",
            "display": {
                "shape": list(protocol.display.shape),
                "pixels_per_degree": float(protocol.display.pixels_per_degree),
                "frame_rate": float(protocol.display.frame_rate),
            },
        }
        if responses.ndim == 3:
            meta["time_step"] = job.time_step(layer)
        out[layer] = Recording(protocol.conditions, responses, job.selector[layer].unit_info,
                               meta)
    return out


class _Selector:
    """Picks the recorded units out of one model output and describes them."""

    def __init__(self, model: Any, layer: str, unit_shape: tuple[int, ...], temporal: bool,
                 mode: str, index: np.ndarray | None) -> None:
        self.unit_shape = unit_shape
        channel_info = _unit_info(model, layer)
        if len(unit_shape) == 3:  # retinotopic map (channels, rows', cols')
            self.time_axis = False
            n_channels, n_rows, n_cols = unit_shape
            x, y = _map_coordinates(model, layer, n_rows, n_cols)
            if mode == "centre":
                channel = np.arange(n_channels)
                row = np.full(n_channels, int(np.argmin(np.abs(y))))
                col = np.full(n_channels, int(np.argmin(np.abs(x))))
                flat = np.ravel_multi_index((channel, row, col), unit_shape)
            else:
                flat = _flat_index(mode, index, n_channels * n_rows * n_cols)
                channel, row, col = np.unravel_index(flat, unit_shape)
            info = _take_info(channel_info, n_channels, "channels", channel)
            info.update(channel=channel.astype(np.int64), map_row=row.astype(np.int64),
                        map_col=col.astype(np.int64), x=x[col], y=y[row])
        elif len(unit_shape) == 1 or (len(unit_shape) == 2 and temporal):
            self.time_axis = len(unit_shape) == 2
            n_units = unit_shape[0]
            flat = _flat_index("all" if mode == "centre" else mode, index, n_units)
            info = _take_info(channel_info, n_units, "units", flat)
        else:
            expected = ("(n, channels, rows', cols'), (n, units) or (n, units, time_bins)"
                        if temporal else "(n, channels, rows', cols') or (n, units)")
            raise ValueError(
                f"model.responses(..., {layer!r}) must return shape {expected}, got "
                f"(n, {', '.join(map(str, unit_shape))})"
            )
        info["unit"] = flat.astype(np.int64)
        self.flat = flat
        self.unit_info = info

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """``(n, *unit_shape)`` → ``(n, n_units)`` or ``(n, n_units, time)``."""
        n = raw.shape[0]
        if self.time_axis:
            return raw[:, self.flat, :]
        return raw.reshape(n, -1)[:, self.flat]


class _Job:
    """Responses of the recorded units of every layer to one batch: picklable, sent to
    executors."""

    def __init__(self, model: Any, protocol: Any, layers: tuple[str, ...],
                 frame_by_frame: bool, chunk: int, mode: str, index: np.ndarray | None,
                 at_positions: bool = False) -> None:
        self.at_positions = at_positions
        #: per layer, after the first batch: True if the recorded positions are computed
        #: alone (``model.responses_at``), False for full maps
        self.sampled: dict[str, bool] | None = None
        self._take: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.model = model
        self.protocol = protocol
        self.layers = layers
        self.frame_by_frame = frame_by_frame
        self.chunk = chunk
        self.mode = mode
        self.index = index
        self.selector: dict[str, _Selector] = {}
        self.n_frames: int | None = None
        self.n_time: dict[str, int] = {}

    def __call__(self, bounds: tuple[int, int]) -> dict[str, np.ndarray]:
        start, stop = bounds
        return self.run(start, self.protocol.stimuli(np.arange(start, stop)))

    def run(self, start: int, stimuli: Any) -> dict[str, np.ndarray]:
        stimuli = np.asarray(stimuli)
        n = stimuli.shape[0] if stimuli.ndim else 0
        where = f"stimuli {start}..{start + n - 1} of protocol {self.protocol.name!r}"
        expected_ndim = 4 if self.protocol.kind == "movie" else 3
        if stimuli.ndim != expected_ndim or n == 0:
            doc = "(n, frames, rows, cols)" if expected_ndim == 4 else "(n, rows, cols)"
            raise ValueError(
                f"protocol {self.protocol.name!r} of kind {self.protocol.kind!r} must yield "
                f"stimuli of shape {doc}, got {stimuli.shape}"
            )
        if expected_ndim == 4:
            self.n_frames = stimuli.shape[1]
        if not self.frame_by_frame:
            outs = self._respond(stimuli, where)
        else:
            frames = stimuli.shape[1]
            images = stimuli.reshape(n * frames, *stimuli.shape[2:])
            parts = [self._respond(images[i:i + self.chunk], where)
                     for i in range(0, len(images), self.chunk)]
            outs = {}
            for layer in self.layers:
                out = np.concatenate([p[layer] for p in parts], axis=0)
                outs[layer] = out.reshape(n, frames, out.shape[1]).transpose(0, 2, 1)
        for layer, out in outs.items():
            if not np.all(np.isfinite(out)):
                raise ValueError(
                    f"model {type(self.model).__name__} returned NaN or infinite responses in "
                    f"layer {layer!r} for {where}"
                )
            if out.ndim == 3:
                if layer in self.n_time and out.shape[2] != self.n_time[layer]:
                    raise ValueError(
                        f"model returned {out.shape[2]} time bins for {where} but "
                        f"{self.n_time[layer]} for earlier stimuli"
                    )
                self.n_time[layer] = out.shape[2]
            outs[layer] = np.ascontiguousarray(out)
        return outs

    def _can_sample(self, layer: str) -> bool:
        """Whether the model offers ``responses_at`` for ``layer`` and the units."""
        model = self.model
        if not self.at_positions or self.mode == "all" or bool(model.temporal):
            return False
        if not callable(getattr(model, "responses_at", None)):
            return False
        layers = getattr(model, "sampled_layers", ())
        if isinstance(layers, str) or not isinstance(layers, (Sequence, frozenset, set)):
            raise TypeError(f"model.sampled_layers must be a tuple of layer names, got "
                            f"{layers!r}")
        return layer in layers

    def _plan_positions(self, layer: str, stimuli: np.ndarray) -> bool:
        """Build the selector from the map geometry; True if positions are worth sampling."""
        x, y = _map_coordinates(self.model, layer, None, None)
        r0, c0 = int(np.argmin(np.abs(y))), int(np.argmin(np.abs(x)))
        probe = self._call_at(layer, stimuli[:1], np.array([r0]), np.array([c0]),
                              "a probe image")
        unit_shape = (probe.shape[1], len(y), len(x))
        self.selector[layer] = _Selector(self.model, layer, unit_shape, False, self.mode,
                                         self.index)
        info = self.selector[layer].unit_info
        key = info["map_row"] * len(x) + info["map_col"]
        where, inverse = np.unique(key, return_inverse=True)
        if len(where) * 8 > len(x) * len(y):
            del self.selector[layer]
            return False                     # many positions: full maps are as cheap
        self._take[layer] = (where // len(x), where % len(x), info["channel"],
                             inverse.ravel())
        return True

    def _call_at(self, layer: str, stimuli: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 where: str) -> np.ndarray:
        raw = self.model.responses_at(stimuli, layer, rows, cols)
        return self._check_at(layer, raw, stimuli, rows, where)

    def _check_at(self, layer: str, raw: Any, stimuli: np.ndarray, rows: np.ndarray,
                  where: str) -> np.ndarray:
        if not isinstance(raw, np.ndarray) or not (np.issubdtype(raw.dtype, np.number)
                                                   or raw.dtype == np.bool_):
            raise TypeError(f"model {type(self.model).__name__}.responses_at must return a "
                            f"numeric array, got {type(raw).__name__}")
        if raw.ndim != 3 or raw.shape[0] != len(stimuli) or raw.shape[2] != len(rows):
            raise ValueError(
                f"model {type(self.model).__name__}.responses_at must return shape (n, "
                f"channels, positions) = ({len(stimuli)}, channels, {len(rows)}) for "
                f"{where} in layer {layer!r}, got {raw.shape}")
        return raw

    def _respond(self, stimuli: np.ndarray, where: str) -> dict[str, np.ndarray]:
        if self.sampled is None:
            self.sampled = {layer: self._can_sample(layer)
                            and self._plan_positions(layer, stimuli) for layer in self.layers}
        out: dict[str, np.ndarray] = {}
        # sampled layers at the same positions: one call for all of them
        groups: dict[bytes, list[str]] = {}
        for layer in self.layers:
            if self.sampled[layer]:
                rows, cols = self._take[layer][:2]
                groups.setdefault(rows.tobytes() + b"|" + cols.tobytes(), []).append(layer)
        for group in groups.values():
            rows, cols = self._take[group[0]][:2]
            raws = responses_at_many(self.model, stimuli, group, rows, cols)
            for layer in group:
                raw = self._check_at(layer, raws[layer], stimuli, rows, where)
                _, _, channel, position = self._take[layer]
                if raw.shape[1] != self.selector[layer].unit_shape[0]:
                    raise ValueError(
                        f"model.responses_at returned {raw.shape[1]} channels for {where} but "
                        f"{self.selector[layer].unit_shape[0]} for earlier stimuli")
                out[layer] = raw[:, channel, position]
        full = [layer for layer in self.layers if not self.sampled[layer]]
        if full:
            raws = responses_many(self.model, stimuli, full)
            for layer in full:
                out[layer] = self._select(layer, raws[layer], stimuli, where)
        return {layer: out[layer] for layer in self.layers}

    def _select(self, layer: str, raw: Any, stimuli: np.ndarray, where: str) -> np.ndarray:
        raw = np.asarray(raw)
        if raw.ndim < 2 or raw.shape[0] != len(stimuli):
            got = raw.shape[0] if raw.ndim else "a scalar"
            raise ValueError(
                f"model {type(self.model).__name__}.responses returned {got} responses "
                f"(shape {raw.shape}) for {len(stimuli)} stimuli in layer {layer!r} "
                f"({where})"
            )
        if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_):
            raise TypeError(f"model.responses must return a numeric array, got {raw.dtype}")
        selector = self.selector.get(layer)
        if selector is None:
            selector = self.selector[layer] = _Selector(
                self.model, layer, raw.shape[1:], bool(self.model.temporal), self.mode,
                self.index)
        elif raw.shape[1:] != selector.unit_shape:
            raise ValueError(
                f"model.responses returned shape {raw.shape} for {where} but "
                f"(n, {', '.join(map(str, selector.unit_shape))}) for earlier stimuli"
            )
        return selector(raw)

    def time_step(self, layer: str) -> float:
        """Seconds per time bin of the recorded responses of ``layer``."""
        frame = 1.0 / float(self.protocol.display.frame_rate)
        if self.frame_by_frame:
            return frame
        step = getattr(self.model, "time_step", None)
        if step is not None:
            return float(step)
        if self.n_frames is not None and self.n_time.get(layer) == self.n_frames:
            return frame
        raise ValueError(
            f"model {type(self.model).__name__} returned {self.n_time.get(layer)} time bins "
            f"but does not define time_step (seconds per bin) and the bins are not the "
            f"stimulus frames"
        )


def _check_interface(name: str, obj: Any, attributes: Sequence[str]) -> None:
    missing = [a for a in attributes if not hasattr(obj, a)]
    if not hasattr(obj, "__len__") and name == "protocol":
        missing.append("__len__")
    if missing:
        raise TypeError(
            f"{name} must provide {', '.join(attributes)}; {type(obj).__name__} lacks "
            f"{', '.join(missing)}"
        )
    for method in ("responses", "unit_info", "stimuli", "batches"):
        if method in attributes and not callable(getattr(obj, method)):
            raise TypeError(f"{name}.{method} must be callable")


def _check_displays(model_display: Any, protocol_display: Any, *, check_rate: bool) -> None:
    if tuple(model_display.shape) != tuple(protocol_display.shape):
        raise ValueError(
            f"protocol display has shape {tuple(protocol_display.shape)} but the model's has "
            f"{tuple(model_display.shape)}; build the protocol on model.display"
        )
    if not np.isclose(model_display.pixels_per_degree, protocol_display.pixels_per_degree):
        raise ValueError(
            f"protocol display has {protocol_display.pixels_per_degree} pixels_per_degree but "
            f"the model's has {model_display.pixels_per_degree}; build the protocol on "
            f"model.display"
        )
    if check_rate and not np.isclose(model_display.frame_rate, protocol_display.frame_rate):
        raise ValueError(
            f"protocol display has frame_rate {protocol_display.frame_rate} Hz but the "
            f"temporal model's has {model_display.frame_rate} Hz"
        )


def _n_frames(protocol: Any) -> int:
    shape = getattr(protocol, "stimulus_shape", None)
    if shape is None:
        shape = np.shape(protocol.stimuli(np.arange(1)))[1:]
    if len(shape) != 3:
        raise ValueError(
            f"protocol {protocol.name!r} of kind 'movie' must have stimuli of shape "
            f"(frames, rows, cols), got {tuple(shape)}"
        )
    return int(shape[0])


def _unit_info(model: Any, layer: str) -> dict[str, np.ndarray]:
    info = model.unit_info(layer)
    if info is None:
        return {}
    if not hasattr(info, "items"):
        raise TypeError(f"model.unit_info({layer!r}) must return a dict, got {type(info).__name__}")
    return {str(k): np.asarray(v) for k, v in info.items()}


def _take_info(info: dict[str, np.ndarray], length: int, what: str,
               index: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for key, value in info.items():
        if value.ndim != 1 or len(value) != length:
            raise ValueError(
                f"model.unit_info()[{key!r}] must have one value per {what[:-1]} "
                f"(shape ({length},)), got {value.shape}"
            )
        out[key] = value[index]
    return out


def _map_coordinates(model: Any, layer: str, n_rows: int | None, n_cols: int | None):
    if not callable(getattr(model, "map_coordinates", None)):
        raise TypeError(
            f"layer {layer!r} of {type(model).__name__} returns maps (n, channels, rows', cols') "
            f"so the model must provide map_coordinates(layer)"
        )
    x, y = (np.asarray(v, dtype=np.float64) for v in model.map_coordinates(layer))
    if n_rows is None:  # the model's own map: any non-empty 1-D positions
        if x.ndim != 1 or y.ndim != 1 or not (len(x) and len(y)):
            raise ValueError(f"model.map_coordinates({layer!r}) must return non-empty 1-D x "
                             f"and y, got shapes {x.shape} and {y.shape}")
        return x, y
    if x.shape != (n_cols,) or y.shape != (n_rows,):
        raise ValueError(
            f"model.map_coordinates({layer!r}) must return x of shape ({n_cols},) and y of "
            f"shape ({n_rows},) to match the maps, got {x.shape} and {y.shape}"
        )
    return x, y


def _flat_index(mode: str, index: np.ndarray | None, total: int) -> np.ndarray:
    if mode == "all":
        return np.arange(total)
    bad = (index < 0) | (index >= total)
    if np.any(bad):
        raise IndexError(f"units index {int(index[bad][0])} is out of range for {total} units")
    return index.astype(np.intp)
