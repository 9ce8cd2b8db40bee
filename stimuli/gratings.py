"""Static and moving luminance patterns: gratings, plaids, bars, edges, Gabor patches.

Every generator takes a :class:`~stimuli.display.Display` first and returns float32
images in contrast units (0 is mean grey, values in [-1, 1]).  Geometry follows the
project conventions (docs/conventions):

- positions and sizes in degrees of visual angle, the origin at the display centre,
  +y up (row 0 is the top of the screen);
- orientation θ in degrees is the direction of the wave vector, counter-clockwise
  from rightward, so θ = 0 gives vertical bars; with the rotated coordinate
  ``x' = (x - cx) cos θ + (y - cy) sin θ`` a grating is
  ``L = contrast · cos(2π · sf · x' + phase)`` (phase in degrees; phase 0 puts a
  bright bar through the centre);
- a drifting grating of direction d moves along d:
  ``L(t) = contrast · cos(2π · sf · x'_d - 2π · tf · t + phase)``, ``t = frame / frame_rate``.

Angles may be any finite number (the patterns are periodic in them).  Spatial
frequencies above the display's Nyquist frequency and temporal frequencies at or
above half the frame rate are refused rather than aliased.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from stimuli._shared.validation import (
    check_array,
    check_choice,
    check_nonnegative,
    check_positive,
    check_range,
    check_real,
)
from stimuli.display import Display, check_display

__all__ = [
    "aperture",
    "bar",
    "counterphase_grating",
    "drifting_grating",
    "edge",
    "gabor_patch",
    "grating",
    "plaid",
    "uniform",
]

WAVEFORMS = ("sine", "square")
_BOUNDARY = 1e-12  # cycles: square-wave samples this close to a boundary are 0
Center = Sequence[float]  # (x, y) in degrees


# ----------------------------------------------------------------------------- checks
def _check_contrast(contrast: Any) -> float:
    return check_range("contrast", contrast, 0.0, 1.0)


def _check_center(center: Any) -> tuple[float, float]:
    arr = check_array("center", center, ndim=1, shape_doc="(x, y) in degrees", dtype=float)
    if arr.shape != (2,):
        raise ValueError(f"center must be (x, y) in degrees, got {center!r}")
    return float(arr[0]), float(arr[1])


def _check_size_or_inf(name: str, value: Any) -> float:
    """A positive size in degrees where ``None`` or ``+inf`` means unbounded."""
    if value is None or (isinstance(value, numbers.Real) and value == math.inf):
        return math.inf
    return check_positive(name, value)


def _check_sf(display: Display, sf: Any, name: str = "sf") -> float:
    sf = check_positive(name, sf)
    if sf > display.nyquist_cpd:
        raise ValueError(
            f"{name} must be at most the display's Nyquist frequency "
            f"{display.nyquist_cpd:g} c/deg (0.5 cycles/pixel), got {sf}"
        )
    return sf


def _check_tf(display: Display, tf: Any, *, drifting: bool) -> float:
    tf = check_nonnegative("tf", tf)
    limit = display.frame_rate / 2
    # At exactly half the frame rate a drifting grating steps by half a cycle per
    # frame, so its direction is undefined; a counter-phase grating is still fine.
    if tf > limit or (drifting and tf == limit):
        relation = "below" if drifting else "at most"
        raise ValueError(
            f"tf must be {relation} half the frame rate ({limit:g} Hz) to avoid temporal "
            f"aliasing, got {tf}"
        )
    return tf


def _check_polarity(polarity: Any) -> int:
    if isinstance(polarity, str):
        if polarity in ("light", "dark"):
            return 1 if polarity == "light" else -1
    elif isinstance(polarity, numbers.Real) and not isinstance(polarity, bool):
        if polarity in (1, -1):
            return int(polarity)
    raise ValueError(f"polarity must be +1, -1, 'light' or 'dark'; got {polarity!r}")


def _check_aperture(
    radius: Any, edge_width: Any, inner_radius: Any
) -> tuple[float, float, float | None]:
    radius = _check_size_or_inf("radius", radius)
    edge_width = check_nonnegative("edge_width", edge_width)
    inner = None if inner_radius is None else check_positive("inner_radius", inner_radius)
    # The raised-cosine edge is centred on each radius (the mask is 0.5 there), so it
    # needs edge_width / 2 of room on either side; otherwise the arguments conflict.
    if math.isfinite(radius) and edge_width > 2 * radius:
        raise ValueError(
            f"edge_width must be at most 2 * radius (the edge is centred on the radius), "
            f"got edge_width={edge_width}, radius={radius}"
        )
    if inner is not None:
        if edge_width > 2 * inner:
            raise ValueError(
                f"edge_width must be at most 2 * inner_radius, got edge_width={edge_width}, "
                f"inner_radius={inner}"
            )
        if not radius - inner > 0 or radius - inner < edge_width:
            raise ValueError(
                f"inner_radius must be smaller than radius by at least edge_width, got "
                f"inner_radius={inner}, radius={radius}, edge_width={edge_width}"
            )
    return radius, edge_width, inner


def _frame_indices(frames: Any, n_frames: int) -> tuple[np.ndarray, bool]:
    """``frames`` (None, an int or a 1-D integer array) → (indices, is_scalar)."""
    if frames is None:
        return np.arange(n_frames), False
    scalar = np.ndim(frames) == 0
    index = check_array("frames", np.atleast_1d(frames) if scalar else frames, ndim=1,
                        shape_doc="an int or (k,) frame indices", nonempty=False)
    if isinstance(frames, bool) or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise TypeError(f"frames must be an integer or an integer array, got {frames!r}")
    index = index.astype(np.int64)
    if index.size and (index.min() < 0 or index.max() >= n_frames):
        raise ValueError(f"frames must be in [0, {n_frames}) for this duration, got {frames!r}")
    return index, scalar


# -------------------------------------------------------------------------- geometry
def _rotated(
    display: Display, orientation: float, center: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """``(x', y')`` in degrees, float64 ``(rows, cols)``: x' along the wave vector."""
    x, y = display.coordinates()
    x = x - center[0]
    y = y - center[1]
    theta = np.deg2rad(orientation)
    c, s = np.cos(theta), np.sin(theta)
    return x * c + y * s, -x * s + y * c


def _wave(cycles: np.ndarray, waveform: str) -> np.ndarray:
    """Unit-amplitude carrier of a phase given in cycles (float64, values in [-1, 1]).

    ``sine`` is ``cos(2π · cycles)``; ``square`` is its sign: +1 on the bright half
    cycle, -1 on the dark one and 0 on a sample that falls on a boundary (to within
    ``_BOUNDARY`` cycles, so rounding in the coordinates cannot pick a side at random).
    """
    frac = cycles - np.round(cycles)  # in [-0.5, 0.5]: keeps precision for large phases
    if waveform == "sine":
        return np.cos(2 * np.pi * frac)
    distance = 0.25 - np.abs(frac)  # > 0 on the bright half cycle
    return np.where(np.abs(distance) <= _BOUNDARY, 0.0, np.sign(distance))


def _raised_cosine_disc(r: np.ndarray, radius: float, edge_width: float) -> np.ndarray:
    """1 inside ``radius``, 0 outside, with a raised-cosine edge centred on it."""
    mask = (r <= radius).astype(np.float64)
    offset = r - radius
    band = np.abs(offset) < edge_width / 2  # empty for a hard edge
    mask[band] = 0.5 * (1 - np.sin(np.pi * offset[band] / edge_width))
    return mask


def _mask(
    display: Display,
    center: tuple[float, float],
    radius: float,
    edge_width: float,
    inner: float | None,
) -> np.ndarray | None:
    """The aperture as float64 ``(rows, cols)``, or None for an unmasked full field."""
    if not math.isfinite(radius) and inner is None:
        return None
    x, y = display.coordinates()
    r = np.hypot(x - center[0], y - center[1])
    mask = np.ones(display.shape)
    if math.isfinite(radius):
        mask *= _raised_cosine_disc(r, radius, edge_width)
    if inner is not None:
        mask *= 1 - _raised_cosine_disc(r, inner, edge_width)
    return mask


def _finish(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is not None:
        image = image * mask
    return image.astype(np.float32)


# ------------------------------------------------------------------------ static
def aperture(
    display: Display,
    *,
    radius: float | None = None,
    center: Center = (0.0, 0.0),
    edge_width: float = 0.0,
    inner_radius: float | None = None,
) -> np.ndarray:
    """A circular (or annular) window with an optional raised-cosine edge.

    Parameters
    ----------
    display : Display
        The screen.
    radius : float or None, optional
        Outer radius in degrees; ``None`` or ``inf`` for no outer edge (full field).
    center : (float, float), optional
        ``(x, y)`` of the centre in degrees (+y up).
    edge_width : float, optional
        Width in degrees of the raised-cosine edge, centred on each radius: the mask
        is 1 up to ``radius - edge_width / 2``, 0.5 at ``radius`` and 0 from
        ``radius + edge_width / 2``.  0 (default) gives a hard edge that includes
        pixels whose centre lies at distance <= radius.
    inner_radius : float or None, optional
        Radius in degrees of a central hole (annulus), with the same edge: 0 inside,
        0.5 at ``inner_radius``.

    Returns
    -------
    mask : ndarray of shape (rows, cols), float32
        Values in [0, 1].

    Raises
    ------
    ValueError
        If a size is not positive and finite (``radius`` may be inf), if the edge does
        not fit (``edge_width > 2 * radius`` or ``> 2 * inner_radius``) or if
        ``radius - inner_radius < edge_width``.
    TypeError
        If ``display`` is not a Display or a number is not real.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> m = aperture(Display((5, 5), pixels_per_degree=1), radius=1.0)
    >>> m.astype(int)[2].tolist(), m.astype(int)[0].tolist()
    ([0, 1, 1, 1, 0], [0, 0, 0, 0, 0])
    """
    display = check_display(display)
    center = _check_center(center)
    radius, edge_width, inner = _check_aperture(radius, edge_width, inner_radius)
    mask = _mask(display, center, radius, edge_width, inner)
    return np.ones(display.shape, np.float32) if mask is None else mask.astype(np.float32)


def grating(
    display: Display,
    *,
    orientation: float = 0.0,
    sf: float = 2.0,
    phase: float = 0.0,
    contrast: float = 1.0,
    waveform: str = "sine",
    center: Center = (0.0, 0.0),
    radius: float | None = None,
    edge_width: float = 0.0,
    inner_radius: float | None = None,
) -> np.ndarray:
    """A sine- or square-wave grating, full field or inside an (annular) aperture.

    ``L = contrast · W(2π · sf · x' + phase) · mask`` with ``W = cos`` (sine) or
    ``sign(cos)`` (square) and ``x' = (x - cx) cos θ + (y - cy) sin θ``.

    Parameters
    ----------
    display : Display
        The screen.
    orientation : float, optional
        θ in degrees: direction of the wave vector, counter-clockwise from rightward;
        0 gives vertical bars.
    sf : float, optional
        Spatial frequency in cycles per degree, in (0, display.nyquist_cpd].
    phase : float, optional
        Phase in degrees at the centre; 0 puts a bright bar through ``center``.
    contrast : float, optional
        Michelson contrast in [0, 1] (the amplitude in contrast units).
    waveform : {"sine", "square"}, optional
        ``square`` takes values ±contrast (0 on a sample that lies on a boundary
        between light and dark, to within 1e-12 cycles of rounding).
    center : (float, float), optional
        ``(x, y)`` in degrees of the grating's phase origin and of the aperture.
    radius, edge_width, inner_radius : optional
        The aperture, as in :func:`aperture`; default full field.

    Returns
    -------
    image : ndarray of shape (rows, cols), float32
        Contrast units in [-contrast, contrast].

    Raises
    ------
    ValueError
        For non-finite numbers, non-positive sizes, contrast outside [0, 1], sf above
        the Nyquist frequency, an unknown waveform or an edge that does not fit.
    TypeError
        If ``display`` is not a Display or a number is not real.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> d = Display((1, 4), pixels_per_degree=4)
    >>> grating(d, sf=1.0, waveform="square").tolist()
    [[-1.0, 1.0, 1.0, -1.0]]
    >>> grating(d, sf=1.0, phase=90.0).round(3).tolist()
    [[0.707, 0.707, -0.707, -0.707]]
    """
    display = check_display(display)
    orientation = check_real("orientation", orientation)
    sf = _check_sf(display, sf)
    phase = check_real("phase", phase)
    contrast = _check_contrast(contrast)
    waveform = check_choice("waveform", waveform, WAVEFORMS)
    center = _check_center(center)
    radius, edge_width, inner = _check_aperture(radius, edge_width, inner_radius)

    xr, _ = _rotated(display, orientation, center)
    image = contrast * _wave(sf * xr + phase / 360.0, waveform)
    return _finish(image, _mask(display, center, radius, edge_width, inner))


def plaid(
    display: Display,
    *,
    orientations: Sequence[float] = (0.0, 90.0),
    sf: float | Sequence[float] = 2.0,
    phases: float | Sequence[float] = 0.0,
    contrast: float = 1.0,
    waveform: str = "sine",
    center: Center = (0.0, 0.0),
    radius: float | None = None,
    edge_width: float = 0.0,
    inner_radius: float | None = None,
) -> np.ndarray:
    """The sum of gratings of several orientations.

    Each of the k components has amplitude ``contrast / k``, so the plaid's peak
    (all components in phase) is ``contrast`` and values stay in [-contrast,
    contrast].  For two non-parallel components both the peak and the trough are
    reached, so the Michelson contrast of the pattern is ``contrast``; with three or
    more components the components cannot all reach their troughs together and
    the pattern's Michelson contrast can be lower.

    Parameters
    ----------
    display : Display
        The screen.
    orientations : sequence of float, optional
        Orientation of each component in degrees (at least one).
    sf : float or sequence of float, optional
        Spatial frequency in c/deg, one for all components or one per component.
    phases : float or sequence of float, optional
        Phase in degrees, one for all components or one per component.
    contrast : float, optional
        Peak contrast in [0, 1] of the summed pattern.
    waveform : {"sine", "square"}, optional
        Waveform of every component.
    center, radius, edge_width, inner_radius : optional
        As in :func:`grating`.

    Returns
    -------
    image : ndarray of shape (rows, cols), float32
        Contrast units in [-contrast, contrast].

    Raises
    ------
    ValueError
        As :func:`grating`, and if ``sf`` or ``phases`` has a length other than
        ``len(orientations)``.
    TypeError
        If ``display`` is not a Display or a number is not real.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> p = plaid(Display((33, 33), pixels_per_degree=16), orientations=(0, 90), sf=2.0)
    >>> float(p.max()), float(p.min())
    (1.0, -1.0)
    """
    display = check_display(display)
    oris = check_array("orientations", orientations, ndim=1, shape_doc="(k,) in degrees",
                       dtype=float)
    k = len(oris)
    sfs = _per_component("sf", sf, k)
    phs = _per_component("phases", phases, k)
    sfs = [_check_sf(display, s, "sf") for s in sfs]
    contrast = _check_contrast(contrast)
    waveform = check_choice("waveform", waveform, WAVEFORMS)
    center = _check_center(center)
    radius, edge_width, inner = _check_aperture(radius, edge_width, inner_radius)

    image = np.zeros(display.shape)
    for ori, s, ph in zip(oris, sfs, phs, strict=True):
        xr, _ = _rotated(display, float(ori), center)
        image += _wave(s * xr + ph / 360.0, waveform)
    image *= contrast / k
    return _finish(image, _mask(display, center, radius, edge_width, inner))


def _per_component(name: str, value: Any, k: int) -> np.ndarray:
    arr = check_array(name, value, ndim=(0, 1), dtype=float)
    if arr.ndim == 0:
        return np.full(k, float(arr))
    if len(arr) != k:
        raise ValueError(f"{name} must be a scalar or have one value per orientation ({k}), "
                         f"got {len(arr)}")
    return arr


def bar(
    display: Display,
    *,
    orientation: float = 0.0,
    length: float = 1.0,
    width: float = 0.1,
    center: Center = (0.0, 0.0),
    polarity: int | str = 1,
    contrast: float = 1.0,
) -> np.ndarray:
    """A light or dark rectangular bar on mean grey.

    The bar is aligned with the bars of a grating of the same orientation (θ = 0 is a
    vertical bar): ``width`` runs along the wave vector x', ``length`` along the bars
    y'.  Pixels whose centres satisfy ``|x'| <= width / 2`` and ``|y'| <= length / 2``
    take the value ``polarity · contrast``; all others are 0.

    Parameters
    ----------
    display : Display
        The screen.
    orientation : float, optional
        Orientation in degrees (0 = vertical bar).
    length : float, optional
        Length along the bar in degrees; ``inf`` for a bar across the whole display.
    width : float, optional
        Width across the bar in degrees.
    center : (float, float), optional
        ``(x, y)`` of the bar's centre in degrees.
    polarity : {+1, -1, "light", "dark"}, optional
        Light (+1) or dark (-1) bar.
    contrast : float, optional
        Contrast in [0, 1].

    Returns
    -------
    image : ndarray of shape (rows, cols), float32
        Values in {0, polarity · contrast}.

    Raises
    ------
    ValueError
        For non-finite numbers, non-positive sizes, contrast outside [0, 1], an
        unknown polarity, or a bar that covers no pixel centre of the display.
    TypeError
        If ``display`` is not a Display or a number is not real.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> b = bar(Display((3, 5), pixels_per_degree=1), length=2, width=1, polarity="dark")
    >>> b.astype(int).tolist()
    [[0, 0, -1, 0, 0], [0, 0, -1, 0, 0], [0, 0, -1, 0, 0]]
    """
    display = check_display(display)
    orientation = check_real("orientation", orientation)
    length = _check_size_or_inf("length", length)
    width = check_positive("width", width)
    center = _check_center(center)
    sign = _check_polarity(polarity)
    contrast = _check_contrast(contrast)

    xr, yr = _rotated(display, orientation, center)
    inside = (np.abs(xr) <= width / 2) & (np.abs(yr) <= length / 2)
    if not inside.any():
        raise ValueError(
            f"the bar (width={width}, length={length}, center={center}) covers no pixel "
            f"centre of the display; make it wider or move it onto the screen"
        )
    return np.where(inside, sign * contrast, 0.0).astype(np.float32)


def edge(
    display: Display,
    *,
    orientation: float = 0.0,
    center: Center = (0.0, 0.0),
    polarity: int | str = 1,
    contrast: float = 1.0,
) -> np.ndarray:
    """A luminance step: light on one side of a line through ``center``, dark on the other.

    The boundary is aligned with the bars of a grating of the same orientation
    (θ = 0: a vertical edge).  With polarity +1 the side the wave vector points to
    (x' > 0; the right side for θ = 0) is light (+contrast) and the other side dark
    (-contrast); polarity -1 swaps them.  Pixels exactly on the boundary are 0.

    Parameters
    ----------
    display : Display
        The screen.
    orientation : float, optional
        Orientation in degrees (0 = vertical edge, light on the right for polarity +1).
    center : (float, float), optional
        A point of the boundary, ``(x, y)`` in degrees.
    polarity : {+1, -1, "light", "dark"}, optional
        Which side is light: +1 / "light" the x' > 0 side.
    contrast : float, optional
        Michelson contrast in [0, 1].

    Returns
    -------
    image : ndarray of shape (rows, cols), float32
        Values in {-contrast, 0, contrast}.

    Raises
    ------
    ValueError
        For non-finite numbers, contrast outside [0, 1] or an unknown polarity.
    TypeError
        If ``display`` is not a Display or a number is not real.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> edge(Display((1, 3), pixels_per_degree=1), contrast=0.5).tolist()
    [[-0.5, 0.0, 0.5]]
    """
    display = check_display(display)
    orientation = check_real("orientation", orientation)
    center = _check_center(center)
    sign = _check_polarity(polarity)
    contrast = _check_contrast(contrast)

    xr, _ = _rotated(display, orientation, center)
    return (sign * contrast * np.sign(xr)).astype(np.float32)


def gabor_patch(
    display: Display,
    *,
    orientation: float = 0.0,
    sf: float = 2.0,
    phase: float = 0.0,
    sigma_x: float = 0.5,
    sigma_y: float | None = None,
    contrast: float = 1.0,
    center: Center = (0.0, 0.0),
) -> np.ndarray:
    """A sine grating under a Gaussian envelope.

    ``L = contrast · cos(2π · sf · x' + phase) · exp(-x'² / 2σx² - y'² / 2σy²)``.
    σx is measured across the bars (along the wave vector) and σy along them, as in
    Ringach 2002 (J Neurophysiol 88:455), where nx = σx · sf and ny = σy · sf.

    Parameters
    ----------
    display : Display
        The screen.
    orientation : float, optional
        Orientation in degrees (0 = vertical bars).
    sf : float, optional
        Carrier spatial frequency in c/deg.
    phase : float, optional
        Carrier phase in degrees at the centre (0 = even, bright centre).
    sigma_x : float, optional
        Envelope standard deviation across the bars, in degrees.
    sigma_y : float or None, optional
        Envelope standard deviation along the bars, in degrees; ``None`` (default)
        means ``sigma_x`` (a circular envelope).
    contrast : float, optional
        Carrier amplitude at the envelope's peak, in [0, 1].
    center : (float, float), optional
        ``(x, y)`` of the envelope's peak and the carrier's phase origin, in degrees.

    Returns
    -------
    image : ndarray of shape (rows, cols), float32
        Contrast units in [-contrast, contrast].  The mean is not 0 in general (an
        even Gabor has a DC component).

    Raises
    ------
    ValueError
        For non-finite numbers, non-positive sigmas or sf, sf above Nyquist or
        contrast outside [0, 1].
    TypeError
        If ``display`` is not a Display or a number is not real.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> g = gabor_patch(Display((65, 65), pixels_per_degree=16), sf=2.0, sigma_x=0.3)
    >>> float(g[32, 32]), bool(abs(g[0, 0]) < 1e-3)
    (1.0, True)
    """
    display = check_display(display)
    orientation = check_real("orientation", orientation)
    sf = _check_sf(display, sf)
    phase = check_real("phase", phase)
    sigma_x = check_positive("sigma_x", sigma_x)
    sigma_y = sigma_x if sigma_y is None else check_positive("sigma_y", sigma_y)
    contrast = _check_contrast(contrast)
    center = _check_center(center)

    xr, yr = _rotated(display, orientation, center)
    envelope = np.exp(-0.5 * ((xr / sigma_x) ** 2 + (yr / sigma_y) ** 2))
    return (contrast * _wave(sf * xr + phase / 360.0, "sine") * envelope).astype(np.float32)


def uniform(display: Display, *, contrast: float = 0.0, polarity: int | str = 1) -> np.ndarray:
    """A uniform field: mean grey (contrast 0, the default) or a light or dark flash.

    Parameters
    ----------
    display : Display
        The screen.
    contrast : float, optional
        Luminance step from mean grey in [0, 1].
    polarity : {+1, -1, "light", "dark"}, optional
        Brighter (+1) or darker (-1) than the mean.

    Returns
    -------
    image : ndarray of shape (rows, cols), float32
        Every value ``polarity · contrast``.

    Raises
    ------
    ValueError
        For contrast outside [0, 1] or non-finite, or an unknown polarity.
    TypeError
        If ``display`` is not a Display.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> uniform(Display((1, 2), pixels_per_degree=1), contrast=0.25, polarity="dark").tolist()
    [[-0.25, -0.25]]
    """
    display = check_display(display)
    contrast = _check_contrast(contrast)
    sign = _check_polarity(polarity)
    return np.full(display.shape, sign * contrast + 0.0, dtype=np.float32)


# ------------------------------------------------------------------------ temporal
def drifting_grating(
    display: Display,
    *,
    direction: float = 0.0,
    sf: float = 2.0,
    tf: float = 2.0,
    duration: float = 1.0,
    phase: float = 0.0,
    contrast: float = 1.0,
    waveform: str = "sine",
    center: Center = (0.0, 0.0),
    radius: float | None = None,
    edge_width: float = 0.0,
    inner_radius: float | None = None,
    frames: int | Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """A grating drifting along ``direction``, as a movie.

    Frame k shows ``contrast · W(2π · sf · x'_d - 2π · tf · k / frame_rate + phase)``
    with ``x'_d = (x - cx) cos d + (y - cy) sin d``: the bars have orientation
    ``d mod 180`` and move along d at ``tf / sf`` degrees per second.  Each frame's
    phase is computed from its index alone (no accumulation), so a frame
    regenerated with ``frames=k`` is bit-for-bit the movie's frame k, and the movie
    repeats every ``frame_rate / tf`` frames when that is an integer.

    Parameters
    ----------
    display : Display
        The screen; ``display.frame_rate`` sets the time step.
    direction : float, optional
        Direction of motion in degrees, counter-clockwise from rightward (+y up).
    sf : float, optional
        Spatial frequency in c/deg, in (0, display.nyquist_cpd].
    tf : float, optional
        Temporal frequency in Hz, >= 0 and below ``frame_rate / 2``.
    duration : float, optional
        Duration in seconds; the movie has ``display.n_frames(duration)`` =
        ``round(duration · frame_rate)`` frames.
    phase : float, optional
        Spatial phase in degrees at ``center`` in frame 0.
    contrast : float, optional
        Michelson contrast in [0, 1].
    waveform : {"sine", "square"}, optional
        Spatial waveform.
    center, radius, edge_width, inner_radius : optional
        The (fixed) aperture, as in :func:`aperture`; default full field.
    frames : int or array_like of int, optional
        Generate only these frame indices (each in ``[0, n_frames)``).  An int gives
        one ``(rows, cols)`` image, like indexing the movie with it.

    Returns
    -------
    movie : ndarray of shape (frames, rows, cols), float32
        Contrast units in [-contrast, contrast]; ``(rows, cols)`` when ``frames`` is
        an int, ``(len(frames), rows, cols)`` when it is an array.

    Raises
    ------
    ValueError
        For non-finite numbers, non-positive sizes or duration, contrast outside
        [0, 1], sf above Nyquist, tf >= frame_rate / 2, an unknown waveform, an edge
        that does not fit, or frame indices out of range.
    TypeError
        If ``display`` is not a Display, a number is not real or ``frames`` is not
        integer.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> d = Display((8, 8), pixels_per_degree=8, frame_rate=8)
    >>> movie = drifting_grating(d, sf=1.0, tf=2.0, duration=1.0)
    >>> movie.shape
    (8, 8, 8)
    >>> bool((movie[4] == movie[0]).all()), bool((movie[3] == drifting_grating(
    ...     d, sf=1.0, tf=2.0, duration=1.0, frames=3)).all())
    (True, True)
    """
    display = check_display(display)
    direction = check_real("direction", direction)
    sf = _check_sf(display, sf)
    tf = _check_tf(display, tf, drifting=True)
    n_frames = display.n_frames(duration)
    phase = check_real("phase", phase)
    contrast = _check_contrast(contrast)
    waveform = check_choice("waveform", waveform, WAVEFORMS)
    center = _check_center(center)
    radius, edge_width, inner = _check_aperture(radius, edge_width, inner_radius)
    display.check_memory("drifting_grating frames", n_frames if frames is None else np.size(frames),
                         4, "lower duration or ask for fewer frames")
    index, scalar = _frame_indices(frames, n_frames)

    xr, _ = _rotated(display, direction, center)
    spatial = sf * xr + phase / 360.0  # cycles
    mask = _mask(display, center, radius, edge_width, inner)
    # Temporal phase of each frame from its index alone, reduced to [0, 1) cycles.
    shifts = (tf * index.astype(np.float64) / display.frame_rate) % 1.0
    movie = np.empty((len(index), *display.shape), np.float32)
    if waveform == "sine":
        # cos(a - τ) = cos a · cos τ + sin a · sin τ: two multiply-adds per pixel and
        # frame instead of a cosine.  The float64 error (~1e-16) vanishes in the
        # float32 result, so values stay within ±contrast.
        even = contrast * _wave(spatial, "sine")
        odd = contrast * _wave(spatial - 0.25, "sine")  # contrast · sin(2π · spatial)
        if mask is not None:
            even, odd = even * mask, odd * mask
        for i, tau in enumerate(2 * np.pi * shifts):
            movie[i] = even * np.cos(tau) + odd * np.sin(tau)
    else:
        for i, shift in enumerate(shifts):
            movie[i] = _finish(contrast * _wave(spatial - shift, waveform), mask)
    return movie[0] if scalar else movie


def counterphase_grating(
    display: Display,
    *,
    orientation: float = 0.0,
    sf: float = 2.0,
    tf: float = 2.0,
    duration: float = 1.0,
    phase: float = 0.0,
    contrast: float = 1.0,
    waveform: str = "sine",
    center: Center = (0.0, 0.0),
    radius: float | None = None,
    edge_width: float = 0.0,
    inner_radius: float | None = None,
    frames: int | Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """A standing (contrast-reversing) grating, as a movie.

    Frame k shows ``contrast · W(2π · sf · x' + phase) · cos(2π · tf · k / frame_rate)``:
    the spatial waveform W (sine or square) is fixed and its contrast follows a
    temporal cosine, so the frame at t = 0 equals :func:`grating` and frames half a
    temporal period apart are negatives of each other.  Frames are computed from
    their index alone, so ``frames=k`` regenerates frame k exactly.

    Parameters
    ----------
    display : Display
        The screen; ``display.frame_rate`` sets the time step.
    orientation : float, optional
        Orientation in degrees (0 = vertical bars).
    sf : float, optional
        Spatial frequency in c/deg.
    tf : float, optional
        Temporal frequency of the contrast reversal in Hz, in [0, frame_rate / 2].
    duration : float, optional
        Duration in seconds (``round(duration · frame_rate)`` frames).
    phase : float, optional
        Spatial phase in degrees at ``center``.
    contrast : float, optional
        Peak Michelson contrast in [0, 1].
    waveform : {"sine", "square"}, optional
        Spatial waveform.
    center, radius, edge_width, inner_radius : optional
        The aperture, as in :func:`aperture`; default full field.
    frames : int or array_like of int, optional
        Generate only these frame indices, as in :func:`drifting_grating`.

    Returns
    -------
    movie : ndarray of shape (frames, rows, cols), float32
        Contrast units in [-contrast, contrast]; ``(rows, cols)`` for an int ``frames``.

    Raises
    ------
    ValueError
        As :func:`drifting_grating` (tf may equal frame_rate / 2 here).
    TypeError
        As :func:`drifting_grating`.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> d = Display((4, 4), pixels_per_degree=4, frame_rate=8)
    >>> movie = counterphase_grating(d, sf=1.0, tf=2.0, duration=0.5)
    >>> bool(np.array_equal(movie[2], -movie[0])), bool(np.abs(movie[1]).max() < 1e-6)
    (True, True)
    """
    display = check_display(display)
    orientation = check_real("orientation", orientation)
    sf = _check_sf(display, sf)
    tf = _check_tf(display, tf, drifting=False)
    n_frames = display.n_frames(duration)
    phase = check_real("phase", phase)
    contrast = _check_contrast(contrast)
    waveform = check_choice("waveform", waveform, WAVEFORMS)
    center = _check_center(center)
    radius, edge_width, inner = _check_aperture(radius, edge_width, inner_radius)
    display.check_memory("counterphase_grating frames",
                         n_frames if frames is None else np.size(frames), 8,
                         "lower duration or ask for fewer frames")
    index, scalar = _frame_indices(frames, n_frames)

    xr, _ = _rotated(display, orientation, center)
    pattern = contrast * _wave(sf * xr + phase / 360.0, waveform)
    mask = _mask(display, center, radius, edge_width, inner)
    if mask is not None:
        pattern = pattern * mask
    # Temporal cosine of each frame from its index alone (reduced to [0, 1) cycles).
    cycles = (tf * index.astype(np.float64) / display.frame_rate) % 1.0
    gain = _wave(cycles, "sine")
    movie = (gain[:, None, None] * pattern).astype(np.float32)
    return movie[0] if scalar else movie

