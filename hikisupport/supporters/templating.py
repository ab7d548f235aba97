"""What other areas' pages show of certification (the personal page's certificate link)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from hikisupport.supporters.services import valid_certification_for

    app.jinja_env.globals.update(certificate_for=valid_certification_for)
