"""The development mailbox: every mail the service would send, readable on this machine.

`make run` turns it on (DEV_MAILBOX=1), so a newcomer can walk the whole resident journey —
the address, the mailed link, the form, the personal page — with no SMTP server. It is never
part of a production app: `create_app` refuses DEV_MAILBOX there (and behind a proxy), and
every request from anywhere but this machine's loopback, or relayed by a proxy, is a 404.
"""

from __future__ import annotations

import ipaddress
import re

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, render_template, request
from markupsafe import Markup, escape

from hikisupport.core.extensions import db
from hikisupport.mail.outbox import body_of
from hikisupport.models import OutboxMessage, OutboxStatus

bp = Blueprint("dev_mailbox", __name__, url_prefix="/dev/mailbox")

_URL = re.compile(r"https?://[^\s<>\"']+")


def refuse_outside_development(app: Flask) -> None:
    if app.config.get("ENV_NAME") == "production" or app.config.get("TRUSTED_PROXIES"):
        raise RuntimeError(
            "DEV_MAILBOX shows every mail to whoever opens it: development machines only."
        )


@bp.before_request
def only_from_this_machine():
    forwarded = request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded")
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if forwarded or not loopback:
        abort(404)


def linkify(text: str, base_url: str) -> Markup:
    """The mail's text with the service's own links clickable (as paths on this server, so
    they work whatever BASE_URL says); everything else escaped, other hosts' links as text."""
    out, last = [], 0
    base = base_url.rstrip("/")
    for match in _URL.finditer(text):
        out.append(escape(text[last : match.start()]))
        url = match.group(0)
        if url.startswith(base + "/"):
            out.append(Markup('<a href="{0}">{1}</a>').format(url[len(base) :], url))
        else:
            out.append(escape(url))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


@bp.get("/")
def index():
    """The newest mails, as the outbox holds them."""
    messages = db.session.scalars(
        sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50)
    ).all()
    return render_template(
        "mail/dev_mailbox.html", messages=messages, statuses=OutboxStatus.labels()
    )


@bp.get("/<id:message_id>")
def message(message_id: int):
    """One mail's text, with its links (the application link, the personal link) to follow."""
    row = db.session.get(OutboxMessage, message_id) or abort(404)
    return render_template(
        "mail/dev_message.html",
        message=row,
        body=linkify(body_of(row)[0], current_app.config["BASE_URL"]),
    )
