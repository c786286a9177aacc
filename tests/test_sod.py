"""Separation of duties: the per-role shortcut finds exactly the users the per-user
check reports."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from erpsync import sod
from erpsync.policy.model import SodRule

PERMS = st.sampled_from(["gl:post", "gl:approve", "gl:*", "ap:pay", "ap:*", "hr:read"])
ROLES = st.sampled_from(["clerk", "approver", "payer", "auditor", "unknown"])


@st.composite
def rules(draw: st.DrawFn) -> dict[str, SodRule]:
    count = draw(st.integers(0, 3))
    return {
        f"rule{i}": SodRule(
            description="d",
            severity=draw(st.sampled_from(["low", "high"])),
            conflicts=draw(
                st.lists(st.lists(PERMS, min_size=1, max_size=3), min_size=2, max_size=3)
            ),
        )
        for i in range(count)
    }


@settings(max_examples=300, deadline=None)
@given(
    rules(),
    st.dictionaries(ROLES.filter(lambda r: r != "unknown"), st.frozensets(PERMS, max_size=4)),
    st.dictionaries(st.sampled_from(["ann", "bob", "cy", "di"]), st.lists(ROLES, max_size=4)),
)
def test_suspects_are_exactly_the_violators(
    sod_rules: dict[str, SodRule],
    role_perms: dict[str, frozenset[str]],
    holders: dict[str, list[str]],
) -> None:
    holdings = {
        login: frozenset().union(*(role_perms.get(r, frozenset()) for r in roles))
        for login, roles in holders.items()
    }
    violators = {v.user for v in sod.find_violations(sod_rules, holdings, [], dt.date(2026, 1, 1))}
    assert sod.suspects(sod_rules, role_perms, holders) == violators
