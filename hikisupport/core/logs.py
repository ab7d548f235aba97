"""Keep personal tokens and addresses out of every log line (access logs, error logs)."""

from __future__ import annotations

import logging
import re

from flask import Flask

# /r/<token>… in any logged text (request lines, tracebacks' "Exception on /r/… [GET]").
# SQL parameters (a token being looked up, a name being inserted) never reach the logs at
# all: the engine runs with hide_parameters=True.
PERSONAL_LINK = re.compile(r"/r/[A-Za-z0-9_-]{16,}")
REDACTED = "/r/[redacted]"
# The same links percent-encoded (a client may send /r/%41%42… or /%72/…), and the signed
# application links /events/<id>/apply/<token>.
_ENCODED_PERSONAL_LINK = re.compile(r"/(?:r|%72|%52)/(?:[A-Za-z0-9_-]|%[0-9A-Fa-f]{2}){16,}")
APPLY_LINK = re.compile(r"(/events/\d+/apply/)(?:[A-Za-z0-9_.-]|%[0-9A-Fa-f]{2}){8,}")
EMAIL_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


# Searches for a person (?q= on rosters, ?target= in the audit log): the pages send them by
# POST, but a bookmarked or typed URL may still carry one.
SEARCH_QUERY = re.compile(r"([?&](?:q|target)=)[^&\s\"]*")


def redact(text: str) -> str:
    text = PERSONAL_LINK.sub(REDACTED, text)
    text = _ENCODED_PERSONAL_LINK.sub(REDACTED, text)
    text = APPLY_LINK.sub(r"\1[redacted]", text)
    return SEARCH_QUERY.sub(r"\1[redacted]", text)


def redact_addresses(text: str) -> str:
    """E-mail addresses out of a text that is going to a log (e.g. an SMTP error)."""
    return EMAIL_ADDRESS.sub("[address]", text)


class RedactTokens(logging.Filter):
    """Personal links out of the message and out of any traceback attached to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            # Formatted here, redacted, and cached where every Formatter looks first.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactTokens()


def install_redaction(app: Flask) -> None:
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    if _FILTER not in app.logger.filters:
        app.logger.addFilter(_FILTER)
