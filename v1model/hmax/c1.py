"""HMAX C1: max over scale pairs and local pooling windows (and the window-max helpers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stimuli._shared.validation import check_choice, check_int
from v1model.hmax._checks import _as_tuple, _check_same_length
from v1model.hmax.grid import Grid
from v1model.hmax.s1 import S1Stage

#: C1 pooling grid sides N of the 8 bands (Table 1), in S1 pixels.
SERRE_POOL_SIZES = tuple(range(8, 23, 2))
#: C1 pooling steps ΔS of the 8 bands (Table 1), in S1 pixels.
SERRE_POOL_STEPS = tuple(range(4, 12))


def _pool_positions(start: int, length: int, size: int, step: int) -> np.ndarray:
    """Starts of the windows of ``size`` moved by ``step`` inside ``[start, start + length)``.

    The grid is symmetric about the centre of the range (an odd number of windows, the
    middle one centred), so the centre element of every band lies at the image centre.
    """
    if length < size:
        return np.zeros(0, dtype=int)
    mid = start + (length - size) // 2
    k = min((mid - start) // step, (start + length - size - mid) // step)
    return mid + step * np.arange(-k, k + 1)


def _running_max_at(x: np.ndarray, starts: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``max(x[s:s + size])`` along ``axis`` for each start ``s``.

    Sparse-table doubling: after j passes ``m[i] = max(x[i:i + 2**j])``; two
    overlapping power-of-two windows then cover any ``size`` (log2(size) passes
    instead of ``size``).
    """
    m = np.moveaxis(x, axis, -1)
    width = 1
    while 2 * width <= size:
        m = np.maximum(m[..., :-width], m[..., width:])
        width *= 2
    out = np.maximum(m[..., starts], m[..., starts + size - width])
    return np.moveaxis(out, -1, axis)


def _window_max(x: np.ndarray, starts_r: np.ndarray, starts_c: np.ndarray, size: int,
                fill: float = -np.inf) -> np.ndarray:
    """Max over ``size × size`` windows at the given starts of the last two axes.

    Windows may run past the end of the array (Serre's C1 grid); the missing part
    counts as ``fill``.
    """
    lo_r, hi_r = starts_r[0], starts_r[-1] + size
    lo_c, hi_c = starts_c[0], starts_c[-1] + size
    x = x[..., lo_r:hi_r, lo_c:hi_c]
    short_r, short_c = hi_r - lo_r - x.shape[-2], hi_c - lo_c - x.shape[-1]
    if short_r or short_c:
        widths = [(0, 0)] * (x.ndim - 2) + [(0, short_r), (0, short_c)]
        x = np.pad(x, widths, constant_values=np.asarray(fill).astype(x.dtype))
    x = _running_max_at(x, starts_r - lo_r, size, axis=-2)
    return _running_max_at(x, starts_c - lo_c, size, axis=-1)


def _inside_image(grid: Grid, band: int) -> np.ndarray:
    """``(rows, cols)`` bool: elements of ``band`` whose receptive field lies inside the image."""
    rows_img, cols_img = grid.image_shape
    half = (float(grid.rf_size[band].max()) - 1) / 2
    eps = 1e-9
    masks = []
    for axis, extent in ((0, rows_img), (1, cols_img)):
        pos = grid.origin[band, axis] + grid.step[band] * np.arange(grid.shape[axis])
        masks.append((pos - half >= -eps) & (pos + half <= extent - 1 + eps))
    return masks[0][:, None] & masks[1][None, :]


C1_GRIDS = ("centred", "serre")


class C1Stage:
    """Max over groups of scales, then over local N×N windows stepped by ΔS (HMAX C1).

    The input's bands are taken ``scales_per_band`` at a time (Serre: the two S1
    scales of a band, which share one pixel grid); within each output band the
    maximum over the group is taken at every position, then over windows of
    ``pool_sizes[b]`` × ``pool_sizes[b]`` input elements whose starts move by
    ``pool_steps[b]``.  Applied to S2 output with ``scales_per_band=1`` this is the
    local C stage before S3.  Two layouts of the windows:

    - ``grid="centred"`` (default): windows lie entirely inside the band's map, on
      a grid symmetric about its centre, so the middle element of every band sits
      at the image centre (the package's retinotopic convention, see the module
      docstring).  Input elements are used as they are (S1 near the border sees
      mean grey beyond the image).
    - ``grid="serre"``: the layout of Serre et al.'s code.  Input elements whose
      receptive field runs past the image (for S1, within ``(size − 1)/2`` pixels
      of the border, per scale) are set to 0 first; windows start at the first
      element and move by ΔS, ``ceil(length / ΔS)`` of them, the last ones running
      past the edge (the part outside counts as nothing).  Each band's map is
      stored from array element (0, 0) (top-left), not centred; positions come
      from :meth:`HMAX.band_coordinates` (the nominal window centre, even for a
      window cut by the edge).  Serre's MATLAB code zeroes one more leading
      row/column of S1 than the filter needs; this layout zeroes exactly the
      elements whose filter leaves the image.

    Parameters
    ----------
    pool_sizes, pool_steps : sequence of int
        N and ΔS per output band, in input elements.  Default Serre's
        8, 10, …, 22 and 4, 5, …, 11.
    scales_per_band : int
        Input bands pooled into one output band.  Default 2.
    grid : {"centred", "serre"}
        Window layout, see above.  Default "centred".

    Raises
    ------
    ValueError
        If lengths differ, a size or step is < 1 or ``grid`` is unknown; at call
        time, if the number of input bands is not ``scales_per_band ·
        len(pool_sizes)`` or (centred grid) a band is smaller than its pooling window.

    Examples
    --------
    >>> s1 = S1Stage(sizes=(7, 9), orientations=(0, 90))
    >>> c1 = C1Stage(pool_sizes=(8,), pool_steps=(4,))
    >>> g = s1.output_grid(Grid.for_images(32, 32))
    >>> c1(s1(np.zeros((1, 32, 32), np.float32)), g).shape
    (1, 1, 2, 7, 7)
    >>> serre = C1Stage(pool_sizes=(8,), pool_steps=(4,), grid="serre")
    >>> serre(s1(np.zeros((1, 32, 32), np.float32)), g).shape  # ceil(32 / 4) windows
    (1, 1, 2, 8, 8)
    """

    params = ("pool_sizes", "pool_steps", "scales_per_band", "grid")

    def __init__(self, *, pool_sizes: Sequence[int] = SERRE_POOL_SIZES,
                 pool_steps: Sequence[int] = SERRE_POOL_STEPS, scales_per_band: int = 2,
                 grid: str = "centred"):
        self.pool_sizes = _as_tuple("pool_sizes", pool_sizes, check_int, minimum=1)
        self.pool_steps = _as_tuple("pool_steps", pool_steps, check_int, minimum=1)
        _check_same_length(pool_sizes=self.pool_sizes, pool_steps=self.pool_steps)
        self.scales_per_band = check_int("scales_per_band", scales_per_band, minimum=1)
        self.grid = check_choice("grid", grid, C1_GRIDS)
        self._last: tuple[Grid, list, Grid] | None = None

    def _prepare(self, grid: Grid) -> tuple[list[dict[str, Any]], Grid]:
        """Band layout and output grid for ``grid``, cached for the last grid seen."""
        if self._last is None or self._last[0] is not grid:
            self._last = (grid, self._band_layout(grid), self.output_grid(grid))
        return self._last[1], self._last[2]

    def config(self) -> dict[str, Any]:
        return {"pool_sizes": list(self.pool_sizes), "pool_steps": list(self.pool_steps),
                "scales_per_band": self.scales_per_band, "grid": self.grid}

    def __repr__(self) -> str:
        return (f"C1Stage(pool_sizes={self.pool_sizes}, pool_steps={self.pool_steps}, "
                f"scales_per_band={self.scales_per_band}, grid={self.grid!r})")

    @property
    def n_bands(self) -> int:
        return len(self.pool_sizes)

    def groups(self, n_in: int) -> list[tuple[int, ...]]:
        """Input band indices pooled into each output band."""
        g = self.scales_per_band
        if n_in != g * self.n_bands:
            raise ValueError(
                f"C1Stage pools {g} input band(s) into each of {self.n_bands} bands, so it "
                f"needs {g * self.n_bands} input bands; got {n_in}"
            )
        return [tuple(range(b * g, (b + 1) * g)) for b in range(self.n_bands)]

    def _band_layout(self, grid: Grid) -> list[dict[str, Any]]:
        if not grid.retinotopic:
            raise ValueError("C1Stage needs a retinotopic input (maps), got a global output")
        layout = []
        for b, group in enumerate(self.groups(grid.n_bands)):
            boxes = {grid.band_box(i, union=True) for i in group}
            steps = {float(grid.step[i]) for i in group}
            origins = {tuple(grid.origin[i]) for i in group}
            if len(steps) > 1 or len(origins) > 1:
                raise ValueError(
                    f"C1Stage band {b} pools input bands {group} that lie on different grids; "
                    "use scales_per_band=1"
                )
            # the union of the group's valid boxes (they share one grid)
            r0 = min(x[0] for x in boxes)
            r1 = max(x[1] for x in boxes)
            c0 = min(x[2] for x in boxes)
            c1 = max(x[3] for x in boxes)
            size, step = self.pool_sizes[b], self.pool_steps[b]
            inside = None
            if self.grid == "serre":
                starts_r = np.arange(r0, r1, step) if r1 > r0 else np.zeros(0, dtype=int)
                starts_c = np.arange(c0, c1, step) if c1 > c0 else np.zeros(0, dtype=int)
                inside = np.stack([_inside_image(grid, i) for i in group])  # (g, H, W)
            else:
                starts_r = _pool_positions(r0, r1 - r0, size, step)
                starts_c = _pool_positions(c0, c1 - c0, size, step)
            if starts_r.size == 0 or starts_c.size == 0:  # this band stays empty (all invalid)
                starts_r = starts_c = np.zeros(0, dtype=int)
            layout.append({"group": group, "starts_r": starts_r, "starts_c": starts_c,
                           "size": size, "step": step, "box": (r0, r1, c0, c1),
                           "inside": inside})
        if all(lay["starts_r"].size == 0 for lay in layout):
            r0, r1, c0, c1 = layout[0]["box"]
            raise ValueError(
                f"no pooling window fits in any band (band 0: {layout[0]['size']}x"
                f"{layout[0]['size']} window does not fit in the {r1 - r0}x{c1 - c0} input "
                "map); use larger images or smaller pooling windows"
            )
        return layout

    def output_grid(self, grid: Grid) -> Grid:
        layout = self._band_layout(grid)
        n_f = grid.n_features
        serre = self.grid == "serre"
        if serre:
            rows = max(len(lay["starts_r"]) for lay in layout)
            cols = max(len(lay["starts_c"]) for lay in layout)
        else:
            half_r = max(len(lay["starts_r"]) // 2 for lay in layout)
            half_c = max(len(lay["starts_c"]) // 2 for lay in layout)
            rows, cols = 2 * half_r + 1, 2 * half_c + 1
        n_b = len(layout)
        valid = np.zeros((n_b, n_f, rows, cols), dtype=bool)
        step = np.empty(n_b)
        origin = np.empty((n_b, 2))
        rf = np.empty((n_b, n_f))
        info: dict[str, np.ndarray] = {}
        for key in ("orientation", "sf", "prototype", "prototype_size"):
            if key in grid.info:
                info[key] = np.empty((n_b, n_f))
        for b, lay in enumerate(layout):
            g0 = lay["group"][0]
            size = lay["size"]
            sr, sc = lay["starts_r"], lay["starts_c"]
            step[b] = lay["step"] * grid.step[g0]
            if sr.size:
                in_valid = np.any(grid.valid[list(lay["group"])], axis=0)  # (F, H, W)
                region = self._region(lay, (rows, cols))
                if serre:  # a window counts if it holds any valid input element
                    win_valid = _window_max(in_valid, sr, sc, size, fill=False)
                    first = grid.origin[g0] + grid.step[g0] * (
                        np.array([sr[0], sc[0]]) + (size - 1) / 2)
                    origin[b] = first
                else:
                    win_valid = ~_window_max(~in_valid, sr, sc, size)
                    kr, kc = len(sr) // 2, len(sc) // 2
                    centre = grid.origin[g0] + grid.step[g0] * (
                        np.array([sr[kr], sc[kc]]) + (size - 1) / 2)
                    origin[b] = centre - step[b] * np.array([half_r, half_c])
                valid[(b, slice(None)) + region] = win_valid
            else:  # an empty band: nominally centred on the image
                centre = (np.asarray(grid.image_shape, dtype=float) - 1) / 2
                origin[b] = centre - step[b] * (np.array([rows, cols]) // 2)
            rf[b] = (size - 1) * grid.step[g0] + grid.rf_size[list(lay["group"])].max(axis=0)
            for key in info:
                info[key][b] = grid.info[key][list(lay["group"])].mean(axis=0)
        info["band"] = np.repeat(np.arange(n_b)[:, None], n_f, axis=1)
        return Grid(image_shape=grid.image_shape, shape=(rows, cols), step=step, origin=origin,
                    valid=valid, rf_size=rf, info=info)

    def _region(self, lay: dict, shape: tuple[int, int]) -> tuple[slice, slice]:
        """Where a band's windows go in the stacked output array."""
        n_r, n_c = len(lay["starts_r"]), len(lay["starts_c"])
        if self.grid == "serre":
            return slice(0, n_r), slice(0, n_c)
        half_r, half_c = shape[0] // 2, shape[1] // 2
        kr, kc = n_r // 2, n_c // 2
        return slice(half_r - kr, half_r + kr + 1), slice(half_c - kc, half_c + kc + 1)

    @staticmethod
    def _scale_max(x: np.ndarray, lay: dict) -> np.ndarray:
        """Max over the group's scales of ``x (n, group, F, H, W)``, borders zeroed if Serre's."""
        if lay["inside"] is not None:
            x = np.where(lay["inside"][None, :, None], x, np.zeros((), dtype=x.dtype))
        return x.max(axis=1)

    def __call__(self, data: np.ndarray, grid: Grid) -> np.ndarray:
        """Pool ``(n, bands_in, features, rows, cols)`` → ``(n, bands, features, rows', cols')``."""
        layout, out_grid = self._prepare(grid)
        n, _, n_f = data.shape[:3]
        out = np.zeros((n, len(layout), n_f) + out_grid.shape, dtype=np.float32)
        for b, lay in enumerate(layout):
            self._pool_into(out, b, self._scale_max(data[:, list(lay["group"])], lay), lay,
                            out_grid)
        return out

    def pool_images(self, images: np.ndarray, s1: S1Stage, grid: Grid) -> np.ndarray:
        """S1 then C1 band by band, never holding every S1 map (the fast path of HMAX)."""
        layout, out_grid = self._prepare(grid)
        n, n_f = images.shape[0], grid.n_features
        out = np.zeros((n, len(layout), n_f) + out_grid.shape, dtype=np.float32)
        images = s1.check_images(images)
        tables = s1.energy_table(images)
        for b, lay in enumerate(layout):
            if lay["starts_r"].size == 0:
                continue
            s1_band = s1._responses(images, lay["group"], tables)
            self._pool_into(out, b, self._scale_max(s1_band, lay), lay, out_grid)
        return out

    def _pool_into(self, out: np.ndarray, band: int, x: np.ndarray, lay: dict,
                   out_grid: Grid) -> None:
        sr, sc = lay["starts_r"], lay["starts_c"]
        if sr.size == 0:
            return
        pooled = _window_max(x, sr, sc, lay["size"])
        region = self._region(lay, out_grid.shape)
        valid = out_grid.valid[band][(slice(None),) + region]
        out[(slice(None), band, slice(None)) + region] = np.where(valid, pooled, 0.0)
