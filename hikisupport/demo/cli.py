"""`flask --app hikisupport demo load`: the demo municipality, staff and events."""

from __future__ import annotations

import click
from flask import current_app

from hikisupport.core.transaction import writing


@click.group("demo", help="Demo data for trying the service out.")
def demo_cli():
    pass


@demo_cli.command("load")
def demo_load():
    """Load the demo municipality and events (once; running it again changes nothing)."""
    from hikisupport.demo.data import DEMO_STAFF, load_demo

    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("demo data (with known passwords) is not for production")
    with writing():
        created = load_demo()
    click.echo("demo data loaded" if created else "demo data already present; nothing changed")
    click.echo("demo staff logins (http://127.0.0.1:5000/staff/login):")
    for email, password, role, organization in DEMO_STAFF:
        click.echo(f"  {role:<9} {email:<28} {password}   {organization or ''}")
