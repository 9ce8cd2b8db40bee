"""Summed-area tables and the box sums read from them (S1 normalisation, S2 patch energies)."""

from __future__ import annotations

import numpy as np


def _summed_area(values: np.ndarray, pad: int) -> np.ndarray:
    """Summed-area table of ``values (n, rows, cols)`` zero-padded by ``pad`` on each side.

    ``S[:, i, j]`` is the sum of the padded array over rows ``< i`` and cols ``< j``.
    """
    n, rows, cols = values.shape
    table = np.zeros((n, rows + 2 * pad + 1, cols + 2 * pad + 1), dtype=np.float64)
    table[:, pad + 1:pad + 1 + rows, pad + 1:pad + 1 + cols] = values
    np.cumsum(table, axis=1, out=table)
    np.cumsum(table, axis=2, out=table)
    return table


def _box_sum(table: np.ndarray, size: int, rows: int, cols: int, anchor: int | None = None
             ) -> np.ndarray:
    """Sums over ``size × size`` windows from a :func:`_summed_area` table.

    Output ``(r, c)`` sums rows ``r − anchor … r − anchor + size − 1`` (``anchor`` =
    ``size // 2`` by default, the kernel centre of a 'same' correlation).
    """
    pad = (table.shape[1] - 1 - rows) // 2
    anchor = size // 2 if anchor is None else anchor
    a = pad - anchor
    b = a + size
    return (table[:, b:b + rows, b:b + cols] - table[:, a:a + rows, b:b + cols]
            - table[:, b:b + rows, a:a + cols] + table[:, a:a + rows, a:a + cols])


def _box_sum_block(table: np.ndarray, size: int, pad: int, r0: int, r1: int, c0: int,
                   c1: int) -> np.ndarray:
    """:func:`_box_sum` (centred windows) at the pixels ``[r0, r1) × [c0, c1)`` only.

    ``table`` is a :func:`_summed_area` table padded by ``pad``; the values are the same
    elements :func:`_box_sum` returns there, read without the rest of the map.
    """
    a = pad - size // 2
    b = a + size
    return (table[:, b + r0:b + r1, b + c0:b + c1] - table[:, a + r0:a + r1, b + c0:b + c1]
            - table[:, b + r0:b + r1, a + c0:a + c1] + table[:, a + r0:a + r1, a + c0:a + c1])


def _box_window_sums(table: np.ndarray, size: int, nr: int, nc: int) -> np.ndarray:
    """Sums over the ``nr × nc`` fully-inside ``size × size`` windows (table of pad 0)."""
    return (table[:, size:size + nr, size:size + nc] - table[:, :nr, size:size + nc]
            - table[:, size:size + nr, :nc] + table[:, :nr, :nc])
