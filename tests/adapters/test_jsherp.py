"""The jsherp adapter on jshERP's own, unchanged seed (``../shared``) and on our DDL.

Acceptance: ``erpsync import`` of tenant 63 then ``plan`` is clean; a policy adding a
department, a role with two pages and a button, and a user in it applies through the
CLI; jshERP's own rule (the facts' query) then gives that user exactly what erpsync
says; planning again is clean; and no row of another tenant (NULL included: the
platform's) changed by a byte.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Connection, Engine, text

from erpsync import cli
from erpsync.adapters.jsherp import JshErpAdapter
from tests.adapters import jsherp_fixture as fx

TENANT = 63


@pytest.fixture
def upstream(mysql_engine: Engine) -> Engine:
    """jshERP's upstream seed, loaded unchanged (skipped without ../shared)."""
    if not fx.UPSTREAM.is_file() or fx.effective_sql() is None:
        pytest.skip("../shared/erp-schemas/jsherp or ../shared/erp/jsherp.md is not present")
    fx.load_upstream(mysql_engine)
    return mysql_engine


def project(root: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, tenant: str) -> Path:
    url = engine.url.render_as_string(hide_password=False)
    (root / "erpsync.yaml").write_text(
        "policies: policies\n"
        f"targets:\n  erp: {{adapter: jsherp, url: '{url}', tenant: {tenant}}}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    return root / "policies"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["--no-color", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def test_upstream_seed_reads_tenant_63_as_jsherp_shows_it(upstream: Engine) -> None:
    adapter = JshErpAdapter(upstream, "63")
    snapshot = adapter.read()
    state = snapshot.state
    assert set(state.users) == {"test123"}  # jsh is the tenant administrator, admin tenant 0
    assert {r.name: r.data_scope for r in state.roles.values()} == {
        "销售经理": "all",
        "销售代表": "self",
    }
    assert {d.name: d.parent for d in state.departments.values()} == {
        "测试部门": None,
        "部门1": "测试部门",
        "部门2": "部门1",
    }
    assert state.users["test123"].department == "部门1"
    assert snapshot.problems == ()
    held = fx.erpsync_access(state, "test123")
    assert len({p for p in held if p.endswith(":view")}) == 19
    assert "/bill/purchase_in:audit" in held
    assert "/financial/item_in:edit" in held
    assert fx.check_ground_truth(adapter, TENANT) == 1
    assert fx.check_scopes(adapter, TENANT) == 1
    assert state.users["test123"].warehouses == ()  # the seed's rows are the administrator's
    assert adapter.binding_scope() == "tenant:63"


def test_import_plan_apply_on_the_upstream_seed(
    upstream: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policies = project(tmp_path, upstream, monkeypatch, "63")
    with upstream.connect() as conn:
        others = fx.rows_outside(conn, TENANT)
    code, out = run(capsys, "import", "--out", "policies")
    assert code == 0, out
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out

    (policies / "added.yaml").write_text(
        """\
departments:
  warehouse: {name: 仓储部, parent: 测试部门}
roles:
  stock-keeper:
    name: 仓管员
    description: 出入库
    data_scope: department_tree
    permissions:
      /bill/other_in: [view, edit]
      /bill/other_out: [view]
users:
  wang.cang:
    {name: 王仓, email: wang.cang@example.com, department: warehouse, roles: [stock-keeper]}
""",
        encoding="utf-8",
    )
    code, out = run(capsys, "plan")
    assert code == 0, out
    assert "password" in out  # the new user gets none: the plan says so
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 0, out
    assert "3 days" not in out  # nobody was disabled

    adapter = JshErpAdapter(upstream, "63")
    state = adapter.read().state
    assert fx.erpsync_access(state, "wang.cang") == {
        "/bill/other_in:view",
        "/bill/other_in:edit",
        "/bill/other_out:view",
    }
    assert fx.check_ground_truth(adapter, TENANT) == 2
    with upstream.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT u.password, u.tenant_id, r.type, o.org_no, o.tenant_id FROM jsh_user u "
            "JOIN jsh_orga_user_rel l ON l.user_id = u.id JOIN jsh_organization o ON "
            "o.id = l.orga_id JOIN jsh_user_business b ON b.key_id = u.id AND b.type = "
            "'UserRole' JOIN jsh_role r ON b.value = CONCAT('[', r.id, ']') "
            "WHERE u.login_name = 'wang.cang'"
        ).one()
        assert tuple(row) == (None, TENANT, "本部门数据", "warehouse", TENANT)
        functions = conn.exec_driver_sql(
            "SELECT b.value, b.btn_str, b.tenant_id FROM jsh_user_business b JOIN jsh_role r "
            "ON b.key_id = r.id AND b.type = 'RoleFunctions' WHERE r.name = '仓管员'"
        ).one()
        assert tuple(functions) == ("[201][202]", '[{"funId":201,"btnStr":"1"}]', TENANT)
        logged = conn.exec_driver_sql("SELECT DISTINCT client_ip, tenant_id FROM jsh_log").all()
        assert [tuple(r) for r in logged] == [("erpsync", TENANT)]
        after = fx.rows_outside(conn, TENANT)
    assert after == others

    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out
    code, out = run(capsys, "doctor")
    assert code == 0, out
    code, out = run(capsys, "drift")
    assert code == 0, out
    code, out = run(capsys, "show", "user", "wang.cang")
    assert code == 0, out
    assert "/bill/other_in:edit" in out
    assert "其它入库" in out  # jshERP's own label of the page
    imported = yaml.safe_load((policies / "added.yaml").read_text(encoding="utf-8"))
    assert "wang.cang" in imported["users"]


def scope_rows(conn: Connection, login: str) -> list[tuple[object, ...]]:
    """The user's UserDepot and UserCustomer rows, every column but the id."""
    rows = conn.exec_driver_sql(
        "SELECT b.type, b.key_id = CAST(u.id AS CHAR), b.value, b.btn_str, b.tenant_id, "
        "b.delete_flag FROM jsh_user_business b JOIN jsh_user u ON b.key_id = u.id WHERE "
        "u.login_name = %s AND b.type IN ('UserDepot', 'UserCustomer') ORDER BY b.type, b.id",
        (login,),
    )
    return [tuple(r) for r in rows]


def imported(
    upstream: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[Path, dict[str, list[tuple[object, ...]]]]:
    """The seed with another tenant's warehouse 仓库9 (a name tenant 63 lacks), imported for
    tenant 63 and planned clean (the seed's scopes are its tenant administrator's, which
    erpsync leaves alone); the file to declare users in, and every row outside tenant 63."""
    policies = project(tmp_path, upstream, monkeypatch, "63")
    with upstream.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jsh_depot (name, type, enabled, tenant_id, delete_Flag) "
            "VALUES ('仓库9', 0, 1, 70, '0')"
        )
    with upstream.connect() as conn:
        others = fx.rows_outside(conn, TENANT)
    code, out = run(capsys, "import", "--out", "policies")
    assert code == 0, out
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out
    return policies / "added.yaml", others


def test_warehouses_and_customers_apply_as_jsherps_dialog_saves_them(
    upstream: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    added, others = imported(upstream, tmp_path, monkeypatch, capsys)
    added.write_text(
        "users:\n  zhao.ku:\n    name: 赵库\n    warehouses: [仓库2, 仓库1]\n"
        "    customers: [客户1]\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "plan")
    assert code == 0, out
    assert "仓库1" in out
    assert "jsh_system_config.depot_flag" in out  # both switches are off in the seed
    assert "系统配置 → 仓库权限" in out
    assert "jsh_system_config.customer_flag" in out
    assert "系统配置 → 客户权限" in out
    assert "expect such additions as drift" in out  # jshERP's own additions, said up front
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 0, out
    with upstream.connect() as conn:
        assert scope_rows(conn, "zhao.ku") == [
            ("UserCustomer", 1, "[58]", None, TENANT, "0"),
            ("UserDepot", 1, "[14][15]", None, TENANT, "0"),
        ]
    adapter = JshErpAdapter(upstream, "63")
    assert fx.check_scopes(adapter, TENANT) == 2
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out

    # a change, with 仓库权限 switched on: only the customers' switch is still off
    with upstream.begin() as conn:
        conn.exec_driver_sql("UPDATE jsh_system_config SET depot_flag = '1' WHERE tenant_id = 63")
    added.write_text(
        "users:\n  zhao.ku:\n    name: 赵库\n    warehouses: [仓库3]\n    customers: []\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "plan")
    assert code == 0, out
    assert "depot_flag" not in out
    assert "jsh_system_config.customer_flag" in out
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 0, out
    with upstream.connect() as conn:
        assert scope_rows(conn, "zhao.ku") == [
            ("UserCustomer", 1, "", None, TENANT, "0"),  # the dialog's empty choice
            ("UserDepot", 1, "[17]", None, TENANT, "0"),
        ]
    assert fx.check_scopes(adapter, TENANT) == 2
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out

    # a user declaring none keeps what jshERP gives it
    with upstream.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) "
            "VALUES ('UserDepot', '131', '[14]', 63, '0')"
        )
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out
    assert adapter.read().state.users["test123"].warehouses == ("仓库1",)
    with upstream.connect() as conn:
        assert fx.rows_outside(conn, TENANT) == others


def test_unknown_and_ambiguous_warehouses_are_refused_at_their_item(
    upstream: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    added, others = imported(upstream, tmp_path, monkeypatch, capsys)
    where = added.relative_to(tmp_path)
    added.write_text(  # another tenant's 仓库9 is not this tenant's
        "users:\n  zhao.ku:\n    name: 赵库\n    warehouses:\n      - 仓库1\n      - 仓库9\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "plan")
    assert code == 1, out
    assert f"{where}:6:9: error: user zhao.ku: cannot create user zhao.ku: the tenant" in out
    assert "has no live 仓库 (warehouse) named '仓库9'" in out
    with upstream.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jsh_depot (name, type, enabled, tenant_id, delete_Flag) "
            "VALUES ('仓库1', 0, 1, 63, '0')"
        )
    added.write_text(
        "users:\n  zhao.ku:\n    name: 赵库\n    warehouses: [仓库3, 仓库1]\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "plan")
    assert code == 1, out
    assert f"{where}:4:23: error: user zhao.ku: " in out
    assert "2 live 仓库 (warehouse) rows of the tenant are named '仓库1'" in out
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 1, out  # apply refuses what plan refuses, before it asks
    assert "2 live 仓库 (warehouse) rows" in out
    with upstream.begin() as conn:  # a user already holding one of the two keeps it
        conn.exec_driver_sql(
            "INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) "
            "VALUES ('UserDepot', '131', '[14]', 63, '0')"
        )
    added.unlink()
    for imported_file in added.parent.rglob("*.yaml"):
        if "test123:" in imported_file.read_text(encoding="utf-8"):
            written = yaml.safe_load(imported_file.read_text(encoding="utf-8"))
            written["users"]["test123"]["warehouses"] = ["仓库1", "仓库2"]
            imported_file.write_text(yaml.safe_dump(written, allow_unicode=True), "utf-8")
    code, out = run(capsys, "plan")
    assert code == 0, out
    assert '~ warehouses: ["仓库1"] -> ["仓库1", "仓库2"]' in out
    assert "Plan: 1 to update." in out
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 0, out
    with upstream.connect() as conn:
        assert scope_rows(conn, "test123") == [("UserDepot", 1, "[14][15]", None, TENANT, "0")]
    with upstream.connect() as conn:
        assert fx.rows_outside(conn, TENANT) == others
        assert scope_rows(conn, "zhao.ku") == []


def test_sign_ins_are_the_tenants_login_rows_of_jsh_log(upstream: Engine) -> None:
    with upstream.begin() as conn:
        now = conn.execute(text("SELECT LOCALTIMESTAMP")).scalar_one()
        ids: dict[str, int] = {}
        for login, uid in conn.execute(
            text("SELECT login_name, id FROM jsh_user WHERE login_name IN ('jsh', 'test123')")
        ):
            ids[login] = uid
        conn.execute(text("DELETE FROM jsh_log WHERE content LIKE '登录%'"))
        rows = [
            (ids["jsh"], "登录jsh", 0, 3),  # the tenant administrator, 3 days ago
            (ids["test123"], "登录test123", 1, 1),  # a failed sign-in does not count
            (ids["test123"], "修改63", 0, 0),  # not a sign-in
        ]
        for uid, content, status, ago in rows:
            conn.execute(
                text(
                    "INSERT INTO jsh_log (user_id, operation, client_ip, create_time, status, "
                    "content, tenant_id) VALUES (:u, '用户', '127.0.0.1', :t, :s, :c, 63)"
                ),
                {"u": uid, "t": now - dt.timedelta(days=ago), "s": status, "c": content},
            )
    found = JshErpAdapter(upstream, "63").read_logins()
    assert found.last["test123"] is None  # never signed in, as far as the log says
    last = found.last["jsh"]
    assert last is not None
    assert round((dt.datetime.now(dt.UTC) - last).total_seconds() / 86400) == 3
    assert found.source.startswith("the sign-in rows of jsh_log")
