"""Multi-panel figures of a model comparison (the ``v1model compare`` report's figures).

Each function takes plain data (arrays, labels, numbers), so it can run in another
process, and returns a :class:`matplotlib.figure.Figure` composed of the single-axes
plots of :mod:`analysis.figures.tuning`, :mod:`analysis.figures.receptive_fields`
and :mod:`analysis.figures.representations`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.receptive_fields import plot_gabor_fit, plot_nx_ny, plot_rf_mosaic
from analysis.figures.representations import plot_cka_matrix, plot_invariance
from analysis.figures.tuning import plot_property_histogram, plot_tuning_curve
from analysis.gabor_fit import fit_gabor
from analysis.reference import reference_distribution

__all__ = ["cka_figure", "gabor_fit_figure", "histogram_panels", "invariance_panels",
           "nx_ny_panels", "rf_mosaic_figure", "tuning_panels"]


def _panels(n: int, *, ncols: int = 4, size: tuple[float, float] = (3.2, 2.6)):

    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows),
                             squeeze=False)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _margins(fig, *, left: float = 0.65, right: float = 0.15, bottom: float = 0.55,
             top: float = 0.45, wspace: float = 0.45, hspace: float = 0.75) -> None:
    """Subplot margins in inches (and spacing as fractions of a panel)."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=wspace, hspace=hspace)


def _room_for_suptitle(fig, fontsize: float) -> None:
    """Lower the panels' top so every line of the suptitle clears their titles.

    The suptitle sits at the figure's top (``y=0.98``, top-aligned); its height is its
    line count × the line spacing, and the panels' own titles need ≈ 0.3 in above
    them.
    """
    lines = fig.get_suptitle().count("\n") + 1
    height = fig.get_size_inches()[1]
    need = 0.02 * height + lines * fontsize * 1.25 / 72 + 0.35
    fig.subplots_adjust(top=max(0.3, 1 - need / height))


def _small_legend(ax) -> None:
    legend = ax.get_legend()
    if legend is not None:
        for text in legend.get_texts():
            text.set_fontsize(6)
        legend.get_frame().set_alpha(0.6)


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=8,
            wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def tuning_panels(label: str, units: list[int], rows: list[tuple]):
    """A grid of tuning curves: one row per tuning variable, one column per unit.

    Parameters
    ----------
    label : str
        What the units are (e.g. ``"V1 model · simple"``), used in the title.
    units : list of int
        Unit numbers, one column each.
    rows : list of tuple
        ``(by, values (n,), mean (len(units), n), sem (len(units), n) or None)`` per
        tuning variable (``by`` as in :func:`analysis.tuning_curves`; orientation in
        degrees, sf in c/deg, radius in degrees, direction in degrees).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> x = np.arange(0.0, 180.0, 30.0)
    >>> fig = tuning_panels("toy", [0], [("orientation", x, np.cos(np.radians(x))[None] ** 2,
    ...                                   None)])
    >>> len(fig.axes)
    1
    """
    fig, axes = plt.subplots(len(rows), len(units), figsize=(2.8 * len(units), 2.3 * len(rows)),
                             squeeze=False)
    for i, (by, values, mean, sem) in enumerate(rows):
        for j, unit in enumerate(units):
            ax = axes[i, j]
            data = (values, mean) if sem is None else (values, mean, sem)
            plot_tuning_curve(data, j, by=by, show_fit=by in ("orientation", "sf"), ax=ax)
            # y given: no search for tick labels above the axes (there are none)
            ax.set_title(f"unit {unit} · {by}", fontsize=8, y=1.0)
            ax.tick_params(labelsize=7)
            ax.xaxis.label.set_size(8)
            ax.yaxis.label.set_size(7)
            if ax.get_legend() is not None:
                ax.get_legend().remove()
    fig.suptitle(f"{label}: tuning curves\n(orientation and sf: static gratings; radius: "
                 f"each unit's best orientation and sf;\ndirection: drifting gratings)",
                 fontsize=8)
    _margins(fig, hspace=0.85)
    _room_for_suptitle(fig, 8)
    return fig


def histogram_panels(reference: str, label: str, panels: list[tuple], *,
                     collection: str = "macaque_v1", score_name: str = "1 − KS"):
    """One property histogram per layer against the macaque reference distribution.

    Parameters
    ----------
    reference : str
        Reference property name (:func:`analysis.reference_distribution`).
    label : str
        The property with its unit, for the x axis.
    panels : list of tuple
        ``(layer label, values or None, score or None)``: None values draw "not
        measured", empty ones "no unit has a defined value".
    collection : str
        Reference collection (``"macaque_v1"``, or ``"marques2021"``: the published
        histograms, drawn in their own bins).  An approximate reference is marked
        "approx." in the figure's legend.
    score_name : str
        How the panel titles name the score (e.g. ``"ceiled"``).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per layer, titled with the layer, its number of units (and any
        outside the reference's bins) and its score; one legend for the figure.

    Examples
    --------
    >>> fig = histogram_panels("circular_variance", "circular variance",
    ...                        [("toy", np.linspace(0.1, 0.9, 20), 0.8), ("none", None, None)])
    >>> len(fig.axes)
    2
    >>> fig = histogram_panels("peak_sf", "peak sf (c/deg)", [("toy", [1.0, 2.0, 4.0], 0.7)],
    ...                        collection="marques2021", score_name="ceiled")
    >>> fig.axes[0].get_title()
    'toy: ceiled = 0.70\\nn=3'
    """
    ref = reference_distribution(reference, collection=collection)
    fig, axes = _panels(len(panels))
    shared = None
    for ax, (name, values, score) in zip(axes, panels, strict=True):
        if values is None:
            _empty(ax, f"{name}\nnot measured")
        elif len(values) == 0:
            _empty(ax, f"{name}\nno unit has a defined value")
        else:
            plot_property_histogram(values, label=label, reference=ref, ax=ax,
                                    values_label=name)
            if reference == "modulation_ratio":
                ax.axvline(1.0, color="0.5", linestyle=":", linewidth=1)
            # every panel's legend would say the same but for the layer's n: the n (and
            # any values outside the bins) go into the title, one legend serves the figure
            legend = ax.get_legend()
            counted, reference_label = (t.get_text() for t in legend.get_texts())
            shared = shared or (legend.legend_handles, reference_label)
            legend.remove()
            ax.locator_params(nbins=4)
            # y given: matplotlib then skips its search for tick labels above the axes
            # (a third of the drawing time), which proportions never have
            units = counted[len(name):].strip().strip("()")
            head = name if score is None else f"{name}: {score_name} = {score:.2f}"
            ax.set_title(f"{head}\n{units}", fontsize=8, y=1.0)
    if shared is None:
        _margins(fig, top=0.3)
        return fig
    handles, reference_label = shared
    fig.legend(handles, ["model units (the panel's layer)", reference_label],
               loc="upper center", ncol=2, fontsize=7, frameon=False)
    _margins(fig, top=0.7, hspace=0.95)
    return fig


def rf_mosaic_figure(title: str, maps: np.ndarray, units: list[int], info: dict | None,
                 pixels_per_degree: float):
    """A mosaic of receptive-field maps with a title (:func:`plot_rf_mosaic`).

    Parameters
    ----------
    title : str
    maps : ndarray of shape (n, rows, cols)
        Signed maps of the chosen units.
    units : list of int
        Their unit numbers.
    info : dict or None
        Unit metadata for the panel titles.
    pixels_per_degree : float
        Of the maps.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = rf_mosaic_figure("toy", np.ones((2, 5, 5)), [0, 1], None, 4.0)
    >>> fig.get_suptitle()
    'toy'
    """

    fig = plot_rf_mosaic(maps, unit_info=info, pixels_per_degree=pixels_per_degree,
                         ncols=min(len(units), 6), units=units).flat[0].figure
    fig.suptitle(title, fontsize=9)
    _room_for_suptitle(fig, 9)
    return fig


def gabor_fit_figure(image: np.ndarray, pixels_per_degree: float, unit: int):
    """A map, its 2-D Gabor fit and the residual (:func:`plot_gabor_fit`).

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        The map.
    pixels_per_degree : float
        Of the map.
    unit : int
        Its unit number, for the title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> y, x = np.mgrid[-7:8, -7:8] / 16.0
    >>> image = np.exp(-(x**2 + y**2) / 0.05) * np.cos(2 * np.pi * 4.0 * x)
    >>> fig = gabor_fit_figure(image, 16.0, 3)
    >>> fig.get_suptitle()
    'unit 3'
    """

    fig = plot_gabor_fit(image, fit_gabor(image, pixels_per_degree))[0].figure
    fig.suptitle(f"unit {unit}", fontsize=9)
    return fig


def nx_ny_panels(panels: list[tuple]):
    """Ringach's (nx, ny) scatter per layer, over the macaque data.

    Parameters
    ----------
    panels : list of tuple
        ``(layer label, nx, ny, source of the fits)``; nx, ny in cycles.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = nx_ny_panels([("toy", np.array([0.2, 0.4]), np.array([0.3, 0.5]), "measured")])
    >>> fig.axes[0].get_title()
    'toy (measured)'
    """

    fig, axes = _panels(len(panels), ncols=4, size=(3.6, 3.6))
    for ax, (name, nx, ny, source) in zip(axes, panels, strict=True):
        if len(nx):
            plot_nx_ny(nx, ny, ax=ax, label=name)
            _small_legend(ax)
        else:
            _empty(ax, f"{name}\nno successful Gabor fit")
        ax.set_title(f"{name} ({source})", fontsize=8)
    _margins(fig, top=0.3)
    return fig


def invariance_panels(shifts: np.ndarray, panels: list[tuple]):
    """Translation-tolerance curves, one panel per model.

    Parameters
    ----------
    shifts : ndarray of shape (n_shifts,)
        Translations in degrees.
    panels : list of tuple
        ``(model title, {layer: correlations (n_images, n_shifts)})``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = invariance_panels(np.array([0.0, 0.5]), [("toy", {"a": np.ones((3, 2))})])
    >>> fig.axes[0].get_title()
    'toy'
    """

    fig, axes = _panels(len(panels), ncols=4, size=(3.6, 3.0))
    for ax, (title, curves) in zip(axes, panels, strict=True):
        plot_invariance(shifts, curves, transform="translation", units="deg", ax=ax)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-0.2, 1.05)
    _margins(fig, top=0.3)
    return fig


def cka_figure(matrix: np.ndarray, labels: list[str], title: str):
    """A CKA matrix between layers, sized to its labels (:func:`plot_cka_matrix`).

    Parameters
    ----------
    matrix : ndarray of shape (n, n)
        Values in [0, 1].
    labels : list of str
        One per row and column.
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the labels do not match the matrix.

    Examples
    --------
    >>> fig = cka_figure(np.eye(2), ["a", "b"], "toy")
    >>> fig.axes[0].get_title()
    'toy'
    """
    n = len(labels)
    fig, ax = plt.subplots(figsize=(3.2 + 0.6 * n, 2.6 + 0.55 * n))
    plot_cka_matrix(matrix, labels, ax=ax, title=title)
    _margins(fig, left=2.0, bottom=1.8, top=0.35, right=0.3)
    return fig
