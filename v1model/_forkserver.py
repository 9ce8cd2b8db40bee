"""The server process the ``compare`` command's workers are forked from (private).

A ``forkserver`` is a fresh, single-threaded interpreter that imports the given
modules once; each worker process is then a fork of it, with those imports done.
Started at the very beginning of ``python -m v1model compare``
(:func:`v1model.__main__.run`), it imports the job while the command line
imports itself; :func:`v1model.app.cli._figure_pool` then starts its workers from it.
Only the standard library is imported here, so the start costs nothing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
from collections.abc import Iterator, Sequence

#: Environment variables that set the thread count of numpy's BLAS (and OpenMP).
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

#: What the ``compare`` workers import before they are forked.
COMPARE_PRELOAD = ("v1model.app.compare",)


@contextlib.contextmanager
def child_environment(blas_threads: int | None) -> Iterator[None]:
    """While child processes start: Ctrl-C ignored, ``blas_threads`` BLAS threads.

    A child inherits both (its numpy reads the thread count when it loads); this
    process gets its own handler and environment back on exit.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    saved = {k: os.environ.get(k) for k in BLAS_THREADS}
    try:
        if blas_threads is not None:
            os.environ.update({k: str(blas_threads) for k in BLAS_THREADS})
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start(preload: Sequence[str], *, blas_threads: int | None = None) -> None:
    """Start the forkserver (if not running yet) with ``preload`` imported in it.

    ``blas_threads`` is set in its environment before it imports numpy, so that
    every worker forked from it has that many BLAS threads.  Ctrl-C is ignored in
    it (and so in the workers): the parent handles it.  A server already running
    is kept as it is.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    with child_environment(blas_threads):
        multiprocessing.forkserver.ensure_running()
