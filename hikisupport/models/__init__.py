"""All models, importable from one place (``from hikisupport.models import Event``)."""

from hikisupport.models.attendance import Attendance, Reminder
from hikisupport.models.audit import AuditLog
from hikisupport.models.events import (
    ADMISSIONS,
    EVENT_KINDS,
    EVENT_STATUSES,
    RESIDENCIES,
    Event,
    Session,
)
from hikisupport.models.lottery import LotteryDraw
from hikisupport.models.mail import OutboxMessage
from hikisupport.models.people import AGE_GROUPS, Person
from hikisupport.models.registrations import (
    ACCOMMODATIONS,
    SOURCES,
    Registration,
    RegistrationStatus,
)
from hikisupport.models.settings import IndicatorTarget, Municipality
from hikisupport.models.staff import ORGANIZATION_KINDS, ROLES, ApiToken, Organization, StaffUser

__all__ = [
    "ACCOMMODATIONS",
    "ADMISSIONS",
    "AGE_GROUPS",
    "EVENT_KINDS",
    "EVENT_STATUSES",
    "ORGANIZATION_KINDS",
    "RESIDENCIES",
    "SOURCES",
    "ROLES",
    "ApiToken",
    "Attendance",
    "AuditLog",
    "Event",
    "IndicatorTarget",
    "LotteryDraw",
    "Municipality",
    "Organization",
    "OutboxMessage",
    "Person",
    "Registration",
    "RegistrationStatus",
    "Reminder",
    "Session",
    "StaffUser",
]
