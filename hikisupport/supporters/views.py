"""Public pages of the supporters area: the verification page behind a certificate's QR, the
certificate itself from the resident's personal page, and the services a supporter offers to
help at (chosen on the personal page)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.limits import per_client
from hikisupport.models import Registration
from hikisupport.supporters import services
from hikisupport.supporters.certificates import certificate_pdf
from hikisupport.supporters.forms import ServiceLinksForm
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


@bp.post("/r/<token:token>/services")
def choose_services(token: str):
    """Opt in to help at the chosen 居場所・相談窓口 and out of the others (certified only)."""
    registration = db.session.scalar(db.select(Registration).filter_by(token=token))
    if registration is None:
        abort(404)
    back = redirect(url_for("registration.personal_page", token=token) + "#services", code=303)

    def refused(error):
        flash(error.message, "error")
        return back

    form = ServiceLinksForm()
    if not form.validate():
        flash("選べない相談先が含まれています。選び直してください。", "error")
        return back
    answer_refusals_with(None, refused)
    certification = services.set_linked_services(registration, form.service_ids.data or [])
    chosen = services.linked_services(certification)
    flash(
        f"協力する相談先を保存しました（{len(chosen)}か所）。"
        if chosen
        else "協力する相談先はありません（すべて取りやめました）。",
        "success",
    )
    return back


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
