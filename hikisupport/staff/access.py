"""Who may open which staff page or API route: one decision per view, declared on the view.

Every view under /staff, /api and /reports carries an `Access` (set by `requires` or `public`);
the role-matrix test walks the URL map and fails for a route without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from hikisupport.database import begin_write
from hikisupport.extensions import db
from hikisupport.models import Event, Registration, Session

ALL_STAFF = ("admin", "organizer", "policy")
MANAGERS = ("admin", "organizer")


@dataclass(frozen=True)
class Access:
    roles: tuple[str, ...] = ()
    # The page shows names, contact details or free text: never for the policy role.
    personal_data: bool = False
    # "organization": an organizer may reach only their own organization's objects.
    scope: str | None = None
    public: bool = False


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def unauthenticated():
    if is_api_request():
        return {"error": "unauthorized", "message": "ログインまたはAPIトークンが必要です。"}, 401
    return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))


def requires(
    *roles: str, personal_data: bool = False, scope: str | None = None, records_view: bool = False
):
    """Only signed-in staff with one of `roles` may call the view.

    `records_view`: the view writes an audit row even on GET, so its transaction starts as a
    write transaction (on SQLite a read-then-write transaction could fail under load).
    """
    roles = roles or ALL_STAFF
    if personal_data and "policy" in roles:
        raise ValueError("the policy role never sees personal data")

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return unauthenticated()
            if current_user.role not in roles:
                abort(403)
            if records_view:
                # Only now, for someone allowed in: the read that found the user ends, and the
                # view's transaction begins as a write one.
                db.session.commit()
                begin_write(db.session)
            return view(*args, **kwargs)

        guarded.access = Access(roles=tuple(roles), personal_data=personal_data, scope=scope)
        return guarded

    return decorate


def public(view):
    """Open to everyone (the login page, the API description)."""
    view.access = Access(public=True)
    return view


def can_manage(organization_id: int | None) -> bool:
    """Admins manage everything; organizers their own organization's events and people."""
    if current_user.role == "admin":
        return True
    return current_user.role == "organizer" and current_user.organization_id == organization_id


def event_for_staff(event_id: int, *, to_manage: bool = True) -> Event:
    """The event for a staff view, or 404 — also for another organization's event, which is
    not ours to confirm. `to_manage=False`: admins and the policy role may read any event's
    aggregate page; organizers still only their own."""
    event = db.session.get(Event, event_id)
    if event is None or (
        (to_manage or current_user.role == "organizer") and not can_manage(event.organization_id)
    ):
        abort(404)
    return event


def managed(model: type[Session] | type[Registration], object_id: int):
    """A session or registration of an event the signed-in staff member manages, or 404."""
    obj = db.session.get(model, object_id)
    if obj is None or not can_manage(obj.event.organization_id):
        abort(404)
    return obj
