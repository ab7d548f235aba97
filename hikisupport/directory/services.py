"""The directory's rules and queries: what a service is made of, who may see it, searching,
and the staff's changes (each audited). Functions flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hikisupport.core.database import utcnow
from hikisupport.core.errors import Invalid, NotFound
from hikisupport.core.extensions import db
from hikisupport.core.japanese import (
    JST,
    has_control_characters,
    is_email,
    is_katakana,
    is_phone_number,
    normalize_kana,
    normalize_text,
)
from hikisupport.directory import schedules
from hikisupport.models import (
    Booking,
    ConsultMethod,
    ScheduleFrequency,
    Service,
    ServiceAudience,
    ServiceClosure,
    ServiceKind,
    ServiceSchedule,
    ServiceStatus,
)
from hikisupport.staff import audit

# An entry not confirmed with its service for this long is on the staff's reminder list.
CHECK_INTERVAL_DAYS = 180
MAX_SCHEDULES = 20
MAX_CLOSURES = 50


@dataclass
class ScheduleInput:
    freq: str
    byday: str
    opens_at: time | None = None
    closes_at: time | None = None
    closed: bool = False
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass
class ClosureInput:
    starts_on: date
    ends_on: date | None = None
    reason: str = ""


@dataclass
class ServiceInput:
    kind: str
    name: str
    last_checked_on: date
    name_kana: str = ""
    operator: str = ""
    audiences: list[str] = field(default_factory=list)
    age_note: str = ""
    description: str = ""
    address: str = ""
    access: str = ""
    phone: str = ""  # digits
    email: str = ""
    url: str = ""
    cost: str = "無料"
    booking: str = Booking.NONE
    how_to_apply: str = ""
    consult_methods: list[str] = field(default_factory=list)
    anonymous_ok: bool = False
    family_alone_ok: bool = False
    accessibility: str = ""
    confidentiality: str = ""
    latitude: float | None = None
    longitude: float | None = None
    status: str = ServiceStatus.PUBLISHED
    closed_on_holidays: bool = True
    closed_year_end: bool = True
    schedule_note: str = ""
    schedules: list[ScheduleInput] = field(default_factory=list)
    closures: list[ClosureInput] = field(default_factory=list)


# (field, limit) for the text fields: one line up to the limit, or free text.
_LINES = {
    "name": 200,
    "name_kana": 200,
    "operator": 200,
    "age_note": 100,
    "address": 300,
    "email": 254,
    "url": 500,
    "cost": 200,
    "schedule_note": 300,
}
_TEXTS = {
    "description": 4000,
    "access": 1000,
    "how_to_apply": 2000,
    "accessibility": 1000,
    "confidentiality": 1000,
}
PLAIN_FIELDS = (
    tuple(_LINES)
    + tuple(_TEXTS)
    + (
        "kind",
        "audiences",
        "phone",
        "booking",
        "consult_methods",
        "anonymous_ok",
        "family_alone_ok",
        "latitude",
        "longitude",
        "status",
        "closed_on_holidays",
        "closed_year_end",
        "last_checked_on",
    )
)


def validate(data: ServiceInput) -> dict[str, str]:
    """Every rule about a service's fields, in one place (pages and CSV import). Empty: valid."""
    errors: dict[str, str] = {}
    if data.kind not in ServiceKind.values():
        errors["kind"] = "種類を選んでください。"
    if not data.name.strip():
        errors["name"] = "名称を入力してください。"
    for name, limit in _LINES.items():
        value = getattr(data, name)
        if has_control_characters(value):
            errors.setdefault(name, "使用できない文字が含まれています。")
        elif len(value) > limit:
            errors.setdefault(name, f"{limit}文字以内で入力してください。")
    for name, limit in _TEXTS.items():
        value = getattr(data, name)
        if has_control_characters(value, allow_newlines=True):
            errors.setdefault(name, "使用できない文字が含まれています。")
        elif len(value) > limit:
            errors.setdefault(name, f"{limit}文字以内で入力してください。")
    if data.name_kana and not is_katakana(data.name_kana):
        errors.setdefault("name_kana", "名称（カナ）はカタカナで入力してください。")
    if any(a not in ServiceAudience.values() for a in data.audiences):
        errors["audiences"] = "対象は一覧から選んでください。"
    if any(m not in ConsultMethod.values() for m in data.consult_methods):
        errors["consult_methods"] = "相談の方法は一覧から選んでください。"
    if data.phone and not is_phone_number(data.phone):
        errors["phone"] = "電話番号の形式が正しくありません（例：03-5555-0101）。"
    if data.email and not is_email(data.email):
        errors.setdefault("email", "メールアドレスの形式が正しくありません。")
    if data.url and not data.url.startswith(("https://", "http://")):
        errors.setdefault("url", "ウェブページはhttps://で始まるアドレスを入力してください。")
    if data.booking not in Booking.values():
        errors["booking"] = "予約の要否を選んでください。"
    if data.status not in ServiceStatus.values():
        errors["status"] = "状態を選んでください。"
    if (data.latitude is None) != (data.longitude is None):
        errors["latitude"] = "緯度と経度は両方入力するか、両方空欄にしてください。"
    elif data.latitude is not None and not (
        -90 <= data.latitude <= 90 and -180 <= data.longitude <= 180
    ):
        errors["latitude"] = "緯度は-90〜90、経度は-180〜180の範囲で入力してください。"
    if len(data.schedules) > MAX_SCHEDULES:
        errors["schedules"] = f"開館ルールは{MAX_SCHEDULES}件までです。"
    for i, rule in enumerate(data.schedules):
        for path, message in schedule_errors(rule).items():
            errors.setdefault(f"schedules.{i}.{path}", message)
    if len(data.closures) > MAX_CLOSURES:
        errors["closures"] = f"臨時休業は{MAX_CLOSURES}件までです。"
    for i, closure in enumerate(data.closures):
        if closure.ends_on is not None and closure.ends_on < closure.starts_on:
            errors[f"closures.{i}.ends_on"] = "臨時休業の終了日は開始日以降にしてください。"
        if len(closure.reason) > 200 or has_control_characters(closure.reason):
            errors[f"closures.{i}.reason"] = "理由は200文字以内の文で入力してください。"
    return errors


def schedule_errors(rule: ScheduleInput) -> dict[str, str]:
    errors = {}
    if rule.freq not in ScheduleFrequency.values():
        errors["freq"] = "頻度は毎週または毎月から選んでください。"
    else:
        try:
            schedules.parse_byday(rule.byday, rule.freq)
        except ValueError as exc:
            errors["byday"] = str(exc)
    if not rule.closed:
        if rule.opens_at is None or rule.closes_at is None:
            errors["opens_at"] = (
                "開始と終了の時刻を入力してください（休みの行は「休み」を選びます）。"
            )
        elif rule.closes_at <= rule.opens_at:
            errors["closes_at"] = "終了の時刻は開始より後にしてください。"
    if rule.valid_from and rule.valid_to and rule.valid_to < rule.valid_from:
        errors["valid_to"] = "適用の終了日は開始日以降にしてください。"
    return errors


def refuse(errors: dict[str, str]) -> Invalid:
    return Invalid("入力内容に誤りがあります。", fields=errors)


# ---------------------------------------------------------------------------------------------
# Changes (staff)


def create_service(data: ServiceInput) -> Service:
    errors = validate(data)
    if errors:
        raise refuse(errors)
    service = Service()
    apply(service, data)
    db.session.add(service)
    db.session.flush()
    audit.record("directory.create", service, name=service.name)
    return service


def update_service(service: Service, data: ServiceInput) -> Service:
    errors = validate(data)
    if errors:
        raise refuse(errors)
    before = {"name": service.name, "status": service.status}
    apply(service, data)
    db.session.flush()
    audit.record(
        "directory.update",
        service,
        before=before,
        after={"name": service.name, "status": service.status},
    )
    return service


def apply(service: Service, data: ServiceInput) -> None:
    """Write `data` (already valid) onto `service`, its rules and closures included."""
    for name in PLAIN_FIELDS:
        value = getattr(data, name)
        setattr(service, name, value.strip() if isinstance(value, str) else value)
    service.audiences = [a.value for a in ServiceAudience if a in data.audiences]
    service.consult_methods = [m.value for m in ConsultMethod if m in data.consult_methods]
    service.schedules = [
        ServiceSchedule(
            position=i,
            freq=rule.freq,
            byday=schedules.format_byday(schedules.parse_byday(rule.byday, rule.freq)),
            opens_at=None if rule.closed else rule.opens_at,
            closes_at=None if rule.closed else rule.closes_at,
            closed=rule.closed,
            valid_from=rule.valid_from,
            valid_to=rule.valid_to,
        )
        for i, rule in enumerate(data.schedules)
    ]
    service.closures = [
        ServiceClosure(
            starts_on=c.starts_on, ends_on=c.ends_on or c.starts_on, reason=c.reason.strip()
        )
        for c in sorted(data.closures, key=lambda c: c.starts_on)
    ]


def set_status(service: Service, status: str) -> None:
    """公開 / 一時休止 / 終了 (unpublish)."""
    if status not in ServiceStatus.values():
        raise Invalid("状態は公開・一時休止・終了から選んでください。", field="status")
    if service.status != status:
        before = service.status
        service.status = status
        db.session.flush()
        audit.record("directory.status", service, before=before, after=status)


def mark_checked(service: Service, today: date) -> None:
    """最終確認日 = today: staff confirmed the entry with the service."""
    service.last_checked_on = today
    db.session.flush()
    audit.record("directory.check", service, checked_on=today.isoformat())


def input_of(service: Service) -> ServiceInput:
    """A service as input (to fill a form or compare an imported row)."""
    data = ServiceInput(
        **{name: getattr(service, name) for name in PLAIN_FIELDS},
        schedules=[
            ScheduleInput(
                freq=r.freq,
                byday=r.byday,
                opens_at=r.opens_at,
                closes_at=r.closes_at,
                closed=r.closed,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
            for r in service.schedules
        ],
        closures=[ClosureInput(c.starts_on, c.ends_on, c.reason) for c in service.closures],
    )
    data.audiences = list(service.audiences)
    data.consult_methods = list(service.consult_methods)
    return data


# ---------------------------------------------------------------------------------------------
# Queries


def _with_rules(query: sa.Select) -> sa.Select:
    return query.options(selectinload(Service.schedules), selectinload(Service.closures))


def public_service(service_id: int) -> Service:
    """A service residents may see (公開 or 一時休止), or NotFound."""
    service = db.session.scalar(_with_rules(sa.select(Service).where(Service.id == service_id)))
    if service is None or not service.is_public:
        raise NotFound("お探しの相談先は見つかりません。終了した可能性があります。")
    return service


def staff_service(service_id: int) -> Service:
    service = db.session.scalar(_with_rules(sa.select(Service).where(Service.id == service_id)))
    if service is None:
        raise NotFound("この項目は見つかりません。")
    return service


def all_services() -> list[Service]:
    return list(db.session.scalars(_with_rules(sa.select(Service).order_by(Service.id))))


def public_services() -> list[Service]:
    query = sa.select(Service).where(Service.status != ServiceStatus.CLOSED)
    return list(db.session.scalars(_with_rules(query.order_by(Service.name_kana, Service.id))))


def stale_services(today: date, days: int = CHECK_INTERVAL_DAYS) -> list[Service]:
    """Entries not confirmed for `days` days (oldest first): the staff's reminder list."""
    query = sa.select(Service).where(
        Service.status != ServiceStatus.CLOSED,
        Service.last_checked_on <= today - timedelta(days=days),
    )
    return list(db.session.scalars(query.order_by(Service.last_checked_on, Service.id)))


def fold(text: str) -> str:
    """What search compares: NFKC (全角/半角 alike), ひらがな as カタカナ, lower case."""
    return normalize_kana(text or "").lower()


def _search_text(service: Service) -> str:
    parts = [
        service.name,
        service.name_kana,
        service.operator,
        service.description,
        service.address,
        service.access,
        service.age_note,
        service.how_to_apply,
        service.kind_label,
        *(ServiceAudience.label_of(a) for a in service.audiences),
    ]
    return fold(" ".join(parts))


# 「開いている日」 filter: today, tomorrow, and the coming Saturday and Sunday.
DAY_FILTERS = {
    "today": "今日",
    "tomorrow": "明日",
    "saturday": "今度の土曜日",
    "sunday": "今度の日曜日",
}


def day_for(choice: str, now: datetime) -> date | None:
    """The date a day filter means at `now` (Japan time); None for no filter."""
    today = now.astimezone(JST).date()
    if choice == "today":
        return today
    if choice == "tomorrow":
        return today + timedelta(days=1)
    if choice in ("saturday", "sunday"):
        weekday = 5 if choice == "saturday" else 6
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return None


@dataclass
class DirectoryFilter:
    kind: str = ""
    audience: str = ""
    method: str = ""
    q: str = ""
    day: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.kind or self.audience or self.method or self.q or self.day)


@dataclass
class Listing:
    """A service as the list shows it: open today / next opening, and the chosen day."""

    service: Service
    status: schedules.OpenStatus
    on_day: schedules.Day | None = None


def search(filters: DirectoryFilter, now: datetime) -> list[Listing]:
    """Public services that match every filter; the free text ignores ひらがな/カタカナ and
    全角/半角 differences and needs every word to match."""
    terms = [t for t in fold(normalize_text(filters.q)).split(" ") if t]
    on = day_for(filters.day, now)
    found = []
    for service in public_services():
        if filters.kind and service.kind != filters.kind:
            continue
        if filters.audience and filters.audience not in service.audiences:
            continue
        if filters.method and filters.method not in service.consult_methods:
            continue
        if terms:
            text = _search_text(service)
            if not all(term in text for term in terms):
                continue
        on_day = schedules.day_of(service, on) if on else None
        if on_day is not None and not on_day.is_open:
            continue
        found.append(Listing(service, schedules.status_at(service, now), on_day))
    return found


def today_in_japan(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(JST).date()
