"""Staff forms about registrations: someone who applied by phone or 往復はがき."""

from __future__ import annotations

from wtforms import BooleanField
from wtforms.validators import InputRequired, StopValidation, ValidationError

from hikisupport.core.forms import (
    BaseForm,
    CleanStringField,
    CleanTextAreaField,
    JapaneseRadioField,
    choices_from,
)
from hikisupport.core.japanese import normalize_email
from hikisupport.models import CancelReason, RegistrationSource
from hikisupport.registration.forms import RegistrationForm, email_format

STAFF_SOURCES = {
    k: v for k, v in RegistrationSource.labels().items() if k in ("phone", "postcard", "counter")
}


def _told_purpose(form, field):
    if not field.data:
        raise StopValidation("利用目的を説明し同意を得たことを確認してください。")


class StaffRegistrationForm(RegistrationForm):
    """The resident's form, for staff: e-mail may be empty, consent is taken by staff."""

    email = CleanStringField(
        "メールアドレス（ある場合）", [email_format], max_length=254, normalizer=normalize_email
    )
    source = JapaneseRadioField("申込経路", choices=choices_from(STAFF_SOURCES), default="phone")
    consent = BooleanField("本人に利用目的を説明し、同意を得ました", validators=[_told_purpose])

    def applicant(self, email: str | None = None):
        return super().applicant(self.email.data if email is None else email)


class StaffCancelForm(BaseForm):
    """Cancelling on someone's behalf: why, chosen (the audit log records it as given)."""

    reason = JapaneseRadioField(
        "取消の理由",
        choices=choices_from(CancelReason.labels()),
        validators=[InputRequired(message="取消の理由を選んでください。")],
    )
    reason_text = CleanTextAreaField("理由の詳細（「その他」のときは必須）", max_length=500)

    def validate_reason_text(self, field):
        if self.reason.data == CancelReason.OTHER and not field.data:
            raise ValidationError("「その他」を選んだときは、理由を入力してください。")

    def reason_words(self) -> str:
        """The reason as the record keeps it: 「本人から電話」, 「その他：…」."""
        label = CancelReason(self.reason.data).label
        return f"{label}：{self.reason_text.data}" if self.reason_text.data else label
