"""Staff pages of the supporters area: each course's completion status (with flags for those
who can no longer complete), certify / revoke / correct by hand, cohorts for make-ups (振替),
and the certificate PDF."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from hikisupport.core.errors import DomainError, answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.transaction import writes
from hikisupport.models import (
    Certification,
    ErasureKind,
    Event,
    EventKind,
    Organization,
    PastCourseImport,
    Person,
    Registration,
)
from hikisupport.staff import audit
from hikisupport.staff.access import (
    ADMIN,
    MANAGERS,
    can_manage,
    event_for_staff,
    managed,
    requires,
)
from hikisupport.supporters import past_courses as past_courses_service
from hikisupport.supporters import persons, retention, services
from hikisupport.supporters.certificates import certificate_pdf
from hikisupport.supporters.forms import CohortForm, CorrectionForm, MergeForm, ReasonForm
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


# ---------------------------------------------------------------------------------------------
# Person records (admin): search, read, merge, erase on request


def _person(person_id: int) -> Person:
    return db.session.get(Person, person_id) or abort(404)


@bp.get("/persons")
@requires(ADMIN, personal_data=True)
@writes  # the audit row
def person_search():
    """人の記録: find a person by name, フリガナ, e-mail address or phone number."""
    query = request.args.get("q", "")[:100]
    found = persons.search(query) if query.strip() else []
    return render_template("supporters/staff/persons.html", query=query, found=found)


@bp.get("/persons/<id:person_id>")
@requires(ADMIN, personal_data=True)
@writes  # the audit row
def person(person_id: int):
    """One person's registrations and certifications; merge and erase from here."""
    record = persons.read(_person(person_id))
    return render_template(
        "supporters/staff/person.html",
        record=record,
        merge_form=MergeForm(formdata=None),
        erase_form=ReasonForm(formdata=None),
    )


@bp.route("/persons/<id:person_id>/merge", methods=["GET", "POST"])
@requires(ADMIN, personal_data=True)
@writes  # the preview is audited too
def merge_person(person_id: int):
    """Merge this record into another: a preview first, then with a reason."""
    duplicate = _person(person_id)
    form = MergeForm(request.form if request.method == "POST" else request.args)
    into_id = request.values.get("into_id", type=int)
    into = db.session.get(Person, into_id) if into_id and into_id < 2**31 else None

    def back(error):
        flash(error.message, "error")
        return redirect(url_for(".person", person_id=person_id), code=303)

    if into is None:
        flash("統合先の記録の番号を確かめてください。", "error")
        return redirect(
            url_for(".person", person_id=person_id), code=303 if request.method == "POST" else 302
        )
    answer_refusals_with(None, back)
    if request.method == "GET" or not form.reason.data:
        preview = persons.preview_merge(duplicate, into)
        status = 422 if request.method == "POST" else 200
        return render_template("supporters/staff/merge.html", preview=preview, form=form), status
    persons.merge(duplicate, into, form.reason.data)
    flash(f"記録 #{duplicate.id} を #{into.id} に統合しました。", "success")
    return redirect(url_for(".person", person_id=into.id), code=303)


@bp.post("/persons/<id:person_id>/erase")
@requires(ADMIN, personal_data=True)
def erase_person(person_id: int):
    """Erase a person's personal data at their request (reason required); counts unchanged."""
    target = _person(person_id)
    form = ReasonForm()

    def back(error):
        flash(error.message, "error")
        return redirect(url_for(".person", person_id=person_id), code=303)

    answer_refusals_with(None, back)
    persons.erase(target, ErasureKind.REQUEST, form.reason.data or "")
    flash("個人情報を削除しました（修了認定と集計の数は変わりません）。", "success")
    return redirect(url_for(".person", person_id=person_id), code=303)


# ---------------------------------------------------------------------------------------------
# Retention (admin)


@bp.get("/retention")
@requires(ADMIN, personal_data=True)
@writes  # the dry run is audited
def retention_page():
    """保存期間: who would be anonymised now (a dry run), and the button to do it."""
    return render_template(
        "supporters/staff/retention.html",
        candidates=retention.purge(dry_run=True),
        years=retention.retention_years(),
    )


@bp.post("/retention/purge")
@requires(ADMIN)
def retention_purge():
    """Anonymise everyone due now; the count stays as it was."""
    done = retention.purge()
    flash(f"{len(done)}名の個人情報を匿名化しました。集計の数は変わりません。", "success")
    return redirect(url_for(".retention_page"), code=303)


# ---------------------------------------------------------------------------------------------
# Past courses (admin): upload, dry run, apply


SAMPLE = Path(__file__).parent / "samples" / "past_courses.csv"


def _organizations() -> list[Organization]:
    return list(db.session.scalars(sa.select(Organization).order_by(Organization.id)))


@bp.get("/imports/past-courses")
@requires(ADMIN)
def past_courses():
    """過去の講座の取込: the columns, a sample file, the upload form."""
    return render_template(
        "supporters/staff/import.html",
        columns=past_courses_service.COLUMNS,
        required=past_courses_service.REQUIRED,
        organizations=_organizations(),
        batch=None,
        plan=None,
    )


@bp.get("/imports/past-courses/sample.csv")
@requires(ADMIN)
def past_courses_sample():
    """The sample roster (UTF-8 with BOM)."""
    return (
        b"\xef\xbb\xbf" + SAMPLE.read_bytes(),
        200,
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="past_courses_sample.csv"',
        },
    )


@bp.post("/imports/past-courses")
@requires(ADMIN, personal_data=True)
def past_courses_check():
    """The dry run: every row checked, the matches shown; nothing is created yet."""
    upload = request.files.get("file")
    organization = db.session.get(
        Organization, request.form.get("organization_id", 0, type=int) or 0
    )

    def page(refusal=None):
        return render_template(
            "supporters/staff/import.html",
            columns=past_courses_service.COLUMNS,
            required=past_courses_service.REQUIRED,
            organizations=_organizations(),
            batch=None,
            plan=None,
            refusal=refusal,
        )

    if upload is None or not upload.filename:
        return page(DomainError("名簿ファイルを選んでください。")), 422
    if organization is None:
        return page(DomainError("主催団体を選んでください。")), 422
    answer_refusals_with(None, page)
    batch, plan = past_courses_service.upload(upload.read(), upload.filename, organization)
    return render_template(
        "supporters/staff/import.html",
        columns=past_courses_service.COLUMNS,
        required=past_courses_service.REQUIRED,
        organizations=_organizations(),
        batch=batch,
        plan=plan,
    ), (200 if plan.ok else 422)


@bp.post("/imports/past-courses/<id:import_id>/apply")
@requires(ADMIN)
def past_courses_apply(import_id: int):
    """Apply a checked roster: all rows or none."""
    batch = db.session.get(PastCourseImport, import_id) or abort(404)

    def back(error):
        flash(error.message, "error")
        return redirect(url_for(".past_courses"), code=303)

    answer_refusals_with(None, back)
    created = past_courses_service.apply(batch)
    flash(
        f"取り込みました：催し{created['events']}件、出席{created['attendances']}件、"
        f"修了認定{created['certifications']}件。",
        "success",
    )
    return redirect(url_for(".past_courses"), code=303)
