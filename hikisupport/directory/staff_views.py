"""Staff pages for the directory: list, create, edit, pause / unpublish, 確認済み, the reminder
list, the CSV (export; import with a dry run first), and the supporters linked to each service
(their list, and a mail to them). Admins and organizers only; every change, every export and
every read of the supporters is audited by the service function that makes it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hikisupport.core.database import utcnow
from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.transaction import writes
from hikisupport.directory import services, transfer
from hikisupport.directory.forms import ImportForm, ServiceForm, form_data_of
from hikisupport.directory.transfer import ImportRefused
from hikisupport.models import ServiceStatus
from hikisupport.rosters.services import Purpose, service_supporters
from hikisupport.staff.access import MANAGERS, requires
from hikisupport.supporters import services as supporters
from hikisupport.supporters.forms import SupporterMailForm

bp = Blueprint("staff_directory", __name__, url_prefix="/staff/directory")

MAX_IMPORT_BYTES = 2 * 1024 * 1024


@bp.get("/")
@requires(*MANAGERS)
def index():
    """Every entry with its status and 最終確認日."""
    today = services.today_in_japan()
    stale = {s.id for s in services.stale_services(today)}
    return render_template(
        "directory/staff/index.html",
        entries=services.all_services(),
        stale=stale,
        supporter_counts=supporters.linked_counts(),
        interval=services.CHECK_INTERVAL_DAYS,
    )


def _edit_page(form, service=None):
    return render_template("directory/staff/edit.html", form=form, service=service)


def _grow(form) -> bool:
    """「行を追加」 buttons: one more blank rule or closure row, nothing saved."""
    if "add_schedule" in request.form:
        form.schedules.append_entry()
        return True
    if "add_closure" in request.form:
        form.closures.append_entry()
        return True
    return False


@bp.route("/new", methods=["GET", "POST"])
@requires(*MANAGERS)
def new():
    """Add an entry (相談窓口, 居場所 …) with its opening rules."""
    if request.method == "GET":
        form = ServiceForm(data={"last_checked_on": services.today_in_japan()})
        return _edit_page(form)
    form = ServiceForm()
    if _grow(form):
        return _edit_page(form)
    if not form.validate():
        return _edit_page(form), 422
    answer_refusals_with(form, lambda refusal: _edit_page(form))
    service = services.create_service(form.to_input())
    flash("相談先を登録しました。", "success")
    return redirect(url_for(".edit", service_id=service.id), code=303)


@bp.route("/<id:service_id>/edit", methods=["GET", "POST"])
@requires(*MANAGERS)
def edit(service_id: int):
    """Change an entry, its rules and its dated closures."""
    service = services.staff_service(service_id)
    if request.method == "GET":
        form = ServiceForm(data=form_data_of(service))
        return _edit_page(form, service)
    form = ServiceForm()
    if _grow(form):
        return _edit_page(form, service)
    if not form.validate():
        return _edit_page(form, service), 422
    answer_refusals_with(form, lambda refusal: _edit_page(form, service))
    services.update_service(service, form.to_input())
    flash("変更を保存しました。", "success")
    return redirect(url_for(".edit", service_id=service_id), code=303)


def _back(service_id: int):
    def answer(error):
        flash(error.message, "error")
        return redirect(url_for(".edit", service_id=service_id), code=303)

    return answer


STATUS_MESSAGES = {
    ServiceStatus.PUBLISHED: "公開しました。",
    ServiceStatus.PAUSED: "一時休止にしました（一覧には「一時休止中」と表示されます）。",
    ServiceStatus.CLOSED: "終了にしました（区民向けのページには表示されません）。",
}


@bp.post("/<id:service_id>/status")
@requires(*MANAGERS)
def change_status(service_id: int):
    """公開 / 一時休止 / 終了 (unpublish)."""
    service = services.staff_service(service_id)
    answer_refusals_with(None, _back(service_id))
    status = request.form.get("status", "")[:20]
    services.set_status(service, status)
    flash(STATUS_MESSAGES[ServiceStatus(status)], "success")
    return redirect(url_for(".edit", service_id=service_id), code=303)


@bp.post("/<id:service_id>/checked")
@requires(*MANAGERS)
def checked(service_id: int):
    """最終確認日 = today: the entry was confirmed with the service."""
    service = services.staff_service(service_id)
    services.mark_checked(service, services.today_in_japan())
    flash("最終確認日を今日にしました。", "success")
    target = request.form.get("next") == "reminders"
    return redirect(url_for(".reminders" if target else ".edit", service_id=service_id), code=303)


@bp.get("/reminders")
@requires(*MANAGERS)
def reminders():
    """Entries not confirmed for 180 days, oldest first."""
    today = services.today_in_japan()
    return render_template(
        "directory/staff/reminders.html",
        entries=services.stale_services(today),
        today=today,
        interval=services.CHECK_INTERVAL_DAYS,
    )


@bp.get("/export.csv")
@requires(*MANAGERS)
@writes  # the audit row
def export():
    """The whole directory as CSV (UTF-8 with BOM), to edit and import again."""
    body = transfer.export_csv()
    name = f"directory_{utcnow():%Y%m%d}.csv"
    return (
        body,
        200,
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


def _import_page(form, plan=None, problems=None, csv_text="", status=200):
    page = render_template(
        "directory/staff/import.html",
        form=form,
        plan=plan,
        problems=problems or [],
        csv_text=csv_text,
        headers=transfer.HEADERS,
        max_kb=MAX_IMPORT_BYTES // 1024,
    )
    return page, status


@bp.route("/import", methods=["GET", "POST"])
@requires(*MANAGERS)
def import_csv():
    """CSV import: a dry run shows what would change; 「取り込む」 applies all rows or none."""
    form = ImportForm()
    if request.method == "GET":
        return _import_page(form)
    if not form.validate():
        return _import_page(form, status=422)
    confirm = request.form.get("confirm") == "1"
    if confirm:
        body = (form.csv_text.data or "").encode("utf-8")
    else:
        upload = request.files.get("file")
        body = upload.read(MAX_IMPORT_BYTES + 1) if upload else b""
    if not body:
        problems = [transfer.RowProblem(1, "CSVファイルを選んでください。")]
        return _import_page(form, problems=problems, status=422)
    if len(body) > MAX_IMPORT_BYTES:
        problems = [transfer.RowProblem(1, "ファイルが大きすぎます（2MBまで）。")]
        return _import_page(form, problems=problems, status=413)
    try:
        plan = transfer.import_csv(body, dry_run=not confirm)
    except ImportRefused as refused:
        return _import_page(form, problems=refused.problems, status=422)
    if confirm:
        flash(
            f"取り込みました：新規{len(plan.created)}件、変更{len(plan.updated)}件、"
            f"変更なし{plan.unchanged}件。",
            "success",
        )
        return redirect(url_for(".index"), code=303)
    text = body.decode("utf-8-sig")
    return _import_page(form, plan=plan, csv_text=text)


# ---------------------------------------------------------------------------------------------
# Supporters linked to a service


@bp.get("/<id:service_id>/supporters")
@requires(*MANAGERS, personal_data=True)
@writes  # the audit row
def linked_supporters(service_id: int):
    """The certified supporters who offered to help at the service (a roster: audited)."""
    service = services.staff_service(service_id)
    return render_template(
        "directory/staff/supporters.html",
        service=service,
        rows=service_supporters(service, Purpose.VIEW),
    )


def _mail_html(service, form, confirming=False, refusal=None) -> str:
    return render_template(
        "directory/staff/supporters_mail.html",
        service=service,
        form=form,
        confirming=confirming,
        refusal=refusal,
        count=supporters.linked_count(service),
    )


def _mail_page(service, form, confirming=False, status=200):
    return _mail_html(service, form, confirming), status


@bp.route("/<id:service_id>/supporters/mail", methods=["GET", "POST"])
@requires(*MANAGERS, personal_data=True)
def mail_supporters(service_id: int):
    """A mail to every supporter linked to the service (e.g. a follow-up training): written,
    confirmed, then queued in the outbox (one mail each)."""
    service = services.staff_service(service_id)
    form = SupporterMailForm()
    if request.method == "GET":
        return _mail_page(service, form)
    if not form.validate():
        return _mail_page(service, form, status=422)
    if request.form.get("confirm") != "1" or "back" in request.form:
        return _mail_page(service, form, confirming="back" not in request.form)

    answer_refusals_with(form, lambda refusal: _mail_html(service, form, refusal=refusal))
    mailing = supporters.mail_linked_supporters(service, form.subject.data, form.body.data)
    message = f"{mailing.queued}名にメールを送信します（送信待ちに入れました）。"
    if mailing.without_address:
        message += f"メールアドレスのない{mailing.without_address}名には送っていません。"
    flash(message, "success")
    return redirect(url_for(".linked_supporters", service_id=service_id), code=303)
