"""The ``v1model tuning`` job: the default orientation protocol through the V1 model.

Kept apart from the argument parsing in :mod:`v1model.app.cli` so scripts can call
:func:`run_tuning_job` directly.  (A model never imports ``analysis``; this job is
an application that uses both, like the CLI.)
"""

from __future__ import annotations

import json
import os
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.tuning import plot_property_histogram, plot_tuning_grid
from analysis.reference import similarity_score
from analysis.runner import run_protocol
from analysis.tuning import orientation_tuning
from stimuli import protocols
from stimuli._shared.io import atomic_open
from stimuli._shared.validation import check_choice, check_int
from stimuli.display import Display
from v1model.app.outdir import staged_output
from v1model.app.report import save_figure, spread
from v1model.population import sample_population
from v1model.v1 import V1Model

POPULATIONS = ("grid", "macaque", "uniform")


def build_v1_model(display: Display, *, population: str = "grid", n_units: int = 64,
                   complex_kind: str = "energy", rng: Any = 0):
    """The V1 model the tuning job measures: the default filter grid or a sampled population."""

    check_choice("population", population, POPULATIONS)
    if population == "grid":
        return V1Model.grid(display, complex_kind=complex_kind)
    n_units = check_int("n_units", n_units, minimum=1)
    table = sample_population(n_units, source=population, rng=rng)
    # Keep units whose peak sf the display can carry (below half its Nyquist limit).
    keep = table["sf"] < 0.5 * display.nyquist_cpd
    if not np.any(keep):
        raise ValueError(
            f"no sampled unit has sf below {0.5 * display.nyquist_cpd:g} c/deg; increase --ppd"
        )
    return V1Model.from_population(display, table.take(keep), complex_kind=complex_kind)


def run_tuning_job(out_dir: str, *, size: int = 64, pixels_per_degree: float = 16.0,
                   population: str = "grid", n_units: int = 64, complex_kind: str = "energy",
                   progress: bool = True, rng: Any = 0) -> dict[str, list[str]]:
    """Run the orientation protocol through simple and complex cells; write figures and tables.

    Writes into ``out_dir/tuning/``: per layer a recording (``.npz``), a per-unit
    summary (``.csv`` and ``.json``), a grid of tuning curves and polar plots (``.png``)
    and histograms of circular variance and bandwidth against the macaque reference;
    plus ``summary.json`` with medians and similarity scores (1 − KS, bootstrapped).
    The folder is written as a unit: an earlier complete one stays untouched until this
    run has completed.

    Returns
    -------
    dict of str to list of str
        Layer name → paths written.

    Raises
    ------
    ValueError
        If ``rng`` is a negative seed, or for the errors of :func:`build_v1_model`.
    """

    matplotlib.use("Agg")
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        # checked now, not after the protocol has run: the bootstrap draws from it last
        rng = check_int("rng", rng, minimum=0)

    display = Display((size, size), pixels_per_degree=pixels_per_degree)
    model = build_v1_model(display, population=population, n_units=n_units,
                           complex_kind=complex_kind, rng=rng)
    protocol = protocols.orientation_tuning(display)
    with staged_output(os.path.join(os.fspath(out_dir), "tuning")) as stage:
        written = _tuning_into(stage.path, model, protocol, display, progress=progress, rng=rng)
    return stage.final(written)


def _tuning_into(folder: str, model: Any, protocol: Any, display: Display, *, progress: bool,
                 rng: Any) -> dict[str, list[str]]:
    """The job of :func:`run_tuning_job` with every file written under ``folder``."""
    written: dict[str, list[str]] = {}
    summary: dict[str, Any] = {"display": {"shape": list(display.shape),
                                           "pixels_per_degree": display.pixels_per_degree},
                               "model": model.params, "protocol": protocol.params, "layers": {}}
    for layer in model.layers:
        rec = run_protocol(model, protocol, layer, progress=progress)
        table = orientation_tuning(rec)
        paths = [os.path.join(folder, f"{layer}_{suffix}")
                 for suffix in ("recording.npz", "tuning.csv", "tuning.json", "curves.png",
                                "polar.png", "circular_variance.png", "bandwidth.png")]
        rec.save(paths[0])
        table.to_csv(paths[1])
        table.to_json(paths[2])
        units = spread(np.arange(rec.n_units), 16)
        for path, polar in ((paths[3], False), (paths[4], True)):
            fig = plot_tuning_grid(rec, units, polar=polar, show_fit=not polar).flat[0].figure
            fig.suptitle(f"{layer} cells: orientation tuning ({'polar' if polar else 'linear'})")
            save_figure(fig, path)
        ok = table["responsive"] if "responsive" in table else np.ones(len(table), bool)
        scores = {}
        for path, column, reference, label in (
            (paths[5], "circular_variance", "circular_variance", "circular variance"),
            (paths[6], "bandwidth", "orientation_bandwidth", "half-bandwidth at 1/√2 (deg)"),
        ):
            fig, ax = plt.subplots(figsize=(4.5, 3.2))
            plot_property_histogram(table[column][ok], label=label, reference=reference,
                                    ax=ax, values_label=f"V1 model {layer}")
            save_figure(fig, path)
            score = similarity_score(table[column][ok], reference, n_boot=200, rng=rng)
            scores[reference] = {"score": score.score, "ci": [score.ci_low, score.ci_high],
                                 "reference": score.source, "approximate": score.check}
        summary["layers"][layer] = {
            "n_units": int(rec.n_units),
            "n_responsive": int(np.count_nonzero(ok)),
            "median_circular_variance": float(np.median(table["circular_variance"][ok])),
            "median_bandwidth_deg": float(np.median(table["bandwidth"][ok])),
            "median_osi_two_point": float(np.median(table["osi"][ok])),
            "similarity_to_macaque": scores,
        }
        written[layer] = paths
    summary_path = os.path.join(folder, "summary.json")
    with atomic_open(summary_path) as fh:
        json.dump(summary, fh, indent=1)
    written["summary"] = [summary_path]
    return written
