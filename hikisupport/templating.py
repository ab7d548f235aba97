"""Jinja filters and globals: dates in 和暦 and Japan time, labels for codes."""

from __future__ import annotations

from flask import Flask

from hikisupport import japanese
from hikisupport.database import utcnow
from hikisupport.models import ACCOMMODATIONS, AGE_GROUPS, RESIDENCIES


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(
        wareki_date=japanese.wareki_date,
        wareki_datetime=japanese.wareki_datetime,
        jst=lambda value, fmt="%Y-%m-%d %H:%M": japanese.to_jst(value).strftime(fmt),
        fiscal_year_label=japanese.fiscal_year_label,
        phone=japanese.format_phone,
    )
    app.jinja_env.globals.update(
        session_period=japanese.session_period,
        RESIDENCIES=RESIDENCIES,
        AGE_GROUPS=AGE_GROUPS,
        ACCOMMODATIONS=ACCOMMODATIONS,
    )
    app.jinja_env.globals["form_errors"] = form_errors
    app.jinja_env.globals["now_utc"] = utcnow
    app.context_processor(_site_context)


def _site_context() -> dict:
    from hikisupport.settings import current_municipality

    municipality = current_municipality()
    prefix = f"{municipality.name} " if municipality else ""
    return {"municipality": municipality, "site_name": f"{prefix}ひきこもりサポーター"}


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
