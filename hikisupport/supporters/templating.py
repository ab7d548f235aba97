"""What other areas' pages show of certification (the personal page's certificate link, and
the services a supporter helps at)."""

from __future__ import annotations

from flask import Flask


def service_choices(certification) -> list[tuple[object, bool]]:
    """(service, chosen) for the personal page's form: the published 居場所・相談窓口, and any
    the supporter chose that has since been paused (so it can be unticked)."""
    from hikisupport.supporters.services import linkable_services, linked_services

    linked = linked_services(certification)
    chosen = {s.id for s in linked}
    listed = {s.id: s for s in linkable_services()}
    for service in linked:
        listed.setdefault(service.id, service)
    return [(s, s.id in chosen) for s in listed.values()]


def init_app(app: Flask) -> None:
    from hikisupport.supporters.services import valid_certification_for

    app.jinja_env.globals.update(
        certificate_for=valid_certification_for, supporter_service_choices=service_choices
    )
