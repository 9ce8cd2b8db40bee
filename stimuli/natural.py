"""Natural images from scikit-image in contrast units, random patches and whitening.

Every image ships inside the scikit-image wheel (``skimage/data``), so nothing
here touches the network.  The conversion to the package's contrast units is
the same everywhere in this module:

1. **Grey level.**  8-bit values are divided by 255 and boolean images become
   0/1.  Colour images are reduced to grey with the Rec. 709 luma weights
   ``0.2125 R + 0.7154 G + 0.0721 B`` (the weights of
   ``skimage.color.rgb2gray``); an alpha channel is dropped.  By default the
   stored (gamma-encoded) values are used as they are, as in most
   natural-image-statistics work; ``linear=True`` first decodes the sRGB
   transfer curve so the grey level is proportional to linear luminance ``L``.
2. **Contrast.**  ``x = (L - mean(L)) / max|L - mean(L)|``: the mean becomes
   0 (mean grey) and the largest excursion reaches exactly -1 or +1, so every
   value lands in [-1, 1] without clipping.  (Weber contrast
   ``(L - mean) / mean`` is *not* used: it exceeds 1 wherever a pixel is more
   than twice the mean, as in the star field of ``hubble_deep_field``.)
   A constant image would stay all zeros instead of dividing by zero.

Random patches and whitened images are put through step 2 again (each patch or
image on its own), so they also have mean 0 and peak ``|value|`` 1.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_array,
    check_bool,
    check_int,
    check_nonnegative,
    check_range,
)
from stimuli.display import Display
from stimuli.resources import array_nbytes, check_memory

# Checked by hand against scikit-image 0.26: each of these loads from the wheel without
# network access (tests/test_natural.py loads every one).  Kept explicit on purpose.
_NATURAL_IMAGE_NAMES: tuple[str, ...] = (
    "camera",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "coins",
    "moon",
    "horse",
    "brick",
    "grass",
    "gravel",
    "clock",
    "hubble_deep_field",
    "retina",
    "cat",
    "text",
    "page",
    "cell",
)

#: Default sources of :func:`random_patches`: grey-level photographs and textures.  Left
#: out: ``cat`` (the same picture as ``chelsea``), ``horse`` (a binary silhouette, mostly
#: flat), ``text`` and ``page`` (scanned documents), ``cell`` (microscopy), and
#: ``hubble_deep_field`` and ``retina`` (mostly black background).
PATCH_SOURCES: tuple[str, ...] = (
    "camera",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "coins",
    "moon",
    "brick",
    "grass",
    "gravel",
    "clock",
)

#: Rec. 709 luma weights (those of ``skimage.color.rgb2gray``).
_LUMA = np.array([0.2125, 0.7154, 0.0721])

#: Default whitening cut-off as a fraction of the Nyquist frequency (0.5 cycles/pixel):
#: f0 = 0.4 cycles/pixel, i.e. Olshausen & Field's 200 cycles/picture for 512-pixel images.
_DEFAULT_CUTOFF = 0.8


def natural_image_names() -> tuple[str, ...]:
    """Names of the scikit-image pictures available as natural images.

    Returns
    -------
    tuple of str
        Every name accepted by :func:`natural_image`.  ``"cat"`` is scikit-image's
        alias of ``"chelsea"`` (the same picture).

    Raises
    ------
    Nothing.

    Examples
    --------
    >>> names = natural_image_names()
    >>> "camera" in names and "brick" in names
    True
    """
    return _NATURAL_IMAGE_NAMES


def natural_image(name: str, *, linear: bool = False) -> np.ndarray:
    """A scikit-image picture as a grey-level image in contrast units.

    See the module docstring for the conversion: grey level (luma of the stored
    values, or linear luminance with ``linear=True``), then
    ``(L - mean) / max|L - mean|`` so the mean is 0 and the values span [-1, 1]
    with the largest excursion exactly at -1 or +1.  Loaded images are cached;
    every call returns a fresh, writable copy.

    Parameters
    ----------
    name : str
        One of :func:`natural_image_names`.
    linear : bool, optional
        Decode the sRGB transfer curve first, so grey level is proportional to
        linear luminance.  Default False (the stored values).

    Returns
    -------
    ndarray of shape (rows, cols), float32
        Contrast units: mean 0, values in [-1, 1].

    Raises
    ------
    ValueError
        If ``name`` is not one of :func:`natural_image_names` (the message lists them).
    TypeError
        If ``linear`` is not a bool.

    Examples
    --------
    >>> img = natural_image("camera")
    >>> img.shape, img.dtype
    ((512, 512), dtype('float32'))
    >>> float(np.abs(img).max())
    1.0
    """
    _check_name("name", name)
    linear = check_bool("linear", linear)
    return _load(name, linear).copy()


def whiten(images: np.ndarray, *, cutoff: float = _DEFAULT_CUTOFF) -> np.ndarray:
    """Spectral whitening with the filter of Olshausen & Field (1996).

    Each image's Fourier transform is multiplied by
    ``R(f) = f · exp(-(f / f0)**4)``, with ``f`` the radial spatial frequency in
    cycles per pixel and ``f0 = cutoff · 0.5`` cycles per pixel.  The ramp ``f``
    undoes the roughly ``1/f`` amplitude spectrum of natural images (flattening
    it); the exponential rolls off the highest frequencies, where noise and
    aliasing live.  ``R(0) = 0`` removes the mean.

    To avoid the bright cross that the image borders would otherwise produce
    (the FFT treats the image as periodic), each image is first extended by its
    mirror image to twice the rows and columns, which makes the periodic
    extension continuous; the result is cropped back.  Finally each image is
    divided by its own largest absolute value, so it lies in [-1, 1] with the
    peak at exactly -1 or +1 (an image that whitens to all zeros stays zero).
    The overall gain is therefore not comparable between images.

    Parameters
    ----------
    images : ndarray of shape (rows, cols) or (n, rows, cols)
        Finite real images, e.g. from :func:`natural_image`.
    cutoff : float, optional
        ``f0`` as a fraction of the Nyquist frequency (0.5 cycles/pixel), in
        (0, 1].  Default 0.8: ``f0 = 0.4`` cycles/pixel, which is the 200
        cycles/picture Olshausen & Field used for 512-pixel images.

    Returns
    -------
    ndarray, same shape as ``images``, float32
        Whitened images in contrast units: mean 0 (to rounding), values in [-1, 1].

    Raises
    ------
    ValueError
        If ``images`` is not 2-D or 3-D, is empty or has NaN/inf values, or
        ``cutoff`` is outside (0, 1].
    TypeError
        If ``images`` is not a real numeric array.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> w = whiten(rng.standard_normal((2, 16, 16)))
    >>> w.shape, w.dtype, float(np.abs(w).max())
    ((2, 16, 16), dtype('float32'), 1.0)
    """
    arr = check_array(
        "images", images, ndim=(2, 3), shape_doc="(rows, cols) or (n, rows, cols)", dtype=float
    )
    cutoff = check_range("cutoff", cutoff, 0.0, 1.0, closed="right")
    single = arr.ndim == 2
    batch = arr[None] if single else arr
    rows, cols = batch.shape[1:]
    # Mirror extension: [x, flip(x)] along each axis is continuous when repeated periodically.
    padded = np.pad(batch, ((0, 0), (0, rows), (0, cols)), mode="symmetric")
    fy = scipy.fft.fftfreq(2 * rows)[:, None]
    fx = scipy.fft.rfftfreq(2 * cols)[None, :]
    f = np.hypot(fy, fx)
    f0 = 0.5 * cutoff
    gain = f * np.exp(-((f / f0) ** 4))
    spectrum = scipy.fft.rfft2(padded, axes=(-2, -1))
    out = scipy.fft.irfft2(spectrum * gain, s=padded.shape[1:], axes=(-2, -1))
    out = out[:, :rows, :cols]
    out = _to_contrast(out - out.mean(axis=(1, 2), keepdims=True))
    return out[0] if single else out


def random_patches(
    n: int,
    shape: tuple[int, int] | Display,
    *,
    names: tuple[str, ...] | list[str] | None = None,
    rng: RngLike = None,
    whiten: bool = False,
    linear: bool = False,
    min_std: float = 0.0,
) -> np.ndarray:
    """Patches cut at random from natural images, each in contrast units.

    For every patch a source image is drawn uniformly from ``names`` (each image
    equally likely, whatever its size), then a position uniformly among all
    positions where the patch fits inside it.  Patches are cut from the image in
    contrast units (:func:`natural_image`; with ``whiten=True`` from the whole
    image whitened by :func:`whiten` at the default cut-off, so the patch has no
    whitening border artefacts), then each patch is **re-normalised on its
    own**: its mean is subtracted and it is divided by its largest absolute
    value, so every patch has mean 0 and peak ``|value|`` exactly 1 (a constant patch
    stays all zeros).  Contrast differences between patches are thus removed.

    Parameters
    ----------
    n : int
        Number of patches, >= 1.
    shape : (rows, cols) or Display
        Patch size in pixels, or a display whose ``shape`` is used.
    names : sequence of str, optional
        Source images, from :func:`natural_image_names`.  Default
        :data:`PATCH_SOURCES` (grey-level photographs and textures).
    rng : None, int or numpy.random.Generator, optional
        Source of randomness; the same seed gives the same patches.
    whiten : bool, optional
        Cut the patches from whitened images.  Default False.
    linear : bool, optional
        Use linear luminance (see :func:`natural_image`).  Default False.
    min_std : float, optional
        Reject and redraw patches whose standard deviation, measured in the
        source image's contrast units before re-normalisation, is below this
        (e.g. 0.05 to avoid flat sky being amplified to full contrast).
        Default 0: keep every patch.

    Returns
    -------
    ndarray of shape (n, rows, cols), float32
        Patches in contrast units, each with mean 0 and values in [-1, 1].

    Raises
    ------
    ValueError
        If ``n`` < 1, ``shape`` is not two positive integers or is larger than a
        source image, a name is unknown or repeated, ``min_std`` is negative, or
        ``min_std`` is so high that too few patches pass.
    TypeError
        If ``n`` or ``shape`` entries are not integers, or ``rng`` is not valid.

    Examples
    --------
    >>> p = random_patches(3, (8, 8), names=("brick", "grass"), rng=0)
    >>> p.shape, p.dtype
    ((3, 8, 8), dtype('float32'))
    >>> bool(np.all(np.abs(p) <= 1))
    True
    """
    n = check_int("n", n, minimum=1)
    shape = _check_shape("shape", shape)
    names = _check_names("names", PATCH_SOURCES if names is None else names)
    whiten = check_bool("whiten", whiten)
    linear = check_bool("linear", linear)
    min_std = check_nonnegative("min_std", min_std)
    check_memory(f"random_patches: {n} patches of {shape[0]} x {shape[1]} px",
                 array_nbytes((n, *shape), np.float64), "lower n or shape")
    gen = as_rng(rng)
    images = [_source(name, linear, whiten) for name in names]
    for name, img in zip(names, images, strict=True):
        if img.shape[0] < shape[0] or img.shape[1] < shape[1]:
            raise ValueError(
                f"shape {shape} is larger than image {name!r} of shape {img.shape}; "
                f"choose a smaller shape or other names"
            )
    return _draw_patches(images, n, shape, gen, min_std=min_std, source_of=None)


# --------------------------------------------------------------------------- private


def _draw_patches(
    images: list[np.ndarray],
    n: int,
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    min_std: float,
    source_of: np.ndarray | None,
) -> np.ndarray:
    """Draw ``n`` re-normalised patches of ``shape`` from ``images``.

    ``source_of`` (length n) fixes which image each patch comes from; None draws
    the source uniformly.  Patches whose std (before re-normalisation) is below
    ``min_std`` are redrawn from the same source, for at most 100 rounds.
    """
    rows, cols = shape
    windows = [sliding_window_view(img, shape) for img in images]
    max_r = np.array([img.shape[0] - rows for img in images])
    max_c = np.array([img.shape[1] - cols for img in images])
    if source_of is None:
        source_of = rng.integers(0, len(images), size=n)
    out = np.empty((n, rows, cols), dtype=np.float32)
    pending = np.arange(n)
    for _ in range(100):
        src = source_of[pending]
        r0 = rng.integers(0, max_r[src] + 1)
        c0 = rng.integers(0, max_c[src] + 1)
        patches = np.empty((len(pending), rows, cols), dtype=np.float32)
        for k in np.unique(src):
            sel = src == k
            patches[sel] = windows[k][r0[sel], c0[sel]]
        ok = patches.std(axis=(1, 2), dtype=np.float64) >= min_std
        out[pending[ok]] = patches[ok]
        pending = pending[~ok]
        if pending.size == 0:
            break
    else:
        raise ValueError(
            f"min_std={min_std} is too high: after 100 redraws {pending.size} of {n} patches "
            f"still had a smaller standard deviation; lower min_std or choose other images"
        )
    # re-normalise in float64 (a float32 mean left over from a nearly flat patch would be
    # amplified by the division), in chunks so large patch sets never exist in float64
    for start in range(0, n, 4096):
        chunk = out[start : start + 4096].astype(np.float64)
        out[start : start + 4096] = _to_contrast(chunk - chunk.mean(axis=(1, 2), keepdims=True))
    return out


def _to_contrast(batch: np.ndarray) -> np.ndarray:
    """Divide each image of a zero-mean batch by its max |value| (zeros stay zero); float32.

    Divides in place in float64; correctly rounded division keeps every |value| <= 1.
    """
    batch = np.asarray(batch, dtype=np.float64)
    peak = np.abs(batch).max(axis=(1, 2), keepdims=True)
    np.divide(batch, peak, out=batch, where=peak > 0)
    return batch.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=64)
def _load(name: str, linear: bool) -> np.ndarray:
    """The named picture in contrast units, read-only (cached; callers copy)."""
    import skimage.data  # deferred: importing skimage.data costs ~0.1 s

    raw = np.asarray(getattr(skimage.data, name)())
    if raw.dtype == np.bool_:
        grey = raw.astype(np.float64)
    else:
        grey = raw.astype(np.float64) / np.iinfo(raw.dtype).max
    if grey.ndim == 3:
        rgb = grey[..., :3]
        if linear:
            rgb = _srgb_to_linear(rgb)
        grey = rgb @ _LUMA
    elif linear:
        grey = _srgb_to_linear(grey)
    img = _to_contrast((grey - grey.mean())[None])[0]
    img.setflags(write=False)
    return img


@functools.lru_cache(maxsize=64)
def _whitened(name: str, linear: bool) -> np.ndarray:
    """The named picture whitened at the default cut-off, read-only (cached)."""
    img = whiten(_load(name, linear))
    img.setflags(write=False)
    return img


def _source(name: str, linear: bool, whitened: bool) -> np.ndarray:
    """Cached read-only source image for patch cutting."""
    return _whitened(name, linear) if whitened else _load(name, linear)


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """Inverse sRGB transfer curve, values in [0, 1]."""
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _check_name(param: str, name: object) -> str:
    if not isinstance(name, str) or name not in _NATURAL_IMAGE_NAMES:
        raise ValueError(f"{param} must be one of {', '.join(_NATURAL_IMAGE_NAMES)}; got {name!r}")
    return name


def _check_names(param: str, names: object) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, tuple | list):
        raise TypeError(f"{param} must be a tuple or list of image names, got {names!r}")
    names = tuple(names)
    if not names:
        raise ValueError(f"{param} must name at least one image, got an empty sequence")
    for name in names:
        _check_name(f"{param} entry", name)
    if len(set(names)) != len(names):
        raise ValueError(f"{param} must not repeat a name, got {names!r}")
    return names


def _check_shape(param: str, shape: object) -> tuple[int, int]:
    if isinstance(shape, Display):
        return shape.shape
    if not isinstance(shape, tuple | list) or len(shape) != 2:
        raise ValueError(f"{param} must be (rows, cols) or a Display, got {shape!r}")
    return (
        check_int(f"{param}[0] (rows)", shape[0], minimum=1),
        check_int(f"{param}[1] (cols)", shape[1], minimum=1),
    )
