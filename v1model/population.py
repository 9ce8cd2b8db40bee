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

from stimuli._shared.validation import RngLike, as_rng, check_choice, check_int
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
