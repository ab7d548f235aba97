"""Forms of the reports area: the indicator's settings."""

from __future__ import annotations

from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from hikisupport.core.forms import (
    BaseForm,
    CheckboxListField,
    CleanStringField,
    CleanTextAreaField,
    choices_from,
)
from hikisupport.models import Residency
from hikisupport.reports import settings


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

    def to_settings(self) -> settings.IndicatorSettings:
        """The validated input as the settings rule takes it (targets parsed: Invalid if not)."""
        return settings.IndicatorSettings(
            name=self.name.data,
            unit=self.unit.data,
            definition=self.definition.data,
            residencies=self.residencies.data or [],
            targets=settings.parse_targets(self.targets.data),
            threshold=self.threshold.data,
            retention_years=self.retention_years.data,
        )
