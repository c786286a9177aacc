"""``python -m erpsync`` is the same as the ``erpsync`` command."""

from erpsync.cli import script

script()
