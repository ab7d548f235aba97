"""Form building blocks shared by every area: Japanese messages, normalising fields."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from hikisupport.core.japanese import (
    JST,
    MAX_YEAR,
    MIN_YEAR,
    has_control_characters,
    normalize_text,
)

INVALID_CHARACTERS = "使用できない文字が含まれています。"


def query_text(args, name: str, max_length: int = 100) -> str:
    """A search or filter text from the query string (or a form): trimmed to `max_length`;
    NUL and other control characters — which PostgreSQL cannot even compare — refused (400)."""
    from hikisupport.core.errors import Invalid

    value = args.get(name, "") or ""
    if has_control_characters(value):
        raise Invalid(
            "検索語に" + INVALID_CHARACTERS + "入力し直してください。", status=400, field=name
        )
    return value.strip()[:max_length]


INVALID_CHOICE = "選択肢の中から選んでください。"


class BaseForm(FlaskForm):
    class Meta:
        # WTForms' own messages (few reach users: we give ours) in Japanese.
        locales = ("ja_JP", "ja")

    # Where a message for a field this form does not have goes (e.g. a rule about two fields).
    fallback_field = None

    def field_for(self, path: str):
        """The field a refusal's path names: ``title``, or ``sessions.0.venue`` for the venue of
        the first entry of a FieldList; None if the form has no such field."""
        target, parts = self, path.split(".")
        for part in parts:
            if part.isascii() and part.isdigit():
                entries = list(target)
                if int(part) >= len(entries):
                    return None
                target = entries[int(part)]
                target = getattr(target, "form", target)
            else:
                target = getattr(target, part, None) if target is not None else None
                if target is None:
                    return None
        return target

    def attach_errors(self, fields: dict[str, str]) -> list[str]:
        """Put a rule's messages (field path → message) beside the fields they are about.
        Returns the messages that found no field (the page shows them on their own)."""
        unplaced = []
        for path, message in fields.items():
            field = self.field_for(path) if path else None
            if field is None or not isinstance(getattr(field, "errors", None), list | tuple):
                field = getattr(self, self.fallback_field or "", None)
            if field is None:
                unplaced.append(message)
                continue
            if isinstance(field.errors, tuple):
                field.errors = list(field.errors)
            field.errors.append(message)
        return unplaced


class CleanStringField(StringField):
    """A one-line text field: NFKC, spaces folded and trimmed; control characters refused."""

    def __init__(self, *args, max_length: int = 100, normalizer=normalize_text, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_length = max_length
        self.normalizer = normalizer
        self.raw = ""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        self.data = self.normalizer(self.raw) if self.raw else ""

    def _value(self):
        # What is echoed back into the form: never more than the field takes (a 50 kB value
        # is refused, not sent back whole).
        return super()._value()[: self.max_length]

    def pre_validate(self, form):
        if has_control_characters(self.raw):
            raise ValidationError(INVALID_CHARACTERS)
        if len(self.data) > self.max_length:
            raise ValidationError(f"{self.max_length}文字以内で入力してください。")


class CleanTextAreaField(TextAreaField):
    """Free text: line breaks kept, other control characters refused, length limited."""

    def __init__(self, *args, max_length: int = 1000, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_length = max_length

    def process_formdata(self, valuelist):
        self.data = (valuelist[0] if valuelist else "").replace("\r\n", "\n").strip()

    def _value(self):
        return (self.data or "")[: self.max_length]  # echoed back: never more than it takes

    def pre_validate(self, form):
        if has_control_characters(self.data, allow_newlines=True):
            raise ValidationError(INVALID_CHARACTERS)
        if len(self.data) > self.max_length:
            raise ValidationError(f"{self.max_length}文字以内で入力してください。")


def choices_from(labels: dict[str, str]) -> list[SelectChoice]:
    """WTForms choices from a {code: 日本語 label} mapping."""
    return [SelectChoice(value, label) for value, label in labels.items()]


class JapaneseRadioField(RadioField):
    """Radio buttons; nothing chosen is left to the `required` validator's own message."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", INVALID_CHOICE)
        super().__init__(*args, **kwargs)

    def pre_validate(self, form):
        if self.data is not None:
            super().pre_validate(form)


class JapaneseSelectField(SelectField):
    """A drop-down whose wrong answer is told in Japanese."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", INVALID_CHOICE)
        super().__init__(*args, **kwargs)


class CheckboxListField(SelectMultipleField):
    """Several checkboxes under one name (e.g. accommodations)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", INVALID_CHOICE)
        super().__init__(*args, **kwargs)


class JapanDateTimeField(StringField):
    """`<input type="datetime-local">`, read as Japan time and kept as UTC."""

    input_type = "datetime-local"
    FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raw = ""

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.raw:
            return
        for fmt in self.FORMATS:
            try:
                local = datetime.strptime(unicodedata.normalize("NFKC", self.raw), fmt)
            except ValueError:
                continue
            if not MIN_YEAR <= local.year <= MAX_YEAR:
                raise ValueError(f"{MIN_YEAR}年から{MAX_YEAR}年までの日時を入力してください。")
            self.data = local.replace(tzinfo=JST).astimezone(UTC)
            return
        raise ValueError("日時の形式が正しくありません（例：2026-12-12T14:00）。")

    def _value(self):
        if self.data is None:
            return getattr(self, "raw", "") or ""
        return self.data.astimezone(JST).strftime("%Y-%m-%dT%H:%M")


class JapanDateField(StringField):
    """`<input type="date">`: ``YYYY-MM-DD`` (全角 digits too) → date; empty → None."""

    input_type = "date"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raw = ""

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.raw:
            return
        try:
            value = date.fromisoformat(unicodedata.normalize("NFKC", self.raw))
        except ValueError:
            raise ValueError("日付の形式が正しくありません（例：2026-12-01）。") from None
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"{MIN_YEAR}年から{MAX_YEAR}年までの日付を入力してください。")
        self.data = value

    def _value(self):
        return self.data.isoformat() if self.data else (getattr(self, "raw", "") or "")


class SafeFieldList(FieldList):
    """A FieldList that reads only ASCII row numbers (``sessions-²-venue`` is no row: WTForms'
    own test, ``str.isdigit``, accepts ``"²"`` and then ``int("²")`` raises) and never more
    rows than it may hold."""

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix):
                index = key[offset:].split(self._field_separator, 1)[0]
                if index.isascii() and index.isdigit() and len(index) <= 6:
                    yield int(index)

    @property
    def is_full(self) -> bool:
        return bool(self.max_entries) and len(self.entries) >= self.max_entries
