"""F1/F0 over phase and over time, PSTH, Fano factor and lifetime sparseness."""

import numpy as np
import pytest

from analysis.modulation import fano_factor, lifetime_sparseness, modulation_ratio, psth
from analysis.recording import Recording

PHASES = np.arange(0, 360, 45.0)


def phase_recording(curves, phases=PHASES, **extra):
    """One stimulus per phase; ``curves`` (k, units)."""
    cols = {"phase": phases, **{k: np.full(len(phases), v) for k, v in extra.items()}}
    return Recording(cols, np.asarray(curves, dtype=float))


@pytest.mark.parametrize(
    ("curve", "f0", "f1"),
    [
        (2 + 3 * np.cos(np.deg2rad(PHASES - 30)), 2.0, 3.0),
        (1 + 0.25 * np.sin(np.deg2rad(PHASES)), 1.0, 0.25),
        # half-wave rectified cosine sampled at 8 phases, by hand:
        # samples 1, √½, 0, 0, 0, 0, 0, √½ → F0 = (1 + √2)/8;
        # F1 = 2/8 · |1 + 2·√½·cos45°| = 2/8 · 2 = 1/2
        (np.maximum(np.cos(np.deg2rad(PHASES)), 0), (1 + np.sqrt(2)) / 8, 0.5),
        (np.full(8, 4.0), 4.0, 0.0),
    ],
    ids=["offset-cosine", "offset-sine", "rectified-8-phases", "constant"],
)
def test_static_f1_f0_by_hand(curve, f0, f1):
    row = modulation_ratio(phase_recording(curve[:, None])).row(0)
    assert row["f0"] == pytest.approx(f0, abs=1e-12)
    assert row["f1"] == pytest.approx(f1, abs=1e-12)
    assert row["modulation_ratio"] == pytest.approx(f1 / f0, abs=1e-12)
    assert row["f0_positive"] and row["simple"] == (f1 / f0 > 1)


def test_rectified_sinusoid_tends_to_pi_over_2():
    """Continuous half-wave rectified sinusoid: F0 = 1/π, F1 = 1/2, F1/F0 = π/2."""
    phases = np.arange(0, 360, 1.0)
    curve = np.maximum(np.cos(np.deg2rad(phases)), 0)
    row = modulation_ratio(phase_recording(curve[:, None], phases)).row(0)
    assert row["f0"] == pytest.approx(1 / np.pi, rel=1e-3)
    assert row["modulation_ratio"] == pytest.approx(np.pi / 2, rel=1e-3)


@pytest.mark.parametrize(
    ("curve", "ratio"),
    [(np.zeros(8), 0.0), (np.cos(np.deg2rad(PHASES)), np.inf)],
    ids=["silent", "linear-zero-mean"],
)
def test_zero_f0_is_flagged_not_nan(curve, ratio):
    row = modulation_ratio(phase_recording(curve[:, None])).row(0)
    assert row["modulation_ratio"] == ratio and not row["f0_positive"]


def test_preferred_condition_and_repeats():
    """Two orientations x 8 phases x 2 repeats; unit 0 prefers 90 deg, unit 1 0 deg."""
    ori = np.repeat([0.0, 90.0], 16)
    phase = np.tile(np.repeat(PHASES, 2), 2)
    repeat = np.tile([0, 1], 16)
    c = np.cos(np.deg2rad(phase))
    u0 = np.where(ori == 90, 5 + 5 * c, 1.0) + np.where(repeat == 0, 0.1, -0.1)   # simple
    u1 = np.where(ori == 0, 6.0 + 0.5 * c, 0.5)                                    # complex
    tab = modulation_ratio(Recording({"orientation": ori, "phase": phase, "repeat": repeat},
                                     np.stack([u0, u1], axis=1)))
    assert tab["preferred_orientation"].tolist() == [90.0, 0.0]
    np.testing.assert_allclose(tab["modulation_ratio"], [1.0, 0.5 / 6], atol=1e-12)
    assert tab["simple"].tolist() == [False, False]
    assert "preferred_repeat" not in tab.names and "preferred_phase" not in tab.names


def temporal_recording(traces, tf, dt, **extra):
    traces = np.asarray(traces, dtype=float)            # (stimuli, units, time)
    n = traces.shape[0]
    cols = {"tf": np.broadcast_to(tf, n).astype(float),
            **{k: np.asarray(v) for k, v in extra.items()}}
    return Recording(cols, traces, meta={"time_step": dt})


def test_temporal_offset_cosine_exact_over_whole_cycles():
    dt, tf = 0.01, 2.0
    t = np.arange(125) * dt          # 1.25 s = 2.5 cycles: only 2 whole cycles are used
    trace = 5 + 4 * np.cos(2 * np.pi * tf * t - 1.0)
    row = modulation_ratio(temporal_recording(trace[None, None], tf, dt)).row(0)
    assert row["f0"] == pytest.approx(5.0, abs=1e-10)
    assert row["f1"] == pytest.approx(4.0, abs=1e-10)
    assert row["modulation_ratio"] == pytest.approx(0.8, abs=1e-10)


def test_temporal_rectified_and_preferred_direction():
    dt, tf = 0.001, 4.0
    t = np.arange(1000) * dt
    simple = np.maximum(np.sin(2 * np.pi * tf * t), 0)
    complex_ = 0.6 + 0.1 * np.sin(2 * np.pi * tf * t)
    # direction 0 preferred by unit 0 (weak at 180); unit 1 prefers 180
    traces = np.stack([np.stack([simple, 0.2 * complex_]),
                       np.stack([0.3 * simple, complex_])])
    tab = modulation_ratio(temporal_recording(traces, tf, dt, direction=[0.0, 180.0]))
    assert tab["preferred_direction"].tolist() == [0.0, 180.0]
    assert tab["modulation_ratio"][0] == pytest.approx(np.pi / 2, rel=1e-3)
    assert tab["modulation_ratio"][1] == pytest.approx(0.1 / 0.6, rel=1e-6)
    assert tab["simple"].tolist() == [True, False]


def test_discard_drops_the_onset():
    dt, tf = 0.01, 5.0
    t = np.arange(100) * dt
    trace = 2 + np.cos(2 * np.pi * tf * t)
    trace[:20] = 50.0                                      # onset transient, 0.2 s
    rec = temporal_recording(trace[None, None], tf, dt)
    assert modulation_ratio(rec, discard=0.2)["f0"][0] == pytest.approx(2.0, abs=1e-10)
    assert modulation_ratio(rec)["f0"][0] > 2.5


def test_tf_zero_conditions_are_skipped():
    dt = 0.01
    t = np.arange(100) * dt
    traces = np.stack([np.full((1, 100), 9.0), (1 + np.cos(2 * np.pi * 2 * t))[None]])
    row = modulation_ratio(temporal_recording(traces, [0.0, 2.0], dt)).row(0)
    assert row["preferred_tf"] == 2.0 and row["modulation_ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Recording({"sf": [1.0, 2.0, 3.0]}, np.ones((3, 1))), "needs a 'phase'"),
        (lambda: phase_recording(np.ones((3, 1)), np.array([0.0, 90.0, 180.0])),
         "equally spaced"),
        (lambda: phase_recording(np.ones((2, 1)), np.array([0.0, 180.0])), ">= 3 values"),
        (lambda: Recording({"sf": [1.0]}, np.ones((1, 1, 10)), meta={"time_step": 0.01}),
         "needs a 'tf'"),
        (lambda: temporal_recording(np.ones((1, 1, 10)), 2.0, 0.01), "at least one cycle"),
        (lambda: temporal_recording(np.ones((1, 1, 100)), 80.0, 0.01), "Nyquist"),
        (lambda: temporal_recording(np.ones((1, 1, 100)), 0.0, 0.01), "tf = 0"),
    ],
    ids=["no-phase", "uneven-phases", "two-phases", "no-tf", "short", "nyquist", "all-static"],
)
def test_modulation_errors(make, match):
    with pytest.raises(ValueError, match=match):
        modulation_ratio(make())


def test_discard_errors():
    with pytest.raises(ValueError, match="time axis only"):
        modulation_ratio(phase_recording(np.ones((8, 1))), discard=0.1)
    with pytest.raises(ValueError, match="leaves no time bins"):
        modulation_ratio(temporal_recording(np.ones((1, 1, 10)), 2.0, 0.01), discard=1.0)
    with pytest.raises(TypeError, match="must be a Recording"):
        modulation_ratio(np.ones((8, 1)))


def test_psth_averages_repeats_only():
    rng = np.random.default_rng(0)
    resp = rng.poisson(3.0, size=(6, 2, 20)).astype(float)
    rec = Recording({"direction": [0.0, 0.0, 0.0, 90.0, 90.0, 90.0], "repeat": [0, 1, 2] * 2},
                    resp, meta={"time_step": 0.01})
    out = psth(rec)
    assert out.conditions.names == ("direction",) and out.n_stimuli == 2
    np.testing.assert_allclose(out.responses[1], resp[3:].mean(axis=0))
    assert out.meta["time_step"] == 0.01


def test_fano_factor_poisson_near_one_and_hand_values():
    rng = np.random.default_rng(1)
    counts = rng.poisson(lam=[[4.0, 20.0]], size=(4000, 2)).astype(float)
    rec = Recording({"repeat": np.arange(4000)}, counts)
    tab = fano_factor(rec)
    np.testing.assert_allclose(tab["fano"], 1.0, atol=0.08)
    # time axis: counts summed over bins; a silent unit has an undefined Fano factor
    resp = np.zeros((3, 2, 4))
    resp[:, 0, 0] = [1.0, 2.0, 3.0]
    tab = fano_factor(Recording({"repeat": [0, 1, 2]}, resp, meta={"time_step": 0.1}))
    assert tab["fano"][0] == pytest.approx(0.5)           # var 1 / mean 2
    assert not tab["defined"][1] and np.isnan(tab["fano"][1])


def test_fano_factor_errors():
    with pytest.raises(ValueError, match="'repeat'"):
        fano_factor(Recording({"sf": [1.0, 2.0]}, np.ones((2, 1))))
    with pytest.raises(ValueError, match=">= 2 repeats"):
        fano_factor(Recording({"sf": [1.0, 2.0, 2.0], "repeat": [0, 0, 1]}, np.ones((3, 1))))


def test_lifetime_sparseness_limits():
    n = 10
    delta = np.zeros((n, 1))
    delta[3] = 7.0
    flat = np.full((n, 1), 2.0)
    half = np.r_[np.ones(5), np.zeros(5)][:, None]
    silent = np.zeros((n, 1))
    rec = Recording({"sf": np.arange(n, dtype=float)}, np.hstack([delta, flat, half, silent]))
    tab = lifetime_sparseness(rec)
    # by hand for "half": (1 - 25/(10*5)) / (1 - 1/10) = 0.5/0.9
    np.testing.assert_allclose(tab["sparseness"][:3], [1.0, 0.0, 0.5 / 0.9], atol=1e-12)
    assert tab["defined"].tolist() == [True, True, True, False]
    assert np.isnan(tab["sparseness"][3])


def test_lifetime_sparseness_errors():
    with pytest.raises(ValueError, match="non-negative"):
        lifetime_sparseness(Recording({"sf": [1.0, 2.0]}, [[-1.0], [1.0]]))
    with pytest.raises(ValueError, match=">= 2 distinct conditions"):
        lifetime_sparseness(Recording({"sf": [1.0, 1.0], "repeat": [0, 1]}, [[1.0], [2.0]]))


@pytest.mark.parametrize("kind", ["static-phase", "drifting"])
def test_v1_model_simple_cells_modulate_and_energy_cells_do_not(kind):
    """Through run_protocol: simple cells F1/F0 ≈ π/2 (> 1), energy complex cells ≈ 0."""
    from analysis.runner import run_protocol
    from stimuli.display import Display
    from stimuli.protocols import drifting_gratings, orientation_tuning
    from v1model.v1 import V1Model

    display = Display((16, 16), pixels_per_degree=8, frame_rate=60)
    model = V1Model.grid(display, orientations=[0.0, 90.0], sfs=[1.5], phases=[0.0, 90.0],
                    stride=16)
    if kind == "static-phase":
        protocol = orientation_tuning(display, orientations=(0.0, 90.0), sfs=(1.5,))
    else:
        protocol = drifting_gratings(display, directions=(0.0, 90.0, 180.0, 270.0),
                                     tfs=(4.0,), sf=1.5, duration=0.5)
    simple = modulation_ratio(run_protocol(model, protocol, "simple", progress=False))
    complex_ = modulation_ratio(run_protocol(model, protocol, "complex", progress=False))
    assert simple["simple"].all() and not complex_["simple"].any()
    np.testing.assert_allclose(simple["modulation_ratio"], np.pi / 2, rtol=0.15)
    assert complex_["modulation_ratio"].max() < 0.1
    key = "preferred_orientation" if kind == "static-phase" else "preferred_direction"
    assert np.all(complex_[key] % 180 == model.unit_info("complex")["orientation"])
