"""前日のお知らせ: one reminder per registration and session starting tomorrow, never twice."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, jst_datetime
from hikisupport.models import (
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
    Reminder,
    Session,
)
from hikisupport.registration import notifications


def sessions_on(day: date) -> list[Session]:
    start = jst_datetime(day.year, day.month, day.day)
    end = start + timedelta(days=1)
    return db.session.scalars(
        sa.select(Session)
        .join(Event)
        .where(
            Session.starts_at >= start,
            Session.starts_at < end,
            Event.status == EventStatus.PUBLISHED,
        )
        .order_by(Session.starts_at)
    ).all()


def queue_reminders(day: date | None = None) -> int:
    """Queue reminders for the sessions on `day` (default: tomorrow in Japan). Returns how many
    were queued; running it again the same day queues none."""
    day = day or (utcnow().astimezone(JST).date() + timedelta(days=1))
    queued = 0
    for session in sessions_on(day):
        already = sa.select(Reminder.registration_id).where(Reminder.session_id == session.id)
        registrations = db.session.scalars(
            sa.select(Registration).where(
                Registration.event_id == session.event_id,
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.id.not_in(already),
            )
        ).all()
        for registration in registrations:
            db.session.add(Reminder(registration_id=registration.id, session_id=session.id))
            notifications.reminder(registration, session)
            queued += 1
    db.session.flush()
    return queued
