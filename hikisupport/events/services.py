"""Creating and changing events: one validation and one set of rules for the staff pages and
the JSON API alike. Functions flush, never commit."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from hikisupport.core.database import utcnow
from hikisupport.core.errors import Invalid
from hikisupport.core.extensions import db
from hikisupport.core.japanese import is_email
from hikisupport.core.routing import parse_id
from hikisupport.models import (
    ACTIVE_STATUSES,
    Admission,
    Attendance,
    Event,
    EventKind,
    EventStatus,
    Organization,
    Registration,
    Residency,
    Session,
    StaffRole,
)
from hikisupport.registration.services import count_confirmed, lock_event, promote_next
from hikisupport.staff import audit

MAX_CAPACITY = 10_000
MAX_SESSIONS = 20


@dataclass
class SessionInput:
    starts_at: datetime
    ends_at: datetime
    venue: str
    access: str = ""
    id: int | None = None


@dataclass
class EventInput:
    kind: str
    title: str
    capacity: int
    sessions: list[SessionInput]
    description: str = ""
    audience: str = ""
    fee: str = "無料"
    waitlist: bool = True
    admission: str = Admission.FIRST_COME
    certifies: bool | None = None  # None: a course certifies, a lecture does not
    required_sessions: int | None = None
    residency: list[str] = field(default_factory=Residency.values)
    registration_opens_at: datetime | None = None  # None: now
    # None: when the first session starts; for a lottery, a week before it.
    registration_closes_at: datetime | None = None
    status: str = EventStatus.PUBLISHED
    reminder_text: str = ""
    # Shown on the event's pages and in every mail about it (issue 9, item 10).
    contact_phone: str = ""
    contact_email: str = ""
    contact_hours: str = ""
    belongings: str = ""
    venue_address: str = ""
    map_url: str = ""


def invalid(errors: dict[str, str]) -> Invalid:
    """The refusal for an event's fields: every message at once, beside its field."""
    return Invalid("入力内容に誤りがあります。", fields=errors)


def validate(data: EventInput, now: datetime | None = None) -> dict[str, str]:
    """Every rule about an event's fields, in one place. Empty dict: valid."""
    errors: dict[str, str] = {}
    if data.kind not in EventKind.values():
        errors["kind"] = "種類は講演会・サポーター養成講座・フォローアップ研修から選んでください。"
    if not data.title.strip():
        errors["title"] = "名称を入力してください。"
    elif len(data.title) > 200:
        errors["title"] = "名称は200文字以内で入力してください。"
    if not 0 <= data.capacity <= MAX_CAPACITY:
        errors["capacity"] = f"定員は0から{MAX_CAPACITY}の間で入力してください。"
    if data.admission not in Admission.values():
        errors["admission"] = "申込方法は先着順または抽選から選んでください。"
    if data.status not in (EventStatus.DRAFT, EventStatus.PUBLISHED):
        errors["status"] = "公開状態は下書きまたは公開から選んでください。"
    if not data.residency or any(r not in Residency.values() for r in data.residency):
        errors["residency"] = "申込できる方（在住・在勤・在学など）を1つ以上選んでください。"
    if not data.sessions:
        errors["sessions"] = "日時と会場を1回分以上入力してください。"
    elif len(data.sessions) > MAX_SESSIONS:
        errors["sessions"] = f"回数は{MAX_SESSIONS}回までです。"
    for i, session in enumerate(data.sessions):
        if session.ends_at <= session.starts_at:
            errors[f"sessions.{i}.ends_at"] = (
                f"第{i + 1}回：終了日時は開始日時より後にしてください。"
            )
        if not session.venue.strip():
            errors[f"sessions.{i}.venue"] = f"第{i + 1}回：会場を入力してください。"
    given_ids = [s.id for s in data.sessions if s.id is not None]
    if len(given_ids) != len(set(given_ids)):
        # Two rows for one 回 would overwrite each other, and the 回 left out would be removed.
        errors["sessions"] = (
            "同じ回が2度送られました。ページを開き直して、もう一度入力してください。"
        )
    if data.required_sessions is not None and not (
        1 <= data.required_sessions <= max(len(data.sessions), 1)
    ):
        errors["required_sessions"] = "修了に必要な回数は1から全回数までの間で入力してください。"
    if data.map_url and not re.fullmatch(r"https?://[^\s<>\"']+", data.map_url):
        errors["map_url"] = "地図のURLは http:// または https:// で始まるURLを入力してください。"
    if data.contact_email and not is_email(data.contact_email):
        errors["contact_email"] = "問い合わせ先のメールアドレスの形式が正しくありません。"
    if "どなたでも" in data.audience and Residency.OTHER not in data.residency:
        # What the page promises must be what the form accepts.
        errors["audience"] = (
            "「どなたでも」とありますが、区外の方は申し込めない設定です。"
            "対象の書き方か、申込できる方を見直してください。"
        )
    opens, closes = _period(data, now or utcnow())
    first = min((s.starts_at for s in data.sessions), default=None)
    lottery = data.admission == Admission.LOTTERY
    if opens is not None and closes is not None and closes <= opens:
        if lottery and data.registration_closes_at is None:
            errors["registration_closes_at"] = (
                "抽選の申込締切を入力してください（空欄のときの初回の1週間前は、"
                "申込開始より前になります）。"
            )
        else:
            errors["registration_closes_at"] = "申込締切は申込開始より後にしてください。"
    if data.sessions and closes is not None and closes > max(s.ends_at for s in data.sessions):
        errors["registration_closes_at"] = "申込締切は最終回の終了より前にしてください。"
    elif lottery and first is not None and closes is not None and closes >= first:
        # The draw happens between the deadline and the first session, never once it began.
        errors["registration_closes_at"] = (
            "抽選の申込締切は、初回の開始より前にしてください（締切の後、初回までに抽選します）。"
        )
    return errors


# A lottery's deadline when none is given: a week before the first session, so the draw and
# the mails (and the phone calls to those without e-mail) happen well before the day.
LOTTERY_DEADLINE_BEFORE = timedelta(days=7)


def _period(data: EventInput, now: datetime) -> tuple[datetime | None, datetime | None]:
    opens = data.registration_opens_at or now
    first = min((s.starts_at for s in data.sessions), default=None)
    closes = data.registration_closes_at
    if closes is None and first is not None:
        closes = first - LOTTERY_DEADLINE_BEFORE if data.admission == Admission.LOTTERY else first
    return opens, closes


@dataclass
class EventsByDate:
    upcoming: list[Event]  # not over yet, soonest first
    past: list[Event]  # over, latest first


def events_by_date(query: sa.Select, now: datetime | None = None) -> EventsByDate:
    """The events of `query` in the order staff look for them: by the date of the first
    session, not by when they were entered."""
    now = now or utcnow()
    first = (
        sa.select(
            Session.event_id,
            sa.func.min(Session.starts_at).label("first_start"),
            sa.func.max(Session.ends_at).label("last_end"),
        )
        .group_by(Session.event_id)
        .subquery()
    )
    rows = db.session.execute(
        query.add_columns(first.c.last_end)
        .outerjoin(first, first.c.event_id == Event.id)
        .order_by(first.c.first_start, Event.id)
    ).all()
    upcoming = [event for event, last_end in rows if last_end is None or last_end >= now]
    past = [event for event, last_end in rows if last_end is not None and last_end < now]
    return EventsByDate(upcoming, list(reversed(past)))


def organization_for_new_event(staff, chosen_id: int | None) -> Organization | None:
    """Whose a new event is: an organizer's own organization; for an admin the one chosen
    (default: the first). None if the chosen one does not exist."""
    if staff.role == StaffRole.ORGANIZER:
        return staff.organization
    if chosen_id is not None:
        # An id no table can hold (2**63 from a JSON body) names no organization.
        valid = parse_id(chosen_id)
        return db.session.get(Organization, valid) if valid else None
    return db.session.scalar(sa.select(Organization).order_by(Organization.id).limit(1))


def create_event(
    data: EventInput, organization: Organization, now: datetime | None = None
) -> Event:
    now = now or utcnow()
    errors = validate(data, now)
    if errors:
        raise invalid(errors)
    opens, closes = _period(data, now)
    event = Event(
        organization=organization, registration_opens_at=opens, registration_closes_at=closes
    )
    _apply(event, data)
    event.sessions = [
        Session(
            number=i + 1,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            venue=s.venue.strip(),
            access=s.access.strip(),
        )
        for i, s in enumerate(sorted(data.sessions, key=lambda s: s.starts_at))
    ]
    db.session.add(event)
    db.session.flush()
    audit.record("event.create", event, title=event.title, status=event.status)
    return event


def _apply(event: Event, data: EventInput) -> None:
    event.kind = data.kind
    event.title = data.title.strip()
    event.description = data.description.strip()
    event.audience = data.audience.strip()
    event.fee = data.fee.strip() or "無料"
    event.capacity = data.capacity
    event.waitlist = data.waitlist
    event.admission = data.admission
    event.certifies = data.kind == EventKind.COURSE if data.certifies is None else data.certifies
    event.required_sessions = data.required_sessions
    event.eligible_residencies = [r.value for r in Residency if r in data.residency]
    event.reminder_text = data.reminder_text.strip()
    event.contact_phone = data.contact_phone.strip()
    event.contact_email = data.contact_email.strip()
    event.contact_hours = data.contact_hours.strip()
    event.belongings = data.belongings.strip()
    event.venue_address = data.venue_address.strip()
    event.map_url = data.map_url.strip()
    if event.status != EventStatus.CANCELLED:
        event.status = data.status


# Areas keeping data derived from an event's kind and session times (the lecture figures of
# the policy report) are told of an edit that changed them, in the edit's transaction.
_CHANGE_HOOKS = "hikisupport_event_change_hooks"


def register_change_hook(app: Flask, hook: Callable[[Event], None]) -> None:
    hooks = app.extensions.setdefault(_CHANGE_HOOKS, [])
    if hook not in hooks:
        hooks.append(hook)


def _shape(event: Event) -> tuple:
    return (event.kind, sorted((s.id, s.starts_at) for s in event.sessions))


def _changed(event: Event) -> None:
    for hook in current_app.extensions.get(_CHANGE_HOOKS, []):
        hook(event)


def update_event(event: Event, data: EventInput, now: datetime | None = None) -> Event:
    """Change an event. Capacity cannot go below the confirmed count; more seats promote
    from the waitlist; a session with attendance cannot be removed."""
    now = now or utcnow()
    event = lock_event(event.id)
    errors = validate(data, now)
    confirmed = count_confirmed(event.id)
    if data.capacity < confirmed:
        errors["capacity"] = f"定員は参加確定の人数（{confirmed}名）より少なくできません。"
    has_registrations = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Registration)
        .where(Registration.event_id == event.id, Registration.status.in_(ACTIVE_STATUSES))
    )
    if has_registrations and data.admission != event.admission:
        errors["admission"] = "申込がある催しの申込方法（先着・抽選）は変更できません。"
    kept = {s.id for s in data.sessions if s.id}
    removed = [s for s in event.sessions if s.id not in kept]
    if removed and db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Attendance)
        .where(Attendance.session_id.in_([s.id for s in removed]))
    ):
        errors["sessions"] = "出席の記録がある回は削除できません。"
    if errors:
        raise invalid(errors)

    before = {"capacity": event.capacity, "status": event.status, "title": event.title}
    shape_before = _shape(event)
    _apply(event, data)
    event.registration_opens_at = data.registration_opens_at or event.registration_opens_at
    _, closes = _period(data, now)
    event.registration_closes_at = closes or event.registration_closes_at
    by_id = {s.id: s for s in event.sessions}
    for s in removed:
        event.sessions.remove(s)
    db.session.flush()
    sessions = []
    for given in data.sessions:
        session = by_id.get(given.id) if given.id else None
        if session is None:
            session = Session(
                event=event, number=0, starts_at=given.starts_at, ends_at=given.ends_at, venue=""
            )
        session.starts_at, session.ends_at = given.starts_at, given.ends_at
        session.venue, session.access = given.venue.strip(), given.access.strip()
        sessions.append(session)
    _renumber(event, sessions)
    db.session.flush()
    if _shape(event) != shape_before:
        _changed(event)
    if event.capacity > before["capacity"] or before["status"] != event.status:
        promote_next(event, now)
    audit.record(
        "event.update",
        event,
        before=before,
        after={"capacity": event.capacity, "status": event.status, "title": event.title},
    )
    return event


def _renumber(event: Event, sessions: list[Session]) -> None:
    """第N回 follow the dates. Numbers move in two steps: (event, number) is unique."""
    ordered = sorted(sessions, key=lambda s: s.starts_at)
    for i, session in enumerate(ordered):
        session.number = 1000 + i
    event.sessions = ordered
    db.session.flush()
    for i, session in enumerate(ordered):
        session.number = i + 1


def publish(event: Event) -> None:
    event = lock_event(event.id)
    if event.status == EventStatus.DRAFT:
        event.status = EventStatus.PUBLISHED
        promote_next(event)  # seats freed while it was a draft go to those waiting
        audit.record("event.publish", event)
