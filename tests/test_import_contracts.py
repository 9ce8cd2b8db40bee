"""The import contracts of pyproject.toml hold, and break when a forbidden import is added.

``lint-imports`` (import-linter) checks the direction of the layers in CI.  These
tests run it on a copy of the three packages: the copy as it is must keep every
contract, and the same copy with one injected forbidden import must break the
contract that forbids it — so the check is shown able to fail.
"""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("stimuli", "v1model", "analysis")
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of the packages (sources only) and of the contracts, in a fresh folder."""
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__", "data", "*.npz"))
    lines = [f"root_packages = {CONTRACTS['root_packages']!r}"]
    text = "[tool.importlinter]\n" + "\n".join(lines) + "\n"
    for contract in CONTRACTS["contracts"]:
        text += "\n[[tool.importlinter.contracts]]\n"
        text += "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in
                        contract.items())
    (root / "pyproject.toml").write_text(text)
    return root


def _lint(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter in ``root`` (a fresh interpreter, so it reads the copy)."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=120)


def _inject(path: Path, line: str) -> str:
    original = path.read_text()
    head, sep, rest = original.partition("\nfrom __future__ import annotations\n")
    path.write_text(head + sep + line + "\n" + rest if sep else line + "\n" + original)
    return original


def test_the_packages_keep_every_contract(tree):
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS['contracts'])} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("stimuli/table.py", "import analysis.recording  # noqa", "stimuli imports neither"),
        ("stimuli/gratings.py", "import v1model.cells  # noqa", "stimuli imports neither"),
        ("v1model/cnn.py", "from analysis import tuning  # noqa",
         "v1model (outside v1model.app) never imports analysis"),
        ("analysis/tuning.py", "import v1model.app.registry  # noqa",
         "analysis never imports the application layer"),
        ("stimuli/_shared/io.py", "import stimuli.display  # noqa",
         "the shared internals"),
    ],
    ids=["stimuli->analysis", "stimuli->v1model", "v1model->analysis", "analysis->app",
         "shared->stimuli"],
)
def test_an_injected_forbidden_import_breaks_its_contract(tree, module, line, broken):
    original = _inject(tree / module, line)
    try:
        result = _lint(tree)
    finally:
        (tree / module).write_text(original)
    assert result.returncode != 0
    verdicts = [m.group(1) for line in result.stdout.splitlines()
                if (m := re.match(re.escape(broken) + r".* (KEPT|BROKEN)\b", line))]
    assert verdicts == ["BROKEN"], result.stdout
    # the report names the injected import
    report = result.stdout.split("Broken contracts")[-1]
    assert module.replace("/", ".").removesuffix(".py") in report
