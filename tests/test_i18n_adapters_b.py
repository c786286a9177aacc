"""The ruoyi-vue-pro and jshERP adapters' messages in Simplified Chinese (erpsync.i18n).

Their refusals, warnings, notes, read problems and errors are English data made from
``N_`` templates; :func:`erpsync.i18n.said` says them in Chinese where people read them.
Each is produced here through the real adapter on the test servers (as the adapters' own
tests do), then said: the English stays as it was, the Chinese is a sentence with no
English left in it (values such as logins, ERP names and codes stay as they are).
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from erpsync import i18n
from erpsync.adapters.jsherp import JshErpAdapter
from erpsync.adapters.jsherp.notes import apply_notes as jsherp_apply_notes
from erpsync.adapters.ruoyi_vue_pro import RuoYiVueProAdapter
from erpsync.adapters.ruoyi_vue_pro.notes import apply_notes as vue_pro_apply_notes
from erpsync.adapters.ruoyi_vue_pro.schema import schema_problems
from erpsync.errors import ConfigError
from erpsync.i18n import said
from erpsync.plan import Action, Change, Kind
from tests.adapters import jsherp_fixture as jsh_fx
from tests.adapters.test_jsherp_rules import BASE, apply, project, scoped
from tests.adapters.test_ruoyi_vue_pro import company

# Three English words in a row: a sentence left untranslated. Code, keys and paths
# (system_users.login_date, ruoyi-vue-pro, key-prefix) never match: their words are
# joined by _ . : or -.
ENGLISH = re.compile(r"(?<![\w.:/-])[A-Za-z]+(?:[ ,]+[A-Za-z]+){2,}(?![\w.:/-])")
HAN = re.compile(r"[\u4e00-\u9fff]")
ERP_NAMES = re.compile(r"系统管理|用户管理|重置密码|状态|仓库权限|客户权限|日志管理|登录日志|启用")


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use(i18n.ENGLISH)


def chinese(english: str) -> str:
    """``english`` said in Chinese, checked to be Chinese with no English sentence left."""
    i18n.use(i18n.CHINESE)
    try:
        text_ = said(english)
    finally:
        i18n.use(i18n.ENGLISH)
    assert text_ != english, f"not translated: {english}"
    assert HAN.search(ERP_NAMES.sub("", text_)), text_  # Chinese of ours, not only the ERP's
    assert not ENGLISH.search(text_), f"English left in {text_!r} (from {english!r})"
    assert said(english) == english  # English as it was
    return text_


def in_chinese(english: str) -> str:
    """``english`` said in Chinese (a message with English values in it: no check for
    English words)."""
    i18n.use(i18n.CHINESE)
    try:
        return said(english)
    finally:
        i18n.use(i18n.ENGLISH)


def change(action: Action, kind: Kind, key: str, **after: object) -> Change:
    before = {} if action is Action.UPDATE else None
    return Change(action, kind, key, "t", before, dict(after) if after else None)


# -- ruoyi-vue-pro -----------------------------------------------------------------------------

USER = {"name": "新人", "email": None, "department": None, "active": True}


@pytest.fixture
def yudao(pg_engine: Engine) -> Engine:
    company(pg_engine)
    return pg_engine


@pytest.mark.postgres
def test_ruoyi_vue_pro_refusals_are_said_in_chinese(yudao: Engine) -> None:
    cases = [
        (
            "2",
            change(Action.GRANT, Kind.PERMISSION, "clerk/report:sales:query"),
            "report:sales:query is outside the package of tenant 2 (租户二); the app would drop "
            "the grant",
            "report:sales:query 不在租户 2（租户二）的套餐内；应用会丢弃此授予",
        ),
        (
            None,
            change(Action.UPDATE, Kind.ROLE, "common", name="改"),
            "common is a built-in role (type 1); the app and erpsync never change it",
            "common 是内置角色（type 1）；应用和 erpsync 都不会改动它",
        ),
        (
            None,
            change(Action.UPDATE, Kind.USER, "superman", name="改"),
            "it holds the built-in super_admin role, which erpsync never touches",
            "该用户持有内置的 super_admin 角色，erpsync 从不改动它",
        ),
        (
            None,
            change(Action.GRANT, Kind.MEMBERSHIP, "wangwu/super_admin"),
            "erpsync never grants or revokes the built-in super_admin role",
            "erpsync 从不授予或撤销内置的 super_admin 角色",
        ),
        (
            None,
            change(Action.CREATE, Kind.USER, "li.na", **USER),
            "ruoyi-vue-pro usernames are 4 to 30 letters and digits (^[A-Za-z0-9]{4,30}$); "
            "'li.na' is not",
            "ruoyi-vue-pro 的用户名为 4 到 30 个字母和数字（^[A-Za-z0-9]{4,30}$）；'li.na' 不符合",
        ),
        (
            None,
            change(Action.CREATE, Kind.ROLE, "r3", name="长" * 31),
            f"'{'长' * 31}' is 31 characters; system_role.name holds 30",
            f"'{'长' * 31}' 长 31 个字符；system_role.name 最多容纳 30 个字符",
        ),
        (
            None,
            change(Action.CREATE, Kind.DEPARTMENT, "dup", name="销售部", parent="总部"),
            "its parent already has a department named '销售部'",
            "其上级部门下已有名为 '销售部' 的部门",
        ),
        (
            None,
            change(Action.UPDATE, Kind.USER, "wangwu", department="总部/停用部"),
            "department 总部/停用部 is disabled; the app puts users only in enabled departments",
            "部门 总部/停用部 已停用；应用只把用户放入启用的部门",
        ),
        (
            None,
            change(Action.UPDATE, Kind.USER, "wangwu", posts=["SE", "nope"]),
            "tenant 1 has no post 'SE' (it has 'se': codes match exactly); erpsync assigns "
            "posts, it never creates them",
            "租户 1 没有岗位 'SE'（有 'se'：编码须完全一致）；erpsync 只分配岗位，从不创建岗位",
        ),
        (
            None,
            change(Action.UPDATE, Kind.USER, "wangwu", posts=["ops"]),
            "post ops (运维) is disabled; the app assigns only enabled posts",
            "岗位 ops（运维）已停用；应用只分配启用的岗位",
        ),
    ]
    for tenant, refused, english, expected in cases:
        adapter = RuoYiVueProAdapter(yudao, tenant)
        found = RuoYiVueProAdapter.check_plan(adapter.read(), [refused])
        assert [r.reason for r in found][:1] == [english]
        assert chinese(found[0].reason) == expected
        whole = in_chinese(str(found[0]))  # "cannot update user x: ...", the reason said
        assert whole.startswith("无法")  # the action and kind said too: 无法修改用户 x：…
        assert whole.endswith(f" {refused.key}：{expected}")


@pytest.mark.postgres
def test_ruoyi_vue_pro_nested_refusal_and_a_tenants_administrator(yudao: Engine) -> None:
    with yudao.begin() as conn:
        row = {"id": 8, "user_id": 21, "role_id": 22, "tenant_id": 2, "deleted": 0}
        from tests.adapters import ruoyi_vue_pro_fixture as fx

        fx.insert(conn, "system_user_role", [row])
    adapter = RuoYiVueProAdapter(yudao, "2")
    found = RuoYiVueProAdapter.check_plan(
        adapter.read(), [Change(Action.DELETE, Kind.ROLE, "clerk", "t")]
    )
    assert found[0].reason == "'boss2' holds it, and it is the administrator of tenant 租户二"
    assert chinese(found[0].reason) == "'boss2' 持有该角色，而该用户是租户 租户二 的管理员"


@pytest.mark.postgres
def test_ruoyi_vue_pro_notes_problems_and_errors_are_said_in_chinese(yudao: Engine) -> None:
    created = [change(Action.CREATE, Kind.USER, f"user{i:02}", **USER) for i in range(22)]
    stopped = [Change(Action.DEACTIVATE, Kind.USER, "wangwu", "t")]
    grants = [change(Action.GRANT, Kind.PERMISSION, "clerk/system:user:create")]
    notes = RuoYiVueProAdapter.plan_notes(created[:2])
    assert notes == [
        "New ruoyi-vue-pro users have no password (user00, user01): nobody can log in as them "
        "until an administrator sets one in the app (系统管理 → 用户管理 → 重置密码)."
    ]
    assert chinese(notes[0]).startswith("新建的 ruoyi-vue-pro 用户没有密码（user00, user01）：")
    after = vue_pro_apply_notes([*created, *stopped, *grants], 1)
    assert len(after) == 3
    assert "user19 and 2 more" in after[0]
    assert "（user00, " in chinese(after[0])
    assert "等，另有 2 个）" in chinese(after[0])
    assert "menu_role_ids:1:*, permission_menu_ids:*" in chinese(after[1])
    assert chinese(after[2]).startswith("已停用或删除的用户（wangwu）在所持令牌过期前仍可继续使用")

    with yudao.begin() as conn:  # dirty rows: reported, said in Chinese
        conn.execute(
            text(
                "INSERT INTO system_user_role (id, user_id, role_id, tenant_id, deleted) "
                "VALUES (90, 999, 3, 1, 0)"
            )
        )
        conn.execute(text("UPDATE system_users SET post_ids = 'x' WHERE id = 3"))
    problems = RuoYiVueProAdapter(yudao, None).read().problems
    wanted = {
        "system_user_role: row (user_id=999, role_id=3) points at a user or role not live in "
        "tenant 1; skipped": "system_user_role：行（user_id=999，role_id=3）指向租户 1 中不存在的"
        "用户或角色；已跳过",
        "system_users: user zhaoliu has post_ids 'x', which is no JSON array of ids; erpsync "
        "reads the user's posts from system_user_post ([])": "system_users：用户 zhaoliu 的 "
        "post_ids 'x' 不是 id 的 JSON 数组；erpsync 从 system_user_post 读取该用户的岗位（[]）",
    }
    assert set(wanted) <= set(problems)
    for problem in problems:
        said_ = chinese(problem)
        assert wanted.get(problem, said_) == said_

    with pytest.raises(ConfigError) as error:
        RuoYiVueProAdapter(yudao, "无此租户").read()
    assert str(error.value) == (
        "unknown ruoyi-vue-pro tenant '无此租户'; the tenants are 1 (系统租户), 2 (租户二)"
    )
    assert chinese(str(error.value)) == (
        "未知的 ruoyi-vue-pro 租户 '无此租户'；现有租户为 1 (系统租户), 2 (租户二)"
    )
    admin = RuoYiVueProAdapter.administrators[0].why
    assert chinese(admin).startswith("ruoyi-vue-pro 的 super_admin 角色：")
    assert chinese(RuoYiVueProAdapter.schema_hint).startswith("请将目标指向 ruoyi-vue-pro")
    assert chinese(RuoYiVueProAdapter.login_source or "")


@pytest.mark.postgres
def test_ruoyi_vue_pro_schema_problems_are_said_in_chinese(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        (problem,) = schema_problems(conn)
    assert problem.startswith("this database is not a ruoyi-vue-pro database: missing table(s) ")
    assert chinese(problem).startswith("此数据库不是 ruoyi-vue-pro 数据库：缺少表 system_dept, ")


# -- jshERP ------------------------------------------------------------------------------------


@pytest.fixture
def jsherp(
    mysql_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Engine:
    """Tenant 63 with BASE applied (li.na in 销售部, role clerk) and its warehouses and
    customers (一号仓, 二号仓 disabled; 甲), its switches off."""
    jsh_fx.create_schema(mysql_engine)
    project(tmp_path, mysql_engine, monkeypatch, BASE)
    apply(capsys, mysql_engine)
    scoped(mysql_engine)
    return mysql_engine


@pytest.mark.mysql
def test_jsherp_refusals_are_said_in_chinese(jsherp: Engine) -> None:
    snapshot = JshErpAdapter(jsherp, "63").read()
    cases = [
        (
            Change(Action.DELETE, Kind.ROLE, "clerk", "t", {"name": "x"}),
            "li.na still hold it (jshERP would keep their menus and break their lists)",
            "li.na 仍持有该角色（jshERP 会保留他们的菜单并导致其列表出错）",
        ),
        (
            Change(Action.DELETE, Kind.DEPARTMENT, "sales", "t", {"name": "x"}),
            "it still has members ['li.na']",
            "其中仍有成员 ['li.na']",
        ),
        (
            change(Action.CREATE, Kind.USER, "admin", name="管理"),
            "'admin' is jshERP's platform administrator",
            "'admin' 是 jshERP 的平台管理员",
        ),
        (
            change(Action.CREATE, Kind.ROLE, "r1", name="x"),
            "jshERP's role names have 2 to 30 characters",
            "jshERP 的角色名称长度为 2 到 30 个字符",
        ),
        (
            change(Action.CREATE, Kind.ROLE, "r2", name="自定义", data_scope="custom"),
            "jshERP's data scopes are all data, own data and the department's tree (all, self, "
            "department_tree), not custom",
            "jshERP 的数据权限只有全部数据、个人数据和本部门及下级部门数据（all, self, "
            "department_tree），没有 custom",
        ),
        (
            change(Action.GRANT, Kind.PERMISSION, "clerk//no/such:view"),
            "jshERP has no page (function) with url /no/such",
            "jshERP 没有 url 为 /no/such 的页面（功能）",
        ),
        (
            change(Action.UPDATE, Kind.USER, "li.na", warehouses=["二号仓"]),
            "仓库 (warehouse) '二号仓' is disabled (启用 off): jshERP's pickers do not offer it; "
            "enable it in jshERP first",
            "仓库 '二号仓' 已停用（未勾选“启用”）：jshERP 的选择框不提供它；请先在 jshERP 中启用",
        ),
        (
            change(Action.UPDATE, Kind.USER, "li.na", customers=["无此客户"]),
            "the tenant has no live 客户 (customer) named '无此客户'",
            "租户中没有名为 '无此客户' 的有效客户",
        ),
        (
            change(Action.UPDATE, Kind.USER, "jsh", name="改"),
            "jsh is the tenant administrator (jsh_user.id = tenant_id): erpsync never changes it",
            "jsh 是租户管理员（jsh_user.id = tenant_id）：erpsync 从不改动它",
        ),
    ]
    for refused, english, expected in cases:
        found = JshErpAdapter.check_plan(snapshot, [refused])
        assert [r.reason for r in found] == [english]
        assert chinese(found[0].reason) == expected
        said_whole = in_chinese(str(found[0]))  # the prefix said too, its values as they are
        assert said_whole.startswith("无法")  # the action and kind said too: 无法修改用户 x：…
        assert said_whole.endswith(f" {refused.key}：{expected}")


@pytest.mark.mysql
def test_jsherp_warnings_notes_problems_and_errors_are_said_in_chinese(jsherp: Engine) -> None:
    snapshot = JshErpAdapter(jsherp, "63").read()
    scopes = [change(Action.UPDATE, Kind.USER, "li.na", warehouses=["一号仓"], customers=["甲"])]
    warnings = JshErpAdapter.plan_warnings(snapshot, scopes)
    assert warnings[0] == (
        "jshERP ignores users' warehouses (UserDepot) while jsh_system_config.depot_flag is not "
        "'1': this plan writes them, but they take effect only once an administrator switches "
        "on 系统配置 → 仓库权限"
    )
    assert chinese(warnings[0]) == (
        "jsh_system_config.depot_flag 不为 '1' 时，jshERP 会忽略用户的 warehouses（UserDepot）："
        "本计划会写入它们，但只有在管理员开启 系统配置 → 仓库权限 后才生效"
    )
    assert chinese(warnings[1]).endswith("系统配置 → 客户权限 后才生效")

    created = change(Action.CREATE, Kind.USER, "zhou", name="周")
    grant = change(Action.GRANT, Kind.PERMISSION, "clerk//financial/money_out:audit")
    stop = Change(Action.DEACTIVATE, Kind.USER, "li.na", "t")
    notes = JshErpAdapter.plan_notes([created, grant, *scopes])
    assert len(notes) == 3
    said_notes = [chinese(n) for n in notes]
    assert said_notes[0].startswith("新建的 jshERP 用户没有密码")
    assert said_notes[1].startswith("jshERP 只在其 Web 界面中限制菜单和按钮")
    assert said_notes[2].startswith("jshERP 会把新建的仓库加入其创建者的仓库列表")
    after = [chinese(n) for n in jsherp_apply_notes([created, stop])]
    assert len(after) == 3
    assert after[0].startswith("jshERP 在用户下次登录或整页刷新（F5）时显示新的菜单和按钮")
    assert after[1].startswith("erpsync 无法访问 jshERP 的 Redis 会话")
    assert after[2] == said_notes[0]

    with jsherp.begin() as conn:  # dirty rows: reported, said in Chinese
        uid = conn.execute(text("SELECT id FROM jsh_user WHERE login_name = 'li.na'")).scalar()
        conn.execute(
            text(
                "INSERT INTO jsh_user_business (type, key_id, value, tenant_id, delete_flag) "
                "VALUES ('UserDepot', :k, '[1][99]', 63, '0'), ('UserDepot', :k, '[2]', 63, '0'),"
                " ('UserRole', :k, '[6][7]', 63, '0')"
            ),
            {"k": str(uid)},
        )
    problems = JshErpAdapter(jsherp, "63").read().problems
    assert len(problems) >= 3
    for problem in problems:
        chinese(problem)
    said_ = "\n".join(chinese(p) for p in problems)
    assert "用户 'li.na' 有第二条 UserDepot 行" in said_
    assert "用户 'li.na' 的 UserDepot 行指向仓库 id [99]，它们不是此租户的有效仓库" in said_

    with pytest.raises(ConfigError) as error:
        JshErpAdapter(jsherp, "nobody").read()
    assert chinese(str(error.value)) == (
        "jsherp 租户 'nobody' 不在 jsh_tenant 中（已知租户：63 (jsh), 70 (other)）"
    )
    for message in (
        JshErpAdapter.administrators[0].why,
        JshErpAdapter.schema_hint,
        JshErpAdapter.target_note,
        JshErpAdapter.login_source or "",
    ):
        chinese(message)
    with jsherp.connect() as conn:
        conn.execute(text("DROP TABLE jsh_log"))
        from erpsync.adapters.jsherp.schema import schema_problems as jsherp_schema

        assert [chinese(p) for p in jsherp_schema(conn)] == ["缺少表 jsh_log"]


def test_jsherp_policy_rule_and_formats_are_said_in_chinese() -> None:
    from erpsync.adapters.jsherp.formats import parse_buttons, role_of

    assert chinese(role_of("[6][7]")[1] or "") == "存有 '[6][7]'，jshERP 会将其读作角色 67"
    _buttons, problems = parse_buttons('[{"funId": 3, "btnStr": "1"}, {"funId": 3}, 7]')
    assert [chinese(p) for p in problems] == [
        "btn_str 两次列出功能 3：以第一条为准",
        "btn_str 中的条目缺少功能 id：7",
    ]


def test_every_template_of_the_two_adapters_is_read_back_as_itself() -> None:
    """Each message template of the two adapters, filled with values, is said with its own
    translation (no other template of the catalogue takes it for its own)."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parent.parent / "erpsync" / "adapters"
    templates = {
        message
        for folder in ("ruoyi_vue_pro", "jsherp")
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(root / folder), keywords={"N_": None}, method_map=[("**.py", "python")]
        )
    }
    assert len(templates) > 150
    i18n.use(i18n.CHINESE)
    catalogue = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=[i18n.CHINESE])
    for template in sorted(templates):
        names = dict.fromkeys(re.findall(r"\{(\w+)\}", template))
        values = {name: f"v{n}x" for n, name in enumerate(names)}
        expected = catalogue.gettext(template).format(**values)
        assert said(template.format(**values)) == expected, template
