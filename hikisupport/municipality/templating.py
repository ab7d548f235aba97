"""What every page shows of the municipality, and the vocabularies' labels for templates."""

from __future__ import annotations

from flask import Flask

from hikisupport.models import Accommodation, AgeGroup, Residency
from hikisupport.municipality.services import current_municipality


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        RESIDENCIES=Residency.labels(),
        AGE_GROUPS=AgeGroup.labels(),
        ACCOMMODATIONS=Accommodation.labels(),
    )
    app.context_processor(_site_context)


def _site_context() -> dict:
    municipality = current_municipality()
    prefix = f"{municipality.name} " if municipality else ""
    return {"municipality": municipality, "site_name": f"{prefix}ひきこもりサポーター"}
