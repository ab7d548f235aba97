"""Jinja filters and globals that know no model: dates in 和暦 and Japan time, form errors."""

from __future__ import annotations

from email.utils import parseaddr

from flask import Flask

from hikisupport.core import japanese
from hikisupport.core.database import utcnow


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        wareki_date=japanese.wareki_date,
        wareki_datetime=japanese.wareki_datetime,
        jst=lambda value, fmt="%Y-%m-%d %H:%M": japanese.to_jst(value).strftime(fmt),
        fiscal_year_label=japanese.fiscal_year_label,
        phone=japanese.format_phone,
    )
    # The domain residents must let through their carrier's spam filter (ドメイン指定受信).
    sender_domain = parseaddr(app.config.get("MAIL_DEFAULT_SENDER") or "")[1].rpartition("@")[2]
    app.jinja_env.globals.update(
        sender_domain=sender_domain or "（送信元のドメイン）",
        session_period=japanese.session_period,
        form_errors=form_errors,
        now_utc=utcnow,
    )


def form_errors(form) -> list[tuple[str, str, str]]:
    """(field id, label, first message) for every field with an error, sub-forms included."""
    found = []
    for field in form:
        if field.type == "CSRFTokenField":
            continue
        if field.type == "FieldList":
            for entry in field:
                found += form_errors(entry.form) if hasattr(entry, "form") else []
            messages = [e for e in field.errors if isinstance(e, str)]
            if messages:
                first = next(iter(field), None)
                target = next(iter(first.form), None).id if first is not None else field.id
                found.append((target, field.label.text, messages[0]))
            continue
        if field.errors:
            found.append((field.id, field.label.text, field.errors[0]))
    return found
