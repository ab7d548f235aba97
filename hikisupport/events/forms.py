"""The staff form for an event and its sessions."""

from __future__ import annotations

from wtforms import BooleanField, Form, FormField, HiddenField, IntegerField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from hikisupport.core.forms import (
    BaseForm,
    CheckboxListField,
    CleanStringField,
    CleanTextAreaField,
    JapanDateTimeField,
    JapaneseRadioField,
    SafeFieldList,
    choices_from,
)
from hikisupport.core.japanese import normalize_email, normalize_line
from hikisupport.core.routing import parse_id
from hikisupport.events.services import MAX_CAPACITY, MAX_SESSIONS, EventInput, SessionInput
from hikisupport.models import Admission, EventKind, Residency

STATUSES = {"draft": "下書き（区民には表示しません）", "published": "公開する"}


class SessionForm(Form):
    id = HiddenField()
    starts_at = JapanDateTimeField("開始日時")
    ends_at = JapanDateTimeField("終了日時")
    venue = CleanStringField("会場", max_length=200, normalizer=normalize_line)
    access = CleanStringField("交通・バリアフリー情報", max_length=300, normalizer=normalize_line)

    @property
    def is_blank(self) -> bool:
        """No date given: the row is not a 回 (a venue copied into a new row is not enough)."""
        return not (self.starts_at.raw or self.ends_at.raw)


class EventForm(BaseForm):
    kind = JapaneseRadioField(
        "種類",
        choices=choices_from(EventKind.labels()),
        validators=[InputRequired(message="種類を選んでください。")],
    )
    title = CleanStringField(
        "名称",
        [InputRequired(message="名称を入力してください。")],
        max_length=200,
        normalizer=normalize_line,
    )
    description = CleanTextAreaField("内容", max_length=4000)
    audience = CleanStringField("対象（表示用）", max_length=300, normalizer=normalize_line)
    fee = CleanStringField("費用", max_length=100, normalizer=normalize_line)
    capacity = IntegerField(
        "定員",
        [
            InputRequired(message="定員を数字で入力してください。"),
            NumberRange(0, MAX_CAPACITY, message=f"定員は0から{MAX_CAPACITY}の間です。"),
        ],
    )
    waitlist = BooleanField("満席のときキャンセル待ちを受け付ける", default=True)
    admission = JapaneseRadioField(
        "申込方法", choices=choices_from(Admission.labels()), default="first_come"
    )
    certifies = BooleanField("修了でひきこもりサポーターに認定する")
    required_sessions = IntegerField(
        "修了に必要な出席回数（空欄：全回）", [Optional(), NumberRange(1, 20)]
    )
    residency = CheckboxListField(
        "申込できる方", choices=choices_from(Residency.labels()), default=Residency.values()
    )
    registration_opens_at = JapanDateTimeField("申込開始（空欄：今から）")
    registration_closes_at = JapanDateTimeField(
        "申込締切（空欄：先着順は初回の開始時、抽選は初回の1週間前）"
    )
    status = JapaneseRadioField("公開", choices=choices_from(STATUSES), default="draft")
    reminder_text = CleanTextAreaField(
        "前日のお知らせメールに添える文（持ち物など）", max_length=1000
    )
    contact_phone = CleanStringField("問い合わせ先の電話番号", max_length=30)
    contact_email = CleanStringField(
        "問い合わせ先のメールアドレス", max_length=254, normalizer=normalize_email
    )
    contact_hours = CleanStringField(
        "問い合わせの受付時間", max_length=100, normalizer=normalize_line
    )
    belongings = CleanStringField("持ち物", max_length=500, normalizer=normalize_line)
    venue_address = CleanStringField("会場の住所", max_length=200, normalizer=normalize_line)
    map_url = CleanStringField("会場の地図（URL）", max_length=500)
    sessions = SafeFieldList(FormField(SessionForm), min_entries=1, max_entries=MAX_SESSIONS)

    def to_input(self) -> EventInput:
        sessions = []
        for entry in self.sessions:
            row = entry.form
            if row.is_blank:
                continue
            sessions.append(
                SessionInput(
                    starts_at=row.starts_at.data,
                    ends_at=row.ends_at.data,
                    venue=row.venue.data or "",
                    access=row.access.data or "",
                    id=parse_id(row.id.data),
                )
            )
        return EventInput(
            kind=self.kind.data,
            title=self.title.data,
            description=self.description.data,
            audience=self.audience.data,
            fee=self.fee.data,
            capacity=self.capacity.data,
            waitlist=self.waitlist.data,
            admission=self.admission.data or "first_come",
            certifies=self.certifies.data,
            required_sessions=self.required_sessions.data,
            residency=self.residency.data or [],
            registration_opens_at=self.registration_opens_at.data,
            registration_closes_at=self.registration_closes_at.data,
            status=self.status.data or "draft",
            reminder_text=self.reminder_text.data,
            sessions=sessions,
            contact_phone=self.contact_phone.data,
            contact_email=self.contact_email.data,
            contact_hours=self.contact_hours.data,
            belongings=self.belongings.data,
            venue_address=self.venue_address.data,
            map_url=self.map_url.data,
        )

    def add_session(self) -> bool:
        """Add a row for one more 回, with the previous row's venue and access (the same hall,
        usually). False if the form already has as many as an event may."""
        if self.sessions.is_full:
            return False
        last = self.sessions.entries[-1].form if self.sessions.entries else None
        self.sessions.append_entry(
            {"venue": last.venue.data, "access": last.access.data} if last else None
        )
        return True

    def validate_sessions(self, field):
        for number, entry in enumerate(field, start=1):
            row = entry.form
            if row.is_blank:
                continue
            if row.starts_at.data is None or row.ends_at.data is None:
                raise ValidationError(f"第{number}回：開始日時と終了日時を入力してください。")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # A message beside a field of a 回 says which 回 (the summary lists them all together).
        for number, entry in enumerate(self.sessions, start=1):
            for field in entry.form:
                field.errors = [
                    message
                    if message.startswith("第")
                    else f"第{number}回の{field.label.text}：{message}"
                    for message in field.errors
                ]
        return valid

    fallback_field = "title"

    def field_for(self, path: str):
        """`sessions.N.…` counts the 回 as the rules see them: the rows that are filled in."""
        head, _, rest = path.partition(".")
        if head == "sessions" and rest:
            index, _, name = rest.partition(".")
            rows = [e.form for e in self.sessions if not e.form.is_blank]
            if not index.isdigit() or int(index) >= len(rows):
                return self.sessions
            return getattr(rows[int(index)], name, None) if name else self.sessions
        return super().field_for(path)
