"""Resident pages: the two-step sign-up, the personal page (/r/<token>), calendar, changes,
cancellation.

Step 1 (`/events/<id>/register`) takes only an address and answers every address alike with
the same page; the mail holds the link to step 2 (`/events/<id>/apply/<token>`), whose address
comes from the signed link. Nothing on these pages depends on whether an address signed up.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from hikisupport.core.database import utcnow
from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.limits import per_client
from hikisupport.core.pagecache import cached_page, row_state
from hikisupport.core.urls import base_host
from hikisupport.models import Event, LotteryDraw, Registration
from hikisupport.municipality.services import current_municipality
from hikisupport.registration import admission, links, services
from hikisupport.registration.availability import Availability, availability, event_availability
from hikisupport.registration.forms import DetailsForm, EmailForm, RegistrationForm
from hikisupport.registration.tickets import calendar_filename, calendar_ics, ticket_svg_data_uri

bp = Blueprint("registration", __name__)


def _registration_or_404(token: str) -> Registration:
    return services.registration_by_token(token) or abort(404)


# ---------------------------------------------------------------------------------------------
# Step 1: the address


def _event_standing(event_id: int) -> tuple[Event, Availability]:
    """The public event and where it stands, from one query."""
    event, confirmed, drawn = services.public_event_standing(event_id)
    return event, availability(event, confirmed, drawn=drawn)


def _page_key(template: str, event: Event, standing: Availability) -> tuple:
    """All a blank form page shows: the event and its sessions as they are now, the admission
    state, the municipality (see core/pagecache.py)."""
    return (
        template,
        row_state(event),
        tuple(row_state(session) for session in event.sessions),
        standing.state,
        row_state(current_municipality()),
    )


def _email_page(event_id: int, form=None):
    """Step 1's page; the blank one from the page cache, one with errors rendered afresh."""
    event, standing = _event_standing(event_id)

    def render(_values):
        return render_template(
            "registration/email.html",
            event=event,
            form=form if form is not None else EmailForm(),
            availability=standing,
        )

    if form is not None:
        return render({})
    return cached_page(_page_key("registration/email.html", event, standing), render, {})


@bp.get("/events/<id:event_id>/register")
def register_form(event_id: int):
    """Step 1: the address alone (also how a lost personal link is mailed again)."""
    return _email_page(event_id)


@bp.post("/events/<id:event_id>/register")
@per_client("RATELIMIT_PUBLIC_FORMS")
def register(event_id: int):
    """Queue the mail with the link to the form; the same 303 for every valid address."""
    form = EmailForm()
    # The address is checked before the first statement: on SQLite not under the write lock.
    if not form.validate():
        return _email_page(event_id, form), 422
    services.request_apply_link(services.public_event(event_id), form.email.data)
    return redirect(url_for(".link_sent", event_id=event_id), code=303)


@bp.get("/events/<id:event_id>/register/sent")
def link_sent(event_id: int):
    """「メールをお送りしました」: the same page whatever the address was."""
    return render_template("registration/link_sent.html", event=services.public_event(event_id))


# ---------------------------------------------------------------------------------------------
# Step 2: the form, from the mailed link


def _address_from(event: Event, token: str) -> str:
    """The address the link was made for; a page saying why not, if it cannot be used."""
    try:
        return links.read_token(token, event.id, event.registration_opens_at, utcnow())
    except links.LinkRefused as refused:
        status = 410 if refused.expired else 404
        page = render_template(
            "registration/link_refused.html", event=event, expired=refused.expired
        )
        abort(make_response(page, status))


def _apply_page(
    event: Event,
    token: str,
    email: str,
    form,
    refusal=None,
    another=False,
    registrations=None,
    standing: Availability | None = None,
):
    if registrations is None:
        registrations = admission.live_registrations_of(email, event.id)
    return render_template(
        "registration/form.html",
        event=event,
        token=token,
        email=email,
        form=form,
        registrations=registrations,
        show_form=another or not registrations or bool(form.errors) or refusal is not None,
        availability=standing or event_availability(event),
        refusal=refusal,
    )


@bp.get("/events/<id:event_id>/apply/<apply_token:apply_token>")
def apply_form(event_id: int, apply_token: str):
    """The application form for the address in the link (and who on it already applied).

    The blank form (nobody on the address signed up yet) comes from the page cache, with the
    address, the link's token and the CSRF token put in."""
    event, standing = _event_standing(event_id)
    email = _address_from(event, apply_token)
    registrations = admission.live_registrations_of(email, event.id)
    if registrations:
        another = request.args.get("another") == "1"
        return _apply_page(
            event,
            apply_token,
            email,
            RegistrationForm(),
            another=another,
            registrations=registrations,
            standing=standing,
        )

    def render(values):
        return render_template(
            "registration/form.html",
            event=event,
            token=values["token"],
            email=values["email"],
            form=RegistrationForm(),
            registrations=[],
            show_form=True,
            availability=standing,
            refusal=None,
        )

    key = _page_key("registration/form.html", event, standing)
    return cached_page(key, render, {"token": apply_token, "email": email})


@bp.post("/events/<id:event_id>/apply/<apply_token:apply_token>")
@per_client("RATELIMIT_PUBLIC_FORMS")
def apply(event_id: int, apply_token: str):
    """Sign up: 303 to the personal page (the existing one for the same name), or the form
    again with its errors (422)."""
    token = apply_token
    form = RegistrationForm()
    # The form is checked before the first statement: on SQLite not under the write lock,
    # which the sign-up takes with its first read (see core.transaction).
    valid = form.validate()
    # A valid form is signed up: the event is read holding the lock register() decides under.
    event = services.public_event(event_id, lock=valid)
    email = _address_from(event, token)
    if not valid:
        return _apply_page(event, token, email, form), 422

    def refused(refusal):
        return _apply_page(services.public_event(event_id), token, email, form, refusal)

    answer_refusals_with(form, refused)
    # register() locks the event and counts the seats again under that lock.
    result = services.register(event, form.applicant(email))
    if result.created:
        flash(
            "お申し込みを受け付けました。確認のメールをお送りします。"
            "このページのURLは、申し込み内容の確認・変更・キャンセルに使いますので、"
            "ブックマークなどで保存してください。",
            "success",
        )
    else:
        flash("このお名前でのお申し込みがすでにあります。内容は次のとおりです。", "info")
    return redirect(url_for(".personal_page", token=result.registration.token), code=303)


# ---------------------------------------------------------------------------------------------
# The personal page


def _lottery_won(registration: Registration) -> bool:
    """Confirmed by the draw itself (当選), not promoted later from its waitlist."""
    if not registration.event.is_lottery or registration.status != services.CONFIRMED:
        return False
    draw = db.session.scalar(db.select(LotteryDraw).filter_by(event_id=registration.event_id))
    return draw is not None and registration.id in list(draw.order)[: draw.winners]


@bp.get("/r/<token:token>")
def personal_page(token: str):
    """Status, waitlist position, sessions, QR ticket, the details given, calendar, cancel."""
    registration = _registration_or_404(token)
    confirmed = registration.status == services.CONFIRMED
    return render_template(
        "registration/personal.html",
        registration=registration,
        event=registration.event,
        qr_data_uri=ticket_svg_data_uri(registration.ticket) if confirmed else None,
        can_cancel=services.can_cancel(registration),
        can_update=services.can_update(registration),
        updatable_until=services.updatable_until(registration),
        lottery_won=_lottery_won(registration),
    )


@bp.get("/r/<token:token>/calendar.ics")
def calendar(token: str):
    """Every session of the event as an iCalendar file (Asia/Tokyo); for a seat only."""
    registration = _registration_or_404(token)
    if registration.status != services.CONFIRMED:
        abort(404)  # a waitlisted place is not an appointment
    filename = calendar_filename(registration.event)
    return (
        calendar_ics(registration, base_host()),
        200,
        {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": (
                f"attachment; filename=\"event.ics\"; filename*=UTF-8''{quote(filename)}"
            ),
        },
    )


def _details_page(registration: Registration, form):
    return render_template(
        "registration/edit.html",
        registration=registration,
        event=registration.event,
        form=form,
        updatable_until=services.updatable_until(registration),
    )


@bp.get("/r/<token:token>/edit")
def edit_details(token: str):
    """Change the phone number and accommodation requests (until the day before)."""
    registration = _registration_or_404(token)
    if not services.can_update(registration):
        return redirect(url_for(".personal_page", token=token), code=303)
    form = DetailsForm(
        data={
            "phone": registration.phone,
            "accommodations": registration.accommodations,
            "childcare_ages": registration.childcare_ages,
            "needs": registration.needs,
        }
    )
    return _details_page(registration, form)


@bp.post("/r/<token:token>/edit")
def update_details(token: str):
    registration = _registration_or_404(token)
    form = DetailsForm()
    if not form.validate():
        return _details_page(registration, form), 422

    def refused(error):
        flash(error.message, "error")
        return redirect(url_for(".personal_page", token=token), code=303)

    answer_refusals_with(None, refused)
    services.update_details(registration, **form.details())
    flash("申し込み内容を変更しました。", "success")
    return redirect(url_for(".personal_page", token=token), code=303)


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
