"""Open data: the directory and the events as files other sites can link as they are.

- 相談先 as CSV in the 「公共施設一覧」 columns and 催し as CSV in the 「イベント一覧」 columns
  of デジタル庁's 自治体標準オープンデータセット — the current edition, whose columns begin
  全国地方公共団体コード, ID, 地方公共団体名 and split the address into 所在地_* columns. The
  column lists were checked against published municipal files of that edition (see README);
  they replace the earlier 推奨データセット edition (都道府県コード又は市区町村コード, NO, …).
- 相談先 as Open Referral HSDS 3.0 JSON, with the licence in the file.

Machine-readable (機械判読可能なデータの表記方法の統一ルール): one table, the header in the
first row, one value per cell, dates ``YYYY-MM-DD``, times ``HH:MM``, UTF-8 with BOM. The
code column holds the municipality's 全国地方公共団体コード from its settings; ID is ``S`` (相談先)
or ``E`` (催し) and the row's id zero-padded to six digits. Columns we hold no data for stay
blank: nothing is invented. Nothing personal: services and events only, never a
registration or a supporter.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, PREFECTURES, format_phone, prefecture_of, to_jst
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

# The 所在地 columns, the same in both datasets.
_LOCATION_COLUMNS = [
    "所在地_全国地方公共団体コード",
    "町字ID",
    "所在地_連結表記",
    "所在地_都道府県",
    "所在地_市区町村",
    "所在地_町字",
    "所在地_番地以下",
    "建物名等(方書)",
    "緯度",
    "経度",
]

# Yes/no accessibility columns of 公共施設一覧: left blank (we hold no structured answers;
# the free-text バリアフリー・配慮 goes to 備考).
_FACILITY_ACCESSIBILITY_COLUMNS = [
    "車椅子可",
    "車椅子貸出",
    "ツエ貸出",
    "バリアフリートイレ",
    "スロープ、エレベータ、エスカレータ",
    "点字ブロック等の移動支援",
    "点字や読上による支援",
    "盲導犬・介助犬、聴導犬同伴",
    "字幕",
    "筆談対応",
    "優先駐車場",
    "オストメイト対応トイレ",
]

# Family facilities, in both datasets: left blank.
_FAMILY_COLUMNS = ["授乳室", "おむつ替えコーナー", "飲食可否", "ベビーカー貸出", "ベビーカー利用"]

# 自治体標準オープンデータセット「公共施設一覧」 (56 columns, in the definition's order).
PUBLIC_FACILITY_COLUMNS = [
    "全国地方公共団体コード",
    "ID",
    "地方公共団体名",
    "名称",
    "名称_カナ",
    "名称_英字",
    "名称_通称",
    "POIコード",
    "外部識別子",
    "外部識別子の値",
    *_LOCATION_COLUMNS,
    "高度の種別",
    "高度の値",
    "電話番号",
    "内線番号",
    "連絡先メールアドレス",
    "連絡先FormURL",
    "連絡先備考（その他、SNSなど）",
    "郵便番号",
    "法人番号",
    "団体名",
    "利用可能曜日",
    "開始時間",
    "終了時間",
    "利用可能時間特記事項",
    "説明",
    *_FACILITY_ACCESSIBILITY_COLUMNS,
    *_FAMILY_COLUMNS,
    "URL",
    "画像",
    "画像_ライセンス",
    "備考",
]

# 自治体標準オープンデータセット「イベント一覧」 (79 columns, in the definition's order).
EVENT_COLUMNS = [
    "全国地方公共団体コード",
    "法人番号",
    "ID",
    "地方公共団体名",
    "イベント名",
    "言語コード",
    "イベント通称",
    "サブタイトル",
    "イベント名_カナ",
    "イベント名_英語",
    "コンテンツURL",
    "状態",
    "キーワード",
    "タグ",
    "対象となる産業",
    "開催パターン",
    "開始日",
    "終了日",
    "開始時間",
    "終了時間",
    "開始日時特記事項",
    "所要時間",
    "掲載開始日",
    "掲載終了日",
    "概要",
    "説明",
    "サブイベント",
    "イベント種類",
    "料金(基本)",
    "料金(詳細)",
    "連絡先名称",
    "連絡先電話番号",
    "連絡先内線番号",
    "主催者",
    "共催団体",
    "関連組織",
    "対象者",
    "対象者備考",
    "場所名称",
    "集合（受付）場所",
    *_LOCATION_COLUMNS,
    "アクセス方法",
    "駐車場情報",
    "駐車場料金",
    "駐輪場情報",
    "Web開催",
    "Web開催URL",
    "ツール・環境",
    "定員",
    "定員備考",
    "料金種別",
    "決済種別",
    "外国語対応",
    "外国語対応備考",
    "開催条件",
    "参加申込終了日",
    "参加申込終了時間",
    "参加申込方法",
    "申込開始日",
    "申込開始時刻",
    "申込URL",
    "URL",
    *_FAMILY_COLUMNS,
    "画像",
    "画像_ライセンス",
    "備考",
]

WEEKDAY_NAMES = "月火水木金土日"


def _one_line(text: str) -> str:
    """One value per cell, on one line: line breaks become spaces."""
    return " ".join(part.strip() for part in (text or "").splitlines() if part.strip())


def _csv(columns: list[str], rows: list[dict]) -> bytes:
    """One row per dict (keyed by column name); a column a row does not name stays blank."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            raise KeyError(f"not a column of this dataset: {sorted(unknown)}")
        values = (row.get(column) for column in columns)
        writer.writerow(["" if v is None else _one_line(str(v)) for v in values])
    return buffer.getvalue().encode("utf-8-sig")


# (全国地方公共団体コード, prefecture, municipality name without the prefecture)
Publisher = tuple[str, str, str]


def _publisher() -> Publisher:
    """The municipality publishing the files, read once per file."""
    municipality = current_municipality()
    if municipality is None:
        return "", "", ""
    prefecture = prefecture_of(municipality.code)
    city = municipality.name
    if prefecture and city.startswith(prefecture):
        city = city[len(prefecture) :]
    return municipality.code, prefecture, city


def _joined(parts) -> str:
    """Sentences joined with 「。」, ending with one; "" when there is none."""
    text = "。".join(p.rstrip("。") for p in parts if p)
    return text + "。" if text else ""


def _common(publisher: Publisher, kind: str, record_id: int) -> dict:
    """全国地方公共団体コード, ID (``S000012``) and 地方公共団体名 (``東京都杉並区``)."""
    code, prefecture, city = publisher
    return {
        "全国地方公共団体コード": code,
        "ID": f"{kind}{record_id:06d}",
        "地方公共団体名": prefecture + city,
    }


def location(publisher: Publisher, address: str) -> dict:
    """The 所在地 columns from a stored address, without guessing.

    所在地_連結表記 is the address as stored. 所在地_都道府県 is filled when the address begins
    with a prefecture's name; when it begins with the municipality's own name (with or without
    its prefecture) the place is in the municipality, so its code, prefecture and name fill
    所在地_全国地方公共団体コード, 所在地_都道府県 and 所在地_市区町村. An address elsewhere keeps
    those blank (we hold no code list of other municipalities); 町字・番地以下・町字ID stay blank.
    """
    address = (address or "").strip()
    if not address:
        return {}
    code, prefecture, city = publisher
    found = next((p for p in PREFECTURES if address.startswith(p)), "")
    rest = address[len(found) :]
    here = bool(city) and rest.startswith(city) and found in ("", prefecture)
    return {
        "所在地_連結表記": address,
        "所在地_全国地方公共団体コード": code if here else "",
        "所在地_都道府県": prefecture if here else found,
        "所在地_市区町村": city if here else "",
    }


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
    return _joined(parts)


def _service_note(service: Service) -> str:
    """備考: what the directory knows that 公共施設一覧 has no column for."""
    return _joined(
        [
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
            # This edition has only yes/no accessibility columns; the free text goes here.
            f"バリアフリー・配慮：{_one_line(service.accessibility)}"
            if service.accessibility
            else "",
            f"最終確認日：{service.last_checked_on.isoformat()}",
        ]
    )


def public_facilities_csv(now: datetime | None = None) -> bytes:
    """相談先一覧 in the 公共施設一覧 columns."""
    today = (now or utcnow()).astimezone(JST).date()
    publisher = _publisher()
    rows = []
    for s in open_services():
        opens, closes = _common_hours(s)
        rows.append(
            {
                **_common(publisher, "S", s.id),
                "名称": s.name,
                "名称_カナ": s.name_kana,
                **location(publisher, s.address),
                "緯度": "" if s.latitude is None else repr(s.latitude),
                "経度": "" if s.longitude is None else repr(s.longitude),
                "電話番号": format_phone(s.phone) if s.phone else "",
                "連絡先メールアドレス": s.email,
                "団体名": s.operator,
                "利用可能曜日": "".join(WEEKDAY_NAMES[d] for d in schedules.open_weekdays(s)),
                "開始時間": opens,
                "終了時間": closes,
                "利用可能時間特記事項": hours_note(s, today),
                "説明": s.description,
                "URL": s.url or external_url("directory.detail", service_id=s.id),
                "備考": _service_note(s),
            }
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


def _sessions_note(event: Event) -> str:
    """開始日時特記事項: every session of a series (nothing for a single one)."""
    if len(event.sessions) < 2:
        return ""
    return f"全{len(event.sessions)}回：" + "、".join(
        f"第{s.number}回 {to_jst(s.starts_at):%Y-%m-%d %H:%M}〜{to_jst(s.ends_at):%H:%M}"
        f"（{s.venue}）"
        for s in event.sessions
    )


def _capacity_note(event: Event) -> str:
    """定員備考, worded as on the event's page: 「先着順（満席の場合は…）」, 「抽選」."""
    if event.waitlist:
        return f"{event.admission_label}（満席の場合はキャンセル待ちを受け付けます）"
    return event.admission_label


def _event_note(event: Event) -> str:
    """備考: what the event's page says that イベント一覧 has no column for."""
    return _joined(
        [
            f"持ち物：{event.belongings}" if event.belongings else "",
            f"{event.sessions_required}回の出席で修了となり、ひきこもりサポーターとして登録されます"
            if event.kind == EventKind.COURSE and event.certifies
            else "",
            f"問い合わせ先メールアドレス：{event.contact_email}" if event.contact_email else "",
            f"問い合わせの受付時間：{event.contact_hours}" if event.contact_hours else "",
        ]
    )


def events_csv() -> bytes:
    """催し in the イベント一覧 columns: no registration, no person, counts of nobody."""
    municipality = current_municipality()
    office = municipality.office_name if municipality else ""
    publisher = _publisher()
    rows = []
    for event in open_events():
        first, last = event.sessions[0], event.sessions[-1]
        start, end = to_jst(first.starts_at), to_jst(last.ends_at)
        opens, closes = to_jst(event.registration_opens_at), to_jst(event.registration_closes_at)
        page = external_url("events.event_detail", event_id=event.id)
        free = event.fee.strip() in ("", "無料")
        rows.append(
            {
                **_common(publisher, "E", event.id),
                "イベント名": event.title,
                "言語コード": "ja",
                "コンテンツURL": page,
                "開始日": f"{start:%Y-%m-%d}",
                "終了日": f"{end:%Y-%m-%d}",
                "開始時間": f"{start:%H:%M}",
                "終了時間": f"{to_jst(first.ends_at):%H:%M}",
                "開始日時特記事項": _sessions_note(event),
                "説明": event.description,
                "イベント種類": EventKind.label_of(event.kind),
                "料金(基本)": 0 if free else "",
                "料金(詳細)": "無料" if free else event.fee,
                # The event's own contact (its organizer's window) when it has one, as on its
                # page; else the programme's office.
                "連絡先名称": event.organization.name if event.has_contact else office,
                "連絡先電話番号": event.contact_phone,
                "主催者": event.organization.name,
                "対象者": event.audience,
                "対象者備考": "申込できる方：" + "・".join(event.residency_labels),
                "場所名称": first.venue,
                **location(publisher, event.venue_address),
                "アクセス方法": first.access,
                "定員": event.capacity,
                "定員備考": _capacity_note(event),
                "参加申込終了日": f"{closes:%Y-%m-%d}",
                "参加申込終了時間": f"{closes:%H:%M}",
                "参加申込方法": f"ウェブ（催しのページから申し込み、{event.admission_label}）",
                "申込開始日": f"{opens:%Y-%m-%d}",
                "申込開始時刻": f"{opens:%H:%M}",
                "申込URL": page,
                "URL": page,
                "備考": _event_note(event),
            }
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
