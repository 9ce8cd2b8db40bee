"""The one interface every model answers: layers, responses to images, per-unit information.

The same idea as Brain-Score's model wrappers (Schrimpf et al. 2018, bioRxiv
407007): a benchmark sees layers and responses to images, never a model's
internals.

Analysis code never special-cases a model: it asks for ``layers``,
``responses(stimuli, layer)`` and ``unit_info(layer)``.  This module states the
contract as a :class:`typing.Protocol`, checks a model against it
(:func:`check_model`, public, for anyone bringing their own model) and offers the
checks models share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from stimuli._shared.validation import as_rng, check_choice, check_count, check_strings


@runtime_checkable
class Model(Protocol):
    """What a model must provide.

    Attributes
    ----------
    display : stimuli.Display
        The screen the model looks at (its pixel grid and ``pixels_per_degree``).
    layers : tuple of str
        Layer names in processing order.
    temporal : bool
        False for static models, which take images ``(n, rows, cols)``.  True for
        models that take movies ``(n, frames, rows, cols)`` at ``display.frame_rate``
        (and accept static images, presented as a fixed-duration movie).

    Methods
    -------
    responses(stimuli, layer) -> ndarray
        ``(n, channels, rows', cols')`` for retinotopic layers or ``(n, units)``
        for non-retinotopic ones; temporal models may add a trailing time axis to
        the ``(n, units)`` form: ``(n, units, time_bins)``.
    unit_info(layer) -> dict of str to ndarray
        Per-channel (retinotopic layers) or per-unit metadata, each array of length
        ``channels`` / ``units``.  Standard keys where known: ``orientation``
        (degrees), ``sf`` (c/deg), ``phase`` (degrees), ``rf_size`` (degrees),
        ``x``, ``y`` (RF centre, degrees).
    map_coordinates(layer) -> (x, y)  [retinotopic layers only]
        Visual-field positions in degrees of the map's columns ``x (cols',)`` and
        rows ``y (rows',)``.

    Optional: responses at recorded positions
        A model may also offer ``sampled_layers`` (tuple of layer names) and
        ``responses_at(stimuli, layer, rows, cols) -> ndarray (n, channels,
        positions)`` for those layers: the same values as
        ``responses(stimuli, layer)[:, :, rows, cols]`` (``rows``, ``cols`` are
        pairs of map indices of equal length), computed at those positions only —
        for a linear-then-pointwise stage, one product of the image patches there
        with the stacked filters instead of full maps.  Float32 results may differ
        from the full maps by the model's documented tolerance (``1e-5`` of the
        largest response for the built-in models).  ``analysis.run_protocol``
        records ``units="centre"`` (or a few indexed units) through it and falls
        back to ``responses`` for other layers and for models without it, so
        models need not implement it; :func:`check_model` checks it when present.

    Optional: several layers from one pass
        ``responses_many(stimuli, layers) -> dict`` (layer → the array
        ``responses(stimuli, layer)`` returns) and, with ``responses_at``,
        ``responses_at_many(stimuli, layers, rows, cols) -> dict`` (layer → the
        array ``responses_at`` returns): the same values as one call per layer, for
        models whose layers share their expensive stages (the V1 model's simple and
        complex cells share their filters and pools; HMAX's S1 and C1 share the S1
        normalisation tables, and S1 at positions inside C1's pooling windows is read
        from the S1 blocks C1 pools), computed once.  ``rows`` and ``cols`` index
        each layer's own map (for HMAX, S1's pixel grid and C1's pooling grid).  Callers use
        :func:`responses_many` / :func:`responses_at_many` of this module, which
        fall back to one ``responses`` / ``responses_at`` call per layer on the
        same stimuli for models without them; ``analysis.run_protocol_layers`` and
        ``v1model compare`` record every layer of a protocol that way, so each
        batch of stimuli is rendered once and filtered once per model.  A model may
        also answer a repeated call for the same stimuli from a cache of the last
        batches (the V1 model and the spiking layer do).
    """

    display: object
    layers: tuple[str, ...]
    temporal: bool

    def responses(self, stimuli: np.ndarray, layer: str) -> np.ndarray: ...

    def unit_info(self, layer: str) -> dict[str, np.ndarray]: ...


def responses_many(model: Any, stimuli: Any, layers: Sequence[str]) -> dict[str, np.ndarray]:
    """Responses of several layers of ``model`` to the same stimuli, in one pass if it can.

    Calls ``model.responses_many(stimuli, layers)`` when the model offers it and more
    than one layer is asked for, else ``model.responses(stimuli, layer)`` per layer
    (see "Optional: several layers from one pass" in :class:`Model`).

    Parameters
    ----------
    model : Model
        Any model of the interface.
    stimuli : array_like
        The batch, as ``model.responses`` takes it.
    layers : sequence of str
        Layer names of ``model``.

    Returns
    -------
    dict of str to ndarray
        Layer → what ``model.responses(stimuli, layer)`` returns, in the order given.

    Raises
    ------
    TypeError
        If ``layers`` is a string or ``model.responses_many`` does not return a dict
        holding every layer asked for.
    ValueError
        For an unknown layer (raised by the model).

    Examples
    --------
    >>> from stimuli.display import Display
    >>> from v1model import V1Model
    >>> model = V1Model.grid(Display((16, 16), 8), orientations=[0], sfs=[2.0], stride=4)
    >>> out = responses_many(model, np.zeros((1, 16, 16)), ["simple", "complex"])
    >>> {k: v.shape for k, v in out.items()}
    {'simple': (1, 4, 4, 4), 'complex': (1, 1, 4, 4)}
    """
    layers = _layer_names(layers)
    many = getattr(model, "responses_many", None)
    if len(layers) > 1 and callable(many):
        return _all_layers(model, "responses_many", many(stimuli, layers), layers)
    return {layer: model.responses(stimuli, layer) for layer in layers}


def responses_at_many(model: Any, stimuli: Any, layers: Sequence[str], rows: Any,
                      cols: Any) -> dict[str, np.ndarray]:
    """``responses_at`` of several sampled layers of ``model``, in one pass if it can.

    Calls ``model.responses_at_many(stimuli, layers, rows, cols)`` when the model
    offers it and more than one layer is asked for, else
    ``model.responses_at(stimuli, layer, rows, cols)`` per layer.

    Parameters
    ----------
    model : Model
        A model with ``sampled_layers`` and ``responses_at``.
    stimuli : array_like
        The batch.
    layers : sequence of str
        Layers listed in ``model.sampled_layers``.
    rows, cols : array_like of int
        Map positions (pairs), as ``responses_at`` takes them.

    Returns
    -------
    dict of str to ndarray of shape (n, channels, positions)

    Raises
    ------
    TypeError
        If ``layers`` is a string, the model has no ``responses_at``, or
        ``model.responses_at_many`` does not return a dict holding every layer.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> from v1model import V1Model
    >>> model = V1Model.grid(Display((16, 16), 8), orientations=[0], sfs=[2.0], stride=4)
    >>> out = responses_at_many(model, np.zeros((1, 16, 16)), ["simple", "complex"], [1], [1])
    >>> {k: v.shape for k, v in out.items()}
    {'simple': (1, 4, 1), 'complex': (1, 1, 1)}
    """
    layers = _layer_names(layers)
    many = getattr(model, "responses_at_many", None)
    if len(layers) > 1 and callable(many):
        return _all_layers(model, "responses_at_many", many(stimuli, layers, rows, cols),
                           layers)
    if not callable(getattr(model, "responses_at", None)):
        raise TypeError(f"model {type(model).__name__} has no responses_at")
    return {layer: model.responses_at(stimuli, layer, rows, cols) for layer in layers}


def _layer_names(layers: Any) -> tuple[str, ...]:
    if isinstance(layers, str) or not isinstance(layers, Sequence):
        raise TypeError(f"layers must be a sequence of layer names, got {layers!r}")
    return tuple(layers)


def _all_layers(model: Any, method: str, out: Any, layers: tuple[str, ...]
                ) -> dict[str, np.ndarray]:
    if not isinstance(out, dict) or any(layer not in out for layer in layers):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise _fail(model, f"{method} must return a dict with the layers {list(layers)}, "
                           f"got {got}", TypeError)
    return {layer: out[layer] for layer in layers}


def check_layer(model, layer: str) -> str:
    """Raise ``ValueError`` naming the model's layers if ``layer`` is not one of them.

    A ``model`` without the :class:`Model` interface is a ``TypeError`` naming it.
    """
    if not hasattr(model, "layers"):
        raise TypeError(f"model must provide the v1model interface (display, layers, "
                        f"responses); {type(model).__name__} has no layers")
    return check_choice("layer", layer, model.layers)


def _fail(model: Any, message: str, kind: type[Exception] = ValueError) -> Exception:
    return kind(f"model {type(model).__name__} does not meet the Model contract: {message}")


def _check_attributes(model: Any) -> tuple[str, ...]:
    """The attributes and methods of the protocol; returns the layer names."""
    missing = [name for name in ("display", "layers", "temporal", "responses", "unit_info")
               if not hasattr(model, name)]
    if missing:
        raise _fail(model, f"missing {', '.join(repr(m) for m in missing)} "
                           "(see v1model.base.Model)", TypeError)
    for method in ("responses", "unit_info"):
        if not callable(getattr(model, method)):
            raise _fail(model, f"{method!r} must be a method", TypeError)
    display = model.display
    if not (hasattr(display, "shape") and hasattr(display, "pixels_per_degree")):
        raise _fail(model, f"display must be a stimuli.Display, got {type(display).__name__}",
                    TypeError)
    if not isinstance(model.temporal, bool):
        raise _fail(model, f"temporal must be a bool, got {model.temporal!r}", TypeError)
    layers = model.layers
    if (isinstance(layers, str) or not isinstance(layers, Sequence) or not layers
            or not all(isinstance(layer, str) and layer for layer in layers)):
        raise _fail(model, f"layers must be a non-empty tuple of layer names, got {layers!r}",
                    TypeError)
    if len(set(layers)) != len(layers):
        raise _fail(model, f"layers must be unique, got {tuple(layers)}")
    return tuple(layers)


def _check_responses(model: Any, layer: str, out: Any, n: int) -> np.ndarray:
    where = f"responses(images, {layer!r})"
    if not isinstance(out, np.ndarray):
        raise _fail(model, f"{where} must return a numpy array, got {type(out).__name__}",
                    TypeError)
    if not np.issubdtype(out.dtype, np.floating):
        raise _fail(model, f"{where} must return floats, got dtype {out.dtype}", TypeError)
    allowed = (2, 3, 4) if model.temporal else (2, 4)
    shapes = "(n, units), (n, units, time_bins) or (n, channels, rows', cols')" \
        if model.temporal else "(n, units) or (n, channels, rows', cols')"
    if out.ndim not in allowed or out.shape[0] != n or 0 in out.shape:
        raise _fail(model, f"{where} for {n} images must have shape {shapes} with n = {n} "
                           f"and no empty axis, got {out.shape}")
    if not np.all(np.isfinite(out)):
        bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        raise _fail(model, f"{where} contains {bad} NaN or infinite values")
    return out


def _check_unit_info(model: Any, layer: str, channels: int) -> None:
    info = model.unit_info(layer)
    if not isinstance(info, dict):
        raise _fail(model, f"unit_info({layer!r}) must return a dict, got "
                           f"{type(info).__name__}", TypeError)
    for key, value in info.items():
        arr = np.asarray(value)
        if not isinstance(key, str) or arr.ndim != 1 or len(arr) != channels:
            raise _fail(model, f"unit_info({layer!r})[{key!r}] must be a 1-D array with one "
                               f"value per channel/unit ({channels}), got shape {arr.shape}")


def _check_map(model: Any, layer: str, out: np.ndarray) -> None:
    if out.ndim != 4 or not hasattr(model, "map_coordinates"):
        return
    x, y = (np.asarray(v) for v in model.map_coordinates(layer))
    if x.shape != (out.shape[3],) or y.shape != (out.shape[2],):
        raise _fail(model, f"map_coordinates({layer!r}) must give x of shape ({out.shape[3]},) "
                           f"and y of shape ({out.shape[2]},) for responses of shape "
                           f"{out.shape}, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise _fail(model, f"map_coordinates({layer!r}) contains NaN or infinite positions")


def check_model(model: Any, *, layers: Sequence[str] | None = None, n_images: int = 2,
                rng: Any = 0) -> dict[str, tuple[int, ...]]:
    """Check that ``model`` answers the :class:`Model` contract; raise naming what is wrong.

    Runs a small batch of random contrast images (values in [-1, 1] around mean
    grey 0, on the model's own display) through every checked layer and verifies:
    the protocol's attributes exist (``display``, ``layers``, ``temporal``,
    ``responses``, ``unit_info``); ``responses`` returns a finite float array of
    shape ``(n, units)``, ``(n, channels, rows', cols')`` or, for temporal models,
    ``(n, units, time_bins)``; ``unit_info`` has one value per channel or unit;
    ``map_coordinates`` (when present) matches the map; an unknown layer name
    raises ``ValueError``; and, for a model with the optional ``sampled_layers``
    and ``responses_at``, each sampled layer's ``responses_at`` at a few map
    positions equals the full maps there within ``1e-4`` of the largest response;
    and, for a model with ``responses_many``, its layers equal ``responses`` of each
    layer to the same tolerance.
    Use it on your own model before running protocols through it (as plenoptic's
    ``validate_model``).

    Parameters
    ----------
    model : object
        The model to check.
    layers : sequence of str, optional
        Layers to run; default all of ``model.layers``.  Each must be one of them.
    n_images : int
        Images in the test batch, >= 1.
    rng : None, int or numpy.random.Generator
        Seed of the test images.

    Returns
    -------
    dict of str to tuple of int
        Layer name → shape of its responses to the test batch.

    Raises
    ------
    TypeError
        If an attribute or method is missing or has the wrong type, or responses are
        not a float array.  The message starts with the model's class name.
    ValueError
        If a shape is wrong, responses contain NaN or infinity, an unknown layer is
        accepted, or ``layers`` names a layer the model does not have.

    Examples
    --------
    >>> from stimuli import Display
    >>> from v1model import V1Model
    >>> model = V1Model.grid(Display((16, 16), pixels_per_degree=8), orientations=[0, 90],
    ...                 sfs=[2.0])
    >>> check_model(model)
    {'simple': (2, 8, 16, 16), 'complex': (2, 2, 16, 16)}
    >>> class Broken:
    ...     layers = ("a",)
    >>> check_model(Broken())
    Traceback (most recent call last):
    TypeError: model Broken does not meet the Model contract: missing 'display', 'temporal', \
'responses', 'unit_info' (see v1model.base.Model)
    """
    known = _check_attributes(model)
    n_images = check_count("n_images", n_images, maximum=10_000)
    chosen = known if layers is None else tuple(check_choice("layers", layer, known)
                                                 for layer in check_strings("layers", layers))
    shape = tuple(int(v) for v in model.display.shape)
    images = as_rng(rng).uniform(-1.0, 1.0, (n_images, *shape)).astype(np.float32)
    unknown = "_no_such_layer_"
    try:
        model.responses(images, unknown)
    except ValueError:
        pass
    except Exception as exc:  # noqa: BLE001 - the wrong kind of error is the finding
        raise _fail(model, f"responses(images, {unknown!r}) must raise ValueError naming the "
                           f"layers, raised {type(exc).__name__}: {exc}") from exc
    else:
        raise _fail(model, f"responses(images, {unknown!r}) must raise ValueError for a layer "
                           f"not in {known}, but it returned")
    shapes: dict[str, tuple[int, ...]] = {}
    outputs: dict[str, np.ndarray] = {}
    for layer in chosen:
        out = _check_responses(model, layer, model.responses(images, layer), n_images)
        _check_unit_info(model, layer, out.shape[1])
        _check_map(model, layer, out)
        _check_sampled(model, layer, images, out)
        shapes[layer] = tuple(int(v) for v in out.shape)
        outputs[layer] = out
    _check_many(model, images, outputs)
    return shapes


def _check_many(model: Any, images: np.ndarray, outputs: dict[str, np.ndarray]) -> None:
    """``responses_many`` (when the model offers it) equals one ``responses`` per layer."""
    many = getattr(model, "responses_many", None)
    if many is None or len(outputs) < 2:
        return
    got = _all_layers(model, "responses_many", many(images, tuple(outputs)), tuple(outputs))
    for layer, ref in outputs.items():
        arr = got[layer]
        if not isinstance(arr, np.ndarray) or arr.shape != ref.shape:
            shape = arr.shape if isinstance(arr, np.ndarray) else type(arr).__name__
            raise _fail(model, f"responses_many(images, ...)[{layer!r}] must have the shape of "
                               f"responses(images, {layer!r}), {ref.shape}, got {shape}")
        scale = max(float(np.abs(ref).max()), np.finfo(np.float32).tiny)
        err = float(np.abs(arr - ref).max())
        if not err <= 1e-4 * scale:
            raise _fail(model, f"responses_many(images, ...)[{layer!r}] differs from "
                               f"responses(images, {layer!r}) by {err:.3g} (largest response "
                               f"{scale:.3g})")


def _check_sampled(model: Any, layer: str, images: np.ndarray, out: np.ndarray) -> None:
    """``responses_at`` (when the model offers it for ``layer``) equals the full maps."""
    sampled = getattr(model, "sampled_layers", None)
    if sampled is None:
        return
    if isinstance(sampled, str) or not isinstance(sampled, Sequence):
        raise _fail(model, f"sampled_layers must be a tuple of layer names, got {sampled!r}",
                    TypeError)
    if layer not in sampled:
        return
    if not callable(getattr(model, "responses_at", None)):
        raise _fail(model, "sampled_layers is given but responses_at is missing", TypeError)
    if out.ndim != 4:
        raise _fail(model, f"sampled layer {layer!r} must be retinotopic (n, channels, rows', "
                           f"cols'), got {out.shape}")
    n_rows, n_cols = out.shape[2:]
    rows = np.array([(n_rows - 1) // 2, 0, n_rows - 1])
    cols = np.array([(n_cols - 1) // 2, n_cols - 1, 0])
    where = f"responses_at(images, {layer!r}, {rows.tolist()}, {cols.tolist()})"
    at = model.responses_at(images, layer, rows, cols)
    if not isinstance(at, np.ndarray) or at.shape != out.shape[:2] + (len(rows),):
        got = at.shape if isinstance(at, np.ndarray) else type(at).__name__
        raise _fail(model, f"{where} must return an array of shape "
                           f"{out.shape[:2] + (len(rows),)}, got {got}")
    ref = out[:, :, rows, cols]
    scale = max(float(np.abs(out).max()), np.finfo(np.float32).tiny)
    err = float(np.abs(at - ref).max())
    if not err <= 1e-4 * scale:
        raise _fail(model, f"{where} differs from responses(images, {layer!r}) at the same "
                           f"positions by {err:.3g} (largest response {scale:.3g})")
