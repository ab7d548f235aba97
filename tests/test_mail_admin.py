"""The outbox pages for admins, and the day-before reminders."""

from datetime import timedelta

import sqlalchemy as sa

from conftest import csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, jst_datetime
from hikisupport.models import AuditLog, OutboxMessage, Registration, Reminder


def test_admin_reads_the_outbox_and_resends_a_failed_mail_at_once(staff_world, login_as, inbox):
    message = db.session.scalar(sa.select(OutboxMessage).order_by(OutboxMessage.id))
    message.status, message.attempts, message.last_error = "failed", 8, "SMTPServerDisconnected"
    db.session.commit()
    admin = login_as(staff_world.admin)
    listing = admin.get("/staff/mail/", query_string={"status": "failed"}).get_data(as_text=True)
    assert message.subject in listing and "送信失敗 1件" in listing
    page = admin.get(f"/staff/mail/{message.id}").get_data(as_text=True)
    assert "SMTPServerDisconnected" in page and "いま再送する" in page
    assert "person0@example.jp" in page
    answer = admin.post(
        f"/staff/mail/{message.id}/retry",
        data={"csrf_token": csrf_of(admin)},
        follow_redirects=True,
    )
    assert "送信しました。" in answer.get_data(as_text=True)
    db.session.refresh(message)
    assert message.status == "sent"
    assert [m["To"] for m in inbox.messages()] == ["person0@example.jp"]


def test_send_now_sends_a_waiting_mail_and_says_when_it_cannot(staff_world, login_as, inbox, app):
    """「すぐに送る」 sends: the mail is in the inbox when the page comes back."""
    from conftest import free_port

    first, second = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()[
        :2
    ]
    admin = login_as(staff_world.admin)
    assert "すぐに送る" in admin.get(f"/staff/mail/{first.id}").get_data(as_text=True)
    admin.post(f"/staff/mail/{first.id}/retry", data={"csrf_token": csrf_of(admin)})
    db.session.refresh(first)
    assert first.status == "sent" and len(inbox.messages()) == 1
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="mail.send_now"))
    assert entry.object_id == first.id and entry.detail["outcome"] == "sent"

    app.config["MAIL_PORT"] = free_port()  # nothing listens: the relay is down
    down = admin.post(
        f"/staff/mail/{second.id}/retry",
        data={"csrf_token": csrf_of(admin)},
        follow_redirects=True,
    )
    assert "メールサーバーにつながらないため" in down.get_data(as_text=True)
    db.session.refresh(second)
    assert second.status == "pending" and second.last_error  # the worker tries again later
    assert len(inbox.messages()) == 1


def test_the_html_part_can_be_viewed_sandboxed(staff_world, login_as):
    message = db.session.scalar(sa.select(OutboxMessage).filter_by(kind="confirmed"))
    token = db.session.get(Registration, message.about_id).token
    admin = login_as(staff_world.admin)
    page = admin.get(f"/staff/mail/{message.id}").get_data(as_text=True)
    assert f'<iframe class="mail-html" sandbox src="/staff/mail/{message.id}/html"' in page
    html = admin.get(f"/staff/mail/{message.id}/html")
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert "参加が決まりました" in html.get_data(as_text=True)
    assert token not in html.get_data(as_text=True)
    csp = html.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script-src" not in csp
    assert login_as(staff_world.organizer).get(f"/staff/mail/{message.id}/html").status_code == 403


def test_no_page_tells_staff_to_run_commands_on_the_server():
    from hikisupport import PROJECT_ROOT

    for path in (PROJECT_ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "flask --app" not in text and "flask " not in text.lower(), path


def test_only_admins_see_the_outbox(staff_world, login_as):
    assert login_as(staff_world.organizer).get("/staff/mail/").status_code == 403
    assert login_as(staff_world.policy).get("/staff/mail/").status_code == 403


def test_reminders_are_queued_once_for_tomorrows_sessions(staff_world, runner, inbox):
    event = staff_world.event  # one confirmed, two waitlisted
    tomorrow = utcnow().astimezone(JST).date() + timedelta(days=1)
    session = event.sessions[0]
    session.starts_at = jst_datetime(tomorrow.year, tomorrow.month, tomorrow.day, 14, 0)
    session.ends_at = session.starts_at + timedelta(hours=2)
    event.reminder_text = "筆記用具をお持ちください。"
    db.session.commit()

    first = runner.invoke(args=["mail", "remind"])
    assert first.exit_code == 0 and "queued 1 reminders" in first.output
    again = runner.invoke(args=["mail", "remind"])
    assert "queued 0 reminders" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 1

    runner.invoke(args=["mail", "send"])
    reminders = [m for m in inbox.messages() if m["Subject"].startswith("【明日開催】")]
    assert len(reminders) == 1
    (message,) = reminders
    assert message["To"] == "person0@example.jp"
    body = message.get_body(("plain",)).get_content()
    assert "筆記用具をお持ちください。" in body and "14:00" in body
    names = {p.get_filename() for p in message.walk() if p.get_filename()}
    assert names == {"ticket.png", f"{event.title}.ics"}


def test_remind_for_a_given_day_and_none_for_other_days(staff_world, runner):
    event = staff_world.event
    day = event.sessions[1].starts_at.astimezone(JST).date()
    none = runner.invoke(args=["mail", "remind", "--date", "2020-01-01"])
    assert "queued 0 reminders" in none.output
    some = runner.invoke(args=["mail", "remind", "--date", day.isoformat()])
    assert "queued 1 reminders" in some.output


def test_the_outbox_page_hides_personal_links_and_is_audited(staff_world, login_as):
    from hikisupport.models import OutboxMessage

    message = db.session.scalar(sa.select(OutboxMessage).order_by(OutboxMessage.id))
    token = db.session.get(Registration, message.about_id).token
    from hikisupport.mail.outbox import body_of

    assert token in body_of(message)[0]
    admin = login_as(staff_world.admin)
    admin.get("/staff/mail/")
    page = admin.get(f"/staff/mail/{message.id}").get_data(as_text=True)
    assert token not in page and "ご本人用のリンク" in page
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert {"mail.list", "mail.view"} <= set(actions)
