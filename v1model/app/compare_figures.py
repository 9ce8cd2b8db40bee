"""What the ``v1model compare`` report draws: its figures as jobs of plain data.

Each function here turns the per-layer results of :mod:`v1model.app.compare` into
:class:`~v1model.app.report.FigureJob` s — a drawing function of
:mod:`analysis.figures.panels` and its keyword arguments — which
:func:`~v1model.app.report.draw_all` renders here or on a worker process.  Nothing is
drawn in this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analysis.figures.panels import (
    cka_figure,
    gabor_fit_figure,
    histogram_panels,
    invariance_panels,
    nx_ny_panels,
    rf_mosaic_figure,
    tuning_panels,
)
from analysis.properties import list_properties
from v1model.app.battery import Battery
from v1model.app.compare_report import HISTOGRAM_PROPERTIES
from v1model.app.report import FigureJob, spread

if TYPE_CHECKING:
    from v1model.app.compare_battery import LayerResult, ModelResult

__all__: list[str] = []


#: Rows of the tuning-curve figures: (battery step, tuning variable).
_CURVE_ROWS = (("orientation", "orientation"), ("sf", "sf"), ("size", "radius"),
               ("drifting", "direction"))


def tuning_figure_jobs(results: dict[str, LayerResult],
                        battery: Battery) -> list[FigureJob]:
    """One model's tuning-curve figures, one per layer."""
    jobs = []
    for res in results.values():
        if not res.curves:
            continue
        ori = res.tables.get("orientation")
        if ori is not None:
            responsive = np.flatnonzero(np.asarray(ori["responsive"], bool))
            order = responsive[np.argsort(ori["preferred_orientation"][responsive],
                                          kind="stable")]
        else:
            order = np.arange(res.n_units)
        units = spread(order, battery.curve_units) or [0]
        rows = []
        for step, by in _CURVE_ROWS:
            if step in res.curves:
                c = res.curves[step]
                rows.append((by, c.values, c.mean[units],
                             None if c.sem is None else c.sem[units]))
        jobs.append(FigureJob(
            f"tuning_{res.model}_{res.layer}", "tuning",
            f"{res.label}: mean response ± s.e.m. over phases for units spread over preferred "
            "orientation; fits drawn for orientation (von Mises) and sf (log-Gaussian).",
            res.model, tuning_panels, {"label": res.label, "units": units, "rows": rows}))
    return jobs


def rf_figure_jobs(results: dict[str, LayerResult], battery: Battery) -> list[FigureJob]:
    """One model's receptive-field figures: a mosaic and a Gabor fit per mapped layer."""
    jobs = []
    for res in results.values():
        if res.rf is None:
            continue
        rf = res.rf
        n = rf["fit_maps"].shape[0]
        units = spread(np.arange(n), battery.mosaic_units)
        info = {k: v[units] for k, v in rf["unit_info"].items()
                if k in ("orientation", "sf") and len(v) == n}
        what = ("ON − OFF maps from single light and dark squares" if rf["source"] == "measured"
                else "the layer's own filter kernels (its ON − OFF maps cancel: full-wave "
                     "rectified units have no signed receptive field)")
        jobs.append(FigureJob(
            f"rf_{res.model}_{res.layer}", "rf",
            f"{res.label}: {what}; panels titled with the model's own orientation and sf "
            "where it knows them.", res.model, rf_mosaic_figure,
            {"title": f"{res.label}: {what}", "maps": rf["fit_maps"][units], "units": units,
             "info": info or None, "pixels_per_degree": rf["fit_ppd"]}))
        fits = rf["fits"]
        success = np.flatnonzero(np.asarray(fits["success"], bool))
        if success.size:
            r2 = np.asarray(fits["r2"])[success]
            unit = int(success[np.argsort(r2, kind="stable")[len(r2) // 2]])
        else:
            unit = 0
        jobs.append(FigureJob(
            f"gabor_{res.model}_{res.layer}", "rf",
            f"{res.label}: 2-D Gabor fit of the unit with the median R² among successful fits "
            f"({success.size} of {len(fits)} fits succeeded).", res.model, gabor_fit_figure,
            {"image": rf["fit_list"][unit], "pixels_per_degree": rf["fit_ppd"], "unit": unit}))
    return jobs


def _marques_histogram_jobs(layers: list[LayerResult], scores: dict) -> list[FigureJob]:
    """One histogram figure per Marques property with a reference, in its bins."""
    jobs = []
    catalogue = list_properties(include_extra=True)
    for i in range(len(catalogue)):
        name, status = str(catalogue["name"][i]), str(catalogue["reference_status"][i])
        if status == "none":
            continue
        panels = []
        for res in layers:
            row = scores[(res.model, res.layer)].get(name)
            if row is None:
                panels.append((res.label, None, None))
                continue
            table = res.marques
            values = np.asarray(table["value"], float)[np.asarray(table["property"]) == name]
            ceiled = float(row["ceiled"])
            panels.append((res.label, values[~np.isnan(values)],
                           ceiled if np.isfinite(ceiled) else None))
        mark = " *" if status == "approximate" else ""
        units = str(catalogue["units"][i])
        jobs.append(FigureJob(
            f"property_{name}", "properties",
            f"{name}{mark} of each layer (Brain-Score definition) against "
            f"{catalogue['source'][i]} ({status}"
            + ("; * a summary with an assumed shape, not the paper's histogram" if mark else "")
            + "), in the reference's bins.", None, histogram_panels,
            {"reference": name, "label": f"{name}{mark}" + (f" ({units})" if units else ""),
             "panels": panels, "collection": "marques2021", "score_name": "ceiled"}))
    return jobs


def summary_figure_jobs(results: dict[str, ModelResult], scores: dict, cka: dict,
                         battery: Battery, method: str = "brainscore",
                         pooled: dict | None = None) -> list[FigureJob]:
    """Figures across models: property histograms, nx–ny, F1/F0, invariance, CKA.

    The F1/F0 figure also shows each model of ``pooled`` (:func:`_pooled_scores`) with
    its layers pooled, titled with the pooled population's ceiled Brain-Score score.
    """
    layers = [res for mres in results.values() for res in mres.layers.values()]
    jobs = _marques_histogram_jobs(layers, scores) if method == "brainscore" else []
    for prop in HISTOGRAM_PROPERTIES if method == "ks" else ():
        panels = []
        for res in layers:
            score = scores[(res.model, res.layer)][prop.reference]
            panels.append((res.label, res.values.get(prop.reference),
                           None if score is None else score.score))
        jobs.append(FigureJob(
            f"property_{prop.reference}", "properties",
            f"{prop.label} of each layer ({prop.rule}) against macaque V1.", None,
            histogram_panels, {"reference": prop.reference, "label": prop.label,
                               "panels": panels}))
    rf_layers = [res for res in layers if res.rf is not None]
    if rf_layers:
        jobs.append(FigureJob(
            "nx_ny", "nx_ny", "Ringach's (2002) RF shape: envelope widths across (nx) and along "
            "(ny) the bars in carrier cycles, over the macaque cloud (approximate).", None,
            nx_ny_panels, {"panels": [(r.label, r.values["ringach_nx"], r.values["ringach_ny"],
                                      r.rf["source"]) for r in rf_layers]}))
    panels = []
    for res in layers:
        over = "time" if "time" in res.f1f0_method else "phase"
        panels.append((f"{res.label} (over {over})", res.values.get("modulation_ratio"), None))
    for name, p in (pooled or {}).items():
        parts = [results[name].layers[layer].values.get("modulation_ratio")
                 for layer in p["layers"]]
        if any(v is None for v in parts):
            continue
        row = p["rows"].get("modulation_ratio") or {}
        ceiled = row.get("ceiled")
        panels.append((f"{results[name].entry.title} · {' + '.join(p['layers'])} (pooled)",
                       np.concatenate(parts),
                       None if ceiled is None or not np.isfinite(ceiled) else float(ceiled)))
    jobs.append(FigureJob(
        "f1_f0", "f1f0", "F1/F0 at each unit's preferred condition (> 1 simple, < 1 complex; "
        "Skottun et al. 1991) against an assumed bimodal macaque distribution; models whose "
        "layers divide one population by F1/F0 also pooled (the population Brain-Score "
        "scores; its ceiled modulation_ratio score in the title).", None,
        histogram_panels, {"reference": "modulation_ratio", "label": "F1/F0",
                           "panels": panels, "score_name": "ceiled"}))
    with_curves = [(m.entry.title, {layer: r.invariance for layer, r in m.layers.items()
                                    if r.invariance is not None})
                   for m in results.values()
                   if any(r.invariance is not None for r in m.layers.values())]
    if with_curves:
        jobs.append(FigureJob(
            "invariance", "invariance", "Translation tolerance: correlation (over units at "
            "every map position) between responses to a natural-image patch and to the patch "
            "shifted rightwards, mean ± s.e.m. over patches.", None, invariance_panels,
            {"shifts": np.asarray(battery.shifts), "panels": with_curves}))
    jobs.append(FigureJob(
        "cka", "cka", "Linear CKA between the layers' centre-unit responses to the same "
        "natural-image patches (models with smaller displays see the patches' centre).", None,
        cka_figure, {"matrix": cka["matrix"], "labels": cka["labels"],
                    "title": f"linear CKA, centre units, {battery.n_natural} natural patches"}))
    return jobs


# ------------------------------------------------------------------ summary
