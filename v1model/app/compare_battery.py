"""The protocol battery of ``v1model compare`` through one model, and its analyses.

:func:`run_battery` renders each protocol of the battery once on the model's display,
records every chosen layer from it and computes each layer's tuning tables, property
values, Brain-Score (Marques et al. 2021) properties and receptive-field maps into a
:class:`LayerResult`.  It runs in the calling process or on a worker of the compare
job (:mod:`v1model.app.compare`), which sends the results back; scoring, figures and
the report are the job's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from analysis.gabor_fit import fit_gabors
from analysis.invariance import tolerance_correlations
from analysis.modulation import modulation_ratio
from analysis.properties import marques_properties
from analysis.recording import Recording
from analysis.response_functions import size_tuning
from analysis.rf_grid import grid_on_off_maps
from analysis.runner import run_protocol_layers
from analysis.tuning import curve_levels, orientation_tuning, sf_tuning, tuning_curves
from stimuli import protocols as P
from stimuli.display import Display
from stimuli.natural import random_patches
from stimuli.table import Table
from v1model.app.battery import Battery
from v1model.app.registry import (
    RegisteredModel,
)
from v1model.app.report import submit

#: Size tuning counts units whose preferred orientation (degrees) and sampled peak sf
#: (octaves) lie this close to the orientation and sf their size curve was read at.
_SIZE_ORIENTATION_TOLERANCE = 15.0
_SIZE_SF_TOLERANCE = 0.5


@dataclass
class LayerResult:
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
class ModelResult:
    entry: RegisteredModel
    layers: dict[str, LayerResult]
    display: Display
    params: dict[str, Any]
    seconds: float
    steps: tuple[str, ...]


# ================================================================== the job


class Log:
    """Stage messages on stderr (through tqdm, so they do not break progress bars)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def info(self, message: str) -> None:
        if self.enabled:

            tqdm.write(f"v1model compare: {message}", file=sys.stderr)

    def warn(self, message: str) -> None:
        # never silent, even without progress output
        print(f"v1model compare: {message}", file=sys.stderr)


def natural_patches(battery: Battery, seed: int) -> np.ndarray:
    """The shared natural-image patches ``(n_natural + n_invariance, size, size)``."""

    n = battery.n_natural + battery.n_invariance
    return random_patches(n, (battery.size, battery.size), rng=seed, min_std=0.05)


def on_display(images: np.ndarray, source_ppd: float, display: Display) -> np.ndarray:
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

def battery_protocols(entry: RegisteredModel, steps: Sequence[str], battery: Battery,
                      display: Display, natural: np.ndarray) -> dict[str, Any]:
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
    shared = on_display(natural[:battery.n_natural], battery.pixels_per_degree, display)
    out["natural"] = P.image_set(
        display, shared, name="natural_patches",
        params={"n": battery.n_natural, "source_shape": list(natural.shape[1:]),
                "pixels_per_degree": battery.pixels_per_degree, "min_std": 0.05,
                "crop": "centre"})
    return out


def run_battery(model: Any, entry: RegisteredModel, layers: Sequence[str], steps: Sequence[str],
                 battery: Battery, natural: np.ndarray, progress: bool, log: Log,
                 executor: Executor | None) -> dict[str, LayerResult]:
    """Every protocol through every chosen layer of one model, then the per-layer analyses."""

    results = {layer: LayerResult(entry.name, layer, entry.title) for layer in layers}
    temporal = bool(model.temporal)
    # temporal models simulate a whole batch in one network run: use big batches (and a
    # spiking model then answers the second layer from its cache of the last run)
    batch = 1024 if temporal else 64
    for step, protocol in battery_protocols(entry, steps, battery, model.display, natural).items():
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
        analyse_layer(model, entry, layer, res, battery, log, executor)
        res.seconds["analysis"] = time.perf_counter() - t0
        if entry.invariance and not temporal:
            t0 = time.perf_counter()
            images = on_display(natural[battery.n_natural:], battery.pixels_per_degree,
                                 model.display)
            log.info(f"[{entry.title}] layer {layer}: translation tolerance")
            res.invariance = tolerance_correlations(model, layer, images, transform="translate",
                                                    amounts=battery.shifts)
            res.seconds["invariance"] = time.perf_counter() - t0
    return results


def analyse_layer(model: Any, entry: RegisteredModel, layer: str, res: LayerResult,
                  battery: Battery, log: Log, executor: Executor | None) -> None:
    """Per-unit metrics of every recording of one layer, and the property values.

    The Gabor fits of the receptive fields are left running on ``executor``
    (:func:`finish_receptive_fields` collects them).
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


def _marques(res: LayerResult) -> None:
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


def finish_receptive_fields(res: LayerResult) -> None:
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
