"""The outbox for admins: what is pending, sent or failed, each message readable, retry.

On a development machine without SMTP this is also the mailbox: every mail the service
would send can be read here."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.logs import PERSONAL_LINK
from hikisupport.core.transaction import writes
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
        "mail/message.html", message=row, body=body, statuses=OutboxStatus.labels()
    )


@bp.post("/<id:message_id>/retry")
@requires("admin", personal_data=True)
def retry(message_id: int):
    """Send a failed (or waiting) mail at the next `flask mail send`."""
    row = db.session.get(OutboxMessage, message_id) or abort(404)

    def refused(error):
        flash(error.message, "error")
        return redirect(url_for(".message", message_id=message_id), code=303)

    answer_refusals_with(None, refused)
    mail_outbox.retry(row)
    flash("次回の送信処理で送ります。", "success")
    return redirect(url_for(".message", message_id=message_id), code=303)
