"""Atomic file writing and safe ``.npz`` reading, shared by every package.

Files are written to a temporary file in the destination folder and renamed
over the destination only when complete, so an interruption never leaves a
corrupt file (``os.replace`` is atomic on POSIX and Windows).

``.npz`` files are read defensively (:func:`load_npz`): kind, keys, shapes and
dtypes are checked from the zip directory and the ``.npy`` headers before any
array data is decompressed, with bounded memory for hostile files.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import numbers
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from stimuli._shared.validation import check_path
from stimuli.resources import check_memory


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    ``suffix`` is appended to the temporary name (``np.savez`` insists on ``.npz``).
    If ``path`` is a symbolic link, the file it points to is replaced (the link
    stays a link), as ``open(path, "w")`` would.
    """
    path = check_path("path", path)
    if os.path.islink(path):
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"directory for {path!r} does not exist: {directory!r}")
    # the pid in the name lets a later run tell a killed writer's leftovers from a live one's
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".tmp-{os.getpid()}-",
                               suffix=".part" + suffix)
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


#: The name of :func:`atomic_path`'s temporary files: ``.tmp-<pid>-<random>.part<suffix>``.
TEMPORARY_FILE = re.compile(r"^\.tmp-(?P<pid>\d+)-.+\.part")


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (True when unsure)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # pragma: no cover - no cheap liveness test: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists but belongs to someone else
        return True
    return True


def remove_stale_temporaries(directory: str | os.PathLike) -> list[str]:
    """Remove the temporary files of :func:`atomic_path` left in ``directory`` by dead processes.

    A process killed while saving (SIGKILL, power loss) cannot remove its
    ``.tmp-<pid>-*.part*`` file; a later run calls this on the folders it writes
    to.  Files of processes still running are left alone.  Returns the paths removed.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> open(os.path.join(d, ".tmp-999999999-abc.part.npz"), "w").close()
    >>> [os.path.basename(p) for p in remove_stale_temporaries(d)]
    ['.tmp-999999999-abc.part.npz']
    """
    directory = os.fspath(directory)
    removed: list[str] = []
    if not os.path.isdir(directory):
        return removed
    for entry in sorted(os.listdir(directory)):
        match = TEMPORARY_FILE.match(entry)
        path = os.path.join(directory, entry)
        if match is None or process_alive(int(match["pid"])) or not os.path.isfile(path):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed.append(path)
    return removed


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
    payload["__meta__"] = np.asarray(json.dumps(meta, default=json_default))
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **payload)


#: Most members an ``.npz`` written by :func:`save_npz` may have.
MAX_MEMBERS = 10_000
#: Largest ``__meta__`` member (uncompressed), in bytes.
MAX_META_BYTES = 16 * 2**20
#: Largest ``.npy`` header numpy itself accepts by default, in bytes.
MAX_HEADER_BYTES = 10_000

#: Header of one stored array: its shape and dtype, read without touching its data.
ArrayHeader = tuple[tuple[int, ...], np.dtype]


def load_npz(
    path: str | os.PathLike,
    kind: str,
    *,
    check: Callable[[dict[str, ArrayHeader], dict], None] | None = None,
) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save_npz`; ``kind`` names the expected content.

    Everything that can be checked from the archive's directory is checked before
    any array data is decompressed, so a hostile or foreign file costs a few
    kilobytes of reading, never its declared size: the member list (names, count,
    compression), the metadata (a small JSON object whose ``kind`` must match),
    then every array's ``.npy`` header (shape, dtype; no object arrays, sizes
    consistent with the directory), the total declared size against
    :func:`stimuli.resources.memory_budget`, and finally ``check``.  Only then are
    the arrays read, each straight into its final buffer.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file.
    kind : str
        Required value of ``meta["kind"]``.
    check : callable, optional
        ``check(headers, meta)`` with ``headers = {name: (shape, dtype)}``; raises
        ValueError if the keys, shapes or dtypes are not what the caller expects.

    Returns
    -------
    (arrays, meta) : tuple of dict
        The arrays by name and the metadata dict.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is truncated, not an ``.npz``, was not written by ``save_npz``
        with ``meta["kind"] == kind``, holds malformed or inconsistent members, fails
        ``check``, or would need more memory than the budget (then a
        :class:`stimuli.resources.MemoryBudgetError`).
    """
    path = check_path("path", path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    try:
        with open(path, "rb") as fh, zipfile.ZipFile(fh) as archive:
            members = _members(path, kind, archive)
            if "__meta__" not in members:
                raise ValueError(f"{path!r} is not a {kind} file: it has no metadata")
            meta = _read_meta(path, kind, archive, members.pop("__meta__"))
            headers = {name: _read_header(path, name, archive, info)
                       for name, info in members.items()}
            if check is not None:
                check({name: (h[0], h[1]) for name, h in headers.items()}, meta)
            check_memory(f"loading {path!r}",
                         sum(h[2] for h in headers.values()),
                         "the file holds larger arrays than this process may allocate")
            arrays = {name: _read_data(path, name, archive, members[name], headers[name])
                      for name in members}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            NotImplementedError, struct.error, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{path!r} is not a readable {kind} file (truncated or foreign): {exc}"
        ) from exc
    return arrays, meta


def _members(path: str, kind: str, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's ``name.npy`` members by name, checked from the central directory."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"{path!r} is not a {kind} file: {len(infos)} members "
                         f"(at most {MAX_MEMBERS})")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if not info.filename.endswith(".npy") or info.is_dir():
            raise ValueError(f"{path!r} is not a {kind} file: unexpected member "
                             f"{info.filename!r}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"{path!r} is not a {kind} file: member {info.filename!r} uses "
                             f"compression method {info.compress_type}")
        name = info.filename[:-4]
        if name in members:
            raise ValueError(f"{path!r} is corrupt: member {info.filename!r} appears twice")
        members[name] = info
    return members


def _read_meta(path: str, kind: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    if info.file_size > MAX_META_BYTES:
        raise ValueError(f"{path!r} is not a {kind} file: its metadata declares "
                         f"{info.file_size} bytes (at most {MAX_META_BYTES})")
    shape, dtype, _ = _read_header(path, "__meta__", archive, info)
    if shape != () or dtype.kind != "U":
        raise ValueError(f"{path!r} has corrupt metadata: expected a JSON string, got an array "
                         f"of shape {shape} and dtype {dtype}")
    value = _read_data(path, "__meta__", archive, info, (shape, dtype, dtype.itemsize))
    try:
        meta = json.loads(str(value))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path!r} has corrupt metadata: {exc}") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{path!r} has corrupt metadata: expected a JSON object, got "
                         f"{type(meta).__name__}")
    if meta.get("kind") != kind:
        raise ValueError(f"{path!r} holds a {meta.get('kind')!r}, not a {kind!r}")
    return meta


def _read_header(path: str, name: str, archive: zipfile.ZipFile,
                 info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data bytes)`` of one member from its ``.npy`` header alone.

    At most ``MAX_HEADER_BYTES`` are decompressed; the header's data size must agree
    with the size the zip directory declares for the member.
    """
    where = f"{path!r}, array {name!r}"
    with archive.open(info) as stream:
        prefix = stream.read(8)
        if len(prefix) < 8 or prefix[:6] != b"\x93NUMPY":
            raise ValueError(f"{where}: not a .npy array")
        major = prefix[6]
        if major not in (1, 2):
            raise ValueError(f"{where}: unsupported .npy format version {major}.{prefix[7]}")
        length_bytes = stream.read(2 if major == 1 else 4)
        header_len = int.from_bytes(length_bytes, "little")
        if len(length_bytes) < (2 if major == 1 else 4) or header_len > MAX_HEADER_BYTES:
            raise ValueError(f"{where}: .npy header of {header_len} bytes (at most "
                             f"{MAX_HEADER_BYTES})")
        header = stream.read(header_len)
    if len(header) != header_len:
        raise ValueError(f"{where}: truncated .npy header")
    buffer = io.BytesIO(prefix + length_bytes + header)
    buffer.seek(8)
    try:
        read = (np.lib.format.read_array_header_1_0 if major == 1
                else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read(buffer, max_header_size=MAX_HEADER_BYTES)
    except (ValueError, SyntaxError, TypeError) as exc:
        raise ValueError(f"{where}: malformed .npy header: {exc}") from exc
    if fortran:
        raise ValueError(f"{where}: Fortran-ordered arrays are not written by save_npz")
    if dtype.hasobject or dtype.kind not in "biufcUS?":
        raise ValueError(f"{where}: dtype {dtype} cannot be loaded without pickle")
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != 8 + len(length_bytes) + header_len + nbytes:
        raise ValueError(f"{where}: the zip directory declares {info.file_size} bytes but the "
                         f"header describes {nbytes} bytes of data (corrupt or forged)")
    return tuple(shape), dtype, nbytes


def _read_data(path: str, name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
               header: tuple[tuple[int, ...], np.dtype, int]) -> np.ndarray:
    """Decompress one member's data straight into its array; the CRC is verified."""
    shape, dtype, nbytes = header
    out = np.empty(shape, dtype=dtype)
    view = memoryview(out.reshape(-1).view(np.uint8)) if nbytes else memoryview(b"")
    with archive.open(info) as stream:
        stream.read(info.file_size - nbytes)  # the header, already parsed
        done = 0
        while done < nbytes:
            got = stream.readinto(view[done:done + (1 << 24)])
            if not got:
                raise ValueError(f"{path!r}, array {name!r}: truncated data")
            done += got
        if stream.read(1):  # also reaches the end of the stream, where the CRC is checked
            raise ValueError(f"{path!r}, array {name!r}: more data than its header declares")
    return out


def expect_arrays(where: str, headers: dict[str, ArrayHeader], *,
                  required: Mapping[str, tuple[Any, str]] | None = None,
                  optional: Mapping[str, tuple[Any, str]] | None = None,
                  extra: Callable[[str], tuple[Any, str] | None] | None = None) -> None:
    """Check stored array headers against what a loader expects, before any data is read.

    ``where`` names the file in messages (e.g. ``repr(path)``).  ``required`` and
    ``optional`` map a key to ``(shape, kinds)``: ``shape`` is a
    tuple whose entries are ints or None (any length), or None for any shape;
    ``kinds`` the allowed ``dtype.kind`` letters (``"f"``, ``"iu"``...).  ``extra``
    maps any other key to such a spec, or None if that key is not allowed.

    Raises
    ------
    ValueError
        Naming the file and the first missing, unexpected or mis-shaped array.
    """
    required = required or {}
    optional = optional or {}
    for key in required:
        if key not in headers:
            raise ValueError(f"{where} is incomplete: it has no array {key!r}")
    for key, (shape, dtype) in headers.items():
        spec = required.get(key) or optional.get(key) or (extra(key) if extra else None)
        if spec is None:
            raise ValueError(f"{where} holds an unexpected array {key!r}")
        want_shape, kinds = spec
        if dtype.kind not in kinds:
            raise ValueError(f"{where}: array {key!r} has dtype {dtype}, expected kind "
                             f"{kinds!r}")
        if want_shape is not None and (
            len(shape) != len(want_shape)
            or any(w is not None and w != s for w, s in zip(want_shape, shape, strict=True))
        ):
            doc = "(" + ", ".join("n" if w is None else str(w) for w in want_shape) + ")"
            raise ValueError(f"{where}: array {key!r} has shape {shape}, expected {doc}")


def json_default(obj: Any) -> Any:
    """The ``default=`` hook of :func:`json.dumps` for metadata holding numpy values.

    numpy scalars become Python scalars and arrays lists; anything else raises
    ``TypeError`` (so :func:`json.dumps` reports it).  NaN and infinity pass through,
    as :func:`json.dumps` writes them.

    Examples
    --------
    >>> json.dumps({"n": np.int64(3), "x": np.arange(2)}, default=json_default)
    '{"n": 3, "x": [0, 1]}'
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"value {obj!r} of type {type(obj).__name__} is not JSON-serialisable")


def jsonable(obj: Any, *, strict: bool = False, name: str = "value") -> Any:
    """Nested dicts/lists of numpy values → plain Python, ready for :func:`json.dumps`.

    The one converter of results to JSON.  Leniently (the default) NaN and infinity
    become ``None``, keys become strings and anything else its ``str``.  Strictly,
    what is not JSON data raises instead, naming where it sits in ``obj``: settings
    that must round-trip exactly (a sweep's cell, a cache key) use that.

    Parameters
    ----------
    obj : object
        Mappings, lists, tuples, numpy arrays and scalars, Python scalars, None.
    strict : bool
        Raise on non-finite floats, non-string keys, object arrays and values of
        other types rather than converting them.
    name : str
        What ``obj`` is, for the messages of the strict mode.

    Returns
    -------
    object
        ``dict`` (string keys), ``list``, ``bool``, ``int``, ``float``, ``str`` or None.

    Raises
    ------
    ValueError
        With ``strict``, if ``obj`` holds anything but finite numbers, strings,
        booleans, None, lists, tuples, arrays and string-keyed mappings.

    Examples
    --------
    >>> jsonable({"a": np.arange(2), "b": np.float32("nan"), "c": (np.bool_(True),)})
    {'a': [0, 1], 'b': None, 'c': [True]}
    >>> try:
    ...     jsonable({"r": [1.0, float("inf")]}, strict=True, name="cell")
    ... except ValueError as err:
    ...     print(str(err).split(",")[0])
    cell['r'][1] must be JSON-able
    """
    if strict:
        return _strict_jsonable(name, obj)
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


def _strict_jsonable(name: str, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ValueError(f"{name} must be JSON-able, got an object array")
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(
                f"{name} must be JSON-able, got {value} (NaN and infinity are not; protocol "
                f"radii take None for full field)"
            )
        return value
    if isinstance(value, list | tuple):
        return [_strict_jsonable(f"{name}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{name} must be JSON-able: dict keys must be strings, "
                                 f"got {key!r}")
            out[key] = _strict_jsonable(f"{name}[{key!r}]", item)
        return out
    raise ValueError(
        f"{name} must be JSON-able (numbers, strings, booleans, None, lists, dicts), got "
        f"{type(value).__name__} {value!r}"
    )
