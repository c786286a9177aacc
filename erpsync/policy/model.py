"""The policy schema: what may be written in ``policies/*.yaml``.

These pydantic models check the shape of untrusted YAML (unknown fields are
errors, keys have a fixed syntax). Cross-object rules — references, cycles,
the catalogue, separation of duties — live in :mod:`erpsync.policy.validate`.
Every policy file is a :class:`PolicyDocument`; the loader merges the files
into one :class:`Policy` of the same shape.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
)

# Keys of departments, roles, rules and user logins: 1-64 characters, no
# whitespace, no control characters; any Unicode letter is fine.
KEY_PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f]{1,64}$"
# Role keys and logins also have no '/': a plan names a permission ROLE/MODULE:ACTION and a
# membership LOGIN/ROLE, and splits those at the first '/'. Department keys may hold one
# (the RuoYi adapter's are name paths).
NAME_KEY_PATTERN = r"^[^\s/\x00-\x1f\x7f-\x9f]{1,64}$"
# An action is what follows a permission's last ':', so it holds none; a module is the
# ERP's own word (RuoYi's ``system:user``): segments joined by ':', none of them empty.
_SEGMENT = r"[^\s:\x00-\x1f\x7f-\x9f]+"
NAME_PATTERN = rf"^{_SEGMENT}$"
MODULE_PATTERN = rf"^{_SEGMENT}(?::{_SEGMENT})*$"
PERMISSION_PATTERN = rf"^{_SEGMENT}(?::{_SEGMENT})+$"
NAME_LIMIT = 128  # characters of a module or action name
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
RoleKey = Annotated[str, StringConstraints(pattern=NAME_KEY_PATTERN)]
Login = Annotated[str, StringConstraints(pattern=NAME_KEY_PATTERN)]
ModuleName = Annotated[str, StringConstraints(pattern=MODULE_PATTERN, max_length=NAME_LIMIT)]
ActionName = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=NAME_LIMIT)]
Permission = Annotated[str, StringConstraints(pattern=PERMISSION_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]

DataScope = Literal["all", "department", "department_tree", "self", "custom"]
Risk = Literal["low", "medium", "high", "critical"]
Severity = Literal["low", "medium", "high", "critical"]

ALL_ACTIONS = "*"

# The two forms of a role's permissions: module -> actions, or a list of MODULE:ACTION.
# Pydantic names the form in an error's location (``permissions``, FORM, ...); the loader
# drops it again. The names hold a space, so no key can be mistaken for one.
MAPPING_FORM = "mapping form"
LIST_FORM = "list form"
PERMISSIONS_FORM_ERROR = "permissions_form"


def _permissions_form(value: Any) -> str | None:
    if isinstance(value, dict):
        return MAPPING_FORM
    return LIST_FORM if isinstance(value, list) else None


Permissions = Annotated[
    Annotated[dict[ModuleName, list[ActionName]], Tag(MAPPING_FORM)]
    | Annotated[list[Permission], Tag(LIST_FORM)],
    Discriminator(
        _permissions_form,
        custom_error_type=PERMISSIONS_FORM_ERROR,
        custom_error_message="expected a mapping (module: [actions]) or a list of module:action",
    ),
]


def split_permission(perm: str) -> tuple[str, str]:
    """``system:user:add`` -> (``system:user``, ``add``): the action follows the last ':'."""
    module, _, action = perm.rpartition(":")
    return module, action


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Module(_Strict):
    """One module of the ERP's catalogue and the actions it knows."""

    name: Text | None = Field(None, description="Display name in the ERP.")
    actions: list[ActionName] = Field(min_length=1, description="Actions, e.g. read, approve.")
    requires: dict[ActionName, list[Permission]] = Field(
        default_factory=dict,
        description="Action -> the permissions granting it also grants in the ERP (a RuoYi "
        "button's page): a role holding the action must declare them too.",
    )


class Department(_Strict):
    name: Text = Field(description="Display name as stored in the ERP (any Unicode).")
    parent: Key | None = Field(None, description="Key of the parent department.")
    manager: Key | None = Field(None, description="Login of the department's manager.")
    default_roles: list[Key] = Field(
        default_factory=list,
        description="Roles every member of this department or any department below it gets.",
    )
    owners: list[Text] = Field(
        default_factory=list, description="Reviewers of this department's access (CODEOWNERS)."
    )


class Role(_Strict):
    name: Text = Field(description="Display name as stored in the ERP.")
    description: Text | None = None
    permissions: Permissions = Field(
        default_factory=dict,
        description=(
            "Module -> actions, or a list of module:action, in the ERP's own words (the action "
            "follows the last ':'); '*' is every catalogue action."
        ),
    )
    includes: list[Key] = Field(
        default_factory=list, description="Roles whose permissions this role also carries."
    )
    data_scope: DataScope | None = Field(None, description="Which records the role may see.")
    data_departments: list[Key] = Field(
        default_factory=list, description="With data_scope: custom, the departments visible."
    )
    risk: Risk | None = None
    owners: list[Text] = Field(
        default_factory=list, description="Reviewers of this role's changes (CODEOWNERS)."
    )

    def by_module(self) -> dict[str, list[str]]:
        """The permissions as module -> actions, whichever form they were written in (in
        the list form, the modules and actions in the order written, repeats kept)."""
        if isinstance(self.permissions, dict):
            return self.permissions
        out: dict[str, list[str]] = {}
        for perm in self.permissions:
            module, action = split_permission(perm)
            out.setdefault(module, []).append(action)
        return out

    def declared_at(self, perm: str) -> tuple[str | int, ...]:
        """The path below the role where ``perm`` (``module:*`` included) is written:
        (``permissions``, module) or (``permissions``, list index); (``permissions``,)
        when it is not."""
        module, action = split_permission(perm)
        if isinstance(self.permissions, dict):
            return ("permissions", module) if module in self.permissions else ("permissions",)
        every = f"{module}:{ALL_ACTIONS}"
        for index, written in enumerate(self.permissions):
            if written in (perm, every) or (
                action == ALL_ACTIONS and split_permission(written)[0] == module
            ):
                return ("permissions", index)
        return ("permissions",)


class User(_Strict):
    name: Text = Field(description="Display name as stored in the ERP.")
    email: Email | None = None
    department: Key | None = Field(None, description="Key of the user's department.")
    roles: list[Key] = Field(default_factory=list, description="Explicitly granted roles.")
    active: StrictBool = True
    expires: dt.date | None = Field(
        None, description="From this date on the user is planned as deactivated."
    )
    posts: list[Text] | None = Field(
        None,
        description="The ERP's posts (岗位) the user holds, by the post's code (RuoYi, "
        "ruoyi-vue-pro). Left out, the user keeps the posts the ERP gives them.",
    )
    warehouses: list[Text] | None = Field(
        None,
        description="The warehouses (仓库) whose documents the user may see, by name (jshERP's "
        "per-user data scope). Left out, they stay as the ERP has them.",
    )
    customers: list[Text] | None = Field(
        None,
        description="The customers (客户) whose documents the user may see, by name (jshERP's "
        "per-user data scope). Left out, they stay as the ERP has them.",
    )


class SodRule(_Strict):
    description: Text
    severity: Severity
    conflicts: list[Annotated[list[Permission], Field(min_length=1)]] = Field(
        min_length=2,
        description="Permission sets; holding one permission of EACH set violates the rule.",
    )


class SodException(_Strict):
    rule: Key
    user: Key
    reason: Text
    approved_by: Key
    expires: dt.date | None = Field(
        None, description="From this date on the exception no longer covers the violation."
    )


MovedKind = Literal["department", "role", "user"]


class Moved(_Strict):
    """A renamed key: the object declared as ``to`` is the one erpsync knew as ``from``.

    Planned as an update of the same ERP row (its id, members, grants and history stay),
    never as a delete and a create. An entry whose ``from`` no longer exists in the ERP
    has been applied and may stay in the policy as a record of the rename.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: MovedKind = Field(description="What is renamed: department, role or user (a login).")
    from_: Key = Field(alias="from", description="The key the object had.")
    to: Key = Field(description="The key it has now (declared in the policy).")


class PolicyDocument(_Strict):
    """One policy file; also the merged policy (same shape)."""

    modules: dict[ModuleName, Module] = Field(default_factory=dict)
    departments: dict[Key, Department] = Field(default_factory=dict)
    roles: dict[RoleKey, Role] = Field(default_factory=dict)
    users: dict[Login, User] = Field(default_factory=dict)
    sod_rules: dict[Key, SodRule] = Field(default_factory=dict)
    sod_exceptions: list[SodException] = Field(default_factory=list)
    moved: list[Moved] = Field(
        default_factory=list, description="Renamed keys: updates in place, never re-creations."
    )


Policy = PolicyDocument

# Sections whose entries are keyed objects; merged across files by key.
KEYED_SECTIONS = ("modules", "departments", "roles", "users", "sod_rules")

# The singular noun used for an object of each section in messages.
NOUN = {
    "modules": "module",
    "departments": "department",
    "roles": "role",
    "users": "user",
    "sod_rules": "sod_rule",
    "sod_exceptions": "sod_exception",
    "moved": "moved",
}
