"""When direct dot products beat the FFT for responses at a few positions only.

Run:  python benchmarks/bench_sampled_filters.py [--n 16] [--repeats 2] [--long]

The default (16 images per call, 2 repeats, 1 000 reverse-correlation images)
finishes in under 2 minutes on 2 cores; ``--long`` is the original table (64
images, 3 repeats, 2 000 images).  Since issue 16 the "fft" family also holds the
decimated transform of regular grids (``method="strided"``), so the forced
"fft" column is the better of full maps and decimated maps.

:meth:`v1model._fft.FourierFilters.at` returns filter responses at a grid of pixels
only; it computes them either by filtering whole images through the FFT and slicing,
or by direct dot products of the kernels with the image patches at those pixels.  It
picks the direct route when ``positions · kh · kw < A · fr · fc · log2(fr · fc)``
(``fr, fc`` the FFT size, ``A = _DIRECT_ADVANTAGE``).  This script times both routes
(forced) over image sizes, kernel sizes and numbers of positions, prints seconds per
image for each, which is faster, and which one the rule picks — the table the
constant ``A`` was read from.  Also prints the V1 model's speed-up on a white-noise
reverse-correlation workload (its centre units only).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import v1model._fft as fft_module
from v1model._fft import FourierFilters


def best_time(filters: FourierFilters, images: np.ndarray, idx: np.ndarray,
              repeats: int) -> float:
    """Best of ``repeats`` seconds for ``filters.at(images, idx, idx)``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        filters.at(images, idx, idx)
        times.append(time.perf_counter() - t0)
    return min(times)


def forced(route: str):
    """Context-free switch of the rule: 'direct' always, 'fft' never."""
    fft_module._DIRECT_ADVANTAGE = np.inf if route == "direct" else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="images per call")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rc-images", type=int, default=1000,
                        help="white-noise images of the V1 reverse-correlation workload")
    parser.add_argument("--long", action="store_true",
                        help="64 images per call, 3 repeats, 2000 reverse-correlation images")
    args = parser.parse_args()
    if args.long:
        args.n, args.repeats, args.rc_images = 64, 3, 2000
    rule = fft_module._DIRECT_ADVANTAGE
    rng = np.random.default_rng(0)
    print(f"{len(os.sched_getaffinity(0))} usable cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.n} images per call, "
          f"24 filters, float32; rule A = {rule:g}")
    print(f"{'image':>6} {'kernel':>6} {'positions':>9} {'fft ms/img':>10} "
          f"{'direct ms/img':>13} {'faster':>7} {'rule':>7}")
    wrong = 0
    for size in (32, 64, 128):
        images = rng.normal(size=(args.n, size, size)).astype(np.float32)
        for kernel in (13, 25, 49):
            filters = FourierFilters(rng.normal(size=(24, kernel, kernel)))
            fr, fc = filters._fft_shape(size, size)
            for side in (1, 2, 4, 8, 16):
                idx = np.linspace(0, size - 1, side).round().astype(int)
                times = {}
                for route in ("fft", "direct"):
                    forced(route)
                    filters.at(images[:2], idx, idx)          # warm the spectrum cache
                    times[route] = best_time(filters, images, idx, args.repeats) / args.n * 1e3
                fft_module._DIRECT_ADVANTAGE = rule
                picks = ("direct" if side * side * kernel * kernel
                         < rule * fr * fc * np.log2(fr * fc) else "fft")
                faster = min(times, key=times.get)
                # a wrong pick only matters when the two routes differ by > 20%
                if picks != faster and max(times.values()) > 1.2 * min(times.values()):
                    wrong += 1
                print(f"{size:>6} {kernel:>6} {side * side:>9} {times['fft']:>10.3f} "
                      f"{times['direct']:>13.3f} {faster:>7} {picks:>7}")
    print(f"rule picks the slower route (by > 20%) in {wrong} cases")

    from analysis.receptive_fields import reverse_correlation
    from stimuli.display import Display
    from v1model.v1 import V1Model

    model = V1Model.grid(Display((48, 48), 16), stride=8)
    seconds = {}
    for route in ("fft", "direct"):
        forced(route)
        t0 = time.perf_counter()
        reverse_correlation(model, "simple", n_images=args.rc_images, rng=0)
        seconds[route] = time.perf_counter() - t0
    fft_module._DIRECT_ADVANTAGE = rule
    print(f"V1 model (48x48 px, 144 simple units at the centre), reverse correlation with "
          f"{args.rc_images} images: FFT {seconds['fft']:.2f} s, direct {seconds['direct']:.2f} s "
          f"({seconds['fft'] / seconds['direct']:.1f}x)")


if __name__ == "__main__":
    main()
