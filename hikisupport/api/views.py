"""/api/v1: the same rules as the staff pages, as JSON."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from hikisupport.api import schemas
from hikisupport.api.openapi import openapi_document
from hikisupport.events import manage
from hikisupport.extensions import csrf, db
from hikisupport.models import Event, Session
from hikisupport.registration.roster import event_roster, session_roster, totals
from hikisupport.staff import audit
from hikisupport.staff.access import (
    ALL_STAFF,
    MANAGERS,
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
    if current_user.is_authenticated and not authenticated_by_token():
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError as error:
            raise CSRFError(str(error)) from error


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int, **extra):
        super().__init__(message)
        self.body = {"error": code, "message": message, **extra}
        self.status = status


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    db.session.rollback()
    return exc.body, exc.status


def error(code: str, message: str, status: int, **extra):
    return {"error": code, "message": message, **extra}, status


def _json_body():
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(
            "invalid_json", "JSONとして読めません（Content-Type: application/json）。", 400
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
    try:
        data = schemas.parse_event(body)
    except schemas.JsonInvalid as invalid:
        return error("invalid", "入力内容に誤りがあります。", 422, fields=invalid.errors)
    chosen = body.get("organization_id")
    organization = manage.organization_for_new_event(
        current_user, chosen if isinstance(chosen, int) and not isinstance(chosen, bool) else None
    )
    if organization is None:
        return error(
            "invalid",
            "主催団体が見つかりません。",
            422,
            fields={"organization_id": "存在する団体のidを指定してください。"},
        )
    try:
        event = manage.create_event(data, organization)
    except manage.EventInvalid as invalid:
        db.session.rollback()
        return error("invalid", "入力内容に誤りがあります。", 422, fields=invalid.errors)
    db.session.commit()
    return _event_json(event), 201, {"Location": f"/api/v1/events/{event.id}"}


@bp.get("/events/<id:event_id>")
@requires(*ALL_STAFF, scope="organization")
def get_event(event_id: int):
    """One event with its sessions and counts (no personal data)."""
    return _event_json(event_for_staff(event_id, to_manage=False))


@bp.get("/events/<id:event_id>/registrations")
@requires(*MANAGERS, personal_data=True, scope="organization", records_view=True)
def event_registrations(event_id: int):
    """Everyone registered for the event (organizer of its organization, admin)."""
    event = event_for_staff(event_id)
    rows = event_roster(event)
    audit.record("roster.view", event, via="api", rows=len(rows))
    db.session.commit()
    return {"registrations": [schemas.registration_json(r.registration) for r in rows]}


@bp.get("/sessions/<id:session_id>/roster")
@requires(*MANAGERS, personal_data=True, scope="organization", records_view=True)
def roster(session_id: int):
    """The confirmed registrations of a session with their check-in time."""
    session = managed(Session, session_id)
    rows = session_roster(session)
    audit.record("roster.view", session, via="api", rows=len(rows))
    db.session.commit()
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
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return openapi_document()
