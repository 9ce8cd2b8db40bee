"""Fourier-domain filtering with cached filter spectra (the engine under every filter bank).

Images are in contrast units (0 = mean grey), so zero padding is padding with
mean grey: the filters see a uniform screen beyond the image edge.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.fft as sfft

from stimuli._shared.validation import (
    check_array,
    check_choice,
    check_images,
    check_index,
    check_int,
)

#: Direct dot products cost about this many times fewer seconds per multiply-add than
#: the FFT path per ``fr·fc·log2(fr·fc)`` of one filter (BLAS against pocketfft, measured
#: by ``benchmarks/bench_sampled_filters.py``): :meth:`FourierFilters.at` takes the
#: direct route when ``positions · kh · kw < _DIRECT_ADVANTAGE · fr · fc · log2(fr · fc)``.
_DIRECT_ADVANTAGE = 2.0
#: Cost of multiplying one frequency by a kernel spectrum and folding it onto the
#: decimated grid, in units of one FFT butterfly per point (the ``"strided"`` route).
_FOLD_COST = 2.0
#: Routes of :meth:`FourierFilters.at`.
METHODS = ("auto", "patches", "image", "strided", "block", "fft")
#: Cached index arrays, placed kernels and strided plans kept per filter stack.
_CACHE_ENTRIES = 8


def default_workers() -> int:
    """Threads for scipy.fft: all cores the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class FourierFilters:
    """Cross-correlate batches of images with a stack of kernels through the FFT.

    ``out[n, k, r, c] = sum_{u, v} kernels[k, u, v] * image[n, r + u - ch, c + v - cw]``
    with ``(ch, cw) = (kh // 2, kw // 2)`` the kernel centre and zeros (mean grey)
    outside the image: the ``'same'`` correlation a CNN or ``scipy.signal.correlate``
    computes.  Spectra are computed once per image shape and cached.

    Parameters
    ----------
    kernels : ndarray of shape (k, kh, kw)
        Real kernels, all the same size (pad smaller ones with zeros, centred).
    dtype : numpy dtype
        float32 (default) or float64 for the computation and output.
    workers : int, optional
        Threads for scipy.fft; default all available cores.
    max_batch_bytes : int
        Images are processed in chunks so that one chunk's complex products stay
        below this many bytes.

    Examples
    --------
    >>> k = np.zeros((1, 3, 3)); k[0, 1, 1] = 1.0
    >>> f = FourierFilters(k)
    >>> x = np.random.default_rng(0).normal(size=(2, 8, 8))
    >>> np.allclose(f(x)[:, 0], x, atol=1e-5)
    True
    """

    def __init__(self, kernels, *, dtype=np.float32, workers: int | None = None,
                 max_batch_bytes: int = 256 * 2**20):
        kernels = check_array("kernels", kernels, ndim=3, shape_doc="(k, kh, kw)")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.kernels = np.ascontiguousarray(kernels, dtype=self.dtype)
        self.workers = (default_workers() if workers is None
                        else check_int("workers", workers, minimum=1))
        self.max_batch_bytes = check_int("max_batch_bytes", max_batch_bytes, minimum=1)
        self._spectra: dict[tuple[int, int], np.ndarray] = {}
        self._cache: dict[tuple, Any] = {}
        self._weight_matrix: np.ndarray | None = None

    @property
    def n_filters(self) -> int:
        return self.kernels.shape[0]

    def _fft_shape(self, rows: int, cols: int) -> tuple[int, int]:
        kh, kw = self.kernels.shape[1:]
        return (sfft.next_fast_len(rows + kh - 1, real=True),
                sfft.next_fast_len(cols + kw - 1, real=True))

    def spectra(self, rows: int, cols: int) -> np.ndarray:
        """Cached spectra ``(k, fr, fc // 2 + 1)`` for images of ``(rows, cols)``."""
        key = (rows, cols)
        if key not in self._spectra:
            fr, fc = self._fft_shape(rows, cols)
            # correlation = convolution with the flipped kernel
            flipped = self.kernels[:, ::-1, ::-1]
            self._spectra[key] = sfft.rfft2(flipped, s=(fr, fc), workers=self.workers)
        return self._spectra[key]

    def __call__(self, images, *, name: str = "images") -> np.ndarray:
        """Filter ``images`` of shape ``(n, rows, cols)`` → ``(n, k, rows, cols)``."""
        images = check_images(name, images, dtype=self.dtype)
        n, rows, cols = images.shape
        spec = self.spectra(rows, cols)
        fr, fc = self._fft_shape(rows, cols)
        kh, kw = self.kernels.shape[1:]
        # offset of the 'same' window inside the full convolution
        r0, c0 = kh - 1 - kh // 2, kw - 1 - kw // 2
        out = np.empty((n, self.n_filters, rows, cols), dtype=self.dtype)
        per_image = spec.size * spec.itemsize + fr * fc * self.n_filters * self.dtype.itemsize
        chunk = max(1, self.max_batch_bytes // max(per_image, 1))
        for start in range(0, n, chunk):
            block = images[start:start + chunk]
            fimg = sfft.rfft2(block, s=(fr, fc), workers=self.workers)
            full = sfft.irfft2(fimg[:, None] * spec[None], s=(fr, fc), workers=self.workers)
            out[start:start + chunk] = full[..., r0:r0 + rows, c0:c0 + cols]
        return out

    # ------------------------------------------------------------------ responses at pixels
    def at(self, images, rows, cols, *, grid: bool = True, method: str = "auto",
           name: str = "images") -> np.ndarray:
        """Filter ``images`` but keep only some pixels: a grid ``rows`` × ``cols``, or pairs.

        Equal to ``self(images)[:, :, rows][:, :, :, cols]`` (``grid=True``) or
        ``self(images)[:, :, rows, cols]`` (``grid=False``), computed by the cheapest of
        four routes, each costing about what the pixels kept cost:

        ``"patches"``
            one BLAS product ``(n · positions, kh · kw) @ (kh · kw, k)`` of the image
            patches around the pixels (gathered through a cached index array) with the
            stacked kernels: work ∝ positions · kh · kw;
        ``"image"``
            one BLAS product ``(n, rows · cols) @ (rows · cols, k · positions)`` of whole
            images with the kernels placed at each position (cached), for kernels larger
            than the image: work ∝ positions · rows · cols;
        ``"strided"``
            for a regular grid (``rows`` and ``cols`` arithmetic, step ``s``): the image
            spectrum times the cached kernel spectra, folded onto the decimated grid
            (aliasing = subsampling), and one small inverse FFT per map of
            ``1/s²`` the size — instead of full maps of which 1 pixel in ``s²`` is kept;
        ``"block"``
            for a contiguous block of pixels (``rows`` and ``cols`` consecutive): the
            crop of the image the filters there reach, ``(h + kh − 1) × (w + kw − 1)``,
            correlated through a circular FFT of that size ("valid" correlation: the
            wrap-around lands outside the block), work ∝ the block plus the kernel
            instead of the image plus the kernel; chosen explicitly (``"auto"`` does
            not take it, so its choices stay as they were);
        ``"fft"``
            full maps through the FFT, read at the pixels.

        ``method="auto"`` picks the cheapest by operation counts (BLAS multiply-adds
        against FFT butterflies, weighted by ``_DIRECT_ADVANTAGE``).  All routes share
        the cached spectra; index arrays and placed kernels are cached per set of
        positions, and batches are sized from ``max_batch_bytes``.

        Precision: in float32 the direct products accumulate ``kh · kw`` (or
        ``rows · cols``) float32 terms through BLAS; they agree with the float64 FFT
        maps to within ``1e-5`` of the largest absolute response in float32 tests
        (``tests/test_fourier_filters.py``); in float64 to ``1e-10``.

        Parameters
        ----------
        images : array_like of shape (n, rows, cols)
        rows, cols : array_like of int
            Pixel rows and columns (1-D, in range, negative counted from the end); with
            ``grid=False`` of equal length, one position per pair.
        grid : bool
            Every combination of ``rows`` and ``cols`` (default), or pairs.
        method : {"auto", "patches", "image", "strided", "block", "fft"}
            Force a route (``"strided"`` needs a grid of arithmetic ``rows`` and
            ``cols``, ``"block"`` a grid of consecutive ones).  Results agree to the
            precision above whatever the route.

        Returns
        -------
        ndarray of shape (n, k, len(rows), len(cols)), or (n, k, len(rows)) for pairs

        Raises
        ------
        ValueError
            For bad images (as ``__call__``), empty index arrays, pairs of unequal
            length, an unknown ``method``, ``"strided"`` for positions that are not
            a regular grid or ``"block"`` for positions that are not a contiguous block.
        IndexError
            If an index is out of range.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> f = FourierFilters(rng.normal(size=(2, 5, 5)), dtype=np.float64)
        >>> x = rng.normal(size=(3, 12, 12))
        >>> np.allclose(f.at(x, [6], [2, 6]), f(x)[:, :, [6]][:, :, :, [2, 6]])
        True
        >>> np.allclose(f.at(x, [0, 6], [2, 11], grid=False), f(x)[:, :, [0, 6], [2, 11]])
        True
        >>> every_third = np.arange(0, 12, 3)
        >>> np.allclose(f.at(x, every_third, every_third, method="strided"),
        ...             f(x)[:, :, ::3, ::3])
        True
        >>> np.allclose(f.at(x, range(2, 7), range(9, 12), method="block"), f(x)[:, :, 2:7, 9:12])
        True
        """
        method = check_choice("method", method, METHODS)
        images = check_images(name, images, dtype=self.dtype)
        n, n_rows, n_cols = images.shape
        rows = check_index("rows", rows, n_rows, "image rows")
        cols = check_index("cols", cols, n_cols, "image columns")
        strided = _arithmetic(rows) if grid else None
        strided_c = _arithmetic(cols) if grid else None
        regular = strided is not None and strided_c is not None
        if grid:
            shape = (len(rows), len(cols))
        elif len(rows) != len(cols):
            raise ValueError(f"rows and cols must have equal lengths for grid=False, got "
                             f"{len(rows)} and {len(cols)}")
        else:
            shape = (len(rows),)
        if method == "strided" and not regular:
            raise ValueError("method='strided' needs grid=True and rows and cols that are "
                             "arithmetic progressions (a regular grid)")
        if method == "block":
            if not (regular and strided[1] == 1 and strided_c[1] == 1):
                raise ValueError("method='block' needs grid=True and consecutive rows and "
                                 "cols (a contiguous block of pixels)")
            return self._at_block(images, strided[0], strided[2], strided_c[0], strided_c[2])
        if method == "auto":
            method = self._choose(n_rows, n_cols, int(np.prod(shape)), regular,
                                  (strided, strided_c))
        if method == "strided":
            return self._at_strided(images, strided, strided_c)
        if grid:
            rows, cols = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
        if method == "fft":
            out = np.empty((n, self.n_filters, len(rows)), dtype=self.dtype)
            per_image = 2 * self.n_filters * n_rows * n_cols * self.dtype.itemsize
            chunk = max(1, self.max_batch_bytes // per_image)
            for start in range(0, n, chunk):
                out[start:start + chunk] = self(images[start:start + chunk],
                                                name=name)[:, :, rows, cols]
        elif method == "image":
            out = self._at_image(images, rows, cols)
        else:
            out = self._at_patches(images, rows, cols)
        return out.reshape(n, self.n_filters, *shape)

    def _choose(self, n_rows: int, n_cols: int, n_positions: int, regular: bool,
                steps) -> str:
        """The route with the fewest weighted operations per image and filter."""
        kh, kw = self.kernels.shape[1:]
        fr, fc = self._fft_shape(n_rows, n_cols)
        costs = {"fft": _DIRECT_ADVANTAGE * fr * fc * np.log2(fr * fc)}
        if n_positions * kh * kw * np.dtype(np.intp).itemsize <= self.max_batch_bytes:
            costs["patches"] = n_positions * kh * kw          # its index array fits the budget
        if n_rows * n_cols < kh * kw and (n_positions * n_rows * n_cols * self.n_filters
                                          * self.dtype.itemsize <= self.max_batch_bytes):
            costs["image"] = n_positions * n_rows * n_cols
        if regular and steps[0][1] * steps[1][1] > 1:
            (_, sr, nr), (_, sc, nc) = steps
            fr2, fc2 = self._strided_shape(n_rows, n_cols, sr, sc)
            mr, mc = fr2 // sr, fc2 // sc
            # product and fold touch every frequency once; the inverse is 1/(sr·sc) the size
            costs["strided"] = _DIRECT_ADVANTAGE * (mr * mc * np.log2(max(mr * mc, 2))
                                                    + _FOLD_COST * fr2 * fc2)
            # on a strided grid the decimated transform never loses to full maps
            del costs["fft"]
        return min(costs, key=costs.get)

    def _weights(self) -> np.ndarray:
        """Kernels as a ``(kh · kw, k)`` matrix (built once)."""
        if self._weight_matrix is None:
            self._weight_matrix = np.ascontiguousarray(
                self.kernels.reshape(self.n_filters, -1).T)
        return self._weight_matrix

    def _patch_index(self, n_rows: int, n_cols: int, rows: np.ndarray,
                     cols: np.ndarray) -> np.ndarray:
        """Cached flat indices ``(positions, kh · kw)`` of each patch in the padded image."""
        key = ("patches", n_rows, n_cols, rows.tobytes(), cols.tobytes())
        if key not in self._cache:
            kh, kw = self.kernels.shape[1:]
            padded_cols = n_cols + kw - 1
            offsets = (np.arange(kh)[:, None] * padded_cols + np.arange(kw)[None]).ravel()
            # padded pixel (r + u, c + v) is image pixel (r + u - ch, c + v - cw)
            self._remember(key, (rows * padded_cols + cols)[:, None] + offsets[None])
        return self._cache[key]

    def _at_patches(self, images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        n, n_rows, n_cols = images.shape
        kh, kw = self.kernels.shape[1:]
        ch, cw = kh // 2, kw // 2
        index = self._patch_index(n_rows, n_cols, rows, cols)
        weights = self._weights()
        out = np.empty((n, self.n_filters, len(rows)), dtype=self.dtype)
        per_image = (index.size + (n_rows + kh) * (n_cols + kw)
                     + len(rows) * self.n_filters) * self.dtype.itemsize
        chunk = max(1, self.max_batch_bytes // per_image)
        padded = np.zeros((min(chunk, n), n_rows + kh - 1, n_cols + kw - 1), dtype=self.dtype)
        for start in range(0, n, chunk):
            block = images[start:start + chunk]
            m = len(block)
            padded[:m, ch:ch + n_rows, cw:cw + n_cols] = block
            patches = np.take(padded[:m].reshape(m, -1), index, axis=1)   # (m, P, kh·kw)
            prod = patches.reshape(-1, kh * kw) @ weights                 # one GEMM
            out[start:start + m] = prod.reshape(m, len(rows), -1).transpose(0, 2, 1)
        return out

    def _placed_kernels(self, n_rows: int, n_cols: int, rows: np.ndarray,
                        cols: np.ndarray) -> np.ndarray:
        """Cached ``(rows · cols, k · positions)``: each kernel placed at each position."""
        key = ("image", n_rows, n_cols, rows.tobytes(), cols.tobytes())
        if key not in self._cache:
            kh, kw = self.kernels.shape[1:]
            ch, cw = kh // 2, kw // 2
            # kpad[a, b] = kernel[a - n_rows, b - n_cols]; the weight of image pixel
            # (r, c) for a unit at (rp, cp) is kernel[r - rp + ch, c - cp + cw]
            kpad = np.pad(self.kernels, ((0, 0), (n_rows, n_rows), (n_cols, n_cols)))
            windows = np.lib.stride_tricks.sliding_window_view(kpad, (n_rows, n_cols),
                                                               axis=(1, 2))
            placed = windows[:, ch + n_rows - rows, cw + n_cols - cols]  # (k, P, R, C)
            self._remember(key, np.ascontiguousarray(
                placed.reshape(-1, n_rows * n_cols).T))
        return self._cache[key]

    def _at_image(self, images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        n = images.shape[0]
        placed = self._placed_kernels(images.shape[1], images.shape[2], rows, cols)
        out = images.reshape(n, -1) @ placed                              # one GEMM
        return out.reshape(n, self.n_filters, len(rows))

    def _strided_shape(self, n_rows: int, n_cols: int, sr: int, sc: int) -> tuple[int, int]:
        """FFT size ≥ the linear-correlation size and a multiple of the steps."""
        kh, kw = self.kernels.shape[1:]
        return (sr * sfft.next_fast_len(-(-(n_rows + kh - 1) // sr)),
                sc * sfft.next_fast_len(-(-(n_cols + kw - 1) // sc)))

    def _strided_plan(self, n_rows: int, n_cols: int, row_grid, col_grid):
        """Cached shifted spectra and fold indices for one regular grid."""
        key = ("strided", n_rows, n_cols, row_grid, col_grid)
        if key not in self._cache:
            (r_first, sr, _), (c_first, sc, _) = row_grid, col_grid
            kh, kw = self.kernels.shape[1:]
            fr, fc = self._strided_shape(n_rows, n_cols, sr, sc)
            mr, mc = fr // sr, fc // sc
            # shift the full correlation so that the first kept pixel lands on index 0:
            # 'same' pixel r is full-correlation index r + kh - 1 - kh // 2
            shift_r = r_first + kh - 1 - kh // 2
            shift_c = c_first + kw - 1 - kw // 2
            flipped = self.kernels[:, ::-1, ::-1].astype(np.float64)
            spec = sfft.rfft2(flipped, s=(fr, fc), workers=self.workers)
            u = np.fft.fftfreq(fr, 1.0 / fr)[:, None]
            v = np.arange(fc // 2 + 1)[None]
            spec *= np.exp(2j * np.pi * (u * shift_r / fr + v * shift_c / fc))
            spec = spec.astype(np.complex64 if self.dtype == np.float32 else np.complex128)
            # decimation = aliasing: decimated frequency (u', v') sums the full frequencies
            # (u' + a·mr, v' + b·mc) over a < sr, b < sc.  Columns above fc/2 are not
            # stored in a real FFT; they are the conjugates of (-u, fc - v).
            half, hc = mc // 2 + 1, fc // 2 + 1
            u = np.arange(mr)[:, None, None, None] + mr * np.arange(sr)[None, None, :, None]
            v = np.arange(half)[None, :, None, None] + mc * np.arange(sc)[None, None, None, :]
            u, v = np.broadcast_arrays(u, v)                            # (mr, half, sr, sc)
            mirrored = v > fc // 2
            flat = (np.where(mirrored, (-u) % fr, u) * hc
                    + np.where(mirrored, fc - v, v)).reshape(mr, half, sr * sc)
            mirrored = mirrored.reshape(mr, half, sr * sc)
            aliases = spec.reshape(self.n_filters, -1)[:, flat]        # (k, mr, half, L)
            aliases = np.where(mirrored, np.conj(aliases), aliases)
            # (mr, half, L, k): the folded product is one batched matrix product
            spec = np.ascontiguousarray(aliases.transpose(1, 2, 3, 0))
            self._remember(key, (spec, (fr, fc), (mr, mc), flat, mirrored))
        return self._cache[key]

    def _at_strided(self, images: np.ndarray, row_grid, col_grid) -> np.ndarray:
        n, n_rows, n_cols = images.shape
        (_, sr, nr), (_, sc, nc) = row_grid, col_grid
        spec, (fr, fc), (mr, mc), flat, mirrored = self._strided_plan(
            n_rows, n_cols, row_grid, col_grid)
        k = self.n_filters
        out = np.empty((n, k, nr, nc), dtype=self.dtype)
        per_image = (3 * fr * (fc // 2 + 1) + 3 * k * mr * (mc // 2 + 1)) * spec.itemsize
        chunk = max(1, self.max_batch_bytes // per_image)
        for start in range(0, n, chunk):
            block = images[start:start + chunk]
            m = len(block)
            fimg = sfft.rfft2(block, s=(fr, fc), workers=self.workers).reshape(m, -1)
            aliases = fimg[:, flat]                                      # (m, mr, half, L)
            aliases = np.where(mirrored, np.conj(aliases), aliases).transpose(1, 2, 0, 3)
            folded = np.matmul(aliases, spec)                            # (mr, half, m, k)
            maps = sfft.irfft2(folded.transpose(2, 3, 0, 1), s=(mr, mc), workers=self.workers)
            out[start:start + m] = maps[:, :, :nr, :nc] * (1.0 / (sr * sc))
        return out

    def block_cost(self, height: int, width: int) -> float:
        """Weighted operations per image and filter of the ``"block"`` route for an
        ``height × width`` block, in the units :meth:`at` compares routes in (a patch
        product of the block costs ``height · width · kh · kw``)."""
        fr, fc = self._block_shape(height, width)
        return _DIRECT_ADVANTAGE * fr * fc * float(np.log2(fr * fc))

    def _block_shape(self, height: int, width: int) -> tuple[int, int]:
        kh, kw = self.kernels.shape[1:]
        return (sfft.next_fast_len(height + kh - 1, real=True),
                sfft.next_fast_len(width + kw - 1, real=True))

    def _block_spectra(self, fr: int, fc: int) -> np.ndarray:
        """Cached conjugate kernel spectra: circular correlation at FFT size ``fr × fc``."""
        key = ("block", fr, fc)
        if key not in self._cache:
            spec = sfft.rfft2(self.kernels, s=(fr, fc), workers=self.workers)
            self._remember(key, np.conj(spec, out=spec))
        return self._cache[key]

    def _at_block(self, images: np.ndarray, r0: int, height: int, c0: int,
                  width: int) -> np.ndarray:
        n, n_rows, n_cols = images.shape
        kh, kw = self.kernels.shape[1:]
        ch, cw = kh // 2, kw // 2
        fr, fc = self._block_shape(height, width)
        spec = self._block_spectra(fr, fc)
        # crop[a, b] = image[r0 - ch + a, c0 - cw + b], mean grey (0) outside the image
        pr, pc = height + kh - 1, width + kw - 1
        top, left = r0 - ch, c0 - cw
        ir0, ir1 = max(top, 0), min(top + pr, n_rows)
        ic0, ic1 = max(left, 0), min(left + pc, n_cols)
        out = np.empty((n, self.n_filters, height, width), dtype=self.dtype)
        per_image = (spec.size * spec.itemsize + fr * fc * self.n_filters * self.dtype.itemsize
                     + pr * pc * self.dtype.itemsize)
        chunk = max(1, self.max_batch_bytes // max(per_image, 1))
        crop = np.zeros((min(chunk, n), pr, pc), dtype=self.dtype)
        for start in range(0, n, chunk):
            block = images[start:start + chunk]
            m = len(block)
            crop[:m, ir0 - top:ir1 - top, ic0 - left:ic1 - left] = block[:, ir0:ir1, ic0:ic1]
            fimg = sfft.rfft2(crop[:m], s=(fr, fc), workers=self.workers)
            # out[i, j] = sum_uv k[u, v] crop[i + u, j + v]: i + u < pr <= fr, no wrap-around.
            # The inverse is pruned: rows first (complex), then the real transform of the
            # block's rows only
            rows = sfft.ifft(fimg[:, None] * spec[None], n=fr, axis=-2,
                             workers=self.workers)[..., :height, :]
            out[start:start + m] = sfft.irfft(rows, n=fc, axis=-1,
                                              workers=self.workers)[..., :width]
        return out

    def _remember(self, key, value) -> None:
        """Cache ``value``; the oldest entries go when more than ``_CACHE_ENTRIES``."""
        while len(self._cache) >= _CACHE_ENTRIES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = value


def _arithmetic(index: np.ndarray) -> tuple[int, int, int] | None:
    """``(first, step, count)`` if ``index`` is an increasing arithmetic progression."""
    if len(index) == 1:
        return int(index[0]), 1, 1
    step = int(index[1] - index[0])
    if step < 1 or np.any(np.diff(index) != step):
        return None
    return int(index[0]), step, len(index)
