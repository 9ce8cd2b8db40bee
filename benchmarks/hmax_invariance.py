"""Tolerance curves of HMAX S1, C1 and C2 for translation, scaling and rotation.

Stimuli: shapes from ``stimuli.datasets.shapes_dataset`` (no noise) pasted in the middle
of a larger grey frame, so that transformed content stays inside the frame.  For each
layer and transform the script prints the mean Pearson correlation (over units, per
image, averaged over images; ± s.e.m.) between responses to the transformed and the
original image — :func:`analysis.invariance.tolerance_curve`, the same function that
measures every other model.

Usage::

    python benchmarks/hmax_invariance.py [--n-images 6] [--frame 128] [--long]

(``--long``: 24 images.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from analysis.invariance import tolerance_curve
from stimuli.datasets import shapes_dataset
from stimuli.display import Display
from v1model.hmax import HMAX, imprint_prototypes

AMOUNTS = {
    "translate": np.array([0.0, 1, 2, 4, 8, 16]) / 32,  # degrees (pixels / 32)
    "scale": np.array([1.0, 1.1, 1.25, 1.5, 0.8, 0.67]),
    "rotate": np.array([0.0, 10, 20, 45, 90]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=6)
    parser.add_argument("--frame", type=int, default=128, help="frame side, pixels")
    parser.add_argument("--content", type=int, default=64, help="shape image side, pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long", action="store_true", help="24 images")
    args = parser.parse_args()
    if args.long:
        args.n_images = 24

    t0 = time.perf_counter()
    display = Display((args.frame, args.frame), pixels_per_degree=32)
    n = args.n_images
    ds = shapes_dataset(max(2, n), size=args.content, noise=0.0, rng=args.seed)
    images = np.zeros((n, args.frame, args.frame), np.float32)
    lo = (args.frame - args.content) // 2
    images[:, lo:lo + args.content, lo:lo + args.content] = ds.x_train[:n]
    model = HMAX(display)
    protos, _ = imprint_prototypes(model, images, n_per_size=10, sizes=(4, 8), rng=args.seed)
    model = model.with_prototypes(protos)
    print(f"{n} shapes of {args.content} px on a {args.frame} px grey frame, 32 px/deg; "
          f"{model.stages[2][1].n_prototypes} prototypes (sizes 4, 8) from these images")
    for transform, amounts in AMOUNTS.items():
        unit = "deg" if transform != "scale" else "factor"
        print(f"\n{transform} (amount in {unit}); mean r ± s.e.m. over images")
        header = "  amount " + "".join(f"{layer:>16s}" for layer in ("S1", "C1", "C2"))
        print(header)
        curves = {layer: tolerance_curve(model, layer, images, transform=transform,
                                         amounts=amounts) for layer in ("S1", "C1", "C2")}
        for i, amount in enumerate(amounts):
            cells = "".join(f"{c['correlation'][i]:10.3f} ±{c['sem'][i]:.3f}"
                            for c in curves.values())
            print(f"  {amount:6.3f} {cells}")
        cells = "".join(f"{c['baseline'][0]:10.3f}       " for c in curves.values())
        print(f"  {'other':>6s} {cells}  (r between different images)")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
