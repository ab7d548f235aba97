"""Staff pages for events: list, create, edit, publish, cancel, and the lottery draw."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from hikisupport.core.database import utcnow
from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.forms import BaseForm, CleanTextAreaField
from hikisupport.core.routing import parse_id
from hikisupport.core.transaction import writes
from hikisupport.events import services as manage
from hikisupport.events.forms import EventForm
from hikisupport.models import Event, LotteryDraw, Organization
from hikisupport.registration import contacts, lottery, services
from hikisupport.registration.admission import confirmed_counts
from hikisupport.registration.availability import event_availability
from hikisupport.rosters.services import totals
from hikisupport.staff.access import (
    ALL_STAFF,
    MANAGERS,
    can_manage,
    event_for_staff,
    requires,
    scoped_events,
)

bp = Blueprint("staff_events", __name__, url_prefix="/staff/events")


@bp.get("/")
@requires(*ALL_STAFF)
def index():
    """Events by date — those still to come (soonest first), then those over (latest first) —
    with their counts; organizers see their own organization's."""
    events = manage.events_by_date(
        scoped_events(
            sa.select(Event).options(selectinload(Event.sessions), selectinload(Event.organization))
        )
    )
    counts = confirmed_counts([e.id for e in events.upcoming + events.past])
    return render_template("events/staff/index.html", events=events, counts=counts)


def _edit_page(form, event_id: int | None, status=200):
    organizations = db.session.scalars(sa.select(Organization).order_by(Organization.id)).all()
    event = db.session.get(Event, event_id) if event_id else None
    return render_template(
        "events/staff/edit.html", form=form, event=event, organizations=organizations
    ), status


def _with_another_session(form: EventForm, event_id: int | None):
    """The form again with one more 回 (no JavaScript: the button's URL ends in #session-N,
    so the browser comes back to the new row, not to the top of the page)."""
    if not form.add_session():
        flash(f"回数は{manage.MAX_SESSIONS}回までです。", "error")
    return _edit_page(form, event_id)


@bp.route("/new", methods=["GET", "POST"])
@requires(*MANAGERS)
def new():
    """Create an event with its sessions (a new one starts as a draft)."""
    form = EventForm()
    if request.method == "GET":
        return _edit_page(form, None)
    if "add_session" in request.form:
        return _with_another_session(form, None)
    if not form.validate():
        return _edit_page(form, None, 422)
    organization = manage.organization_for_new_event(
        current_user, parse_id(request.form.get("organization_id"))
    )
    if organization is None:
        abort(400)
    answer_refusals_with(form, lambda refusal: _edit_page(form, None)[0])
    event = manage.create_event(form.to_input(), organization)
    flash("催しを作成しました。", "success")
    return redirect(url_for(".show", event_id=event.id), code=303)


@bp.route("/<id:event_id>/edit", methods=["GET", "POST"])
@requires(*MANAGERS, scope="organization")
def edit(event_id: int):
    """Change an event and its sessions."""
    event = event_for_staff(event_id)
    if request.method == "GET":
        return _edit_page(EventForm(obj=event, residency=event.eligible_residencies), event_id)
    form = EventForm()
    if "add_session" in request.form:
        return _with_another_session(form, event_id)
    if not form.validate():
        return _edit_page(form, event_id, 422)
    answer_refusals_with(form, lambda refusal: _edit_page(form, event_id)[0])
    manage.update_event(event, form.to_input())
    flash("変更を保存しました。", "success")
    return redirect(url_for(".show", event_id=event_id), code=303)


@bp.get("/<id:event_id>")
@requires(*ALL_STAFF, scope="organization")
@writes  # the audit row when it lists people to call
def show(event_id: int):
    """One event for staff: details, counts, sessions, people to call, what can be done next."""
    event = event_for_staff(event_id, to_manage=False)
    draw = db.session.scalar(sa.select(LotteryDraw).filter_by(event_id=event.id))
    manager = can_manage(event.organization_id, event.id)
    return render_template(
        "events/staff/show.html",
        event=event,
        totals=totals(event),
        availability=event_availability(event),
        draw=draw,
        draw_verified=lottery.verify(draw) if draw else None,
        draw_refusal=lottery.draw_refusal(event) if event.is_lottery and not draw else None,
        can_manage=manager,
        to_tell=contacts.open_for(event) if manager else [],
        now=utcnow(),
    )


def _back_to_event(event_id: int):
    def answer(error):
        flash(error.message, "error")
        return redirect(url_for(".show", event_id=event_id), code=303)

    return answer


@bp.post("/<id:event_id>/publish")
@requires(*MANAGERS, scope="organization")
def publish(event_id: int):
    """Make a draft visible to residents."""
    manage.publish(event_for_staff(event_id))
    flash("公開しました。", "success")
    return redirect(url_for(".show", event_id=event_id), code=303)


class CancelEventForm(BaseForm):
    reason = CleanTextAreaField("中止の理由（申込者へのメールに載ります）", max_length=500)


@bp.route("/<id:event_id>/cancel", methods=["GET", "POST"])
@requires(*MANAGERS, scope="organization")
def cancel(event_id: int):
    """中止: confirm, then every registrant is mailed."""
    event = event_for_staff(event_id)
    form = CancelEventForm()
    if event.is_cancelled:
        flash("この催しはすでに中止になっています。", "error")
        return redirect(url_for(".show", event_id=event_id), code=303)
    if request.method == "POST" and form.validate():
        answer_refusals_with(None, _back_to_event(event_id))
        told = services.cancel_event(event, form.reason.data)
        flash(f"中止にしました。申込者{told}名にお知らせのメールを送ります。", "success")
        return redirect(url_for(".show", event_id=event_id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("events/staff/cancel.html", event=event, form=form), status


class DrawForm(BaseForm):
    # The number of applicants the confirmation page showed: a draw never runs on other numbers.
    applicants = IntegerField(validators=[InputRequired(), NumberRange(0, 10**6)])


@bp.route("/<id:event_id>/draw", methods=["GET", "POST"])
@requires(*MANAGERS, scope="organization")
def draw(event_id: int):
    """抽選: confirm (applicants and seats), then draw once; everyone is told the result."""
    event = event_for_staff(event_id)
    form = DrawForm()
    if request.method == "GET":
        applicants = lottery.applicant_count(event)
        return render_template(
            "events/staff/draw.html",
            event=event,
            form=form,
            applicants=applicants,
            without_email=lottery.applicants_without_email(event),
            refusal=lottery.draw_refusal(event),
        )
    if not form.validate():
        abort(400)

    def refused(error):
        flash(error.message, "error")
        return redirect(url_for(".draw", event_id=event_id), code=303)

    answer_refusals_with(None, refused)
    result = lottery.draw(event, expected_applicants=form.applicants.data)
    flash(
        f"抽選しました：申込{result.applicants}名のうち{result.winners}名が当選です。"
        "結果のメールを送ります。",
        "success",
    )
    return redirect(url_for(".show", event_id=event_id), code=303)
