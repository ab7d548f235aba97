"""The check-in API's requests and answers, declared as pydantic v2 models.

A request body is validated with its model (`parse`); what breaks it is refused as
`core.errors.Invalid` with a Japanese message per field path (``checkins.0.ticket``), as every
API refusal is. The answers are built from the services' results (`checkin_json` …). The models
also give the OpenAPI schemas of these paths (`openapi_paths`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError
from pydantic.functional_validators import AfterValidator
from pydantic_core import PydanticCustomError

from hikisupport.checkin import services
from hikisupport.core.errors import Invalid
from hikisupport.core.japanese import (
    JST,
    MAX_YEAR,
    MIN_YEAR,
    has_control_characters,
    is_katakana,
    is_phone_number,
    normalize_kana,
    normalize_phone,
    normalize_text,
)
from hikisupport.models import AgeGroup, AttendanceMethod, Residency

UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_BATCH = 200


def _uuid(value: str) -> str:
    value = value.strip().lower()
    if not UUID_PATTERN.match(value):
        raise PydanticCustomError(
            "uuid", "UUID（例：0f8fad5b-d9cb-469f-a165-70867728950e）で指定してください。"
        )
    return value


def _when(value: str) -> datetime:
    try:
        if len(value) > 40:
            raise ValueError
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "datetime", "ISO-8601 の日時で指定してください（例：2026-12-12T14:00:00+09:00）。"
        ) from None
    if parsed.tzinfo is None:
        raise PydanticCustomError("datetime", "時差（+09:00 など）を付けて指定してください。")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR or not (
        MIN_YEAR <= parsed.astimezone(JST).year <= MAX_YEAR
    ):
        raise PydanticCustomError(
            "datetime", f"{MIN_YEAR}年から{MAX_YEAR}年までの日時で指定してください。"
        )
    return parsed


def _ticket(value: str) -> str:
    code = services.normalize_ticket(value)
    if not code or has_control_characters(value):
        raise PydanticCustomError("ticket", "受付番号を指定してください。")
    return code


def _name(value: str) -> str:
    if has_control_characters(value):
        raise PydanticCustomError("name", "使用できない文字が含まれています。")
    value = normalize_text(value)
    if not value:
        raise PydanticCustomError("name", "入力してください。")
    if len(value) > 30:
        raise PydanticCustomError("name", "30文字以内で入力してください。")
    return value


def _kana(value: str) -> str:
    value = normalize_kana(_name(value))
    if not is_katakana(value):
        raise PydanticCustomError("kana", "カタカナまたはひらがなで入力してください。")
    return value


def _phone(value: str) -> str:
    if has_control_characters(value) or len(value) > 30:
        raise PydanticCustomError("phone", "電話番号の形式が正しくありません。")
    digits = normalize_phone(value)
    if digits and not is_phone_number(digits):
        raise PydanticCustomError("phone", "電話番号の形式が正しくありません（例：03-3312-2111）。")
    return digits


Uuid = Annotated[StrictStr, AfterValidator(_uuid), Field(json_schema_extra={"format": "uuid"})]
When = Annotated[StrictStr, AfterValidator(_when), Field(json_schema_extra={"format": "date-time"})]
Ticket = Annotated[StrictStr, Field(max_length=services.MAX_TICKET_LENGTH), AfterValidator(_ticket)]
Id = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Name = Annotated[StrictStr, Field(max_length=100), AfterValidator(_name)]
Kana = Annotated[StrictStr, Field(max_length=100), AfterValidator(_kana)]
Phone = Annotated[StrictStr, AfterValidator(_phone)]


class Request(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CheckinRequest(Request):
    """One check-in: the client's UUID makes a retry recognisable."""

    id: Uuid
    ticket: Ticket
    session_id: Id
    scanned_at: When
    method: Literal["qr", "name"] = "qr"

    def to_input(self) -> services.CheckinInput:
        return services.CheckinInput(
            ticket=self.ticket,
            uuid=self.id,
            scanned_at=self.scanned_at,
            method=AttendanceMethod(self.method),
        )


class BatchRequest(Request):
    """Several check-ins (an offline queue), each answered on its own."""

    checkins: list[CheckinRequest] = Field(min_length=1, max_length=MAX_BATCH)


class WalkInRequest(Request):
    """当日参加: a person without a registration, registered and checked in in one step."""

    id: Uuid
    session_id: Id
    scanned_at: When
    family_name: Name
    given_name: Name
    family_name_kana: Kana
    given_name_kana: Kana
    residency: Literal[tuple(Residency.values())]  # type: ignore[valid-type]
    age_group: Literal[tuple(AgeGroup.values())]  # type: ignore[valid-type]
    phone: Phone = ""
    consent: StrictBool

    def to_input(self) -> services.WalkInInput:
        if not self.consent:
            raise Invalid(
                "入力内容に誤りがあります。",
                fields={"consent": "利用目的を説明し、同意を得てください。"},
            )
        return services.WalkInInput(
            family_name=self.family_name,
            given_name=self.given_name,
            family_name_kana=self.family_name_kana,
            given_name_kana=self.given_name_kana,
            residency=self.residency,
            age_group=self.age_group,
            phone=self.phone,
            uuid=self.id,
            scanned_at=self.scanned_at,
        )


class PairRequest(Request):
    code: Annotated[StrictStr, Field(max_length=64)]


# Japanese messages for pydantic's own error types (ours carry their message).
MESSAGES = {
    "missing": "必須です。",
    "string_type": "文字列で指定してください。",
    "int_type": "整数で指定してください。",
    "bool_type": "true または false で指定してください。",
    "list_type": "配列で指定してください。",
    "model_type": "オブジェクトで指定してください。",
    "dict_type": "オブジェクトで指定してください。",
    "literal_error": "選択肢の中から指定してください。",
    "string_too_long": "長すぎます。",
    "too_short": "1件以上指定してください。",
    "too_long": f"{MAX_BATCH}件以内にしてください。",
    "greater_than_equal": "1以上の整数で指定してください。",
    "less_than_equal": "大きすぎます。",
}


def parse(model: type[Request], data) -> Request:
    """The body validated with `model`, or `Invalid` with a message per field path."""
    if not isinstance(data, dict):
        raise Invalid(
            "入力内容に誤りがあります。", fields={"": "JSONオブジェクトを送ってください。"}
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = {}
        for problem in error.errors(include_url=False):
            path = ".".join(str(part) for part in problem["loc"])
            message = (
                problem["msg"]
                if problem["type"] in ("uuid", "datetime", "ticket", "name", "kana", "phone")
                else MESSAGES.get(problem["type"], "値が正しくありません。")
            )
            fields.setdefault(path, message)
        raise Invalid("入力内容に誤りがあります。", fields=fields) from None


# ---------------------------------------------------------------------------------------------
# Answers


def iso(value: datetime | None) -> str | None:
    return value.astimezone(JST).isoformat() if value else None


def device_json(device) -> dict | None:
    return {"id": device.id, "name": device.name} if device is not None else None


def checkin_json(result: services.CheckinResult) -> dict:
    """What a tablet needs to answer at the door: no contact details."""
    attendance, registration = result.attendance, result.registration
    return {
        "status": result.status,
        "id": attendance.client_uuid,
        "ticket": registration.ticket,
        "session_id": attendance.session_id,
        "family_name": registration.family_name,
        "given_name": registration.given_name,
        "family_name_kana": registration.family_name_kana,
        "given_name_kana": registration.given_name_kana,
        "checked_in_at": iso(attendance.checked_in_at),
        "method": str(attendance.method),
        "device": device_json(attendance.device),
        "late": attendance.late,
        "undone_at": iso(attendance.undone_at),
    }


def batch_item_json(answer: services.BatchAnswer) -> dict:
    if answer.error is not None:
        return {"id": answer.uuid, "http_status": answer.error.status, **answer.error.to_json()}
    return {"http_status": answer.result.http_status, **checkin_json(answer.result)}


def counts_json(counts: services.Counts) -> dict:
    return {
        "confirmed": counts.confirmed,
        "checked_in": counts.checked_in,
        "walk_ins": counts.walk_ins,
    }


def device_roster_row(row) -> dict:
    """A roster line for a tablet: names, フリガナ, ticket, status, check-in time; nothing else."""
    registration = row.registration
    return {
        "ticket": registration.ticket,
        "family_name": registration.family_name,
        "given_name": registration.given_name,
        "family_name_kana": registration.family_name_kana,
        "given_name_kana": registration.given_name_kana,
        "status": str(registration.status),
        "checked_in_at": iso(row.checked_in_at),
    }


def device_roster_json(session, rows, counts: services.Counts) -> dict:
    return {
        "session": session_brief(session),
        "counts": counts_json(counts),
        "registrations": [device_roster_row(row) for row in rows],
    }


def session_brief(session) -> dict:
    return {
        "id": session.id,
        "number": session.number,
        "starts_at": iso(session.starts_at),
        "ends_at": iso(session.ends_at),
        "venue": session.venue,
        "event_id": session.event_id,
        "event_title": session.event.title,
    }


# ---------------------------------------------------------------------------------------------
# The OpenAPI description of these paths (merged into api/openapi.py's document)


def _schema(model: type[BaseModel]) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


CHECKIN_ANSWER = {
    "type": "object",
    "properties": {
        "status": {"enum": ["checked_in", "already_checked_in", "undone"]},
        "id": {"type": ["string", "null"], "format": "uuid"},
        "ticket": {"type": "string"},
        "session_id": {"type": "integer"},
        "family_name": {"type": "string"},
        "given_name": {"type": "string"},
        "family_name_kana": {"type": "string"},
        "given_name_kana": {"type": "string"},
        "checked_in_at": {"type": "string", "format": "date-time"},
        "method": {"enum": AttendanceMethod.values()},
        "device": {
            "type": ["object", "null"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
        },
        "late": {"type": "boolean"},
        "undone_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def component_schemas() -> dict:
    return {
        "CheckinRequest": _schema(CheckinRequest),
        "CheckinBatchRequest": {
            "type": "object",
            "required": ["checkins"],
            "properties": {
                "checkins": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH,
                    "items": {"$ref": "#/components/schemas/CheckinRequest"},
                }
            },
        },
        "WalkInRequest": _schema(WalkInRequest),
        "Checkin": CHECKIN_ANSWER,
    }


_ERROR_TEXTS = {
    400: "bad request / invalid JSON",
    401: "no valid token (a revoked device too)",
    403: "role not allowed",
    404: "unknown ticket, session or check-in (or not this caller's)",
    409: "a ticket of another event, a cancelled or unconfirmed registration, "
    "a reused UUID, the undo window passed, no seat for a walk-in",
    422: "invalid fields (Japanese message per field path)",
}


def _errors(*codes: int) -> dict:
    return {
        str(code): {
            "description": _ERROR_TEXTS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(name: str) -> dict:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


CHECKIN_REF = {"$ref": "#/components/schemas/Checkin"}
SESSION_BRIEF = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "integer"},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "venue": {"type": "string"},
        "event_id": {"type": "integer"},
        "event_title": {"type": "string"},
    },
}
COUNTS = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("confirmed", "checked_in", "walk_ins")},
}


def openapi_paths() -> dict:
    """The check-in paths of /api/v1 (a device token, or a staff role that manages the event)."""
    return {
        "/devices/me": {
            "get": {
                "summary": "The calling device, its events and today's sessions (device only)",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "device": {"type": "object"},
                                "events": {"type": "array", "items": {"type": "object"}},
                                "sessions": {
                                    "type": "array",
                                    "items": {
                                        **SESSION_BRIEF,
                                        "properties": {
                                            **SESSION_BRIEF["properties"],
                                            "counts": COUNTS,
                                        },
                                    },
                                },
                                "undo_seconds": {"type": "integer"},
                            },
                        },
                        "OK",
                    )
                }
                | _errors(401, 403),
            }
        },
        "/checkins": {
            "post": {
                "summary": "Check a ticket in at a session; idempotent by the client's UUID",
                "requestBody": _body("CheckinRequest"),
                "responses": {
                    "201": _json(CHECKIN_REF, "checked in (or the same UUID again)"),
                    "200": _json(CHECKIN_REF, "already checked in: the first time and device"),
                }
                | _errors(400, 401, 403, 404, 409, 422),
            }
        },
        "/checkins/batch": {
            "post": {
                "summary": "Several check-ins (an offline queue), each answered on its own",
                "requestBody": _body("CheckinBatchRequest"),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "results": {
                                    "type": "array",
                                    "description": "in the order sent; each with http_status "
                                    "and the answer (or the error) the single form gives",
                                    "items": {"type": "object"},
                                }
                            },
                        },
                        "one result per check-in",
                    )
                }
                | _errors(400, 401, 403, 422),
            }
        },
        "/checkins/{checkin_id}": {
            "delete": {
                "summary": "Undo a check-in within the undo window (recorded, not deleted)",
                "parameters": [
                    {
                        "name": "checkin_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "status": {"const": "undone"},
                                "id": {"type": "string", "format": "uuid"},
                                "undone_at": {"type": "string", "format": "date-time"},
                            },
                        },
                        "undone",
                    )
                }
                | _errors(401, 403, 404, 409),
            }
        },
        "/walk-ins": {
            "post": {
                "summary": "当日参加: register and check in a walk-in, if a seat is free",
                "requestBody": _body("WalkInRequest"),
                "responses": {"201": _json(CHECKIN_REF, "registered and checked in")}
                | _errors(400, 401, 403, 404, 409, 422),
            }
        },
    }
