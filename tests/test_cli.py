import json
import os

import pytest

from v1model.app.cli import main


def test_gallery_writes_pngs(tmp_path, capsys):
    assert main(["gallery", "--out", str(tmp_path), "--size", "64", "--ppd", "16"]) == 0
    pngs = sorted(os.listdir(tmp_path / "gallery"))
    assert len(pngs) >= 10 and all(p.endswith(".png") for p in pngs)
    assert str(tmp_path) in capsys.readouterr().out


def test_protocols_lists_every_protocol(capsys):
    from stimuli.protocols import list_protocols

    assert main(["protocols"]) == 0
    out = capsys.readouterr().out
    for name in list_protocols():
        assert f"{name}:" in out


def test_tuning_writes_tables_figures_and_summary(tmp_path):
    argv = ["tuning", "--out", str(tmp_path), "--size", "32", "--ppd", "16",
            "--population", "macaque", "--n-units", "6", "--no-progress"]
    assert main(argv) == 0
    folder = tmp_path / "tuning"
    for layer in ("simple", "complex"):
        for suffix in ("recording.npz", "tuning.csv", "tuning.json", "curves.png", "polar.png"):
            assert (folder / f"{layer}_{suffix}").stat().st_size > 0
    summary = json.loads((folder / "summary.json").read_text())
    cv = summary["layers"]["complex"]["median_circular_variance"]
    assert 0.0 <= cv <= 1.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tuning", "--ppd", "-3"], "positive"),
        (["tuning", "--size", "ten"], "integer"),
        (["tuning", "--population", "mouse"], "invalid choice"),
        (["gallery", "--ppd", "nan"], "positive"),
        (["no-such-command"], "invalid choice"),
        (["compare", "--models", ","], "comma-separated"),
        (["train-cnn", "--epochs", "0"], ">= 1"),
        (["rf", "--method", "stc"], "invalid choice"),
        (["rf", "--n-images", "0"], ">= 1"),
        (["rf", "--model", "alexnet"], "invalid choice"),
    ],
    ids=["negative-ppd", "non-integer-size", "unknown-population", "nan-ppd", "unknown-command",
         "empty-model-list", "zero-epochs", "rf-method", "rf-images", "rf-model"],
)
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_out_must_not_be_a_file(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["gallery", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and err.count("\n") == 1


def test_unknown_model_is_an_error_naming_the_choices(tmp_path, capsys):
    assert main(["compare", "--out", str(tmp_path), "--models", "alexnet", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "models" in err and "v1" in err and "Traceback" not in err


def test_rf_maps_fits_and_summarises(tmp_path, capsys):
    argv = ["rf", "--out", str(tmp_path), "--size", "24", "--n-images", "600", "--no-progress"]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "rf" / "v1_simple_white_noise_summary.json").read_text())
    assert summary["method"] == "white_noise" and summary["n_units"] == 144
    assert "receptive fields written to" in capsys.readouterr().out
    for suffix in ("maps.npz", "fits.csv", "fits.json", "maps.png", "convergence.png"):
        assert (tmp_path / "rf" / f"v1_simple_white_noise_{suffix}").stat().st_size > 0


def test_rf_library_errors_are_reported_without_traceback(tmp_path, capsys):
    assert main(["rf", "--out", str(tmp_path), "--model", "cnn", "--size", "48"]) == 2
    err = capsys.readouterr().err
    assert "v1model rf: error:" in err and "fixed display" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["tuning", "rf", "compare", "protocols", "train-cnn"])
def test_help_states_units(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert any(unit in text for unit in ("deg", "degree", "c/deg", "cycles/degree", "seconds"))
