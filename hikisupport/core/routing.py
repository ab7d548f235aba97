"""URL converters, and which requests are API requests.

Converters refuse what could never match, before it reaches the database.

`<id:…>` takes a positive integer that fits PostgreSQL's `integer` (a larger one would make the
query itself fail), `<token:…>` only the characters and length of a personal token (so a NUL or
a megabyte of text in a URL is a plain 404), `<apply_token:…>` those of an application link.
"""

from werkzeug.routing import BaseConverter, IntegerConverter


class IdConverter(IntegerConverter):
    def __init__(self, map, **kwargs):
        super().__init__(map, min=1, max=2**31 - 1, **kwargs)


class TokenConverter(BaseConverter):
    regex = r"[A-Za-z0-9_-]{16,64}"


class ApplyTokenConverter(BaseConverter):
    """An application link's signed token (itsdangerous: base64url and dots)."""

    regex = r"[A-Za-z0-9_.-]{20,600}"


CONVERTERS = {"id": IdConverter, "token": TokenConverter, "apply_token": ApplyTokenConverter}


API_PREFIX = "/api/"


def is_api_request() -> bool:
    """Whether the current request is for the JSON API (answered in JSON, errors included)."""
    from flask import has_request_context, request

    return has_request_context() and request.path.startswith(API_PREFIX)
