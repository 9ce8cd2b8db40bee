"""A model of macaque V1, and the Hubel–Wiesel filter grid it grew from.

:class:`V1Model` answers the model interface of :mod:`v1model.base` with two
retinotopic layers, ``"simple"`` and ``"complex"``.  It is built in one of two ways.

The default: a macaque-like population (``population="macaque"``)
----------------------------------------------------------------------
``V1Model(display)`` draws its units from the published macaque histograms
(:func:`v1model.population.sample_v1_population`: De Valois 1982a orientation,
De Valois 1982b peak sf within :func:`v1model.population.display_sf_range`,
Ringach 2002 nx–ny, uniform phase) and passes each unit's Gabor responses through
documented stages, each of which can be switched off with ``False``:

1. **complexity** — a per-unit sum of a push-pull linear pathway and an energy
   pathway, rectified *after* the sum (Mechler & Ringach 2002's continuum):
   ``d = [b + (1 − c)·L + c·sqrt(L² + Q²) + untuned]₊`` with ``L``, ``Q`` the unit's
   filter and its quadrature partner, ``c`` the unit's complexity (Beta-distributed
   across the population) and ``b`` the baseline of the output stage (below).  The
   linear pathway is signed: at the anti-preferred phase it pulls the sum down, and
   the rectification acts as a threshold on it, so a unit with a moderate energy
   weight is still strongly modulated.  That output nonlinearity (rectification,
   then the exponent of the normalisation stage) is what turns a unimodal
   distribution of ``c`` into the bimodal F1/F0 of Skottun et al. (1991): the F1/F0
   of a unit changes steeply with ``c`` near the split at 1 and flattens towards
   its two ends (π/2 and more for ``c = 0``, 0 for ``c = 1``), so units pile up in
   two modes (:func:`mixed_unit_modulation_ratio`).  A unit whose F1/F0 for its
   optimal grating exceeds 1 (Skottun et al.'s criterion) belongs to the
   ``"simple"`` layer, the others to ``"complex"``: the proportion follows from the
   Beta distribution and is in :attr:`V1Model.params`.  Off: each unit is purely
   linear (simple) or purely energy (complex), same classes.
2. **normalization** — the drive raised to ``exponent`` and divided by a pool of
   energies of a fixed bank of quadrature pairs (6 orientations × sfs at most an
   octave apart from the lowest to the highest sf of the units), weighted around
   the unit's own orientation and sf by Gaussians of widths ``orientation_width``
   (deg) and ``sf_width`` (octaves)
   (:func:`v1model.cells.pool_weights`, :func:`v1model.cells.normalize`; Heeger
   1992, Carandini & Heeger 2012), with semi-saturation ``sigma``.  Off: exponent 1,
   no classical pool.
3. **surround** — a second pool: the same channels' energies summed over space with
   a Gaussian of σ = ``extent`` carrier cycles (sampled on a lattice half a cycle,
   at least 2 px, apart, within 3σ of the wanted pixels), i.e. larger in space than
   the classical receptive field but as broadly tuned as the pool, weighted by
   ``weight``: Cavanaugh, Bair & Movshon 2002's ratio of Gaussians, which gives a
   grating summation field and surround suppression.
4. **untuned** — an orientation-independent excitatory component added to each
   unit's drive before normalisation: ``u_i · U_i`` with ``U_i`` the mean over the
   pool's 6 orientations of the pool channels' responses at the unit's sf (Gaussian
   weights of :data:`UNTUNED_SF_WIDTH` octaves around it), each channel's response
   mixed with the unit's own complexity (rectified linear and energy, so the
   component modulates like the unit does).  ``U_i`` is ≈ 0.3 for the unit's optimal
   unit-contrast grating and nearly the same at every orientation, so it raises the
   flanks and the orthogonal response without moving the preference: broader
   orientation tuning (higher circular variance, wider bandwidth), as the
   untuned/broadly tuned excitatory input of many macaque V1 cells does (Ringach,
   Shapley & Hawken 2002 find circular variance spread over 0–1 with median ≈ 0.6).
   The component also joins the classical normalisation pool (its phase-free part,
   ``(u_i · Ū_i)ⁿ`` with ``Ū_i`` the same mean of channel energies): the untuned
   input is activity of the neighbourhood like any other, and without it a unit
   whose tuned pool divides its preferred orientation far more than the orthogonal
   one would respond most to the orthogonal orientation once the untuned drive
   dominates.  With it ``r(pref) ≥ r(orth)`` for any weight (``(a + b)ⁿ ≥ aⁿ + bⁿ``
   for ``n ≥ 1``), and a large weight flattens the curve instead of flipping it.
   The per-unit weight ``u_i`` is exponentially distributed with mean ``weight``
   (:func:`v1model.population.sample_v1_population`), so some units are sharply
   tuned and a few nearly untuned.  Off: no untuned component.
5. **output** — responses in spikes/s: ``gain · response``, with the maintained
   discharge ``spontaneous`` (the response to a mean-grey screen) produced by a
   baseline drive ``b`` added *before* the rectification of stage 1 (the membrane
   potential of a spontaneously active cell sits above threshold), ``b`` chosen so
   the blank response is exactly ``spontaneous``.  So a simple unit's response to
   the anti-preferred phase falls below its maintained rate, as in macaque simple
   cells, instead of a constant being added to every response (which would fill
   the F0 of every unit and pull every simple unit's F1/F0 towards 1).  Off: the
   dimensionless normalised response, no baseline.
The defaults of every stage are the parameters fitted by
:func:`analysis.population_fit.fit_population` and shipped in
``v1model/data/v1_population.json`` (with the training and held-out scores).

The Hubel–Wiesel grid (``population="grid"`` or :meth:`V1Model.grid`) and tables
---------------------------------------------------------------------------------

``"simple"``
    One channel per Gabor filter (orientation, sf, phase, envelope): the linear
    response passed through :func:`v1model.cells.half_wave` (threshold, gain,
    exponent).
``"complex"``
    One channel per orientation × sf × envelope (grid) or per unit (population):
    either the energy of a quadrature pair (phases φ0 and φ0 + 90°,
    :func:`v1model.cells.energy`) or the maximum of the rectified simple cells over
    phases and over a square window of positions (:func:`v1model.cells.max_pool`).

Either layer can be divisively normalised (:func:`v1model.cells.divisive_normalization`),
the pool being all channels of that layer at each position.  Filters are
normalised to respond 1 to their optimal unit-contrast grating, so with the
default nonlinearity responses are in contrast units.

Maps are computed at full resolution; ``stride`` keeps every ``stride``-th row and
column, always including the pixel nearest the display centre (row
``(rows - 1) // 2``, column ``(cols - 1) // 2``).  Filters with phase φ + 180°
are the exact negatives of those with phase φ, so only phases modulo 180° are
filtered and the rest obtained by a sign flip.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from stimuli._shared.validation import (
    check_choice,
    check_images,
    check_index,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)
from stimuli.display import Display
from stimuli.table import Table
from v1model._repr import model_repr_html
from v1model.base import check_layer
from v1model.cells import (
    divisive_normalization,
    energy,
    half_wave,
    max_pool,
    normalize,
    pool_weights,
    window_pixels,
)
from v1model.gabor import DEFAULT_PHASES, GaborBank, filter_parameters
from v1model.population import display_sf_range, sample_v1_population

COMPLEX_KINDS = ("energy", "max")
#: Defaults of the simple-cell output nonlinearity (see :func:`v1model.cells.half_wave`).
SIMPLE_NONLINEARITY = {"threshold": 0.0, "gain": 1.0, "exponent": 1.0}
#: Defaults of divisive normalisation (see :func:`v1model.cells.divisive_normalization`).
NORMALIZATION = {"sigma": 0.05, "exponent": 2.0, "gain": 1.0, "pool_sigma": 0.0}
_CHECKS = {"threshold": check_real, "gain": check_positive, "exponent": check_positive,
           "sigma": check_positive, "pool_sigma": check_nonnegative}
# bytes of intermediate maps one chunk of images may occupy
_CHUNK_BYTES = 256 * 2**20
#: Kinds of population :class:`V1Model` builds from a name.
POPULATION_KINDS = ("macaque", "grid")
#: Orientations of the normalisation pool's channels (evenly spaced over 180°).
POOL_ORIENTATIONS = 6
#: Envelope σ of the classical pool channels in carrier cycles (nx = ny; Ringach 2002's
#: cells cluster below 0.5).
POOL_CYCLES = 0.5
#: Keys of each stage of the macaque population (see the module docstring).
STAGE_KEYS = {
    "normalization": ("sigma", "exponent", "orientation_width", "sf_width"),
    "surround": ("extent", "weight"),
    "complexity": ("a", "b"),
    "untuned": ("weight",),
    "output": ("spontaneous", "gain"),
}
#: Width (octaves, Gaussian σ) of the untuned component's sf weighting around each unit's
#: own sf: about half the pool channels' spacing, so it follows the unit's sf.
UNTUNED_SF_WIDTH = 0.5
_STAGE_CHECKS = {"sigma": check_positive, "exponent": check_positive,
                 "orientation_width": check_positive, "sf_width": check_positive,
                 "extent": check_positive, "weight": check_nonnegative, "a": check_positive,
                 "b": check_positive, "spontaneous": check_nonnegative, "gain": check_positive}
# bytes of remembered macaque responses (both layers of recent batches)
_CACHE_BYTES = 192 * 2**20
# images per batch of the macaque population (the cache remembers whole batches)
_MACAQUE_CHUNK = 64
# bytes of image-sized kernels placed at the recorded positions, per kernel set
_PLACED_BYTES = 32 * 2**20


@lru_cache(maxsize=1)
def _fitted_text() -> str:
    return resources.files("v1model").joinpath("data", "v1_population.json").read_text("utf-8")


def fitted_parameters() -> dict[str, Any]:
    """The shipped population parameters of ``V1Model(display)`` and how they were fitted.

    Read from ``v1model/data/v1_population.json``, written by
    :func:`analysis.population_fit.fit_population` (see ``fit`` in the result for the
    training and held-out seeds, the scores and the command).

    Returns
    -------
    dict
        ``n_units``, ``seed``, one mapping per stage (``normalization``, ``surround``,
        ``complexity``, ``output``) and ``fit`` (provenance).  A fresh copy.

    Raises
    ------
    OSError
        If the data file is missing (a broken installation).

    Examples
    --------
    >>> sorted(fitted_parameters()["surround"])
    ['extent', 'weight']
    """
    return json.loads(_fitted_text())


def _stage(name: str, value: Any, fitted: Mapping[str, float]) -> dict[str, float] | None:
    """A stage's settings: None/True → fitted, False → off (None), mapping → fitted updated."""
    if value is False:
        return None
    if value is None or value is True:
        value = {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a bool or a mapping of parameters, got {value!r}")
    keys = STAGE_KEYS[name]
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise ValueError(f"{name} has unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"known keys are {', '.join(map(repr, keys))}")
    out = {k: float(fitted[k]) for k in keys}
    for key, val in value.items():
        out[key] = _STAGE_CHECKS[key](f"{name}[{key!r}]", val)
    return out


def _settings(name: str, value: Any, defaults: dict[str, float]) -> dict[str, float]:
    """Defaults updated from a mapping, every key known and every value checked."""
    if value is None or value is True:
        value = {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping of parameters, got {value!r}")
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise ValueError(f"{name} has unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"known keys are {', '.join(map(repr, defaults))}")
    out = dict(defaults)
    for key, val in value.items():
        out[key] = _CHECKS[key](f"{name}[{key!r}]", val)
    return out


def mixed_unit_modulation_ratio(complexity: Any, exponent: float = 1.0,
                                baseline: float = 0.0) -> np.ndarray:
    """F1/F0 of a default-population unit for its optimal grating, from its complexity.

    The response over the grating's phase ψ of :class:`V1Model`'s stage 1 followed
    by the normalisation exponent: ``r(ψ) = [b + (1 − c)·cos ψ + c]₊ⁿ`` (a unit-contrast
    optimal grating; the pools are the same at every phase of it, so they do not
    change the ratio).  Skottun et al. (1991)'s split at 1 sorts the units into the
    two layers.  Because the linear pathway is signed and the rectification comes
    after the sum, the ratio stays high (above 1) up to ``c`` ≈ 0.5 and falls
    steeply after: a unimodal or flat distribution of ``c`` gives a bimodal F1/F0
    (Mechler & Ringach 2002).

    Parameters
    ----------
    complexity : array_like
        Energy-pathway weights ``c`` in [0, 1].
    exponent : float
        ``n`` > 0, the normalisation exponent (1 without normalisation).
    baseline : float
        ``b`` >= 0, the baseline drive that gives the spontaneous rate (contrast units).

    Returns
    -------
    ndarray
        Same shape as ``complexity``: π/2 for ``c = 0, n = 1, b = 0`` (a half-wave
        rectified sinusoid), 1 for ``c = 0.5, n = 1, b = 0``, 0 for ``c = 1``.

    Raises
    ------
    ValueError
        If a complexity lies outside [0, 1], the exponent is not positive or the
        baseline is negative.

    Examples
    --------
    >>> mixed_unit_modulation_ratio([0.0, 0.5, 1.0]).round(4).tolist()
    [1.5708, 1.0, 0.0]
    """
    c = np.asarray(complexity, dtype=np.float64)
    if not np.all(np.isfinite(c)) or np.any((c < 0) | (c > 1)):
        raise ValueError("complexity must hold values in [0, 1]")
    exponent = check_positive("exponent", exponent)
    baseline = check_nonnegative("baseline", baseline)
    psi = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)
    r = np.maximum(baseline + (1 - c[..., None]) * np.cos(psi) + c[..., None], 0.0) ** exponent
    f0 = r.mean(axis=-1)
    f1 = 2 * np.abs((r * np.exp(1j * psi)).mean(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(f0 > 0, f1 / np.where(f0 > 0, f0, 1.0), 0.0)


class V1Model:
    """A macaque-like V1 population (default) or a Hubel–Wiesel filter grid, on a display.

    See the module docstring for the stages of the default population and their
    sources.  ``V1Model(display)`` draws ``n_units`` units with seed ``rng`` (both
    defaults from the shipped fit, so the default model is the same everywhere);
    :meth:`grid` builds the regular filter grid; :meth:`from_population` one unit
    per row of a table (Gabor simple and energy/max complex cells, as the grid).

    Parameters
    ----------
    display : Display
        The screen; stimuli must be ``(n, rows, cols)`` with its shape.
    population : {"macaque", "grid"} or Table or mapping
        ``"macaque"`` (default): sampled units with the stages of the module
        docstring.  ``"grid"``: the filter grid of the grid arguments.  A table: one
        simple *and* one complex channel per row; columns ``orientation``, ``sf``,
        ``phase`` and ``sigma_x``/``sigma_y`` or ``nx``/``ny``.
    n_units : int, optional
        ``"macaque"`` only: units drawn (both layers together); default from the fit.
    rng : None, int or numpy.random.Generator, optional
        ``"macaque"`` only: seed of the draw; default the shipped seed (0).
    orientations, sfs, phases, sigma_x, sigma_y, nx, ny
        ``"grid"`` only: the simple-cell grid, as in
        :func:`v1model.gabor.filter_parameters`; defaults 12 orientations (15°
        steps) × sf 1, 2, 4 c/deg × phases 0, 90, 180, 270° with ``nx = ny = 0.5``
        cycles.  Complex channels: one per orientation × sf.
    complex_kind : {"energy", "max"}
        Grid and tables: ``"energy"``: ``sqrt(L_φ0² + L_φ0+90²)`` with φ0 the first
        grid phase or the unit's phase.  ``"max"``: maximum over the grid's phases
        (tables: φ + 0, 90, 180, 270°) of the rectified simple cells and over a
        square window of positions.  ``"macaque"`` accepts ``"energy"`` only (its
        complex pathway is the energy of a quadrature pair).
    pool_window : float, optional
        Side in degrees of the max-pooling window (``complex_kind="max"`` only); the
        default is one carrier period, ``1 / sf``, per channel.
    simple_nonlinearity : mapping, optional
        Grid and tables: ``threshold`` (default 0), ``gain`` (1), ``exponent`` (1) of
        :func:`v1model.cells.half_wave`.
    normalization : bool or mapping, optional
        Grid and tables: off by default; True or a mapping of ``sigma`` (0.05),
        ``exponent`` (2), ``gain`` (1), ``pool_sigma`` (0 deg) for
        :func:`v1model.cells.divisive_normalization`, applied to both layers.
        ``"macaque"``: on by default with the fitted ``sigma``, ``exponent``,
        ``orientation_width`` (deg), ``sf_width`` (octaves); a mapping overrides
        some; False switches the stage off.
    surround, complexity, output, untuned : bool or mapping, optional
        ``"macaque"`` only, on by default with the fitted values; a mapping overrides
        some, False switches the stage off.  ``surround``: ``extent`` (cycles of the
        pool channel's carrier, the σ of the surround Gaussian) and ``weight``.
        ``complexity``: Beta parameters ``a`` and ``b`` of the energy-pathway
        weight.  ``output``: ``spontaneous`` (the blank-screen rate, made by a
        baseline drive before the rectification) and ``gain``, in spikes/s.
        ``untuned``: ``weight``, the mean per-unit weight of the orientation-independent
        component (dimensionless, >= 0).
    stride : int
        Keep every ``stride``-th map row and column (default 1, full resolution).
    workers : int, optional
        scipy.fft threads; default all available cores.

    Attributes
    ----------
    layers : tuple of str
        ``("simple", "complex")``.
    temporal : bool
        False: the model takes images ``(n, rows, cols)``.
    source : str
        ``"macaque"``, ``"grid"`` or ``"population"`` (a table).
    bank : GaborBank
        The units' filters (grid/tables: phases modulo 180°; ``"macaque"``: each
        unit's filter and its quadrature partner, interleaved).
    params : dict
        JSON-able description of the configuration (for recording metadata).

    Raises
    ------
    ValueError, TypeError
        For conflicting or out-of-range parameters (see the referenced functions),
        arguments of one kind of population given to another (e.g. ``sfs`` without
        ``population="grid"``), or ``pool_window`` with ``complex_kind="energy"``.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> model = V1Model(Display((64, 64), 16), stride=32)
    >>> model.n_channels("simple") + model.n_channels("complex") == model.params["n_units"]
    True
    >>> grid = V1Model.grid(Display((32, 32), 16), orientations=[0, 90], sfs=[2])
    >>> grid.responses(np.zeros((1, 32, 32)), "complex").shape
    (1, 2, 32, 32)
    >>> grid.unit_info("simple")["phase"].tolist()
    [0.0, 90.0, 180.0, 270.0, 0.0, 90.0, 180.0, 270.0]
    """

    layers = ("simple", "complex")
    temporal = False
    _repr_html_ = model_repr_html

    def __init__(
        self,
        display: Display,
        *,
        population: str | Mapping[str, Any] = "macaque",
        n_units: int | None = None,
        rng: Any = None,
        orientations: Any = None,
        sfs: Any = None,
        phases: Any = None,
        sigma_x: float | None = None,
        sigma_y: float | None = None,
        nx: float | None = None,
        ny: float | None = None,
        complex_kind: str = "energy",
        pool_window: float | None = None,
        simple_nonlinearity: Mapping[str, float] | None = None,
        normalization: bool | Mapping[str, float] | None = None,
        surround: bool | Mapping[str, float] | None = None,
        complexity: bool | Mapping[str, float] | None = None,
        output: bool | Mapping[str, float] | None = None,
        untuned: bool | Mapping[str, float] | None = None,
        stride: int = 1,
        workers: int | None = None,
    ):
        if not isinstance(display, Display):
            raise TypeError(f"display must be a stimuli.display.Display, got {type(display)}")
        if not isinstance(population, (str, Mapping)):
            raise TypeError(f"population must be 'macaque', 'grid' or a table of units (a Table "
                            f"or mapping of columns), got {type(population).__name__}")
        self.display = display
        self.complex_kind = check_choice("complex_kind", complex_kind, COMPLEX_KINDS)
        self.stride = check_int("stride", stride, minimum=1)
        rows, cols = display.shape
        self._rows = np.arange(((rows - 1) // 2) % self.stride, rows, self.stride)
        self._cols = np.arange(((cols - 1) // 2) % self.stride, cols, self.stride)
        grid_args = {"orientations": orientations, "sfs": sfs, "phases": phases,
                     "sigma_x": sigma_x, "sigma_y": sigma_y, "nx": nx, "ny": ny}
        if isinstance(population, str):
            self.source = check_choice("population", population, POPULATION_KINDS)
        elif population is None:
            raise TypeError("population must be 'macaque', 'grid' or a table of units, got None")
        else:
            self.source = "population"
        macaque_args = {"n_units": n_units, "rng": rng, "surround": surround,
                        "complexity": complexity, "output": output, "untuned": untuned}
        if self.source == "macaque":
            given = [k for k, v in grid_args.items() if v is not None]
            given += [k for k, v in (("pool_window", pool_window),
                                     ("simple_nonlinearity", simple_nonlinearity))
                      if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)} describe the filter grid or its cells: "
                                 f"pass population='grid' (or use V1Model.grid)")
            if self.complex_kind != "energy":
                raise ValueError("population='macaque' has energy complex pathways only: "
                                 "complex_kind='max' needs population='grid' or a table")
            self._init_macaque(n_units, rng, normalization, surround, complexity, output,
                               workers, untuned=untuned)
            return
        given = [k for k, v in macaque_args.items() if v is not None]
        if given:
            raise ValueError(f"{', '.join(given)} apply to population='macaque' only")
        if pool_window is not None:
            if self.complex_kind != "max":
                raise ValueError("pool_window applies to complex_kind='max' only")
            pool_window = check_positive("pool_window", pool_window)
        self.pool_window = pool_window
        self.simple_nonlinearity = _settings("simple_nonlinearity", simple_nonlinearity,
                                             SIMPLE_NONLINEARITY)
        if normalization is False or normalization is None:
            self.normalization = None
        else:
            self.normalization = _settings("normalization", normalization, NORMALIZATION)

        self._simple = filter_parameters(
            **grid_args, parameters=None if self.source == "grid" else population)
        self._complex, complex_phases = self._complex_channels(self._simple, phases)

        # filters actually applied: phases modulo 180, the rest by a sign flip
        keys: dict[tuple, int] = {}
        index, sign = _filter_refs(self._simple, self._simple["phase"][:, None], keys)
        self._simple_index, self._simple_sign = index[:, 0], sign[:, 0]
        self._complex_index, self._complex_sign = _filter_refs(self._complex, complex_phases,
                                                               keys)
        base = np.array(list(keys), dtype=float).reshape(-1, 5)
        self.bank = GaborBank(display, parameters={
            "orientation": base[:, 0], "sf": base[:, 1], "sigma_x": base[:, 2],
            "sigma_y": base[:, 3], "phase": base[:, 4]}, workers=workers)

    @classmethod
    def grid(cls, display: Display, **kwargs: Any) -> V1Model:
        """The Hubel–Wiesel filter grid: ``V1Model(display, population="grid", **kwargs)``.

        Parameters
        ----------
        display : Display
            The screen.
        **kwargs
            Grid arguments (``orientations``, ``sfs``, ``phases``, ``nx``, ...) and the
            other :class:`V1Model` keywords of grids.

        Returns
        -------
        V1Model

        Raises
        ------
        ValueError, TypeError
            As :class:`V1Model`.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> V1Model.grid(Display((32, 32), 16), sfs=[2]).n_channels("complex")
        12
        """
        return cls(display, population="grid", **kwargs)

    # ------------------------------------------------------------------ macaque
    def _init_macaque(self, n_units, rng, normalization, surround, complexity, output,
                      workers, *, untuned=None) -> None:
        fitted = fitted_parameters()
        # a parameter file without the untuned stage (older fits): the stage is off
        self.untuned = _stage("untuned", untuned, fitted.get("untuned", {"weight": 0.0}))
        self.normalization = _stage("normalization", normalization, fitted["normalization"])
        self.surround = _stage("surround", surround, fitted["surround"])
        self.complexity = _stage("complexity", complexity, fitted["complexity"])
        self.output = _stage("output", output, fitted["output"])
        self.n_units = check_int("n_units", fitted["n_units"] if n_units is None else n_units,
                                 minimum=2)
        self.seed = fitted["seed"] if rng is None else rng
        beta = (fitted["complexity"] if self.complexity is None else self.complexity)
        units = sample_v1_population(
            self.n_units, self.display, complexity=(beta["a"], beta["b"]),
            untuned=0.0 if self.untuned is None else self.untuned["weight"], rng=self.seed)
        exponent = 1.0 if self.normalization is None else self.normalization["exponent"]
        self._baseline = self._baseline_drive()
        ratio = mixed_unit_modulation_ratio(units["complexity"], exponent, self._baseline)
        is_simple = ratio > 1.0
        if self.complexity is None:   # no continuum: each unit purely linear or energy
            units = units.with_columns(complexity=np.where(is_simple, 0.0, 1.0))
            ratio = mixed_unit_modulation_ratio(units["complexity"], exponent, self._baseline)
        units = units.with_columns(modulation_ratio=ratio)
        self._units = units
        self._layer_units = {"simple": np.flatnonzero(is_simple),
                             "complex": np.flatnonzero(~is_simple)}
        for layer, idx in self._layer_units.items():
            if idx.size == 0:
                raise ValueError(f"the complexity distribution {beta} leaves the {layer} layer "
                                 f"empty at n_units={self.n_units}; widen it or draw more units")
        self._simple = units.take(self._layer_units["simple"])
        self._complex = units.take(self._layer_units["complex"])
        n = len(units)
        self.bank = GaborBank(self.display, parameters={
            "orientation": np.repeat(units["orientation"], 2),
            "sf": np.repeat(units["sf"], 2),
            "phase": np.mod(np.repeat(units["phase"], 2) + np.tile([0.0, 90.0], n), 360.0),
            "sigma_x": np.repeat(units["sigma_x"], 2),
            "sigma_y": np.repeat(units["sigma_y"], 2)}, workers=workers)
        # the pool channels: 6 orientations × sfs at most an octave apart spanning the
        # units' range end to end (a pool that thins out beyond its top channel divides
        # high-sf gratings less and pushes peaks up)
        low, high = display_sf_range(self.display)
        pool_sfs = np.geomspace(low, high, int(np.ceil(np.log2(high / low) - 1e-9)) + 1)
        pool_oris = np.arange(0.0, 180.0, 180.0 / POOL_ORIENTATIONS)
        self._pool = Table({"orientation": np.tile(pool_oris, len(pool_sfs)),
                            "sf": np.repeat(pool_sfs, len(pool_oris))})
        self._pool_weights = pool_weights(
            units["orientation"], units["sf"], self._pool["orientation"], self._pool["sf"],
            orientation_width=(fitted["normalization"] if self.normalization is None
                               else self.normalization)["orientation_width"],
            sf_width=(fitted["normalization"] if self.normalization is None
                      else self.normalization)["sf_width"]).astype(np.float32)
        self._untuned_weights = pool_weights(
            units["orientation"], units["sf"], self._pool["orientation"], self._pool["sf"],
            orientation_width=np.inf, sf_width=UNTUNED_SF_WIDTH).astype(np.float32)
        needs_pool = (self.normalization is not None or self.surround is not None
                      or self.untuned is not None)
        self._pool_bank = self._quadrature_bank(POOL_CYCLES, workers) if needs_pool else None
        self._unit_kernels = _KernelSet(self.bank.kernels, self.display)
        self._pool_kernels = (None if self._pool_bank is None
                              else _KernelSet(self._pool_bank.kernels, self.display))
        self._surround_lattices = [] if self.surround is None else self._lattices()
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_bytes = 0

    def _baseline_drive(self) -> float:
        """The baseline ``b`` of the drive that makes the blank response ``spontaneous``.

        At a mean-grey screen every pool is empty, so the rate is ``gain · K · bⁿ`` with
        ``K = (1 + σⁿ) / σⁿ`` with a classical pool and 1 without
        (:func:`v1model.cells.normalize`); 0 with the output stage off."""
        if self.output is None or self.output["spontaneous"] == 0:
            return 0.0
        norm = self.normalization
        n = 1.0 if norm is None else norm["exponent"]
        k = 1.0 if norm is None else (1.0 + norm["sigma"] ** n) / norm["sigma"] ** n
        return float((self.output["spontaneous"] / (self.output["gain"] * k)) ** (1.0 / n))

    def _quadrature_bank(self, cycles: float, workers: int | None) -> GaborBank:
        """Quadrature pairs (phases 0, 90°, interleaved) of the pool channels, round
        envelopes ``cycles`` carrier periods wide."""
        pool = self._pool
        k = len(pool)
        sf = np.repeat(pool["sf"], 2)
        return GaborBank(self.display, parameters={
            "orientation": np.repeat(pool["orientation"], 2), "sf": sf,
            "phase": np.tile([0.0, 90.0], k), "sigma_x": cycles / sf, "sigma_y": cycles / sf},
            workers=workers)

    def _lattices(self) -> list[tuple[np.ndarray, _KernelSet, np.ndarray, np.ndarray, float]]:
        """Per pool sf: its channels, their kernels, and a square lattice of pixels (half a
        carrier period apart but at least 2 px, through the display centre) where the
        surround samples their energy; plus the surround Gaussian's σ in pixels
        (``extent`` cycles)."""
        rows, cols = self.display.shape
        ppd = self.display.pixels_per_degree
        out = []
        for f in np.unique(self._pool["sf"]):
            channels = np.flatnonzero(self._pool["sf"] == f)
            filters = np.stack([2 * channels, 2 * channels + 1], axis=1).ravel()
            step = max(2, int(round(ppd / (2.0 * f))))
            lat_r = np.arange(((rows - 1) // 2) % step, rows, step)
            lat_c = np.arange(((cols - 1) // 2) % step, cols, step)
            kernels = _KernelSet([self._pool_bank.kernels[i] for i in filters], self.display)
            out.append((channels, kernels, lat_r, lat_c, self.surround["extent"] / f * ppd))
        return out

    def _surround(self, images: np.ndarray, rows: np.ndarray, cols: np.ndarray, grid: bool,
                  exponent: float) -> np.ndarray:
        """Each pool channel's energy (power ``exponent``) blurred by a Gaussian of σ =
        ``extent`` carrier cycles — sampled on the channel's lattice and summed with
        Gaussian weights at the wanted pixels, normalised so a uniform energy field
        passes unchanged (outside the display the energy is 0, mean grey) — then pooled
        with each unit's weights: ``(n, units, positions)``."""
        rows = np.asarray(rows, dtype=float)
        cols = np.asarray(cols, dtype=float)
        if grid:
            rows, cols = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
        blurred = np.zeros((len(images), len(self._pool), len(rows)), dtype=np.float32)
        for channels, kernels, lat_r, lat_c, sigma in self._surround_lattices:
            # only lattice points within 3σ of a wanted pixel contribute
            lat_r = lat_r[np.min(np.abs(lat_r[:, None] - rows[None, :]), axis=1) <= 3 * sigma]
            lat_c = lat_c[np.min(np.abs(lat_c[:, None] - cols[None, :]), axis=1) <= 3 * sigma]
            # a few images at a time: the patches of a dense lattice are large
            lin = np.concatenate([kernels.at(images[i:i + 8], lat_r, lat_c, grid=True)
                                  for i in range(0, len(images), 8)])   # (n, 2k, Lr * Lc)
            energy = (np.square(lin[:, 0::2]) + np.square(lin[:, 1::2])) ** np.float32(
                exponent / 2)
            step_r = lat_r[1] - lat_r[0] if len(lat_r) > 1 else 1.0
            step_c = lat_c[1] - lat_c[0] if len(lat_c) > 1 else 1.0
            gr = np.exp(-0.5 * ((rows[:, None] - lat_r[None, :]) / sigma) ** 2)
            gc = np.exp(-0.5 * ((cols[:, None] - lat_c[None, :]) / sigma) ** 2)
            # each pixel's own 3σ box, whichever other pixels are asked for (a unit's
            # response must not depend on the map positions computed with it)
            gr[np.abs(rows[:, None] - lat_r[None, :]) > 3 * sigma] = 0.0
            gc[np.abs(cols[:, None] - lat_c[None, :]) > 3 * sigma] = 0.0
            weights = (gr[:, :, None] * gc[:, None, :]).reshape(len(rows), -1)
            weights *= step_r * step_c / (2 * np.pi * sigma**2)
            blurred[:, channels] = energy @ weights.T.astype(np.float32)
        return np.einsum("uj,njp->nup", self._pool_weights, blurred, optimize=True)

    def _pooled(self, lin: np.ndarray, exponent: float) -> np.ndarray:
        """Each unit's weighted pool of channel energies (power ``exponent``) from the
        linear responses of quadrature pairs (interleaved)."""
        energy_n = (np.square(lin[:, 0::2]) + np.square(lin[:, 1::2])) ** np.float32(exponent / 2)
        return np.einsum("uj,nj...->nu...", self._pool_weights, energy_n, optimize=True)

    def _untuned_drive(self, lin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The untuned component ``u_i · U_i`` (see the module docstring) from the pool
        channels' linear responses (quadrature pairs interleaved), and its phase-free
        part ``u_i · Ū_i`` (channel energies only) that joins the classical pool: both
        ``(n, units, ...)``."""
        relu = np.maximum(lin[:, 0::2], np.float32(0.0))
        energy_n = np.sqrt(np.square(lin[:, 0::2]) + np.square(lin[:, 1::2]))
        w = self._untuned_weights
        rect = np.einsum("uj,nj...->nu...", w, relu, optimize=True)
        phase_free = np.einsum("uj,nj...->nu...", w, energy_n, optimize=True)
        shape = (1, -1) + (1,) * (lin.ndim - 2)
        c = self._units["complexity"].astype(np.float32).reshape(shape)
        u = self._units["untuned"].astype(np.float32).reshape(shape)
        return u * ((1 - c) * rect + c * phase_free), u * phase_free

    def _macaque_rates(self, images: np.ndarray, rows: Any, cols: Any, *,
                       grid: bool = True, output: bool = True) -> np.ndarray:
        """Responses of every unit (both layers) at ``rows`` × ``cols`` (or pairs).

        Returns ``(n, n_units, len(rows), len(cols))`` (``grid=True``) or
        ``(n, n_units, len(rows))``, float32, in spikes/s with the output stage on.
        """
        units = self._unit_kernels.at(images, rows, cols, grid=grid)
        lin, quad = units[:, 0::2], units[:, 1::2]
        shape = (1, -1) + (1,) * (lin.ndim - 2)
        c = self._units["complexity"].astype(np.float32).reshape(shape)
        # push-pull linear + energy pathways, summed before the rectification (stage 1);
        # the baseline only with the output stage (the spontaneous rate)
        base = np.float32(self._baseline if output else 0.0)
        drive = (1 - c) * lin + c * np.sqrt(np.square(lin) + np.square(quad)) + base
        norm = self.normalization
        exponent = 1.0 if norm is None else norm["exponent"]
        pool_lin = (None if norm is None and self.untuned is None
                    else self._pool_kernels.at(images, rows, cols, grid=grid))
        untuned_pool = None
        if self.untuned is not None:
            extra, untuned_pool = self._untuned_drive(pool_lin)
            drive = drive + extra
        drive = np.maximum(drive, np.float32(0.0))
        classical = None if norm is None else self._pooled(pool_lin, exponent)
        if classical is not None and untuned_pool is not None:
            # the untuned input is activity of the neighbourhood too: it joins the pool
            # (phase-free), so it cannot make a unit prefer the orientation its tuned
            # pool leaves undivided (the orthogonal one)
            classical = classical + untuned_pool ** np.float32(exponent)
        surround = (None if self.surround is None
                    else self._surround(images, rows, cols, grid, exponent))
        r = normalize(drive, classical=classical, surround=surround,
                      sigma=1.0 if norm is None else norm["sigma"], exponent=exponent,
                      surround_weight=0.0 if self.surround is None else self.surround["weight"])
        if output and self.output is not None:
            # the spontaneous rate is already in r, through the baseline drive
            r = np.float32(self.output["gain"]) * r
        if grid:
            r = r.reshape(*r.shape[:2], len(rows), len(cols))
        return r.astype(np.float32, copy=False)

    def _macaque_responses(self, images: np.ndarray, rows: np.ndarray | None = None,
                           cols: np.ndarray | None = None) -> np.ndarray:
        """All units' maps at the kept positions (or at the pixel pairs ``rows``,
        ``cols``), remembered per batch of images and positions (so the second layer
        asked for the same stimuli costs nothing)."""
        digest = hashlib.sha256(np.ascontiguousarray(images).data)
        if rows is not None:
            digest.update(np.asarray(rows, dtype=np.int64).tobytes())
            digest.update(b"|" + np.asarray(cols, dtype=np.int64).tobytes())
        key = digest.digest()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        out = (self._macaque_rates(images, self._rows, self._cols) if rows is None
               else self._macaque_rates(images, rows, cols, grid=False))
        self._cache[key] = out
        self._cache_bytes += out.nbytes
        while self._cache_bytes > _CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.nbytes
        return out

    def _complex_channels(self, simple: Table, phases: Any) -> tuple[Table, np.ndarray]:
        """Complex-channel table and, per channel, the phases of the simple cells it uses."""
        envelope = ("orientation", "sf", "sigma_x", "sigma_y", "nx", "ny")
        if self.source == "grid":
            grid_phases = np.atleast_1d(np.asarray(
                DEFAULT_PHASES if phases is None else phases, dtype=float))
            # grid rows are sf-major, then orientation, then phase (fastest)
            first = np.arange(0, len(simple), len(grid_phases))
            table = Table({k: simple[k][first] for k in envelope})
            phase0 = np.full(len(first), grid_phases[0])
            pooled = np.tile(grid_phases, (len(first), 1))
        else:
            table = Table({k: simple[k] for k in envelope})
            phase0 = simple["phase"]
            pooled = np.mod(phase0[:, None] + np.array([0.0, 90.0, 180.0, 270.0]), 360.0)
        if self.complex_kind == "energy":
            return table, np.stack([phase0, np.mod(phase0 + 90.0, 360.0)], axis=1)
        windows = (1.0 / table["sf"] if self.pool_window is None
                   else np.full(len(table), self.pool_window))
        ppd = self.display.pixels_per_degree
        sides = np.array([window_pixels(w, ppd) for w in windows])
        return table.with_columns(pool_window=sides / ppd), pooled

    @classmethod
    def from_population(cls, display: Display, population: Mapping[str, Any],
                        **kwargs: Any) -> V1Model:
        """A model with one simple and one complex channel per population row.

        Parameters
        ----------
        display : Display
            The screen.
        population : Table or mapping
            Per-unit ``orientation``, ``sf``, ``phase`` and ``sigma_x``/``sigma_y`` or
            ``nx``/``ny``, e.g. from :func:`v1model.population.sample_population`.
        **kwargs
            Other :class:`V1Model` keywords (``complex_kind``, ``normalization``, ...);
            not the grid arguments.

        Returns
        -------
        V1Model

        Raises
        ------
        ValueError
            If a column is missing or a filter cannot be represented on the display
            (sf at or above its Nyquist frequency).

        Examples
        --------
        >>> from stimuli.display import Display
        >>> pop = {"orientation": [30.0], "sf": [2.0], "phase": [90.0],
        ...        "nx": [0.4], "ny": [0.5]}
        >>> V1Model.from_population(Display((32, 32), 16), pop).unit_info("complex")["sf"]
        array([2.])
        """
        return cls(display, population=population, **kwargs)

    @property
    def params(self) -> dict[str, Any]:
        """JSON-able configuration for recording metadata."""
        common = {
            "model": type(self).__name__,
            "source": self.source,
            "display": {"shape": list(self.display.shape),
                        "pixels_per_degree": self.display.pixels_per_degree},
            "n_simple": len(self._simple),
            "n_complex": len(self._complex),
            "complex_kind": self.complex_kind,
            "normalization": None if self.normalization is None else dict(self.normalization),
            "stride": self.stride,
            "filter_norm": self.bank.norm,
        }
        if self.source == "macaque":
            seed = self.seed if isinstance(self.seed, int | np.integer) else None
            return {**common, "n_units": self.n_units, "seed": None if seed is None else int(seed),
                    "simple_fraction": len(self._simple) / self.n_units,
                    "surround": None if self.surround is None else dict(self.surround),
                    "complexity": None if self.complexity is None else dict(self.complexity),
                    "output": None if self.output is None else dict(self.output),
                    "untuned": None if self.untuned is None else dict(self.untuned),
                    "pool_channels": len(self._pool)}
        return {**common, "pool_window": self.pool_window,
                "simple_nonlinearity": dict(self.simple_nonlinearity)}

    def __repr__(self) -> str:
        norm = "off" if self.normalization is None else "on"
        where = (f"display {self.display.shape} at {self.display.pixels_per_degree:g} px/deg; "
                 f"stride {self.stride})")
        if self.source == "macaque":
            stages = ", ".join(f"{k} {'off' if getattr(self, k) is None else 'on'}"
                               for k in STAGE_KEYS)
            return (f"V1Model(macaque population: {len(self._simple)} simple, "
                    f"{len(self._complex)} complex units; {stages}; {where}")
        return (f"V1Model({len(self._simple)} simple, {len(self._complex)} "
                f"{self.complex_kind} complex channels; normalization {norm}; {where}")

    def n_channels(self, layer: str) -> int:
        """Number of channels of ``layer``."""
        check_layer(self, layer)
        return len(self._simple if layer == "simple" else self._complex)

    def responses(self, stimuli: Any, layer: str) -> np.ndarray:
        """Response maps of ``layer`` to a batch of images.

        Parameters
        ----------
        stimuli : array_like of shape (n, rows, cols)
            Images in contrast units with the display's shape.
        layer : {"simple", "complex"}
            Which layer.

        Returns
        -------
        ndarray of shape (n, channels, rows', cols'), float32
            ``rows' = len(map_coordinates(layer)[1])``, ``cols'`` likewise (the full
            display at ``stride=1``).  Non-negative.

        Raises
        ------
        ValueError
            For an unknown layer, or stimuli that are not ``(n, rows, cols)`` with the
            display's shape, are empty, or hold NaN or infinite values.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = V1Model.grid(Display((16, 16), 16), orientations=[0], sfs=[4], stride=4)
        >>> model.responses(np.zeros((2, 16, 16)), "simple").shape
        (2, 4, 4, 4)
        """
        return self.responses_many(stimuli, (check_layer(self, layer),))[layer]

    @property
    def sampled_layers(self) -> tuple[str, ...]:
        """Layers :meth:`responses_at` computes at chosen map positions alone.

        Both layers of the macaque population (its stages pool over channels at the
        position, and over the surround lattice near it); in grids and tables the
        simple layer and the energy complex layer, unless normalisation pools over
        space (``pool_sigma > 0``).  Max-pooling complex cells need their windows'
        maps and are computed through :meth:`responses`.
        """
        if self.source == "macaque":
            return self.layers
        return tuple(layer for layer in self.layers if self._pointwise(layer))

    def responses_at(self, stimuli: Any, layer: str, rows: Any, cols: Any) -> np.ndarray:
        """Responses of ``layer`` at some map positions: ``responses(...)[:, :, rows, cols]``.

        Computed at those positions only (the optional part of the model interface,
        :class:`v1model.base.Model`, used by :func:`analysis.run_protocol`): the units'
        filters as float32 products of the image patches at the pixels with the
        stacked kernels, then the model's own stages at those pixels — half-wave or
        energy (grids and tables), or the pathway mix, the classical pool (the pool
        channels' filters at the same pixels), the surround (the pool energies on the
        lattice within 3σ of the pixels) and the output (macaque).  Agrees with
        :meth:`responses` within ``1e-5`` of the largest response (float32
        accumulation; ``tests/test_v1_sampled.py``).  Asking for the other layer at
        the same positions and images next costs nothing (the macaque population
        remembers both layers of recent batches); :meth:`responses_at_many` returns
        several layers at once.

        Parameters
        ----------
        stimuli : array_like of shape (n, rows, cols)
            Images in contrast units with the display's shape.
        layer : str
            One of :attr:`sampled_layers`.
        rows, cols : array_like of int
            Map rows and columns (indices into :meth:`map_coordinates`' ``y`` and
            ``x``), pairs of equal length; negative counted from the end.

        Returns
        -------
        ndarray of shape (n, channels, positions), float32

        Raises
        ------
        ValueError
            If ``layer`` is not one of :attr:`sampled_layers`, the stimuli are bad (as
            :meth:`responses`), or ``rows`` and ``cols`` are empty or differ in length.
        TypeError
            If ``rows`` or ``cols`` are not integers.
        IndexError
            If a position is outside the map.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = V1Model(Display((32, 32), 16), n_units=8, stride=4)
        >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32))
        >>> at = model.responses_at(x, "complex", [3, 0], [3, 7])
        >>> full = model.responses(x, "complex")[:, :, [3, 0], [3, 7]]
        >>> bool(np.allclose(at, full, rtol=0, atol=1e-5 * full.max()))
        True
        """
        return self.responses_at_many(stimuli, (layer,), rows, cols)[layer]

    def responses_many(self, stimuli: Any, layers: Any = None) -> dict[str, np.ndarray]:
        """Full maps of several layers from one filtering pass.

        Equal to ``{layer: responses(stimuli, layer) for layer in layers}``, but the
        units' filters (and the macaque population's pools) run once for all the
        layers asked for.

        Parameters
        ----------
        stimuli : array_like of shape (n, rows, cols)
            Images in contrast units with the display's shape.
        layers : sequence of str, optional
            Layers to return; default all of :attr:`layers`.

        Returns
        -------
        dict of str to ndarray of shape (n, channels, rows', cols'), float32

        Raises
        ------
        ValueError
            For an unknown layer, or bad stimuli (as :meth:`responses`).

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = V1Model.grid(Display((16, 16), 16), orientations=[0], sfs=[4], stride=4)
        >>> {k: v.shape for k, v in model.responses_many(np.zeros((2, 16, 16))).items()}
        {'simple': (2, 4, 4, 4), 'complex': (2, 1, 4, 4)}
        """
        layers = self._layer_list(layers)
        images = check_images("stimuli", stimuli, self.display)
        n = images.shape[0]
        shape = (len(self._rows), len(self._cols))
        out = {layer: np.empty((n, self.n_channels(layer), *shape), dtype=np.float32)
               for layer in layers}
        if self.source == "macaque":
            for start in range(0, n, _MACAQUE_CHUNK):
                block = np.ascontiguousarray(images[start:start + _MACAQUE_CHUNK],
                                             dtype=np.float32)
                rates = self._macaque_responses(block)
                for layer in layers:
                    out[layer][start:start + _MACAQUE_CHUNK] = rates[:, self._layer_units[layer]]
            return out
        rows, cols = self.display.shape
        channels = sum(self.n_channels(layer) for layer in layers)
        # float32 maps per image: the linear responses plus about three layer-sized copies
        per_image = 4 * rows * cols * (self.bank.n_filters + 3 * channels)
        chunk = max(1, _CHUNK_BYTES // per_image)
        pointwise = all(self._pointwise(layer) for layer in layers)
        for start in range(0, n, chunk):
            block = images[start:start + chunk]
            if pointwise:
                # a position needs the linear responses there only: filter at the kept
                # positions alone (direct dot products when they are few)
                linear = self.bank.at(block, self._rows, self._cols)
                for layer in layers:
                    out[layer][start:start + chunk] = self._layer(linear, layer)
                continue
            linear = self.bank(block)
            for layer in layers:
                maps = self._layer(linear, layer)
                out[layer][start:start + chunk] = maps[:, :, self._rows[:, None],
                                                       self._cols[None, :]]
        return out

    def responses_at_many(self, stimuli: Any, layers: Any, rows: Any, cols: Any
                          ) -> dict[str, np.ndarray]:
        """:meth:`responses_at` of several layers from one filtering pass.

        Parameters
        ----------
        stimuli : array_like of shape (n, rows, cols)
            Images in contrast units with the display's shape.
        layers : sequence of str or None
            Layers to return, each one of :attr:`sampled_layers`; None for all of them.
        rows, cols : array_like of int
            Map rows and columns, pairs of equal length (as :meth:`responses_at`).

        Returns
        -------
        dict of str to ndarray of shape (n, channels, positions), float32

        Raises
        ------
        ValueError, TypeError, IndexError
            As :meth:`responses_at`.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = V1Model(Display((32, 32), 16), n_units=8, stride=4)
        >>> out = model.responses_at_many(np.zeros((3, 32, 32)), None, [3], [3])
        >>> sum(v.shape[1] for v in out.values()) == model.n_units
        True
        """
        layers = self._layer_list(layers)
        for layer in layers:
            if layer not in self.sampled_layers:
                raise ValueError(f"layer {layer!r} cannot be computed at positions alone "
                                 f"(its stage pools over space); responses_at supports "
                                 f"{self.sampled_layers}, use responses()")
        images = check_images("stimuli", stimuli, self.display)
        rows = check_index("rows", rows, len(self._rows), "map rows")
        cols = check_index("cols", cols, len(self._cols), "map columns")
        if len(rows) != len(cols):
            raise ValueError(f"rows and cols must have equal lengths (one position per pair), "
                             f"got {len(rows)} and {len(cols)}")
        pix_r, pix_c = self._rows[rows], self._cols[cols]
        n = images.shape[0]
        out = {layer: np.empty((n, self.n_channels(layer), len(rows)), dtype=np.float32)
               for layer in layers}
        if self.source == "macaque":
            for start in range(0, n, _MACAQUE_CHUNK):
                block = np.ascontiguousarray(images[start:start + _MACAQUE_CHUNK],
                                             dtype=np.float32)
                rates = self._macaque_responses(block, pix_r, pix_c)
                for layer in layers:
                    out[layer][start:start + _MACAQUE_CHUNK] = rates[:, self._layer_units[layer]]
            return out
        # the bank's patch products batch themselves from their memory budget
        linear = self.bank.at(images, pix_r, pix_c, grid=False)[..., None]
        for layer in layers:
            out[layer] = self._layer(linear, layer)[..., 0]
        return out

    def _layer_list(self, layers: Any) -> tuple[str, ...]:
        """Checked layer names (None: all), without repeats, in the order given."""
        if layers is None:
            return self.layers
        if isinstance(layers, str):
            raise TypeError(f"layers must be a sequence of layer names, got the string "
                            f"{layers!r}; pass [{layers!r}]")
        names = tuple(dict.fromkeys(check_layer(self, layer) for layer in layers))
        if not names:
            raise ValueError("layers must name at least one layer")
        return names

    def _simple_linear(self, linear: np.ndarray) -> np.ndarray:
        """Simple channels' linear responses ``(n, channels, ...)`` from the bank's
        ``(n, filters, ...)`` (phases beyond 180° are sign flips of shared filters)."""
        sign = self._simple_sign.reshape(1, -1, *(1,) * (linear.ndim - 2))
        return linear[:, self._simple_index] * sign

    def _pointwise(self, layer: str) -> bool:
        """Whether ``layer`` at a position needs the linear responses at that position only
        (no pooling over space: not max-pooling complex cells, and the normalization
        pool, if any, is the channels at the same position)."""
        local = self.normalization is None or self.normalization["pool_sigma"] == 0
        return local and (layer == "simple" or self.complex_kind == "energy")

    def _layer(self, linear: np.ndarray, layer: str) -> np.ndarray:
        """Full-resolution maps of ``layer`` from the bank's linear responses."""
        if layer == "simple":
            maps = half_wave(self._simple_linear(linear), **self.simple_nonlinearity)
        elif self.complex_kind == "energy":
            maps = energy(linear[:, self._complex_index[:, 0]],
                          linear[:, self._complex_index[:, 1]])
        else:
            # the nonlinearity is monotone, so the maximum of the rectified simple cells
            # is the rectified maximum: take the maximum over phases first (less memory)
            best = linear[:, self._complex_index[:, 0]] * self._complex_sign[None, :, 0,
                                                                              None, None]
            for p in range(1, self._complex_index.shape[1]):
                signed = (linear[:, self._complex_index[:, p]]
                          * self._complex_sign[None, :, p, None, None])
                np.maximum(best, signed, out=best)
            maps = max_pool(half_wave(best, **self.simple_nonlinearity)[:, :, None],
                            window=self._complex["pool_window"],
                            pixels_per_degree=self.display.pixels_per_degree)
        if self.normalization is not None:
            maps = divisive_normalization(maps, **self.normalization,
                                          pixels_per_degree=self.display.pixels_per_degree)
        return maps

    def unit_info(self, layer: str) -> dict[str, np.ndarray]:
        """Per-channel ground truth of ``layer``.

        Parameters
        ----------
        layer : {"simple", "complex"}
            Which layer.

        Returns
        -------
        dict of str to ndarray of shape (channels,)
            ``orientation`` (deg), ``sf`` (c/deg), ``sigma_x``, ``sigma_y`` (deg),
            ``nx``, ``ny`` (cycles) and ``rf_size`` (deg); ``phase`` (deg) for simple
            cells only in grids and tables (their complex cells have none) and for every
            unit of the macaque population, which also has ``complexity`` (the
            energy-pathway weight) and ``modulation_ratio`` (the F1/F0 its pathway mix
            gives, :func:`mixed_unit_modulation_ratio`, > 1 in the simple layer);
            ``pool_window`` (deg, the window side rounded to whole pixels) for
            max-pooling complex cells.  ``rf_size`` is
            the envelope's ±2σ extent along its longer axis, ``4 max(σx, σy)``, plus
            the pooling window for max-pooling cells.  RF centres are the map
            positions of :meth:`map_coordinates`.

        Raises
        ------
        ValueError
            For an unknown layer.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = V1Model.grid(Display((32, 32), 16), orientations=[0], sfs=[2], nx=0.5,
        ...                      ny=0.5)
        >>> model.unit_info("complex")["rf_size"].tolist()
        [1.0]
        """
        check_layer(self, layer)
        table = self._simple if layer == "simple" else self._complex
        info = {k: np.asarray(table[k], dtype=float).copy() for k in table.names}
        rf = 4.0 * np.maximum(info["sigma_x"], info["sigma_y"])
        if "pool_window" in info:
            rf = rf + info["pool_window"]
        info["rf_size"] = rf
        return info

    def map_coordinates(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Visual-field positions of the map columns and rows of ``layer``.

        Parameters
        ----------
        layer : {"simple", "complex"}
            Which layer (both share the display grid).

        Returns
        -------
        x : ndarray of shape (cols',)
            Degrees, increasing rightwards.
        y : ndarray of shape (rows',)
            Degrees, decreasing down the rows (+y is up).

        Raises
        ------
        ValueError
            For an unknown layer.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = V1Model.grid(Display((5, 5), 16), orientations=[0], sfs=[2], stride=2)
        >>> [a.tolist() for a in model.map_coordinates("simple")]
        [[-0.125, 0.0, 0.125], [0.125, 0.0, -0.125]]
        """
        check_layer(self, layer)
        x, y = self.display.coordinates()
        return x[0, self._cols].copy(), y[self._rows, 0].copy()


class _KernelSet:
    """Kernels read at a few pixels by direct products (the macaque population's filters).

    Kernels of side ≤ 15, 31 or 63 px are padded to that side and read against image
    patches; larger ones are padded or centre-cropped to ``(2 rows − 1, 2 cols − 1)``,
    the part that can overlap the image, and read as image-sized windows.  Kernels
    whose patch is about as large as the image, and the windows, are placed at the
    positions once (cached per set of positions, within ``_PLACED_BYTES``) and read
    by one product of the whole images with them.  Work is
    proportional to positions × kernel area, far less than filtering whole images when
    few positions are kept; the result equals :meth:`v1model.gabor.GaborBank.at` (the
    cross-correlation with each kernel centred on the pixel, mean grey beyond the edge).
    """

    def __init__(self, kernels: Any, display: Display):
        rows, cols = display.shape
        self.shape = (rows, cols)
        full = (2 * rows - 1, 2 * cols - 1)
        sides = [(s, s) for s in (15, 31, 63) if s * s < rows * cols] + [full]
        groups: dict[int, list[int]] = {}
        for i, k in enumerate(kernels):
            g = next((j for j, (h, w) in enumerate(sides[:-1])
                      if k.shape[0] <= h and k.shape[1] <= w), len(sides) - 1)
            groups.setdefault(g, []).append(i)
        self.groups = []
        for g, members in sorted(groups.items()):
            kh, kw = sides[g]
            stack = np.zeros((len(members), kh, kw), dtype=np.float32)
            for j, i in enumerate(members):
                k = kernels[i]
                r0, c0 = max((k.shape[0] - kh) // 2, 0), max((k.shape[1] - kw) // 2, 0)
                src = k[r0:r0 + kh, c0:c0 + kw]
                dr, dc = (kh - src.shape[0]) // 2, (kw - src.shape[1]) // 2
                stack[j, dr:dr + src.shape[0], dc:dc + src.shape[1]] = src
            window = (kh, kw) == full
            self.groups.append((np.array(members), window, kh,
                                stack if window else stack.reshape(len(members), -1).T.copy()))
        self.n_kernels = len(kernels)
        self._placed_cache: dict[tuple, np.ndarray] = {}

    def _placed(self, group: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
        """Image-sized kernels of group ``group`` placed at each position, as one
        ``(rows · cols, kernels · positions)`` matrix (cached per set of positions, the
        few most recent), or None when it would exceed ``_PLACED_BYTES``."""
        members, window, side, stack = self.groups[group]
        n_rows, n_cols = self.shape
        size = 4 * n_rows * n_cols * len(members) * len(rows)
        if size > _PLACED_BYTES:
            return None
        key = (group, rows.tobytes(), cols.tobytes())
        placed = self._placed_cache.get(key)
        if placed is None:
            if not window:       # the patch kernels centred on an image-sized canvas
                canvas = np.zeros((len(members), 2 * n_rows - 1, 2 * n_cols - 1), np.float32)
                h = side // 2
                canvas[:, n_rows - 1 - h:n_rows + h, n_cols - 1 - h:n_cols + h] = (
                    stack.T.reshape(len(members), side, side))
                stack = canvas
            a, b = n_rows - 1 - rows, n_cols - 1 - cols
            win = sliding_window_view(stack, (n_rows, n_cols), axis=(1, 2))[:, a, b]
            # (kernels, positions, rows, cols) → (rows · cols, kernels · positions)
            placed = np.ascontiguousarray(win.reshape(len(members) * len(rows), -1).T)
            while self._placed_cache and (sum(v.nbytes for v in self._placed_cache.values())
                                          + placed.nbytes > _PLACED_BYTES):
                self._placed_cache.pop(next(iter(self._placed_cache)))
            self._placed_cache[key] = placed
        return placed

    def at(self, images: np.ndarray, rows: Any, cols: Any, *, grid: bool) -> np.ndarray:
        """Responses ``(n, kernels, positions)`` at ``rows`` × ``cols`` (or pairs)."""
        n_rows, n_cols = self.shape
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        if grid:
            rows, cols = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
        n = len(images)
        flat = images.reshape(n, -1)
        out = np.empty((n, self.n_kernels, len(rows)), dtype=np.float32)
        for g, (members, window, side, stack) in enumerate(self.groups):
            if window:
                placed = self._placed(g, rows, cols)
                if placed is not None:     # one product for every kernel and position
                    out[:, members] = (flat @ placed).reshape(n, len(members), len(rows))
                    continue
                for p, (r, c) in enumerate(zip(rows, cols, strict=True)):
                    a, b = n_rows - 1 - r, n_cols - 1 - c
                    kernel = stack[:, a:a + n_rows, b:b + n_cols].reshape(len(members), -1)
                    out[:, members, p] = flat @ kernel.T
                continue
            k = len(members)
            if (side <= min(2 * n_rows - 1, 2 * n_cols - 1)
                    and n_rows * n_cols * k <= side * side * (k + 2)):
                # kernels about as large as the image: whole images against the kernels
                # placed at the positions beat copying the patches out
                placed = self._placed(g, rows, cols)
                if placed is not None:
                    out[:, members] = (flat @ placed).reshape(n, k, len(rows))
                    continue
            half = side // 2
            padded = np.zeros((n, n_rows + 2 * half, n_cols + 2 * half), dtype=np.float32)
            padded[:, half:half + n_rows, half:half + n_cols] = images
            patches = sliding_window_view(padded, (side, side), axis=(1, 2))[:, rows, cols]
            prod = patches.reshape(n * len(rows), -1) @ stack
            out[:, members] = prod.reshape(n, len(rows), -1).transpose(0, 2, 1)
        return out


def _filter_refs(table: Table, phases: np.ndarray, keys: dict[tuple, int]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Indices into the shared filters and signs for ``phases (channels, p)`` of each row.

    ``keys`` maps (orientation, sf, sigma_x, sigma_y, phase mod 180) to a filter index
    and grows as new filters are needed.
    """
    index = np.empty(phases.shape, dtype=np.intp)
    sign = np.empty(phases.shape, dtype=np.float32)
    for i in range(len(table)):
        envelope = tuple(float(table[k][i]) for k in ("orientation", "sf", "sigma_x",
                                                        "sigma_y"))
        for j, phase in enumerate(phases[i]):
            base, sign[i, j] = _base_phase(phase)
            index[i, j] = keys.setdefault((*envelope, base), len(keys))
    return index, sign


def _base_phase(phase: float) -> tuple[float, float]:
    """``(base, sign)`` with ``phase ≡ base (+ 180° if sign < 0)``, base in [0, 180).

    Rounded to 1e-9 degrees so that phases computed as φ + 90° + 90° and φ + 180°
    share one filter.
    """
    p = float(np.mod(phase, 360.0))
    sign = 1.0
    if p >= 180.0:
        p, sign = p - 180.0, -1.0
    p = round(p, 9)
    if p >= 180.0:  # a rounding step up to 180 is phase 0 of the opposite sign
        p, sign = p - 180.0, -sign
    return p, sign
