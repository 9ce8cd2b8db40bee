"""The PyTorch adapter: any module's named layers through the common interface."""

import numpy as np
import pytest

from stimuli.display import Display
from v1model.cnn import CNN, DEFAULT_DISPLAY, Network, default_cnn_spec
from v1model.torch_adapter import IMAGENET_MEAN, IMAGENET_STD, TorchModel, to_torch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def pair():
    """The same random default network in numpy (CNN) and in torch (TorchModel)."""
    network = Network.from_spec(default_cnn_spec(5), rng=0)
    layers = ("conv1", "pool1", "conv2", "pool2", "fc", "logits")
    return CNN(network, DEFAULT_DISPLAY), TorchModel(to_torch(network), DEFAULT_DISPLAY,
                                                     layers=layers)


def test_torch_copy_matches_the_numpy_network(pair):
    ours, theirs = pair
    images = np.random.default_rng(1).uniform(-1, 1, (4, 32, 32)).astype(np.float32)
    for layer in ours.layers:
        np.testing.assert_allclose(theirs.responses(images, layer), ours.responses(images, layer),
                                   rtol=1e-4, atol=1e-4, err_msg=layer)
    np.testing.assert_array_equal(theirs.filters("conv1"), ours.filters("conv1"))


def test_torch_gradients_match_the_numpy_network():
    """The same loss gives the same parameter gradients in torch and in our backward pass."""
    from v1model.layers import softmax_cross_entropy

    network = Network.from_spec(default_cnn_spec(5, dropout=0.0), rng=2)
    module = to_torch(network).train()
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (6, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 5, 6)
    out = network.forward(x, training=True, rng=0)
    network.backward(softmax_cross_entropy(out, y)[1].astype(np.float32))
    loss = torch.nn.functional.cross_entropy(module(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    ours = network.gradients()
    for name, param in module.named_parameters():
        stage, index, key = name.split(".")
        np.testing.assert_allclose(param.grad.numpy(), ours[f"{stage}.{index}.{key}"],
                                   rtol=1e-3, atol=1e-6, err_msg=name)


def test_interface_shapes_and_geometry(pair):
    _, model = pair
    assert model.layers == ("conv1", "pool1", "conv2", "pool2", "fc", "logits")
    assert model.responses(np.zeros((3, 32, 32)), "pool2", batch_size=2).shape == (3, 32, 8, 8)
    assert model.unit_info("conv2")["channel"].tolist() == list(range(32))
    assert len(model.unit_info("fc")["unit"]) == 64
    x, y = model.map_coordinates("pool1")
    assert x.shape == y.shape == (16,)
    np.testing.assert_allclose(x, -y)
    np.testing.assert_allclose(x[[0, -1]], [-0.9375, 0.9375])  # centres of 16 parts of 2°


def test_grayscale_is_repeated_to_three_channels_with_imagenet_normalisation():
    conv = torch.nn.Conv2d(3, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = 1.0  # channel 0 passes the red input
        conv.weight[1, 2] = 1.0  # channel 1 passes the blue input
    model = TorchModel(torch.nn.Sequential(conv), Display((4, 4), 2.0), layers=("0",),
                       normalization="imagenet")
    assert model.in_channels == 3
    out = model.responses(np.zeros((1, 4, 4)), "0")  # mean grey = luminance 0.5
    np.testing.assert_allclose(out[0, 0], (0.5 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], (0.5 - IMAGENET_MEAN[2]) / IMAGENET_STD[2], rtol=1e-6)


def test_forward_stops_after_the_requested_layer():
    class Boom(torch.nn.Module):
        def forward(self, x):
            raise AssertionError("ran past the requested layer")

    module = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), Boom())
    model = TorchModel(module, Display((8, 8), 4.0), layers=("0",))
    assert model.responses(np.zeros((2, 8, 8)), "0").shape == (2, 2, 6, 6)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda m: TorchModel(m, DEFAULT_DISPLAY, layers=("nope",)), ValueError,
         "no submodule 'nope'"),
        (lambda m: TorchModel(m, DEFAULT_DISPLAY, layers=()), ValueError, "at least one"),
        (lambda m: TorchModel(object(), DEFAULT_DISPLAY, layers=("0",)), TypeError,
         "torch.nn.Module"),
        (lambda m: TorchModel(m, DEFAULT_DISPLAY, layers=("conv1",), normalization="coco"),
         ValueError, "normalization must be"),
        (lambda m: TorchModel(m, DEFAULT_DISPLAY, layers=("conv1",)).responses(
            np.zeros((1, 8, 8)), "conv1"), ValueError, "match the display"),
        (lambda m: TorchModel(m, DEFAULT_DISPLAY, layers=("pool1",)).filters("pool1"),
         ValueError, "no convolution kernels"),
        (lambda m: TorchModel(m, DEFAULT_DISPLAY, layers=("fc",)).map_coordinates("fc"),
         ValueError, "not retinotopic"),
    ],
    ids=["unknown-layer", "no-layers", "not-module", "normalization", "size", "filters",
         "dense-map"],
)
def test_bad_arguments_raise(pair, make, error, match):
    with pytest.raises(error, match=match):
        make(pair[1].module)
