"""Fast checks of the documentation sources; the real check is the Sphinx build.

The build (``python -m sphinx -W --keep-going -b html docs docs/_build/html``) runs
every gallery script and fails on any warning.  These tests catch the cheap
mistakes without building: gallery scripts that do not compile or lack their
title and paper, a quick start that drifted from the README, guide snippets that
no longer run, public names without a docstring for the API pages.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((DOCS / "examples").glob("*/plot_*.py"))
PAPER_EXAMPLES = [p for p in EXAMPLES if p.parent.name == "from_papers"]
PACKAGES = ("stimuli", "v1model", "analysis")
# a citation: "Author (1999)", "Author et al. (1999)", "Author & Other 1999", ...
CITATION = re.compile(r"[A-Z][a-z]+[^()\n]{0,80}\(?(19|20)\d\d\)?")


def _ids(paths):
    return [f"{p.parent.name}/{p.name}" for p in paths]


def test_gallery_has_its_sections():
    sections = {p.parent.name for p in EXAMPLES}
    assert sections == {"from_papers", "claims", "howto"}
    for section in sections:
        assert (DOCS / "examples" / section / "README.rst").is_file()


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_example_compiles_and_opens_with_a_title(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))  # a syntax error fails here
    compile(tree, str(path), "exec")
    docstring = ast.get_docstring(tree, clean=False)
    assert docstring, f"{path.name} must open with a docstring (the gallery page's text)"
    lines = docstring.strip("\n").splitlines()
    title, underline = lines[0], lines[1]
    assert set(underline) == {"="} and len(underline) >= len(title), (
        f"{path.name}: the first line must be a title underlined with '=' at least as long"
    )
    star = [node for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)]
    assert not star, f"{path.name} uses a star import"


@pytest.mark.parametrize("path", PAPER_EXAMPLES, ids=_ids(PAPER_EXAMPLES))
def test_paper_example_names_its_paper(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    intro = "\n".join(docstring.splitlines()[2:12])
    assert CITATION.search(intro), f"{path.name} must name the paper it reproduces near the top"


def _readme_notebook_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, flags=re.S)
    assert match, "README.md has no ```python block"
    return [line.rstrip() for line in match.group(1).strip("\n").splitlines()]


def test_quickstart_runs_the_readme_example_verbatim():
    text = (DOCS / "quickstart.rst").read_text(encoding="utf-8")
    body = []
    for line in text.split(".. plot::", 1)[1].splitlines()[1:]:
        if line.strip() and not line.startswith("   "):
            break  # the end of the directive
        if not line.lstrip().startswith(":"):  # skip the directive's options
            body.append(line[3:].rstrip())
    readme = _readme_notebook_block()
    start = body.index(readme[0])
    assert body[start:start + len(readme)] == readme, (
        "docs/quickstart.rst's plot no longer matches the README's notebook example"
    )


@pytest.mark.parametrize("page", ["concepts.rst"])
def test_guide_snippets_run(page):
    result = doctest.testfile(str(DOCS / page), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False,
                              report=True)
    assert result.attempted > 10
    assert result.failed == 0, f"{result.failed} doctest example(s) in docs/{page} failed"


def test_formats_page_snippets_run():
    """docs/formats.rst exports to xarray and NWB: it needs both optional extras."""
    pytest.importorskip("xarray")
    pytest.importorskip("pynwb")
    result = doctest.testfile(str(DOCS / "formats.rst"), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False,
                              report=True)
    assert result.attempted >= 10
    assert result.failed == 0, f"{result.failed} doctest example(s) in docs/formats.rst failed"


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_have_a_summary_line(package):
    """autosummary tables show each name's first docstring line; none may be empty."""
    module = importlib.import_module(package)
    missing = [name for name in module.__all__
               if not (getattr(getattr(module, name), "__doc__", None) or "").strip()]
    assert not missing, f"{package}: public names without a docstring: {missing}"
