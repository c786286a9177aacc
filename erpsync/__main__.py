"""``python -m erpsync`` is the same as the ``erpsync`` command."""

from erpsync.cli import main

raise SystemExit(main())
