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
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from analysis.figures.panels import (
    cka_figure,
    gabor_fit_figure,
    histogram_panels,
    invariance_panels,
    nx_ny_panels,
    rf_mosaic_figure,
    tuning_panels,
)
from analysis.gabor_fit import fit_gabors
from analysis.invariance import tolerance_correlations
from analysis.modulation import modulation_ratio
from analysis.properties import list_properties, marques_properties, score_properties
from analysis.recording import Recording
from analysis.reference import similarity_score
from analysis.representations import cka_matrix
from analysis.response_functions import size_tuning
from analysis.rf_grid import grid_on_off_maps
from analysis.runner import run_protocol_layers
from analysis.tuning import curve_levels, orientation_tuning, sf_tuning, tuning_curves
from stimuli import protocols as P
from stimuli._shared.io import atomic_open, save_npz
from stimuli._shared.validation import check_bool, check_choice, check_int
from stimuli.display import Display
from stimuli.natural import random_patches
from stimuli.table import Table
from v1model.app import battery as batteries
from v1model.app import compare_report
from v1model.app.battery import Battery
from v1model.app.compare_report import HISTOGRAM_PROPERTIES, PROPERTIES
from v1model.app.outdir import staged_output
from v1model.app.registry import (
    RegisteredModel,
    build_model,
    entry_point_errors,
    get_model,
    model_availability,
)
from v1model.app.report import FigureJob, collect, draw_all, spread, submit
from v1model.app.selection import _build_outside, _requested, _selection
from v1model.base import check_model

__all__ = ["SCORE_METHODS", "compare_models", "run_compare_job"]

#: How ``v1model compare`` scores layers against macaque V1 (the first is the default).
SCORE_METHODS = ("brainscore", "ks")

# ================================================================== results

#: Size tuning counts units whose preferred orientation (degrees) and sampled peak sf
#: (octaves) lie this close to the orientation and sf their size curve was read at.
_SIZE_ORIENTATION_TOLERANCE = 15.0
_SIZE_SF_TOLERANCE = 0.5


@dataclass
class _LayerResult:
    model: str
    layer: str
    title: str = ""
    recordings: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, Any] = field(default_factory=dict)   # step -> TuningCurves
    values: dict[str, np.ndarray] = field(default_factory=dict)
    n_units: int = 0
    n_responsive: int = 0
    f1f0_method: str = ""
    rf: dict[str, Any] | None = None
    invariance: np.ndarray | None = None                   # (n_images, n_shifts)
    natural: np.ndarray | None = None                      # (n_natural, n_units)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step
    marques: Any = None                                    # marques_properties Table
    marques_note: str = ""                                 # why marques is None

    @property
    def label(self) -> str:
        return f"{self.title or self.model} · {self.layer}"


@dataclass
class _ModelResult:
    entry: RegisteredModel
    layers: dict[str, _LayerResult]
    display: Display
    params: dict[str, Any]
    seconds: float
    steps: tuple[str, ...]


# ================================================================== the job

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
    log = _Log(progress)
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
                  battery: Battery, log: _Log, *, quick: bool, progress: bool, seed: int,
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

    natural = _natural_patches(battery, seed)
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
        tuning_figures[name] = draw_all(executor, _tuning_figure_jobs(run["layers"], battery))
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
    results: dict[str, _ModelResult] = {}
    figures: list[tuple[FigureJob, Future]] = []
    for name in order:
        run = runs[name]
        if "skipped" in run:
            skipped[name] = run["skipped"]
            continue
        entry = outside.get(name) or get_model(name)
        timing[f"model:{name}"] = run["timing"]
        results[name] = _ModelResult(entry, run["layers"], run["display"], run["params"],
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
            _finish_receptive_fields(res)
            _write_layer(res, dirs, written)
        figures += draw_all(executor, _rf_figure_jobs(mres.layers, battery))
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
    figures += draw_all(executor, _summary_figure_jobs(results, scores, cka, battery, score,
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
               log: _Log, executor: Executor | None) -> dict[str, Any]:
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
        layer_results = _run_battery(model, entry, chosen, steps, battery, natural,
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
                     progress=False, seed=seed, log=_Log(progress), executor=None)
    for res in run.get("layers", {}).values():
        _finish_receptive_fields(res)
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
        _on_display(np.zeros((1, battery.size, battery.size)), battery.pixels_per_degree,
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


class _Log:
    """Stage messages on stderr (through tqdm, so they do not break progress bars)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def info(self, message: str) -> None:
        if self.enabled:

            tqdm.write(f"v1model compare: {message}", file=sys.stderr)

    def warn(self, message: str) -> None:
        # never silent, even without progress output
        print(f"v1model compare: {message}", file=sys.stderr)


# ------------------------------------------------------------------ stimuli

def _natural_patches(battery: Battery, seed: int) -> np.ndarray:
    """The shared natural-image patches ``(n_natural + n_invariance, size, size)``."""

    n = battery.n_natural + battery.n_invariance
    return random_patches(n, (battery.size, battery.size), rng=seed, min_std=0.05)


def _on_display(images: np.ndarray, source_ppd: float, display: Display) -> np.ndarray:
    """The same patches seen by a model on ``display``: a centred crop (same scale)."""
    if not np.isclose(display.pixels_per_degree, source_ppd):
        raise ValueError(f"a model display at {display.pixels_per_degree:g} px/deg cannot show "
                         f"the shared patches drawn at {source_ppd:g} px/deg")
    rows, cols = display.shape
    if rows > images.shape[1] or cols > images.shape[2]:
        raise ValueError(f"a model display of {display.shape} px is larger than the shared "
                         f"patches {images.shape[1:]}")
    r0 = (images.shape[1] - rows) // 2
    c0 = (images.shape[2] - cols) // 2
    return np.ascontiguousarray(images[:, r0:r0 + rows, c0:c0 + cols])


# ------------------------------------------------------------------ battery

def _protocols(entry: RegisteredModel, steps: Sequence[str], battery: Battery, display: Display,
               natural: np.ndarray) -> dict[str, Any]:
    """The battery's protocols for one model, by step (plus ``"natural"`` for CKA)."""

    def sfs(values):
        return tuple(f for f in values if f < display.nyquist_cpd)

    out: dict[str, Any] = {}
    if "orientation" in steps:
        out["orientation"] = P.orientation_tuning(
            display, orientations=battery.orientations, phases=battery.phases,
            sfs=sfs(battery.sfs))
    if "sf" in steps:
        out["sf"] = P.sf_tuning(display, sfs=sfs(battery.sf_values),
                                orientations=battery.sf_orientations, phases=battery.sf_phases)
    if "size" in steps:
        out["size"] = P.concatenate([
            P.size_tuning(display, orientation=orientation, sf=sf, phases=battery.size_phases)
            for orientation in battery.size_orientations for sf in sfs(battery.size_sfs)],
            name="size_tuning")
    if "drifting" in steps:
        out["drifting"] = P.concatenate([
            P.drifting_gratings(display, directions=battery.drift_directions,
                                tfs=(battery.drift_tf,), sf=sf, duration=battery.drift_duration)
            for sf in sfs(battery.drift_sfs)], name="drifting_gratings")
    if "rf" in steps and entry.rf_layers:
        extent = min(battery.rf_extent, *display.size_degrees)
        out["rf"] = P.rf_mapping(display, method="sparse_noise",
                                 grid=(battery.rf_grid, battery.rf_grid), extent=(extent, extent))
    # every model and layer: textures vs matched noise, and a blank screen (the baseline
    # of Brain-Score's firing-rate map); a fixed stimulus set (rng=0)
    out["texture"] = P.texture_families(display, n_samples=battery.texture_samples, rng=0)
    out["blank"] = P.blank_screen(display)
    shared = _on_display(natural[:battery.n_natural], battery.pixels_per_degree, display)
    out["natural"] = P.image_set(
        display, shared, name="natural_patches",
        params={"n": battery.n_natural, "source_shape": list(natural.shape[1:]),
                "pixels_per_degree": battery.pixels_per_degree, "min_std": 0.05,
                "crop": "centre"})
    return out


def _run_battery(model: Any, entry: RegisteredModel, layers: Sequence[str], steps: Sequence[str],
                 battery: Battery, natural: np.ndarray, progress: bool, log: _Log,
                 executor: Executor | None) -> dict[str, _LayerResult]:
    """Every protocol through every chosen layer of one model, then the per-layer analyses."""

    results = {layer: _LayerResult(entry.name, layer, entry.title) for layer in layers}
    temporal = bool(model.temporal)
    # temporal models simulate a whole batch in one network run: use big batches (and a
    # spiking model then answers the second layer from its cache of the last run)
    batch = 1024 if temporal else 64
    for step, protocol in _protocols(entry, steps, battery, model.display, natural).items():
        chosen = [layer for layer in layers if step != "rf" or layer in entry.rf_layers]
        if not chosen:
            continue
        # every layer from one rendering of the protocol (and one filtering pass, for
        # models whose layers share it); the time is shared equally between the layers
        t0 = time.perf_counter()
        recordings = run_protocol_layers(model, protocol, chosen, units="centre",
                                         batch_size=batch, progress=progress)
        seconds = (time.perf_counter() - t0) / len(chosen)
        for layer, rec in recordings.items():
            results[layer].recordings[step] = rec
            results[layer].seconds[step] = seconds

    for layer, res in results.items():
        t0 = time.perf_counter()
        _analyse(model, entry, layer, res, battery, log, executor)
        res.seconds["analysis"] = time.perf_counter() - t0
        if entry.invariance and not temporal:
            t0 = time.perf_counter()
            images = _on_display(natural[battery.n_natural:], battery.pixels_per_degree,
                                 model.display)
            log.info(f"[{entry.title}] layer {layer}: translation tolerance")
            res.invariance = tolerance_correlations(model, layer, images, transform="translate",
                                                    amounts=battery.shifts)
            res.seconds["invariance"] = time.perf_counter() - t0
    return results


def _analyse(model: Any, entry: RegisteredModel, layer: str, res: _LayerResult, battery: Battery,
             log: _Log, executor: Executor | None) -> None:
    """Per-unit metrics of every recording of one layer, and the property values.

    The Gabor fits of the receptive fields are left running on ``executor``
    (:func:`_finish_receptive_fields` collects them).
    """

    recs = res.recordings
    res.n_units = int(recs["natural"].n_units)
    values = res.values
    if "orientation" in recs:
        tab = orientation_tuning(recs["orientation"])
        res.tables["orientation"] = tab
        res.curves["orientation"] = tuning_curves(recs["orientation"], "orientation")
        ok = np.asarray(tab["responsive"], dtype=bool)
        res.n_responsive = int(ok.sum())
        values["preferred_orientation"] = tab["preferred_orientation"][ok]
        values["circular_variance"] = tab["circular_variance"][ok]
        values["orientation_bandwidth"] = tab["bandwidth"][ok]
    if "sf" in recs:
        tab = sf_tuning(recs["sf"])
        res.tables["sf"] = tab
        res.curves["sf"] = tuning_curves(recs["sf"], "sf")
        fit = np.asarray(tab["fit_ok"], dtype=bool) & np.asarray(tab["peak_in_range"], bool)
        values["peak_sf"] = tab["peak_sf"][fit]
        bw = (np.asarray(tab["bandwidth_defined"], bool) & ~np.asarray(tab["low_pass"], bool)
              & np.isfinite(tab["bandwidth_octaves"]))
        values["sf_bandwidth"] = tab["bandwidth_octaves"][bw]
    if "size" in recs:
        curves = tuning_curves(recs["size"], "radius")
        res.curves["size"] = curves
        # each unit's curve at its best orientation and sf, as a one-column recording
        tab = size_tuning(Recording({"radius": curves.values}, curves.mean.T))
        levels = curve_levels(recs["size"], "radius")
        for column in ("orientation", "sf"):   # a level the battery holds constant
            levels.setdefault(f"at_{column}", np.full(len(tab), float(
                recs["size"].conditions[column][0])))
        tab = tab.with_columns(**{f"at_{c}": levels[f"at_{c}"] for c in ("orientation", "sf")})
        ok = np.asarray(tab["responsive"], dtype=bool)
        # a grating far from a unit's preferred orientation or sf fakes surround
        # suppression (a small aperture spreads its spectrum): keep units read near both
        if "orientation" in res.tables:
            preferred = np.asarray(res.tables["orientation"]["preferred_orientation"])
            offset = np.abs((preferred - tab["at_orientation"] + 90.0) % 180.0 - 90.0)
            near = np.isfinite(offset) & (offset <= _SIZE_ORIENTATION_TOLERANCE)
            tab = tab.with_columns(orientation_offset=offset, near_orientation=near)
            ok &= near
        if "sf" in res.tables:
            with np.errstate(invalid="ignore", divide="ignore"):
                octaves = np.abs(np.log2(np.asarray(res.tables["sf"]["peak_sf_sampled"])
                                         / tab["at_sf"]))
            near = np.isfinite(octaves) & (octaves <= _SIZE_SF_TOLERANCE)
            tab = tab.with_columns(sf_offset_octaves=octaves, near_sf=near)
            ok &= near
        res.tables["size"] = tab
        values["surround_suppression_index"] = tab["ssi"][ok]
        values["grating_summation_field"] = tab["gsf_diameter"][ok]
    if "drifting" in recs:
        res.curves["drifting"] = tuning_curves(recs["drifting"], "direction")
        res.tables["direction"] = orientation_tuning(recs["drifting"], fit=False)
    source = "drifting" if "drifting" in recs else "orientation" if "orientation" in recs else None
    if source is not None:
        tab = modulation_ratio(recs[source])
        res.tables["modulation"] = tab
        ratio = np.asarray(tab["modulation_ratio"], dtype=np.float64)
        values["modulation_ratio"] = ratio[np.asarray(tab["f0_positive"], bool)
                                           & np.isfinite(ratio)]
        res.f1f0_method = ("over time at the drift frequency (drifting gratings)"
                           if source == "drifting" else "over spatial phase (static gratings)")
    if "rf" in recs:
        res.rf = _receptive_fields(model, entry, layer, recs["rf"])
        res.rf["fits"] = submit(executor, _fit_ragged,
                                 maps=res.rf["fit_list"], ppd=res.rf["fit_ppd"])
    res.natural = recs["natural"].rates()
    _marques(res)
    # similarity scores need finite values; n_used in the summary counts what is kept
    for key, vals in values.items():
        vals = np.asarray(vals, dtype=np.float64)
        values[key] = vals[np.isfinite(vals)]


def _marques(res: _LayerResult) -> None:
    """The Marques et al. (2021) properties of one layer, Brain-Score's definitions.

    Brain-Score maps responses to firing rates with a map fitted on the orientation
    protocol and the blank screen; without an orientation recording nothing is
    computed, and ``res.marques_note`` says why.
    """
    recs = res.recordings
    groups = {g: recs[g] for g in ("orientation", "sf", "size", "texture") if g in recs}
    if "orientation" not in groups:
        res.marques_note = ("not measured: the firing-rate map of Brain-Score's definitions "
                            "needs the orientation protocol, which this model does not run")
        return
    res.marques = marques_properties(groups, method="brainscore", blank=recs.get("blank"))
    res.tables["marques_properties"] = res.marques


#: Below this median |ON − OFF| / |ON + OFF| the measured maps hold no signed receptive
#: field worth fitting, and an entry's own kernels are fitted instead.
_MIN_SIGNED_FRACTION = 0.5


def _receptive_fields(model: Any, entry: RegisteredModel, layer: str, rec: Any) -> dict[str, Any]:
    """ON − OFF maps from single squares on a grid, Gabor fits, and the maps' source."""
    grid = grid_on_off_maps(rec)
    maps, on, off, ppd = grid.maps, grid.on, grid.off, grid.pixels_per_degree
    signed_fraction = grid.signed_fraction
    drive = np.abs(on + off).sum(axis=(1, 2))
    responsive = drive > 0
    median_signed = float(np.median(signed_fraction[responsive])) if responsive.any() else 0.0
    if entry.kernels is not None and median_signed < _MIN_SIGNED_FRACTION:
        # no signed receptive field to fit (e.g. full-wave rectified units): fit the
        # layer's own filters instead, and say so
        kernels, fit_ppd = entry.kernels(model, layer)
        fit_list, source = [np.asarray(k, dtype=np.float64) for k in kernels], "kernels"
    else:
        fit_list, fit_ppd, source = list(maps), ppd, "measured"
    fit_maps = _pad_stack(fit_list)
    info = {k: np.asarray(v) for k, v in rec.unit_info.items()}
    return {"maps": maps, "on": on, "off": off, "pixels_per_degree": ppd,
            "fit_maps": fit_maps, "fit_list": fit_list, "fit_ppd": fit_ppd, "source": source,
            "fits": None, "unit_info": info, "signed_fraction": signed_fraction,
            "median_signed_fraction": median_signed}


def _finish_receptive_fields(res: _LayerResult) -> None:
    """Collect a layer's Gabor fits: the fits table and the nx, ny property values."""
    if res.rf is None or not isinstance(res.rf["fits"], Future):
        return
    fits = res.rf["fits"].result()
    res.rf["fits"] = fits
    res.tables["gabor_fits"] = fits
    ok = np.asarray(fits["success"], dtype=bool)
    for key, column in (("ringach_nx", "nx"), ("ringach_ny", "ny")):
        vals = np.asarray(fits[column], dtype=np.float64)[ok]
        res.values[key] = vals[np.isfinite(vals)]


def _fit_ragged(maps: list[np.ndarray], ppd: float):
    """Gabor fits of maps of possibly different sizes (one ``fit_gabors`` call per size).

    Each map is fitted at its own size: zero-padding small kernels to the largest
    would only slow the fits.
    """

    shapes = [m.shape for m in maps]
    order: list[int] = []
    tables = []
    for shape in dict.fromkeys(shapes):
        idx = [i for i, s in enumerate(shapes) if s == shape]
        tables.append(fit_gabors(np.stack([maps[i] for i in idx]), ppd))
        order.extend(idx)
    merged = Table({k: np.concatenate([t[k] for t in tables]) for k in tables[0].names})
    return merged.take(np.argsort(order))


def _pad_stack(maps: list[np.ndarray]) -> np.ndarray:
    """Maps centred in zero-padded squares of the largest size, ``(n, side, side)``."""
    rows = max(m.shape[0] for m in maps)
    cols = max(m.shape[1] for m in maps)
    out = np.zeros((len(maps), rows, cols))
    for i, m in enumerate(maps):
        r0, c0 = (rows - m.shape[0]) // 2, (cols - m.shape[1]) // 2
        out[i, r0:r0 + m.shape[0], c0:c0 + m.shape[1]] = m
    return out


def _write_layer(res: _LayerResult, dirs: dict[str, str], written: dict[str, Any]) -> None:
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

def _scores(results: dict[str, _ModelResult], battery: Battery, seed: int,
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


def _layer_scores(res: _LayerResult, battery: Battery, seed: int, method: str) -> dict:
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


def _pooled_scores(results: dict[str, _ModelResult], battery: Battery, seed: int,
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
        stand_in = _LayerResult(name, "+".join(layers), results[name].entry.title)
        stand_in.marques, stand_in.n_units = table, offset
        out[name] = {"layers": layers, "result": stand_in,
                     "rows": {str(tab["property"][i]): tab.row(i) for i in range(len(tab))}}
    return out


def _cka(results: dict[str, _ModelResult]) -> dict[str, Any]:

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

#: Rows of the tuning-curve figures: (battery step, tuning variable).
_CURVE_ROWS = (("orientation", "orientation"), ("sf", "sf"), ("size", "radius"),
               ("drifting", "direction"))


# ---- jobs (main side): what to draw, as plain data

def _tuning_figure_jobs(results: dict[str, _LayerResult],
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


def _rf_figure_jobs(results: dict[str, _LayerResult], battery: Battery) -> list[FigureJob]:
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


def _marques_histogram_jobs(layers: list[_LayerResult], scores: dict) -> list[FigureJob]:
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


def _summary_figure_jobs(results: dict[str, _ModelResult], scores: dict, cka: dict,
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
