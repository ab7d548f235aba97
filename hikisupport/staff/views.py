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
from hikisupport.core.forms import choices_from
from hikisupport.core.japanese import JST, MAX_YEAR, MIN_YEAR
from hikisupport.models import ApiToken, Organization, StaffUser
from hikisupport.staff import audit, services
from hikisupport.staff.access import forget_caller, public, requires
from hikisupport.staff.forms import LoginForm, OrganizationForm, StaffForm

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//"):
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
            result = services.authenticate(form.email.data, form.password.data)
            if result.staff is not None:
                next_url = _safe_next(request.args.get("next"))
                session.clear()  # a new session on sign-in: no fixation
                session.permanent = True
                login_user(result.staff)
                forget_caller()
                audit.record("staff.login", result.staff)
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


@bp.route("/accounts", methods=["GET", "POST"])
@requires("admin")
def accounts():
    """Staff accounts: list, add."""
    form = StaffForm()
    organizations = db.session.scalars(sa.select(Organization).order_by(Organization.id)).all()
    form.organization_id.choices = choices_from(
        {"": "（なし）"} | {str(o.id): o.name for o in organizations}
    )

    def page(refusal=None):
        staff = db.session.scalars(sa.select(StaffUser).order_by(StaffUser.id)).all()
        return render_template(
            "staff/accounts.html",
            staff=staff,
            form=form,
            organizations=db.session.scalars(
                sa.select(Organization).order_by(Organization.id)
            ).all(),
            organization_form=OrganizationForm(formdata=None),
            refusal=refusal,
        )

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 422
    answer_refusals_with(form, page)
    organization = (
        db.session.get(Organization, int(form.organization_id.data))
        if form.organization_id.data
        else None
    )
    services.create_staff(
        form.email.data, form.role.data, form.password.data, organization, name=form.name.data
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


@bp.post("/accounts/<id:staff_id>/active")
@requires("admin")
def set_active(staff_id: int):
    """Deactivate or reactivate an account."""
    staff = db.session.get(StaffUser, staff_id) or abort(404)
    answer_refusals_with(None, _back_to_accounts)
    services.set_active(staff, not staff.active, by=current_user)
    flash(f"{staff.email} を{'再開' if staff.active else '停止'}しました。", "success")
    return redirect(url_for("staff.accounts"), code=303)


def _back_to_accounts(error):
    flash(error.message, "error")
    return redirect(url_for("staff.accounts"), code=303)


@bp.get("/tokens")
@requires("admin")
def tokens():
    """API tokens (issued with `flask staff token EMAIL`): list, revoke."""
    rows = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())).all()
    return render_template("staff/tokens.html", tokens=rows)


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


AUDIT_FILTERS = ("action", "staff", "object_type", "from", "to")


def _date_filter(name: str, end: bool = False):
    value = request.args.get(name, "")[:10]
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
    """Read the audit log, filtered by action, staff, object and dates."""
    filters = audit.AuditFilter(
        action=request.args.get("action", "").strip(),
        staff=request.args.get("staff", "").strip(),
        object_type=request.args.get("object_type", "").strip(),
        start=_date_filter("from"),
        end=_date_filter("to", end=True),
    )
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    rows, has_next = audit.search(filters, page, AUDIT_PAGE_SIZE)
    shown = {k: request.args[k][:100] for k in AUDIT_FILTERS if request.args.get(k)}
    return render_template(
        "staff/audit.html",
        filters=shown,
        rows=rows,
        has_next=has_next,
        page=page,
        actions=audit.actions(),
        now=utcnow(),
    )
