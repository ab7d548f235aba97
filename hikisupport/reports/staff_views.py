"""The indicator's settings page (admin)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.models import Municipality
from hikisupport.reports import settings
from hikisupport.reports.forms import IndicatorForm
from hikisupport.staff.access import ADMIN, requires

bp = Blueprint("staff_reports", __name__, url_prefix="/staff/settings")


@bp.route("/indicator", methods=["GET", "POST"])
@requires(ADMIN)
def indicator():
    """指標の設定: name, unit, definition, counted residency, targets, threshold, retention."""
    municipality = db.session.scalar(sa.select(Municipality).order_by(Municipality.id).limit(1))
    if municipality is None:  # before set-up (`flask demo load` or the municipality's row)
        if request.method == "POST":
            flash("自治体の設定がまだありません。", "error")
            return redirect(url_for(".indicator"), code=303)
        return render_template("reports/staff/indicator.html", form=None, refusal=None)
    now = settings.current(municipality)
    if request.method == "GET":
        form = IndicatorForm(
            formdata=None,
            data={
                "name": now.name,
                "unit": now.unit,
                "definition": now.definition,
                "residencies": now.residencies,
                "targets": settings.targets_text(now.targets),
                "threshold": now.threshold,
                "retention_years": now.retention_years,
            },
        )
    else:
        form = IndicatorForm()

    def page(refusal=None):
        return render_template("reports/staff/indicator.html", form=form, refusal=refusal)

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 422
    answer_refusals_with(form, page)
    settings.update(municipality, form.to_settings())
    flash("指標の設定を保存しました。", "success")
    return redirect(url_for(".indicator"), code=303)
