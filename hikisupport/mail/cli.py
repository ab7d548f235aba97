"""`flask --app hikisupport mail …`: deliver the outbox (other areas add their commands)."""

from __future__ import annotations

import time

import click


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
