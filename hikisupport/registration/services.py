"""The sign-up rule, cancellation and the waitlist: each in one function, used by every caller.

Capacity is protected by locking the event before availability is re-checked: on PostgreSQL a
``SELECT … FOR UPDATE`` on the event row, on SQLite the database-wide write lock that every
write transaction takes at ``BEGIN IMMEDIATE`` (see ``database.py``). Two sign-ups for the same
event therefore run one after the other from the lock onwards, and the second sees the first.

Functions here flush, never commit: the request (or CLI command) commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, make_transient_to_detached

from hikisupport.core.database import dialect_insert, transaction_info, utcnow
from hikisupport.core.errors import DomainError, NotFound
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, wareki_datetime
from hikisupport.mail.outbox import sent_recently
from hikisupport.models import (
    ACTIVE_STATUSES,
    Accommodation,
    Event,
    EventStatus,
    LotteryDraw,
    Person,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)
from hikisupport.models.people import name_key
from hikisupport.registration import notifications
from hikisupport.registration.admission import AdmissionState, admission_state
from hikisupport.registration.tickets import new_personal_token, new_ticket_code
from hikisupport.staff import audit

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED
APPLIED = RegistrationStatus.APPLIED
CANCELLED = RegistrationStatus.CANCELLED
ACTIVE = ACTIVE_STATUSES


@dataclass
class Applicant:
    """What a person gives when signing up, already validated and normalised."""

    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    email: str
    phone: str
    residency: str
    age_group: str
    accommodations: list[str] = field(default_factory=list)
    childcare_ages: str = ""
    needs: str = ""


class SignUpRefused(DomainError):
    """The sign-up rule says no."""

    code = "refused"
    status = 409


class RegistrationClosed(SignUpRefused):
    code = "registration_closed"


class EventFull(SignUpRefused):
    code = "event_full"


class NotEligible(SignUpRefused):
    code = "not_eligible"
    status = 422

    def __init__(self, message: str):
        super().__init__(message, field="residency")


class AlreadyRegistered(SignUpRefused):
    """Staff entering someone who already has a live registration for the event."""

    code = "already_registered"
    status = 422

    def __init__(self, message: str):
        super().__init__(message, field="email")


def refusal_for(event: Event, state: AdmissionState) -> SignUpRefused | None:
    """Why a sign-up in `state` is refused (None: it is not)."""
    if state == AdmissionState.CANCELLED:
        return RegistrationClosed("この催しは中止になりました。")
    if state == AdmissionState.FULL:
        return EventFull("申し訳ありません。満席です。")
    if state in (AdmissionState.NOT_YET, AdmissionState.CLOSED):
        if event.status != EventStatus.PUBLISHED:
            return RegistrationClosed("この催しは現在申し込みを受け付けていません。")
        return RegistrationClosed(
            "申込受付期間外です。受付期間は" + registration_period_text(event) + "です。"
        )
    return None


def public_event(event_id: int, *, lock: bool = False) -> Event:
    """An event as residents may see it: published or cancelled, never a draft (404).
    `lock`: read holding its lock (`lock_event`), for a sign-up that `register` then decides
    under it — one statement, not a read and then the lock."""
    event = lock_event(event_id) if lock else db.session.get(Event, event_id)
    if event is None or not event.is_public:
        raise NotFound("お探しの講座・講演会は見つかりませんでした。")
    return event


# The event with its sessions, its confirmed count and whether it was drawn: one statement for
# the pages of a sign-up (instead of the event, its sessions, the count and the draw apart).
_PUBLIC_EVENT_STANDING = (
    sa.select(
        Event,
        sa.select(sa.func.count())
        .select_from(Registration)
        .where(Registration.event_id == Event.id, Registration.status == CONFIRMED)
        .correlate(Event)
        .scalar_subquery(),
        sa.exists().where(LotteryDraw.event_id == Event.id).correlate(Event),
    )
    .where(Event.id == sa.bindparam("event_id"))
    .options(joinedload(Event.sessions))
)


def public_event_standing(event_id: int) -> tuple[Event, int, bool]:
    """`public_event` with its confirmed count and whether it was drawn, in one query."""
    row = db.session.execute(_PUBLIC_EVENT_STANDING, {"event_id": event_id}).unique().first()
    if row is None or not row[0].is_public:
        raise NotFound("お探しの講座・講演会は見つかりませんでした。")
    event, confirmed, drawn = row
    return event, confirmed, bool(drawn)


# A registration with its event, the event's sessions and organizer and its person: the
# personal page (and the pages under /r/<token>) in one statement.
_BY_TOKEN = (
    sa.select(Registration)
    .where(Registration.token == sa.bindparam("token"))
    .options(
        joinedload(Registration.event).joinedload(Event.sessions),
        joinedload(Registration.event).joinedload(Event.organization),
        joinedload(Registration.person),
    )
)


def registration_by_token(token: str) -> Registration | None:
    """The registration of a personal link, with what its pages show, in one query."""
    return db.session.execute(_BY_TOKEN, {"token": token}).unique().scalar_one_or_none()


@dataclass
class SignUpResult:
    registration: Registration
    # False: this name on this address already had a live registration; nothing was created.
    created: bool


# ---------------------------------------------------------------------------------------------
# Queries


_LOCK_EVENT = (
    sa.select(Event)
    .where(Event.id == sa.bindparam("event_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_event(event_id: int) -> Event | None:
    """Load the event holding its lock until the transaction ends (see the module docstring).

    Locking again in the same transaction returns the event without another query.
    """
    locked = transaction_info(db.session).setdefault("locked_events", {})
    if event_id in locked:
        return locked[event_id]
    event = db.session.scalar(_LOCK_EVENT, {"event_id": event_id})
    if event is not None:
        locked[event_id] = event
    return event


# Statements run on every sign-up, built once: SQLAlchemy then reuses their cache key and
# compiled form instead of building and hashing a new statement on each request.
_COUNT_CONFIRMED = (
    sa.select(sa.func.count())
    .select_from(Registration)
    .where(Registration.event_id == sa.bindparam("event_id"), Registration.status == CONFIRMED)
)
_LIVE_OF_PERSON = sa.select(Registration).where(
    Registration.event_id == sa.bindparam("event_id"),
    Registration.person_id == sa.bindparam("person_id"),
    Registration.status != CANCELLED,
)
_DRAWN = sa.select(LotteryDraw.id).where(LotteryDraw.event_id == sa.bindparam("event_id"))
_LAST_WAITLIST_POSITION = sa.select(
    sa.func.coalesce(sa.func.max(Registration.waitlist_position), 0)
).where(Registration.event_id == sa.bindparam("event_id"), Registration.status == WAITLISTED)
_PERSON_UPSERTS: dict[str, sa.Executable] = {}
# What `register` decides on, under the event's lock, in one statement: the confirmed count,
# whether the draw was made, the last waitlist position.
_SEATS = sa.select(
    _COUNT_CONFIRMED.scalar_subquery(),
    sa.exists(_DRAWN),
    _LAST_WAITLIST_POSITION.scalar_subquery(),
)


def count_confirmed(event_id: int) -> int:
    return db.session.scalar(_COUNT_CONFIRMED, {"event_id": event_id})


def registration_period_text(event: Event) -> str:
    return (
        f"{wareki_datetime(event.registration_opens_at)}から"
        f"{wareki_datetime(event.registration_closes_at)}まで"
    )


# ---------------------------------------------------------------------------------------------
# The sign-up rule


def check_eligible(event: Event, residency: str) -> None:
    if residency not in event.eligible_residencies:
        who = "・".join(event.residency_labels)
        raise NotEligible(f"この催しの対象は{who}の方です。")


def register(
    event: Event,
    applicant: Applicant,
    *,
    source: str = RegistrationSource.WEB,
    now: datetime | None = None,
    by_staff: bool = False,
) -> SignUpResult:
    """Sign a person up: confirmed within capacity, else waitlisted, else refused (満席).
    For a lottery (抽選) event, an application waits for the draw instead.

    A person is an address and a name (フリガナ): a family member on the same address is a
    person of their own. The same name and address again for the same event creates nothing:
    the existing registration is returned (`created=False`) — for a resident, whose address
    came from the mailed link, the caller shows it; staff are told of the duplicate. Staff
    (`by_staff`) may enter people outside the registration period and without an address.
    """
    now = now or utcnow()
    event = lock_event(event.id)  # a no-op if the caller locked it already
    key = name_key(applicant.family_name_kana, applicant.given_name_kana)
    if applicant.email:
        person = _person_for(applicant.email, key, now)
        person_id = person.id
        existing = db.session.scalar(
            _LIVE_OF_PERSON, {"event_id": event.id, "person_id": person_id}
        )
        if existing is not None:
            if by_staff:
                raise AlreadyRegistered(
                    "このメールアドレスとお名前の申込がすでにあります"
                    f"（受付番号 {existing.ticket}）。"
                )
            return SignUpResult(existing, created=False)
    else:  # entered by staff without an address: always a person of their own
        person = Person(email=None, name_key=key, created_at=now)
        db.session.add(person)
        db.session.flush()
        person_id = person.id

    confirmed, drawn, last_position = db.session.execute(_SEATS, {"event_id": event.id}).one()
    state = admission_state(event, confirmed, bool(drawn), now, by_staff=by_staff)
    if (refusal := refusal_for(event, state)) is not None:
        raise refusal
    check_eligible(event, applicant.residency)
    if state == AdmissionState.LOTTERY:
        status, position = APPLIED, None
    elif state == AdmissionState.OPEN:
        status, position = CONFIRMED, None
    else:
        status, position = WAITLISTED, last_position + 1

    registration = Registration(
        event=event,
        person=person,
        created_at=now,
        token=new_personal_token(),
        # No look-up first: a clash of two random 10-character codes (about 49 bits) is left
        # to the unique constraint, which refuses it (the sign-up is rolled back, not saved
        # with a shared code).
        ticket=new_ticket_code(),
        status=status,
        waitlist_position=position,
        confirmed_at=now if status == CONFIRMED else None,
        source=source,
        consented_at=now,
    )
    _apply_applicant(registration, applicant)
    db.session.add(registration)
    db.session.flush()

    # The mail and the audit row: one Core insert each.
    {
        CONFIRMED: notifications.confirmed,
        WAITLISTED: notifications.waitlisted,
        APPLIED: notifications.applied,
    }[status](registration, by_resident=not by_staff)
    audit.record(
        "registration.create",
        registration,
        status=status,
        source=source,
        by="staff" if by_staff else "resident",
    )
    return SignUpResult(registration, created=True)


def _person_for(email: str, key: str, now: datetime) -> Person:
    """The id of the person with this address and name, created if new, in one statement.

    Two sign-ups for different events lock different events, so both may try to create the
    same person at once: the upsert lets the database decide, and both get the one row.
    The person is then known to the session without reading the row back (its address and
    name are what was just written; anything else is loaded if asked for)."""
    dialect = db.engine.dialect.name
    statement = _PERSON_UPSERTS.get(dialect)
    if statement is None:
        statement = dialect_insert(dialect, Person.__table__).values(
            email=sa.bindparam("email"),
            name_key=sa.bindparam("name_key"),
            created_at=sa.bindparam("created_at"),
        )
        statement = _PERSON_UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=["email", "name_key"], set_={"email": statement.excluded.email}
        ).returning(Person.__table__.c.id)
    params = {"email": email, "name_key": key, "created_at": now}
    person_id = db.session.execute(statement, params).scalar_one()
    person = db.session.identity_map.get(db.session.identity_key(Person, person_id))
    if person is None:
        person = Person(id=person_id, email=email, name_key=key)
        make_transient_to_detached(person)
        db.session.add(person)
    return person


def is_drawn(event_id: int) -> bool:
    return db.session.scalar(_DRAWN, {"event_id": event_id}) is not None


def _apply_applicant(registration: Registration, applicant: Applicant) -> None:
    registration.family_name = applicant.family_name
    registration.given_name = applicant.given_name
    registration.family_name_kana = applicant.family_name_kana
    registration.given_name_kana = applicant.given_name_kana
    registration.phone = applicant.phone
    registration.residency = applicant.residency
    registration.age_group = applicant.age_group
    apply_accommodations(registration, applicant.accommodations, applicant.childcare_ages)
    registration.needs = applicant.needs


def apply_accommodations(registration: Registration, codes: list[str], childcare_ages: str):
    for accommodation in Accommodation:
        setattr(registration, f"needs_{accommodation.value}", accommodation in codes)
    registration.childcare_ages = childcare_ages if Accommodation.CHILDCARE in codes else ""


# ---------------------------------------------------------------------------------------------
# Step 1: the address first, the form from the mailed link


def request_apply_link(event: Event, email: str, now: datetime | None = None) -> bool:
    """Step 1: mail the address its link to the form (and its existing registrations).

    Nothing but the outbox row is written, and the caller answers every address alike. At most
    APPLY_MAILS_PER_HOUR such mails go to one address for one event in an hour (and at most
    RESIDENT_MAILS_PER_HOUR mails of any kind a resident's actions cause): past that, nothing
    is queued and nobody is told. True if a mail was queued."""
    now = now or utcnow()
    limit = current_app.config["APPLY_MAILS_PER_HOUR"]
    if sent_recently(email, now, kind=notifications.APPLY, about=event) >= limit:
        return False
    return notifications.apply_link(event, email, now) is not None


def updatable_until(registration: Registration) -> datetime | None:
    """Contact details and accommodation requests can be changed until the day before the
    first session (up to midnight, Japan time, at the start of its day)."""
    first = registration.event.first_starts_at
    if first is None:
        return None
    day = first.astimezone(JST).date()
    return datetime(day.year, day.month, day.day, tzinfo=JST).astimezone(UTC)


def can_update(registration: Registration, now: datetime | None = None) -> bool:
    until = updatable_until(registration)
    return registration.is_active and until is not None and (now or utcnow()) < until


def update_details(
    registration: Registration,
    phone: str,
    accommodations: list[str],
    childcare_ages: str,
    needs: str,
    now: datetime | None = None,
) -> None:
    """The person changes their phone and accommodation requests (until the day before)."""
    if not can_update(registration, now):
        raise SignUpRefused(
            "申し込み内容の変更は、開催日の前日までです。"
            "変更が必要な場合は、主催者にお問い合わせください。"
        )
    before = (registration.phone, registration.accommodations, registration.needs)
    registration.phone = phone
    apply_accommodations(registration, accommodations, childcare_ages)
    registration.needs = needs
    db.session.flush()
    notifications.updated(registration)
    names = ("phone", "accommodations", "needs")
    after = (registration.phone, registration.accommodations, registration.needs)
    audit.record(
        "registration.update",
        registration,
        by="resident",
        changed=[n for n, old, new in zip(names, before, after, strict=True) if old != new],
    )


# ---------------------------------------------------------------------------------------------
# Cancellation and the waitlist


def can_cancel(registration: Registration, now: datetime | None = None) -> bool:
    """A registration can be cancelled while it is live and until its event's last session
    ends — by the person, by staff and through the API alike."""
    last_end = registration.event.last_ends_at
    return registration.is_active and (last_end is None or (now or utcnow()) < last_end)


def cancel(
    registration: Registration, now: datetime | None = None, reason: str = ""
) -> Registration | None:
    """Cancel a registration; a freed seat goes to the first in line. Returns who was promoted.

    `reason` is given when someone else cancels (staff on the person's behalf)."""
    now = now or utcnow()
    event = lock_event(registration.event_id)
    db.session.refresh(registration)  # its state as of the lock, not as first read
    if registration.status == CANCELLED:
        return None
    if not can_cancel(registration, now):
        raise SignUpRefused("この申し込みは、催しが終わったためキャンセルできません。")
    was = registration.status
    old_position = registration.waitlist_position
    registration.status = CANCELLED
    registration.waitlist_position = None
    registration.cancelled_at = now
    registration.cancel_reason = reason
    db.session.flush()
    notifications.cancelled(registration, by_resident=not reason)
    audit.record(
        "registration.cancel",
        registration,
        was=was,
        reason=reason,
        by="staff" if reason else "resident",
    )

    if was == WAITLISTED:
        _close_waitlist_gap(event.id, old_position)
        return None
    if was == APPLIED:
        return None
    return promote_next(event, now)


def next_in_line(registration: Registration) -> Registration | None:
    """Who would be promoted if this confirmed registration were cancelled now."""
    event = registration.event
    if registration.status != CONFIRMED or event.is_cancelled:
        return None
    if event.is_lottery and not is_drawn(event.id):
        return None
    return db.session.scalar(
        sa.select(Registration)
        .where(Registration.event_id == event.id, Registration.status == WAITLISTED)
        .order_by(Registration.waitlist_position)
        .limit(1)
    )


def promote_with_extra_seat(registration: Registration, now: datetime | None = None) -> None:
    """Staff take someone off the waitlist out of turn: the capacity grows by one for them,
    so the rule that capacity is never exceeded still holds."""
    now = now or utcnow()
    event = lock_event(registration.event_id)
    db.session.refresh(registration)
    if registration.status != WAITLISTED:
        raise SignUpRefused("キャンセル待ちの方だけを繰り上げられます。")
    position = registration.waitlist_position
    event.capacity += 1
    registration.status = CONFIRMED
    registration.waitlist_position = None
    registration.confirmed_at = now
    db.session.flush()
    _close_waitlist_gap(event.id, position)
    notifications.promoted(registration)
    audit.record(
        "registration.promote", registration, capacity=event.capacity, by="staff", out_of_turn=True
    )


def cancel_event(event: Event, reason: str, now: datetime | None = None) -> int:
    """中止: the event is cancelled and everyone still registered is told. Returns how many."""
    now = now or utcnow()
    event = lock_event(event.id)
    if event.status == EventStatus.CANCELLED:
        raise SignUpRefused("この催しはすでに中止になっています。")
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now
    told = 0
    active = db.session.scalars(
        sa.select(Registration).where(
            Registration.event_id == event.id, Registration.status.in_(ACTIVE)
        )
    ).all()
    for registration in active:
        registration.status = CANCELLED
        registration.waitlist_position = None
        registration.cancelled_at = now
        registration.cancel_reason = "催しの中止"
        notifications.event_cancelled(registration, reason)
        told += 1
    db.session.flush()
    audit.record("event.cancel", event, reason=reason, registrations=told)
    return told


def _close_waitlist_gap(event_id: int, removed_position: int) -> None:
    """Everyone behind a removed place moves up one, so positions stay 1…N without gaps."""
    db.session.execute(
        sa.update(Registration)
        .where(
            Registration.event_id == event_id,
            Registration.status == WAITLISTED,
            Registration.waitlist_position > removed_position,
        )
        .values(waitlist_position=Registration.waitlist_position - 1)
        .execution_options(synchronize_session="fetch")
    )


def promote_next(event: Event, now: datetime | None = None) -> Registration | None:
    """Fill free seats from the head of the waitlist (caller holds the event lock)."""
    now = now or utcnow()
    promoted = None
    # A draft fills its free seats too (staff may enter people before publishing); only a
    # cancelled event, or a lottery before its draw, has no one to promote.
    if event.is_cancelled or (event.is_lottery and not is_drawn(event.id)):
        return None
    while count_confirmed(event.id) < event.capacity:
        first = db.session.scalar(
            sa.select(Registration)
            .where(Registration.event_id == event.id, Registration.status == WAITLISTED)
            .order_by(Registration.waitlist_position)
            .limit(1)
        )
        if first is None:
            break
        first.status = CONFIRMED
        first.waitlist_position = None
        first.confirmed_at = now
        db.session.flush()
        _close_waitlist_gap(event.id, 1)
        notifications.promoted(first)
        audit.record("registration.promote", first, by="waitlist")
        promoted = promoted or first
    return promoted
