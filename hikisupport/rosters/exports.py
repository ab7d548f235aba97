"""Roster exports for Excel users: CSV (UTF-8 with BOM) and .xlsx, Japanese headers, JST.

One table, one value per cell — headers included: a header names the column (区民区分), it is
not a list of the values (「在住・在勤・在学」) — units in the headers, no merged cells
(機械判読可能なデータの表記方法の統一ルール). Cells that a spreadsheet would run as a formula are
defused: in CSV with a leading ', in .xlsx as text cells with the quote-prefix style, so the
text stays exactly as typed.
"""

from __future__ import annotations

import csv
import io
import re
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
    "区民区分",
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
    """CSV: text that begins like a formula is prefixed with ' so a spreadsheet shows, not runs,
    it (a CSV cell has no type that could say "text")."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# Characters Windows, macOS or a browser refuse in a file name.
_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def file_names(event, extension: str, now: datetime) -> tuple[str, str]:
    """(name, ASCII fallback) for a download: the event's title and the date in Japan time —
    「養成講座_申込者一覧_20261202.csv」 at 04:03 JST on 2 December, whatever UTC says."""
    day = to_jst(now).strftime("%Y%m%d")
    title = _NOT_IN_FILE_NAMES.sub("_", event.title).strip(" ._")[:80] or f"催し{event.id}"
    return f"{title}_申込者一覧_{day}.{extension}", f"registrations_{event.id}_{day}.{extension}"


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
        sheet.append(values)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(cell.value, str):
                # A string cell is never run; text stays text (電話番号 keeps its leading 0).
                # openpyxl would store 「=…」 as a formula: typed as a string it is not, and the
                # quote prefix keeps it text when someone edits the cell in Excel.
                cell.data_type = "s"
                if cell.value.startswith(FORMULA_START):
                    cell.quotePrefix = True
    for index, header in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(header) * 2 + 2)
    sheet.freeze_panes = "A2"
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
