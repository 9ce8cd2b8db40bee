"""Locality and weight sharing: CNN against MLP accuracy vs parameter count and training-set size.

Both kinds of network are trained on the default network's data
(:func:`v1model.cnn.default_training_data`: natural-image patches and shapes,
11 classes) with the same loop, optimiser, epochs and seed, and scored on the
same held-out test set.  Two small grids:

1. **Parameters**: CNNs of three widths and MLPs with one hidden layer of three
   widths, whole training set.  The claim holds if an MLP needs more parameters
   than a CNN for the same accuracy, or is less accurate at a matched count.
2. **Training-set size**: the middle CNN and the largest MLP (more parameters)
   trained on 25%, 50% and 100% of the training set.

Run: ``python benchmarks/cnn_vs_mlp.py [--n-per-class 40] [--epochs 2] [--seed 0] [--long]``
(the default is a short run, under 2 minutes on 2 cores; ``--long`` is the full
comparison, 200 images per class and 6 epochs, about 10 minutes).
"""

from __future__ import annotations

import argparse
import time

from v1model.cnn import Network, default_cnn_spec, default_training_data, train
from v1model.layers import Adam
from v1model.mlp import mlp_spec

CNN_WIDTHS = {"cnn-small": (8, 16, 16), "cnn-medium": (16, 32, 32), "cnn-default": (16, 32, 64)}
MLP_WIDTHS = {"mlp-64": (64,), "mlp-256": (256,), "mlp-1024": (1024,)}


def build(name: str, n_classes: int, seed: int) -> Network:
    if name in CNN_WIDTHS:
        c1, c2, fc = CNN_WIDTHS[name]
        spec = default_cnn_spec(n_classes, conv1_channels=c1, conv2_channels=c2, fc_units=fc)
    else:
        spec = mlp_spec(n_classes, hidden=MLP_WIDTHS[name])
    return Network.from_spec(spec, rng=seed)


def run(name: str, data, fraction: float, epochs: int, seed: int) -> dict:
    n = int(round(fraction * len(data.x_train)))
    network = build(name, data.n_classes, seed)
    start = time.perf_counter()
    train(network, data.x_train[:n], data.y_train[:n], epochs=epochs, batch_size=64,
          optimizer=Adam(2e-3, weight_decay=1e-4), rng=seed, progress=False)
    accuracy = network.accuracy(data.x_test[:, None], data.y_test)
    row = {"model": name, "parameters": network.n_parameters, "n_train": n,
           "test_accuracy": accuracy, "seconds": time.perf_counter() - start}
    print(f"  {name:12s} {row['parameters']:9d} params  {n:6d} train  "
          f"accuracy {accuracy:.3f}  ({row['seconds']:.0f} s)", flush=True)
    return row


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-class", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long", action="store_true", help="200 per class, 6 epochs")
    args = parser.parse_args(argv)
    if args.long:
        args.n_per_class, args.epochs = 200, 6
    data = default_training_data(args.seed, n_per_class=args.n_per_class)
    print(f"{data.name}: {data.n_classes} classes, {len(data.x_train)} train, "
          f"{len(data.x_test)} test images; chance {1 / data.n_classes:.3f}")
    print("accuracy vs parameter count (whole training set)")
    rows = [run(name, data, 1.0, args.epochs, args.seed) for name in (*CNN_WIDTHS, *MLP_WIDTHS)]
    print("accuracy vs training-set size")
    for fraction in (0.25, 0.5):
        rows += [run(name, data, fraction, args.epochs, args.seed)
                 for name in ("cnn-medium", "mlp-1024")]
    best_mlp = max((r for r in rows if r["model"] in MLP_WIDTHS and r["n_train"] == len(
        data.x_train)), key=lambda r: r["test_accuracy"])
    beaten = [r for r in rows if r["model"] in CNN_WIDTHS and r["n_train"] == len(data.x_train)
              and r["test_accuracy"] >= best_mlp["test_accuracy"]]
    if beaten:
        smallest = min(beaten, key=lambda r: r["parameters"])
        print(f"best MLP {best_mlp['model']} ({best_mlp['parameters']} params, "
              f"{best_mlp['test_accuracy']:.3f}) is matched by {smallest['model']} with "
              f"{smallest['parameters']} params: "
              f"{best_mlp['parameters'] / smallest['parameters']:.1f}x fewer")
    else:
        print("no CNN reached the best MLP's accuracy")
    return rows


if __name__ == "__main__":
    main()
