"""JSON in and out: parse requests into the service's inputs, render models as JSON.

Type errors become a field → Japanese message dict (the API answers 422); the business rules
themselves stay in the services (events.manage.validate and friends).
"""

from __future__ import annotations

from datetime import datetime

from hikisupport.core.errors import Invalid
from hikisupport.core.japanese import JST, MAX_YEAR, MIN_YEAR, has_control_characters
from hikisupport.events.services import EventInput, SessionInput
from hikisupport.models import Event, Registration, Session


def JsonInvalid(errors: dict[str, str]) -> Invalid:  # noqa: N802 - reads as the exception it is
    return Invalid("入力内容に誤りがあります。", fields=errors)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with offset, in Japan time (e.g. 2026-12-12T14:00:00+09:00)."""
    return value.astimezone(JST).isoformat() if value else None


class _Reader:
    def __init__(self, data: dict, prefix: str = ""):
        self.data, self.prefix, self.errors = data, prefix, {}

    def _error(self, key: str, message: str):
        self.errors[self.prefix + key] = message

    def text(self, key: str, required=False, default="", max_length=200, multiline=False) -> str:
        value = self.data.get(key, None)
        if value is None:
            if required:
                self._error(key, "必須です。")
            return default
        if not isinstance(value, str):
            self._error(key, "文字列で指定してください。")
            return default
        if has_control_characters(value, allow_newlines=multiline) or len(value) > max_length:
            lines = "" if multiline else "改行・"
            self._error(key, f"{lines}使用できない文字を含むか、{max_length}文字を超えています。")
            return default
        return value

    def integer(self, key: str, required=False, default=None):
        value = self.data.get(key, None)
        if value is None:
            if required:
                self._error(key, "必須です。")
            return default
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31:
            self._error(key, "整数で指定してください。")
            return default
        return value

    def boolean(self, key: str, default=None):
        value = self.data.get(key, None)
        if value is None:
            return default
        if not isinstance(value, bool):
            self._error(key, "true または false で指定してください。")
            return default
        return value

    def when(self, key: str, required=False) -> datetime | None:
        value = self.data.get(key, None)
        if value is None:
            if required:
                self._error(key, "必須です。")
            return None
        try:
            if not isinstance(value, str) or len(value) > 40:
                raise ValueError
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self._error(key, "ISO-8601 の日時で指定してください（例：2026-12-12T14:00:00+09:00）。")
            return None
        if parsed.tzinfo is None:
            self._error(key, "時差（+09:00 など）を付けて指定してください。")
            return None
        if (
            not MIN_YEAR <= parsed.year <= MAX_YEAR
            or not MIN_YEAR <= (parsed.astimezone(JST).year) <= MAX_YEAR
        ):
            self._error(key, f"{MIN_YEAR}年から{MAX_YEAR}年までの日時で指定してください。")
            return None
        return parsed

    def strings(self, key: str, default):
        value = self.data.get(key, None)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self._error(key, "文字列の配列で指定してください。")
            return default
        return value


def parse_event(data) -> EventInput:
    if not isinstance(data, dict):
        raise JsonInvalid({"": "JSONオブジェクトを送ってください。"})
    r = _Reader(data)
    sessions = []
    raw_sessions = data.get("sessions")
    if not isinstance(raw_sessions, list) or not raw_sessions:
        r.errors["sessions"] = "日時と会場の配列（1件以上）が必須です。"
        raw_sessions = []
    for i, raw in enumerate(raw_sessions[:50]):
        if not isinstance(raw, dict):
            r.errors[f"sessions.{i}"] = "オブジェクトで指定してください。"
            continue
        s = _Reader(raw, f"sessions.{i}.")
        starts, ends = s.when("starts_at", required=True), s.when("ends_at", required=True)
        venue = s.text("venue", required=True, max_length=200)
        access = s.text("access", max_length=300)
        r.errors.update(s.errors)
        if starts and ends:
            sessions.append(SessionInput(starts, ends, venue, access))
    result = EventInput(
        kind=r.text("kind", required=True, max_length=20),
        title=r.text("title", required=True, max_length=200),
        description=r.text("description", max_length=4000, multiline=True),
        audience=r.text("audience", max_length=300),
        fee=r.text("fee", default="無料", max_length=100),
        capacity=r.integer("capacity", required=True, default=0),
        waitlist=r.boolean("waitlist", default=True),
        admission=r.text("admission", default="first_come", max_length=20),
        certifies=r.boolean("certifies"),
        required_sessions=r.integer("required_sessions"),
        residency=r.strings("residency", default=["live", "work", "study", "other"]),
        registration_opens_at=r.when("registration_opens_at"),
        registration_closes_at=r.when("registration_closes_at"),
        status=r.text("status", default="published", max_length=20),
        reminder_text=r.text("reminder_text", max_length=1000, multiline=True),
        sessions=sessions,
    )
    if r.errors:
        raise JsonInvalid(r.errors)
    return result


def session_json(session: Session) -> dict:
    return {
        "id": session.id,
        "number": session.number,
        "starts_at": iso(session.starts_at),
        "ends_at": iso(session.ends_at),
        "venue": session.venue,
        "access": session.access,
    }


def event_json(event: Event, confirmed: int, waitlisted: int) -> dict:
    return {
        "id": event.id,
        "kind": event.kind,
        "title": event.title,
        "description": event.description,
        "audience": event.audience,
        "fee": event.fee,
        "capacity": event.capacity,
        "waitlist": event.waitlist,
        "admission": event.admission,
        "certifies": event.certifies,
        "required_sessions": event.required_sessions,
        "residency": list(event.eligible_residencies),
        "registration_opens_at": iso(event.registration_opens_at),
        "registration_closes_at": iso(event.registration_closes_at),
        "status": event.status,
        "organization": {"id": event.organization_id, "name": event.organization.name},
        "confirmed": confirmed,
        "waitlisted": waitlisted,
        "seats_left": max(event.capacity - confirmed, 0),
        "sessions": [session_json(s) for s in event.sessions],
    }


def registration_json(registration: Registration) -> dict:
    return {
        "id": registration.id,
        "ticket": registration.ticket,
        "status": registration.status,
        "waitlist_position": registration.waitlist_position,
        "family_name": registration.family_name,
        "given_name": registration.given_name,
        "family_name_kana": registration.family_name_kana,
        "given_name_kana": registration.given_name_kana,
        "email": registration.email,
        "residency": registration.residency,
        "accommodations": registration.accommodations,
        "source": registration.source,
        "created_at": iso(registration.created_at),
    }


def roster_row_json(row) -> dict:
    """One line of a session's roster (registration.roster.RosterRow)."""
    registration = row.registration
    return {
        "ticket": registration.ticket,
        "family_name": registration.family_name,
        "given_name": registration.given_name,
        "family_name_kana": registration.family_name_kana,
        "given_name_kana": registration.given_name_kana,
        "status": registration.status,
        "checked_in_at": iso(row.checked_in_at),
    }
