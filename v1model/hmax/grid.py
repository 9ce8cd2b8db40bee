"""The :class:`Grid`: what an HMAX stage's output looks like, without the data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Grid:
    """What a stage's output looks like, without the data.

    A retinotopic output has ``data`` of shape ``(n, bands, features, rows, cols)``:
    band ``b`` element ``(i, j)`` lies at image pixel
    ``origin[b] + (i, j) · step[b]`` (fractional ``(row, col)``; pixel centres are
    integers).  A global output (``shape`` is None) has data ``(n, features)``.

    Attributes
    ----------
    image_shape : (int, int)
        ``(rows, cols)`` of the input images, in pixels.
    shape : (int, int) or None
        ``(rows, cols)`` of the stacked maps; None for a global (non-retinotopic) output.
    step : ndarray of shape (bands,)
        Grid spacing of each band, in image pixels.
    origin : ndarray of shape (bands, 2)
        Pixel ``(row, col)`` of element ``(0, 0)`` of each band.
    valid : ndarray of shape (bands, features, rows, cols), bool
        True where a band's map has an element (False in the padding).
    rf_size : ndarray of shape (bands, features)
        Receptive-field side of each channel, in image pixels.
    info : dict of str to ndarray of shape (bands, features)
        Further per-channel metadata (orientation in degrees, sf in cycles per pixel,
        prototype index, …).
    """

    image_shape: tuple[int, int]
    shape: tuple[int, int] | None
    step: np.ndarray
    origin: np.ndarray
    valid: np.ndarray
    rf_size: np.ndarray
    info: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def for_images(cls, rows: int, cols: int) -> Grid:
        """The grid of the input images themselves: one band, one feature, pixel steps."""
        return cls(
            image_shape=(rows, cols), shape=(rows, cols), step=np.ones(1),
            origin=np.zeros((1, 2)), valid=np.ones((1, 1, rows, cols), dtype=bool),
            rf_size=np.ones((1, 1)), info={},
        )

    @property
    def n_bands(self) -> int:
        return int(self.rf_size.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.rf_size.shape[1])

    @property
    def retinotopic(self) -> bool:
        return self.shape is not None

    def band_box(self, band: int, *, union: bool = False) -> tuple[int, int, int, int]:
        """Rows ``[r0, r1)`` and cols ``[c0, c1)`` where every feature of ``band`` is valid
        (``union=True``: the bounding box of where any feature is valid); all 0 if empty."""
        mask = np.any(self.valid[band], axis=0) if union else np.all(self.valid[band], axis=0)
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            return 0, 0, 0, 0
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        if not union and not mask[r0:r1, c0:c1].all():  # pragma: no cover - stages make rectangles
            raise RuntimeError(f"band {band} has a non-rectangular valid region")
        return int(r0), int(r1), int(c0), int(c1)
