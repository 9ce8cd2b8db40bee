"""A Hubel–Wiesel model of V1: Gabor simple cells, complex cells, divisive normalisation.

:class:`V1Model` answers the model interface of :mod:`v1model.base` with two
retinotopic layers:

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

from collections.abc import Mapping
from typing import Any

import numpy as np

from stimuli._shared.validation import (
    check_choice,
    check_images,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)
from stimuli.display import Display
from stimuli.table import Table
from v1model._repr import model_repr_html
from v1model.base import check_layer
from v1model.cells import divisive_normalization, energy, half_wave, max_pool, window_pixels
from v1model.gabor import DEFAULT_PHASES, GaborBank, filter_parameters

COMPLEX_KINDS = ("energy", "max")
#: Defaults of the simple-cell output nonlinearity (see :func:`v1model.cells.half_wave`).
SIMPLE_NONLINEARITY = {"threshold": 0.0, "gain": 1.0, "exponent": 1.0}
#: Defaults of divisive normalisation (see :func:`v1model.cells.divisive_normalization`).
NORMALIZATION = {"sigma": 0.05, "exponent": 2.0, "gain": 1.0, "pool_sigma": 0.0}
_CHECKS = {"threshold": check_real, "gain": check_positive, "exponent": check_positive,
           "sigma": check_positive, "pool_sigma": check_nonnegative}
# bytes of intermediate maps one chunk of images may occupy
_CHUNK_BYTES = 256 * 2**20


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


class V1Model:
    """Gabor simple cells and energy or max-pooling complex cells on a display.

    Build it from a grid of filters (the keyword grid of
    :class:`v1model.gabor.GaborBank`) or from a population table
    (:func:`v1model.population.sample_population`; see :meth:`from_population`).

    Parameters
    ----------
    display : Display
        The screen; stimuli must be ``(n, rows, cols)`` with its shape.
    orientations, sfs, phases, sigma_x, sigma_y, nx, ny
        The simple-cell grid, as in :func:`v1model.gabor.filter_parameters`; defaults
        12 orientations (15° steps) × sf 1, 2, 4 c/deg × phases 0, 90, 180, 270° with
        ``nx = ny = 0.5`` cycles.  Complex channels: one per orientation × sf.
    population : Table or mapping, optional
        One simple *and* one complex channel per row; columns ``orientation``,
        ``sf``, ``phase`` and ``sigma_x``/``sigma_y`` or ``nx``/``ny``.  Exclusive with
        the grid arguments.
    complex_kind : {"energy", "max"}
        ``"energy"``: ``sqrt(L_φ0² + L_φ0+90²)`` with φ0 the first grid phase or the
        unit's phase (the quadrature filter is added when not in the grid).
        ``"max"``: maximum over the grid's phases (population: φ + 0, 90, 180, 270°)
        of the rectified simple cells and over a square window of positions.
    pool_window : float, optional
        Side in degrees of the max-pooling window (``complex_kind="max"`` only); the
        default is one carrier period, ``1 / sf``, per channel.
    simple_nonlinearity : mapping, optional
        ``threshold`` (default 0), ``gain`` (1), ``exponent`` (1) of
        :func:`v1model.cells.half_wave`, for simple cells (and the simple cells a
        max-pooling complex cell pools).
    normalization : bool or mapping
        False (default): none.  True or a mapping of ``sigma`` (0.05), ``exponent``
        (2), ``gain`` (1), ``pool_sigma`` (0 deg) for
        :func:`v1model.cells.divisive_normalization`, applied to both layers.
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
    bank : GaborBank
        The filters actually applied (phases modulo 180°).
    params : dict
        JSON-able description of the configuration (for recording metadata).

    Raises
    ------
    ValueError, TypeError
        For conflicting or out-of-range parameters (see the referenced functions), or
        ``pool_window`` with ``complex_kind="energy"``.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> model = V1Model(Display((32, 32), 16), orientations=[0, 90], sfs=[2])
    >>> model.responses(np.zeros((1, 32, 32)), "complex").shape
    (1, 2, 32, 32)
    >>> model.unit_info("simple")["phase"].tolist()
    [0.0, 90.0, 180.0, 270.0, 0.0, 90.0, 180.0, 270.0]
    """

    layers = ("simple", "complex")
    temporal = False
    _repr_html_ = model_repr_html

    def __init__(
        self,
        display: Display,
        *,
        orientations: Any = None,
        sfs: Any = None,
        phases: Any = None,
        sigma_x: float | None = None,
        sigma_y: float | None = None,
        nx: float | None = None,
        ny: float | None = None,
        population: Mapping[str, Any] | None = None,
        complex_kind: str = "energy",
        pool_window: float | None = None,
        simple_nonlinearity: Mapping[str, float] | None = None,
        normalization: bool | Mapping[str, float] = False,
        stride: int = 1,
        workers: int | None = None,
    ):
        if not isinstance(display, Display):
            raise TypeError(f"display must be a stimuli.display.Display, got {type(display)}")
        if population is not None and not isinstance(population, Mapping):
            raise TypeError(f"population must be a Table or mapping of columns, got "
                            f"{type(population).__name__}")
        self.display = display
        self.complex_kind = check_choice("complex_kind", complex_kind, COMPLEX_KINDS)
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
        self.stride = check_int("stride", stride, minimum=1)
        self.source = "grid" if population is None else "population"

        self._simple = filter_parameters(orientations=orientations, sfs=sfs, phases=phases,
                                         sigma_x=sigma_x, sigma_y=sigma_y, nx=nx, ny=ny,
                                         parameters=population)
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
        rows, cols = display.shape
        self._rows = np.arange(((rows - 1) // 2) % self.stride, rows, self.stride)
        self._cols = np.arange(((cols - 1) // 2) % self.stride, cols, self.stride)

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
        return {
            "model": type(self).__name__,
            "source": self.source,
            "display": {"shape": list(self.display.shape),
                        "pixels_per_degree": self.display.pixels_per_degree},
            "n_simple": len(self._simple),
            "n_complex": len(self._complex),
            "complex_kind": self.complex_kind,
            "pool_window": self.pool_window,
            "simple_nonlinearity": dict(self.simple_nonlinearity),
            "normalization": None if self.normalization is None else dict(self.normalization),
            "stride": self.stride,
            "filter_norm": self.bank.norm,
        }

    def __repr__(self) -> str:
        norm = "off" if self.normalization is None else "on"
        return (f"V1Model({len(self._simple)} simple, {len(self._complex)} "
                f"{self.complex_kind} complex channels; normalization {norm}; "
                f"display {self.display.shape} at {self.display.pixels_per_degree:g} px/deg; "
                f"stride {self.stride})")

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
        >>> model = V1Model(Display((16, 16), 16), orientations=[0], sfs=[4], stride=4)
        >>> model.responses(np.zeros((2, 16, 16)), "simple").shape
        (2, 4, 4, 4)
        """
        check_layer(self, layer)
        images = check_images("stimuli", stimuli, self.display)
        n = images.shape[0]
        rows, cols = self.display.shape
        channels = self.n_channels(layer)
        # float32 maps per image: the linear responses plus about three layer-sized copies
        per_image = 4 * rows * cols * (self.bank.n_filters + 3 * channels)
        chunk = max(1, _CHUNK_BYTES // per_image)
        out = np.empty((n, channels, len(self._rows), len(self._cols)), dtype=np.float32)
        pointwise = self._pointwise(layer)
        for start in range(0, n, chunk):
            block = images[start:start + chunk]
            if pointwise:
                # a position needs the linear responses there only: filter at the kept
                # positions alone (direct dot products when they are few)
                out[start:start + chunk] = self._layer(
                    self.bank.at(block, self._rows, self._cols), layer)
            else:
                maps = self._layer(self.bank(block), layer)
                out[start:start + chunk] = maps[:, :, self._rows[:, None], self._cols[None, :]]
        return out

    def _simple_linear(self, linear: np.ndarray) -> np.ndarray:
        """Simple channels' linear responses ``(n, channels, ...)`` from the bank's
        ``(n, filters, ...)`` (phases beyond 180° are sign flips of shared filters)."""
        sign = self._simple_sign.reshape(1, -1, *(1,) * (linear.ndim - 2))
        return linear[:, self._simple_index] * sign

    def _pointwise(self, layer: str) -> bool:
        """Whether ``layer`` at a position needs the linear responses at that position only
        (no pooling over space: max-pooling complex cells and normalization pool)."""
        return self.normalization is None and (layer == "simple"
                                               or self.complex_kind == "energy")

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
            cells only (complex cells have none); ``pool_window`` (deg, the window side
            rounded to whole pixels) for max-pooling complex cells.  ``rf_size`` is
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
        >>> model = V1Model(Display((32, 32), 16), orientations=[0], sfs=[2], nx=0.5, ny=0.5)
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
        >>> model = V1Model(Display((5, 5), 16), orientations=[0], sfs=[2], stride=2)
        >>> [a.tolist() for a in model.map_coordinates("simple")]
        [[-0.125, 0.0, 0.125], [0.125, 0.0, -0.125]]
        """
        check_layer(self, layer)
        x, y = self.display.coordinates()
        return x[0, self._cols].copy(), y[self._rows, 0].copy()


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
