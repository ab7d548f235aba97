"""The API's one declaration at work: spectree reads the models of `api.schemas` on each view
(`endpoint`), validates requests with them and writes the OpenAPI 3.1 document from them.

- `endpoint(...)` declares a view's body (its ``json`` parameter's annotation), its answers and
  its refusals; spectree validates the body before the view runs and the answer after.
- A body that is not JSON is a 400 ``invalid_json``; JSON that is not an object, or breaks a
  model, a 422 `Invalid` with a Japanese message per field path (`refusal`), answered by the
  app's one handler for refusals (``core.errors``).
- `openapi_document()` is what ``GET /api/v1/openapi.json`` serves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import request
from pydantic import ValidationError
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import InType, SecureType, SecuritySchemeData, Server
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.plugins.werkzeug_utils import werkzeug_parse_rule
from spectree.utils import get_request_model_hints
from werkzeug.routing import parse_converter_args
from werkzeug.routing.converters import NumberConverter

from hikisupport.api import schemas
from hikisupport.core.errors import DomainError, Invalid
from hikisupport.core.japanese import MAX_YEAR, MIN_YEAR, has_control_characters

PREFIX = "/api/v1"

# ---------------------------------------------------------------------------------------------
# Refusals in Japanese: one table from pydantic's error types to messages.

INVALID = "入力内容に誤りがあります。"
NOT_AN_OBJECT = "オブジェクトで指定してください。"
DATE_TIME_MESSAGE = f"ISO-8601 の日時で指定してください（例：{schemas.DATE_TIME_EXAMPLE}）。"

PATTERN_MESSAGES = {
    schemas.SINGLE_LINE: "改行や使用できない文字（制御文字など）は使えません。",
    schemas.FILLED_LINE: "改行や使用できない文字（制御文字など）は使えません。",
    schemas.MULTI_LINE: "使用できない文字（制御文字など）は使えません。",
    schemas.DATE_TIME: DATE_TIME_MESSAGE,
}


def _words(error: dict) -> str:
    return "・".join(re.findall(r"'([^']*)'", error["ctx"]["expected"]))


def _date_time(error: dict) -> str:
    """Which part of an ISO-8601 date-time is wrong, when it can be told."""
    try:
        parsed = datetime.fromisoformat(error["input"])
    except (TypeError, ValueError):
        return DATE_TIME_MESSAGE
    if parsed.tzinfo is None:
        return "時差（+09:00 など）を付けて指定してください。"
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return f"{MIN_YEAR}年から{MAX_YEAR}年までの日時で指定してください。"
    return DATE_TIME_MESSAGE


def _pattern(error: dict) -> str:
    pattern = error["ctx"]["pattern"]
    if pattern == schemas.DATE_TIME:
        return _date_time(error)
    if pattern == schemas.FILLED_LINE and not has_control_characters(error["input"]):
        if error["input"].strip():
            return PATTERN_MESSAGES[schemas.SINGLE_LINE]  # a line or paragraph separator
        return "空白だけにはできません。"
    return PATTERN_MESSAGES.get(pattern, "使用できない文字を含んでいます。")


def _short_text(error: dict) -> str:
    n = error["ctx"]["min_length"]
    return "空にはできません。" if n == 1 else f"{n}文字以上で指定してください。"


MESSAGES: dict[str, str | Callable[[dict], str]] = {
    "missing": "必須です。",
    "model_type": NOT_AN_OBJECT,
    "model_attributes_type": NOT_AN_OBJECT,
    "dict_type": NOT_AN_OBJECT,
    "string_type": "文字列で指定してください。",
    "string_unicode": "使用できない文字を含んでいます。",
    "string_too_short": _short_text,
    "string_too_long": lambda e: f"{e['ctx']['max_length']}文字以内で指定してください。",
    "string_pattern_mismatch": _pattern,
    "date_time": DATE_TIME_MESSAGE,
    "int_type": "整数で指定してください。",
    "int_parsing": "整数で指定してください。",
    "int_from_float": "整数で指定してください。",
    "bool_type": "true または false で指定してください。",
    "bool_parsing": "true または false で指定してください。",
    "greater_than_equal": lambda e: f"{e['ctx']['ge']}以上で指定してください。",
    "less_than_equal": lambda e: f"{e['ctx']['le']}以下で指定してください。",
    "enum": lambda e: f"{_words(e)} のいずれかで指定してください。",
    "literal_error": lambda e: f"{_words(e)} のいずれかで指定してください。",
    "list_type": "配列で指定してください。",
    "consent_required": "利用目的を説明し、同意を得てから true を指定してください。",
    "too_short": lambda e: f"{e['ctx']['min_length']}件以上で指定してください。",
    "too_long": lambda e: f"{e['ctx']['max_length']}件以内で指定してください。",
}
_OBJECT_ERRORS = {"model_type", "model_attributes_type", "dict_type"}


def _path(error: dict) -> str:
    """``sessions.0.venue``. A wrong word in a list of words is the list's (``residency``), as
    the service rules name it; a list item that is not an object is the item's."""
    loc = list(error["loc"])
    if loc and isinstance(loc[-1], int) and error["type"] not in _OBJECT_ERRORS:
        loc.pop()
    return ".".join(str(part) for part in loc)


def refusal(error: ValidationError) -> Invalid:
    """The 422 for a body that breaks its model: a Japanese message per field path."""
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        message = MESSAGES.get(item["type"], "入力内容を確認してください。")
        path = _path(item)
        if path == "" and item["type"] in _OBJECT_ERRORS:
            message = "JSONオブジェクトを送ってください。"
        fields.setdefault(path, message if isinstance(message, str) else message(item))
    return Invalid(INVALID, fields=fields)


def _json_object() -> None:
    """Before the model: the body must be JSON (400) and a JSON object (422)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes
        data = None
    if data is None:
        raise DomainError(
            "JSONとして読めません（Content-Type: application/json）。",
            code="invalid_json",
            status=400,
        )
    if not isinstance(data, dict):
        raise Invalid(INVALID, fields={"": "JSONオブジェクトを送ってください。"})


def _refuse(req, resp, error, instance, adapter) -> None:
    """spectree's hook after validating a request: a refusal of our own kind, or nothing."""
    if isinstance(error, ValidationError):
        raise refusal(error)


# ---------------------------------------------------------------------------------------------
# The document.


class _Plugin(FlaskPlugin):
    """spectree's Flask plugin, with paths relative to the API's server URL and our own URL
    converters described: ``<id:…>`` an integer with its bounds, a regex converter
    (``<token:…>``) a string with its pattern."""

    def parse_path(self, route, path_parameter_descriptions):
        path, parameters = super().parse_path(route, path_parameter_descriptions)
        by_name = {p["name"]: p for p in parameters}
        for name, arguments, variable in werkzeug_parse_rule(str(route)):
            if name is None or by_name.get(variable, {}).get("schema") is not None:
                continue
            args, kwargs = parse_converter_args(arguments) if arguments else ((), {})
            converter = route.map.converters[name](route.map, *args, **kwargs)
            if isinstance(converter, NumberConverter):
                schema = {"type": "integer"}
                if converter.min is not None:
                    schema["minimum"] = converter.min
                if converter.max is not None:
                    schema["maximum"] = converter.max
            else:
                schema = {"type": "string", "pattern": f"^(?:{converter.regex})$"}
            by_name[variable]["schema"] = schema
        return path.removeprefix(PREFIX), parameters


class _Declared(Response):
    """The answers an endpoint declares, and only those: spectree would otherwise add its
    validation status (422) to every endpoint, even one without a body."""

    def add_model(self, code, model, replace=True, description=None):
        if self.find_model(code) is not None or f"HTTP_{code}" in self.codes:
            super().add_model(code, model, replace=replace, description=description)


spec = SpecTree(
    "flask",
    backend=_Plugin,
    mode="strict",  # only the views declared with `endpoint`
    title="hikisupport API",
    version="1",
    description=(
        "ひきこもりサポーター事業の催し・申込・受付のAPI。職員のセッション"
        "（変更にはX-CSRFTokenヘッダー）または Authorization: Bearer <token>"
        "（flask --app hikisupport staff token EMAIL）で認証します。"
        'エラーは {"error", "message", "fields"} の JSON で返します。'
    ),
    servers=[Server(url=PREFIX)],
    security_schemes=[
        SecurityScheme(
            name="bearer",
            data=SecuritySchemeData(
                type=SecureType.HTTP,
                scheme="bearer",
                description="a staff API token (flask --app hikisupport staff token EMAIL)",
            ),
        ),
        SecurityScheme(
            name="session",
            data=SecuritySchemeData(
                type=SecureType.API_KEY,
                field_in=InType.COOKIE,
                name="session",
                description="a signed-in staff session; changes need the X-CSRFToken header",
            ),
        ),
    ],
    security=[{"bearer": []}, {"session": []}],
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    validation_error_model=schemas.Error,
    before=_refuse,
)

ERROR_DESCRIPTIONS = {
    400: "not JSON, or a session without its X-CSRFToken",
    401: "not signed in, no valid token",
    403: "role not allowed",
    404: "not found (or another organization's)",
    409: "refused by a rule (the state does not allow it)",
    422: "invalid fields",
}


def endpoint(
    *,
    ok: dict[int, Any],
    errors: Iterable[int] = (),
    public: bool = False,
) -> Callable:
    """Declare a view of the API. `ok`: status → answer model (or None for no model);
    `errors`: the refusal statuses it may answer (documented with the `Error` model). The
    body's model is the annotation of the view's ``json`` parameter; the view receives it
    validated. Put it under ``@requires``/``@public`` (access is decided first)."""
    answers = {f"HTTP_{code}": model for code, model in ok.items()}
    for code in errors:
        answers[f"HTTP_{code}"] = (schemas.Error, ERROR_DESCRIPTIONS[code])

    def decorate(view: Callable) -> Callable:
        validated = spec.validate(
            resp=_Declared(**answers),
            security=[] if public else None,
            operation_id=view.__name__,
        )(view)
        if "json" not in get_request_model_hints(view):
            return validated

        @wraps(validated)
        def with_body(*args, **kwargs):
            _json_object()
            return validated(*args, **kwargs)

        return with_body

    return decorate


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of the API, from the views declared with `endpoint` (made
    from the app's URL map on first use, then kept)."""
    return spec.spec
