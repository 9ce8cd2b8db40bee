"""Figures of the analysis: tuning curves, property histograms, receptive fields.

Every single-plot function takes ``ax=None`` (or a figure), draws on it and returns it.

- :mod:`analysis.figures.tuning` — tuning curves, tuning grids, property histograms;
- :mod:`analysis.figures.receptive_fields` — RF mosaics, Gabor fits, Ringach's (nx, ny);
- :mod:`analysis.figures.representations` — tolerance curves and CKA matrices;
- :mod:`analysis.figures.panels` — the multi-panel figures of a model comparison.
"""
