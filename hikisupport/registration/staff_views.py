"""Staff pages about people: rosters per event and session, exports, phone sign-ups,
cancelling or promoting on someone's behalf. Every view of personal data is audited."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from hikisupport.database import utcnow
from hikisupport.extensions import db
from hikisupport.models import Event, Registration, Session
from hikisupport.registration import exports, services
from hikisupport.registration.roster import event_roster, session_roster, totals
from hikisupport.registration.staff_forms import StaffCancelForm, StaffRegistrationForm
from hikisupport.staff import audit
from hikisupport.staff.access import MANAGERS, event_for_staff, managed, requires

bp = Blueprint("staff_registrations", __name__, url_prefix="/staff")


def _query() -> str:
    return request.args.get("q", "")[:100]


@bp.get("/events/<id:event_id>/registrations")
@requires(*MANAGERS, personal_data=True, scope="organization", records_view=True)
def event_roster_page(event_id: int):
    """申込者一覧: status, waitlist, accommodations (totals first), attendance; search."""
    event = event_for_staff(event_id)
    query = _query()
    rows = event_roster(event, query)
    audit.record("roster.view", event, query=query, rows=len(rows))
    db.session.commit()
    return render_template(
        "staff/registrations/event_roster.html",
        event=event,
        rows=rows,
        totals=totals(event),
        query=query,
    )


@bp.get("/events/<id:event_id>/registrations.csv")
@requires(*MANAGERS, personal_data=True, scope="organization", records_view=True)
def export_csv(event_id: int):
    """The roster as CSV (UTF-8 with BOM: opens in Japanese Excel)."""
    event = event_for_staff(event_id)
    rows = event_roster(event)
    audit.record("roster.export", event, format="csv", rows=len(rows))
    db.session.commit()
    return _download(exports.to_csv(rows), "text/csv; charset=utf-8", event, "csv")


@bp.get("/events/<id:event_id>/registrations.xlsx")
@requires(*MANAGERS, personal_data=True, scope="organization", records_view=True)
def export_xlsx(event_id: int):
    """The roster as an Excel workbook."""
    event = event_for_staff(event_id)
    rows = event_roster(event)
    audit.record("roster.export", event, format="xlsx", rows=len(rows))
    db.session.commit()
    return _download(
        exports.to_xlsx(rows, event.title),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        event,
        "xlsx",
    )


def _download(body: bytes, content_type: str, event: Event, extension: str):
    from urllib.parse import quote

    name = f"申込者一覧_{event.id}_{utcnow():%Y%m%d}.{extension}"
    return (
        body,
        200,
        {
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="registrations_{event.id}.{extension}"; '
            f"filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


@bp.get("/sessions/<id:session_id>/roster")
@requires(*MANAGERS, personal_data=True, scope="organization", records_view=True)
def session_roster_page(session_id: int):
    """受付名簿 for one session: who is expected, who has checked in."""
    session = managed(Session, session_id)
    query = _query()
    rows = session_roster(session, query)
    audit.record("roster.view", session, query=query, rows=len(rows))
    db.session.commit()
    return render_template(
        "staff/registrations/session_roster.html",
        session=session,
        event=session.event,
        rows=rows,
        query=query,
    )


@bp.get("/sessions/<id:session_id>/print")
@requires(*MANAGERS, personal_data=True, scope="organization", records_view=True)
def print_roster(session_id: int):
    """A4 受付名簿 to print: the paper fallback at the venue."""
    session = managed(Session, session_id)
    rows = session_roster(session)
    audit.record("roster.print", session, rows=len(rows))
    db.session.commit()
    return render_template(
        "staff/registrations/print.html",
        session=session,
        event=session.event,
        rows=rows,
        printed_at=utcnow(),
    )


@bp.route("/events/<id:event_id>/registrations/new", methods=["GET", "POST"])
@requires(*MANAGERS, personal_data=True, scope="organization")
def add(event_id: int):
    """Enter someone who applied by phone, 往復はがき or at the counter."""
    event = event_for_staff(event_id)
    form = StaffRegistrationForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate():
            try:
                result = services.register(
                    event, form.applicant(), source=form.source.data, by_staff=True
                )
            except services.SignUpRefused as refused:
                db.session.rollback()
                event = event_for_staff(event_id)
                target = getattr(form, refused.field or "", None)
                if target is not None:
                    target.errors.append(refused.message)
                else:
                    flash(refused.message, "error")
            else:
                registration = result.registration
                db.session.commit()
                flash(
                    f"{registration.full_name} さんを登録しました"
                    f"（{registration.status_enum.label}、受付番号 {registration.ticket}）。",
                    "success",
                )
                return redirect(url_for(".event_roster_page", event_id=event_id), code=303)
    return render_template("staff/registrations/add.html", event=event, form=form), status


@bp.post("/registrations/<id:registration_id>/cancel")
@requires(*MANAGERS, personal_data=True, scope="organization")
def cancel(registration_id: int):
    """Cancel on someone's behalf; the first in line is promoted and mailed as usual."""
    registration = managed(Registration, registration_id)
    form = StaffCancelForm()
    if not form.validate():
        abort(400)
    promoted = services.cancel(registration, reason=form.reason.data or "主催者による取消")
    db.session.commit()
    message = f"{registration.full_name} さんの申込を取り消しました。"
    if promoted:
        message += f"{promoted.full_name} さんが繰り上がりました。"
    flash(message, "success")
    return redirect(url_for(".event_roster_page", event_id=registration.event_id), code=303)


@bp.post("/registrations/<id:registration_id>/promote")
@requires(*MANAGERS, personal_data=True, scope="organization")
def promote(registration_id: int):
    """Take someone off the waitlist out of turn, adding a seat for them."""
    registration = managed(Registration, registration_id)
    try:
        services.promote_with_extra_seat(registration)
    except services.SignUpRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(
            f"{registration.full_name} さんを繰り上げました（定員を1名増やしました）。", "success"
        )
    return redirect(url_for(".event_roster_page", event_id=registration.event_id), code=303)
