"""The model registry: the models the ``v1model`` jobs can run, by name.

A registered model is a *factory* — ``factory(display, *, seed, **options)``
returning an object that meets :class:`v1model.base.Model` — plus what the jobs
need to know about it without building it: its layers, which of them are compared
by default, which have receptive fields worth mapping, a fixed display if it has
one, and a check of whether it can run here (a missing module or data file).
``v1model compare``, ``v1model rf`` and ``v1model claims`` look models up here, so
a new model family is one :func:`register_model` call:

>>> from v1model import V1Model
>>> entry = register_model(
...     "v1_coarse", lambda display, *, seed, **options: V1Model.grid(display, sfs=[1.0]),
...     layers=("simple", "complex"), title="V1 model, 1 c/deg only")
>>> "v1_coarse" in list_models()
True
>>> unregister_model("v1_coarse")

The built-in models ``"v1"``, ``"hmax"``, ``"spiking"`` and ``"cnn"`` are
registered when this module is imported, and then, once :mod:`v1model.app` is
imported, those of installed packages: every entry point of the group
``v1model.models`` (:data:`ENTRY_POINT_GROUP`) is loaded and called with no
arguments, and is expected to call :func:`register_model`.
A package declares one in its ``pyproject.toml``::

    [project.entry-points."v1model.models"]
    mymodels = "mypkg.v1models:register"

A plugin that fails to load never breaks the command line: the failure is kept
(:func:`entry_point_errors`) and ``v1model compare`` lists it as skipped.  A model
needs no registration at all to be compared: :func:`load_factory` reads a
``"module:callable"`` spec (``v1model compare --model mypkg.mymodule:make_model``)
and :func:`outside_model_entry` describes a built model object for the jobs.

A model that cannot run here is never skipped silently: :func:`model_availability`
gives the reason, and the jobs report it.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stimuli._shared.validation import check_choice, check_int
from stimuli.display import Display
from v1model.app.battery import BATTERY_STEPS
from v1model.base import Model
from v1model.cnn import DEFAULT_DISPLAY as CNN_DISPLAY
from v1model.cnn import PRETRAINED_PATH, load_pretrained_cnn
from v1model.hmax import HMAX
from v1model.spiking import SpikingV1
from v1model.v1 import V1Model

__all__ = ["ENTRY_POINT_GROUP", "RegisteredModel", "build_model", "entry_point_errors",
           "get_model", "list_models", "load_entry_points", "load_factory", "model_availability",
           "outside_model_entry", "register_model", "unregister_model"]

#: The entry-point group through which an installed package adds models.
ENTRY_POINT_GROUP = "v1model.models"

#: ``factory(display, *, seed, **options) -> Model``.
Factory = Callable[..., Model]
#: ``kernels(model, layer) -> (list of 2-D arrays, pixels_per_degree)``.
Kernels = Callable[[Any, str], tuple[list[np.ndarray], float]]


@dataclass(frozen=True)
class RegisteredModel:
    """One registered model family (see :func:`register_model` for every field).

    Attributes
    ----------
    name, title : str
        Registry key (``--models``, ``--model``) and the name shown in reports.
    factory : callable
        ``factory(display, *, seed, **options) -> Model``.
    layers, default_layers, rf_layers : tuple of str
        Layers the jobs may use, those compared by default, those whose receptive
        fields are mapped.
    display : stimuli.Display or None
        The model's fixed display, or None when it takes the job's display.
    requires : tuple of str
        Modules that must import for the model to run.
    available : callable or None
        ``available() -> None or str``: after the modules import, why it still cannot
        run (e.g. missing weights), or None.
    kernels : callable or None
        The layer's own filters (fitted when its measured maps are not signed).
    invariance : bool
        Whether translation tolerance curves apply (a retinotopic map of positions).
    steps, quick_steps : tuple of str
        Steps of the compare battery (:data:`v1model.app.battery.BATTERY_STEPS`) of the
        full and the ``--quick`` run.
    note : str
        Shown in the report: what the comparison leaves out and why.
    """

    name: str
    factory: Factory
    title: str
    layers: tuple[str, ...]
    default_layers: tuple[str, ...]
    rf_layers: tuple[str, ...]
    display: Display | None
    requires: tuple[str, ...]
    available: Callable[[], str | None] | None
    kernels: Kernels | None
    invariance: bool
    steps: tuple[str, ...]
    quick_steps: tuple[str, ...]
    note: str


_REGISTRY: dict[str, RegisteredModel] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _names(name: str, value: Any, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of strings, got {value!r}")
    out = tuple(value)
    if not all(isinstance(v, str) and v for v in out):
        raise TypeError(f"{name} must hold non-empty strings, got {value!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat names, got {out}")
    if allowed is not None:
        for v in out:
            check_choice(name, v, allowed)
    return out


def register_model(name: str, factory: Factory, *, layers: Sequence[str],
                   title: str | None = None, default_layers: Sequence[str] | None = None,
                   rf_layers: Sequence[str] = (), display: Display | None = None,
                   requires: Sequence[str] = (), available: Callable[[], str | None] | None = None,
                   kernels: Kernels | None = None, invariance: bool = True,
                   steps: Sequence[str] = ("orientation", "sf", "size", "rf"),
                   quick_steps: Sequence[str] | None = None, note: str = "",
                   replace: bool = False) -> RegisteredModel:
    """Register a model family under ``name`` so the jobs can build and run it.

    Parameters
    ----------
    name : str
        Lower-case identifier (letters, digits, ``_``), e.g. ``"hmax"``.
    factory : callable
        ``factory(display, *, seed, **options) -> Model``: builds the model on
        ``display`` (a :class:`stimuli.Display`; the model's own fixed display when
        ``display=`` is given here).  ``seed`` is an int for every random draw;
        ``options`` are job settings (e.g. the V1 model's map stride).
    layers : sequence of str
        The model's layers the jobs may use (a subset of its ``layers``).
    title : str, optional
        Name shown in reports; default ``name``.
    default_layers : sequence of str, optional
        Layers compared by default; default all of ``layers``.
    rf_layers : sequence of str
        Layers whose receptive fields are mapped and fitted (``compare``'s rf step;
        ``v1model rf`` maps the first by default).
    display : stimuli.Display, optional
        The display of a model with a fixed input (the CNN's 32 × 32 pixels at 16
        pixels/degree); None when the model takes any display.
    requires : sequence of str
        Modules that must import for the model to run.
    available : callable, optional
        ``available() -> None or str``: the reason the model cannot run although its
        modules import (e.g. missing weights), or None.
    kernels : callable, optional
        ``kernels(model, layer) -> (list of 2-D arrays, pixels_per_degree)``: the
        layer's own filters, one per channel, fitted instead of measured maps that
        carry no signed (ON − OFF) structure.
    invariance : bool
        Whether translation tolerance curves apply.
    steps, quick_steps : sequence of str
        Battery steps (``"orientation"``, ``"sf"``, ``"size"``, ``"rf"``,
        ``"drifting"``) of the full and the quick compare run; ``quick_steps``
        defaults to ``steps``.
    note : str
        What the comparison leaves out for this model, and why.
    replace : bool
        Allow replacing an existing entry of the same name.

    Returns
    -------
    RegisteredModel

    Raises
    ------
    ValueError
        If ``name`` is malformed or taken (without ``replace``), a layer list repeats
        a name or names a layer outside ``layers``, or a step is unknown.
    TypeError
        If ``factory``, ``available`` or ``kernels`` is not callable, or a list is
        not a sequence of strings.

    Examples
    --------
    >>> register_model("v1", V1Model, layers=("simple",))
    Traceback (most recent call last):
    ValueError: model 'v1' is already registered (pass replace=True to replace it)
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a lower-case identifier (letters, digits, _), "
                         f"got {name!r}")
    if name in _REGISTRY and not replace:
        raise ValueError(f"model {name!r} is already registered (pass replace=True to "
                         "replace it)")
    for what, value in (("factory", factory), ("available", available), ("kernels", kernels)):
        if value is not None and not callable(value) or what == "factory" and value is None:
            raise TypeError(f"{what} must be callable, got {value!r}")
    if display is not None and not isinstance(display, Display):
        raise TypeError(f"display must be a stimuli.Display or None, got {display!r}")
    layers = _names("layers", layers)
    if not layers:
        raise ValueError("layers must name at least one layer")
    steps = _names("steps", steps, BATTERY_STEPS)
    entry = RegisteredModel(
        name=name, factory=factory, title=name if title is None else str(title),
        layers=layers,
        default_layers=layers if default_layers is None else _names("default_layers",
                                                                    default_layers, layers),
        rf_layers=_names("rf_layers", rf_layers, layers), display=display,
        requires=_names("requires", requires), available=available, kernels=kernels,
        invariance=bool(invariance), steps=steps,
        quick_steps=steps if quick_steps is None else _names("quick_steps", quick_steps,
                                                             BATTERY_STEPS),
        note=str(note))
    _REGISTRY[name] = entry
    return entry


def unregister_model(name: str) -> None:
    """Remove ``name`` from the registry.

    Raises
    ------
    ValueError
        If ``name`` is not registered.

    Examples
    --------
    >>> unregister_model("nope")
    Traceback (most recent call last):
    ValueError: model must be one of 'v1', 'hmax', 'spiking', 'cnn'; got 'nope'
    """
    del _REGISTRY[get_model(name).name]


def get_model(name: str) -> RegisteredModel:
    """The registry entry of ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the registered names.

    Examples
    --------
    >>> get_model("hmax").layers
    ('S1', 'C1')
    """
    return _REGISTRY[check_choice("model", name, tuple(_REGISTRY))]


def list_models() -> tuple[str, ...]:
    """The registered names, in registration (report) order.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> list_models()[:4]
    ('v1', 'hmax', 'spiking', 'cnn')
    """
    return tuple(_REGISTRY)


def model_availability(names: Sequence[str] | None = None) -> dict[str, str | None]:
    """Which registered models can run here: name → None, or the reason they cannot.

    Imports each model's required modules and runs its ``available`` check (the
    CNN's checks that the shipped weights exist); nothing is built.

    Parameters
    ----------
    names : sequence of str, optional
        Models to check; default all registered ones.

    Returns
    -------
    dict of str to (str or None)

    Raises
    ------
    ValueError
        If a name is not registered.

    Examples
    --------
    >>> model_availability(["v1"])
    {'v1': None}
    """
    names = list_models() if names is None else list(names)
    out: dict[str, str | None] = {}
    for name in names:
        entry = get_model(name)
        out[name] = None
        for module in entry.requires:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                out[name] = f"module {module} cannot be imported ({exc})"
                break
        if out[name] is None and entry.available is not None:
            out[name] = entry.available()
    return out


def build_model(name: str, display: Display | None = None, *, seed: int = 0,
                **options: Any) -> Model:
    """Build registered model ``name`` with its factory.

    Parameters
    ----------
    name : str
        A registered name (:func:`list_models`).
    display : stimuli.Display, optional
        The display to build the model on.  Required for models without a fixed
        display; for those with one it must be None or equal to it.
    seed : int
        Seed of every random draw, >= 0.
    **options
        Passed to the factory (e.g. ``stride=8`` for ``"v1"``).

    Returns
    -------
    Model

    Raises
    ------
    ValueError
        If ``name`` is unknown, the model cannot run here (the reason is given), or
        the display is missing or conflicts with the model's fixed one.

    Examples
    --------
    >>> model = build_model("v1", Display((32, 32), pixels_per_degree=16), stride=8)
    >>> model.layers
    ('simple', 'complex')
    >>> build_model("cnn", Display((16, 16), pixels_per_degree=8))
    Traceback (most recent call last):
    ValueError: model 'cnn' has a fixed display (32 x 32 px at 16 px/deg); display does not \
apply to it
    """
    entry = get_model(name)
    seed = check_int("seed", seed, minimum=0)
    if entry.display is not None:
        if display is not None and display != entry.display:
            shape, ppd = entry.display.shape, entry.display.pixels_per_degree
            raise ValueError(f"model {name!r} has a fixed display ({shape[0]} x {shape[1]} px "
                             f"at {ppd:g} px/deg); display does not apply to it")
        display = entry.display
    elif not isinstance(display, Display):
        raise ValueError(f"model {name!r} needs a display (a stimuli.Display), got {display!r}")
    reason = model_availability([name])[name]
    if reason is not None:
        raise ValueError(f"model {name!r} cannot run here: {reason}")
    return entry.factory(display, seed=seed, **options)


# ------------------------------------------------------------------ models from outside

_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def load_factory(spec: str) -> Callable[..., Any]:
    """The callable named by a ``"module:callable"`` spec (as entry points name them).

    Parameters
    ----------
    spec : str
        ``"package.module:name"``; ``name`` may be dotted (``"mod:Class.build"``).

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        If ``spec`` is malformed, its module cannot be imported, it has no such
        attribute, or the attribute is not callable; the message quotes the spec.

    Examples
    --------
    >>> load_factory("v1model.v1:V1Model").__name__
    'V1Model'
    >>> load_factory("v1model.v1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: model spec must be 'module:callable' ... got 'v1model.v1'
    """
    if not isinstance(spec, str) or not _SPEC.match(spec):
        raise ValueError("model spec must be 'module:callable' (e.g. 'mypkg.models:make_model'), "
                         f"got {spec!r}")
    module_name, attr = spec.split(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"model spec {spec!r}: module {module_name!r} cannot be imported "
                         f"({exc})") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"model spec {spec!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"model spec {spec!r} names {type(obj).__name__!r}, not a callable")
    return obj


def outside_model_entry(name: str, model: Any, *, title: str | None = None,
                        layers: Sequence[str] | None = None, note: str = "") -> RegisteredModel:
    """Describe a built model object for the jobs, without registering it.

    The object keeps its own display (``model.display``); every chosen layer is
    compared and has its receptive fields mapped.  A temporal model runs the
    orientation and drifting-grating steps (like the spiking layer) and no
    translation-tolerance curves.

    Parameters
    ----------
    name : str
        Lower-case identifier used in file names and ``summary.json``.
    model : object
        The model; it must have ``layers`` and ``display`` (the full contract is
        checked by :func:`v1model.base.check_model` when a job runs it).
    title : str, optional
        Name shown in reports; default ``name``.
    layers : sequence of str, optional
        Its layers to compare; default all of ``model.layers``.
    note : str
        Shown in the report.

    Returns
    -------
    RegisteredModel
        Not in the registry (:func:`list_models` does not change).

    Raises
    ------
    TypeError
        If ``model`` has no ``layers`` sequence or no :class:`stimuli.Display` as
        ``display``; the message names the model.
    ValueError
        If ``name`` is malformed or ``layers`` names a layer the model lacks.

    Examples
    --------
    >>> model = V1Model.grid(Display((16, 16), pixels_per_degree=8), sfs=[2.0])
    >>> entry = outside_model_entry("mine", model, layers=["simple"])
    >>> entry.layers, entry.rf_layers, "mine" in list_models()
    (('simple',), ('simple',), False)
    >>> outside_model_entry("broken", object())
    Traceback (most recent call last):
    TypeError: model 'broken' (object) has no 'layers' (a sequence of layer names)
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a lower-case identifier (letters, digits, _), "
                         f"got {name!r}")
    kind = type(model).__name__
    own = getattr(model, "layers", None)
    if isinstance(own, str) or not isinstance(own, Sequence):
        raise TypeError(f"model {name!r} ({kind}) has no 'layers' (a sequence of layer names)")
    display = getattr(model, "display", None)
    if not isinstance(display, Display):
        raise TypeError(f"model {name!r} ({kind}) has no 'display' (a stimuli.Display), got "
                        f"{display!r}")
    own = _names(f"layers of model {name!r}", own)
    chosen = own if layers is None else _names(f"layers of model {name!r}", layers, own)
    temporal = bool(getattr(model, "temporal", False))
    steps = ("orientation", "drifting") if temporal else ("orientation", "sf", "size", "rf")

    def factory(display: Display, *, seed: int, **options: Any) -> Any:
        return model

    return RegisteredModel(
        name=name, factory=factory, title=name if title is None else str(title),
        layers=chosen, default_layers=chosen, rf_layers=() if temporal else chosen,
        display=display, requires=(), available=None, kernels=None,
        invariance=not temporal, steps=steps, quick_steps=steps,
        note=note or f"A model from outside the package ({kind}).")


_ENTRY_POINT_ERRORS: dict[str, str] = {}


def load_entry_points() -> dict[str, str]:
    """Load the models installed packages declare in the ``v1model.models`` entry points.

    Each entry point of :data:`ENTRY_POINT_GROUP` must name a callable taking no
    arguments that registers its models with :func:`register_model`.  Called once
    when :mod:`v1model.app` is imported (after its names exist, so a plugin can
    import them); call it again after installing a package: an
    entry point already loaded is not loaded again, one that failed is retried.

    Returns
    -------
    dict of str to str
        Entry points that failed this time (``"name = module:attr"`` → the error);
        also kept, until the next call, for :func:`entry_point_errors`.

    Examples
    --------
    >>> load_entry_points()
    {}
    """
    from importlib.metadata import entry_points

    failed: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        key = f"{ep.name} = {ep.value}"
        if key in _LOADED_ENTRY_POINTS:
            continue
        try:
            ep.load()()
        except Exception as exc:  # a broken plugin must not break the command line
            failed[key] = f"{type(exc).__name__}: {exc}"
        else:
            _LOADED_ENTRY_POINTS.add(key)
    _ENTRY_POINT_ERRORS.clear()
    _ENTRY_POINT_ERRORS.update(failed)
    return failed


_LOADED_ENTRY_POINTS: set[str] = set()


def entry_point_errors() -> dict[str, str]:
    """Entry points of ``v1model.models`` that failed to load, with the error.

    Returns
    -------
    dict of str to str

    Examples
    --------
    >>> entry_point_errors()
    {}
    """
    return dict(_ENTRY_POINT_ERRORS)


# ------------------------------------------------------------------ the built-in models


def _build_v1(display: Display, *, seed: int, stride: int = 1) -> V1Model:
    return V1Model(display, stride=stride)


def _build_hmax(display: Display, *, seed: int) -> HMAX:
    return HMAX(display)


def _build_spiking(display: Display, *, seed: int, static_duration: float = 0.25) -> SpikingV1:
    return SpikingV1(display, static_duration=static_duration, rng=seed)


def _build_cnn(display: Display, *, seed: int) -> Any:
    return load_pretrained_cnn()


def _cnn_weights_missing() -> str | None:
    if not os.path.exists(PRETRAINED_PATH):
        return f"the pretrained weights {PRETRAINED_PATH} are missing"
    return None


def _hmax_kernels(model: Any, layer: str) -> tuple[list[np.ndarray], float]:
    """HMAX S1 filters at their own sizes, in the channel order of ``unit_info("S1")``."""
    s1 = model.stages[0][1]
    info = model.unit_info(layer)
    return ([s1.kernels(int(scale))[list(s1.orientations).index(float(orientation))]
             for scale, orientation in zip(info["scale"], info["orientation"], strict=True)],
            float(model.display.pixels_per_degree))


def _cnn_kernels(model: Any, layer: str) -> tuple[list[np.ndarray], float]:
    """CNN first-layer kernels averaged over input channels."""
    return list(model.filters(layer).mean(axis=1)), float(model.display.pixels_per_degree)


register_model(
    "v1", _build_v1, title="V1 model", requires=("v1model.v1",),
    layers=("simple", "complex"), rf_layers=("simple",),
    note="The default population fitted to macaque V1 (v1model/data/v1_population.json): "
         "orientation, peak SF and RF shape from the published histograms, a push-pull "
         "sum of linear and energy pathways rectified after the sum, divisive "
         "normalisation and surround suppression; each unit is in the simple or the "
         "complex layer by its F1/F0, and the two are also scored pooled.")
register_model(
    "hmax", _build_hmax, title="HMAX", requires=("v1model.hmax",),
    layers=("S1", "C1"), rf_layers=("S1",), kernels=_hmax_kernels,
    note="Serre et al. (2007) S1 and C1; S2/C2 need imprinted prototypes and are not "
         "V1 stages, so they are not compared here.")
register_model(
    "spiking", _build_spiking, title="Spiking V1", requires=("v1model.spiking",),
    layers=("simple", "complex"), steps=("orientation", "sf", "size", "drifting"),
    quick_steps=("orientation", "drifting"), invariance=False,
    note="LIF neurons at one RF position driven by the V1 model's filters: static "
         "images are shown for a fixed time and spike counts averaged; F1/F0 comes from "
         "drifting gratings. Its receptive fields are the V1 model's simple cells by "
         "construction (not re-mapped), and with one position there is no map to "
         "translate (no invariance curve).")
register_model(
    "cnn", _build_cnn, title="CNN (pretrained)", requires=("v1model.cnn",),
    layers=("conv1", "pool1", "conv2", "pool2"), default_layers=("conv1", "conv2"),
    rf_layers=("conv1",), display=CNN_DISPLAY, kernels=_cnn_kernels,
    available=_cnn_weights_missing,
    note="The shipped network on its own 32 × 32 display at 16 px/deg (2°), so its "
         "size-tuning radii stop at the display's half-diagonal.")
