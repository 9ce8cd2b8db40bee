"""Orientation, phase and spatial frequency in scikit-image's and PsychoPy's conventions.

This package describes a grating as ``cos(2π · sf · x' + phase)`` with
``x' = x cos θ + y sin θ``: orientation θ in degrees is the direction of the wave
vector counter-clockwise from rightward with y pointing up (θ = 0 gives vertical
bars), phase in degrees at the grating's centre, sf in cycles per degree (see
the conventions page of the documentation).  Two widely used packages differ:

- scikit-image's :func:`skimage.filters.gabor_kernel` (and
  :func:`skimage.filters.gabor`) takes ``theta`` in radians measured in *array*
  coordinates, where y is the row index and grows downwards, so its ``theta`` is
  our θ with the sign flipped; ``frequency`` is in cycles per pixel; the real
  part of the kernel is ``cos(2π · frequency · x' + offset)`` with ``offset`` in
  radians at the kernel's centre.
- PsychoPy's ``visual.GratingStim`` (Peirce 2007, *J. Neurosci. Methods*
  162:8–13) takes ``ori`` in degrees, "like a clock: 0 is vertical, and positive
  values rotate clockwise", so ``ori`` is also our θ with the sign flipped;
  ``phase`` is in cycles and moves the bars the other way from ours (its default
  ``"sin"`` texture puts a bright bar at the centre at phase 0, as our phase 0
  does); ``sf`` is in cycles per unit of the stimulus' ``units``.

Reversing a wave vector and negating the phase give the same grating, so every
orientation has two descriptions; the functions here return orientations in
[0°, 180°) (θ in [0, π) for scikit-image) with the phase that keeps the grating
identical, in [0°, 360°), [0, 2π) or [0, 1) cycles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stimuli._shared.validation import check_array, check_choice, check_positive

__all__ = [
    "from_psychopy_grating",
    "from_skimage_gabor",
    "to_psychopy_drifting_grating",
    "to_psychopy_grating",
    "to_skimage_gabor",
]

PSYCHOPY_UNITS = ("deg", "pix")


def _values(name: str, value: Any) -> np.ndarray:
    return check_array(name, value, dtype=np.float64)


def _positive(name: str, value: Any) -> np.ndarray:
    arr = _values(name, value)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive, got {arr.min() if arr.ndim else arr}")
    return arr


def _out(value: np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(value) == 0 else value


def _canonical(direction: np.ndarray, phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cos(2π f x_d + phase)`` with the wave direction folded into [0, 180) degrees.

    Turning the wave vector by 180° flips ``x_d``, which the cosine absorbs by
    negating the phase.
    """
    direction = np.mod(direction, 360.0)
    reversed_ = direction >= 180.0
    folded = np.where(reversed_, direction - 180.0, direction)
    phase = np.mod(np.where(reversed_, -phase, phase), 360.0)
    # np.mod can return the period itself for tiny negative inputs
    return np.where(folded >= 180.0, 0.0, folded), np.where(phase >= 360.0, 0.0, phase)


def to_skimage_gabor(
    orientation: Any, sf: Any, *, phase: Any = 0.0, pixels_per_degree: float
) -> dict[str, float | np.ndarray]:
    """scikit-image ``gabor_kernel`` parameters for a grating of ours.

    ``skimage.filters.gabor_kernel(**to_skimage_gabor(θ, sf, phase=φ, ppd))`` has
    as its real part, at the kernel's centre, the carrier of
    ``stimuli.grating(display, orientation=θ, sf=sf, phase=φ)`` (under a Gaussian
    envelope), so it responds most to that grating.  Note that
    :func:`skimage.filters.gabor` *convolves* with the kernel, which mirrors it:
    the real part of its output at the grating's centre is largest for
    ``offset = -p["offset"]`` (orientation and frequency are unaffected).

    Parameters
    ----------
    orientation : float or array_like
        θ in degrees, counter-clockwise from rightward with y up (0: vertical bars).
    sf : float or array_like
        Cycles per degree, positive.
    phase : float or array_like, optional
        Degrees at the grating's centre.
    pixels_per_degree : float
        The display's resolution, to convert cycles per degree to cycles per pixel.

    Returns
    -------
    dict
        ``theta`` in radians in [0, π) (array coordinates, y down), ``frequency`` in
        cycles per pixel, ``offset`` in radians in [0, 2π); floats for scalar
        inputs, arrays broadcast from the inputs otherwise.

    Raises
    ------
    ValueError
        If a value is not finite, ``sf`` or ``pixels_per_degree`` is not positive,
        or the arrays do not broadcast.
    TypeError
        If a value is not numeric.

    Examples
    --------
    >>> p = to_skimage_gabor(30.0, 2.0, phase=90.0, pixels_per_degree=16)
    >>> round(p["theta"] * 180 / np.pi, 6), p["frequency"], round(p["offset"] * 180 / np.pi, 6)
    (150.0, 0.125, 270.0)
    """
    ppd = check_positive("pixels_per_degree", pixels_per_degree)
    theta, offset = _canonical(-_values("orientation", orientation), _values("phase", phase))
    frequency = _positive("sf", sf) / ppd
    theta, frequency, offset = np.broadcast_arrays(np.radians(theta), frequency,
                                                   np.radians(offset))
    return {"theta": _out(theta), "frequency": _out(frequency), "offset": _out(offset)}


def from_skimage_gabor(
    theta: Any, frequency: Any, *, offset: Any = 0.0, pixels_per_degree: float
) -> dict[str, float | np.ndarray]:
    """Our orientation, sf and phase for scikit-image ``gabor_kernel`` parameters.

    The inverse of :func:`to_skimage_gabor`.

    Parameters
    ----------
    theta : float or array_like
        Radians, scikit-image's convention (array coordinates, y down).
    frequency : float or array_like
        Cycles per pixel, positive.
    offset : float or array_like, optional
        Radians.
    pixels_per_degree : float

    Returns
    -------
    dict
        ``orientation`` in degrees in [0, 180), ``sf`` in cycles per degree,
        ``phase`` in degrees in [0, 360), as ``stimuli.grating`` takes them.

    Raises
    ------
    ValueError
        If a value is not finite or ``frequency`` or ``pixels_per_degree`` is not
        positive.
    TypeError
        If a value is not numeric.

    Examples
    --------
    >>> p = from_skimage_gabor(np.pi / 4, 0.1, pixels_per_degree=20)
    >>> round(p["orientation"], 6), round(p["sf"], 6), p["phase"]
    (135.0, 2.0, 0.0)
    """
    ppd = check_positive("pixels_per_degree", pixels_per_degree)
    orientation, phase = _canonical(-np.degrees(_values("theta", theta)),
                                    np.degrees(_values("offset", offset)))
    sf = _positive("frequency", frequency) * ppd
    orientation, sf, phase = np.broadcast_arrays(orientation, sf, phase)
    return {"orientation": _out(orientation), "sf": _out(sf), "phase": _out(phase)}


def _psychopy_sf_factor(units: str, pixels_per_degree: float | None) -> float:
    """Cycles per PsychoPy unit for one cycle per degree."""
    check_choice("units", units, PSYCHOPY_UNITS)
    if units == "deg":
        if pixels_per_degree is not None:
            raise ValueError("pixels_per_degree is only used with units='pix'; got units='deg'")
        return 1.0
    if pixels_per_degree is None:
        raise ValueError("units='pix' needs pixels_per_degree")
    return 1.0 / check_positive("pixels_per_degree", pixels_per_degree)


def to_psychopy_grating(
    orientation: Any, sf: Any, *, phase: Any = 0.0, units: str = "deg",
    pixels_per_degree: float | None = None,
) -> dict[str, float | np.ndarray]:
    """PsychoPy ``GratingStim`` parameters for a grating of ours.

    ``visual.GratingStim(win, tex="sin", units=units, **to_psychopy_grating(...))``
    centred where our grating is centred draws the same luminance pattern.
    PsychoPy documents ``ori`` as clockwise from vertical and ``phase`` in cycles;
    its ``"sin"`` texture evaluated at a point ``x_s`` along the stimulus' rotated
    horizontal axis is ``cos(2π · (sf · x_s - phase))``.

    Parameters
    ----------
    orientation : float or array_like
        θ in degrees, counter-clockwise from rightward with y up (0: vertical bars).
    sf : float or array_like
        Cycles per degree, positive.
    phase : float or array_like, optional
        Degrees at the grating's centre.
    units : {"deg", "pix"}
        The ``units`` of the PsychoPy stimulus; ``"pix"`` needs ``pixels_per_degree``.
        (PsychoPy's ``"norm"``, ``"height"`` and ``"cm"`` depend on the window and
        monitor, which are not known here.)
    pixels_per_degree : float, optional
        Only with ``units="pix"``.

    Returns
    -------
    dict
        ``ori`` in degrees in [0, 180), ``sf`` in cycles per ``units``, ``phase`` in
        cycles in [0, 1); floats for scalar inputs.

    Raises
    ------
    ValueError
        If a value is not finite, ``sf`` is not positive, ``units`` is unknown, or
        ``pixels_per_degree`` is missing for ``"pix"`` or given for ``"deg"``.
    TypeError
        If a value is not numeric.

    Examples
    --------
    >>> to_psychopy_grating(30.0, 2.0, phase=90.0)
    {'ori': 150.0, 'sf': 2.0, 'phase': 0.25}
    >>> to_psychopy_grating(0.0, 2.0, phase=90.0, units="pix", pixels_per_degree=40)
    {'ori': 0.0, 'sf': 0.05, 'phase': 0.75}
    """
    factor = _psychopy_sf_factor(units, pixels_per_degree)
    # PsychoPy's carrier along its own axis is cos(2π sf x_s + ψ) with ψ = -2π phase
    ori, psi = _canonical(-_values("orientation", orientation), _values("phase", phase))
    cycles = np.mod(-psi / 360.0, 1.0)
    cycles = np.where(cycles >= 1.0, 0.0, cycles)
    sf = _positive("sf", sf) * factor
    ori, sf, cycles = np.broadcast_arrays(ori, sf, cycles)
    return {"ori": _out(ori), "sf": _out(sf), "phase": _out(cycles)}


def from_psychopy_grating(
    ori: Any, sf: Any, *, phase: Any = 0.0, units: str = "deg",
    pixels_per_degree: float | None = None,
) -> dict[str, float | np.ndarray]:
    """Our orientation, sf and phase for PsychoPy ``GratingStim`` parameters.

    The inverse of :func:`to_psychopy_grating`.

    Parameters
    ----------
    ori : float or array_like
        PsychoPy's orientation: degrees clockwise from vertical.
    sf : float or array_like
        Cycles per ``units``, positive.
    phase : float or array_like, optional
        PsychoPy's phase in cycles (only the x phase of a 1-D grating).
    units : {"deg", "pix"}
    pixels_per_degree : float, optional
        Only with ``units="pix"``.

    Returns
    -------
    dict
        ``orientation`` in degrees in [0, 180), ``sf`` in cycles per degree,
        ``phase`` in degrees in [0, 360).

    Raises
    ------
    ValueError, TypeError
        As :func:`to_psychopy_grating`.

    Examples
    --------
    >>> from_psychopy_grating(45.0, 3.0, phase=0.25)
    {'orientation': 135.0, 'sf': 3.0, 'phase': 90.0}
    """
    factor = _psychopy_sf_factor(units, pixels_per_degree)
    orientation, phase_deg = _canonical(-_values("ori", ori),
                                        -360.0 * _values("phase", phase))
    sf = _positive("sf", sf) / factor
    orientation, sf, phase_deg = np.broadcast_arrays(orientation, sf, phase_deg)
    return {"orientation": _out(orientation), "sf": _out(sf), "phase": _out(phase_deg)}


def to_psychopy_drifting_grating(
    direction: Any, sf: Any, tf: Any, *, phase: Any = 0.0, units: str = "deg",
    pixels_per_degree: float | None = None,
) -> dict[str, float | np.ndarray]:
    """PsychoPy ``GratingStim`` parameters, and its phase rate, for a drifting grating of ours.

    PsychoPy drifts a grating by advancing ``phase`` every frame, which moves the
    bars along the stimulus' own rotated x axis.  A direction d is therefore not
    folded into [0, 180) as an orientation is: ``ori = (-d) mod 360``.  Draw frame
    ``k`` at ``t = k / frame_rate`` with ``stim.phase = p["phase"] + p["phase_rate"] * t``
    to show :func:`stimuli.drifting_grating` frame ``k``.

    Parameters
    ----------
    direction : float or array_like
        Direction of motion in degrees, counter-clockwise from rightward (y up).
    sf : float or array_like
        Cycles per degree, positive.
    tf : float or array_like
        Temporal frequency in Hz, >= 0.
    phase : float or array_like, optional
        Degrees at the grating's centre in frame 0.
    units : {"deg", "pix"}
        The ``units`` of the PsychoPy stimulus (see :func:`to_psychopy_grating`).
    pixels_per_degree : float, optional
        Only with ``units="pix"``.

    Returns
    -------
    dict
        ``ori`` in degrees in [0, 360), ``sf`` in cycles per ``units``, ``phase`` in
        cycles in [0, 1) at t = 0, and ``phase_rate`` in cycles per second (= tf).
        Pass the first three to ``GratingStim``.

    Raises
    ------
    ValueError
        If a value is not finite, ``sf`` is not positive, ``tf`` is negative, or
        ``units``/``pixels_per_degree`` are inconsistent.
    TypeError
        If a value is not numeric.

    Examples
    --------
    >>> to_psychopy_drifting_grating(90.0, 2.0, 4.0)   # drifting upwards
    {'ori': 270.0, 'sf': 2.0, 'phase': 0.0, 'phase_rate': 4.0}
    """
    factor = _psychopy_sf_factor(units, pixels_per_degree)
    tf = _values("tf", tf)
    if np.any(tf < 0):
        raise ValueError(f"tf must be >= 0, got {tf.min() if tf.ndim else tf}")
    ori = np.mod(-_values("direction", direction), 360.0)
    ori = np.where(ori >= 360.0, 0.0, ori)
    cycles = np.mod(-_values("phase", phase) / 360.0, 1.0)
    cycles = np.where(cycles >= 1.0, 0.0, cycles)
    sf = _positive("sf", sf) * factor
    ori, sf, cycles, tf = np.broadcast_arrays(ori, sf, cycles, tf)
    return {"ori": _out(ori), "sf": _out(sf), "phase": _out(cycles), "phase_rate": _out(tf)}
