"""Tuning figures, checked by what they contain (Agg backend; conftest closes figures)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer

from analysis.figures.tuning import (
    plot_property_histogram,
    plot_tuning_curve,
    plot_tuning_grid,
)
from analysis.recording import Recording
from analysis.tuning import log_gaussian, tuning_curves, von_mises

THETA = np.arange(0.0, 180.0, 15.0)


def orientation_recording(n_units=3, phases=(0.0, 90.0, 180.0, 270.0)):
    theta, phase = (m.ravel() for m in np.meshgrid(THETA, np.asarray(phases), indexing="ij"))
    mu = np.linspace(0.0, 180.0, n_units, endpoint=False)
    tuning = np.stack([von_mises(theta, mu=m, kappa=2.0, amplitude=1.0) for m in mu], axis=1)
    modulation = 1.0 + 0.5 * np.cos(np.deg2rad(phase))[:, None]
    return Recording({"orientation": theta, "phase": phase}, tuning * modulation,
                     meta={"layer": "simple"})


def errorbars(ax):
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def test_curve_from_a_recording_with_phases_has_error_bars_and_labels():
    ax = plot_tuning_curve(orientation_recording(), unit=1)
    assert len(errorbars(ax)) == 1
    assert len(errorbars(ax)[0].lines[0].get_xdata()) == len(THETA)
    assert ax.get_xlabel() == "orientation (deg)"
    assert "phase" in ax.get_ylabel() and "s.e.m." in ax.get_ylabel()
    assert ax.get_title() == "unit 1 (simple)"


def test_curve_without_averaging_has_no_error_bars():
    curve = von_mises(THETA, mu=30.0, kappa=2.0, amplitude=1.0)
    ax = plot_tuning_curve((THETA, curve))
    assert errorbars(ax) == []
    assert len(ax.get_lines()) == 1
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), curve)


def test_curve_from_tuning_curves_output_and_fit_overlay():
    values, mean, sem = tuning_curves(orientation_recording())
    ax = plot_tuning_curve((values, mean, sem), unit=2, show_fit=True)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["mean ± s.e.m.", "von Mises fit"]
    fit_line = [line for line in ax.get_lines() if line.get_label() == "von Mises fit"]
    assert len(fit_line) == 1


def test_a_fitted_peak_between_coarse_samples_is_not_drawn():
    # six orientations 30 deg apart; two neighbours strong, the rest weak: a von Mises
    # bump narrower than the step between them fits as well as any curve, at a height
    # (thousands) the samples do not measure
    theta = np.arange(0.0, 180.0, 30.0)
    ax = plot_tuning_curve((theta, np.array([80.0, 70.0, 2.0, 3.0, 2.0, 2.0])), show_fit=True)
    assert [line.get_label() for line in ax.get_lines()] == ["mean response"]
    assert [t.get_text() for t in ax.texts] == [
        "von Mises fit: peak between samples (not drawn)"]
    # a peak the samples bracket closely is drawn
    ax = plot_tuning_curve((theta, np.array([40.0, 100.0, 10.0, 2.0, 2.0, 2.0])),
                           show_fit=True)
    assert [line.get_label() for line in ax.get_lines()] == ["mean response", "von Mises fit"]
    assert not ax.texts


def test_polar_orientation_curve_is_mirrored_and_closed():
    curve = von_mises(THETA, mu=30.0, kappa=2.0, amplitude=1.0)
    ax = plot_tuning_curve((THETA, curve), polar=True)
    assert ax.name == "polar"
    (line,) = ax.get_lines()
    angles = line.get_xdata()
    assert len(angles) == 2 * len(THETA) + 1  # theta, theta + 180, back to the start
    assert angles[-1] == pytest.approx(angles[0] + 2 * np.pi)


def test_sf_curve_uses_a_log_axis():
    sf = 2.0 ** np.arange(-1.0, 4.0)
    ax = plot_tuning_curve((sf, log_gaussian(sf, peak_sf=2.0, sigma_octaves=1.0, amplitude=1.0)),
                           by="sf", show_fit=True)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "sf (c/deg)"
    assert len(ax.get_lines()) == 2


def test_grid_has_one_visible_panel_per_unit():
    axes = plot_tuning_grid(orientation_recording(n_units=5), ncols=3)
    assert axes.shape == (2, 3)
    fig = axes[0, 0].figure
    assert list(axes.flat) == fig.axes
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(visible) == 5
    assert [ax.get_title() for ax in visible] == [f"unit {u}" for u in range(5)]
    assert all(len(errorbars(ax)) == 1 for ax in visible)
    assert "simple" in fig._suptitle.get_text()


def test_polar_grid_of_chosen_units():
    fig = plot_tuning_grid(orientation_recording(n_units=4), units=[3, 0], ncols=2,
                           polar=True).flat[0].figure
    assert [ax.name for ax in fig.axes] == ["polar", "polar"]
    assert [ax.get_title() for ax in fig.axes] == ["unit 3", "unit 0"]


def test_grid_draws_into_a_given_figure_and_leaves_pyplot_alone():
    from matplotlib.figure import Figure

    fig = Figure()
    sub = fig.subfigures(1, 2)[1]
    before = plt.get_fignums()
    axes = plot_tuning_grid(orientation_recording(n_units=3), ncols=3, fig=sub)
    assert plt.get_fignums() == before              # no pyplot figure to show twice
    assert axes.shape == (1, 3) and all(ax.figure is sub for ax in axes.flat)
    assert "orientation tuning" in sub._suptitle.get_text()
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plot_tuning_grid(orientation_recording(n_units=3), fig=plt.gca())


def test_histogram_against_published_counts_in_proportions():
    edges = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    counts = np.array([5, 10, 20, 15])
    values = np.array([0.1, 0.3, 0.6, 0.7, 0.8, 1.5])  # one value beyond the reference bins
    ax = plot_property_histogram(values, label="circular variance", reference=(edges, counts))
    bars = ax.containers[0]
    assert len(bars) == len(counts)
    np.testing.assert_allclose([b.get_height() for b in bars], [0.2, 0.2, 0.4, 0.2])
    reference = [p for p in ax.patches if p not in bars.patches]
    assert len(reference) == 1
    np.testing.assert_allclose(reference[0].get_data().values, counts / counts.sum())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["model (n=6, 1 outside the bins)", "reference (n=50)"]
    assert ax.get_xlabel() == "circular variance"
    assert ax.get_ylabel() == "proportion of units"


def test_histogram_against_a_reference_sample_shares_bins():
    rng = np.random.default_rng(0)
    ax = plot_property_histogram(rng.random(40), label="OSI (two-point)",
                                 reference=rng.random(100), bins=5)
    assert len(ax.containers[0]) == 5
    heights = [b.get_height() for b in ax.containers[0]]
    assert sum(heights) == pytest.approx(1.0)


def test_histogram_against_a_bundled_circular_reference_wraps_model_values():
    # preferred_orientation bins are centred on 0/45/90/135 deg: [-22.5, 157.5).
    ax = plot_property_histogram([170.0, 10.0, 44.0, 100.0], label="preferred orientation (deg)",
                                 reference="preferred_orientation")
    np.testing.assert_allclose([b.get_height() for b in ax.containers[0]],
                               [0.5, 0.25, 0.25, 0.0])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "model (n=4)" and legend[1].startswith("macaque (approx.): De Valois")


def test_histogram_against_a_continuous_reference_uses_its_cdf():
    rng = np.random.default_rng(0)
    ax = plot_property_histogram(rng.random(50), label="circular variance",
                                 reference="circular_variance", bins=np.linspace(0, 1, 6))
    reference = [p for p in ax.patches if p not in ax.containers[0].patches]
    assert len(reference) == 1
    assert reference[0].get_data().values.sum() == pytest.approx(1.0)


def test_figures_draw_on_a_given_axes():
    fig, ax = plt.subplots()
    assert plot_tuning_curve((THETA, np.ones(12)), ax=ax) is ax
    assert plot_property_histogram([1.0, 2.0], label="x", ax=ax) is ax
    assert len(fig.axes) == 1


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: plot_tuning_curve((THETA, np.ones(12)), polar=True,
                                   ax=plt.subplots()[1]), ValueError, "polar"),
        (lambda: plot_tuning_curve((THETA, np.ones(12)), by="sf", polar=True), ValueError,
         "angular"),
        (lambda: plot_tuning_curve((THETA, np.ones(12)), unit=1), IndexError, "out of range"),
        (lambda: plot_tuning_curve((THETA, np.ones(11))), ValueError, "12 entries"),
        (lambda: plot_tuning_curve(np.ones(12)), TypeError, "Recording or a tuple"),
        (lambda: plot_tuning_grid(orientation_recording(n_units=5), max_units=4), ValueError,
         "max_units"),
        (lambda: plot_property_histogram([0.1, np.nan], label="x"), ValueError, "finite"),
        (lambda: plot_property_histogram([0.1], label="x", reference=([0, 1], [1, 2])),
         ValueError, "len\\(bin_edges\\) == len\\(counts\\) \\+ 1"),
        (lambda: plot_property_histogram([0.1], label="x", reference=([0, 1], [1]), bins=3),
         ValueError, "not both"),
        (lambda: plot_property_histogram([0.1], label="x", reference="no_such_property"),
         ValueError, "unknown reference"),
    ],
    ids=["non-polar-axes", "polar-sf", "unit-range", "length-mismatch", "not-a-curve",
         "too-many-units", "nan-values", "edges-counts", "bins-and-edges", "unknown-reference"],
)
def test_bad_figure_input_raises(call, error, match):
    with pytest.raises(error, match=match):
        call()
