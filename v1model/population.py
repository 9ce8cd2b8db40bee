"""Populations of V1 simple cells with parameters sampled from macaque data.

:func:`sample_population` draws per-unit Gabor parameters — orientation, peak
spatial frequency, envelope sizes and phase — for
:meth:`v1model.v1.V1Model.from_population`.

Macaque source (``source="macaque"``)
-------------------------------------
* **Orientation** — De Valois, Yund & Hepler (1982), Vision Res 22:531: 66, 49,
  77 and 54 cells in bins centred at 0, 45, 90 and 135° (a cardinal bias).  A
  bin is drawn with probability proportional to its count, then the orientation
  is uniform within ±22.5° of the centre (wrapped into [0, 180)).
* **Peak spatial frequency** — De Valois, Albrecht & Thorell (1982), Vision Res
  22:545: 4, 4, 8, 25, 32, 26, 28 and 12 cells in eight half-octave bins.  We
  take the bin *edges* to be ``0.5 · √2**k`` c/deg, k = 0…8, so the bins cover
  exactly 0.5–8 c/deg (labels 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6 are the
  lower edges).  This choice reproduces the paper's summary statistics: median
  2.72 c/deg (reported ≈ 2.8) and inter-quartile range 1.83–4.27 c/deg (reported
  ≈ 1.7–4.6); centring the bins on the labels instead would put the median at
  ≈ 2.3.  Within a bin the frequency is log-uniform.
* **Envelope size in cycles** — Ringach (2002), J Neurophysiol 88:455: simple
  cells cluster at ``nx = σx·f`` and ``ny = σy·f`` below ≈ 0.5.  We use
  log-normal marginals with medians nx = 0.37 and ny = 0.45 *(check: secondary
  source)* and log-standard deviation 0.5 (natural log; our choice, which
  puts ≈ 73% of cells below nx = 0.5 and 95% of nx within 0.14–0.98).
* **Correlations** — drawn through a Gaussian copula: a latent standard normal
  triple ``(z_sf, z_nx, z_ny)`` with correlations ρ(sf, nx) = ρ(sf, ny) = 0.2 and
  ρ(nx, ny) = 0.5 *(check: chosen to match the qualitative findings, not fitted)*,
  mapped to the marginals above (``sf = F⁻¹(Φ(z_sf))`` with ``F`` the De Valois
  histogram's distribution function).  So receptive fields have weakly *more*
  cycles at high sf (a positive sf–size-in-cycles correlation) while their size
  in degrees, ``σx = nx / sf``, falls steeply with sf; and nx, ny rise together
  (Ringach's cloud lies along a diagonal).
* **Phase** — uniform in [0, 360) (Ringach 2002 finds phases spread widely).

Uniform control (``source="uniform"``)
--------------------------------------
Orientation uniform in [0, 180), sf log-uniform over the same 0.5–8 c/deg, nx
and ny independently uniform in [0.1, 1.0] cycles, phase uniform in [0, 360);
no correlations.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_choice,
    check_int,
    check_nonnegative,
)
from stimuli.resources import MAX_IMAGES
from stimuli.table import Table

#: De Valois, Yund & Hepler 1982: centres (deg) of the preferred-orientation bins.
ORIENTATION_BIN_CENTRES = (0.0, 45.0, 90.0, 135.0)
#: De Valois, Yund & Hepler 1982: cells per orientation bin (same order).
ORIENTATION_COUNTS = (66, 49, 77, 54)
#: Half-width (deg) of each orientation bin.
ORIENTATION_BIN_HALF_WIDTH = 22.5
#: De Valois, Albrecht & Thorell 1982: half-octave peak-sf bin edges (c/deg), 0.5–8.
SF_BIN_EDGES = tuple(float(0.5 * np.sqrt(2.0) ** k) for k in range(9))
#: De Valois, Albrecht & Thorell 1982: cells per peak-sf bin (same order).
SF_COUNTS = (4, 4, 8, 25, 32, 26, 28, 12)
#: Ringach 2002 medians of nx = σx·f and ny = σy·f, in cycles *(check)*.
NX_MEDIAN = 0.37
NY_MEDIAN = 0.45
#: Log-standard deviation (natural log) of the nx and ny log-normals (our choice).
N_LOG_SD = 0.5
#: Latent Gaussian correlations: (sf, nx), (sf, ny), (nx, ny) *(check)*.
LATENT_CORRELATION = {"sf_nx": 0.2, "sf_ny": 0.2, "nx_ny": 0.5}
#: Range (cycles) of nx and ny in the uniform control.
UNIFORM_N_RANGE = (0.1, 1.0)
SOURCES = ("macaque", "uniform")


def sf_quantile(u: np.ndarray) -> np.ndarray:
    """Inverse distribution function of the De Valois et al. (1982) peak-sf histogram.

    The histogram :data:`SF_COUNTS` over :data:`SF_BIN_EDGES` with a log-uniform
    density inside each bin.

    Parameters
    ----------
    u : array_like
        Probabilities in [0, 1].

    Returns
    -------
    ndarray
        Peak spatial frequencies in c/deg, in [0.5, 8], same shape as ``u``.

    Raises
    ------
    ValueError
        If a probability is outside [0, 1] or not finite.

    Examples
    --------
    >>> round(float(sf_quantile(0.5)), 2)
    2.72
    """
    u = np.asarray(u, dtype=float)
    if not np.all(np.isfinite(u)) or np.any((u < 0) | (u > 1)):
        raise ValueError("u must be probabilities in [0, 1]")
    counts = np.asarray(SF_COUNTS, dtype=float)
    cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
    log_edges = np.log2(SF_BIN_EDGES)
    # piecewise-linear CDF in log2(sf): invert by interpolation
    return 2.0 ** np.interp(u, cdf, log_edges)


def sample_population(
    n: int,
    *,
    source: str = "macaque",
    rng: RngLike = None,
) -> Table:
    """Draw ``n`` simple-cell parameter sets from macaque data or a uniform control.

    See the module docstring for the distributions and their sources.

    Parameters
    ----------
    n : int
        Number of units, >= 1.
    source : {"macaque", "uniform"}
        ``"macaque"``: De Valois 1982 orientation and peak sf, Ringach 2002-like nx
        and ny, with a positive sf–nx correlation.  ``"uniform"``: the flat control.
    rng : None, int or numpy.random.Generator
        Source of randomness; the same seed gives the same table, bit for bit.

    Returns
    -------
    Table
        ``n`` rows with columns ``orientation`` (deg, [0, 180)), ``sf`` (c/deg),
        ``nx``, ``ny`` (cycles), ``sigma_x``, ``sigma_y`` (deg; ``nx / sf``,
        ``ny / sf``) and ``phase`` (deg, [0, 360)).

    Raises
    ------
    ValueError, TypeError
        If ``n`` is not a positive integer, ``source`` is unknown or ``rng`` is not
        a valid seed or Generator.

    Examples
    --------
    >>> pop = sample_population(5, rng=0)
    >>> len(pop), pop.names
    (5, ('orientation', 'sf', 'nx', 'ny', 'sigma_x', 'sigma_y', 'phase'))
    >>> bool(np.all((pop["sf"] >= 0.5) & (pop["sf"] <= 8)))
    True
    """
    n = check_int("n", n, minimum=1)
    if n > MAX_IMAGES:
        raise ValueError(f"n must be at most {MAX_IMAGES} cells, got {n}")
    source = check_choice("source", source, SOURCES)
    gen = as_rng(rng)
    if source == "macaque":
        counts = np.asarray(ORIENTATION_COUNTS, dtype=float)
        bins = gen.choice(len(counts), size=n, p=counts / counts.sum())
        offset = gen.uniform(-ORIENTATION_BIN_HALF_WIDTH, ORIENTATION_BIN_HALF_WIDTH, size=n)
        orientation = np.mod(np.asarray(ORIENTATION_BIN_CENTRES)[bins] + offset, 180.0)
        c = LATENT_CORRELATION
        corr = np.array([[1.0, c["sf_nx"], c["sf_ny"]],
                         [c["sf_nx"], 1.0, c["nx_ny"]],
                         [c["sf_ny"], c["nx_ny"], 1.0]])
        z = gen.standard_normal((n, 3)) @ np.linalg.cholesky(corr).T
        sf = sf_quantile(stats.norm.cdf(z[:, 0]))
        nx = NX_MEDIAN * np.exp(N_LOG_SD * z[:, 1])
        ny = NY_MEDIAN * np.exp(N_LOG_SD * z[:, 2])
    else:
        orientation = gen.uniform(0.0, 180.0, size=n)
        lo, hi = np.log2(SF_BIN_EDGES[0]), np.log2(SF_BIN_EDGES[-1])
        sf = 2.0 ** gen.uniform(lo, hi, size=n)
        nx = gen.uniform(*UNIFORM_N_RANGE, size=n)
        ny = gen.uniform(*UNIFORM_N_RANGE, size=n)
    phase = gen.uniform(0.0, 360.0, size=n)
    # mod can return exactly 180.0 for offsets a rounding error below it
    orientation = np.where(orientation >= 180.0, 0.0, orientation)
    return Table({
        "orientation": orientation, "sf": sf, "nx": nx, "ny": ny,
        "sigma_x": nx / sf, "sigma_y": ny / sf, "phase": phase,
    })


# ====================================================================== V1Model's default
# The population behind ``V1Model(display)``: the published histograms themselves
# (as Brain-Score packages them and VOneNet samples them), not assumed shapes.

#: De Valois, Albrecht & Thorell 1982 peak-sf bin edges (c/deg), as packaged for Brain-Score.
PEAK_SF_EDGES = (0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.2, 16.0, 22.4)
#: De Valois et al. 1982 cells per peak-sf bin, by class and eccentricity.
PEAK_SF_COUNTS_BY_GROUP = {
    "simple_foveal": (0, 4, 4, 8, 25, 33, 26, 28, 12, 5, 2, 1),
    "complex_foveal": (0, 0, 0, 9, 9, 7, 10, 23, 12, 8, 3, 3),
    "simple_parafoveal": (2, 4, 10, 12, 18, 7, 18, 3, 4, 0, 0, 0),
    "complex_parafoveal": (1, 2, 1, 2, 5, 15, 13, 9, 3, 2, 0, 0),
}
#: The four groups summed (n = 363), as Brain-Score compares them.
PEAK_SF_COUNTS = tuple(int(sum(c)) for c in zip(*PEAK_SF_COUNTS_BY_GROUP.values(), strict=True))
#: Ringach 2002 nx and ny bin edges (cycles): 5 log-spaced bins over 10^-1 … 10^0.2.
RINGACH_EDGES = tuple(float(v) for v in 10.0 ** np.linspace(-1.0, 0.2, 6))
#: Ringach 2002 joint counts, rows nx bins, columns ny bins (n = 100; as VOneNet samples).
RINGACH_COUNTS = ((2, 0, 1, 0, 0), (8, 9, 4, 1, 0), (1, 2, 19, 17, 3), (0, 0, 1, 7, 4),
                  (0, 0, 0, 0, 0))


def display_sf_range(display) -> tuple[float, float]:
    """The peak spatial frequencies a display can show: the clipping rule of the default V1.

    A unit's carrier must repeat at least **twice across the display's shorter side**
    (below that its tuning cannot be measured with gratings on the display) and lie at
    least **half an octave below the Nyquist frequency** (a Gabor's spectrum has a
    width; nearer the Nyquist limit its upper flank aliases).  At 64 px and 16 px/deg
    (4°) that is 0.5–5.66 c/deg, which keeps 76% of De Valois et al.'s cells.

    Parameters
    ----------
    display : Display
        The screen.

    Returns
    -------
    (low, high) : tuple of float
        ``2 / min(size_degrees)`` and ``nyquist_cpd / √2``, in c/deg.

    Raises
    ------
    TypeError
        If ``display`` is not a :class:`stimuli.display.Display`.
    ValueError
        If the display is too small for any frequency (``low >= high``).

    Examples
    --------
    >>> from stimuli.display import Display
    >>> [round(f, 2) for f in display_sf_range(Display((64, 64), 16))]
    [0.5, 5.66]
    """
    from stimuli.display import Display

    if not isinstance(display, Display):
        raise TypeError(f"display must be a stimuli.display.Display, got {type(display)}")
    low = 2.0 / min(display.size_degrees)
    high = display.nyquist_cpd / np.sqrt(2.0)
    if low >= high:
        raise ValueError(f"display {display.shape} at {display.pixels_per_degree:g} px/deg is "
                         f"too small: two cycles across it need {low:g} c/deg, above half an "
                         f"octave below its Nyquist frequency ({high:g} c/deg)")
    return float(low), float(high)


def _log_histogram_quantile(u: np.ndarray, edges, counts) -> np.ndarray:
    """Inverse CDF of a histogram with log-uniform density within each bin."""
    counts = np.asarray(counts, dtype=float)
    cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
    keep = np.r_[True, np.diff(cdf) > 0]          # empty bins: no flat CDF segments
    return np.exp(np.interp(u, cdf[keep], np.log(np.asarray(edges, float))[keep]))


def _log_histogram_cdf(x: float, edges, counts) -> float:
    counts = np.asarray(counts, dtype=float)
    cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
    return float(np.interp(np.log(x), np.log(np.asarray(edges, float)), cdf))


def sample_v1_population(
    n: int,
    display,
    *,
    complexity: tuple[float, float] = (1.0, 1.0),
    untuned: float = 0.0,
    rng: RngLike = None,
) -> Table:
    """Draw ``n`` V1 units from the published macaque histograms, within what ``display`` shows.

    * **Orientation** — De Valois, Yund & Hepler 1982: counts 66, 49, 77, 54 in bins
      centred at 0/45/90/135° (the counts VOneNet samples; Brain-Score packages
      110, 83, 100, 92), uniform within a bin.
    * **Peak sf** — De Valois, Albrecht & Thorell 1982: the simple + complex, foveal +
      parafoveal counts summed (:data:`PEAK_SF_COUNTS` over :data:`PEAK_SF_EDGES`,
      0.35–22.4 c/deg, log-uniform within a bin) **conditioned on**
      :func:`display_sf_range`: frequencies the display cannot show are not clipped
      to its limits (that would pile units up at the edges) but the histogram is
      truncated and renormalised, so within the range the relative frequencies are
      the paper's.
    * **nx, ny** — Ringach 2002: a cell of the joint histogram :data:`RINGACH_COUNTS`
      drawn by its count, then nx and ny log-uniform within it (as VOneNet does).
    * **Phase** — uniform in [0, 360).
    * **Complexity** — the weight of the energy pathway in
      :func:`v1model.cells.mix_pathways` (0 linear, 1 energy; Mechler & Ringach
      2002's continuum), Beta(a, b) distributed.  It is drawn by inverse CDF from a
      uniform that does not depend on ``(a, b)``, so changing the Beta parameters
      with the same seed moves every unit's complexity smoothly and leaves its other
      parameters unchanged (what :mod:`analysis.population_fit` relies on).
    * **Untuned weight** — each unit's weight of the orientation-independent
      component of :class:`v1model.v1.V1Model` (its ``untuned`` stage): exponential
      with mean ``untuned``, again by inverse CDF from a uniform drawn last, so the
      mean scales every unit's weight and changes nothing else.  An exponential
      spread gives most units a small untuned share (sharp tuning) and a few a large
      one (broad tuning), as the wide circular-variance distribution of macaque V1
      asks for (Ringach et al. 2002).

    Parameters
    ----------
    n : int
        Number of units, >= 1.
    display : Display
        The screen; sets the sf range.
    complexity : (float, float)
        Beta parameters ``(a, b)``, each > 0.  Default (1, 1): uniform.
    untuned : float
        Mean of the exponential per-unit untuned weights, >= 0 (dimensionless).
    rng : None, int or numpy.random.Generator
        Source of randomness; the same seed gives the same table, bit for bit.

    Returns
    -------
    Table
        ``n`` rows: ``orientation`` (deg), ``sf`` (c/deg), ``nx``, ``ny`` (cycles),
        ``sigma_x``, ``sigma_y`` (deg), ``phase`` (deg), ``complexity`` ([0, 1]),
        ``untuned`` (>= 0).

    Raises
    ------
    ValueError, TypeError
        For a bad ``n``, display, ``complexity`` or ``rng``.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> pop = sample_v1_population(100, Display((64, 64), 16), rng=0)
    >>> bool(pop["sf"].min() >= 0.5 and pop["sf"].max() <= 5.66)
    True
    >>> pop.names[-2:]
    ('complexity', 'untuned')
    """
    n = check_int("n", n, minimum=1)
    if n > MAX_IMAGES:
        raise ValueError(f"n must be at most {MAX_IMAGES} cells, got {n}")
    low, high = display_sf_range(display)
    a, b = _beta_parameters("complexity", complexity)
    untuned = check_nonnegative("untuned", untuned)
    gen = as_rng(rng)
    counts = np.asarray(ORIENTATION_COUNTS, dtype=float)
    bins = gen.choice(len(counts), size=n, p=counts / counts.sum())
    offset = gen.uniform(-ORIENTATION_BIN_HALF_WIDTH, ORIENTATION_BIN_HALF_WIDTH, size=n)
    orientation = np.mod(np.asarray(ORIENTATION_BIN_CENTRES)[bins] + offset, 180.0)
    orientation = np.where(orientation >= 180.0, 0.0, orientation)
    # peak sf: the summed histogram truncated to [low, high]
    u_low = _log_histogram_cdf(low, PEAK_SF_EDGES, PEAK_SF_COUNTS)
    u_high = _log_histogram_cdf(high, PEAK_SF_EDGES, PEAK_SF_COUNTS)
    u = u_low + gen.random(n) * (u_high - u_low)
    sf = np.clip(_log_histogram_quantile(u, PEAK_SF_EDGES, PEAK_SF_COUNTS), low, high)
    # nx, ny: a cell of Ringach's joint histogram, log-uniform within it
    joint = np.asarray(RINGACH_COUNTS, dtype=float).ravel()
    cell = gen.choice(joint.size, size=n, p=joint / joint.sum())
    log_edges = np.log10(RINGACH_EDGES)
    ix, iy = np.divmod(cell, len(RINGACH_EDGES) - 1)
    nx = 10.0 ** gen.uniform(log_edges[ix], log_edges[ix + 1])
    ny = 10.0 ** gen.uniform(log_edges[iy], log_edges[iy + 1])
    phase = gen.uniform(0.0, 360.0, size=n)
    complexity_value = stats.beta.ppf(gen.random(n), a, b)
    untuned_value = untuned * -np.log1p(-gen.random(n))
    return Table({
        "orientation": orientation, "sf": sf, "nx": nx, "ny": ny,
        "sigma_x": nx / sf, "sigma_y": ny / sf, "phase": phase,
        "complexity": np.clip(complexity_value, 0.0, 1.0), "untuned": untuned_value,
    })


def _beta_parameters(name: str, value) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (a, b) of Beta parameters, got {value!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        raise ValueError(f"{name} must be two positive finite Beta parameters, got {value!r}")
    return a, b
