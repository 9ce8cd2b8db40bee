"""The compare report leads with the answer: sentences true to the numbers, one heat map,
and no figure of the report whose titles or axis labels overlap."""

import dataclasses
import html
import itertools
import json
import math

import matplotlib
import numpy as np
import pytest

import v1model.app.compare as job
from v1model.app import battery, registry, report
from v1model.app.compare_report import (
    GROUP_TITLES,
    headline,
    heatmap_figure,
    property_groups,
)
from v1model.app.registry import get_model

matplotlib.use("Agg")


def _row(value, status="published"):
    scored = value is not None and not (isinstance(value, float) and math.isnan(value))
    return {"scored": scored, "ceiled": value, "marques2021": True,
            "reference": {"status": status}}


def _summary(layers):
    """``{"model:layer": {property: ceiled or None}}`` → a summary.json-like dict."""
    models = {}
    for key, rows in layers.items():
        model, layer = key.split(":")
        entry = models.setdefault(model, {"title": model.upper(), "layers": {}})
        entry["layers"][layer] = {"similarity_to_macaque": {
            p: _row(v, "approximate" if p in ("circular_variance", "modulation_ratio")
                    else "published") for p, v in rows.items()}}
    return {"models": models}


def test_every_marques_property_has_one_group_and_the_groups_are_the_reports():
    groups = property_groups()
    assert len(groups) == 22 and set(groups.values()) == set(GROUP_TITLES)
    assert groups["surround_suppression_index"] == "size"
    assert groups["max_dc"] == groups["modulation_ratio"] == "response"
    assert groups["texture_sparseness"] == "texture"


def test_the_winner_is_the_highest_mean_and_a_group_it_loses_is_said_so():
    s = _summary({
        "v1:simple": {"peak_sf": 0.9, "sf_bandwidth": 0.9, "circular_variance": 0.5,
                      "surround_suppression_index": 0.9},
        "cnn:conv1": {"peak_sf": 0.6, "sf_bandwidth": 0.6, "circular_variance": 0.8,
                      "surround_suppression_index": 0.4},
    })
    h = headline(s)
    assert [r["label"] for r in h["ranking"]] == ["V1 · simple", "CNN · conv1"]
    assert h["ranking"][0]["mean"] == pytest.approx(0.8)
    assert h["ranking"][0]["n"] == 4
    low, high = h["ranking"][0]["ci"]
    assert 0.5 <= low <= 0.8 <= high <= 0.9
    assert h["winners"] == ["V1 · simple"]
    assert h["sentences"][0] == ("Most V1-like overall: V1 · simple (mean ceiled score 0.80 "
                                 "over 4 scored properties).")
    orientation = next(t for t in h["sentences"] if t.startswith("Orientation"))
    assert orientation == ("Orientation: CNN · conv1 is most V1-like (0.80 over 1 property), "
                           "not the best layer overall (V1 · simple).")
    sf = next(t for t in h["sentences"] if t.startswith("Spatial frequency"))
    assert sf == "Spatial frequency: V1 · simple is most V1-like (0.90 over 2 properties)."
    assert h["groups"]["orientation"]["winners"] == ["CNN · conv1"]
    assert any(t.startswith("Texture: no layer is scored") for t in h["sentences"])


def test_equal_means_are_a_tie_not_a_winner():
    s = _summary({"v1:simple": {"peak_sf": 0.8, "sf_bandwidth": 0.6},
                  "v1:complex": {"peak_sf": 0.7, "sf_bandwidth": 0.7},
                  "cnn:conv1": {"peak_sf": 0.2, "sf_bandwidth": 0.3}})
    h = headline(s)
    assert sorted(h["winners"]) == ["V1 · complex", "V1 · simple"]
    assert h["sentences"][0] == ("Most V1-like overall, tied at a mean ceiled score of 0.70: "
                                 "V1 · simple and V1 · complex.")
    sf = next(t for t in h["sentences"] if t.startswith("Spatial frequency"))
    assert sf.startswith("Spatial frequency: V1 · simple and V1 · complex tie (0.70")


def test_nan_and_unscored_properties_are_left_out_not_counted_as_zero():
    s = _summary({"v1:simple": {"peak_sf": 0.9, "sf_bandwidth": float("nan"),
                                "circular_variance": None},
                  "hmax:S1": {"peak_sf": 0.85, "sf_bandwidth": 0.1},
                  "cnn:conv1": {"peak_sf": None}})
    h = headline(s)
    best = h["ranking"][0]
    assert best["label"] == "V1 · simple" and best["n"] == 1 and best["mean"] == 0.9
    assert h["ranking"][-1]["label"] == "CNN · conv1" and h["ranking"][-1]["mean"] is None
    assert "Not scored on any property: CNN · conv1." in h["sentences"]
    assert all(np.isfinite(r["mean"]) for r in h["ranking"][:-1])
    # one scored property: the interval over properties is that property's score
    assert best["ci"] == [0.9, 0.9]


def test_no_scored_layer_says_the_report_cannot_answer():
    h = headline(_summary({"v1:simple": {"peak_sf": None}}))
    assert h["winners"] == [] and h["sentences"][0].startswith("No layer has a scored property")
    with pytest.raises(TypeError, match="summary"):
        headline([])


def test_heat_map_blanks_unscored_cells_and_marks_approximate_references():
    s = _summary({"v1:simple": {"peak_sf": 0.9, "circular_variance": 0.5},
                  "cnn:conv1": {"peak_sf": 0.6, "circular_variance": None}})
    fig = heatmap_figure(s)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "circular_variance*" in labels and "peak_sf" in labels
    data = ax.images[0].get_array()
    row = labels.index("circular_variance*")
    assert data[row, 0] == 0.5 and np.ma.is_masked(data[row, 1])
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == int(np.ma.getmaskarray(data).sum())
    assert not _overlaps(fig)


# ------------------------------------------------------------------ overlapping titles

def _texts(fig):
    out = []
    if fig._suptitle is not None:
        out.append(("suptitle", fig._suptitle))
    for i, ax in enumerate(fig.axes):
        for name in ("title", "_left_title", "_right_title"):
            out.append((f"axes {i} {name}", getattr(ax, name)))
        out.append((f"axes {i} xlabel", ax.xaxis.label))
        out.append((f"axes {i} ylabel", ax.yaxis.label))
    return [(n, t) for n, t in out if t.get_visible() and t.get_text().strip()]


def _overlaps(fig):
    """Pairs of titles/suptitle/axis labels whose rendered boxes intersect."""
    renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else None
    if renderer is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering() if hasattr(fig, "draw_without_rendering") else None
    boxes = [(n, t.get_text(), t.get_window_extent(renderer)) for n, t in _texts(fig)]
    return [(a[:2], b[:2]) for a, b in itertools.combinations(boxes, 2)
            if a[2].overlaps(b[2])]


def test_overlap_check_catches_an_overlap():
    from matplotlib.figure import Figure
    fig = Figure(figsize=(3, 3))
    top, bottom = fig.subplots(2, 1)
    top.set_title("a long title of the top panel")
    fig.suptitle("a long suptitle of the figure")
    fig.subplots_adjust(top=0.88)
    assert [pair[0][0] for pair in _overlaps(fig)] == ["suptitle"]
    fig.subplots_adjust(top=0.75)
    assert not _overlaps(fig)


@pytest.mark.slow
def test_no_figure_of_the_report_has_overlapping_titles(tmp_path, monkeypatch):
    """Every figure a (tiny) compare run draws, and the heat map, checked as drawn."""
    from test_compare_job import LAYERS, TINY, _fake_cnn, _small_hmax

    checked = []
    original = report.render

    def checking(draw, kwargs):
        fig = draw(**kwargs)
        checked.append((getattr(draw, "__name__", "?"), _overlaps(fig)))
        return original(lambda: fig, {})

    monkeypatch.setattr(report, "render", checking)
    for name, changes in (("cnn", {"factory": _fake_cnn, "available": None}),
                          ("hmax", {"factory": _small_hmax}),
                          ("spiking", {"available": lambda: "disabled by the test"})):
        monkeypatch.setitem(registry._REGISTRY, name,
                            dataclasses.replace(get_model(name), **changes))
    monkeypatch.setattr(battery, "QUICK_BATTERY", TINY)
    written = job.run_compare_job(str(tmp_path), quick=True, progress=False, seed=1,
                                  layers=LAYERS)
    with open(written["summary"], encoding="utf-8") as fh:
        summary = json.load(fh)
    checked.append(("heatmap", _overlaps(heatmap_figure(summary))))
    assert len(checked) > 10
    bad = [(name, pairs) for name, pairs in checked if pairs]
    if bad:
        pytest.fail("overlapping texts: " + "; ".join(
            f"{n}: " + ", ".join(f"{a[0]} / {b[0]}" for a, b in p) for n, p in bad))
    with open(written["report"], encoding="utf-8") as fh:
        page = fh.read()
    answer = page.index('id="answer"')
    assert answer < page.index("<h2>Models</h2>")
    for sentence in headline(summary)["sentences"]:
        assert html.escape(sentence) in page
