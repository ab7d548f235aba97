"""Mail through the outbox to a real SMTP server (aiosmtpd), parsed as a mail client would."""

from datetime import timedelta
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from conftest import free_port
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.japanese import JST
from hikisupport.mail.outbox import backoff, deliver_due
from hikisupport.models import OutboxMessage, Registration


def outbox_rows():
    db.session.rollback()  # a fresh snapshot: see what other contexts committed
    return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_sign_up_queues_mail_and_never_waits_for_smtp(make_event, sign_up_quietly, inbox):
    event = make_event()
    assert sign_up_quietly(event.id).status_code == 303
    (row,) = outbox_rows()
    assert (row.kind, row.status, row.attempts) == ("confirmed", "pending", 0)
    assert inbox.messages() == []  # nothing sent during the request


def test_confirmation_mail_arrives_and_parses(make_event, sign_up_quietly, inbox, runner, app):
    event = make_event(title="ひきこもりサポーター養成講座（全2回）", sessions=2)
    location = sign_up_quietly(event.id).headers["Location"]
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output

    (message,) = inbox.messages()
    assert message["Subject"] == "【参加決定】ひきこもりサポーター養成講座（全2回）"
    assert message["To"] == "hanako@example.jp"
    # RFC 2047 decoding as mail clients do it (adjacent encoded words join without a space;
    # the stdlib's address parser inserts one, so decode the raw header instead).
    raw_from = inbox.raw_header(0, "From")
    assert str(make_header(decode_header(raw_from))).startswith(
        "杉並区ひきこもりサポーター事務局 <noreply@"
    )
    registration = db.session.scalar(sa.select(Registration))
    personal_url = f"{app.config['BASE_URL']}{location}"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert personal_url in text and personal_url in html
    assert registration.ticket in text
    assert "杉並 花子 様" in text

    parts = {part.get_filename(): part for part in message.walk() if part.get_filename()}
    ics = "ひきこもりサポーター養成講座（全2回）.ics"  # named after the event
    assert set(parts) == {"ticket.png", ics}
    assert parts["ticket.png"]["Content-ID"] == "<ticket-qr@hikisupport>"  # inline, in the HTML
    assert parts[ics].get_param("method") is None  # a calendar, not an iTIP invitation
    calendar = Calendar.from_ical(parts[ics].get_content())
    assert "METHOD" not in calendar
    vevents = calendar.walk("VEVENT")
    assert len(vevents) == 2
    for vevent, session in zip(vevents, event.sessions, strict=True):
        start = vevent.decoded("dtstart")
        assert start == session.starts_at
        assert start.tzinfo.key == JST.key
        assert vevent.decoded("dtend") == session.ends_at
        assert str(vevent["location"]) == session.venue
        assert f"第{session.number}回" in str(vevent["summary"])


def test_each_mail_kind_has_a_japanese_subject(make_event, sign_up, client, inbox, runner):
    from conftest import csrf_from

    event = make_event(capacity=1)
    first = sign_up(event.id, email="a@example.jp").headers["Location"]
    sign_up(event.id, email="b@example.jp")
    token = csrf_from(client.get(first + "/cancel").get_data(as_text=True))
    client.post(first + "/cancel", data={"csrf_token": token})
    assert runner.invoke(args=["mail", "send"]).exit_code == 0

    subjects = sorted((m["To"], m["Subject"].split("】")[0] + "】") for m in inbox.messages())
    assert subjects == sorted(
        [
            ("a@example.jp", "【申し込みフォームのご案内】"),
            ("b@example.jp", "【申し込みフォームのご案内】"),
            ("a@example.jp", "【参加決定】"),
            ("b@example.jp", "【キャンセル待ち受付】"),
            ("a@example.jp", "【キャンセル完了】"),
            ("b@example.jp", "【参加決定（キャンセル待ちから繰り上げ）】"),
        ]
    )


def test_smtp_down_keeps_the_mail_pending_then_delivers_exactly_once(
    make_event, sign_up_quietly, inbox, runner, app, smtp_server
):
    live_port, _ = smtp_server
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    event = make_event()
    assert sign_up_quietly(event.id).status_code == 303  # the sign-up does not depend on SMTP

    failed = runner.invoke(args=["mail", "send"])
    assert failed.exit_code == 1
    (row,) = outbox_rows()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at > utcnow()

    app.config["MAIL_PORT"] = live_port
    # Not due yet: backing off.
    assert "sent 0" in runner.invoke(args=["mail", "send"]).output
    assert inbox.messages() == []

    # The back-off has passed.
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    delivered = runner.invoke(args=["mail", "send"])
    assert delivered.exit_code == 0 and "sent 1" in delivered.output
    assert "sent 0" in runner.invoke(args=["mail", "send"]).output
    (message,) = inbox.messages()
    assert message["Subject"].startswith("【参加決定】")
    (row,) = outbox_rows()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")


def test_a_mail_claimed_by_another_sender_is_not_sent_twice(
    make_event, sign_up_quietly, inbox, app
):
    event = make_event()
    sign_up_quietly(event.id)
    (row,) = outbox_rows()
    # Another sender claimed it and died mid-send: its outcome is unknown.
    row.status, row.claimed_at = "sending", utcnow() - timedelta(hours=1)
    db.session.commit()
    report = deliver_due()
    assert report.sent == 0
    assert inbox.messages() == []
    (row,) = outbox_rows()
    assert row.status == "failed"
    assert "二重送信を避けて" in row.last_error


def test_gives_up_after_max_attempts(make_event, sign_up_quietly, app):
    app.config.update(MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=2)
    event = make_event()
    sign_up_quietly(event.id)
    now = utcnow()
    deliver_due(now)
    deliver_due(now + timedelta(hours=1))
    (row,) = outbox_rows()
    assert (row.status, row.attempts) == ("failed", 2)


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (10, 360)])
def test_backoff_grows_and_is_capped(attempts, minutes):
    assert backoff(attempts) == timedelta(minutes=minutes)


class SlowToAcknowledge:
    """A relay that takes the whole message, then answers "250" too late."""

    def __init__(self, delay):
        self.delay, self.received = delay, 0

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        self.received += 1
        await asyncio.sleep(self.delay)
        return "250 OK"


def test_a_timeout_after_the_message_was_sent_is_not_retried(make_event, sign_up_quietly, app):
    from aiosmtpd.controller import Controller

    handler = SlowToAcknowledge(delay=2.5)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_PORT=port, MAIL_TIMEOUT=1)
        event = make_event()
        sign_up_quietly(event.id)
        report = deliver_due()
        assert report.failed == 1
        (row,) = outbox_rows()
        assert row.status == "failed" and "届いたかどうか分かりません" in row.last_error
        # A later run does not send it again on its own.
        db.session.commit()
        deliver_due(utcnow() + timedelta(hours=7))
        assert handler.received == 1
    finally:
        controller.stop()


def test_a_broken_row_does_not_stop_the_others(make_event, sign_up_quietly, inbox, app):
    event = make_event()
    sign_up_quietly(event.id, email="a@example.jp")
    sign_up_quietly(event.id, email="b@example.jp")
    first, second = outbox_rows()
    first.subject = "件名\r\nBcc: someone@example.jp"  # a header Flask-Mail refuses
    db.session.commit()
    report = deliver_due()
    db.session.commit()
    assert (report.sent, report.failed) == (1, 1)
    first, second = outbox_rows()
    assert first.status == "failed" and "送信できない内容です" in first.last_error  # for good
    assert second.status == "sent"
    assert [m["To"] for m in inbox.messages()] == ["b@example.jp"]


@pytest.mark.parametrize(
    "title",
    [
        "外部検証用 養成講座",
        "ひきこもりサポーター養成講座 第2期 （全3回） 家族 と 地域 の ための 入門編 2027年 春",
    ],
)
def test_a_subject_decodes_to_exactly_its_text_and_every_part_is_7bit(
    make_event, sign_up_quietly, inbox, runner, title
):
    """Issue 9 item 15: spaces survive folding into encoded words; no 8-bit data goes to a
    relay that never offered 8BITMIME (aiosmtpd, like many relays, does not announce it)."""
    event = make_event(title=title)
    sign_up_quietly(event.id)
    assert runner.invoke(args=["mail", "send"]).exit_code == 0
    (envelope,) = inbox.envelopes
    assert all(byte < 128 for byte in envelope.content)  # 7-bit clean, headers and bodies
    assert "BODY=8BITMIME" not in envelope.mail_options
    (message,) = inbox.messages()
    assert message["Subject"] == f"【参加決定】{title}"
    assert str(make_header(decode_header(inbox.raw_header(0, "Subject")))) == f"【参加決定】{title}"
    for part in message.walk():
        if part.get_content_maintype() != "multipart":
            assert part["Content-Transfer-Encoding"] == "base64"
    assert "杉並 花子 様" in message.get_body(("plain",)).get_content()


def test_smtp_errors_are_logged_without_the_address(make_event, sign_up_quietly, app, caplog):
    """Issue 9 item 23: a relay refusing the recipient names it; the log line does not."""
    from aiosmtpd.controller import Controller

    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 <" + address + "> no such user"

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config["MAIL_PORT"] = port
        event = make_event()
        sign_up_quietly(event.id, email="secret.person@example.jp")
        import logging

        with caplog.at_level(logging.WARNING):
            report = deliver_due()
    finally:
        controller.stop()
    assert report.failed == 1
    logged = [logging.Formatter().format(r) for r in caplog.records]
    assert logged and not any("secret.person" in line for line in logged)
    assert not any("secret.person" in line for line in report.errors)


def test_the_mail_loop_survives_a_locked_database(make_event, sign_up_quietly, app, runner, inbox):
    """Issue 9 item 21 (the mail side): `mail send --loop` retries instead of exiting."""
    import hikisupport.mail.outbox as outbox

    event = make_event()
    sign_up_quietly(event.id)
    original, calls = outbox.deliver_due, []

    def locked_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is locked"))
        return original(*args, **kwargs)

    outbox.deliver_due = locked_once
    try:
        result = runner.invoke(
            args=["mail", "send", "--loop", "--interval", "0.05", "--max-runs", "2"]
        )
    finally:
        outbox.deliver_due = original
    assert result.exit_code == 0, result.output
    assert "retrying" in result.output and "sent 1" in result.output
    assert len(inbox.messages()) == 1


def test_the_mail_loop_looks_again_at_once_after_sending(
    make_event, sign_up_quietly, runner, inbox
):
    """In a rush, mails queued while a run was sending go out right after it, not an interval
    later; an idle run waits the interval (here long: the test would take a minute)."""
    import time

    import hikisupport.mail.outbox as outbox

    event = make_event()
    sign_up_quietly(event.id, email="first@example.jp")
    original, runs = outbox.deliver_due, []

    def queue_more_during_the_first_run(*args, **kwargs):
        report = original(*args, **kwargs)
        runs.append(report.sent)
        if len(runs) == 1:
            sign_up_quietly(event.id, email="second@example.jp")  # arrived during the run
        return report

    outbox.deliver_due = queue_more_during_the_first_run
    started = time.monotonic()
    try:
        result = runner.invoke(
            args=["mail", "send", "--loop", "--interval", "60", "--max-runs", "2"]
        )
    finally:
        outbox.deliver_due = original
    assert result.exit_code == 0, result.output
    assert runs == [1, 1] and len(inbox.messages()) == 2
    assert time.monotonic() - started < 30  # no 60-second wait between the two runs


def test_mail_lanes_send_the_links_apart_from_every_other_mail(make_event, sign_up, inbox, runner):
    """`--kind apply` and `--except-kind apply`: two workers (each at its own priority) share
    the outbox without overlap; together they send every mail exactly once."""
    event = make_event()
    assert sign_up(event.id).status_code == 303  # one link mail, one confirmation

    def kinds(status):
        return sorted(r.kind for r in outbox_rows() if r.status == status)

    assert kinds("pending") == ["apply", "confirmed"]

    others = runner.invoke(args=["mail", "send", "--except-kind", "apply"])
    assert others.exit_code == 0 and "sent 1" in others.output, others.output
    assert (kinds("sent"), kinds("pending")) == (["confirmed"], ["apply"])
    assert [m["Subject"].startswith("【参加決定】") for m in inbox.messages()] == [True]

    links = runner.invoke(args=["mail", "send", "--kind", "apply"])
    assert links.exit_code == 0 and "sent 1" in links.output, links.output
    assert (kinds("sent"), kinds("pending")) == (["apply", "confirmed"], [])
    assert len(inbox.messages()) == 2
    assert "sent 0" in runner.invoke(args=["mail", "send"]).output

    both = runner.invoke(args=["mail", "send", "--kind", "apply", "--except-kind", "apply"])
    assert both.exit_code == 2 and "both" in both.output
