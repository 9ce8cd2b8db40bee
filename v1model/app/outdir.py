"""Output directories written as a unit: a job's folder is complete or absent, never mixed.

Every job of the command line (``compare``, ``claims``, ``rf``, ``tuning``,
``gallery``) writes its folder through :func:`staged_output`: the files go into a
hidden temporary sibling (``.compare.tmp-<pid>-<random>.part``) and only when the
job succeeds does that sibling take the folder's place.  So

* an interrupted or failed run (Ctrl-C, an error, a full disk) leaves the previous
  complete output exactly as it was, and removes its own temporary folder;
* a run killed outright (SIGKILL, power loss) leaves its temporary folder behind;
  the next run into the same parent removes it (:func:`remove_stale`), since its
  process no longer exists;
* readers of the folder (the report, ``Recording.load`` of its files) never see a
  mixture of two runs, so they need no marker file to check.

The swap is two renames (old folder aside, new folder in), then the old one is
deleted.  A kill between the two renames leaves the old folder under its aside name
``.compare.old-<pid>-<random>``; :func:`remove_stale` puts it back.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from stimuli._shared.io import TEMPORARY_FILE as _TEMP_FILE
from stimuli._shared.io import process_alive as _alive
from stimuli._shared.io import remove_stale_temporaries as remove_stale_files

__all__ = ["StagedOutput", "remove_stale", "remove_stale_files", "staged_output"]

# .<name>.tmp-<pid>-<random>.part  (staging)  and  .<name>.old-<pid>-<random>  (aside)
_STAGED = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[^.]+(?:\.part)?$")


@dataclass(frozen=True)
class StagedOutput:
    """Where a job writes (``path``) and where its files will be (``folder``)."""

    path: str
    folder: str

    def final(self, obj: Any) -> Any:
        """``obj`` (a path, or dicts/lists/tuples of them) with ``path`` replaced by ``folder``.

        Examples
        --------
        >>> s = StagedOutput("/o/.rf.tmp-1-x.part", "/o/rf")
        >>> s.final({"files": ["/o/.rf.tmp-1-x.part/a.csv"], "n": 3})
        {'files': ['/o/rf/a.csv'], 'n': 3}
        """
        if isinstance(obj, str):
            if obj == self.path or obj.startswith(self.path + os.sep):
                return self.folder + obj[len(self.path):]
            return obj
        if isinstance(obj, dict):
            return {k: self.final(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.final(v) for v in obj)
        return obj


def remove_stale(parent: str, name: str) -> list[str]:
    """Clean up after killed runs of the folder ``parent/name``; return what was removed.

    Removes the staging folders of processes that no longer exist; if ``name`` itself
    is missing but a run was killed between the two renames of its swap, the previous
    folder is put back first.  Folders of running processes are left alone.

    Examples
    --------
    >>> import tempfile
    >>> parent = tempfile.mkdtemp()
    >>> os.mkdir(os.path.join(parent, ".compare.tmp-999999999-abc.part"))
    >>> [os.path.basename(p) for p in remove_stale(parent, "compare")]
    ['.compare.tmp-999999999-abc.part']
    """
    removed: list[str] = []
    if not os.path.isdir(parent):
        return removed
    target = os.path.join(parent, name)
    for entry in sorted(os.listdir(parent)):
        match = _STAGED.match(entry)
        if match is None or match["name"] != name or _alive(int(match["pid"])):
            continue
        path = os.path.join(parent, entry)
        if match["kind"] == "old" and not os.path.lexists(target):
            os.rename(path, target)  # killed mid-swap: the old complete folder comes back
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


@contextlib.contextmanager
def staged_output(folder: str | os.PathLike,
                  keep: Callable[[str], bool] | None = None) -> Iterator[StagedOutput]:
    """Write a job's output folder as a unit: into a temporary sibling, swapped in on success.

    Parameters
    ----------
    folder : str or os.PathLike
        The job's output folder (e.g. ``<out>/compare``); its parent is created if
        missing.  An existing folder is replaced only when the block succeeds.
    keep : callable, optional
        For folders shared by several runs (``rf`` writes one set of files per model,
        layer and method): ``keep(filename)`` is True for the existing files that are
        carried over into the new folder (hard links where possible, else copies).
        Default: nothing is carried over.

    Yields
    ------
    StagedOutput
        ``.path`` — the temporary folder to write into; ``.folder`` — the final one;
        ``.final(paths)`` maps paths written under ``.path`` to their final place.

    Raises
    ------
    NotADirectoryError
        If ``folder`` exists and is not a directory.
    OSError
        If the parent cannot be created or written.

    Examples
    --------
    >>> import tempfile
    >>> parent = tempfile.mkdtemp()
    >>> with staged_output(os.path.join(parent, "job")) as out:
    ...     with open(os.path.join(out.path, "a.txt"), "w") as fh:
    ...         _ = fh.write("done")
    >>> sorted(os.listdir(parent)), os.listdir(os.path.join(parent, "job"))
    (['job'], ['a.txt'])
    >>> with staged_output(os.path.join(parent, "job")) as out:  # an error, or Ctrl-C
    ...     raise OSError("No space left on device")
    Traceback (most recent call last):
    ...
    OSError: No space left on device
    >>> sorted(os.listdir(parent)), os.listdir(os.path.join(parent, "job"))
    (['job'], ['a.txt'])
    """
    folder = os.path.abspath(os.fspath(folder))
    parent, name = os.path.split(folder)
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(f"output folder {folder!r} exists and is not a directory")
    os.makedirs(parent, exist_ok=True)
    remove_stale(parent, name)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{name}.tmp-{os.getpid()}-", suffix=".part")
    try:
        if keep is not None and os.path.isdir(folder):
            _carry_over(folder, staging, keep)
        yield StagedOutput(staging, folder)
        # mkdtemp makes a 0700 folder; give it the mode an ordinary mkdir would
        os.chmod(staging, 0o777 & ~_UMASK)
        _swap(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _carry_over(folder: str, staging: str, keep: Callable[[str], bool]) -> None:
    for entry in os.listdir(folder):
        source = os.path.join(folder, entry)
        if _TEMP_FILE.match(entry) or not keep(entry):
            continue
        target = os.path.join(staging, entry)
        if os.path.isdir(source) and not os.path.islink(source):
            shutil.copytree(source, target, symlinks=True)
            continue
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(source, target, follow_symlinks=False)


def _swap(staging: str, folder: str) -> None:
    """Put ``staging`` in the place of ``folder`` (renames on one file system)."""
    if not os.path.lexists(folder):
        os.rename(staging, folder)
        return
    parent, name = os.path.split(folder)
    aside = os.path.join(parent, f".{name}.old-{os.getpid()}-{secrets.token_hex(4)}")
    os.rename(folder, aside)
    try:
        os.rename(staging, folder)
    except BaseException:
        os.rename(aside, folder)
        raise
    if os.path.islink(aside) or not os.path.isdir(aside):
        os.unlink(aside)
    else:
        shutil.rmtree(aside, ignore_errors=True)
