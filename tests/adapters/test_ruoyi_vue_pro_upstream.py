"""Acceptance on ruoyi-vue-pro's own, unchanged seeds (MariaDB and PostgreSQL), from the
command line: ``erpsync import`` of a tenant then ``plan`` is clean (the default tenant
and tenant 121); a policy adding a department, a role ``sales-ops`` granting
``system:user:list`` (the page) and ``system:user:query`` (its button) and a user in it
applies with ``erpsync apply``; the app's own permission query gives that user exactly
those permissions, and agrees with erpsync on every other user; planning again is clean;
every row of another tenant is unchanged; a grant outside tenant 121's package fails the
plan at its line.
Skipped when ``../shared/erp-schemas`` is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from erpsync import cli
from erpsync.adapters.ruoyi_vue_pro import RuoYiVueProAdapter
from tests.adapters import ruoyi_vue_pro_fixture as fx
from tests.adapters.test_ruoyi import _url

DATABASES = [
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mysql),
]

CONFIG = """\
targets:
  yudao:
    adapter: ruoyi-vue-pro
    url: {url}
    policies: yudao/
  small:
    adapter: ruoyi-vue-pro
    url: {url}
    tenant: 小租户
    policies: small/
default_target: yudao
"""

SALES = """\
departments:
  sales-ops: {name: 销售运营部, parent: 芋道源码}
roles:
  sales-ops:
    name: 销售运营
    description: 查看用户
    permissions: [system:user:list, system:user:query]
users:
  salesops1:
    {name: 销售一号, email: salesops1@example.com, department: sales-ops, roles: [sales-ops]}
"""


@pytest.fixture(params=DATABASES)
def seeded(request: pytest.FixtureRequest) -> tuple[Engine, str]:
    database = request.param
    path = fx.upstream_file(database)
    if path is None:
        pytest.skip("../shared/erp-schemas is not present")
    engine: Engine = request.getfixturevalue(
        "pg_engine" if database == "postgresql" else "mysql_engine"
    )
    fx.load_upstream(engine, path)
    return engine, _url(request, engine)


def erpsync(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--no-color", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_import_plan_apply_on_the_upstream_seed(
    seeded: tuple[Engine, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine, url = seeded
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    (tmp_path / "erpsync.yaml").write_text(CONFIG.format(url=json.dumps(url)), encoding="utf-8")
    for target in ("yudao", "small"):
        code, said = erpsync(capsys, "--target", target, "import")
        assert code == 0, said
        code, said = erpsync(capsys, "--target", target, "validate")
        assert code == 0, said
        assert "0 error(s)" in said
        code, said = erpsync(capsys, "--target", target, "plan", "--detailed-exitcode")
        assert code == 0, said
        assert "No changes" in said
    small_users = (tmp_path / "small").rglob("*.yaml")
    assert any("admin110" in p.read_text("utf-8") for p in small_users)

    others = fx.other_tenants(engine, 1)
    (tmp_path / "yudao" / "sales.yaml").write_text(SALES, encoding="utf-8")
    code, said = erpsync(capsys, "plan")
    assert code == 0, said
    assert "nobody can log in" in said  # the new user has no password
    code, said = erpsync(capsys, "apply", "--auto-approve")
    assert code == 0, said
    assert "1 h" in said  # the caches' lag is said

    with engine.connect() as conn:
        assert fx.app_permissions(conn, 1, "salesops1") == {"system:user:list", "system:user:query"}
        stamped = fx.table_rows(
            conn, "system_users", "where username = 'salesops1' and tenant_id = 1"
        )
    assert len(stamped) == 1
    code, said = erpsync(capsys, "plan", "--detailed-exitcode")
    assert code == 0, said
    assert "No changes" in said
    assert fx.other_tenants(engine, 1) == others
    code, said = erpsync(capsys, "--target", "small", "plan", "--detailed-exitcode")
    assert code == 0, said
    for tenant in ("1", "小租户"):
        fx.agrees_with_the_app(RuoYiVueProAdapter(engine, tenant))

    # admin holds super_admin: shown holding every permission the menus carry, as built-in
    code, said = erpsync(capsys, "show", "user", "admin", "--format", "json")
    assert code == 0, said
    shown = json.loads(said)
    assert shown["builtin_administrator"]
    strings = {p["permission"] for p in shown["permissions"]}
    with engine.connect() as conn:
        assert strings == fx.app_permissions(conn, 1, "admin")  # the app lists every string
    by_code = {p["permission"]: p for p in shown["permissions"]}
    assert by_code["system:user:query"]["label"] == "用户查询"

    # the package of tenant 121 has no AI menus: refused at the grant's line
    (tmp_path / "small" / "ai.yaml").write_text(OUTSIDE, encoding="utf-8")
    code, said = erpsync(capsys, "--target", "small", "plan")
    assert code == 1, said
    assert (
        "small/ai.yaml:4:19: error: role ai-viewer: cannot grant permission "
        "ai-viewer/ai:api-key:query: ai:api-key:query is outside the package of tenant 121 "
        "(小租户); the app would drop the grant"
    ) in said


OUTSIDE = """\
roles:
  ai-viewer:
    name: AI 查看
    permissions: [ai:api-key:query]
"""
