"""Staff pages: sign in and out, the staff home, accounts and tokens, the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from hikisupport.core.database import utcnow
from hikisupport.core.errors import answer_refusals_with
from hikisupport.core.extensions import db
from hikisupport.core.forms import choices_from, query_text
from hikisupport.core.japanese import JST, MAX_YEAR, MIN_YEAR, has_control_characters
from hikisupport.core.routing import parse_id
from hikisupport.models import ApiToken, Organization, StaffUser
from hikisupport.staff import audit, services
from hikisupport.staff.access import POLICY, current_caller, forget_caller, public, requires
from hikisupport.staff.forms import (
    LoginForm,
    OrganizationForm,
    PasswordChangeForm,
    RoleForm,
    StaffForm,
    TokenForm,
)

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect (``//host``, ``/\\host``, which browsers
    read as ``//host``), never a header injection (control characters, spaces)."""
    if (
        target
        and len(target) <= 2000
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not has_control_characters(target)
        and not any(ch.isspace() for ch in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("staff.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with e-mail and password."""
    form = LoginForm()
    error = None
    if request.method == "POST":
        if form.validate():
            result = services.authenticate(
                form.email.data, form.password.data, client=request.remote_addr or ""
            )
            if result.staff is not None:
                next_url = _safe_next(request.args.get("next"))
                session.clear()  # a new session on sign-in: no fixation
                session.permanent = True
                login_user(result.staff)
                forget_caller()
                audit.record("staff.login", result.staff)
                if result.staff.must_change_password:
                    next_url = url_for("staff.password")
                return redirect(next_url, code=303)
            error = result.message  # the failure counter and its audit row are kept
        return render_template("staff/login.html", form=form, error=error), 422
    return render_template("staff/login.html", form=form, error=error)


@bp.post("/logout")
@requires()
def logout():
    """Sign out."""
    staff = current_user._get_current_object()
    staff.end_sessions()  # a copied cookie stops working too
    audit.record("staff.logout", staff)
    logout_user()
    forget_caller()
    session.clear()
    flash("ログアウトしました。", "success")
    return redirect(url_for("staff.login"), code=303)


@bp.get("/")
@requires()
def home():
    """The staff start page: events of one's organization (aggregates only for policy)."""
    return redirect(url_for("staff_events.index"))


# ---------------------------------------------------------------------------------------------
# Accounts (admin)


def _organization_choices(form_field) -> list[Organization]:
    organizations = db.session.scalars(sa.select(Organization).order_by(Organization.id)).all()
    form_field.choices = choices_from({"": "（なし）"} | {str(o.id): o.name for o in organizations})
    return organizations


def _chosen_organization(value: str) -> Organization | None:
    organization_id = parse_id(value)
    return db.session.get(Organization, organization_id) if organization_id else None


@bp.route("/accounts", methods=["GET", "POST"])
@requires("admin")
def accounts():
    """Staff accounts: list, add; recent lock-outs."""
    form = StaffForm()
    organizations = _organization_choices(form.organization_id)

    def page(refusal=None):
        staff = db.session.scalars(sa.select(StaffUser).order_by(StaffUser.id)).all()
        return render_template(
            "staff/accounts.html",
            staff=staff,
            form=form,
            organizations=organizations,
            organization_form=OrganizationForm(formdata=None),
            lockouts=services.recent_lockouts(),
            refusal=refusal,
        )

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 422
    answer_refusals_with(form, page)
    services.create_staff(
        form.email.data,
        form.role.data,
        form.password.data,
        _chosen_organization(form.organization_id.data),
        name=form.name.data,
    )
    flash(f"{form.email.data} を登録しました。", "success")
    return redirect(url_for("staff.accounts"), code=303)


@bp.post("/organizations")
@requires("admin")
def add_organization():
    """Add the ward or a contracted NPO, so its organizers can be given accounts."""
    form = OrganizationForm()
    if not form.validate():
        flash(
            "団体名を確認してください："
            + "、".join(message for field in form for message in field.errors),
            "error",
        )
        return redirect(url_for("staff.accounts"), code=303)

    answer_refusals_with(None, _back_to_accounts)
    organization = services.create_organization(form.name.data, form.kind.data)
    flash(f"「{organization.name}」を追加しました。", "success")
    return redirect(url_for("staff.accounts"), code=303)


def _account_page(staff: StaffUser, form: RoleForm, refusal=None):
    return render_template(
        "staff/account.html",
        member=staff,
        form=form,
        lockouts=[lock for lock in services.recent_lockouts() if lock.staff.id == staff.id],
        refusal=refusal,
    )


def _role_form(staff: StaffUser, formdata=None) -> RoleForm:
    form = RoleForm(
        formdata=formdata,
        data={"role": str(staff.role), "organization_id": str(staff.organization_id or "")},
    )
    _organization_choices(form.organization_id)
    return form


@bp.get("/accounts/<id:staff_id>")
@requires("admin")
def account(staff_id: int):
    """One account: role, password reset, lock, stop or restart."""
    staff = db.session.get(StaffUser, staff_id) or abort(404)
    return _account_page(staff, _role_form(staff, formdata=None))


@bp.post("/accounts/<id:staff_id>/role")
@requires("admin")
def change_role(staff_id: int):
    """Give the account another role (and organization)."""
    staff = db.session.get(StaffUser, staff_id) or abort(404)
    form = _role_form(staff, formdata=request.form)
    if not form.validate():
        return _account_page(staff, form), 422
    answer_refusals_with(form, lambda refusal: _account_page(staff, form, refusal))
    services.change_role(
        staff, form.role.data, _chosen_organization(form.organization_id.data), by=current_user
    )
    flash(f"{staff.email} の役割を「{staff.role_label}」にしました。", "success")
    return redirect(url_for("staff.account", staff_id=staff.id), code=303)


@bp.post("/accounts/<id:staff_id>/password")
@requires("admin")
def reset_password(staff_id: int):
    """A temporary password, shown once on the answer to this request and nowhere else."""
    staff = db.session.get(StaffUser, staff_id) or abort(404)
    answer_refusals_with(None, _back_to_account(staff_id))
    password = services.reset_password(staff, by=current_user)
    return render_template("staff/temporary_password.html", member=staff, password=password)


@bp.post("/accounts/<id:staff_id>/unlock")
@requires("admin")
def unlock(staff_id: int):
    """Lift the account's lock and every address's wait for it."""
    staff = db.session.get(StaffUser, staff_id) or abort(404)
    services.unlock(staff)
    flash(f"{staff.email} のログイン制限を解除しました。", "success")
    back = request.form.get("back") == "accounts"
    return redirect(
        url_for("staff.accounts") if back else url_for("staff.account", staff_id=staff.id),
        code=303,
    )


@bp.post("/accounts/<id:staff_id>/active")
@requires("admin")
def set_active(staff_id: int):
    """Deactivate or reactivate an account."""
    staff = db.session.get(StaffUser, staff_id) or abort(404)
    answer_refusals_with(None, _back_to_account(staff_id))
    services.set_active(staff, not staff.active, by=current_user)
    flash(f"{staff.email} を{'再開' if staff.active else '停止'}しました。", "success")
    return redirect(url_for("staff.account", staff_id=staff.id), code=303)


def _back_to_accounts(error):
    flash(error.message, "error")
    return redirect(url_for("staff.accounts"), code=303)


def _back_to_account(staff_id: int):
    def answer(error):
        flash(error.message, "error")
        return redirect(url_for("staff.account", staff_id=staff_id), code=303)

    return answer


@bp.route("/password", methods=["GET", "POST"])
@requires()
def password():
    """Change one's own password; one's other sessions end."""
    form = PasswordChangeForm()
    staff = current_user._get_current_object()

    def page(refusal=None):
        return render_template("staff/password.html", form=form, refusal=refusal)

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 422
    answer_refusals_with(form, page)
    services.change_own_password(
        staff, form.current_password.data, form.new_password.data, form.confirmation.data
    )
    # This session goes on (with the new session version); every other one has ended.
    login_user(staff)
    forget_caller()
    flash("パスワードを変更しました。ほかの端末のログインは終了しました。", "success")
    return redirect(url_for("staff.home"), code=303)


def _token_form() -> TokenForm:
    form = TokenForm()
    members = db.session.scalars(
        sa.select(StaffUser).where(StaffUser.active).order_by(StaffUser.id)
    ).all()
    form.staff_id.choices = choices_from(
        {str(m.id): f"{m.email}（{m.role_label}）" for m in members}
    )
    return form


@bp.route("/tokens", methods=["GET", "POST"])
@requires("admin")
def tokens():
    """API tokens: issue one (shown once), list, revoke."""
    form = _token_form()

    def page(refusal=None, issued=None, issued_for=None):
        rows = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())).all()
        return render_template(
            "staff/tokens.html",
            tokens=rows,
            form=form,
            issued=issued,
            issued_for=issued_for,
            refusal=refusal,
        )

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 422
    staff = db.session.get(StaffUser, parse_id(form.staff_id.data)) or abort(404)
    answer_refusals_with(form, page)
    token = services.issue_token(staff)
    # Shown in this answer only (never flashed: the session cookie is readable by its holder).
    return page(issued=token, issued_for=staff)


@bp.post("/tokens/<id:token_id>/revoke")
@requires("admin")
def revoke_token(token_id: int):
    """Revoke an API token at once."""
    token = db.session.get(ApiToken, token_id) or abort(404)
    services.revoke_token(token)
    flash(f"トークン {token.prefix}… を無効にしました。", "success")
    return redirect(url_for("staff.tokens"), code=303)


# ---------------------------------------------------------------------------------------------
# The audit log (admin, read only)

AUDIT_PAGE_SIZE = 100


AUDIT_FILTERS = ("action", "staff", "target", "object_type", "from", "to")


def _date_filter(name: str, end: bool = False):
    value = query_text(request.args, name, 10)
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=JST)
    except ValueError:
        return None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        return None
    return day + timedelta(days=1) if end else day


@bp.get("/audit")
@requires("admin")
def audit_log():
    """Read the audit log in words, filtered by action, staff, what it was about and dates."""
    names = current_caller().role != POLICY  # the policy role never sees a name
    filters = audit.AuditFilter(
        action=query_text(request.args, "action", 50),
        staff=query_text(request.args, "staff", 254),
        target=query_text(request.args, "target", 100) if names else "",
        object_type=query_text(request.args, "object_type", 30),
        start=_date_filter("from"),
        end=_date_filter("to", end=True),
    )
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    rows, has_next = audit.search(filters, page, AUDIT_PAGE_SIZE, names=names)
    shown = {k: request.args[k][:100] for k in AUDIT_FILTERS if request.args.get(k)}
    return render_template(
        "staff/audit.html",
        filters=shown,
        entries=audit.describe(rows, names=names),
        names=names,
        has_next=has_next,
        page=page,
        actions=audit.actions(),
        now=utcnow(),
    )
