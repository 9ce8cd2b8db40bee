"""Retrain the shipped CNN ensemble and check that every member is reproduced bit for bit.

Each member ``ARCH_seedS`` (:mod:`v1model.ensemble`) is trained again with
:func:`v1model.ensemble.train_cnn` — the same code ``v1model train-cnn --arch ARCH
--seed S`` runs — into ``--out``, then its arrays are compared with the shipped
file's: the same names, shapes, dtypes and every bit of every weight.  (The
``.npz`` files themselves differ in their metadata: the training time.)

Run: ``python benchmarks/train_ensemble.py --out DIR [--members small:1,wide:0]
[--check-only]``.  Without ``--members`` every shipped member is retrained (a
member takes 1-2 minutes on a lightly loaded 2-core machine, the ten 10-25
minutes); ``--check-only`` compares what is already in ``--out``.  ``--ship``
writes into the package's own folder instead (how the shipped files were made).
Exit status 1 if any member differs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from v1model.ensemble import ARCHITECTURES, ENSEMBLE_DIR, ENSEMBLE_SEEDS, member_path, train_cnn


def arrays_of(path: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files if key != "__meta__"}


def identical(a: str, b: str) -> tuple[bool, str]:
    """Whether two saved networks hold bit-identical weights, and why not."""
    x, y = arrays_of(a), arrays_of(b)
    if sorted(x) != sorted(y):
        return False, f"different arrays: {sorted(x)} vs {sorted(y)}"
    for key in sorted(x):
        if x[key].shape != y[key].shape or x[key].dtype != y[key].dtype:
            return False, f"{key}: {x[key].shape} {x[key].dtype} vs {y[key].shape} {y[key].dtype}"
        if x[key].tobytes() != y[key].tobytes():
            diff = float(np.max(np.abs(x[key].astype(np.float64) - y[key])))
            return False, f"{key}: max |difference| {diff:.3g}"
    return True, f"{len(x)} arrays, {sum(v.size for v in x.values())} weights identical"


def parse_members(text: str | None) -> list[tuple[str, int]]:
    if not text:
        return [(arch, seed) for arch in ARCHITECTURES for seed in ENSEMBLE_SEEDS]
    out = []
    for item in text.split(","):
        arch, _, seed = item.partition(":")
        if arch not in ARCHITECTURES or not seed.isdigit():
            raise SystemExit(f"--members: expected ARCH:SEED with ARCH in {sorted(ARCHITECTURES)},"
                             f" got {item!r}")
        out.append((arch, int(seed)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="ensemble-retrained",
                        help="folder for the retrained files")
    parser.add_argument("--members", default=None,
                        help="comma-separated ARCH:SEED (default: every shipped member)")
    parser.add_argument("--check-only", action="store_true", help="compare, do not train")
    parser.add_argument("--ship", action="store_true",
                        help=f"train into the package folder {ENSEMBLE_DIR} (no comparison)")
    args = parser.parse_args(argv)
    out = ENSEMBLE_DIR if args.ship else os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    failed = 0
    for arch, seed in parse_members(args.members):
        path = member_path(arch, seed, out)
        if not args.check_only:
            start = time.perf_counter()
            model = train_cnn(arch, seed, path=path, progress=False)
            low, high = model.meta["accuracy_ci"]
            print(f"{model.meta['name']}: trained in {time.perf_counter() - start:.0f} s, test "
                  f"accuracy {model.meta['test_accuracy']:.3f} ({low:.3f}-{high:.3f})",
                  flush=True)
        if args.ship:
            continue
        if not os.path.exists(path):
            failed += 1
            print(f"{arch}_seed{seed}: missing in {out} (run without --check-only)", flush=True)
            continue
        same, why = identical(path, member_path(arch, seed))
        failed += not same
        print(f"{arch}_seed{seed}: {'IDENTICAL' if same else 'DIFFERENT'} to the shipped file "
              f"({why})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
