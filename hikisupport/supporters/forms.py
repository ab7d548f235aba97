"""Forms of the supporters area."""

from __future__ import annotations

from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from hikisupport.core.forms import (
    BaseForm,
    CheckboxListField,
    CleanStringField,
    CleanTextAreaField,
)


class ReasonForm(BaseForm):
    reason = CleanTextAreaField(
        "理由", max_length=500, validators=[InputRequired("理由を入力してください。")]
    )


class CorrectionForm(BaseForm):
    family_name = CleanStringField(
        "姓", max_length=60, validators=[InputRequired("姓を入力してください。")]
    )
    given_name = CleanStringField(
        "名", max_length=60, validators=[InputRequired("名を入力してください。")]
    )
    reason = CleanTextAreaField(
        "訂正の理由", max_length=500, validators=[InputRequired("訂正の理由を入力してください。")]
    )


class CohortForm(BaseForm):
    other_event_id = SelectField("振替できる別の期", coerce=int, validate_choice=False)


class MergeForm(BaseForm):
    into_id = IntegerField(
        "統合先の記録の番号",
        validators=[
            InputRequired("統合先の番号を入力してください。"),
            NumberRange(min=1, max=2**31 - 1),
        ],
    )
    reason = CleanTextAreaField(
        "統合の理由", max_length=500, validators=[InputRequired("統合の理由を入力してください。")]
    )


class ServiceLinksForm(BaseForm):
    """On the personal page: the 居場所 and 相談窓口 a supporter offers to help at (choices
    set by the view; the service checks them)."""

    service_ids = CheckboxListField("協力する居場所・相談窓口", coerce=int, validate_choice=False)


class SupporterMailForm(BaseForm):
    """An organizer's mail to the supporters linked to a service."""

    subject = CleanStringField(
        "件名", max_length=100, validators=[InputRequired("件名を入力してください。")]
    )
    body = CleanTextAreaField(
        "本文", max_length=4000, validators=[InputRequired("本文を入力してください。")]
    )
