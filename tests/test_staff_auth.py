"""Staff accounts: login with lock-out, hashed passwords, logout, CLI, API tokens."""

import re
from datetime import timedelta

import sqlalchemy as sa

from conftest import csrf_from, csrf_of
from hikisupport.core.database import utcnow
from hikisupport.core.extensions import db
from hikisupport.models import ApiToken, AuditLog, StaffUser

PASSWORD = "correct horse battery"


def create(runner, email="ward@example.jp", role="organizer", org="杉並区"):
    args = ["staff", "create", email, "--role", role, "--password-stdin"]
    if org:
        args += ["--organization", org]
    result = runner.invoke(args=args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return db.session.scalar(sa.select(StaffUser).filter_by(email=email))


def login(client, email, password, address="127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    page = client.get("/staff/login", environ_base=environ).get_data(as_text=True)
    return client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page)},
        environ_base=environ,
    )


def test_cli_creates_staff_with_a_hashed_password(runner, app):
    staff = create(runner)
    assert staff.role == "organizer" and staff.organization.name == "杉並区"
    assert PASSWORD not in staff.password_hash
    assert staff.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_cli_refuses_a_short_password_and_an_organizer_without_organization(runner, app):
    short = runner.invoke(
        args=["staff", "create", "a@example.jp", "--role", "admin", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code != 0 and "12文字以上" in short.output
    lonely = runner.invoke(
        args=["staff", "create", "b@example.jp", "--role", "organizer", "--password-stdin"],
        input=PASSWORD + "\n",
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


def test_the_password_comes_from_a_prompt_or_stdin_not_the_command_line(runner, client):
    """`staff create` asks for the password (twice, not echoed) or reads it from stdin;
    `--password` still works for old scripts but warns that it stays in the shell history."""
    prompted = runner.invoke(
        args=["staff", "create", "p@example.jp", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output  # not echoed
    piped = runner.invoke(
        args=["staff", "create", "s@example.jp", "--role", "policy", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert piped.exit_code == 0, piped.output
    old = runner.invoke(
        args=["staff", "create", "o@example.jp", "--role", "policy", "--password", PASSWORD]
    )
    assert old.exit_code == 0 and "history" in old.stderr
    for email in ("p@example.jp", "s@example.jp", "o@example.jp"):
        assert login(app_client(client), email, PASSWORD).status_code == 303, email


def app_client(client):
    return client.application.test_client()


def test_staff_email_addresses_are_validated(runner, staff_world, login_as):
    cli = runner.invoke(
        args=["staff", "create", "not an address", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert cli.exit_code != 0 and "メールアドレスの形式" in cli.output
    admin = login_as(staff_world.admin)
    page = admin.post(
        "/staff/accounts",
        data={
            "email": "tanaka@",
            "role": "admin",
            "organization_id": "",
            "password": PASSWORD,
            "csrf_token": csrf_of(admin),
        },
    )
    assert page.status_code == 422 and "メールアドレスの形式" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(StaffUser).filter_by(email="tanaka@")) is None


def test_a_strangers_failures_from_elsewhere_do_not_lock_the_organizer_out(runner, client, app):
    """Wrong passwords throttle the (address, client) pair that sends them, with a wait that
    grows; the organizer signing in from their own PC is not affected."""
    create(runner)
    stranger = app.test_client()
    answers = [
        login(stranger, "ward@example.jp", f"guess number {i}", address="198.51.100.7")
        for i in range(12)
    ]
    assert all(a.status_code == 422 for a in answers)
    assert "しばらくログインできません" in answers[-1].get_data(as_text=True)
    # While the stranger's address waits, even the right password from it is refused.
    assert login(stranger, "ward@example.jp", PASSWORD, address="198.51.100.7").status_code == 422
    assert login(client, "ward@example.jp", PASSWORD, address="192.0.2.10").status_code == 303
    staff = db.session.scalar(sa.select(StaffUser).filter_by(email="ward@example.jp"))
    assert staff.locked_until is None


def test_the_wait_grows_with_each_failure_and_ends(runner, app):
    from hikisupport.staff import services

    assert [services.throttle_delay(n).total_seconds() for n in range(1, 11)] == [
        0,
        0,
        0,
        30,
        60,
        120,
        240,
        480,
        900,
        900,
    ]
    create(runner)
    start = utcnow()
    with app.test_request_context():
        for _ in range(services.FREE_FAILURES):
            result = services.authenticate("ward@example.jp", "wrong!", "203.0.113.5", start)
            assert result.staff is None
        waiting = services.authenticate("ward@example.jp", PASSWORD, "203.0.113.5", start)
        assert waiting.staff is None and "約30秒後" in waiting.message
        later = start + timedelta(seconds=31)
        assert services.authenticate("ward@example.jp", PASSWORD, "203.0.113.5", later).staff
        db.session.rollback()


def test_far_beyond_the_throttle_the_account_locks_and_an_admin_unlocks(
    runner, client, app, login_as
):
    """Failures from many addresses together lock the account itself; the admin sees it among
    recent lock-outs and lifts it."""
    app.config["LOGIN_LOCK_FAILURES"] = 6
    staff = create(runner)
    admin = create(runner, email="admin@example.jp", role="admin", org=None)
    for i in range(6):
        login(app.test_client(), "ward@example.jp", "a guess", address=f"198.51.100.{i + 1}")
    db.session.refresh(staff)
    assert staff.locked_until > utcnow()
    refused = login(client, "ward@example.jp", PASSWORD)
    assert refused.status_code == 422
    assert "メールアドレスまたはパスワードが正しくありません" in refused.get_data(as_text=True)

    admin_client = login_as(admin)
    listed = admin_client.get("/staff/accounts").get_data(as_text=True)
    assert "ログインが制限されているアカウント" in listed and "アカウント全体" in listed
    unlocked = admin_client.post(
        f"/staff/accounts/{staff.id}/unlock", data={"csrf_token": csrf_of(admin_client)}
    )
    assert unlocked.status_code == 303
    assert login(client, "ward@example.jp", PASSWORD).status_code == 303
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert {"staff.locked", "staff.unlock"} <= set(actions)


def test_a_failed_login_records_that_it_failed_not_what_was_typed(runner, client):
    create(runner)
    typed = "my-secret-password-typed-in-the-email-box"
    login(client, typed, "whatever password")
    login(client, "ward@example.jp", "wrong password!!")
    rows = db.session.scalars(sa.select(AuditLog).filter_by(action="staff.login_failed")).all()
    assert len(rows) == 2
    for row in rows:
        assert typed not in f"{row.staff_email} {row.object_type} {row.detail}"
        assert row.staff_email == ""  # nobody is known to have acted
    known = next(r for r in rows if r.object_id is not None)
    assert known.object_type == "staff_users" and known.detail["reason"] == "password"


def test_admin_resets_a_password_shown_once_and_it_must_be_changed(
    runner, staff_world, login_as, app
):
    staff = create(runner, email="tanaka@example.jp")
    own = app.test_client()
    assert login(own, "tanaka@example.jp", PASSWORD).status_code == 303
    admin = login_as(staff_world.admin)
    page = admin.get(f"/staff/accounts/{staff.id}").get_data(as_text=True)
    assert "仮のパスワードを発行する" in page
    answer = admin.post(f"/staff/accounts/{staff.id}/password", data={"csrf_token": csrf_of(admin)})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    temporary = re.search(r'<code class="secret">([^<]+)</code>', answer.get_data(as_text=True))[1]
    assert len(temporary) >= 12
    assert temporary not in admin.get(f"/staff/accounts/{staff.id}").get_data(as_text=True)
    assert own.get("/staff/events/").status_code == 302  # the old session ended
    assert login(app.test_client(), "tanaka@example.jp", PASSWORD).status_code == 422

    fresh = app.test_client()
    signed_in = login(fresh, "tanaka@example.jp", temporary)
    assert signed_in.headers["Location"] == "/staff/password"
    assert fresh.get("/staff/events/").headers["Location"] == "/staff/password"
    changed = fresh.post(
        "/staff/password",
        data={
            "current_password": temporary,
            "new_password": "a brand new passphrase",
            "confirmation": "a brand new passphrase",
            "csrf_token": csrf_of(fresh),
        },
    )
    assert changed.status_code == 303
    assert fresh.get("/staff/events/").status_code == 200
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert {"staff.password_reset", "staff.password_change"} <= set(actions)


def test_staff_change_their_own_password_and_other_sessions_end(runner, app):
    create(runner)
    first, second = app.test_client(), app.test_client()
    login(first, "ward@example.jp", PASSWORD)
    login(second, "ward@example.jp", PASSWORD)
    token = csrf_of(first)
    wrong = first.post(
        "/staff/password",
        data={
            "current_password": "not my password",
            "new_password": "another long passphrase",
            "confirmation": "another long passphrase",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422
    assert "現在のパスワードが正しくありません" in wrong.get_data(as_text=True)
    mismatch = first.post(
        "/staff/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another long passphrase",
            "confirmation": "another long passphrase?",
            "csrf_token": token,
        },
    )
    assert mismatch.status_code == 422 and "一致しません" in mismatch.get_data(as_text=True)
    done = first.post(
        "/staff/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another long passphrase",
            "confirmation": "another long passphrase",
            "csrf_token": token,
        },
    )
    assert done.status_code == 303
    assert first.get("/staff/events/").status_code == 200  # this session goes on
    assert second.get("/staff/events/").status_code == 302  # the other one ended
    assert login(app.test_client(), "ward@example.jp", "another long passphrase").status_code == 303


def test_admin_changes_a_role_but_not_their_own(runner, staff_world, login_as):
    admin = login_as(staff_world.admin)
    token = csrf_of(admin)
    policy = staff_world.policy
    needs_org = admin.post(
        f"/staff/accounts/{policy.id}/role",
        data={"role": "organizer", "organization_id": "", "csrf_token": token},
    )
    assert needs_org.status_code == 422 and "所属団体が必要" in needs_org.get_data(as_text=True)
    changed = admin.post(
        f"/staff/accounts/{policy.id}/role",
        data={"role": "organizer", "organization_id": str(staff_world.npo.id), "csrf_token": token},
    )
    assert changed.status_code == 303
    db.session.refresh(policy)
    assert (policy.role, policy.organization_id) == ("organizer", staff_world.npo.id)
    own = admin.post(
        f"/staff/accounts/{staff_world.admin.id}/role",
        data={"role": "policy", "organization_id": "", "csrf_token": token},
    )
    assert own.status_code == 422 and "自分自身の役割は変更できません" in own.get_data(as_text=True)
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="staff.role_change"))
    assert (
        entry.detail["before"]["role"] == "policy" and entry.detail["after"]["role"] == "organizer"
    )


def test_reactivating_an_account_does_not_bring_its_old_tokens_back(runner, client, login_as):
    staff = create(runner)
    admin = login_as(create(runner, email="admin@example.jp", role="admin", org=None))
    token = runner.invoke(args=["staff", "token", "ward@example.jp"]).output.split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/events/1", headers=headers).status_code == 404  # accepted
    csrf = csrf_of(admin)
    admin.post(f"/staff/accounts/{staff.id}/active", data={"csrf_token": csrf})  # stop
    admin.post(f"/staff/accounts/{staff.id}/active", data={"csrf_token": csrf})  # restart
    db.session.refresh(staff)
    assert staff.active
    assert client.get("/api/v1/events/1", headers=headers).status_code == 401
    assert all(t.revoked_at is not None for t in staff.api_tokens)


def test_admin_issues_a_token_on_the_page_shown_once(staff_world, login_as, client):
    admin = login_as(staff_world.admin)
    page = admin.get("/staff/tokens").get_data(as_text=True)
    assert "flask" not in page  # nobody is told to run commands on a server
    issued = admin.post(
        "/staff/tokens",
        data={"staff_id": str(staff_world.organizer.id), "csrf_token": csrf_of(admin)},
    )
    assert issued.status_code == 200
    token = re.search(r'<code class="secret">([^<]+)</code>', issued.get_data(as_text=True))[1]
    assert token not in admin.get("/staff/tokens").get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/events/{staff_world.event.id}", headers=headers).status_code == 200


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
