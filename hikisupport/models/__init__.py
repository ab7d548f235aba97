"""All models, importable from one place (``from hikisupport.models import Event``)."""

from hikisupport.models.attendance import Attendance, Reminder
from hikisupport.models.audit import AuditLog
from hikisupport.models.checkin import Device, DevicePairing, device_events
from hikisupport.models.contacts import ContactTask
from hikisupport.models.directory import Service, ServiceClosure, ServiceSchedule
from hikisupport.models.events import Event, Session
from hikisupport.models.lottery import LotteryDraw
from hikisupport.models.mail import OutboxMessage
from hikisupport.models.people import Person
from hikisupport.models.registrations import Registration
from hikisupport.models.settings import IndicatorTarget, Municipality
from hikisupport.models.staff import ApiToken, LoginThrottle, Organization, StaffUser
from hikisupport.models.vocabulary import (
    ACTIVE_STATUSES,
    Accommodation,
    Admission,
    AgeGroup,
    AttendanceMethod,
    Booking,
    CancelReason,
    ConsultMethod,
    ContactReason,
    EventKind,
    EventStatus,
    OrganizationKind,
    OutboxStatus,
    RegistrationSource,
    RegistrationStatus,
    Residency,
    ScheduleFrequency,
    ServiceAudience,
    ServiceKind,
    ServiceStatus,
    StaffRole,
    Vocabulary,
)

__all__ = [
    "ACTIVE_STATUSES",
    "Accommodation",
    "Admission",
    "AgeGroup",
    "ApiToken",
    "Attendance",
    "AttendanceMethod",
    "AuditLog",
    "Device",
    "DevicePairing",
    "Booking",
    "ConsultMethod",
    "CancelReason",
    "ContactReason",
    "ContactTask",
    "Event",
    "EventKind",
    "EventStatus",
    "IndicatorTarget",
    "LoginThrottle",
    "LotteryDraw",
    "Municipality",
    "Organization",
    "OrganizationKind",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "Registration",
    "RegistrationSource",
    "RegistrationStatus",
    "Residency",
    "Reminder",
    "ScheduleFrequency",
    "Service",
    "ServiceAudience",
    "ServiceClosure",
    "ServiceKind",
    "ServiceSchedule",
    "ServiceStatus",
    "Session",
    "StaffRole",
    "StaffUser",
    "Vocabulary",
    "device_events",
]
