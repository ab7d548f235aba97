"""`flask --app hikisupport mail remind`: the registration area's command in the mail group."""

from __future__ import annotations

import click

from hikisupport.core.transaction import writing


@click.command("remind")
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

    with writing():
        queued = queue_reminders(day.date() if day else None)
    click.echo(f"queued {queued} reminders")
