"""Figures for representational comparisons: tolerance curves and CKA matrices.

Every function takes ``ax=None``, draws on it, and returns the Axes.  Titles and
axis labels are built from the arguments, never typed beside them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from stimuli._shared.validation import check_array, check_bool, check_strings

__all__ = ["plot_cka_matrix", "plot_invariance"]

_DIVERGING = "RdBu_r"


def plot_invariance(amounts, correlations: Mapping[str, object], *, transform: str = "shift",
                    units: str = "deg", ax=None):
    """Invariance curves: response correlation against the amount of a transform, per layer.

    Parameters
    ----------
    amounts : array_like of shape (k,)
        Transform amounts (e.g. shifts in degrees, rotations in degrees, scale factors).
    correlations : mapping of str to array_like of shape (k,) or (n_units, k)
        Per layer, the correlation between responses to the original and transformed
        stimuli; with units, the mean is drawn with a ±1 s.e.m. band.
    transform : str
        Name of the transform, for the x label.
    units : str
        Units of ``amounts``, for the x label ("" for none).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One line per layer, labelled with the layer name.

    Raises
    ------
    ValueError
        If a curve's length differs from ``amounts`` or values are not finite.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> ax = plot_invariance([0, 1, 2], {"simple": [1, 0.2, 0.0], "complex": [1, 0.8, 0.5]},
    ...                      ax=ax)
    >>> ax.get_legend_handles_labels()[1]
    ['simple', 'complex']
    >>> plt.close(fig)
    """
    amounts = check_array("amounts", amounts, ndim=1, shape_doc="(k,)", dtype=np.float64)
    if not isinstance(correlations, Mapping) or not correlations:
        raise ValueError("correlations must be a non-empty mapping of layer name to curves")
    ax = plt.gca() if ax is None else ax
    for name, curve in correlations.items():
        c = check_array(f"correlations[{name!r}]", curve, ndim=(1, 2), dtype=np.float64)
        if c.shape[-1] != amounts.size:
            raise ValueError(f"correlations[{name!r}] has {c.shape[-1]} values per curve but "
                             f"amounts has {amounts.size}")
        if c.ndim == 2:
            mean = c.mean(axis=0)
            sem = c.std(axis=0, ddof=1) / np.sqrt(c.shape[0]) if c.shape[0] > 1 else 0 * mean
            (line,) = ax.plot(amounts, mean, marker="o", label=name)
            ax.fill_between(amounts, mean - sem, mean + sem, color=line.get_color(), alpha=0.2)
        else:
            ax.plot(amounts, c, marker="o", label=name)
    ax.set_xlabel(f"{transform} ({units})" if units else transform)
    ax.set_ylabel("response correlation with original")
    ax.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    ax.legend(fontsize=8)
    return ax


def plot_cka_matrix(matrix, row_labels: Sequence[str], col_labels: Sequence[str] | None = None,
                    *, ax=None, annotate: bool = True, title: str | None = None):
    """Heatmap of a CKA (or any similarity) matrix between layers.

    Parameters
    ----------
    matrix : array_like of shape (r, c)
        E.g. :func:`analysis.representations.cka_matrix`; values in [0, 1] are drawn on a fixed
        0–1 colour scale.
    row_labels : sequence of str
        ``r`` labels (layer names).
    col_labels : sequence of str, optional
        ``c`` labels; default ``row_labels``.
    ax : matplotlib Axes, optional
    annotate : bool
        Write each value in its cell.
    title : str, optional
        Axes title; default "linear CKA".

    Returns
    -------
    matplotlib.axes.Axes
        With one image and a colour bar.

    Raises
    ------
    ValueError
        If the matrix is not 2-D or finite, or the labels do not match its shape.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> ax = plot_cka_matrix([[1.0, 0.4], [0.4, 1.0]], ["simple", "complex"], ax=ax)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['simple', 'complex']
    >>> plt.close(fig)
    """
    m = check_array("matrix", matrix, ndim=2, shape_doc="(r, c)", dtype=np.float64)
    annotate = check_bool("annotate", annotate)
    rows = list(check_strings("row_labels", row_labels))
    cols = rows if col_labels is None else list(check_strings("col_labels", col_labels))
    if len(rows) != m.shape[0] or len(cols) != m.shape[1]:
        raise ValueError(f"row_labels and col_labels ({len(rows)} rows, {len(cols)} columns) "
                         f"must match the matrix shape {m.shape}")
    ax = plt.gca() if ax is None else ax
    image = ax.imshow(m, vmin=0.0, vmax=1.0, cmap="viridis")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    if annotate:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] < 0.5 else "black")
    ax.set_title("linear CKA" if title is None else title)
    return ax
