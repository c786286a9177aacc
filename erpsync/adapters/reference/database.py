"""``erpsync refdb init``: create the reference schema and catalogue at a database URL,
and load the sample company into it on request (:func:`init_database`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from erpsync.adapters.reference.load import load_sample
from erpsync.adapters.reference.messages import _reason
from erpsync.adapters.reference.schema import (
    METADATA,
    SchemaStatus,
    create_schema,
    erp_department,
    erp_role,
    erp_user,
)
from erpsync.catalogue import REFERENCE_MODULES
from erpsync.config import ResolvedTarget
from erpsync.connect import engine_for, parse
from erpsync.errors import ConnectError, DatabaseError
from erpsync.state import State


def init_database(url: str, sample: bool) -> str:
    """Create the reference schema and catalogue at ``url`` (and the sample company).

    Returns a one-paragraph summary. Every failure is a :class:`DatabaseError` (a
    :class:`ConfigError` for a URL that is not one) whose message shows the URL
    without its secrets.
    """
    target = ResolvedTarget("refdb", "reference", url)
    shown = target.display_url
    _make_sqlite_directory(parse(target), shown)
    engine = engine_for(target, new_file=True)
    try:
        status = create_schema(engine)
        loaded = _load_sample_into_empty(engine, shown) if sample else None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"{shown}: {target.redact(_reason(exc))}") from None
    except DatabaseError as exc:
        if isinstance(exc, ConnectError):
            raise
        message = str(exc)
        prefix = "" if message.startswith(shown) else f"{shown}: "
        raise DatabaseError(prefix + target.redact(message)) from None
    finally:
        engine.dispose()
    return _summary(shown, status, loaded)


def _make_sqlite_directory(url: URL, shown: str) -> None:
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):  # a URI filename: leave it to SQLite
        return
    try:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the directory for {shown}: {exc.strerror}") from None


def _load_sample_into_empty(engine: Engine, shown: str) -> State:
    with engine.connect() as conn:
        held = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (erp_department, erp_user, erp_role)
        }
    if any(held.values()):
        counts = ", ".join(f"{n} rows in {name}" for name, n in held.items() if n)
        raise DatabaseError(
            f"{shown} already holds data ({counts}); --sample needs an empty reference ERP"
        )
    return load_sample(engine)


def _summary(shown: str, status: SchemaStatus, loaded: State | None) -> str:
    catalogue = sum(len(actions) for _, actions in REFERENCE_MODULES.values())
    if status.created:
        text = (
            f"Created the reference ERP schema ({len(METADATA.tables)} erp_ tables) at {shown} "
            f"with its catalogue of {len(REFERENCE_MODULES)} modules and {catalogue} permissions."
        )
    else:
        text = (
            f"The reference ERP schema was already present at {shown}; "
            f"added {status.permissions_added} missing catalogue permissions."
        )
    if loaded is None:
        return text + " No sample data was loaded (--sample loads the demo company)."
    s = loaded
    active = sum(1 for u in s.users.values() if u.active)
    return text + (
        f" Loaded the demo company's live state: {len(s.departments)} departments, "
        f"{len(s.users)} users ({active} active), {len(s.roles)} roles, "
        f"{len(s.grants)} role permissions and {len(s.memberships)} memberships."
    )
