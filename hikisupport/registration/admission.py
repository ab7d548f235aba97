"""The rule of admission — where an event stands for a new sign-up — and the counts it is
decided from. `services.register` applies it, `availability` words it for residents, and the
mails list an address's registrations; all three read it here, below them.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa

from hikisupport.core.extensions import db
from hikisupport.models import Event, EventStatus, Person, Registration, RegistrationStatus


class AdmissionState(enum.StrEnum):
    """Where an event stands for a new sign-up; what residents see and what `register` does."""

    OPEN = "open"  # 受付中: a seat
    WAITLIST = "waitlist"  # 満席・キャンセル待ち受付中
    FULL = "full"  # 満席です (no waitlist)
    LOTTERY = "lottery"  # 抽選申込受付中: an application for the draw
    NOT_YET = "not_yet"  # 受付開始前
    CLOSED = "closed"  # 受付終了 (or not published)
    CANCELLED = "cancelled"  # 中止


# The states in which a resident can sign up.
ACCEPTING = frozenset({AdmissionState.OPEN, AdmissionState.WAITLIST, AdmissionState.LOTTERY})


def admission_state(
    event: Event, confirmed: int, drawn: bool, now: datetime, *, by_staff: bool = False
) -> AdmissionState:
    """The one rule of admission. Staff (`by_staff`) may enter people outside the registration
    period and into a draft (a phone call after the deadline); a cancelled event takes nobody.
    A lottery collects applications until it is drawn; after the draw seats go first come."""
    if event.status == EventStatus.CANCELLED:
        return AdmissionState.CANCELLED
    if not by_staff:
        if event.status != EventStatus.PUBLISHED:
            return AdmissionState.CLOSED
        if now < event.registration_opens_at:
            return AdmissionState.NOT_YET
        if now >= event.registration_closes_at:
            return AdmissionState.CLOSED
    if event.is_lottery and not drawn:
        return AdmissionState.LOTTERY
    if confirmed < event.capacity:
        return AdmissionState.OPEN
    if event.waitlist:
        return AdmissionState.WAITLIST
    return AdmissionState.FULL


def confirmed_counts(event_ids: list[int]) -> dict[int, int]:
    """Confirmed registrations per event, in one query."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        sa.select(Registration.event_id, sa.func.count())
        .where(
            Registration.event_id.in_(event_ids),
            Registration.status == RegistrationStatus.CONFIRMED,
        )
        .group_by(Registration.event_id)
    )
    return {event_id: count for event_id, count in rows}


def live_registrations_of(email: str, event_id: int) -> list[Registration]:
    """The live registrations of everyone on this address for the event, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Registration)
            .join(Person, Person.id == Registration.person_id)
            .where(
                Person.email == email,
                Registration.event_id == event_id,
                Registration.status != RegistrationStatus.CANCELLED,
            )
            .order_by(Registration.id)
        )
    )
