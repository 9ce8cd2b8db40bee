"""Models from outside the package through ``v1model compare`` with public names only.

A model defined here (a bank of Gabor receptive fields with half-wave rectification)
is registered, or named by a ``module:callable`` spec, or passed as an object, and
goes through the quick battery; broken entries are skipped with a clear reason while
the rest of the battery runs.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from stimuli import Display
from v1model.app import compare_models, register_model, unregister_model
from v1model.app.battery import QUICK_BATTERY
from v1model.app.cli import main

#: The outside model's receptive fields: sf (c/deg) and Gaussian envelope σ (deg), so
#: Ringach's nx = ny = σ · sf.
SF, SIGMA = 2.0, 0.25


class GaborBank:
    """A linear–nonlinear model: Gabor receptive fields at the display centre, rectified.

    Eight orientations × two phases (0°, 90°); one unit each; responses ``(n, 16)``.
    """

    temporal = False
    layers = ("edges",)

    def __init__(self, display: Display, name: str = "gabor bank"):
        self.display = display
        self.name = name
        rows, cols = display.shape
        ppd = display.pixels_per_degree
        y, x = np.mgrid[:rows, :cols]
        x = (x - (cols - 1) / 2) / ppd
        y = ((rows - 1) / 2 - y) / ppd
        self.orientation = np.repeat(np.arange(0.0, 180.0, 22.5), 2)
        self.phase = np.tile([0.0, 90.0], 8)
        kernels = []
        for ori, phase in zip(self.orientation, self.phase, strict=True):
            theta = np.deg2rad(ori)
            across = x * np.cos(theta) + y * np.sin(theta)
            envelope = np.exp(-(x**2 + y**2) / (2 * SIGMA**2))
            kernels.append(envelope * np.cos(2 * np.pi * SF * across + np.deg2rad(phase)))
        self.kernels = np.stack(kernels).reshape(len(kernels), -1) / ppd**2

    def responses(self, stimuli, layer, *, batch_size=64):
        if layer not in self.layers:
            raise ValueError(f"layer must be one of {self.layers}, got {layer!r}")
        images = np.asarray(stimuli, dtype=np.float64).reshape(len(stimuli), -1)
        return np.maximum(images @ self.kernels.T, 0.0)

    def unit_info(self, layer):
        return {"orientation": self.orientation, "phase": self.phase,
                "sf": np.full(len(self.phase), SF)}


def make_gabor_bank(display):
    """What a ``module:callable`` spec names: display -> model."""
    return GaborBank(display)


@pytest.fixture
def registered():
    names = []

    def add(name, factory, **kw):
        register_model(name, factory, **kw)
        names.append(name)

    yield add
    for name in names:
        unregister_model(name)


def _check_gabor_rows(layer: dict) -> None:
    """The outside model's measured properties are those it was built with."""
    assert layer["n_units"] == 16
    medians = layer["medians"]
    assert medians["peak_sf"] == pytest.approx(SF, rel=0.25)
    assert medians["ringach_nx"] == pytest.approx(SIGMA * SF, rel=0.25)
    assert medians["ringach_ny"] == pytest.approx(SIGMA * SF, rel=0.25)
    assert layer["receptive_fields"]["fit_source"] == "measured"


def test_a_registered_outside_model_runs_through_the_cli(tmp_path, registered):
    registered("gabors", lambda display, *, seed: GaborBank(display), layers=("edges",),
               rf_layers=("edges",), title="Gabor bank (test)")
    assert main(["compare", "--quick", "--no-progress", "--models", "gabors",
                 "--out", str(tmp_path)]) == 0
    folder = tmp_path / "compare"
    summary = json.loads((folder / "summary.json").read_text())
    assert list(summary["models"]) == ["gabors"]
    assert summary["skipped"] == {}
    _check_gabor_rows(summary["models"]["gabors"]["layers"]["edges"])
    report = (folder / "report.html").read_text()
    for figure in ("tuning_gabors_edges", "rf_gabors_edges", "gabor_gabors_edges"):
        assert (folder / "figures" / f"{figure}.png").stat().st_size > 1000
        assert f'alt="{figure}"' in report
    assert "Gabor bank (test)" in report


def test_a_module_callable_spec_runs_through_the_cli(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mymodels.py").write_text(textwrap.dedent("""
        from tests.test_outside_models import make_gabor_bank as make_model
    """))
    monkeypatch.syspath_prepend(str(package))
    out = tmp_path / "out"
    assert main(["compare", "--quick", "--no-progress", "--model", "mymodels:make_model",
                 "--layers", "edges", "--out", str(out)]) == 0
    summary = json.loads((out / "compare" / "summary.json").read_text())
    assert list(summary["models"]) == ["make_model"]
    assert summary["models"]["make_model"]["title"] == "mymodels:make_model"
    _check_gabor_rows(summary["models"]["make_model"]["layers"]["edges"])


def test_bad_entries_are_skipped_and_reported(tmp_path, registered):
    class NoResponses:
        layers = ("edges",)
        display = QUICK_BATTERY.display()

    def raises(display, *, seed):
        raise RuntimeError("weights not found")

    registered("factory_raises", raises, layers=("edges",))
    registered("not_a_model", lambda display, *, seed: NoResponses(), layers=("edges",))
    registered("wrong_layers", lambda display, *, seed: GaborBank(display),
               layers=("conv9",))
    summary = compare_models(
        ["factory_raises", "not_a_model", "wrong_layers", GaborBank(QUICK_BATTERY.display())],
        tmp_path, quick=True)
    skipped = summary["skipped"]
    assert set(skipped) == {"factory_raises", "not_a_model", "wrong_layers"}
    assert "weights not found" in skipped["factory_raises"]
    assert "'not_a_model'" in skipped["not_a_model"]
    assert "'responses'" in skipped["not_a_model"]
    assert "'wrong_layers'" in skipped["wrong_layers"]
    assert "conv9" in skipped["wrong_layers"]
    # the rest of the battery ran: the object is named after its ``name``
    assert list(summary["models"]) == ["gabor_bank"]
    _check_gabor_rows(summary["models"]["gabor_bank"]["layers"]["edges"])
    report = (tmp_path / "compare" / "report.html").read_text()
    section = report[report.index("Skipped models"):report.index("<h2>Models</h2>")]
    for name in skipped:
        assert name in section
    assert "weights not found" in section


def test_an_object_on_the_wrong_display_is_skipped(tmp_path):
    wrong = GaborBank(Display((40, 40), pixels_per_degree=10.0), name="coarse")
    right = GaborBank(QUICK_BATTERY.display(), name="fine")
    summary = compare_models({"coarse": wrong, "fine": right}, tmp_path, quick=True)
    assert list(summary["models"]) == ["fine"]
    assert "10 px/deg" in summary["skipped"]["coarse"]


def test_nothing_runnable_raises_naming_the_models(tmp_path):
    class Layerless:
        def responses(self, stimuli, layer):
            return stimuli

    with pytest.raises(ValueError, match="no model could be built: 'broken': TypeError: model "
                                         "'broken' .Layerless. has no 'layers'"):
        compare_models({"broken": Layerless()}, tmp_path, quick=True)
    with pytest.raises(TypeError, match="model objects .with layers and responses., got 3"):
        compare_models([3], tmp_path, quick=True)
    with pytest.raises(ValueError, match="module:callable"):
        compare_models(["not.a.spec:"], tmp_path, quick=True)


def _install_plugin(root, name: str, source: str, target: str) -> None:
    """A distribution on ``root`` declaring one ``v1model.models`` entry point."""
    (root / f"{name}.py").write_text(textwrap.dedent(source))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[v1model.models]\n{name} = {target}\n")


def test_an_installed_package_adds_models_through_entry_points(tmp_path, monkeypatch):
    _install_plugin(tmp_path, "gaborplugin", """
        from v1model.app import register_model
        from tests.test_outside_models import GaborBank

        def register():
            register_model("plugin_gabors", lambda display, *, seed: GaborBank(display),
                           layers=("edges",), rf_layers=("edges",), title="from a plugin")
    """, "gaborplugin:register")
    _install_plugin(tmp_path, "brokenplugin", """
        def register():
            raise RuntimeError("plugin cannot start")
    """, "brokenplugin:register")
    # installed before the package is imported: loaded when v1model.app is imported
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])}
    shown = subprocess.run(
        [sys.executable, "-c", "from v1model.app import list_models; "
         "from v1model.app.registry import entry_point_errors; "
         "print(list_models()[-1], list(entry_point_errors()))"],
        capture_output=True, text=True, env=env, cwd=root, check=True).stdout
    assert shown.split() == ["plugin_gabors", "['brokenplugin", "=", "brokenplugin:register']"]

    monkeypatch.syspath_prepend(str(tmp_path))
    from v1model.app import list_models, load_entry_points
    from v1model.app.registry import entry_point_errors

    try:
        failed = load_entry_points()
        assert "plugin_gabors" in list_models()
        assert failed == {"brokenplugin = brokenplugin:register":
                          "RuntimeError: plugin cannot start"}
        assert entry_point_errors() == failed
        # a broken plugin is listed as skipped; the plugin's model runs
        summary = compare_models(["plugin_gabors"], tmp_path / "out", quick=True)
        assert summary["skipped"] == {"entry point brokenplugin = brokenplugin:register":
                                      "RuntimeError: plugin cannot start"}
        _check_gabor_rows(summary["models"]["plugin_gabors"]["layers"]["edges"])
        assert load_entry_points() == failed     # loaded ones are not loaded twice
    finally:
        unregister_model("plugin_gabors")
        monkeypatch.undo()
    assert load_entry_points() == {} and entry_point_errors() == {}


def make_alexnet_like(display):
    """AlexNet's ``features`` head with torchvision's layer names, randomly initialised.

    ``torchvision.models.alexnet(weights=None).features[:3]``: Conv2d(3, 64, 11,
    stride 4, padding 2), ReLU, MaxPool2d(3, 2), built from torch alone (torchvision
    is not needed); greyscale stimuli are repeated over the 3 input channels.
    """
    import torch
    from torch import nn

    from v1model.torch_adapter import TorchModel

    torch.manual_seed(0)
    features = nn.Sequential(nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
                             nn.ReLU(inplace=False), nn.MaxPool2d(kernel_size=3, stride=2))
    net = nn.Sequential()
    net.add_module("features", features)
    return TorchModel(net, display, layers=["features.0", "features.1", "features.2"],
                      normalization="imagenet")


@pytest.mark.slow      # ~35 s: two layers, the CLI's process pool for figures
@pytest.mark.torch
def test_a_torch_model_goes_through_the_whole_battery(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "alexnetlike.py").write_text(
        "from tests.test_outside_models import make_alexnet_like\n")
    monkeypatch.syspath_prepend(str(package))
    out = tmp_path / "out"
    # features.1 (the first ReLU) and features.2 (the first pooling): firing-rate-like
    # layers; features.0 is signed (before the ReLU), which tuning metrics refuse
    assert main(["compare", "--quick", "--no-progress", "--model",
                 "alexnetlike:make_alexnet_like", "--layers", "features.1,features.2",
                 "--out", str(out)]) == 0
    summary = json.loads((out / "compare" / "summary.json").read_text())
    assert summary["skipped"] == {}
    layers = summary["models"]["make_alexnet_like"]["layers"]
    assert set(layers) == {"features.1", "features.2"}
    for layer in layers.values():
        assert layer["n_units"] == 64                      # one unit per channel
        assert layer["n_used"]["preferred_orientation"] > 0
        assert layer["similarity_to_macaque"]["circular_variance"] is not None
    # a half-wave rectified linear filter: ON − OFF maps are signed, and are what is fitted
    rf = layers["features.1"]["receptive_fields"]
    assert rf["fit_source"] == "measured" and rf["median_signed_fraction"] > 0.5
    report = (out / "compare" / "report.html").read_text()
    for figure in ("rf_make_alexnet_like_features.1", "gabor_make_alexnet_like_features.1",
                   "tuning_make_alexnet_like_features.2"):
        assert f'alt="{figure}"' in report


@pytest.mark.torch
def test_a_layer_the_battery_cannot_measure_skips_the_model_not_the_run(tmp_path):
    pytest.importorskip("torch")
    display = QUICK_BATTERY.display()
    summary = compare_models({"signed": make_alexnet_like(display),
                              "gabors": GaborBank(display)}, tmp_path, quick=True,
                             layers=["signed:features.0", "edges"])
    assert list(summary["models"]) == ["gabors"]
    assert "negative mean responses" in summary["skipped"]["signed"]


def test_rf_maps_a_module_callable_model(tmp_path):
    from v1model.app.rf import run_rf_job

    written = run_rf_job(str(tmp_path), model="tests.test_outside_models:make_gabor_bank",
                         method="white_noise", n_images=2000, size=24, progress=False)
    with open(written["summary"], encoding="utf-8") as fh:
        summary = json.load(fh)
    assert summary["n_units"] == 16 and summary["layer"] == "edges"
    fits = summary["gabor_fits"]
    assert fits["n_success"] == 16
    # reverse correlation through a rectified linear filter recovers the filter
    assert fits["median_sf_cpd"] == pytest.approx(SF, rel=0.1)
    assert fits["median_nx"] == pytest.approx(SIGMA * SF, rel=0.2)
    assert fits["median_orientation_error_deg"] < 3.0
    assert all(p.split("/")[-1].startswith("make_gabor_bank_edges") for p in written["files"])


def test_rf_refuses_a_bad_spec_by_name(tmp_path):
    from v1model.app.rf import run_rf_job

    with pytest.raises(ValueError, match="model spec 'nosuchmodule:make'.*cannot be imported"):
        run_rf_job(str(tmp_path), model="nosuchmodule:make")


@pytest.mark.parametrize("argv", [["compare", "--model", "alexnet"], ["rf", "--model", "alexnet"]],
                         ids=["compare", "rf"])
def test_a_model_that_is_neither_registered_nor_a_spec_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'alexnet'" in err and "module:callable" in err


def test_a_spec_whose_module_is_missing_is_skipped_beside_a_registered_model(tmp_path, capsys):
    assert main(["compare", "--quick", "--no-progress", "--models", "hmax", "--layers", "S1",
                 "--model", "nosuchpkg.models:make", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "compare" / "summary.json").read_text())
    assert list(summary["models"]) == ["hmax"]
    assert "nosuchpkg" in summary["skipped"]["make"]
    assert "model 'make' SKIPPED" in capsys.readouterr().err
