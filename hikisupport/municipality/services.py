"""The municipality's settings (one row), read where pages and mails need them.

Every public page shows them (the header, the footer), so each process holds them for
MUNICIPALITY_CACHE_SECONDS (a few seconds; 0 in testing: read every request) instead of
asking the database on every request. What is held is a copy, detached from any database
session, to be read only. Saving the settings (`forget_municipality`) drops this process's
copy at once; other processes see the change within those seconds.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from sqlalchemy import inspect

from hikisupport.core.extensions import db
from hikisupport.models import Municipality

_HELD = "hikisupport_municipality"


def _read() -> Municipality | None:
    return db.session.scalar(sa.select(Municipality).order_by(Municipality.id).limit(1))


def _copy(municipality: Municipality | None) -> Municipality | None:
    """A detached copy of the row's columns (lists copied too), safe to share between
    requests."""
    if municipality is None:
        return None
    values = {}
    for attribute in inspect(Municipality).column_attrs:
        value = getattr(municipality, attribute.key)
        values[attribute.key] = list(value) if isinstance(value, list) else value
    return Municipality(**values)


def current_municipality() -> Municipality | None:
    """The configured municipality, once per request/app context; None before set-up."""
    if not has_app_context():
        return _read()
    if "municipality" in g:
        return g.municipality
    seconds = float(current_app.config.get("MUNICIPALITY_CACHE_SECONDS") or 0)
    if seconds > 0:
        now = time.monotonic()
        held = current_app.extensions.get(_HELD)
        if held is None or held[0] <= now:
            held = current_app.extensions[_HELD] = (now + seconds, _copy(_read()))
        municipality = held[1]
    else:
        municipality = _read()
    g.municipality = municipality
    return municipality


def forget_municipality() -> None:
    """The settings were changed: this process reads them again (this request included)."""
    if has_app_context():
        current_app.extensions.pop(_HELD, None)
        g.pop("municipality", None)
