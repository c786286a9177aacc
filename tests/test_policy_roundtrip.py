"""Property: any valid policy, dumped to YAML, loads back to the same model."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsync.policy.loader import load_policy
from erpsync.policy.model import (
    Department,
    Module,
    PolicyDocument,
    Role,
    SodException,
    SodRule,
    User,
)

KEY_CHARS = st.sampled_from("abcxyz019._-财务部销售李娜")
keys = st.text(KEY_CHARS, min_size=1, max_size=12)
texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
dates = st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31))
actions = st.sampled_from(["read", "create", "update", "delete", "approve", "*"])
modules = st.sampled_from(
    ["finance.payment", "sales.order", "inventory.stock", "system.user", "system:user", "a:b:c"]
)
# Both forms of a role's permissions: module -> actions, or a list of module:action (an
# empty list is written as no permissions at all, and read back as the empty mapping).
mapped = st.dictionaries(modules, st.lists(actions, min_size=1, unique=True))
listed = st.lists(st.builds(lambda m, a: f"{m}:{a}", modules, actions), min_size=1, unique=True)


@st.composite
def policies(draw: st.DrawFn) -> PolicyDocument:
    dept_keys = draw(st.lists(keys, unique=True, max_size=5))
    role_keys = draw(st.lists(keys, unique=True, max_size=5))
    logins = draw(st.lists(keys, unique=True, max_size=6))
    departments = {
        key: Department(
            name=draw(texts),
            parent=draw(st.none() | st.sampled_from(dept_keys[:i])) if i else None,
            manager=draw(st.none() | st.sampled_from(logins)) if logins else None,
            default_roles=draw(st.lists(st.sampled_from(role_keys), unique=True))
            if role_keys
            else [],
            owners=draw(st.lists(st.just("@acme/leads"), max_size=1)),
        )
        for i, key in enumerate(dept_keys)
    }
    roles = {
        key: Role(
            name=draw(texts),
            description=draw(st.none() | texts),
            permissions=draw(mapped | listed),
            includes=draw(st.lists(st.sampled_from(role_keys[:i]), unique=True)) if i else [],
            risk=draw(st.none() | st.sampled_from(["low", "medium", "high", "critical"])),
        )
        for i, key in enumerate(role_keys)
    }
    users = {
        login: User(
            name=draw(texts),
            email=draw(st.none() | st.just(f"u{i}@example.com")),
            department=draw(st.none() | st.sampled_from(dept_keys)) if dept_keys else None,
            roles=draw(st.lists(st.sampled_from(role_keys), unique=True)) if role_keys else [],
            active=draw(st.booleans()),
            expires=draw(st.none() | dates),
        )
        for i, login in enumerate(logins)
    }
    rules = {
        "R1": SodRule(
            description=draw(texts),
            severity=draw(st.sampled_from(["low", "medium"])),
            conflicts=[["finance.payment:approve"], ["sales.order:create", "system.user:update"]],
        )
    }
    exceptions = (
        [
            SodException(
                rule="R1",
                user=logins[0],
                reason=draw(texts),
                approved_by=logins[-1],
                expires=draw(st.none() | dates),
            )
        ]
        if logins
        else []
    )
    catalogue = {"finance.payment": Module(name=draw(texts), actions=["read", "approve"])}
    return PolicyDocument(
        modules=catalogue,
        departments=departments,
        roles=roles,
        users=users,
        sod_rules=rules,
        sod_exceptions=exceptions,
    )


def dump(policy: PolicyDocument) -> str:
    data: dict[str, Any] = policy.model_dump(mode="python", exclude_defaults=True)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@settings(max_examples=150, deadline=None)
@given(policies())
def test_dump_then_load_gives_the_same_policy(policy: PolicyDocument) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "policy.yaml").write_text(dump(policy), encoding="utf-8")
        loaded = load_policy(Path(tmp))
    assert loaded.policy == policy


@settings(max_examples=50, deadline=None)
@given(policies())
def test_split_across_files_gives_the_same_policy(policy: PolicyDocument) -> None:
    sections = policy.model_dump(mode="python", exclude_defaults=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in sections.items():
            sub = Path(tmp) / name
            sub.mkdir()
            (sub / "part.yml").write_text(
                yaml.safe_dump({name: content}, allow_unicode=True), encoding="utf-8"
            )
        loaded = load_policy(Path(tmp))
    assert loaded.policy == policy
