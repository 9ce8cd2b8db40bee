"""Verdicts over an ensemble: borderline verdicts, the aggregate rule and the claims job.

The rule (analysis.claims.aggregate): the fraction of judged networks whose verdict is
"supported", its 95% Wilson interval, supported if the lower bound >= 0.5, not supported
if the upper bound < 0.5, mixed otherwise; inconclusive and failed networks left out.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from analysis import claims
from analysis.claims import (
    AGGREGATE_VERDICTS,
    Check,
    aggregate_verdicts,
    verdict,
    verdict_alternatives,
    verdict_from_checks,
)
from stimuli.display import Display
from v1model.cnn import CNN, Network, default_cnn_spec


def _near(name, value=0.06, threshold=0.05, interval=(0.03, 0.09)):
    return Check(name, f"measured {name}", value, threshold, interval=interval)


def _clear(name, value):
    return Check(name, f"measured {name}", value, 0.5)


# ------------------------------------------------------------------ borderline verdicts


def test_a_borderline_required_check_can_turn_support_into_no_support():
    checks = [_clear("a", 1.0), _near("b")]
    assert verdict_alternatives(checks, required=["b"]) == ("supported", "not supported")
    got, reason = verdict_from_checks(checks, required=["b"])
    assert got == "supported"                      # judged by the measured value ...
    assert "Borderline" in reason and "measured b: 0.06 [0.03, 0.09]" in reason
    assert reason.endswith("could also be not supported.")   # ... but never rounded silently


def test_a_borderline_gate_can_make_the_claim_inconclusive():
    gate = Check("g", "accuracy above chance", 0.12, 0.1, interval=(0.08, 0.16))
    assert verdict_alternatives([_clear("a", 1.0)], gates=[gate]) == ("supported",
                                                                      "inconclusive")


def test_a_borderline_check_that_decides_nothing_leaves_the_verdict_clear():
    # the required check fails clearly: whichever way b goes, the claim is not supported
    checks = [_clear("a", 0.0), _near("b")]
    assert verdict_alternatives(checks, required=["a"]) == ("not supported",)
    got, reason = verdict_from_checks(checks, required=["a"])
    assert got == "not supported" and "Borderline" not in reason


def test_several_borderline_checks_give_every_reachable_verdict():
    checks = [_near("a"), _near("b", 0.04), _clear("c", 1.0), _clear("d", 0.0)]
    # measured: a, c pass -> 2 of 4 -> partly; a and b flip between 1 and 3 passing
    assert verdict_alternatives(checks) == ("partly supported", "not supported")
    assert verdict_alternatives(checks[:3]) == ("partly supported", "supported",
                                                "not supported")


def test_claim_result_reports_borderline_and_its_alternatives():
    fig = Figure()
    r = verdict._result(3, "pooling", [_clear("a", 1.0), _near("b")], {}, fig, {}, 0.0)
    assert r.verdict == "supported" and r.borderline
    assert r.alternatives == ("supported", "partly supported")
    assert [c.name for c in r.borderline_checks] == ["b"]
    d = r.to_dict()
    assert d["borderline"] is True and d["borderline_checks"] == ["b"]
    assert "borderline" in fig.get_suptitle()
    clear = verdict._result(3, "pooling", [_clear("a", 1.0)], {}, Figure(), {}, 0.0)
    assert not clear.borderline and clear.alternatives == ("supported",)


def test_claim_result_refuses_alternatives_that_do_not_start_with_its_verdict():
    with pytest.raises(ValueError, match="alternatives must start with the verdict"):
        claims.ClaimResult(1, "x", "t", "c", "supported", "r", (), (), {}, Figure(),
                           alternatives=("not supported",))
    with pytest.raises(ValueError, match="verdict"):
        claims.ClaimResult(1, "x", "t", "c", "maybe", "r", (), (), {}, Figure())


# ------------------------------------------------------------------ the aggregate rule


def test_every_network_supporting_is_supported():
    a = aggregate_verdicts(["supported"] * 5)
    assert a.verdict == "supported" and (a.n_supporting, a.n_judged) == (5, 5)
    assert a.fraction == 1.0
    assert a.interval[0] == pytest.approx(0.5655, abs=1e-3) and a.interval[1] == 1.0
    assert not a.borderline


def test_three_of_five_is_mixed_with_its_wilson_interval():
    a = aggregate_verdicts(["supported", "not supported", "supported", "partly supported",
                            "supported"])
    assert a.verdict == "mixed" and a.fraction == pytest.approx(0.6)
    # Wilson 95%: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.96
    z, n, p = 1.959964, 5, 0.6
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert a.interval == pytest.approx((centre - half, centre + half), abs=1e-6)
    assert "3 of 5" in a.reason and "4 at least partly" in a.reason


def test_no_network_supporting_is_not_supported():
    a = aggregate_verdicts(["not supported"] * 3 + ["partly supported"] * 2)
    assert a.verdict == "not supported" and a.n_supporting == 0
    assert a.interval[1] < 0.5


def test_partly_supported_does_not_count_as_support():
    assert aggregate_verdicts(["partly supported"] * 10).verdict == "not supported"
    assert aggregate_verdicts(["supported"] * 9 + ["partly supported"]).verdict == "supported"
    assert aggregate_verdicts(["supported"] * 8 + ["partly supported"] * 2).verdict == "mixed"


def test_inconclusive_and_failed_networks_are_left_out_and_counted():
    a = aggregate_verdicts(["supported"] * 5 + ["inconclusive", "not run"])
    assert a.verdict == "supported" and a.n_judged == 5 and a.n_excluded == 2
    assert a.counts["inconclusive"] == 1 and a.counts["not run"] == 1
    assert "left out: 1 inconclusive, 1 not run" in a.reason
    none = aggregate_verdicts(["inconclusive"] * 3)
    assert none.verdict == "inconclusive" and none.interval is None and none.fraction is None
    assert aggregate_verdicts([]).verdict == "inconclusive"


def test_borderline_networks_make_the_aggregate_borderline_only_when_they_can_change_it():
    # 5/5 supported; one could be partly supported -> 4/5 -> mixed
    a = aggregate_verdicts(["supported"] * 5,
                           alternatives=[["supported", "partly supported"]] + [[]] * 4)
    assert a.verdict == "supported" and a.borderline and a.alternatives == ("supported", "mixed")
    assert "could also be mixed" in a.reason
    # 3/5 mixed; one borderline network changes the count by one: still mixed
    b = aggregate_verdicts(["supported"] * 3 + ["not supported"] * 2,
                           alternatives=[["supported", "not supported"]] + [[]] * 4)
    assert b.verdict == "mixed" and not b.borderline
    # borderline gates: networks may drop out of the count (0/1 judged is mixed, 0/0
    # inconclusive)
    c = aggregate_verdicts(["not supported"] * 5,
                           alternatives=[["not supported", "inconclusive"]] * 5)
    assert c.verdict == "not supported"
    assert c.alternatives == ("not supported", "mixed", "inconclusive")
    assert set(a.as_dict()) >= {"verdict", "borderline", "interval", "fraction", "counts"}
    json.dumps(a.as_dict())


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"verdicts": ["maybe"]}, ValueError, "verdicts must hold verdicts"),
    ({"verdicts": "supported"}, TypeError, "verdicts must be a sequence"),
    ({"verdicts": ["supported"], "alternatives": []}, ValueError, "one entry per verdict"),
    ({"verdicts": ["supported"], "alternatives": [["maybe"]]}, ValueError, "alternatives"),
    ({"verdicts": ["supported"], "confidence": 1.0}, ValueError, "confidence"),
])
def test_aggregate_refuses_bad_input_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        aggregate_verdicts(**kwargs)


def test_aggregate_verdicts_are_documented():
    assert AGGREGATE_VERDICTS == ("supported", "mixed", "not supported", "inconclusive")
    for v in AGGREGATE_VERDICTS:
        assert v in claims.aggregate.__doc__


# ------------------------------------------------------------------ the job over networks


def _tiny(name, arch, size=16, seed=0):
    """An untrained network on a tiny display; its meta names it like the ensemble does."""
    net = Network.from_spec(default_cnn_spec(3, input_size=size, conv1_channels=4,
                                             conv1_size=5, conv2_channels=4, fc_units=8),
                            rng=seed)
    return CNN(net, Display((size, size), pixels_per_degree=8.0),
               meta={"name": name, "arch": arch, "seed": seed, "test_accuracy": 0.9})


def _per_network_claim(number, key):
    """A fast stand-in claim: one check on conv1's mean |weight| (differs per network) and
    a borderline check on the 'wide' networks."""
    def claim(cnn=None, *, rng=0, size=10):
        w = float(np.abs(cnn.filters(cnn.layers[0])).mean())
        checks = [Check("weights", "mean |conv1 weight|", w, 0.0),
                  Check("seeded", "seed is even", float(cnn.meta["seed"] % 2 == 0), 1.0)]
        if cnn.meta["arch"] == "wide":
            checks.append(Check("near", "a value near its threshold", 0.51, 0.5,
                                interval=(0.4, 0.6)))
        fig = Figure()
        fig.subplots().plot([0, 1], [0, w])
        return verdict._result(number, key, checks, {"w": w, "rng": rng}, fig,
                               {"size": size}, 0.0, required=("seeded",))
    return claim


def _own_networks_claim(*, rng=0):
    fig = Figure()
    fig.subplots().plot([0, 1])
    return verdict._result(5, "weight_sharing", [Check("a", "gain", 1.0, 0.5)], {}, fig, {},
                           0.0)


@pytest.fixture
def stub_claims(monkeypatch):
    """Claims 1-4 and 7 per network, 5 without a network, 6 failing on one network."""
    from v1model.app import claims as job

    def fc(cnn=None, *, rng=0, size=10):
        if cnn.meta["name"] == "wide-s1":
            raise RuntimeError("singular read-out")
        return _per_network_claim(6, "fc_layers")(cnn, rng=rng, size=size)

    fake = {key: _per_network_claim(n, key) for n, key in
            [(1, "hierarchy"), (2, "first_layer"), (3, "pooling"), (4, "rotation")]}
    fake.update(weight_sharing=_own_networks_claim, fc_layers=fc,
                hubel_wiesel=_per_network_claim(7, "hubel_wiesel"))
    monkeypatch.setattr(claims, "CLAIMS", fake)
    monkeypatch.setattr(job, "QUICK", {k: ({"size": 2} if k != "weight_sharing" else {})
                                       for k in fake})
    monkeypatch.setattr(job, "SHIPPED", {})      # the stubs take no shipped-grid settings
    monkeypatch.setattr(job, "PER_SEED", {})     # claim 5's stub stands for "runs once"
    return fake


def _ensemble():
    return ([_tiny(f"small-s{s}", "small", 16, s) for s in (0, 2)]
            + [_tiny(f"wide-s{s}", "wide", 24, s) for s in (0, 1)])


def test_job_runs_every_claim_on_every_network_and_aggregates(tmp_path, stub_claims):
    from v1model.app.claims import run_claims_job

    out = run_claims_job(str(tmp_path), quick=True, progress=False, seed=4,
                         networks=_ensemble())
    summary = json.loads(Path(out["summary"]).read_text(encoding="utf-8"))
    assert [n["name"] for n in summary["networks"]] == ["small-s0", "small-s2", "wide-s0",
                                                        "wide-s1"]
    assert summary["architectures"] == ["small", "wide"]
    by_key = {c["key"]: c for c in summary["claims"]}
    assert list(by_key) == list(stub_claims)
    for key in ("hierarchy", "first_layer", "pooling", "rotation", "hubel_wiesel"):
        c = by_key[key]
        assert [r["network"] for r in c["per_network"]] == out["networks"]
        # seeds 0, 2, 0 even: supported; seed 1 odd: the required check fails
        assert [r["verdict"] for r in c["per_network"]] == ["supported"] * 3 + ["not supported"]
        assert all(r["numbers"]["rng"] == 4 for r in c["per_network"])   # the analysis seed
        assert c["aggregate"]["n_supporting"] == 3 and c["aggregate"]["n_judged"] == 4
        assert c["verdict"] == "mixed" and c["aggregate"]["interval"][0] < 0.5
        assert c["by_arch"]["small"]["verdict"] == "mixed"         # 2 of 2: (0.34, 1)
        assert c["by_arch"]["wide"]["n_supporting"] == 1
        assert set(c["seconds_per_network"]) == set(out["networks"])
        # the wide networks' check sits on its threshold: listed as borderline
        assert [(b["network"], b["check"]) for b in c["borderline_checks"]] == [
            ("wide-s0", "near"), ("wide-s1", "near")]
        assert c["per_network"][2]["borderline"] is True          # supported or partly
        assert c["per_network"][2]["alternatives"] == ["supported", "partly supported"]
        assert (tmp_path / "claims" / c["per_network"][0]["figure"]).is_file()
    # a claim that trains its own networks runs once
    ws = by_key["weight_sharing"]
    assert [r["network"] for r in ws["per_network"]] == ["own networks"]
    assert ws["verdict"] == "supported" and ws["aggregate"] is None
    # a failure on one network: reported, left out of the fraction, the rest still runs
    fc = by_key["fc_layers"]
    failed = [r for r in fc["per_network"] if r["verdict"] == "not run"]
    assert [r["network"] for r in failed] == ["wide-s1"]
    assert "singular read-out" in failed[0]["error"]
    assert fc["aggregate"]["n_judged"] == 3 and fc["aggregate"]["n_excluded"] == 1
    assert out["failed"] == {"fc_layers": ["wide-s1"]}
    assert summary["stability"]["borderline"] == [] or all(
        by_key[k]["borderline"] for k in summary["stability"]["borderline"])
    assert "aggregate_rule" in summary and "Wilson" in summary["aggregate_rule"]


def test_claim_pages_show_the_strip_the_aggregate_and_the_rule(tmp_path, stub_claims):
    from v1model.app.claims import run_claims_job

    out = run_claims_job(str(tmp_path), quick=True, progress=False, networks=_ensemble())
    page = Path(out["pages"]["pooling"]).read_text(encoding="utf-8")
    strip = page[page.index("<table class='strip'>"):]
    strip = strip[:strip.index("</table>")]
    assert strip.count("<tr>") == 5                           # header + 4 networks
    for name in out["networks"]:
        assert name in strip
    assert strip.count("background:#dafbe1") >= 8              # passing cells coloured
    assert "background:#ffebe9" in strip                       # wide-s1's failed check
    assert strip.count("class='borderline'") == 2              # the wide networks' check
    assert "figures/claim_3_pooling_small_s0.png" in strip
    assert "95% Wilson interval" in page and "lower bound" in page.replace("upper", "lower")
    assert "Borderline checks" in page
    assert page.count("data:image/png;base64,") == 1           # one representative figure
    fc = Path(out["pages"]["fc_layers"]).read_text(encoding="utf-8")
    assert "singular read-out" in fc
    index = Path(out["index"]).read_text(encoding="utf-8")
    assert "Stability." in index and "Wilson" in index
    assert re.search(r"<th>small</th><th>wide</th>", index)


def test_arch_keeps_one_architecture(tmp_path, stub_claims):
    from v1model.app.claims import run_claims_job

    out = run_claims_job(str(tmp_path), quick=True, progress=False, networks=_ensemble(),
                         arch="wide")
    assert out["networks"] == ["wide-s0", "wide-s1"]
    with pytest.raises(ValueError, match=r"arch must be one of \['small', 'wide'\]"):
        run_claims_job(str(tmp_path), networks=_ensemble(), arch="huge")


def test_the_default_networks_come_from_the_ensemble_loader(tmp_path, stub_claims,
                                                            monkeypatch):
    from v1model.app import claims as job

    asked = []

    def load(arch):
        asked.append(arch)
        return [n for n in _ensemble() if arch is None or n.meta["arch"] == arch], "stand-ins"

    monkeypatch.setattr(job, "_load_ensemble", load)
    out = job.run_claims_job(str(tmp_path), quick=True, progress=False, arch="small")
    assert asked == ["small"] and out["networks"] == ["small-s0", "small-s2"]


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"networks": []}, ValueError, "networks must not be empty"),
    ({"networks": "cnn"}, TypeError, "networks must be a sequence"),
    ({"arch": 3}, TypeError, "arch"),
    ({"model": "v1", "arch": "small"}, ValueError, "do not give arch"),
    ({"model": "nosuchmodule:make"}, ValueError, "nosuchmodule.*cannot be imported"),
    ({"model": "nosuchmodel"}, ValueError, "registered name"),
    ({"model": object()}, TypeError, "has no 'layers'"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, kwargs, error, match):
    from v1model.app.claims import run_claims_job

    with pytest.raises(error, match=match):
        run_claims_job(str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()


def test_duplicate_network_names_are_refused(tmp_path):
    from v1model.app.claims import run_claims_job

    with pytest.raises(ValueError, match="distinct"):
        run_claims_job(str(tmp_path), networks=[_tiny("a", "small"), _tiny("a", "small")])


# ------------------------------------------------------------------ claims --model


@pytest.fixture
def any_model_claims(monkeypatch):
    """Stand-in claims that accept any model (until every claim function does)."""
    from v1model.app import claims as job

    seen = {}

    def make(number, key):
        def claim(cnn=None, *, rng=0):
            seen[key] = cnn
            r = np.asarray(cnn.responses(np.zeros((2, *cnn.display.shape)), cnn.layers[0]))
            fig = Figure()
            return verdict._result(number, key, [Check("n", "units", r.shape[1], 1.0)],
                                   {}, fig, {}, 0.0)
        return claim

    def never(cnn=None, *, rng=0):
        pytest.fail("a claim that needs training ran on a user model")

    fake = {key: make(n, key) for n, key in [(1, "hierarchy"), (2, "first_layer"),
                                             (3, "pooling"), (4, "rotation")]}
    fake.update(weight_sharing=never, fc_layers=never, hubel_wiesel=make(7, "hubel_wiesel"))
    monkeypatch.setattr(claims, "CLAIMS", fake)
    monkeypatch.setattr(job, "QUICK", {k: {} for k in fake})
    return seen


def test_a_user_model_spec_runs_the_claims_that_need_no_training(tmp_path, any_model_claims):
    from v1model.app.cli import main

    assert main(["claims", "--quick", "--no-progress", "--out", str(tmp_path),
                 "--model", "tests.test_outside_models:make_gabor_bank"]) == 0
    summary = json.loads((tmp_path / "claims" / "summary.json").read_text(encoding="utf-8"))
    assert summary["mode"] == "model"
    verdicts = {c["key"]: c["verdict"] for c in summary["claims"]}
    assert verdicts == {"hierarchy": "supported", "first_layer": "supported",
                        "pooling": "supported", "rotation": "supported",
                        "weight_sharing": "not applicable", "fc_layers": "not applicable",
                        "hubel_wiesel": "supported"}
    na = next(c for c in summary["claims"] if c["key"] == "fc_layers")
    assert "needs training" in na["not_applicable"] and na["per_network"] == []
    assert type(any_model_claims["pooling"]).__name__ == "GaborBank"
    assert any_model_claims["pooling"].display.shape == (32, 32)     # the --quick display
    page = (tmp_path / "claims" / "claim_5_weight_sharing.html").read_text(encoding="utf-8")
    assert "not applicable" in page and "needs training" in page


def test_a_registered_model_runs_on_the_claims_display(tmp_path, any_model_claims):
    from v1model.app.claims import run_claims_job

    out = run_claims_job(str(tmp_path), model="v1", quick=True, progress=False)
    assert out["networks"] == ["v1"]
    assert any_model_claims["hierarchy"].display.shape == (32, 32)
    assert out["verdicts"]["weight_sharing"] == "not applicable"


def test_a_bad_model_spec_is_a_usage_error(tmp_path, capsys):
    from v1model.app.cli import main

    assert main(["claims", "--out", str(tmp_path), "--model", "nosuchmodule:make"]) == 2
    err = capsys.readouterr().err
    assert "nosuchmodule" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["claims", "--out", str(tmp_path), "--model", "nosuchmodel"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["claims", "--out", str(tmp_path), "--model", "v1", "--arch", "small"])


def test_an_executor_gives_the_same_results_as_running_in_turn(tmp_path, stub_claims):
    from concurrent.futures import ThreadPoolExecutor

    from v1model.app.claims import run_claims_job

    def per_network(path):
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
        return [[(r["network"], r["verdict"], r["alternatives"], r.get("numbers"), r["error"])
                 for r in c["per_network"]] for c in summary["claims"]]

    serial = run_claims_job(str(tmp_path / "a"), quick=True, progress=False,
                            networks=_ensemble())
    with ThreadPoolExecutor(2) as pool:
        parallel = run_claims_job(str(tmp_path / "b"), quick=True, progress=False,
                                  networks=_ensemble(), executor=pool)
    assert per_network(parallel["summary"]) == per_network(serial["summary"])
    assert parallel["verdicts"] == serial["verdicts"]


def test_a_worker_that_dies_is_a_failed_run_not_a_crash(tmp_path, stub_claims):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from v1model.app.claims import run_claims_job

    class Dying:
        def submit(self, *args, **kwargs):
            f = Future()
            f.set_exception(BrokenProcessPool("killed"))
            return f

    out = run_claims_job(str(tmp_path), quick=True, progress=False,
                         networks=_ensemble()[:2], executor=Dying())
    assert out["verdicts"]["hierarchy"] == "inconclusive"        # no network judged
    assert out["failed"]["hierarchy"] == ["small-s0", "small-s2"]
    page = Path(out["pages"]["hierarchy"]).read_text(encoding="utf-8")
    assert "the worker process died" in page


# ------------------------------------------------------------------ the scripts


def _script(name):
    import importlib.util

    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _summary(seed, verdict_, borderline, alternatives, small="supported"):
    claim = {"key": "pooling", "verdict": verdict_, "borderline": borderline,
             "alternatives": alternatives,
             "by_arch": {"small": {"verdict": small, "borderline": False,
                                   "alternatives": [small]}},
             "seconds_per_network": {"small-s0": 2.0, "wide-s0": 8.0}}
    once = {"key": "weight_sharing", "verdict": "supported", "borderline": False,
            "alternatives": ["supported"], "by_arch": {},
            "seconds_per_network": {"own networks": 5.0}}
    return {"seed": seed, "quick": True, "total_seconds": 12.0, "cpu_count": 2,
            "load_average_before": 0.1, "load_average_after": 0.2, "workers": 1,
            "networks": [{"name": "small-s0", "arch": "small"},
                         {"name": "wide-s0", "arch": "wide"}],
            "claims": [claim, once], "stability": {"note": f"note {seed}"}}


def test_seed_stability_marks_differences_and_whether_they_are_labelled():
    module = _script("claims_seed_stability")
    same = [_summary(s, "supported", False, ["supported"]) for s in (0, 1, 2)]
    table, ok = module.compare(same)
    assert ok and "pooling " in table and "differs" not in table
    labelled = [_summary(0, "supported", True, ["supported", "mixed"]),
                _summary(1, "mixed", True, ["mixed", "supported"]),
                _summary(2, "supported", True, ["supported", "mixed"])]
    table, ok = module.compare(labelled)
    assert ok and "differs: labelled" in table and "mixed (b)" in table
    half = [_summary(0, "supported", False, ["supported"]),
            _summary(1, "mixed", True, ["mixed", "supported"]),
            _summary(2, "supported", False, ["supported"])]
    table, ok = module.compare(half)
    assert not ok and "differs: borderline in 1 of 3 runs" in table
    bare = [_summary(0, "supported", False, ["supported"], small="mixed"),
            _summary(1, "supported", False, ["supported"], small="supported")]
    table, ok = module.compare(bare)
    line = next(x for x in table.splitlines() if x.startswith("pooling/small"))
    assert not ok and line.endswith("differs: UNLABELLED")


def test_bench_breakdown_projects_from_per_architecture_means():
    module = _script("bench_claims")
    text = module.breakdown(_summary(0, "supported", False, ["supported"]),
                            {"small": 5, "wide": 5})
    # pooling: 2 s small, 8 s wide -> 5 * 2 + 5 * 8 = 50 s; weight sharing once: 5 s
    assert "projection for 5 small, 5 wide: 55 s of experiments" in text
    assert "sum of experiment times 15 s" in text


def test_quick_settings_per_architecture_apply_to_its_networks_only(tmp_path, stub_claims,
                                                                   monkeypatch):
    from v1model.app import claims as job

    monkeypatch.setattr(job, "QUICK_BY_ARCH", {"wide": {"pooling": {"size": 1}}})
    out = job.run_claims_job(str(tmp_path), quick=True, progress=False, networks=_ensemble())
    summary = json.loads(Path(out["summary"]).read_text(encoding="utf-8"))
    pooling = next(c for c in summary["claims"] if c["key"] == "pooling")
    assert [r["settings"]["size"] for r in pooling["per_network"]] == [2, 2, 1, 1]
    assert pooling["quick_changes"] == ["size: 10 → 2", "(wide networks) size: 10 → 1"]
    hierarchy = next(c for c in summary["claims"] if c["key"] == "hierarchy")
    assert {r["settings"]["size"] for r in hierarchy["per_network"]} == {2}
    full = job.run_claims_job(str(tmp_path / "full"), progress=False, networks=_ensemble())
    summary = json.loads(Path(full["summary"]).read_text(encoding="utf-8"))
    assert {r["settings"]["size"] for c in summary["claims"] for r in c["per_network"]
            if r.get("settings")} == {10}


def test_the_stability_note_lists_every_borderline_verdict(tmp_path, monkeypatch):
    from v1model.app import claims as job

    def claim(cnn=None, *, rng=0):
        # every network supports, but the wide networks only within their interval
        near = cnn.meta["arch"] == "wide"
        checks = [Check("x", "x", 0.51 if near else 0.9, 0.5,
                        interval=(0.4, 0.6) if near else None)]
        return verdict._result(3, "pooling", checks, {}, Figure(), {}, 0.0)

    monkeypatch.setattr(claims, "CLAIMS", {"pooling": claim})
    nets = ([_tiny(f"small-s{s}", "small", 16, s) for s in range(5)]
            + [_tiny(f"wide-s{s}", "wide", 16, s) for s in range(5)])
    out = job.run_claims_job(str(tmp_path), progress=False, networks=nets)
    summary = json.loads(Path(out["summary"]).read_text(encoding="utf-8"))
    c = summary["claims"][0]
    assert c["verdict"] == "supported" and c["borderline"]      # 10/10, or 5/10 -> mixed
    assert c["by_arch"]["small"] == {**c["by_arch"]["small"], "verdict": "supported",
                                     "borderline": False}
    assert c["by_arch"]["wide"]["borderline"]
    stability = summary["stability"]
    assert stability["borderline"] == ["pooling", "pooling/wide"]
    assert stability["alternatives"]["pooling/wide"] == ["supported", "mixed", "not supported"]
    assert "pooling/wide: supported or mixed or not supported" in stability["note"]
    index = Path(out["index"]).read_text(encoding="utf-8")
    assert "pooling/wide" in index and "supported (borderline)" in index


def test_without_the_ensemble_module_the_shipped_network_stands_in(monkeypatch):
    import sys

    from v1model.app import claims as job

    monkeypatch.setitem(sys.modules, "v1model.ensemble", None)   # as if it did not exist
    nets, source = job._load_ensemble(None)
    assert [n.meta["name"] for n in nets] == ["small-s0"] and nets[0].meta["arch"] == "small"
    assert "single shipped network" in source


def test_a_per_seed_claim_runs_once_per_training_seed(tmp_path, stub_claims, monkeypatch):
    from v1model.app import claims as job

    def grid(*, rng=0):
        checks = [Check("gain", "gain", 1.0 if rng != 1 else 0.0, 0.5)]
        return verdict._result(5, "weight_sharing", checks, {"seed": rng}, Figure(), {}, 0.0)

    monkeypatch.setitem(claims.CLAIMS, "weight_sharing", grid)
    monkeypatch.setattr(job, "PER_SEED", {"weight_sharing": "rng"})
    out = job.run_claims_job(str(tmp_path), progress=False, networks=_ensemble())
    summary = json.loads(Path(out["summary"]).read_text(encoding="utf-8"))
    ws = next(c for c in summary["claims"] if c["key"] == "weight_sharing")
    # the networks' seeds are 0, 2 (small) and 0, 1 (wide): one run per distinct seed
    assert [r["network"] for r in ws["per_network"]] == ["seed0", "seed1", "seed2"]
    assert [r["numbers"]["seed"] for r in ws["per_network"]] == [0, 1, 2]
    assert ws["aggregate"]["n_supporting"] == 2 and ws["aggregate"]["n_judged"] == 3


def test_claim_5_scores_the_shipped_grid_of_each_training_seed():
    from analysis.claims.weight_sharing import GRID_SEEDS, SHIPPED_GRID
    from v1model.app import claims as job
    from v1model.ensemble import ensemble_members

    assert job.PER_SEED["weight_sharing"] == "rng"   # the grid of seed S is rng=S
    assert job.SHIPPED["weight_sharing"] == {**SHIPPED_GRID, "weights": "shipped"}
    assert job._overrides("weight_sharing", False, None)["weights"] == "shipped"
    assert job._overrides("weight_sharing", True, None)["weights"] == "shipped"
    # every training seed of the shipped networks has a shipped grid
    assert {m["seed"] for m in ensemble_members()} <= set(GRID_SEEDS)


@pytest.mark.slow
def test_ctrl_c_stops_the_claims_workers_at_once():
    import time

    from v1model.app import cli

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        with cli._figure_pool(blas_threads=1, stop_on_error=True) as pool:
            futures = [pool.submit(time.sleep, 120) for _ in range(3)]
            time.sleep(3)
            raise KeyboardInterrupt
    assert time.perf_counter() - start < 60            # not the two minutes of the tasks
    assert all(f.done() for f in futures)


@pytest.mark.slow
def test_the_job_runs_a_real_claim_on_briefly_trained_networks(tmp_path, monkeypatch):
    from v1model.app import claims as job
    from v1model.cnn import train_default_cnn

    nets = []
    for seed in (0, 1):
        net = train_default_cnn(seed, n_per_class=8, epochs=1, progress=False)
        net.meta.update(name=f"small-s{seed}", arch="small", seed=seed)
        nets.append(net)
    monkeypatch.setattr(claims, "CLAIMS", {"first_layer": claims.claim_first_layer})
    out = job.run_claims_job(str(tmp_path), quick=True, progress=False, networks=nets)
    summary = json.loads(Path(out["summary"]).read_text(encoding="utf-8"))
    c = summary["claims"][0]
    assert [r["network"] for r in c["per_network"]] == ["small-s0", "small-s1"]
    for r in c["per_network"]:
        assert r["verdict"] in claims.VERDICTS and r["error"] is None
        assert [k["name"] for k in r["checks"]] and r["seconds"] > 0
        assert r["settings"]["n_boot"] == job.QUICK["first_layer"]["n_boot"]
    assert c["aggregate"]["n_judged"] + c["aggregate"]["n_excluded"] == 2
    assert c["verdict"] in AGGREGATE_VERDICTS
