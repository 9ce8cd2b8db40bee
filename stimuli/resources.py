"""One resource policy for the whole distribution: a memory budget and size limits.

Every public function that allocates something large — a display's frames, a
batch of stimuli, a noise set for reverse correlation, a spiking simulation —
estimates what it needs *before* allocating and raises
:class:`MemoryBudgetError` if that exceeds the budget, with a message that says
how much was asked, how much is allowed, and which argument to lower.  The
process therefore fails at once with a clear message instead of swapping for
minutes or being killed by the operating system.

The budget is, in order of precedence:

1. the value given to :func:`set_memory_budget` (``None`` restores the default);
2. the environment variable ``V1MODEL_MEMORY_BUDGET``: a number of bytes with an
   optional unit (``"2GB"``, ``"512 MiB"``, ``"1.5e9"``) or a percentage of the
   currently available RAM (``"25%"``);
3. :data:`DEFAULT_FRACTION` (half) of the RAM available when the check runs.

The estimates cover the main arrays of an operation (its output, plus the
float64 working copies it is known to make), not every temporary, so the budget
is a guard against mistakes of orders of magnitude, not an exact accountant.

Beside the budget, a few counts have fixed upper bounds because no experiment
needs more and a larger value is almost certainly a typo: :data:`MAX_DISPLAY_SIDE`
pixels per side of a display, :data:`MAX_FRAMES` frames of a movie,
:data:`MAX_IMAGES` images in a noise set or stimulus sequence,
:data:`MAX_SIMULATION_STEPS` integration steps of
one spiking run and :data:`MAX_NEURON_STEPS` neuron-steps (neurons × steps).
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_FRACTION",
    "ENV_VAR",
    "MAX_DISPLAY_SIDE",
    "MAX_FRAMES",
    "MAX_IMAGES",
    "MAX_NEURON_STEPS",
    "MAX_SIMULATION_STEPS",
    "MemoryBudgetError",
    "available_memory",
    "check_memory",
    "memory_budget",
    "set_memory_budget",
]

#: Fraction of the available RAM allowed by default.
DEFAULT_FRACTION = 0.5
#: Environment variable overriding the default budget.
ENV_VAR = "V1MODEL_MEMORY_BUDGET"
#: Largest number of pixels per side of a display (an 8K monitor has 7680 columns).
MAX_DISPLAY_SIDE = 16384
#: Largest number of images in one noise set or stimulus sequence (reverse correlation
#: of V1 uses 10**4 to 10**5).
MAX_IMAGES = 10**7
#: Largest number of frames of one movie (about 4.6 hours at 60 frames/s).
MAX_FRAMES = 10**6
#: Largest number of integration steps in one spiking simulation (10**7 steps of
#: 0.1 ms are 1000 s of simulated time; the numpy target needs roughly an hour).
MAX_SIMULATION_STEPS = 10**7
#: Largest number of neuron-steps (neurons × steps) in one spiking simulation.
MAX_NEURON_STEPS = 10**11

_FALLBACK_AVAILABLE = 4 * 2**30  # if the OS does not say (4 GiB)
_override: int | None = None

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6,
          "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12,
          "tib": 2**40}


class MemoryBudgetError(ValueError, MemoryError):
    """An operation would need more memory than the budget allows.

    A :class:`ValueError` (the arguments ask for too much) and a
    :class:`MemoryError` (code that already handles running out of memory catches
    it too).
    """


def available_memory() -> int:
    """RAM the system can give this process now, in bytes.

    Returns
    -------
    int
        ``MemAvailable`` from ``/proc/meminfo`` on Linux, else free physical pages
        times the page size, else 4 GiB if the operating system does not say.

    Examples
    --------
    >>> available_memory() > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_AVAILABLE


def _parse_budget(text: str, source: str) -> int:
    """``"2GB"``, ``"512 MiB"``, ``"1e9"`` → bytes; ``"25%"`` → that share of available RAM."""
    stripped = str(text).strip().lower()
    if stripped.endswith("%"):
        try:
            percent = float(stripped[:-1])
        except ValueError:
            percent = math.nan
        if not 0 < percent <= 100:
            raise ValueError(f"{source} must be a percentage in (0, 100], got {text!r}")
        return int(available_memory() * percent / 100)
    match = re.fullmatch(r"([0-9.]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)", stripped)
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"{source} must be a size such as '2GB', '512MiB', '1e9' or '25%', "
                         f"got {text!r}")
    value = float(match.group(1)) * _UNITS[match.group(2)]
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"{source} must be at least 1 byte, got {text!r}")
    return int(value)


def set_memory_budget(nbytes: int | str | None) -> int | None:
    """Set the memory budget for this process; ``None`` restores the default.

    Parameters
    ----------
    nbytes : int, str or None
        Bytes (an int), a size string such as ``"2GB"`` or ``"25%"`` (see the module
        docstring), or None for the environment variable / default fraction.

    Returns
    -------
    int or None
        The previous override, to restore it later.

    Raises
    ------
    ValueError, TypeError
        For a size that is not positive or cannot be parsed.

    Examples
    --------
    >>> previous = set_memory_budget("1 GiB")
    >>> memory_budget()
    1073741824
    >>> _ = set_memory_budget(previous)
    """
    global _override
    previous = _override
    if nbytes is None:
        _override = None
    elif isinstance(nbytes, str):
        _override = _parse_budget(nbytes, "nbytes")
    elif isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)):
        raise TypeError(f"nbytes must be an int, a size string or None, got {nbytes!r}")
    elif nbytes < 1:
        raise ValueError(f"nbytes must be at least 1 byte, got {nbytes}")
    else:
        _override = int(nbytes)
    return previous


def memory_budget() -> int:
    """The memory, in bytes, one operation may allocate (see the module docstring).

    Returns
    -------
    int
        The override, else ``V1MODEL_MEMORY_BUDGET``, else half the available RAM.

    Raises
    ------
    ValueError
        If ``V1MODEL_MEMORY_BUDGET`` is set but cannot be parsed.

    Examples
    --------
    >>> memory_budget() > 0
    True
    """
    if _override is not None:
        return _override
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _parse_budget(env, f"the environment variable {ENV_VAR}")
    return int(available_memory() * DEFAULT_FRACTION)


def format_bytes(nbytes: float) -> str:
    """A byte count for people, in binary units.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(512)
    ('3.0 GiB', '512 B')
    """
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover


def check_memory(what: str, nbytes: float, hint: str) -> None:
    """Raise :class:`MemoryBudgetError` if ``nbytes`` exceed :func:`memory_budget`.

    Parameters
    ----------
    what : str
        What would be allocated, e.g. ``"white_noise: 1000000 images of 64 x 64 float32"``.
    nbytes : float
        Its size in bytes (a float, so products of huge counts do not overflow).
    hint : str
        How to ask for less, e.g. ``"lower n_images or use a smaller display"``.

    Raises
    ------
    MemoryBudgetError
        If the request exceeds the budget; the message gives both sizes, the hint
        and how to raise the budget.

    Examples
    --------
    >>> check_memory("a small array", 1024, "ask for less")
    >>> previous = set_memory_budget(1000)
    >>> check_memory("one image", 4096, "use a smaller display")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stimuli.resources.MemoryBudgetError: one image needs 4.0 KiB, more than the memory budget ...
    >>> _ = set_memory_budget(previous)
    """
    budget = memory_budget()
    if nbytes > budget:
        raise MemoryBudgetError(
            f"{what} needs {format_bytes(nbytes)}, more than the memory budget of "
            f"{format_bytes(budget)}: {hint} (or raise the budget with "
            f"stimuli.resources.set_memory_budget or the {ENV_VAR} environment variable)"
        )


def array_nbytes(shape: Any, dtype: Any = np.float32) -> float:
    """Bytes of an array of ``shape`` and ``dtype``, as a float (no integer overflow).

    Examples
    --------
    >>> array_nbytes((10**6, 10**6, 10**6), np.float64)
    8e+18
    """
    return float(math.prod(float(s) for s in shape)) * np.dtype(dtype).itemsize
