"""Speed of 2D Gabor fits: 1000 noisy 32x32 receptive fields.

Run:  python benchmarks/bench_gabor_fit.py [--n 1000] [--size 32] [--noise 0.05]

Reports the time per fit and the total, the share of successful fits and the
recovery errors, against a named baseline measured in the same run: the same
fits with scipy's finite-difference Jacobian instead of the analytic one
(on a subset, since it is the slow path).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from analysis import gabor_fit
from analysis.gabor_fit import fit_gabors


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


def summarise(label: str, tab, truth, seconds: float, cpu: float) -> None:
    ok = tab["success"]
    dth = np.abs((tab["orientation"] - truth[:, 0] + 90) % 180 - 90)
    dsf = np.abs(tab["sf"] / truth[:, 1] - 1)
    print(f"{label}: {len(tab)} fits in {seconds:.2f} s wall, {cpu:.2f} s CPU "
          f"({1e3 * cpu / len(tab):.2f} ms CPU/fit); "
          f"success {ok.mean():.1%}; median |dθ| {np.median(dth):.2f} deg, "
          f"95th pct {np.percentile(dth, 95):.2f} deg; median |dsf|/sf {np.median(dsf):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--baseline-n", type=int, default=100)
    parser.add_argument("--long", action="store_true", help="5000 fits, 300 baseline fits")
    args = parser.parse_args()
    if args.long:
        args.n, args.baseline_n = 5000, 300
    stack, truth = make_stack(args.n, args.size, args.noise)

    t0, c0 = time.perf_counter(), time.process_time()
    tab = fit_gabors(stack)
    fast, fast_cpu = time.perf_counter() - t0, time.process_time() - c0
    summarise("analytic Jacobian", tab, truth, fast, fast_cpu)

    m = min(args.baseline_n, args.n)
    gabor_fit._Problem.analytic_jacobian = False  # least_squares uses '2-point' differences
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        base = fit_gabors(stack[:m])
        slow, slow_cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        gabor_fit._Problem.analytic_jacobian = True
    summarise("baseline, finite differences", base, truth[:m], slow, slow_cpu)
    print(f"speed-up per fit (CPU time): {(slow_cpu / m) / (fast_cpu / args.n):.1f}x")


if __name__ == "__main__":
    main()
