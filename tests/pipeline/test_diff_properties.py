"""Properties of the pure pipeline, on the in-memory adapter."""

from __future__ import annotations

import pickle

from hypothesis import given, settings

from erpsync.adapters.memory import apply_changes
from erpsync.diff import diff
from erpsync.plan import Action, Kind
from erpsync.scope import Scope
from erpsync.state import State
from tests.pipeline.strategies import desired, states


@settings(max_examples=300, deadline=None)
@given(states(consistent_memberships=True), states(consistent_memberships=False))
def test_applying_the_diff_gives_the_desired_state(want: State, live: State) -> None:
    result = diff(desired(want), live, Scope())
    final = apply_changes(live, result.changes)
    assert final.roles == want.roles
    assert final.grants == want.grants
    assert final.memberships == want.memberships
    for login, user in want.users.items():
        assert final.users[login] == user
    for login in final.users.keys() - want.users.keys():
        assert not final.users[login].active  # removed from the policy: deactivated
    for key, dept in want.departments.items():
        assert final.departments[key] == dept
    assert diff(desired(want), final, Scope()).changes == []  # converged in one step


@settings(max_examples=200, deadline=None)
@given(states(consistent_memberships=True), states(consistent_memberships=False))
def test_changes_are_ordered_for_a_valid_apply(want: State, live: State) -> None:
    changes = diff(desired(want), live, Scope()).changes
    phase = [c.action.removes for c in changes]
    assert phase == sorted(phase), "every removal comes after every addition"
    forward = [list(Kind).index(c.kind) for c in changes if not c.action.removes]
    backward = [list(Kind).index(c.kind) for c in changes if c.action.removes]
    assert forward == sorted(forward)
    assert backward == sorted(backward, reverse=True)
    created = set()
    for c in changes:
        if c.kind is Kind.DEPARTMENT and c.action in (Action.CREATE, Action.UPDATE):
            parent = (c.after or {}).get("parent")
            assert parent is None or parent in created or parent in live.departments
            created.add(c.key)


@settings(max_examples=200, deadline=None)
@given(states(consistent_memberships=True), states(consistent_memberships=False))
def test_protected_and_ignored_objects_are_never_changed(want: State, live: State) -> None:
    scope = Scope(
        protected_users=frozenset({"li.na"}),
        protected_roles=frozenset({"boss"}),
        ignore_users=("svc-*",),
    )
    result = diff(desired(want), live, scope)
    for c in result.changes:
        owner, item = c.parts()
        assert c.key not in ("li.na", "boss")
        assert not c.key.startswith("svc-")
        if c.kind is Kind.MEMBERSHIP:
            assert owner != "li.na"
            assert item != "boss"
            assert not owner.startswith("svc-")
        if c.kind is Kind.PERMISSION:
            assert owner != "boss"
    unmanaged = {(u.kind, u.key) for u in result.unmanaged}
    if "li.na" in live.users:
        assert (Kind.USER, "li.na") in unmanaged


@settings(max_examples=300, deadline=None)
@given(states(consistent_memberships=True), states(consistent_memberships=False))
def test_delete_mode_converges_in_one_step(want: State, live: State) -> None:
    scope = Scope(delete_removed_users=True)
    final = apply_changes(live, diff(desired(want), live, scope).changes)
    assert final.users.keys() == want.users.keys()
    assert diff(desired(want), final, scope).changes == []


@settings(max_examples=100, deadline=None)
@given(states(consistent_memberships=False))
def test_a_state_comes_through_pickle_unchanged(state: State) -> None:
    """The live state travels pickled from the reading child (erpsync.live_read); its
    records rebuild themselves from their fields, and nothing may be lost."""
    back = pickle.loads(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == state
    for records in ("departments", "users", "roles"):
        for key, record in getattr(back, records).items():
            original = getattr(state, records)[key]
            assert type(record) is type(original)
            assert repr(record) == repr(original)
    assert back.digest() == state.digest()
