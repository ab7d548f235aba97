"""Flask-Mail with an SMTP timeout and settings read when a connection opens.

Flask-Mail 0.10 calls ``smtplib.SMTP(server, port)`` with no timeout, so a relay that accepts the
connection and never answers would block the sender for ever. It also copies the settings once at
``init_app``; reading them at connect time lets tests and admins point the sender elsewhere.
"""

from __future__ import annotations

import smtplib

import flask_mail
from flask import current_app


class TimeoutConnection(flask_mail.Connection):
    def configure_host(self):
        config = current_app.config
        smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
        host = smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config.get("MAIL_TIMEOUT", 10)
        )
        host.set_debuglevel(0)
        if config.get("MAIL_USE_TLS"):
            host.starttls()
        if config.get("MAIL_USERNAME") and config.get("MAIL_PASSWORD"):
            host.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        return host


class Mail(flask_mail.Mail):
    def connect(self) -> TimeoutConnection:
        state = current_app.extensions["mail"]
        # The outbox decides what is sent; TESTING must not silently swallow mail.
        state.suppress = current_app.config.get("MAIL_SUPPRESS_SEND", False)
        return TimeoutConnection(state)
