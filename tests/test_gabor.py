"""Gabor kernels and banks: size, DC, normalisation, convention, FFT = direct correlation."""

import math

import numpy as np
import pytest
from scipy.signal import correlate

from stimuli.display import Display
from stimuli.gratings import grating
from stimuli.table import Table
from v1model.gabor import GaborBank, filter_parameters, gabor_kernel, kernel_size

DISPLAY = Display((33, 33), pixels_per_degree=16)


@pytest.mark.parametrize(
    ("sigma_x", "sigma_y", "orientation"),
    [(0.25, 0.25, 0.0), (0.1, 0.4, 30.0), (0.4, 0.1, 125.0), (0.03, 0.05, 90.0)],
    ids=["round", "elongated", "wide", "tiny"],
)
def test_kernel_holds_three_sigma_each_side(sigma_x, sigma_y, orientation):
    ppd = DISPLAY.pixels_per_degree
    k = gabor_kernel(DISPLAY, orientation=orientation, sf=2.0, phase=0.0,
                     sigma_x=sigma_x, sigma_y=sigma_y)
    size = k.shape[0]
    assert k.shape == (size, size) and size % 2 == 1
    assert size // 2 >= 3 * max(sigma_x, sigma_y) * ppd
    assert size == kernel_size(ppd, sigma_x, sigma_y)


def test_bank_kernels_are_unclipped_for_every_filter():
    # sf 0.5 with nx = 1 gives sigma = 2 deg: a 97-px kernel on a 33-px display
    bank = GaborBank(DISPLAY, orientations=[0, 60], sfs=[0.5, 4.0], phases=[0, 90],
                     nx=1.0, ny=0.5)
    p = bank.parameters
    half = (p["size"] - 1) // 2
    assert np.all(half >= 3 * np.maximum(p["sigma_x"], p["sigma_y"]) * 16)
    assert [k.shape[0] for k in bank.kernels] == p["size"].tolist()


@pytest.mark.parametrize("phase", [0.0, 45.0, 90.0, 180.0, 300.0])
def test_kernels_are_dc_free(phase):
    k = gabor_kernel(DISPLAY, orientation=20.0, sf=1.0, phase=phase, sigma_x=0.3,
                     sigma_y=0.5)
    assert abs(k.sum()) < 1e-10 * np.abs(k).sum()


def test_uniform_field_gives_zero_where_the_kernel_fits():
    bank = GaborBank(DISPLAY, sfs=[2.0, 4.0], nx=0.5, ny=0.5)  # kernels <= 25 px
    out = bank(np.full((1, 33, 33), 0.7))
    centre = out[0, :, 12:21, 12:21]
    np.testing.assert_allclose(centre, 0.0, atol=1e-5)


@pytest.mark.parametrize("phase", [0.0, 90.0, 135.0])
def test_grating_norm_gives_unit_response_to_own_grating(phase):
    bank = GaborBank(DISPLAY, orientations=[30.0], sfs=[2.0], phases=[phase])
    image = grating(DISPLAY, orientation=30.0, sf=2.0, phase=phase)[None]
    assert bank(image)[0, 0, 16, 16] == pytest.approx(1.0, abs=1e-4)


def test_l2_norm():
    k = gabor_kernel(16, orientation=10, sf=2, phase=45, sigma_x=0.2, sigma_y=0.3, norm="l2")
    assert np.sum(k * k) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("orientation", "phase", "probe", "sign"),
    [
        (0.0, 0.0, (slice(None), 12), +1),   # vertical bright bar through the centre column
        (90.0, 0.0, (12, slice(None)), +1),  # horizontal bright bar through the centre row
        (0.0, 180.0, (slice(None), 12), -1),  # dark bar
    ],
    ids=["vertical", "horizontal", "dark"],
)
def test_kernel_layout_follows_the_convention(orientation, phase, probe, sign):
    k = gabor_kernel(16, orientation=orientation, sf=2, phase=phase, sigma_x=0.25,
                     sigma_y=0.25)
    assert sign * k[probe][10:15].min() > 0


def test_filter_prefers_the_grating_with_its_own_orientation_and_phase():
    """A filter (θ, φ) responds most to the grating (θ, φ) of the stimuli package."""
    oris = np.arange(0.0, 180.0, 15.0)
    phases = np.arange(0.0, 360.0, 45.0)
    images = np.stack([grating(DISPLAY, orientation=o, sf=2.0, phase=p)
                       for o in oris for p in phases])
    bank = GaborBank(DISPLAY, orientations=[0.0, 45.0, 105.0], sfs=[2.0], phases=[0.0, 135.0])
    centre = bank(images)[:, :, 16, 16].reshape(len(oris), len(phases), -1)
    for j in range(len(bank)):
        o, p = np.unravel_index(np.argmax(centre[..., j]), centre.shape[:2])
        assert oris[o] == bank.parameters["orientation"][j]
        assert phases[p] == bank.parameters["phase"][j]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fourier_bank_equals_direct_correlation(dtype):
    # one small filter and one larger than the image (its kernel is cropped for the FFT)
    bank = GaborBank(DISPLAY, parameters={
        "orientation": [30.0, 100.0], "sf": [4.0, 0.5], "phase": [90.0, 0.0],
        "sigma_x": [0.1, 0.8], "sigma_y": [0.15, 0.5]}, dtype=dtype)
    assert bank.parameters["size"][1] > 2 * DISPLAY.rows
    images = np.random.default_rng(3).uniform(-1, 1, size=(2, 33, 33))
    out = bank(images)
    assert out.dtype == dtype and out.shape == (2, 2, 33, 33)
    for j, kernel in enumerate(bank.kernels):
        for i in range(2):
            direct = correlate(images[i], kernel, mode="same", method="direct")
            atol = 1e-10 if dtype == np.float64 else 1e-5 * np.abs(direct).max()
            np.testing.assert_allclose(out[i, j], direct, atol=atol)


def test_parameters_table_and_grid_order():
    bank = GaborBank(DISPLAY, orientations=[0, 90], sfs=[1, 2], phases=[0, 90],
                     sigma_x=0.2, sigma_y=0.3)
    p = bank.parameters
    assert isinstance(p, Table) and len(p) == len(bank) == 8
    assert p["sf"].tolist() == [1.0] * 4 + [2.0] * 4
    assert p["phase"].tolist() == [0.0, 90.0] * 4
    np.testing.assert_allclose(p["nx"], 0.2 * p["sf"])
    np.testing.assert_allclose(p["ny"], 0.3 * p["sf"])


def test_table_with_consistent_sigma_and_cycles_is_accepted():
    table = {"orientation": [10.0], "sf": [2.0], "phase": [0.0], "nx": [0.4], "ny": [0.5],
             "sigma_x": [0.2], "sigma_y": [0.25], "extra": ["ignored"]}
    p = filter_parameters(parameters=table)
    assert p["sigma_x"].tolist() == [0.2]


def test_default_bank():
    bank = GaborBank(Display((16, 16), 16))
    assert len(bank) == 12 * 3 * 4
    np.testing.assert_allclose(bank.parameters["nx"], 0.5)
    assert "144 filters" in repr(bank)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(sigma_x=0.2, nx=0.5), ValueError, "either as sigma_x/sigma_y .* or as nx/ny"),
        (dict(sigma_y=0.2, ny=0.5), ValueError, "not both"),
        (dict(parameters={"orientation": [0], "sf": [1], "phase": [0], "nx": [1], "ny": [1]},
              sfs=[1]), ValueError, "parameters .* or grid arguments, not both"),
        (dict(parameters={"orientation": [0], "sf": [1], "phase": [0]}), ValueError,
         "sigma_x and sigma_y .* or nx and ny"),
        (dict(parameters={"orientation": [0], "sf": [1], "nx": [1], "ny": [1]}), ValueError,
         "missing column.*phase"),
        (dict(parameters={"orientation": [0], "sf": [1], "phase": [0], "nx": [1], "ny": [1],
                          "sigma_x": [2], "sigma_y": [1]}), ValueError, "disagree"),
        (dict(sfs=[8.0]), ValueError, "sf must be below the Nyquist frequency 8.0"),
        (dict(sfs=[-1.0]), ValueError, "sfs must be positive"),
        (dict(orientations=[180.0]), ValueError, r"orientations must be in \[0, 180\)"),
        (dict(phases=[0.0, np.nan]), ValueError, "phases must be finite"),
        (dict(orientations=[0.0, 0.0]), ValueError, "orientations contains duplicates"),
        (dict(nx=0.0), ValueError, "nx must be positive"),
        (dict(norm="max"), ValueError, "norm must be one of"),
    ],
    ids=["sigma-and-nx", "sigma_y-and-ny", "table-and-grid", "table-no-size",
         "table-no-phase", "table-inconsistent", "nyquist", "negative-sf", "orientation-180",
         "nan-phase", "duplicates", "zero-nx", "norm"],
)
def test_bank_rejects_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        GaborBank(DISPLAY, **kwargs)


@pytest.mark.parametrize(
    ("ppd", "kwargs", "match"),
    [
        (16, dict(size=24), "size must be odd"),
        (16, dict(size=11), "size must be at least 25 px"),
        (16, dict(sigma_x=math.nan), "sigma_x must be finite"),
        (16, dict(phase=360.0), r"phase must be in \[0.0, 360.0\)"),
        (0, dict(), "display_or_ppd must be positive"),
        # nx = 0.005 cycles: the DC-free even filter has nothing left
        (400, dict(sigma_x=0.01, sf=0.5), "barely responds to its own grating"),
    ],
    ids=["even-size", "clipping-size", "nan-sigma", "phase-360", "ppd-0", "degenerate"],
)
def test_kernel_rejects_bad_arguments(ppd, kwargs, match):
    args = dict(orientation=0.0, sf=2.0, phase=0.0, sigma_x=0.25, sigma_y=0.25) | kwargs
    with pytest.raises(ValueError, match=match):
        gabor_kernel(ppd, **args)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((2, 32, 33)), r"images must have shape \(n, 33, 33\) to match the display"),
        (np.zeros((33, 33)), r"images must have shape \(n, rows, cols\)"),
        (np.full((1, 33, 33), np.nan), "images must be finite"),
        (np.zeros((0, 33, 33)), "images must not be empty"),
    ],
    ids=["wrong-shape", "single-image", "nan", "empty"],
)
def test_bank_rejects_bad_images(images, match):
    bank = GaborBank(DISPLAY, orientations=[0], sfs=[2], phases=[0])
    with pytest.raises(ValueError, match=match):
        bank(images)


@pytest.mark.parametrize("method", ["auto", "patches", "image", "strided", "fft"])
def test_bank_at_every_route_matches_full_maps(method):
    # mixed kernel sizes (13, 25, 49 px on a 40-px display: one is cropped), edges included
    display = Display((40, 36), 16)
    bank = GaborBank(display, orientations=[0, 60, 120], sfs=[1, 2, 4], phases=[0, 90],
                     dtype=np.float64)
    x = np.random.default_rng(4).uniform(-1, 1, size=(3, 40, 36))
    rows, cols = np.arange(0, 40, 3), np.arange(2, 36, 3)
    full = bank(x)[:, :, rows][:, :, :, cols]
    np.testing.assert_allclose(bank.at(x, rows, cols, method=method), full,
                               atol=1e-10 * np.abs(full).max())
