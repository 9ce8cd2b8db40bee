"""Gabor filters and filter banks in degrees and cycles per degree.

A Gabor filter of orientation θ, spatial frequency f and phase φ is the grating
of the package convention times a Gaussian envelope::

    x' =  x cos θ + y sin θ            (across the bars, along the wave vector)
    y' = -x sin θ + y cos θ            (along the bars)
    g(x, y) = exp(-x'² / (2 σx²) - y'² / (2 σy²)) · cos(2π f x' + φ)

with x, y in degrees (origin at the kernel centre, +y up) so that a filter of
orientation θ and phase φ responds most to the grating
``cos(2π f x' + φ)`` of the same θ and φ.  σx is the envelope width across the
bars and σy along them; Ringach (2002) writes the same sizes in cycles,
``nx = σx f`` and ``ny = σy f``.

Every kernel is

* **unclipped**: an odd square of side ``2 ceil(3 max(σx, σy) ppd) + 1`` pixels, so
  the envelope reaches at least 3σ on each side (VOneNet's fixed 25-px kernels
  clip about a third of its filters);
* **DC-free**: the envelope-weighted mean of the carrier is subtracted,
  ``g = env · (carrier − Σ env·carrier / Σ env)``, so a uniform field gives 0;
* **normalised** (``norm="grating"``, the default) to respond exactly 1 to a
  unit-contrast grating of its own orientation, frequency and phase centred on
  it, so linear responses are in contrast units; or to unit L2 norm
  (``norm="l2"``).

:class:`GaborBank` applies many such filters with
:class:`v1model._fft.FourierFilters` (cached spectra, scipy.fft workers,
float32, batched).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from stimuli._shared.validation import (
    check_array,
    check_choice,
    check_images,
    check_int,
    check_positive,
    check_range,
)
from stimuli.display import Display
from stimuli.resources import MAX_DISPLAY_SIDE
from stimuli.table import Table
from v1model._fft import FourierFilters

#: Envelope extent kept on each side of the centre, in standard deviations.
N_SIGMA = 3.0
#: Default envelope size in cycles (nx = σx·f, ny = σy·f) when none is given:
#: about 1.1 octaves of spatial-frequency bandwidth and ≈ 20° orientation
#: half-bandwidth, near the upper part of Ringach's (2002) cloud.
DEFAULT_N_CYCLES = 0.5
#: Default orientations of a bank: 12 in 15° steps.
DEFAULT_ORIENTATIONS = tuple(float(o) for o in np.arange(0.0, 180.0, 15.0))
#: Default spatial frequencies of a bank, c/deg (one octave apart).
DEFAULT_SFS = (1.0, 2.0, 4.0)
#: Default phases of a bank, degrees (two quadrature pairs).
DEFAULT_PHASES = (0.0, 90.0, 180.0, 270.0)
_NORMS = ("grating", "l2")
# A DC-free even filter with a tiny nx barely responds to any grating; below
# this fraction of the carrier's response the filter is numerically degenerate.
_DEGENERATE = 1e-4


def _pixels_per_degree(display_or_ppd: Display | float) -> float:
    if isinstance(display_or_ppd, Display):
        return float(display_or_ppd.pixels_per_degree)
    return check_positive("display_or_ppd", display_or_ppd)


#: Widest kernel, in pixels, a Gabor filter may have (twice the largest display side).
MAX_KERNEL_SIZE = 2 * MAX_DISPLAY_SIDE


def kernel_size(pixels_per_degree: float, sigma_x: float, sigma_y: float) -> int:
    """Smallest odd kernel side (pixels) keeping ``N_SIGMA`` = 3 σ on each side.

    Parameters
    ----------
    pixels_per_degree : float
        Pixels per degree of visual angle.
    sigma_x, sigma_y : float
        Envelope standard deviations in degrees.

    Returns
    -------
    int
        ``2 * ceil(3 * max(sigma_x, sigma_y) * pixels_per_degree) + 1``.

    Raises
    ------
    ValueError
        If an argument is not positive and finite.

    Examples
    --------
    >>> kernel_size(16, 0.25, 0.125)
    25
    """
    ppd = check_positive("pixels_per_degree", pixels_per_degree)
    sx = check_positive("sigma_x", sigma_x)
    sy = check_positive("sigma_y", sigma_y)
    # the small tolerance keeps 3σ = 12.000000000000002 px from growing the kernel
    half = N_SIGMA * max(sx, sy) * ppd - 1e-9
    if half > MAX_KERNEL_SIZE:
        raise ValueError(f"sigma_x and sigma_y ({sx:g}, {sy:g} deg) at pixels_per_degree "
                         f"(gabor_kernel's display_or_ppd) {ppd:g} give a kernel wider than "
                         f"{MAX_KERNEL_SIZE} pixels")
    return 2 * math.ceil(half) + 1


def gabor_kernel(
    display_or_ppd: Display | float,
    *,
    orientation: float,
    sf: float,
    phase: float = 0.0,
    sigma_x: float,
    sigma_y: float,
    size: int | None = None,
    norm: str = "grating",
) -> np.ndarray:
    """One DC-free, normalised Gabor kernel sampled on the pixel grid.

    Parameters
    ----------
    display_or_ppd : Display or float
        The display (only its ``pixels_per_degree`` is used) or pixels per degree.
    orientation : float
        Orientation θ in degrees, [0, 180): the direction of the carrier's wave
        vector, counter-clockwise from rightward (0 → vertical bars).
    sf : float
        Carrier spatial frequency in cycles per degree, below the Nyquist
        frequency ``pixels_per_degree / 2``.
    phase : float
        Carrier phase φ in degrees, [0, 360); 0 → a bright bar through the centre.
    sigma_x, sigma_y : float
        Envelope standard deviations in degrees across (σx) and along (σy) the bars.
    size : int, optional
        Kernel side in pixels, odd and at least :func:`kernel_size` (a smaller one
        would clip the envelope and is refused).  Default: :func:`kernel_size`.
    norm : {"grating", "l2"}
        ``"grating"``: the response to the unit-contrast grating of the filter's own
        θ, f, φ centred on it is 1.  ``"l2"``: unit Euclidean norm.

    Returns
    -------
    ndarray of shape (size, size), float64
        Row 0 is the top (+y up), the centre pixel is ``(size // 2, size // 2)``;
        its entries sum to 0 (up to rounding).

    Raises
    ------
    ValueError
        If a parameter is out of range or not finite, ``size`` is even or too small
        to hold 3σ, ``sf`` is at or above the Nyquist frequency, or the DC-free
        filter is degenerate (no response to its own grating; only for tiny ``nx``).

    Examples
    --------
    >>> k = gabor_kernel(16, orientation=0, sf=2, phase=0, sigma_x=0.25, sigma_y=0.25)
    >>> k.shape
    (25, 25)
    >>> bool(abs(k.sum()) < 1e-12)
    True
    """
    ppd = _pixels_per_degree(display_or_ppd)
    orientation = check_range("orientation", orientation, 0.0, 180.0, closed="left")
    sf = check_positive("sf", sf)
    phase = check_range("phase", phase, 0.0, 360.0, closed="left")
    norm = check_choice("norm", norm, _NORMS)
    if sf >= ppd / 2:
        raise ValueError(
            f"sf must be below the Nyquist frequency {ppd / 2} c/deg of a display at "
            f"{ppd} pixels per degree (display_or_ppd), got {sf}"
        )
    minimum = kernel_size(ppd, sigma_x, sigma_y)
    if size is None:
        size = minimum
    else:
        size = check_int("size", size, minimum=1)
        if size % 2 == 0:
            raise ValueError(f"size must be odd so the kernel has a centre pixel, got {size}")
        if size < minimum:
            raise ValueError(
                f"size must be at least {minimum} px to keep {N_SIGMA:g} sigma of the "
                f"envelope on each side (sigma_x={sigma_x}, sigma_y={sigma_y} deg at "
                f"{ppd} px/deg), got {size}"
            )
    return _gabor(ppd, orientation, sf, phase, float(sigma_x), float(sigma_y), size, norm)


def _gabor(
    ppd: float, orientation: float, sf: float, phase: float, sigma_x: float, sigma_y: float,
    size: int, norm: str,
) -> np.ndarray:
    """The kernel of :func:`gabor_kernel` for already-validated arguments."""
    half = size // 2
    offsets = (np.arange(size) - half) / ppd
    x = offsets[None, :]
    y = -offsets[:, None]  # row 0 is the top, +y is up
    theta = np.deg2rad(orientation)
    xr = x * np.cos(theta) + y * np.sin(theta)
    yr = -x * np.sin(theta) + y * np.cos(theta)
    envelope = np.exp(-0.5 * (xr / sigma_x) ** 2 - 0.5 * (yr / sigma_y) ** 2)
    carrier = np.cos(2 * np.pi * sf * xr + np.deg2rad(phase))
    dc = np.sum(envelope * carrier) / np.sum(envelope)
    kernel = envelope * (carrier - dc)
    # response to the filter's own grating, before and after removing the DC
    raw = float(np.sum(envelope * carrier * carrier))
    gain = float(np.sum(kernel * carrier))
    if gain <= _DEGENERATE * raw:
        raise ValueError(
            f"the DC-free Gabor (orientation={orientation}, sf={sf}, phase={phase}, "
            f"sigma_x={sigma_x}) barely responds to its own grating: nx = sigma_x*sf = "
            f"{sigma_x * sf:.3g} cycles is too small for an even filter"
        )
    if norm == "grating":
        return kernel / gain
    return kernel / np.sqrt(np.sum(kernel * kernel))


def _floats(name: str, values: Any) -> np.ndarray:
    """``values`` as a 1-D float array; anything that is not numbers is a TypeError naming it."""
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r:.60}") from exc
    return check_array(name, arr, ndim=1, shape_doc="(k,)")


def _as_angles(name: str, values: Any, high: float) -> np.ndarray:
    arr = _floats(name, values)
    bad = (arr < 0) | (arr >= high)
    if np.any(bad):
        raise ValueError(f"{name} must be in [0, {high:g}) degrees, got {arr[bad][0]}")
    return arr


def _check_unique(name: str, arr: np.ndarray) -> None:
    if len(np.unique(arr)) != len(arr):
        raise ValueError(f"{name} contains duplicates: {arr.tolist()}")


def _envelopes(
    sf: np.ndarray,
    sigma_x: Any, sigma_y: Any, nx: Any, ny: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """σx, σy in degrees for each sf from exactly one parameterisation."""
    by_sigma = sigma_x is not None or sigma_y is not None
    by_cycles = nx is not None or ny is not None
    if by_sigma and by_cycles:
        raise ValueError(
            "give the envelope either as sigma_x/sigma_y (degrees) or as nx/ny (cycles), "
            "not both"
        )
    if by_sigma:
        sy = check_positive("sigma_y", sigma_y) if sigma_y is not None else None
        sx = check_positive("sigma_x", sigma_x) if sigma_x is not None else sy
        return np.full(sf.shape, sx), np.full(sf.shape, sx if sy is None else sy)
    if not by_cycles:
        nx = ny = DEFAULT_N_CYCLES
    cy = check_positive("ny", ny) if ny is not None else None
    cx = check_positive("nx", nx) if nx is not None else cy
    cy = cx if cy is None else cy
    return cx / sf, cy / sf


def _table_envelopes(parameters: Mapping[str, Any], sf: np.ndarray) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """σx, σy from a parameter table's sigma_x/sigma_y and/or nx/ny columns."""
    names = set(parameters)
    has_sigma = {"sigma_x", "sigma_y"} <= names
    has_cycles = {"nx", "ny"} <= names
    if not (has_sigma or has_cycles):
        raise ValueError(
            "parameters must have columns sigma_x and sigma_y (degrees) or nx and ny "
            f"(cycles); got {sorted(names)}"
        )
    n = len(sf)
    if has_sigma:
        sx = _positive_column(parameters, "sigma_x", n)
        sy = _positive_column(parameters, "sigma_y", n)
    if has_cycles:
        cx = _positive_column(parameters, "nx", n)
        cy = _positive_column(parameters, "ny", n)
        if not has_sigma:
            return cx / sf, cy / sf
        # both given (as sample_population returns): they must describe the same filters
        if not (np.allclose(sx * sf, cx, rtol=1e-6) and np.allclose(sy * sf, cy, rtol=1e-6)):
            raise ValueError(
                "parameters has both sigma_x/sigma_y and nx/ny columns but they disagree "
                "(nx must equal sigma_x * sf and ny must equal sigma_y * sf)"
            )
    return sx, sy


def _positive_column(parameters: Mapping[str, Any], name: str, n: int) -> np.ndarray:
    arr = check_array(f"parameters[{name!r}]", np.asarray(parameters[name], dtype=float),
                      ndim=1, shape_doc="(k,)")
    if len(arr) != n:
        raise ValueError(f"parameters[{name!r}] has {len(arr)} rows, expected {n}")
    if np.any(arr <= 0):
        raise ValueError(f"parameters[{name!r}] must be positive, got {arr[arr <= 0][0]}")
    return arr


def filter_parameters(
    *,
    orientations: Sequence[float] | np.ndarray | None = None,
    sfs: Sequence[float] | np.ndarray | None = None,
    phases: Sequence[float] | np.ndarray | None = None,
    sigma_x: float | None = None,
    sigma_y: float | None = None,
    nx: float | None = None,
    ny: float | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Table:
    """Per-filter parameters of a grid (orientations × sfs × phases) or of a table.

    Parameters
    ----------
    orientations : sequence of float, optional
        Degrees in [0, 180); default 12 in 15° steps (:data:`DEFAULT_ORIENTATIONS`).
    sfs : sequence of float, optional
        Cycles per degree; default (1, 2, 4).
    phases : sequence of float, optional
        Degrees in [0, 360); default (0, 90, 180, 270).
    sigma_x, sigma_y : float, optional
        Envelope standard deviations in degrees, the same for every filter (σx
        across the bars, σy along them).  Giving only one makes the envelope round.
    nx, ny : float, optional
        Envelope sizes in cycles, ``σx = nx / sf`` and ``σy = ny / sf`` (Ringach
        2002).  Default ``nx = ny = 0.5`` when no envelope is given; giving only one
        uses it for both.  Exclusive with ``sigma_x``/``sigma_y``.
    parameters : Table or mapping of str to 1-D array, optional
        An explicit per-filter table with columns ``orientation``, ``sf``, ``phase``
        and ``sigma_x``/``sigma_y`` or ``nx``/``ny`` (both pairs allowed when they
        agree); other columns are ignored.  Exclusive with every grid argument.

    Returns
    -------
    Table
        Columns ``orientation`` (deg), ``sf`` (c/deg), ``phase`` (deg), ``sigma_x``,
        ``sigma_y`` (deg), ``nx``, ``ny`` (cycles), one row per filter.  A grid is
        ordered with sf slowest, then orientation, then phase.

    Raises
    ------
    ValueError
        For conflicting parameterisations, values out of range, duplicates in a grid,
        or missing/inconsistent table columns.

    Examples
    --------
    >>> p = filter_parameters(orientations=[0, 90], sfs=[2], phases=[0, 90], nx=0.5, ny=0.5)
    >>> len(p), p["sigma_x"].tolist()
    (4, [0.25, 0.25, 0.25, 0.25])
    """
    if parameters is not None:
        grid = dict(orientations=orientations, sfs=sfs, phases=phases, sigma_x=sigma_x,
                    sigma_y=sigma_y, nx=nx, ny=ny)
        given = [k for k, v in grid.items() if v is not None]
        if given:
            raise ValueError(
                f"give either parameters (a per-filter table; V1Model's population) or grid "
                f"arguments, not both; "
                f"got parameters and {', '.join(given)}"
            )
        if not isinstance(parameters, Mapping):
            raise TypeError(f"parameters must be a Table or a mapping, got {type(parameters)}")
        missing = [c for c in ("orientation", "sf", "phase") if c not in parameters]
        if missing:
            raise ValueError(f"parameters is missing column(s) {', '.join(missing)}")
        ori = _as_angles("parameters['orientation']", parameters["orientation"], 180.0)
        n = len(ori)
        sf = _positive_column(parameters, "sf", n)
        phase = _as_angles("parameters['phase']", parameters["phase"], 360.0)
        if len(phase) != n:
            raise ValueError(f"parameters['phase'] has {len(phase)} rows, expected {n}")
        sx, sy = _table_envelopes(parameters, sf)
    else:
        ori_grid = _as_angles("orientations", DEFAULT_ORIENTATIONS if orientations is None
                              else orientations, 180.0)
        sf_grid = _floats("sfs", DEFAULT_SFS if sfs is None else sfs)
        if np.any(sf_grid <= 0):
            raise ValueError(f"sfs must be positive, got {sf_grid[sf_grid <= 0][0]}")
        phase_grid = _as_angles("phases", DEFAULT_PHASES if phases is None else phases, 360.0)
        for name, arr in (("orientations", ori_grid), ("sfs", sf_grid), ("phases", phase_grid)):
            _check_unique(name, arr)
        rows = list(itertools.product(sf_grid, ori_grid, phase_grid))
        sf = np.array([r[0] for r in rows])
        ori = np.array([r[1] for r in rows])
        phase = np.array([r[2] for r in rows])
        sx, sy = _envelopes(sf, sigma_x, sigma_y, nx, ny)
    return Table({
        "orientation": ori.astype(float), "sf": sf.astype(float), "phase": phase.astype(float),
        "sigma_x": sx.astype(float), "sigma_y": sy.astype(float),
        "nx": (sx * sf).astype(float), "ny": (sy * sf).astype(float),
    })


class GaborBank:
    """A bank of DC-free Gabor filters applied in the Fourier domain.

    Build it from a grid (every combination of ``orientations``, ``sfs`` and
    ``phases`` with one envelope given in degrees *or* in cycles) or from an
    explicit per-filter ``parameters`` table; see :func:`filter_parameters`.

    Each filter's kernel has its own unclipped size (≥ 3σ each side, odd); for the
    FFT, kernels are grouped by size so small filters do not pay for large ones,
    and a kernel larger than the image is cropped to ``2 * rows - 1`` by
    ``2 * cols - 1`` pixels — the part that can ever overlap the image, so the
    result is unchanged.

    Parameters
    ----------
    display : Display
        The screen; images must have its shape.
    orientations, sfs, phases, sigma_x, sigma_y, nx, ny, parameters
        See :func:`filter_parameters`.
    norm : {"grating", "l2"}
        Kernel normalisation; see :func:`gabor_kernel`.  With ``"grating"`` (the
        default) a filter's linear response to its optimal grating equals the
        grating's contrast.
    dtype : numpy dtype
        float32 (default) or float64 for the computation and output.
    workers : int, optional
        Threads for scipy.fft; default all available cores.

    Attributes
    ----------
    parameters : Table
        One row per filter: ``orientation``, ``sf``, ``phase``, ``sigma_x``,
        ``sigma_y``, ``nx``, ``ny`` and ``size`` (kernel side in pixels).
    kernels : tuple of ndarray
        The float64 kernels, each ``(size, size)``, row 0 at the top.

    Raises
    ------
    ValueError
        See :func:`filter_parameters` and :func:`gabor_kernel`.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> bank = GaborBank(Display((32, 32), 16), orientations=[0, 90], sfs=[2], phases=[0, 90])
    >>> len(bank), bank.parameters["size"].tolist()
    (4, [25, 25, 25, 25])
    >>> bank(np.zeros((3, 32, 32))).shape
    (3, 4, 32, 32)
    """

    def __init__(
        self,
        display: Display,
        *,
        orientations: Sequence[float] | np.ndarray | None = None,
        sfs: Sequence[float] | np.ndarray | None = None,
        phases: Sequence[float] | np.ndarray | None = None,
        sigma_x: float | None = None,
        sigma_y: float | None = None,
        nx: float | None = None,
        ny: float | None = None,
        parameters: Mapping[str, Any] | None = None,
        norm: str = "grating",
        dtype: Any = np.float32,
        workers: int | None = None,
    ):
        if not isinstance(display, Display):
            raise TypeError(f"display must be a stimuli.display.Display, got {type(display)}")
        self.display = display
        self.norm = check_choice("norm", norm, _NORMS)
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from exc
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        table = filter_parameters(orientations=orientations, sfs=sfs, phases=phases,
                                  sigma_x=sigma_x, sigma_y=sigma_y, nx=nx, ny=ny,
                                  parameters=parameters)
        ppd = display.pixels_per_degree
        sizes = []
        kernels = []
        for i in range(len(table)):
            row = table.row(i)
            try:
                kernel = gabor_kernel(ppd, orientation=row["orientation"], sf=row["sf"],
                                      phase=row["phase"], sigma_x=row["sigma_x"],
                                      sigma_y=row["sigma_y"], norm=self.norm)
            except ValueError as exc:
                raise ValueError(
                    f"filter {i} (sf {row['sf']:g} c/deg, from sfs/parameters; envelope "
                    f"sigma_x, sigma_y = "
                    f"{row['sigma_x']:g}, {row['sigma_y']:g} deg, i.e. nx, ny = "
                    f"{row['sigma_x'] * row['sf']:g}, {row['sigma_y'] * row['sf']:g} cycles) "
                    f"on the display at {ppd:g} pixels_per_degree: {exc}") from exc
            kernels.append(kernel)
            sizes.append(kernel.shape[0])
        self.parameters = table.with_columns(size=np.array(sizes, dtype=int))
        self.kernels = tuple(kernels)
        self._groups = self._group_by_size(dtype, workers)

    def _group_by_size(self, dtype: Any, workers: int | None) -> list[tuple[np.ndarray,
                                                                           FourierFilters]]:
        """FourierFilters per size class; each class's FFT is at most 25% larger."""
        rows, cols = self.display.shape
        # the largest kernel extent that can overlap a (rows, cols) image
        cap_r, cap_c = 2 * rows - 1, 2 * cols - 1
        sizes = self.parameters["size"]
        order = np.argsort(sizes, kind="stable")
        groups: list[list[int]] = []
        base = None
        for i in order:
            extent = (rows + min(sizes[i], cap_r), cols + min(sizes[i], cap_c))
            if base is None or extent[0] > 1.25 * base[0] or extent[1] > 1.25 * base[1]:
                groups.append([])
                base = extent
            groups[-1].append(int(i))
        result = []
        for members in groups:
            side = int(sizes[members[-1]])
            kh, kw = min(side, cap_r), min(side, cap_c)
            stack = np.zeros((len(members), kh, kw))
            for j, i in enumerate(members):
                stack[j] = _centre_crop_or_pad(self.kernels[i], kh, kw)
            result.append((np.array(members), FourierFilters(stack, dtype=dtype,
                                                             workers=workers)))
        return result

    def __len__(self) -> int:
        return len(self.parameters)

    @property
    def n_filters(self) -> int:
        """Number of filters ``k``."""
        return len(self.parameters)

    @property
    def workers(self) -> int:
        """Threads scipy.fft uses."""
        return self._groups[0][1].workers

    @property
    def dtype(self) -> np.dtype:
        """Computation and output dtype (float32 or float64)."""
        return self._groups[0][1].dtype

    def __call__(self, images: Any) -> np.ndarray:
        """Linear responses ``(n, k, rows, cols)`` to ``images`` ``(n, rows, cols)``.

        ``out[i, j, r, c]`` is the cross-correlation of image ``i`` with kernel ``j``
        centred on pixel ``(r, c)``, with mean grey (0) beyond the image edge.

        Raises
        ------
        ValueError
            If ``images`` is not ``(n, rows, cols)`` with the display's shape, is
            empty, or holds NaN or infinite values.
        """
        dtype = self.dtype
        images = check_images("images", images, self.display, dtype=dtype)
        # the output plus one group's complex spectra
        self.display.check_memory("GaborBank responses", images.shape[0] * self.n_filters,
                                  3 * dtype.itemsize, "pass fewer images at a time")
        out = np.empty((images.shape[0], self.n_filters, *self.display.shape), dtype=dtype)
        for members, filters in self._groups:
            out[:, members] = filters(images)
        return out

    def at(self, images: Any, rows: Any, cols: Any, *, grid: bool = True,
           method: str = "auto") -> np.ndarray:
        """Linear responses at the pixel grid ``rows`` × ``cols`` (or at pairs) only.

        Equal to ``self(images)[:, :, rows][:, :, :, cols]`` (``grid=True``) or
        ``self(images)[:, :, rows, cols]`` (``grid=False``), at the cost of the pixels
        kept (:meth:`v1model._fft.FourierFilters.at`, per kernel-size class): one
        float32 BLAS product of image patches (or of whole images, for kernels larger
        than the image) with the stacked kernels for a few positions, and a decimated
        Fourier transform for a regular grid at stride ``s`` (about ``1/s²`` of the
        inverse transforms of full maps).  Index arrays, placed kernels and spectra are
        cached in the bank, so repeated batches pay only the arithmetic.

        Parameters
        ----------
        images : array_like of shape (n, rows, cols)
            Images with the display's shape.
        rows, cols : array_like of int
            Pixel rows and columns of the display (equal lengths for pairs).
        grid : bool
            Every combination of ``rows`` and ``cols`` (default), or pairs.
        method : {"auto", "patches", "image", "strided", "fft"}
            Route (see :meth:`v1model._fft.FourierFilters.at`); ``"auto"`` picks the
            cheapest per kernel-size class.  Float32 results agree with the float64
            full maps to within 1e-5 of the largest response.

        Returns
        -------
        ndarray of shape (n, k, len(rows), len(cols)), or (n, k, len(rows)) for pairs

        Raises
        ------
        ValueError
            For images as in ``__call__``, empty ``rows`` / ``cols``, pairs of
            unequal length, or an unknown ``method``.
        IndexError
            If an index is out of range.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> bank = GaborBank(Display((32, 32), 16), orientations=[0, 90], sfs=[2])
        >>> x = np.random.default_rng(0).normal(size=(2, 32, 32))
        >>> np.allclose(bank.at(x, [15], [15]), bank(x)[:, :, 15:16, 15:16], atol=1e-5)
        True
        >>> every_4th = np.arange(0, 32, 4)                  # a stride-4 map
        >>> np.allclose(bank.at(x, every_4th, every_4th), bank(x)[:, :, ::4, ::4], atol=1e-5)
        True
        """
        dtype = self.dtype
        images = check_images("images", images, self.display, dtype=dtype)
        out = None
        for members, filters in self._groups:
            part = filters.at(images, rows, cols, grid=grid, method=method)
            if out is None:
                out = np.empty((images.shape[0], self.n_filters, *part.shape[2:]), dtype=dtype)
            out[:, members] = part
        return out

    def __repr__(self) -> str:
        p = self.parameters
        return (f"GaborBank({len(self)} filters: {len(np.unique(p['orientation']))} "
                f"orientations, {len(np.unique(p['sf']))} sfs, {len(np.unique(p['phase']))} "
                f"phases; norm={self.norm!r}; display {self.display.shape} at "
                f"{self.display.pixels_per_degree:g} px/deg)")


def _centre_crop_or_pad(kernel: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Embed an odd square kernel, centred, in a ``(kh, kw)`` odd array."""
    out = np.zeros((kh, kw))
    s = kernel.shape[0]
    ch, cw, c = kh // 2, kw // 2, s // 2
    hr, hc = min(c, ch), min(c, cw)
    out[ch - hr:ch + hr + 1, cw - hc:cw + hc + 1] = kernel[c - hr:c + hr + 1, c - hc:c + hc + 1]
    return out
