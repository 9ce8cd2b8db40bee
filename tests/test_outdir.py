"""Output folders are written as a unit: complete or absent, never two runs mixed.

``v1model.app.outdir.staged_output`` is the one mechanism every job uses; these tests
check it directly (success, failure, interrupt, a run killed outright, a kill between
the two renames of the swap) and through real jobs (gallery, rf).
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from stimuli._shared.io import atomic_open
from v1model.app.outdir import remove_stale, remove_stale_files, staged_output

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tree(path):
    """{relative path: contents} of every file under ``path``."""
    out = {}
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, path)] = fh.read()
    return out


def _complete_run(folder, **files):
    with staged_output(folder) as stage:
        for name, text in files.items():
            with atomic_open(os.path.join(stage.path, name)) as fh:
                fh.write(text)
    return stage


def test_success_replaces_the_folder_and_leaves_nothing_else(tmp_path):
    folder = tmp_path / "job"
    _complete_run(folder, **{"report.html": "old", "extra.csv": "old"})
    stage = _complete_run(folder, **{"report.html": "new"})
    assert os.listdir(tmp_path) == ["job"]
    assert _tree(folder) == {"report.html": b"new"}  # nothing of the old run mixed in
    assert stage.final(os.path.join(stage.path, "report.html")) == str(folder / "report.html")
    assert oct(os.stat(folder).st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError, ValueError])
def test_a_failed_run_leaves_the_old_output_untouched(tmp_path, error):
    folder = tmp_path / "job"
    _complete_run(folder, **{"report.html": "old", "summary.json": "{}"})
    before = _tree(folder)
    with pytest.raises(error):
        with staged_output(folder) as stage:
            with atomic_open(os.path.join(stage.path, "recording.npz"), "wb") as fh:
                fh.write(b"new, half done")
            raise error("stopped")
    assert _tree(folder) == before
    assert os.listdir(tmp_path) == ["job"]  # the staging folder is gone


def test_a_failed_first_run_leaves_no_folder(tmp_path):
    with pytest.raises(OSError):
        with staged_output(tmp_path / "job"):
            raise OSError(28, "No space left on device")
    assert os.listdir(tmp_path) == []


def test_output_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "job").write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        with staged_output(tmp_path / "job"):
            pass


# The child writes part of a new run into an existing folder, then waits to be killed.
KILLED_CHILD = textwrap.dedent("""
    import os, sys, time
    from stimuli._shared.io import atomic_path
    from v1model.app.outdir import staged_output

    with staged_output(sys.argv[1]) as stage:
        with open(os.path.join(stage.path, "recording.npz"), "w") as fh:
            fh.write("new, complete file")
        with atomic_path(os.path.join(stage.path, "big.npz")) as tmp:
            with open(tmp, "w") as fh:
                fh.write("half a file")
            with atomic_path(os.path.join(sys.argv[1], "..", "model.npz")) as tmp2:
                open(tmp2, "w").close()
                print("ready", flush=True)
                time.sleep(60)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_killed_run_is_cleaned_up_by_the_next_one(tmp_path):
    folder = tmp_path / "job"
    _complete_run(folder, **{"report.html": "old"})
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(folder)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    # killed outright: its staging folder and temporary file stay behind ...
    left = sorted(os.listdir(tmp_path))
    assert any(n.startswith(".job.tmp-") and n.endswith(".part") for n in left), left
    assert any(n.startswith(".tmp-") and ".part" in n for n in left), left
    assert _tree(folder) == {"report.html": b"old"}  # ... and the old output is whole
    # the next run of the job removes them (and so does the CLI's --out check)
    _complete_run(folder, **{"report.html": "new"})
    removed = remove_stale_files(str(tmp_path))
    assert len(removed) == 1
    assert sorted(os.listdir(tmp_path)) == ["job"]
    assert _tree(folder) == {"report.html": b"new"}


def test_live_runs_are_left_alone(tmp_path):
    mine = tmp_path / f".job.tmp-{os.getpid()}-abc.part"
    mine.mkdir()
    (tmp_path / f".tmp-{os.getpid()}-xyz.part").write_text("being written")
    assert remove_stale(str(tmp_path), "job") == []
    assert remove_stale_files(str(tmp_path)) == []
    assert mine.is_dir()


def test_a_kill_between_the_renames_of_the_swap_restores_the_old_folder(tmp_path):
    # the old folder was moved aside, the new one not yet in place, when the run died
    aside = tmp_path / ".job.old-999999999-1a2b"
    aside.mkdir()
    (aside / "report.html").write_text("old")
    dead = tmp_path / ".job.tmp-999999999-zz.part"
    dead.mkdir()
    (dead / "report.html").write_text("new, complete but never swapped in")
    remove_stale(str(tmp_path), "job")
    assert sorted(os.listdir(tmp_path)) == ["job"]
    assert _tree(tmp_path / "job") == {"report.html": b"old"}


def test_keep_carries_other_runs_files_over(tmp_path):
    folder = tmp_path / "rf"
    _complete_run(folder, **{"v1_simple_gratings_summary.json": "other run",
                             "v1_simple_white_noise_summary.json": "old",
                             "v1_simple_white_noise_fits.csv": "old"})
    (folder / ".tmp-999999999-q.part").write_text("stale")
    with staged_output(folder, keep=lambda n: not n.startswith("v1_simple_white_noise_")) as s:
        with atomic_open(os.path.join(s.path, "v1_simple_white_noise_summary.json")) as fh:
            fh.write("new")
    assert _tree(folder) == {"v1_simple_gratings_summary.json": b"other run",
                             "v1_simple_white_noise_summary.json": b"new"}


def test_gallery_interrupted_midway_keeps_the_previous_gallery(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from v1model.app.cli import main

    assert main(["gallery", "--out", str(tmp_path), "--size", "32", "--ppd", "16"]) == 0
    before = _tree(tmp_path)
    calls = []
    original = plt.imsave

    def interrupted_imsave(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(plt, "imsave", interrupted_imsave)
    assert main(["gallery", "--out", str(tmp_path), "--size", "48", "--ppd", "16"]) == 130
    assert _tree(tmp_path) == before
    assert os.listdir(tmp_path) == ["gallery"]


def test_rf_runs_share_their_folder_and_a_rerun_replaces_only_its_own_files(tmp_path):
    from v1model.app.rf import run_rf_job

    first = run_rf_job(tmp_path, layer="simple", method="gratings", grid=3, size=16,
                       progress=False)
    assert first["folder"] == str(tmp_path / "rf")
    assert all(p.startswith(first["folder"] + os.sep) for p in first["files"])
    second = run_rf_job(tmp_path, layer="complex", method="gratings", grid=3, size=16,
                        progress=False)
    names = set(os.listdir(tmp_path / "rf"))
    assert {os.path.basename(p) for p in first["files"] + second["files"]} <= names
    complex_files = {n: (tmp_path / "rf" / n).read_bytes() for n in names if "complex" in n}
    assert len(complex_files) >= 3
    summary = tmp_path / "rf" / "v1_simple_gratings_summary.json"
    stamp = summary.stat().st_mtime_ns
    run_rf_job(tmp_path, layer="simple", method="gratings", grid=3, size=16, progress=False)
    assert summary.stat().st_mtime_ns != stamp  # rewritten ...
    assert {n: (tmp_path / "rf" / n).read_bytes()  # ... the other run's files untouched
            for n in names if "complex" in n} == complex_files
    assert set(os.listdir(tmp_path / "rf")) == names
    assert os.listdir(tmp_path) == ["rf"]
