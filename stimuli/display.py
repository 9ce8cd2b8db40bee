"""Display geometry: pixels, degrees of visual angle, cycles per degree, frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stimuli._shared.validation import check_int, check_positive
from stimuli.resources import MAX_DISPLAY_SIDE, MAX_FRAMES, array_nbytes, check_memory


@dataclass(frozen=True)
class Display:
    """A screen of ``shape = (rows, cols)`` pixels seen at ``pixels_per_degree``.

    The visual-field origin is the image centre; x grows rightwards and y grows
    *upwards* (row 0 is the top of the screen).  The centre of pixel ``(r, c)``
    lies at ``x = (c - (cols - 1) / 2) / ppd`` and ``y = ((rows - 1) / 2 - r) / ppd``
    degrees.

    Parameters
    ----------
    shape : tuple of int
        ``(rows, cols)`` in pixels, both >= 1 and at most
        :data:`stimuli.resources.MAX_DISPLAY_SIDE` (16384).
    pixels_per_degree : float
        Pixels per degree of visual angle, > 0.
    frame_rate : float, optional
        Frames per second for movies, > 0.  Default 60 Hz.

    Raises
    ------
    ValueError, TypeError
        If a size is not a positive integer or a rate is not positive and finite.

    Examples
    --------
    >>> d = Display((64, 64), pixels_per_degree=16)
    >>> d.size_degrees
    (4.0, 4.0)
    >>> d.cpd_to_cpp(2.0)
    0.125
    """

    shape: tuple[int, int]
    pixels_per_degree: float
    frame_rate: float = 60.0

    def __post_init__(self) -> None:
        shape = tuple(self.shape) if np.ndim(self.shape) == 1 else None
        if shape is None or len(shape) != 2:
            raise ValueError(f"shape must be (rows, cols), got {self.shape!r}")
        rows = check_int("shape[0] (rows)", shape[0], minimum=1)
        cols = check_int("shape[1] (cols)", shape[1], minimum=1)
        for name, side in (("shape[0] (rows)", rows), ("shape[1] (cols)", cols)):
            if side > MAX_DISPLAY_SIDE:
                raise ValueError(f"{name} must be at most {MAX_DISPLAY_SIDE} pixels "
                                 f"(stimuli.resources.MAX_DISPLAY_SIDE), got {side}")
        object.__setattr__(self, "shape", (rows, cols))
        object.__setattr__(
            self, "pixels_per_degree", check_positive("pixels_per_degree", self.pixels_per_degree)
        )
        object.__setattr__(self, "frame_rate", check_positive("frame_rate", self.frame_rate))

    @property
    def rows(self) -> int:
        return self.shape[0]

    @property
    def cols(self) -> int:
        return self.shape[1]

    @property
    def size_degrees(self) -> tuple[float, float]:
        """``(height, width)`` of the display in degrees."""
        return (self.rows / self.pixels_per_degree, self.cols / self.pixels_per_degree)

    def deg_to_px(self, degrees):
        """Degrees of visual angle → pixels (a length, not a position)."""
        return _scaled(degrees, self.pixels_per_degree)

    def px_to_deg(self, pixels):
        """Pixels → degrees of visual angle (a length, not a position)."""
        return _scaled(pixels, 1.0 / self.pixels_per_degree)

    def cpd_to_cpp(self, sf):
        """Cycles per degree → cycles per pixel."""
        return _scaled(sf, 1.0 / self.pixels_per_degree)

    def cpp_to_cpd(self, sf):
        """Cycles per pixel → cycles per degree."""
        return _scaled(sf, self.pixels_per_degree)

    @property
    def nyquist_cpd(self) -> float:
        """Highest representable spatial frequency, 0.5 cycles/pixel, in c/deg."""
        return 0.5 * self.pixels_per_degree

    def n_frames(self, duration: float) -> int:
        """``round(duration * frame_rate)`` frames; at least one frame is required."""
        duration = check_positive("duration", duration)
        if duration * self.frame_rate > MAX_FRAMES:
            raise ValueError(f"duration must be at most {MAX_FRAMES / self.frame_rate:g} s "
                             f"({MAX_FRAMES} frames, stimuli.resources.MAX_FRAMES), got {duration}")
        frames = int(round(duration * self.frame_rate))
        if frames < 1:
            raise ValueError(
                f"duration must last at least one frame (1/{self.frame_rate} s), got {duration}"
            )
        return frames

    def coordinates(self, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
        """Visual-field coordinates ``(x, y)`` in degrees, each of shape ``(rows, cols)``.

        Examples
        --------
        >>> x, y = Display((3, 3), pixels_per_degree=1).coordinates()
        >>> x[0].tolist(), y[:, 0].tolist()
        ([-1.0, 0.0, 1.0], [1.0, 0.0, -1.0])
        """
        self.check_memory("coordinates", 2, np.dtype(dtype).itemsize)
        ppd = self.pixels_per_degree
        xs = (np.arange(self.cols, dtype=dtype) - (self.cols - 1) / 2) / ppd
        ys = ((self.rows - 1) / 2 - np.arange(self.rows, dtype=dtype)) / ppd
        return np.meshgrid(xs.astype(dtype), ys.astype(dtype))

    def check_memory(self, what: str, n: int, bytes_per_pixel: float = 4.0,
                     hint: str = "use a display with fewer pixels") -> None:
        """Check ``n`` arrays of this display's shape against the memory budget.

        Parameters
        ----------
        what : str
            What would be allocated (named in the error).
        n : int
            Number of ``(rows, cols)`` arrays (images, frames).
        bytes_per_pixel : float
            Bytes per pixel of each array (4 for float32).
        hint : str
            How the caller can ask for less.

        Raises
        ------
        stimuli.resources.MemoryBudgetError
            If the arrays would exceed :func:`stimuli.resources.memory_budget`.

        Examples
        --------
        >>> Display((64, 64), 16).check_memory("3 images", 3)
        """
        check_memory(f"{what} ({n} x {self.rows} x {self.cols} px)",
                     array_nbytes((n, self.rows, self.cols), np.uint8) * bytes_per_pixel, hint)

    def position_to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """A visual-field position in degrees → fractional ``(row, col)``."""
        ppd = self.pixels_per_degree
        return ((self.rows - 1) / 2 - y * ppd, (self.cols - 1) / 2 + x * ppd)


def _scaled(value, factor: float):
    """``value * factor`` as a float for scalars, a float array otherwise."""
    if np.ndim(value) == 0:
        return float(value) * factor
    return np.asarray(value, dtype=float) * factor


def check_display(display: Any, name: str = "display") -> Display:
    """Return ``display`` if it is a :class:`Display`; raise ``TypeError`` naming ``name``.

    Lives beside the class (not in :mod:`stimuli._shared.validation`) so the shared
    validation module imports nothing from the packages it serves.

    Raises
    ------
    TypeError
        If ``display`` is not a :class:`Display`.

    Examples
    --------
    >>> check_display(Display((8, 8), pixels_per_degree=4)).shape
    (8, 8)
    >>> check_display((8, 8))
    Traceback (most recent call last):
    TypeError: display must be a stimuli.display.Display, got tuple
    """
    if not isinstance(display, Display):
        raise TypeError(f"{name} must be a stimuli.display.Display, got {type(display).__name__}")
    return display
