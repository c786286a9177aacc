"""Every way a database connection fails is an exit 1 with a hint, within the connect
timeout; never a hang, never exit 3 ("this is a bug").

The unresponsive server is a real socket, in a process of its own, that accepts every
connection and never says a word: what a firewall that drops packets, or a server
stuck before its greeting, looks like to a client.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from erpsync import cli

LISTENER = """
import socket, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
print(server.getsockname()[1], flush=True)
held = []
while True:
    held.append(server.accept()[0])  # accepted, and never answered
"""
TIMEOUT = 2  # seconds, as erpsync.yaml sets it below
SLACK = 5  # seconds for starting up, reading the policy, and the driver's own rounding


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """The port of a listener that accepts connections and never answers."""
    listener = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout is not None
        yield int(listener.stdout.readline())
    finally:
        listener.kill()
        listener.wait()
        if listener.stdout is not None:
            listener.stdout.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def project(tmp_path: Path, url: str, adapter: str = "reference", timeout: str = "") -> None:
    """erpsync.yaml with one target; ``timeout``: where the connect timeout is set."""
    (tmp_path / "policies").mkdir(exist_ok=True)
    target = f"{{adapter: {adapter}, url: '{url}'{timeout}}}"
    (tmp_path / "erpsync.yaml").write_text(
        f"policies: policies/\ntargets:\n  prod: {target}\ndefault_target: prod\n"
        + ("" if timeout else f"settings:\n  connect_timeout: {TIMEOUT}\n"),
        encoding="utf-8",
    )


def erpsync(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def assert_clear_failure(code: int, shown: str, hint: str) -> None:
    assert code == 1, shown
    assert hint in shown, shown
    assert "Traceback" not in shown
    assert "internal error" not in shown
    assert "sqlalche.me" not in shown


COMMANDS = [
    ("plan",),
    ("apply", "--auto-approve"),
    ("doctor",),
    ("audit", "verify"),
    ("audit", "log"),
    ("drift",),
]


@pytest.mark.parametrize(
    "scheme",
    [pytest.param("postgresql+psycopg", id="psycopg"), pytest.param("mysql+pymysql", id="pymysql")],
)
@pytest.mark.parametrize("where", ["settings", "target"])
def test_an_unresponsive_server_fails_within_the_timeout(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    silent_port: int,
    scheme: str,
    where: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    timeout = f", connect_timeout: {TIMEOUT}" if where == "target" else ""
    project(tmp_path, f"{scheme}://erp:pw@127.0.0.1:{silent_port}/erp", timeout=timeout)
    commands = [("plan",), ("doctor",), ("audit", "verify")] if where == "settings" else [("plan",)]
    for command in commands:
        started = time.monotonic()
        code, shown = erpsync(capsys, *command)
        took = time.monotonic() - started
        assert_clear_failure(code, shown, f"no answer within {TIMEOUT} s")
        assert took < TIMEOUT + SLACK, (command, took)


def test_the_default_timeout_is_ten_seconds(tmp_path: Path) -> None:
    from erpsync.config import load_project

    (tmp_path / "erpsync.yaml").write_text(
        "targets:\n  a: {url: 'sqlite://'}\n  b: {url: 'sqlite://', connect_timeout: 2.5}\n",
        encoding="utf-8",
    )
    loaded = load_project(cwd=tmp_path)
    assert loaded.target("a").connect_timeout == 10
    assert loaded.target("b").connect_timeout == 2.5
    assert loaded.target("a", db_url="sqlite://").connect_timeout == 10


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("settings: {connect_timeout: 0}", "greater than 0"),
        ("settings: {connect_timeout: soon}", "connect_timeout"),
        ("targets: {a: {url: 'sqlite://', connect_timeout: -1}}", "greater than 0"),
    ],
)
def test_a_bad_timeout_is_a_config_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "erpsync.yaml").write_text(setting + "\n", encoding="utf-8")
    code, shown = erpsync(capsys, "--db", "sqlite://", "plan")
    assert_clear_failure(code, shown, message)
    assert "erpsync.yaml:1" in shown


@pytest.mark.postgres
@pytest.mark.mysql
@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("pg-closed-port", "nothing accepts connections there"),
        ("my-closed-port", "nothing accepts connections there"),
        ("pg-unknown-database", "the server has no such database"),
        ("my-unknown-database", "the server has no such database"),
        ("my-wrong-password", "the server refused the user or the password"),
        ("pg-unknown-user", "the server does not know that user"),
        ("pg-port-not-a-number", "the port in the url is not a number"),
        ("my-port-not-a-number", "the port in the url is not a number"),
        ("unknown-host", "the host name does not resolve"),
    ],
)
def test_each_connection_fault_has_its_hint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pg_url: str,
    mysql_url: str,
    kind: str,
    hint: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    pg, my = make_url(pg_url), make_url(mysql_url)
    port = closed_port()
    urls = {
        "pg-closed-port": f"postgresql+psycopg://erp@127.0.0.1:{port}/erp",
        "my-closed-port": f"mysql+pymysql://erp:pw@127.0.0.1:{port}/erp",
        "pg-unknown-database": pg.set(database="no_such_db").render_as_string(False),
        "my-unknown-database": my.set(database="no_such_db").render_as_string(False),
        "my-wrong-password": my.set(password="not-the-password").render_as_string(False),
        "pg-unknown-user": pg.set(username="nobody_here").render_as_string(False),
        "pg-port-not-a-number": f"postgresql+psycopg://erp@{pg.host}:five/erp",
        "my-port-not-a-number": f"mysql+pymysql://erp@{my.host}:54x/erp",
        "unknown-host": "postgresql+psycopg://erp@no-such-host.invalid/erp",
    }
    adapter = "ruoyi" if kind.startswith("my-") else "reference"
    project(tmp_path, urls[kind], adapter)
    for command in COMMANDS:
        code, shown = erpsync(capsys, *command)
        assert_clear_failure(code, shown, hint)
        if kind == "my-wrong-password":
            assert "not-the-password" not in shown


@pytest.mark.parametrize(
    ("url", "install"),
    [
        ("postgresql+psycopg2://erp@127.0.0.1/erp", "pip install psycopg2-binary"),
        ("mysql://erp@127.0.0.1/erp", "pip install mysqlclient"),
        ("mysql+mysqldb://erp@127.0.0.1/erp", "use mysql+pymysql:// with pip install"),
        ("oracle+oracledb://erp@127.0.0.1/erp", "install the Python package of the oracle"),
    ],
)
def test_a_missing_driver_names_what_to_install(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    install: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    project(tmp_path, url)
    for command in COMMANDS:
        code, shown = erpsync(capsys, *command)
        assert_clear_failure(code, shown, install)


@pytest.mark.parametrize(
    ("module", "url", "extra"),
    [
        ("pymysql", "mysql+pymysql://erp@127.0.0.1/erp", "pip install 'erpsync[mysql]'"),
        ("psycopg", "postgresql+psycopg://erp@127.0.0.1/erp", "pip install 'erpsync[postgres]'"),
    ],
)
def test_a_driver_not_installed_names_its_extra(
    tmp_path: Path, module: str, url: str, extra: str
) -> None:
    """Without the driver's package (hidden from the import system in a fresh process),
    the hint names the extra that installs it."""
    project(tmp_path, url, "ruoyi" if module == "pymysql" else "reference")
    hide = f"import sys; sys.modules[{module!r}] = None; from erpsync.cli import main; "
    for command in COMMANDS:
        done = subprocess.run(
            [sys.executable, "-c", hide + f"sys.exit(main({list(command)!r}))"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert_clear_failure(done.returncode, done.stdout + done.stderr, extra)
        other = "postgres" if module == "pymysql" else "mysql"
        assert f"erpsync[{other}]" not in done.stdout + done.stderr
