"""Staff accounts: creating and changing them, signing in with throttling, API tokens.

Signing in is throttled per (typed address, client address): after a few wrong passwords that
pair waits, longer after each further failure (`throttle_delay`), while the same member of staff
signs in from their own PC as usual. Only far beyond that — many failures from many addresses —
does the account itself lock for a while; an admin can lift either at once.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from hikisupport.core.database import dialect_insert, utcnow
from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import db
from hikisupport.core.japanese import is_email, normalize_email
from hikisupport.models import (
    ApiToken,
    LoginThrottle,
    Organization,
    OrganizationKind,
    StaffRole,
    StaffUser,
)
from hikisupport.staff import audit

# One answer for every failure (unknown address, wrong password, locked account), so the
# login form tells nobody which addresses belong to staff.
LOGIN_FAILED = (
    "メールアドレスまたはパスワードが正しくありません。"
    "何度も続けて間違えると、しばらくの間この端末からログインできなくなります。"
    "ログインできないときは、管理者に連絡してください。"
)
MIN_PASSWORD_LENGTH = 12
# Failures that cost nothing for one (address, client) pair; after these the pair waits.
FREE_FAILURES = 4
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
# A pair's failures are forgotten this long after its last one.
THROTTLE_MEMORY = timedelta(hours=24)
# Compared against when the e-mail is unknown, so both answers take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" + secrets.token_hex(8))
# Temporary passwords: no 0/O, 1/l/I, read out over the phone without mistakes.
_TEMPORARY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


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


def _revoke_all_tokens(staff: StaffUser, now: datetime) -> int:
    tokens = [t for t in staff.api_tokens if t.revoked_at is None]
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def set_active(staff: StaffUser, active: bool, by: StaffUser, now: datetime | None = None) -> None:
    """Stop or restart an account. Either way every session of it ends and its API tokens are
    revoked — a restarted account gets new ones, never its old ones back. Restarting also lifts
    a lock-out. Nobody stops their own account (there would be no admin left to undo it)."""
    now = now or utcnow()
    if staff.id == by.id and not active:
        raise StaffError("自分自身のアカウントは停止できません。")
    if staff.active == active:
        return
    staff.active = active
    staff.end_sessions()
    revoked = _revoke_all_tokens(staff, now)
    if active:
        _lift_limits(staff)
    audit.record("staff.activate" if active else "staff.deactivate", staff, tokens_revoked=revoked)


def check_new_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。", field=field)
    if len(password) > 200:
        raise StaffError("パスワードは200文字以内にしてください。", field=field)


def _check_role(role: str, organization: Organization | None) -> None:
    if role not in StaffRole.values():
        raise StaffError(f"役割は {', '.join(StaffRole.values())} のいずれかです。", field="role")
    if role == StaffRole.ORGANIZER and organization is None:
        raise StaffError("主催者には所属団体が必要です。", field="organization_id")


def create_staff(
    email: str,
    role: str,
    password: str,
    organization: Organization | None = None,
    name: str = "",
) -> StaffUser:
    email = normalize_email(email)
    if not is_email(email):
        raise StaffError(
            "メールアドレスの形式が正しくありません（例：tanaka@example.lg.jp）。", field="email"
        )
    _check_role(role, organization)
    check_new_password(password)
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


def change_role(
    staff: StaffUser, role: str, organization: Organization | None, by: StaffUser
) -> None:
    """Give an account another role (and organization). Nobody changes their own: an admin
    who demoted themselves could leave the service without one."""
    if staff.id == by.id:
        raise StaffError("自分自身の役割は変更できません。", field="role")
    _check_role(role, organization)
    before = {"role": str(staff.role), "organization": _name(staff.organization)}
    staff.role = role
    staff.organization = organization
    db.session.flush()
    after = {"role": role, "organization": _name(organization)}
    if before != after:
        audit.record("staff.role_change", staff, before=before, after=after)


def _name(organization: Organization | None) -> str | None:
    return organization.name if organization is not None else None


def temporary_password() -> str:
    return "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(16))


def reset_password(staff: StaffUser, by: StaffUser) -> str:
    """An admin gives the account a temporary password (returned once, to be shown once and
    never stored in clear): every session ends, locks lift, and the member of staff must choose
    a new password when signing in with it."""
    if staff.id == by.id:
        raise StaffError("自分のパスワードは「パスワードの変更」から変更してください。")
    password = temporary_password()
    staff.password_hash = generate_password_hash(password)
    staff.must_change_password = True
    staff.end_sessions()
    _lift_limits(staff)
    audit.record("staff.password_reset", staff)
    return password


def change_own_password(staff: StaffUser, current: str, new: str, confirmation: str) -> None:
    """A member of staff chooses a new password; their other sessions end."""
    if not check_password_hash(staff.password_hash, current):
        raise StaffError("現在のパスワードが正しくありません。", field="current_password")
    check_new_password(new, field="new_password")
    if new != confirmation:
        raise StaffError("確認用のパスワードが一致しません。", field="confirmation")
    if new == current:
        raise StaffError(
            "新しいパスワードは、現在のものと違うものにしてください。", field="new_password"
        )
    staff.password_hash = generate_password_hash(new)
    staff.must_change_password = False
    staff.end_sessions()
    audit.record("staff.password_change", staff)


# ---------------------------------------------------------------------------------------------
# Signing in


@dataclass
class LoginResult:
    staff: StaffUser | None
    message: str = ""


def account_key(email: str) -> str:
    """What a throttle is keyed by: a keyed hash of the normalised address, so the table never
    holds what someone typed in the e-mail box (a password typed in the wrong box, say)."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, normalize_email(email).encode(), hashlib.sha256).hexdigest()


def throttle_delay(failures: int) -> timedelta:
    """How long a pair waits after `failures` failures in a row: nothing for the first few, then
    30 s, 1 min, 2 min … at most 15 minutes."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** (failures - FREE_FAILURES), MAX_DELAY)


def lock_after() -> int:
    """Failures from all addresses together after which the account itself locks."""
    return current_app.config["LOGIN_LOCK_FAILURES"]


def lock_duration() -> timedelta:
    return timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def _throttle_for(key: str, client: str, now: datetime) -> LoginThrottle:
    """The pair's row, locked until the transaction ends (created if new)."""
    db.session.execute(
        dialect_insert(db.engine.dialect.name, LoginThrottle)
        .values(account_key=key, client=client, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["account_key", "client"])
    )
    row = db.session.scalar(
        sa.select(LoginThrottle)
        .filter_by(account_key=key, client=client)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row.failures and row.last_failure_at < now - THROTTLE_MEMORY:
        row.failures, row.blocked_until = 0, None
    return row


def _waiting_message(until: datetime, now: datetime) -> str:
    seconds = max(math.ceil((until - now).total_seconds()), 1)
    wait = f"{seconds}秒" if seconds < 60 else f"{(seconds + 59) // 60}分"
    return (
        "ログインの失敗が続いたため、この端末からは、しばらくログインできません。"
        f"約{wait}後に、もう一度お試しください。"
        "急ぐときは、管理者に連絡して制限を解除してもらってください。"
    )


def _fail(throttle: LoginThrottle, staff: StaffUser | None, now: datetime, reason: str) -> None:
    throttle.failures += 1
    throttle.last_failure_at = now
    throttle.staff_id = staff.id if staff is not None else None
    delay = throttle_delay(throttle.failures)
    if delay:
        throttle.blocked_until = now + delay
    # What failed, never what was typed: an unknown address leaves no text behind.
    audit.record(
        "staff.login_failed",
        staff,
        reason=reason,
        failures_from_this_address=throttle.failures,
    )
    if staff is None:
        return
    if throttle.failures == FREE_FAILURES:
        audit.record("staff.throttled", staff, client=throttle.client, until=str(now + delay))
    staff.failed_logins += 1
    if staff.failed_logins >= lock_after() and not staff.is_locked(now):
        staff.locked_until = now + lock_duration()
        audit.record("staff.locked", staff, failures=staff.failed_logins)


def authenticate(
    email: str, password: str, client: str = "", now: datetime | None = None
) -> LoginResult:
    """Check a password for a sign-in from `client` (the client's address)."""
    now = now or utcnow()
    email = normalize_email(email)
    throttle = _throttle_for(account_key(email), client[:45], now)
    if throttle.blocked_until is not None and throttle.blocked_until > now:
        # Not even checked: while a pair waits, its guesses cost the guesser and count nowhere.
        return LoginResult(None, _waiting_message(throttle.blocked_until, now))
    # Locked while checked: parallel guesses cannot lose each other's failure counts.
    staff = db.session.scalar(sa.select(StaffUser).filter_by(email=email).with_for_update())
    if staff is None:
        check_password_hash(_DUMMY_HASH, password)
        _fail(throttle, None, now, "unknown")
        return LoginResult(None, LOGIN_FAILED)
    if staff.is_locked(now):
        check_password_hash(_DUMMY_HASH, password)
        _fail(throttle, staff, now, "locked")
        return LoginResult(None, LOGIN_FAILED)
    if not check_password_hash(staff.password_hash, password) or not staff.active:
        _fail(throttle, staff, now, "password" if staff.active else "inactive")
        return LoginResult(None, LOGIN_FAILED)
    db.session.delete(throttle)
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    return LoginResult(staff)


def _lift_limits(staff: StaffUser) -> int:
    staff.failed_logins, staff.locked_until = 0, None
    result = db.session.execute(
        sa.delete(LoginThrottle).where(
            sa.or_(
                LoginThrottle.staff_id == staff.id,
                LoginThrottle.account_key == account_key(staff.email),
            )
        )
    )
    return result.rowcount


def unlock(staff: StaffUser) -> None:
    """An admin lifts the account's lock and every address's wait for it."""
    was_locked = staff.locked_until
    lifted = _lift_limits(staff)
    audit.record("staff.unlock", staff, was_locked=bool(was_locked), throttles_lifted=lifted)


@dataclass
class LockOut:
    staff: StaffUser
    client: str  # "" for the account's own lock
    failures: int
    until: datetime | None
    last_failure_at: datetime | None


def recent_lockouts(now: datetime | None = None) -> list[LockOut]:
    """Accounts locked now, and addresses that had to wait for an account in the last day."""
    now = now or utcnow()
    found = [
        LockOut(staff, "", staff.failed_logins, staff.locked_until, None)
        for staff in db.session.scalars(
            sa.select(StaffUser).where(StaffUser.locked_until > now).order_by(StaffUser.id)
        )
    ]
    throttles = db.session.scalars(
        sa.select(LoginThrottle)
        .where(
            LoginThrottle.staff_id.is_not(None),
            LoginThrottle.failures >= FREE_FAILURES,
            LoginThrottle.last_failure_at > now - THROTTLE_MEMORY,
        )
        .order_by(LoginThrottle.last_failure_at.desc())
        .limit(100)
    )
    found += [
        LockOut(t.staff, t.client, t.failures, t.blocked_until, t.last_failure_at)
        for t in throttles
    ]
    return found


# ---------------------------------------------------------------------------------------------
# API tokens


TOKEN_PREFIX = "hks_"  # noqa: S105 - a prefix, not a secret


def issue_token(staff: StaffUser) -> str:
    """A new API token for this member of staff; the secret is returned once, never stored."""
    if not staff.active:
        raise StaffError("停止中のアカウントにはトークンを発行できません。")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(staff=staff, token_hash=hash_token(token), prefix=token[:8]))
    db.session.flush()
    audit.record("token.issue", staff, prefix=token[:8])
    return token


def staff_for_token(token: str) -> StaffUser | None:
    """The active member of staff with this API token, or None. Every staff token begins with
    TOKEN_PREFIX (a device's with another): any other is not looked up."""
    if not token.startswith(TOKEN_PREFIX):
        return None
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
