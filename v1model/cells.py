"""Simple-cell, complex-cell and divisive-normalisation stages on filter-response maps.

Plain functions on arrays of shape ``(n, channels, rows, cols)`` (``n`` images,
retinotopic maps), composed by :class:`v1model.v1.V1Model`:

* :func:`half_wave` — simple cells: a linear response passed through a
  half-wave rectifier with threshold, gain and power-law exponent
  (Movshon, Thompson & Tolhurst 1978; Heeger 1992; Carandini & Ferster 2000).
* :func:`energy` — complex cells of the energy model (Adelson & Bergen 1985):
  ``sqrt(q0² + q1²)`` over a quadrature pair of linear responses.
* :func:`max_pool` — complex cells of the Hubel–Wiesel / Riesenhuber & Poggio
  (1999) kind: the maximum over simple cells of several phases and over the
  positions within a square window.
* :func:`divisive_normalization` — Heeger (1992); Carandini & Heeger (2012):
  each channel's drive raised to a power, divided by a semi-saturation constant
  plus the weighted pooled drive of all channels at the same position
  (optionally blurred over space).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage

from stimuli._shared.validation import (
    check_array,
    check_nonnegative,
    check_positive,
    check_range,
    check_real,
)
from stimuli.resources import MAX_DISPLAY_SIDE


def _maps(name: str, value: Any, ndim: int = 4, shape_doc: str = "(n, channels, rows, cols)"):
    arr = check_array(name, value, ndim=ndim, shape_doc=shape_doc)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    return arr


def half_wave(
    linear: Any,
    *,
    threshold: float = 0.0,
    gain: float = 1.0,
    exponent: float = 1.0,
) -> np.ndarray:
    """Simple-cell output ``gain * max(linear - threshold, 0) ** exponent``.

    Parameters
    ----------
    linear : array_like
        Linear (Gabor) responses of any shape, in contrast units when the filters
        are normalised to their optimal grating.
    threshold : float
        Subtracted before rectification, in the units of ``linear``; >= 0 raises the
        spike threshold, < 0 gives a maintained discharge.  Default 0.
    gain : float
        Positive multiplicative gain.  Default 1.
    exponent : float
        Positive power-law exponent (1 = linear rectifier, 2 = half-squaring as in
        Heeger 1992).  Default 1.

    Returns
    -------
    ndarray
        Same shape and floating dtype as ``linear``, >= 0.

    Raises
    ------
    ValueError
        If ``linear`` is empty or not finite, or a parameter is out of range.

    Examples
    --------
    >>> half_wave(np.array([-1.0, 0.5, 2.0]), threshold=0.5, exponent=2).tolist()
    [0.0, 0.0, 2.25]
    """
    linear = check_array("linear", linear)
    if not np.issubdtype(linear.dtype, np.floating):
        linear = linear.astype(np.float64)
    threshold = check_real("threshold", threshold)
    gain = check_positive("gain", gain)
    exponent = check_range("exponent", exponent, 0.0, MAX_EXPONENT, closed="right")
    out = np.maximum(linear - linear.dtype.type(threshold), 0)
    if exponent != 1.0:
        out **= linear.dtype.type(exponent)
    if gain != 1.0:
        out *= linear.dtype.type(gain)
    _check_overflow(out, "threshold, gain and exponent")
    return out


#: Largest exponent of a power-law nonlinearity (V1 fits give 1-5; Albrecht & Hamilton 1982).
MAX_EXPONENT = 16.0


def _check_overflow(out: np.ndarray, names: str) -> None:
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{names} overflow {out.dtype} for these inputs; use smaller values")


def energy(even: Any, odd: Any) -> np.ndarray:
    """Energy-model complex cells ``sqrt(even² + odd²)`` (Adelson & Bergen 1985).

    Parameters
    ----------
    even, odd : array_like
        Linear responses of the two filters of a quadrature pair (phases φ and
        φ + 90°), the same shape.

    Returns
    -------
    ndarray
        Same shape as the inputs, >= 0.  For a grating of the pair's orientation and
        frequency it hardly depends on the grating's phase.

    Raises
    ------
    ValueError
        If the shapes differ, or an input is empty or not finite.

    Examples
    --------
    >>> energy(np.array([3.0, 0.0]), np.array([4.0, -2.0])).tolist()
    [5.0, 2.0]
    """
    even = check_array("even", even)
    odd = check_array("odd", odd)
    if even.shape != odd.shape:
        raise ValueError(f"even and odd must have the same shape, got {even.shape} and "
                         f"{odd.shape}")
    return np.sqrt(np.square(even) + np.square(odd))


def window_pixels(window: float, pixels_per_degree: float) -> int:
    """Side in pixels of a square pooling window of ``window`` degrees.

    The side is rounded *up* to an odd number of pixels so the window is centred
    on a pixel and never smaller than asked.

    Parameters
    ----------
    window : float
        Side of the window in degrees, > 0.
    pixels_per_degree : float
        Pixels per degree, > 0.

    Returns
    -------
    int
        Odd side >= 1.

    Raises
    ------
    ValueError
        If an argument is not positive and finite.

    Examples
    --------
    >>> window_pixels(0.5, 32)
    17
    """
    width = check_positive("window", window) * check_positive("pixels_per_degree",
                                                               pixels_per_degree)
    if width > 2 * MAX_DISPLAY_SIDE:
        raise ValueError(f"window ({window} deg at pixels_per_degree={pixels_per_degree}) spans "
                         f"more than {2 * MAX_DISPLAY_SIDE} pixels")
    return 2 * max(0, math.ceil((width - 1) / 2 - 1e-9)) + 1


def max_pool(
    simple: Any,
    *,
    window: float | Any,
    pixels_per_degree: float,
) -> np.ndarray:
    """Max-pooling complex cells (Riesenhuber & Poggio 1999).

    Each complex channel takes the maximum of its simple cells over phase and over
    the positions in a square window of side ``window`` degrees centred on each
    map position (rounded up to an odd number of pixels; see :func:`window_pixels`).
    Beyond the image edge the simple cells count as silent (0).

    Parameters
    ----------
    simple : array_like of shape (n, channels, phases, rows, cols)
        Rectified (non-negative) simple-cell responses: ``phases`` simple cells of
        different phase and otherwise the same tuning per complex channel.
    window : float or array_like of shape (channels,)
        Pooling window side in degrees, one for all channels or one per channel.
    pixels_per_degree : float
        Pixels per degree of the maps.

    Returns
    -------
    ndarray of shape (n, channels, rows, cols)
        Same dtype as ``simple``.

    Raises
    ------
    ValueError
        If ``simple`` has the wrong number of dimensions, is empty, not finite or
        negative, or a window is not positive.

    Examples
    --------
    >>> s = np.zeros((1, 1, 2, 5, 5)); s[0, 0, 1, 2, 2] = 1.0
    >>> float(max_pool(s, window=3, pixels_per_degree=1)[0, 0, 1:4, 1:4].min())
    1.0
    """
    simple = _maps("simple", simple, ndim=5, shape_doc="(n, channels, phases, rows, cols)")
    if np.any(simple < 0):
        raise ValueError("simple must be non-negative (rectified simple-cell responses)")
    channels = simple.shape[1]
    try:
        if isinstance(window, (str, bytes)):
            raise TypeError
        windows = np.broadcast_to(np.asarray(window, dtype=float), (channels,))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"window must be a number or {channels} numbers (one per channel), "
                        f"got {window!r:.60}") from exc
    sides = np.array([window_pixels(w, pixels_per_degree) for w in windows])
    over_phase = simple.max(axis=2)
    out = np.empty_like(over_phase)
    for side in np.unique(sides):
        members = np.flatnonzero(sides == side)
        out[:, members] = ndimage.maximum_filter(
            over_phase[:, members], size=(1, 1, int(side), int(side)), mode="constant", cval=0.0
        )
    return out


def divisive_normalization(
    drive: Any,
    *,
    sigma: float = 0.05,
    exponent: float = 2.0,
    gain: float = 1.0,
    weights: Any = None,
    pool_sigma: float = 0.0,
    pixels_per_degree: float | None = None,
) -> np.ndarray:
    """Divisive normalisation (Heeger 1992; Carandini & Heeger 2012).

    ``r_i = gain * E_i**n / (sigma**n + P)`` with the normalisation pool
    ``P = sum_j w_j E_j**n`` over *all* channels at the same position, optionally
    blurred by a Gaussian of standard deviation ``pool_sigma`` degrees (the
    suppressive field extends beyond the receptive field).

    Parameters
    ----------
    drive : array_like of shape (n, channels, rows, cols)
        Non-negative drives ``E`` (rectified simple or energy responses, in contrast
        units for grating-normalised filters).
    sigma : float
        Semi-saturation constant, > 0, in the units of ``drive``.  Default 0.05:
        with the default uniform weights (a mean pool) and filters normalised to
        their optimal grating, this puts the half-saturation contrast of
        :class:`v1model.v1.V1Model`'s default cells near 0.2 (energy complex cells)
        and 0.35 (simple cells), and of a macaque-sampled population's complex cells
        near 0.16 — within the spread reported for macaque V1 (Albrecht & Hamilton
        1982) *(check: our calibration, not a fit)*.
    exponent : float
        ``n`` > 0; 2 by default (Heeger 1992).
    gain : float
        ``gain`` > 0.  At high contrast ``r_i`` approaches ``gain * E_i**n / P``: the
        gain times the channel's drive relative to the (weighted) pooled drive.
    weights : array_like of shape (channels,), optional
        Non-negative pool weights ``w``; default uniform ``1 / channels`` (the pool
        is the mean drive across channels).
    pool_sigma : float
        Standard deviation in degrees of the Gaussian spatial blur of the pool; 0
        (default) pools at each position only.  Needs ``pixels_per_degree``.
    pixels_per_degree : float, optional
        Pixels per degree of the maps (only used when ``pool_sigma > 0``).

    Returns
    -------
    ndarray of shape (n, channels, rows, cols)
        Normalised responses, >= 0 and below ``gain / w_i``; same floating dtype as
        ``drive``.  Scaling every drive by a contrast c makes them saturate:
        ``r(c) = gain * c**n E_i**n / (sigma**n + c**n P)``.

    Raises
    ------
    ValueError
        If ``drive`` is not 4-D, empty, not finite or negative; if a parameter is out
        of range; if ``weights`` has the wrong length or sums to 0; or if
        ``pool_sigma > 0`` without ``pixels_per_degree``.

    Examples
    --------
    >>> e = np.zeros((1, 2, 1, 1)); e[0, 0] = 1.0
    >>> r = divisive_normalization(e, sigma=0.5, exponent=2, weights=[1.0, 1.0])
    >>> float(r[0, 0, 0, 0])
    0.8
    """
    drive = _maps("drive", drive)
    if np.any(drive < 0):
        raise ValueError("drive must be non-negative (rectified or energy responses)")
    sigma = check_positive("sigma", sigma)
    exponent = check_range("exponent", exponent, 0.0, MAX_EXPONENT, closed="right")
    gain = check_positive("gain", gain)
    pool_sigma = check_nonnegative("pool_sigma", pool_sigma)
    if pixels_per_degree is not None:
        pixels_per_degree = check_positive("pixels_per_degree", pixels_per_degree)
    channels = drive.shape[1]
    if weights is None:
        w = np.full(channels, 1.0 / channels)
    else:
        w = check_array("weights", weights, ndim=1, shape_doc="(channels,)").astype(float)
        if len(w) != channels:
            raise ValueError(f"weights must have length {channels} (one per channel), "
                             f"got {len(w)}")
        if np.any(w < 0) or not np.any(w > 0):
            raise ValueError("weights must be non-negative with a positive sum")
    dtype = drive.dtype.type
    powered = drive ** dtype(exponent)
    pool = np.einsum("nkrc,k->nrc", powered, w.astype(drive.dtype))
    if pool_sigma > 0:
        if pixels_per_degree is None:
            raise ValueError("pool_sigma > 0 needs pixels_per_degree")
        px = pool_sigma * check_positive("pixels_per_degree", pixels_per_degree)
        pool = ndimage.gaussian_filter(pool, sigma=(0, px, px), mode="constant", cval=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        denominator = dtype(np.float64(sigma) ** exponent) + pool
        out = dtype(gain) * powered / denominator[:, None]
    _check_overflow(out, "sigma, gain and exponent")
    return out
