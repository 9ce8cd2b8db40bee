"""The notebook view of a model, shared by every model class.

A model class gets it with one line in its body::

    _repr_html_ = model_repr_html

It shows the class, the display the model looks at and, per layer, the number of
units or channels, the map shape of retinotopic layers and the names of the unit
metadata — all read through the model interface (``layers``, ``unit_info``,
``map_coordinates``), so it works for any object that follows it.
"""

from __future__ import annotations

from typing import Any

from stimuli._shared import html as _html

__all__ = ["model_repr_html"]


def _layer_row(model: Any, layer: str) -> tuple[str, str, str]:
    """(units, map shape, unit_info keys) of one layer; ``?`` where the model cannot say."""
    try:
        info = model.unit_info(layer)
        sizes = {len(v) for v in info.values()}
        units = str(sizes.pop()) if len(sizes) == 1 else "?"
        keys = ", ".join(info) or "-"
    except Exception as exc:  # a repr must not raise; say why the row is empty
        units, keys = "?", f"({type(exc).__name__})"
    shape = "-"
    if hasattr(model, "map_coordinates"):
        try:
            x, y = model.map_coordinates(layer)
            shape = f"{len(y)} × {len(x)}"
        except Exception:  # non-retinotopic layers refuse: they have no map
            shape = "-"
    return units, shape, keys


def model_repr_html(model: Any) -> str:
    """HTML summary of a model for Jupyter: display, and per layer units, map and metadata.

    Parameters
    ----------
    model : object following the model interface
        ``display``, ``layers``, ``temporal``, ``unit_info(layer)`` and optionally
        ``map_coordinates(layer)``.

    Returns
    -------
    str
        One ``<div>``; all text escaped.  A layer whose ``unit_info`` fails shows
        ``?`` and the exception's type instead of raising.

    Examples
    --------
    >>> import numpy as np
    >>> from stimuli import Display
    >>> class Pixels:
    ...     display, layers, temporal = Display((4, 4), 2), ("pixels",), False
    ...     def unit_info(self, layer):
    ...         return {"x": np.zeros(16), "y": np.zeros(16)}
    ...     _repr_html_ = model_repr_html
    >>> html = Pixels()._repr_html_()
    >>> "<b>Pixels</b>" in html and "<td" in html
    True
    """
    display = getattr(model, "display", None)
    details = []
    if display is not None and hasattr(display, "shape"):
        height, width = display.size_degrees
        details.append(f"display {display.shape[0]} × {display.shape[1]} px at "
                       f"{display.pixels_per_degree:g} px/deg ({height:g} × {width:g} deg)")
    details.append("temporal (movies)" if getattr(model, "temporal", False) else "static (images)")
    layers = tuple(getattr(model, "layers", ()))
    rows = [_layer_row(model, layer) for layer in layers]
    columns = {
        "layer": list(layers),
        "channels or units": [r[0] for r in rows],
        "map (rows × cols)": [r[1] for r in rows],
        "unit_info": [r[2] for r in rows],
    }
    table = _html.columns_table(columns, max_rows=len(layers), dtypes=False) if layers else ""
    return _html.block(_html.title(type(model).__name__, details), table)
