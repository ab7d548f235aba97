"""Staff pages that read rosters: per event and per session, the exports, the print sheet.
Each read is audited by the roster function itself (rosters.services)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, render_template, request

from hikisupport.core.database import utcnow
from hikisupport.core.forms import query_text
from hikisupport.core.transaction import writes
from hikisupport.models import Event, Session
from hikisupport.rosters import exports
from hikisupport.rosters.services import Purpose, event_roster, session_roster, totals
from hikisupport.staff.access import MANAGERS, event_for_staff, managed, requires

bp = Blueprint("rosters", __name__, url_prefix="/staff")


def _query() -> str:
    """The roster search: sent by POST (so a name never lands in an access log, a proxy's log
    or the browser's history); a GET with ?q= still works (its log line is redacted)."""
    source = request.form if request.method == "POST" else request.args
    return query_text(source, "q", 100)


@bp.route("/events/<id:event_id>/registrations", methods=["GET", "POST"])
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
def event_roster_page(event_id: int):
    """申込者一覧: status, waitlist, accommodations (totals first), attendance; search."""
    event = event_for_staff(event_id)
    query = _query()
    return render_template(
        "rosters/event_roster.html",
        event=event,
        rows=event_roster(event, Purpose.VIEW, query),
        totals=totals(event),
        query=query,
    )


@bp.get("/events/<id:event_id>/registrations.csv")
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
def export_csv(event_id: int):
    """The roster as CSV (UTF-8 with BOM: opens in Japanese Excel)."""
    event = event_for_staff(event_id)
    rows = event_roster(event, Purpose.EXPORT, format="csv")
    return _download(exports.to_csv(rows), "text/csv; charset=utf-8", event, "csv")


@bp.get("/events/<id:event_id>/registrations.xlsx")
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
def export_xlsx(event_id: int):
    """The roster as an Excel workbook."""
    event = event_for_staff(event_id)
    rows = event_roster(event, Purpose.EXPORT, format="xlsx")
    return _download(
        exports.to_xlsx(rows, event.title),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        event,
        "xlsx",
    )


def _download(body: bytes, content_type: str, event: Event, extension: str):
    name, fallback = exports.file_names(event, extension, utcnow())
    return (
        body,
        200,
        {
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{fallback}"; '
            f"filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


@bp.route("/sessions/<id:session_id>/roster", methods=["GET", "POST"])
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
def session_roster_page(session_id: int):
    """受付名簿 for one session: who is expected, who has checked in."""
    session = managed(Session, session_id)
    query = _query()
    return render_template(
        "rosters/session_roster.html",
        session=session,
        event=session.event,
        rows=session_roster(session, Purpose.VIEW, query),
        query=query,
    )


@bp.get("/sessions/<id:session_id>/print")
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
def print_roster(session_id: int):
    """A4 受付名簿 to print: the paper fallback at the venue."""
    session = managed(Session, session_id)
    return render_template(
        "rosters/print.html",
        session=session,
        event=session.event,
        rows=session_roster(session, Purpose.PRINT),
        printed_at=utcnow(),
    )
