"""Staff pages that change registrations: phone sign-ups, cancelling or promoting on
someone's behalf. (Reading rosters is the rosters area's.)"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hikisupport.core.errors import answer_refusals_with
from hikisupport.models import ContactTask, Registration
from hikisupport.registration import contacts, services
from hikisupport.registration.staff_forms import StaffCancelForm, StaffRegistrationForm
from hikisupport.staff.access import MANAGERS, event_for_staff, managed, requires

bp = Blueprint("staff_registrations", __name__, url_prefix="/staff")


@bp.route("/events/<id:event_id>/registrations/new", methods=["GET", "POST"])
@requires(*MANAGERS, personal_data=True, scope="organization")
def add(event_id: int):
    """Enter someone who applied by phone, 往復はがき or at the counter."""
    event = event_for_staff(event_id)
    form = StaffRegistrationForm()

    def page(refusal=None):
        return render_template(
            "registration/staff/add.html",
            event=event_for_staff(event_id),
            form=form,
            refusal=refusal,
        )

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 422
    answer_refusals_with(form, page)
    registration = services.register(
        event, form.applicant(), source=form.source.data, by_staff=True
    ).registration
    flash(
        f"{registration.full_name} さんを登録しました"
        f"（{registration.status_label}、受付番号 {registration.ticket}）。",
        "success",
    )
    return redirect(url_for("rosters.event_roster_page", event_id=event_id), code=303)


def _back_to_roster(event_id: int):
    def answer(error):
        flash(error.message, "error")
        return redirect(url_for("rosters.event_roster_page", event_id=event_id), code=303)

    return answer


@bp.route("/registrations/<id:registration_id>/cancel", methods=["GET", "POST"])
@requires(*MANAGERS, personal_data=True, scope="organization")
def cancel(registration_id: int):
    """Cancel on someone's behalf, after a confirmation with the reason; the first in line is
    promoted and mailed as usual."""
    registration = managed(Registration, registration_id)
    back = url_for("rosters.event_roster_page", event_id=registration.event_id)
    if not registration.is_active:
        flash(f"{registration.full_name} さんの申込はすでに取り消されています。", "error")
        return redirect(back, code=303)
    form = StaffCancelForm()

    def page(refusal=None):
        return render_template(
            "registration/staff/cancel.html",
            registration=registration,
            event=registration.event,
            form=form,
            refusal=refusal,
            next_in_line=services.next_in_line(registration),
        )

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 422
    answer_refusals_with(None, _back_to_roster(registration.event_id))
    promoted = services.cancel(registration, reason=form.reason_words())
    message = (
        f"{registration.full_name} さんの申込を取り消しました（理由：{form.reason_words()}）。"
    )
    if promoted:
        message += f"{promoted.full_name} さんが繰り上がりました。"
    flash(message, "success")
    return redirect(back, code=303)


@bp.post("/registrations/<id:registration_id>/promote")
@requires(*MANAGERS, personal_data=True, scope="organization")
def promote(registration_id: int):
    """Take someone off the waitlist out of turn, adding a seat for them."""
    registration = managed(Registration, registration_id)
    answer_refusals_with(None, _back_to_roster(registration.event_id))
    services.promote_with_extra_seat(registration)
    flash(f"{registration.full_name} さんを繰り上げました（定員を1名増やしました）。", "success")
    return redirect(url_for("rosters.event_roster_page", event_id=registration.event_id), code=303)


@bp.post("/contacts/<id:contact_id>/done")
@requires(*MANAGERS, personal_data=True, scope="organization")
def contact_done(contact_id: int):
    """連絡済: the person without e-mail has been told."""
    task = managed(ContactTask, contact_id)
    back = url_for("staff_events.show", event_id=task.event_id) + "#to-tell"

    def refused(error):
        flash(error.message, "error")
        return redirect(back, code=303)

    answer_refusals_with(None, refused)
    contacts.mark_done(task)
    flash(f"{task.registration.full_name} さんを連絡済にしました。", "success")
    return redirect(back, code=303)
