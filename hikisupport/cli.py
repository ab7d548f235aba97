"""Command-line tools: `flask --app hikisupport demo load`, `mail send` …"""

from __future__ import annotations

import time

import click
from flask import Flask, current_app

from hikisupport.database import begin_write
from hikisupport.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(staff_cli)


@click.group("demo", help="Demo data for trying the service out.")
def demo_cli():
    pass


@demo_cli.command("load")
def demo_load():
    """Load the demo municipality and events (once; running it again changes nothing)."""
    from hikisupport.demo import DEMO_STAFF, load_demo

    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("demo data (with known passwords) is not for production")
    begin_write(db.session)
    created = load_demo()
    db.session.commit()
    click.echo("demo data loaded" if created else "demo data already present; nothing changed")
    click.echo("demo staff logins (http://127.0.0.1:5000/staff/login):")
    for email, password, role, organization in DEMO_STAFF:
        click.echo(f"  {role:<9} {email:<28} {password}   {organization or ''}")


@click.group("mail", help="The mail outbox.")
def mail_cli():
    pass


@mail_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep going: deliver, wait, deliver again.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between runs (--loop).")
def mail_send(loop: bool, interval: float):
    """Deliver the pending mails that are due (each at most once)."""
    from hikisupport.mail.outbox import deliver_due

    while True:
        report = deliver_due()
        click.echo(str(report))
        if not loop:
            if report.failed:
                raise SystemExit(1)
            break
        time.sleep(interval)


@mail_cli.command("remind")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Sessions on this day (default: tomorrow, Japan time).",
)
def mail_remind(day):
    """Queue one reminder per registration for tomorrow's sessions (never twice)."""
    from hikisupport.registration.reminders import queue_reminders

    begin_write(db.session)
    queued = queue_reminders(day.date() if day else None)
    db.session.commit()
    click.echo(f"queued {queued} reminders")


@click.group("staff", help="Staff accounts and API tokens.")
def staff_cli():
    pass


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "organizer", "policy"]), required=True)
@click.option("--password", required=True, help="At least 12 characters.")
@click.option("--organization", default=None, help="Its name; created if new.")
@click.option("--name", default="", help="The person's name, for the pages.")
def staff_create(email, role, password, organization, name):
    """Create a staff account."""
    from hikisupport.staff import services

    begin_write(db.session)
    org = services.get_or_create_organization(organization) if organization else None
    try:
        staff = services.create_staff(email, role, password, org, name=name)
    except services.StaffError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"created {staff.role} {staff.email}")


@staff_cli.command("token")
@click.argument("email")
def staff_token(email):
    """Issue an API token for EMAIL; the token is the last word printed."""
    import sqlalchemy as sa

    from hikisupport.japanese import normalize_email
    from hikisupport.models import StaffUser
    from hikisupport.staff import services

    begin_write(db.session)
    staff = db.session.scalar(sa.select(StaffUser).filter_by(email=normalize_email(email)))
    if staff is None or not staff.active:
        raise click.ClickException(f"no active staff account {email}")
    token = services.issue_token(staff)
    db.session.commit()
    click.echo(f"API token for {staff.email} (shown once; revoke it at /staff/tokens): {token}")
