"""Figures of tuning curves and of tuning-property distributions.

Every function draws with matplotlib (any backend, Agg included), takes
``ax=None`` (``fig=None`` for the multi-panel grid; a new pyplot figure is made when
None) and returns the Axes it drew on (an array of them for the grid), never a
Figure: a notebook then shows each figure once.
Labels and titles are built from the data's own variable names and units.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter

from analysis import tuning
from analysis.recording import Recording
from analysis.reference import ReferenceDistribution, reference_distribution
from stimuli._shared.validation import (
    check_array,
    check_bool,
    check_count,
    check_int,
    check_strings,
)

UNITS = {
    "orientation": "deg",
    "direction": "deg",
    "phase": "deg",
    "sf": "c/deg",
    "tf": "Hz",
    "contrast": "",
    "radius": "deg",
    "inner_radius": "deg",
    "x": "deg",
    "y": "deg",
    "duration": "s",
}
ANGULAR_PERIOD = {"orientation": 180.0, "direction": 360.0}
FIT_NAMES = {"orientation": "von Mises fit", "direction": "double von Mises fit",
             "sf": "log-Gaussian fit"}


def _axis_label(name: str) -> str:
    unit = UNITS.get(name, "")
    return f"{name} ({unit})" if unit else name


#: Most panels per row of a tuning grid.
MAX_COLUMNS = 100
#: Most bins of a histogram.
MAX_BINS = 10_000

def _curves_from(
    data: Any, by: str, average: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str], dict]:
    """``values, mean (n_units, n), sem or None, averaged columns, meta`` of a recording/curve."""
    if isinstance(data, Recording):
        averaged = tuning._average_curves(data, by, average)
        return averaged.values, averaged.mean, averaged.sem, averaged.averaged, data.meta
    if tuple(check_strings("average", average)) != tuning.DEFAULT_AVERAGE and not isinstance(
            data, Recording):
        raise ValueError("average applies to a Recording; a (values, mean) curve is already "
                         "averaged")
    if not isinstance(data, tuple | list) or len(data) not in (2, 3):
        raise TypeError(
            "recording_or_curve must be a Recording or a tuple (values, mean) or "
            f"(values, mean, sem) such as tuning_curves() returns, got {type(data).__name__}"
        )
    values = check_array("recording_or_curve values", data[0], ndim=1, shape_doc="(n_values,)",
                         dtype=np.float64)
    mean = check_array("recording_or_curve mean", data[1], ndim=(1, 2),
                       shape_doc="(n_values,) or (n_units, n_values)", dtype=np.float64)
    mean = np.atleast_2d(mean)
    sem = None
    if len(data) == 3 and data[2] is not None:
        sem = np.atleast_2d(check_array("recording_or_curve sem", data[2], ndim=(1, 2),
                                        dtype=np.float64))
        if sem.shape != mean.shape:
            raise ValueError(f"recording_or_curve sem must have the shape of mean {mean.shape}, "
                             f"got {sem.shape}")
        if np.any(sem < 0):
            raise ValueError("recording_or_curve sem must be non-negative")
    if mean.shape[1] != len(values):
        raise ValueError(
            f"recording_or_curve: values has {len(values)} entries but mean has {mean.shape[1]} "
            "along its last axis"
        )
    return values, mean, sem, [], {}


def _check_unit(unit: Any, n_units: int, name: str = "unit") -> int:
    unit = check_int(name, unit, minimum=0)
    if unit >= n_units:
        raise IndexError(f"{name} {unit} is out of range for {n_units} unit(s)")
    return unit


def _fit_curve(by: str, values: np.ndarray, y: np.ndarray):
    """A fine-grid fitted curve ``(x, y)``, or None when no model applies or the fit fails."""
    if by == "orientation":
        fit = tuning.fit_von_mises(y, values)
        if not fit.ok:
            return None
        x = np.linspace(0.0, 180.0, 361)
        return x, tuning.von_mises(x, mu=fit.mu, kappa=fit.kappa, amplitude=fit.amplitude,
                                   baseline=fit.baseline)
    if by == "direction":
        fit = tuning.fit_double_von_mises(y, values)
        if not fit.ok:
            return None
        x = np.linspace(0.0, 360.0, 721)
        return x, tuning.double_von_mises(
            x, mu=fit.mu, kappa=fit.kappa, amplitude_pref=fit.amplitude_pref,
            amplitude_null=fit.amplitude_null, baseline=fit.baseline)
    if by == "sf":
        fit = tuning.fit_log_gaussian(y, values)
        if not fit.ok:
            return None
        x = np.geomspace(values.min(), values.max(), 200)
        return x, tuning.log_gaussian(x, peak_sf=fit.peak_sf, sigma_octaves=fit.sigma_octaves,
                                      amplitude=fit.amplitude, baseline=fit.baseline)
    raise ValueError(f"show_fit is available for orientation, direction and sf, not {by!r}")


def _peak_between_samples(fitted: np.ndarray, y: np.ndarray) -> bool:
    """True if a fit's peak rises above the highest sample by more than the samples' range.

    With coarse sampling a narrow bump placed between two samples fits them as well
    as any curve, whatever its height: such a peak is not measured, so it is not drawn.
    """
    top, spread = float(np.max(y)), float(np.ptp(y))
    return float(np.max(fitted)) > top + max(spread, 1e-12 * abs(top))


def _polar_points(by: str, x: np.ndarray, y: np.ndarray, e: np.ndarray | None):
    """Angles in radians around the full circle, closed; orientation curves are mirrored."""
    order = np.argsort(x)
    x, y = x[order], y[order]
    e = None if e is None else e[order]
    if by == "orientation":  # theta and theta + 180 deg are the same stimulus
        x, y = np.concatenate([x, x + 180.0]), np.concatenate([y, y])
        e = None if e is None else np.concatenate([e, e])
    x, y = np.append(x, x[0] + 360.0), np.append(y, y[0])
    e = None if e is None else np.append(e, e[0])
    return np.deg2rad(x), y, e


def _draw_curve(ax: Axes, by: str, values, y, e, *, polar: bool, show_fit: bool) -> list:
    """Draw the data (and fit) on ``ax``; return the legend handles in drawing order."""
    if polar:
        if np.any(y < 0):
            raise ValueError("a polar plot needs non-negative responses")
        x, yy, ee = _polar_points(by, values, y, e)
    else:
        order = np.argsort(values)
        x, yy, ee = values[order], y[order], None if e is None else e[order]
    if ee is None:
        handles = ax.plot(x, yy, "o-", color="C0", label="mean response")
    else:
        handles = [ax.errorbar(x, yy, yerr=ee, fmt="o-", color="C0", capsize=2,
                               label="mean ± s.e.m.")]
    if show_fit:
        fitted = _fit_curve(by, values, y)
        if fitted is None:
            ax.text(0.02, 0.98, f"{FIT_NAMES[by]} failed", transform=ax.transAxes,
                    va="top", fontsize="small", color="C3")
        elif _peak_between_samples(fitted[1], y):
            ax.text(0.02, 0.98, f"{FIT_NAMES[by]}: peak between samples (not drawn)",
                    transform=ax.transAxes, va="top", fontsize="small", color="C3")
        else:
            fx, fy = fitted
            if polar:
                fx, fy, _ = _polar_points(by, fx[:-1], fy[:-1], None)  # drop the duplicate end
            handles += ax.plot(fx, fy, "-", color="C1", label=FIT_NAMES[by])
    if not polar:
        if by == "sf":
            ax.set_xscale("log", base=2)
            # plain numbers ("0.5", "2") rather than powers of two: c/deg read directly,
            # and no mathtext layout (a third of a small figure's drawing time)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        if by in ANGULAR_PERIOD:
            ax.set_xlim(0.0, ANGULAR_PERIOD[by])
            ax.set_xticks(np.linspace(0.0, ANGULAR_PERIOD[by], 5))
    return handles


def _check_polar(by: str, polar: bool, show_fit: bool = False) -> None:
    if not isinstance(by, str):
        raise TypeError(f"by must be a condition name (str), got {by!r}")
    check_bool("polar", polar)
    check_bool("show_fit", show_fit)
    if polar and by not in ANGULAR_PERIOD:
        raise ValueError(f"polar plots need an angular variable (orientation or direction), "
                         f"got by={by!r}")


def _ylabel(sem: np.ndarray | None, averaged: list[str]) -> str:
    label = "mean response"
    if averaged:
        label += f" over {', '.join(averaged)}"
    if sem is not None:
        label += " ± s.e.m."
    return label


def plot_tuning_curve(
    recording_or_curve: Recording | tuple,
    unit: int = 0,
    *,
    by: str = "orientation",
    polar: bool = False,
    show_fit: bool = False,
    average: Sequence[str] = tuning.DEFAULT_AVERAGE,
    ax: Axes | None = None,
) -> Axes:
    """Plot one unit's tuning curve, with error bars when responses were averaged.

    Parameters
    ----------
    recording_or_curve : Recording or tuple
        A recording (averaged by :func:`analysis.tuning.tuning_curves`), or
        ``(values, mean)`` / ``(values, mean, sem)`` with ``mean`` of shape
        ``(n_values,)`` or ``(n_units, n_values)`` — e.g. what ``tuning_curves``
        returns.
    unit : int
        Row of ``mean`` (index into the recording's units).
    by : str
        The stimulus variable: ``"orientation"`` (deg), ``"direction"`` (deg),
        ``"sf"`` (c/deg, drawn on a log2 axis), or any condition column.
    polar : bool
        Draw on polar axes (orientation and direction only).  An orientation
        curve is drawn twice, at θ and θ + 180°, so the plot is symmetric.
    show_fit : bool
        Overlay the fitted model: von Mises (orientation), double von Mises
        (direction) or log-Gaussian (sf); a note replaces it if the fit fails.
    average : sequence of str
        Columns averaged over, for a recording; default ``("phase", "repeat")``.
    ax : matplotlib Axes, optional
        Where to draw (a polar Axes when ``polar``); a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``polar`` is asked for a non-angular variable, ``ax`` is not polar for
        a polar plot (or polar otherwise), responses are negative on a polar
        plot, or the curve's shapes disagree.
    IndexError
        If ``unit`` is out of range.

    Examples
    --------
    >>> theta = np.arange(0, 180, 30.0)
    >>> ax = plot_tuning_curve((theta, np.cos(np.deg2rad(theta)) ** 2))
    >>> ax.get_xlabel()
    'orientation (deg)'
    """
    _check_polar(by, polar, show_fit)
    values, mean, sem, averaged, meta = _curves_from(recording_or_curve, by, average)
    unit = _check_unit(unit, len(mean))
    if ax is None:
        _, ax = plt.subplots(subplot_kw={"projection": "polar"} if polar else None)
    elif (ax.name == "polar") != polar:
        raise ValueError(f"ax must be {'a polar' if polar else 'a rectilinear'} Axes for "
                         f"polar={polar}, got a {ax.name!r} Axes")
    e = None if sem is None else sem[unit]
    handles = _draw_curve(ax, by, values, mean[unit], e, polar=polar, show_fit=show_fit)
    if not polar:
        ax.set_xlabel(_axis_label(by))
        ax.set_ylabel(_ylabel(sem, averaged))
    layer = meta.get("layer")
    ax.set_title(f"unit {unit}" + (f" ({layer})" if layer else "") +
                 (f": {_axis_label(by)}" if polar else ""))
    if show_fit:
        ax.legend(handles=handles, fontsize="small")
    return ax


def plot_tuning_grid(
    recording: Recording,
    units: Sequence[int] | None = None,
    *,
    ncols: int = 4,
    by: str = "orientation",
    polar: bool = False,
    show_fit: bool = False,
    average: Sequence[str] = tuning.DEFAULT_AVERAGE,
    max_units: int = 64,
    fig: Figure | SubFigure | None = None,
) -> np.ndarray:
    """A grid of many units' tuning curves, one panel per unit.

    Like :func:`matplotlib.pyplot.subplots` (and ``pandas.DataFrame.hist``), it
    returns the array of Axes: the figure is drawn once in a notebook (by pyplot at
    the end of the cell), never a second time as a returned Figure's repr.

    Parameters
    ----------
    recording : Recording
    units : sequence of int, optional
        Units to draw, in order; default all units (at most ``max_units``).
    ncols : int
        Panels per row.
    by, polar, show_fit, average
        As in :func:`plot_tuning_curve`.
    max_units : int
        Refuse to draw more panels than this without an explicit ``units``.
    fig : matplotlib.figure.Figure or SubFigure, optional
        Draw into this (empty) figure or subfigure; default a new pyplot figure.
        Its title is set (``fig.suptitle``).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        Shape ``(ceil(n / ncols), ncols)``; panels beyond the last unit are hidden.
        ``axes.flat[0].figure`` is the figure.

    Raises
    ------
    ValueError
        If ``units`` is empty, ``units`` is None and the recording has more than
        ``max_units`` units, or as :func:`plot_tuning_curve`.
    IndexError
        If a unit is out of range.
    TypeError
        If ``fig`` is not a Figure or SubFigure.

    Examples
    --------
    >>> theta = np.arange(0, 180, 30.0)
    >>> rec = Recording({"orientation": theta}, np.random.default_rng(0).random((6, 5)))
    >>> axes = plot_tuning_grid(rec, ncols=3)
    >>> axes.shape, sum(ax.get_visible() for ax in axes.flat)
    ((2, 3), 5)
    >>> plt.close(axes.flat[0].figure)
    """
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be a Recording, got {type(recording).__name__}")
    if fig is not None and not isinstance(fig, (Figure, SubFigure)):
        raise TypeError(f"fig must be a matplotlib Figure or SubFigure, got {type(fig).__name__}")
    ncols = check_count("ncols", ncols, maximum=MAX_COLUMNS)
    max_units = check_int("max_units", max_units, minimum=1)
    _check_polar(by, polar, show_fit)
    values, mean, sem, averaged, meta = _curves_from(recording, by, average)
    if units is None:
        if len(mean) > max_units:
            raise ValueError(
                f"the recording has {len(mean)} units, more than max_units={max_units}; pass "
                "the units to draw (e.g. units=range(16)) or raise max_units"
            )
        units = range(len(mean))
    if isinstance(units, (str, bytes)) or not isinstance(units, Iterable):
        raise TypeError(f"units must be a sequence of unit indices, got {units!r}")
    units = [_check_unit(u, len(mean), f"units[{i}]") for i, u in enumerate(units)]
    if not units:
        raise ValueError("units must not be empty")
    nrows = -(-len(units) // ncols)
    subplot_kw = {"projection": "polar"} if polar else None
    if fig is None:
        fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.2 * nrows),
                                 squeeze=False, subplot_kw=subplot_kw, layout="constrained")
    else:
        axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw)
    for i, ax in enumerate(axes.flat):
        if i >= len(units):
            ax.set_visible(False)
            continue
        u = units[i]
        _draw_curve(ax, by, values, mean[u], None if sem is None else sem[u],
                    polar=polar, show_fit=show_fit)
        ax.set_title(f"unit {u}", fontsize="small")
        if not polar and i // ncols == nrows - 1:
            ax.set_xlabel(_axis_label(by))
        if not polar and i % ncols == 0:
            ax.set_ylabel("response")
    layer = meta.get("layer")
    where = f", layer {layer}" if layer else ""
    fig.suptitle(f"{by} tuning{where}: {_ylabel(sem, averaged)}")
    return axes


def _reference_hist(reference: Any, bins: Any, values: np.ndarray):
    """``(edges, reference counts, reference n or None, values, default label)``.

    ``reference`` is ``(edges, counts)``, a sample, a ReferenceDistribution or its name.
    """
    if isinstance(reference, str):
        reference = reference_distribution(reference)
    if isinstance(reference, ReferenceDistribution):
        label = ("macaque" + (" (approx.)" if reference.approximate else "") + ": "
                 + reference.source.split(",")[0])
        if reference.binned:
            if bins is not None:
                raise ValueError(f"pass bins or a histogram reference, not both: the "
                                 f"{reference.name!r} reference's bin edges are the bins")
            # Circular properties: model values mapped into the reference's bin range.
            return (reference.bin_edges, reference.counts, int(reference.counts.sum()),
                    reference.wrap(values), label)
        if "bin_edges" in reference.params and bins is None:
            # A summary reference with Brain-Score's bins ("marques2021"): its mass per bin.
            return (reference.score_bin_edges, reference.bin_probabilities(), None,
                    reference.wrap(values), label)
        # A continuous reference: its probability mass in each bin, from its CDF.
        spread = np.concatenate([values, reference.sample(2000, rng=0)])
        edges = np.histogram_bin_edges(spread, bins="auto" if bins is None else bins)
        mass = np.diff(reference.cdf(edges))
        return edges, mass, None, values, label
    if isinstance(reference, tuple):
        if len(reference) != 2:
            raise ValueError("reference as a tuple must be (bin_edges, counts)")
        if bins is not None:
            raise ValueError("pass bins or a reference (bin_edges, counts), not both: the "
                             "reference's edges are the bins")
        edges = check_array("reference bin_edges", reference[0], ndim=1, dtype=np.float64)
        counts = check_array("reference counts", reference[1], ndim=1, dtype=np.float64)
        if len(edges) != len(counts) + 1:
            raise ValueError(f"reference needs len(bin_edges) == len(counts) + 1, got "
                             f"{len(edges)} edges and {len(counts)} counts")
        if np.any(np.diff(edges) <= 0):
            raise ValueError("reference bin_edges must increase strictly")
        if np.any(counts < 0) or counts.sum() <= 0:
            raise ValueError("reference counts must be non-negative with a positive total")
        return edges, counts, int(round(counts.sum())), values, "reference"
    sample = check_array("reference", reference, ndim=1, shape_doc="(n,)", dtype=np.float64)
    edges = np.histogram_bin_edges(np.concatenate([values, sample]),
                                   bins="auto" if bins is None else bins)
    counts, _ = np.histogram(sample, edges)
    return edges, counts.astype(np.float64), len(sample), values, "reference"


def plot_property_histogram(
    values: Any,
    *,
    label: str,
    reference: Any = None,
    bins: Any = None,
    values_label: str = "model",
    reference_label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of a tuning property, as proportions, against a reference distribution.

    Both histograms are normalised to proportions of their own units, so a
    model population of any size compares with a paper's counts.  Model values
    outside the reference bins are not drawn; their number is given in the
    legend (never dropped silently) and proportions are of the values inside.

    Parameters
    ----------
    values : array_like of shape (n,)
        The property per unit, finite (filter out undefined rows first with the
        tuning table's flag columns, e.g. ``tab["responsive"]``).
    label : str
        The property's name and unit, for the x axis (e.g. ``"circular variance"``).
    reference : tuple, array_like, str or ReferenceDistribution, optional
        A published histogram ``(bin_edges, counts)``; a reference sample of shape
        ``(m,)``, binned with the model's bins; or a bundled macaque reference
        (:func:`analysis.reference.reference_distribution` or its name, e.g.
        ``"circular_variance"``): a histogram reference gives the bins (circular
        ones, such as preferred orientation, wrap the model values into their
        range), a continuous one its probability mass per bin from its CDF.
    bins : int, str or array_like, optional
        Bins for ``numpy.histogram_bin_edges`` (default ``"auto"``); not allowed
        with a histogram reference, whose edges are used.
    values_label : str
        Legend name of the model distribution.
    reference_label : str, optional
        Legend name of the reference; default ``"reference"``, or the source of a
        bundled reference (marked "approx." when it is from secondary sources).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Bars for ``values`` (a BarContainer) and a step outline for the reference.

    Raises
    ------
    ValueError
        If ``values`` is empty or not finite, the reference is malformed
        (edge/count lengths, decreasing edges, negative counts) or an unknown
        name, or a histogram reference comes with ``bins``.

    Examples
    --------
    >>> ax = plot_property_histogram([0.2, 0.5, 0.6], label="circular variance",
    ...                              reference=([0.0, 0.5, 1.0], [10, 30]))
    >>> [round(float(p.get_height()), 3) for p in ax.containers[0]]
    [0.333, 0.667]
    """
    vals = check_array("values", values, ndim=1, shape_doc="(n,)", dtype=np.float64)
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        bins = check_count("bins", bins, maximum=MAX_BINS)
    elif bins is not None:
        bins = check_array("bins", bins, ndim=1, shape_doc="(n_edges,)", dtype=np.float64)
        if len(bins) < 2 or np.any(np.diff(bins) <= 0):
            raise ValueError("bins must be a positive count or at least 2 increasing edges")
    if reference is None:
        edges = np.histogram_bin_edges(vals, bins="auto" if bins is None else bins)
        ref_counts = None
    else:
        edges, ref_counts, ref_n, vals, default_label = _reference_hist(reference, bins, vals)
        reference_label = default_label if reference_label is None else reference_label
    counts, _ = np.histogram(vals, edges)
    inside = int(counts.sum())
    outside = len(vals) - inside
    if ax is None:
        _, ax = plt.subplots()
    legend = f"{values_label} (n={len(vals)}"
    legend += f", {outside} outside the bins)" if outside else ")"
    proportions = counts / inside if inside else counts.astype(np.float64)
    handles = [ax.bar(edges[:-1], proportions, width=np.diff(edges), align="edge", alpha=0.6,
                      color="C0", edgecolor="white", label=legend)]
    if ref_counts is not None:
        size = "" if ref_n is None else f" (n={ref_n})"
        handles.append(ax.stairs(ref_counts / ref_counts.sum(), edges, color="k", linewidth=1.5,
                                 label=f"{reference_label}{size}"))
    ax.set_xlabel(label)
    ax.set_ylabel("proportion of units")
    ax.legend(handles=handles, fontsize="small")
    return ax
