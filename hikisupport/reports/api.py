"""`GET /api/v1/reports/supporters`: the indicator as JSON (policy and admin), from the same
`count_supporters` as the page. Declared with a pydantic model (`reports.schemas`)."""

from __future__ import annotations

from flask import Blueprint

from hikisupport.reports.schemas import SupporterReport
from hikisupport.reports.services import indicator_report
from hikisupport.staff.access import ADMIN, POLICY, requires

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")


@bp.get("/supporters")
@requires(ADMIN, POLICY)
def supporters():
    """New and cumulative supporters per fiscal year (実人数), the targets, and the date."""
    return SupporterReport.of(indicator_report(details=False)).model_dump(mode="json")
