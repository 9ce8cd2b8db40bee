"""Check intervals: a threshold inside the value's own interval makes the check borderline."""

import math

import pytest

from analysis.claims.verdict import Check


def test_threshold_inside_interval_is_borderline_but_still_judged_by_value():
    c = Check("gain", "accuracy gain", 0.06, 0.05, interval=(0.03, 0.09))
    assert c.passed and c.borderline
    assert "borderline" in str(c)
    assert c.as_dict()["interval"] == [0.03, 0.09] and c.as_dict()["borderline"] is True


def test_threshold_outside_interval_is_clear():
    c = Check("gain", "accuracy gain", 0.2, 0.05, interval=(0.15, 0.25))
    assert c.passed and not c.borderline
    low = Check("gain", "accuracy gain", 0.01, 0.05, direction=">=", interval=(0.0, 0.02))
    assert not low.passed and not low.borderline


def test_no_interval_is_never_borderline():
    assert not Check("gain", "accuracy gain", 0.05, 0.05).borderline
    assert Check("gain", "accuracy gain", 0.05, 0.05).as_dict()["interval"] is None


def test_unmeasured_value_is_not_borderline():
    c = Check("gain", "accuracy gain", math.nan, 0.05, interval=(0.0, 0.1))
    assert c.status == "not measured" and not c.borderline


@pytest.mark.parametrize("interval, match", [
    ((0.1, 0.0), "low <= high"),
    ((0.2, 0.3), "contain the value"),
    ((0.0,), "pair"),
    ((0.0, math.inf), "interval high must be finite"),
])
def test_bad_interval_is_refused_by_name(interval, match):
    with pytest.raises(ValueError, match=match):
        Check("gain", "accuracy gain", 0.06, 0.05, interval=interval)


def test_interval_must_be_a_pair_of_numbers():
    with pytest.raises(TypeError, match="interval"):
        Check("gain", "accuracy gain", 0.06, 0.05, interval="ab")
