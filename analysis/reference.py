"""Macaque V1 reference distributions and a similarity score of model samples against them.

The published distributions (De Valois, Albrecht & Thorell 1982; De Valois, Yund &
Hepler 1982; Ringach, Shapley & Hawken 2002; Ringach 2002; Cavanaugh, Bair &
Movshon 2002; Schiller, Finlay & Volman 1976; Skottun et al. 1991; as collected by
Marques, Schrimpf & DiCarlo 2021) are bundled as data in
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

from stimuli._shared.validation import as_rng, check_array, check_choice, check_count, check_int

__all__ = ["COLLECTIONS", "ReferenceDistribution", "SimilarityScore", "list_references",
           "reference_distribution", "similarity_score"]

_KINDS = ("histogram", "quantiles", "lognormal", "normal_mixture", "none")

#: Reference collections by name: the package's original macaque V1 references (used by
#: ``similarity_score(method="ks")``) and the Marques et al. 2021 / Brain-Score ones
#: (``method="brainscore"``).
COLLECTIONS: dict[str, str] = {"macaque_v1": "macaque_v1.json",
                               "marques2021": "marques2021_v1.json"}
_METHODS = ("ks", "brainscore")
_CEILINGS = ("bootstrap", "split_half")


@lru_cache(maxsize=4)
def _load(collection: str = "macaque_v1") -> dict:
    if not isinstance(collection, str) or collection not in COLLECTIONS:
        raise ValueError(f"collection must be one of {', '.join(map(repr, COLLECTIONS))}; "
                         f"got {collection!r}")
    text = resources.files("analysis").joinpath("data", COLLECTIONS[collection]).read_text("utf-8")
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
        ``bounds``), plus for the ``"marques2021"`` collection the scoring ``bin_edges``
        of every kind and, for summed histograms, the ``components`` (e.g. simple and
        complex counts).
    status : str
        ``"published"`` (the paper's histogram), ``"approximate"`` (a summary with an
        assumed shape; ``note`` says what is assumed) or ``"none"`` (no numbers
        bundled: the property can be computed but not scored).
    collection : str
        ``"macaque_v1"`` or ``"marques2021"`` (see :data:`COLLECTIONS`).
    n : int or None
        Number of cells in the sample, including ``n_undefined`` cells without a value.
    n_undefined : int
        Cells of the sample without a value (e.g. no GSF where suppression <= 10%).
    cells : str
        Which cells (simple/complex, foveal/parafoveal, selection criteria).
    count_used : str
        Which counts are used where more than one set is in circulation.
    """

    name: str
    kind: str
    description: str
    units: str
    source: str
    check: bool
    note: str
    params: dict = field(repr=False)
    status: str = "published"
    collection: str = "macaque_v1"
    n: int | None = None
    n_undefined: int = 0
    cells: str = ""
    count_used: str = ""

    @property
    def approximate(self) -> bool:
        """True unless the reference is the paper's own histogram (see ``status``, ``note``)."""
        if self.collection == "macaque_v1":
            return self.check
        return self.status != "published"

    @property
    def score_bin_edges(self) -> np.ndarray:
        """Bin edges used by ``similarity_score(method="brainscore")`` (Brain-Score's bins)."""
        if "bin_edges" not in self.params:
            raise ValueError(f"reference {self.name!r} has no scoring bins; use the "
                             f"'marques2021' collection for method='brainscore'")
        return np.asarray(self.params["bin_edges"], dtype=float)

    def bin_probabilities(self) -> np.ndarray:
        """Probability of each scoring bin (values outside the bins counted in the end bins).

        Returns
        -------
        ndarray of shape (n_bins,), float64, summing to 1

        Raises
        ------
        ValueError
            If the reference has no numbers (``status == "none"``) or no scoring bins.

        Examples
        --------
        >>> reference_distribution("sf_selective", collection="marques2021").bin_probabilities()
        array([0.16091954, 0.83908046])
        """
        self._require_numbers()
        edges = self.score_bin_edges
        if self.kind == "histogram":
            counts = np.asarray(self.params["counts"], dtype=float)
            return counts / counts.sum()
        cum = self.cdf(edges)
        cum[0], cum[-1] = 0.0, 1.0          # Brain-Score clips values into the end bins
        return np.diff(cum) / np.sum(np.diff(cum))

    def _require_numbers(self) -> None:
        if self.kind == "none":
            raise ValueError(f"reference {self.name!r} has no bundled numbers: {self.note}")

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
        >>> ref = reference_distribution("circular_variance")
        >>> ref.cdf([0.3, 0.6]).tolist()
        [0.25, 0.5]
        """
        self._require_numbers()
        x = check_array("x", x, dtype=np.float64, nonempty=False)
        p = self.params
        if self.kind == "quantiles" and p.get("log", False):
            with np.errstate(divide="ignore"):
                return np.interp(np.log(np.maximum(x, 0.0)), np.log(p["values"]),
                                 p["probabilities"], left=0.0, right=1.0)
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
        >>> bool(0.35 <= x.min() and x.max() <= 22.4)
        True
        """
        self._require_numbers()
        n = check_int("n", n, minimum=1)
        gen = as_rng(rng)
        u = gen.random(n)
        p = self.params
        if self.kind == "quantiles" and p.get("log", False):
            return np.exp(np.interp(u, p["probabilities"], np.log(p["values"])))
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


def list_references(collection: str = "macaque_v1") -> tuple[str, ...]:
    """Names of the bundled reference properties of one collection.

    Parameters
    ----------
    collection : {"macaque_v1", "marques2021"}
        The package's original references (default) or the Marques et al. 2021
        properties in Brain-Score's units and bins (see :data:`COLLECTIONS`).

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        If ``collection`` is unknown.
    OSError
        If the bundled data file is missing (a broken installation).

    Examples
    --------
    >>> "peak_sf" in list_references()
    True
    >>> "surround_diameter" in list_references("marques2021")
    True
    """
    check_choice("collection", collection, COLLECTIONS)
    return tuple(_load(collection)["properties"])


def reference_distribution(name: str, *, collection: str = "macaque_v1") -> ReferenceDistribution:
    """The bundled macaque V1 reference distribution of one property.

    Parameters
    ----------
    name : str
        One of ``list_references(collection)``.  ``"macaque_v1"``:
        ``preferred_orientation``, ``peak_sf``, ``ringach_nx``, ``ringach_ny``,
        ``circular_variance``, ``orientation_bandwidth``, ``sf_bandwidth`` (octaves),
        ``surround_suppression_index``, ``grating_summation_field``,
        ``modulation_ratio``.  ``"marques2021"``: the Brain-Score property names
        (``or_bandwidth``, ``sf_bandwidth`` as a cut-off ratio x 100, ...; see
        :func:`analysis.properties.list_properties`).
    collection : {"macaque_v1", "marques2021"}
        Which bundled collection.

    Returns
    -------
    ReferenceDistribution

    Raises
    ------
    ValueError
        If ``name`` or ``collection`` is unknown (the message lists the known names).

    Examples
    --------
    >>> ref = reference_distribution("peak_sf")
    >>> ref.kind, ref.units, ref.source.split(",")[0]
    ('histogram', 'c/deg', 'De Valois')
    >>> ref = reference_distribution("peak_sf", collection="marques2021")
    >>> ref.n, ref.approximate, len(ref.counts)
    (363, False, 12)
    """
    check_choice("collection", collection, COLLECTIONS)
    props = _load(collection)["properties"]
    if not isinstance(name, str):
        raise TypeError(f"name must be a reference property name (str), got {name!r}")
    if name not in props:
        raise ValueError(f"name: unknown reference property {name!r} in collection "
                         f"{collection!r}; known: {', '.join(props)}")
    entry = dict(props[name])
    kind = entry.pop("kind")
    if kind not in _KINDS:  # pragma: no cover - guards the data file
        raise ValueError(f"reference {name!r} has unknown kind {kind!r}")
    if collection == "macaque_v1":
        common = {k: entry.pop(k) for k in ("description", "units", "source", "check", "note")}
        if name == "peak_sf":
            entry["log"] = True          # half-octave bins: uniform in log sf within a bin
        return ReferenceDistribution(name=name, kind=kind, params=entry, **common)
    status = entry.pop("status")
    extra = {k: entry.pop(k) for k in ("description", "units", "source", "cells", "count_used")}
    return ReferenceDistribution(
        name=name, kind=kind, params=entry, check=status != "published",
        note=entry.pop("reason"), status=status, collection=collection, n=entry.pop("n", None),
        n_undefined=entry.pop("n_undefined", 0), **extra)


@dataclass(frozen=True)
class SimilarityScore:
    """Result of :func:`similarity_score`.

    Attributes
    ----------
    name : str
        The reference property.
    score : float
        Mean over bootstrap resamples of the similarity, in [0, 1]: ``1 − KS``
        (``method="ks"``) or ``1 − KS/KS_max`` on binned histograms
        (``method="brainscore"``) — the *raw* score.
    ci_low, ci_high : float
        2.5th and 97.5th percentiles of the bootstrap scores.
    ks : float
        KS distance of the full sample (no resampling); for ``"brainscore"`` the
        normalised ``KS/KS_max`` of the binned histograms.
    ceiling : float
        ``"ks"``: mean score of samples of the same size drawn from the reference
        itself.  ``"brainscore"``: the data's own ceiling (the reference scored against
        itself, see :func:`similarity_score`).
    n : int
        Number of model values passed (``"ks"``: all finite).
    check : bool
        The reference's ``check`` flag (approximate or assumed-shape reference).
    source : str
        The reference's citation.
    method : str
        ``"ks"`` or ``"brainscore"``.
    ceiled : float
        ``score / ceiling`` for ``"brainscore"`` (Brain-Score's ceiled score; may exceed
        1 by chance); NaN for ``"ks"``, which applies no ceiling.
    n_defined : int
        Model values that are not NaN (``"brainscore"`` drops undefined units).
    approximate : bool
        True unless the reference is the paper's own histogram.
    provenance : dict
        ``collection``, ``status``, ``source``, ``cells``, ``count_used``, ``n``,
        ``n_undefined``, ``bin_edges`` and ``note`` of the reference, plus the scoring
        ``ceiling_method`` and any ``warning``.
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
    method: str = "ks"
    ceiled: float = float("nan")
    n_defined: int = -1
    approximate: bool = False
    provenance: dict = field(default_factory=dict, repr=False)


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


def similarity_score(values, name: str, *, method: str = "ks", n_boot: int = 1000, rng=None,
                     ceiling: str = "bootstrap") -> SimilarityScore:
    """How close a model's distribution of a property is to macaque V1.

    Two methods, one switch:

    ``method="ks"`` (default)
        The package's original score (``v1model compare`` uses it until the compare
        job moves to ``"brainscore"``): the one-sample Kolmogorov–Smirnov distance
        between the model values and the ``"macaque_v1"`` reference CDF (for
        histogram references: the largest CDF difference at the published bin
        edges, so within-bin detail the data do not have is never scored),
        bootstrapped over model units; ``score = 1 − KS``.  No ceiling division is
        applied; ``ceiling`` reports the score expected from a sample of the
        reference itself of the same size.  Values must be finite.
    ``method="brainscore"``
        Brain-Score's Marques et al. (2021) procedure on the ``"marques2021"``
        reference (Brain-Score names and units, e.g. ``or_bandwidth`` in degrees,
        ``sf_bandwidth`` as a cut-off ratio × 100):

        1. model values are clipped into the reference's bins (``bin_edges[0]`` to
           ``bin_edges[-1]``; circular properties wrapped first); NaN values are
           undefined units (e.g. no bandwidth: not selective) and are left out of
           every histogram, as Brain-Score's ``np.histogram`` leaves them out;
        2. ``n_boot`` times, as many model values as the reference has cells
           (``reference.n``, undefined ones included) are drawn with replacement and
           binned; the similarity to the reference histogram is ``1 − KS/KS_max``,
           with KS the largest difference of the two cumulative histograms and
           ``KS_max`` the largest KS any histogram could have against the reference
           (all mass in the first or in the last bin);
        3. the raw ``score`` is the mean over resamples (0, with a warning in
           ``provenance``, when more than 10% of resamples have no defined value, as
           Brain-Score does);
        4. ``ceiling`` is the reference scored against itself: by default
           (``ceiling="bootstrap"``) the mean similarity of ``n``-cell bootstrap
           resamples of the reference's cells to the reference histogram — what
           Brain-Score's ``NeuronalPropertyCeiling`` computes; ``"split_half"``
           instead compares the histograms of two random halves of the cells (a
           stricter, lower ceiling);
        5. ``ceiled = score / ceiling``.

        A histogram reference's cells are its counts (plus ``n_undefined`` cells
        without a value); an approximate reference's bin probabilities come from its
        assumed CDF with ``n`` cells.  References with ``status == "none"`` raise.

    Parameters
    ----------
    values : array_like of shape (n,)
        The property for each model unit, in the reference's units (see
        ``reference_distribution(name, collection=...).units``).
    name : str
        Reference name (see :func:`list_references` for each collection).
    method : {"ks", "brainscore"}
        The score (see above).
    n_boot : int
        Bootstrap resamples (>= 1).
    rng : None, int or numpy.random.Generator
        Source of the resampling.
    ceiling : {"bootstrap", "split_half"}
        How the ``"brainscore"`` ceiling is computed (ignored by ``"ks"``).

    Returns
    -------
    SimilarityScore
        ``score`` (raw, bootstrap mean), ``ci_low``, ``ci_high``, ``ks``, ``ceiling``,
        ``ceiled`` (``"brainscore"`` only), ``n``, ``n_defined``, ``check``,
        ``approximate``, ``source``, ``method``, ``provenance``.

    Raises
    ------
    ValueError
        If ``values`` is empty or not 1-D; for ``"ks"`` if it holds NaN or infinity
        (drop failed fits first); for ``"brainscore"`` if no value is defined (all
        NaN) or the reference has no bundled numbers; if ``name``, ``method`` or
        ``ceiling`` is unknown.

    Examples
    --------
    >>> ref = reference_distribution("surround_suppression_index")
    >>> same = similarity_score(ref.sample(2000, rng=0), "surround_suppression_index", rng=1)
    >>> shifted = similarity_score(ref.sample(2000, rng=0) + 0.4,
    ...                            "surround_suppression_index", rng=1)
    >>> same.score > 0.95, shifted.score < 0.6
    (True, True)

    Brain-Score's score of samples of the published SSI histogram itself is about its
    ceiling, so the ceiled score is about 1:

    >>> ref = reference_distribution("surround_suppression_index", collection="marques2021")
    >>> s = similarity_score(ref.sample(500, rng=0), "surround_suppression_index",
    ...                      method="brainscore", rng=1)
    >>> round(s.ceiling, 2), bool(abs(s.ceiled - 1) < 0.05)
    (0.96, True)
    """
    check_choice("method", method, _METHODS)
    check_choice("ceiling", ceiling, _CEILINGS)
    n_boot = check_count("n_boot", n_boot, maximum=10**6)
    gen = as_rng(rng)
    if method == "brainscore":
        return _brainscore_score(values, name, n_boot, gen, ceiling)
    ref = reference_distribution(name)
    x = check_array("values", values, ndim=1, shape_doc="(n,)", dtype=np.float64)
    n = x.size
    ks_full = float(_ks(x[None], ref)[0])
    boot = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = gen.integers(0, n, size=(m, n))
        boot[start:start + m] = 1.0 - _ks(x[idx], ref)
    ceiling_draws = np.stack([ref.sample(n, rng=gen) for _ in range(min(n_boot, 200))])
    ceil_value = float(np.mean(1.0 - _ks(ceiling_draws, ref)))
    low, high = np.percentile(boot, [2.5, 97.5])
    return SimilarityScore(name=name, score=float(boot.mean()), ci_low=float(low),
                           ci_high=float(high), ks=ks_full, ceiling=ceil_value, n=n,
                           check=ref.check, source=ref.source, method="ks",
                           n_defined=n, approximate=ref.approximate,
                           provenance=_provenance(ref, None))


# ------------------------------------------------------------------ Brain-Score method

def _provenance(ref: ReferenceDistribution, ceiling: str | None) -> dict:
    out = {"collection": ref.collection, "status": ref.status if ref.collection != "macaque_v1"
           else ("approximate" if ref.check else "published"),
           "source": ref.source, "cells": ref.cells, "count_used": ref.count_used,
           "n": ref.n, "n_undefined": ref.n_undefined, "note": ref.note}
    if "bin_edges" in ref.params:
        out["bin_edges"] = [float(v) for v in ref.params["bin_edges"]]
    if ceiling is not None:
        out["ceiling_method"] = ceiling
    return out


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each clipped value (last bin closed on the right); -1 for NaN."""
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    return np.where(np.isnan(x), -1, idx)


def _normalised_hist(bins: np.ndarray, n_bins: int) -> np.ndarray:
    """Rows of bin indices (-1 = undefined) → rows of normalised histograms (NaN if empty)."""
    rows = bins.shape[0]
    flat = (bins + np.arange(rows)[:, None] * (n_bins + 1) + 1).ravel()
    counts = np.bincount(flat, minlength=rows * (n_bins + 1)).reshape(rows, n_bins + 1)[:, 1:]
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / np.where(total > 0, total, np.nan)


def _ks_similarity(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``1 − KS/KS_max`` of histograms ``p (..., k)`` against ``q (k,)`` (Marques et al. 2021)."""
    cq = np.cumsum(q)
    raw = np.max(np.abs(np.cumsum(p, axis=-1) - cq), axis=-1)
    first = np.ones_like(q)                      # all mass in the first bin
    last = np.zeros_like(q)
    last[-1] = 1.0                               # all mass in the last bin
    ks_max = max(np.max(np.abs(first - cq)), np.max(np.abs(last - cq)))
    return 1.0 - raw / ks_max


def _reference_cells(ref: ReferenceDistribution, q: np.ndarray) -> tuple[np.ndarray, int]:
    """The reference as ``n`` cells' bin indices (-1 = undefined) and ``n``."""
    if ref.kind == "histogram":
        counts = np.asarray(ref.params["counts"], dtype=int)
        cells = np.repeat(np.arange(len(counts)), counts)
        return np.r_[np.full(ref.n_undefined, -1), cells], int(counts.sum() + ref.n_undefined)
    n = int(ref.n) if ref.n else 100
    expected = np.round(q * n).astype(int)     # an approximate reference's cells, rounded
    return np.repeat(np.arange(len(q)), expected), int(expected.sum())


def _brainscore_score(values, name: str, n_boot: int, gen: np.random.Generator,
                      ceiling: str) -> SimilarityScore:
    ref = reference_distribution(name, collection="marques2021")
    if ref.kind == "none":
        raise ValueError(f"reference {name!r} has no bundled numbers and cannot be scored: "
                         f"{ref.note}")
    x = check_array("values", values, ndim=1, shape_doc="(n,)", dtype=np.float64, finite=False)
    defined = ~np.isnan(x)
    if not np.any(defined):
        raise ValueError(f"values has no defined (non-NaN) entry among {x.size}; "
                         f"nothing to score for {name!r}")
    edges = ref.score_bin_edges
    n_bins = len(edges) - 1
    q = ref.bin_probabilities()
    xb = _bin_index(np.clip(ref.wrap(x), edges[0], edges[-1]), edges)
    cells, n_ref = _reference_cells(ref, q)
    n_draw = int(ref.n) if ref.n else n_ref
    boot = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n_draw)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = gen.integers(0, x.size, size=(m, n_draw))
        boot[start:start + m] = _ks_similarity(_normalised_hist(xb[idx], n_bins), q)
    warning = ""
    n_empty = int(np.isnan(boot).sum())
    if n_empty > n_boot / 10:
        warning = (f"{n_empty} of {n_boot} resamples had no defined value: score set to 0 "
                   "as Brain-Score does")
        raw, low, high = 0.0, 0.0, 0.0
    else:
        raw = float(np.nanmean(boot))
        low, high = (float(v) for v in np.nanpercentile(boot, [2.5, 97.5]))
    ks_full = float(1.0 - _ks_similarity(_normalised_hist(xb[None], n_bins), q)[0])
    n_ceil = min(n_boot, 1000)
    if ceiling == "bootstrap":
        draws = cells[gen.integers(0, len(cells), size=(n_ceil, n_draw))]
        ceil_scores = _ks_similarity(_normalised_hist(draws, n_bins), q)
    else:
        half = len(cells) // 2
        perm = np.argsort(gen.random((n_ceil, len(cells))), axis=1)
        a = _normalised_hist(cells[perm[:, :half]], n_bins)
        b = _normalised_hist(cells[perm[:, half:2 * half]], n_bins)
        ceil_scores = np.array([_ks_similarity(a[i], b[i]) for i in range(n_ceil)])
    ceil_value = float(np.nanmean(ceil_scores))
    prov = _provenance(ref, ceiling)
    if warning:
        prov["warning"] = warning
    return SimilarityScore(name=name, score=raw, ci_low=low, ci_high=high, ks=ks_full,
                           ceiling=ceil_value, n=int(x.size), check=ref.check, source=ref.source,
                           method="brainscore", ceiled=raw / ceil_value,
                           n_defined=int(defined.sum()), approximate=ref.approximate,
                           provenance=prov)
