"""Sphinx configuration for the v1model documentation.

Build, with warnings as errors (the gallery examples run during the build)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Generated at build time (all ignored by git): ``docs/gen_modules/`` (API stubs from
each package's ``__all__``, the ``--help`` text of every CLI subcommand),
``docs/auto_examples/`` (the executed gallery) and ``docs/_build/``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from pathlib import Path

# One BLAS thread for the whole build (set before numpy is first imported, here
# through matplotlib).  The gallery's matrix products are small; on a machine
# shared with other jobs, multithreaded OpenBLAS spin-waits and ran them up to
# ten times slower.  An explicit setting in the environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "gen_modules"
sys.path.insert(0, str(ROOT))

project = "v1model"
author = "the v1model developers"
copyright = "2026, the v1model developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "examples", "**.ipynb_checkpoints"]
nitpicky = False
default_role = "code"

# ----------------------------------------------------------------------- API reference
PACKAGES = ("stimuli", "v1model", "analysis")
#: Reading order of the modules on each API page; modules not listed follow in
#: ``__all__`` order, so new modules appear without editing this file.
MODULE_ORDER = {
    "stimuli": ["display", "gratings", "noise", "natural", "textures", "transforms",
                "datasets", "protocols", "image_protocols", "table"],
    "v1model": ["base", "v1", "gabor", "cells", "population", "hmax.model", "hmax.s1",
                "hmax.c1", "hmax.s2", "hmax.c2", "hmax.prototypes", "spiking", "cnn",
                "ensemble", "layers", "mlp", "torch_adapter"],
    "analysis": ["runner", "recording", "tuning", "orientation_metrics", "sf_metrics",
                 "figures.tuning", "modulation",
                 "response_functions", "receptive_fields", "gabor_fit",
                 "figures.receptive_fields", "figures.representations", "representations",
                 "reference", "properties", "invariance", "decoding", "sweeps", "claims"],
}


def _api_groups(package: str) -> list[tuple[str, str, list[str]]]:
    """The public names of ``package`` (its ``__all__``) grouped by defining submodule.

    Returns ``(submodule, first line of its docstring, names)`` per submodule, in
    :data:`MODULE_ORDER` and then ``__all__`` order, so the API pages list exactly
    the packages' own exports.
    """
    pkg = importlib.import_module(package)
    groups: dict[str, list[str]] = {}
    for name in pkg.__all__:
        module = getattr(getattr(pkg, name), "__module__", None) or package
        if not module.startswith(package + "."):
            module = package
        groups.setdefault(module, []).append(name)
    rank = {f"{package}.{m}": i for i, m in enumerate(MODULE_ORDER.get(package, []))}
    ordered = sorted(groups, key=lambda m: rank.get(m, len(rank)))  # stable: __all__ order
    out = []
    for module in ordered:
        doc = (importlib.import_module(module).__doc__ or module).strip().splitlines()[0]
        out.append((module, doc.rstrip("."), groups[module]))
    return out


def _remove_stale_stubs() -> None:
    """Delete API stubs of names no longer exported (they would be orphan pages)."""
    for package in PACKAGES:
        exported = set(importlib.import_module(package).__all__)
        for stub in GENERATED.glob(f"{package}.*.rst"):
            if stub.stem[len(package) + 1:] not in exported:
                stub.unlink()


_remove_stale_stubs()
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_context = {"api_groups": {p: _api_groups(p) for p in PACKAGES}}
autodoc_typehints = "none"
autodoc_member_order = "bysource"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# ------------------------------------------------------------------- CLI --help texts


def _write_cli_help() -> None:
    """Write ``gen_modules/cli/<command>.txt`` (the ``--help`` of every subcommand).

    ``docs/cli.rst`` includes ``gen_modules/cli/commands.inc``, so subcommands added to
    ``v1model/app/cli.py`` appear without editing the docs.
    """
    from v1model.app.cli import build_parser

    os.environ["COLUMNS"] = "88"  # argparse wraps at the terminal width
    parser = build_parser()
    out = GENERATED / "cli"
    out.mkdir(parents=True, exist_ok=True)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    texts = {"v1model": parser.format_help()}
    for name, subparser in sub.choices.items():
        texts[f"v1model {name}"] = subparser.format_help()
    lines = []
    for title, text in texts.items():
        filename = title.replace(" ", "_") + ".txt"
        (out / filename).write_text(text, encoding="utf-8")
        lines += [f".. _cli-{title.replace(' ', '-')}:", "", f"``{title}``",
                  "-" * (len(title) + 4), "", f".. literalinclude:: /gen_modules/cli/{filename}",
                  "   :language: none", ""]
    index = "\n".join(lines)
    path = out / "commands.inc"
    if not path.exists() or path.read_text(encoding="utf-8") != index:
        path.write_text(index, encoding="utf-8")


with contextlib.redirect_stdout(io.StringIO()):
    _write_cli_help()

# ----------------------------------------------------------------- figures and gallery
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.dpi": 100}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "subsection_order": ["examples/from_papers", "examples/claims", "examples/howto"],
    "within_subsection_order": "FileNameSortKey",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "write_computation_times": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "doc_module": PACKAGES,
    "backreferences_dir": "gen_modules/backreferences",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}

# ------------------------------------------------------------------------------ HTML
html_theme = "pydata_sphinx_theme"
html_title = "v1model"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []
html_show_sourcelink = False
