"""Acceptance on ruoyi-vue-pro's own, unchanged seeds (MariaDB and PostgreSQL), from the
command line: ``erpsync import`` of a tenant then ``plan`` is clean (the default tenant
and tenant 121); a policy adding a department, a role ``sales-ops`` granting
``system:user:list`` (the page) and ``system:user:query`` (its button) and a user in it
applies with ``erpsync apply``; the app's own permission query gives that user exactly
those permissions, and agrees with erpsync on every other user; planning again is clean;
every row of another tenant is unchanged; a grant outside tenant 121's package fails the
plan at its line. Posts: the seed's user-post rows naming a missing post 1 are live data
reported by plan (which stays clean); the new user gets the posts se and HR as the app
writes them (rows and ``post_ids`` ``[2,5]``), then ``user`` instead (``[4]``).
Skipped when ``../shared/erp-schemas`` is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

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
    name: 销售一号
    email: salesops1@example.com
    department: sales-ops
    roles: [sales-ops]
    posts: [se, HR]
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


def import_plans_clean(capsys: pytest.CaptureFixture[str], target: str) -> None:
    """``erpsync import`` of ``target``, then validate and plan find nothing to do."""
    code, said = erpsync(capsys, "--target", target, "import")
    assert code == 0, said
    code, said = erpsync(capsys, "--target", target, "validate")
    assert code == 0, said
    assert "0 error(s)" in said
    code, said = erpsync(capsys, "--target", target, "plan", "--detailed-exitcode")
    assert code == 0, said
    assert "No changes" in said
    if target == "yudao":  # the seed's rows of a post 1 it does not have: live data
        assert "system_user_post: user admin holds post 1, which is no live post" in said
        # and a post_ids the rows disagree with: the rows are read, the difference said
        assert "user test has post_ids '[1,2]' but its system_user_post rows hold [1]" in said


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
        import_plans_clean(capsys, target)
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
    assert posts(engine, "salesops1") == ("[2,5]", {2, 5})
    (tmp_path / "yudao" / "sales.yaml").write_text(
        SALES.replace("[se, HR]", "[user]"), encoding="utf-8"
    )
    code, said = erpsync(capsys, "apply", "--auto-approve")
    assert code == 0, said
    assert posts(engine, "salesops1") == ("[4]", {4})
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


def posts(engine: Engine, login: str) -> tuple[str, set[int]]:
    """A tenant-1 user's post_ids and the posts of its live system_user_post rows."""
    with engine.connect() as conn:
        user_id, listed = conn.execute(
            text(
                "select id, post_ids from system_users "
                "where username = :u and tenant_id = 1 and deleted = 0"
            ),
            {"u": login},
        ).one()
        rows = conn.execute(
            text(
                "select post_id from system_user_post "
                "where user_id = :u and tenant_id = 1 and deleted = 0"
            ),
            {"u": user_id},
        ).all()
    return listed, {p for (p,) in rows}


OUTSIDE = """\
roles:
  ai-viewer:
    name: AI 查看
    permissions: [ai:api-key:query]
"""
