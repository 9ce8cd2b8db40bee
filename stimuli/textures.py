"""Naturalistic textures and spectrally matched noise (the Freeman/Ziemba layout).

Freeman, Ziemba, Heeger, Simoncelli & Movshon (2013, Nat Neurosci 16:974) showed
V1 and V2 neurons *families* of naturalistic textures — several *samples* per
family, each synthesised with the Portilla & Simoncelli (2000) algorithm to
share the family's higher-order statistics — and, for every sample, a
spectrally matched noise image: the same Fourier amplitude spectrum with
randomised phases.  V2 neurons respond more to the textures than to the noise;
V1 neurons barely distinguish them (texture modulation index near 0).

This module builds the same layout **offline from photographs that ship with
scikit-image** (:func:`stimuli.natural.natural_image`): a family is one
photograph (``brick``, ``grass``, ``gravel`` are texture photographs; ``moon``,
``coffee``, ``chelsea``, ``coins``, ``camera`` contribute patches of natural
images), a sample is a crop of it at a random position, and its noise image is
:func:`spectrally_matched_noise` of that crop.

**How this differs from Portilla–Simoncelli synthesis.**

* Samples are **crops of one photograph**, not new images synthesised to match
  a set of ~700 statistics (joint wavelet magnitudes, cross-scale phase,
  marginal moments).  Crops of a photograph share those statistics only as
  far as the photograph is stationary; a non-stationary picture (``camera``,
  ``chelsea``) gives samples that differ more than P–S samples of one family
  would, so the across-sample variance is larger and the variance ratio lower.
* Crops keep every higher-order structure the photograph has, including
  object-level structure P–S statistics do not capture; P–S images have only
  what the statistics constrain.
* The noise control is the same as Freeman/Ziemba's: amplitude spectrum kept,
  phases replaced by those of white noise, so the two differ only in
  higher-order (phase) structure.
* Sizes and contrasts are set here, not matched to the 2013 stimuli (4°
  patches, natural contrast): each texture crop is scaled to an RMS contrast
  (default 0.2) and its noise inherits it exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_array,
    check_count,
    check_int,
    check_range,
)
from stimuli.resources import MAX_DISPLAY_SIDE

__all__ = ["TEXTURE_FAMILIES", "spectrally_matched_noise", "texture_pair"]

#: Default families: three texture photographs and five natural images (scikit-image).
TEXTURE_FAMILIES: tuple[str, ...] = (
    "brick", "grass", "gravel", "moon", "coffee", "chelsea", "coins", "camera",
)


def spectrally_matched_noise(image: np.ndarray, *, rng: RngLike = None) -> np.ndarray:
    """Noise with the amplitude spectrum of ``image`` and random phases.

    The image's 2-D Fourier amplitudes are kept and its phases replaced by those of
    Gaussian white noise (which are Hermitian-symmetric, so the result is real);
    the zero-frequency term keeps its phase, so the mean is unchanged.  By
    Parseval's theorem the RMS contrast is unchanged too.  The amplitude spectrum is
    that of the image as a periodic tile (as in Freeman et al. 2013).

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        A finite image in contrast units.
    rng : None, int or numpy.random.Generator
        Source of the random phases.

    Returns
    -------
    ndarray of shape (rows, cols), float64

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, is empty or holds NaN or infinity.
    TypeError
        If ``rng`` is not valid or ``image`` is not numeric.

    Examples
    --------
    >>> img = np.random.default_rng(0).normal(size=(16, 16))
    >>> noise = spectrally_matched_noise(img, rng=1)
    >>> bool(np.allclose(np.abs(np.fft.fft2(noise)), np.abs(np.fft.fft2(img))))
    True
    """
    img = check_array("image", image, ndim=2, shape_doc="(rows, cols)", dtype=np.float64)
    gen = as_rng(rng)
    amplitude = np.abs(scipy.fft.fft2(img))
    phase = np.angle(scipy.fft.fft2(gen.standard_normal(img.shape)))
    phase[0, 0] = np.angle(scipy.fft.fft2(img)[0, 0])
    return scipy.fft.ifft2(amplitude * np.exp(1j * phase)).real


def texture_pair(name: str, shape: tuple[int, int], *, row: int, col: int, seed: int,
                 rms_contrast: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """One texture sample (a crop of a photograph) and its spectrally matched noise.

    The crop of ``shape`` at pixel ``(row, col)`` of the picture
    (:func:`stimuli.natural.natural_image`) has its mean removed and is scaled to
    ``rms_contrast``; the noise is :func:`spectrally_matched_noise` of it with seed
    ``seed``.  If either image would then exceed ``|value| = 1``, **both** are
    scaled down by the same factor so they stay in [-1, 1] with equal spectra.

    Parameters
    ----------
    name : str
        A picture of :func:`stimuli.natural.natural_image_names`.
    shape : (int, int)
        Crop size in pixels ``(rows, cols)``.
    row, col : int
        Top-left corner of the crop in the picture's pixels.
    seed : int
        Seed of the noise phases.
    rms_contrast : float
        RMS contrast of the texture, in (0, 1].

    Returns
    -------
    (texture, noise) : two ndarrays of shape ``shape``, float32

    Raises
    ------
    ValueError
        If ``name`` is unknown, the crop does not fit inside the picture, the crop is
        uniform (no texture), or ``rms_contrast`` is outside (0, 1].

    Examples
    --------
    >>> tex, noise = texture_pair("brick", (32, 32), row=10, col=20, seed=0)
    >>> round(float(tex.std()), 3), round(float(noise.std()), 3)
    (0.2, 0.2)
    """
    from stimuli.natural import _check_name, _load

    _check_name("name", name)
    rms_contrast = check_range("rms_contrast", rms_contrast, 0.0, 1.0, closed="right")
    source = _load(name, False)
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"shape must be a pair of ints (rows, cols), got {shape!r:.60}")
    rows = check_count("shape[0]", shape[0], maximum=MAX_DISPLAY_SIDE)
    cols = check_count("shape[1]", shape[1], maximum=MAX_DISPLAY_SIDE)
    row = check_int("row", row, minimum=0)
    col = check_int("col", col, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    if not (0 <= row <= source.shape[0] - rows and 0 <= col <= source.shape[1] - cols):
        raise ValueError(f"a {rows}x{cols} crop at (row={row}, col={col}) does not fit inside "
                         f"{name!r} of shape {source.shape}")
    crop = source[row:row + rows, col:col + cols].astype(np.float64)
    crop = crop - crop.mean()
    rms = crop.std()
    if rms == 0:
        raise ValueError(f"the crop of {name!r} at (row={row}, col={col}) is uniform")
    texture = crop * (rms_contrast / rms)
    noise = spectrally_matched_noise(texture, rng=seed)
    peak = max(np.abs(texture).max(), np.abs(noise).max())
    scale = min(1.0, 1.0 / peak)
    return (texture * scale).astype(np.float32), (noise * scale).astype(np.float32)
