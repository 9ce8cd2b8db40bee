"""One contract test: every shipped model answers v1model.base.Model (checked by check_model).

Each model is built small; ``check_model`` runs random contrast images through
every layer and checks shapes, dtypes, finiteness, unit metadata, map coordinates
and the error for an unknown layer.  The second half feeds deliberately broken
models to ``check_model`` so the check itself is shown to fail where it should.
"""

import importlib.util

import numpy as np
import pytest

from stimuli.display import Display
from stimuli.noise import pink_noise
from v1model import V1Model, check_model, sample_population
from v1model.base import Model, check_layer
from v1model.cnn import CNN, DEFAULT_DISPLAY, Network, default_cnn_spec, load_pretrained_cnn
from v1model.hmax import HMAX, imprint_prototypes
from v1model.mlp import mlp_spec
from v1model.spiking import SpikingV1

SMALL = Display((32, 32), pixels_per_degree=16)
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _v1():
    return V1Model.grid(SMALL, orientations=[0, 45, 90, 135], sfs=[2.0], stride=4)


def _population_v1():
    return V1Model(SMALL, population=sample_population(12, source="macaque", rng=0), stride=4)


def _hmax():
    model = HMAX(Display((64, 64), pixels_per_degree=32))
    textures = pink_noise(model.display, n=4, rng=0)
    prototypes, _ = imprint_prototypes(model, textures, n_per_size=2, sizes=(4, 8), rng=1)
    return model.with_prototypes(prototypes, beta=2.0)


def _spiking():
    return SpikingV1(SMALL, v1={"population": "grid",
            "orientations": [0, 90], "sfs": [2.0]}, static_duration=0.1,
                     rng=0)


def _mlp():
    return CNN(Network.from_spec(mlp_spec(3, hidden=(16,)), rng=0), DEFAULT_DISPLAY)


def _torch_model():
    from v1model.torch_adapter import TorchModel, to_torch

    network = Network.from_spec(default_cnn_spec(3), rng=0)
    return TorchModel(to_torch(network), DEFAULT_DISPLAY,
                      layers=("conv1", "pool1", "conv2", "pool2", "fc", "logits"))


SHIPPED = [
    pytest.param(_v1, id="V1Model"),
    pytest.param(_population_v1, id="V1Model-population"),
    pytest.param(_hmax, id="HMAX"),
    pytest.param(_spiking, id="SpikingV1"),
    pytest.param(load_pretrained_cnn, id="CNN-pretrained"),
    pytest.param(_mlp, id="MLP"),
    pytest.param(_torch_model, id="TorchModel",
                 marks=[pytest.mark.torch,
                        pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")]),
]


@pytest.mark.parametrize("make", SHIPPED)
def test_shipped_model_meets_the_contract(make):
    model = make()
    assert isinstance(model, Model)
    shapes = check_model(model)
    assert tuple(shapes) == tuple(model.layers)
    for layer, shape in shapes.items():
        assert shape[0] == 2, layer
        info = model.unit_info(layer)
        assert all(len(np.asarray(v)) == shape[1] for v in info.values()), layer


# ------------------------------------------------------------------ the check can fail


class Toy:
    """A minimal correct model; the broken variants below change one thing each."""

    temporal = False

    def __init__(self, display=SMALL):
        self.display = display
        self.layers = ("map", "units")

    def responses(self, stimuli, layer):
        layer = check_layer(self, layer)
        x = np.asarray(stimuli, np.float32)
        if layer == "map":
            return np.stack([x, -x], axis=1)
        return x.reshape(len(x), -1)[:, :5]

    def unit_info(self, layer):
        return {"orientation": np.zeros(2 if layer == "map" else 5)}

    def map_coordinates(self, layer):
        return self.display.coordinates()[0][0], self.display.coordinates()[1][:, 0]


class NaNs(Toy):
    def responses(self, stimuli, layer):
        out = super().responses(stimuli, layer)
        out.flat[0] = np.nan
        return out


class Ints(Toy):
    def responses(self, stimuli, layer):
        return super().responses(stimuli, layer).astype(np.int64)


class Ragged(Toy):
    def responses(self, stimuli, layer):
        check_layer(self, layer)
        return [np.zeros(3) for _ in stimuli]


class WrongBatch(Toy):
    def responses(self, stimuli, layer):
        return super().responses(stimuli, layer)[:1]


class ShortInfo(Toy):
    def unit_info(self, layer):
        return {"orientation": np.zeros(1)}


class AcceptsAnyLayer(Toy):
    def responses(self, stimuli, layer):
        return super().responses(stimuli, "units")


class WrongMap(Toy):
    def map_coordinates(self, layer):
        return np.zeros(3), np.zeros(3)


class NoUnitInfo:
    temporal = False
    display = SMALL
    layers = ("a",)

    def responses(self, stimuli, layer):
        return np.zeros((len(stimuli), 1), np.float32)


class StringLayers(Toy):
    def __init__(self):
        super().__init__()
        self.layers = "map"


def test_a_correct_toy_model_passes():
    assert check_model(Toy()) == {"map": (2, 2, 32, 32), "units": (2, 5)}
    assert check_model(Toy(), layers=["units"], n_images=3) == {"units": (3, 5)}


@pytest.mark.parametrize(
    ("model", "error", "match"),
    [
        (NaNs(), ValueError, r"NaNs does not meet .*responses\(images, 'map'\) contains 1 NaN"),
        (Ints(), TypeError, "must return floats, got dtype int64"),
        (Ragged(), TypeError, "must return a numpy array, got list"),
        (WrongBatch(), ValueError, r"for 2 images must have shape .* got \(1, 2, 32, 32\)"),
        (ShortInfo(), ValueError, r"unit_info\('map'\)\['orientation'\] .* \(2\), got shape"),
        (AcceptsAnyLayer(), ValueError, "must raise ValueError for a layer not in"),
        (WrongMap(), ValueError, r"map_coordinates\('map'\) must give x of shape \(32,\)"),
        (NoUnitInfo(), TypeError, "NoUnitInfo does not meet .* missing 'unit_info'"),
        (StringLayers(), TypeError, "layers must be a non-empty tuple"),
    ],
    ids=["nan", "int-dtype", "ragged-list", "wrong-batch", "short-unit-info",
         "unknown-layer-accepted", "wrong-map", "missing-method", "layers-a-string"],
)
def test_check_model_names_the_model_and_the_fault(model, error, match):
    with pytest.raises(error, match=match):
        check_model(model)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"layers": ["nope"]}, ValueError, "layers must be one of 'map', 'units'; got 'nope'"),
     ({"n_images": 0}, ValueError, "n_images")],
    ids=["unknown-layer-asked", "no-images"],
)
def test_check_model_validates_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        check_model(Toy(), **kwargs)
