"""The ``v1model rf`` job: map the receptive fields of one model layer and fit them.

Kept apart from the argument parsing in :mod:`v1model.app.cli` so scripts can call
:func:`run_rf_job` directly.  (A model never imports ``analysis``; this job is an
application that uses both, like the CLI.)

Three methods, each the standard one of a literature:

* ``white_noise`` — reverse correlation with Gaussian white noise
  (:func:`analysis.receptive_fields.reverse_correlation`; Jones & Palmer 1987,
  Ringach 2002), then a 2-D Gabor fit per map and Ringach's nx, ny;
* ``sparse_noise`` — ON and OFF maps from single light and dark squares
  (:func:`analysis.receptive_fields.sparse_noise_maps`; Jones & Palmer 1987), ON − OFF
  fitted as above;
* ``gratings`` — small gratings on a grid of positions
  (:func:`analysis.receptive_fields.grating_rf_mapping`; Marques, Schrimpf & DiCarlo
  2021): RF centre and diameter per unit, for any unit, including complex cells and
  rectified units, whose ON and OFF responses cancel in a signed map.

The models are those of the registry (:func:`v1model.app.registry.list_models`).
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle

from analysis.figures.receptive_fields import plot_gabor_fit, plot_nx_ny, plot_rf_mosaic
from analysis.gabor_fit import fit_gabor
from analysis.receptive_fields import grating_rf_mapping, reverse_correlation, sparse_noise_maps
from analysis.reference import similarity_score
from stimuli._shared.io import atomic_open, jsonable
from stimuli._shared.validation import (
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_range,
)
from stimuli.display import Display
from stimuli.table import Table
from v1model.app.battery import DEFAULT_BATTERY
from v1model.app.outdir import staged_output
from v1model.app.registry import (
    build_model,
    get_model,
    list_models,
    load_factory,
    model_availability,
    outside_model_entry,
)
from v1model.app.report import save_figure, spread
from v1model.base import check_model

METHODS = ("white_noise", "sparse_noise", "gratings")

#: Images per method when ``n_images`` is not given (gratings: positions per side).
DEFAULT_N_IMAGES = {"white_noise": 10000, "sparse_noise": 10000}
DEFAULT_GRID = 9

#: A layer's display when the model accepts any (the CNN keeps its own): 3 degrees.
DEFAULT_SIZE = 48
DEFAULT_PPD = 16.0

#: Similarity to Ringach's nx, ny needs at least this many successful fits.
_MIN_FITS_FOR_SCORE = 5
#: Units drawn in the map mosaic.
_MOSAIC_UNITS = 16


def run_rf_job(out_dir: str, *, model: str = "v1", layer: str | None = None,
               method: str = "white_noise", n_images: int | None = None,
               grid: int = DEFAULT_GRID, size: int | None = None,
               pixels_per_degree: float | None = None, units: str = "centre",
               min_r2: float = 0.5, progress: bool = True, seed: int = 0) -> dict[str, Any]:
    """Map the receptive fields of one layer; write maps, fits, figures and a summary.

    Writes into ``out_dir/rf/`` files named ``{model}_{layer}_{method}_*``: for the
    noise methods ``maps.npz`` (:meth:`analysis.receptive_fields.ReceptiveFields.load`),
    ``fits.csv`` and ``fits.json`` (one row per unit: the model's own parameters as
    ``unit_*``, the split-half reliability of the map and the Gabor fit — position
    and σ in degrees, sf in c/deg, orientation and phase in degrees, nx, ny, R²),
    ``maps.png`` (a mosaic), ``gabor_fit.png`` (data, fit and residual of the unit
    with the median R² among successful fits), ``nx_ny.png`` (over the macaque cloud)
    and ``convergence.png``; for ``gratings`` ``table.csv``/``table.json`` (RF centre
    and diameter per unit) and ``centres.png``.  Always ``summary.json``.

    Parameters
    ----------
    out_dir : str
        Output directory (created if missing).
    model : str
        A registered model (``"v1"``, ``"hmax"``, ``"spiking"``, ``"cnn"``, or one added
        with :func:`~v1model.app.registry.register_model`), or a ``"module:callable"``
        spec called as ``factory(display)`` with the ``size``/``pixels_per_degree``
        display; the model it returns is checked with :func:`v1model.base.check_model`
        and its files are named after the callable.
    layer : str, optional
        One of the model's layers; default its first mapped layer (``simple``,
        ``S1``, ``simple``, ``conv1``).
    method : {"white_noise", "sparse_noise", "gratings"}
        See the module docstring.
    n_images : int, optional
        Noise images (default 10000 for both noise methods); not used by ``gratings``.
    grid : int
        Grating positions per side (``gratings`` only; >= 3).
    size, pixels_per_degree : int and float, optional
        Square display in pixels and its pixels per degree (default 48 px at 16
        px/deg, 3°).  The CNN has a fixed display; giving either for it is an error.
    units : {"centre", "all"}
        Every channel at the display centre, or every unit of the layer's map.
    min_r2 : float
        Gabor fits below this R² count as failed (in [0, 1)).
    progress : bool
        Progress bars on stderr.
    seed : int
        Seed of the noise (and of the spiking layer's noise).

    Returns
    -------
    dict
        ``folder``, ``summary`` (path), ``files`` (paths written), ``seconds``.

    Raises
    ------
    ValueError
        For an unknown model, layer, method or units, a model that cannot run here,
        out-of-range numbers, or ``size``/``pixels_per_degree`` given for the CNN.

    Examples
    --------
    >>> run_rf_job("out", model="v1", layer="S1")
    Traceback (most recent call last):
    ...
    ValueError: layer must be one of 'simple', 'complex'; got 'S1'
    """

    outside = isinstance(model, str) and ":" in model
    if outside:
        factory = load_factory(model)
        size = check_int("size", DEFAULT_SIZE if size is None else size, minimum=8)
        ppd = check_positive("pixels_per_degree",
                             DEFAULT_PPD if pixels_per_degree is None else pixels_per_degree)
        built = factory(Display((size, size), pixels_per_degree=ppd))
        name = re.sub(r"[^a-z0-9_]+", "_", model.rsplit(":", 1)[1].lower()).strip("_")
        entry = outside_model_entry(name if name[:1].isalpha() else f"m_{name}", built,
                                    title=model)
    else:
        entry = get_model(check_choice("model", model, list_models()))
    layer = (entry.rf_layers or entry.layers)[0] if layer is None else layer
    check_choice("layer", layer, entry.layers)
    method = check_choice("method", method, METHODS)
    units = check_choice("units", units, ("centre", "all"))
    min_r2 = check_range("min_r2", min_r2, 0.0, 1.0, closed="left")
    seed = check_int("seed", seed, minimum=0)
    check_bool("progress", progress)
    if method == "gratings":
        if n_images is not None:
            raise ValueError("n_images applies to the noise methods; method 'gratings' "
                             "takes grid (positions per side)")
        grid = check_int("grid", grid, minimum=3)
    else:
        n_images = check_int("n_images", DEFAULT_N_IMAGES[method] if n_images is None
                             else n_images, minimum=4)
    if outside:
        pass
    elif entry.display is not None and (size is not None or pixels_per_degree is not None):
        rows, cols = entry.display.shape
        raise ValueError(f"the {entry.title} has a fixed display ({rows} x {cols} px at "
                         f"{entry.display.pixels_per_degree:g} px/deg); size and "
                         "pixels_per_degree do not apply to it")
    size = check_int("size", DEFAULT_SIZE if size is None else size, minimum=8)
    ppd = check_positive("pixels_per_degree",
                         DEFAULT_PPD if pixels_per_degree is None else pixels_per_degree)
    reason = None if outside else model_availability([model])[model]
    if reason is not None:
        raise ValueError(f"model {model!r} cannot run here: {reason}")

    start = time.perf_counter()
    if outside:
        check_model(built, layers=[layer])
        net = built
    else:
        display = entry.display or Display((size, size), pixels_per_degree=ppd)
        net = build_model(model, display, seed=seed, **DEFAULT_BATTERY.model_options(model))
    # out_dir/rf holds one set of files per model, layer and method: this run's set is
    # written with the others' carried over, and the folder swapped in when complete
    prefix = f"{entry.name}_{layer}_{method}_"
    with staged_output(os.path.join(os.fspath(out_dir), "rf"),
                       keep=lambda name: not name.startswith(prefix)) as stage:
        written = _rf_into(stage.path, net, model, entry.name, entry.title, layer, method,
                           units, seed, n_images, grid, min_r2, progress, start)
    return stage.final(written)


def _rf_into(folder: str, net: Any, model: str, name: str, title: str, layer: str,
             method: str, units: str, seed: int, n_images: int | None, grid: int,
             min_r2: float, progress: bool, start: float) -> dict[str, Any]:
    """The job of :func:`run_rf_job` with every file written under ``folder``."""
    stem = os.path.join(folder, f"{name}_{layer}_{method}")
    display = net.display
    summary: dict[str, Any] = {
        "job": "v1model rf", "model": model, "model_title": title, "layer": layer,
        "method": method, "units": units, "seed": seed,
        "display": {"shape": list(display.shape),
                    "pixels_per_degree": float(display.pixels_per_degree)},
        "model_params": jsonable(getattr(net, "params", repr(net))),
    }
    if method == "gratings":
        files = _gratings(net, layer, grid, units, progress, stem, summary)
    else:
        files = _noise(net, layer, method, n_images, units, min_r2, progress, seed, stem,
                       summary)
    summary["seconds"] = time.perf_counter() - start
    summary_path = os.path.join(folder, f"{os.path.basename(stem)}_summary.json")
    with atomic_open(summary_path) as fh:
        json.dump(jsonable(summary), fh, indent=1, allow_nan=False)
    return {"folder": folder, "summary": summary_path, "files": files,
            "seconds": summary["seconds"]}


def _noise(net: Any, layer: str, method: str, n_images: int, units: str, min_r2: float,
           progress: bool, seed: int, stem: str, summary: dict[str, Any]) -> list[str]:
    """Reverse correlation or sparse noise, Gabor fits, figures; fills ``summary``."""

    mapper = reverse_correlation if method == "white_noise" else sparse_noise_maps
    rf = mapper(net, layer, n_images=n_images, rng=seed, units=units, progress=progress)
    fits = rf.fit_gabors(min_r2=min_r2, progress=progress)
    table = _fits_table(rf, fits)
    files = [f"{stem}_maps.npz", f"{stem}_fits.csv", f"{stem}_fits.json"]
    rf.save(files[0])
    table.to_csv(files[1])
    table.to_json(files[2])


    matplotlib.use("Agg")

    ppd = rf.display.pixels_per_degree
    responsive = np.flatnonzero(rf.responsive)
    shown = (responsive[spread(np.arange(len(responsive)), _MOSAIC_UNITS)] if len(responsive)
             else np.array(spread(np.arange(rf.n_units), _MOSAIC_UNITS)))
    fig = plot_rf_mosaic(rf.maps[shown], unit_info={k: np.asarray(v)[shown]
                                                    for k, v in rf.unit_info.items()},
                         pixels_per_degree=ppd, units=shown).flat[0].figure
    label = f"{summary['model_title']} · {layer}"
    what = ("white-noise reverse correlation" if method == "white_noise"
            else "sparse noise, ON − OFF")
    fig.suptitle(f"{label}: {what}, {rf.n_images} images")
    files.append(f"{stem}_maps.png")
    save_figure(fig, files[-1])

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    conv = rf.convergence
    ax.semilogx(conv["n_images"], conv["median_r"], "o-", label="median")
    ax.semilogx(conv["n_images"], conv["q10_r"], "s--", label="10th percentile")
    ax.set(xlabel="images", ylabel="r(map from first half, map from all)", ylim=(-0.05, 1.05),
           title=f"{label}: convergence")
    ax.legend(frameon=False)
    files.append(f"{stem}_convergence.png")
    save_figure(fig, files[-1])

    ok = np.asarray(fits["success"], dtype=bool)
    fit_summary: dict[str, Any] = {"n_success": int(ok.sum()), "min_r2": min_r2,
                                   "median_r2_all": _median(fits["r2"])}
    if ok.any():
        r2 = np.asarray(fits["r2"], dtype=np.float64)
        typical = np.flatnonzero(ok)[np.argsort(r2[ok])[ok.sum() // 2]]
        fig = plot_gabor_fit(rf.maps[typical],
                             fit_gabor(rf.maps[typical], ppd, min_r2=min_r2))[0].figure
        fig.suptitle(f"{label}: unit {typical} (median R² of the successful fits)")
        files.append(f"{stem}_gabor_fit.png")
        save_figure(fig, files[-1])

        fig, ax = plt.subplots(figsize=(4.5, 4.0))
        plot_nx_ny(fits["nx"][ok], fits["ny"][ok], ax=ax, label=label)
        files.append(f"{stem}_nx_ny.png")
        save_figure(fig, files[-1])
        fit_summary.update({
            "median_r2": _median(r2[ok]), "median_nx": _median(fits["nx"][ok]),
            "median_ny": _median(fits["ny"][ok]),
            "median_sf_cpd": _median(fits["sf"][ok]),
        })
        for column in ("orientation_error_deg", "sf_ratio"):
            if column in table:
                fit_summary[f"median_{column}"] = _median(table[column][ok])
        if ok.sum() >= _MIN_FITS_FOR_SCORE:
            fit_summary["similarity_to_macaque"] = {
                name: _score(similarity_score(fits[column][ok], name, n_boot=200, rng=seed))
                for name, column in (("ringach_nx", "nx"), ("ringach_ny", "ny"))}
    summary.update({
        "n_images": rf.n_images, "n_units": rf.n_units,
        "n_responsive": int(rf.responsive.sum()),
        "median_split_half_r": _median(rf.split_half_r),
        "convergence": {k: np.asarray(conv[k]).tolist() for k in conv.names},
        "gabor_fits": fit_summary,
    })
    reliability = summary["median_split_half_r"]
    if reliability is None or reliability < 0.5:
        summary["note"] = (
            f"the maps are unreliable (median split-half r = "
            f"{'n/a' if reliability is None else f'{reliability:.2f}'}): either the units "
            "have no signed receptive field (complex cells and full-wave rectified units, "
            "whose responses to light and dark cancel) or more images are needed "
            "(--n-images); --method gratings maps RF position and size for any unit")
    elif not ok.any():
        summary["note"] = "no fit reached the R² threshold; see fits.csv for R² per unit"
    return files


def _fits_table(rf: Any, fits: Any) -> Any:
    """Per unit: the model's own parameters (``unit_*``), map reliability, the Gabor fit,
    and — when the model reports them — how far the fit is from the unit's own filter."""

    columns: dict[str, np.ndarray] = {"unit": np.arange(rf.n_units)}
    for key, value in rf.unit_info.items():
        value = np.asarray(value)
        if value.ndim == 1 and value.dtype.kind in "biuf":
            columns[f"unit_{key}"] = value
    columns["responsive"] = np.asarray(rf.responsive, dtype=bool)
    columns["split_half_r"] = np.asarray(rf.split_half_r, dtype=np.float64)
    for key in fits.names:
        columns[key] = np.asarray(fits[key])
    if "unit_orientation" in columns:
        delta = np.asarray(fits["orientation"], np.float64) - columns["unit_orientation"]
        columns["orientation_error_deg"] = np.abs((delta + 90.0) % 180.0 - 90.0)
    if "unit_sf" in columns:
        with np.errstate(invalid="ignore", divide="ignore"):
            columns["sf_ratio"] = np.asarray(fits["sf"], np.float64) / columns["unit_sf"]
    return Table(columns)


def _gratings(net: Any, layer: str, grid: int, units: str, progress: bool, stem: str,
              summary: dict[str, Any]) -> list[str]:
    """RF centres and diameters from small gratings; a figure of the RF outlines."""

    matplotlib.use("Agg")


    table = grating_rf_mapping(net, layer, grid=(grid, grid), units=units, progress=progress)
    files = [f"{stem}_table.csv", f"{stem}_table.json"]
    table.to_csv(files[0])
    table.to_json(files[1])
    ok = np.asarray(table["success"], dtype=bool)

    height, width = net.display.size_degrees
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for i in np.flatnonzero(ok):
        ax.add_patch(Circle((table["x"][i], table["y"][i]), table["rf_diameter"][i] / 2,
                            fill=False, alpha=0.5, lw=0.8))
    ax.plot(table["x"][ok], table["y"][ok], ".", ms=3)
    ax.set(xlim=(-width / 2, width / 2), ylim=(-height / 2, height / 2), aspect="equal",
           xlabel="x (deg)", ylabel="y (deg)",
           title=f"{summary['model_title']} · {layer}: RF centres and 4σ diameters\n"
                 f"({int(ok.sum())} of {len(table)} units fitted)")
    files.append(f"{stem}_centres.png")
    save_figure(fig, files[-1])
    summary.update({
        "grid": grid, "n_units": len(table), "n_responsive": int(np.sum(table["responsive"])),
        "n_success": int(ok.sum()),
        "median_rf_diameter_deg": _median(table["rf_diameter"][ok]),
        "median_r2": _median(table["r2"][ok]),
        "median_abs_centre_deg": _median(np.hypot(table["x"][ok], table["y"][ok])),
    })
    return files


def _median(values: Any) -> float | None:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(np.median(arr)) if arr.size else None


def _score(score: Any) -> dict[str, Any]:
    return {"score": score.score, "ci": [score.ci_low, score.ci_high], "ceiling": score.ceiling,
            "n": score.n, "reference": score.source, "approximate": score.check}
