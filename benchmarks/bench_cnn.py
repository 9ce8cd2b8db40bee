"""One training step of the default CNN: numpy (this package) against PyTorch on the CPU.

A step is forward + softmax cross-entropy + backward + Adam update on a batch of
128 grayscale 32 × 32 images, for the architecture of the shipped network
(:func:`v1model.cnn.default_cnn_spec`, 11 classes).  The torch network is the
same one (:func:`v1model.torch_adapter.to_torch`, identical weights).  Reported:
median seconds per step over ``--repeats`` steps after two warm-up steps, and
the ratio numpy / torch (the goal is below 3).  Without torch only the numpy
time is printed.

The second table times the two ways of computing a convolution on the same
shapes, im2col + matrix product (what :class:`v1model.layers.Conv2d` uses) and
the FFT (scipy.fft), forward only.

OpenBLAS's worker threads spin between calls; where the cores are shared with
other busy processes, ``OPENBLAS_NUM_THREADS=1`` made the numpy step about twice
as fast (it is worth trying before a long training run).

Run: ``python benchmarks/bench_cnn.py [--repeats 10] [--batch 128]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.fft as sfft

from v1model.cnn import Network, default_cnn_spec
from v1model.layers import Adam, Conv2d, softmax_cross_entropy


def median_seconds(step, repeats: int) -> float:
    for _ in range(2):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def numpy_step(network: Network, x: np.ndarray, y: np.ndarray):
    optimizer = Adam(1e-3)
    rng = np.random.default_rng(0)

    def step():
        out = network.forward(x, training=True, rng=rng)
        _, grad = softmax_cross_entropy(out, y)
        network.backward(grad.astype(np.float32))
        optimizer.step(network.parameters(), network.gradients())

    return step


def torch_step(network: Network, x: np.ndarray, y: np.ndarray):
    import torch

    from v1model.torch_adapter import to_torch

    module = to_torch(network).train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(xt), yt)
        loss.backward()
        optimizer.step()

    return step


def fft_conv(x: np.ndarray, weight: np.ndarray, padding: int) -> np.ndarray:
    """'Same'-size multi-channel cross-correlation by the FFT, summed over input channels."""
    n, c, rows, cols = x.shape
    k = weight.shape[-1]
    shape = (sfft.next_fast_len(rows + 2 * padding, real=True),
             sfft.next_fast_len(cols + 2 * padding, real=True))
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    spectra = sfft.rfft2(padded, s=shape, workers=-1)
    kernels = sfft.rfft2(weight[:, :, ::-1, ::-1], s=shape, workers=-1)
    out = sfft.irfft2(np.einsum("ncij,ocij->noij", spectra, kernels, optimize=True), s=shape,
                      workers=-1)
    r_out, c_out = rows + 2 * padding - k + 1, cols + 2 * padding - k + 1
    return out[..., k - 1:k - 1 + r_out, k - 1:k - 1 + c_out].astype(np.float32)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--long", action="store_true", help="30 repeats")
    args = parser.parse_args(argv)
    if args.long:
        args.repeats = 30

    rng = np.random.default_rng(0)
    network = Network.from_spec(default_cnn_spec(11), rng=0)
    x = rng.uniform(-1, 1, (args.batch, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 11, args.batch)
    print(f"default CNN ({network.n_parameters} parameters), one training step, batch {args.batch}")
    t_numpy = median_seconds(numpy_step(network, x, y), args.repeats)
    print(f"  numpy (v1model.layers): {t_numpy * 1e3:8.1f} ms")
    try:
        import torch
    except ImportError:
        print("  torch: not installed, comparison skipped")
    else:
        t_torch = median_seconds(torch_step(network, x, y), args.repeats)
        print(f"  torch {torch.__version__} ({torch.get_num_threads()} threads): "
              f"{t_torch * 1e3:8.1f} ms")
        print(f"  ratio numpy / torch: {t_numpy / t_torch:.2f} (goal < 3)")

    print("convolution forward, im2col + matmul vs FFT")
    for c_in, c_out, size, k in ((1, 16, 32, 9), (16, 32, 16, 5)):
        conv = Conv2d(c_in, c_out, k, padding=k // 2, rng=0)
        xc = rng.uniform(-1, 1, (args.batch, c_in, size, size)).astype(np.float32)
        weight = conv.params["weight"]
        direct = conv.forward(xc) - conv.params["bias"][:, None, None]
        err = np.abs(fft_conv(xc, weight, k // 2) - direct).max()
        t_mm = median_seconds(lambda conv=conv, xc=xc: conv.forward(xc), args.repeats)
        t_fft = median_seconds(lambda xc=xc, weight=weight, k=k: fft_conv(xc, weight, k // 2),
                               args.repeats)
        print(f"  {c_in:2d}->{c_out:2d} ch, {k}x{k} on {size}x{size}: im2col {t_mm * 1e3:7.1f} ms, "
              f"FFT {t_fft * 1e3:7.1f} ms, ratio FFT/im2col {t_fft / t_mm:.2f} "
              f"(max diff {err:.1e})")


if __name__ == "__main__":
    main()
