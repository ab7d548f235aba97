"""Public pages of the supporters area: the verification page behind a certificate's QR, and
the certificate itself from the resident's personal page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from hikisupport.core.extensions import db
from hikisupport.core.limits import per_client
from hikisupport.models import Registration
from hikisupport.supporters import services
from hikisupport.supporters.certificates import certificate_pdf
from hikisupport.supporters.notifications import certificate_filename

bp = Blueprint("supporters", __name__)


def mask_name(family_name: str) -> str:
    """「山田 ＊＊」: the family name only, so the page confirms a certificate someone holds
    without telling a stranger who is a supporter."""
    return f"{family_name or '＊＊'} ＊＊"


@bp.get("/v/<code>")
@per_client("VERIFY_RATE_LIMIT", methods=("GET",))
def verify(code: str):
    """修了証の確認: number, course, date, 有効/取消 and a masked name; nothing else.
    An unknown code runs the same query and renders the same template (the same time)."""
    certification = services.certification_by_code(code[:64])
    page = render_template(
        "supporters/verify.html",
        certification=certification,
        masked_name=mask_name(certification.family_name) if certification else "",
    )
    return page, (200 if certification else 404), {"Cache-Control": "no-store"}


@bp.get("/r/<token:token>/certificate.pdf")
def personal_certificate(token: str):
    """The resident's certificate (修了証 PDF), from their personal link."""
    registration = db.session.scalar(db.select(Registration).filter_by(token=token))
    if registration is None:
        abort(404)
    certification = services.valid_certification_for(registration)
    if certification is None:
        abort(404)
    return pdf_response(certificate_pdf(certification), certificate_filename(certification))


def pdf_response(body: bytes, filename: str):
    return (
        body,
        200,
        {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
