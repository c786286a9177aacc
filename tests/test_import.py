"""``erpsync import``: the round trip is exact, and the files are ones a person would keep.

The round trip (import, write, load, plan against the same ERP: no changes)
is checked for every golden plan case and the sample company on the real
reference ERP (SQLite and PostgreSQL), and for random states on the memory
adapter. The unit tests pin what is written: ``*`` compaction, inferred
department defaults, what is left out, the file layout, the header, quoting.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy import Engine, create_engine
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url

from erpsync.adapters.base import Adapter, LiveSnapshot
from erpsync.adapters.memory import MemoryAdapter
from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.reference.load import load_sample
from erpsync.adapters.reference.schema import create_schema
from erpsync.adapters.tryton import TrytonAdapter
from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.commands import import_cmd
from erpsync.config import Config, IgnoreSettings, Project, ResolvedTarget, ScopeSettings, Settings
from erpsync.errors import UsageError
from erpsync.importer import Imported, import_policy
from erpsync.livefile import from_data
from erpsync.livefile import load as load_live
from erpsync.plan import Kind, Plan
from erpsync.planner import make_plan
from erpsync.policy import capabilities
from erpsync.policy.dump import Source, dump_document
from erpsync.policy.loader import load_policy
from erpsync.policy.model import Department, PolicyDocument, Role, User
from erpsync.scope import Scope
from erpsync.state import State
from tests.apply.helpers import engine_for, seeded
from tests.casefiles import case_dirs
from tests.output import captured
from tests.pipeline.strategies import LOGINS, states
from tests.test_plan_cases import settings_of
from tests.test_policy_roundtrip import policies

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
SECRET = "s3cret-Pa55"
SOURCE = Source("prod", "reference", f"postgresql://erp:{SECRET}@db.example/erp", NOW.date())
TARGET = ResolvedTarget("test", "reference", "sqlite://")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    return engine_for(request, tmp_path)


def import_into(
    directory: Path,
    snapshot: LiveSnapshot,
    settings: Settings | None = None,
    adapter: type[Adapter] = ReferenceAdapter,
) -> Imported:
    """Import ``snapshot`` and write the files into ``directory``."""
    scope = Scope.for_adapter(settings or Settings(), adapter)
    imported = import_policy(snapshot, scope, adapter.capabilities)
    import_cmd.write_files(import_cmd.render(imported, SOURCE), directory)
    return imported


def plan_against(
    directory: Path,
    snapshot: LiveSnapshot,
    settings: Settings | None = None,
    adapter: type[Adapter] = ReferenceAdapter,
) -> Plan:
    loaded = load_policy(directory)
    return make_plan(loaded, snapshot, settings or Settings(), adapter, TARGET, NOW.date(), NOW)


def snapshot_of(data: dict[str, object]) -> LiveSnapshot:
    """A live snapshot from livefile data, on the reference catalogue."""
    state, catalogue = from_data(data)
    return LiveSnapshot(state, catalogue or dict(REFERENCE_CATALOGUE))


def files_of(imported: Imported) -> dict[str, str]:
    return import_cmd.render(imported, SOURCE)


# -- the round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", case_dirs("plan"), ids=lambda p: p.name)
def test_import_then_plan_is_clean_for_every_golden_case(
    engine: Engine, case: Path, tmp_path: Path
) -> None:
    seeded(engine, *load_live(case / "live.yaml"))
    adapter = ReferenceAdapter(engine)
    settings = settings_of(case)
    imported = import_into(tmp_path / "policies", adapter.read(), settings)
    assert imported.warnings == ()
    plan = plan_against(tmp_path / "policies", adapter.read(), settings)
    assert plan.changes == ()


def test_import_of_the_sample_erp_then_plan_is_clean(engine: Engine, tmp_path: Path) -> None:
    create_schema(engine)
    load_sample(engine)
    adapter = ReferenceAdapter(engine)
    imported = import_into(tmp_path / "policies", adapter.read())
    assert imported.warnings == ()
    assert imported.count("users") == 41  # all but the built-in admin
    plan = plan_against(tmp_path / "policies", adapter.read())
    assert plan.changes == ()
    assert plan.warnings == ()


def test_the_command_on_postgresql_never_writes_the_password(
    pg_engine: Engine, pg_url: str, tmp_path: Path
) -> None:
    create_schema(pg_engine)
    load_sample(pg_engine)
    with pg_engine.connect() as conn:  # the test's own schema
        schema = conn.execute(sql("SELECT current_schema()")).scalar_one()
    url = make_url(pg_url).set(password=SECRET)  # the server trusts; the URL still carries it
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    target = ResolvedTarget("pg", "reference", url.render_as_string(hide_password=False))
    out = tmp_path / "policies"
    console = Console(file=io.StringIO(), width=120)
    assert import_cmd.run(Project(Config(), tmp_path), target, out, False, console) == 0
    written = [p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.yaml"))]
    assert written
    assert all(text.startswith("# Imported from the live ERP of target pg") for text in written)
    assert all(SECRET not in text and "***" in text.splitlines()[0] for text in written)
    assert SECRET not in captured(console)
    plan = plan_against(out, ReferenceAdapter(pg_engine).read())
    assert plan.changes == ()


GLOBS = st.sampled_from(["svc-*", "li.*", "nobody"])


@st.composite
def live_and_settings(draw: st.DrawFn) -> tuple[State, Settings]:
    state = draw(states(consistent_memberships=True))
    scope = draw(st.none() | st.lists(st.sampled_from(sorted(state.departments) or ["hq"])))
    roles = draw(st.sampled_from([None, "all", "declared"]))
    settings = Settings(
        protected_users=draw(st.lists(st.sampled_from(LOGINS), max_size=1)),
        protected_roles=draw(st.lists(st.sampled_from(sorted(state.roles) or ["x"]), max_size=1)),
        ignore=IgnoreSettings(
            users=draw(st.lists(GLOBS, max_size=1)),
            roles=draw(st.lists(st.sampled_from(["boss", "应付*"]), max_size=1)),
            departments=draw(st.lists(st.sampled_from(["fin", "s*"]), max_size=1)),
        ),
        scope=None
        if scope is None and roles is None
        else ScopeSettings(departments=scope, roles=roles),
    )
    return state, settings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(live_and_settings())
def test_import_then_plan_is_clean_for_random_states(case: tuple[State, Settings]) -> None:
    state, config = case
    snapshot = LiveSnapshot(state, dict(REFERENCE_CATALOGUE))
    with tempfile.TemporaryDirectory() as tmp:
        imported = import_into(Path(tmp), snapshot, config, MemoryAdapter)
        plan = plan_against(Path(tmp), snapshot, config, MemoryAdapter)
    # The one thing these states hold that a policy cannot: a manager who is no user.
    assert all("manager" in w for w in imported.warnings)
    dangling = {w.split(":")[0].removeprefix("department ") for w in imported.warnings}
    changes = sorted((c.kind, c.key, c.after) for c in plan.changes)
    assert changes == [(Kind.DEPARTMENT, key, {"manager": None}) for key in sorted(dangling)]


# -- what is written ----------------------------------------------------------------------------

COMPANY = {
    "departments": {
        "hq": {"name": "总部"},
        "finance": {"name": "财务部", "parent": "hq", "manager": "chen.jing"},
        "finance-gl": {"name": "总账组", "parent": "finance"},
        "sales": {"name": "销售部", "parent": "hq"},
    },
    "roles": {
        "employee": {"name": "员工", "permissions": ["hr.employee:read"]},
        "credit": {
            "name": "信用控制",
            "permissions": [
                "sales.credit_limit:read",
                "sales.credit_limit:update",
                "sales.credit_limit:approve",
                "sales.order:update",
                "sales.order:read",
            ],
        },
        "gl": {"name": "总账会计", "permissions": ["finance.gl_journal:read", "sales.order:read"]},
        "mixed": {"name": "混合", "permissions": ["finance.cost:read", "sales.order:read"]},
        "nothing": {"name": "空角色"},
    },
    "users": {
        "chen.jing": {"name": "陈静", "department": "finance", "roles": ["employee", "gl"]},
        "zhou.min": {"name": "周敏", "department": "finance-gl", "roles": ["employee", "gl"]},
        "li.na": {"name": "李娜", "department": "sales", "roles": ["employee", "credit"]},
        "wang.fang": {"name": "王芳", "department": "sales", "roles": ["employee", "mixed"]},
        "gone": {"name": "离职", "department": "sales", "active": False},
        "temp": {"name": "临时", "roles": ["nothing"]},
    },
}


def imported_company(settings: Settings | None = None, **changes: object) -> Imported:
    data = {**COMPANY, **changes}
    scope = Scope.from_settings(settings or Settings())
    return import_policy(snapshot_of(data), scope)


def merged(imported: Imported) -> PolicyDocument:
    with tempfile.TemporaryDirectory() as tmp:
        import_cmd.write_files(files_of(imported), Path(tmp))
        return load_policy(Path(tmp)).policy


def test_every_action_of_a_module_is_written_as_a_star() -> None:
    role = merged(imported_company()).roles["credit"]
    assert role.permissions == {"sales.credit_limit": ["*"], "sales.order": ["read", "update"]}
    text = files_of(imported_company())["roles/sales.yaml"]
    assert 'sales.credit_limit: ["*"]' in text
    assert "sales.order: [read, update]" in text  # the catalogue's order, not the alphabet


def test_a_role_everyone_in_a_subtree_holds_becomes_its_highest_default() -> None:
    imported = imported_company()
    policy = merged(imported)
    assert imported.defaults == {"hq": ("employee",), "finance": ("gl",)}
    assert policy.departments["hq"].default_roles == ["employee"]
    assert policy.departments["finance"].default_roles == ["gl"]
    assert policy.departments["finance-gl"].default_roles == []  # finance already gives gl
    assert policy.users["chen.jing"].roles == []
    assert policy.users["zhou.min"].roles == []
    assert policy.users["li.na"].roles == ["credit"]
    assert policy.users["temp"].roles == ["nothing"]  # no department: explicit


def test_no_default_when_one_active_member_lacks_the_role() -> None:
    users = dict(COMPANY["users"])  # type: ignore[call-overload]
    users["new.hire"] = {"name": "新人", "department": "finance-gl", "roles": ["employee"]}
    imported = imported_company(users=users)
    assert imported.defaults == {"hq": ("employee",)}
    assert merged(imported).users["zhou.min"].roles == ["gl"]


def test_no_default_from_a_single_member() -> None:
    data = {
        "departments": {"solo": {"name": "独立"}},
        "roles": {"viewer": {"name": "查询", "permissions": ["hr.employee:read"]}},
        "users": {
            "one": {"name": "一", "department": "solo", "roles": ["viewer"]},
            "left": {"name": "走", "department": "solo", "active": False},
        },
    }
    imported = import_policy(snapshot_of(data), Scope())
    assert imported.defaults == {}
    assert merged(imported).users["one"].roles == ["viewer"]


def test_an_inactive_user_holding_roles_is_written_inactive_without_them() -> None:
    users = dict(COMPANY["users"])  # type: ignore[call-overload]
    users["gone"] = {"name": "离职", "department": "sales", "active": False, "roles": ["credit"]}
    imported = imported_company(users=users)
    assert merged(imported).users["gone"] == User(name="离职", department="sales", active=False)
    assert any("gone is inactive but holds roles" in w for w in imported.warnings)
    assert imported.defaults["hq"] == ("employee",)  # the inactive user does not count


def test_protected_and_ignored_objects_are_left_out() -> None:
    settings = Settings(
        protected_users=["li.na"],
        protected_roles=["mixed"],
        ignore=IgnoreSettings(users=["temp*"], roles=["noth*"]),
    )
    imported = imported_company(settings)
    policy = merged(imported)
    assert set(policy.users) == {"chen.jing", "zhou.min", "wang.fang", "gone"}
    assert set(policy.roles) == {"employee", "credit", "gl"}
    assert policy.users["wang.fang"].roles == []  # mixed is protected: not repeated
    assert ("user", "li.na", "protected") in imported.left_out
    assert ("role", "nothing", "ignored (settings.ignore.roles: 'noth*')") in imported.left_out


def test_the_reference_adapter_builtins_are_left_out(tmp_path: Path) -> None:
    data = {
        "roles": {"admin": {"name": "超级管理员", "permissions": ["system.user:read"]}},
        "users": {"admin": {"name": "管理员", "roles": ["admin"]}},
    }
    imported = import_into(tmp_path, snapshot_of(data))
    assert imported.count("users") == imported.count("roles") == 0
    assert sorted(p.name for p in tmp_path.rglob("*.yaml")) == ["catalog.yaml"]


def test_outside_the_scope_only_what_managed_objects_refer_to_is_written(
    tmp_path: Path,
) -> None:
    settings = Settings(scope=ScopeSettings(departments=["finance"]), protected_users=["chen.jing"])
    snapshot = snapshot_of(COMPANY)
    imported = import_into(tmp_path, snapshot, settings, MemoryAdapter)
    policy = load_policy(tmp_path).policy
    assert set(policy.departments) == {"hq", "finance", "finance-gl"}  # hq: finance's parent
    assert set(policy.users) == {"chen.jing", "zhou.min"}  # chen.jing: finance's manager
    assert policy.users["chen.jing"].roles == []
    assert set(policy.roles) == {"employee", "gl"}  # held inside the scope
    assert ("department", "sales", "outside settings.scope") in imported.left_out
    assert [n[:2] for n in imported.context] == [("department", "hq"), ("user", "chen.jing")]
    assert plan_against(tmp_path, snapshot, settings, MemoryAdapter).changes == ()


def test_files_are_grouped_as_a_person_would_keep_them() -> None:
    assert list(files_of(imported_company())) == [
        "catalog.yaml",
        "departments.yaml",
        "roles/common.yaml",
        "roles/finance.yaml",
        "roles/hr.yaml",
        "roles/sales.yaml",
        "users/finance.yaml",  # one company root (hq): its children are the top level
        "users/sales.yaml",
        "users/unassigned.yaml",  # temp has no department
    ]


def test_users_go_to_their_top_level_department_file() -> None:
    files = imported_company().files
    assert set(files["users/finance.yaml"].users) == {"chen.jing", "zhou.min"}
    assert set(files["users/sales.yaml"].users) == {"li.na", "wang.fang", "gone"}
    assert set(files["users/unassigned.yaml"].users) == {"temp"}
    roots = {
        "finance": {"name": "财务部"},
        "finance-gl": {"name": "总账组", "parent": "finance"},
        "sales": {"name": "销售部"},
    }
    users = {"zhou.min": {"name": "周敏", "department": "finance-gl"}}
    two_roots = import_policy(snapshot_of({"departments": roots, "users": users}), Scope())
    assert list(two_roots.files)[-1] == "users/finance.yaml"  # no company root: the roots


def test_roles_go_to_the_area_most_of_their_permissions_belong_to() -> None:
    files = imported_company().files
    assert set(files["roles/finance.yaml"].roles) == {"gl", "mixed"}  # 1 to 1: alphabetical
    assert set(files["roles/sales.yaml"].roles) == {"credit"}  # 5 sales permissions
    assert set(files["roles/common.yaml"].roles) == {"nothing"}  # no permissions


def test_departments_are_written_parents_first() -> None:
    lines = files_of(imported_company())["departments.yaml"].splitlines()
    keys = [line.strip(" :") for line in lines if line.startswith("  ") and line[2] != " "]
    assert keys == ["hq", "finance", "finance-gl", "sales"]


def test_every_file_has_the_header_and_no_password() -> None:
    for path, text in files_of(imported_company()).items():
        lines = text.splitlines()
        assert lines[0] == (
            "# Imported from the live ERP of target prod "
            "(reference, postgresql://erp:***@db.example/erp)"
        ), path
        assert "on 2026-11-28" in lines[1]
        assert SECRET not in text


def test_unicode_is_written_as_it_is() -> None:
    raw = import_cmd.render(imported_company(), SOURCE)["departments.yaml"].encode("utf-8")
    assert "财务部".encode() in raw
    assert b"\\u" not in raw


def test_the_same_erp_gives_the_same_bytes() -> None:
    reordered = {k: dict(reversed(v.items())) for k, v in COMPANY.items()}
    first = files_of(imported_company())
    second = files_of(import_policy(snapshot_of(reordered), Scope()))
    assert first == second


def test_a_key_the_policy_cannot_hold_is_derived_and_reported() -> None:
    data = {
        "departments": {"sales team": {"name": "销售"}},
        "users": {"john doe": {"name": "John Doe", "department": "sales team"}},
    }
    imported = import_policy(snapshot_of(data), Scope())
    policy = merged(imported)
    assert policy.users["john-doe"].department == "sales-team"
    assert imported.renamed == {
        ("department", "sales team"): "sales-team",
        ("user", "john doe"): "john-doe",
    }
    assert len(imported.warnings) == 2


def test_dirty_live_data_is_written_as_far_as_it_can_be_and_reported() -> None:
    data = {
        "roles": {"r": {"name": "角色", "permissions": ["sales.order:read", "nosuch.module:read"]}},
        "users": {
            "ghost.dept": {"name": "无部门", "department": "ghost", "roles": ["r"]},
            "bad.mail": {"name": "", "email": "not-an-address", "roles": ["r"]},
        },
    }
    imported = import_policy(snapshot_of(data), Scope())
    policy = merged(imported)
    assert policy.users["ghost.dept"].department is None
    assert policy.users["bad.mail"] == User(name="bad.mail", roles=["r"])
    assert policy.roles["r"].permissions == {"sales.order": ["read"]}
    assert sorted(imported.warnings) == [
        "role r: permission 'nosuch.module:read' is not in the ERP's catalogue; "
        "left out (the plan will revoke it)",
        "user bad.mail: email 'not-an-address' is not an email address; left out",
        "user bad.mail: empty name written as its key",
        "user ghost.dept: department 'ghost' is no department of the ERP; left out",
    ]


RUOYI_LIKE = {
    "catalogue": {"system:user": ["list", "query", "add"], "monitor:online": ["list"]},
    "departments": {
        "若依科技": {"name": "若依科技"},
        "若依科技/深圳总公司": {"name": "深圳总公司", "parent": "若依科技", "manager": "ops/li"},
    },
    "roles": {
        "common": {"name": "普通角色", "permissions": ["system:user:list", "monitor:online:list"]},
        "user-admin": {
            "name": "用户管理员",
            "permissions": ["system:user:list", "system:user:query", "system:user:add"],
        },
        "ops/admin": {"name": "运维", "permissions": ["monitor:online:list"]},
    },
    "users": {
        "ry": {
            "name": "若依",
            "department": "若依科技/深圳总公司",
            "roles": ["common", "ops/admin"],
        },
        "zhang.wei": {"name": "张伟", "department": "若依科技", "roles": ["user-admin"]},
        "ops/li": {"name": "运维李", "department": "若依科技", "roles": ["common"]},
    },
}


def test_modules_are_written_in_the_erps_own_words(tmp_path: Path) -> None:
    imported = import_into(tmp_path, snapshot_of(RUOYI_LIKE), adapter=MemoryAdapter)
    policy = load_policy(tmp_path).policy
    assert policy.roles["common"].permissions == {
        "monitor:online": ["*"],
        "system:user": ["list"],
    }
    assert policy.roles["user-admin"].permissions == {"system:user": ["*"]}
    assert set(policy.modules) == {"system:user", "monitor:online"}
    files = files_of(imported)
    assert "roles/system.yaml" in files  # the area is the module's first part
    assert '\n      system:user: ["*"]\n' in files["roles/system.yaml"]
    assert "\n  system:user:\n" in files["catalog.yaml"]


def test_a_role_key_or_login_holding_a_slash_is_left_out_and_named(tmp_path: Path) -> None:
    snapshot = snapshot_of(RUOYI_LIKE)
    imported = import_into(tmp_path, snapshot, adapter=MemoryAdapter)
    policy = load_policy(tmp_path).policy  # loads: nothing invalid was written
    assert set(policy.roles) == {"common", "user-admin"}
    assert set(policy.users) == {"ry", "zhang.wei"}
    assert policy.users["ry"].roles == ["common"]
    assert set(policy.departments) == {"若依科技", "若依科技/深圳总公司"}  # '/' is fine there
    assert policy.departments["若依科技/深圳总公司"].manager is None
    assert [w for w in imported.warnings if w.endswith("rename it in the ERP to manage it")] == [
        "user 'ops/li' left out: its login holds '/', which a policy's logins cannot "
        "(a plan writes LOGIN/ROLE); rename it in the ERP to manage it",
        "role 'ops/admin' left out: its key holds '/', which a policy's role keys cannot "
        "(a plan writes ROLE/MODULE:ACTION); rename it in the ERP to manage it",
    ]
    assert any("its manager 'ops/li' cannot be named in a policy" in w for w in imported.warnings)
    made = plan_against(tmp_path, snapshot, adapter=MemoryAdapter)
    assert {(str(u.kind), u.key) for u in made.unmanaged} == {
        ("user", "ops/li"),
        ("role", "ops/admin"),
    }
    assert [(str(c.kind), c.key, c.before, c.after) for c in made.changes] == [
        ("department", "若依科技/深圳总公司", {"manager": "ops/li"}, {"manager": None})
    ]


# -- YAML that reads back ----------------------------------------------------------------------

TRICKY = [
    *("yes", "No", "on", "y", "123", "1e3", "0x1F", "1_000", "1:30", "2026-01-01", ".inf"),
    *("~", "null", "<<", "=", "a: b", "x #y", "#x", "-x", "*", "'q'", '"d"', "back\\slash"),
    *("a\nb", "tab\tbed", " pad ", "é", "\u2028", "\x85", "\x7f", "::", "[x]", "{y}", "a,b", "?"),
]


@pytest.mark.parametrize("text", TRICKY)
def test_strings_yaml_would_misread_are_quoted_and_read_back(text: str, tmp_path: Path) -> None:
    key = "".join(c if c.isprintable() and not c.isspace() else "-" for c in text)
    document = PolicyDocument(
        departments={key: Department(name=text)},
        roles={"r": Role(name=text, permissions={"sales.order": ["read"]})},
        users={"u": User(name=text, roles=["r"], department=key)},
    )
    (tmp_path / "p.yaml").write_text(dump_document(document), encoding="utf-8")
    assert load_policy(tmp_path).policy == document


def test_quoting_is_what_a_reader_expects() -> None:
    text = dump_document(
        PolicyDocument(
            roles={
                "yes": Role(name="123", permissions={"m.x": ["*"]}),
                "1e3": Role(name="plain name", description="a: b"),
            }
        )
    )
    assert "\n  'yes':\n" in text or '\n  "yes":\n' in text
    assert '"1e3":' in text
    assert 'name: "123"' in text
    assert 'm.x: ["*"]' in text
    assert "name: plain name" in text
    assert 'description: "a: b"' in text
    assert "null" not in text


def test_long_lists_are_written_one_item_a_line() -> None:
    roles = [f"role-number-{i:02d}" for i in range(12)]
    text = dump_document(PolicyDocument(users={"u": User(name="U", roles=roles)}))
    assert "    roles:\n      - role-number-00\n" in text
    assert all(len(line) <= 100 for line in text.splitlines())


@settings(max_examples=150, deadline=None)
@given(policies())
def test_any_policy_dumped_loads_back_the_same(policy: PolicyDocument) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "policy.yaml").write_text(dump_document(policy), encoding="utf-8")
        assert load_policy(Path(tmp)).policy == policy
    assert yaml.safe_load(dump_document(policy)) is not None


# -- the command --------------------------------------------------------------------------------


@pytest.fixture
def sample_target(tmp_path: Path) -> ResolvedTarget:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    engine = create_engine(url)
    create_schema(engine)
    load_sample(engine)
    engine.dispose()
    return ResolvedTarget("demo", "reference", url)


def test_the_command_refuses_a_non_empty_directory_unless_forced(
    sample_target: ResolvedTarget, tmp_path: Path
) -> None:
    project = Project(Config(), tmp_path)
    out = tmp_path / "policies"
    console = Console(file=io.StringIO(), width=200)
    assert import_cmd.run(project, sample_target, out, False, console) == 0
    before = {p: p.read_bytes() for p in out.rglob("*.yaml")}
    with pytest.raises(UsageError, match="is not empty"):
        import_cmd.run(project, sample_target, out, False, console)
    (out / "sod.yaml").write_text("sod_rules: {}\n", encoding="utf-8")  # written by hand
    (out / "users" / "old.yaml").write_text(  # an earlier import's file
        "# Imported from the live ERP of target x\nusers: {}\n", encoding="utf-8"
    )
    assert import_cmd.run(project, sample_target, out, True, console) == 0
    assert {p: p.read_bytes() for p in out.rglob("*.yaml") if p.name != "sod.yaml"} == before
    assert (out / "sod.yaml").exists()
    output = captured(console)
    assert "`erpsync plan` should now show no changes except for the warnings above" in output
    assert "sod.yaml was not written by erpsync import" in output


def test_the_command_refuses_a_file_as_output(
    sample_target: ResolvedTarget, tmp_path: Path
) -> None:
    (tmp_path / "policies").write_text("", encoding="utf-8")
    project, out = Project(Config(), tmp_path), tmp_path / "policies"
    with pytest.raises(UsageError, match="not a directory"):
        import_cmd.run(project, sample_target, out, True, Console())


def test_the_command_summary_names_counts_and_defaults(
    sample_target: ResolvedTarget, tmp_path: Path
) -> None:
    console = Console(file=io.StringIO(), width=200)
    import_cmd.run(Project(Config(), tmp_path), sample_target, tmp_path / "out", False, console)
    output = captured(console)
    assert "(after pointing `policies:` in erpsync.yaml at" in output
    assert "12 departments, 41 users, 30 roles, 21 modules in 16 files" in output
    assert "hq: employee" in output
    assert "user admin: protected" in output


def test_an_import_for_an_erp_without_departments_writes_none(tmp_path: Path) -> None:
    """What a Tryton target cannot store is not written (it would fail validation)."""
    snapshot = snapshot_of(COMPANY)
    imported = import_into(tmp_path, snapshot, adapter=TrytonAdapter)
    assert imported.count("departments") == 0
    written = "".join(
        p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.yaml") if p.name != "catalog.yaml"
    )
    assert " department:" not in written
    assert "data_scope" not in written
    assert any("department(s): the ERP stores none" in w for w in imported.warnings)
    loaded = load_policy(tmp_path)
    assert not capabilities.check(loaded, TrytonAdapter.capabilities, "tryton")
