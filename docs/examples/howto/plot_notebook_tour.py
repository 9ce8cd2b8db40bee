"""
A recording in a notebook: views, a tuning curve, xarray and NWB
================================================================

What a notebook shows at each step of the everyday loop: the protocol, the
recording and the tuning table display as compact tables with units (their
``_repr_html_``), the recording becomes an :mod:`xarray` DataArray in the
presentation × neuroid layout of Brain-Score's assemblies (Schrimpf et al. 2018,
bioRxiv 407007), and an NWB file (Rübel et al. 2022, eLife 11:e78362) that
physiologists' tools open.  The orientation protocol follows Marques, Schrimpf &
DiCarlo (2021): full-contrast gratings at 15° steps and several phases.
"""

import os
import tempfile

import matplotlib.pyplot as plt

from analysis import orientation_tuning, plot_tuning_curve, run_protocol
from stimuli import Display
from stimuli import orientation_tuning as orientation_protocol
from v1model import V1Model
from v1model.cnn import load_pretrained_cnn

# %%
# A protocol shows its parameters and the first rows of its condition table,
# with the unit of each standard column:

display = Display((32, 32), pixels_per_degree=16)
protocol = orientation_protocol(display, sfs=(2.0,), phases=(0.0, 90.0, 180.0, 270.0))
protocol

# %%
# A model shows its layers, how many units or channels each has, its map and
# what is known about the units (this one is the shipped CNN):

load_pretrained_cnn()

# %%
# A recording shows where it came from, its shapes and both of its tables:

model = V1Model.grid(display, orientations=[0.0, 45.0, 90.0, 135.0], sfs=[2.0])
recording = run_protocol(model, protocol, "complex", progress=False)
recording

# %%
# Per-unit tuning properties are a table too:

tuning = orientation_tuning(recording)
tuning

# %%
# One unit's orientation tuning curve; the function draws on the Axes it is
# given and returns it.

fig, ax = plt.subplots(figsize=(4, 3))
plot_tuning_curve(recording, unit=1, show_fit=True, ax=ax)
fig.tight_layout()

# %%
# xarray: presentation × neuroid
# ------------------------------
# Condition columns become coordinates along ``presentation`` and the unit
# metadata coordinates along ``neuroid`` (prefixed ``unit_``), so selections
# read like the protocol.  ``Recording.from_xarray`` gives the recording back
# exactly.

assembly = recording.to_xarray()
assembly

# %%
# The mean response of each unit to each orientation, averaged over phase:

assembly.groupby("orientation").mean("presentation").round(3)

# %%
# Tuning tables have ``to_xarray`` too, along the same ``neuroid`` dimension:

tuning.to_xarray(dim="neuroid")

# %%
# NWB
# ---
# ``write_nwb`` puts the conditions in the trials table, the unit metadata in
# the units table and the responses in a TimeSeries (pynwb is the optional
# extra ``v1model[nwb]``); ``read_nwb`` reads it back exactly.

try:
    from analysis import read_nwb, write_nwb

    path = os.path.join(tempfile.mkdtemp(), "v1-complex.nwb")
    write_nwb(recording, path)
    print(read_nwb(path))
except ImportError as exc:  # the docs build may lack the extra
    print(exc)

# %%
# Compare a user model
# --------------------
# Any model object — here the small V1 model above, standing in for your own
# network — goes through the battery of ``v1model compare`` with
# :func:`v1model.app.compare_models`, which writes the same report and returns
# the summary (see :doc:`plot_compare_your_model` for a model written from
# scratch and a PyTorch network).  Its display must have the battery's pixels
# per degree and be no larger than its display (40 × 40 px at 16 px/deg for the
# quick battery); this one is 32 × 32 at 16.

from v1model.app import compare_models

summary = compare_models({"my_model": model}, tempfile.mkdtemp(), quick=True,
                         layers=["simple"])
row = summary["models"]["my_model"]["layers"]["simple"]
# Brain-Score-style ceiled scores (None where a property has no reference or no unit)
{name: None if score is None or score.get("ceiled") is None else round(score["ceiled"], 2)
 for name, score in row["similarity_to_macaque"].items()}
