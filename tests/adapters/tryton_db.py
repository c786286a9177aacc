"""A real Tryton database for the ``tryton`` adapter's tests, and Tryton's own access check.

:func:`create_template` runs ``trytond-admin`` once per session on SQLite
(base, then company, party, product and sale with their dependencies, about
20 s); each test gets a copy (:func:`copy_database`). Tryton names an SQLite
database by its file in the configured ``path``, and its configuration is
global to the process, so every copy lives in the one session directory.

:func:`tryton_access` asks trytond itself, in this process, through its
``Pool``/``Transaction`` as the given user, what ``ir.model.access`` grants.
trytond is imported only inside these functions: the tests skip when it is
not installed (``pip install -e '.[tryton-test]'``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from erpsync.adapters.tryton import TrytonAdapter
    from erpsync.plan import Change

MODULES = ("company", "party", "product", "sale")
MODES = ("read", "create", "write", "delete")  # Tryton's modes, in perm_* column order
ACTION = {"read": "read", "create": "create", "write": "update", "delete": "delete"}
TEMPLATE = "template"
_READY: set[str] = set()  # databases whose Pool this process initialised


def missing() -> str | None:
    """What is not installed to make a Tryton database here, or None."""
    for needed in ("trytond", "psycopg_pool"):
        if importlib.util.find_spec(needed) is None:
            return f"{needed} is not installed (pip install -e '.[dev]')"
    return None


def require() -> None:
    """Skip the test without trytond; under CI (``CI=true``) fail it instead."""
    import pytest

    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        pytest.fail(f"Tryton missing: {reason}", pytrace=False)
    pytest.skip(reason)


def _admin(conf: Path, *args: str, env: dict[str, str]) -> None:
    command = [str(Path(sys.executable).parent / "trytond-admin"), "-c", str(conf), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def write_conf(directory: Path, uri: str, clean_timeout: int) -> Path:
    """``trytond.conf`` in ``directory`` for the database server at ``uri``."""
    conf = directory / "trytond.conf"
    conf.write_text(
        f"[database]\nuri = {uri}\npath = {directory}\n[cache]\nclean_timeout = {clean_timeout}\n",
        encoding="utf-8",
    )
    return conf


def create_database(conf: Path, name: str) -> None:
    """Create Tryton database ``name`` (base, then MODULES with their dependencies)."""
    passfile = conf.parent / "passfile"
    passfile.write_text("admin-password\n", encoding="utf-8")
    env = {**os.environ, "TRYTONPASSFILE": str(passfile)}
    _admin(conf, "-d", name, "--all", "--email", "admin@example.com", env=env)
    _admin(conf, "-d", name, "-u", *MODULES, "--activate-dependencies", env=env)


def create_template(directory: Path) -> Path:
    """A Tryton config file in ``directory`` and a fresh SQLite database ``template`` beside it.

    ``[cache] clean_timeout = 1``: a running process looks at ``ir_cache`` every second
    (Tryton's default is 300), so the cache-signal test is quick.
    """
    conf = write_conf(directory, "sqlite://", 1)
    (directory / f"{TEMPLATE}.sqlite").touch()  # the SQLite backend refuses a missing file
    create_database(conf, TEMPLATE)
    return conf


def copy_database(conf: Path, name: str) -> str:
    """An SQLAlchemy URL of a copy of the template named ``name``."""
    target = conf.parent / f"{name}.sqlite"
    shutil.copyfile(conf.parent / f"{TEMPLATE}.sqlite", target)
    return f"sqlite:///{target}"


def _trytond(conf: Path) -> tuple[Any, Any]:
    """trytond's Pool and Transaction, configured for ``conf`` (once per process)."""
    with warnings.catch_warnings():
        # trytond 8.2 imports its own deprecated ``trytond.config.config``.
        warnings.simplefilter("ignore", DeprecationWarning)
        from trytond import config

        config.update_etc(str(conf))
        from trytond.pool import Pool
        from trytond.transaction import Transaction
    return Pool, Transaction


def tryton_access(conf: Path, database: str, login: str, model: str) -> dict[str, bool]:
    """What Tryton's ``ir.model.access`` grants ``login`` on ``model``, mode by mode."""
    pool_class, transaction = _trytond(conf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = pool_class(database)
        if database not in _READY:  # init() again would drop the process's caches
            pool.init()
            _READY.add(database)
        with transaction().start(database, 0, readonly=True):
            (user,) = pool.get("res.user").search([("login", "=", login)])
            uid = user.id
        # as an RPC call does: access is checked only when the context asks for it
        with transaction().start(database, uid, readonly=True, context={"_check_access": True}):
            access = pool.get("ir.model.access")
            return {mode: bool(access.check(model, mode, raise_exception=False)) for mode in MODES}


@dataclass(frozen=True)
class Erp:
    """A copy of the Tryton database, its adapter, and Tryton's own access check on it."""

    conf: Path
    database: str
    adapter: TrytonAdapter
    isolated: bool = False  # ask a fresh trytond process rather than this one

    def apply(self, changes: list[Change]) -> list[str]:
        with self.adapter.engine.begin() as conn:
            self.adapter.write(conn, changes, "test")
        return self.adapter.after_commit(changes)

    def access(self, login: str, model: str) -> dict[str, bool]:
        return self.access_all([login], [model])[(login, model)]

    def access_all(
        self, logins: Iterable[str], models: Iterable[str]
    ) -> dict[tuple[str, str], dict[str, bool]]:
        """Tryton's answer for every (login, model), from this process or one fresh one."""
        pairs = [(login, model) for login in logins for model in models]
        if not self.isolated:
            return {p: tryton_access(self.conf, self.database, *p) for p in pairs}
        server = Server(self.conf, self.database)
        try:
            return {p: server.access(*p) for p in pairs}
        finally:
            server.close()

    def disagreements(self, models: Iterable[str]) -> list[str]:
        """Where Tryton's own check, as each active user erpsync manages, differs from the
        access erpsync reads for that user (the grants of the user's groups), on ``models``.

        Tryton also grants what no group is needed for, and erpsync leaves alone: rows
        without a group, and every mode of a model that has no rows at all.
        """
        models = list(models)
        state = self.adapter.read().state
        with self.adapter.engine.connect() as conn:
            rows = conn.execute(
                text(
                    'SELECT model, "group", perm_read, perm_create, perm_write, perm_delete '
                    "FROM ir_model_access WHERE active"
                )
            ).all()
        everyone: dict[str, set[str]] = {m: set() for m in models}
        closed = {row[0] for row in rows}
        for model, group, *flags in rows:
            if group is None and model in everyone:
                everyone[model] |= {m for m, on in zip(MODES, flags, strict=True) if on}
        users = [
            login
            for login, user in state.users.items()
            if user.active and login not in self.adapter.builtin_users
        ]
        held = {login: set[str]() for login in users}
        groups = {g for _, g in state.memberships}
        grants = {g: {p for r, p in state.grants if r == g} for g in groups}
        for login, group in state.memberships:
            if login in held:
                held[login] |= grants[group]
        found = []
        for (login, model), answer in self.access_all(users, models).items():
            expected = {
                mode: model not in closed
                or mode in everyone[model]
                or f"{model}:{ACTION[mode]}" in held[login]
                for mode in MODES
            }
            if answer != expected:
                found.append(f"{login} on {model}: Tryton {answer}, erpsync {expected}")
        return found


class Server:
    """A long-running trytond process (its caches live as long as it does) that answers
    :func:`tryton_access` questions: one line ``login model`` in, one JSON line out."""

    def __init__(self, conf: Path, database: str) -> None:
        command = [sys.executable, "-m", "tests.adapters.tryton_db", str(conf), database]
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(
            command, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def access(self, login: str, model: str) -> dict[str, bool]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{login} {model}\n")
        self.process.stdin.flush()
        answer: dict[str, bool] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _serve(conf: Path, database: str) -> None:
    for line in sys.stdin:
        login, model = line.split()
        print(json.dumps(tryton_access(conf, database, login, model)), flush=True)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), sys.argv[2])
