"""Speed of the spiking V1 layer on the drifting-grating protocol (8 directions x 2 s).

Run:  python benchmarks/bench_spiking.py [--targets numpy cython] [--positions 3]
      [--cache-dir DIR] [--long]

By default only the numpy target runs (about a minute on 2 cores); the Cython
target compiles its code objects on a cold cache (minutes), so it runs with
``--long`` or ``--targets cython`` (with ``--cache-dir`` to keep the compiled code).

The model is a default ``SpikingV1`` (the V1 model's default grid: 12 orientations x
3 sfs x 4 phases = 144 simple channels, 36 complex) at ``--positions`` RF positions,
so 3 positions give 432 simple + 108 complex = 540 neurons per stimulus and 4320
in the network.  For each code-generation target it reports the wall and CPU time
of the whole protocol through :func:`analysis.runner.run_protocol` (stimuli, Gabor
drive, one brian2 network for all 8 conditions, binning; both layers, the second
read from the cache), against a baseline measured in the same run: one brian2
network per condition.  The Cython target is timed with a warm cache (a first
run of the same protocol compiles every code object; its time is printed too).
The machine's load average is printed, since the numbers depend on what else
runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

from analysis.runner import run_protocol
from stimuli.display import Display
from stimuli.protocols import drifting_gratings
from v1model.spiking import SpikingV1

POSITIONS = [(0.0, 0.0), (0.25, 0.0), (0.0, 0.25), (-0.25, 0.0), (0.0, -0.25)]


def timed(function):
    t0, c0 = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=None,
                        choices=["numpy", "cython", "cpp_standalone"])
    parser.add_argument("--positions", type=int, default=3, choices=range(1, 6))
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per movie")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the one-network-per-condition baseline")
    parser.add_argument("--cache-dir", default=None,
                        help="keep compiled code here (default: a temporary directory, removed)")
    parser.add_argument("--long", action="store_true",
                        help="numpy and cython targets (cython compiles: minutes), 5 positions, "
                             "4 s movies")
    args = parser.parse_args()
    if args.targets is None:
        args.targets = ["numpy", "cython"] if args.long else ["numpy"]
    if args.long:
        args.positions, args.duration = 5, 4.0

    display = Display((64, 64), pixels_per_degree=16)
    protocol = drifting_gratings(display, duration=args.duration)
    positions = POSITIONS[:args.positions]
    cache = args.cache_dir or tempfile.mkdtemp(prefix="bench-spiking-")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          f"(shared machine: other jobs may be running)")
    try:
        for target in args.targets:
            if target != "numpy" and shutil.which("c++") is None and shutil.which("g++") is None:
                print(f"{target}: skipped, no C++ compiler")
                continue
            model = SpikingV1(display, positions=positions, target=target, cache_dir=cache, rng=0)
            n_neurons = model.n_units("simple") + model.n_units("complex")

            def whole_protocol(model=model):
                return {layer: run_protocol(model, protocol, layer, progress=False)
                        for layer in model.layers}

            if target == "cython":
                # cold: compiles every code object into the (fresh) cache directory
                _, cold, _ = timed(whole_protocol)
                print(f"cython: first run (compiles what the cache lacks): {cold:.1f} s wall")
                model = SpikingV1(display, positions=positions, target=target, cache_dir=cache,
                                  rng=1)

            recordings, wall, cpu = timed(lambda m=model: whole_protocol(m))
            rates = {layer: rec.responses.sum(axis=2).max(axis=0).mean() / args.duration
                     for layer, rec in recordings.items()}
            print(f"{target}: {len(protocol)} conditions x {args.duration:g} s, "
                  f"{model.n_units('simple')} simple + {model.n_units('complex')} complex = "
                  f"{n_neurons} neurons per condition ({n_neurons * len(protocol)} in the "
                  f"network), sim dt {model.sim_dt * 1e3:.3f} ms: {wall:.2f} s wall, "
                  f"{cpu:.2f} s CPU; mean rate at the preferred direction "
                  f"{rates['simple']:.1f} (simple), {rates['complex']:.1f} (complex) spikes/s")
            stimuli = protocol.stimuli(np.arange(len(protocol)))
            _, drive_s, _ = timed(lambda m=model, s=stimuli: m.drive(s))
            print(f"    of which the Gabor drive: {drive_s:.2f} s")
            if args.no_baseline:
                continue

            def per_condition(target=target, stimuli=stimuli, seed=0):
                single = SpikingV1(display, positions=positions, target=target, cache_dir=cache,
                                   rng=seed)
                for i in range(len(stimuli)):
                    single.spike_trains(stimuli[i:i + 1], "simple")

            if target == "cython":
                # the movie reader's code holds the batch shape: compile it for one condition
                _, warm, _ = timed(lambda s=stimuli[:1]: per_condition(stimuli=s, seed=2))
                print(f"    (warm-up for one-condition batches: {warm:.1f} s)")

            _, base_wall, base_cpu = timed(per_condition)
            print(f"    baseline, one brian2 network per condition: {base_wall:.2f} s wall, "
                  f"{base_cpu:.2f} s CPU -> batched is {base_wall / wall:.2f}x faster (wall), "
                  f"{base_cpu / cpu:.2f}x (CPU)")
    finally:
        if args.cache_dir is None:
            shutil.rmtree(cache, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
