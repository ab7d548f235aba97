"""The sign-up form: the contract's field names, Japanese input normalised, errors in Japanese."""

from __future__ import annotations

from wtforms import BooleanField
from wtforms.validators import InputRequired, StopValidation, ValidationError

from hikisupport.core.forms import (
    BaseForm,
    CheckboxListField,
    CleanStringField,
    CleanTextAreaField,
    JapaneseRadioField,
    choices_from,
)
from hikisupport.core.japanese import (
    is_email,
    is_katakana,
    is_phone_number,
    normalize_email,
    normalize_kana,
    normalize_phone,
)
from hikisupport.models import Accommodation, AgeGroup, Residency
from hikisupport.registration.services import Applicant


def _required(what: str):
    """Required after normalisation: a name of only 全角 spaces is still empty."""

    def check(form, field):
        if not field.data:
            raise StopValidation(f"{what}を入力してください。")

    check.field_flags = {"required": True}
    return check


def _consented(form, field):
    if not field.data:
        raise StopValidation("個人情報の利用目的への同意が必要です。")


_consented.field_flags = {"required": True}


def _katakana(form, field):
    if field.data and not is_katakana(field.data):
        raise ValidationError("フリガナはカタカナまたはひらがなで入力してください。")


def email_format(form, field):
    if field.data and not is_email(field.data):
        raise ValidationError("メールアドレスの形式が正しくありません（例：hanako@example.jp）。")


def _phone(form, field):
    if field.data and not is_phone_number(field.data):
        raise ValidationError("電話番号の形式が正しくありません（例：03-3312-2111）。")


class EmailForm(BaseForm):
    """Step 1: the address alone."""

    email = CleanStringField(
        "メールアドレス",
        [_required("メールアドレス"), email_format],
        max_length=254,
        normalizer=normalize_email,
    )


class _Details:
    """Contact details and accommodation requests: asked at sign-up, changeable afterwards."""

    phone = CleanStringField(
        "電話番号", [_required("電話番号"), _phone], max_length=30, normalizer=normalize_phone
    )
    accommodations = CheckboxListField("必要な配慮", choices=choices_from(Accommodation.labels()))
    childcare_ages = CleanStringField("お子さまの年齢", max_length=100)
    needs = CleanTextAreaField("その他、事前に伝えたいこと", max_length=1000)

    def validate_childcare_ages(self, field):
        if "childcare" in (self.accommodations.data or []) and not field.data:
            raise ValidationError("託児を希望する場合は、お子さまの年齢を入力してください。")

    def chosen_accommodations(self) -> list[str]:
        return list(dict.fromkeys(self.accommodations.data or []))

    def details(self) -> dict:
        """What `services.update_details` takes, from the validated input."""
        return {
            "phone": self.phone.data,
            "accommodations": self.chosen_accommodations(),
            "childcare_ages": self.childcare_ages.data,
            "needs": self.needs.data,
        }


class DetailsForm(_Details, BaseForm):
    """The personal page's change form: phone and accommodation requests."""


class RegistrationForm(_Details, BaseForm):
    """Step 2, the application form. The address is not a field: it comes from the link."""

    family_name = CleanStringField("姓", [_required("姓")], max_length=30)
    given_name = CleanStringField("名", [_required("名")], max_length=30)
    family_name_kana = CleanStringField(
        "フリガナ（セイ）",
        [_required("フリガナ（セイ）"), _katakana],
        max_length=30,
        normalizer=normalize_kana,
    )
    given_name_kana = CleanStringField(
        "フリガナ（メイ）",
        [_required("フリガナ（メイ）"), _katakana],
        max_length=30,
        normalizer=normalize_kana,
    )
    residency = JapaneseRadioField(
        "在住・在勤・在学",
        choices=choices_from(Residency.labels()),
        validators=[InputRequired(message="区内在住・在勤・在学のいずれかを選んでください。")],
    )
    age_group = JapaneseRadioField(
        "年代",
        choices=choices_from(AgeGroup.labels()),
        validators=[InputRequired(message="年代を選んでください。")],
    )
    consent = BooleanField(
        "利用目的に同意します",
        validators=[_consented],
        false_values=("", "false", "n", "0", "off"),
    )

    def applicant(self, email: str) -> Applicant:
        """The validated, normalised input as the sign-up rule takes it, for `email` (from the
        mailed link, or typed by staff)."""
        return Applicant(
            family_name=self.family_name.data,
            given_name=self.given_name.data,
            family_name_kana=self.family_name_kana.data,
            given_name_kana=self.given_name_kana.data,
            email=email,
            phone=self.phone.data,
            residency=self.residency.data,
            age_group=self.age_group.data,
            accommodations=self.chosen_accommodations(),
            childcare_ages=self.childcare_ages.data
            if "childcare" in (self.accommodations.data or [])
            else "",
            needs=self.needs.data,
        )
