"""The OpenAPI 3.1 description of /api/v1. A test keeps it in step with the URL map."""

from __future__ import annotations

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "stable code"},
        "message": {"type": "string", "description": "日本語の説明"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
SESSION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "integer"},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "venue": {"type": "string"},
        "access": {"type": "string"},
    },
}
EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"enum": ["lecture", "course", "followup"]},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "audience": {"type": "string"},
        "fee": {"type": "string"},
        "capacity": {"type": "integer"},
        "waitlist": {"type": "boolean"},
        "admission": {"enum": ["first_come", "lottery"]},
        "certifies": {"type": "boolean"},
        "required_sessions": {"type": ["integer", "null"]},
        "residency": {"type": "array", "items": {"enum": ["live", "work", "study", "other"]}},
        "registration_opens_at": {"type": "string", "format": "date-time"},
        "registration_closes_at": {"type": "string", "format": "date-time"},
        "status": {"enum": ["draft", "published", "cancelled"]},
        "organization": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
        },
        "confirmed": {"type": "integer"},
        "waitlisted": {"type": "integer"},
        "seats_left": {"type": "integer"},
        "sessions": {"type": "array", "items": SESSION},
    },
}
EVENT_INPUT = {
    "type": "object",
    "required": ["kind", "title", "capacity", "sessions"],
    "properties": {
        "kind": {"enum": ["lecture", "course", "followup"]},
        "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string"},
        "capacity": {"type": "integer", "minimum": 0, "maximum": 10000},
        "waitlist": {"type": "boolean", "default": True},
        "admission": {"enum": ["first_come", "lottery"], "default": "first_come"},
        "certifies": {"type": "boolean", "description": "default: true for a course"},
        "required_sessions": {"type": "integer", "minimum": 1},
        "residency": {"type": "array", "items": {"enum": ["live", "work", "study", "other"]}},
        "registration_opens_at": {
            "type": "string",
            "format": "date-time",
            "description": "default: now",
        },
        "registration_closes_at": {
            "type": "string",
            "format": "date-time",
            "description": "default: when the first session starts",
        },
        "status": {"enum": ["draft", "published"], "default": "published"},
        "organization_id": {"type": "integer", "description": "admin only"},
        "sessions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["starts_at", "ends_at", "venue"],
                "properties": {
                    "starts_at": {"type": "string", "format": "date-time"},
                    "ends_at": {"type": "string", "format": "date-time"},
                    "venue": {"type": "string"},
                    "access": {"type": "string"},
                },
            },
        },
    },
}
REGISTRATION = {
    "type": "object",
    "properties": {
        key: {"type": "string"}
        for key in (
            "ticket",
            "status",
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "email",
            "residency",
            "source",
            "created_at",
        )
    }
    | {
        "id": {"type": "integer"},
        "waitlist_position": {"type": ["integer", "null"]},
        "accommodations": {"type": "array", "items": {"type": "string"}},
    },
}


def _supporter_report_schema() -> dict:
    """From the pydantic model that renders the response (reports.schemas)."""
    from hikisupport.reports.schemas import SupporterReport

    return SupporterReport.model_json_schema(ref_template="#/components/schemas/{model}")


def _supporter_report_components() -> dict:
    schema = _supporter_report_schema()
    definitions = schema.pop("$defs", {})
    return {"SupporterReport": schema, **definitions}


SUPPORTER_REPORT = {"$ref": "#/components/schemas/SupporterReport"}


def _errors(*codes: int) -> dict:
    return {
        str(code): {"description": text, "content": {"application/json": {"schema": ERROR}}}
        for code, text in {
            400: "bad request / invalid JSON",
            401: "not signed in, no valid token",
            403: "role not allowed",
            404: "not found (or another organization's)",
            422: "invalid fields",
        }.items()
        if code in codes
    }


def _ok(schema: dict, description: str = "OK", code: str = "200") -> dict:
    return {code: {"description": description, "content": {"application/json": {"schema": schema}}}}


ID = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hikisupport API",
            "version": "1",
            "description": "ひきこもりサポーター事業の催し・申込・受付のAPI。職員のセッション"
            "（変更にはX-CSRFTokenヘッダー）または Authorization: Bearer <token>"
            "（flask --app hikisupport staff token EMAIL）で認証します。",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": {
                "Error": ERROR,
                "Event": EVENT,
                "EventInput": EVENT_INPUT,
                "Session": SESSION,
                "Registration": REGISTRATION,
                **_supporter_report_components(),
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/events": {
                "post": {
                    "summary": "Create an event with its sessions (organizer, admin)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": EVENT_INPUT}},
                    },
                    "responses": _ok(EVENT, "created", "201") | _errors(400, 401, 403, 422),
                }
            },
            "/events/{event_id}": {
                "get": {
                    "summary": "One event with sessions and counts (any staff role)",
                    "parameters": [{"name": "event_id", **ID}],
                    "responses": _ok(EVENT) | _errors(401, 404),
                }
            },
            "/events/{event_id}/registrations": {
                "get": {
                    "summary": "Everyone registered (organizer of its organization, admin)",
                    "parameters": [{"name": "event_id", **ID}],
                    "responses": _ok(
                        {
                            "type": "object",
                            "properties": {
                                "registrations": {"type": "array", "items": REGISTRATION}
                            },
                        }
                    )
                    | _errors(401, 403, 404),
                }
            },
            "/sessions/{session_id}/roster": {
                "get": {
                    "summary": "A session's confirmed registrations with check-in times",
                    "parameters": [{"name": "session_id", **ID}],
                    "responses": _ok(
                        {
                            "type": "object",
                            "properties": {
                                "session": SESSION,
                                "registrations": {"type": "array", "items": {"type": "object"}},
                            },
                        }
                    )
                    | _errors(401, 403, 404),
                }
            },
            "/reports/supporters": {
                "get": {
                    "summary": "ひきこもりサポーターの人数 per fiscal year, 実人数 (policy, admin)",
                    "responses": _ok(SUPPORTER_REPORT) | _errors(401, 403),
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
        },
    }
