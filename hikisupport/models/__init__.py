"""All models, importable from one place (``from hikisupport.models import Event``)."""

from hikisupport.models.events import EVENT_KINDS, RESIDENCIES, Event, Session
from hikisupport.models.mail import OutboxAttachment, OutboxMessage
from hikisupport.models.people import AGE_GROUPS, Person
from hikisupport.models.registrations import ACCOMMODATIONS, Registration, RegistrationStatus
from hikisupport.models.settings import IndicatorTarget, Municipality

__all__ = [
    "ACCOMMODATIONS",
    "AGE_GROUPS",
    "EVENT_KINDS",
    "RESIDENCIES",
    "Event",
    "IndicatorTarget",
    "Municipality",
    "OutboxAttachment",
    "OutboxMessage",
    "Person",
    "Registration",
    "RegistrationStatus",
    "Session",
]
