"""Staff forms: login, accounts."""

from __future__ import annotations

from wtforms import PasswordField
from wtforms.validators import InputRequired, Length

from hikisupport.core.forms import BaseForm, CleanStringField, JapaneseSelectField, choices_from
from hikisupport.core.japanese import normalize_email, normalize_line
from hikisupport.models import OrganizationKind, StaffRole


class LoginForm(BaseForm):
    email = CleanStringField(
        "メールアドレス",
        [InputRequired(message="メールアドレスを入力してください。")],
        max_length=254,
        normalizer=normalize_email,
    )
    password = PasswordField(
        "パスワード",
        [InputRequired(message="パスワードを入力してください。"), Length(max=200)],
    )


class StaffForm(BaseForm):
    email = CleanStringField(
        "メールアドレス",
        [InputRequired(message="メールアドレスを入力してください。")],
        max_length=254,
        normalizer=normalize_email,
    )
    name = CleanStringField("氏名", max_length=100)
    role = JapaneseSelectField("役割", choices=choices_from(StaffRole.labels()))
    organization_id = JapaneseSelectField("所属団体", coerce=str)
    password = PasswordField(
        "初期パスワード（12文字以上）",
        [InputRequired(message="パスワードを入力してください。"), Length(max=200)],
    )


class OrganizationForm(BaseForm):
    name = CleanStringField(
        "団体名",
        [InputRequired(message="団体名を入力してください。")],
        max_length=100,
        normalizer=normalize_line,
    )
    kind = JapaneseSelectField(
        "種別", choices=choices_from(OrganizationKind.labels()), default="npo"
    )


class RoleForm(BaseForm):
    role = JapaneseSelectField("役割", choices=choices_from(StaffRole.labels()))
    organization_id = JapaneseSelectField("所属団体", coerce=str)


class PasswordChangeForm(BaseForm):
    current_password = PasswordField(
        "現在のパスワード",
        [InputRequired(message="現在のパスワードを入力してください。"), Length(max=200)],
    )
    new_password = PasswordField(
        "新しいパスワード（12文字以上）",
        [InputRequired(message="新しいパスワードを入力してください。"), Length(max=200)],
    )
    confirmation = PasswordField(
        "新しいパスワード（確認）",
        [InputRequired(message="確認のため、もう一度入力してください。"), Length(max=200)],
    )


class TokenForm(BaseForm):
    staff_id = JapaneseSelectField("職員", coerce=str)
