"""Who is calling, and what they may open: one decision per view, declared on the view.

A *caller* is whoever a request acts for: a member of staff (signed in, or by API token) or a
check-in device (by its token). Areas register how to recognise their callers
(`register_caller_loader`, from ``create_app``); every check reads `current_caller()` and never
the session or a role string of its own.

Every view under /staff, /api, /reports and /checkin carries an `Access` (set by `requires` or
`public`); the role-matrix test walks the URL map and fails for a route without one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import sqlalchemy as sa
from flask import abort, g, redirect, request, url_for

from hikisupport.core.extensions import db
from hikisupport.core.routing import is_api_request
from hikisupport.models import Event, StaffRole

ADMIN, ORGANIZER, POLICY = StaffRole.ADMIN.value, StaffRole.ORGANIZER.value, StaffRole.POLICY.value
# A check-in device is a caller of its own kind, with the one permission of checking people in.
DEVICE = "device"
ALL_STAFF = (ADMIN, ORGANIZER, POLICY)
MANAGERS = (ADMIN, ORGANIZER)


@dataclass(frozen=True)
class Caller:
    """Who a request acts for. `role` is a staff role or DEVICE."""

    kind: str  # "staff" | "device"
    role: str
    id: int
    # For audit rows and pages: an e-mail address, or a device's name.
    label: str
    organization_id: int | None = None
    # A device's events: the only ones it may act on. None: not limited by event.
    event_ids: frozenset[int] | None = None
    staff: object | None = None
    device: object | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_device(self) -> bool:
        return self.kind == DEVICE


CallerLoader = Callable[[], "Caller | None"]
_LOADERS: list[CallerLoader] = []


def register_caller_loader(loader: CallerLoader) -> None:
    """Add a way to recognise a caller (tried in registration order, first answer wins)."""
    if loader not in _LOADERS:
        _LOADERS.append(loader)


def current_caller() -> Caller | None:
    """The caller of this request, or None for an anonymous one (looked up once per request)."""
    if "caller" not in g:
        g.caller = next((c for c in (load() for load in _LOADERS) if c is not None), None)
    return g.caller


def forget_caller() -> None:
    """After signing in or out: the next `current_caller()` looks again."""
    g.pop("caller", None)


@dataclass(frozen=True)
class Access:
    roles: tuple[str, ...] = ()
    # The page shows names, contact details or free text: never for the policy role.
    personal_data: bool = False
    # "organization": an organizer may reach only their own organization's objects.
    scope: str | None = None
    public: bool = False


def unauthenticated():
    if is_api_request():
        return (
            {"error": "unauthorized", "message": "ログインまたはAPIトークンが必要です。"},
            401,
            {"WWW-Authenticate": 'Bearer realm="hikisupport"'},
        )
    return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))


def requires(*roles: str, personal_data: bool = False, scope: str | None = None):
    """Only a caller with one of `roles` (default: any staff) may call the view."""
    roles = roles or ALL_STAFF
    if personal_data and POLICY in roles:
        raise ValueError("the policy role never sees personal data")

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            caller = current_caller()
            if caller is None:
                return unauthenticated()
            if caller.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded.access = Access(roles=tuple(roles), personal_data=personal_data, scope=scope)
        return guarded

    return decorate


def public(view):
    """Open to everyone (the login page, the API description)."""
    view.access = Access(public=True)
    return view


def can_manage(organization_id: int | None, event_id: int | None = None) -> bool:
    """The one rule of scope: admins manage everything, organizers their own organization's
    events and people, a device the events it was made for; the policy role nothing."""
    caller = current_caller()
    if caller is None:
        return False
    if caller.role == ADMIN:
        return True
    if caller.role == ORGANIZER:
        return caller.organization_id is not None and caller.organization_id == organization_id
    if caller.role == DEVICE:
        return event_id is not None and event_id in (caller.event_ids or ())
    return False


def can_read_aggregates(organization_id: int | None, event_id: int | None = None) -> bool:
    """Counts without names: whoever manages the event, and also admins and the policy role."""
    caller = current_caller()
    return caller is not None and (caller.role == POLICY or can_manage(organization_id, event_id))


def scoped_events(query: sa.Select) -> sa.Select:
    """Limit a query of events to those the caller may see (an organizer: their own)."""
    caller = current_caller()
    if caller is None:
        return query.where(sa.false())
    if caller.role == ORGANIZER:
        return query.where(Event.organization_id == caller.organization_id)
    if caller.role == DEVICE:
        return query.where(Event.id.in_(caller.event_ids or ()))
    return query


def event_for_staff(event_id: int, *, to_manage: bool = True) -> Event:
    """The event for a staff view, or 404 — also for another organization's event, which is
    not ours to confirm. `to_manage=False`: reading its counts is enough (admin, policy)."""
    event = db.session.get(Event, event_id)
    allowed = can_manage if to_manage else can_read_aggregates
    if event is None or not allowed(event.organization_id, event.id):
        abort(404)
    return event


def managed(model, object_id: int):
    """A session or registration of an event the caller manages, or 404."""
    obj = db.session.get(model, object_id)
    if obj is None or not can_manage(obj.event.organization_id, obj.event_id):
        abort(404)
    return obj
