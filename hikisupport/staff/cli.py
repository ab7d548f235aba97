"""`flask --app hikisupport staff …`: staff accounts and API tokens."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa

from hikisupport.core.errors import DomainError
from hikisupport.core.extensions import db
from hikisupport.core.japanese import normalize_email
from hikisupport.core.transaction import writing
from hikisupport.models import StaffRole, StaffUser
from hikisupport.staff import services


@click.group("staff", help="Staff accounts and API tokens.")
def staff_cli():
    pass


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(StaffRole.values()), required=True)
@click.option(
    "--password-stdin",
    "password_stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
@click.option(
    "--password",
    default=None,
    help="Discouraged: a password on the command line stays in the shell's history and is "
    "visible to other users in the process list. Without --password or --password-stdin the "
    "password is asked for (twice, not echoed).",
)
@click.option("--organization", default=None, help="Its name; created if new.")
@click.option("--name", default="", help="The person's name, for the pages.")
def staff_create(email, role, password_stdin, password, organization, name):
    """Create a staff account. The password (12 characters or more) is asked for."""
    if password_stdin and password is not None:
        raise click.UsageError("use either --password-stdin or --password, not both")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        click.echo(
            "warning: --password leaves the password in the shell's history; "
            "prefer the prompt or --password-stdin",
            err=True,
        )
    try:
        with writing():
            org = services.get_or_create_organization(organization) if organization else None
            staff = services.create_staff(email, role, password, org, name=name)
            created = f"created {staff.role} {staff.email}"
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(created)


@staff_cli.command("token")
@click.argument("email")
def staff_token(email):
    """Issue an API token for EMAIL; the token is the last word printed."""
    with writing():
        staff = db.session.scalar(sa.select(StaffUser).filter_by(email=normalize_email(email)))
        if staff is None or not staff.active:
            raise click.ClickException(f"no active staff account {email}")
        token = services.issue_token(staff)
        address = staff.email
    click.echo(f"API token for {address} (shown once; revoke it at /staff/tokens): {token}")
