"""Do the claims' aggregate verdicts survive another analysis seed?

A verdict that flips with the analysis seed is a coin toss unless it says so.  This
script compares the aggregate verdicts (over all networks and per architecture) of
``v1model claims`` runs that differ only in ``--seed`` and prints, per claim::

    claim        seed 0       seed 1       seed 2       status
    pooling      supported    mixed (b)    supported    differs: borderline in 1 of 3 runs

``(b)`` marks a verdict the run labelled borderline (its alternatives include another
verdict).  Status:

* ``same`` — every run gives the same verdict;
* ``differs: labelled`` — the verdicts differ and every run labelled its verdict
  borderline, naming the others among its alternatives (what the issue asks for);
* ``differs: borderline in k of n runs`` — some runs stated their verdict without
  doubt although another seed gives another one;
* ``differs: UNLABELLED`` — no run labelled it borderline.

Exit status 1 when any verdict differs without being labelled in every run.

Run the three quick runs (minutes each; two worker processes as the CLI uses)::

    python benchmarks/claims_seed_stability.py --seeds 0 1 2 --out /tmp/stability

or compare finished runs::

    python benchmarks/claims_seed_stability.py --summaries s0/claims/summary.json \\
        s1/claims/summary.json s2/claims/summary.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys


def _rows(summary: dict) -> dict[str, dict]:
    """``{"claim" or "claim/arch": {"verdict", "borderline", "alternatives"}}``."""
    out = {}
    for c in summary["claims"]:
        out[c["key"]] = {"verdict": c["verdict"], "borderline": c["borderline"],
                         "alternatives": c.get("alternatives") or [c["verdict"]]}
        for arch, agg in (c.get("by_arch") or {}).items():
            out[f"{c['key']}/{arch}"] = {"verdict": agg["verdict"],
                                         "borderline": agg["borderline"],
                                         "alternatives": agg["alternatives"]}
    return out


def compare(summaries: list[dict]) -> tuple[str, bool]:
    """The table (text) and whether every difference is labelled borderline in every run."""
    seeds = [s["seed"] for s in summaries]
    rows = [_rows(s) for s in summaries]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    head = f"{'claim':<26}" + "".join(f"{'seed ' + str(s):<22}" for s in seeds) + "status"
    lines = [head]
    ok = True
    for key in keys:
        cells = [r.get(key) for r in rows]
        shown = ["-" if c is None else c["verdict"] + (" (b)" if c["borderline"] else "")
                 for c in cells]
        verdicts = {c["verdict"] for c in cells if c is not None}
        if len(verdicts) <= 1:
            status = "same"
        else:
            labelled = [c is not None and c["borderline"] and verdicts <= set(c["alternatives"])
                        for c in cells]
            flagged = sum(c is not None and c["borderline"] for c in cells)
            if all(labelled):
                status = "differs: labelled"
            elif flagged:
                status = f"differs: borderline in {flagged} of {len(cells)} runs"
                ok = False
            else:
                status = "differs: UNLABELLED"
                ok = False
        lines.append(f"{key:<26}" + "".join(f"{v:<22}" for v in shown) + status)
    notes = [f"seed {s['seed']}: {s.get('stability', {}).get('note', '')}" for s in summaries]
    return "\n".join(lines + [""] + notes), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--summaries", nargs="+", help="summary.json files of finished runs")
    which.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                       help="analysis seeds to run (default 0 1 2)")
    parser.add_argument("--full", action="store_true", help="full runs instead of --quick")
    parser.add_argument("--arch", default=None, help="only this architecture's networks")
    parser.add_argument("--out", default="claims-seed-stability",
                        help="folder for the runs (one subfolder per seed)")
    args = parser.parse_args(argv)

    summaries = []
    if args.summaries:
        for path in args.summaries:
            with open(path, encoding="utf-8") as fh:
                summaries.append(json.load(fh))
    else:
        from v1model.app import cli
        from v1model.app.claims import run_claims_job

        for seed in args.seeds:
            out = os.path.join(args.out, f"seed{seed}")
            with cli._figure_pool(blas_threads=1) as executor:
                written = run_claims_job(out, quick=not args.full, seed=seed, arch=args.arch,
                                         executor=executor, progress=False)
            print(f"seed {seed}: {written['total_seconds']:.0f} s, {written['summary']}")
            with open(written["summary"], encoding="utf-8") as fh:
                summaries.append(json.load(fh))
    table, ok = compare(summaries)
    print(table)
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
