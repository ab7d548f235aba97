"""The served OpenAPI document and the API's validation agree.

For every operation with a request body, each field the document describes is set, one at a
time, to values at and beyond every bound the document declares (minLength/maxLength,
minimum/maximum, minItems/maxItems, enum, null, missing, the wrong JSON type, characters a
pattern may refuse) and to values hypothesis draws around them. The verdict for each body
comes from the *document*, read by an independent JSON Schema validator (jsonschema-rs, with
formats asserted): a body the document refuses must be a 422 naming that field; a body it
allows must be accepted, or refused only by a rule between fields (the services' own
`validate`, which no single-field schema can express) with exactly that rule's messages.

A new endpoint that takes a body needs a sample in `SAMPLES` (a valid body, and its
cross-field rules); `test_every_body_has_a_sample` fails until it has one.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_api import bearer, json_values, payload

from hikisupport.core.japanese import MAX_YEAR, MIN_YEAR


class _Missing:
    def __repr__(self) -> str:
        return "<left out>"


MISSING = _Missing()  # a probe that leaves the key out
# Characters a text pattern may refuse, and some it must not: line breaks, tab, NUL, DEL, a C1
# control, a line separator, zero-width space, BOM, private use, an unassigned code point,
# spaces (ASCII and 全角), a kana and an emoji.
CHARACTERS = "\n\r\t\x00\x7f\x85\u2028\u200b\ufeff\ue000\u0378 \u3000あ😀"


def _event_rules(body: dict) -> dict[str, str]:
    """The rules between an event's fields (the service's validate), for a body the
    document allows."""
    from hikisupport.api.schemas import EventCreate
    from hikisupport.events.services import validate

    return validate(EventCreate.model_validate(body).to_input())


@dataclass
class Sample:
    body: Callable[[], dict]
    # The service's rules between fields, and the paths they may refuse (fnmatch patterns):
    # a refusal elsewhere of a body the document allows is a single-field rule the document
    # does not declare.
    rules: Callable[[dict], dict[str, str]] | None = None
    between_fields: tuple[str, ...] = ()
    # Answers a body the document allows may also get, as the data decides (a ticket nobody
    # holds: 404; a session of another event, or no seat left: 409) — never a 422.
    by_state: tuple[int, ...] = ()


def _checkin_sample() -> dict:
    """A confirmed person of staff_world's event at its first session (checked in once the
    first probe has run: then 200 already_checked_in)."""
    import uuid

    import sqlalchemy as sa

    from hikisupport.core.database import utcnow
    from hikisupport.core.extensions import db
    from hikisupport.core.japanese import JST
    from hikisupport.models import Registration

    registration = db.session.scalar(
        sa.select(Registration).filter_by(status="confirmed").order_by(Registration.id)
    )
    return {
        "id": str(uuid.uuid4()),
        "ticket": registration.ticket if registration else "ABCDEFGHJK",
        "session_id": registration.event.sessions[0].id if registration else 1,
        "scanned_at": utcnow().astimezone(JST).replace(microsecond=0).isoformat(),
        "method": "qr",
    }


def _walk_in_sample() -> dict:
    from hikisupport.models import AgeGroup, Residency

    body = _checkin_sample()
    del body["ticket"], body["method"]
    return {
        **body,
        "family_name": "高円寺",
        "given_name": "一郎",
        "family_name_kana": "こうえんじ",
        "given_name_kana": "イチロウ",
        "residency": Residency.LIVE.value,
        "age_group": AgeGroup.SIXTIES.value,
        "phone": "0333122111",
        "consent": True,
    }


SAMPLES = {
    "check_in": Sample(body=_checkin_sample, by_state=(404, 409)),
    "check_in_batch": Sample(
        body=lambda: {"checkins": [_checkin_sample(), _checkin_sample()]}, by_state=()
    ),
    # staff_world's event is full (one seat, taken): a walk-in the document allows is 409
    # (404 for a session nobody has).
    "walk_in": Sample(body=_walk_in_sample, by_state=(404, 409)),
    "create_event": Sample(
        body=payload,
        rules=_event_rules,
        between_fields=(
            "sessions.*.ends_at",  # after its start
            "registration_closes_at",  # after the opening, before the last session ends
            "required_sessions",  # at most the number of sessions
        ),
    ),
}


# ---------------------------------------------------------------------------------------------
# Reading the document.


@dataclass
class Field:
    path: tuple  # ("sessions", 0, "venue")
    schema: dict  # its schema, $ref resolved and the null alternative taken off
    required: bool
    nullable: bool

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.path)


@dataclass
class Operation:
    operation_id: str
    method: str
    url: str
    schema_ref: str


def resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def fields_of(schema: dict, components: dict, prefix: tuple = ()) -> Iterator[Field]:
    """Every property (nested objects and the first item of arrays of objects included)."""
    schema = resolve(schema, components)
    required = set(schema.get("required", ()))
    for name, declared in schema.get("properties", {}).items():
        alternatives = declared.get("anyOf", [declared])
        nullable = {"type": "null"} in alternatives
        (own,) = [resolve(s, components) for s in alternatives if s != {"type": "null"}]
        field = Field(prefix + (name,), own, name in required, nullable)
        yield field
        if own.get("type") == "object":
            yield from fields_of(own, components, field.path)
        items = resolve(own.get("items", {}), components)
        if own.get("type") == "array" and items.get("type") == "object":
            yield from fields_of(items, components, field.path + (0,))


def body_operations(document: dict) -> list[Operation]:
    server = document["servers"][0]["url"]
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body:
                ref = body["content"]["application/json"]["schema"]["$ref"]
                found.append(Operation(operation["operationId"], method, server + path, ref))
    return found


def judge(document: dict, operation: Operation):
    """The document's verdict on a body (True: allowed)."""
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": operation.schema_ref, "components": document["components"]},
        validate_formats=True,
    )
    return validator.is_valid


# ---------------------------------------------------------------------------------------------
# Values around the declared bounds.

WRONG_TYPES = {
    "string": [1, True, ["x"], {"x": 1}],
    "integer": ["1", 1.5, True, [1]],
    "boolean": [0, 1, "true"],
    "array": ["x", {}, 1],
    "object": ["x", [], 1],
}


def _item(schema: dict, components: dict, sample):
    if isinstance(sample, list) and sample:
        return sample[0]
    items = resolve(schema.get("items", {}), components)
    return items["enum"][0] if "enum" in items else "x"


def probes(field: Field, components: dict, sample) -> list:
    """Values at and beyond each bound the field's schema declares."""
    schema = field.schema
    values = [MISSING, None, *WRONG_TYPES.get(schema.get("type"), [])]
    if "enum" in schema:
        values += [*schema["enum"], schema["enum"][0] + "_", schema["enum"][0].upper()]
    for key, steps in (("minLength", (-1, 0)), ("maxLength", (0, 1))):
        if key in schema:
            values += ["あ" * (schema[key] + step) for step in steps if schema[key] + step >= 0]
    for key, steps in (("minimum", (-1, 0)), ("maximum", (0, 1))):
        if key in schema:
            values += [schema[key] + step for step in steps] + [float(schema[key])]
    if schema.get("type") == "array":
        item = _item(schema, components, sample)
        for key, steps in (("minItems", (-1, 0)), ("maxItems", (0, 1))):
            if key in schema:
                values += [[item] * (schema[key] + s) for s in steps if schema[key] + s >= 0]
        items = resolve(schema.get("items", {}), components)
        values += [[word] for word in items.get("enum", ())]
        values += [[item, "x"]] if "enum" in items else []
    if "pattern" in schema and schema.get("format") != "date-time":
        base = sample if isinstance(sample, str) and sample else "あ"
        values += [ch for ch in CHARACTERS]
        values += [base + ch for ch in CHARACTERS] + [ch + base for ch in CHARACTERS]
    if schema.get("format") == "date-time":
        example = schema["examples"][0]  # 2026-12-12T14:00:00+09:00
        for year in (MIN_YEAR - 1, MIN_YEAR, MAX_YEAR, MAX_YEAR + 1):
            values.append(f"{year:04d}{example[4:]}")
        values += [
            example[:19],  # no offset
            example[:19] + "Z",
            example[:19] + ".123456" + example[19:],
            example[:19] + ".1234567" + example[19:],
            example[:16] + example[19:],  # no seconds
            example.replace("T", " "),
            example.replace("12-12", "02-30"),
            example.replace("14:00:00", "24:00:00"),
            example.replace("14:00:00", "23:59:60"),
            example[:19] + "+24:00",
            example.replace("2026", "２０２６"),
            example + "\n",
        ]
    return values


def set_value(body: dict, path: tuple, value) -> dict:
    body = copy.deepcopy(body)
    target = body
    for part in path[:-1]:
        target = target[part]
    if value is MISSING:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return body


def sample_value(body: dict, path: tuple):
    value = body
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError):
            return None
    return value


# ---------------------------------------------------------------------------------------------
# The check.


def check(client, headers, operation, allowed, sample: Sample, field: Field, value):
    body = set_value(sample.body(), field.path, value)
    verdict = allowed(body)
    response = client.open(operation.url, method=operation.method, json=body, headers=headers)
    shown = f"{field.dotted} = {value!r}: document {'allows' if verdict else 'refuses'}"
    assert response.status_code < 500, shown
    if not verdict:
        assert response.status_code == 422, (shown, response.json)
        fields = response.json["fields"]
        named = [f for f in fields if f == field.dotted or f.startswith(field.dotted + ".")]
        assert named, (shown, fields)
        return verdict
    expected = sample.rules(body) if sample.rules else {}
    undeclared = [
        path
        for path in expected
        if not any(fnmatch.fnmatchcase(path, rule) for rule in sample.between_fields)
    ]
    assert not undeclared, (shown, "a rule the document does not declare", expected)
    if expected:
        assert response.status_code == 422, (shown, expected, response.json)
        assert response.json["fields"] == expected, shown
    else:
        assert 200 <= response.status_code < 300 or response.status_code in sample.by_state, (
            shown,
            response.json,
        )
    return verdict


@pytest.fixture
def contract(staff_world, client):
    document = client.get("/api/v1/openapi.json").json
    headers = bearer(staff_world.organizer)
    return document, headers


def test_every_body_has_a_sample(client):
    document = client.get("/api/v1/openapi.json").json
    operations = body_operations(document)
    assert operations
    for operation in operations:
        assert operation.operation_id in SAMPLES, f"add a sample body for {operation}"
        assert "{" not in operation.url, "give the sample path values for " + operation.url
        assert judge(document, operation)(SAMPLES[operation.operation_id].body())


def test_every_field_is_bounded_in_the_document(client):
    """What a client needs to stay clear of a 422: text has a length limit and required text
    a minimum, numbers have bounds, lists a length, words an enum."""
    document = client.get("/api/v1/openapi.json").json
    for operation in body_operations(document):
        for field in fields_of({"$ref": operation.schema_ref}, document["components"]):
            schema, kind = field.schema, field.schema.get("type")
            if kind == "string" and "enum" not in schema and schema.get("format") != "date-time":
                assert "maxLength" in schema and "pattern" in schema, field.dotted
                if field.required:
                    assert schema.get("minLength", 0) >= 1, field.dotted
            if kind == "string" and schema.get("format") == "date-time":
                assert "pattern" in schema, field.dotted
            if kind == "integer":
                assert {"minimum", "maximum"} <= set(schema), field.dotted
            if kind == "array" and field.required:
                assert schema.get("minItems", 0) >= 1, field.dotted
            if kind == "array" and "properties" in resolve(schema["items"], document["components"]):
                assert "maxItems" in schema, field.dotted


def test_the_api_accepts_exactly_what_the_document_allows(contract, client):
    document, headers = contract
    seen = 0
    for operation in body_operations(document):
        allowed = judge(document, operation)
        sample = SAMPLES[operation.operation_id]
        for field in fields_of({"$ref": operation.schema_ref}, document["components"]):
            current = sample_value(sample.body(), field.path)
            for value in probes(field, document["components"], current):
                check(client, headers, operation, allowed, sample, field, value)
                seen += 1
    assert seen > 150


def _drawn(field: Field, components: dict, current):
    """Values hypothesis draws for a field: near its bounds, and any JSON at all."""
    schema = field.schema
    kind = schema.get("type")
    text = st.text(st.characters(exclude_categories=("Cs", "Cn")), max_size=8)
    if "enum" in schema:
        near = st.sampled_from(schema["enum"]) | text
    elif kind == "string" and schema.get("format") == "date-time":
        pattern = st.from_regex(schema["pattern"], fullmatch=True)
        near = pattern | st.tuples(pattern, st.integers(0, 24), st.characters()).map(
            lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
        )
    elif kind == "string":
        longest = schema["maxLength"]
        near = st.tuples(text, st.integers(0, longest + 1)).map(
            lambda t: (t[0] + "あ" * max(t[1] - len(t[0]), 0)) if t[1] > 8 else t[0]
        )
    elif kind == "integer":
        low, high = schema["minimum"], schema["maximum"]
        near = st.integers(low - 2, low + 2) | st.integers(high - 2, high + 2) | st.integers()
    elif kind == "boolean":
        near = st.booleans() | st.integers(0, 1)
    elif kind == "array" and "enum" in resolve(schema.get("items", {}), components):
        words = resolve(schema["items"], components)["enum"]
        near = st.lists(st.sampled_from(words) | text, max_size=6)
    elif kind == "array":
        item = _item(schema, components, current)
        near = st.integers(0, schema.get("maxItems", 3) + 1).map(lambda n: [item] * n)
    else:
        near = st.nothing()
    return near | json_values


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_drawn_values_agree_with_the_document(contract, client, data):
    document, headers = contract
    operations = body_operations(document)
    operation = data.draw(st.sampled_from(operations), label="operation")
    fields = list(fields_of({"$ref": operation.schema_ref}, document["components"]))
    field = data.draw(st.sampled_from(fields), label="field")
    sample = SAMPLES[operation.operation_id]
    current = sample_value(sample.body(), field.path)
    value = data.draw(_drawn(field, document["components"], current), label=field.dotted)
    verdict = check(client, headers, operation, judge(document, operation), sample, field, value)
    event(f"document {'allows' if verdict else 'refuses'}")


def test_the_document_names_its_security_and_answers(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert {"bearer": []} in document["security"]
    schemas = document["components"]["schemas"]
    assert {"Event", "Session", "RegistrationList", "Roster", "Error", "EventCreate"} <= set(
        schemas
    )
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            for parameter in operation["parameters"]:  # what the URL converter takes
                assert parameter["schema"] in (
                    {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},  # <id:…>
                    {"type": "string", "format": "uuid"},  # <uuid:…> (a check-in's)
                ), (path, parameter)
            if path == "/openapi.json":
                assert operation["security"] == []
                continue
            ok = [code for code in answers if code.startswith("2")]
            assert ok and all("content" in answers[code] for code in ok), (method, path)
            assert {"401", "403"} <= set(answers), (method, path)
            for code, answer in answers.items():
                if code.startswith("4"):
                    assert answer["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }
            if "requestBody" in operation:
                assert {"400", "422"} <= set(answers), (method, path)
            else:
                assert "422" not in answers, (method, path)


def test_answers_match_their_models(staff_world, client):
    """What the API sends is what the document says it sends (required keys, types)."""
    document = client.get("/api/v1/openapi.json").json
    headers = bearer(staff_world.organizer)
    event = staff_world.event
    for path in (
        f"/events/{event.id}",
        f"/events/{event.id}/registrations",
        f"/sessions/{event.sessions[0].id}/roster",
    ):
        response = client.get(document["servers"][0]["url"] + path, headers=headers)
        assert response.status_code == 200
        operation = next(
            ops["get"]
            for documented, ops in document["paths"].items()
            if re.fullmatch(re.sub(r"\{[a-z_]+\}", "[0-9]+", documented), path)
        )
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        validator = jsonschema_rs.Draft202012Validator(
            {"$ref": ref, "components": document["components"]}, validate_formats=True
        )
        errors = [e.message for e in validator.iter_errors(response.json)]
        assert errors == [], (path, errors)
