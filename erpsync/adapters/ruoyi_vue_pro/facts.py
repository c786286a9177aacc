"""What the live ruoyi-vue-pro schema says, without SQLAlchemy: column lengths and how the
database compares text. It travels with the live snapshot to the planner
(:meth:`RuoYiVueProAdapter.check_plan`), which never imports SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass, field

from erpsync.adapters.ruoyi_vue_pro.model import TenantModel


@dataclass(frozen=True)
class SchemaFacts:
    dialect: str  # "mysql"/"mariadb" or "postgresql"
    lengths: dict[str, dict[str, int]] = field(repr=False)  # table -> column -> characters

    @property
    def folds_case(self) -> bool:
        """MariaDB's utf8mb4_unicode_ci compares case-insensitively; PostgreSQL does not."""
        return self.dialect != "postgresql"

    def length(self, table: str, column: str) -> int | None:
        return self.lengths.get(table, {}).get(column)


@dataclass(frozen=True)
class Private:
    """What check_plan needs beyond the state: the tenant's rows as read, the schema."""

    model: TenantModel
    facts: SchemaFacts
