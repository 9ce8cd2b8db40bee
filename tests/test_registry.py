"""The public model registry of the applications (v1model.app.registry)."""

import pytest

from stimuli.display import Display
from v1model import V1Model, check_model
from v1model.app import registry
from v1model.app.registry import (
    build_model,
    get_model,
    list_models,
    model_availability,
    register_model,
    unregister_model,
)
from v1model.cnn import DEFAULT_DISPLAY

SMALL = Display((32, 32), pixels_per_degree=16)


@pytest.fixture
def clean_registry(monkeypatch):
    """Registrations made by a test disappear after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def _factory(display, *, seed, sfs=(2.0,)):
    return V1Model.grid(display, orientations=[0, 90], sfs=list(sfs))


def test_builtins_are_registered_in_report_order():
    assert list_models()[:4] == ("v1", "hmax", "spiking", "cnn")
    assert get_model("cnn").display == DEFAULT_DISPLAY
    assert get_model("cnn").default_layers == ("conv1", "conv2")
    assert get_model("spiking").invariance is False


@pytest.mark.parametrize("name", ["v1", "hmax", "cnn"])
def test_builtin_models_build_and_meet_the_contract(name):
    entry = get_model(name)
    model = build_model(name, None if entry.display else SMALL, stride=4) if name == "v1" \
        else build_model(name, None if entry.display else Display((64, 64), 32))
    shapes = check_model(model, layers=entry.default_layers)
    assert tuple(shapes) == entry.default_layers


def test_register_build_and_unregister(clean_registry):
    entry = register_model("toy_v1", _factory, layers=("simple", "complex"),
                           default_layers=("complex",), rf_layers=("simple",), title="Toy")
    assert list_models()[-1] == "toy_v1" and entry.quick_steps == entry.steps
    model = build_model("toy_v1", SMALL, seed=3, sfs=(1.0,))
    assert model.unit_info("complex")["sf"].tolist() == [1.0, 1.0]
    assert model_availability(["toy_v1"]) == {"toy_v1": None}
    unregister_model("toy_v1")
    assert "toy_v1" not in list_models()


def test_unavailable_model_says_why(clean_registry):
    register_model("ghost", _factory, layers=("simple",), requires=("no_such_module_xyz",))
    register_model("no_data", _factory, layers=("simple",), available=lambda: "no weights")
    reasons = model_availability(["ghost", "no_data"])
    assert "no_such_module_xyz cannot be imported" in reasons["ghost"]
    assert reasons["no_data"] == "no weights"
    with pytest.raises(ValueError, match="'no_data' cannot run here: no weights"):
        build_model("no_data", SMALL)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("v1", _factory), {"layers": ("simple",)}, ValueError, "already registered"),
        (("Bad Name", _factory), {"layers": ("a",)}, ValueError, "lower-case identifier"),
        (("x", None), {"layers": ("a",)}, TypeError, "factory must be callable"),
        (("x", _factory), {"layers": "simple"}, TypeError, "layers must be a sequence"),
        (("x", _factory), {"layers": ()}, ValueError, "at least one layer"),
        (("x", _factory), {"layers": ("a",), "default_layers": ("b",)}, ValueError,
         "default_layers must be one of 'a'; got 'b'"),
        (("x", _factory), {"layers": ("a",), "steps": ("tilt",)}, ValueError,
         "steps must be one of"),
        (("x", _factory), {"layers": ("a",), "display": (32, 32)}, TypeError,
         "display must be a stimuli.Display"),
    ],
    ids=["taken", "bad-name", "no-factory", "layers-string", "no-layers", "default-not-layer",
         "unknown-step", "display-tuple"],
)
def test_register_model_rejects_bad_entries(clean_registry, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        register_model(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [(("v2",), {}, "model must be one of 'v1', 'hmax', 'spiking', 'cnn'"),
     (("v1",), {}, "'v1' needs a display"),
     (("cnn", Display((48, 48), 16)), {}, r"fixed display \(32 x 32 px at 16 px/deg\)"),
     (("v1", SMALL), {"seed": -1}, "seed")],
    ids=["unknown", "no-display", "cnn-display", "negative-seed"],
)
def test_build_model_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_model(*args, **kwargs)
