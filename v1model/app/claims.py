"""The ``v1model claims`` job: every claim of :mod:`analysis.claims` on every network.

Kept apart from the argument parsing in :mod:`v1model.app.cli` so scripts can call
:func:`run_claims_job` directly.  (A model never imports ``analysis``; this job is
an application that uses both, like the CLI.)

**What is run.**  By default every claim runs on every network of the shipped
ensemble (:func:`v1model.ensemble.load_ensemble`: several training seeds of each
architecture; ``arch`` keeps one architecture).  A claim whose function takes no
network (it trains its own) runs once.  With ``model=`` (a registered name, a
``"module:callable"`` spec or a model object) the claims that need no training
(:data:`NO_TRAINING`: 1 hierarchy, 2 first layer, 3 pooling, 4 rotation,
7 Hubel–Wiesel) run on that one model and the others are listed as not applicable.

**Verdicts over networks.**  Each claim's per-network verdicts are combined by
:func:`analysis.claims.aggregate_verdicts`: the fraction of judged networks whose
verdict is "supported" ("partly supported" does not count; inconclusive and failed
networks are left out and listed), its 95% Wilson interval, and the aggregate
verdict — *supported* if the lower bound is ≥ 0.5, *not supported* if the upper
bound is < 0.5, *mixed* otherwise — per architecture and over all networks (the
headline).  A per-network verdict whose deciding checks are borderline (the
threshold inside the value's own interval) carries its alternative verdicts; an
aggregate they could change is *borderline*, and ``summary.json``'s ``stability``
lists those aggregates: they are the ones another analysis seed may flip.  With a
single result (one model, or a claim that trains its own networks) the headline is
that result's verdict.

**Output.**  ``<out_dir>/claims/``: ``index.html`` (every claim's headline verdict,
interval, per-architecture verdicts and time), one ``claim_<n>_<key>.html`` per claim
(the aggregate with its rule, a strip of networks × checks coloured by outcome, a
representative network's figure embedded and every network's figure in
``figures/``, borderline checks, the method, per-network seconds and what
``--quick`` changed) and ``summary.json`` (the same, machine-readable, with every
network's checks, numbers and seconds).  Every file is written atomically and the
folder as a unit.  A claim that fails on a network is never skipped silently: the
strip, the page, the summary and stderr say so, and the rest still runs.

**Time.**  ``--quick`` uses :data:`QUICK` (per-claim settings; per-network cost is
what matters, since every claim runs once per network) and :data:`QUICK_BY_ARCH`
(further settings for one architecture).  With an ``executor`` (the CLI: two worker
processes) the (claim, network) experiments run in parallel.  Every claim × network
time is recorded (``seconds_per_network``); ``benchmarks/bench_claims.py`` prints
the breakdown and a projection.
"""

from __future__ import annotations

import base64
import html
import inspect
import json
import numbers
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor
from typing import Any

import matplotlib

from analysis import claims as claim_experiments
from analysis.claims.aggregate import AGGREGATE_RULE, aggregate_verdicts
from analysis.claims.weight_sharing import SHIPPED_GRID
from stimuli._shared.io import atomic_open
from stimuli._shared.validation import check_bool, check_int
from stimuli.display import Display
from v1model.app.outdir import staged_output
from v1model.app.registry import build_model, get_model, list_models, load_factory
from v1model.app.report import figure_png, html_page

__all__ = ["NO_TRAINING", "PER_SEED", "QUICK", "QUICK_BY_ARCH", "SHIPPED", "run_claims_job"]

#: Settings of ``--quick`` per claim (the full run uses each function's defaults).
#: Every claim runs once per network, so these set the per-network cost.
QUICK: dict[str, dict[str, Any]] = {
    "hierarchy": {"n_units": 3, "n_images": 2000, "n_patches": 300},
    "first_layer": {"n_v1": 32, "n_boot": 200},
    "pooling": {"n_images": 16, "n_boot": 200},
    "rotation": {"n_images": 16, "n_boot": 200, "n_shuffles": 1000},
    "weight_sharing": {},  # the shipped grids (:data:`SHIPPED`) are already the quick grid
    "fc_layers": {},   # fewer components or images weaken the read-outs: a biased comparison
    "hubel_wiesel": {"duration": 1.0, "display_size": 32,
                     "v1": {"orientations": (0.0, 45.0, 90.0, 135.0), "sfs": (2.0,)}},
}

#: Settings of every run (full and ``--quick``) that make a claim score networks shipped
#: with the package instead of training them: claim 5 reads the trained CNN/MLP grid of
#: each training seed (:data:`analysis.claims.weight_sharing.SHIPPED_GRID`).
SHIPPED: dict[str, dict[str, Any]] = {
    "weight_sharing": {**SHIPPED_GRID, "weights": "shipped"},
}

#: Further ``--quick`` settings for the networks of one architecture, on top of
#: :data:`QUICK` (architecture → claim → settings), for an architecture whose
#: per-network cost would break the budget; the pages list them.  Empty: every
#: network runs a claim with the same settings.
QUICK_BY_ARCH: dict[str, dict[str, dict[str, Any]]] = {}

#: Claims that run once per training seed of the networks rather than once per network
#: (claim → the parameter that takes the seed), e.g. a comparison whose trained grid
#: ships per seed.  Used when the claim's function has that parameter; each run is
#: named ``seed<S>``.
PER_SEED: dict[str, str] = {"weight_sharing": "rng"}

#: The claims that need no training: they run on any model (``claims --model``).
NO_TRAINING = ("hierarchy", "first_layer", "pooling", "rotation", "hubel_wiesel")

#: Display of a registered model without a fixed one (``claims --model v1``), as the
#: shipped networks' displays: 16 px/deg, 64 px (32 px with ``--quick``).
MODEL_DISPLAYS = {"full": Display((64, 64), pixels_per_degree=16.0),
                  "quick": Display((32, 32), pixels_per_degree=16.0)}

_NOT_APPLICABLE = "not applicable"

_COLOURS = {"supported": "#1a7f37", "partly supported": "#9a6700", "not supported": "#cf222e",
            "mixed": "#9a6700", "inconclusive": "#6e7781", "not run": "#6e7781",
            _NOT_APPLICABLE: "#afb8c1"}
_CELL = {"pass": "#dafbe1", "fail": "#ffebe9", "not measured": "#eaeef2"}


def run_claims_job(out_dir: str, *, quick: bool = False, progress: bool = True,
                   seed: int = 0, model: Any = None, arch: str | None = None,
                   networks: Sequence[Any] | None = None,
                   executor: Executor | None = None) -> dict[str, Any]:
    """Run the seven claims on every network and write one HTML page per claim plus an index.

    Parameters
    ----------
    out_dir : str
        Existing or new directory; the pages go to ``out_dir/claims``.
    quick : bool
        Smaller datasets and samples (:data:`QUICK`); each page says what changed.
        Meant to finish in a few minutes on two cores.
    progress : bool
        Print one line per claim and network to stderr.
    seed : int
        Analysis seed: the ``rng`` of every claim (the same for every network).
    model : str or model object, optional
        Run the claims that need no training (:data:`NO_TRAINING`) on this model
        instead of the ensemble: a registered name (:func:`~v1model.app.registry.
        list_models`), a ``"module:callable"`` spec (called as ``factory(display,
        seed=seed)`` if it takes ``seed``, else ``factory(display)``, with the
        display of :data:`MODEL_DISPLAYS`) or a built object with ``layers`` and
        ``display``.  The other claims are listed as not applicable.
    arch : str, optional
        Keep only the ensemble networks of this architecture (e.g. ``"small"``).
    networks : sequence of CNN, optional
        The networks to run on (each ``meta`` may give ``"name"``, ``"arch"``,
        ``"seed"``); default the shipped ensemble.
    executor : concurrent.futures.Executor, optional
        Runs the (claim, network) experiments in parallel, e.g. a two-process
        ``ProcessPoolExecutor`` (the CLI's, its workers limited to one BLAS thread
        each); the registered claims and the networks are sent to it, so they must
        pickle.  Results do not depend on it: every experiment gets the same
        ``rng=seed``.  Default: one after the other in this process (always so for a
        ``model``, which need not pickle).

    Returns
    -------
    dict
        ``folder``, ``index`` and ``summary`` (paths), ``pages`` (claim key → path),
        ``verdicts`` (claim key → headline verdict, ``"not run"`` or ``"not
        applicable"``), ``borderline`` (claim key → bool), ``failed`` (claim key →
        names of the networks the claim failed on), ``networks`` (names),
        ``seconds`` (claim key → wall time over all networks) and ``total_seconds``.

    Raises
    ------
    ValueError
        If ``seed`` is not an integer >= 0, ``model`` is an unknown name or a bad
        spec (or its factory fails), ``arch`` matches no network, ``networks`` is
        empty, or ``model`` is given together with ``arch`` or ``networks``; all
        checked before any claim runs.
    TypeError
        If ``quick`` or ``progress`` is not a bool, ``arch`` is not a string, or
        ``model`` is neither a string nor an object with ``layers`` and ``display``.
    OSError
        If ``out_dir`` cannot be created or written.

    Notes
    -----
    ``out_dir/claims`` is written as a unit (:func:`~v1model.app.outdir.staged_output`):
    an earlier complete set of pages stays untouched until this run has completed.

    Examples
    --------
    >>> written = run_claims_job("results", quick=True)  # doctest: +SKIP
    >>> written["verdicts"]["pooling"], written["borderline"]["pooling"]  # doctest: +SKIP
    ('mixed', False)
    >>> run_claims_job("results", model="mypkg.models:make_model")  # doctest: +SKIP
    """
    matplotlib.use("Agg")
    check_bool("quick", quick)
    check_bool("progress", progress)
    seed = check_int("seed", seed, minimum=0)
    if arch is not None and not isinstance(arch, str):
        raise TypeError(f"arch must be an architecture name (a string), got {arch!r:.60}")
    if model is not None:
        if arch is not None or networks is not None:
            raise ValueError("model runs the claims on one model: do not give arch or "
                             "networks with it")
        targets, source = _user_model(model, quick=quick, seed=seed)
    else:
        targets, source = _networks(networks, arch)
    with staged_output(os.path.join(os.fspath(out_dir), "claims")) as stage:
        written = _claims_into(stage.path, targets, source, quick=quick, progress=progress,
                               seed=seed, user_model=model is not None,
                               executor=None if model is not None else executor)
    return stage.final(written)


# ---------------------------------------------------------------------- what runs


def _load_ensemble(arch: str | None) -> tuple[list[Any], str]:
    """The shipped ensemble (all architectures, or ``arch``) and a sentence saying so.

    Without :mod:`v1model.ensemble` (a checkout that predates it) the shipped single
    CNN stands in, and the sentence says that.
    """
    try:
        from v1model.ensemble import load_ensemble
    except ModuleNotFoundError as exc:
        if exc.name != "v1model.ensemble":
            raise
        from v1model.cnn import PRETRAINED_PATH, load_pretrained_cnn

        net = load_pretrained_cnn()
        net.meta.setdefault("name", "small-s0")
        net.meta.setdefault("arch", "small")
        return [net], (f"no ensemble module in this installation: the single shipped network "
                       f"({PRETRAINED_PATH})")
    nets = list(load_ensemble(arch))
    return nets, "the shipped ensemble" + (f" ({arch} architecture)" if arch else "")


def _networks(networks: Sequence[Any] | None, arch: str | None
              ) -> tuple[list[dict[str, Any]], str]:
    """``[{"name", "arch", "seed", "model", ...}]`` of the ensemble or the given networks."""
    if networks is None:
        nets, source = _load_ensemble(arch)
    else:
        if isinstance(networks, (str, bytes)) or not isinstance(networks, Sequence):
            raise TypeError(f"networks must be a sequence of CNNs, got {networks!r:.60}")
        nets, source = list(networks), "the networks given to run_claims_job"
    if not nets:
        raise ValueError("networks must not be empty")
    targets = [_describe(net, i) for i, net in enumerate(nets)]
    names = [t["name"] for t in targets]
    if len(set(names)) != len(names):
        raise ValueError(f"networks must have distinct meta['name'] values, got {names}")
    if arch is not None:
        kept = [t for t in targets if t["arch"] == arch]
        if not kept:
            archs = sorted({t["arch"] for t in targets})
            raise ValueError(f"arch must be one of {archs}, got {arch!r}")
        targets = kept
    return targets, source


def _describe(net: Any, index: int) -> dict[str, Any]:
    meta = dict(getattr(net, "meta", None) or {})
    name = str(meta.get("name") or f"network{index}")
    return {"name": name, "arch": str(meta.get("arch") or "default"), "seed": meta.get("seed"),
            "test_accuracy": meta.get("test_accuracy"), "model": net}


def _user_model(model: Any, *, quick: bool, seed: int) -> tuple[list[dict[str, Any]], str]:
    """The one model of ``claims --model`` (built now, so a bad spec fails before any claim)."""
    display = MODEL_DISPLAYS["quick" if quick else "full"]
    if isinstance(model, str):
        if ":" in model:
            factory = load_factory(model)
            try:
                takes_seed = "seed" in inspect.signature(factory).parameters
            except (TypeError, ValueError):
                takes_seed = False
            try:
                built = factory(display, seed=seed) if takes_seed else factory(display)
            except Exception as exc:  # noqa: BLE001 - the user's factory: say which and why
                raise ValueError(f"model {model!r}: its factory raised {type(exc).__name__}: "
                                 f"{exc}") from exc
            name, source = _slug(model.split(":")[1]), f"the model {model}"
        elif model in list_models():
            entry = get_model(model)
            built = build_model(model, None if entry.display is not None else display,
                                seed=seed)
            name, source = model, f"the registered model {model!r} ({entry.title})"
        else:
            raise ValueError(f"model must be a registered name ({', '.join(list_models())}) or "
                             f"a 'module:callable' spec, got {model!r}")
    else:
        built = model
        name = _slug(str(getattr(model, "name", "") or type(model).__name__))
        source = f"the model object {type(model).__name__}"
    what = type(built).__name__
    layers = getattr(built, "layers", None)
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise TypeError(f"model {name!r} ({what}) has no 'layers' (a sequence of layer names)")
    if not isinstance(getattr(built, "display", None), Display):
        raise TypeError(f"model {name!r} ({what}) has no 'display' (a stimuli.Display)")
    return [{"name": name, "arch": "model", "seed": None, "test_accuracy": None,
             "model": built}], source


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "model"


# ---------------------------------------------------------------------- the job


def _claims_into(folder: str, targets: list[dict[str, Any]], source: str, *, quick: bool,
                 progress: bool, seed: int, user_model: bool,
                 executor: Executor | None) -> dict[str, Any]:
    """The job of :func:`run_claims_job` with every file written under ``folder``."""
    start = time.perf_counter()
    load_before = _load_average()
    os.makedirs(os.path.join(folder, "figures"), exist_ok=True)
    names = ", ".join(t["name"] for t in targets)
    _log(progress, f"{len(targets)} network(s) from {source}: {names}")
    n_claims = len(claim_experiments.CLAIMS)

    # every (claim, network) task, submitted at once so that the workers never idle
    plan: list[tuple[int, str, Callable[..., Any], list[dict[str, Any] | None]]] = []
    for number, (key, function) in enumerate(claim_experiments.CLAIMS.items(), start=1):
        if user_model and key not in NO_TRAINING:
            plan.append((number, key, function, []))
        else:
            plan.append((number, key, function, _runs_of(key, function, targets)))
    pending: dict[tuple[str, int], Any] = {}
    if executor is not None:
        for number, key, _, runs in plan:
            for i, target in enumerate(runs):
                pending[key, i] = executor.submit(
                    _run_one, None, key, number, target,
                    overrides=_overrides(key, quick, target),
                    seed=seed, progress=progress)

    entries: list[dict[str, Any]] = []
    for number, key, function, runs in plan:
        entry: dict[str, Any] = {
            "number": number, "key": key, "page": f"claim_{number}_{key}.html",
            "quick_changes": _all_quick_changes(function, key, runs) if quick else [],
            "runs": [], "seconds": 0.0}
        if user_model and key not in NO_TRAINING:
            entry["not_applicable"] = ("needs training: the claim compares networks trained "
                                       "for it (or reads out the data the network was trained "
                                       "on), which a given model does not come with")
            _log(progress, f"claim {number}/{n_claims} ({key}): not applicable")
        for i, target in enumerate(runs):
            where = (f"{target['name']} ({i + 1}/{len(runs)})" if target is not None
                     else "its own networks")
            if (key, i) in pending:
                run = _collect(pending.pop((key, i)), key, number, target)
            else:
                _log(progress, f"claim {number}/{n_claims} ({key}) on {where} ...")
                run = _run_one(function, key, number, target,
                               overrides=_overrides(key, quick, target), seed=seed,
                               progress=progress)
            png = run.pop("png")
            if png is not None:
                run["figure"] = f"figures/claim_{number}_{key}_{_slug(run['network'])}.png"
                with atomic_open(os.path.join(folder, run["figure"]), "wb") as fh:
                    fh.write(png)
                run["png"] = png
            entry["runs"].append(run)
            _log(progress, f"claim {number}/{n_claims} ({key}) on {where}: "
                           f"{_verdict_label(run['verdict'], run['borderline'])} "
                           f"({run['seconds']:.0f} s)")
        if runs:
            entry["seconds"] = sum(r["seconds"] for r in entry["runs"])
            entry.update(_summarise(entry["runs"]))
            entry["representative"] = _representative(entry["runs"])
        with atomic_open(os.path.join(folder, entry["page"])) as fh:
            fh.write(_claim_page(entry, quick=quick, source=source))
        for run in entry["runs"]:        # the page has embedded the representative's figure
            run.pop("png", None)
        entries.append(entry)

    total = time.perf_counter() - start
    stability = _stability(entries)
    meta = {"quick": quick, "seed": seed, "mode": "model" if user_model else "ensemble",
            "source": source, "total_seconds": round(total, 1),
            "workers": getattr(executor, "_max_workers", 1) if executor is not None else 1,
            "load_average_before": load_before, "load_average_after": _load_average(),
            "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "networks": [{k: v for k, v in t.items() if k != "model"} for t in targets],
            "architectures": sorted({t["arch"] for t in targets}),
            "aggregate_rule": AGGREGATE_RULE, "stability": stability}
    index = os.path.join(folder, "index.html")
    with atomic_open(index) as fh:
        fh.write(_index_page(entries, meta))
    summary = os.path.join(folder, "summary.json")
    with atomic_open(summary) as fh:
        json.dump({**meta, "claims": [_entry_dict(e) for e in entries]}, fh, indent=1)
    return {"folder": folder, "index": index, "summary": summary,
            "pages": {e["key"]: os.path.join(folder, e["page"]) for e in entries},
            "verdicts": {e["key"]: _headline(e) for e in entries},
            "borderline": {e["key"]: bool(e.get("borderline")) for e in entries},
            "failed": {e["key"]: [r["network"] for r in e["runs"] if r["verdict"] == "not run"]
                       for e in entries if any(r["verdict"] == "not run" for r in e["runs"])},
            "networks": [t["name"] for t in targets],
            "seconds": {e["key"]: round(e["seconds"], 1) for e in entries},
            "total_seconds": round(total, 1)}


def _runs_of(key: str, function: Callable[..., Any], targets: list[dict[str, Any]]
             ) -> list[dict[str, Any] | None]:
    """What claim ``key`` runs on: every network, every training seed, or once (None)."""
    params = inspect.signature(function).parameters
    seed_param = PER_SEED.get(key)
    if seed_param is not None and seed_param in params:
        seeds = sorted({int(t["seed"]) for t in targets
                        if isinstance(t["seed"], numbers.Integral)})
        return [{"name": f"seed{s}", "arch": "per seed", "seed": s, "test_accuracy": None,
                 "model": None, "seed_param": seed_param} for s in seeds] or [None]
    if "cnn" in params:
        return list(targets)
    return [None]


def _overrides(key: str, quick: bool, target: dict[str, Any] | None) -> dict[str, Any]:
    """The settings of claim ``key`` on ``target``: :data:`SHIPPED`, then ``--quick``'s."""
    out = dict(SHIPPED.get(key, {}))
    if not quick:
        return out
    out.update(QUICK.get(key, {}))
    if target is not None:
        out.update(QUICK_BY_ARCH.get(target["arch"], {}).get(key, {}))
    return out


def _all_quick_changes(function: Callable[..., Any], key: str,
                       runs: list[dict[str, Any] | None]) -> list[str]:
    """What ``--quick`` changes for every network, then per architecture."""
    out = _quick_changes(function, QUICK.get(key, {}))
    for arch in dict.fromkeys(t["arch"] for t in runs if t is not None):
        extra = QUICK_BY_ARCH.get(arch, {}).get(key, {})
        out += [f"({arch} networks) {c}" for c in _quick_changes(function, extra)]
    return out


def _collect(future: Any, key: str, number: int, target: dict[str, Any] | None
             ) -> dict[str, Any]:
    """A worker's record; a worker that died (killed, out of memory) is a failed run."""
    try:
        return future.result()
    except BrokenExecutor as exc:
        error = f"{type(exc).__name__}: the worker process died ({exc})"
        print(f"v1model claims: claim {number} ({key}) failed: {error}", file=sys.stderr)
        return _record(target, None, error, 0.0, None)


def _run_one(function: Callable[..., Any] | None, key: str, number: int,
             target: dict[str, Any] | None, *, overrides: dict[str, Any], seed: int,
             progress: bool) -> dict[str, Any]:
    """One claim on one network: a plain, picklable record (the figure as PNG bytes).

    ``function`` None: the claim of :data:`analysis.claims.CLAIMS` named ``key`` (what
    a worker process runs).
    """
    if function is None:
        matplotlib.use("Agg")
        function = claim_experiments.CLAIMS[key]
    kwargs = _kwargs(function, overrides, cnn=None if target is None else target["model"],
                     seed=seed)
    if target is not None and "seed_param" in target:
        kwargs[target["seed_param"]] = target["seed"]
    t0 = time.perf_counter()
    try:
        result = function(**kwargs)
        error = None
    except Exception as exc:  # noqa: BLE001 - reported on the page, index and stderr
        result = None
        error = f"{type(exc).__name__}: {exc}"
        where = f" on {target['name']}" if target is not None else ""
        print(f"v1model claims: claim {number} ({key}){where} failed: {error}", file=sys.stderr)
        if progress:
            traceback.print_exc(file=sys.stderr)
    seconds = time.perf_counter() - t0
    png = None
    if result is not None:
        png = figure_png(result.figure, dpi=80, close=True)
    return _record(target, result, error, seconds, png)


def _record(target: dict[str, Any] | None, result: Any, error: str | None, seconds: float,
            png: bytes | None) -> dict[str, Any]:
    run: dict[str, Any] = {"network": target["name"] if target is not None else "own networks",
                           "arch": target["arch"] if target is not None else None,
                           "seed": target["seed"] if target is not None else None,
                           "seconds": seconds, "error": error, "figure": None, "png": png}
    if result is None:
        run.update(verdict="not run", borderline=False, alternatives=["not run"], data=None)
    else:
        run.update(verdict=result.verdict, borderline=result.borderline,
                   alternatives=list(result.alternatives), data=result.to_dict())
    return run


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline verdict, aggregates (overall and per architecture) and borderline checks."""
    out: dict[str, Any] = {"aggregate": None, "by_arch": {}}
    if len(runs) == 1:
        only = runs[0]
        out.update(verdict=only["verdict"], borderline=only["borderline"],
                   alternatives=only["alternatives"])
    else:
        agg = aggregate_verdicts([r["verdict"] for r in runs],
                                 alternatives=[r["alternatives"] for r in runs])
        out.update(aggregate=agg.as_dict(), verdict=agg.verdict, borderline=agg.borderline,
                   alternatives=list(agg.alternatives))
        archs = list(dict.fromkeys(r["arch"] for r in runs))
        if len(archs) > 1:
            for a in archs:
                mine = [r for r in runs if r["arch"] == a]
                out["by_arch"][a] = aggregate_verdicts(
                    [r["verdict"] for r in mine],
                    alternatives=[r["alternatives"] for r in mine]).as_dict()
    out["borderline_checks"] = [
        {"network": r["network"], "check": c["name"], "description": c["description"],
         "value": c["value"], "interval": c["interval"], "threshold": c["threshold"],
         "direction": c["direction"], "status": c["status"],
         "verdict_borderline": r["borderline"]}
        for r in runs if r["data"] is not None
        for c in (*r["data"]["gates"], *r["data"]["checks"]) if c["borderline"]]
    return out


def _representative(runs: list[dict[str, Any]]) -> int | None:
    """Index of the first network with the most common verdict (its figure is embedded)."""
    with_figure = [i for i, r in enumerate(runs) if r.get("png") is not None]
    if not with_figure:
        return None
    verdicts = [runs[i]["verdict"] for i in with_figure]
    common = max(dict.fromkeys(verdicts), key=verdicts.count)
    return next(i for i in with_figure if runs[i]["verdict"] == common)


def _stability(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Which verdicts are borderline (the ones an analysis seed may flip).

    ``borderline`` lists claim keys (headline verdicts) and ``"key/arch"`` (the
    verdicts of one architecture); ``alternatives`` gives each one's verdicts.
    """
    alternatives: dict[str, list[str]] = {}
    for e in entries:
        if e.get("borderline"):
            alternatives[e["key"]] = list(e["alternatives"])
        for arch, agg in (e.get("by_arch") or {}).items():
            if agg["borderline"]:
                alternatives[f"{e['key']}/{arch}"] = list(agg["alternatives"])
    if alternatives:
        note = ("Borderline (a measured value within its own interval of a threshold could "
                "change the verdict, so another analysis seed may give another one): "
                + "; ".join(f"{k}: {' or '.join(v)}" for k, v in alternatives.items()) + ". "
                "Every other verdict stays as reported within the checks' intervals.")
    else:
        note = ("No verdict is borderline: within the checks' intervals every verdict, "
                "overall and per architecture, stays as reported.")
    return {"borderline": list(alternatives), "alternatives": alternatives, "note": note}


def _headline(entry: dict[str, Any]) -> str:
    if "not_applicable" in entry:
        return _NOT_APPLICABLE
    return entry["verdict"]


def _verdict_label(verdict: str, borderline: bool) -> str:
    return verdict + (" (borderline)" if borderline else "")


# ---------------------------------------------------------------------------- helpers


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"v1model claims: {message}", file=sys.stderr, flush=True)


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # pragma: no cover - platforms without it
        return None


def _kwargs(function, overrides: dict[str, Any], *, cnn: Any, seed: int) -> dict[str, Any]:
    params = inspect.signature(function).parameters
    kwargs = dict(overrides)
    if "cnn" in params and cnn is not None:
        kwargs["cnn"] = cnn
    if "rng" in params:
        kwargs["rng"] = seed
    if "progress" in params:
        kwargs["progress"] = False      # one line per claim and network instead
    return kwargs


def _quick_changes(function, overrides: dict[str, Any]) -> list[str]:
    """``"name: full → quick"`` for every setting ``--quick`` changes."""
    params = inspect.signature(function).parameters
    out = []
    for name, value in overrides.items():
        default = params[name].default
        if name == "architecture" and default is None:
            default = "the network's widths"
        if name == "downsample":
            out.append(f"{name}: {default} → {value} (the trained networks see images "
                       f"averaged over {value}×{value}-pixel blocks)")
            continue
        out.append(f"{name}: {_fmt_setting(default)} → {_fmt_setting(value)}")
    return out


def _fmt_setting(value: Any) -> str:
    if value is None:
        return "default"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt_setting(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_fmt_setting(v) for v in value) + ")"
    return str(value)


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _run_dict(run: dict[str, Any]) -> dict[str, Any]:
    out = {k: run[k] for k in ("network", "arch", "seed", "verdict", "borderline",
                               "alternatives", "error", "figure")}
    out["seconds"] = round(run["seconds"], 2)
    data = run["data"]
    if data is not None:
        out.update({k: data[k] for k in ("reason", "checks", "gates", "borderline_checks",
                                         "numbers", "settings")})
    return out


def _entry_dict(entry: dict[str, Any]) -> dict[str, Any]:
    key = entry["key"]
    first = next((r["data"] for r in entry["runs"] if r["data"] is not None), None)
    title, claim = (first["title"], first["claim"]) if first is not None else _text(key)
    out = {"number": entry["number"], "key": key, "title": title, "claim": claim,
           "page": entry["page"], "verdict": _headline(entry),
           "borderline": bool(entry.get("borderline")),
           "alternatives": entry.get("alternatives", [_headline(entry)]),
           "aggregate": entry.get("aggregate"), "by_arch": entry.get("by_arch", {}),
           "borderline_checks": entry.get("borderline_checks", []),
           "seconds": round(entry["seconds"], 1),
           "seconds_per_network": {r["network"]: round(r["seconds"], 2) for r in entry["runs"]},
           "quick_changes": entry["quick_changes"],
           "per_network": [_run_dict(r) for r in entry["runs"]]}
    if "not_applicable" in entry:
        out["not_applicable"] = entry["not_applicable"]
    return out


def _text(key: str) -> tuple[str, str]:
    from analysis.claims.verdict import _CLAIM_TEXT

    return _CLAIM_TEXT.get(key, (key, ""))


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #1f2328; }
table { border-collapse: collapse; margin: 0.8em 0; }
td, th { border: 1px solid #d0d7de; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
.verdict { color: white; padding: 0.15em 0.5em; border-radius: 0.3em; font-weight: bold; }
.strip td { font-size: 0.85em; text-align: center; }
.borderline { outline: 2px dashed #9a6700; outline-offset: -3px; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
img { max-width: 100%; }
"""


def _badge(verdict: str, borderline: bool = False) -> str:
    colour = _COLOURS.get(verdict, "#6e7781")
    tag = " (borderline)" if borderline else ""
    return (f'<span class="verdict" style="background:{colour}">{html.escape(verdict)}'
            f'{tag}</span>')


def _checks_table(checks: list[dict[str, Any]]) -> str:
    rows = []
    for c in checks:
        value = "not measured" if c["value"] is None else f"{c['value']:.3g}"
        interval = ("" if c["interval"] is None
                    else f"[{c['interval'][0]:.3g}, {c['interval'][1]:.3g}]")
        status = c["status"] + (" (borderline)" if c["borderline"] else "")
        rows.append(f"<tr><td>{html.escape(c['description'])}</td><td>{value}</td>"
                    f"<td>{interval}</td><td>{html.escape(c['direction'])} {c['threshold']:g}"
                    f"</td><td>{html.escape(status)}</td></tr>")
    return ("<table><tr><th>measured</th><th>value</th><th>95% interval</th><th>needs</th>"
            f"<th>status</th></tr>{''.join(rows)}</table>")


def _check_text(c: dict[str, Any]) -> str:
    """A check dict as one line (as :class:`~analysis.claims.Check` prints itself)."""
    value = "not measured" if c["value"] is None else f"{c['value']:.3g}"
    interval = ("" if c["interval"] is None
                else f" [{c['interval'][0]:.3g}, {c['interval'][1]:.3g}]")
    tag = " (borderline)" if c["borderline"] else ""
    return (f"{c['description']}: {value}{interval} (needs {c['direction']} "
            f"{c['threshold']:g}): {c['status']}{tag}")


def _strip(entry: dict[str, Any]) -> str:
    """Networks × checks, each cell coloured by pass/fail (dashed: borderline)."""
    runs = entry["runs"]
    names: list[str] = []
    descriptions: dict[str, str] = {}
    for r in runs:
        if r["data"] is not None:
            for c in (*r["data"]["gates"], *r["data"]["checks"]):
                if c["name"] not in descriptions:
                    names.append(c["name"])
                    descriptions[c["name"]] = c["description"]
    head = "".join(f"<th title='{html.escape(descriptions[n], quote=True)}'>{html.escape(n)}"
                   "</th>" for n in names)
    rows = []
    for r in runs:
        cells = []
        by_name = ({c["name"]: c for c in (*r["data"]["gates"], *r["data"]["checks"])}
                   if r["data"] is not None else {})
        for n in names:
            c = by_name.get(n)
            if c is None:
                cells.append("<td>—</td>")
                continue
            value = "n/m" if c["value"] is None else f"{c['value']:.3g}"
            tip = html.escape(_check_text(c), quote=True)
            cls = " class='borderline'" if c["borderline"] else ""
            cells.append(f"<td{cls} style='background:{_CELL[c['status']]}' title='{tip}'>"
                         f"{value}</td>")
        if r["data"] is None:
            cells = [f"<td colspan='{max(len(names), 1)}'>{html.escape(r['error'] or '')}"
                     "</td>"]
        figure = (f"<a href='{html.escape(r['figure'], quote=True)}'>figure</a>"
                  if r.get("figure") else "")
        rows.append(f"<tr><td>{html.escape(r['network'])}</td>"
                    f"<td>{html.escape(str(r['arch'] or ''))}</td>"
                    f"<td>{_badge(r['verdict'], r['borderline'])}</td>{''.join(cells)}"
                    f"<td>{r['seconds']:.1f} s</td><td>{figure}</td></tr>")
    return ("<table class='strip'><tr><th>network</th><th>arch</th><th>verdict</th>"
            f"{head}<th>time</th><th></th></tr>{''.join(rows)}</table>"
            "<p>Cells: the check's value, green when it passes, red when it fails, grey when "
            "not measured; dashed outline: borderline (the threshold lies within the value's "
            "interval). Hover a cell for the check, its interval and threshold.</p>")


def _aggregate_html(entry: dict[str, Any]) -> str:
    agg = entry.get("aggregate")
    if agg is None:
        only = entry["runs"][0]
        return (f"<p><b>Verdict:</b> {_badge(entry['verdict'], entry['borderline'])} "
                f"(one result: {html.escape(only['network'])}; no aggregate over networks). "
                f"{html.escape(only['data']['reason'] if only['data'] else only['error'])}"
                "</p>")
    parts = [f"<p><b>Verdict over {len(entry['runs'])} networks:</b> "
             f"{_badge(agg['verdict'], agg['borderline'])} {html.escape(agg['reason'])}</p>"]
    if entry["by_arch"]:
        rows = "".join(
            f"<tr><td>{html.escape(a)}</td><td>{_badge(g['verdict'], g['borderline'])}</td>"
            f"<td>{g['n_supporting']} / {g['n_judged']}</td><td>{_interval(g)}</td>"
            f"<td>{g['n_excluded']}</td></tr>" for a, g in entry["by_arch"].items())
        rows += (f"<tr><td><b>all</b></td><td>{_badge(agg['verdict'], agg['borderline'])}</td>"
                 f"<td>{agg['n_supporting']} / {agg['n_judged']}</td><td>{_interval(agg)}</td>"
                 f"<td>{agg['n_excluded']}</td></tr>")
        parts.append("<table><tr><th>architecture</th><th>verdict</th><th>supporting / "
                     "judged</th><th>95% Wilson interval</th><th>left out (inconclusive or "
                     f"failed)</th></tr>{rows}</table>")
    parts.append(f"<details><summary>The aggregate rule</summary><p>{html.escape(AGGREGATE_RULE)}"
                 "</p></details>")
    return "".join(parts)


def _interval(agg: dict[str, Any]) -> str:
    if agg["interval"] is None:
        return "—"
    return f"{agg['fraction']:.2f} [{agg['interval'][0]:.2f}, {agg['interval'][1]:.2f}]"


def _page(title: str, body: str) -> str:
    return html_page(title, body, css=_STYLE)


def _claim_page(entry: dict[str, Any], *, quick: bool, source: str) -> str:
    number, key = entry["number"], entry["key"]
    title, claim = _text(key)
    head = "<p><a href='index.html'>← all claims</a></p>"
    parts = [head, f"<h1>Claim {number}: {html.escape(title)}</h1>",
             f"<p><b>The claim.</b> {html.escape(claim)}</p>"]
    if "not_applicable" in entry:
        parts.append(f"<p>{_badge(_NOT_APPLICABLE)} This claim "
                     f"{html.escape(entry['not_applicable'])}. Run <code>v1model claims</code> "
                     "without <code>--model</code> for it.</p>")
        return _page(f"Claim {number}", "\n".join(parts))
    parts.append(_aggregate_html(entry))
    parts += ["<h2>Per network</h2>", _strip(entry)]
    if entry["borderline_checks"]:
        rows = "".join(
            f"<tr><td>{html.escape(b['network'])}</td><td>{html.escape(b['description'])}</td>"
            f"<td>{b['value']:.3g} [{b['interval'][0]:.3g}, {b['interval'][1]:.3g}]</td>"
            f"<td>{html.escape(b['direction'])} {b['threshold']:g}</td>"
            f"<td>{'yes' if b['verdict_borderline'] else 'no'}</td></tr>"
            for b in entry["borderline_checks"])
        parts.append("<h2>Borderline checks</h2><table><tr><th>network</th><th>check</th>"
                     "<th>value [95% interval]</th><th>needs</th><th>the network's "
                     f"verdict is borderline</th></tr>{rows}</table>")
    rep = entry.get("representative")
    if rep is not None:
        run = entry["runs"][rep]
        data = run["data"]
        parts += [f"<h2>A representative network: {html.escape(run['network'])}</h2>",
                  f"<p>The first network with the most common verdict; "
                  f"{_badge(run['verdict'], run['borderline'])} "
                  f"{html.escape(data['reason'])}</p>", _checks_table(data["checks"])]
        if data["gates"]:
            parts += ["<p>Controls that must pass for the checks to be judged:</p>",
                      _checks_table(data["gates"])]
        parts.append(f"<img alt='figure of claim {number} on {html.escape(run['network'])}' "
                     f"src='data:image/png;base64,{_b64(run['png'])}'>")
        parts.append("<p>Every network's figure is linked from the table above.</p>")
    failed = [r for r in entry["runs"] if r["data"] is None]
    for r in failed:
        parts.append(f"<p>{_badge('not run')} on {html.escape(r['network'])}: the experiment "
                     f"failed, so there is no verdict:</p><pre>{html.escape(r['error'] or '')}"
                     "</pre>")
    doc = _method_text(key)
    if doc:
        parts.append(f"<h2>Method and thresholds</h2><pre>{html.escape(doc)}</pre>")
    parts.append("<h2>Run</h2><ul>")
    times = ", ".join(f"{html.escape(r['network'])} {r['seconds']:.1f} s" for r in entry["runs"])
    parts.append(f"<li>Time: {entry['seconds']:.1f} s in all ({times}).</li>")
    parts.append(f"<li>Networks: {html.escape(source)}.</li>")
    if quick:
        changes = "".join(f"<li>{html.escape(c)}</li>" for c in entry["quick_changes"])
        parts.append("<li>Quick mode (<code>--quick</code>) changed these settings from the "
                     f"full run: <ul>{changes or '<li>nothing</li>'}</ul></li>")
    else:
        parts.append("<li>Full run (each function's default settings).</li>")
    parts.append("</ul>")
    if rep is not None:
        data = entry["runs"][rep]["data"]
        parts.append("<h2>Settings</h2><pre>" + html.escape(json.dumps(data["settings"],
                                                                       indent=1)) + "</pre>")
        parts.append("<h2>Numbers</h2><details><summary>the representative network's measured "
                     "numbers (JSON; every network's are in summary.json)</summary><pre>"
                     + html.escape(json.dumps(data["numbers"], indent=1)) + "</pre></details>")
    return _page(f"Claim {number}: {title}", "\n".join(parts))


def _method_text(key: str) -> str:
    """The claim function's docstring up to its Parameters section (method and thresholds)."""
    doc = inspect.getdoc(claim_experiments.CLAIMS[key]) or ""
    doc = doc.split("\nParameters\n")[0].strip()
    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc)          # :func:`name` -> name
    return doc.replace("``", "").replace("**", "")


def _index_page(entries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    archs = meta["architectures"] if len(meta["architectures"]) > 1 else []
    rows = []
    for e in entries:
        title = html.escape(_text(e["key"])[0])
        verdict = _headline(e)
        agg = e.get("aggregate")
        fraction = _interval(agg) if agg is not None else "—"
        per_arch = "".join(
            f"<td>{_badge(e['by_arch'][a]['verdict'], e['by_arch'][a]['borderline'])}</td>"
            if a in e.get("by_arch", {}) else "<td>—</td>" for a in archs)
        if "not_applicable" in e:
            why = e["not_applicable"]
        elif agg is not None:
            why = agg["reason"]
        else:
            only = e["runs"][0]
            why = only["data"]["reason"] if only["data"] is not None else only["error"]
        rows.append(f"<tr><td>{e['number']}</td><td><a href='{e['page']}'>{title}</a></td>"
                    f"<td>{_badge(verdict, bool(e.get('borderline')))}</td><td>{fraction}</td>"
                    f"{per_arch}<td>{html.escape(why or '')}</td>"
                    f"<td>{e['seconds']:.0f} s</td></tr>")
    mode = ("quick (<code>--quick</code>: smaller data and samples; each page lists the "
            "changes)" if meta["quick"] else "full")
    nets = ", ".join(f"{n['name']}" for n in meta["networks"])
    arch_head = "".join(f"<th>{html.escape(a)}</th>" for a in archs)
    body = (
        "<h1>Why CNNs work: each common claim as an experiment</h1>"
        f"<p>Run {html.escape(meta['date'])}, {mode}, analysis seed {meta['seed']}; total "
        f"{meta['total_seconds']:.0f} s on {meta['cpu_count']} CPU(s), load average "
        f"{meta['load_average_before']} before and {meta['load_average_after']} after.</p>"
        f"<p>Networks ({len(meta['networks'])}): {html.escape(meta['source'])}: "
        f"{html.escape(nets)}.</p>"
        "<p>On each network, a claim's verdict is computed from the numbers by explicit "
        "thresholds (listed on each page): <i>supported</i> when every check passes, <i>not "
        "supported</i> when a required check fails or fewer than half pass, <i>partly "
        "supported</i> otherwise, and <i>inconclusive</i> when a control fails (e.g. a "
        "network that did not learn). A verdict is <i>borderline</i> when a deciding check's "
        "threshold lies within its value's 95% interval.</p>"
        f"<p><b>Over networks.</b> {html.escape(AGGREGATE_RULE)}</p>"
        f"<p><b>Stability.</b> {html.escape(meta['stability']['note'])}</p>"
        f"<table><tr><th>#</th><th>claim</th><th>verdict</th><th>supporting fraction "
        f"[95% interval]</th>{arch_head}<th>why</th><th>time</th></tr>"
        + "".join(rows) + "</table>")
    return _page("Why CNNs work: claims", body)
