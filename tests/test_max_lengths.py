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
import uuid
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
from hikisupport.models import (
    AuditLog,
    Event,
    Municipality,
    OutboxMessage,
    Registration,
    StaffUser,
)

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
    if name.endswith("url"):
        return "https://example.jp/" + "a" * (length - len("https://example.jp/"))
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
                rows_of = overrides.get(f"{name}_rows") or overrides.get("rows", lambda i: {})
                row = fill(sub, f"{key}-{i}-", rows_of(i))
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
    registration = services.register(event, form.applicant(longest_email())).registration
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


def _form(module: str, name: str):
    def get():
        return getattr(importlib.import_module(f"hikisupport.{module}"), name)

    return get


def _submit_email(form, world):
    from hikisupport.registration import services

    assert services.request_apply_link(here(world.long_event), form.email.data)
    world.check = lambda: (
        db.session.scalar(
            sa.select(sa.func.length(OutboxMessage.recipient)).filter_by(kind="apply_link")
        )
        == len(form.email.data)
        == 254
    )


def _submit_details(form, world):
    from hikisupport.registration import services

    registration = here(world.long_registration)
    services.update_details(registration, **form.details())

    def check():
        stored = db.session.get(Registration, registration.id)
        assert len(stored.childcare_ages) == form.childcare_ages.max_length
        assert len(stored.needs) == form.needs.max_length
        assert stored.phone == "09012345678"

    world.check = check


def _device_overrides(world):
    return {"event_ids": str(world.long_event.id)}


def _device_choices(form, world):
    from hikisupport.core.forms import choices_from

    form.event_ids.choices = choices_from({world.long_event.id: "講座"})


def _submit_device(form, world):
    from hikisupport.checkin import services

    device = services.create_device(
        form.name.data, [here(world.long_event)], created_by=here(world.organizer)
    )
    world.check = lambda: len(db.session.get(type(device), device.id).name) == 60


def _submit_pair(form, world):
    from hikisupport.checkin import services
    from hikisupport.core.errors import DomainError

    with pytest.raises(DomainError) as refused:  # no such code: refused, nothing stored
        services.pair(form.code.data)
    assert refused.value.status < 500
    world.check = lambda: None


def _cohort_choices(form, world):
    form.other_event_id.choices = [(world.other_cohort.id, "別の期")]


def _submit_cohort(form, world):
    from hikisupport.supporters import services

    event = here(world.long_event)
    services.link_cohorts(event, db.session.get(Event, form.other_event_id.data))
    world.check = lambda: (
        services.cohort_event_ids(event.id) == sorted([event.id, world.other_cohort.id])
    )


def _submit_reasons(form, world):
    """The one reason form: certify by hand, revoke, erase a person's data."""
    from hikisupport.models import Certification, PersonErasure
    from hikisupport.supporters import persons, services

    registration = here(world.registrations[0])
    certification = services.certify_by_hand(registration, form.reason.data)
    services.revoke(certification, form.reason.data)
    erased = here(world.registrations[2]).person
    persons.erase(erased, "request", form.reason.data)

    def check():
        stored = db.session.get(Certification, certification.id)
        assert len(stored.reason) == len(stored.revoke_reason) == form.reason.max_length
        erasure = db.session.scalar(sa.select(PersonErasure).filter_by(person_id=erased.id))
        assert len(erasure.reason) == form.reason.max_length

    world.check = check


def _submit_correction(form, world):
    from hikisupport.models import Certification
    from hikisupport.supporters import services

    registration = here(world.registrations[0])
    certification = services.certify_by_hand(registration, "紙の出席簿で確認しました。")
    corrected = services.correct(
        certification, form.family_name.data, form.given_name.data, form.reason.data
    )

    def check():
        stored = db.session.get(Certification, corrected.id)
        assert len(stored.family_name) == len(stored.given_name) == 60
        assert len(stored.reason) == form.reason.max_length

    world.check = check


def _submit_merge(form, world):
    from hikisupport.models import PersonMerge
    from hikisupport.supporters import persons

    duplicate = here(world.registrations[1]).person
    into = db.session.get(type(duplicate), form.into_id.data)
    persons.merge(duplicate, into, form.reason.data)
    world.check = lambda: (
        len(db.session.scalar(sa.select(PersonMerge.reason).order_by(PersonMerge.id.desc())))
        == form.reason.max_length
    )


def _submit_indicator(form, world):
    from hikisupport.models import Municipality
    from hikisupport.reports import settings

    municipality = db.session.scalar(sa.select(Municipality).limit(1))
    settings.update(municipality, form.to_settings())

    def check():
        stored = settings.current(db.session.get(Municipality, municipality.id))
        assert (len(stored.name), len(stored.unit), len(stored.definition)) == (100, 10, 1000)
        assert len(stored.targets) == 101

    world.check = check


def _indicator_overrides(world):
    # 101 lines of 「年度 目標値」 (2000…2100), padded with spaces to the field's 1000 characters.
    lines = "\n".join(f"{year} 1" for year in range(2000, 2101))
    return {
        "targets": lines + " " * (1000 - len(lines)),
        "threshold": "10",
        "retention_years": "5",
    }


def _service_overrides(world):
    return {
        "latitude": "35.69950000000000000",
        "longitude": "139.6366000000000000",
        "last_checked_on": "2026-11-01",
        "schedules_rows": lambda i: {"freq": "WEEKLY", "opens_at": "10:00", "closes_at": "17:00"},
        "closures_rows": lambda i: {"starts_on": f"2027-{i // 28 + 1:02d}-{i % 28 + 1:02d}"},
    }


def _submit_service(form, world):
    from hikisupport.directory import services

    service = services.create_service(form.to_input())
    db.session.flush()
    services.update_service(service, form.to_input())  # the same longest values again
    world.service_id = service.id
    world.check = lambda: _stored_service(form, service.id)


def _stored_service(form, service_id):
    from hikisupport.models import Service

    stored = db.session.get(Service, service_id)
    for name in ("name", "name_kana", "operator", "description", "address", "access", "email"):
        assert len(getattr(stored, name)) == getattr(form, name).max_length, name
    assert len(stored.url) == form.url.max_length
    assert len(stored.schedules) == form.schedules.max_entries
    assert len(stored.closures) == form.closures.max_entries
    assert all(len(c.reason) == 200 for c in stored.closures)


def _submit_import(form, world):
    """The longest entry the service form takes, exported and imported again as a new row."""
    import csv
    import io

    from hikisupport.directory import services, transfer
    from hikisupport.directory.forms import ServiceForm
    from hikisupport.models import Service

    data = fill(ServiceForm, overrides=_service_overrides(world))
    service_form = ServiceForm(formdata=data, meta={"csrf": False})
    assert service_form.validate(), service_form.errors
    original = services.create_service(service_form.to_input())
    db.session.flush()
    rows = list(csv.reader(io.StringIO(transfer.export_csv([original]).decode("utf-8-sig"))))
    rows[1][rows[0].index("ID")] = ""  # a new entry
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    plan = transfer.import_csv(("\ufeff" + text.getvalue()).encode("utf-8"), dry_run=False)
    assert len(plan.created) == 1

    def check():
        copy = db.session.scalar(sa.select(Service).order_by(Service.id.desc()).limit(1))
        assert copy.id != original.id
        assert (
            transfer.row_of(copy)[1:] == transfer.row_of(db.session.get(Service, original.id))[1:]
        )

    world.check = check


def _link_choices(form, world):
    form.service_ids.choices = [(world.service.id, "居場所")]


def _linked_supporter(world):
    """The first registrant, certified by hand and linked to the world's 居場所."""
    from hikisupport.supporters import services

    registration = here(world.registrations[0])
    services.certify_by_hand(registration, "紙の出席簿で確認しました。")
    services.set_linked_services(registration, [world.service.id])
    return registration


def _submit_links(form, world):
    from hikisupport.supporters import services

    registration = here(world.registrations[0])
    services.certify_by_hand(registration, "紙の出席簿で確認しました。")
    certification = services.set_linked_services(registration, form.service_ids.data)
    world.check = lambda: (
        [s.id for s in services.linked_services(certification)] == [world.service.id]
    )


def _submit_supporter_mail(form, world):
    from hikisupport.supporters import services

    _linked_supporter(world)
    services.mail_linked_supporters(here(world.service), form.subject.data, form.body.data)

    def check():
        mail = db.session.scalar(sa.select(OutboxMessage).filter_by(kind="service_supporters"))
        assert len(mail.subject) == form.subject.max_length
        assert form.body.data in mail.body_text

    world.check = check


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
    "EmailForm": Spec(_form("registration.forms", "EmailForm"), _submit_email),
    "DetailsForm": Spec(_form("registration.forms", "DetailsForm"), _submit_details),
    "DeviceForm": Spec(
        _form("checkin.forms", "DeviceForm"), _submit_device, _device_overrides, _device_choices
    ),
    "PairForm": Spec(_form("checkin.forms", "PairForm"), _submit_pair),
    "CohortForm": Spec(
        _form("supporters.forms", "CohortForm"),
        _submit_cohort,
        lambda w: {"other_event_id": str(w.other_cohort.id)},
        _cohort_choices,
    ),
    "ReasonForm": Spec(_form("supporters.forms", "ReasonForm"), _submit_reasons),
    "CorrectionForm": Spec(_form("supporters.forms", "CorrectionForm"), _submit_correction),
    "MergeForm": Spec(
        _form("supporters.forms", "MergeForm"),
        _submit_merge,
        lambda w: {"into_id": str(w.registrations[0].person_id)},
    ),
    "IndicatorForm": Spec(
        _form("reports.forms", "IndicatorForm"), _submit_indicator, _indicator_overrides
    ),
    "ServiceForm": Spec(
        _form("directory.forms", "ServiceForm"), _submit_service, _service_overrides
    ),
    "ImportForm": Spec(_form("directory.forms", "ImportForm"), _submit_import),
    "ServiceLinksForm": Spec(
        _form("supporters.forms", "ServiceLinksForm"),
        _submit_links,
        lambda w: {"service_ids": str(w.service.id)},
        _link_choices,
    ),
    "SupporterMailForm": Spec(
        _form("supporters.forms", "SupporterMailForm"), _submit_supporter_mail
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


def test_form_names_are_unique():
    """`FORMS` is keyed by class name: two forms of one name would hide one of them."""
    for module in pkgutil.walk_packages(hikisupport.__path__, "hikisupport."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    seen: dict[str, str] = {}
    queue = list(BaseForm.__subclasses__())
    while queue:
        cls = queue.pop()
        queue.extend(cls.__subclasses__())
        where = f"{cls.__module__}.{cls.__qualname__}"
        assert seen.setdefault(cls.__name__, where) == where, (cls.__name__, seen[cls.__name__])


@pytest.fixture
def long_world(staff_world, make_event, sign_up, make_service):
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
    staff_world.other_cohort = make_event(
        title="期" * 200, capacity=50, organization=staff_world.ward
    )
    staff_world.long_registration = services.register(
        staff_world.long_event,
        Applicant(
            "杉並", "一郎", "スギナミ", "イチロウ", "long@example.jp", "0333122111", "live", "40s"
        ),
    ).registration
    if db.session.scalar(sa.select(sa.func.count()).select_from(Municipality)) == 0:
        db.session.add(Municipality(name="杉並区", code="131156"))
    staff_world.service = make_service()
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


def _text_schema(document: dict, prop: dict) -> dict | None:
    """The string branch of a property (`T | None` is an anyOf with null), if it is free text:
    no format (dates), no enum (vocabularies)."""
    prop = _resolve(document, prop)
    for branch in prop.get("anyOf", [prop]):
        branch = _resolve(document, branch)
        if branch.get("type") == "string" and "format" not in branch and "enum" not in branch:
            return branch
    return None


def _body_schemas(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                content = operation["requestBody"]["content"]["application/json"]
                yield f"{method.upper()} {path}", _resolve(document, content["schema"])


def _text_properties(document: dict, schema: dict, where: str = ""):
    """Every free-text property of a body, nested objects and arrays of objects included."""
    for key, prop in schema.get("properties", {}).items():
        text = _text_schema(document, prop)
        if text is not None:
            yield f"{where}{key}", text
            continue
        for branch in _resolve(document, prop).get("anyOf", [_resolve(document, prop)]):
            branch = _resolve(document, branch)
            if branch.get("type") == "array" and "items" in branch:
                branch = _resolve(document, branch["items"])
            if "properties" in branch:
                yield from _text_properties(document, branch, f"{where}{key}.")


def test_every_api_text_property_declares_its_maximum_length(client):
    """Clients read the limits from the document; the parser enforces the same ones."""
    document = client.get("/api/v1/openapi.json").json
    bodies = dict(_body_schemas(document))
    assert "POST /events" in bodies and "POST /walk-ins" in bodies
    undeclared = [
        f"{operation} {name}"
        for operation, schema in bodies.items()
        for name, text in _text_properties(document, schema)
        if not text.get("maxLength")
    ]
    assert undeclared == []


def _api_text(name: str, schema: dict) -> str:
    if "phone" in name:  # the API takes digits only
        return ("09012345678" + "0" * schema["maxLength"])[: schema["maxLength"]]
    return text_at(name, schema["maxLength"])


def test_an_api_body_at_its_maximum_lengths_is_stored(app, long_world, client):
    from hikisupport.staff.services import issue_token

    document = client.get("/api/v1/openapi.json").json  # the document clients read
    body_schema = dict(_body_schemas(document))["POST /events"]
    properties = body_schema["properties"]
    session_schema = _resolve(document, properties["sessions"]["items"])
    start = (utcnow() + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    sessions = []
    for i in range(properties["sessions"]["maxItems"]):
        begins = start + timedelta(days=7 * i)
        row = {
            "starts_at": begins.astimezone(JST).isoformat(),
            "ends_at": (begins + timedelta(hours=2)).astimezone(JST).isoformat(),
        }
        for key, prop in session_schema["properties"].items():
            text = _text_schema(document, prop)
            if text is not None and key not in row:
                row[key] = _api_text(key, text)
        sessions.append(row)
    body = {"kind": "course", "capacity": 100, "sessions": sessions}
    texts = {}
    for key, prop in properties.items():
        text = _text_schema(document, prop)
        if text is not None:
            body[key] = texts[key] = _api_text(key, text)
    assert {"title", "description", "audience", "fee", "reminder_text"} <= set(texts)
    token = issue_token(long_world.organizer)
    db.session.commit()
    response = client.post(
        "/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.json
    event = db.session.get(Event, response.json["id"])
    for key, value in texts.items():
        assert getattr(event, key) == value, key
    assert len(event.sessions) == len(sessions)
    assert [(s.venue, s.access) for s in event.sessions] == [
        (row["venue"], row["access"]) for row in sessions
    ]


def test_a_walk_in_at_its_maximum_lengths_is_stored(door, client):
    document = client.get("/api/v1/openapi.json").json
    schema = dict(_body_schemas(document))["POST /walk-ins"]
    body = {
        "id": str(uuid.uuid4()),
        "session_id": door.session.id,
        "scanned_at": utcnow().astimezone(JST).isoformat(),
        "residency": "live",
        "age_group": "60s",
        "consent": True,
    }
    texts = {}
    for key, text in _text_properties(document, schema):
        if key not in body:
            body[key] = texts[key] = _api_text(key, text)
    assert {"family_name", "given_name", "family_name_kana", "given_name_kana"} <= set(texts)
    response = client.post("/api/v1/walk-ins", json=body, headers=door.headers)
    assert response.status_code == 201, response.json
    registration = db.session.scalar(sa.select(Registration).filter_by(source="walk_in"))
    for key in texts:
        assert getattr(registration, key) == texts[key], key
