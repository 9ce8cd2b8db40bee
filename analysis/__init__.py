"""Running protocols through models and measuring the responses."""

from analysis.recording import Recording
from analysis.runner import run_protocol
from analysis.tuning import (
    circular_variance,
    dsi,
    fit_double_von_mises,
    fit_log_gaussian,
    fit_von_mises,
    global_dsi,
    global_osi,
    orientation_bandwidth,
    orientation_tuning,
    osi,
    preferred_direction,
    preferred_orientation,
    preferred_orientation_argmax,
    sf_bandwidth,
    sf_tuning,
    tuning_curves,
)
from analysis.tuning_figures import plot_property_histogram, plot_tuning_curve, plot_tuning_grid

__all__ = [
    "Recording",
    "circular_variance",
    "dsi",
    "fit_double_von_mises",
    "fit_log_gaussian",
    "fit_von_mises",
    "global_dsi",
    "global_osi",
    "orientation_bandwidth",
    "orientation_tuning",
    "osi",
    "plot_property_histogram",
    "plot_tuning_curve",
    "plot_tuning_grid",
    "preferred_direction",
    "preferred_orientation",
    "preferred_orientation_argmax",
    "run_protocol",
    "sf_bandwidth",
    "sf_tuning",
    "tuning_curves",
]
