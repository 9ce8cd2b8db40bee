"""
HMAX: simple and complex stages stacked
=======================================

Reproduces the architecture and the main claims of **Serre, Wolf, Bileschi,
Riesenhuber & Poggio (2007)**, *Robust object recognition with cortex-like
mechanisms*, IEEE PAMI 29:411, building on **Riesenhuber & Poggio (1999)**, Nat
Neurosci 2:1019.  Hubel and Wiesel's simple → complex scheme is repeated: S
stages match templates (S1: Gabor filters; S2: patches imprinted from training
images), C stages take a **maximum** over position and scale (C1: local; C2:
global).  The max buys tolerance to where a feature falls while keeping what it
is, and the C2 features support object recognition with a linear classifier.

:class:`v1model.HMAX` uses Serre et al.'s Table 1: S1 filters of 7–37 pixels
(16 scales × 4 orientations, aspect ratio 0.3), C1 pooling over pairs of
scales and over 8–22 pixel grids.
"""

import matplotlib.pyplot as plt
import numpy as np

from analysis import decode, plot_invariance, tolerance_curve
from stimuli import Display, random_patches, shapes_dataset
from v1model import HMAX, imprint_prototypes

# %%
# The S1 filters
# --------------
# Every other scale of the 16, at the 4 orientations (0° = vertical bars).

display = Display((64, 64), pixels_per_degree=32)
model = HMAX(display)
print(model)
s1 = model.stages[0][1]
scales = range(0, s1.n_scales, 4)
fig, axes = plt.subplots(len(s1.orientations), len(scales), figsize=(6, 6))
for j, scale in enumerate(scales):
    for i, kernel in enumerate(s1.kernels(scale)):
        axes[i, j].imshow(kernel, cmap="RdBu_r", vmin=-abs(kernel).max(), vmax=abs(kernel).max())
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
    axes[0, j].set_title(f"{s1.sizes[scale]} px", fontsize=9)
for i, theta in enumerate(s1.orientations):
    axes[i, 0].set_ylabel(f"{theta:g}°")
fig.suptitle("S1 filters: size (columns) × orientation (rows)")

# %%
# S1 and C1 responses
# -------------------
# A noise-free cross, the S1 response of the smallest filters (7 px) at each
# orientation, and the C1 maps of the first band (max over the 7 and 9 px scales
# and over an 8 × 8 pixel grid moved in steps of 4): coarser, and unchanged by
# small shifts.  S1 divides by the local image energy, so responses lie in
# [0, 1] whatever the contrast (one colour scale per row here).

clean = shapes_dataset(4, size=64, classes=("cross", "disk"), noise=0.0, rng=2)
cross = clean.x_train[clean.y_train == 0][:1]
s1_maps = model.responses(cross, "S1")[0]       # (scales · orientations, 64, 64)
c1_maps = model.responses(cross, "C1")[0]       # (bands · orientations, 15, 15), centred
info = model.unit_info("C1")
top_s1, top_c1 = s1_maps[:4].max(), c1_maps.max()   # one colour scale per row
fig, axes = plt.subplots(2, 5, figsize=(9, 3.8))
for row in axes:
    row[0].imshow(cross[0], cmap="gray", vmin=-1, vmax=1)
for k, theta in enumerate(s1.orientations):
    axes[0, k + 1].imshow(s1_maps[k], cmap="magma", vmin=0, vmax=top_s1)
    axes[0, k + 1].set_title(f"S1, 7 px, {theta:g}°", fontsize=9)
    band0 = (info["band"] == 0) & (info["orientation"] == theta)
    axes[1, k + 1].imshow(c1_maps[np.flatnonzero(band0)[0]], cmap="magma", vmin=0, vmax=top_c1)
    axes[1, k + 1].set_title(f"C1, band 0, {theta:g}°", fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %%
# Tolerance to position
# ---------------------
# :func:`analysis.tolerance_curve` shifts each image and correlates the layer's
# response pattern with the pattern for the original.  S1 changes as soon as the
# image moves; C1 holds on for shifts within its pooling grids; C2, a global
# max, barely changes.  C2 here uses prototypes imprinted from the training
# shapes (see the next section): 20 each of 4, 8 and 12 C1 cells square (the
# largest that fit the 15 × 15 C1 maps of this small display; Serre et al.
# also use 16).

data = shapes_dataset(40, size=64, rng=0)
prototypes, sources = imprint_prototypes(model, data.x_train, n_per_size=20,
                                         sizes=(4, 8, 12), rng=1)
model = model.with_prototypes(prototypes)
patches = random_patches(8, display, rng=0, min_std=0.05)
shifts = [0.0, 0.0625, 0.125, 0.25, 0.5]
curves = {layer: tolerance_curve(model, layer, patches, amounts=shifts)
          for layer in ("S1", "C1", "C2")}
fig, ax = plt.subplots(figsize=(5, 3.5))
plot_invariance(shifts, {layer: table["correlation"] for layer, table in curves.items()},
                transform="shift", units="deg", ax=ax)
ax.set_title("natural-image patches shifted rightwards")
fig.tight_layout()

# %%
# Each curve should be judged against the correlation between responses to
# *different* images — the level it falls to when nothing of the original
# pattern is left.  For C2 that level is high (units of different prototype
# sizes differ in their mean response), so we also give the fraction of the way
# from that baseline to 1 that each layer keeps after a 0.5° shift:

for layer, table in curves.items():
    r, base = table["correlation"][-1], table["baseline"][0]
    print(f"{layer}: r at 0.5° = {r:.2f}, between different images = {base:.2f}, "
          f"kept = {(r - base) / (1 - base):.0%}")

# %%
# Recognition from C2 features
# ----------------------------
# Six shape classes at random positions, sizes, orientations and polarities in
# noise.  A linear decoder (L2 logistic regression) on the 60 C2 features,
# coded as ``-log C2`` (the squared distance to each prototype, which a linear
# classifier handles better than the exponentially compressed responses), is
# compared with the same decoder on the pixels (block-averaged to 16 × 16).

tiny = np.finfo(np.float32).tiny  # exp(-β·d²) can underflow to 0 for distant patches
c2_train = -np.log(np.maximum(model.responses(data.x_train, "C2"), tiny))
c2_test = -np.log(np.maximum(model.responses(data.x_test, "C2"), tiny))


def block_pixels(images):
    """4 × 4 block averages: (n, 64, 64) → (n, 256)."""
    return images.reshape(len(images), 16, 4, 16, 4).mean(axis=(2, 4)).reshape(len(images), -1)


results = {
    "C2": decode(c2_train, data.y_train, c2_test, data.y_test),
    "pixels": decode(block_pixels(data.x_train), data.y_train,
                     block_pixels(data.x_test), data.y_test),
}
print(f"{len(data.x_train)} training / {len(data.x_test)} test images, "
      f"classes {data.class_names}")
for name, evaluation in results.items():
    print(f"{name:7s} {evaluation}")
