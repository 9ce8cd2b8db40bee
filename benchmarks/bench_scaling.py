"""How run time and memory grow with units, images and image size: log-log slopes.

Run:  PYTHONPATH=. python benchmarks/bench_scaling.py [--long]   (from the repository root)

Three axes, each against the bare float32 arithmetic of the same sizes measured
in the same run, each printed as a table and a log-log slope (time ∝ size^slope):

units (10² → 3·10³; 10⁴ with ``--long``)
    ``run_protocol`` of the orientation protocol (288 gratings, 64 x 64 px at
    16 px/deg) through the simple layer of ``V1Model.from_population(display,
    sample_population(N))`` at its centre pixel (``V1Model.responses_at``: one
    BLAS product of image patches with the stacked filters).  Baseline:
    ``(images, pixels) @ (pixels, N)`` in float32.  Ideal slope 1.0; fixed costs
    (rendering) make it lower at small N.
images (10² → 10⁴ white-noise images; 10⁵ with ``--long``)
    ``analysis.receptive_fields.reverse_correlation`` for 1,000 population units
    (32 x 32 px, centre pixel, ``V1Model.responses_at`` as above), each size in a fresh
    process so that its peak RSS is its own.  Baseline: the two float32 products
    the method cannot avoid — responses ``(n, pixels) @ (pixels, units)`` and the
    response-weighted sum ``(units, n) @ (n, pixels)`` — in chunks of 500.  Ideal
    slope 1.0 in time and 0 in peak RSS (the images are streamed).
image size (32 → 128 px; 256 with ``--long``)
    ``run_protocol`` (72 gratings) through ``V1Model(display, stride=4)``, simple
    layer, against the bare float32 FFT filtering of the same images with the
    same 72 distinct kernels (``rfft2``, product, ``irfft2`` of full maps).  The
    ideal slope is that of the pixels, 2.0 (plus the FFT's log).

Times are best of two runs (one for the slowest points); the load average is
printed with every table because the machine may be shared.  Default run: well
under 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import scipy.fft as sfft

from analysis.runner import run_protocol
from stimuli.display import Display
from stimuli.protocols import orientation_tuning
from v1model.population import sample_population
from v1model.v1 import V1Model


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def best(func, repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def traced_peak(func) -> float:
    """Peak traced allocation (MB) of one call (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def population(display: Display, n: int, seed: int = 0):
    pop = sample_population(2 * n, rng=seed)
    return pop.take(np.flatnonzero(pop["sf"] < 0.8 * display.nyquist_cpd)[:n])


def placed_matrix(display: Display, n: int, rng) -> np.ndarray:
    return rng.normal(size=(display.shape[0] * display.shape[1], n)).astype(np.float32)


def table(title: str, header: str, rows: list[str], slopes: str) -> None:
    print(f"\n{title}   (load {load()})\n{header}")
    for row in rows:
        print(row)
    print(slopes)


def axis_units(long: bool) -> None:
    display = Display((64, 64), pixels_per_degree=16.0)
    protocol = orientation_tuning(display)
    images = np.concatenate([b for _, b in protocol.batches(len(protocol))])
    flat = images.reshape(len(images), -1).astype(np.float32)
    rng = np.random.default_rng(0)
    sizes = [100, 300, 1000, 3000] + ([10000] if long else [])
    t_model, t_bare, rows = [], [], []
    for n in sizes:
        v1 = V1Model.from_population(display, population(display, n))
        n = v1.n_channels("simple")
        model = v1

        def run(model=model):
            return run_protocol(model, protocol, "simple", units="centre", progress=False,
                                batch_size=len(protocol))

        run()
        t = best(run)
        peak = traced_peak(run)
        weights = placed_matrix(display, n, rng)
        b = best(lambda weights=weights: flat @ weights)
        t_model.append(t)
        t_bare.append(b)
        rows.append(f"{n:>7} {t * 1e3:>10.1f} {b * 1e3:>9.2f} {t / b:>8.1f} {peak:>9.1f}")
    table("units: run_protocol(orientation, 288 images) through a population at one position",
          f"{'units':>7} {'model ms':>10} {'BLAS ms':>9} {'ratio':>8} {'peak MB':>9}", rows,
          f"log-log slope: model {slope(sizes, t_model):.2f}, bare BLAS "
          f"{slope(sizes, t_bare):.2f} (ideal 1.0)")


_CHILD = """
import json, resource, sys, time
from analysis.receptive_fields import reverse_correlation
from stimuli.display import Display
from v1model.population import sample_population
from v1model.v1 import V1Model
import numpy as np
n = int(sys.argv[1])
display = Display((32, 32), pixels_per_degree=16.0)
pop = sample_population(2000, rng=0)
pop = pop.take(np.flatnonzero(pop["sf"] < 0.8 * display.nyquist_cpd)[:1000])
model = V1Model.from_population(display, pop)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
rf = reverse_correlation(model, "simple", n_images=n, rng=0, units="centre")
t = time.perf_counter() - t0
print(json.dumps({"seconds": t, "units": int(rf.maps.shape[0]),
                  "rss_before_mb": before / 1024,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def axis_images(long: bool) -> None:
    sizes = [100, 1000, 10000] + ([100000] if long else [])
    rng = np.random.default_rng(1)
    weights = placed_matrix(Display((32, 32), 16.0), 1000, rng)
    t_rc, t_bare, rss, rows = [], [], [], []
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for n in sizes:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(n)], capture_output=True,
                             text=True, check=True, env=env)
        res = json.loads(out.stdout.strip().splitlines()[-1])

        def bare(n=n):
            for start in range(0, n, 500):
                chunk = rng.normal(size=(min(500, n - start), 1024)).astype(np.float32)
                r = chunk @ weights
                r.T @ chunk

        b = best(bare, 1 if n >= 10000 else 2)
        t_rc.append(res["seconds"])
        t_bare.append(b)
        rss.append(res["rss_mb"])
        rows.append(f"{n:>7} {res['units']:>6} {res['seconds']:>9.2f} {b:>9.2f} "
                    f"{res['seconds'] / b:>7.1f} {res['rss_before_mb']:>10.0f} "
                    f"{res['rss_mb']:>9.0f}")
    table("images: reverse_correlation (white noise, 32 x 32 px) of 1,000 units, own process",
          f"{'images':>7} {'units':>6} {'rc s':>9} {'bare s':>9} {'ratio':>7} {'RSS0 MB':>10} "
          f"{'peak MB':>9}", rows,
          f"log-log slope: time {slope(sizes, t_rc):.2f}, bare {slope(sizes, t_bare):.2f} "
          f"(ideal 1.0); peak RSS {slope(sizes, rss):.2f} (ideal 0)")


def axis_size(long: bool) -> None:
    sizes = [32, 64, 128] + ([256] if long else [])
    t_model, t_bare, rows = [], [], []
    for size in sizes:
        display = Display((size, size), pixels_per_degree=16.0)
        protocol = orientation_tuning(display, phases=[0.0, 90.0])
        images = np.concatenate([b for _, b in protocol.batches(len(protocol))]).astype(
            np.float32)
        model = V1Model(display, stride=4)

        def run(model=model, protocol=protocol):
            return run_protocol(model, protocol, "simple", units="centre", progress=False,
                                batch_size=len(protocol))

        run()
        t = best(run)
        # bare FFT: every distinct kernel of the bank, full maps, one FFT size
        kernels = model.bank.kernels
        side = min(max(k.shape[0] for k in kernels), 2 * size - 1)
        shape = (sfft.next_fast_len(size + side - 1, real=True),) * 2
        stack = np.zeros((len(kernels), side, side), dtype=np.float32)
        for j, k in enumerate(kernels):
            c, h = k.shape[0] // 2, min(k.shape[0] // 2, side // 2)
            stack[j, side // 2 - h:side // 2 + h + 1, side // 2 - h:side // 2 + h + 1] = \
                k[c - h:c + h + 1, c - h:c + h + 1]
        spectra = sfft.rfft2(stack, s=shape)

        def bare(images=images, spectra=spectra, shape=shape):
            for start in range(0, len(images), 8):
                f = sfft.rfft2(images[start:start + 8], s=shape, workers=2)
                sfft.irfft2(f[:, None] * spectra[None], s=shape, workers=2)

        b = best(bare)
        t_model.append(t)
        t_bare.append(b)
        rows.append(f"{size:>5} {len(kernels):>8} {t * 1e3:>10.1f} {b * 1e3:>10.1f} "
                    f"{t / b:>7.2f}")
    table("image size: run_protocol(orientation, 72 images) through V1Model(stride=4)",
          f"{'px':>5} {'kernels':>8} {'model ms':>10} {'FFT ms':>10} {'ratio':>7}", rows,
          f"log-log slope: model {slope(sizes, t_model):.2f}, bare full-map FFT "
          f"{slope(sizes, t_bare):.2f} (pixels: 2.0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true",
                        help="10^4 units, 10^5 images, 256-px images")
    parser.add_argument("--axes", nargs="+", default=["units", "images", "size"],
                        choices=["units", "images", "size"])
    args = parser.parse_args()
    print(f"{len(os.sched_getaffinity(0))} usable cores; load average {load()}")
    for axis in args.axes:
        {"units": axis_units, "images": axis_images, "size": axis_size}[axis](args.long)


if __name__ == "__main__":
    main()
