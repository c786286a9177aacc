"""jshERP's rules at plan time, on our own DDL (no ../shared needed): what ``plan``
refuses at the declaration, and how a target's tenant is found.

The database (:func:`~tests.adapters.jsherp_fixture.create_schema`) holds the platform
administrator (tenant 0), tenant 63 (administrator ``jsh``) and tenant 70 (``other``),
and a catalogue whose 系统管理 is outside the tenants' ceiling.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from erpsync import cli
from erpsync.adapters.jsherp import JshErpAdapter
from erpsync.adapters.jsherp.formats import format_buttons, parse_buttons, parse_ids, role_of
from erpsync.errors import ConfigError
from erpsync.plan import Action, Change, Kind
from tests.adapters import jsherp_fixture as fx

BASE = """\
departments:
  sales: {name: 销售部}
roles:
  clerk:
    name: 会计员
    permissions:
      /financial/money_out: [view, edit]
users:
  li.na: {name: 李娜, department: sales, roles: [clerk]}
"""


@pytest.fixture
def erp(mysql_engine: Engine) -> Engine:
    fx.create_schema(mysql_engine)
    return mysql_engine


def project(root: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, policy: str) -> Path:
    url = engine.url.render_as_string(hide_password=False)
    (root / "erpsync.yaml").write_text(
        f"policies: policies\ntargets:\n  erp: {{adapter: jsherp, url: '{url}', tenant: jsh}}\n",
        encoding="utf-8",
    )
    (root / "policies").mkdir(exist_ok=True)
    (root / "policies" / "policy.yaml").write_text(policy, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    return root / "policies" / "policy.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["--no-color", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, " ".join((out.out + out.err).split())


def apply(capsys: pytest.CaptureFixture[str], erp: Engine) -> str:
    """``erpsync apply --auto-approve``, then jshERP's own menu rule for every managed user
    (when ../shared holds the facts file)."""
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 0, out
    if fx.effective_sql() is not None:
        fx.check_ground_truth(JshErpAdapter(erp, "63"), fx.TENANT)
    return out


@pytest.fixture
def applied(
    erp: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    path = project(tmp_path, erp, monkeypatch, BASE)
    apply(capsys, erp)
    return path


def test_the_base_policy_applies_and_matches_jsherps_rule(
    applied: Path, erp: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    if fx.effective_sql() is None:
        pytest.skip("../shared/erp/jsherp.md is not present")
    assert fx.check_ground_truth(JshErpAdapter(erp, "63"), fx.TENANT) == 1
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        pytest.param(
            "roles: [clerk]}",
            "roles: [clerk, viewer]}\n  zhao: {name: 赵, roles: [viewer]}",
            "policy.yaml:10:55: error: user li.na: jshERP holds exactly one role per user",
            id="two-roles",
        ),
        pytest.param(
            "[view, edit]",
            "[view, edit]\n      /system/user: [view]",
            "is under 系统管理",
            id="system-management",
        ),
        pytest.param("[view, edit]", "[view, edit, print]", "has no action 'print'", id="push-btn"),
        pytest.param(
            "  li.na:", "  jsh: {name: 管理员}\n  li.na:", "tenant administrator", id="tenant-admin"
        ),
        pytest.param("  li.na:", "  other: {name: 别人}\n  li.na:", "is taken", id="other-login"),
        pytest.param("name: 李娜", "name: 李娜😀", "utf8 (3-byte)", id="four-byte"),
        pytest.param("name: 会计员", "name: 会", "2 to 30 characters", id="role-name"),
    ],
)
def test_plan_refuses_at_the_declaration(
    applied: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, said: str
) -> None:
    policy = BASE.replace(old, new).replace(
        "roles:\n", "roles:\n  viewer: {name: 查看员, permissions: {/hr/employee: [view]}}\n", 1
    )
    assert policy != BASE
    applied.write_text(policy, encoding="utf-8")
    code, out = run(capsys, "plan")
    assert code == 1, out
    assert said in out


def test_plan_refuses_deleting_a_department_with_members_and_a_held_role(
    applied: Path, erp: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    applied.write_text(
        BASE.replace("  sales: {name: 销售部}\n", "  x: {name: 其他}\n").replace(
            "department: sales, ", ""
        ),
        encoding="utf-8",
    )
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 2, out  # li.na leaves sales in the same plan: allowed
    applied.write_text(BASE.replace("  sales: {name: 销售部}\n", "  x: {name: 其他}\n"), "utf-8")
    code, out = run(capsys, "plan")
    assert code == 1, out
    applied.write_text(
        BASE.replace("roles: [clerk]", "roles: []")
        .replace("  clerk:", "  clerk2:")
        .replace("会计员", "出纳员"),
        "utf-8",
    )
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 2, out  # the holder lets go in the same plan
    snapshot = JshErpAdapter(erp, "63").read()
    before = {"name": "x"}
    refused = JshErpAdapter.check_plan(
        snapshot,
        [
            Change(Action.DELETE, Kind.ROLE, "clerk", "", before),
            Change(Action.DELETE, Kind.DEPARTMENT, "sales", "", before),
        ],
    )
    assert [r.reason for r in refused] == [
        "it still has members ['li.na']",
        "li.na still hold it (jshERP would keep their menus and break their lists)",
    ]


def test_plan_refuses_users_beyond_the_quota(
    applied: Path, erp: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with erp.begin() as conn:
        conn.execute(text("UPDATE jsh_tenant SET user_num_limit = 2 WHERE tenant_id = 63"))
    applied.write_text(BASE + "  wang: {name: 王}\n", encoding="utf-8")
    code, out = run(capsys, "plan")
    assert code == 1, out
    assert "user_num_limit" in out


def test_a_tenant_is_found_by_id_or_name_and_an_unknown_one_is_named(erp: Engine) -> None:
    assert JshErpAdapter(erp, "jsh").read().state == JshErpAdapter(erp, "63").read().state
    with pytest.raises(ConfigError, match=r"known tenants: 63 \(jsh\), 70 \(other\)"):
        JshErpAdapter(erp, "nobody").read()
    with pytest.raises(ConfigError, match="names no tenant"):
        JshErpAdapter(erp).read()


def test_tenants_read_together_are_each_read_alone(applied: Path, erp: Engine) -> None:
    adapter = JshErpAdapter(erp, "63")
    together = adapter.read_tenants(["63", "other", "jsh"])
    alone = [JshErpAdapter(erp, t).read() for t in ("63", "other", "jsh")]
    assert [s.state for s in together] == [s.state for s in alone]
    assert set(together[0].state.users) == {"li.na"}
    assert together[1].state.users == {}


def test_the_user_business_formats() -> None:
    assert parse_ids("[12][7][0][30]") == [12, 7, 30]
    assert role_of("[17]") == (17, None)
    assert role_of("[6][7]")[0] == 67
    assert role_of("") == (None, None)
    buttons, problems = parse_buttons('[{"funId":"241","btnStr":"1,2"},{"funId":13,"btnStr":"1"}]')
    assert buttons == {241: {"1", "2"}, 13: {"1"}}
    assert problems == []
    assert parse_buttons("not json")[1]
    assert format_buttons({13: {"7", "1", "2"}, 14: set()}, [14, 13]) == (
        '[{"funId":13,"btnStr":"1,2,7"}]'
    )
    assert format_buttons({}, []) == ""


def test_disabling_a_user_writes_status_2_and_says_sessions_live_on(
    applied: Path, erp: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    applied.write_text(BASE.replace("roles: [clerk]}", "roles: [clerk], active: false}"), "utf-8")
    assert "up to 3 days" in apply(capsys, erp)
    with erp.connect() as conn:
        status, value = conn.execute(
            text(
                "SELECT u.status, b.value FROM jsh_user u JOIN jsh_user_business b ON "
                "b.key_id = u.id AND b.type = 'UserRole' WHERE u.login_name = 'li.na'"
            )
        ).one()
    assert (status, value) == (2, "")


def test_a_manager_is_the_member_flagged_leader(
    applied: Path, erp: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    applied.write_text(BASE.replace("{name: 销售部}", "{name: 销售部, manager: li.na}"), "utf-8")
    apply(capsys, erp)
    with erp.connect() as conn:
        flags = conn.execute(text("SELECT login_name, leader_flag FROM jsh_user WHERE id >= 200"))
        assert dict(flags.all()) == {"li.na": "1"}
    outside = BASE.replace("{name: 销售部}", "{name: 销售部, manager: wang}") + (
        "  wang: {name: 王}\n"
    )
    applied.write_text(outside, "utf-8")
    code, out = run(capsys, "plan")
    assert code == 1, out
    assert "wang is not a member of it" in out


def test_the_ceiling_is_the_tenant_administrators_role(
    applied: Path, erp: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with erp.begin() as conn:
        conn.execute(
            text(
                "UPDATE jsh_user_business SET value = REPLACE(value, '[11]', '') "
                "WHERE type = 'RoleFunctions' AND key_id = '10'"
            )
        )
    extra = BASE.replace("[view, edit]", "[view, edit]\n      /hr/employee: [view]")
    applied.write_text(extra, "utf-8")
    code, out = run(capsys, "plan")
    assert code == 1, out
    assert "/hr/employee (员工) is not among the tenant's functions" in out


def test_dirty_rows_are_reported_and_the_first_row_wins(applied: Path, erp: Engine) -> None:
    with erp.begin() as conn:
        uid = conn.execute(text("SELECT id FROM jsh_user WHERE login_name = 'li.na'")).scalar()
        conn.execute(
            text(
                "INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) "
                "VALUES ('UserRole', :k, '[6][7]', 63, '0')"
            ),
            {"k": str(uid)},
        )
        conn.execute(text("UPDATE jsh_role SET type = '本机构数据' WHERE tenant_id = 63"))
    snapshot = JshErpAdapter(erp, "63").read()
    assert snapshot.state.user_roles["li.na"] == {"clerk"}
    assert snapshot.state.roles["clerk"].data_scope == "department_tree"
    assert any("second UserRole row" in p for p in snapshot.problems)
    private = snapshot.private
    assert private is not None
    assert private.model.spelling == "本机构数据"  # type: ignore[attr-defined]


def test_revoking_a_page_drops_its_buttons(
    applied: Path, erp: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    other = BASE.replace("/financial/money_out: [view, edit]", "/hr/employee: [view]")
    applied.write_text(other, "utf-8")
    apply(capsys, erp)
    with erp.connect() as conn:
        row = conn.execute(
            text(
                "SELECT value, btn_str FROM jsh_user_business WHERE type = 'RoleFunctions' "
                "AND tenant_id = 63"
            )
        ).one()
    assert tuple(row) == ("[11]", "")


def test_reading_many_tenants_reads_each_table_once(applied: Path, erp: Engine) -> None:
    from sqlalchemy import event

    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(erp, "before_cursor_execute", seen)
    try:
        JshErpAdapter(erp, "63").read_tenants(["63", "70"])
        two = [s for s in statements if "jsh_" in s]
        statements.clear()
        JshErpAdapter(erp, "63").read_tenants(["63"])
        one = [s for s in statements if "jsh_" in s]
    finally:
        event.remove(erp, "before_cursor_execute", seen)
    assert len(two) == len(one)
    for table in ("jsh_depot", "jsh_supplier", "jsh_system_config"):
        assert sum(f"FROM {table}" in s for s in two) == 1, table


def test_apply_refuses_a_second_user_business_row_of_another_tenant(
    erp: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """jshERP reads the first UserRole row of a user id whatever its tenant: a stray row
    of tenant 70 for the id the new user gets is not shadowed by a second one."""
    with erp.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) "
                "VALUES ('UserRole', '200', '[10]', 70, '0')"
            )
        )
    project(tmp_path, erp, monkeypatch, BASE)
    code, out = run(capsys, "apply", "--auto-approve")
    assert code == 1, out
    assert "is already the UserRole row jshERP reads for id 200" in out
    with erp.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM jsh_user WHERE id >= 200")).scalar() == 0


def test_a_row_of_another_tenant_that_jsherp_reads_first_is_reported(
    applied: Path, erp: Engine
) -> None:
    """jshERP takes the first live UserRole row of a user id by id, whatever its tenant: a
    stray row of tenant 70 ahead of li.na's own is what jshERP obeys, and the read says so
    (erpsync reads and writes the tenant's own row, which jshERP would ignore)."""
    with erp.begin() as conn:
        conn.execute(
            text(
                "UPDATE jsh_user_business SET id = 1000 "
                "WHERE type = 'UserRole' AND key_id = '200' AND tenant_id = 63"
            )
        )
        conn.execute(
            text(
                "INSERT INTO jsh_user_business (id, type, key_id, value, tenant_id, delete_flag) "
                "VALUES (999, 'UserRole', '200', '[10]', 70, '0')"
            )
        )
    snapshot = JshErpAdapter(erp, "63").read()
    assert snapshot.state.user_roles["li.na"] == {"clerk"}  # its own row, as before
    stray = [p for p in snapshot.problems if "row 999 of tenant 70" in p]
    assert len(stray) == 1, snapshot.problems
    assert "for user 'li.na'" in stray[0]
    assert JshErpAdapter(erp, "70").read().problems == ()  # not the other tenant's business


def test_departments_carry_jsherps_own_stamp_in_utc(applied: Path, erp: Engine) -> None:
    import datetime as dt

    stamp = JshErpAdapter(erp, "63").read().attribution[("department", "sales")]
    assert stamp.by is None  # jshERP records no author on jsh_organization
    assert stamp.at is not None
    assert abs(stamp.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


@pytest.mark.parametrize("in_child", [True, False], ids=["read-in-child", "read-in-process"])
def test_all_targets_plans_the_tenants_of_one_database(
    erp: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    in_child: bool,
) -> None:
    """Two tenants of one database, each its own target and policies (read together), and
    a tenant the ERP lacks, which fails alone, naming the known tenants; the shared read
    made in a child process, and where there is none (it once deadlocked there)."""
    monkeypatch.setenv("ERPSYNC_READ_IN_PARALLEL", "1" if in_child else "0")
    url = erp.url.render_as_string(hide_password=False)
    (tmp_path / "erpsync.yaml").write_text(
        "targets:\n"
        f"  a: {{adapter: jsherp, url: '{url}', tenant: 63, policies: p63}}\n"
        f"  b: {{adapter: jsherp, url: '{url}', tenant: other, policies: p70}}\n"
        f"  c: {{adapter: jsherp, url: '{url}', tenant: nobody, policies: p70}}\n",
        encoding="utf-8",
    )
    for name, policy in (("p63", BASE), ("p70", "users:\n  zhou: {name: 周}\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "policy.yaml").write_text(policy, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, "plan", "--all-targets", "--detailed-exitcode")
    assert code == 1, out  # c failed; a and b have changes
    assert "+ user li.na" in out
    assert "+ user zhou" in out
    assert "known tenants: 63 (jsh), 70 (other)" in out


def scoped(erp: Engine) -> None:
    """Warehouses and customers of tenants 63 and 70: 一号仓 and 二号仓 (disabled) of 63, and
    a 一号仓 of 70; customers 甲 of 63 and 乙 of 70 (and a 供应商 丙, which is no customer)."""
    with erp.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jsh_depot (id, name, type, enabled, tenant_id, delete_Flag) VALUES "
                "(1, '一号仓', 0, 1, 63, '0'), (2, '二号仓', 0, 0, 63, '0'), "
                "(3, '一号仓', 0, 1, 70, '0'), (4, '旧仓', 0, 1, 63, '1')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO jsh_supplier (id, supplier, type, enabled, tenant_id, delete_flag) "
                "VALUES (5, '甲', '客户', 1, 63, '0'), (6, '乙', '客户', 1, 70, '0'), "
                "(7, '丙', '供应商', 1, 63, '0')"
            )
        )


def test_scope_rows_are_read_tolerantly_and_the_first_row_wins(applied: Path, erp: Engine) -> None:
    scoped(erp)
    with erp.begin() as conn:
        uid = conn.execute(text("SELECT id FROM jsh_user WHERE login_name = 'li.na'")).scalar()
        conn.execute(
            text(
                "INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) "
                "VALUES ('UserDepot', :k, '[1][3][4][99]', 63, '0'), "
                "('UserDepot', :k, '[2]', 63, '0'), ('UserCustomer', :k, '[6][7]', 70, '0'), "
                "('UserCustomer', :k, '[5]', 63, '0')"
            ),
            {"k": str(uid)},
        )
    snapshot = JshErpAdapter(erp, "63").read()
    user = snapshot.state.users["li.na"]
    assert user.warehouses == ("一号仓",)  # 3 is tenant 70's, 4 deleted, 99 gone
    assert user.customers == ("甲",)  # the tenant's own row; the stray one is reported
    problems = "\n".join(snapshot.problems)
    assert "names 仓库 (warehouse) ids [3, 4, 99]" in problems
    assert "second UserDepot row" in problems
    assert "jshERP reads UserCustomer row" in problems
    assert "of tenant 70" in problems
    other = JshErpAdapter(erp, "70").read()
    assert other.problems == ()


def test_a_disabled_warehouse_is_refused_unless_already_held(
    applied: Path, erp: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    scoped(erp)
    with erp.begin() as conn:
        uid = conn.execute(text("SELECT id FROM jsh_user WHERE login_name = 'li.na'")).scalar()
    applied.write_text(
        BASE.replace("roles: [clerk]}", "roles: [clerk], warehouses: [一号仓, 二号仓]}"), "utf-8"
    )
    code, out = run(capsys, "plan")
    assert code == 1, out
    assert "policies/policy.yaml:9:74: error: user li.na: cannot update user li.na:" in out
    assert "仓库 (warehouse) '二号仓' is disabled (启用 off)" in out
    with erp.begin() as conn:  # held already (given in jshERP before it was disabled)
        conn.execute(
            text(
                "INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) "
                "VALUES ('UserDepot', :k, '[2]', 63, '0')"
            ),
            {"k": str(uid)},
        )
    code, out = run(capsys, "plan")
    assert code == 0, out
    apply(capsys, erp)
    with erp.connect() as conn:
        value = conn.execute(
            text("SELECT value FROM jsh_user_business WHERE type = 'UserDepot' AND key_id = :k"),
            {"k": str(uid)},
        ).scalar()
        shown = conn.execute(text(fx.SCOPE_RULE["UserDepot"]), {"t": 63, "k": str(uid)}).all()
    assert value == "[1][2]"
    assert [name for (name,) in shown] == ["一号仓"]  # jshERP skips the disabled one it holds
    assert JshErpAdapter(erp, "63").read().state.users["li.na"].warehouses == ("一号仓", "二号仓")
    code, out = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out


def test_each_tenant_writes_and_imports_its_own_warehouses_and_customers(
    erp: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two tenants with a warehouse of one name each: each target writes its own tenant's
    ids; imported again, each tenant plans clean, read together (--all-targets)."""
    scoped(erp)
    url = erp.url.render_as_string(hide_password=False)

    def targets(p63: str, p70: str) -> None:
        (tmp_path / "erpsync.yaml").write_text(
            "targets:\n"
            f"  a: {{adapter: jsherp, url: '{url}', tenant: 63, policies: {p63}}}\n"
            f"  b: {{adapter: jsherp, url: '{url}', tenant: other, policies: {p70}}}\n",
            encoding="utf-8",
        )

    targets("p63", "p70")
    mine = BASE.replace("roles: [clerk]}", "roles: [clerk], warehouses: [一号仓], customers: [甲]}")
    theirs = "users:\n  zhou: {name: 周, warehouses: [一号仓], customers: [乙]}\n"
    for name, policy in (("p63", mine), ("p70", theirs)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "policy.yaml").write_text(policy, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERPSYNC_ACTOR", "tester")
    for target in ("a", "b"):
        code, out = run(capsys, "apply", "--target", target, "--auto-approve")
        assert code == 0, out
    with erp.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT u.login_name, b.type, b.value, b.tenant_id FROM jsh_user_business b "
                "JOIN jsh_user u ON b.key_id = u.id WHERE b.type IN ('UserDepot', "
                "'UserCustomer') ORDER BY u.login_name, b.type"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("li.na", "UserCustomer", "[5]", 63),
        ("li.na", "UserDepot", "[1]", 63),
        ("zhou", "UserCustomer", "[6]", 70),
        ("zhou", "UserDepot", "[3]", 70),
    ]
    for target, out_dir in (("a", "i63"), ("b", "i70")):
        code, out = run(capsys, "--target", target, "import", "--out", out_dir)
        assert code == 0, out
    written = "".join(f.read_text(encoding="utf-8") for f in (tmp_path / "i70").rglob("*.yaml"))
    assert "一号仓" in written
    assert "乙" in written
    targets("i63", "i70")
    code, out = run(capsys, "plan", "--all-targets", "--detailed-exitcode")
    assert code == 0, out


def test_the_switch_warning_names_only_the_scopes_a_plan_writes() -> None:
    from erpsync.adapters.jsherp.keys import USER_CUSTOMER, USER_DEPOT
    from erpsync.adapters.jsherp.model import Model, Tenant
    from erpsync.adapters.jsherp.scopes import flag_warnings

    model = Model(Tenant(63, "jsh", None))
    model.scope_flags = {USER_DEPOT: False, USER_CUSTOMER: False}
    none = Change(Action.CREATE, Kind.USER, "a", "", None, {"name": "甲", "warehouses": []})
    assert flag_warnings(model, [none]) == []  # a new user with none gets no row
    emptied = Change(Action.UPDATE, Kind.USER, "b", "", {"customers": ["乙"]}, {"customers": []})
    found = flag_warnings(model, [none, emptied])
    assert len(found) == 1
    assert "jsh_system_config.customer_flag" in found[0]
    assert "系统配置 → 客户权限" in found[0]
    model.scope_flags[USER_CUSTOMER] = True
    assert flag_warnings(model, [emptied]) == []
