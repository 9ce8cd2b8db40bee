"""HMAX (Serre, Wolf, Bileschi, Riesenhuber & Poggio 2007) as a stack of stage objects.

The model alternates *S* (template matching) and *C* (max pooling) stages
(Riesenhuber & Poggio 1999, Nat Neurosci 2:1019; Serre et al. 2007, PAMI
29:411, Table 1):

- :class:`S1Stage` — a bank of Gabor filters, 16 sizes (7-37 px in steps of 2)
  × 4 orientations, ``λ = 2·size/d`` with ``d = 4 − 0.025·(size − 7)``,
  ``σ = 0.8 λ``, aspect ratio ``γ = 0.3``, mean removed over the whole filter
  square; the output is the absolute filter response divided by the local
  energy of the *luminance* image under the filter window (the images' contrast
  plus ``mean_luminance``, 1 in the package's contrast units), so S1 grows with
  contrast as in Serre et al.'s code.
- :class:`C1Stage` — max over the two S1 scales of a band, then max over N×N
  grids moved in steps of ΔS (N = 8, 10, …, 22; ΔS = N / 2), laid out centred
  (default) or as in Serre et al.'s code (``grid="serre"``).
- :class:`S2Stage` — Gaussian radial basis units ``exp(−β‖X − P‖²)`` on n×n×4
  patches of C1 (n ∈ {4, 8, 12, 16}), prototypes imprinted from C1 maps of
  training images (:func:`imprint_prototypes`).
- :class:`C2Stage` — max over all positions and bands (global), or, with a
  ``pool_size``, a local max per band so that S3/C3 can follow.

:class:`HMAX` strings stages together behind the model interface
(:mod:`v1model.base`): ``layers``, ``responses``, ``unit_info``,
``map_coordinates``.  S1 and C1 run through the Fourier domain with cached
spectra (:class:`v1model._fft.FourierFilters`); S2's dot products with the
prototypes are FFT correlations and its patch energies box sums.

**Layout of retinotopic responses (one array, consistent indexing).**  Each
band of C1 (and of S2, which keeps its input grid) is sampled on its own grid —
Serre's pooling step ΔS differs between bands, so band maps have different
sizes.  Rather than returning a ragged list, every band is placed in one array
``(n, bands · features, rows', cols')`` *centred*: the middle element of every
band's map sits at the array centre (at the display centre, to within half a
pixel), and element ``(i, j)`` of a band with step ``s`` lies
``(i − rows'//2)·s`` pixels below and ``(j − cols'//2)·s`` right of its centre
element.  Elements outside a band's map are 0 and flagged False by
:meth:`HMAX.valid_mask`; exact positions per channel come from
:meth:`HMAX.band_coordinates`, and ``unit_info(layer)["step"]`` gives each
channel's step in degrees.  ``map_coordinates`` returns the positions of the
finest band (the one whose map fills the array).  Channels are band-major:
channel ``band · features + feature``.  With ``C1Stage(grid="serre")`` the
bands are instead stored from element (0, 0) (Serre's layout: window 0 starts at
pixel 0); the exact positions still come from :meth:`HMAX.band_coordinates`.

Internally a stage passes ``data`` of shape ``(n, bands, features, rows,
cols)`` together with a :class:`Grid` that describes it without data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft as sfft

from stimuli._shared.io import load_npz, save_npz
from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_array,
    check_choice,
    check_count,
    check_images,
    check_index,
    check_int,
    check_positive,
    check_range,
    check_real,
    check_strings,
)
from stimuli.display import Display
from stimuli.table import Table
from v1model._fft import FourierFilters, default_workers
from v1model._repr import model_repr_html
from v1model.base import check_layer

#: S1 filter sizes of Serre et al. (2007), Table 1, in pixels.
SERRE_SIZES = tuple(range(7, 38, 2))
#: C1 pooling grid sides N of the 8 bands (Table 1), in S1 pixels.
SERRE_POOL_SIZES = tuple(range(8, 23, 2))
#: C1 pooling steps ΔS of the 8 bands (Table 1), in S1 pixels.
SERRE_POOL_STEPS = tuple(range(4, 12))
#: S1 orientations (degrees, package convention: θ = 0 → vertical bars).
SERRE_ORIENTATIONS = (0.0, 45.0, 90.0, 135.0)
#: Prototype sides n (in C1 cells) used by Serre et al. (2007).
SERRE_PROTOTYPE_SIZES = (4, 8, 12, 16)

_FILE_KIND = "hmax"
#: Version 2: S1 normalises by the luminance energy (``mean_luminance``); files of
#: version 1 were written when it normalised by the contrast energy, and load with
#: ``mean_luminance=0`` so they keep computing what they computed.
_FILE_VERSION = 2
_S1_CHUNK_BYTES = 8 * 2**20


# --------------------------------------------------------------------------- grid


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


def _check_params(stage: str, params: Mapping[str, Any], known: Sequence[str]) -> None:
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(
            f"unknown {stage} parameter(s) {', '.join(map(repr, unknown))}; "
            f"known parameters are {', '.join(known)}"
        )


def _as_tuple(name: str, values: Any, convert, **kwargs) -> tuple:
    if isinstance(values, str) or np.ndim(values) != 1 or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence, got {values!r}")
    return tuple(convert(f"{name}[{i}]", v, **kwargs) for i, v in enumerate(values))


def _check_same_length(**named: Sequence) -> None:
    lengths = {k: len(v) for k, v in named.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("these must have the same length: "
                         + ", ".join(f"{k} ({n})" for k, n in lengths.items()))


# --------------------------------------------------------------------------- S1


def serre_gabor_parameters(sizes: Sequence[int] = SERRE_SIZES) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths and envelope widths of Serre et al.'s (2007) S1 filters, in pixels.

    ``λ = 2·size / d`` with ``d = 4 − 0.025·(size − 7)`` and ``σ = 0.8·λ`` — the
    rule of the authors' MATLAB code (``d`` = 4, 3.95, …, 3.25 for the sizes 7, 9,
    …, 37), which reproduces their Table 1.  The divisor depends on the filter's
    *size*, not on its position in ``sizes``, so any subset or order of the
    sizes gets the parameters Table 1 gives those sizes (sizes off the 7–37 grid
    follow the same straight line).

    Parameters
    ----------
    sizes : sequence of int
        Filter sides in pixels, 1 <= size < 167 (``d`` reaches 0 at 167).

    Returns
    -------
    wavelength, sigma : ndarray of shape (len(sizes),)
        In pixels.

    Raises
    ------
    ValueError
        If ``sizes`` is empty or a size is < 1 or >= 167.

    Examples
    --------
    >>> lam, sig = serre_gabor_parameters((7, 37))
    >>> np.round(lam, 1).tolist(), np.round(sig, 1).tolist()
    ([3.5, 22.8], [2.8, 18.2])
    """
    sizes = _as_tuple("sizes", sizes, check_int, minimum=1)
    for i, size in enumerate(sizes):
        if size >= 167:
            raise ValueError(f"sizes[{i}] must be < 167 px (the divisor d = 4 - 0.025 (size - 7) "
                             f"must stay positive), got {size}")
    size = np.asarray(sizes, dtype=float)
    d = 4.0 - 0.025 * (size - 7.0)
    wavelength = 2.0 * size / d
    return wavelength, 0.8 * wavelength


def hmax_gabor(size: int, *, wavelength: float, sigma: float, orientation: float,
               aspect_ratio: float = 0.3) -> np.ndarray:
    """One S1 filter: an even Gabor cut to a disk of diameter ``size``, zero mean and unit norm.

    ``g = exp(−(x'² + γ² y'²) / (2σ²)) · cos(2π x'/λ)`` with ``x'`` across the bars
    (along the wave vector at ``orientation`` degrees, +y up) and ``y'`` along them,
    set to 0 outside the disk ``√(x² + y²) > size/2``; then, as in Serre et al.'s
    code, the mean over the whole ``size × size`` square is subtracted (so the
    corners outside the disk carry the small constant ``−mean``) and the kernel is
    scaled to unit L2 norm.  The filter therefore sums to 0 over its square, which
    is what makes S1 blind to the mean luminance in the numerator (see
    :class:`S1Stage`).

    Parameters
    ----------
    size : int
        Odd side of the square kernel, pixels (>= 3).
    wavelength, sigma : float
        Carrier wavelength λ and envelope width σ, pixels.
    orientation : float
        Degrees; 0 gives vertical bars.
    aspect_ratio : float
        γ: envelope width across / along the bars (0.3 makes it elongated along them).

    Returns
    -------
    ndarray of shape (size, size), float64

    Raises
    ------
    ValueError
        If ``size`` is even or < 3, or a width is not positive.

    Examples
    --------
    >>> g = hmax_gabor(7, wavelength=3.5, sigma=2.8, orientation=0)
    >>> round(float(g.sum()), 12) == 0, round(float((g ** 2).sum()), 6)
    (True, 1.0)
    >>> bool(g[0, 0] == g[0, -1] != 0)  # the corners hold -mean
    True
    """
    size = check_int("size", size, minimum=3)
    if size % 2 == 0:
        raise ValueError(f"size must be odd so the filter has a centre pixel, got {size}")
    wavelength = check_positive("wavelength", wavelength)
    sigma = check_positive("sigma", sigma)
    aspect_ratio = check_positive("aspect_ratio", aspect_ratio)
    theta = math.radians(check_real("orientation", orientation))
    half = size // 2
    offsets = np.arange(-half, half + 1, dtype=float)
    x = offsets[None, :]
    y = -offsets[:, None]  # row 0 is the top: +y up
    xr = x * math.cos(theta) + y * math.sin(theta)
    yr = -x * math.sin(theta) + y * math.cos(theta)
    envelope = np.exp(-(xr**2 + aspect_ratio**2 * yr**2) / (2 * sigma**2))
    g = envelope * np.cos(2 * np.pi * xr / wavelength)
    disk = np.sqrt(x**2 + y**2) <= size / 2
    g = np.where(disk, g, 0.0)
    g = g - g.mean()  # over the whole square, corners included (Serre et al.'s code)
    return g / np.sqrt((g**2).sum())


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
        so a few positions cost what their arithmetic costs.  For a grid (a block of
        pixels, e.g. the pooling windows of C1 units) the window sums come from
        float64 summed-area tables as in :meth:`__call__`.  Agreement with the full
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
        """:meth:`at` on validated images of any size (a crop of the display, for C1)."""
        scales = tuple(range(self.n_scales)) if scales is None else tuple(scales)
        n, n_s, n_o = len(images), len(scales), len(self.orientations)
        if grid:  # a block of pixels: window sums from summed-area tables, as __call__
            lin = self._bank(scales).at(images, rows, cols, grid=True)
            rows, cols = np.asarray(rows), np.asarray(cols)
            tables = self.energy_table(images)
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


def _summed_area(values: np.ndarray, pad: int) -> np.ndarray:
    """Summed-area table of ``values (n, rows, cols)`` zero-padded by ``pad`` on each side.

    ``S[:, i, j]`` is the sum of the padded array over rows ``< i`` and cols ``< j``.
    """
    n, rows, cols = values.shape
    table = np.zeros((n, rows + 2 * pad + 1, cols + 2 * pad + 1), dtype=np.float64)
    table[:, pad + 1:pad + 1 + rows, pad + 1:pad + 1 + cols] = values
    np.cumsum(table, axis=1, out=table)
    np.cumsum(table, axis=2, out=table)
    return table


def _box_sum(table: np.ndarray, size: int, rows: int, cols: int, anchor: int | None = None
             ) -> np.ndarray:
    """Sums over ``size × size`` windows from a :func:`_summed_area` table.

    Output ``(r, c)`` sums rows ``r − anchor … r − anchor + size − 1`` (``anchor`` =
    ``size // 2`` by default, the kernel centre of a 'same' correlation).
    """
    pad = (table.shape[1] - 1 - rows) // 2
    anchor = size // 2 if anchor is None else anchor
    a = pad - anchor
    b = a + size
    return (table[:, b:b + rows, b:b + cols] - table[:, a:a + rows, b:b + cols]
            - table[:, b:b + rows, a:a + cols] + table[:, a:a + rows, a:a + cols])


# --------------------------------------------------------------------------- C (pooling)


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


# --------------------------------------------------------------------------- S2


def _as_prototype_groups(prototypes: Any) -> tuple[np.ndarray, ...]:
    """Prototypes as a tuple of float32 arrays ``(k, features, n, n)``, one per size group."""
    if isinstance(prototypes, np.ndarray) or (
        not isinstance(prototypes, (list, tuple))
    ):
        prototypes = (prototypes,)
    if len(prototypes) == 0:
        raise ValueError("prototypes must hold at least one array of shape (k, features, n, n)")
    groups = []
    for i, p in enumerate(prototypes):
        arr = check_array(f"prototypes[{i}]", p, ndim=4, shape_doc="(k, features, n, n)",
                          dtype=np.float32)
        if arr.shape[2] != arr.shape[3]:
            raise ValueError(f"prototypes[{i}] must be square patches (k, features, n, n), "
                             f"got {arr.shape}")
        groups.append(np.ascontiguousarray(arr))
    features = {g.shape[1] for g in groups}
    if len(features) > 1:
        raise ValueError(
            f"all prototypes must have the same number of features, got {sorted(features)}")
    return tuple(groups)


class S2Stage:
    """Gaussian radial-basis template units ``exp(−β‖X − P‖²)`` (HMAX S2, also S3).

    For every band, every prototype P (``features × n × n``) is compared with the
    input patch X of the same size anchored at each map element (the patch covers
    elements ``i − n//2 … i − n//2 + n − 1``); ``‖X − P‖² = ‖X‖² − 2 X·P + ‖P‖²`` with
    ``‖X‖²`` from box sums and ``X·P`` from an FFT cross-correlation summed over
    features.  Output maps keep the input grid; elements where the patch does not
    fit inside the band's map are 0 and invalid.  Round-off can make the squared
    distance slightly negative; it is floored at 0 so responses never exceed 1.

    Parameters
    ----------
    prototypes : array or sequence of arrays of shape (k, features, n, n), optional
        Templates; groups may have different sizes n.  None leaves the stage
        unusable until prototypes are given (see :func:`imprint_prototypes`).
    beta : float
        Tuning sharpness β > 0.  Default 1.0 (Serre et al. used 1; others use 5).
    workers : int, optional
        scipy.fft threads (default all cores).

    Raises
    ------
    ValueError
        If prototypes are not finite 4-D square patches with a common feature count,
        or β is not positive; at call time, if the input has a different number of
        features or the stage has no prototypes.

    Examples
    --------
    >>> S2Stage(np.zeros((3, 4, 2, 2)), beta=5.0)
    S2Stage(3 prototypes of sizes [2], beta=5.0)
    """

    params = ("beta",)

    def __init__(self, prototypes: Any = None, *, beta: float = 1.0, workers: int | None = None):
        self.beta = check_positive("beta", beta)
        self.prototypes = None if prototypes is None else _as_prototype_groups(prototypes)
        self.workers = default_workers() if workers is None else check_int("workers", workers,
                                                                            minimum=1)
        self._spectra: dict[tuple[int, int, int], np.ndarray] = {}
        self._last: tuple[Grid, Grid] | None = None

    def config(self) -> dict[str, Any]:
        return {"beta": self.beta}

    def _prepare(self, grid: Grid) -> Grid:
        if self._last is None or self._last[0] is not grid:
            self._last = (grid, self.output_grid(grid))
        return self._last[1]

    def __repr__(self) -> str:
        if self.prototypes is None:
            return f"S2Stage(no prototypes, beta={self.beta})"
        sizes = sorted({int(g.shape[2]) for g in self.prototypes})
        return f"S2Stage({self.n_prototypes} prototypes of sizes {sizes}, beta={self.beta})"

    @property
    def n_prototypes(self) -> int:
        return 0 if self.prototypes is None else sum(len(g) for g in self.prototypes)

    @property
    def prototype_sizes(self) -> np.ndarray:
        """Side n of each prototype, in input elements, ``(n_prototypes,)``."""
        if self.prototypes is None:
            return np.zeros(0, dtype=int)
        return np.concatenate([np.full(len(g), g.shape[2]) for g in self.prototypes])

    def _require(self, grid: Grid) -> None:
        if self.prototypes is None:
            raise ValueError("this S stage has no prototypes: pass prototypes=... (see "
                             "v1model.hmax.imprint_prototypes)")
        if not grid.retinotopic:
            raise ValueError(
                "an S stage needs a retinotopic input (maps); after a global C2 there is "
                "nothing to match — use C2Stage(pool_size=..., pool_step=...)")
        n_f = self.prototypes[0].shape[1]
        if grid.n_features != n_f:
            raise ValueError(f"prototypes have {n_f} features but the input has "
                             f"{grid.n_features} per band")

    def output_grid(self, grid: Grid) -> Grid:
        self._require(grid)
        sizes = self.prototype_sizes
        n_b, n_k = grid.n_bands, len(sizes)
        valid = np.zeros((n_b, n_k) + grid.shape, dtype=bool)
        for b in range(n_b):
            r0, r1, c0, c1 = grid.band_box(b)
            for k, n in enumerate(sizes):
                if r1 - r0 >= n and c1 - c0 >= n:
                    a = n // 2
                    valid[b, k, r0 + a:r1 - n + a + 1, c0 + a:c1 - n + a + 1] = True
        in_rf = grid.rf_size.max(axis=1)
        rf = (sizes[None, :] - 1) * grid.step[:, None] + in_rf[:, None]
        info = {
            "prototype": np.tile(np.arange(n_k), (n_b, 1)),
            "prototype_size": np.tile(sizes, (n_b, 1)),
            "band": np.repeat(np.arange(n_b)[:, None], n_k, axis=1),
        }
        return Grid(image_shape=grid.image_shape, shape=grid.shape, step=grid.step.copy(),
                    origin=grid.origin.copy(), valid=valid, rf_size=rf, info=info)

    def _kernel_spectra(self, group: int, fr: int, fc: int) -> np.ndarray:
        key = (group, fr, fc)
        if key not in self._spectra:
            flipped = self.prototypes[group][:, :, ::-1, ::-1]  # correlation = flipped convolution
            self._spectra[key] = sfft.rfft2(flipped, s=(fr, fc), workers=self.workers)
        return self._spectra[key]

    def __call__(self, data: np.ndarray, grid: Grid) -> np.ndarray:
        """``(n, bands, features, rows, cols)`` → ``(n, bands, prototypes, rows, cols)``."""
        out_grid = self._prepare(grid)
        n = data.shape[0]
        out = np.zeros((n, grid.n_bands, self.n_prototypes) + grid.shape, dtype=np.float32)
        for b in range(grid.n_bands):
            r0, r1, c0, c1 = grid.band_box(b)
            h, w = r1 - r0, c1 - c0
            if h == 0 or w == 0:
                continue
            x = np.ascontiguousarray(data[:, b, :, r0:r1, c0:c1], dtype=np.float32)
            sat = _summed_area((x.astype(np.float64) ** 2).sum(axis=1), 0)
            k0 = 0
            for g, protos in enumerate(self.prototypes):
                k, _, size, _ = protos.shape
                if h < size or w < size:
                    k0 += k
                    continue
                fr = sfft.next_fast_len(h + size - 1, real=True)
                fc = sfft.next_fast_len(w + size - 1, real=True)
                spec = self._kernel_spectra(g, fr, fc)
                ximg = sfft.rfft2(x, s=(fr, fc), workers=self.workers)  # (n, F, fr, fc')
                prod = ximg[:, None, 0] * spec[None, :, 0]
                for f in range(1, x.shape[1]):
                    prod += ximg[:, None, f] * spec[None, :, f]
                full = sfft.irfft2(prod, s=(fr, fc), workers=self.workers)
                # 'valid' anchors: patch rows i - size//2 ... i - size//2 + size - 1 inside [0, h)
                a = size // 2
                nr, nc = h - size + 1, w - size + 1
                # full-convolution index of anchor i is i + size - 1 - size//2
                dot = full[:, :, size - 1:size - 1 + nr, size - 1:size - 1 + nc]
                xx = _box_window_sums(sat, size, nr, nc)
                pp = (protos.astype(np.float64) ** 2).sum(axis=(1, 2, 3))
                d2 = xx[:, None] - 2.0 * dot + pp[None, :, None, None]
                np.maximum(d2, 0.0, out=d2)
                resp = np.exp(-self.beta * d2).astype(np.float32)
                out[:, b, k0:k0 + k, r0 + a:r0 + a + nr, c0 + a:c0 + a + nc] = resp
                k0 += k
        out *= out_grid.valid[None]
        return out


def _box_window_sums(table: np.ndarray, size: int, nr: int, nc: int) -> np.ndarray:
    """Sums over the ``nr × nc`` fully-inside ``size × size`` windows (table of pad 0)."""
    return (table[:, size:size + nr, size:size + nc] - table[:, :nr, size:size + nc]
            - table[:, size:size + nr, :nc] + table[:, :nr, :nc])


# --------------------------------------------------------------------------- model

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
        maximum of S1 sampled on the pooling windows of the recorded positions
        alone, filtered in a crop of the images that holds every pixel those filters
        reach (on large displays a fraction of the full maps' work; on displays
        barely larger than the windows about the same).  Agrees with
        :meth:`responses` within ``1e-5`` of the largest response (float32
        accumulation), tested in ``tests/test_responses_at.py``.

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
        if layer not in self.sampled_layers:
            raise ValueError(f"layer {layer!r} cannot be computed at positions alone; "
                             f"responses_at supports {self.sampled_layers}, use responses()")
        images = check_images("stimuli", stimuli, self.display)
        s1 = self.stages[0][1]
        s1.check_images(images, name="stimuli")
        g = self.grid(layer)
        rows = check_index("rows", rows, g.shape[0], "map rows")
        cols = check_index("cols", cols, g.shape[1], "map columns")
        if len(rows) != len(cols):
            raise ValueError(f"rows and cols must have equal lengths, got {len(rows)} and "
                             f"{len(cols)}")
        n = len(images)
        if layer == self.layers[0]:
            return s1.at(images, rows, cols).reshape(n, -1, len(rows))
        c1 = self.stages[1][1]
        layout, out_grid = c1._prepare(self.grid(self.layers[0]))
        n_f = len(s1.orientations)
        out = np.zeros((n, len(layout), n_f, len(rows)), dtype=np.float32)
        for b, lay in enumerate(layout):
            sr, sc, size = lay["starts_r"], lay["starts_c"], lay["size"]
            if sr.size == 0:
                continue
            region = c1._region(lay, out_grid.shape)
            i, j = rows - region[0].start, cols - region[1].start
            here = np.flatnonzero((i >= 0) & (i < len(sr)) & (j >= 0) & (j < len(sc)))
            if here.size == 0:
                continue
            # S1 on the union of the recorded windows, one grid per band, filtered in a
            # crop of the images that holds every pixel the filters there reach
            height, width = self.display.shape       # Serre's windows may run past the edge
            r_lo, r_hi = sr[i[here]].min(), min(sr[i[here]].max() + size, height)
            c_lo, c_hi = sc[j[here]].min(), min(sc[j[here]].max() + size, width)
            reach = max(s1.sizes[k] for k in lay["group"]) // 2
            top, left = max(0, r_lo - reach), max(0, c_lo - reach)
            crop = images[:, top:min(height, r_hi + reach), left:min(width, c_hi + reach)]
            s1_grid = s1._at(crop, np.arange(r_lo, r_hi) - top, np.arange(c_lo, c_hi) - left,
                             grid=True, scales=lay["group"])   # (n, group, F, h, w)
            if lay["inside"] is not None:
                inside = lay["inside"][:, r_lo:r_hi, c_lo:c_hi]
                s1_grid = np.where(inside[None, :, None], s1_grid, np.float32(0.0))
            s1_max = s1_grid.max(axis=1)                       # (n, F, h, w)
            for p in here:
                r0, c0 = sr[i[p]] - r_lo, sc[j[p]] - c_lo
                window = s1_max[:, :, r0:r0 + size, c0:c0 + size]
                pooled = window.max(axis=(2, 3))
                valid = out_grid.valid[b, :, rows[p], cols[p]]
                out[:, b, :, p] = np.where(valid, pooled, np.float32(0.0))
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


# --------------------------------------------------------------------------- imprinting


def imprint_prototypes(model: HMAX, images: Any, *, n_per_size: int,
                       sizes: Sequence[int] = SERRE_PROTOTYPE_SIZES, layer: str = "C1",
                       rng: RngLike = None) -> tuple[tuple[np.ndarray, ...], Table]:
    """Cut prototypes from the ``layer`` maps of training images (Serre et al. 2007).

    For each size n and each of ``n_per_size`` prototypes an image, a band in which an
    n × n patch fits, and an anchor position inside that band's map are drawn
    uniformly; the prototype is the ``features × n × n`` patch of the layer's
    response there (anchored as :class:`S2Stage` anchors patches, so an S2 unit at
    the source responds exactly ``exp(0) = 1``).

    Parameters
    ----------
    model : HMAX
        Model whose ``layer`` (a retinotopic layer, by default C1) provides the patches.
    images : ndarray of shape (n, rows, cols)
        Training images of the display's shape.
    n_per_size : int
        Prototypes per size, >= 1.
    sizes : sequence of int
        Patch sides in map elements.  Default (4, 8, 12, 16).
    layer : str
        Source layer.  Default "C1".
    rng : None, int or Generator
        Randomness for the draws.

    Returns
    -------
    prototypes : tuple of ndarray of shape (n_per_size, features, n, n), float32
        One array per size, in the order of ``sizes``.
    sources : Table
        One row per prototype (in concatenated order): ``size``, ``image``, ``band``,
        ``row``, ``col`` (array indices of the anchor in the layer's response maps),
        ``x``, ``y`` (anchor position, degrees).

    Raises
    ------
    ValueError
        If ``layer`` is global, a size fits in no band, or the images are invalid.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> model = HMAX(Display((64, 64), 32))
    >>> imgs = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64))
    >>> protos, src = imprint_prototypes(model, imgs, n_per_size=3, sizes=(4,), rng=0)
    >>> protos[0].shape, len(src)
    ((3, 4, 4, 4), 3)
    """
    if not isinstance(model, HMAX):
        raise TypeError(f"model must be an HMAX, got {type(model).__name__}")
    n_per_size = check_count("n_per_size", n_per_size, maximum=10**6)  # Serre: 1000s
    sizes = _as_tuple("sizes", sizes, check_int, minimum=1)
    rng = as_rng(rng)
    check_layer(model, layer)
    grid = model.grid(layer)
    if not grid.retinotopic:
        raise ValueError(f"layer {layer!r} is global; prototypes need a retinotopic layer")
    images = check_images("images", images, model.display)
    model.stages[0][1].check_images(images)
    data, _ = model._forward(images, layer)
    x_all, y_all = model.band_coordinates(layer)
    boxes = [grid.band_box(b) for b in range(grid.n_bands)]
    protos, cols = [], {k: [] for k in ("size", "image", "band", "row", "col", "x", "y")}
    for n in sizes:
        bands = [b for b, (r0, r1, c0, c1) in enumerate(boxes) if r1 - r0 >= n and c1 - c0 >= n]
        if not bands:
            raise ValueError(f"no band of layer {layer!r} is large enough for {n}x{n} prototypes")
        out = np.empty((n_per_size, grid.n_features, n, n), dtype=np.float32)
        for k in range(n_per_size):
            img = int(rng.integers(images.shape[0]))
            b = int(bands[rng.integers(len(bands))])
            r0, r1, c0, c1 = boxes[b]
            i = int(rng.integers(r0 + n // 2, r1 - n + n // 2 + 1))
            j = int(rng.integers(c0 + n // 2, c1 - n + n // 2 + 1))
            out[k] = data[img, b, :, i - n // 2:i - n // 2 + n, j - n // 2:j - n // 2 + n]
            ch = b * grid.n_features
            for key, v in zip(cols, (n, img, b, i, j, x_all[ch, j], y_all[ch, i]), strict=True):
                cols[key].append(v)
        protos.append(out)
    return tuple(protos), Table({k: np.asarray(v) for k, v in cols.items()})


_PROTOTYPES_KIND = "hmax-prototypes"


def save_prototypes(path: str | os.PathLike, prototypes: Any, sources: Table | None = None
                    ) -> None:
    """Write prototypes (and optionally their ``sources`` table) to one ``.npz``, no pickle.

    Parameters
    ----------
    path : str or PathLike
        Destination; written atomically.
    prototypes : array or sequence of arrays of shape (k, features, n, n)
        As returned by :func:`imprint_prototypes`.
    sources : Table, optional
        The provenance table returned alongside them.

    Raises
    ------
    ValueError
        If the prototypes are not finite 4-D square patches with a common feature count.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "protos.npz")
    >>> save_prototypes(path, [np.ones((2, 4, 3, 3))])
    >>> [p.shape for p in load_prototypes(path)[0]]
    [(2, 4, 3, 3)]
    """
    groups = _as_prototype_groups(prototypes)
    arrays = {f"prototypes/{g}": arr for g, arr in enumerate(groups)}
    columns: list[str] = []
    if sources is not None:
        if not isinstance(sources, Table):
            raise TypeError(f"sources must be a Table, got {type(sources).__name__}")
        columns = list(sources.names)
        arrays.update({f"sources/{name}": sources[name] for name in columns})
    save_npz(path, arrays, {"kind": _PROTOTYPES_KIND, "version": 1, "groups": len(groups),
                            "source_columns": columns})


def load_prototypes(path: str | os.PathLike) -> tuple[tuple[np.ndarray, ...], Table | None]:
    """Read prototypes written by :func:`save_prototypes`.

    Returns
    -------
    prototypes : tuple of ndarray of shape (k, features, n, n), float32
    sources : Table or None

    Raises
    ------
    FileNotFoundError, ValueError
        If the file is missing, truncated, or not a prototypes file.
    """
    arrays, meta = load_npz(path, _PROTOTYPES_KIND)
    try:
        groups = _as_prototype_groups([arrays[f"prototypes/{g}"] for g in range(meta["groups"])])
        columns = meta.get("source_columns", [])
        sources = Table({c: arrays[f"sources/{c}"] for c in columns}) if columns else None
    except KeyError as exc:
        raise ValueError(f"{os.fspath(path)!r} is an incomplete prototypes file: "
                         f"missing {exc}") from exc
    return groups, sources
