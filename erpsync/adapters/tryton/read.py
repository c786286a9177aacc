"""Reading Tryton: one ``SELECT`` per table into a :class:`LiveSnapshot`.

- users: every ``res_user`` row but ``root`` (id 0, internal); a user without a
  name is read with its login as name.
- roles: active ``res_group`` rows, keyed as :mod:`.groups` says (binding, XML id,
  name) and named by ``name``; an inactive group, or a group that inherits accesses
  from a parent, is reported in ``problems`` (erpsync manages a group's own access
  rows only).
- memberships: ``"res_user-res_group"``; duplicate rows are reported.
- grants: active ``ir_model_access`` rows of an active group, one
  ``model:action`` per true ``perm_*``; rows of no group (global) are never
  erpsync's and are not read as grants; rows for a model that is not in
  ``ir_model`` are reported and skipped.
- catalogue: every ``ir_model`` name with read/create/update/delete.
- for the plan-time check (:mod:`.check`): every group's name, active or not, and
  which (model, group) pairs have active access rows.
- attribution: ``write_uid``/``write_date`` (else ``create_*``) of users and groups,
  of each membership row (``("membership", "login/group")``) and of each access row
  (``("permission", "group/model:action")`` for its four actions: a cleared flag is a
  write of the same row). A membership row deleted leaves nothing: drift then
  falls back to the user's and group's own stamps.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import Connection, select

from erpsync.adapters.base import Attribution, LiveSnapshot
from erpsync.adapters.tryton.check import Private, inactive
from erpsync.adapters.tryton.groups import read_groups
from erpsync.adapters.tryton.tables import (
    ACTIONS,
    PERM_COLUMNS,
    ROOT_ID,
    ir_model,
    model_access,
    res_group,
    res_user,
    user_group,
)
from erpsync.i18n import N_
from erpsync.state import RoleRec, State, UserRec, by_user


def _utc(value: Any) -> dt.datetime | None:
    """Tryton stores naive UTC timestamps (SQLite hands them back as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def _catalogue(conn: Connection) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    catalogue: dict[str, tuple[str, ...]] = {}
    names: dict[str, str] = {}
    for name, string in conn.execute(select(ir_model.c.name, ir_model.c.string)):
        catalogue[name] = ACTIONS
        names[name] = string or name
    return catalogue, names


def snapshot(conn: Connection) -> LiveSnapshot:
    problems: list[str] = []
    catalogue, names = _catalogue(conn)

    logins: dict[int, str] = {}
    users: dict[str, UserRec] = {}
    attribution: dict[tuple[str, str], Attribution] = {}
    stamps: list[tuple[str, str, Any, Any]] = []
    for row in conn.execute(select(res_user).order_by(res_user.c.id)):
        logins[row.id] = row.login
        if row.id == ROOT_ID:
            continue
        users[row.login] = UserRec(
            row.login, row.name or row.login, row.email or None, None, bool(row.active)
        )
        written = row.write_date is not None
        who = row.write_uid if written else row.create_uid
        stamps.append(("user", row.login, who, row.write_date if written else row.create_date))

    every_group: dict[int, str] = {}
    active = []
    for row in conn.execute(select(res_group).order_by(res_group.c.id)):
        every_group[row.id] = row.name
        if not row.active:
            problems.append(
                N_("group {name} is inactive: not managed by erpsync").format(name=repr(row.name))
            )
            continue
        active.append(row)
    known = read_groups(conn, [(row.id, row.name or "") for row in active])
    groups = known.keys  # id -> key
    roles: dict[str, RoleRec] = {}
    for row in active:
        key = groups[row.id]
        roles[key] = RoleRec(key, row.name or "")
        when = row.write_date if row.write_date is not None else row.create_date
        who = row.write_uid if row.write_date is not None else row.create_uid
        stamps.append(("role", key, who, when))
    parents = conn.execute(
        select(res_group.c.name, res_group.c.parent).where(res_group.c.parent.is_not(None))
    ).all()
    active_names = {row.name for row in active}
    for name, parent in parents:
        if name in active_names:
            above = every_group.get(parent)
            if above is not None:
                why = N_(
                    "group {name} inherits accesses from group {parent}: "
                    "erpsync reads and writes its own access rows only"
                )
            else:
                why = N_(
                    "group {name} inherits accesses from group id {parent}, which is missing: "
                    "erpsync reads and writes its own access rows only"
                )
            shown = repr(above) if above is not None else parent
            problems.append(why.format(name=repr(name), parent=shown))
    for kind, key, uid, when in stamps:
        attribution[(kind, key)] = Attribution(
            logins.get(uid) if uid is not None else None, _utc(when)
        )

    pairs = _memberships(conn, logins, groups, every_group, problems, attribution)

    access: set[tuple[str, str | None]] = set()
    grants = _grants(conn, groups, every_group, catalogue, problems, access, (attribution, logins))
    state = State({}, users, roles, frozenset(grants), by_user(pairs))
    private = Private(frozenset(every_group.values()), frozenset(access))
    return LiveSnapshot(
        state,
        catalogue,
        tuple(problems),
        names,
        attribution,
        {"role": known.identities()},
        {"role": known.unbound()},
        private=private,
    )


def _grants(
    conn: Connection,
    groups: dict[int, str],
    every_group: dict[int, str],
    catalogue: dict[str, tuple[str, ...]],
    problems: list[str],
    access: set[tuple[str, str | None]],
    stamps: tuple[dict[tuple[str, str], Attribution], dict[int, str]],
) -> set[tuple[str, str]]:
    """The grants of active groups (``groups``: id -> key); ``access`` gets every (model,
    group key) with an active row, an inactive group's under :func:`~.check.inactive`,
    global rows (no group) under None, for the plan-time check."""
    grants: set[tuple[str, str]] = set()
    columns = [model_access.c[PERM_COLUMNS[a]] for a in ACTIONS]
    query = select(
        model_access.c.model, model_access.c.group, *columns, *_stamp_columns(model_access)
    ).where(model_access.c.active.is_(True))
    attribution, logins = stamps
    for model, gid, *values in conn.execute(query):
        perms, stamp = values[: len(ACTIONS)], values[len(ACTIONS) :]
        if gid is None:
            access.add((model, None))
            continue
        if gid in every_group:
            access.add((model, groups.get(gid) or inactive(gid)))
        group = groups.get(gid)
        if group is None:
            continue  # an inactive group's rows (reported above) or a dangling row
        if model not in catalogue:
            problems.append(
                N_("access row of group {group} names unknown model {model}").format(
                    group=repr(group), model=repr(model)
                )
            )
            continue
        grants.update(
            (group, f"{model}:{action}") for action, on in zip(ACTIONS, perms, strict=True) if on
        )
        made = _attributed(stamp, logins)
        for action in ACTIONS:
            _later(attribution, ("permission", f"{group}/{model}:{action}"), made)

    return grants


def _memberships(
    conn: Connection,
    logins: dict[int, str],
    groups: dict[int, str],
    every_group: dict[int, str],
    problems: list[str],
    attribution: dict[tuple[str, str], Attribution],
) -> Counter[tuple[str, str]]:
    """(login, group key) -> how many membership rows hold it, with each one's stamp."""
    pairs: Counter[tuple[str, str]] = Counter()
    links = select(user_group.c.user, user_group.c.group, *_stamp_columns(user_group))
    for uid, gid, *stamp in conn.execute(links):
        login, group = logins.get(uid), groups.get(gid)
        if login is None or gid not in every_group:
            problems.append(
                N_("membership row (user {user}, group {group}) points at a missing row").format(
                    user=uid, group=gid
                )
            )
            continue
        if group is None or uid == ROOT_ID:
            continue
        pairs[(login, group)] += 1
        _later(attribution, ("membership", f"{login}/{group}"), _attributed(stamp, logins))
    for (login, group), count in sorted(pairs.items()):
        if count > 1:
            problems.append(
                N_("user {login} is in group {group} {n} times (duplicate rows)").format(
                    login=login, group=repr(group), n=count
                )
            )
    return pairs


def _stamp_columns(table: Any) -> list[Any]:
    return [table.c.create_uid, table.c.create_date, table.c.write_uid, table.c.write_date]


def _attributed(stamp: list[Any], logins: dict[int, str]) -> Attribution:
    """A row's last change: ``write_*`` when it was written, else ``create_*``."""
    create_uid, create_date, write_uid, write_date = stamp
    uid, when = (write_uid, write_date) if write_date is not None else (create_uid, create_date)
    return Attribution(logins.get(uid) if uid is not None else None, _utc(when))


def _later(
    found: dict[tuple[str, str], Attribution], key: tuple[str, str], new: Attribution
) -> None:
    old = found.get(key)
    if old is None or (new.at is not None and (old.at is None or new.at > old.at)):
        found[key] = new
