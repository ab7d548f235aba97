"""Flask-Login set-up: staff sessions for pages, bearer tokens for the API, and the staff caller."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, flash, g, redirect, request, url_for
from flask_login import current_user

from hikisupport.core.extensions import db, login_manager
from hikisupport.core.routing import API_PREFIX, is_api_request, parse_id
from hikisupport.models import StaffUser
from hikisupport.staff.access import Caller, register_caller_loader
from hikisupport.staff.services import staff_for_token


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=8))
    register_caller_loader(staff_caller)
    app.before_request(require_new_password)


# What a member of staff signed in with a temporary password may still open.
WHILE_CHANGING_PASSWORD = {"staff.password", "staff.login", "staff.logout", "static"}
STAFF_PREFIXES = ("/staff", "/api/", "/reports", "/checkin")


def require_new_password():
    """After an admin reset the password, nothing but choosing a new one (and signing out)."""
    if request.endpoint is None or request.endpoint in WHILE_CHANGING_PASSWORD:
        return None
    if not request.path.startswith(STAFF_PREFIXES):
        return None
    if not current_user.is_authenticated or g.get("auth_via_token"):
        return None
    if not current_user.must_change_password:
        return None
    message = "仮のパスワードでログインしています。新しいパスワードを決めてください。"
    if is_api_request():
        return {"error": "password_change_required", "message": message}, 403
    flash(message, "warning")
    return redirect(url_for("staff.password"), code=303)


def staff_caller() -> Caller | None:
    """The signed-in member of staff (session cookie or API token) as a caller."""
    if not current_user.is_authenticated:
        return None
    staff = current_user._get_current_object()
    return Caller(
        kind="staff",
        role=str(staff.role),
        id=staff.id,
        label=staff.email,
        organization_id=staff.organization_id,
        staff=staff,
    )


@login_manager.user_loader
def load_staff(session_id: str) -> StaffUser | None:
    """`<id>.<session_version>` from the cookie: a logged-out cookie no longer matches."""
    staff_id, _, version = session_id.partition(".")
    staff_id = parse_id(staff_id) if len(session_id) <= 40 else None
    if staff_id is None or not (version.isascii() and version.isdigit()):
        return None
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or not staff.active or staff.session_version != int(version):
        return None
    return staff


@login_manager.request_loader
def load_staff_from_token(req) -> StaffUser | None:
    """`Authorization: Bearer <token>` on API routes only (never on pages)."""
    if not req.path.startswith(API_PREFIX):
        return None
    token = bearer_token(req)
    if token is None:
        return None
    staff = staff_for_token(token)
    if staff is not None:
        g.auth_via_token = True
    return staff


def bearer_token(req) -> str | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return token.strip()


def authenticated_by_token() -> bool:
    return bool(g.get("auth_via_token"))
