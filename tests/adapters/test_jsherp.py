"""The jsherp adapter on jshERP's own, unchanged seed (``../shared``) and on our DDL.

Acceptance: ``erpsync import`` of tenant 63 then ``plan`` is clean; a policy adding a
department, a role with two pages and a button, and a user in it applies through the
CLI; jshERP's own rule (the facts' query) then gives that user exactly what erpsync
says; planning again is clean; and no row of another tenant (NULL included: the
platform's) changed by a byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

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
