"""Receptive-field mapping for any model layer: reverse correlation, sparse noise, STC, gratings.

Every function drives the model through :func:`analysis.runner.run_protocol` one
batch at a time, so unit selection (``units="centre"`` / ``"all"`` / indices),
validation of the model's output and ``unit_info`` (with the map position
``x``, ``y`` of each recorded unit) are exactly those of a protocol run, while
the accumulated statistics stay small (nothing of size ``n_images`` is kept,
except by :func:`spike_triggered_covariance`, whose result keeps the analysis
window of the noise and the responses for its shuffle test).

- :func:`reverse_correlation` — the response-weighted average of white noise
  (spike-triggered average with the mean response subtracted), normalised by the
  stimulus variance so that for a linear unit ``r = Σ k·s`` the map estimates
  ``k`` itself.  By Bussgang's theorem a static nonlinearity after a linear filter
  only rescales the map for Gaussian noise.
- :func:`sparse_noise_maps` — ON and OFF maps from light and dark squares on grey
  (mean response when a pixel is ON/OFF minus the mean response).
- :func:`spike_triggered_covariance` — eigen-analysis of the response-weighted
  stimulus covariance minus the stimulus covariance; an energy complex cell has
  two large positive eigenvalues whose eigenvectors form a quadrature pair
  (Touryan, Lau & Dan 2002, J Neurosci 22:10811; Rust et al. 2005, Neuron 46:945).
- :func:`grating_rf_mapping` — small gratings on a grid of positions (Marques,
  Schrimpf & DiCarlo 2021): RF centre and size per unit from a 2D Gaussian fit to
  the response map.

Maps are returned in the display's geometry ``(rows, cols)``, row 0 at the top,
so :func:`analysis.gabor_fit.fit_gabor` with the display's ``pixels_per_degree``
gives positions in the visual-field coordinates of the package.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from analysis.gabor_fit import fit_gabors
from analysis.runner import run_protocol
from stimuli._shared.io import expect_arrays, load_npz, save_npz
from stimuli._shared.validation import (
    as_rng,
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_range,
)
from stimuli.display import Display
from stimuli.noise import sparse_noise, white_noise
from stimuli.protocols import image_set, rf_mapping
from stimuli.resources import MAX_IMAGES
from stimuli.table import Table
from v1model.base import check_layer

__all__ = ["ReceptiveFields", "STCResult", "grating_rf_mapping", "reverse_correlation",
           "sparse_noise_maps", "spike_triggered_covariance"]

NOISE_KINDS = ("gaussian", "binary")
_KIND = "analysis.receptive_fields"


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class ReceptiveFields:
    """Receptive-field maps of the recorded units of one layer.

    Attributes
    ----------
    maps : ndarray of shape (n_units, rows, cols), float32
        One map per unit in the display's geometry (row 0 at the top).  White noise:
        ``cov(r, s_p) / var(s_p)``, response units per unit contrast.  Sparse noise:
        ``on_maps - off_maps``.
    unit_info : dict of str to ndarray
        Per-unit metadata as recorded by :func:`analysis.runner.run_protocol`
        (the model's ``orientation``, ``sf``, ... and map position ``x``, ``y``).
    display : Display
        The display the maps live on.
    n_images : int
        Number of noise images used.
    method : str
        ``"white_noise"`` or ``"sparse_noise"``.
    responsive : ndarray of bool, shape (n_units,)
        False for units whose response never varied (their map is all zero and
        their correlations undefined).
    split_half_r : ndarray of shape (n_units,)
        Pearson correlation between the maps from the first and the second part of
        the images, split at the batch boundary ``meta["split_at"]`` (about half):
        two independent estimates.  NaN where ``responsive`` is False.
    convergence : Table
        One row per checkpoint (the number of images roughly doubles from row to
        row): ``n_images``; ``n_first``, the previous checkpoint (about half, on a
        batch boundary); ``median_r`` and ``q10_r``, the median and 10th percentile
        over responsive units of the correlation between the map from all
        ``n_images`` and the map from the first ``n_first``.  Values near 1 mean the
        maps have converged.
    on_maps, off_maps : ndarray of shape (n_units, rows, cols) or None
        Sparse noise only: mean response when the pixel is light (dark) minus the
        mean response.
    meta : dict
        Model, layer and stimulus parameters.
    """

    maps: np.ndarray
    unit_info: dict
    display: Display
    n_images: int
    method: str
    responsive: np.ndarray
    split_half_r: np.ndarray
    convergence: Table
    on_maps: np.ndarray | None = None
    off_maps: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return int(self.maps.shape[0])

    def fit_gabors(self, **kwargs: Any) -> Table:
        """Fit a 2D Gabor to every map (:func:`analysis.gabor_fit.fit_gabors`), in degrees.

        Parameters
        ----------
        **kwargs
            ``min_r2``, ``max_nfev`` as in :func:`analysis.gabor_fit.fit_gabor`;
            ``progress`` as in :func:`analysis.gabor_fit.fit_gabors`.

        Returns
        -------
        Table
            One row per unit; positions relative to the display centre in degrees,
            ``sf`` in c/deg.

        Raises
        ------
        ValueError
            As :func:`analysis.gabor_fit.fit_gabors`.

        Examples
        --------
        >>> from analysis.gabor_fit import fit_gabors
        >>> callable(ReceptiveFields.fit_gabors)
        True
        """
        return fit_gabors(self.maps, self.display.pixels_per_degree, **kwargs)

    def save(self, path: str | os.PathLike) -> None:
        """Write the maps and everything needed to reload them to one ``.npz``, atomically.

        Written without pickle to a temporary name renamed over ``path`` when complete,
        so an interrupted save leaves an existing file intact.

        Parameters
        ----------
        path : str or path-like
            Destination; used as given.

        Examples
        --------
        >>> import os, tempfile
        >>> from stimuli.display import Display
        >>> class Pixel:
        ...     display, layers, temporal = Display((5, 5), pixels_per_degree=4), ("px",), False
        ...     def responses(self, s, layer):
        ...         return s[:, 2:3, 2]
        ...     def unit_info(self, layer):
        ...         return {}
        >>> rf = reverse_correlation(Pixel(), "px", n_images=100, rng=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "rf.npz")
        >>> rf.save(path)
        >>> back = ReceptiveFields.load(path)
        >>> bool(np.array_equal(back.maps, rf.maps)), back.method
        (True, 'white_noise')
        """
        arrays: dict[str, np.ndarray] = {"maps": self.maps, "responsive": self.responsive,
                                         "split_half_r": self.split_half_r}
        if self.on_maps is not None:
            arrays.update(on_maps=self.on_maps, off_maps=self.off_maps)
        for i, value in enumerate(self.unit_info.values()):
            arrays[f"unit_info_{i}"] = np.asarray(value)
        for i, name in enumerate(self.convergence.names):
            arrays[f"convergence_{i}"] = self.convergence[name]
        d = self.display
        header = {"kind": _KIND, "format_version": 1, "method": self.method,
                  "n_images": self.n_images, "meta": self.meta,
                  "unit_info_names": list(self.unit_info),
                  "convergence_names": list(self.convergence.names),
                  "display": {"shape": list(d.shape), "pixels_per_degree": d.pixels_per_degree,
                              "frame_rate": d.frame_rate}}
        save_npz(path, arrays, header)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ReceptiveFields:
        """Read maps written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        ValueError
            If the file is truncated, corrupt or holds something else.
        """
        arrays, header = load_npz(path, _KIND, check=lambda headers, meta: _check_rf_headers(
            path, headers, meta))
        try:
            if header["format_version"] != 1:
                raise ValueError(f"unsupported format version {header['format_version']!r}")
            d = header["display"]
            display = Display(tuple(d["shape"]), d["pixels_per_degree"],
                              frame_rate=d["frame_rate"])
            info = {name: arrays[f"unit_info_{i}"]
                    for i, name in enumerate(header["unit_info_names"])}
            convergence = Table({name: arrays[f"convergence_{i}"]
                                 for i, name in enumerate(header["convergence_names"])})
            _check_rf_values(arrays)
            return cls(maps=arrays["maps"], unit_info=info, display=display,
                       n_images=int(header["n_images"]), method=header["method"],
                       responsive=arrays["responsive"], split_half_r=arrays["split_half_r"],
                       convergence=convergence, on_maps=arrays.get("on_maps"),
                       off_maps=arrays.get("off_maps"), meta=header["meta"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{os.fspath(path)!r} is not a valid receptive-field file "
                             f"(corrupt): {exc}") from exc

    def __repr__(self) -> str:
        med = (f"{np.nanmedian(self.split_half_r):.3f}" if np.any(self.responsive)
               else "n/a")
        return (f"ReceptiveFields({self.method}, {self.n_units} units of layer "
                f"{self.meta.get('layer')!r}, {self.n_images} images, maps "
                f"{self.maps.shape[1]}x{self.maps.shape[2]}, median split-half r {med})")


def _check_rf_headers(path: Any, headers: dict, meta: dict) -> None:
    """Keys, shapes and dtypes of a stored ReceptiveFields, before any map is decompressed."""
    where = repr(os.fspath(path))
    try:
        rows, cols = (int(v) for v in meta["display"]["shape"])
        info_names = list(meta["unit_info_names"])
        conv_names = list(meta["convergence_names"])
        maps = headers["maps"][0]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where} is not a valid receptive-field file (corrupt): missing or "
                         f"malformed {exc}") from exc
    if len(maps) != 3:
        raise ValueError(f"{where}: maps must have shape (n_units, rows, cols), got {maps}")
    n = maps[0]
    real, map_shape = "fiu", (n, rows, cols)
    expect_arrays(
        where, headers,
        required={"maps": (map_shape, real), "responsive": ((n,), "b"),
                  "split_half_r": ((n,), real),
                  **{f"unit_info_{i}": ((n,), real + "bUS") for i in range(len(info_names))},
                  **{f"convergence_{i}": (None, real) for i in range(len(conv_names))}},
        optional={"on_maps": (map_shape, real), "off_maps": (map_shape, real)})
    if ("on_maps" in headers) != ("off_maps" in headers):
        raise ValueError(f"{where}: on_maps and off_maps come together")


def _check_rf_values(arrays: dict) -> None:
    """Maps must be finite (split-half r may be NaN for unresponsive units)."""
    for key in ("maps", "on_maps", "off_maps"):
        if key in arrays and not np.all(np.isfinite(arrays[key])):
            raise ValueError(f"{key} must be finite, got NaN or infinite values")
    r = arrays["split_half_r"]
    if np.any(np.isinf(r)) or np.any(np.abs(r[np.isfinite(r)]) > 1 + 1e-6):
        raise ValueError("split_half_r must be correlations in [-1, 1] or NaN")


@dataclass(frozen=True, eq=False)
class STCResult:
    """Spike-triggered covariance of one unit.

    Attributes
    ----------
    eigenvalues : ndarray of shape (d,)
        Eigenvalues of ``C_response-weighted − C_stimulus``, in decreasing order;
        large positive values are excitatory stimulus directions, large negative ones
        suppressive.  Units: contrast².
    eigenvectors : ndarray of shape (d, h, w)
        Unit-norm eigenvectors as images of the analysis window, same order.
    sta : ndarray of shape (h, w)
        Response-weighted average stimulus in the window (≈ 0 for an energy cell).
    null_eigenvalues : ndarray of shape (d,)
        Eigenvalues of the same estimate with the responses shuffled once across
        images: a quick look at the noise floor.  For a decision use
        :meth:`significant`, which shuffles many times.
    window : tuple of int
        ``(row0, col0, h, w)``: top-left pixel and size of the window in the display.
    unit_info : dict
        The unit's metadata (scalars).
    n_images : int
    display : Display
    stimuli : ndarray of shape (n_images, d), float32
        The noise in the window, one flattened image per row (kept for the shuffle
        test: ``n_images · d · 4`` bytes).
    responses : ndarray of shape (n_images,)
        The unit's responses (the weights).
    shuffle_seed : int
        Seed of the shuffles of :meth:`significant` (drawn from the analysis's rng,
        so a result always gives the same answer).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    sta: np.ndarray
    null_eigenvalues: np.ndarray
    window: tuple[int, int, int, int]
    unit_info: dict
    n_images: int
    display: Display
    stimuli: np.ndarray = field(repr=False)
    responses: np.ndarray = field(repr=False)
    shuffle_seed: int = 0
    _null_cache: dict = field(default_factory=dict, repr=False)

    def significant(self, *, alpha: float = 0.05, n_shuffles: int = 199) -> np.ndarray:
        """Indices of the significant eigenvalues by a nested shuffle test.

        The nested test of Rust, Schwartz, Movshon & Simoncelli (2005, Neuron
        46:945) and Schwartz, Pillow, Rust & Simoncelli (2006, J Vis 6:484): the
        eigenvalue of largest magnitude is compared with the distribution, over
        ``n_shuffles`` controls with the responses permuted across images, of the
        largest eigenvalue magnitude of the shuffled ``ΔC``; if it is significant
        (permutation p-value ``(1 + #{null ≥ observed}) / (n_shuffles + 1) ≤ alpha``)
        its axis is accepted, every matrix (the data's and the shuffles') is
        restricted to the orthogonal complement of the accepted axes, and the next
        largest is tested the same way; the first non-significant one stops the
        procedure.  Each step is a test at level ``alpha`` of "no further relevant
        dimension", so the probability of reporting any dimension beyond the true
        ones is about ``alpha`` (slightly less: the accepted axes carry away the
        largest noise directions).  For Gaussian white noise the complement of the
        relevant subspace is independent of it, which makes the restricted shuffles
        the right null; the same set of shuffles serves every step.

        Parameters
        ----------
        alpha : float
            False-positive rate in (0, 0.5].  Default 0.05.
        n_shuffles : int
            Shuffled controls, at least ``ceil(1 / alpha) − 1`` (otherwise no
            p-value can reach ``alpha``).  Default 199 (p-values in steps of 0.005).

        Returns
        -------
        ndarray of int
            Indices into ``eigenvalues``, ascending (positive eigenvalues first).

        Raises
        ------
        ValueError
            If ``alpha`` is outside (0, 0.5] or ``n_shuffles`` is too small.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> class Energy:  # squared projections on two pixels: two relevant dimensions
        ...     display, layers, temporal = Display((3, 3), pixels_per_degree=2), ("e",), False
        ...     def responses(self, s, layer):
        ...         return (s[:, 0, 0] ** 2 + s[:, 2, 2] ** 2)[:, None]
        ...     def unit_info(self, layer):
        ...         return {}
        >>> stc = spike_triggered_covariance(Energy(), "e", n_images=2000, rng=0)
        >>> stc.significant(n_shuffles=99).tolist()
        [0, 1]
        """
        alpha = check_range("alpha", alpha, 0.0, 0.5, closed="right")
        minimum = int(np.ceil(1.0 / alpha - 1e-9)) - 1
        n_shuffles = check_int("n_shuffles", n_shuffles, minimum=max(minimum, 1))
        values = np.asarray(self.eigenvalues, dtype=np.float64)
        d = values.size
        order = np.argsort(-np.abs(values), kind="stable")  # candidates, largest |λ| first
        accepted: list[int] = []
        for step in range(d):
            null = self._null_statistic(order, step, n_shuffles)
            observed = abs(values[order[step]])
            p_value = (1 + np.count_nonzero(null >= observed)) / (n_shuffles + 1)
            if p_value > alpha:
                break
            accepted.append(int(order[step]))
        return np.sort(np.asarray(accepted, dtype=int))

    def _null_statistic(self, order: np.ndarray, step: int, n_shuffles: int) -> np.ndarray:
        """``(n_shuffles,)``: max |eigenvalue| of each shuffled ΔC on the complement of
        the first ``step`` candidate axes.  Computed 4 steps at a time and cached."""
        block = 4
        key = (n_shuffles, step // block)
        if key not in self._null_cache:
            first = (step // block) * block
            steps = range(first, min(first + block, len(order)))
            vectors = self.eigenvectors.reshape(len(order), -1).T    # (d, d), columns
            s = np.asarray(self.stimuli, dtype=np.float64)
            z = (s - s.mean(axis=0)) @ vectors                       # eigen-basis coordinates
            c_s = z.T @ z / len(z)
            r = np.asarray(self.responses, dtype=np.float64)
            total = r.sum()
            gen = np.random.default_rng(self.shuffle_seed)
            out = np.empty((n_shuffles, len(steps)))
            for k in range(n_shuffles):
                q = r[gen.permutation(len(r))]
                mean_q = q @ z / total
                dq = (z * q[:, None]).T @ z / total - np.outer(mean_q, mean_q) - c_s
                dq = (dq + dq.T) / 2
                for j, t in enumerate(steps):
                    keep = np.sort(order[t:])
                    ev = np.linalg.eigvalsh(dq[np.ix_(keep, keep)])
                    out[k, j] = np.abs(ev).max()
            for j, t in enumerate(steps):
                self._null_cache[(n_shuffles, t // block, t)] = out[:, j]
            self._null_cache[key] = True
        return self._null_cache[(n_shuffles, step // block, step)]


# --------------------------------------------------------------------------- helpers
def _respond(model, layer: str, images: np.ndarray, units, name: str, params: dict):
    """Responses ``(n, n_units)`` (time axis averaged) and the recording's unit_info."""
    rec = run_protocol(model, image_set(model.display, images, name=name, params=params),
                       layer, units=units, batch_size=len(images), progress=False)
    return rec.rates(), rec.unit_info


def _check_common(model, layer: str, n_images, batch_size) -> tuple[int, int]:
    if not hasattr(model, "display") or not hasattr(model, "layers"):
        raise TypeError(f"model must provide the v1model interface, got {type(model).__name__}")
    check_layer(model, layer)
    n_images = check_int("n_images", n_images, minimum=4)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if n_images > MAX_IMAGES:
        raise ValueError(f"n_images must be at most {MAX_IMAGES} "
                         f"(stimuli.resources.MAX_IMAGES), got {n_images}")
    # a batch of images in float32 and its float64 copy
    model.display.check_memory("one batch of noise images", min(batch_size, n_images), 12,
                               "lower batch_size")
    return n_images, batch_size


def _progress_bar(enabled: Any, total: int, desc: str):
    """A tqdm bar over images on stderr (disabled unless ``enabled``)."""
    from tqdm.auto import tqdm

    check_bool("progress", enabled)
    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False)


def _checkpoints(n_batches: int) -> list[int]:
    """Batch counts at which to snapshot: n_batches, ~n/2, ~n/4, ... 1 (ascending)."""
    points = {n_batches}
    k = n_batches
    while k > 1:
        k = -(-k // 2)
        points.add(k)
    return sorted(points)


def _rowwise_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching rows; NaN where a row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


class _Sums:
    """Running sums for response-weighted maps: Σr, Σr², Σ r·f, Σf, Σf² (f: pixel features)."""

    def __init__(self, n_units: int, n_features: int):
        self.n = 0
        self.r = np.zeros(n_units)
        self.rr = np.zeros(n_units)
        self.rf = np.zeros((n_units, n_features))
        self.f = np.zeros(n_features)
        self.ff = np.zeros(n_features)

    def add(self, r: np.ndarray, f: np.ndarray) -> None:
        self.n += len(r)
        self.r += r.sum(axis=0)
        self.rr += (r * r).sum(axis=0)
        self.rf += r.T @ f
        self.f += f.sum(axis=0)
        self.ff += (f * f).sum(axis=0)

    def copy(self) -> _Sums:
        out = _Sums.__new__(_Sums)
        out.n, out.r, out.rr, out.rf, out.f, out.ff = (
            self.n, self.r.copy(), self.rr.copy(), self.rf.copy(), self.f.copy(), self.ff.copy())
        return out

    def minus(self, other: _Sums) -> _Sums:
        out = _Sums.__new__(_Sums)
        out.n = self.n - other.n
        out.r, out.rr, out.rf = self.r - other.r, self.rr - other.rr, self.rf - other.rf
        out.f, out.ff = self.f - other.f, self.ff - other.ff
        return out

    def responsive(self) -> np.ndarray:
        mean = self.r / self.n
        var = self.rr / self.n - mean * mean
        return var > 1e-12 * np.maximum(self.rr / self.n, 1e-300)


def _white_map(s: _Sums) -> np.ndarray:
    """``cov(r, s_p) / var(s_p)`` per unit and pixel."""
    mean_r, mean_f = s.r / s.n, s.f / s.n
    cov = s.rf / s.n - np.outer(mean_r, mean_f)
    var = s.ff / s.n - mean_f * mean_f
    return cov / np.where(var > 0, var, np.inf)


def _sparse_maps(on: _Sums, off: _Sums) -> tuple[np.ndarray, np.ndarray]:
    """ON and OFF maps: mean response given the pixel is ON (OFF) minus the mean response."""
    maps = []
    mean_r = on.r / on.n
    for s in (on, off):
        count = s.f                                   # features are 0/1 indicators
        cond = s.rf / np.where(count > 0, count, 1.0)
        maps.append(np.where(count > 0, cond - mean_r[:, None], 0.0))
    return maps[0], maps[1]


def _convergence(snapshots: list[tuple[int, np.ndarray]], responsive: np.ndarray) -> Table:
    rows_n, first_n, med, q10 = [], [], [], []
    for (n_half, half), (n, full) in zip(snapshots[:-1], snapshots[1:], strict=True):
        r = _rowwise_corr(full, half)[responsive]
        r = r[np.isfinite(r)]
        rows_n.append(n)
        first_n.append(n_half)
        med.append(float(np.median(r)) if r.size else np.nan)
        q10.append(float(np.percentile(r, 10)) if r.size else np.nan)
    return Table({"n_images": np.array(rows_n, dtype=np.int64),
                  "n_first": np.array(first_n, dtype=np.int64),
                  "median_r": np.array(med), "q10_r": np.array(q10)})


# --------------------------------------------------------------------------- white noise
def reverse_correlation(model, layer: str, *, n_images: int = 10000, batch_size: int = 500,
                        kind: str = "gaussian", contrast: float = 1.0,
                        check_size: float | None = None, rng=None,
                        units: str | Sequence[int] | np.ndarray = "centre",
                        progress: bool = False) -> ReceptiveFields:
    """Receptive fields by white-noise reverse correlation (response-weighted average).

    For every recorded unit the map is ``cov(r, s_p) / var(s_p)`` over the images —
    the response-weighted average of the noise with the mean response subtracted,
    divided by the noise variance — so a linear unit ``r = Σ_p k_p s_p`` gives
    ``k`` (in response units per unit contrast) and a rectified linear unit a scaled
    ``k``.  Temporal models' time axes are averaged.

    Parameters
    ----------
    model : object
        Any model with the v1model interface.
    layer : str
        One of ``model.layers``.
    n_images : int
        Number of noise images (>= 4).  Maps of ``d`` pixels need ``n ≫ d`` for a
        clean estimate; check ``convergence`` and ``split_half_r``.
    batch_size : int
        Images per call to the model.
    kind : {"gaussian", "binary"}
        Noise distribution (:func:`stimuli.noise.white_noise`).
    contrast : float
        Peak noise contrast in (0, 1].
    check_size : float, optional
        Noise check side in degrees (a whole number of pixels); default 1 pixel.
    rng : None, int or numpy.random.Generator
        Source of the noise.
    units : {"centre", "all"} or array_like of int
        Which units, as in :func:`analysis.runner.run_protocol` (``"centre"``: every
        channel at the map position nearest the display centre).
    progress : bool
        Show a progress bar (images done) on stderr.

    Returns
    -------
    ReceptiveFields
        ``maps (n_units, rows, cols)`` float32, ``unit_info``, ``split_half_r``,
        ``convergence`` (see :class:`ReceptiveFields`).

    Raises
    ------
    ValueError
        If ``layer`` is unknown, ``kind`` unknown, ``contrast`` not in (0, 1],
        ``n_images < 4``, or the model returns a wrong number of responses or
        non-finite values (via :func:`run_protocol`).
    TypeError
        If ``model`` lacks the interface.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> class Pixel:  # one unit that reports the centre pixel
    ...     display, layers, temporal = Display((9, 9), pixels_per_degree=4), ("px",), False
    ...     def responses(self, s, layer):
    ...         return s[:, 4:5, 4]
    ...     def unit_info(self, layer):
    ...         return {}
    >>> rf = reverse_correlation(Pixel(), "px", n_images=2000, rng=0)
    >>> [int(i) for i in np.unravel_index(np.argmax(rf.maps[0]), (9, 9))]
    [4, 4]
    >>> round(float(rf.maps[0].max()), 2)
    1.0
    """
    n_images, batch_size = _check_common(model, layer, n_images, batch_size)
    kind = check_choice("kind", kind, NOISE_KINDS)
    contrast = check_range("contrast", contrast, 0.0, 1.0, closed="right")
    generator = as_rng(rng)
    display = model.display
    params = {"kind": kind, "contrast": contrast, "check_size": check_size}

    n_batches = -(-n_images // batch_size)
    checkpoints = set(_checkpoints(n_batches))
    sums = None
    info = None
    snapshots: list[tuple[int, _Sums]] = []
    done = 0
    bar = _progress_bar(progress, n_images, f"white noise -> {layer}")
    for b in range(n_batches):
        n = min(batch_size, n_images - done)
        images = white_noise(display, n, kind=kind, contrast=contrast, check_size=check_size,
                             rng=generator)
        resp, unit_info = _respond(model, layer, images, units, "white_noise", params)
        if sums is None:
            sums, info = _Sums(resp.shape[1], images[0].size), unit_info
        _add_white(sums, resp, images.reshape(n, -1))
        done += n
        bar.update(n)
        if b + 1 in checkpoints:
            snapshots.append((done, sums.copy()))
    bar.close()
    return _finish(sums, snapshots, info, display, "white_noise", model, layer, params,
                   lambda s: _white_map(s))


def _add_white(sums: _Sums, r: np.ndarray, f: np.ndarray) -> None:
    """Add one chunk to the running sums with the ``r·f`` product as one float32 GEMM.

    ``Σ r f = Σ (r − c) f + c Σ f`` with ``c`` the running mean response: the centred
    float32 product keeps float32 rounding far below the sampling noise of the map
    (the chunk's sums are added into float64), and the chunk is never copied to
    float64.  Memory is one chunk, whatever the number of images.
    """
    centre = (sums.r + r.sum(axis=0)) / (sums.n + len(r))
    f32 = np.asarray(f, dtype=np.float32)
    product = (r - centre).astype(np.float32).T @ f32                # (units, pixels)
    column_sum = f32.sum(axis=0, dtype=np.float64)
    sums.n += len(r)
    sums.r += r.sum(axis=0)
    sums.rr += (r * r).sum(axis=0)
    sums.rf += product
    sums.rf += np.outer(centre, column_sum)
    sums.f += column_sum
    sums.ff += np.einsum("ij,ij->j", f32, f32, dtype=np.float64)


def _finish(sums: _Sums, snapshots, info, display, method, model, layer, params,
            to_map, on_off=None) -> ReceptiveFields:
    rows, cols = display.shape
    responsive = sums.responsive()
    maps = to_map(sums)
    snap_maps = [(n, to_map(s)) for n, s in snapshots]
    half = snapshots[-2][1] if len(snapshots) > 1 else None
    if half is not None:
        first, second = to_map(half), to_map(sums.minus(half))
        split = np.where(responsive, _rowwise_corr(first, second), np.nan)
    else:
        split = np.full(len(responsive), np.nan)
    maps = np.where(responsive[:, None], maps, 0.0)
    meta = {"model": type(model).__name__, "layer": layer, "method": method, **params,
            "split_at": int(snapshots[-2][0]) if len(snapshots) > 1 else None}
    extra = {}
    if on_off is not None:
        on, off = on_off
        extra = {"on_maps": on.reshape(-1, rows, cols).astype(np.float32),
                 "off_maps": off.reshape(-1, rows, cols).astype(np.float32)}
    return ReceptiveFields(
        maps=maps.reshape(-1, rows, cols).astype(np.float32), unit_info=info, display=display,
        n_images=int(sums.n), method=method, responsive=responsive, split_half_r=split,
        convergence=_convergence(snap_maps, responsive), meta=meta, **extra)


# --------------------------------------------------------------------------- sparse noise
def sparse_noise_maps(model, layer: str, *, n_images: int = 5000, batch_size: int = 500,
                      square_size: float | None = None, density: float = 0.1,
                      contrast: float = 1.0, rng=None,
                      units: str | Sequence[int] | np.ndarray = "centre",
                      progress: bool = False) -> ReceptiveFields:
    """ON and OFF receptive-field maps from sparse noise (light and dark squares on grey).

    For each pixel, the ON map is the mean response over images in which the pixel
    is light minus the mean response over all images; the OFF map likewise for dark.
    A simple cell's ON and OFF subregions appear with opposite signs; ``maps`` is
    ``ON − OFF`` (the linear RF up to scale).  Pixels never covered by a square
    (the margin when the display is not a whole number of squares) are 0.

    Parameters
    ----------
    model : object
        Any model with the v1model interface.
    layer : str
        One of ``model.layers``.
    n_images : int
        Number of sparse-noise images (>= 4).
    batch_size : int
        Images per call to the model.
    square_size : float, optional
        Square side in degrees, a whole number of pixels; default one pixel.
    density : float
        Probability in (0, 1] that a square is not grey in an image
        (:func:`stimuli.noise.sparse_noise`).
    contrast : float
        Square contrast in (0, 1].
    rng : None, int or numpy.random.Generator
        Source of the noise.
    units : {"centre", "all"} or array_like of int
        As in :func:`analysis.runner.run_protocol`.
    progress : bool
        Show a progress bar (images done) on stderr.

    Returns
    -------
    ReceptiveFields
        ``on_maps`` and ``off_maps`` set, ``maps = on_maps − off_maps``; method
        ``"sparse_noise"``.

    Raises
    ------
    ValueError
        For an unknown layer, bad noise parameters or model output (as
        :func:`reverse_correlation`).

    Examples
    --------
    >>> from stimuli.display import Display
    >>> class Pixel:
    ...     display, layers, temporal = Display((6, 6), pixels_per_degree=2), ("px",), False
    ...     def responses(self, s, layer):
    ...         return np.maximum(s[:, 2:3, 3], 0)          # an ON pixel
    ...     def unit_info(self, layer):
    ...         return {}
    >>> rf = sparse_noise_maps(Pixel(), "px", n_images=400, density=0.3, rng=0)
    >>> on, off = rf.on_maps[0], rf.off_maps[0]
    >>> np.unravel_index(np.argmax(on), on.shape) == (2, 3), bool(off[2, 3] < 0)
    (True, True)
    """
    n_images, batch_size = _check_common(model, layer, n_images, batch_size)
    density = check_range("density", density, 0.0, 1.0, closed="right")
    contrast = check_range("contrast", contrast, 0.0, 1.0, closed="right")
    display = model.display
    if square_size is None:
        square_size = 1.0 / display.pixels_per_degree
    generator = as_rng(rng)
    params = {"square_size": square_size, "density": density, "contrast": contrast}
    n_batches = -(-n_images // batch_size)
    checkpoints = set(_checkpoints(n_batches))
    on = off = info = None
    snapshots: list[tuple[int, tuple[_Sums, _Sums]]] = []
    done = 0
    bar = _progress_bar(progress, n_images, f"sparse noise -> {layer}")
    for b in range(n_batches):
        n = min(batch_size, n_images - done)
        images, _ = sparse_noise(display, n, square_size=square_size, density=density,
                                 contrast=contrast, rng=generator)
        resp, unit_info = _respond(model, layer, images, units, "sparse_noise", params)
        flat = images.reshape(n, -1)
        if on is None:
            on, off = _Sums(resp.shape[1], flat.shape[1]), _Sums(resp.shape[1], flat.shape[1])
            info = unit_info
        on.add(resp, (flat > 0).astype(np.float64))
        off.add(resp, (flat < 0).astype(np.float64))
        done += n
        bar.update(n)
        if b + 1 in checkpoints:
            snapshots.append((done, _Pair(on.copy(), off.copy())))
    bar.close()

    def to_map(pair):
        a, b_ = _sparse_maps(pair.on, pair.off)
        return a - b_

    final = _Pair(on, off)
    on_map, off_map = _sparse_maps(on, off)
    return _finish(final, snapshots, info, display, "sparse_noise", model, layer, params,
                   to_map, on_off=(on_map, off_map))


class _Pair:
    """ON and OFF sums travelling together through :func:`_finish`."""

    def __init__(self, on: _Sums, off: _Sums):
        self.on, self.off = on, off
        self.n = on.n

    def responsive(self) -> np.ndarray:
        return self.on.responsive()

    def minus(self, other: _Pair) -> _Pair:
        return _Pair(self.on.minus(other.on), self.off.minus(other.off))


# --------------------------------------------------------------------------- STC
def spike_triggered_covariance(model, layer: str, unit: int = 0, *, n_images: int = 20000,
                               batch_size: int = 1000, kind: str = "gaussian",
                               contrast: float = 1.0, check_size: float | None = None,
                               size: float | None = None, rng=None) -> STCResult:
    """Spike-triggered covariance of one unit: its excitatory and suppressive subspace.

    With responses ``r_i ≥ 0`` as weights, ``C_r = Σ r_i (s_i − STA)(s_i − STA)ᵀ / Σ r_i``
    and ``ΔC = C_r − C_s`` (``C_s`` the stimulus covariance).  Eigenvectors of large
    positive eigenvalues are stimulus directions that raise the response.  For an
    energy complex cell ``√(⟨g_0,s⟩² + ⟨g_90,s⟩²)`` the top two span the quadrature
    pair ``g_0, g_90`` (Touryan et al. 2002).  A control with the responses shuffled
    once across images gives ``null_eigenvalues``; :meth:`STCResult.significant`
    decides which eigenvalues are significant by a nested test with many shuffles
    (Rust et al. 2005), for which the result keeps the window of the noise.

    Parameters
    ----------
    model : object
        Any model with the v1model interface.
    layer : str
        One of ``model.layers``; its responses must be non-negative.
    unit : int
        Which unit, indexing the units that ``units="centre"`` records: for a
        retinotopic layer the channel at the map position nearest the display centre.
    n_images : int
        Noise images (>= 4); the covariance of a ``d``-pixel window needs ``n ≫ d``.
    batch_size : int
        Images per call to the model.
    kind, contrast, check_size
        White noise as in :func:`reverse_correlation`.
    size : float, optional
        Side in degrees of the square analysis window centred on the unit's position
        (``unit_info`` ``x``, ``y``; the display centre if absent).  Default: the
        whole display, which must then have at most 4096 pixels.
    rng : None, int or numpy.random.Generator
        Source of the noise and of the shuffles.

    Returns
    -------
    STCResult
        ``eigenvalues`` (decreasing), ``eigenvectors (d, h, w)``, ``sta``,
        ``null_eigenvalues``, ``window``, ``unit_info``, and the ``stimuli``
        (``n_images × d`` float32) and ``responses`` for the shuffle test.

    Raises
    ------
    ValueError
        If the unit's responses are negative or never positive, the window is too
        large or empty, or as :func:`reverse_correlation`.
    IndexError
        If ``unit`` is out of range.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> class Energy:  # squared projections on two orthogonal pixel patterns
    ...     display, layers, temporal = Display((4, 4), pixels_per_degree=2), ("e",), False
    ...     def responses(self, s, layer):
    ...         return (s[:, 0, 0] ** 2 + s[:, 3, 3] ** 2)[:, None]
    ...     def unit_info(self, layer):
    ...         return {}
    >>> stc = spike_triggered_covariance(Energy(), "e", n_images=4000, rng=0)
    >>> top = np.abs(stc.eigenvectors[:2]).reshape(2, -1).sum(axis=0).reshape(4, 4)
    >>> bool(top[0, 0] > 0.9 and top[3, 3] > 0.9), stc.significant().size
    (True, 2)
    """
    n_images, batch_size = _check_common(model, layer, n_images, batch_size)
    kind = check_choice("kind", kind, NOISE_KINDS)
    contrast = check_range("contrast", contrast, 0.0, 1.0, closed="right")
    unit = check_int("unit", unit, minimum=0)
    generator = as_rng(rng)
    display = model.display
    params = {"kind": kind, "contrast": contrast, "check_size": check_size}
    rows, cols = display.shape
    window = None
    done = 0
    stats = None
    info_row: dict = {}
    kept_s: list[np.ndarray] = []
    kept_r: list[np.ndarray] = []
    while done < n_images:
        n = min(batch_size, n_images - done)
        images = white_noise(display, n, kind=kind, contrast=contrast, check_size=check_size,
                             rng=generator)
        resp, unit_info = _respond(model, layer, images, "centre", "white_noise", params)
        if window is None:
            if unit >= resp.shape[1]:
                raise IndexError(f"unit {unit} is out of range: layer {layer!r} records "
                                 f"{resp.shape[1]} units at the display centre")
            info_row = {k: v[unit].item() for k, v in unit_info.items()}
            window = _window(display, size, info_row)
            d = window[2] * window[3]
            stats = {"n": 0, "r": 0.0, "rs": np.zeros(d), "rss": np.zeros((d, d)),
                     "s": np.zeros(d), "ss": np.zeros((d, d)), "qs": np.zeros(d),
                     "qss": np.zeros((d, d)), "q": 0.0}
        r = resp[:, unit]
        if np.any(r < 0):
            raise ValueError(
                f"spike-triggered covariance weights images by the response, which must be "
                f"non-negative; unit {unit} of layer {layer!r} gave {r.min():g}"
            )
        r0, c0, h, w = window
        s = images[:, r0:r0 + h, c0:c0 + w].reshape(n, -1).astype(np.float64)
        q = generator.permutation(r)                        # shuffled control
        stats["n"] += n
        stats["r"] += r.sum()
        stats["q"] += q.sum()
        stats["rs"] += r @ s
        stats["qs"] += q @ s
        stats["rss"] += (s * r[:, None]).T @ s
        stats["qss"] += (s * q[:, None]).T @ s
        stats["s"] += s.sum(axis=0)
        stats["ss"] += s.T @ s
        kept_s.append(s.astype(np.float32))
        kept_r.append(np.asarray(r, dtype=np.float64))
        done += n
    if not stats["r"] > 0:
        raise ValueError(f"unit {unit} of layer {layer!r} never responded to the noise: "
                         f"spike-triggered covariance is undefined")
    n = stats["n"]
    mean_s = stats["s"] / n
    c_s = stats["ss"] / n - np.outer(mean_s, mean_s)

    def delta(total, first, second):
        sta = first / total
        return second / total - np.outer(sta, sta) - c_s, sta

    dc, sta = delta(stats["r"], stats["rs"], stats["rss"])
    dq, _ = delta(stats["q"], stats["qs"], stats["qss"])
    values, vectors = np.linalg.eigh((dc + dc.T) / 2)
    order = np.argsort(values)[::-1]
    null = np.sort(np.linalg.eigvalsh((dq + dq.T) / 2))[::-1]
    r0, c0, h, w = window
    return STCResult(eigenvalues=values[order], eigenvectors=vectors[:, order].T.reshape(-1, h, w),
                     sta=sta.reshape(h, w), null_eigenvalues=null, window=window,
                     unit_info=info_row, n_images=int(n), display=display,
                     stimuli=np.concatenate(kept_s), responses=np.concatenate(kept_r),
                     shuffle_seed=int(generator.integers(2**63)))


def _window(display: Display, size: float | None, info: dict) -> tuple[int, int, int, int]:
    rows, cols = display.shape
    if size is None:
        if rows * cols > 4096:
            raise ValueError(f"the display has {rows * cols} pixels; pass size (degrees) to "
                             f"analyse a window of at most 4096 pixels")
        return 0, 0, rows, cols
    size = check_positive("size", size)
    side = int(round(size * display.pixels_per_degree))
    if side < 1:
        raise ValueError(f"size {size} deg is less than one pixel")
    if side * side > 4096:
        raise ValueError(f"size {size} deg is {side} px; the window may hold at most 4096 pixels")
    row, col = display.position_to_pixel(float(info.get("x", 0.0)), float(info.get("y", 0.0)))
    r0 = int(round(row - (side - 1) / 2))
    c0 = int(round(col - (side - 1) / 2))
    r0, c0 = max(r0, 0), max(c0, 0)
    h, w = min(side, rows - r0), min(side, cols - c0)
    return r0, c0, h, w


# --------------------------------------------------------------------------- gratings on a grid
def grating_rf_mapping(model, layer: str, *, grid: Sequence[int] = (7, 7),
                       extent: Sequence[float] | None = None, radius: float | None = None,
                       sf: float | None = None,
                       orientations: Sequence[float] = (0.0, 45.0, 90.0, 135.0),
                       phases: Sequence[float] = (0.0, 90.0, 180.0, 270.0),
                       contrast: float = 1.0,
                       units: str | Sequence[int] | np.ndarray = "centre",
                       batch_size: int = 64, progress: bool = False) -> Table:
    """RF centre and size per unit from small gratings on a grid (Marques et al. 2021).

    Runs :func:`stimuli.protocols.rf_mapping` (``method="gratings"``), averages each
    unit's response over orientation and phase at every grid position, subtracts its
    response to a blank (mean grey) screen, and fits
    ``b + a·exp(−((x − x0)² + (y − y0)²) / (2σ²))`` to the resulting map.  The
    measured σ is that of the RF blurred by the grating patch (radius ``radius``).

    Parameters
    ----------
    model : object
        Any model with the v1model interface.
    layer : str
        One of ``model.layers``.
    grid, extent, radius, sf, orientations, phases, contrast
        As in :func:`stimuli.protocols.rf_mapping`.
    units : {"centre", "all"} or array_like of int
        As in :func:`analysis.runner.run_protocol`.
    batch_size : int
        Stimuli per call to the model.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Table
        One row per unit: ``unit``, ``x``, ``y`` (fitted RF centre, deg), ``rf_sigma``
        (deg), ``rf_diameter`` (4σ, deg), ``peak`` (largest blank-subtracted mean
        response), ``r2``, ``responsive`` (peak > 0) and ``success`` (responsive,
        converged, r2 >= 0.5 and centre within the grid).  Unresponsive units have
        NaN geometry and ``success`` False.

    Raises
    ------
    ValueError
        For an unknown layer, bad protocol parameters (see ``rf_mapping``) or a grid
        with fewer than 3 positions along either axis.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> class Spot:  # responds to contrast energy near (0.5, 0) deg
    ...     display, layers, temporal = Display((32, 32), pixels_per_degree=8), ("e",), False
    ...     def responses(self, s, layer):
    ...         return (s[:, 12:20, 18:22] ** 2).mean(axis=(1, 2))[:, None]
    ...     def unit_info(self, layer):
    ...         return {}
    >>> tab = grating_rf_mapping(Spot(), "e", grid=(5, 5), radius=0.4, sf=2.0)
    >>> round(float(tab["x"][0]), 1), round(float(tab["y"][0]), 1), bool(tab["success"][0])
    (0.5, 0.0, True)
    """
    check_layer(model, layer)
    protocol = rf_mapping(model.display, method="gratings", grid=grid, extent=extent,
                          radius=radius, sf=sf, orientations=orientations, phases=phases,
                          contrast=contrast)
    n_rows, n_cols = protocol.params["grid"]
    if n_rows < 3 or n_cols < 3:
        raise ValueError(f"grid must have at least 3 positions along each axis, got {grid!r}")
    rec = run_protocol(model, protocol, layer, units=units, batch_size=batch_size,
                       progress=progress)
    resp = rec.rates()
    blank, _ = _respond(model, layer, np.zeros((1, *model.display.shape), np.float32), units,
                        "blank", {})
    x = np.asarray(rec.conditions["x"], dtype=np.float64)
    y = np.asarray(rec.conditions["y"], dtype=np.float64)
    xs, ys = np.unique(x), np.unique(y)
    col = np.searchsorted(xs, x)
    row = np.searchsorted(ys, y)
    sums = np.zeros((len(ys), len(xs), resp.shape[1]))
    counts = np.zeros((len(ys), len(xs)))
    np.add.at(sums, (row, col), resp)
    np.add.at(counts, (row, col), 1.0)
    maps = sums / counts[..., None] - blank[0]                    # (ny, nx, units)
    gx, gy = np.meshgrid(xs, ys)
    spacing = min(np.diff(xs).min(), np.diff(ys).min())
    out = {k: np.full(resp.shape[1], np.nan) for k in ("x", "y", "rf_sigma", "rf_diameter",
                                                        "r2")}
    peak = maps.max(axis=(0, 1))
    success = np.zeros(resp.shape[1], dtype=bool)
    for u in range(resp.shape[1]):
        if not peak[u] > 0:
            continue
        fit = _fit_gaussian_2d(gx.ravel(), gy.ravel(), maps[..., u].ravel(), spacing)
        if fit is None:
            continue
        (x0, y0, sigma), r2, ok = fit
        out["x"][u], out["y"][u], out["rf_sigma"][u] = x0, y0, sigma
        out["rf_diameter"][u], out["r2"][u] = 4 * sigma, r2
        inside = xs[0] <= x0 <= xs[-1] and ys[0] <= y0 <= ys[-1]
        success[u] = ok and r2 >= 0.5 and inside
    return Table({"unit": np.arange(resp.shape[1]), **out, "peak": peak,
                  "responsive": peak > 0, "success": success})


def _fit_gaussian_2d(x, y, z, spacing):
    """Fit ``b + a exp(-r²/2σ²)``; returns ((x0, y0, σ), r2, converged) or None if flat."""
    ss_tot = float(((z - z.mean()) ** 2).sum())
    if not ss_tot > 0:
        return None
    w = np.maximum(z - z.min(), 0)
    x0, y0 = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
    var = (w * ((x - x0) ** 2 + (y - y0) ** 2)).sum() / (2 * w.sum())
    sigma0 = max(np.sqrt(var), spacing / 2)
    span = max(np.ptp(x), np.ptp(y))
    p0 = np.array([z.max() - z.min(), x0, y0, sigma0, z.min()])
    lower = np.array([0.0, x.min() - span, y.min() - span, spacing / 20, -np.inf])
    upper = np.array([np.inf, x.max() + span, y.max() + span, 2 * span, np.inf])
    p0 = np.minimum(np.maximum(p0, lower + 1e-9), upper - 1e-9)

    def resid(p):
        return p[0] * np.exp(-((x - p[1]) ** 2 + (y - p[2]) ** 2) / (2 * p[3] ** 2)) + p[4] - z

    res = least_squares(resid, p0, bounds=(lower, upper), x_scale="jac")
    r2 = 1.0 - float((res.fun ** 2).sum()) / ss_tot
    return (float(res.x[1]), float(res.x[2]), float(res.x[3])), r2, res.status > 0
