"""Refit the default V1 population's hyper-parameters and ship them.

Runs :func:`analysis.population_fit.fit_population` on the compare job's default
display (64 × 64 px at 16 px/deg), training seed 0, held-out seed 1, and writes
``v1model/data/v1_population.json`` (with ``--write``), which ``V1Model(display)``
loads.  Prints the training and held-out scores and the per-property scores.

Usage::

    python benchmarks/fit_v1_population.py [--evaluations 80] [--search 16]
        [--method brainscore] [--start '{"untuned": {"weight": 1.0}}'] [--write]

``--method brainscore`` (default) maximises the mean ceiled Brain-Score similarity
(:func:`analysis.population_fit.brainscore_population_score`), the score ``v1model
compare`` reports by default; ``--method ks`` the earlier 1 − KS objective.  The
command line is written into the file's ``fit.command``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

import numpy as np

from analysis.population_fit import fit_population, save_fit
from stimuli.display import Display

DATA = os.path.join(os.path.dirname(__file__), os.pardir, "v1model", "data",
                    "v1_population.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=80)
    parser.add_argument("--search", type=int, default=16)
    parser.add_argument("--n-units", type=int, default=160)
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--test-seed", type=int, default=1)
    parser.add_argument("--rng", type=int, default=0)
    parser.add_argument("--method", choices=("brainscore", "ks"), default="brainscore")
    parser.add_argument("--n-boot", type=int, default=30)
    parser.add_argument("--start", type=json.loads, default=None,
                        help="JSON stage settings to start from (default: the shipped ones)")
    parser.add_argument("--write", action="store_true", help="ship the result")
    args = parser.parse_args()
    result = fit_population(Display((64, 64), 16.0), n_units=args.n_units,
                            train_seed=args.train_seed, test_seed=args.test_seed,
                            n_search=args.search, max_evaluations=args.evaluations,
                            rng=args.rng, method=args.method, n_boot=args.n_boot,
                            start=args.start, progress=True)
    print(json.dumps(result.settings, indent=1))
    print(f"start {result.start_score:.4f}  train {result.train_score:.4f}  "
          f"held-out {result.test_score:.4f}  ({result.evaluations} evaluations, "
          f"{result.seconds:.0f} s)")
    for name, res in (("train", result.train), ("held-out", result.test)):
        for layer, row in res["layers"].items():
            print(f"{name:8s} {layer:8s} " + " ".join(f"{k}={v:.2f}" for k, v in row.items()))
        print(f"{name:8s} pooled F1/F0 {res['modulation_ratio']:.2f}, bimodality "
              f"{res['f1f0_bimodality']:.2f}; medians "
              + json.dumps({k: {kk: None if vv is None else round(vv, 3)
                                for kk, vv in v.items()} for k, v in res["medians"].items()}))
    if args.write:
        command = "python " + " ".join(shlex.quote(a) for a in
                                       ["benchmarks/fit_v1_population.py", *sys.argv[1:]])
        save_fit(result, os.path.normpath(DATA), command=command)
        print(f"wrote {os.path.normpath(DATA)}")
    np.set_printoptions(precision=3)


if __name__ == "__main__":
    main()
