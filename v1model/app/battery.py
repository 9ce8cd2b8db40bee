"""The protocol battery of ``v1model compare``: its steps and its two sizes.

:class:`Battery` holds every size of the battery (orientations, sfs, radii, grid,
durations, image counts); :data:`DEFAULT_BATTERY` is the full run and
:data:`QUICK_BATTERY` the ``--quick`` one.  The battery also says how it configures
each registered model (:meth:`Battery.model_options`), so the registry's factories
stay free of job settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stimuli.display import Display
from stimuli.protocols import MARQUES_SFS

__all__ = ["BATTERY_STEPS", "DEFAULT_BATTERY", "QUICK_BATTERY", "Battery"]

#: Steps of the battery a registry entry can list (see the module docstring).
BATTERY_STEPS = ("orientation", "sf", "size", "rf", "drifting")


@dataclass(frozen=True)
class Battery:
    """How large the protocol battery is (one instance for the default run, one for quick).

    Angles are in degrees, spatial frequencies in c/deg, temporal frequency in Hz,
    durations in seconds, sizes in degrees unless stated.

    Attributes
    ----------
    name : str
        ``"default"`` or ``"quick"``.
    size : int
        Side in pixels of the square display of the models that accept any display
        (the V1 model, HMAX, the spiking layer).  Models with a fixed input (the CNN)
        keep theirs.
    pixels_per_degree : float
        Of that display.
    v1_stride : int
        Map stride of the V1 model (``units="centre"`` needs one position; the
        invariance curves use the map).
    orientations, phases, sfs : tuple of float
        The orientation protocol.
    sf_values, sf_orientations, sf_phases : tuple of float
        The sf-tuning protocol.
    size_orientations, size_sfs, size_phases : tuple of float
        Size tuning runs one protocol per orientation × sf (default radii).
    rf_grid : int
        Squares per side of the RF-mapping grid.
    rf_extent : float
        Side in degrees of the mapped square (centred on the display).
    drift_directions, drift_sfs : tuple of float
        Drifting gratings (one protocol per sf).
    drift_tf, drift_duration : float
        Hz and seconds.
    static_duration : float
        Seconds each static image is shown to the spiking layer.
    n_natural : int
        Natural-image patches shown to every layer for CKA.
    n_invariance : int
        Patches for the tolerance curves.
    shifts : tuple of float
        Translations in degrees for the tolerance curves.
    texture_samples : int
        Crops per texture family of the texture protocol
        (:func:`stimuli.protocols.texture_families`, its 8 default families), each shown
        as the texture and as spectrally matched noise.
    n_boot : int
        Bootstrap resamples of each similarity score.
    curve_units, mosaic_units : int
        Units drawn per layer in the tuning-curve figures and RF mosaics.
    """

    name: str
    size: int
    pixels_per_degree: float
    v1_stride: int
    orientations: tuple[float, ...]
    phases: tuple[float, ...]
    sfs: tuple[float, ...]
    sf_values: tuple[float, ...]
    sf_orientations: tuple[float, ...]
    sf_phases: tuple[float, ...]
    size_orientations: tuple[float, ...]
    size_sfs: tuple[float, ...]
    size_phases: tuple[float, ...]
    rf_grid: int
    rf_extent: float
    drift_directions: tuple[float, ...]
    drift_sfs: tuple[float, ...]
    drift_tf: float
    drift_duration: float
    static_duration: float
    n_natural: int
    n_invariance: int
    shifts: tuple[float, ...]
    texture_samples: int
    n_boot: int
    curve_units: int
    mosaic_units: int

    def display(self) -> Display:
        """The square display of the models that accept any display."""
        return Display((self.size, self.size), pixels_per_degree=self.pixels_per_degree)

    def model_options(self, name: str) -> dict[str, Any]:
        """Keyword options this battery passes to the factory of registered model ``name``.

        The V1 model's map stride and the spiking layer's static presentation time
        are battery settings; other models take none.

        Examples
        --------
        >>> QUICK_BATTERY.model_options("spiking")
        {'static_duration': 0.2}
        >>> QUICK_BATTERY.model_options("hmax")
        {}
        """
        options = {"v1": {"stride": self.v1_stride},
                   "spiking": {"static_duration": self.static_duration}}
        return dict(options.get(name, {}))


def _steps(start: float, stop: float, step: float) -> tuple[float, ...]:
    return tuple(float(v) for v in np.arange(start, stop, step))


def _marques_sfs(every: int, nyquist: float) -> tuple[float, ...]:
    """Every ``every``-th of Marques et al.'s 22 log2-spaced sfs below ``nyquist``."""

    return tuple(round(float(f), 4) for f in MARQUES_SFS[::every] if f < nyquist)


#: The default run (goal: at most 3 minutes on 2 cores).
DEFAULT_BATTERY = Battery(
    name="default", size=64, pixels_per_degree=16.0, v1_stride=8,
    orientations=_steps(0, 180, 15), phases=_steps(0, 360, 45), sfs=(1.0, 2.0, 4.0),
    sf_values=_marques_sfs(2, 8.0), sf_orientations=_steps(0, 180, 30),
    sf_phases=(0.0, 90.0, 180.0, 270.0),
    size_orientations=(0.0, 45.0, 90.0, 135.0), size_sfs=(1.0, 2.0, 4.0),
    size_phases=(0.0, 90.0, 180.0, 270.0),
    rf_grid=16, rf_extent=2.0,
    drift_directions=_steps(0, 360, 30), drift_sfs=(1.0, 2.0, 4.0), drift_tf=2.0,
    drift_duration=1.0, static_duration=0.25,
    n_natural=128, n_invariance=12, shifts=(0.0, 0.125, 0.25, 0.5, 1.0), texture_samples=6,
    n_boot=200, curve_units=4, mosaic_units=16,
)

#: ``--quick`` (goal: at most 30 seconds on 2 cores): smaller display, fewer stimuli.
QUICK_BATTERY = Battery(
    name="quick", size=40, pixels_per_degree=16.0, v1_stride=8,
    orientations=_steps(0, 180, 30), phases=(0.0, 90.0, 180.0, 270.0), sfs=(1.0, 2.0, 4.0),
    sf_values=_marques_sfs(3, 8.0), sf_orientations=(0.0, 45.0, 90.0, 135.0),
    sf_phases=(0.0, 90.0, 180.0, 270.0),
    size_orientations=(0.0, 90.0), size_sfs=(2.0,), size_phases=(0.0, 90.0, 180.0, 270.0),
    rf_grid=10, rf_extent=1.25,
    drift_directions=_steps(0, 360, 45), drift_sfs=(1.0, 2.0, 4.0), drift_tf=2.0,
    drift_duration=1.0, static_duration=0.2,
    n_natural=40, n_invariance=4, shifts=(0.0, 0.25, 0.5, 1.0), texture_samples=3,
    n_boot=100, curve_units=2, mosaic_units=9,
)
