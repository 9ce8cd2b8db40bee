"""Fourier-domain filtering with cached filter spectra (the engine under every filter bank).

Images are in contrast units (0 = mean grey), so zero padding is padding with
mean grey: the filters see a uniform screen beyond the image edge.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.fft as sfft

from stimuli._shared.validation import check_array, check_images, check_index, check_int

#: Direct dot products cost about this many times fewer seconds per multiply-add than
#: the FFT path per ``fr·fc·log2(fr·fc)`` of one filter (BLAS against pocketfft, measured
#: by ``benchmarks/bench_sampled_filters.py``): :meth:`FourierFilters.at` takes the
#: direct route when ``positions · kh · kw < _DIRECT_ADVANTAGE · fr · fc · log2(fr · fc)``.
_DIRECT_ADVANTAGE = 2.0


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

    def at(self, images, rows, cols, *, grid: bool = True, name: str = "images") -> np.ndarray:
        """Filter ``images`` but keep only some pixels: a grid ``rows`` × ``cols``, or pairs.

        Equal to ``self(images)[:, :, rows][:, :, :, cols]`` (``grid=True``) or
        ``self(images)[:, :, rows, cols]`` (``grid=False``).  When few positions are
        wanted (a coarse map, or units at a few pixels) the responses are computed as
        direct dot products of the kernels with the image patches around those pixels —
        work proportional to the positions kept — instead of filtering whole images
        through the FFT; otherwise through the FFT.

        Parameters
        ----------
        images : array_like of shape (n, rows, cols)
        rows, cols : array_like of int
            Pixel rows and columns (1-D, in range, negative counted from the end); with
            ``grid=False`` of equal length, one position per pair.
        grid : bool
            Every combination of ``rows`` and ``cols`` (default), or pairs.

        Returns
        -------
        ndarray of shape (n, k, len(rows), len(cols)), or (n, k, len(rows)) for pairs

        Raises
        ------
        ValueError
            For bad images (as ``__call__``), empty index arrays, or pairs of unequal
            length.
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
        """
        images = check_images(name, images, dtype=self.dtype)
        n, n_rows, n_cols = images.shape
        rows = check_index("rows", rows, n_rows, "image rows")
        cols = check_index("cols", cols, n_cols, "image columns")
        if grid:
            shape = (len(rows), len(cols))
            rows, cols = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
        elif len(rows) != len(cols):
            raise ValueError(f"rows and cols must have equal lengths for grid=False, got "
                             f"{len(rows)} and {len(cols)}")
        else:
            shape = (len(rows),)
        kh, kw = self.kernels.shape[1:]
        fr, fc = self._fft_shape(n_rows, n_cols)
        if len(rows) * kh * kw >= _DIRECT_ADVANTAGE * fr * fc * np.log2(fr * fc):
            out = np.empty((n, self.n_filters, len(rows)), dtype=self.dtype)
            per_image = self.n_filters * n_rows * n_cols * self.dtype.itemsize
            chunk = max(1, self.max_batch_bytes // per_image)
            for start in range(0, n, chunk):
                out[start:start + chunk] = self(images[start:start + chunk],
                                                name=name)[:, :, rows, cols]
            return out.reshape(n, self.n_filters, *shape)
        # zero (mean grey) padding so that every kernel-sized window exists; window
        # (r, c) of the padded image is the one centred on pixel (r, c)
        ch, cw = kh // 2, kw // 2
        weights = self.kernels.reshape(self.n_filters, kh * kw).T
        out = np.empty((n, self.n_filters, len(rows)), dtype=self.dtype)
        per_image = len(rows) * kh * kw * self.dtype.itemsize
        chunk = max(1, self.max_batch_bytes // per_image)
        for start in range(0, n, chunk):
            block = np.pad(images[start:start + chunk], ((0, 0), (ch, kh - 1 - ch),
                                                         (cw, kw - 1 - cw)))
            windows = np.lib.stride_tricks.sliding_window_view(block, (kh, kw), axis=(1, 2))
            patches = windows[:, rows, cols].reshape(-1, kh * kw)
            out[start:start + chunk] = (patches @ weights).reshape(
                len(block), len(rows), -1).transpose(0, 2, 1)
        return out.reshape(n, self.n_filters, *shape)
