"""A spiking V1 layer in brian2: Gabor-driven LIF simple cells, Hubel–Wiesel complex cells.

:class:`SpikingV1` answers the model interface of :mod:`v1model.base` with two
layers of leaky integrate-and-fire (LIF) neurons:

``"simple"``
    One neuron per simple channel of a :class:`~v1model.v1.V1Model` at each RF
    position.  Its input is the V1 model's rectified Gabor response at that
    position (the ``"simple"`` map read at the unit's map pixel; 1 for the
    optimal unit-contrast grating), updated once per movie frame, times
    ``drive_gain`` volts.  The membrane also receives background synaptic noise
    (a diffusion approximation, standard deviation ``simple_noise``), which gives
    the spontaneous discharge.
``"complex"``
    One neuron per orientation × sf × envelope of the simple channels at each RF
    position, with excitatory synapses from every simple neuron of the same
    orientation, sf and envelope — all phases — whose position lies within
    ``pool_radius`` (Hubel & Wiesel 1962).  Phase-shifted inputs fire at different
    moments of a drifting grating's cycle, so the complex cell's discharge is
    unmodulated where each input's is modulated.

With the defaults both layers fire at ≈ 1 spike/s to a grey screen (complex
cells partly from their inputs' spontaneous spikes) and at tens of spikes/s at
the peak of their optimal drifting grating: for a full-contrast 2 Hz grating,
≈ 14 (simple) and ≈ 18 (complex) spikes/s on average over 2 s, PSTH peaks
(100 ms bins) ≈ 60 and ≈ 50 spikes/s.  Drifting gratings then give F1/F0 > 1
for simple and < 1 for complex cells (Skottun et al. 1991): medians ≈ 1.6 and
≈ 0.35 for units at the gratings' sf.  A unit the stimulus does not drive fires
only spontaneously and its F1/F0 measures the noise of a few spikes (≈ 1–1.5);
select driven units before comparing with Skottun's distribution.

Every public parameter is a plain SI number (seconds, volts, spikes/s) or a brian2
quantity of the right dimensions (``tau_m=20 * ms``; ``20 * mV`` for a time raises
``TypeError`` naming the parameter); the constructor converts quantities to SI
numbers at that one boundary (:func:`v1model._brian.as_si`), and brian2 quantities
exist only inside :mod:`v1model._brian`.

Simulation
----------
All stimuli of a call run in **one** brian2 network: both populations are
replicated once per stimulus (neurons × conditions), the drive enters through a
``TimedArray`` of shape ``(frames, stimuli × simple neurons)``, and synapses only
connect copies belonging to the same stimulus.  The integration step ``dt`` is
lowered, if needed, to divide the frame duration exactly.

Each run is seeded from the model's seed and a hash of the stimuli, so the same
model seed and the same stimuli give identical spikes on a given target,
whatever was run before.  Repeating the same stimuli therefore repeats the same
noise; for independent trials put the repeats into one batch (a protocol's
``repeat`` rows) or use models with different seeds.  brian2's global random
state, preferences and device are restored after every run.  Compiled code (the
``"cython"`` target's cache, ``"cpp_standalone"`` projects) goes to a directory
of its own per process, so several processes never share a half-written cache
(pass ``cache_dir`` to share a warm Cython cache deliberately; brian2 locks it).
With a warm cache only the code that reads the movie recompiles when the batch
shape (stimuli × frames) changes.  Runs in one process are serialised by a lock;
other brian2 code running in another thread at the same time is not protected.

The results of the last call (both layers) are cached under a hash of the
stimuli: asking for ``"complex"`` after ``"simple"`` on the same stimuli does not
simulate again.

References
----------
Hubel & Wiesel 1962, J Physiol 160:106.  Skottun et al. 1991, Vision Res 31:1079.
Stimberg, Brette & Goodman 2019, eLife 8:e47314 (brian2).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from stimuli._shared.validation import (
    as_rng,
    check_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_path,
    check_positive,
    check_real,
)
from stimuli.display import Display
from stimuli.resources import MAX_NEURON_STEPS, MAX_SIMULATION_STEPS, check_memory
from v1model._repr import model_repr_html
from v1model.base import check_layer
from v1model.cells import half_wave
from v1model.v1 import V1Model

#: Code-generation targets (see :mod:`v1model._brian`): ``"numpy"`` needs no compiler.
TARGETS = ("numpy", "cython", "cpp_standalone")
# columns of a simple channel that define its complex cell (all but phase)
_GROUP_KEYS = ("orientation", "sf", "sigma_x", "sigma_y")
# frames per call when the drive has to come from full V1 maps (normalised models)
_MAP_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True, eq=False)
class SpikeTrains:
    """Spikes of one layer for a batch of stimuli.

    Attributes
    ----------
    times : ndarray of shape (n_spikes,), float64
        Spike times in seconds from stimulus onset, in ``[0, duration)``.
    condition : ndarray of shape (n_spikes,), int64
        Index of the stimulus in the batch.
    unit : ndarray of shape (n_spikes,), int64
        Index of the neuron in the layer (see :meth:`SpikingV1.unit_info`).
    n_conditions, n_units : int
        Batch size and layer size.
    duration : float
        Length of each stimulus presentation in seconds.
    resolution : float
        Simulation step in seconds (spike times are multiples of it).

    Spikes are sorted by condition, then unit, then time.

    Examples
    --------
    >>> st = SpikeTrains(np.array([0.1, 0.3]), np.array([0, 0]), np.array([1, 1]),
    ...                  n_conditions=1, n_units=2, duration=0.5, resolution=1e-3)
    >>> st.train(0, 1).tolist()
    [0.1, 0.3]
    >>> st.counts(0.25)[0].tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """

    times: np.ndarray
    condition: np.ndarray
    unit: np.ndarray
    n_conditions: int
    n_units: int
    duration: float
    resolution: float

    def __post_init__(self) -> None:
        _check_spike_trains(self)
        order = np.lexsort((self.times, self.unit, self.condition))
        for name, dtype in (("times", np.float64), ("condition", np.int64), ("unit", np.int64)):
            arr = np.asarray(getattr(self, name), dtype=dtype)[order]
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.times.size)

    def train(self, condition: int, unit: int) -> np.ndarray:
        """Spike times (seconds, sorted) of one unit in one condition.

        Parameters
        ----------
        condition, unit : int
            Indices into the batch and the layer.

        Returns
        -------
        ndarray of shape (n,), float64

        Raises
        ------
        IndexError
            If an index is out of range.

        Examples
        --------
        >>> SpikeTrains(np.array([0.2]), np.array([0]), np.array([0]), n_conditions=1,
        ...             n_units=1, duration=1.0, resolution=1e-3).train(0, 0).tolist()
        [0.2]
        """
        if not (0 <= condition < self.n_conditions and 0 <= unit < self.n_units):
            raise IndexError(f"(condition, unit) = ({condition}, {unit}) is out of range for "
                             f"{self.n_conditions} conditions and {self.n_units} units")
        key = np.int64(condition) * self.n_units + unit
        flat = self.condition * self.n_units + self.unit
        lo, hi = np.searchsorted(flat, [key, key + 1])
        return self.times[lo:hi].copy()

    def counts(self, bin_width: float) -> np.ndarray:
        """Spike counts in consecutive bins of ``bin_width`` seconds.

        Parameters
        ----------
        bin_width : float
            Seconds; the presentation must last a whole number of bins (within
            1e-6 of a bin) and a bin at least one simulation step.

        Returns
        -------
        ndarray of shape (n_conditions, n_units, n_bins), float32
            Spikes per bin; bin ``k`` covers ``[k, k + 1) * bin_width``.

        Raises
        ------
        ValueError
            If ``bin_width`` is not positive, shorter than the simulation step, or does
            not divide the duration.

        Examples
        --------
        >>> SpikeTrains(np.array([0.2]), np.array([0]), np.array([0]), n_conditions=1,
        ...             n_units=1, duration=1.0, resolution=1e-3).counts(0.5).tolist()
        [[[1.0, 0.0]]]
        """
        n_bins = _n_bins(bin_width, self.duration, self.resolution)
        # a spike at step s stands for [s, s + 1) * resolution: bin by the step's middle
        bins = np.floor((self.times + 0.5 * self.resolution) / bin_width).astype(np.int64)
        bins = np.minimum(bins, n_bins - 1)  # the last step's middle can round past the end
        flat = (self.condition * self.n_units + self.unit) * n_bins + bins
        size = self.n_conditions * self.n_units * n_bins
        counts = np.bincount(flat, minlength=size).astype(np.float32)
        return counts.reshape(self.n_conditions, self.n_units, n_bins)

    def rates(self) -> np.ndarray:
        """Mean firing rate per condition and unit over the whole presentation.

        Returns
        -------
        ndarray of shape (n_conditions, n_units), float64
            Spikes per second.

        Examples
        --------
        >>> SpikeTrains(np.array([0.2]), np.array([0]), np.array([0]), n_conditions=1,
        ...             n_units=1, duration=0.5, resolution=1e-3).rates().tolist()
        [[2.0]]
        """
        flat = self.condition * self.n_units + self.unit
        counts = np.bincount(flat, minlength=self.n_conditions * self.n_units)
        return counts.reshape(self.n_conditions, self.n_units) / self.duration


def _check_spike_trains(st: SpikeTrains) -> None:
    """Validate (and normalise in place) the fields of a new SpikeTrains."""
    n_conditions = check_int("n_conditions", st.n_conditions, minimum=1)
    n_units = check_int("n_units", st.n_units, minimum=1)
    duration = check_positive("duration", st.duration)
    resolution = check_positive("resolution", st.resolution)
    times = check_array("times", st.times, ndim=1, shape_doc="(n_spikes,)", nonempty=False,
                        dtype=np.float64)
    for name in ("condition", "unit"):
        arr = check_array(name, getattr(st, name), ndim=1, shape_doc="(n_spikes,)",
                          nonempty=False)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integer indices, got dtype {arr.dtype}")
        if arr.shape != times.shape:
            raise ValueError(f"{name} must have one entry per spike time (times has shape "
                             f"{times.shape}), got {arr.shape}")
        bound = n_conditions if name == "condition" else n_units
        if arr.size and (arr.min() < 0 or arr.max() >= bound):
            raise ValueError(f"{name} must be in [0, {bound}), got values in "
                             f"[{arr.min()}, {arr.max()}]")
    if times.size and (times.min() < 0 or times.max() > duration):
        raise ValueError(f"times must be in [0, duration={duration:g}] s, got values in "
                         f"[{times.min():g}, {times.max():g}]")
    for name, value in (("n_conditions", n_conditions), ("n_units", n_units),
                        ("duration", duration), ("resolution", resolution), ("times", times)):
        object.__setattr__(st, name, value)


#: Smallest integration step accepted, in seconds.
MIN_DT = 1e-6


def _check_simulation_size(n: int, steps: int, n_frames: int, n_simple: int, n_complex: int,
                           sim_dt: float) -> None:
    """Refuse runs that cannot finish or fit before brian2 allocates anything."""
    neurons = n * (n_simple + n_complex)
    if steps > MAX_SIMULATION_STEPS:
        raise ValueError(f"the simulation would take {steps} steps of {sim_dt:g} s, more than "
                         f"{MAX_SIMULATION_STEPS} (stimuli.resources.MAX_SIMULATION_STEPS): "
                         f"shorten the stimuli or raise dt")
    if float(steps) * neurons > MAX_NEURON_STEPS:
        raise ValueError(f"the simulation would take {steps} steps x {neurons} neurons, more than "
                         f"{MAX_NEURON_STEPS:g} neuron-steps (stimuli.resources.MAX_NEURON_STEPS):"
                         f" simulate fewer stimuli per batch, fewer units, or raise dt")
    # the drive as float32, float64 and brian2's copy, plus per-neuron state
    check_memory(f"a spiking simulation of {n} stimuli x {n_frames} frames x {n_simple} simple "
                 f"neurons", 20.0 * n * n_frames * n_simple + 200.0 * neurons,
                 "simulate fewer stimuli per batch (batch_size) or shorter stimuli")


class SpikingV1:
    """LIF simple cells driven by a V1 model's Gabor filters and spiking complex cells.

    See the module docstring for the wiring.  Simple neurons follow

        τ_m dv/dt = v_rest − v + drive_gain · d(t) + simple_noise · √(2 τ_m) · ξ(t)

    with ``d(t)`` the V1 model's rectified simple-cell response at the unit's
    position to the current frame; complex neurons follow the same equation without
    ``d(t)`` (noise ``complex_noise``) and jump by ``complex_weight / k`` volts at
    each spike of one of their ``k`` simple inputs.  A neuron fires when ``v``
    exceeds ``v_threshold``, is reset to ``v_reset`` and held for ``refractory``.

    Times (``dt``, ``tau_m``, ``refractory``, ``static_duration``, ``bin_width``) and
    voltages (``v_*``, ``drive_gain``, the noises, ``complex_weight``) are plain
    numbers in seconds and volts, or brian2 quantities of those dimensions
    (``tau_m=20 * ms``, ``v_rest=-70 * mV``); a quantity of other dimensions raises
    ``TypeError`` naming the parameter.

    Parameters
    ----------
    display : Display
        The screen; stimuli must have its shape and movies its ``frame_rate``.
    v1 : V1Model or mapping, optional
        The rate model whose simple cells provide the drive, or keyword arguments
        for :class:`~v1model.v1.V1Model` (default: ``V1Model(display)``, the fitted
        macaque population).  Its display must be ``display``.  With the macaque
        population every neuron (simple and complex) is driven by its own V1 unit's
        normalised response, and the F1/F0 split comes from the units' simple →
        complex continuum.  With a grid or a table, complex neurons pool simple
        neurons (Hubel–Wiesel wiring), so every (orientation, sf, envelope) must come
        in at least two phases.
    positions : array_like of shape (k, 2), optional
        RF centres ``(x, y)`` in degrees; each snaps to the nearest position of the
        V1 model's map (ties to the first row / column, like
        :func:`analysis.runner.run_protocol`'s ``"centre"``).  Default ``[(0, 0)]``:
        one position at the display centre.
    pool_radius : float, optional
        Degrees: a complex cell pools the simple cells of its channel whose positions
        lie within this distance of its own.  Default: half a carrier period,
        ``0.5 / sf``, per channel.
    target : {"numpy", "cython", "cpp_standalone"}
        brian2 code-generation target.  ``"numpy"`` (default) needs no compiler;
        ``"cython"`` compiles every code object once per cache directory;
        ``"cpp_standalone"`` compiles a whole project on every call.
    dt : float
        Upper bound on the integration step in seconds (default 0.5 ms); the step
        used, :attr:`sim_dt`, is the largest that divides the frame duration.
    tau_m : float
        Membrane time constant in seconds (default 20 ms).
    refractory : float
        Absolute refractory period in seconds (default 2 ms).
    v_rest, v_reset, v_threshold : float
        Resting, reset and threshold potentials in volts (defaults −70, −60, −50 mV);
        ``v_reset`` and ``v_rest`` must lie below ``v_threshold``.
    drive_gain : float
        Volts of depolarisation per unit of Gabor drive (default 30 mV): the
        optimal unit-contrast grating drives a simple cell 10 mV above threshold at
        the peak of its cycle.
    simple_noise, complex_noise : float
        Standard deviation in volts of the free membrane potential produced by
        background synaptic input (defaults 7.5 and 6.7 mV), which sets the
        spontaneous rate: ≈ 1 spike/s in both layers.
    complex_weight : float
        Summed size in volts of the jumps a complex cell receives when each of its
        ``k`` simple inputs fires once (each synapse is ``complex_weight / k``;
        default 40 mV).
    static_duration : float
        Seconds each static image is shown for (default 0.5 s), at least one frame.
    bin_width : float, optional
        Width in seconds of the time bins of :meth:`responses` (:attr:`time_step`);
        default one frame, ``1 / display.frame_rate``.
    cache_dir : str, optional
        Directory for compiled code (``"cython"``, ``"cpp_standalone"``); default a
        per-process directory under the system temporary directory.
    rng : None, int or numpy.random.Generator
        Seed of the network's noise and initial potentials (see the module
        docstring).  ``None`` draws a fresh seed.

    Attributes
    ----------
    layers : tuple of str
        ``("simple", "complex")``.
    temporal : bool
        True: the model takes movies ``(n, frames, rows, cols)``.
    v1 : V1Model
        The rate model providing the drive.
    sim_dt : float
        Integration step in seconds.
    seed : int
        Base seed of the runs.

    Raises
    ------
    TypeError
        If ``display`` or ``v1`` has the wrong type.
    ValueError
        For out-of-range parameters, a V1 model on another display, a channel with a
        single phase, positions off the display or snapping to the same map pixel,
        or durations (``static_duration``, ``bin_width``) shorter than a frame or a
        step.

    Examples
    --------
    >>> from stimuli.display import Display
    >>> model = SpikingV1(Display((32, 32), 16), v1={"population": "grid", "orientations": [0, 90],
    ...                                            "sfs": [2]},
    ...                   static_duration=0.1, rng=0)
    >>> model.n_units("simple"), model.n_units("complex")
    (8, 2)
    >>> model.responses(np.zeros((3, 32, 32)), "complex").shape  # 6 frames of 1/60 s
    (3, 2, 6)
    """

    layers = ("simple", "complex")
    temporal = True
    _repr_html_ = model_repr_html

    def __init__(
        self,
        display: Display,
        *,
        v1: V1Model | Mapping[str, Any] | None = None,
        positions: Any = None,
        pool_radius: float | None = None,
        target: str = "numpy",
        dt: float = 5e-4,
        tau_m: float = 0.02,
        refractory: float = 0.002,
        v_rest: float = -0.070,
        v_reset: float = -0.060,
        v_threshold: float = -0.050,
        drive_gain: float = 0.030,
        simple_noise: float = 0.0075,
        complex_noise: float = 0.0067,
        complex_weight: float = 0.040,
        static_duration: float = 0.5,
        bin_width: float | None = None,
        cache_dir: str | None = None,
        rng: None | int | np.random.Generator = None,
    ):
        if not isinstance(display, Display):
            raise TypeError(f"display must be a stimuli.display.Display, got {type(display)}")
        # the unit boundary: brian2 quantities (20*ms) become plain SI numbers here
        if any(type(v).__module__.startswith("brian2") for v in (
                dt, tau_m, refractory, v_rest, v_reset, v_threshold, drive_gain, simple_noise,
                complex_noise, complex_weight, static_duration, bin_width)):
            from v1model._brian import as_si
            dt, tau_m, refractory, static_duration, bin_width = (
                as_si(k, v, "second") for k, v in (
                    ("dt", dt), ("tau_m", tau_m), ("refractory", refractory),
                    ("static_duration", static_duration), ("bin_width", bin_width)))
            v_rest, v_reset, v_threshold, drive_gain, simple_noise, complex_noise, \
                complex_weight = (as_si(k, v, "volt") for k, v in (
                    ("v_rest", v_rest), ("v_reset", v_reset), ("v_threshold", v_threshold),
                    ("drive_gain", drive_gain), ("simple_noise", simple_noise),
                    ("complex_noise", complex_noise), ("complex_weight", complex_weight)))
        self.display = display
        self.v1 = _v1_model(display, v1)
        self.target = check_choice("target", target, TARGETS)
        frame_dt = 1.0 / display.frame_rate
        dt = check_positive("dt", dt)
        if dt < MIN_DT:
            raise ValueError(f"dt must be at least {MIN_DT:g} s (the membrane time constants are "
                             f"milliseconds), got {dt:g}")
        self.steps_per_frame = max(1, math.ceil(frame_dt / dt - 1e-9))
        self.sim_dt = frame_dt / self.steps_per_frame
        self.tau_m = check_positive("tau_m", tau_m)
        self.refractory = check_nonnegative("refractory", refractory)
        self.v_threshold = check_real("v_threshold", v_threshold)
        self.v_rest = _below("v_rest", v_rest, self.v_threshold)
        self.v_reset = _below("v_reset", v_reset, self.v_threshold)
        self.drive_gain = check_positive("drive_gain", drive_gain)
        self.simple_noise = check_nonnegative("simple_noise", simple_noise)
        self.complex_noise = check_nonnegative("complex_noise", complex_noise)
        self.complex_weight = check_positive("complex_weight", complex_weight)
        self.static_duration = _at_least_a_frame("static_duration", static_duration, display)
        if bin_width is None:
            bin_width = frame_dt
        self.bin_width = check_positive("bin_width", bin_width)
        if self.bin_width < self.sim_dt * (1 - 1e-9):
            raise ValueError(f"bin_width must be at least one simulation step ({self.sim_dt:g} s), "
                             f"got {self.bin_width}")
        self.cache_dir = None if cache_dir is None else check_path("cache_dir", cache_dir)
        self.seed = int(as_rng(rng).integers(2**62))
        self._pool_radius = None if pool_radius is None else check_positive("pool_radius",
                                                                            pool_radius)
        self._build_units(positions)
        self._cache: tuple[bytes, dict[str, SpikeTrains]] | None = None

    # ------------------------------------------------------------------ units
    def _build_units(self, positions: Any) -> None:
        display = self.display
        if positions is None:
            positions = [(0.0, 0.0)]
        pos = check_array("positions", positions, ndim=2, shape_doc="(k, 2)", dtype=np.float64)
        if pos.shape[1] != 2:
            raise ValueError(f"positions must have shape (k, 2), got {pos.shape}")
        height, width = display.size_degrees
        off = (np.abs(pos[:, 0]) > width / 2) | (np.abs(pos[:, 1]) > height / 2)
        if np.any(off):
            raise ValueError(f"positions must lie on the display (|x| <= {width / 2:g}, |y| <= "
                             f"{height / 2:g} deg), got {pos[off][0].tolist()}")
        map_x, map_y = self.v1.map_coordinates("simple")
        cols = np.argmin(np.abs(map_x[None, :] - pos[:, :1]), axis=1)
        rows = np.argmin(np.abs(map_y[None, :] - pos[:, 1:]), axis=1)
        if len({(r, c) for r, c in zip(rows, cols, strict=True)}) < len(pos):
            raise ValueError("positions must snap to distinct positions of the V1 model's map; "
                             "two of them share the nearest map pixel")
        self._map_rows, self._map_cols = rows, cols
        self._x, self._y = map_x[cols], map_y[rows]
        self._pixels = np.array([display.position_to_pixel(x, y) for x, y in
                                 zip(self._x, self._y, strict=True)]).round().astype(int)

        if self.v1.source == "macaque":
            self._build_driven_units(len(pos))
            return
        self._n_driven = None
        channels = self.v1.unit_info("simple")
        n_channels, n_pos = len(channels["phase"]), len(pos)
        keys = np.stack([channels[k] for k in _GROUP_KEYS], axis=1)
        _, first, group_of = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        group_of = group_of.ravel()
        order = np.argsort(first)          # complex channels in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        group_of = rank[group_of]
        first = first[order]
        n_groups = len(first)
        for g in range(n_groups):
            phases = np.unique(channels["phase"][group_of == g])
            if phases.size < 2:
                row = {k: float(channels[k][first[g]]) for k in ("orientation", "sf")}
                raise ValueError(
                    f"complex cells pool simple cells of several phases, but the V1 model has "
                    f"a single phase ({phases[0]:g} deg) for orientation {row['orientation']:g} "
                    f"deg, sf {row['sf']:g} c/deg; give it at least two phases")

        # simple units: position-major, then the V1 model's channel order
        simple = {k: np.tile(np.asarray(v, dtype=np.float64), n_pos) for k, v in channels.items()}
        simple.update(channel=np.tile(np.arange(n_channels), n_pos),
                      position=np.repeat(np.arange(n_pos), n_channels),
                      x=np.repeat(self._x, n_channels), y=np.repeat(self._y, n_channels))
        # complex units: position-major, then group; synapses from the group's simple units
        sf = channels["sf"][first]
        radius = 0.5 / sf if self._pool_radius is None else np.full(n_groups, self._pool_radius)
        distance = np.hypot(self._x[:, None] - self._x[None, :],
                            self._y[:, None] - self._y[None, :])
        pre, post, n_inputs, reach = [], [], [], []
        for p in range(n_pos):
            for g in range(n_groups):
                near = np.flatnonzero(distance[p] <= radius[g] + 1e-9)
                members = np.flatnonzero(group_of == g)
                sources = (near[:, None] * n_channels + members[None, :]).ravel()
                pre.append(sources)
                post.append(np.full(sources.size, p * n_groups + g))
                n_inputs.append(sources.size)
                reach.append(distance[p, near].max())
        self._pre = np.concatenate(pre).astype(np.int64)
        self._post = np.concatenate(post).astype(np.int64)
        n_inputs = np.array(n_inputs)
        self._weight = self.complex_weight / n_inputs[self._post]
        complex_ = {k: np.tile(np.asarray(channels[k], dtype=np.float64)[first], n_pos)
                    for k in channels if k != "phase"}
        complex_["rf_size"] = complex_["rf_size"] + 2.0 * np.array(reach)
        complex_.update(group=np.tile(np.arange(n_groups), n_pos),
                        position=np.repeat(np.arange(n_pos), n_groups),
                        x=np.repeat(self._x, n_groups), y=np.repeat(self._y, n_groups),
                        n_inputs=n_inputs)
        self._info = {"simple": simple, "complex": complex_}

    def _build_driven_units(self, n_pos: int) -> None:
        """Macaque front end: one LIF neuron per V1 unit and position, every one driven.

        The V1 model's units already span the simple → complex continuum (their
        responses carry the F1/F0 split), so each layer's neurons are driven by their
        own units' normalised responses; no pooling synapses.  In the brian2 network
        they form the driven group (simple-layer neurons first, then complex-layer
        ones); :mod:`v1model._brian` always builds a second, synapse-driven group,
        which here is a single placeholder neuron (with one zero-weight synapse, as
        brian2 requires) whose spikes are discarded.
        """
        info = {}
        self._driven_units = {}
        for layer in self.layers:
            units = self.v1.unit_info(layer)
            n = len(units["sf"])
            layer_info = {k: np.tile(np.asarray(v, dtype=np.float64), n_pos)
                          for k, v in units.items()}
            layer_info.update(channel=np.tile(np.arange(n), n_pos),
                              position=np.repeat(np.arange(n_pos), n),
                              x=np.repeat(self._x, n), y=np.repeat(self._y, n))
            info[layer] = layer_info
            self._driven_units[layer] = self.v1._layer_units[layer]
        self._info = info
        self._n_driven = self.n_units("simple") + self.n_units("complex")
        # brian2 refuses a Synapses object without synapses: one zero-weight synapse
        self._pre = np.zeros(1, dtype=np.int64)
        self._post = np.zeros(1, dtype=np.int64)
        self._weight = np.zeros(1)

    def n_units(self, layer: str) -> int:
        """Number of neurons of ``layer`` (per stimulus)."""
        check_layer(self, layer)
        return len(self._info[layer]["x"])

    def unit_info(self, layer: str) -> dict[str, np.ndarray]:
        """Per-neuron ground truth of ``layer``.

        Parameters
        ----------
        layer : {"simple", "complex"}
            Which layer.

        Returns
        -------
        dict of str to ndarray of shape (units,)
            The V1 model's channel metadata — ``orientation`` (deg), ``sf`` (c/deg),
            ``sigma_x``, ``sigma_y`` (deg), ``nx``, ``ny`` (cycles), ``rf_size``
            (deg), and ``phase`` (deg) for simple cells — plus ``x``, ``y`` (RF
            centre, deg) and ``position`` (index into the positions).  Simple cells
            add ``channel`` (the V1 simple channel); complex cells ``group`` (the
            orientation × sf × envelope index) and ``n_inputs`` (simple neurons
            pooled); their ``rf_size`` grows by twice the farthest pooled position.

        Raises
        ------
        ValueError
            For an unknown layer.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = SpikingV1(Display((32, 32), 16), v1={"population": "grid",
        ...                   "orientations": [0], "sfs": [2]})
        >>> model.unit_info("complex")["n_inputs"].tolist()
        [4]
        """
        check_layer(self, layer)
        return {k: v.copy() for k, v in self._info[layer].items()}

    @property
    def last_spikes(self) -> dict[str, SpikeTrains] | None:
        """Spike trains of both layers from the last simulation (None before the first).

        After :func:`analysis.runner.run_protocol` these are the last batch's (the
        whole protocol when it fits in one batch); the conditions index that batch.
        """
        return None if self._cache is None else dict(self._cache[1])

    @property
    def time_step(self) -> float:
        """Width in seconds of the time bins of :meth:`responses`."""
        return self.bin_width

    @property
    def params(self) -> dict[str, Any]:
        """JSON-able configuration for recording metadata (SI units)."""
        return {
            "model": type(self).__name__,
            "v1": self.v1.params,
            "positions": np.stack([self._x, self._y], axis=1).tolist(),
            "pool_radius": self._pool_radius,
            "n_simple": self.n_units("simple"),
            "n_complex": self.n_units("complex"),
            "target": self.target,
            "sim_dt": self.sim_dt,
            "tau_m": self.tau_m,
            "refractory": self.refractory,
            "v_rest": self.v_rest,
            "v_reset": self.v_reset,
            "v_threshold": self.v_threshold,
            "drive_gain": self.drive_gain,
            "simple_noise": self.simple_noise,
            "complex_noise": self.complex_noise,
            "complex_weight": self.complex_weight,
            "static_duration": self.static_duration,
            "bin_width": self.bin_width,
            "seed": self.seed,
        }

    def __repr__(self) -> str:
        return (f"SpikingV1({self.n_units('simple')} simple, {self.n_units('complex')} complex "
                f"LIF neurons at {len(self._x)} position(s); target {self.target!r}, "
                f"dt {self.sim_dt * 1e3:.3g} ms, bins {self.bin_width * 1e3:.3g} ms)")

    # ------------------------------------------------------------------ stimuli
    def _movies(self, stimuli: Any, frame_rate: float | None) -> tuple[np.ndarray, bool]:
        """Validated float32 movies or images and whether they are movies."""
        arr = check_array("stimuli", stimuli, ndim=(3, 4),
                          shape_doc="(n, frames, rows, cols) or (n, rows, cols)",
                          dtype=np.float32)
        if arr.shape[-2:] != self.display.shape:
            raise ValueError(f"stimuli must have frames of shape {self.display.shape} to match "
                             f"the display, got {arr.shape}")
        is_movie = arr.ndim == 4
        if frame_rate is not None:
            if not is_movie:
                raise ValueError("frame_rate applies to movies (n, frames, rows, cols) only; "
                                 "static images are shown for static_duration")
            rate = check_positive("frame_rate", frame_rate)
            if not np.isclose(rate, self.display.frame_rate):
                raise ValueError(f"frame_rate must match the display's {self.display.frame_rate:g} "
                                 f"frames/s, got {rate:g}; resample the movie")
        return np.ascontiguousarray(arr), is_movie

    def drive(self, stimuli: Any, *, frame_rate: float | None = None) -> np.ndarray:
        """The simple neurons' dimensionless input: the V1 model's rectified Gabor responses.

        Parameters
        ----------
        stimuli : array_like of shape (n, frames, rows, cols) or (n, rows, cols)
            Movies at ``display.frame_rate``, or static images (each shown for
            ``static_duration``), in contrast units.
        frame_rate : float, optional
            Frames per second of the movies; if given it must equal the display's.

        Returns
        -------
        ndarray of shape (n, frames, n_simple), float32
            The V1 model's ``"simple"`` response at each neuron's map position to
            each frame (1 for the optimal unit-contrast grating).

        Raises
        ------
        ValueError
            If the stimuli have the wrong shape, are empty or not finite, the frame
            rate differs from the display's, or the drive is not finite.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = SpikingV1(Display((32, 32), 16), v1={"population": "grid",
        ...                   "orientations": [0], "sfs": [2]},
        ...                   static_duration=0.05)
        >>> model.drive(np.zeros((2, 32, 32))).shape
        (2, 3, 4)
        """
        arr, is_movie = self._movies(stimuli, frame_rate)
        return self._drive(arr, is_movie)

    @property
    def n_driven(self) -> int:
        """Neurons driven by the V1 model (the last axis of :meth:`drive`): the simple
        neurons, or with a macaque V1 model every neuron (simple, then complex)."""
        return self.n_units("simple") if self._n_driven is None else self._n_driven

    def _drive(self, arr: np.ndarray, is_movie: bool) -> np.ndarray:
        frames = arr.reshape(-1, *self.display.shape)
        values = self._frame_drive(frames).reshape(arr.shape[0], -1, self.n_driven)
        if not is_movie:
            values = np.repeat(values, self.display.n_frames(self.static_duration), axis=1)
        _check_drive("drive", values)
        return values

    def _frame_drive(self, frames: np.ndarray) -> np.ndarray:
        """``(n_frames, n_driven)`` drive, read at the map positions of the V1 model.

        Each distinct frame is filtered once: a frame's drive depends on that frame
        alone, and movies repeat frames (a drifting grating every temporal period), so
        repeats are copied from their first occurrence (bit-identical: the distinct
        frames go through in their original order).
        """
        seen: dict[bytes, int] = {}
        inverse = np.empty(len(frames), dtype=np.intp)
        keep = []                                   # first occurrence of each distinct frame
        for i, frame in enumerate(frames):
            k = seen.setdefault(frame.tobytes(), len(keep))
            if k == len(keep):
                keep.append(i)
            inverse[i] = k
        if len(keep) == len(frames):
            return self._distinct_frame_drive(frames)
        return self._distinct_frame_drive(frames[keep])[inverse]

    def _distinct_frame_drive(self, frames: np.ndarray) -> np.ndarray:
        if self._n_driven is not None:
            # the macaque front end at the neurons' pixels: normalised responses (the
            # output stage's spikes/s are the LIF neurons' job)
            rates = self.v1._macaque_rates(
                np.ascontiguousarray(frames, dtype=np.float32), self._pixels[:, 0],
                self._pixels[:, 1], grid=False, output=False)      # (n, units, positions)
            parts = [rates[:, self._driven_units[layer]].transpose(0, 2, 1).reshape(
                len(frames), -1) for layer in self.layers]
            return np.concatenate(parts, axis=1).astype(np.float32)
        if self.v1.normalization is None:
            linear = self._linear(frames)
            return half_wave(linear, **self.v1.simple_nonlinearity).astype(np.float32)
        # normalisation pools all channels of a position: take the V1 model's own maps
        n_channels = self.v1.n_channels("simple")
        map_x, map_y = self.v1.map_coordinates("simple")
        per_frame = 4 * n_channels * len(map_x) * len(map_y)
        chunk = max(1, _MAP_CHUNK_BYTES // per_frame)
        out = np.empty((len(frames), len(self._x), n_channels), dtype=np.float32)
        for start in range(0, len(frames), chunk):
            maps = self.v1.responses(frames[start:start + chunk], "simple")
            out[start:start + chunk] = maps[:, :, self._map_rows, self._map_cols].transpose(0, 2, 1)
        return out.reshape(len(frames), -1)

    def _linear(self, frames: np.ndarray) -> np.ndarray:
        """Linear Gabor responses ``(n_frames, positions · channels)`` at the units' pixels.

        The V1 model's filters read at those pixels only
        (:meth:`v1model.gabor.GaborBank.at`), for a cost proportional to the number of
        units rather than to the number of pixels.
        """
        linear = self.v1.bank.at(frames, self._pixels[:, 0], self._pixels[:, 1], grid=False)
        simple = self.v1._simple_linear(linear)                  # (n, channels, positions)
        return np.ascontiguousarray(simple.transpose(0, 2, 1)).reshape(len(frames), -1)

    # ------------------------------------------------------------------ simulation
    def simulate(self, drive: Any) -> dict[str, SpikeTrains]:
        """Run both layers on a given drive (one network for the whole batch).

        Parameters
        ----------
        drive : array_like of shape (n, frames, n_simple)
            Dimensionless input of each simple neuron per frame of
            ``1 / display.frame_rate`` seconds (e.g. from :meth:`drive`); multiplied
            by ``drive_gain`` volts.

        Returns
        -------
        dict
            ``{"simple": SpikeTrains, "complex": SpikeTrains}``.

        Raises
        ------
        ValueError
            If the drive has the wrong shape, is empty, holds NaN or infinite values,
            or does not last a whole number of time bins.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = SpikingV1(Display((32, 32), 16), v1={"population": "grid",
        ...                   "orientations": [0], "sfs": [2]},
        ...                   rng=1)
        >>> spikes = model.simulate(np.zeros((1, 6, 4)))
        >>> spikes["complex"].duration
        0.1
        """
        n_simple = self.n_driven
        _check_drive("drive", drive)
        values = np.asarray(drive, dtype=np.float32)
        if values.ndim != 3 or values.shape[2] != n_simple:
            raise ValueError(f"drive must have shape (n, frames, {n_simple}), got {values.shape}")
        return self._run(np.ascontiguousarray(values), _digest(values, b"drive"))

    def _run(self, drive: np.ndarray, key: bytes) -> dict[str, SpikeTrains]:
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        from v1model import _brian  # brian2 loads on the first simulation only

        n, n_frames, n_simple = drive.shape
        # macaque front end: no pooled group, one unconnected placeholder (see
        # _build_driven_units)
        n_complex = self.n_units("complex") if self._n_driven is None else 1
        duration = n_frames / self.display.frame_rate
        _check_simulation_size(n, n_frames * self.steps_per_frame, n_frames,
                               n_simple, n_complex, self.sim_dt)
        _n_bins(self.bin_width, duration, self.sim_dt)
        # replicate the populations once per stimulus; synapses stay within a stimulus
        offsets = np.arange(n)[:, None]
        pre = (offsets * n_simple + self._pre[None, :]).ravel()
        post = (offsets * n_complex + self._post[None, :]).ravel()
        weight = np.tile(self._weight, n)
        params = _brian.NeuronParameters(
            tau_m=self.tau_m, refractory=self.refractory, v_rest=self.v_rest,
            v_reset=self.v_reset, v_threshold=self.v_threshold, drive_gain=self.drive_gain,
            simple_noise=self.simple_noise, complex_noise=self.complex_noise)
        seed = int.from_bytes(hashlib.sha256(self.seed.to_bytes(8, "little") + key).digest()[:4],
                              "little") & 0x7FFFFFFF
        frames_by_neuron = drive.transpose(1, 0, 2).reshape(n_frames, n * n_simple)
        spikes = _brian.simulate(drive=frames_by_neuron.astype(np.float64),
                                 frame_dt=1.0 / self.display.frame_rate,
                                 steps_per_frame=self.steps_per_frame, n_complex=n * n_complex,
                                 pre=pre, post=post, weight=weight, params=params,
                                 target=self.target, seed=seed, cache_dir=self.cache_dir)
        result = {}
        if self._n_driven is not None:
            index, times = spikes[0]
            condition, unit = index // n_simple, index % n_simple
            n_s = self.n_units("simple")
            for layer, lo, size in (("simple", 0, n_s),
                                    ("complex", n_s, self.n_units("complex"))):
                keep = (unit >= lo) & (unit < lo + size)
                result[layer] = SpikeTrains(times[keep], condition[keep], unit[keep] - lo,
                                            n_conditions=n, n_units=size, duration=duration,
                                            resolution=self.sim_dt)
            self._cache = (key, result)
            return result
        for layer, size, (index, times) in zip(self.layers, (n_simple, n_complex), spikes,
                                               strict=True):
            result[layer] = SpikeTrains(times, index // size, index % size, n_conditions=n,
                                        n_units=size, duration=duration,
                                        resolution=self.sim_dt)
        self._cache = (key, result)
        return result

    def spike_trains(self, stimuli: Any, layer: str, *,
                     frame_rate: float | None = None) -> SpikeTrains:
        """Spike times of ``layer`` for every stimulus and unit (one network run per batch).

        Parameters
        ----------
        stimuli : array_like of shape (n, frames, rows, cols) or (n, rows, cols)
            Movies at ``display.frame_rate`` or static images (each shown for
            ``static_duration`` seconds), in contrast units.
        layer : {"simple", "complex"}
            Which layer.
        frame_rate : float, optional
            Frames per second of the movies; if given it must equal the display's.

        Returns
        -------
        SpikeTrains
            ``condition`` indexes the stimuli, ``unit`` the layer's neurons.

        Raises
        ------
        ValueError
            For an unknown layer, stimuli of the wrong shape, empty or not finite, a
            frame rate other than the display's, a non-finite drive, or a duration
            that is not a whole number of time bins.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = SpikingV1(Display((32, 32), 16), v1={"population": "grid",
        ...                   "orientations": [0], "sfs": [2]},
        ...                   static_duration=0.1, rng=0)
        >>> st = model.spike_trains(np.zeros((2, 32, 32)), "simple")
        >>> st.n_conditions, st.n_units, st.duration
        (2, 4, 0.1)
        """
        check_layer(self, layer)
        arr, is_movie = self._movies(stimuli, frame_rate)
        key = _digest(arr, b"movie" if is_movie else b"image")
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1][layer]
        return self._run(self._drive(arr, is_movie), key)[layer]

    def responses(self, stimuli: Any, layer: str, *,
                  frame_rate: float | None = None) -> np.ndarray:
        """Binned spike counts of ``layer``: ``(n, units, time_bins)``.

        Parameters
        ----------
        stimuli : array_like of shape (n, frames, rows, cols) or (n, rows, cols)
            Movies at ``display.frame_rate`` or static images (each shown for
            ``static_duration`` seconds), in contrast units.
        layer : {"simple", "complex"}
            Which layer.
        frame_rate : float, optional
            Frames per second of the movies; if given it must equal the display's.

        Returns
        -------
        ndarray of shape (n, units, time_bins), float32
            Spike **counts** in consecutive bins of :attr:`time_step` seconds (divide
            by ``time_step`` for rates in spikes/s); ``time_bins = duration /
            time_step``.

        Raises
        ------
        ValueError
            See :meth:`spike_trains`.

        Examples
        --------
        >>> from stimuli.display import Display
        >>> model = SpikingV1(Display((32, 32), 16), v1={"population": "grid",
        ...                   "orientations": [0], "sfs": [2]},
        ...                   static_duration=0.1, rng=0)
        >>> model.responses(np.zeros((2, 6, 32, 32)), "simple", frame_rate=60).shape
        (2, 4, 6)
        """
        return self.spike_trains(stimuli, layer, frame_rate=frame_rate).counts(self.bin_width)


def _v1_model(display: Display, v1: Any) -> V1Model:
    if v1 is None:
        return V1Model(display)
    if isinstance(v1, Mapping):
        return V1Model(display, **v1)
    if not isinstance(v1, V1Model):
        raise TypeError(f"v1 must be a V1Model or a mapping of its parameters, got {type(v1)}")
    same = (tuple(v1.display.shape) == tuple(display.shape)
            and np.isclose(v1.display.pixels_per_degree, display.pixels_per_degree))
    if not same:
        raise ValueError(f"v1 must be built on the same display: its display is "
                         f"{v1.display.shape} at {v1.display.pixels_per_degree:g} px/deg, this "
                         f"one {display.shape} at {display.pixels_per_degree:g} px/deg")
    return v1


def _below(name: str, value: Any, threshold: float) -> float:
    value = check_real(name, value)
    if value >= threshold:
        raise ValueError(f"{name} must be below v_threshold ({threshold} V), got {value}")
    return value


def _at_least_a_frame(name: str, value: Any, display: Display) -> float:
    value = check_positive(name, value)
    if value * display.frame_rate < 1 - 1e-9:
        raise ValueError(f"{name} must last at least one frame (1/{display.frame_rate:g} s), "
                         f"got {value}")
    return value


def _check_drive(name: str, drive: Any) -> None:
    arr = np.asarray(drive)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    finite = np.isfinite(arr)
    if not np.all(finite):
        raise ValueError(f"{name} must be finite, got {int(arr.size - finite.sum())} NaN or "
                         f"infinite value(s)")


def _n_bins(bin_width: float, duration: float, resolution: float) -> int:
    bin_width = check_positive("bin_width", bin_width)
    if bin_width < resolution * (1 - 1e-9):
        raise ValueError(f"bin_width must be at least one simulation step ({resolution:g} s), "
                         f"got {bin_width}")
    n_bins = round(duration / bin_width)
    if n_bins < 1 or abs(n_bins * bin_width - duration) > 1e-6 * bin_width:
        raise ValueError(f"the stimulus ({duration:g} s) must last a whole number of time bins of "
                         f"{bin_width:g} s")
    return n_bins


def _digest(arr: np.ndarray, kind: bytes) -> bytes:
    h = hashlib.sha256(kind)
    h.update(str((arr.shape, arr.dtype.str)).encode())
    h.update(np.ascontiguousarray(arr).data)
    return h.digest()
