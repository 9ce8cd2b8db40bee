"""Notebook views (_repr_html_) of tables, recordings, protocols and models."""

import re

import numpy as np
import pytest

from analysis.recording import Recording
from stimuli import Display, Table, orientation_tuning
from v1model import HMAX, SpikingV1, V1Model
from v1model._repr import model_repr_html
from v1model.cnn import load_pretrained_cnn


def _text(html: str) -> str:
    """The visible text of an HTML fragment (tags removed)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_table_shows_first_rows_units_and_dtypes():
    t = Table({"orientation": np.arange(0.0, 180.0, 15.0), "sf": np.full(12, 2.0),
               "label": np.array(["a"] * 12)})
    html = t._repr_html_()
    text = _text(html)
    assert "12 rows" in text and "3 columns" in text
    assert "deg" in text and "c/deg" in text          # units from the standard names
    assert "float64" in text and "<U1" in html.replace("&lt;", "<")
    shown = re.findall(r"<th[^>]*><small>(\d+)</small></th>", html)
    assert shown == [str(i) for i in range(8)]         # the first 8 rows, then a count
    assert "4 more rows" in text
    assert "165" not in text                           # the last row is not printed


def test_html_is_escaped():
    t = Table({"<script>alert(1)</script>": ["<b>bold</b>"]})
    html = t._repr_html_()
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_recording_shows_metadata_shapes_and_both_tables():
    rec = Recording({"orientation": [0.0, 90.0], "contrast": [1.0, 0.5]},
                    np.zeros((2, 3, 4), dtype=np.float32),
                    unit_info={"preferred_sf": [1.0, 2.0, 4.0]},
                    meta={"model": "v1", "layer": "complex", "protocol": "ori",
                          "time_step": 0.025})
    text = _text(rec._repr_html_())
    for piece in ("Recording", "model v1", "layer complex", "protocol ori",
                  "responses 2 × 3 × 4 (float32)", "time_step 0.025 s",
                  "conditions: 2 stimuli", "unit_info: 3 units", "preferred_sf", "c/deg"):
        assert piece in text, piece


def test_protocol_shows_display_params_and_conditions():
    display = Display((32, 32), pixels_per_degree=8)
    protocol = orientation_tuning(display, sfs=(2.0,))
    text = _text(protocol._repr_html_())
    assert f"{len(protocol)} images" in text
    assert "32 × 32 px at 8 px/deg (4 × 4 deg)" in text
    assert "orientations" in text and "phases" in text      # the parameters
    assert "orientation" in text and "more rows" in text     # the condition table


def test_movie_protocol_view_renders_nothing():
    def render(display, row):
        raise AssertionError("the notebook view must not render stimuli")

    from stimuli import Protocol

    protocol = Protocol("drift", Display((16, 16), 8, frame_rate=30.0),
                        {"direction": [0.0, 90.0], "tf": [2.0, 2.0]}, render, kind="movie")
    text = _text(protocol._repr_html_())
    assert "2 movies" in text and "30 frames/s" in text and "Hz" in text


@pytest.mark.parametrize("make", [
    lambda: V1Model(Display((32, 32), pixels_per_degree=16)),
    load_pretrained_cnn,
], ids=["v1", "cnn"])
def test_model_view_lists_layers_with_their_sizes(make):
    model = make()
    html = model_repr_html(model)
    text = _text(html)
    assert type(model).__name__ in text
    d = model.display
    assert f"{d.shape[0]} × {d.shape[1]} px" in text
    for layer in model.layers:
        n = len(next(iter(model.unit_info(layer).values())))
        assert re.search(rf">{re.escape(layer)}</td><td[^>]*>{n}</td>", html), layer


def test_cnn_class_has_the_view():
    model = load_pretrained_cnn()
    assert model._repr_html_() == model_repr_html(model)


@pytest.mark.parametrize("make", [
    lambda: V1Model.grid(Display((16, 16), pixels_per_degree=8), sfs=[2.0]),
    lambda: HMAX(Display((64, 64), pixels_per_degree=16)),
    lambda: SpikingV1(Display((16, 16), pixels_per_degree=8),
                      v1={"population": "grid", "orientations": [0.0], "sfs": [2.0]}),
], ids=["v1", "hmax", "spiking"])
def test_every_model_class_has_the_view(make):
    model = make()
    html = model._repr_html_()
    assert html == model_repr_html(model)
    for layer in model.layers:
        assert f">{layer}</td>" in html


def test_model_view_survives_a_failing_layer():
    class Broken:
        display, layers, temporal = Display((8, 8), 4), ("good", "bad"), False

        def unit_info(self, layer):
            if layer == "bad":
                raise RuntimeError("no metadata")
            return {"channel": np.arange(5)}

    html = model_repr_html(Broken())
    assert re.search(r">good</td><td[^>]*>5</td>", html)
    assert re.search(r">bad</td><td[^>]*>\?</td>", html) and "RuntimeError" in html


@pytest.mark.torch
def test_torch_model_view():
    torch = pytest.importorskip("torch")
    from v1model.torch_adapter import TorchModel

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(6 * 16 * 16, 10))
    model = TorchModel(net, Display((16, 16), 8), layers=("0", "3"))
    html = model._repr_html_()
    assert "<b>TorchModel</b>" in html
    assert re.search(r">0</td><td[^>]*>6</td><td[^>]*>16 × 16</td>", html)   # conv: channels, map
    assert re.search(r">3</td><td[^>]*>10</td><td[^>]*>-</td>", html)        # dense: units, no map
