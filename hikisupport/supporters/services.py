"""Completion and certification: the rule, the numbering, manual certify / revoke / correct,
cohorts for make-ups (振替), and what organizers see of each registrant's progress.

Every decision about one person takes that person's row lock first (`lock_person`: ``SELECT …
FOR UPDATE`` on PostgreSQL; SQLite's write transactions are serialised already), so two
check-ins completing the same course at once certify once. Numbers come from a per-fiscal-year
counter row updated in the same transaction, so they are unique and without gaps.

Functions here flush, never commit: the request (or CLI command) commits once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy.orm import joinedload

from hikisupport.core.database import dialect_insert, utcnow
from hikisupport.core.errors import DomainError, Invalid
from hikisupport.core.extensions import db
from hikisupport.core.japanese import fiscal_year
from hikisupport.core.transaction import execute_write
from hikisupport.models import (
    Attendance,
    CertificateCounter,
    Certification,
    CertificationAttendance,
    CertificationSource,
    CourseCohort,
    CourseSeries,
    Event,
    EventKind,
    Person,
    PersonMerge,
    Registration,
    RegistrationStatus,
    Revocation,
    Service,
    ServiceKind,
    ServiceStatus,
    ServiceSupporter,
    Session,
)
from hikisupport.staff import audit
from hikisupport.staff.access import current_caller
from hikisupport.supporters import notifications

MAX_REASON = 500


class CertificationRefused(DomainError):
    code, status = "certification_refused", 409


# ---------------------------------------------------------------------------------------------
# Persons and cohorts


def _canonical(person_id: int):
    """SQL for the person record a person counts as: the record it was merged into, or itself."""
    merged_into = (
        sa.select(PersonMerge.into_id)
        .where(PersonMerge.duplicate_id == person_id)
        .scalar_subquery()
    )
    return sa.func.coalesce(merged_into, person_id)


def canonical_person_id(person_id: int) -> int:
    """The person record a person counts as: itself, or the record it was merged into."""
    return db.session.scalar(sa.select(_canonical(person_id)))


def person_ids_of(canonical_id: int) -> list[int]:
    """Every person record that counts as `canonical_id` (itself and those merged into it)."""
    merged = db.session.scalars(
        sa.select(PersonMerge.duplicate_id).where(PersonMerge.into_id == canonical_id)
    ).all()
    return [canonical_id, *merged]


def lock_person(person_id: int) -> int:
    """Hold the lock of the person's canonical record until the transaction ends; returns
    its id. Every certification decision about that person runs after this."""
    return lock_persons([person_id])[int(person_id)][0]


def lock_persons(person_ids: Iterable[int]) -> dict[int, tuple[int, list[int]]]:
    """Hold the locks of these persons' canonical records (taken in id order) until the
    transaction ends, and tell what `person_ids_of` tells, in one statement: each person →
    (its canonical record, every record that counts as that one)."""
    ids = sorted({int(i) for i in person_ids})
    if not ids:
        return {}
    canonical_ids = (
        sa.select(sa.func.coalesce(PersonMerge.into_id, Person.id))
        .select_from(Person)
        .outerjoin(PersonMerge, PersonMerge.duplicate_id == Person.id)
        .where(Person.id.in_(ids))
        .correlate(None)  # its own FROM, not the persons of the statement around it
    )
    rows = db.session.execute(
        sa.select(Person.id, PersonMerge.duplicate_id)
        .outerjoin(PersonMerge, PersonMerge.into_id == Person.id)
        .where(Person.id.in_(canonical_ids))
        .order_by(Person.id, PersonMerge.duplicate_id)
        .with_for_update(of=Person)
    ).all()
    members: dict[int, list[int]] = {}
    for canonical, duplicate in rows:
        members.setdefault(canonical, [canonical])
        if duplicate is not None:
            members[canonical].append(duplicate)
    found = {pid: canonical for canonical, ids_ in members.items() for pid in ids_}
    answer = {}
    for pid in ids:
        canonical = found.get(pid)
        if canonical is None:  # no person row to lock: the record the merges name
            canonical = canonical_person_id(pid)
            members.setdefault(canonical, person_ids_of(canonical))
        answer[pid] = (canonical, members[canonical])
    return answer


def cohort_event_ids(event_id: int) -> list[int]:
    """The event and every cohort linked with it (the same course, another 期)."""
    series_id = db.session.scalar(
        sa.select(CourseCohort.series_id).where(CourseCohort.event_id == event_id)
    )
    if series_id is None:
        return [event_id]
    return list(
        db.session.scalars(
            sa.select(CourseCohort.event_id)
            .where(CourseCohort.series_id == series_id)
            .order_by(CourseCohort.event_id)
        )
    )


def link_cohorts(event: Event, other: Event) -> None:
    """Link two cohorts of the same course (振替 between them); audited."""
    if other.id == event.id:
        raise Invalid("同じ講座どうしは結びつけられません。", field="other_event_id")
    if EventKind.LECTURE in (event.kind, other.kind):
        raise Invalid("振替は講座どうしで設定します。", field="other_event_id")
    if len(other.sessions) != len(event.sessions):
        raise Invalid(
            "回数が同じ講座だけを、同じ講座の別の期として結びつけられます。",
            field="other_event_id",
        )
    if other.organization_id != event.organization_id:
        raise Invalid("同じ主催団体の講座だけを結びつけられます。", field="other_event_id")
    mine = db.session.get(CourseCohort, event.id)
    theirs = db.session.get(CourseCohort, other.id)
    if mine and theirs:
        if mine.series_id == theirs.series_id:
            return
        raise Invalid(
            "どちらの講座も別のグループに入っています。先にどちらかの結びつきを外してください。",
            field="other_event_id",
        )
    series_id = (mine or theirs).series_id if (mine or theirs) else None
    if series_id is None:
        series = CourseSeries(organization_id=event.organization_id)
        db.session.add(series)
        db.session.flush()
        series_id = series.id
    for e in (event, other):
        if db.session.get(CourseCohort, e.id) is None:
            db.session.add(CourseCohort(event_id=e.id, series_id=series_id))
    db.session.flush()
    audit.record("cohort.link", event, other_event_id=other.id, series_id=series_id)


def unlink_cohort(event: Event) -> None:
    cohort = db.session.get(CourseCohort, event.id)
    if cohort is not None:
        db.session.delete(cohort)
        db.session.flush()
        audit.record("cohort.unlink", event, series_id=cohort.series_id)


# ---------------------------------------------------------------------------------------------
# Attendance: what counts towards completion


@dataclass
class Progress:
    """A registrant's attendance towards completing their course (振替 included)."""

    required: int
    # session number → the attendance that counts for it (the earliest, any linked cohort)
    attended: dict[int, Attendance] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.attended) >= self.required

    def basis(self) -> list[Attendance]:
        """The attendances the completion rests on: the first `required` by date."""
        ordered = sorted(self.attended.values(), key=lambda a: (a_session(a).starts_at, a.id))
        return ordered[: self.required]


def a_session(attendance: Attendance) -> Session:
    return db.session.get(Session, attendance.session_id)


def progress_of(
    registration: Registration,
    person_ids: list[int] | None = None,
    events: list[int] | None = None,
) -> Progress:
    """Counting attendances that are not undone, at this event or a linked cohort's
    same-numbered session (`events`: the cohorts, if the caller has them), by any registration
    of the same person."""
    if person_ids is None:
        person_ids = person_ids_of(canonical_person_id(registration.person_id))
    if events is None:
        events = cohort_event_ids(registration.event.id)
    return progress_of_many(registration.event, events, {0: person_ids})[0]


def progress_of_many(
    event: Event, events: list[int], persons: dict[int, list[int]]
) -> dict[int, Progress]:
    """`progress_of` for several persons of one event in one query. `persons`: each canonical
    record → every record that counts as it (`person_ids_of`)."""
    total = len(event.sessions)
    required = min(event.sessions_required, total) if total else 1
    progress = {canonical: Progress(required=required) for canonical in persons}
    owner = {pid: canonical for canonical, ids in persons.items() for pid in ids}
    rows = db.session.execute(
        sa.select(Attendance, Session.number, Registration.person_id)
        .join(Session, Session.id == Attendance.session_id)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(
            Attendance.undone_at.is_(None),
            Session.event_id.in_(events),
            Session.number <= total,
            Registration.person_id.in_(owner),
        )
        .order_by(Session.starts_at, Attendance.id)
    ).all()
    for attendance, number, person_id in rows:
        progress[owner[person_id]].attended.setdefault(number, attendance)
    return progress


# ---------------------------------------------------------------------------------------------
# The rule (called by supporters.completion.attendance_changed)


def _certifications_for(person_ids: list[int], event_ids: list[int]) -> list[Certification]:
    return list(
        db.session.scalars(
            sa.select(Certification)
            .where(Certification.person_id.in_(person_ids), Certification.event_id.in_(event_ids))
            .order_by(Certification.id)
            .execution_options(populate_existing=True)
        )
    )


def decide(registration: Registration, session: Session | None = None) -> Certification | None:
    """After `registration`'s attendance changed: certify the person if they now complete the
    course, withdraw an automatic certification whose completing attendance was undone.
    Replaying it changes nothing. Returns the person's valid certification for the course."""
    return decide_many([registration])[0]


def decide_many(registrations: Sequence[Registration]) -> list[Certification | None]:
    """`decide` for each of several registrations (a batch of check-ins), in order, with one
    read of each kind for all of them: the persons locked together (in id order), their
    registrations, certifications and attendance read once per event. A person who comes
    twice is decided again afterwards on its own, seeing what the first decision did."""
    answers: list[Certification | None] = [None] * len(registrations)
    todo = [(i, r) for i, r in enumerate(registrations) if r.event.certifies]
    if not todo:
        return answers
    persons = lock_persons(r.person_id for _, r in todo)
    db.session.execute(
        sa.select(Registration)
        .where(Registration.id.in_({r.id for _, r in todo}))
        .execution_options(populate_existing=True)
    ).all()
    by_event: dict[int, list[tuple[int, Registration]]] = {}
    again, seen = [], set()
    for i, registration in todo:
        canonical = persons[registration.person_id][0]
        if canonical in seen:
            again.append(i)
            continue
        seen.add(canonical)
        by_event.setdefault(registration.event_id, []).append((i, registration))
    for group in by_event.values():
        event = group[0][1].event
        cohorts = cohort_event_ids(event.id)
        members = {persons[r.person_id][0]: persons[r.person_id][1] for _, r in group}
        owner = {pid: canonical for canonical, ids in members.items() for pid in ids}
        existing: dict[int, list[Certification]] = {canonical: [] for canonical in members}
        for certification in _certifications_for(list(owner), cohorts):
            existing[owner[certification.person_id]].append(certification)
        progress = progress_of_many(event, cohorts, members)
        for i, registration in group:
            canonical = persons[registration.person_id][0]
            answers[i] = _decide(registration, canonical, existing[canonical], progress[canonical])
    to_issue = [(i, a) for i, a in enumerate(answers) if isinstance(a, ToIssue)]
    issued = issue_many([a for _, a in to_issue], source=CertificationSource.ATTENDANCE)
    for (i, _), certification in zip(to_issue, issued, strict=True):
        answers[i] = certification
    for i in again:
        answers[i] = decide_many([registrations[i]])[0]
    return answers


def _decide(
    registration: Registration,
    canonical: int,
    existing: list[Certification],
    progress: Progress,
) -> Certification | ToIssue | None:
    """The rule, for one registration, on what `decide_many` read with the person locked; a
    new certification is returned as what to issue (`decide_many` issues them together)."""
    event = registration.event
    live = next((c for c in existing if c.is_valid), None)
    if live is not None:
        if live.source == CertificationSource.ATTENDANCE and _rests_on_undone(live):
            if progress.complete:
                _rest_on(live, progress.basis())
                audit.record("certification.rebase", live, number=live.number)
            else:
                _invalidate(live, Revocation.WITHDRAWN, "完了の根拠となった出席が取り消されたため")
                return None
        return live

    if not progress.complete or registration.status != RegistrationStatus.CONFIRMED:
        return None
    if any(c.revocation == Revocation.REVOKED for c in existing):
        return None  # revoked by staff: only staff certify this person again
    withdrawn = next((c for c in existing if c.revocation == Revocation.WITHDRAWN), None)
    if withdrawn is not None and withdrawn.event_id == event.id:
        # The undone check-in was made again: the same certification, number and mail.
        withdrawn.revoked_at = None
        withdrawn.revocation = None
        withdrawn.revoked_by = ""
        withdrawn.revoke_reason = ""
        db.session.flush()
        _rest_on(withdrawn, progress.basis())
        audit.record("certification.reinstate", withdrawn, number=withdrawn.number)
        return withdrawn
    basis = progress.basis()
    return ToIssue(registration, a_session(basis[-1]).starts_at, basis, canonical)


def _rests_on_undone(certification: Certification) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CertificationAttendance)
            .join(Attendance, Attendance.id == CertificationAttendance.attendance_id)
            .where(
                CertificationAttendance.certification_id == certification.id,
                Attendance.undone_at.is_not(None),
            )
        )
    )


def _rest_on(certification: Certification, basis: list[Attendance]) -> None:
    certification.attendances = [CertificationAttendance(attendance_id=a.id) for a in basis]
    db.session.flush()


# ---------------------------------------------------------------------------------------------
# Issuing, numbering


def allocate_serial(fy: int, count: int = 1) -> int:
    """The next number of fiscal year `fy` (the last of the next `count`), from its counter row,
    made or advanced by one upsert that locks it until the transaction ends (a rollback gives
    the numbers back, so there is never a gap)."""
    insert = dialect_insert(db.engine.dialect.name, CertificateCounter)
    return db.session.execute(
        insert.values(fiscal_year=fy, last_serial=count)
        .on_conflict_do_update(
            index_elements=["fiscal_year"],
            set_={"last_serial": CertificateCounter.last_serial + insert.excluded.last_serial},
        )
        .returning(CertificateCounter.last_serial)
    ).scalar_one()


def new_verification_code() -> str:
    """The secret in the certificate's QR: 192 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(24)


def _caller_label(default: str) -> str:
    caller = current_caller() if has_request_context() else None
    return caller.label if caller is not None else default


def issue(
    registration: Registration,
    *,
    source: str,
    completed_at: datetime,
    basis: list[Attendance] = (),
    reason: str = "",
    mail: bool = True,
    counted_person_id: int | None = None,
) -> Certification:
    """A new certification for the registration's person (the caller holds the person lock and
    has checked there is no valid one): numbered, its basis recorded, mailed, audited.
    `counted_person_id`: the person's canonical record, if the caller has it (`lock_person`)."""
    item = ToIssue(registration, completed_at, list(basis), counted_person_id)
    return issue_many([item], source=source, reason=reason, mail=mail)[0]


@dataclass
class ToIssue:
    """A certification the rule decided to issue."""

    registration: Registration
    completed_at: datetime
    basis: list[Attendance]
    counted_person_id: int | None = None


_INSERT_CERTIFICATION = sa.insert(Certification).returning(Certification)
_INSERT_BASIS = sa.insert(CertificationAttendance.__table__)


def issue_many(
    items: list[ToIssue], *, source: str, reason: str = "", mail: bool = True
) -> list[Certification]:
    """`issue` for several persons at once (a batch of check-ins completing the course), in
    order: numbers taken together from each fiscal year's counter, the rows, audit entries and
    mails each written by one insert."""
    if not items:
        return []
    years = [fiscal_year(item.completed_at) for item in items]
    serials = {}
    for fy in sorted(set(years)):  # counters locked in one order
        count = years.count(fy)
        last = allocate_serial(fy, count)
        serials[fy] = iter(range(last - count + 1, last + 1))
    certified_by = _caller_label("自動（出席の記録）")
    rows = [
        {
            "person_id": item.registration.person_id,
            "counted_person_id": item.counted_person_id
            or canonical_person_id(item.registration.person_id),
            "event_id": item.registration.event_id,
            "registration_id": item.registration.id,
            "fiscal_year": fy,
            "serial": next(serials[fy]),
            "edition": 1,
            "completed_at": item.completed_at,
            "residency": item.registration.residency,
            "age_group": item.registration.age_group,
            "family_name": item.registration.family_name,
            "given_name": item.registration.given_name,
            "source": source,
            "verification_code": new_verification_code(),
            "reason": reason,
            "certified_by": certified_by,
        }
        for item, fy in zip(items, years, strict=True)
    ]
    # One INSERT … RETURNING for all of them (the unit of work would insert them one by one on
    # SQLite, whose RETURNING has no order): the rows come back in any order, each known by its
    # verification code; their basis is one more insert.
    returned = {
        c.verification_code: c for c in execute_write(_INSERT_CERTIFICATION, rows).scalars()
    }
    certifications = [returned[row["verification_code"]] for row in rows]
    basis = [
        {"certification_id": certification.id, "attendance_id": a.id}
        for certification, item in zip(certifications, items, strict=True)
        for a in item.basis
    ]
    if basis:
        execute_write(_INSERT_BASIS, basis)
    audit.record_many(
        "certification.issue",
        [
            (
                certification,
                {
                    "number": certification.number,
                    "source": source,
                    "registration_id": item.registration.id,
                    "attendances": [a.id for a in item.basis],
                    **({"reason": reason} if reason else {}),
                },
            )
            for certification, item in zip(certifications, items, strict=True)
        ],
    )
    if mail:
        notifications.certified_many(certifications)
    return certifications


def _invalidate(certification: Certification, revocation: str, reason: str) -> None:
    certification.revoked_at = utcnow()
    certification.revocation = revocation
    certification.revoked_by = _caller_label("自動")
    certification.revoke_reason = reason
    db.session.flush()
    audit.record(
        f"certification.{revocation}", certification, number=certification.number, reason=reason
    )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("理由を入力してください。", field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid(f"理由は{MAX_REASON}文字以内で入力してください。", field="reason")
    return reason


# ---------------------------------------------------------------------------------------------
# Staff actions


def certify_by_hand(
    registration: Registration, reason: str, completed_at: datetime | None = None
) -> Certification:
    """An organizer certifies a registrant (e.g. attendance kept on paper); reason required."""
    reason = _reason(reason)
    event = registration.event
    if event.kind == EventKind.LECTURE and not event.certifies:
        raise CertificationRefused("この講演会は修了認定の対象ではありません。")
    if registration.status == RegistrationStatus.CANCELLED:
        raise CertificationRefused("キャンセルされた申込は認定できません。")
    canonical = lock_person(registration.person_id)
    db.session.refresh(registration)
    person_ids = person_ids_of(canonical)
    existing = _certifications_for(person_ids, cohort_event_ids(event.id))
    live = next((c for c in existing if c.is_valid), None)
    if live is not None:
        raise CertificationRefused(
            f"この方はこの講座の修了認定をすでに受けています（修了証番号 {live.number}）。"
        )
    if completed_at is None:
        progress = progress_of(registration, person_ids)
        ended = [s.starts_at for s in event.sessions if s.starts_at <= utcnow()]
        completed_at = max(ended) if ended else utcnow()
        basis = progress.basis() if progress.attended else []
    else:
        basis = []
    return issue(
        registration,
        source=CertificationSource.MANUAL,
        completed_at=completed_at,
        basis=basis,
        reason=reason,
    )


def revoke(certification: Certification, reason: str) -> None:
    """Revoke by hand: the row stays, with who, when and why; the count drops the person
    unless another valid certification counts them."""
    reason = _reason(reason)
    lock_person(certification.person_id)
    db.session.refresh(certification)
    if not certification.is_valid:
        raise CertificationRefused("この修了認定はすでに取り消されています。")
    _invalidate(certification, Revocation.REVOKED, reason)


def correct(
    certification: Certification, family_name: str, given_name: str, reason: str
) -> Certification:
    """A corrected certificate (a misspelt name): a new row, the next edition of the same
    number and fiscal year, that replaces the old one; mailed like the first."""
    reason = _reason(reason)
    family_name, given_name = family_name.strip(), given_name.strip()
    errors = {}
    if not family_name or len(family_name) > 60:
        errors["family_name"] = "姓を60文字以内で入力してください。"
    if not given_name or len(given_name) > 60:
        errors["given_name"] = "名を60文字以内で入力してください。"
    if errors:
        raise Invalid("入力内容に誤りがあります。", fields=errors)
    lock_person(certification.person_id)
    db.session.refresh(certification)
    if not certification.is_valid:
        raise CertificationRefused("有効な修了証だけを訂正できます。")
    _invalidate(certification, Revocation.REPLACED, reason)
    edition = (
        db.session.scalar(
            sa.select(sa.func.max(Certification.edition)).where(
                Certification.fiscal_year == certification.fiscal_year,
                Certification.serial == certification.serial,
            )
        )
        + 1
    )
    corrected = Certification(
        person_id=certification.person_id,
        counted_person_id=certification.counted_person_id,
        event_id=certification.event_id,
        registration_id=certification.registration_id,
        fiscal_year=certification.fiscal_year,
        serial=certification.serial,
        edition=edition,
        completed_at=certification.completed_at,
        residency=certification.residency,
        age_group=certification.age_group,
        family_name=family_name,
        given_name=given_name,
        source=CertificationSource.CORRECTION,
        verification_code=new_verification_code(),
        reason=reason,
        certified_by=_caller_label(""),
        replaces_id=certification.id,
        attendances=[
            CertificationAttendance(attendance_id=a.attendance_id)
            for a in certification.attendances
        ],
    )
    db.session.add(corrected)
    db.session.flush()
    # The supporter still helps where they offered to: the links follow the new edition.
    db.session.execute(
        sa.update(ServiceSupporter)
        .where(ServiceSupporter.certification_id == certification.id)
        .values(certification_id=corrected.id)
    )
    audit.record(
        "certification.correct",
        corrected,
        number=corrected.number,
        replaces=certification.id,
        reason=reason,
    )
    notifications.certified(corrected)
    return corrected


# ---------------------------------------------------------------------------------------------
# Reading


def certification_by_code(code: str) -> Certification | None:
    """The certification behind a QR, with its event, in one query — the same query whether
    or not the code exists (the verification page answers unknown codes in the same time)."""
    return db.session.scalar(
        sa.select(Certification)
        .where(Certification.verification_code == (code or "")[:64])
        .options(joinedload(Certification.event))
    )


def valid_certification_for(registration: Registration) -> Certification | None:
    """The valid certification resting on this registration (for the personal page)."""
    return db.session.scalar(
        sa.select(Certification)
        .where(Certification.registration_id == registration.id, Certification.revoked_at.is_(None))
        .order_by(Certification.id.desc())
        .limit(1)
    )


# Completion status as organizers see it.
COMPLETED, ON_TRACK, AT_RISK = "completed", "on_track", "at_risk"
STATUS_LABELS = {
    COMPLETED: "修了",
    ON_TRACK: "受講中",
    AT_RISK: "要連絡（欠席した回を振替できる回が残っていません）",
}


@dataclass
class CompletionRow:
    registration: Registration
    attended: list[int]
    missing: list[int]
    # Missed sessions that can still be attended here or at a linked cohort.
    can_make_up: list[int]
    certification: Certification | None
    status: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def completion_overview(event: Event, now: datetime | None = None) -> list[CompletionRow]:
    """Each confirmed registrant's progress: attended, missed, what can still be made up, and
    a flag for those who can no longer complete (for the organizer to contact)."""
    now = now or utcnow()
    cohorts = cohort_event_ids(event.id)
    total = len(event.sessions)
    future_numbers = set(
        db.session.scalars(
            sa.select(Session.number).where(
                Session.event_id.in_(cohorts), Session.starts_at > now, Session.number <= total
            )
        )
    )
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
        .order_by(Registration.family_name_kana, Registration.given_name_kana, Registration.id)
    ).all()
    certifications = {
        c.registration_id: c
        for c in db.session.scalars(
            sa.select(Certification).where(
                Certification.event_id == event.id, Certification.revoked_at.is_(None)
            )
        )
    }
    rows = []
    for registration in registrations:
        progress = progress_of(registration)
        attended = sorted(progress.attended)
        missing = [n for n in range(1, total + 1) if n not in progress.attended]
        can_make_up = [n for n in missing if n in future_numbers]
        certification = certifications.get(registration.id)
        if certification is not None:
            status = COMPLETED
        elif len(attended) + len(can_make_up) < progress.required:
            status = AT_RISK
        else:
            status = ON_TRACK
        rows.append(
            CompletionRow(registration, attended, missing, can_make_up, certification, status)
        )
    return rows


def certifications_of_event(event: Event) -> list[Certification]:
    return list(
        db.session.scalars(
            sa.select(Certification)
            .where(Certification.event_id == event.id)
            .order_by(Certification.fiscal_year, Certification.serial, Certification.edition)
        )
    )


# ---------------------------------------------------------------------------------------------
# Services a supporter helps at (opted in from the personal page)

# What a supporter may offer to help at: the places people are guided to.
LINKABLE_KINDS = (ServiceKind.IBASHO, ServiceKind.CONSULTATION)
MAX_LINKS = 50


class LinkRefused(DomainError):
    code, status = "link_refused", 409


def linkable_services() -> list[Service]:
    """Published 居場所 and 相談窓口, in the directory's order."""
    return list(
        db.session.scalars(
            sa.select(Service)
            .where(Service.kind.in_(LINKABLE_KINDS), Service.status == ServiceStatus.PUBLISHED)
            .order_by(Service.kind, Service.name_kana, Service.id)
        )
    )


def linked_services(certification: Certification) -> list[Service]:
    """The services this certification's holder helps at."""
    return list(
        db.session.scalars(
            sa.select(Service)
            .join(ServiceSupporter, ServiceSupporter.service_id == Service.id)
            .where(ServiceSupporter.certification_id == certification.id)
            .order_by(Service.kind, Service.name_kana, Service.id)
        )
    )


def set_linked_services(registration: Registration, service_ids: list[int]) -> Certification:
    """The supporter's choice from their personal page: help at exactly these services (opt
    in to the new ones, opt out of the others). Only a valid certification may link, and only
    to a published 居場所 or 相談窓口; one already linked and since paused may stay. Audited
    as the resident's own change."""
    certification = valid_certification_for(registration)
    if certification is not None:
        lock_person(certification.person_id)
        db.session.refresh(certification)  # as of the lock: not revoked meanwhile
    if certification is None or not certification.is_valid:
        raise LinkRefused("修了認定を受けた方だけが、協力する相談先を選べます。")
    wanted = set(dict.fromkeys(service_ids))
    if len(wanted) > MAX_LINKS:
        raise Invalid(f"選べる相談先は{MAX_LINKS}件までです。", field="service_ids")
    current = {s.id for s in linked_services(certification)}
    allowed = {s.id for s in linkable_services()}
    if wanted - current - allowed:
        raise Invalid(
            "選べない相談先が含まれています（公開を終えた可能性があります）。選び直してください。",
            field="service_ids",
        )
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if removed:
        db.session.execute(
            sa.delete(ServiceSupporter).where(
                ServiceSupporter.certification_id == certification.id,
                ServiceSupporter.service_id.in_(removed),
            )
        )
    for service_id in added:
        db.session.add(ServiceSupporter(service_id=service_id, certification_id=certification.id))
    db.session.flush()
    if added or removed:
        audit.record(
            "supporter.services", certification, by="resident", added=added, removed=removed
        )
    return certification


def linked_count(service: Service) -> int:
    """How many supporters (distinct persons) help at the service: all the public page shows."""
    links = ServiceSupporter.live().where(ServiceSupporter.service_id == service.id).subquery()
    return db.session.scalar(sa.select(sa.func.count(sa.distinct(links.c.counted_person_id))))


def linked_counts() -> dict[int, int]:
    """service id → supporters (distinct persons) helping there, for the staff's list."""
    links = ServiceSupporter.live().subquery()
    rows = db.session.execute(
        sa.select(
            links.c.service_id, sa.func.count(sa.distinct(links.c.counted_person_id))
        ).group_by(links.c.service_id)
    )
    return dict(rows.all())


@dataclass
class SupporterMailing:
    queued: int
    without_address: int


MAX_SUBJECT, MAX_BODY = 100, 4000


def mail_linked_supporters(service: Service, subject: str, body: str) -> SupporterMailing:
    """An organizer's mail (e.g. a follow-up training) to every supporter linked to the
    service: one mail each, through the outbox; the roster read is the audit row."""
    from hikisupport.rosters.services import Purpose, service_supporters

    subject, body = subject.strip(), body.strip()
    errors = {}
    if not subject or len(subject) > MAX_SUBJECT:
        errors["subject"] = f"件名を{MAX_SUBJECT}文字以内で入力してください。"
    if not body or len(body) > MAX_BODY:
        errors["body"] = f"本文を{MAX_BODY}文字以内で入力してください。"
    if errors:
        raise Invalid("入力内容に誤りがあります。", fields=errors)
    rows = service_supporters(service, Purpose.MAIL, subject=subject)
    reachable = [row for row in rows if row.email]
    if not reachable:
        raise LinkRefused(
            "メールを送れるサポーターがいません"
            "（協力を申し出た方がいないか、メールアドレスがありません）。"
        )
    for row in reachable:
        notifications.to_linked_supporter(row.certification, row.email, service, subject, body)
    return SupporterMailing(queued=len(reachable), without_address=len(rows) - len(reachable))
