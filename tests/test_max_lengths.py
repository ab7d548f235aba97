"""Every field of every form, and every API body, at its maximum length is stored — on
PostgreSQL too, where a value longer than its column is an error, not a truncation.

The lengths are the ones the forms declare (`max_length` of each field, `Length(max=…)`), and
the API's from its OpenAPI document (`maxLength`). A form is filled in, validated as its view
validates it, and its output handed to the service its view calls; then what the service stored
is read back. A new form must be added to `FORMS` (`test_every_form_is_covered`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectFieldBase,
)
from wtforms.validators import Length

import hikisupport
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.core.forms import (
    BaseForm,
    CheckboxListField,
    CleanStringField,
    CleanTextAreaField,
    JapanDateTimeField,
)
from hikisupport.core.japanese import JST
from hikisupport.models import AuditLog, Event, OutboxMessage, Registration, StaffUser

PASSWORD = "correct horse battery"


def longest_email(length: int = 254) -> str:
    """A valid address of exactly `length` characters: a 64-character local part, labels of
    at most 63."""
    local = "a" * 64
    rest = length - len(local) - 1 - len(".jp")
    labels = []
    while rest > 0:
        size = min(63, rest if rest <= 63 else min(63, rest - 2))
        labels.append("b" * size)
        rest -= size + 1
    return f"{local}@{'.'.join(labels)}.jp"


def max_length(field) -> int | None:
    declared = getattr(field, "max_length", None)
    if declared:
        return declared
    lengths = [v.max for v in field.validators if isinstance(v, Length) and v.max > 0]
    return min(lengths) if lengths else None


def text_at(name: str, length: int) -> str:
    """Text of exactly `length` characters that the field `name` accepts."""
    if "email" in name:
        return longest_email(length)
    if "phone" in name:
        # Typed as long as the field allows; normalised to 11 digits (spaces and dashes go).
        return ("090-1234-5678" + " " * length)[:length]
    if name.endswith("_kana"):
        return "ア" * length
    if "password" in name or name == "confirmation":
        return "p" * length
    return "髙" * length  # a character NFKC keeps, so the length stays the length


def fill(form_class, prefix: str = "", overrides: dict | None = None) -> MultiDict:
    """Form data with every field of `form_class` at its longest accepted value."""
    overrides = overrides or {}
    data = MultiDict()
    form = form_class(formdata=None, meta={"csrf": False})
    for field in form:
        name = field.short_name
        key = f"{prefix}{field.name}"
        if name == "csrf_token":
            continue
        if name in overrides:
            value = overrides[name]
            for item in value if isinstance(value, list) else [value]:
                data.add(key, item)
            continue
        if isinstance(field, FieldList):
            entry = field.unbound_field
            rows = field.max_entries or 1
            for i in range(rows):
                sub = entry.args[0] if entry.args else entry.kwargs["form_class"]
                row = fill(sub, f"{key}-{i}-", overrides.get("rows", lambda i: {})(i))
                for row_key, value in row.items(multi=True):
                    data.add(row_key, value)
            continue
        if isinstance(field, FormField):
            continue
        if isinstance(field, CheckboxListField):
            for choice in field.choices:
                data.add(key, choice.value if hasattr(choice, "value") else choice[0])
        elif isinstance(field, SelectFieldBase):
            choices = list(field.choices or [])
            if choices:
                first = choices[0]
                data.add(key, first.value if hasattr(first, "value") else first[0])
        elif isinstance(field, BooleanField):
            data.add(key, "y")
        elif isinstance(field, JapanDateTimeField | IntegerField | HiddenField):
            continue  # no length; a value comes from the overrides where one is needed
        elif isinstance(field, CleanStringField | CleanTextAreaField | PasswordField):
            length = max_length(field)
            assert length, f"{form_class.__name__}.{name} declares no maximum length"
            data.add(key, text_at(name, length))
    return data


def here(obj):
    """The same row in the current (request's) session."""
    return db.session.get(type(obj), obj.id)


def local(dt) -> str:
    return dt.astimezone(JST).strftime("%Y-%m-%dT%H:%M")


@dataclass
class Spec:
    """How a form's view hands it to a service, and what to check was stored."""

    form: Callable[[], type]
    submit: Callable  # (form, world) → None, inside a request context
    overrides: Callable[[object], dict] = lambda world: {}
    choices: Callable[[object, object], None] = lambda form, world: None


def _registration_form():
    from hikisupport.registration.forms import RegistrationForm

    return RegistrationForm


def _staff_registration_form():
    from hikisupport.registration.staff_forms import StaffRegistrationForm

    return StaffRegistrationForm


def _submit_registration(form, world):
    from hikisupport.registration import services

    event = here(world.long_event)
    registration = services.register(event, form.applicant()).registration
    db.session.flush()
    services.cancel(registration)  # the resident's own cancellation, mailed too
    world.check = lambda: _stored_registration(form, registration.id)


def _submit_staff_registration(form, world):
    from hikisupport.registration import services

    registration = services.register(
        here(world.long_event), form.applicant(), source=form.source.data, by_staff=True
    ).registration
    world.check = lambda: _stored_registration(form, registration.id)


def _stored_registration(form, registration_id):
    stored = db.session.get(Registration, registration_id)
    assert len(stored.family_name) == form.family_name.max_length
    assert len(stored.needs) == form.needs.max_length
    assert len(stored.person.email or "") in (0, 254)
    subjects = db.session.scalars(
        sa.select(OutboxMessage.subject).filter_by(about_id=registration_id)
    ).all()
    assert all(len(s) > 200 for s in subjects)  # a prefix plus the 200-character title


def _submit_cancel(form, world):
    from hikisupport.registration import services

    registration = here(world.registrations[0])
    services.cancel(registration, reason=form.reason_words())

    def check():
        stored = db.session.get(Registration, registration.id).cancel_reason
        assert len(stored) == len("その他：") + form.reason_text.max_length

    world.check = check


def _event_form():
    from hikisupport.events.forms import EventForm

    return EventForm


def _event_overrides(world):
    start = (utcnow() + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)

    def row(i):
        return {
            "starts_at": local(start + timedelta(days=7 * i)),
            "ends_at": local(start + timedelta(days=7 * i, hours=2)),
        }

    return {
        "kind": "course",
        "capacity": "100",
        "admission": "first_come",
        "status": "published",
        "required_sessions": "",
        "rows": row,
    }


def _submit_event(form, world):
    from hikisupport.events import services as manage

    event = manage.create_event(form.to_input(), here(world.ward))
    db.session.flush()
    manage.update_event(event, form.to_input())  # changed with the same longest values
    world.check = lambda: _stored_event(form, event.id)


def _stored_event(form, event_id):
    event = db.session.get(Event, event_id)
    assert len(event.title) == form.title.max_length
    assert len(event.sessions) == form.sessions.max_entries
    assert all(len(s.venue) == 200 and len(s.access) == 300 for s in event.sessions)


def _cancel_event_form():
    from hikisupport.events.staff_views import CancelEventForm

    return CancelEventForm


def _submit_cancel_event(form, world):
    from hikisupport.registration import services

    services.cancel_event(here(world.long_event), form.reason.data)
    world.check = lambda: None


def _draw_form():
    from hikisupport.events.staff_views import DrawForm

    return DrawForm


def _submit_draw(form, world):
    from hikisupport.registration import lottery

    event = here(world.long_lottery)
    lottery.draw(event, expected_applicants=form.applicants.data)
    world.check = lambda: None


def _staff_form(name):
    def get():
        from hikisupport.staff import forms

        return getattr(forms, name)

    return get


def _submit_login(form, world):
    from hikisupport.staff import services

    services.authenticate(form.email.data, form.password.data, client="2001:db8::" + "f" * 35)
    world.check = lambda: db.session.scalar(
        sa.select(AuditLog.id).filter_by(action="staff.login_failed")
    )


def _org_choices(form, world):
    from hikisupport.core.forms import choices_from

    form.organization_id.choices = choices_from({"": "（なし）", str(world.ward.id): "杉並区"})


def _submit_staff(form, world):
    from hikisupport.staff import services

    staff = services.create_staff(
        form.email.data, form.role.data, form.password.data, here(world.ward), name=form.name.data
    )
    world.check = lambda: len(db.session.get(StaffUser, staff.id).email) == 254


def _submit_organization(form, world):
    from hikisupport.staff import services

    organization = services.create_organization(form.name.data, form.kind.data)
    world.check = lambda: len(organization.name) == 100


def _submit_role(form, world):
    from hikisupport.staff import services

    services.change_role(here(world.policy), form.role.data, here(world.ward), by=here(world.admin))
    world.check = lambda: None


def _submit_password(form, world):
    from hikisupport.staff import services

    services.change_own_password(
        here(world.with_password), PASSWORD, form.new_password.data, form.confirmation.data
    )
    world.check = lambda: None


def _token_choices(form, world):
    from hikisupport.core.forms import choices_from

    form.staff_id.choices = choices_from({str(world.organizer.id): "ward"})


def _submit_token(form, world):
    from hikisupport.staff import services

    services.issue_token(db.session.get(StaffUser, int(form.staff_id.data)))
    world.check = lambda: None


def _cancel_form():
    from hikisupport.registration.staff_forms import StaffCancelForm

    return StaffCancelForm


FORMS: dict[str, Spec] = {
    "RegistrationForm": Spec(_registration_form, _submit_registration),
    "StaffRegistrationForm": Spec(
        _staff_registration_form, _submit_staff_registration, lambda w: {"source": "phone"}
    ),
    "StaffCancelForm": Spec(_cancel_form, _submit_cancel, lambda w: {"reason": "other"}),
    "EventForm": Spec(_event_form, _submit_event, _event_overrides),
    "CancelEventForm": Spec(_cancel_event_form, _submit_cancel_event),
    "DrawForm": Spec(_draw_form, _submit_draw, lambda w: {"applicants": "1"}),
    "LoginForm": Spec(_staff_form("LoginForm"), _submit_login),
    "StaffForm": Spec(
        _staff_form("StaffForm"),
        _submit_staff,
        lambda w: {"role": "organizer", "organization_id": str(w.ward.id)},
        _org_choices,
    ),
    "OrganizationForm": Spec(_staff_form("OrganizationForm"), _submit_organization),
    "RoleForm": Spec(
        _staff_form("RoleForm"),
        _submit_role,
        lambda w: {"role": "organizer", "organization_id": str(w.ward.id)},
        _org_choices,
    ),
    "PasswordChangeForm": Spec(
        _staff_form("PasswordChangeForm"),
        _submit_password,
        lambda w: {"current_password": PASSWORD},
    ),
    "TokenForm": Spec(
        _staff_form("TokenForm"),
        _submit_token,
        lambda w: {"staff_id": str(w.organizer.id)},
        _token_choices,
    ),
}


def all_form_classes() -> set[str]:
    for module in pkgutil.walk_packages(hikisupport.__path__, "hikisupport."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found, queue = set(), list(BaseForm.__subclasses__())
    while queue:
        cls = queue.pop()
        found.add(cls.__name__)
        queue.extend(cls.__subclasses__())
    return found


def test_every_form_is_covered():
    assert sorted(all_form_classes() - set(FORMS)) == []


@pytest.fixture
def long_world(staff_world, make_event, sign_up):
    """Events whose titles are 200 characters long (a lottery one drawn-ready), and a member of
    staff with a real password."""
    from werkzeug.security import generate_password_hash

    from hikisupport.registration import services
    from hikisupport.registration.services import Applicant

    staff_world.long_event = make_event(
        title="講" * 200, capacity=50, organization=staff_world.ward
    )
    staff_world.long_lottery = make_event(
        title="抽" * 200, admission="lottery", capacity=5, organization=staff_world.ward
    )
    services.register(
        staff_world.long_lottery,
        Applicant(
            "抽選", "花子", "チュウセン", "ハナコ", "lot@example.jp", "0333122111", "live", "30s"
        ),
    )
    staff_world.long_lottery.registration_closes_at = utcnow() - timedelta(minutes=1)
    staff_world.with_password = staff_world.organizer
    staff_world.organizer.password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    return staff_world


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_field_at_its_maximum_length_is_stored(app, long_world, name):
    spec = FORMS[name]
    form_class = spec.form()
    data = fill(form_class, overrides=spec.overrides(long_world))
    with app.test_request_context(method="POST", data=data):
        form = form_class(meta={"csrf": False})
        spec.choices(form, long_world)
        assert form.validate(), form.errors
        spec.submit(form, long_world)
        db.session.commit()  # PostgreSQL refuses here what does not fit its column
        long_world.check()


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = document["components"]["schemas"][name]
    return schema


# What the API's parser accepts where its document does not (yet) say (item 14 declares them).
API_MAX_LENGTHS = {
    "description": 4000,
    "audience": 300,
    "fee": 100,
    "reminder_text": 1000,
    "venue": 200,
    "access": 300,
}


def _api_text(name: str, schema: dict) -> str:
    return text_at(name, schema.get("maxLength") or API_MAX_LENGTHS.get(name, 20))


def test_an_api_body_at_its_maximum_lengths_is_stored(app, long_world, client):
    from hikisupport.staff.services import issue_token

    document = client.get("/api/v1/openapi.json").json  # the document clients read
    body_schema = _resolve(
        document,
        document["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ],
    )
    properties = body_schema["properties"]
    session_schema = _resolve(document, properties["sessions"]["items"])
    start = (utcnow() + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    sessions = []
    for i in range(properties["sessions"].get("maxItems", 20)):
        begins = start + timedelta(days=7 * i)
        row = {
            "starts_at": begins.astimezone(JST).isoformat(),
            "ends_at": (begins + timedelta(hours=2)).astimezone(JST).isoformat(),
        }
        for key, prop in session_schema["properties"].items():
            if prop.get("type") == "string" and "format" not in prop and key not in row:
                row[key] = _api_text(key, prop)
        sessions.append(row)
    body = {"kind": "course", "capacity": 100, "sessions": sessions}
    for key in [*properties, *API_MAX_LENGTHS]:
        prop = properties.get(key, {"type": "string"})
        if (
            key in body
            or key in ("sessions", "organization_id")
            or key in session_schema.get("properties", {})
        ):
            continue
        if prop.get("type") == "string" and "format" not in prop and "enum" not in prop:
            body[key] = _api_text(key, prop)
    token = issue_token(long_world.organizer)
    db.session.commit()
    response = client.post(
        "/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.json
    event = db.session.get(Event, response.json["id"])
    assert len(event.title) == properties["title"]["maxLength"]
    assert len(event.description) == API_MAX_LENGTHS["description"]
    assert len(event.sessions) == len(sessions)
    assert all(len(s.venue) == 200 for s in event.sessions)
