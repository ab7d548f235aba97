"""Person records: finding them, merging two records of the same resident, and erasing a
person's data (at their request, or by retention — see `retention`).

A merge moves nothing: the duplicate record stays with its registrations and certifications,
and counts from then on as the record it was merged into (`PersonMerge`,
`Certification.counted_person_id`). So every certification is kept, the count can only lose a
double count, and the merge is visible afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hikisupport.core.database import utcnow
from hikisupport.core.errors import DomainError, Invalid
from hikisupport.core.extensions import db
from hikisupport.core.japanese import normalize_kana, normalize_text
from hikisupport.models import (
    Certification,
    ErasureKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    PersonErasure,
    PersonMerge,
    Registration,
    ServiceSupporter,
)
from hikisupport.reports.services import count_supporters
from hikisupport.staff import audit
from hikisupport.supporters.services import _caller_label, _reason, lock_person

ERASED = "（削除済み）"


@dataclass
class PersonSummary:
    person: Person
    names: list[str]
    kana: list[str]
    phones: list[str]
    registrations: list[Registration]
    certifications: list[Certification]
    merged_into: int | None
    merged_from: list[int]
    erasure: PersonErasure | None

    @property
    def name(self) -> str:
        return self.names[0] if self.names else "（氏名なし）"


def summary(person: Person) -> PersonSummary:
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(Registration.person_id == person.id)
        .order_by(Registration.created_at.desc())
    ).all()
    return PersonSummary(
        person=person,
        names=list(dict.fromkeys(r.full_name for r in registrations if r.family_name)),
        kana=list(dict.fromkeys(r.full_name_kana for r in registrations if r.family_name_kana)),
        phones=list(dict.fromkeys(r.phone for r in registrations if r.phone)),
        registrations=list(registrations),
        certifications=list(
            db.session.scalars(
                sa.select(Certification)
                .where(Certification.person_id == person.id)
                .order_by(Certification.id)
            )
        ),
        merged_into=db.session.scalar(
            sa.select(PersonMerge.into_id).where(PersonMerge.duplicate_id == person.id)
        ),
        merged_from=list(
            db.session.scalars(
                sa.select(PersonMerge.duplicate_id).where(PersonMerge.into_id == person.id)
            )
        ),
        erasure=db.session.scalar(sa.select(PersonErasure).filter_by(person_id=person.id)),
    )


def search(query: str, limit: int = 50) -> list[PersonSummary]:
    """Persons by name, フリガナ, e-mail address or phone number; the read is audited."""
    text = normalize_text(query).replace(" ", "")
    if not text:
        return []
    kana = normalize_kana(query).replace(" ", "")
    digits = "".join(ch for ch in text if ch.isdigit())
    conditions = [
        (Registration.family_name + Registration.given_name).contains(text, autoescape=True),
        (Registration.family_name_kana + Registration.given_name_kana).contains(
            kana, autoescape=True
        ),
        Person.email.contains(text.lower(), autoescape=True),
    ]
    if len(digits) >= 4:
        conditions.append(Registration.phone.contains(digits, autoescape=True))
    ids = db.session.scalars(
        sa.select(Person.id)
        .outerjoin(Registration, Registration.person_id == Person.id)
        .where(sa.or_(*conditions))
        .distinct()
        .order_by(Person.id)
        .limit(limit)
    ).all()
    audit.record("person.search", object_type="persons", query=query[:100], rows=len(ids))
    return [summary(db.session.get(Person, i)) for i in ids]


def read(person: Person) -> PersonSummary:
    """One person's record for staff; audited."""
    audit.record("person.view", person)
    return summary(person)


# ---------------------------------------------------------------------------------------------
# Merging


@dataclass
class MergePreview:
    duplicate: PersonSummary
    into: PersonSummary
    count_before: int
    count_after: int


def _check_merge(duplicate: Person, into: Person) -> None:
    if duplicate.id == into.id:
        raise Invalid("同じ記録どうしは統合できません。", field="into_id")
    if db.session.scalar(sa.select(PersonMerge.id).filter_by(duplicate_id=into.id)):
        raise Invalid(
            "統合先の記録はすでに別の記録に統合されています。その統合先を指定してください。",
            field="into_id",
        )
    if db.session.scalar(sa.select(PersonMerge.id).filter_by(duplicate_id=duplicate.id)):
        raise DomainError("この記録はすでに統合されています。", code="already_merged")


def preview_merge(duplicate: Person, into: Person) -> MergePreview:
    """What a merge would do, including its effect on the indicator (a double count going)."""
    _check_merge(duplicate, into)
    before = count_supporters().total
    counted = {duplicate.id, into.id}
    persons = db.session.execute(
        sa.select(Certification.counted_person_id)
        .where(Certification.counted_person_id.in_(counted), Certification.revoked_at.is_(None))
        .distinct()
    ).all()
    # Both counted separately today → one fewer after the merge (only counted residencies).
    both = len(persons) == 2 and _both_counted(duplicate.id, into.id)
    audit.record("person.merge_preview", duplicate, into=into.id)
    return MergePreview(summary(duplicate), summary(into), before, before - (1 if both else 0))


def _both_counted(a: int, b: int) -> bool:
    from hikisupport.reports.services import counted_residencies

    counted = db.session.scalars(
        sa.select(Certification.counted_person_id)
        .where(
            Certification.counted_person_id.in_([a, b]),
            Certification.revoked_at.is_(None),
            Certification.residency.in_(counted_residencies()),
        )
        .distinct()
    ).all()
    return len(counted) == 2


def merge(duplicate: Person, into: Person, reason: str) -> PersonMerge:
    """Merge `duplicate` into `into` (reason required; audited). Records merged into the
    duplicate earlier follow it; every certification is kept and counted once."""
    reason = _reason(reason)
    _check_merge(duplicate, into)
    for person_id in sorted({duplicate.id, into.id}):  # a fixed order: no deadlock
        lock_person(person_id)
    moved = [duplicate.id] + list(
        db.session.scalars(sa.select(PersonMerge.duplicate_id).filter_by(into_id=duplicate.id))
    )
    db.session.execute(
        sa.update(PersonMerge).where(PersonMerge.into_id == duplicate.id).values(into_id=into.id)
    )
    row = PersonMerge(
        duplicate_id=duplicate.id, into_id=into.id, reason=reason, merged_by=_caller_label("")
    )
    db.session.add(row)
    db.session.execute(
        sa.update(Certification)
        .where(Certification.person_id.in_(moved))
        .values(counted_person_id=into.id)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    audit.record("person.merge", duplicate, into=into.id, moved=moved, reason=reason)
    return row


# ---------------------------------------------------------------------------------------------
# Erasing


def erase(person: Person, kind: str, reason: str = "") -> PersonErasure:
    """Anonymise a person's personal data: names, contact details and free text on every
    registration, the address on the person, the printed name on certificates, the bodies of
    mails to them. Kept: which events, attendance, residency and 年代 categories, and every
    certification row — so no count changes. Audited."""
    if kind == ErasureKind.REQUEST:
        reason = _reason(reason)
    existing = db.session.scalar(sa.select(PersonErasure).filter_by(person_id=person.id))
    if existing is not None:
        raise DomainError("この方の個人情報はすでに削除されています。", code="already_erased")
    registrations = db.session.scalars(
        sa.select(Registration).where(Registration.person_id == person.id)
    ).all()
    from hikisupport.registration.tickets import new_personal_token

    for r in registrations:
        r.family_name, r.given_name = ERASED, ""
        r.family_name_kana, r.given_name_kana = "", ""
        r.phone = ""
        r.needs = ""
        r.childcare_ages = ""
        r.cancel_reason = ""
        r.token = new_personal_token()  # the personal link stops working
    ids = [r.id for r in registrations]
    certification_ids = list(
        db.session.scalars(sa.select(Certification.id).where(Certification.person_id == person.id))
    )
    db.session.execute(
        sa.update(Certification)
        .where(Certification.person_id == person.id)
        .values(family_name="", given_name="")
        .execution_options(synchronize_session=False)
    )
    # Where they offered to help is about them too: the links go (the counts drop them).
    db.session.execute(
        sa.delete(ServiceSupporter)
        .where(ServiceSupporter.certification_id.in_(certification_ids or [0]))
        .execution_options(synchronize_session=False)
    )
    about = sa.or_(
        sa.and_(
            OutboxMessage.about_type.in_(["registrations", "registration"]),
            OutboxMessage.about_id.in_(ids or [0]),
        ),
        sa.and_(
            OutboxMessage.about_type == "certifications",
            OutboxMessage.about_id.in_(certification_ids or [0]),
        ),
    )
    db.session.execute(
        sa.update(OutboxMessage)
        .where(about)
        .values(recipient="", body_text="", body_html="", subject=ERASED)
    )
    db.session.execute(
        sa.update(OutboxMessage)
        .where(about, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.FAILED, last_error="個人情報の削除により送信を取りやめました。")
        .execution_options(synchronize_session=False)
    )
    person.email = None
    erasure = PersonErasure(
        person_id=person.id,
        kind=kind,
        reason=reason,
        erased_by=_caller_label("cli"),
        erased_at=utcnow(),
    )
    db.session.add(erasure)
    db.session.flush()
    audit.record("person.erase", person, kind=kind, registrations=len(ids), reason=reason)
    return erasure
