"""Doctests of optional features are skipped, not failed, when their extra is missing.

``Recording.to_xarray`` and friends need the ``xarray`` extra and ``analysis.nwb``
needs ``nwb``; the ``test`` extra installs both, so CI runs every example.
"""

import importlib

import pytest
from _pytest.doctest import DoctestItem

# (module an example needs, how to recognise the example by its dotted name)
_OPTIONAL = (
    ("xarray", lambda name: name.endswith((".to_xarray", ".from_xarray"))),
    ("pynwb", lambda name: name.startswith("analysis.nwb.")),
)


def _missing(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return True
    return False


def pytest_collection_modifyitems(config, items):
    missing = [(module, match) for module, match in _OPTIONAL if _missing(module)]
    for item in items:
        if isinstance(item, DoctestItem):
            for module, match in missing:
                if match(item.name):
                    item.add_marker(pytest.mark.skip(reason=f"needs {module} (optional extra)"))
