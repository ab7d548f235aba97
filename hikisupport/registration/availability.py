"""Whether an event takes sign-ups now and how many seats are left, as residents see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hikisupport.database import utcnow
from hikisupport.extensions import db
from hikisupport.models import Event, LotteryDraw, Session
from hikisupport.registration.services import confirmed_counts


@dataclass(frozen=True)
class Availability:
    capacity: int
    confirmed: int
    # open | waitlist | full | lottery | not_yet | closed | cancelled
    state: str

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.confirmed, 0)

    @property
    def label(self) -> str:
        return {
            "open": f"受付中（残り{self.seats_left}席）",
            "lottery": f"抽選申込受付中（定員{self.capacity}名）",
            "waitlist": "満席・キャンセル待ち受付中",
            "full": "満席です",
            "not_yet": "受付開始前",
            "closed": "受付終了",
            "cancelled": "中止",
        }[self.state]

    @property
    def accepts_sign_ups(self) -> bool:
        return self.state in {"open", "waitlist", "lottery"}


def availability(
    event: Event, confirmed: int, now: datetime | None = None, drawn: bool = False
) -> Availability:
    now = now or utcnow()
    if event.status == "cancelled":
        state = "cancelled"
    elif now < event.registration_opens_at:
        state = "not_yet"
    elif now >= event.registration_closes_at or event.status != "published":
        state = "closed"
    elif event.is_lottery and not drawn:
        state = "lottery"  # applications are collected; the draw decides after the deadline
    elif confirmed < event.capacity:
        state = "open"
    elif event.waitlist:
        state = "waitlist"
    else:
        state = "full"
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
        .where(Event.status.in_(["published", "cancelled"]))
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


def public_event_or_none(event_id: int) -> Event | None:
    event = db.session.get(Event, event_id)
    if event is None or event.status == "draft":
        return None
    return event


def event_availability(event: Event, now: datetime | None = None) -> Availability:
    drawn = bool(drawn_event_ids([event.id])) if event.is_lottery else False
    return availability(event, confirmed_counts([event.id]).get(event.id, 0), now, drawn)
