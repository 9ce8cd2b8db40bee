"""Array-level definitions of the Marques et al. (2021) V1 properties (private).

Two families of plain-array functions used by :mod:`analysis.properties`:

* ``bs_*``: Brain-Score's benchmark definitions (Marques, Schrimpf & DiCarlo 2021;
  ``brainscore_vision/benchmark_helpers/properties_common.py`` and the
  ``marques2020`` benchmarks), re-implemented from their description: 5-point
  smoothing of a sampled curve, an interpolating cubic spline (FITPACK's ``s=0``
  spline is the not-a-knot interpolant, which :func:`scipy.interpolate.make_interp_spline`
  builds for many curves at once), and read-outs on a 1° or 100-point grid;
* helpers shared by both modes (sparseness, the nested variance ratio of texture
  responses, the firing-rate map).

Curves are ``(n_units, n_levels)`` float64 arrays; every function returns NaN
where Brain-Score returns NaN, and the caller attaches the reason.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import make_interp_spline
from scipy.ndimage import convolve1d

#: Brain-Score's smoothing kernels (applied to sampled curves before interpolation).
KERNELS = {
    "hanning": np.array([0.0, 2 / 5, 1.0, 2 / 5, 0.0]),
    "smooth": np.array([0.0, 1 / 5, 1.0, 1 / 5, 0.0]),
}
#: Brain-Score's firing-rate constants for V1 (spikes/s): median peak response and
#: spontaneous rate of Ringach et al. (2002) cells, the largest single response, and the
#: responsiveness threshold used to pick the cells the map is fitted on.
MEDIAN_MAX_RATE = 33.8
MEDIAN_SPONTANEOUS_RATE = 0.82
SINGLE_MAX_RATE = 243.1
RESPONSE_THRESHOLD = 5.0


def bs_orientation_readout(curves: np.ndarray, orientations: np.ndarray, *, kernel: str,
                           level: float) -> tuple[np.ndarray, np.ndarray]:
    """Preferred orientation (deg, 1° grid) and full width at ``level`` of the peak.

    The curve is tiled over three periods, smoothed with ``KERNELS[kernel]`` (zero
    padding at the ends of the tiled curve, as ``np.convolve(..., "same")``),
    interpolated by a cubic spline and read on a 1° grid from −180 to 359°.  The
    preferred orientation is the grid maximum within [0, 180); the width is the
    distance between the nearest grid points on either side at or below ``level``
    times that maximum, NaN where there is none or it exceeds 180°.
    """
    n_units, _ = curves.shape
    x = np.concatenate([orientations - 180.0, orientations, orientations + 180.0])
    y = np.tile(curves, (1, 3))
    w = KERNELS[kernel]
    y = convolve1d(y, w / w.sum(), axis=1, mode="constant", cval=0.0)
    grid = np.linspace(-180.0, 359.0, 540)
    full = make_interp_spline(x, y, k=3, axis=1)(grid)            # (n_units, 540)
    pref = np.argmax(full[:, 180:360], axis=1)
    width = np.full(n_units, np.nan)
    for u in range(n_units):
        centre = pref[u] + 180
        below = np.flatnonzero(full[u] <= full[u, centre] * level)
        left, right = below[below < centre], below[below > centre]
        if left.size and right.size:
            bw = grid[right[0]] - grid[left[-1]]
            width[u] = bw if bw <= 180.0 else np.nan
    return pref.astype(float), width


def bs_sf_readout(curves: np.ndarray, sfs: np.ndarray, *, level: float = 0.707
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Peak sf (c/deg) and bandwidth (low/high cut-off ratio × 100) of SF curves.

    Each curve is padded with two copies of its end values, smoothed with the
    ``"smooth"`` kernel, interpolated by a cubic spline in log2 sf and read on 100
    points spanning the sampled range.  The bandwidth is NaN (not SF selective)
    where the curve does not fall to ``level`` × peak on both sides within the range.
    """
    n_units, _ = curves.shape
    w = KERNELS["smooth"]
    padded = np.concatenate([curves[:, :1], curves[:, :1], curves, curves[:, -1:],
                             curves[:, -1:]], axis=1)
    smoothed = convolve1d(padded, w / w.sum(), axis=1, mode="constant")[:, 2:-2]
    log_f = np.log2(sfs)
    grid = np.linspace(log_f[0], log_f[-1], 100)
    full = make_interp_spline(log_f, smoothed, k=3, axis=1)(grid)
    pk = np.argmax(full, axis=1)
    peak = 2.0 ** grid[pk]
    ratio = np.full(n_units, np.nan)
    for u in range(n_units):
        below = np.flatnonzero(full[u] <= full[u, pk[u]] * level)
        left, right = below[below < pk[u]], below[below > pk[u]]
        if left.size and right.size:
            ratio[u] = 2.0 ** grid[left[-1]] / 2.0 ** grid[right[0]] * 100.0
    return peak, ratio


def bs_size_readout(curves: np.ndarray, radii: np.ndarray) -> dict[str, np.ndarray]:
    """SSI, GSF, surround diameter and their ratio from size curves (Brain-Score).

    SSI = (max − last) / max.  Where max > 0 and SSI > 0.1: GSF = 2 × the first radius
    whose response reaches 95% of the maximum; surround diameter = 2 × the first
    radius beyond the preferred one whose response is at most
    ``plateau + 0.05 |plateau|``; elsewhere NaN.
    """
    peak = curves.max(axis=1)
    plateau = curves[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ssi = (peak - plateau) / peak
    gsf = np.full(len(curves), np.nan)
    surround = np.full(len(curves), np.nan)
    for u, curve in enumerate(curves):
        if not (peak[u] > 0 and ssi[u] > 0.1):
            continue
        gsf[u] = 2.0 * radii[np.flatnonzero(curve >= 0.95 * peak[u])[0]]
        beyond = (curve <= plateau[u] + 0.05 * abs(plateau[u])) & (radii > radii[np.argmax(curve)])
        surround[u] = 2.0 * radii[np.flatnonzero(beyond)[0]]
    return {"surround_suppression_index": ssi, "grating_summation_field": gsf,
            "surround_diameter": surround, "surround_gsf_ratio": surround / gsf}


def sparseness(responses: np.ndarray) -> np.ndarray:
    """Sparseness ``(1 − mean(r)² / mean(r²)) / (1 − 1/n)`` over the last axis; NaN if all 0."""
    n = responses.shape[-1]
    mean = responses.mean(axis=-1)
    mean_sq = (responses ** 2).mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean_sq > 0, (1.0 - mean ** 2 / mean_sq) / (1.0 - 1.0 / n), np.nan)


def variance_ratio(responses: np.ndarray) -> np.ndarray:
    """Across-family / across-sample variance of ``(n_units, n_families, n_samples)`` responses.

    The nested ANOVA of Ziemba et al. (2016) as Brain-Score uses it without repeats:
    sample variance = mean square within families; family variance = (family mean
    square − sample mean square) / n_samples; ratio = ``(family share + 0.02) /
    (sample share + 0.02)`` of their sum.  NaN where the responses do not vary.
    """
    _, a, b = responses.shape
    family_mean = responses.mean(axis=2)
    grand = family_mean.mean(axis=1)
    sample_ms = ((responses - family_mean[:, :, None]) ** 2).sum(axis=(1, 2)) / (a * (b - 1))
    family_ms = b * ((family_mean - grand[:, None]) ** 2).sum(axis=1) / (a - 1)
    sample_var = sample_ms
    family_var = (family_ms - sample_ms) / b
    total = sample_var + family_var
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (family_var / total + 0.02) / (sample_var / total + 0.02)
    return np.where(total > 0, ratio, np.nan)
