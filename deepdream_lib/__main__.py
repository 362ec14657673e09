"""``python -m deepdream_lib ...`` runs the command line (see :mod:`deepdream_lib.cli`)."""

from deepdream_lib.cli import main

raise SystemExit(main())
