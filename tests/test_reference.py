"""Bundled macaque V1 references and the 1 − KS similarity score."""

import json
from importlib import resources

import numpy as np
import pytest

from analysis.reference import (
    list_references,
    reference_distribution,
    similarity_score,
)

NAMES = list_references()


def test_every_reference_has_its_source_and_flags():
    raw = json.loads(resources.files("analysis").joinpath("data", "macaque_v1.json")
                     .read_text("utf-8"))
    assert set(raw["properties"]) == set(NAMES) and len(NAMES) == 10
    for name in NAMES:
        ref = reference_distribution(name)
        assert ref.source and ref.note and ref.description
        assert isinstance(ref.check, bool)
        assert any(ch.isdigit() for ch in ref.source)          # a year and journal pages


def test_histograms_are_the_published_counts():
    ori = reference_distribution("preferred_orientation")
    assert ori.counts.tolist() == [66, 49, 77, 54]
    sf = reference_distribution("peak_sf")
    # the sum of the simple/complex x foveal/parafoveal histograms (n = 363)
    assert sf.counts.tolist() == [3, 10, 15, 31, 57, 62, 67, 63, 31, 15, 5, 4]
    assert sf.bin_edges[0] == 0.35 and sf.bin_edges[-1] == 22.4 and not sf.check
    np.testing.assert_allclose(np.diff(np.log2(sf.bin_edges)), 0.5, atol=0.02)
    # the binning reproduces the quoted median 2.8 c/deg and IQR 1.7-4.6
    q = np.percentile(sf.sample(200_000, rng=0), [25, 50, 75])
    np.testing.assert_allclose(q, [1.7, 2.8, 4.6], atol=0.1)
    ssi = reference_distribution("surround_suppression_index")
    assert ssi.counts.sum() == 190 and not ssi.check
    gsf = reference_distribution("grating_summation_field")
    assert gsf.counts.sum() == 148 and not gsf.check


@pytest.mark.parametrize(
    ("name", "quantile", "expected"),
    [("circular_variance", [0.6], [0.5]), ("orientation_bandwidth", [23.5], [0.5])],
)
def test_quoted_medians_and_quartiles(name, quantile, expected):
    np.testing.assert_allclose(reference_distribution(name).cdf(quantile), expected, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "quantile", "expected"),
    [("surround_suppression_index", [0.14, 0.33, 0.57], [0.25, 0.5, 0.75]),
     ("grating_summation_field", [0.8], [0.5])],
)
def test_published_histograms_have_the_quoted_medians_and_quartiles(name, quantile, expected):
    np.testing.assert_allclose(reference_distribution(name).cdf(quantile), expected, atol=0.02)


@pytest.mark.parametrize(("name", "median"), [("ringach_nx", 0.37), ("ringach_ny", 0.45)])
def test_ringach_marginals_of_the_joint_histogram_have_the_quoted_medians(name, median):
    ref = reference_distribution(name)
    joint = np.asarray(ref.params["joint_counts"])
    axis = 1 if name == "ringach_nx" else 0
    np.testing.assert_array_equal(ref.counts, joint.sum(axis=axis))
    assert ref.counts.sum() == 79 and not ref.check
    np.testing.assert_allclose(ref.cdf([median]), 0.5, atol=0.02)


@pytest.mark.parametrize("name", NAMES)
def test_cdf_and_sampler_agree(name):
    ref = reference_distribution(name)
    x = ref.sample(20_000, rng=1)
    assert np.all(np.isfinite(x))
    probe = np.percentile(x, [10, 50, 90])
    if ref.binned:
        probe = ref.bin_edges[1:-1]
        ecdf = (ref.wrap(x)[:, None] <= probe).mean(axis=0)
    else:
        ecdf = (x[:, None] <= probe).mean(axis=0)
    np.testing.assert_allclose(ref.cdf(probe), ecdf, atol=0.015)
    c = ref.cdf(np.sort(ref.wrap(x)))          # circular values ordered from the first edge
    assert np.all(np.diff(c) >= -1e-12) and c.min() >= 0 and c.max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_score_is_one_for_the_reference_and_low_when_shifted(name):
    ref = reference_distribution(name)
    same = similarity_score(ref.sample(1500, rng=3), name, n_boot=100, rng=4)
    assert same.score > 0.93 and same.ci_low <= same.score <= same.ci_high
    assert same.score == pytest.approx(same.ceiling, abs=0.03)
    assert same.n == 1500 and same.source == ref.source and same.check == ref.check
    if name == "preferred_orientation":
        shifted = np.full(500, 45.0)            # every cell oblique: no cardinal bias
    elif name in ("ringach_nx", "ringach_ny", "grating_summation_field"):
        # coarse log bins: half the reference is about one bin of KS away, so shift by 3x
        shifted = ref.sample(1000, rng=5) * 3.0
    else:
        big = ref.sample(20_000, rng=5)
        shifted = big[big > np.median(big)][:1000]   # only the reference's upper half
    low = similarity_score(shifted, name, n_boot=50, rng=4)
    assert low.score < 0.6


def test_orientation_wraps_at_180():
    ref = reference_distribution("preferred_orientation")
    a = similarity_score(np.full(100, 170.0), "preferred_orientation", n_boot=10, rng=0)
    b = similarity_score(np.full(100, -10.0 + 180.0), "preferred_orientation", n_boot=10, rng=0)
    assert a.ks == b.ks
    assert ref.cdf([170.0, -10.0]).tolist() == ref.cdf([-10.0, -10.0]).tolist()


def test_score_is_reproducible():
    x = reference_distribution("peak_sf").sample(300, rng=0)
    assert similarity_score(x, "peak_sf", rng=7) == similarity_score(x, "peak_sf", rng=7)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: reference_distribution("acuity"), "unknown reference property 'acuity'"),
        (lambda: similarity_score([0.1, np.nan], "peak_sf"), "values must be finite"),
        (lambda: similarity_score([], "peak_sf"), "must not be empty"),
        (lambda: similarity_score(np.ones((2, 2)), "peak_sf"), r"values must have shape \(n,\)"),
        (lambda: similarity_score([1.0], "peak_sf", n_boot=0), "n_boot must be >= 1"),
        (lambda: reference_distribution("peak_sf").sample(0), "n must be >= 1"),
    ],
    ids=["unknown", "nan", "empty", "2d", "n-boot", "sample-n"],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
