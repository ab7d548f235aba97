"""One transaction per unit of work: begun by its declared kind, committed once, rolled back on
any exception.

A request's kind is declared on its view — ``@reads`` or ``@writes`` — and defaults to *read*
for GET/HEAD and *write* for every other method (`kind_of`). The request hooks installed by
`init_app` begin the transaction before the view runs and commit it after the view returned;
an exception (or a refusal, see ``core.errors``) rolls it back. Views and services never commit.

- A *write* transaction takes SQLite's write lock at ``BEGIN IMMEDIATE`` (see
  ``core.database``); on PostgreSQL it is a plain read-committed transaction, and the rules
  lock the rows they re-check (``SELECT … FOR UPDATE``).
- A *read* transaction never takes the write lock, so pages never queue behind a rush of
  sign-ups. On PostgreSQL it is ``REPEATABLE READ READ ONLY`` (one snapshot for the whole page,
  and the database itself refuses a write); on SQLite a deferred transaction is one snapshot
  already, and a flush of changes is refused here. A GET that must write (a roster view writes
  its audit row) says ``@writes``.

CLI commands and workers use the same two kinds as context managers: ``with writing(): …``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from hikisupport.core.database import begin_immediate_lazily, begin_with
from hikisupport.core.extensions import db

READ, WRITE = "read", "write"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where the kind of the current transaction is kept, on the SQLAlchemy session.
_KIND = "hikisupport_transaction_kind"
# Views that run without a database transaction (static files, the health check).
NONE = "none"

View = TypeVar("View", bound=Callable)


class ReadOnlyTransaction(RuntimeError):
    """A read transaction tried to write: the view should have been declared ``@writes``."""


def reads(view: View) -> View:
    """Declare that the view only reads (e.g. a POST that searches)."""
    view.transaction = READ
    return view


def writes(view: View) -> View:
    """Declare that the view writes (e.g. a GET that records an audit row)."""
    view.transaction = WRITE
    return view


def no_transaction(view: View) -> View:
    """Declare that the view touches no database at all."""
    view.transaction = NONE
    return view


def kind_of(view: Callable | None, method: str) -> str:
    """The transaction kind a request to `view` with `method` runs in."""
    declared = getattr(view, "transaction", None)
    if declared is not None:
        return declared
    return READ if method in _SAFE_METHODS else WRITE


def begin(kind: str, lazily: bool = False) -> None:
    """Begin the current session's transaction as `kind` (READ or WRITE).

    `lazily` (a request's write transaction on SQLite): BEGIN IMMEDIATE is sent with the
    request's first statement, not now, so what the view does before it touches the database
    (parsing and checking a form, its CSRF token) is not done holding the write lock; every
    read the transaction makes is still under the lock."""
    session = db.session()
    if kind == WRITE and lazily and db.engine.dialect.name == "sqlite":
        if session.in_transaction():
            raise RuntimeError("the transaction has already begun; choose its kind before")
        begin_immediate_lazily()
    elif kind == WRITE:
        begin_with(session, immediate=True)
    elif db.engine.dialect.name == "postgresql":
        session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    else:
        begin_with(session, immediate=False)
    session.info[_KIND] = kind


def commit() -> None:
    db.session.commit()


def rollback() -> None:
    db.session.rollback()


def current_kind() -> str | None:
    """READ, WRITE, or None outside a declared transaction."""
    return db.session().info.get(_KIND)


@contextmanager
def writing() -> Iterator[None]:
    """A write transaction for a CLI command or a worker step: committed at the end."""
    with _unit(WRITE):
        yield


@contextmanager
def reading() -> Iterator[None]:
    with _unit(READ):
        yield


@contextmanager
def _unit(kind: str) -> Iterator[None]:
    if db.session().in_transaction():
        # What an earlier step left open (a read, autobegun) ends here, not inside the unit.
        db.session.commit()
    begin(kind)
    try:
        yield
    except BaseException:
        rollback()
        raise
    commit()


def _refuse_in_read_transaction(session) -> None:
    if session.info.get(_KIND) == READ:
        raise ReadOnlyTransaction("this view is declared read-only; declare it @writes")


@event.listens_for(Session, "before_flush")
def _refuse_writes_in_read_transactions(session, flush_context, instances):
    if session.new or session.dirty or session.deleted:
        _refuse_in_read_transaction(session)


def execute_write(statement, params: dict | list[dict]):
    """Run a Core write (an insert built once) in the current transaction, past the ORM's unit
    of work: the session's pending changes are flushed first (so it comes after them), and a
    read transaction refuses it as it refuses a flush. (A caller whose parameters name a new
    row's id flushes before it builds them.) A list of parameters writes a row for each."""
    session = db.session()
    _refuse_in_read_transaction(session)
    session.flush()
    return session.execute(statement, params)


@event.listens_for(Session, "after_transaction_end")
def _forget_kind(session, transaction):
    if transaction.parent is None:
        session.info.pop(_KIND, None)


def init_app(app: Flask) -> None:
    """Begin each request's transaction before its view and commit it after."""

    @app.before_request
    def begin_request_transaction():
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is None or request.endpoint == "static":
            return
        kind = kind_of(view, request.method)
        if kind == NONE:
            return
        g.transaction_kind = kind
        begin(kind, lazily=True)

    @app.after_request
    def commit_request_transaction(response):
        if g.pop("transaction_kind", None) is None:
            return response
        if g.pop("transaction_failed", False):
            rollback()
        else:
            commit()
        return response

    @app.teardown_request
    def end_session(exc):
        # Whatever is still open (an exception before after_request) is rolled back here;
        # a lazy BEGIN IMMEDIATE that no statement took is withdrawn.
        db.session.remove()
        begin_immediate_lazily(False)


def fail() -> None:
    """Roll back now; the request's commit hook then commits nothing (used by error handlers)."""
    rollback()
    if "transaction_kind" in g:
        g.transaction_failed = True
