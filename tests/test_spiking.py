"""The spiking V1 layer: unit boundary, drive, seeding, caching, errors, and the science.

Scientific checks run the default drifting-grating protocol (8 directions × 2 s at
2 c/deg) once through a default ``SpikingV1`` (the V1 model's default grid: 12
orientations × sf 1, 2, 4 c/deg × 4 phases) and compare with the rate model.
"""

import multiprocessing
import pickle
import shutil
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from analysis.modulation import modulation_ratio
from analysis.runner import run_protocol
from stimuli.display import Display
from stimuli.protocols import drifting_gratings, orientation_tuning
from v1model import _brian
from v1model.spiking import SpikeTrains, SpikingV1
from v1model.v1 import V1Model

DISPLAY = Display((64, 64), pixels_per_degree=16)  # 4 x 4 deg, 60 frames/s
SMALL = Display((32, 32), pixels_per_degree=16)
# the filter grid: 8 simple channels, 2 complex
SMALL_V1 = {"population": "grid", "orientations": [0, 90], "sfs": [2]}


def small_model(**kwargs):
    kwargs.setdefault("v1", SMALL_V1)
    kwargs.setdefault("static_duration", 0.1)
    kwargs.setdefault("rng", 0)
    return SpikingV1(SMALL, **kwargs)


def grating_movies(n=2, frames=12, display=SMALL, sf=2.0, tf=4.0):
    x, _ = display.coordinates()
    t = np.arange(frames)[:, None, None] / display.frame_rate
    movie = np.cos(2 * np.pi * sf * x[None] - 2 * np.pi * tf * t).astype(np.float32)
    return np.stack([movie * c for c in np.linspace(1.0, 0.5, n)])


# ---------------------------------------------------------------- unit boundary
@pytest.mark.parametrize("unit, value", [
    ("second", 0.0205), ("volt", -0.0655), ("hertz", 37.5), ("1", 0.25),
    ("second", np.array([1e-4, 2.0])),
], ids=["s", "V", "Hz", "dimensionless", "array"])
def test_unit_boundary_round_trips(unit, value):
    quantity = _brian.to_brian(value, unit)
    back = _brian.from_brian(quantity, unit)
    np.testing.assert_allclose(back, value, rtol=1e-15)
    assert isinstance(back, float) == (np.ndim(value) == 0)


def test_unit_boundary_means_si():
    from brian2 import Hz, ms, mV

    assert _brian.from_brian(20 * ms, "second") == pytest.approx(0.02, rel=1e-15)
    assert _brian.from_brian(-65 * mV, "volt") == pytest.approx(-0.065, rel=1e-15)
    assert _brian.to_brian(0.002, "second") == 2 * ms
    assert _brian.to_brian(5.0, "hertz") == 5 * Hz


@pytest.mark.parametrize("call, error, match", [
    (lambda: _brian.from_brian(_brian.to_brian(1.0, "volt"), "second"), TypeError,
     "expected a quantity in second"),
    (lambda: _brian.to_brian(_brian.to_brian(1.0, "volt"), "volt"), TypeError,
     "plain SI number"),
    (lambda: _brian.to_brian(1.0, "ms"), ValueError, "unit must be one of"),
], ids=["wrong-dimension", "already-quantity", "unknown-unit"])
def test_unit_boundary_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- drive
@pytest.mark.parametrize("v1_kwargs, positions", [
    ({}, [(0.0, 0.0), (0.5, -0.25)]),
    ({"stride": 3}, [(0.0, 0.0), (-0.6, 0.3)]),
    ({"normalization": True}, [(0.0, 0.0), (0.25, 0.25)]),
], ids=["default", "strided-map", "normalised-maps"])
def test_drive_is_the_v1_simple_map_at_the_unit_positions(v1_kwargs, positions):
    v1 = V1Model.grid(SMALL, orientations=[0, 60, 120], sfs=[2, 4], **v1_kwargs)
    model = SpikingV1(SMALL, v1=v1, positions=positions)
    movies = grating_movies(n=1, frames=3)
    drive = model.drive(movies)                               # (1, 3, units)
    maps = v1.responses(movies[0], "simple")                  # (3, channels, rows', cols')
    map_x, map_y = v1.map_coordinates("simple")
    info = model.unit_info("simple")
    rows = [int(np.flatnonzero(map_y == y)[0]) for y in info["y"]]
    cols = [int(np.flatnonzero(map_x == x)[0]) for x in info["x"]]
    expected = maps[:, info["channel"], rows, cols]
    np.testing.assert_allclose(drive[0], expected, atol=1e-5)
    assert drive.max() > 0.3  # the gratings do drive some units


def test_positions_snap_to_the_map_like_run_protocol_centre():
    model = SpikingV1(DISPLAY, v1={"population": "grid", "orientations": [0], "sfs": [2]})
    v1 = model.v1
    rec_x, rec_y = v1.map_coordinates("simple")
    info = model.unit_info("simple")
    assert np.all(info["x"] == rec_x[np.argmin(np.abs(rec_x))])
    assert np.all(info["y"] == rec_y[np.argmin(np.abs(rec_y))])


def test_hubel_wiesel_wiring():
    model = SpikingV1(SMALL, v1={"population": "grid", "orientations": [0, 90], "sfs": [2]},
                      positions=[(0.0, 0.0), (0.125, 0.0), (1.0, 0.0)])
    simple, complex_ = model.unit_info("simple"), model.unit_info("complex")
    assert len(complex_["x"]) == 2 * 3
    for c in range(len(complex_["x"])):
        sources = model._pre[model._post == c]
        # same orientation and sf, all four phases, only nearby positions (0.25 deg radius)
        assert np.all(simple["orientation"][sources] == complex_["orientation"][c])
        assert np.all(simple["sf"][sources] == complex_["sf"][c])
        assert set(simple["phase"][sources]) == {0.0, 90.0, 180.0, 270.0}
        distance = np.hypot(simple["x"][sources] - complex_["x"][c],
                            simple["y"][sources] - complex_["y"][c])
        assert distance.max() <= 0.25 + 1e-9
        assert complex_["n_inputs"][c] == sources.size
        np.testing.assert_allclose(model._weight[model._post == c].sum(), model.complex_weight)
    # the two close positions pool each other; the far one pools only itself
    assert complex_["n_inputs"].tolist() == [8, 8, 8, 8, 4, 4]


# ---------------------------------------------------------------- interface
def test_responses_are_binned_counts_of_the_spike_trains():
    model = small_model()
    movies = grating_movies()
    counts = model.responses(movies, "simple")
    spikes = model.spike_trains(movies, "simple")
    assert counts.shape == (2, 8, 12) and counts.dtype == np.float32
    assert model.time_step == pytest.approx(1 / 60)
    assert counts.sum() == len(spikes)
    for c, u in [(0, 0), (1, 3)]:
        times = spikes.train(c, u)
        assert np.all(np.diff(times) > 0) and np.all((times >= 0) & (times < 0.2))
        assert counts[c, u].sum() == times.size
    np.testing.assert_allclose(spikes.rates(), counts.sum(axis=2) / spikes.duration)


def test_static_images_become_fixed_duration_movies():
    model = small_model(static_duration=0.25, bin_width=0.05)
    out = model.responses(np.zeros((3, 32, 32)), "complex")
    assert out.shape == (3, 2, 5)
    assert model.spike_trains(np.zeros((3, 32, 32)), "complex").duration == pytest.approx(0.25)


@pytest.mark.parametrize("v1", [SMALL_V1, None], ids=["grid", "macaque"])
def test_repeated_frames_are_filtered_once(monkeypatch, v1):
    # a 4 Hz grating at 60 frames/s repeats every 15 frames: 30 frames, 15 distinct (and
    # the second movie's contrast makes its frames new); the drive is bit-identical to
    # filtering every frame
    model = small_model(v1=v1)
    movies = grating_movies(n=2, frames=30)
    every_frame = np.stack([model._distinct_frame_drive(m) for m in movies])
    seen = []
    original = model._distinct_frame_drive
    monkeypatch.setattr(model, "_distinct_frame_drive",
                        lambda frames: seen.append(len(frames)) or original(frames))
    drive = model.drive(movies)
    assert seen == [30]
    np.testing.assert_array_equal(drive, every_frame)
    assert np.abs(drive).max() > 0


def test_layers_share_one_run(monkeypatch):
    model = small_model()
    assert model.last_spikes is None
    calls = []
    original = _brian.simulate
    monkeypatch.setattr(_brian, "simulate", lambda **kw: calls.append(1) or original(**kw))
    movies = grating_movies()
    model.responses(movies, "simple")
    model.responses(movies, "complex")
    model.spike_trains(movies.copy(), "simple")
    assert len(calls) == 1
    assert model.last_spikes["complex"].n_conditions == 2
    model.responses(movies[:1], "complex")  # different stimuli: a new run
    assert len(calls) == 2


def test_run_protocol_records_time_step_and_info():
    display = Display((32, 32), pixels_per_degree=16, frame_rate=30)
    model = SpikingV1(display, v1=SMALL_V1, rng=1)
    protocol = drifting_gratings(display, directions=(0.0, 90.0), duration=0.5)
    rec = run_protocol(model, protocol, "complex", progress=False)
    assert rec.responses.shape == (2, 2, 15)
    assert rec.meta["time_step"] == pytest.approx(1 / 30)
    assert rec.unit_info["orientation"].tolist() == [0.0, 90.0]
    assert rec.unit_info["n_inputs"].tolist() == [4, 4]


def test_process_pool_gives_the_serial_recording():
    """Workers (other processes) rebuild nothing and reproduce the serial spikes exactly."""
    display = Display((32, 32), pixels_per_degree=16, frame_rate=30)
    model = SpikingV1(display, v1=SMALL_V1, rng=4)
    protocol = drifting_gratings(display, directions=(0.0, 90.0, 180.0, 270.0), duration=0.3)
    serial = run_protocol(model, protocol, "simple", batch_size=2, progress=False)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        parallel = run_protocol(SpikingV1(display, v1=SMALL_V1, rng=4), protocol, "simple",
                                batch_size=2, progress=False, executor=pool)
    np.testing.assert_array_equal(parallel.responses, serial.responses)
    assert serial.responses.sum() > 0


def test_model_pickles_for_executors():
    model = small_model()
    model.responses(np.zeros((1, 32, 32)), "simple")
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.responses(np.zeros((1, 32, 32)), "simple"),
                                  model.responses(np.zeros((1, 32, 32)), "simple"))


def test_spike_trains_container():
    st = SpikeTrains(np.array([0.3, 0.1, 0.2]), np.array([1, 0, 1]), np.array([0, 2, 0]),
                     n_conditions=2, n_units=3, duration=0.4, resolution=0.001)
    assert st.train(1, 0).tolist() == [0.2, 0.3]
    assert st.train(0, 0).size == 0
    assert st.counts(0.2)[1, 0].tolist() == [0.0, 2.0]  # 0.2 s opens the second bin
    with pytest.raises(IndexError, match="out of range"):
        st.train(2, 0)
    with pytest.raises(ValueError, match="whole number of time bins"):
        st.counts(0.3)


# ---------------------------------------------------------------- seeding
def test_same_seed_same_spikes_whatever_ran_before():
    movies = grating_movies()
    first = SpikingV1(SMALL, v1=SMALL_V1, rng=7)
    reference = first.spike_trains(movies, "complex")
    second = SpikingV1(SMALL, v1=SMALL_V1, rng=7)
    second.responses(grating_movies(n=1), "simple")  # another run in between
    state = np.random.get_state()  # noqa: NPY002 (brian2 draws from it)
    again = second.spike_trains(movies, "complex")
    assert len(reference) > 0
    for name in ("times", "condition", "unit"):
        np.testing.assert_array_equal(getattr(again, name), getattr(reference, name))
    # brian2's global generator (numpy's legacy one) is given back untouched
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]
    other = SpikingV1(SMALL, v1=SMALL_V1, rng=8).spike_trains(movies, "complex")
    assert len(other) != len(reference) or not np.array_equal(other.times, reference.times)


def test_generator_rng_is_accepted_and_recorded():
    model = small_model(rng=np.random.default_rng(3))
    assert model.params["seed"] == model.seed
    assert 0 <= model.seed < 2**62


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, error, match", [
    ({"static_duration": 0.01}, ValueError, "static_duration must last at least one frame"),
    ({"bin_width": 1e-4}, ValueError, "bin_width must be at least one simulation step"),
    ({"dt": 0.0}, ValueError, "dt must be positive"),
    ({"v_reset": -0.04}, ValueError, "v_reset must be below v_threshold"),
    ({"target": "gpu"}, ValueError, "target must be one of"),
    ({"positions": [(5.0, 0.0)]}, ValueError, "positions must lie on the display"),
    ({"positions": [(0.0, 0.0), (-0.02, 0.0)]}, ValueError, "distinct positions"),
    ({"positions": [1.0, 2.0]}, ValueError, r"positions must have shape \(k, 2\)"),
    ({"v1": {"population": "grid", "orientations": [0], "sfs": [2], "phases": [0]}},
     ValueError, "single phase"),
    ({"v1": V1Model.grid(DISPLAY, orientations=[0], sfs=[2])}, ValueError, "same display"),
    ({"v1": "gabor"}, TypeError, "v1 must be a V1Model"),
], ids=["static-shorter-than-frame", "bin-shorter-than-step", "dt", "reset", "target",
        "off-display", "same-pixel", "positions-shape", "single-phase", "v1-display", "v1-type"])
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        small_model(**kwargs)


@pytest.mark.parametrize("call, match", [
    (lambda m: m.responses(np.full((1, 32, 32), np.nan), "simple"), "stimuli must be finite"),
    (lambda m: m.responses(np.zeros((1, 16, 16)), "simple"), "to match the display"),
    (lambda m: m.responses(np.zeros((32, 32)), "simple"), "stimuli must have shape"),
    (lambda m: m.responses(np.zeros((1, 0, 32, 32)), "simple"), "must not be empty"),
    (lambda m: m.responses(grating_movies(), "simple", frame_rate=30), "frame_rate must match"),
    (lambda m: m.responses(np.zeros((1, 32, 32)), "simple", frame_rate=60),
     "frame_rate applies to movies"),
    (lambda m: m.responses(grating_movies(), "V1"), "layer must be one of"),
    (lambda m: m.simulate(np.full((1, 6, 8), np.inf)), "drive must be finite"),
    (lambda m: m.simulate(np.zeros((1, 6, 3))), r"drive must have shape \(n, frames, 8\)"),
], ids=["nan-stimuli", "display-shape", "single-image", "no-frames", "frame-rate", "rate-of-images",
        "layer", "infinite-drive", "drive-shape"])
def test_input_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(small_model())


def test_movie_must_fill_whole_bins():
    model = small_model(bin_width=0.05)
    with pytest.raises(ValueError, match="whole number of time bins"):
        model.responses(grating_movies(frames=4), "simple")


# ---------------------------------------------------------------- science
@pytest.fixture(scope="module")
def drifting():
    """The default drifting-grating protocol through a grid SpikingV1 (both layers)."""
    model = SpikingV1(DISPLAY, v1={"population": "grid"}, rng=2024)
    protocol = drifting_gratings(DISPLAY)
    recordings = {layer: run_protocol(model, protocol, layer, progress=False)
                  for layer in model.layers}
    return model, protocol, recordings


def _rate_model_orientation_tuning(model, layer, grid, sf):
    """The V1 rate model's mean response (over 8 phases) to static gratings, (4, units)."""
    static = orientation_tuning(DISPLAY, orientations=grid, sfs=[sf])
    rec = run_protocol(model.v1, static, layer, progress=False)   # display-centre channels
    rate = np.stack([rec.responses[rec.conditions["orientation"] == o].mean(axis=0)
                     for o in grid])
    info = model.unit_info(layer)
    if layer == "simple":
        return rate[:, info["channel"]]
    v1 = model.v1.unit_info("complex")  # the V1 complex channel of each complex neuron
    match = ((v1["orientation"][None, :] == info["orientation"][:, None])
             & (v1["sf"][None, :] == info["sf"][:, None]))
    assert np.all(match.sum(axis=1) == 1)
    return rate[:, np.argmax(match, axis=1)]


@pytest.fixture(scope="module")
def rate_model(drifting):
    model, protocol, _ = drifting
    grid = np.array([0.0, 45.0, 90.0, 135.0])
    rates = {layer: _rate_model_orientation_tuning(model, layer, grid, protocol.params["sf"])
             for layer in model.layers}
    # units the gratings drive: the rate model's best response >= 10% of the layer's best
    driven = {layer: r.max(axis=0) >= 0.1 * r.max() for layer, r in rates.items()}
    return grid, rates, driven


def test_skottun_bimodality_from_spike_trains(drifting, rate_model):
    model, protocol, recordings = drifting
    _, _, driven = rate_model
    assert protocol.params["tfs"] == [2.0] and len(protocol) == 8
    ratio = {layer: modulation_ratio(rec)["modulation_ratio"] for layer, rec in recordings.items()}
    # simple cells: every unit of the default grid (sf 1, 2, 4 c/deg)
    assert np.median(ratio["simple"]) > 1.2
    # complex cells: the units the gratings drive (sf 2 and 4 c/deg); the sf = 1 c/deg
    # units get < 1% of their optimal drive, fire only spontaneously, and a few random
    # spikes have F1/F0 near 1.3
    assert driven["complex"].mean() > 0.6
    assert np.median(ratio["complex"][driven["complex"]]) < 0.9
    assert np.median(ratio["simple"][driven["simple"]]) > 1.2
    # units tuned to the gratings' sf (the network of a SpikingV1 with sfs=[2]): clearly split
    matched = {layer: model.unit_info(layer)["sf"] == protocol.params["sf"]
               for layer in model.layers}
    assert np.median(ratio["simple"][matched["simple"]]) > 1.4
    assert np.median(ratio["complex"][matched["complex"]]) < 0.6
    assert np.mean(ratio["simple"][matched["simple"]] > 1) >= 0.9
    assert np.mean(ratio["complex"][matched["complex"]] < 1) >= 0.9


def test_orientation_tuning_agrees_with_the_rate_model(drifting, rate_model):
    model, protocol, recordings = drifting
    grid, rates, driven = rate_model
    orientation = recordings["simple"].conditions["orientation"]
    for layer, rec in recordings.items():
        counts = rec.responses.sum(axis=2)                            # (8 directions, units)
        spiking = np.stack([counts[orientation == o].sum(axis=0) for o in grid])
        rate_pref, spike_pref = np.argmax(rates[layer], axis=0), np.argmax(spiking, axis=0)
        steps = np.abs((spike_pref - rate_pref + 2) % 4 - 2)          # in 45 deg steps
        assert np.mean(steps[driven[layer]] <= 1) >= 0.9, layer
        # units at the gratings' sf whose own orientation is on the grid: the same one
        info = model.unit_info(layer)
        exact = (info["sf"] == protocol.params["sf"]) & np.isin(info["orientation"], grid)
        assert np.all(grid[rate_pref[exact]] == info["orientation"][exact])
        assert np.all(steps[exact] == 0), layer


def test_rates_are_plausible(drifting):
    model, _, recordings = drifting
    for layer, rec in recordings.items():
        psth = rec.responses / model.time_step                       # spikes/s per frame
        peak = psth.reshape(*psth.shape[:2], -1, 6).mean(axis=3).max(axis=(0, 2))  # 100 ms
        assert 20 <= np.max(peak) <= 200, layer
        assert 10 <= np.median(peak[model.unit_info(layer)["sf"] == 2.0]) <= 150, layer
    spontaneous = SpikingV1(DISPLAY, v1={"population": "grid", "sfs": [2]},
                            static_duration=2.0, rng=5)
    blank = np.zeros((6, *DISPLAY.shape))
    for layer in model.layers:
        rate = spontaneous.spike_trains(blank, layer).rates().mean()
        assert 0.4 <= rate <= 2.5, (layer, rate)


# ---------------------------------------------------------------- targets
def test_brians_garbage_collection_skips_the_old_heap(monkeypatch):
    # brian2 runs a full gc.collect() before every run; the heap that existed before is
    # frozen for the run (only the run's own objects are scanned) and unfrozen after,
    # also when the run fails
    import gc

    import brian2

    seen = []
    original = brian2.Network.run

    def run(self, *args, **kwargs):
        seen.append(gc.get_freeze_count())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(brian2.Network, "run", run)
    model = small_model()
    model.simulate(np.zeros((1, 6, model.n_driven)))
    assert seen[0] > 1000 and gc.get_freeze_count() == 0

    def fail(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(brian2.Network, "run", fail)
    with pytest.raises(RuntimeError, match="boom"):
        model.simulate(np.ones((1, 6, model.n_driven)))
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        monkeypatch.setattr(brian2.Network, "run", run)
        model.simulate(np.full((1, 6, model.n_driven), 0.5))
        assert seen[-1] == 0                    # a caller managing the collector: untouched
    finally:
        gc.enable()


def test_brian2_globals_are_restored():
    from brian2 import get_device, prefs
    from brian2.devices.device import runtime_device

    before = prefs["codegen.target"]
    small_model().responses(grating_movies(), "simple")
    assert prefs["codegen.target"] == before
    assert get_device() is runtime_device


def test_default_cache_dir_is_per_process(tmp_path):
    import os

    assert f"pid-{os.getpid()}" in _brian.default_cache_dir()


needs_compiler = pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                                    reason="no C++ compiler")


@pytest.mark.slow
@needs_compiler
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_compiled_targets(target, tmp_path):
    from brian2 import get_device
    from brian2.devices.device import runtime_device

    movies = grating_movies(n=2, frames=30)
    numpy_rates = small_model().spike_trains(movies, "simple").rates()
    model = small_model(target=target, cache_dir=str(tmp_path))
    spikes = {layer: model.spike_trains(movies, layer) for layer in model.layers}
    assert get_device() is runtime_device
    # a different random stream, the same rates within Poisson-like noise
    rates = spikes["simple"].rates()
    assert abs(rates.mean() - numpy_rates.mean()) < 0.5 * numpy_rates.mean() + 2
    assert len(spikes["complex"]) > 0
    again = small_model(target=target, cache_dir=str(tmp_path)).spike_trains(movies, "simple")
    np.testing.assert_array_equal(again.times, spikes["simple"].times)


# ---------------------------------------------------------------- macaque front end
def test_default_front_end_is_the_macaque_population_and_keeps_the_f1_f0_split():
    model = SpikingV1(DISPLAY, rng=3)
    v1 = model.v1
    assert v1.source == "macaque"
    for layer in model.layers:
        assert model.n_units(layer) == v1.n_channels(layer)
        np.testing.assert_array_equal(model.unit_info(layer)["complexity"],
                                      v1.unit_info(layer)["complexity"])
    assert model.n_driven == v1.params["n_units"]
    protocol = drifting_gratings(DISPLAY, directions=np.arange(0.0, 360.0, 45.0), sf=2.0,
                                 duration=1.0)
    ratio = {}
    for layer in model.layers:
        rec = run_protocol(model, protocol, layer, progress=False)
        rates = rec.responses.mean(axis=(0, 2)) / model.time_step
        table = modulation_ratio(rec)
        # units the gratings drive: near the gratings' sf, firing well above spontaneous
        near = np.abs(np.log2(model.unit_info(layer)["sf"] / 2.0)) <= 0.5
        ratio[layer] = np.asarray(table["modulation_ratio"])[near & (rates > 5.0)]
    assert len(ratio["simple"]) >= 5 and len(ratio["complex"]) >= 5
    assert np.median(ratio["simple"]) > 1.2
    assert np.median(ratio["complex"]) < 0.8


def test_brian2_quantities_are_accepted_at_the_boundary():
    from brian2 import ms, mV, second

    display = Display((16, 16), pixels_per_degree=8.0)
    v1 = {"population": "grid", "orientations": [0.0], "sfs": [2.0]}
    plain = SpikingV1(display, v1=v1, tau_m=0.015, v_rest=-0.065, refractory=0.003,
                      static_duration=0.1, rng=0)
    units = SpikingV1(display, v1=v1, tau_m=15 * ms, v_rest=-65 * mV, refractory=3 * ms,
                      static_duration=0.1 * second, rng=0)
    for name in ("tau_m", "v_rest", "refractory", "static_duration"):
        assert getattr(units, name) == pytest.approx(getattr(plain, name), rel=1e-12)
        assert type(getattr(units, name)) is float
    assert units.tau_m == pytest.approx(0.015)


@pytest.mark.parametrize(("name", "value", "kind"), [
    ("tau_m", lambda u: 20 * u.mV, "a time"), ("v_threshold", lambda u: -50 * u.ms, "a voltage"),
    ("drive_gain", lambda u: 30 * u.Hz, "a voltage"), ("dt", lambda u: 0.5 * u.mV, "a time")],
    ids=["tau_m-in-mV", "v_threshold-in-ms", "drive_gain-in-Hz", "dt-in-mV"])
def test_quantities_of_the_wrong_dimension_are_refused_by_name(name, value, kind):
    import brian2

    with pytest.raises(TypeError, match=rf"^{name} must be {kind} \(a brian2 quantity"):
        SpikingV1(Display((16, 16), pixels_per_degree=8.0),
                  v1={"population": "grid", "orientations": [0.0], "sfs": [2.0]},
                  **{name: value(brian2)})


def test_importing_the_package_does_not_load_brian2():
    # brian2 (and sympy under it) cost about a second to import: only a simulation loads it
    import subprocess
    import sys

    code = ("import sys, v1model, v1model.spiking; "
            "from v1model import SpikingV1; "
            "from stimuli.display import Display; "
            "SpikingV1(Display((32, 32), 16), v1={'population': 'grid', 'orientations': [0], "
            "'sfs': [2]}); "
            "print('brian2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
