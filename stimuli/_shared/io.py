"""Atomic file writing and safe ``.npz`` reading, shared by every package.

Files are written to a temporary file in the destination folder and renamed
over the destination only when complete, so an interruption never leaves a
corrupt file (``os.replace`` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    ``suffix`` is appended to the temporary name (``np.savez`` insists on ``.npz``).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"directory for {path!r} does not exist: {directory!r}")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part" + suffix)
    os.close(fd)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the result the mode an ordinary open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[Any]:
    """Open a temporary file for writing; it replaces ``path`` when the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, newline="" if "b" not in mode else None) as fh:
        yield fh


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _umask()


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping) -> None:
    """Write ``arrays`` plus JSON-serialisable ``meta`` to one compressed ``.npz``, atomically.

    The metadata is stored as a JSON string under the key ``__meta__`` so the file
    loads with ``allow_pickle=False``.
    """
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    for key, arr in payload.items():
        if arr.dtype == object:
            raise TypeError(f"array {key!r} has dtype object, which cannot be saved without pickle")
    payload["__meta__"] = np.asarray(json.dumps(meta, default=_json_default))
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **payload)


def load_npz(path: str | os.PathLike, kind: str) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save_npz`; ``kind`` names the expected content.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is truncated, not an ``.npz``, or was not written by ``save_npz``
        with ``meta["kind"] == kind``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise ValueError(
            f"{path!r} is not a readable {kind} file (truncated or foreign): {exc}"
        ) from exc
    if "__meta__" not in arrays:
        raise ValueError(f"{path!r} is not a {kind} file: it has no metadata")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path!r} has corrupt metadata: {exc}") from exc
    if meta.get("kind") != kind:
        raise ValueError(f"{path!r} holds a {meta.get('kind')!r}, not a {kind!r}")
    return arrays, meta


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"metadata value {obj!r} of type {type(obj).__name__} is not JSON-serialisable")


def jsonable(obj: Any) -> Any:
    """Nested dicts/lists of numpy values → plain Python (NaN/inf → None).

    Examples
    --------
    >>> jsonable({"a": np.arange(2), "b": np.float32("nan"), "c": (np.bool_(True),)})
    {'a': [0, 1], 'b': None, 'c': [True]}
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if np.isfinite(value) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)
