"""Protocols made of data or of other protocols, and the texture and blank protocols.

:func:`image_set` (given images), :func:`concatenate` (several protocols shown
in turn), :func:`texture_families` (Portilla–Simoncelli texture families) and
:func:`blank_screen`.  Import them from :mod:`stimuli.protocols`, which
re-exports them and lists them in :func:`stimuli.protocols.list_protocols`.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from stimuli._protocol import (
    Protocol,
)
from stimuli._shared.validation import (
    as_rng,
    check_count,
    check_images,
    check_range,
)
from stimuli.display import Display, check_display
from stimuli.resources import MAX_IMAGES
from stimuli.table import Table

# ------------------------------------------------------------ protocols from other stimuli


def image_set(display: Display, images: Any, *, name: str = "images",
              params: Mapping[str, Any] | None = None) -> Protocol:
    """Given images as a protocol, one condition row (column ``image``) per image.

    For stimuli that are data rather than parameters (natural-image patches, a test
    set): :func:`analysis.run_protocol` records them like any other protocol.

    Parameters
    ----------
    display : Display
        The display the images were made for.
    images : array_like of shape (n, rows, cols)
        Finite images in contrast units, ``(rows, cols) == display.shape``.
    name : str
        Protocol name.
    params : mapping, optional
        What the images are (recorded in the protocol's ``params``); default
        ``{"n_images": n}``.

    Returns
    -------
    Protocol
        Kind ``"image"``; ``conditions["image"]`` is ``0 .. n-1``.

    Raises
    ------
    ValueError
        If ``images`` is not a finite ``(n, rows, cols)`` stack matching the display.
    TypeError
        If ``display`` is not a :class:`Display`.

    Examples
    --------
    >>> d = Display((4, 4), pixels_per_degree=2)
    >>> p = image_set(d, np.ones((3, 4, 4)), name="flat")
    >>> len(p), p.conditions["image"].tolist(), p.stimuli(2).shape
    (3, [0, 1, 2], (4, 4))
    """
    display = check_display(display)
    images = check_images("images", images, display)
    params = {"n_images": len(images)} if params is None else dict(params)
    return Protocol(name, display, {"image": np.arange(len(images))}, _ImageRow(images),
                    params=params)


class _ImageRow:
    """Renders condition row ``image`` of a fixed stack (picklable, unlike a lambda)."""

    def __init__(self, images: np.ndarray):
        self.images = images

    def __call__(self, display: Display, row: dict[str, Any]) -> np.ndarray:
        return self.images[int(row["image"])]


def concatenate(protocols: Sequence[Protocol], *, name: str) -> Protocol:
    """One protocol showing the stimuli of several protocols in turn.

    The parts must have the same condition columns and kind.  A temporal model then
    simulates them in one network run, and one recording holds the whole design
    (e.g. radius × phase at every orientation × sf).  Rows are rendered by the part
    they came from; rows with identical conditions in two parts render as the first.

    Parameters
    ----------
    protocols : sequence of Protocol
        At least one, on the same display.
    name : str
        Name of the combined protocol.

    Returns
    -------
    Protocol
        Conditions stacked in order; ``params["protocols"]`` lists the parts' params.

    Raises
    ------
    ValueError
        If ``protocols`` is empty or the parts differ in columns, kind or display.

    Examples
    --------
    >>> from stimuli.protocols import size_tuning
    >>> d = Display((8, 8), pixels_per_degree=4)
    >>> parts = [size_tuning(d, orientation=o, sf=1.0, radii=(0.5, 1.0)) for o in (0, 90)]
    >>> both = concatenate(parts, name="size_tuning")
    >>> len(both) == len(parts[0]) + len(parts[1])
    True
    >>> bool(np.array_equal(both.stimuli(len(parts[0])), parts[1].stimuli(0)))
    True
    """
    parts = list(protocols)
    if not parts:
        raise ValueError("protocols must hold at least one protocol")
    first = parts[0]
    for part in parts[1:]:
        if part.conditions.names != first.conditions.names or part.kind != first.kind:
            raise ValueError(f"cannot concatenate protocols with columns "
                             f"{part.conditions.names} and {first.conditions.names}")
        if part.display != first.display:
            raise ValueError("cannot concatenate protocols on different displays")
    conditions = Table({k: np.concatenate([np.asarray(p.conditions[k]) for p in parts])
                        for k in first.conditions.names})
    return Protocol(name, first.display, conditions, _PartRow(parts), kind=first.kind,
                    params={"protocols": [p.params for p in parts]},
                    stimulus_shape=first.stimulus_shape)


class _PartRow:
    """Renders a row of a concatenated protocol with the part protocol it came from."""

    def __init__(self, parts: list[Protocol]):
        self.parts = parts
        self.index: dict[tuple, tuple[int, int]] = {}
        for k, part in enumerate(parts):
            for i in range(len(part)):
                self.index.setdefault(_row_key(part.conditions.row(i)), (k, i))

    def __call__(self, display: Display, row: dict[str, Any]) -> np.ndarray:
        k, i = self.index[_row_key(row)]
        return self.parts[k].stimuli(i)


def _row_key(row: dict[str, Any]) -> tuple:
    return tuple((k, float(v)) for k, v in sorted(row.items()))




# ============================================================================ textures
# (appended: naturalistic textures vs spectrally matched noise, Freeman/Ziemba layout)

def _texture_row(display: Display, row: dict[str, Any], *, rms_contrast: float) -> np.ndarray:
    from stimuli.textures import texture_pair

    texture, noise = texture_pair(str(row["source"]), display.shape, row=int(row["row"]),
                                  col=int(row["col"]), seed=int(row["seed"]),
                                  rms_contrast=rms_contrast)
    return texture if str(row["image_type"]) == "texture" else noise


def texture_families(
    display: Display,
    *,
    families: Sequence[str] | None = None,
    n_samples: int = 10,
    rms_contrast: float = 0.2,
    rng: Any = 0,
) -> Protocol:
    """Naturalistic textures and spectrally matched noise, families × samples.

    The layout of Freeman, Ziemba et al. (2013, Nat Neurosci 16:974; 15 families ×
    15 samples there): each family is a scikit-image photograph, each sample a crop
    of it at a random position (display-sized, one picture pixel per display
    pixel), shown once as the texture and once as noise with the same amplitude
    spectrum and random phases (:func:`stimuli.textures.texture_pair`).  See
    :mod:`stimuli.textures` for how this differs from Portilla–Simoncelli synthesis.

    Parameters
    ----------
    display : Display
        The screen; its shape must fit inside every family's picture.
    families : sequence of str, optional
        Picture names (:func:`stimuli.natural.natural_image_names`), at least 2;
        default :data:`stimuli.textures.TEXTURE_FAMILIES` (8 families).
    n_samples : int
        Crops per family, >= 2.
    rms_contrast : float
        RMS contrast of the textures, in (0, 1] (noise images inherit it).
    rng : None, int or numpy.random.Generator
        Source of crop positions and noise seeds; default 0 (a fixed stimulus set).

    Returns
    -------
    Protocol
        Kind ``"image"``, ``2 · len(families) · n_samples`` stimuli ordered
        ``image_type`` (noise, texture) × family × sample; columns ``image_type``
        (``"noise"``/``"texture"``), ``family`` (index), ``source`` (picture name),
        ``sample``, ``row``, ``col`` (crop corner, picture pixels), ``seed``.

    Raises
    ------
    ValueError
        If a family name is unknown or repeated, fewer than 2 families or samples
        are asked for, the display is larger than a picture, or ``rms_contrast`` is
        outside (0, 1].

    Examples
    --------
    >>> from stimuli.display import Display
    >>> p = texture_families(Display((32, 32), pixels_per_degree=16),
    ...                      families=("brick", "grass"), n_samples=3)
    >>> len(p), sorted(set(p.conditions["image_type"].tolist()))
    (12, ['noise', 'texture'])
    """
    from stimuli.natural import _check_names, _load
    from stimuli.textures import TEXTURE_FAMILIES

    display = check_display(display)
    families = _check_names("families", TEXTURE_FAMILIES if families is None
                            else tuple(families) if isinstance(families, list) else families)
    if len(families) < 2:
        raise ValueError(f"families must name at least 2 pictures, got {families!r}")
    n_samples = check_count("n_samples", n_samples, minimum=2, maximum=MAX_IMAGES)
    rms_contrast = check_range("rms_contrast", rms_contrast, 0.0, 1.0, closed="right")
    gen = as_rng(rng)
    rows, cols = display.shape
    fam, src, smp, r0, c0, seeds = [], [], [], [], [], []
    for f, name in enumerate(families):
        h, w = _load(name, False).shape
        if h < rows or w < cols:
            raise ValueError(f"display of {rows}x{cols} pixels does not fit inside family "
                             f"{name!r} ({h}x{w}); use a smaller display or other families")
        fam += [f] * n_samples
        src += [name] * n_samples
        smp += list(range(n_samples))
        r0 += gen.integers(0, h - rows + 1, size=n_samples).tolist()
        c0 += gen.integers(0, w - cols + 1, size=n_samples).tolist()
        seeds += gen.integers(0, 2**31 - 1, size=n_samples).tolist()
    half = {"family": np.array(fam, dtype=np.int64), "source": np.array(src, dtype=str),
            "sample": np.array(smp, dtype=np.int64), "row": np.array(r0, dtype=np.int64),
            "col": np.array(c0, dtype=np.int64), "seed": np.array(seeds, dtype=np.int64)}
    n = len(fam)
    conditions = Table({"image_type": np.array(["noise"] * n + ["texture"] * n),
                        **{k: np.concatenate([v, v]) for k, v in half.items()}})
    seed_param = int(rng) if isinstance(rng, numbers.Integral) and not isinstance(
        rng, bool) else None
    params = dict(families=list(families), n_samples=n_samples, rms_contrast=rms_contrast,
                  seed=seed_param)
    return Protocol("texture_families", display, conditions,
                    functools.partial(_texture_row, rms_contrast=rms_contrast), params=params)




def _blank_row(display: Display, row: dict[str, Any]) -> np.ndarray:
    return np.zeros(display.shape, dtype=np.float32)


def blank_screen(display: Display, *, n: int = 1) -> Protocol:
    """A mean-grey screen: the spontaneous (baseline) response of every unit.

    Marques et al. (2021) record each unit's response to a blank screen to map model
    responses to firing rates (the blank → spontaneous rate) and to subtract the
    baseline from tuning curves (:func:`analysis.fit_firing_rate_map`).

    Parameters
    ----------
    display : Display
        The screen.
    n : int
        Number of (identical) blank stimuli, >= 1 (repeats for stochastic models).

    Returns
    -------
    Protocol
        Kind ``"image"``, ``n`` all-zero images; columns ``repeat`` and ``contrast`` (0).

    Raises
    ------
    TypeError, ValueError
        If ``display`` is not a Display or ``n`` is not an integer >= 1.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> p = blank_screen(Display((8, 8), pixels_per_degree=4))
    >>> len(p), float(np.abs(p.stimuli(0)).max())
    (1, 0.0)
    """
    display = check_display(display)
    n = check_count("n", n, maximum=MAX_IMAGES)
    conditions = Table({"repeat": np.arange(n, dtype=np.int64), "contrast": np.zeros(n)})
    return Protocol("blank_screen", display, conditions, _blank_row, params={"n": n})


