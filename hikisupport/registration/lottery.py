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
from hikisupport.core.japanese import wareki_datetime
from hikisupport.models import Event, EventStatus, LotteryDraw, Person, Registration
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


def draw_refusal(event: Event, now: datetime | None = None) -> DrawRefused | None:
    """Why the event cannot be drawn now (None: it can). The event page and `draw` ask this."""
    now = now or utcnow()
    if not event.is_lottery:
        return DrawRefused("この催しは先着順です。")
    if event.status != EventStatus.PUBLISHED:
        return DrawRefused("公開中の催しだけ抽選できます（下書き・中止の催しは抽選できません）。")
    if db.session.scalar(sa.select(LotteryDraw.id).filter_by(event_id=event.id)):
        return DrawRefused("抽選はすでに行われています。")
    if now < event.registration_closes_at:
        return DrawRefused(
            f"抽選は申込締切（{wareki_datetime(event.registration_closes_at)}）の後に行えます。"
        )
    first = event.first_starts_at
    if first is not None and now >= first:
        return DrawRefused(
            "初回の開始時刻を過ぎたため、抽選できません。"
            "申込者には個別に連絡し、電話・はがきの申込として登録してください。"
        )
    return None


def applicant_count(event: Event) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Registration)
        .where(Registration.event_id == event.id, Registration.status == APPLIED)
    )


def applicants_without_email(event: Event) -> int:
    """Applicants staff entered without an address: they will have to be told by phone."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Registration)
        .join(Person, Person.id == Registration.person_id)
        .where(
            Registration.event_id == event.id,
            Registration.status == APPLIED,
            Person.email.is_(None),
        )
    )


def draw(
    event: Event,
    now: datetime | None = None,
    seed: str | None = None,
    expected_applicants: int | None = None,
) -> LotteryDraw:
    """Draw once, after the deadline and before the first session: winners up to capacity, the
    rest waitlisted in order. `expected_applicants`: the number the person confirming saw; if
    it changed meanwhile, nothing is drawn."""
    now = now or utcnow()
    event = lock_event(event.id)
    if (refusal := draw_refusal(event, now)) is not None:
        raise refusal
    if expected_applicants is not None and expected_applicants != applicant_count(event):
        raise DrawRefused(
            f"確認の後に申込者の数が変わりました（現在{applicant_count(event)}名）。"
            "もう一度確認してから抽選してください。"
        )
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
