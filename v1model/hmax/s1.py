"""HMAX S1: Gabor filters with energy-normalised absolute responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stimuli._shared.validation import (
    check_images,
    check_index,
    check_int,
    check_positive,
    check_range,
)
from v1model._fft import FourierFilters
from v1model.hmax._checks import _as_tuple, _check_same_length
from v1model.hmax._tables import _box_sum, _box_sum_block, _summed_area
from v1model.hmax.gabors import SERRE_ORIENTATIONS, SERRE_SIZES, hmax_gabor, serre_gabor_parameters
from v1model.hmax.grid import Grid

_S1_CHUNK_BYTES = 8 * 2**20


class S1Stage:
    """Gabor filters with energy-normalised absolute responses (HMAX S1).

    ``S1 = |g ⋆ L| / max(√(Σ_window L²), min_contrast · size)`` with
    ``L = mean_luminance + c``: the absolute correlation of the *luminance* image
    with a unit-norm filter, divided by the root of the luminance energy in the
    filter's ``size × size`` window — Serre et al.'s (2007) normalisation, which
    their code applies to raw grey levels.  Images are in the package's contrast
    units ``c = (L − L0) / L0`` around mean grey 0 (pixels outside the image are
    mean grey), so the luminance in units of the mean is ``1 + c``.

    What matters, and what cancels:

    - the filters sum to 0 (:func:`hmax_gabor`), so the numerator ``|g ⋆ L| =
      |g ⋆ c|`` does not depend on the mean;
    - the absolute luminance (cd/m², or grey levels 0–255) cancels in the ratio:
      ``L0 (1 + c)`` and ``1 + c`` give the same S1;
    - what does not cancel is the mean *relative to the contrast units*, i.e.
      ``mean_luminance``.  With the package's convention this is 1 (default),
      and S1 grows with contrast as in Serre's model: ≈ ``a·C / √(1 + C²/2)`` to a
      grating of Michelson contrast C (≈ 0.06 at 10 %, ≈ 0.5 at 100 % for an
      optimal grating).  ``mean_luminance=0`` normalises by the contrast energy
      instead, making S1 contrast-invariant (the package's behaviour before
      version 2 of the HMAX file format).

    Responses lie in [0, 1] (Cauchy–Schwarz).  Windows whose RMS luminance is
    below ``min_contrast`` (in the same units) are treated as having that value, so
    a black region (``c = −1``) or, with ``mean_luminance=0``, a blank one gives
    ≈ 0 rather than 0/0.  Box sums come from summed-area tables in float64.

    Parameters
    ----------
    sizes : sequence of int
        Odd filter sides in pixels, one per scale.  Default Serre's 7, 9, …, 37.
    orientations : sequence of float
        Degrees in [0, 180).  Default 0, 45, 90, 135.
    aspect_ratio : float
        γ.  Default 0.3.
    wavelengths, sigmas : sequence of float, optional
        Per-scale λ and σ in pixels; default :func:`serre_gabor_parameters`.
    mean_luminance : float
        The display's mean luminance in the images' contrast units, >= 0; the
        luminance seen by the normalisation is ``mean_luminance + image``.
        Default 1.0 (contrast units are fractions of the mean).
    min_contrast : float
        RMS floor of the normalisation, > 0, in the same units.  Default 1e-3.
    workers : int, optional
        scipy.fft threads (default all cores).

    Raises
    ------
    ValueError
        If a size is even or < 3, lengths differ, or a value is out of range.

    Examples
    --------
    >>> s1 = S1Stage(sizes=(7, 9), orientations=(0, 90))
    >>> s1(np.zeros((1, 16, 16), np.float32)).shape
    (1, 2, 2, 16, 16)
    """

    params = ("sizes", "orientations", "aspect_ratio", "wavelengths", "sigmas", "mean_luminance",
              "min_contrast")

    def __init__(self, *, sizes: Sequence[int] = SERRE_SIZES,
                 orientations: Sequence[float] = SERRE_ORIENTATIONS, aspect_ratio: float = 0.3,
                 wavelengths: Sequence[float] | None = None, sigmas: Sequence[float] | None = None,
                 mean_luminance: float = 1.0, min_contrast: float = 1e-3,
                 workers: int | None = None):
        self.sizes = _as_tuple("sizes", sizes, check_int, minimum=3)
        for s in self.sizes:
            if s % 2 == 0:
                raise ValueError(f"sizes must be odd (a filter needs a centre pixel), got {s}")
        self.orientations = _as_tuple("orientations", orientations, check_range,
                                      low=0.0, high=180.0, closed="left")
        self.aspect_ratio = check_positive("aspect_ratio", aspect_ratio)
        lam, sig = serre_gabor_parameters(self.sizes)
        if wavelengths is not None:
            lam = np.array(_as_tuple("wavelengths", wavelengths, check_positive))
        if sigmas is not None:
            sig = np.array(_as_tuple("sigmas", sigmas, check_positive))
        elif wavelengths is not None:
            sig = 0.8 * lam
        _check_same_length(sizes=self.sizes, wavelengths=lam, sigmas=sig)
        self.wavelengths = np.asarray(lam, dtype=float)
        self.sigmas = np.asarray(sig, dtype=float)
        self.mean_luminance = check_range("mean_luminance", mean_luminance, 0.0, np.inf,
                                          closed="left")
        self.min_contrast = check_positive("min_contrast", min_contrast)
        self.workers = workers
        self._banks: dict[tuple, Any] = {}

    def config(self) -> dict[str, Any]:
        """JSON-able parameters that rebuild this stage."""
        return {"sizes": list(self.sizes), "orientations": list(self.orientations),
                "aspect_ratio": self.aspect_ratio, "wavelengths": self.wavelengths.tolist(),
                "sigmas": self.sigmas.tolist(), "mean_luminance": self.mean_luminance,
                "min_contrast": self.min_contrast}

    def __repr__(self) -> str:
        return (f"S1Stage(sizes={self.sizes[0]}..{self.sizes[-1]} ({len(self.sizes)}), "
                f"orientations={self.orientations}, aspect_ratio={self.aspect_ratio}, "
                f"mean_luminance={self.mean_luminance})")

    @property
    def n_scales(self) -> int:
        return len(self.sizes)

    @property
    def max_size(self) -> int:
        return max(self.sizes)

    def kernels(self, scale: int) -> np.ndarray:
        """The filters of one scale, ``(orientations, size, size)``, float64."""
        return np.stack([
            hmax_gabor(self.sizes[scale], wavelength=self.wavelengths[scale],
                       sigma=self.sigmas[scale], orientation=o, aspect_ratio=self.aspect_ratio)
            for o in self.orientations
        ])

    def _bank(self, scales: tuple[int, ...]) -> FourierFilters:
        if scales not in self._banks:
            side = max(self.sizes[s] for s in scales)
            stack = np.zeros((len(scales) * len(self.orientations), side, side))
            for i, s in enumerate(scales):
                k = self.kernels(s)
                pad = (side - self.sizes[s]) // 2
                stack[i * len(self.orientations):(i + 1) * len(self.orientations),
                      pad:side - pad, pad:side - pad] = k
            # one image per FFT chunk keeps the complex products in cache (≈ 2× faster than
            # large batches on this project's 2-core machines)
            self._banks[scales] = FourierFilters(stack, workers=self.workers,
                                                 max_batch_bytes=_S1_CHUNK_BYTES)
        return self._banks[scales]

    def check_images(self, images: Any, name: str = "images") -> np.ndarray:
        """Validate a batch ``(n, rows, cols)``: finite and at least the largest filter."""
        images = check_images(name, images)
        rows, cols = images.shape[1:]
        if min(rows, cols) < self.max_size:
            raise ValueError(
                f"{name} of {rows}x{cols} pixels are smaller than the largest S1 filter "
                f"({self.max_size} px); use larger images or smaller sizes"
            )
        return images

    def output_grid(self, grid: Grid) -> Grid:
        """The S1 grid: every scale on the image's pixel grid."""
        rows, cols = grid.image_shape
        n_s, n_o = self.n_scales, len(self.orientations)
        sizes = np.asarray(self.sizes, dtype=float)
        return Grid(
            image_shape=(rows, cols), shape=(rows, cols), step=np.ones(n_s),
            origin=np.zeros((n_s, 2)), valid=np.ones((n_s, n_o, rows, cols), dtype=bool),
            rf_size=np.repeat(sizes[:, None], n_o, axis=1),
            info={
                "orientation": np.tile(np.asarray(self.orientations), (n_s, 1)),
                "sf": np.repeat(1.0 / self.wavelengths[:, None], n_o, axis=1),
                "scale": np.repeat(np.arange(n_s)[:, None], n_o, axis=1),
                "filter_size": np.repeat(sizes[:, None], n_o, axis=1),
                "wavelength": np.repeat(self.wavelengths[:, None], n_o, axis=1),
                "sigma": np.repeat(self.sigmas[:, None], n_o, axis=1),
            },
        )

    def __call__(self, images: Any, grid: Grid | None = None, *,
                 scales: Sequence[int] | None = None) -> np.ndarray:
        """S1 responses ``(n, scales, orientations, rows, cols)``, float32 in [0, 1].

        ``scales`` selects scale indices (default all); ``grid`` is ignored (S1
        reads images).
        """
        images = self.check_images(images)
        return self._responses(images, scales, self.energy_table(images))

    def energy_table(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Summed-area tables of ``c²`` and ``c`` (None if ``mean_luminance`` is 0), float64.

        The window energy of the luminance ``m + c`` is ``Σc² + 2m Σc + m² · size²``
        (pixels beyond the image are mean grey, ``c = 0``).
        """
        c = images.astype(np.float64)
        pad = self.max_size // 2
        first = _summed_area(c, pad) if self.mean_luminance > 0 else None
        return _summed_area(c**2, pad), first

    def _norm(self, tables: tuple[np.ndarray, np.ndarray | None], size: int, rows: int,
              cols: int) -> np.ndarray:
        """``max(√(window energy of the luminance), min_contrast · size)``, float32."""
        second, first = tables
        energy = _box_sum(second, size, rows, cols)
        if first is not None:
            m = self.mean_luminance
            energy += 2.0 * m * _box_sum(first, size, rows, cols) + (m * size) ** 2
        # summed-area differences can be a hair below 0 in blank regions
        norm = np.sqrt(np.maximum(energy, 0.0))
        return np.maximum(norm, self.min_contrast * size).astype(np.float32)

    def _norm_block(self, tables: tuple[np.ndarray, np.ndarray | None], size: int, r0: int,
                    r1: int, c0: int, c1: int) -> np.ndarray:
        """:meth:`_norm` at the pixels ``[r0, r1) × [c0, c1)`` only (the same float64 box
        sums of the same tables, so the same values)."""
        second, first = tables
        pad = self.max_size // 2
        energy = _box_sum_block(second, size, pad, r0, r1, c0, c1)
        if first is not None:
            m = self.mean_luminance
            energy += (2.0 * m * _box_sum_block(first, size, pad, r0, r1, c0, c1)
                       + (m * size) ** 2)
        norm = np.sqrt(np.maximum(energy, 0.0))
        return np.maximum(norm, self.min_contrast * size).astype(np.float32)

    def _block(self, images: np.ndarray, tables: tuple[np.ndarray, np.ndarray | None],
               r0: int, r1: int, c0: int, c1: int, scales: Sequence[int]) -> np.ndarray:
        """S1 of ``scales`` on the pixel block ``[r0, r1) × [c0, c1)`` of validated images.

        ``(n, len(scales), orientations, r1 − r0, c1 − c0)``, float32: the filter
        responses as one patch product of the block's pixels or, when cheaper (large
        blocks, large filters), the circular FFT of the crop those filters reach
        (:meth:`FourierFilters.at <v1model._fft.FourierFilters.at>`, routes
        ``"patches"`` and ``"block"``); the normalisation from ``tables``
        (:meth:`energy_table` of the whole images) at the block alone.  Agrees with the
        full maps within ``1e-5`` of the largest response (float32 accumulation).
        """
        scales = tuple(scales)
        n, n_o = len(images), len(self.orientations)
        h, w = r1 - r0, c1 - c0
        bank = self._bank(scales)
        kh, kw = bank.kernels.shape[1:]
        route = "patches" if h * w * kh * kw <= bank.block_cost(h, w) else "block"
        lin = bank.at(images, np.arange(r0, r1), np.arange(c0, c1), grid=True, method=route)
        out = np.abs(lin, out=lin).reshape(n, len(scales), n_o, h, w)
        for i, s in enumerate(scales):
            norm = self._norm_block(tables, self.sizes[s], r0, r1, c0, c1)
            np.divide(out[:, i], norm[:, None], out=out[:, i])
        return out

    def _at_bank(self, scales: tuple[int, ...]) -> tuple[FourierFilters, FourierFilters]:
        """The filters of ``scales`` plus one box per scale (sums ``Σc`` over its window),
        and the boxes alone (``Σc²`` of squared images), for :meth:`at`; cached."""
        key = ("at",) + scales
        if key not in self._banks:
            filters = self._bank(scales).kernels
            side = filters.shape[1]
            boxes = np.zeros((len(scales), side, side), dtype=filters.dtype)
            for i, s in enumerate(scales):
                pad = (side - self.sizes[s]) // 2
                boxes[i, pad:side - pad, pad:side - pad] = 1.0
            self._banks[key] = (
                FourierFilters(np.concatenate([filters, boxes]), workers=self.workers,
                               max_batch_bytes=_S1_CHUNK_BYTES),
                FourierFilters(boxes, workers=self.workers, max_batch_bytes=_S1_CHUNK_BYTES))
        return self._banks[key]

    def at(self, images: Any, rows, cols, *, grid: bool = False,
           scales: Sequence[int] | None = None) -> np.ndarray:
        """S1 at some pixels only: ``self(images)[:, :, :, rows, cols]``, computed there alone.

        The filter responses and the window sums ``Σc`` and ``Σc²`` of the
        normalisation are sampled-filter products (:meth:`FourierFilters.at
        <v1model._fft.FourierFilters.at>`: float32 BLAS on the image patches around
        the pixels when that is cheapest, else the FFT or the decimated transform),
        so a few positions cost what their arithmetic costs.  For a grid (e.g. the
        pooling windows of C1 units) the window sums come from float64 summed-area
        tables as in :meth:`__call__`, and a block of consecutive rows and columns is
        filtered alone (a patch product, or a circular FFT of the crop its filters
        reach).  Agreement with the full
        maps: within ``1e-5`` of the largest response (float32 accumulation of up to
        ``max_size²`` terms), tested in ``tests/test_responses_at.py``.

        Parameters
        ----------
        images : array_like of shape (n, rows, cols)
            Contrast images, at least the largest filter in size.
        rows, cols : array_like of int
            Pixel rows and columns: pairs of equal length (default) or, with
            ``grid=True``, every combination.
        grid : bool
            Pairs (False) or the grid ``rows × cols``.
        scales : sequence of int, optional
            Scale indices (default all).

        Returns
        -------
        ndarray, float32
            ``(n, scales, orientations, positions)`` for pairs or ``(n, scales,
            orientations, len(rows), len(cols))`` for a grid.

        Raises
        ------
        ValueError
            For bad images (as :meth:`__call__`) or positions of unequal length.
        IndexError
            If a position is outside the image.

        Examples
        --------
        >>> s1 = S1Stage(sizes=(7, 9), orientations=(0, 90))
        >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 24, 24)).astype(np.float32)
        >>> full = s1(x)
        >>> bool(np.allclose(s1.at(x, [12, 0], [3, 23]), full[..., [12, 0], [3, 23]],
        ...                  atol=1e-5))
        True
        """
        return self._at(self.check_images(images), rows, cols, grid=grid, scales=scales)

    def _at(self, images: np.ndarray, rows, cols, *, grid: bool = False,
            scales: Sequence[int] | None = None) -> np.ndarray:
        """:meth:`at` on validated images."""
        scales = tuple(range(self.n_scales)) if scales is None else tuple(scales)
        n, n_s, n_o = len(images), len(scales), len(self.orientations)
        if grid:  # a grid of pixels: window sums from summed-area tables, as __call__
            rows = check_index("rows", rows, images.shape[1], "image rows")
            cols = check_index("cols", cols, images.shape[2], "image columns")
            tables = self.energy_table(images)
            if _consecutive(rows) and _consecutive(cols):   # a block: only its pixels
                return self._block(images, tables, int(rows[0]), int(rows[-1]) + 1,
                                   int(cols[0]), int(cols[-1]) + 1, scales)
            lin = self._bank(scales).at(images, rows, cols, grid=True)
            norm = np.stack([self._norm(tables, self.sizes[s], *images.shape[1:])[:, rows][
                :, :, cols] for s in scales], axis=1)
            out = np.abs(lin).reshape((n, n_s, n_o) + lin.shape[2:])
            return np.divide(out, norm[:, :, None], out=out)
        both, boxes = self._at_bank(scales)
        lin = both.at(images, rows, cols, grid=grid)               # (n, S·O + S, *where)
        where = lin.shape[2:]
        sum2 = boxes.at(images * images, rows, cols, grid=grid).astype(np.float64)
        energy = sum2
        if self.mean_luminance > 0:
            m = self.mean_luminance
            size = np.asarray([self.sizes[s] for s in scales], dtype=np.float64)
            size = size.reshape((1, n_s) + (1,) * len(where))
            energy = sum2 + 2.0 * m * lin[:, n_s * n_o:] + (m * size) ** 2
        floor = self.min_contrast * np.asarray([self.sizes[s] for s in scales])
        norm = np.maximum(np.sqrt(np.maximum(energy, 0.0)),
                          floor.reshape((1, n_s) + (1,) * len(where))).astype(np.float32)
        out = np.abs(lin[:, :n_s * n_o]).reshape((n, n_s, n_o) + where)
        return np.divide(out, norm[:, :, None], out=out)

    def _responses(self, images: np.ndarray, scales: Sequence[int] | None,
                   tables: tuple[np.ndarray, np.ndarray | None]) -> np.ndarray:
        scales = tuple(range(self.n_scales)) if scales is None else tuple(scales)
        n, rows, cols = images.shape
        n_o = len(self.orientations)
        out = np.empty((n, len(scales), n_o, rows, cols), dtype=np.float32)
        for start in range(0, len(scales), 2):  # two scales at a time keeps memory small
            group = scales[start:start + 2]
            resp = self._bank(group)(images).reshape(n, len(group), n_o, rows, cols)
            np.abs(resp, out=resp)
            for i, s in enumerate(group):
                norm = self._norm(tables, self.sizes[s], rows, cols)
                np.divide(resp[:, i], norm[:, None], out=out[:, start + i])
        return out


def _consecutive(index: np.ndarray) -> bool:
    """True if ``index`` is a non-empty run of consecutive increasing integers."""
    return len(index) > 0 and bool(np.all(np.diff(index) == 1))
