"""The applications on top of the three packages: the ``v1model`` command line and its jobs.

This is the only code of ``v1model`` that imports ``analysis`` (see the
architecture page of the docs).  Each job composes public functions of
``stimuli``, ``v1model`` and ``analysis``; the model registry
(:mod:`v1model.app.registry`) names the models the jobs can run, and
:func:`compare_models` runs the ``compare`` job on model objects from Python.
"""

from v1model.app.compare import compare_models, run_compare_job
from v1model.app.registry import (
    build_model,
    get_model,
    list_models,
    load_entry_points,
    register_model,
    unregister_model,
)

__all__ = ["build_model", "compare_models", "get_model", "list_models", "load_entry_points",
           "register_model", "run_compare_job", "unregister_model"]

# installed packages' models (the ``v1model.models`` entry points), now that every
# name above exists for them to import
load_entry_points()
