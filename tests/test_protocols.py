"""Protocols: condition tables, lazy batches, defaults within the display, bad input."""

import math
import pickle

import numpy as np
import pytest

from stimuli.display import Display
from stimuli.gratings import drifting_grating, grating
from stimuli.protocols import (
    ALLEN_TFS,
    MARQUES_SFS,
    Protocol,
    annulus_tuning,
    contrast_response,
    drifting_gratings,
    list_protocols,
    orientation_tuning,
    rf_mapping,
    sf_tuning,
    size_tuning,
    static_gratings,
    white_noise_sequence,
)

DISPLAY = Display((32, 32), pixels_per_degree=8, frame_rate=16)  # 4 x 4 deg, Nyquist 4 c/deg


@pytest.mark.parametrize(
    ("factory", "kwargs", "n", "columns"),
    [
        (orientation_tuning, {}, 12 * 8 * 2,
         {"orientation", "phase", "sf", "contrast", "radius"}),
        (orientation_tuning, {"sfs": (1.0, 2.0, 3.0)}, 12 * 8 * 3,
         {"orientation", "phase", "sf", "contrast", "radius"}),
        (sf_tuning, {"orientations": (0.0, 90.0)}, 14 * 2 * 8,
         {"sf", "orientation", "phase", "contrast", "radius"}),
        (contrast_response, {}, 9 * 8, {"contrast", "phase", "orientation", "sf", "radius"}),
        (size_tuning, {"radii": (0.5, 1.0, math.inf)}, 3 * 8,
         {"radius", "phase", "orientation", "sf", "contrast", "x", "y"}),
        (annulus_tuning, {"inner_radii": (0.5, 1.0)}, 2 * 8,
         {"inner_radius", "radius", "phase", "orientation", "sf", "contrast", "x", "y"}),
        (drifting_gratings, {"tfs": (1.0, 2.0), "duration": 0.5}, 8 * 2,
         {"direction", "tf", "orientation", "sf", "phase", "contrast", "duration", "radius"}),
        (static_gratings, {}, 6 * 5 * 4, {"orientation", "sf", "phase", "contrast", "radius"}),
        (rf_mapping, {"grid": (3, 5)}, 3 * 5 * 4 * 4,
         {"x", "y", "orientation", "phase", "sf", "contrast", "radius"}),
        (rf_mapping, {"method": "sparse_noise", "grid": (4, 4)}, 4 * 4 * 2,
         {"x", "y", "polarity", "contrast"}),
        (white_noise_sequence, {"n": 7, "rng": 0}, 7, {"frame", "seed", "contrast"}),
    ],
    ids=["orientation", "orientation-3sf", "sf", "contrast", "size", "annulus", "drifting",
         "static", "rf-gratings", "rf-sparse", "white-noise"],
)
def test_condition_table_size_and_columns(factory, kwargs, n, columns):
    p = factory(DISPLAY, **kwargs)
    assert len(p) == len(p.conditions) == n
    assert set(p.conditions.names) == columns
    assert p.name == factory.__name__
    first = p.stimuli(0)
    assert first.dtype == np.float32
    assert first.shape == p.stimulus_shape
    assert np.all(np.abs(first) <= 1)


def test_orientation_tuning_is_the_marques_factorial():
    p = orientation_tuning(DISPLAY, sfs=(1.0, 2.0))
    c = p.conditions
    assert sorted(set(c["orientation"].tolist())) == list(range(0, 180, 15))
    assert sorted(set(c["phase"].tolist())) == list(range(0, 360, 45))
    # itertools.product(orientations, phases, sfs): sf varies fastest.
    assert c["sf"][:4].tolist() == [1.0, 2.0, 1.0, 2.0]
    assert c["phase"][:4].tolist() == [0.0, 0.0, 45.0, 45.0]
    assert np.all(np.isinf(c["radius"])) and np.all(c["contrast"] == 1.0)


def test_rendered_rows_are_the_gratings_they_describe():
    p = orientation_tuning(DISPLAY, sfs=(2.0,), radius=1.0)
    for i in (0, 17, len(p) - 1):
        row = p.conditions.row(i)
        expected = grating(DISPLAY, orientation=row["orientation"], sf=row["sf"],
                           phase=row["phase"], contrast=row["contrast"], radius=1.0)
        np.testing.assert_array_equal(p.stimuli(i), expected)
    movie_p = drifting_gratings(DISPLAY, directions=(45.0,), tfs=(2.0,), duration=0.5)
    np.testing.assert_array_equal(
        movie_p.stimuli(0),
        drifting_grating(DISPLAY, direction=45.0, sf=2.0, tf=2.0, duration=0.5))


@pytest.mark.parametrize(
    "protocol",
    [
        contrast_response(DISPLAY, phases=(0.0, 90.0)),
        drifting_gratings(DISPLAY, directions=(0.0, 90.0, 180.0), duration=0.25),
        white_noise_sequence(DISPLAY, 11, kind="binary", rng=3),
        rf_mapping(DISPLAY, method="sparse_noise", grid=(2, 3)),
    ],
    ids=["images", "movies", "white-noise", "sparse-noise"],
)
def test_lazy_batches_equal_stimuli_by_index(protocol):
    starts, batches = zip(*protocol.batches(4), strict=True)
    assert list(starts) == list(range(0, len(protocol), 4))
    stacked = np.concatenate(batches)
    np.testing.assert_array_equal(stacked, protocol.stimuli(np.arange(len(protocol))))
    picks = np.array([len(protocol) - 1, 0, 2])
    np.testing.assert_array_equal(protocol.stimuli(picks), stacked[picks])
    mask = np.zeros(len(protocol), bool)
    mask[1] = True
    np.testing.assert_array_equal(protocol.stimuli(mask), stacked[1:2])


def test_batches_are_generated_lazily():
    calls = []

    def render(display, row):
        calls.append(row["i"])
        return np.zeros(display.shape)

    p = Protocol("count", DISPLAY, {"i": np.arange(10)}, render)
    batches = p.batches(3)
    assert calls == []
    start, first = next(batches)
    assert (start, len(first), calls) == (0, 3, [0, 1, 2])


def test_white_noise_sequence_is_reproducible_per_stimulus():
    a = white_noise_sequence(DISPLAY, 6, rng=42)
    b = white_noise_sequence(DISPLAY, 6, rng=np.random.default_rng(42))
    c = white_noise_sequence(DISPLAY, 6, rng=43)
    np.testing.assert_array_equal(a.conditions["seed"], b.conditions["seed"])
    np.testing.assert_array_equal(a.stimuli([4]), b.stimuli([4]))
    assert not np.array_equal(a.stimuli([4]), c.stimuli([4]))
    assert len(np.unique(a.conditions["seed"])) == 6
    assert a.params == {"n": 6, "kind": "gaussian", "contrast": 1.0, "check_size": None,
                        "seed": 42}
    coarse = white_noise_sequence(DISPLAY, 2, kind="binary", check_size=0.25, rng=0)
    img = coarse.stimuli(0)
    np.testing.assert_array_equal(img[::2, ::2], img[1::2, 1::2])  # 2 x 2 pixel checks


def test_sparse_noise_squares_tile_the_grid():
    p = rf_mapping(DISPLAY, method="sparse_noise", grid=(4, 4))
    images = p.stimuli(np.arange(len(p)))
    on = images[p.conditions["polarity"] == 1]
    assert np.all(np.count_nonzero(on, axis=(1, 2)) == 8 * 8)  # 1-degree squares, 8 px
    np.testing.assert_array_equal(on.sum(axis=0), np.ones(DISPLAY.shape))
    off = images[p.conditions["polarity"] == -1]
    np.testing.assert_array_equal(off, -on)
    # The top-left square sits at the top-left of the image.
    assert (p.conditions["x"][0], p.conditions["y"][0]) == (-1.5, 1.5)
    assert on[0, :8, :8].min() == 1 and on[0, 8:].max() == 0


def test_rf_mapping_gratings_are_centred_on_the_grid():
    p = rf_mapping(DISPLAY, grid=(3, 3), orientations=(0.0,), phases=(0.0,), radius=0.5)
    x, y = DISPLAY.coordinates()
    for i in range(len(p)):
        row = p.conditions.row(i)
        weight = np.abs(p.stimuli(i)) > 0
        assert np.hypot(x - row["x"], y - row["y"])[weight].max() <= 0.5
    assert sorted(set(p.conditions["x"].tolist())) == pytest.approx([-4 / 3, 0.0, 4 / 3])


def test_size_tuning_defaults_fit_the_display():
    p = size_tuning(DISPLAY, phases=(0.0,))
    radii = np.array(p.params["radii"])
    assert radii.min() >= 1 / DISPLAY.pixels_per_degree
    assert radii.max() <= math.hypot(*DISPLAY.size_degrees) / 2
    x, y = DISPLAY.coordinates()
    for i, r in enumerate(p.conditions["radius"]):
        assert np.hypot(x, y)[p.stimuli(i) != 0].max() <= r


def test_annulus_has_a_hole():
    p = annulus_tuning(DISPLAY, inner_radii=(1.0,), outer_radius=1.8, phases=(0.0,))
    x, y = DISPLAY.coordinates()
    r = np.hypot(x, y)
    image = p.stimuli(0)
    assert np.all(image[r < 1.0] == 0) and np.all(image[r > 1.8] == 0)
    assert np.any(image[(r > 1.0) & (r < 1.8)] != 0)


def test_sf_defaults_stay_below_nyquist_and_explicit_sfs_above_raise():
    p = sf_tuning(DISPLAY, orientations=(0.0,), phases=(0.0,))
    assert max(p.params["sfs"]) < DISPLAY.nyquist_cpd
    assert p.params["sfs"] == [f for f in MARQUES_SFS if f < DISPLAY.nyquist_cpd]
    fine = Display((16, 16), pixels_per_degree=32)  # Nyquist 16 c/deg: all 22 fit
    assert len(sf_tuning(fine, orientations=(0.0,), phases=(0.0,))) == 22
    with pytest.raises(ValueError, match=r"sfs must be at most .* Nyquist .* 14\.7"):
        sf_tuning(DISPLAY, sfs=MARQUES_SFS)
    with pytest.raises(ValueError, match="sf must be at most"):
        contrast_response(DISPLAY, sf=5.0)


def test_drifting_gratings_reach_the_allen_frequencies():
    display = Display((8, 8), pixels_per_degree=4, frame_rate=60)
    p = drifting_gratings(display, tfs=ALLEN_TFS, duration=0.1)
    assert len(p) == 8 * 5 and p.kind == "movie"
    assert p.stimulus_shape == (6, 8, 8)
    np.testing.assert_array_equal(p.conditions["orientation"],
                                  np.mod(p.conditions["direction"], 180))
    with pytest.raises(ValueError, match="tfs must be below half the frame rate"):
        drifting_gratings(DISPLAY, tfs=(8.0,))  # DISPLAY runs at 16 frames/s


def test_static_gratings_allen_layout():
    p = static_gratings(DISPLAY)
    assert p.params["sfs"] == [0.02, 0.04, 0.08, 0.16, 0.32]
    assert sorted(set(p.conditions["orientation"].tolist())) == [0, 30, 60, 90, 120, 150]
    assert sorted(set(p.conditions["phase"].tolist())) == [0, 90, 180, 270]


def test_repr_shows_name_count_and_params():
    text = repr(contrast_response(DISPLAY, phases=(0.0, 180.0)))
    assert text.startswith("Protocol('contrast_response', 18 images on 32x32 px at 8 px/deg")
    assert "contrasts=[0, 0.01, 0.02" in text and "sf=2" in text and "phases=[0, 180]" in text
    assert "movies of 8 frames" in repr(drifting_gratings(DISPLAY, duration=0.5))


def test_every_registered_protocol_builds_with_defaults():
    registry = list_protocols()
    assert set(registry) >= {"orientation_tuning", "sf_tuning", "contrast_response",
                             "size_tuning", "drifting_gratings", "static_gratings",
                             "rf_mapping", "white_noise_sequence"}
    coarse = Display((16, 16), pixels_per_degree=2)  # Nyquist 1 c/deg
    for name, factory in registry.items():
        for display in (DISPLAY, coarse):
            p = factory(display)
            assert p.name == name and len(p) > 0
            assert name in repr(p)
            assert p.stimuli(len(p) - 1).shape == p.stimulus_shape


def test_protocols_pickle_for_process_pools():
    for p in (orientation_tuning(DISPLAY, sfs=(2.0,)), white_noise_sequence(DISPLAY, 3, rng=1),
              rf_mapping(DISPLAY, method="sparse_noise", grid=(2, 2)),
              drifting_gratings(DISPLAY, duration=0.25)):
        q = pickle.loads(pickle.dumps(p))
        np.testing.assert_array_equal(q.stimuli([0, len(p) - 1]), p.stimuli([0, len(p) - 1]))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: orientation_tuning(DISPLAY, orientations=(0.0, np.nan)), ValueError,
         "orientations must be finite"),
        (lambda: orientation_tuning(DISPLAY, orientations=(180.0,)), ValueError,
         r"orientations must be in \[0, 180\)"),
        (lambda: orientation_tuning(DISPLAY, phases=()), ValueError, "phases must not be empty"),
        (lambda: orientation_tuning(DISPLAY, contrast=1.5), ValueError, "contrast must be in"),
        (lambda: orientation_tuning(DISPLAY, sfs=(0.0,)), ValueError, "sfs must be positive"),
        (lambda: orientation_tuning(DISPLAY, radius=-1.0), ValueError, "radius must be positive"),
        (lambda: orientation_tuning("display"), TypeError, "display must be"),
        (lambda: contrast_response(DISPLAY, contrasts=(0.5, 2.0)), ValueError, "contrasts must"),
        (lambda: contrast_response(DISPLAY, orientation=np.inf), ValueError,
         "orientation must be finite"),
        (lambda: size_tuning(DISPLAY, radii=(0.0, 1.0)), ValueError, "radii must be positive"),
        (lambda: size_tuning(DISPLAY, radii=(0.1, 1.0), edge_width=0.5), ValueError,
         "edge_width must be at most"),
        (lambda: size_tuning(DISPLAY, center=(0.0,)), ValueError, "center must be"),
        (lambda: annulus_tuning(DISPLAY, inner_radii=(1.0,), outer_radius=1.0), ValueError,
         "inner_radii must be smaller"),
        (lambda: drifting_gratings(DISPLAY, directions=(360.0,)), ValueError, "directions must"),
        (lambda: drifting_gratings(DISPLAY, tfs=(-1.0,)), ValueError, "tfs must be positive"),
        (lambda: drifting_gratings(DISPLAY, duration=0.0), ValueError, "duration must be"),
        (lambda: rf_mapping(DISPLAY, method="bars"), ValueError, "method must be one of"),
        (lambda: rf_mapping(DISPLAY, grid=(0, 3)), ValueError, r"grid\[0\]"),
        (lambda: rf_mapping(DISPLAY, grid=(2.5, 3)), TypeError, r"grid\[0\]"),
        (lambda: rf_mapping(DISPLAY, grid=5), ValueError, "grid must be"),
        (lambda: rf_mapping(DISPLAY, method="sparse_noise", polarities=(2,)), ValueError,
         "polarities"),
        (lambda: rf_mapping(DISPLAY, method="sparse_noise", sf=2.0), ValueError, "sf apply"),
        (lambda: rf_mapping(DISPLAY, extent=(1.0, -1.0)), ValueError, "extent must be"),
        (lambda: white_noise_sequence(DISPLAY, 0), ValueError, "n must be >= 1"),
        (lambda: white_noise_sequence(DISPLAY, 2.5), TypeError, "n must be an integer"),
        (lambda: white_noise_sequence(DISPLAY, 3, kind="pink"), ValueError, "kind must be"),
        (lambda: white_noise_sequence(DISPLAY, 3, check_size=0.1), ValueError, "check_size"),
        (lambda: white_noise_sequence(DISPLAY, 3, rng="seed"), TypeError, "rng must be"),
        (lambda: contrast_response(DISPLAY).batches(0), ValueError, "batch_size must be >= 1"),
        (lambda: contrast_response(DISPLAY).stimuli([100]), IndexError, "index value 100"),
        (lambda: contrast_response(DISPLAY).stimuli([0.5]), TypeError, "index must be integers"),
        (lambda: Protocol("p", DISPLAY, {"a": [1]}, len, kind="sound"), ValueError,
         "kind must be one of"),
        (lambda: Protocol("p", DISPLAY, {"a": [1]}, "render"), TypeError, "render must be"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_input_names_the_parameter(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------ image_set and concatenate


def test_image_set_shows_the_given_images_in_order():
    from stimuli.protocols import image_set

    display = Display((6, 6), pixels_per_degree=3)
    images = np.random.default_rng(0).uniform(-1, 1, (5, 6, 6))
    protocol = image_set(display, images, name="patches", params={"source": "test"})
    assert protocol.name == "patches" and protocol.params == {"source": "test"}
    np.testing.assert_array_equal(protocol.stimuli(np.arange(5)), images.astype(np.float32))
    starts = [start for start, _ in protocol.batches(2)]
    assert starts == [0, 2, 4]


@pytest.mark.parametrize(
    ("images", "error", "match"),
    [(np.zeros((2, 5, 6)), ValueError, r"images must have shape \(n, 6, 6\)"),
     (np.full((1, 6, 6), np.nan), ValueError, "images must be finite"),
     (np.zeros((6, 6)), ValueError, r"\(n, rows, cols\)")],
    ids=["wrong-size", "nan", "single-image"],
)
def test_image_set_rejects_bad_images(images, error, match):
    from stimuli.protocols import image_set

    with pytest.raises(error, match=match):
        image_set(Display((6, 6), pixels_per_degree=3), images)


def test_concatenate_renders_each_row_with_its_part():
    from stimuli import protocols

    display = Display((16, 16), pixels_per_degree=4)
    parts = [protocols.size_tuning(display, orientation=o, sf=1.0, radii=(0.5, 1.5))
             for o in (0.0, 90.0)]
    both = protocols.concatenate(parts, name="size_tuning")
    assert len(both) == sum(len(p) for p in parts)
    assert both.conditions["orientation"].tolist() == (
        parts[0].conditions["orientation"].tolist() + parts[1].conditions["orientation"].tolist())
    np.testing.assert_array_equal(both.stimuli(np.arange(len(both))),
                                  np.concatenate([p.stimuli(np.arange(len(p))) for p in parts]))
    assert both.params["protocols"] == [p.params for p in parts]


def test_concatenate_refuses_parts_that_differ():
    from stimuli import protocols

    display = Display((16, 16), pixels_per_degree=4)
    with pytest.raises(ValueError, match="at least one"):
        protocols.concatenate([], name="none")
    with pytest.raises(ValueError, match="cannot concatenate protocols with columns"):
        protocols.concatenate([protocols.size_tuning(display, sf=1.0),
                               protocols.sf_tuning(display, sfs=(1.0,))], name="mixed")
