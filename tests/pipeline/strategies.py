"""Hypothesis strategies for canonical States (desired and live)."""

from __future__ import annotations

from hypothesis import strategies as st

from erpsync.state import DepartmentRec, Desired, RoleRec, State, UserRec, by_user

DEPTS = ["hq", "fin", "sales", "财务部"]
ROLES = ["clerk", "boss", "viewer", "应付会计"]
LOGINS = ["li.na", "wang.fang", "zhang.wei", "陈静", "svc-bot"]
PERMS = [
    "finance.payment:read",
    "finance.payment:approve",
    "sales.order:create",
    "hr.employee:read",
]
names = st.sampled_from(["A", "B", "李娜", "王芳"])


@st.composite
def states(draw: st.DrawFn, consistent_memberships: bool) -> State:
    dept_keys = draw(st.lists(st.sampled_from(DEPTS), unique=True))
    departments = {}
    for i, key in enumerate(dept_keys):
        parent = draw(st.none() | st.sampled_from(dept_keys[:i])) if i else None
        departments[key] = DepartmentRec(
            key, draw(names), parent, draw(st.none() | st.just("li.na"))
        )
    role_keys = draw(st.lists(st.sampled_from(ROLES), unique=True))
    roles = {
        k: RoleRec(
            k,
            draw(names),
            draw(st.none() | names),
            draw(st.none() | st.sampled_from(["all", "self"])),
        )
        for k in role_keys
    }
    users = {
        login: UserRec(
            login,
            draw(names),
            draw(st.none() | st.just(f"{login}@example.com")),
            draw(st.none() | st.sampled_from(dept_keys)) if dept_keys else None,
            draw(st.booleans()),
        )
        for login in draw(st.lists(st.sampled_from(LOGINS), unique=True))
    }
    grants = (
        frozenset(draw(st.sets(st.tuples(st.sampled_from(role_keys), st.sampled_from(PERMS)))))
        if role_keys
        else frozenset()
    )
    candidates = [u for u, rec in users.items() if rec.active or not consistent_memberships]
    memberships = (
        frozenset(draw(st.sets(st.tuples(st.sampled_from(candidates), st.sampled_from(role_keys)))))
        if candidates and role_keys
        else frozenset()
    )
    return State(departments, users, roles, grants, by_user(memberships))


def desired(state: State) -> Desired:
    return Desired(state)
