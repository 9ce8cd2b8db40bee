"""
Compare layers with CKA
=======================

How similar are two layers' representations of the same stimuli?  Linear
centred kernel alignment (CKA; **Kornblith, Norouzi, Lee & Hinton 2019**,
*Similarity of neural network representations revisited*, ICML) compares the
stimulus-by-stimulus similarity structure of two response matrices: it is 1 for
representations that differ only by a rotation or an overall scale, and it
works across layers with different numbers of units.  Representational
similarity analysis (Kriegeskorte, Mur & Bandettini 2008) asks a similar
question with rank correlations of dissimilarity matrices.

Here we compare the pixels, the V1 model's simple cells, its complex cells
built two ways (quadrature energy, max pooling) and with divisive
normalisation, HMAX's S1 and C1 stages (Serre et al. 2007) and the first two
layers of the package's trained CNN, all responding to the same natural-image
patches.
"""

import matplotlib.pyplot as plt
import numpy as np

from analysis import cka, cka_matrix, plot_cka_matrix, rsa
from stimuli import Display, random_patches
from v1model import HMAX, V1Model, load_pretrained_cnn

# %%
# Stimuli: natural-image patches
# ------------------------------
# 120 patches of 40 × 40 pixels from scikit-image's photographs and textures,
# each in contrast units (mean 0, peak 1).

display = Display((40, 40), pixels_per_degree=16)
patches = random_patches(120, display, rng=0, min_std=0.05)
fig, axes = plt.subplots(1, 6, figsize=(8, 1.6))
for ax, patch in zip(axes, patches[:6], strict=True):
    ax.imshow(patch, cmap="gray", vmin=-1, vmax=1)
    ax.axis("off")

# %%
# Responses of every layer
# ------------------------
# ``model.responses`` returns ``(n, channels, rows', cols')`` maps; CKA flattens
# everything after the stimulus axis, so every channel at every position counts
# as a unit.  The V1 maps are sampled every 4 pixels (``stride=4``), and so is
# HMAX's full-resolution S1; C1 has its own coarser grid.  The CNN's input is
# 32 × 32 pixels at the same 16 pixels per degree, so it sees the central 2° of
# each patch.

common = {"orientations": np.arange(0, 180, 30.0), "sfs": (1.0, 2.0, 4.0), "stride": 4}
energy = V1Model.grid(display, complex_kind="energy", **common)
pooled = V1Model.grid(display, complex_kind="max", **common)
normalized = V1Model.grid(display, complex_kind="energy", normalization=True, **common)
hmax = HMAX(display)
cnn = load_pretrained_cnn()
centre = patches[:, 4:36, 4:36]                    # the central 32 × 32 pixels
layers = {
    "pixels": patches,
    "simple": energy.responses(patches, "simple"),
    "complex (energy)": energy.responses(patches, "complex"),
    "complex (max)": pooled.responses(patches, "complex"),
    "complex (energy, normalised)": normalized.responses(patches, "complex"),
    "HMAX S1": hmax.responses(patches, "S1")[:, :, ::4, ::4],
    "HMAX C1": hmax.responses(patches, "C1"),
    "CNN conv1": cnn.responses(centre, "conv1")[:, :, ::4, ::4],
    "CNN conv2": cnn.responses(centre, "conv2")[:, :, ::2, ::2],
}
for name, responses in layers.items():
    print(f"{name:30s} {responses.shape}")

# %%
# The CKA matrix
# --------------

matrix = cka_matrix(layers)
fig, ax = plt.subplots(figsize=(7, 6))
plot_cka_matrix(matrix, list(layers), ax=ax)
fig.tight_layout()

# %%
# The two complex-cell constructions are close to each other and further from
# the simple cells they pool; the simple cells, linear filters followed by
# rectification, stay closest to the pixels.  HMAX's S1 — the absolute Gabor
# response divided by the local image energy — is closest to the normalised
# energy complex cells, and its max-pooled C1 moves further away from all of
# them.  The trained CNN's conv1 stays closest to the pixels — many of its
# kernels are blobs and broad, low-frequency filters (see the CNN example in
# the gallery) — while its conv2 resembles the V1 complex cells.
#
# CKA is unchanged by an orthogonal rotation and an overall rescaling of the
# units — which is why it can compare layers of different models — but not by
# giving the units unequal gains (here from 0.01 to 100):

X = layers["simple"].reshape(len(patches), -1)[:, :150]
rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(150, 150)))
gains = np.geomspace(0.01, 100, 150)
print("CKA(X, 3·X·Q)     =", round(cka(X, 3.0 * X @ rotation), 6))
print("CKA(X, X·diag(g)) =", round(cka(X, X * gains), 3))

# %%
# RSA gives a second opinion on the same pair of layers:

print("RSA simple vs complex (energy):",
      round(rsa(layers["simple"], layers["complex (energy)"]), 3))
