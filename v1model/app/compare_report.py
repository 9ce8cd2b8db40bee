"""The ``v1model compare`` report: the properties it compares, ``summary.json`` and ``report.html``.

:data:`PROPERTIES` lists the single-unit properties compared with macaque V1 (the
reference names of :mod:`analysis.reference`, axis labels with units, and which
units count); :func:`summary` builds the machine-readable summary and
:func:`report_html` the self-contained page, from the results of
:func:`v1model.app.compare.run_compare_job`.
"""

from __future__ import annotations

import html
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from analysis.properties import list_properties
from analysis.reference import reference_distribution
from stimuli._shared.io import jsonable
from v1model.app.registry import get_model
from v1model.app.report import data_uri, fmt

__all__ = ["CIRCULAR", "GROUP_TITLES", "HISTOGRAM_PROPERTIES", "PROPERTIES", "Property",
           "answer_heatmap_png", "headline", "heatmap_figure", "marques_rows", "property_groups",
           "report_html", "summary"]


@dataclass(frozen=True)
class Property:
    """A property compared with macaque V1: reference name, axis label, which units count."""

    reference: str       # name in analysis.reference
    label: str           # axis label with units
    rule: str            # which units count, for the report


PROPERTIES = (
    Property("preferred_orientation", "preferred orientation (deg)",
              "responsive units (orientation protocol)"),
    Property("circular_variance", "circular variance",
              "responsive units (orientation protocol)"),
    Property("orientation_bandwidth", "orientation half-bandwidth at 1/√2 (deg)",
              "responsive units; von Mises fit, 90° where undefined"),
    Property("peak_sf", "peak spatial frequency (c/deg)",
              "units whose log-Gaussian fit succeeded with its peak inside the sampled range"),
    Property("sf_bandwidth", "sf bandwidth (octaves, full width at half height)",
              "band-pass units with a defined fitted bandwidth"),
    Property("surround_suppression_index", "surround suppression index",
              "responsive units, curve at each unit's best orientation and sf of the size "
              "protocol, kept when these are within 15° and half an octave of the unit's "
              "preferred ones"),
    Property("grating_summation_field", "grating summation field diameter (deg)",
              "as the surround suppression index"),
    Property("modulation_ratio", "F1/F0",
              "units with F0 > 0 at their preferred condition"),
    Property("ringach_nx", "nx = σx · sf (cycles)", "successful Gabor fits (R² ≥ 0.5)"),
    Property("ringach_ny", "ny = σy · sf (cycles)", "successful Gabor fits (R² ≥ 0.5)"),
)
#: Circular properties: no median is reported.
CIRCULAR = ("preferred_orientation",)
#: Properties drawn as histograms against macaque data (F1/F0 and nx, ny have their own
#: sections).
HISTOGRAM_PROPERTIES = tuple(p for p in PROPERTIES
                              if p.reference not in ("modulation_ratio", "ringach_nx",
                                                     "ringach_ny"))




def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _median(values: np.ndarray | None) -> float | None:
    if values is None or len(values) == 0:
        return None
    return _finite(np.median(values))


def _score_dict(score: Any) -> dict[str, Any] | None:
    if score is None:
        return None
    return {"score": score.score, "ci": [score.ci_low, score.ci_high], "ks": score.ks,
            "ceiling": score.ceiling, "n": score.n, "reference": score.source,
            "approximate_reference": score.check}


# ------------------------------------------------------------------ Marques properties

def _catalogue() -> list[dict[str, Any]]:
    """The 22 Marques properties (+ the extra surround/GSF ratio) with their references."""
    props = list_properties(include_extra=True)
    out = []
    for i in range(len(props)):
        name = str(props["name"][i])
        ref = reference_distribution(name, collection="marques2021")
        out.append({"name": name, "group": str(props["group"][i]),
                    "units": str(props["units"][i]), "marques2021": bool(props["marques2021"][i]),
                    "status": ref.status, "reference": {
                        "source": ref.source, "cells": ref.cells,
                        "count_used": ref.count_used, "status": ref.status}})
    return out


def _mark(status: str) -> str:
    """The table/figure mark of a reference status: * approximate, † no numbers."""
    return {"approximate": "*", "none": "†"}.get(status, "")


def marques_rows(res: Any, rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One layer's Marques properties for ``summary.json``: score, ceiling, provenance.

    Parameters
    ----------
    res : compare._LayerResult
        The layer (its ``marques`` table of :func:`analysis.properties.marques_properties`,
        or None with ``marques_note`` saying why).
    rows : dict
        Property → row of :func:`analysis.properties.score_properties`.

    Returns
    -------
    dict
        Property → ``measured`` (its protocol ran), ``scored``, ``raw``, ``ci`` (95%
        bootstrap interval of the raw score), ``ceiling``, ``ceiled``, ``n_defined``,
        ``n_units``, ``median`` of the defined values (None for the circular preferred
        orientation), ``note`` (why not scored, or the reference's caveat),
        ``reference`` (``source``, ``cells``, ``count_used``, ``status``: published,
        approximate or none) and ``marques2021`` (one of the 22).
    """
    out = {}
    table = res.marques
    for item in _catalogue():
        name = item["name"]
        row = rows.get(name)
        entry: dict[str, Any] = {"measured": row is not None, "scored": False, "raw": None,
                                 "ci": None, "ceiling": None, "ceiled": None,
                                 "n_defined": None, "n_units": None, "median": None,
                                 "note": "", "reference": item["reference"],
                                 "marques2021": item["marques2021"]}
        if row is None:
            entry["note"] = res.marques_note or (
                f"not measured: the battery ran no {item['group']} protocol for this model")
        else:
            values = np.asarray(table["value"], float)[np.asarray(table["property"]) == name]
            values = values[~np.isnan(values)]
            ceiled = _finite(row["ceiled"])
            entry.update(scored=ceiled is not None, raw=_finite(row["raw"]),
                         ci=[_finite(row["ci_low"]), _finite(row["ci_high"])],
                         ceiling=_finite(row["ceiling"]), ceiled=ceiled,
                         n_defined=int(row["n_defined"]), n_units=int(row["n_units"]),
                         median=(None if name in CIRCULAR or values.size == 0
                                 else _finite(np.median(values))),
                         note=str(row["note"]))
            if ceiled is None:
                entry["ci"] = None
        out[name] = entry
    return out


def _reference_counts() -> dict[str, int]:
    """How many of the 22 Marques properties have a published/approximate/no reference."""
    counts = {"published": 0, "approximate": 0, "none": 0}
    for item in _catalogue():
        if item["marques2021"]:
            counts[item["status"]] += 1
    return counts


_SCORE_TEXT = {
    "brainscore": "Brain-Score's score of Marques et al. (2021): each property computed with "
                  "Brain-Score's definitions (analysis.properties, method='brainscore'), binned "
                  "with the reference's bins, 1 - KS/KS_max, mean and 95% interval over "
                  "bootstrap resamples of units (raw), divided by the reference's ceiling "
                  "(the reference scored against bootstrap resamples of itself) = ceiled; "
                  "references from analysis/data/marques2021_v1.json with their status "
                  "(published, approximate or none = computed, not scored)",
    "ks": "1 - KS distance to the bundled macaque reference, mean and 95% "
          "interval over bootstrap resamples of units "
          "(analysis.reference.similarity_score); not Brain-Score numbers",
}


def summary(results, scores, cka, figures, battery, not_run, timing, seed, quick, folder,
            written, *, score: str = "brainscore", skipped=None) -> dict[str, Any]:
    models = {}
    for name, mres in results.items():
        layers = {}
        for layer, res in mres.layers.items():
            entry = {
                "n_units": res.n_units,
                "n_responsive": res.n_responsive if "orientation" in res.tables else None,
                "medians": {p.reference: _median(res.values.get(p.reference))
                            for p in PROPERTIES if p.reference not in CIRCULAR},
                "n_used": {p.reference: (None if p.reference not in res.values
                                         else int(len(res.values[p.reference])))
                           for p in PROPERTIES},
                "similarity_to_macaque": (
                    marques_rows(res, scores[(name, layer)]) if score == "brainscore" else
                    {p.reference: _score_dict(scores[(name, layer)][p.reference])
                     for p in PROPERTIES}),
                "f1f0_method": res.f1f0_method or None,
                "seconds": {k: float(v) for k, v in res.seconds.items()},
                "recordings": {step: os.path.relpath(
                    os.path.join(folder, "recordings", f"{name}_{layer}_{step}.npz"), folder)
                    for step in res.recordings},
            }
            if res.rf is not None:
                entry["receptive_fields"] = {
                    "fit_source": res.rf["source"],
                    "fit_success": float(np.mean(res.rf["fits"]["success"])),
                    "median_signed_fraction": res.rf["median_signed_fraction"],
                }
            if res.invariance is not None:
                entry["translation_tolerance"] = {
                    "shift_deg": list(battery.shifts),
                    "correlation": [float(v) for v in res.invariance.mean(axis=0)],
                }
            layers[layer] = entry
        models[name] = {"title": mres.entry.title,
                        "display": {"shape": list(mres.display.shape),
                                    "pixels_per_degree": mres.display.pixels_per_degree},
                        "steps": list(mres.steps), "note": mres.entry.note,
                        "params": jsonable(mres.params),
                        "seconds": mres.seconds, "layers": layers}
    return {
        "job": "v1model compare",
        "quick": quick,
        "seed": seed,
        "battery": asdict(battery),
        "score_method": score,
        "similarity_score": _SCORE_TEXT[score],
        "reference_status": _reference_counts() if score == "brainscore" else None,
        "models": models,
        "not_run": dict(not_run),
        # models that could not go through the battery (factory raised, not a model,
        # unknown layers, ...) and broken entry points: name -> reason
        "skipped": dict(skipped or {}),
        "cka": {"labels": cka["labels"],
                "matrix": [[float(v) for v in row] for row in cka["matrix"]]},
        "figures": [{"name": f["name"], "section": f["section"], "cpu_s": f["cpu_s"],
                     "file": os.path.join("figures", f"{f['name']}.png")} for f in figures],
        "recordings": [os.path.relpath(p, folder) for p in written["recordings"]],
        "timing": {k: {kk: float(vv) for kk, vv in v.items()} for k, v in timing.items()},
    }


# ------------------------------------------------------------------ the answer first

#: Property groups of the report's answer: the recording groups of
#: :mod:`analysis.properties` (orientation, sf, size, texture), with the two response
#: properties measured on the orientation protocol (F1/F0 and the peak rate) in a group
#: of their own, as Marques et al. (2021) group them.
RESPONSE_PROPERTIES = ("modulation_ratio", "max_dc")
GROUP_TITLES = {"orientation": "orientation", "sf": "spatial frequency",
                "size": "surround/size", "response": "response/modulation",
                "texture": "texture"}
#: Two means that round to the same two decimals are reported as a tie.
TIE_DECIMALS = 2
#: Bootstrap resamples (over properties) of the ranking's interval, and its seed.
RANKING_BOOT = 2000
RANKING_SEED = 0


def property_groups() -> dict[str, str]:
    """Each Marques et al. (2021) property's group in the report's answer.

    Returns
    -------
    dict of str to str
        Property name → a key of :data:`GROUP_TITLES` (the extra
        ``surround_gsf_ratio`` is not one of the 22 and is left out).

    Examples
    --------
    >>> groups = property_groups()
    >>> groups["circular_variance"], groups["modulation_ratio"], groups["peak_sf"]
    ('orientation', 'response', 'sf')
    """
    props = list_properties(include_extra=True)
    out = {}
    for name, group, marques in zip(props["name"], props["group"], props["marques2021"],
                                    strict=True):
        if bool(marques):
            out[str(name)] = "response" if str(name) in RESPONSE_PROPERTIES else str(group)
    return out


def _scored(row: Any) -> float | None:
    """The ceiled score of a summary row, or None (unscored, missing, NaN)."""
    if not isinstance(row, dict) or not row.get("scored"):
        return None
    value = row.get("ceiled")
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def _layer_labels(summary: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for name, entry in summary.get("models", {}).items():
        title = entry.get("title", name)
        for layer, data in entry.get("layers", {}).items():
            out.append((f"{title} · {layer}", f"{name}:{layer}",
                        data.get("similarity_to_macaque") or {}))
    return out


def _winners(means: dict[str, float]) -> list[str]:
    """The labels whose mean, rounded to :data:`TIE_DECIMALS`, is the highest."""
    if not means:
        return []
    rounded = {k: round(v, TIE_DECIMALS) for k, v in means.items()}
    top = max(rounded.values())
    return [k for k, v in rounded.items() if v == top]


def _names(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The report's answer, from the numbers of a Brain-Score ``summary.json``.

    Ranks the layers by their mean ceiled score over every scored Marques et al.
    (2021) property (published and approximate references; unscored and NaN scores
    left out), with a 95% interval from :data:`RANKING_BOOT` bootstrap resamples of
    the layer's scored properties (seed :data:`RANKING_SEED`), and finds the best
    layer of each property group (:func:`property_groups`).  Means that agree to
    :data:`TIE_DECIMALS` decimals are ties.

    Parameters
    ----------
    summary : dict
        A ``v1model compare`` summary (``models`` → ``layers`` →
        ``similarity_to_macaque`` rows with ``scored``, ``ceiled``, ``marques2021``
        and ``reference.status``).

    Returns
    -------
    dict
        ``ranking``: rows (best first) of ``label``, ``key`` (``model:layer``),
        ``mean``, ``ci`` ([low, high] or None), ``n`` (properties scored),
        ``mean_published`` and ``n_published``; ``groups``: group → ``winners``,
        ``means`` (label → mean over the group's scored properties) and ``n``;
        ``winners``: the best layers overall; ``sentences``: the answer in words.

    Raises
    ------
    TypeError
        If ``summary`` is not a mapping.

    Examples
    --------
    >>> row = {"scored": True, "ceiled": 0.9, "marques2021": True,
    ...        "reference": {"status": "published"}}
    >>> s = {"models": {"a": {"title": "A", "layers": {"x": {"similarity_to_macaque": {
    ...      "peak_sf": row}}}}}}
    >>> headline(s)["sentences"][0]
    'Most V1-like overall: A · x (mean ceiled score 0.90 over 1 scored property).'
    """
    if not isinstance(summary, dict):
        raise TypeError(f"summary must be a dict (summary.json), got {type(summary).__name__}")
    groups = property_groups()
    layers = _layer_labels(summary)
    gen = np.random.default_rng(RANKING_SEED)
    ranking = []
    for label, key, rows in layers:
        scores = {p: _scored(r) for p, r in rows.items()
                  if p in groups and isinstance(r, dict) and r.get("marques2021", True)}
        scores = {p: v for p, v in scores.items() if v is not None}
        published = [v for p, v in scores.items()
                     if (rows[p].get("reference") or {}).get("status") == "published"]
        vals = np.array(list(scores.values()), dtype=float)
        if vals.size:
            boots = vals[gen.integers(0, vals.size, (RANKING_BOOT, vals.size))].mean(axis=1)
            ci = [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]
        ranking.append({"label": label, "key": key,
                        "mean": float(vals.mean()) if vals.size else None,
                        "ci": ci if vals.size else None, "n": int(vals.size),
                        "mean_published": float(np.mean(published)) if published else None,
                        "n_published": len(published), "scores": scores})
    ranking.sort(key=lambda r: (r["mean"] is None, -(r["mean"] or 0.0)))
    means = {r["label"]: r["mean"] for r in ranking if r["mean"] is not None}
    winners = _winners(means)
    sentences = []
    if not winners:
        sentences.append("No layer has a scored property: the report cannot say which is "
                         "most V1-like.")
    else:
        best = ranking[0]
        n = best["n"]
        what = f"{n} scored propert{'y' if n == 1 else 'ies'}"
        if len(winners) == 1:
            sentences.append(f"Most V1-like overall: {winners[0]} (mean ceiled score "
                             f"{best['mean']:.2f} over {what}).")
            runner = next((r for r in ranking[1:] if r["mean"] is not None), None)
            if runner is not None and best["ci"] is not None and runner["ci"] is not None \
                    and runner["ci"][1] >= best["ci"][0]:
                sentences.append(f"Its interval overlaps that of the next, {runner['label']} "
                                 f"({runner['mean']:.2f}): the order of the two is not "
                                 "resolved by these properties.")
        else:
            sentences.append(f"Most V1-like overall, tied at a mean ceiled score of "
                             f"{best['mean']:.2f}: {_names(winners)}.")
        pub = {r["label"]: r["mean_published"] for r in ranking
               if r["mean_published"] is not None}
        pub_winners = _winners(pub)
        if pub_winners and set(pub_winners) != set(winners):
            sentences.append(f"On the published references alone the best is "
                             f"{_names(pub_winners)} ({pub[pub_winners[0]]:.2f}).")
    unscored = [r["label"] for r in ranking if r["mean"] is None]
    if unscored:
        sentences.append(f"Not scored on any property: {_names(unscored)}.")
    group_out = {}
    for group, title in GROUP_TITLES.items():
        members = [p for p, g in groups.items() if g == group]
        gmeans = {}
        for r in ranking:
            vals = [r["scores"][p] for p in members if p in r["scores"]]
            if vals:
                gmeans[r["label"]] = (float(np.mean(vals)), len(vals))
        gwin = _winners({k: v[0] for k, v in gmeans.items()})
        group_out[group] = {"title": title, "winners": gwin,
                            "means": {k: v[0] for k, v in gmeans.items()},
                            "n": {k: v[1] for k, v in gmeans.items()}}
        if not gwin:
            sentences.append(f"{title.capitalize()}: no layer is scored (none of its "
                             f"{len(members)} properties has a reference scored here).")
            continue
        top, k = gmeans[gwin[0]]
        what = f"{k} propert{'y' if k == 1 else 'ies'}"
        if len(gwin) == 1:
            text = f"{title.capitalize()}: {gwin[0]} is most V1-like ({top:.2f} over {what})"
        else:
            text = f"{title.capitalize()}: {_names(gwin)} tie ({top:.2f} over {what})"
        if winners and not set(gwin) & set(winners):
            text += f", not the best layer overall ({_names(winners)})"
        sentences.append(text + ".")
    for r in ranking:
        r.pop("scores")
    return {"ranking": ranking, "groups": group_out, "winners": winners,
            "sentences": sentences}


def heatmap_figure(summary: dict[str, Any]):
    """Property × layer heat map of ceiled scores (the report's one answer figure).

    Rows: the Marques et al. (2021) properties, grouped as :func:`property_groups`;
    columns: the layers, best first (:func:`headline`).  Cells: the ceiled score,
    annotated; unscored cells are blank and hatched.  Row labels mark approximate
    references with * and properties without reference numbers with †.

    Parameters
    ----------
    summary : dict
        As :func:`headline`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``summary`` is not a mapping.

    Examples
    --------
    >>> fig = heatmap_figure({"models": {}})
    >>> fig.axes[0].get_title()
    'Ceiled similarity to macaque V1'
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if not isinstance(summary, dict):
        raise TypeError(f"summary must be a dict (summary.json), got {type(summary).__name__}")
    groups = property_groups()
    order = [p for g in GROUP_TITLES for p in groups if groups[p] == g]
    layers = {key: (label, rows) for label, key, rows in _layer_labels(summary)}
    cols = [r["key"] for r in headline(summary)["ranking"]]
    grid = np.full((len(order), len(cols)), np.nan)
    status = {}
    for j, key in enumerate(cols):
        rows = layers[key][1]
        for i, p in enumerate(order):
            value = _scored(rows.get(p))
            grid[i, j] = np.nan if value is None else value
            ref = (rows.get(p) or {}).get("reference") or {}
            status.setdefault(p, ref.get("status"))
    width = 3.2 + 0.95 * max(len(cols), 1)
    fig = Figure(figsize=(width, 0.32 * len(order) + 2.6))
    ax = fig.add_axes((2.6 / width, 1.6 / fig.get_figheight(),
                       1 - 3.5 / width, 1 - 2.1 / fig.get_figheight()))
    if not cols:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no layer to show", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_title("Ceiled similarity to macaque V1", fontsize=10)
        return fig
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.0, vmax=1.0,
                      aspect="auto", interpolation="nearest")
    for i in range(len(order)):
        for j in range(len(cols)):
            if np.isnan(grid[i, j]):
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                           hatch="///", edgecolor="0.8", linewidth=0))
            else:
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if grid[i, j] > 0.6 else "white")
    ax.set_yticks(range(len(order)),
                  [p + _mark(status.get(p) or "") for p in order], fontsize=7)
    ax.set_xticks(range(len(cols)), [layers[k][0].replace(" · ", "\n") for k in cols],
                  fontsize=7, rotation=45, ha="right", rotation_mode="anchor")
    for y in np.cumsum([sum(groups[p] == g for p in order) for g in GROUP_TITLES])[:-1]:
        ax.axhline(y - 0.5, color="black", linewidth=0.8)
    ax.set_title("Ceiled similarity to macaque V1", fontsize=10)
    cax = fig.add_axes((1 - 0.75 / width, 1.6 / fig.get_figheight(), 0.15 / width,
                        1 - 2.1 / fig.get_figheight()))
    fig.colorbar(image, cax=cax).set_label("ceiled score", fontsize=8)
    cax.tick_params(labelsize=7)
    return fig


def answer_heatmap_png(summary: dict[str, Any]) -> bytes:
    """The answer's heat map (:func:`heatmap_figure`) as PNG bytes, drawn with Agg.

    A module-level function of plain data, so a worker process can draw it while
    this one writes the rest of the report.

    Parameters
    ----------
    summary : dict
        ``summary.json``, or the part of it :func:`headline` reads.

    Returns
    -------
    bytes
        The PNG, at 90 dpi.

    Examples
    --------
    >>> answer_heatmap_png({"models": {}})[:4]
    b'\x89PNG'
    """
    import matplotlib

    from v1model.app.report import figure_png

    matplotlib.use("Agg")
    return figure_png(heatmap_figure(summary), dpi=90)


def _answer_html(summary: dict[str, Any], png: bytes | None = None) -> str:
    """The report's first screen: sentences, the ranking table and the heat map.

    ``png``: the heat map already drawn (:func:`answer_heatmap_png` of the same
    ``summary``); drawn here when None.
    """
    e = html.escape
    head = headline(summary)
    out = ['<h2 id="answer">Which layer is most V1-like?</h2>', "<ul>"]
    out += [f"<li>{e(s)}</li>" for s in head["sentences"]]
    out.append("</ul>")
    out.append("<table><tr><th>rank</th><th>layer</th><th>mean ceiled score</th>"
               "<th>95% interval</th><th>properties scored</th>"
               "<th>mean, published references (n)</th></tr>")
    for i, r in enumerate(head["ranking"], 1):
        ci = "–" if r["ci"] is None else f"[{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]"
        pub = "–" if r["mean_published"] is None else \
            f"{r['mean_published']:.2f} ({r['n_published']})"
        out.append(f'<tr><td>{i}</td><td class="name">{e(r["label"])}</td>'
                   f"<td>{fmt(r['mean'])}</td><td>{ci}</td><td>{r['n']}</td>"
                   f"<td>{pub}</td></tr>")
    out.append("</table>")
    out.append("<p class='note'>" + e(
        "Mean over the layer's scored Marques et al. (2021) properties (published and "
        "approximate references; unscored properties left out) of the ceiled Brain-Score "
        f"score. Interval: 2.5th–97.5th percentiles of the mean over {RANKING_BOOT} "
        "bootstrap resamples of the layer's scored properties (how much the ranking "
        "depends on which properties are asked), not of units. Means equal to two "
        "decimals are reported as ties. The per-property intervals are in the table "
        "below.") + "</p>")
    if png is None:
        png = answer_heatmap_png(summary)
    out.append(f'<figure><img alt="answer_heatmap" src="{data_uri(png)}">'
               "<figcaption>" + e(
                   "Ceiled score of every Marques property (rows, grouped: orientation, "
                   "spatial frequency, surround/size, response/modulation, texture) for "
                   "every layer (columns, best first). * approximate reference; † no "
                   "reference numbers; hatched cells are not scored.")
               + "</figcaption></figure>")
    return "\n".join(out)


def _summary_like(results, scores) -> dict[str, Any]:
    """The part of ``summary.json`` :func:`headline` reads, from the job's results."""
    return {"models": {name: {"title": mres.entry.title, "layers": {
        layer: {"similarity_to_macaque": marques_rows(res, scores[(name, layer)])}
        for layer, res in mres.layers.items()}} for name, mres in results.items()}}


# ------------------------------------------------------------------ HTML

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em 2em;
       color: #222; max-width: 110em; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
.row { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em; background: #fafafa;
        max-width: 100%; }
.card h3 { margin: 0 0 0.4em 0; font-size: 1.05em; }
figure { margin: 0; } img { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #555; max-width: 60em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th { background: #f0f0f0; } td.name { text-align: left; }
.warn { background: #fff3cd; border: 1px solid #e0c36a; padding: 0.6em; border-radius: 6px; }
.note { font-size: 0.9em; color: #444; }
"""


def _img(fig: dict[str, Any]) -> str:
    return (f'<figure><img alt="{html.escape(fig["name"])}" '
            f'src="{data_uri(fig["png"])}"><figcaption>{html.escape(fig["caption"])}'
            f"</figcaption></figure>")


def _models_table(results) -> list[str]:
    """The table of models run: layers, units, display, steps, time and note."""
    e = html.escape
    out: list[str] = []
    out.append("<h2>Models</h2><table><tr><th>model</th><th>layers</th><th>units per layer"
               "</th><th>display</th><th>battery steps</th><th>time (s)</th><th>note</th></tr>")
    for mres in results.values():
        units = ", ".join(f"{layer}: {res.n_units}" for layer, res in mres.layers.items())
        d = mres.display
        out.append(f'<tr><td class="name">{e(mres.entry.title)}</td>'
                   f'<td class="name">{e(", ".join(mres.layers))}</td>'
                   f'<td class="name">{e(units)}</td>'
                   f'<td class="name">{d.rows} × {d.cols} px, {d.pixels_per_degree:g} px/deg</td>'
                   f'<td class="name">{e(", ".join(mres.steps))}</td>'
                   f"<td>{mres.seconds:.1f}</td>"
                   f'<td class="name">{e(mres.entry.note)}</td></tr>')
    out.append("</table>")
    return out


def report_html(results, scores, cka, figures, battery, not_run, timing, *,
                score: str = "brainscore", skipped=None, answer_png: bytes | None = None) -> str:
    """The self-contained ``report.html`` (figures embedded) of a compare run.

    ``answer_png``: the answer's heat map, if already drawn
    (:func:`answer_heatmap_png` of ``_summary_like(results, scores)``).
    """
    e = html.escape
    by_section: dict[str, list[dict]] = {}
    for fig in figures:
        by_section.setdefault(fig["section"], []).append(fig)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>v1model compare</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>v1model compare: one protocol battery through every model</h1>",
           f'<p class="note">Battery: <b>{e(battery.name)}</b>; display {battery.size} × '
           f"{battery.size} px at {battery.pixels_per_degree:g} px/deg for models that accept "
           "any display; units recorded at the map position nearest the display centre "
           f"(units=&quot;centre&quot;). Wall time {timing['total']['wall_s']:.1f} s, CPU "
           f"time {timing['total']['cpu_s']:.1f} s (all threads).</p>"]
    if not_run:
        out.append('<div class="warn"><b>Not run:</b><ul>')
        for name, reason in not_run.items():
            out.append(f"<li><b>{e(get_model(name).title)}</b> ({e(name)}): {e(reason)}</li>")
        out.append("</ul></div>")
    if skipped:
        out.append('<h2 id="skipped-models">Skipped models</h2><div class="warn"><p>These '
                   "models were asked for but could not go through the battery; the others "
                   "ran.</p><ul>")
        for name, reason in skipped.items():
            out.append(f"<li><b>{e(name)}</b>: {e(reason)}</li>")
        out.append("</ul></div>")

    if score == "brainscore":
        out.append(_answer_html(_summary_like(results, scores), answer_png))
    out.extend(_models_table(results))

    def section(key: str, title: str, intro: str, per_model: bool) -> None:
        out.append(f"<h2>{e(title)}</h2><p class='note'>{e(intro)}</p>")
        figs = by_section.get(key, [])
        if not figs:
            out.append("<p class='note'>Nothing to show for the models run.</p>")
            return
        if per_model:
            out.append('<div class="row">')
            for name, mres in results.items():
                mine = [f for f in figs if f["model"] == name]
                if not mine:
                    continue
                out.append(f'<div class="card"><h3>{e(mres.entry.title)}</h3>')
                out.extend(_img(f) for f in mine)
                out.append("</div>")
            out.append("</div>")
        else:
            out.append('<div class="row">')
            out.extend(f'<div class="card">{_img(f)}</div>' for f in figs)
            out.append("</div>")

    section("tuning", "Tuning curves",
            "Orientation, spatial-frequency and size tuning (and direction tuning from drifting "
            "gratings for the spiking layer) of a few units per layer.", True)

    if score == "brainscore":
        out.append("<h2>Similarity to macaque V1 (Brain-Score, Marques et al. 2021)</h2>")
        out.append(f"<p class='note'>{e(_brainscore_intro())}</p>")
        out.append(_marques_table(results, scores))
        section("properties", "Property distributions against macaque V1",
                "Brain-Score definitions; histograms as proportions of the units with a "
                "defined value, in the reference's bins; the black outline is the "
                "reference (* approximate: legend marked approx.). Titles give the ceiled "
                "score.", False)
    else:
        n_approx = sum(bool(reference_distribution(p.reference).check) for p in PROPERTIES)
        out.append("<h2>Similarity to macaque V1 (1 − KS)</h2><p class='note'>"
                   + e("Score = 1 − KS distance between the layer's distribution of a property "
                       "and the bundled macaque reference, mean [95% interval] over bootstrap "
                       "resamples of units; n = units with a defined value. "
                       f"{n_approx} of these {len(PROPERTIES)} references are approximate "
                       "(marked *: secondary sources or assumed shapes). The package's own "
                       "definitions (score='ks'); the Brain-Score score with published "
                       "histograms is the default (score='brainscore').") + "</p>")
        out.append(_scores_table(results, scores))
        out.append(_medians_table(results))
        section("properties", "Property distributions against macaque V1",
                "Histograms as proportions of units; the black outline is the reference.",
                False)
    section("rf", "Receptive fields and Gabor fits",
            f"ON − OFF maps from single light and dark squares on a {battery.rf_grid} × "
            f"{battery.rf_grid} grid over the central {battery.rf_extent:g}° (protocol "
            "rf_mapping, sparse noise), fitted with 2-D Gabors (Jones & Palmer 1987).", True)
    section("nx_ny", "Receptive-field shape (nx–ny)", "Successful Gabor fits only.", False)
    section("f1f0", "Modulation ratio F1/F0", "Static models: F1/F0 over spatial phase at the "
            "preferred orientation and sf; the spiking layer: over time for drifting gratings.",
            False)
    if "invariance" in by_section:
        section("invariance", "Translation tolerance",
                "From analysis.invariance.tolerance_correlations on natural-image patches.",
                False)
    else:
        out.append("<h2>Translation tolerance</h2><p class='note'>Not measured: "
                   + e("no selected model has a map of positions to translate.") + "</p>")
    section("cka", "Representational similarity between layers (CKA)", "", False)
    out.append("<h2>Timing</h2><p class='note'>"
               + e("Registered models run in worker processes, two at a time, longest "
                   "first (models given as objects run in the main process); figures are drawn "
                   "and receptive fields fitted in the same workers while later models run. "
                   "model:* rows: wall and CPU time of each model in the process that ran it "
                   "(receptive-field fits included when it ran in a worker); "
                   "models_in_parallel: wall time from the start of the models to the last "
                   "model's results, and the main process's CPU over it; "
                   "figures_after_models: wall time from the last model to the last figure, "
                   "CPU time of drawing every figure; total: CPU of the main process plus, with "
                   "worker processes, the CPU they report for the models and figures (their "
                   "start-up not included).")
               + "</p><table><tr><th>stage</th><th>wall (s)</th><th>CPU (s)</th></tr>")
    for key, value in timing.items():
        out.append(f'<tr><td class="name">{e(key)}</td><td>{value["wall_s"]:.1f}</td>'
                   f'<td>{value["cpu_s"]:.1f}</td></tr>')
    out.append("</table></body></html>")
    return "\n".join(out)


def _brainscore_intro() -> str:
    """The text above the Brain-Score table, generated from the bundled references."""
    counts = _reference_counts()
    total = sum(counts.values())
    return (f"Of the {total} Marques et al. (2021) properties, {counts['published']} are "
            "scored against the papers' published histograms, "
            f"{counts['approximate']} against approximate references (marked *: a summary "
            "with an assumed shape, see analysis/data/marques2021_v1.json), and "
            f"{counts['none']} have no reference numbers here (marked †): they are computed "
            "and listed by their median, not scored. Properties computed with Brain-Score's "
            "definitions (responses mapped to firing rates by an affine map fitted per layer "
            "on the blank screen and the best grating). Each cell: ceiled score = raw / "
            "ceiling, with the raw score's 95% bootstrap interval, the ceiling (the "
            "reference scored against bootstrap resamples of itself), and n = units with a "
            "defined value / units. Layer means over the scored properties are in the last "
            "rows; surround_gsf_ratio is an extra (not one of the 22) and not in the means.")


def _marques_table(results, scores) -> str:
    """Property × layer table of ceiled scores (ceilings visible), with marks and means."""
    e = html.escape
    layers = [(name, layer, res) for name, mres in results.items()
              for layer, res in mres.layers.items()]
    rows_of = {(name, layer): marques_rows(res, scores[(name, layer)])
               for name, layer, res in layers}
    head = "".join(f"<th>{e(res.label)}</th>" for _, _, res in layers)
    out = [f"<table><tr><th>property</th><th>reference</th>{head}</tr>"]
    for item in _catalogue():
        name = item["name"]
        ref = item["reference"]
        label = f"{name}{_mark(item['status'])}" + ("" if item["marques2021"] else " (extra)")
        cells = []
        for key in ((n, lay) for n, lay, _ in layers):
            r = rows_of[key][name]
            if not r["measured"]:
                cells.append(f'<td title="{e(r["note"])}">–</td>')
            elif r["scored"]:
                cells.append(
                    f'<td title="{e(r["note"])}"><b>{r["ceiled"]:.2f}</b><br>'
                    f'raw {r["raw"]:.2f} [{fmt(r["ci"][0])}, {fmt(r["ci"][1])}]<br>'
                    f'ceiling {r["ceiling"]:.2f}<br>n = {r["n_defined"]}/{r["n_units"]}</td>')
            else:
                why = "no reference" if item["status"] == "none" else "not scored"
                cells.append(f'<td title="{e(r["note"])}">median {fmt(r["median"])}<br>'
                             f'{why}<br>n = {r["n_defined"]}/{r["n_units"]}</td>')
        out.append(f'<tr><td class="name">{e(label)}</td>'
                   f'<td class="name">{e(ref["source"])} ({e(ref["status"])})</td>'
                   f'{"".join(cells)}</tr>')
    for title, keep in (("mean ceiled, published references", ("published",)),
                        ("mean ceiled, all scored", ("published", "approximate"))):
        cells = []
        for key in ((n, lay) for n, lay, _ in layers):
            vals = [r["ceiled"] for prop, r in rows_of[key].items()
                    if r["scored"] and r["marques2021"] and r["reference"]["status"] in keep]
            cells.append(f"<td>{np.mean(vals):.2f} ({len(vals)})</td>" if vals else "<td>–</td>")
        out.append(f'<tr><th class="name" colspan="2">{e(title)} (properties)</th>'
                   f'{"".join(cells)}</tr>')
    out.append("</table>")
    out.append("<p class='note'>" + e(
        "* approximate reference (a summary with an assumed shape, not the paper's histogram); "
        "† no reference numbers bundled: computed, not scored; – the battery ran no protocol "
        "for this property in this model. A property that no unit of a layer defines (e.g. "
        "the GSF, which exists only where SSI > 0.1) is not scored, as in Brain-Score, and "
        "so not in the layer's means. Hover a cell for the reference's caveat or why it "
        "is not scored.") + "</p>")
    return "\n".join(out)


def _scores_table(results, scores) -> str:

    e = html.escape
    head = "".join(f"<th>{e(p.reference)}{'*' if reference_distribution(p.reference).check else ''}"
                   "</th>" for p in PROPERTIES)
    rows = [f"<table><tr><th>layer</th>{head}</tr>"]
    for name, mres in results.items():
        for layer, res in mres.layers.items():
            cells = []
            for p in PROPERTIES:
                s = scores[(name, layer)][p.reference]
                if s is None:
                    n = res.values.get(p.reference)
                    cells.append("<td>–</td>" if n is None else "<td>n = 0</td>")
                else:
                    cells.append(f"<td>{s.score:.2f} [{s.ci_low:.2f}, {s.ci_high:.2f}]<br>"
                                 f"n = {s.n}</td>")
            rows.append(f'<tr><td class="name">{e(res.label)}</td>{"".join(cells)}</tr>')
    rows.append("</table>")
    return "\n".join(rows)


def _medians_table(results) -> str:

    e = html.escape
    head = "".join(f"<th>{e(p.label)}</th>" for p in PROPERTIES)
    rows = ["<p class='note'>Medians (reference medians in the last row).</p>",
            f"<table><tr><th>layer</th>{head}</tr>"]
    for mres in results.values():
        for res in mres.layers.values():
            cells = "".join("<td>–</td>" if p.reference in CIRCULAR else
                            f"<td>{fmt(_median(res.values.get(p.reference)))}</td>"
                            for p in PROPERTIES)
            rows.append(f'<tr><td class="name">{e(res.label)}</td>{cells}</tr>')
    ref_cells = [f"<td>{fmt(_reference_median(reference_distribution(p.reference)))}</td>"
                 for p in PROPERTIES]
    rows.append(f'<tr><td class="name">macaque reference</td>{"".join(ref_cells)}</tr>')
    rows.append("</table>")
    return "\n".join(rows)


def _reference_median(ref: Any) -> float | None:
    """Median of a (non-circular) reference distribution, from its CDF on a fine grid."""
    if ref.name in CIRCULAR:
        return None
    grid = np.linspace(0.0, 360.0 if ref.units == "deg" else 20.0, 20001)
    cdf = np.asarray(ref.cdf(grid), dtype=np.float64)
    above = np.flatnonzero(cdf >= 0.5)
    return float(grid[above[0]]) if above.size else None
