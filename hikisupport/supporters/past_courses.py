"""Past courses: rosters the office kept before this service (CSV or Excel) become events,
sessions, attendances and certifications, so those supporters count too.

One row per person per session attended. Columns (header in the first row; see
`COLUMNS` and the sample `samples/past_courses.csv`):

    講座名* 種類 開催日* 開始時刻 終了時刻 会場 姓* 名* セイ メイ 電話番号 メールアドレス
    在住・在勤・在学* 年代* 修了

Rows with the same 講座名 and 種類 are one event; its sessions are the distinct 開催日 (第1回,
第2回 … by date). 修了 「はい」 on any of a person's rows certifies them, at their last session
attended (a 講演会 never certifies). People are matched to existing persons by name (漢字 or
フリガナ) and e-mail address or phone number, and within the file the same way; the matches
are shown in the dry run. Nothing is saved by the dry run; applying is all or nothing.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from hikisupport.core.database import utcnow
from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import db
from hikisupport.core.japanese import (
    ERAS,
    JST,
    is_email,
    is_phone_number,
    normalize_email,
    normalize_kana,
    normalize_phone,
    normalize_text,
)
from hikisupport.models import (
    AgeGroup,
    Attendance,
    AttendanceMethod,
    CertificationSource,
    Event,
    EventKind,
    EventStatus,
    Organization,
    PastCourseImport,
    Person,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Residency,
    Session,
)
from hikisupport.registration.tickets import new_personal_token, new_ticket_code
from hikisupport.reports import participation
from hikisupport.staff import audit
from hikisupport.supporters import services

REQUIRED = ["講座名", "開催日", "姓", "名", "在住・在勤・在学", "年代"]
COLUMNS = [
    "講座名",
    "種類",
    "開催日",
    "開始時刻",
    "終了時刻",
    "会場",
    "姓",
    "名",
    "セイ",
    "メイ",
    "電話番号",
    "メールアドレス",
    "在住・在勤・在学",
    "年代",
    "修了",
]
MAX_BYTES = 2_000_000
MAX_ROWS = 5000
KINDS = {
    "サポーター養成講座": EventKind.COURSE,
    "養成講座": EventKind.COURSE,
    "講演会": EventKind.LECTURE,
    "": EventKind.COURSE,
}
RESIDENCIES = {
    "在住": Residency.LIVE,
    "区内在住": Residency.LIVE,
    "在勤": Residency.WORK,
    "区内在勤": Residency.WORK,
    "在学": Residency.STUDY,
    "区内在学": Residency.STUDY,
    "その他": Residency.OTHER,
    "区外": Residency.OTHER,
}
AGE_GROUPS = {label: value for value, label in AgeGroup.labels().items()} | {
    "10代": "under20",
    "80代": "80plus",
    "90代": "80plus",
}
YES = {"はい", "○", "〇", "済", "修了", "yes", "y", "1", "true"}
NO = {"", "いいえ", "×", "未", "no", "n", "0", "false"}
ERA_DATE = re.compile(r"^(令和|平成)(元|\d+)年(\d+)月(\d+)日$")


@dataclass
class Row:
    line: int
    title: str
    kind: str
    day: date
    starts: time
    ends: time
    venue: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    phone: str
    email: str
    residency: str
    age_group: str
    completed: bool
    # How the person was found: "" (new), or a description of the existing person matched.
    match: str = ""
    person_id: int | None = None
    person_key: str = ""


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def events(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys((r.title, r.kind) for r in self.rows))

    @property
    def persons(self) -> int:
        return len({r.person_key for r in self.rows})

    @property
    def matched(self) -> int:
        return len({r.person_key for r in self.rows if r.person_id})

    @property
    def completions(self) -> int:
        return len(
            {
                (r.person_key, r.title, r.kind)
                for r in self.rows
                if r.completed and r.kind == EventKind.COURSE
            }
        )


# ---------------------------------------------------------------------------------------------
# Reading the file


def read_table(content: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8, with or without BOM, or Shift_JIS from Excel) or .xlsx."""
    if len(content) > MAX_BYTES:
        raise DomainError("ファイルが大きすぎます（2MBまで）。", code="too_large", status=413)
    if filename.lower().endswith(".xlsx"):
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        except Exception as error:  # noqa: BLE001 - any unreadable workbook is the same answer
            raise DomainError(
                "Excelファイルとして読めません。", code="unreadable", status=422
            ) from error
        values = [
            ["" if v is None else _cell(v) for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
    else:
        for encoding in ("utf-8-sig", "cp932"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise DomainError(
                "文字コードが読めません（UTF-8またはShift_JISのCSVにしてください）。",
                code="unreadable",
                status=422,
            )
        values = list(csv.reader(io.StringIO(text)))
    values = [row for row in values if any(str(v).strip() for v in row)]
    if not values:
        raise DomainError("ファイルに行がありません。", code="empty", status=422)
    header = [normalize_text(str(v)) for v in values[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DomainError(
            "1行目（見出し）に次の列がありません：" + "、".join(missing), code="columns", status=422
        )
    if len(values) - 1 > MAX_ROWS:
        raise DomainError(f"行が多すぎます（{MAX_ROWS}行まで）。", code="too_many", status=422)
    return [
        {h: str(row[i]).strip() if i < len(row) else "" for i, h in enumerate(header)}
        for row in values[1:]
    ]


def _cell(value) -> str:
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == time() else value.strftime("%Y-%m-%d %H:%M")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _date(text: str) -> date | None:
    text = unicodedata.normalize("NFKC", text).strip()
    match = ERA_DATE.match(text)
    if match:
        era, year, month, day = match.groups()
        start = next(d for d, name in ERAS if name == era)
        year = start.year + (1 if year == "元" else int(year)) - 1
        text = f"{year}-{month}-{day}"
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"):
        try:
            parsed = datetime.strptime(text.split(" ")[0], fmt).date()
        except ValueError:
            continue
        return parsed if 2000 <= parsed.year <= 2100 else None
    return None


def _time(text: str, default: time) -> time | None:
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return default
    match = re.fullmatch(r"(\d{1,2})[:時](\d{2})?分?", text)
    if not match or int(match.group(1)) > 23:
        return None
    return time(int(match.group(1)), int(match.group(2) or 0))


def parse(content: bytes, filename: str) -> Plan:
    """Check every row (messages in Japanese, with the row's line number) and match people."""
    plan = Plan()
    for index, raw in enumerate(read_table(content, filename), start=2):
        problems = []

        def need(column, raw=raw, problems=problems):
            value = normalize_text(raw.get(column, ""))
            if not value and column in REQUIRED:
                problems.append(f"{column}を入力してください")
            return value

        title = need("講座名")
        kind_text = need("種類")
        kind = KINDS.get(kind_text)
        if kind is None:
            problems.append("種類は「サポーター養成講座」または「講演会」にしてください")
        day_text = need("開催日")
        day = _date(day_text) if day_text else None
        if day_text and day is None:
            problems.append("開催日は「2025-11-08」や「令和7年11月8日」の形で入力してください")
        starts = _time(raw.get("開始時刻", ""), time(10, 0))
        if starts is None:
            problems.append("開始時刻は「14:00」の形で入力してください")
        ends = _time(
            raw.get("終了時刻", ""),
            time(((starts or time(10)).hour + 2) % 24, (starts or time(10)).minute),
        )
        if ends is None:
            problems.append("終了時刻は「16:00」の形で入力してください")
        elif starts is not None and ends <= starts:
            problems.append("終了時刻は開始時刻より後にしてください")
        family, given = need("姓"), need("名")
        for value, column in ((family, "姓"), (given, "名")):
            if len(value) > 60:
                problems.append(f"{column}は60文字以内にしてください")
        kana_family = normalize_kana(raw.get("セイ", ""))
        kana_given = normalize_kana(raw.get("メイ", ""))
        phone = normalize_phone(raw.get("電話番号", ""))
        if phone and not is_phone_number(phone):
            problems.append("電話番号の形式が正しくありません")
        email = normalize_email(raw.get("メールアドレス", ""))
        if email and not is_email(email):
            problems.append("メールアドレスの形式が正しくありません")
        residency = RESIDENCIES.get(need("在住・在勤・在学"))
        if residency is None and raw.get("在住・在勤・在学", "").strip():
            problems.append(
                "在住・在勤・在学は「在住」「在勤」「在学」「その他」のいずれかにしてください"
            )
        age_text = need("年代")
        age = AGE_GROUPS.get(age_text)
        if age is None and age_text:
            problems.append("年代は「20歳未満」「20代」…「80歳以上」のいずれかにしてください")
        done = normalize_text(raw.get("修了", "")).lower()
        if done not in YES | NO:
            problems.append("修了は「はい」または「いいえ」にしてください")
        if problems:
            plan.errors.append(f"{index}行目：" + "。".join(problems) + "。")
            continue
        plan.rows.append(
            Row(
                line=index,
                title=title,
                kind=kind,
                day=day,
                starts=starts,
                ends=ends,
                venue=normalize_text(raw.get("会場", "")) or "（記録なし）",
                family_name=family,
                given_name=given,
                family_name_kana=kana_family,
                given_name_kana=kana_given,
                phone=phone,
                email=email,
                residency=residency,
                age_group=age,
                completed=done in YES,
            )
        )
    _check_events(plan)
    _match(plan)
    return plan


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=JST).astimezone(UTC)


def _check_events(plan: Plan) -> None:
    for title, kind in plan.events:
        first = min(r.day for r in plan.rows if (r.title, r.kind) == (title, kind))
        exists = db.session.scalar(
            sa.select(Event.id)
            .join(Session, Session.event_id == Event.id)
            .where(
                Event.title == title,
                Session.starts_at >= _at(first, time(0)),
                Session.starts_at < _at(first + timedelta(days=1), time(0)),
            )
            .limit(1)
        )
        if exists:
            plan.errors.append(
                f"「{title}」（{first:%Y-%m-%d}）はすでに登録されています（催し #{exists}）。"
                "同じ講座を二度取り込まないよう、この講座の行を外してください。"
            )


def _name_key(family: str, given: str) -> str:
    return (family + given).replace(" ", "")


def _match(plan: Plan) -> None:
    """Existing persons by name and (e-mail or phone); the same person within the file too."""
    in_file: dict[tuple, str] = {}
    for row in plan.rows:
        name = _name_key(row.family_name, row.given_name)
        kana = _name_key(row.family_name_kana, row.given_name_kana)
        found = _existing_person(name, kana, row.email, row.phone)
        if found is not None:
            row.person_id, row.match = found
            row.person_key = f"person:{row.person_id}"
            continue
        keys = [k for k in ((name, "e", row.email), (name, "p", row.phone)) if k[2]]
        key = next((in_file[k] for k in keys if k in in_file), None) or f"row:{row.line}"
        for k in keys or [(name, "line", row.line)]:
            in_file.setdefault(k, key)
        row.person_key = key


def _existing_person(name: str, kana: str, email: str, phone: str) -> tuple[int, str] | None:
    if not (email or phone):
        return None
    same_name = sa.or_(
        (Registration.family_name + Registration.given_name) == name,
        *([(Registration.family_name_kana + Registration.given_name_kana) == kana] if kana else []),
    )
    contact = []
    if email:
        contact.append(Person.email == email)
    if phone:
        contact.append(Registration.phone == phone)
    row = db.session.execute(
        sa.select(Person.id, Person.email == email if email else sa.false(), Registration.phone)
        .join(Registration, Registration.person_id == Person.id)
        .where(same_name, sa.or_(*contact))
        .order_by(Person.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    by = "氏名とメールアドレス" if row[1] else "氏名と電話番号"
    return row[0], f"既存の方（記録 #{row[0]}）と一致：{by}"


# ---------------------------------------------------------------------------------------------
# The dry run and applying


def upload(
    content: bytes, filename: str, organization: Organization
) -> tuple[PastCourseImport, Plan]:
    """Keep the file (to apply it later exactly as checked) and check it: the dry run."""
    plan = parse(content, filename)
    batch = PastCourseImport(
        filename=filename[:200],
        content=content,
        organization_id=organization.id,
        uploaded_by=services._caller_label(""),
    )
    db.session.add(batch)
    db.session.flush()
    audit.record(
        "past_courses.check",
        batch,
        rows=len(plan.rows),
        errors=len(plan.errors),
        filename=filename[:200],
    )
    return batch, plan


def apply(batch: PastCourseImport) -> dict:
    """Create the events, sessions, registrations, attendances and certifications; all or
    nothing (a refusal rolls back the whole request)."""
    if batch.applied_at is not None:
        raise DomainError("この名簿はすでに取り込みました。", code="already_applied")
    plan = parse(batch.content, batch.filename)
    if not plan.ok:
        raise DomainError(
            "名簿に誤りがあるため取り込めません。内容を直して、もう一度確認してください。",
            code="invalid_roster",
            status=422,
        )
    persons: dict[str, Person] = {}
    created = {
        "events": 0,
        "sessions": 0,
        "registrations": 0,
        "attendances": 0,
        "certifications": 0,
    }
    now = utcnow()
    for title, kind in plan.events:
        rows = [r for r in plan.rows if (r.title, r.kind) == (title, kind)]
        days = sorted({(r.day, r.starts, r.ends) for r in rows})
        event = Event(
            organization_id=batch.organization_id,
            kind=kind,
            title=title,
            description="過去の名簿から取り込んだ講座です。",
            capacity=len({r.person_key for r in rows}),
            waitlist=False,
            certifies=kind == EventKind.COURSE,
            registration_opens_at=_at(days[0][0], time(0)) - timedelta(days=30),
            registration_closes_at=_at(days[0][0], days[0][1]),
            status=EventStatus.PUBLISHED,
            sessions=[
                Session(
                    number=i + 1,
                    starts_at=_at(d, s),
                    ends_at=_at(d, e),
                    venue=next(r.venue for r in rows if r.day == d),
                )
                for i, (d, s, e) in enumerate(days)
            ],
        )
        db.session.add(event)
        db.session.flush()
        created["events"] += 1
        created["sessions"] += len(days)
        session_of = {(s.starts_at): s for s in event.sessions}
        registrations: dict[str, Registration] = {}
        for row in rows:
            person = persons.get(row.person_key)
            if person is None:
                person = (
                    db.session.get(Person, row.person_id)
                    if row.person_id
                    else _new_person(row.email, now)
                )
                persons[row.person_key] = person
            registration = registrations.get(row.person_key)
            if registration is None:
                registration = _registration(event, person, row, now)
                registrations[row.person_key] = registration
                created["registrations"] += 1
            session = session_of[_at(row.day, row.starts)]
            if not db.session.scalar(
                sa.select(Attendance.id).filter_by(
                    registration_id=registration.id, session_id=session.id
                )
            ):
                db.session.add(
                    Attendance(
                        registration_id=registration.id,
                        session_id=session.id,
                        checked_in_at=session.starts_at,
                        method=AttendanceMethod.STAFF,
                    )
                )
                db.session.flush()
                created["attendances"] += 1
        if kind != EventKind.COURSE:
            participation.refresh(r.person_id for r in registrations.values())
            continue
        for key, registration in registrations.items():
            mine = [r for r in rows if r.person_key == key]
            if not any(r.completed for r in mine):
                continue
            services.lock_person(registration.person_id)
            last = max(_at(r.day, r.starts) for r in mine)
            basis = list(
                db.session.scalars(sa.select(Attendance).filter_by(registration_id=registration.id))
            )
            services.issue(
                registration,
                source=CertificationSource.IMPORT,
                completed_at=last,
                basis=basis,
                reason=f"過去の名簿から取込（{batch.filename}）",
                mail=False,
            )
            created["certifications"] += 1
    batch.applied_at = now
    batch.summary = created
    db.session.flush()
    audit.record("past_courses.apply", batch, **created)
    return created


def _new_person(email: str, now: datetime) -> Person:
    # An address that already belongs to someone else (a family member) is not taken over.
    taken = email and db.session.scalar(sa.select(Person.id).where(Person.email == email))
    person = Person(email=None if taken or not email else email, created_at=now)
    db.session.add(person)
    db.session.flush()
    return person


def _registration(event: Event, person: Person, row: Row, now: datetime) -> Registration:
    while True:
        ticket = new_ticket_code()
        if not db.session.scalar(sa.select(Registration.id).filter_by(ticket=ticket)):
            break
    registration = Registration(
        event=event,
        person=person,
        status=RegistrationStatus.CONFIRMED,
        token=new_personal_token(),
        ticket=ticket,
        family_name=row.family_name,
        given_name=row.given_name,
        family_name_kana=row.family_name_kana,
        given_name_kana=row.given_name_kana,
        phone=row.phone,
        residency=row.residency,
        age_group=row.age_group,
        source=RegistrationSource.IMPORT,
        created_at=now,
        confirmed_at=now,
    )
    db.session.add(registration)
    db.session.flush()
    return registration
