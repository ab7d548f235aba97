"""Opening rules: 「今日開いている」 and 「次に開く日時」 with the clock fixed, and the text people
read, generated from the same rules (directory/schedules.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

import pytest

from hikisupport.core.japanese import JST
from hikisupport.directory import schedules


@dataclass
class Rule:
    freq: str
    byday: str
    opens_at: time | None = None
    closes_at: time | None = None
    closed: bool = False
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass
class Closure:
    starts_on: date
    ends_on: date
    reason: str = ""


@dataclass
class Place:
    schedules: list = field(default_factory=list)
    closures: list = field(default_factory=list)
    closed_on_holidays: bool = True
    closed_year_end: bool = True
    is_paused: bool = False


def weekly(byday, opens="10:00", closes="17:00", **kw):
    return Rule("WEEKLY", byday, schedules.parse_hhmm(opens), schedules.parse_hhmm(closes), **kw)


def monthly(byday, opens="13:00", closes="16:00", **kw):
    return Rule("MONTHLY", byday, schedules.parse_hhmm(opens), schedules.parse_hhmm(closes), **kw)


def at(text: str) -> datetime:
    """A fixed clock: Japan time."""
    return datetime.fromisoformat(text).replace(tzinfo=JST)


# ---------------------------------------------------------------------------------------------
# The holiday library is right for the hard cases


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2026-05-06", "振替休日"),  # 憲法記念日 on a Sunday
        ("2026-09-21", "敬老の日"),
        ("2026-09-22", "国民の休日"),  # between 敬老の日 and 秋分の日
        ("2026-09-23", "秋分の日"),
        ("2026-12-31", None),
    ],
)
def test_holidays(day, name):
    assert schedules.holiday_name(date.fromisoformat(day)) == name


# ---------------------------------------------------------------------------------------------
# Open today?

IBASHO = Place(schedules=[monthly("2SA,4SA")])  # 第2・第4土曜 13:00–16:00


def test_open_on_the_second_saturday_and_not_on_the_first():
    second = schedules.status_at(IBASHO, at("2026-12-12T09:00"))  # 第2土曜
    assert second.open_today and not second.open_now
    assert second.today.hours_text == "13:00〜16:00"
    assert second.next_opening == at("2026-12-12T13:00")
    first = schedules.status_at(IBASHO, at("2026-12-05T14:00"))  # 第1土曜
    assert not first.open_today
    assert first.next_opening == at("2026-12-12T13:00")


def test_open_now_and_next_opening_during_hours():
    during = schedules.status_at(IBASHO, at("2026-12-12T14:30"))
    assert during.open_today and during.open_now
    assert during.next_opening == at("2026-12-26T13:00")  # 第4土曜
    after = schedules.status_at(IBASHO, at("2026-12-12T16:00"))  # closes at 16:00 sharp
    assert after.open_today and not after.open_now


def test_last_friday_of_the_month():
    place = Place(schedules=[monthly("-1FR", "18:00", "20:00")])
    assert schedules.status_at(place, at("2026-10-30T12:00")).open_today
    assert not schedules.status_at(place, at("2026-10-23T12:00")).open_today


WINDOW = Place(schedules=[weekly("MO,TU,WE,TH,FR", "8:30", "17:00")])


def test_closed_on_a_public_holiday_and_open_the_day_after():
    holiday = schedules.status_at(WINDOW, at("2026-09-21T10:00"))  # 敬老の日 (Mon)
    assert not holiday.open_today
    assert holiday.today.reason == "祝日（敬老の日）の休み"
    # 9/22 国民の休日, 9/23 秋分の日: next open on Thursday.
    assert holiday.next_opening == at("2026-09-24T08:30")


@pytest.mark.parametrize(
    ("when", "name"),
    [("2026-05-06T10:00", "振替休日"), ("2026-09-22T10:00", "国民の休日")],
)
def test_closed_on_a_substitute_and_a_citizens_holiday(when, name):
    status = schedules.status_at(WINDOW, at(when))
    assert not status.open_today
    assert name in status.today.reason


def test_a_place_open_on_holidays_stays_open():
    place = Place(schedules=[weekly("MO,TU,WE,TH,FR")], closed_on_holidays=False)
    assert schedules.status_at(place, at("2026-05-06T11:00")).open_now


def test_closed_over_the_year_end_and_opens_on_january_4th():
    status = schedules.status_at(WINDOW, at("2026-12-31T10:00"))  # a Thursday
    assert not status.open_today
    assert status.today.reason == "年末年始の休み"
    assert status.next_opening == at("2027-01-04T08:30")
    assert schedules.status_at(WINDOW, at("2026-12-28T10:00")).open_now  # last day before


def test_a_dated_closure_closes_days_and_the_next_opening_skips_them():
    place = Place(
        schedules=[weekly("TU,FR")],
        closures=[Closure(date(2026, 12, 8), date(2026, 12, 11), "設備点検")],
    )
    before = schedules.status_at(place, at("2026-12-07T10:00"))  # Monday
    assert before.next_opening == at("2026-12-15T10:00")  # 12/8 and 12/11 are closed
    during = schedules.status_at(place, at("2026-12-11T10:30"))
    assert not during.open_today and during.today.reason == "臨時休業（設備点検）"
    after = schedules.status_at(place, at("2026-12-15T10:30"))
    assert after.open_now


def test_a_closing_rule_overrides_an_opening_rule():
    place = Place(
        schedules=[weekly("SU", "10:00", "16:00"), Rule("MONTHLY", "1SU,3SU,5SU", closed=True)]
    )
    assert not schedules.status_at(place, at("2026-11-01T11:00")).open_today  # 第1日曜
    assert schedules.status_at(place, at("2026-11-08T11:00")).open_now  # 第2日曜
    assert not schedules.status_at(place, at("2026-11-29T11:00")).open_today  # 第5日曜


def test_validity_period_of_a_rule():
    place = Place(schedules=[weekly("WE", valid_from=date(2027, 4, 1))])
    early = schedules.status_at(place, at("2027-03-31T10:00"))
    assert not early.open_today
    assert early.next_opening == at("2027-04-07T10:00")


def test_a_paused_service_is_never_open():
    place = Place(schedules=[weekly("MO,TU,WE,TH,FR,SA,SU")], is_paused=True)
    status = schedules.status_at(place, at("2026-12-01T12:00"))
    assert not status.open_today and status.next_opening is None


def test_two_rules_on_one_day_merge_their_hours():
    place = Place(schedules=[weekly("SA", "10:00", "12:00"), monthly("2SA", "11:00", "15:00")])
    assert schedules.day_of(place, date(2026, 12, 12)).hours_text == "10:00〜15:00"
    assert schedules.day_of(place, date(2026, 12, 19)).hours_text == "10:00〜12:00"


# ---------------------------------------------------------------------------------------------
# The generated text, per rule kind


@pytest.mark.parametrize(
    ("place", "text"),
    [
        (Place(schedules=[weekly("TU,FR")]), "毎週火・金 10:00〜17:00（祝日・年末年始は休み）"),
        (WINDOW, "毎週月〜金 8:30〜17:00（祝日・年末年始は休み）"),
        (
            Place(schedules=[weekly("SA")], closed_on_holidays=False, closed_year_end=False),
            "毎週土曜 10:00〜17:00",
        ),
        (
            Place(
                schedules=[weekly("MO,TU,WE,TH,FR,SA,SU", "9:00", "21:00")], closed_year_end=False
            ),
            "毎日 9:00〜21:00（祝日は休み）",
        ),
        (
            Place(schedules=[monthly("2SA,4SA")], closed_on_holidays=False),
            "第2・第4土曜 13:00〜16:00（年末年始は休み）",
        ),
        (
            Place(schedules=[monthly("-1FR", "18:00", "20:00")]),
            "最終金曜 18:00〜20:00（祝日・年末年始は休み）",
        ),
        (
            Place(
                schedules=[
                    weekly("SU", "10:00", "16:00"),
                    Rule("MONTHLY", "1SU,3SU,5SU", closed=True),
                ]
            ),
            "毎週日曜 10:00〜16:00（第1・第3・第5日曜、祝日・年末年始は休み）",
        ),
        (
            Place(
                schedules=[weekly("WE", valid_from=date(2027, 4, 1), valid_to=date(2028, 3, 31))],
                closed_on_holidays=False,
                closed_year_end=False,
            ),
            "毎週水曜 10:00〜17:00（2027年4月1日〜2028年3月31日）",
        ),
        (
            Place(schedules=[weekly("MO,WE"), monthly("1SA,3SA", "13:00", "16:00")]),
            "毎週月・水 10:00〜17:00、第1・第3土曜 13:00〜16:00（祝日・年末年始は休み）",
        ),
        (Place(), "開いている日時は、直接お問い合わせください"),
    ],
    ids=[
        "weekly",
        "weekday-run",
        "one-day",
        "every-day",
        "nth-weekday",
        "last-weekday",
        "closing-rule",
        "validity",
        "two-rules",
        "none",
    ],
)
def test_generated_text(place, text):
    assert schedules.describe(place) == text


def test_closure_text():
    assert schedules.closure_text(Closure(date(2026, 12, 10), date(2026, 12, 11), "設備点検")) == (
        "令和8年12月10日（木）〜12月11日（金） 臨時休業（設備点検）"
    )
    assert schedules.closure_text(Closure(date(2026, 12, 10), date(2026, 12, 10))) == (
        "令和8年12月10日（木） 臨時休業"
    )


@pytest.mark.parametrize(
    ("byday", "freq", "message"),
    [
        ("", "WEEKLY", "曜日を1つ以上"),
        ("XX", "WEEKLY", "読めません"),
        ("2SA", "WEEKLY", "毎週のルールに"),
        ("SA", "MONTHLY", "毎月のルールには"),
        ("6SA", "MONTHLY", "読めません"),
    ],
)
def test_bad_byday_is_refused_in_japanese(byday, freq, message):
    with pytest.raises(ValueError, match=message):
        schedules.parse_byday(byday, freq)
