"""Wall time of ``v1model compare`` (``--quick`` and the default battery), as a user runs it.

Run:  python benchmarks/bench_compare.py [--runs 2] [--default] [--against SUMMARY.json]

Each run is a fresh ``python -m v1model compare --quick --no-progress`` (``--default``
adds the default battery) in a subprocess, timed from outside: interpreter start,
imports, the models on the two worker processes, figures and report.  Printed per
run: the wall time against the limit of issue 16 (8 s quick, 30 s default on a quiet
2-core machine), the machine's 1-minute load average before and after (the numbers
mean little on a busy machine), and the breakdown the run wrote into
``summary.json`` (``timing``: each model's wall and CPU time in the process that ran
it, the models side by side, the figures after the models, the total).

``--against`` compares the run's numbers with an earlier ``summary.json`` of the same
battery and seed: every number except times and paths, with the largest relative
difference (BLAS sums in float32 round differently with another thread count: the
workers use one BLAS thread each).  About a minute with the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

#: Limits of issue 16, seconds of wall time on a quiet 2-core machine.
LIMITS = {"quick": 8.0, "default": 30.0}

#: summary.json keys that hold times, paths or the job name, not results.
_NOT_RESULTS = {"seconds", "timing", "cpu_s", "wall_s", "recordings", "figures", "job"}


def run_once(quick: bool, out: str) -> tuple[float, dict]:
    """One ``v1model compare`` in a fresh interpreter: (wall seconds, summary.json)."""
    cmd = [sys.executable, "-m", "v1model", "compare", "--no-progress", "--out", out]
    if quick:
        cmd.append("--quick")
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    with open(os.path.join(out, "compare", "summary.json"), encoding="utf-8") as fh:
        return wall, json.load(fh)


def differences(a, b, path: str = "") -> list[tuple[float, str]]:
    """(relative difference, path) of every number that differs; inf for other changes."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - _NOT_RESULTS
        return [d for k in sorted(keys) for d in (
            differences(a[k], b[k], f"{path}/{k}") if k in a and k in b
            else [(float("inf"), f"{path}/{k}")])]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (u, v) in enumerate(zip(a, b, strict=True))
                for d in differences(u, v, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        if a == b:
            return []
        return [(abs(a - b) / max(abs(a), abs(b)), path)]
    return [] if a == b else [(float("inf"), path)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each battery (default 2)")
    parser.add_argument("--default", action="store_true", help="time the default battery too")
    parser.add_argument("--against", default=None, metavar="SUMMARY",
                        help="an earlier summary.json of the same battery to compare numbers with")
    args = parser.parse_args()
    batteries = ["quick"] + (["default"] if args.default else [])
    with tempfile.TemporaryDirectory() as tmp:
        for battery in batteries:
            for i in range(args.runs):
                load0 = os.getloadavg()[0]
                wall, summary = run_once(battery == "quick", os.path.join(tmp, battery))
                load1 = os.getloadavg()[0]
                print(f"{battery} run {i + 1}: {wall:.1f} s wall (limit {LIMITS[battery]:g} s, "
                      f"{wall / LIMITS[battery]:.2f} x), load {load0:.1f} -> {load1:.1f}")
                for stage, t in summary["timing"].items():
                    print(f"    {stage:<22} wall {t['wall_s']:6.2f} s   cpu {t['cpu_s']:6.2f} s")
            if args.against:
                with open(args.against, encoding="utf-8") as fh:
                    earlier = json.load(fh)
                diffs = sorted(differences(earlier, summary), reverse=True)
                worst = diffs[0] if diffs else (0.0, "-")
                print(f"  against {args.against}: {len(diffs)} numbers differ; largest relative "
                      f"difference {worst[0]:.2g} at {worst[1]}")


if __name__ == "__main__":
    main()
