"""The ``tryton`` adapter against a real Tryton 8.2 database, checked by Tryton itself.

trytond comes with the ``dev`` extras (through ``tryton-test``); where it is missing the
tests are skipped, except under CI (``CI=true``), where that is an error. The databases
are fixtures (``erp``, ``pg_erp``) in ``conftest.py``; see :mod:`tests.adapters.tryton_db`.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select, text

from erpsync.adapters import adapter_class
from erpsync.adapters.base import Attribution
from erpsync.adapters.tryton import TrytonAdapter
from erpsync.adapters.tryton import write as tryton_write
from erpsync.adapters.tryton.tables import CACHE_NAMES, schema_problems
from erpsync.diff import diff
from erpsync.errors import DatabaseError
from erpsync.plan import Action, Change, Kind
from erpsync.scope import Scope
from erpsync.state import Desired, RoleRec, State, UserRec, by_user
from tests.adapters import tryton_db
from tests.adapters.tryton_db import Erp

SCOPE = Scope(
    protected_users=TrytonAdapter.builtin_users, protected_roles=TrytonAdapter.builtin_roles
)
CLERKS = "sale-clerks"  # the group is named "Sale Clerks"
# Models Tryton's own check is asked about after each apply, as every user erpsync manages:
# models whose own ir_model_access rows decide. (A sale line or a product variant follows
# the access of its sale or template too, through trytond's __access__, which erpsync does
# not model.)
MODELS = ("sale.sale", "party.party", "product.template", "company.company")


def plus(
    live: State, users: dict[str, UserRec], roles: dict[str, RoleRec], **sets: set[tuple[str, str]]
) -> State:
    return State(
        {},
        {**live.users, **users},
        {**live.roles, **roles},
        live.grants | frozenset(sets.get("grants", set())),
        by_user(live.memberships | frozenset(sets.get("memberships", set()))),
    )


def test_is_registered() -> None:
    assert adapter_class("tryton") is TrytonAdapter
    assert not TrytonAdapter.capabilities.departments
    assert not TrytonAdapter.capabilities.data_scope


def test_a_fresh_database_reads_cleanly_and_plans_nothing(erp: Erp) -> None:
    live = erp.adapter.read()
    assert set(live.state.users) == {"admin"}  # root (id 0) is internal
    assert "sale.group_sale" in live.state.roles
    assert live.catalogue["sale.sale"] == ("read", "create", "update", "delete")
    assert ("sale.group_sale", "sale.sale:read") in live.state.grants
    assert all(
        module in live.catalogue
        for _, perm in live.state.grants
        for module in [perm.rpartition(":")[0]]
    )
    assert not any("unknown model" in p or "points at" in p for p in live.problems)
    assert live.attribution[("user", "admin")].by == "root"
    assert diff(Desired(live.state), live.state, SCOPE).changes == []
    assert erp.adapter.read().state.digest() == live.state.digest()
    with erp.adapter.engine.connect() as conn:
        assert schema_problems(conn) == []


def test_a_declared_group_is_granted_by_tryton_itself(erp: Erp) -> None:
    live = erp.adapter.read().state
    want = plus(
        live,
        {
            "li.na": UserRec("li.na", "Li Na", "li.na@example.com"),
            "nobody": UserRec("nobody", "No Body"),
        },
        {CLERKS: RoleRec(CLERKS, "Sale Clerks")},
        grants={(CLERKS, f"sale.sale:{a}") for a in ("read", "create", "update")},
        memberships={("li.na", CLERKS)},
    )
    changes = diff(Desired(want), live, SCOPE).changes
    assert {(c.action, c.kind) for c in changes} == {
        (Action.CREATE, Kind.USER),
        (Action.CREATE, Kind.ROLE),
        (Action.GRANT, Kind.PERMISSION),
        (Action.GRANT, Kind.MEMBERSHIP),
    }
    notes = erp.apply(changes)
    assert any("clean_timeout" in n for n in notes)

    assert erp.access("li.na", "sale.sale") == {
        "read": True,
        "create": True,
        "write": True,
        "delete": False,
    }
    assert not any(erp.access("nobody", "sale.sale").values())
    assert all(erp.access("admin", "sale.sale").values())  # administrator: untouched
    assert erp.disagreements(MODELS) == []

    after = erp.adapter.read()
    assert after.state == want
    assert diff(Desired(want), after.state, SCOPE).changes == []
    with erp.adapter.engine.connect() as conn:
        stamped = conn.execute(
            text("SELECT count(*) FROM ir_cache WHERE name = 'ir_model_access.get_access'")
        ).scalar()
        hashes = conn.execute(
            text("SELECT count(*) FROM res_user WHERE password_hash IS NOT NULL")
        ).scalar()
    assert stamped == 1
    assert hashes == 1  # admin's only: erpsync never writes one


def test_revoke_deactivate_and_no_duplicate_memberships(erp: Erp) -> None:
    live = erp.adapter.read().state
    want = plus(
        live,
        {"li.na": UserRec("li.na", "Li Na")},
        {CLERKS: RoleRec(CLERKS, "Sale Clerks")},
        grants={(CLERKS, "sale.sale:read"), (CLERKS, "sale.sale:delete")},
        memberships={("li.na", CLERKS), ("li.na", "sale.group_sale")},
    )
    erp.apply(diff(Desired(want), live, SCOPE).changes)
    assert erp.disagreements(MODELS) == []  # li.na holds Sales too: its rows count
    # granting again what is held writes no second membership row
    erp.apply([Change(Action.GRANT, Kind.MEMBERSHIP, f"li.na/{CLERKS}", "again")])
    with erp.adapter.engine.connect() as conn:
        rows = conn.execute(text('SELECT count(*) FROM "res_user-res_group"')).scalar()
        uid = conn.execute(text("SELECT id FROM res_user WHERE login = 'li.na'")).scalar()
        conn.execute(text("INSERT INTO ir_session (create_uid, key) VALUES (:u, 'k')"), {"u": uid})
        conn.commit()
    assert rows == 2

    less = plus(
        State({}, dict(live.users), dict(live.roles), live.grants, live.user_roles),
        {"li.na": UserRec("li.na", "Li Na", active=False)},
        {CLERKS: RoleRec(CLERKS, "Sale Clerks")},
        grants={(CLERKS, "sale.sale:read")},
        memberships={("li.na", CLERKS)},
    )
    changes = diff(Desired(less), erp.adapter.read().state, SCOPE).changes
    erp.apply(changes)
    assert erp.adapter.read().state == less
    assert erp.disagreements(MODELS) == []
    with erp.adapter.engine.connect() as conn:
        sessions = conn.execute(text("SELECT count(*) FROM ir_session")).scalar()
    assert sessions == 0


def test_refuses_what_tryton_cannot_store(erp: Erp) -> None:
    bad = [
        Change(Action.CREATE, Kind.ROLE, "x", "r", None, {"name": "Other", "description": "d"}),
        Change(Action.CREATE, Kind.ROLE, "x", "r", None, {"name": "Sales"}),  # name taken
        Change(Action.DELETE, Kind.USER, "admin", "r"),
        Change(Action.DEACTIVATE, Kind.USER, "admin", "r"),
        Change(Action.CREATE, Kind.DEPARTMENT, "hq", "r", None, {"name": "HQ"}),
    ]
    for change in bad:
        with pytest.raises(DatabaseError):
            erp.apply([change])
    with erp.adapter.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(text("res_group"))).scalar() == 14


def test_plan_time_check_refuses_what_the_writer_refuses(erp: Erp) -> None:
    with erp.adapter.engine.begin() as conn:
        conn.execute(text("UPDATE res_group SET active = false WHERE name = 'Stock'"))
    live = erp.adapter.read()
    ok = Change(Action.CREATE, Kind.ROLE, "clerks", "r", None, {"name": "clerks"})
    bad = {
        "Tryton has a group named 'Stock'": Change(  # inactive, but names are unique
            Action.CREATE, Kind.ROLE, "stock-clerks", "r", None, {"name": "Stock"}
        ),
        "Tryton has a group under that key": Change(
            Action.CREATE, Kind.ROLE, "sale.group_sale", "r", None, {"name": "Other"}
        ),
        "Tryton groups have no description": Change(
            Action.UPDATE, Kind.ROLE, "clerks", "r", {}, {"description": "d"}
        ),
        "the login exists in Tryton": Change(
            Action.CREATE, Kind.USER, "admin", "r", None, {"name": "A"}
        ),
        "Tryton users have no department": Change(
            Action.CREATE, Kind.USER, "li.na", "r", None, {"name": "L", "department": "hq"}
        ),
        "Tryton users are deactivated, never deleted": Change(Action.DELETE, Kind.USER, "bob", "r"),
        "Tryton's admin user is never changed": Change(Action.DEACTIVATE, Kind.USER, "admin", "r"),
        "Tryton has no user 'nobody'": Change(Action.GRANT, Kind.MEMBERSHIP, "nobody/clerks", "r"),
        "Tryton has no model 'no.model'": Change(
            Action.GRANT, Kind.PERMISSION, "clerks/no.model:read", "r"
        ),
        "Tryton has no action 'approve'": Change(
            Action.GRANT, Kind.PERMISSION, "clerks/sale.sale:approve", "r"
        ),
        "Tryton has no departments": Change(
            Action.CREATE, Kind.DEPARTMENT, "hq", "r", None, {"name": "HQ"}
        ),
    }
    for reason, change in bad.items():
        refused = TrytonAdapter.check_plan(live, [ok, change])
        assert [(r.change, reason in r.reason) for r in refused] == [(change, True)], reason
        with pytest.raises(DatabaseError, match=reason.replace("'", ".")):
            erp.apply([ok, change])
    assert TrytonAdapter.check_plan(live, [ok]) == []


def test_deleting_a_group_never_opens_a_model(erp: Erp) -> None:
    """Sales (sale.group_sale) holds the only sale.sale row once the global one is gone:
    deleting it would leave the model with no rows, which Tryton reads as open to everyone."""
    with erp.adapter.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM ir_model_access WHERE model = 'sale.sale' AND \"group\" IS NULL")
        )
    delete_sales = Change(Action.DELETE, Kind.ROLE, "sale.group_sale", "r", {"name": "Sales"})
    refused = TrytonAdapter.check_plan(erp.adapter.read(), [delete_sales])
    assert [r.change for r in refused] == [delete_sales]
    assert "model sale.sale with no access rows" in refused[0].reason
    with pytest.raises(DatabaseError, match="open to everyone"):
        erp.apply([delete_sales])
    assert "sale.group_sale" in erp.adapter.read().state.roles


def test_deletes_a_group_with_its_rows(erp: Erp) -> None:
    delete_sales = Change(Action.DELETE, Kind.ROLE, "sale.group_sale_admin", "r", {})
    assert TrytonAdapter.check_plan(erp.adapter.read(), [delete_sales]) == []
    erp.apply([delete_sales])
    live = erp.adapter.read()
    assert "sale.group_sale_admin" not in live.state.roles
    with erp.adapter.engine.connect() as conn:
        dangling = conn.execute(
            text(
                'SELECT count(*) FROM ir_model_access a WHERE a."group" IS NOT NULL '
                'AND NOT EXISTS (SELECT 1 FROM res_group g WHERE g.id = a."group")'
            )
        ).scalar()
    assert dangling == 0


def poll(server: tryton_db.Server, seconds: float) -> bool:
    """Whether the running process grants li.na create on sale.sale within ``seconds``."""
    deadline = time.monotonic() + seconds
    seen = server.access("li.na", "sale.sale")["create"]
    while not seen and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = server.access("li.na", "sale.sale")["create"]
    return seen


@pytest.mark.parametrize("signal", [True, False], ids=["with-ir_cache", "without"])
def test_a_running_tryton_process_sees_the_change_after_the_cache_signal(
    erp: Erp, signal: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polling mode: the apply upserts ir_cache, and a process that cached the old access
    drops it within clean_timeout (1 s here). Without the upsert it keeps the old one."""
    live = erp.adapter.read().state
    before = plus(
        live,
        {"li.na": UserRec("li.na", "Li Na")},
        {CLERKS: RoleRec(CLERKS, "Sale Clerks")},
        grants={(CLERKS, "sale.sale:read")},
        memberships={("li.na", CLERKS)},
    )
    erp.apply(diff(Desired(before), live, SCOPE).changes)
    server = tryton_db.Server(erp.conf, erp.database)
    try:
        # A process's first look at ir_cache clears every cache it never cleared before:
        # let it look (after clean_timeout) and cache the old access again, so that only
        # the signal can make it drop that.
        for _ in range(3):
            assert server.access("li.na", "sale.sale")["create"] is False
            time.sleep(1.2)
        if not signal:
            monkeypatch.setattr(tryton_write._Writer, "touch_caches", lambda _self: None)
        want = plus(before, {}, {}, grants={(CLERKS, "sale.sale:create")})
        erp.apply(diff(Desired(want), erp.adapter.read().state, SCOPE).changes)
        assert poll(server, 15 if signal else 4) is signal
        assert erp.access("li.na", "sale.sale")["create"]  # a new process sees it at once
    finally:
        server.close()


def test_cache_names_cover_groups_and_access() -> None:
    assert {"res_user.get_groups", "ir_model_access.get_access"} <= set(CACHE_NAMES)


# --- PostgreSQL (channel mode, clean_timeout = 0): see the pg_erp fixture in conftest.py


@pytest.mark.postgres
def test_postgresql_acceptance_and_channel_mode(pg_erp: Erp) -> None:
    """Import is clean; a granted group is granted by Tryton itself; a running process in
    channel mode sees a change only once after_commit has sent pg_notify."""
    live = pg_erp.adapter.read()
    assert diff(Desired(live.state), live.state, SCOPE).changes == []
    want = plus(
        live.state,
        {"li.na": UserRec("li.na", "Li Na"), "nobody": UserRec("nobody", "No Body")},
        {CLERKS: RoleRec(CLERKS, "Sale Clerks")},
        grants={(CLERKS, f"sale.sale:{a}") for a in ("read", "create", "update")},
        memberships={("li.na", CLERKS)},
    )
    notes = pg_erp.apply(diff(Desired(want), live.state, SCOPE).changes)
    assert any("notified" in n for n in notes)
    assert pg_erp.access("li.na", "sale.sale") == {
        "read": True,
        "create": True,
        "write": True,
        "delete": False,
    }
    assert not any(pg_erp.access("nobody", "sale.sale").values())
    assert pg_erp.disagreements(MODELS) == []
    assert diff(Desired(want), pg_erp.adapter.read().state, SCOPE).changes == []

    server = tryton_db.Server(pg_erp.conf, pg_erp.database)
    try:
        for _ in range(3):  # the process starts listening on its second transaction
            assert server.access("li.na", "sale.sale")["delete"] is False
            time.sleep(0.5)
        grant = [Change(Action.GRANT, Kind.PERMISSION, f"{CLERKS}/sale.sale:delete", "test")]
        with pg_erp.adapter.engine.begin() as conn:
            pg_erp.adapter.write(conn, grant, "test")
        time.sleep(2)
        assert server.access("li.na", "sale.sale")["delete"] is False  # no signal yet
        pg_erp.adapter.after_commit(grant)
        deadline = time.monotonic() + 10
        while not server.access("li.na", "sale.sale")["delete"]:
            assert time.monotonic() < deadline, "pg_notify was not seen"
            time.sleep(0.2)
    finally:
        server.close()


def test_membership_and_access_rows_are_attributed_by_their_own_stamps(erp: Erp) -> None:
    live = erp.adapter.read().state
    want = plus(
        live,
        {"li.na": UserRec("li.na", "Li Na"), "ops": UserRec("ops", "Ops")},
        {CLERKS: RoleRec(CLERKS, "Sale Clerks")},
        grants={(CLERKS, "sale.sale:read")},
    )
    erp.apply(diff(Desired(want), live, SCOPE).changes)
    added, written = dt.datetime(2026, 11, 27, 8, 0), dt.datetime(2026, 11, 27, 9, 15)
    with erp.adapter.engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT login, id FROM res_user")).all())
        group = conn.execute(text("SELECT id FROM res_group WHERE name = 'Sale Clerks'")).scalar()
        # what Tryton's client does as user ops: add li.na to the group, tick delete
        conn.execute(
            text(
                'INSERT INTO "res_user-res_group" ("user", "group", create_uid, create_date) '
                "VALUES (:u, :g, :by, :at)"
            ),
            {"u": ids["li.na"], "g": group, "by": ids["ops"], "at": added},
        )
        conn.execute(
            text(
                "UPDATE ir_model_access SET perm_delete = :on, write_uid = :by, write_date = :at "
                "WHERE \"group\" = :g AND model = 'sale.sale'"
            ),
            {"on": True, "by": ids["ops"], "at": written, "g": group},
        )
    found = erp.adapter.read().attribution
    utc = dt.UTC
    assert found[("membership", f"li.na/{CLERKS}")] == Attribution("ops", added.replace(tzinfo=utc))
    stamp = Attribution("ops", written.replace(tzinfo=utc))
    assert found[("permission", f"{CLERKS}/sale.sale:delete")] == stamp
    assert found[("permission", f"{CLERKS}/sale.sale:read")] == stamp  # the same row


def test_sign_ins_are_read_from_open_sessions_and_the_gap_is_said(erp: Erp) -> None:
    recent = dt.datetime(2026, 11, 20, 8, 0)
    with erp.adapter.engine.begin() as conn:
        uid = conn.execute(text("SELECT id FROM res_user WHERE login = 'admin'")).scalar()
        for key, created, written in (("a", dt.datetime(2026, 5, 1), None), ("b", recent, None)):
            conn.execute(
                text(
                    "INSERT INTO ir_session (create_uid, key, create_date, write_date) "
                    "VALUES (:u, :k, :c, :w)"
                ),
                {"u": uid, "k": key, "c": created, "w": written},
            )
    found = erp.adapter.read_logins()
    assert found.last["admin"] == recent.replace(tzinfo=dt.UTC)  # the latest session
    assert found.source.startswith("ir_session")
    assert "deletes a session when its user signs out" in found.notes[0]
