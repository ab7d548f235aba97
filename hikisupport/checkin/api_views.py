"""The check-in part of /api/v1: what a paired tablet calls (and staff may call too).

A blueprint nested in the API's (endpoints ``api.checkin.*``), so it shares the API's JSON
errors and its CSRF rule for staff sessions. Requests are validated with the pydantic models
of `checkin.schemas`; the rules are `checkin.services`'.
"""

from __future__ import annotations

from flask import Blueprint, request

from hikisupport.checkin import schemas, services
from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import csrf
from hikisupport.core.transaction import writes
from hikisupport.staff.access import DEVICE, MANAGERS, current_caller, requires

bp = Blueprint("checkin", __name__)
csrf.exempt(bp)  # the parent blueprint checks staff sessions' X-CSRFToken header

CHECKERS = (DEVICE, *MANAGERS)


def _body():
    data = request.get_json(silent=True)
    if data is None:
        raise DomainError(
            "JSONとして読めません（Content-Type: application/json）。",
            code="invalid_json",
            status=400,
        )
    return data


@bp.get("/devices/me")
@requires(DEVICE)
@writes  # last contact
def me():
    """The calling device, its events and today's sessions with their counts."""
    caller = current_caller()
    device = caller.device
    services.touch(device)
    sessions = services.todays_sessions(caller.event_ids or ())
    return {
        "device": schemas.device_json(device),
        "events": [{"id": e.id, "title": e.title} for e in device.events],
        "sessions": [
            {
                **schemas.session_brief(s),
                "counts": schemas.counts_json(services.session_counts(s)),
            }
            for s in sessions
        ],
        "undo_seconds": int(services.undo_window().total_seconds()),
    }


@bp.post("/checkins")
@requires(*CHECKERS)
def check_in():
    """One check-in → 201 the first time; 200 already_checked_in after; 404 / 409."""
    data = schemas.parse(schemas.CheckinRequest, _body())
    session = services.session_for_caller(data.session_id)
    services.touch(services.calling_device())
    result = services.check_in(session, data.to_input())
    return schemas.checkin_json(result), result.http_status


@bp.post("/checkins/batch")
@requires(*CHECKERS)
def check_in_batch():
    """Several check-ins (an offline queue), each answered on its own, in order."""
    data = schemas.parse(schemas.BatchRequest, _body())
    services.touch(services.calling_device())
    answers = services.check_in_many([(c.session_id, c.to_input()) for c in data.checkins])
    return {"results": [schemas.batch_item_json(a) for a in answers]}


@bp.delete("/checkins/<uuid:checkin_id>")
@requires(*CHECKERS, scope="organization")
def undo(checkin_id):
    """Undo a check-in within the undo window (recorded: when, and by whom or which device)."""
    services.touch(services.calling_device())
    attendance = services.undo_by_uuid(str(checkin_id))
    return {
        "status": "undone",
        "id": attendance.client_uuid,
        "undone_at": schemas.iso(attendance.undone_at),
    }


@bp.post("/walk-ins")
@requires(*CHECKERS)
def walk_in():
    """当日参加: a registration and its check-in in one step, if a seat is free."""
    data = schemas.parse(schemas.WalkInRequest, _body())
    person = data.to_input()
    session = services.session_for_caller(data.session_id)
    services.touch(services.calling_device())
    result = services.walk_in(session, person)
    return schemas.checkin_json(result), result.http_status
