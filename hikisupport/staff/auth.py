"""Flask-Login set-up: staff sessions for pages, bearer tokens for the API."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, request

from hikisupport.extensions import db, login_manager
from hikisupport.models import StaffUser
from hikisupport.staff.services import staff_for_token


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=8))


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
    if not req.path.startswith("/api/"):
        return None
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    staff = staff_for_token(token.strip())
    if staff is not None:
        g.auth_via_token = True
    return staff


def authenticated_by_token() -> bool:
    return bool(g.get("auth_via_token")) and request.path.startswith("/api/")
