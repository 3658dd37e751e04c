"""Engines and sessions for SQLite (the embedded default) and PostgreSQL (production).

SQLite gets WAL mode and a busy timeout (``SQLITE_BUSY_SECONDS``) so a web process and a worker can share one
file; PostgreSQL pings a pooled connection that sat idle before handing it out, so a
restarted server is noticed instead of failing the next request. Every instant crosses
this boundary as timezone-aware UTC.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Table, event, exc
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware instants as UTC and always hands back aware UTC, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: instants are stored as timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel class, typed, for expressions mypy can check."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def normalise_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` forms hosting platforms hand out."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


PING_AFTER_IDLE_SECONDS = 2.0
"""A connection back in the pool for longer than this is pinged before reuse.

Pinging on every checkout costs a round trip per store call, which is what limits a
fan-out; a connection handed straight back out was working a moment ago. A server
that goes away in that moment fails one statement, which invalidates the whole pool
like any disconnect, and the caller's retry (the next tick) gets fresh connections."""


def _ping_when_idle(engine: Engine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")  # absent on a fresh connection: nothing to check
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as err:  # the pool invalidates its connections and tries a fresh one
            raise exc.InvalidatePoolError(str(err)) from err


class DatabaseError(RuntimeError):
    """The database cannot be used; the message is one line an operator can act on."""


class DatabaseUrlError(DatabaseError):
    """``DATABASE_URL`` itself is wrong: not a URL, a driver that does not exist, a missing folder."""


class DatabaseUnavailable(DatabaseError):
    """The server (or file) named by a sound ``DATABASE_URL`` refused or did not answer."""


SQLITE_BUSY_SECONDS = 10
"""How long a SQLite statement waits for another connection's write lock before failing.

Meridian's own write transactions last milliseconds (a team import, the longest, well
under a second), so ten seconds covers a web process and a worker taking turns on a
busy machine; a lock held longer is an outage, and the failed call is retried (the
next tick, the outbox) rather than waited out. The serve process runs store calls on
its core loop, not the HTTP loop, so this wait never holds up ``/healthz``."""

PROBE_BUSY_SECONDS = 0.25
"""The health probe's own busy timeout: it asks for the write lock and gives up quickly."""


def database_probe(engine: Engine) -> Callable[[], None]:
    """A check that the database takes writes now, for ``/healthz``; raises when it does not.

    On SQLite in WAL mode readers never wait, so a read would call a locked database
    healthy: the probe asks for the write lock (``BEGIN IMMEDIATE``, rolled back at
    once, nothing written) with a short busy timeout of its own. On PostgreSQL it is
    one ``SELECT 1``. Run it off the event loop: it blocks.
    """
    file_backed = engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")

    def probe() -> None:
        if not file_backed:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(PROBE_BUSY_SECONDS * 1000)}")
            try:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("ROLLBACK")
            finally:
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
                cursor.close()
        finally:
            raw.close()

    return probe


_URL_EXAMPLE = "write it like sqlite:///data/meridian.db or postgresql://user:password@host:5432/meridian"


def check_url(url: str) -> URL:
    """``url`` parsed, its driver loadable and (SQLite) its folder present, or ``DatabaseUrlError``.

    The URL's text is never repeated in the message: it may hold a password.
    """
    try:
        parsed = make_url(normalise_url(url))
    except (exc.ArgumentError, ValueError):
        raise DatabaseUrlError(f"DATABASE_URL is not a database URL; {_URL_EXAMPLE}") from None
    try:
        parsed.get_dialect()
    except exc.NoSuchModuleError:
        raise DatabaseUrlError(f"DATABASE_URL names the driver `{parsed.drivername}`, which does not exist; "
                               f"{_URL_EXAMPLE}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and "uri" not in parsed.query:
        folder = Path(parsed.database).expanduser().absolute().parent
        if not folder.is_dir():
            raise DatabaseUrlError(f"DATABASE_URL points into {folder}, a folder that does not exist; "
                                   "create it or choose another path")
    return parsed


def _reason(err: exc.DBAPIError) -> str:
    text = str(err.orig).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(err.orig).__name__


def as_database_error(err: BaseException) -> DatabaseError | None:
    """A failure to reach or open the database, as one line; ``None`` for anything else (a bug stays loud)."""
    if isinstance(err, DatabaseError):
        return err
    if isinstance(err, exc.OperationalError | exc.InterfaceError):
        return DatabaseUnavailable(f"cannot use the database: {_reason(err)}")
    return None


def ensure_reachable(url: str) -> None:
    """Connect once, so a command stops at start with one line rather than failing on every later call."""
    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except exc.DBAPIError as err:  # refused, unknown database, wrong password, a file that is not a database
        raise DatabaseUnavailable(f"cannot use the database at {engine.url.render_as_string(hide_password=True)}: "
                                  f"{_reason(err)}") from None
    finally:
        engine.dispose()


STATEMENT_SECONDS = 30
"""PostgreSQL ends a statement running longer (``statement_timeout``): twice the deadline a caller waits for a store
call (``storage.offload.STORE_CALL_SECONDS``), so a hung statement frees its thread and connection soon after its
caller has been told of the outage, while Meridian's longest statements (a retention purge, a team import) finish
in a fraction of it. Migrations run without it."""


def make_engine(url: str, statement_timeout: float | None = STATEMENT_SECONDS, **kwargs: Any) -> Engine:
    check_url(url)
    url = normalise_url(url)
    if url.startswith("sqlite"):
        if url in {"sqlite://", "sqlite:///:memory:"}:
            kwargs.setdefault("poolclass", StaticPool)  # one shared in-memory database, not one per connection
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                    "timeout": SQLITE_BUSY_SECONDS}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cur.close()

        return engine
    if statement_timeout is not None:
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args["options"] = f"{connect_args.get('options', '')} -c statement_timeout={int(statement_timeout * 1000)}"
        kwargs["connect_args"] = connect_args
    engine = create_engine(url, pool_size=5, max_overflow=5, **kwargs)
    _ping_when_idle(engine)
    return engine


_AMBIENT: ContextVar[dict[str, Connection] | None] = ContextVar("meridian_transaction", default=None)
"""The connection of the unit of work in progress, per database, for the current task or thread."""


def _db_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def ambient_connection(engine: Engine) -> Connection | None:
    found = _AMBIENT.get()
    return None if found is None else found.get(_db_key(engine))


@contextmanager
def transaction_scope(engine: Engine) -> Iterator[None]:
    """One unit of work: every repository on this database joins it, and it commits or rolls back whole.

    Repositories each hold the engine and open their own sessions; inside this block those
    sessions and statements run on the one connection and transaction kept here, so a team
    file that writes members, stand-ups, RACI and retros either lands whole or not at all.
    A nested block joins the outer one.
    """
    if ambient_connection(engine) is not None:
        yield
        return
    with engine.begin() as conn:
        token = _AMBIENT.set({**(_AMBIENT.get() or {}), _db_key(engine): conn})
        try:
            yield
        finally:
            _AMBIENT.reset(token)


def open_session(engine: Engine, **kwargs: Any) -> Session:
    """A session on the unit of work in progress, or on the engine when there is none.

    Joined to an outer unit of work, the session's own ``commit`` leaves the outer
    transaction open, and a failure rolls all of it back.
    """
    conn = ambient_connection(engine)
    if conn is None:
        return Session(engine, **kwargs)
    return Session(bind=conn, join_transaction_mode="rollback_only", **kwargs)


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection for reading: the unit of work's when one is in progress (it sees its own writes)."""
    conn = ambient_connection(engine)
    if conn is not None:
        yield conn
        return
    with engine.connect() as fresh:
        yield fresh


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with open_session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


@contextmanager
def statement_scope(engine: Engine, autocommit: bool) -> Iterator[Connection]:
    """A connection for work that is one SQL statement.

    One statement is atomic on its own, so with ``autocommit`` it is not wrapped in
    BEGIN … COMMIT, two round trips on PostgreSQL: the store's hot paths (a reminder
    makes about fifteen such calls) pay one instead of three. Anything of two or more
    statements that must agree stays in ``session_scope``. Inside a unit of work the
    statement joins it.
    """
    conn = ambient_connection(engine)
    if conn is not None:
        yield conn
        return
    if not autocommit:
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
