"""The ``v1model compare`` job: report, summary and recordings of a (tiny) battery run.

The main run uses a battery smaller than ``--quick`` (patched in) so the whole file
stays fast; what is tested is the machinery — every figure in a self-contained
report, a strict-JSON summary, loadable recordings, models that cannot run reported
rather than skipped, and argument errors that name the parameter.  The real quick
run is the ``slow`` test at the end.
"""

import base64
import dataclasses
import html
import json
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import v1model.app.compare as job
from analysis.figures.panels import cka_figure
from analysis.properties import list_properties
from analysis.recording import Recording
from analysis.reference import similarity_score
from analysis.tuning import orientation_tuning
from stimuli._shared.io import load_npz
from v1model.app import battery, compare_report, registry, report
from v1model.app.registry import get_model, list_models, model_availability
from v1model.cnn import CNN, DEFAULT_DISPLAY, Network, default_cnn_spec
from v1model.hmax import HMAX

#: Smaller than QUICK_BATTERY: enough stimuli for every fit (>= 5 orientations and sfs).
TINY = dataclasses.replace(
    battery.QUICK_BATTERY, name="tiny", size=40,
    orientations=(0.0, 30.0, 60.0, 90.0, 120.0, 150.0), phases=(0.0, 90.0, 180.0, 270.0),
    sfs=(2.0,), sf_values=(0.5, 1.0, 2.0, 4.0, 6.0),
    sf_orientations=(0.0, 90.0), size_orientations=(0.0,), size_sfs=(2.0,), rf_grid=10,
    rf_extent=1.25, n_natural=12, n_invariance=2, shifts=(0.0, 0.5), n_boot=20, curve_units=2,
    mosaic_units=4)


def _replace(monkeypatch, name, **changes):
    """Swap registered model ``name`` for a changed copy until the test (or context) ends."""
    monkeypatch.setitem(registry._REGISTRY, name,
                        dataclasses.replace(get_model(name), **changes))


def _small_hmax(display, *, seed):
    """HMAX with Serre's six smallest S1 sizes (three C1 bands): same code, less work."""
    return HMAX(display, s1={"sizes": (7, 9, 11, 13, 15, 17)},
                c1={"pool_sizes": (8, 10, 12), "pool_steps": (4, 5, 6)})


#: Without ``models``, the models owning these layers run (the spiking one is made
#: unavailable, so it must be reported as not run).
LAYERS = ["v1:simple", "v1:complex", "hmax:S1", "cnn:conv1", "spiking:simple"]


def _fake_cnn(display, *, seed):
    """An untrained CNN on the package's default 32 x 32 display (no shipped weights needed)."""
    return CNN(Network.from_spec(default_cnn_spec(3), rng=0), DEFAULT_DISPLAY)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """V1, a small HMAX and an untrained CNN (fixed 32 px display); spiking unavailable."""
    out = tmp_path_factory.mktemp("compare")
    with pytest.MonkeyPatch.context() as mp:
        _replace(mp, "cnn", factory=_fake_cnn, available=None)
        _replace(mp, "hmax", factory=_small_hmax)
        _replace(mp, "spiking", available=lambda: "disabled by the test")
        mp.setattr(battery, "QUICK_BATTERY", TINY)
        written = job.run_compare_job(str(out), quick=True, progress=False, seed=1,
                                      layers=LAYERS)
    summary = json.loads((out / "compare" / "summary.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"summary holds {c}"))
    report = (out / "compare" / "report.html").read_text()
    return out / "compare", written, summary, report


def _expected_figures(summary):
    layers = [(m, layer) for m, entry in summary["models"].items() for layer in entry["layers"]]
    rf = [(m, layer) for m, layer in layers
          if "receptive_fields" in summary["models"][m]["layers"][layer]]
    invariance = [m for m, entry in summary["models"].items()
                  if any("translation_tolerance" in v for v in entry["layers"].values())]
    if summary["score_method"] == "brainscore":   # every Marques property with a reference
        histograms = int(list_properties(include_extra=True)["scored"].sum())
    else:
        histograms = len(compare_report.HISTOGRAM_PROPERTIES)
    return (len(layers)                 # tuning curves, one figure per layer
            + histograms                # one histogram figure per property
            + 2 * len(rf) + (1 if rf else 0)  # RF mosaic + Gabor fit per layer; nx-ny
            + 1                         # F1/F0
            + (1 if invariance else 0)  # tolerance curves
            + 1)                        # CKA


def test_every_model_layer_is_in_the_summary(tiny_run):
    _, written, summary, _ = tiny_run
    assert list(summary["models"]) == ["v1", "hmax", "cnn"]
    assert {m: list(e["layers"]) for m, e in summary["models"].items()} == {
        "v1": ["simple", "complex"], "hmax": ["S1"], "cnn": ["conv1"]}
    assert summary["not_run"] == {"spiking": "disabled by the test"}
    assert written["not_run"] == summary["not_run"]
    assert summary["models"]["cnn"]["display"]["shape"] == [32, 32]
    assert summary["models"]["v1"]["display"]["shape"] == [40, 40]


def test_report_embeds_every_figure(tiny_run):
    folder, written, summary, report = tiny_run
    sources = re.findall(r'<img [^>]*src="([^"]+)"', report)
    assert len(re.findall(r"<img\b", report)) == len(sources)
    # the figures of summary.json, plus the answer's heat map drawn with the page
    answer = 1 if summary["score_method"] == "brainscore" else 0
    assert ('alt="answer_heatmap"' in report) == bool(answer)
    assert len(sources) - answer == len(summary["figures"]) == _expected_figures(summary)
    assert len(written["figures"]) == len(sources) - answer
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # self-contained: no links to other files or the network
    assert not re.search(r'(src|href)="(?!data:)', report)
    for fig in summary["figures"]:
        assert f'alt="{fig["name"]}"' in report
        assert (folder / fig["file"]).is_file()


def test_report_says_which_model_did_not_run(tiny_run):
    report = tiny_run[3]
    assert "Not run:" in report and "disabled by the test" in report


def test_summary_has_units_medians_and_scores_with_intervals(tiny_run):
    summary = tiny_run[2]
    simple = summary["models"]["v1"]["layers"]["simple"]
    # the default V1 model: its simple layer's units, every one at the centre position
    params = summary["models"]["v1"]["params"]
    assert params["source"] == "macaque"
    assert simple["n_units"] == params["n_simple"]
    assert simple["n_responsive"] == params["n_simple"]
    score = simple["similarity_to_macaque"]["circular_variance"]
    assert 0.0 <= score["ci"][0] - 1e-12 <= score["raw"] <= score["ci"][1] + 1e-12
    assert score["n_units"] == simple["n_units"]
    # the V1 model's Gabor fits recover its own units' median nx and ny (Ringach 2002's
    # histogram) from the measured maps
    assert simple["receptive_fields"]["fit_source"] == "measured"
    own = registry.build_model("v1", TINY.display(), seed=1).unit_info("simple")
    assert simple["medians"]["ringach_nx"] == pytest.approx(np.median(own["nx"]), abs=0.1)
    # the untuned stage adds a round input summed over the pool's orientations (its
    # rectified linear part has a signed ON - OFF map), which shortens the measured
    # maps along the bars, while the signed (push-pull) linear pathway, rectified after
    # the sum, keeps each unit's whole ON - OFF kernel in its map: ny is recovered
    # within -0.15 / +0.1 cycles of the kernels' own
    assert np.median(own["ny"]) - 0.15 <= simple["medians"]["ringach_ny"] <= \
        np.median(own["ny"]) + 0.1
    # full-wave rectified HMAX S1 units have no ON - OFF map: its own kernels are fitted
    assert summary["models"]["hmax"]["layers"]["S1"]["receptive_fields"]["fit_source"] == \
        "kernels"
    # the complex layer's units (mostly energy) are weakly modulated over phase, the
    # simple layer's (mostly linear) strongly: F1/F0 either side of 1 (Skottun et al.)
    complex_ = summary["models"]["v1"]["layers"]["complex"]
    assert complex_["medians"]["modulation_ratio"] < 0.7 < 1.0 < simple["medians"][
        "modulation_ratio"]
    labels = summary["cka"]["labels"]
    matrix = np.array(summary["cka"]["matrix"])
    assert matrix.shape == (4, 4) == (len(labels), len(labels))
    np.testing.assert_allclose(np.diag(matrix), 1.0, atol=1e-6)


#: Which battery step gives each Marques property group its recording (texture: always).
_GROUP_STEP = {"orientation": "orientation", "sf": "sf", "size": "size", "texture": None}


def test_summary_scores_every_marques_property_of_every_layer(tiny_run):
    summary = tiny_run[2]
    assert summary["score_method"] == "brainscore"
    props = list_properties(include_extra=True)
    status = dict(zip(props["name"].tolist(), props["reference_status"].tolist(), strict=True))
    group = dict(zip(props["name"].tolist(), props["group"].tolist(), strict=True))
    assert summary["reference_status"] == {"published": 7, "approximate": 4, "none": 11}
    for model, entry in summary["models"].items():
        for layer, data in entry["layers"].items():
            rows = data["similarity_to_macaque"]
            assert list(rows) == props["name"].tolist(), (model, layer)
            for name, row in rows.items():
                where = f"{model}:{layer}:{name}"
                assert row["reference"]["status"] == status[name], where
                assert set(row["reference"]) == {"source", "cells", "count_used", "status"}
                step = _GROUP_STEP[group[name]]
                assert row["measured"] == (step is None or step in entry["steps"]), where
                if not row["measured"]:
                    assert row["note"].startswith("not measured"), where
                    continue
                assert row["n_units"] == data["n_units"] and 0 <= row["n_defined"] <= \
                    row["n_units"], where
                if status[name] == "none":   # computed and listed, not scored, and says so
                    assert not row["scored"] and row["ceiled"] is None, where
                    assert row["note"].startswith("not scored"), where
                    assert row["median"] is not None or row["n_defined"] == 0, where
                    continue
                assert row["scored"], where
                assert 0.0 < row["ceiling"] <= 1.0, where
                # (the interval collapses onto the raw score when every resample fills
                # the reference's bins alike)
                assert 0.0 <= row["ci"][0] - 1e-12 <= row["raw"] <= row["ci"][1] + 1e-12 \
                    <= 1.0 + 1e-12, where
                np.testing.assert_allclose(row["ceiled"], row["raw"] / row["ceiling"],
                                           rtol=1e-9, err_msg=where)
    # the V1 model's orientations are drawn from De Valois et al.'s histogram
    v1 = summary["models"]["v1"]["layers"]["simple"]["similarity_to_macaque"]
    assert v1["preferred_orientation"]["ceiled"] > 0.8
    # units are split by their own pathway mix (Skottun et al.'s F1/F0 = 1 criterion):
    # the complex layer's median F1/F0 below 1, the simple layer's above
    complex_ = summary["models"]["v1"]["layers"]["complex"]["similarity_to_macaque"]
    assert complex_["modulation_ratio"]["median"] < 1.0 < v1["modulation_ratio"]["median"]


def test_texture_protocol_is_in_the_battery_of_every_layer(tiny_run):
    folder, _, summary, _ = tiny_run
    assert summary["battery"]["texture_samples"] == TINY.texture_samples
    for model, entry in summary["models"].items():
        for layer, data in entry["layers"].items():
            assert {"texture", "blank"} <= set(data["recordings"]), (model, layer)
            rec = Recording.load(folder / data["recordings"]["texture"])
            assert {"image_type", "family", "sample"} <= set(rec.conditions.names)
            assert len(rec.conditions) == 2 * 8 * TINY.texture_samples
            rows = data["similarity_to_macaque"]
            assert rows["texture_modulation_index"]["measured"], (model, layer)


def test_report_shows_ceiled_scores_ceilings_and_marks(tiny_run):
    report = html.unescape(tiny_run[3])
    assert "not comparable" not in report and "of 10 references" not in report
    assert ("Of the 22 Marques et al. (2021) properties, 7 are scored against the papers' "
            "published histograms, 4 against approximate references (marked *") in report
    assert report.count("ceiling ") >= 4 * 11       # every scored cell shows its ceiling
    assert "circular_variance*" in report and "orth_pref_ratio†" in report
    assert "mean ceiled, published references" in report


def test_score_ks_gives_the_older_1_minus_ks(tmp_path, monkeypatch):
    monkeypatch.setattr(battery, "QUICK_BATTERY", TINY)
    written = job.run_compare_job(str(tmp_path), quick=True, progress=False, seed=1,
                                  models=["v1"], layers=["simple"], score="ks")
    summary = json.loads(Path(written["summary"]).read_text())
    assert summary["score_method"] == "ks" and summary["reference_status"] is None
    layer = summary["models"]["v1"]["layers"]["simple"]
    scores = layer["similarity_to_macaque"]
    assert list(scores) == [p.reference for p in compare_report.PROPERTIES]
    # the same number as the package's 1 - KS on the recorded orientation protocol
    tab = orientation_tuning(Recording.load(tmp_path / "compare" / layer["recordings"][
        "orientation"]))
    cv = np.asarray(tab["circular_variance"])[np.asarray(tab["responsive"], bool)]
    expected = similarity_score(cv[np.isfinite(cv)], "circular_variance", n_boot=TINY.n_boot,
                                rng=1)
    assert scores["circular_variance"]["score"] == pytest.approx(expected.score, abs=1e-12)
    assert scores["circular_variance"]["ci"] == pytest.approx([expected.ci_low,
                                                               expected.ci_high], abs=1e-12)
    report = Path(written["report"]).read_text()
    assert "(1 − KS)" in report and "Brain-Score, Marques" not in report


def test_recordings_load(tiny_run):
    folder, written, summary, _ = tiny_run
    assert summary["recordings"]
    for rel in summary["recordings"]:
        path = folder / rel
        if rel.endswith("_rf_maps.npz"):
            arrays, meta = load_npz(path, "v1model.compare.rf_maps")
            assert arrays["maps"].ndim == 3 and meta["fit_source"] in ("measured", "kernels")
            continue
        rec = Recording.load(path)
        model, layer = rel.split("/")[-1].split("_")[:2]
        assert rec.meta["layer"] == layer
        assert rec.n_units == summary["models"][model]["layers"][layer]["n_units"]
    size = Recording.load(folder / "recordings" / "v1_complex_size.npz")
    assert {"radius", "orientation", "sf", "phase"} <= set(size.conditions.names)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"models": ["v2"]}, r"models must be one of 'v1', 'hmax', 'spiking', 'cnn'; got 'v2'"),
    ({"models": []}, r"models must not be empty"),
    ({"models": ["v1", "v1"]}, r"models lists a name twice"),
    ({"layers": ["S3"]}, r"layers must be one of .*'v1:simple'"),
    ({"models": ["hmax"], "layers": ["simple"]}, r"select no layer of model 'hmax'"),
    ({"models": ["v1"], "layers": ["simple", "conv1"]}, r"\['conv1'\] belong to none"),
    ({"score": "brain-score"}, r"score must be one of 'brainscore', 'ks'; got 'brain-score'"),
], ids=["unknown-model", "no-models", "repeated-model", "unknown-layer", "layer-not-in-model",
        "layer-of-unselected-model", "unknown-score"])
def test_bad_arguments_name_the_parameter(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        job.run_compare_job(str(tmp_path), progress=False, **kwargs)
    assert not (tmp_path / "compare").exists()


def test_a_named_model_that_cannot_run_raises(tmp_path, monkeypatch):
    _replace(monkeypatch, "hmax", available=lambda: "no weights")
    with pytest.raises(ValueError, match="'hmax' cannot run here: no weights"):
        job.run_compare_job(str(tmp_path), models=["hmax"], progress=False)
    # not named, but nothing else selected: still an error, before anything is written
    with pytest.raises(ValueError, match="no selected model can run here: 'hmax': no weights"):
        job.run_compare_job(str(tmp_path), layers=["C1"], progress=False)
    assert not (tmp_path / "compare").exists()


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"quick": "yes"}, TypeError), ({"progress": 1}, TypeError), ({"seed": -1}, ValueError),
    ({"models": [3]}, TypeError)], ids=["quick", "progress", "seed", "model-type"])
def test_bad_argument_types(tmp_path, kwargs, error):
    with pytest.raises(error):
        job.run_compare_job(str(tmp_path), **kwargs)


def test_model_availability_names_the_reason():
    assert model_availability(["v1"]) == {"v1": None}
    with pytest.raises(ValueError, match="model must be one of 'v1', 'hmax'"):
        model_availability(["alexnet"])


@pytest.mark.slow
def test_quick_run_of_every_available_model(tmp_path):
    written = job.run_compare_job(str(tmp_path), quick=True, progress=False)
    summary = json.loads(Path(written["summary"]).read_text())
    ran = [m for m in list_models() if m not in written["not_run"]]
    assert list(summary["models"]) == ran
    report = Path(written["report"]).read_text()
    answer = 1 if summary["score_method"] == "brainscore" else 0   # the answer's heat map
    assert len(re.findall(r"<img\b", report)) == _expected_figures(summary) + answer


def test_a_process_pool_draws_what_this_process_draws_and_reports_errors():
    good = report.FigureJob("cka", "cka", "", None, cka_figure,
                          {"matrix": np.eye(2), "labels": ["a", "b"], "title": "t"})
    bad = dataclasses.replace(good, name="bad", kwargs=dict(good.kwargs, labels=["a"]))
    here = report.collect(report.draw_all(None, [good]))
    with pytest.raises(ValueError, match="must match"):   # serial: raised on collection
        report.collect(report.draw_all(None, [bad]))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        drawn = report.draw_all(pool, [good, bad])
        assert drawn[0][1].result()[0] == here[0]["png"]
        with pytest.raises(ValueError, match="must match"):
            report.collect(drawn)


def test_cli_rejects_an_unknown_score_method(tmp_path, capsys):
    from v1model.app.cli import main
    with pytest.raises(SystemExit) as info:
        main(["compare", "--out", str(tmp_path), "--score", "brain-score"])
    assert info.value.code == 2
    assert "--score: invalid choice: 'brain-score'" in capsys.readouterr().err
    assert not (tmp_path / "compare").exists()


def test_benchmark_table_lists_every_property_and_layer(tiny_run):
    import importlib.util
    path = Path(__file__).parents[1] / "benchmarks" / "compare_table.py"
    spec = importlib.util.spec_from_file_location("compare_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    summary = tiny_run[2]
    lines = module.table(summary).splitlines()
    n_layers = sum(len(e["layers"]) for e in summary["models"].values())
    n_pooled = len(summary["population_scores"])    # one more column per pooled model
    assert len(lines) == 2 + 23 + 2 and lines[0].count("|") == n_layers + n_pooled + 3
    assert lines[0].endswith("| v1:simple+complex (pooled) |")
    row = next(line for line in lines if line.startswith("| preferred_orientation |"))
    ceiled = summary["models"]["v1"]["layers"]["simple"]["similarity_to_macaque"][
        "preferred_orientation"]["ceiled"]
    assert row.split(" | ")[2] == f"{ceiled:.2f}"
    with pytest.raises(ValueError, match="no Brain-Score scores"):
        module.table(dict(summary, score_method="ks"))


def test_one_population_model_is_also_scored_pooled(tiny_run):
    # the V1 model divides one population into simple and complex by F1/F0: pooled, its
    # F1/F0 holds both modes, which each layer alone cannot, and it scores higher there
    _, _, summary, _ = tiny_run
    pooled = summary["population_scores"]
    assert list(pooled) == ["v1"]       # spiking did not run; HMAX and the CNN are stages
    assert pooled["v1"]["layers"] == ["simple", "complex"]
    layers = summary["models"]["v1"]["layers"]
    n = {name: layers[name]["similarity_to_macaque"]["modulation_ratio"]["n_units"]
         for name in ("simple", "complex")}
    row = pooled["v1"]["properties"]["modulation_ratio"]
    assert row["n_units"] == n["simple"] + n["complex"]
    per_layer = [layers[name]["similarity_to_macaque"]["modulation_ratio"]["ceiled"]
                 for name in ("simple", "complex")]
    assert row["ceiled"] > max(per_layer)
    medians = [layers[name]["similarity_to_macaque"]["modulation_ratio"]["median"]
               for name in ("simple", "complex")]
    assert medians[0] > 1.0 > medians[1]   # each layer one side of Skottun's split
