"""
What a CNN's first layer learns
===============================

**Krizhevsky, Sutskever & Hinton (2012)**, *ImageNet classification with deep
convolutional neural networks*, NeurIPS, showed that the first layer of a
network trained on natural images learns frequency- and orientation-selective
kernels — Gabor-like, as Olshausen & Field (1996) had found for sparse codes of
natural images.  Are they V1-like in the quantitative sense of Jones & Palmer
(1987) and Ringach (2002)?

We take the small CNN shipped with the package (:func:`v1model.load_pretrained_cnn`,
trained on natural-image patches and shapes), fit a 2D Gabor to every conv1
kernel, place the kernels on Ringach's nx–ny plot, and measure the conv1
units' orientation tuning with the same protocol as the V1 model.
"""

import matplotlib.pyplot as plt
import numpy as np

from analysis import fit_gabors, orientation_tuning, plot_nx_ny, run_protocol
from stimuli import orientation_tuning as orientation_protocol
from v1model import load_pretrained_cnn

# %%
# The network and its conv1 kernels
# ---------------------------------
# The model answers the common interface on a 32 × 32 display at 16 pixels per
# degree; its training record is in ``model.meta``.

model = load_pretrained_cnn()
print(model)
print(f"test accuracy {model.meta['test_accuracy']:.3f}; reproduce with "
      f"`{model.meta['command']}`")
kernels = model.filters("conv1")[:, 0]            # (16, 9, 9): one input channel
ppd = model.display.pixels_per_degree

# %%
# Gabor fits
# ----------
# :func:`analysis.fit_gabors` fits each kernel (in degrees, y up); the fit
# succeeds when R² ≥ 0.5.

fits = fit_gabors(kernels, ppd)
fig, axes = plt.subplots(2, 8, figsize=(10, 3))
for ax, kernel, r2 in zip(axes.flat, kernels, fits["r2"], strict=True):
    lim = np.abs(kernel).max()
    ax.imshow(kernel, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"R² {r2:.2f}", fontsize=8)
    ax.axis("off")
fig.suptitle("conv1 kernels and the R² of their Gabor fits")
fig.tight_layout()
ok = fits["success"]
print(f"{ok.sum()} of {len(fits)} kernels are fitted well (R² ≥ 0.5); "
      f"median R² {np.median(fits['r2']):.2f}")

# %%
# On Ringach's plot
# -----------------
# Macaque simple cells cluster at nx, ny below about 0.5.  The kernels are
# only 9 × 9 pixels, so a kernel cannot hold an envelope much wider than that;
# the few that carry almost no modulation (sf near 0) have nx, ny near 0.

fig, ax = plt.subplots(figsize=(4.5, 4.5))
plot_nx_ny(fits["nx"][ok], fits["ny"][ok], ax=ax, label="CNN conv1 kernels")
fig.tight_layout()

# %%
# Orientation tuning of the conv1 units
# -------------------------------------
# The same orientation protocol as for the V1 model (12 orientations × 8 phases
# × 1, 2, 4 c/deg) through conv1, recording every channel at the centre.  ReLU
# units can be silent at some orientations; the table says which are
# ``responsive``.

recording = run_protocol(model, orientation_protocol(model.display), "conv1", progress=False)
table = orientation_tuning(recording)
responsive = table["responsive"]
fig, ax = plt.subplots(figsize=(5.2, 3.4))
points = ax.scatter(fits["nx"][responsive], table["circular_variance"][responsive],
                    c=fits["r2"][responsive], cmap="viridis", vmin=0, vmax=1)
fig.colorbar(points, ax=ax, label="R² of the Gabor fit")
ax.set_xlabel("nx of the kernel's Gabor fit (cycles across the bars)")
ax.set_ylabel("circular variance")
ax.set_title("conv1 units: orientation tuning against kernel shape")
fig.tight_layout()
print("median circular variance of conv1 units:",
      round(float(np.median(table["circular_variance"][responsive])), 2))

# %%
# Kernels with several cycles under the envelope are sharply tuned (low circular
# variance); blob-like kernels — a good Gabor fit with nx near 0, i.e. no
# carrier — and noisy ones (low R²) are not.  Unlike the V1 model, whose
# filters are Gabors by construction, training leaves a mixture.
