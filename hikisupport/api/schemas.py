"""The requests and answers of /api/v1, each declared once as a pydantic model.

A request model is the validation of its body *and* its part of the OpenAPI document
(`api.spec` hands both to spectree): a bound written here is enforced and published together,
so a client built from the document never sends a value the API refuses for that field. Rules
between fields (the end after the start, the deadline before the last session) stay in the
services (`events.services.validate`); their refusals name fields the same way (``title``,
``sessions.0.venue``).

Field types for requests:

- `Line(n)` — one line of text, at most n characters, no control characters or line breaks;
  `Line(n, required=True)` must also hold something other than spaces.
- `Text(n)` — text that may have line breaks (tabs and CR/LF allowed, other controls not).
- `When` — an RFC 3339 date-time with an offset, years `MIN_YEAR`–`MAX_YEAR`.
- `Int(lo, hi)` — a JSON integer within bounds (``30.0`` is one, as JSON Schema has it;
  ``true`` and ``"30"`` are not).
- `Flag` — ``true`` or ``false`` (``1`` is not one).
- a `Vocabulary` enum, or a `Literal` of some of its members, for a word list.

Optional fields take ``null`` as "not given" (their default), as the API always has.

An answer model has a constructor from the database rows (`Event.of(event, totals)`); a view
returns the model and spectree serialises it. Times in answers are in Japan time
(``2026-12-12T14:00:00+09:00``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.functional_validators import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from hikisupport import models
from hikisupport.core.japanese import JST, MAX_YEAR, MIN_YEAR
from hikisupport.events.services import MAX_CAPACITY, MAX_SESSIONS, EventInput, SessionInput
from hikisupport.models import (
    Accommodation,
    Admission,
    EventKind,
    EventStatus,
    RegistrationSource,
    RegistrationStatus,
    Residency,
)

# ---------------------------------------------------------------------------------------------
# Patterns. ECMA-262 with Unicode property escapes, as JSON Schema reads them; pydantic checks
# the same strings. \p{C} is every control, format, surrogate, private-use and unassigned
# character (what `core.japanese.has_control_characters` refuses); \p{Zl}/\p{Zp} are the
# Unicode line and paragraph separators. [0-9], never \d: \d is any script's digit in some
# engines.
_LINE_CHAR = r"[^\p{C}\p{Zl}\p{Zp}]"
_VISIBLE_CHAR = r"[^\p{C}\p{Z}]"
_TEXT_CHAR = r"[\t\n\r\P{C}]"

SINGLE_LINE = f"^{_LINE_CHAR}*$"
FILLED_LINE = f"^{_LINE_CHAR}*{_VISIBLE_CHAR}{_LINE_CHAR}*$"
MULTI_LINE = f"^{_TEXT_CHAR}*$"


def _digits_between(low: str, high: str) -> str:
    """A regular expression for the decimal numbers low..high, both of the same width."""
    if low == high:
        return low
    rest = len(low) - 1
    if low == "0" * len(low) and high == "9" * len(high):
        return f"[0-9]{{{len(low)}}}"
    if not rest:
        return f"[{low}-{high}]"
    if low[0] == high[0]:
        return low[0] + _digits_between(low[1:], high[1:])
    parts = [f"{low[0]}(?:{_digits_between(low[1:], '9' * rest)})"]
    if int(high[0]) - int(low[0]) > 1:
        parts.append(f"[{int(low[0]) + 1}-{int(high[0]) - 1}][0-9]{{{rest}}}")
    parts.append(f"{high[0]}(?:{_digits_between('0' * rest, high[1:])})")
    return "(?:" + "|".join(parts) + ")"


DATE_TIME = (
    f"^{_digits_between(str(MIN_YEAR), str(MAX_YEAR))}"
    r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
DATE_TIME_EXAMPLE = "2026-12-12T14:00:00+09:00"


# ---------------------------------------------------------------------------------------------
# Field types of requests.


def Line(max_length: int, *, required: bool = False) -> Any:  # noqa: N802 - reads as a type
    """One line of text (no control characters or line breaks), at most `max_length` long."""
    return Annotated[
        StrictStr,
        StringConstraints(
            min_length=1 if required else None,
            max_length=max_length,
            pattern=FILLED_LINE if required else SINGLE_LINE,
        ),
    ]


def Text(max_length: int) -> Any:  # noqa: N802
    """Text with line breaks, at most `max_length` characters."""
    return Annotated[StrictStr, StringConstraints(max_length=max_length, pattern=MULTI_LINE)]


def _whole_number(value: Any) -> Any:
    # In JSON (and JSON Schema) 30.0 is the integer 30; true is not a number at all.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def Int(minimum: int, maximum: int) -> Any:  # noqa: N802
    return Annotated[StrictInt, Field(ge=minimum, le=maximum), BeforeValidator(_whole_number)]


def _to_datetime(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # the pattern holds but the day does not exist (2026-02-30)
        raise PydanticCustomError("date_time", "not a date") from None


When = Annotated[
    StrictStr,
    StringConstraints(pattern=DATE_TIME),
    AfterValidator(_to_datetime),
    Field(
        json_schema_extra={"format": "date-time", "examples": [DATE_TIME_EXAMPLE]},
        description=f"RFC 3339 with an offset, {MIN_YEAR}–{MAX_YEAR}",
    ),
]
Flag = StrictBool
DatabaseId = Int(1, 2**31 - 1)


class Request(BaseModel):
    """A request body (or part of one). Keys it does not know are ignored; ``null`` is the
    same as leaving a key out (so a required key sent as null is missing)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


# ---------------------------------------------------------------------------------------------
# Requests.


class SessionCreate(Request):
    starts_at: When
    ends_at: When
    venue: Line(200, required=True)
    access: Line(300) | None = Field(default="", description="how to get there")

    def to_input(self) -> SessionInput:
        return SessionInput(self.starts_at, self.ends_at, self.venue, self.access or "")


class EventCreate(Request):
    """A new event with its sessions. Omitted fields take the defaults shown."""

    kind: EventKind
    title: Line(200, required=True)
    description: Text(4000) | None = ""
    audience: Line(300) | None = ""
    fee: Line(100) | None = "無料"
    capacity: Int(0, MAX_CAPACITY)
    waitlist: Flag | None = True
    admission: Admission | None = Admission.FIRST_COME
    certifies: Flag | None = Field(default=None, description="default: true for a course")
    required_sessions: Int(1, MAX_SESSIONS) | None = Field(
        default=None, description="sessions to attend for a certificate"
    )
    residency: Annotated[list[Residency], Field(min_length=1)] | None = Field(
        default=None, description="who may sign up (default: everyone)"
    )
    registration_opens_at: When | None = Field(default=None, description="default: now")
    registration_closes_at: When | None = Field(
        default=None, description="default: when the first session starts"
    )
    status: Literal[EventStatus.DRAFT, EventStatus.PUBLISHED] | None = EventStatus.PUBLISHED
    reminder_text: Text(1000) | None = ""
    organization_id: DatabaseId | None = Field(
        default=None, description="admin only (default: the first organization)"
    )
    sessions: Annotated[list[SessionCreate], Field(min_length=1, max_length=MAX_SESSIONS)]

    def to_input(self) -> EventInput:
        """The service's input (`events.services.create_event` applies the rules)."""
        return EventInput(
            kind=self.kind,
            title=self.title,
            description=self.description or "",
            audience=self.audience or "",
            fee=self.fee or "無料",
            capacity=self.capacity,
            waitlist=True if self.waitlist is None else self.waitlist,
            admission=self.admission or Admission.FIRST_COME,
            certifies=self.certifies,
            required_sessions=self.required_sessions,
            residency=list(self.residency or Residency.values()),
            registration_opens_at=self.registration_opens_at,
            registration_closes_at=self.registration_closes_at,
            status=self.status or EventStatus.PUBLISHED,
            reminder_text=self.reminder_text or "",
            sessions=[session.to_input() for session in self.sessions],
        )


# ---------------------------------------------------------------------------------------------
# Answers.


def _iso(value: datetime) -> str:
    return value.astimezone(JST).isoformat()


Instant = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": [DATE_TIME_EXAMPLE]}),
]


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class Session(Answer):
    id: int
    number: int = Field(description="第N回, in date order")
    starts_at: Instant
    ends_at: Instant
    venue: str
    access: str

    @classmethod
    def of(cls, session: models.Session) -> Session:
        return cls(
            id=session.id,
            number=session.number,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            venue=session.venue,
            access=session.access,
        )


class Organization(Answer):
    id: int
    name: str


class Event(Answer):
    id: int
    kind: EventKind
    title: str
    description: str
    audience: str
    fee: str
    capacity: int
    waitlist: bool
    admission: Admission
    certifies: bool
    required_sessions: int | None
    residency: list[Residency]
    registration_opens_at: Instant
    registration_closes_at: Instant
    status: EventStatus
    organization: Organization
    confirmed: int
    waitlisted: int
    seats_left: int
    sessions: list[Session]

    @classmethod
    def of(cls, event: models.Event, totals) -> Event:
        """`totals`: `rosters.services.totals(event)`."""
        return cls(
            id=event.id,
            kind=event.kind,
            title=event.title,
            description=event.description,
            audience=event.audience,
            fee=event.fee,
            capacity=event.capacity,
            waitlist=event.waitlist,
            admission=event.admission,
            certifies=event.certifies,
            required_sessions=event.required_sessions,
            residency=list(event.eligible_residencies),
            registration_opens_at=event.registration_opens_at,
            registration_closes_at=event.registration_closes_at,
            status=event.status,
            organization=Organization(id=event.organization_id, name=event.organization.name),
            confirmed=totals.confirmed,
            waitlisted=totals.waitlisted,
            seats_left=max(event.capacity - totals.confirmed, 0),
            sessions=[Session.of(s) for s in event.sessions],
        )


class Registration(Answer):
    id: int
    ticket: str
    status: RegistrationStatus
    waitlist_position: int | None
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    email: str
    residency: Residency
    accommodations: list[Accommodation]
    source: RegistrationSource
    created_at: Instant

    @classmethod
    def of(cls, registration: models.Registration) -> Registration:
        return cls(
            id=registration.id,
            ticket=registration.ticket,
            status=registration.status,
            waitlist_position=registration.waitlist_position,
            family_name=registration.family_name,
            given_name=registration.given_name,
            family_name_kana=registration.family_name_kana,
            given_name_kana=registration.given_name_kana,
            email=registration.email,
            residency=registration.residency,
            accommodations=registration.accommodations,
            source=registration.source,
            created_at=registration.created_at,
        )


class RegistrationList(Answer):
    registrations: list[Registration]


class RosterSession(Session):
    event_id: int
    event_title: str

    @classmethod
    def of(cls, session: models.Session) -> RosterSession:
        return cls(
            **Session.of(session).model_dump(),
            event_id=session.event_id,
            event_title=session.event.title,
        )


class RosterRow(Answer):
    """One confirmed person of a session's roster."""

    ticket: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    status: RegistrationStatus
    checked_in_at: Instant | None

    @classmethod
    def of(cls, row) -> RosterRow:
        """`row`: a `rosters.services.RosterRow`."""
        registration = row.registration
        return cls(
            ticket=registration.ticket,
            family_name=registration.family_name,
            given_name=registration.given_name,
            family_name_kana=registration.family_name_kana,
            given_name_kana=registration.given_name_kana,
            status=registration.status,
            checked_in_at=row.checked_in_at,
        )


class Roster(Answer):
    session: RosterSession
    registrations: list[RosterRow]


class Error(Answer):
    """Every refusal: a stable code, a message for people, and for invalid input the message
    of each field (``title``, ``sessions.0.venue``; ``""`` for the body as a whole)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    error: str = Field(description="stable code: invalid, invalid_json, not_found, …")
    message: str = Field(description="日本語の説明")
    fields: dict[str, str] | None = Field(default=None, description="path → 日本語の説明")
