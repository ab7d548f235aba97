"""/api/v1: the same rules as the staff pages, as JSON."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from hikisupport.api import schemas
from hikisupport.api.openapi import openapi_document
from hikisupport.checkin import schemas as checkin_schemas
from hikisupport.checkin import services as checkin
from hikisupport.core.errors import DomainError, Invalid
from hikisupport.core.extensions import csrf
from hikisupport.core.transaction import no_transaction, writes
from hikisupport.events import services as manage
from hikisupport.models import Event, Session
from hikisupport.rosters.services import Purpose, event_roster, session_roster, totals
from hikisupport.staff.access import (
    ALL_STAFF,
    DEVICE,
    MANAGERS,
    current_caller,
    event_for_staff,
    managed,
    public,
    requires,
)
from hikisupport.staff.auth import authenticated_by_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # checked below: a header for sessions, nothing for bearer tokens


@bp.before_request
def check_csrf_for_sessions():
    """A browser session must send the CSRF token (X-CSRFToken) to change anything; a bearer
    token cannot be sent by another site, so it needs none."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint == "api.openapi":
        return
    caller = current_caller()
    if caller is not None and caller.is_staff and not authenticated_by_token():
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError as error:
            raise CSRFError(str(error)) from error


def _json_body():
    data = request.get_json(silent=True)
    if data is None:
        raise DomainError(
            "JSONとして読めません（Content-Type: application/json）。",
            code="invalid_json",
            status=400,
        )
    return data


def _event_json(event: Event) -> dict:
    counts = totals(event)
    return schemas.event_json(event, counts.confirmed, counts.waitlisted)


@bp.post("/events")
@requires(*MANAGERS)
def create_event():
    """Create an event with its sessions → 201 with the event as GET shows it."""
    body = _json_body()
    data = schemas.parse_event(body)
    chosen = body.get("organization_id")
    organization = manage.organization_for_new_event(
        current_user, chosen if isinstance(chosen, int) and not isinstance(chosen, bool) else None
    )
    if organization is None:
        raise Invalid(
            "主催団体が見つかりません。",
            fields={"organization_id": "存在する団体のidを指定してください。"},
        )
    event = manage.create_event(data, organization)
    return _event_json(event), 201, {"Location": f"/api/v1/events/{event.id}"}


@bp.get("/events/<id:event_id>")
@requires(*ALL_STAFF, scope="organization")
def get_event(event_id: int):
    """One event with its sessions and counts (no personal data)."""
    return _event_json(event_for_staff(event_id, to_manage=False))


@bp.get("/events/<id:event_id>/registrations")
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
def event_registrations(event_id: int):
    """Everyone registered for the event (organizer of its organization, admin)."""
    event = event_for_staff(event_id)
    rows = event_roster(event, Purpose.VIEW, via="api")
    return {"registrations": [schemas.registration_json(r.registration) for r in rows]}


@bp.get("/sessions/<id:session_id>/roster")
@requires(*MANAGERS, DEVICE, personal_data=True, scope="organization")
@writes  # the audit row
def roster(session_id: int):
    """The confirmed registrations of a session with their check-in time (a device of the
    event: names, フリガナ, tickets, status and check-in time only, with the counts)."""
    session = managed(Session, session_id)
    if current_caller().is_device:
        rows, counts = checkin.device_roster(session)
        return checkin_schemas.device_roster_json(session, rows, counts)
    rows = session_roster(session, Purpose.VIEW, via="api")
    return {
        "session": {
            **schemas.session_json(session),
            "event_id": session.event_id,
            "event_title": session.event.title,
        },
        "registrations": [schemas.roster_row_json(row) for row in rows],
    }


@bp.get("/openapi.json")
@public
@no_transaction
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return openapi_document()
