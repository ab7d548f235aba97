"""Refusals and error pages: one error type for every rule that says no, one handler for it.

A rule refuses by raising `DomainError(code, status, message, field)` (or a subclass that fixes
the code and status). The handler rolls the transaction back and answers the caller the way it
asked: JSON ``{"error", "message", "fields"}`` for the API, and for a page either the page the
view named with `answer_refusals_with` (its form, with each message beside its field) or the
plain error page. Field names are paths into the request — ``title``, ``sessions.0.venue`` —
the same whichever rule refused it; a form maps them onto its own fields.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from hikisupport.core import transaction
from hikisupport.core.routing import is_api_request

MESSAGES = {
    400: ("リクエストが正しくありません", "入力内容を確認して、もう一度お試しください。"),
    401: ("ログインが必要です", "ログインしてから、もう一度お試しください。"),
    403: ("この操作は許可されていません", "権限がないか、ログインが必要です。"),
    404: (
        "ページが見つかりません",
        "URLが正しいか確認してください。申し込み確認用のリンクは、"
        "お送りしたメールに記載されています。",
    ),
    405: ("この方法ではアクセスできません", "ページを開き直してください。"),
    409: ("処理できませんでした", "状態が変わった可能性があります。ページを開き直してください。"),
    413: ("送信された内容が大きすぎます", "入力内容を短くして、もう一度お試しください。"),
    422: ("入力内容に誤りがあります", "入力内容を確認して、もう一度お試しください。"),
    429: ("アクセスが集中しています", "しばらく待ってから、もう一度お試しください。"),
    503: (
        "ただいま混み合っています",
        "数秒待ってから、もう一度お試しください。この操作は保存されていません。",
    ),
    500: (
        "システムエラーが発生しました",
        "申し訳ありません。時間をおいて、もう一度お試しください。",
    ),
}


class DomainError(Exception):
    """A rule refused. `code`: stable, for programs; `message`: for people, in Japanese;
    `field`: the input the message belongs beside (a path such as ``sessions.0.venue``);
    `fields`: several of them at once (field → message)."""

    code = "refused"
    status = 409

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        fields: dict[str, str] | None = None,
        **extra,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = dict(fields or {})
        if field is not None:
            self.fields.setdefault(field, message)
        self.extra = extra

    @property
    def field(self) -> str | None:
        """The first field refused, if any."""
        return next(iter(self.fields), None)

    def to_json(self) -> dict:
        body = {"error": self.code, "message": self.message, **self.extra}
        if self.fields:
            body["fields"] = self.fields
        return body


class NotFound(DomainError):
    code, status = "not_found", 404


class Invalid(DomainError):
    """Input that breaks a rule about its fields (422)."""

    code, status = "invalid", 422


# A page that answers a refusal: called with the error after the rollback. Rendered HTML is
# sent with the refusal's status; a response (a redirect back, with a flashed message) as is.
RefusalPage = Callable[[DomainError], object]


def answer_refusals_with(form, page: RefusalPage) -> None:
    """In this request, answer a DomainError with `page` after putting its field messages on
    `form` (``form.attach_errors(fields)``). The page is called with the error when it has a
    message to show on its own (no field, or a field the form lacks), else with None."""
    g.refusal_page = (form, page)


def render_error(status: int, title: str | None = None, detail: str | None = None, **extra):
    default_title, default_detail = MESSAGES.get(status, MESSAGES[400])
    title, detail = title or default_title, detail or default_detail
    if is_api_request():
        # A stable code from the status's name: not_found, forbidden, method_not_allowed …
        code = HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_")
        return {"error": code, "message": f"{title}。{detail}", **extra}, status
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


# RFC 9110: a 401 carries a challenge. The API takes bearer tokens; pages take a session from
# the login form (a scheme of our own: browsers show no password dialog for it).
API_CHALLENGE = 'Bearer realm="hikisupport"'
PAGE_CHALLENGE = 'Session realm="hikisupport", login="/staff/login"'


def _allowed_methods(app: Flask) -> set[str]:
    error = request.routing_exception
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        return set(error.valid_methods)
    if request.url_rule is not None and request.url_rule.methods:
        return set(request.url_rule.methods)
    try:
        return set(app.url_map.bind_to_environ(request.environ).allowed_methods())
    except HTTPException:
        return set()


def standard_headers(app: Flask):
    """Every 405 says which methods the resource allows (`Allow`), every 401 how to
    authenticate (`WWW-Authenticate`) — pages and API alike, whoever answered (a view, an
    error handler, a refusal)."""

    def add(response):
        headers = response.headers
        if response.status_code == 405 and "Allow" not in headers:
            methods = _allowed_methods(app)
            if methods:
                headers["Allow"] = ", ".join(sorted(methods | {"OPTIONS"}))
        if response.status_code == 401 and "WWW-Authenticate" not in headers:
            headers["WWW-Authenticate"] = API_CHALLENGE if is_api_request() else PAGE_CHALLENGE
        return response

    return add


# SQLSTATEs of a lock not had: lock_not_available (lock_timeout), query_canceled
# (statement_timeout), serialization_failure, deadlock_detected.
_BUSY_SQLSTATES = {"55P03", "57014", "40001", "40P01"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "database schema is locked")


def is_lock_timeout(error: sa.exc.OperationalError) -> bool:
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    return any(text in str(original) for text in _SQLITE_BUSY)


CLASH = "同時に処理された操作と重なったため、保存しませんでした。もう一度送信してください。"


def is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    original = getattr(error, "orig", None)
    return getattr(original, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(
        original
    )


def register(app: Flask) -> None:
    app.after_request(standard_headers(app))

    @app.errorhandler(DomainError)
    def refused(error: DomainError):
        transaction.fail()
        if is_api_request():
            return error.to_json(), error.status
        form, page = g.pop("refusal_page", (None, None))
        if page is not None:
            shown = error
            if form is not None and error.fields and not form.attach_errors(error.fields):
                shown = None  # every message is beside its field
            answer = page(shown)
            return (answer, error.status) if isinstance(answer, str) else answer
        return render_error(error.status, detail=error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        transaction.fail()
        if is_api_request():
            return render_error(400, "送信を受け付けられませんでした", error.description)
        expired = "expired" in (error.description or "")
        page = render_template(
            "errors/csrf.html",
            expired=expired,
            # Where the form can be opened again with a fresh token (when its URL has a GET).
            again=request.path
            if app.create_url_adapter(request).test(request.path, "GET")
            else None,
        )
        return page, 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        transaction.fail()
        response = render_error(error.code or 500)
        return response

    @app.errorhandler(sa.exc.OperationalError)
    def database_busy(error: sa.exc.OperationalError):
        """The database's lock was not had in time (SQLite busy, PostgreSQL lock_timeout): 503
        with Retry-After, nothing saved — a message instead of a killed worker."""
        transaction.fail()
        if not is_lock_timeout(error):
            return unexpected_error(error)
        original = getattr(error, "orig", None)
        app.logger.warning(
            "database busy on %s %s (%s %s)",
            request.method,
            request.path,
            getattr(original, "sqlstate", None) or "sqlite",
            str(original).splitlines()[0] if original is not None else "",
        )
        body, status = render_error(503)
        if is_api_request():
            body["error"] = "busy"
        return body, status, {"Retry-After": str(app.config.get("BUSY_RETRY_AFTER", 5))}

    @app.errorhandler(sa.exc.IntegrityError)
    def clash(error: sa.exc.IntegrityError):
        """A unique constraint refused a row the rules had let through: two requests at once
        (or a random code that clashed — a new sign-up's ticket is not looked up first, the
        constraint decides). Nothing was saved; the person can simply send again."""
        transaction.fail()
        if not is_unique_violation(error):
            return unexpected_error(error)
        # The constraint's name only: PostgreSQL's detail would show the clashing value.
        diag = getattr(error.orig, "diag", None)
        where = getattr(diag, "constraint_name", None) or str(error.orig).split(":")[-1].strip()
        app.logger.warning("unique clash on %s %s: %s", request.method, request.path, where)
        body, status = render_error(409, detail=CLASH)
        if is_api_request():
            body["error"] = "conflict"
        return body, status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        transaction.fail()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)
