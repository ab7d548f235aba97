from datetime import UTC, date, datetime

import pytest

from hikisupport.core import japanese as jp


@pytest.mark.parametrize(
    ("day", "fy"),
    [
        (date(2026, 4, 1), 2026),
        (date(2027, 3, 31), 2026),
        (date(2026, 3, 31), 2025),
        (date(2030, 12, 1), 2030),
    ],
)
def test_fiscal_year_runs_april_to_march(day, fy):
    assert jp.fiscal_year(day) == fy


def test_fiscal_year_of_a_utc_time_is_taken_in_japan():
    # 2027-03-31 16:00 UTC is already 1 April in Tokyo: the next fiscal year.
    assert jp.fiscal_year(datetime(2027, 3, 31, 16, 0, tzinfo=UTC)) == 2027
    assert jp.fiscal_year(datetime(2027, 3, 31, 14, 59, tzinfo=UTC)) == 2026


@pytest.mark.parametrize(
    ("fy", "label"),
    [
        (2026, "令和8年度（2026）"),
        (2030, "令和12年度（2030）"),
        (2019, "令和元年度（2019）"),
        (2018, "平成30年度（2018）"),
    ],
)
def test_fiscal_year_label_shows_both_calendars(fy, label):
    assert jp.fiscal_year_label(fy) == label


def test_wareki_with_weekday_and_session_period():
    start = jp.jst_datetime(2026, 6, 13, 14, 0)
    end = jp.jst_datetime(2026, 6, 13, 16, 0)
    assert jp.wareki_date(start) == "令和8年6月13日（土）"
    assert jp.session_period(start, end) == "令和8年6月13日（土）14:00〜16:00"
    assert jp.wareki_date(date(2019, 5, 1)) == "令和元年5月1日（水）"
    assert jp.wareki_date(date(2019, 4, 30)) == "平成31年4月30日（火）"


def test_jst_datetime_is_stored_as_utc():
    assert jp.jst_datetime(2026, 6, 13, 14, 0) == datetime(2026, 6, 13, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("０３－３３１２－２１１１", "0333122111"),
        ("090ー1234ー5678", "09012345678"),
        ("(03) 3312 2111", "0333122111"),
        ("０９０‐１２３４‐５６７８", "09012345678"),
    ],
)
def test_phone_numbers_as_people_type_them(typed, digits):
    assert jp.normalize_phone(typed) == digits
    assert jp.is_phone_number(digits)


@pytest.mark.parametrize("digits", ["", "0312345", "1234567890", "031234567890", "03abc12345"])
def test_not_phone_numbers(digits):
    assert not jp.is_phone_number(jp.normalize_phone(digits))


@pytest.mark.parametrize(
    ("typed", "kana"),
    [
        ("すぎなみ", "スギナミ"),
        ("ｽｷﾞﾅﾐ", "スギナミ"),
        ("スギナミ", "スギナミ"),
        ("　はなこ　", "ハナコ"),
        ("ゔぁいおりん", "ヴァイオリン"),
    ],
)
def test_kana_becomes_full_width_katakana(typed, kana):
    assert jp.normalize_kana(typed) == kana
    assert jp.is_katakana(kana)


def test_kanji_is_not_katakana():
    assert not jp.is_katakana(jp.normalize_kana("杉並"))


def test_names_fold_full_width_spaces():
    assert jp.normalize_text("　杉並　　花子　") == "杉並 花子"


@pytest.mark.parametrize(
    ("typed", "normalised", "valid"),
    [
        ("Hanako@Example.JP", "hanako@example.jp", True),
        ("ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ", "hanako@example.jp", True),
        (" hanako@example.jp ", "hanako@example.jp", True),
        ("hanako@example", "hanako@example", False),
        ("hanako.example.jp", "hanako.example.jp", False),
        ("hana ko@example.jp", "hana ko@example.jp", False),
        ("hanako@@example.jp", "hanako@@example.jp", False),
        ("はなこ@example.jp", "はなこ@example.jp", False),
    ],
)
def test_email_normalisation(typed, normalised, valid):
    assert jp.normalize_email(typed) == normalised
    assert jp.is_email(normalised) is valid


def test_control_characters_are_detected():
    assert jp.has_control_characters("abc\x00")
    assert jp.has_control_characters("a\u200bb")  # zero-width space (Cf)
    assert not jp.has_control_characters("杉並 花子😀")
    assert jp.has_control_characters("行1\n行2")
    assert not jp.has_control_characters("行1\n行2", allow_newlines=True)
