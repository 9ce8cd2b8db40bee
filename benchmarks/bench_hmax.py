"""Time HMAX S1 + C1 (Fourier domain) against a direct-convolution reference, in one run.

Workload: 256 × 256 images (2 by default, 10 with ``--long``), the 64 S1 filters of
Serre et al. (2007) (16 sizes of 7-37 px × 4 orientations), energy normalisation,
C1 max over scales and N × N grids.

- **ours**: ``HMAX(...).responses(images, "C1")`` — S1 through
  ``v1model._fft.FourierFilters`` (cached spectra, scipy.fft), C1 fused band by band.
- **reference**: the same computation with the filters applied as direct
  convolutions — ``torch.nn.functional.conv2d`` when PyTorch is installed (both one
  conv of the 64 filters zero-padded to 37 × 37 and 16 convs of 4 filters of each
  size are timed; the faster counts), otherwise ``scipy.ndimage.correlate``.

The reference's C1 output is checked against ours before timing.  Each timing is the
best of ``--repeats`` runs, ours and the reference interleaved, after one warm-up run
(which fills our spectrum cache).  The machine load is printed: on a shared machine
the ratio is noisy, so repeat the run.

Usage::

    python benchmarks/bench_hmax.py [--repeats 2] [--n-images 2] [--threads 2] [--long]

The default (2 images, 2 repeats) finishes in under 2 minutes on 2 cores with torch
installed (a 37 x 37 direct convolution of 64 filters over a 256 x 256 image is
~6 G multiply-adds per image); ``--long`` is the original workload, 10 images and
5 repeats.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from stimuli.display import Display
from v1model.hmax import HMAX, S1Stage
from v1model.hmax.c1 import _pool_positions


def reference_c1_torch(images: np.ndarray, s1: S1Stage, pool_sizes, pool_steps, *,
                       single_conv: bool):
    """S1 + C1 with torch direct convolutions; returns a list of per-band C1 maps."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(images[:, None])
    sq = x * x
    n_o = len(s1.orientations)
    if single_conv:
        side = s1.max_size
        weight = np.zeros((s1.n_scales * n_o, 1, side, side), np.float32)
        for s, size in enumerate(s1.sizes):
            p = (side - size) // 2
            weight[s * n_o:(s + 1) * n_o, 0, p:side - p, p:side - p] = s1.kernels(s)
        resp = F.conv2d(x, torch.from_numpy(weight), padding=side // 2).abs()
        per_scale = [resp[:, s * n_o:(s + 1) * n_o] for s in range(s1.n_scales)]
    else:
        per_scale = [
            F.conv2d(x, torch.from_numpy(s1.kernels(s)[:, None].astype(np.float32)),
                     padding=size // 2).abs()
            for s, size in enumerate(s1.sizes)
        ]
    out = []
    rows, cols = images.shape[1:]
    for b, (n_pool, step) in enumerate(zip(pool_sizes, pool_steps, strict=True)):
        band = []
        for s in (2 * b, 2 * b + 1):
            size = s1.sizes[s]
            energy = F.avg_pool2d(sq, size, stride=1, padding=size // 2,
                                  count_include_pad=True) * (size * size)
            # S1 normalises by the luminance m + c (beyond the image: mean grey, c = 0)
            lum = s1.mean_luminance
            energy = energy + 2 * lum * F.avg_pool2d(x, size, stride=1, padding=size // 2,
                                                     count_include_pad=True) * (size * size)
            energy = energy + (lum * size) ** 2
            norm = energy.clamp_min(0).sqrt().clamp_min(s1.min_contrast * size)
            band.append(per_scale[s] / norm)
        m = torch.maximum(band[0], band[1])
        sr = _pool_positions(0, rows, n_pool, step)
        sc = _pool_positions(0, cols, n_pool, step)
        crop = m[:, :, sr[0]:sr[-1] + n_pool, sc[0]:sc[-1] + n_pool]
        out.append(F.max_pool2d(crop, n_pool, stride=step).numpy())
    return out


def reference_c1_scipy(images: np.ndarray, s1: S1Stage, pool_sizes, pool_steps):
    """S1 + C1 with scipy.ndimage.correlate (direct, slow); per-band C1 maps."""
    from scipy.ndimage import correlate, uniform_filter

    out = []
    rows, cols = images.shape[1:]
    for b, (n_pool, step) in enumerate(zip(pool_sizes, pool_steps, strict=True)):
        band = []
        for s in (2 * b, 2 * b + 1):
            size = s1.sizes[s]
            ker = s1.kernels(s)
            resp = np.stack([
                np.stack([np.abs(correlate(img, k, mode="constant")) for k in ker])
                for img in images.astype(np.float64)
            ])
            # S1 normalises by the luminance m + c (beyond the image: mean grey, c = 0)
            lum = s1.mean_luminance
            energy = np.stack([(uniform_filter(img ** 2, size, mode="constant")
                                + 2 * lum * uniform_filter(img, size, mode="constant"))
                               * size * size + (lum * size) ** 2
                               for img in images.astype(np.float64)])
            norm = np.maximum(np.sqrt(np.maximum(energy, 0)), s1.min_contrast * size)
            band.append(resp / norm[:, None])
        m = np.maximum(band[0], band[1])
        sr = _pool_positions(0, rows, n_pool, step)
        sc = _pool_positions(0, cols, n_pool, step)
        win = np.stack([np.stack([m[..., r:r + n_pool, c:c + n_pool].max(axis=(-2, -1))
                                  for c in sc], axis=-1) for r in sr], axis=-2)
        out.append(win.astype(np.float32))
    return out


def ours_per_band(c1: np.ndarray, model: HMAX) -> list[np.ndarray]:
    """Cut each band's valid region out of our centred C1 array."""
    mask = model.valid_mask("C1")
    n_o = 4
    bands = []
    for b in range(c1.shape[1] // n_o):
        m = mask[b * n_o]
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        bands.append(c1[:, b * n_o:(b + 1) * n_o, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    return bands


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--n-images", type=int, default=2)
    parser.add_argument("--long", action="store_true", help="10 images, 5 repeats")
    args = parser.parse_args()
    if args.long:
        args.n_images, args.repeats = 10, 5

    display = Display((256, 256), pixels_per_degree=32)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(args.n_images, 256, 256)).astype(np.float32)
    model = HMAX(display)
    s1 = model.stages[0][1]
    c1 = model.stages[1][1]

    print(f"cores available: {len(os.sched_getaffinity(0))}, load average before: "
          f"{os.getloadavg()[0]:.2f}")
    ours = model.responses(images, "C1")  # warm-up: spectra cached
    mine = ours_per_band(ours, model)

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(args.threads)
        refs = {
            "torch conv2d, one 64x37x37 conv": lambda: reference_c1_torch(
                images, s1, c1.pool_sizes, c1.pool_steps, single_conv=True),
            "torch conv2d, 16 convs of 4 filters": lambda: reference_c1_torch(
                images, s1, c1.pool_sizes, c1.pool_steps, single_conv=False),
        }
        repeats_ref = args.repeats
    else:
        refs = {"scipy.ndimage.correlate": lambda: reference_c1_scipy(
            images, s1, c1.pool_sizes, c1.pool_steps)}
        repeats_ref = 1

    for name, fn in refs.items():
        ref = fn()
        err = max(float(np.abs(a - b).max()) for a, b in zip(ref, mine, strict=True))
        print(f"max |C1 ours - C1 {name}| = {err:.2e}")
        if err > 1e-3:
            raise SystemExit("reference and FFT outputs disagree; timing would be meaningless")

    t_ours, t_ref = [], {name: [] for name in refs}
    for _ in range(args.repeats):
        t_ours.append(best_of(lambda: model.responses(images, "C1"), 1))
        for name, fn in refs.items():
            if len(t_ref[name]) < repeats_ref:
                t_ref[name].append(best_of(fn, 1))
    ours_best = min(t_ours)
    print(f"ours  (FFT S1 + C1): best {ours_best:.3f} s  (all: "
          f"{', '.join(f'{t:.2f}' for t in t_ours)})")
    for name, ts in t_ref.items():
        print(f"ref   ({name}): best {min(ts):.3f} s  (all: {', '.join(f'{t:.2f}' for t in ts)})")
    best_ref_name = min(t_ref, key=lambda k: min(t_ref[k]))
    ratio = min(t_ref[best_ref_name]) / ours_best
    median_ratio = float(np.median(t_ref[best_ref_name]) / np.median(t_ours))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"ratio (fastest reference [{best_ref_name}] / ours): best {ratio:.2f}x, "
          f"median {median_ratio:.2f}x")


if __name__ == "__main__":
    main()
