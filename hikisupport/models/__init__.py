"""All models, importable from one place (``from hikisupport.models import Event``)."""

from hikisupport.models.attendance import Attendance, Reminder
from hikisupport.models.audit import AuditLog
from hikisupport.models.events import Event, Session
from hikisupport.models.lottery import LotteryDraw
from hikisupport.models.mail import OutboxMessage
from hikisupport.models.people import Person
from hikisupport.models.registrations import Registration
from hikisupport.models.settings import IndicatorTarget, Municipality
from hikisupport.models.staff import ApiToken, Organization, StaffUser
from hikisupport.models.supporters import (
    CertificateCounter,
    Certification,
    CertificationAttendance,
    CourseCohort,
    CourseSeries,
    PastCourseImport,
    PersonErasure,
    PersonMerge,
    certificate_number,
)
from hikisupport.models.vocabulary import (
    ACTIVE_STATUSES,
    Accommodation,
    Admission,
    AgeGroup,
    AttendanceMethod,
    CertificationSource,
    ErasureKind,
    EventKind,
    EventStatus,
    OrganizationKind,
    OutboxStatus,
    RegistrationSource,
    RegistrationStatus,
    Residency,
    Revocation,
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
    "CertificateCounter",
    "Certification",
    "CertificationAttendance",
    "CertificationSource",
    "CourseCohort",
    "CourseSeries",
    "ErasureKind",
    "Event",
    "EventKind",
    "EventStatus",
    "IndicatorTarget",
    "LotteryDraw",
    "Municipality",
    "Organization",
    "OrganizationKind",
    "OutboxMessage",
    "OutboxStatus",
    "PastCourseImport",
    "Person",
    "PersonErasure",
    "PersonMerge",
    "Registration",
    "RegistrationSource",
    "RegistrationStatus",
    "Residency",
    "Reminder",
    "Revocation",
    "Session",
    "StaffRole",
    "StaffUser",
    "Vocabulary",
    "certificate_number",
]
