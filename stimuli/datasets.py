"""Labelled image datasets for training classifiers: shapes, natural-image patches, faces.

Every dataset is a :class:`Dataset` of float32 images in contrast units (0 is
mean grey, values in [-1, 1]) with int64 labels, split into train and test sets
that are **stratified** (each class contributes ``round(n · test_fraction)``
test images) and shuffled.  The same ``rng`` seed gives identical arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_array,
    check_bool,
    check_int,
    check_mapping,
    check_nonnegative,
    check_range,
    check_real,
    check_strings,
)
from stimuli.natural import _check_names, _draw_patches, _source, _to_contrast
from stimuli.resources import array_nbytes, check_memory

#: Shape classes :func:`shapes_dataset` can draw, in label order by default.
SHAPE_CLASSES: tuple[str, ...] = ("disk", "ring", "square", "triangle", "cross", "bar")

#: Default sources of :func:`natural_patches_dataset`: three textures, the lunar surface and
#: a coin collection (from easy to hard to tell apart from small patches).  ``moon`` is a
#: low-contrast picture, so many of its patches are faint texture brought up to full contrast
#: by the per-patch re-normalisation.
PATCH_DATASET_SOURCES: tuple[str, ...] = ("brick", "grass", "gravel", "moon", "coins")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images and integer labels split into train and test sets.

    Parameters
    ----------
    x_train, x_test : ndarray of shape (n, rows, cols), float32
        Images in contrast units.
    y_train, y_test : ndarray of shape (n,), int64
        Labels, indices into ``class_names``.
    class_names : tuple of str
        Name of each label: ``class_names[y]``.
    name : str
        Name of the dataset, e.g. ``"shapes"``.
    params : dict
        The generator's parameters actually used (JSON-able).

    Raises
    ------
    ValueError
        If shapes or lengths disagree, images are not finite, or a label is not
        a valid index into ``class_names``.
    TypeError
        If an array is not numeric or labels are not integers.

    Examples
    --------
    >>> ds = shapes_dataset(4, size=16, classes=("disk", "bar"), rng=0)
    >>> ds.n_classes, ds.x_train.shape, ds.y_test.tolist()
    (2, (6, 16, 16), [1, 0])
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = check_strings("class_names", self.class_names)
        object.__setattr__(self, "params", check_mapping("params", self.params))
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {self.name!r}")
        if not names or not all(isinstance(c, str) and c for c in names):
            raise ValueError(f"class_names must be a non-empty tuple of non-empty str, got "
                             f"{names!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"class_names must be distinct, got {names!r}")
        object.__setattr__(self, "class_names", names)
        shape = None
        for split in ("train", "test"):
            x = check_array(
                f"x_{split}",
                getattr(self, f"x_{split}"),
                ndim=3,
                shape_doc="(n, rows, cols)",
                dtype=np.float32,
            )
            y = check_array(f"y_{split}", getattr(self, f"y_{split}"), ndim=1, shape_doc="(n,)")
            if not np.issubdtype(y.dtype, np.integer):
                raise TypeError(f"y_{split} must hold integer labels, got dtype {y.dtype}")
            y = y.astype(np.int64, copy=False)
            if len(y) != len(x):
                raise ValueError(
                    f"y_{split} must have one label per image: {len(x)} images, {len(y)} labels"
                )
            if y.min() < 0 or y.max() >= len(names):
                raise ValueError(
                    f"y_{split} labels must be in [0, {len(names) - 1}] (one per entry of "
                    f"class_names), "
                    f"got range [{y.min()}, {y.max()}]"
                )
            if shape is not None and x.shape[1:] != shape:
                raise ValueError(
                    f"x_train and x_test images must have the same shape, got {shape} and "
                    f"{x.shape[1:]}"
                )
            shape = x.shape[1:]
            object.__setattr__(self, f"x_{split}", x)
            object.__setattr__(self, f"y_{split}", y)
        object.__setattr__(self, "params", dict(self.params))

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    def __repr__(self) -> str:
        rows, cols = self.x_train.shape[1:]
        return (
            f"Dataset(name={self.name!r}, class_names={self.class_names!r}, "
            f"train={len(self.x_train)}, test={len(self.x_test)}, image=({rows}, {cols}), "
            f"params={self.params!r})"
        )


def shapes_dataset(
    n_per_class: int = 500,
    *,
    size: int = 32,
    classes: Sequence[str] = SHAPE_CLASSES,
    radius: tuple[float, float] = (0.15, 0.3),
    contrast: tuple[float, float] = (0.5, 1.0),
    noise: float = 0.1,
    test_fraction: float = 0.25,
    rng: RngLike = None,
) -> Dataset:
    """Simple shapes at random position, size, orientation and polarity, in noise.

    Each image shows one shape on mean grey.  A shape has a radius ``s`` (the
    distance from its centre to its corners or arm ends) drawn uniformly from
    ``radius · size`` pixels, a centre drawn uniformly among positions where the
    whole shape fits in the frame, an orientation uniform in [0, 360) degrees,
    a polarity +1 (light) or -1 (dark) with equal probability and an amplitude
    uniform in ``contrast``.  Edges are anti-aliased over one pixel.  Classes:

    - ``disk``: filled circle of radius s;
    - ``ring``: annulus between 0.4 s and s;
    - ``square``: corners at distance s (side s·√2);
    - ``triangle``: equilateral, circumradius s;
    - ``cross``: two perpendicular arms of length 2 s and width 0.4 s;
    - ``bar``: one arm of length 2 s and width 0.5 s.

    Gaussian white noise of standard deviation ``noise`` is added to every
    pixel.  An image whose peak ``|value|`` then exceeds 1 is divided by that peak
    (nothing is clipped), so all values lie in [-1, 1].

    Parameters
    ----------
    n_per_class : int, optional
        Images per class (train + test), >= 2.  Default 500.
    size : int, optional
        Image side in pixels, >= 8.  Default 32.
    classes : sequence of str, optional
        At least two distinct names from :data:`SHAPE_CLASSES`; label ``k`` is
        ``classes[k]``.  Default: all six.
    radius : (low, high), optional
        Range of the shape radius s as a fraction of ``size``,
        ``0 < low <= high <= 0.5``.  Default (0.15, 0.3).
    contrast : (low, high), optional
        Range of the shape's amplitude, ``0 < low <= high <= 1``.  Default (0.5, 1).
    noise : float, optional
        Standard deviation of the additive noise in contrast units, >= 0.
        Default 0.1.
    test_fraction : float, optional
        Fraction of each class held out for testing, in (0, 1).  Default 0.25.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness; the same seed gives the same dataset.

    Returns
    -------
    Dataset
        ``x`` of shape ``(n, size, size)`` float32, labels int64, ``name="shapes"``.

    Raises
    ------
    ValueError
        If a count or size is too small, a class name is unknown or repeated,
        a range is empty or out of bounds, ``noise`` is negative, or
        ``test_fraction`` leaves a class without train or test images.
    TypeError
        If a count is not an integer or ``rng`` is not valid.

    Examples
    --------
    >>> ds = shapes_dataset(20, size=16, rng=0)
    >>> ds.x_train.shape, ds.x_test.shape, ds.class_names[:3]
    ((90, 16, 16), (30, 16, 16), ('disk', 'ring', 'square'))
    """
    n_per_class = check_int("n_per_class", n_per_class, minimum=2)
    size = check_int("size", size, minimum=8)
    classes = _check_classes("classes", classes, SHAPE_CLASSES)
    r_lo, r_hi = _check_interval("radius", radius, 0.0, 0.5)
    c_lo, c_hi = _check_interval("contrast", contrast, 0.0, 1.0)
    noise = check_range("noise", noise, 0.0, 100.0)  # contrast units: 100 is all noise
    test_fraction = check_range("test_fraction", test_fraction, 0.0, 1.0, closed="neither")
    n_test = _n_test(n_per_class, test_fraction, "n_per_class")
    check_memory(f"shapes_dataset: {len(classes) * n_per_class} images of {size} x {size} px",
                 array_nbytes((len(classes) * n_per_class, size, size), np.float64) * 2,
                 "lower n_per_class or size")
    gen = as_rng(rng)

    n_classes = len(classes)
    total = n_classes * n_per_class
    labels = np.repeat(np.arange(n_classes), n_per_class)
    s = gen.uniform(r_lo, r_hi, total) * size
    # pixel i spans [i - 0.5, i + 0.5]: keep the centre s away from the frame's edges
    cx = s - 0.5 + gen.random(total) * (size - 2 * s)
    cy = s - 0.5 + gen.random(total) * (size - 2 * s)
    theta = gen.uniform(0.0, 2 * np.pi, total)
    amplitude = gen.uniform(c_lo, c_hi, total) * gen.choice((-1.0, 1.0), total)

    images = np.empty((total, size, size), dtype=np.float32)
    grid = np.arange(size, dtype=np.float32)
    for k, kind in enumerate(classes):
        sel = labels == k
        col = grid[None, None, :] - cx[sel, None, None].astype(np.float32)
        row = grid[None, :, None] - cy[sel, None, None].astype(np.float32)
        cos = np.cos(theta[sel])[:, None, None].astype(np.float32)
        sin = np.sin(theta[sel])[:, None, None].astype(np.float32)
        u = col * cos - row * sin
        v = col * sin + row * cos
        distance = _SHAPES[kind](u, v, s[sel, None, None].astype(np.float32))
        mask = np.clip(0.5 - distance, 0.0, 1.0)  # anti-aliased 0..1 coverage of each pixel
        images[sel] = mask * amplitude[sel, None, None].astype(np.float32)
    if noise > 0:
        images += noise * gen.standard_normal(images.shape, dtype=np.float32)
    peak = np.abs(images).max(axis=(1, 2), keepdims=True)
    images /= np.maximum(peak, 1.0)

    params = {
        "n_per_class": n_per_class,
        "size": size,
        "classes": list(classes),
        "radius": [r_lo, r_hi],
        "contrast": [c_lo, c_hi],
        "noise": noise,
        "test_fraction": test_fraction,
        "rng": _rng_param(rng),
    }
    return _split("shapes", images, labels, n_test, classes, params, gen)


def natural_patches_dataset(
    n_per_class: int = 500,
    *,
    size: int = 32,
    sources: Sequence[str] = PATCH_DATASET_SOURCES,
    test_fraction: float = 0.25,
    rng: RngLike = None,
    whiten: bool = False,
    min_std: float = 0.0,
) -> Dataset:
    """Natural-image patches labelled by the image (texture) they were cut from.

    Each source image (:func:`stimuli.natural.natural_image`, optionally
    whitened as a whole by :func:`stimuli.natural.whiten`) is split into two
    disjoint vertical strips: the **rightmost** ``max(size, ceil(test_fraction ·
    cols))`` columns provide the test patches and the rest the training
    patches.  A patch never straddles the boundary, so no test pixel is ever
    seen in training and test accuracy measures generalisation to new parts of
    the texture.  (With ``whiten=True`` the whitening filter, a few pixels wide,
    is applied before the split.)  Patch positions are uniform within a strip;
    each patch is re-normalised as in :func:`stimuli.natural.random_patches`
    (mean 0, peak ``|value|`` 1).

    Parameters
    ----------
    n_per_class : int, optional
        Patches per source (train + test), >= 2.  Default 500.
    size : int, optional
        Patch side in pixels, >= 2.  Default 32.
    sources : sequence of str, optional
        At least two distinct names from
        :func:`stimuli.natural.natural_image_names`; label ``k`` is ``sources[k]``.
        Default :data:`PATCH_DATASET_SOURCES`.
    test_fraction : float, optional
        Fraction of each class held out for testing, in (0, 1); also sets the
        width of the test strip.  Default 0.25.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness; the same seed gives the same dataset.
    whiten : bool, optional
        Cut patches from whitened images.  Default False.
    min_std : float, optional
        Redraw patches flatter than this (see
        :func:`stimuli.natural.random_patches`).  Default 0.

    Returns
    -------
    Dataset
        ``x`` of shape ``(n, size, size)`` float32, labels int64,
        ``name="natural_patches"``.

    Raises
    ------
    ValueError
        If a count is too small, a source is unknown or repeated, fewer than two
        sources are given, an image is too small for two strips of ``size``
        columns, ``test_fraction`` is outside (0, 1) or leaves a class empty, or
        ``min_std`` cannot be met.
    TypeError
        If a count is not an integer, ``whiten`` not a bool, or ``rng`` not valid.

    Examples
    --------
    >>> ds = natural_patches_dataset(8, size=8, sources=("brick", "grass"), rng=0)
    >>> ds.class_names, ds.x_train.shape
    (('brick', 'grass'), (12, 8, 8))
    """
    n_per_class = check_int("n_per_class", n_per_class, minimum=2)
    size = check_int("size", size, minimum=2)
    sources = _check_names("sources", sources)
    if len(sources) < 2:
        raise ValueError(f"sources must name at least two images (classes), got {sources!r}")
    test_fraction = check_range("test_fraction", test_fraction, 0.0, 1.0, closed="neither")
    whiten = check_bool("whiten", whiten)
    min_std = check_nonnegative("min_std", min_std)
    n_test = _n_test(n_per_class, test_fraction, "n_per_class")
    check_memory(f"natural_patches_dataset: {len(sources) * n_per_class} patches of {size} x "
                 f"{size} px", array_nbytes((len(sources) * n_per_class, size, size),
                                            np.float64) * 2, "lower n_per_class or size")
    n_train = n_per_class - n_test
    gen = as_rng(rng)

    train_parts, test_parts = [], []
    for name in sources:
        img = _source(name, False, whiten)
        rows, cols = img.shape
        test_cols = max(size, math.ceil(test_fraction * cols))
        if rows < size or cols - test_cols < size:
            raise ValueError(
                f"size={size} is too large for source {name!r} of shape {img.shape}: it needs "
                f"a training strip and a test strip ({test_cols} columns) at least size wide"
            )
        train_parts.append(img[:, : cols - test_cols])
        test_parts.append(img[:, cols - test_cols :])
    labels_train = np.repeat(np.arange(len(sources)), n_train)
    labels_test = np.repeat(np.arange(len(sources)), n_test)
    x_train = _draw_patches(
        train_parts, len(labels_train), (size, size), gen, min_std=min_std, source_of=labels_train
    )
    x_test = _draw_patches(
        test_parts, len(labels_test), (size, size), gen, min_std=min_std, source_of=labels_test
    )
    params = {
        "n_per_class": n_per_class,
        "size": size,
        "sources": list(sources),
        "test_fraction": test_fraction,
        "whiten": whiten,
        "min_std": min_std,
        "rng": _rng_param(rng),
    }
    return _shuffled(
        "natural_patches", x_train, labels_train, x_test, labels_test, sources, params, gen
    )


def faces_dataset(
    *,
    test_fraction: float = 0.25,
    rng: RngLike = None,
    size: int | None = None,
) -> Dataset:
    """Faces vs non-faces from scikit-image's ``lfw_subset`` (200 images of 25 × 25).

    ``skimage.data.lfw_subset()`` holds 100 face crops from Labeled Faces in the
    Wild followed by 100 non-face crops of the same pictures (checked by eye for
    scikit-image 0.26).  Labels: 0 = ``"non-face"``, 1 = ``"face"``.  Each image
    (grey levels in [0, 1]) is optionally resized to ``size × size`` (bilinear,
    anti-aliased when shrinking), then converted to contrast units like natural
    images: its mean is subtracted and it is divided by its largest absolute
    value (mean 0, peak ``|value|`` 1).  This removes overall brightness and
    contrast as cues.

    Parameters
    ----------
    test_fraction : float, optional
        Fraction of each class held out, in (0, 1); ``round(100 · test_fraction)``
        of each class.  Default 0.25.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness for the split; the same seed gives the same split.
    size : int, optional
        Resize to ``size × size`` pixels, >= 4.  Default None keeps 25 × 25.

    Returns
    -------
    Dataset
        ``x`` of shape ``(n, size, size)`` float32, labels int64, ``name="faces"``.

    Raises
    ------
    ValueError
        If ``test_fraction`` is outside (0, 1) or leaves a class empty, or
        ``size`` < 4.
    TypeError
        If ``size`` is not an integer or ``rng`` not valid.

    Examples
    --------
    >>> ds = faces_dataset(rng=0)
    >>> ds.class_names, ds.x_train.shape, ds.x_test.shape
    (('non-face', 'face'), (150, 25, 25), (50, 25, 25))
    """
    test_fraction = check_range("test_fraction", test_fraction, 0.0, 1.0, closed="neither")
    if size is not None:
        size = check_int("size", size, minimum=4)
    gen = as_rng(rng)
    import skimage.data  # deferred: importing skimage.data costs ~0.1 s

    raw = np.asarray(skimage.data.lfw_subset(), dtype=np.float64)
    if size is not None and raw.shape[1:] != (size, size):
        import skimage.transform

        raw = skimage.transform.resize(
            raw, (len(raw), size, size), order=1, anti_aliasing=size < raw.shape[1]
        )
    images = _to_contrast(raw - raw.mean(axis=(1, 2), keepdims=True))
    labels = np.repeat(np.array([1, 0]), len(raw) // 2)  # first half faces
    n_test = _n_test(len(raw) // 2, test_fraction, "the 100 images per class")
    params = {"test_fraction": test_fraction, "size": size or raw.shape[1], "rng": _rng_param(rng)}
    order = gen.permutation(len(raw))  # random split within each class
    return _split("faces", images[order], labels[order], n_test, ("non-face", "face"), params, gen)


# --------------------------------------------------------------------------- private


def _disk(u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.hypot(u, v) - s


def _ring(u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.abs(np.hypot(u, v) - 0.7 * s) - 0.3 * s


def _square(u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) - s / np.sqrt(2)


def _triangle(u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    # intersection of three half-planes at the inradius s/2, normals 120 degrees apart
    out = None
    for deg in (90.0, 210.0, 330.0):
        a = np.deg2rad(deg)
        d = u * np.float32(np.cos(a)) + v * np.float32(np.sin(a)) - 0.5 * s
        out = d if out is None else np.maximum(out, d)
    return out


def _bar_distance(u: np.ndarray, v: np.ndarray, half_length, half_width) -> np.ndarray:
    return np.maximum(np.abs(u) - half_length, np.abs(v) - half_width)


def _cross(u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.minimum(_bar_distance(u, v, s, 0.2 * s), _bar_distance(v, u, s, 0.2 * s))


def _bar(u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
    return _bar_distance(u, v, s, 0.25 * s)


#: Signed distance (pixels, negative inside) of each shape from rotated coordinates u, v
#: and outer radius s.  Half-plane maxima are exact inside and near edges, which is all
#: the one-pixel anti-aliasing needs.
_SHAPES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "disk": _disk,
    "ring": _ring,
    "square": _square,
    "triangle": _triangle,
    "cross": _cross,
    "bar": _bar,
}


def _check_classes(name: str, value: object, choices: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of class names, got {value!r}")
    value = tuple(value)
    for item in value:
        if item not in choices:
            raise ValueError(f"{name} entries must be among {', '.join(choices)}; got {item!r}")
    if len(value) < 2:
        raise ValueError(f"{name} must list at least two classes, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} must not repeat a class, got {value!r}")
    return value


def _check_interval(name: str, value: object, low: float, high: float) -> tuple[float, float]:
    """A pair ``(lo, hi)`` with ``low < lo <= hi <= high``."""
    if isinstance(value, str) or np.ndim(value) != 1 or len(value) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    lo = check_real(f"{name}[0]", value[0])
    hi = check_real(f"{name}[1]", value[1])
    if not (low < lo <= hi <= high):
        raise ValueError(f"{name} must satisfy {low} < low <= high <= {high}, got {value!r}")
    return lo, hi


def _n_test(n_per_class: int, test_fraction: float, count_name: str) -> int:
    """Test images per class, ``round(n · test_fraction)``, leaving both splits non-empty."""
    n_test = int(round(n_per_class * test_fraction))
    if not 1 <= n_test <= n_per_class - 1:
        raise ValueError(
            f"test_fraction={test_fraction} with {count_name}={n_per_class} gives {n_test} test "
            f"images per class; both train and test need at least one"
        )
    return n_test


def _rng_param(rng: RngLike) -> int | str | None:
    """The rng argument as a JSON-able value for ``params``."""
    return "Generator" if isinstance(rng, np.random.Generator) else rng


def _split(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    n_test: int,
    class_names: Sequence[str],
    params: dict[str, Any],
    rng: np.random.Generator,
) -> Dataset:
    """Put the last ``n_test`` images of each class (in array order) in the test set."""
    test = np.zeros(len(labels), dtype=bool)
    for k in range(len(class_names)):
        test[np.flatnonzero(labels == k)[-n_test:]] = True
    return _shuffled(
        name, images[~test], labels[~test], images[test], labels[test], class_names, params, rng
    )


def _shuffled(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    class_names: Sequence[str],
    params: dict[str, Any],
    rng: np.random.Generator,
) -> Dataset:
    """A Dataset with train and test sets each in random order."""
    p_train = rng.permutation(len(y_train))
    p_test = rng.permutation(len(y_test))
    return Dataset(
        x_train=np.ascontiguousarray(x_train[p_train], dtype=np.float32),
        y_train=y_train[p_train].astype(np.int64),
        x_test=np.ascontiguousarray(x_test[p_test], dtype=np.float32),
        y_test=y_test[p_test].astype(np.int64),
        class_names=tuple(class_names),
        name=name,
        params=params,
    )
