"""``python -m v1model`` runs the command-line interface."""

import sys

from v1model.app.cli import main

# the guard keeps worker processes started with "spawn" from running the command again
if __name__ == "__main__":
    sys.exit(main())
