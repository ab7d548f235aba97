"""Forms of the check-in area: pairing a tablet, adding a device."""

from __future__ import annotations

from wtforms.validators import InputRequired

from hikisupport.core.forms import BaseForm, CheckboxListField, CleanStringField
from hikisupport.core.japanese import normalize_line


class PairForm(BaseForm):
    code = CleanStringField(
        "ペアリングコード",
        [InputRequired(message="職員用ページに表示されたコードを入力してください。")],
        max_length=40,
    )


class DeviceForm(BaseForm):
    name = CleanStringField(
        "端末の名前",
        [InputRequired(message="端末の名前を入力してください（例：受付1）。")],
        max_length=60,
        normalizer=normalize_line,
    )
    event_ids = CheckboxListField("受付に使う催し", coerce=int)

    def validate_event_ids(self, field):
        if not field.data:
            from wtforms.validators import ValidationError

            raise ValidationError("受付に使う催しを1つ以上選んでください。")
