"""``python -m v1model`` runs the command-line interface."""

import sys

from v1model.app.cli import main

sys.exit(main())
