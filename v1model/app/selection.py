"""Which models and layers ``v1model compare`` runs: registered names, specs and objects.

:func:`run_compare_job <v1model.app.compare.run_compare_job>` takes registered model
names, ``"module:callable"`` specs and model objects (or a dict naming them), plus
layer names bare or as ``model:layer``.  This module turns them into the validated
``{model: layers}`` selection and builds the models from outside the registry, so
that the job itself only runs the battery.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from stimuli._shared.validation import check_choice
from stimuli.display import Display
from v1model.app.registry import (
    RegisteredModel,
    get_model,
    list_models,
    load_factory,
    outside_model_entry,
)


def _selection(models: Any, layers: Any,
               outside: dict[str, RegisteredModel] | None = None) -> dict[str, tuple[str, ...]]:
    """Validated ``{model name: layers}``: registered models in registry order, then outside ones.

    ``models`` are registered names (None: all, unless ``outside`` models are given);
    ``outside`` maps the names of models from outside the registry to their entries.
    """
    outside = outside or {}

    def as_list(name: str, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else list(value)
        if not items:
            raise ValueError(f"{name} must not be empty; choices are "
                             f"{', '.join(map(repr, _choices(name, outside)))}")
        for item in items:
            if not isinstance(item, str):
                raise TypeError(f"{name} must be strings, got {item!r}")
        if len(set(items)) != len(items):
            raise ValueError(f"{name} lists a name twice: {items}")
        return items

    if models is None:
        chosen = [] if outside else list(list_models())
    else:
        chosen = as_list("models", models)
    for name in chosen:
        check_choice("models", name, list_models())
    entries = {name: get_model(name) for name in list_models() if name in chosen}
    entries.update(outside)
    explicit = models is not None or bool(outside)
    if layers is None:
        return {name: entry.default_layers for name, entry in entries.items()}
    wanted = as_list("layers", layers)
    for item in wanted:
        check_choice("layers", item, _choices("layers", outside))
    out: dict[str, tuple[str, ...]] = {}
    for name, entry in entries.items():
        picked = tuple(layer for layer in entry.layers
                       if layer in wanted or f"{name}:{layer}" in wanted)
        if picked:
            out[name] = picked
        elif explicit:
            raise ValueError(f"layers {wanted} select no layer of model {name!r}, whose layers "
                             f"are {', '.join(map(repr, entry.layers))}")
    if not out:
        raise ValueError(f"layers {wanted} select no layer of the models {list(entries)}")
    unused = [item for item in wanted
              if not any(item in (layer, f"{name}:{layer}")
                         for name, picked in out.items() for layer in picked)]
    if unused:
        raise ValueError(f"layers {unused} belong to none of the selected models "
                         f"{list(entries)}")
    return out


def _choices(name: str, outside: dict[str, RegisteredModel] | None = None) -> tuple[str, ...]:
    if name == "models":
        return list_models()
    entries = [get_model(name) for name in list_models()] + list((outside or {}).values())
    bare = [layer for e in entries for layer in e.layers]
    qualified = [f"{e.name}:{layer}" for e in entries for layer in e.layers]
    return tuple(dict.fromkeys(bare + qualified))


def _requested(models: Any) -> tuple[list[str] | None, dict[str, tuple[str, Any, bool]]]:
    """Split ``models`` into registered names and outside models ``{name: (kind, payload,
    named)}``.

    ``kind`` is ``"spec"`` (a ``"module:callable"`` string, payload the spec) or
    ``"object"`` (a built model), and ``named`` says whether the caller named it.  A
    dict gives the names; otherwise an outside
    model is named after its ``name`` attribute or its class (``"mymodel"``,
    ``"mymodel_2"``...), a spec after its callable.
    """
    if models is None:
        return None, {}
    if isinstance(models, str):
        models = [models]
    if isinstance(models, dict):
        items = list(models.items())
    elif isinstance(models, Sequence):
        items = [(None, m) for m in models]
    else:
        raise TypeError(f"models must be a sequence of names, 'module:callable' specs or model "
                        f"objects, or a dict of name to those, got {models!r}")
    registered: list[str] = []
    outside: dict[str, tuple[str, Any, bool]] = {}
    taken = set(list_models())
    for key, item in items:
        named = key is not None
        if isinstance(item, str) and ":" not in item:
            if key is not None and key != item:
                raise ValueError(f"models: the registered model {item!r} keeps its name, got "
                                 f"the key {key!r}")
            registered.append(item)
            continue
        kind = "spec" if isinstance(item, str) else "object"
        if kind == "object" and not (hasattr(item, "responses") or hasattr(item, "layers")):
            raise TypeError(f"models must hold registered names, 'module:callable' specs or "
                            f"model objects (with layers and responses), got {item!r}")
        if key is None:
            base = (item.rsplit(":", 1)[1].split(".")[-1] if kind == "spec"
                    else str(getattr(item, "name", "") or type(item).__name__))
            base = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_") or "model"
            base = base if base[0].isalpha() else f"m_{base}"
            key, n = base, 1
            while key in taken or key in outside:
                n += 1
                key = f"{base}_{n}"
        elif not isinstance(key, str) or not re.match(r"^[a-z][a-z0-9_]*$", key):
            raise ValueError(f"models: a name must be a lower-case identifier (letters, digits, "
                             f"_), got {key!r}")
        elif key in taken or key in outside:
            raise ValueError(f"models: the name {key!r} is taken (a registered model or listed "
                             "twice)")
        outside[key] = (kind, item, named)
    return (None if outside and not registered else registered), outside


def _build_outside(name: str, kind: str, payload: Any, display: Display, seed: int,
                   named: bool = False) -> tuple[Any, RegisteredModel]:
    """Build (a spec) or take (an object) one outside model and describe it for the job.

    A spec's callable is called as ``factory(display, seed=seed)`` when it takes a
    ``seed`` argument, else ``factory(display)``.  ``layers`` (the job's) keeps the
    model's layers it names, bare or as ``"name:layer"``; the entry holds all layers
    when none is named, so the selection can say so.
    """
    if kind == "spec":
        factory = load_factory(payload)
        try:
            takes_seed = "seed" in inspect.signature(factory).parameters
        except (TypeError, ValueError):
            takes_seed = False
        model = factory(display, seed=seed) if takes_seed else factory(display)
        title = payload
    else:
        model = payload
        title = str(getattr(model, "name", "") or (name if named else type(model).__name__))
    return model, outside_model_entry(name, model, title=title)
