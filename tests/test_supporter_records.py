"""Persons merge, erasure on request, retention purge (CLI and page), past-course import, the
indicator settings — and the count before and after each."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fixtures.supporters import certifications, jst
from openpyxl import Workbook

from conftest import csrf_of
from hikisupport.core.extensions import db
from hikisupport.models import (
    AuditLog,
    Event,
    IndicatorTarget,
    Municipality,
    OutboxMessage,
    Person,
    PersonErasure,
    Registration,
)
from hikisupport.reports.services import count_supporters, lecture_attendance

SAMPLE = Path(__file__).resolve().parents[1] / "hikisupport/supporters/samples/past_courses.csv"


@pytest.fixture
def ward(app):
    db.session.add(Municipality(name="杉並区", code="131156", retention_fiscal_years=3))
    db.session.add_all(
        [
            IndicatorTarget(fiscal_year=2026, target=120),
            IndicatorTarget(fiscal_year=2030, target=360),
        ]
    )
    db.session.commit()


def total(as_of=date(2031, 3, 31)) -> int:
    db.session.commit()
    return count_supporters(as_of=as_of).total


def figures(as_of=date(2031, 3, 31)):
    db.session.commit()
    counted = count_supporters(as_of=as_of)
    return (
        [(c.fiscal_year, c.new, c.cumulative) for c in counted.fiscal_years],
        [(x.fiscal_year, x.persons, x.attendances) for x in lecture_attendance(as_of)],
    )


# ---------------------------------------------------------------------------------------------
# Merge


def test_merge_through_the_pages_preview_reason_audit(
    ward, course, enrol, attend, staff_world, login_as
):
    a = enrol(course(sessions=1, at=[jst(2025, 9, 1)]), email="a@example.jp")
    b = enrol(course(sessions=1, at=[jst(2026, 9, 1)]), email="b@example.jp")
    attend(a)
    attend(b)
    assert total() == 2
    client = login_as(staff_world.admin)
    preview = client.get(f"/staff/persons/{b.person_id}/merge?into_id={a.person_id}")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "統合前 2人 → 統合後 1人" in html
    no_reason = client.post(
        f"/staff/persons/{b.person_id}/merge",
        data={"into_id": a.person_id, "reason": "", "csrf_token": csrf_of(client)},
    )
    assert no_reason.status_code == 422 and total() == 2
    done = client.post(
        f"/staff/persons/{b.person_id}/merge",
        data={"into_id": a.person_id, "reason": "同じ方", "csrf_token": csrf_of(client)},
    )
    assert done.status_code == 303 and total() == 1
    assert len(certifications()) == 2
    assert (
        db.session.scalar(sa.select(AuditLog).filter_by(action="person.merge")).detail["reason"]
        == "同じ方"
    )
    # A merged record cannot be merged again, nor be a target.
    again = client.get(f"/staff/persons/{a.person_id}/merge?into_id={b.person_id}")
    assert again.status_code == 303


def test_chained_merges_count_once(ward, course, enrol, attend):
    from hikisupport.supporters.persons import merge

    people = []
    for i, when in enumerate((jst(2025, 6, 1), jst(2026, 6, 1), jst(2027, 6, 1))):
        r = enrol(course(sessions=1, at=[when]), email=f"c{i}@example.jp")
        attend(r)
        people.append(db.session.get(Person, r.person_id))
    merge(people[2], people[1], "同じ方")
    merge(people[1], people[0], "同じ方")
    db.session.commit()
    assert figures()[0][0] == (2025, 1, 1) and total() == 1


# ---------------------------------------------------------------------------------------------
# Erasure and retention


def test_erasure_on_request_keeps_the_certification_and_the_count(
    ward, course, enrol, attend, staff_world, login_as
):
    r = enrol(
        course(sessions=1, at=[jst(2026, 6, 13)]),
        family_name="山田",
        needs="家族のことで相談したい",
    )
    attend(r)
    before = figures()
    client = login_as(staff_world.admin)
    refused = client.post(
        f"/staff/persons/{r.person_id}/erase", data={"reason": "", "csrf_token": csrf_of(client)}
    )
    assert refused.status_code == 303 and not db.session.scalar(sa.select(PersonErasure))
    response = client.post(
        f"/staff/persons/{r.person_id}/erase",
        data={"reason": "本人からの削除の申し出", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303
    db.session.commit()
    registration = db.session.get(Registration, r.id)
    assert (
        registration.needs == ""
        and registration.phone == ""
        and "山田" not in registration.full_name
    )
    assert db.session.get(Person, r.person_id).email is None
    (c,) = certifications()
    assert c.is_valid and c.family_name == "" and c.number == "R8-0001"
    mails = db.session.scalars(
        sa.select(OutboxMessage).where(
            sa.or_(
                sa.and_(
                    OutboxMessage.about_type == "registrations", OutboxMessage.about_id == r.id
                ),
                OutboxMessage.about_type == "certifications",
            )
        )
    ).all()
    assert len(mails) == 2 and all("山田" not in m.body_text and m.recipient == "" for m in mails)
    assert figures() == before
    page = client.get(f"/v/{c.verification_code}").get_data(as_text=True)
    assert "有効" in page and "＊＊ ＊＊" in page


def test_retention_purge_dry_run_then_purge_keeps_every_count(ward, course, enrol, attend, runner):
    old_lecture = course(sessions=1, kind="lecture", certifies=False, at=[jst(2022, 11, 5)])
    old_course = course(sessions=2, at=[jst(2022, 6, 4), jst(2022, 6, 11)])
    recent = course(sessions=1, kind="lecture", certifies=False, at=[jst(2026, 5, 9)])
    listener = enrol(old_lecture, email="old@example.jp", needs="自由記述")
    attend(listener)
    supporter = enrol(old_course, email="supporter@example.jp")
    attend(supporter, 1)
    attend(supporter, 2)
    dropout = enrol(old_course, email="dropout@example.jp")
    attend(dropout, 1)
    newcomer = enrol(recent, email="new@example.jp")
    attend(newcomer)
    before = figures()

    dry = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"person {listener.person_id}\t" in dry.output
    assert f"person {dropout.person_id}\t" in dry.output
    assert f"person {supporter.person_id}\t" not in dry.output  # a supporter: kept
    assert f"person {newcomer.person_id}\t" not in dry.output  # within 3 fiscal years
    assert "2 person(s) would be anonymised" in dry.output
    assert not db.session.scalar(sa.select(PersonErasure))

    done = runner.invoke(args=["retention", "purge"])
    assert done.exit_code == 0, done.output
    assert "2 person(s) anonymised" in done.output
    erased = set(db.session.scalars(sa.select(PersonErasure.person_id)))
    assert erased == {listener.person_id, dropout.person_id}
    assert db.session.get(Registration, listener.id).needs == ""
    assert db.session.get(Registration, supporter.id).family_name == "杉並"
    assert figures() == before
    again = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert "0 person(s)" in again.output


def test_the_retention_page_lists_then_purges(ward, course, enrol, attend, staff_world, login_as):
    r = enrol(course(sessions=1, kind="lecture", certifies=False, at=[jst(2021, 5, 1)]))
    attend(r)
    client = login_as(staff_world.admin)
    page = client.get("/staff/retention").get_data(as_text=True)
    assert f"#{r.person_id}" in page and "1名を匿名化する" in page
    response = client.post("/staff/retention/purge", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(PersonErasure.person_id)) == r.person_id


# ---------------------------------------------------------------------------------------------
# Past courses


def upload(client, content: bytes, filename: str, organization_id: int):
    return client.post(
        "/staff/imports/past-courses",
        data={
            "csrf_token": csrf_of(client),
            "organization_id": organization_id,
            "file": (io.BytesIO(content), filename),
        },
        content_type="multipart/form-data",
    )


def test_importing_the_sample_dry_run_first_then_all_rows(
    ward, staff_world, login_as, enrol, course
):
    existing = enrol(
        course(sessions=1, kind="lecture", certifies=False),
        family_name="荻窪",
        given_name="和子",
        email="kazuko@example.jp",
        phone="09012345678",
    )
    client = login_as(staff_world.admin)
    assert client.get("/staff/imports/past-courses/sample.csv").data.startswith(b"\xef\xbb\xbf")
    events_before = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    checked = upload(client, SAMPLE.read_bytes(), "past.csv", staff_world.ward.id)
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200, html[-2000:]
    assert f"既存の方（記録 #{existing.person_id}）と一致：氏名と電話番号" in html
    assert "修了認定 3件" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == events_before
    import re

    import_id = int(re.search(r"/staff/imports/past-courses/(\d+)/apply", html).group(1))
    applied = client.post(
        f"/staff/imports/past-courses/{import_id}/apply", data={"csrf_token": csrf_of(client)}
    )
    assert applied.status_code == 303
    db.session.commit()
    imported = [c for c in certifications() if c.source == "import"]
    assert sorted(c.number for c in imported) == ["R7-0001", "R7-0002", "R7-0003"]
    # 在住 only by default: 阿佐谷 and 荻窪 count in FY2025, 高円寺 (在勤) does not.
    assert figures()[0][0] == (2025, 2, 2)
    assert (2025, 2, 2) in figures()[1]  # the lecture: 2 persons, 2 attendances
    assert existing.person_id in {c.person_id for c in imported}
    again = client.post(
        f"/staff/imports/past-courses/{import_id}/apply", data={"csrf_token": csrf_of(client)}
    )
    assert again.status_code == 303 and len(certifications()) == 3


def test_an_import_with_an_error_creates_nothing_and_says_which_row(ward, staff_world, login_as):
    client = login_as(staff_world.admin)
    bad = SAMPLE.read_text(encoding="utf-8").replace("2025-10-04", "2025-13-40", 1)
    bad = bad.replace("在勤,30代", "在勤,三十代", 1)
    response = upload(client, bad.encode("cp932"), "shift_jis.csv", staff_world.ward.id)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "2行目：開催日は「2025-11-08」や「令和7年11月8日」の形で入力してください。" in html
    assert "4行目：年代は" in html
    assert "この内容で取り込む" not in html
    from hikisupport.models import PastCourseImport

    batch = db.session.scalar(sa.select(PastCourseImport))
    refused = client.post(
        f"/staff/imports/past-courses/{batch.id}/apply", data={"csrf_token": csrf_of(client)}
    )
    assert refused.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1  # staff_world's
    assert certifications() == []


def test_an_excel_roster_imports_too(ward, staff_world, login_as):
    workbook = Workbook()
    sheet = workbook.active
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    for line in lines[:3]:
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    client = login_as(staff_world.admin)
    response = upload(client, buffer.getvalue(), "roster.xlsx", staff_world.ward.id)
    assert response.status_code == 200
    assert "修了認定 2件" in response.get_data(as_text=True)


def test_a_file_without_the_columns_is_refused_in_japanese(ward, staff_world, login_as):
    client = login_as(staff_world.admin)
    response = upload(client, b"a,b\n1,2\n", "x.csv", staff_world.ward.id)
    assert response.status_code == 422
    assert "1行目（見出し）に次の列がありません" in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Indicator settings


def test_admin_edits_the_indicator_settings_audited(
    ward, staff_world, login_as, course, enrol, attend
):
    attend(enrol(course(sessions=1, at=[jst(2026, 7, 1)]), residency="work"))
    assert total() == 0
    client = login_as(staff_world.admin)
    assert client.get("/staff/settings/indicator").status_code == 200
    form = {
        "csrf_token": csrf_of(client),
        "name": "ひきこもりサポーターの人数",
        "unit": "人",
        "definition": "区民の人数",
        "residencies": ["live", "work"],
        "targets": "２０２６　１２０\n2030 400",
        "threshold": "3",
        "retention_years": "5",
    }
    bad = client.post("/staff/settings/indicator", data={**form, "targets": "来年 たくさん"})
    assert bad.status_code == 422 and "年度 目標値" in bad.get_data(as_text=True)
    response = client.post("/staff/settings/indicator", data=form)
    assert response.status_code == 303
    db.session.commit()
    municipality = db.session.scalar(sa.select(Municipality))
    assert municipality.counted_residencies == ["live", "work"]
    assert (municipality.suppression_threshold, municipality.retention_fiscal_years) == (3, 5)
    targets = db.session.execute(
        sa.select(IndicatorTarget.fiscal_year, IndicatorTarget.target).order_by(
            IndicatorTarget.fiscal_year
        )
    ).all()
    assert [tuple(t) for t in targets] == [(2026, 120), (2030, 400)]
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="indicator.update"))
    assert set(entry.detail["changes"]) >= {"residencies", "targets", "threshold"}
    assert total() == 1
