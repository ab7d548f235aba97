"""Mails about a registration, queued in the outbox in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from flask import render_template
from sqlalchemy.orm import joinedload, selectinload

from hikisupport.core.database import transaction_info, utcnow
from hikisupport.core.extensions import db
from hikisupport.core.urls import base_host, external_url
from hikisupport.mail.outbox import MailPart, queue
from hikisupport.models import ContactReason, Event, OutboxMessage, Registration
from hikisupport.registration import contacts, links
from hikisupport.registration.admission import live_registrations_of
from hikisupport.registration.availability import Availability, event_availability
from hikisupport.registration.tickets import calendar_filename, calendar_ics, ticket_png

QR_CONTENT_ID = "ticket-qr@hikisupport"


def personal_url(registration: Registration) -> str:
    return external_url("registration.personal_page", token=registration.token)


def apply_url(event_id: int, token: str) -> str:
    return external_url("registration.apply", event_id=event_id, apply_token=token)


def _context(kind: str, registration: Registration, **extra) -> dict:
    return {
        **extra,
        "registration": registration,
        "event": registration.event,
        "personal_url": personal_url(registration),
        "qr_cid": QR_CONTENT_ID,
        "has_qr": kind in WITH_TICKET,
    }


# Mails whose QR ticket and calendar file are attached.
WITH_TICKET = frozenset({"confirmed", "promoted", "lottery_won", "reminder"})
# The name under which `registration_body` is registered with the outbox (in create_app).
BODY = "registration.body"


def _queue(
    kind: str,
    subject: str,
    registration: Registration,
    with_ticket=False,
    by_resident=False,
    **extra,
):
    if not registration.email:
        return  # entered by staff without an address: they are told by phone or post
    if extra:  # what the mail says beyond the registration: written now
        context = _context(kind, registration, **extra)
        text = render_template(f"registration/mail/{kind}.txt", **context)
        html = render_template(f"registration/mail/{kind}.html", **context)
    else:  # written when sent, outside the sign-up's transaction (see `registration_body`)
        text = html = ""
    queue(
        kind=kind,
        recipient=registration.email,
        subject=subject,
        body_text=text,
        body_html=html,
        about=registration,
        build_attachments=TICKET if with_ticket else "",
        by_resident=by_resident,
        build_body="" if extra else BODY,
    )


def registration_body(message: OutboxMessage) -> tuple[str, str]:
    """A registration mail's text and HTML, written when it is sent (or shown)."""
    if message.about_type == "events":
        return _apply_body(message)
    registration = db.session.get(Registration, message.about_id)
    if registration is None:
        raise ValueError("the registration of this mail is gone")
    context = _context(message.kind, registration)
    return (
        render_template(f"registration/mail/{message.kind}.txt", **context),
        render_template(f"registration/mail/{message.kind}.html", **context),
    )


# The name under which `ticket_parts` is registered with the outbox (in create_app).
TICKET = "registration.ticket"


def ticket_parts(message: OutboxMessage) -> list[MailPart]:
    """The QR ticket (inline PNG) and the calendar file, drawn when the mail is sent."""
    registration = (
        db.session.get(Registration, message.about_id)
        if message.about_type == Registration.__tablename__ and message.about_id
        else None
    )
    if registration is None:
        return []
    return [
        MailPart(
            filename="ticket.png",
            content_type="image/png",
            data=ticket_png(registration.ticket),
            disposition="inline",
            content_id=QR_CONTENT_ID,
        ),
        MailPart(
            filename=calendar_filename(registration.event),
            content_type="text/calendar; charset=UTF-8",
            data=calendar_ics(registration, base_host()),
        ),
    ]


def confirmed(registration: Registration, by_resident: bool = False) -> None:
    _queue(
        "confirmed",
        f"【参加決定】{registration.event.title}",
        registration,
        with_ticket=True,
        by_resident=by_resident,
    )


def waitlisted(registration: Registration, by_resident: bool = False) -> None:
    _queue(
        "waitlisted",
        f"【キャンセル待ち受付】{registration.event.title}",
        registration,
        by_resident=by_resident,
    )


def promoted(registration: Registration) -> None:
    contacts.needs_telling(registration, ContactReason.PROMOTED)
    _queue(
        "promoted",
        f"【参加決定（キャンセル待ちから繰り上げ）】{registration.event.title}",
        registration,
        with_ticket=True,
    )


def cancelled(registration: Registration, by_resident: bool = False) -> None:
    _queue(
        "cancelled",
        f"【キャンセル完了】{registration.event.title}",
        registration,
        by_resident=by_resident,
    )


def applied(registration: Registration, by_resident: bool = False) -> None:
    _queue(
        "applied",
        f"【抽選申込受付】{registration.event.title}",
        registration,
        by_resident=by_resident,
    )


def lottery_won(registration: Registration) -> None:
    contacts.needs_telling(registration, ContactReason.LOTTERY_WON)
    _queue(
        "lottery_won",
        f"【抽選結果：当選・参加決定】{registration.event.title}",
        registration,
        with_ticket=True,
    )


def lottery_waitlisted(registration: Registration) -> None:
    contacts.needs_telling(registration, ContactReason.LOTTERY_WAITLISTED)
    _queue(
        "lottery_waitlisted",
        f"【抽選結果：キャンセル待ち】{registration.event.title}",
        registration,
    )


def event_cancelled(registration: Registration, reason: str) -> None:
    contacts.needs_telling(registration, ContactReason.EVENT_CANCELLED, why=reason)
    _queue(
        "event_cancelled",
        f"【中止のお知らせ】{registration.event.title}",
        registration,
        reason=reason,
    )


def reminder(registration: Registration, session) -> None:
    _queue(
        "reminder",
        f"【明日開催】{registration.event.title}",
        registration,
        with_ticket=True,
        session=session,
    )


def updated(registration: Registration) -> None:
    _queue(
        "updated",
        f"【申込内容の変更】{registration.event.title}",
        registration,
        by_resident=True,
    )


APPLY = "apply"


def apply_link(event: Event, email: str, now: datetime) -> int | None:
    """Step 1's mail: the link to the form for this address and event, with the address's
    existing registrations and their personal links (how a lost link is found again).

    Only the row is written here; the text (and the signed link in it) is written when the mail
    is sent, with the registrations as they are then."""

    accepting = event_availability(event, now).accepts_sign_ups or now < event.registration_opens_at
    subject = "【申し込みフォームのご案内】" if accepting else "【お申し込み内容の確認】"
    return queue(
        kind=APPLY,
        recipient=email,
        subject=subject + event.title,
        body_text="",
        about=event,
        by_resident=True,
        build_body=BODY,
    )


def _apply_event(event_id: int) -> tuple[Event, Availability]:
    """The event of step 1's mails and whether it takes sign-ups, read once per transaction:
    the mail worker writes a batch of such mails in one, mostly for the same event during a
    rush (the state is the batch's, a moment old at most)."""
    cache = transaction_info(db.session).setdefault("apply_mail_events", {})
    if event_id not in cache:
        event = db.session.get(
            Event,
            event_id,
            options=[selectinload(Event.sessions), joinedload(Event.organization)],
        )
        if event is None:
            raise ValueError("the event of this mail is gone")
        cache[event_id] = event, event_availability(event, utcnow())
    return cache[event_id]


def _apply_body(message: OutboxMessage) -> tuple[str, str]:
    event, availability = _apply_event(message.about_id)
    email, now = message.recipient, utcnow()
    token = links.make_token(event.id, email)
    context = {
        "event": event,
        "registrations": live_registrations_of(email, event.id),
        "personal_url": personal_url,
        "availability": availability,
        "apply_url": apply_url(event.id, token),
        "valid_until": links.valid_until(now, event.registration_opens_at),
        "opens_later": now < event.registration_opens_at,
    }
    return (
        render_template("registration/mail/apply.txt", **context),
        render_template("registration/mail/apply.html", **context),
    )
