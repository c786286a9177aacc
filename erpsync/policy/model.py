"""The policy schema: what may be written in ``policies/*.yaml``.

These pydantic models check the shape of untrusted YAML (unknown fields are
errors, keys have a fixed syntax). Cross-object rules — references, cycles,
the catalogue, separation of duties — live in :mod:`erpsync.policy.validate`.
Every policy file is a :class:`PolicyDocument`; the loader merges the files
into one :class:`Policy` of the same shape.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

# Keys of departments, roles, rules and user logins: 1-64 characters, no
# whitespace, no control characters; any Unicode letter is fine.
KEY_PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f]{1,64}$"
NAME_PATTERN = r"^[^\s:\x00-\x1f\x7f-\x9f]{1,128}$"  # module and action names: no ':'
PERMISSION_PATTERN = r"^[^\s:\x00-\x1f\x7f-\x9f]+:[^\s:\x00-\x1f\x7f-\x9f]+$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
ModuleName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
ActionName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Permission = Annotated[str, StringConstraints(pattern=PERMISSION_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]

DataScope = Literal["all", "department", "department_tree", "self", "custom"]
Risk = Literal["low", "medium", "high", "critical"]
Severity = Literal["low", "medium", "high", "critical"]

ALL_ACTIONS = "*"


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
    permissions: dict[ModuleName, list[ActionName]] = Field(
        default_factory=dict,
        description="Module -> actions in the ERP's vocabulary; '*' is every catalogue action.",
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


class User(_Strict):
    name: Text = Field(description="Display name as stored in the ERP.")
    email: Email | None = None
    department: Key | None = Field(None, description="Key of the user's department.")
    roles: list[Key] = Field(default_factory=list, description="Explicitly granted roles.")
    active: StrictBool = True
    expires: dt.date | None = Field(
        None, description="From this date on the user is planned as deactivated."
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


class PolicyDocument(_Strict):
    """One policy file; also the merged policy (same shape)."""

    modules: dict[ModuleName, Module] = Field(default_factory=dict)
    departments: dict[Key, Department] = Field(default_factory=dict)
    roles: dict[Key, Role] = Field(default_factory=dict)
    users: dict[Key, User] = Field(default_factory=dict)
    sod_rules: dict[Key, SodRule] = Field(default_factory=dict)
    sod_exceptions: list[SodException] = Field(default_factory=list)


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
}
