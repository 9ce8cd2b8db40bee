"""The ``v1model claims`` job: every claim of :mod:`analysis.claims`, one HTML page each.

Kept apart from the argument parsing in :mod:`v1model.app.cli` so scripts can call
:func:`run_claims_job` directly.  (A model never imports ``analysis``; this job is
an application that uses both, like the CLI.)

Writes ``<out_dir>/claims/``: ``index.html`` (every verdict, with its reason and
time), one ``claim_<n>_<key>.html`` per claim (figure as an embedded PNG, the
checks with their values and thresholds, the verdict, all numbers, the settings
and what ``--quick`` changed) and ``summary.json`` (the same, machine-readable).
Every file is written atomically.  A claim that fails (e.g. brian2 missing for
claim 7) is never skipped silently: its page, the index, the summary and stderr
say so, and the other claims still run.
"""

from __future__ import annotations

import base64
import html
import inspect
import json
import os
import re
import sys
import time
import traceback
from typing import Any

import matplotlib
import matplotlib.pyplot as plt

from analysis import claims as claim_experiments
from stimuli._shared.io import atomic_open
from stimuli._shared.validation import check_bool, check_int
from v1model.app.outdir import staged_output
from v1model.app.registry import build_model, model_availability
from v1model.app.report import figure_png, html_page
from v1model.cnn import PRETRAINED_PATH, train_default_cnn

__all__ = ["QUICK", "run_claims_job"]

#: Settings of ``--quick`` per claim (the full run uses each function's defaults).
QUICK: dict[str, dict[str, Any]] = {
    "hierarchy": {"n_units": 4, "n_images": 3000, "n_patches": 500},
    "first_layer": {"n_v1": 32, "n_boot": 200},
    "pooling": {"n_images": 16},
    "rotation": {"n_images": 16},
    "weight_sharing": {"n_per_class": 150, "downsample": 2,
                       "cnn_widths": ((4, 8, 16), (8, 16, 32)), "mlp_widths": ((64,), (512,)),
                       "fractions": (0.25, 1.0)},
    "fc_layers": {},   # fewer components or images weaken the read-outs: a biased comparison
    "hubel_wiesel": {"duration": 1.0, "display_size": 32,
                     "v1": {"orientations": (0.0, 45.0, 90.0, 135.0), "sfs": (2.0,)}},
}

#: Training of a stand-in for the shipped CNN when its weights are missing.
_FALLBACK_TRAINING = {"full": {}, "quick": {"n_per_class": 100, "epochs": 3}}

_COLOURS = {"supported": "#1a7f37", "partly supported": "#9a6700", "not supported": "#cf222e",
            "inconclusive": "#6e7781", "not run": "#6e7781"}


def run_claims_job(out_dir: str, *, quick: bool = False, progress: bool = True,
                   seed: int = 0) -> dict[str, Any]:
    """Run the seven claims and write one HTML page per claim plus an index.

    Parameters
    ----------
    out_dir : str
        Existing or new directory; the pages go to ``out_dir/claims``.
    quick : bool
        Smaller networks, datasets, epochs and samples (:data:`QUICK`); each page says
        what changed.  Meant to finish in a few minutes on two cores.
    progress : bool
        Print one line per claim to stderr (and training progress bars).
    seed : int
        Seed of every claim (``rng``) and of a stand-in CNN's training.

    Returns
    -------
    dict
        ``folder``, ``index`` and ``summary`` (paths), ``pages`` (claim key → path),
        ``verdicts`` (claim key → verdict or ``"not run"``), ``seconds`` (claim key →
        wall time) and ``total_seconds``.

    Raises
    ------
    ValueError
        If ``seed`` is not an integer >= 0 (checked before any claim runs).
    TypeError
        If ``quick`` or ``progress`` is not a bool.
    OSError
        If ``out_dir`` cannot be created or written.

    Notes
    -----
    ``out_dir/claims`` is written as a unit (:func:`~v1model.app.outdir.staged_output`):
    an earlier complete set of pages stays untouched until this run has completed.
    """
    matplotlib.use("Agg")
    check_bool("quick", quick)
    check_bool("progress", progress)
    seed = check_int("seed", seed, minimum=0)
    with staged_output(os.path.join(os.fspath(out_dir), "claims")) as stage:
        written = _claims_into(stage.path, quick=quick, progress=progress, seed=seed)
    return stage.final(written)


def _claims_into(folder: str, *, quick: bool, progress: bool, seed: int) -> dict[str, Any]:
    """The job of :func:`run_claims_job` with every file written under ``folder``."""
    start = time.perf_counter()
    load_before = _load_average()
    cnn, cnn_note = _cnn_for_claims(quick=quick, seed=seed, progress=progress)
    _log(progress, f"CNN: {cnn_note}")

    entries: list[dict[str, Any]] = []
    for number, (key, function) in enumerate(claim_experiments.CLAIMS.items(), start=1):
        kwargs = _kwargs(function, QUICK[key] if quick else {}, cnn=cnn, seed=seed,
                         progress=progress)
        t0 = time.perf_counter()
        _log(progress, f"claim {number}/{len(claim_experiments.CLAIMS)} ({key}) ...")
        try:
            result = function(**kwargs)
            error = None
        except Exception as exc:  # noqa: BLE001 - reported on the page, index and stderr
            result = None
            error = f"{type(exc).__name__}: {exc}"
            print(f"v1model claims: claim {number} ({key}) failed: {error}", file=sys.stderr)
            if progress:
                traceback.print_exc(file=sys.stderr)
        seconds = time.perf_counter() - t0
        changed = _quick_changes(function, QUICK[key]) if quick else []
        entry = {"number": number, "key": key, "result": result, "error": error,
                 "seconds": seconds, "quick_changes": changed,
                 "page": f"claim_{number}_{key}.html"}
        entries.append(entry)
        with atomic_open(os.path.join(folder, entry["page"])) as fh:
            fh.write(_claim_page(entry, quick=quick, cnn_note=cnn_note))
        verdict = result.verdict if result is not None else "not run"
        _log(progress, f"claim {number}/{len(claim_experiments.CLAIMS)} ({key}): {verdict} "
                       f"({seconds:.0f} s)")
        if result is not None:
            plt.close(result.figure)

    total = time.perf_counter() - start
    meta = {"quick": quick, "seed": seed, "total_seconds": round(total, 1),
            "load_average_before": load_before, "load_average_after": _load_average(),
            "cpu_count": os.cpu_count(), "cnn": cnn_note,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    index = os.path.join(folder, "index.html")
    with atomic_open(index) as fh:
        fh.write(_index_page(entries, meta))
    summary = os.path.join(folder, "summary.json")
    with atomic_open(summary) as fh:
        json.dump({**meta, "claims": [_entry_dict(e) for e in entries]}, fh, indent=1)
    return {"folder": folder, "index": index, "summary": summary,
            "pages": {e["key"]: os.path.join(folder, e["page"]) for e in entries},
            "verdicts": {e["key"]: e["result"].verdict if e["result"] is not None else "not run"
                         for e in entries},
            "seconds": {e["key"]: round(e["seconds"], 1) for e in entries},
            "total_seconds": round(total, 1)}


# ---------------------------------------------------------------------------- helpers


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"v1model claims: {message}", file=sys.stderr, flush=True)


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # pragma: no cover - platforms without it
        return None


def _cnn_for_claims(*, quick: bool, seed: int, progress: bool):
    """The shipped CNN, or (weights missing) one trained here, and a sentence saying which."""
    if model_availability(["cnn"])["cnn"] is None:
        return build_model("cnn", seed=seed), f"the shipped pretrained network ({PRETRAINED_PATH})"
    else:
        settings = _FALLBACK_TRAINING["quick" if quick else "full"]
        t0 = time.perf_counter()
        model = train_default_cnn(seed, progress=progress, **settings)
        what = ", ".join(f"{k}={v}" for k, v in settings.items()) or "default settings"
        return model, (f"the pretrained weights were missing, so the default network was "
                       f"trained here (train_default_cnn seed {seed}, {what}; test accuracy "
                       f"{model.meta['test_accuracy']:.3f}, {time.perf_counter() - t0:.0f} s)")


def _kwargs(function, overrides: dict[str, Any], *, cnn: Any, seed: int,
            progress: bool) -> dict[str, Any]:
    params = inspect.signature(function).parameters
    kwargs = dict(overrides)
    if "cnn" in params:
        kwargs["cnn"] = cnn
    if "rng" in params:
        kwargs["rng"] = seed
    if "progress" in params:
        kwargs["progress"] = progress
    return kwargs


def _quick_changes(function, overrides: dict[str, Any]) -> list[str]:
    """``"name: full → quick"`` for every setting ``--quick`` changes."""
    params = inspect.signature(function).parameters
    out = []
    for name, value in overrides.items():
        default = params[name].default
        if name == "architecture" and default is None:
            default = "the shipped network's widths"
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


def _png(fig) -> str:
    """The figure as base64 PNG (left open: the job closes it after the page)."""
    return base64.b64encode(figure_png(fig, dpi=90, close=False)).decode("ascii")


def _entry_dict(entry: dict[str, Any]) -> dict[str, Any]:
    result = entry["result"]
    out = {"number": entry["number"], "key": entry["key"], "page": entry["page"],
           "seconds": round(entry["seconds"], 1), "quick_changes": entry["quick_changes"]}
    if result is None:
        out.update(verdict="not run", error=entry["error"])
    else:
        out.update(result.to_dict())
    return out


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #1f2328; }
table { border-collapse: collapse; margin: 0.8em 0; }
td, th { border: 1px solid #d0d7de; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
.verdict { color: white; padding: 0.15em 0.5em; border-radius: 0.3em; font-weight: bold; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
img { max-width: 100%; }
"""


def _badge(verdict: str) -> str:
    colour = _COLOURS.get(verdict, "#6e7781")
    return f'<span class="verdict" style="background:{colour}">{html.escape(verdict)}</span>'


def _checks_table(checks: list[dict[str, Any]]) -> str:
    rows = []
    for c in checks:
        value = "not measured" if c["value"] is None else f"{c['value']:.3g}"
        rows.append(f"<tr><td>{html.escape(c['description'])}</td><td>{value}</td>"
                    f"<td>{html.escape(c['direction'])} {c['threshold']:g}</td>"
                    f"<td>{html.escape(c['status'])}</td></tr>")
    rows = "".join(rows)
    return ("<table><tr><th>measured</th><th>value</th><th>needs</th><th>status</th></tr>"
            f"{rows}</table>")


def _page(title: str, body: str) -> str:
    return html_page(title, body, css=_STYLE)


def _claim_page(entry: dict[str, Any], *, quick: bool, cnn_note: str) -> str:
    result = entry["result"]
    head = "<p><a href='index.html'>← all claims</a></p>"
    if result is None:
        body = (f"{head}<h1>Claim {entry['number']}: {html.escape(entry['key'])}</h1>"
                f"<p>{_badge('not run')}</p><p>The experiment failed, so there is no verdict:"
                f"</p><pre>{html.escape(entry['error'] or '')}</pre>")
        return _page(f"Claim {entry['number']}", body)
    data = result.to_dict()
    parts = [head, f"<h1>Claim {result.number}: {html.escape(result.title)}</h1>",
             f"<p><b>The claim.</b> {html.escape(result.claim)}</p>",
             f"<p><b>Verdict:</b> {_badge(result.verdict)} {html.escape(result.reason)}</p>",
             "<h2>Checks</h2>", _checks_table(data["checks"])]
    if data["gates"]:
        parts += ["<p>Controls that must pass for the checks to be judged:</p>",
                  _checks_table(data["gates"])]
    parts.append(f"<h2>Figure</h2><img alt='figure of claim {result.number}' "
                 f"src='data:image/png;base64,{_png(result.figure)}'>")
    doc = _method_text(result.key)
    if doc:
        parts.append(f"<h2>Method and thresholds</h2><pre>{html.escape(doc)}</pre>")
    parts.append("<h2>Run</h2><ul>")
    parts.append(f"<li>Time: {entry['seconds']:.1f} s.</li>")
    parts.append(f"<li>CNN: {html.escape(cnn_note)}.</li>")
    if quick:
        changes = "".join(f"<li>{html.escape(c)}</li>" for c in entry["quick_changes"])
        parts.append("<li>Quick mode (<code>--quick</code>) changed these settings from the "
                     f"full run: <ul>{changes or '<li>nothing</li>'}</ul></li>")
    else:
        parts.append("<li>Full run (each function's default settings).</li>")
    parts.append("</ul>")
    parts.append("<h2>Settings</h2><pre>" + html.escape(json.dumps(data["settings"], indent=1))
                 + "</pre>")
    parts.append("<h2>Numbers</h2><details><summary>all measured numbers (JSON)</summary><pre>"
                 + html.escape(json.dumps(data["numbers"], indent=1)) + "</pre></details>")
    return _page(f"Claim {result.number}: {result.title}", "\n".join(parts))


def _method_text(key: str) -> str:
    """The claim function's docstring up to its Parameters section (method and thresholds)."""
    doc = inspect.getdoc(claim_experiments.CLAIMS[key]) or ""
    doc = doc.split("\nParameters\n")[0].strip()
    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc)          # :func:`name` -> name
    return doc.replace("``", "").replace("**", "")


def _index_page(entries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    rows = []
    for e in entries:
        r = e["result"]
        title = html.escape(r.title if r is not None else e["key"])
        verdict = r.verdict if r is not None else "not run"
        reason = html.escape(r.reason if r is not None else (e["error"] or ""))
        rows.append(f"<tr><td>{e['number']}</td><td><a href='{e['page']}'>{title}</a></td>"
                    f"<td>{_badge(verdict)}</td><td>{reason}</td>"
                    f"<td>{e['seconds']:.0f} s</td></tr>")
    mode = "quick (<code>--quick</code>: smaller networks, data and samples; each page lists " \
           "the changes)" if meta["quick"] else "full"
    body = (
        "<h1>Why CNNs work: each common claim as an experiment</h1>"
        f"<p>Run {html.escape(meta['date'])}, {mode}, seed {meta['seed']}; total "
        f"{meta['total_seconds']:.0f} s on {meta['cpu_count']} CPU(s), load average "
        f"{meta['load_average_before']} before and {meta['load_average_after']} after. "
        f"CNN: {html.escape(meta['cnn'])}.</p>"
        "<p>Each verdict is computed from the numbers by explicit thresholds (listed on "
        "each page): <i>supported</i> when every check passes, <i>not supported</i> when a "
        "required check fails or fewer than half pass, <i>partly supported</i> otherwise, "
        "and <i>inconclusive</i> when a control fails (e.g. a network that did not "
        "learn).</p>"
        "<table><tr><th>#</th><th>claim</th><th>verdict</th><th>why</th><th>time</th></tr>"
        + "".join(rows) + "</table>")
    return _page("Why CNNs work: claims", body)
