"""One module per subcommand; each exposes ``run(...) -> int`` (the exit code).

Commands print their result; they raise :mod:`erpsync.errors` for failures and
leave exit handling to :mod:`erpsync.cli`.
"""
