"""Response modulation and variability: F1/F0, PSTHs, Fano factor, lifetime sparseness.

:func:`modulation_ratio` handles both ways of measuring F1/F0:

- **static models** (no time axis): F0 and F1 from the Fourier transform of the
  responses over grating *phase* (Marques, Schrimpf & DiCarlo 2021, the Brain-Score
  V1 benchmarks);
- **temporal** recordings (a time axis, e.g. a spiking layer or a static model
  shown drifting gratings frame by frame): F0 and F1 from the PSTH at the
  condition's temporal frequency ``tf`` (Skottun et al. 1991, Vision Res 31:1079).

In both cases the ratio is taken at each unit's preferred condition (the other
condition columns: orientation or direction, sf, ...).  F1/F0 > 1 marks a simple
cell, < 1 a complex cell.
"""

from __future__ import annotations

import numpy as np

from analysis._peaks import first_peak
from analysis.recording import Recording
from stimuli._shared.validation import check_nonnegative
from stimuli.table import Table

__all__ = ["fano_factor", "lifetime_sparseness", "modulation_ratio", "psth"]

#: Columns that index repetitions of the same condition.
_REPEAT = ("repeat",)


def _groups(conditions: Table, exclude: tuple[str, ...]) -> tuple[Table, np.ndarray]:
    """Unique combinations of the columns not in ``exclude``.

    Returns the table of unique combinations (one row per group, in order of first
    appearance) and, for each row of ``conditions``, its group index.
    """
    names = [n for n in conditions.names if n not in exclude]
    n = len(conditions)
    if not names:
        return Table({}), np.zeros(n, dtype=np.intp)
    codes = np.stack([np.unique(np.asarray(conditions[k]), return_inverse=True)[1].ravel()
                      for k in names], axis=1)
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    # renumber groups in order of first appearance
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    inverse = rank[inverse]
    rows = first[order]
    return Table({k: np.asarray(conditions[k])[rows] for k in names}), inverse


def _group_mean(responses: np.ndarray, inverse: np.ndarray, n_groups: int) -> np.ndarray:
    counts = np.bincount(inverse, minlength=n_groups).astype(np.float64)
    out = np.zeros((n_groups,) + responses.shape[1:], dtype=np.float64)
    np.add.at(out, inverse, responses)
    return out / counts.reshape((-1,) + (1,) * (responses.ndim - 1))


def _ratio(f0: np.ndarray, f1: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """F1/F0 where F0 > 0; where F0 <= 0 (within rounding) ``inf`` if F1 > 0 else 0."""
    tol = 1e-12 * max(scale, 1e-300)
    positive = f0 > tol
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(positive, f1 / np.where(positive, f0, 1.0),
                         np.where(f1 > tol, np.inf, 0.0))
    return ratio, positive


def modulation_ratio(recording: Recording, *, discard: float = 0.0) -> Table:
    """F1/F0 per unit at its preferred condition, from phase (static) or time (temporal).

    Parameters
    ----------
    recording : Recording
        *Static* (no time axis): needs a ``phase`` column (degrees) sampled at
        ``k >= 3`` equally spaced phases covering the cycle (e.g. 0, 45, ..., 315) in
        every condition.  F0 is the mean response over phase and F1 the amplitude of
        the first harmonic, ``2 |Σ_k r_k e^{-i φ_k}| / k`` (Marques et al. 2021).
        *Temporal* (time axis, ``meta["time_step"]`` s per bin): needs a ``tf`` column
        (Hz).  F0 is the mean of the PSTH (repeats averaged) and F1 the amplitude at
        ``tf``, over the largest whole number of cycles after ``discard`` (Skottun
        et al. 1991).  Conditions with ``tf == 0`` are skipped.
        Other columns (orientation, direction, sf, contrast, ...) define the
        conditions; ``repeat`` rows are averaged.
    discard : float
        Seconds dropped from the start of each response (onset transient); temporal
        recordings only.

    Returns
    -------
    Table
        One row per unit: ``unit``, ``f0``, ``f1``, ``modulation_ratio``,
        ``f0_positive`` and ``simple`` (ratio > 1), then ``preferred_<column>`` for
        each condition column of the preferred condition — the one with the largest
        ``F0 + F1`` (the peak of the response's fundamental; this works for
        rectified and linear units).  Where F0 <= 0 (e.g. a silent unit, or a linear
        unit whose response averages to zero) the ratio is not F1/F0: it is ``inf``
        when F1 > 0 and 0 when F1 = 0, and ``f0_positive`` is False.

    Raises
    ------
    ValueError
        If the needed column is missing, phases are not equally spaced over the cycle,
        a time window holds less than one cycle, ``tf`` is above the Nyquist
        frequency, or ``discard`` is negative or too long.

    Examples
    --------
    A response ``2 + 3 cos(phase)`` has F0 = 2 and F1 = 3, so F1/F0 = 1.5 (simple):

    >>> phase = np.arange(0, 360, 45.0)
    >>> r = (2 + 3 * np.cos(np.deg2rad(phase)))[:, None]
    >>> tab = modulation_ratio(Recording({"phase": phase}, r))
    >>> round(float(tab["modulation_ratio"][0]), 6), bool(tab["simple"][0])
    (1.5, True)
    """
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be a Recording, got {type(recording).__name__}")
    discard = check_nonnegative("discard", discard)
    if recording.has_time:
        f0, f1, groups = _temporal_f0_f1(recording, discard)
    else:
        if discard:
            raise ValueError("discard applies to recordings with a time axis only")
        f0, f1, groups = _phase_f0_f1(recording)
    # preferred condition: the largest F0 + F1 (the first within a relative 1e-4)
    best = first_peak(f0 + f1, axis=0)
    units = np.arange(recording.n_units)
    f0u, f1u = f0[best, units], f1[best, units]
    ratio, positive = _ratio(f0u, f1u, float(np.abs(recording.responses).max()))
    cols = {"unit": units, "f0": f0u, "f1": f1u, "modulation_ratio": ratio,
            "f0_positive": positive, "simple": ratio > 1.0}
    for name in groups.names:
        cols[f"preferred_{name}"] = np.asarray(groups[name])[best]
    return Table(cols)


def _phase_f0_f1(recording: Recording):
    cond = recording.conditions
    if "phase" not in cond.names:
        raise ValueError(
            "a static recording (no time axis) needs a 'phase' condition column for F1/F0; "
            f"columns are {', '.join(cond.names) or '(none)'}"
        )
    phase = np.asarray(cond["phase"], dtype=np.float64) % 360.0
    groups, inverse = _groups(cond, exclude=("phase",) + _REPEAT)
    resp = np.asarray(recording.responses, dtype=np.float64)
    n_groups = len(groups) if groups.names else 1
    f0 = np.empty((n_groups, recording.n_units))
    f1 = np.empty_like(f0)
    for g in range(n_groups):
        rows = inverse == g
        levels, at = np.unique(phase[rows], return_inverse=True)
        k = levels.size
        step = 360.0 / k
        if k < 3 or not np.allclose(np.diff(np.r_[levels, levels[0] + 360.0]), step, atol=1e-6):
            raise ValueError(
                f"phases must be >= 3 values equally spaced over 360 deg in every condition; "
                f"condition {g} has {np.round(levels, 3).tolist()}"
            )
        curve = _group_mean(resp[rows], at.ravel(), k)               # (k, units)
        f0[g] = curve.mean(axis=0)
        f1[g] = 2.0 * np.abs(np.exp(-1j * np.deg2rad(levels)) @ curve) / k
    return f0, f1, groups


def _temporal_f0_f1(recording: Recording, discard: float):
    cond = recording.conditions
    if "tf" not in cond.names:
        raise ValueError(
            "a recording with a time axis needs a 'tf' (Hz) condition column for F1/F0; "
            f"columns are {', '.join(cond.names) or '(none)'}"
        )
    dt = float(recording.meta["time_step"])
    start = int(round(discard / dt))
    n_time = recording.n_time
    if start >= n_time:
        raise ValueError(f"discard = {discard} s leaves no time bins "
                         f"(response lasts {n_time * dt:g} s)")
    groups, inverse = _groups(cond, exclude=_REPEAT)
    n_groups = len(groups)
    psths = _group_mean(np.asarray(recording.responses, dtype=np.float64), inverse, n_groups)
    tf = np.asarray(groups["tf"], dtype=np.float64)
    valid = tf > 0
    if not np.any(valid):
        raise ValueError("every condition has tf = 0: F1 at the temporal frequency is undefined")
    if np.any(tf > 0.5 / dt):
        raise ValueError(f"tf up to {tf.max():g} Hz exceeds the Nyquist frequency "
                         f"{0.5 / dt:g} Hz of time_step {dt:g} s")
    f0 = np.full((n_groups, recording.n_units), -np.inf)
    f1 = np.zeros_like(f0)
    for g in np.flatnonzero(valid):
        period_bins = 1.0 / (tf[g] * dt)
        n_cycles = int(np.floor((n_time - start) / period_bins + 1e-9))
        if n_cycles < 1:
            raise ValueError(
                f"condition {g} (tf = {tf[g]:g} Hz) needs at least one cycle "
                f"({1 / tf[g]:g} s) after discard; the response has {(n_time - start) * dt:g} s"
            )
        stop = start + int(round(n_cycles * period_bins))
        trace = psths[g][:, start:stop]                              # (units, bins)
        t = np.arange(trace.shape[1]) * dt
        f0[g] = trace.mean(axis=1)
        f1[g] = 2.0 * np.abs(trace @ np.exp(-2j * np.pi * tf[g] * t)) / trace.shape[1]
    # tf = 0 conditions never win the preferred-condition vote: F0 + F1 = -inf there
    return f0, f1, groups


def psth(recording: Recording) -> Recording:
    """Average the responses over repeats: one row per distinct condition.

    Parameters
    ----------
    recording : Recording
        Any recording; rows that differ only in ``repeat`` are averaged.  With a time
        axis the result is the peri-stimulus time histogram per condition and unit.

    Returns
    -------
    Recording
        Conditions without the ``repeat`` column, in order of first appearance;
        responses ``(n_conditions, n_units[, n_time])`` float64; same ``unit_info`` and
        ``meta`` (``time_step`` kept).

    Raises
    ------
    TypeError
        If ``recording`` is not a Recording.

    Examples
    --------
    >>> rec = Recording({"tf": [2.0, 2.0, 4.0], "repeat": [0, 1, 0]},
    ...                 np.arange(12.0).reshape(3, 1, 4), meta={"time_step": 0.01})
    >>> out = psth(rec)
    >>> out.conditions.names, out.responses[0, 0].tolist()
    (('tf',), [2.0, 3.0, 4.0, 5.0])
    """
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be a Recording, got {type(recording).__name__}")
    groups, inverse = _groups(recording.conditions, exclude=_REPEAT)
    n_groups = len(groups) if groups.names else 1
    means = _group_mean(np.asarray(recording.responses, dtype=np.float64), inverse, n_groups)
    conditions = groups if groups.names else Table({"condition": np.zeros(1, dtype=int)})
    return Recording(conditions, means, recording.unit_info, recording.meta)


def fano_factor(recording: Recording) -> Table:
    """Fano factor (variance / mean of the response over repeats) per condition and unit.

    Parameters
    ----------
    recording : Recording
        Needs a ``repeat`` column with at least 2 repeats of every condition.  With a
        time axis the responses are summed over time first (spike counts per bin give
        the count in the window).

    Returns
    -------
    Table
        One row per (condition, unit), conditions outer: the condition columns,
        ``unit``, ``mean``, ``variance`` (unbiased, ``ddof=1``), ``fano`` and
        ``defined`` (mean > 0).  Where the mean is 0 the Fano factor is undefined:
        ``fano`` is NaN and ``defined`` False.

    Raises
    ------
    ValueError
        If there is no ``repeat`` column or a condition has fewer than 2 repeats.

    Examples
    --------
    >>> rec = Recording({"sf": [1.0, 1.0, 1.0], "repeat": [0, 1, 2]}, [[2.0], [4.0], [6.0]])
    >>> fano_factor(rec).row(0)
    {'sf': 1.0, 'unit': 0, 'mean': 4.0, 'variance': 4.0, 'fano': 1.0, 'defined': True}
    """
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be a Recording, got {type(recording).__name__}")
    if "repeat" not in recording.conditions.names:
        raise ValueError("fano_factor needs a 'repeat' condition column")
    groups, inverse = _groups(recording.conditions, exclude=_REPEAT)
    n_groups = len(groups) if groups.names else 1
    counts = np.bincount(inverse, minlength=n_groups)
    if counts.min() < 2:
        raise ValueError(f"every condition needs >= 2 repeats; condition "
                         f"{int(np.argmin(counts))} has {int(counts.min())}")
    resp = np.asarray(recording.responses, dtype=np.float64)
    if resp.ndim == 3:
        resp = resp.sum(axis=2)
    mean = _group_mean(resp, inverse, n_groups)
    sq = _group_mean((resp - mean[inverse]) ** 2, inverse, n_groups)
    var = sq * (counts / (counts - 1.0))[:, None]
    defined = mean > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        fano = np.where(defined, var / np.where(defined, mean, 1.0), np.nan)
    n_units = recording.n_units
    cols = {k: np.repeat(np.asarray(groups[k]), n_units) for k in groups.names}
    cols.update(unit=np.tile(np.arange(n_units), n_groups), mean=mean.ravel(),
                variance=var.ravel(), fano=fano.ravel(), defined=defined.ravel())
    return Table(cols)


def lifetime_sparseness(recording: Recording) -> Table:
    """Lifetime sparseness of each unit across the stimuli (Allen Brain Observatory formula).

    ``S = (1 − (Σ R)² / (N Σ R²)) / (1 − 1/N)`` over the ``N`` distinct conditions,
    with ``R`` the repeat- and time-averaged response (Vinje & Gallant 2000 form): 0
    for a unit that responds equally to everything, 1 for one that responds to a
    single stimulus.

    Parameters
    ----------
    recording : Recording
        Responses must be non-negative (rates, counts, rectified activations);
        at least 2 distinct conditions.

    Returns
    -------
    Table
        ``unit``, ``sparseness`` in [0, 1] and ``defined`` (False for a unit that never
        responds, where ``sparseness`` is NaN).

    Raises
    ------
    ValueError
        If a response is negative or there are fewer than 2 conditions.

    Examples
    --------
    >>> rec = Recording({"sf": [1.0, 2.0, 4.0]}, [[1.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    >>> lifetime_sparseness(rec)["sparseness"].tolist()
    [1.0, 0.0]
    """
    if not isinstance(recording, Recording):
        raise TypeError(f"recording must be a Recording, got {type(recording).__name__}")
    if np.any(recording.responses < 0):
        raise ValueError(
            f"lifetime_sparseness needs non-negative responses, got minimum "
            f"{float(recording.responses.min()):g}; rectify (e.g. np.maximum(r, 0)) or use rates"
        )
    averaged = psth(recording).rates()
    n = averaged.shape[0]
    if n < 2:
        raise ValueError(f"lifetime sparseness needs >= 2 distinct conditions, got {n}")
    total = averaged.sum(axis=0)
    square = (averaged ** 2).sum(axis=0)
    defined = square > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(defined, (1.0 - total**2 / (n * np.where(defined, square, 1.0)))
                     / (1.0 - 1.0 / n), np.nan)
    # rounding can give -1e-16 for a flat unit
    s = np.where(defined, np.clip(s, 0.0, 1.0), np.nan)
    return Table({"unit": np.arange(averaged.shape[1]), "sparseness": s, "defined": defined})
