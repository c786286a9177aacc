"""The Tryton tables erpsync reads and writes, declared with SQLAlchemy Core.

Only the columns erpsync uses are declared (``password_hash`` and the
``password_reset*`` columns never are). The tables are created by Tryton
(``trytond-admin``), never by erpsync; ids come from the database (SQLite's
autoincrement, PostgreSQL's ``<table>_id_seq`` default).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Connection, DateTime, Integer, MetaData, String, Table, Text

from erpsync.i18n import N_

METADATA = MetaData()


def _stamps() -> list[Column[object]]:
    return [
        Column("create_uid", Integer),
        Column("create_date", DateTime),
        Column("write_uid", Integer),
        Column("write_date", DateTime),
    ]


res_user = Table(
    "res_user",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("login", String),
    Column("name", String),
    Column("email", String),
    Column("active", Boolean),
    Column("administrator", Boolean),
    Column("menu", Integer),
    *_stamps(),
)

res_group = Table(
    "res_group",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("active", Boolean),
    Column("parent", Integer),
    *_stamps(),
)

user_group = Table(
    "res_user-res_group",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("user", Integer),
    Column("group", Integer),
    *_stamps(),
)

model_access = Table(
    "ir_model_access",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("model", String),
    Column("group", Integer),
    Column("perm_read", Boolean),
    Column("perm_write", Boolean),
    Column("perm_create", Boolean),
    Column("perm_delete", Boolean),
    Column("active", Boolean),
    Column("description", Text),
    *_stamps(),
)

ir_model = Table(
    "ir_model",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("string", String),
    Column("module", String),
)

ir_model_data = Table(
    "ir_model_data",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("module", String),
    Column("fs_id", String),
    Column("model", String),
    Column("db_id", Integer),
)

ir_session = Table(
    "ir_session",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("create_uid", Integer),
)

ir_cache = Table(
    "ir_cache",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("timestamp", DateTime),
    *_stamps(),
)

# erpsync action -> ir_model_access column, in the catalogue's order.
PERM_COLUMNS: dict[str, str] = {
    "read": "perm_read",
    "create": "perm_create",
    "update": "perm_write",
    "delete": "perm_delete",
}
ACTIONS: tuple[str, ...] = tuple(PERM_COLUMNS)

ROOT_ID = 0  # Tryton's internal user; stamps rows written outside any user's session
ADMIN_ID = 1

# Link tables holding a res_group id in a column named "group" (besides memberships and
# model access), cleared before a group is deleted: SQLite does not enforce their
# ON DELETE CASCADE. Those missing from a database (module not activated) are skipped.
GROUP_LINK_TABLES: tuple[str, ...] = (
    "ir_ui_menu-res_group",
    "ir_action-res_group",
    "ir_model_button-res_group",
    "ir_sequence_type-res_group",
    "ir_export-res_group",
    "ir_export-write-res_group",
    "ir_rule_group-res_group",
    "ir_model_field_access",
)

# The in-memory caches of a running trytond process that hold what erpsync changes.
CACHE_NAMES: tuple[str, ...] = (
    "res_user.get_groups",
    "res_user.is_administrator",
    "ir_model_access.get_access",
    "ir_model_field_access.check",
    "ir_rule.domain_get",
    "modelview.fields_view_get",
    "modelview.view_toolbar_get",
    "ir.model.button.groups",
    "ir.action.get_groups",
    "ir_session.session_reset",
)


def schema_problems(conn: Connection) -> list[str]:
    """Where the database lacks the Tryton tables or columns erpsync uses (read-only); for
    ``erpsync doctor``."""
    from sqlalchemy import inspect

    found = inspect(conn)
    names = set(found.get_table_names())
    problems = []
    for table in METADATA.sorted_tables:
        if table.name not in names:
            problems.append(
                N_("no table {table} (is this a Tryton database?)").format(table=table.name)
            )
            continue
        columns = {c["name"] for c in found.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in columns]
        if missing:
            problems.append(
                N_("{table}: missing columns {columns}").format(
                    table=table.name, columns=", ".join(missing)
                )
            )
    return problems
