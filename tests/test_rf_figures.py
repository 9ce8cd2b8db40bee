"""Figures are tested by what they contain (Agg backend; figures closed by conftest)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection

from analysis.figures.receptive_fields import plot_gabor_fit, plot_nx_ny, plot_rf_mosaic
from analysis.figures.representations import plot_cka_matrix, plot_invariance
from analysis.gabor_fit import fit_gabor
from analysis.receptive_fields import ReceptiveFields
from analysis.representations import cka_matrix
from stimuli.display import Display
from stimuli.table import Table


def gabor(theta=30.0, size=15):
    y, x = np.mgrid[(size - 1) / 2:-(size + 1) / 2:-1, -(size - 1) / 2:(size + 1) / 2]
    xp = x * np.cos(np.deg2rad(theta)) + y * np.sin(np.deg2rad(theta))
    return np.exp(-(x**2 + y**2) / 18) * np.cos(2 * np.pi * xp / 6)


def test_mosaic_from_receptive_fields_titles_and_degrees():
    maps = np.stack([gabor(t) for t in (0.0, 45.0, 90.0, 135.0, 10.0)]).astype(np.float32)
    info = {"orientation": np.array([0.0, 45.0, 90.0, 135.0, 10.0]), "sf": np.full(5, 2.0)}
    rf = ReceptiveFields(maps=maps, unit_info=info, display=Display((15, 15), 8), n_images=10,
                         method="white_noise", responsive=np.ones(5, bool),
                         split_half_r=np.ones(5), convergence=Table({}))
    axes = plot_rf_mosaic(rf, ncols=3)
    assert axes.shape == (2, 3)
    fig = axes[0, 0].figure
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 5 and len(fig.axes) == 6
    assert visible[1].get_title() == "unit 1 θ=45° sf=2"
    im = visible[0].get_images()[0]
    assert im.get_extent() == pytest.approx([-15 / 16, 15 / 16, -15 / 16, 15 / 16])
    assert im.get_clim() == pytest.approx((-np.abs(maps[0]).max(), np.abs(maps[0]).max()))
    assert "deg" in fig.get_supxlabel()


def test_gabor_fit_overlay_panels():
    img = gabor(60.0) + np.random.default_rng(0).normal(0, 0.02, (15, 15))
    fit = fit_gabor(img, pixels_per_degree=10)
    axes = plot_gabor_fit(img, fit)
    fig = axes[0].figure
    assert list(axes) == fig.axes
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "data" and titles[2].startswith("residual")
    assert f"θ={fit.orientation:.1f}°" in titles[1] and f"R²={fit.r2:.3f}" in titles[1]
    residual = fig.axes[2].get_images()[0].get_array()
    np.testing.assert_allclose(residual, img - fit.image(img.shape), atol=1e-12)
    assert fig.axes[0].get_xlabel() == "x (deg)"


def test_gabor_fit_overlay_of_failed_fit():
    flat = np.zeros((8, 8))
    axes = plot_gabor_fit(flat, fit_gabor(flat))
    assert "fit failed: image is flat" in axes[1].get_title()


def test_rf_figures_draw_into_a_given_subfigure_without_pyplot():
    from matplotlib.figure import Figure

    left, right = Figure().subfigures(1, 2)
    before = plt.get_fignums()
    mosaic = plot_rf_mosaic(np.stack([gabor(0.0), gabor(90.0)]), fig=left)
    overlay = plot_gabor_fit(gabor(30.0), fit_gabor(gabor(30.0)), fig=right)
    assert plt.get_fignums() == before
    assert all(ax.figure is left for ax in mosaic.flat)
    assert all(ax.figure is right for ax in overlay)


def test_nx_ny_scatter_with_reference_cloud():
    fig, ax = plt.subplots()
    plot_nx_ny([0.2, 0.4, 0.9], [0.3, 0.5, 1.0], ax=ax, label="V1 model", n_reference=50)
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in collections] == [50, 3]
    labels = ax.get_legend_handles_labels()[1]
    assert labels[1] == "V1 model (n=3)" and labels[0].startswith("macaque (approx.; Ringach")
    assert ax.get_ylabel() == "ny = σy · sf (cycles)"
    ax2 = plot_nx_ny([0.2], [0.3], ax=plt.subplots()[1], reference=False)
    assert len(ax2.collections) == 1


@pytest.mark.parametrize("prop", ["peak_sf", "preferred_orientation", "surround_suppression_index"])
def test_property_histogram_against_reference(prop):
    from analysis.reference import reference_distribution

    values = reference_distribution(prop).sample(200, rng=0)
    fig, ax = plt.subplots()
    # the one property histogram lives in tuning_figures; it takes reference names
    from analysis.figures.tuning import plot_property_histogram

    plot_property_histogram(values, label=prop, reference=prop, values_label="CNN", ax=ax)
    labels = ax.get_legend_handles_labels()[1]
    assert any(label.startswith("CNN (n=200)") for label in labels)
    assert any(label.startswith("macaque") for label in labels)
    assert ax.get_xlabel().startswith(prop)


def test_invariance_curves_one_line_per_layer():
    shifts = np.array([0.0, 0.25, 0.5, 1.0])
    curves = {"simple": [1.0, 0.3, -0.1, 0.0],
              "complex": np.random.default_rng(0).uniform(0.5, 1, size=(10, 4))}
    fig, ax = plt.subplots()
    plot_invariance(shifts, curves, transform="translation", units="deg", ax=ax)
    assert ax.get_legend_handles_labels()[1] == ["simple", "complex"]
    assert ax.get_xlabel() == "translation (deg)"
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), curves["complex"].mean(axis=0))
    assert len(ax.collections) == 1                          # the s.e.m. band of "complex"


def test_cka_heatmap_from_cka_matrix():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 6))
    layers = {"simple": X, "complex": X**2, "noise": rng.normal(size=(30, 4))}
    m = cka_matrix(layers)
    fig, ax = plt.subplots()
    plot_cka_matrix(m, list(layers), ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(layers)
    assert len(ax.texts) == 9 and ax.texts[0].get_text() == "1.00"
    assert ax.get_images()[0].get_clim() == (0.0, 1.0)
    assert ax.get_title() == "linear CKA"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: plot_rf_mosaic(np.full((2, 4, 4), np.nan)), "maps must be finite"),
        (lambda: plot_rf_mosaic(np.zeros((4, 4))), r"maps must have shape \(n, rows, cols\)"),
        (lambda: plot_nx_ny([0.1, 0.2], [0.1]), "same length"),
        (lambda: plot_invariance([0, 1], {"a": [1, 0, 0]}), "has 3 values per curve"),
        (lambda: plot_cka_matrix(np.eye(2), ["a"]), "must match the matrix shape"),
        (lambda: plot_gabor_fit(np.zeros((4, 4)), None), "fit must be a GaborFit"),
    ],
    ids=["nan-maps", "2d-maps", "nx-ny-length", "curve-length", "labels", "no-fit"],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
