"""Speed of 2D Gabor fits: batched Levenberg–Marquardt against per-map scipy TRF.

Run:  python benchmarks/bench_gabor_fit.py [--n 77] [--size 16] [--noise 0.1]
      python benchmarks/bench_gabor_fit.py --maps stack.npz   (an ``stack`` array, optional ``ppd``)

Fits the same noisy receptive fields (default: 77 maps of 16x16 px, the count of
``compare --quick``'s largest call) twice, and reports CPU time per fit, success,
recovery errors and the agreement of the two:

* ``fit_gabors``: all maps of the stack in one batched Levenberg–Marquardt per start;
* the named baseline, measured in the same run: the previous path, one
  ``scipy.optimize.least_squares(method="trf")`` per map and start with the same
  starts and rules (``analysis.gabor_fit._fit_one_trf``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from analysis.gabor_fit import _fit_one_trf, fit_gabors


def make_stack(n: int, size: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[(size - 1) / 2:-(size + 1) / 2:-1, -(size - 1) / 2:(size + 1) / 2]
    stack = np.empty((n, size, size))
    truth = np.empty((n, 2))
    for i in range(n):
        sf = rng.uniform(0.06, 0.3)
        th = rng.uniform(0, np.pi)
        sx = min(rng.uniform(0.3, 0.8) / sf, size / 4)
        sy = min(rng.uniform(0.3, 1.0) / sf, size / 4)
        x0, y0 = rng.uniform(-size / 8, size / 8, 2)
        xp = (x - x0) * np.cos(th) + (y - y0) * np.sin(th)
        yp = -(x - x0) * np.sin(th) + (y - y0) * np.cos(th)
        env = np.exp(-xp**2 / (2 * sx**2) - yp**2 / (2 * sy**2))
        stack[i] = env * np.cos(2 * np.pi * sf * xp + rng.uniform(0, 2 * np.pi))
        truth[i] = np.rad2deg(th), sf
    stack += rng.normal(0, noise, stack.shape)
    return stack, truth


def summarise(label: str, orientation, sf, r2, success, truth, seconds: float,
              cpu: float) -> None:
    n = len(r2)
    line = (f"{label}: {n} fits in {seconds:.3f} s wall, {cpu:.3f} s CPU "
            f"({1e3 * cpu / n:.2f} ms CPU/fit); success {np.mean(success):.1%}; "
            f"median R² {np.nanmedian(r2):.4f}")
    if truth is not None:
        dth = np.abs((orientation - truth[:, 0] + 90) % 180 - 90)
        dsf = np.abs(sf / truth[:, 1] - 1)
        line += (f"; median |dθ| {np.median(dth):.3f} deg, 95th pct "
                 f"{np.percentile(dth, 95):.2f} deg; median |dsf|/sf {np.median(dsf):.4f}")
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=77)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--maps", help="an .npz file with a (n, rows, cols) 'stack' to fit")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    args = parser.parse_args()
    if args.maps:
        saved = np.load(args.maps)
        stack, truth = saved["stack"], None
        ppd = float(saved["ppd"]) if "ppd" in saved and np.isfinite(saved["ppd"]) else None
    else:
        stack, truth = make_stack(args.n, args.size, args.noise)
        ppd = None

    def timed(fn):
        best = None
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            took = (time.perf_counter() - t0, time.process_time() - c0)
            best = took if best is None or took[1] < best[1] else best
        return out, best

    tab, (wall, cpu) = timed(lambda: fit_gabors(stack, ppd))
    summarise("batched LM (fit_gabors)", tab["orientation"], tab["sf"], tab["r2"],
              tab["success"], truth, wall, cpu)
    ref, (wall_ref, cpu_ref) = timed(lambda: [_fit_one_trf(img, ppd, 0.5, 200) for img in stack])
    r2_ref = np.array([f.r2 for f in ref])
    summarise("baseline, scipy TRF per map", np.array([f.orientation for f in ref]),
              np.array([f.sf for f in ref]), r2_ref, [f.success for f in ref], truth,
              wall_ref, cpu_ref)
    diff = tab["r2"] - r2_ref
    same = np.isfinite(diff)
    print(f"R² batched - TRF: within 1e-3 or better on {np.mean(diff[same] >= -1e-3):.1%} "
          f"of maps; min {diff[same].min():.2e}, max {diff[same].max():.2e}; "
          f"success {int(tab['success'].sum())} vs {sum(f.success for f in ref)}")
    print(f"speed-up (CPU time): {cpu_ref / cpu:.1f}x")


if __name__ == "__main__":
    main()
