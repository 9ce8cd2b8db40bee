"""Argument checks shared by every public function of the distribution.

Each helper takes the parameter's *name* so the error tells the user which
argument was wrong and what was expected.  ``v1model`` and ``analysis`` import
these too (dependencies point one way: ``stimuli`` imports neither of the
other two packages, which may both import it).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

RngLike = None | int | np.random.Generator


def as_rng(rng: RngLike, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from ``None``, an int seed or a Generator."""
    if rng is None or isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng is not None and rng < 0:
            raise ValueError(f"{name} must be a non-negative integer seed, got {rng}")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"{name} must be None, an int seed or a numpy.random.Generator, got {rng!r}")


def check_real(name: str, value: Any) -> float:
    """A finite real scalar, returned as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        arr = np.asarray(value)
        if arr.ndim != 0 or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise TypeError(f"{name} must be a real number, got {value!r}")
        value = arr.item()
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_positive(name: str, value: Any) -> float:
    """A finite real scalar > 0."""
    value = check_real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def check_nonnegative(name: str, value: Any) -> float:
    """A finite real scalar >= 0."""
    value = check_real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def check_range(name: str, value: Any, low: float, high: float, *, closed: str = "both") -> float:
    """A finite real scalar in an interval; ``closed`` is 'both', 'left', 'right' or 'neither'."""
    value = check_real(name, value)
    lo_ok = value >= low if closed in ("both", "left") else value > low
    hi_ok = value <= high if closed in ("both", "right") else value < high
    if not (lo_ok and hi_ok):
        left = "[" if closed in ("both", "left") else "("
        right = "]" if closed in ("both", "right") else ")"
        raise ValueError(f"{name} must be in {left}{low}, {high}{right}, got {value}")
    return value


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """An integer (not a float that happens to be whole, not a bool), optionally >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """True or False (numpy booleans too; not 0/1 or other truthy values)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_mapping(name: str, value: Any, *, optional: bool = False) -> dict | None:
    """A mapping (dict-like), returned as a dict; None too if ``optional``."""
    if value is None and optional:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping (dict), got {type(value).__name__}")
    return dict(value)


def check_count(name: str, value: Any, *, minimum: int = 1, maximum: int) -> int:
    """An integer in ``[minimum, maximum]``: counts with a sensible upper bound."""
    value = check_int(name, value, minimum=minimum)
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def check_strings(name: str, value: Any, *, allow_empty: bool = True) -> tuple[str, ...]:
    """A string or a sequence of strings, returned as a tuple of str."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise TypeError(f"{name} must be a string or a sequence of strings, got {value!r}")
    out = tuple(value)
    if not all(isinstance(v, str) for v in out):
        raise TypeError(f"{name} must contain strings only, got {out!r}")
    if not out and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    return out


def check_path(name: str, value: Any) -> str:
    """A non-empty str or os.PathLike, returned as str."""
    import os

    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {value!r}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{name} must be a non-empty path, got {value!r}")
    return path


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """One of a fixed set of strings."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape_doc: str | None = None,
    dtype: Any = None,
    finite: bool = True,
    nonempty: bool = True,
) -> np.ndarray:
    """A real array with the given number of dimensions, finite and non-empty by default.

    ``shape_doc`` names the expected shape in messages, e.g. ``"(n, rows, cols)"``.
    """
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            expected = shape_doc or f"{' or '.join(map(str, allowed))} dimensions"
            raise ValueError(f"{name} must have shape {expected}, got {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {bad} NaN or infinite value(s)")
    return arr


def check_images(
    name: str, value: Any, display: Any = None, *, dtype: Any = np.float32
) -> np.ndarray:
    """A batch ``(n, rows, cols)`` of finite images; a single ``(rows, cols)`` image is
    rejected so batch size is never ambiguous.  With ``display``, rows and cols must match it.
    """
    arr = check_array(name, value, ndim=3, shape_doc="(n, rows, cols)", dtype=dtype)
    if display is not None and arr.shape[1:] != tuple(display.shape):
        raise ValueError(
            f"{name} must have shape (n, {display.shape[0]}, {display.shape[1]}) to match the "
            f"display, got {arr.shape}"
        )
    return arr


def check_index(name: str, index: Any, length: int, what: str = "items", *,
                allow_empty: bool = False) -> np.ndarray:
    """Integer indices into ``length`` items from ints (negative allowed) or a boolean mask."""
    arr = np.asarray(index)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        if len(arr) != length:
            raise ValueError(f"{name} as a boolean mask must have length {length}, got {len(arr)}")
        arr = np.flatnonzero(arr)
    elif arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be integers or a boolean mask, got dtype {arr.dtype}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} selects no {what}")
    arr = arr.astype(np.intp)
    bad = (arr < -length) | (arr >= length)
    if np.any(bad):
        raise IndexError(f"{name} value {int(arr[bad][0])} is out of range for {length} {what}")
    return np.where(arr < 0, arr + length, arr)
