"""The schema of a plan's JSON form (format_version "1"), for ``schemas/plan.schema.json``
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


class PlanDocument(_Strict):
    format_version: Literal["1"]
    erpsync_version: str
    target: TargetDoc
    created_at: str = Field(description="UTC, ISO 8601, e.g. 2026-11-27T10:00:00Z.")
    policy_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    live_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    summary: Summary
    changes: list[ChangeDoc]
    unmanaged: list[UnmanagedDoc]
    warnings: list[str]
    notes: list[str] = Field(default_factory=list)
