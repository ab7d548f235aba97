"""Whether an event takes sign-ups now and how many seats are left, as residents see it.

The state itself is `admission.admission_state`, the rule `register` applies; this module only
gathers the counts for it and words it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import Event, EventStatus, LotteryDraw, Session
from hikisupport.registration.admission import (
    ACCEPTING,
    AdmissionState,
    admission_state,
    confirmed_counts,
)

LABELS = {
    AdmissionState.LOTTERY: "抽選申込受付中（定員{capacity}名）",
    AdmissionState.OPEN: "受付中（残り{seats_left}席）",
    AdmissionState.WAITLIST: "満席・キャンセル待ち受付中",
    AdmissionState.FULL: "満席です",
    AdmissionState.NOT_YET: "受付開始前",
    AdmissionState.CLOSED: "受付終了",
    AdmissionState.CANCELLED: "中止",
}


@dataclass(frozen=True)
class Availability:
    capacity: int
    confirmed: int
    state: AdmissionState

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.confirmed, 0)

    @property
    def label(self) -> str:
        return LABELS[self.state].format(capacity=self.capacity, seats_left=self.seats_left)

    @property
    def accepts_sign_ups(self) -> bool:
        return self.state in ACCEPTING


def availability(
    event: Event, confirmed: int, now: datetime | None = None, drawn: bool = False
) -> Availability:
    state = admission_state(event, confirmed, drawn, now or utcnow())
    return Availability(event.capacity, confirmed, state)


def upcoming_events(now: datetime | None = None) -> list[tuple[Event, Availability]]:
    """Published events with a session still to come, soonest first, with their availability."""
    now = now or utcnow()
    first_start = (
        sa.select(Session.event_id, sa.func.min(Session.starts_at).label("first_start"))
        .group_by(Session.event_id)
        .having(sa.func.max(Session.ends_at) > now)
        .subquery()
    )
    events = db.session.scalars(
        sa.select(Event)
        .join(first_start, first_start.c.event_id == Event.id)
        .where(Event.status.in_([EventStatus.PUBLISHED, EventStatus.CANCELLED]))
        .order_by(first_start.c.first_start, Event.id)
        .options(selectinload(Event.sessions))
    ).all()
    counts = confirmed_counts([e.id for e in events])
    drawn = drawn_event_ids([e.id for e in events])
    return [(e, availability(e, counts.get(e.id, 0), now, e.id in drawn)) for e in events]


def drawn_event_ids(event_ids: list[int]) -> set[int]:
    if not event_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(LotteryDraw.event_id).where(LotteryDraw.event_id.in_(event_ids))
        )
    )


def event_availability(event: Event, now: datetime | None = None) -> Availability:
    drawn = bool(drawn_event_ids([event.id])) if event.is_lottery else False
    return availability(event, confirmed_counts([event.id]).get(event.id, 0), now, drawn)
