"""Supporters linked to services: the certification mail and the personal page point to the
directory; a certified supporter opts in and out from the personal page; organizers read the
list (audited) and mail them through the outbox; the public page shows only how many; the
policy report counts the supporters linked to at least one service; the migration."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
import sqlalchemy as sa
from fixtures.supporters import certifications, jst
from test_migrations import migrated  # noqa: F401  (the fixture)

from conftest import csrf_from, csrf_of
from hikisupport.core.extensions import db
from hikisupport.models import (
    AuditLog,
    Certification,
    Municipality,
    OutboxMessage,
    ServiceSupporter,
)
from hikisupport.reports import services as reports
from hikisupport.supporters import services

NAMES = ("山田", "花子", "川口", "次郎")


def supporter_mails() -> int:
    """Mails to linked supporters in the outbox."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).filter_by(kind="service_supporters")
    )


@pytest.fixture
def places(make_service):
    """A published 居場所 and 相談窓口 (linkable), a 家族会, a paused and a closed 居場所."""
    return {
        "ibasho": make_service(name="居場所「ほっとスペース」", name_kana="ホットスペース"),
        "window": make_service(
            kind="consultation", name="ひきこもり専門相談窓口", name_kana="ヒキコモリ"
        ),
        "family": make_service(kind="family_group", name="家族会「つばさ」", name_kana="カゾク"),
        "paused": make_service(name="居場所「やすみ」", name_kana="ヤスミ", status="paused"),
        "closed": make_service(name="居場所「おわり」", name_kana="オワリ", status="closed"),
    }


@pytest.fixture
def course_event(app, course):
    db.session.add(Municipality(name="杉並区", code="131156", office_name="保健福祉部"))
    db.session.commit()
    return course(sessions=1, title="ひきこもりサポーター養成講座", at=[jst(2026, 6, 13, 14)])


@pytest.fixture
def certify(course_event, enrol, attend):
    """A certified supporter: their registration (the personal page's)."""

    def make(family_name="山田", given_name="花子", **fields):
        registration = enrol(course_event, family_name=family_name, given_name=given_name, **fields)
        attend(registration)
        return registration

    return make


def personal_page(client, registration) -> str:
    response = client.get(f"/r/{registration.token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def choose(client, registration, *service_ids, csrf=True):
    """Submit the personal page's form as a browser does: the token from the page itself."""
    page = personal_page(client, registration)
    data = {"service_ids": [str(i) for i in service_ids]}
    if csrf:
        # The page's own form; a page without one (no valid certification): the session's.
        data["csrf_token"] = csrf_from(page) if "csrf_token" in page else csrf_of(client)
    return client.post(f"/r/{registration.token}/services", data=data)


def linked_ids(registration) -> set[int]:
    db.session.commit()
    return set(
        db.session.scalars(
            sa.select(ServiceSupporter.service_id)
            .join(Certification, Certification.id == ServiceSupporter.certification_id)
            .where(Certification.registration_id == registration.id)
        )
    )


def checkbox_values(html: str) -> set[int]:
    return {int(v) for v in re.findall(r'name="service_ids" value="(\d+)"', html)}


def checked_values(html: str) -> set[int]:
    return {int(v) for v in re.findall(r'name="service_ids" value="(\d+)"[^>]*\bchecked', html)}


# ---------------------------------------------------------------------------------------------
# After certification: the mail and the personal page point to the directory


def test_the_certification_mail_and_the_personal_page_point_to_the_directory(
    certify, places, client, runner, inbox
):
    registration = certify()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    (message,) = [m for m in inbox.messages() if m["Subject"].startswith("【修了証】")]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "http://testserver.invalid/directory\r\n" in text
    assert 'href="http://testserver.invalid/directory"' in html
    page = personal_page(client, registration)
    assert 'href="/directory"' in page and "相談窓口・居場所への協力" in page


# ---------------------------------------------------------------------------------------------
# Opt in and out from the personal page


def test_opt_in_and_out_from_the_personal_page(certify, places, client):
    registration = certify()
    page = personal_page(client, registration)
    # Published 居場所 and 相談窓口 only: no 家族会, nothing paused or closed.
    assert checkbox_values(page) == {places["ibasho"].id, places["window"].id}
    assert checked_values(page) == set()

    response = choose(client, registration, places["ibasho"].id, places["window"].id)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/r/{registration.token}#services")
    assert linked_ids(registration) == {places["ibasho"].id, places["window"].id}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "協力する相談先を保存しました（2か所）" in page
    assert checked_values(page) == {places["ibasho"].id, places["window"].id}

    # Opting out of one, then of all.
    assert choose(client, registration, places["window"].id).status_code == 303
    assert linked_ids(registration) == {places["window"].id}
    assert choose(client, registration).status_code == 303
    assert linked_ids(registration) == set()
    page = personal_page(client, registration)
    assert checked_values(page) == set()

    db.session.commit()
    rows = db.session.scalars(
        sa.select(AuditLog).filter_by(action="supporter.services").order_by(AuditLog.id)
    ).all()
    assert [(r.detail["added"], r.detail["removed"], r.detail["by"]) for r in rows] == [
        ([places["ibasho"].id, places["window"].id], [], "resident"),
        ([], [places["ibasho"].id], "resident"),
        ([], [places["window"].id], "resident"),
    ]
    assert all(r.staff_id is None and r.object_type == "certifications" for r in rows)


def test_a_service_paused_after_opting_in_can_still_be_opted_out_of(certify, places, client):
    from hikisupport.directory.services import set_status

    registration = certify()
    choose(client, registration, places["ibasho"].id)
    set_status(places["ibasho"], "paused")
    db.session.commit()
    page = personal_page(client, registration)
    assert places["ibasho"].id in checked_values(page) and "一時休止中" in page
    # Kept when saved again, dropped when unticked; never newly chosen while paused.
    assert choose(client, registration, places["ibasho"].id).status_code == 303
    assert linked_ids(registration) == {places["ibasho"].id}
    assert choose(client, registration).status_code == 303
    assert linked_ids(registration) == set()
    choose(client, registration, places["ibasho"].id)
    assert linked_ids(registration) == set()


@pytest.mark.parametrize("which", ["family", "paused", "closed", "unknown", "garbage"])
def test_only_published_ibasho_and_windows_can_be_chosen(certify, places, client, which):
    registration = certify()
    choose(client, registration, places["window"].id)
    value = {"unknown": 999999, "garbage": "abc"}.get(which) or places[which].id
    response = choose(client, registration, places["ibasho"].id, value)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "選べない相談先が含まれています" in page
    # Nothing half-saved: the earlier choice stands.
    assert linked_ids(registration) == {places["window"].id}


def test_only_a_certified_supporter_can_opt_in(places, course_event, enrol, client):
    registration = enrol(course_event)  # signed up, not (yet) certified
    page = personal_page(client, registration)
    assert "相談窓口・居場所への協力" not in page and 'name="service_ids"' not in page
    response = client.post(
        f"/r/{registration.token}/services",
        data={"service_ids": [str(places["ibasho"].id)], "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "修了認定を受けた方だけが" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceSupporter)) == 0


def test_the_form_needs_its_csrf_token(certify, places, client):
    registration = certify()
    response = choose(client, registration, places["ibasho"].id, csrf=False)
    assert response.status_code == 400
    assert linked_ids(registration) == set()
    assert client.post("/r/" + "A" * 43 + "/services", data={}).status_code in (400, 404)


def test_a_revoked_certification_is_not_listed_counted_or_linkable(
    certify, places, client, staff_world, login_as
):
    registration = certify()
    choose(client, registration, places["ibasho"].id)
    (certification,) = certifications()
    assert services.linked_count(places["ibasho"]) == 1
    services.revoke(certification, "誤って認定したため")
    db.session.commit()
    assert services.linked_count(places["ibasho"]) == 0
    assert reports.count_linked_supporters() == 0
    html = login_as(staff_world.organizer).get(f"/staff/directory/{places['ibasho'].id}/supporters")
    assert "山田" not in html.get_data(as_text=True)
    response = choose(client, registration, places["window"].id)
    assert response.status_code == 303
    assert places["window"].id not in linked_ids(registration)


def test_a_corrected_certificate_keeps_the_links(certify, places, client):
    registration = certify()
    choose(client, registration, places["ibasho"].id)
    (certification,) = certifications()
    corrected = services.correct(certification, "山田", "華子", "名の誤字")
    db.session.commit()
    assert services.linked_services(corrected) == [places["ibasho"]]
    assert services.linked_count(places["ibasho"]) == 1


# ---------------------------------------------------------------------------------------------
# Organizers: the list and the mail


@pytest.fixture
def two_linked(certify, places, client):
    """Two supporters at the 居場所 (one also at the 相談窓口), one at the 相談窓口 only."""
    yamada = certify("山田", "花子", email="yamada@example.jp")
    kawaguchi = certify("川口", "次郎", email="kawaguchi@example.jp")
    other = certify("森", "三郎", email="mori@example.jp")
    choose(client, yamada, places["ibasho"].id, places["window"].id)
    choose(client, kawaguchi, places["ibasho"].id)
    choose(client, other, places["window"].id)
    return yamada, kawaguchi, other


def test_organizers_see_the_linked_supporters_and_the_read_is_audited(
    two_linked, places, staff_world, login_as
):
    path = f"/staff/directory/{places['ibasho'].id}/supporters"
    for member in (staff_world.organizer, staff_world.other_organizer, staff_world.admin):
        html = login_as(member).get(path).get_data(as_text=True)
        assert "山田 花子" in html and "川口 次郎" in html and "森" not in html
        assert "yamada@example.jp" in html and "2名" in html
    db.session.commit()
    rows = db.session.scalars(sa.select(AuditLog).filter_by(action="roster.view")).all()
    assert len(rows) == 3
    assert {(r.object_type, r.object_id, r.detail["rows"]) for r in rows} == {
        ("services", places["ibasho"].id, 2)
    }
    index = login_as(staff_world.organizer).get("/staff/directory/").get_data(as_text=True)
    assert f'href="{path}"' in index

    policy = login_as(staff_world.policy)
    for url in (path, f"/staff/directory/{places['ibasho'].id}/supporters/mail"):
        response = policy.get(url)
        assert response.status_code == 403
        assert not any(name in response.get_data(as_text=True) for name in NAMES)


def test_an_organizer_mails_the_linked_supporters(
    two_linked, places, staff_world, login_as, runner, inbox
):
    organizer = login_as(staff_world.organizer)
    path = f"/staff/directory/{places['ibasho'].id}/supporters/mail"
    form = organizer.get(path).get_data(as_text=True)
    assert "2名" in form
    fields = {
        "csrf_token": csrf_from(form),
        "subject": "フォローアップ研修のご案内",
        "body": "12月20日（日）14時から、居場所でフォローアップ研修を行います。\nご参加ください。",
    }
    # The confirmation step first: nothing is queued.
    confirm = organizer.post(path, data=fields)
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "この内容で2名に送りますか" in page and 'name="confirm" value="1"' in page
    db.session.commit()
    assert supporter_mails() == 0
    # 「内容を直す」 goes back to the form with the text kept.
    back = organizer.post(path, data={**fields, "confirm": "1", "back": "1"})
    assert back.status_code == 200 and "フォローアップ研修のご案内" in back.get_data(as_text=True)
    assert "この内容で" not in back.get_data(as_text=True)

    sent = organizer.post(path, data={**fields, "confirm": "1"})
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith(f"/staff/directory/{places['ibasho'].id}/supporters")
    listing = organizer.get(sent.headers["Location"]).get_data(as_text=True)
    assert "2名にメールを送信します" in listing

    inbox.clear()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    messages = [m for m in inbox.messages() if m["Subject"] == "フォローアップ研修のご案内"]
    assert sorted(m["To"] for m in messages) == ["kawaguchi@example.jp", "yamada@example.jp"]
    for message in messages:
        text = message.get_body(("plain",)).get_content()
        assert "12月20日（日）14時から" in text and "ご参加ください。" in text
        assert "居場所「ほっとスペース」" in text
        assert f"http://testserver.invalid/directory/{places['ibasho'].id}" in text
        assert "http://testserver.invalid/r/" in text  # where to opt out
        # One mail each: nobody sees another supporter's address or name.
        other = "川口" if "山田" in message["To"] or "yamada" in message["To"] else "山田"
        assert other not in text and "," not in message["To"] and message["Cc"] is None
    (mailed,) = db.session.scalars(sa.select(AuditLog).filter_by(action="roster.mail")).all()
    assert mailed.object_id == places["ibasho"].id and mailed.detail["rows"] == 2
    assert mailed.detail["subject"] == "フォローアップ研修のご案内"
    assert mailed.staff_id == staff_world.organizer.id


@pytest.mark.parametrize(
    ("subject", "body", "message"),
    [
        ("", "本文", "件名を入力してください。"),
        ("件名", "", "本文を入力してください。"),
        ("件" * 101, "本文", "100文字以内で入力してください。"),
        ("件名", "本" * 4001, "4000文字以内で入力してください。"),
    ],
)
def test_the_mail_form_refuses_bad_input(
    two_linked, places, staff_world, login_as, subject, body, message
):
    organizer = login_as(staff_world.organizer)
    path = f"/staff/directory/{places['ibasho'].id}/supporters/mail"
    csrf = csrf_from(organizer.get(path).get_data(as_text=True))
    for confirm in ("", "1"):
        response = organizer.post(
            path, data={"csrf_token": csrf, "subject": subject, "body": body, "confirm": confirm}
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    db.session.commit()
    assert supporter_mails() == 0


def test_mailing_a_service_without_supporters_is_refused(places, staff_world, login_as):
    organizer = login_as(staff_world.organizer)
    path = f"/staff/directory/{places['ibasho'].id}/supporters/mail"
    csrf = csrf_from(organizer.get(path).get_data(as_text=True))
    response = organizer.post(
        path, data={"csrf_token": csrf, "subject": "件名", "body": "本文", "confirm": "1"}
    )
    assert response.status_code == 409
    assert "メールを送れるサポーターがいません" in response.get_data(as_text=True)
    assert (
        login_as(staff_world.organizer).get("/staff/directory/999999/supporters").status_code == 404
    )


# ---------------------------------------------------------------------------------------------
# Public pages and open data: a number, never a name


def test_the_public_page_shows_only_how_many(two_linked, places, client):
    yamada, kawaguchi, _ = two_linked
    page = client.get(f"/directory/{places['ibasho'].id}").get_data(as_text=True)
    assert "ひきこもりサポーター 2人が協力しています" in page
    window = client.get(f"/directory/{places['window'].id}").get_data(as_text=True)
    assert "ひきこもりサポーター 2人が協力しています" in window
    # No supporter yet: no line at all.
    family = client.get(f"/directory/{places['family'].id}").get_data(as_text=True)
    assert "協力しているサポーター" not in family


def test_no_public_page_or_open_data_file_names_a_supporter(two_linked, places, client):
    personal = (*NAMES, "森 三郎", "yamada@example.jp", "kawaguchi@example.jp", "R8-000")
    paths = [
        "/",
        "/directory",
        "/directory?q=ほっと",
        f"/directory/{places['ibasho'].id}",
        f"/directory/{places['window'].id}",
        "/directory/sheet",
        f"/directory/sheet?ids={places['ibasho'].id}",
        "/opendata",
        "/opendata/services.csv",
        "/opendata/services.hsds.json",
        "/opendata/events.csv",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.data.decode("utf-8-sig")
        if path.endswith(".json"):
            text = json.dumps(json.loads(text), ensure_ascii=False)
        for word in personal:
            assert word not in text, (path, word)


# ---------------------------------------------------------------------------------------------
# The policy report


def test_the_report_counts_supporters_linked_to_at_least_one_service(
    two_linked, places, staff_world, login_as, client
):
    yamada, _, _ = two_linked
    policy = login_as(staff_world.policy)
    body = policy.get("/api/v1/reports/supporters").json
    # 山田 is linked twice (居場所 and 相談窓口): one person.
    assert body["linked_to_services"] == 3
    html = policy.get("/reports/supporters").get_data(as_text=True)
    assert '<strong id="linked-to-services">3人</strong>' in html
    assert not any(name in html for name in NAMES)
    export = policy.get("/reports/supporters.csv").data.decode("utf-8-sig")
    (row,) = [r for r in csv.DictReader(io.StringIO(export)) if r["指標"].startswith("居場所")]
    assert (row["値"], row["単位"], row["区分"]) == ("3", "人", "実績")
    choose(client, yamada)  # 山田 opts out of both
    assert policy.get("/api/v1/reports/supporters").json["linked_to_services"] == 2


# ---------------------------------------------------------------------------------------------
# The migration


def test_0008_adds_the_link_table_and_goes_back(migrated):  # noqa: F811
    from test_migrations import previous_of

    assert previous_of("0008") == "0007"
    migrated("0007")
    migrated("0008")
    with db.engine.begin() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("service_supporters")}
        assert columns == {"service_id", "certification_id", "created_at"}
        foreign = {
            fk["referred_table"] for fk in sa.inspect(conn).get_foreign_keys("service_supporters")
        }
        assert foreign == {"services", "certifications"}
    from flask_migrate import downgrade

    db.session.remove()
    downgrade(revision="0007")
    with db.engine.begin() as conn:
        assert "service_supporters" not in sa.inspect(conn).get_table_names()
        assert "services" in sa.inspect(conn).get_table_names()
    migrated("0008")
    with db.engine.begin() as conn:
        assert "service_supporters" in sa.inspect(conn).get_table_names()


def test_erasing_a_person_removes_their_links(two_linked, places):
    from hikisupport.supporters.persons import erase

    yamada, _, _ = two_linked
    assert services.linked_count(places["ibasho"]) == 2
    erase(yamada.person, "request", "本人の申し出")
    db.session.commit()
    assert services.linked_count(places["ibasho"]) == 1
    assert reports.count_linked_supporters() == 2
    assert linked_ids(yamada) == set()
