"""Noise stimuli for reverse correlation and natural-statistics controls.

White noise (Gaussian or binary) on a grid of square checks, Allen-style sparse
noise (ON and OFF squares on grey) with a table of where the squares are, and
pink (1/f^α) noise.  All return float32 batches ``(n, rows, cols)`` in contrast
units within [-1, 1] without clipping, and draw only from ``rng`` (None, an int
seed or a ``numpy.random.Generator``): the same seed gives the same arrays.

Check and square sizes are given in degrees and must be a whole number of pixels
on the display, so no check is silently resized.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_choice,
    check_int,
    check_positive,
    check_range,
    check_real,
)
from stimuli.display import Display, check_display
from stimuli.gratings import _check_contrast
from stimuli.table import Table

__all__ = ["pink_noise", "sparse_noise", "white_noise"]

NOISE_KINDS = ("gaussian", "binary")
DEFAULT_TRUNCATION = 3.0
TRUNCATION_RANGE = (1.0, 8.0)  # in SDs: >= 68% acceptance; 8 SD is effectively untruncated


def _whole_pixels(display: Display, name: str, size: float | None) -> int:
    """A size in degrees → an integer number of pixels; None → 1 pixel."""
    if size is None:
        return 1
    size = check_positive(name, size)
    px = size * display.pixels_per_degree
    n_px = round(px)
    if n_px < 1 or abs(px - n_px) > 1e-6 * max(1.0, px):
        nearest = max(n_px, 1) / display.pixels_per_degree
        raise ValueError(
            f"{name} must be a whole number of pixels at {display.pixels_per_degree:g} "
            f"pixels/degree, got {size} deg = {px:g} px (nearest: {nearest:g} deg)"
        )
    return n_px


def white_noise(
    display: Display,
    n: int,
    *,
    kind: str = "gaussian",
    contrast: float = 1.0,
    check_size: float | None = None,
    truncation: float | None = None,
    rng: RngLike = None,
) -> np.ndarray:
    """Spatially white noise: independent values on a grid of square checks.

    The checks tile the display from its top-left corner (partial checks at the
    bottom and right edges when the display is not a whole number of checks).
    ``contrast`` is the *peak* contrast for both kinds:

    - ``binary``: each check is +contrast or -contrast with probability 1/2
      (RMS contrast = contrast);
    - ``gaussian``: each check is ``contrast · z / truncation`` where z is a standard
      normal truncated to [-truncation, truncation] (out-of-range draws are redrawn,
      never clipped).  Values lie in [-contrast, contrast]; the RMS contrast is
      ``contrast / truncation`` times the truncated normal's SD (0.9866 for the
      default truncation of 3, i.e. RMS ≈ 0.329 · contrast).

    Parameters
    ----------
    display : Display
        The screen.
    n : int
        Number of images, >= 1.
    kind : {"gaussian", "binary"}, optional
        Value distribution.
    contrast : float, optional
        Peak contrast in [0, 1].
    check_size : float or None, optional
        Side of a check in degrees; must be a whole number of pixels.  None (default)
        means one pixel.
    truncation : float or None, optional
        For ``gaussian`` only: where the normal is truncated, in SDs, in [1, 8].
        None means 3.  Passing it with ``binary`` raises.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness.

    Returns
    -------
    images : ndarray of shape (n, rows, cols), float32
        Contrast units in [-contrast, contrast].

    Raises
    ------
    ValueError
        For an unknown kind, contrast outside [0, 1], a count < 1, a check size
        that is not a whole number of pixels, a truncation outside [1, 8] or given
        with ``binary``, or non-finite numbers.
    TypeError
        For a non-integer ``n``, a non-Display ``display`` or a bad ``rng``.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> d = Display((4, 4), pixels_per_degree=2)
    >>> x = white_noise(d, 3, kind="binary", contrast=0.5, check_size=1.0, rng=0)
    >>> x.shape, sorted(set(x.ravel().tolist())), bool((x[:, 0, 0] == x[:, 1, 1]).all())
    ((3, 4, 4), [-0.5, 0.5], True)
    """
    display = check_display(display)
    n = check_int("n", n, minimum=1)
    kind = check_choice("kind", kind, NOISE_KINDS)
    contrast = _check_contrast(contrast)
    px = _whole_pixels(display, "check_size", check_size)
    if kind == "binary" and truncation is not None:
        raise ValueError("truncation applies to kind='gaussian' only; got it with 'binary'")
    if truncation is None:
        truncation = DEFAULT_TRUNCATION
    truncation = check_range("truncation", truncation, *TRUNCATION_RANGE)
    rng = as_rng(rng)

    display.check_memory("white_noise images", n, 12, "lower n")
    rows, cols = display.shape
    grid = (n, -(-rows // px), -(-cols // px))
    if kind == "binary":
        signs = 2 * rng.integers(0, 2, size=grid, dtype=np.int8) - 1
        values = np.float32(contrast) * signs
    else:
        values = contrast / truncation * _truncated_normal(rng, grid, truncation)
    values = values.astype(np.float32)
    if px == 1:
        return values
    # index, not np.repeat: a check larger than the display must not build a huge array
    return np.ascontiguousarray(values[:, np.arange(rows) // px][:, :, np.arange(cols) // px])


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], bound: float) -> np.ndarray:
    """Standard normal draws conditioned on ``|z| <= bound`` (redrawn, never clipped).

    Rejection sampling: each round redraws only the rejected values, in a fixed
    order, so the result depends on ``rng`` alone.  With ``bound >= 1`` at least 68%
    of draws are accepted and a handful of rounds suffice.
    """
    z = rng.standard_normal(shape)
    bad = np.flatnonzero(np.abs(z) > bound)
    while bad.size:
        z.flat[bad] = rng.standard_normal(bad.size)
        bad = bad[np.abs(z.flat[bad]) > bound]
    return z


def sparse_noise(
    display: Display,
    n: int,
    *,
    square_size: float = 1.0,
    density: float = 0.05,
    contrast: float = 1.0,
    rng: RngLike = None,
) -> tuple[np.ndarray, Table]:
    """Sparse noise: a few light (ON) and dark (OFF) squares on mean grey.

    The display is divided into a grid of ``rows // s`` × ``cols // s`` squares of
    s = ``square_size`` pixels, centred on the display to within half a pixel (any
    leftover margin stays grey; an odd margin leaves the extra pixel at the bottom
    and right).  In every image each grid square is, independently, ON (+contrast) with
    probability ``density / 2``, OFF (-contrast) with probability ``density / 2``,
    and grey otherwise — so squares are uncorrelated, as reverse correlation needs.
    This follows the ON/OFF-squares-on-grey layout of the Allen Brain Observatory's
    locally sparse noise (16 × 28 grid of 4.65° squares) without its exclusion
    zone around each square.

    Parameters
    ----------
    display : Display
        The screen.
    n : int
        Number of images, >= 1.
    square_size : float, optional
        Side of a square in degrees; a whole number of pixels, at most the display.
    density : float, optional
        Probability in (0, 1] that a grid square is not grey in a given image.
    contrast : float, optional
        Contrast of the squares in [0, 1].
    rng : None, int or numpy.random.Generator, optional
        Source of randomness.

    Returns
    -------
    images : ndarray of shape (n, rows, cols), float32
        Values in {-contrast, 0, +contrast}.
    squares : Table
        One row per ON or OFF square, ordered by image then grid position (top-left
        first): ``image`` (int index), ``x``, ``y`` (centre in degrees, +y up) and
        ``polarity`` (+1 ON, -1 OFF).

    Raises
    ------
    ValueError
        For a square size that is not a whole number of pixels or exceeds the
        display, density outside (0, 1], contrast outside [0, 1], a count < 1 or
        non-finite numbers.
    TypeError
        For a non-integer ``n``, a non-Display ``display`` or a bad ``rng``.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> images, squares = sparse_noise(Display((8, 8), pixels_per_degree=2), 2,
    ...                                square_size=1.0, density=0.5, rng=1)
    >>> images.shape, squares.names
    ((2, 8, 8), ('image', 'x', 'y', 'polarity'))
    >>> int(np.count_nonzero(images)) == 4 * len(squares)
    True
    """
    display = check_display(display)
    n = check_int("n", n, minimum=1)
    px = _whole_pixels(display, "square_size", square_size)
    density = check_range("density", density, 0.0, 1.0, closed="right")
    contrast = _check_contrast(contrast)
    rng = as_rng(rng)

    display.check_memory("sparse_noise images", n, 16, "lower n")
    rows, cols = display.shape
    grid_rows, grid_cols = rows // px, cols // px
    if grid_rows == 0 or grid_cols == 0:
        raise ValueError(
            f"square_size must fit on the display ({px} px squares on {rows} x {cols} px), "
            f"got {square_size}"
        )
    u = rng.random((n, grid_rows, grid_cols))
    state = np.where(u < density / 2, 1, np.where(u < density, -1, 0)).astype(np.int8)

    top, left = (rows - grid_rows * px) // 2, (cols - grid_cols * px) // 2
    images = np.zeros((n, rows, cols), np.float32)
    block = np.repeat(np.repeat(state, px, axis=1), px, axis=2)
    images[:, top:top + grid_rows * px, left:left + grid_cols * px] = contrast * block

    image, gr, gc = np.nonzero(state)
    centre_row = top + gr * px + (px - 1) / 2
    centre_col = left + gc * px + (px - 1) / 2
    ppd = display.pixels_per_degree
    squares = Table({
        "image": image.astype(np.int64),
        "x": (centre_col - (cols - 1) / 2) / ppd,
        "y": ((rows - 1) / 2 - centre_row) / ppd,
        "polarity": state[image, gr, gc].astype(np.int64),
    })
    return images, squares


def pink_noise(
    display: Display,
    n: int,
    *,
    exponent: float = 1.0,
    contrast: float = 1.0,
    rng: RngLike = None,
) -> np.ndarray:
    """Noise with a ``1 / f^exponent`` amplitude spectrum (pink for exponent 1).

    Gaussian white noise is filtered in the Fourier domain by ``f^-exponent`` (f the
    radial spatial frequency; the DC term is set to 0, so every image has mean 0).
    The noise is periodic: it wraps around the display's edges.  Each image is then
    scaled so its *peak* absolute value equals ``contrast``: values lie in
    [-contrast, contrast] and reach one of the bounds; the RMS contrast varies from
    image to image (for exponent 1 it averaged 0.28, 0.26 and 0.23 × contrast on
    64², 128² and 256² pixel displays, SD ≈ 0.02).

    Parameters
    ----------
    display : Display
        The screen (at least 2 pixels, so there is a non-DC frequency).
    n : int
        Number of images, >= 1.
    exponent : float, optional
        Spectral exponent α of the amplitude spectrum (power falls as f^-2α); 0 gives
        white noise, 1 pink, 2 brown.  Any finite value.
    contrast : float, optional
        Peak contrast of each image in [0, 1].
    rng : None, int or numpy.random.Generator, optional
        Source of randomness.

    Returns
    -------
    images : ndarray of shape (n, rows, cols), float32
        Contrast units; ``max |image| == contrast`` for every image.

    Raises
    ------
    ValueError
        For non-finite numbers, contrast outside [0, 1], a count < 1 or a 1-pixel
        display.
    TypeError
        For a non-integer ``n``, a non-Display ``display`` or a bad ``rng``.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> x = pink_noise(Display((16, 16), pixels_per_degree=4), 2, contrast=0.8, rng=0)
    >>> x.shape, np.abs(x).max(axis=(1, 2)).round(6).tolist()
    ((2, 16, 16), [0.8, 0.8])
    """
    display = check_display(display)
    n = check_int("n", n, minimum=1)
    exponent = check_real("exponent", exponent)
    contrast = _check_contrast(contrast)
    rng = as_rng(rng)
    display.check_memory("pink_noise images", n, 24, "lower n")
    rows, cols = display.shape
    if rows * cols < 2:
        raise ValueError(f"display must have at least 2 pixels for pink noise, got {display.shape}")

    fy = scipy.fft.fftfreq(rows)[:, None]
    fx = scipy.fft.rfftfreq(cols)[None, :]
    f = np.hypot(fx, fy) * display.pixels_per_degree  # c/deg
    # f^-exponent scaled to a largest value of 1, in logs so no exponent can overflow
    # (the scale is irrelevant: each image is normalised to its peak below).
    log_gain = -exponent * np.log(f, where=f > 0, out=np.zeros_like(f))
    log_gain[f == 0] = -np.inf  # no DC
    gain = np.exp(log_gain - log_gain.max()).astype(np.float32)
    white = rng.standard_normal((n, rows, cols), dtype=np.float32)
    spectrum = scipy.fft.rfft2(white, workers=-1) * gain
    images = scipy.fft.irfft2(spectrum, s=(rows, cols), workers=-1)
    images -= images.mean(axis=(1, 2), keepdims=True)  # remove float rounding of the DC
    peak = np.abs(images).max(axis=(1, 2), keepdims=True)
    # peak is 0 only if every non-DC coefficient vanished, which white noise never does.
    return (contrast * images / peak).astype(np.float32)
