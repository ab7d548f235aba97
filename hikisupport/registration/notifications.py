"""Mails about a registration, queued in the outbox in the caller's transaction."""

from __future__ import annotations

from flask import render_template

from hikisupport.core.extensions import db
from hikisupport.core.urls import base_host, external_url
from hikisupport.mail.outbox import MailPart, queue
from hikisupport.models import ContactReason, OutboxMessage, Registration
from hikisupport.registration import contacts
from hikisupport.registration.tickets import calendar_ics, ticket_png

QR_CONTENT_ID = "ticket-qr@hikisupport"


def personal_url(registration: Registration) -> str:
    return external_url("registration.personal_page", token=registration.token)


def _queue(kind: str, subject: str, registration: Registration, with_ticket=False, **extra):
    if not registration.email:
        # Entered by staff without an address: told by phone or post — the mails that matter
        # call `contacts.needs_telling` too, which puts them on the event's 連絡が必要な方 list.
        return
    context = {
        **extra,
        "registration": registration,
        "event": registration.event,
        "personal_url": personal_url(registration),
        "qr_cid": QR_CONTENT_ID,
        "has_qr": with_ticket,
    }
    queue(
        kind=kind,
        recipient=registration.email,
        subject=subject,
        body_text=render_template(f"registration/mail/{kind}.txt", **context),
        body_html=render_template(f"registration/mail/{kind}.html", **context),
        about=registration,
        build_attachments=TICKET if with_ticket else "",
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
            filename="event.ics",
            content_type="text/calendar; charset=UTF-8; method=PUBLISH",
            data=calendar_ics(registration, personal_url(registration), base_host()),
        ),
    ]


def confirmed(registration: Registration) -> None:
    _queue(
        "confirmed",
        f"【参加決定】{registration.event.title}",
        registration,
        with_ticket=True,
    )


def waitlisted(registration: Registration) -> None:
    _queue("waitlisted", f"【キャンセル待ち受付】{registration.event.title}", registration)


def promoted(registration: Registration) -> None:
    contacts.needs_telling(registration, ContactReason.PROMOTED)
    _queue(
        "promoted",
        f"【参加決定（キャンセル待ちから繰り上げ）】{registration.event.title}",
        registration,
        with_ticket=True,
    )


def cancelled(registration: Registration) -> None:
    _queue("cancelled", f"【キャンセル完了】{registration.event.title}", registration)


def applied(registration: Registration) -> None:
    _queue("applied", f"【抽選申込受付】{registration.event.title}", registration)


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


def link_resent(registration: Registration) -> None:
    _queue("link", f"【申込内容の確認用リンク】{registration.event.title}", registration)
