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

The stages of the default, macaque-like :class:`v1model.v1.V1Model` (each one
switchable there):

* :func:`mix_pathways` — the simple → complex continuum (Mechler & Ringach 2002):
  a per-unit weighted sum of a half-wave rectified linear pathway and an energy
  pathway; :func:`mixture_modulation_ratio` is the F1/F0 this gives.
* :func:`pool_weights` — a normalisation pool broadly tuned in orientation and
  spatial frequency around each unit (Heeger 1992; Carandini & Heeger 2012).
* :func:`normalize` — division by that pool and by a surround pool larger in space
  than the classical receptive field (Cavanaugh, Bair & Movshon 2002's ratio of
  Gaussians).
* :func:`firing_rate` — spontaneous rate plus a gain: responses in spikes/s.
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


def mix_pathways(linear: Any, quadrature: Any, complexity: Any) -> np.ndarray:
    """The simple → complex continuum: ``(1 − c)·max(L, 0) + c·sqrt(L² + Q²)``.

    Mechler & Ringach (2002) show that a continuum of how much a cell's response
    comes from a linear (simple) or an energy (complex) mechanism, passed through
    rectification, gives the bimodal F1/F0 distribution of Skottun et al. (1991)
    without two discrete classes.  ``c = 0`` is a half-wave rectified simple cell,
    ``c = 1`` an energy complex cell (Adelson & Bergen 1985).

    Parameters
    ----------
    linear, quadrature : array_like of shape (n, units, ...)
        Linear responses of each unit's filter (phase φ) and of its quadrature
        partner (φ + 90°), the same shape, in contrast units.
    complexity : array_like of shape (units,)
        Weight of the energy pathway per unit, in [0, 1].

    Returns
    -------
    ndarray
        Same shape as ``linear``, >= 0; 1 at the peak of the optimal unit-contrast
        grating for every ``c``.

    Raises
    ------
    ValueError
        If the shapes differ, an input is empty or not finite, or a complexity lies
        outside [0, 1] or does not match axis 1.

    Examples
    --------
    >>> lin, quad = np.array([[-1.0, 0.6]]), np.array([[0.0, 0.8]])
    >>> mix_pathways(lin, quad, [0.5, 0.5]).round(3).tolist()
    [[0.5, 0.8]]
    """
    linear = check_array("linear", linear)
    quadrature = check_array("quadrature", quadrature)
    if linear.shape != quadrature.shape or linear.ndim < 2:
        raise ValueError(f"linear and quadrature must have the same shape (n, units, ...), got "
                         f"{linear.shape} and {quadrature.shape}")
    c = check_array("complexity", complexity, ndim=1, shape_doc="(units,)")
    if len(c) != linear.shape[1] or np.any((c < 0) | (c > 1)):
        raise ValueError(f"complexity must hold {linear.shape[1]} values in [0, 1] (one per "
                         f"unit), got {len(c)} in [{c.min():g}, {c.max():g}]")
    dtype = linear.dtype if np.issubdtype(linear.dtype, np.floating) else np.float64
    c = c.astype(dtype).reshape(1, -1, *(1,) * (linear.ndim - 2))
    return ((1 - c) * np.maximum(linear, 0) + c * np.sqrt(np.square(linear)
                                                          + np.square(quadrature))).astype(dtype)


def mixture_modulation_ratio(complexity: Any, exponent: float = 1.0) -> np.ndarray:
    """F1/F0 of :func:`mix_pathways` raised to ``exponent``, over the phase of the optimal grating.

    The classification of Skottun et al. (1991) applied to the model's own
    construction: a unit with ratio > 1 is simple, < 1 complex.  Computed on 360
    phases of a drifting (or phase-stepped) optimal grating, before normalisation
    and without spontaneous rate.

    Parameters
    ----------
    complexity : array_like
        Energy-pathway weights in [0, 1].
    exponent : float
        Power applied to the mixed response (the normalisation exponent), > 0.

    Returns
    -------
    ndarray
        Same shape as ``complexity``: π/2 for ``c = 0, exponent = 1`` (a half-wave
        rectified sinusoid), 0 for ``c = 1``.

    Raises
    ------
    ValueError
        If a complexity lies outside [0, 1] or the exponent is not positive.

    Examples
    --------
    >>> mixture_modulation_ratio([0.0, 1.0]).round(4).tolist()
    [1.5708, 0.0]
    """
    c = check_array("complexity", complexity, dtype=np.float64)
    if not np.all(np.isfinite(c)) or np.any((c < 0) | (c > 1)):
        raise ValueError("complexity must hold values in [0, 1]")
    exponent = check_positive("exponent", exponent)
    psi = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)
    r = ((1 - c[..., None]) * np.maximum(np.cos(psi), 0) + c[..., None]) ** exponent
    f0 = r.mean(axis=-1)
    f1 = 2 * np.abs((r * np.exp(1j * psi)).mean(axis=-1))
    return np.where(f0 > 0, f1 / np.where(f0 > 0, f0, 1.0), 0.0)


def pool_weights(
    orientation: Any,
    sf: Any,
    pool_orientation: Any,
    pool_sf: Any,
    *,
    orientation_width: float,
    sf_width: float,
) -> np.ndarray:
    """Each unit's weights over the normalisation-pool channels, broadly tuned around it.

    ``w_ij ∝ exp(−d(θ_i, θ_j)² / 2σ_θ² − log2(f_i / f_j)² / 2σ_f²)`` with ``d`` the
    orientation difference on the 180° circle, each row summing to 1: a pool that
    favours the unit's own orientation and frequency but spans many (Heeger 1992;
    Carandini & Heeger 2012).  A width of ``inf`` gives an untuned pool along that
    axis.

    Parameters
    ----------
    orientation, sf : array_like of shape (units,)
        The units' preferred orientation (deg) and sf (c/deg).
    pool_orientation, pool_sf : array_like of shape (channels,)
        The pool channels' orientation (deg) and sf (c/deg).
    orientation_width : float
        σ_θ in degrees, > 0 (``inf`` allowed).
    sf_width : float
        σ_f in octaves, > 0 (``inf`` allowed).

    Returns
    -------
    ndarray of shape (units, channels), float64
        Non-negative rows summing to 1.

    Raises
    ------
    ValueError
        If lengths differ or a width is not positive.

    Examples
    --------
    >>> w = pool_weights([0.0], [2.0], [0.0, 90.0], [2.0, 2.0], orientation_width=45.0,
    ...                  sf_width=1.0)
    >>> w.round(3).tolist()
    [[0.881, 0.119]]
    """
    theta = check_array("orientation", orientation, ndim=1, shape_doc="(units,)",
                        dtype=np.float64)
    f = check_array("sf", sf, ndim=1, shape_doc="(units,)", dtype=np.float64)
    pool_theta = check_array("pool_orientation", pool_orientation, ndim=1,
                             shape_doc="(channels,)", dtype=np.float64)
    pool_f = check_array("pool_sf", pool_sf, ndim=1, shape_doc="(channels,)", dtype=np.float64)
    if len(theta) != len(f) or len(pool_theta) != len(pool_f):
        raise ValueError("orientation and sf (and pool_orientation and pool_sf) must have "
                         "equal lengths")
    if np.any(f <= 0) or np.any(pool_f <= 0):
        raise ValueError("sf and pool_sf must be positive")
    widths = []
    for name, value in (("orientation_width", orientation_width), ("sf_width", sf_width)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise TypeError(f"{name} must be a number (degrees or octaves; inf for an "
                            f"untuned pool), got {value!r:.60}")
        value = float(value)
        if not value > 0:
            raise ValueError(f"{name} must be positive (inf for an untuned pool), got {value}")
        widths.append(value)
    d_theta = (theta[:, None] - pool_theta[None, :] + 90.0) % 180.0 - 90.0
    d_octave = np.log2(f[:, None] / pool_f[None, :])
    log_w = -0.5 * ((d_theta / widths[0]) ** 2 + (d_octave / widths[1]) ** 2)
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def normalize(
    drive: Any,
    *,
    classical: Any = None,
    surround: Any = None,
    sigma: float = 0.1,
    exponent: float = 2.0,
    surround_weight: float = 1.0,
) -> np.ndarray:
    """Divisive normalisation by a classical pool and a spatially larger surround pool.

    With a classical pool ``P`` (Heeger 1992; Carandini & Heeger 2012):

    ``r = (1 + σⁿ) · dⁿ / (σⁿ + P + w_s·S)``

    and without one (only surround suppression, Cavanaugh et al. 2002's ratio of
    Gaussians ``R = L_c / (1 + k_s L_s)``):

    ``r = dⁿ / (1 + w_s·S)``;

    without either, ``r = dⁿ``.  ``d`` is the unit's drive (e.g. from
    :func:`mix_pathways`), ``P`` and ``S`` are already raised to the power ``n``
    (pooled energies).  The factor ``1 + σⁿ`` makes a unit whose pool equals its
    own drive respond 1 to its optimal unit-contrast grating.

    Parameters
    ----------
    drive : array_like of shape (n, units, ...)
        Non-negative drives, in contrast units.
    classical, surround : array_like of the same shape, optional
        Non-negative pooled energies (power ``n``) from the classical receptive field
        and from the surround; None switches a pool off.
    sigma : float
        Semi-saturation contrast, > 0.
    exponent : float
        ``n`` > 0 (2 = Heeger's half-squaring).
    surround_weight : float
        ``w_s`` >= 0.

    Returns
    -------
    ndarray
        Same shape as ``drive``, >= 0.

    Raises
    ------
    ValueError
        If shapes differ, an input is negative or not finite, or a parameter is out of
        range.

    Examples
    --------
    >>> d = np.array([[1.0]])
    >>> float(normalize(d, classical=d, sigma=0.5, exponent=2)[0, 0])
    1.0
    >>> float(normalize(d, surround=np.array([[1.0]]), surround_weight=1.0)[0, 0])
    0.5
    """
    drive = check_array("drive", drive)
    sigma = check_positive("sigma", sigma)
    exponent = check_positive("exponent", exponent)
    with np.errstate(over="ignore"):
        finite = bool(np.isfinite(np.float64(sigma) ** exponent))
    if not finite:
        raise ValueError(f"sigma ** exponent must be finite, got sigma={sigma:g}, "
                         f"exponent={exponent:g}")
    surround_weight = check_nonnegative("surround_weight", surround_weight)
    pools = {}
    for name, pool in (("drive", drive), ("classical", classical), ("surround", surround)):
        if pool is None:
            continue
        pool = check_array(name, pool)
        if pool.shape != drive.shape:
            raise ValueError(f"{name} must have the shape of drive {drive.shape}, got "
                             f"{pool.shape}")
        if np.any(pool < 0):
            raise ValueError(f"{name} must be non-negative")
        pools[name] = pool
    dtype = drive.dtype.type if np.issubdtype(drive.dtype, np.floating) else np.float64
    powered = drive.astype(dtype) ** dtype(exponent)
    s_term = 0 if surround is None else dtype(surround_weight) * pools["surround"]
    if classical is None:
        return powered / (1 + s_term)
    s_n = dtype(sigma ** exponent)
    return (1 + s_n) * powered / (s_n + pools["classical"] + s_term)


def firing_rate(response: Any, *, spontaneous: float, gain: float) -> np.ndarray:
    """Responses mapped to spikes/s: ``spontaneous + gain · response``.

    Parameters
    ----------
    response : array_like
        Non-negative normalised responses (1 ≈ the optimal unit-contrast grating).
    spontaneous : float
        Maintained discharge to a blank screen in spikes/s, >= 0.
    gain : float
        Spikes/s per unit of response, > 0.

    Returns
    -------
    ndarray
        Same shape, in spikes/s.

    Raises
    ------
    ValueError
        If a parameter is out of range or the response is negative or not finite.

    Examples
    --------
    >>> firing_rate(np.array([0.0, 1.0]), spontaneous=2.0, gain=40.0).tolist()
    [2.0, 42.0]
    """
    response = check_array("response", response)
    if np.any(response < 0):
        raise ValueError("response must be non-negative")
    spontaneous = check_nonnegative("spontaneous", spontaneous)
    gain = check_positive("gain", gain)
    dtype = response.dtype.type if np.issubdtype(response.dtype, np.floating) else np.float64
    return dtype(spontaneous) + dtype(gain) * response.astype(dtype)
