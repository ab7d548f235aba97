"""The count (count_supporters) on hand-built scenarios, suppression, the policy page, its
chart and table against the JSON, the exports read back as the user's tool would."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from fixtures.supporters import certifications, jst
from openpyxl import load_workbook

from hikisupport.core.extensions import db
from hikisupport.models import IndicatorTarget, Municipality
from hikisupport.reports.services import count_supporters, indicator_report
from hikisupport.reports.suppression import TOTAL, reveals_a_hidden_cell, suppress
from hikisupport.supporters import services

AS_OF = date(2031, 3, 31)


def by_year(**kwargs) -> dict[int, tuple[int, int]]:
    db.session.commit()
    result = count_supporters(as_of=kwargs.pop("as_of", AS_OF), **kwargs)
    return {c.fiscal_year: (c.new, c.cumulative) for c in result.fiscal_years if c.new}


@pytest.fixture
def world(app):
    db.session.add(Municipality(name="杉並区", code="131156"))
    db.session.add_all(
        [
            IndicatorTarget(fiscal_year=2026, target=120),
            IndicatorTarget(fiscal_year=2030, target=360),
        ]
    )
    db.session.commit()


@pytest.fixture
def complete(course, enrol, attend):
    """A person who completes a one-session course held at `when`."""

    def make(when, **person):
        event = course(sessions=1, at=[when], capacity=50)
        registration = enrol(event, **person)
        attend(registration)
        return registration

    return make


def test_one_and_three_session_courses(world, course, enrol, attend):
    one = course(sessions=1, at=[jst(2026, 6, 13)])
    attend(enrol(one))
    three = course(sessions=3, at=[jst(2026, 9, 5), jst(2026, 9, 12), jst(2026, 9, 19)])
    partial, full = enrol(three), enrol(three)
    for n in (1, 2, 3):
        attend(full, n)
    attend(partial, 1)
    assert by_year() == {2026: (2, 2)}


def test_a_person_certified_twice_counts_once_in_the_first_year(world, course, enrol, attend):
    first = course(sessions=1, at=[jst(2025, 11, 8)])
    second = course(sessions=1, at=[jst(2026, 11, 7)])
    attend(enrol(first, email="twice@example.jp"))
    attend(enrol(second, email="twice@example.jp"))
    assert len(certifications()) == 2
    assert by_year() == {2025: (1, 1)}


def test_march_31_and_april_1_fall_in_different_fiscal_years(world, complete):
    complete(jst(2027, 3, 31, 23, 30))
    complete(jst(2027, 4, 1, 0, 30))
    assert by_year() == {2026: (1, 1), 2027: (1, 2)}


def test_revocation_removes_the_person_and_the_next_valid_one_counts(world, complete):
    early = complete(jst(2025, 10, 1), email="r@example.jp")
    complete(jst(2026, 10, 1), email="r@example.jp")
    first = next(c for c in certifications() if c.registration_id == early.id)
    assert by_year() == {2025: (1, 1)}
    services.revoke(first, "誤って認定")
    assert by_year() == {2026: (1, 1)}


def test_manual_certification_and_correction(world, course, enrol):
    event = course(sessions=1, at=[jst(2026, 5, 10)])
    registration = enrol(event)
    certification = services.certify_by_hand(registration, "紙の名簿で確認")
    db.session.commit()
    assert by_year() == {2026: (1, 1)}
    services.correct(certification, "杉並", "はなこ", "誤字")
    assert by_year() == {2026: (1, 1)}


def test_residency_work_counts_only_after_the_setting_changes(world, complete):
    complete(jst(2026, 7, 1), residency="live")
    complete(jst(2026, 7, 1), residency="work")
    assert by_year() == {2026: (1, 1)}
    municipality = db.session.scalar(sa.select(Municipality))
    municipality.counted_residencies = ["live", "work"]
    db.session.commit()
    assert by_year() == {2026: (2, 2)}


def test_the_count_is_cumulative_and_as_of_a_day(world, complete):
    complete(jst(2025, 6, 1))
    complete(jst(2026, 6, 1))
    complete(jst(2026, 6, 2))
    result = count_supporters(as_of=date(2027, 1, 1))
    assert [(c.fiscal_year, c.new, c.cumulative) for c in result.fiscal_years] == [
        (2025, 1, 1),
        (2026, 2, 3),
    ]
    assert count_supporters(as_of=date(2026, 6, 1)).total == 2


def test_a_merge_never_double_counts(world, complete):
    from hikisupport.supporters.persons import merge

    a = complete(jst(2025, 9, 1), email="one@example.jp")
    b = complete(jst(2026, 9, 1), email="other@example.jp")
    assert by_year() == {2025: (1, 1), 2026: (1, 2)}
    merge(b.person, a.person, "同じ方が別のアドレスで申し込み")
    db.session.commit()
    assert by_year() == {2025: (1, 1)}
    assert len([c for c in certifications() if c.is_valid]) == 2  # each certification kept


def test_makeup_at_another_cohort_counts(world, course, enrol, attend):
    spring = course(sessions=2, at=[jst(2026, 5, 1), jst(2026, 5, 8)])
    autumn = course(sessions=2, at=[jst(2026, 10, 2), jst(2026, 10, 9)])
    services.link_cohorts(spring, autumn)
    db.session.commit()
    attend(enrol(spring, email="m@example.jp"), 1)
    attend(enrol(autumn, email="m@example.jp"), 2)
    assert by_year() == {2026: (1, 1)}


def test_the_count_is_one_aggregate_query(world, complete):
    for day in range(1, 6):
        complete(jst(2026, 6, day))
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    db.session.commit()
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        count_supporters(as_of=AS_OF, residencies=["live"], by=("event", "residency", "age_group"))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) == 1 and "count(" in selects[0].lower()


# ---------------------------------------------------------------------------------------------
# Suppression


def test_one_small_cell_also_hides_a_second_and_no_total_reveals_it():
    rows = ["講座A", "講座B", "講座C"]
    cells = {("講座A", 2026): 12, ("講座B", 2026): 3, ("講座C", 2026): 8}
    table = suppress(rows, [2026], cells, {2026: 23}, threshold=5)
    assert table.is_hidden("講座B", 2026)
    assert table.is_hidden("講座C", 2026)  # the next smallest in the column
    assert not table.is_hidden("講座A", 2026)
    assert not reveals_a_hidden_cell(table)


@pytest.mark.parametrize("seed", range(30))
def test_no_line_ever_has_exactly_one_hidden_cell(seed):
    import random

    rng = random.Random(seed)
    rows = [f"r{i}" for i in range(rng.randint(1, 5))]
    columns = list(range(2025, 2025 + rng.randint(1, 4)))
    cells = {(r, c): rng.choice([0, 0, 1, 2, 3, 4, 5, 7, 12, 30]) for r in rows for c in columns}
    totals = {c: sum(cells[(r, c)] for r in rows) for c in columns}
    table = suppress(rows, columns, cells, totals, threshold=5)
    assert not reveals_a_hidden_cell(table)
    for (r, c), v in cells.items():
        if 0 < v < 5:
            assert table.is_hidden(r, c)
    for r in rows:
        if 0 < table.value(r, TOTAL) < 5:
            assert table.is_hidden(r, TOTAL)


# ---------------------------------------------------------------------------------------------
# The page, the chart, the exports and the JSON agree


@pytest.fixture
def some_supporters(world, complete):
    for when, n in ((jst(2025, 10, 4), 7), (jst(2026, 6, 13), 12), (jst(2026, 11, 7), 3)):
        for _ in range(n):
            complete(when)


def test_the_page_chart_table_and_json_agree(some_supporters, staff_world, login_as):
    client = login_as(staff_world.policy)
    api = client.get("/api/v1/reports/supporters")
    assert api.status_code == 200
    body = api.json
    assert body["indicator"] == "ひきこもりサポーターの人数" and body["unit"] == "人"
    assert body["targets"] == [
        {"fiscal_year": 2026, "target": 120},
        {"fiscal_year": 2030, "target": 360},
    ]
    years = {y["fiscal_year"]: (y["new"], y["cumulative"]) for y in body["fiscal_years"]}
    assert years[2025] == (7, 7) and years[2026] == (15, 22)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["as_of"])

    page = client.get("/reports/supporters")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "実人数" in html
    for fy, (new, cumulative) in years.items():
        row = re.search(rf'<tr data-fiscal-year="{fy}">(.*?)</tr>', html, re.S).group(1)
        assert re.findall(r'<td class="num">(\d*)</td>', row)[:2] == [str(new), str(cumulative)]
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    bar_labels = re.findall(r'font-weight="bold" fill="#1a1a1a">(\d+)</text>', svg)
    assert bar_labels == [str(c) for _, c in sorted(years.values())][: len(bar_labels)]
    assert "目標 120" in svg and "目標 360" in svg and "stroke-dasharray" in svg
    assert "18.3" in html  # 達成率 22 / 120
    assert " style=" not in svg and "<script" not in svg


def test_the_csv_export_reads_back_as_a_long_table(some_supporters, staff_world, login_as):
    from hikisupport.models import AuditLog

    client = login_as(staff_world.policy)
    response = client.get("/reports/supporters.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "地方公共団体コード",
        "地方公共団体名",
        "指標",
        "年度（西暦）",
        "年度（和暦）",
        "区分",
        "内訳の種類",
        "内訳",
        "値",
        "単位",
        "注記",
    ]
    cumulative = {
        (r["年度（西暦）"], r["区分"]): r["値"]
        for r in rows
        if r["指標"] == "ひきこもりサポーターの人数（累計・実人数）"
    }
    assert cumulative[("2026", "実績")] == "22" and cumulative[("2026", "目標")] == "120"
    assert cumulative[("2030", "目標")] == "360"
    assert {r["地方公共団体コード"] for r in rows} == {"131156"}
    assert any(r["年度（和暦）"] == "令和8年度" for r in rows)
    small = [r for r in rows if r["注記"] == "5未満"]
    assert small and all(r["値"] == "" for r in small)
    assert db.session.scalar(sa.select(AuditLog).filter_by(action="report.export"))


def test_the_xlsx_export_has_numbers_as_numbers_and_a_notes_sheet(
    some_supporters, staff_world, login_as
):
    client = login_as(staff_world.admin)
    response = client.get("/reports/supporters.xlsx")
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["データ", "注記"]
    data = workbook["データ"]
    assert not data.merged_cells.ranges
    header = [c.value for c in data[1]]
    assert header[3] == "年度（西暦）" and header[8] == "値"
    values = [row[8].value for row in data.iter_rows(min_row=2)]
    assert all(v is None or isinstance(v, int) for v in values)
    notes = {row[0].value: row[1].value for row in workbook["注記"].iter_rows(min_row=2)}
    assert "5未満" in notes and "5人未満" in notes["5未満"]


def test_breakdowns_on_the_page_suppress_small_cells(some_supporters, staff_world, login_as):
    report = indicator_report(as_of=AS_OF)
    events = next(b for b in report.breakdowns if b.key == "event")
    assert any(events.table.is_hidden(r, 2026) for r in events.table.rows)
    assert not reveals_a_hidden_cell(events.table)
    html = login_as(staff_world.policy).get("/reports/supporters").get_data(as_text=True)
    assert "5未満" in html


def test_lecture_attendance_persons_and_attendances(world, course, enrol, attend):
    lecture = course(
        sessions=2, kind="lecture", certifies=False, at=[jst(2026, 5, 1), jst(2026, 5, 8)]
    )
    a, b = enrol(lecture), enrol(lecture)
    attend(a, 1)
    attend(a, 2)
    attend(b, 1)
    report = indicator_report(as_of=AS_OF)
    (fy,) = report.lectures
    assert (fy.fiscal_year, fy.persons, fy.attendances) == (2026, 2, 3)


def test_the_policy_role_sees_no_personal_data_on_any_page_or_export(
    some_supporters, staff_world, login_as, app
):
    """Walk every GET route the policy role may open (from the URL map) and read each answer
    as its user would — HTML, JSON, CSV, and the .xlsx cell by cell."""
    from hikisupport.staff.access import Access

    personal = {
        "杉並 花子",
        "花子1",
        "person1@example.jp",
        "スギナミ",
        "0333122111",
        "03-3312-2111",
    }
    client = login_as(staff_world.policy)
    opened = []
    for rule in app.url_map.iter_rules():
        access = getattr(app.view_functions[rule.endpoint], "access", None)
        if not isinstance(access, Access) or "policy" not in access.roles:
            continue
        if "GET" not in rule.methods or rule.arguments - {"event_id"}:
            continue
        path = rule.rule.replace("<id:event_id>", str(staff_world.event.id))
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        if path.endswith(".xlsx"):
            workbook = load_workbook(io.BytesIO(response.data))
            text = "\n".join(
                str(c.value) for ws in workbook for row in ws.iter_rows() for c in row if c.value
            )
        else:
            text = response.data.decode("utf-8-sig")
        opened.append(path)
        for word in personal:
            assert word not in text, (path, word)
    assert {"/reports/supporters", "/reports/supporters.csv", "/reports/supporters.xlsx"} <= set(
        opened
    )
    assert "/api/v1/reports/supporters" in opened


def test_a_course_end_to_end_moves_the_chart(world, make_event, sign_up, staff_world, login_as):
    """Sign-up through the form, check-in (the seam), completion → a certificate, and the
    policy office's chart and table move by one."""
    from fixtures.supporters import record_attendance

    from hikisupport.models import Registration

    policy = login_as(staff_world.policy)
    before = policy.get("/api/v1/reports/supporters").json["fiscal_years"][-1]["cumulative"]
    event = make_event(sessions=1, capacity=5)
    assert sign_up(event.id, email="e2e@example.jp").status_code == 303
    registration = db.session.scalar(
        sa.select(Registration).where(Registration.event_id == event.id)
    )
    from datetime import UTC, datetime, timedelta

    session = event.sessions[0]  # the day comes: the session is held (an hour ago)
    session.starts_at = datetime.now(UTC) - timedelta(hours=1)
    session.ends_at = session.starts_at + timedelta(hours=2)
    db.session.commit()
    record_attendance(registration, event.sessions[0])
    db.session.commit()
    (certification,) = [c for c in certifications() if c.event_id == event.id]
    after = policy.get("/api/v1/reports/supporters").json["fiscal_years"][-1]["cumulative"]
    assert after == before + 1
    html = policy.get("/reports/supporters").get_data(as_text=True)
    assert f">{after}</text>" in html  # the bar's label in the SVG
    assert certification.number in login_as(staff_world.organizer).get(
        f"/staff/events/{event.id}/completion"
    ).get_data(as_text=True)
