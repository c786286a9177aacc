"""What the live RuoYi schema says, without SQLAlchemy: the variant, which ``sys_user``
columns hold the login and the name, and each column's length and whether an insert
must set it.

:class:`~erpsync.adapters.ruoyi.schema.RuoYiSchema` (reflected, with SQLAlchemy
tables) gives these facts; :mod:`~erpsync.adapters.ruoyi.invariants` checks values
against them. They travel with the live snapshot from the process that reads
(:mod:`erpsync.live_read`) to the planner, which checks a plan against them
(:meth:`RuoYiAdapter.check_plan`) and never imports SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from erpsync.adapters.ruoyi.model import Model

Variant = Literal["ruoyi-vue", "ruoyi"]
VARIANT_NAMES: dict[Variant, str] = {
    "ruoyi-vue": "RuoYi-Vue",
    "ruoyi": "RuoYi (Shiro)",
}


@dataclass(frozen=True)
class ColumnInfo:
    length: int | None  # characters, for string columns
    required: bool  # NOT NULL with no default and not generated: an insert must set it


@dataclass(frozen=True)
class SchemaFacts:
    """The variant and every column of the tables erpsync uses, as the database declares
    them."""

    variant: Variant
    login: str  # sys_user column holding the login
    display: str  # sys_user column holding the display name
    columns: dict[str, dict[str, ColumnInfo]] = field(repr=False)  # every column there is

    @property
    def label(self) -> str:
        return VARIANT_NAMES[self.variant]

    def has(self, table: str, column: str) -> bool:
        return column in self.columns.get(table, {})

    def length(self, table: str, column: str) -> int | None:
        found = self.columns.get(table, {}).get(column)
        return found.length if found else None

    def required(self, table: str) -> list[str]:
        """Columns an insert must set that erpsync cannot (reported before writing)."""
        return [name for name, info in self.columns.get(table, {}).items() if info.required]


@dataclass(frozen=True)
class Private:
    """What :meth:`RuoYiAdapter.check_plan` needs beyond the state, carried by the snapshot
    (:attr:`LiveSnapshot.private`): the rows as read, and what the schema says."""

    model: Model
    schema: SchemaFacts
