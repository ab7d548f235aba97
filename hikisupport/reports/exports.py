"""Exports for the 行政評価 that follow the Digital Agency's rules for machine-readable tables
(機械判読可能なデータの表記方法の統一ルール): one table per sheet, the header in the first row,
one value per cell, no merged or hidden cells, numbers as numbers, a blank (not 0) where there
is no value, units and the fiscal-year axis (西暦, with 和暦 beside it) in their own columns, the
municipality code on every row, long format (指標, 年度, 区分 目標/実績, 値, 単位), and a notes
sheet that defines 「5未満」.
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from hikisupport.core.japanese import fiscal_year_label
from hikisupport.reports.services import IndicatorReport
from hikisupport.reports.suppression import TOTAL

COLUMNS = [
    "地方公共団体コード",
    "地方公共団体名",
    "指標",
    "年度（西暦）",
    "年度（和暦）",
    "区分",
    "内訳の種類",
    "内訳",
    "値",
    "単位",
    "注記",
]
ACTUAL, TARGET = "実績", "目標"


def _era(fy: int) -> str:
    return fiscal_year_label(fy).split("（")[0]


def rows(report: IndicatorReport) -> list[list]:
    """The long table: one value per row."""
    m = report.municipality
    code, name = (m.code, m.name) if m else ("", "")
    cumulative = f"{report.name}（累計・実人数）"
    new = f"{report.name}（新規・実人数）"
    out = []

    def add(indicator, fy, kind, value, unit, breakdown="合計", part="合計", note=""):
        out.append([code, name, indicator, fy, _era(fy), kind, breakdown, part, value, unit, note])

    for c in report.counts.fiscal_years:
        add(cumulative, c.fiscal_year, ACTUAL, c.cumulative, report.unit)
        add(new, c.fiscal_year, ACTUAL, c.new, report.unit)
    for t in report.targets:
        add(cumulative, t.fiscal_year, TARGET, t.target, report.unit)
    for b in report.breakdowns:
        for row in b.table.rows:
            for fy in b.table.columns:
                value = b.table.shown(row, fy)
                add(
                    new,
                    fy,
                    ACTUAL,
                    value,
                    report.unit,
                    b.title,
                    row,
                    "" if value is not None else report.small,
                )
    add(
        "居場所・相談窓口に協力するサポーター数（実人数・参考）",
        report.current_fiscal_year,
        ACTUAL,
        report.linked_to_services,
        report.unit,
        note=f"{report.as_of.isoformat()}現在",
    )
    for lecture in report.lectures:
        add("講演会参加者数（実人数・参考）", lecture.fiscal_year, ACTUAL, lecture.persons, "人")
        add(
            "講演会参加者数（延べ・参考）", lecture.fiscal_year, ACTUAL, lecture.attendances, "人回"
        )
    return out


def notes(report: IndicatorReport) -> list[list[str]]:
    small = report.small
    return [
        ["項目", "説明"],
        ["指標", report.name],
        ["指標の説明", report.definition],
        [
            "数え方",
            "実人数：同じ人は一度だけ、最初に修了認定を受けた年度に数えます（延べ人数ではありません）。取り消された修了認定は数えません。",
        ],
        [
            "数える区民の範囲",
            "、".join(report.residency_labels) + "（修了認定の時点の申込内容による）",
        ],
        ["年度", "4月1日から翌年3月31日まで（日本時間）。「年度（西暦）」は年度の始まる年です。"],
        ["累計", "最初の年度からその年度末までの合計です。"],
        [
            small,
            f"1人以上{report.threshold}人未満のため、個人が特定されないよう数値を表示していません（値は空欄）。"
            "合計から逆算できないよう、同じ行または列の次に小さい値も表示していない場合があります。",
        ],
        ["空欄", "値がないことを表します（0とは異なります）。"],
        [
            "講演会参加者数",
            "参考値です。延べは出席の回数の合計（単位：人回）、実人数は参加した人の数です。",
        ],
        ["地方公共団体コード", "全国地方公共団体コード（6桁）"],
        ["集計日", report.as_of.isoformat()],
    ]


def _defuse(value):
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def to_csv(report: IndicatorReport) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(report):
        writer.writerow(["" if v is None else _defuse(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")  # the BOM tells Excel it is UTF-8


def to_xlsx(report: IndicatorReport) -> bytes:
    workbook = Workbook()
    data = workbook.active
    data.title = "データ"
    data.append(COLUMNS)
    for row in rows(report):
        data.append([_defuse(v) for v in row])
    for cells in data.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet = workbook.create_sheet("注記")
    for row in notes(report):
        sheet.append(row)
    workbook.properties.title = f"{report.name}（{report.as_of.isoformat()}）"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = ["COLUMNS", "TOTAL", "notes", "rows", "to_csv", "to_xlsx"]
