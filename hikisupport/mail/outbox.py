"""Queue mails in the caller's transaction and deliver them later, each at most once.

A mail is an ``OutboxMessage`` row added to the same session as the change that causes it, so a
sign-up and its confirmation commit or roll back together, and no request ever waits for SMTP.
``deliver_due()`` (``flask mail send``) claims a row (pending → sending) in its own committed
transaction before talking to SMTP and marks it sent afterwards. A row whose outcome is unknown
(the sender died mid-send) is never sent again automatically: it is marked failed for a person to
look at, because a duplicate mail is worse than a late one.
"""

from __future__ import annotations

import email.policy
import functools
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import sqlalchemy as sa
from flask import Flask, current_app

from hikisupport.core.database import utcnow
from hikisupport.core.errors import DomainError, NotFound
from hikisupport.core.extensions import db, mail
from hikisupport.core.logs import PERSONAL_LINK, redact_addresses
from hikisupport.core.transaction import execute_write, reading, writing
from hikisupport.models import OutboxMessage, OutboxStatus
from hikisupport.staff import audit

log = logging.getLogger(__name__)

# A row left in "sending" longer than this lost its sender mid-delivery.
STALE_SENDING = timedelta(minutes=15)
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class MailPart:
    filename: str
    content_type: str
    data: bytes
    disposition: str = "attachment"
    content_id: str = ""


# name → function(message) returning the parts to attach when the mail is sent. Areas register
# theirs from create_app (`register_attachment_builder`), so the outbox knows no area.
AttachmentBuilder = Callable[[OutboxMessage], list[MailPart]]
_BUILDERS = "hikisupport_attachment_builders"


def _register(app: Flask, registry: str, what: str, name: str, builder: Callable) -> None:
    builders = app.extensions.setdefault(registry, {})
    if builders.get(name, builder) is not builder:
        raise ValueError(f"{what} {name!r} is registered twice")
    builders[name] = builder


def _registered(registry: str, what: str, name: str) -> Callable:
    try:
        return current_app.extensions.get(registry, {})[name]
    except KeyError:
        raise ValueError(f"no {what} {name!r}") from None


def register_attachment_builder(app: Flask, name: str, builder: AttachmentBuilder) -> None:
    """Let mails ask for attachments named `name`, drawn by `builder` when sent."""
    _register(app, _BUILDERS, "attachment builder", name, builder)


def _builder(name: str) -> AttachmentBuilder:
    return _registered(_BUILDERS, "attachment builder", name)


# name → function(message) returning (text, html): a mail's body written when it is sent (or
# shown), so the transaction that queues it (a sign-up, holding the seat lock) does not spend
# its time rendering templates.
BodyBuilder = Callable[[OutboxMessage], tuple[str, str]]
_BODY_BUILDERS = "hikisupport_body_builders"


def register_body_builder(app: Flask, name: str, builder: BodyBuilder) -> None:
    _register(app, _BODY_BUILDERS, "body builder", name, builder)


def body_of(row: OutboxMessage) -> tuple[str, str]:
    """(text, html) of a mail: as stored, or written now by its builder (not yet sent)."""
    if row.body_text or not row.body_builder:
        return row.body_text, row.body_html
    return _registered(_BODY_BUILDERS, "body builder", row.body_builder)(row)


def about_of(obj) -> tuple[str, int | None]:
    """(type, id) of what a mail is about: any model row, e.g. ("registrations", 12)."""
    if obj is None:
        return "", None
    return type(obj).__tablename__, obj.id


def sent_recently(
    recipient: str,
    now: datetime,
    *,
    kind: str | None = None,
    about=None,
    by_resident: bool | None = None,
    within: timedelta = timedelta(hours=1),
) -> int:
    """How many mails were queued for `recipient` since `now - within` (of one kind, about one
    row, caused by residents — when given). Counted in the database, so every worker agrees."""
    params = {"recipient": recipient, "since": now - within}
    if kind is not None:
        params["kind"] = kind
    if about is not None:
        params["about_type"], params["about_id"] = about_of(about)
    if by_resident is not None:
        params["by_resident"] = by_resident
    return db.session.scalar(_count_statement(frozenset(params)), params)


@functools.cache
def _count_statement(criteria: frozenset[str]) -> sa.Select:
    """The count of `sent_recently` for one set of criteria, built once (it runs on every
    sign-up and every request for a link)."""
    query = (
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.recipient == sa.bindparam("recipient"),
            OutboxMessage.created_at > sa.bindparam("since"),
        )
    )
    for name in sorted(criteria - {"recipient", "since"}):
        query = query.where(getattr(OutboxMessage, name) == sa.bindparam(name))
    return query


def _serialise_per_address(recipient: str) -> None:
    """Until the transaction ends, no other one counts or queues mail for this address, so a
    burst of requests cannot slip past the cap. (SQLite's write lock serialises already.)"""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:recipient))"),
            {"recipient": recipient},
        )


# The outbox row is written with one Core insert, built once: a mail is queued on every sign-up
# and every request for a link, and the ORM's unit of work is most of what that would cost.
_INSERT_MESSAGE = sa.insert(OutboxMessage.__table__)


def queue(
    kind: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    about=None,
    build_attachments: str = "",
    by_resident: bool = False,
    build_body: str = "",
) -> int | None:
    """Add a mail to the outbox in the current transaction (never commits); its id.

    `about`: the row the mail is about (a registration, a certification …), so the
    attachment builder and the admin's outbox can find it. `build_body`: the name of a body
    builder that writes the text when the mail is sent (instead of `body_text`).
    `by_resident`: a resident's own action caused it (a sign-up, a cancellation, asking for a
    link); such a mail is not queued (None) once RESIDENT_MAILS_PER_HOUR of them went to the
    address in the last hour, so a sign-up/cancel loop cannot flood anyone's inbox.

    The row is inserted at once (after the session's pending changes are flushed), not added
    to the session: nothing of it is in the session's identity map."""
    if build_attachments:
        _builder(build_attachments)  # refuse a name nobody registered, now and not at send
    if by_resident:
        _serialise_per_address(recipient)
        limit = current_app.config["RESIDENT_MAILS_PER_HOUR"]
        if sent_recently(recipient, utcnow(), by_resident=True) >= limit:
            log.info("per-address cap reached: a %s mail was not queued", kind)
            return None
    if about is not None:
        db.session.flush()  # a new row the mail is about gets its id
    row = _message(kind, recipient, subject, body_text, body_html, about, build_attachments)
    result = execute_write(
        _INSERT_MESSAGE, {**row, "by_resident": by_resident, "body_builder": build_body}
    )
    return result.inserted_primary_key[0]


def queue_many(
    kind: str,
    mails: list[tuple[str, str, object]],
    build_attachments: str = "",
    build_body: str = "",
) -> None:
    """`queue` for several mails of one kind at once, none of them caused by a resident's own
    action (no per-address cap applies): `mails` holds (recipient, subject, about) each, the
    text written when sent by `build_body`. One insert for all."""
    if not mails:
        return
    if build_attachments:
        _builder(build_attachments)
    db.session.flush()  # the rows the mails are about get their ids
    execute_write(
        _INSERT_MESSAGE,
        [
            {
                **_message(kind, recipient, subject, "", "", about, build_attachments),
                "by_resident": False,
                "body_builder": build_body,
            }
            for recipient, subject, about in mails
        ],
    )


def _message(kind, recipient, subject, body_text, body_html, about, build_attachments) -> dict:
    about_type, about_id = about_of(about)
    return {
        "kind": kind,
        "recipient": recipient,
        "subject": subject,
        "body_text": body_text,
        "body_html": body_html,
        "about_type": about_type,
        "about_id": about_id,
        "attachment_builder": build_attachments,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": utcnow(),
    }


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 1, 2, 4 … minutes, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    stopped_early: bool = False

    def __str__(self) -> str:
        text = f"sent {self.sent}, failed {self.failed}"
        if self.stopped_early:
            text += " (mail server unreachable; the rest stay pending)"
        return text


def to_email_message(row: OutboxMessage, body: tuple[str, str] | None = None) -> EmailMessage:
    """The row as a MIME message: text (and HTML) parts, inline images, attachments.

    Built with the SMTP policy: the subject folds into encoded words that decode to exactly the
    text it was made from (a space between two words of a title survives), and every part is
    base64, 7-bit clean for any relay. A header with a line break is refused (ValueError)."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = row.subject
    message["From"] = sender
    message["To"] = row.recipient
    message["Date"] = formatdate(localtime=False)
    # One Message-ID per outbox row: a duplicate delivery would be visible as such.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<outbox-{row.id}-{int(row.created_at.timestamp())}@{domain}>"
    body_text, body_html = body or body_of(row)
    message.set_content(body_text, charset="utf-8", cte="base64")
    html_part = None
    if body_html:
        message.add_alternative(body_html, subtype="html", charset="utf-8", cte="base64")
        html_part = message.get_payload()[-1]
    parts = _builder(row.attachment_builder)(row) if row.attachment_builder else []
    for part in parts:
        media, _, rest = part.content_type.partition(";")
        maintype, _, subtype = media.strip().partition("/")
        params = dict(p.strip().split("=", 1) for p in rest.split(";") if "=" in p)
        options = {"maintype": maintype, "subtype": subtype, "filename": part.filename}
        if params:
            options["params"] = params
        if part.content_id and html_part is not None and part.disposition == "inline":
            html_part.add_related(
                part.data, cid=f"<{part.content_id}>", disposition="inline", **options
            )
        else:
            message.add_attachment(part.data, **options)
    return message


def _fail_stale_sending(now: datetime) -> None:
    with writing():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_at < now - STALE_SENDING,
            )
            .values(
                status=OutboxStatus.FAILED,
                last_error="送信中に処理が中断されたため、二重送信を避けて再送していません。"
                "届いていない場合は手動で再送してください。",
            )
        )


def _claim(message_ids: list[int], now: datetime) -> list[int]:
    """pending → sending, committed before SMTP is touched; the ids this sender now holds
    (another sender may have taken some)."""
    with writing():
        claimed = db.session.scalars(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == OutboxStatus.PENDING)
            .values(
                status=OutboxStatus.SENDING,
                claimed_at=now,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage.id)
        ).all()
    return sorted(claimed)


# How a delivery attempt ended. BROKEN: the row itself cannot be sent (a header Flask-Mail
# refuses, an attachment that cannot be drawn); trying again would fail the same way.
# UNTRIED: claimed, but the relay went away before its turn; it goes back as it was.
SENT, NOT_SENT, UNKNOWN, BROKEN, UNTRIED = "sent", "not sent", "unknown", "broken", "untried"
UNKNOWN_OUTCOME = (
    "送信中に接続が切れたため、届いたかどうか分かりません。二重送信を避けて再送していません。"
    "届いていない場合は手動で再送してください。"
)


def _finish(
    outcomes: list[tuple[int, str, BaseException | None]],
    now: datetime,
    written: dict[int, tuple[str, str]] | None = None,
) -> None:
    """Record how each attempt ended, in one transaction (and the text of what was sent)."""
    with writing():
        rows = db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.id.in_([message_id for message_id, _, _ in outcomes]))
            .execution_options(populate_existing=True)
        )
        by_id = {row.id: row for row in rows}
        for message_id, outcome, error in outcomes:
            _record_outcome(by_id[message_id], now, outcome, error)
            if outcome == SENT and message_id in (written or {}):
                by_id[message_id].body_text, by_id[message_id].body_html = written[message_id]


def _record_outcome(row: OutboxMessage, now: datetime, outcome: str, error) -> None:
    if outcome == UNTRIED:
        row.status, row.attempts = OutboxStatus.PENDING, row.attempts - 1
    elif outcome == SENT:
        row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, ""
    elif outcome == UNKNOWN:
        row.status = OutboxStatus.FAILED
        row.last_error = f"{UNKNOWN_OUTCOME}（{type(error).__name__}: {error}）"[:2000]
    elif outcome == BROKEN:
        row.status = OutboxStatus.FAILED
        row.last_error = f"送信できない内容です（{type(error).__name__}: {error}）"[:2000]
    else:
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            row.status = OutboxStatus.FAILED
        else:
            row.status = OutboxStatus.PENDING
            row.next_attempt_at = now + backoff(row.attempts)


def _send_outcome(error: BaseException) -> str:
    """After a failure inside `send`: did the message certainly not go?

    An explicit refusal (a 4xx/5xx reply to MAIL, RCPT or DATA) means it did not. A dropped
    connection or a timeout may have come after the relay accepted the message: unknown."""
    if isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
        return NOT_SENT
    return UNKNOWN


def _is_connection_error(error: BaseException | None) -> bool:
    """The relay is unreachable or went away (as opposed to refusing one message)."""
    if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    # smtplib's own errors subclass OSError; the other OSErrors are socket-level.
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


# Mails claimed and finished together: one write transaction each way per batch, so a rush of
# sign-ups (which need the same SQLite lock) is not slowed by the worker. A sender that dies
# leaves at most one batch in "sending", later marked failed rather than sent twice.
BATCH = 25


def deliver_due(
    now: datetime | None = None,
    limit: int = 200,
    only: list[int] | None = None,
    kinds: Sequence[str] = (),
    except_kinds: Sequence[str] = (),
) -> DeliveryReport:
    """Send every pending mail that is due (or only those of `only`; only mails of `kinds`;
    none of `except_kinds`), over one SMTP connection, in batches.

    `now` fixes the clock (tests); otherwise each step reads the time when it happens."""
    clock = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    _fail_stale_sending(clock())
    with reading():
        query = (
            sa.select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= clock(),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if only is not None:
            query = query.where(OutboxMessage.id.in_(only))
        if kinds:
            query = query.where(OutboxMessage.kind.in_(list(kinds)))
        if except_kinds:
            query = query.where(OutboxMessage.kind.not_in(list(except_kinds)))
        due_ids = db.session.scalars(query).all()

    relay = None
    try:
        for start in range(0, len(due_ids), BATCH):
            claimed = _claim(list(due_ids[start : start + BATCH]), clock())
            if not claimed:
                continue
            # Read and built before SMTP is talking: no transaction stays open meanwhile.
            built: dict[int, EmailMessage | Exception] = {}
            written: dict[int, tuple[str, str]] = {}  # bodies written now, kept once sent
            with reading():
                rows = db.session.scalars(
                    sa.select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                )
                for row in rows:
                    try:
                        body = body_of(row)
                        if row.body_builder and not row.body_text:
                            written[row.id] = body
                        built[row.id] = to_email_message(row, body)
                    except Exception as exc:  # noqa: BLE001 - a broken row must not stop others
                        built[row.id] = exc
            outcomes: list[tuple[int, str, BaseException | None]] = []
            for message_id in claimed:
                if report.stopped_early:  # the relay went away: back to pending, untried
                    outcomes.append((message_id, UNTRIED, None))
                    continue
                message = built[message_id]
                outcome, error = SENT, None
                if isinstance(message, Exception):
                    outcome, error = BROKEN, message
                else:
                    try:
                        if relay is None:
                            relay = mail.connect()
                    except OSError as exc:  # refused, unreachable, TLS or login failed
                        outcome, error = NOT_SENT, exc
                    else:
                        try:
                            relay.send(message)
                        except OSError as exc:
                            outcome, error = _send_outcome(exc), exc
                        except Exception as exc:  # noqa: BLE001 - e.g. a message smtplib refuses
                            outcome, error = BROKEN, exc
                outcomes.append((message_id, outcome, error))
                if outcome == SENT:
                    report.sent += 1
                    continue
                report.failed += 1
                # No address in the log: smtplib's errors name the recipient.
                text = redact_addresses(f"{type(error).__name__}: {error}")
                report.errors.append(f"#{message_id}: {text}")
                log.warning("mail %s not delivered (%s): %s", message_id, outcome, text)
                if _is_connection_error(error):
                    report.stopped_early = True
                    relay = None  # the connection is gone; quitting it would raise again
            _finish(outcomes, clock(), written)
            if report.stopped_early:
                break
    finally:
        if relay is not None:
            relay.__exit__(None, None, None)
    return report


# ---------------------------------------------------------------------------------------------
# Reading the outbox (admins): every read of what was mailed to whom is audited here.

PAGE_SIZE = 100


def recent(status: str = "") -> tuple[list[OutboxMessage], dict[str, int]]:
    """The newest mails (optionally of one status) and the count per status; audited."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)
    if status in OutboxStatus.values():
        query = query.where(OutboxMessage.status == status)
    else:
        status = ""
    audit.record("mail.list", status=status or "all")
    counts = dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return list(db.session.scalars(query)), counts


def read_message(message_id: int) -> OutboxMessage | None:
    """One mail as it will be (or was) sent; audited."""
    row = db.session.get(OutboxMessage, message_id)
    if row is not None:
        audit.record("mail.view", row)
    return row


def retry(row: OutboxMessage) -> None:
    """Send a failed (or waiting) mail at the next delivery run."""
    if row.status not in (OutboxStatus.FAILED, OutboxStatus.PENDING):
        raise DomainError("この状態のメールは再送できません。")
    row.status, row.next_attempt_at = OutboxStatus.PENDING, utcnow()
    audit.record("mail.retry", row)


def send_now(message_id: int) -> DeliveryReport:
    """An admin's 「すぐに送る」 / 「再送する」: deliver this one mail now, as the mail worker
    would (claimed first, so it is never sent twice), in units of work of its own — SMTP is never
    talked to inside someone else's transaction. Audited with the outcome."""
    with writing():
        row = db.session.get(OutboxMessage, message_id)
        if row is None:
            raise NotFound("このメールは見つかりません。")
        if row.status not in (OutboxStatus.FAILED, OutboxStatus.PENDING):
            raise DomainError("この状態のメールは送れません（送信中か、送信済みです）。")
        row.status, row.next_attempt_at = OutboxStatus.PENDING, utcnow()
    report = deliver_due(only=[message_id])
    with writing():
        audit.record(
            "mail.send_now",
            db.session.get(OutboxMessage, message_id),
            outcome="sent" if report.sent else "not sent",
        )
    return report


def html_part(row: OutboxMessage) -> str:
    """The HTML part as an admin may see it (audited): the resident's personal link removed."""
    audit.record("mail.view", row, part="html")
    _, html = body_of(row)  # a pending mail's HTML is written when it is sent
    return PERSONAL_LINK.sub("/r/（ご本人用のリンク・表示しません）", html)


def has_html(row: OutboxMessage) -> bool:
    """Whether the mail has (or, once written, will have) an HTML part."""
    return bool(row.body_html or row.body_builder)
