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
from erpsync.i18n import N_, _, number
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
        raise DatabaseError(
            N_("cannot create the directory for {url}: {error}").format(
                url=shown, error=exc.strerror
            )
        ) from None


def _load_sample_into_empty(engine: Engine, shown: str) -> State:
    with engine.connect() as conn:
        held = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (erp_department, erp_user, erp_role)
        }
    if any(held.values()):
        counts = ", ".join(f"{n} rows in {name}" for name, n in held.items() if n)
        raise DatabaseError(
            N_("{url} already holds data ({counts}); --sample needs an empty reference ERP").format(
                url=shown, counts=counts
            )
        )
    return load_sample(engine)


def _summary(shown: str, status: SchemaStatus, loaded: State | None) -> str:
    """What ``refdb init`` did, for people (in the language of the run)."""
    catalogue = sum(len(actions) for _name, actions in REFERENCE_MODULES.values())
    if status.created:
        text = _(
            "Created the reference ERP schema ({tables} erp_ tables) at {url} "
            "with its catalogue of {modules} modules and {permissions} permissions."
        ).format(
            tables=number(len(METADATA.tables)),
            url=shown,
            modules=number(len(REFERENCE_MODULES)),
            permissions=number(catalogue),
        )
    else:
        text = _(
            "The reference ERP schema was already present at {url}; "
            "added {n} missing catalogue permissions."
        ).format(url=shown, n=number(status.permissions_added))
    if loaded is None:
        return text + _(" No sample data was loaded (--sample loads the demo company).")
    s = loaded
    active = sum(1 for u in s.users.values() if u.active)
    return text + _(
        " Loaded the demo company's live state: {departments} departments, "
        "{users} users ({active} active), {roles} roles, "
        "{grants} role permissions and {memberships} memberships."
    ).format(
        departments=number(len(s.departments)),
        users=number(len(s.users)),
        active=number(active),
        roles=number(len(s.roles)),
        grants=number(len(s.grants)),
        memberships=number(len(s.memberships)),
    )
