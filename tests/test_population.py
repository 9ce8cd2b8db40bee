"""Sampled populations agree with the macaque reference counts; the uniform control does not."""

import numpy as np
import pytest
from scipy import stats

from v1model.population import (
    N_LOG_SD,
    NX_MEDIAN,
    NY_MEDIAN,
    ORIENTATION_BIN_CENTRES,
    ORIENTATION_BIN_HALF_WIDTH,
    ORIENTATION_COUNTS,
    SF_BIN_EDGES,
    SF_COUNTS,
    sample_population,
    sf_quantile,
)

N = 2000
SEED = 2024


@pytest.fixture(scope="module")
def macaque():
    return sample_population(N, source="macaque", rng=SEED)


@pytest.fixture(scope="module")
def uniform():
    return sample_population(N, source="uniform", rng=SEED)


def _orientation_counts(orientation):
    """Counts in the De Valois bins centred at 0/45/90/135° (the 0° bin wraps at 180°)."""
    shifted = np.mod(np.asarray(orientation) + ORIENTATION_BIN_HALF_WIDTH, 180.0)
    return np.histogram(shifted, bins=np.arange(0.0, 181.0, 45.0))[0]


def _sf_counts(sf):
    return np.histogram(sf, bins=SF_BIN_EDGES)[0]


def _lognormal_quartile_counts(values, median):
    """Counts between the quartiles of the reference log-normal (median, N_LOG_SD)."""
    edges = median * np.exp(N_LOG_SD * stats.norm.ppf([0.25, 0.5, 0.75]))
    return np.bincount(np.searchsorted(edges, values), minlength=4)


def _chisquare_p(observed, reference_counts):
    expected = np.asarray(reference_counts, float) / np.sum(reference_counts) * np.sum(observed)
    return stats.chisquare(observed, expected).pvalue


def test_reference_constants():
    assert ORIENTATION_BIN_CENTRES == (0.0, 45.0, 90.0, 135.0)
    assert ORIENTATION_COUNTS == (66, 49, 77, 54)
    assert SF_COUNTS == (4, 4, 8, 25, 32, 26, 28, 12)
    np.testing.assert_allclose([SF_BIN_EDGES[0], SF_BIN_EDGES[-1]], [0.5, 8.0])
    np.testing.assert_allclose(np.diff(np.log2(SF_BIN_EDGES)), 0.5)
    # the binning reproduces De Valois et al.'s median ≈ 2.8 and IQR ≈ 1.7–4.6 c/deg
    q1, median, q3 = sf_quantile([0.25, 0.5, 0.75])
    assert abs(np.log2(median / 2.8)) < 0.1
    assert abs(np.log2(q1 / 1.7)) < 0.15 and abs(np.log2(q3 / 4.6)) < 0.15


def test_macaque_histograms_match_the_reference_counts(macaque):
    assert _chisquare_p(_orientation_counts(macaque["orientation"]), ORIENTATION_COUNTS) > 0.01
    assert _chisquare_p(_sf_counts(macaque["sf"]), SF_COUNTS) > 0.01
    quarters = np.ones(4)
    assert _chisquare_p(_lognormal_quartile_counts(macaque["nx"], NX_MEDIAN), quarters) > 0.01
    assert _chisquare_p(_lognormal_quartile_counts(macaque["ny"], NY_MEDIAN), quarters) > 0.01
    assert np.median(macaque["nx"]) == pytest.approx(NX_MEDIAN, rel=0.05)
    assert np.median(macaque["ny"]) == pytest.approx(NY_MEDIAN, rel=0.05)


def test_uniform_control_does_not_match(uniform):
    assert _chisquare_p(_orientation_counts(uniform["orientation"]), ORIENTATION_COUNTS) < 1e-4
    assert _chisquare_p(_sf_counts(uniform["sf"]), SF_COUNTS) < 1e-4
    # flat over the documented ranges
    assert stats.kstest(uniform["orientation"], "uniform", args=(0, 180)).pvalue > 0.01
    assert stats.kstest(np.log2(uniform["sf"]), "uniform", args=(-1, 4)).pvalue > 0.01
    assert stats.kstest(uniform["nx"], "uniform", args=(0.1, 0.9)).pvalue > 0.01


def test_size_falls_with_sf_in_degrees_but_rises_weakly_in_cycles(macaque, uniform):
    log_sf = np.log(macaque["sf"])
    r_nx = np.corrcoef(log_sf, np.log(macaque["nx"]))[0, 1]
    r_ny = np.corrcoef(log_sf, np.log(macaque["ny"]))[0, 1]
    r_sigma = np.corrcoef(log_sf, np.log(macaque["sigma_x"]))[0, 1]
    assert 0.1 < r_nx < 0.3 and 0.1 < r_ny < 0.3
    assert r_sigma < -0.5
    assert np.corrcoef(np.log(macaque["nx"]), np.log(macaque["ny"]))[0, 1] > 0.35
    assert abs(np.corrcoef(np.log(uniform["sf"]), uniform["nx"])[0, 1]) < 0.1


@pytest.mark.parametrize("source", ["macaque", "uniform"])
def test_columns_ranges_and_consistency(source):
    pop = sample_population(500, source=source, rng=1)
    assert pop.names == ("orientation", "sf", "nx", "ny", "sigma_x", "sigma_y", "phase")
    assert len(pop) == 500
    assert np.all((pop["orientation"] >= 0) & (pop["orientation"] < 180))
    assert np.all((pop["phase"] >= 0) & (pop["phase"] < 360))
    assert np.all((pop["sf"] >= 0.5) & (pop["sf"] <= 8.0))
    assert np.all(pop["nx"] > 0) and np.all(pop["ny"] > 0)
    np.testing.assert_allclose(pop["sigma_x"] * pop["sf"], pop["nx"])
    np.testing.assert_allclose(pop["sigma_y"] * pop["sf"], pop["ny"])


@pytest.mark.parametrize("source", ["macaque", "uniform"])
def test_rng_determinism(source):
    a = sample_population(50, source=source, rng=7)
    b = sample_population(50, source=source, rng=np.random.default_rng(7))
    c = sample_population(50, source=source, rng=8)
    for name in a.names:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["sf"], c["sf"])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n=0), ValueError, "n must be >= 1"),
        (dict(n=2.5), TypeError, "n must be an integer"),
        (dict(n=5, source="cat"), ValueError, "source must be one of 'macaque', 'uniform'"),
        (dict(n=5, rng="seed"), TypeError, "rng must be None, an int seed"),
    ],
    ids=["zero", "float", "source", "rng"],
)
def test_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        sample_population(**kwargs)


def test_sf_quantile_rejects_bad_probabilities():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        sf_quantile([0.5, 1.5])
