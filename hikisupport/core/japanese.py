"""年度 / 和暦 formatting and normalisation of Japanese input as people type it."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
# Dates people may enter (events, filters): far-off years are typing mistakes, and years near
# datetime's limits overflow when converted between time zones.
MIN_YEAR, MAX_YEAR = 2000, 2100
WEEKDAYS = "月火水木金土日"

# JIS X 0401: the prefecture of a 全国地方公共団体コード is its first two digits.
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip


def prefecture_of(code: str) -> str:
    """「東京都」 for 131156 (杉並区); "" for a code that is not a local government's."""
    if len(code) < 2 or not code[:2].isdigit() or not 1 <= int(code[:2]) <= 47:
        return ""
    return PREFECTURES[int(code[:2]) - 1]


# (first day, era name); newest first.
ERAS = [
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
]


def to_jst(value: datetime) -> datetime:
    """A timezone-aware datetime shown in Japan time."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(JST)


def jst_datetime(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Japan, as a UTC datetime (how times are stored)."""
    return datetime(year, month, day, hour, minute, tzinfo=JST).astimezone(UTC)


def _local_date(value: date | datetime) -> date:
    return to_jst(value).date() if isinstance(value, datetime) else value


def fiscal_year(value: date | datetime) -> int:
    """The fiscal year (年度, 1 April – 31 March) of a date; datetimes are taken in Japan time."""
    day = _local_date(value)
    return day.year if day.month >= 4 else day.year - 1


def era_year(year: int, month: int = 12, day: int = 31) -> str:
    """「令和8年」 for 2026; 「令和元年」 for the first year of an era."""
    when = date(year, month, day)
    for start, name in ERAS:
        if when >= start:
            n = year - start.year + 1
            return f"{name}{'元' if n == 1 else n}年"
    return f"{year}年"


def fiscal_year_label(fy: int) -> str:
    """「令和8年度（2026）」: the era name of the fiscal year, with the Western year."""
    # Named by the era of the calendar year: FY2019 is 令和元年度, as municipalities name it.
    return f"{era_year(fy)[:-1]}年度（{fy}）"


def wareki_date(value: date | datetime) -> str:
    """「令和8年6月13日（土）」."""
    day = _local_date(value)
    era = era_year(day.year, day.month, day.day)
    return f"{era}{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"


def wareki_datetime(value: datetime) -> str:
    """「令和8年6月13日（土）14:00」."""
    local = to_jst(value)
    return f"{wareki_date(local)}{local:%H:%M}"


def session_period(starts_at: datetime, ends_at: datetime) -> str:
    """「令和8年6月13日（土）14:00〜16:00」, or both dates when the session spans days."""
    start, end = to_jst(starts_at), to_jst(ends_at)
    if start.date() == end.date():
        return f"{wareki_date(start)}{start:%H:%M}〜{end:%H:%M}"
    return f"{wareki_datetime(start)}〜{wareki_datetime(end)}"


# ---------------------------------------------------------------------------------------------
# Input normalisation

_SPACES = re.compile(r"\s+")
_DASHES = re.compile(r"[-‐‑‒–—―−ー－ｰ]")
_PHONE_NOISE = re.compile(r"[\s()（）]")
_KATAKANA = re.compile(r"^[ァ-ヺー・ヽヾ ]+$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def has_control_characters(text: str, *, allow_newlines: bool = False) -> bool:
    """True if the text holds NUL or another control/format character people cannot type."""
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} and ch not in allowed
        for ch in text
    )


def normalize_text(text: str) -> str:
    """NFKC (全角英数 → 半角, 半角カナ → 全角), 全角 spaces folded, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def normalize_line(text: str) -> str:
    """One line of prose as written (全角 brackets and numbers kept), whitespace trimmed and
    runs of it folded; for titles and places, where NFKC would change the typography."""
    return _SPACES.sub(" ", text).strip()


def hiragana_to_katakana(text: str) -> str:
    return "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" or ch in "ゝゞ" else ch for ch in text)


def normalize_kana(text: str) -> str:
    """フリガナ as typed (ひらがな, 半角カナ, 全角 spaces) → 全角カタカナ."""
    return hiragana_to_katakana(normalize_text(text))


def is_katakana(text: str) -> bool:
    return bool(_KATAKANA.match(text))


def normalize_phone(text: str) -> str:
    """「０３ー１２３４ー５６７８」 → 「0312345678」: NFKC, every dash and space removed."""
    text = unicodedata.normalize("NFKC", text)
    return _DASHES.sub("", _PHONE_NOISE.sub("", text))


def is_phone_number(digits: str) -> bool:
    """A Japanese number: 0 then 9 or 10 more digits (固定 10 digits, 携帯・IP 11 digits)."""
    return bool(re.fullmatch(r"0\d{9,10}", digits))


def format_phone(digits: str) -> str:
    """Readable grouping for staff; the stored value stays digits only."""
    if len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if len(digits) == 10 and digits.startswith(("03", "06")):
        return f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"
    if len(digits) == 10:
        return (
            f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
            if digits.startswith("0120")
            else (f"{digits[:3]}-{digits[3:6]}-{digits[6:]}")
        )
    return digits


def normalize_email(text: str) -> str:
    """NFKC (全角 typed addresses work), trimmed, lower case: the key that finds a person."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def is_email(text: str) -> bool:
    if len(text) > 254 or "@" not in text:
        return False
    local, _, domain = text.rpartition("@")
    return (
        len(local) <= 64
        and "." in domain
        and ".." not in text
        and not local.startswith(".")
        and not local.endswith(".")
        and bool(_EMAIL.match(text))
    )
