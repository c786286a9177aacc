"""The jshERP tables erpsync reads and writes, as SQLAlchemy Core tables.

Only the columns erpsync uses are declared, so no statement it issues reads or writes
``password`` or ``weixin_open_id``. ``enabled`` columns are ``BIT(1)``: compared with
``= 1``. :func:`schema_problems` tells ``doctor`` what is missing.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
)

from erpsync.i18n import N_

METADATA = MetaData()

jsh_tenant = Table(
    "jsh_tenant",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("tenant_id", BigInteger),
    Column("login_name", String(255)),
    Column("user_num_limit", Integer),
    Column("delete_flag", String(1)),
)

jsh_function = Table(
    "jsh_function",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("number", String(50)),
    Column("name", String(50)),
    Column("parent_number", String(50)),
    Column("url", String(100)),
    Column("sort", String(50)),
    Column("enabled", Integer),
    Column("push_btn", String(50)),
    Column("delete_flag", String(1)),
)

jsh_user = Table(
    "jsh_user",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("username", String(255)),
    Column("login_name", String(255)),
    Column("leader_flag", String(1)),
    Column("email", String(100)),
    Column("ismanager", Integer),
    Column("isystem", Integer),
    Column("status", Integer),
    Column("tenant_id", BigInteger),
    Column("delete_flag", String(1)),
)

jsh_organization = Table(
    "jsh_organization",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("org_no", String(20)),
    Column("org_abr", String(20)),
    Column("parent_id", BigInteger),
    Column("create_time", DateTime),
    Column("update_time", DateTime),
    Column("tenant_id", BigInteger),
    Column("delete_flag", String(1)),
)

jsh_orga_user_rel = Table(
    "jsh_orga_user_rel",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("orga_id", BigInteger),
    Column("user_id", BigInteger),
    Column("delete_flag", String(1)),
    Column("create_time", DateTime),
    Column("creator", BigInteger),
    Column("update_time", DateTime),
    Column("updater", BigInteger),
    Column("tenant_id", BigInteger),
)

jsh_role = Table(
    "jsh_role",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("name", String(50)),
    Column("type", String(50)),
    Column("description", String(100)),
    Column("enabled", Integer),
    Column("tenant_id", BigInteger),
    Column("delete_flag", String(1)),
)

jsh_user_business = Table(
    "jsh_user_business",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("type", String(50)),
    Column("key_id", String(50)),
    Column("value", Text),
    Column("btn_str", String(20000)),
    Column("tenant_id", BigInteger),
    Column("delete_flag", String(1)),
)

# Read-only context of the per-user data scopes (UserDepot, UserCustomer): the tenant's
# warehouses and customers (jsh_supplier of type 客户), and the switches that make the
# scopes count (jshERP names jsh_depot's flag ``delete_Flag``: MySQL's column names
# ignore case).
jsh_depot = Table(
    "jsh_depot",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("name", String(20)),
    Column("enabled", Integer),
    Column("tenant_id", BigInteger),
    Column("delete_flag", String(1)),
)

jsh_supplier = Table(
    "jsh_supplier",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("supplier", String(255)),
    Column("type", String(20)),
    Column("enabled", Integer),
    Column("tenant_id", BigInteger),
    Column("delete_flag", String(1)),
)

jsh_system_config = Table(
    "jsh_system_config",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("depot_flag", String(1)),
    Column("customer_flag", String(1)),
    Column("tenant_id", BigInteger),
    Column("delete_flag", String(1)),
)

jsh_log = Table(
    "jsh_log",
    METADATA,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", BigInteger),
    Column("operation", String(500)),
    Column("client_ip", String(200)),
    Column("create_time", DateTime),
    Column("status", Integer),
    Column("content", String(5000)),
    Column("tenant_id", BigInteger),
)


def schema_problems(conn: Connection) -> list[str]:
    """Tables or columns erpsync needs that the database lacks."""
    inspector = inspect(conn)
    have = set(inspector.get_table_names())
    problems = []
    for table in METADATA.sorted_tables:
        if table.name not in have:
            problems.append(N_("table {table} is missing").format(table=table.name))
            continue
        columns = {c["name"].lower() for c in inspector.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in columns]
        if missing:
            problems.append(
                N_("table {table} lacks {columns}").format(
                    table=table.name, columns=", ".join(missing)
                )
            )
    return problems
