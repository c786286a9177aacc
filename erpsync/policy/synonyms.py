"""Fields people write from habit (the ERP's own column, another tool's word) and the
policy field they mean, for the hint of an "unknown field" error.

Each entry maps a written name to the field meant and, where the value needs rewriting
too, how to write it: ``status: disabled`` is ``active: false``. A hint is given only
when the object really has that field (``perms`` on a user is not a role's
``permissions``), so one table serves every kind of object.
"""

from __future__ import annotations

from collections.abc import Collection

from erpsync.i18n import N_

# The "how" of a hint is English data from a template marked N_, said in a view with it.
_ACTIVE = N_(
    "write 'active: false' for a disabled or locked account ('active: true' is the default)"
)

# written name (compared lower-case, '-' and ' ' read as '_') -> (field meant, how to write it)
SYNONYMS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        ("status", "state", "enabled", "disabled", "is_active", "locked", "del_flag"),
        ("active", _ACTIVE),
    ),
    **dict.fromkeys(
        ("dept", "dept_id", "department_id", "org", "organization", "organisation", "unit"),
        ("department", N_("write the department's key")),
    ),
    **dict.fromkeys(("mail", "e_mail", "email_address"), ("email", "")),
    **dict.fromkeys(
        ("perms", "permission", "rights", "privileges", "menus", "authorities", "grants"),
        ("permissions", ""),
    ),
    **dict.fromkeys(("role", "role_ids", "groups"), ("roles", N_("a list of role keys"))),
    **dict.fromkeys(
        ("display_name", "nick_name", "nickname", "full_name", "title", "label", "user_name"),
        ("name", ""),
    ),
    **dict.fromkeys(("parent_id", "parent_dept"), ("parent", N_("write the parent's key"))),
    **dict.fromkeys(("leader", "head", "boss"), ("manager", N_("write the manager's login"))),
    **dict.fromkeys(
        ("expiry", "expire", "expires_at", "valid_until", "end_date", "until"),
        ("expires", ""),
    ),
    **dict.fromkeys(("include", "inherits", "extends"), ("includes", "")),
    **dict.fromkeys(("default_role", "defaults"), ("default_roles", "")),
    **dict.fromkeys(("owner",), ("owners", "")),
    **dict.fromkeys(("desc", "remark", "remarks", "comment"), ("description", "")),
    **dict.fromkeys(("scope", "data_range"), ("data_scope", "")),
}


def synonym_hint(name: str, fields: Collection[str]) -> str:
    """' (did you mean 'active'? write …)' when ``name`` is a known synonym of one of
    ``fields``, else ''."""
    meant = SYNONYMS.get(name.strip().lower().replace("-", "_").replace(" ", "_"))
    if meant is None or meant[0] not in fields or meant[0] == name:
        return ""
    field, how = meant
    if how:
        return N_(" (did you mean '{name}'? {detail})").format(name=field, detail=how)
    return N_(" (did you mean '{name}'?)").format(name=field)
