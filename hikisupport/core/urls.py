"""Absolute links for mails, built from BASE_URL so they work from the CLI too."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    adapter = current_app.url_map.bind(urlsplit(base).netloc or "localhost")
    return base + adapter.build(endpoint, values)


def base_host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
