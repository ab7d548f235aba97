"""The SMTP relay: one connection per delivery batch, with a timeout, settings read when it opens.

Messages are built as `email.message.EmailMessage` with the SMTP policy (see `mail.outbox`):
subjects fold into encoded words that decode to exactly the text they were made from (spaces
included), and every part is 7-bit clean (base64), so no relay ever receives 8-bit data it did
not announce (RFC 6152). Flask-Mail stays registered as the configuration's home only.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import parseaddr

import flask_mail
from flask import current_app


class Relay:
    """An open SMTP connection (a context manager); `send` delivers one message."""

    def __init__(self):
        config = current_app.config
        smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
        # Flask-Mail set no timeout: a relay that accepts and never answers would hang for ever.
        self.host = smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config.get("MAIL_TIMEOUT", 10)
        )
        try:
            if config.get("MAIL_USE_TLS"):
                self.host.starttls()
            if config.get("MAIL_USERNAME") and config.get("MAIL_PASSWORD"):
                self.host.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except BaseException:
            self.host.close()
            raise
        self.envelope_from = parseaddr(config["MAIL_DEFAULT_SENDER"])[1]

    def send(self, message: EmailMessage) -> None:
        # as_bytes() of an SMTP-policy message is 7-bit (encoded words, base64 parts): sent as
        # plain SMTP, without BODY=8BITMIME, to any relay.
        self.host.sendmail(
            self.envelope_from, [message["To"].addresses[0].addr_spec], message.as_bytes()
        )

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            self.host.close()


class Mail(flask_mail.Mail):
    def connect(self) -> Relay:
        return Relay()
