"""HMAX C2: max over every position and band, or a local per-band max."""

from __future__ import annotations

from typing import Any

import numpy as np

from stimuli._shared.validation import check_int
from v1model.hmax.c1 import C1Stage
from v1model.hmax.grid import Grid


class C2Stage:
    """Max over every position and band (HMAX C2), or a local per-band max.

    With ``pool_size=None`` (default) the output is global, ``(n, features)``: each
    feature's maximum over all valid positions of all bands (Serre et al. 2007).
    With ``pool_size`` and ``pool_step`` (in input elements) it pools locally within
    each band, like :class:`C1Stage` with ``scales_per_band=1``, and keeps a
    retinotopic output, so that an S3 stage can follow.

    Parameters
    ----------
    pool_size, pool_step : int, optional
        Local window side and step in input elements; both or neither.

    Raises
    ------
    ValueError
        If only one of ``pool_size`` and ``pool_step`` is given; at call time, if a
        feature has no valid position in any band.

    Examples
    --------
    >>> C2Stage()
    C2Stage(global)
    """

    params = ("pool_size", "pool_step")

    def __init__(self, *, pool_size: int | None = None, pool_step: int | None = None):
        if (pool_size is None) != (pool_step is None):
            raise ValueError("give both pool_size and pool_step for a local C2, or neither for a "
                             f"global one; got pool_size={pool_size!r}, pool_step={pool_step!r}")
        self.pool_size = None if pool_size is None else check_int("pool_size", pool_size, minimum=1)
        self.pool_step = None if pool_step is None else check_int("pool_step", pool_step, minimum=1)

    @property
    def is_global(self) -> bool:
        return self.pool_size is None

    def config(self) -> dict[str, Any]:
        return {"pool_size": self.pool_size, "pool_step": self.pool_step}

    def __repr__(self) -> str:
        if self.is_global:
            return "C2Stage(global)"
        return f"C2Stage(pool_size={self.pool_size}, pool_step={self.pool_step})"

    def _local(self, grid: Grid) -> C1Stage:
        return C1Stage(pool_sizes=(self.pool_size,) * grid.n_bands,
                       pool_steps=(self.pool_step,) * grid.n_bands, scales_per_band=1)

    def output_grid(self, grid: Grid) -> Grid:
        if not grid.retinotopic:
            raise ValueError("C2Stage needs a retinotopic input (maps), got a global output")
        if not self.is_global:
            return self._local(grid).output_grid(grid)
        empty = ~grid.valid.any(axis=(0, 2, 3))
        if empty.any():
            raise ValueError(
                f"C2: feature(s) {np.flatnonzero(empty).tolist()} have no valid position in any "
                "band (prototypes larger than every map); use larger images or smaller prototypes"
            )
        info = {k: v[0] for k, v in grid.info.items() if k in ("prototype", "prototype_size",
                                                                "orientation", "sf")}
        extent = float(max(grid.image_shape))
        n_f = grid.n_features
        return Grid(image_shape=grid.image_shape, shape=None, step=np.full(1, extent),
                    origin=(np.asarray(grid.image_shape, dtype=float)[None] - 1) / 2,
                    valid=np.ones((1, n_f, 1, 1), dtype=bool),
                    rf_size=np.full((1, n_f), extent), info={k: v[None] for k, v in info.items()})

    def __call__(self, data: np.ndarray, grid: Grid) -> np.ndarray:
        """Global: ``(n, bands, features, rows, cols)`` → ``(n, features)``; local: maps."""
        self.output_grid(grid)  # validates
        if not self.is_global:
            return self._local(grid)(data, grid)
        # Stages write 0 outside valid regions, so the plain max equals the masked max
        # wherever it is positive; only features whose max is <= 0 need the mask.
        out = data.max(axis=(1, 3, 4)).astype(np.float32)
        unsure = np.flatnonzero((out <= 0).any(axis=0))
        if unsure.size:
            masked = np.where(grid.valid[None][:, :, unsure], data[:, :, unsure], -np.inf)
            out[:, unsure] = masked.max(axis=(1, 3, 4))
        return out
