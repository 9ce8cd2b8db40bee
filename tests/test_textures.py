"""Texture families and spectrally matched noise (Freeman/Ziemba layout)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stimuli.display import Display
from stimuli.protocols import list_protocols, texture_families
from stimuli.textures import spectrally_matched_noise, texture_pair

DISPLAY = Display((48, 48), pixels_per_degree=16)


@pytest.mark.parametrize("name", ["brick", "grass", "gravel", "moon"])
def test_noise_keeps_the_amplitude_spectrum_and_contrast(name):
    tex, noise = texture_pair(name, (48, 48), row=100, col=50, seed=3, rms_contrast=0.2)
    np.testing.assert_allclose(np.abs(np.fft.fft2(noise)), np.abs(np.fft.fft2(tex)),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(noise.std(), tex.std(), rtol=1e-5)
    assert np.abs(tex).max() <= 1 and np.abs(noise).max() <= 1
    assert abs(tex.mean()) < 1e-6 and abs(noise.mean()) < 1e-6


def test_noise_destroys_the_phase_structure():
    tex, noise = texture_pair("brick", (64, 64), row=0, col=0, seed=0)
    corr = np.corrcoef(tex.ravel(), noise.ravel())[0, 1]
    assert abs(corr) < 0.2
    _, again = texture_pair("brick", (64, 64), row=0, col=0, seed=0)
    np.testing.assert_array_equal(noise, again)


def test_matched_noise_of_a_grating_is_the_grating_shifted():
    x = np.arange(32)
    img = np.cos(2 * np.pi * 4 * x / 32)[None, :] * np.ones((32, 1))
    noise = spectrally_matched_noise(img, rng=0)
    # one frequency: random phase only shifts the grating
    np.testing.assert_allclose(np.abs(np.fft.fft2(noise)), np.abs(np.fft.fft2(img)), atol=1e-9)
    np.testing.assert_allclose(noise.std(), img.std(), rtol=1e-9)


def test_protocol_layout_is_type_by_family_by_sample():
    p = texture_families(DISPLAY, families=("brick", "grass", "gravel"), n_samples=4, rng=1)
    c = p.conditions
    assert len(p) == 2 * 3 * 4
    assert c["image_type"][:12].tolist() == ["noise"] * 12
    # the texture and its noise share family, crop and seed
    for key in ("family", "sample", "row", "col", "seed"):
        np.testing.assert_array_equal(c[key][:12], c[key][12:])
    imgs = p.stimuli(np.array([0, 12]))
    np.testing.assert_allclose(np.abs(np.fft.fft2(imgs[0])), np.abs(np.fft.fft2(imgs[1])),
                               rtol=1e-3, atol=1e-3)
    assert "texture_families" in list_protocols()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"families": ("brick", "nope")}, ValueError, "families entry must be one of"),
    ({"families": ("brick",)}, ValueError, "at least 2"),
    ({"families": ("brick", "brick")}, ValueError, "must not repeat"),
    ({"n_samples": 1}, ValueError, "n_samples"),
    ({"rms_contrast": 0.0}, ValueError, "rms_contrast"),
], ids=["unknown", "one-family", "repeat", "one-sample", "zero-contrast"])
def test_bad_protocol_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        texture_families(DISPLAY, **kwargs)


def test_display_larger_than_a_picture_is_refused():
    with pytest.raises(ValueError, match="does not fit inside family"):
        texture_families(Display((600, 600), pixels_per_degree=16))


def test_crop_outside_the_picture_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        texture_pair("brick", (32, 32), row=500, col=0, seed=0)


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 24), cols=st.integers(2, 24), seed=st.integers(0, 2**31 - 1))
def test_matched_noise_keeps_spectrum_mean_and_rms_for_any_shape(rows, cols, seed):
    img = np.random.default_rng(seed).normal(size=(rows, cols)) + 0.3
    noise = spectrally_matched_noise(img, rng=seed)
    assert noise.shape == img.shape and noise.dtype == np.float64
    np.testing.assert_allclose(np.abs(np.fft.fft2(noise)), np.abs(np.fft.fft2(img)),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(noise.mean(), img.mean(), atol=1e-12)


@pytest.mark.parametrize(("image", "match"), [
    (np.ones(5), r"image must have shape \(rows, cols\)"),
    (np.full((4, 4), np.nan), "image must be finite"),
], ids=["1d", "nan"])
def test_matched_noise_bad_input(image, match):
    with pytest.raises(ValueError, match=match):
        spectrally_matched_noise(image)
