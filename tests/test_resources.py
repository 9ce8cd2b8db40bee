"""The resource policy: one memory budget checked before allocating, and upper bounds."""

import time
import tracemalloc

import numpy as np
import pytest

from analysis.receptive_fields import reverse_correlation
from stimuli import resources
from stimuli.display import Display
from stimuli.gratings import drifting_grating
from stimuli.noise import pink_noise, sparse_noise, white_noise
from stimuli.protocols import orientation_tuning, white_noise_sequence
from stimuli.resources import MemoryBudgetError, memory_budget, set_memory_budget
from v1model.spiking import SpikingV1
from v1model.v1 import V1Model

SMALL = Display((32, 32), pixels_per_degree=16)


@pytest.fixture
def budget():
    """Set a budget for one test and restore the previous state afterwards."""
    previous = set_memory_budget(None)
    yield set_memory_budget
    set_memory_budget(previous)


def test_default_is_a_fraction_of_available_ram(budget, monkeypatch):
    monkeypatch.delenv(resources.ENV_VAR, raising=False)
    expected = resources.available_memory() * resources.DEFAULT_FRACTION
    assert memory_budget() == pytest.approx(expected, rel=0.05)  # RAM moves a little


@pytest.mark.parametrize("text, expected", [
    ("2GB", 2 * 10**9), ("512 MiB", 512 * 2**20), ("1.5e9", 1.5e9), ("4096", 4096),
], ids=["GB", "MiB", "float", "bytes"])
def test_environment_variable_sets_the_budget(budget, monkeypatch, text, expected):
    monkeypatch.setenv(resources.ENV_VAR, text)
    assert memory_budget() == int(expected)


def test_percentage_of_available_ram(budget, monkeypatch):
    monkeypatch.setenv(resources.ENV_VAR, "10%")
    assert memory_budget() == pytest.approx(resources.available_memory() / 10, rel=0.05)


def test_function_overrides_environment(budget, monkeypatch):
    monkeypatch.setenv(resources.ENV_VAR, "2GB")
    budget(12345)
    assert memory_budget() == 12345
    budget(None)
    assert memory_budget() == 2 * 10**9


@pytest.mark.parametrize("value, error, match", [
    ("lots", ValueError, "nbytes must be a size"),
    ("-5GB", ValueError, "nbytes must be a size"),
    ("0", ValueError, "at least 1 byte"),
    ("150%", ValueError, r"percentage in \(0, 100\]"),
    (0, ValueError, "at least 1 byte"),
    (1.5, TypeError, "nbytes must be an int"),
    (True, TypeError, "nbytes must be an int"),
], ids=["word", "negative", "zero-str", "percent", "zero", "float", "bool"])
def test_bad_budgets(budget, value, error, match):
    with pytest.raises(error, match=match):
        set_memory_budget(value)


def test_bad_environment_variable_is_named(budget, monkeypatch):
    monkeypatch.setenv(resources.ENV_VAR, "many")
    with pytest.raises(ValueError, match=resources.ENV_VAR):
        memory_budget()


def test_huge_display_fails_at_once():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"shape\[0\] \(rows\) must be at most 16384 pixels"):
        Display((100000, 100000), pixels_per_degree=16)
    with pytest.raises(ValueError, match=r"shape\[1\] \(cols\) must be at most"):
        Display((10, 16385), pixels_per_degree=16)
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize("call, hint", [
    (lambda: white_noise(SMALL, 10**5), "lower n"),
    (lambda: sparse_noise(SMALL, 10**5), "lower n"),
    (lambda: pink_noise(SMALL, 10**5), "lower n"),
    (lambda: drifting_grating(SMALL, sf=1.0, tf=2.0, duration=3600.0), "lower duration"),
    (lambda: orientation_tuning(SMALL, orientations=np.arange(0, 180, 1.0)).stimuli(
        np.arange(4320)), "fewer stimuli"),
    (lambda: Display((2048, 2048), 16).coordinates(), "fewer pixels"),
], ids=["white", "sparse", "pink", "drifting", "protocol", "coordinates"])
def test_budget_is_checked_before_allocating(budget, call, hint):
    budget("10 MB")
    tracemalloc.start()
    try:
        with pytest.raises(MemoryBudgetError, match=hint) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "needs" in message and "more than the memory budget of 9.5 MiB" in message
    assert "set_memory_budget" in message and resources.ENV_VAR in message
    assert peak < 5 * 2**20  # nothing of the requested size was allocated
    assert isinstance(info.value, ValueError) and isinstance(info.value, MemoryError)


def test_within_budget_still_works(budget):
    budget("10 MB")
    assert white_noise(SMALL, 100, rng=0).shape == (100, 32, 32)


def test_noise_counts_have_an_upper_bound():
    with pytest.raises(ValueError, match="n must be at most 10000000"):
        white_noise_sequence(SMALL, 10**9)

    class Pixel:
        display, layers, temporal = SMALL, ("px",), False

    with pytest.raises(ValueError, match="n_images must be at most 10000000"):
        reverse_correlation(Pixel(), "px", n_images=10**9)


def test_spiking_step_and_size_bounds(budget):
    v1 = V1Model.grid(SMALL, orientations=[0], sfs=[2])
    with pytest.raises(ValueError, match="dt must be at least 1e-06 s"):
        SpikingV1(SMALL, v1=v1, dt=1e-9)
    long_run = SpikingV1(SMALL, v1=v1, dt=1e-5, static_duration=2000.0)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="MAX_SIMULATION_STEPS"):
        long_run.spike_trains(np.zeros((1, 32, 32)), "simple")
    budget("100 kB")
    with pytest.raises(MemoryBudgetError, match="spiking simulation of 200 stimuli"):
        SpikingV1(SMALL, v1=v1, static_duration=1.0).spike_trains(np.zeros((200, 32, 32)),
                                                                   "simple")
    assert time.perf_counter() - start < 2.0
