"""抽選: applications are collected until the deadline, then one draw decides, reproducibly.

The draw is `random.Random(int(seed, 16)).shuffle()` over the applicants' registration ids in
ascending order (ALGORITHM). The seed (128 bits from the OS) is stored with the outcome and
written to the audit log, so anyone can recompute the order and check it.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime

import sqlalchemy as sa

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import Event, EventStatus, LotteryDraw, Registration
from hikisupport.registration import notifications
from hikisupport.registration.services import (
    APPLIED,
    CONFIRMED,
    WAITLISTED,
    SignUpRefused,
    lock_event,
)
from hikisupport.staff import audit
from hikisupport.staff.access import current_caller

ALGORITHM = "python-random-shuffle-v1"


class DrawRefused(SignUpRefused):
    code = "draw_refused"


def draw_order(seed: str, registration_ids: list[int]) -> list[int]:
    """The order a seed gives: the same seed and applicants always give the same order."""
    order = sorted(registration_ids)
    random.Random(int(seed, 16)).shuffle(order)  # noqa: S311 - reproducibility, not secrecy
    return order


def draw(event: Event, now: datetime | None = None, seed: str | None = None) -> LotteryDraw:
    """Draw once, after the deadline: winners up to capacity, the rest waitlisted in order."""
    now = now or utcnow()
    event = lock_event(event.id)
    if not event.is_lottery:
        raise DrawRefused("この催しは先着順です。")
    if event.status != EventStatus.PUBLISHED:
        raise DrawRefused("公開中の催しだけ抽選できます（下書き・中止の催しは抽選できません）。")
    if db.session.scalar(sa.select(LotteryDraw.id).filter_by(event_id=event.id)):
        raise DrawRefused("抽選はすでに行われています。")
    if now < event.registration_closes_at:
        raise DrawRefused("抽選は申込締切の後に行えます。")
    seed = seed or secrets.token_hex(16)
    applicants = db.session.scalars(
        sa.select(Registration).where(
            Registration.event_id == event.id, Registration.status == APPLIED
        )
    ).all()
    by_id = {r.id: r for r in applicants}
    order = draw_order(seed, list(by_id))
    winners = order[: event.capacity]
    for position, registration_id in enumerate(order, start=1):
        registration = by_id[registration_id]
        if position <= event.capacity:
            registration.status, registration.confirmed_at = CONFIRMED, now
        else:
            registration.status = WAITLISTED
            registration.waitlist_position = position - event.capacity
    db.session.flush()
    result = LotteryDraw(
        event_id=event.id,
        seed=seed,
        algorithm=ALGORITHM,
        applicants=len(order),
        winners=len(winners),
        order=order,
        drawn_at=now,
        drawn_by_id=_current_staff_id(),
    )
    db.session.add(result)
    db.session.flush()
    for registration_id in order:
        registration = by_id[registration_id]
        if registration.status == CONFIRMED:
            notifications.lottery_won(registration)
        else:
            notifications.lottery_waitlisted(registration)
    audit.record(
        "lottery.draw",
        event,
        seed=seed,
        algorithm=ALGORITHM,
        applicants=len(order),
        winners=len(winners),
    )
    return result


def verify(result: LotteryDraw) -> bool:
    """Recompute the draw from its seed: True if it gives the stored order."""
    return draw_order(result.seed, list(result.order)) == list(result.order)


def _current_staff_id() -> int | None:
    from flask import has_request_context

    caller = current_caller() if has_request_context() else None
    return caller.id if caller is not None and caller.is_staff else None
