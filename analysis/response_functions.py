"""Contrast response (Naka–Rushton) and size tuning (summation field, surround suppression).

- Contrast response: ``R(c) = baseline + r_max · c^n / (c^n + c50^n)`` (Naka & Rushton
  1966; used for V1 by Albrecht & Hamilton 1982, J Neurophysiol 48:217).
- Size tuning (Cavanaugh, Bair & Movshon 2002, J Neurophysiol 88:2530): the grating
  summation field (GSF) is the stimulus size giving the peak response; the
  suppression index ``SSI = (peak − plateau) / peak`` compares it with the response
  to the largest stimulus.  Macaque V1: median SSI ≈ 0.33, median GSF ≈ 0.8° (see
  :mod:`analysis.reference`).

Recording-level functions average the responses over nuisance conditions
(``repeat``, ``phase``, ``frame``) and over the time axis, and refuse recordings
in which another condition column varies (select one value first with
``Recording.select_stimuli``), so a curve never silently mixes orientations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import least_squares

from analysis._peaks import first_peak
from analysis.recording import Recording
from stimuli._shared.validation import check_array, check_choice, check_range, check_real
from stimuli.table import Table

__all__ = ["NakaRushtonFit", "contrast_response", "fit_naka_rushton", "naka_rushton",
           "size_tuning"]

#: Condition columns that vary within one point of a response function and are averaged.
NUISANCE_COLUMNS = ("repeat", "phase", "frame")


@dataclass(frozen=True)
class NakaRushtonFit:
    """Result of :func:`fit_naka_rushton`.

    Attributes
    ----------
    c50 : float
        Semi-saturation contrast, in the units of ``contrasts`` (contrast in [0, 1]).
    n : float
        Exponent (steepness), dimensionless.
    r_max : float
        Response increment from zero to infinite contrast, in response units (>= 0).
    baseline : float
        Response at zero contrast.
    r2 : float
        Coefficient of determination (NaN only when undefined: flat responses).
    success : bool
        Converged, R² defined and ``r2 >= min_r2``.
    message : str
        ``"ok"`` or the reason for failure.
    """

    c50: float
    n: float
    r_max: float
    baseline: float
    r2: float
    success: bool
    message: str

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def naka_rushton(contrasts, *, c50: float, n: float, r_max: float,
                 baseline: float = 0.0) -> np.ndarray:
    """Evaluate ``baseline + r_max · c^n / (c^n + c50^n)``.

    Parameters
    ----------
    contrasts : array_like
        Michelson contrasts, >= 0.
    c50 : float
        Semi-saturation contrast, > 0.
    n : float
        Exponent, > 0.
    r_max : float
        Maximum response increment.
    baseline : float
        Response at zero contrast.

    Returns
    -------
    ndarray of float64, same shape as ``contrasts``

    Raises
    ------
    ValueError
        If a contrast is negative or not finite, or ``c50`` or ``n`` is not positive.

    Examples
    --------
    >>> naka_rushton([0.0, 0.2, 1.0], c50=0.2, n=2, r_max=10).round(4).tolist()
    [0.0, 5.0, 9.6154]
    """
    c = check_array("contrasts", contrasts, dtype=np.float64, nonempty=False)
    if np.any(c < 0):
        raise ValueError(f"contrasts must be >= 0, got minimum {c.min()}")
    c50 = check_range("c50", c50, 0.0, np.inf, closed="neither")
    n = check_range("n", n, 0.0, np.inf, closed="neither")
    r_max = check_real("r_max", r_max)
    baseline = check_real("baseline", baseline)
    with np.errstate(over="ignore", invalid="ignore"):
        out = _nr(c, np.log(c50), n, r_max, baseline)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"r_max={r_max:g}, baseline={baseline:g}, c50={c50:g} and n={n:g} "
                         f"overflow float64 for these contrasts")
    return out


def _nr(c: np.ndarray, log_c50: float, n: float, r_max: float, baseline: float) -> np.ndarray:
    # c^n / (c^n + c50^n) = 1 / (1 + (c50 / c)^n), computed in logs for stability
    positive = c > 0
    log_c = np.log(np.where(positive, c, 1.0))
    ratio = np.exp(np.minimum(n * (log_c50 - log_c), 700.0))
    return baseline + np.where(positive, r_max / (1.0 + ratio), 0.0)


def _fit_curve(c: np.ndarray, r: np.ndarray, min_r2: float) -> NakaRushtonFit:
    nan = float("nan")
    levels = np.unique(c)
    if levels.size < 4:
        return NakaRushtonFit(nan, nan, nan, nan, nan, False,
                              f"{levels.size} distinct contrasts; the 4-parameter fit needs >= 4")
    if not np.any(levels > 0):
        return NakaRushtonFit(nan, nan, nan, nan, nan, False, "no positive contrast")
    ss_tot = float(((r - r.mean()) ** 2).sum())
    scale = float(np.abs(r).max())
    if ss_tot <= 1e-24 * max(scale * scale * r.size, 1e-300):
        return NakaRushtonFit(nan, nan, nan, nan, nan, False,
                              "responses are flat: nothing to fit (R² undefined)")
    rn = r / scale
    positive = levels[levels > 0]
    lo_c, hi_c = positive.min(), positive.max()
    means = np.array([rn[c == v].mean() for v in levels])
    base0 = float(means[0]) if levels[0] == 0 else float(means.min())
    rmax0 = max(float(means.max()) - base0, 1e-3)
    half = base0 + rmax0 / 2
    above = np.flatnonzero(means >= half)
    c50_0 = float(np.clip(levels[above[0]] if above.size else hi_c, lo_c, hi_c))
    lower = np.array([np.log(lo_c / 10), 0.3, 0.0, -np.inf])
    upper = np.array([np.log(hi_c * 10), 10.0, np.inf, np.inf])

    def resid(p):
        return _nr(c, p[0], p[1], p[2], p[3]) - rn

    best = None
    for n0 in (1.0, 2.0, 4.0):
        for rm in (rmax0, 2 * rmax0):
            p0 = np.array([np.log(c50_0), n0, rm, base0])
            p0 = np.minimum(np.maximum(p0, lower + 1e-9), upper - 1e-9)
            res = least_squares(resid, p0, bounds=(lower, upper), method="trf", x_scale="jac")
            if best is None or res.cost < best.cost:
                best = res
    r2 = 1.0 - 2.0 * best.cost / (ss_tot / scale**2)
    log_c50, n, r_max, base = best.x
    if best.status <= 0:
        success, message = False, f"optimiser did not converge: {best.message}"
    elif r2 < min_r2:
        success, message = False, f"r2 {r2:.3f} is below min_r2 {min_r2}"
    else:
        success, message = True, "ok"
    return NakaRushtonFit(float(np.exp(log_c50)), float(n), float(r_max * scale),
                          float(base * scale), float(r2), success, message)


def fit_naka_rushton(contrasts, responses, *, min_r2: float = 0.5) -> NakaRushtonFit:
    """Fit a Naka–Rushton function to one contrast-response curve.

    Parameters
    ----------
    contrasts : array_like of shape (m,)
        Stimulus contrasts in [0, 1] (repeats allowed); at least 4 distinct values.
    responses : array_like of shape (m,)
        Responses at those contrasts.
    min_r2 : float
        Fits with R² below this have ``success=False``.

    Returns
    -------
    NakaRushtonFit
        ``c50`` (bounded to [min/10, 10·max] of the positive contrasts), exponent ``n``
        (bounded to [0.3, 10]), ``r_max >= 0``, ``baseline``, ``r2``, ``success``,
        ``message``.  Flat responses or fewer than 4 distinct contrasts give
        ``success=False``, NaN parameters and the reason.

    Raises
    ------
    ValueError
        If the arrays differ in length, are not 1-D, hold NaN/infinity, or a contrast
        is outside [0, 1].

    Examples
    --------
    >>> c = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0])
    >>> fit = fit_naka_rushton(c, naka_rushton(c, c50=0.15, n=2.5, r_max=20, baseline=1))
    >>> round(fit.c50, 3), round(fit.n, 2), round(fit.r_max, 1), fit.success
    (0.15, 2.5, 20.0, True)
    """
    c = check_array("contrasts", contrasts, ndim=1, shape_doc="(m,)", dtype=np.float64)
    r = check_array("responses", responses, ndim=1, shape_doc="(m,)", dtype=np.float64)
    if c.shape != r.shape:
        raise ValueError(f"contrasts and responses must have the same length, got {c.size} "
                         f"contrasts and {r.size} responses")
    if np.any((c < 0) | (c > 1)):
        raise ValueError(f"contrasts must be in [0, 1], got range [{c.min()}, {c.max()}]")
    min_r2 = check_range("min_r2", min_r2, -np.inf, 1.0)
    return _fit_curve(c, r, min_r2)


def _curve(recording, column: str, *, reduce: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Mean responses per value of ``column``: ``(levels (k,), responses (k, n_units))``.

    The time axis, if any, is averaged.  Rows sharing a level are averaged (or
    maximised, ``reduce="max"``) over nuisance columns; any other condition
    column that varies within a level raises ``ValueError``.
    """
    reduce = check_choice("reduce", reduce, ("mean", "max"))
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be an analysis.recording.Recording, got "
                        f"{type(recording).__name__}")
    conditions = recording.conditions
    if column not in conditions.names:
        raise ValueError(f"recording has no {column!r} condition column; columns are "
                         f"{', '.join(conditions.names) or '(none)'}")
    values = np.asarray(conditions[column], dtype=np.float64)
    if np.any(np.isnan(values)):
        raise ValueError(f"condition column {column!r} holds NaN")
    resp = recording.rates()
    levels = np.unique(values)
    for name in conditions.names:
        if name == column or name in NUISANCE_COLUMNS:
            continue
        col = np.asarray(conditions[name])
        for v in levels:
            sub = col[values == v]
            if sub.size and not np.all(sub == sub[0]):
                raise ValueError(
                    f"condition column {name!r} varies within {column} = {v:g}; select one "
                    f"value first, e.g. recording.select_stimuli(recording.conditions[{name!r}] "
                    f"== {sub[0]!r})"
                )
    agg = np.mean if reduce == "mean" else np.max
    out = np.stack([agg(resp[values == v], axis=0) for v in levels])
    return levels, out


def contrast_response(recording, *, reduce: str = "mean", min_r2: float = 0.5) -> Table:
    """Naka–Rushton fit per unit of a contrast-series recording.

    Parameters
    ----------
    recording : Recording
        Needs a ``contrast`` condition column; other columns must be constant or be
        nuisance columns (``repeat``, ``phase``, ``frame``), which are averaged
        (``reduce="mean"``) or maximised (``reduce="max"``, e.g. the best phase of a
        simple cell).  A time axis is averaged.
    reduce : {"mean", "max"}
        How rows at one contrast are combined.
    min_r2 : float
        Passed to :func:`fit_naka_rushton`.

    Returns
    -------
    Table
        One row per unit: ``unit``, ``c50``, ``n``, ``r_max``, ``baseline``, ``r2``,
        ``success``, ``message``.

    Raises
    ------
    ValueError
        If there is no ``contrast`` column, a non-nuisance column varies, or a
        contrast is outside [0, 1].

    Examples
    --------
    >>> from analysis.recording import Recording
    >>> c = np.array([0.0, 0.05, 0.1, 0.2, 0.4, 0.8])
    >>> rec = Recording({"contrast": c}, naka_rushton(c, c50=0.1, n=2, r_max=5)[:, None])
    >>> round(float(contrast_response(rec)["c50"][0]), 3)
    0.1
    """
    min_r2 = check_range("min_r2", min_r2, -np.inf, 1.0)
    levels, curves = _curve(recording, "contrast", reduce=reduce)
    if np.any((levels < 0) | (levels > 1)):
        raise ValueError(f"contrast must be in [0, 1], got range [{levels.min()}, {levels.max()}]")
    fits = [_fit_curve(levels, curves[:, u], min_r2) for u in range(curves.shape[1])]
    cols = {"unit": np.arange(len(fits))}
    for name in ("c50", "n", "r_max", "baseline", "r2"):
        cols[name] = np.array([getattr(f, name) for f in fits], dtype=np.float64)
    cols["success"] = np.array([f.success for f in fits], dtype=bool)
    cols["message"] = np.array([f.message for f in fits], dtype=str)
    return Table(cols)


def size_tuning(recording, *, baseline: float = 0.0, reduce: str = "mean") -> Table:
    """Grating summation field and surround suppression index per unit (Cavanaugh 2002).

    Parameters
    ----------
    recording : Recording
        Needs a ``radius`` condition column (degrees; ``inf`` = full field) with at
        least 3 sizes; other columns constant or nuisance (averaged).  A time axis
        is averaged.
    baseline : float
        Spontaneous response subtracted before computing the SSI (default 0).
    reduce : {"mean", "max"}
        How rows at one radius are combined (see :func:`contrast_response`).

    Returns
    -------
    Table
        One row per unit: ``unit``; ``gsf_radius`` (deg; the smallest radius whose
        response is the peak, i.e. within a relative 1e-4 of the maximum response:
        near-ties are resolved towards the smaller radius, see
        :func:`analysis._peaks.first_peak`) and ``gsf_diameter`` (= 2 × radius, the measure
        Cavanaugh et al. report); ``peak`` and ``plateau`` (baseline-subtracted
        responses at the GSF and at the largest radius); ``ssi`` =
        ``(peak − plateau) / peak``; ``peak_at_largest`` (True when the response still
        grows at the largest size, so the GSF is a lower bound and SSI = 0);
        ``responsive`` (peak > 0).  Units whose baseline-subtracted peak is <= 0
        have no defined SSI: ``responsive`` is False and ``ssi`` is NaN.

    Raises
    ------
    ValueError
        If there is no ``radius`` column, fewer than 3 sizes, a radius <= 0, or a
        non-nuisance column varies.

    Examples
    --------
    >>> from analysis.recording import Recording
    >>> radius = np.array([0.25, 0.5, 1.0, 2.0, np.inf])
    >>> rec = Recording({"radius": radius}, np.array([[2.0], [4.0], [3.0], [3.0], [3.0]]))
    >>> row = size_tuning(rec).row(0)
    >>> row["gsf_radius"], row["ssi"], row["responsive"]
    (0.5, 0.25, True)
    """
    baseline = check_real("baseline", baseline)
    levels, curves = _curve(recording, "radius", reduce=reduce)
    if levels.size < 3:
        raise ValueError(f"size tuning needs at least 3 radii, got {levels.size}")
    if np.any(levels <= 0):
        raise ValueError(f"radius must be > 0, got minimum {levels.min()}")
    curves = curves - baseline
    if not np.all(np.isfinite(curves)):
        raise ValueError(f"baseline {baseline:g} overflows the responses")
    # first (smallest) radius within PEAK_RTOL of the maximum: near-flat curves give the
    # same GSF whatever rounding noise (thread count, BLAS) did to the plateau
    peak_idx = first_peak(curves, axis=0)
    units = np.arange(curves.shape[1])
    peak = curves[peak_idx, units]
    plateau = curves[-1]
    responsive = peak > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ssi = np.where(responsive, (peak - plateau) / np.where(responsive, peak, 1.0), np.nan)
    gsf = levels[peak_idx]
    return Table({
        "unit": units,
        "gsf_radius": gsf,
        "gsf_diameter": 2.0 * gsf,
        "peak": peak,
        "plateau": plateau,
        "ssi": ssi,
        "peak_at_largest": peak_idx == levels.size - 1,
        "responsive": responsive,
    })
