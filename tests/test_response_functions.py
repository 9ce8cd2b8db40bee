"""Naka–Rushton contrast response and size tuning (GSF, SSI)."""

import numpy as np
import pytest

from analysis.recording import Recording
from analysis.response_functions import (
    contrast_response,
    fit_naka_rushton,
    naka_rushton,
    size_tuning,
)

CONTRASTS = np.array([0.0, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0])


@pytest.mark.parametrize(
    "params",
    [
        dict(c50=0.1, n=2.0, r_max=30.0, baseline=2.0),
        dict(c50=0.3, n=1.2, r_max=1.0, baseline=0.0),
        dict(c50=0.05, n=4.0, r_max=5.0, baseline=-1.0),
    ],
    ids=["typical", "shallow", "steep-low-c50"],
)
def test_naka_rushton_recovers_known_parameters(params):
    fit = fit_naka_rushton(CONTRASTS, naka_rushton(CONTRASTS, **params))
    assert fit.success and fit.r2 == pytest.approx(1.0, abs=1e-9)
    for name, value in params.items():
        assert getattr(fit, name) == pytest.approx(value, rel=1e-4, abs=1e-6), name


def test_naka_rushton_with_noise_and_repeats():
    rng = np.random.default_rng(0)
    c = np.repeat(CONTRASTS, 10)
    r = naka_rushton(c, c50=0.15, n=2.5, r_max=20, baseline=1) + rng.normal(0, 0.5, c.size)
    fit = fit_naka_rushton(c, r)
    assert fit.success and fit.r2 > 0.95
    assert fit.c50 == pytest.approx(0.15, rel=0.1)
    assert fit.n == pytest.approx(2.5, rel=0.25)
    assert fit.r_max == pytest.approx(20, rel=0.05)


def test_naka_rushton_values_by_hand():
    # at c = c50 the response is half way; at c = 0 it is the baseline
    r = naka_rushton([0.0, 0.2, 0.4], c50=0.2, n=2, r_max=10, baseline=1)
    np.testing.assert_allclose(r, [1.0, 6.0, 1 + 10 * 0.16 / (0.16 + 0.04)])


@pytest.mark.parametrize(
    ("contrasts", "responses", "message"),
    [
        (CONTRASTS, np.full(8, 3.0), "flat"),
        (np.array([0.0, 0.5, 1.0, 1.0]), np.array([0.0, 1.0, 2.0, 2.0]), "3 distinct"),
        (CONTRASTS, np.random.default_rng(1).normal(size=8), None),
    ],
    ids=["flat", "too-few-contrasts", "noise"],
)
def test_naka_rushton_failures_are_flagged(contrasts, responses, message):
    fit = fit_naka_rushton(contrasts, responses, min_r2=0.9)
    assert not fit.success
    if message:
        assert message in fit.message and np.isnan(fit.r2)
    else:
        assert np.isfinite(fit.r2) and fit.r2 < 0.9


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: fit_naka_rushton(CONTRASTS, np.ones(7)), "same length, got 8 contrasts and 7"),
        (lambda: fit_naka_rushton(CONTRASTS, np.r_[np.ones(7), np.nan]),
         "responses must be finite"),
        (lambda: fit_naka_rushton(CONTRASTS * 2, np.ones(8)), r"contrasts must be in \[0, 1\]"),
        (lambda: naka_rushton([0.1], c50=0, n=2, r_max=1), "c50 must be in"),
    ],
    ids=["mismatch", "nan", "contrast>1", "c50=0"],
)
def test_naka_rushton_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_contrast_response_recording_averages_phase_and_repeats():
    c = np.repeat(CONTRASTS, 8)
    phase = np.tile(np.arange(0, 360, 45.0), 8)
    base = naka_rushton(c, c50=0.2, n=2, r_max=10)
    unit0 = base * (1 + np.cos(np.deg2rad(phase)))       # mean over phase = base
    unit1 = 2 * base
    rec = Recording({"contrast": c, "phase": phase, "orientation": np.zeros(c.size)},
                    np.stack([unit0, unit1], axis=1))
    tab = contrast_response(rec)
    np.testing.assert_allclose(tab["c50"], [0.2, 0.2], rtol=1e-4)
    np.testing.assert_allclose(tab["r_max"], [10.0, 20.0], rtol=1e-4)
    assert tab["success"].all()
    # the best phase of a simple cell doubles its response
    assert contrast_response(rec, reduce="max")["r_max"][0] == pytest.approx(20.0, rel=1e-4)


def test_contrast_response_refuses_mixed_conditions():
    c = np.tile(CONTRASTS, 2)
    rec = Recording({"contrast": c, "orientation": np.repeat([0.0, 90.0], 8)}, np.ones((16, 1)))
    with pytest.raises(ValueError, match="'orientation' varies"):
        contrast_response(rec)
    with pytest.raises(ValueError, match="no 'contrast' condition column"):
        contrast_response(Recording({"sf": CONTRASTS}, np.ones((8, 1))))


def size_recording(curves, radius):
    return Recording({"radius": radius}, np.asarray(curves, dtype=float))


RADII = np.array([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, np.inf])


def test_size_tuning_ssi_and_gsf_by_hand():
    suppressed = [1.0, 3.0, 6.0, 8.0, 5.0, 4.0, 4.0]       # SSI = (8 - 4)/8
    summing = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]          # still growing: SSI 0
    flat = [2.0] * 7                                       # first radius at the max
    silent = [0.0] * 7
    tab = size_tuning(size_recording(np.stack([suppressed, summing, flat, silent], 1), RADII))
    assert tab["gsf_radius"][:3].tolist() == [0.8, np.inf, 0.1]
    assert tab["gsf_diameter"][0] == 1.6
    np.testing.assert_allclose(tab["ssi"][:3], [0.5, 0.0, 0.0])
    assert tab["peak_at_largest"].tolist() == [False, True, False, False]
    assert tab["responsive"].tolist() == [True, True, True, False]
    assert np.isnan(tab["ssi"][3])


def test_size_tuning_baseline_and_time_axis():
    curve = np.array([2.0, 4.0, 10.0, 6.0, 6.0])
    radius = np.array([0.25, 0.5, 1.0, 2.0, 4.0])
    resp = np.repeat(curve[:, None, None], 5, axis=2)              # constant over time
    rec = Recording({"radius": radius}, resp, meta={"time_step": 0.01})
    assert size_tuning(rec, baseline=2.0)["ssi"][0] == pytest.approx(0.5)   # (8 - 4)/8


@pytest.mark.parametrize(
    ("rec", "match"),
    [
        (size_recording(np.ones((2, 1)), np.array([1.0, 2.0])), "at least 3 radii"),
        (size_recording(np.ones((3, 1)), np.array([0.0, 1.0, 2.0])), "radius must be > 0"),
        (Recording({"contrast": [0.1, 0.2, 0.3]}, np.ones((3, 1))), "no 'radius'"),
    ],
    ids=["two-radii", "zero-radius", "no-radius"],
)
def test_size_tuning_errors(rec, match):
    with pytest.raises(ValueError, match=match):
        size_tuning(rec)


def test_v1_model_with_normalisation_saturates():
    """Through run_protocol: divisive normalisation gives a Naka–Rushton contrast response."""
    from analysis.runner import run_protocol
    from stimuli.display import Display
    from stimuli.protocols import contrast_response as contrast_protocol
    from v1model.v1 import V1Model

    display = Display((16, 16), pixels_per_degree=8)
    model = V1Model.grid(display, orientations=[0.0], sfs=[1.5], stride=16, normalization=True)
    rec = run_protocol(model, contrast_protocol(display, sf=1.5), "complex", progress=False)
    fit = contrast_response(rec).row(0)
    assert fit["success"] and fit["r2"] > 0.99
    assert 0.01 < fit["c50"] < 1.0 and fit["n"] > 1.0
