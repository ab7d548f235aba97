"""Roster exports for Excel users: CSV (UTF-8 with BOM) and .xlsx, Japanese headers, JST.

One table, one value per cell, units in the headers, no merged cells (機械判読可能なデータの
表記方法の統一ルール). Cells that a spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from hikisupport.core.japanese import format_phone, to_jst
from hikisupport.models import Accommodation, AgeGroup, Residency
from hikisupport.rosters.services import RosterRow

COLUMNS = [
    "受付番号",
    "状態",
    "キャンセル待ち順位",
    "姓",
    "名",
    "セイ",
    "メイ",
    "メールアドレス",
    "電話番号",
    "在住・在勤・在学",
    "年代",
    *[f"配慮：{a.label}" for a in Accommodation],
    "お子さまの年齢",
    "連絡事項",
    "申込経路",
    "申込日時（日本時間）",
    "キャンセル日時（日本時間）",
    "出席回数（回）",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse(value):
    """Text that begins like a formula is prefixed with ' so a spreadsheet shows, not runs, it."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _local(value: datetime | None):
    return to_jst(value).replace(tzinfo=None, microsecond=0) if value else None


def rows(roster: list[RosterRow]) -> list[list]:
    out = []
    for row in roster:
        r = row.registration
        out.append(
            [
                r.ticket,
                r.status_label,
                r.waitlist_position,
                r.family_name,
                r.given_name,
                r.family_name_kana,
                r.given_name_kana,
                r.email,
                format_phone(r.phone),
                Residency.label_of(r.residency),
                AgeGroup.label_of(r.age_group),
                *["有" if a in r.accommodations else "" for a in Accommodation],
                r.childcare_ages,
                r.needs,
                r.source_label,
                _local(r.created_at),
                _local(r.cancelled_at),
                row.attended,
            ]
        )
    return out


def to_csv(roster: list[RosterRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for values in rows(roster):
        writer.writerow(
            [
                v.strftime("%Y-%m-%d %H:%M:%S")
                if isinstance(v, datetime)
                else ""
                if v is None
                else defuse(v)
                for v in values
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")  # the BOM tells Excel it is UTF-8


def to_xlsx(roster: list[RosterRow], title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "申込者一覧"
    sheet.append(COLUMNS)
    for values in rows(roster):
        sheet.append([defuse(v) for v in values])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text (電話番号 keeps its leading 0)
    for index, header in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(header) * 2 + 2)
    sheet.freeze_panes = "A2"
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
