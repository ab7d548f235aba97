"""Limits on what one request or one client may send: body size, and rate per client.

- Bodies: MAX_CONTENT_LENGTH (1 MB) for every route; the resident pages take at most
  RESIDENT_MAX_CONTENT_LENGTH (64 kB) and no multipart body (they upload nothing). A body over
  the limit is refused with 413 from its Content-Length, before it is read.
- Rates: Flask-Limiter, keyed by the client's address (behind the ward's proxy, the address
  ProxyFix takes from X-Forwarded-For). A view opts in with `@per_client(limit_name)`; the
  limit is read from the configuration. RATELIMIT_ENABLED=0 turns these off (a load test from
  one address); RATELIMIT_STORAGE_URI (memory:// by default, per process) may point to Redis
  when several hosts serve. The per-address caps on mail are not here: they are counted in the
  database (mail.outbox), where every worker and host agrees.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request
from flask_limiter import Limiter
from werkzeug.exceptions import UnsupportedMediaType

# Blueprints whose pages residents use: small bodies, no multipart.
RESIDENT_BLUEPRINTS = frozenset({"events", "registration"})
_LIMITED = "hikisupport_rate_limit"


def per_client(config_key: str, methods: tuple[str, ...] = ("POST",)) -> Callable:
    """Mark a view as limited per client by the limit string in `config_key`, for `methods`
    (the forms' POSTs; a lookup page such as /v/<code> limits its GETs)."""

    def mark(view):
        setattr(view, _LIMITED, (config_key, methods))
        return view

    return mark


def client_address() -> str:
    return request.remote_addr or "unknown"


def init_body_limits(app: Flask) -> None:
    """Before CSRF protection reads the form: the resident pages' smaller body limit."""

    @app.before_request
    def bound_resident_bodies():
        if request.blueprint not in RESIDENT_BLUEPRINTS:
            return
        request.max_content_length = app.config["RESIDENT_MAX_CONTENT_LENGTH"]
        if request.mimetype == "multipart/form-data":
            raise UnsupportedMediaType()


def init_rate_limits(app: Flask) -> None:
    """A limiter for this app, applied to the views marked with `per_client` (after the areas
    registered their views)."""
    limiter = Limiter(
        client_address,
        app=app,
        storage_uri=app.config.get("RATELIMIT_STORAGE_URI") or "memory://",
        headers_enabled=True,
        enabled=bool(app.config.get("RATELIMIT_ENABLED", True)),
    )
    app.extensions["hikisupport_limiter"] = limiter
    for endpoint, view in list(app.view_functions.items()):
        marked = getattr(view, _LIMITED, None)
        if marked:
            config_key, methods = marked
            app.view_functions[endpoint] = limiter.limit(
                lambda key=config_key: app.config[key], methods=list(methods)
            )(view)
