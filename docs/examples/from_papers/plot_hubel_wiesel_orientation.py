"""
Orientation tuning of simple and complex cells
==============================================

Reproduces the central observation of **Hubel & Wiesel (1962)**, *Receptive
fields, binocular interaction and functional architecture in the cat's visual
cortex*, J Physiol 160:106: cells in primary visual cortex respond to bars and
gratings of one orientation and hardly at all to the orthogonal one.  *Simple*
cells also care where the bars fall (the grating's spatial phase); *complex*
cells respond at every phase.

We show full-contrast gratings at 12 orientations × 8 phases × 3 spatial
frequencies (the layout Marques, Schrimpf & DiCarlo 2021 use for Brain-Score V1)
to :class:`v1model.V1Model`, record the units at the display centre, and plot
polar tuning curves.
"""

import matplotlib.pyplot as plt
import numpy as np

from analysis import orientation_tuning, plot_tuning_curve, run_protocol, tuning_curves
from stimuli import Display
from stimuli import orientation_tuning as orientation_protocol
from v1model import V1Model

# %%
# A small display and the model
# -----------------------------
# A 3° × 3° screen at 16 pixels per degree.  The default filter grid has 12
# orientations (15° steps) × 3 spatial frequencies (1, 2, 4 c/deg) × 4 phases;
# each complex cell is the energy of a quadrature pair of simple cells.

display = Display((48, 48), pixels_per_degree=16)
model = V1Model.grid(display, complex_kind="energy")
protocol = orientation_protocol(display)
print(model)
print(protocol)

# %%
# Run the protocol through both layers
# ------------------------------------
# ``units="centre"`` records every channel at the map position nearest the
# display centre.

simple = run_protocol(model, protocol, "simple", progress=False)
complex_ = run_protocol(model, protocol, "complex", progress=False)
print(simple.n_stimuli, "stimuli;", simple.n_units, "simple and",
      complex_.n_units, "complex units")

# %%
# Polar tuning curves
# -------------------
# One simple and one complex unit tuned to 2 c/deg and 45°.  Responses are
# averaged over phase; the orientation curve is drawn at θ and θ + 180°.


def unit_with(recording, **wanted):
    """Index of the first unit whose model parameters match ``wanted``."""
    match = np.ones(recording.n_units, dtype=bool)
    for key, value in wanted.items():
        match &= np.isclose(recording.unit_info[key], value)
    return int(np.flatnonzero(match)[0])


s_unit = unit_with(simple, orientation=45, sf=2, phase=0)
c_unit = unit_with(complex_, orientation=45, sf=2)
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), subplot_kw={"projection": "polar"})
plot_tuning_curve(simple, s_unit, polar=True, ax=axes[0])
plot_tuning_curve(complex_, c_unit, polar=True, ax=axes[1])
fig.tight_layout()

# %%
# Simple cells care about phase, complex cells do not
# ---------------------------------------------------
# At the preferred orientation and sf, the simple cell's response follows the
# grating's phase (half-wave rectified cosine); the energy complex cell's stays
# flat — Hubel & Wiesel's defining difference.

phases = np.unique(protocol.conditions["phase"])
best = ((protocol.conditions["orientation"] == 45) & (protocol.conditions["sf"] == 2))
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(phases, simple.responses[best, s_unit], "o-", label=f"simple (unit {s_unit})")
ax.plot(phases, complex_.responses[best, c_unit], "s-", label=f"complex (unit {c_unit})")
ax.set_xlabel("grating phase (deg)")
ax.set_ylabel("response (contrast units)")
ax.set_xticks(phases)
ax.legend()
fig.tight_layout()

# %%
# Every unit's preferred orientation matches its filter
# -----------------------------------------------------
# :func:`analysis.orientation_tuning` returns one row per unit with the vector-sum
# preferred orientation, circular variance and a von Mises fit, plus the
# model's own parameters as ``unit_<key>`` columns to check against.

table = orientation_tuning(complex_)
measured = table["preferred_orientation"]
built_in = table["unit_orientation"]
# orientation is circular (0° = 180°): plot each estimate on the turn nearest its filter's
measured = built_in + (measured - built_in + 90.0) % 180.0 - 90.0
fig, ax = plt.subplots(figsize=(4.2, 4))
for sf, marker, size in ((1.0, "o", 90), (2.0, "s", 40), (4.0, "^", 12)):
    at = table["unit_sf"] == sf
    ax.scatter(built_in[at], measured[at], marker=marker, s=size, label=f"{sf:g} c/deg")
ax.plot([0, 180], [0, 180], color="0.7", lw=0.8, zorder=0)
ax.set_xlabel("filter orientation (deg)")
ax.set_ylabel("measured preferred orientation (deg)")
ax.set_title("complex cells")
ax.legend(title="filter sf", fontsize=8)
fig.tight_layout()
print("median circular variance, complex cells:",
      round(float(np.median(table["circular_variance"])), 3))

# %%
# The same curves as numbers: :func:`analysis.tuning_curves` averages over phase
# and takes each unit's curve at its preferred sf.

values, mean, sem = tuning_curves(complex_)
print("orientations:", values)
print("complex unit", c_unit, "mean response:", np.round(mean[c_unit], 3))
