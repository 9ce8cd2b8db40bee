"""Lazy public names of a package (PEP 562), shared by ``v1model`` and ``analysis`` (private).

Only the standard library is imported here: importing a package stays cheap, and each
public name imports its submodule on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def lazy_attribute(package: str, lazy: Mapping[str, str], namespace: dict[str, Any],
                   name: str) -> Any:
    """The body of a package's ``__getattr__``: ``name`` imported on first use.

    ``lazy`` maps each public name to the submodule defining it; the value is cached in
    ``namespace`` (the package's globals) so the next look-up is a plain one.  A name
    not in ``lazy`` is tried as a submodule (``package.name``), as when the package
    imported them all; anything else raises AttributeError.
    """
    module = lazy.get(name)
    if module is None:
        if not name.startswith("_"):
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value
