"""The ``v1model compare`` job: one protocol battery through every model, one report.

Kept apart from the argument parsing in :mod:`v1model.app.cli` so scripts can call
:func:`run_compare_job` directly.  (A model never imports ``analysis``; this job is
an application that uses both, like the CLI.)

The models are those of the model registry (:mod:`v1model.app.registry`) — name →
how to build the model, which of its layers can be compared, which protocols of the
battery it runs and how its receptive fields are mapped — so a new model family is
one :func:`~v1model.app.registry.register_model` call.  An entry
whose module (or data, such as the CNN's pretrained weights) is missing is never
skipped silently: asking for it by name raises, and a run over the default models
lists it as *not run*, with the reason, in ``summary.json``, at the top of the
report and on stderr.

Models from outside the registry run too: ``"module:callable"`` specs
(``v1model compare --model mypkg.mymodule:make_model``) and model objects
(:func:`compare_models`).  Every model is checked before the battery runs it; one
whose factory raises, that lacks the model interface, whose entry names layers it
does not have, whose display cannot show the battery, or on which the battery
fails is *skipped* — the others run, and ``summary.json`` (``"skipped"``), the
report's "Skipped models" section and stderr say why.

The battery (sizes in :data:`~v1model.app.battery.DEFAULT_BATTERY` and
:data:`~v1model.app.battery.QUICK_BATTERY`):

* **orientation** — static gratings, orientation × phase × sf (Marques, Schrimpf &
  DiCarlo 2021): preferred orientation, circular variance, half-bandwidth; F1/F0
  over phase for static models.
* **sf** — static gratings, sf × orientation × phase: peak sf and bandwidth.
* **size** — gratings in apertures of growing radius at a few orientations and sfs;
  each unit's curve at its best orientation and sf: surround suppression index and
  grating summation field (Cavanaugh, Bair & Movshon 2002).
* **rf** — single light and dark squares on a grid around the display centre
  (:func:`stimuli.protocols.rf_mapping`, ``method="sparse_noise"``); ON − OFF maps,
  2-D Gabor fits and Ringach's (2002) nx, ny.
* **drifting** — drifting gratings, direction × sf (spiking layer): F1/F0 at the
  stimulus temporal frequency (Skottun et al. 1991) and direction tuning.
* **invariance** — translation tolerance curves on natural-image patches
  (:mod:`analysis.invariance`), for models with a retinotopic map of positions.
* **texture** — naturalistic textures and spectrally matched noise, 8 families ×
  ``texture_samples`` crops (:func:`stimuli.protocols.texture_families`; Freeman,
  Ziemba et al. 2013), for every model and layer: the seven texture properties.
* **blank** — one blank (mean grey) screen (:func:`stimuli.protocols.blank_screen`),
  every model and layer: the spontaneous response of Brain-Score's firing-rate map.
* **CKA** — linear CKA between every compared layer's centre units on one shared set
  of natural-image patches (rendered in degrees, so models with smaller displays see
  the central part of the same patches).

Units are recorded with ``units="centre"``: every channel at the map position nearest
the display centre.

Scores.  By default (``score="brainscore"``) every layer's 22 Marques et al. (2021)
properties are computed with Brain-Score's definitions
(:func:`analysis.properties.marques_properties`, ``method="brainscore"``, the blank
screen as baseline) and scored against the published histograms of
``analysis/data/marques2021_v1.json`` (:func:`analysis.properties.score_properties`):
raw score, bootstrap interval, the data's ceiling and the ceiled score, with each
reference's provenance; properties whose reference has no numbers are computed and
listed, not scored.  ``score="ks"`` gives the package's older ``1 − KS`` of ten
properties against the ``"macaque_v1"`` references instead.

With a :class:`concurrent.futures.Executor` passed in (the command line passes a pool
of two worker processes), the registered models go through the battery on its workers,
side by side and longest first (each worker builds the model from its registry entry
and battery options, runs the battery and the analyses, fits the receptive fields and
sends back the per-layer results); models given as objects or ``module:callable``
specs, and entries that cannot be sent to another process, run in the calling process.
The tuning figures of a model are drawn on the executor as soon as its results arrive,
and the other figures once every model is in.  Results, report and summary are in the
order of the selection whatever the order in which the models finish, and a model that
fails on a worker is skipped with the reason it would have here.  Without an executor,
everything runs in the calling process, in turn.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import pickle
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future, as_completed
from typing import Any

import numpy as np

from analysis.properties import score_properties
from analysis.reference import similarity_score
from analysis.representations import cka_matrix
from stimuli._shared.io import atomic_open, save_npz
from stimuli._shared.validation import check_bool, check_choice, check_int
from stimuli.display import Display
from stimuli.table import Table
from v1model.app import battery as batteries
from v1model.app import compare_report
from v1model.app.battery import Battery
from v1model.app.compare_battery import (
    LayerResult,
    Log,
    ModelResult,
    finish_receptive_fields,
    natural_patches,
    on_display,
    run_battery,
)
from v1model.app.compare_figures import (
    rf_figure_jobs,
    summary_figure_jobs,
    tuning_figure_jobs,
)
from v1model.app.compare_report import PROPERTIES
from v1model.app.outdir import staged_output
from v1model.app.registry import (
    RegisteredModel,
    build_model,
    entry_point_errors,
    get_model,
    model_availability,
)
from v1model.app.report import FigureJob, collect, draw_all, submit
from v1model.app.selection import _build_outside, _requested, _selection
from v1model.base import check_model

__all__ = ["SCORE_METHODS", "compare_models", "run_compare_job"]

#: How ``v1model compare`` scores layers against macaque V1 (the first is the default).
SCORE_METHODS = ("brainscore", "ks")

# ================================================================== results

def run_compare_job(out_dir: str, *, quick: bool = False, models: Sequence[str] | None = None,
                    layers: Sequence[str] | None = None, progress: bool = True,
                    seed: int = 0, executor: Executor | None = None,
                    score: str = "brainscore") -> dict[str, Any]:
    """Run the protocol battery through every model; write a report, a summary and recordings.

    Writes into ``out_dir/compare/``: ``report.html`` (self-contained: figures embedded
    as base64 PNG, no external files), ``summary.json`` (per model and layer: number of
    units, medians and similarity scores to macaque V1 with bootstrap CIs; CKA; tolerance
    curves; timings), ``recordings/*.npz`` (every :class:`analysis.recording.Recording`,
    loadable with ``Recording.load``, plus RF maps and fits), ``tables/*.csv`` (per-unit
    metrics) and ``figures/*.png`` (the report's figures).

    Parameters
    ----------
    out_dir : str
        Output directory (created if missing).  ``out_dir/compare`` is written as a
        unit (:func:`~v1model.app.outdir.staged_output`): an earlier complete report
        there stays untouched until this run has completed.
    quick : bool
        Use :data:`~v1model.app.battery.QUICK_BATTERY` (smaller display and
        protocols) instead of :data:`~v1model.app.battery.DEFAULT_BATTERY`.
    models : sequence or dict, optional
        Registered names (:func:`~v1model.app.registry.list_models`: ``"v1"``,
        ``"hmax"``, ``"spiking"``, ``"cnn"``), ``"module:callable"`` specs (the callable
        is called as ``factory(display, seed=seed)`` if it takes ``seed``, else
        ``factory(display)``, with the battery's display) and built model objects (on a
        display at the battery's pixels per degree, no larger than its display), or a
        dict of name to those; default all registered models.  A named registered model
        that cannot run here raises; by default such models are listed as not run.  A
        model whose factory raises, that lacks the model interface, whose entry names
        layers it does not have, or whose display cannot show the battery is *skipped*:
        the others run, and the reason is in ``summary.json`` (``"skipped"``), in the
        report's "Skipped models" section and on stderr.
    layers : sequence of str, optional
        Layer names (``"simple"``) or model-qualified names (``"v1:simple"``); a bare
        name selects that layer in every selected model that has it.  Default: each
        entry's ``default_layers``.  Without ``models``, only models with a selected
        layer run.
    progress : bool
        Show progress bars and stage messages on stderr.
    seed : int
        Seed of the natural-image patches, the spiking layer's noise and the bootstrap.
    executor : concurrent.futures.Executor, optional
        Where the registered models run, side by side (longest first), and the
        figures are drawn (the command line passes a pool of two processes, one
        BLAS thread each).  None: here, in turn.  The numbers do not depend on it,
        unless its workers use another number of BLAS threads than this process:
        float32 BLAS sums then round differently (relative differences ~1e-7 in
        medians and CKA of the V1 model and HMAX; the scores are the same).
    score : {"brainscore", "ks"}
        ``"brainscore"`` (default): the 22 Marques et al. (2021) properties with
        Brain-Score's definitions against the published histograms — raw score,
        ceiling and ceiled score per property and layer.  ``"ks"``: the package's
        older ``1 − KS`` of ten properties against the ``"macaque_v1"`` references.

    Returns
    -------
    dict
        ``report``, ``summary`` (paths), ``recordings``, ``tables``, ``figures`` (lists of
        paths), ``not_run`` and ``skipped`` (model name → reason) and ``seconds`` (wall
        time).

    Raises
    ------
    ValueError
        If ``models`` or ``layers`` name something unknown (the message lists the
        choices), select nothing, repeat a name, a named model cannot run here, or no
        model could be run at all; or ``score`` is not one of :data:`SCORE_METHODS`.
    TypeError
        If ``quick``/``progress`` are not booleans or names are not strings.

    Examples
    --------
    >>> run_compare_job("out", models=["v2"])
    Traceback (most recent call last):
    ...
    ValueError: models must be one of 'v1', 'hmax', 'spiking', 'cnn'; got 'v2'
    >>> run_compare_job("out", score="brain-score")
    Traceback (most recent call last):
    ...
    ValueError: score must be one of 'brainscore', 'ks'; got 'brain-score'
    >>> paths = run_compare_job("out", quick=True, models=["v1"])  # doctest: +SKIP
    """
    check_bool("quick", quick)
    check_bool("progress", progress)
    seed = check_int("seed", seed, minimum=0)
    check_choice("score", score, SCORE_METHODS)
    battery = batteries.QUICK_BATTERY if quick else batteries.DEFAULT_BATTERY
    log = Log(progress)
    registered, requested = _requested(models)
    # models from outside the registry are built first (their layers are known only then);
    # one that fails is skipped, with the reason, and the others run
    skipped: dict[str, str] = {f"entry point {k}": v for k, v in entry_point_errors().items()}
    outside: dict[str, RegisteredModel] = {}
    built: dict[str, Any] = {}
    for name, (kind, payload, named) in requested.items():
        try:
            built[name], outside[name] = _build_outside(name, kind, payload, battery.display(),
                                                        seed, named)
        except Exception as exc:  # noqa: BLE001 - reported, and the battery goes on
            skipped[name] = _reason(exc)
    if requested and not outside and not registered:
        raise ValueError("no model could be built: " + "; ".join(
            f"{k!r}: {v}" for k, v in skipped.items()))
    selection = _selection(registered, layers, outside)
    availability = model_availability([n for n in selection if n not in outside])
    if registered is not None:
        missing = {k: v for k, v in availability.items() if v is not None}
        if missing:
            raise ValueError("models " + "; ".join(f"{k!r} cannot run here: {v}"
                                                   for k, v in missing.items()))
    not_run = {k: v for k, v in availability.items() if v is not None}
    if len(not_run) == len(selection):
        raise ValueError("no selected model can run here: " + "; ".join(
            f"{k!r}: {v}" for k, v in not_run.items()))
    for name, reason in not_run.items():
        log.warn(f"model {name!r} NOT RUN: {reason}")
    # written into a temporary sibling of out_dir/compare, swapped in only when complete
    with staged_output(os.path.join(os.fspath(out_dir), "compare")) as stage:
        written = _compare_into(stage.path, selection, not_run, battery, log, quick=quick,
                                progress=progress, seed=seed, executor=executor, score=score,
                                outside=outside, built=built, skipped=skipped)
    written = stage.final(written)
    log.info(f"report written to {written['report']} ({written['seconds']:.1f} s)")
    return written


def _compare_into(folder: str, selection: dict[str, tuple[str, ...]], not_run: dict[str, str],
                  battery: Battery, log: Log, *, quick: bool, progress: bool, seed: int,
                  executor: Executor | None, score: str, outside: dict[str, RegisteredModel],
                  built: dict[str, Any], skipped: dict[str, str]) -> dict[str, Any]:
    """The job of :func:`run_compare_job` with every file written under ``folder``."""
    total = _Clock()
    dirs = {k: os.path.join(folder, k) for k in ("recordings", "tables", "figures")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    written: dict[str, Any] = {"recordings": [], "tables": [], "figures": [], "not_run": not_run,
                               "skipped": skipped}
    timing: dict[str, dict[str, float]] = {}

    natural = natural_patches(battery, seed)
    runs: dict[str, dict[str, Any]] = {}
    tuning_figures: dict[str, list[tuple[FigureJob, Future]]] = {}
    scored: dict[tuple[str, str], dict] = {}
    order = [name for name in selection if name not in not_run]
    # registered models run on the executor's workers (longest first), the others here
    in_workers = ([] if executor is None else
                  sorted((n for n in order if n not in outside and _sendable(get_model(n))),
                         key=lambda n: -_EXPECTED_COST.get(n, _DEFAULT_COST)))
    parallel = _Clock()
    pending = {executor.submit(_battery_job, _for_worker(get_model(name)), selection[name],
                               battery, natural, quick=quick, progress=progress, seed=seed):
               name for name in in_workers}
    for name in in_workers:
        log.info(f"[{get_model(name).title}] running in a worker process")

    def arrived(name: str, run: dict[str, Any]) -> None:
        runs[name] = run
        if "layers" not in run:
            return
        # tuning figures are drawn while the other models run
        tuning_figures[name] = draw_all(executor, tuning_figure_jobs(run["layers"], battery))
        if name in in_workers:
            log.info(f"[{get_model(name).title}] done in its worker "
                     f"({run['timing']['wall_s']:.1f} s)")
            if any(n not in runs for n in in_workers):   # scored while the workers go on
                for layer, res in run["layers"].items():
                    scored[(name, layer)] = _layer_scores(res, battery, seed, score)

    for name in order:
        if name not in in_workers:
            entry = outside.get(name) or get_model(name)
            arrived(name, _run_model(name, entry, selection[name], battery, natural,
                                     built.get(name), quick=quick, progress=progress, seed=seed,
                                     log=log, executor=executor))
    for future in as_completed(pending):
        name = pending[future]
        try:
            run = future.result()
        except Exception as exc:  # noqa: BLE001 - a worker that died: reported, the rest goes on
            run = {"skipped": f"its worker process failed: {_reason(exc)}"}
        arrived(name, run)
    parallel_time = parallel.read()

    # results, figures and skipped models in the order of the selection, whatever the
    # order in which they finished
    results: dict[str, ModelResult] = {}
    figures: list[tuple[FigureJob, Future]] = []
    for name in order:
        run = runs[name]
        if "skipped" in run:
            skipped[name] = run["skipped"]
            continue
        entry = outside.get(name) or get_model(name)
        timing[f"model:{name}"] = run["timing"]
        results[name] = ModelResult(entry, run["layers"], run["display"], run["params"],
                                     run["timing"]["wall_s"], run["steps"])
        figures += tuning_figures[name]
    if in_workers:
        timing["models_in_parallel"] = parallel_time
    for name, reason in skipped.items():
        log.warn(f"model {name!r} SKIPPED: {reason}")
    if not results:
        raise ValueError("no model could be run: " + "; ".join(
            f"{k!r}: {v}" for k, v in skipped.items()))

    clock = _Clock()
    log.info("fitting receptive fields and scoring against macaque reference data")
    for mres in results.values():
        for res in mres.layers.values():
            finish_receptive_fields(res)
            _write_layer(res, dirs, written)
        figures += draw_all(executor, rf_figure_jobs(mres.layers, battery))
    scores = _scores(results, battery, seed, score, done=scored)
    pooled = _pooled_scores(results, battery, seed, score)
    cka = _cka(results)
    timing["fits_scores_and_cka"] = clock.read()

    clock = _Clock()
    log.info("drawing figures")
    # the answer's heat map too, rather than here once every figure is in
    answer = (submit(executor, compare_report.answer_heatmap_png,
                     summary=compare_report._summary_like(results, scores))
              if score == "brainscore" else None)
    figures += draw_all(executor, summary_figure_jobs(results, scores, cka, battery, score,
                                                       pooled))
    figures = collect(figures)
    timing["figures_after_models"] = clock.read()
    timing["figures_after_models"]["cpu_s"] = sum(f["cpu_s"] for f in figures)
    for fig in figures:
        path = os.path.join(dirs["figures"], f"{fig['name']}.png")
        with atomic_open(path, "wb") as fh:
            fh.write(fig["png"])
        written["figures"].append(path)
    timing["total"] = total.read()
    if executor is not None:
        # the workers' CPU is not this process's: add what they report (the models run
        # there and every figure; not their start-up)
        timing["total"]["cpu_s"] += (
            sum(timing[f"model:{name}"]["cpu_s"] for name in in_workers if name in results)
            + timing["figures_after_models"]["cpu_s"])
    _write_report(folder, written, (results, scores, cka, figures, battery, not_run, timing,
                                    skipped), seed=seed, quick=quick, score=score,
                  answer_png=None if answer is None else answer.result(), pooled=pooled)
    written["seconds"] = total.read()["wall_s"]
    return written


#: Rough relative cost of the built-in models' batteries: the executor's workers take
#: the longest first, so the last model to finish is a short one.
_EXPECTED_COST = {"spiking": 4.0, "v1": 3.0, "hmax": 2.0, "cnn": 1.0}
_DEFAULT_COST = 2.0


def _run_model(name: str, entry: RegisteredModel, chosen: Sequence[str], battery: Battery,
               natural: np.ndarray, model: Any, *, quick: bool, progress: bool, seed: int,
               log: Log, executor: Executor | None) -> dict[str, Any]:
    """Build (unless ``model`` is given) and run one model through the battery.

    Returns ``{"layers", "display", "params", "steps", "timing"}``, or ``{"skipped":
    reason}`` when the model cannot be built or checked, or the battery fails on it.
    """
    clock = _Clock()
    log.info(f"[{entry.title}] building the model")
    try:
        if model is None:
            model = _build_registered(name, entry, battery, seed)
        _check_runnable(name, entry, model, chosen, battery, full=name not in _BUILT_IN)
    except Exception as exc:  # noqa: BLE001 - reported, and the battery goes on
        return {"skipped": _reason(exc)}
    steps = entry.quick_steps if quick else entry.steps
    log.info(f"[{entry.title}] layers {', '.join(chosen)}: {', '.join(steps)}")
    try:
        layer_results = run_battery(model, entry, chosen, steps, battery, natural,
                                     progress, log, executor)
    except Exception as exc:  # noqa: BLE001 - reported, and the battery goes on
        return {"skipped": f"the battery failed on it: {_reason(exc)}"}
    params = getattr(model, "params", None)
    return {"layers": layer_results, "display": model.display,
            "params": params if isinstance(params, dict) else {"repr": repr(model)},
            "steps": steps, "timing": clock.read()}


def _build_registered(name: str, entry: RegisteredModel, battery: Battery, seed: int) -> Any:
    """Registered model ``name`` on the battery's display (or its own) with its options."""
    display = entry.display or battery.display()
    options = battery.model_options(name)
    try:
        registered = _for_worker(get_model(name))
    except ValueError:
        registered = None
    if registered == _for_worker(entry):
        return build_model(name, display, seed=seed, **options)
    # a worker process whose registry differs from the parent's (an entry registered
    # or replaced at run time): the entry sent along is the one that counts
    return entry.factory(display, seed=seed, **options)


def _for_worker(entry: RegisteredModel) -> RegisteredModel:
    """The entry as sent to a worker (availability was checked here, and need not pickle)."""
    return dataclasses.replace(entry, available=None)


def _sendable(entry: RegisteredModel) -> bool:
    """Whether the entry can go to a worker process (its factory and kernels pickle)."""
    try:
        pickle.dumps(_for_worker(entry))
    except Exception:  # noqa: BLE001 - any pickling failure: the model runs here instead
        return False
    return True


def _battery_job(entry: RegisteredModel, chosen: Sequence[str], battery: Battery,
                 natural: np.ndarray, *, quick: bool, progress: bool,
                 seed: int) -> dict[str, Any]:
    """One registered model through the battery in a worker process (see :func:`_run_model`).

    The receptive fields are fitted here, and the result holds only picklable data;
    its ``timing`` is this process's wall and CPU time for the model.
    """
    if multiprocessing.parent_process() is not None:
        # tqdm (stage messages, disabled bars) would create a multiprocessing lock here,
        # which a worker stopped by Ctrl-C leaves behind ("leaked semaphore" warnings at
        # exit); a worker's messages need no lock across processes
        from tqdm import std as tqdm_std
        if not hasattr(tqdm_std.TqdmDefaultWriteLock, "mp_lock"):
            tqdm_std.TqdmDefaultWriteLock.mp_lock = None
    # no progress bars from several processes at once; stage messages still go to stderr
    run = _run_model(entry.name, entry, chosen, battery, natural, None, quick=quick,
                     progress=False, seed=seed, log=Log(progress), executor=None)
    for res in run.get("layers", {}).values():
        finish_receptive_fields(res)
    return run


def compare_models(models: Any, out: str, *, quick: bool = False,
                   layers: Sequence[str] | None = None, progress: bool = False, seed: int = 0,
                   executor: Executor | None = None,
                   score: str = "brainscore") -> dict[str, Any]:
    """Compare model objects (and registered models) with macaque V1: the ``compare`` job in Python.

    The Python face of ``v1model compare``: the same battery, the same files in
    ``out/compare/`` (``report.html``, ``summary.json``, recordings, tables,
    figures), and it returns the summary the command line writes.

    It lives in :mod:`v1model.app` rather than as ``analysis.compare`` (the name the
    design discussion used): ``analysis`` must not import the application layer
    (the import contracts in ``pyproject.toml``), and the comparison needs the
    model registry, the battery and the report, which live here.

    Parameters
    ----------
    models : sequence or dict
        Model objects (anything meeting :class:`v1model.base.Model`, e.g.
        ``V1Model(display)``, ``TorchModel(net, display, layers=[...])`` or your own),
        registered names (``"v1"``, ``"hmax"``...) and ``"module:callable"`` specs,
        or a dict of name to those (the names used in the report and file names).
        Objects must be built on a display at the battery's pixels per degree and no
        larger than its display: :data:`~v1model.app.battery.QUICK_BATTERY` ``.display()``
        (40 × 40 px at 16 px/deg) with ``quick=True``,
        :data:`~v1model.app.battery.DEFAULT_BATTERY` ``.display()`` (64 × 64) otherwise.
    out : str
        Output directory (created if missing); files go to ``out/compare/``.
    quick : bool
        The quick battery (``v1model compare --quick``).
    layers : sequence of str, optional
        Layers to compare (bare or ``"name:layer"``); default every layer of an
        object and each registered model's default layers.
    progress : bool
        Progress bars and stage messages on stderr (off by default in notebooks).
    seed : int
        Seed of every random draw.
    executor : concurrent.futures.Executor, optional
        Where registered models run and figures are drawn (see
        :func:`run_compare_job`); None: in this process.

    Returns
    -------
    dict
        The content of ``summary.json``: ``models`` (per model and layer: units,
        medians, similarity to macaque V1 with bootstrap intervals), ``skipped`` and
        ``not_run`` (name → reason), ``cka``, ``figures``, ``timing``...; the report
        is ``out/compare/report.html``.

    Raises
    ------
    ValueError, TypeError
        As :func:`run_compare_job`; a model that cannot go through the battery is
        skipped (see ``summary["skipped"]``), not raised, unless none can.

    Examples
    --------
    >>> from v1model import V1Model
    >>> from v1model.app.battery import QUICK_BATTERY
    >>> mine = V1Model.grid(QUICK_BATTERY.display(), stride=8, sfs=[2.0])
    >>> summary = compare_models({"mine": mine, "hmax": "hmax"}, "out",
    ...                          quick=True)  # doctest: +SKIP
    >>> summary["models"]["mine"]["layers"]["simple"]["n_units"]  # doctest: +SKIP
    48
    """
    written = run_compare_job(out, quick=quick, models=models, layers=layers,
                              progress=progress, seed=seed, executor=executor, score=score)
    with open(written["summary"], encoding="utf-8") as fh:
        return json.load(fh)


def _write_report(folder: str, written: dict[str, Any], parts: tuple, *, seed: int,
                  quick: bool, score: str, answer_png: bytes | None = None,
                  pooled: dict | None = None) -> None:
    """Write ``summary.json`` and ``report.html``; add their paths to ``written``."""
    results, scores, cka, figures, battery, not_run, timing, skipped = parts
    summary = compare_report.summary(results, scores, cka, figures, battery, not_run, timing,
                                     seed, quick, folder, written, score=score,
                                     skipped=skipped)
    summary["population_scores"] = {
        name: {"title": results[name].entry.title, "layers": list(p["layers"]),
               "properties": compare_report.marques_rows(p["result"], p["rows"])}
        for name, p in (pooled or {}).items()}
    summary_path = os.path.join(folder, "summary.json")
    with atomic_open(summary_path) as fh:
        json.dump(summary, fh, indent=1, allow_nan=False)
    report_path = os.path.join(folder, "report.html")
    with atomic_open(report_path) as fh:
        fh.write(compare_report.report_html(*parts[:-1], score=score, skipped=skipped,
                                            answer_png=answer_png))
    written.update(report=report_path, summary=summary_path)


#: Registered models whose contract the package's own tests check; the job checks only
#: their chosen layers' names (a full check_model run would simulate the spiking layer).
_BUILT_IN = ("v1", "hmax", "spiking", "cnn")


def _reason(exc: BaseException) -> str:
    """One line saying why a model was skipped."""
    return f"{type(exc).__name__}: {exc}"


def _check_runnable(name: str, entry: RegisteredModel, model: Any, layers: Sequence[str],
                    battery: Battery, *, full: bool) -> None:
    """Raise, naming the model, if ``model`` cannot go through the battery.

    Checks that it has the model interface, that the entry's ``layers`` are among
    its own, that its display shows the shared natural patches (same pixels per
    degree, no larger) and, with ``full``, runs :func:`v1model.base.check_model` on
    the chosen layers.
    """
    kind = type(model).__name__
    missing = [a for a in ("display", "layers", "temporal", "responses", "unit_info")
               if not hasattr(model, a)]
    if missing:
        raise TypeError(f"model {name!r}: its factory returned a {kind} without "
                        f"{', '.join(map(repr, missing))} (see v1model.base.Model)")
    own = tuple(model.layers)
    unknown = [layer for layer in entry.layers if layer not in own]
    if unknown:
        raise ValueError(f"model {name!r}: the registry entry names layers {unknown} that the "
                         f"built {kind} does not have (its layers are {own})")
    if not isinstance(model.display, Display):
        raise TypeError(f"model {name!r}: display must be a stimuli.Display, got "
                        f"{model.display!r}")
    try:
        on_display(np.zeros((1, battery.size, battery.size)), battery.pixels_per_degree,
                    model.display)
    except ValueError as exc:
        raise ValueError(f"model {name!r}: {exc}; build it on a display of at most "
                         f"{battery.size} x {battery.size} px at {battery.pixels_per_degree:g} "
                         "px/deg") from None
    if full:
        try:
            check_model(model, layers=list(layers))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"model {name!r}: {exc}") from exc


class _Clock:
    """Wall-clock and CPU seconds since creation: CPU of every thread of this process plus
    that of finished child processes (the figure workers) where the OS reports it."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), _cpu_seconds()

    def read(self) -> dict[str, float]:
        return {"wall_s": time.perf_counter() - self.wall, "cpu_s": _cpu_seconds() - self.cpu}


def _cpu_seconds() -> float:
    seconds = time.process_time()
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows: children not counted
        return seconds
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds + usage.ru_utime + usage.ru_stime


def _write_layer(res: LayerResult, dirs: dict[str, str], written: dict[str, Any]) -> None:
    stem = f"{res.model}_{res.layer}"
    for step, rec in res.recordings.items():
        path = os.path.join(dirs["recordings"], f"{stem}_{step}.npz")
        rec.save(path)
        written["recordings"].append(path)
    for name, tab in res.tables.items():
        path = os.path.join(dirs["tables"], f"{stem}_{name}.csv")
        tab.to_csv(path)
        written["tables"].append(path)
    if res.rf is not None:
        path = os.path.join(dirs["recordings"], f"{stem}_rf_maps.npz")
        save_npz(path, {"maps": res.rf["maps"], "on": res.rf["on"], "off": res.rf["off"],
                        "fit_maps": res.rf["fit_maps"]},
                 {"kind": "v1model.compare.rf_maps", "model": res.model, "layer": res.layer,
                  "pixels_per_degree": res.rf["pixels_per_degree"],
                  "fit_pixels_per_degree": res.rf["fit_ppd"], "fit_source": res.rf["source"]})
        written["recordings"].append(path)


# ------------------------------------------------------------------ scores and CKA

def _scores(results: dict[str, ModelResult], battery: Battery, seed: int,
            method: str = "brainscore", done: dict | None = None) -> dict:
    """Each layer's scores against macaque V1.

    ``"brainscore"``: ``{(model, layer): {property: row of score_properties}}`` (one
    dict per computed Marques property; empty when none was computed).  ``"ks"``:
    ``{(model, layer): {reference: SimilarityScore or None}}`` over :data:`PROPERTIES`.
    Layers already in ``done`` (scored while other models ran) are taken from it:
    each layer's scores depend on that layer and the seed only.
    """

    out: dict = {}
    for name, mres in results.items():
        for layer, res in mres.layers.items():
            key = (name, layer)
            out[key] = (done[key] if done is not None and key in done
                        else _layer_scores(res, battery, seed, method))
    return out


def _layer_scores(res: LayerResult, battery: Battery, seed: int, method: str) -> dict:
    """One layer's scores (see :func:`_scores`)."""
    if method == "brainscore":
        row_of: dict[str, dict[str, Any]] = {}
        if res.marques is not None:
            tab = score_properties(res.marques, method="brainscore", n_boot=battery.n_boot,
                                   rng=seed)
            row_of = {str(tab["property"][i]): tab.row(i) for i in range(len(tab))}
        return row_of
    row = {}
    for prop in PROPERTIES:
        vals = res.values.get(prop.reference)
        if vals is None or len(vals) == 0:
            row[prop.reference] = None
            continue
        row[prop.reference] = similarity_score(np.asarray(vals, dtype=np.float64),
                                               prop.reference, n_boot=battery.n_boot, rng=seed)
    return row


#: Registered models whose layers divide one population by response class: the V1
#: model (and the spiking layer it drives) assigns each unit to ``simple`` or ``complex``
#: by its F1/F0.  Brain-Score scores a model's V1 as one population, whose F1/F0 is
#: bimodal where each layer alone holds one mode, so these are also scored pooled.
ONE_POPULATION = {"v1": ("simple", "complex"), "spiking": ("simple", "complex")}


def _pooled_scores(results: dict[str, ModelResult], battery: Battery, seed: int,
                   method: str) -> dict[str, dict[str, Any]]:
    """Brain-Score rows of each :data:`ONE_POPULATION` model with its layers pooled.

    Model name → ``layers``, ``rows`` (property → row of ``score_properties``) and
    ``result`` (a stand-in layer holding the pooled ``marques`` table; units of later
    layers numbered after the earlier ones).  Only in ``"brainscore"`` mode, and only
    where every one of the model's pooled layers ran with its Marques properties.
    """
    if method != "brainscore":
        return {}
    out = {}
    for name, layers in ONE_POPULATION.items():
        parts = [results[name].layers.get(layer) if name in results else None
                 for layer in layers]
        if any(res is None or res.marques is None for res in parts):
            continue
        columns: dict[str, list] = {key: [] for key in parts[0].marques.names}
        offset = 0
        for res in parts:
            for key in columns:
                values = np.asarray(res.marques[key])
                columns[key].append(values + offset if key == "unit" else values)
            offset += res.n_units
        table = Table({key: np.concatenate(values) for key, values in columns.items()})
        tab = score_properties(table, method="brainscore", n_boot=battery.n_boot, rng=seed)
        stand_in = LayerResult(name, "+".join(layers), results[name].entry.title)
        stand_in.marques, stand_in.n_units = table, offset
        out[name] = {"layers": layers, "result": stand_in,
                     "rows": {str(tab["property"][i]): tab.row(i) for i in range(len(tab))}}
    return out


def _cka(results: dict[str, ModelResult]) -> dict[str, Any]:

    reps = {res.label: res.natural for mres in results.values()
            for res in mres.layers.values()}
    return {"labels": list(reps), "matrix": cka_matrix(reps)}


# ------------------------------------------------------------------ figures
#
# Figures are described in the main process as jobs of plain data (FigureJob) and drawn
# by module-level panel functions on the executor's workers when there is one: a model's
# tuning figures as soon as its results arrive (while the other models run), and the rest
# in parallel at the end.  Drawing (text layout, mostly) is about half of the quick run's
# CPU.
