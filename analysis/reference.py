"""Macaque V1 reference distributions and a similarity score of model samples against them.

The distributions of ``shared/REFERENCE.md`` are bundled as data in
``analysis/data/macaque_v1.json``, each with its citation, a ``check`` flag for
values that come from secondary sources or carry an assumed shape, and a note
saying exactly what is data and what is assumed.

:func:`similarity_score` is **our implementation of the idea** behind the
Brain-Score V1 property benchmarks (Marques, Schrimpf & DiCarlo 2021): one minus
the Kolmogorov–Smirnov distance between the model's distribution of a property
and the reference distribution, bootstrapped over model units.  It is not their
code and its numbers are not comparable with theirs: they compare with the
original per-cell data and divide by the data's own ceiling, whereas several
references here are histograms or summaries.  For histogram references the CDFs
are compared only at the published bin edges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy.special import ndtr, ndtri

from stimuli._validation import as_rng, check_array, check_count, check_int

__all__ = ["ReferenceDistribution", "SimilarityScore", "list_references",
           "reference_distribution", "similarity_score"]

_KINDS = ("histogram", "quantiles", "lognormal", "normal_mixture")


@lru_cache(maxsize=1)
def _load() -> dict:
    text = resources.files("analysis").joinpath("data", "macaque_v1.json").read_text("utf-8")
    return json.loads(text)


@dataclass(frozen=True, eq=False)
class ReferenceDistribution:
    """One reference distribution of a macaque V1 property.

    Attributes
    ----------
    name : str
        Property name (see :func:`list_references`).
    kind : str
        ``"histogram"``, ``"quantiles"``, ``"lognormal"`` or ``"normal_mixture"``.
    description, units, source, note : str
        What is measured, in which units, the citation, and what is data and what is
        assumed.
    check : bool
        True when the numbers come from secondary sources or the shape is assumed.
    params : dict
        The kind's parameters (``bin_edges``/``counts``/``period``; ``values``/
        ``probabilities``; ``median``/``sigma_log``; ``weights``/``means``/``sds``/
        ``bounds``).
    """

    name: str
    kind: str
    description: str
    units: str
    source: str
    check: bool
    note: str
    params: dict = field(repr=False)

    @property
    def binned(self) -> bool:
        """True for histogram references (CDFs compared at the bin edges only)."""
        return self.kind == "histogram"

    @property
    def bin_edges(self) -> np.ndarray | None:
        return np.asarray(self.params["bin_edges"], dtype=float) if self.binned else None

    @property
    def counts(self) -> np.ndarray | None:
        return np.asarray(self.params["counts"], dtype=float) if self.binned else None

    def wrap(self, values: np.ndarray) -> np.ndarray:
        """Circular values (a ``period``) mapped into ``[first edge, first edge + period)``."""
        period = self.params.get("period")
        if period is None:
            return values
        lo = self.params["bin_edges"][0]
        return (values - lo) % period + lo

    def cdf(self, x) -> np.ndarray:
        """The reference CDF at ``x`` (histograms: linear within bins, in log sf for ``peak_sf``).

        Parameters
        ----------
        x : array_like
            Property values in the reference's units.

        Returns
        -------
        ndarray of float64 in [0, 1], same shape as ``x``

        Raises
        ------
        ValueError
            If ``x`` holds NaN.

        Examples
        --------
        >>> ref = reference_distribution("surround_suppression_index")
        >>> ref.cdf([0.14, 0.33]).tolist()
        [0.25, 0.5]
        """
        x = check_array("x", x, dtype=np.float64, nonempty=False)
        p = self.params
        if self.kind == "histogram":
            edges = np.asarray(p["bin_edges"], float)
            cum = np.r_[0.0, np.cumsum(p["counts"])] / np.sum(p["counts"])
            if p.get("log", False):  # uniform in log value within a bin
                with np.errstate(divide="ignore"):
                    return np.interp(np.log(np.maximum(x, 0.0)), np.log(edges), cum,
                                     left=0.0, right=1.0)
            return np.interp(self.wrap(x), edges, cum, left=0.0, right=1.0)
        if self.kind == "quantiles":
            return np.interp(x, p["values"], p["probabilities"], left=0.0, right=1.0)
        if self.kind == "lognormal":
            with np.errstate(divide="ignore"):
                z = (np.log(np.maximum(x, 0.0)) - np.log(p["median"])) / p["sigma_log"]
            return np.where(x > 0, ndtr(z), 0.0)
        lo, hi = p["bounds"]
        total = np.zeros_like(x)
        for w, m, s in zip(p["weights"], p["means"], p["sds"], strict=True):
            a, b = ndtr((lo - m) / s), ndtr((hi - m) / s)
            total += w * (ndtr((np.clip(x, lo, hi) - m) / s) - a) / (b - a)
        return total / np.sum(p["weights"])

    def sample(self, n: int, *, rng=None) -> np.ndarray:
        """Draw ``n`` values from the reference (inverse-CDF sampling).

        Parameters
        ----------
        n : int
            Number of values, >= 1.
        rng : None, int or numpy.random.Generator
            Source of randomness.

        Returns
        -------
        ndarray of shape (n,), float64

        Raises
        ------
        ValueError, TypeError
            If ``n`` is not a positive integer or ``rng`` is invalid.

        Examples
        --------
        >>> x = reference_distribution("peak_sf").sample(1000, rng=0)
        >>> bool(0.5 <= x.min() and x.max() <= 8.0)
        True
        """
        n = check_int("n", n, minimum=1)
        gen = as_rng(rng)
        u = gen.random(n)
        p = self.params
        if self.kind == "histogram":
            edges = np.asarray(p["bin_edges"], float)
            cum = np.r_[0.0, np.cumsum(p["counts"])] / np.sum(p["counts"])
            if p.get("log", False):
                return np.exp(np.interp(u, cum, np.log(edges)))
            x = np.interp(u, cum, edges)
            if p.get("period") is not None:
                x = x % p["period"]
            return x
        if self.kind == "quantiles":
            return np.interp(u, p["probabilities"], p["values"])
        if self.kind == "lognormal":
            return np.exp(np.log(p["median"]) + p["sigma_log"] * ndtri(u))
        weights = np.asarray(p["weights"], float) / np.sum(p["weights"])
        comp = gen.choice(len(weights), size=n, p=weights)
        lo, hi = p["bounds"]
        m = np.asarray(p["means"], float)[comp]
        s = np.asarray(p["sds"], float)[comp]
        a, b = ndtr((lo - m) / s), ndtr((hi - m) / s)
        return m + s * ndtri(a + u * (b - a))


def list_references() -> tuple[str, ...]:
    """Names of the bundled reference properties.

    Returns
    -------
    tuple of str

    Raises
    ------
    OSError
        If the bundled data file is missing (a broken installation).

    Examples
    --------
    >>> "peak_sf" in list_references()
    True
    """
    return tuple(_load()["properties"])


def reference_distribution(name: str) -> ReferenceDistribution:
    """The bundled macaque V1 reference distribution of one property.

    Parameters
    ----------
    name : str
        One of :func:`list_references`: ``preferred_orientation``, ``peak_sf``,
        ``ringach_nx``, ``ringach_ny``, ``circular_variance``,
        ``orientation_bandwidth``, ``sf_bandwidth``, ``surround_suppression_index``,
        ``grating_summation_field``, ``modulation_ratio``.

    Returns
    -------
    ReferenceDistribution

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the known names).

    Examples
    --------
    >>> ref = reference_distribution("peak_sf")
    >>> ref.kind, ref.units, ref.source.split(",")[0]
    ('histogram', 'c/deg', 'De Valois')
    """
    props = _load()["properties"]
    if not isinstance(name, str):
        raise TypeError(f"name must be a reference property name (str), got {name!r}")
    if name not in props:
        raise ValueError(f"name: unknown reference property {name!r}; known: "
                         f"{', '.join(props)}")
    entry = dict(props[name])
    kind = entry.pop("kind")
    if kind not in _KINDS:  # pragma: no cover - guards the data file
        raise ValueError(f"reference {name!r} has unknown kind {kind!r}")
    common = {k: entry.pop(k) for k in ("description", "units", "source", "check", "note")}
    if name == "peak_sf":
        entry["log"] = True          # half-octave bins: uniform in log sf within a bin
    return ReferenceDistribution(name=name, kind=kind, params=entry, **common)


@dataclass(frozen=True)
class SimilarityScore:
    """Result of :func:`similarity_score`.

    Attributes
    ----------
    name : str
        The reference property.
    score : float
        Mean over bootstrap resamples of ``1 − KS``, in [0, 1].
    ci_low, ci_high : float
        2.5th and 97.5th percentiles of the bootstrap scores.
    ks : float
        KS distance of the full sample (no resampling).
    ceiling : float
        Mean score of samples of the same size drawn from the reference itself: the
        best a model can expect at this sample size.
    n : int
        Number of finite model values used.
    check : bool
        The reference's ``check`` flag (approximate or assumed-shape reference).
    source : str
        The reference's citation.
    """

    name: str
    score: float
    ci_low: float
    ci_high: float
    ks: float
    ceiling: float
    n: int
    check: bool
    source: str


def _ks(values: np.ndarray, ref: ReferenceDistribution) -> np.ndarray:
    """KS distance of each row of ``values (b, n)`` to the reference."""
    b, n = values.shape
    if ref.binned:
        edges = ref.bin_edges
        wrapped = ref.wrap(values)
        ecdf = (wrapped[:, :, None] <= edges).mean(axis=1)
        cum = np.r_[0.0, np.cumsum(ref.counts)] / ref.counts.sum()
        return np.abs(ecdf - cum[None]).max(axis=1)
    x = np.sort(values, axis=1)
    f = ref.cdf(x)
    above = np.arange(1, n + 1) / n - f
    below = f - np.arange(n) / n
    return np.maximum(above.max(axis=1), below.max(axis=1))


def similarity_score(values, name: str, *, n_boot: int = 1000, rng=None) -> SimilarityScore:
    """How close a model's distribution of a property is to macaque V1: ``1 − KS``.

    Our implementation of the Brain-Score V1 idea (Marques, Schrimpf & DiCarlo 2021),
    not theirs: the one-sample Kolmogorov–Smirnov distance between the model values
    and the bundled reference CDF (for histogram references: the largest CDF
    difference at the published bin edges, so within-bin detail the data do not
    have is never scored), bootstrapped over model units.  No ceiling division is
    applied; ``ceiling`` reports the score expected from a sample of the reference
    itself of the same size.

    Parameters
    ----------
    values : array_like of shape (n,)
        The property for each model unit, in the reference's units (see
        ``reference_distribution(name).units``).  Must be finite.
    name : str
        Reference name (see :func:`list_references`).
    n_boot : int
        Bootstrap resamples (>= 1).
    rng : None, int or numpy.random.Generator
        Source of the resampling.

    Returns
    -------
    SimilarityScore
        ``score`` (bootstrap mean), ``ci_low``, ``ci_high``, ``ks``, ``ceiling``, ``n``,
        ``check``, ``source``.

    Raises
    ------
    ValueError
        If ``values`` is empty, not 1-D or holds NaN or infinity (drop failed fits
        first), or ``name`` is unknown.

    Examples
    --------
    >>> ref = reference_distribution("surround_suppression_index")
    >>> same = similarity_score(ref.sample(2000, rng=0), "surround_suppression_index", rng=1)
    >>> shifted = similarity_score(ref.sample(2000, rng=0) + 0.4,
    ...                            "surround_suppression_index", rng=1)
    >>> same.score > 0.95, shifted.score < 0.6
    (True, True)
    """
    ref = reference_distribution(name)
    x = check_array("values", values, ndim=1, shape_doc="(n,)", dtype=np.float64)
    n_boot = check_count("n_boot", n_boot, maximum=10**6)
    gen = as_rng(rng)
    n = x.size
    ks_full = float(_ks(x[None], ref)[0])
    boot = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = gen.integers(0, n, size=(m, n))
        boot[start:start + m] = 1.0 - _ks(x[idx], ref)
    ceiling_draws = np.stack([ref.sample(n, rng=gen) for _ in range(min(n_boot, 200))])
    ceiling = float(np.mean(1.0 - _ks(ceiling_draws, ref)))
    low, high = np.percentile(boot, [2.5, 97.5])
    return SimilarityScore(name=name, score=float(boot.mean()), ci_low=float(low),
                           ci_high=float(high), ks=ks_full, ceiling=ceiling, n=n,
                           check=ref.check, source=ref.source)
