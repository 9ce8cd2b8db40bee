"""Tolerance curves: how much a layer's response pattern survives a transform of the stimulus.

For each image and each transform amount (a shift in degrees, a scale factor or a
rotation angle, applied with :mod:`stimuli.transforms`), the layer's responses to
the transformed image are correlated with its responses to the original image:
Pearson's r over units (every channel at every map position, or every unit of a
non-retinotopic layer).  The curve is r against the amount, averaged over images,
with its spread.  Only the model interface (``display``, ``responses``) is used,
so the same function measures the V1 model, HMAX, the CNNs and wrapped PyTorch
modules.

Unit pairs where a unit is silent (exactly 0) for *both* stimuli are left out of
a correlation: padding outside a map (HMAX's centred band stacks) and units that
never respond would otherwise add identical points and inflate r.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stimuli._shared.validation import (
    check_array,
    check_choice,
    check_images,
    check_int,
    check_real,
)
from stimuli.table import Table
from stimuli.transforms import rotate, scale, translate
from v1model.base import check_layer

TRANSFORMS = ("translate", "scale", "rotate")
_UNITS = {"translate": "deg", "scale": "factor", "rotate": "deg"}


def transform_images(images: np.ndarray, display: Any, transform: str, amount: float, *,
                     direction: float = 0.0, order: int = 1) -> np.ndarray:
    """Apply one transform of ``amount`` to a batch, through :mod:`stimuli.transforms`.

    Parameters
    ----------
    images : ndarray of shape (n, rows, cols)
    display : Display
    transform : {"translate", "scale", "rotate"}
    amount : float
        Shift in degrees along ``direction``, magnification factor (> 0), or
        counter-clockwise angle in degrees.
    direction : float
        Direction of a shift, degrees counter-clockwise from rightward.  Default 0.
    order : int
        Interpolation order passed to the transform.  Default 1 (bilinear).

    Returns
    -------
    ndarray of shape (n, rows, cols), float32

    Raises
    ------
    ValueError
        If ``transform`` is unknown or ``amount`` invalid for it.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> d = Display((8, 8), 4)
    >>> img = np.zeros((1, 8, 8), np.float32); img[0, 4, 4] = 1
    >>> out = transform_images(img, d, "translate", 0.25)
    >>> np.argwhere(out[0] == 1).tolist()
    [[4, 5]]
    """
    check_choice("transform", transform, TRANSFORMS)
    amount = check_real("amount", amount)
    direction = check_real("direction", direction)  # checked even where unused
    if transform == "translate":
        ppd = getattr(display, "pixels_per_degree", 1.0)  # a bad display: translate says so
        if isinstance(ppd, float) and not np.isfinite(amount * ppd):
            raise ValueError(f"amount must be a shift of finitely many pixels, got {amount!r} "
                             f"degrees × {ppd:g} pixels/degree")
        theta = np.deg2rad(direction)
        dx, dy = amount * np.cos(theta), amount * np.sin(theta)
        # exact zeros keep whole-pixel shifts exact (cos 90° is not exactly 0 in floats)
        dx, dy = (0.0 if abs(v) < 1e-12 else float(v) for v in (dx, dy))
        return translate(images, display, shift=(dx, dy), order=order)
    if transform == "scale":
        if amount <= 0:
            raise ValueError(f"amount must be a positive scale factor, got {amount}")
        return scale(images, display, factor=amount, order=order)
    return rotate(images, display, angle=amount, order=order)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching rows of ``a`` and ``b`` (n, units), skipping joint zeros."""
    r = np.empty(a.shape[0])
    for i in range(a.shape[0]):
        keep = (a[i] != 0) | (b[i] != 0)
        x = a[i, keep].astype(np.float64)
        y = b[i, keep].astype(np.float64)
        x -= x.mean() if x.size else 0.0
        y -= y.mean() if y.size else 0.0
        denom = np.sqrt(np.dot(x, x) * np.dot(y, y))
        if x.size < 2 or denom == 0:
            raise ValueError(
                f"the correlation for image {i} is undefined: its responses (original or "
                "transformed) do not vary across units — is the image blank, or the transform "
                "moving all content out of the frame?"
            )
        r[i] = np.dot(x, y) / denom
    return r


def tolerance_correlations(model: Any, layer: str, images: Any, *, transform: str,
                           amounts: Sequence[float], direction: float = 0.0, order: int = 1,
                           batch_size: int = 16) -> np.ndarray:
    """Per-image correlations between responses to transformed and original images.

    Parameters
    ----------
    model : model
        Anything with ``display`` and ``responses(stimuli, layer)``.
    layer : str
        One of ``model.layers``.
    images : ndarray of shape (n, rows, cols)
        Original stimuli, of the display's shape.
    transform : {"translate", "scale", "rotate"}
    amounts : sequence of float
        Shifts (degrees), factors, or angles (degrees).
    direction : float
        Shift direction for ``translate``, degrees.  Default 0 (rightward).
    order : int
        Interpolation order of the transform.  Default 1.
    batch_size : int
        Images per call to ``responses``.  Default 16.

    Returns
    -------
    ndarray of shape (n, len(amounts)), float64
        Pearson r per image and amount (rows are images, as
        :func:`analysis.figures.representations.plot_invariance` takes them).

    Raises
    ------
    ValueError
        If arguments are invalid, or a correlation is undefined (responses that do not
        vary across units).

    Examples
    --------
    >>> from stimuli.display import Display
    >>> class Pixels:  # a model whose one layer is the image itself
    ...     display, layers, temporal = Display((16, 16), 4), ("pixels",), False
    ...     def responses(self, stimuli, layer):
    ...         return np.asarray(stimuli).reshape(len(stimuli), -1)
    >>> imgs = np.random.default_rng(0).normal(size=(2, 16, 16))
    >>> tolerance_correlations(Pixels(), "pixels", imgs, transform="rotate",
    ...                        amounts=[0.0]).round(6).tolist()
    [[1.0], [1.0]]
    """
    return _correlations(model, layer, images, transform=transform, amounts=amounts,
                         direction=direction, order=order, batch_size=batch_size)[0]


def _correlations(model: Any, layer: str, images: Any, *, transform: str,
                  amounts: Sequence[float], direction: float, order: int, batch_size: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Correlations ``(n, k)`` and, between consecutive original images, ``(n - 1,)``."""
    check_layer(model, layer)
    check_choice("transform", transform, TRANSFORMS)
    images = check_images("images", images, model.display)
    amounts = check_array("amounts", amounts, ndim=1, shape_doc="(n_amounts,)", dtype=np.float64)
    if transform == "scale" and np.any(amounts <= 0):
        raise ValueError(f"scale amounts must be positive factors, got {amounts.tolist()}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    out = np.empty((images.shape[0], len(amounts)))
    between = []
    previous = None
    for start in range(0, images.shape[0], batch_size):
        batch = images[start:start + batch_size]
        base = np.asarray(model.responses(batch, layer)).reshape(len(batch), -1)
        for a, amount in enumerate(amounts):
            moved = transform_images(batch, model.display, transform, float(amount),
                                     direction=direction, order=order)
            resp = np.asarray(model.responses(moved, layer)).reshape(len(batch), -1)
            out[start:start + len(batch), a] = _pearson_rows(base, resp)
        chain = base if previous is None else np.concatenate([previous, base])
        if len(chain) > 1:
            between.append(_pearson_rows(chain[:-1], chain[1:]))
        previous = base[-1:]
    return out, (np.concatenate(between) if between else np.zeros(0))


def tolerance_curve(model: Any, layer: str, images: Any, *, transform: str = "translate",
                    amounts: Sequence[float] | None = None, direction: float = 0.0,
                    order: int = 1, batch_size: int = 16) -> Table:
    """Tolerance curve of one layer: mean correlation with the untransformed response vs amount.

    Parameters are those of :func:`tolerance_correlations`; ``amounts`` defaults to
    shifts 0-2° in 0.25° steps, scale factors 0.5-2 (log-spaced, 9 values) or
    rotations 0-90° in 15° steps.

    Returns
    -------
    Table
        One row per amount: ``amount`` (``unit`` says deg or factor), ``correlation``
        (mean r over images), ``std`` (across images), ``sem``, ``low`` and ``high``
        (2.5th and 97.5th percentiles across images), ``n_images``, and ``transform``
        and ``layer`` repeated on every row.  With two or more images also
        ``baseline``: the mean correlation between responses to *different* original
        images (consecutive pairs) — the level a curve falls to when the transform
        leaves nothing of the original pattern.  Units differ in their mean level
        (e.g. C2 units of different prototype sizes), which alone correlates the
        response vectors of unrelated images; judge a curve against this baseline.

    Raises
    ------
    ValueError
        As :func:`tolerance_correlations`.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> class Pixels:
    ...     display, layers, temporal = Display((16, 16), 4), ("pixels",), False
    ...     def responses(self, stimuli, layer):
    ...         return np.asarray(stimuli).reshape(len(stimuli), -1)
    >>> imgs = np.random.default_rng(0).normal(size=(3, 16, 16))
    >>> tab = tolerance_curve(Pixels(), "pixels", imgs, amounts=[0.0, 0.25])
    >>> round(float(tab["correlation"][0]), 6), bool(tab["correlation"][1] < 0.5)
    (1.0, True)
    """
    check_choice("transform", transform, TRANSFORMS)
    if amounts is None:
        amounts = {"translate": np.arange(0.0, 2.01, 0.25),
                   "scale": np.geomspace(0.5, 2.0, 9),
                   "rotate": np.arange(0.0, 91.0, 15.0)}[transform]
    r, between = _correlations(model, layer, images, transform=transform, amounts=amounts,
                               direction=direction, order=order, batch_size=batch_size)
    n, k = r.shape
    std = r.std(axis=0, ddof=1) if n > 1 else np.zeros(k)
    columns = {
        "amount": np.asarray(amounts, dtype=np.float64),
        "correlation": r.mean(axis=0),
        "std": std,
        "sem": std / np.sqrt(n),
        "low": np.percentile(r, 2.5, axis=0),
        "high": np.percentile(r, 97.5, axis=0),
        "n_images": np.full(k, n),
        "transform": np.full(k, transform),
        "unit": np.full(k, _UNITS[transform]),
        "layer": np.full(k, layer),
    }
    if between.size:
        columns["baseline"] = np.full(k, between.mean())
    return Table(columns)
