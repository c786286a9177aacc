"""Which live roles erpsync manages: ``settings.scope.roles`` and the adapter's default."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpsync.adapters.reference import ReferenceAdapter
from erpsync.adapters.tryton import TrytonAdapter
from erpsync.config import ScopeSettings, Settings, load_config
from erpsync.errors import ConfigError
from erpsync.scope import SLASH_ROLE, SLASH_USER, Scope


def scope(adapter: type[ReferenceAdapter] | type[TrytonAdapter], **settings: object) -> Scope:
    scoped = ScopeSettings.model_validate(settings) if settings else None
    return Scope.for_adapter(Settings(scope=scoped), adapter)


def test_undeclared_roles_are_removed_by_default_on_the_reference_erp() -> None:
    assert scope(ReferenceAdapter).role_reason("made-by-hand", declared=False) is None


def test_tryton_leaves_undeclared_groups_alone_and_says_how_to_manage_them() -> None:
    reason = scope(TrytonAdapter).role_reason("Sales Administrator", declared=False)
    assert reason is not None
    assert "tryton adapter leaves undeclared roles alone" in reason
    assert "settings.scope.roles: all" in reason
    assert scope(TrytonAdapter).role_reason("Sales", declared=True) is None


@pytest.mark.parametrize("adapter", [ReferenceAdapter, TrytonAdapter])
def test_settings_scope_roles_overrides_the_adapter(
    adapter: type[ReferenceAdapter] | type[TrytonAdapter],
) -> None:
    assert scope(adapter, roles="all").role_reason("x", declared=False) is None
    declared = scope(adapter, roles="declared").role_reason("x", declared=False)
    assert declared == "not declared (settings.scope.roles: declared)"


def test_a_department_scope_leaves_undeclared_roles_alone_unless_roles_all() -> None:
    limited = scope(ReferenceAdapter, departments=["finance"])
    assert limited.departments == frozenset({"finance"})
    assert "settings.scope limits erpsync" in (limited.role_reason("x", declared=False) or "")
    widened = scope(ReferenceAdapter, departments=["finance"], roles="all")
    assert widened.role_reason("x", declared=False) is None


def test_scope_without_departments_manages_every_department() -> None:
    only_roles = scope(ReferenceAdapter, roles="declared")
    assert only_roles.departments is None
    assert only_roles.in_scope("anything")


def test_protected_and_ignored_roles_stay_unmanaged_when_declared() -> None:
    made = Scope.from_settings(
        Settings(protected_roles=["admin"], scope=ScopeSettings(roles="all")), (), ()
    )
    assert made.role_reason("admin", declared=True) == "protected"


def test_scope_roles_is_checked_in_erpsync_yaml(tmp_path: Path) -> None:
    path = tmp_path / "erpsync.yaml"
    path.write_text("settings:\n  scope:\n    roles: some\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"erpsync.yaml:3:\d+"):
        load_config(path)
    path.write_text("settings:\n  scope:\n    roles: declared\n", encoding="utf-8")
    settings = load_config(path).settings
    assert settings.scope is not None
    assert settings.scope.roles == "declared"


def test_a_live_role_key_or_login_holding_a_slash_is_left_alone() -> None:
    """A plan could not name it (ROLE/MODULE:ACTION, LOGIN/ROLE are split at the first '/'),
    so it is unmanaged, whatever settings.scope.roles says."""
    managing = scope(ReferenceAdapter, roles="all")
    assert managing.role_reason("ops/admin", declared=False) == SLASH_ROLE
    assert managing.user_reason("ops/li", None) == SLASH_USER
    assert managing.users_to_check({"ops/li", "li.na"}) == {"ops/li"}
    assert managing.role_reason("ops-admin", declared=False) is None
    assert managing.user_reason("li.na", None) is None
    assert "ROLE/MODULE:ACTION" in SLASH_ROLE
    assert "LOGIN/ROLE" in SLASH_USER
