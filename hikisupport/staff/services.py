"""Staff accounts: creating them, signing in with lock-out, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from hikisupport.core.database import utcnow
from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import db
from hikisupport.core.japanese import normalize_email
from hikisupport.models import ApiToken, Organization, OrganizationKind, StaffRole, StaffUser
from hikisupport.staff import audit

MAX_FAILED_LOGINS = 5
# One answer for every failure (unknown address, wrong password, locked account), so the
# login form tells nobody which addresses belong to staff.
LOGIN_FAILED = (
    "メールアドレスまたはパスワードが正しくありません。"
    "5回続けて間違えると、15分間ログインできなくなります。"
    "ログインできないときは、管理者に連絡してください。"
)
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
# Compared against when the e-mail is unknown, so both answers take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" + secrets.token_hex(8))


class StaffError(DomainError):
    """A staff-account operation refused; the message is for people (Japanese)."""

    code, status = "invalid", 422


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_organization(name: str, kind: str = OrganizationKind.NPO) -> Organization:
    organization = db.session.scalar(sa.select(Organization).filter_by(name=name))
    if organization is None:
        organization = Organization(name=name, kind=kind)
        db.session.add(organization)
        db.session.flush()
    return organization


def create_organization(name: str, kind: str) -> Organization:
    """Add the ward or a contracted NPO; a name already taken is refused."""
    if db.session.scalar(sa.select(Organization.id).filter_by(name=name)):
        raise StaffError(f"「{name}」はすでに登録されています。", field="name")
    organization = Organization(name=name, kind=kind)
    db.session.add(organization)
    db.session.flush()
    audit.record("organization.create", organization, name=organization.name)
    return organization


def set_active(staff: StaffUser, active: bool, by: StaffUser) -> None:
    """Stop or restart an account. Either way every session of it ends; restarting also
    lifts a lock-out. Nobody stops their own account (there would be no admin left to undo it)."""
    if staff.id == by.id and not active:
        raise StaffError("自分自身のアカウントは停止できません。")
    if staff.active == active:
        return
    staff.active = active
    staff.end_sessions()
    if active:
        staff.failed_logins, staff.locked_until = 0, None
    audit.record("staff.activate" if active else "staff.deactivate", staff)


def create_staff(
    email: str,
    role: str,
    password: str,
    organization: Organization | None = None,
    name: str = "",
) -> StaffUser:
    email = normalize_email(email)
    if role not in StaffRole.values():
        raise StaffError(f"役割は {', '.join(StaffRole.values())} のいずれかです。", field="role")
    if role == StaffRole.ORGANIZER and organization is None:
        raise StaffError("主催者には所属団体が必要です。", field="organization_id")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(
            f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。", field="password"
        )
    if db.session.scalar(sa.select(StaffUser.id).filter_by(email=email)):
        raise StaffError("このメールアドレスの職員はすでに登録されています。", field="email")
    staff = StaffUser(
        email=email,
        name=name,
        role=role,
        organization=organization,
        password_hash=generate_password_hash(password),
    )
    db.session.add(staff)
    db.session.flush()
    audit.record(
        "staff.create",
        staff,
        email=email,
        role=role,
        organization=organization.name if organization else None,
    )
    return staff


@dataclass
class LoginResult:
    staff: StaffUser | None
    message: str = ""


def authenticate(email: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check a password, counting failures; five in a row lock the account for 15 minutes."""
    now = now or utcnow()
    email = normalize_email(email)
    # Locked while checked: parallel guesses cannot lose each other's failure counts.
    staff = db.session.scalar(sa.select(StaffUser).filter_by(email=email).with_for_update())
    if staff is None:
        check_password_hash(_DUMMY_HASH, password)
        audit.record("staff.login_failed", staff_email=email, reason="unknown")
        return LoginResult(None, LOGIN_FAILED)
    if staff.locked_until is not None and staff.locked_until > now:
        check_password_hash(_DUMMY_HASH, password)
        audit.record("staff.login_failed", staff, staff_email=email, reason="locked")
        return LoginResult(None, LOGIN_FAILED)
    if not check_password_hash(staff.password_hash, password) or not staff.active:
        staff.failed_logins += 1
        reason = "inactive" if staff.active is False else "password"
        if staff.failed_logins >= MAX_FAILED_LOGINS:
            staff.locked_until = now + LOCKOUT
            staff.failed_logins = 0
            audit.record("staff.locked", staff, staff_email=email)
        else:
            audit.record("staff.login_failed", staff, staff_email=email, reason=reason)
        return LoginResult(None, LOGIN_FAILED)
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    return LoginResult(staff)


def issue_token(staff: StaffUser) -> str:
    """A new API token for this member of staff; the secret is returned once, never stored."""
    token = "hks_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(staff=staff, token_hash=hash_token(token), prefix=token[:8]))
    db.session.flush()
    audit.record("token.issue", staff, prefix=token[:8])
    return token


def staff_for_token(token: str) -> StaffUser | None:
    row = db.session.scalar(
        sa.select(ApiToken).filter_by(token_hash=hash_token(token), revoked_at=None)
    )
    if row is None or not row.staff.active:
        return None
    return row.staff


def revoke_token(token: ApiToken, now: datetime | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record("token.revoke", token.staff, prefix=token.prefix)
