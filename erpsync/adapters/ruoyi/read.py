"""Reading RuoYi: one ``SELECT`` per table into a :class:`~erpsync.adapters.ruoyi.model.Model`,
dirty data reported (never fatal, never "fixed"), and the :class:`LiveSnapshot` it gives.

What counts as live: rows whose ``del_flag`` is ``'0'`` (or NULL); ``'2'`` is
RuoYi's soft delete, and such rows are absent from the state. Dirty data, each
reported in :attr:`LiveSnapshot.problems`:

- link rows (``sys_user_role``, ``sys_role_menu``, ``sys_role_dept``) pointing
  at missing or deleted users, roles, menus or departments: skipped;
- a user or department pointing at a missing or deleted department: read
  without it (a root department, a user without department), so a plan updates
  the row rather than creating a duplicate;
- duplicate logins, role keys or sibling department names (RuoYi keeps them
  unique among live rows, case-insensitively): exact duplicates of a login or
  role key are skipped after the first (lowest id); a department path shared
  by two rows keeps the later one apart with ``#id``;
- an ``ancestors`` value that disagrees with the parent chain, a ``perms``
  value that is no ``module:action``, an unknown ``data_scope`` code.

Who last changed a row becomes :attr:`LiveSnapshot.attribution`: the later of the
row's own stamp (``update_by``/``update_time``, else ``create_by``/``create_time``)
and the last successful ``sys_oper_log`` call naming it (:mod:`.operlog`: role
edits and grants, user edits and ``authRole``, department edits), which also
covers what changes no stamp (a role's menus, a user's roles). A membership
granted or cancelled from the role's side is attributed to that membership
itself (``("membership", "login/role")``), a call that set a role's menus to
``("grants", role)``, one that set a user's roles to ``("memberships", login)``.
Rows soft-deleted in RuoYi (``del_flag = '2'``) whose key no live row has go to
:attr:`LiveSnapshot.deleted` with who deleted them and when. RuoYi stamps local
wall-clock time, so the stamps are read in the database session's time zone (one
query asks the database for its clock) and handed on in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, select

from erpsync import bindings
from erpsync.adapters.base import Attribution, LiveSnapshot
from erpsync.adapters.dbclock import clock
from erpsync.adapters.ruoyi.facts import Private, SchemaFacts
from erpsync.adapters.ruoyi.keys import (
    ADMIN_ROLE_ID,
    ADMIN_ROLE_KEY,
    ADMIN_USER_ID,
    CUSTOM,
    NORMAL,
    PRESENT,
    SCOPE_BY_CODE,
    department_key,
    permission_of,
)
from erpsync.adapters.ruoyi.model import ROOT, Dept, Menu, Model, Role, User
from erpsync.adapters.ruoyi.operlog import CHANGES, LIMIT, TITLES, Operation, parse
from erpsync.adapters.ruoyi.schema import RuoYiSchema
from erpsync.i18n import N_

Stamp = tuple[str | None, Any]  # (by, at) as stored
# the attribution kind of the last change of a role's menus and of a user's roles
LINKS = {"role": "grants", "user": "memberships"}


@dataclass
class Loaded:
    """One read: the model, what is dirty, who changed what (by id), the session's UTC offset."""

    model: Model
    problems: list[str] = field(default_factory=list)
    stamps: dict[tuple[str, int], Stamp] = field(default_factory=dict)
    utc_offset: dt.timedelta = dt.timedelta(0)
    # soft-deleted rows: (kind, id) -> the key they went by (departments: (parent, name))
    deleted: dict[tuple[str, int], Any] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)


def _live(row: Any) -> bool:
    flag = getattr(row, "del_flag", PRESENT)
    return flag is None or str(flag).strip() == PRESENT


def _text(value: Any) -> str | None:
    """A text column: '' and NULL both mean nothing."""
    return None if value is None or value == "" else str(value)


def _select(table: Table) -> Any:
    return select(*table.c)


def load(conn: Connection, schema: RuoYiSchema) -> Loaded:
    """Read every table erpsync manages (one ``SELECT`` each) into a :class:`Loaded`."""
    loaded = Loaded(Model())
    model = loaded.model
    deleted: dict[str, set[int]] = {"department": set(), "user": set(), "role": set()}
    _departments(conn, schema, loaded, deleted["department"])
    bound = bindings.load(conn).of("department")
    model.bound = {i: key for row_id, key in bound.items() if (i := _id(row_id)) in model.depts}
    _users(conn, schema, loaded, deleted)
    _roles(conn, schema, loaded, deleted["role"])
    _menus(conn, schema, loaded)
    _links(conn, schema, loaded, deleted)
    _operations(conn, schema, loaded)
    if loaded.stamps or loaded.operations:
        loaded.utc_offset = clock(conn)[1]
    loaded.problems.sort()
    return loaded


def _id(text: str) -> int | None:
    """A bound row id (stored as text) as RuoYi's integer id; None for anything else."""
    return int(text) if text.lstrip("-").isdigit() else None


def _stamp(loaded: Loaded, kind: str, row: Any) -> None:
    by, at = _text(getattr(row, "update_by", None)), getattr(row, "update_time", None)
    if by is None and at is None:
        by, at = _text(getattr(row, "create_by", None)), getattr(row, "create_time", None)
    if by is not None or at is not None:
        loaded.stamps[(kind, row[0])] = (by, at)


def _departments(conn: Connection, schema: RuoYiSchema, loaded: Loaded, deleted: set[int]) -> None:
    model, problems = loaded.model, loaded.problems
    rows = conn.execute(_select(schema.tables["sys_dept"])).all()
    stored: dict[int, str | None] = {}
    for row in rows:
        if not _live(row):
            deleted.add(row.dept_id)
            loaded.deleted[("department", row.dept_id)] = (row.parent_id or ROOT, row.dept_name)
            _stamp(loaded, "department", row)
            continue
        model.depts[row.dept_id] = Dept(
            row.dept_id,
            row.dept_name or "",
            row.parent_id or ROOT,
            _text(getattr(row, "leader", None)),
            getattr(row, "order_num", None) or 0,
            getattr(row, "ancestors", None),
        )
        stored[row.dept_id] = getattr(row, "ancestors", None)
        _stamp(loaded, "department", row)
    broken: set[int] = set()
    for dept in model.depts.values():
        parent = dept.parent
        if parent != ROOT and parent not in model.depts:
            if parent in deleted:
                why = N_(
                    "sys_dept: department {id} ({name}) points at deleted parent "
                    "department {parent}; read as a top-level department"
                )
            else:
                why = N_(
                    "sys_dept: department {id} ({name}) points at missing parent "
                    "department {parent}; read as a top-level department"
                )
            problems.append(why.format(id=dept.id, name=dept.name, parent=parent))
            broken.add(dept.id)
    for dept in model.depts.values():
        top = model.depts[model.path(dept.id)[0]]
        if top.parent in model.depts:  # the walk up stopped at a department it had seen
            problems.append(
                N_("sys_dept: department {id} ({name}) is in a cycle of parents").format(
                    id=dept.id, name=dept.name
                )
            )
        elif "ancestors" in schema.tables["sys_dept"].c and top.id not in broken:
            expected = model.ancestors(dept.id)
            if (stored[dept.id] or "") != expected:
                problems.append(
                    N_(
                        "sys_dept: department {id} ({name}) has ancestors "
                        "{stored} but its parents give {expected}"
                    ).format(
                        id=dept.id,
                        name=dept.name,
                        stored=repr(stored[dept.id]),
                        expected=repr(expected),
                    )
                )
    siblings: dict[tuple[int, str], list[int]] = {}
    for dept in model.depts.values():
        siblings.setdefault((dept.parent, dept.name.casefold()), []).append(dept.id)
    for (_parent, name), ids in sorted(siblings.items()):
        if len(ids) > 1:
            problems.append(
                N_(
                    "sys_dept: departments {ids} share the name "
                    "{name} under one parent (RuoYi keeps sibling names unique)"
                ).format(ids=", ".join(map(str, sorted(ids))), name=repr(name))
            )


def _users(
    conn: Connection, schema: RuoYiSchema, loaded: Loaded, deleted: dict[str, set[int]]
) -> None:
    model, problems = loaded.model, loaded.problems
    t = schema.tables["sys_user"]
    seen: dict[str, int] = {}
    folded: dict[str, int] = {}
    for row in conn.execute(_select(t).order_by(t.c.user_id)):
        if not _live(row):
            deleted["user"].add(row.user_id)
            loaded.deleted[("user", row.user_id)] = str(row._mapping[schema.login] or "")
            _stamp(loaded, "user", row)
            continue
        login = str(row._mapping[schema.login] or "")
        if login in seen:
            problems.append(
                N_(
                    "sys_user: users {first} and {id} share the login {login}; "
                    "user {skipped} is left out"
                ).format(first=seen[login], id=row.user_id, login=repr(login), skipped=row.user_id)
            )
            continue
        other = folded.get(login.casefold())
        if other is not None:
            problems.append(
                N_(
                    "sys_user: logins of users {first} and {id} differ only in case "
                    "({login1}, {login2}); RuoYi treats them as one"
                ).format(
                    first=other,
                    id=row.user_id,
                    login1=repr(model.users[other].login),
                    login2=repr(login),
                )
            )
        seen[login] = folded[login.casefold()] = row.user_id
        dept = getattr(row, "dept_id", None) or None
        if dept is not None and dept not in model.depts:
            if dept in deleted["department"]:
                why = N_(
                    "sys_user: user {id} ({login}) points at deleted department {department}; "
                    "read as no department"
                )
            else:
                why = N_(
                    "sys_user: user {id} ({login}) points at missing department {department}; "
                    "read as no department"
                )
            problems.append(why.format(id=row.user_id, login=login, department=dept))
            dept = None
        status = getattr(row, "status", NORMAL)
        model.users[row.user_id] = User(
            row.user_id,
            login,
            str(row._mapping[schema.display] or ""),
            _text(getattr(row, "email", None)),
            dept,
            status is None or str(status).strip() == NORMAL,
        )
        _stamp(loaded, "user", row)
    admin = model.users.get(ADMIN_USER_ID)
    if admin is not None and admin.login != "admin":
        problems.append(
            N_(
                "sys_user: user 1 (the super administrator) has the login {login}: "
                "erpsync never touches it; list it in settings.protected_users"
            ).format(login=repr(admin.login))
        )


def _roles(conn: Connection, schema: RuoYiSchema, loaded: Loaded, deleted: set[int]) -> None:
    model, problems = loaded.model, loaded.problems
    t = schema.tables["sys_role"]
    seen: dict[str, int] = {}
    folded: dict[str, int] = {}
    for row in conn.execute(_select(t).order_by(t.c.role_id)):
        if not _live(row):
            deleted.add(row.role_id)
            loaded.deleted[("role", row.role_id)] = str(row.role_key or "")
            _stamp(loaded, "role", row)
            continue
        key = str(row.role_key or "")
        if key in seen:
            problems.append(
                N_(
                    "sys_role: roles {first} and {id} share the key {key}; "
                    "role {skipped} is left out"
                ).format(first=seen[key], id=row.role_id, key=repr(key), skipped=row.role_id)
            )
            continue
        other = folded.get(key.casefold())
        if other is not None:
            problems.append(
                N_(
                    "sys_role: keys of roles {first} and {id} differ only in case "
                    "({key1}, {key2}); RuoYi treats them as one"
                ).format(
                    first=other, id=row.role_id, key1=repr(model.roles[other].key), key2=repr(key)
                )
            )
        seen[key] = folded[key.casefold()] = row.role_id
        code = _text(getattr(row, "data_scope", None))
        code = code.strip() if code else None
        if code is not None and code not in SCOPE_BY_CODE:
            problems.append(
                N_("sys_role: role {key} has an unknown data_scope {code}; read as none").format(
                    key=key, code=repr(code)
                )
            )
        model.roles[row.role_id] = Role(
            row.role_id,
            key,
            str(row.role_name or ""),
            _text(getattr(row, "remark", None)),
            code,
            set(),
            getattr(row, "role_sort", None) or 0,
        )
        _stamp(loaded, "role", row)
    admin = model.roles.get(ADMIN_ROLE_ID)
    if admin is not None and admin.key != ADMIN_ROLE_KEY:
        problems.append(
            N_(
                "sys_role: role 1 (the super administrator's) has the key {key}: "
                "erpsync never touches it; list it in settings.protected_roles"
            ).format(key=repr(admin.key))
        )


def _menus(conn: Connection, schema: RuoYiSchema, loaded: Loaded) -> None:
    for row in conn.execute(_select(schema.tables["sys_menu"])):
        perms = _text(row.perms)
        permission = permission_of(perms) if perms is not None else None
        name = str(getattr(row, "menu_name", "") or "")
        if perms is not None and permission is None:
            loaded.problems.append(
                N_(
                    "sys_menu: menu {id} ({name}) has perms {perms}, which is no "
                    "module:action permission erpsync can manage; left out"
                ).format(id=row.menu_id, name=name, perms=repr(perms))
            )
        loaded.model.menus[row.menu_id] = Menu(
            row.menu_id, row.parent_id or ROOT, str(row.menu_type or "").strip(), name, permission
        )


# What a link row points at that is not there (a value of a problem, said with it)
_MISSING = {
    "user": N_("missing user {id}"),
    "role": N_("missing role {id}"),
    "menu": N_("missing menu {id}"),
    "department": N_("missing department {id}"),
}
_DELETED = {
    "user": N_("deleted user {id}"),
    "role": N_("deleted role {id}"),
    "menu": N_("deleted menu {id}"),
    "department": N_("deleted department {id}"),
}


# A link row that points at what is not there, one template per table (one that began
# with the table as a placeholder would also match a message quoting the problem)
_DANGLING = {
    "sys_user_role": (
        N_("sys_user_role: row ({left}={a}, {right}={b}) points at {detail}; skipped"),
        N_("sys_user_role: row ({left}={a}, {right}={b}) points at {detail} and {cause}; skipped"),
    ),
    "sys_role_menu": (
        N_("sys_role_menu: row ({left}={a}, {right}={b}) points at {detail}; skipped"),
        N_("sys_role_menu: row ({left}={a}, {right}={b}) points at {detail} and {cause}; skipped"),
    ),
    "sys_role_dept": (
        N_("sys_role_dept: row ({left}={a}, {right}={b}) points at {detail}; skipped"),
        N_("sys_role_dept: row ({left}={a}, {right}={b}) points at {detail} and {cause}; skipped"),
    ),
}


def _links(
    conn: Connection, schema: RuoYiSchema, loaded: Loaded, deleted: dict[str, set[int]]
) -> None:
    model = loaded.model
    known: dict[str, Mapping[int, object]] = {
        "user": model.users,
        "role": model.roles,
        "menu": model.menus,
        "department": model.depts,
    }

    def pairs(table: str, left: str, right: str) -> Iterable[tuple[int, int]]:
        t = schema.tables[table]
        columns = {"user": "user_id", "role": "role_id", "menu": "menu_id", "department": "dept_id"}
        for a, b in conn.execute(select(t.c[columns[left]], t.c[columns[right]])):
            bad = [
                (_DELETED if value in deleted.get(kind, ()) else _MISSING)[kind].format(id=value)
                for kind, value in ((left, a), (right, b))
                if value not in known[kind]
            ]
            if bad:
                one, both = _DANGLING[table]
                row = {"left": columns[left], "a": a, "right": columns[right], "b": b}
                if len(bad) == 1:
                    text = one.format(**row, detail=bad[0])
                else:
                    text = both.format(**row, detail=bad[0], cause=bad[1])
                loaded.problems.append(text)
            else:
                yield a, b

    for user_id, role_id in pairs("sys_user_role", "user", "role"):
        model.user_roles.setdefault(user_id, set()).add(role_id)
    for role_id, menu_id in pairs("sys_role_menu", "role", "menu"):
        model.role_menus.setdefault(role_id, set()).add(menu_id)
    for role_id, dept_id in pairs("sys_role_dept", "role", "department"):
        model.roles[role_id].depts.add(dept_id)
    for role in model.roles.values():
        if role.depts and SCOPE_BY_CODE.get(role.scope or "") != CUSTOM:
            loaded.problems.append(
                N_(
                    "sys_role_dept: role {key} has data-scope departments but its data_scope "
                    "is {scope}, not custom ('2'); they have no effect and are not read"
                ).format(key=role.key, scope=repr(role.scope))
            )


def _operations(conn: Connection, schema: RuoYiSchema, loaded: Loaded) -> None:
    """The most recent successful ``sys_oper_log`` calls that change roles, users or
    departments (one ``SELECT``; nothing when the table is not there)."""
    t = schema.tables.get("sys_oper_log")
    if t is None or not {"title", "business_type", "oper_time"} <= set(t.c.keys()):
        return
    query = select(*t.c).where(t.c.title.in_(sorted(TITLES)), t.c.business_type.in_(CHANGES))
    if "status" in t.c:
        query = query.where(t.c.status == 0)
    order = t.c.oper_id.desc() if "oper_id" in t.c else t.c.oper_time.desc()
    for row in conn.execute(query.order_by(order).limit(LIMIT)):
        m = row._mapping
        loaded.operations.append(
            parse(
                str(m["title"]),
                int(m["business_type"]),
                str(m.get("oper_url") or ""),
                str(m.get("oper_param") or ""),
                m.get("oper_name"),
                m["oper_time"],
            )
        )


def _later(found: dict[Any, Stamp], key: Any, stamp: Stamp) -> None:
    """Keep ``stamp`` for ``key`` when it is later than the one found (or none was)."""
    old = found.get(key)
    if old is None or (
        isinstance(stamp[1], dt.datetime)
        and (not isinstance(old[1], dt.datetime) or stamp[1] > old[1])
    ):
        found[key] = stamp


class _Stamps:
    """Every row's latest (by, at): its own stamp and the operation log's calls naming it."""

    def __init__(self, loaded: Loaded) -> None:
        model = loaded.model
        self.found: dict[Any, Stamp] = dict(loaded.stamps)
        by_name: dict[tuple[str, str], int] = {}
        for (kind, row_id), key in loaded.deleted.items():
            if kind != "department":
                by_name[(kind, str(key))] = row_id
        by_name.update({("user", u.login): u.id for u in model.users.values()})
        by_name.update({("role", r.key): r.id for r in model.roles.values()})
        for (kind, row_id), (parent, name) in _dept_names(loaded):
            by_name[(kind, f"{parent}/{name}")] = row_id
        for op in loaded.operations:
            stamp = (op.by, op.at)
            ids = set(op.ids) | {i for n in op.names if (i := by_name.get((op.kind, n)))}
            for row_id in ids:
                _later(self.found, (op.kind, row_id), stamp)
                if op.links:
                    _later(self.found, (LINKS[op.kind], row_id), stamp)
            for pair in op.pairs:
                _later(self.found, ("membership", pair), stamp)


def _dept_names(loaded: Loaded) -> list[tuple[tuple[str, int], tuple[int, str]]]:
    live = [(("department", d.id), (d.parent, d.name)) for d in loaded.model.depts.values()]
    gone = [(k, v) for k, v in loaded.deleted.items() if k[0] == "department"]
    return live + gone


def _deleted_keys(loaded: Loaded, live: Mapping[str, Mapping[int, str]]) -> dict[Any, str]:
    """(kind, id) -> key of each soft-deleted row whose key no live row has (departments:
    the name path below their live parent, or their binding)."""
    model = loaded.model
    taken = {kind: set(keys.values()) for kind, keys in live.items()}
    out: dict[Any, str] = {}
    for (kind, row_id), natural in loaded.deleted.items():
        key = natural
        if kind == "department":
            parent, name = natural
            if parent != ROOT and parent not in model.depts:
                continue
            above = [model.depts[i].name for i in model.path(parent)] if parent != ROOT else []
            key = department_key([*above, str(name or "")])
        if key and key not in taken[kind]:
            out[(kind, row_id)] = str(key)
    return out


def snapshot(loaded: Loaded, schema: SchemaFacts | None = None) -> LiveSnapshot:
    """The :class:`LiveSnapshot` of one read; with ``schema``, it carries the model and the
    schema's facts, so a plan can be checked against RuoYi's rules without reading again."""
    model = loaded.model
    catalogue, names = model.catalogue()
    keys: dict[str, Mapping[int, str]] = {
        "department": model.dept_keys(),
        "user": {u.id: u.login for u in model.users.values()},
        "role": {r.id: r.key for r in model.roles.values()},
    }
    zone = dt.timezone(loaded.utc_offset)

    def made(stamp: Stamp) -> Attribution:
        by, at = stamp
        when = at.replace(tzinfo=zone).astimezone(dt.UTC) if isinstance(at, dt.datetime) else None
        return Attribution(by, when)

    found = _Stamps(loaded).found
    gone = _deleted_keys(loaded, keys)
    attribution: dict[tuple[str, str], Attribution] = {}
    deleted: dict[tuple[str, str], Attribution] = {}
    for (kind, row_id), stamp in found.items():
        if kind == "membership":
            user, role = (keys["user"].get(row_id[0]), keys["role"].get(row_id[1]))
            if user is not None and role is not None:
                attribution[(kind, f"{user}/{role}")] = made(stamp)
        elif kind in ("grants", "memberships"):
            owner = keys["role" if kind == "grants" else "user"].get(row_id)
            if owner is not None:
                attribution[(kind, owner)] = made(stamp)
        elif (key := keys[kind].get(row_id)) is not None:
            attribution[(kind, key)] = made(stamp)
        elif (key := gone.get((kind, row_id))) is not None:
            _latest(deleted, (kind, key), made(stamp))
    for kind_id, key in gone.items():
        deleted.setdefault((kind_id[0], key), Attribution())
    return LiveSnapshot(
        model.state(),
        catalogue,
        tuple(loaded.problems),
        names,
        attribution,
        {"department": model.dept_identities()},
        {"department": model.unbound_depts()},
        model.requires(),
        None if schema is None else Private(model, schema),
        deleted=deleted,
    )


def _latest(
    found: dict[tuple[str, str], Attribution], key: tuple[str, str], new: Attribution
) -> None:
    old = found.get(key)
    if old is None or (new.at is not None and (old.at is None or new.at > old.at)):
        found[key] = new
