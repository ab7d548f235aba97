"""The municipality's settings (one row), read where pages and mails need them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_app_context

from hikisupport.core.extensions import db
from hikisupport.models import Municipality


def current_municipality() -> Municipality | None:
    """The configured municipality, once per request/app context; None before set-up."""
    if has_app_context() and "municipality" in g:
        return g.municipality
    municipality = db.session.scalar(sa.select(Municipality).order_by(Municipality.id).limit(1))
    if has_app_context():
        g.municipality = municipality
    return municipality
