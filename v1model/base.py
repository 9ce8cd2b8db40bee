"""The one interface every model answers (see DESIGN.md, "The one interface").

Analysis code never special-cases a model: it asks for ``layers``,
``responses(stimuli, layer)`` and ``unit_info(layer)``.  This module states the
contract as a :class:`typing.Protocol` and offers the checks models share.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from stimuli._validation import check_choice


@runtime_checkable
class Model(Protocol):
    """What a model must provide.

    Attributes
    ----------
    display : stimuli.Display
        The screen the model looks at (its pixel grid and ``pixels_per_degree``).
    layers : tuple of str
        Layer names in processing order.
    temporal : bool
        False for static models, which take images ``(n, rows, cols)``.  True for
        models that take movies ``(n, frames, rows, cols)`` at ``display.frame_rate``
        (and accept static images, presented as a fixed-duration movie).

    Methods
    -------
    responses(stimuli, layer) -> ndarray
        ``(n, channels, rows', cols')`` for retinotopic layers or ``(n, units)``
        for non-retinotopic ones; temporal models may add a trailing time axis to
        the ``(n, units)`` form: ``(n, units, time_bins)``.
    unit_info(layer) -> dict of str to ndarray
        Per-channel (retinotopic layers) or per-unit metadata, each array of length
        ``channels`` / ``units``.  Standard keys where known: ``orientation``
        (degrees), ``sf`` (c/deg), ``phase`` (degrees), ``rf_size`` (degrees),
        ``x``, ``y`` (RF centre, degrees).
    map_coordinates(layer) -> (x, y)  [retinotopic layers only]
        Visual-field positions in degrees of the map's columns ``x (cols',)`` and
        rows ``y (rows',)``.
    """

    display: object
    layers: tuple[str, ...]
    temporal: bool

    def responses(self, stimuli: np.ndarray, layer: str) -> np.ndarray: ...

    def unit_info(self, layer: str) -> dict[str, np.ndarray]: ...


def check_layer(model, layer: str) -> str:
    """Raise ``ValueError`` naming the model's layers if ``layer`` is not one of them.

    A ``model`` without the :class:`Model` interface is a ``TypeError`` naming it.
    """
    if not hasattr(model, "layers"):
        raise TypeError(f"model must provide the v1model interface (display, layers, "
                        f"responses); {type(model).__name__} has no layers")
    return check_choice("layer", layer, model.layers)
