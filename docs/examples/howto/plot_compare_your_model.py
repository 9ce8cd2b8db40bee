"""
Compare your network with V1
============================

The question a modeller asks first: how do the units of *my* network compare
with macaque V1, and with the V1 model, HMAX and a CNN?  Any object with
``layers``, ``display``, ``temporal``, ``responses(images, layer)`` and
``unit_info(layer)`` (the contract of :class:`v1model.base.Model`) goes through
the same protocol battery as the built-in models: orientation and
spatial-frequency tuning after Marques, Schrimpf & DiCarlo (2021), size tuning
after Cavanaugh, Bair & Movshon (2002), receptive fields mapped with light and
dark squares and fitted with Gabors (Ringach 2002), and translation tolerance.
:func:`v1model.app.compare_models` runs it from Python, writes the same
``report.html`` and ``summary.json`` as ``v1model compare``, and returns the
summary.

It lives in :mod:`v1model.app`, not in :mod:`analysis`: the comparison needs the
model registry, the battery and the report, which sit above ``analysis`` in the
package's layers.

From the command line, a ``module:callable`` that takes a display and returns a
model does the same::

    v1model compare --quick --model mypkg.mymodule:make_model --layers simple,energy

and an installed package can add models for good through the ``v1model.models``
entry-point group (see :mod:`v1model.app.registry`).
"""

import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from v1model.app import compare_models
from v1model.app.battery import QUICK_BATTERY
from v1model.base import check_model

# %%
# A model of your own
# -------------------
# Here, a classical energy model written from scratch in numpy: Gabor receptive
# fields at the display centre (8 orientations, sf 2 c/deg, envelope σ = 0.2°)
# give half-wave rectified *simple* units, and quadrature pairs give *energy*
# (complex) units (Adelson & Bergen 1985).  Nothing here imports from the
# package's internals.


class EnergyModel:
    """Gabor simple cells and quadrature-energy complex cells at the display centre."""

    temporal = False
    layers = ("simple", "energy")

    def __init__(self, display, sf=2.0, sigma=0.2):
        self.display = display
        rows, cols = display.shape
        ppd = display.pixels_per_degree
        y, x = np.mgrid[:rows, :cols]
        x = (x - (cols - 1) / 2) / ppd
        y = ((rows - 1) / 2 - y) / ppd
        self.orientation = np.arange(0.0, 180.0, 22.5)
        envelope = np.exp(-(x**2 + y**2) / (2 * sigma**2))
        pairs = []
        for ori in np.deg2rad(self.orientation):
            across = x * np.cos(ori) + y * np.sin(ori)
            pairs.append([envelope * np.cos(2 * np.pi * sf * across + phase)
                          for phase in (0.0, np.pi / 2)])
        # (orientations, 2 phases, pixels), scaled to a response of ~1 at full contrast
        self.kernels = np.asarray(pairs).reshape(len(pairs), 2, -1) / ppd**2
        self.sf = sf

    def responses(self, stimuli, layer, *, batch_size=64):
        if layer not in self.layers:
            raise ValueError(f"layer must be one of {self.layers}, got {layer!r}")
        images = np.asarray(stimuli, dtype=np.float64).reshape(len(stimuli), -1)
        linear = np.einsum("np,kqp->nkq", images, self.kernels)
        if layer == "simple":       # ON and OFF half-wave rectified, both phases
            return np.concatenate([np.maximum(linear, 0), np.maximum(-linear, 0)],
                                  axis=2).reshape(len(images), -1)
        return np.sqrt((linear**2).sum(axis=2))

    def unit_info(self, layer):
        if layer == "simple":
            n = len(self.orientation)
            return {"orientation": np.repeat(self.orientation, 4),
                    "phase": np.tile([0.0, 90.0, 180.0, 270.0], n),
                    "sf": np.full(4 * n, self.sf)}
        return {"orientation": self.orientation, "sf": np.full(len(self.orientation), self.sf)}


# %%
# Build it on the battery's display (the quick battery: 40 × 40 pixels at 16
# pixels/degree) and check it against the contract before running anything:
# :func:`~v1model.base.check_model` runs a few random images through every layer
# and names what is wrong, if anything.

mine = EnergyModel(QUICK_BATTERY.display())
check_model(mine)

# %%
# Through the battery, beside the V1 model
# ----------------------------------------
# Models can be objects, registered names (``"v1"``, ``"hmax"``, ``"cnn"``...) or
# ``"module:callable"`` specs; a dict names them in the report.  A model that
# cannot be built or run is skipped, and the report says why.

out = tempfile.mkdtemp()
summary = compare_models({"energy_model": mine, "v1": "v1"}, out, quick=True)
print("report:", os.path.join(out, "compare", "report.html"))
print("skipped:", summary["skipped"] or "none")

# %%
# The summary holds, per model and layer, the medians of each property and its
# similarity to macaque V1 (1 − KS distance, with a bootstrap interval):

for model in summary["models"].values():
    for layer, row in model["layers"].items():
        cv = row["similarity_to_macaque"]["circular_variance"]
        nx = row["medians"]["ringach_nx"]
        print(f"{model['title']:>14} {layer:>8}: {row['n_units']:3d} units, "
              f"median peak sf {row['medians']['peak_sf']:.2f} c/deg, "
              f"circular variance: ceiled score {cv['ceiled']:.2f} "
              f"(raw {cv['raw']:.2f} [{cv['ci'][0]:.2f}, {cv['ci'][1]:.2f}]), "
              f"median nx {'—' if nx is None else f'{nx:.2f}'}")

# %%
# The report's figures are PNGs beside it; here the distribution of circular
# variance against macaque V1, and the receptive fields mapped for the energy
# model's simple units (ON − OFF maps from single squares, fitted with Gabors).

figures = os.path.join(out, "compare", "figures")
for name in ("property_circular_variance", "rf_energy_model_simple"):
    image = plt.imread(os.path.join(figures, f"{name}.png"))
    fig, ax = plt.subplots(figsize=(image.shape[1] / 100, image.shape[0] / 100))
    ax.imshow(image)
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)

# %%
# A PyTorch network
# -----------------
# :class:`v1model.torch_adapter.TorchModel` exposes a ``torch.nn.Module``'s named
# submodules as layers.  This part runs only where PyTorch is installed.  The
# network has the first stage of AlexNet (Krizhevsky, Sutskever & Hinton 2012) —
# ``Conv2d(3, 64, 11, stride=4, padding=2)``, ReLU, max-pooling, named as
# torchvision's ``features.0``..``features.2`` — with random weights, built from
# torch alone; ``torchvision.models.alexnet(weights=None)`` would go in the same
# way.  Greyscale stimuli are repeated over the three input channels.  We compare
# the ReLU and pooling stages (firing-rate-like); the convolution's outputs are
# signed, and the tuning metrics refuse negative rates.

try:
    import torch
except ImportError:
    torch = None
    print("PyTorch is not installed: `pip install v1model[torch]` to run this part")

if torch is not None:
    from v1model.torch_adapter import TorchModel

    torch.manual_seed(0)
    features = torch.nn.Sequential(torch.nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
                                   torch.nn.ReLU(), torch.nn.MaxPool2d(kernel_size=3, stride=2))
    alexnet_head = torch.nn.Sequential()
    alexnet_head.add_module("features", features)
    net = TorchModel(alexnet_head, QUICK_BATTERY.display(), layers=["features.1", "features.2"],
                     normalization="imagenet")
    torch_summary = compare_models({"alexnet_head": net}, tempfile.mkdtemp(), quick=True)
    for layer, row in torch_summary["models"]["alexnet_head"]["layers"].items():
        cv = row["similarity_to_macaque"]["circular_variance"]
        print(f"AlexNet head (random weights) {layer}: {row['n_units']} units, "
              f"circular-variance ceiled score {cv['ceiled']:.2f}")
