"""What a resident carries: the QR ticket and the calendar file."""

from __future__ import annotations

import functools
import io
import re
import secrets

import segno
from icalendar import Calendar, Timezone
from icalendar import Event as CalendarEvent

from hikisupport.core.database import utcnow
from hikisupport.core.japanese import JST
from hikisupport.models import Registration

# No 0/O, 1/I/L, U: a code staff can read out and type on a tablet without confusion.
TICKET_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
TICKET_LENGTH = 10  # about 49 bits: unguessable enough for a door list, short enough to type


def new_ticket_code() -> str:
    return "".join(secrets.choice(TICKET_ALPHABET) for _ in range(TICKET_LENGTH))


def new_personal_token() -> str:
    """The secret in /r/<token>: 256 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(32)


def ticket_qr(code: str) -> segno.QRCode:
    # make_qr, never make(): a short code would otherwise become a Micro QR, which tablet
    # scanners cannot read.
    return segno.make_qr(code, error="m")


@functools.lru_cache(maxsize=4096)
def ticket_svg_data_uri(code: str) -> str:
    return ticket_qr(code).svg_data_uri(scale=6, border=4, dark="#000", light="#fff")


def ticket_png(code: str) -> bytes:
    buffer = io.BytesIO()
    ticket_qr(code).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def calendar_filename(event) -> str:
    """The .ics file's name: the event's title (the characters a file name allows)."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", event.title).strip()[:60].strip()
    return f"{name or 'event'}.ics"


def session_location(event, session) -> str:
    return f"{session.venue}（{event.venue_address}）" if event.venue_address else session.venue


def calendar_ics(registration: Registration, host: str) -> bytes:
    """An iCalendar file (RFC 5545) with one VEVENT per session, in Asia/Tokyo.

    A plain calendar, not an iTIP invitation (no METHOD): nothing to accept or decline. The
    personal link is *not* in it — a shared calendar would hand the cancel link to everyone
    who can see it — only the ticket code and where to ask."""
    event = registration.event
    calendar = Calendar()
    calendar.add("prodid", "-//hikisupport//ひきこもりサポーター//JA")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", event.title)
    calendar.add_component(_tokyo_vtimezone())  # before the events that refer to it
    stamp = utcnow()
    ask = "、".join(
        part
        for part in (
            event.organization.name if event.organization else "",
            event.contact_phone and f"電話 {event.contact_phone}",
            event.contact_email and f"メール {event.contact_email}",
        )
        if part
    )
    for session in event.sessions:
        entry = CalendarEvent()
        entry.add("uid", f"hikisupport-{registration.id}-{session.id}@{host}")
        entry.add("dtstamp", stamp)
        entry.add("dtstart", session.starts_at.astimezone(JST))
        entry.add("dtend", session.ends_at.astimezone(JST))
        entry.add("summary", f"{event.title}（第{session.number}回）")
        entry.add("location", session_location(event, session))
        description = f"受付番号: {registration.ticket}"
        if ask:
            description += f"\nお問い合わせ: {ask}"
        entry.add("description", description)
        calendar.add_component(entry)
    return calendar.to_ical()


@functools.cache
def _tokyo_vtimezone() -> Timezone:
    # Built once: deriving a VTIMEZONE from the tz database costs ~40 ms, far more than
    # the rest of a sign-up.
    return Timezone.from_tzinfo(JST)
