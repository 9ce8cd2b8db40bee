"""Stimulus protocols: a stimulus set plus its condition table, generated lazily.

A :class:`Protocol` holds a condition table (one row per stimulus; column names
and units as everywhere in the package: ``orientation`` and ``phase`` in degrees,
``sf`` in c/deg, ``tf`` in Hz, ``radius`` in degrees with ``inf`` for full field, ...)
and a function that renders one row.  Stimuli are made only when asked for, one
batch at a time, so even protocols of thousands of movies never sit in memory.

The protocol functions below take the display first and everything else as
keywords; their defaults follow the studies named below: Marques, Schrimpf &
DiCarlo 2021 (the Brain-Score V1 benchmarks, bioRxiv 2021.03.01.433495),
Cavanaugh, Bair & Movshon 2002 (J Neurophysiol 88:2530) and the Allen Brain
Observatory's visual coding protocols (de Vries et al. 2020, Nat Neurosci 23:138):

======================  ============================================================
orientation_tuning      orientation × phase × sf, full contrast (Marques et al. 2021)
sf_tuning               sf × orientation × phase, 22 log2-spaced sfs (Marques 2021)
contrast_response       contrast × phase at one orientation and sf
size_tuning             aperture radius × phase (Marques 2021; Cavanaugh et al. 2002)
annulus_tuning          inner radius of an annulus × phase (surround stimuli)
drifting_gratings       direction × tf movies (Allen Brain Observatory)
static_gratings         orientation × sf × phase, 6 × 5 × 4 (Allen Brain Observatory)
rf_mapping              small gratings or single sparse-noise squares on a grid
white_noise_sequence    n white-noise images, each from its own seed
======================  ============================================================

:func:`list_protocols` returns them by name.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from stimuli._protocol import (
    Protocol,
    _angles,
    _center,
    _default_sf,
    _default_sfs,
    _full,
    _grid,
    _none_if_inf,
    _product,
    _radius,
    _sf,
    _sfs,
    _values,
)
from stimuli._shared.io import jsonable
from stimuli._shared.validation import (
    as_rng,
    check_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_range,
)
from stimuli.display import Display, check_display
from stimuli.gratings import drifting_grating, grating
from stimuli.image_protocols import blank_screen, concatenate, image_set, texture_families
from stimuli.noise import NOISE_KINDS, white_noise
from stimuli.resources import MAX_IMAGES
from stimuli.table import Table

__all__ = [
    "ALLEN_SFS",
    "ALLEN_TFS",
    "MARQUES_DIAMETERS",
    "MARQUES_SFS",
    "Protocol",
    "annulus_tuning",
    "blank_screen",
    "concatenate",
    "contrast_response",
    "drifting_gratings",
    "image_set",
    "list_protocols",
    "orientation_tuning",
    "rf_mapping",
    "sf_tuning",
    "size_tuning",
    "static_gratings",
    "texture_families",
    "white_noise_sequence",
]

#: Marques et al. 2021 (Brain-Score V1): 22 spatial frequencies, log2-spaced, in c/deg.
MARQUES_SFS: tuple[float, ...] = tuple(float(v) for v in np.geomspace(0.39, 14.7, 22))
#: Marques et al. 2021: 12 grating diameters 0.2–9.5 degrees, log-spaced.
MARQUES_DIAMETERS: tuple[float, ...] = tuple(float(v) for v in np.geomspace(0.2, 9.5, 12))
#: Allen Brain Observatory drifting gratings: temporal frequencies in Hz.
ALLEN_TFS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0)
#: Allen Brain Observatory static gratings: spatial frequencies in c/deg (mouse).
ALLEN_SFS: tuple[float, ...] = (0.02, 0.04, 0.08, 0.16, 0.32)

_ORIENTATIONS_15 = tuple(float(v) for v in range(0, 180, 15))
_PHASES_45 = tuple(float(v) for v in range(0, 360, 45))
_DIRECTIONS_45 = tuple(float(v) for v in range(0, 360, 45))
_CONTRASTS = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0)


# ============================================================================ renderers
# Module-level functions (used through functools.partial) so protocols pickle.

def _grating_row(display: Display, row: dict[str, Any], *, waveform: str,
                 edge_width: float) -> np.ndarray:
    radius = row.get("radius", math.inf)
    inner = row.get("inner_radius", 0.0)
    return grating(
        display,
        orientation=row["orientation"],
        sf=row["sf"],
        phase=row["phase"],
        contrast=row["contrast"],
        waveform=waveform,
        center=(row.get("x", 0.0), row.get("y", 0.0)),
        radius=None if math.isinf(radius) else radius,
        edge_width=edge_width,
        inner_radius=inner if inner > 0 else None,
    )


def _drifting_row(display: Display, row: dict[str, Any], *, waveform: str,
                  edge_width: float) -> np.ndarray:
    radius = row["radius"]
    return drifting_grating(
        display,
        direction=row["direction"],
        sf=row["sf"],
        tf=row["tf"],
        duration=row["duration"],
        phase=row["phase"],
        contrast=row["contrast"],
        waveform=waveform,
        center=(row.get("x", 0.0), row.get("y", 0.0)),
        radius=None if math.isinf(radius) else radius,
        edge_width=edge_width,
    )


def _square_row(display: Display, row: dict[str, Any], *, size: float) -> np.ndarray:
    """A light (+1) or dark (-1) square of side ``size`` degrees at ``(x, y)``.

    Pixels whose centres lie within half a side of the square's centre (inclusive
    on the left/top, exclusive on the right/bottom) take ``polarity · contrast``.
    """
    x, y = display.coordinates()
    half = size / 2
    inside = ((x >= row["x"] - half) & (x < row["x"] + half)
              & (y <= row["y"] + half) & (y > row["y"] - half))
    return np.where(inside, row["polarity"] * row["contrast"], 0.0).astype(np.float32)


def _white_noise_row(display: Display, row: dict[str, Any], *, kind: str,
                     check_size: float | None) -> np.ndarray:
    rng = np.random.default_rng(int(row["seed"]))
    return white_noise(display, 1, kind=kind, contrast=row["contrast"], check_size=check_size,
                       rng=rng)[0]


# ============================================================================ protocols

def orientation_tuning(
    display: Display,
    *,
    orientations: Sequence[float] = _ORIENTATIONS_15,
    phases: Sequence[float] = _PHASES_45,
    sfs: Sequence[float] | None = None,
    contrast: float = 1.0,
    radius: float | None = None,
    waveform: str = "sine",
) -> Protocol:
    """Orientation tuning: static gratings, orientation × phase × sf.

    The layout of Marques, Schrimpf & DiCarlo (2021, Brain-Score V1): full-contrast
    gratings at 12 orientations (0–165° in 15° steps) and 8 phases (0–315° in 45°
    steps), so F0 and F1 can be taken over phase.

    Parameters
    ----------
    display : Display
        The screen.
    orientations : sequence of float
        Degrees in [0, 180); default 0, 15, ..., 165.
    phases : sequence of float
        Degrees in [0, 360); default 0, 45, ..., 315.
    sfs : sequence of float, optional
        Spatial frequencies in c/deg, each at most ``display.nyquist_cpd``.  Default:
        those of 1, 2 and 4 c/deg (around the macaque median peak of 2.8 c/deg,
        De Valois, Albrecht & Thorell 1982) below the display's Nyquist frequency,
        or half the Nyquist frequency if none is.
    contrast : float
        Michelson contrast in [0, 1]; default 1 (full contrast, as Marques et al.).
    radius : float, optional
        Aperture radius in degrees centred on the display; default full field.
    waveform : {"sine", "square"}
        Grating profile.

    Returns
    -------
    Protocol
        Kind ``"image"``, ``len(orientations) · len(phases) · len(sfs)`` stimuli in
        the order of ``itertools.product(orientations, phases, sfs)`` (sf fastest);
        columns ``orientation``, ``phase``, ``sf``, ``contrast``, ``radius`` (``inf``
        for full field).

    Raises
    ------
    ValueError
        If an angle is out of range, an sf exceeds the Nyquist frequency, contrast
        is outside [0, 1], a radius is not positive, or a sequence is empty.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> p = orientation_tuning(Display((32, 32), pixels_per_degree=8))
    >>> len(p), p.params["sfs"]
    (192, [1.0, 2.0])
    """
    display = check_display(display)
    orientations = _angles("orientations", orientations, 180.0)
    phases = _angles("phases", phases, 360.0)
    sfs = _default_sfs(display, (1.0, 2.0, 4.0)) if sfs is None else _sfs(display, "sfs", sfs)
    contrast = check_range("contrast", contrast, 0.0, 1.0)
    radius = _radius("radius", radius)
    waveform = check_choice("waveform", waveform, ("sine", "square"))
    conditions = _product(("orientation", orientations), ("phase", phases), ("sf", sfs))
    conditions = conditions.with_columns(contrast=_full(conditions, contrast),
                                         radius=_full(conditions, radius))
    params = dict(orientations=orientations, phases=phases, sfs=sfs, contrast=contrast,
                  radius=_none_if_inf(radius), waveform=waveform)
    return Protocol("orientation_tuning", display, conditions,
                    functools.partial(_grating_row, waveform=waveform, edge_width=0.0),
                    params=jsonable(params))


def sf_tuning(
    display: Display,
    *,
    sfs: Sequence[float] | None = None,
    orientations: Sequence[float] = _ORIENTATIONS_15,
    phases: Sequence[float] = _PHASES_45,
    contrast: float = 1.0,
    radius: float | None = None,
    waveform: str = "sine",
) -> Protocol:
    """Spatial-frequency tuning: static gratings, sf × orientation × phase.

    Marques et al. (2021) use 22 spatial frequencies from 0.39 to 14.7 c/deg spaced
    evenly in log2 (:data:`MARQUES_SFS`), at every orientation and phase, so each
    unit's tuning can be read at its preferred orientation.

    Parameters
    ----------
    display : Display
        The screen.
    sfs : sequence of float, optional
        Spatial frequencies in c/deg.  Requested values above the display's Nyquist
        frequency raise (they would alias) rather than being dropped.  Default: the
        values of :data:`MARQUES_SFS` below ``display.nyquist_cpd`` (all 22 need at
        least 29.4 pixels per degree); frequencies close to Nyquist are coarsely
        sampled, so read the top of the curve with care.
    orientations : sequence of float
        Degrees in [0, 180); default 0, 15, ..., 165.
    phases : sequence of float
        Degrees in [0, 360); default 0, 45, ..., 315.
    contrast : float
        Michelson contrast in [0, 1]; default 1.
    radius : float, optional
        Aperture radius in degrees; default full field.
    waveform : {"sine", "square"}
        Grating profile.

    Returns
    -------
    Protocol
        Kind ``"image"``, rows ordered as ``itertools.product(sfs, orientations,
        phases)``; columns ``sf``, ``orientation``, ``phase``, ``contrast``, ``radius``.

    Raises
    ------
    ValueError
        If an sf exceeds the display's Nyquist frequency (the message names
        ``sfs``), the display is too coarse for any default sf, or another
        argument is out of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> p = sf_tuning(Display((32, 32), pixels_per_degree=8), orientations=(0.0,))
    >>> len(p.params["sfs"]), round(max(p.params["sfs"]), 2)
    (14, 3.69)
    """
    display = check_display(display)
    if sfs is None:
        sfs = [f for f in MARQUES_SFS if f < display.nyquist_cpd]
        if not sfs:
            raise ValueError(
                f"sfs: no default spatial frequency ({MARQUES_SFS[0]:.2f}-{MARQUES_SFS[-1]:.1f} "
                f"c/deg) lies below the display's Nyquist frequency "
                f"{display.nyquist_cpd:g} c/deg; pass sfs explicitly"
            )
    sfs = _sfs(display, "sfs", sfs)
    orientations = _angles("orientations", orientations, 180.0)
    phases = _angles("phases", phases, 360.0)
    contrast = check_range("contrast", contrast, 0.0, 1.0)
    radius = _radius("radius", radius)
    waveform = check_choice("waveform", waveform, ("sine", "square"))
    conditions = _product(("sf", sfs), ("orientation", orientations), ("phase", phases))
    conditions = conditions.with_columns(contrast=_full(conditions, contrast),
                                         radius=_full(conditions, radius))
    params = dict(sfs=sfs, orientations=orientations, phases=phases, contrast=contrast,
                  radius=_none_if_inf(radius), waveform=waveform)
    return Protocol("sf_tuning", display, conditions,
                    functools.partial(_grating_row, waveform=waveform, edge_width=0.0),
                    params=jsonable(params))


def contrast_response(
    display: Display,
    *,
    contrasts: Sequence[float] = _CONTRASTS,
    orientation: float = 0.0,
    sf: float | None = None,
    phases: Sequence[float] = _PHASES_45,
    radius: float | None = None,
    waveform: str = "sine",
) -> Protocol:
    """Contrast response: gratings of one orientation and sf at several contrasts.

    Parameters
    ----------
    display : Display
        The screen.
    contrasts : sequence of float
        Michelson contrasts in [0, 1]; default 0 (blank) and 0.01 to 1 in octaves
        (0.01, 0.02, ..., 0.64, 1).
    orientation : float
        Degrees in [0, 180); default 0 (vertical bars).
    sf : float, optional
        c/deg; default 2 c/deg (near the macaque median peak, De Valois et al.
        1982), or half the Nyquist frequency on displays too coarse for it.
    phases : sequence of float
        Degrees in [0, 360); default 0, 45, ..., 315.
    radius : float, optional
        Aperture radius in degrees; default full field.
    waveform : {"sine", "square"}
        Grating profile.

    Returns
    -------
    Protocol
        Kind ``"image"``, rows ordered as ``itertools.product(contrasts, phases)``;
        columns ``contrast``, ``phase``, ``orientation``, ``sf``, ``radius``.

    Raises
    ------
    ValueError
        If a contrast is outside [0, 1], ``sf`` exceeds the Nyquist frequency, or
        another argument is out of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> p = contrast_response(Display((32, 32), pixels_per_degree=8), phases=(0.0, 180.0))
    >>> len(p), p.conditions["contrast"][:4].tolist()
    (18, [0.0, 0.0, 0.01, 0.01])
    """
    display = check_display(display)
    contrasts = _values("contrasts", contrasts, low=0.0, high=1.0)
    orientation = check_range("orientation", orientation, 0.0, 180.0, closed="left")
    sf = _default_sf(display) if sf is None else _sf(display, "sf", sf)
    phases = _angles("phases", phases, 360.0)
    radius = _radius("radius", radius)
    waveform = check_choice("waveform", waveform, ("sine", "square"))
    conditions = _product(("contrast", contrasts), ("phase", phases))
    conditions = conditions.with_columns(orientation=_full(conditions, orientation),
                                         sf=_full(conditions, sf),
                                         radius=_full(conditions, radius))
    params = dict(contrasts=contrasts, orientation=orientation, sf=sf, phases=phases,
                  radius=_none_if_inf(radius), waveform=waveform)
    return Protocol("contrast_response", display, conditions,
                    functools.partial(_grating_row, waveform=waveform, edge_width=0.0),
                    params=jsonable(params))


def size_tuning(
    display: Display,
    *,
    radii: Sequence[float] | None = None,
    orientation: float = 0.0,
    sf: float | None = None,
    phases: Sequence[float] = _PHASES_45,
    contrast: float = 1.0,
    center: Sequence[float] = (0.0, 0.0),
    edge_width: float = 0.0,
    waveform: str = "sine",
) -> Protocol:
    """Size tuning (area summation): gratings in circular apertures of growing radius.

    Marques et al. (2021) use 12 grating sizes from 0.2 to 9.5 degrees; Cavanaugh,
    Bair & Movshon (2002) read the surround suppression index and the grating
    summation field from such curves.

    Parameters
    ----------
    display : Display
        The screen.
    radii : sequence of float, optional
        Aperture radii in degrees (> 0; ``inf`` for full field).  Default: Marques'
        12 log-spaced diameters 0.2–9.5° halved (radii 0.1–4.75°), keeping those
        of at least one pixel and at most the display's half-diagonal (a larger
        aperture shows the same full-field image).
    orientation : float
        Degrees in [0, 180); default 0.
    sf : float, optional
        c/deg; default 2 c/deg or half the Nyquist frequency on coarse displays.
    phases : sequence of float
        Degrees in [0, 360); default 0, 45, ..., 315.
    contrast : float
        Michelson contrast in [0, 1]; default 1.
    center : (float, float)
        Aperture centre ``(x, y)`` in degrees; default the display centre.
    edge_width : float
        Raised-cosine edge width in degrees (0, the default, is a hard edge); at
        most twice the smallest radius.
    waveform : {"sine", "square"}
        Grating profile.

    Returns
    -------
    Protocol
        Kind ``"image"``, rows ordered as ``itertools.product(radii, phases)``;
        columns ``radius``, ``phase``, ``orientation``, ``sf``, ``contrast``, ``x``,
        ``y``.

    Raises
    ------
    ValueError
        If a radius is not positive, ``edge_width`` exceeds twice the smallest
        radius, ``sf`` exceeds the Nyquist frequency, or another argument is out
        of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> p = size_tuning(Display((32, 32), pixels_per_degree=8), phases=(0.0,))
    >>> [round(r, 2) for r in p.params["radii"]]
    [0.14, 0.2, 0.29, 0.41, 0.58, 0.82, 1.17, 1.66, 2.35]
    """
    display = check_display(display)
    if radii is None:
        half_diagonal = math.hypot(*display.size_degrees) / 2
        radii = [d / 2 for d in MARQUES_DIAMETERS
                 if 1 / display.pixels_per_degree <= d / 2 <= half_diagonal]
    radii = _values("radii", radii, positive=True, allow_inf=True)
    orientation = check_range("orientation", orientation, 0.0, 180.0, closed="left")
    sf = _default_sf(display) if sf is None else _sf(display, "sf", sf)
    phases = _angles("phases", phases, 360.0)
    contrast = check_range("contrast", contrast, 0.0, 1.0)
    x, y = _center(center)
    edge_width = check_nonnegative("edge_width", edge_width)
    if edge_width > 2 * min(radii):
        raise ValueError(
            f"edge_width must be at most twice the smallest radius ({2 * min(radii):g} deg), "
            f"got {edge_width}"
        )
    waveform = check_choice("waveform", waveform, ("sine", "square"))
    conditions = _product(("radius", radii), ("phase", phases))
    conditions = conditions.with_columns(
        orientation=_full(conditions, orientation), sf=_full(conditions, sf),
        contrast=_full(conditions, contrast), x=_full(conditions, x), y=_full(conditions, y))
    params = dict(radii=[_none_if_inf(r) for r in radii], orientation=orientation, sf=sf,
                  phases=phases, contrast=contrast, center=[x, y], edge_width=edge_width,
                  waveform=waveform)
    return Protocol("size_tuning", display, conditions,
                    functools.partial(_grating_row, waveform=waveform, edge_width=edge_width),
                    params=jsonable(params))


def annulus_tuning(
    display: Display,
    *,
    inner_radii: Sequence[float] | None = None,
    outer_radius: float | None = None,
    orientation: float = 0.0,
    sf: float | None = None,
    phases: Sequence[float] = _PHASES_45,
    contrast: float = 1.0,
    center: Sequence[float] = (0.0, 0.0),
    edge_width: float = 0.0,
    waveform: str = "sine",
) -> Protocol:
    """Surround stimuli: annular gratings whose hole grows (Cavanaugh et al. 2002).

    A unit driven only by its classical receptive field stops responding once the
    hole covers it; responses beyond that come from the surround.

    Parameters
    ----------
    display : Display
        The screen.
    inner_radii : sequence of float, optional
        Radii of the central hole in degrees (> 0).  Default: the radii of
        :func:`size_tuning` smaller than the outer radius by at least one pixel.
    outer_radius : float, optional
        Outer radius in degrees; default full field (``inf``).
    orientation, sf, phases, contrast, center, edge_width, waveform
        As in :func:`size_tuning`.

    Returns
    -------
    Protocol
        Kind ``"image"``, rows ordered as ``itertools.product(inner_radii, phases)``;
        columns ``inner_radius``, ``phase``, ``radius`` (the outer radius),
        ``orientation``, ``sf``, ``contrast``, ``x``, ``y``.

    Raises
    ------
    ValueError
        If an inner radius is not positive or not smaller than the outer radius by
        at least ``edge_width``, or another argument is out of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> p = annulus_tuning(Display((32, 32), pixels_per_degree=8), inner_radii=(0.5, 1.0),
    ...                    phases=(0.0,))
    >>> p.conditions["inner_radius"].tolist(), p.conditions["radius"].tolist()
    ([0.5, 1.0], [inf, inf])
    """
    display = check_display(display)
    outer = _radius("outer_radius", outer_radius)
    edge_width = check_nonnegative("edge_width", edge_width)
    if inner_radii is None:
        half_diagonal = math.hypot(*display.size_degrees) / 2
        px = 1 / display.pixels_per_degree
        inner_radii = [d / 2 for d in MARQUES_DIAMETERS
                       if px <= d / 2 <= min(half_diagonal, outer - max(px, edge_width))]
    inner_radii = _values("inner_radii", inner_radii, positive=True)
    if max(inner_radii) >= outer or outer - max(inner_radii) < edge_width:
        raise ValueError(
            f"inner_radii must be smaller than outer_radius ({outer:g} deg) by at least "
            f"edge_width ({edge_width:g} deg), got {max(inner_radii):g}"
        )
    if edge_width > 2 * min(inner_radii):
        raise ValueError(
            f"edge_width must be at most twice the smallest inner radius "
            f"({2 * min(inner_radii):g} deg), got {edge_width}"
        )
    orientation = check_range("orientation", orientation, 0.0, 180.0, closed="left")
    sf = _default_sf(display) if sf is None else _sf(display, "sf", sf)
    phases = _angles("phases", phases, 360.0)
    contrast = check_range("contrast", contrast, 0.0, 1.0)
    x, y = _center(center)
    waveform = check_choice("waveform", waveform, ("sine", "square"))
    conditions = _product(("inner_radius", inner_radii), ("phase", phases))
    conditions = conditions.with_columns(
        radius=_full(conditions, outer), orientation=_full(conditions, orientation),
        sf=_full(conditions, sf), contrast=_full(conditions, contrast),
        x=_full(conditions, x), y=_full(conditions, y))
    params = dict(inner_radii=inner_radii, outer_radius=_none_if_inf(outer),
                  orientation=orientation, sf=sf, phases=phases, contrast=contrast,
                  center=[x, y], edge_width=edge_width, waveform=waveform)
    return Protocol("annulus_tuning", display, conditions,
                    functools.partial(_grating_row, waveform=waveform, edge_width=edge_width),
                    params=jsonable(params))


def drifting_gratings(
    display: Display,
    *,
    directions: Sequence[float] = _DIRECTIONS_45,
    tfs: Sequence[float] = (2.0,),
    sf: float | None = None,
    duration: float = 2.0,
    contrast: float = 1.0,
    phase: float = 0.0,
    radius: float | None = None,
    waveform: str = "sine",
) -> Protocol:
    """Drifting gratings as movies, direction × temporal frequency (Allen-style).

    The Allen Brain Observatory shows 8 directions (45° steps) × 5 temporal
    frequencies (1, 2, 4, 8, 15 Hz, :data:`ALLEN_TFS`) for 2 s each.  The default
    here keeps the 8 directions and 2 s but only 2 Hz, so the protocol is light
    enough for the spiking model (8 movies); pass ``tfs=ALLEN_TFS`` for the full
    set.  The Allen sf (0.04 c/deg) suits mouse; the default here suits macaque.

    Parameters
    ----------
    display : Display
        The screen; ``display.frame_rate`` sets the time step.
    directions : sequence of float
        Directions of motion in degrees in [0, 360); default 0, 45, ..., 315.
    tfs : sequence of float
        Temporal frequencies in Hz, each > 0 and below ``frame_rate / 2``; default
        (2,).
    sf : float, optional
        c/deg; default 2 c/deg or half the Nyquist frequency on coarse displays.
    duration : float
        Seconds per movie (``round(duration · frame_rate)`` frames); default 2.
    contrast : float
        Michelson contrast in [0, 1]; default 1.
    phase : float
        Spatial phase in degrees at frame 0, in [0, 360); default 0.
    radius : float, optional
        Aperture radius in degrees; default full field.
    waveform : {"sine", "square"}
        Grating profile.

    Returns
    -------
    Protocol
        Kind ``"movie"``, stimuli ``(frames, rows, cols)``, rows ordered as
        ``itertools.product(directions, tfs)``; columns ``direction``, ``tf``,
        ``orientation`` (``direction mod 180``), ``sf``, ``phase``, ``contrast``,
        ``duration``, ``radius``.

    Raises
    ------
    ValueError
        If a tf is not below half the frame rate (the message names ``tfs``), the
        duration is shorter than a frame, or another argument is out of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> d = Display((16, 16), pixels_per_degree=8, frame_rate=30)
    >>> p = drifting_gratings(d, duration=0.5)
    >>> len(p), p.kind, p.stimuli([0]).shape
    (8, 'movie', (1, 15, 16, 16))
    """
    display = check_display(display)
    directions = _angles("directions", directions, 360.0)
    tfs = _values("tfs", tfs, positive=True)
    limit = display.frame_rate / 2
    if max(tfs) >= limit:
        raise ValueError(
            f"tfs must be below half the frame rate ({limit:g} Hz at "
            f"{display.frame_rate:g} frames/s) to avoid temporal aliasing, got {max(tfs):g}"
        )
    sf = _default_sf(display) if sf is None else _sf(display, "sf", sf)
    n_frames = display.n_frames(duration)
    duration = float(duration)
    contrast = check_range("contrast", contrast, 0.0, 1.0)
    phase = check_range("phase", phase, 0.0, 360.0, closed="left")
    radius = _radius("radius", radius)
    waveform = check_choice("waveform", waveform, ("sine", "square"))
    conditions = _product(("direction", directions), ("tf", tfs))
    conditions = conditions.with_columns(
        orientation=np.mod(conditions["direction"], 180.0), sf=_full(conditions, sf),
        phase=_full(conditions, phase), contrast=_full(conditions, contrast),
        duration=_full(conditions, duration), radius=_full(conditions, radius))
    params = dict(directions=directions, tfs=tfs, sf=sf, duration=duration, contrast=contrast,
                  phase=phase, radius=_none_if_inf(radius), waveform=waveform)
    return Protocol("drifting_gratings", display, conditions,
                    functools.partial(_drifting_row, waveform=waveform, edge_width=0.0),
                    params=jsonable(params), kind="movie",
                    stimulus_shape=(n_frames, *display.shape))


def static_gratings(
    display: Display,
    *,
    orientations: Sequence[float] = tuple(float(v) for v in range(0, 180, 30)),
    sfs: Sequence[float] = ALLEN_SFS,
    phases: Sequence[float] = (0.0, 90.0, 180.0, 270.0),
    contrast: float = 0.8,
    waveform: str = "sine",
) -> Protocol:
    """Allen Brain Observatory static gratings: 6 orientations × 5 sfs × 4 phases.

    The Allen spatial frequencies, 0.02–0.32 c/deg (:data:`ALLEN_SFS`), are chosen for
    mouse V1; they are far below the preferred frequencies of macaque V1 cells
    (median ≈ 2.8 c/deg), and on a small display the lowest show less than a cycle.
    Use :func:`sf_tuning` for macaque-range frequencies.

    Parameters
    ----------
    display : Display
        The screen.
    orientations : sequence of float
        Degrees in [0, 180); default 0, 30, ..., 150.
    sfs : sequence of float
        c/deg, at most the Nyquist frequency; default 0.02, 0.04, 0.08, 0.16, 0.32.
    phases : sequence of float
        Degrees in [0, 360); default 0, 90, 180, 270 (Allen's 0, 0.25, 0.5, 0.75
        cycles).
    contrast : float
        Michelson contrast in [0, 1]; default 0.8, the Allen value *(check)*.
    waveform : {"sine", "square"}
        Grating profile.

    Returns
    -------
    Protocol
        Kind ``"image"``, rows ordered as ``itertools.product(orientations, sfs,
        phases)``; columns ``orientation``, ``sf``, ``phase``, ``contrast``,
        ``radius``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> len(static_gratings(Display((16, 16), pixels_per_degree=4)))
    120
    """
    display = check_display(display)
    orientations = _angles("orientations", orientations, 180.0)
    sfs = _sfs(display, "sfs", sfs)
    phases = _angles("phases", phases, 360.0)
    contrast = check_range("contrast", contrast, 0.0, 1.0)
    waveform = check_choice("waveform", waveform, ("sine", "square"))
    conditions = _product(("orientation", orientations), ("sf", sfs), ("phase", phases))
    conditions = conditions.with_columns(contrast=_full(conditions, contrast),
                                         radius=_full(conditions, math.inf))
    params = dict(orientations=orientations, sfs=sfs, phases=phases, contrast=contrast,
                  waveform=waveform)
    return Protocol("static_gratings", display, conditions,
                    functools.partial(_grating_row, waveform=waveform, edge_width=0.0),
                    params=jsonable(params))


def rf_mapping(
    display: Display,
    *,
    method: str = "gratings",
    grid: Sequence[int] = (7, 7),
    extent: Sequence[float] | None = None,
    radius: float | None = None,
    sf: float | None = None,
    orientations: Sequence[float] = (0.0, 45.0, 90.0, 135.0),
    phases: Sequence[float] = (0.0, 90.0, 180.0, 270.0),
    square_size: float | None = None,
    polarities: Sequence[int] = (1, -1),
    contrast: float = 1.0,
) -> Protocol:
    """Receptive-field mapping with small stimuli on a grid of positions.

    ``method="gratings"``: small grating patches at every grid position,
    orientation and phase (Marques et al. 2021 map RFs with small gratings on a
    grid); a unit's RF is where it responds, averaged over orientation and phase.
    ``method="sparse_noise"``: one light or dark square per stimulus at every grid
    position (classic sparse noise; the Allen Brain Observatory uses 4.65° squares
    on a 16 × 28 grid, shown several at a time).

    Grid positions are the centres of ``grid = (n_rows, n_cols)`` equal cells
    tiling a rectangle of ``extent = (height, width)`` degrees centred on the
    display: ``x_j = (j - (n_cols - 1) / 2) · width / n_cols`` and
    ``y_i = ((n_rows - 1) / 2 - i) · height / n_rows`` (row 0 at the top), so an
    odd grid includes the display centre.

    Parameters
    ----------
    display : Display
        The screen.
    method : {"gratings", "sparse_noise"}
        Stimulus type.
    grid : (int, int)
        Number of positions ``(n_rows, n_cols)``; default (7, 7).
    extent : (float, float), optional
        ``(height, width)`` in degrees covered by the grid; default the display.
    radius : float, optional
        Grating patch radius in degrees (gratings only); default half the smaller
        cell side, so neighbouring patches touch.
    sf : float, optional
        Grating sf in c/deg (gratings only); default 2 c/deg or half the Nyquist
        frequency on coarse displays.
    orientations, phases : sequence of float
        Grating orientations in [0, 180) and phases in [0, 360) degrees (gratings
        only); default 0, 45, 90, 135 and 0, 90, 180, 270.
    square_size : float, optional
        Side of the squares in degrees (sparse noise only); default the smaller cell
        side, so the squares tile the grid.
    polarities : sequence of int
        +1 (light) and/or -1 (dark) squares (sparse noise only); default both.
    contrast : float
        Michelson contrast (gratings) or luminance step (squares) in [0, 1].

    Returns
    -------
    Protocol
        Kind ``"image"``.  Gratings: rows ordered as ``itertools.product(positions,
        orientations, phases)`` with positions row by row from the top left; columns
        ``x``, ``y``, ``orientation``, ``phase``, ``sf``, ``contrast``, ``radius``.
        Sparse noise: ``itertools.product(positions, polarities)``; columns ``x``,
        ``y``, ``polarity``, ``contrast``.

    Raises
    ------
    ValueError
        For an unknown method, a grid that is not two positive integers, a
        non-positive size, an argument that does not apply to the chosen method,
        or another argument out of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> d = Display((32, 32), pixels_per_degree=8)
    >>> p = rf_mapping(d, method="sparse_noise", grid=(4, 4))
    >>> len(p), sorted(set(p.conditions["x"].tolist()))
    (32, [-1.5, -0.5, 0.5, 1.5])
    """
    display = check_display(display)
    method = check_choice("method", method, ("gratings", "sparse_noise"))
    grid = _grid(grid)
    if extent is None:
        height, width = display.size_degrees
    else:
        extent_arr = check_array("extent", extent, ndim=1, shape_doc="(height, width)",
                                 dtype=float)
        if extent_arr.shape != (2,) or np.any(extent_arr <= 0):
            raise ValueError(f"extent must be two positive sizes (height, width) in degrees, "
                             f"got {extent!r}")
        height, width = (float(v) for v in extent_arr)
    cell_h, cell_w = height / grid[0], width / grid[1]
    ys = ((grid[0] - 1) / 2 - np.arange(grid[0])) * cell_h
    xs = (np.arange(grid[1]) - (grid[1] - 1) / 2) * cell_w
    positions = [(float(x), float(y)) for y in ys for x in xs]
    contrast = check_range("contrast", contrast, 0.0, 1.0)
    base = dict(method=method, grid=list(grid), extent=[height, width])

    if method == "gratings":
        if isinstance(polarities, (str, bytes)) or not isinstance(polarities, Sequence):
            raise TypeError(f"polarities must be a sequence of +1/-1, got {polarities!r}")
        if square_size is not None or tuple(polarities) != (1, -1):
            raise ValueError("square_size and polarities apply to method='sparse_noise' only")
        radius = min(cell_h, cell_w) / 2 if radius is None else check_positive("radius", radius)
        sf = _default_sf(display) if sf is None else _sf(display, "sf", sf)
        orientations = _angles("orientations", orientations, 180.0)
        phases = _angles("phases", phases, 360.0)
        rows = list(itertools.product(positions, orientations, phases))
        conditions = Table({
            "x": np.array([r[0][0] for r in rows]),
            "y": np.array([r[0][1] for r in rows]),
            "orientation": np.array([r[1] for r in rows], dtype=float),
            "phase": np.array([r[2] for r in rows], dtype=float),
        })
        conditions = conditions.with_columns(sf=_full(conditions, sf),
                                             contrast=_full(conditions, contrast),
                                             radius=_full(conditions, radius))
        params = dict(base, radius=radius, sf=sf, orientations=orientations, phases=phases,
                      contrast=contrast)
        render = functools.partial(_grating_row, waveform="sine", edge_width=0.0)
    else:
        if radius is not None or sf is not None:
            raise ValueError("radius and sf apply to method='gratings' only")
        size = min(cell_h, cell_w) if square_size is None else check_positive(
            "square_size", square_size)
        pols = np.asarray(polarities)
        if (pols.ndim != 1 or pols.size == 0 or not np.issubdtype(pols.dtype, np.integer)
                or not np.all(np.isin(pols, (1, -1)))):
            raise ValueError(f"polarities must be a non-empty sequence of +1 and -1, "
                             f"got {polarities!r}")
        rows = list(itertools.product(positions, pols.tolist()))
        conditions = Table({
            "x": np.array([r[0][0] for r in rows]),
            "y": np.array([r[0][1] for r in rows]),
            "polarity": np.array([r[1] for r in rows], dtype=np.int64),
        })
        conditions = conditions.with_columns(contrast=_full(conditions, contrast))
        params = dict(base, square_size=size, polarities=pols.tolist(), contrast=contrast)
        render = functools.partial(_square_row, size=size)
    return Protocol("rf_mapping", display, conditions, render, params=jsonable(params))


def white_noise_sequence(
    display: Display,
    n: int = 1000,
    *,
    kind: str = "gaussian",
    contrast: float = 1.0,
    check_size: float | None = None,
    rng: None | int | np.random.Generator = None,
) -> Protocol:
    """A sequence of independent white-noise images for reverse correlation.

    Each image has its own seed (column ``seed``), drawn from ``rng`` when the
    protocol is made, and is regenerated from it whenever it is needed, so lazily
    generated batches are reproducible and any image can be remade alone.

    Parameters
    ----------
    display : Display
        The screen.
    n : int
        Number of images (>= 1); default 1000.
    kind : {"gaussian", "binary"}
        Noise distribution, as in :func:`stimuli.noise.white_noise`.
    contrast : float
        Peak contrast in [0, 1], as in :func:`stimuli.noise.white_noise`.
    check_size : float, optional
        Side of the noise checks in degrees, a whole number of pixels; default one
        pixel.
    rng : None, int or numpy.random.Generator
        Source of the per-image seeds.

    Returns
    -------
    Protocol
        Kind ``"image"``; columns ``frame`` (0 .. n-1), ``seed`` (int64) and
        ``contrast``.

    Raises
    ------
    ValueError, TypeError
        If ``n`` is not a positive integer, ``contrast`` is outside [0, 1], ``kind``
        is unknown, ``check_size`` is not a whole number of pixels or ``rng`` is not
        a valid seed.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> d = Display((8, 8), pixels_per_degree=4)
    >>> a = white_noise_sequence(d, 3, rng=0).stimuli([2])
    >>> b = white_noise_sequence(d, 3, rng=0).stimuli([2])
    >>> bool((a == b).all())
    True
    """
    display = check_display(display)
    n = check_int("n", n, minimum=1)
    kind = check_choice("kind", kind, NOISE_KINDS)
    contrast = check_range("contrast", contrast, 0.0, 1.0)
    if check_size is not None:
        check_size = check_positive("check_size", check_size)
        # Renders one image so that a check size of a fractional pixel fails now, not
        # in the middle of a run.
        white_noise(display, 1, kind=kind, contrast=contrast, check_size=check_size, rng=0)
    if n > MAX_IMAGES:
        raise ValueError(f"n must be at most {MAX_IMAGES} (stimuli.resources.MAX_IMAGES), got {n}")
    seed_param = int(rng) if isinstance(rng, numbers.Integral) and not isinstance(
        rng, bool) else None
    seeds = as_rng(rng).integers(0, 2**63 - 1, size=n, dtype=np.int64)
    conditions = Table({"frame": np.arange(n, dtype=np.int64), "seed": seeds,
                        "contrast": np.full(n, contrast)})
    params = dict(n=n, kind=kind, contrast=contrast, check_size=check_size, seed=seed_param)
    return Protocol("white_noise_sequence", display, conditions,
                    functools.partial(_white_noise_row, kind=kind, check_size=check_size),
                    params=params)


_REGISTRY: dict[str, Callable[..., Protocol]] = {
    f.__name__: f
    for f in (orientation_tuning, sf_tuning, contrast_response, size_tuning, annulus_tuning,
              drifting_gratings, static_gratings, rf_mapping, white_noise_sequence,
              texture_families, blank_screen)
}


def list_protocols() -> dict[str, Callable[..., Protocol]]:
    """Every built-in protocol function by name.

    Each is called as ``function(display, **keywords)``; with the display alone
    it uses the documented defaults, which the resulting protocol's repr shows.

    Returns
    -------
    dict of str to callable

    Raises
    ------
    Nothing.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> protocols = list_protocols()
    >>> "orientation_tuning" in protocols
    True
    >>> protocols["static_gratings"](Display((16, 16), pixels_per_degree=4)).name
    'static_gratings'
    """
    return dict(_REGISTRY)


