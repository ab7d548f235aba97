"""Resident pages: sign-up form, personal page (/r/<token>), calendar file, cancellation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy.orm import joinedload

from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.urls import base_host
from hikisupport.models import Event, Registration
from hikisupport.registration import services
from hikisupport.registration.availability import event_availability
from hikisupport.registration.forms import RegistrationForm
from hikisupport.registration.notifications import personal_url
from hikisupport.registration.tickets import calendar_ics, ticket_svg_data_uri

bp = Blueprint("registration", __name__)


def _registration_or_404(token: str) -> Registration:
    registration = db.session.scalar(
        db.select(Registration)
        .filter_by(token=token)
        .options(joinedload(Registration.event).selectinload(Event.sessions))
    )
    return registration or abort(404)


def _form_page(event_id: int, form, refusal=None):
    event = services.public_event(event_id)
    return render_template(
        "registration/form.html",
        event=event,
        form=form,
        availability=event_availability(event),
        refusal=refusal,
    )


@bp.get("/events/<id:event_id>/register")
def register_form(event_id: int):
    """The sign-up form (or why sign-up is not possible now)."""
    return _form_page(event_id, RegistrationForm())


@bp.post("/events/<id:event_id>/register")
def register(event_id: int):
    """Sign up: 303 to the personal page, or the form again with errors (422)."""
    form = RegistrationForm()
    if not form.validate():
        return _form_page(event_id, form), 422
    answer_refusals_with(form, lambda refusal: _form_page(event_id, form, refusal))
    # register() locks the event and counts the seats again under that lock.
    result = services.register(services.public_event(event_id), form.applicant())
    if not result.created:
        return redirect(url_for(".link_sent", event_id=event_id), code=303)
    return redirect(url_for(".personal_page", token=result.registration.token), code=303)


@bp.get("/events/<id:event_id>/register/sent")
def link_sent(event_id: int):
    """Neutral answer to a repeated sign-up: the link went to the address, not to this page."""
    return render_template("registration/link_sent.html", event=services.public_event(event_id))


@bp.get("/r/<token:token>")
def personal_page(token: str):
    """Status, waitlist position, sessions, QR ticket, calendar file and cancel button."""
    registration = _registration_or_404(token)
    return render_template(
        "registration/personal.html",
        registration=registration,
        event=registration.event,
        qr_data_uri=ticket_svg_data_uri(registration.ticket)
        if registration.status == services.CONFIRMED
        else None,
        can_cancel=services.can_cancel(registration),
    )


@bp.get("/r/<token:token>/calendar.ics")
def calendar(token: str):
    """Every session of the event as an iCalendar file (Asia/Tokyo)."""
    registration = _registration_or_404(token)
    body = calendar_ics(registration, personal_url(registration), base_host())
    return (
        body,
        200,
        {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'attachment; filename="event.ics"',
        },
    )


@bp.get("/r/<token:token>/cancel")
def cancel_confirm(token: str):
    """The confirmation step before cancelling."""
    registration = _registration_or_404(token)
    if not services.can_cancel(registration):
        return redirect(url_for(".personal_page", token=token), code=303)
    return render_template(
        "registration/cancel.html", registration=registration, event=registration.event
    )


@bp.post("/r/<token:token>/cancel")
def cancel(token: str):
    """Cancel; a freed seat goes to the first on the waitlist automatically."""
    registration = _registration_or_404(token)
    if not registration.is_active:
        flash("この申し込みはすでにキャンセルされています。", "error")
        return redirect(url_for(".personal_page", token=token), code=303)

    def refused(error):
        flash(error.message, "error")
        return redirect(url_for(".personal_page", token=token), code=303)

    answer_refusals_with(None, refused)
    services.cancel(registration)
    flash("キャンセルしました。確認のメールをお送りします。", "success")
    return redirect(url_for(".personal_page", token=token), code=303)
