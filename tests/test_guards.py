"""The guards' arithmetic: each kind of removal against its managed count, the forms of
``settings.max_removals``, and the removal window."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from erpsync import removals
from erpsync.adapters.memory import MemoryAdapter
from erpsync.config import RemovalShare, Settings
from erpsync.errors import GuardError
from erpsync.guards import allowed, enforce, protected_verdict, removal_verdict
from erpsync.plan import Action, Change, Kind, Unmanaged
from erpsync.scope import Scope
from erpsync.state import RoleRec, State, UserRec


def live(users: int) -> State:
    logins = [f"u{i}" for i in range(users)]
    return State(
        users={u: UserRec(u, u, None, None, True) for u in logins},
        roles={"clerk": RoleRec("clerk", "Clerk"), "boss": RoleRec("boss", "Boss")},
        grants=frozenset({("clerk", f"sales.order:{a}") for a in ("read", "create", "edit")}),
        user_roles={u: frozenset({"clerk"}) for u in logins},
    )


def revoke(key: str, kind: Kind = Kind.PERMISSION) -> Change:
    return Change(Action.REVOKE, kind, key, "")


@pytest.mark.parametrize(
    ("limit", "total", "most"),
    [
        (RemovalShare(), 3, 3),
        (RemovalShare(), 100, 20),
        (RemovalShare(percent=20, at_least=0), 3, 0),
        ("20%", 3, 0),
        ("50%", 7, 3),
        (5, 1000, 5),
        (0, 1000, 0),
    ],
)
def test_what_each_form_allows(limit: RemovalShare | str | int, total: int, most: int) -> None:
    assert allowed(limit, total) == most


def test_settings_take_every_form_and_refuse_others() -> None:
    assert Settings().max_removals == RemovalShare(percent=20, at_least=3)
    assert Settings(max_removals="10%").max_removals == "10%"
    shared = Settings.model_validate({"max_removals": {"percent": 5, "at_least": 1}})
    assert shared.max_removals == RemovalShare(percent=5, at_least=1)
    for bad in ("lots", {"percent": 120}, {"share": 5}, -1):
        with pytest.raises(ValidationError):
            Settings.model_validate({"max_removals": bad})
    with pytest.raises(ValidationError):
        Settings.model_validate({"max_removals_window": "1 day"})


def test_permission_revokes_count_against_the_managed_grants() -> None:
    changes = [revoke("clerk/sales.order:read"), revoke("clerk/sales.order:create")]
    strict = Settings(max_removals="50%")
    verdict = removal_verdict(changes, [], live(10), strict, removals.Recent())
    assert not verdict.passed
    assert "2 of 3 managed permissions, limit 1" in verdict.detail
    with pytest.raises(GuardError, match="--allow-mass-removal"):
        enforce([verdict], allow_mass_removal=False)
    enforce([verdict], allow_mass_removal=True)


def test_unmanaged_users_are_not_counted() -> None:
    changes = [Change(Action.DEACTIVATE, Kind.USER, "u0", "")]
    ignored = [Unmanaged(Kind.USER, f"u{i}", "ignored") for i in range(1, 9)]
    verdict = removal_verdict(
        changes, ignored, live(10), Settings(max_removals="50%"), removals.Recent()
    )
    assert verdict.passed
    assert "1 of 2 managed users, limit 1" in verdict.detail
    assert "memberships" not in verdict.detail


def test_recent_removals_count_and_widen_the_base() -> None:
    changes = [revoke(f"u{i}/clerk", Kind.MEMBERSHIP) for i in range(2)]
    recent = removals.Recent("24h", {"memberships": 2}, (4,))
    verdict = removal_verdict(changes, [], live(10), Settings(max_removals="30%"), recent)
    # 10 memberships now + 2 revoked in the window = 12; 30% of 12 is 3 < 2 + 2
    assert not verdict.passed
    assert "2 of 12 managed memberships (+2 removed in the last 24h: 4), limit 3" in verdict.detail
    assert "audit record(s) #4" in verdict.detail


def test_a_plan_without_removals_passes() -> None:
    verdict = removal_verdict([], [], live(3), Settings(), removals.Recent())
    assert verdict.passed
    assert verdict.detail == "the plan removes nothing"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("24h", dt.timedelta(hours=24)),
        ("90m", dt.timedelta(minutes=90)),
        ("7d", dt.timedelta(days=7)),
        ("0h", dt.timedelta()),
    ],
)
def test_windows(text: str, span: dt.timedelta) -> None:
    assert removals.window_of(text) == span


def test_a_change_touching_a_protected_object_has_no_override() -> None:
    scope = Scope.for_adapter(Settings(protected_users=["admin"]), MemoryAdapter)
    change = Change(Action.GRANT, Kind.MEMBERSHIP, "admin/clerk", "")
    verdict = protected_verdict([change], scope)
    assert not verdict.passed
    assert "touches protected user admin" in verdict.detail
    with pytest.raises(GuardError, match=r"\(no override\)"):
        enforce([verdict], allow_mass_removal=True)
    assert protected_verdict([Change(Action.GRANT, Kind.MEMBERSHIP, "bo/clerk", "")], scope).passed
