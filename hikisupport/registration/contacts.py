"""連絡が必要な方: applicants without an e-mail address (電話・はがき) whom a draw, a promotion or
a cancellation concerns. Where a mail would go to everyone else, a row asks staff to call; it
stays on the event page until someone marks it 連絡済 (audited)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from hikisupport.core.database import utcnow
from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import db
from hikisupport.core.japanese import session_period
from hikisupport.models import ContactReason, ContactTask, Event, Registration
from hikisupport.staff import audit
from hikisupport.staff.access import current_caller

# What to tell them, in the words staff read out on the phone.
MESSAGES = {
    ContactReason.LOTTERY_WON: (
        "抽選の結果、当選しました（参加確定）。{schedule}にお越しください。"
        "受付番号は {ticket} です。"
    ),
    ContactReason.LOTTERY_WAITLISTED: (
        "抽選の結果、キャンセル待ちの{position}番目になりました。"
        "繰り上がったときは、改めてご連絡します。"
    ),
    ContactReason.PROMOTED: (
        "キャンセル待ちから繰り上がり、参加が決まりました。{schedule}にお越しください。"
        "受付番号は {ticket} です。"
    ),
    ContactReason.EVENT_CANCELLED: "この催しは中止になりました。{reason}",
}


def _schedule(event: Event) -> str:
    first = event.sessions[0] if event.sessions else None
    if first is None:
        return "当日"
    text = f"{session_period(first.starts_at, first.ends_at)}、{first.venue}"
    return text + (f"（全{len(event.sessions)}回）" if len(event.sessions) > 1 else "")


def needs_telling(registration: Registration, what: ContactReason, why: str = "") -> None:
    """If the person has no address, ask staff to tell them (no-op for everyone else, who is
    mailed). Called where the mail would be queued, so no one is forgotten."""
    if registration.email:
        return
    message = MESSAGES[what].format(
        schedule=_schedule(registration.event),
        ticket=registration.ticket,
        position=registration.waitlist_position or "",
        reason=f"理由：{why}" if why else "",
    )
    db.session.add(
        ContactTask(
            event_id=registration.event_id,
            registration_id=registration.id,
            reason=what,
            message=message.strip(),
        )
    )
    db.session.flush()


def open_for(event: Event) -> list[ContactTask]:
    """Who still has to be told, oldest first; reading them (names, phones) is audited."""
    tasks = list(
        db.session.scalars(
            sa.select(ContactTask)
            .where(ContactTask.event_id == event.id, ContactTask.done_at.is_(None))
            .options(joinedload(ContactTask.registration))
            .order_by(ContactTask.id)
        )
    )
    if tasks:
        audit.record("contacts.view", event, rows=len(tasks))
    return tasks


def mark_done(task: ContactTask) -> None:
    """連絡済: the person was told (who did it and when are kept, and audited)."""
    if task.done_at is not None:
        raise DomainError("この連絡は、すでに連絡済になっています。")
    caller = current_caller()
    task.done_at = utcnow()
    task.done_by_id = caller.id if caller is not None and caller.is_staff else None
    db.session.flush()
    audit.record(
        "contact.done",
        task.registration,
        contact_id=task.id,
        reason=ContactReason(task.reason).label,
    )
