"""/api/v1: the same rules as the staff pages, as JSON."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from hikisupport.api import schemas
from hikisupport.api.spec import PREFIX, endpoint, openapi_document
from hikisupport.core.errors import Invalid
from hikisupport.core.extensions import csrf
from hikisupport.core.transaction import no_transaction, writes
from hikisupport.events import services as manage
from hikisupport.rosters.services import Purpose, event_roster, totals
from hikisupport.staff.access import (
    ALL_STAFF,
    MANAGERS,
    current_caller,
    event_for_staff,
    public,
    requires,
)
from hikisupport.staff.auth import authenticated_by_token

bp = Blueprint("api", __name__, url_prefix=PREFIX)
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


@bp.post("/events")
@requires(*MANAGERS)
@endpoint(ok={201: schemas.Event}, errors=(400, 401, 403, 422))
def create_event(json: schemas.EventCreate):
    """Create an event with its sessions (organizer, admin) → 201, the event as GET shows it."""
    organization = manage.organization_for_new_event(current_user, json.organization_id)
    if organization is None:
        raise Invalid(
            "主催団体が見つかりません。",
            fields={"organization_id": "存在する団体のidを指定してください。"},
        )
    event = manage.create_event(json.to_input(), organization)
    answer = schemas.Event.of(event, totals(event))
    return answer, 201, {"Location": f"{PREFIX}/events/{event.id}"}


@bp.get("/events/<id:event_id>")
@requires(*ALL_STAFF, scope="organization")
@endpoint(ok={200: schemas.Event}, errors=(401, 403, 404))
def get_event(event_id: int):
    """One event with its sessions and counts (any staff role; no personal data)."""
    event = event_for_staff(event_id, to_manage=False)
    return schemas.Event.of(event, totals(event))


@bp.get("/events/<id:event_id>/registrations")
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
@endpoint(ok={200: schemas.RegistrationList}, errors=(401, 403, 404))
def event_registrations(event_id: int):
    """Everyone registered for the event (organizer of its organization, admin)."""
    event = event_for_staff(event_id)
    rows = event_roster(event, Purpose.VIEW, via="api")
    return schemas.RegistrationList(
        registrations=[schemas.Registration.of(r.registration) for r in rows]
    )


@bp.get("/openapi.json")
@public
@no_transaction
@endpoint(ok={200: (None, "this document (OpenAPI 3.1)")}, public=True)
def openapi():
    """This document"""
    return openapi_document()
