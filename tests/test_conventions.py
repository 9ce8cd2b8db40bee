"""Conversions to scikit-image's and PsychoPy's grating conventions, checked against them."""

import numpy as np
import pytest
from skimage.filters import gabor, gabor_kernel

from stimuli import Display, drifting_grating, grating
from stimuli.conventions import (
    from_psychopy_grating,
    from_skimage_gabor,
    to_psychopy_drifting_grating,
    to_psychopy_grating,
    to_skimage_gabor,
)

PPD = 16.0
ORIENTATIONS = [0.0, 20.0, 45.0, 90.0, 120.0, 165.0]


def _angle_diff(a, b, period):
    d = np.mod(np.asarray(a) - np.asarray(b), period)
    return np.minimum(d, period - d)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_skimage_kernel_responds_most_at_the_converted_theta(orientation):
    """A grating of our θ drives scikit-image's Gabor most at to_skimage_gabor's theta."""
    sf = 2.0
    params = to_skimage_gabor(orientation, sf, pixels_per_degree=PPD)
    display = Display((129, 129), pixels_per_degree=PPD)
    image = grating(display, orientation=orientation, sf=sf).astype(np.float64)
    thetas = np.radians(np.arange(0.0, 180.0, 1.0))
    energy = []
    for theta in thetas:
        # n_stds=5: skimage's default 3-sigma support is cut to a θ-dependent
        # rectangle, which tilts the peak by up to 3 degrees at 45 degrees
        kernel = gabor_kernel(params["frequency"], theta=theta, n_stds=5)
        r0, c0 = kernel.shape[0] // 2, kernel.shape[1] // 2
        patch = image[64 - r0:64 + r0 + 1, 64 - c0:64 + c0 + 1]
        energy.append(abs(np.sum(kernel * patch)))
    best = thetas[int(np.argmax(energy))]
    assert _angle_diff(np.degrees(best), np.degrees(params["theta"]), 180.0) <= 1.0


def test_skimage_filter_prefers_the_flipped_sign():
    """skimage.filters.gabor itself: θ = 30° (ours) is skimage's 150°, not its 30°."""
    display = Display((65, 65), pixels_per_degree=PPD)
    image = grating(display, orientation=30.0, sf=2.0)
    params = to_skimage_gabor(30.0, 2.0, pixels_per_degree=PPD)

    def centre_energy(theta):
        real, imag = gabor(image, params["frequency"], theta=theta)
        return np.hypot(real, imag)[20:45, 20:45].mean()

    right, wrong = centre_energy(params["theta"]), centre_energy(np.radians(30.0))
    assert np.degrees(params["theta"]) == pytest.approx(150.0)
    assert right > 5 * wrong


@pytest.mark.parametrize("orientation, phase", [(0.0, 0.0), (30.0, 90.0), (100.0, 200.0),
                                                (135.0, 315.0), (170.0, 45.0)])
def test_skimage_kernel_carrier_is_our_grating(orientation, phase):
    """The kernel's carrier (kernel / |kernel|) equals our grating at the same pixels."""
    sf = 1.5
    params = to_skimage_gabor(orientation, sf, phase=phase, pixels_per_degree=PPD)
    kernel = gabor_kernel(**params)
    carrier = (kernel / np.abs(kernel)).real
    display = Display(kernel.shape, pixels_per_degree=PPD)
    ours = grating(display, orientation=orientation, sf=sf, phase=phase)
    np.testing.assert_allclose(carrier, ours, atol=1e-5)


@pytest.mark.parametrize("orientation, phase", [(0.0, 0.0), (30.0, 90.0), (150.0, 270.0)])
def test_skimage_kernel_phase_matches_the_grating_phase(orientation, phase):
    """Correlation of the kernel's real part with the grating peaks at the converted offset."""
    sf = 2.0
    display = Display((65, 65), pixels_per_degree=PPD)
    image = grating(display, orientation=orientation, sf=sf, phase=phase).astype(np.float64)
    params = to_skimage_gabor(orientation, sf, phase=phase, pixels_per_degree=PPD)
    offsets = np.radians(np.arange(0.0, 360.0, 1.0))
    corr = []
    for offset in offsets:
        kernel = gabor_kernel(params["frequency"], theta=params["theta"], offset=offset).real
        r0, c0 = kernel.shape[0] // 2, kernel.shape[1] // 2
        corr.append(np.sum(kernel * image[32 - r0:32 + r0 + 1, 32 - c0:32 + c0 + 1]))
    best = offsets[int(np.argmax(corr))]
    assert _angle_diff(np.degrees(best), np.degrees(params["offset"]), 360.0) <= 1.0


def test_skimage_filter_convolves_so_its_phase_is_mirrored():
    """skimage.filters.gabor's real output at the centre peaks at offset = -converted offset."""
    display = Display((65, 65), pixels_per_degree=PPD)
    image = grating(display, orientation=100.0, sf=2.0, phase=200.0)
    params = to_skimage_gabor(100.0, 2.0, phase=200.0, pixels_per_degree=PPD)
    offsets = np.radians(np.arange(0.0, 360.0, 10.0))
    centre = [gabor(image, params["frequency"], theta=params["theta"], offset=o)[0][32, 32]
              for o in offsets]
    best = np.degrees(offsets[int(np.argmax(centre))])
    assert _angle_diff(best, -np.degrees(params["offset"]), 360.0) <= 5.0


def _psychopy_sin_grating(display, ori, sf, phase):
    """PsychoPy's GratingStim(tex="sin") as its documentation and texture define it.

    ``ori``: degrees, "0 is vertical, and positive values rotate clockwise" (y up).
    The stimulus' horizontal axis after the rotation is ``(cos ori, -sin ori)``; a
    point at ``x_s`` along it samples the texture at ``u = sf * x_s - phase + 1/2``
    (cycles), and the "sin" texture is ``sin(2π u - π/2)``.
    """
    x, y = display.coordinates()
    ori = np.radians(ori)
    x_s = x * np.cos(ori) - y * np.sin(ori)
    u = sf * x_s - phase + 0.5
    return np.sin(2 * np.pi * u - np.pi / 2)


@pytest.mark.parametrize("orientation, phase", [(0.0, 0.0), (30.0, 90.0), (90.0, 45.0),
                                                (120.0, 300.0), (179.0, 180.0)])
def test_psychopy_grating_is_our_grating(orientation, phase):
    display = Display((48, 64), pixels_per_degree=PPD)
    params = to_psychopy_grating(orientation, 1.25, phase=phase)
    theirs = _psychopy_sin_grating(display, **params)
    ours = grating(display, orientation=orientation, sf=1.25, phase=phase)
    np.testing.assert_allclose(theirs, ours, atol=1e-5)


@pytest.mark.parametrize("direction", [0.0, 60.0, 90.0, 200.0, 315.0])
def test_psychopy_drift_moves_the_same_way(direction):
    """Advancing PsychoPy's phase at phase_rate reproduces every frame of our drifting grating."""
    display = Display((24, 24), pixels_per_degree=PPD, frame_rate=60.0)
    movie = drifting_grating(display, direction=direction, sf=1.5, tf=4.0, duration=0.1,
                             phase=30.0)
    p = to_psychopy_drifting_grating(direction, 1.5, 4.0, phase=30.0)
    for k, frame in enumerate(movie):
        t = k / display.frame_rate
        theirs = _psychopy_sin_grating(display, p["ori"], p["sf"], p["phase"] + p["phase_rate"] * t)
        np.testing.assert_allclose(theirs, frame, atol=1e-5, err_msg=f"frame {k}")


def test_psychopy_clock_convention():
    """ori = 45 (clockwise from vertical) is our 135: bars from top-left to bottom-right."""
    assert from_psychopy_grating(45.0, 2.0)["orientation"] == pytest.approx(135.0)
    assert to_psychopy_grating(90.0, 2.0)["ori"] == pytest.approx(90.0)
    # PsychoPy phase 0.25 moves the bars a quarter cycle along +x; ours needs phase -90
    assert from_psychopy_grating(0.0, 2.0, phase=0.25)["phase"] == pytest.approx(270.0)


def test_psychopy_pixel_units():
    display = Display((40, 40), pixels_per_degree=PPD)
    params = to_psychopy_grating(60.0, 2.0, phase=30.0, units="pix", pixels_per_degree=PPD)
    assert params["sf"] == pytest.approx(2.0 / PPD)
    # in pixel units the coordinates are pixels: x_pix = x_deg * ppd
    x, y = display.coordinates()
    ori = np.radians(params["ori"])
    u = params["sf"] * PPD * (x * np.cos(ori) - y * np.sin(ori)) - params["phase"] + 0.5
    np.testing.assert_allclose(np.sin(2 * np.pi * u - np.pi / 2),
                               grating(display, orientation=60.0, sf=2.0, phase=30.0), atol=1e-5)


@pytest.mark.parametrize("to, back, kwargs", [
    (to_skimage_gabor, from_skimage_gabor, {"pixels_per_degree": PPD}),
    (to_psychopy_grating, from_psychopy_grating, {}),
    (to_psychopy_grating, from_psychopy_grating, {"units": "pix", "pixels_per_degree": 30.0}),
], ids=["skimage", "psychopy-deg", "psychopy-pix"])
def test_round_trip_on_arrays(to, back, kwargs):
    rng = np.random.default_rng(0)
    orientation = rng.uniform(0, 180, 50)
    sf = rng.uniform(0.5, 8, 50)
    phase = rng.uniform(0, 360, 50)
    out = to(orientation, sf, phase=phase, **kwargs)
    names = list(out)
    again = back(out[names[0]], out[names[1]], phase=out[names[2]], **kwargs) \
        if "ori" in out else back(out["theta"], out["frequency"], offset=out["offset"], **kwargs)
    np.testing.assert_allclose(again["orientation"], orientation, atol=1e-9)
    np.testing.assert_allclose(again["sf"], sf, rtol=1e-12)
    np.testing.assert_allclose(_angle_diff(again["phase"], phase, 360.0), 0.0, atol=1e-9)


def test_results_lie_in_the_documented_ranges():
    out = to_skimage_gabor([-30.0, 0.0, 180.0, 359.0], 2.0, phase=[-10.0, 0.0, 720.0, 1e-14],
                           pixels_per_degree=PPD)
    assert np.all((out["theta"] >= 0) & (out["theta"] < np.pi))
    assert np.all((out["offset"] >= 0) & (out["offset"] < 2 * np.pi))
    pp = to_psychopy_grating([0.0, 90.0, 179.9999], [1.0, 2.0, 3.0], phase=[-1e-13, 0.0, 5.0])
    assert np.all((pp["ori"] >= 0) & (pp["ori"] < 180))
    assert np.all((pp["phase"] >= 0) & (pp["phase"] < 1))


@pytest.mark.parametrize("call, error, match", [
    (lambda: to_skimage_gabor(np.nan, 2.0, pixels_per_degree=PPD), ValueError, "orientation"),
    (lambda: to_skimage_gabor(0.0, -1.0, pixels_per_degree=PPD), ValueError, "sf must be pos"),
    (lambda: to_skimage_gabor(0.0, 1.0, pixels_per_degree=0), ValueError, "pixels_per_degree"),
    (lambda: to_skimage_gabor("up", 1.0, pixels_per_degree=PPD), TypeError, "orientation"),
    (lambda: from_skimage_gabor(0.0, 0.0, pixels_per_degree=PPD), ValueError, "frequency"),
    (lambda: from_skimage_gabor(0.0, 0.1, offset=np.inf, pixels_per_degree=PPD), ValueError,
     "offset"),
    (lambda: to_psychopy_grating(0.0, 1.0, units="norm"), ValueError, "units"),
    (lambda: to_psychopy_grating(0.0, 1.0, units="pix"), ValueError, "pixels_per_degree"),
    (lambda: to_psychopy_grating(0.0, 1.0, pixels_per_degree=10.0), ValueError, "only used"),
    (lambda: from_psychopy_grating(0.0, 1.0, phase=np.nan), ValueError, "phase"),
    (lambda: to_psychopy_drifting_grating(0.0, 1.0, -2.0), ValueError, "tf must be"),
], ids=["nan-orientation", "negative-sf", "zero-ppd", "string", "zero-frequency", "inf-offset",
        "norm-units", "pix-without-ppd", "ppd-with-deg", "nan-phase", "negative-tf"])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
