"""The brian2 boundary of the spiking V1 layer (private; see :mod:`v1model.spiking`).

Everything that touches brian2 lives here, so brian2's units never leak into the
rest of the package:

* :func:`to_brian` / :func:`from_brian` — the one unit boundary: plain SI floats
  (seconds, volts, hertz, dimensionless) to brian2 quantities and back;
* :func:`simulate` — build one :class:`brian2.Network` from explicit objects
  (never the "magic" network), run it once on the chosen code-generation target,
  and return the spikes as plain numpy arrays.

brian2 keeps global state: preferences (the code-generation target, the Cython
cache directory), the active device and the random number generator.
:func:`simulate` changes them only inside a module-wide lock and restores them
before returning, so a run neither depends on nor leaks into other brian2 code
in the process (other *threads* running brian2 at the same moment are not
protected: brian2 itself is not thread-safe).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import brian2
import numpy as np
from brian2 import (
    Clock,
    Hz,
    NeuronGroup,
    SpikeMonitor,
    Synapses,
    TimedArray,
    get_device,
    prefs,
    second,
    set_device,
    volt,
)
from brian2.devices.device import reset_device, runtime_device
from brian2.units.fundamentalunits import (
    DimensionMismatchError,
    Quantity,
    fail_for_dimension_mismatch,
)

#: Code-generation targets: numpy needs no compiler; cython compiles each code
#: object once into a cache; cpp_standalone compiles a whole project per run.
TARGETS = ("numpy", "cython", "cpp_standalone")

#: SI unit names accepted by :func:`to_brian` / :func:`from_brian`.
_UNITS = {"second": second, "volt": volt, "hertz": Hz, "1": 1.0}

# brian2 preferences, the active device and the random state are process-global
_LOCK = threading.RLock()


def _not_our_abandoned_object(record: logging.LogRecord) -> bool:
    """Drop brian2's "never included in a network" warning for this module's objects.

    A Ctrl-C (or an error) while :func:`_build` creates the network leaves objects that
    never joined one; brian2 warns about each, with a stack, when it is collected.
    The interruption is reported once, by the caller; the objects are named
    ``spiking_*`` (see :func:`_build`), so other brian2 code keeps the warning.
    """
    return "'spiking_" not in record.getMessage()


logging.getLogger("brian2.core.base.unused_brian_object").addFilter(_not_our_abandoned_object)
_STANDALONE_RUNS = itertools.count()


def to_brian(value: Any, unit: str) -> Quantity:
    """A plain SI float or array (seconds, volts, hertz, or dimensionless) as a brian2 quantity.

    Parameters
    ----------
    value : float or array_like
        Value in SI units: seconds for ``"second"``, volts for ``"volt"``, 1/s for
        ``"hertz"``, a pure number for ``"1"``.
    unit : {"second", "volt", "hertz", "1"}
        The SI unit of ``value``.

    Returns
    -------
    brian2.Quantity
        ``value`` with brian2 dimensions (a dimensionless Quantity for ``"1"``).

    Raises
    ------
    ValueError
        For an unknown unit name.
    TypeError
        If ``value`` is already a quantity with dimensions (convert it with
        :func:`from_brian` first), or is not numeric.

    Examples
    --------
    >>> print(to_brian(0.02, "second"))
    20. ms
    """
    scale = _unit(unit)
    if isinstance(value, Quantity) and not value.is_dimensionless:
        raise TypeError(f"to_brian expects a plain SI number, got the quantity {value!r}")
    arr = np.asarray(value, dtype=np.float64)
    return Quantity(arr * scale) if unit == "1" else arr * scale


def from_brian(quantity: Any, unit: str) -> float | np.ndarray:
    """A brian2 quantity as a plain SI float (scalar) or float64 array.

    Parameters
    ----------
    quantity : brian2.Quantity or float
        A quantity with the dimensions of ``unit`` (a plain number only for
        ``"1"``).
    unit : {"second", "volt", "hertz", "1"}
        The SI unit to express it in.

    Returns
    -------
    float or ndarray of float64
        The value in seconds, volts, hertz or as a pure number.

    Raises
    ------
    ValueError
        For an unknown unit name.
    TypeError
        If the dimensions of ``quantity`` are not those of ``unit``.

    Examples
    --------
    >>> from brian2 import ms
    >>> from_brian(20 * ms, "second")
    0.02
    """
    scale = _unit(unit)
    try:
        fail_for_dimension_mismatch(quantity, scale if unit != "1" else 1)
    except DimensionMismatchError as err:
        raise TypeError(f"expected a quantity in {unit}, got {quantity!r}") from err
    arr = np.asarray(quantity / scale if unit != "1" else quantity, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr


def as_si(name: str, value: Any, unit: str) -> Any:
    """A parameter given as a brian2 quantity or a plain SI number, as a plain SI number.

    The unit boundary of the public constructors: ``tau_m=20 * ms`` and
    ``tau_m=0.02`` both give ``0.02``; ``tau_m=20 * mV`` raises.

    Parameters
    ----------
    name : str
        The parameter's name, for the error message.
    value : brian2.Quantity, float or None
        A quantity with the dimensions of ``unit``, or a plain number already in
        that SI unit (seconds, volts, hertz).  None and non-numbers are returned as
        they are, for the caller's own validation to name.
    unit : {"second", "volt", "hertz", "1"}
        The parameter's SI unit.

    Returns
    -------
    float, ndarray or the input
        The value in ``unit`` (a scalar quantity becomes a float).

    Raises
    ------
    TypeError
        If ``value`` is a quantity of other dimensions; the message names the
        parameter, the dimensions expected and those given.

    Examples
    --------
    >>> from brian2 import mV, ms
    >>> as_si("tau_m", 20 * ms, "second"), as_si("tau_m", 0.02, "second")
    (0.02, 0.02)
    >>> as_si("tau_m", 20 * mV, "second")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: tau_m must be a time (a brian2 quantity in second, ...), got 20. mV
    """
    _unit(unit)
    if not isinstance(value, Quantity):
        return value
    if value.is_dimensionless:
        arr = np.asarray(value, dtype=np.float64)
        return float(arr) if arr.ndim == 0 else arr
    try:
        return from_brian(value, unit)
    except TypeError:
        what = _KINDS[unit]
        raise TypeError(f"{name} must be {what} (a brian2 quantity in {unit}, e.g. "
                        f"{_EXAMPLES[unit]}, or a plain number of {unit}s), got {value}"
                        ) from None


_KINDS = {"second": "a time", "volt": "a voltage", "hertz": "a rate", "1": "dimensionless"}
_EXAMPLES = {"second": "20*ms", "volt": "-70*mV", "hertz": "10*Hz", "1": "0.5"}


def _unit(unit: str) -> Any:
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {', '.join(map(repr, _UNITS))}; got {unit!r}")
    return _UNITS[unit]


@dataclass(frozen=True)
class NeuronParameters:
    """Plain-SI parameters of the two leaky integrate-and-fire populations."""

    tau_m: float          # s, membrane time constant
    refractory: float     # s, absolute refractory period
    v_rest: float         # V, resting potential
    v_reset: float        # V, potential after a spike
    v_threshold: float    # V, spike threshold
    drive_gain: float     # V per unit of Gabor drive (simple cells)
    simple_noise: float   # V, std of the free membrane potential (simple cells)
    complex_noise: float  # V, std of the free membrane potential (complex cells)


def default_cache_dir() -> str:
    """A per-process directory for compiled code: ``<tmp>/v1model-brian2-<uid>/pid-<pid>``."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return os.path.join(tempfile.gettempdir(), f"v1model-brian2-{uid}", f"pid-{os.getpid()}")


def simulate(
    *,
    drive: np.ndarray,
    frame_dt: float,
    steps_per_frame: int,
    n_complex: int,
    pre: np.ndarray,
    post: np.ndarray,
    weight: np.ndarray,
    params: NeuronParameters,
    target: str,
    seed: int,
    cache_dir: str | None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Run the simple and complex populations once and return their spikes.

    Parameters
    ----------
    drive : ndarray of shape (frames, n_simple), float64
        Dimensionless drive of every simple neuron, constant within a frame.
    frame_dt : float
        Frame duration in seconds.
    steps_per_frame : int
        Integration steps per frame (the simulation step is ``frame_dt / steps_per_frame``).
    n_complex : int
        Number of complex neurons.
    pre, post, weight : ndarray of shape (n_synapses,)
        Simple → complex synapses: presynaptic and postsynaptic indices and the
        voltage jump per spike in volts.
    params : NeuronParameters
        Membrane parameters in SI units.
    target : {"numpy", "cython", "cpp_standalone"}
        Code-generation target.
    seed : int
        Seed of brian2's random number generator for this run, in [0, 2**31).
    cache_dir : str, optional
        Directory for compiled code (Cython cache, standalone projects); default
        :func:`default_cache_dir`.

    Returns
    -------
    (simple, complex) : tuple of (indices, times)
        Per population, int64 neuron indices and float64 spike times in seconds,
        in the order the spikes occurred.
    """
    n_frames, n_simple = drive.shape
    sim_dt = frame_dt / steps_per_frame
    duration = n_frames * frame_dt
    with _LOCK, _target(target, cache_dir) as standalone_dir:
        device = get_device()
        # brian2's generator is global: seed it for this run (initial potentials and
        # noise both draw from it) and give the caller's state back afterwards
        state = device.get_random_state() if standalone_dir is None else None
        try:
            brian2.seed(seed)
            net, monitors = _build(drive, frame_dt, sim_dt, n_simple, n_complex, pre, post,
                                   weight, params)
            with _young_garbage_only():
                net.run(to_brian(duration, "second"), namespace={})
            _check_completed(duration)
            out = tuple(
                (np.asarray(m.i[:], dtype=np.int64), from_brian(m.t[:], "second").reshape(-1))
                for m in monitors
            )
        finally:
            if state is not None:
                device.set_random_state(state)
    return out  # type: ignore[return-value]


@contextlib.contextmanager
def _young_garbage_only() -> Iterator[None]:
    """Let the full ``gc.collect()`` brian2 runs before every ``Network.run`` skip the heap.

    brian2 collects garbage at the start of each run so that objects left out of
    the network are reported; in a process holding a large heap (``v1model
    compare`` with every module loaded) that full collection costs ≈ 0.1 s per run,
    more than simulating a short protocol.  Objects alive before the run are moved
    to the permanent generation (:func:`gc.freeze`) for its duration, so the
    collection scans only what this run created (where abandoned brian2 objects
    would be); :func:`gc.unfreeze` hands them back to the collector afterwards.
    """
    if not gc.isenabled():          # someone manages the collector: leave it alone
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _check_completed(duration: float) -> None:
    """Raise if the run just finished stopped early instead of simulating ``duration``.

    brian2 answers a Ctrl-C during ``Network.run`` by stopping at the end of the
    current step and returning normally. :func:`_target` switches that off (the
    ``core.stop_on_keyboard_interrupt`` preference), so a SIGINT raises
    KeyboardInterrupt at once; this check is the second line of defence, for a stop
    requested any other way (another handler calling ``brian2.stop()``, a maximum
    run time): truncated spike trains must never be returned as a complete run.
    """
    fraction = getattr(get_device(), "_last_run_completed_fraction", 1.0)
    if fraction is not None and fraction < 1.0 - 1e-9:
        done = f"stopped after {100 * fraction:.1f}% of {duration:g} s"
        if brian2.Network._globally_stopped:
            raise KeyboardInterrupt(f"brian2 simulation interrupted: {done}")
        raise RuntimeError(f"brian2 simulation {done}; its spikes are incomplete")


def _build(drive, frame_dt, sim_dt, n_simple, n_complex, pre, post, weight, params):
    """Explicit objects in a fresh Network: simple LIF ← movie drive, complex LIF ← synapses.

    Names — of the clocks too — are fixed (not brian2's ``name*`` counters, which
    depend on the objects still alive) because they appear in the generated code:
    the code is then the same on every run and the Cython cache is reused; only the
    movie reader, whose code holds the movie's shape, recompiles when the batch
    shape changes.
    """
    clock = Clock(to_brian(sim_dt, "second"), name="spiking_clock")
    frame_clock = Clock(to_brian(frame_dt, "second"), name="spiking_frame_clock")
    namespace = {
        "tau_m": to_brian(params.tau_m, "second"),
        "v_rest": to_brian(params.v_rest, "volt"),
        "v_reset": to_brian(params.v_reset, "volt"),
        "v_threshold": to_brian(params.v_threshold, "volt"),
        "drive_gain": to_brian(params.drive_gain, "volt"),
        "movie": TimedArray(np.ascontiguousarray(drive, dtype=np.float64),
                            dt=to_brian(frame_dt, "second"), name="spiking_movie"),
    }
    lif = ("dv/dt = (v_rest - v + drive_gain * drive) / tau_m"
           " + noise * sqrt(2 / tau_m) * xi : volt (unless refractory)\n"
           "noise : volt (constant)\n")
    common = dict(threshold="v > v_threshold", reset="v = v_reset",
                  refractory=to_brian(params.refractory, "second"), method="euler",
                  namespace=namespace, clock=clock)
    simple = NeuronGroup(n_simple, lif + "drive : 1\n", name="spiking_simple", **common)
    simple.noise = to_brian(params.simple_noise, "volt")
    # the drive changes once per frame: read the movie at frame starts, not every step
    simple.run_regularly("drive = movie(t, i)", clock=frame_clock, when="start",
                         name="spiking_movie_reader")
    complex_ = NeuronGroup(n_complex, lif + "drive : 1 (constant)\n", name="spiking_complex",
                           **common)
    complex_.noise = to_brian(params.complex_noise, "volt")
    # start from the stationary distribution of the free membrane, not a synchronous v_rest
    for group in (simple, complex_):
        group.v = "v_rest + noise * randn()"
    synapses = Synapses(simple, complex_, model="w : volt (constant)", on_pre="v_post += w",
                        clock=clock, name="spiking_pool")
    if len(pre):
        synapses.connect(i=np.asarray(pre, dtype=np.int32), j=np.asarray(post, dtype=np.int32))
        synapses.w = to_brian(weight, "volt")
    monitors = (SpikeMonitor(simple, name="spiking_simple_spikes"),
                SpikeMonitor(complex_, name="spiking_complex_spikes"))
    net = brian2.Network(simple, complex_, synapses, *simple.contained_objects, *monitors)
    return net, monitors


@contextlib.contextmanager
def _target(target: str, cache_dir: str | None) -> Iterator[str | None]:
    """Select the code-generation target and its directories; restore brian2's globals after.

    Yields the standalone project directory for ``cpp_standalone``, else None.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(map(repr, TARGETS))}; got {target!r}")
    if get_device() is not runtime_device:
        raise RuntimeError(
            "another brian2 device is active (set_device was called elsewhere); the spiking V1 "
            "layer runs on brian2's runtime device or its own cpp_standalone device"
        )
    base = os.path.abspath(cache_dir) if cache_dir is not None else default_cache_dir()
    saved = {key: prefs[key] for key in ("codegen.target", "codegen.runtime.cython.cache_dir",
                                         "core.stop_on_keyboard_interrupt")}
    try:
        # brian2 turns the first Ctrl-C during a run into "stop early and return": the
        # caller would get truncated spike trains that look complete. Let SIGINT raise
        # KeyboardInterrupt as everywhere else (in cpp_standalone it kills the binary).
        prefs["core.stop_on_keyboard_interrupt"] = False
        if target == "cpp_standalone":
            os.makedirs(base, exist_ok=True)
            project = tempfile.mkdtemp(prefix=f"standalone-{os.getpid()}-{next(_STANDALONE_RUNS)}-",
                                       dir=base)
            set_device("cpp_standalone", build_on_run=True, directory=project, with_output=False)
            try:
                yield project
            finally:
                get_device().reinit()
                reset_device()
                shutil.rmtree(project, ignore_errors=True)
        else:
            prefs["codegen.target"] = target
            if target == "cython":
                cython_dir = os.path.join(base, "cython")
                os.makedirs(cython_dir, exist_ok=True)
                prefs["codegen.runtime.cython.cache_dir"] = cython_dir
            yield None
    finally:
        for key, value in saved.items():
            prefs[key] = value
