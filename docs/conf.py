"""Sphinx configuration for the v1model documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "v1model"
author = "the v1model developers"
copyright = "2026, the v1model developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
numpydoc_show_class_members = False
plot_include_source = True
plot_html_show_source_link = False
plot_formats = [("png", 100)]

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
}

intersphinx_mapping = {}
html_theme = "pydata_sphinx_theme"
exclude_patterns = ["_build", "examples/README.rst"]
