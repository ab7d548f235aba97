"""The application link mailed at step 1: `/events/<id>/apply/<token>`.

The token is signed (itsdangerous, with the app's secret key) over the event and the address,
and carries the time it was made. It is good for APPLY_LINK_MAX_AGE seconds, counted from when
it was made or, for a link asked for before registration opens, from the opening (so a link
asked for the evening before still works on the opening morning). It can be used several times:
each member of a family signs up through the same link. Nothing is stored: the address comes
from the token, never from a form field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "hikisupport.apply-link.v1"


class LinkRefused(Exception):
    """The link cannot be used (tampered, for another event, or expired)."""

    expired = False


class LinkExpired(LinkRefused):
    expired = True


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def make_token(event_id: int, email: str) -> str:
    return _serializer().dumps([event_id, email])


def max_age() -> timedelta:
    return timedelta(seconds=int(current_app.config["APPLY_LINK_MAX_AGE"]))


def valid_until(issued_at: datetime, opens_at: datetime) -> datetime:
    """The end of a link's life: `max_age` after it was made, or after registration opens."""
    return max(issued_at, opens_at) + max_age()


def read_token(token: str, event_id: int, opens_at: datetime, now: datetime) -> str:
    """The address a link was made for; LinkRefused / LinkExpired when it cannot be used."""
    try:
        payload, issued_at = _serializer().loads(token, return_timestamp=True)
    except BadSignature as error:
        raise LinkRefused() from error
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or payload[0] != event_id
        or not isinstance(payload[1], str)
    ):
        raise LinkRefused()  # another event's link, or not one of ours
    issued_at = issued_at.replace(tzinfo=UTC) if issued_at.tzinfo is None else issued_at
    if now >= valid_until(issued_at, opens_at):
        raise LinkExpired()
    return payload[1]
