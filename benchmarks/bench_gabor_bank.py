"""Throughput of the Fourier-domain Gabor bank against direct correlation, in one run.

Run:  python benchmarks/bench_gabor_bank.py [--size 128] [--ppd 16] [--n-fft 16]
      [--n-direct 1] [--direct ndimage|signal] [--repeats 2] [--workers N]

Filters ``--n-fft`` random images with :class:`v1model.gabor.GaborBank` (the V1
model's default bank: 12 orientations x sf 1, 2, 4 c/deg x 4 phases, nx = ny =
0.5, so 49-, 25- and 13-px kernels at 16 px/deg) and ``--n-direct`` of the same
images with the same kernels by direct spatial correlation
(``scipy.ndimage.correlate``, zero padding = mean grey, or
``scipy.signal.correlate(..., method="direct")``, several times slower still:
about 85 s for one image at the defaults).  Prints the configuration,
images per second for both, their ratio and the largest difference between the
two results (they compute the same 'same'-size correlation).

FFT times are the best of ``--repeats`` runs after a warm-up call that fills the
bank's spectrum cache; direct correlation is timed once.  On a shared machine
both vary with the load (printed), the ratio less so.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy
from scipy import ndimage, signal

from stimuli.display import Display
from v1model.gabor import GaborBank


def best_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def direct(images: np.ndarray, kernels, method: str) -> np.ndarray:
    """``(n, k, rows, cols)`` float32 by direct correlation, kernel by kernel."""
    out = np.empty((len(images), len(kernels), *images.shape[1:]), dtype=np.float32)
    for i, image in enumerate(images):
        for j, kernel in enumerate(kernels):
            if method == "ndimage":
                out[i, j] = ndimage.correlate(image, kernel, mode="constant", cval=0.0)
            else:
                out[i, j] = signal.correlate(image, kernel, mode="same", method="direct")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--ppd", type=float, default=16.0, help="pixels per degree")
    parser.add_argument("--n-fft", type=int, default=16, help="images for the FFT bank")
    parser.add_argument("--n-direct", type=int, default=1, help="images for direct correlation")
    parser.add_argument("--direct", choices=("ndimage", "signal"), default="ndimage")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="scipy.fft threads")
    parser.add_argument("--long", action="store_true", help="64 FFT images, 2 direct, 3 repeats")
    args = parser.parse_args()
    if args.long:
        args.n_fft, args.n_direct, args.repeats = 64, 2, 3

    display = Display((args.size, args.size), args.ppd)
    bank = GaborBank(display, workers=args.workers)
    kernels = [k.astype(np.float32) for k in bank.kernels]
    images = np.random.default_rng(0).uniform(-1, 1, size=(args.n_fft, args.size, args.size))
    images = images.astype(np.float32)
    sizes, counts = np.unique(bank.parameters["size"], return_counts=True)

    print(f"numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{len(os.sched_getaffinity(0))} usable cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"bank: {bank}")
    print(f"kernel sizes (px): {dict(zip(sizes.tolist(), counts.tolist(), strict=True))}; "
          f"images {args.size}x{args.size} float32; FFT workers {bank.workers}; "
          f"direct method: {args.direct}")

    t0 = time.perf_counter()
    fft_out = bank(images[:1])
    warm = time.perf_counter() - t0
    t_fft = best_time(lambda: bank(images), args.repeats)
    fft_rate = args.n_fft / t_fft
    print(f"FFT bank:  {args.n_fft} images in {t_fft:.3f} s -> {fft_rate:.1f} images/s "
          f"(first call incl. spectra: {warm:.3f} s)")

    m = min(args.n_direct, args.n_fft)
    t0 = time.perf_counter()
    ref = direct(images[:m], kernels, args.direct)
    t_direct = time.perf_counter() - t0
    direct_rate = m / t_direct
    print(f"direct:    {m} image(s) in {t_direct:.3f} s -> {direct_rate:.3f} images/s "
          f"(one run: it is the slow path)")

    fft_out = bank(images[:m])
    err = float(np.max(np.abs(fft_out - ref)))
    print(f"max |FFT - direct| = {err:.2e} (responses up to {float(np.max(np.abs(ref))):.2f})")
    print(f"speed-up (FFT bank / direct): {fft_rate / direct_rate:.1f}x")


if __name__ == "__main__":
    main()
