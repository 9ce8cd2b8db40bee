"""Every public callable, every parameter, bad values: a clear error naming it, or a valid result.

The walk covers ``stimuli.__all__``, ``v1model.__all__`` and ``analysis.__all__``.
Each callable has a table entry of valid base arguments (small displays, tiny
models, short recordings; the optional parameters keep their defaults), and each
parameter in turn is replaced by bad values chosen from the kind of its base
value: scalars get NaN, ±inf, negative, huge, strings, complex, None and object();
arrays get NaN/inf entries, complex and string arrays, a wrong number of
dimensions, an empty array and ``["bogus"]``; strings get unknown words, numbers
and lists; other objects get the wrong type.  A call passes if it

* raises ValueError or TypeError whose message names the parameter, or
* succeeds with a result holding no more NaN/inf values than the base call's
  (where the value is legitimately valid, e.g. a negative orientation, a radius
  of inf), and for NaN, wrong types and strings only when the parameter is
  documented to take them (``FREE_TEXT``, ``NAN_OK``).

Anything else — another exception type, an error naming another parameter, a
NaN in the result, a call that runs past ``TIME_LIMIT`` — is counted as
unclear or silently accepted.  ``python tests/test_api_fuzz.py`` prints the counts.

Not walked (``SKIPPED``): result records that analysis functions return (their
fields are outputs; NaN there means "undefined"), the long experiments of
``analysis.claims`` and training functions (minutes per valid call), and
``TorchModel`` (optional dependency).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import math
import os
import re
import signal
import sys
import tempfile
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis
import stimuli
import v1model
from analysis.recording import Recording
from stimuli.display import Display
from stimuli.protocols import Protocol
from stimuli.resources import set_memory_budget
from stimuli.table import Table

TIME_LIMIT = 5.0  # seconds per call; legitimate calls here take milliseconds

SKIPPED = {
    # result records (outputs of analysis functions)
    "Aggregate", "Check", "ClaimResult", "Evaluation", "GaborFit", "LinearClassifier",
    "NakaRushtonFit",
    "ReferenceDistribution", "SimilarityScore", "STCResult", "SweepError", "ReceptiveFields",
    "FiringRateMap", "PropertyValues", "GridMaps", "FitResult",
    # minutes-long experiments and training runs
    "claim_fc_layers", "claim_first_layer", "claim_hierarchy", "claim_hubel_wiesel",
    "claim_pooling", "claim_rotation", "claim_weight_sharing", "train_default_cnn", "train_cnn",
    "fit_population", "save_fit",
    "default_training_data",
    # optional dependency; no parameters; abstract protocol; the budget has its own tests
    "TorchModel", "load_pretrained_cnn", "Model", "list_protocols", "natural_image_names",
    "list_references", "memory_budget", "set_memory_budget", "MemoryBudgetError",
    # not data
    "CLAIMS", "VERDICTS",
}

#: Parameters that take any text (labels drawn as given, names of new things, paths) or,
#: for class labels, any hashable value numpy can hold.
FREE_TEXT = {"label", "title", "values_label", "reference_label", "name:Protocol",
             "name:Dataset", "path", "out_dir", "cache_dir", "transform:plot_invariance",
             "units:plot_invariance", "by:plot_tuning_curve", "y_train", "y_test",
             "row_labels", "col_labels", "identifier", "session_description",
             "class_names:Dataset"}

#: Parameters naming files and folders: a missing file is a FileNotFoundError naming it.
PATHS = {"path", "out_dir", "cache_dir"}

#: Parameters whose documented meaning includes NaN entries (they are ignored), or whose
#: legitimate extreme values give documented NaN results (a baseline above every response
#: leaves no unit responsive, and size_tuning's SSI is NaN for unresponsive units).
NAN_OK = {"values:plot_property_histogram", "nx:plot_nx_ny", "ny:plot_nx_ny",
          "values:similarity_score", "baseline:size_tuning"}

D = Display((16, 16), pixels_per_degree=8)
D32 = Display((32, 32), pixels_per_degree=8)


class Pixels:
    """The smallest model: its one layer is the image."""

    display, layers, temporal = D, ("px",), False

    def responses(self, stimuli, layer):
        return np.asarray(stimuli, dtype=np.float32).reshape(len(stimuli), -1)

    def unit_info(self, layer):
        return {}


class Squares(Pixels):
    """Non-negative responses (spike-triggered statistics need them)."""

    def responses(self, stimuli, layer):
        return super().responses(stimuli, layer) ** 2


@functools.cache
def _fixtures():
    rng = np.random.default_rng(0)
    theta = np.arange(0, 180, 30.0)
    ori_resp = (1 + np.cos(np.deg2rad(2 * (theta - 60))))[:, None] * [1.0, 2.0]
    sfs = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    sf_resp = np.exp(-np.log2(sfs / 2) ** 2)[:, None] * [1.0, 2.0]
    directions = np.arange(0, 360, 45.0)
    dir_resp = 1 + np.cos(np.deg2rad(directions - 90))
    contrasts = np.array([0.02, 0.05, 0.1, 0.2, 0.4, 0.8])
    cr = 10 * contrasts**2 / (contrasts**2 + 0.1**2)
    radius = np.array([0.25, 0.5, 1.0, 2.0, np.inf])
    phase = np.arange(0, 360, 45.0)
    v1 = v1model.V1Model.grid(D, orientations=[0, 90], sfs=[2.0], workers=1)
    hmax = v1model.HMAX(Display((64, 64), 32))
    net = v1model.Network.from_spec(v1model.default_cnn_spec(
        2, input_size=16, conv1_channels=2, conv1_size=3, conv2_channels=2, fc_units=4), rng=0)
    images = rng.normal(0, 0.3, (4, 16, 16)).astype(np.float32)
    y, x = np.mgrid[7.5:-8:-1, -7.5:8]
    gabor_img = np.exp(-(x**2 + y**2) / 18) * np.cos(2 * np.pi * x / 6)
    tmp = tempfile.mkdtemp(prefix="v1model-fuzz-")
    proto_path = os.path.join(tmp, "protos.npz")
    v1model.save_prototypes(proto_path, [np.ones((2, 4, 3, 3))])
    sweep_dir = os.path.join(tmp, "sweep")
    analysis.sweep(D32, protocols=[("orientation_tuning", {
        "orientations": [0, 30, 60, 90, 120, 150], "phases": [0, 180], "sfs": [2.0]})],
                   layers="complex", model_kwargs={"population": "grid",
                           "sfs": [2.0], "workers": 1},
                   out_dir=sweep_dir, progress=False)
    X = np.r_[rng.normal(-2, 1, (10, 2)), rng.normal(2, 1, (10, 2))]
    yl = np.r_[np.zeros(10), np.ones(10)]
    clf = analysis.fit_linear_classifier(X, yl)
    return dict(
        theta=theta, ori_resp=ori_resp, sfs=sfs, sf_resp=sf_resp, directions=directions,
        dir_resp=dir_resp, contrasts=contrasts, cr=cr, v1=v1, hmax=hmax, net=net,
        images=images, gabor_img=gabor_img, proto_path=proto_path, sweep_dir=sweep_dir,
        X=X, yl=yl, clf=clf, tmp=tmp,
        ori_rec=Recording({"orientation": theta}, ori_resp),
        sf_rec=Recording({"sf": sfs}, sf_resp),
        cr_rec=Recording({"contrast": contrasts}, cr[:, None]),
        size_rec=Recording({"radius": radius}, np.array([[2.0], [4.0], [3.0], [3.0], [3.0]])),
        phase_rec=Recording({"phase": phase}, (2 + 3 * np.cos(np.deg2rad(phase)))[:, None]),
        time_rec=Recording({"tf": [2.0, 2.0, 4.0], "repeat": [0, 1, 0]},
                           np.arange(12.0).reshape(3, 1, 4) + 1, meta={"time_step": 0.01}),
        rep_rec=Recording({"sf": [1.0, 1.0, 1.0], "repeat": [0, 1, 2]},
                          [[2.0], [4.0], [6.0]]),
        ref_values=analysis.reference_distribution("surround_suppression_index").sample(
            50, rng=0),
    )


def _base(qualname):
    """Valid arguments ``(args, kwargs)`` for the public callable ``qualname``."""
    module, name = qualname.rsplit(".", 1)
    if module == "stimuli" and name in ("contrast_response", "orientation_tuning",
                                        "sf_tuning", "size_tuning"):
        return (D,), {}  # the protocols, not the analysis functions of the same name
    f = _fixtures()
    rng = np.random.default_rng(1)
    table = {
        # stimuli
        "Dataset": lambda: ((), dict(x_train=f["images"][:2], y_train=np.array([0, 1]),
                                     x_test=f["images"][2:], y_test=np.array([1, 0]),
                                     class_names=("a", "b"), name="toy")),
        "Display": lambda: (((16, 16), 8.0), {}),
        "Protocol": lambda: (("two", D, {"orientation": [0.0, 90.0]},
                              functools.partial(_grating_row)), {}),
        "Table": lambda: (({"a": [1.0, 2.0], "b": [3, 4]},), {}),
        "natural_image": lambda: ((stimuli.natural_image_names()[0],), {}),
        "natural_patches_dataset": lambda: ((), dict(n_per_class=4, size=8, rng=0)),
        "faces_dataset": lambda: ((), dict(rng=0, size=16)),
        "shapes_dataset": lambda: ((), dict(n_per_class=4, size=16, rng=0)),
        "pink_noise": lambda: ((D, 2), {}),
        "sparse_noise": lambda: ((D, 2), {}),
        "white_noise": lambda: ((D, 2), {}),
        "random_patches": lambda: ((3, (8, 8)), dict(rng=0)),
        "rotate": lambda: ((f["images"][:2],), dict(angle=30.0)),
        "scale": lambda: ((f["images"][:2],), dict(factor=1.5)),
        "translate": lambda: ((f["images"][:2], D), dict(shift=(0.25, 0.0))),
        "whiten": lambda: ((f["images"][:2],), {}),
        # v1model
        "C1Stage": lambda: ((), {}), "C2Stage": lambda: ((), {}), "S1Stage": lambda: ((), {}),
        "S2Stage": lambda: ((np.zeros((3, 4, 2, 2)),), dict(beta=5.0)),
        "CNN": lambda: ((f["net"], D), {}),
        "Network": lambda: (([("fc", [_flatten(), _dense(256, 3)])],), dict(
            input_shape=(1, 16, 16))),
        "default_cnn_spec": lambda: ((3,), {}),
        "mlp_spec": lambda: ((3,), {}),
        "ensemble_data": lambda: (({"arch": "small", "data": {"seed": 0, "n_per_class": 4}},),
                                  {}),
        "ensemble_members": lambda: (("wide",), {}),
        "load_ensemble": lambda: (("wide",), {}),
        "train": lambda: ((_fresh_net(), f["images"], np.arange(4) % 2),
                          dict(epochs=1, rng=0, progress=False)),
        "HMAX": lambda: ((Display((64, 64), 32),), {}),
        "SpikeTrains": lambda: ((np.array([0.1, 0.3]), np.array([0, 0]), np.array([1, 1])),
                                dict(n_conditions=1, n_units=2, duration=0.5,
                                     resolution=1e-3)),
        "SpikingV1": lambda: ((D,), dict(v1={"population": "grid",
                "orientations": [0], "sfs": [2]}, rng=0)),
        "imprint_prototypes": lambda: ((f["hmax"], rng.uniform(-1, 1, (2, 64, 64))),
                                       dict(n_per_size=2, sizes=(4,), rng=0)),
        "load_prototypes": lambda: ((f["proto_path"],), {}),
        "save_prototypes": lambda: ((os.path.join(f["tmp"], "out.npz"),
                                     [np.ones((2, 4, 3, 3))]), {}),
        "GaborBank": lambda: ((D,), dict(orientations=[0, 90], sfs=[2.0], workers=1)),
        "V1Model": lambda: ((D,), dict(population="grid", orientations=[0, 90], sfs=[2.0],
                                      workers=1)),
        "divisive_normalization": lambda: ((rng.random((1, 2, 4, 4)),), {}),
        "energy": lambda: ((np.array([3.0, 0.0]), np.array([4.0, -2.0])), {}),
        "gabor_kernel": lambda: ((D,), dict(orientation=0.0, sf=2.0, sigma_x=0.2, sigma_y=0.3)),
        "half_wave": lambda: ((np.array([-1.0, 0.5, 2.0]),), {}),
        "max_pool": lambda: ((rng.random((1, 1, 2, 5, 5)),), dict(window=3,
                                                                    pixels_per_degree=1.0)),
        "sample_population": lambda: ((5,), dict(rng=0)),
        # analysis
        "verdict_from_checks": lambda: (([analysis.Check("a", "gain", 0.2, 0.05)],), {}),
        "verdict_alternatives": lambda: (([analysis.Check("a", "gain", 0.2, 0.05)],), {}),
        "aggregate_verdicts": lambda: ((["supported", "not supported", "inconclusive"],), {}),
        "decode": lambda: ((f["X"][::2], f["yl"][::2], f["X"][1::2], f["yl"][1::2]), {}),
        "evaluate": lambda: ((f["clf"], f["X"], f["yl"]), {}),
        "fit_linear_classifier": lambda: ((f["X"], f["yl"]), {}),
        "tolerance_correlations": lambda: ((Pixels(), "px", f["images"][:2]),
                                           dict(transform="rotate", amounts=[0.0, 10.0])),
        "tolerance_curve": lambda: ((Pixels(), "px", f["images"][:2]),
                                    dict(amounts=[0.0, 0.25])),
        "transform_images": lambda: ((f["images"][:1], D, "translate", 0.25), {}),
        "wilson_interval": lambda: ((8, 10), {}),
        "Recording": lambda: (({"sf": [1.0, 2.0]}, [[1.0, 2.0], [3.0, 4.0]]), {}),
        "cell_key": lambda: (({"nx": 0.4, "ny": 0.6},), {}),
        "cka": lambda: ((rng.normal(size=(20, 3)), rng.normal(size=(20, 4))), {}),
        "cka_matrix": lambda: (({"a": rng.normal(size=(20, 3)), "b": rng.normal(size=(20, 4))},),
                               {}),
        "contrast_response": lambda: ((f["cr_rec"],), {}),
        "fano_factor": lambda: ((f["rep_rec"],), {}),
        "fit_gabor": lambda: ((f["gabor_img"],), dict(pixels_per_degree=8.0)),
        "fit_gabors": lambda: ((f["gabor_img"][None],), dict(pixels_per_degree=8.0)),
        "fit_naka_rushton": lambda: ((f["contrasts"], f["cr"]), {}),
        "grating_rf_mapping": lambda: ((Pixels(), "px"), dict(grid=(3, 3), units=[0, 1],
                                                              progress=False)),
        "lifetime_sparseness": lambda: ((f["sf_rec"],), {}),
        "load_sweep": lambda: ((f["sweep_dir"],), {}),
        "modulation_ratio": lambda: ((f["phase_rec"],), {}),
        "naka_rushton": lambda: ((f["contrasts"],), dict(c50=0.1, n=2.0, r_max=10.0)),
        "plot_cka_matrix": lambda: (([[1.0, 0.4], [0.4, 1.0]], ["simple", "complex"]), {}),
        "plot_gabor_fit": lambda: ((f["gabor_img"], analysis.fit_gabor(f["gabor_img"])), {}),
        "plot_invariance": lambda: (([0, 1, 2], {"simple": [1, 0.2, 0.0]}), {}),
        "plot_nx_ny": lambda: (([0.3, 0.5], [0.4, 0.6]), {}),
        "plot_rf_mosaic": lambda: ((rng.normal(size=(3, 8, 8)),), {}),
        "psth": lambda: ((f["time_rec"],), {}),
        "rdm": lambda: ((rng.normal(size=(5, 3)),), {}),
        "reference_distribution": lambda: (("peak_sf",), {}),
        "reverse_correlation": lambda: ((Pixels(), "px"), dict(n_images=20, rng=0,
                                                               units=[0, 1])),
        "rsa": lambda: ((rng.normal(size=(5, 3)), rng.normal(size=(5, 4))), {}),
        "similarity_score": lambda: ((f["ref_values"], "surround_suppression_index"),
                                     dict(n_boot=20, rng=0)),
        "size_tuning": lambda: ((f["size_rec"],), {}),
        "sparse_noise_maps": lambda: ((Pixels(), "px"), dict(n_images=20, rng=0,
                                                             units=[0, 1])),
        "bar": lambda: ((D,), dict(width=0.25)),
        "spike_triggered_covariance": lambda: ((Squares(), "px"), dict(n_images=40, rng=0,
                                                                      size=4)),
        "sweep": lambda: ((D32,), dict(protocols=[("orientation_tuning", {
            "orientations": [0, 30, 60, 90, 120, 150], "phases": [0, 180], "sfs": [2.0]})],
            layers="complex",
            model_kwargs={"population": "grid", "sfs": [2.0], "workers": 1}, progress=False,
            out_dir=tempfile.mkdtemp(dir=f["tmp"]))),
        "circular_variance": lambda: ((f["ori_resp"].T, f["theta"]), {}),
        "dsi": lambda: ((f["dir_resp"], f["directions"]), {}),
        "fit_double_von_mises": lambda: ((f["dir_resp"], f["directions"]), {}),
        "fit_log_gaussian": lambda: ((f["sf_resp"].T, f["sfs"]), {}),
        "fit_von_mises": lambda: ((f["ori_resp"].T, f["theta"]), {}),
        "global_dsi": lambda: ((f["dir_resp"], f["directions"]), {}),
        "global_osi": lambda: ((f["ori_resp"].T, f["theta"]), {}),
        "orientation_bandwidth": lambda: ((f["ori_resp"].T, f["theta"]), {}),
        "orientation_tuning": lambda: ((f["ori_rec"],), {}),
        "orientation_summary": lambda: ((f["ori_rec"],), {}),
        "osi": lambda: ((f["ori_resp"].T, f["theta"]), {}),
        "plot_property_histogram": lambda: (([0.2, 0.5, 0.6],), dict(label="cv")),
        "plot_tuning_curve": lambda: (((f["theta"], f["ori_resp"][:, 0]),), {}),
        "plot_tuning_grid": lambda: ((f["ori_rec"],), dict(ncols=2)),
        "preferred_direction": lambda: ((f["dir_resp"], f["directions"]), {}),
        "preferred_orientation": lambda: ((f["ori_resp"].T, f["theta"]), {}),
        "preferred_orientation_argmax": lambda: ((f["ori_resp"].T, f["theta"]), {}),
        "run_protocol": lambda: ((Pixels(), stimuli.orientation_tuning(D, sfs=(2.0,)), "px"),
                                 dict(units=[0, 1], progress=False)),
        "run_protocol_layers": lambda: ((Pixels(), stimuli.orientation_tuning(D, sfs=(2.0,)),
                                         ["px"]), dict(units=[0, 1], progress=False)),
        "sf_bandwidth": lambda: ((f["sf_resp"].T, f["sfs"]), {}),
        "sf_tuning": lambda: ((f["sf_rec"],), {}),
        "tuning_curves": lambda: ((f["ori_rec"],), dict(by="orientation")),
        "compute_property": lambda: (("modulation_ratio", _ori_phase_recording()), {}),
        "fit_firing_rate_map": lambda: ((_ori_phase_recording(),), {}),
        "marques_properties": lambda: (({"orientation": _ori_phase_recording()},), {}),
        "score_properties": lambda: ((analysis.marques_properties(
            {"orientation": _ori_phase_recording()}),), dict(n_boot=20, rng=0)),
        "check_model": lambda: ((v1model.CNN(f["net"], D),), {}),
        "grid_on_off_maps": lambda: ((analysis.Recording(
            {"x": [-0.5, 0.5] * 4, "y": [0.5, 0.5, -0.5, -0.5] * 2,
             "polarity": [1.0] * 4 + [-1.0] * 4}, np.eye(8)[:, :2]),), {}),
        "curve_levels": lambda: ((analysis.Recording(
            {"radius": [1.0, 2.0, 1.0, 2.0], "sf": [1.0, 1.0, 4.0, 4.0]},
            [[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 1.0]]), "radius"), {}),
        "read_nwb": lambda: ((_nwb_file(f),), {}),
        # v1model: the macaque population's stages
        "firing_rate": lambda: ((np.array([0.0, 1.0]),), dict(spontaneous=2.0, gain=40.0)),
        "fitted_parameters": lambda: ((), {}),
        "mix_pathways": lambda: ((np.array([[-1.0, 0.6]]), np.array([[0.0, 0.8]]), [0.5, 0.5]),
                                 {}),
        "pool_weights": lambda: (([0.0], [2.0], [0.0, 90.0], [2.0, 2.0]),
                                 dict(orientation_width=45.0, sf_width=1.0)),
        "sample_v1_population": lambda: ((12, D32), dict(rng=0)),
        "mixture_modulation_ratio": lambda: (([0.0, 0.5, 1.0],), {}),
        "normalize": lambda: ((rng.random((1, 2, 3)),), dict(classical=rng.random((1, 2, 3)))),
        "population_score": lambda: ((v1model.V1Model(D32, n_units=24, stride=32),),
                                     dict(n_boot=5)),
        "layer_properties": lambda: ((v1model.V1Model(D32, n_units=24, stride=32), "complex"),
                                     {}),
        "read_nwb_spike_trains": lambda: ((_nwb_spike_file(f),), {}),
        "spectrally_matched_noise": lambda: ((rng.normal(size=(16, 16)),), dict(rng=0)),
        "list_properties": lambda: ((), {}),
        "write_nwb": lambda: ((f["ori_rec"], os.path.join(f["tmp"], "rec.nwb")), {}),
        # stimuli: conventions and textures
        "from_psychopy_grating": lambda: ((30.0, 2.0), {}),
        "to_psychopy_grating": lambda: ((30.0, 2.0), {}),
        "to_psychopy_drifting_grating": lambda: ((30.0, 2.0, 4.0), {}),
        "from_skimage_gabor": lambda: ((0.5, 0.1), dict(pixels_per_degree=8.0)),
        "to_skimage_gabor": lambda: ((30.0, 2.0), dict(pixels_per_degree=8.0)),
        "texture_pair": lambda: (("brick", (16, 16)), dict(row=0, col=0, seed=0)),
    }
    if name in table:
        return table[name]()
    return (D,), {}  # stimulus generators and protocols: a display is all they need


def _ori_phase_recording():
    """A cos² orientation curve at four phases (F1 from phase), for the property walk."""
    theta = np.repeat(np.arange(0.0, 180.0, 15.0), 4)
    phase = np.tile([0.0, 90.0, 180.0, 270.0], 12)
    r = (1.0 + np.cos(np.deg2rad(2 * theta)) ** 2)[:, None] * (1.5 + np.cos(np.deg2rad(phase)))[
        :, None]
    return analysis.Recording({"orientation": theta, "phase": phase, "sf": np.full(48, 2.0)},
                              np.hstack([r, 2 * r]))


def _nwb_file(f):
    path = os.path.join(f["tmp"], "walk.nwb")
    if not os.path.exists(path):
        analysis.write_nwb(f["ori_rec"], path)
    return path


def _nwb_spike_file(f):
    """An NWB file with spike times: 3 trials x 2 units, written with v1model's metadata."""
    path = os.path.join(f["tmp"], "walk_spikes.nwb")
    if not os.path.exists(path):
        trains = v1model.SpikeTrains(np.array([0.1, 0.3, 0.25, 0.05]), np.array([0, 1, 2, 2]),
                                     np.array([1, 0, 1, 0]), n_conditions=3, n_units=2,
                                     duration=0.5, resolution=1e-3)
        analysis.write_nwb(Recording({"sf": [1.0, 2.0, 4.0]}, trains.rates()), path,
                           spike_trains=trains)
    return path


def _grating_row(display, row):
    return stimuli.grating(display, orientation=row["orientation"])


def _flatten():
    from v1model.layers import Flatten
    return Flatten()


def _dense(n_in, n_out):
    from v1model.layers import Dense
    return Dense(n_in, n_out, rng=0)


def _fresh_net():
    return v1model.Network.from_spec(v1model.default_cnn_spec(
        2, input_size=16, conv1_channels=2, conv1_size=3, conv2_channels=2, fc_units=4), rng=0)


# --------------------------------------------------------------------------- the walk
def public_callables():
    out = []
    for module in (stimuli, v1model, analysis):
        for name in module.__all__:
            obj = getattr(module, name)
            if name not in SKIPPED and callable(obj):  # constants are not walked
                out.append((f"{module.__name__}.{name}", obj))
    return out


def _bound(fn, args, kwargs):
    """``{parameter: value}`` of the base call, including defaults."""
    sig = inspect.signature(fn)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound, sig


class _Bogus:
    def __repr__(self):
        return "<bogus object>"


def bad_values(base):
    """``(category, value)`` pairs suited to the kind of the valid value ``base``."""
    if isinstance(base, bool):
        return [("string", "yes"), ("number", 2), ("nan", math.nan), ("object", _Bogus())]
    if isinstance(base, (int, float, np.integer, np.floating)) and not isinstance(base, bool):
        return [("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf), ("negative", -1),
                ("negative", -2.5), ("huge", 1e300), ("huge", 10**12), ("zero", 0),
                ("string", "1.0"), ("complex", 1 + 1j), ("object", _Bogus()),
                ("list", ["bogus"])]
    if isinstance(base, str):
        return [("string", "bogus"), ("number", 1.0), ("list", ["bogus"]), ("empty", ""),
                ("object", _Bogus())]
    if isinstance(base, np.ndarray) and base.dtype.kind in "biuf" and base.size:
        out = []
        if base.dtype.kind == "f":
            for cat, v in (("nan", np.nan), ("inf", np.inf)):
                arr = base.copy()
                arr.flat[0] = v
                out.append((cat, arr))
        out += [("complex", base.astype(complex) + 1j), ("string", base.astype(str)),
                ("extra-dim", base[None, None]), ("empty", base[:0]), ("list", ["bogus"]),
                ("object", _Bogus())]
        if base.ndim > 1:
            out.append(("scalar", base.flat[0]))
        return out
    if isinstance(base, (list, tuple)) and base and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in base):
        return [("nan", [math.nan] + list(base[1:])), ("list", ["bogus"] * len(base)),
                ("empty", []), ("string", "bogus"), ("object", _Bogus())]
    if isinstance(base, (list, tuple)) and base and all(isinstance(v, str) for v in base):
        return [("list", ["bogus"]), ("string", "bogus"), ("empty", []), ("number", 3.0)]
    if base is None:
        return [("string", "bogus"), ("object", _Bogus()), ("nan", math.nan), ("list", ["bogus"])]
    if isinstance(base, dict):
        return [("string", "bogus"), ("list", ["bogus"]), ("object", _Bogus())]
    return [("string", "bogus"), ("number", 1.0), ("object", _Bogus()), ("none", None)]


def _nonfinite(obj, depth=0, seen=None):
    """NaN/inf values in a result (arrays, tables, records, containers, protocol stimuli)."""
    if depth > 4:
        return 0
    if isinstance(obj, np.ndarray):
        return int(np.size(obj) - np.count_nonzero(np.isfinite(obj))) if obj.dtype.kind in (
            "fc") else 0
    if isinstance(obj, (float, np.floating, complex)):
        return 0 if np.isfinite(obj) else 1
    if isinstance(obj, Table):
        return sum(_nonfinite(obj[c], depth + 1) for c in obj.names)
    if isinstance(obj, Protocol):
        return _nonfinite(obj.conditions, depth + 1) + _nonfinite(
            obj.stimuli(np.array([0, len(obj) - 1])), depth + 1)
    if isinstance(obj, Recording):
        return _nonfinite(obj.responses, depth + 1)
    if isinstance(obj, dict):
        return sum(_nonfinite(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nonfinite(v, depth + 1) for v in obj[:50])
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(_nonfinite(getattr(obj, fl.name), depth + 1)
                   for fl in dataclasses.fields(obj))
    if hasattr(obj, "responses") and hasattr(obj, "layers") and hasattr(obj, "display") and (
            type(obj).__name__ not in ("SpikingV1",)):
        d = obj.display
        img = stimuli.grating(d, sf=min(2.0, d.nyquist_cpd / 2))[None]
        return _nonfinite(obj.responses(img, obj.layers[min(1, len(obj.layers) - 1)]), depth + 1)
    return 0


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds):
    def handler(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _names(message, param):
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(param)}(?![A-Za-z0-9_])", message) is not None


def judge(qualname, fn, param, category, value):
    """``"ok"``, or ``"unclear: ..."`` / ``"accepted: ..."`` explaining the problem."""
    name = qualname.rsplit(".", 1)[1]
    args, kwargs = _base(qualname)
    bound, _ = _bound(fn, args, kwargs)
    base_result = _call(fn, bound)
    base_bad = _nonfinite(base_result)
    bound = _bound(fn, *_base(qualname))[0]  # fresh arguments: the base call may mutate
    bound.arguments[param] = value
    try:
        with _time_limit(TIME_LIMIT):
            result = _call(fn, bound)
            bad = _nonfinite(result)
    except _Timeout:
        return f"unclear: still running after {TIME_LIMIT} s"
    except (ValueError, TypeError, IndexError, OSError) as exc:
        # IndexError: an index out of range (Python's convention); OSError: a missing
        # or unwritable path.  Both must still name the parameter or its value.
        message = str(exc)
        expected = isinstance(exc, (ValueError, TypeError)) or (
            isinstance(exc, IndexError) and "out of range" in message) or (
            isinstance(exc, OSError) and param in PATHS)
        if expected and (_names(message, param) or (
                isinstance(exc, OSError) and repr(value) in message)):
            return "ok"
        return f"unclear: {type(exc).__name__} does not name {param!r}: {message[:150]}"
    except Exception as exc:  # noqa: BLE001 - classifying every failure is the point
        return f"unclear: {type(exc).__name__}: {str(exc)[:150]}"
    finally:
        _close_figures()
    key = f"{param}:{name}"
    if bad > base_bad and key not in NAN_OK:
        return f"accepted: result has {bad - base_bad} new NaN/inf"
    if category in ("string", "list", "object", "number", "empty", "nan") and (
            param in FREE_TEXT or key in FREE_TEXT) and param not in ("y_train", "y_test"):
        return "ok"
    if category == "string" and param in ("y_train", "y_test"):
        return "ok"  # string class labels are supported
    if category in ("nan", "string", "object", "complex", "list"):
        if category == "nan" and key in NAN_OK:
            return "ok"
        return f"accepted: {category} value {value!r:.60} gave a result"
    return "ok"


def _call(fn, bound):
    return fn(*bound.args, **bound.kwargs)


def _close_figures():
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def cases(base_errors=None):
    """Every ``(qualname, fn, param, category, value)`` of the walk.

    With a list ``base_errors``, base calls are tried and failures appended to it.
    """
    out = []
    for qualname, fn in public_callables():
        bound, sig = _bound(fn, *_base(qualname))
        if base_errors is not None:
            try:
                _call(fn, bound)
            except Exception as exc:  # noqa: BLE001
                base_errors.append(f"{qualname}: {type(exc).__name__}: {exc}")
                continue
            finally:
                _close_figures()
        for param, base in bound.arguments.items():
            kind = sig.parameters[param].kind
            if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                continue
            if param in ("progress", "executor", "workers", "ax", "fig") or param.startswith("_"):
                continue  # display and execution plumbing, checked by their own tests
            for category, value in bad_values(base):
                out.append((qualname, fn, param, category, value))
    return out


@contextlib.contextmanager
def _address_space_limit(extra):
    """Cap this process's address space at its current size + ``extra`` bytes (Linux).

    An allocation that escapes the memory budget then fails with MemoryError (and is
    reported as unclear) instead of filling the machine's RAM.
    """
    try:
        import resource

        with open("/proc/self/status") as fh:
            size = next(int(line.split()[1]) * 1024 for line in fh
                        if line.startswith("VmSize"))
        old = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (size + extra, old[1]))
    except (ImportError, OSError, ValueError, StopIteration):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Scratch directory, a small memory budget and the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    _fixtures()
    monkeypatch.chdir(tmp_path)
    previous = set_memory_budget("256 MiB")
    yield
    set_memory_budget(previous)


@pytest.fixture
def capped(isolated):
    """``isolated`` plus a hard memory cap, for random values (the cap costs CPU time)."""
    with _address_space_limit(2 * 2**30):
        yield


def walk(selected):
    results = Counter()
    problems = []
    for qualname, fn, param, category, value in selected:
        verdict = judge(qualname, fn, param, category, value)
        results[verdict.split(":")[0]] += 1
        if verdict != "ok":
            problems.append(f"{qualname}({param}={category}): {verdict}")
    return results, problems


@pytest.mark.filterwarnings("ignore")
def test_every_parameter_of_the_public_api_rejects_bad_values_by_name(isolated):
    selected = cases()[::3]  # a third of the walk in the default suite; all of it is slow
    results, problems = walk(selected)
    assert len(selected) > 500
    assert not problems, f"{len(problems)} of {len(selected)} calls:\n" + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_full_walk(capped):
    selected = cases()
    results, problems = walk(selected)
    assert not problems, f"{len(problems)} of {len(selected)} calls:\n" + "\n".join(problems)


_PAIRS = None


def _pairs():
    global _PAIRS
    if _PAIRS is None:
        _PAIRS = sorted({(q, p) for q, _, p, _, _ in cases()})
    return _PAIRS


_RANDOM_BAD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not math.isfinite(x)),
    st.floats(max_value=-1e-3, allow_nan=False, allow_infinity=False),
    st.integers(max_value=-1),
    st.integers(min_value=10**9, max_value=10**15),
    st.text(min_size=1, max_size=8).filter(lambda s: not s.strip().lstrip("-").isdigit()),
    st.lists(st.text(max_size=4), min_size=1, max_size=3),
)


def _random_case(data):
    qualname, param = data.draw(st.sampled_from(_pairs()), label="parameter")
    value = data.draw(_RANDOM_BAD, label="value")
    fn = dict(public_callables())[qualname]
    if isinstance(value, float) and math.isnan(value):
        category = "nan"
    elif isinstance(value, (str, list)):
        category = "string" if isinstance(value, str) else "list"
    else:
        category = "number"
    verdict = judge(qualname, fn, param, category, value)
    assert verdict == "ok", f"{qualname}({param}={value!r}): {verdict}"


_SETTINGS = dict(deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=150, derandomize=True, **_SETTINGS)
@given(data=st.data())
def test_random_bad_values(capped, data):
    """Hypothesis draws a parameter and a bad value; numbers may be legitimately valid.

    Derandomized in the default suite (the same 150 draws every run); the slow variant
    draws new ones.
    """
    _random_case(data)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
@settings(max_examples=2000, derandomize=True, **_SETTINGS)
@given(data=st.data())
def test_random_bad_values_slow(capped, data):
    _random_case(data)


if __name__ == "__main__":  # python tests/test_api_fuzz.py [--all]: print the counts
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    warnings.simplefilter("ignore")
    os.chdir(tempfile.mkdtemp())
    set_memory_budget("256 MiB")
    errors = []
    everything = cases(errors)
    print("\n".join(errors))
    counts, found = walk(everything)
    for line in found:
        print(line)
    print(f"calls: {len(everything)}; " + ", ".join(f"{k}: {v}" for k, v in counts.items()))


@pytest.mark.parametrize("call, error, match", [
    (lambda: v1model.V1Model.grid(D, sigma_y=math.nan), ValueError, "sigma_y must be finite"),
    (lambda: v1model.V1Model.grid(D, ny=-1.0), ValueError, "ny must be positive"),
    (lambda: analysis.naka_rushton([0.1], c50=0.1, n=2.0, r_max=math.nan), ValueError,
     "r_max must be finite"),
    (lambda: analysis.orientation_tuning(_fixtures()["ori_rec"], average=["bogus"]),
     ValueError, "average names 'bogus'"),
    (lambda: v1model.SpikeTrains(np.array([0.1]), np.array([0]), np.array([0]),
                                 n_conditions=1, n_units=1, duration=-1, resolution=1e-3),
     ValueError, "duration must be positive"),
    (lambda: analysis.size_tuning(_fixtures()["size_rec"], baseline="1.0"), TypeError,
     "baseline must be a real number"),
    (lambda: stimuli.white_noise(D, 2, rng=-1), ValueError, "rng must be a non-negative"),
], ids=["sigma_y", "ny", "r_max", "average", "duration", "baseline", "seed"])
def test_the_examples_of_issue_19(call, error, match):
    with pytest.raises(error, match=match):
        call()
