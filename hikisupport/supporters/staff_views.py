"""Staff pages of the supporters area: each course's completion status (with flags for those
who can no longer complete), certify / revoke / correct by hand, cohorts for make-ups (振替),
and the certificate PDF."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for

from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.transaction import writes
from hikisupport.models import Certification, Event, EventKind, Registration
from hikisupport.staff import audit
from hikisupport.staff.access import MANAGERS, can_manage, event_for_staff, managed, requires
from hikisupport.supporters import services
from hikisupport.supporters.certificates import certificate_pdf
from hikisupport.supporters.forms import CohortForm, CorrectionForm, ReasonForm
from hikisupport.supporters.notifications import certificate_filename
from hikisupport.supporters.views import pdf_response

bp = Blueprint("staff_supporters", __name__, url_prefix="/staff")


def managed_certification(certification_id: int) -> Certification:
    certification = db.session.get(Certification, certification_id)
    if certification is None or not can_manage(
        certification.event.organization_id, certification.event_id
    ):
        abort(404)
    return certification


def _other_cohorts(event: Event) -> list[Event]:
    """Courses of the same organization with as many sessions: candidates for linking."""
    candidates = db.session.scalars(
        sa.select(Event)
        .where(
            Event.organization_id == event.organization_id,
            Event.id != event.id,
            Event.kind != EventKind.LECTURE,
        )
        .order_by(Event.id.desc())
    ).all()
    return [e for e in candidates if len(e.sessions) == len(event.sessions)]


@bp.get("/events/<id:event_id>/completion")
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
def completion(event_id: int):
    """修了の状況: attendance per registrant, make-ups possible, who to contact; certificates."""
    event = event_for_staff(event_id)
    rows = services.completion_overview(event)
    audit.record("completion.view", event, rows=len(rows))
    cohort_ids = services.cohort_event_ids(event.id)
    cohorts = [db.session.get(Event, i) for i in cohort_ids if i != event.id]
    form = CohortForm()
    form.other_event_id.choices = [
        (e.id, f"{e.title}（#{e.id}）") for e in _other_cohorts(event) if e.id not in cohort_ids
    ]
    return render_template(
        "supporters/staff/completion.html",
        event=event,
        rows=rows,
        certifications=services.certifications_of_event(event),
        cohorts=cohorts,
        cohort_form=form,
        reason_form=ReasonForm(formdata=None),
        at_risk=[r for r in rows if r.status == services.AT_RISK],
    )


def _back(event_id: int):
    def answer(error):
        flash(error.message, "error")
        return redirect(url_for(".completion", event_id=event_id), code=303)

    return answer


@bp.post("/registrations/<id:registration_id>/certify")
@requires(*MANAGERS, scope="organization")
def certify(registration_id: int):
    """Certify a registrant by hand (reason required); audited."""
    registration = managed(Registration, registration_id)
    form = ReasonForm()
    answer_refusals_with(None, _back(registration.event_id))
    if not form.validate():
        flash("認定の理由を入力してください。", "error")
        return redirect(url_for(".completion", event_id=registration.event_id), code=303)
    certification = services.certify_by_hand(registration, form.reason.data)
    flash(
        f"{registration.full_name}さんを認定しました（修了証番号 {certification.number}）。",
        "success",
    )
    return redirect(url_for(".completion", event_id=registration.event_id), code=303)


@bp.post("/certifications/<id:certification_id>/revoke")
@requires(*MANAGERS, scope="organization")
def revoke(certification_id: int):
    """Revoke a certification (reason required); the row stays, audited."""
    certification = managed_certification(certification_id)
    form = ReasonForm()
    answer_refusals_with(None, _back(certification.event_id))
    if not form.validate():
        flash("取消の理由を入力してください。", "error")
        return redirect(url_for(".completion", event_id=certification.event_id), code=303)
    services.revoke(certification, form.reason.data)
    flash(f"修了証 {certification.number} を取り消しました。", "success")
    return redirect(url_for(".completion", event_id=certification.event_id), code=303)


@bp.route("/certifications/<id:certification_id>/correct", methods=["GET", "POST"])
@requires(*MANAGERS, personal_data=True, scope="organization")
def correct(certification_id: int):
    """A corrected certificate (misspelt name): a new edition replacing the old one."""
    certification = managed_certification(certification_id)
    if certification.is_valid and not CorrectionForm().is_submitted():
        form = CorrectionForm(
            formdata=None,
            data={"family_name": certification.family_name, "given_name": certification.given_name},
        )
    else:
        form = CorrectionForm()

    def page(refusal=None):
        return render_template(
            "supporters/staff/correct.html",
            certification=certification,
            form=form,
            refusal=refusal,
        )

    if not form.is_submitted():
        return page()
    if not form.validate():
        return page(), 422
    answer_refusals_with(form, page)
    corrected = services.correct(
        certification, form.family_name.data, form.given_name.data, form.reason.data
    )
    flash(f"訂正した修了証（{corrected.number}）を発行し、メールで送ります。", "success")
    return redirect(url_for(".completion", event_id=certification.event_id), code=303)


@bp.get("/certifications/<id:certification_id>/certificate.pdf")
@requires(*MANAGERS, personal_data=True, scope="organization")
@writes  # the audit row
def certificate(certification_id: int):
    """The certificate PDF (to print and hand over); audited."""
    certification = managed_certification(certification_id)
    audit.record("certificate.download", certification, number=certification.number)
    return pdf_response(certificate_pdf(certification), certificate_filename(certification))


@bp.post("/events/<id:event_id>/cohorts")
@requires(*MANAGERS, scope="organization")
def link_cohort(event_id: int):
    """Link another cohort of the same course, so missed sessions can be made up there."""
    event = event_for_staff(event_id)
    form = CohortForm()
    form.validate()
    other = db.session.get(Event, form.other_event_id.data or 0)
    if other is None or not can_manage(other.organization_id, other.id):
        flash("結びつける講座を選んでください。", "error")
        return redirect(url_for(".completion", event_id=event_id), code=303)
    answer_refusals_with(None, _back(event_id))
    services.link_cohorts(event, other)
    flash(f"「{other.title}」と振替できるようにしました。", "success")
    return redirect(url_for(".completion", event_id=event_id), code=303)


@bp.post("/events/<id:event_id>/cohorts/unlink")
@requires(*MANAGERS, scope="organization")
def unlink_cohort(event_id: int):
    """Take this course out of its group of cohorts."""
    event = event_for_staff(event_id)
    services.unlink_cohort(event)
    flash("振替の結びつきを外しました。", "success")
    return redirect(url_for(".completion", event_id=event_id), code=303)
