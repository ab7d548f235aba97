"""Staff accounts: login with lock-out, hashed passwords, logout, CLI, API tokens."""

from datetime import timedelta

import sqlalchemy as sa

from conftest import csrf_from, csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import ApiToken, AuditLog, StaffUser

PASSWORD = "correct horse battery"


def create(runner, email="ward@example.jp", role="organizer", org="杉並区"):
    args = ["staff", "create", email, "--role", role, "--password", PASSWORD]
    if org:
        args += ["--organization", org]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return db.session.scalar(sa.select(StaffUser).filter_by(email=email))


def login(client, email, password):
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    return client.post(
        "/staff/login", data={"email": email, "password": password, "csrf_token": token}
    )


def test_cli_creates_staff_with_a_hashed_password(runner, app):
    staff = create(runner)
    assert staff.role == "organizer" and staff.organization.name == "杉並区"
    assert PASSWORD not in staff.password_hash
    assert staff.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_cli_refuses_a_short_password_and_an_organizer_without_organization(runner, app):
    short = runner.invoke(
        args=["staff", "create", "a@example.jp", "--role", "admin", "--password", "short"]
    )
    assert short.exit_code != 0 and "12文字以上" in short.output
    lonely = runner.invoke(
        args=["staff", "create", "b@example.jp", "--role", "organizer", "--password", PASSWORD]
    )
    assert lonely.exit_code != 0 and "所属団体" in lonely.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 0


def test_login_and_logout(runner, client):
    create(runner)
    response = login(client, "WARD@example.jp ", PASSWORD)  # typed loosely: still found
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert client.get("/staff/events/").status_code == 200
    logout = client.post("/staff/logout", data={"csrf_token": csrf_of(client)})
    assert logout.status_code == 303
    assert client.get("/staff/events/").status_code == 302
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["staff.login", "staff.logout"]


def test_login_redirects_only_within_the_site(runner, client):
    create(runner)
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    response = client.post(
        "/staff/login?next=//evil.example/x",
        data={"email": "ward@example.jp", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/staff/"


def test_wrong_password_is_refused_in_japanese(runner, client):
    create(runner)
    response = login(client, "ward@example.jp", "wrong password!!")
    assert response.status_code == 422
    assert "メールアドレスまたはパスワードが正しくありません。" in response.get_data(as_text=True)
    assert client.get("/staff/events/").status_code == 302


def test_unknown_email_gets_the_same_answer(runner, client):
    response = login(client, "nobody@example.jp", "whatever password")
    assert response.status_code == 422
    assert "メールアドレスまたはパスワードが正しくありません。" in response.get_data(as_text=True)


def test_five_failures_lock_the_account_with_a_clear_message(runner, client):
    staff = create(runner)
    for _ in range(4):
        assert login(client, "ward@example.jp", "wrong password!!").status_code == 422
    fifth = login(client, "ward@example.jp", "wrong password!!").get_data(as_text=True)
    assert "5回続けて間違えると、15分間ログインできなくなります。" in fifth
    # Even the right password is refused while locked, with the same answer as any failure
    # (the form does not tell which addresses are staff).
    locked = login(client, "ward@example.jp", PASSWORD)
    assert locked.status_code == 422
    assert locked.get_data(as_text=True).count("15分間ログインできなくなります") == 1
    assert (
        login(client, "nobody@example.jp", "x" * 12)
        .get_data(as_text=True)
        .count("15分間ログインできなくなります")
        == 1
    )
    db.session.refresh(staff)
    assert staff.locked_until > utcnow()
    # After the lock-out period the right password works again.
    db.session.refresh(staff)
    staff.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, "ward@example.jp", PASSWORD).status_code == 303
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert "staff.locked" in actions


def test_a_deactivated_account_cannot_log_in(runner, client, app):
    staff = create(runner)
    staff.active = False
    db.session.commit()
    assert login(client, "ward@example.jp", PASSWORD).status_code == 422


def test_a_copied_session_cookie_is_worthless_after_logout(runner, client, app):
    create(runner)
    login(client, "ward@example.jp", PASSWORD)
    copied = client.get_cookie("session").value
    client.post("/staff/logout", data={"csrf_token": csrf_of(client)})
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/staff/events/").status_code == 302


def test_login_starts_a_new_session(runner, client):
    create(runner)
    client.get("/staff/login")
    before = client.get_cookie("session").value
    login(client, "ward@example.jp", PASSWORD)
    assert client.get_cookie("session").value != before


def test_api_token_from_the_cli_works_and_can_be_revoked(runner, client, login_as, app):
    staff = create(runner)
    result = runner.invoke(args=["staff", "token", "ward@example.jp"])
    assert result.exit_code == 0
    token = result.output.split()[-1]
    assert len(token) >= 40
    row = db.session.scalar(sa.select(ApiToken))
    assert token not in row.token_hash  # only the hash is stored
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/events/1", headers=headers).status_code == 404  # known, no event
    assert client.get("/api/v1/events/1").status_code == 401
    # Bearer tokens are for the API only, never for pages.
    assert client.get("/staff/events/", headers=headers).status_code == 302

    admin = db.session.get(StaffUser, staff.id)
    admin.role, admin.organization_id = "admin", None
    db.session.commit()
    page = login_as(admin)
    response = page.post(f"/staff/tokens/{row.id}/revoke", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303
    assert client.get("/api/v1/events/1", headers=headers).status_code == 401


def test_admin_adds_and_deactivates_staff(staff_world, login_as):
    admin = login_as(staff_world.admin)
    token = csrf_of(admin)
    response = admin.post(
        "/staff/accounts",
        data={
            "email": "new@example.jp",
            "name": "新人",
            "role": "organizer",
            "organization_id": str(staff_world.ward.id),
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    new = db.session.scalar(sa.select(StaffUser).filter_by(email="new@example.jp"))
    assert new.organization_id == staff_world.ward.id
    short = admin.post(
        "/staff/accounts",
        data={"email": "x@example.jp", "role": "admin", "password": "short", "csrf_token": token},
    )
    assert short.status_code == 422 and "12文字以上" in short.get_data(as_text=True)
    admin.post(f"/staff/accounts/{new.id}/active", data={"csrf_token": token})
    db.session.refresh(new)
    assert new.active is False
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert {"staff.create", "staff.deactivate"} <= set(actions)


def test_admin_adds_an_organization_for_a_new_npo(staff_world, login_as):
    from hikisupport.models import Organization

    admin = login_as(staff_world.admin)
    token = csrf_of(admin)
    response = admin.post(
        "/staff/organizations",
        data={"name": "NPO法人 ひだまり（委託先）", "kind": "npo", "csrf_token": token},
    )
    assert response.status_code == 303
    added = db.session.scalar(sa.select(Organization).filter_by(name="NPO法人 ひだまり（委託先）"))
    assert added.kind == "npo"  # 全角 brackets kept
    again = admin.post(
        "/staff/organizations",
        data={"name": "NPO法人 ひだまり（委託先）", "kind": "npo", "csrf_token": token},
        follow_redirects=True,
    )
    assert "すでに登録されています" in again.get_data(as_text=True)
    assert "organization.create" in db.session.scalars(sa.select(AuditLog.action)).all()
