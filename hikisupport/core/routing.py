"""URL converters, and which requests are API requests.

Converters refuse what could never match, before it reaches the database.

`<id:…>` takes a positive integer that fits PostgreSQL's `integer` (a larger one would make the
query itself fail), `<token:…>` only the characters and length of a personal token (so a NUL or
a megabyte of text in a URL is a plain 404), `<apply_token:…>` those of an application link.
"""

from werkzeug.routing import BaseConverter, IntegerConverter

# The largest id a table holds (PostgreSQL `integer`): anything larger cannot name a row, and
# sending it to the database would make the query itself fail.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    def __init__(self, map, **kwargs):
        super().__init__(map, min=1, max=MAX_ID, **kwargs)


def parse_id(value) -> int | None:
    """An id from a form field or JSON: a positive integer a table can hold, else None.

    Only ASCII digits count: ``"²".isdigit()`` is True, and ``int("²")`` raises."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


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
