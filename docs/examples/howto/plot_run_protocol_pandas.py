"""
Run a protocol and export the results to pandas
===============================================

The everyday loop: make a display, pick a protocol, run it through a model
layer, save the :class:`analysis.Recording`, and turn condition tables,
responses and per-unit metrics into :mod:`pandas` DataFrames (and CSV) for
your own analysis.  The spatial-frequency protocol follows Marques, Schrimpf &
DiCarlo (2021, Brain-Score V1): gratings at log2-spaced frequencies from
0.39 c/deg up to the display's Nyquist limit.
"""

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis import Recording, plot_tuning_curve, run_protocol, sf_tuning
from stimuli import Display
from stimuli import sf_tuning as sf_protocol
from v1model import V1Model

# %%
# A protocol is a condition table plus a way to render each row
# --------------------------------------------------------------
# Its repr shows every default actually used.  Stimuli are rendered lazily,
# batch by batch, so large protocols never sit in memory.

display = Display((32, 32), pixels_per_degree=16)
protocol = sf_protocol(display, orientations=(0.0, 90.0))
print(protocol)
print(len(protocol), "stimuli; columns:", protocol.conditions.names)

# %%
# The condition table as a DataFrame (one row per stimulus; degrees, c/deg):

protocol.conditions.to_pandas().head()

# %%
# Any stimulus can be regenerated alone.  (The highest frequencies, close to the
# display's Nyquist limit of 8 c/deg, are coarsely sampled: read the top of a
# tuning curve with care, or use more pixels per degree.)

rows = [0, len(protocol) // 2 + 3, len(protocol) - 1]
fig, axes = plt.subplots(1, len(rows), figsize=(7, 2.5))
for ax, i, image in zip(axes, rows, protocol.stimuli(rows), strict=True):
    row = protocol.conditions.row(i)
    ax.imshow(image, cmap="gray", vmin=-1, vmax=1)
    ax.set_title(f"sf {row['sf']:.2f} c/deg, θ {row['orientation']:g}°, "
                 f"φ {row['phase']:g}°", fontsize=7)
    ax.axis("off")

# %%
# Run it
# ------
# Any model with the common interface works.  ``units="centre"`` keeps every
# channel at the map position nearest the display centre.  An optional
# :class:`concurrent.futures.Executor` spreads the batches (threads here; a
# process pool or ``dask.distributed`` client the same way); the recording is
# identical to the serial one.

model = V1Model.grid(display, sfs=(1.0, 2.0, 4.0), orientations=(0.0, 90.0))
with ThreadPoolExecutor(max_workers=2) as pool:
    recording = run_protocol(model, protocol, "complex", batch_size=32, progress=False,
                             executor=pool)
print(recording.responses.shape, recording.meta["model"], recording.meta["layer"])
recording.unit_info.keys()

# %%
# Save and load
# -------------
# One ``.npz`` file, written atomically, read without pickle; the round trip is
# exact.

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "sf_complex.npz"
    recording.save(path)
    again = Recording.load(path)
print("identical after reload:", np.array_equal(again.responses, recording.responses),
      again.meta["protocol_params"]["orientations"])

# %%
# Long-form ("tidy") responses
# ----------------------------
# One row per stimulus × unit: the condition columns, the unit's own parameters
# and its response — the shape that ``groupby``, seaborn and statistics packages
# expect.

n_stimuli, n_units = recording.responses.shape
tidy = pd.DataFrame({
    "stimulus": np.repeat(np.arange(n_stimuli), n_units),
    "unit": np.tile(np.arange(n_units), n_stimuli),
    "response": recording.responses.ravel(),          # stimulus-major, like the array
})
tidy = tidy.join(recording.conditions.to_pandas(), on="stimulus")
for key in ("orientation", "sf"):
    tidy[f"unit_{key}"] = recording.unit_info[key][tidy["unit"]]
tidy.head()

# %%
# Averaging over phase with pandas gives the tuning curves:

curves = tidy.groupby(["unit", "unit_orientation", "unit_sf", "orientation", "sf"],
                      as_index=False)["response"].mean()
curves.query("unit == 2 and orientation == 0").head(8)

# %%
# Per-unit metrics
# ----------------
# The analysis functions return a :class:`stimuli.Table` — one row per unit —
# that converts the same way and writes CSV or JSON directly
# (``table.to_csv(path)``).

table = sf_tuning(recording)
table.to_pandas()[["unit", "unit_sf", "peak_sf", "bandwidth_octaves", "low_pass", "r2"]]

# %%
plot_tuning_curve(recording, unit=2, by="sf", show_fit=True)
