"""``python -m v1model`` runs the command-line interface."""

import sys


def run() -> int:
    """Import the command line and run it; Ctrl-C while importing exits 130 too."""
    try:
        from v1model.app.cli import main
    except KeyboardInterrupt:
        print("v1model: interrupted", file=sys.stderr)
        return 130
    return main()


# the guard keeps worker processes started with "spawn" from running the command again
if __name__ == "__main__":
    sys.exit(run())
