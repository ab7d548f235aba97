"""`flask --app hikisupport mail …`: deliver the outbox (other areas add their commands)."""

from __future__ import annotations

import logging
import time

import click
from flask import current_app
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)


@click.group("mail", help="The mail outbox.")
def mail_cli():
    pass


@mail_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep going: deliver, wait, deliver again.")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds between runs with --loop (default MAIL_SEND_INTERVAL, 1).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    help="Only mails of this kind (repeatable), e.g. --kind apply: a lane of its own for the "
    "links people wait for at their screen.",
)
@click.option(
    "--except-kind",
    "except_kinds",
    multiple=True,
    help="Every mail but this kind (repeatable): the other lane, e.g. --except-kind apply.",
)
@click.option("--max-runs", type=int, default=0, hidden=True, help="Stop after N runs (tests).")
def mail_send(
    loop: bool,
    interval: float | None,
    kinds: tuple[str, ...],
    except_kinds: tuple[str, ...],
    max_runs: int,
):
    """Deliver the pending mails that are due (each at most once); with --loop, again at once
    while there were mails to send, else after the interval. --kind / --except-kind split the
    outbox into lanes, each run by a worker of its own (at its own priority)."""
    from hikisupport.mail.outbox import deliver_due

    if set(kinds) & set(except_kinds):
        raise click.UsageError("a kind cannot be both in --kind and in --except-kind")

    interval = current_app.config["MAIL_SEND_INTERVAL"] if interval is None else interval
    runs = 0
    while True:
        runs += 1
        busy = False
        try:
            report = deliver_due(kinds=kinds, except_kinds=except_kinds)
        except OperationalError as error:
            if not loop:
                raise
            # "database is locked" (a long write elsewhere), a server restart: the outbox is
            # still there; try again at the next run instead of leaving the mail unsent.
            log.warning("mail send: database unavailable, retrying: %s", error.orig)
            click.echo(f"database unavailable ({type(error.orig).__name__}); retrying", err=True)
        else:
            # Mails were sent and nothing failed: more may have been queued meanwhile (a rush);
            # look again at once. Idle, or a failure (the relay down): wait the interval.
            busy = bool(report.sent) and not report.failed and not report.stopped_early
            if report.sent or report.failed or not loop:
                click.echo(str(report))
            if not loop:
                if report.failed:
                    raise SystemExit(1)
                break
        if max_runs and runs >= max_runs:
            break
        if not busy:
            time.sleep(interval)
