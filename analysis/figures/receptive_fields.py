"""Figures for receptive fields: map mosaics, Gabor fits, Ringach's (nx, ny).

Every function takes ``ax=None`` (or ``fig=None``, a Figure or SubFigure, for
multi-panel figures), draws on it, and returns the Axes (an array of them for
multi-panel figures), never a Figure: a notebook then shows each figure once.
Titles and axis labels are built from the arguments, never typed beside them.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from analysis.gabor_fit import GaborFit
from analysis.reference import reference_distribution
from stimuli._shared.validation import (
    as_rng,
    check_array,
    check_bool,
    check_count,
    check_positive,
)

__all__ = ["plot_gabor_fit", "plot_nx_ny", "plot_rf_mosaic"]

_DIVERGING = "RdBu_r"


def _extent(shape: tuple[int, int], ppd: float | None) -> list[float] | None:
    """imshow extent in degrees (origin at the centre, y up) or None for pixels."""
    if ppd is None:
        return None
    rows, cols = shape
    return [-cols / 2 / ppd, cols / 2 / ppd, -rows / 2 / ppd, rows / 2 / ppd]


def _label_units(ppd: float | None) -> str:
    return "deg" if ppd is not None else "px"


def plot_rf_mosaic(maps, *, unit_info: Mapping[str, np.ndarray] | None = None,
                   pixels_per_degree: float | None = None, ncols: int | None = None,
                   units=None, fig=None):
    """Receptive-field maps side by side, each on a symmetric diverging colour scale.

    Parameters
    ----------
    maps : array_like of shape (n, rows, cols) or ReceptiveFields
        The maps (a :class:`~analysis.receptive_fields.ReceptiveFields` supplies its
        ``maps``, ``unit_info`` and display scale).
    unit_info : mapping, optional
        Per-unit metadata; ``orientation`` (deg) and ``sf`` (c/deg), when present,
        title each panel.
    pixels_per_degree : float, optional
        Draw axes in degrees (origin at the display centre, y up) instead of pixels.
    ncols : int, optional
        Panels per row; default ``ceil(sqrt(n))``.
    units : array_like of int, optional
        The unit number each map is titled with, e.g. when ``maps`` is a subset of a
        layer; default ``0 .. n - 1``.
    fig : matplotlib Figure or SubFigure, optional
        Figure to draw on (cleared); default a new pyplot figure.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        Shape ``(rows, ncols)``, one image Axes per map (unused grid cells hidden);
        ``axes.flat[0].figure`` is the figure.  Axes rather than the Figure, so a
        notebook draws it once.

    Raises
    ------
    ValueError
        If the maps are not ``(n, rows, cols)`` or hold NaN or infinity.

    Examples
    --------
    >>> axes = plot_rf_mosaic(np.random.default_rng(0).normal(size=(3, 8, 8)))
    >>> axes.shape, sum(ax.get_visible() for ax in axes.flat)
    ((2, 2), 3)
    >>> plt.close(axes.flat[0].figure)
    """
    if hasattr(maps, "maps") and hasattr(maps, "display"):
        unit_info = maps.unit_info if unit_info is None else unit_info
        pixels_per_degree = (maps.display.pixels_per_degree if pixels_per_degree is None
                             else pixels_per_degree)
        maps = maps.maps
    maps = check_array("maps", maps, ndim=3, shape_doc="(n, rows, cols)", dtype=np.float64)
    if unit_info is not None and not isinstance(unit_info, Mapping):
        raise TypeError(f"unit_info must be a mapping of name to per-unit array, got "
                        f"{type(unit_info).__name__}")
    if pixels_per_degree is not None:
        pixels_per_degree = check_positive("pixels_per_degree", pixels_per_degree)
    n = maps.shape[0]
    units = np.arange(n) if units is None else check_array("units", units, ndim=1,
                                                             shape_doc="(n,)")
    if len(units) != n:
        raise ValueError(f"units must give one number per map ({n}), got {len(units)}")
    ncols = int(np.ceil(np.sqrt(n))) if ncols is None else check_count("ncols", ncols,
                                                                        maximum=100)
    nrows = -(-n // ncols)
    fig = plt.figure(figsize=(1.8 * ncols, 1.8 * nrows)) if fig is None else fig
    fig.clear()
    axes = fig.subplots(nrows, ncols, squeeze=False)
    extent = _extent(maps.shape[1:], pixels_per_degree)
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.set_visible(False)
            continue
        lim = float(np.abs(maps[k]).max()) or 1.0
        ax.imshow(maps[k], cmap=_DIVERGING, vmin=-lim, vmax=lim, extent=extent,
                  interpolation="nearest")
        parts = [f"unit {units[k]:g}"]
        if unit_info is not None:
            if "orientation" in unit_info:
                parts.append(f"θ={float(unit_info['orientation'][k]):.3g}°")
            if "sf" in unit_info:
                parts.append(f"sf={float(unit_info['sf'][k]):.3g}")
        ax.set_title(" ".join(parts), fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.supxlabel(f"x ({_label_units(pixels_per_degree)})", fontsize=8)
    fig.supylabel(f"y ({_label_units(pixels_per_degree)})", fontsize=8)
    return axes


def plot_gabor_fit(image, fit: GaborFit, *, fig=None):
    """Data, fitted Gabor and residual side by side, on one colour scale.

    Parameters
    ----------
    image : array_like of shape (rows, cols)
        The map that was fitted.
    fit : GaborFit
        The result of :func:`analysis.gabor_fit.fit_gabor` on ``image``; a failed
        fit (NaN parameters) shows the data only, titled with the failure message.
    fig : matplotlib Figure or SubFigure, optional
        Figure to draw on (cleared); default a new pyplot figure.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The three Axes, titled "data", "fit" and "residual" (the title of the fit
        panel carries θ, sf, nx, ny and R²); ``axes[0].figure`` is the figure.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D or not finite.
    TypeError
        If ``fit`` is not a GaborFit.

    Examples
    --------
    >>> from analysis.gabor_fit import fit_gabor
    >>> y, x = np.mgrid[7:-8:-1, -7:8]
    >>> img = np.exp(-(x**2 + y**2) / 18) * np.cos(2 * np.pi * x / 6)
    >>> axes = plot_gabor_fit(img, fit_gabor(img))
    >>> [ax.get_title().split()[0] for ax in axes]
    ['data', 'fit', 'residual']
    >>> plt.close(axes[0].figure)
    """
    image = check_array("image", image, ndim=2, shape_doc="(rows, cols)", dtype=np.float64)
    if not isinstance(fit, GaborFit):
        raise TypeError(f"fit must be a GaborFit, got {type(fit).__name__}")
    fig = plt.figure(figsize=(7.5, 2.6)) if fig is None else fig
    fig.clear()
    axes = fig.subplots(1, 3)
    ppd = fit.pixels_per_degree
    extent = _extent(image.shape, ppd)
    lim = float(np.abs(image).max()) or 1.0
    ok = np.isfinite(fit.sf)
    model = fit.image(image.shape) if ok else np.zeros_like(image)
    for ax, data in zip(axes, (image, model, image - model), strict=True):
        ax.imshow(data, cmap=_DIVERGING, vmin=-lim, vmax=lim, extent=extent,
                  interpolation="nearest")
        ax.set_xlabel(f"x ({fit.units})")
    axes[0].set_ylabel(f"y ({fit.units})")
    axes[0].set_title("data", fontsize=9)
    if ok:
        axes[1].set_title(f"fit θ={fit.orientation:.1f}° sf={fit.sf:.3g} nx={fit.nx:.2f} "
                          f"ny={fit.ny:.2f} R²={fit.r2:.3f}", fontsize=7)
    else:
        axes[1].set_title(f"fit failed: {fit.message}", fontsize=7)
    rms = float(np.sqrt(np.mean((image - model) ** 2)))
    axes[2].set_title(f"residual (rms {rms:.3g})", fontsize=9)
    return axes


def plot_nx_ny(nx, ny, *, ax=None, label: str = "model", reference: bool = True,
               n_reference: int = 300, rng=0):
    """Ringach's (2002) nx–ny scatter: model units over the macaque cloud.

    Parameters
    ----------
    nx, ny : array_like of shape (n,)
        ``sigma_x · sf`` and ``sigma_y · sf`` per unit (e.g. columns of
        :func:`analysis.gabor_fit.fit_gabors`, successful fits only).  Must be finite.
    ax : matplotlib Axes, optional
    label : str
        Legend label of the model points.
    reference : bool
        Draw the macaque cloud: ``n_reference`` points from the bundled ``ringach_nx``
        and ``ringach_ny`` references (marginals of Ringach 2002's joint histogram,
        drawn independently, so the cloud is labelled approximate).
    n_reference : int
        Number of reference points.
    rng : None, int or numpy.random.Generator
        For the reference points (default 0, so the figure is reproducible).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``nx`` and ``ny`` differ in length or are not finite.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> ax = plot_nx_ny([0.3, 0.5], [0.4, 0.6], ax=ax)
    >>> ax.get_xlabel()
    'nx = σx · sf (cycles)'
    >>> plt.close(fig)
    """
    nx = check_array("nx", nx, ndim=1, shape_doc="(n,)", dtype=np.float64)
    ny = check_array("ny", ny, ndim=1, shape_doc="(n,)", dtype=np.float64)
    if nx.shape != ny.shape:
        raise ValueError(f"nx and ny must have the same length, got {nx.size} and {ny.size}")
    reference = check_bool("reference", reference)
    n_reference = check_count("n_reference", n_reference, maximum=10**6)
    gen = as_rng(rng)
    ax = plt.gca() if ax is None else ax
    if reference:
        rx, ry = reference_distribution("ringach_nx"), reference_distribution("ringach_ny")
        ax.scatter(rx.sample(n_reference, rng=gen), ry.sample(n_reference, rng=gen), s=8,
                   color="0.7", label=f"macaque (approx.; {rx.source.split(',')[0]})")
    ax.scatter(nx, ny, s=14, color="C3", label=f"{label} (n={nx.size})")
    top = max(1.5, float(np.max(np.r_[nx, ny])) * 1.05)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel("nx = σx · sf (cycles)")
    ax.set_ylabel("ny = σy · sf (cycles)")
    ax.legend(fontsize=7)
    return ax
