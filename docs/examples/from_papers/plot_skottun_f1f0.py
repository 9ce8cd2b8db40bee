"""
Simple or complex? The modulation ratio F1/F0
=============================================

Reproduces the classification of **Skottun, De Valois, Grosof, Movshon,
Albrecht & Bonds (1991)**, *Classifying simple and complex cells on the basis of
response modulation*, Vision Res 31:1079.  A drifting grating makes a simple
cell fire in bursts at the grating's temporal frequency (large first harmonic
F1), while a complex cell raises its mean rate (F0) with little modulation.  The
ratio F1/F0 is bimodal across V1: above 1 for simple cells, below 1 for complex
cells.

We measure it on :class:`v1model.V1Model` cells built on a population sampled
from macaque data, two ways:

* from static gratings at 8 phases — F0 and F1 are the mean and first Fourier
  harmonic over phase (the Brain-Score V1 method of Marques et al. 2021);
* from drifting gratings shown frame by frame — F0 and F1 from the response
  over time at the temporal frequency, as Skottun et al. did;

and then on spike trains, from :class:`v1model.SpikingV1`'s integrate-and-fire
simple and complex cells.
"""

import matplotlib.pyplot as plt
import numpy as np

from analysis import modulation_ratio, run_protocol
from stimuli import Display, drifting_gratings
from stimuli import orientation_tuning as orientation_protocol
from v1model import SpikingV1, V1Model, sample_population

# %%
# Four kinds of cells on one population
# -------------------------------------
# 40 units sampled from macaque distributions (De Valois et al. 1982; Ringach
# 2002), keeping those below 6 c/deg so they are well sampled on a display at 16
# pixels per degree.  Each unit gives a simple cell (a half-wave rectified
# Gabor, optionally with a threshold), and a complex cell made either as the
# energy of a quadrature pair or as the maximum of rectified simple cells over
# phase and position.

display = Display((32, 32), pixels_per_degree=16, frame_rate=30)
population = sample_population(80, source="macaque", rng=3)
population = population.take(np.flatnonzero(population["sf"] < 6)[:40])
energy_model = V1Model.from_population(display, population, complex_kind="energy")
threshold_model = V1Model.from_population(display, population,
                                          simple_nonlinearity={"threshold": 0.3})
max_model = V1Model.from_population(display, population, complex_kind="max")
cells = {
    "simple": (energy_model, "simple"),
    "simple, threshold 0.3": (threshold_model, "simple"),
    "complex (energy)": (energy_model, "complex"),
    "complex (max pooling)": (max_model, "complex"),
}

# %%
# F1/F0 over phase, from static gratings
# --------------------------------------
# 6 orientations × 8 phases × 3 spatial frequencies.  For every unit the ratio
# is taken at its preferred orientation and sf.

static = orientation_protocol(display, orientations=np.arange(0, 180, 30.0))
by_phase = {name: modulation_ratio(run_protocol(model, static, layer, progress=False))
            for name, (model, layer) in cells.items()}

# %%
# F1/F0 over time, from drifting gratings
# ---------------------------------------
# 8 directions at 2 c/deg drifting at 2 Hz for 1 s (30 frames).  The V1 model
# is static, so :func:`analysis.run_protocol` shows the movies frame by frame
# and the recording gains a time axis (``meta["time_step"]`` = 1/30 s).

drifting = drifting_gratings(display, directions=np.arange(0, 360, 45.0), tfs=(2.0,),
                             sf=2.0, duration=1.0)
print(drifting)
by_time = {}
for name, (model, layer) in cells.items():
    recording = run_protocol(model, drifting, layer, progress=False)
    by_time[name] = modulation_ratio(recording)
print("recording with a time axis:", recording.responses.shape,
      f"time step {recording.meta['time_step']:.4f} s")

# %%
# The distributions
# -----------------
# Simple cells sit near π/2 — the F1/F0 of a half-wave rectified sinusoid — and
# a threshold pushes them towards 2, the value for a narrow pulse of response
# per cycle; complex cells sit near 0.  The two classes fall on either side of
# Skottun's boundary at 1.  (Units that never respond above threshold to the
# 2 c/deg drifting grating have no F0 and are left out.)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
jitter = np.random.default_rng(0).uniform(-0.15, 0.15, size=len(population))
for ax, (method, tables) in zip(axes, (("phase (static gratings)", by_phase),
                                      ("time (drifting gratings)", by_time)), strict=True):
    for row, table in enumerate(tables.values()):
        ok = table["f0_positive"]
        ax.scatter(table["modulation_ratio"][ok], row + jitter[ok], s=10)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set_xlim(-0.1, 2.1)
    ax.set_xlabel(f"F1/F0 over {method.split()[0]}")
    ax.set_title(method)
axes[0].set_yticks(range(len(cells)), list(cells))
fig.tight_layout()

# %%
# The fraction of responsive units classed as simple (F1/F0 > 1) by each
# method:

for name in cells:
    summary = []
    for method, tables in (("phase", by_phase), ("time", by_time)):
        table = tables[name]
        ok = table["f0_positive"]
        summary.append(f"by {method}: {table['simple'][ok].mean():4.0%} of {ok.sum()}")
    print(f"{name:22s}", "   ".join(summary))

# %%
# Spiking neurons
# ---------------
# :class:`v1model.SpikingV1` turns the same Gabor drive into leaky
# integrate-and-fire simple cells with background synaptic noise, and wires
# each complex cell to the simple cells of all four phases of its orientation
# near its position (Hubel & Wiesel 1962).  Each phase fires at a different
# moment of the grating's cycle, so the complex cell's discharge is smooth.
# Here: 4 orientations × 4 phases at 2 c/deg on a 3 × 3 grid of receptive-field
# positions, and 2 s gratings; F0 and F1 come from the spike counts in
# 1/30 s bins after dropping the first 0.25 s (the onset transient).

positions = [(x, y) for y in (0.4, 0.0, -0.4) for x in (-0.4, 0.0, 0.4)]
spiking = SpikingV1(display, v1={"population": "grid", "orientations": [0, 45, 90, 135],
                                 "sfs": [2.0]},
                    positions=positions, rng=0)
print(spiking)
long_drifting = drifting_gratings(display, directions=np.arange(0, 360, 45.0), tfs=(2.0,),
                                  sf=2.0, duration=2.0)
spike_recordings = {layer: run_protocol(spiking, long_drifting, layer, progress=False)
                    for layer in spiking.layers}
by_spikes = {layer: modulation_ratio(recording, discard=0.25)
             for layer, recording in spike_recordings.items()}

# %%
# With noise the two classes become two broad modes, as in Skottun et al.'s
# Fig. 1, still separated at F1/F0 = 1.  On the right, the cycle histogram of
# the most active simple and complex neuron: the spike rate at its preferred
# direction, folded over the four 0.5 s cycles of the grating.

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
bins = np.linspace(0, 2, 21)
axes[0].hist([by_spikes["simple"]["modulation_ratio"], by_spikes["complex"]["modulation_ratio"]],
             bins=bins, stacked=True, label=[f"{layer} ({by_spikes[layer]['unit'].size})"
                                             for layer in spiking.layers])
axes[0].axvline(1.0, color="k", ls="--", lw=1)
axes[0].set_xlabel("F1/F0 of spike trains")
axes[0].set_ylabel("neurons")
axes[0].legend()
for layer, recording in spike_recordings.items():
    table = by_spikes[layer]
    unit = int(np.argmax(table["f0"]))                 # the most active neuron
    best = recording.conditions["direction"] == table["preferred_direction"][unit]
    step = recording.meta["time_step"]                 # seconds per bin
    per_cycle = round(1 / (2.0 * step))                # bins per cycle at 2 Hz
    counts = recording.responses[best, unit].mean(axis=0)
    cycles = counts[: counts.size // per_cycle * per_cycle].reshape(-1, per_cycle)
    rate = cycles.mean(axis=0) / step                  # spikes/s
    phase = np.arange(per_cycle) * 360.0 / per_cycle
    axes[1].step(phase, rate, where="post",
                 label=f"{layer}: F1/F0 = {table['modulation_ratio'][unit]:.2f}")
axes[1].set_xlabel("phase of the grating cycle (deg)")
axes[1].set_ylabel("spikes/s")
axes[1].set_xticks(range(0, 361, 90))
axes[1].legend(fontsize=8)
fig.tight_layout()

for layer, table in by_spikes.items():
    rates = table["f0"] / spike_recordings[layer].meta["time_step"]
    print(f"{layer:8s} median F1/F0 {np.median(table['modulation_ratio']):.2f}, "
          f"simple by F1/F0 > 1: {table['simple'].mean():.0%}, "
          f"median rate {np.median(rates):.0f} spikes/s")
