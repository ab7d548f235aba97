"""The indicator's settings page (admin)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.forms import (
    BaseForm,
    CheckboxListField,
    CleanStringField,
    CleanTextAreaField,
    choices_from,
)
from hikisupport.models import Municipality, Residency
from hikisupport.reports import settings
from hikisupport.staff.access import ADMIN, requires

bp = Blueprint("staff_reports", __name__, url_prefix="/staff/settings")


class IndicatorForm(BaseForm):
    name = CleanStringField(
        "指標名", max_length=100, validators=[InputRequired("指標名を入力してください。")]
    )
    unit = CleanStringField(
        "単位", max_length=10, validators=[InputRequired("単位を入力してください。")]
    )
    definition = CleanTextAreaField("指標の説明", max_length=1000)
    residencies = CheckboxListField(
        "数える区民の範囲（修了認定の時点）", choices=choices_from(Residency.labels())
    )
    targets = CleanTextAreaField("目標（累計）", max_length=1000)
    threshold = IntegerField(
        "秘匿の基準（この人数未満の内訳を表示しない）",
        validators=[
            InputRequired("秘匿の基準を入力してください。"),
            NumberRange(1, 100, "1から100の間で入力してください。"),
        ],
    )
    retention_years = IntegerField(
        "個人情報の保存期間（最後の催しの年度から何年度）",
        validators=[
            InputRequired("保存期間を入力してください。"),
            NumberRange(1, 30, "1から30の間で入力してください。"),
        ],
    )


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
    settings.update(
        municipality,
        settings.IndicatorSettings(
            name=form.name.data,
            unit=form.unit.data,
            definition=form.definition.data,
            residencies=form.residencies.data or [],
            targets=settings.parse_targets(form.targets.data),
            threshold=form.threshold.data,
            retention_years=form.retention_years.data,
        ),
    )
    flash("指標の設定を保存しました。", "success")
    return redirect(url_for(".indicator"), code=303)
