"""The Marques 2021 reference collection and Brain-Score's ceiled similarity score."""

import numpy as np
import pytest

from analysis.reference import (
    _ks_similarity,
    list_references,
    reference_distribution,
    similarity_score,
)

NAMES = list_references("marques2021")
PUBLISHED = [n for n in NAMES
             if reference_distribution(n, collection="marques2021").status == "published"]


def sample_with_undefined(name, rng):
    """Cells of the reference: the defined ones drawn from its histogram, the rest NaN."""
    ref = reference_distribution(name, collection="marques2021")
    n_defined = ref.n - ref.n_undefined
    x = ref.sample(n_defined * 4, rng=rng)
    return np.r_[x, np.full(ref.n_undefined * 4, np.nan)]


def test_every_reference_carries_its_provenance():
    for name in NAMES:
        ref = reference_distribution(name, collection="marques2021")
        assert ref.status in ("published", "approximate", "none")
        assert ref.source and ref.cells and ref.count_used
        assert ref.approximate == (ref.status != "published")
        if ref.status != "published":
            assert ref.note, f"{name}: an approximate or missing reference must say why"
        edges = ref.score_bin_edges
        assert np.all(np.diff(edges) > 0)


def test_published_histograms_are_the_papers_counts():
    sf = reference_distribution("peak_sf", collection="marques2021")
    np.testing.assert_array_equal(sf.counts, np.sum(list(sf.params["components"].values()),
                                                    axis=0))
    assert sf.n == sf.counts.sum() == 363 and len(sf.score_bin_edges) == 13
    ori = reference_distribution("preferred_orientation", collection="marques2021")
    assert ori.counts.tolist() == [110, 83, 100, 92] and "66/49/77/54" in ori.count_used
    gsf = reference_distribution("grating_summation_field", collection="marques2021")
    assert gsf.counts.sum() + gsf.n_undefined == gsf.n == 190
    bw = reference_distribution("sf_bandwidth", collection="marques2021")
    assert bw.counts.sum() == 73 and bw.n == 87
    for name in PUBLISHED:
        ref = reference_distribution(name, collection="marques2021")
        assert len(ref.counts) == len(ref.score_bin_edges) - 1


@pytest.mark.parametrize(("p", "expected"), [
    ([0.25, 0.25, 0.25, 0.25], 1.0),              # identical histograms
    ([1.0, 0.0, 0.0, 0.0], 0.0),                  # all mass at the far end: KS = KS_max
    ([0.0, 0.0, 0.0, 1.0], 0.0),
    ([0.5, 0.5, 0.0, 0.0], 1 - 0.5 / 0.75),
], ids=["same", "first-bin", "last-bin", "half"])
def test_ks_similarity_is_normalised_by_the_largest_possible_ks(p, expected):
    q = np.full(4, 0.25)
    np.testing.assert_allclose(_ks_similarity(np.array(p), q), expected, atol=1e-12)


@pytest.mark.parametrize("name", PUBLISHED + ["circular_variance", "or_bandwidth", "max_dc"])
def test_samples_of_the_reference_score_about_one_after_ceiling(name):
    s = similarity_score(sample_with_undefined(name, 0), name, method="brainscore",
                         n_boot=300, rng=1)
    assert 0.85 < s.ceiling < 1.0
    np.testing.assert_allclose(s.ceiled, s.score / s.ceiling)
    assert abs(s.ceiled - 1.0) < 0.05, (name, s.ceiled)
    assert s.provenance["source"] == s.source and s.provenance["n"]


@pytest.mark.parametrize(("name", "shift"), [
    ("surround_suppression_index", lambda x: x + 0.5),
    ("grating_summation_field", lambda x: x * 4),
    ("peak_sf", lambda x: x / 4),
    ("sf_bandwidth", lambda x: x / 3),
])
def test_a_shifted_distribution_scores_low(name, shift):
    s = similarity_score(shift(sample_with_undefined(name, 0)), name, method="brainscore",
                         n_boot=300, rng=1)
    assert s.ceiled < 0.6, (name, s.ceiled)


def test_split_half_ceiling_is_lower_than_the_bootstrap_ceiling():
    x = sample_with_undefined("surround_suppression_index", 0)
    boot = similarity_score(x, "surround_suppression_index", method="brainscore",
                            n_boot=300, rng=1)
    half = similarity_score(x, "surround_suppression_index", method="brainscore",
                            n_boot=300, rng=1, ceiling="split_half")
    assert half.ceiling < boot.ceiling and half.provenance["ceiling_method"] == "split_half"


def test_values_outside_the_bins_are_clipped_into_the_end_bins():
    edges = reference_distribution("surround_suppression_index",
                                   collection="marques2021").score_bin_edges
    inside = similarity_score(np.full(50, edges[0]), "surround_suppression_index",
                              method="brainscore", n_boot=50, rng=0)
    below = similarity_score(np.full(50, -5.0), "surround_suppression_index",
                             method="brainscore", n_boot=50, rng=0)
    assert inside.score == below.score


def test_undefined_units_are_left_out_and_counted():
    x = np.r_[np.full(10, np.nan), np.linspace(0.0, 0.8, 90)]
    s = similarity_score(x, "surround_suppression_index", method="brainscore", n_boot=50, rng=0)
    assert s.n == 100 and s.n_defined == 90


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"values": [np.nan, np.nan], "name": "peak_sf", "method": "brainscore"},
     "no defined"),
    ({"values": [0.1], "name": "texture_modulation_index", "method": "brainscore"},
     "no bundled numbers"),
    ({"values": [0.1], "name": "peak_sf", "method": "wasserstein"}, "method must be"),
    ({"values": [0.1], "name": "peak_sf", "method": "brainscore", "ceiling": "half"},
     "ceiling must be"),
    ({"values": [0.1], "name": "not_a_property", "method": "brainscore"},
     "unknown reference property"),
], ids=["all-nan", "no-numbers", "bad-method", "bad-ceiling", "bad-name"])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        similarity_score(**kwargs)


def test_the_old_score_stays_the_default():
    ref = reference_distribution("peak_sf")
    s = similarity_score(ref.sample(500, rng=0), "peak_sf", rng=1, n_boot=100)
    assert s.method == "ks" and np.isnan(s.ceiled) and s.approximate == ref.check


@pytest.mark.parametrize(("name", "approx"), [("circular_variance", True), ("peak_sf", False)])
def test_figures_mark_approximate_references(name, approx):
    import matplotlib.pyplot as plt

    from analysis.figures.tuning import plot_property_histogram

    ref = reference_distribution(name, collection="marques2021")
    ax = plot_property_histogram(ref.sample(50, rng=0), label=name, reference=ref)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("approx." in t for t in labels) == approx
    assert any(ref.source.split(",")[0] in t for t in labels)
    plt.close(ax.figure)
