"""Receptive fields from a recorded grid of single light and dark squares.

:func:`stimuli.protocols.rf_mapping` with ``method="sparse_noise"`` shows one
square at a time, light or dark, at every position of a grid.  The ON map of a
unit is its response to the light square at each position, the OFF map its
response to the dark one, and ``ON − OFF`` its signed (linear) receptive field.
This differs from :func:`analysis.receptive_fields.sparse_noise_maps`, which
drives the model with random images of many squares and averages responses: here
the stimulus set is a fixed protocol, recorded once like any other (so it can run
in a battery of protocols and be saved with the recordings).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from analysis.recording import Recording

__all__ = ["GridMaps", "grid_on_off_maps"]


class GridMaps(NamedTuple):
    """ON, OFF and ON − OFF maps of every unit on the grid of squares.

    ``on``, ``off``, ``maps`` are ``(n_units, n_y, n_x)``, rows from the top of the
    display (+y up); ``pixels_per_degree`` is the grid's (1 / spacing in degrees);
    ``signed_fraction (n_units,)`` is ``Σ|ON − OFF| / Σ|ON + OFF|`` (0 where there is
    no drive): 1 for a half-wave rectified linear unit, whose ON and OFF responses
    never overlap, near 0 for one that ignores the sign of contrast (full-wave
    rectified, complex).
    """

    on: np.ndarray
    off: np.ndarray
    maps: np.ndarray
    pixels_per_degree: float
    signed_fraction: np.ndarray


def grid_on_off_maps(recording: Recording) -> GridMaps:
    """ON, OFF and ON − OFF maps from a recorded single-square grid protocol.

    Parameters
    ----------
    recording : Recording
        Responses to :func:`stimuli.protocols.rf_mapping` (``method="sparse_noise"``):
        conditions ``x``, ``y`` (square centre, degrees) and ``polarity`` (+1 light,
        −1 dark).  A time axis is averaged (:meth:`Recording.rates`).

    Returns
    -------
    GridMaps

    Raises
    ------
    TypeError
        If ``recording`` is not a :class:`~analysis.recording.Recording`.
    ValueError
        If the conditions lack ``x``, ``y`` or ``polarity``.

    Examples
    --------
    >>> rec = Recording({"x": [-0.5, 0.5] * 4, "y": [0.5, 0.5, -0.5, -0.5] * 2,
    ...                  "polarity": [1.0] * 4 + [-1.0] * 4},
    ...                 [[1.0], [0.0], [0.0], [0.0], [0.0], [0.0], [0.0], [1.0]])
    >>> grid = grid_on_off_maps(rec)
    >>> grid.maps[0].tolist(), grid.pixels_per_degree
    ([[1.0, 0.0], [0.0, -1.0]], 1.0)
    """
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be an analysis.Recording, got "
                        f"{type(recording).__name__}")
    missing = [c for c in ("x", "y", "polarity") if c not in recording.conditions.names]
    if missing:
        raise ValueError(f"recording.conditions must have columns x, y and polarity (an "
                         f"rf_mapping protocol with method 'sparse_noise'); missing {missing}")
    resp = recording.rates()
    x = np.asarray(recording.conditions["x"], dtype=np.float64)
    y = np.asarray(recording.conditions["y"], dtype=np.float64)
    polarity = np.asarray(recording.conditions["polarity"])
    xs, ys = np.unique(x), np.unique(y)[::-1]            # rows from the top (+y up)
    col = np.searchsorted(xs, x)
    row = np.searchsorted(-ys, -y)
    on = np.zeros((resp.shape[1], len(ys), len(xs)))
    off = np.zeros_like(on)
    on[:, row[polarity > 0], col[polarity > 0]] = resp[polarity > 0].T
    off[:, row[polarity < 0], col[polarity < 0]] = resp[polarity < 0].T
    maps = on - off
    ppd = 1.0 / float(np.diff(xs).mean()) if len(xs) > 1 else 1.0
    drive = np.abs(on + off).sum(axis=(1, 2))
    signed = np.abs(maps).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        signed_fraction = np.where(drive > 0, signed / np.where(drive > 0, drive, 1.0), 0.0)
    return GridMaps(on, off, maps, ppd, signed_fraction)
