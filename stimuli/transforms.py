"""Geometric transforms of images for invariance experiments: translate, rotate, scale.

All three share one resampling rule, stated here once:

- **Interpolation**: each output pixel samples the input at the inversely
  transformed position with a B-spline of ``order`` 0-5 through
  ``scipy.ndimage.affine_transform`` (``order=0`` nearest neighbour, ``order=1``
  bilinear, the default; ``3`` cubic).  Orders 0 and 1 take convex combinations
  of input pixels, so the output stays inside the input's range (images in
  [-1, 1] stay in [-1, 1]); orders >= 2 can ring slightly beyond it near sharp
  edges — nothing is clipped.
- **Borders**: everything outside the input is mean grey, 0
  (``mode="grid-constant"``, ``cval=0``): content that leaves the frame is lost,
  uncovered regions are 0, and interpolation near the border blends towards 0.
- **Geometry**: +y is up on the screen (row 0 is the top), so a shift of
  ``+dy`` moves content *up* and a positive angle rotates content
  counter-clockwise as seen on the screen.  Rotation and scaling are about the
  image centre (the visual-field origin) unless a ``center`` is given in degrees.
- **Exactness**: shifts by whole pixels are done by slicing and are exact for
  every ``order``; rotations by multiples of 90 degrees use exact cosines.
- **No anti-aliasing**: shrinking (``factor < 1``) does not low-pass filter
  first, so detail finer than the new pixel grid aliases.

Images are ``(rows, cols)`` or ``(n, rows, cols)``; the output has the same
shape and is float32.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from stimuli._shared.validation import check_array, check_int, check_positive, check_real
from stimuli.display import Display


def translate(
    images: np.ndarray,
    display: Display,
    *,
    shift: tuple[float, float],
    order: int = 1,
) -> np.ndarray:
    """Shift image content by ``(dx, dy)`` degrees of visual angle.

    ``+dx`` moves content right, ``+dy`` moves content **up** (y up).  Shifts
    that are whole pixels are exact (slicing); fractional shifts are
    interpolated.  Uncovered pixels are mean grey (0).  See the module docstring
    for interpolation and border handling.

    Parameters
    ----------
    images : ndarray of shape (rows, cols) or (n, rows, cols)
        Finite images in contrast units; rows and cols must match ``display``.
    display : Display
        Gives ``pixels_per_degree`` for the conversion of ``shift``.
    shift : (dx, dy), float
        Displacement in degrees; each finite.
    order : int, optional
        Spline interpolation order, 0-5.  Default 1 (bilinear).

    Returns
    -------
    ndarray, same shape as ``images``, float32
        The shifted images.

    Raises
    ------
    ValueError
        If ``images`` has the wrong number of dimensions, NaN/inf values or a
        shape other than the display's, ``shift`` is not two finite numbers, or
        ``order`` is outside 0-5.
    TypeError
        If ``display`` is not a Display or ``order`` not an integer.

    Examples
    --------
    >>> d = Display((5, 5), pixels_per_degree=1)
    >>> img = np.zeros((5, 5), np.float32); img[2, 2] = 1
    >>> out = translate(img, d, shift=(1, 1))  # one pixel right and one up
    >>> [int(v) for v in np.argwhere(out == 1)[0]]
    [1, 3]
    """
    batch, single = _as_batch(images)
    _check_display(display, batch)
    dx, dy = _check_pair("shift", shift)
    order = _check_order(order)
    col_px = dx * display.pixels_per_degree
    row_px = -dy * display.pixels_per_degree  # +dy is up: content moves to smaller rows
    if not (np.isfinite(col_px) and np.isfinite(row_px)):
        raise ValueError(f"shift must be finite in pixels, got {shift!r} degrees "
                         f"× {display.pixels_per_degree:g} pixels/degree")
    if _is_whole(row_px) and _is_whole(col_px):
        out = _shift_whole(batch, int(round(row_px)), int(round(col_px)))
    else:
        # output (r, c) samples input (r - row_px, c - col_px)
        out = _affine(batch, np.eye(2), np.array([-row_px, -col_px]), order)
    return out[0] if single else out


def rotate(
    images: np.ndarray,
    display: Display | None = None,
    *,
    angle: float,
    center: tuple[float, float] | None = None,
    order: int = 1,
) -> np.ndarray:
    """Rotate image content by ``angle`` degrees counter-clockwise as seen on screen.

    For a square image, ``angle=90`` about the centre equals ``np.rot90`` (which
    also turns the picture counter-clockwise as displayed, row 0 at the top).
    Corners rotated in from outside the frame are mean grey (0).  See the
    module docstring for interpolation and border handling.

    Parameters
    ----------
    images : ndarray of shape (rows, cols) or (n, rows, cols)
        Finite images in contrast units.
    display : Display, optional
        Needed only with ``center``; then rows and cols must match it.
    angle : float
        Rotation in degrees; positive is counter-clockwise on screen.
    center : (x, y), float, optional
        Centre of rotation in degrees of visual angle (origin at the image
        centre, y up).  Default: the image centre.
    order : int, optional
        Spline interpolation order, 0-5.  Default 1 (bilinear).

    Returns
    -------
    ndarray, same shape as ``images``, float32
        The rotated images.

    Raises
    ------
    ValueError
        If ``images`` has the wrong number of dimensions, NaN/inf values, or a
        shape other than the display's; ``angle`` or ``center`` is not finite;
        ``center`` is given without a display; ``order`` is outside 0-5.
    TypeError
        If ``display`` is not a Display or ``order`` not an integer.

    Examples
    --------
    >>> img = np.arange(9, dtype=np.float32).reshape(3, 3)
    >>> bool(np.array_equal(rotate(img, angle=90), np.rot90(img)))
    True
    """
    batch, single = _as_batch(images)
    angle = check_real("angle", angle)
    order = _check_order(order)
    centre = _centre_pixel(batch, display, center)
    cos, sin = _cos_sin_degrees(angle)
    # Output (r, c) samples the input at the point rotated back by -angle (screen, y up):
    # r_in = rc + cos·dr + sin·dc,  c_in = cc - sin·dr + cos·dc,  with dr = r - rc, dc = c - cc.
    matrix = np.array([[cos, sin], [-sin, cos]])
    out = _affine(batch, matrix, centre - matrix @ centre, order)
    return out[0] if single else out


def scale(
    images: np.ndarray,
    display: Display | None = None,
    *,
    factor: float,
    center: tuple[float, float] | None = None,
    order: int = 1,
) -> np.ndarray:
    """Magnify image content by ``factor`` about a centre (``factor < 1`` shrinks).

    A disk of radius r becomes a disk of radius ``factor · r`` about the same
    centre.  Content pushed out of the frame is lost; uncovered regions are mean
    grey (0).  Shrinking does not anti-alias.  See the module docstring for
    interpolation and border handling.

    Parameters
    ----------
    images : ndarray of shape (rows, cols) or (n, rows, cols)
        Finite images in contrast units.
    display : Display, optional
        Needed only with ``center``; then rows and cols must match it.
    factor : float
        Magnification, > 0.
    center : (x, y), float, optional
        Fixed point of the scaling in degrees (origin at the image centre,
        y up).  Default: the image centre.
    order : int, optional
        Spline interpolation order, 0-5.  Default 1 (bilinear).

    Returns
    -------
    ndarray, same shape as ``images``, float32
        The scaled images.

    Raises
    ------
    ValueError
        If ``images`` has the wrong number of dimensions, NaN/inf values, or a
        shape other than the display's; ``factor`` is not positive and finite;
        ``center`` is not finite or is given without a display; ``order`` is
        outside 0-5.
    TypeError
        If ``display`` is not a Display or ``order`` not an integer.

    Examples
    --------
    >>> img = np.zeros((9, 9), np.float32); img[3:6, 3:6] = 1
    >>> int(scale(img, factor=1 / 3, order=0).sum())
    1
    """
    batch, single = _as_batch(images)
    factor = check_positive("factor", factor)
    order = _check_order(order)
    centre = _centre_pixel(batch, display, center)
    matrix = np.eye(2) / factor
    out = _affine(batch, matrix, centre - matrix @ centre, order)
    return out[0] if single else out


# --------------------------------------------------------------------------- private


def _as_batch(images: object) -> tuple[np.ndarray, bool]:
    """Validated float32 batch ``(n, rows, cols)`` and whether the input was a single image."""
    arr = check_array(
        "images",
        images,
        ndim=(2, 3),
        shape_doc="(rows, cols) or (n, rows, cols)",
        dtype=np.float32,
    )
    return (arr[None], True) if arr.ndim == 2 else (arr, False)


def _check_display(display: object, batch: np.ndarray) -> None:
    if not isinstance(display, Display):
        raise TypeError(f"display must be a Display, got {display!r}")
    if batch.shape[1:] != display.shape:
        raise ValueError(
            f"images must have shape {display.shape} or (n, {display.shape[0]}, "
            f"{display.shape[1]}) to match the display, got {batch.shape[1:]}"
        )


def _check_pair(name: str, value: object) -> tuple[float, float]:
    if isinstance(value, str) or np.ndim(value) != 1 or len(value) != 2:
        raise ValueError(f"{name} must be a pair (x, y) in degrees, got {value!r}")
    return check_real(f"{name}[0] (x)", value[0]), check_real(f"{name}[1] (y)", value[1])


def _check_order(order: object) -> int:
    order = check_int("order", order, minimum=0)
    if order > 5:
        raise ValueError(f"order must be in 0-5 (spline order), got {order}")
    return order


def _centre_pixel(
    batch: np.ndarray, display: Display | None, center: tuple[float, float] | None
) -> np.ndarray:
    """Centre of the transform as fractional ``(row, col)``."""
    rows, cols = batch.shape[1:]
    if display is not None:
        _check_display(display, batch)
    if center is None:
        return np.array([(rows - 1) / 2, (cols - 1) / 2])
    x, y = _check_pair("center", center)
    if display is None:
        raise ValueError("center is in degrees and needs a display; pass display=Display(...)")
    return np.array(display.position_to_pixel(x, y))


def _cos_sin_degrees(angle: float) -> tuple[float, float]:
    """cos and sin of an angle in degrees, exact at multiples of 90."""
    quarter = angle / 90.0
    if quarter == round(quarter):
        return ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[int(round(quarter)) % 4]
    rad = np.deg2rad(angle)
    return float(np.cos(rad)), float(np.sin(rad))


def _is_whole(px: float) -> bool:
    return abs(px - round(px)) < 1e-9


def _shift_whole(batch: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """Exact shift by whole pixels; content moves ``dr`` rows down and ``dc`` cols right."""
    rows, cols = batch.shape[1:]
    out = np.zeros_like(batch, dtype=np.float32)
    if abs(dr) >= rows or abs(dc) >= cols:
        return out
    src_r = slice(max(0, -dr), rows - max(0, dr))
    dst_r = slice(max(0, dr), rows - max(0, -dr))
    src_c = slice(max(0, -dc), cols - max(0, dc))
    dst_c = slice(max(0, dc), cols - max(0, -dc))
    out[:, dst_r, dst_c] = batch[:, src_r, src_c]
    return out


def _affine(batch: np.ndarray, matrix: np.ndarray, offset: np.ndarray, order: int) -> np.ndarray:
    """Resample every image: output ``(r, c)`` takes input ``matrix @ (r, c) + offset``."""
    kwargs = {"order": order, "mode": "grid-constant", "cval": 0.0}
    if order <= 1:
        # Orders 0-1 need no prefilter, so one 3-D call with the identity along the batch
        # axis samples whole images exactly there and never mixes neighbouring images.
        m3 = np.eye(3)
        m3[1:, 1:] = matrix
        return scipy.ndimage.affine_transform(
            batch, m3, offset=np.concatenate([[0.0], offset]), output=np.float32, **kwargs
        )
    out = np.empty(batch.shape, dtype=np.float32)
    for i, img in enumerate(batch):
        scipy.ndimage.affine_transform(
            img.astype(np.float64), matrix, offset=offset, output=out[i], **kwargs
        )
    return out
