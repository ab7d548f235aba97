"""Command-line tools: `flask --app hikisupport demo load`, `mail send` …"""

from __future__ import annotations

import time

import click
from flask import Flask

from hikisupport.database import begin_write
from hikisupport.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(mail_cli)


@click.group("demo", help="Demo data for trying the service out.")
def demo_cli():
    pass


@demo_cli.command("load")
def demo_load():
    """Load the demo municipality and events (once; running it again changes nothing)."""
    from hikisupport.demo import load_demo

    begin_write(db.session)
    created = load_demo()
    db.session.commit()
    click.echo("demo data loaded" if created else "demo data already present; nothing changed")


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
