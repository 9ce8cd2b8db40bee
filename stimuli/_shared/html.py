"""Compact HTML for notebooks: the ``_repr_html_`` of tables, recordings, protocols, models.

Jupyter shows an object's ``_repr_html_()`` instead of its ``repr``.  These
helpers build one consistent look for every object of the distribution: a bold
title line with shapes, then small tables of the first rows with each column's
unit (from its standard name, see :data:`COLUMN_UNITS`) and dtype.  Every piece
of text is escaped, so a column named ``<script>`` shows as text.  Used by
``stimuli.Table``, ``stimuli.Protocol``, ``analysis.Recording`` and, through
``v1model._repr``, the models.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

#: Units of the standard column names (conditions, unit metadata, tuning tables).
COLUMN_UNITS: dict[str, str] = {
    "orientation": "deg", "direction": "deg", "phase": "deg",
    "radius": "deg", "inner_radius": "deg", "x": "deg", "y": "deg", "size": "deg",
    "rf_size": "deg", "sigma_x": "deg", "sigma_y": "deg",
    "orientation_bandwidth": "deg", "sf": "c/deg", "tf": "Hz", "sf_bandwidth": "oct",
    "duration": "s", "time": "s", "time_step": "s", "rate": "spikes/s",
}
_SUFFIX_UNITS = (("_orientation", "deg"), ("_direction", "deg"), ("_phase", "deg"),
                 ("_sf", "c/deg"), ("_tf", "Hz"))
MAX_ROWS = 8
_STYLE = ("font-size: 0.85em; border-collapse: collapse; margin: 0.2em 0 0.4em 0")
_CELL = "padding: 0 0.6em; text-align: right; border: none"


def column_unit(name: str) -> str:
    """The unit of a standard column name, or ``""`` when it has none or is unknown."""
    if name in COLUMN_UNITS:
        return COLUMN_UNITS[name]
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def esc(value: Any) -> str:
    """``str(value)`` with HTML special characters escaped."""
    return html.escape(str(value), quote=True)


def format_value(value: Any) -> str:
    """A short, escaped text for one cell: 4 significant digits for floats."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return esc(f"{value:.4g}")
    if isinstance(value, numbers.Number) or isinstance(value, bool):
        return esc(value)
    text = str(value)
    return esc(text if len(text) <= 60 else text[:57] + "...")


def title(name: str, details: Iterable[str]) -> str:
    """``<b>name</b> · detail · detail`` (details escaped)."""
    parts = [f"<b>{esc(name)}</b>"] + [esc(d) for d in details if d]
    return " &middot; ".join(parts)


def columns_table(columns: Mapping[str, Any], *, max_rows: int = MAX_ROWS,
                  caption: str | None = None, dtypes: bool = True) -> str:
    """The first ``max_rows`` rows of equal-length 1-D columns, with units (and dtypes)."""
    names = list(columns)
    if not names:
        return f"<div><small>{esc(caption + ': ') if caption else ''}(no columns)</small></div>"
    n = len(next(iter(columns.values())))
    head = "".join(
        f'<th style="{_CELL}">{esc(name)}'
        + (f"<br><small>{esc(column_unit(name))}</small>" if column_unit(name) else "")
        + "</th>"
        for name in names)
    types = "".join(f'<td style="{_CELL}"><small><i>{esc(np.asarray(columns[k]).dtype)}'
                    f"</i></small></td>" for k in names)
    types = f'<tr><th style="{_CELL}"></th>{types}</tr>' if dtypes else ""
    rows = []
    for i in range(min(n, max_rows)):
        cells = "".join(f'<td style="{_CELL}">{format_value(columns[k][i])}</td>' for k in names)
        rows.append(f'<tr><th style="{_CELL}"><small>{i}</small></th>{cells}</tr>')
    more = f"<small>&hellip; {n - max_rows} more rows</small>" if n > max_rows else ""
    cap = f"<div><small>{esc(caption)}</small></div>" if caption else ""
    return (f'{cap}<table style="{_STYLE}"><thead><tr><th style="{_CELL}"></th>{head}</tr>'
            f"{types}</thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{more}")


def key_values(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of ``label: value`` lines (values escaped, not shortened)."""
    rows = "".join(f'<tr><th style="{_CELL}; text-align: left">{esc(k)}</th>'
                   f'<td style="{_CELL}; text-align: left">{esc(v)}</td></tr>' for k, v in items)
    return f'<table style="{_STYLE}">{rows}</table>'


def block(*parts: str) -> str:
    """Wrap pre-built HTML parts in one ``<div>``."""
    return '<div class="v1model-repr">' + "".join(parts) + "</div>"
