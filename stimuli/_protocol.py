"""The :class:`Protocol` class and the argument helpers of the protocol functions.

Internal: use them through :mod:`stimuli.protocols` (``from stimuli import
protocols``), which re-exports :class:`Protocol`; the protocol functions live
there (gratings, sparse and white noise) and in :mod:`stimuli.image_protocols`
(given images, several protocols in one, textures, a blank screen).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from stimuli._shared import html as _html
from stimuli._shared.validation import (
    check_array,
    check_choice,
    check_index,
    check_int,
    check_mapping,
    check_positive,
)
from stimuli.display import Display
from stimuli.resources import array_nbytes, check_memory
from stimuli.table import Table

_PREFERRED_SF = 2.0  # c/deg, near the macaque V1 median peak sf (De Valois et al. 1982)

Renderer = Callable[[Display, dict[str, Any]], np.ndarray]


class Protocol:
    """A stimulus set defined by a condition table and a function that renders a row.

    Parameters
    ----------
    name : str
        Protocol name (e.g. ``"orientation_tuning"``).
    display : Display
        The screen the stimuli are drawn for.
    conditions : Table or mapping of str to 1-D array
        One row per stimulus.
    render : callable
        ``render(display, row) -> ndarray`` with ``row`` a dict of the row's values
        (:meth:`Table.row`): an image ``(rows, cols)`` for kind ``"image"`` or a movie
        ``(frames, rows, cols)`` for kind ``"movie"``, in contrast units.  For
        protocols sent to process pools (:func:`analysis.runner.run_protocol` with
        an executor) it must be picklable: a module-level function or a
        ``functools.partial`` of one.
    params : mapping, optional
        The parameters the protocol was built with (JSON-serialisable); shown in
        the repr and recorded with every recording.
    kind : {"image", "movie"}
        What one stimulus is.
    stimulus_shape : tuple of int, optional
        Shape of one stimulus; default ``display.shape`` for images and, for
        movies, found by rendering stimulus 0 when first needed.

    Attributes
    ----------
    name, display, conditions, params, kind

    Raises
    ------
    TypeError, ValueError
        For a display that is not a Display, a non-callable ``render``, an unknown
        ``kind`` or a bad ``stimulus_shape``.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> from stimuli.gratings import grating
    >>> d = Display((8, 8), pixels_per_degree=4)
    >>> p = Protocol("two", d, {"orientation": [0.0, 90.0]},
    ...              lambda display, row: grating(display, orientation=row["orientation"]))
    >>> len(p), p.stimuli([1]).shape
    (2, (1, 8, 8))
    >>> [(start, batch.shape[0]) for start, batch in p.batches(1)]
    [(0, 1), (1, 1)]
    """

    def __init__(
        self,
        name: str,
        display: Display,
        conditions: Table | Mapping[str, Any],
        render: Renderer,
        *,
        params: Mapping[str, Any] | None = None,
        kind: str = "image",
        stimulus_shape: Sequence[int] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        if not isinstance(display, Display):
            raise TypeError(
                f"display must be a stimuli.display.Display, got {type(display).__name__}"
            )
        if not isinstance(conditions, Table):
            if not isinstance(conditions, Mapping):
                raise TypeError(
                    f"conditions must be a Table or a mapping of column name to 1-D array, "
                    f"got {type(conditions).__name__}"
                )
            conditions = Table(conditions)
        if not callable(render):
            raise TypeError(f"render must be callable, got {render!r}")
        self.name = name
        self.display = display
        self.conditions = conditions
        self.kind = check_choice("kind", kind, ("image", "movie"))
        self.params = check_mapping("params", params, optional=True) or {}
        self._render = render
        if stimulus_shape is None and self.kind == "image":
            stimulus_shape = display.shape
        if stimulus_shape is not None:
            stimulus_shape = self._check_shape(stimulus_shape)
        self._stimulus_shape = stimulus_shape

    def _check_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        if not isinstance(shape, Sequence) or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape):
            raise TypeError(f"stimulus_shape must be a sequence of integers, got {shape!r}")
        shape = tuple(int(s) for s in shape)
        ok = (shape == self.display.shape if self.kind == "image"
              else len(shape) == 3 and shape[1:] == self.display.shape and shape[0] >= 1)
        if not ok:
            doc = "(rows, cols)" if self.kind == "image" else "(frames, rows, cols)"
            raise ValueError(
                f"stimulus_shape must be {doc} matching the {self.display.rows}x"
                f"{self.display.cols} display for kind {self.kind!r}, got {shape}"
            )
        return shape

    def __len__(self) -> int:
        """Number of stimuli (rows of the condition table)."""
        return len(self.conditions)

    @property
    def stimulus_shape(self) -> tuple[int, ...]:
        """Shape of one stimulus: ``(rows, cols)`` or ``(frames, rows, cols)``."""
        if self._stimulus_shape is None:
            if len(self) == 0:
                raise ValueError(f"protocol {self.name!r} has no stimuli")
            self._stimulus_shape = self._check_shape(np.shape(self._render_row(0)))
        return self._stimulus_shape

    def _render_row(self, i: int) -> np.ndarray:
        return np.asarray(self._render(self.display, self.conditions.row(i)), dtype=np.float32)

    def stimuli(self, index: Any) -> np.ndarray:
        """Render the stimuli of the given condition rows.

        Parameters
        ----------
        index : int, array_like of int, or array_like of bool
            Row indices (negative values count from the end) or a boolean mask of
            length ``len(self)``.

        Returns
        -------
        ndarray, float32
            ``(k, rows, cols)`` images or ``(k, frames, rows, cols)`` movies for an
            index array; one stimulus without the leading axis for an int.

        Raises
        ------
        IndexError
            If an index is out of range.
        TypeError, ValueError
            If the index is not integer or boolean, or a mask has the wrong length.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> p = orientation_tuning(Display((8, 8), pixels_per_degree=4), sfs=(1.0,))
        >>> p.stimuli(np.arange(3)).shape, p.stimuli(0).shape
        ((3, 8, 8), (8, 8))
        """
        scalar = isinstance(index, numbers.Integral) and not isinstance(index, bool)
        idx = check_index("index", index, len(self), "stimuli", allow_empty=True)
        shape = self.stimulus_shape
        check_memory(f"protocol {self.name!r}: {len(idx)} stimuli of shape {shape}",
                     array_nbytes((len(idx), *shape), np.float32),
                     "ask for fewer stimuli at a time (batches) or use a smaller display")
        out = np.empty((len(idx), *shape), dtype=np.float32)
        for k, i in enumerate(idx):
            stimulus = self._render_row(int(i))
            if stimulus.shape != out.shape[1:]:
                raise ValueError(
                    f"protocol {self.name!r} rendered stimulus {int(i)} with shape "
                    f"{stimulus.shape}, expected {out.shape[1:]}"
                )
            out[k] = stimulus
        return out[0] if scalar else out

    def batches(self, batch_size: int = 64) -> Iterator[tuple[int, np.ndarray]]:
        """Iterate over the stimuli in order, ``batch_size`` at a time.

        Parameters
        ----------
        batch_size : int
            Stimuli per batch (>= 1); the last batch may be smaller.

        Returns
        -------
        iterator of (int, ndarray)
            ``(start, stimuli)`` with ``stimuli`` equal to
            ``self.stimuli(np.arange(start, start + len(stimuli)))``; each batch is
            rendered only when the iterator reaches it.

        Raises
        ------
        TypeError, ValueError
            If ``batch_size`` is not an integer >= 1.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> p = contrast_response(Display((8, 8), pixels_per_degree=4), phases=(0.0,))
        >>> [(start, len(b)) for start, b in p.batches(4)]
        [(0, 4), (4, 4), (8, 1)]
        """
        batch_size = check_int("batch_size", batch_size, minimum=1)
        return self._batches(batch_size)

    def _batches(self, batch_size: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, len(self), batch_size):
            yield start, self.stimuli(np.arange(start, min(start + batch_size, len(self))))

    def __repr__(self) -> str:
        d = self.display
        what = "images" if self.kind == "image" else "movies"
        if self.kind == "movie" and self._stimulus_shape is not None:
            what = f"movies of {self._stimulus_shape[0]} frames"
        params = ", ".join(f"{k}={_format(v)}" for k, v in self.params.items())
        return (
            f"Protocol({self.name!r}, {len(self)} {what} on {d.rows}x{d.cols} px at "
            f"{d.pixels_per_degree:g} px/deg; {params})"
        )

    def _repr_html_(self) -> str:
        """Notebook view: name, size, display and parameters, then the first condition rows."""
        d = self.display
        height, width = d.size_degrees
        what = "images" if self.kind == "image" else "movies"
        if self.kind == "movie" and self._stimulus_shape is not None:
            what = f"movies of {self._stimulus_shape[0]} frames"
        details = [f"{len(self)} {what}",
                   f"display {d.rows} × {d.cols} px at {d.pixels_per_degree:g} px/deg "
                   f"({height:g} × {width:g} deg)"]
        if self.kind == "movie":
            details.append(f"{d.frame_rate:g} frames/s")
        params = [(key, _format(value)) for key, value in self.params.items()]
        return _html.block(
            _html.title(f"Protocol {self.name!r}", details),
            _html.key_values(params) if params else "",
            _html.columns_table(self.conditions.to_dict(), caption="conditions"),
        )


# ============================================================================ helpers

def _values(name: str, values: Any, *, low: float | None = None, high: float | None = None,
            closed: str = "both", positive: bool = False,
            allow_inf: bool = False) -> list[float]:
    """A non-empty 1-D sequence of real numbers (a scalar counts as one) within bounds."""
    arr = check_array(name, np.atleast_1d(np.asarray(values)), ndim=1, shape_doc="(k,)",
                      dtype=np.float64, finite=not allow_inf)
    if np.any(np.isnan(arr)) or np.any(np.isneginf(arr)):
        raise ValueError(f"{name} must not contain NaN or -inf, got {list(arr)}")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be positive, got {float(arr[arr <= 0][0]):g}")
    if low is not None or high is not None:
        lo = -np.inf if low is None else low
        hi = np.inf if high is None else high
        lo_ok = arr >= lo if closed in ("both", "left") else arr > lo
        hi_ok = arr <= hi if closed in ("both", "right") else arr < hi
        bad = ~(lo_ok & hi_ok)
        if np.any(bad):
            left = "[" if closed in ("both", "left") else "("
            right = "]" if closed in ("both", "right") else ")"
            raise ValueError(f"{name} must be in {left}{lo:g}, {hi:g}{right}, "
                             f"got {float(arr[bad][0]):g}")
    return [float(v) for v in arr]


def _angles(name: str, values: Any, period: float) -> list[float]:
    return _values(name, values, low=0.0, high=period, closed="left")


def _sf(display: Display, name: str, sf: Any) -> float:
    sf = check_positive(name, sf)
    if sf > display.nyquist_cpd:
        raise ValueError(
            f"{name} must be at most the display's Nyquist frequency {display.nyquist_cpd:g} "
            f"c/deg (0.5 cycles/pixel at {display.pixels_per_degree:g} px/deg), got {sf:g}"
        )
    return sf


def _sfs(display: Display, name: str, sfs: Any) -> list[float]:
    sfs = _values(name, sfs, positive=True)
    too_high = [f for f in sfs if f > display.nyquist_cpd]
    if too_high:
        raise ValueError(
            f"{name} must be at most the display's Nyquist frequency {display.nyquist_cpd:g} "
            f"c/deg (0.5 cycles/pixel at {display.pixels_per_degree:g} px/deg); "
            f"{len(too_high)} exceed it: {', '.join(f'{f:.3g}' for f in too_high)}"
        )
    return sfs


def _default_sf(display: Display) -> float:
    """2 c/deg, or half the Nyquist frequency on displays too coarse for it."""
    return float(min(_PREFERRED_SF, display.nyquist_cpd / 2))


def _default_sfs(display: Display, candidates: Sequence[float]) -> list[float]:
    kept = [float(f) for f in candidates if f < display.nyquist_cpd]
    return kept or [display.nyquist_cpd / 2]


def _radius(name: str, radius: Any) -> float:
    """``None`` or ``inf`` → ``inf`` (full field); otherwise a positive radius."""
    if radius is None or (isinstance(radius, numbers.Real) and radius == math.inf):
        return math.inf
    return check_positive(name, radius)


def _center(center: Any) -> tuple[float, float]:
    arr = check_array("center", center, ndim=1, shape_doc="(x, y) in degrees", dtype=float)
    if arr.shape != (2,):
        raise ValueError(f"center must be (x, y) in degrees, got {center!r}")
    return float(arr[0]), float(arr[1])


def _grid(grid: Any) -> tuple[int, int]:
    if isinstance(grid, numbers.Integral) or np.ndim(grid) != 1 or len(grid) != 2:
        raise ValueError(f"grid must be (n_rows, n_cols), got {grid!r}")
    return (check_int("grid[0] (n_rows)", grid[0], minimum=1),
            check_int("grid[1] (n_cols)", grid[1], minimum=1))


def _product(*factors: tuple[str, Sequence[Any]]) -> Table:
    """The full factorial of the factors, the last varying fastest."""
    rows = list(itertools.product(*(values for _, values in factors)))
    return Table({name: np.array([r[i] for r in rows], dtype=np.float64)
                  for i, (name, _) in enumerate(factors)})


def _full(table: Table, value: float) -> np.ndarray:
    return np.full(len(table), value, dtype=np.float64)


def _none_if_inf(value: float) -> float | None:
    return None if math.isinf(value) else value


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return repr(value)




# Shown as ``stimuli.protocols.Protocol`` (its public home) in reprs, docs and pickles.
Protocol.__module__ = "stimuli.protocols"
