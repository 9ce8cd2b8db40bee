"""Classify the labelled ``stimuli`` datasets from HMAX C2 features with a linear decoder.

For each dataset (shapes; natural-image patches labelled by source texture; scikit-image's
``lfw_subset`` faces vs non-faces) the script

1. builds ``HMAX`` (Serre et al. 2007 S1/C1) for the dataset's image size,
2. imprints ``--n-per-size`` prototypes of each size 4, 8, 12, 16 from C1 maps of
   training images (random image, band and position),
3. computes C2 for the training and test sets,
4. fits an L2 logistic regression (``analysis.decoding``, fixed ``--l2``, features
   standardised on the training set) and reports test accuracy with a 95% Wilson
   interval.

Two feature codings are reported: the C2 responses themselves and ``−log C2`` (=
β · the smallest squared distance to each prototype; a monotone recoding that makes the
exponentially compressed responses of large prototypes usable by a linear decoder).  A
linear decoder on the raw pixels is the baseline.  Nothing is tuned on the test set.

Usage::

    python benchmarks/hmax_classification.py [--size 96] [--n-per-class 30] \
        [--n-per-size 10] [--datasets shapes natural faces] [--long]

The default is a short run (about 2 minutes on 2 cores); ``--long`` is the full
workload, 100 images per class and 25 prototypes per size.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from analysis.decoding import decode
from stimuli.datasets import faces_dataset, natural_patches_dataset, shapes_dataset
from stimuli.display import Display
from v1model.hmax import HMAX, imprint_prototypes


def load(name: str, size: int, n_per_class: int, seed: int):
    if name == "shapes":
        return shapes_dataset(n_per_class, size=size, rng=seed)
    if name == "natural":
        return natural_patches_dataset(n_per_class, size=size, rng=seed)
    if name == "faces":
        return faces_dataset(size=size, rng=seed)
    raise ValueError(f"unknown dataset {name!r}")


def c2_features(model: HMAX, images: np.ndarray, batch: int = 50) -> np.ndarray:
    return np.concatenate([model.responses(images[i:i + batch], "C2")
                           for i in range(0, len(images), batch)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["shapes", "natural", "faces"])
    parser.add_argument("--size", type=int, default=96, help="image side, pixels")
    parser.add_argument("--n-per-class", type=int, default=30)
    parser.add_argument("--n-per-size", type=int, default=10, help="prototypes per size")
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--l2", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long", action="store_true", help="100 per class, 25 prototypes per size")
    args = parser.parse_args()
    if args.long:
        args.n_per_class, args.n_per_size = 100, 25

    display = Display((args.size, args.size), pixels_per_degree=32)
    for name in args.datasets:
        t0 = time.perf_counter()
        ds = load(name, args.size, args.n_per_class, args.seed)
        model = HMAX(display, beta=args.beta)
        protos, _ = imprint_prototypes(model, ds.x_train, n_per_size=args.n_per_size,
                                       rng=args.seed + 1)
        model = model.with_prototypes(protos)
        train = c2_features(model, ds.x_train)
        test = c2_features(model, ds.x_test)
        tiny = np.finfo(np.float32).tiny  # exp(-β d²) can underflow to 0 for distant patches
        results = {
            "C2": decode(train, ds.y_train, test, ds.y_test, l2=args.l2),
            "-log C2": decode(-np.log(np.maximum(train, tiny)), ds.y_train,
                              -np.log(np.maximum(test, tiny)), ds.y_test, l2=args.l2),
            "pixels": decode(ds.x_train.reshape(len(ds.x_train), -1), ds.y_train,
                             ds.x_test.reshape(len(ds.x_test), -1), ds.y_test, l2=args.l2),
        }
        print(f"\n{name}: {len(ds.class_names)} classes {ds.class_names}, "
              f"{len(ds.x_train)} train / {len(ds.x_test)} test images of {args.size}x{args.size}"
              f", {model.stages[2][1].n_prototypes} prototypes, beta={args.beta}, l2={args.l2} "
              f"({time.perf_counter() - t0:.0f} s)")
        for feature, res in results.items():
            print(f"  {feature:8s} {res}")


if __name__ == "__main__":
    main()
