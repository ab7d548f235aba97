"""Opening rules: is a service open on a day, when does it open next, and the text people read.

Rules are stored after Open Referral HSDS `schedule` (``freq`` WEEKLY or MONTHLY, ``byday``
such as ``TU,FR``, ``2SA,4SA`` or ``-1FR``, ``opens_at``, ``closes_at``, ``valid_from``,
``valid_to``) and evaluated with python-dateutil's rrule; public holidays come from
``jpholiday``. The text shown to people (「毎週火・金 10:00〜17:00（祝日・年末年始は休み）」) is
generated from the same rules, so it never disagrees with 「今日開いている」.

Precedence on a day: 一時休止 → a dated closure (臨時休業) → 年末年始 (12/29–1/3) → 祝日 →
a closing rule (第1・3・5日曜は休み) → the opening rules (their hours, merged).

Everything takes `now` or a `day`: callers (and tests) fix the clock, nothing reads it here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import jpholiday
from dateutil.rrule import FR, MO, MONTHLY, SA, SU, TH, TU, WE, WEEKLY, rrule

from hikisupport.core.japanese import JST, WEEKDAYS, wareki_date
from hikisupport.models import ScheduleFrequency

# RFC 5545 weekday codes, indexed like date.weekday() (Monday = 0).
CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_RRULE_DAYS = (MO, TU, WE, TH, FR, SA, SU)
_FREQ = {ScheduleFrequency.WEEKLY: WEEKLY, ScheduleFrequency.MONTHLY: MONTHLY}
_BYDAY = re.compile(r"^(-1|[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")
# How far ahead 「次に開く日時」 looks (a monthly rule opens at least once in 5 weeks).
HORIZON_DAYS = 400


@dataclass(frozen=True, order=True)
class ByDay:
    """One BYDAY entry: a weekday (0 = Monday), and for monthly rules its ordinal (1–5, -1)."""

    weekday: int
    ordinal: int | None = None

    @property
    def code(self) -> str:
        return f"{self.ordinal or ''}{CODES[self.weekday]}"


def parse_byday(text: str, freq: str) -> list[ByDay]:
    """``"2SA,4SA"`` → ByDays; ValueError with a Japanese message if it does not fit `freq`."""
    items = [part.strip().upper() for part in (text or "").split(",") if part.strip()]
    if not items:
        raise ValueError("曜日を1つ以上指定してください。")
    found = []
    for item in items:
        match = _BYDAY.match(item)
        if match is None:
            raise ValueError(f"曜日の指定「{item}」が読めません（例：TU、2SA、-1FR）。")
        ordinal = int(match.group(1)) if match.group(1) else None
        if freq == ScheduleFrequency.WEEKLY and ordinal is not None:
            raise ValueError("毎週のルールに「第何」は付けられません（毎月を選んでください）。")
        if freq == ScheduleFrequency.MONTHLY and ordinal is None:
            raise ValueError("毎月のルールには「第何」を付けてください（例：2SA＝第2土曜）。")
        found.append(ByDay(CODES.index(match.group(2)), ordinal))
    return sorted(set(found), key=_byday_order)


def _byday_order(item: ByDay) -> tuple[int, int]:
    # 第1…第5 then 最終 within a weekday
    return item.weekday, 9 if item.ordinal == -1 else (item.ordinal or 0)


def format_byday(items: Iterable[ByDay]) -> str:
    return ",".join(item.code for item in sorted(items, key=_byday_order))


def applies_on(rule, day: date) -> bool:
    """Whether an HSDS rule (opening or closing) names `day`."""
    if rule.valid_from and day < rule.valid_from:
        return False
    if rule.valid_to and day > rule.valid_to:
        return False
    byday = parse_byday(rule.byday, rule.freq)
    weekdays = [
        _RRULE_DAYS[b.weekday](b.ordinal) if b.ordinal else _RRULE_DAYS[b.weekday] for b in byday
    ]
    start = datetime(day.year, day.month, 1)
    midnight = datetime(day.year, day.month, day.day)
    hit = rrule(_FREQ[ScheduleFrequency(rule.freq)], byweekday=weekdays, dtstart=start).after(
        midnight, inc=True
    )
    return hit == midnight


def is_year_end(day: date) -> bool:
    """年末年始: 12月29日〜1月3日."""
    return (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3)


def holiday_name(day: date) -> str | None:
    """The public holiday's name (振替休日 and 国民の休日 included), or None."""
    name = jpholiday.is_holiday_name(day)
    # jpholiday names a substitute holiday after the one it replaces: 「憲法記念日 振替休日」.
    return "振替休日" if name and name.endswith("振替休日") else name


@dataclass(frozen=True)
class Day:
    """A service on one day: its opening hours (empty: closed) and, if closed, why."""

    day: date
    hours: tuple[tuple[time, time], ...] = ()
    reason: str = ""

    @property
    def is_open(self) -> bool:
        return bool(self.hours)

    @property
    def hours_text(self) -> str:
        return "、".join(f"{hhmm(o)}〜{hhmm(c)}" for o, c in self.hours)


def day_of(service, day: date) -> Day:
    """Whether `service` opens on `day`, and its hours."""
    if service.is_paused:
        return Day(day, reason="一時休止中です")
    for closure in service.closures:
        if closure.starts_on <= day <= closure.ends_on:
            reason = f"臨時休業（{closure.reason}）" if closure.reason else "臨時休業"
            return Day(day, reason=reason)
    if service.closed_year_end and is_year_end(day):
        return Day(day, reason="年末年始の休み")
    holiday = holiday_name(day) if service.closed_on_holidays else None
    if holiday:
        return Day(day, reason=f"祝日（{holiday}）の休み")
    rules = list(service.schedules)
    if any(r.closed and applies_on(r, day) for r in rules):
        return Day(day, reason="休み")
    hours = _merge((r.opens_at, r.closes_at) for r in rules if not r.closed and applies_on(r, day))
    return Day(day, hours=hours, reason="" if hours else "休み")


def _merge(intervals: Iterable[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    merged: list[list[time]] = []
    for opens, closes in sorted(intervals):
        if merged and opens <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], closes)
        else:
            merged.append([opens, closes])
    return tuple((o, c) for o, c in merged)


@dataclass(frozen=True)
class OpenStatus:
    """「今日開いている」 and 「次に開く日時」 at one moment, in Japan time."""

    now: datetime  # in JST
    today: Day
    open_now: bool
    # The next time it opens after `now` (not counting an opening already under way).
    next_opening: datetime | None
    next_day: Day | None

    @property
    def open_today(self) -> bool:
        return self.today.is_open


def status_at(service, now: datetime) -> OpenStatus:
    """Open today? open now? when next? — all from the rules, at `now` (timezone-aware)."""
    local = now.astimezone(JST)
    today = day_of(service, local.date())
    clock = local.time().replace(tzinfo=None)
    open_now = any(o <= clock < c for o, c in today.hours)
    later = [o for o, _ in today.hours if o > clock]
    if later:
        return OpenStatus(local, today, open_now, _at(local.date(), later[0]), today)
    for offset in range(1, HORIZON_DAYS + 1):
        candidate = day_of(service, local.date() + timedelta(days=offset))
        if candidate.is_open:
            opens = _at(candidate.day, candidate.hours[0][0])
            return OpenStatus(local, today, open_now, opens, candidate)
    return OpenStatus(local, today, open_now, None, None)


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=JST)


def next_open_days(service, start: date, count: int, limit_days: int = 120) -> list[Day]:
    """The next `count` days on which the service opens, from `start` on."""
    found = []
    for offset in range(limit_days):
        candidate = day_of(service, start + timedelta(days=offset))
        if candidate.is_open:
            found.append(candidate)
            if len(found) == count:
                break
    return found


# ---------------------------------------------------------------------------------------------
# The text people read


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    """「8:30」「08:30」「８：３０」 → time; ValueError in Japanese otherwise."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"時刻「{text}」が読めません（例：9:00、17:30）。")
    return time(int(match.group(1)), int(match.group(2)))


def hhmm(value: time) -> str:
    """10:00, 8:30."""
    return f"{value.hour}:{value.minute:02d}"


def _weekday_names(weekdays: Sequence[int]) -> str:
    """火・金; 月〜金 for a run of three or more; 毎日 for all seven."""
    days = sorted(set(weekdays))
    if len(days) == 7:
        return "毎日"
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAYS[run[0]]}〜{WEEKDAYS[run[-1]]}")
        else:
            parts.extend(WEEKDAYS[d] for d in run)
    text = "・".join(parts)
    return text + "曜" if len(days) == 1 else text


def _ordinal(n: int) -> str:
    return "最終" if n == -1 else f"第{n}"


def days_text(rule) -> str:
    """毎週火・金 / 毎日 / 第2・第4土曜 / 最終金曜."""
    byday = parse_byday(rule.byday, rule.freq)
    if rule.freq == ScheduleFrequency.WEEKLY:
        names = _weekday_names([b.weekday for b in byday])
        return names if names == "毎日" else f"毎週{names}"
    by_weekday: dict[int, list[int]] = {}
    for b in byday:
        by_weekday.setdefault(b.weekday, []).append(b.ordinal)
    parts = []
    for weekday, ordinals in sorted(by_weekday.items()):
        ordered = sorted(ordinals, key=lambda n: 9 if n == -1 else n)
        parts.append("・".join(_ordinal(n) for n in ordered) + f"{WEEKDAYS[weekday]}曜")
    return "、".join(parts)


def _validity(rule) -> str:
    start = _short_date(rule.valid_from) if rule.valid_from else ""
    end = _short_date(rule.valid_to) if rule.valid_to else ""
    if start and end:
        return f"（{start}〜{end}）"
    if start:
        return f"（{start}から）"
    if end:
        return f"（{end}まで）"
    return ""


def _short_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def rule_text(rule) -> str:
    """One rule in Japanese: 「毎週火・金 10:00〜17:00」, 「第1・第3・第5日曜は休み」."""
    if rule.closed:
        return f"{days_text(rule)}{_validity(rule)}"
    return f"{days_text(rule)} {hhmm(rule.opens_at)}〜{hhmm(rule.closes_at)}{_validity(rule)}"


def describe(service) -> str:
    """The opening text of a service, generated from its rules:
    「毎週火・金 10:00〜17:00（祝日・年末年始は休み）」."""
    rules = list(service.schedules)
    opening = [rule_text(r) for r in rules if not r.closed]
    if not opening:
        return "開いている日時は、直接お問い合わせください"
    closed = [rule_text(r) for r in rules if r.closed]
    usual = [
        w
        for w, on in (("祝日", service.closed_on_holidays), ("年末年始", service.closed_year_end))
        if on
    ]
    if usual:
        closed.append("・".join(usual))
    text = "、".join(opening)
    if closed:
        text += f"（{'、'.join(closed)}は休み）"
    return text


def closure_text(closure) -> str:
    """「令和8年12月10日（木）〜12月11日（金） 臨時休業（設備点検）」."""
    start = wareki_date(closure.starts_on)
    if closure.ends_on == closure.starts_on:
        period = start
    else:
        end = closure.ends_on
        period = f"{start}〜{end.month}月{end.day}日（{WEEKDAYS[end.weekday()]}）"
        if end.year != closure.starts_on.year:
            period = f"{start}〜{wareki_date(end)}"
    return f"{period} 臨時休業" + (f"（{closure.reason}）" if closure.reason else "")


def upcoming_closures(service, today: date) -> list:
    return [c for c in service.closures if c.ends_on >= today]


def open_weekdays(service) -> list[int]:
    """Weekdays on which some opening rule opens (for 利用可能曜日), Monday first."""
    found = set()
    for rule in service.schedules:
        if not rule.closed:
            found.update(b.weekday for b in parse_byday(rule.byday, rule.freq))
    return sorted(found)
