"""The HTML of a blank form page, kept per process and completed per request.

A page is rendered once per *key* with markers in place of what differs between requests (the
CSRF token, the address shown, the token in the form's URL); each later request with the same
key gets that HTML with its own values put in, HTML-escaped as the template would have done.

The key is the cache's only invalidation, so it must hold everything the page shows: callers
use `row_state` of every row the template reads (an edited event has another key) and the
admission state computed for this request (full, waitlist …). Old keys are simply no longer
asked for; the cache is cleared when it grows past MAX_PAGES. A request with flashed messages
to show is rendered as usual (the messages are the session's, not the page's).

`PAGE_CACHE = False` renders every page afresh (the cached page is the same text; tests check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from markupsafe import escape
from sqlalchemy import inspect

MAX_PAGES = 256
_PAGES = "hikisupport_page_cache"
CSRF = "csrf"


def marker(name: str) -> str:
    """What stands for `name` in a stored page: letters only, so neither HTML escaping nor URL
    quoting changes it, and long enough for the URL converters (20+ characters)."""
    return f"zzpagecachemarker{name}zz"


def row_state(row) -> tuple:
    """Every column value of a model row, as a hashable tuple (None for no row)."""
    if row is None:
        return ()
    return tuple(repr(getattr(row, a.key)) for a in inspect(row).mapper.column_attrs)


def cached_page(
    key: tuple, render: Callable[[Mapping[str, str]], str], values: Mapping[str, str]
) -> str:
    """The page for `key` with `values` (and a fresh CSRF token) put in.

    `render(values)` renders the page with the given per-request values; it is called with the
    markers when the page is not stored yet, or with the values themselves when the cache is off
    or the request has flashed messages."""
    if not current_app.config.get("PAGE_CACHE", True) or "_flashes" in session:
        return render(values)
    pages = current_app.extensions.setdefault(_PAGES, {})
    key = (request.script_root, *key)
    page = pages.get(key)
    if page is None:
        page = render({name: marker(name) for name in values})
        # The token Flask-WTF made for this request while rendering, if the page has a form.
        token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        if token:
            page = page.replace(token, marker(CSRF))
        if len(pages) >= MAX_PAGES:
            pages.clear()
        pages[key] = page
    for name, value in values.items():
        page = page.replace(marker(name), str(escape(value)))
    # Always made, as constructing the page's form does (a session cookie holds its secret).
    return page.replace(marker(CSRF), generate_csrf())


def clear(app) -> None:
    """Forget every stored page of `app` (the keys make this unnecessary for correctness)."""
    app.extensions.pop(_PAGES, None)
