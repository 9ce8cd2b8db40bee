"""Where a sampled curve peaks, decided by a rule that floating-point noise cannot flip.

``np.argmax`` over a near-flat curve picks whichever sample the last rounding
error favoured, so the same model run with another number of BLAS/OpenMP
threads can report another peak (a summation field of 1.16° on one thread and
0.81° on two).  Every argmax-style estimator of :mod:`analysis` uses
:func:`first_peak` instead: the peak is the **first** sample (in the order
given, e.g. the smallest radius) whose value is within ``rtol`` of the curve's
maximum, the tolerance being relative to the curve's largest magnitude.
Differences below ``rtol`` (default :data:`PEAK_RTOL`, 1e-4: far above float32
rounding of ~1e-7 and far below any difference a measurement resolves) count as
ties, so the result is the same on any thread count unless a sample sits within
rounding error of the tolerance boundary itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Relative tolerance under which two samples of a curve count as equal.
PEAK_RTOL = 1e-4


def first_peak(values: Any, axis: int = -1, rtol: float = PEAK_RTOL) -> np.ndarray:
    """Index of the first sample within ``rtol * max|values|`` of the maximum along ``axis``.

    Infinite samples do not enter the scale (``-inf`` marks samples to skip).

    Examples
    --------
    >>> int(first_peak([1.0, 3.0, 3.0 + 1e-9, 2.0]))
    1
    >>> int(first_peak([-np.inf, 2.0, 1.0]))  # -inf marks samples to skip
    1
    >>> first_peak([[0.0, 2.0], [1.0, 1.0]], axis=1).tolist()
    [1, 0]
    """
    v = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    top = v.max(axis=-1, keepdims=True)
    scale = np.where(np.isfinite(v), np.abs(v), 0.0).max(axis=-1, keepdims=True)
    return np.argmax(v >= top - rtol * scale, axis=-1)
