"""Any PyTorch module behind the common model interface, through forward hooks.

PyTorch is optional: it is imported when a :class:`TorchModel` is made, and a
missing install raises an ``ImportError`` saying how to get it.

Input normalisation
-------------------
Stimuli are in contrast units (0 = mean grey, [-1, 1]).  ``normalization``
says what the module expects:

- ``None`` (default): the contrast images as they are (right for networks
  trained in this package, e.g. :func:`to_torch` of a :class:`~v1model.cnn.Network`);
- ``"imagenet"``: luminance ``L = (contrast + 1) / 2`` in [0, 1] (mean grey =
  0.5), then ``(L − mean) / std`` per colour channel with the ImageNet
  statistics of torchvision's pretrained models (mean 0.485, 0.456, 0.406;
  std 0.229, 0.224, 0.225);
- ``(mean, std)``: the same with your own per-channel statistics.

Grayscale images are repeated over the module's input channels (3 for an
ImageNet network), found from its first ``Conv2d``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stimuli._shared.validation import check_images, check_int
from stimuli.display import Display
from v1model._repr import model_repr_html
from v1model.base import check_layer

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "TorchModel", "to_torch"]

#: Per-channel (R, G, B) statistics of ImageNet used by torchvision's pretrained models.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _import_torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("v1model.torch_adapter needs PyTorch, which is optional: install it "
                          "with `pip install torch` (or `pip install v1model[torch]`)") from exc
    return torch


class _Captured(Exception):
    """Raised from a hook to stop the forward pass once the wanted layer has run."""


class TorchModel:
    """Wrap a ``torch.nn.Module`` so its named submodules answer the model interface.

    Parameters
    ----------
    module : torch.nn.Module
        The network; it is put in evaluation mode (``module.eval()``).
    display : stimuli.Display
        The input geometry: images must be ``display.shape``; ``pixels_per_degree``
        gives map coordinates in degrees.
    layers : sequence of str
        Names of submodules (as in ``module.named_modules()``, e.g. ``"features.0"``)
        to expose, in processing order.
    device : str
        Torch device for the computation, default ``"cpu"``.
    normalization : None, "imagenet" or (mean, std)
        How contrast images become module input; see the module docstring.
    in_channels : int, optional
        Input channels; by default those of the first ``Conv2d`` (1 if there is none).

    Raises
    ------
    ImportError
        If PyTorch is not installed.
    ValueError
        If a layer name is not a submodule or an option is malformed.

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 5, padding=2),
    ...                           torch.nn.ReLU())  # doctest: +SKIP
    >>> model = TorchModel(net, Display((16, 16), 8), layers=("0", "1"))  # doctest: +SKIP
    >>> model.responses(np.zeros((2, 16, 16)), "1").shape  # doctest: +SKIP
    (2, 4, 16, 16)
    """

    temporal = False
    _repr_html_ = model_repr_html

    def __init__(self, module, display: Display, *, layers: Sequence[str],
                 device: str = "cpu", normalization=None, in_channels: int | None = None) -> None:
        torch = _import_torch()
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if not isinstance(display, Display):
            raise TypeError(f"display must be a stimuli.Display, got {type(display).__name__}")
        named = dict(module.named_modules())
        layers = tuple(layers)
        if not layers:
            raise ValueError("layers must name at least one submodule")
        for name in layers:
            if name not in named or name == "":
                known = [n for n in named if n][:20]
                raise ValueError(f"module has no submodule {name!r}; some names: {known}")
        self.module = module.to(device).eval()
        self.display = display
        self.layers = layers
        self.device = device
        self._submodules = named
        if in_channels is None:
            first = next((m for m in module.modules() if isinstance(m, torch.nn.Conv2d)), None)
            in_channels = first.in_channels if first is not None else 1
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.mean, self.std = self._normalization(normalization)
        self._shapes: dict[str, tuple[int, ...]] = {}

    def _normalization(self, normalization):
        if normalization is None:
            return None, None
        if isinstance(normalization, str):
            if normalization != "imagenet":
                raise ValueError(f"normalization must be None, 'imagenet' or (mean, std); got "
                                 f"{normalization!r}")
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        else:
            mean, std = normalization
        mean = np.broadcast_to(np.asarray(mean, np.float32), (self.in_channels,)).copy()
        std = np.broadcast_to(np.asarray(std, np.float32), (self.in_channels,)).copy()
        if not (np.all(np.isfinite(mean)) and np.all(std > 0)):
            raise ValueError(f"normalization needs finite means and positive stds, got "
                             f"{mean}, {std}")
        return mean, std

    def __repr__(self) -> str:
        return (f"TorchModel({type(self.module).__name__}, layers={self.layers}, "
                f"display={self.display})")

    def _input(self, images: np.ndarray) -> np.ndarray:
        x = images[:, None]
        if self.mean is not None:
            x = ((x + 1) / 2 - self.mean[:, None, None]) / self.std[:, None, None]
        x = np.broadcast_to(x, (len(images), self.in_channels, *images.shape[1:]))
        return np.array(x, dtype=np.float32)  # a writable copy for torch.from_numpy

    def responses(self, stimuli: np.ndarray, layer: str, *, batch_size: int = 64) -> np.ndarray:
        """Outputs of submodule ``layer`` for images ``(n, rows, cols)`` in contrast units.

        Returns
        -------
        ndarray, float32
            ``(n, channels, rows', cols')`` for 4-D outputs, ``(n, units)`` otherwise
            (other shapes are flattened per image).

        Raises
        ------
        ValueError
            If the layer is not exposed or the images do not match the display.
        """
        torch = _import_torch()
        check_layer(self, layer)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        images = check_images("stimuli", stimuli, self.display)
        captured = []

        def hook(_module, _inputs, output):
            captured.append(output.detach().to("cpu", torch.float32).numpy())
            raise _Captured

        handle = self._submodules[layer].register_forward_hook(hook)
        try:
            with torch.no_grad():
                for i in range(0, len(images), batch_size):
                    batch = torch.from_numpy(self._input(images[i:i + batch_size]))
                    try:
                        self.module(batch.to(self.device))
                    except _Captured:
                        pass
        finally:
            handle.remove()
        if len(captured) != -(-len(images) // batch_size):
            raise RuntimeError(f"submodule {layer!r} did not run during the forward pass")
        out = np.concatenate(captured)
        if out.ndim not in (2, 4):
            out = out.reshape(len(out), -1)
        self._shapes[layer] = out.shape[1:]
        return out

    def _shape(self, layer: str) -> tuple[int, ...]:
        check_layer(self, layer)
        if layer not in self._shapes:
            self.responses(np.zeros((1, *self.display.shape), np.float32), layer)
        return self._shapes[layer]

    def map_coordinates(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Map positions in degrees, assuming the map tiles the display evenly.

        A general module's padding and strides are not known, so unit ``j`` of ``m``
        is placed at the centre of the ``j``-th of ``m`` equal parts of the display.

        Returns
        -------
        x : ndarray of shape (cols',)
        y : ndarray of shape (rows',), decreasing (row 0 at the top)

        Raises
        ------
        ValueError
            If the layer's output is not a 4-D map.
        """
        shape = self._shape(layer)
        if len(shape) != 3:
            raise ValueError(f"layer {layer!r} is not retinotopic: output shape {shape}")
        height, width = self.display.size_degrees
        x = (np.arange(shape[2]) + 0.5) * width / shape[2] - width / 2
        y = height / 2 - (np.arange(shape[1]) + 0.5) * height / shape[1]
        return x, y

    def unit_info(self, layer: str) -> dict[str, np.ndarray]:
        """``channel`` indices (4-D outputs) or ``unit`` indices; nothing else is known.

        Raises
        ------
        ValueError
            If the layer is not exposed.
        """
        shape = self._shape(layer)
        key = "channel" if len(shape) == 3 else "unit"
        return {key: np.arange(shape[0])}

    def filters(self, layer: str) -> np.ndarray:
        """Kernels ``(out, in, k, k)`` of the submodule's (first) ``Conv2d``, as a numpy copy.

        Raises
        ------
        ValueError
            If the submodule contains no ``torch.nn.Conv2d``.
        """
        torch = _import_torch()
        check_layer(self, layer)
        for module in self._submodules[layer].modules():  # itself first, then its children
            if isinstance(module, torch.nn.Conv2d):
                return module.weight.detach().to("cpu").numpy().copy()
        raise ValueError(f"layer {layer!r} has no convolution kernels")


def to_torch(network):
    """The same network as a ``torch.nn.Sequential`` of named stages, with copied weights.

    For checking the numpy implementation and for benchmarks.  Dropout becomes
    ``torch.nn.Dropout`` (active only in ``train()`` mode).

    Parameters
    ----------
    network : v1model.cnn.Network

    Returns
    -------
    torch.nn.Sequential
        One child ``torch.nn.Sequential`` per stage, named like the stage.

    Raises
    ------
    ImportError
        If PyTorch is not installed.
    ValueError
        For a layer type without a torch counterpart.

    Examples
    --------
    >>> from v1model.cnn import Network, default_cnn_spec
    >>> seq = to_torch(Network.from_spec(default_cnn_spec(4), rng=0))  # doctest: +SKIP
    >>> [name for name, _ in seq.named_children()]  # doctest: +SKIP
    ['conv1', 'pool1', 'conv2', 'pool2', 'fc', 'logits']
    """
    torch = _import_torch()
    nn = torch.nn
    stages = []
    for name, layers in network.stages:
        mods = []
        for layer in layers:
            kind = layer.kind
            if kind == "conv2d":
                mod = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                stride=layer.stride, padding=layer.padding)
            elif kind == "dense":
                mod = nn.Linear(layer.in_features, layer.out_features)
            elif kind == "relu":
                mod = nn.ReLU()
            elif kind == "maxpool2d":
                mod = nn.MaxPool2d(layer.kernel_size, stride=layer.stride)
            elif kind == "avgpool2d":
                mod = nn.AvgPool2d(layer.kernel_size, stride=layer.stride)
            elif kind == "lrn":
                mod = nn.LocalResponseNorm(layer.size, alpha=layer.alpha, beta=layer.beta,
                                           k=layer.bias)
            elif kind == "flatten":
                mod = nn.Flatten()
            elif kind == "dropout":
                mod = nn.Dropout(layer.p)
            else:  # pragma: no cover - every built-in kind is listed above
                raise ValueError(f"no torch counterpart for layer type {kind!r}")
            if layer.params:
                with torch.no_grad():
                    mod.weight.copy_(torch.from_numpy(np.asarray(layer.params["weight"])))
                    mod.bias.copy_(torch.from_numpy(np.asarray(layer.params["bias"])))
            mods.append(mod)
        stages.append((name, nn.Sequential(*mods)))
    from collections import OrderedDict

    return nn.Sequential(OrderedDict(stages))
