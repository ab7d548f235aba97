"""The outbox for admins: what is pending, sent or failed, each message readable, retry.

On a development machine without SMTP this is also the mailbox: every mail the service
would send can be read here."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.logs import PERSONAL_LINK
from hikisupport.core.transaction import no_transaction, writes
from hikisupport.mail import outbox as mail_outbox
from hikisupport.models import OutboxMessage, OutboxStatus
from hikisupport.staff.access import requires

bp = Blueprint("staff_mail", __name__, url_prefix="/staff/mail")


@bp.get("/")
@requires("admin", personal_data=True)
@writes  # the audit row
def outbox():
    """The outbox, newest first, filtered by status."""
    status = request.args.get("status", "")[:10]
    messages, counts = mail_outbox.recent(status)
    return render_template(
        "mail/outbox.html",
        messages=messages,
        status=status,
        statuses=OutboxStatus.labels(),
        counts=counts,
    )


@bp.get("/<id:message_id>")
@requires("admin", personal_data=True)
@writes  # the audit row
def message(message_id: int):
    """One mail as it will be (or was) sent."""
    row = mail_outbox.read_message(message_id) or abort(404)
    # The resident's personal link would let whoever reads this act as them: not shown.
    text, _ = mail_outbox.body_of(row)  # a pending mail's text is written when it is sent
    body = PERSONAL_LINK.sub("/r/（ご本人用のリンク・表示しません）", text)
    return render_template(
        "mail/message.html",
        message=row,
        body=body,
        has_html=mail_outbox.has_html(row),
        statuses=OutboxStatus.labels(),
    )


@bp.get("/<id:message_id>/html")
@requires("admin", personal_data=True)
@writes  # the audit row
def message_html(message_id: int):
    """The HTML part, as a document of its own: shown sandboxed in the message page's frame
    (no script, no request to anywhere — a mail's HTML is not ours to trust)."""
    row = db.session.get(OutboxMessage, message_id) or abort(404)
    if not mail_outbox.has_html(row):
        abort(404)
    return (
        mail_outbox.html_part(row),
        200,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox",
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


@bp.post("/<id:message_id>/retry")
@requires("admin", personal_data=True)
@no_transaction  # units of work of its own, as the mail worker's: see outbox.send_now
def retry(message_id: int):
    """「すぐに送る」/「再送する」: deliver this mail now."""

    def refused(error):
        flash(error.message, "error")
        return redirect(url_for(".message", message_id=message_id), code=303)

    answer_refusals_with(None, refused)
    report = mail_outbox.send_now(message_id)
    if report.sent:
        flash("送信しました。", "success")
    elif report.stopped_early:
        flash(
            "メールサーバーにつながらないため、送信できませんでした。"
            "つながり次第、自動で送信します。",
            "error",
        )
    else:
        flash("送信できませんでした。理由は「直近のエラー」をご覧ください。", "error")
    return redirect(url_for(".message", message_id=message_id), code=303)
