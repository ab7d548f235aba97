"""Staff pages of check-in: devices (add, pair, revoke) and the ticks from the paper roster."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload

from hikisupport.checkin import services
from hikisupport.checkin.forms import DeviceForm
from hikisupport.core.database import utcnow
from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.forms import choices_from
from hikisupport.core.urls import external_url
from hikisupport.models import Device, Event, EventStatus, Session
from hikisupport.registration.tickets import ticket_qr
from hikisupport.staff.access import MANAGERS, can_manage, current_caller, managed, requires

bp = Blueprint("checkin_staff", __name__, url_prefix="/staff")


def _scope(query: sa.Select) -> sa.Select:
    caller = current_caller()
    if caller is not None and caller.role == "organizer":
        return query.where(Device.organization_id == caller.organization_id)
    return query


def _device(device_id: int) -> Device:
    device = db.session.get(Device, device_id)
    if device is None or not can_manage(device.organization_id):
        abort(404)
    return device


def _choosable_events() -> list[Event]:
    """Events a new device may be for: the caller's, not cancelled, not yet over."""
    now = utcnow()
    caller = current_caller()
    query = (
        sa.select(Event)
        .where(Event.status != EventStatus.CANCELLED)
        .options(selectinload(Event.sessions))
        .order_by(Event.id)
    )
    if caller.role == "organizer":
        query = query.where(Event.organization_id == caller.organization_id)
    return [e for e in db.session.scalars(query) if e.last_ends_at and e.last_ends_at > now]


@bp.get("/devices")
@requires(*MANAGERS)
def devices():
    """受付端末: the tablets, their events, last contact and how many check-ins each sent."""
    return render_template("checkin/staff/devices.html", lines=services.device_lines(_scope))


@bp.route("/devices/new", methods=["GET", "POST"])
@requires(*MANAGERS)
def new_device():
    """Add a device for some events; the answer shows its one-time pairing code."""
    form = DeviceForm()
    events = _choosable_events()
    form.event_ids.choices = choices_from({e.id: e.title for e in events})

    def page(refusal=None):
        return render_template("checkin/staff/new.html", form=form, refusal=refusal)

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 422
    answer_refusals_with(form, page)
    chosen = [e for e in events if e.id in set(form.event_ids.data)]
    device = services.create_device(form.name.data, chosen, created_by=current_caller().staff)
    return _pairing_page(device, services.new_pairing(device)), 201


@bp.post("/devices/<id:device_id>/pairing")
@requires(*MANAGERS, scope="organization")
def new_pairing(device_id: int):
    """A new one-time pairing code for a device (earlier unused codes stop working)."""
    device = _device(device_id)
    answer_refusals_with(None, _back_to_devices)
    return _pairing_page(device, services.new_pairing(device))


@bp.post("/devices/<id:device_id>/revoke")
@requires(*MANAGERS, scope="organization")
def revoke(device_id: int):
    """無効にする: the tablet's next request is refused and it wipes its data."""
    device = _device(device_id)
    services.revoke(device)
    flash(f"端末「{device.name}」を無効にしました。", "success")
    return redirect(url_for(".devices"), code=303)


def _pairing_page(device: Device, pairing: services.Pairing) -> str:
    url = external_url("checkin.pair") + "#code=" + pairing.code.replace("-", "")
    return render_template(
        "checkin/staff/pairing.html",
        device=device,
        code=pairing.code,
        expires_at=pairing.row.expires_at,
        url=url,
        qr=ticket_qr(url).svg_data_uri(scale=6, border=4, dark="#000", light="#fff"),
    )


def _back_to_devices(error):
    flash(error.message, "error")
    return redirect(url_for(".devices"), code=303)


# ---------------------------------------------------------------------------------------------
# The paper fallback: ticks from the printed 受付名簿, entered on the session roster


def _back_to_roster(session_id: int):
    def answer(error):
        flash(error.message, "error")
        return redirect(url_for("rosters.session_roster_page", session_id=session_id), code=303)

    return answer


def _registration_ids() -> list[int]:
    values = request.form.getlist("registration_id")[:1000]
    if not all(v.isdigit() and 0 < int(v) < 2**31 for v in values):
        abort(400)
    return [int(v) for v in values]


@bp.post("/sessions/<id:session_id>/paper")
@requires(*MANAGERS, personal_data=True, scope="organization")
def paper(session_id: int):
    """Enter the ticks of the printed 受付名簿 (method `paper`)."""
    session = managed(Session, session_id)
    answer_refusals_with(None, _back_to_roster(session_id))
    ids = _registration_ids()
    if not ids:
        flash("受付済みにする方を選んでください。", "error")
    else:
        recorded = services.record_paper(session, ids)
        flash(f"紙の受付名簿から{recorded}名を受付済みにしました。", "success")
    return redirect(url_for("rosters.session_roster_page", session_id=session_id), code=303)


@bp.post("/sessions/<id:session_id>/undo")
@requires(*MANAGERS, personal_data=True, scope="organization")
def undo(session_id: int):
    """Undo someone's check-in at the session (recorded: when and by whom)."""
    session = managed(Session, session_id)
    answer_refusals_with(None, _back_to_roster(session_id))
    ids = _registration_ids()
    if len(ids) != 1:
        flash("取り消す方を選んでください。", "error")
    else:
        registration = services.undo_for(session, ids[0])
        flash(f"{registration.full_name} さんの受付を取り消しました。", "success")
    return redirect(url_for("rosters.session_roster_page", session_id=session_id), code=303)
