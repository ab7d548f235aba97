"""`flask --app hikisupport report rebuild`: the lecture participation table again from the
attendance (a repair; the application keeps it up to date on its own)."""

from __future__ import annotations

import click

from hikisupport.core.transaction import writing


@click.group("report", help="The policy report's kept figures.")
def report_cli():
    pass


@report_cli.command("rebuild")
def rebuild_command():
    """Recompute 講演会参加者数 (lecture_participations) from every attendance row."""
    from hikisupport.reports import participation

    with writing():
        rows = participation.rebuild()
    click.echo(f"lecture participations rebuilt: {rows} row(s) (fiscal year × person)")
