"""``python -m v1model`` runs the command-line interface."""

import os
import sys


def run() -> int:
    """Import the command line and run it; Ctrl-C while importing exits 130 too.

    For ``compare`` on two or more cores, the server its worker processes are
    forked from is started first, so that it imports the job while this process
    imports the command line (:mod:`v1model._forkserver`).
    """
    try:
        if sys.argv[1:2] == ["compare"] and (os.cpu_count() or 1) >= 2:
            from v1model import _forkserver
            _forkserver.start(_forkserver.COMPARE_PRELOAD, blas_threads=1)
        from v1model.app.cli import main
    except KeyboardInterrupt:
        print("v1model: interrupted", file=sys.stderr)
        return 130
    return main()


# the guard keeps worker processes started with "spawn" from running the command again
if __name__ == "__main__":
    sys.exit(run())
