"""The policy office's pages under /reports: the indicator with its chart, targets, pace,
breakdowns and exports; aggregates only (policy and admin)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, render_template

from hikisupport.core.transaction import writes
from hikisupport.reports import exports
from hikisupport.reports.chart import supporters_chart
from hikisupport.reports.services import indicator_report
from hikisupport.staff import audit
from hikisupport.staff.access import ADMIN, POLICY, requires

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/supporters")
@requires(ADMIN, POLICY)
def supporters():
    """ひきこもりサポーターの人数: per fiscal year, against the targets, with a chart and table."""
    report = indicator_report()
    return render_template("reports/supporters.html", report=report, chart=supporters_chart(report))


def _download(body: bytes, content_type: str, extension: str, report):
    name = f"ひきこもりサポーターの人数_{report.as_of:%Y%m%d}.{extension}"
    return (
        body,
        200,
        {
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="supporters_{report.as_of:%Y%m%d}.'
            f"{extension}\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


@bp.get("/supporters.csv")
@requires(ADMIN, POLICY)
@writes  # the audit row
def supporters_csv():
    """The indicator as a long table (CSV, UTF-8 with BOM); the export is audited."""
    report = indicator_report()
    audit.record("report.export", object_type="indicator", format="csv", as_of=str(report.as_of))
    return _download(exports.to_csv(report), "text/csv; charset=utf-8", "csv", report)


@bp.get("/supporters.xlsx")
@requires(ADMIN, POLICY)
@writes  # the audit row
def supporters_xlsx():
    """The indicator as an Excel workbook (データ, 注記); the export is audited."""
    report = indicator_report()
    audit.record("report.export", object_type="indicator", format="xlsx", as_of=str(report.as_of))
    return _download(
        exports.to_xlsx(report),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        report,
    )
