"""Fidelity of the package's HMAX S1 and C1 to the published algorithm, on photographs.

Ten scikit-image photographs (camera, astronaut, coffee, chelsea, rocket, coins, moon,
horse, brick, grass; colour ones converted to grey, each centre-cropped to
``--size`` pixels) go through

- **the package**, in its own convention: images in contrast units
  ``c = (L − L0) / L0`` around a display mean grey ``L0`` = 0.5 of the [0, 1] grey
  range (``c = 2L − 1``, the convention of ``v1model.torch_adapter``), with S1's
  documented ``mean_luminance = 1`` (the mean in contrast units), so S1 sees the
  luminance ``1 + c ∝ L``;
- **a transcription of the published algorithm**, written here from the paper's
  description (Serre, Wolf, Bileschi, Riesenhuber & Poggio 2007, PAMI 29:411,
  Table 1, and the classic description collected in the project's REFERENCE.md),
  working on the luminance ``L`` itself, as the authors' code does:

  - S1: for each of the 16 sizes s = 7, 9, …, 37 px, ``λ = 2s/d`` with ``d`` going
    from 4 down by 0.05 per size, ``σ = 0.8 λ``, ``γ = 0.3``, orientations 0, 45,
    90, 135°; ``G = exp(−(x₀² + γ² y₀²) / 2σ²) cos(2π x₀ / λ)`` on the pixels of the
    disk of diameter s (0 outside), minus its mean over the s × s square, scaled to
    unit L2 norm.  ``S1 = |Σ G · L_window| / √(Σ L²_window)`` (a zero norm is
    replaced by 1), zero padding beyond the image.
  - C1 (band b: sizes 2b and 2b + 1, window N, step ΔS from Table 1): S1 set to 0
    where the filter does not fit in the image, max over the two scales, then max
    over N × N windows starting at pixel 0 and moved by ΔS (``ceil(size / ΔS)``
    windows per axis, the last ones cut by the image edge).

The reference uses its own filters, box sums and pooling loops — nothing from the
package.  Filtering is by ``scipy.signal.fftconvolve`` (``--direct``: by
``scipy.ndimage.correlate``, about 10× slower).

Reported per layer: Pearson correlation between the package's and the reference's
responses of each image (all channels and positions; S1 where the largest filter
fits inside the image; C1 on every element), median and minimum over the ten
images.  C1 is compared three ways:

- ``C1 serre grid``: ``HMAX(..., c1={"grid": "serre"})`` against the reference;
- ``C1 centred grid`` (the package's default layout): the reference's pooled maps
  read at the package's window positions (``HMAX.band_coordinates``); windows
  touching the border differ because the package's default does not zero S1 there;
- ``C1 contrast-normalised``: the serre grid with ``mean_luminance=0`` (S1
  normalised by the energy of the contrast image, the package before issue 15),
  for comparison.

Target: median C1 (serre grid) correlation ≥ 0.98.

Usage::

    python benchmarks/hmax_fidelity.py [--size 256] [--direct] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import scipy.ndimage as ndi
import scipy.signal as signal

from stimuli.display import Display
from v1model.hmax import HMAX

#: Serre et al. 2007, Table 1.
SIZES = tuple(range(7, 38, 2))
POOL_SIZES = tuple(range(8, 23, 2))
POOL_STEPS = tuple(range(4, 12))
ORIENTATIONS = (0.0, 45.0, 90.0, 135.0)
GAMMA = 0.3
#: Display mean grey in the [0, 1] grey range; contrast c = (L - L0) / L0.
MEAN_GREY = 0.5
PHOTOGRAPHS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "coins", "moon", "horse",
               "brick", "grass")


# ------------------------------------------------------------------ the photographs


def photographs(size: int) -> tuple[list[str], np.ndarray]:
    """Grey-level luminance in [0, 1], centre crops ``(10, size, size)``, float64."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.util import img_as_float

    out = []
    for name in PHOTOGRAPHS:
        img = getattr(data, name)()
        if img.ndim == 3:
            img = rgb2gray(img[..., :3])
        img = img_as_float(img).astype(np.float64)
        rows, cols = img.shape
        if min(rows, cols) < size:
            raise SystemExit(f"{name} is {rows}x{cols}, smaller than --size {size}")
        r0, c0 = (rows - size) // 2, (cols - size) // 2
        out.append(img[r0:r0 + size, c0:c0 + size])
    return list(PHOTOGRAPHS), np.stack(out)


# ------------------------------------------------------------------ the reference


def reference_filter(size: int, divisor: float, orientation: float) -> np.ndarray:
    """One S1 filter from the paper's formula (rows top to bottom, +y up)."""
    wavelength = 2.0 * size / divisor
    sigma = 0.8 * wavelength
    theta = math.radians(orientation)
    half = size // 2
    filt = np.zeros((size, size))
    for row in range(size):
        for col in range(size):
            x, y = col - half, half - row
            if math.hypot(x, y) > size / 2:
                continue
            x0 = x * math.cos(theta) + y * math.sin(theta)
            y0 = -x * math.sin(theta) + y * math.cos(theta)
            filt[row, col] = (math.exp(-(x0**2 + GAMMA**2 * y0**2) / (2 * sigma**2))
                              * math.cos(2 * math.pi * x0 / wavelength))
    filt -= filt.mean()
    return filt / math.sqrt((filt**2).sum())


def _correlate_same(image: np.ndarray, kernel: np.ndarray, direct: bool) -> np.ndarray:
    if direct:
        return ndi.correlate(image, kernel, mode="constant", cval=0.0)
    return signal.fftconvolve(image, kernel[::-1, ::-1], mode="same")


def reference_s1(luminance: np.ndarray, direct: bool) -> np.ndarray:
    """``(16, 4, rows, cols)`` S1 of one luminance image."""
    rows, cols = luminance.shape
    out = np.empty((len(SIZES), len(ORIENTATIONS), rows, cols))
    for k, size in enumerate(SIZES):
        divisor = 4.0 - 0.05 * k
        energy = _correlate_same(luminance**2, np.ones((size, size)), direct)
        norm = np.sqrt(np.maximum(energy, 0.0))
        norm[norm < 1e-12] = 1.0
        for o, orientation in enumerate(ORIENTATIONS):
            g = reference_filter(size, divisor, orientation)
            out[k, o] = np.abs(_correlate_same(luminance, g, direct)) / norm
    return out


def reference_pooled(s1: np.ndarray, band: int) -> np.ndarray:
    """Scale max of one band with the borders (filter not inside the image) zeroed."""
    rows, cols = s1.shape[-2:]
    out = np.zeros(s1.shape[1:])
    for k in (2 * band, 2 * band + 1):
        h = SIZES[k] // 2
        kept = np.zeros(s1.shape[1:])
        kept[:, h:rows - h, h:cols - h] = s1[k][:, h:rows - h, h:cols - h]
        out = np.maximum(out, kept)
    return out


def reference_c1_at(pooled: np.ndarray, starts_r, starts_c, n: int) -> np.ndarray:
    """Max of ``pooled (4, rows, cols)`` over n × n windows at the given starts (cut at edges)."""
    out = np.zeros((pooled.shape[0], len(starts_r), len(starts_c)))
    for i, r in enumerate(starts_r):
        for j, c in enumerate(starts_c):
            out[:, i, j] = pooled[:, max(r, 0):r + n, max(c, 0):c + n].max(axis=(1, 2))
    return out


# ------------------------------------------------------------------ comparison


def _r(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def main(argv: list[str] | None = None) -> dict[str, np.ndarray]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="centre crop side, px (>= 37)")
    parser.add_argument("--direct", action="store_true",
                        help="reference filtering by direct correlation (slow)")
    parser.add_argument("--threads", type=int, default=2, help="scipy.fft threads of the package")
    args = parser.parse_args(argv)
    if args.size < max(SIZES):
        parser.error(f"--size must be at least {max(SIZES)}")

    t0 = time.perf_counter()
    names, luminance = photographs(args.size)
    contrast = (luminance - MEAN_GREY) / MEAN_GREY
    display = Display((args.size, args.size), pixels_per_degree=32)
    s1_params = {"workers": args.threads}
    serre = HMAX(display, s1=s1_params, c1={"grid": "serre"})
    centred = HMAX(display, s1=s1_params)
    old = HMAX(display, s1={**s1_params, "mean_luminance": 0.0}, c1={"grid": "serre"})

    t_pkg = time.perf_counter()
    pkg_s1 = serre.responses(contrast, "S1").reshape(len(names), len(SIZES), 4, args.size,
                                                     args.size)
    pkg_c1 = serre.responses(contrast, "C1")
    pkg_c1_centred = centred.responses(contrast, "C1")
    pkg_c1_old = old.responses(contrast, "C1")
    t_pkg = time.perf_counter() - t_pkg

    valid_serre = serre.valid_mask("C1")
    valid_centred = centred.valid_mask("C1")
    x_c, y_c = centred.band_coordinates("C1")
    ppd = display.pixels_per_degree
    half = max(SIZES) // 2
    inner = (slice(None), slice(None), slice(half, args.size - half),
             slice(half, args.size - half))  # (scales, orientations, rows, cols)

    rows = []
    t_ref = 0.0
    for i, name in enumerate(names):
        t = time.perf_counter()
        ref_s1 = reference_s1(luminance[i], args.direct)
        ref_serre, ref_centred = [], []
        for band, (n, step) in enumerate(zip(POOL_SIZES, POOL_STEPS, strict=True)):
            pooled = reference_pooled(ref_s1, band)
            starts = np.arange(0, args.size, step)
            ref_serre.append(reference_c1_at(pooled, starts, starts, n))
            ch = 4 * band
            keep_r = valid_centred[ch].any(axis=1)
            keep_c = valid_centred[ch].any(axis=0)
            # pixel of each element's window centre → window start
            cols_px = x_c[ch, keep_c] * ppd + (args.size - 1) / 2 - (n - 1) / 2
            rows_px = (args.size - 1) / 2 - y_c[ch, keep_r] * ppd - (n - 1) / 2
            ref_centred.append(reference_c1_at(pooled, np.rint(rows_px).astype(int),
                                               np.rint(cols_px).astype(int), n))
        t_ref += time.perf_counter() - t

        ours = pkg_c1[i].reshape(8, 4, *pkg_c1.shape[-2:])
        ours_old = pkg_c1_old[i].reshape(8, 4, *pkg_c1.shape[-2:])
        ours_c = pkg_c1_centred[i].reshape(8, 4, *pkg_c1_centred.shape[-2:])
        a, b, a_old, a_c, b_c = [], [], [], [], []
        for band in range(8):
            m = valid_serre[4 * band]
            nr, nc = int(m.any(axis=1).sum()), int(m.any(axis=0).sum())
            a.append(ours[band][:, :nr, :nc].ravel())
            a_old.append(ours_old[band][:, :nr, :nc].ravel())
            b.append(ref_serre[band].ravel())
            mc = valid_centred[4 * band]
            a_c.append(ours_c[band][:, mc].ravel())
            b_c.append(ref_centred[band].reshape(4, -1).ravel())
        rows.append((name, _r(pkg_s1[i][inner], ref_s1[inner]),
                     _r(np.concatenate(a), np.concatenate(b)),
                     _r(np.concatenate(a_c), np.concatenate(b_c)),
                     _r(np.concatenate(a_old), np.concatenate(b))))

    layers = ("S1", "C1 serre grid", "C1 centred grid", "C1 contrast-normalised")
    table = np.array([r[1:] for r in rows])
    print(f"HMAX fidelity: package vs transcription of Serre et al. 2007 on {len(names)} "
          f"scikit-image photographs, {args.size}x{args.size} px")
    print(f"{'image':<10}" + "".join(f"{name:>24}" for name in layers))
    for name, *values in rows:
        print(f"{name:<10}" + "".join(f"{v:>24.4f}" for v in values))
    print(f"{'median':<10}" + "".join(f"{v:>24.4f}" for v in np.median(table, axis=0)))
    print(f"{'minimum':<10}" + "".join(f"{v:>24.4f}" for v in table.min(axis=0)))
    target = float(np.median(table[:, 1]))
    print(f"target: median C1 (serre grid) r >= 0.98: {'met' if target >= 0.98 else 'MISSED'} "
          f"({target:.4f})")
    print(f"time: package {t_pkg:.1f} s (4 runs), reference {t_ref:.1f} s "
          f"({'direct' if args.direct else 'fftconvolve'}), total "
          f"{time.perf_counter() - t0:.1f} s")
    return {"layers": np.array(layers), "r": table}


if __name__ == "__main__":
    main()
