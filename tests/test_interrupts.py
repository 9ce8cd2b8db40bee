"""Ctrl-C during a brian2 simulation raises KeyboardInterrupt instead of truncating it.

brian2 answers the first SIGINT of a run by stopping at the end of the current step
and returning normally; ``v1model._brian.simulate`` turns that off, so nothing
downstream ever sees a partial spike train presented as a complete one.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The child announces when brian2's Network.run has started, then runs a long
# simulation (20 s of biological time on the numpy target: tens of seconds of wall time).
CHILD = textwrap.dedent("""
    import sys
    import brian2
    import numpy as np
    from stimuli.display import Display
    from v1model.spiking import SpikingV1

    original = brian2.Network.run
    def announcing_run(self, *args, **kwargs):
        print("running", flush=True)
        return original(self, *args, **kwargs)
    brian2.Network.run = announcing_run

    model = SpikingV1(Display((32, 32), 16), v1={"population": "grid",
            "orientations": [0], "sfs": [2]},
                      static_duration=20.0, target="numpy", rng=0)
    try:
        trains = model.spike_trains(np.zeros((1, 32, 32)), "simple")
    except KeyboardInterrupt as exc:
        print(f"interrupted: {exc}", flush=True)
        sys.exit(130)
    print(f"completed {trains.duration} s with {len(trains.times)} spikes", flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_simulation_raises_keyboard_interrupt(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # blocks until the run starts (or the child dies)
        assert line.strip() == "running", proc.stderr.read()
        time.sleep(0.5)
        start = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        elapsed = time.perf_counter() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (out, err)
    assert out.startswith("interrupted"), (out, err)
    assert "completed" not in out
    assert elapsed < 10.0  # stops within a few simulation steps, not at the end of 20 s


def test_a_stopped_run_is_an_error_not_a_short_result(monkeypatch):
    """Any early stop (here brian2.stop() from inside the run) raises; no partial spikes."""
    brian2 = pytest.importorskip("brian2")
    import numpy as np

    from stimuli.display import Display
    from v1model.spiking import SpikingV1

    original = brian2.Network.run

    def stopping_run(self, *args, **kwargs):
        # a network_operation that requests a stop after the first step
        op = brian2.NetworkOperation(lambda: setattr(brian2.Network, "_globally_stopped", True),
                                     name="test_stopper")
        self.add(op)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(brian2.Network, "run", stopping_run)
    model = SpikingV1(Display((32, 32), 16), v1={"population": "grid",
            "orientations": [0], "sfs": [2]},
                      static_duration=0.1, target="numpy", rng=0)
    with pytest.raises(KeyboardInterrupt, match="interrupted: stopped after"):
        model.spike_trains(np.zeros((1, 32, 32)), "simple")
    assert brian2.prefs["core.stop_on_keyboard_interrupt"] is True  # restored


def _tree(path):
    out = {}
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, path)] = fh.read()
    return out


def _read_until(stream, marker: str, timeout: float) -> str:
    """Read ``stream`` (unbuffered bytes) until ``marker`` appears; return what was read."""
    import selectors

    text = ""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        while marker not in text:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"{marker!r} not seen in {timeout} s: {text[-2000:]}")
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                raise AssertionError(f"the process ended before {marker!r}: {text[-2000:]}")
            text += chunk.decode("utf-8", "replace")
    return text


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_the_spiking_stage_of_compare(tmp_path):
    """Ctrl-C in ``v1model compare`` while brian2 runs: exit 130, one line, old output kept.

    The signal goes to the whole process group, as a terminal's Ctrl-C does, so the
    figure-drawing worker processes receive it too.
    """
    out = tmp_path / "out"
    earlier = out / "compare"
    (earlier / "recordings").mkdir(parents=True)
    (earlier / "report.html").write_text("<html>an earlier complete report</html>")
    (earlier / "summary.json").write_text('{"earlier": true}')
    (earlier / "recordings" / "v1_simple_orientation.npz").write_bytes(b"earlier")
    before = _tree(out)

    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "v1model", "compare", "--quick",
                             "--models", "spiking", "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        # the model runs in a worker process (no progress bars there): the worker says
        # it starts the battery, whose first protocol (72 gratings) is one brian2 run of
        # about 2 s after the network is built
        seen = _read_until(proc.stderr, "[Spiking V1] layers simple, complex:", timeout=120)
        time.sleep(1.5)
        staged = [n for n in os.listdir(out) if n.startswith(".compare.tmp-")]
        assert len(staged) == 1  # the run writes into its own temporary folder
        os.killpg(proc.pid, signal.SIGINT)
        rest, rest_err = proc.communicate(timeout=60)
        err = seen + rest_err.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert err.rstrip().splitlines()[-1].split("\r")[-1] == "v1model compare: interrupted", err
    assert b"comparison report written" not in rest
    assert _tree(out) == before          # the earlier output, byte for byte
    assert os.listdir(out) == ["compare"]  # and no temporary folder left beside it
