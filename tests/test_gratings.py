"""Properties of the grating, plaid, bar, edge, Gabor-patch and movie generators."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stimuli.display import Display
from stimuli.gratings import (
    aperture,
    bar,
    counterphase_grating,
    drifting_grating,
    edge,
    gabor_patch,
    grating,
    plaid,
    uniform,
)

FAST = settings(max_examples=40, deadline=None)
angles = st.floats(0.0, 360.0, allow_nan=False, exclude_max=True)
contrasts = st.floats(0.05, 1.0)


def michelson(image: np.ndarray) -> float:
    """Michelson contrast of a contrast-unit image (luminance = mean · (1 + image))."""
    lmax, lmin = 1.0 + float(image.max()), 1.0 + float(image.min())
    return (lmax - lmin) / (lmax + lmin)


def spectral_peak(image: np.ndarray, ppd: float, pad: int = 512) -> np.ndarray:
    """(fx, fy) in c/deg, +y up, of the largest Hann-windowed, zero-padded FFT bin."""
    rows, cols = image.shape
    window = np.outer(np.hanning(rows), np.hanning(cols))
    power = np.abs(np.fft.fft2(image * window, s=(pad, pad)))
    r, c = np.unravel_index(np.argmax(power), power.shape)
    # Row frequencies count downward on the screen; y is up, hence the minus sign.
    return np.array([np.fft.fftfreq(pad)[c], -np.fft.fftfreq(pad)[r]]) * ppd


# ------------------------------------------------------------------ orientation and sf
@FAST
@given(orientation=st.floats(0.0, 180.0, exclude_max=True), sf=st.floats(1.0, 6.0),
       phase=angles, contrast=contrasts)
def test_fourier_peak_at_requested_orientation_and_sf(orientation, sf, phase, contrast):
    ppd, pad = 16.0, 512
    image = grating(Display((128, 128), ppd), orientation=orientation, sf=sf, phase=phase,
                    contrast=contrast)
    measured = spectral_peak(image, ppd, pad)
    theta = np.deg2rad(orientation)
    expected = sf * np.array([np.cos(theta), np.sin(theta)])
    # The peak bin is the bin nearest ±expected: half a bin in each axis.
    half_bin = 0.5 * ppd / pad
    error = min(np.abs(measured - expected).max(), np.abs(measured + expected).max())
    assert error <= half_bin * 1.001
    assert np.hypot(*measured) == pytest.approx(sf, abs=math.sqrt(2) * half_bin)
    angle = np.rad2deg(np.arctan2(measured[1], measured[0])) % 180
    diff = (angle - orientation + 90) % 180 - 90
    assert abs(diff) <= np.rad2deg(np.arcsin(math.sqrt(2) * half_bin / sf)) + 1e-9


@pytest.mark.parametrize(
    ("orientation", "shift"),
    [(0.0, (1, 0)), (90.0, (0, 1)), (45.0, (1, 1)), (135.0, (1, -1))],
    ids=["0-vertical-bars", "90-horizontal-bars", "45-bars-along-row-diagonal",
         "135-bars-along-anti-diagonal"],
)
def test_bars_run_perpendicular_to_wave_vector_with_y_up(orientation, shift):
    """θ = 45° (wave vector up-right) has bars running down-right on screen: row+1, col+1."""
    image = grating(Display((40, 40), 8.0), orientation=orientation, sf=1.0, phase=30.0)
    dr, dc = shift  # image[r + dr, c + dc] == image[r, c]
    moved = image[max(dr, 0):40 + min(dr, 0), max(dc, 0):40 + min(dc, 0)]
    start = image[max(-dr, 0):40 + min(-dr, 0), max(-dc, 0):40 + min(-dc, 0)]
    np.testing.assert_allclose(moved, start, atol=1e-6)
    assert image.std() > 0.5


def test_phase_zero_puts_bright_bar_through_center():
    image = grating(Display((33, 33), 16.0), orientation=30.0, sf=2.0, center=(0.25, -0.5))
    row, col = Display((33, 33), 16.0).position_to_pixel(0.25, -0.5)
    assert image[int(row), int(col)] == pytest.approx(1.0, abs=1e-6)


# -------------------------------------------------------------------- mean and contrast
@FAST
@given(kx=st.integers(-6, 6), ky=st.integers(0, 6), phase=angles, contrast=contrasts,
       waveform=st.sampled_from(["sine", "square"]),
       cx=st.floats(-1, 1), cy=st.floats(-1, 1))
def test_whole_cycles_have_mean_zero_and_requested_contrast(kx, ky, phase, contrast,
                                                            waveform, cx, cy):
    if kx == 0 and ky == 0:
        return
    display = Display((64, 96), 16.0)  # 4 deg high, 6 deg wide
    height, width = display.size_degrees
    fx, fy = kx / width, ky / height  # whole cycles across the display in each axis
    image = grating(display, orientation=np.rad2deg(np.arctan2(fy, fx)), sf=np.hypot(fx, fy),
                    phase=phase, contrast=contrast, waveform=waveform, center=(cx, cy))
    assert image.dtype == np.float32
    assert np.abs(image).max() <= contrast
    # A square-wave sample that rounding puts on either side of a light/dark boundary
    # may unbalance the mean by contrast / N; count samples within 1e-9 cycles of one.
    x, y = display.coordinates()
    cycles = fx * (x - cx) + fy * (y - cy) + phase / 360
    near = np.abs(np.abs(cycles - np.round(cycles)) - 0.25) < 1e-9
    slack = contrast * near.sum() / near.size if waveform == "square" else 0.0
    assert abs(float(image.mean(dtype=np.float64))) <= 1e-6 + slack
    if waveform == "square":
        assert michelson(image) == pytest.approx(contrast, abs=1e-6)
        assert set(np.unique(np.abs(image))) <= {np.float32(0), np.float32(contrast)}
    else:
        # The sample nearest a peak is within half a pixel in x and y of it.
        phase_error = np.pi * (abs(fx) + abs(fy)) / display.pixels_per_degree
        assert contrast * np.cos(phase_error) - 1e-6 <= michelson(image) <= contrast + 1e-6


def test_square_wave_takes_plus_minus_contrast_with_half_duty_cycle():
    image = grating(Display((32, 64), 16.0), sf=1.0, contrast=0.6, waveform="square")
    assert sorted(np.unique(image).tolist()) == pytest.approx([-0.6, 0.6])
    # Bright half cycle centred on x = 0: |x| < 0.25 deg.
    x, _ = Display((32, 64), 16.0).coordinates()
    np.testing.assert_array_equal(image > 0, np.abs(x - np.round(x)) < 0.25)


def test_square_wave_samples_on_a_boundary_are_zero():
    # 45 deg with fx = fy = 1 c/deg puts pixel centres exactly on light/dark boundaries.
    image = grating(Display((32, 32), 16.0), orientation=45.0, sf=math.sqrt(2),
                    waveform="square")
    assert set(np.unique(image).tolist()) == {-1.0, 0.0, 1.0}
    assert float(image.mean(dtype=np.float64)) == pytest.approx(0.0, abs=1e-9)


# ------------------------------------------------------------------------------ aperture
def test_hard_aperture_radius_in_degrees():
    display = Display((101, 101), 10.0)
    mask = aperture(display, radius=1.3)  # 13 px
    assert mask[50, 50 + 13] == 1 and mask[50, 50 + 14] == 0
    assert mask[50 - 13, 50] == 1 and mask[50 - 14, 50] == 0
    assert set(np.unique(mask).tolist()) == {0.0, 1.0}


@FAST
@given(radius=st.floats(0.5, 2.0), edge_fraction=st.floats(0.0, 1.0),
       cx=st.floats(-0.5, 0.5), cy=st.floats(-0.5, 0.5))
def test_aperture_area_and_centroid(radius, edge_fraction, cx, cy):
    ppd = 16.0
    display = Display((96, 96), ppd)
    edge_width = edge_fraction * radius
    mask = aperture(display, radius=radius, edge_width=edge_width, center=(cx, cy))
    assert mask.min() >= 0 and mask.max() <= 1
    # The edge is centred on the radius: area = π R² + w² (π/4 - 2/π) exactly in the
    # continuum; pixelisation adds at most about one pixel along the perimeter.
    area = mask.sum(dtype=np.float64) / ppd**2
    expected = np.pi * radius**2 + edge_width**2 * (np.pi / 4 - 2 / np.pi)
    assert area == pytest.approx(expected, abs=2 * np.pi * radius / ppd)
    x, y = display.coordinates()
    assert np.average(x, weights=mask) == pytest.approx(cx, abs=0.5 / ppd)
    assert np.average(y, weights=mask) == pytest.approx(cy, abs=0.5 / ppd)


def test_raised_cosine_edge_profile():
    display = Display((1, 201), 20.0)  # x = -5 .. 5 deg in 0.05 deg steps
    mask = aperture(display, radius=2.0, edge_width=1.0)[0]
    x, _ = display.coordinates()
    r = np.abs(x[0])
    assert np.all(mask[r <= 1.5] == 1) and np.all(mask[r >= 2.5] == 0)
    assert mask[np.argmin(np.abs(x[0] - 2.0))] == pytest.approx(0.5, abs=1e-6)
    right = mask[100:]
    assert np.all(np.diff(right) <= 0)  # monotone fall-off


def test_center_is_in_degrees_with_y_up():
    mask = aperture(Display((64, 64), 16.0), radius=0.5, center=(0.0, 1.0))
    rows = np.nonzero(mask.any(axis=1))[0]
    assert rows.max() < 32  # the disc is in the top half of the screen


def test_annulus_is_zero_inside_and_one_between_radii():
    display = Display((101, 101), 10.0)
    mask = aperture(display, radius=4.0, inner_radius=2.0, edge_width=0.4)
    x, y = display.coordinates()
    r = np.hypot(x, y)
    assert np.all(mask[r <= 1.8] == 0)
    assert np.all(mask[(r >= 2.2) & (r <= 3.8)] == 1)
    assert np.all(mask[r >= 4.2] == 0)
    disc, hole = aperture(display, radius=2.0), aperture(display, inner_radius=2.0)
    np.testing.assert_array_equal(disc + hole, 1)  # hard edges complement exactly


@pytest.mark.parametrize("radius", [None, math.inf], ids=["None", "inf"])
def test_full_field_aperture(radius):
    display = Display((8, 8), 4.0)
    np.testing.assert_array_equal(aperture(display, radius=radius), 1)
    np.testing.assert_array_equal(grating(display, radius=radius), grating(display))


def test_grating_in_aperture_is_grating_times_mask():
    display = Display((64, 64), 16.0)
    kwargs = {"center": (0.3, -0.2)}
    window = {"radius": 1.0, "edge_width": 0.3, "inner_radius": 0.4}
    windowed = grating(display, orientation=20, sf=3, **kwargs, **window)
    np.testing.assert_allclose(
        windowed, grating(display, orientation=20, sf=3, **kwargs) * aperture(
            display, **kwargs, **window), atol=1e-6)


# ---------------------------------------------------------------------------------- plaid
def test_one_component_plaid_is_a_grating():
    display = Display((32, 32), 16.0)
    np.testing.assert_array_equal(
        plaid(display, orientations=[30.0], sf=2.0, phases=45.0, contrast=0.5),
        grating(display, orientation=30.0, sf=2.0, phase=45.0, contrast=0.5))


@pytest.mark.parametrize("contrast", [0.2, 1.0])
def test_two_component_plaid_has_requested_michelson_contrast(contrast):
    # Odd size puts a pixel on the common peak; a 1 c/deg period of 16 px puts one on
    # the common trough (x = y = 0.5 deg).
    display = Display((65, 65), 16.0)
    image = plaid(display, orientations=(0.0, 90.0), sf=1.0, contrast=contrast)
    assert michelson(image) == pytest.approx(contrast, abs=1e-6)
    expected = 0.5 * (grating(display, sf=1.0, contrast=contrast)
                      + grating(display, orientation=90.0, sf=1.0, contrast=contrast))
    np.testing.assert_allclose(image, expected, atol=1e-6)


def test_plaid_per_component_sf_and_phase():
    display = Display((32, 32), 16.0)
    image = plaid(display, orientations=(0.0, 60.0), sf=(1.0, 3.0), phases=(0.0, 90.0))
    expected = 0.5 * (grating(display, sf=1.0) + grating(display, orientation=60.0, sf=3.0,
                                                        phase=90.0))
    np.testing.assert_allclose(image, expected, atol=1e-6)


# ------------------------------------------------------------------------- bars and edges
@pytest.mark.parametrize(
    ("orientation", "polarity", "n_rows", "n_cols", "sign"),
    [(0.0, 1, 11, 3, 1), (0.0, "dark", 11, 3, -1), (90.0, "light", 3, 11, 1),
     (90.0, -1, 3, 11, -1)],
    ids=["0-light", "0-dark", "90-light", "90-dark"],
)
def test_bar_size_orientation_and_polarity(orientation, polarity, n_rows, n_cols, sign):
    display = Display((21, 21), 10.0)  # pixel centres every 0.1 deg, one at the origin
    image = bar(display, orientation=orientation, length=1.05, width=0.25,
                polarity=polarity, contrast=0.7)
    rows, cols = np.nonzero(image)
    assert len(set(rows)) == n_rows and len(set(cols)) == n_cols
    assert len(rows) == n_rows * n_cols
    assert np.all(image[rows, cols] == np.float32(sign * 0.7))


@FAST
@given(orientation=st.floats(0.0, 180.0))
def test_bar_lies_on_the_bright_bar_of_the_same_orientation_grating(orientation):
    display = Display((64, 64), 16.0)
    width, sf = 0.3, 0.25
    on = bar(display, orientation=orientation, length=math.inf, width=width) > 0
    carrier = grating(display, orientation=orientation, sf=sf)
    assert on.sum() > 64
    assert carrier[on].min() >= np.cos(np.pi * sf * width) - 1e-6


@pytest.mark.parametrize(
    ("orientation", "polarity", "light_side"),
    [(0.0, 1, "right"), (0.0, "dark", "left"), (90.0, "light", "top"), (180.0, 1, "left")],
    ids=["0-light-right", "0-dark-left-light", "90-light-top", "180-light-left"],
)
def test_edge_sides(orientation, polarity, light_side):
    image = edge(Display((20, 20), 10.0), orientation=orientation, polarity=polarity,
                 contrast=0.5)
    halves = {"right": image[:, 10:], "left": image[:, :10], "top": image[:10],
              "bottom": image[10:]}
    opposite = {"right": "left", "left": "right", "top": "bottom", "bottom": "top"}
    np.testing.assert_array_equal(halves[light_side], 0.5)
    np.testing.assert_array_equal(halves[opposite[light_side]], -0.5)
    assert michelson(image) == pytest.approx(0.5)


def test_edge_through_offset_center():
    image = edge(Display((1, 11), 1.0), center=(2.0, 0.0))
    assert image[0].tolist() == [-1.0] * 7 + [0.0] + [1.0] * 3


# ------------------------------------------------------------------------- gabor, uniform
def test_gabor_patch_is_carrier_times_envelope_with_sigma_x_across_bars():
    display = Display((65, 65), 16.0)
    image = gabor_patch(display, orientation=0.0, sf=2.0, phase=0.0, sigma_x=0.2,
                        sigma_y=0.8, contrast=0.9)
    x, y = display.coordinates()
    expected = 0.9 * np.cos(2 * np.pi * 2.0 * x) * np.exp(
        -x**2 / (2 * 0.2**2) - y**2 / (2 * 0.8**2))
    np.testing.assert_allclose(image, expected, atol=1e-6)
    assert image[32, 32] == pytest.approx(0.9)


@FAST
@given(orientation=angles, phase=angles, sigma=st.floats(0.1, 0.6))
def test_gabor_patch_default_sigma_y_and_range(orientation, phase, sigma):
    display = Display((48, 48), 16.0)
    circular = gabor_patch(display, orientation=orientation, phase=phase, sigma_x=sigma)
    explicit = gabor_patch(display, orientation=orientation, phase=phase, sigma_x=sigma,
                           sigma_y=sigma)
    np.testing.assert_array_equal(circular, explicit)
    assert np.abs(circular).max() <= 1.0


def test_gabor_patch_fourier_peak_orientation():
    display = Display((128, 128), 16.0)
    image = gabor_patch(display, orientation=60.0, sf=3.0, phase=90.0, sigma_x=1.0)
    fx, fy = spectral_peak(image, 16.0)
    assert np.rad2deg(np.arctan2(fy, fx)) % 180 == pytest.approx(60.0, abs=1.0)
    assert np.hypot(fx, fy) == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize(("contrast", "polarity", "value"),
                         [(0.0, 1, 0.0), (0.0, "dark", 0.0), (0.4, "light", 0.4),
                          (0.4, -1, -0.4)], ids=["grey", "grey-dark", "light", "dark"])
def test_uniform(contrast, polarity, value):
    image = uniform(Display((3, 4), 1.0), contrast=contrast, polarity=polarity)
    assert image.shape == (3, 4) and image.dtype == np.float32
    np.testing.assert_array_equal(image, np.float32(value))
    assert not np.signbit(image).any() or value < 0


# ------------------------------------------------------------------------------ movies
@FAST
@given(tf=st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0, 12.0, 15.0, 20.0]),
       direction=angles, phase=angles)
def test_drifting_grating_repeats_every_frame_rate_over_tf_frames(tf, direction, phase):
    display = Display((16, 16), 8.0, frame_rate=60.0)
    movie = drifting_grating(display, direction=direction, sf=1.0, tf=tf, duration=1.0,
                             phase=phase)
    assert movie.shape == (60, 16, 16) and movie.dtype == np.float32
    period = round(60 / tf)
    np.testing.assert_allclose(movie[period:], movie[:-period], atol=1e-6)
    if period > 1:
        assert np.abs(movie[1] - movie[0]).max() > 1e-3


@pytest.mark.parametrize(
    ("direction", "roll"),
    [(0.0, (0, 1)), (90.0, (-1, 0)), (180.0, (0, -1)), (270.0, (1, 0))],
    ids=["0-right", "90-up", "180-left", "270-down"],
)
def test_drifting_grating_moves_one_pixel_per_frame_along_direction(direction, roll):
    # tf / sf / frame_rate = 4 / 1 / 64 deg per frame = 1 px at 16 px/deg; 64 px = 4 periods.
    display = Display((64, 64), 16.0, frame_rate=64.0)
    movie = drifting_grating(display, direction=direction, sf=1.0, tf=4.0, duration=0.1)
    for k in range(len(movie) - 1):
        np.testing.assert_allclose(movie[k + 1], np.roll(movie[k], roll, axis=(0, 1)),
                                   atol=1e-6)


@FAST
@given(direction=angles, sf=st.floats(1.5, 4.0), tf=st.floats(0.5, 8.0))
def test_drifting_grating_velocity_measured_from_fft_phase(direction, sf, tf):
    """The Fourier phase at the spectral peak advances so the pattern moves along +direction
    at tf / sf deg/s; the velocity estimate is the same whichever of ±k the peak is."""
    ppd, rate, pad = 16.0, 60.0, 256
    display = Display((96, 96), ppd, frame_rate=rate)
    movie = drifting_grating(display, direction=direction, sf=sf, tf=tf, duration=2 / rate)
    window = np.outer(np.hanning(96), np.hanning(96))
    spectra = np.fft.fft2(movie * window, s=(pad, pad))
    r, c = np.unravel_index(np.argmax(np.abs(spectra[0])), (pad, pad))
    k = np.array([np.fft.fftfreq(pad)[c], -np.fft.fftfreq(pad)[r]]) * ppd  # c/deg, y up
    # F(k) ∝ exp(-2πi k·v t): phase step dψ = -2π k·v / rate.
    dpsi = np.angle(spectra[1, r, c] / spectra[0, r, c])
    velocity = -dpsi * rate / (2 * np.pi) * k / np.dot(k, k)
    heading = np.rad2deg(np.arctan2(velocity[1], velocity[0]))
    assert (heading - direction + 180) % 360 - 180 == pytest.approx(0.0, abs=3.0)
    assert np.hypot(*velocity) == pytest.approx(tf / sf, rel=0.05)


@FAST
@given(data=st.data(), direction=angles, tf=st.floats(0.0, 29.0),
       waveform=st.sampled_from(["sine", "square"]))
def test_single_frames_regenerate_identically(data, direction, tf, waveform):
    display = Display((12, 16), 8.0, frame_rate=60.0)
    kwargs = {"direction": direction, "sf": 1.5, "tf": tf, "duration": 0.5, "phase": 33.0,
              "waveform": waveform, "radius": 0.8, "edge_width": 0.2}
    movie = drifting_grating(display, **kwargs)
    k = data.draw(st.integers(0, len(movie) - 1))
    np.testing.assert_array_equal(drifting_grating(display, **kwargs, frames=k), movie[k])
    index = data.draw(st.lists(st.integers(0, len(movie) - 1), max_size=5))
    np.testing.assert_array_equal(
        drifting_grating(display, **kwargs, frames=np.array(index, dtype=int)), movie[index])


def test_drifting_frame_equals_grating_with_shifted_phase():
    display = Display((32, 32), 16.0, frame_rate=60.0)
    movie = drifting_grating(display, direction=30.0, sf=2.0, tf=3.0, duration=0.25,
                             phase=10.0, contrast=0.8, radius=0.7)
    assert len(movie) == display.n_frames(0.25) == 15
    for k in (0, 7, 14):
        expected = grating(display, orientation=30.0, sf=2.0, phase=10.0 - 360 * 3.0 * k / 60,
                           contrast=0.8, radius=0.7)
        np.testing.assert_allclose(movie[k], expected, atol=1e-6)


def test_counterphase_is_standing_wave():
    display = Display((32, 32), 16.0, frame_rate=60.0)
    kwargs = {"orientation": 45.0, "sf": 2.0, "tf": 5.0, "duration": 0.5, "contrast": 0.9}
    movie = counterphase_grating(display, **kwargs)
    static = grating(display, orientation=45.0, sf=2.0, contrast=0.9)
    gains = np.cos(2 * np.pi * 5.0 * np.arange(30) / 60.0)
    np.testing.assert_allclose(movie, gains[:, None, None] * static, atol=1e-6)
    np.testing.assert_allclose(movie[6], -movie[0], atol=1e-6)  # half a period apart
    np.testing.assert_allclose(movie[12:], movie[:-12], atol=1e-6)  # one period
    np.testing.assert_array_equal(counterphase_grating(display, **kwargs, frames=7), movie[7])
    np.testing.assert_array_equal(counterphase_grating(display, **kwargs, frames=[3, 1]),
                                  movie[[3, 1]])


def test_zero_tf_is_static():
    display = Display((8, 8), 8.0)
    movie = drifting_grating(display, sf=1.0, tf=0.0, duration=0.1)
    np.testing.assert_array_equal(movie, np.broadcast_to(grating(display, sf=1.0), movie.shape))


# ------------------------------------------------------------------------- bad arguments
D = Display((32, 32), 16.0, frame_rate=60.0)  # Nyquist 8 c/deg; 60 Hz

BAD = [
    # function, kwargs, exception, message
    (grating, {"orientation": math.nan}, ValueError, "orientation must be finite"),
    (grating, {"orientation": "up"}, TypeError, "orientation must be a real number"),
    (grating, {"sf": math.inf}, ValueError, "sf must be finite"),
    (grating, {"sf": 0.0}, ValueError, "sf must be positive"),
    (grating, {"sf": -2.0}, ValueError, "sf must be positive"),
    (grating, {"sf": 9.0}, ValueError, "sf must be at most the display's Nyquist"),
    (grating, {"phase": math.nan}, ValueError, "phase must be finite"),
    (grating, {"contrast": 1.5}, ValueError, r"contrast must be in \[0.0, 1.0\]"),
    (grating, {"contrast": -0.1}, ValueError, r"contrast must be in \[0.0, 1.0\]"),
    (grating, {"contrast": math.nan}, ValueError, "contrast must be finite"),
    (grating, {"waveform": "triangle"}, ValueError, "waveform must be one of"),
    (grating, {"center": (0.0, math.nan)}, ValueError, "center must be finite"),
    (grating, {"center": (1.0, 2.0, 3.0)}, ValueError, "center must be"),
    (grating, {"radius": 0.0}, ValueError, "radius must be positive"),
    (grating, {"radius": -1.0}, ValueError, "radius must be positive"),
    (grating, {"radius": math.nan}, ValueError, "radius must be finite"),
    (grating, {"radius": -math.inf}, ValueError, "radius must be finite"),
    (grating, {"edge_width": -0.1}, ValueError, "edge_width must be non-negative"),
    (grating, {"radius": 1.0, "edge_width": 3.0}, ValueError,
     r"edge_width must be at most 2 \* radius"),
    (grating, {"radius": 1.0, "inner_radius": 2.0}, ValueError, "inner_radius must be smaller"),
    (grating, {"inner_radius": 0.0}, ValueError, "inner_radius must be positive"),
    (aperture, {"radius": 0.0}, ValueError, "radius must be positive"),
    (aperture, {"edge_width": math.inf}, ValueError, "edge_width must be finite"),
    (aperture, {"inner_radius": 0.2, "edge_width": 0.5}, ValueError,
     r"edge_width must be at most 2 \* inner_radius"),
    (aperture, {"radius": 1.0, "inner_radius": 0.8, "edge_width": 0.3}, ValueError,
     "smaller than radius by at least edge_width"),
    (plaid, {"orientations": []}, ValueError, "orientations must not be empty"),
    (plaid, {"orientations": [0.0, math.nan]}, ValueError, "orientations must be finite"),
    (plaid, {"sf": [1.0, 2.0, 3.0]}, ValueError, "sf must be a scalar or have one value"),
    (plaid, {"sf": [1.0, 0.0]}, ValueError, "sf must be positive"),
    (plaid, {"phases": math.inf}, ValueError, "phases must be finite"),
    (plaid, {"contrast": 2.0}, ValueError, "contrast must be in"),
    (bar, {"width": 0.0}, ValueError, "width must be positive"),
    (bar, {"length": -1.0}, ValueError, "length must be positive"),
    (bar, {"length": math.nan}, ValueError, "length must be finite"),
    (bar, {"polarity": 0}, ValueError, "polarity must be"),
    (bar, {"polarity": "up"}, ValueError, "polarity must be"),
    (bar, {"polarity": True}, ValueError, "polarity must be"),
    (bar, {"center": (10.0, 0.0)}, ValueError, "covers no pixel"),
    (edge, {"orientation": math.inf}, ValueError, "orientation must be finite"),
    (edge, {"polarity": 2}, ValueError, "polarity must be"),
    (edge, {"contrast": 1.01}, ValueError, "contrast must be in"),
    (gabor_patch, {"sigma_x": 0.0}, ValueError, "sigma_x must be positive"),
    (gabor_patch, {"sigma_y": -1.0}, ValueError, "sigma_y must be positive"),
    (gabor_patch, {"sf": math.nan}, ValueError, "sf must be finite"),
    (uniform, {"contrast": 1.1}, ValueError, "contrast must be in"),
    (uniform, {"polarity": "bright"}, ValueError, "polarity must be"),
    (drifting_grating, {"duration": 0.0}, ValueError, "duration must be positive"),
    (drifting_grating, {"duration": 0.001}, ValueError, "duration must last at least one frame"),
    (drifting_grating, {"duration": math.inf}, ValueError, "duration must be finite"),
    (drifting_grating, {"tf": -1.0}, ValueError, "tf must be non-negative"),
    (drifting_grating, {"tf": 30.0}, ValueError, "tf must be below half the frame rate"),
    (drifting_grating, {"direction": math.nan}, ValueError, "direction must be finite"),
    (drifting_grating, {"frames": 1.5}, TypeError, "frames must be an integer"),
    (drifting_grating, {"frames": [0.0, 1.0]}, TypeError, "frames must be an integer"),
    (drifting_grating, {"frames": 60}, ValueError, r"frames must be in \[0, 60\)"),
    (drifting_grating, {"frames": [-1]}, ValueError, r"frames must be in \[0, 60\)"),
    (drifting_grating, {"frames": [[0, 1]]}, ValueError, "frames must have shape"),
    (drifting_grating, {"waveform": "saw"}, ValueError, "waveform must be one of"),
    (counterphase_grating, {"tf": 31.0}, ValueError, "tf must be at most half the frame rate"),
    (counterphase_grating, {"sf": -1.0}, ValueError, "sf must be positive"),
    (counterphase_grating, {"frames": True}, TypeError, "frames must be an integer"),
]


@pytest.mark.parametrize(
    ("func", "kwargs", "error", "match"), BAD,
    ids=[f"{f.__name__}-{'-'.join(f'{k}={v!r}' for k, v in kw.items())}" for f, kw, _, _ in BAD],
)
def test_bad_arguments_name_the_parameter(func, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(D, **kwargs)


@pytest.mark.parametrize("func", [aperture, grating, plaid, bar, edge, gabor_patch, uniform,
                                  drifting_grating, counterphase_grating],
                         ids=lambda f: f.__name__)
def test_display_must_be_a_display(func):
    with pytest.raises(TypeError, match="display must be a stimuli.display.Display"):
        func((32, 32))


def test_counterphase_allows_tf_at_half_frame_rate():
    movie = counterphase_grating(D, tf=30.0, duration=0.05)
    np.testing.assert_allclose(movie[1], -movie[0], atol=1e-6)
