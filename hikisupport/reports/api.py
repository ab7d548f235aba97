"""`GET /api/v1/reports/supporters`: the indicator as JSON (policy and admin), from the same
`count_supporters` as the page.

A blueprint nested in the API's (endpoint ``api.reports.supporters``), declared with
`api.spec.endpoint` and the pydantic model of `reports.schemas`, so the OpenAPI document and
the answer come from one declaration."""

from __future__ import annotations

from flask import Blueprint

from hikisupport.api.spec import endpoint
from hikisupport.reports.schemas import SupporterReport
from hikisupport.reports.services import indicator_report
from hikisupport.staff.access import ADMIN, POLICY, requires

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/supporters")
@requires(ADMIN, POLICY)
@endpoint(ok={200: SupporterReport}, errors=(401, 403))
def supporters():
    """New and cumulative supporters per fiscal year (実人数), the targets, and the date."""
    return SupporterReport.of(indicator_report(details=False))
