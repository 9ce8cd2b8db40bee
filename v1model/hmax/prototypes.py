"""S2 prototypes: imprinting them from C1 maps of training images, saving and loading them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from stimuli._shared.io import load_npz, save_npz
from stimuli._shared.validation import RngLike, as_rng, check_count, check_images, check_int
from stimuli.table import Table
from v1model.base import check_layer
from v1model.hmax._checks import _as_tuple
from v1model.hmax.model import HMAX
from v1model.hmax.s2 import _as_prototype_groups

#: Prototype sides n (in C1 cells) used by Serre et al. (2007).
SERRE_PROTOTYPE_SIZES = (4, 8, 12, 16)


def imprint_prototypes(model: HMAX, images: Any, *, n_per_size: int,
                       sizes: Sequence[int] = SERRE_PROTOTYPE_SIZES, layer: str = "C1",
                       rng: RngLike = None) -> tuple[tuple[np.ndarray, ...], Table]:
    """Cut prototypes from the ``layer`` maps of training images (Serre et al. 2007).

    For each size n and each of ``n_per_size`` prototypes an image, a band in which an
    n × n patch fits, and an anchor position inside that band's map are drawn
    uniformly; the prototype is the ``features × n × n`` patch of the layer's
    response there (anchored as :class:`S2Stage` anchors patches, so an S2 unit at
    the source responds exactly ``exp(0) = 1``).

    Parameters
    ----------
    model : HMAX
        Model whose ``layer`` (a retinotopic layer, by default C1) provides the patches.
    images : ndarray of shape (n, rows, cols)
        Training images of the display's shape.
    n_per_size : int
        Prototypes per size, >= 1.
    sizes : sequence of int
        Patch sides in map elements.  Default (4, 8, 12, 16).
    layer : str
        Source layer.  Default "C1".
    rng : None, int or Generator
        Randomness for the draws.

    Returns
    -------
    prototypes : tuple of ndarray of shape (n_per_size, features, n, n), float32
        One array per size, in the order of ``sizes``.
    sources : Table
        One row per prototype (in concatenated order): ``size``, ``image``, ``band``,
        ``row``, ``col`` (array indices of the anchor in the layer's response maps),
        ``x``, ``y`` (anchor position, degrees).

    Raises
    ------
    ValueError
        If ``layer`` is global, a size fits in no band, or the images are invalid.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> model = HMAX(Display((64, 64), 32))
    >>> imgs = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64))
    >>> protos, src = imprint_prototypes(model, imgs, n_per_size=3, sizes=(4,), rng=0)
    >>> protos[0].shape, len(src)
    ((3, 4, 4, 4), 3)
    """
    if not isinstance(model, HMAX):
        raise TypeError(f"model must be an HMAX, got {type(model).__name__}")
    n_per_size = check_count("n_per_size", n_per_size, maximum=10**6)  # Serre: 1000s
    sizes = _as_tuple("sizes", sizes, check_int, minimum=1)
    rng = as_rng(rng)
    check_layer(model, layer)
    grid = model.grid(layer)
    if not grid.retinotopic:
        raise ValueError(f"layer {layer!r} is global; prototypes need a retinotopic layer")
    images = check_images("images", images, model.display)
    model.stages[0][1].check_images(images)
    data, _ = model._forward(images, layer)
    x_all, y_all = model.band_coordinates(layer)
    boxes = [grid.band_box(b) for b in range(grid.n_bands)]
    protos, cols = [], {k: [] for k in ("size", "image", "band", "row", "col", "x", "y")}
    for n in sizes:
        bands = [b for b, (r0, r1, c0, c1) in enumerate(boxes) if r1 - r0 >= n and c1 - c0 >= n]
        if not bands:
            raise ValueError(f"no band of layer {layer!r} is large enough for {n}x{n} prototypes")
        out = np.empty((n_per_size, grid.n_features, n, n), dtype=np.float32)
        for k in range(n_per_size):
            img = int(rng.integers(images.shape[0]))
            b = int(bands[rng.integers(len(bands))])
            r0, r1, c0, c1 = boxes[b]
            i = int(rng.integers(r0 + n // 2, r1 - n + n // 2 + 1))
            j = int(rng.integers(c0 + n // 2, c1 - n + n // 2 + 1))
            out[k] = data[img, b, :, i - n // 2:i - n // 2 + n, j - n // 2:j - n // 2 + n]
            ch = b * grid.n_features
            for key, v in zip(cols, (n, img, b, i, j, x_all[ch, j], y_all[ch, i]), strict=True):
                cols[key].append(v)
        protos.append(out)
    return tuple(protos), Table({k: np.asarray(v) for k, v in cols.items()})


_PROTOTYPES_KIND = "hmax-prototypes"


def save_prototypes(path: str | os.PathLike, prototypes: Any, sources: Table | None = None
                    ) -> None:
    """Write prototypes (and optionally their ``sources`` table) to one ``.npz``, no pickle.

    Parameters
    ----------
    path : str or PathLike
        Destination; written atomically.
    prototypes : array or sequence of arrays of shape (k, features, n, n)
        As returned by :func:`imprint_prototypes`.
    sources : Table, optional
        The provenance table returned alongside them.

    Raises
    ------
    ValueError
        If the prototypes are not finite 4-D square patches with a common feature count.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "protos.npz")
    >>> save_prototypes(path, [np.ones((2, 4, 3, 3))])
    >>> [p.shape for p in load_prototypes(path)[0]]
    [(2, 4, 3, 3)]
    """
    groups = _as_prototype_groups(prototypes)
    arrays = {f"prototypes/{g}": arr for g, arr in enumerate(groups)}
    columns: list[str] = []
    if sources is not None:
        if not isinstance(sources, Table):
            raise TypeError(f"sources must be a Table, got {type(sources).__name__}")
        columns = list(sources.names)
        arrays.update({f"sources/{name}": sources[name] for name in columns})
    save_npz(path, arrays, {"kind": _PROTOTYPES_KIND, "version": 1, "groups": len(groups),
                            "source_columns": columns})


def load_prototypes(path: str | os.PathLike) -> tuple[tuple[np.ndarray, ...], Table | None]:
    """Read prototypes written by :func:`save_prototypes`.

    Returns
    -------
    prototypes : tuple of ndarray of shape (k, features, n, n), float32
    sources : Table or None

    Raises
    ------
    FileNotFoundError, ValueError
        If the file is missing, truncated, or not a prototypes file.
    """
    arrays, meta = load_npz(path, _PROTOTYPES_KIND)
    try:
        groups = _as_prototype_groups([arrays[f"prototypes/{g}"] for g in range(meta["groups"])])
        columns = meta.get("source_columns", [])
        sources = Table({c: arrays[f"sources/{c}"] for c in columns}) if columns else None
    except KeyError as exc:
        raise ValueError(f"{os.fspath(path)!r} is an incomplete prototypes file: "
                         f"missing {exc}") from exc
    return groups, sources
