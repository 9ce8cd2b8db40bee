"""The S1 filters of Serre et al. (2007): their parameters and one Gabor kernel."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from stimuli._shared.validation import check_int, check_positive, check_real
from v1model.hmax._checks import _as_tuple

#: S1 filter sizes of Serre et al. (2007), Table 1, in pixels.
SERRE_SIZES = tuple(range(7, 38, 2))
#: S1 orientations (degrees, package convention: θ = 0 → vertical bars).
SERRE_ORIENTATIONS = (0.0, 45.0, 90.0, 135.0)


def serre_gabor_parameters(sizes: Sequence[int] = SERRE_SIZES) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths and envelope widths of Serre et al.'s (2007) S1 filters, in pixels.

    ``λ = 2·size / d`` with ``d = 4 − 0.025·(size − 7)`` and ``σ = 0.8·λ`` — the
    rule of the authors' MATLAB code (``d`` = 4, 3.95, …, 3.25 for the sizes 7, 9,
    …, 37), which reproduces their Table 1.  The divisor depends on the filter's
    *size*, not on its position in ``sizes``, so any subset or order of the
    sizes gets the parameters Table 1 gives those sizes (sizes off the 7–37 grid
    follow the same straight line).

    Parameters
    ----------
    sizes : sequence of int
        Filter sides in pixels, 1 <= size < 167 (``d`` reaches 0 at 167).

    Returns
    -------
    wavelength, sigma : ndarray of shape (len(sizes),)
        In pixels.

    Raises
    ------
    ValueError
        If ``sizes`` is empty or a size is < 1 or >= 167.

    Examples
    --------
    >>> lam, sig = serre_gabor_parameters((7, 37))
    >>> np.round(lam, 1).tolist(), np.round(sig, 1).tolist()
    ([3.5, 22.8], [2.8, 18.2])
    """
    sizes = _as_tuple("sizes", sizes, check_int, minimum=1)
    for i, size in enumerate(sizes):
        if size >= 167:
            raise ValueError(f"sizes[{i}] must be < 167 px (the divisor d = 4 - 0.025 (size - 7) "
                             f"must stay positive), got {size}")
    size = np.asarray(sizes, dtype=float)
    d = 4.0 - 0.025 * (size - 7.0)
    wavelength = 2.0 * size / d
    return wavelength, 0.8 * wavelength


def hmax_gabor(size: int, *, wavelength: float, sigma: float, orientation: float,
               aspect_ratio: float = 0.3) -> np.ndarray:
    """One S1 filter: an even Gabor cut to a disk of diameter ``size``, zero mean and unit norm.

    ``g = exp(−(x'² + γ² y'²) / (2σ²)) · cos(2π x'/λ)`` with ``x'`` across the bars
    (along the wave vector at ``orientation`` degrees, +y up) and ``y'`` along them,
    set to 0 outside the disk ``√(x² + y²) > size/2``; then, as in Serre et al.'s
    code, the mean over the whole ``size × size`` square is subtracted (so the
    corners outside the disk carry the small constant ``−mean``) and the kernel is
    scaled to unit L2 norm.  The filter therefore sums to 0 over its square, which
    is what makes S1 blind to the mean luminance in the numerator (see
    :class:`S1Stage`).

    Parameters
    ----------
    size : int
        Odd side of the square kernel, pixels (>= 3).
    wavelength, sigma : float
        Carrier wavelength λ and envelope width σ, pixels.
    orientation : float
        Degrees; 0 gives vertical bars.
    aspect_ratio : float
        γ: envelope width across / along the bars (0.3 makes it elongated along them).

    Returns
    -------
    ndarray of shape (size, size), float64

    Raises
    ------
    ValueError
        If ``size`` is even or < 3, or a width is not positive.

    Examples
    --------
    >>> g = hmax_gabor(7, wavelength=3.5, sigma=2.8, orientation=0)
    >>> round(float(g.sum()), 12) == 0, round(float((g ** 2).sum()), 6)
    (True, 1.0)
    >>> bool(g[0, 0] == g[0, -1] != 0)  # the corners hold -mean
    True
    """
    size = check_int("size", size, minimum=3)
    if size % 2 == 0:
        raise ValueError(f"size must be odd so the filter has a centre pixel, got {size}")
    wavelength = check_positive("wavelength", wavelength)
    sigma = check_positive("sigma", sigma)
    aspect_ratio = check_positive("aspect_ratio", aspect_ratio)
    theta = math.radians(check_real("orientation", orientation))
    half = size // 2
    offsets = np.arange(-half, half + 1, dtype=float)
    x = offsets[None, :]
    y = -offsets[:, None]  # row 0 is the top: +y up
    xr = x * math.cos(theta) + y * math.sin(theta)
    yr = -x * math.sin(theta) + y * math.cos(theta)
    envelope = np.exp(-(xr**2 + aspect_ratio**2 * yr**2) / (2 * sigma**2))
    g = envelope * np.cos(2 * np.pi * xr / wavelength)
    disk = np.sqrt(x**2 + y**2) <= size / 2
    g = np.where(disk, g, 0.0)
    g = g - g.mean()  # over the whole square, corners included (Serre et al.'s code)
    return g / np.sqrt((g**2).sum())
