"""Database plumbing shared by every model: naming convention, UTC timestamps, SQLite set-up.

SQLite is the embedded default and must be as safe as PostgreSQL under concurrent sign-ups:
WAL so readers never block the writer, a busy timeout so writers queue instead of failing, foreign
keys on, and write transactions that begin with ``BEGIN IMMEDIATE``. Under WAL a *deferred*
transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT when another writer
committed in between, and the busy timeout cannot help; taking the write lock first makes every
read-check-write sequence (the capacity check) serialisable.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, registry, scoped_session

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Execution option on a connection: begin with BEGIN IMMEDIATE (True) or plain BEGIN (False).
# Set by `core.transaction`, the one place that decides what kind a transaction is.
IMMEDIATE = "hikisupport_sqlite_immediate"


def dialect_insert(dialect: str, target):
    """An INSERT in the database's own dialect (`dialect`: ``engine.dialect.name``), which can
    say ON CONFLICT — PostgreSQL's and SQLite's both can, the generic ``sa.insert`` cannot."""
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect](target)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zone type, so values are stored naive-in-UTC there; PostgreSQL uses
    ``timestamptz``. Naive datetimes are refused: a silent local-time guess is a bug.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # Every `Mapped[datetime]` column is a UTCDateTime.
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


def transaction_info(session) -> dict:
    """A dict that lives as long as the session's current transaction (e.g. which rows are
    locked); emptied when the outermost transaction commits or rolls back."""
    if isinstance(session, scoped_session):
        session = session()
    return session.info.setdefault("hikisupport_transaction", {})


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction_info(session, transaction):
    if transaction.parent is None:
        session.info.pop("hikisupport_transaction", None)


def begin_with(session, *, immediate: bool) -> None:
    """Begin the session's transaction now, taking SQLite's write lock at BEGIN if `immediate`.

    Only `core.transaction` calls this. It must come before the transaction's first statement:
    afterwards the transaction has begun and SQLite cannot upgrade it safely.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction():
        raise RuntimeError("the transaction has already begun; choose its kind before")
    session.connection(execution_options={IMMEDIATE: immediate})


# What SQLite keeps beside the database file: they hold the same personal data.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_sqlite_file(path: str) -> None:
    """The database file readable by its owner only (0600), like `secret_key`: created so
    before SQLite opens it (SQLite then gives its -wal and -shm files the same mode), and
    tightened if it already exists with a wider one."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    database = Path(path)
    if not database.exists() and database.parent.is_dir():
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
    for candidate in (database, *(Path(f"{path}{s}") for s in SQLITE_COMPANIONS)):
        try:
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)
        except FileNotFoundError:
            continue


@event.listens_for(Engine, "do_connect")
def _sqlite_private_files(dialect, connection_record, cargs, cparams):
    if dialect.name == "sqlite":
        private_sqlite_file(str(cargs[0]) if cargs else cparams.get("database", ""))


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # Let SQLAlchemy's "begin" event, not pysqlite, decide how transactions start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # The driver's timeout, for `_begin_immediate` to wait as long and to put back.
    connection_record.info[BUSY_TIMEOUT_MS] = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
    cursor.close()


# A write transaction whose BEGIN IMMEDIATE waits for its first statement (see
# `begin_immediate_lazily`): set for this context, taken by the next BEGIN in it.
_IMMEDIATE_AT_FIRST_STATEMENT: ContextVar[bool] = ContextVar("immediate_at_first", default=False)


def begin_immediate_lazily(pending: bool = True) -> None:
    """The next transaction begun in this context (the request's session, at its first
    statement) takes SQLite's write lock at BEGIN; `pending=False` withdraws the wish."""
    _IMMEDIATE_AT_FIRST_STATEMENT.set(pending)


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    immediate = conn.get_execution_options().get(IMMEDIATE, False)
    if _IMMEDIATE_AT_FIRST_STATEMENT.get():
        _IMMEDIATE_AT_FIRST_STATEMENT.set(False)
        immediate = True
    if immediate:
        _begin_immediate(conn)
    else:
        conn.exec_driver_sql("BEGIN")


BUSY_TIMEOUT_MS = "hikisupport_busy_timeout_ms"
# How often a writer waiting for the write lock tries again: from half a millisecond, doubled
# up to WRITE_LOCK_POLL_MAX seconds, with jitter.
WRITE_LOCK_POLL_MAX = 0.002


def _begin_immediate(conn) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock by trying again every few milliseconds.

    SQLite's own busy handler naps 1, 2, 5 … 25, 50, 100 ms between tries: a writer that has
    waited a while sleeps 100 ms at a time while newer writers, still on short naps, take the
    lock before it — under steady writes a few requests waited a second or more while the
    median waited 7 ms. Here every waiter tries again within WRITE_LOCK_POLL_MAX, so the
    lock goes to whoever asks next whatever their age, and the wait is bounded by the same
    busy timeout (then SQLITE_BUSY, answered 503 as before). The handler is off only for the
    BEGIN: every other statement keeps the driver's timeout.
    """
    timeout_ms = conn.connection.info.get(BUSY_TIMEOUT_MS, 0)  # 0: one try, no wait
    # The busy handler is switched on the driver's own cursor (plumbing, not worth SQLAlchemy's
    # events); every BEGIN goes through SQLAlchemy, so listeners and logs see each try.
    pragma = conn.connection.dbapi_connection.cursor()
    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.0005
    pragma.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as error:
                code = getattr(error.orig, "sqlite_errorcode", None)
                remaining = deadline - time.monotonic()
                if code is None or code & 0xFF != sqlite3.SQLITE_BUSY or remaining <= 0:
                    raise  # not the lock, or waited the whole busy timeout: 503 in core.errors
            time.sleep(min(delay * random.uniform(0.5, 1.0), remaining))  # noqa: S311 (jitter)
            delay = min(delay * 2, WRITE_LOCK_POLL_MAX)
    finally:
        pragma.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        pragma.close()


def sqlite_engine_options(busy_timeout_ms: int) -> dict:
    """Engine options for a SQLite URL: the busy timeout in the driver's own terms."""
    return {"connect_args": {"timeout": busy_timeout_ms / 1000, "check_same_thread": False}}
