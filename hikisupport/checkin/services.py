"""The rules of check-in (受付), in one place for the tablet API, the walk-in form and the
staff's entry of ticks from the paper roster.

- **One row per registration and session**: the unique constraint decides, not a prior read.
  A check-in is an ``INSERT … ON CONFLICT DO NOTHING`` followed by a re-read, so any number of
  simultaneous scans of one ticket (two tablets, a replayed offline queue) end in one row: the
  request that inserted it is answered ``checked_in`` (201), every other one
  ``already_checked_in`` (200) with the first time and device.
- **Idempotent by the client's UUID**: the same UUID again gets the same answer.
- **Undo is recorded**, never a delete: ``undone_at`` and who (staff) or which device. Checked
  in again, the same row is used anew; its earlier values go to the audit log.
- **Every change ends with** ``supporters.completion.attendance_changed(registration, session)``
  after the flush, in the same transaction.
- **Devices** are callers of their own kind (`device_caller`): a bearer token of which only the
  SHA-256 is stored, limited to the device's events, refused the moment it is revoked.

Functions here flush, never commit.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy.orm import joinedload, selectinload

from hikisupport.core.database import dialect_insert, utcnow
from hikisupport.core.errors import DomainError, Invalid, NotFound
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, is_katakana
from hikisupport.core.routing import API_PREFIX
from hikisupport.models import (
    Attendance,
    AttendanceMethod,
    Device,
    DevicePairing,
    Event,
    EventStatus,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Session,
)
from hikisupport.registration import services as registration_services
from hikisupport.registration.tickets import TICKET_ALPHABET
from hikisupport.rosters.services import Purpose, session_roster
from hikisupport.staff import audit
from hikisupport.staff.access import DEVICE, Caller, can_manage, current_caller
from hikisupport.supporters import completion

# A device token looks different from a staff API token (hks_…), so neither is tried as the
# other.
TOKEN_PREFIX = "hkd_"  # noqa: S105 - a prefix, not a secret
PAIRING_CODE_LENGTH = 8  # two groups of four: ABCD-EFGH
MAX_DEVICE_NAME = 60
# last_seen_at is written at most this often per device (it is shown, not audited).
TOUCH_INTERVAL = timedelta(seconds=30)
MAX_TICKET_LENGTH = 40


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def undo_window() -> timedelta:
    """How long after the server received a check-in a tablet may undo it."""
    return timedelta(seconds=_setting("CHECKIN_UNDO_SECONDS", 90))


def late_after() -> timedelta:
    """An upload received this long after its scan is flagged late (an offline queue)."""
    return timedelta(seconds=_setting("CHECKIN_LATE_AFTER_SECONDS", 300))


def pairing_lifetime() -> timedelta:
    return timedelta(minutes=_setting("CHECKIN_PAIRING_MINUTES", 10))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Refusals


class CheckinRefused(DomainError):
    code, status = "refused", 409


class UnknownTicket(NotFound):
    code = "unknown_ticket"

    def __init__(self):
        super().__init__("この受付番号の申込は見つかりません。", field="ticket")


class OtherEvent(CheckinRefused):
    code = "other_event"

    def __init__(self):
        super().__init__("この回の申込ではありません。", field="ticket")


class CancelledRegistration(CheckinRefused):
    code = "cancelled"

    def __init__(self):
        super().__init__("キャンセル済みの申込です。", field="ticket")


class NotConfirmed(CheckinRefused):
    code = "not_confirmed"

    def __init__(self, registration: Registration):
        super().__init__(
            f"参加が確定していない申込です（{registration.status_label}）。", field="ticket"
        )


class UuidReused(CheckinRefused):
    code = "uuid_conflict"

    def __init__(self):
        super().__init__("このIDはすでに別の受付に使われています。", field="id")


class UndoExpired(CheckinRefused):
    code = "undo_expired"

    def __init__(self, seconds: int):
        super().__init__(
            f"受付から{seconds}秒を過ぎたため、端末からは取り消せません。"
            "職員用の受付名簿で取り消してください。"
        )


class WalkInRefused(CheckinRefused):
    code = "walk_in_refused"


class PairingRefused(Invalid):
    code = "pairing_refused"

    def __init__(self):
        super().__init__(
            "コードが正しくないか、有効期限が切れているか、すでに使われています。"
            "職員用ページで新しいコードを発行してください。",
            field="code",
        )


# ---------------------------------------------------------------------------------------------
# Devices


def device_for_token(token: str) -> Device | None:
    """The active device with this token, or None (unknown, or revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    return (
        db.session.scalars(
            sa.select(Device)
            .where(Device.token_hash == _sha256(token), Device.revoked_at.is_(None))
            .options(joinedload(Device.events))
        )
        .unique()
        .first()
    )


def device_caller() -> Caller | None:
    """`Authorization: Bearer <device token>` on the API: the device as a caller."""
    if not request.path.startswith(API_PREFIX):
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    device = device_for_token(token)
    if device is None:
        return None
    return Caller(
        kind=DEVICE,
        role=DEVICE,
        id=device.id,
        label=f"端末 {device.name}",
        organization_id=device.organization_id,
        event_ids=device.event_ids,
        device=device,
    )


def _caller() -> Caller | None:
    return current_caller() if has_request_context() else None  # a CLI command: nobody


def calling_device() -> Device | None:
    caller = _caller()
    return caller.device if caller is not None and caller.is_device else None


def _calling_staff_id() -> int | None:
    caller = _caller()
    return caller.id if caller is not None and caller.is_staff else None


def _clean_name(name: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", name or "").split())
    if not name:
        raise Invalid("端末の名前を入力してください。", field="name")
    if len(name) > MAX_DEVICE_NAME:
        raise Invalid(f"端末の名前は{MAX_DEVICE_NAME}文字以内にしてください。", field="name")
    return name


def create_device(name: str, events: Iterable[Event], created_by=None) -> Device:
    """A device for these events (all of one organization, none cancelled)."""
    name = _clean_name(name)
    events = list(dict.fromkeys(events))
    db.session.flush()  # events made in this transaction have their ids
    if not events:
        raise Invalid("受付に使う催しを1つ以上選んでください。", field="event_ids")
    if len({e.organization_id for e in events}) != 1:
        raise Invalid("1台の端末には、同じ主催団体の催しだけを選べます。", field="event_ids")
    if any(e.status == EventStatus.CANCELLED for e in events):
        raise Invalid("中止になった催しは選べません。", field="event_ids")
    device = Device(
        name=name,
        organization_id=events[0].organization_id,
        events=events,
        created_by_id=getattr(created_by, "id", None),
    )
    db.session.add(device)
    db.session.flush()
    audit.record("device.create", device, name=name, events=[e.id for e in events])
    return device


def issue_token(device: Device, now: datetime | None = None) -> str:
    """A new token for the device, replacing any earlier one; returned once, never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device.token_hash = _sha256(token)
    device.paired_at = now or utcnow()
    db.session.flush()
    return token


def _new_pairing_code() -> str:
    return "".join(secrets.choice(TICKET_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))


def format_pairing_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalize_code(text: str) -> str:
    """What a person types: 全角, lower case, spaces and hyphens are all fine."""
    text = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in text if ch.isalnum())[:64]


@dataclass
class Pairing:
    code: str  # shown once (formatted ABCD-EFGH)
    row: DevicePairing


def new_pairing(device: Device, now: datetime | None = None) -> Pairing:
    """A one-time code to pair a tablet with the device; earlier unused codes stop working."""
    now = now or utcnow()
    if not device.is_active:
        raise CheckinRefused("無効にした端末には、新しいコードを発行できません。")
    db.session.execute(
        sa.update(DevicePairing)
        .where(
            DevicePairing.device_id == device.id,
            DevicePairing.used_at.is_(None),
            DevicePairing.expires_at > now,
        )
        .values(expires_at=now)
    )
    code = _new_pairing_code()
    row = DevicePairing(
        device=device,
        code_hash=_sha256(code),
        created_by_id=_calling_staff_id(),
        created_at=now,
        expires_at=now + pairing_lifetime(),
    )
    db.session.add(row)
    db.session.flush()
    audit.record("device.pairing_code", device, expires_at=row.expires_at.isoformat())
    return Pairing(format_pairing_code(code), row)


def pair(code: str, now: datetime | None = None) -> tuple[Device, str]:
    """Exchange a pairing code for the device's token: once, before it expires."""
    now = now or utcnow()
    code = normalize_code(code)
    if len(code) != PAIRING_CODE_LENGTH:
        raise PairingRefused()
    row = db.session.scalar(
        sa.select(DevicePairing)
        .where(DevicePairing.code_hash == _sha256(code))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise PairingRefused()
    device = row.device
    if not device.is_active:
        raise PairingRefused()
    row.used_at = now
    token = issue_token(device, now)
    audit.record("device.pair", device, name=device.name)
    return device, token


def revoke(device: Device, now: datetime | None = None) -> None:
    """無効にする: the device's next request is refused (401) and its page wipes its data."""
    if device.revoked_at is not None:
        return
    device.revoked_at = now or utcnow()
    device.revoked_by_id = _calling_staff_id()
    db.session.execute(
        sa.update(DevicePairing)
        .where(DevicePairing.device_id == device.id, DevicePairing.used_at.is_(None))
        .values(expires_at=device.revoked_at)
    )
    db.session.flush()
    audit.record("device.revoke", device, name=device.name)


def touch(device: Device | None, now: datetime | None = None) -> None:
    """Remember when the device was last heard from (at most every TOUCH_INTERVAL)."""
    if device is None:
        return
    now = now or utcnow()
    if device.last_seen_at is None or now - device.last_seen_at >= TOUCH_INTERVAL:
        device.last_seen_at = now


@dataclass
class DeviceLine:
    device: Device
    checkins: int


def device_lines(scope: Callable[[sa.Select], sa.Select]) -> list[DeviceLine]:
    """Devices the caller may manage, newest first, with the check-ins each sent."""
    counts = (
        sa.select(Attendance.device_id, sa.func.count().label("n"))
        .where(Attendance.device_id.is_not(None))
        .group_by(Attendance.device_id)
        .subquery()
    )
    statement = scope(
        sa.select(Device, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.device_id == Device.id)
        .options(selectinload(Device.events))
        .order_by(Device.id.desc())
    )
    return [DeviceLine(d, n) for d, n in db.session.execute(statement)]


# ---------------------------------------------------------------------------------------------
# Sessions a device works on


def todays_sessions(event_ids: Iterable[int], now: datetime | None = None) -> list[Session]:
    """Sessions of these events held today (Japan time), in order."""
    now = (now or utcnow()).astimezone(JST)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return list(
        db.session.scalars(
            sa.select(Session)
            .join(Event)
            .where(
                Session.event_id.in_(list(event_ids)),
                Event.status != EventStatus.CANCELLED,
                Session.starts_at < start + timedelta(days=1),
                Session.ends_at >= start,
            )
            .order_by(Session.starts_at, Session.id)
            .options(selectinload(Session.event))
        )
    )


def session_for_caller(session_id: int) -> Session:
    """A session the caller may check people in for (another organization's: not found)."""
    session = (
        db.session.get(Session, session_id, options=[joinedload(Session.event)])
        if 0 < session_id < 2**31
        else None
    )
    if session is None or not can_manage(session.event.organization_id, session.event_id):
        raise NotFound("この回は見つかりません。", code="unknown_session", field="session_id")
    return session


def device_roster(session: Session) -> list:
    """What a tablet keeps of a session: its roster (the read is audited as the device's)."""
    touch(calling_device())
    return session_roster(session, Purpose.VIEW, via="device")


@dataclass
class Counts:
    confirmed: int  # 申込 (参加確定)
    checked_in: int  # 受付済
    walk_ins: int  # 当日


def session_counts(session: Session) -> Counts:
    """受付済 23 / 申込 40 / 当日 2, in one query."""
    counting = sa.and_(Attendance.session_id == session.id, Attendance.undone_at.is_(None))
    row = db.session.execute(
        sa.select(
            sa.select(sa.func.count())
            .select_from(Registration)
            .where(
                Registration.event_id == session.event_id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
            .scalar_subquery(),
            sa.select(sa.func.count()).select_from(Attendance).where(counting).scalar_subquery(),
            sa.select(sa.func.count())
            .select_from(Attendance)
            .where(counting, Attendance.method == AttendanceMethod.WALK_IN)
            .scalar_subquery(),
        )
    ).one()
    return Counts(*row)


# ---------------------------------------------------------------------------------------------
# Check-in


@dataclass
class CheckinInput:
    """One check-in as a tablet sends it (or staff enter it)."""

    ticket: str
    uuid: str | None = None
    scanned_at: datetime | None = None
    method: str = AttendanceMethod.QR


@dataclass
class CheckinResult:
    # "checked_in": this request recorded it (or is the same request again);
    # "already_checked_in": someone checked the person in before; "undone": undone since.
    status: str
    attendance: Attendance
    registration: Registration
    # The HTTP status the API answers with.
    http_status: int = 201
    extra: dict = field(default_factory=dict)


def normalize_ticket(text: str) -> str:
    """A ticket code as typed (全角, lower case, spaces, hyphens) → the stored code."""
    return normalize_code(text)[:MAX_TICKET_LENGTH]


def find_registration(ticket: str) -> Registration | None:
    code = normalize_ticket(ticket)
    if not code:
        return None
    return db.session.scalar(sa.select(Registration).where(Registration.ticket == code))


def by_uuid(uuid: str) -> Attendance | None:
    return db.session.scalar(
        sa.select(Attendance)
        .where(Attendance.client_uuid == uuid)
        .execution_options(populate_existing=True)
    )


def _check_registration(registration: Registration | None, session: Session) -> Registration:
    if registration is None:
        raise UnknownTicket()
    if registration.event_id != session.event_id:
        raise OtherEvent()
    if registration.status == RegistrationStatus.CANCELLED:
        raise CancelledRegistration()
    if registration.status != RegistrationStatus.CONFIRMED:
        raise NotConfirmed(registration)
    return registration


def _replay(attendance: Attendance, session: Session, ticket: str) -> CheckinResult:
    """The same UUID again: the same answer (or, if undone since, that it was undone)."""
    registration = attendance.registration
    if attendance.session_id != session.id or registration.ticket != normalize_ticket(ticket):
        raise UuidReused()
    if attendance.undone_at is not None:
        return CheckinResult("undone", attendance, registration, 200)
    return CheckinResult("checked_in", attendance, registration, 201)


def _insert_once(values: dict) -> Attendance | None:
    """Insert the attendance unless the pair (or the UUID) exists; the new row (read back by
    the insert itself), or None if it existed."""
    statement = (
        dialect_insert(db.engine.dialect.name, Attendance)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(Attendance)
    )
    return db.session.scalars(
        sa.select(Attendance).from_statement(statement),
        execution_options={"populate_existing": True},
    ).first()


def _the_row(registration_id: int, session_id: int, *, lock: bool = False) -> Attendance | None:
    """The attendance of the pair as committed now; `lock`: held until the transaction ends
    (only to change it: a batch reads many rows, and locks taken in its own order would
    deadlock with another tablet's batch)."""
    query = sa.select(Attendance).where(
        Attendance.registration_id == registration_id, Attendance.session_id == session_id
    )
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query.execution_options(populate_existing=True))


def _values(
    registration: Registration,
    session: Session,
    item: CheckinInput,
    now: datetime,
    checked_in_at: datetime | None = None,
) -> dict:
    """The attendance row a check-in records."""
    device = calling_device()
    scanned_at = item.scanned_at
    if checked_in_at is None:
        # The time of the scan (an offline queue arrives later), never a time still to come.
        checked_in_at = min(scanned_at, now) if scanned_at is not None else now
    return {
        "registration_id": registration.id,
        "session_id": session.id,
        "client_uuid": item.uuid,
        "checked_in_at": checked_in_at,
        "method": AttendanceMethod(item.method),
        "device_id": device.id if device else None,
        "recorded_by_id": _calling_staff_id(),
        "scanned_at": scanned_at,
        "received_at": now,
        "late": scanned_at is not None and now - scanned_at > late_after(),
    }


def check_in(
    session: Session,
    item: CheckinInput,
    now: datetime | None = None,
    *,
    checked_in_at: datetime | None = None,
) -> CheckinResult:
    """Check the ticket's holder in at `session`: once, whoever asks how often."""
    now = now or utcnow()
    if item.uuid is not None and (earlier := by_uuid(item.uuid)) is not None:
        return _replay(earlier, session, item.ticket)
    registration = _check_registration(find_registration(item.ticket), session)
    values = _values(registration, session, item, now, checked_in_at)
    inserted = _insert_once(values)
    if inserted is not None:  # a new row: this transaction holds it
        _changed(inserted, registration, session)
        return CheckinResult("checked_in", inserted, registration, 201)
    attendance = _the_row(registration.id, session.id)
    if attendance is None:
        # The UUID, not the pair, was taken: the same request, sent twice at once.
        earlier = by_uuid(item.uuid) if item.uuid else None
        if earlier is None:
            raise CheckinRefused("受付を記録できませんでした。もう一度お試しください。")
        return _replay(earlier, session, item.ticket)
    if attendance.undone_at is not None:
        # Undone: to be checked in anew, under the row's lock (another request may be at it).
        attendance = _the_row(registration.id, session.id, lock=True)
    if item.uuid is not None and attendance.client_uuid == item.uuid:
        return _replay(attendance, session, item.ticket)
    if attendance.undone_at is None:
        return CheckinResult("already_checked_in", attendance, registration, 200)
    # Undone earlier, checked in again: the same row, its history in the audit log.
    audit.record(
        "attendance.redo",
        attendance,
        previous={
            "checked_in_at": attendance.checked_in_at.isoformat(),
            "method": str(attendance.method),
            "device_id": attendance.device_id,
            "client_uuid": attendance.client_uuid,
            "undone_at": attendance.undone_at.isoformat(),
            "undone_by_id": attendance.undone_by_id,
            "undone_by_device_id": attendance.undone_by_device_id,
        },
    )
    for name, value in values.items():
        if name not in ("registration_id", "session_id"):
            setattr(attendance, name, value)
    attendance.undone_at = None
    attendance.undone_by_id = None
    attendance.undone_by_device_id = None
    _changed(attendance, registration, session)
    return CheckinResult("checked_in", attendance, registration, 201)


def _changed(attendance: Attendance, registration: Registration, session: Session) -> None:
    db.session.flush()
    completion.attendance_changed(registration, session)


@dataclass
class BatchAnswer:
    uuid: str | None
    result: CheckinResult | None = None
    error: DomainError | None = None


def check_in_many(
    items: list[tuple[int, CheckinInput]], now: datetime | None = None
) -> list[BatchAnswer]:
    """A batch (an offline queue), each item answered on its own, in order, as `check_in`
    would answer it alone; one refusal leaves the others recorded.

    Most items of a queue are plain first check-ins: a valid ticket, nobody in yet. Those are
    found with one read of each kind for the whole batch and recorded with one ``INSERT … ON
    CONFLICT DO NOTHING`` and one call of the completion rule for all of them. Every other
    item — a ticket refused, already in or twice in the batch, a UUID twice in the batch, a row
    the insert did not make (the UUID was sent before, or a concurrent request inserted the
    pair first) — goes through `check_in` afterwards, in its own savepoint, and so gets
    exactly the single check-in's answer."""
    now = now or utcnow()
    answers: list[BatchAnswer | None] = [None] * len(items)
    sessions: dict[int, Session | DomainError] = {}
    for session_id in dict.fromkeys(session_id for session_id, _ in items):
        try:
            sessions[session_id] = session_for_caller(session_id)
        except DomainError as error:
            sessions[session_id] = error
    codes = {normalize_ticket(item.ticket) for _, item in items} - {""}
    registrations = {
        r.ticket: r
        for r in db.session.scalars(sa.select(Registration).where(Registration.ticket.in_(codes)))
    }
    present = set(
        db.session.execute(
            sa.select(Attendance.registration_id, Attendance.session_id).where(
                Attendance.registration_id.in_({r.id for r in registrations.values()}),
                Attendance.session_id.in_(sessions),
            )
        ).tuples()
    )
    first: dict[tuple[int, int], tuple[int, dict, Registration, Session]] = {}
    later: list[int] = []
    seen: set[str] = set()  # UUIDs earlier in the batch
    for i, (session_id, item) in enumerate(items):
        session = sessions[session_id]
        if isinstance(session, DomainError):
            answers[i] = BatchAnswer(item.uuid, error=session)
            continue
        if item.uuid is None or item.uuid in seen:
            later.append(i)
            continue
        seen.add(item.uuid)
        try:
            registration = _check_registration(
                registrations.get(normalize_ticket(item.ticket)), session
            )
        except DomainError:
            later.append(i)  # answered by `check_in` (a UUID sent before is answered as before)
            continue
        pair = (registration.id, session.id)
        if pair in present or pair in first:
            later.append(i)
            continue
        first[pair] = (i, _values(registration, session, item, now), registration, session)
    if first:
        later.extend(_record_first(first, answers))
    for i in sorted(later):
        session_id, item = items[i]
        savepoint = db.session.begin_nested()
        try:
            result = check_in(sessions[session_id], item, now)
        except DomainError as error:
            savepoint.rollback()
            answers[i] = BatchAnswer(item.uuid, error=error)
            continue
        savepoint.commit()
        answers[i] = BatchAnswer(item.uuid, result=result)
    return answers


def _record_first(
    first: dict[tuple[int, int], tuple[int, dict, Registration, Session]],
    answers: list[BatchAnswer | None],
) -> list[int]:
    """Insert a batch's first check-ins together and run the completion rule once for them;
    answers the ones recorded, returns the indexes left to `check_in` (a row inserted first by
    a concurrent request; all of them if the rule refused: each then on its own)."""
    savepoint = db.session.begin_nested()
    try:
        # In (registration, session) order, so two batches insert in the same order.
        rows = db.session.scalars(
            dialect_insert(db.engine.dialect.name, Attendance)
            .on_conflict_do_nothing()
            .returning(Attendance),
            [first[pair][1] for pair in sorted(first)],
            execution_options={"populate_existing": True},
        ).all()
        inserted = {(a.registration_id, a.session_id): a for a in rows}
        recorded = [first[pair] for pair in sorted(first) if pair in inserted]
        completion.attendances_changed([(r, s) for _, _, r, s in recorded])
    except DomainError:
        savepoint.rollback()
        return [i for i, _, _, _ in first.values()]
    savepoint.commit()
    for i, _, registration, session in recorded:
        attendance = inserted[(registration.id, session.id)]
        answers[i] = BatchAnswer(
            attendance.client_uuid,
            result=CheckinResult("checked_in", attendance, registration, 201),
        )
    return [i for pair, (i, _, _, _) in first.items() if pair not in inserted]


def undo(attendance: Attendance, now: datetime | None = None, *, window: bool = True) -> None:
    """Undo a check-in: recorded (when, who or which device), never deleted. `window`: only
    within the undo window (a tablet); staff on the roster page may undo any time."""
    now = now or utcnow()
    if attendance.undone_at is not None:
        return
    received = attendance.received_at or attendance.checked_in_at
    if window and now - received > undo_window():
        raise UndoExpired(int(undo_window().total_seconds()))
    device = calling_device()
    attendance.undone_at = now
    attendance.undone_by_id = _calling_staff_id()
    attendance.undone_by_device_id = device.id if device else None
    audit.record(
        "attendance.undo",
        attendance,
        registration_id=attendance.registration_id,
        session_id=attendance.session_id,
        checked_in_at=attendance.checked_in_at.isoformat(),
    )
    session = db.session.get(Session, attendance.session_id)
    _changed(attendance, attendance.registration, session)


def undo_by_uuid(uuid: str, now: datetime | None = None) -> Attendance:
    """DELETE /api/v1/checkins/<uuid>: the check-in this UUID recorded, undone."""
    attendance = by_uuid(uuid)
    if attendance is None or not can_manage(
        attendance.registration.event.organization_id, attendance.registration.event_id
    ):
        raise NotFound("この受付は見つかりません。", code="unknown_checkin")
    undo(attendance, now)
    return attendance


def undo_for(session: Session, registration_id: int) -> Registration:
    """Staff undo someone's check-in at the session from the roster page (any time)."""
    attendance = _the_row(registration_id, session.id, lock=True)
    if attendance is None or attendance.undone_at is not None:
        raise CheckinRefused("この方は受付済みではありません。")
    undo(attendance, window=False)
    return attendance.registration


def record_paper(session: Session, registration_ids: Iterable[int]) -> int:
    """Ticks from the printed 受付名簿, entered by staff afterwards (method `paper`). The time
    of a tick is not known: the session's start stands for it. Returns how many were new."""
    ids = sorted({int(i) for i in registration_ids})
    registrations = db.session.scalars(
        sa.select(Registration).where(Registration.id.in_(ids))
    ).all()
    if len(registrations) != len(ids):
        raise NotFound("名簿にない方が選ばれています。", field="registration_id")
    recorded = 0
    for registration in registrations:
        result = check_in(
            session,
            CheckinInput(ticket=registration.ticket, method=AttendanceMethod.PAPER),
            checked_in_at=session.starts_at,
        )
        recorded += result.status == "checked_in"
    audit.record("attendance.paper", session, registrations=ids, recorded=recorded)
    return recorded


# ---------------------------------------------------------------------------------------------
# Walk-ins (当日参加)


@dataclass
class WalkInInput:
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    residency: str
    age_group: str
    phone: str = ""
    uuid: str | None = None
    scanned_at: datetime | None = None


def walk_in(session: Session, person: WalkInInput, now: datetime | None = None) -> CheckinResult:
    """当日参加: a registration (source walk-in, no address) and its check-in in one step, if a
    seat is free. The same UUID again answers with the same registration."""
    now = now or utcnow()
    for name in ("family_name", "given_name", "family_name_kana", "given_name_kana"):
        value = getattr(person, name)
        # (NFKC can lengthen what was typed: ㍿ is four characters.)
        if not value or len(value) > 60 or (name.endswith("_kana") and not is_katakana(value)):
            raise Invalid(
                "入力内容に誤りがあります。", fields={name: "入力内容を確認してください。"}
            )
    if person.uuid is not None and (earlier := by_uuid(person.uuid)) is not None:
        if earlier.session_id != session.id or earlier.method != AttendanceMethod.WALK_IN:
            raise UuidReused()
        return _replay(earlier, session, earlier.registration.ticket)
    event = registration_services.lock_event(session.event_id)
    if registration_services.count_confirmed(event.id) >= event.capacity:
        raise WalkInRefused("満席のため、当日参加を受け付けられません。")
    applicant = registration_services.Applicant(
        family_name=person.family_name,
        given_name=person.given_name,
        family_name_kana=person.family_name_kana,
        given_name_kana=person.given_name_kana,
        email="",
        phone=person.phone,
        residency=person.residency,
        age_group=person.age_group,
    )
    registration = registration_services.register(
        event, applicant, source=RegistrationSource.WALK_IN, now=now, by_staff=True
    ).registration
    if registration.status != RegistrationStatus.CONFIRMED:
        raise WalkInRefused(
            f"当日参加を受け付けられません（{registration.status_label}になります）。"
        )
    return check_in(
        session,
        CheckinInput(
            ticket=registration.ticket,
            uuid=person.uuid,
            scanned_at=person.scanned_at,
            method=AttendanceMethod.WALK_IN,
        ),
        now,
    )
