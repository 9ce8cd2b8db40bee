"""HMAX S2: Gaussian radial-basis template units on patches of the previous layer."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft as sfft

from stimuli._shared.validation import check_array, check_int, check_positive
from v1model._fft import default_workers
from v1model.hmax._tables import _box_window_sums, _summed_area
from v1model.hmax.grid import Grid


def _as_prototype_groups(prototypes: Any) -> tuple[np.ndarray, ...]:
    """Prototypes as a tuple of float32 arrays ``(k, features, n, n)``, one per size group."""
    if isinstance(prototypes, np.ndarray) or (
        not isinstance(prototypes, (list, tuple))
    ):
        prototypes = (prototypes,)
    if len(prototypes) == 0:
        raise ValueError("prototypes must hold at least one array of shape (k, features, n, n)")
    groups = []
    for i, p in enumerate(prototypes):
        arr = check_array(f"prototypes[{i}]", p, ndim=4, shape_doc="(k, features, n, n)",
                          dtype=np.float32)
        if arr.shape[2] != arr.shape[3]:
            raise ValueError(f"prototypes[{i}] must be square patches (k, features, n, n), "
                             f"got {arr.shape}")
        groups.append(np.ascontiguousarray(arr))
    features = {g.shape[1] for g in groups}
    if len(features) > 1:
        raise ValueError(
            f"all prototypes must have the same number of features, got {sorted(features)}")
    return tuple(groups)


class S2Stage:
    """Gaussian radial-basis template units ``exp(−β‖X − P‖²)`` (HMAX S2, also S3).

    For every band, every prototype P (``features × n × n``) is compared with the
    input patch X of the same size anchored at each map element (the patch covers
    elements ``i − n//2 … i − n//2 + n − 1``); ``‖X − P‖² = ‖X‖² − 2 X·P + ‖P‖²`` with
    ``‖X‖²`` from box sums and ``X·P`` from an FFT cross-correlation summed over
    features.  Output maps keep the input grid; elements where the patch does not
    fit inside the band's map are 0 and invalid.  Round-off can make the squared
    distance slightly negative; it is floored at 0 so responses never exceed 1.

    Parameters
    ----------
    prototypes : array or sequence of arrays of shape (k, features, n, n), optional
        Templates; groups may have different sizes n.  None leaves the stage
        unusable until prototypes are given (see :func:`imprint_prototypes`).
    beta : float
        Tuning sharpness β > 0.  Default 1.0 (Serre et al. used 1; others use 5).
    workers : int, optional
        scipy.fft threads (default all cores).

    Raises
    ------
    ValueError
        If prototypes are not finite 4-D square patches with a common feature count,
        or β is not positive; at call time, if the input has a different number of
        features or the stage has no prototypes.

    Examples
    --------
    >>> S2Stage(np.zeros((3, 4, 2, 2)), beta=5.0)
    S2Stage(3 prototypes of sizes [2], beta=5.0)
    """

    params = ("beta",)

    def __init__(self, prototypes: Any = None, *, beta: float = 1.0, workers: int | None = None):
        self.beta = check_positive("beta", beta)
        self.prototypes = None if prototypes is None else _as_prototype_groups(prototypes)
        self.workers = default_workers() if workers is None else check_int("workers", workers,
                                                                            minimum=1)
        self._spectra: dict[tuple[int, int, int], np.ndarray] = {}
        self._last: tuple[Grid, Grid] | None = None

    def config(self) -> dict[str, Any]:
        return {"beta": self.beta}

    def _prepare(self, grid: Grid) -> Grid:
        if self._last is None or self._last[0] is not grid:
            self._last = (grid, self.output_grid(grid))
        return self._last[1]

    def __repr__(self) -> str:
        if self.prototypes is None:
            return f"S2Stage(no prototypes, beta={self.beta})"
        sizes = sorted({int(g.shape[2]) for g in self.prototypes})
        return f"S2Stage({self.n_prototypes} prototypes of sizes {sizes}, beta={self.beta})"

    @property
    def n_prototypes(self) -> int:
        return 0 if self.prototypes is None else sum(len(g) for g in self.prototypes)

    @property
    def prototype_sizes(self) -> np.ndarray:
        """Side n of each prototype, in input elements, ``(n_prototypes,)``."""
        if self.prototypes is None:
            return np.zeros(0, dtype=int)
        return np.concatenate([np.full(len(g), g.shape[2]) for g in self.prototypes])

    def _require(self, grid: Grid) -> None:
        if self.prototypes is None:
            raise ValueError("this S stage has no prototypes: pass prototypes=... (see "
                             "v1model.hmax.imprint_prototypes)")
        if not grid.retinotopic:
            raise ValueError(
                "an S stage needs a retinotopic input (maps); after a global C2 there is "
                "nothing to match — use C2Stage(pool_size=..., pool_step=...)")
        n_f = self.prototypes[0].shape[1]
        if grid.n_features != n_f:
            raise ValueError(f"prototypes have {n_f} features but the input has "
                             f"{grid.n_features} per band")

    def output_grid(self, grid: Grid) -> Grid:
        self._require(grid)
        sizes = self.prototype_sizes
        n_b, n_k = grid.n_bands, len(sizes)
        valid = np.zeros((n_b, n_k) + grid.shape, dtype=bool)
        for b in range(n_b):
            r0, r1, c0, c1 = grid.band_box(b)
            for k, n in enumerate(sizes):
                if r1 - r0 >= n and c1 - c0 >= n:
                    a = n // 2
                    valid[b, k, r0 + a:r1 - n + a + 1, c0 + a:c1 - n + a + 1] = True
        in_rf = grid.rf_size.max(axis=1)
        rf = (sizes[None, :] - 1) * grid.step[:, None] + in_rf[:, None]
        info = {
            "prototype": np.tile(np.arange(n_k), (n_b, 1)),
            "prototype_size": np.tile(sizes, (n_b, 1)),
            "band": np.repeat(np.arange(n_b)[:, None], n_k, axis=1),
        }
        return Grid(image_shape=grid.image_shape, shape=grid.shape, step=grid.step.copy(),
                    origin=grid.origin.copy(), valid=valid, rf_size=rf, info=info)

    def _kernel_spectra(self, group: int, fr: int, fc: int) -> np.ndarray:
        key = (group, fr, fc)
        if key not in self._spectra:
            flipped = self.prototypes[group][:, :, ::-1, ::-1]  # correlation = flipped convolution
            self._spectra[key] = sfft.rfft2(flipped, s=(fr, fc), workers=self.workers)
        return self._spectra[key]

    def __call__(self, data: np.ndarray, grid: Grid) -> np.ndarray:
        """``(n, bands, features, rows, cols)`` → ``(n, bands, prototypes, rows, cols)``."""
        out_grid = self._prepare(grid)
        n = data.shape[0]
        out = np.zeros((n, grid.n_bands, self.n_prototypes) + grid.shape, dtype=np.float32)
        for b in range(grid.n_bands):
            r0, r1, c0, c1 = grid.band_box(b)
            h, w = r1 - r0, c1 - c0
            if h == 0 or w == 0:
                continue
            x = np.ascontiguousarray(data[:, b, :, r0:r1, c0:c1], dtype=np.float32)
            sat = _summed_area((x.astype(np.float64) ** 2).sum(axis=1), 0)
            k0 = 0
            for g, protos in enumerate(self.prototypes):
                k, _, size, _ = protos.shape
                if h < size or w < size:
                    k0 += k
                    continue
                fr = sfft.next_fast_len(h + size - 1, real=True)
                fc = sfft.next_fast_len(w + size - 1, real=True)
                spec = self._kernel_spectra(g, fr, fc)
                ximg = sfft.rfft2(x, s=(fr, fc), workers=self.workers)  # (n, F, fr, fc')
                prod = ximg[:, None, 0] * spec[None, :, 0]
                for f in range(1, x.shape[1]):
                    prod += ximg[:, None, f] * spec[None, :, f]
                full = sfft.irfft2(prod, s=(fr, fc), workers=self.workers)
                # 'valid' anchors: patch rows i - size//2 ... i - size//2 + size - 1 inside [0, h)
                a = size // 2
                nr, nc = h - size + 1, w - size + 1
                # full-convolution index of anchor i is i + size - 1 - size//2
                dot = full[:, :, size - 1:size - 1 + nr, size - 1:size - 1 + nc]
                xx = _box_window_sums(sat, size, nr, nc)
                pp = (protos.astype(np.float64) ** 2).sum(axis=(1, 2, 3))
                d2 = xx[:, None] - 2.0 * dot + pp[None, :, None, None]
                np.maximum(d2, 0.0, out=d2)
                resp = np.exp(-self.beta * d2).astype(np.float32)
                out[:, b, k0:k0 + k, r0 + a:r0 + a + nr, c0 + a:c0 + a + nc] = resp
                k0 += k
        out *= out_grid.valid[None]
        return out
