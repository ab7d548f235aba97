"""Staff forms for the directory: a service with its opening rules and closures; the CSV."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, FieldList, Form, FormField, StringField
from wtforms.validators import InputRequired, ValidationError

from hikisupport.core.forms import (
    BaseForm,
    CheckboxListField,
    CleanStringField,
    CleanTextAreaField,
    JapanDateField,
    JapaneseRadioField,
    JapaneseSelectField,
    choices_from,
)
from hikisupport.core.japanese import normalize_kana, normalize_line, normalize_phone
from hikisupport.directory import schedules
from hikisupport.directory.services import ClosureInput, ScheduleInput, ServiceInput
from hikisupport.models import (
    Booking,
    ConsultMethod,
    ScheduleFrequency,
    ServiceAudience,
    ServiceKind,
    ServiceStatus,
)

WEEKDAY_CHOICES = {code: name for code, name in zip(schedules.CODES, "月火水木金土日", strict=True)}
ORDINAL_CHOICES = {"1": "第1", "2": "第2", "3": "第3", "4": "第4", "5": "第5", "-1": "最終"}


class TimeField(StringField):
    """`<input type="time">`: 「10:00」「8:30」 → time; empty → None."""

    input_type = "time"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raw = ""

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = schedules.parse_hhmm(self.raw) if self.raw else None

    def _value(self):
        return f"{self.data:%H:%M}" if self.data else (getattr(self, "raw", "") or "")


class ScheduleRowForm(Form):
    freq = JapaneseSelectField(
        "頻度", choices=choices_from(ScheduleFrequency.labels()), default="WEEKLY"
    )
    ordinals = CheckboxListField("第何週（毎月のとき）", choices=choices_from(ORDINAL_CHOICES))
    weekdays = CheckboxListField("曜日", choices=choices_from(WEEKDAY_CHOICES))
    opens_at = TimeField("開始")
    closes_at = TimeField("終了")
    closed = BooleanField("この曜日は休み（時刻は不要）")
    valid_from = JapanDateField("適用開始日（空欄：ずっと前から）")
    valid_to = JapanDateField("適用終了日（空欄：ずっと先まで）")

    @property
    def is_blank(self) -> bool:
        return not (self.weekdays.data or self.opens_at.raw or self.closes_at.raw)

    def byday(self) -> str:
        days = self.weekdays.data or []
        if self.freq.data == ScheduleFrequency.MONTHLY:
            return ",".join(f"{n}{d}" for d in days for n in (self.ordinals.data or []))
        return ",".join(days)

    def to_input(self) -> ScheduleInput:
        return ScheduleInput(
            freq=self.freq.data or "",
            byday=self.byday(),
            opens_at=self.opens_at.data,
            closes_at=self.closes_at.data,
            closed=bool(self.closed.data),
            valid_from=self.valid_from.data,
            valid_to=self.valid_to.data,
        )


class ClosureRowForm(Form):
    starts_on = JapanDateField("開始日")
    ends_on = JapanDateField("終了日（空欄：1日だけ）")
    reason = CleanStringField(
        "理由（例：設備点検のため）", max_length=200, normalizer=normalize_line
    )

    @property
    def is_blank(self) -> bool:
        return not (self.starts_on.raw or self.ends_on.raw or self.reason.data)


def _coordinate(form, field):
    if field.data and not _as_float(field.data):
        raise ValidationError("数値で入力してください（例：35.6995）。")


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class ServiceForm(BaseForm):
    kind = JapaneseRadioField(
        "種類",
        choices=choices_from(ServiceKind.labels()),
        validators=[InputRequired(message="種類を選んでください。")],
    )
    name = CleanStringField(
        "名称",
        [InputRequired(message="名称を入力してください。")],
        max_length=200,
        normalizer=normalize_line,
    )
    name_kana = CleanStringField("名称（カナ）", max_length=200, normalizer=normalize_kana)
    operator = CleanStringField("運営・委託先", max_length=200, normalizer=normalize_line)
    audiences = CheckboxListField("対象", choices=choices_from(ServiceAudience.labels()))
    age_note = CleanStringField("対象年齢", max_length=100, normalizer=normalize_line)
    description = CleanTextAreaField("内容（どんなところか、何ができるか）", max_length=4000)
    address = CleanStringField("住所", max_length=300, normalizer=normalize_line)
    access = CleanTextAreaField("交通・アクセス", max_length=1000)
    phone = CleanStringField("電話番号", max_length=30, normalizer=normalize_phone)
    email = CleanStringField("メールアドレス", max_length=254)
    url = CleanStringField("ウェブページ", max_length=500)
    cost = CleanStringField("費用", max_length=200, normalizer=normalize_line)
    booking = JapaneseRadioField("予約", choices=choices_from(Booking.labels()), default="none")
    how_to_apply = CleanTextAreaField("申込方法", max_length=2000)
    consult_methods = CheckboxListField("相談の方法", choices=choices_from(ConsultMethod.labels()))
    anonymous_ok = BooleanField("匿名で相談できる")
    family_alone_ok = BooleanField("ご家族だけでも相談できる（ご本人が来なくてよい）")
    accessibility = CleanTextAreaField("バリアフリー・配慮", max_length=1000)
    confidentiality = CleanTextAreaField("秘密の守り方（相談内容の扱い）", max_length=1000)
    latitude = CleanStringField("緯度", [_coordinate], max_length=20)
    longitude = CleanStringField("経度", [_coordinate], max_length=20)
    status = JapaneseRadioField(
        "状態", choices=choices_from(ServiceStatus.labels()), default="published"
    )
    closed_on_holidays = BooleanField("祝日は休み", default=True)
    closed_year_end = BooleanField("年末年始（12月29日〜1月3日）は休み", default=True)
    schedule_note = CleanStringField("開館時間の補足", max_length=300, normalizer=normalize_line)
    schedules = FieldList(FormField(ScheduleRowForm), min_entries=3, max_entries=20)
    closures = FieldList(FormField(ClosureRowForm), min_entries=2, max_entries=50)
    last_checked_on = JapanDateField(
        "最終確認日", [InputRequired(message="最終確認日を入力してください。")]
    )

    fallback_field = "name"

    def to_input(self) -> ServiceInput:
        return ServiceInput(
            kind=self.kind.data or "",
            name=self.name.data or "",
            name_kana=self.name_kana.data or "",
            operator=self.operator.data or "",
            audiences=self.audiences.data or [],
            age_note=self.age_note.data or "",
            description=self.description.data or "",
            address=self.address.data or "",
            access=self.access.data or "",
            phone=self.phone.data or "",
            email=(self.email.data or "").lower(),
            url=self.url.data or "",
            cost=self.cost.data or "",
            booking=self.booking.data or Booking.NONE,
            how_to_apply=self.how_to_apply.data or "",
            consult_methods=self.consult_methods.data or [],
            anonymous_ok=bool(self.anonymous_ok.data),
            family_alone_ok=bool(self.family_alone_ok.data),
            accessibility=self.accessibility.data or "",
            confidentiality=self.confidentiality.data or "",
            latitude=_as_float(self.latitude.data) if self.latitude.data else None,
            longitude=_as_float(self.longitude.data) if self.longitude.data else None,
            status=self.status.data or ServiceStatus.PUBLISHED,
            closed_on_holidays=bool(self.closed_on_holidays.data),
            closed_year_end=bool(self.closed_year_end.data),
            schedule_note=self.schedule_note.data or "",
            last_checked_on=self.last_checked_on.data,
            schedules=[e.form.to_input() for e in self.schedules if not e.form.is_blank],
            closures=[
                ClosureInput(e.form.starts_on.data, e.form.ends_on.data, e.form.reason.data or "")
                for e in self.closures
                if not e.form.is_blank and e.form.starts_on.data
            ],
        )

    def validate_closures(self, field):
        for entry in field:
            if not entry.form.is_blank and entry.form.starts_on.data is None:
                raise ValidationError("臨時休業の開始日を入力してください。")

    def field_for(self, path: str):
        """`schedules.N.…` and `closures.N.…` count the rows that are filled in."""
        head, _, rest = path.partition(".")
        if head in ("schedules", "closures") and rest:
            index, _, name = rest.partition(".")
            rows = [e.form for e in getattr(self, head) if not e.form.is_blank]
            if not index.isdigit() or int(index) >= len(rows):
                return getattr(self, head)
            row = rows[int(index)]
            if name == "byday":
                name = "weekdays"
            return getattr(row, name, None) if name else getattr(self, head)
        return super().field_for(path)


def form_data_of(service) -> dict:
    """A stored service as the form's initial data (rules split per weekday if needed)."""
    rows = []
    for rule in service.schedules:
        items = schedules.parse_byday(rule.byday, rule.freq)
        if rule.freq == ScheduleFrequency.WEEKLY:
            row_sets = [
                ([], sorted({schedules.CODES[i.weekday] for i in items}, key=schedules.CODES.index))
            ]
        else:
            by_ordinals: dict[tuple, list[str]] = {}
            per_day: dict[str, list[str]] = {}
            for i in items:
                per_day.setdefault(schedules.CODES[i.weekday], []).append(str(i.ordinal))
            for day, ordinals in per_day.items():
                by_ordinals.setdefault(tuple(ordinals), []).append(day)
            row_sets = [(list(o), days) for o, days in by_ordinals.items()]
        for ordinals, days in row_sets:
            rows.append(
                {
                    "freq": rule.freq,
                    "ordinals": ordinals,
                    "weekdays": days,
                    "opens_at": rule.opens_at,
                    "closes_at": rule.closes_at,
                    "closed": rule.closed,
                    "valid_from": rule.valid_from,
                    "valid_to": rule.valid_to,
                }
            )
    from hikisupport.directory.services import PLAIN_FIELDS

    return {
        **{name: getattr(service, name) for name in PLAIN_FIELDS},
        "schedules": rows + [{}],
        "closures": [
            {"starts_on": c.starts_on, "ends_on": c.ends_on, "reason": c.reason}
            for c in service.closures
        ]
        + [{}],
        "latitude": "" if service.latitude is None else repr(service.latitude),
        "longitude": "" if service.longitude is None else repr(service.longitude),
    }


class ImportForm(BaseForm):
    file = FileField("CSVファイル（UTF-8、BOM付き）")
    # After a dry run: the same file's text, sent back with 「取り込む」.
    csv_text = StringField()
