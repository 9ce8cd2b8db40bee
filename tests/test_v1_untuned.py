"""The untuned stage of the default V1 model broadens orientation tuning, as claimed:
circular variance and bandwidth up, each unit's preferred orientation and sf unchanged."""

import numpy as np
import pytest
from scipy import stats

from stimuli.display import Display
from stimuli.gratings import grating
from v1model.population import sample_v1_population
from v1model.v1 import STAGE_KEYS, V1Model, fitted_parameters

DISPLAY = Display((64, 64), pixels_per_degree=16)   # the compare job's display
ORIS = np.arange(0.0, 180.0, 7.5)
SFS = np.geomspace(0.6, 5.0, 6)
PHASES = np.arange(0.0, 360.0, 90.0)
WEIGHT = 1.5


def _angle_diff(a, b):
    d = np.abs(np.asarray(a) - np.asarray(b)) % 180.0
    return np.minimum(d, 180.0 - d)


@pytest.fixture(scope="module")
def curves():
    """Phase-averaged orientation curves at each unit's best sf, with and without the stage
    (normalised responses: no spontaneous rate), for both layers' units together."""
    images = np.stack([grating(DISPLAY, orientation=o, sf=f, phase=p)
                       for o in ORIS for f in SFS for p in PHASES])
    out = {}
    best_sf = None
    for name, untuned in (("off", False), ("on", {"weight": WEIGHT})):
        model = V1Model(DISPLAY, stride=64, output=False, untuned=untuned)
        r = np.concatenate([model.responses(images, layer)[:, :, 0, 0]
                            for layer in model.layers], axis=1)
        mean = r.reshape(len(ORIS), len(SFS), len(PHASES), -1).mean(axis=2)
        if best_sf is None:     # both curves at the sf where the unit without the stage peaks
            best_sf = mean.max(axis=0).argmax(axis=0)
        own_sf = SFS[mean.max(axis=0).argmax(axis=0)]
        info = {k: np.concatenate([model.unit_info(layer)[k] for layer in model.layers])
                for k in ("orientation", "sf", "untuned", "complexity")}
        out[name] = (mean[:, best_sf, np.arange(mean.shape[-1])], own_sf, info)
    return out


def _cv(curve):
    return 1 - np.abs((curve * np.exp(2j * np.deg2rad(ORIS))[:, None]).sum(0)) / curve.sum(0)


def _preferred(curve):
    return np.rad2deg(np.angle((curve * np.exp(2j * np.deg2rad(ORIS))[:, None]).sum(0))) / 2 % 180


def _half_width(curve):
    """Half-width (deg) at 1/√2 of the peak, from the fraction of a finely interpolated
    curve above that level."""
    fine = np.arange(0.0, 180.0, 0.5)
    out = []
    for c in curve.T:
        y = np.interp(fine, ORIS, c, period=180.0)
        out.append(np.mean(y >= y.max() / np.sqrt(2)) * 90.0)
    return np.array(out)


def test_the_stage_is_a_stage_with_a_fitted_weight():
    assert STAGE_KEYS["untuned"] == ("weight",)
    shipped = fitted_parameters()["untuned"]["weight"]
    model = V1Model(DISPLAY, stride=64)
    assert model.params["untuned"] == {"weight": pytest.approx(shipped)}
    assert V1Model(DISPLAY, stride=64, untuned=False).params["untuned"] is None
    with pytest.raises(ValueError, match="untuned\\['weight'\\]"):
        V1Model(DISPLAY, stride=64, untuned={"weight": -1.0})
    with pytest.raises(ValueError, match="unknown key"):
        V1Model(DISPLAY, stride=64, untuned={"width": 1.0})


def test_per_unit_weights_are_exponential_and_move_nothing_else():
    a = sample_v1_population(2000, DISPLAY, untuned=0.0, rng=3)
    b = sample_v1_population(2000, DISPLAY, untuned=2.0, rng=3)
    for key in ("orientation", "sf", "nx", "ny", "phase", "complexity"):
        np.testing.assert_array_equal(a[key], b[key])
    assert np.all(a["untuned"] == 0)
    w = b["untuned"]
    assert np.mean(w) == pytest.approx(2.0, rel=0.08)
    assert np.median(w) == pytest.approx(2.0 * np.log(2), rel=0.1)   # exponential
    with pytest.raises(ValueError, match="untuned"):
        sample_v1_population(10, DISPLAY, untuned=-0.5, rng=0)


def test_untuned_stage_broadens_orientation_tuning(curves):
    on, _, info_on = curves["on"]
    off, _, info_off = curves["off"]
    np.testing.assert_array_equal(info_on["orientation"], info_off["orientation"])
    cv_on, cv_off = _cv(on), _cv(off)
    bw_on, bw_off = _half_width(on), _half_width(off)
    # every orientation-selective unit broadens (a weight of 0 leaves it as it was), the
    # population clearly; a unit the tuned normalisation pool already leaves nearly flat
    # (circular variance > 0.75 without the stage) has a curve whose vector sum is set by
    # the pool's 6-orientation ripple, so its circular variance can move either way
    # (the untuned input also joins the unit's pool, so an already broad unit can narrow
    # a little: by at most 0.05 in circular variance)
    selective = cv_off < 0.75
    assert np.mean(selective) >= 0.6
    assert np.all(cv_on[selective] >= cv_off[selective] - 0.05)
    assert np.mean(cv_on[selective] >= cv_off[selective] - 1e-6) >= 0.95
    assert np.median(cv_on) - np.median(cv_off) > 0.1
    assert np.median(bw_on) > np.median(bw_off) + 1.5
    # the half-width of curves sampled every 7.5° (with the pool's ripple) does not
    # narrow by more than 2° in 95% of the units that stay selective with the stage, nor
    # by more than 5° in any (the broad units the untuned pool sharpens a little)
    both = selective & (cv_on < 0.75)
    assert np.mean(bw_on[both] >= bw_off[both] - 2.0) >= 0.95
    assert np.all(bw_on[both] >= bw_off[both] - 5.0)
    # the more untuned weight a selective unit has, the more it broadens (rank
    # correlation: the broadening saturates, as the untuned input also divides)
    rho = stats.spearmanr(info_on["untuned"][selective], (cv_on - cv_off)[selective])[0]
    assert rho > 0.5


def test_untuned_stage_keeps_each_units_preference(curves):
    on, sf_on, info = curves["on"]
    off, sf_off, _ = curves["off"]
    # units that stay orientation selective keep their preference; a unit the stage
    # makes nearly untuned (circular variance near 1) has a flat curve whose vector
    # sum is set by the pool's 6-orientation ripple, so it has no preference to keep
    selective = _cv(on) < 0.8
    # (WEIGHT is several times the fitted mean weight: more units go nearly flat than in
    # the default model)
    assert np.mean(selective) >= 0.6
    shift = _angle_diff(_preferred(on), _preferred(off))
    assert np.mean(shift[selective] <= 3.0) >= 0.95, np.sort(shift[selective])[-5:]
    own = _angle_diff(_preferred(on), info["orientation"])
    assert np.mean(own[selective] <= 7.5) >= 0.95
    assert np.mean(sf_on == sf_off) >= 0.9
    assert np.median(np.abs(np.log2(sf_on / info["sf"]))) <= 0.3


def test_a_large_untuned_weight_flattens_but_never_flips_the_preference():
    """The untuned input joins the classical pool: even with a pool tuned narrowly around
    each unit (which divides its preferred orientation far more than the orthogonal one)
    and a large untuned weight, no unit responds more to the orthogonal orientation."""
    model = V1Model(DISPLAY, stride=64, n_units=60, output=False, surround=False,
                    normalization={"orientation_width": 20.0}, untuned={"weight": 4.0})
    for layer in model.layers:
        info = model.unit_info(layer)
        images = []
        for u in range(len(info["orientation"])):
            for offset in (0.0, 90.0):
                for p in PHASES:
                    images.append(grating(DISPLAY, orientation=info["orientation"][u] + offset,
                                          sf=info["sf"][u], phase=p))
        r = model.responses(np.stack(images), layer)[:, :, 0, 0]
        r = r.reshape(len(info["orientation"]), 2, len(PHASES), -1).mean(axis=2)
        own = r[np.arange(len(r)), :, np.arange(len(r))]          # (units, [pref, orth])
        ratio = own[:, 1] / own[:, 0]
        # (the pool channels are not the unit's own filter, so the bound is not exact)
        assert np.mean(ratio > 1) <= 0.05 and ratio.max() < 1.2, np.sort(ratio)[-4:]
        # and the weight does broaden: the orthogonal response is a sizeable fraction
        assert np.median(ratio) > 0.15
