"""A database password never shows: not in any command's output, in any format, nor in any
file a command writes, nor in the ERP's own tables, on SQLite, PostgreSQL and MariaDB.

The password is the worst one can write in a URL (``@ : / ? # % & +`` and a space) and
every piece of it says LEAK, so that any fragment (the tail after an unencoded ``@`` a
driver calls a host name, a percent-encoded form) is found by one search. It stands in
the URL's userinfo, in ``?password=``, from the environment and written in the file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from sqlalchemy import Engine, make_url, text

from erpsync import cli
from tests.adapters import ruoyi_fixture as fx

REPO = Path(__file__).resolve().parents[2]
MARK = "LEAK"
PASSWORD = "LEAKa@LEAKb:LEAKc/LEAKd?LEAKe#LEAKf%LEAKg LEAKh&LEAKi+LEAKj"

# Every command that shows a URL or talks to the database, in every format; files go
# below the project directory, which is searched afterwards.
REFERENCE_COMMANDS = [
    ["validate"],
    ["plan"],
    ["plan", "--format", "json"],
    ["plan", "--format", "markdown"],
    ["plan", "--format", "json", "--out", "plan.json"],
    ["apply", "plan.json"],
    ["drift"],
    ["drift", "--format", "json"],
    ["drift", "--format", "markdown"],
    ["drift", "--format", "html", "--out", "drift.html"],
    ["doctor"],
    ["report", "access"],
    ["report", "access", "--format", "json"],
    ["report", "sod", "--format", "html", "--out", "sod.html"],
    ["report", "expiring", "--format", "csv", "--out", "expiring.csv"],
    ["show", "user", "li.na"],
    ["show", "role", "ap-clerk", "--format", "json"],
    ["who-can", "finance.payment:approve", "--format", "json"],
    ["audit", "log"],
    ["audit", "show", "1"],
    ["audit", "verify"],
    ["audit", "revert", "1", "--format", "json", "--out", "revert.json"],
    ["audit", "revert", "1", "--format", "markdown"],
    ["catalog", "--out", "live-catalog.yaml"],
    ["import", "--out", "imported"],
]
# What fails on a broken target (no server there, no such database, a wrong password).
FAILING_COMMANDS = [
    ["plan"],
    ["plan", "--format", "json", "--out", "failed-plan.json"],
    ["apply", "--auto-approve"],
    ["drift", "--format", "html", "--out", "failed-drift.html"],
    ["doctor"],
    ["audit", "log"],
    ["audit", "verify"],
    ["import", "--out", "failed-import"],
    ["catalog", "--out", "failed-catalog.yaml"],
    ["report", "access", "--format", "json"],
]


@dataclass
class Run:
    """Everything the commands printed, with what they exited with."""

    outputs: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run_all(commands: list[list[str]], *global_options: str) -> Run:
        result = Run()
        for args in commands:
            code = cli.main([*global_options, *args])
            out = capsys.readouterr()
            result.outputs.append(f"$ erpsync {' '.join(args)}\n{out.out}{out.err}")
            result.codes[" ".join(args)] = code
        return result

    return run_all


def assert_no_leak(run: Run, project: Path, engine: Engine | None = None) -> None:
    """No output, no file below ``project`` (but erpsync.yaml, where it may be written) and
    no erpsync table holds any piece of it."""
    for output in run.outputs:
        assert MARK not in output, output
        assert "Traceback" not in output, output
        assert "internal error" not in output, output
    for path in project.rglob("*"):
        if path.is_file() and path.name != "erpsync.yaml":
            assert MARK.encode() not in path.read_bytes(), path
    if engine is not None:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM erpsync_audit")).all()
        assert rows  # an apply was recorded, and the record holds no secret
        assert MARK not in repr(rows)


def write_project(tmp_path: Path, targets: dict[str, str], policies: Path | None) -> Path:
    """A policy repository with the sample policies and ``targets`` (name -> url)."""
    if policies is not None:
        shutil.copytree(policies, tmp_path / "policies")
    else:
        (tmp_path / "policies").mkdir()
    lines = ["policies: policies/", "targets:"]
    for name, url in targets.items():
        adapter = "ruoyi" if name.startswith("ruoyi") else "reference"
        lines.append(f"  {name}: {{adapter: {adapter}, url: '{url}'}}")
    lines += [f"default_target: {next(iter(targets))}", "settings:", "  connect_timeout: 3"]
    lines += ["  protected_users: [admin]", "  ignore: {users: ['svc-*']}"]
    (tmp_path / "erpsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def assert_worked(run: Run) -> None:
    """The commands did their work (a leak test of error messages alone proves little)."""
    failed = {cmd: code for cmd, code in run.codes.items() if code not in (0, 2)}
    assert not failed, "\n".join(run.outputs)


@pytest.fixture
def project_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERP_PASSWORD", PASSWORD)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    return tmp_path


# --- SQLite ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("password=${ERP_PASSWORD}", id="password-from-env"),
        pytest.param(f"sslpassword={quote(PASSWORD, safe='')}", id="sslpassword-written"),
        pytest.param("Access_Token=${ERP_PASSWORD}", id="token-from-env"),
    ],
)
def test_sqlite_every_command_and_format(
    project_env: Path, run: Callable[..., Run], query: str
) -> None:
    assert cli.main(["refdb", "init", "sqlite:///demo/erp.db", "--sample"]) == 0
    url = f"sqlite:///file:demo/erp.db?mode=rw&uri=true&{query}"
    project = write_project(project_env, {"demo": url}, REPO / "policies")
    done = run(REFERENCE_COMMANDS)
    assert_worked(done)
    assert "Apply complete" in "".join(done.outputs)
    assert "?mode=rw&uri=true&" in done.outputs[1]  # the URL is shown, its secret hidden
    assert_no_leak(done, project)


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_target(pg_url: str, engine: Engine, where: str) -> tuple[str, str]:
    """(url as erpsync.yaml holds it, the same url with the password written in)."""
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    base = make_url(pg_url)
    server = f"{base.host}:{base.port}/{base.database}"
    options = f"options=-csearch_path%3D{schema}"
    literal = f"postgresql+psycopg://{base.username}:{quote(PASSWORD, safe='')}@{server}?{options}"
    urls = {
        "userinfo-env": f"postgresql+psycopg://{base.username}:${{ERP_PASSWORD}}@{server}?{options}",
        "query-env": f"postgresql+psycopg://{base.username}@{server}?password=${{ERP_PASSWORD}}"
        f"&{options}",
        "query-written": f"postgresql+psycopg://{base.username}@{server}?{options}"
        f"&password={quote(PASSWORD, safe='')}",
    }
    return urls[where], literal


@pytest.mark.postgres
@pytest.mark.parametrize("where", ["userinfo-env", "query-env", "query-written"])
def test_postgresql_every_command_and_format(
    project_env: Path,
    run: Callable[..., Run],
    pg_url: str,
    pg_engine: Engine,
    where: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The server trusts its clients: the password travels in the URL, and is never shown.
    configured, literal = _pg_target(pg_url, pg_engine, where)
    assert cli.main(["refdb", "init", literal, "--sample"]) == 0
    initialised = capsys.readouterr()
    assert MARK not in initialised.out + initialised.err
    project = write_project(project_env, {"prod": configured}, REPO / "policies")
    done = run(REFERENCE_COMMANDS)
    assert_worked(done)
    assert "Apply complete" in "".join(done.outputs)
    assert "/erpsync_test?" in done.outputs[1]  # the URL is shown, its secret hidden
    assert_no_leak(done, project, pg_engine)


# --- MariaDB (RuoYi) ------------------------------------------------------------------------


RUOYI_COMMANDS = [
    ["import", "--out", "policies", "--force"],
    ["validate"],
    ["plan"],
    ["plan", "--format", "json", "--out", "plan.json"],
    ["plan", "--format", "markdown"],
    ["apply", "--auto-approve"],
    ["drift", "--format", "html", "--out", "drift.html"],
    ["drift", "--format", "json"],
    ["doctor"],
    ["report", "access", "--format", "csv", "--out", "access.csv"],
    ["audit", "log"],
    ["audit", "verify"],
    ["catalog", "--out", "live-catalog.yaml"],
]


@pytest.mark.mysql
def test_mariadb_every_command(
    project_env: Path,
    run: Callable[..., Run],
    mysql_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MariaDB checks the password, so the test server's own is the secret here; it is
    taken from the environment into the URL's query."""
    fx.create_schema(mysql_engine, "vue")
    fx.seed_company(mysql_engine, "vue")
    url = mysql_engine.url
    secret = str(url.password)
    monkeypatch.setenv("MARIADB_PASSWORD", secret)
    server = f"{url.host}:{url.port}/{url.database}"
    configured = (
        f"mysql+pymysql://{url.username}@{server}?charset=utf8mb4&password=${{MARIADB_PASSWORD}}"
    )
    project = write_project(project_env, {"ruoyi": configured}, None)
    done = run(RUOYI_COMMANDS)
    assert_worked(done)
    for output in done.outputs:
        assert secret not in output, output
    for path in project.rglob("*"):
        if path.is_file() and path.name != "erpsync.yaml":
            assert secret.encode() not in path.read_bytes(), path
    assert_no_leak(done, project)


# --- failures: what a driver says about a broken target -----------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.postgres
@pytest.mark.mysql
def test_broken_targets_fail_with_exit_1_and_no_secret(
    project_env: Path, run: Callable[..., Run], pg_url: str, mysql_url: str
) -> None:
    pg, my = make_url(pg_url), make_url(mysql_url)
    port = _closed_port()
    pw = "${ERP_PASSWORD}"
    targets = {
        "nohost": f"postgresql+psycopg://u:{pw}@127.0.0.1:{port}/erp",
        "unresolvable": f"postgresql+psycopg://u:{pw}@no-such-host.invalid/erp",
        "nodb": f"postgresql+psycopg://{pg.username}:{pw}@{pg.host}:{pg.port}/nodb_here",
        "querypw": f"postgresql+psycopg://{pg.username}@{pg.host}:{pg.port}/nodb?password={pw}",
        "ruoyi-wrongpw": f"mysql+pymysql://{my.username}:{pw}@{my.host}:{my.port}/{my.database}",
        "ruoyi-nodb": f"mysql+pymysql://{my.username}:{my.password}@{my.host}:{my.port}/nodb",
        "ruoyi-param": f"mysql+pymysql://{my.username}@{my.host}:{my.port}/nodb?token={pw}",
    }
    project = write_project(project_env, targets, None)
    everything = Run()
    for name in targets:
        done = run(FAILING_COMMANDS, "--target", name)
        everything.outputs += done.outputs
        wrong = {cmd: code for cmd, code in done.codes.items() if code != 1}
        assert not wrong, "\n".join(done.outputs)
    assert_no_leak(everything, project)
    shown = "\n".join(everything.outputs)
    assert "sqlalche.me" not in shown
    assert "hint: the server refused the user or the password" in shown
    assert "hint: the server has no such database" in shown
    assert "hint: the host name does not resolve" in shown
    assert "the pymysql driver has no connect argument token" in shown
    assert shown.count("hint: the server has no such database") >= 2 * len(FAILING_COMMANDS) - 2


# --- the URL itself -------------------------------------------------------------------------


def test_an_unencoded_at_in_a_written_password_is_refused(
    project_env: Path, run: Callable[..., Run]
) -> None:
    """SQLAlchemy would read the host from the password's tail and a driver would print it
    ("failed to resolve host 'LEAKb...'"): refused before connecting."""
    url = "postgresql+psycopg://u:LEAKa@LEAKb@127.0.0.1:1/erp"
    project = write_project(project_env, {"prod": url}, None)
    done = run([["plan"], ["doctor"], ["audit", "verify"]])
    assert set(done.codes.values()) == {1}
    assert "holds an '@' that is not percent-encoded" in done.outputs[0]
    assert_no_leak(done, project)


def test_an_environment_value_that_would_change_the_host_is_refused(
    project_env: Path, run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_HOST", "LEAKevil.example/x?y")
    project = write_project(project_env, {"prod": "postgresql+psycopg://u@${ERP_HOST}/erp"}, None)
    done = run([["plan"], ["validate"], ["doctor"]])
    assert set(done.codes.values()) == {1}
    assert "the value of ERP_HOST would change where the URL points" in done.outputs[0]
    assert "erpsync.yaml:3" in done.outputs[0]
    assert_no_leak(done, project)


def test_the_driver_receives_the_password_as_it_is(
    project_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Percent-encoding is only how the URL carries it: the driver gets every character."""
    from erpsync.config import load_project
    from erpsync.connect import engine_for

    write_project(
        project_env,
        {"prod": "postgresql+psycopg://u:${ERP_PASSWORD}@h:5432/erp?sslpassword=${ERP_PASSWORD}"},
        None,
    )
    engine = engine_for(load_project().target())
    assert engine.url.password == PASSWORD
    assert engine.url.query["sslpassword"] == PASSWORD
    assert (engine.url.host, engine.url.database) == ("h", "erp")
    assert MARK not in repr(load_project().target())


def test_a_short_password_does_not_mangle_messages() -> None:
    from erpsync.secrets import redact

    message = "password authentication failed for user p at host pp (p)"
    assert redact(message, ["p"]) == "password authentication failed for user *** at host pp (***)"
    assert redact("sqlite:///demo/erp.db", ["", "p"]) == "sqlite:///demo/erp.db"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u@h/db?password=LEAK1", "postgresql://u@h/db?password=***"),
        (
            "postgresql://u@h/db?PWD=LEAK1&sslmode=require",
            "postgresql://u@h/db?PWD=***&sslmode=require",
        ),
        (
            "mysql+pymysql://u:LEAK1@h/db?api_key=LEAK2&passwd=LEAK3",
            "mysql+pymysql://u:***@h/db?api_key=***&passwd=***",
        ),
        ("postgresql://u@h/db?secret=LEAK1;key=LEAK2", "postgresql://u@h/db?secret=***;key=***"),
        (
            "postgresql://u@h/db?client_secret=LEAK1&x_auth_token=LEAK2",
            "postgresql://u@h/db?client_secret=***&x_auth_token=***",
        ),
    ],
)
def test_secret_query_parameters_are_hidden(url: str, shown: str) -> None:
    from erpsync.secrets import redact_url

    assert redact_url(url) == shown


def test_a_driver_message_quoting_the_password_in_any_form() -> None:
    from erpsync.secrets import redact

    for form in (PASSWORD, quote(PASSWORD, safe=""), quote_plus(PASSWORD), quote(PASSWORD)):
        said = f'connection to "x" failed: bad password "{form}" near LEAKb@h'
        assert MARK not in redact(said, [PASSWORD, "LEAKb"]), said
