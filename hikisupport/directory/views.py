"""Public pages: the directory (search and filters), one service, the printable 案内シート,
and the open-data page with its files."""

from __future__ import annotations

import json
from datetime import datetime

import segno
from flask import Blueprint, render_template, request

from hikisupport.core.database import utcnow
from hikisupport.core.japanese import JST, WEEKDAYS
from hikisupport.core.urls import external_url
from hikisupport.directory import opendata, schedules, services
from hikisupport.directory.services import DAY_FILTERS, DirectoryFilter
from hikisupport.models import Booking, ConsultMethod, ServiceAudience, ServiceKind
from hikisupport.supporters.services import linked_count

bp = Blueprint("directory", __name__)

MAX_SHEET_ENTRIES = 30


def _choice(name: str, allowed) -> str:
    value = request.args.get(name, "")[:40]
    return value if value in allowed else ""


def _filters() -> DirectoryFilter:
    return DirectoryFilter(
        kind=_choice("kind", ServiceKind.values()),
        audience=_choice("audience", ServiceAudience.values()),
        method=_choice("method", ConsultMethod.values()),
        day=_choice("day", DAY_FILTERS),
        q=request.args.get("q", "")[:100],
    )


@bp.app_template_global()
def opening_when(moment: datetime | None, now: datetime) -> str:
    """「今日 13:00」「明日 10:00」「12月12日（土）13:00」 (Japan time)."""
    if moment is None:
        return ""
    local, today = moment.astimezone(JST), now.astimezone(JST).date()
    days = (local.date() - today).days
    prefix = {0: "今日 ", 1: "明日 "}.get(days, "")
    day = f"{local.month}月{local.day}日（{WEEKDAYS[local.weekday()]}）"
    return f"{prefix}{day}{schedules.hhmm(local.time())}"


@bp.get("/directory")
def directory():
    """相談窓口・居場所の一覧: filters, free text, 「今日開いている」 and 「次に開く日時」."""
    filters = _filters()
    now = utcnow()
    return render_template(
        "directory/list.html",
        listings=services.search(filters, now),
        filters=filters,
        on_day=services.day_for(filters.day, now),
        now=now,
        kinds=ServiceKind.labels(),
        audiences=ServiceAudience.labels(),
        methods=ConsultMethod.labels(),
        days=DAY_FILTERS,
    )


def _json_ld(service, now: datetime) -> str:
    """schema.org GovernmentService with its opening hours, as a JSON data block (the CSP
    allows it: a data block is never executed). `<` is escaped so it cannot end the block."""
    data = opendata.schema_org(service, now)
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@bp.get("/directory/<id:service_id>")
def detail(service_id: int):
    """One service: who it is for, how to consult, when it opens, how to get there."""
    service = services.public_service(service_id)
    now = utcnow()
    today = now.astimezone(JST).date()
    return render_template(
        "directory/detail.html",
        service=service,
        status=schedules.status_at(service, now),
        hours_text=schedules.describe(service),
        upcoming=schedules.next_open_days(service, today, 5),
        closures=[schedules.closure_text(c) for c in schedules.upcoming_closures(service, today)],
        audiences=[ServiceAudience.label_of(a) for a in service.audiences],
        methods=[ConsultMethod.label_of(m) for m in service.consult_methods],
        json_ld=_json_ld(service, now),
        # How many supporters help there: a number only, never who.
        supporter_count=linked_count(service),
        now=now,
    )


@bp.get("/directory/sheet")
def sheet():
    """案内シート (A4, large type) of the chosen entries, each with a QR to its page; every
    public entry when none is chosen."""
    chosen = [i for i in request.args.getlist("ids", type=int) if 0 < i < 2**31][:MAX_SHEET_ENTRIES]
    entries = services.public_services()
    if chosen:
        by_id = {s.id: s for s in entries}
        entries = [by_id[i] for i in dict.fromkeys(chosen) if i in by_id]
    now = utcnow()
    rows = []
    for service in entries:
        url = external_url("directory.detail", service_id=service.id)
        rows.append(
            {
                "service": service,
                "hours_text": schedules.describe(service),
                "url": url,
                # make_qr: always a full QR Code, never a Micro QR that phones cannot read.
                "qr": segno.make_qr(url, error="m").svg_data_uri(
                    scale=3, border=4, dark="#000", light="#fff"
                ),
            }
        )
    return render_template("directory/sheet.html", rows=rows, chosen=bool(chosen), now=now)


# ---------------------------------------------------------------------------------------------
# Open data


@bp.get("/opendata")
def opendata_page():
    """オープンデータ: the files, their columns, and the licence (CC BY 4.0)."""
    return render_template(
        "directory/opendata.html",
        license_name=opendata.LICENSE_NAME,
        license_url=opendata.LICENSE_URL,
        facility_columns=opendata.PUBLIC_FACILITY_COLUMNS,
        event_columns=opendata.EVENT_COLUMNS,
    )


def _file(body: bytes, content_type: str, name: str):
    return (
        body,
        200,
        {
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
            # The licence, where a CSV file has no room for it (RFC 8288 link relation).
            "Link": opendata.LICENSE_LINK,
            "Access-Control-Allow-Origin": "*",
        },
    )


@bp.get("/opendata/services.csv")
def services_csv():
    """相談先一覧（公共施設一覧の項目）."""
    return _file(opendata.public_facilities_csv(), "text/csv; charset=utf-8", "services.csv")


@bp.get("/opendata/services.hsds.json")
def services_hsds():
    """相談先一覧（Open Referral HSDS 3.0）."""
    body = json.dumps(opendata.hsds_json(), ensure_ascii=False, indent=2).encode("utf-8")
    return _file(body, "application/json; charset=utf-8", "services.hsds.json")


@bp.get("/opendata/events.csv")
def events_csv():
    """講座・講演会の一覧（イベント一覧の項目）."""
    return _file(opendata.events_csv(), "text/csv; charset=utf-8", "events.csv")


@bp.app_template_filter("booking_label")
def booking_label(value: str) -> str:
    return Booking.label_of(value)
