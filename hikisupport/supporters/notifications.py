"""Mails about a certification, queued in the outbox in the caller's transaction; the
certificate PDF is drawn when the mail is sent (attachment builder `CERTIFICATE`)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from hikisupport.core.extensions import db
from hikisupport.core.urls import external_url
from hikisupport.mail.outbox import MailPart, queue, queue_many
from hikisupport.models import Certification, OutboxMessage, Person, Service
from hikisupport.supporters.certificates import certificate_pdf, verification_url

# The names under which `certificate_parts` and `certified_body` are registered with the
# outbox (in create_app).
CERTIFICATE = "supporters.certificate"
CERTIFIED_BODY = "supporters.certified_body"


def _certification_of(message: OutboxMessage) -> Certification | None:
    if message.about_type != Certification.__tablename__ or not message.about_id:
        return None
    return db.session.get(Certification, message.about_id)


def certificate_filename(certification: Certification) -> str:
    return f"certificate-{certification.number}.pdf"


def certified(certification: Certification) -> None:
    """The certification mail with the certificate attached (none without an address). Its
    text is written when it is sent (`certified_body`), like the certificate: the check-in
    that certifies holds the person's lock and does not spend it rendering templates."""
    certified_many([certification])


def certified_many(certifications: list[Certification]) -> None:
    """`certified` for several certifications at once (a batch of check-ins): one insert."""
    # Their addresses in one read, not one person each.
    ids = {c.registration.person_id for c in certifications if c.registration is not None}
    addresses = {}
    if ids:
        query = sa.select(Person.id, Person.email).where(Person.id.in_(ids))
        addresses = dict(db.session.execute(query).tuples().all())
    mails = []
    for certification in certifications:
        registration = certification.registration
        recipient = addresses.get(registration.person_id) if registration is not None else ""
        if not recipient:
            continue  # entered without an address, or imported: handed over on paper
        subject = (
            f"【修了証（訂正）】{certification.event.title}"
            if certification.replaces_id
            else f"【修了証】{certification.event.title}"
        )
        mails.append((recipient, subject, certification))
    queue_many("certified", mails, build_attachments=CERTIFICATE, build_body=CERTIFIED_BODY)


def certified_body(message: OutboxMessage) -> tuple[str, str]:
    """The certification mail's text and HTML, written when it is sent (or shown)."""
    certification = _certification_of(message)
    if certification is None:
        raise ValueError("the certification of this mail is gone")
    registration = certification.registration
    context = {
        "certification": certification,
        "event": certification.event,
        "corrected": certification.replaces_id is not None,
        "verification_url": verification_url(certification),
        "personal_url": external_url("registration.personal_page", token=registration.token),
        "directory_url": external_url("directory.directory"),
        "filename": certificate_filename(certification),
    }
    return (
        render_template("supporters/mail/certified.txt", **context),
        render_template("supporters/mail/certified.html", **context),
    )


def to_linked_supporter(
    certification: Certification, recipient: str, service: Service, subject: str, body: str
) -> None:
    """An organizer's mail to a supporter who helps at `service` (one mail per supporter)."""
    registration = certification.registration
    context = {
        "certification": certification,
        "service": service,
        "body": body,
        "service_url": external_url("directory.detail", service_id=service.id),
        "personal_url": external_url("registration.personal_page", token=registration.token)
        if registration is not None
        else "",
    }
    queue(
        kind="service_supporters",
        recipient=recipient,
        subject=subject,
        body_text=render_template("supporters/mail/service_supporters.txt", **context),
        body_html=render_template("supporters/mail/service_supporters.html", **context),
        about=certification,
    )


def certificate_parts(message: OutboxMessage) -> list[MailPart]:
    """The certificate (PDF), drawn when the mail is sent."""
    certification = _certification_of(message)
    if certification is None:
        return []
    return [
        MailPart(
            filename=certificate_filename(certification),
            content_type="application/pdf",
            data=certificate_pdf(certification),
        )
    ]
