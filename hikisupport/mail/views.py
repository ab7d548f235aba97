"""The outbox for admins: what is pending, sent or failed, each message readable, retry.

On a development machine without SMTP this is also the mailbox: every mail the service
would send can be read here."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from hikisupport.database import utcnow
from hikisupport.extensions import db
from hikisupport.logs import PERSONAL_LINK
from hikisupport.models import OutboxMessage
from hikisupport.staff import audit
from hikisupport.staff.access import requires

bp = Blueprint("staff_mail", __name__, url_prefix="/staff/mail")
STATUSES = {"pending": "送信待ち", "sending": "送信中", "sent": "送信済み", "failed": "送信失敗"}
PAGE_SIZE = 100


@bp.get("/")
@requires("admin", personal_data=True, records_view=True)
def outbox():
    """The outbox, newest first, filtered by status."""
    status = request.args.get("status", "")
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)
    if status in STATUSES:
        query = query.where(OutboxMessage.status == status)
    audit.record("mail.list", status=status or "all")
    db.session.commit()
    counts = dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return render_template(
        "staff/mail/outbox.html",
        messages=db.session.scalars(query).all(),
        status=status,
        statuses=STATUSES,
        counts=counts,
    )


@bp.get("/<id:message_id>")
@requires("admin", personal_data=True, records_view=True)
def message(message_id: int):
    """One mail as it will be (or was) sent."""
    row = db.session.get(OutboxMessage, message_id) or abort(404)
    audit.record("mail.view", row)
    db.session.commit()
    # The resident's personal link would let whoever reads this act as them: not shown.
    body = PERSONAL_LINK.sub("/r/（ご本人用のリンク・表示しません）", row.body_text)
    return render_template("staff/mail/message.html", message=row, body=body, statuses=STATUSES)


@bp.post("/<id:message_id>/retry")
@requires("admin", personal_data=True)
def retry(message_id: int):
    """Send a failed (or waiting) mail at the next `flask mail send`."""
    row = db.session.get(OutboxMessage, message_id) or abort(404)
    if row.status in ("failed", "pending"):
        row.status, row.next_attempt_at = "pending", utcnow()
        audit.record("mail.retry", row)
        db.session.commit()
        flash("次回の送信処理で送ります。", "success")
    else:
        flash("この状態のメールは再送できません。", "error")
    return redirect(url_for(".message", message_id=message_id), code=303)
