"""Where the time of ``v1model claims`` goes: seconds per claim and network.

Every claim runs once per network, so the budget (``--quick`` within 5 minutes on two
cores with the whole ensemble, the full run within 20) is set by the per-network cost
of each claim under :data:`v1model.app.claims.QUICK`.  This script reads the
``seconds_per_network`` that every run records in ``summary.json`` and prints

* a table of claims × networks (seconds),
* per claim: total, mean per network of each architecture, and its share of the sum,
* the wall time, the sum of the experiments' times (> wall when workers ran in
  parallel), and a projection of the run's wall time for ``--project small=5,wide=5``
  networks from the per-architecture means.

Either time a finished run::

    python benchmarks/bench_claims.py --summary v1model-output/claims/summary.json

or run the job first (on the shipped ensemble, or on stand-ins: ``--stand-ins 2``
trains two small networks briefly and builds two untrained 64 × 64 networks with 32
first-layer filters — the cost of the wide architecture, not its verdicts)::

    python benchmarks/bench_claims.py --quick --workers 2 [--stand-ins 2] [--out DIR]

Keep it short on a shared machine: ``--claims hierarchy,first_layer`` runs a subset
(the others are left out of the run, not timed).  ``--workers 1`` runs everything in
this process (numpy's BLAS then uses both cores), ``--workers 2`` as the CLI does (two
worker processes with one BLAS thread each).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections import defaultdict

import numpy as np


def stand_ins(n: int, seed: int = 0) -> list:
    """``n`` small networks (briefly trained) and ``n`` 64 × 64 stand-ins of the wide one."""
    from stimuli.display import Display
    from v1model.cnn import CNN, Network, default_cnn_spec, train_default_cnn

    nets = []
    for s in range(n):
        net = train_default_cnn(seed + s, n_per_class=8, epochs=1, progress=False)
        net.meta.update(name=f"small-s{seed + s}", arch="small", seed=seed + s)
        nets.append(net)
    for s in range(n):
        spec = default_cnn_spec(nets[0].network.shapes[nets[0].network.names[-1]][0],
                                input_size=64, conv1_channels=32, conv2_channels=64,
                                fc_units=128)
        wide = CNN(Network.from_spec(spec, rng=seed + s), Display((64, 64), 16.0),
                   meta={**nets[0].meta, "name": f"wide-s{seed + s}", "arch": "wide",
                         "seed": seed + s})
        nets.append(wide)
    return nets


def breakdown(summary: dict, project: dict[str, int] | None = None) -> str:
    """The tables described in the module docstring, as text."""
    networks = [n["name"] for n in summary["networks"]]
    arch_of = {n["name"]: n["arch"] for n in summary["networks"]}
    archs = list(dict.fromkeys(arch_of.values()))
    claims = [c for c in summary["claims"] if c["seconds_per_network"]]
    lines = [f"run: {'quick' if summary['quick'] else 'full'}, seed {summary['seed']}, "
             f"{len(networks)} networks, {summary.get('workers', 1)} worker(s), wall "
             f"{summary['total_seconds']:.0f} s on {summary['cpu_count']} CPU(s), load "
             f"{summary['load_average_before']} -> {summary['load_average_after']}", ""]
    width = max(8, *(len(n) for n in networks))
    lines.append(f"{'claim':<16}" + "".join(f"{n:>{width}}" for n in networks))
    for c in claims:
        row = [c["seconds_per_network"].get(n) for n in networks]
        lines.append(f"{c['key']:<16}" + "".join(
            f"{v:>{width}.1f}" if v is not None else f"{'-':>{width}}" for v in row))
    total = sum(sum(c["seconds_per_network"].values()) for c in claims)
    lines += ["", f"{'claim':<16}{'total s':>9}{'share':>7}"
              + "".join(f"{'mean ' + a:>12}" for a in archs)]
    means: dict[str, dict[str, float]] = defaultdict(dict)
    for c in claims:
        spn = c["seconds_per_network"]
        s = sum(spn.values())
        row = f"{c['key']:<16}{s:>9.1f}{s / total if total else 0:>7.0%}"
        for a in archs:
            mine = [v for n, v in spn.items() if arch_of.get(n) == a]
            if not mine and len(spn) == 1:     # a claim that trains its own networks
                means[c["key"]]["once"] = s
                row += f"{'once':>12}"
                continue
            m = float(np.mean(mine)) if mine else float("nan")
            means[c["key"]][a] = m
            row += f"{m:>12.1f}"
        lines.append(row)
    lines.append(f"sum of experiment times {total:.0f} s; wall {summary['total_seconds']:.0f} s")
    if project:
        sums = 0.0
        for m in means.values():
            if "once" in m:
                sums += m["once"]
            else:
                sums += sum(m.get(a, float("nan")) * k for a, k in project.items())
        workers = summary.get("workers", 1)
        what = ", ".join(f"{k} {a}" for a, k in project.items())
        lines.append(f"projection for {what}: {sums:.0f} s of experiments, about "
                     f"{sums / workers:.0f} s wall with {workers} worker(s) at this run's load "
                     f"(load average {summary['load_average_after']}; scale by the "
                     "idle machine's speed)")
    return "\n".join(lines)


def _project(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        arch, _, k = part.partition("=")
        out[arch.strip()] = int(k)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", help="a summary.json of a finished claims run")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, choices=(1, 2), default=2)
    parser.add_argument("--stand-ins", type=int, default=0,
                        help="run on N small + N 64x64 stand-ins instead of the ensemble")
    parser.add_argument("--claims", default=None, help="comma-separated claim keys to run")
    parser.add_argument("--project", type=_project, default={"small": 5, "wide": 5},
                        help="networks per architecture to project to (default small=5,wide=5)")
    parser.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    args = parser.parse_args(argv)

    if args.summary:
        with open(args.summary, encoding="utf-8") as fh:
            summary = json.load(fh)
    else:
        from analysis import claims
        from v1model.app import cli
        from v1model.app.claims import run_claims_job

        if args.claims:
            keys = [k.strip() for k in args.claims.split(",")]
            unknown = sorted(set(keys) - set(claims.CLAIMS))
            if unknown:
                parser.error(f"unknown claims {unknown}; choose from {list(claims.CLAIMS)}")
            # the job plans from this dict; workers look the claims up by key
            claims.CLAIMS = {k: v for k, v in claims.CLAIMS.items() if k in keys}
        networks = stand_ins(args.stand_ins) if args.stand_ins else None
        out = args.out or tempfile.mkdtemp(prefix="bench-claims-")
        pool = (cli._figure_pool(blas_threads=1) if args.workers > 1
                else contextlib.nullcontext())
        with pool as executor:
            written = run_claims_job(out, quick=args.quick, seed=args.seed,
                                     networks=networks, executor=executor)
        with open(written["summary"], encoding="utf-8") as fh:
            summary = json.load(fh)
        print(f"output: {os.path.dirname(written['summary'])}")
    print(breakdown(summary, args.project))
    return 0


if __name__ == "__main__":
    sys.exit(main())
