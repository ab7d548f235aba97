"""The check-in part of /api/v1: what a paired tablet calls (and staff may call too).

A blueprint nested in the API's (endpoints ``api.checkin.*``), so it shares the API's JSON
errors and its CSRF rule for staff sessions; each view is declared with `api.spec.endpoint`
and the models of `checkin.schemas` (validation and the OpenAPI document from one
declaration). The rules are `checkin.services`'.
"""

from __future__ import annotations

from flask import Blueprint

from hikisupport.api import schemas as api_schemas
from hikisupport.api.spec import endpoint
from hikisupport.checkin import schemas, services
from hikisupport.core.extensions import csrf
from hikisupport.core.transaction import writes
from hikisupport.models import Session
from hikisupport.rosters.services import Purpose, session_roster
from hikisupport.staff.access import DEVICE, MANAGERS, current_caller, managed, requires

bp = Blueprint("checkin", __name__)
csrf.exempt(bp)  # the parent blueprint checks staff sessions' X-CSRFToken header

CHECKERS = (DEVICE, *MANAGERS)
REFUSALS = (400, 401, 403, 404, 409, 422)


@bp.get("/devices/me")
@requires(DEVICE)
@writes  # last contact
@endpoint(ok={200: schemas.DeviceInfo}, errors=(401, 403))
def me():
    """The calling device, its events and today's sessions with their counts (a device)."""
    caller = current_caller()
    device = caller.device
    services.touch(device)
    return schemas.DeviceInfo(
        device=schemas.DeviceRef(id=device.id, name=device.name),
        events=[schemas.EventRef(id=e.id, title=e.title) for e in device.events],
        sessions=[
            schemas.TodaySession(
                **schemas.RosterSession.of(s).model_dump(),
                counts=schemas.Counts.of(services.session_counts(s)),
            )
            for s in services.todays_sessions(caller.event_ids or ())
        ],
        undo_seconds=int(services.undo_window().total_seconds()),
    )


@bp.post("/checkins")
@requires(*CHECKERS)
@endpoint(ok={201: schemas.Checkin, 200: schemas.Checkin}, errors=REFUSALS)
def check_in(json: schemas.CheckinCreate):
    """Check a ticket in at a session → 201 the first time (or the same UUID again), 200
    already_checked_in with the first time and device; 404 unknown ticket; 409 a ticket of
    another event, a cancelled or unconfirmed registration, a UUID used for someone else."""
    session = services.session_for_caller(json.session_id)
    services.touch(services.calling_device())
    result = services.check_in(session, json.to_input())
    return schemas.Checkin.of(result), result.http_status


@bp.post("/checkins/batch")
@requires(*CHECKERS)
@endpoint(ok={200: schemas.Batch}, errors=(400, 401, 403, 422))
def check_in_batch(json: schemas.CheckinBatchCreate):
    """Several check-ins (an offline queue), each answered on its own with its HTTP status."""
    services.touch(services.calling_device())
    answers = services.check_in_many([(c.session_id, c.to_input()) for c in json.checkins])
    return schemas.Batch(results=[schemas.BatchResult.of(a) for a in answers])


@bp.delete("/checkins/<uuid:checkin_id>")
@requires(*CHECKERS, scope="organization")
@endpoint(ok={200: schemas.Undone}, errors=(401, 403, 404, 409))
def undo(checkin_id):
    """Undo a check-in within the undo window (recorded: when, and by whom or which device)."""
    services.touch(services.calling_device())
    attendance = services.undo_by_uuid(str(checkin_id))
    return schemas.Undone(
        status="undone", id=attendance.client_uuid, undone_at=attendance.undone_at
    )


@bp.post("/walk-ins")
@requires(*CHECKERS)
@endpoint(ok={201: schemas.Checkin}, errors=REFUSALS)
def walk_in(json: schemas.WalkInCreate):
    """当日参加: a registration and its check-in in one step, if a seat is free (409 if not)."""
    person = json.to_input()
    session = services.session_for_caller(json.session_id)
    services.touch(services.calling_device())
    result = services.walk_in(session, person)
    return schemas.Checkin.of(result), result.http_status


@bp.get("/sessions/<id:session_id>/roster")
@requires(*MANAGERS, DEVICE, personal_data=True, scope="organization")
@writes  # the audit row
@endpoint(ok={200: api_schemas.Roster}, errors=(401, 403, 404))
def roster(session_id: int):
    """A session's confirmed registrations with their check-in times (organizer, admin, a
    device of the event: names, フリガナ, tickets, status and check-in times are all it holds)."""
    session = managed(Session, session_id)
    if current_caller().is_device:
        rows = services.device_roster(session)
    else:
        rows = session_roster(session, Purpose.VIEW, via="api")
    return api_schemas.Roster(
        session=api_schemas.RosterSession.of(session),
        registrations=[api_schemas.RosterRow.of(row) for row in rows],
    )
