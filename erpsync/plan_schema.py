"""The schema of a plan's JSON form (format_version "2"), for ``schemas/plan.schema.json``
and for checking a saved plan file before it is trusted."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetDoc(_Strict):
    name: str
    adapter: str
    url: str = Field(description="The database URL with its password replaced by ***.")
    tenant: str | None = Field(
        None,
        description="The tenant of a multi-tenant ERP the target manages, as erpsync.yaml "
        "names it (null: the ERP's default tenant, or an ERP without tenants).",
    )


class ChangeDoc(_Strict):
    action: Literal["create", "update", "delete", "deactivate", "reactivate", "grant", "revoke"]
    kind: Literal["department", "role", "permission", "user", "membership"]
    key: str = Field(description="Department/role key, login, ROLE/MODULE:ACTION or LOGIN/ROLE.")
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str


class UnmanagedDoc(_Strict):
    kind: Literal["department", "role", "permission", "user", "membership"]
    key: str
    reason: str


class Summary(_Strict):
    create: int
    update: int
    delete: int
    deactivate: int
    reactivate: int
    grant: int
    revoke: int


class VerdictDoc(_Strict):
    guard: str = Field(description="protected-objects | max_removals")
    passed: bool
    detail: str
    override: str | None = Field(description="The apply flag that overrides a refusal.")


class RoleNoteDoc(_Strict):
    risk: Literal["high", "critical"] | None = Field(description="The role's declared risk.")
    sod_rules: list[str] = Field(
        description="Separation-of-duties rules naming a permission the role grants."
    )


class PlanDocument(_Strict):
    format_version: Literal["2"]
    erpsync_version: str
    target: TargetDoc
    created_at: str = Field(description="UTC, ISO 8601, e.g. 2026-11-27T10:00:00Z.")
    policy_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    live_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    reverts: int | None = Field(
        description="The audit record this plan undoes (erpsync audit revert), else null."
    )
    summary: Summary
    changes_digest: str = Field(
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="sha256 of the changes' canonical JSON (sorted keys, no spaces).",
    )
    changes: list[ChangeDoc]
    unmanaged: list[UnmanagedDoc]
    guards: list[VerdictDoc] = Field(
        description="The guards' verdicts when the plan was made; apply checks them again."
    )
    warnings: list[str]
    notes: list[str] = Field(default_factory=list)
    roles_of_note: dict[str, RoleNoteDoc] = Field(
        default_factory=dict,
        description="Roles the changes touch that are high-risk or fall under a SoD rule; "
        "the Markdown plan shows their changes first.",
    )
