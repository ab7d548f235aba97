"""Flask-Login set-up: staff sessions for pages, bearer tokens for the API, and the staff caller."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g
from flask_login import current_user

from hikisupport.core.extensions import db, login_manager
from hikisupport.core.routing import API_PREFIX
from hikisupport.models import StaffUser
from hikisupport.staff.access import Caller, register_caller_loader
from hikisupport.staff.services import staff_for_token


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=8))
    register_caller_loader(staff_caller)


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
    if not (staff_id.isdigit() and version.isdigit()) or len(session_id) > 40:
        return None
    staff = db.session.get(StaffUser, int(staff_id))
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
