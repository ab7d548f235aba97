"""Open data: the directory and the events as files other sites can link as they are.

- 相談先 as CSV in the 「公共施設一覧」 columns and 催し as CSV in the 「イベント一覧」 columns
  of the 推奨データセット (自治体標準オープンデータセット) item definitions — the edition whose
  columns begin 都道府県コード又は市区町村コード, NO, 都道府県名, 市区町村名 (see README).
- 相談先 as Open Referral HSDS 3.0 JSON, with the licence in the file.

Machine-readable (機械判読可能なデータの表記方法の統一ルール): one table, the header in the
first row, one value per cell, dates ``YYYY-MM-DD``, times ``HH:MM``, UTF-8 with BOM. The
code column holds the municipality's 全国地方公共団体コード from its settings. Nothing personal:
services and events only, never a registration or a supporter.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, format_phone, prefecture_of, to_jst
from hikisupport.core.urls import external_url
from hikisupport.directory import schedules, services
from hikisupport.models import (
    Booking,
    ConsultMethod,
    Event,
    EventKind,
    EventStatus,
    Service,
    ServiceAudience,
    ServiceStatus,
)
from hikisupport.municipality.services import current_municipality

LICENSE_NAME = "クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）"
LICENSE_ID = "CC-BY-4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/deed.ja"
LICENSE_LINK = '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'

# 推奨データセット「公共施設一覧」 (24 columns, in the definition's order).
PUBLIC_FACILITY_COLUMNS = [
    "都道府県コード又は市区町村コード",
    "NO",
    "都道府県名",
    "市区町村名",
    "名称",
    "名称_カナ",
    "名称_通称",
    "POIコード",
    "住所",
    "方書",
    "緯度",
    "経度",
    "電話番号",
    "内線番号",
    "法人番号",
    "団体名",
    "利用可能曜日",
    "開始時間",
    "終了時間",
    "利用可能日時特記事項",
    "説明",
    "バリアフリー情報",
    "URL",
    "備考",
]

# 推奨データセット「イベント一覧」 (32 columns, in the definition's order).
EVENT_COLUMNS = [
    "都道府県コード又は市区町村コード",
    "NO",
    "都道府県名",
    "市区町村名",
    "イベント名",
    "イベント名_カナ",
    "イベント名_英語",
    "開始日",
    "終了日",
    "開始時間",
    "終了時間",
    "開始日時特記事項",
    "説明",
    "料金(基本)",
    "料金(詳細)",
    "連絡先名称",
    "連絡先電話番号",
    "連絡先内線番号",
    "主催者",
    "場所名称",
    "住所",
    "方書",
    "緯度",
    "経度",
    "アクセス方法",
    "駐車場情報",
    "定員",
    "参加申込終了日",
    "参加申込終了時間",
    "参加申込方法",
    "URL",
    "備考",
]

WEEKDAY_NAMES = "月火水木金土日"


def _one_line(text: str) -> str:
    """One value per cell, on one line: line breaks become spaces."""
    return " ".join(part.strip() for part in (text or "").splitlines() if part.strip())


def _csv(columns: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else _one_line(str(v)) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _publisher() -> tuple[str, str, str]:
    municipality = current_municipality()
    if municipality is None:
        return "", "", ""
    return municipality.code, prefecture_of(municipality.code), municipality.name


def open_services() -> list[Service]:
    """What the open data lists: every public entry (公開 and 一時休止), by id."""
    return [s for s in services.all_services() if s.is_public]


def _common_hours(service: Service) -> tuple[str, str]:
    """開始時間・終了時間 when every opening rule has the same hours, else blank (see 特記事項)."""
    hours = {(r.opens_at, r.closes_at) for r in service.schedules if not r.closed}
    if len(hours) != 1:
        return "", ""
    opens, closes = hours.pop()
    return f"{opens:%H:%M}", f"{closes:%H:%M}"


def hours_note(service: Service, today) -> str:
    parts = [schedules.describe(service)]
    if service.schedule_note:
        parts.append(service.schedule_note)
    parts += [schedules.closure_text(c) for c in schedules.upcoming_closures(service, today)]
    if service.is_paused:
        parts.insert(0, "現在、一時休止中です。")
    return "。".join(p.rstrip("。") for p in parts if p) + "。"


def _service_note(service: Service) -> str:
    parts = [
        f"種類：{service.kind_label}",
        "対象：" + "・".join(ServiceAudience.label_of(a) for a in service.audiences)
        if service.audiences
        else "",
        f"対象年齢：{service.age_note}" if service.age_note else "",
        "相談の方法：" + "・".join(ConsultMethod.label_of(m) for m in service.consult_methods)
        if service.consult_methods
        else "",
        f"費用：{service.cost}" if service.cost else "",
        f"予約：{Booking.label_of(service.booking)}",
        f"申込方法：{_one_line(service.how_to_apply)}" if service.how_to_apply else "",
        "匿名で相談できます" if service.anonymous_ok else "",
        "ご家族だけでも相談できます" if service.family_alone_ok else "",
        f"最終確認日：{service.last_checked_on.isoformat()}",
    ]
    return "。".join(p.rstrip("。") for p in parts if p) + "。"


def public_facilities_csv(now: datetime | None = None) -> bytes:
    """相談先一覧 in the 公共施設一覧 columns."""
    today = (now or utcnow()).astimezone(JST).date()
    code, prefecture, city = _publisher()
    rows = []
    for s in open_services():
        opens, closes = _common_hours(s)
        rows.append(
            [
                code,
                s.id,
                prefecture,
                city,
                s.name,
                s.name_kana,
                "",
                "",
                s.address,
                "",
                "" if s.latitude is None else repr(s.latitude),
                "" if s.longitude is None else repr(s.longitude),
                format_phone(s.phone) if s.phone else "",
                "",
                "",
                s.operator,
                ",".join(WEEKDAY_NAMES[d] for d in schedules.open_weekdays(s)),
                opens,
                closes,
                hours_note(s, today),
                s.description,
                s.accessibility,
                s.url or external_url("directory.detail", service_id=s.id),
                _service_note(s),
            ]
        )
    return _csv(PUBLIC_FACILITY_COLUMNS, rows)


def open_events() -> list[Event]:
    """Published events (drafts and cancelled ones are not listed), by first session."""
    query = (
        sa.select(Event)
        .where(Event.status == EventStatus.PUBLISHED)
        .options(selectinload(Event.sessions), selectinload(Event.organization))
    )
    found = [e for e in db.session.scalars(query) if e.sessions]
    return sorted(found, key=lambda e: (e.first_starts_at, e.id))


def events_csv() -> bytes:
    """催し in the イベント一覧 columns: no registration, no person, counts of nobody."""
    code, prefecture, city = _publisher()
    municipality = current_municipality()
    office = municipality.office_name if municipality else ""
    rows = []
    for event in open_events():
        first, last = event.sessions[0], event.sessions[-1]
        start, end = to_jst(first.starts_at), to_jst(last.ends_at)
        closes = to_jst(event.registration_closes_at)
        sessions_note = (
            f"全{len(event.sessions)}回："
            + "、".join(
                f"第{s.number}回 {to_jst(s.starts_at):%Y-%m-%d %H:%M}〜{to_jst(s.ends_at):%H:%M}"
                f"（{s.venue}）"
                for s in event.sessions
            )
            if len(event.sessions) > 1
            else ""
        )
        free = event.fee.strip() in ("", "無料")
        rows.append(
            [
                code,
                event.id,
                prefecture,
                city,
                event.title,
                "",
                "",
                f"{start:%Y-%m-%d}",
                f"{end:%Y-%m-%d}",
                f"{start:%H:%M}",
                f"{to_jst(first.ends_at):%H:%M}",
                sessions_note,
                event.description,
                0 if free else "",
                "無料" if free else event.fee,
                office,
                "",
                "",
                event.organization.name,
                first.venue,
                "",
                "",
                "",
                "",
                first.access,
                "",
                event.capacity,
                f"{closes:%Y-%m-%d}",
                f"{closes:%H:%M}",
                f"ウェブ（催しのページから申し込み、{event.admission_label}）",
                external_url("events.event_detail", event_id=event.id),
                "。".join(
                    p
                    for p in (
                        f"種類：{EventKind.label_of(event.kind)}",
                        f"対象：{event.audience}" if event.audience else "",
                        "申込できる方：" + "・".join(event.residency_labels),
                    )
                    if p
                )
                + "。",
            ]
        )
    return _csv(EVENT_COLUMNS, rows)


_HSDS_STATUS = {
    ServiceStatus.PUBLISHED: "active",
    ServiceStatus.PAUSED: "temporarily closed",
}


def _hsds_schedule(rule) -> dict:
    entry = {
        "freq": rule.freq,
        "byday": rule.byday,
        "opens_at": None if rule.closed else f"{rule.opens_at:%H:%M}",
        "closes_at": None if rule.closed else f"{rule.closes_at:%H:%M}",
        "valid_from": rule.valid_from.isoformat() if rule.valid_from else None,
        "valid_to": rule.valid_to.isoformat() if rule.valid_to else None,
        "timezone": 9,
        "description": schedules.rule_text(rule) + ("は休み" if rule.closed else ""),
    }
    if rule.closed:
        entry["notes"] = "closed"
    return entry


def hsds_json(now: datetime | None = None) -> dict:
    """The directory as Open Referral HSDS 3.0 services, with the licence in the file."""
    now = now or utcnow()
    today = now.astimezone(JST).date()
    code, prefecture, city = _publisher()
    items = []
    for s in open_services():
        items.append(
            {
                "id": str(s.id),
                "name": s.name,
                "alternate_name": s.name_kana or None,
                "description": s.description,
                "url": s.url or external_url("directory.detail", service_id=s.id),
                "email": s.email or None,
                "status": _HSDS_STATUS[ServiceStatus(s.status)],
                "application_process": s.how_to_apply or None,
                "fees_description": s.cost or None,
                "eligibility_description": "・".join(
                    [ServiceAudience.label_of(a) for a in s.audiences]
                    + ([s.age_note] if s.age_note else [])
                )
                or None,
                "assured_date": s.last_checked_on.isoformat(),
                "last_modified": to_jst(s.updated_at).isoformat(timespec="seconds"),
                "organization": {"name": s.operator} if s.operator else None,
                "phones": [{"number": format_phone(s.phone)}] if s.phone else [],
                "schedules": [_hsds_schedule(r) for r in s.schedules],
                "service_at_locations": [
                    {
                        "location": {
                            "name": s.name,
                            "location_type": "physical",
                            "addresses": [
                                {
                                    "address_1": s.address,
                                    "city": city,
                                    "state_province": prefecture,
                                    "country": "JP",
                                    "address_type": "physical",
                                }
                            ]
                            if s.address
                            else [],
                            "latitude": s.latitude,
                            "longitude": s.longitude,
                            "transportation": s.access or None,
                            "accessibility": [{"description": s.accessibility}]
                            if s.accessibility
                            else [],
                        }
                    }
                ],
                # Ours, not HSDS: what the directory filters on and the dated closures.
                "x_hikisupport": {
                    "kind": s.kind,
                    "audiences": list(s.audiences),
                    "consult_methods": list(s.consult_methods),
                    "anonymous_ok": s.anonymous_ok,
                    "family_alone_ok": s.family_alone_ok,
                    "confidentiality": s.confidentiality or None,
                    "closed_on_holidays": s.closed_on_holidays,
                    "closed_year_end": s.closed_year_end,
                    "opening_hours_text": schedules.describe(s),
                    "closures": [
                        {
                            "starts_on": c.starts_on.isoformat(),
                            "ends_on": c.ends_on.isoformat(),
                            "reason": c.reason,
                        }
                        for c in schedules.upcoming_closures(s, today)
                    ],
                },
            }
        )
    return {
        "hsds_version": "3.0",
        "title": f"{city} 相談窓口・居場所の一覧".strip(),
        "publisher": {"name": city, "local_government_code": code, "prefecture": prefecture},
        "license": {"id": LICENSE_ID, "name": LICENSE_NAME, "url": LICENSE_URL},
        "attribution": f"出典：{city}「相談窓口・居場所の一覧」",
        "generated_at": to_jst(now).isoformat(timespec="seconds"),
        "services": items,
    }


_SCHEMA_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def schema_org(service: Service, now: datetime) -> dict:
    """schema.org GovernmentService: weekly rules as OpeningHoursSpecification; the next
    weeks' monthly openings and closed days (祝日, 臨時休業) as special opening hours."""
    today = now.astimezone(JST).date()
    weekly = []
    for rule in service.schedules:
        if rule.closed or rule.freq != "WEEKLY":
            continue
        spec = {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": [
                f"https://schema.org/{_SCHEMA_DAYS[b.weekday]}"
                for b in schedules.parse_byday(rule.byday, rule.freq)
            ],
            "opens": f"{rule.opens_at:%H:%M}",
            "closes": f"{rule.closes_at:%H:%M}",
        }
        if rule.valid_from:
            spec["validFrom"] = rule.valid_from.isoformat()
        if rule.valid_to:
            spec["validThrough"] = rule.valid_to.isoformat()
        weekly.append(spec)
    special = []
    for offset in range(0, 42):
        day = today + timedelta(days=offset)
        result = schedules.day_of(service, day)
        usual = any(
            not r.closed and r.freq == "WEEKLY" and schedules.applies_on(r, day)
            for r in service.schedules
        )
        if result.is_open and not usual:
            for opens, closes in result.hours:
                special.append(_special(day, f"{opens:%H:%M}", f"{closes:%H:%M}"))
        elif not result.is_open and usual:
            special.append(_special(day, "00:00", "00:00"))  # schema.org's way to say closed
    place = {"@type": "Place", "name": service.name}
    if service.address:
        place["address"] = {
            "@type": "PostalAddress",
            "streetAddress": service.address,
            "addressCountry": "JP",
        }
    if service.latitude is not None:
        place["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": service.latitude,
            "longitude": service.longitude,
        }
    if weekly:
        place["openingHoursSpecification"] = weekly
    if special:
        place["specialOpeningHoursSpecification"] = special
    channel = {"@type": "ServiceChannel", "serviceLocation": place}
    if service.phone:
        channel["servicePhone"] = {
            "@type": "ContactPoint",
            "telephone": format_phone(service.phone),
        }
    if service.url:
        channel["serviceUrl"] = service.url
    data = {
        "@context": "https://schema.org",
        "@type": "GovernmentService",
        "name": service.name,
        "alternateName": service.name_kana or None,
        "description": service.description,
        "serviceType": service.kind_label,
        "url": external_url("directory.detail", service_id=service.id),
        "availableChannel": channel,
        "audience": [
            {"@type": "Audience", "audienceType": ServiceAudience.label_of(a)}
            for a in service.audiences
        ],
        "dateModified": service.last_checked_on.isoformat(),
    }
    if service.operator:
        data["provider"] = {"@type": "Organization", "name": service.operator}
    municipality = current_municipality()
    if municipality is not None:
        data["areaServed"] = {"@type": "AdministrativeArea", "name": municipality.name}
    return {k: v for k, v in data.items() if v not in (None, [], "")}


def _special(day, opens: str, closes: str) -> dict:
    return {
        "@type": "OpeningHoursSpecification",
        "validFrom": day.isoformat(),
        "validThrough": day.isoformat(),
        "opens": opens,
        "closes": closes,
    }
