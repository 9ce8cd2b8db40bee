import json
import os
import sys

import pytest

from stimuli.display import Display
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
    # the default V1 model's simple layer on the job's 24 px display, every unit at the
    # display centre
    from v1model.app.rf import DEFAULT_PPD
    from v1model.v1 import V1Model

    expected = V1Model(Display((24, 24), DEFAULT_PPD)).n_channels("simple")
    assert summary["method"] == "white_noise" and summary["n_units"] == expected
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


# ------------------------------------------------------------ errors, exit status, Ctrl-C
#
# Every subcommand that does work, and the function of the job it runs.  The jobs are
# replaced so that the tests are fast and prove that a user error is found before any
# work starts.

JOBS = {"gallery": "write_stimulus_gallery", "tuning": "run_tuning_job",
        "compare": "run_compare_job", "rf": "run_rf_job", "claims": "run_claims_job",
        "train-cnn": "train_cnn"}
SEEDED = ["tuning", "compare", "rf", "claims", "train-cnn"]


@pytest.fixture
def jobs(monkeypatch):
    """Replace every job by ``behaviour`` (default: fail the test — no work may start)."""
    import v1model.app.cli as cli

    state = {"behaviour": lambda: pytest.fail("the job started")}

    def fake(*args, **kwargs):
        return state["behaviour"]()

    for name in JOBS.values():
        monkeypatch.setattr(cli, name, fake)
    return state


def _one_line_error(err, *words):
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("command", SEEDED)
@pytest.mark.parametrize("seed", ["-1", "1.5", str(2**32), "x"])
def test_bad_seeds_are_usage_errors_before_any_work(command, seed, jobs, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--seed", seed, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    _one_line_error(capsys.readouterr().err, f"v1model {command}: error:", "--seed", seed)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["gallery", "tuning", "rf", "protocols"])
@pytest.mark.parametrize("size", ["4", "100000", "-8"])
def test_sizes_out_of_range_are_usage_errors(command, size, jobs, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--size", size])
    assert exc.value.code == 2
    _one_line_error(capsys.readouterr().err, "--size", size)


@pytest.mark.parametrize("command", list(JOBS))
def test_an_unwritable_out_is_a_usage_error_before_any_work(command, jobs, capsys):
    # a path below a file: no user (not even root) can create it
    assert main([command, "--out", os.path.join(os.devnull, "out")]) == 2
    _one_line_error(capsys.readouterr().err, f"v1model {command}: error:", "--out",
                    "cannot be written")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="permission bits (root ignores them)")
@pytest.mark.parametrize("command", list(JOBS))
def test_a_read_only_out_is_a_usage_error(command, jobs, tmp_path, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert main([command, "--out", str(out)]) == 2
    finally:
        out.chmod(0o700)
    _one_line_error(capsys.readouterr().err, "cannot be written", "Permission denied")


@pytest.mark.parametrize("command", list(JOBS))
def test_ctrl_c_during_a_job_exits_130_with_one_line(command, jobs, tmp_path, capsys):
    def interrupted():
        raise KeyboardInterrupt

    jobs["behaviour"] = interrupted
    assert main([command, "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err == f"v1model {command}: interrupted\n"


@pytest.mark.parametrize("command", list(JOBS))
def test_an_os_error_during_a_job_exits_1_with_one_line(command, jobs, tmp_path, capsys):
    def disk_full():
        raise OSError(28, "No space left on device")

    jobs["behaviour"] = disk_full
    assert main([command, "--out", str(tmp_path)]) == 1
    _one_line_error(capsys.readouterr().err, f"v1model {command}: error: OSError:",
                    "No space left on device")


@pytest.mark.parametrize("command", list(JOBS))
def test_a_library_error_exits_2_with_one_line(command, jobs, tmp_path, capsys):
    from stimuli.resources import MemoryBudgetError

    def too_big():
        raise MemoryBudgetError("this would need 14.6 TiB\nover the budget; lower --size")

    jobs["behaviour"] = too_big
    assert main([command, "--out", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "14.6 TiB over the budget")


def test_claims_that_could_not_run_make_the_command_fail(jobs, tmp_path, capsys):
    jobs["behaviour"] = lambda: {
        "folder": str(tmp_path / "claims"), "index": "index.html", "summary": "summary.json",
        "total_seconds": 1.0, "pages": {"hierarchy": "p1.html", "pooling": "p2.html"},
        "verdicts": {"hierarchy": "supported", "pooling": "mixed"},
        "borderline": {"hierarchy": False, "pooling": False}, "networks": ["a", "b"],
        "failed": {"pooling": ["b"]}}
    assert main(["claims", "--out", str(tmp_path)]) == 1
    _one_line_error(capsys.readouterr().err, "1 of 2 claims could not be run", "pooling on b")


def test_the_cli_removes_temporary_files_of_killed_runs_from_out(jobs, tmp_path):
    dead = tmp_path / ".tmp-999999999-abc.part.npz"   # a killed train-cnn's half file
    dead.write_bytes(b"\0" * 1000)
    live = tmp_path / f".tmp-{os.getpid()}-abc.part"   # a save in progress (this process)
    live.write_bytes(b"")

    def interrupted():
        raise KeyboardInterrupt

    jobs["behaviour"] = interrupted
    assert main(["train-cnn", "--out", str(tmp_path)]) == 130
    assert not dead.exists() and live.exists()


def test_library_jobs_check_their_seed_before_any_work(tmp_path):
    from v1model.app.claims import run_claims_job
    from v1model.app.tuning import run_tuning_job

    with pytest.raises(ValueError, match="seed"):
        run_claims_job(tmp_path, seed=-1)
    with pytest.raises(ValueError, match="rng"):
        run_tuning_job(tmp_path, rng=-1)
    assert os.listdir(tmp_path) == []


def test_python_m_v1model_reports_a_bad_seed_at_once(tmp_path):
    import subprocess
    import time

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "v1model", "tuning", "--seed", "-1", "--out",
                           str(tmp_path)], cwd=root, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=root), timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    _one_line_error(proc.stderr, "v1model tuning: error: argument --seed")
    assert time.perf_counter() - start < 30  # the imports; no protocol runs


def test_ctrl_c_while_the_command_line_imports_exits_130(monkeypatch, capsys):
    import builtins

    from v1model.__main__ import run

    real_import = builtins.__import__

    def interrupted_import(name, *args, **kwargs):
        if name == "v1model.app.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    assert run() == 130
    assert capsys.readouterr().err == "v1model: interrupted\n"
