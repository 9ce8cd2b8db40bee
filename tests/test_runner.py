"""run_protocol with tiny models defined here: shapes, unit choice, executors, movies, errors."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from analysis.recording import Recording
from analysis.runner import run_protocol
from stimuli.display import Display
from stimuli.protocols import (
    Protocol,
    contrast_response,
    drifting_gratings,
    orientation_tuning,
)
from v1model._fft import FourierFilters

DISPLAY = Display((32, 32), pixels_per_degree=8, frame_rate=8)  # 4 x 4 deg, Nyquist 4 c/deg
SF = 2.0  # c/deg


class OrientedFilters:
    """Two Gabor filters (0 and 90 degrees, 2 c/deg).

    Layer ``simple`` is the filter map sampled every 2 pixels, ``(n, 2, 16, 16)``;
    layer ``energy`` is the mean squared response over the image, ``(n, 2)``.
    """

    layers = ("simple", "energy")
    temporal = False

    def __init__(self, display: Display = DISPLAY):
        self.display = display
        r = (np.arange(9) - 4) / display.pixels_per_degree
        x, y = np.meshgrid(r, -r)  # +y up
        envelope = np.exp(-(x**2 + y**2) / (2 * 0.25**2))
        kernels = [envelope * np.cos(2 * np.pi * SF * (x * np.cos(t) + y * np.sin(t)))
                   for t in np.deg2rad([0.0, 90.0])]
        self.filters = FourierFilters(np.stack(kernels))

    def responses(self, stimuli, layer):
        maps = self.filters(stimuli)
        if layer == "simple":
            return maps[:, :, ::2, ::2]
        return (maps**2).mean(axis=(2, 3))

    def unit_info(self, layer):
        return {"orientation": np.array([0.0, 90.0]), "sf": np.array([SF, SF]),
                "name": np.array(["vertical", "horizontal"])}

    def map_coordinates(self, layer):
        x, y = self.display.coordinates()
        return x[0, ::2], y[::2, 0]


class FrameMeans:
    """A temporal model: the mean luminance of every frame, ``(n, 1, frames)``."""

    layers = ("mean",)
    temporal = True

    def __init__(self, display: Display = DISPLAY, time_step=None):
        self.display = display
        if time_step is not None:
            self.time_step = time_step

    def responses(self, stimuli, layer):
        assert stimuli.ndim == 4, "temporal models receive whole movies"
        return stimuli.mean(axis=(2, 3))[:, None, :]

    def unit_info(self, layer):
        return {}


@pytest.fixture(scope="module")
def model():
    return OrientedFilters()


@pytest.fixture(scope="module")
def tuning():
    return orientation_tuning(DISPLAY, orientations=(0.0, 45.0, 90.0, 135.0),
                              phases=(0.0, 90.0, 180.0, 270.0), sfs=(SF,))


def test_centre_units_of_a_map(model, tuning):
    rec = run_protocol(model, tuning, "simple", progress=False)
    assert isinstance(rec, Recording)
    assert rec.responses.shape == (16, 2) and not rec.has_time
    assert rec.unit_info["channel"].tolist() == [0, 1]
    assert rec.unit_info["name"].tolist() == ["vertical", "horizontal"]
    x, y = model.map_coordinates("simple")
    assert np.all(np.abs(rec.unit_info["x"]) == np.abs(x).min())
    assert np.all(np.abs(rec.unit_info["y"]) == np.abs(y).min())
    assert rec.conditions is tuning.conditions
    assert rec.meta["model"] == "OrientedFilters" and rec.meta["layer"] == "simple"
    assert rec.meta["protocol"] == "orientation_tuning"
    assert rec.meta["protocol_params"] == tuning.params
    assert rec.meta["units"] == "centre" and "time_step" not in rec.meta


def test_each_filter_prefers_its_own_orientation(model, tuning):
    rec = run_protocol(model, tuning, "simple", progress=False)
    peak = np.abs(rec.responses)  # best over phase, per orientation
    orientations = tuning.conditions["orientation"]
    best = [orientations[np.argmax(peak[:, k])] for k in range(2)]
    np.testing.assert_array_equal(best, rec.unit_info["orientation"])


def test_all_units_and_index_arrays(model, tuning):
    everything = run_protocol(model, tuning, "simple", units="all", progress=False)
    assert everything.responses.shape == (16, 2 * 16 * 16)
    np.testing.assert_array_equal(everything.unit_info["unit"], np.arange(512))
    raw = model.responses(tuning.stimuli(np.arange(len(tuning))), "simple")
    np.testing.assert_allclose(everything.responses, raw.reshape(16, -1), rtol=0, atol=0)
    picks = np.array([511, 3, 300])
    chosen = run_protocol(model, tuning, "simple", units=picks, progress=False)
    np.testing.assert_array_equal(chosen.responses, everything.responses[:, picks])
    assert chosen.unit_info["channel"].tolist() == [1, 0, 1]
    assert chosen.unit_info["orientation"].tolist() == [90.0, 0.0, 90.0]
    # Centre units are the "all" units at the centre position.
    centre = run_protocol(model, tuning, "simple", progress=False)
    np.testing.assert_array_equal(
        centre.responses, everything.responses[:, centre.unit_info["unit"]])


def test_non_retinotopic_layer(model, tuning):
    rec = run_protocol(model, tuning, "energy", progress=False)
    assert rec.responses.shape == (16, 2)
    assert "x" not in rec.unit_info and rec.unit_info["unit"].tolist() == [0, 1]
    assert run_protocol(model, tuning, "energy", units=[1], progress=False).n_units == 1


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_thread_pool_gives_the_serial_result(model, tuning, batch_size):
    serial = run_protocol(model, tuning, "simple", units="all", batch_size=batch_size,
                          progress=False)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pooled = run_protocol(model, tuning, "simple", units="all", batch_size=batch_size,
                              progress=False, executor=pool)
    np.testing.assert_array_equal(pooled.responses, serial.responses)
    assert pooled.unit_info.keys() == serial.unit_info.keys()


def test_progress_bar_can_be_turned_off(model, capsys):
    protocol = contrast_response(DISPLAY, phases=(0.0,))
    run_protocol(model, protocol, "energy", progress=False)
    assert capsys.readouterr().err == ""
    run_protocol(model, protocol, "energy", progress=True)
    assert "contrast_response" in capsys.readouterr().err


def test_static_model_sees_movies_frame_by_frame(model):
    movies = drifting_gratings(DISPLAY, directions=(0.0, 90.0, 180.0), tfs=(2.0,), sf=SF,
                               duration=1.0)
    rec = run_protocol(model, movies, "simple", batch_size=5, progress=False)
    assert rec.responses.shape == (3, 2, 8) and rec.has_time
    assert rec.meta["time_step"] == pytest.approx(1 / 8)
    # A 2 Hz grating at 8 frames/s repeats every 4 frames.
    np.testing.assert_allclose(rec.responses[..., :4], rec.responses[..., 4:], atol=1e-5)
    # Each frame's response is the static response to that frame.
    frames = movies.stimuli(1)
    expected = model.responses(frames, "simple")[:, :, 8, 8].T  # centre of the 16 x 16 map
    np.testing.assert_allclose(rec.responses[1], expected, rtol=1e-6)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pooled = run_protocol(model, movies, "simple", batch_size=5, progress=False,
                              executor=pool)
    np.testing.assert_array_equal(pooled.responses, rec.responses)


def test_temporal_model_gets_movies_directly():
    movies = drifting_gratings(DISPLAY, directions=(0.0, 90.0), tfs=(2.0,), sf=SF,
                               duration=0.5, radius=1.0)
    rec = run_protocol(FrameMeans(), movies, "mean", progress=False)
    assert rec.responses.shape == (2, 1, 4)
    assert rec.meta["time_step"] == pytest.approx(1 / 8)  # bins are frames
    binned = run_protocol(FrameMeans(time_step=0.01), movies, "mean", progress=False)
    assert binned.meta["time_step"] == 0.01


class Pooled(FrameMeans):
    """A temporal model that records what it was shown and bins time in pairs of frames."""

    def responses(self, stimuli, layer):
        self.seen = stimuli.shape
        if stimuli.ndim == 3:  # a static image
            return stimuli.mean(axis=(1, 2))[:, None]
        means = stimuli.mean(axis=(2, 3))
        return means.reshape(len(stimuli), 1, -1, 2).mean(axis=-1)


def test_temporal_model_gets_images_unchanged_and_needs_its_bin_width():
    images = contrast_response(DISPLAY, contrasts=(0.5,), phases=(0.0, 90.0))
    model = Pooled()
    rec = run_protocol(model, images, "mean", progress=False)
    assert model.seen == (2, 32, 32) and rec.responses.shape == (2, 1)
    movies = drifting_gratings(DISPLAY, directions=(0.0,), duration=0.5)
    with pytest.raises(ValueError, match="does not define time_step"):
        run_protocol(model, movies, "mean", progress=False)
    rec = run_protocol(Pooled(time_step=0.25), movies, "mean", progress=False)
    assert rec.responses.shape == (1, 1, 2) and rec.meta["time_step"] == 0.25


def test_recording_from_a_run_round_trips(model, tuning, tmp_path):
    rec = run_protocol(model, tuning, "simple", progress=False)
    rec.save(tmp_path / "run.npz")
    loaded = Recording.load(tmp_path / "run.npz")
    np.testing.assert_array_equal(loaded.responses, rec.responses)
    assert loaded.meta == rec.meta
    assert loaded.unit_info["name"].tolist() == ["vertical", "horizontal"]


class _Broken(OrientedFilters):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def responses(self, stimuli, layer):
        out = super().responses(stimuli, layer)
        if self.mode == "count":
            return out[:-1]
        if self.mode == "nan":
            out = out.copy()
            out[0] = np.nan
            return out
        if self.mode == "shape":
            return out[:, 0]  # (n, 16, 16): three axes from a static model
        return out

    def unit_info(self, layer):
        if self.mode == "info":
            return {"orientation": np.zeros(3)}
        return super().unit_info(layer)


class _NoCoordinates(OrientedFilters):
    map_coordinates = None


def _empty_protocol():
    return Protocol("empty", DISPLAY, {"orientation": np.zeros(0)}, lambda d, r: None)


@pytest.mark.parametrize(
    ("make_model", "protocol", "kwargs", "error", "match"),
    [
        (object, None, {}, TypeError, "model must provide display, layers"),
        (OrientedFilters, "protocol", {}, TypeError, "protocol must provide"),
        (OrientedFilters, None, {"layer": "conv9"}, ValueError, "layer must be one of"),
        (OrientedFilters, _empty_protocol(), {}, ValueError, "has no stimuli"),
        (OrientedFilters, contrast_response(Display((16, 16), pixels_per_degree=8)), {},
         ValueError, r"protocol display has shape \(16, 16\)"),
        (OrientedFilters, contrast_response(Display((32, 32), pixels_per_degree=16)), {},
         ValueError, "pixels_per_degree"),
        (OrientedFilters, None, {"units": "center"}, ValueError, "units must be one of"),
        (OrientedFilters, None, {"units": [0, 512]}, IndexError, "units index 512"),
        (OrientedFilters, None, {"units": [0.5]}, TypeError, "units must be"),
        (OrientedFilters, None, {"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        (OrientedFilters, None, {"progress": "yes"}, TypeError, "progress must be"),
        (OrientedFilters, None, {"executor": 4}, TypeError, "executor must be"),
        (lambda: _Broken("count"), None, {}, ValueError, "returned 3 responses .* for 4 stimuli"),
        (lambda: _Broken("nan"), None, {}, ValueError, "NaN or infinite responses"),
        (lambda: _Broken("shape"), None, {}, ValueError, r"must return shape \(n, channels"),
        (lambda: _Broken("info"), None, {}, ValueError, "one value per channel"),
        (_NoCoordinates, None, {}, TypeError, "must provide map_coordinates"),
    ],
    ids=["no-interface", "bad-protocol", "unknown-layer", "empty", "display-shape",
         "display-ppd", "units-name", "units-range", "units-float", "batch-size", "progress",
         "executor", "response-count", "nan", "bad-shape", "unit-info-length",
         "no-map-coordinates"],
)
def test_clear_errors(make_model, protocol, kwargs, error, match):
    if protocol is None:
        protocol = contrast_response(DISPLAY, contrasts=(0.5, 1.0), phases=(0.0, 90.0))
    args = {"layer": "simple", "units": "centre", "batch_size": 4, "progress": False} | kwargs
    with pytest.raises(error, match=match):
        run_protocol(make_model(), protocol, args.pop("layer"), **args)
