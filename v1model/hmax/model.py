"""The :class:`HMAX` model: named stages behind the model interface (:mod:`v1model.base`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from stimuli._shared.io import load_npz, save_npz
from stimuli._shared.validation import check_choice, check_images, check_index, check_strings
from stimuli.display import Display
from v1model._repr import model_repr_html
from v1model.base import check_layer
from v1model.hmax._checks import _check_params
from v1model.hmax.c1 import C1Stage
from v1model.hmax.c2 import C2Stage
from v1model.hmax.grid import Grid
from v1model.hmax.s1 import S1Stage
from v1model.hmax.s2 import S2Stage

_FILE_KIND = "hmax"
#: Version 2: S1 normalises by the luminance energy (``mean_luminance``); files of
#: version 1 were written when it normalised by the contrast energy, and load with
#: ``mean_luminance=0`` so they keep computing what they computed.
_FILE_VERSION = 2

_STAGE_TYPES = {"S1Stage": S1Stage, "C1Stage": C1Stage, "S2Stage": S2Stage, "C2Stage": C2Stage}


class HMAX:
    """HMAX as a stack of named stages, answering the model interface.

    Parameters
    ----------
    display : Display
        The screen; images must have its shape.  Pixel sizes of the stages are in
        display pixels; ``unit_info`` converts them to degrees.
    stages : sequence of (name, stage) pairs, optional
        The stack, first an :class:`S1Stage`, then any C and S stages.  Default
        ``S1 → C1 → S2 → C2`` with Serre et al.'s (2007) parameters.
    prototypes : array or sequence of arrays (k, 4, n, n), optional
        S2 templates for the default stack (see :func:`imprint_prototypes`).  Without
        them layers S2 and C2 raise until :meth:`with_prototypes` supplies them.
    beta : float
        S2 sharpness for the default stack.  Default 1.0.
    s1, c1 : dict, optional
        Parameters of the default S1 and C1 stages (names as in :class:`S1Stage`
        and :class:`C1Stage`); unknown names raise.

    Raises
    ------
    ValueError
        If ``stages`` is given together with ``prototypes``, ``s1`` or ``c1``; stage
        names repeat; the first stage is not an S1Stage; a parameter is unknown.
    TypeError
        If ``display`` is not a Display or a stage is not a stage object.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> model = HMAX(Display((64, 64), pixels_per_degree=32))
    >>> model.layers
    ('S1', 'C1', 'S2', 'C2')
    >>> model.responses(np.zeros((1, 64, 64), np.float32), "C1").shape
    (1, 32, 15, 15)
    """

    temporal = False
    _repr_html_ = model_repr_html

    def __init__(self, display: Display, *, stages: Sequence[tuple[str, Any]] | None = None,
                 prototypes: Any = None, beta: float = 1.0,
                 s1: Mapping[str, Any] | None = None, c1: Mapping[str, Any] | None = None):
        if not isinstance(display, Display):
            raise TypeError(f"display must be a Display, got {display!r}")
        for name, value in (("s1", s1), ("c1", c1)):
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"{name} must be a mapping of stage parameters, got {value!r}")
        if stages is not None and (isinstance(stages, (str, bytes))
                                   or not isinstance(stages, Sequence)):
            raise TypeError(f"stages must be a sequence of (name, stage) pairs, got {stages!r}")
        self.display = display
        if stages is None:
            s1 = dict(s1 or {})
            c1 = dict(c1 or {})
            _check_params("S1", s1, S1Stage.params + ("workers",))
            _check_params("C1", c1, C1Stage.params)
            stages = [("S1", S1Stage(**s1)), ("C1", C1Stage(**c1)),
                      ("S2", S2Stage(prototypes, beta=beta)), ("C2", C2Stage())]
        else:
            given = [k for k, v in (("prototypes", prototypes), ("s1", s1), ("c1", c1))
                     if v is not None]
            if given or beta != 1.0:
                raise ValueError(
                    f"pass either stages or the default stack's parameters, not both (got stages "
                    f"and {', '.join(given + (['beta'] if beta != 1.0 else []))})"
                )
        self.stages = self._check_stages(stages)
        self.layers = tuple(name for name, _ in self.stages)
        self._grids: dict[str, Grid | ValueError] | None = None

    @staticmethod
    def _check_stages(stages: Any) -> tuple[tuple[str, Any], ...]:
        stages = tuple(stages)
        if not stages:
            raise ValueError("stages must not be empty")
        names = []
        for i, item in enumerate(stages):
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise TypeError(f"stages[{i}] must be a (name, stage) pair, got {item!r}")
            name, stage = item
            if not isinstance(stage, tuple(_STAGE_TYPES.values())):
                raise TypeError(f"stages[{i}] ({name!r}) must be one of "
                                f"{', '.join(_STAGE_TYPES)}, got {type(stage).__name__}")
            if (i == 0) != isinstance(stage, S1Stage):
                raise ValueError(
                    "the first stage, and only the first, must be an S1Stage (it reads "
                    f"images); stage {i} ({name!r}) is {type(stage).__name__}")
            names.append(name)
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")
        return stages

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={s!r}" for n, s in self.stages)
        return f"HMAX({self.display.shape}, {inner})"

    # ---- geometry -----------------------------------------------------------------

    def _stage(self, layer: str) -> Any:
        return dict(self.stages)[check_layer(self, layer)]

    def grid(self, layer: str) -> Grid:
        """The :class:`Grid` of a layer's output for this display (raises if it cannot be built)."""
        check_layer(self, layer)
        if self._grids is None:
            grids: dict[str, Grid | ValueError] = {}
            g = Grid.for_images(*self.display.shape)
            self.stages[0][1].check_images(np.zeros((1,) + self.display.shape, np.float32),
                                           name="display-sized images")
            for name, stage in self.stages:
                try:
                    g = stage.output_grid(g)
                except ValueError as exc:  # S stages without prototypes: later layers unusable
                    grids[name] = exc
                    break
                grids[name] = g
            self._grids = grids
        g = self._grids.get(layer)
        if g is None:
            first = next(v for v in self._grids.values() if isinstance(v, ValueError))
            raise ValueError(f"layer {layer!r} cannot be computed: {first}")
        if isinstance(g, ValueError):
            raise ValueError(f"layer {layer!r} cannot be computed: {g}")
        return g

    def _ppd(self) -> float:
        return float(self.display.pixels_per_degree)

    def unit_info(self, layer: str) -> dict[str, np.ndarray]:
        """Per-channel (retinotopic layers) or per-unit (C2) metadata.

        Keys: ``band``, ``rf_size`` (degrees), ``orientation`` (degrees; S1, C1),
        ``sf`` (c/deg; S1, C1 — mean of the band's scales), ``step`` (degrees between
        map elements), for S1 also ``scale``, ``filter_size`` (px), ``wavelength``
        and ``sigma`` (degrees), for S2/C2 ``prototype`` and ``prototype_size``
        (input elements).

        Examples
        --------
        >>> from stimuli.display import Display
        >>> info = HMAX(Display((64, 64), 32)).unit_info("C1")
        >>> info["band"][:5].tolist(), info["orientation"][:5].tolist()
        ([0, 0, 0, 0, 1], [0.0, 45.0, 90.0, 135.0, 0.0])
        """
        g = self.grid(layer)
        ppd = self._ppd()
        out: dict[str, np.ndarray] = {}
        for key, value in g.info.items():
            v = np.asarray(value).reshape(-1)
            if key == "sf":
                v = v * ppd  # cycles per pixel → c/deg
            elif key in ("wavelength", "sigma"):
                v = v / ppd
            if key in ("band", "scale", "prototype", "prototype_size", "filter_size"):
                v = v.astype(int)
            out[key] = v
        out["rf_size"] = g.rf_size.reshape(-1) / ppd
        if g.retinotopic:
            out["step"] = np.repeat(g.step, g.n_features) / ppd
        nxt = self.stages[1][1] if len(self.stages) > 1 else None
        if layer == self.layers[0] and isinstance(nxt, C1Stage):
            out["band"] = out["scale"] // nxt.scales_per_band
        return out

    def band_coordinates(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Exact positions of every channel's map elements, in degrees.

        Returns
        -------
        x : ndarray of shape (channels, cols')
        y : ndarray of shape (channels, rows')

        Raises
        ------
        ValueError
            For a global layer (C2), which has no map.
        """
        g = self.grid(layer)
        if not g.retinotopic:
            raise ValueError(f"layer {layer!r} is global (n, units) and has no map")
        rows_img, cols_img = g.image_shape
        ppd = self._ppd()
        i = np.arange(g.shape[0])
        j = np.arange(g.shape[1])
        row_px = g.origin[:, 0:1] + g.step[:, None] * i[None]
        col_px = g.origin[:, 1:2] + g.step[:, None] * j[None]
        x = (col_px - (cols_img - 1) / 2) / ppd
        y = ((rows_img - 1) / 2 - row_px) / ppd
        return np.repeat(x, g.n_features, axis=0), np.repeat(y, g.n_features, axis=0)

    def map_coordinates(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``x (cols',)``, ``y (rows',)`` in degrees of the finest band's map.

        Every band is centred in the array, so the centre index is the display centre
        (within half a pixel) for all channels; for coarser bands multiply the offset
        from the centre index by ``unit_info(layer)["step"]`` or use
        :meth:`band_coordinates`.

        Raises
        ------
        ValueError
            For a global layer (C2).
        """
        x, y = self.band_coordinates(layer)
        finest = int(np.argmin(self.unit_info(layer)["step"]))
        return x[finest], y[finest]

    def valid_mask(self, layer: str) -> np.ndarray:
        """``(channels, rows', cols')`` bool: True where a channel's map has an element.

        For a global layer (C2) every unit is valid: ``(units,)`` of True.
        """
        g = self.grid(layer)
        if not g.retinotopic:
            return np.ones((g.n_features,), dtype=bool)
        return g.valid.reshape((-1,) + g.shape)

    # ---- responses ----------------------------------------------------------------

    def _forward(self, images: np.ndarray, layer: str) -> tuple[np.ndarray, Grid]:
        """Run the stack up to ``layer`` on validated, display-shaped images."""
        target = self.layers.index(layer)
        grids = [self.grid(name) for name in self.layers[:target + 1]]
        s1 = self.stages[0][1]
        if target >= 1 and isinstance(self.stages[1][1], C1Stage):
            x = self.stages[1][1].pool_images(images, s1, grids[0])
            start = 2
        else:
            x = s1(images)
            start = 1
        for i in range(start, target + 1):
            x = self.stages[i][1](x, grids[i - 1])
        return x, grids[target]

    def responses(self, stimuli: Any, layer: str) -> np.ndarray:
        """Responses of ``layer`` to ``stimuli (n, rows, cols)``.

        Returns
        -------
        ndarray, float32
            ``(n, bands · features, rows', cols')`` for retinotopic layers (see the
            module docstring for the layout), ``(n, units)`` for a global C layer.

        Raises
        ------
        ValueError
            If ``layer`` is unknown, ``stimuli`` are not finite ``(n, rows, cols)`` of
            the display's shape or smaller than the largest filter, or the layer needs
            prototypes the model lacks.
        """
        check_layer(self, layer)
        images = check_images("stimuli", stimuli, self.display)
        self.stages[0][1].check_images(images, name="stimuli")
        self.grid(layer)  # raises early with a clear message
        x, g = self._forward(images, layer)
        if g.retinotopic:
            return x.reshape((x.shape[0], -1) + g.shape)
        return x

    def responses_many(self, stimuli: Any, layers: Sequence[str]) -> dict[str, np.ndarray]:
        """Several layers from one pass through the stack: ``{layer: responses(stimuli, layer)}``.

        The stack runs once up to the deepest layer asked for and every requested
        layer is kept on the way, so S1 and C1 together cost one S1 filtering (not
        two, as two :meth:`responses` calls would).  When S1 itself is not asked
        for, C1 is pooled band by band without holding every S1 map (as
        :meth:`responses` does).

        Parameters
        ----------
        stimuli : array_like of shape (n, rows, cols)
            Contrast images of the display's shape.
        layers : sequence of str
            Layer names (any order, no repeats).

        Returns
        -------
        dict of str to ndarray
            Each layer's responses, as :meth:`responses` returns them.

        Raises
        ------
        ValueError
            As :meth:`responses`, or if ``layers`` is empty or repeats a name.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = HMAX(Display((48, 48), pixels_per_degree=24))
        >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 48, 48)).astype(np.float32)
        >>> both = model.responses_many(x, ["S1", "C1"])
        >>> bool(np.array_equal(both["C1"], model.responses(x, "C1")))
        True
        """
        names = [check_layer(self, layer) for layer in check_strings("layers", layers)]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"layers must be a non-empty list of distinct layer names, got "
                             f"{names}")
        images = check_images("stimuli", stimuli, self.display)
        self.stages[0][1].check_images(images, name="stimuli")
        for name in names:
            self.grid(name)  # raises early with a clear message
        target = max(self.layers.index(name) for name in names)
        grids = [self.grid(name) for name in self.layers[:target + 1]]
        fused = (self.layers[0] not in names and target >= 1
                 and isinstance(self.stages[1][1], C1Stage))
        if fused:
            x, start = self.stages[1][1].pool_images(images, self.stages[0][1], grids[0]), 2
        else:
            x, start = self.stages[0][1](images), 1
        kept = {self.layers[start - 1]: (x, grids[start - 1])}
        for i in range(start, target + 1):
            x = self.stages[i][1](x, grids[i - 1])
            kept[self.layers[i]] = (x, grids[i])
        out = {}
        for name in names:
            x, g = kept[name]
            out[name] = x.reshape((x.shape[0], -1) + g.shape) if g.retinotopic else x
        return out

    @property
    def sampled_layers(self) -> tuple[str, ...]:
        """Layers :meth:`responses_at` computes at given map positions alone.

        The first (S1) layer, and a C1 stage right after it: S1 is sampled where
        the recorded C1 windows pool it, never as full maps.  The model interface's
        optional part (:class:`v1model.base.Model`), used by
        :func:`analysis.runner.run_protocol` for the recorded units.
        """
        out = [self.layers[0]]
        if len(self.stages) > 1 and isinstance(self.stages[1][1], C1Stage):
            out.append(self.layers[1])
        return tuple(out)

    def responses_at(self, stimuli: Any, layer: str, rows, cols) -> np.ndarray:
        """Responses of ``layer`` at some map positions: ``responses(...)[:, :, rows, cols]``.

        Computed at those positions only: S1 through :meth:`S1Stage.at` (filters and
        normalisation windows as sampled-filter products at the pixels), C1 as the
        maximum of S1 on the pooling windows of the recorded positions alone: per
        band, S1 on the block of pixels those windows cover, as one patch product
        or, when cheaper, a circular FFT of the crop its filters reach (never the
        full maps), normalised from summed-area tables of the whole images computed
        once per call.  Agrees with :meth:`responses` within ``1e-5`` of the largest
        response (float32 accumulation), tested in ``tests/test_responses_at.py``.

        Parameters
        ----------
        stimuli : array_like of shape (n, rows, cols)
            Contrast images of the display's shape.
        layer : str
            One of :attr:`sampled_layers`.
        rows, cols : array_like of int
            Map rows and columns (as in :meth:`map_coordinates`), pairs of equal
            length; negative counted from the end.

        Returns
        -------
        ndarray of shape (n, channels, positions), float32

        Raises
        ------
        ValueError
            If ``layer`` is not one of :attr:`sampled_layers`, the stimuli are bad (as
            :meth:`responses`) or ``rows`` and ``cols`` differ in length.
        IndexError
            If a position is outside the map.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = HMAX(Display((64, 64), pixels_per_degree=32))
        >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64)).astype(np.float32)
        >>> at = model.responses_at(x, "C1", [7, 0], [7, 14])
        >>> bool(np.allclose(at, model.responses(x, "C1")[:, :, [7, 0], [7, 14]], atol=1e-5))
        True
        """
        layer = check_layer(self, layer)
        return self.responses_at_many(stimuli, [layer], rows, cols)[layer]

    def responses_at_many(self, stimuli: Any, layers: Sequence[str], rows,
                          cols) -> dict[str, np.ndarray]:
        """Several sampled layers at the same map positions from one S1 pass.

        ``{layer: responses_at(stimuli, layer, rows, cols)}`` (the model interface's
        optional ``responses_at_many``, :class:`v1model.base.Model`): the
        summed-area tables of the S1 normalisation are built once for all layers,
        and when S1 and C1 are both asked for, S1 at the positions is read from the
        S1 blocks C1 pools whenever every position lies inside them (it then costs
        nothing more); otherwise it is sampled as :meth:`responses_at` samples it.
        ``rows`` and ``cols`` index each layer's own map (S1's map is the pixel
        grid, C1's the coarser pooling grid), as in :meth:`responses_at`.  Agrees
        with :meth:`responses` within ``1e-5`` of the largest response.

        Parameters
        ----------
        stimuli : array_like of shape (n, rows, cols)
            Contrast images of the display's shape.
        layers : sequence of str
            Distinct names from :attr:`sampled_layers`.
        rows, cols : array_like of int
            Map rows and columns, pairs of equal length, in range for every layer
            asked for; negative counted from the end.

        Returns
        -------
        dict of str to ndarray of shape (n, channels, positions), float32

        Raises
        ------
        ValueError
            If ``layers`` is empty, repeats a name or names a layer not in
            :attr:`sampled_layers`, the stimuli are bad (as :meth:`responses`) or
            ``rows`` and ``cols`` differ in length.
        IndexError
            If a position is outside a layer's map.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = HMAX(Display((48, 48), pixels_per_degree=24))
        >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 48, 48)).astype(np.float32)
        >>> both = model.responses_at_many(x, ["S1", "C1"], [5], [5])
        >>> full = model.responses_many(x, ["S1", "C1"])
        >>> all(np.allclose(both[k], full[k][:, :, [5], [5]], atol=1e-5) for k in both)
        True
        """
        names = [check_layer(self, layer) for layer in check_strings("layers", layers)]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"layers must be a non-empty list of distinct layer names, got "
                             f"{names}")
        for name in names:
            if name not in self.sampled_layers:
                raise ValueError(f"layer {name!r} cannot be computed at positions alone; "
                                 f"responses_at supports {self.sampled_layers}, use "
                                 "responses()")
        images = check_images("stimuli", stimuli, self.display)
        s1 = self.stages[0][1]
        s1.check_images(images, name="stimuli")
        where = {}
        for name in names:
            g = self.grid(name)
            r = check_index("rows", rows, g.shape[0], "map rows")
            c = check_index("cols", cols, g.shape[1], "map columns")
            if len(r) != len(c):
                raise ValueError(f"rows and cols must have equal lengths, got {len(r)} and "
                                 f"{len(c)}")
            where[name] = (r, c)
        n = len(images)
        out: dict[str, np.ndarray] = {}
        blocks: dict[int, tuple[int, int, int, int, np.ndarray]] = {}
        c1_name = self.layers[1] if len(self.layers) > 1 else None
        if c1_name in names:
            out[c1_name] = self._c1_at(images, *where[c1_name], blocks)
        s1_name = self.layers[0]
        if s1_name in names:
            r, c = where[s1_name]
            s1_out = self._s1_from_blocks(blocks, r, c, n) if blocks else None
            out[s1_name] = (s1.at(images, r, c).reshape(n, -1, len(r)) if s1_out is None
                            else s1_out)
        return {name: out[name] for name in names}

    def _c1_at(self, images: np.ndarray, rows: np.ndarray, cols: np.ndarray,
               blocks: dict) -> np.ndarray:
        """C1 ``(n, channels, positions)`` at map positions; fills ``blocks`` with each
        band's raw S1 block ``band -> (r0, r1, c0, c1, s1 (n, group, F, h, w))``."""
        s1, c1 = self.stages[0][1], self.stages[1][1]
        layout, out_grid = c1._prepare(self.grid(self.layers[0]))
        n, n_f = len(images), len(s1.orientations)
        out = np.zeros((n, len(layout), n_f, len(rows)), dtype=np.float32)
        tables = s1.energy_table(images)               # once for every band
        height, width = self.display.shape
        for b, lay in enumerate(layout):
            sr, sc, size = lay["starts_r"], lay["starts_c"], lay["size"]
            if sr.size == 0:
                continue
            region = c1._region(lay, out_grid.shape)
            i, j = rows - region[0].start, cols - region[1].start
            here = np.flatnonzero((i >= 0) & (i < len(sr)) & (j >= 0) & (j < len(sc)))
            if here.size == 0:
                continue
            # S1 on the union of the recorded windows (Serre's may run past the edge)
            r_lo, r_hi = sr[i[here]].min(), min(sr[i[here]].max() + size, height)
            c_lo, c_hi = sc[j[here]].min(), min(sc[j[here]].max() + size, width)
            s1_block = s1._block(images, tables, r_lo, r_hi, c_lo, c_hi, lay["group"])
            blocks[b] = (r_lo, r_hi, c_lo, c_hi, s1_block)
            if lay["inside"] is not None:
                inside = lay["inside"][:, r_lo:r_hi, c_lo:c_hi]
                s1_block = np.where(inside[None, :, None], s1_block, np.float32(0.0))
            s1_max = s1_block.max(axis=1)                       # (n, F, h, w)
            for p in here:
                r0, c0 = sr[i[p]] - r_lo, sc[j[p]] - c_lo
                pooled = s1_max[:, :, r0:r0 + size, c0:c0 + size].max(axis=(2, 3))
                valid = out_grid.valid[b, :, rows[p], cols[p]]
                out[:, b, :, p] = np.where(valid, pooled, np.float32(0.0))
        return out.reshape(n, -1, len(rows))

    def _s1_from_blocks(self, blocks: dict, rows: np.ndarray, cols: np.ndarray,
                        n: int) -> np.ndarray | None:
        """S1 ``(n, channels, positions)`` read from C1's S1 blocks, or None unless every
        position lies in the block of every band (every scale)."""
        s1, c1 = self.stages[0][1], self.stages[1][1]
        groups = c1.groups(s1.n_scales)
        if len(blocks) != len(groups):
            return None
        for r0, r1, c0, c1_, _ in blocks.values():
            if not (np.all((rows >= r0) & (rows < r1)) and np.all((cols >= c0) & (cols < c1_))):
                return None
        n_o = len(s1.orientations)
        out = np.empty((n, s1.n_scales, n_o, len(rows)), dtype=np.float32)
        for b, group in enumerate(groups):
            r0, _, c0, _, block = blocks[b]
            out[:, list(group)] = block[:, :, :, rows - r0, cols - c0]
        return out.reshape(n, -1, len(rows))

    # ---- prototypes and files -----------------------------------------------------

    def with_prototypes(self, prototypes: Any, *, layer: str = "S2",
                        beta: float | None = None) -> HMAX:
        """A copy of the model whose S stage ``layer`` uses ``prototypes`` (and ``beta``)."""
        stage = self._stage(layer)
        if not isinstance(stage, S2Stage):
            raise ValueError(f"layer {layer!r} is a {type(stage).__name__}, not an S2Stage")
        new = S2Stage(prototypes, beta=stage.beta if beta is None else beta)
        stages = [(n, new if n == layer else s) for n, s in self.stages]
        return HMAX(self.display, stages=stages)

    def save(self, path: str | os.PathLike) -> None:
        """Write the stack and its prototypes to one ``.npz`` (no pickle), atomically."""
        arrays: dict[str, np.ndarray] = {}
        stage_meta = []
        for name, stage in self.stages:
            entry = {"name": name, "type": type(stage).__name__, "params": stage.config()}
            if isinstance(stage, S2Stage) and stage.prototypes is not None:
                entry["prototype_groups"] = len(stage.prototypes)
                for g, arr in enumerate(stage.prototypes):
                    arrays[f"{name}/prototypes/{g}"] = arr
            stage_meta.append(entry)
        meta = {"kind": _FILE_KIND, "version": _FILE_VERSION, "stages": stage_meta,
                "display": {"shape": list(self.display.shape),
                            "pixels_per_degree": self.display.pixels_per_degree,
                            "frame_rate": self.display.frame_rate}}
        save_npz(path, arrays, meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> HMAX:
        """Read a model written by :meth:`save`.

        Files of version 1 (before S1 normalised by the luminance energy) load with
        ``mean_luminance=0``, which reproduces the responses they were written with.

        Raises
        ------
        FileNotFoundError, ValueError
            If the file is missing, not an HMAX file, or names unknown stages or parameters.
        """
        arrays, meta = load_npz(path, _FILE_KIND)
        try:
            d = meta["display"]
            display = Display(tuple(d["shape"]), d["pixels_per_degree"], d["frame_rate"])
            stages = []
            for entry in meta["stages"]:
                kind = check_choice("stage type", entry["type"], _STAGE_TYPES)
                stage_cls = _STAGE_TYPES[kind]
                params = dict(entry["params"])
                if stage_cls is S1Stage and int(meta.get("version", 1)) < 2:
                    params.setdefault("mean_luminance", 0.0)
                _check_params(kind, params, stage_cls.params)
                if stage_cls is S2Stage:
                    n_groups = int(entry.get("prototype_groups", 0))
                    protos = [arrays[f"{entry['name']}/prototypes/{g}"] for g in range(n_groups)]
                    stage = S2Stage(protos or None, **params)
                else:
                    stage = stage_cls(**params)
                stages.append((entry["name"], stage))
        except KeyError as exc:
            raise ValueError(
                f"{os.fspath(path)!r} is an incomplete HMAX file: missing {exc}") from exc
        return cls(display, stages=stages)
