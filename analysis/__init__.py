"""Running protocols through models and measuring the responses.

The names below are imported on first use (PEP 562): importing one analysis
module does not import every other one (the claims, NWB, decoding and figure
modules and their dependencies).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the submodule that defines it.
_LAZY = {
    "CLAIMS": "analysis.claims",
    "Aggregate": "analysis.claims",
    "Check": "analysis.claims",
    "ClaimResult": "analysis.claims",
    "VERDICTS": "analysis.claims",
    "aggregate_verdicts": "analysis.claims",
    "claim_fc_layers": "analysis.claims",
    "claim_first_layer": "analysis.claims",
    "claim_hierarchy": "analysis.claims",
    "claim_hubel_wiesel": "analysis.claims",
    "claim_pooling": "analysis.claims",
    "claim_rotation": "analysis.claims",
    "claim_weight_sharing": "analysis.claims",
    "verdict_alternatives": "analysis.claims",
    "verdict_from_checks": "analysis.claims",
    "Evaluation": "analysis.decoding",
    "LinearClassifier": "analysis.decoding",
    "decode": "analysis.decoding",
    "evaluate": "analysis.decoding",
    "fit_linear_classifier": "analysis.decoding",
    "tolerance_correlations": "analysis.invariance",
    "tolerance_curve": "analysis.invariance",
    "transform_images": "analysis.invariance",
    "wilson_interval": "analysis.decoding",
    "FiringRateMap": "analysis.properties",
    "GaborFit": "analysis.gabor_fit",
    "NakaRushtonFit": "analysis.response_functions",
    "PropertyValues": "analysis.properties",
    "ReceptiveFields": "analysis.receptive_fields",
    "Recording": "analysis.recording",
    "ReferenceDistribution": "analysis.reference",
    "STCResult": "analysis.receptive_fields",
    "SweepError": "analysis.sweeps",
    "SimilarityScore": "analysis.reference",
    "cell_key": "analysis.sweeps",
    "cka": "analysis.representations",
    "cka_matrix": "analysis.representations",
    "compute_property": "analysis.properties",
    "contrast_response": "analysis.response_functions",
    "fano_factor": "analysis.modulation",
    "fit_gabor": "analysis.gabor_fit",
    "fit_gabors": "analysis.gabor_fit",
    "fit_firing_rate_map": "analysis.properties",
    "fit_naka_rushton": "analysis.response_functions",
    "grating_rf_mapping": "analysis.receptive_fields",
    "lifetime_sparseness": "analysis.modulation",
    "list_properties": "analysis.properties",
    "list_references": "analysis.reference",
    "load_sweep": "analysis.sweeps",
    "marques_properties": "analysis.properties",
    "modulation_ratio": "analysis.modulation",
    "naka_rushton": "analysis.response_functions",
    "plot_cka_matrix": "analysis.figures.representations",
    "plot_gabor_fit": "analysis.figures.receptive_fields",
    "plot_invariance": "analysis.figures.representations",
    "plot_nx_ny": "analysis.figures.receptive_fields",
    "plot_rf_mosaic": "analysis.figures.receptive_fields",
    "psth": "analysis.modulation",
    "rdm": "analysis.representations",
    "read_nwb": "analysis.nwb",
    "read_nwb_spike_trains": "analysis.nwb",
    "reference_distribution": "analysis.reference",
    "reverse_correlation": "analysis.receptive_fields",
    "rsa": "analysis.representations",
    "score_properties": "analysis.properties",
    "similarity_score": "analysis.reference",
    "size_tuning": "analysis.response_functions",
    "sparse_noise_maps": "analysis.receptive_fields",
    "spike_triggered_covariance": "analysis.receptive_fields",
    "sweep": "analysis.sweeps",
    "circular_variance": "analysis.tuning",
    "dsi": "analysis.tuning",
    "fit_double_von_mises": "analysis.tuning",
    "fit_log_gaussian": "analysis.tuning",
    "fit_von_mises": "analysis.tuning",
    "global_dsi": "analysis.tuning",
    "global_osi": "analysis.tuning",
    "orientation_bandwidth": "analysis.tuning",
    "orientation_tuning": "analysis.tuning",
    "orientation_summary": "analysis.sweeps",
    "osi": "analysis.tuning",
    "plot_property_histogram": "analysis.figures.tuning",
    "plot_tuning_curve": "analysis.figures.tuning",
    "plot_tuning_grid": "analysis.figures.tuning",
    "preferred_direction": "analysis.tuning",
    "preferred_orientation": "analysis.tuning",
    "preferred_orientation_argmax": "analysis.tuning",
    "GridMaps": "analysis.rf_grid",
    "grid_on_off_maps": "analysis.rf_grid",
    "run_protocol": "analysis.runner",
    "run_protocol_layers": "analysis.runner",
    "sf_bandwidth": "analysis.tuning",
    "sf_tuning": "analysis.tuning",
    "curve_levels": "analysis.tuning",
    "tuning_curves": "analysis.tuning",
    "write_nwb": "analysis.nwb",
    "FitResult": "analysis.population_fit",
    "fit_population": "analysis.population_fit",
    "layer_properties": "analysis.population_fit",
    "population_score": "analysis.population_fit",
    "save_fit": "analysis.population_fit",
}

__all__ = [
    "CLAIMS",
    "Aggregate",
    "Check",
    "ClaimResult",
    "VERDICTS",
    "aggregate_verdicts",
    "claim_fc_layers",
    "claim_first_layer",
    "claim_hierarchy",
    "claim_hubel_wiesel",
    "claim_pooling",
    "claim_rotation",
    "claim_weight_sharing",
    "verdict_alternatives",
    "verdict_from_checks",
    "Evaluation",
    "LinearClassifier",
    "decode",
    "evaluate",
    "fit_linear_classifier",
    "tolerance_correlations",
    "tolerance_curve",
    "transform_images",
    "wilson_interval",
    "FiringRateMap",
    "GaborFit",
    "NakaRushtonFit",
    "PropertyValues",
    "ReceptiveFields",
    "Recording",
    "ReferenceDistribution",
    "STCResult",
    "SweepError",
    "SimilarityScore",
    "cell_key",
    "cka",
    "cka_matrix",
    "compute_property",
    "contrast_response",
    "fano_factor",
    "fit_gabor",
    "fit_gabors",
    "fit_firing_rate_map",
    "fit_naka_rushton",
    "grating_rf_mapping",
    "lifetime_sparseness",
    "list_properties",
    "list_references",
    "load_sweep",
    "marques_properties",
    "modulation_ratio",
    "naka_rushton",
    "plot_cka_matrix",
    "plot_gabor_fit",
    "plot_invariance",
    "plot_nx_ny",
    "plot_rf_mosaic",
    "psth",
    "rdm",
    "read_nwb",
    "read_nwb_spike_trains",
    "reference_distribution",
    "reverse_correlation",
    "rsa",
    "score_properties",
    "similarity_score",
    "size_tuning",
    "sparse_noise_maps",
    "spike_triggered_covariance",
    "sweep",
    "circular_variance",
    "dsi",
    "fit_double_von_mises",
    "fit_log_gaussian",
    "fit_von_mises",
    "global_dsi",
    "global_osi",
    "orientation_bandwidth",
    "orientation_tuning",
    "orientation_summary",
    "osi",
    "plot_property_histogram",
    "plot_tuning_curve",
    "plot_tuning_grid",
    "preferred_direction",
    "preferred_orientation",
    "preferred_orientation_argmax",
    "GridMaps",
    "grid_on_off_maps",
    "run_protocol",
    "run_protocol_layers",
    "sf_bandwidth",
    "sf_tuning",
    "curve_levels",
    "tuning_curves",
    "write_nwb",
    "FitResult",
    "fit_population",
    "layer_properties",
    "population_score",
    "save_fit",
]


def __getattr__(name: str) -> Any:
    """Import a public name's submodule on first use and cache the name here.

    Submodules not imported yet are found too (``import analysis;
    analysis.tuning``), as they were when this package imported them all.
    """
    module = _LAZY.get(name)
    if module is None:
        if not name.startswith("_"):
            try:
                return importlib.import_module(f"analysis.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"analysis.{name}":
                    raise
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static tools see: the eager imports
    from analysis.claims import (
        CLAIMS,
        VERDICTS,
        Aggregate,
        Check,
        ClaimResult,
        aggregate_verdicts,
        claim_fc_layers,
        claim_first_layer,
        claim_hierarchy,
        claim_hubel_wiesel,
        claim_pooling,
        claim_rotation,
        claim_weight_sharing,
        verdict_alternatives,
        verdict_from_checks,
    )
    from analysis.decoding import (
        Evaluation,
        LinearClassifier,
        decode,
        evaluate,
        fit_linear_classifier,
        wilson_interval,
    )
    from analysis.figures.receptive_fields import plot_gabor_fit, plot_nx_ny, plot_rf_mosaic
    from analysis.figures.representations import plot_cka_matrix, plot_invariance
    from analysis.figures.tuning import plot_property_histogram, plot_tuning_curve, plot_tuning_grid
    from analysis.gabor_fit import GaborFit, fit_gabor, fit_gabors
    from analysis.invariance import tolerance_correlations, tolerance_curve, transform_images
    from analysis.modulation import fano_factor, lifetime_sparseness, modulation_ratio, psth
    from analysis.nwb import read_nwb, read_nwb_spike_trains, write_nwb
    from analysis.population_fit import (
        FitResult,
        fit_population,
        layer_properties,
        population_score,
        save_fit,
    )
    from analysis.properties import (
        FiringRateMap,
        PropertyValues,
        compute_property,
        fit_firing_rate_map,
        list_properties,
        marques_properties,
        score_properties,
    )
    from analysis.receptive_fields import (
        ReceptiveFields,
        STCResult,
        grating_rf_mapping,
        reverse_correlation,
        sparse_noise_maps,
        spike_triggered_covariance,
    )
    from analysis.recording import Recording
    from analysis.reference import (
        ReferenceDistribution,
        SimilarityScore,
        list_references,
        reference_distribution,
        similarity_score,
    )
    from analysis.representations import cka, cka_matrix, rdm, rsa
    from analysis.response_functions import (
        NakaRushtonFit,
        contrast_response,
        fit_naka_rushton,
        naka_rushton,
        size_tuning,
    )
    from analysis.rf_grid import GridMaps, grid_on_off_maps
    from analysis.runner import run_protocol, run_protocol_layers
    from analysis.sweeps import SweepError, cell_key, load_sweep, orientation_summary, sweep
    from analysis.tuning import (
        circular_variance,
        curve_levels,
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
