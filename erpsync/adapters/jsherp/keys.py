"""jshERP's codes, and the keys erpsync names its rows by.

Permissions (see the docs, "jsherp"): module = the function's ``url``, verbatim
(``/material/material``); action ``view`` = the function's id in the role's
RoleFunctions ``value`` (the page is in the menu), and the page's buttons (``btn_str``)
by their codes: ``edit`` 1 (编辑: every write action of the page), ``audit`` 2 (审核),
``unaudit`` 7 (反审核), ``export`` 3 (导出), ``toggle`` 4, ``print`` 5, ``void`` 6 (启用禁用,
打印, 作废: offered by the menu editor, checked by no page of this version). A button
is offered only where the function's ``push_btn`` lists its code, and requires ``view``.

Roles and departments are bound (:mod:`erpsync.bindings`); unbound, a role goes by its
name and a department by its ``org_abr`` (both unique within a tenant), written as a key
the way RuoYi's name segments are (:func:`~erpsync.adapters.ruoyi.keys.name_segment`).
"""

from __future__ import annotations

from erpsync.adapters.ruoyi.keys import name_segment

VIEW = "view"
ACTION_BY_CODE = {
    "1": "edit",
    "2": "audit",
    "7": "unaudit",
    "3": "export",
    "4": "toggle",
    "5": "print",
    "6": "void",
}
CODE_BY_ACTION = {action: code for code, action in ACTION_BY_CODE.items()}

# jsh_role.type (data scope) <-> erpsync's scopes; the department spelling depends on the
# version (本部门数据 on HEAD since the 2026-04-17 upgrade, 本机构数据 before).
ALL_DATA = "全部数据"
OWN_DATA = "个人数据"
DEPARTMENT_DATA = "本部门数据"
ORGANISATION_DATA = "本机构数据"  # v3.6 and older data
SCOPE_BY_TYPE = {
    ALL_DATA: "all",
    OWN_DATA: "self",
    DEPARTMENT_DATA: "department_tree",
    ORGANISATION_DATA: "department_tree",
}
SCOPES = ("all", "self", "department_tree")

# Flags are strings; status a number; delete_flag '1' deleted, '0' present (never NULL).
PRESENT, DELETED = "0", "1"
NORMAL, BANNED = 0, 2
LEADER, NOT_LEADER = "1", "0"

USER_ROLE, ROLE_FUNCTIONS = "UserRole", "RoleFunctions"
USER_DEPOT, USER_CUSTOMER = "UserDepot", "UserCustomer"
# A policy user's per-user data scopes -> their jsh_user_business type
SCOPE_TYPES = {"warehouses": USER_DEPOT, "customers": USER_CUSTOMER}
CUSTOMER = "客户"  # jsh_supplier.type of a customer (供应商 and 会员 are the other two)
# jsh_system_config's switch that makes each scope count, and its label in 系统配置
SCOPE_FLAGS = {USER_DEPOT: ("depot_flag", "仓库权限"), USER_CUSTOMER: ("customer_flag", "客户权限")}
# The object each scope names, as jshERP's screens call it
SCOPE_OBJECTS = {USER_DEPOT: "仓库 (warehouse)", USER_CUSTOMER: "客户 (customer)"}

PLATFORM_ADMIN = "admin"  # login_name of the platform administrator (tenant_id 0)
PLATFORM_ADMIN_ROLE_ID = 4  # 管理员, hard-coded in jshERP
SYSTEM_URL = "/system"  # 系统管理: no tenant role gets anything under it

# Column lengths (characters) of what erpsync writes; the identity tables are utf8mb3.
LENGTHS = {
    ("jsh_user", "username"): 255,
    ("jsh_user", "login_name"): 255,
    ("jsh_user", "email"): 100,
    ("jsh_role", "name"): 50,
    ("jsh_role", "description"): 100,
    ("jsh_organization", "org_abr"): 20,
    ("jsh_organization", "org_no"): 20,
    ("jsh_user_business", "btn_str"): 20000,
}
ROLE_NAME_MIN, ROLE_NAME_MAX = 2, 30  # what jshERP's role dialog accepts


def natural_key(name: str) -> str:
    """A role's or department's key by its name (unique in the tenant)."""
    return name_segment(name)


def four_byte(text: str) -> bool:
    """True when ``text`` holds a character utf8mb3 cannot store (emoji, rare CJK)."""
    return any(ord(c) > 0xFFFF for c in text)


def fold(value: str) -> str:
    """How utf8_general_ci compares: case and trailing spaces ignored."""
    return value.rstrip().casefold()
