"""The outbox pages for admins, and the day-before reminders."""

from datetime import timedelta

import sqlalchemy as sa

from conftest import csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST, jst_datetime
from hikisupport.models import AuditLog, OutboxMessage, Registration, Reminder


def test_admin_reads_the_outbox_and_retries_a_failed_mail(staff_world, login_as):
    message = db.session.scalar(sa.select(OutboxMessage).order_by(OutboxMessage.id))
    message.status, message.attempts, message.last_error = "failed", 8, "SMTPServerDisconnected"
    db.session.commit()
    admin = login_as(staff_world.admin)
    listing = admin.get("/staff/mail/", query_string={"status": "failed"}).get_data(as_text=True)
    assert message.subject in listing and "送信失敗 1件" in listing
    page = admin.get(f"/staff/mail/{message.id}").get_data(as_text=True)
    assert "SMTPServerDisconnected" in page and "再送する" in page
    assert "person0@example.jp" in page
    admin.post(f"/staff/mail/{message.id}/retry", data={"csrf_token": csrf_of(admin)})
    db.session.refresh(message)
    assert message.status == "pending" and message.next_attempt_at <= utcnow()


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
